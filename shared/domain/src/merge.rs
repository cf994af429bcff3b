//! Merging a duplicate card into the customer it duplicates (the survivor). What the API does
//! at once, in one transaction, is decided here: the survivor takes the duplicate's contacts,
//! tags, external references and assignees (and counts its sites); the duplicate becomes
//! `merged`, pointing at the survivor, and otherwise keeps its card as it was (its number,
//! organisation number, e-mails and phones stay its lookups, so they find the survivor through
//! it). The records that hang off the duplicate move afterwards, a page at a time
//! ([`crate::linked::Movable`], [`crate::linked::MERGE_ORDER`]).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::validation::CONTACTS_MAX;
use crate::{
    AccountingSystem, ChangeKind, Customer, CustomerId, CustomerStatus, ExternalRef, FieldChange,
    HistoryEntry, fold,
};

/// Why two cards may not be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeRefusal {
    /// A card cannot be merged into itself.
    SameCard,
    /// One of the two cards was merged already (into `into`).
    AlreadyMerged { id: CustomerId, into: CustomerId },
    /// The survivor takes the duplicate's live work: it must be active, as for any new link.
    SurvivorNotActive(CustomerStatus),
    /// The survivor would hold more contacts than a card may.
    TooManyContacts { total: usize },
    /// Both cards have a reference in these accounting systems (one per system per card).
    ExternalRefClash(Vec<AccountingSystem>),
}

/// The merge as it is written in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    pub survivor: Customer,
    pub duplicate: Customer,
    pub survivor_entry: HistoryEntry,
    pub duplicate_entry: HistoryEntry,
    /// The duplicate's external references the survivor takes over (their guards change hands).
    pub taken_refs: Vec<ExternalRef>,
    /// The duplicate's assignees the survivor did not have (their assignments change hands).
    pub moved_assignees: Vec<String>,
}

/// Whether `duplicate` may be merged into `survivor`.
pub fn may_merge(survivor: &Customer, duplicate: &Customer) -> Result<(), MergeRefusal> {
    if survivor.id == duplicate.id {
        return Err(MergeRefusal::SameCard);
    }
    for card in [duplicate, survivor] {
        if let Some(into) = &card.merged_into {
            return Err(MergeRefusal::AlreadyMerged {
                id: card.id.clone(),
                into: into.clone(),
            });
        }
    }
    if survivor.status != CustomerStatus::Active {
        return Err(MergeRefusal::SurvivorNotActive(survivor.status));
    }
    let total = survivor.fields.contacts.len() + duplicate.fields.contacts.len();
    if total > CONTACTS_MAX {
        return Err(MergeRefusal::TooManyContacts { total });
    }
    let clashes: Vec<AccountingSystem> = duplicate
        .fields
        .external_refs
        .iter()
        .map(|r| r.system)
        .filter(|system| {
            survivor
                .fields
                .external_refs
                .iter()
                .any(|r| r.system == *system)
        })
        .collect();
    if !clashes.is_empty() {
        return Err(MergeRefusal::ExternalRefClash(clashes));
    }
    Ok(())
}

/// Whether `duplicate` is merged into `survivor` already: asking again changes nothing.
pub fn is_merged_into(duplicate: &Customer, survivor: &CustomerId) -> bool {
    duplicate.status == CustomerStatus::Merged && duplicate.merged_into.as_ref() == Some(survivor)
}

/// Both cards after the merge, by `by` at `now`, with their history entries. Call
/// [`may_merge`] first.
pub fn merge_cards(
    survivor: &Customer,
    duplicate: &Customer,
    by: &str,
    now: DateTime<Utc>,
) -> Merge {
    let mut after = survivor.clone();
    let has_primary = after.fields.contacts.iter().any(|c| c.primary);
    for contact in &duplicate.fields.contacts {
        let mut contact = contact.clone();
        // The survivor keeps its primary contact; the duplicate's becomes one of the others.
        contact.primary &= !has_primary;
        after.fields.contacts.push(contact);
    }
    for tag in &duplicate.fields.tags {
        if !after.fields.tags.iter().any(|t| fold(t) == fold(tag)) {
            after.fields.tags.push(tag.clone());
        }
    }
    let taken_refs = duplicate.fields.external_refs.clone();
    after
        .fields
        .external_refs
        .extend(taken_refs.iter().cloned());
    let moved_assignees: Vec<String> = duplicate
        .assignees
        .iter()
        .filter(|user| !survivor.assignees.contains(user))
        .cloned()
        .collect();
    after.assignees.extend(moved_assignees.iter().cloned());
    after.sites_count += duplicate.sites_count;
    stamp(&mut after, survivor, by, now);

    let mut merged = duplicate.clone();
    merged.status = CustomerStatus::Merged;
    merged.merged_into = Some(survivor.id.clone());
    merged.assignees.clear();
    merged.sites_count = 0;
    stamp(&mut merged, duplicate, by, now);

    let mut survivor_entry = HistoryEntry::of(ChangeKind::DuplicateMerged, Some(survivor), &after);
    survivor_entry.changes.push(FieldChange {
        field: "/mergedFrom".into(),
        before: None,
        after: Some(json!(duplicate.id)),
    });
    let duplicate_entry = HistoryEntry::of(ChangeKind::MergedInto, Some(duplicate), &merged);
    Merge {
        survivor: after,
        duplicate: merged,
        survivor_entry,
        duplicate_entry,
        taken_refs,
        moved_assignees,
    }
}

fn stamp(card: &mut Customer, before: &Customer, by: &str, now: DateTime<Utc>) {
    card.version = before.version + 1;
    card.updated_at = now;
    card.updated_by = by.to_owned();
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
    }

    fn card(body: serde_json::Value) -> Customer {
        let input: crate::CustomerInput = serde_json::from_value(body).unwrap();
        let fields = crate::validate_customer(input, &Default::default()).unwrap();
        Customer::new(fields, "u", now())
    }

    fn pair() -> (Customer, Customer) {
        let mut survivor = card(json!({
            "customerNumber": "1", "companyName": "Acme",
            "contacts": [{"firstName": "Ann", "email": "ann@acme.example"}],
            "tags": ["Gold"],
            "externalRefs": [{"system": "visma", "id": "V1"}]
        }));
        survivor.assignees = vec!["tom".into()];
        survivor.sites_count = 2;
        let mut duplicate = card(json!({
            "customerNumber": "2", "companyName": "ACME AB",
            "contacts": [{"firstName": "Bo", "email": "bo@acme.example"}],
            "tags": ["gold", "North"],
            "externalRefs": [{"system": "quickbooks", "id": "Q7"}]
        }));
        duplicate.assignees = vec!["tom".into(), "eva".into()];
        duplicate.sites_count = 3;
        duplicate.version = 4;
        (survivor, duplicate)
    }

    #[test]
    fn the_survivor_takes_contacts_tags_references_assignees_and_sites() {
        let (survivor, duplicate) = pair();
        assert_eq!(may_merge(&survivor, &duplicate), Ok(()));
        let merge = merge_cards(&survivor, &duplicate, "alice", now());
        let after = &merge.survivor;
        assert_eq!(after.fields.contacts.len(), 2);
        assert_eq!(
            after.fields.contacts.iter().filter(|c| c.primary).count(),
            1,
            "the survivor keeps its one primary contact"
        );
        assert!(after.fields.contacts[0].primary);
        assert_eq!(after.fields.tags, ["Gold", "North"]);
        assert_eq!(after.fields.external_refs.len(), 2);
        assert_eq!(merge.taken_refs, duplicate.fields.external_refs);
        assert_eq!(after.assignees, ["tom", "eva"]);
        assert_eq!(merge.moved_assignees, ["eva"]);
        assert_eq!(after.sites_count, 5);
        assert_eq!(after.version, survivor.version + 1);
        assert_eq!(after.fields.customer_number, "1");
    }

    #[test]
    fn the_duplicate_is_merged_pointing_at_the_survivor_and_keeps_its_card() {
        let (survivor, duplicate) = pair();
        let merge = merge_cards(&survivor, &duplicate, "alice", now());
        let merged = &merge.duplicate;
        assert_eq!(merged.status, CustomerStatus::Merged);
        assert_eq!(merged.merged_into.as_ref(), Some(&survivor.id));
        assert_eq!(merged.version, 5);
        assert_eq!(
            merged.fields, duplicate.fields,
            "number and lookups stay as aliases"
        );
        assert!(merged.assignees.is_empty());
        assert_eq!(merged.sites_count, 0);
        assert!(is_merged_into(merged, &survivor.id));
        assert!(!is_merged_into(&duplicate, &survivor.id));
    }

    #[test]
    fn both_histories_say_who_merged_what_and_when() {
        let (survivor, duplicate) = pair();
        let merge = merge_cards(&survivor, &duplicate, "alice", now());
        for entry in [&merge.survivor_entry, &merge.duplicate_entry] {
            assert_eq!((entry.by.as_str(), entry.at), ("alice", now()));
        }
        assert_eq!(merge.survivor_entry.kind, ChangeKind::DuplicateMerged);
        let from = merge
            .survivor_entry
            .changes
            .iter()
            .find(|c| c.field == "/mergedFrom")
            .unwrap();
        assert_eq!(from.after, Some(json!(duplicate.id)));
        assert_eq!(merge.duplicate_entry.kind, ChangeKind::MergedInto);
        let fields: Vec<&str> = merge
            .duplicate_entry
            .changes
            .iter()
            .map(|c| c.field.as_str())
            .collect();
        assert!(
            fields.contains(&"/status") && fields.contains(&"/mergedInto"),
            "{fields:?}"
        );
    }

    #[test]
    fn a_survivor_without_contacts_takes_the_duplicates_primary_as_its_own() {
        let (mut survivor, duplicate) = pair();
        survivor.fields.contacts.clear();
        let merge = merge_cards(&survivor, &duplicate, "alice", now());
        assert!(merge.survivor.fields.contacts[0].primary);
    }

    #[test]
    fn what_may_not_be_merged() {
        let (survivor, duplicate) = pair();
        assert_eq!(may_merge(&survivor, &survivor), Err(MergeRefusal::SameCard));
        let merged = merge_cards(&survivor, &duplicate, "alice", now()).duplicate;
        assert_eq!(
            may_merge(&survivor, &merged),
            Err(MergeRefusal::AlreadyMerged {
                id: duplicate.id.clone(),
                into: survivor.id.clone()
            })
        );
        let mut inactive = survivor.clone();
        inactive.status = CustomerStatus::Inactive;
        assert_eq!(
            may_merge(&inactive, &duplicate),
            Err(MergeRefusal::SurvivorNotActive(CustomerStatus::Inactive))
        );
        let mut clash = duplicate.clone();
        clash.fields.external_refs = vec![ExternalRef {
            system: AccountingSystem::Visma,
            id: "V2".into(),
        }];
        assert_eq!(
            may_merge(&survivor, &clash),
            Err(MergeRefusal::ExternalRefClash(vec![
                AccountingSystem::Visma
            ]))
        );
        let mut crowded = duplicate.clone();
        crowded.fields.contacts = vec![duplicate.fields.contacts[0].clone(); CONTACTS_MAX];
        assert_eq!(
            may_merge(&survivor, &crowded),
            Err(MergeRefusal::TooManyContacts {
                total: CONTACTS_MAX + 1
            })
        );
    }

    #[test]
    fn an_inactive_duplicate_may_be_merged() {
        let (survivor, mut duplicate) = pair();
        duplicate.status = CustomerStatus::Inactive;
        assert_eq!(may_merge(&survivor, &duplicate), Ok(()));
    }
}
