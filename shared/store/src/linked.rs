//! The one path every linked record (a site, a contract, a work order, a job, a ticket) takes to
//! and from the table. Each kind declares where it lives ([`Stored`]); reading one, a page,
//! all of a customer's, creating one and changing one are written once for every kind, and so
//! are the conditions a write depends on ([`Depends`]): the rule that allowed it was decided on
//! what was read, and the write happens only if that is still so.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use chrono::{NaiveDate, Utc};
use domain::{
    Cascaded, Contract, CustomerId, HistoryEntry, Job, Linked, Note, Site, Ticket, WorkOrder,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cascade::CascadeError;
use crate::customers::RecordQuery;
use crate::items::{self, Item, VERSION};
use crate::keys::{self, TenantId};
use crate::{CustomerStore, IdempotencyRecord, MAX_PAGE, Page, StoreError, capacity};

/// Where a kind of linked record lives: in its customer's partition, under a sort-key prefix.
pub trait Stored: Linked + Serialize + DeserializeOwned + Clone {
    /// The sort-key prefix of the kind in the customer's partition.
    const PREFIX: &'static str;

    /// Whether its items carry a version to write on condition of (tickets, never changed, do
    /// not).
    const VERSIONED: bool = true;

    /// The key of the record `id` of `customer`.
    fn key(tenant: &TenantId, customer: &CustomerId, id: &str) -> keys::Key;

    /// The item as stored (with any index keys the kind has).
    fn item(&self, tenant: &TenantId) -> Item;

    /// The record as of today, for kinds whose status follows time; most are stored as they are.
    fn read_as_of(self, _today: NaiveDate) -> Self {
        self
    }
}

impl Stored for Site {
    const PREFIX: &'static str = keys::SITE_PREFIX;
    fn key(tenant: &TenantId, customer: &CustomerId, id: &str) -> keys::Key {
        keys::site(tenant, customer, id)
    }
    fn item(&self, tenant: &TenantId) -> Item {
        items::site_item(tenant, self)
    }
}

impl Stored for Contract {
    const PREFIX: &'static str = keys::CONTRACT_PREFIX;
    fn key(tenant: &TenantId, customer: &CustomerId, id: &str) -> keys::Key {
        keys::contract(tenant, customer, id)
    }
    fn item(&self, tenant: &TenantId) -> Item {
        items::contract_item(tenant, self)
    }
    /// Contracts expire after their period by themselves (see `Contract::as_of`).
    fn read_as_of(self, today: NaiveDate) -> Self {
        self.as_of(today)
    }
}

impl Stored for WorkOrder {
    const PREFIX: &'static str = keys::WORK_ORDER_PREFIX;
    fn key(tenant: &TenantId, customer: &CustomerId, id: &str) -> keys::Key {
        keys::work_order(tenant, customer, id)
    }
    fn item(&self, tenant: &TenantId) -> Item {
        items::work_order_item(tenant, self)
    }
}

impl Stored for Job {
    const PREFIX: &'static str = keys::JOB_PREFIX;
    fn key(tenant: &TenantId, customer: &CustomerId, id: &str) -> keys::Key {
        keys::job(tenant, customer, id)
    }
    fn item(&self, tenant: &TenantId) -> Item {
        items::job_item(tenant, self)
    }
}

impl Stored for Ticket {
    const PREFIX: &'static str = keys::TICKET_PREFIX;
    const VERSIONED: bool = false;
    fn key(tenant: &TenantId, customer: &CustomerId, id: &str) -> keys::Key {
        keys::ticket(tenant, customer, id)
    }
    fn item(&self, tenant: &TenantId) -> Item {
        items::ticket_item(tenant, self)
    }
}

impl Stored for Note {
    const PREFIX: &'static str = keys::NOTE_PREFIX;
    fn key(tenant: &TenantId, customer: &CustomerId, id: &str) -> keys::Key {
        keys::note(tenant, customer, id)
    }
    fn item(&self, tenant: &TenantId) -> Item {
        items::note_item(tenant, self)
    }
}

/// What [`CustomerStore::kinds_found`] found: the kinds it saw records of, and how far it read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindsFound {
    found: Vec<&'static str>,
    /// The sort key of the last item read when the Query stopped at its limit (its
    /// LastEvaluatedKey); none when it read the whole range.
    stopped_at: Option<String>,
}

impl KindsFound {
    /// Whether the customer may have records under `prefix`: some were seen, or the read
    /// stopped before it had passed every key the prefix begins. `false` is certain as of the
    /// read (strongly consistent); `true` only means "look".
    pub fn may_hold(&self, prefix: &str) -> bool {
        self.found.contains(&prefix)
            || self
                .stopped_at
                .as_deref()
                .is_some_and(|last| last < prefix || last.starts_with(prefix))
    }
}

/// What a write of a linked record depends on, checked in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Depends {
    /// The customer is still at this version: whether it may take the record (active, the
    /// call-off rule) was decided on it. A deactivation racing the write either lands first
    /// (the write fails) or after (the cascade then takes the record).
    Customer(u64),
    /// The work order (of the same customer) is still at this version.
    WorkOrder { id: String, version: u64 },
    /// The job (of the same customer) exists and is not cancelled.
    JobNotCancelled(String),
    /// The site (of the same customer) exists and is active.
    SiteActive(String),
}

/// The write of a new linked record.
pub struct Link<'a, T> {
    pub record: &'a T,
    pub depends: Vec<Depends>,
    /// The request's idempotency record, stored with the record.
    pub idempotency: Option<&'a IdempotencyRecord>,
}

/// The largest number of records one cancellation writes in one transaction (with the record
/// they depend on and a condition: within DynamoDB's 100 actions).
pub const WRITES_PER_TRANSACTION: usize = 90;

impl CustomerStore {
    /// One linked record of the customer by id.
    pub async fn linked<T: Stored>(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        linked_from(self.get_item(T::key(tenant, customer, id)).await?)
    }

    /// The customer and one of its linked records by id, strongly consistent, in one
    /// BatchGetItem: the same capacity as two GetItems, half the requests (each costs a stream
    /// consumer more CPU than the rest of its work: docs/architecture.md#performance).
    pub async fn customer_and_linked<T: Stored>(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        id: &str,
    ) -> Result<(Option<domain::Customer>, Option<T>), StoreError> {
        let wanted = [
            keys::customer(tenant, customer),
            T::key(tenant, customer, id),
        ];
        let mut each = self.batch_get_each(&wanted).await?.into_iter();
        let card = each
            .next()
            .flatten()
            .map(items::customer_from_item)
            .transpose()?;
        Ok((card, linked_from(each.next().flatten())?))
    }

    /// One page of the customer's records of a kind in id (creation) order, strongly
    /// consistent: what the cascade and an unlink check must not miss.
    pub async fn linked_page<T: Stored>(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        limit: i32,
        cursor: Option<&str>,
        ascending: bool,
    ) -> Result<Page<T>, StoreError> {
        let page = self
            .query_records(RecordQuery {
                prefix: Some(T::PREFIX),
                limit,
                cursor,
                ascending,
                ..RecordQuery::partition(keys::customer_partition(tenant, customer))
            })
            .await?;
        let today = today();
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|item| read_linked(item, today))
                .collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// Every record of a kind of the customer that passes `keep` (all pages).
    pub async fn all_linked<T: Stored>(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, StoreError> {
        let mut kept = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .linked_page::<T>(tenant, customer, MAX_PAGE, cursor.as_deref(), true)
                .await?;
            kept.extend(page.items.into_iter().filter(|r| keep(r)));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(kept),
            }
        }
    }

    /// Which of the kinds under `prefixes` the customer has records of, at most `limit` items
    /// read: one strongly consistent Query over the keys from the first prefix to the end of
    /// the last, answering only the items' keys. Where several kinds would take a Query each to
    /// look at, this is one request, and for a customer whose items in that range are fewer than
    /// `limit`, the answer for every kind. It costs the read of every item in the range up to
    /// `limit` (the card, history entries and other kinds between the prefixes too). No filter
    /// keeps the kinds' keys alone: DynamoDB refuses a filter on a key attribute, and the keys
    /// of at most `limit` items are a small answer.
    pub async fn kinds_found(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        prefixes: &[&'static str],
        limit: i32,
    ) -> Result<KindsFound, StoreError> {
        let (Some(first), Some(last)) = (prefixes.iter().min(), prefixes.iter().max()) else {
            return Ok(KindsFound::default());
        };
        let (items, stopped) = self
            .query_from(
                &RecordQuery {
                    between: Some(((*first).to_owned(), keys::end_of_prefix(last))),
                    keys_only: true,
                    limit,
                    ..RecordQuery::partition(keys::customer_partition(tenant, customer))
                },
                None,
            )
            .await?;
        let sort_keys: Vec<&str> = items
            .iter()
            .filter_map(|item| item.get(keys::SK)?.as_s().ok().map(String::as_str))
            .collect();
        Ok(KindsFound {
            found: prefixes
                .iter()
                .copied()
                .filter(|prefix| sort_keys.iter().any(|sk| sk.starts_with(prefix)))
                .collect(),
            stopped_at: stopped.and_then(|key| key.get(keys::SK)?.as_s().ok().cloned()),
        })
    }

    /// Saves a new record on the conditions it depends on, with the request's idempotency
    /// record if it has one: VersionConflict when a condition failed (read and decide again),
    /// IdempotencyKeyUsed when the request was made before.
    pub async fn link<T: Stored>(
        &self,
        tenant: &TenantId,
        link: Link<'_, T>,
    ) -> Result<(), StoreError> {
        self.link_with(tenant, link, Vec::new()).await
    }

    /// [`CustomerStore::link`] with an entry in the customer's history, when the kind records
    /// its records there (notes), in the same transaction.
    pub async fn link_recorded<T: Stored>(
        &self,
        tenant: &TenantId,
        link: Link<'_, T>,
        history: Option<&HistoryEntry>,
    ) -> Result<(), StoreError> {
        let customer = link.record.customer_id().clone();
        let also = history
            .map(|entry| self.put_new(items::history_item(tenant, &customer, entry)))
            .into_iter()
            .collect();
        self.link_with(tenant, link, also).await
    }

    /// Saves `after` if the record is still at `expected`, with its entry in the customer's
    /// history, in one transaction. VersionConflict when the record changed meanwhile.
    pub async fn change_recorded<T: Stored>(
        &self,
        tenant: &TenantId,
        after: &T,
        expected: u64,
        history: &HistoryEntry,
    ) -> Result<(), StoreError> {
        let writes = vec![
            self.put_if_version(after.item(tenant), expected),
            self.put_new(items::history_item(tenant, after.customer_id(), history)),
        ];
        self.transact_idempotent(tenant, writes, None).await
    }

    /// [`CustomerStore::link`] with further writes in the same transaction.
    pub(crate) async fn link_with<T: Stored>(
        &self,
        tenant: &TenantId,
        link: Link<'_, T>,
        also: Vec<TransactWriteItem>,
    ) -> Result<(), StoreError> {
        let customer = link.record.customer_id();
        let mut writes = self.checks(tenant, customer, &link.depends);
        writes.push(self.put_new(link.record.item(tenant)));
        writes.extend(also);
        if let Some(record) = link.idempotency {
            writes.push(self.put(items::idempotency_ref_item(tenant, customer, record)));
        }
        self.transact_idempotent(tenant, writes, link.idempotency)
            .await
    }

    /// Saves `after` if the record is still at `expected`, on the conditions it depends on.
    /// VersionConflict when anything changed meanwhile.
    pub async fn change<T: Stored>(
        &self,
        tenant: &TenantId,
        after: &T,
        expected: u64,
        depends: &[Depends],
    ) -> Result<(), StoreError> {
        self.change_with::<T, T>(tenant, after, expected, depends, &[])
            .await
    }

    /// [`CustomerStore::change`] with `dependants`: records changed with it, each written at
    /// the version it was read at, all or nothing (at most [`WRITES_PER_TRANSACTION`]).
    pub async fn change_with<T: Stored, D: Stored>(
        &self,
        tenant: &TenantId,
        after: &T,
        expected: u64,
        depends: &[Depends],
        dependants: &[(u64, D)],
    ) -> Result<(), StoreError> {
        let item = after.item(tenant);
        if depends.is_empty() && dependants.is_empty() {
            return self
                .put_conditionally(item, "#version = :expected", Some(expected))
                .await;
        }
        let mut writes = self.checks(tenant, after.customer_id(), depends);
        writes.push(self.put_if_version(item, expected));
        for (version, dependant) in dependants {
            writes.push(self.put_if_version(dependant.item(tenant), *version));
        }
        self.transact_idempotent(tenant, writes, None).await
    }

    /// Writes records of one customer, each at the version it was read at, on the conditions
    /// they depend on; all or nothing (at most [`WRITES_PER_TRANSACTION`]).
    pub async fn change_all<D: Stored>(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        depends: &[Depends],
        records: &[(u64, D)],
    ) -> Result<(), StoreError> {
        let mut writes = self.checks(tenant, customer, depends);
        for (version, record) in records {
            writes.push(self.put_if_version(record.item(tenant), *version));
        }
        self.transact_idempotent(tenant, writes, None).await
    }

    /// Writes records the deactivation cascade closed (each conditional on the version it was
    /// read at) with one history entry in the customer's partition that names them all, on
    /// condition that the customer is still inactive. One transaction: at most 98 records.
    pub async fn close_for_cascade<T: Stored + Cascaded>(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        changed: &[(u64, T)],
        history: &HistoryEntry,
    ) -> Result<(), CascadeError> {
        let items = changed
            .iter()
            .map(|(expected, record)| (*expected, record.item(tenant)))
            .collect();
        self.cascade(tenant, customer, items, history).await
    }

    /// The condition checks of `depends`, in order.
    fn checks(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        depends: &[Depends],
    ) -> Vec<TransactWriteItem> {
        depends
            .iter()
            .map(|depends| {
                let (key, condition, attribute, value) = match depends {
                    Depends::Customer(version) => (
                        keys::customer(tenant, customer),
                        "#a = :v",
                        VERSION,
                        AttributeValue::N(version.to_string()),
                    ),
                    Depends::WorkOrder { id, version } => (
                        keys::work_order(tenant, customer, id),
                        "#a = :v",
                        VERSION,
                        AttributeValue::N(version.to_string()),
                    ),
                    Depends::JobNotCancelled(id) => (
                        keys::job(tenant, customer, id),
                        "attribute_exists(PK) AND #a <> :v",
                        "status",
                        AttributeValue::S("cancelled".into()),
                    ),
                    Depends::SiteActive(id) => (
                        keys::site(tenant, customer, id),
                        "attribute_exists(PK) AND #a = :v",
                        "status",
                        AttributeValue::S("active".into()),
                    ),
                };
                let check = ConditionCheck::builder()
                    .table_name(self.table())
                    .set_key(Some(items::key_of(key)))
                    .condition_expression(condition)
                    .expression_attribute_names("#a", attribute)
                    .expression_attribute_values(":v", value)
                    .build()
                    .expect("table, key and condition are set");
                TransactWriteItem::builder().condition_check(check).build()
            })
            .collect()
    }
}

/// Reads of sites by id (what contracts and the inventory export name), and the conditional put
/// that single-record changes use.
impl CustomerStore {
    /// Which of `site_ids` are sites of the customer.
    pub async fn existing_sites(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        site_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let sites = self.sites_by_id(tenant, customer, site_ids).await?;
        Ok(sites.into_iter().map(|site| site.id).collect())
    }

    /// The customer's sites among `site_ids` (one BatchGetItem per 100; unknown ids left out).
    pub async fn sites_by_id(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        site_ids: &[String],
    ) -> Result<Vec<domain::Site>, StoreError> {
        let mut found = Vec::new();
        for chunk in site_ids.chunks(100) {
            let keys: Vec<keys::Key> = chunk
                .iter()
                .map(|id| keys::site(tenant, customer, id))
                .collect();
            for item in self.batch_get(&keys).await? {
                found.push(items::record_from_item::<domain::Site>(item)?);
            }
        }
        Ok(found)
    }

    /// A PutItem under a condition; a failed condition is VersionConflict.
    pub(crate) async fn put_conditionally(
        &self,
        item: Item,
        condition: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let estimate = capacity::put_units(&item, false);
        let mut put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some(version) = expected_version {
            put = put
                .expression_attribute_names("#version", VERSION)
                .expression_attribute_values(":expected", AttributeValue::N(version.to_string()));
        }
        let put = put.build().expect("table and item are set");
        let result = self.requests().put_item(put).await;
        match self.conditional_write(result, estimate)? {
            Some(_) => Ok(()),
            None => Err(StoreError::VersionConflict),
        }
    }
}

/// A linked record as read: decoded and judged as of today (a contract past its end reads as
/// ended).
pub(crate) fn linked_from<T: Stored>(item: Option<Item>) -> Result<Option<T>, StoreError> {
    let today = today();
    item.map(|item| read_linked(item, today)).transpose()
}

/// A linked record decoded and judged as of `today`.
fn read_linked<T: Stored>(item: Item, today: NaiveDate) -> Result<T, StoreError> {
    Ok(items::record_from_item::<T>(item)?.read_as_of(today))
}

/// The day contracts are judged by (UTC).
fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::KindsFound;
    use crate::keys::{CONTRACT_PREFIX, JOB_PREFIX, SITE_PREFIX, WORK_ORDER_PREFIX};

    fn found(found: &[&'static str], stopped_at: Option<&str>) -> KindsFound {
        KindsFound {
            found: found.to_vec(),
            stopped_at: stopped_at.map(str::to_owned),
        }
    }

    #[test]
    fn a_read_of_the_whole_range_is_certain_about_every_kind() {
        let read = found(&[JOB_PREFIX], None);
        assert!(read.may_hold(JOB_PREFIX));
        for absent in [SITE_PREFIX, CONTRACT_PREFIX, WORK_ORDER_PREFIX] {
            assert!(!read.may_hold(absent), "{absent}");
        }
        assert!(!KindsFound::default().may_hold(SITE_PREFIX));
    }

    #[test]
    fn a_read_that_stopped_is_certain_only_about_the_kinds_it_passed() {
        // Stopped in the history, between contracts and jobs.
        let read = found(&[], Some("HISTORY#01KB0000000000000000000000"));
        assert!(!read.may_hold(CONTRACT_PREFIX), "passed: none there");
        for unread in [JOB_PREFIX, SITE_PREFIX, WORK_ORDER_PREFIX] {
            assert!(read.may_hold(unread), "{unread}");
        }
        // Stopped on a site: more sites may follow, and work orders.
        let read = found(&[SITE_PREFIX], Some("SITE#01KB0000000000000000000000"));
        assert!(read.may_hold(SITE_PREFIX));
        assert!(read.may_hold(WORK_ORDER_PREFIX));
        assert!(!read.may_hold(JOB_PREFIX), "passed: none there");
    }
}
