//! Customers in the single table: create (with the number guard, lookup entries and an
//! optional idempotency record, all in one transaction), get, replace with optimistic
//! concurrency, list by name or status, and exact lookups.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Delete, KeysAndAttributes, Put, ReturnConsumedCapacity,
    TransactWriteItem,
};
use domain::{Customer, CustomerId, CustomerStatus};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::{capacity, cursor};
use crate::items::{self, CUSTOMER_ID, Item, VERSION};
use crate::keys::{self, GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, SK, TenantId};
use crate::usage::{Kind, UsageMeter};

/// How often a transaction that lost a race (TransactionConflict) is tried again. The retry
/// then sees the winner's committed items and fails on the right condition instead.
const TRANSACTION_ATTEMPTS: u32 = 4;
/// Page sizes the list accepts; the default is what the API asks for when the caller does not.
pub const MAX_PAGE: i32 = 100;

/// A response kept under an Idempotency-Key, so a retried request gets the first answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    pub key: String,
    /// Hash of what was asked; the same key with a different request is refused.
    pub fingerprint: String,
    pub response: StoredResponse,
    /// Unix seconds; DynamoDB's TTL removes the record after this.
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<CustomerStatus>,
    /// Already folded (see `domain::fold`).
    pub name_prefix: Option<String>,
    pub limit: i32,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CustomerStore {
    client: Client,
    table: String,
    usage: UsageMeter,
}

impl CustomerStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            usage: UsageMeter::default(),
        }
    }

    /// Requests and consumed capacity since creation (or the last reset).
    pub fn usage(&self) -> &UsageMeter {
        &self.usage
    }

    /// Creates a customer. Uniqueness of the number is enforced by DynamoDB: the guard item is
    /// put with `attribute_not_exists` in the same transaction as the customer.
    pub async fn create(
        &self,
        tenant: &TenantId,
        customer: &Customer,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<CreateOutcome, StoreError> {
        let mut writes = vec![
            self.put_new(items::customer_item(tenant, customer)),
            self.put_new(items::number_guard_item(
                tenant,
                &customer.fields.customer_number,
                &customer.id,
            )),
        ];
        let guard_index = 1;
        for key in lookup_keys(tenant, customer) {
            writes.push(self.put(items::lookup_item(key, &customer.id)));
        }
        let idempotency_index = idempotency.map(|record| {
            writes.push(self.put_new(items::idempotency_item(tenant, record)));
            writes.len() - 1
        });
        match self.transact(writes).await {
            Ok(()) => Ok(CreateOutcome::Created),
            Err(Cancelled(failed)) => {
                if let (Some(i), Some(record)) = (idempotency_index, idempotency)
                    && failed.contains(&i)
                {
                    return Err(self.idempotency_replay(tenant, &record.key).await?);
                }
                if failed.contains(&guard_index) {
                    return Err(StoreError::NumberTaken);
                }
                Err(StoreError::VersionConflict)
            }
            Err(Failed(e)) => Err(e),
        }
    }

    pub async fn get(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, StoreError> {
        let key = keys::customer(tenant, id);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key_of(key)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let estimate = capacity::read_units(out.item(), true);
        self.usage.record(Kind::Read, one(out.consumed_capacity()), estimate);
        out.item.map(items::customer_from_item).transpose()
    }

    /// Replaces `before` with `after` if nobody changed it meanwhile (`after.version` must be
    /// `before.version + 1`). Lookup entries and the number guard follow in the same
    /// transaction when they change; otherwise it is a single conditional put.
    pub async fn replace(
        &self,
        tenant: &TenantId,
        before: &Customer,
        after: &Customer,
    ) -> Result<(), StoreError> {
        debug_assert_eq!(after.version, before.version + 1);
        let put = self.put_if_version(items::customer_item(tenant, after), before.version);
        let old_lookups = lookup_keys(tenant, before);
        let new_lookups = lookup_keys(tenant, after);
        let number_changed = before.fields.customer_number.to_uppercase()
            != after.fields.customer_number.to_uppercase();
        if old_lookups == new_lookups && !number_changed {
            return self.put_conditionally(put).await;
        }

        let mut writes = vec![put];
        let mut new_guard_index = None;
        if number_changed {
            writes.push(self.delete_guard(tenant, before));
            writes.push(self.put_new(items::number_guard_item(
                tenant,
                &after.fields.customer_number,
                &after.id,
            )));
            new_guard_index = Some(writes.len() - 1);
        }
        for key in old_lookups.difference(&new_lookups) {
            writes.push(self.delete(key.clone()));
        }
        for key in new_lookups.difference(&old_lookups) {
            writes.push(self.put(items::lookup_item(key.clone(), &after.id)));
        }
        match self.transact(writes).await {
            Ok(()) => Ok(()),
            Err(Cancelled(failed)) if failed.contains(&0) => Err(StoreError::VersionConflict),
            Err(Cancelled(failed)) if new_guard_index.is_some_and(|i| failed.contains(&i)) => {
                Err(StoreError::NumberTaken)
            }
            Err(Cancelled(_)) => Err(StoreError::VersionConflict),
            Err(Failed(e)) => Err(e),
        }
    }

    /// One page of a tenant's customers sorted by folded name, optionally of one status and
    /// with a name prefix: always a single Query.
    pub async fn list(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> Result<Page<Customer>, StoreError> {
        let (index, pk_attr, sk_attr, partition) = match query.status {
            Some(status) => (
                GSI2,
                GSI2PK,
                GSI2SK,
                keys::customers_by_status(tenant, status),
            ),
            None => (GSI1, GSI1PK, GSI1SK, keys::customers_by_name(tenant)),
        };
        let start = query
            .cursor
            .as_deref()
            .map(|c| cursor::decode(c, &[PK, SK, pk_attr, sk_attr], pk_attr, &partition))
            .transpose()?;
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .limit(query.limit.clamp(1, MAX_PAGE))
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        request = match query.name_prefix.as_deref().filter(|p| !p.is_empty()) {
            Some(prefix) => request
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned())),
            None => request.key_condition_expression("#pk = :pk"),
        };
        let out = request.send().await.map_err(StoreError::sdk)?;
        let estimate = capacity::read_units(out.items(), false);
        self.usage.record(Kind::Read, one(out.consumed_capacity()), estimate);
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(items::customer_from_item)
            .collect::<Result<_, _>>()?;
        let next_cursor = out.last_evaluated_key.as_ref().and_then(cursor::encode);
        Ok(Page { items, next_cursor })
    }

    /// The customer holding a number: the guard item names it (two GetItems).
    pub async fn find_by_number(
        &self,
        tenant: &TenantId,
        number: &str,
    ) -> Result<Option<Customer>, StoreError> {
        let guard = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key_of(keys::customer_number_guard(
                tenant, number,
            ))))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let estimate = capacity::read_units(guard.item(), true);
        self.usage
            .record(Kind::Read, one(guard.consumed_capacity()), estimate);
        match guard.item.as_ref().and_then(items::customer_id_of) {
            Some(id) => self.get(tenant, &id).await,
            None => Ok(None),
        }
    }

    /// Customers that carry this e-mail address (customer, invoice or contact e-mail).
    pub async fn find_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Vec<Customer>, StoreError> {
        self.find_by_lookup(keys::email_lookup_partition(tenant, email), tenant)
            .await
    }

    /// Customers that carry this E.164 number (phone, mobile or a contact's).
    pub async fn find_by_phone(
        &self,
        tenant: &TenantId,
        phone: &str,
    ) -> Result<Vec<Customer>, StoreError> {
        self.find_by_lookup(keys::phone_lookup_partition(tenant, phone), tenant)
            .await
    }

    async fn find_by_lookup(
        &self,
        partition: String,
        tenant: &TenantId,
    ) -> Result<Vec<Customer>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .limit(MAX_PAGE)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let estimate = capacity::read_units(out.items(), false);
        self.usage
            .record(Kind::Read, one(out.consumed_capacity()), estimate);
        let ids: Vec<CustomerId> = out
            .items()
            .iter()
            .filter_map(items::customer_id_of)
            .collect();
        self.get_many(tenant, &ids).await
    }

    /// BatchGetItem, retrying unprocessed keys; results sorted by folded name.
    async fn get_many(
        &self,
        tenant: &TenantId,
        ids: &[CustomerId],
    ) -> Result<Vec<Customer>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        let mut pending: Vec<Item> = ids
            .iter()
            .map(|id| items::key_of(keys::customer(tenant, id)))
            .collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(StoreError::backend)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(StoreError::sdk)?;
            let consumed = out.consumed_capacity.clone().unwrap_or_default();
            let mut responses = out.responses.unwrap_or_default();
            let returned = responses.remove(&self.table).unwrap_or_default();
            // BatchGetItem charges every item as its own consistent read.
            let estimate: f64 = returned
                .iter()
                .map(|item| capacity::read_units([item], true))
                .sum();
            self.usage
                .record(Kind::Read, &consumed, estimate);
            for item in returned {
                found.push(items::customer_from_item(item)?);
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if !pending.is_empty() {
                attempt += 1;
                backoff(attempt).await;
            }
        }
        found.sort_by_key(|c| (c.fields.sort_name(), c.id.clone()));
        Ok(found)
    }

    async fn idempotency_replay(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<StoreError, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key_of(keys::idempotency(tenant, key))))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let estimate = capacity::read_units(out.item(), true);
        self.usage
            .record(Kind::Read, one(out.consumed_capacity()), estimate);
        let item = out.item.ok_or(StoreError::VersionConflict)?;
        Ok(StoreError::IdempotencyKeyUsed(Box::new(
            items::idempotency_from_item(item)?,
        )))
    }

    /// Looks up a stored idempotent response without writing anything.
    pub async fn idempotency_record(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        match self.idempotency_replay(tenant, key).await {
            Ok(StoreError::IdempotencyKeyUsed(record)) => Ok(Some(*record)),
            Ok(_) | Err(StoreError::VersionConflict) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn put(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    fn put_new(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    fn put_if_version(&self, item: Item, expected: u64) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    fn delete(&self, key: keys::Key) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(items::key_of(key)))
            .build()
            .expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }

    /// Frees the old number, but only if it still belongs to this customer.
    fn delete_guard(&self, tenant: &TenantId, before: &Customer) -> TransactWriteItem {
        let key = keys::customer_number_guard(tenant, &before.fields.customer_number);
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(items::key_of(key)))
            .condition_expression("#id = :id")
            .expression_attribute_names("#id", CUSTOMER_ID)
            .expression_attribute_values(":id", AttributeValue::S(before.id.0.clone()))
            .build()
            .expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }

    /// A lone conditional put, taken from a transaction item so both paths share one shape.
    async fn put_conditionally(&self, write: TransactWriteItem) -> Result<(), StoreError> {
        let put = write.put.expect("a put");
        let estimate = capacity::put_units(&put.item, false);
        let result = self
            .client
            .put_item()
            .table_name(put.table_name)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.usage
                    .record(Kind::Write, one(out.consumed_capacity()), estimate);
                Ok(())
            }
            Err(e) if is_conditional_check_failure(&e) => {
                // A failed condition still costs the write (at least one unit).
                self.usage.record(Kind::Write, &[], 1.0);
                Err(StoreError::VersionConflict)
            }
            Err(e) => Err(StoreError::sdk(e)),
        }
    }

    /// Runs a transaction; a cancellation caused only by a concurrent transaction is retried
    /// so that the caller sees the condition that really decides (taken number, stale version).
    async fn transact(&self, writes: Vec<TransactWriteItem>) -> Result<(), TransactError> {
        let estimate = capacity::transaction_units(&writes);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let error = match result {
                Ok(out) => {
                    self.usage
                        .record(Kind::Write, out.consumed_capacity(), estimate);
                    return Ok(());
                }
                Err(e) => e,
            };
            // What a cancelled transaction is charged is not documented per item; count none.
            self.usage.record(Kind::Write, &[], 0.0);
            match cancellation_reasons(&error) {
                Some(reasons) => {
                    let failed = indexes_with(&reasons, "ConditionalCheckFailed");
                    let conflicted = !indexes_with(&reasons, "TransactionConflict").is_empty();
                    if failed.is_empty() && conflicted && attempt < TRANSACTION_ATTEMPTS {
                        backoff(attempt).await;
                        continue;
                    }
                    if failed.is_empty() && !conflicted {
                        return Err(Failed(StoreError::sdk(error)));
                    }
                    return Err(Cancelled(failed));
                }
                None => return Err(Failed(StoreError::sdk(error))),
            }
        }
    }
}

enum TransactError {
    /// Indexes of the items whose condition failed.
    Cancelled(Vec<usize>),
    Failed(StoreError),
}
use TransactError::{Cancelled, Failed};

fn lookup_keys(tenant: &TenantId, customer: &Customer) -> BTreeSet<keys::Key> {
    let emails = customer.fields.lookup_emails();
    let phones = customer.fields.lookup_phones();
    emails
        .iter()
        .map(|e| keys::email_lookup(tenant, e, &customer.id))
        .chain(
            phones
                .iter()
                .map(|p| keys::phone_lookup(tenant, p, &customer.id)),
        )
        .collect()
}

fn cancellation_reasons(error: &SdkError<TransactWriteItemsError>) -> Option<Vec<Option<String>>> {
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(e) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| r.code().map(str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

fn indexes_with(reasons: &[Option<String>], code: &str) -> Vec<usize> {
    reasons
        .iter()
        .enumerate()
        .filter(|(_, r)| r.as_deref() == Some(code))
        .map(|(i, _)| i)
        .collect()
}

fn is_conditional_check_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// Exponential backoff with a little jitter from the clock, capped at ~1 s.
async fn backoff(attempt: u32) {
    let base = 25u64 << attempt.min(5);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_micros())
            .unwrap_or(0),
    ) % base;
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// Single-item responses carry at most one ConsumedCapacity.
fn one(capacity: Option<&ConsumedCapacity>) -> &[ConsumedCapacity] {
    capacity.map(std::slice::from_ref).unwrap_or_default()
}
