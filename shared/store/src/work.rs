//! A customer's work, in the customer's partition: work orders (`WORKORDER#<id>`, their tasks
//! inside), jobs (`JOB#<id>`, listed by scheduled start through GSI4), tickets
//! (`TICKET#<id>`, by time) and the inventory lines the tickets add up to (`STOCK#...`).
//! Every write that depends on another record checks it in the same transaction: a new work
//! order the customer's version (the call-off rule was decided on it), a new job its work
//! order's version, a new ticket that its job is not cancelled.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use domain::{
    CustomerId, HistoryEntry, Job, Quantity, StockKey, StockLine, Ticket, WorkOrder, WorkOrderKind,
    WorkStatus,
};

use crate::customers::{Cancelled, Failed, RecordQuery};
use crate::items::{self, Item, VERSION};
use crate::keys::{self, TenantId};
use crate::listing::{Condition, equals};
use crate::sites::CascadeError;
use crate::{CustomerStore, IdempotencyRecord, Page, StoreError};

/// Which of a customer's work orders to list.
#[derive(Debug, Clone, Default)]
pub struct WorkOrderFilter {
    pub kind: Option<WorkOrderKind>,
    pub status: Option<WorkStatus>,
}

/// Which of a customer's jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub status: Option<WorkStatus>,
    pub work_order_id: Option<String>,
}

/// Attributes of an inventory line (the rest is in its key and in [`StockKey`]'s names).
const STOCK_QUANTITY: &str = "quantityThousandths";
const STOCK_TICKETS: &str = "tickets";

impl CustomerStore {
    /// Saves a new work order, on condition that the customer is still at `customer_version`:
    /// the call-off rule was decided on that version (VersionConflict: decide again).
    /// With `idempotency`, the answer is stored in the same transaction; a retry with the
    /// same key finds it (`StoreError::IdempotencyKeyUsed`) instead of making a second one.
    pub async fn create_work_order(
        &self,
        tenant: &TenantId,
        work_order: &WorkOrder,
        customer_version: u64,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        let customer = keys::customer(tenant, &work_order.customer_id);
        let item = items::work_order_item(tenant, work_order);
        self.put_new_if_still(tenant, customer, customer_version, item, idempotency)
            .await
    }

    pub async fn work_order(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        id: &str,
    ) -> Result<Option<WorkOrder>, StoreError> {
        self.child(keys::work_order(tenant, customer, id)).await
    }

    /// One page of the customer's work orders by creation; kind and status are filters.
    pub async fn work_orders(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        filter: &WorkOrderFilter,
        limit: i32,
        cursor: Option<&str>,
        ascending: bool,
    ) -> Result<Page<WorkOrder>, StoreError> {
        let mut filters = Vec::new();
        if let Some(kind) = filter.kind {
            filters.push(equals("kind", enum_value(&kind)));
        }
        if let Some(status) = filter.status {
            filters.push(equals("status", enum_value(&status)));
        }
        self.records(RecordQuery {
            prefix: Some(keys::WORK_ORDER_PREFIX),
            filters,
            limit,
            cursor,
            ascending,
            ..RecordQuery::partition(keys::customer_partition(tenant, customer))
        })
        .await
    }

    /// Saves `after` if the work order is still at `expected`, with the jobs that change with
    /// it (each at the version it was read at), all or nothing.
    pub async fn replace_work_order(
        &self,
        tenant: &TenantId,
        after: &WorkOrder,
        expected: u64,
        jobs: &[(u64, Job)],
    ) -> Result<(), StoreError> {
        let item = items::work_order_item(tenant, after);
        if jobs.is_empty() {
            return self
                .put_conditionally(item, "#version = :expected", Some(expected))
                .await;
        }
        let mut writes = vec![self.put_if_version(item, expected)];
        for (version, job) in jobs {
            writes.push(self.put_if_version(items::job_item(tenant, job), *version));
        }
        self.transact_or_conflict(writes).await
    }

    /// Saves a new job, on condition that its work order is still at `work_order_version`
    /// (a work order cancelled meanwhile gets no new visit).
    /// `idempotency` as for [`CustomerStore::create_work_order`].
    pub async fn create_job(
        &self,
        tenant: &TenantId,
        job: &Job,
        work_order_version: u64,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        let work_order = keys::work_order(tenant, &job.customer_id, &job.work_order_id);
        let item = items::job_item(tenant, job);
        self.put_new_if_still(tenant, work_order, work_order_version, item, idempotency)
            .await
    }

    pub async fn job(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        id: &str,
    ) -> Result<Option<Job>, StoreError> {
        self.child(keys::job(tenant, customer, id)).await
    }

    /// One page of the customer's jobs by scheduled start (GSI4, eventually consistent).
    pub async fn jobs(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        filter: &JobFilter,
        limit: i32,
        cursor: Option<&str>,
        ascending: bool,
    ) -> Result<Page<Job>, StoreError> {
        self.records(RecordQuery {
            index: Some(keys::GSI4),
            partition_attr: keys::GSI4PK,
            sort_attr: keys::GSI4SK,
            filters: job_filters(filter),
            limit,
            cursor,
            ascending,
            ..RecordQuery::partition(keys::jobs_by_start(tenant, customer))
        })
        .await
    }

    /// One page of the customer's jobs in id order, strongly consistent: what the cascade and
    /// a cancellation must not miss.
    pub async fn jobs_in_partition(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        filter: &JobFilter,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Job>, StoreError> {
        self.records(RecordQuery {
            prefix: Some(keys::JOB_PREFIX),
            filters: job_filters(filter),
            limit,
            cursor,
            ..RecordQuery::partition(keys::customer_partition(tenant, customer))
        })
        .await
    }

    /// Every open job of one work order (the pages of the customer's jobs, filtered).
    pub async fn open_jobs_of(
        &self,
        tenant: &TenantId,
        work_order: &WorkOrder,
    ) -> Result<Vec<Job>, StoreError> {
        let filter = JobFilter {
            status: None,
            work_order_id: Some(work_order.id.clone()),
        };
        let mut open = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .jobs_in_partition(
                    tenant,
                    &work_order.customer_id,
                    &filter,
                    crate::MAX_PAGE,
                    cursor.as_deref(),
                )
                .await?;
            open.extend(page.items.into_iter().filter(|j| j.fields.status.is_open()));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(open),
            }
        }
    }

    /// Saves `after` if the job is still at `expected`.
    pub async fn replace_job(
        &self,
        tenant: &TenantId,
        after: &Job,
        expected: u64,
    ) -> Result<(), StoreError> {
        let item = items::job_item(tenant, after);
        self.put_conditionally(item, "#version = :expected", Some(expected))
            .await
    }

    /// Saves a ticket and adds it to its inventory line, on condition that its job is not
    /// cancelled (VersionConflict otherwise: read the job again).
    pub async fn create_ticket(
        &self,
        tenant: &TenantId,
        ticket: &Ticket,
    ) -> Result<(), StoreError> {
        let job = keys::job(tenant, &ticket.customer_id, &ticket.fields.job_id);
        let check = ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(job)))
            .condition_expression("attribute_exists(PK) AND #status <> :cancelled")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":cancelled", AttributeValue::S("cancelled".into()))
            .build()
            .expect("table, key and condition are set");
        let writes = vec![
            TransactWriteItem::builder().condition_check(check).build(),
            self.put_new(items::ticket_item(tenant, ticket)),
            self.add_to_stock(tenant, ticket),
        ];
        self.transact_or_conflict(writes).await
    }

    pub async fn ticket(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        id: &str,
    ) -> Result<Option<Ticket>, StoreError> {
        self.child(keys::ticket(tenant, customer, id)).await
    }

    /// One page of the customer's tickets by time; optionally one job's.
    pub async fn tickets(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        job_id: Option<&str>,
        limit: i32,
        cursor: Option<&str>,
        ascending: bool,
    ) -> Result<Page<Ticket>, StoreError> {
        let filters = job_id
            .map(|id| vec![equals("jobId", AttributeValue::S(id.to_owned()))])
            .unwrap_or_default();
        self.records(RecordQuery {
            prefix: Some(keys::TICKET_PREFIX),
            filters,
            limit,
            cursor,
            ascending,
            ..RecordQuery::partition(keys::customer_partition(tenant, customer))
        })
        .await
    }

    /// One page of the customer's inventory, by site, unit and material.
    pub async fn stock(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<StockLine>, StoreError> {
        let page = self
            .query_records(RecordQuery {
                prefix: Some(keys::STOCK_PREFIX),
                limit,
                cursor,
                ..RecordQuery::partition(keys::customer_partition(tenant, customer))
            })
            .await?;
        Ok(Page {
            items: page
                .items
                .iter()
                .map(stock_line_from_item)
                .collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// [`CustomerStore::cascade_sites`] for work orders.
    pub async fn cascade_work_orders(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        changed: &[(u64, WorkOrder)],
        history: &HistoryEntry,
    ) -> Result<(), CascadeError> {
        let items = changed
            .iter()
            .map(|(expected, w)| (*expected, items::work_order_item(tenant, w)))
            .collect();
        self.cascade(tenant, customer, items, history).await
    }

    /// [`CustomerStore::cascade_sites`] for jobs.
    pub async fn cascade_jobs(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        changed: &[(u64, Job)],
        history: &HistoryEntry,
    ) -> Result<(), CascadeError> {
        let items = changed
            .iter()
            .map(|(expected, job)| (*expected, items::job_item(tenant, job)))
            .collect();
        self.cascade(tenant, customer, items, history).await
    }

    /// A page of records of one type.
    async fn records<T: serde::de::DeserializeOwned>(
        &self,
        query: RecordQuery<'_>,
    ) -> Result<Page<T>, StoreError> {
        let page = self.query_records(query).await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(items::record_from_item)
                .collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// Puts a new item on condition that the record it depends on (`checked`) is still at
    /// `version`; VersionConflict when it is not (or the item exists).
    /// Puts a new `item` on condition that `checked` is still at `version`, with the request's
    /// idempotency record if it has one.
    async fn put_new_if_still(
        &self,
        tenant: &TenantId,
        checked: keys::Key,
        version: u64,
        item: Item,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        let check = ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(checked)))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":expected", AttributeValue::N(version.to_string()))
            .build()
            .expect("table, key and condition are set");
        let writes = vec![
            TransactWriteItem::builder().condition_check(check).build(),
            self.put_new(item),
        ];
        self.transact_idempotent(tenant, writes, idempotency).await
    }

    /// Runs `writes` as one transaction with the request's idempotency record, if it has one:
    /// a record already there means the request was made before
    /// (`StoreError::IdempotencyKeyUsed`, with the first answer); any other failed condition
    /// is a conflict.
    pub(crate) async fn transact_idempotent(
        &self,
        tenant: &TenantId,
        mut writes: Vec<TransactWriteItem>,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        let Some(record) = idempotency else {
            return self.transact_or_conflict(writes).await;
        };
        let guard = writes.len();
        writes.push(self.put_new(items::idempotency_item(tenant, record)));
        match self.transact(writes, None).await {
            Ok(()) => Ok(()),
            Err(Cancelled(failed)) if failed.contains(&guard) => {
                Err(self.idempotency_replay(tenant, &record.key).await?)
            }
            Err(Cancelled(_)) => Err(StoreError::VersionConflict),
            Err(Failed(e)) => Err(e),
        }
    }

    /// ADD is commutative: concurrent tickets on one line both count, without a read.
    fn add_to_stock(&self, tenant: &TenantId, ticket: &Ticket) -> TransactWriteItem {
        let line = ticket.stock_key();
        let key = keys::stock_line(tenant, &ticket.customer_id, &line);
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(key)))
            .update_expression(
                "SET #entity = :entity, customerId = :customer, siteId = :site, #unit = :unit, \
                 material = :material, updatedAt = :now ADD #quantity :quantity, #tickets :one",
            )
            .expression_attribute_names("#entity", keys::ENTITY)
            .expression_attribute_names("#unit", "unit")
            .expression_attribute_names("#quantity", STOCK_QUANTITY)
            .expression_attribute_names("#tickets", STOCK_TICKETS)
            .expression_attribute_values(":entity", AttributeValue::S("StockLine".into()))
            .expression_attribute_values(
                ":customer",
                AttributeValue::S(ticket.customer_id.0.clone()),
            )
            .expression_attribute_values(":site", AttributeValue::S(line.site_id))
            .expression_attribute_values(":unit", AttributeValue::S(line.unit))
            .expression_attribute_values(":material", AttributeValue::S(line.material))
            .expression_attribute_values(":now", AttributeValue::S(ticket.created_at.to_rfc3339()))
            .expression_attribute_values(
                ":quantity",
                AttributeValue::N(ticket.fields.quantity.0.to_string()),
            )
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    /// A transaction whose failed condition means "changed meanwhile".
    async fn transact_or_conflict(&self, writes: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        match self.transact(writes, None).await {
            Ok(()) => Ok(()),
            Err(Cancelled(_)) => Err(StoreError::VersionConflict),
            Err(Failed(e)) => Err(e),
        }
    }
}

fn job_filters(filter: &JobFilter) -> Vec<Condition> {
    let mut filters = Vec::new();
    if let Some(status) = filter.status {
        filters.push(equals("status", enum_value(&status)));
    }
    if let Some(id) = &filter.work_order_id {
        filters.push(equals("workOrderId", AttributeValue::S(id.clone())));
    }
    filters
}

/// An enum as it is stored: its JSON name.
fn enum_value<T: serde::Serialize>(value: &T) -> AttributeValue {
    let name = serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    AttributeValue::S(name)
}

fn stock_line_from_item(item: &Item) -> Result<StockLine, StoreError> {
    let text = |name: &str| -> Result<String, StoreError> {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| corrupt(name))
    };
    let number = |name: &str| -> Result<i64, StoreError> {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| corrupt(name))
    };
    let updated_at: DateTime<Utc> = text("updatedAt")?
        .parse()
        .map_err(|_| corrupt("updatedAt"))?;
    Ok(StockLine {
        key: StockKey {
            site_id: text("siteId")?,
            unit: text("unit")?,
            material: text("material")?,
        },
        quantity: Quantity(number(STOCK_QUANTITY)?),
        tickets: u64::try_from(number(STOCK_TICKETS)?).unwrap_or(0),
        updated_at,
    })
}

fn corrupt(attribute: &str) -> StoreError {
    use serde::de::Error;
    StoreError::Corrupt(serde_dynamo::Error::custom(format!(
        "an inventory line without a valid {attribute}"
    )))
}
