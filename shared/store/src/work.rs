//! A customer's work, in the customer's partition: work orders (`WORKORDER#<id>`, their tasks
//! inside), jobs (`JOB#<id>`, listed by scheduled start through GSI4), tickets
//! (`TICKET#<id>`, by time) and the inventory lines the tickets add up to (`STOCK#...`).
//! Single records are read and written through [`crate::Stored`] like every linked record;
//! this module holds the lists with their filters, the tickets' inventory lines and the
//! transactions with an idempotency record.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use domain::{
    CustomerId, Job, Quantity, StockKey, StockLine, Ticket, WorkOrder, WorkOrderKind, WorkStatus,
};

use crate::customers::{Cancelled, Failed, RecordQuery};
use crate::items::{self, Item};
use crate::keys::{self, TenantId};
use crate::listing::{Condition, equals};
use crate::{CustomerStore, IdempotencyRecord, Link, Page, StoreError};

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
pub(crate) const STOCK_QUANTITY: &str = "quantityThousandths";
pub(crate) const STOCK_TICKETS: &str = "tickets";

impl CustomerStore {
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

    /// Saves a ticket on the conditions it depends on and adds it to its inventory line, in one
    /// transaction (VersionConflict: a condition failed, read again).
    pub async fn create_ticket(
        &self,
        tenant: &TenantId,
        link: Link<'_, Ticket>,
    ) -> Result<(), StoreError> {
        let stock = self.add_to_stock(tenant, link.record);
        self.link_with(tenant, link, vec![stock]).await
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

pub(crate) fn stock_line_from_item(item: &Item) -> Result<StockLine, StoreError> {
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
