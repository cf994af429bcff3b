//! Customer import from CSV: the pure part. No AWS and no I/O beyond [`std::io::Read`] and
//! [`std::io::Write`]; the import function streams the file from S3 into [`ImportReader`] and
//! upserts what comes out.
//!
//! # What a file goes through
//!
//! 1. **Encoding.** UTF-8 with or without a byte-order mark, or Windows-1252 (bytes that are
//!    not valid UTF-8), judged on the first 64 KiB; a multi-byte character cut at the edge of
//!    those 64 KiB does not count against UTF-8. If the first 64 KiB are plain ASCII, the first
//!    cell with another byte decides. UTF-16 with a byte-order mark ("Unicode text" in Excel,
//!    tab-separated) is read through a transcoder to UTF-8 that notes where each line starts in
//!    the original bytes, so checkpoints stay offsets in the file; UTF-32 is refused with advice,
//!    and so is a file that is no text at all (an Excel workbook, .xlsx or .xls, or a PDF,
//!    told by its first bytes).
//!    Cells are decoded as the file streams past; the file is never held in memory.
//! 2. **Dialect.** The delimiter (comma, semicolon or tab) is guessed from the header and the
//!    first records, counting outside quotes and preferring the one that gives the header more
//!    than one column and the records the header's column count. Excel's `sep=;` first line is
//!    honoured. Quoted values may hold delimiters, quotes (written `""`) and line breaks; CRLF,
//!    LF and CR line endings may be mixed; blank lines and trailing empty columns are ignored.
//!    The first non-blank row must be the header.
//!    **Limits**: a record (a row, or the header) may be [`MAX_RECORD_BYTES`] long and the
//!    header may name [`MAX_COLUMNS`] columns. A longer row is skipped to where it ends and
//!    reported (`record_too_large`); a longer header, too many columns or a quote never
//!    closed end the file ([`FileError`]). Memory never holds more than one record's limit.
//! 3. **Columns.** Header names are matched ignoring case, spaces, underscores, dashes,
//!    punctuation and diacritics, against the aliases in the table below. The export shape
//!    (QuickBooks Online or Desktop, Sage 50, Visma, or generic) is detected from the names
//!    typical of each export (at least two). Unknown columns are ignored and listed by
//!    [`HeaderMap::unused`]. The caller's [`ColumnOverride`] (in
//!    [`ImportOptions::column_override`]) corrects the guess for the columns it names, and
//!    [`FileMapping`] is what the import records and shows of how it understood the file.
//!    A column that is none of ours but is named like one of the organisation's custom
//!    fields (its key or label, compared the same way) fills that field.
//! 4. **Values**, as people type them: see "Values" below.
//! 5. **Rows.** Every row is validated with [`domain::validate_customer`] and the
//!    organisation's [`domain::ValidationContext`] (in [`ImportOptions::validation`]), exactly
//!    as the API validates a create: number rules, required channels, custom fields, default
//!    currency and terms all apply. Each of the domain's errors is reported with the file's
//!    own column name and the 1-based line where the row starts (a quoted value spanning
//!    lines moves the line numbers of later rows, as a text editor shows them). A row for a
//!    customer that already exists is also validated as a create; the caller applying it as
//!    an update may validate the merged card again with `domain::validate_change`.
//!
//! # Keys, duplicates, and rows without a key
//!
//! A row's [`RowKey`] is its customer number; failing that, its external reference (system
//! and id); failing that, none. A key that repeats an earlier row of the same file is an error
//! (`duplicate_in_file`, naming the first line), and the row is not returned; only a set of
//! key digests is kept for this, so memory grows with the number of distinct keys (about 50
//! bytes each), not with the file.
//!
//! The domain requires a customer number, so by default ([`MissingNumber::Refuse`]) a row
//! without one is an error. With [`MissingNumber::Defer`] (for organisations that number new
//! customers automatically) such rows are validated on everything else and returned with
//! [`ValidRow::needs_number`] for the caller to number. The
//! policy for rows without any key ([`RowKey::None`]) is the caller's; the intended one is
//! that they are **created as new customers, each import run creates them again unless they
//! carry a number or external reference**.
//!
//! # Checkpoints
//!
//! [`ImportReader::checkpoint`] gives the byte offset of the next unread record in the
//! original (undecoded) file and its line; [`ImportReader::snapshot`] the detected encoding,
//! delimiter, columns and export shape. A Lambda running out of time stores both and a later
//! invocation continues with [`ImportReader::resume`] over a ranged read from that offset,
//! getting exactly the rows a single pass would have given. Keys seen before the checkpoint
//! are only known to the resumed reader if [`ImportReader::seen_keys`] is carried over with
//! [`ImportReader::with_seen_keys`].
//!
//! # Output safe for Excel
//!
//! Every CSV we write for people goes through [`SpreadsheetWriter`] ([`spreadsheet_csv`] for a
//! table in memory): [`ErrorReportWriter`] writes the errors, [`template_csv`] gives the
//! template of our own columns, [`CustomerExportWriter`] the customer export in the same
//! columns, the API's inventory export its lines. It puts a quote before every formula
//! character that a spreadsheet could read at the start of a cell, whether it splits lines at
//! commas, semicolons or tabs ([`escape_cell`]); the reader takes those quotes off again
//! ([`unescape_cell`]), so an export of ours imports back as the values it was written from.
//!
//! # Columns
//!
//! The canonical columns, the fields they fill, and the header names recognised (QBO:
//! QuickBooks Online; QBD: QuickBooks Desktop; names marked with an export count towards
//! detecting it).
//!
//! | Column | Field of `CustomerInput` | Header names |
//! |---|---|---|
//! | Customer number | `customerNumber` | Customer Number, Customer No, Customer Nr, Cust No, Number, Account Number; Account No. (QBD); A/C, Account Reference, Account Ref (Sage); Kundnummer, Kundnr (Visma) |
//! | External id | `externalRefs[0].id`, system from the export shape | External ID, External Reference, External Ref, Ext ID, Accounting ID; the source system's own id: Customer ID, Client ID, ID, Record ID, Contact ID, Source ID |
//! | Kind | `kind` (person/company, privat/företag) | Kind, Type, Customer Kind |
//! | Display name | `companyName` when the row names no person and no company; the QuickBooks external id | Customer, Name, Customer Name; Display Name (QBO); Namn, Kundnamn (Visma) |
//! | Full name | `firstName` + `lastName`, split at the last space ("Berg, Anna" too), when there are no first/last name columns | Full Name |
//! | First name | `firstName` | First Name, Given Name, Förnamn |
//! | Middle initial | appended to `firstName` | M.I. (QBD), Middle Initial |
//! | Last name | `lastName` | Last Name, Surname, Family Name, Efternamn |
//! | Organisation number | `organisationNumber`, checked by the country of the row's address (or the organisation's default) unless it has a VAT prefix | Organisationsnummer (Visma), Organisation Number, Organization Number, Org.nr, Orgnr, Org No, Organisasjonsnummer, CVR, CVR-nr, CVR-nummer, Y-tunnus, Company Registration Number, Company Reg No, Registration Number, VAT Number, VAT No, VAT Reg No, VAT Registration Number, VAT ID, Momsregistreringsnummer, Momsreg.nr |
//! | Company name | `companyName` | Company, Company Name, Business Name, Organisation, Organization, Företag, Företagsnamn; Name (in Sage files) |
//! | Contact name | `contacts[0]` first and last name | Contact Name (Sage), Contact (in Sage files), Contact Person, Kontaktperson |
//! | Email | `email` | Email, E-mail, Email Address, E-post, Epost; Main Email (QBD) |
//! | Phone | `phone` | Phone, Phone Number, Telephone, Tel, Telefon, Telefonnummer; Main Phone (QBD) |
//! | Mobile | `mobile` | Mobile, Mobile Phone, Mobile Number, Mobile Phone Number, Cell, Cell Phone, Cell Number, Mobil, Mobiltelefon, Mobilnummer, Handy |
//! | Phone or mobile | `mobile` for a number that is a mobile for its country, else `phone` (see Values) | Phone 1..5, Phone Number 1..2, Telephone 1..2, Telefon 1..2, Work Phone, Business Phone, Office Phone, Home Phone, Other Phone, Direct Phone, Direct Line, Alternate Phone, Alt Phone, Arbetstelefon, Hemtelefon |
//! | Invoice email | `invoiceEmail` | Invoice Email, Billing Email, Faktura E-post, Fakturamail |
//! | Invoice address | `invoiceAddress.line1`, `line2`, `postalCode`, `city`, `region`, `country` | Invoice Street / Invoice Address / Invoice Address Line 1, Invoice Address Line 2, Invoice Postal Code / Invoice ZIP, Invoice City, Invoice Region / Invoice State, Invoice Country, Fakturaadress; Billing Address Line 1 / Billing Street / Billing Address, Billing Address Line 2, Billing ZIP / Billing ZIP Code / Billing Postal Code / Billing Postcode, Billing City, Billing State / Billing Region, Billing Country (QBO); Bill to 1..5 (QBD, free-form lines) |
//! | Visiting address | `visitingAddress.*` | Visiting Address / Visiting Street / Service Address / Site Address / Besöksadress, Visiting Address Line 2, Visiting Postal Code / Besökspostnummer, Visiting City / Besöksort, Visiting Region, Visiting Country; Shipping Address Line 1 / Shipping Street / Shipping Address, Shipping Address Line 2, Shipping ZIP / ZIP Code / Postal Code / Postcode, Shipping City, Shipping State / Region, Shipping Country (QBO); Ship to 1..5 (QBD, free-form lines) |
//! | Plain address | `invoiceAddress.*` in QuickBooks, Sage and Visma files (their address is the billing address); `visitingAddress.*` in generic files (where the work is done) | Street, Address, Address Line 1, Street Address, Adress, Postadress, Utdelningsadress, Street1 (Sage); Address Line 2, Address 2, Adress 2, Co-adress, Street2 (Sage); Postal Code, Post Code, ZIP, ZIP Code, Postnummer, Postnr; City, Town, Ort, Postort; Region, State, Province, County; Country, Country Code, Land, Landskod |
//! | Language | `language` | Language, Språk |
//! | Tags | `tags`, split on `,` or `;` | Tags, Tag, Labels, Taggar |
//! | Customer type | one more tag | Customer Type (QBO) |
//! | Cost centre | `costCentre` | Cost Centre, Cost Center, Kostnadsställe |
//! | Order number | `orderNumber` | Order Number, Order No, PO Number, Your Reference, Er referens |
//! | Notes | `description` | Notes, Note, Description, Comments, Comment, Memo, Anteckningar |
//! | Payment type | `terms.paymentType` (account/cash, faktura/kontant) | Payment Type |
//! | Payment terms | `terms.paymentTerms` | Terms, Payment Terms; Payment Due Days (Sage); Betalningsvillkor, Betalvillkor (Visma) |
//! | Credit limit | `terms.creditLimit` | Credit Limit; Kreditgräns (Visma) |
//! | Open balance | `terms.openBalance` | Balance, Open Balance, Saldo; Balance Total (QBD) |
//! | Currency | `terms.currency` | Currency, Currency Code, Valuta |
//! | VIP | `tier` (yes/no, or vip/regular) | VIP, Tier |
//! | On hold | `onHold` | On Hold, Hold, Account on Hold, Spärrad |
//! | Not imported | recognised, listed as unused | Mr./Ms./... (QBD), Salutation |
//!
//! The external id's system is QuickBooks, Sage or Visma for files of those shapes and
//! "other" for generic files. Without an External ID column, a Sage or Visma file's account
//! code (its customer number) and a QuickBooks file's display name are taken as the id: they
//! are how those systems identify the customer.
//!
//! # Values
//!
//! * Empty cells are absent, never "set to empty".
//! * **Amounts** (credit limit, balance) become integer minor units, **assuming two
//!   decimals** (cents, öre): "1 234,50", "1.234,50", "1,234.50", "1'234.50", "$1,234.50",
//!   "1 234,50 kr", "SEK 1234.5", "100:-" all read; a minus before or after, or parentheses,
//!   make a negative. A point or comma followed by exactly three digits, with no other
//!   separator, is a thousands separator ("1,234" is 1234.00), since money has at most two
//!   decimals; more than two decimals are refused, never rounded.
//! * **Payment terms**: "Due on receipt", "Omgående", "0" -> `dueOnReceipt`; "Net 30", "net30",
//!   "30", "30 days", "30 dagar", "1% 10 Net 30" -> `net30`. Other phrases are refused.
//! * **Yes/no** (on hold, VIP): yes/no, true/false, 1/0, ja/nej, y/n, j, x.
//! * **Phone numbers** are passed on as typed; the domain normalises them to E.164, reading a
//!   national number with the row's country (visiting, else invoice address) when it has one,
//!   else with the organisation's `default_country` (in [`ImportOptions::validation`]).
//!   The phone may carry an **extension** ("397.884.0519x718", "ext. 12", "anknytning 12",
//!   "Durchwahl 3"): it is stored apart from the E.164 number (`phoneExtension`), shown back
//!   as the number's country writes it, and never texted; a mobile with an extension is
//!   refused.
//! * **Phone-or-mobile columns** ("Phone 1", "Phone 2", "Work Phone", ...) are taken in file
//!   order after the Phone and Mobile columns: a number that is a mobile for its country fills
//!   the mobile while it is free; any other number the phone while it is free; with the phone
//!   taken, a number that may be a mobile (US and Canadian numbering does not tell) and has no
//!   extension fills the mobile. A number with an extension never becomes the mobile. A third
//!   number has nowhere to go and is not imported; an unreadable one goes to the phone, whose
//!   validation reports it at its column.
//! * **Countries** may be ISO codes, or any ISO 3166 country's English short, formal or common
//!   name ("Chile", "Korea, Republic of", "Republic of Korea", "South Korea", "Côte d'Ivoire",
//!   "Slovakia (Slovak Republic)") or its Swedish, Norwegian, Danish, Finnish or German name
//!   ("Sverige", "Tyskland", "Noreg", "Saksa", "Elfenbenskusten"), compared ignoring case,
//!   diacritics, punctuation, word order and "and"/"of"/"the" (a part in parentheses is also
//!   tried without it). The names come from CLDR and iso-codes, generated into
//!   `shared/domain/src/country_names.rs` by `infra/local/gen-countries.py` (sources and
//!   versions in its header). A name that is no country is the row's error (`unknown_country`,
//!   naming the value).
//! * **Names**: a row with a company name and no person is a company (the domain's rule);
//!   a full name is split at the last space.
//! * **Custom fields**: numbers as typed ("1 234,5"), yes/no as above, a choice matched to
//!   its option ignoring case; dates and text as typed. What cannot be read is passed on as
//!   text for the domain to refuse with its own message.

mod columns;
mod encoding;
mod mapping;
mod output;
mod reader;
mod records;
mod row;
mod template;
mod upsert;
mod utf16;
mod values;

/// The largest file imported. Exports of a field-service customer register (QuickBooks,
/// Sage 50, Visma) are well under 50 MB; 100 MiB is twice that, about half a million rows.
/// Memory does not grow with the file (it is streamed), but time and write capacity do: a
/// larger file is more likely a wrong file (a database dump, a log) than a register, and one
/// tenant's import should not take the table's capacity for hours. Larger registers are split
/// into several files. The API's upload policy and the import function both hold to it.
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

pub use columns::{Column, ExportShape, HeaderColumn, HeaderMap, normalise_header};
pub use encoding::{
    DetectedEncoding, SAMPLE_LEN, TextEncoding, UnsupportedEncoding, detect_encoding,
};
pub use mapping::{ColumnOverride, FileMapping, IGNORE, MappedColumn, Target, unnumbered_file};
pub use output::{
    EXAMPLE_NUMBER, ErrorReportWriter, SpreadsheetWriter, escape_cell, escape_formula,
    spreadsheet_csv, unescape_cell,
};
pub use reader::{
    Checkpoint, FileError, HeaderSnapshot, ImportOptions, ImportReader, MAX_COLUMNS,
    MAX_RECORD_BYTES, MissingNumber, RowError, RowKey, SeenKeys, ValidRow,
};
pub use records::{DELIMITERS, detect_delimiter};
pub use template::{CustomerExportWriter, template_csv};
pub use upsert::update_from_row;
pub use values::{
    AmountError, country_code, parse_amount, parse_payment_terms, parse_yes_no, split_full_name,
};

#[cfg(test)]
mod tests;
