//! Bulk changes in the single table: the bulk-change record (what was asked, by whom, how far
//! it got) and the transaction that applies one page of it. The API writes the record (with
//! the request's idempotency record); its insert on the table's stream starts the worker in
//! customers-cascade, which applies the change a page at a time.
//!
//! Why one transaction per page: the customers changed (each with its history entry and
//! assignment record, each on condition of the version it was read at) and the record's
//! progress (conditional on the record's version) commit together. A page redelivered after it
//! committed finds the record moved on and writes nothing; a page that failed half-way wrote
//! nothing, so its customers are counted once, by the attempt that commits.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::{CardChange, Customer, CustomerId, HistoryEntry, PaymentTerms, PaymentType, Tier};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::customers::{Cancelled, Failed, WriteSet};
use crate::items::{self, Item};
use crate::keys::{self, GSI1PK, GSI1SK, TenantId};
use crate::{
    Companion, CustomerStore, IdempotencyRecord, ListQuery, Page, Sort, StatusFilter, StoreError,
};

/// Ids one bulk change may name.
pub const BULK_IDS_MAX: usize = 1000;
/// Refused customers a record lists (all are counted): the record stays far below DynamoDB's
/// item size.
pub const REFUSED_LISTED_MAX: usize = 1000;
/// Customers per page at most: each writes up to three items (card, history entry,
/// assignment), the record one more, within a transaction's hundred.
pub const BULK_PAGE_MAX: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BulkStatus {
    /// Recorded; the worker has not written a page yet.
    Queued,
    Running,
    /// Every selected customer was judged: changed, unchanged or refused.
    Completed,
}

/// The customers a bulk change is for: these ids, or those a list with these filters shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Selection {
    Ids(Vec<CustomerId>),
    Filter(BulkFilter),
}

/// The filters of `GET /customers` (without paging and sorting), as a body names them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_type: Option<PaymentType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_terms: Option<PaymentTerms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_hold: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
}

impl BulkFilter {
    /// The list query of one page of the selection, oldest customers first (a stable order
    /// that no change of a bulk change moves a customer in).
    pub fn query(&self, limit: i32, cursor: Option<String>) -> ListQuery {
        ListQuery {
            sort: Sort::Created,
            status: self.status.unwrap_or_default(),
            descending: false,
            name_prefix: self.q.as_deref().map(domain::fold),
            payment_type: self.payment_type,
            payment_terms: self.payment_terms,
            tier: self
                .vip
                .map(|vip| if vip { Tier::Vip } else { Tier::Regular }),
            on_hold: self.on_hold,
            tag: self.tag.clone(),
            limit,
            cursor,
        }
    }
}

/// How many of the selected customers were changed, left as they were, or refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkTotals {
    /// Customers judged so far (all of them, once completed).
    pub selected: u64,
    pub changed: u64,
    /// Already as asked: nothing written.
    pub unchanged: u64,
    pub refused: u64,
}

/// Why a selected customer was not changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RefusalReason {
    /// No such customer in the caller's organisation.
    NotFound,
    /// The caller reaches only the customers they are assigned to, and not this one.
    OutOfReach,
    /// The card would hold more tags than allowed.
    TooManyTags,
    /// The customer kept changing while the bulk change tried to change it.
    Conflict,
    /// The requester's roles do not allow the change (any more) on this customer.
    Forbidden,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefusedCustomer {
    pub customer_id: CustomerId,
    pub reason: RefusalReason,
}

/// A bulk change: what was asked, by whom (the verified caller at request time: every
/// customer is judged with these roles), and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkChangeRecord {
    /// A ULID: bulk changes list newest first.
    pub id: String,
    pub status: BulkStatus,
    pub selection: Selection,
    pub change: CardChange,
    pub requested_by: String,
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub totals: BulkTotals,
    /// The first [`REFUSED_LISTED_MAX`] refused customers, in the order they were judged.
    #[serde(default)]
    pub refused: Vec<RefusedCustomer>,
    /// Where the next page starts: an offset into the ids, or the list's cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Pages written.
    #[serde(default)]
    pub pages: u32,
    pub version: u64,
}

impl BulkChangeRecord {
    /// Counts one refused customer (listing it while the list has room).
    pub fn refuse(&mut self, customer_id: CustomerId, reason: RefusalReason) {
        self.totals.refused += 1;
        if self.refused.len() < REFUSED_LISTED_MAX {
            self.refused.push(RefusedCustomer {
                customer_id,
                reason,
            });
        }
    }
}

/// One customer change of a page: the card as read, as it is to be written, its history entry
/// and what travels with it (an assignment record).
#[derive(Debug, Clone)]
pub struct CardWrite {
    pub before: Customer,
    pub after: Customer,
    pub history: HistoryEntry,
    pub companion: Option<Companion>,
}

/// Why a page was not written; nothing was.
#[derive(Debug)]
pub enum PageError {
    /// The record is no longer at the version read: another delivery wrote this page.
    Moved,
    /// These customers (indexes into the page's writes) changed since they were read.
    Changed(Vec<usize>),
    Store(StoreError),
}

impl CustomerStore {
    /// Records a bulk change, with the request's idempotency record if it sent a key
    /// (`StoreError::IdempotencyKeyUsed` when the key was used before).
    pub async fn put_bulk_change(
        &self,
        tenant: &TenantId,
        record: &BulkChangeRecord,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        self.transact_idempotent(
            tenant,
            vec![self.put_new(bulk_change_item(tenant, record))],
            idempotency,
        )
        .await
    }

    pub async fn bulk_change(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<BulkChangeRecord>, StoreError> {
        let item = self.get_item(keys::bulk_change(tenant, id)).await?;
        item.map(|item| from_item(item).map_err(StoreError::Corrupt))
            .transpose()
    }

    /// The tenant's bulk changes, newest first: one Query of GSI1.
    pub async fn bulk_changes(
        &self,
        tenant: &TenantId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<BulkChangeRecord>, StoreError> {
        self.newest_first(keys::bulk_changes_of(tenant), limit, cursor)
            .await
    }

    /// Writes one page: every card change with its history entry and companion, each on the
    /// version it was read at, and `record` (its progress after the page) on condition that
    /// the stored record is still at `record.version - 1`. All or nothing.
    pub async fn commit_bulk_page(
        &self,
        tenant: &TenantId,
        record: &BulkChangeRecord,
        changes: &[CardWrite],
    ) -> Result<(), PageError> {
        let mut set = WriteSet::default();
        let mut firsts = Vec::with_capacity(changes.len());
        for change in changes {
            firsts.push(set.len());
            let mut writes =
                self.replace_writes(tenant, &change.before, &change.after, &change.history);
            self.push_companion(
                &mut writes,
                tenant,
                &change.after,
                change.companion.as_ref(),
            );
            for write in writes.writes {
                set.push(write);
            }
        }
        let record_at = set.len();
        set.push(self.put_if_version(bulk_change_item(tenant, record), record.version - 1));
        match self.transact_set(&set, None).await {
            Ok(()) => Ok(()),
            Err(Cancelled(failed)) if failed.contains(&record_at) => Err(PageError::Moved),
            Err(Cancelled(failed)) => Err(PageError::Changed(
                failed
                    .iter()
                    .filter_map(|at| firsts.iter().rposition(|first| first <= at))
                    .collect(),
            )),
            Err(Failed(e)) => Err(PageError::Store(e)),
        }
    }
}

impl Companion {
    /// What travels with a change of one action: the assignment record of an assignment (by
    /// `by`, at `at`), the end of one for an unassignment; nothing for the others.
    pub fn of_change(change: &CardChange, by: &str, at: DateTime<Utc>) -> Option<Companion> {
        match change {
            CardChange::Assign(user) => Some(Companion::Assign {
                user: user.clone(),
                by: by.to_owned(),
                at,
            }),
            CardChange::Unassign(user) => Some(Companion::Unassign(user.clone())),
            _ => None,
        }
    }
}

fn bulk_change_item(tenant: &TenantId, record: &BulkChangeRecord) -> Item {
    let mut item: Item = to_item(record).expect("a bulk change always serialises");
    item.extend(items::keyed(
        keys::bulk_change(tenant, &record.id),
        BULK_CHANGE_ENTITY,
    ));
    item.insert(
        GSI1PK.into(),
        AttributeValue::S(keys::bulk_changes_of(tenant)),
    );
    item.insert(GSI1SK.into(), AttributeValue::S(record.id.clone()));
    item
}

/// The entity of a bulk-change record: the stream filter of customers-cascade's mapping
/// (infra/template.yaml) passes its inserts.
pub const BULK_CHANGE_ENTITY: &str = "BulkChange";
