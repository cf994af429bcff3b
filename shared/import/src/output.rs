//! CSV we write for people to open in a spreadsheet: the error report, the import template, the
//! inventory export. Every one goes through [`SpreadsheetWriter`], which escapes every cell
//! with [`escape_cell`]; a new export gets the rule by using it.

use std::borrow::Cow;
use std::io::Write;

use crate::reader::RowError;

/// Characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection"): a
/// customer name like `=HYPERLINK(...)` from an uploaded file must come back as text.
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Characters after which a spreadsheet may begin a new cell when it reads our comma-separated
/// file: the separators it may be set to (`,`; `;` where the list separator is `;`, as in
/// Sweden; tab), line breaks, and a double quote (a quoted cell's text begins after it).
const CELL_BOUNDARIES: [char; 6] = [',', ';', '\t', '\r', '\n', '"'];

/// Escapes a cell for a spreadsheet, whatever separator the reader uses: a `'` goes before
/// every formula trigger that begins the cell or follows a [cell boundary](CELL_BOUNDARIES)
/// (spaces between them skipped), so `x;=1+1` becomes `x;'=1+1`. A reader that splits at `;`
/// then sees the cell `'=1+1`, which spreadsheets show as the text `=1+1`; a reader that splits
/// at commas sees `x;'=1+1`. Looking at the first character only is not enough: in a locale
/// whose separator is `;` the rest of the cell would be a formula.
///
/// A plain negative decimal ("-5", "-0.75") is left as it is: it is a number, never a formula,
/// and escaping it would make spreadsheets skip it in sums (an inventory's corrections). Not
/// as the first cell of a line, though: see [`escape_cell`].
pub fn escape_formula(cell: &str) -> Cow<'_, str> {
    if is_plain_negative_number(cell) {
        return Cow::Borrowed(cell);
    }
    escape_every_trigger(cell)
}

/// [`escape_formula`] for the cell at `index` of its line. The first cell of a line is escaped
/// even when it is a plain negative number: a reader splitting at `;` or tab reads it together
/// with the rest of the line (`-5,5+A1` is a sum where `,` is the decimal separator).
pub fn escape_cell(index: usize, cell: &str) -> Cow<'_, str> {
    if index == 0 {
        escape_every_trigger(cell)
    } else {
        escape_formula(cell)
    }
}

fn escape_every_trigger(cell: &str) -> Cow<'_, str> {
    if !cell_starts(cell).any(|start| needs_guard(&cell[start..])) {
        return Cow::Borrowed(cell);
    }
    let mut escaped = String::with_capacity(cell.len() + 2);
    let mut copied = 0;
    for start in cell_starts(cell).filter(|&start| needs_guard(&cell[start..])) {
        escaped.push_str(&cell[copied..start]);
        escaped.push(GUARD);
        copied = start;
    }
    escaped.push_str(&cell[copied..]);
    Cow::Owned(escaped)
}

/// What a spreadsheet's reader gets back from a cell we wrote: the value as it was before
/// [`escape_cell`] (or [`escape_formula`]). The pair is one rule read both ways: at every
/// place a cell may begin (the start, or after a [cell boundary](CELL_BOUNDARIES), spaces
/// skipped) the writer puts a `'` before any run of `'` that ends in a formula trigger (none
/// or more: `=1` is written `'=1`, `'=1` is written `''=1`), and this takes one `'` off each
/// such run. So `'+46701234567` reads as `+46701234567`, and any text written and read back
/// is the text itself (property-tested). Text nobody escaped reads as itself unless it holds
/// such a run, which is how people keep a value as text in a spreadsheet (`'+46...`, `'=x`).
pub fn unescape_cell(cell: &str) -> Cow<'_, str> {
    // Every import reads every cell through here, and a guard begins with `'`: a cell without
    // one (nearly all) is itself, found without walking its characters.
    if !cell.as_bytes().contains(&(GUARD as u8))
        || !cell_starts(cell).any(|start| is_guarded(&cell[start..]))
    {
        return Cow::Borrowed(cell);
    }
    let mut plain = String::with_capacity(cell.len());
    let mut copied = 0;
    for start in cell_starts(cell).filter(|&start| is_guarded(&cell[start..])) {
        plain.push_str(&cell[copied..start]);
        copied = start + GUARD.len_utf8();
    }
    plain.push_str(&cell[copied..]);
    Cow::Owned(plain)
}

/// The `'` that spreadsheets take for "this cell is text" and do not show.
const GUARD: char = '\'';

/// `text` begins with `'`s (none or more) and then a formula trigger.
fn needs_guard(text: &str) -> bool {
    text.trim_start_matches(GUARD).starts_with(FORMULA_TRIGGERS)
}

/// `text` begins with a guard the writer put there: at least one `'`, then a trigger.
fn is_guarded(text: &str) -> bool {
    text.starts_with(GUARD) && needs_guard(text)
}

/// The byte offsets in `cell` where a spreadsheet may begin a cell: 0, and after each
/// [cell boundary](CELL_BOUNDARIES), spaces skipped. Neither `'` nor a trigger that is no
/// boundary moves them, so they are the same places in a value and in its escaped text.
fn cell_starts(cell: &str) -> impl Iterator<Item = usize> + '_ {
    let mut at_cell_start = true;
    cell.char_indices().filter_map(move |(offset, c)| {
        let start = at_cell_start.then_some(offset);
        at_cell_start = CELL_BOUNDARIES.contains(&c) || (at_cell_start && c == ' ');
        start.filter(|_| c != ' ')
    })
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

/// The one writer of CSV for people: comma-separated, UTF-8 with a byte-order mark, every cell
/// escaped with [`escape_cell`].
pub struct SpreadsheetWriter<W: Write> {
    csv: csv::Writer<W>,
}

impl<W: Write> SpreadsheetWriter<W> {
    /// Writes the byte-order mark and the header row.
    pub fn new(mut out: W, header: &[&str]) -> csv::Result<Self> {
        out.write_all(UTF8_BOM)?;
        let mut writer = Self::continuing(out);
        writer.write_row(header)?;
        Ok(writer)
    }

    /// Writes rows only, for a piece of a file whose start (byte-order mark and header) was
    /// written by [`SpreadsheetWriter::new`] elsewhere: files written in chunks.
    pub fn continuing(out: W) -> Self {
        Self {
            csv: csv::Writer::from_writer(out),
        }
    }

    pub fn write_row<S: AsRef<str>>(
        &mut self,
        cells: impl IntoIterator<Item = S>,
    ) -> csv::Result<()> {
        let escaped: Vec<String> = cells
            .into_iter()
            .enumerate()
            .map(|(index, cell)| escape_cell(index, cell.as_ref()).into_owned())
            .collect();
        self.csv.write_record(&escaped)
    }

    /// Flushes and hands back the writer.
    pub fn into_inner(self) -> Result<W, std::io::Error> {
        self.csv.into_inner().map_err(|error| error.into_error())
    }
}

/// A table as CSV for a spreadsheet, through [`SpreadsheetWriter`].
pub fn spreadsheet_csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut writer = SpreadsheetWriter::new(Vec::new(), header).expect(IN_MEMORY);
    for row in rows {
        writer.write_row(&row).expect(IN_MEMORY);
    }
    let out = writer.into_inner().expect(IN_MEMORY);
    String::from_utf8(out).expect("CSV of strings is UTF-8")
}

const IN_MEMORY: &str = "writing to memory cannot fail";

/// Writes [`RowError`]s as CSV through [`SpreadsheetWriter`]:
/// `line,column,field,code,message,value`.
pub struct ErrorReportWriter<W: Write> {
    csv: SpreadsheetWriter<W>,
}

impl<W: Write> ErrorReportWriter<W> {
    /// Writes the byte-order mark and the header row.
    pub fn new(out: W) -> csv::Result<Self> {
        let header = ["line", "column", "field", "code", "message", "value"];
        Ok(Self {
            csv: SpreadsheetWriter::new(out, &header)?,
        })
    }

    /// Writes rows only, for a piece of a report whose start (byte-order mark and header) was
    /// written by [`ErrorReportWriter::new`] elsewhere: reports written in chunks.
    pub fn continuing(out: W) -> Self {
        Self {
            csv: SpreadsheetWriter::continuing(out),
        }
    }

    pub fn write(&mut self, error: &RowError) -> csv::Result<()> {
        fn text(value: &Option<String>) -> &str {
            value.as_deref().unwrap_or("")
        }
        self.csv.write_row([
            error.line.to_string().as_str(),
            text(&error.column),
            text(&error.field),
            &error.code,
            &error.message,
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
        self.csv.into_inner()
    }
}

/// The customer number of the template's example row. The import refuses a row with it
/// (`example_row`): a template filled in below its example, or uploaded as it was downloaded,
/// must not create the example's Anna Berg.
pub const EXAMPLE_NUMBER: &str = "EXAMPLE";

#[cfg(test)]
mod tests {
    //! Every writer's output, read back the ways a spreadsheet may read it: split at commas,
    //! semicolons or tabs, honouring quotes or not. No cell of any reading may begin a formula,
    //! and the comma reading gives back each value with quotes put before its triggers only.

    use proptest::prelude::*;

    use super::*;

    /// Characters that make trouble: triggers, separators, quotes, line breaks, spaces, and a
    /// few harmless ones so that triggers also land mid-cell.
    const HOSTILE: &[char] = &[
        '=', '+', '-', '@', '\t', '\r', '\n', ',', ';', '"', '\'', ' ', 'a', '1', '.', 'å',
    ];

    fn hostile_cell() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::collection::vec(prop::sample::select(HOSTILE), 0..12)
                .prop_map(String::from_iter),
            1 => "-[0-9]{1,3}(\\.[0-9]{1,2})?",
            1 => "[a-z]{0,3}[,;\t\n]( ?)[=+@-][0-9A-Z()+]{0,6}",
        ]
    }

    /// A header and rows of its width.
    fn hostile_table() -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
        (1..5usize).prop_flat_map(|width| {
            let row = move || prop::collection::vec(hostile_cell(), width);
            (row(), prop::collection::vec(row(), 0..4))
        })
    }

    fn hostile_error() -> impl Strategy<Value = RowError> {
        let text = || prop::option::of(hostile_cell());
        (
            1..u64::MAX,
            text(),
            text(),
            hostile_cell(),
            hostile_cell(),
            text(),
        )
            .prop_map(|(line, column, field, code, message, value)| RowError {
                line,
                column,
                field,
                code,
                message,
                value,
            })
    }

    /// A cell whose text (after spaces and double quotes, which a reader may drop) a
    /// spreadsheet would run as a formula. A plain negative number is a number.
    fn starts_formula(cell: &str) -> bool {
        let text = cell.trim_start_matches([' ', '"']);
        text.starts_with(FORMULA_TRIGGERS) && !is_plain_negative_number(text)
    }

    fn strip_bom(file: &str) -> &str {
        file.strip_prefix('\u{feff}').unwrap_or(file)
    }

    /// The file read with quotes honoured, split at `separator`.
    fn quote_aware(file: &str, separator: u8) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .delimiter(separator)
            .has_headers(false)
            .flexible(true)
            .from_reader(strip_bom(file).as_bytes())
            .records()
            .map(|record| {
                let record = record.expect("a lenient reader reads any text");
                record.iter().map(str::to_owned).collect()
            })
            .collect()
    }

    /// The file split at every line break and at `separator`, quotes ignored.
    fn naive(file: &str, separator: char) -> Vec<Vec<String>> {
        strip_bom(file)
            .split(['\r', '\n'])
            .map(|line| line.split(separator).map(str::to_owned).collect())
            .collect()
    }

    /// Every reading of `file`: no cell begins a formula.
    fn assert_safe_every_way(file: &str) {
        let readings = [
            ("quote-aware ,", quote_aware(file, b',')),
            ("quote-aware ;", quote_aware(file, b';')),
            ("quote-aware tab", quote_aware(file, b'\t')),
            ("naive ,", naive(file, ',')),
            ("naive ;", naive(file, ';')),
            ("naive tab", naive(file, '\t')),
        ];
        for (reading, rows) in readings {
            for cell in rows.iter().flatten() {
                assert!(
                    !starts_formula(cell),
                    "read {reading}, the cell {cell:?} is a formula; file {file:?}"
                );
            }
        }
    }

    /// `read` is `original` with a `'` put before some formula triggers, and nothing else.
    fn is_original_with_quotes_before_triggers(original: &str, read: &str) -> bool {
        let mut original = original.chars().peekable();
        let mut read = read.chars().peekable();
        while let Some(c) = read.next() {
            if original.peek() == Some(&c) {
                original.next();
            } else if c != '\'' || !read.peek().is_some_and(|t| FORMULA_TRIGGERS.contains(t)) {
                return false;
            }
        }
        original.next().is_none()
    }

    /// The comma reading (what our own import and any CSV library see) gives the rows back
    /// cell by cell, each as documented: the value with quotes before its triggers.
    fn assert_comma_reading_round_trips(file: &str, rows: &[Vec<String>]) {
        let read = quote_aware(file, b',');
        assert_eq!(read.len(), rows.len(), "{file:?}");
        for (read, row) in read.iter().zip(rows) {
            assert_eq!(read.len(), row.len(), "{file:?}");
            for (index, (read, original)) in read.iter().zip(row).enumerate() {
                assert_eq!(read, &escape_cell(index, original), "{file:?}");
                assert_eq!(unescape_cell(read), original.as_str(), "{file:?}");
                assert!(
                    is_original_with_quotes_before_triggers(original, read),
                    "{original:?} read back as {read:?}"
                );
            }
        }
    }

    fn error_row(error: &RowError) -> Vec<String> {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        vec![
            error.line.to_string(),
            text(&error.column),
            text(&error.field),
            error.code.clone(),
            error.message.clone(),
            text(&error.value),
        ]
    }

    proptest! {
        #[test]
        fn tables_are_safe_with_any_separator((header, rows) in hostile_table()) {
            let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
            let file = spreadsheet_csv(&header_refs, rows.clone());
            assert_safe_every_way(&file);
            let mut all = vec![header];
            all.extend(rows);
            assert_comma_reading_round_trips(&file, &all);
        }

        #[test]
        fn error_reports_are_safe_with_any_separator(
            first in prop::collection::vec(hostile_error(), 0..4),
            chunk in prop::collection::vec(hostile_error(), 0..4),
        ) {
            // As the import function writes it: the start, then chunks written apart.
            let mut report = ErrorReportWriter::new(Vec::new()).unwrap();
            report.write_all(&first).unwrap();
            let mut file = report.into_inner().unwrap();
            let mut continued = ErrorReportWriter::continuing(Vec::new());
            continued.write_all(&chunk).unwrap();
            file.extend(continued.into_inner().unwrap());
            let file = String::from_utf8(file).unwrap();
            assert_safe_every_way(&file);
            let header = ["line", "column", "field", "code", "message", "value"];
            let mut rows = vec![header.map(str::to_owned).to_vec()];
            rows.extend(first.iter().chain(&chunk).map(error_row));
            assert_comma_reading_round_trips(&file, &rows);
        }

        #[test]
        fn what_is_written_reads_back_as_itself(cell in hostile_cell(), index in 0..3usize) {
            let written = escape_cell(index, &cell);
            prop_assert_eq!(unescape_cell(&written), cell.as_str());
        }

        #[test]
        fn any_text_written_reads_back_as_itself(cell in any::<String>(), index in 0..3usize) {
            let written = escape_cell(index, &cell);
            prop_assert_eq!(unescape_cell(&written), cell.as_str());
        }
    }

    #[test]
    fn the_template_is_safe_with_any_separator() {
        assert_safe_every_way(&crate::template_csv());
    }

    #[test]
    fn triggers_after_any_separator_are_escaped() {
        for (cell, escaped) in [
            ("x;=1+1", "x;'=1+1"),
            ("x,=1+1", "x,'=1+1"),
            ("x\t@SUM(A1)", "x\t'@SUM(A1)"),
            ("x\n+1", "x\n'+1"),
            ("x\r\n-1+1", "x\r\n'-1+1"),
            ("x;\"=1", "x;\"'=1"),
            ("x; =1", "x; '=1"),
            ("x;\t=1", "x;'\t'=1"),
            ("x;-5", "x;'-5"),
            (" =1", " '=1"),
            ("x;'=1", "x;''=1"),
            ("'+46701234567", "''+46701234567"),
            ("' =1", "' =1"),
            ("a=b;c", "a=b;c"),
            ("-5", "-5"),
        ] {
            assert_eq!(escape_formula(cell), escaped, "{cell:?}");
        }
    }

    #[test]
    fn guards_are_read_back_and_other_quotes_kept() {
        for (read, value) in [
            ("'+46701234567", "+46701234567"),
            ("''=1", "'=1"),
            ("x;'=1", "x;=1"),
            ("x;'\t'=1", "x;\t=1"),
            ("'-5", "-5"),
            ("-5", "-5"),
            ("it's", "it's"),
            ("'quoted'", "'quoted'"),
            ("' =1", "' =1"),
            ("a'=1", "a'=1"),
        ] {
            assert_eq!(unescape_cell(read), value, "{read:?}");
        }
    }

    #[test]
    fn a_negative_number_is_escaped_only_as_a_line_s_first_cell() {
        assert_eq!(escape_cell(0, "-5"), "'-5");
        assert_eq!(escape_cell(1, "-5"), "-5");
        // Read with `;` in Swedish, `-5,5+A1` would be a sum.
        let file = spreadsheet_csv(&["a", "b"], [vec!["-5".into(), "5+A1".into()]]);
        assert!(file.ends_with("'-5,5+A1\n"), "{file:?}");
    }
}
