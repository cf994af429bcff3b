//! One record's cells into a [`CustomerInput`], remembering which file column each field came
//! from so that the domain's errors can name the column people see in their spreadsheet.

use std::collections::BTreeMap;

use domain::{
    AccountingSystem, Address, ContactInput, CustomFieldDef, CustomFieldType, CustomerInput,
    ExternalRef, LineKind, TermsInput,
};
use serde_json::Value;

use crate::columns::{Column, ColumnTable, ExportShape, FREE_LINES, HeaderMap};
use crate::values::{
    self, AmountError, country_code, parse_amount, parse_kind, parse_payment_terms,
    parse_payment_type, parse_tier, parse_yes_no, split_full_name, split_tags,
};

/// A cell that could not be read into its field; the field is left out and the row is still
/// validated, so that the report lists every problem of the row at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CellProblem {
    pub column: usize,
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

/// What a record turned into.
#[derive(Debug, Default)]
pub(crate) struct BuiltRow {
    pub input: CustomerInput,
    /// JSON pointer (or pointer prefix) -> index of the file column it came from.
    pub sources: Vec<(&'static str, usize)>,
    /// The file column of each entry of `input.tags`, by index.
    pub tag_sources: Vec<usize>,
    /// The file column of each custom field, by key.
    pub custom_sources: Vec<(String, usize)>,
    pub problems: Vec<CellProblem>,
    /// The row's own country (ISO code), for reading national phone numbers.
    pub country: Option<&'static str>,
    /// Numbers of guessed phone columns ("Phone 1", "Work Phone") that are no valid number of
    /// the row's country: left out, so the customer is imported without them (see `phones`).
    pub phones_left_out: u32,
}

impl BuiltRow {
    /// The file column a domain error's pointer refers to: the exact pointer, else the
    /// longest source that contains it ("/contacts/0" for "/contacts/0/firstName").
    pub fn column_of(&self, pointer: &str) -> Option<usize> {
        if let Some(index) = pointer
            .strip_prefix("/tags/")
            .and_then(|i| i.parse::<usize>().ok())
        {
            return self.tag_sources.get(index).copied();
        }
        if let Some(key) = pointer.strip_prefix("/customFields/") {
            let found = self.custom_sources.iter().find(|(k, _)| k == key);
            return found.map(|&(_, column)| column);
        }
        self.sources
            .iter()
            .filter(|(source, _)| is_within(pointer, source))
            .max_by_key(|(source, _)| source.len())
            .map(|&(_, column)| column)
    }
}

/// True if `pointer` is `prefix` or below it.
pub(crate) fn is_within(pointer: &str, prefix: &str) -> bool {
    pointer
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Where each address part goes, and the columns it may come from.
struct AddressSpec {
    pointers: [&'static str; 6],
    explicit: [Column; 6],
}

const PLAIN: [Column; 6] = [
    Column::Street,
    Column::Street2,
    Column::PostalCode,
    Column::City,
    Column::Region,
    Column::Country,
];

const INVOICE: AddressSpec = AddressSpec {
    pointers: [
        "/invoiceAddress/line1",
        "/invoiceAddress/line2",
        "/invoiceAddress/postalCode",
        "/invoiceAddress/city",
        "/invoiceAddress/region",
        "/invoiceAddress/country",
    ],
    explicit: [
        Column::InvoiceLine1,
        Column::InvoiceLine2,
        Column::InvoicePostalCode,
        Column::InvoiceCity,
        Column::InvoiceRegion,
        Column::InvoiceCountry,
    ],
};

const VISITING: AddressSpec = AddressSpec {
    pointers: [
        "/visitingAddress/line1",
        "/visitingAddress/line2",
        "/visitingAddress/postalCode",
        "/visitingAddress/city",
        "/visitingAddress/region",
        "/visitingAddress/country",
    ],
    explicit: [
        Column::VisitingLine1,
        Column::VisitingLine2,
        Column::VisitingPostalCode,
        Column::VisitingCity,
        Column::VisitingRegion,
        Column::VisitingCountry,
    ],
};

/// One address part and the file column it came from.
type Part = Option<(String, usize)>;

/// Builds the input from the decoded, trimmed cells of one record (`""` for empty or
/// missing cells). `columns` is where the header put each column; `definitions` are the
/// organisation's custom fields.
pub(crate) fn build_row(
    header: &HeaderMap,
    columns: &ColumnTable,
    cells: &[&str],
    definitions: &[CustomFieldDef],
    default_country: Option<&str>,
) -> BuiltRow {
    let mut builder = RowBuilder {
        cells,
        columns,
        row: BuiltRow {
            // A source per field filled: room for a wide row without growing.
            sources: Vec::with_capacity(32),
            ..BuiltRow::default()
        },
    };
    builder.build(header.shape, default_country);
    builder.custom_fields(header, cells, definitions);
    builder.row
}

struct RowBuilder<'a> {
    /// The row's cells, by file column.
    cells: &'a [&'a str],
    columns: &'a ColumnTable,
    row: BuiltRow,
}

impl<'a> RowBuilder<'a> {
    /// The cell of `column` and its file column, unless the file has no such column or the
    /// cell is empty.
    #[inline]
    fn cell(&self, column: Column) -> Option<(&'a str, usize)> {
        let index = self.columns.index_of(column)?;
        let value = *self.cells.get(index)?;
        (!value.is_empty()).then_some((value, index))
    }

    fn source(&mut self, pointer: &'static str, column: usize) {
        self.row.sources.push((pointer, column));
    }

    /// The cell as text, recorded as the source of `pointer`.
    fn text(&mut self, column: Column, pointer: &'static str) -> Option<String> {
        let (value, index) = self.cell(column)?;
        self.source(pointer, index);
        Some(value.to_owned())
    }

    /// The cell read by `parse`; a value it cannot read is a problem of the row.
    fn parsed<T>(
        &mut self,
        column: Column,
        pointer: &'static str,
        parse: impl Fn(&str) -> Result<T, (&'static str, String)>,
    ) -> Option<T> {
        let (value, index) = self.cell(column)?;
        self.source(pointer, index);
        match parse(value) {
            Ok(parsed) => Some(parsed),
            Err((code, message)) => {
                self.row.problems.push(CellProblem {
                    column: index,
                    field: pointer,
                    code,
                    message,
                });
                None
            }
        }
    }

    fn build(&mut self, shape: ExportShape, default_country: Option<&str>) {
        let customer_number = self.text(Column::CustomerNumber, "/customerNumber");
        let (first_name, last_name) = self.person_name();
        let company_name = self.company_name(first_name.is_some() || last_name.is_some());
        let contacts = self.contact();
        let kind = self.parsed(Column::Kind, "/kind", |raw| {
            parse_kind(raw).ok_or_else(|| {
                let message =
                    format!("{raw:?} is not a customer type; use \"person\" or \"company\".");
                ("invalid_kind", message)
            })
        });
        // Only QuickBooks Desktop's free address lines are compared with the names.
        let has_free_lines = (1..=FREE_LINES).any(|n| {
            self.cell(Column::BillTo(n))
                .or(self.cell(Column::ShipTo(n)))
                .is_some()
        });
        let (invoice_free, visiting_free) = if has_free_lines {
            let names = [
                company_name.clone(),
                self.cell(Column::DisplayName).map(|(v, _)| v.to_owned()),
                person(&first_name, &last_name),
            ];
            (
                self.free_address(Column::BillTo, &names),
                self.free_address(Column::ShipTo, &names),
            )
        } else {
            Default::default()
        };
        let plain_is_invoice = shape.plain_address_is_invoice();
        let invoice_address = self.address(&INVOICE, plain_is_invoice, invoice_free);
        let visiting_address = self.address(&VISITING, !plain_is_invoice, visiting_free);
        // The addresses' countries are codes already: looked up only for a `'static` one.
        self.row.country = [&visiting_address, &invoice_address]
            .into_iter()
            .flatten()
            .filter_map(|address| address.country.as_deref())
            .find_map(|code| {
                domain::is_country(code)
                    .then(|| country_code(code))
                    .flatten()
            });
        let external_refs = self.external_ref(shape, &customer_number);
        let (phone, mobile) = self.phones(self.row.country.or(default_country));
        self.row.input = CustomerInput {
            customer_number,
            kind,
            first_name,
            last_name,
            company_name,
            organisation_number: self.text(Column::OrganisationNumber, "/organisationNumber"),
            description: self.text(Column::Description, "/description"),
            email: self.text(Column::Email, "/email"),
            phone,
            mobile,
            invoice_email: self.text(Column::InvoiceEmail, "/invoiceEmail"),
            invoice_address,
            visiting_address,
            contacts,
            language: self.text(Column::Language, "/language"),
            cost_centre: self.text(Column::CostCentre, "/costCentre"),
            order_number: self.text(Column::OrderNumber, "/orderNumber"),
            tags: self.tags(),
            terms: self.terms(),
            tier: self.parsed(Column::Vip, "/tier", |raw| {
                parse_tier(raw).ok_or_else(|| yes_no_problem(raw))
            }),
            on_hold: self.parsed(Column::OnHold, "/onHold", |raw| {
                parse_yes_no(raw).ok_or_else(|| yes_no_problem(raw))
            }),
            external_refs,
            // Fields a CSV row never fills (discount codes, articles) stay absent, also those
            // the domain adds later; custom fields are filled by `custom_fields`.
            ..CustomerInput::default()
        };
    }

    /// The phone and the mobile: from their own columns, then from the numbered and typed
    /// phone columns in file order. A number that is a mobile for its country (`country`
    /// reads national numbers) fills the mobile when it is free; any other number the phone;
    /// with the phone taken, a number that may be a mobile (the US numbering does not tell)
    /// and has no extension fills the mobile. A number with an extension is never the mobile.
    /// What does not fit (a third number) is not imported. An unreadable number of the phone
    /// column itself goes to the phone, whose validation names it; one of a guessed column is
    /// left out and counted: generic exports are full of numbers of another country than the
    /// row's, and a customer is worth more than one of its phone numbers. The import's
    /// warnings say how many were left out and where the first one is.
    fn phones(&mut self, country: Option<&str>) -> (Option<String>, Option<String>) {
        let mut phone = self.text(Column::Phone, "/phone");
        let mut mobile = self.text(Column::Mobile, "/mobile");
        let (cells, columns) = (self.cells, self.columns);
        let candidates = columns.phones.iter().filter_map(|&index| {
            let value = *cells.get(index)?;
            (!value.is_empty()).then_some((value, index))
        });
        for (value, index) in candidates {
            let kind = domain::line_kind(value, country);
            if kind.is_none() {
                self.row.phones_left_out += 1;
                continue;
            }
            let slot = match kind {
                Some((LineKind::Mobile, false)) if mobile.is_none() => "/mobile",
                _ if phone.is_none() => "/phone",
                Some((LineKind::Mobile | LineKind::MobileOrFixed, false)) if mobile.is_none() => {
                    "/mobile"
                }
                _ => continue,
            };
            self.source(slot, index);
            let filled = if slot == "/mobile" {
                &mut mobile
            } else {
                &mut phone
            };
            *filled = Some(value.to_owned());
        }
        (phone, mobile)
    }

    /// First and last name from their columns (with QuickBooks' middle initial kept with the
    /// first name), else split from a full-name column.
    fn person_name(&mut self) -> (Option<String>, Option<String>) {
        let mut first = self.text(Column::FirstName, "/firstName");
        if let Some((middle, index)) = self.cell(Column::MiddleInitial) {
            if first.is_none() {
                self.source("/firstName", index);
            }
            first = Some(match first {
                Some(first) => format!("{first} {middle}"),
                None => middle.to_owned(),
            });
        }
        let last = self.text(Column::LastName, "/lastName");
        if first.is_some() || last.is_some() {
            return (first, last);
        }
        let Some((full, index)) = self.cell(Column::FullName) else {
            return (None, None);
        };
        self.source("/firstName", index);
        self.source("/lastName", index);
        split_full_name(full)
    }

    /// The company column; else the display name when the row names no person: QuickBooks
    /// and Visma put a company's name only there.
    fn company_name(&mut self, has_person: bool) -> Option<String> {
        let company = self.text(Column::CompanyName, "/companyName");
        if company.is_some() || has_person {
            return company;
        }
        self.text(Column::DisplayName, "/companyName")
    }

    /// Sage's contact name becomes the customer's (first, hence primary) contact.
    fn contact(&mut self) -> Option<Vec<ContactInput>> {
        let (name, index) = self.cell(Column::ContactName)?;
        self.source("/contacts/0", index);
        let (first_name, last_name) = split_full_name(name);
        Some(vec![ContactInput {
            first_name,
            last_name,
            ..ContactInput::default()
        }])
    }

    /// Address parts from their own columns, then (if `plain` applies to this address) the
    /// unqualified columns, then QuickBooks Desktop's free-form lines.
    fn address(&mut self, spec: &AddressSpec, plain: bool, free: [Part; 6]) -> Option<Address> {
        let mut parts = free;
        for (i, part) in parts.iter_mut().enumerate() {
            let cell = self
                .cell(spec.explicit[i])
                .or_else(|| plain.then(|| self.cell(PLAIN[i])).flatten());
            if let Some((value, index)) = cell {
                *part = Some((value.to_owned(), index));
            }
        }
        if parts.iter().all(Option::is_none) {
            return None;
        }
        let country = parts[5].take().and_then(|(value, index)| {
            let pointer = spec.pointers[5];
            self.source(pointer, index);
            let code = country_code(&value);
            if code.is_none() {
                self.row.problems.push(CellProblem {
                    column: index,
                    field: pointer,
                    code: "unknown_country",
                    message: format!(
                        "{value:?} is not a country we know; write its ISO code (\"SE\") or its \
                         name in English, Swedish, Norwegian, Danish, Finnish or German."
                    ),
                });
            }
            code.map(str::to_owned)
        });
        let mut text = |i: usize| {
            let (value, index) = parts[i].take()?;
            self.source(spec.pointers[i], index);
            Some(value)
        };
        Some(Address {
            line1: text(0),
            line2: text(1),
            postal_code: text(2),
            city: text(3),
            region: text(4),
            country,
        })
    }

    /// QuickBooks Desktop's "Bill to 1".."5" (or "Ship to"): free lines of an address label.
    /// The first line is usually the addressee and is dropped when it repeats the customer's
    /// name; a last line naming a country and a "City, ST 12345" or "123 45 City" line are
    /// read as such; what remains are the street lines.
    fn free_address(&mut self, line: fn(u8) -> Column, names: &[Option<String>]) -> [Part; 6] {
        let mut parts: [Part; 6] = Default::default();
        let mut lines: Vec<(&str, usize)> = (1..=FREE_LINES)
            .filter_map(|n| self.cell(line(n)))
            .collect();
        let is_name = |text: &str| {
            let text = domain::fold(text);
            names.iter().flatten().any(|n| domain::fold(n) == text)
        };
        if lines.first().is_some_and(|(text, _)| is_name(text)) {
            lines.remove(0);
        }
        if let [_, .., (last, index)] = lines[..]
            && let Some(code) = country_code(last)
        {
            parts[5] = Some((code.to_owned(), index));
            lines.pop();
        }
        if let Some(&(last, index)) = lines.last()
            && let Some(city_line) = parse_city_line(last)
        {
            parts[2] = Some((city_line.postal_code.to_owned(), index));
            parts[3] = Some((city_line.city.to_owned(), index));
            parts[4] = city_line.region.map(|r| (r.to_owned(), index));
            lines.pop();
        }
        if let Some((&(first, index), rest)) = lines.split_first() {
            parts[0] = Some((first.to_owned(), index));
            if let Some(&(_, index)) = rest.first() {
                let joined = rest.iter().map(|(text, _)| *text).collect::<Vec<_>>();
                parts[1] = Some((joined.join(", "), index));
            }
        }
        parts
    }

    fn tags(&mut self) -> Option<Vec<String>> {
        let mut tags = Vec::new();
        for column in [Column::Tags, Column::CustomerType] {
            let Some((value, index)) = self.cell(column) else {
                continue;
            };
            // "Customer Type" is one tag whatever it holds.
            let (split, whole) = if column == Column::Tags {
                (Some(split_tags(value)), None)
            } else {
                (None, Some(value))
            };
            for tag in split.into_iter().flatten().chain(whole) {
                tags.push(tag.to_owned());
                self.row.tag_sources.push(index);
            }
        }
        (!tags.is_empty()).then_some(tags)
    }

    fn terms(&mut self) -> Option<TermsInput> {
        let terms = TermsInput {
            payment_type: self.parsed(Column::PaymentType, "/terms/paymentType", |raw| {
                parse_payment_type(raw).ok_or_else(|| {
                    let message = format!(
                        "{raw:?} is not a payment type; use \"account\" (invoiced) or \"cash\"."
                    );
                    ("invalid_payment_type", message)
                })
            }),
            currency: self.text(Column::Currency, "/terms/currency"),
            credit_limit: self.parsed(Column::CreditLimit, "/terms/creditLimit", amount),
            payment_terms: self.parsed(Column::PaymentTerms, "/terms/paymentTerms", |raw| {
                parse_payment_terms(raw).ok_or_else(|| {
                    let message = format!(
                        "{raw:?} is not payment terms we can read; use e.g. \"Due on receipt\", \"Net 30\" or \"30\" (days)."
                    );
                    ("invalid_payment_terms", message)
                })
            }),
            open_balance: self.parsed(Column::OpenBalance, "/terms/openBalance", amount),
        };
        (terms != TermsInput::default()).then_some(terms)
    }

    /// The customer's id in the accounting system the file came from: the external-id column;
    /// else, in Sage and Visma exports, the account code (it is the customer's key there); in
    /// QuickBooks exports, the display name (QuickBooks keeps it unique and exports no other
    /// key). Our own template names no system, so only its explicit column counts.
    fn external_ref(
        &mut self,
        shape: ExportShape,
        customer_number: &Option<String>,
    ) -> Option<Vec<ExternalRef>> {
        const POINTER: &str = "/externalRefs/0";
        let system = shape.system();
        let (id, index) = match self.cell(Column::ExternalId) {
            Some(cell) => cell,
            None => match system {
                AccountingSystem::Sage | AccountingSystem::Visma => {
                    let number = customer_number.as_deref()?;
                    (number, self.cell(Column::CustomerNumber)?.1)
                }
                AccountingSystem::Quickbooks => self.cell(Column::DisplayName)?,
                AccountingSystem::Other => return None,
            },
        };
        self.source(POINTER, index);
        Some(vec![ExternalRef {
            system,
            id: id.to_owned(),
        }])
    }
}

impl RowBuilder<'_> {
    fn custom_fields(
        &mut self,
        header: &HeaderMap,
        cells: &[&str],
        definitions: &[CustomFieldDef],
    ) {
        let mut values = BTreeMap::new();
        for (index, column) in header.columns.iter().enumerate() {
            let Some(key) = &column.custom_field else {
                continue;
            };
            let raw = cells.get(index).copied().unwrap_or("");
            let Some(definition) = definitions.iter().find(|d| &d.key == key) else {
                continue;
            };
            if raw.is_empty() {
                continue;
            }
            values.insert(key.clone(), custom_value(definition, raw));
            self.row.custom_sources.push((key.clone(), index));
        }
        if !values.is_empty() {
            self.row.input.custom_fields = Some(values);
        }
    }
}

/// A custom field's cell as the JSON value its type takes. A cell that cannot be read as
/// that type is passed on as text, and the domain refuses it with its own message.
fn custom_value(definition: &CustomFieldDef, raw: &str) -> Value {
    let text = || Value::String(raw.to_owned());
    match definition.kind {
        CustomFieldType::Number => values::parse_number(raw).map_or_else(text, Value::Number),
        CustomFieldType::YesNo => parse_yes_no(raw).map_or_else(text, Value::Bool),
        // "gold" for the option "Gold": the options' own spelling is what the domain checks.
        CustomFieldType::Choice => definition
            .options
            .iter()
            .find(|option| domain::fold(option) == domain::fold(raw))
            .map_or_else(text, |option| Value::String(option.clone())),
        CustomFieldType::Text | CustomFieldType::Date => text(),
    }
}

fn amount(raw: &str) -> Result<i64, (&'static str, String)> {
    parse_amount(raw).map_err(|error: AmountError| ("invalid_amount", error.message(raw)))
}

fn yes_no_problem(raw: &str) -> (&'static str, String) {
    let message = format!("{raw:?} is not yes or no; use yes/no, true/false, 1/0 or ja/nej.");
    ("invalid_boolean", message)
}

fn person(first: &Option<String>, last: &Option<String>) -> Option<String> {
    match (first, last) {
        (Some(first), Some(last)) => Some(format!("{first} {last}")),
        (Some(name), None) | (None, Some(name)) => Some(name.clone()),
        (None, None) => None,
    }
}

/// The last line of an address label, read into postal code, city and region.
#[derive(Debug, PartialEq, Eq)]
struct CityLine<'a> {
    postal_code: &'a str,
    city: &'a str,
    region: Option<&'a str>,
}

/// "Springfield, IL 62704", "Toronto, ON M5V 2T6", "Springfield IL 62704-1234" (North
/// American), or "123 45 Stockholm", "SE-123 45 Stockholm", "0150 Oslo" (Nordic).
fn parse_city_line(line: &str) -> Option<CityLine<'_>> {
    north_american_city_line(line).or_else(|| nordic_city_line(line))
}

fn north_american_city_line(line: &str) -> Option<CityLine<'_>> {
    let (city, rest) = match line.split_once(',') {
        Some((city, rest)) => (city.trim(), rest.trim()),
        None => {
            // "Springfield IL 62704": the state is the word before the postal code.
            let mut words = line.rsplitn(3, ' ');
            let (postal, state, city) = (words.next()?, words.next()?, words.next()?);
            return north_american_parts(city.trim(), state, postal);
        }
    };
    let (state, postal) = rest.split_once(' ')?;
    north_american_parts(city, state, postal.trim())
}

fn north_american_parts<'a>(
    city: &'a str,
    state: &'a str,
    postal: &'a str,
) -> Option<CityLine<'a>> {
    let is_state = state.len() == 2 && state.bytes().all(|b| b.is_ascii_uppercase());
    let is_zip = {
        let (five, plus4) = postal.split_once('-').unwrap_or((postal, "0000"));
        five.len() == 5
            && plus4.len() == 4
            && (five.to_owned() + plus4)
                .bytes()
                .all(|b| b.is_ascii_digit())
    };
    let is_canadian = {
        let compact: Vec<u8> = postal.bytes().filter(|b| *b != b' ').collect();
        compact.len() == 6
            && compact.iter().enumerate().all(|(i, b)| {
                if i % 2 == 0 {
                    b.is_ascii_alphabetic()
                } else {
                    b.is_ascii_digit()
                }
            })
    };
    (is_state && (is_zip || is_canadian) && !city.is_empty()).then_some(CityLine {
        postal_code: postal,
        city,
        region: Some(state),
    })
}

fn nordic_city_line(line: &str) -> Option<CityLine<'_>> {
    // An optional country prefix: "SE-123 45".
    let body = match line.as_bytes() {
        [a, b, b'-', ..] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => &line[3..],
        _ => line,
    };
    let digits_end = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let first = digits_end(body);
    let postal_len = match first {
        // "123 45"
        3 if body[3..].starts_with(' ') && digits_end(&body[4..]) == 2 => 6,
        4 | 5 => first,
        _ => return None,
    };
    let city = body[postal_len..].trim();
    let starts_with_letter = city.chars().next().is_some_and(char::is_alphabetic);
    starts_with_letter.then(|| CityLine {
        postal_code: &line[..line.len() - body.len() + postal_len],
        city,
        region: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn city_lines() {
        let line = |postal_code, city, region| {
            Some(CityLine {
                postal_code,
                city,
                region,
            })
        };
        assert_eq!(
            parse_city_line("Springfield, IL 62704"),
            line("62704", "Springfield", Some("IL"))
        );
        assert_eq!(
            parse_city_line("Springfield IL 62704-1234"),
            line("62704-1234", "Springfield", Some("IL"))
        );
        assert_eq!(
            parse_city_line("Toronto, ON M5V 2T6"),
            line("M5V 2T6", "Toronto", Some("ON"))
        );
        assert_eq!(
            parse_city_line("123 45 Stockholm"),
            line("123 45", "Stockholm", None)
        );
        assert_eq!(
            parse_city_line("SE-123 45 Stockholm"),
            line("SE-123 45", "Stockholm", None)
        );
        assert_eq!(parse_city_line("0150 Oslo"), line("0150", "Oslo", None));
        assert_eq!(parse_city_line("Storgatan 1"), None);
        assert_eq!(parse_city_line("1 Main Street"), None);
    }
}
