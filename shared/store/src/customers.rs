//! Customers in the single table: create (with the number guard, lookup entries and an
//! optional idempotency record, all in one transaction), get, replace with optimistic
//! concurrency, list by name or status, and exact lookups.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use domain::{Customer, CustomerId, HistoryEntry};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::items::{self, CUSTOMER_ID, Item, VERSION};
use crate::keys::{self, GSI1, GSI1PK, GSI1SK, PK, SK, TenantId};
use crate::listing::merge_page;
use crate::lookups;
use crate::requests::{Failure, QueryRequest, Requests, Written, cancellation_reasons};
use crate::usage::{Kind, UsageMeter};
use crate::{capacity, cursor};

/// How often a transaction that lost a race (TransactionConflict) is tried again. The retry
/// then sees the winner's committed items and fails on the right condition instead.
const TRANSACTION_ATTEMPTS: u32 = 4;
/// BatchGetItem rounds before giving up on unprocessed keys (throttling): the request then
/// answers 503 instead of spinning until the function times out.
const BATCH_ATTEMPTS: u32 = 5;
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

/// A user made responsible for a customer. It carries what the notifications that follow an
/// assignment need, so they never read anything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub tenant_id: String,
    pub customer_id: CustomerId,
    pub customer_number: String,
    pub customer_name: String,
    pub user_id: String,
    pub assigned_by: String,
    pub assigned_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
}

/// One page of a list, as the API answers it: `{"items": [...], "nextCursor": "..."}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Clone)]
pub struct CustomerStore {
    /// DynamoDB, reached with requests of our own (see [`crate::requests`]).
    requests: Requests,
    table: String,
    usage: UsageMeter,
}

impl std::fmt::Debug for CustomerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl CustomerStore {
    /// The store of `table`, reached with `config`'s region, credentials and endpoint
    /// (`AWS_ENDPOINT_URL` locally), attempts and timeouts.
    pub fn new(config: &SdkConfig, table: impl Into<String>) -> Self {
        Self {
            requests: Requests::new(config),
            table: table.into(),
            usage: UsageMeter::default(),
        }
    }

    /// Requests and consumed capacity since creation (or the last reset).
    pub fn usage(&self) -> &UsageMeter {
        &self.usage
    }

    pub(crate) fn requests(&self) -> &Requests {
        &self.requests
    }

    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// Creates a customer. Uniqueness of the number and of external references is enforced by
    /// DynamoDB: their guard items are put with `attribute_not_exists` in the same transaction
    /// as the customer. Its `created` history entry is the card itself
    /// ([`HistoryEntry::created`], read by [`Self::history`]).
    pub async fn create(
        &self,
        tenant: &TenantId,
        customer: &Customer,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<CreateOutcome, StoreError> {
        let mut set = self.create_writes(tenant, customer);
        if let Some(record) = idempotency {
            set.push_conditional(
                self.put_new(items::idempotency_item(tenant, record)),
                Guarded::Idempotency,
            );
            set.push(self.put(items::idempotency_ref_item(tenant, &customer.id, record)));
        }
        match self.transact_set(&set, None).await {
            Ok(()) => Ok(CreateOutcome::Created),
            Err(Cancelled(failed)) => match (set.failed(&failed), idempotency) {
                (Some(Guarded::Idempotency), Some(record)) => {
                    Err(self.idempotency_replay(tenant, &record.key).await?)
                }
                (failure, _) => Err(Guarded::error(failure)),
            },
            Err(Failed(e)) => Err(e),
        }
    }

    /// What a create writes: the customer, its number, external-reference and
    /// organisation-number guards and the lookup entries. No history entry: the card is its
    /// `created` entry.
    pub(crate) fn create_writes(&self, tenant: &TenantId, customer: &Customer) -> WriteSet {
        let mut set = WriteSet::default();
        set.push_conditional(
            self.put_new(items::customer_item(tenant, customer)),
            Guarded::Customer,
        );
        let lookups = lookups::of(tenant, customer);
        set.push_conditional(
            self.put_new(items::number_guard_item(
                tenant,
                customer,
                &lookups.on_guard,
            )),
            Guarded::Number,
        );
        for external in &customer.fields.external_refs {
            set.push_conditional(
                self.put_new(items::external_ref_guard_item(
                    tenant,
                    external,
                    &customer.id,
                )),
                Guarded::ExternalRef,
            );
        }
        if let Some(identity) = customer.fields.organisation_identity() {
            set.push_conditional(
                self.put_new(items::org_number_guard_item(
                    tenant,
                    &identity,
                    &customer.id,
                )),
                Guarded::OrgNumber,
            );
        }
        for extra in &lookups.extra {
            set.push(self.put(items::lookup_item(extra, &customer.id)));
        }
        set
    }

    pub async fn get(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, StoreError> {
        self.get_item(keys::customer(tenant, id))
            .await?
            .map(items::customer_from_item)
            .transpose()
    }

    /// Replaces `before` with `after` if nobody changed it meanwhile (`after.version` must be
    /// `before.version + 1`), in one transaction with its history entry, the lookup entries and
    /// guards that change with it, and an assignment change if there is one. There is no
    /// way to change a customer without a history entry.
    pub async fn replace(
        &self,
        tenant: &TenantId,
        before: &Customer,
        after: &Customer,
        history: &HistoryEntry,
        companion: Option<&Companion>,
    ) -> Result<(), StoreError> {
        let mut set = self.replace_writes(tenant, before, after, history);
        self.push_companion(&mut set, tenant, after, companion);
        match self.transact_set(&set, None).await {
            Ok(()) => Ok(()),
            Err(Cancelled(failed)) => match (set.failed(&failed), companion) {
                (Some(Guarded::Idempotency), Some(Companion::LinkSite(_, Some(record)))) => {
                    Err(self.idempotency_replay(tenant, &record.key).await?)
                }
                (failure, _) => Err(Guarded::error(failure)),
            },
            Err(Failed(e)) => Err(e),
        }
    }

    /// The writes of the change that travels with a customer change (`after`).
    pub(crate) fn push_companion(
        &self,
        set: &mut WriteSet,
        tenant: &TenantId,
        after: &Customer,
        companion: Option<&Companion>,
    ) {
        match companion {
            Some(Companion::Assign { user, by, at }) => {
                let assignment = Assignment {
                    tenant_id: tenant.as_str().to_owned(),
                    customer_id: after.id.clone(),
                    customer_number: after.fields.customer_number.clone(),
                    customer_name: after.fields.display_name(),
                    user_id: user.clone(),
                    assigned_by: by.clone(),
                    assigned_at: *at,
                };
                set.push(self.put(items::assignment_item(tenant, &assignment)));
            }
            Some(Companion::Unassign(user)) => {
                set.push(self.delete(keys::assignment(tenant, &after.id, user)));
            }
            Some(Companion::LinkSite(site, idempotency)) => {
                set.push_conditional(self.put_new(items::site_item(tenant, site)), Guarded::Site);
                if let Some(record) = idempotency {
                    set.push_conditional(
                        self.put_new(items::idempotency_item(tenant, record)),
                        Guarded::Idempotency,
                    );
                    set.push(self.put(items::idempotency_ref_item(tenant, &after.id, record)));
                }
            }
            Some(Companion::UnlinkSite { site, keep }) => {
                let write = if *keep {
                    let mut kept = (**site).clone();
                    kept.fields.status = domain::SiteStatus::Unlinked;
                    kept.version = site.version + 1;
                    kept.updated_at = after.updated_at;
                    kept.updated_by = after.updated_by.clone();
                    self.put_if_version(items::site_item(tenant, &kept), site.version)
                } else {
                    self.delete_at_version(keys::site(tenant, &after.id, &site.id), site.version)
                };
                set.push_conditional(write, Guarded::Site);
            }
            None => {}
        }
    }

    /// What a replace writes: the customer (conditional on the version it was read at), the
    /// history entry, and the guards and lookup entries that differ between the two versions.
    pub(crate) fn replace_writes(
        &self,
        tenant: &TenantId,
        before: &Customer,
        after: &Customer,
        history: &HistoryEntry,
    ) -> WriteSet {
        debug_assert_eq!(after.version, before.version + 1);
        let mut set = WriteSet::default();
        set.push_conditional(
            self.put_if_version(items::customer_item(tenant, after), before.version),
            Guarded::Customer,
        );
        set.replacing(items::customer_item(tenant, before));
        set.push(self.put(items::history_item(tenant, &after.id, history)));
        let (old_lookups, new_lookups) = (lookups::of(tenant, before), lookups::of(tenant, after));
        let guard = || items::number_guard_item(tenant, after, &new_lookups.on_guard);
        let old_guard = || items::number_guard_item(tenant, before, &old_lookups.on_guard);
        if before.fields.customer_number.to_uppercase()
            != after.fields.customer_number.to_uppercase()
        {
            set.push(self.delete_guard(
                keys::customer_number_guard(tenant, &before.fields.customer_number),
                &before.id,
            ));
            set.replacing(old_guard());
            set.push_conditional(self.put_new(guard()), Guarded::Number);
        } else if old_lookups.on_guard != new_lookups.on_guard {
            // The guard carries the first lookup values: it moves their index entries.
            set.push(self.put_own_guard(guard(), &after.id));
            set.replacing(old_guard());
        }
        let old_refs = external_ref_keys(tenant, before);
        let new_refs = external_ref_keys(tenant, after);
        for key in old_refs.difference(&new_refs) {
            set.push(self.delete_guard(key.clone(), &before.id));
        }
        for external in &after.fields.external_refs {
            let key = keys::external_ref_guard(tenant, external.system, &external.id);
            if !old_refs.contains(&key) {
                set.push_conditional(
                    self.put_new(items::external_ref_guard_item(tenant, external, &after.id)),
                    Guarded::ExternalRef,
                );
            }
        }
        let old_org = before.fields.organisation_identity();
        let new_org = after.fields.organisation_identity();
        if old_org != new_org {
            if let Some(identity) = old_org {
                set.push(self.delete_guard(
                    keys::organisation_number_guard(tenant, &identity),
                    &before.id,
                ));
            }
            if let Some(identity) = new_org {
                set.push_conditional(
                    self.put_new(items::org_number_guard_item(tenant, &identity, &after.id)),
                    Guarded::OrgNumber,
                );
            }
        }
        // The guard's entries moved with it (above); the lookup items are added and removed.
        let (old_extra, new_extra) = (&old_lookups.extra, &new_lookups.extra);
        for extra in old_extra.difference(new_extra) {
            set.push(self.delete(extra.key.clone()));
            set.replacing(items::lookup_item(extra, &before.id));
        }
        for extra in new_extra.difference(old_extra) {
            set.push(self.put(items::lookup_item(extra, &after.id)));
        }
        set
    }

    /// A customer's history, newest first, one Query per page. The last page ends with the
    /// oldest entry, `created`, which is read from the card ([`HistoryEntry::created`]).
    pub async fn history(
        &self,
        tenant: &TenantId,
        customer: &Customer,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<HistoryEntry>, StoreError> {
        // ULID entry ids: newest first is the partition's order reversed.
        let mut page: Page<HistoryEntry> = self
            .children(
                tenant,
                &customer.id,
                keys::HISTORY_PREFIX,
                limit,
                cursor,
                false,
            )
            .await?;
        if page.next_cursor.is_none() {
            match page.items.last() {
                // A full page keeps to its size: `created` comes alone on the next one.
                Some(last) if page.items.len() >= limit.clamp(1, MAX_PAGE) as usize => {
                    let key = keys::history(tenant, &customer.id, &last.id);
                    page.next_cursor = cursor::encode(&items::key_of(key));
                }
                _ => page.items.push(HistoryEntry::created(customer)),
            }
        }
        Ok(page)
    }

    /// The users assigned to a customer (one Query; a customer has few).
    pub async fn assignments(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
    ) -> Result<Vec<Assignment>, StoreError> {
        let page = self
            .query_partition(
                keys::customer_partition(tenant, id),
                Some(keys::ASSIGNEE_PREFIX),
                MAX_PAGE,
                None,
                true,
            )
            .await?;
        page.items
            .into_iter()
            .map(items::assignment_from_item)
            .collect()
    }

    /// The customers a user is assigned to: a Query of GSI1 for the ids, then one
    /// BatchGetItem for the cards.
    pub async fn customers_assigned_to(
        &self,
        tenant: &TenantId,
        user: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Customer>, StoreError> {
        let partition = keys::assigned_to(tenant, user);
        let start = cursor
            .map(|c| cursor::decode(c, &[PK, SK, GSI1PK, GSI1SK], GSI1PK, &partition))
            .transpose()?;
        let (ids, last_key) = self
            .query_ids(Some(GSI1), GSI1PK, partition, limit, start)
            .await?;
        Ok(Page {
            items: self.get_many(tenant, &ids).await?,
            next_cursor: last_key.as_ref().and_then(cursor::encode),
        })
    }

    /// Customers with a name (display, company, person reversed, contact) that begins with
    /// `prefix` (folded), in name order (reversed unless `ascending`): one Query of each of
    /// [`lookups::name_sources`] (the list by name of each of `statuses`, and the two name
    /// indexes), side by side, merged in name order ([`merge_page`]), and one BatchGetItem.
    /// A customer found by two names appears once per page; those the name indexes find may
    /// have any status.
    pub async fn search_names(
        &self,
        tenant: &TenantId,
        prefix: &str,
        statuses: &[domain::CustomerStatus],
        limit: i32,
        cursor: Option<&str>,
        ascending: bool,
    ) -> Result<Page<Customer>, StoreError> {
        let prefix = keys::name_prefix(prefix);
        let partition = keys::names_partition(tenant);
        let from = cursor
            .map(|c| cursor::decode_position(c, PK, &partition, SK))
            .transpose()?;
        if from.as_ref().is_some_and(|from| !from.starts_with(prefix)) {
            return Err(StoreError::InvalidCursor(
                "the cursor belongs to another query",
            ));
        }
        let limit = limit.clamp(1, MAX_PAGE);
        let sources = lookups::name_sources(tenant, statuses);
        let reads = sources.iter().map(|source| {
            let names = NameRead {
                source,
                prefix,
                after: from.as_deref(),
                ascending,
            };
            self.names_after(names, limit)
        });
        let (mut rows, mut ends) = (Vec::new(), Vec::new());
        for (found, end) in futures::future::try_join_all(reads).await? {
            rows.extend(found);
            ends.push(end);
        }
        let (entries, next) = merge_page(rows, &ends, limit as usize, ascending);
        let mut ids: Vec<CustomerId> = Vec::new();
        for id in entries
            .iter()
            .filter_map(|entry| keys::customer_of_entry(attribute(entry, SK)))
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut customers = self.get_many(tenant, &ids).await?;
        customers.sort_by_key(|c| ids.iter().position(|id| *id == c.id));
        Ok(Page {
            items: customers,
            next_cursor: next
                .and_then(|position| cursor::encode_position(PK, &partition, SK, position)),
        })
    }

    /// One page of a name source's entries that begin with the prefix, from just after `after`
    /// when given: each entry as its position (its sort key without the source's key prefix,
    /// under `SK`, all [`merge_page`] needs), and the position the Query read through (`None`:
    /// it read to the end).
    async fn names_after(
        &self,
        read: NameRead<'_>,
        limit: i32,
    ) -> Result<(Vec<(String, Item)>, Option<String>), StoreError> {
        let NameRead {
            source,
            prefix,
            after,
            ascending,
        } = read;
        let index = source.index;
        let keyed = |part: &str| format!("{}{part}", source.key_prefix);
        // A Query starts after a key of the item it stopped at; a position names no item, so
        // the range starts at the position itself and the entry found there (at most one: a
        // name entry's sort key ends with its customer's id) is dropped.
        let between = after.map(|after| {
            if ascending {
                (keyed(after), keyed(&keys::end_of_prefix(prefix)))
            } else {
                (keyed(prefix), keyed(after))
            }
        });
        let key_prefix = keyed(prefix);
        let query = RecordQuery {
            index: Some(index.name),
            partition_attr: index.pk,
            sort_attr: index.sk,
            prefix: Some(&key_prefix),
            between,
            // The list by name projects whole cards; the search needs their keys.
            keys_only: true,
            limit: if after.is_some() { limit + 1 } else { limit },
            ascending,
            ..RecordQuery::partition(source.partition.clone())
        };
        let (items, last) = self.query_from(&query, None).await?;
        let position = |item: &Item| {
            let sort_key = item.get(index.sk)?.as_s().ok()?;
            sort_key.strip_prefix(&source.key_prefix).map(str::to_owned)
        };
        let rows = items
            .iter()
            .filter_map(position)
            .filter(|position| Some(position.as_str()) != after)
            .map(|position| {
                let entry = Item::from([(SK.to_owned(), AttributeValue::S(position.clone()))]);
                (position, entry)
            })
            .collect();
        Ok((rows, last.as_ref().and_then(position)))
    }

    /// Deletes a customer that has nothing but its card (which is its creation entry): no
    /// history entry, no assignments, no linked records. Anything else answers `HasHistory`, and the
    /// way out is deactivation. The delete is conditional on the version, so a change that
    /// lands meanwhile wins.
    pub async fn delete_untouched(
        &self,
        tenant: &TenantId,
        customer: &Customer,
    ) -> Result<(), StoreError> {
        let partition = self
            .query_partition(
                keys::customer_partition(tenant, &customer.id),
                None,
                3,
                None,
                true,
            )
            .await?;
        // The pointer at the create's idempotency record (erasure's) is no use of the customer.
        let is_ref = |item: &&Item| attribute(item, keys::ENTITY) == items::IDEMPOTENCY_REF;
        let refs = partition.items.iter().filter(is_ref).count();
        // Anything but the card and that pointer is a use: a history entry, a site, an
        // assignment.
        let others = partition.items.len() - refs;
        // A customer an import created is linked to that import: the next import of the same
        // file would create it again, and its history says where it came from.
        let imported = domain::is_import_actor(&customer.created_by);
        if imported || others > 1 || partition.next_cursor.is_some() {
            return Err(StoreError::HasHistory);
        }
        let mut set = WriteSet::default();
        set.push(self.delete_if_version(tenant, customer));
        set.replacing(items::customer_item(tenant, customer));
        let lookups = lookups::of(tenant, customer);
        let number = keys::customer_number_guard(tenant, &customer.fields.customer_number);
        set.push(self.delete_guard(number, &customer.id));
        set.replacing(items::number_guard_item(
            tenant,
            customer,
            &lookups.on_guard,
        ));
        for key in external_ref_keys(tenant, customer) {
            set.push(self.delete_guard(key, &customer.id));
        }
        if let Some(identity) = customer.fields.organisation_identity() {
            let key = keys::organisation_number_guard(tenant, &identity);
            set.push(self.delete_guard(key, &customer.id));
        }
        for item in partition.items.iter().filter(is_ref) {
            set.push(self.delete(keys::Key {
                pk: keys::customer_partition(tenant, &customer.id),
                sk: attribute(item, SK).to_owned(),
            }));
            set.replacing(item.clone());
        }
        for extra in &lookups.extra {
            set.push(self.delete(extra.key.clone()));
            set.replacing(items::lookup_item(extra, &customer.id));
        }
        match self.transact_set(&set, None).await {
            Ok(()) => Ok(()),
            Err(Cancelled(_)) => Err(StoreError::VersionConflict),
            Err(Failed(e)) => Err(e),
        }
    }

    /// One page of the items of a partition whose sort key begins with `prefix`.
    pub(crate) async fn query_partition(
        &self,
        partition: String,
        prefix: Option<&str>,
        limit: i32,
        cursor: Option<&str>,
        ascending: bool,
    ) -> Result<Page<Item>, StoreError> {
        self.query_records(RecordQuery {
            prefix,
            limit,
            cursor,
            ascending,
            ..RecordQuery::partition(partition)
        })
        .await
    }

    /// One page of a Query on the table (strongly consistent) or on an index, with optional
    /// filters; read units are estimated for every item DynamoDB examined.
    pub(crate) async fn query_records(
        &self,
        query: RecordQuery<'_>,
    ) -> Result<Page<Item>, StoreError> {
        let (pk, sk) = (query.partition_attr, query.sort_attr);
        let key_attrs: Vec<&str> = if query.index.is_some() {
            vec![PK, SK, pk, sk]
        } else {
            vec![PK, SK]
        };
        let start = query
            .cursor
            .map(|c| cursor::decode(c, &key_attrs, pk, &query.partition))
            .transpose()?;
        // A cursor whose sort key lies outside the prefix would make DynamoDB refuse the
        // query; it is not one this query issued.
        let prefix = query.prefix.unwrap_or("");
        let outside = |start: &Item| !attribute(start, sk).starts_with(prefix);
        if start.as_ref().is_some_and(outside) {
            return Err(StoreError::InvalidCursor(
                "the cursor belongs to another query",
            ));
        }
        let (items, last) = self.query_from(&query, start).await?;
        Ok(Page {
            next_cursor: last.as_ref().and_then(cursor::encode),
            items,
        })
    }

    /// [`Self::query_records`] from a start key already checked (or built) by the caller:
    /// the items and DynamoDB's LastEvaluatedKey.
    pub(crate) async fn query_from(
        &self,
        query: &RecordQuery<'_>,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let (pk, sk) = (query.partition_attr, query.sort_attr);
        let partition = AttributeValue::S(query.partition.clone());
        let bounds = query.between.as_ref().map(|(low, high)| {
            [
                AttributeValue::S(low.clone()),
                AttributeValue::S(high.clone()),
            ]
        });
        let prefix = query.prefix.map(|p| AttributeValue::S(p.to_owned()));
        let mut names = BTreeMap::from([("#pk", pk)]);
        let mut values = BTreeMap::from([(":pk", &partition)]);
        let key_condition = match (&bounds, &prefix) {
            (Some([low, high]), _) => {
                names.insert("#sk", sk);
                values.extend([(":low", low), (":high", high)]);
                "#pk = :pk AND #sk BETWEEN :low AND :high"
            }
            (None, Some(prefix)) => {
                names.insert("#sk", sk);
                values.insert(":prefix", prefix);
                "#pk = :pk AND begins_with(#sk, :prefix)"
            }
            (None, None) => "#pk = :pk",
        };
        for condition in &query.filters {
            names.extend(
                condition
                    .names
                    .iter()
                    .map(|(n, a)| (n.as_str(), a.as_str())),
            );
            values.extend(condition.values.iter().map(|(n, v)| (n.as_str(), v)));
        }
        let filter = (!query.filters.is_empty()).then(|| {
            query
                .filters
                .iter()
                .map(|c| c.expression.as_str())
                .collect::<Vec<_>>()
                .join(" AND ")
        });
        if query.keys_only {
            names.insert("#sk", sk);
        }
        let consistent = query.index.is_none();
        let page = self
            .requests
            .query(&QueryRequest {
                table: &self.table,
                index: query.index,
                key_condition,
                filter,
                projection: query.keys_only.then_some("#pk, #sk"),
                names,
                values,
                ascending: query.ascending,
                consistent,
                limit: query.limit.clamp(1, MAX_PAGE),
                start: start.as_ref(),
            })
            .await?;
        let estimate = if query.filters.is_empty() && !query.keys_only {
            capacity::read_units(&page.items, consistent)
        } else {
            // The items that came back are not what was read: the filter dropped some, the
            // projection kept only their keys.
            let returned = if query.keys_only {
                &[][..]
            } else {
                &page.items[..]
            };
            let eventual = capacity::filtered_read_units(returned, page.scanned);
            if consistent { eventual * 2.0 } else { eventual }
        };
        self.usage.record(Kind::Read, page.units, estimate);
        Ok((page.items, page.last_key))
    }

    /// The customer holding a number: the guard item names it (two GetItems).
    pub async fn find_by_number(
        &self,
        tenant: &TenantId,
        number: &str,
    ) -> Result<Option<Customer>, StoreError> {
        let guard = self
            .get_item(keys::customer_number_guard(tenant, number))
            .await?;
        match guard.as_ref().and_then(items::customer_id_of) {
            Some(id) => self.get(tenant, &id).await,
            None => Ok(None),
        }
    }

    /// The customer holding an organisation number (its `OrgNumber::identity`): the guard
    /// item names it (two GetItems).
    pub async fn find_by_org_number(
        &self,
        tenant: &TenantId,
        identity: &str,
    ) -> Result<Option<Customer>, StoreError> {
        let guard = self
            .get_item(keys::organisation_number_guard(tenant, identity))
            .await?;
        match guard.as_ref().and_then(items::customer_id_of) {
            Some(id) => self.get(tenant, &id).await,
            None => Ok(None),
        }
    }

    /// Possible duplicates of a new card: the customers sharing its own e-mail, phone or
    /// mobile, each with the channels it shares ("email", "phone", "mobile"), in id order.
    /// Contacts' channels are not compared: one person is often the contact of several
    /// companies. The API's create and the import both ask this. The lookups of the three
    /// values go side by side: on DynamoDB they take the time of one.
    pub async fn possible_duplicates(
        &self,
        tenant: &TenantId,
        fields: &domain::CustomerFields,
    ) -> Result<Vec<(Customer, Vec<&'static str>)>, StoreError> {
        let (by_email, by_phone, by_mobile) = tokio::try_join!(
            found_by(fields.email.as_deref(), |e| self.find_by_email(tenant, e)),
            found_by(fields.phone.as_deref(), |p| self.find_by_phone(tenant, p)),
            found_by(fields.mobile.as_deref(), |m| self.find_by_phone(tenant, m)),
        )?;
        let mut found: std::collections::BTreeMap<String, (Customer, Vec<&'static str>)> =
            std::collections::BTreeMap::new();
        for (customers, channel) in [
            (by_email, "email"),
            (by_phone, "phone"),
            (by_mobile, "mobile"),
        ] {
            for customer in customers {
                let entry = found
                    .entry(customer.id.0.clone())
                    .or_insert_with(|| (customer, Vec::new()));
                entry.1.push(channel);
            }
        }
        Ok(found.into_values().collect())
    }

    /// Customers that carry this e-mail address (customer, invoice or contact e-mail).
    pub async fn find_by_email(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Vec<Customer>, StoreError> {
        let partition = keys::email_lookup_partition(tenant, email);
        self.find_by_lookup(lookups::EMAILS, partition, tenant)
            .await
    }

    /// Customers that carry this E.164 number (phone, mobile or a contact's).
    pub async fn find_by_phone(
        &self,
        tenant: &TenantId,
        phone: &str,
    ) -> Result<Vec<Customer>, StoreError> {
        let partition = keys::phone_lookup_partition(tenant, phone);
        self.find_by_lookup(lookups::PHONES, partition, tenant)
            .await
    }

    /// One Query of the lookup index, whichever items carry its entries (cards or the items
    /// beside them), and one BatchGetItem of the cards.
    async fn find_by_lookup(
        &self,
        index: lookups::Index,
        partition: String,
        tenant: &TenantId,
    ) -> Result<Vec<Customer>, StoreError> {
        let query = RecordQuery {
            index: Some(index.name),
            partition_attr: index.pk,
            sort_attr: index.sk,
            ..RecordQuery::partition(partition)
        };
        let (entries, _) = self.query_from(&query, None).await?;
        let mut ids: Vec<CustomerId> = Vec::new();
        for id in entries
            .iter()
            .filter_map(|e| lookups::customer_of(e, index))
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        self.get_many(tenant, &ids).await
    }

    /// The `customerId`s of one page of a lookup or assignment partition.
    async fn query_ids(
        &self,
        index: Option<&str>,
        partition_attr: &str,
        partition: String,
        limit: i32,
        start: Option<Item>,
    ) -> Result<(Vec<CustomerId>, Option<Item>), StoreError> {
        let partition = AttributeValue::S(partition);
        let page = self
            .requests
            .query(&QueryRequest {
                index,
                names: BTreeMap::from([("#pk", partition_attr)]),
                values: BTreeMap::from([(":pk", &partition)]),
                limit: limit.clamp(1, MAX_PAGE),
                start: start.as_ref(),
                ..QueryRequest::whole_partition(&self.table)
            })
            .await?;
        let estimate = capacity::read_units(&page.items, false);
        self.usage.record(Kind::Read, page.units, estimate);
        let ids = page
            .items
            .iter()
            .filter_map(items::customer_id_of)
            .collect();
        Ok((ids, page.last_key))
    }

    /// Cards by id (at most 100, one BatchGetItem), sorted by folded name.
    pub(crate) async fn get_many(
        &self,
        tenant: &TenantId,
        ids: &[CustomerId],
    ) -> Result<Vec<Customer>, StoreError> {
        let keys: Vec<keys::Key> = ids.iter().map(|id| keys::customer(tenant, id)).collect();
        let mut found = self
            .batch_get(&keys)
            .await?
            .into_iter()
            .map(items::customer_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        found.sort_by_key(|c| (c.fields.sort_name(), c.id.clone()));
        Ok(found)
    }

    /// BatchGetItem of up to 100 keys, strongly consistent, retrying unprocessed keys; gives
    /// up with Unavailable (the request answers 503) rather than spin until the timeout.
    pub(crate) async fn batch_get(&self, wanted: &[keys::Key]) -> Result<Vec<Item>, StoreError> {
        let mut pending: Vec<Item> = wanted.iter().cloned().map(items::key_of).collect();
        let mut found = Vec::new();
        let mut attempt = 0;
        while !pending.is_empty() {
            let round = self.requests.batch_get(&self.table, &pending).await?;
            // BatchGetItem charges every item as its own consistent read.
            let estimate: f64 = round
                .items
                .iter()
                .map(|item| capacity::read_units([item], true))
                .sum();
            self.usage.record(Kind::Read, round.units, estimate);
            found.extend(round.items);
            pending = round.unprocessed;
            if !pending.is_empty() {
                attempt += 1;
                if attempt >= BATCH_ATTEMPTS {
                    return Err(StoreError::Unavailable(
                        "BatchGetItem left keys unprocessed after every retry".into(),
                    ));
                }
                backoff(attempt).await;
            }
        }
        Ok(found)
    }

    /// The item at each of `wanted`, in order (`None`: no such item): [`Self::batch_get`]'s
    /// answer, which comes in any order, matched to the keys asked for.
    pub(crate) async fn batch_get_each(
        &self,
        wanted: &[keys::Key],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        let mut each: Vec<Option<Item>> = wanted.iter().map(|_| None).collect();
        for item in self.batch_get(wanted).await? {
            let (pk, sk) = (attribute(&item, keys::PK), attribute(&item, keys::SK));
            if let Some(at) = wanted.iter().position(|k| k.pk == pk && k.sk == sk) {
                each[at] = Some(item);
            }
        }
        Ok(each)
    }

    pub(crate) async fn idempotency_replay(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<StoreError, StoreError> {
        let item = self
            .get_item(keys::idempotency(tenant, key))
            .await?
            .ok_or(StoreError::VersionConflict)?;
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

    pub(crate) fn put(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    pub(crate) fn put_new(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    pub(crate) fn put_if_version(&self, item: Item, expected: u64) -> TransactWriteItem {
        self.put_if_number(item, VERSION, expected)
    }

    /// Puts `item` if the stored one's number `attribute` is `expected`.
    pub(crate) fn put_if_number(
        &self,
        item: Item,
        attribute: &str,
        expected: u64,
    ) -> TransactWriteItem {
        self.put_on_number(item, "#attribute = :expected", attribute, expected)
    }

    /// Puts `item` on `condition`, which names the number `attribute` `#attribute` and the
    /// value it is compared with `:expected`.
    pub(crate) fn put_on_number(
        &self,
        item: Item,
        condition: &str,
        attribute: &str,
        expected: u64,
    ) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .expression_attribute_names("#attribute", attribute)
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    /// Deletes a versioned item (a site, a record a merge moves) still at the version it was
    /// read at (a concurrent change loses).
    pub(crate) fn delete_at_version(&self, key: keys::Key, version: u64) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(items::key_of(key)))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":expected", AttributeValue::N(version.to_string()))
            .build()
            .expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }

    pub(crate) fn delete(&self, key: keys::Key) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(items::key_of(key)))
            .build()
            .expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }

    fn delete_if_version(&self, tenant: &TenantId, customer: &Customer) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(items::key_of(keys::customer(tenant, &customer.id))))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(
                ":expected",
                AttributeValue::N(customer.version.to_string()),
            )
            .build()
            .expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }

    /// Puts a guard again (new lookup entries on it), if `owner` still holds it.
    pub(crate) fn put_own_guard(&self, item: Item, owner: &CustomerId) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#id = :id")
            .expression_attribute_names("#id", CUSTOMER_ID)
            .expression_attribute_values(":id", AttributeValue::S(owner.0.clone()))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    /// Frees a guard (old number, old external reference), but only if it still belongs to
    /// this customer.
    pub(crate) fn delete_guard(&self, key: keys::Key, owner: &CustomerId) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(items::key_of(key)))
            .condition_expression("#id = :id")
            .expression_attribute_names("#id", CUSTOMER_ID)
            .expression_attribute_values(":id", AttributeValue::S(owner.0.clone()))
            .build()
            .expect("table and key are set");
        TransactWriteItem::builder().delete(delete).build()
    }

    /// One page of the records of a customer's partition whose sort keys start with
    /// `prefix`, in creation order (ULID ids) or the reverse.
    pub(crate) async fn children<T: serde::de::DeserializeOwned>(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        prefix: &str,
        limit: i32,
        cursor: Option<&str>,
        ascending: bool,
    ) -> Result<Page<T>, StoreError> {
        let page = self
            .query_partition(
                keys::customer_partition(tenant, customer),
                Some(keys::name_prefix(prefix)),
                limit,
                cursor,
                ascending,
            )
            .await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(items::record_from_item)
                .collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// One strongly consistent GetItem.
    pub(crate) async fn get_item(&self, key: keys::Key) -> Result<Option<Item>, StoreError> {
        let (item, units) = self
            .requests
            .get_item(&self.table, &items::key_of(key))
            .await?;
        let estimate = capacity::read_units(&item, true);
        self.usage.record(Kind::Read, units, estimate);
        Ok(item)
    }

    /// Runs a transaction; a cancellation caused only by a concurrent transaction is retried
    /// so that the caller sees the condition that really decides (taken number, stale version).
    /// With a `token`, DynamoDB applies a repeated request only once (for ten minutes).
    /// Without one a fresh token is drawn per call (see [`Self::transact_estimated`]); a drawn
    /// token that another transaction already used is drawn again.
    pub(crate) async fn transact(
        &self,
        writes: Vec<TransactWriteItem>,
        token: Option<String>,
    ) -> Result<(), TransactError> {
        let estimate = capacity::transaction_units(&writes, &BTreeMap::new());
        self.transact_estimated(writes, token, estimate).await
    }

    /// [`Self::transact`] for a change's writes, its capacity estimated with the items they
    /// replace.
    pub(crate) async fn transact_set(
        &self,
        set: &WriteSet,
        token: Option<String>,
    ) -> Result<(), TransactError> {
        self.transact_estimated(set.writes.clone(), token, set.estimate())
            .await
    }

    /// [`Self::transact`] with the capacity estimated by the caller.
    pub(crate) async fn transact_estimated(
        &self,
        writes: Vec<TransactWriteItem>,
        token: Option<String>,
        estimate: f64,
    ) -> Result<(), TransactError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Without the caller's token, a fresh one per call, which the call's own attempts
            // repeat: an attempt whose answer was lost (a timeout, a dropped connection) may have
            // committed, and its retry is then answered with success instead of failing its own
            // conditions (tests/faults.rs loses such an answer on purpose).
            let drawn = token.is_none();
            let call_token = token
                .clone()
                .unwrap_or_else(|| ulid::Ulid::new().to_string());
            let failure = match self.requests.transact(&writes, &call_token).await {
                Ok(units) => {
                    self.usage.record(Kind::Write, units, estimate);
                    return Ok(());
                }
                Err(failure) => failure,
            };
            // What a cancelled transaction is charged is not documented per item; count none.
            self.usage.record(Kind::Write, 0.0, 0.0);
            let code = failure.refusal().map(|r| r.code.as_str());
            if drawn
                && code == Some("IdempotentParameterMismatchException")
                && attempt < TRANSACTION_ATTEMPTS
            {
                // The token drawn for this call was one an applied transaction with other
                // writes had used: DynamoDB applied nothing of this one, so it goes again with
                // a new token. Random tokens should never meet; say so when they do.
                let error = StoreError::from(failure);
                tracing::warn!(%error, "transaction token already used; sent again");
                continue;
            }
            let cancellation = failure
                .refusal()
                .filter(|r| r.code == "TransactionCanceledException")
                .map(|r| Cancellation::of(&cancellation_reasons(r)));
            match cancellation {
                Some(Cancellation::Conditions(failed)) => return Err(Cancelled(failed)),
                Some(Cancellation::Conflict | Cancellation::Throttled)
                    if attempt < TRANSACTION_ATTEMPTS =>
                {
                    backoff(attempt).await;
                }
                Some(Cancellation::Conflict) => return Err(Cancelled(Vec::new())),
                Some(Cancellation::Throttled) => {
                    return Err(Failed(StoreError::Unavailable(Box::new(failure))));
                }
                Some(Cancellation::Refused) | None => {
                    return Err(Failed(StoreError::from(failure)));
                }
            }
        }
    }
}

/// A change that travels in the same transaction as a customer change.
#[derive(Debug, Clone)]
pub enum Companion {
    /// `user` becomes responsible for the customer; the assignment record is built from the
    /// customer as it is after the change.
    Assign {
        user: String,
        by: String,
        at: DateTime<Utc>,
    },
    /// The user id whose assignment ends.
    Unassign(String),
    /// A new site of the customer (the card's `sites_count` goes up with it), with the
    /// request's idempotency record if it sent a key.
    LinkSite(Box<domain::Site>, Option<Box<IdempotencyRecord>>),
    /// A site the customer lets go (`sites_count` goes down), as it was read: deleted when no
    /// record names it, else kept as `unlinked` (`keep`) so that past work stays traceable.
    /// Either write is conditional on the version it was read at.
    UnlinkSite { site: Box<domain::Site>, keep: bool },
}

pub(crate) fn attribute<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

/// What [`CustomerStore::query_records`] reads: a partition of the table or of an index, the
/// records whose sort key starts with `prefix`, those that pass every filter.
pub(crate) struct RecordQuery<'a> {
    pub index: Option<&'static str>,
    pub partition_attr: &'static str,
    pub sort_attr: &'static str,
    pub partition: String,
    pub prefix: Option<&'a str>,
    /// Sort keys from the first to the second, both included (instead of `prefix`).
    pub between: Option<(String, String)>,
    pub filters: Vec<crate::listing::Condition>,
    /// Only the items' keys come back (what they are, not what they hold); DynamoDB still
    /// charges for the whole items it reads.
    pub keys_only: bool,
    pub limit: i32,
    pub cursor: Option<&'a str>,
    pub ascending: bool,
}

impl RecordQuery<'_> {
    /// A partition of the table, everything in it, oldest first.
    pub fn partition(partition: String) -> Self {
        Self {
            index: None,
            partition_attr: PK,
            sort_attr: SK,
            partition,
            prefix: None,
            between: None,
            filters: Vec::new(),
            keys_only: false,
            limit: MAX_PAGE,
            cursor: None,
            ascending: true,
        }
    }
}

/// Where a name search reads one name index.
struct NameRead<'a> {
    source: &'a lookups::NameSource,
    prefix: &'a str,
    after: Option<&'a str>,
    ascending: bool,
}

pub(crate) enum TransactError {
    /// Indexes of the items whose condition failed.
    Cancelled(Vec<usize>),
    Failed(StoreError),
}
pub(crate) use TransactError::{Cancelled, Failed};

/// The writes of one change, and what the failure of each conditional one means.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteSet {
    pub writes: Vec<TransactWriteItem>,
    guarded: Vec<(usize, Guarded)>,
    /// The items some writes replace or delete, as stored, by the write's position: DynamoDB
    /// bills a change by what it changes ([`capacity::write_units`]).
    replaced: BTreeMap<usize, Item>,
}

/// What a failed condition of a [`WriteSet`] means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guarded {
    /// The customer item: it exists already (create) or changed since it was read (replace).
    Customer,
    Number,
    ExternalRef,
    OrgNumber,
    Idempotency,
    /// A site to link exists already, or one to unlink changed since it was read.
    Site,
}

impl WriteSet {
    pub fn push(&mut self, write: TransactWriteItem) {
        self.writes.push(write);
    }

    pub(crate) fn push_conditional(&mut self, write: TransactWriteItem, guarded: Guarded) {
        self.guarded.push((self.writes.len(), guarded));
        self.writes.push(write);
    }

    /// The item the write pushed last replaces or deletes, as it is stored.
    pub(crate) fn replacing(&mut self, old: Item) {
        let last = self
            .writes
            .len()
            .checked_sub(1)
            .expect("a write was pushed");
        self.replaced.insert(last, old);
    }

    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// Another change's writes after these, in the same transaction.
    pub fn append(&mut self, other: WriteSet) {
        let offset = self.writes.len();
        self.guarded
            .extend(other.guarded.into_iter().map(|(i, g)| (i + offset, g)));
        self.replaced.extend(
            other
                .replaced
                .into_iter()
                .map(|(i, item)| (i + offset, item)),
        );
        self.writes.extend(other.writes);
    }

    /// The write units DynamoDB bills for these writes in one transaction.
    pub fn estimate(&self) -> f64 {
        capacity::transaction_units(&self.writes, &self.replaced)
    }

    /// The decisive failure among the failed indexes (relative to this set): a taken number
    /// or reference before a stale version, since retrying cannot cure the former.
    pub fn failed(&self, failed: &[usize]) -> Option<Guarded> {
        let hit = |wanted: Guarded| {
            self.guarded
                .iter()
                .any(|(i, g)| *g == wanted && failed.contains(i))
        };
        [
            Guarded::Idempotency,
            Guarded::Number,
            Guarded::ExternalRef,
            Guarded::OrgNumber,
            Guarded::Site,
            Guarded::Customer,
        ]
        .into_iter()
        .find(|g| hit(*g))
    }
}

impl Guarded {
    /// The store error a failed condition stands for; none recognised means a concurrent
    /// change (an old guard freed meanwhile, say): re-read and try again.
    pub fn error(failure: Option<Guarded>) -> StoreError {
        match failure {
            Some(Guarded::Number) => StoreError::NumberTaken,
            Some(Guarded::ExternalRef) => StoreError::ExternalRefTaken,
            Some(Guarded::OrgNumber) => StoreError::OrgNumberTaken,
            _ => StoreError::VersionConflict,
        }
    }
}

/// The guards of a customer's external references.
fn external_ref_keys(tenant: &TenantId, customer: &Customer) -> BTreeSet<keys::Key> {
    customer
        .fields
        .external_refs
        .iter()
        .map(|r| keys::external_ref_guard(tenant, r.system, &r.id))
        .collect()
}

/// DynamoDB refused the transaction because its ClientRequestToken belongs to another one.
/// Why DynamoDB cancelled a transaction, read from its reasons (one per item, `None` or
/// `"None"` for the items that were fine).
#[derive(Debug, PartialEq)]
enum Cancellation {
    /// These items' conditions failed: that decides, whatever else happened.
    Conditions(Vec<usize>),
    /// Another transaction held an item: the same writes may pass when sent again.
    Conflict,
    /// A partition, the table or the account was over its throughput: nothing was written and
    /// the same writes pass later. Hot partitions do this (docs/data-model.md, Scale
    /// envelope); it is not the caller's fault, so it is retried and then "unavailable", not a
    /// failure of the request.
    Throttled,
    /// Anything else (a ValidationError, an item collection over 10 GB): sending the same
    /// writes again changes nothing.
    Refused,
}

impl Cancellation {
    fn of(reasons: &[Option<String>]) -> Self {
        let with = |codes: &[&str]| -> Vec<usize> {
            reasons
                .iter()
                .enumerate()
                .filter(|(_, r)| r.as_deref().is_some_and(|code| codes.contains(&code)))
                .map(|(i, _)| i)
                .collect()
        };
        let failed = with(&["ConditionalCheckFailed"]);
        if !failed.is_empty() {
            Self::Conditions(failed)
        } else if !with(&["TransactionConflict"]).is_empty() {
            Self::Conflict
        } else if !with(&[
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
            "RequestLimitExceeded",
        ])
        .is_empty()
        {
            Self::Throttled
        } else {
            Self::Refused
        }
    }
}

/// Exponential backoff with a little jitter from the clock, capped at ~1 s.
pub(crate) async fn backoff(attempt: u32) {
    let base = 25u64 << attempt.min(5);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_micros())
            .unwrap_or(0),
    ) % base;
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

impl CustomerStore {
    /// What a conditional write of one item came to, its capacity recorded either way: the
    /// answer when it applied, `None` when DynamoDB refused its condition (which DynamoDB
    /// bills too: the `estimate` stands for both).
    pub(crate) fn conditional_write(
        &self,
        result: Result<Written, Failure>,
        estimate: f64,
    ) -> Result<Option<Written>, StoreError> {
        match result {
            Ok(written) => {
                self.usage.record(Kind::Write, written.units, estimate);
                Ok(Some(written))
            }
            Err(failure) if failure.is_refusal("ConditionalCheckFailedException") => {
                self.usage.record(Kind::Write, 0.0, estimate);
                Ok(None)
            }
            Err(failure) => Err(StoreError::from(failure)),
        }
    }

    /// A write without a condition, metered.
    pub(crate) fn written(
        &self,
        result: Result<Written, Failure>,
        estimate: f64,
    ) -> Result<Written, StoreError> {
        let written = result.map_err(StoreError::from)?;
        self.usage.record(Kind::Write, written.units, estimate);
        Ok(written)
    }
}

/// The customers `find` gives for `value`, none without a value.
async fn found_by<'a, Found>(
    value: Option<&'a str>,
    find: impl FnOnce(&'a str) -> Found,
) -> Result<Vec<Customer>, StoreError>
where
    Found: std::future::Future<Output = Result<Vec<Customer>, StoreError>>,
{
    match value {
        Some(value) => find(value).await,
        None => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use domain::ChangeKind;

    use super::*;
    use crate::lookups::tests::{customer, person};

    /// A store that is never called: what it would write is built without a request.
    fn offline_store() -> CustomerStore {
        use aws_sdk_dynamodb::config::{
            BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
        };
        let credentials = Credentials::new("AKID", "secret", None, None, "test");
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-north-1"))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        CustomerStore::new(&config, "table")
    }

    /// A person with an e-mail and a mobile, and the same person with another e-mail.
    fn person_before_and_after_an_email_change() -> (Customer, Customer) {
        let before = customer(person());
        let mut after = before.clone();
        after.version += 1;
        after.fields.email = Some("anna.berg@example.com".into());
        (before, after)
    }

    #[test]
    fn an_email_change_is_estimated_as_dynamodb_bills_it() {
        let tenant = TenantId::parse("acme").unwrap();
        let (before, after) = person_before_and_after_an_email_change();
        let history = HistoryEntry::of(ChangeKind::Updated, Some(&before), &after);
        let set = offline_store().replace_writes(&tenant, &before, &after, &history);
        // The card (2, in a transaction) and its three list entries, changed in place (3);
        // the history entry (2); the guard put again (2) with its e-mail entry moved, a delete
        // and a put (2): its mobile and name entries kept their keys and cost nothing.
        assert_eq!(set.estimate(), 5.0 + 2.0 + 4.0);
    }

    fn reasons(codes: &[&str]) -> Vec<Option<String>> {
        codes.iter().map(|c| Some((*c).to_owned())).collect()
    }

    #[test]
    fn a_failed_condition_decides_a_cancelled_transaction() {
        let judged = Cancellation::of(&reasons(&[
            "None",
            "ConditionalCheckFailed",
            "TransactionConflict",
            "ThrottlingError",
        ]));
        assert_eq!(judged, Cancellation::Conditions(vec![1]));
    }

    #[test]
    fn a_conflict_or_throttling_is_sent_again_and_anything_else_is_refused() {
        let conflict = reasons(&["None", "TransactionConflict"]);
        assert_eq!(Cancellation::of(&conflict), Cancellation::Conflict);
        for code in [
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
            "RequestLimitExceeded",
        ] {
            assert_eq!(
                Cancellation::of(&reasons(&["None", code])),
                Cancellation::Throttled
            );
        }
        assert_eq!(
            Cancellation::of(&reasons(&["ValidationError", "None"])),
            Cancellation::Refused
        );
        assert_eq!(
            Cancellation::of(&[None, Some("ItemCollectionSizeLimitExceeded".into())]),
            Cancellation::Refused
        );
    }
}
