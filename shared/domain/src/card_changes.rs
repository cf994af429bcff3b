//! Changes of a customer's card that are one action each: assign or unassign a user, add or
//! remove a tag, deactivate or reactivate. The single-customer routes (assign, unassign,
//! deactivate, reactivate) and the bulk changes (customers-cascade's `bulk`) judge and apply
//! them here, so that who may do which, to which customers, and what the change does to the
//! card is written once.
//!
//! A change that is already in place changes nothing ([`CardChange::apply`] leaves the card as
//! it is), so a retried or redelivered change writes no second history entry.

use serde::{Deserialize, Serialize};

use crate::field_permissions::{self, Refusal};
use crate::validation::{TAG_MAX, TAGS_MAX};
use crate::{ChangeKind, Customer, CustomerStatus, Grants, Permission, Reach, is_user_id};

/// One action on a card, as the API names it: `{"assign": "<userId>"}`, `{"addTag": "vip"}`,
/// `{"deactivate": true}`, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ChangeWire", into = "ChangeWire")]
pub enum CardChange {
    Assign(String),
    Unassign(String),
    AddTag(String),
    RemoveTag(String),
    Deactivate,
    Reactivate,
}

/// Why a caller may not make a change at all (before any customer is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// A permission the change needs (`assign`, `edit`).
    Missing(Permission),
    /// A guarded field the change sets (the status: `changeStatus`).
    Guarded(Refusal),
}

/// Why one customer was not changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NotChanged {
    /// Already as asked: nothing written.
    AlreadyDone,
    /// The caller reaches only assigned customers and is not assigned to this one.
    OutOfReach,
    /// Adding the tag would give the card more than [`TAGS_MAX`] tags.
    TooManyTags,
}

impl CardChange {
    /// What the history calls the change.
    pub fn kind(&self) -> ChangeKind {
        match self {
            CardChange::Assign(_) => ChangeKind::Assigned,
            CardChange::Unassign(_) => ChangeKind::Unassigned,
            CardChange::AddTag(_) | CardChange::RemoveTag(_) => ChangeKind::Updated,
            CardChange::Deactivate => ChangeKind::Deactivated,
            CardChange::Reactivate => ChangeKind::Reactivated,
        }
    }

    /// How far the caller reaches for this change, or why they may not make it at all:
    /// assignments need `assign` (which reaches every customer); tags need `edit` (every
    /// customer) or `editAssigned` (their own); the status needs `changeStatus` on top of
    /// either.
    pub fn reach(&self, grants: &Grants) -> Result<Reach, Denied> {
        match self {
            CardChange::Assign(_) | CardChange::Unassign(_) => grants
                .require(Permission::Assign)
                .map(|()| Reach::All)
                .map_err(Denied::Missing),
            CardChange::AddTag(_) | CardChange::RemoveTag(_) => {
                grants.edit_reach().map_err(Denied::Missing)
            }
            CardChange::Deactivate | CardChange::Reactivate => {
                field_permissions::refused_field(grants, field_permissions::STATUS)
                    .map_err(Denied::Guarded)?;
                grants.edit_reach().map_err(Denied::Missing)
            }
        }
    }

    /// Makes the change on `customer`; `Err` when it cannot be made. A change already in place
    /// leaves the card equal to what it was.
    pub fn apply(&self, customer: &mut Customer) -> Result<(), NotChanged> {
        match self {
            CardChange::Assign(user) => {
                if !customer.assignees.contains(user) {
                    customer.assignees.push(user.clone());
                }
            }
            CardChange::Unassign(user) => customer.assignees.retain(|a| a != user),
            CardChange::AddTag(tag) => {
                let tags = &mut customer.fields.tags;
                // Tags are one tag whatever their case, as validation has it.
                if !tags.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
                    if tags.len() >= TAGS_MAX {
                        return Err(NotChanged::TooManyTags);
                    }
                    tags.push(tag.clone());
                }
            }
            CardChange::RemoveTag(tag) => {
                let tag = tag.to_lowercase();
                customer.fields.tags.retain(|t| t.to_lowercase() != tag);
            }
            CardChange::Deactivate => customer.status = CustomerStatus::Inactive,
            CardChange::Reactivate => customer.status = CustomerStatus::Active,
        }
        Ok(())
    }

    /// One customer judged and changed: the card as it is to be written, or why it is not
    /// (out of reach, already as asked, not possible). `user` is the caller; `reach` what
    /// [`CardChange::reach`] answered for them.
    pub fn decide(
        &self,
        reach: Reach,
        user: &str,
        current: &Customer,
    ) -> Result<Customer, NotChanged> {
        if !reach.admits(current, user) {
            return Err(NotChanged::OutOfReach);
        }
        let mut next = current.clone();
        self.apply(&mut next)?;
        if next == *current {
            return Err(NotChanged::AlreadyDone);
        }
        Ok(next)
    }
}

/// A change as JSON carries it: an object with exactly one member.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChangeWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    assign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unassign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    add_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remove_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deactivate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reactivate: Option<bool>,
}

impl TryFrom<ChangeWire> for CardChange {
    type Error = String;

    fn try_from(wire: ChangeWire) -> Result<Self, String> {
        let mut changes = Vec::new();
        if let Some(user) = wire.assign {
            changes.push(CardChange::Assign(user_id(user)?));
        }
        if let Some(user) = wire.unassign {
            changes.push(CardChange::Unassign(user_id(user)?));
        }
        if let Some(tag) = wire.add_tag {
            changes.push(CardChange::AddTag(tag_of(tag)?));
        }
        if let Some(tag) = wire.remove_tag {
            changes.push(CardChange::RemoveTag(tag_of(tag)?));
        }
        for (flag, change, name) in [
            (wire.deactivate, CardChange::Deactivate, "deactivate"),
            (wire.reactivate, CardChange::Reactivate, "reactivate"),
        ] {
            match flag {
                Some(true) => changes.push(change),
                Some(false) => return Err(format!("{name} is true or left out")),
                None => {}
            }
        }
        match <[CardChange; 1]>::try_from(changes) {
            Ok([change]) => Ok(change),
            Err(_) => Err(
                "a change names exactly one of assign, unassign, addTag, removeTag, \
                 deactivate, reactivate"
                    .into(),
            ),
        }
    }
}

impl From<CardChange> for ChangeWire {
    fn from(change: CardChange) -> Self {
        let mut wire = ChangeWire::default();
        match change {
            CardChange::Assign(user) => wire.assign = Some(user),
            CardChange::Unassign(user) => wire.unassign = Some(user),
            CardChange::AddTag(tag) => wire.add_tag = Some(tag),
            CardChange::RemoveTag(tag) => wire.remove_tag = Some(tag),
            CardChange::Deactivate => wire.deactivate = Some(true),
            CardChange::Reactivate => wire.reactivate = Some(true),
        }
        wire
    }
}

fn user_id(user: String) -> Result<String, String> {
    if is_user_id(&user) {
        Ok(user)
    } else {
        Err("a user id is 1 to 128 printable characters without '#'".into())
    }
}

/// A tag as validation keeps it: at most [`TAG_MAX`] characters as sent, trimmed, not empty.
fn tag_of(tag: String) -> Result<String, String> {
    let too_long = tag.chars().count() > TAG_MAX;
    let tag = tag.trim();
    if tag.is_empty() || too_long || tag.chars().any(char::is_control) {
        return Err(format!(
            "a tag is 1 to {TAG_MAX} characters, not blank, without control characters"
        ));
    }
    Ok(tag.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    fn customer() -> Customer {
        let input: crate::CustomerInput = serde_json::from_value(
            json!({"customerNumber": "1", "companyName": "Acme", "tags": ["Boiler"]}),
        )
        .unwrap();
        let fields = crate::validate_customer(input, &Default::default()).unwrap();
        Customer::new(fields, "ada", Utc::now())
    }

    fn change(json: serde_json::Value) -> Result<CardChange, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_change_reads_and_writes_as_one_member() {
        for (wire, change_) in [
            (json!({"assign": "tom"}), CardChange::Assign("tom".into())),
            (
                json!({"unassign": "tom"}),
                CardChange::Unassign("tom".into()),
            ),
            (json!({"addTag": "vip"}), CardChange::AddTag("vip".into())),
            (
                json!({"removeTag": "vip"}),
                CardChange::RemoveTag("vip".into()),
            ),
            (json!({"deactivate": true}), CardChange::Deactivate),
            (json!({"reactivate": true}), CardChange::Reactivate),
        ] {
            assert_eq!(change(wire.clone()), Ok(change_.clone()));
            assert_eq!(serde_json::to_value(&change_).unwrap(), wire);
        }
        assert_eq!(
            change(json!({"addTag": "  vip "})),
            Ok(CardChange::AddTag("vip".into()))
        );
    }

    #[test]
    fn a_change_of_none_or_two_or_bad_values_is_refused() {
        for wire in [
            json!({}),
            json!({"assign": "tom", "addTag": "vip"}),
            json!({"deactivate": false}),
            json!({"assign": "a#b"}),
            json!({"addTag": "   "}),
            json!({"addTag": "x".repeat(TAG_MAX + 1)}),
            json!({"rename": "x"}),
        ] {
            assert!(change(wire.clone()).is_err(), "{wire}");
        }
    }

    #[test]
    fn assignments_need_assign_and_reach_every_customer() {
        let assign = CardChange::Assign("tom".into());
        let coordinator = Grants::of_roles(&["coordinator"]);
        assert_eq!(assign.reach(&coordinator), Ok(Reach::All));
        let technician = Grants::of_roles(&["technician"]);
        assert_eq!(
            assign.reach(&technician),
            Err(Denied::Missing(Permission::Assign))
        );
    }

    #[test]
    fn tags_need_edit_and_technicians_reach_only_their_customers() {
        let tag = CardChange::AddTag("vip".into());
        let technician = Grants::of_roles(&["technician"]);
        assert_eq!(tag.reach(&technician), Ok(Reach::Assigned));
        let mut card = customer();
        assert_eq!(
            tag.decide(Reach::Assigned, "tom", &card),
            Err(NotChanged::OutOfReach)
        );
        card.assignees.push("tom".into());
        let next = tag.decide(Reach::Assigned, "tom", &card).unwrap();
        assert_eq!(next.fields.tags, ["Boiler", "vip"]);
        assert_eq!(
            tag.reach(&Grants::of_roles(&["guest"])),
            Err(Denied::Missing(Permission::Edit))
        );
    }

    #[test]
    fn the_status_needs_change_status_on_top_of_edit() {
        let technician = Grants::of_roles(&["technician"]);
        let Err(Denied::Guarded(refusal)) = CardChange::Deactivate.reach(&technician) else {
            panic!("technicians may not change the status");
        };
        assert_eq!(refusal.permission(), Permission::ChangeStatus);
        let admin = Grants::of_roles(&["administrator"]);
        assert_eq!(CardChange::Reactivate.reach(&admin), Ok(Reach::All));
    }

    #[test]
    fn a_change_in_place_changes_nothing() {
        let card = customer();
        for already in [
            CardChange::AddTag("BOILER".into()),
            CardChange::RemoveTag("absent".into()),
            CardChange::Unassign("tom".into()),
            CardChange::Reactivate,
        ] {
            assert_eq!(
                already.decide(Reach::All, "ada", &card),
                Err(NotChanged::AlreadyDone),
                "{already:?}"
            );
        }
        let next = CardChange::RemoveTag("boiler".into())
            .decide(Reach::All, "ada", &card)
            .unwrap();
        assert!(next.fields.tags.is_empty());
        let assigned = CardChange::Assign("tom".into())
            .decide(Reach::All, "ada", &card)
            .unwrap();
        assert_eq!(assigned.assignees, ["tom"]);
        assert_eq!(
            CardChange::Assign("tom".into()).decide(Reach::All, "ada", &assigned),
            Err(NotChanged::AlreadyDone)
        );
        let inactive = CardChange::Deactivate
            .decide(Reach::All, "ada", &card)
            .unwrap();
        assert_eq!(inactive.status, CustomerStatus::Inactive);
    }

    #[test]
    fn a_card_takes_no_tag_beyond_the_limit() {
        let mut card = customer();
        card.fields.tags = (0..TAGS_MAX).map(|i| format!("t{i}")).collect();
        assert_eq!(
            CardChange::AddTag("one more".into()).decide(Reach::All, "ada", &card),
            Err(NotChanged::TooManyTags)
        );
        assert_eq!(
            CardChange::AddTag("T1".into()).decide(Reach::All, "ada", &card),
            Err(NotChanged::AlreadyDone)
        );
    }
}
