//! Notes: what the office and the technicians need to remember about a customer, or about one
//! of its sites (location notes: the gate code, where the key is, the dog). A note is dated and
//! signed by its author; only the author edits it, and every note and edit goes into the
//! customer's history, so what a technician was told stays on record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::history::{ChangeKind, FieldChange, HistoryEntry};
use crate::work::{required_text, trimmed};
use crate::{Customer, CustomerId, FieldError, ValidationErrors};

/// A page of text: a gate code and directions fit many times over; a report does not belong
/// in a note.
pub const NOTE_TEXT_MAX: usize = 4000;

/// A note as the caller sends it: on create (`text` required) and, merged with the stored
/// note, on change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoteInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The site the note is about; none: the customer as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
}

/// The validated, editable part of a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteFields {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
}

impl NoteFields {
    /// The fields as input again, for a merge patch.
    pub fn to_input(&self) -> NoteInput {
        NoteInput {
            text: Some(self.text.clone()),
            site_id: self.site_id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// A ULID: a customer's notes sort by when they were written.
    pub id: String,
    pub customer_id: CustomerId,
    #[serde(flatten)]
    pub fields: NoteFields,
    /// When it was written, and by whom (the author, the only one who edits it).
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub version: u64,
}

impl Note {
    /// A new note of `customer` by `author`, at version 1.
    pub fn new(customer: CustomerId, fields: NoteFields, author: &str, now: DateTime<Utc>) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            customer_id: customer,
            fields,
            created_at: now,
            created_by: author.to_owned(),
            updated_at: now,
            updated_by: author.to_owned(),
            version: 1,
        }
    }

    /// The history entry of this note's change from `before` (none: written now). Notes do not
    /// change the card: the entry carries the card's version as it is.
    pub fn history(&self, before: Option<&Note>, customer: &Customer) -> HistoryEntry {
        let field = |name: &str| format!("/notes/{}/{name}", self.id);
        let mut changes = Vec::new();
        let old = before.map(|b| &b.fields);
        if old.map(|o| &o.text) != Some(&self.fields.text) {
            changes.push(FieldChange {
                field: field("text"),
                before: old.map(|o| o.text.clone().into()),
                after: Some(self.fields.text.clone().into()),
            });
        }
        let site_before = old.and_then(|o| o.site_id.clone());
        if site_before != self.fields.site_id {
            changes.push(FieldChange {
                field: field("siteId"),
                before: site_before.map(Into::into),
                after: self.fields.site_id.clone().map(Into::into),
            });
        }
        HistoryEntry {
            id: ulid::Ulid::new().to_string(),
            at: self.updated_at,
            by: self.updated_by.clone(),
            kind: if before.is_some() {
                ChangeKind::NoteChanged
            } else {
                ChangeKind::NoteAdded
            },
            version: customer.version,
            changes,
        }
    }
}

/// Why a note may not be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteRefusal {
    /// Only the author edits a note: it is signed with their name.
    NotAuthor { author: String },
}

/// Whether `user` may edit `note`.
pub fn may_edit(note: &Note, user: &str) -> Result<(), NoteRefusal> {
    if note.created_by == user {
        Ok(())
    } else {
        Err(NoteRefusal::NotAuthor {
            author: note.created_by.clone(),
        })
    }
}

/// The text is required and at most [`NOTE_TEXT_MAX`] characters (line breaks kept: a note
/// is often a list); a site is named by its id (a ULID).
pub fn validate_note(input: NoteInput) -> Result<NoteFields, ValidationErrors> {
    let mut errors = Vec::new();
    let text = required_text("/text", input.text, NOTE_TEXT_MAX, &mut errors);
    let site_id = trimmed(input.site_id);
    let site_id = match site_id.map(|id| ulid::Ulid::from_string(&id)) {
        None => None,
        Some(Ok(id)) => Some(id.to_string()),
        Some(Err(_)) => {
            errors.push(FieldError::new(
                "/siteId",
                "unknown_site",
                "This is not one of the customer's sites.",
            ));
            None
        }
    };
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }
    Ok(NoteFields {
        text: text.expect("checked above"),
        site_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
    }

    fn input(text: Option<&str>, site: Option<&str>) -> NoteInput {
        NoteInput {
            text: text.map(str::to_owned),
            site_id: site.map(str::to_owned),
        }
    }

    fn customer() -> Customer {
        let input: crate::CustomerInput =
            serde_json::from_value(serde_json::json!({"customerNumber": "1", "companyName": "A"}))
                .unwrap();
        let fields = crate::validate_customer(input, &Default::default()).unwrap();
        Customer::new(fields, "u", now())
    }

    #[test]
    fn a_note_needs_text_within_its_limit_and_keeps_its_line_breaks() {
        let fields = validate_note(input(Some("  Gate: 1234\nDog in the yard "), None)).unwrap();
        assert_eq!(fields.text, "Gate: 1234\nDog in the yard");
        let errors = validate_note(input(Some("   "), None)).unwrap_err();
        assert_eq!(errors.0[0].code, "required");
        let long = "x".repeat(NOTE_TEXT_MAX + 1);
        let errors = validate_note(input(Some(&long), None)).unwrap_err();
        assert_eq!(errors.0[0].code, "too_long");
    }

    #[test]
    fn a_site_is_named_by_its_id() {
        let site = ulid::Ulid::new().to_string().to_lowercase();
        let fields = validate_note(input(Some("Key under the mat"), Some(&site))).unwrap();
        assert_eq!(fields.site_id, Some(site.to_uppercase()));
        let errors = validate_note(input(Some("x"), Some("../other"))).unwrap_err();
        assert_eq!(errors.0[0].field, "/siteId");
    }

    #[test]
    fn only_the_author_edits_a_note() {
        let fields = validate_note(input(Some("Dog"), None)).unwrap();
        let note = Note::new(CustomerId("C".into()), fields, "tina", now());
        assert_eq!(may_edit(&note, "tina"), Ok(()));
        assert_eq!(
            may_edit(&note, "olga"),
            Err(NoteRefusal::NotAuthor {
                author: "tina".into()
            })
        );
    }

    #[test]
    fn the_history_says_what_the_note_said_before_and_after() {
        let customer = customer();
        let fields = validate_note(input(Some("Dog"), None)).unwrap();
        let note = Note::new(customer.id.clone(), fields, "tina", now());
        let added = note.history(None, &customer);
        assert_eq!(added.kind, ChangeKind::NoteAdded);
        assert_eq!(added.version, customer.version);
        assert_eq!(added.changes.len(), 1);
        assert_eq!(added.changes[0].field, format!("/notes/{}/text", note.id));

        let mut edited = note.clone();
        edited.fields.text = "Two dogs".into();
        let changed = edited.history(Some(&note), &customer);
        assert_eq!(changed.kind, ChangeKind::NoteChanged);
        assert_eq!(changed.changes[0].before, Some("Dog".into()));
        assert_eq!(changed.changes[0].after, Some("Two dogs".into()));
    }
}
