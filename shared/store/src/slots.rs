//! Import slots: how many invocations work on one organisation's imports at once. The import
//! function has a few concurrent executions for every organisation together; without a bound
//! per organisation, one that drops fifty files takes them all and another's ten-row file
//! waits behind the fifty. Each slot is one item; holding it is a conditional write, so the
//! bound holds across every running invocation. See docs/imports.md ("Fair turns").

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put};
use chrono::{DateTime, Utc};

use crate::items::{self, Item};
use crate::keys::SLOT_PREFIX;
use crate::keys::{self, TenantId};
use crate::{CustomerStore, StoreError};

/// A slot this invocation holds until it releases it or `held_until` passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSlot {
    pub tenant: TenantId,
    pub number: u32,
    /// Unique to this holding: a release never frees a slot someone took over since.
    pub holder: String,
}

/// What an invocation asks a slot for.
#[derive(Debug, Clone)]
pub struct Turn<'a> {
    /// The file's key and ETag (see the import function's `turns::work_of`): a slot held for
    /// the same work can be taken over.
    pub work: &'a str,
    /// Unique to this holding (a new id per invocation).
    pub holder: &'a str,
    /// How many slots the organisation has.
    pub slots: u32,
    pub now: DateTime<Utc>,
    /// When the holding lapses if never released: the invocation's deadline.
    pub held_until: DateTime<Utc>,
}

const WORK: &str = "work";
const HOLDER: &str = "holder";
const HELD_UNTIL: &str = "heldUntil";
/// A slot item outlives its last holding by a day, then DynamoDB's TTL removes it.
const KEPT_AFTER_HOLDING: i64 = 24 * 60 * 60;

impl CustomerStore {
    /// Takes one of the organisation's `slots` for `work` (the import's object key) until
    /// `held_until`: a slot nobody holds, one whose holding expired (an invocation that died),
    /// or one held for the same work (the import's previous invocation, which handed over as
    /// its last act). `None` when every slot is held for other work.
    pub async fn take_import_slot(
        &self,
        tenant: &TenantId,
        turn: &Turn<'_>,
    ) -> Result<Option<ImportSlot>, StoreError> {
        // One strongly consistent read of the few slot items decides; only a slot that looks
        // takeable is written (conditionally), so a message that must wait costs one read.
        let held = self
            .query_partition(keys::import_slots_of(tenant), None, 100, None, true)
            .await?
            .items;
        let Some(number) = takeable(&held, turn) else {
            return Ok(None);
        };
        let taken = self.hold(tenant, number, turn).await?;
        Ok(taken.then(|| ImportSlot {
            tenant: tenant.clone(),
            number,
            holder: turn.holder.to_owned(),
        }))
    }

    /// Frees the slot unless it was taken over meanwhile (its holding had expired).
    pub async fn release_import_slot(&self, slot: &ImportSlot) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(keys::import_slot(
                &slot.tenant,
                slot.number,
            ))))
            .condition_expression("#holder = :holder")
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_values(":holder", AttributeValue::S(slot.holder.clone()))
            .build()
            .expect("table and key are set");
        // Refused: taken over meanwhile, nothing to free.
        self.conditional_write(self.requests().delete_item(delete).await, 1.0)?;
        Ok(())
    }

    /// One conditional PutItem on slot `number`; false when another work holds it.
    async fn hold(
        &self,
        tenant: &TenantId,
        number: u32,
        turn: &Turn<'_>,
    ) -> Result<bool, StoreError> {
        let Turn {
            work,
            holder,
            now,
            held_until,
            ..
        } = *turn;
        let mut item = items::keyed(keys::import_slot(tenant, number), "ImportSlot");
        item.insert(WORK.into(), AttributeValue::S(work.to_owned()));
        item.insert(HOLDER.into(), AttributeValue::S(holder.to_owned()));
        item.insert(
            HELD_UNTIL.into(),
            AttributeValue::N(held_until.timestamp_millis().to_string()),
        );
        item.insert(
            keys::EXPIRES_AT.into(),
            AttributeValue::N((held_until.timestamp() + KEPT_AFTER_HOLDING).to_string()),
        );
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR #until < :now OR #work = :work")
            .expression_attribute_names("#until", HELD_UNTIL)
            .expression_attribute_names("#work", WORK)
            .expression_attribute_values(
                ":now",
                AttributeValue::N(now.timestamp_millis().to_string()),
            )
            .expression_attribute_values(":work", AttributeValue::S(work.to_owned()))
            .build()
            .expect("table and item are set");
        let held = self.conditional_write(self.requests().put_item(put).await, 1.0)?;
        Ok(held.is_some())
    }
}

/// The first of the turn's slots that no other work holds right now, read from the slot items.
fn takeable(held: &[Item], turn: &Turn<'_>) -> Option<u32> {
    let now = turn.now.timestamp_millis();
    let busy = |number: u32| {
        held.iter().any(|item| {
            let sk = format!("{SLOT_PREFIX}{number}");
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
            let until = item
                .get(HELD_UNTIL)
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(0);
            text(keys::SK).is_some_and(|s| *s == sk)
                && until >= now
                && text(WORK).is_some_and(|w| w != turn.work)
        })
    };
    (0..turn.slots.max(1)).find(|number| !busy(*number))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn<'a>(work: &'a str, now: DateTime<Utc>) -> Turn<'a> {
        Turn {
            work,
            holder: "me",
            slots: 2,
            now,
            held_until: now + chrono::Duration::minutes(5),
        }
    }

    fn slot(number: u32, work: &str, until: DateTime<Utc>) -> Item {
        let tenant = TenantId::parse("acme").unwrap();
        let mut item = items::keyed(keys::import_slot(&tenant, number), "ImportSlot");
        item.insert(WORK.into(), AttributeValue::S(work.into()));
        item.insert(
            HELD_UNTIL.into(),
            AttributeValue::N(until.timestamp_millis().to_string()),
        );
        item
    }

    #[test]
    fn the_first_free_slot_is_taken() {
        let now = Utc::now();
        let later = now + chrono::Duration::minutes(1);
        assert_eq!(takeable(&[], &turn("a.csv", now)), Some(0));
        assert_eq!(
            takeable(&[slot(0, "b.csv", later)], &turn("a.csv", now)),
            Some(1)
        );
    }

    #[test]
    fn every_slot_held_by_other_work_means_waiting() {
        let now = Utc::now();
        let later = now + chrono::Duration::minutes(1);
        let held = [slot(0, "b.csv", later), slot(1, "c.csv", later)];
        assert_eq!(takeable(&held, &turn("a.csv", now)), None);
    }

    #[test]
    fn a_lapsed_holding_or_one_for_the_same_work_can_be_taken_over() {
        let now = Utc::now();
        let later = now + chrono::Duration::minutes(1);
        let earlier = now - chrono::Duration::seconds(1);
        let lapsed = [slot(0, "b.csv", later), slot(1, "c.csv", earlier)];
        assert_eq!(takeable(&lapsed, &turn("a.csv", now)), Some(1));
        let mine = [slot(0, "b.csv", later), slot(1, "a.csv", later)];
        assert_eq!(takeable(&mine, &turn("a.csv", now)), Some(1));
    }

    #[test]
    fn slots_beyond_the_organisations_number_do_not_count() {
        let now = Utc::now();
        let later = now + chrono::Duration::minutes(1);
        let held = [slot(0, "b.csv", later), slot(1, "c.csv", later)];
        let one_slot = Turn {
            slots: 1,
            ..turn("a.csv", now)
        };
        assert_eq!(takeable(&held[..1], &one_slot), None);
    }
}
