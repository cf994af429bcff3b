//! Header names to canonical columns, and which export the file came from.
//!
//! Header names are compared folded: case, spaces, underscores, dashes, punctuation and
//! diacritics do not matter ("E-mail", "email", "E_MAIL" and "e mail" are one name; "A/C" is
//! "ac"; "Kreditgräns" is "kreditgrans").

use std::collections::HashMap;
use std::sync::LazyLock;

use domain::{AccountingSystem, CustomFieldDef};
use serde::{Deserialize, Serialize};

/// The export a file looks like, judged from its header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExportShape {
    /// QuickBooks Online customer export.
    QuickBooksOnline,
    /// QuickBooks Desktop customer list.
    QuickBooksDesktop,
    /// Sage 50 customer list.
    Sage50,
    /// Visma (Swedish headers).
    Visma,
    /// Our own template and field-service tools.
    Generic,
}

impl ExportShape {
    /// The accounting system an external id in this file belongs to.
    pub fn system(self) -> AccountingSystem {
        match self {
            ExportShape::QuickBooksOnline | ExportShape::QuickBooksDesktop => {
                AccountingSystem::Quickbooks
            }
            ExportShape::Sage50 => AccountingSystem::Sage,
            ExportShape::Visma => AccountingSystem::Visma,
            ExportShape::Generic => AccountingSystem::Other,
        }
    }

    /// Shapes whose plain address columns (street, city, ...) are the billing address. In our
    /// own template the plain address is where the work is done.
    pub(crate) fn plain_address_is_invoice(self) -> bool {
        self != ExportShape::Generic
    }
}

/// A column we know what to do with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Column {
    CustomerNumber,
    /// The customer's id in the accounting system of the detected export.
    ExternalId,
    /// "person" or "company".
    Kind,
    /// QuickBooks' "Customer" / "Display Name", Visma's "Namn": the company name when the row
    /// names no person and no company; in QuickBooks exports also the external id.
    DisplayName,
    /// Split into first and last name when there are no first/last name columns.
    FullName,
    FirstName,
    /// QuickBooks Desktop's "M.I.", kept with the first name.
    MiddleInitial,
    LastName,
    CompanyName,
    /// Sage's "Contact Name": the person at a company, imported as its contact.
    ContactName,
    Email,
    Phone,
    Mobile,
    /// Numbered and typed phone columns ("Phone 1", "Work Phone", "Home Phone"): a number that
    /// is a mobile for its country fills the mobile, others the phone (see `row.rs`). Several
    /// columns may have this meaning.
    PhoneOrMobile,
    InvoiceEmail,
    InvoiceLine1,
    InvoiceLine2,
    InvoicePostalCode,
    InvoiceCity,
    InvoiceRegion,
    InvoiceCountry,
    /// QuickBooks Desktop "Bill to 1".."Bill to 5": free-form address lines.
    BillTo(u8),
    VisitingLine1,
    VisitingLine2,
    VisitingPostalCode,
    VisitingCity,
    VisitingRegion,
    VisitingCountry,
    /// QuickBooks Desktop "Ship to 1".."Ship to 5".
    ShipTo(u8),
    /// The plain (unqualified) address columns; which address they fill depends on the shape.
    Street,
    Street2,
    PostalCode,
    City,
    Region,
    Country,
    Language,
    /// Split on "," or ";".
    Tags,
    /// QuickBooks Online's "Customer Type", imported as a tag.
    CustomerType,
    CostCentre,
    OrderNumber,
    Description,
    PaymentType,
    PaymentTerms,
    CreditLimit,
    OpenBalance,
    Currency,
    /// Yes/no (or vip/regular): the tier.
    Vip,
    OnHold,
    /// Recognised so that it is not reported as unknown, but not imported.
    Salutation,
    /// The organisation or VAT number, checked by the country of the row's address (or the
    /// organisation's default country) unless it carries a VAT prefix.
    OrganisationNumber,
}

impl Column {
    /// Whether the column's values go into the customer.
    pub fn is_imported(self) -> bool {
        self != Column::Salutation
    }

    /// Whether several columns of a file may have this meaning.
    fn repeatable(self) -> bool {
        self == Column::PhoneOrMobile
    }

    /// The name a mapping gives the column's field: "customerNumber", "phoneOrMobile",
    /// "billTo1".
    pub fn name(self) -> String {
        match self {
            Column::BillTo(n) => format!("billTo{n}"),
            Column::ShipTo(n) => format!("shipTo{n}"),
            column => serde_json::to_value(column)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        }
    }

    /// A number of its own below [`SLOTS`] for each column (each "Bill to" and "Ship to"
    /// line too), so that a row's cell of a column is found by indexing, not by searching:
    /// a row looks up some forty columns.
    #[inline]
    pub(crate) fn slot(self) -> usize {
        use Column as C;
        // The lines are numbered 1 to `FREE_LINES` (see the aliases).
        let line = |n: u8| usize::from(n.clamp(1, FREE_LINES)) - 1;
        match self {
            C::CustomerNumber => 0,
            C::ExternalId => 1,
            C::Kind => 2,
            C::DisplayName => 3,
            C::FullName => 4,
            C::FirstName => 5,
            C::MiddleInitial => 6,
            C::LastName => 7,
            C::CompanyName => 8,
            C::ContactName => 9,
            C::Email => 10,
            C::Phone => 11,
            C::Mobile => 12,
            C::PhoneOrMobile => 13,
            C::InvoiceEmail => 14,
            C::InvoiceLine1 => 15,
            C::InvoiceLine2 => 16,
            C::InvoicePostalCode => 17,
            C::InvoiceCity => 18,
            C::InvoiceRegion => 19,
            C::InvoiceCountry => 20,
            C::VisitingLine1 => 21,
            C::VisitingLine2 => 22,
            C::VisitingPostalCode => 23,
            C::VisitingCity => 24,
            C::VisitingRegion => 25,
            C::VisitingCountry => 26,
            C::Street => 27,
            C::Street2 => 28,
            C::PostalCode => 29,
            C::City => 30,
            C::Region => 31,
            C::Country => 32,
            C::Language => 33,
            C::Tags => 34,
            C::CustomerType => 35,
            C::CostCentre => 36,
            C::OrderNumber => 37,
            C::Description => 38,
            C::PaymentType => 39,
            C::PaymentTerms => 40,
            C::CreditLimit => 41,
            C::OpenBalance => 42,
            C::Currency => 43,
            C::Vip => 44,
            C::OnHold => 45,
            C::Salutation => 46,
            C::OrganisationNumber => 47,
            C::BillTo(n) => SINGLE_COLUMNS + line(n),
            C::ShipTo(n) => SINGLE_COLUMNS + usize::from(FREE_LINES) + line(n),
        }
    }

    /// Every column a file's values can fill, in the order of the alias table.
    pub fn imported() -> Vec<Column> {
        let mut columns: Vec<Column> = Vec::new();
        for alias in ALIASES {
            if alias.column.is_imported() && !columns.contains(&alias.column) {
                columns.push(alias.column);
            }
        }
        columns
    }
}

/// QuickBooks Desktop's free address lines per address ("Bill to 1" to "Bill to 5").
pub(crate) const FREE_LINES: u8 = 5;

/// The columns without a line number, slots 0 to 47; the free lines' slots follow.
const SINGLE_COLUMNS: usize = 48;

/// How many [`Column::slot`]s there are.
pub(crate) const SLOTS: usize = SINGLE_COLUMNS + 2 * FREE_LINES as usize;

struct Alias {
    column: Column,
    /// Set when the spellings belong to one export: in such a file they win over a generic
    /// meaning of the same spelling.
    shape: Option<ExportShape>,
    /// The spellings are typical of `shape` and count towards detecting it. Words any export
    /// might use ("Name", "Town", "Adress") do not count, or a plain file would be taken for
    /// Sage or Visma.
    typical: bool,
    names: &'static [&'static str],
}

const fn generic(column: Column, names: &'static [&'static str]) -> Alias {
    Alias {
        column,
        shape: None,
        typical: false,
        names,
    }
}

const fn typical(shape: ExportShape, column: Column, names: &'static [&'static str]) -> Alias {
    Alias {
        column,
        shape: Some(shape),
        typical: true,
        names,
    }
}

/// A meaning that only applies in files of `shape`, without counting towards detecting it.
const fn within(shape: ExportShape, column: Column, names: &'static [&'static str]) -> Alias {
    Alias {
        column,
        shape: Some(shape),
        typical: false,
        names,
    }
}

use Column as C;
use ExportShape::{
    Generic, QuickBooksDesktop as Qbd, QuickBooksOnline as Qbo, Sage50 as Sage, Visma,
};

/// How many typical header names a file needs to be taken for an accounting export; one
/// could be a coincidence ("Billing City" in a home-made sheet).
const SHAPE_MIN_HITS: usize = 2;

/// Every spelling we recognise. Keep the table in the crate documentation (lib.rs) in step.
#[rustfmt::skip]
const ALIASES: &[Alias] = &[
    generic(C::CustomerNumber, &["Customer Number", "Customer No", "Customer Nr", "Cust No", "Number", "Account Number"]),
    typical(Qbd, C::CustomerNumber, &["Account No."]),
    typical(Sage, C::CustomerNumber, &["A/C", "Account Reference", "Account Ref"]),
    typical(Visma, C::CustomerNumber, &["Kundnummer", "Kundnr"]),
    // Generic exports (CRMs, spreadsheets) name their own id "Customer Id", "Client ID" or "ID".
    generic(C::ExternalId, &["External ID", "External Reference", "External Ref", "Ext ID", "Accounting ID", "Customer ID", "Client ID", "ID", "Record ID", "Contact ID", "Source ID"]),
    generic(C::Kind, &["Kind", "Type", "Customer Kind"]),
    generic(C::DisplayName, &["Customer", "Name", "Customer Name"]),
    typical(Qbo, C::DisplayName, &["Display Name"]),
    typical(Visma, C::DisplayName, &["Namn", "Kundnamn"]),
    // Sage's "Name" is the company; its person is in "Contact Name".
    within(Sage, C::CompanyName, &["Name"]),
    generic(C::FullName, &["Full Name"]),
    generic(C::FirstName, &["First Name", "Given Name", "Förnamn"]),
    typical(Qbd, C::MiddleInitial, &["M.I."]),
    generic(C::MiddleInitial, &["Middle Initial"]),
    generic(C::LastName, &["Last Name", "Surname", "Family Name", "Efternamn"]),
    generic(C::CompanyName, &["Company", "Company Name", "Business Name", "Organisation", "Organization", "Företag", "Företagsnamn"]),
    typical(Sage, C::ContactName, &["Contact Name"]),
    within(Sage, C::ContactName, &["Contact"]),
    generic(C::ContactName, &["Contact Person", "Kontaktperson"]),
    generic(C::Email, &["Email", "Email Address", "E-post", "Epost"]),
    typical(Qbd, C::Email, &["Main Email"]),
    generic(C::Phone, &["Phone", "Phone Number", "Telephone", "Tel", "Telefon", "Telefonnummer"]),
    typical(Qbd, C::Phone, &["Main Phone"]),
    generic(C::Mobile, &["Mobile", "Mobile Phone", "Mobile Number", "Mobile Phone Number", "Cell", "Cell Phone", "Cell Number", "Mobil", "Mobiltelefon", "Mobilnummer", "Handy"]),
    generic(C::PhoneOrMobile, &["Phone 1", "Phone 2", "Phone 3", "Phone 4", "Phone 5", "Phone Number 1", "Phone Number 2", "Telephone 1", "Telephone 2", "Telefon 1", "Telefon 2", "Work Phone", "Business Phone", "Office Phone", "Home Phone", "Other Phone", "Direct Phone", "Direct Line", "Alternate Phone", "Alt Phone", "Arbetstelefon", "Hemtelefon"]),
    generic(C::InvoiceEmail, &["Invoice Email", "Billing Email", "Faktura E-post", "Fakturamail"]),
    generic(C::InvoiceLine1, &["Invoice Street", "Invoice Address", "Invoice Address Line 1", "Fakturaadress"]),
    typical(Qbo, C::InvoiceLine1, &["Billing Address Line 1", "Billing Street", "Billing Address"]),
    generic(C::InvoiceLine2, &["Invoice Address Line 2"]),
    typical(Qbo, C::InvoiceLine2, &["Billing Address Line 2"]),
    generic(C::InvoicePostalCode, &["Invoice Postal Code", "Invoice ZIP"]),
    typical(Qbo, C::InvoicePostalCode, &["Billing ZIP", "Billing ZIP Code", "Billing Postal Code", "Billing Postcode"]),
    generic(C::InvoiceCity, &["Invoice City"]),
    typical(Qbo, C::InvoiceCity, &["Billing City"]),
    generic(C::InvoiceRegion, &["Invoice Region", "Invoice State"]),
    typical(Qbo, C::InvoiceRegion, &["Billing State", "Billing Region"]),
    generic(C::InvoiceCountry, &["Invoice Country"]),
    typical(Qbo, C::InvoiceCountry, &["Billing Country"]),
    typical(Qbd, C::BillTo(1), &["Bill to 1"]),
    typical(Qbd, C::BillTo(2), &["Bill to 2"]),
    typical(Qbd, C::BillTo(3), &["Bill to 3"]),
    typical(Qbd, C::BillTo(4), &["Bill to 4"]),
    typical(Qbd, C::BillTo(5), &["Bill to 5"]),
    generic(C::VisitingLine1, &["Visiting Address", "Visiting Street", "Service Address", "Site Address", "Besöksadress"]),
    typical(Qbo, C::VisitingLine1, &["Shipping Address Line 1", "Shipping Street", "Shipping Address"]),
    generic(C::VisitingLine2, &["Visiting Address Line 2"]),
    typical(Qbo, C::VisitingLine2, &["Shipping Address Line 2"]),
    generic(C::VisitingPostalCode, &["Visiting Postal Code", "Besökspostnummer"]),
    typical(Qbo, C::VisitingPostalCode, &["Shipping ZIP", "Shipping ZIP Code", "Shipping Postal Code", "Shipping Postcode"]),
    generic(C::VisitingCity, &["Visiting City", "Besöksort"]),
    typical(Qbo, C::VisitingCity, &["Shipping City"]),
    generic(C::VisitingRegion, &["Visiting Region"]),
    typical(Qbo, C::VisitingRegion, &["Shipping State", "Shipping Region"]),
    generic(C::VisitingCountry, &["Visiting Country"]),
    typical(Qbo, C::VisitingCountry, &["Shipping Country"]),
    typical(Qbd, C::ShipTo(1), &["Ship to 1"]),
    typical(Qbd, C::ShipTo(2), &["Ship to 2"]),
    typical(Qbd, C::ShipTo(3), &["Ship to 3"]),
    typical(Qbd, C::ShipTo(4), &["Ship to 4"]),
    typical(Qbd, C::ShipTo(5), &["Ship to 5"]),
    generic(C::Street, &["Street", "Address", "Address Line 1", "Street Address", "Adress", "Postadress", "Utdelningsadress"]),
    typical(Sage, C::Street, &["Street1"]),
    generic(C::Street2, &["Address Line 2", "Address 2", "Adress 2", "Co-adress"]),
    typical(Sage, C::Street2, &["Street2"]),
    generic(C::PostalCode, &["Postal Code", "Post Code", "ZIP", "ZIP Code", "Postnummer", "Postnr"]),
    generic(C::City, &["City", "Town", "Ort", "Postort"]),
    generic(C::Region, &["Region", "State", "Province", "County"]),
    generic(C::Country, &["Country", "Country Code", "Land", "Landskod"]),
    generic(C::Language, &["Language", "Språk"]),
    generic(C::Tags, &["Tags", "Tag", "Labels", "Taggar"]),
    typical(Qbo, C::CustomerType, &["Customer Type"]),
    generic(C::CostCentre, &["Cost Centre", "Cost Center", "Kostnadsställe"]),
    generic(C::OrderNumber, &["Order Number", "Order No", "PO Number", "Your Reference", "Er referens"]),
    generic(C::Description, &["Notes", "Note", "Description", "Comments", "Comment", "Memo", "Anteckningar"]),
    generic(C::PaymentType, &["Payment Type"]),
    generic(C::PaymentTerms, &["Terms", "Payment Terms"]),
    typical(Sage, C::PaymentTerms, &["Payment Due Days"]),
    typical(Visma, C::PaymentTerms, &["Betalningsvillkor", "Betalvillkor"]),
    generic(C::CreditLimit, &["Credit Limit"]),
    typical(Visma, C::CreditLimit, &["Kreditgräns"]),
    generic(C::OpenBalance, &["Balance", "Open Balance", "Saldo"]),
    typical(Qbd, C::OpenBalance, &["Balance Total"]),
    generic(C::Currency, &["Currency", "Currency Code", "Valuta"]),
    generic(C::Vip, &["VIP", "Tier"]),
    generic(C::OnHold, &["On Hold", "Hold", "Account on Hold", "Spärrad"]),
    typical(Qbd, C::Salutation, &["Mr./Ms./..."]),
    generic(C::Salutation, &["Salutation"]),
    typical(Visma, C::OrganisationNumber, &["Organisationsnummer"]),
    generic(C::OrganisationNumber, &["Organisation Number", "Organization Number", "Org.nr", "Orgnr", "Org No", "Organisasjonsnummer", "CVR", "CVR-nr", "CVR-nummer", "Y-tunnus", "Company Registration Number", "Company Reg No", "Registration Number", "VAT Number", "VAT No", "VAT Reg No", "VAT Registration Number", "VAT ID", "Momsregistreringsnummer", "Momsreg.nr"]),
];

/// The header name folded for comparison: diacritics and case dropped (the same folding
/// search uses), then everything but letters and digits.
pub fn normalise_header(name: &str) -> String {
    domain::fold(name)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// One column of the file's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderColumn {
    /// The header name as in the file (trimmed).
    pub name: String,
    /// What the column is imported as; `None` for unknown, empty or repeated headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<Column>,
    /// The key of the organisation's custom field the column fills: a column that is not one
    /// of ours, named like the field's key or label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_field: Option<String>,
    /// The meaning was given by the import's mapping override, not guessed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overridden: bool,
}

impl HeaderColumn {
    pub(crate) fn is_imported(&self) -> bool {
        self.column.is_some_and(Column::is_imported) || self.custom_field.is_some()
    }
}

/// The file's header: what each column means, and which export the file looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderMap {
    pub shape: ExportShape,
    pub columns: Vec<HeaderColumn>,
}

impl HeaderMap {
    /// Maps header names. Unknown names are kept (with no column) so the report can list them;
    /// a second header mapping to a column already taken is not used either (the first wins:
    /// two e-mail columns would otherwise silently overwrite each other).
    pub fn from_headers<S: AsRef<str>>(headers: &[S]) -> HeaderMap {
        let normalised: Vec<String> = headers
            .iter()
            .map(|h| normalise_header(h.as_ref()))
            .collect();
        let shape = detect_shape(&normalised);
        let mut taken = Vec::new();
        let columns = headers
            .iter()
            .zip(&normalised)
            .map(|(name, key)| {
                let column = resolve(key, shape).filter(|c| c.repeatable() || !taken.contains(c));
                taken.extend(column);
                HeaderColumn {
                    name: name.as_ref().trim().to_owned(),
                    column,
                    custom_field: None,
                    overridden: false,
                }
            })
            .collect();
        HeaderMap { shape, columns }
    }

    /// Maps the columns that are none of ours to the organisation's custom fields, by the
    /// field's key or label (compared like header names). Retired fields take no new values
    /// and are not mapped; each field is filled from one column only.
    pub fn with_custom_fields(mut self, definitions: &[CustomFieldDef]) -> HeaderMap {
        for index in 0..self.columns.len() {
            let header = &self.columns[index];
            if header.column.is_some() || header.name.is_empty() {
                continue;
            }
            let key = normalise_header(&header.name);
            let taken = |k: &str| {
                self.columns
                    .iter()
                    .any(|c| c.custom_field.as_deref() == Some(k))
            };
            let definition = definitions.iter().find(|d| {
                !d.retired
                    && !taken(&d.key)
                    && (normalise_header(&d.key) == key || normalise_header(&d.label) == key)
            });
            self.columns[index].custom_field = definition.map(|d| d.key.clone());
        }
        self
    }

    /// Applies the caller's mapping: each named column gets the meaning given, and loses it
    /// anywhere it was guessed, so no field is filled from two columns. A name the header does
    /// not have is the error, as the header names it.
    pub fn with_override(mut self, wanted: &crate::ColumnOverride) -> Result<HeaderMap, String> {
        for (name, target) in wanted.entries() {
            let key = normalise_header(name);
            let Some(index) = self
                .columns
                .iter()
                .position(|c| normalise_header(&c.name) == key)
            else {
                return Err(name.to_owned());
            };
            let (column, custom_field) = target.parts();
            for other in &mut self.columns {
                if column.is_some_and(|c| !c.repeatable()) && other.column == column {
                    other.column = None;
                }
                if custom_field.is_some() && other.custom_field == custom_field {
                    other.custom_field = None;
                }
            }
            let header = &mut self.columns[index];
            header.column = column;
            header.custom_field = custom_field;
            header.overridden = true;
        }
        Ok(self)
    }

    /// A header of no columns, for a reader that has not read one yet.
    pub(crate) fn empty() -> HeaderMap {
        HeaderMap {
            shape: ExportShape::Generic,
            columns: Vec::new(),
        }
    }

    /// The index of the column filling custom field `key`.
    pub fn index_of_custom_field(&self, key: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.custom_field.as_deref() == Some(key))
    }

    /// The index of the file column mapped to `column`.
    pub fn index_of(&self, column: Column) -> Option<usize> {
        self.columns.iter().position(|c| c.column == Some(column))
    }

    /// The header name (as in the file) of column `index`.
    pub fn name(&self, index: usize) -> Option<&str> {
        self.columns.get(index).map(|c| c.name.as_str())
    }

    /// True if some column is imported.
    pub fn has_imported_columns(&self) -> bool {
        self.columns.iter().any(HeaderColumn::is_imported)
    }

    /// Header names whose values are not imported: unknown, repeated, or recognised but not
    /// imported (a salutation, an organisation number). Empty header cells are not listed.
    pub fn unused(&self) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|c| !c.name.is_empty() && !c.is_imported())
            .map(|c| c.name.as_str())
            .collect()
    }
}

/// Where each column of ours is in a file, found once per file from its header: the
/// file column of each column (a column other than [`Column::PhoneOrMobile`] is in a file at
/// most once, see [`HeaderMap::from_headers`]), and those of the phone columns, in file order.
#[derive(Debug, Clone)]
pub(crate) struct ColumnTable {
    index: [Option<u16>; SLOTS],
    pub phones: Vec<usize>,
}

impl ColumnTable {
    pub fn of(header: &HeaderMap) -> ColumnTable {
        let mut table = ColumnTable {
            index: [None; SLOTS],
            phones: Vec::new(),
        };
        for (i, column) in header.columns.iter().enumerate() {
            let Some(column) = column.column else {
                continue;
            };
            if column == Column::PhoneOrMobile {
                table.phones.push(i);
            }
            // A header has at most `MAX_COLUMNS` (200) columns.
            let slot = &mut table.index[column.slot()];
            if slot.is_none() {
                *slot = u16::try_from(i).ok();
            }
        }
        table
    }

    /// The file column of `column`, if the file has it.
    #[inline]
    pub fn index_of(&self, column: Column) -> Option<usize> {
        self.index[column.slot()].map(usize::from)
    }
}

/// The column a normalised header name means in a file of `shape`: a spelling typical of
/// that shape first, then the generic meaning, then a spelling typical of another shape.
fn resolve(key: &str, shape: ExportShape) -> Option<Column> {
    let matching = || aliases_named(key);
    let pick = |wanted: Option<ExportShape>| {
        matching()
            .find(|alias| alias.shape == wanted)
            .map(|a| a.column)
    };
    pick(Some(shape))
        .or_else(|| pick(None))
        .or_else(|| matching().next().map(|a| a.column))
}

/// [`ALIASES`] by their names, normalised once: normalised name -> the aliases with that
/// name, in table order. Every header column is looked up here, and folding the aliases again
/// for each column made header mapping cost milliseconds per column (found by fuzzing: a wide
/// header slowed each input to a crawl); a map makes each column one lookup.
static ALIASES_BY_NAME: LazyLock<HashMap<String, Vec<&'static Alias>>> = LazyLock::new(|| {
    let mut by_name: HashMap<String, Vec<&'static Alias>> = HashMap::new();
    for alias in ALIASES {
        for name in alias.names {
            let entry = by_name.entry(normalise_header(name)).or_default();
            if !entry.iter().any(|known| std::ptr::eq(*known, alias)) {
                entry.push(alias);
            }
        }
    }
    by_name
});

/// The aliases with a name that normalises to `key`, in table order.
fn aliases_named(key: &str) -> impl Iterator<Item = &'static Alias> + '_ {
    ALIASES_BY_NAME
        .get(key)
        .into_iter()
        .flat_map(|aliases| aliases.iter().copied())
}

/// The shape with the most typical header names, if it has at least [`SHAPE_MIN_HITS`];
/// otherwise the generic shape. On a tie the earlier shape in the list below wins.
fn detect_shape(normalised: &[String]) -> ExportShape {
    let hits = |shape: ExportShape| {
        normalised
            .iter()
            .filter(|key| {
                aliases_named(key).any(|alias| alias.typical && alias.shape == Some(shape))
            })
            .count()
    };
    [Qbd, Qbo, Sage, Visma]
        .into_iter()
        .map(|shape| (shape, hits(shape)))
        .filter(|&(_, n)| n >= SHAPE_MIN_HITS)
        .rev()
        .max_by_key(|&(_, n)| n)
        .map_or(Generic, |(shape, _)| shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(headers: &[&str]) -> HeaderMap {
        HeaderMap::from_headers(headers)
    }

    fn columns(map: &HeaderMap) -> Vec<Option<Column>> {
        map.columns.iter().map(|c| c.column).collect()
    }

    #[test]
    fn every_column_has_a_slot_of_its_own() {
        let mut slots: Vec<usize> = ALIASES.iter().map(|alias| alias.column.slot()).collect();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots, (0..SLOTS).collect::<Vec<_>>());
    }

    #[test]
    fn the_table_finds_each_column_where_the_header_has_it() {
        let header = map(&["Phone 1", "Email", "Bill to 3", "Phone 2", "E-mail"]);
        let table = ColumnTable::of(&header);
        assert_eq!(table.index_of(C::Email), Some(1));
        assert_eq!(table.index_of(C::BillTo(3)), Some(2));
        assert_eq!(table.index_of(C::BillTo(2)), None);
        assert_eq!(table.index_of(C::Mobile), None);
        assert_eq!(table.phones, [0, 3]);
    }

    #[test]
    fn names_are_compared_ignoring_case_spacing_and_punctuation() {
        for spelling in ["E-mail", "email", "EMAIL", " e_mail ", "E mail", "e.mail"] {
            assert_eq!(normalise_header(spelling), "email", "{spelling}");
        }
        assert_eq!(normalise_header("A/C"), "ac");
        assert_eq!(normalise_header("Kreditgräns"), "kreditgrans");
        let map = map(&[
            "FIRST_NAME",
            "last-name",
            "  Customer  number ",
            "Postal code",
        ]);
        assert_eq!(
            columns(&map),
            vec![
                Some(C::FirstName),
                Some(C::LastName),
                Some(C::CustomerNumber),
                Some(C::PostalCode)
            ]
        );
        assert_eq!(map.columns[2].name, "Customer  number");
    }

    #[test]
    fn every_alias_means_one_thing_per_shape() {
        for shape in [Qbd, Qbo, Sage, Visma, Generic] {
            for alias in ALIASES {
                for name in alias.names {
                    let key = normalise_header(name);
                    let same: Vec<_> = ALIASES
                        .iter()
                        .filter(|a| {
                            a.shape == alias.shape
                                && a.names.iter().any(|n| normalise_header(n) == key)
                        })
                        .map(|a| a.column)
                        .collect();
                    assert_eq!(
                        same.len(),
                        1,
                        "{name:?} is ambiguous within {:?}",
                        alias.shape
                    );
                    assert!(resolve(&key, shape).is_some(), "{name}");
                }
            }
        }
    }

    #[test]
    fn quickbooks_online_export() {
        let map = map(&[
            "Customer",
            "Company",
            "First Name",
            "Last Name",
            "Email",
            "Phone",
            "Mobile",
            "Billing Address Line 1",
            "Billing City",
            "Billing State",
            "Billing ZIP",
            "Billing Country",
            "Shipping Street",
            "Shipping City",
            "Terms",
            "Balance",
            "Currency",
            "Customer Type",
            "Notes",
            "Website",
        ]);
        assert_eq!(map.shape, Qbo);
        assert_eq!(map.index_of(C::DisplayName), Some(0));
        assert_eq!(map.index_of(C::InvoiceLine1), Some(7));
        assert_eq!(map.index_of(C::VisitingLine1), Some(12));
        assert_eq!(map.index_of(C::OpenBalance), Some(15));
        assert_eq!(map.index_of(C::CustomerType), Some(17));
        assert_eq!(map.unused(), vec!["Website"]);
    }

    #[test]
    fn quickbooks_desktop_list() {
        let map = map(&[
            "Customer",
            "Company Name",
            "Mr./Ms./...",
            "First Name",
            "M.I.",
            "Last Name",
            "Main Phone",
            "Mobile",
            "Main Email",
            "Bill to 1",
            "Bill to 2",
            "Bill to 3",
            "Ship to 1",
            "Terms",
            "Balance Total",
            "Credit Limit",
            "Account No.",
            "Fax",
        ]);
        assert_eq!(map.shape, Qbd);
        assert_eq!(map.index_of(C::MiddleInitial), Some(4));
        assert_eq!(map.index_of(C::BillTo(3)), Some(11));
        assert_eq!(map.index_of(C::ShipTo(1)), Some(12));
        assert_eq!(map.index_of(C::CustomerNumber), Some(16));
        assert_eq!(map.unused(), vec!["Mr./Ms./...", "Fax"]);
    }

    #[test]
    fn sage_50_list() {
        let map = map(&[
            "A/C",
            "Name",
            "Street1",
            "Street2",
            "Town",
            "County",
            "Post Code",
            "Country Code",
            "Contact Name",
            "Telephone",
            "Mobile",
            "E-mail",
            "Credit Limit",
            "Balance",
            "Payment Due Days",
            "Currency",
        ]);
        assert_eq!(map.shape, Sage);
        let expected = [
            C::CustomerNumber,
            C::CompanyName,
            C::Street,
            C::Street2,
            C::City,
            C::Region,
            C::PostalCode,
            C::Country,
            C::ContactName,
            C::Phone,
            C::Mobile,
            C::Email,
            C::CreditLimit,
            C::OpenBalance,
            C::PaymentTerms,
            C::Currency,
        ];
        assert_eq!(columns(&map), expected.map(Some).to_vec());
        assert!(map.unused().is_empty());
    }

    #[test]
    fn visma_export() {
        let map = map(&[
            "Kundnummer",
            "Namn",
            "Organisationsnummer",
            "Adress",
            "Postnummer",
            "Ort",
            "Land",
            "Telefon",
            "Mobil",
            "E-post",
            "Kreditgräns",
            "Betalningsvillkor",
        ]);
        assert_eq!(map.shape, Visma);
        let expected = [
            C::CustomerNumber,
            C::DisplayName,
            C::OrganisationNumber,
            C::Street,
            C::PostalCode,
            C::City,
            C::Country,
            C::Phone,
            C::Mobile,
            C::Email,
            C::CreditLimit,
            C::PaymentTerms,
        ];
        assert_eq!(columns(&map), expected.map(Some).to_vec());
        assert!(map.unused().is_empty());
    }

    #[test]
    fn generic_field_service_shape() {
        let map = map(&[
            "Customer Number",
            "External ID",
            "First Name",
            "Last Name",
            "Company",
            "Email",
            "Phone",
            "Mobile",
            "Street",
            "City",
            "Postal Code",
            "Country",
            "Language",
            "Tags",
            "On Hold",
            "VIP",
            "Payment Type",
        ]);
        assert_eq!(map.shape, Generic);
        assert!(map.unused().is_empty());
        assert!(!map.shape.plain_address_is_invoice());
    }

    #[test]
    fn a_repeated_column_is_not_used_twice() {
        let map = map(&["Email", "E-mail", "Phone"]);
        assert_eq!(columns(&map), vec![Some(C::Email), None, Some(C::Phone)]);
        assert_eq!(map.unused(), vec!["E-mail"]);
    }

    #[test]
    fn empty_trailing_headers_are_not_listed() {
        let map = map(&["Name", "", ""]);
        assert!(map.unused().is_empty());
    }

    /// Found by fuzzing: every column folded every alias name again, about a millisecond per
    /// column, so a file with a wide header spent seconds on its header alone. Folded once,
    /// thousands of columns take milliseconds; the bound leaves a hundredfold margin for a
    /// loaded machine.
    #[test]
    fn a_wide_header_maps_without_folding_the_aliases_per_column() {
        let mut headers: Vec<String> = (0..5000).map(|i| format!("Column {i}")).collect();
        headers.push("E-mail".into());
        let started = std::time::Instant::now();
        let map = HeaderMap::from_headers(&headers);
        let took = started.elapsed();
        assert_eq!(map.columns[5000].column, Some(C::Email));
        assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
    }
}
