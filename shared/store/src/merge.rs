//! A merge in the table: the API's one transaction (both cards, both history entries, the
//! survivor's new lookups, the external-reference guards and assignments changing hands), and
//! the pages that move the duplicate's records to the survivor afterwards, each record deleted
//! under the duplicate at the version it was read at and put under the survivor with its id
//! kept, on condition that the duplicate is merged into that survivor.

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use domain::{Customer, CustomerId, HistoryEntry, Merge, Movable, StockLine};

use crate::customers::{Cancelled, Failed, Guarded};
use crate::items::{self, CUSTOMER_ID};
use crate::keys::{self, TenantId};
use crate::work::{STOCK_QUANTITY, STOCK_TICKETS};
use crate::{Assignment, CustomerStore, StoreError, Stored};

/// DynamoDB's limit of items in one transaction: a merge that needs more (many contacts, each
/// with its lookup entries, and many assignees) is refused before it is sent.
pub const MERGE_TRANSACTION_ITEMS: usize = 100;

/// What stopped a page of a merge's moves.
#[derive(Debug)]
pub enum MoveError {
    /// The duplicate is not (or no longer) merged into that survivor: nothing to move.
    NotMerged,
    /// A record changed since it was read: read the page again.
    Changed,
    Store(StoreError),
}

impl CustomerStore {
    /// Writes a merge (see `domain::merge_cards`) in one transaction, on condition that both
    /// cards are still at the versions they were read at: VersionConflict otherwise,
    /// `Ok(false)` when it would not fit in one transaction.
    pub async fn merge(
        &self,
        tenant: &TenantId,
        survivor: &Customer,
        duplicate: &Customer,
        merge: &Merge,
    ) -> Result<bool, StoreError> {
        // The guards of the taken references change hands below, in place: the replace must
        // not put them again (one item may appear once in a transaction), so it is computed
        // as if the survivor had them already.
        let mut before = survivor.clone();
        before
            .fields
            .external_refs
            .extend(merge.taken_refs.iter().cloned());
        let mut set = self.replace_writes(tenant, &before, &merge.survivor, &merge.survivor_entry);
        set.append(self.replace_writes(
            tenant,
            duplicate,
            &merge.duplicate,
            &merge.duplicate_entry,
        ));
        for external in &merge.taken_refs {
            let item = items::external_ref_guard_item(tenant, external, &survivor.id);
            set.push_conditional(self.put_owned_by(item, &duplicate.id), Guarded::ExternalRef);
        }
        for user in &duplicate.assignees {
            set.push(self.delete(keys::assignment(tenant, &duplicate.id, user)));
        }
        for user in &merge.moved_assignees {
            let assignment = Assignment {
                tenant_id: tenant.as_str().to_owned(),
                customer_id: survivor.id.clone(),
                customer_number: merge.survivor.fields.customer_number.clone(),
                customer_name: merge.survivor.fields.display_name(),
                user_id: user.clone(),
                assigned_by: merge.survivor.updated_by.clone(),
                assigned_at: merge.survivor.updated_at,
            };
            set.push(self.put(items::assignment_item(tenant, &assignment)));
        }
        if set.len() > MERGE_TRANSACTION_ITEMS {
            return Ok(false);
        }
        match self.transact_set(&set, None).await {
            Ok(()) => Ok(true),
            // A reference guard no longer the duplicate's means the duplicate changed too.
            Err(Cancelled(failed)) => match set.failed(&failed) {
                Some(Guarded::ExternalRef) => Err(StoreError::VersionConflict),
                failure => Err(Guarded::error(failure)),
            },
            Err(Failed(e)) => Err(e),
        }
    }

    /// Moves records of one kind from `from` (merged into `to`) to `to`: each `(version read,
    /// record as moved)` is deleted under `from` at that version and put under `to`, with
    /// `history` in both cards' histories, in one transaction (at most 48 records).
    pub async fn move_for_merge<T: Stored + Movable>(
        &self,
        tenant: &TenantId,
        from: &CustomerId,
        to: &CustomerId,
        moved: &[(u64, T)],
        history: &HistoryEntry,
    ) -> Result<(), MoveError> {
        let mut writes = self.merge_page_writes(tenant, from, to, history);
        for (version, record) in moved {
            let old = T::key(tenant, from, record.id());
            writes.push(if T::VERSIONED {
                self.delete_at_version(old, *version)
            } else {
                self.delete_existing(old)
            });
            writes.push(self.put_new(record.item(tenant)));
        }
        self.move_transaction(writes).await
    }

    /// Moves inventory lines from `from` to `to` as [`CustomerStore::move_for_merge`] moves
    /// records: each line is deleted under `from` if it still holds what was read and added to
    /// the survivor's line (ADD: a line the survivor has too adds up).
    pub async fn move_stock_for_merge(
        &self,
        tenant: &TenantId,
        from: &CustomerId,
        to: &CustomerId,
        lines: &[StockLine],
        history: &HistoryEntry,
    ) -> Result<(), MoveError> {
        let mut writes = self.merge_page_writes(tenant, from, to, history);
        for line in lines {
            let delete = Delete::builder()
                .table_name(self.table())
                .set_key(Some(items::key_of(keys::stock_line(
                    tenant, from, &line.key,
                ))))
                .condition_expression("#q = :q AND #t = :t")
                .expression_attribute_names("#q", STOCK_QUANTITY)
                .expression_attribute_names("#t", STOCK_TICKETS)
                .expression_attribute_values(":q", AttributeValue::N(line.quantity.0.to_string()))
                .expression_attribute_values(":t", AttributeValue::N(line.tickets.to_string()))
                .build()
                .expect("table, key and condition are set");
            writes.push(TransactWriteItem::builder().delete(delete).build());
            writes.push(self.add_stock_line(tenant, to, line));
        }
        self.move_transaction(writes).await
    }

    /// The condition on the duplicate and the page's entry in both histories.
    fn merge_page_writes(
        &self,
        tenant: &TenantId,
        from: &CustomerId,
        to: &CustomerId,
        history: &HistoryEntry,
    ) -> Vec<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(keys::customer(tenant, from))))
            .condition_expression("#status = :merged AND #into = :to")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#into", "mergedInto")
            .expression_attribute_values(":merged", AttributeValue::S("merged".into()))
            .expression_attribute_values(":to", AttributeValue::S(to.0.clone()))
            .build()
            .expect("table, key and condition are set");
        vec![
            TransactWriteItem::builder().condition_check(check).build(),
            self.put(items::history_item(tenant, from, history)),
            self.put(items::history_item(tenant, to, history)),
        ]
    }

    async fn move_transaction(&self, writes: Vec<TransactWriteItem>) -> Result<(), MoveError> {
        match self.transact(writes, None).await {
            Ok(()) => Ok(()),
            Err(Cancelled(failed)) if failed.contains(&0) => Err(MoveError::NotMerged),
            Err(Cancelled(_)) => Err(MoveError::Changed),
            Err(Failed(e)) => Err(MoveError::Store(e)),
        }
    }

    /// Puts a guard for its new owner if it still belongs to `owner`.
    fn put_owned_by(&self, item: items::Item, owner: &CustomerId) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("#id = :owner")
            .expression_attribute_names("#id", CUSTOMER_ID)
            .expression_attribute_values(":owner", AttributeValue::S(owner.0.clone()))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    fn delete_existing(&self, key: keys::Key) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(key)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }

    /// A line added to the customer's line of the same site, unit and material (made if new).
    fn add_stock_line(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        line: &StockLine,
    ) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(keys::stock_line(
                tenant, customer, &line.key,
            ))))
            .update_expression(
                "SET #entity = :entity, customerId = :customer, siteId = :site, #unit = :unit, \
                 material = :material, updatedAt = :at ADD #q :q, #t :t",
            )
            .expression_attribute_names("#entity", keys::ENTITY)
            .expression_attribute_names("#unit", "unit")
            .expression_attribute_names("#q", STOCK_QUANTITY)
            .expression_attribute_names("#t", STOCK_TICKETS)
            .expression_attribute_values(":entity", AttributeValue::S("StockLine".into()))
            .expression_attribute_values(":customer", AttributeValue::S(customer.0.clone()))
            .expression_attribute_values(":site", AttributeValue::S(line.key.site_id.clone()))
            .expression_attribute_values(":unit", AttributeValue::S(line.key.unit.clone()))
            .expression_attribute_values(":material", AttributeValue::S(line.key.material.clone()))
            .expression_attribute_values(":at", AttributeValue::S(line.updated_at.to_rfc3339()))
            .expression_attribute_values(":q", AttributeValue::N(line.quantity.0.to_string()))
            .expression_attribute_values(":t", AttributeValue::N(line.tickets.to_string()))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }
}
