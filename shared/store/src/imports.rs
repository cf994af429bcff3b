//! CSV imports in the single table: the import record (status, progress, checkpoint), the
//! guard that makes one S3 delivery start one import, the chunks of the error report, the
//! lanes, and the transaction that applies a block of rows.
//!
//! Why blocks and lanes: rows for different customers are independent, so an invocation keeps
//! up to [`IMPORT_LANES`] block transactions in flight, one per lane. A block's transaction
//! writes its customers, its error-report chunk and its lane, which names the block (where its
//! rows lie in the file, what they counted) on the condition that the lane still belongs to
//! this invocation. So a block and the proof that it was written commit together: an
//! invocation that dies anywhere leaves each block whole or absent. After each round of
//! blocks the record takes in what they counted and moves its checkpoint over the rows done
//! in a row; a block that committed beyond a refused one is kept as done ahead.
//!
//! An invocation takes an import over ([`CustomerStore::take_over_import`]) by moving the
//! record's version and every lane to a new epoch in one transaction: an older invocation's
//! blocks still in flight fail their lane's condition from then on, and the blocks it did
//! commit are read back from the lanes and counted once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use domain::{Customer, CustomerId, ExternalRef, HistoryEntry};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{
    from_attribute_value, from_item, to_attribute_value, to_item,
};

use crate::customers::{Cancelled, Failed, Guarded, WriteSet};
use crate::items::{self, Item};
use crate::keys::{self, GSI1PK, GSI1SK, PK, SK, TenantId};
use crate::{CustomerStore, IdempotencyRecord, MAX_PAGE, Page, StoreError, capacity};

/// DynamoDB's limit of items in one TransactWriteItems.
pub const TRANSACTION_ITEMS: usize = 100;
/// Items of a block transaction that are not customer writes: its lane and one error-report
/// chunk.
pub const CHUNK_OVERHEAD: usize = 2;
/// Block transactions of one import in flight at once, each on its own lane. A round of
/// blocks takes about one transaction's latency, whatever the number of lanes: 32 blocks of
/// up to 49 new customers each keep DynamoDB, not the round trips, the limit.
pub const IMPORT_LANES: usize = 32;
/// The fewest bytes a row of a file takes, for the lanes a file can use: every take-over
/// writes each lane, so a ten-row file is not charged for 32.
const ROW_BYTES_AT_LEAST: u64 = 40;
/// The most rows of a block that writes them: every written row takes two items at least (a
/// new customer's card and number guard; a changed card and its history entry), 98 of a
/// block's 100 beside its lane and error chunk. Unchanged and failed rows take none, so a
/// block of them is longer, but it is the written rows that want lanes side by side.
const BLOCK_ROWS_AT_MOST: u64 = 49;
/// How long an upload URL's import waits for its file before the record expires.
const AWAITING_UPLOAD_TTL_SECONDS: i64 = 24 * 3600;
/// A lane's epoch (the version of the record that took the import over) and its last block.
const EPOCH: &str = "epoch";
const BLOCK: &str = "block";
/// BatchGetItem takes at most 100 keys.
const BATCH_GET_KEYS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportStatus {
    /// An upload URL was handed out; the file has not arrived yet.
    AwaitingUpload,
    Running,
    /// Every row was read; some may have failed (see `counts.failed` and the error report).
    Completed,
    /// The file as a whole could not be imported (`failure` says why).
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportSource {
    /// Requested through the API, uploaded to the presigned URL.
    Api,
    /// Dropped straight into the bucket under the tenant's prefix.
    Bucket,
}

/// What became of the rows read so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportCounts {
    pub rows_read: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows reported in the error report (invalid, or a repeat of an earlier row).
    pub failed: u64,
    /// Rows created (or, in a dry run, that would be) with neither a customer number nor an
    /// external reference in the file: importing the file again creates them again.
    #[serde(default)]
    pub without_key: u64,
    /// Numbers of guessed phone columns that no row's country reads, left out of rows that
    /// were imported (or, in a dry run, would be).
    #[serde(default)]
    pub phones_left_out: u64,
    /// The line of the first of them, for the import's warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_phone_left_out: Option<u64>,
    /// Rows created (or, in a dry run, that would be) although an existing customer has the
    /// same e-mail, phone or mobile: each is a line of the error report, `possible_duplicate`.
    #[serde(default)]
    pub possible_duplicates: u64,
}

/// What the caller asked of a file when requesting its upload: a column mapping that
/// overrides the import's guess (header name -> field name or `ignore`, as the import crate's
/// `ColumnOverride` reads them), and a dry run, which reads and validates everything and
/// writes no customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRequest {
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub mapping: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

impl ImportRequest {
    pub fn is_plain(&self) -> bool {
        *self == ImportRequest::default()
    }
}

/// Where the next invocation continues: the byte offset and line of the next unread record
/// of the file, and what the reader learnt from the header (opaque to the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportCheckpoint {
    pub offset: u64,
    pub line: u64,
    pub header: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRecord {
    /// A ULID: imports list newest first.
    pub id: String,
    pub status: ImportStatus,
    pub source: ImportSource,
    /// The object's key in the imports bucket.
    pub object_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// The user who asked for the upload URL; none for files dropped into the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(default)]
    pub counts: ImportCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<ImportCheckpoint>,
    /// Blocks written beyond the checkpoint, while rows before them are still to be written
    /// (refused by a concurrent change, or in flight when an invocation ended): a resumed
    /// import skips their rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub done_ahead: Vec<RowSpan>,
    /// The import's lanes (see [`IMPORT_LANES`]), fixed at its first take-over: a later one
    /// must fence every lane an earlier invocation could use.
    #[serde(default)]
    pub lanes: u32,
    /// Invocations that worked on the file (more than one for files that needed a checkpoint).
    #[serde(default)]
    pub invocations: u32,
    /// Why the file as a whole could not be imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The error report's key in the bucket, once written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_report_key: Option<String>,
    /// The mapping override and dry-run flag the upload was requested with.
    #[serde(default, skip_serializing_if = "ImportRequest::is_plain")]
    pub request: ImportRequest,
    /// How the import understood the file (the import crate's `FileMapping`, opaque to the
    /// store), recorded as soon as the header is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<serde_json::Value>,
    pub version: u64,
}

/// Where a block's rows lie in the file: from the byte offset of its first row to where the
/// file continues after its last, and that position's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowSpan {
    pub from: u64,
    pub to: u64,
    pub to_line: u64,
}

impl RowSpan {
    /// Whether the row starting at `offset` is one of the span's.
    pub fn holds(&self, offset: u64) -> bool {
        (self.from..self.to).contains(&offset)
    }
}

/// A block of rows written in one transaction: where they lie and what they counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportBlock {
    pub span: RowSpan,
    pub counts: ImportCounts,
}

impl ImportCounts {
    fn add(&mut self, more: &ImportCounts) {
        self.rows_read += more.rows_read;
        self.created += more.created;
        self.updated += more.updated;
        self.unchanged += more.unchanged;
        self.failed += more.failed;
        self.without_key += more.without_key;
        self.phones_left_out += more.phones_left_out;
        self.first_phone_left_out = match (self.first_phone_left_out, more.first_phone_left_out) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.possible_duplicates += more.possible_duplicates;
    }
}

impl ImportRecord {
    /// The lanes of the import, deciding them (for the file's size) if no invocation has.
    pub fn lanes(&mut self) -> usize {
        if self.lanes == 0 {
            let blocks = self.size_bytes.map_or(IMPORT_LANES as u64, |size| {
                size / ROW_BYTES_AT_LEAST / BLOCK_ROWS_AT_MOST + 1
            });
            self.lanes = blocks.clamp(1, IMPORT_LANES as u64) as u32;
        }
        self.lanes as usize
    }

    /// Whether the record has counted `block` already: its rows are before the checkpoint or
    /// done ahead of it.
    pub fn has_counted(&self, block: &ImportBlock) -> bool {
        let before = self
            .checkpoint
            .as_ref()
            .is_some_and(|at| block.span.to <= at.offset);
        before || self.done_ahead.contains(&block.span)
    }

    /// Counts `blocks` (committed, not counted yet) and moves the checkpoint over every row
    /// now done in a row from `start`, where the rows still to be written begin (the checkpoint,
    /// or the first row of the file); `header` is the reader's snapshot for the checkpoint.
    pub fn count_blocks(&mut self, blocks: &[ImportBlock], start: u64, header: &str) {
        for block in blocks {
            self.counts.add(&block.counts);
            self.done_ahead.push(block.span);
        }
        self.done_ahead.sort_by_key(|span| span.from);
        let mut at = start;
        let mut line = None;
        while let Some(next) = self.done_ahead.first().filter(|span| span.from <= at) {
            at = at.max(next.to);
            line = Some(next.to_line);
            self.done_ahead.remove(0);
        }
        if let Some(line) = line {
            self.checkpoint = Some(ImportCheckpoint {
                offset: at,
                line,
                header: header.to_owned(),
            });
        }
    }
}

/// One customer write of an import block.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "a chunk holds at most a hundred, briefly; boxing would only add noise"
)]
pub enum CustomerChange {
    /// A new customer; its `created` history entry is the card itself
    /// ([`HistoryEntry::created`]).
    Create { customer: Customer },
    Replace {
        before: Customer,
        after: Customer,
        history: HistoryEntry,
    },
}

/// A change with its writes built, so the caller can fill a transaction to its limit.
#[derive(Debug, Clone)]
pub struct PreparedChange {
    pub change: CustomerChange,
    set: WriteSet,
}

impl PreparedChange {
    /// Items this change adds to a transaction.
    pub fn items(&self) -> usize {
        self.set.len()
    }
}

/// Rows of a chunk that the table refused.
#[derive(Debug)]
pub enum ChunkError {
    /// The import record changed since it was read: another invocation is working on this
    /// import. Nothing was written.
    ImportMoved,
    /// Some changes' conditions failed (index into the chunk, and why). Nothing was written.
    Refused(Vec<(usize, StoreError)>),
    Store(StoreError),
}

/// The outcome of claiming a delivery of an object.
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// This delivery started (or took over) the import.
    Started,
    /// This object version was delivered before and belongs to that import.
    Delivered(String),
}

/// A chunk of the error report: rows already written as CSV (without the header).
#[derive(Debug, Clone)]
pub struct ErrorChunk {
    pub first_line: u64,
    pub rows: u64,
    pub csv: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoredErrorChunk {
    pub(crate) rows: u64,
    pub(crate) csv: String,
}

impl CustomerStore {
    /// Records an import whose file is to come through a presigned upload, with the request's
    /// idempotency record if it sent a key (`StoreError::IdempotencyKeyUsed` when the key was
    /// used before). It expires after a day unless the file arrives.
    pub async fn put_import(
        &self,
        tenant: &TenantId,
        record: &ImportRecord,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        self.transact_idempotent(
            tenant,
            vec![self.put_new(import_item(tenant, record))],
            idempotency,
        )
        .await
    }

    pub async fn import(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<ImportRecord>, StoreError> {
        let item = self.get_item(keys::import(tenant, id)).await?;
        item.map(|item| from_item(item).map_err(StoreError::Corrupt))
            .transpose()
    }

    /// The tenant's imports, newest first: one Query of GSI1.
    pub async fn imports(
        &self,
        tenant: &TenantId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<ImportRecord>, StoreError> {
        self.newest_first(keys::imports_of(tenant), limit, cursor)
            .await
    }

    /// Claims one delivery of an object (`delivery` digests its key, ETag and sequencer) for
    /// `record`, in one transaction with the record: as a new record (`previous_version` none)
    /// or replacing the awaiting one. A delivery seen before answers which import it belongs to.
    pub async fn begin_import(
        &self,
        tenant: &TenantId,
        delivery: &str,
        record: &ImportRecord,
        previous_version: Option<u64>,
    ) -> Result<Begin, StoreError> {
        let mut guard = items::keyed(keys::import_delivery(tenant, delivery), "ImportDelivery");
        guard.insert("importId".into(), AttributeValue::S(record.id.clone()));
        let record_write = match previous_version {
            Some(version) => self.put_if_version(import_item(tenant, record), version),
            None => self.put_new(import_item(tenant, record)),
        };
        match self
            .transact(vec![self.put_new(guard), record_write], None)
            .await
        {
            Ok(()) => Ok(Begin::Started),
            Err(Cancelled(failed)) if failed.contains(&0) => self
                .import_delivery(tenant, delivery)
                .await?
                .map(Begin::Delivered)
                .ok_or(StoreError::VersionConflict),
            Err(Cancelled(_)) => Err(StoreError::VersionConflict),
            Err(Failed(e)) => Err(e),
        }
    }

    /// The import a delivery (see `begin_import`) started, if it was seen before.
    pub async fn import_delivery(
        &self,
        tenant: &TenantId,
        delivery: &str,
    ) -> Result<Option<String>, StoreError> {
        let guard = self
            .get_item(keys::import_delivery(tenant, delivery))
            .await?;
        Ok(guard
            .as_ref()
            .and_then(|g| g.get("importId"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    /// Saves the record if it is still at `expected_version` (status changes, the end).
    pub async fn save_import(
        &self,
        tenant: &TenantId,
        record: &ImportRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        match self
            .transact(
                vec![self.put_if_version(import_item(tenant, record), expected_version)],
                None,
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(Cancelled(_)) => Err(StoreError::VersionConflict),
            Err(Failed(e)) => Err(e),
        }
    }

    pub fn prepare(&self, tenant: &TenantId, change: CustomerChange) -> PreparedChange {
        let set = match &change {
            CustomerChange::Create { customer } => self.create_writes(tenant, customer),
            CustomerChange::Replace {
                before,
                after,
                history,
            } => self.replace_writes(tenant, before, after, history),
        };
        PreparedChange { change, set }
    }

    /// Takes the import over for this invocation: saves `record` (its version is the new
    /// epoch, its `lanes` decided) if the stored one is still at `expected_version`, and moves
    /// every lane to the epoch, in one transaction. From then on a block of an earlier invocation fails its
    /// lane's condition. Answers the blocks the lanes name (the last each lane wrote; those the
    /// record has not counted were written by an invocation that ended before counting them).
    /// `StoreError::VersionConflict` when another invocation took the import meanwhile.
    ///
    /// The `first` take-over of an import (no invocation has had it, so no lane exists) saves
    /// the record alone: there is nothing to fence, and each lane is then made by its first
    /// block (see `lane_write`), which spares every import a write per lane (2 units each, 64
    /// for a file of 32 lanes). Every later take-over writes all the lanes, so from then on
    /// each exists and its epoch decides.
    pub async fn take_over_import(
        &self,
        tenant: &TenantId,
        record: &ImportRecord,
        expected_version: u64,
        first: bool,
    ) -> Result<Vec<ImportBlock>, StoreError> {
        let mut writes = vec![self.put_if_version(import_item(tenant, record), expected_version)];
        let lanes = if first { 0 } else { record.lanes as usize };
        for lane in 0..lanes {
            let update = Update::builder()
                .table_name(self.table())
                .set_key(Some(items::key_of(keys::import_lane(
                    tenant, &record.id, lane,
                ))))
                .update_expression("SET #epoch = :epoch")
                .expression_attribute_names("#epoch", EPOCH)
                .expression_attribute_values(
                    ":epoch",
                    AttributeValue::N(record.version.to_string()),
                )
                .build()
                .expect("table, key and expression are set");
            writes.push(TransactWriteItem::builder().update(update).build());
        }
        match self.transact(writes, None).await {
            Ok(()) => {}
            Err(Cancelled(_)) => return Err(StoreError::VersionConflict),
            Err(Failed(e)) => return Err(e),
        }
        if first {
            return Ok(Vec::new());
        }
        let lanes = self
            .query_partition(
                keys::import_partition(tenant, &record.id),
                Some(keys::IMPORT_LANES_PREFIX),
                MAX_PAGE,
                None,
                true,
            )
            .await?;
        lanes
            .items
            .into_iter()
            .filter_map(|mut lane| lane.remove(BLOCK))
            .map(|block| from_attribute_value(block).map_err(StoreError::Corrupt))
            .collect()
    }

    /// Commits one block of an import on `lane`: its customer changes, its error-report chunk
    /// and the lane naming it, if the lane is still at `epoch` (see `take_over_import`).
    /// `token` makes a retried request idempotent.
    #[expect(clippy::too_many_arguments, reason = "one block's parts, each needed")]
    pub async fn commit_import_block(
        &self,
        tenant: &TenantId,
        import_id: &str,
        (epoch, lane): (u64, usize),
        block: &ImportBlock,
        changes: &[PreparedChange],
        errors: Option<&ErrorChunk>,
        token: &str,
    ) -> Result<(), ChunkError> {
        let mut writes = vec![self.lane_write(tenant, import_id, (epoch, lane), block)];
        if let Some(chunk) = errors {
            writes.push(self.put(error_chunk_item(tenant, import_id, chunk)));
        }
        // Each change is estimated with the items it replaces, which stay with its set.
        let estimate = capacity::transaction_units(&writes, &Default::default())
            + changes.iter().map(|c| c.set.estimate()).sum::<f64>();
        let mut starts = Vec::with_capacity(changes.len());
        for change in changes {
            starts.push(writes.len());
            writes.extend(change.set.writes.iter().cloned());
        }
        debug_assert!(writes.len() <= TRANSACTION_ITEMS);
        match self
            .transact_estimated(writes, Some(token.to_owned()), estimate)
            .await
        {
            Ok(()) => Ok(()),
            Err(Cancelled(failed)) if failed.contains(&0) => Err(ChunkError::ImportMoved),
            Err(Cancelled(failed)) => {
                let refused = changes
                    .iter()
                    .zip(&starts)
                    .enumerate()
                    .filter_map(|(i, (change, start))| {
                        let relative: Vec<usize> = failed
                            .iter()
                            .filter_map(|f| f.checked_sub(*start))
                            .filter(|f| *f < change.set.len())
                            .collect();
                        (!relative.is_empty())
                            .then(|| (i, Guarded::error(change.set.failed(&relative))))
                    })
                    .collect();
                Err(ChunkError::Refused(refused))
            }
            Err(Failed(e)) => Err(ChunkError::Store(e)),
        }
    }

    /// The lane, naming `block`, on the condition that it is still at `epoch`.
    fn lane_write(
        &self,
        tenant: &TenantId,
        import_id: &str,
        (epoch, lane): (u64, usize),
        block: &ImportBlock,
    ) -> TransactWriteItem {
        let mut item = items::keyed(keys::import_lane(tenant, import_id, lane), "ImportLane");
        item.insert(EPOCH.into(), AttributeValue::N(epoch.to_string()));
        let block = to_attribute_value(block).expect("a block serialises");
        item.insert(BLOCK.into(), block);
        // A lane that does not exist yet has seen no take-over but the import's first, whose
        // epoch this block is of (a later take-over makes every lane: `take_over_import`).
        let condition = "attribute_not_exists(PK) OR #attribute = :expected";
        self.put_on_number(item, condition, EPOCH, epoch)
    }

    /// One page of the import's error-report chunks, in line order.
    pub async fn import_errors(
        &self,
        tenant: &TenantId,
        id: &str,
        cursor: Option<&str>,
    ) -> Result<Page<String>, StoreError> {
        let page = self
            .query_partition(
                keys::import_partition(tenant, id),
                Some(keys::IMPORT_ERRORS_PREFIX),
                MAX_PAGE,
                cursor,
                true,
            )
            .await?;
        let items = page
            .items
            .into_iter()
            .map(|item| {
                from_item::<StoredErrorChunk>(item)
                    .map(|chunk| chunk.csv)
                    .map_err(StoreError::Corrupt)
            })
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// Records a file that names no valid tenant, for operators (see `keys::rejected_import`).
    pub async fn record_rejected_import(
        &self,
        object_key: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let day = at.format("%Y-%m-%d").to_string();
        let mut item = items::keyed(keys::rejected_import(&day, object_key), "RejectedImport");
        item.insert("reason".into(), AttributeValue::S(reason.to_owned()));
        item.insert("at".into(), AttributeValue::S(at.to_rfc3339()));
        self.put_item(item, None).await
    }

    /// One PutItem outside a transaction, metered.
    pub(crate) async fn put_item(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<(), StoreError> {
        let estimate = capacity::put_units(&item, false);
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .expect("table and item are set");
        self.written(self.requests().put_item(put).await, estimate)?;
        Ok(())
    }

    /// The customers holding these numbers (upper-cased number -> id), from their guards.
    pub async fn ids_by_number(
        &self,
        tenant: &TenantId,
        numbers: &[String],
    ) -> Result<HashMap<String, CustomerId>, StoreError> {
        let keys = numbers
            .iter()
            .map(|n| (keys::customer_number_guard(tenant, n), n.to_uppercase()));
        self.owners_of(keys).await
    }

    /// The customers holding these external references, from their guards; the map's key is
    /// `system/ID` with the id upper-cased (see [`external_ref_key`]).
    pub async fn ids_by_external_ref(
        &self,
        tenant: &TenantId,
        refs: &[ExternalRef],
    ) -> Result<HashMap<String, CustomerId>, StoreError> {
        let keys = refs.iter().map(|r| {
            (
                keys::external_ref_guard(tenant, r.system, &r.id),
                external_ref_key(r),
            )
        });
        self.owners_of(keys).await
    }

    /// Cards by id (BatchGetItem), in no particular order.
    pub async fn customers(
        &self,
        tenant: &TenantId,
        ids: &[CustomerId],
    ) -> Result<Vec<Customer>, StoreError> {
        // Side by side: a batch of several hundred rows waits one round trip, not several.
        let chunks = ids
            .chunks(BATCH_GET_KEYS)
            .map(|chunk| self.get_many(tenant, chunk));
        Ok(futures::future::try_join_all(chunks)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Reads guard items and maps each caller's name to the customer the guard names.
    async fn owners_of(
        &self,
        wanted: impl Iterator<Item = (keys::Key, String)>,
    ) -> Result<HashMap<String, CustomerId>, StoreError> {
        let mut names: HashMap<keys::Key, String> = wanted.collect();
        let all: Vec<keys::Key> = names.keys().cloned().collect();
        let mut owners = HashMap::new();
        let chunks = all
            .chunks(BATCH_GET_KEYS)
            .map(|chunk| self.batch_get(chunk));
        for found in futures::future::try_join_all(chunks).await? {
            for item in found {
                let key = keys::Key {
                    pk: item_string(&item, PK),
                    sk: item_string(&item, SK),
                };
                if let (Some(name), Some(id)) = (names.remove(&key), items::customer_id_of(&item)) {
                    owners.insert(name, id);
                }
            }
        }
        Ok(owners)
    }
}

/// How [`CustomerStore::ids_by_external_ref`] names a reference.
pub fn external_ref_key(external: &ExternalRef) -> String {
    let system = serde_json::to_value(external.system)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("{system}/{}", external.id.to_uppercase())
}

fn item_string(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn import_item(tenant: &TenantId, record: &ImportRecord) -> Item {
    let mut item: Item = to_item(record).expect("an import record always serialises");
    item.extend(items::keyed(keys::import(tenant, &record.id), "Import"));
    item.insert(GSI1PK.into(), AttributeValue::S(keys::imports_of(tenant)));
    item.insert(GSI1SK.into(), AttributeValue::S(record.id.clone()));
    if record.status == ImportStatus::AwaitingUpload {
        let expires = record.created_at.timestamp() + AWAITING_UPLOAD_TTL_SECONDS;
        item.insert(
            keys::EXPIRES_AT.into(),
            AttributeValue::N(expires.to_string()),
        );
    }
    item
}

fn error_chunk_item(tenant: &TenantId, import_id: &str, chunk: &ErrorChunk) -> Item {
    let stored = StoredErrorChunk {
        rows: chunk.rows,
        csv: chunk.csv.clone(),
    };
    let mut item: Item = to_item(stored).expect("an error chunk always serialises");
    item.extend(items::keyed(
        keys::import_errors(tenant, import_id, chunk.first_line),
        "ImportErrors",
    ));
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ImportRecord {
        serde_json::from_value(serde_json::json!({
            "id": "01J",
            "status": "running",
            "source": "bucket",
            "objectKey": "imports/acme/a.csv",
            "createdAt": "2026-12-04T10:00:00Z",
            "version": 3,
        }))
        .expect("a record")
    }

    /// A block of `rows` rows of 10 bytes and one line each, starting at byte `from` (line
    /// `from / 10 + 2`: the header is line 1 and ends at byte 10).
    fn block(from: u64, rows: u64, created: u64) -> ImportBlock {
        let to = from + rows * 10;
        ImportBlock {
            span: RowSpan {
                from,
                to,
                to_line: to / 10 + 1,
            },
            counts: ImportCounts {
                rows_read: rows,
                created,
                failed: rows - created,
                ..ImportCounts::default()
            },
        }
    }

    #[test]
    fn blocks_written_in_a_row_move_the_checkpoint_over_them_whatever_their_order() {
        let mut record = record();
        record.count_blocks(&[block(60, 5, 5), block(10, 5, 4)], 10, "{}");
        let at = record.checkpoint.clone().expect("a checkpoint");
        assert_eq!((at.offset, at.line), (110, 12));
        assert!(record.done_ahead.is_empty());
        assert_eq!(record.counts.rows_read, 10);
        assert_eq!(record.counts.created, 9);
        assert_eq!(record.counts.failed, 1);
    }

    #[test]
    fn a_block_beyond_a_gap_is_done_ahead_until_the_gap_is_written() {
        let mut record = record();
        record.count_blocks(&[block(10, 5, 5), block(110, 5, 5)], 10, "{}");
        assert_eq!(record.checkpoint.as_ref().map(|at| at.offset), Some(60));
        assert_eq!(record.done_ahead, vec![block(110, 5, 5).span]);
        assert!(record.has_counted(&block(10, 5, 5)));
        assert!(record.has_counted(&block(110, 5, 5)));
        assert!(!record.has_counted(&block(60, 5, 5)));

        // The gap, written again after a refusal, closes it.
        record.count_blocks(&[block(60, 5, 5)], 60, "{}");
        assert_eq!(record.checkpoint.as_ref().map(|at| at.offset), Some(160));
        assert!(record.done_ahead.is_empty());
        assert_eq!(record.counts.rows_read, 15);
    }

    #[test]
    fn a_small_file_takes_few_lanes_a_large_one_all_and_the_number_stays() {
        let mut small = ImportRecord {
            size_bytes: Some(4_000),
            ..record()
        };
        // 100 rows of 40 bytes at least: 3 blocks of 49 at most.
        assert_eq!(small.lanes(), 3);
        small.size_bytes = Some(10_000_000);
        assert_eq!(small.lanes(), 3, "decided once");
        let mut large = ImportRecord {
            size_bytes: Some(10_000_000),
            ..record()
        };
        assert_eq!(large.lanes(), IMPORT_LANES);
        let mut unknown = record();
        assert_eq!(unknown.lanes(), IMPORT_LANES);
    }

    #[test]
    fn a_row_of_a_span_is_one_that_starts_inside_it() {
        let span = block(60, 5, 5).span;
        assert!(!span.holds(50));
        assert!(span.holds(60));
        assert!(span.holds(100));
        assert!(!span.holds(110));
    }
}
