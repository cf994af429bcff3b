//! How an import understood a file, and how people correct it. One vocabulary serves both:
//! a column's field is named the same in the recorded [`FileMapping`] (what the import shows)
//! and in a [`ColumnOverride`] (what the caller sends with POST /imports), so a mapping can be
//! copied, corrected and sent back.
//!
//! Field names: our columns' names ([`Column::name`]: "customerNumber", "externalId", "phone",
//! "phoneOrMobile", "visitingLine1", ...), `customFields/<key>` for one of the organisation's
//! custom fields, and `ignore`.

use std::collections::BTreeMap;

use domain::{CustomFieldDef, FieldError};
use serde::{Deserialize, Serialize};

use crate::columns::{Column, ExportShape, normalise_header};
use crate::encoding::TextEncoding;
use crate::reader::{HeaderSnapshot, MissingNumber};

/// The longest header name a mapping may give, in characters: far beyond any real header,
/// and small enough that a mapping of [`crate::MAX_COLUMNS`] entries stays a small part of
/// the import's record.
pub const MAX_MAPPED_NAME: usize = 500;

/// The name of "not imported".
pub const IGNORE: &str = "ignore";
const CUSTOM_FIELD_PREFIX: &str = "customFields/";

/// What one column of a file fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Column(Column),
    CustomField(String),
    Ignore,
}

impl Target {
    /// The target named `name`, if `definitions` (the organisation's custom fields) allow it.
    pub fn parse(name: &str, definitions: &[CustomFieldDef]) -> Option<Target> {
        let name = name.trim();
        if name.eq_ignore_ascii_case(IGNORE) {
            return Some(Target::Ignore);
        }
        if let Some(key) = name.strip_prefix(CUSTOM_FIELD_PREFIX) {
            return definitions
                .iter()
                .find(|d| !d.retired && d.key == key)
                .map(|d| Target::CustomField(d.key.clone()));
        }
        Column::imported()
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
            .map(Target::Column)
    }

    pub fn name(&self) -> String {
        match self {
            Target::Column(column) => column.name(),
            Target::CustomField(key) => format!("{CUSTOM_FIELD_PREFIX}{key}"),
            Target::Ignore => IGNORE.to_owned(),
        }
    }

    /// As a header column's two meanings.
    pub(crate) fn parts(&self) -> (Option<Column>, Option<String>) {
        match self {
            Target::Column(column) => (Some(*column), None),
            Target::CustomField(key) => (None, Some(key.clone())),
            Target::Ignore => (None, None),
        }
    }
}

/// The caller's corrections to the guess: header name -> target, applied by
/// [`crate::HeaderMap::with_override`] when the header is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnOverride(Vec<(String, Target)>);

impl ColumnOverride {
    /// Reads a mapping as the API takes it. Every problem at once, each at `/mapping/<name>`:
    /// an empty column name, a field we do not know, a field given to two columns.
    pub fn parse(
        mapping: &BTreeMap<String, String>,
        definitions: &[CustomFieldDef],
    ) -> Result<ColumnOverride, Vec<FieldError>> {
        let mut entries: Vec<(String, Target)> = Vec::new();
        let mut errors = Vec::new();
        if mapping.len() > crate::MAX_COLUMNS {
            return Err(vec![FieldError {
                field: "/mapping".into(),
                code: "too_many".into(),
                message: format!(
                    "A mapping names at most {} columns, as many as a file may have.",
                    crate::MAX_COLUMNS
                ),
            }]);
        }
        for (name, field) in mapping {
            let pointer = format!("/mapping/{}", name.replace('~', "~0").replace('/', "~1"));
            let error = |code: &str, message: String| FieldError {
                field: pointer.clone(),
                code: code.into(),
                message,
            };
            if name.chars().count() > MAX_MAPPED_NAME {
                errors.push(error(
                    "too_long",
                    format!("A column name is at most {MAX_MAPPED_NAME} characters."),
                ));
                continue;
            }
            if normalise_header(name).is_empty() {
                errors.push(error(
                    "required",
                    "A mapping names a column by its header, which is not empty.".into(),
                ));
                continue;
            }
            let Some(target) = Target::parse(field, definitions) else {
                errors.push(error(
                    "unknown_field",
                    format!(
                        "{field:?} is not a field an import fills; use one of {}, \
                         \"customFields/<key>\" or \"ignore\".",
                        Column::imported()
                            .iter()
                            .map(|c| c.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                continue;
            };
            let shared = entries.iter().find(|(_, t)| {
                *t == target
                    && target != Target::Ignore
                    && target != Target::Column(Column::PhoneOrMobile)
            });
            if let Some((first, _)) = shared {
                errors.push(error(
                    "repeated_field",
                    format!("{field:?} is also given to the column {first:?}; a field is filled from one column."),
                ));
                continue;
            }
            entries.push((name.trim().to_owned(), target));
        }
        if errors.is_empty() {
            Ok(ColumnOverride(entries))
        } else {
            Err(errors)
        }
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, &Target)> {
        self.0.iter().map(|(name, target)| (name.as_str(), target))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How an import understood its file, recorded when the header is read and shown by
/// GET /imports/{importId}.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileMapping {
    pub encoding: TextEncoding,
    pub delimiter: String,
    pub shape: ExportShape,
    pub columns: Vec<MappedColumn>,
    /// Ignored columns that look like data, and a file whose rows nothing identifies.
    pub warnings: Vec<String>,
}

/// One column of the file and the field it fills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MappedColumn {
    /// The header name as in the file.
    pub name: String,
    /// A field name as a mapping override takes it, or `ignore`.
    pub field: String,
    /// Given by the override rather than guessed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overridden: bool,
}

impl FileMapping {
    pub fn of(snapshot: &HeaderSnapshot, missing_number: MissingNumber) -> FileMapping {
        let header = &snapshot.header;
        let columns = header
            .columns
            .iter()
            .map(|c| {
                let target = match (&c.custom_field, c.column) {
                    (Some(key), _) => Target::CustomField(key.clone()),
                    (None, Some(column)) if column.is_imported() => Target::Column(column),
                    _ => Target::Ignore,
                };
                MappedColumn {
                    name: c.name.clone(),
                    field: target.name(),
                    overridden: c.overridden,
                }
            })
            .collect::<Vec<_>>();
        let mut warnings: Vec<String> = header
            .columns
            .iter()
            .filter(|c| !c.name.is_empty() && !c.is_imported())
            .filter_map(|c| {
                let what = looks_like(&c.name)?;
                Some(format!(
                    "The column {:?} is not imported, though it looks like {what}; give it a \
                     field in the import's mapping if it should be.",
                    c.name
                ))
            })
            .collect();
        let identified = [Column::CustomerNumber, Column::ExternalId]
            .iter()
            .any(|&c| header.index_of(c).is_some())
            || (header.shape != ExportShape::Generic
                && header.index_of(Column::DisplayName).is_some());
        if !identified && missing_number == MissingNumber::Defer {
            warnings.push(
                "No column identifies the customers (a customer number, or an id of the system \
                 the file comes from such as \"Customer Id\"): each row is created as a new \
                 customer, and importing the file again creates them all again."
                    .to_owned(),
            );
        }
        FileMapping {
            encoding: snapshot.encoding,
            delimiter: snapshot.delimiter.to_string(),
            shape: header.shape,
            columns,
            warnings,
        }
    }
}

/// Why a file cannot be imported at all when no column fills the customer number and rows
/// without one are refused (an organisation without automatic numbering): every row would
/// fail alike, so the import fails once, for the file, with the fix. QuickBooks customer
/// lists, for one, have no number column.
pub fn unnumbered_file(header: &crate::HeaderMap, missing_number: MissingNumber) -> Option<String> {
    if missing_number != MissingNumber::Refuse || header.index_of(Column::CustomerNumber).is_some()
    {
        return None;
    }
    let export = match header.shape {
        ExportShape::QuickBooksOnline | ExportShape::QuickBooksDesktop => {
            "This looks like a QuickBooks customer list, which has no customer numbers. "
        }
        _ => "",
    };
    Some(format!(
        "No column of the file holds the customer number, and the organisation does not \
         number customers automatically, so no row could be imported. {export}Either turn on \
         automatic numbering (autoNumber in the organisation's settings) and import the file \
         again, or add a customer number column (\"Customer Number\"), or name the column \
         that holds it in the import's mapping (\"customerNumber\")."
    ))
}

/// What an ignored column's name says its values are, if they are data a customer has.
fn looks_like(name: &str) -> Option<&'static str> {
    let key = normalise_header(name);
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    if has(&["phone", "tel", "tfn", "mobil", "cell", "fax"]) {
        Some("phone numbers")
    } else if has(&["mail", "epost"]) {
        Some("e-mail addresses")
    } else if has(&[
        "address", "adress", "street", "gata", "city", "zip", "postal", "postcode",
    ]) {
        Some("addresses")
    } else if key == "id" || key.ends_with("id") || has(&["number", "nummer", "ref"]) {
        Some("ids")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderMap;

    fn mapping(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn field_names_read_back_as_themselves() {
        for column in Column::imported() {
            let name = column.name();
            assert!(!name.is_empty(), "{column:?}");
            assert_eq!(Target::parse(&name, &[]), Some(Target::Column(column)));
        }
        assert_eq!(Target::parse("ignore", &[]), Some(Target::Ignore));
        assert_eq!(Target::parse("salutation", &[]), None);
        assert_eq!(Target::parse("shoeSize", &[]), None);
    }

    #[test]
    fn an_override_refuses_unknown_and_repeated_fields() {
        let errors = ColumnOverride::parse(
            &mapping(&[
                ("Tel A", "phone"),
                ("Tel B", "phone"),
                ("X", "shoeSize"),
                (" ", "email"),
            ]),
            &[],
        )
        .unwrap_err();
        let codes: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("/mapping/ ", "required"),
                ("/mapping/Tel B", "repeated_field"),
                ("/mapping/X", "unknown_field"),
            ]
        );
    }

    #[test]
    fn an_override_wins_over_the_guess_and_names_columns_the_file_has() {
        let wanted = ColumnOverride::parse(
            &mapping(&[
                ("Kontakt", "email"),
                ("E-mail", "ignore"),
                ("Phone 2", "mobile"),
            ]),
            &[],
        )
        .unwrap();
        let map = HeaderMap::from_headers(&["E-mail", "Kontakt", "Phone 1", "Phone 2"])
            .with_override(&wanted)
            .unwrap();
        let fields: Vec<_> = map.columns.iter().map(|c| c.column).collect();
        assert_eq!(
            fields,
            vec![
                None,
                Some(Column::Email),
                Some(Column::PhoneOrMobile),
                Some(Column::Mobile)
            ]
        );
        let missing = ColumnOverride::parse(&mapping(&[("Fax", "phone")]), &[]).unwrap();
        let refused = HeaderMap::from_headers(&["E-mail"]).with_override(&missing);
        assert_eq!(refused.unwrap_err(), "Fax");
    }

    #[test]
    fn a_file_without_numbers_is_refused_once_only_where_rows_need_them() {
        let quickbooks = HeaderMap::from_headers(&[
            "Display Name",
            "Email",
            "Phone",
            "Billing Street",
            "Billing City",
        ]);
        assert_eq!(quickbooks.shape, ExportShape::QuickBooksOnline);
        let refusal = unnumbered_file(&quickbooks, MissingNumber::Refuse).expect("refused");
        assert!(refusal.contains("QuickBooks"), "{refusal}");
        assert!(refusal.contains("automatic numbering"), "{refusal}");
        assert!(refusal.contains("Customer Number"), "{refusal}");
        // Automatic numbering numbers the rows; a number column, guessed or mapped, fills it.
        assert_eq!(unnumbered_file(&quickbooks, MissingNumber::Defer), None);
        let numbered = HeaderMap::from_headers(&["Customer Number", "Email"]);
        assert_eq!(unnumbered_file(&numbered, MissingNumber::Refuse), None);
        let wanted = ColumnOverride::parse(&mapping(&[("Email", "customerNumber")]), &[]).unwrap();
        let mapped = HeaderMap::from_headers(&["Email"])
            .with_override(&wanted)
            .unwrap();
        assert_eq!(unnumbered_file(&mapped, MissingNumber::Refuse), None);
        let generic = unnumbered_file(&HeaderMap::from_headers(&["Name"]), MissingNumber::Refuse);
        assert!(!generic.expect("refused").contains("QuickBooks"));
    }

    #[test]
    fn the_mapping_names_every_column_and_warns_of_ignored_data() {
        let headers = [
            "Index",
            "Customer Id",
            "First Name",
            "Last Name",
            "Company",
            "City",
            "Country",
            "Phone 1",
            "Phone 2",
            "Email",
            "Subscription Date",
            "Website",
            "Fax",
        ];
        let snapshot = HeaderSnapshot {
            encoding: TextEncoding::Utf8,
            delimiter: ',',
            header: HeaderMap::from_headers(&headers),
        };
        let mapping = FileMapping::of(&snapshot, MissingNumber::Defer);
        let fields: Vec<&str> = mapping.columns.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "ignore",
                "externalId",
                "firstName",
                "lastName",
                "companyName",
                "city",
                "country",
                "phoneOrMobile",
                "phoneOrMobile",
                "email",
                "ignore",
                "ignore",
                "ignore",
            ]
        );
        assert_eq!(mapping.warnings.len(), 1, "{:?}", mapping.warnings);
        assert!(
            mapping.warnings[0].contains("\"Fax\""),
            "{:?}",
            mapping.warnings
        );
        assert!(mapping.warnings[0].contains("phone numbers"));
    }

    #[test]
    fn a_file_nothing_identifies_is_warned_of() {
        let snapshot = HeaderSnapshot {
            encoding: TextEncoding::Utf8,
            delimiter: ';',
            header: HeaderMap::from_headers(&["First Name", "Last Name", "Client Ref"]),
        };
        let mapping = FileMapping::of(&snapshot, MissingNumber::Defer);
        assert_eq!(mapping.warnings.len(), 2, "{:?}", mapping.warnings);
        assert!(mapping.warnings[0].contains("\"Client Ref\""));
        assert!(mapping.warnings[1].contains("creates them all again"));
    }
}
