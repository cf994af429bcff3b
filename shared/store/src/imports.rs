//! CSV imports in the single table: the import record (status, progress, checkpoint), the
//! guard that makes one S3 delivery start one import, the chunks of the error report, and the
//! transaction that applies a chunk of rows together with the checkpoint that follows it.
//!
//! Why one transaction per chunk: the customers written and the checkpoint that says they were
//! written commit together, so an invocation that dies anywhere leaves either the chunk and its
//! checkpoint or neither. The next invocation resumes from the checkpoint and never loses or
//! repeats a row. The import record's version is the chunk's condition, so two invocations of
//! one import (a redelivered message) cannot both advance it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use chrono::{DateTime, Utc};
use domain::{Customer, CustomerId, ExternalRef, HistoryEntry};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::customers::{Cancelled, Failed, Guarded, WriteSet, one};
use crate::items::{self, Item};
use crate::keys::{self, GSI1PK, GSI1SK, PK, SK, TenantId};
use crate::usage::Kind;
use crate::{CustomerStore, IdempotencyRecord, MAX_PAGE, Page, StoreError, capacity};

/// DynamoDB's limit of items in one TransactWriteItems.
pub const TRANSACTION_ITEMS: usize = 100;
/// Items of a chunk transaction that are not customer writes: the import record and one
/// error-report chunk.
pub const CHUNK_OVERHEAD: usize = 2;
/// How long an upload URL's import waits for its file before the record expires.
const AWAITING_UPLOAD_TTL_SECONDS: i64 = 24 * 3600;
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

/// One customer write of an import chunk.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "a chunk holds at most a hundred, briefly; boxing would only add noise"
)]
pub enum CustomerChange {
    Create {
        customer: Customer,
        history: HistoryEntry,
    },
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
            CustomerChange::Create { customer, history } => {
                self.create_writes(tenant, customer, history)
            }
            CustomerChange::Replace {
                before,
                after,
                history,
            } => self.replace_writes(tenant, before, after, history),
        };
        PreparedChange { change, set }
    }

    /// Applies a chunk of rows and moves the import to `record` (its checkpoint and counts
    /// after the chunk) in one transaction, on condition that the record is still at
    /// `expected_version`. `token` makes a retry of the same chunk idempotent for DynamoDB's
    /// ten minutes (a timeout after the commit does not apply it twice).
    pub async fn commit_import_chunk(
        &self,
        tenant: &TenantId,
        record: &ImportRecord,
        expected_version: u64,
        changes: &[PreparedChange],
        errors: Option<&ErrorChunk>,
        token: &str,
    ) -> Result<(), ChunkError> {
        let mut writes = vec![self.put_if_version(import_item(tenant, record), expected_version)];
        if let Some(chunk) = errors {
            writes.push(self.put(error_chunk_item(tenant, &record.id, chunk)));
        }
        let mut starts = Vec::with_capacity(changes.len());
        for change in changes {
            starts.push(writes.len());
            writes.extend(change.set.writes.iter().cloned());
        }
        debug_assert!(writes.len() <= TRANSACTION_ITEMS);
        match self.transact(writes, Some(token.to_owned())).await {
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
        let out = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        self.usage()
            .record(Kind::Write, one(out.consumed_capacity()), estimate);
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
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_GET_KEYS) {
            found.extend(self.get_many(tenant, chunk).await?);
        }
        Ok(found)
    }

    /// Reads guard items and maps each caller's name to the customer the guard names.
    async fn owners_of(
        &self,
        wanted: impl Iterator<Item = (keys::Key, String)>,
    ) -> Result<HashMap<String, CustomerId>, StoreError> {
        let mut names: HashMap<keys::Key, String> = wanted.collect();
        let all: Vec<keys::Key> = names.keys().cloned().collect();
        let mut owners = HashMap::new();
        for chunk in all.chunks(BATCH_GET_KEYS) {
            for item in self.batch_get(chunk).await? {
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
