//! Erasure (the GDPR right to erasure): what of a customer is personal data and what it becomes.
//! The customer number, the commercial terms, amounts and the work (work orders, jobs, tickets,
//! contracts with their statuses, articles and quantities) stay for the accounts; everything
//! that names, reaches or describes the person or their contacts is replaced by a tombstone or
//! removed. Declared once here: the API erases the card with [`erased_card`], the background
//! erasure (functions/customers-cascade) rewrites every other record of the customer by
//! [`ERASED_RECORDS`] and [`scrub_history`], and an erased customer refuses every change
//! ([`Customer::is_erased`]). Pure: no I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ChangeKind, Customer, CustomerFields, CustomerKind, CustomerStatus, FieldChange};

/// The name an erased customer goes by (lists, search, documents).
pub const ERASED_NAME: &str = "Erased customer";
/// The name an erased customer's sites go by.
pub const ERASED_SITE_NAME: &str = "Erased site";
/// What replaces a personal value that cannot simply be left out (a note's text, a history
/// entry's before and after).
pub const TOMBSTONE: &str = "erased";

/// Who erased the customer and when; on the card for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Erasure {
    pub at: DateTime<Utc>,
    pub by: String,
}

impl Customer {
    /// An erased customer is never changed again: nothing may put personal data back.
    pub fn is_erased(&self) -> bool {
        self.erased.is_some()
    }
}

/// The card after erasure: number, terms, tier, hold, accounting references, cost centre,
/// order number and default articles kept; names, e-mails, phones, addresses, contacts,
/// organisation number (a sole trader's is a personal identity number), description, tags,
/// discount codes, language and custom fields gone; inactive; marked erased by `by` at `at`.
/// Version and audit fields are the caller's to set, as for every change.
pub fn erased_card(customer: &Customer, by: &str, at: DateTime<Utc>) -> Customer {
    let kept = &customer.fields;
    let fields = CustomerFields {
        customer_number: kept.customer_number.clone(),
        kind: CustomerKind::Company,
        first_name: None,
        last_name: None,
        company_name: Some(ERASED_NAME.to_owned()),
        show_company_name_on_documents: true,
        organisation_number: None,
        organisation_number_country: None,
        description: None,
        email: None,
        phone: None,
        phone_extension: None,
        mobile: None,
        sms_opt_out: true,
        invoice_email: None,
        invoice_address: None,
        visiting_address: None,
        contacts: Vec::new(),
        language: None,
        discount_codes: Vec::new(),
        cost_centre: kept.cost_centre.clone(),
        order_number: kept.order_number.clone(),
        tags: Vec::new(),
        default_articles: kept.default_articles.clone(),
        terms: kept.terms.clone(),
        tier: kept.tier,
        on_hold: kept.on_hold,
        external_refs: kept.external_refs.clone(),
        custom_fields: Default::default(),
    };
    Customer {
        status: CustomerStatus::Inactive,
        erased: Some(Erasure {
            at,
            by: by.to_owned(),
        }),
        fields,
        ..customer.clone()
    }
}

/// What erasure does to one kind of record besides the card, by the item's `entity`: the
/// attributes it removes and those it replaces with a tombstone. Top-level attributes only, so
/// the store applies it to any item without knowing the record's type.
pub struct ErasedRecord {
    pub entity: &'static str,
    pub remove: &'static [&'static str],
    pub replace: &'static [(&'static str, &'static str)],
}

/// Every record of a customer's partition that holds personal data, and what becomes of it.
/// Kept: statuses, windows, technicians (staff), articles, quantities, amounts, titles of work
/// (they say what was done, for the accounts), contracts (name and reference are the
/// organisation's). History entries are rewritten by [`scrub_history`]; idempotency records
/// are deleted (their stored answers hold the card as it was).
pub const ERASED_RECORDS: &[ErasedRecord] = &[
    ErasedRecord {
        entity: "Site",
        remove: &["address", "contact"],
        replace: &[("name", ERASED_SITE_NAME)],
    },
    ErasedRecord {
        entity: "WorkOrder",
        remove: &["description", "contactId"],
        replace: &[],
    },
    ErasedRecord {
        entity: "Job",
        remove: &["note"],
        replace: &[],
    },
    ErasedRecord {
        entity: "Ticket",
        remove: &["note"],
        replace: &[],
    },
    ErasedRecord {
        entity: "Note",
        remove: &[],
        replace: &[("text", TOMBSTONE)],
    },
    // The number a text went to, its body (it greets the person) and the contact it went to.
    ErasedRecord {
        entity: "Text",
        remove: &["to", "text", "contactId"],
        replace: &[],
    },
    ErasedRecord {
        entity: "CustomerAssignment",
        remove: &[],
        replace: &[("customerName", ERASED_NAME)],
    },
];

/// The declaration for an item's entity, if erasure changes that kind.
pub fn erased_record(entity: &str) -> Option<&'static ErasedRecord> {
    ERASED_RECORDS.iter().find(|r| r.entity == entity)
}

/// History fields whose before and after are not personal and stay: statuses (the customer's
/// and every record's), the number, commercial terms, assignments (user ids of staff), the
/// accounting fields and the erasure itself.
const KEPT_HISTORY_FIELDS: &[&str] = &[
    "/status",
    "/customerNumber",
    "/terms",
    "/tier",
    "/onHold",
    "/sitesCount",
    "/assignees",
    "/costCentre",
    "/orderNumber",
    "/defaultArticles",
    "/externalRefs",
    "/erased",
    // The background erasure's own entry: how many records it erased.
    "/records",
];

fn kept_history_field(field: &str) -> bool {
    field.ends_with("/status")
        || KEPT_HISTORY_FIELDS.iter().any(|kept| {
            field == *kept
                || field
                    .strip_prefix(kept)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// A history entry's changes with every personal before and after replaced by [`TOMBSTONE`]
/// (who, when, the kind and which fields changed stay). `None` when nothing needed replacing,
/// so a redelivered erasure writes nothing.
pub fn scrub_history(changes: &[FieldChange]) -> Option<Vec<FieldChange>> {
    let tombstone =
        |value: &Option<Value>| value.as_ref().map(|_| Value::String(TOMBSTONE.to_owned()));
    let mut changed = false;
    let scrubbed = changes
        .iter()
        .map(|change| {
            if kept_history_field(&change.field) {
                return change.clone();
            }
            let next = FieldChange {
                field: change.field.clone(),
                before: tombstone(&change.before),
                after: tombstone(&change.after),
            };
            changed |= next != *change;
            next
        })
        .collect();
    changed.then_some(scrubbed)
}

/// The erasure's own history entry names the fields it cleared, without their values.
pub fn without_values(kind: ChangeKind, changes: Vec<FieldChange>) -> Vec<FieldChange> {
    if kind != ChangeKind::Erased {
        return changes;
    }
    changes
        .into_iter()
        .map(|change| FieldChange {
            before: None,
            after: None,
            ..change
        })
        .collect()
}

/// Every personal value of a card as it was before erasure, for finding the customer's rows in
/// files the table does not structure (import files and error reports): e-mails, the
/// organisation number, address lines, the company name, phones as the digits of their
/// national number (files write phones in any format), and each person's name as first and
/// last name together ([`NAME_PARTS`] between them: a row must hold both, so that another
/// customer who shares only a first name keeps its rows). See [`mentions`].
pub fn personal_values(fields: &CustomerFields) -> Vec<String> {
    let mut values = Vec::new();
    let usable = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| v.chars().count() >= 3)
            .map(str::to_owned)
    };
    let mut name = |first: &Option<String>, last: &Option<String>| {
        let parts: Vec<String> = [usable(first), usable(last)]
            .into_iter()
            .flatten()
            .collect();
        if !parts.is_empty() {
            values.push(parts.join(&NAME_PARTS.to_string()));
        }
    };
    name(&fields.first_name, &fields.last_name);
    for contact in &fields.contacts {
        name(&contact.first_name, &contact.last_name);
    }
    let addresses = [&fields.invoice_address, &fields.visiting_address]
        .into_iter()
        .flatten()
        .flat_map(|a| [&a.line1, &a.line2]);
    let contact_emails = fields.contacts.iter().map(|c| &c.email);
    let singles = [
        &fields.company_name,
        &fields.email,
        &fields.invoice_email,
        &fields.organisation_number,
    ]
    .into_iter()
    .chain(addresses)
    .chain(contact_emails);
    values.extend(singles.filter_map(usable));
    let phones = [&fields.phone, &fields.mobile]
        .into_iter()
        .chain(fields.contacts.iter().flat_map(|c| [&c.phone, &c.mobile]));
    for phone in phones.flatten() {
        if let Some(digits) = national_digits(phone) {
            values.push(digits);
        }
    }
    values.sort();
    values.dedup();
    values
}

/// Separates the parts of a name in [`personal_values`]: every part must be in the line.
pub const NAME_PARTS: char = '\u{1f}';

/// The national significant number of an E.164 phone, as digits ("+46701234567" ->
/// "701234567"): what every written form of the number contains once its punctuation and
/// trunk prefix are ignored.
fn national_digits(e164: &str) -> Option<String> {
    let parsed = crate::phone_metadata::parse(None, e164).ok()?;
    let national = parsed.national().value().to_string();
    (national.len() >= 6).then_some(national)
}

/// Whether a line of text mentions any of `values`: names and e-mails case-insensitively,
/// phone digits in the line's digits with punctuation and spaces ignored.
pub fn mentions(line: &str, values: &[String]) -> bool {
    let lower = line.to_lowercase();
    let digits: String = line.chars().filter(char::is_ascii_digit).collect();
    values.iter().any(|value| {
        if value.chars().all(|c| c.is_ascii_digit()) {
            digits.contains(value.as_str())
        } else {
            value
                .split(NAME_PARTS)
                .all(|part| lower.contains(&part.to_lowercase()))
        }
    })
}

/// The lines of `text` (an error report, one line a row) that mention any of `values`, without
/// their line endings: what subject access shows of it.
pub fn lines_mentioning<'a>(text: &'a str, values: &[String]) -> Vec<&'a str> {
    text.lines().filter(|line| mentions(line, values)).collect()
}

/// `text` (an error report, an import file, one line a row) without the lines that mention
/// any of `values`, and how many went; `None` when none does. Line endings are kept.
pub fn without_mentions(text: &str, values: &[String]) -> Option<(String, usize)> {
    let mut removed = 0;
    let kept: String = text
        .split_inclusive('\n')
        .filter(|line| {
            let mentioned = mentions(line, values);
            removed += usize::from(mentioned);
            !mentioned
        })
        .collect();
    (removed > 0).then_some((kept, removed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, Contact, ContactId, CustomerInput, validate_customer};

    fn anna() -> Customer {
        let input: CustomerInput = serde_json::from_value(serde_json::json!({
            "customerNumber": "10001",
            "firstName": "Anna",
            "lastName": "Berg",
            "email": "anna.berg@example.com",
            "mobile": "+46 70 123 45 67",
            "visitingAddress": {"line1": "Storgatan 1", "postalCode": "11122", "city": "Stockholm", "country": "SE"},
            "terms": {"paymentType": "account", "currency": "SEK", "creditLimit": 5000000, "paymentTerms": "net30"},
            "tags": ["garden"],
        }))
        .unwrap();
        let mut fields = validate_customer(input, &Default::default()).unwrap();
        fields.contacts.push(Contact {
            id: ContactId::new(),
            first_name: Some("Bo".into()),
            last_name: Some("Lund".into()),
            role: None,
            email: Some("bo@example.com".into()),
            phone: None,
            phone_extension: None,
            mobile: Some("+46702222222".into()),
            primary: true,
            send_service_protocols: false,
            send_work_orders: false,
            sms_opt_out: false,
        });
        fields.invoice_address = Some(Address {
            line1: Some("Box 12".into()),
            ..Default::default()
        });
        Customer::new(fields, "alice", Utc::now())
    }

    #[test]
    fn an_erased_card_keeps_the_number_and_terms_and_nothing_personal() {
        let before = anna();
        let after = erased_card(&before, "dpo", Utc::now());
        assert!(after.is_erased());
        assert_eq!(after.status, CustomerStatus::Inactive);
        assert_eq!(after.fields.customer_number, "10001");
        assert_eq!(after.fields.terms, before.fields.terms);
        assert_eq!(after.fields.display_name(), ERASED_NAME);
        let json = serde_json::to_string(&after).unwrap();
        for value in personal_values(&before.fields) {
            assert!(!json.contains(&value), "{value} left in {json}");
        }
        for value in [
            "Anna",
            "Berg",
            "example.com",
            "Storgatan",
            "garden",
            "+4670",
        ] {
            assert!(!json.contains(value), "{value} left in {json}");
        }
    }

    #[test]
    fn history_keeps_who_when_which_field_and_non_personal_values() {
        let changes = vec![
            FieldChange {
                field: "/firstName".into(),
                before: Some("Anna".into()),
                after: Some("Anny".into()),
            },
            FieldChange {
                field: "/contacts/01J/email".into(),
                before: None,
                after: Some("bo@example.com".into()),
            },
            FieldChange {
                field: "/terms/creditLimit".into(),
                before: Some(1.into()),
                after: Some(2.into()),
            },
            FieldChange {
                field: "/sites/01J/status".into(),
                before: Some("active".into()),
                after: Some("inactive".into()),
            },
            FieldChange {
                field: "/statusNote".into(),
                before: Some("Anna".into()),
                after: None,
            },
        ];
        let scrubbed = scrub_history(&changes).expect("personal values to replace");
        assert_eq!(scrubbed[0].before, Some(TOMBSTONE.into()));
        assert_eq!(scrubbed[0].after, Some(TOMBSTONE.into()));
        assert_eq!(scrubbed[1].before, None, "absent stays absent");
        assert_eq!(scrubbed[1].after, Some(TOMBSTONE.into()));
        assert_eq!(scrubbed[2], changes[2]);
        assert_eq!(scrubbed[3], changes[3]);
        assert_eq!(
            scrubbed[4].before,
            Some(TOMBSTONE.into()),
            "a prefix is no match"
        );
        assert_eq!(
            scrub_history(&scrubbed),
            None,
            "scrubbing twice changes nothing"
        );
    }

    #[test]
    fn the_erasures_own_entry_names_fields_without_values() {
        let before = anna();
        let after = erased_card(&before, "dpo", Utc::now());
        let changes = without_values(ChangeKind::Erased, crate::history::diff(&before, &after));
        assert!(changes.iter().any(|c| c.field == "/firstName"));
        assert!(
            changes
                .iter()
                .all(|c| c.before.is_none() && c.after.is_none())
        );
    }

    #[test]
    fn rows_mentioning_the_customer_are_found_in_any_phone_format() {
        let values = personal_values(&anna().fields);
        assert!(mentions("10001;Anna;Berg;x", &values));
        assert!(mentions("x;ANNA.BERG@EXAMPLE.COM", &values));
        assert!(mentions("x;070-123 45 67", &values));
        assert!(mentions("x;+46 (0)70 222 22 22", &values));
        assert!(mentions("x;Bo;Lund;y", &values), "a contact's name");
        assert!(
            !mentions("10003;Anna;Ek", &values),
            "another Anna keeps her rows"
        );
        assert!(mentions("x;Box 12;y", &values), "an address line");
        assert!(!mentions(
            "10002;Carl;Ek;carl@example.org;08-555 12",
            &values
        ));
    }

    #[test]
    fn only_the_lines_mentioning_the_customer_go() {
        let values = personal_values(&anna().fields);
        let report = "line,code\r\n4,invalid_email: anna.berg@example.com\r\n5,required\r\n";
        let (kept, removed) = without_mentions(report, &values).unwrap();
        assert_eq!(kept, "line,code\r\n5,required\r\n");
        assert_eq!(removed, 1);
        assert_eq!(without_mentions(&kept, &values), None);
        assert_eq!(
            lines_mentioning(report, &values),
            ["4,invalid_email: anna.berg@example.com"],
            "subject access shows the lines erasure removes"
        );
    }
}
