//! Erasure in the table: a customer's partition read whole (the subject-access export) and
//! rewritten a page at a time by the domain's declaration of what is personal
//! (`domain::erasure`). The items are handled as items, not as their record types, so one
//! function covers every kind the declaration names.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};
use domain::erasure;
use domain::{CustomerId, FieldChange};
use serde_dynamo::aws_sdk_dynamodb_1::{from_attribute_value, from_item, to_attribute_value};
use serde_json::{Map, Value};

use crate::customers::{Cancelled, Failed, attribute};
use crate::imports::{ImportRecord, StoredErrorChunk};
use crate::items::{self, Item, VERSION};
use crate::keys::{self, ENTITY, TenantId};
use crate::{CustomerStore, Page, StoreError};

/// Items of a partition the subject-access export reads at most (a customer with more has
/// its export refused rather than cut short without saying so).
pub const EXPORT_ITEMS_MAX: usize = 20_000;

/// Attributes that are keys or bookkeeping of the table, not data about the person.
const KEY_ATTRIBUTES: &[&str] = &[
    keys::PK,
    keys::SK,
    keys::GSI1PK,
    keys::GSI1SK,
    keys::GSI3PK,
    keys::GSI3SK,
    keys::GSI4PK,
    keys::GSI4SK,
    keys::EXPIRES_AT,
    items::TAG_KEYS,
];

/// What a page of erasure did: how many items it rewrote or deleted, and where the next page
/// starts.
#[derive(Debug)]
pub struct ErasedPage {
    pub changed: usize,
    pub next_cursor: Option<String>,
}

/// What stopped an erasure page.
#[derive(Debug)]
pub enum ErasureError {
    /// An item on the page changed since it was read: read the page again.
    Changed,
    Store(StoreError),
}

impl From<StoreError> for ErasureError {
    fn from(error: StoreError) -> Self {
        ErasureError::Store(error)
    }
}

impl CustomerStore {
    /// Everything held about the customer, as JSON without key attributes, grouped by entity:
    /// its partition (`Customer`, `CustomerHistory`, `Site`, ..., each in key order), the
    /// idempotency records of requests about it (`IdempotencyRecord`: their stored answers),
    /// the rows of the organisation's import error reports that mention any of `values` (its
    /// personal values, `domain::erasure::personal_values`: `ImportRow`), and the uploaded
    /// files that changed it or hold such a row (`ImportFile`). `None` when the partition
    /// holds more than `EXPORT_ITEMS_MAX` items.
    pub async fn personal_data(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        values: &[String],
    ) -> Result<Option<Map<String, Value>>, StoreError> {
        let mut groups = Map::new();
        let mut requests = Vec::new();
        let mut imports = BTreeSet::new();
        let mut cursor = None;
        let mut read = 0;
        loop {
            let page = self
                .query_partition(
                    keys::customer_partition(tenant, customer),
                    None,
                    crate::MAX_PAGE,
                    cursor.as_deref(),
                    true,
                )
                .await?;
            read += page.items.len();
            if read > EXPORT_ITEMS_MAX {
                return Ok(None);
            }
            for item in page.items {
                let entity = attribute(&item, ENTITY).to_owned();
                if entity == items::IDEMPOTENCY_REF {
                    requests.push(keys::idempotency(tenant, attribute(&item, "key")));
                }
                // A history entry names who made its change (`by`); the card, which is its own
                // `created` entry, who created it.
                for actor in ["by", "createdBy"] {
                    if let Some(import) = domain::import_of_actor(attribute(&item, actor)) {
                        imports.insert(import.to_owned());
                    }
                }
                add_to(&mut groups, &entity, json_of(item)?);
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        for chunk in requests.chunks(100) {
            for record in self.batch_get(chunk).await? {
                add_to(&mut groups, "IdempotencyRecord", json_of(record)?);
            }
        }
        for (import, row) in self.import_rows_mentioning(tenant, values).await? {
            add_to(
                &mut groups,
                "ImportRow",
                serde_json::json!({"importId": import, "row": row}),
            );
            imports.insert(import);
        }
        for file in self.import_files(tenant, &imports).await? {
            add_to(&mut groups, "ImportFile", file);
        }
        Ok(Some(groups))
    }

    /// The rows of the organisation's import error reports that mention any of `values`, with
    /// their import's id, in import and line order.
    async fn import_rows_mentioning(
        &self,
        tenant: &TenantId,
        values: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut rows = Vec::new();
        if values.is_empty() {
            return Ok(rows);
        }
        let mut chunks = ErrorChunks::of(tenant);
        while let Some((import, _, chunk)) = chunks.next(self).await? {
            rows.extend(
                erasure::lines_mentioning(&chunk.csv, values)
                    .into_iter()
                    .map(|row| (import.clone(), row.to_owned())),
            );
        }
        Ok(rows)
    }

    /// The uploaded files of `imports` (those still recorded): where a copy of the rows that
    /// changed the customer may be kept, with columns the import did not read.
    async fn import_files(
        &self,
        tenant: &TenantId,
        imports: &BTreeSet<String>,
    ) -> Result<Vec<Value>, StoreError> {
        let wanted: Vec<keys::Key> = imports.iter().map(|id| keys::import(tenant, id)).collect();
        let mut files = Vec::new();
        for chunk in wanted.chunks(100) {
            for item in self.batch_get(chunk).await? {
                let record: ImportRecord = from_item(item).map_err(StoreError::Corrupt)?;
                files.push(serde_json::json!({
                    "importId": record.id,
                    "fileName": record.file_name,
                    "objectKey": record.object_key,
                    "createdAt": record.created_at,
                }));
            }
        }
        files.sort_by_key(|file| file["importId"].as_str().map(str::to_owned));
        Ok(files)
    }

    /// Erases one page of the customer's partition (from `cursor`): every item the domain
    /// declares personal is rewritten without its personal attributes, history entries
    /// without their personal values, and the per-number SMS counters of the numbers texts
    /// went to are deleted, as are the idempotency records of requests about the customer
    /// (their stored answers hold it as it was). Each rewrite is conditional on what was read (a record's
    /// `version`, bumped so that a concurrent writer reads again), all in one transaction.
    /// A page already erased writes nothing.
    pub async fn erase_page(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<ErasedPage, ErasureError> {
        let page: Page<Item> = self
            .query_partition(
                keys::customer_partition(tenant, customer),
                None,
                limit,
                cursor,
                true,
            )
            .await?;
        let mut writes = Vec::new();
        let mut changed = 0;
        // Texts to one number share its counters; a transaction names each item once.
        let mut counters = std::collections::BTreeSet::new();
        for item in &page.items {
            // A request's stored answer about the customer: the record and its pointer go.
            if attribute(item, ENTITY) == items::IDEMPOTENCY_REF {
                changed += 1;
                writes.push(self.delete(keys::idempotency(tenant, attribute(item, "key"))));
                writes.push(self.delete(keys::Key {
                    pk: attribute(item, keys::PK).to_owned(),
                    sk: attribute(item, keys::SK).to_owned(),
                }));
                continue;
            }
            if let Some((erased, condition)) = erased_item(item)? {
                changed += 1;
                writes.push(self.put_on(erased, condition));
                counters.extend(counter_days(item).into_iter().map(|k| (k.pk, k.sk)));
            }
        }
        for (pk, sk) in counters {
            writes.push(self.delete(keys::Key { pk, sk }));
        }
        // Counters for numbers texts went to are deleted whether or not they still exist.
        if changed > 0 {
            match self.transact(writes, None).await {
                Ok(()) => {}
                Err(Cancelled(_)) => return Err(ErasureError::Changed),
                Err(Failed(e)) => return Err(ErasureError::Store(e)),
            }
        }
        Ok(ErasedPage {
            changed,
            next_cursor: page.next_cursor,
        })
    }

    /// Removes the rows that mention any of `values` (an erased customer's personal values,
    /// `domain::erasure::personal_values`) from the error-report chunks of every import of the
    /// organisation; answers how many rows went. Chunks are written once and never changed by
    /// the importer, so a plain put is safe; a chunk already clean is not written.
    pub async fn erase_import_rows(
        &self,
        tenant: &TenantId,
        values: &[String],
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut chunks = ErrorChunks::of(tenant);
        while let Some((_, item, chunk)) = chunks.next(self).await? {
            let Some((csv, gone)) = erasure::without_mentions(&chunk.csv, values) else {
                continue;
            };
            let mut next = item;
            next.insert("csv".into(), AttributeValue::S(csv));
            next.insert(
                "rows".into(),
                AttributeValue::N(chunk.rows.saturating_sub(gone as u64).to_string()),
            );
            match self.transact(vec![self.put(next)], None).await {
                Ok(()) => removed += gone,
                Err(Cancelled(_)) => return Err(StoreError::VersionConflict),
                Err(Failed(e)) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// A history entry of the customer that changes nothing on the card (the background
    /// erasure's record of what it did).
    pub async fn add_history(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        entry: &domain::HistoryEntry,
    ) -> Result<(), StoreError> {
        match self
            .transact(
                vec![self.put(items::history_item(tenant, customer, entry))],
                None,
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(Cancelled(_)) => Err(StoreError::VersionConflict),
            Err(Failed(e)) => Err(e),
        }
    }

    fn put_on(&self, item: Item, condition: Condition) -> TransactWriteItem {
        let put = Put::builder().table_name(self.table()).set_item(Some(item));
        let put = match condition {
            Condition::Version(v) => put
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", VERSION)
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string())),
            Condition::UpdatedAt(at) => put
                .condition_expression("#updatedAt = :expected")
                .expression_attribute_names("#updatedAt", "updatedAt")
                .expression_attribute_values(":expected", AttributeValue::S(at)),
            Condition::Exists => put.condition_expression("attribute_exists(PK)"),
        };
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }
}

/// Every error-report chunk of an organisation's imports, one at a time: the imports a page at
/// a time (GSI1 `T#<t>#IMPORTS`), then each import's `ERRORS#` items a page at a time.
struct ErrorChunks {
    tenant: TenantId,
    imports: Vec<String>,
    imports_cursor: Option<String>,
    imports_done: bool,
    import: Option<String>,
    chunks: Vec<Item>,
    chunks_cursor: Option<String>,
}

impl ErrorChunks {
    fn of(tenant: &TenantId) -> Self {
        ErrorChunks {
            tenant: tenant.clone(),
            imports: Vec::new(),
            imports_cursor: None,
            imports_done: false,
            import: None,
            chunks: Vec::new(),
            chunks_cursor: None,
        }
    }

    /// The next chunk, with its import's id, as item and as read; `None` after the last.
    async fn next(
        &mut self,
        store: &CustomerStore,
    ) -> Result<Option<(String, Item, StoredErrorChunk)>, StoreError> {
        loop {
            if let (Some(import), Some(item)) = (&self.import, self.chunks.pop()) {
                let chunk = from_item(item.clone()).map_err(StoreError::Corrupt)?;
                return Ok(Some((import.clone(), item, chunk)));
            }
            if self.import.is_some() && self.chunks_cursor.is_some() {
                self.read_chunks(store).await?;
                continue;
            }
            let Some(import) = self.next_import(store).await? else {
                return Ok(None);
            };
            self.import = Some(import);
            self.read_chunks(store).await?;
        }
    }

    /// The next page of the current import's chunks, kept in reverse to be popped in order.
    async fn read_chunks(&mut self, store: &CustomerStore) -> Result<(), StoreError> {
        let import = self.import.as_deref().expect("an import is being read");
        let page = store
            .query_partition(
                keys::import_partition(&self.tenant, import),
                Some(keys::IMPORT_ERRORS_PREFIX),
                crate::MAX_PAGE,
                self.chunks_cursor.as_deref(),
                true,
            )
            .await?;
        self.chunks = page.items;
        self.chunks.reverse();
        self.chunks_cursor = page.next_cursor;
        Ok(())
    }

    async fn next_import(&mut self, store: &CustomerStore) -> Result<Option<String>, StoreError> {
        while self.imports.is_empty() && !self.imports_done {
            let page = store
                .imports(
                    &self.tenant,
                    crate::MAX_PAGE,
                    self.imports_cursor.as_deref(),
                )
                .await?;
            self.imports = page.items.into_iter().rev().map(|i| i.id).collect();
            self.imports_done = page.next_cursor.is_none();
            self.imports_cursor = page.next_cursor;
        }
        Ok(self.imports.pop())
    }
}

/// On what an erased item is written: the version it was read at, or its last change.
enum Condition {
    Version(u64),
    UpdatedAt(String),
    Exists,
}

/// Adds `value` to the group of `entity`.
fn add_to(groups: &mut Map<String, Value>, entity: &str, value: Value) {
    groups
        .entry(entity)
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .expect("each group is an array")
        .push(value);
}

fn json_of(mut item: Item) -> Result<Value, StoreError> {
    for name in KEY_ATTRIBUTES {
        item.remove(*name);
    }
    from_attribute_value(AttributeValue::M(item)).map_err(StoreError::Corrupt)
}

/// The item as erasure leaves it, with the condition of its write; `None` when it holds
/// nothing personal (any more).
fn erased_item(item: &Item) -> Result<Option<(Item, Condition)>, StoreError> {
    let entity = attribute(item, ENTITY);
    let mut next = item.clone();
    if entity == "CustomerHistory" {
        let changes: Vec<FieldChange> = match item.get("changes") {
            Some(value) => from_attribute_value(value.clone()).map_err(StoreError::Corrupt)?,
            None => return Ok(None),
        };
        let Some(scrubbed) = erasure::scrub_history(&changes) else {
            return Ok(None);
        };
        let value = to_attribute_value(scrubbed).map_err(StoreError::Corrupt)?;
        next.insert("changes".into(), value);
    } else if let Some(rule) = erasure::erased_record(entity) {
        for name in rule.remove {
            next.remove(*name);
        }
        for (name, tombstone) in rule.replace {
            next.insert(
                (*name).to_owned(),
                AttributeValue::S((*tombstone).to_owned()),
            );
        }
    } else {
        return Ok(None);
    }
    if next == *item {
        return Ok(None);
    }
    let condition = match item.get(VERSION).and_then(|v| v.as_n().ok()) {
        Some(version) => {
            let version: u64 = version.parse().unwrap_or_default();
            next.insert(VERSION.into(), AttributeValue::N((version + 1).to_string()));
            Condition::Version(version)
        }
        None => match item.get("updatedAt").and_then(|v| v.as_s().ok()) {
            Some(at) => Condition::UpdatedAt(at.clone()),
            None => Condition::Exists,
        },
    };
    Ok(Some((next, condition)))
}

/// The per-number SMS counters a text's number may have been counted under: the days around
/// the text (the organisation's date may differ from UTC's by a day either way). Empty for any
/// item but a text that still names its number.
fn counter_days(item: &Item) -> Vec<keys::Key> {
    if attribute(item, ENTITY) != "Text" {
        return Vec::new();
    }
    let Some(to) = item.get("to").and_then(|v| v.as_s().ok()) else {
        return Vec::new();
    };
    let Some(tenant) = attribute(item, keys::PK)
        .strip_prefix("T#")
        .and_then(|rest| rest.split('#').next())
        .and_then(TenantId::parse)
    else {
        return Vec::new();
    };
    let at = item
        .get("createdAt")
        .and_then(|v| v.as_s().ok())
        .and_then(|s| s.parse::<DateTime<Utc>>().ok())
        .unwrap_or_else(Utc::now);
    [-1, 0, 1]
        .into_iter()
        .map(|offset| keys::sms_number_day(&tenant, (at + Duration::days(offset)).date_naive(), to))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    #[test]
    fn a_site_loses_its_address_and_contact_and_is_renamed_once() {
        let item: Item = [
            (ENTITY, s("Site")),
            ("name", s("Anna's house")),
            (
                "address",
                AttributeValue::M([("line1".to_owned(), s("Storgatan 1"))].into()),
            ),
            (VERSION, AttributeValue::N("3".into())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let (erased, condition) = erased_item(&item).unwrap().expect("personal data to erase");
        assert!(matches!(condition, Condition::Version(3)));
        assert_eq!(erased["name"], s(domain::erasure::ERASED_SITE_NAME));
        assert!(!erased.contains_key("address"));
        assert_eq!(erased[VERSION], AttributeValue::N("4".into()));
        assert!(erased_item(&erased).unwrap().is_none(), "erased once");
    }

    #[test]
    fn a_text_names_the_counters_of_its_number_and_then_no_number() {
        let item: Item = [
            (keys::PK, s("T#acme#C#01J")),
            (ENTITY, s("Text")),
            ("to", s("+46701234567")),
            ("createdAt", s("2026-01-02T10:00:00Z")),
            ("updatedAt", s("2026-01-02T10:00:01Z")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(counter_days(&item).len(), 3);
        let (erased, condition) = erased_item(&item).unwrap().unwrap();
        assert!(matches!(condition, Condition::UpdatedAt(_)));
        assert!(!erased.contains_key("to"));
        assert!(counter_days(&erased).is_empty());
    }
}
