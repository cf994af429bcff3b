//! Our own columns, declared once: the template's header and example row, and the customer
//! export, which writes a customer's card in the same columns (plus the organisation's custom
//! fields) so that the export imports back as it is. Every column name here is one the import
//! reads as that field (tests in `tests.rs` and below), and every value is written in a
//! spelling the import reads back to the same stored value.

use std::fmt::Write as _;
use std::io::Write;

use domain::{AccountingSystem, Address, CustomFieldDef, CustomerFields, Tier};
use serde_json::Value;

use crate::output::{EXAMPLE_NUMBER, SpreadsheetWriter, spreadsheet_csv};
use crate::{HeaderMap, normalise_header};

/// One of our columns: its header name, the template's example value, and the value of a
/// customer's card in it (empty when the card has none: an empty cell never changes a
/// customer on import).
struct OurColumn {
    name: &'static str,
    example: &'static str,
    value: fn(&CustomerFields) -> String,
}

const fn column(
    name: &'static str,
    example: &'static str,
    value: fn(&CustomerFields) -> String,
) -> OurColumn {
    OurColumn {
        name,
        example,
        value,
    }
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn part(address: &Option<Address>, part: fn(&Address) -> &Option<String>) -> String {
    address.as_ref().map(|a| text(part(a))).unwrap_or_default()
}

fn yes_no(value: bool) -> String {
    (if value { "yes" } else { "no" }).to_owned()
}

/// The columns, in file order. The example row is a valid customer but for its number,
/// [`EXAMPLE_NUMBER`], which the import refuses.
const COLUMNS: &[OurColumn] = &[
    column("Customer Number", EXAMPLE_NUMBER, |c| {
        c.customer_number.clone()
    }),
    column("External ID", "", external_id),
    column("Type", "person", |c| {
        serde_json::to_value(c.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }),
    column("First Name", "Anna", |c| text(&c.first_name)),
    column("Last Name", "Berg", |c| text(&c.last_name)),
    column("Company", "", |c| text(&c.company_name)),
    column("Organisation Number", "", |c| text(&c.organisation_number)),
    column("Email", "anna.berg@example.com", |c| text(&c.email)),
    column("Phone", "08-123 456 78", |c| {
        match (&c.phone, &c.phone_extension) {
            (Some(phone), Some(extension)) => format!("{phone} ext. {extension}"),
            (phone, _) => text(phone),
        }
    }),
    column("Mobile", "070-123 45 67", |c| text(&c.mobile)),
    column("Invoice Email", "", |c| text(&c.invoice_email)),
    column("Street", "Storgatan 1", |c| {
        part(&c.visiting_address, |a| &a.line1)
    }),
    column("Address Line 2", "", |c| {
        part(&c.visiting_address, |a| &a.line2)
    }),
    column("Postal Code", "123 45", |c| {
        part(&c.visiting_address, |a| &a.postal_code)
    }),
    column("City", "Stockholm", |c| {
        part(&c.visiting_address, |a| &a.city)
    }),
    column("Region", "", |c| part(&c.visiting_address, |a| &a.region)),
    column("Country", "SE", |c| {
        part(&c.visiting_address, |a| &a.country)
    }),
    column("Invoice Street", "Box 12", |c| {
        part(&c.invoice_address, |a| &a.line1)
    }),
    column("Invoice Address Line 2", "", |c| {
        part(&c.invoice_address, |a| &a.line2)
    }),
    column("Invoice Postal Code", "123 21", |c| {
        part(&c.invoice_address, |a| &a.postal_code)
    }),
    column("Invoice City", "Stockholm", |c| {
        part(&c.invoice_address, |a| &a.city)
    }),
    column("Invoice Region", "", |c| {
        part(&c.invoice_address, |a| &a.region)
    }),
    column("Invoice Country", "SE", |c| {
        part(&c.invoice_address, |a| &a.country)
    }),
    column("Language", "sv", |c| text(&c.language)),
    column("Tags", "garden, priority", |c| c.tags.join(", ")),
    column("Cost Centre", "", |c| text(&c.cost_centre)),
    column("Order Number", "", |c| text(&c.order_number)),
    column("Notes", "Gate code 1234", |c| text(&c.description)),
    column("Payment Type", "account", |c| {
        serde_json::to_value(c.terms.payment_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }),
    column("Payment Terms", "Net 30", |c| {
        c.terms.payment_terms.to_string()
    }),
    column("Credit Limit", "5 000,00", |c| {
        c.terms.credit_limit.map(amount).unwrap_or_default()
    }),
    column("Open Balance", "0", |c| amount(c.terms.open_balance)),
    column("Currency", "SEK", |c| c.terms.currency.clone()),
    column("VIP", "no", |c| yes_no(c.tier == Tier::Vip)),
    column("On Hold", "no", |c| yes_no(c.on_hold)),
];

/// The id of a card's one external reference when its system is "other": that is what the
/// External ID column of our (generic) file means on import. A reference of QuickBooks, Sage
/// or Visma, or a second reference, cannot be said in it (importing it would replace the
/// card's references with an "other" one), so its cell stays empty and import keeps them.
fn external_id(customer: &CustomerFields) -> String {
    match customer.external_refs.as_slice() {
        [only] if only.system == AccountingSystem::Other => only.id.clone(),
        _ => String::new(),
    }
}

/// Minor units as a decimal with two places and a point: `123450` is `1234.50`, `-5` is
/// `-0.05`. The import reads it back to the same minor units (tested below).
fn amount(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    format!("{sign}{}.{:02}", minor / 100, minor % 100)
}

/// A custom field's stored value in a spelling the import reads back as that value: yes/no,
/// numbers with a point (a fraction of exactly three digits gets a trailing zero, since the
/// import takes `1.234` for a thousands separator), text and dates as they are.
fn custom_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(yes) => yes_no(*yes),
        Value::Number(number) => {
            let mut written = number.to_string();
            if written
                .split_once('.')
                .is_some_and(|(_, fraction)| fraction.len() == 3)
            {
                written.push('0');
            }
            written
        }
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The header row and one example row of our template, as CSV through the one spreadsheet
/// writer (comma-separated, UTF-8 with a byte-order mark so that Excel shows å, ä, ö).
pub fn template_csv() -> String {
    let names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
    let example: Vec<String> = COLUMNS.iter().map(|c| c.example.to_owned()).collect();
    spreadsheet_csv(&names, [example])
}

#[cfg(test)]
pub(crate) fn template_columns() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().map(|c| c.name)
}

/// Writes customers as CSV in our columns and then one column per custom field of the
/// organisation, through [`SpreadsheetWriter`]: the file imports back into the same
/// organisation as it is (see docs/api.md, "Exports").
pub struct CustomerExportWriter<W: Write> {
    csv: SpreadsheetWriter<W>,
    custom_fields: Vec<String>,
}

impl<W: Write> CustomerExportWriter<W> {
    /// Writes the byte-order mark and the header row.
    pub fn new(out: W, definitions: &[CustomFieldDef]) -> csv::Result<Self> {
        let header = export_header(definitions);
        let names: Vec<&str> = header.iter().map(String::as_str).collect();
        Ok(Self {
            csv: SpreadsheetWriter::new(out, &names)?,
            custom_fields: definitions.iter().map(|d| d.key.clone()).collect(),
        })
    }

    pub fn write(&mut self, customer: &CustomerFields) -> csv::Result<()> {
        let ours = COLUMNS.iter().map(|c| (c.value)(customer));
        let custom = self.custom_fields.iter().map(|key| {
            customer
                .custom_fields
                .get(key)
                .map(custom_cell)
                .unwrap_or_default()
        });
        self.csv.write_row(ours.chain(custom))
    }

    /// Flushes and hands back the writer.
    pub fn into_inner(self) -> Result<W, std::io::Error> {
        self.csv.into_inner()
    }
}

/// Our column names, then each custom field under its label, or under its key where the
/// label repeats a column name or the import would read it as something else.
fn export_header(definitions: &[CustomFieldDef]) -> Vec<String> {
    let mut header: Vec<String> = COLUMNS.iter().map(|c| c.name.to_owned()).collect();
    for definition in definitions {
        let reads_back = |candidate: &str| {
            let repeated = header
                .iter()
                .any(|name| normalise_header(name) == normalise_header(candidate));
            if repeated {
                return false;
            }
            let mut names = header.clone();
            names.push(candidate.to_owned());
            let map = HeaderMap::from_headers(&names).with_custom_fields(definitions);
            map.columns.last().and_then(|c| c.custom_field.as_deref())
                == Some(definition.key.as_str())
        };
        let mut name = definition.label.clone();
        if !reads_back(&name) {
            name.clone_from(&definition.key);
        }
        if !reads_back(&name) {
            // Neither reads back (a key named like one of our columns): still exported, under
            // a name of its own, and ignored on import.
            let _ = write!(name, " ({})", definition.key);
        }
        header.push(name);
    }
    header
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn amounts_read_back_as_the_same_minor_units(minor in -1_000_000_000_000_000i64..1_000_000_000_000_000) {
            prop_assert_eq!(crate::parse_amount(&amount(minor)), Ok(minor));
        }

        #[test]
        fn custom_numbers_read_back_as_the_same_number(number in prop_oneof![
            any::<i64>().prop_map(serde_json::Number::from),
            (-1.0e9..1.0e9f64).prop_filter_map("finite", serde_json::Number::from_f64),
        ]) {
            let cell = custom_cell(&Value::Number(number.clone()));
            let read = crate::values::parse_number(&cell).expect("a number we wrote reads");
            prop_assert_eq!(read, number, "{}", cell);
        }
    }

    /// Text that troubles spreadsheets and CSV: triggers, separators, quotes, line breaks,
    /// guards, non-ASCII.
    fn odd_text() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "=", "+", "-", "@", "'", "\"", ",", ";", "\t", "\n", "\r\n", " ", "a", "Å", "1",
            "SUM(A1)", "+46",
        ]);
        prop::collection::vec(pieces, 1..8).prop_map(|p| p.concat())
    }

    fn definitions() -> Vec<CustomFieldDef> {
        serde_json::from_value(serde_json::json!([
            {"key": "level", "label": "Level", "type": "choice", "options": ["Gold", "Silver"]},
            {"key": "units", "label": "Units", "type": "number"},
            {"key": "alarm", "label": "Alarm", "type": "yesNo"},
            {"key": "note", "label": "Email", "type": "text"}
        ]))
        .unwrap()
    }

    proptest! {
        /// A card written by the export and read by the import changes nothing: the pure half
        /// of the round trip that tests/exports.rs runs end to end.
        #[test]
        fn an_exported_card_imports_back_unchanged(
            first in odd_text(), last in odd_text(), notes in odd_text(), city in odd_text(),
            note in odd_text(), units in -100_000i64..100_000, minor in -10_000_000i64..10_000_000,
        ) {
            // The import trims every cell, and the API keeps a custom text as sent: one with
            // spaces around it comes back trimmed (a documented limit of the round trip).
            let note = note.trim();
            let ctx = domain::ValidationContext {
                default_country: Some("SE".into()),
                custom_fields: definitions(),
                ..domain::ValidationContext::default()
            };
            let input: domain::CustomerInput = serde_json::from_value(serde_json::json!({
                "customerNumber": "10", "firstName": first, "lastName": last,
                "description": notes, "mobile": "+46701234567",
                "phone": "+46 8 123 456 78 ext. 12",
                "visitingAddress": {"line1": "Gata 1", "city": city, "country": "SE"},
                "tags": ["a", "b"],
                "terms": {"paymentType": "account", "currency": "SEK", "creditLimit": minor.abs(),
                          "paymentTerms": "net30", "openBalance": minor},
                "externalRefs": [{"system": "other", "id": "@x"}],
                "customFields": {"level": "Gold", "units": units, "alarm": true, "note": note}
            }))
            .unwrap();
            let Ok(card) = domain::validate_customer(input, &ctx) else {
                // Text the domain refuses (a control character) is never stored.
                return Ok(());
            };
            let mut writer = CustomerExportWriter::new(Vec::new(), &ctx.custom_fields).unwrap();
            writer.write(&card).unwrap();
            let file = writer.into_inner().unwrap();
            let options = crate::ImportOptions {
                validation: ctx.clone(),
                ..crate::ImportOptions::default()
            };
            let rows: Vec<_> = crate::ImportReader::new(file.as_slice(), &options)
                .unwrap()
                .collect();
            prop_assert_eq!(rows.len(), 1);
            let row = rows[0].as_ref().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(crate::update_from_row(&card, row, &ctx), Ok(None));
        }
    }

    #[test]
    fn a_label_that_is_one_of_our_columns_gives_way_to_the_key() {
        let header = export_header(&definitions());
        assert_eq!(
            &header[header.len() - 4..],
            ["Level", "Units", "Alarm", "note"]
        );
    }

    #[test]
    fn only_a_single_other_reference_is_written() {
        let input = serde_json::from_value(serde_json::json!({"customerNumber": "1",
                                                               "firstName": "A"}))
        .unwrap();
        let mut card = domain::validate_customer(input, &Default::default()).unwrap();
        let reference = |system, id: &str| domain::ExternalRef {
            system,
            id: id.into(),
        };
        card.external_refs = vec![reference(AccountingSystem::Other, "7")];
        assert_eq!(external_id(&card), "7");
        card.external_refs = vec![reference(AccountingSystem::Quickbooks, "7")];
        assert_eq!(external_id(&card), "");
        card.external_refs = vec![
            reference(AccountingSystem::Other, "7"),
            reference(AccountingSystem::Sage, "8"),
        ];
        assert_eq!(external_id(&card), "");
    }

    #[test]
    fn amounts_have_two_places_and_a_point() {
        assert_eq!(amount(123_450), "1234.50");
        assert_eq!(amount(-5), "-0.05");
        assert_eq!(amount(0), "0.00");
    }
}
