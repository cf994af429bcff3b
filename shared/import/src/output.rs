//! CSV we write for people to open in Excel: the error report and the import template.

use std::borrow::Cow;
use std::io::Write;

use crate::reader::RowError;

/// Characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection"): a
/// customer name like `=HYPERLINK(...)` from an uploaded file must come back as text.
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Prefixes a single quote to a cell that a spreadsheet would take for a formula, as OWASP
/// recommends. Spreadsheets show the quote-prefixed cell as the plain text. A plain negative
/// decimal ("-5", "-0.75") is left as it is: it is a number, never a formula, and escaping it
/// would make spreadsheets skip it in sums (an inventory's corrections).
pub fn escape_formula(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_TRIGGERS) && !is_plain_negative_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `-` then digits with at most one decimal point between digits: nothing a spreadsheet could
/// evaluate as anything but that number.
fn is_plain_negative_number(cell: &str) -> bool {
    let Some(digits) = cell.strip_prefix('-') else {
        return false;
    };
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(integer) && all_digits(fraction)
}

/// Excel reads a CSV file without a byte-order mark in the local "ANSI" code page, which
/// garbles every å, ä, ö in the messages and values.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A table as CSV for a spreadsheet: byte-order mark, header, rows, every cell escaped with
/// [`escape_formula`].
pub fn spreadsheet_csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = UTF8_BOM.to_vec();
    {
        let mut csv = csv::Writer::from_writer(&mut out);
        let escaped = |row: &[String]| -> Vec<String> {
            row.iter().map(|c| escape_formula(c).into_owned()).collect()
        };
        let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        csv.write_record(escaped(&header))
            .expect("writing to memory cannot fail");
        for row in rows {
            csv.write_record(escaped(&row))
                .expect("writing to memory cannot fail");
        }
        csv.flush().expect("writing to memory cannot fail");
    }
    String::from_utf8(out).expect("CSV of strings is UTF-8")
}

/// Writes [`RowError`]s as CSV: `line,column,field,code,message,value`, every text cell
/// escaped with [`escape_formula`].
pub struct ErrorReportWriter<W: Write> {
    csv: csv::Writer<W>,
}

impl<W: Write> ErrorReportWriter<W> {
    /// Writes the byte-order mark and the header row.
    pub fn new(mut out: W) -> csv::Result<Self> {
        out.write_all(UTF8_BOM)?;
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(["line", "column", "field", "code", "message", "value"])?;
        Ok(Self { csv })
    }

    /// Writes rows only, for a piece of a report whose start (byte-order mark and header) was
    /// written by [`ErrorReportWriter::new`] elsewhere: reports written in chunks.
    pub fn continuing(out: W) -> Self {
        Self {
            csv: csv::Writer::from_writer(out),
        }
    }

    pub fn write(&mut self, error: &RowError) -> csv::Result<()> {
        let text =
            |value: &Option<String>| escape_formula(value.as_deref().unwrap_or("")).into_owned();
        self.csv.write_record([
            error.line.to_string(),
            text(&error.column),
            text(&error.field),
            escape_formula(&error.code).into_owned(),
            escape_formula(&error.message).into_owned(),
            text(&error.value),
        ])
    }

    pub fn write_all<'e>(
        &mut self,
        errors: impl IntoIterator<Item = &'e RowError>,
    ) -> csv::Result<()> {
        errors.into_iter().try_for_each(|error| self.write(error))
    }

    /// Flushes and hands back the writer.
    pub fn into_inner(self) -> Result<W, std::io::Error> {
        self.csv.into_inner().map_err(|error| error.into_error())
    }
}

/// The columns of our own template, with an example value each. Every name here maps to a
/// canonical column (a test checks it), and the example row imports as a valid customer.
const TEMPLATE: &[(&str, &str)] = &[
    ("Customer Number", "10001"),
    ("External ID", ""),
    ("Type", "person"),
    ("First Name", "Anna"),
    ("Last Name", "Berg"),
    ("Company", ""),
    ("Email", "anna.berg@example.com"),
    ("Phone", "08-123 456 78"),
    ("Mobile", "070-123 45 67"),
    ("Invoice Email", ""),
    ("Street", "Storgatan 1"),
    ("Address Line 2", ""),
    ("Postal Code", "123 45"),
    ("City", "Stockholm"),
    ("Region", ""),
    ("Country", "SE"),
    ("Invoice Street", "Box 12"),
    ("Invoice Address Line 2", ""),
    ("Invoice Postal Code", "123 21"),
    ("Invoice City", "Stockholm"),
    ("Invoice Region", ""),
    ("Invoice Country", "SE"),
    ("Language", "sv"),
    ("Tags", "garden, priority"),
    ("Cost Centre", ""),
    ("Order Number", ""),
    ("Notes", "Gate code 1234"),
    ("Payment Type", "account"),
    ("Payment Terms", "Net 30"),
    ("Credit Limit", "5 000,00"),
    ("Open Balance", "0"),
    ("Currency", "SEK"),
    ("VIP", "no"),
    ("On Hold", "no"),
];

/// The header row of the columns we accept in our own template, and one example row, as CSV
/// (comma-separated, UTF-8 with a byte-order mark so that Excel shows å, ä, ö).
pub fn template_csv() -> String {
    let names: Vec<&str> = TEMPLATE.iter().map(|(name, _)| *name).collect();
    let example: Vec<String> = TEMPLATE.iter().map(|(_, e)| (*e).to_owned()).collect();
    spreadsheet_csv(&names, [example])
}

#[cfg(test)]
pub(crate) fn template_columns() -> impl Iterator<Item = &'static str> {
    TEMPLATE.iter().map(|(name, _)| *name)
}
