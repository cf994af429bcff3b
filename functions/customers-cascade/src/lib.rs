//! The deactivation cascade. The table's stream, filtered by the event source mapping to
//! customers whose status went from active to inactive, invokes this function; it deactivates
//! every active site of the customer, then cancels every active contract, every open work
//! order (with its open tasks) and every open job, a page at a time, each page in one
//! transaction with a history entry that names the records and the cascade as the cause, on
//! condition that the customer is still inactive. Each record is written on condition of the
//! version it was read at: a technician completing a work order meanwhile makes the page be
//! read again, and the completed work order is then left alone. Closed or untouched records
//! are not written. A customer with more records than one invocation should handle continues
//! through the cascade queue.
//!
//! Idempotent: a redelivered record finds everything closed already and writes nothing.
//! Reactivation does not undo the cascade: sites are reactivated one by one; cancelled
//! contracts, work orders, tasks and jobs stay cancelled.

pub mod event;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use domain::{
    CASCADE_ACTOR, ChangeKind, Contract, ContractStatus, FieldChange, HistoryEntry, Job, Site,
    SiteStatus, WorkOrder,
};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};
use store::{CascadeError, CustomerStore, StoreError};

use crate::event::{Continuation, Phase, Work};

/// Sites read and written together: one Query page and one transaction (with the condition
/// on the customer and the history entry, within DynamoDB's 100 items).
const DEFAULT_PAGE_SIZE: i32 = 50;
/// Left for handing the rest to the queue before the invocation's deadline.
const HANDOVER_TIME: Duration = Duration::from_secs(10);
/// A page whose sites keep changing under the cascade is read again this often.
const PAGE_ATTEMPTS: usize = 5;

#[derive(Clone)]
pub struct App {
    pub store: CustomerStore,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub page_size: i32,
    /// Pages one invocation handles before handing over (`CASCADE_PAGES_PER_INVOCATION`;
    /// none: as many as the time allows).
    pub pages_per_invocation: Option<u32>,
}

impl App {
    pub async fn from_env() -> Result<Self, String> {
        let config = kit::aws::sdk_config().await;
        let number = |name: &str| -> Result<Option<u32>, String> {
            match std::env::var(name) {
                Ok(v) if !v.is_empty() => v
                    .parse::<u32>()
                    .map(|n| (n > 0).then_some(n))
                    .map_err(|_| format!("{name} is not a number: {v:?}")),
                _ => Ok(None),
            }
        };
        let page_size = number("CASCADE_PAGE_SIZE")?
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, DEFAULT_PAGE_SIZE);
        Ok(Self {
            store: CustomerStore::new(
                kit::aws::dynamodb(&config),
                kit::aws::required_env("TABLE_NAME")?,
            ),
            sqs: aws_sdk_sqs::Client::new(&config),
            queue_url: kit::aws::required_env("CASCADE_QUEUE_URL")?,
            page_size,
            pages_per_invocation: number("CASCADE_PAGES_PER_INVOCATION")?,
        })
    }
}

/// A batch of stream records or of continuation messages. Each record that fails in a way a
/// retry may cure is reported (partial batch response); the mapping retries it and, when
/// retries are exhausted, sends it to the dead-letter destination.
pub async fn handle(app: &App, event: LambdaEvent<event::Batch>) -> Result<Value, Error> {
    let invocation = kit::logging::Invocation::start();
    let deadline = deadline_of(&event.context);
    let mut failures = Vec::new();
    let items = event::work_items(&event.payload);
    let tenants = tenants_of(&items);
    let records = items.len();
    for item in items {
        let outcome = match &item.work {
            Ok(work) => cascade(app, work, deadline).await,
            Err(why) => {
                // Never going to be understood: not retried, logged for operators.
                tracing::warn!(id = %item.id, why = %why, "record ignored");
                Ok(())
            }
        };
        if let Err(error) = outcome {
            tracing::error!(id = %item.id, error = %error, "cascade failed; the record comes again");
            failures.push(json!({"itemIdentifier": item.id}));
            // Stream records after a failed one must wait for it (order per customer).
            if item.ordered {
                break;
            }
        }
    }
    let response = json!({"batchItemFailures": failures});
    invocation.finish(
        FUNCTION,
        &event.context.request_id,
        &tenants,
        records,
        &response,
    );
    Ok(response)
}

/// The name this function's metrics and log lines go by.
const FUNCTION: &str = "customers-cascade";

/// The distinct organisations of a batch, for its log line.
fn tenants_of(items: &[event::Item]) -> Vec<String> {
    let mut tenants: Vec<String> = items
        .iter()
        .filter_map(|item| item.work.as_ref().ok())
        .map(|work| work.tenant.as_str().to_owned())
        .collect();
    tenants.sort();
    tenants.dedup();
    tenants
}

#[derive(Debug, thiserror::Error)]
pub enum CascadeFailure {
    #[error("retry later: {0}")]
    Retry(String),
}

impl From<StoreError> for CascadeFailure {
    fn from(error: StoreError) -> Self {
        CascadeFailure::Retry(error.to_string())
    }
}

/// Deactivates the customer's active sites, then cancels its active contracts, from where
/// `work` says on.
async fn cascade(app: &App, work: &Work, deadline: Instant) -> Result<(), CascadeFailure> {
    let mut phase = work.phase;
    let mut cursor = work.cursor.clone();
    let mut pages = 0;
    loop {
        let out_of_pages = app.pages_per_invocation.is_some_and(|n| pages >= n);
        if out_of_pages || Instant::now() + HANDOVER_TIME >= deadline {
            return hand_over(app, work, phase, cursor).await;
        }
        let Some(next) = cascade_page(app, work, phase, cursor.as_deref()).await? else {
            tracing::info!(customer = %work.customer, "customer active again; cascade stops");
            return Ok(());
        };
        pages += 1;
        match (next, phase.next()) {
            (Some(next), _) => cursor = Some(next),
            (None, Some(following)) => {
                phase = following;
                cursor = None;
            }
            (None, None) => {
                tracing::info!(customer = %work.customer, "cascade complete");
                return Ok(());
            }
        }
    }
}

/// One page of the phase's records: the open ones on it closed in one transaction. `None` when
/// the customer is active again; else the cursor of the next page, if any.
async fn cascade_page(
    app: &App,
    work: &Work,
    phase: Phase,
    cursor: Option<&str>,
) -> Result<Option<Option<String>>, CascadeFailure> {
    let (tenant, customer, version) = (&work.tenant, &work.customer, work.version);
    let (store, size) = (&app.store, app.page_size);
    for _ in 0..PAGE_ATTEMPTS {
        // Each arm reads a page, closes its open records and writes them: (next page, how many
        // it closed, what the write said).
        let (next, closed, result) = match phase {
            Phase::Sites => {
                let page = store.sites(tenant, customer, size, cursor, true).await?;
                let changed = deactivated(&page.items);
                let before = changed.iter().map(|(_, s)| (s.id.as_str(), "active"));
                let history = history_of(version, phase, before);
                let written = (!changed.is_empty())
                    .then(|| store.cascade_sites(tenant, customer, &changed, &history));
                (page.next_cursor, changed.len(), settle(written).await)
            }
            Phase::Contracts => {
                let page = store
                    .contracts(tenant, customer, size, cursor, true)
                    .await?;
                let changed = cancelled(&page.items);
                let before = changed.iter().map(|(_, c)| (c.id.as_str(), "active"));
                let history = history_of(version, phase, before);
                let written = (!changed.is_empty())
                    .then(|| store.cascade_contracts(tenant, customer, &changed, &history));
                (page.next_cursor, changed.len(), settle(written).await)
            }
            Phase::WorkOrders => {
                let filter = store::WorkOrderFilter::default();
                let page = store
                    .work_orders(tenant, customer, &filter, size, cursor, true)
                    .await?;
                let changed = work_orders_cancelled(&page.items);
                let before = page.items.iter().filter(|w| w.fields.status.is_open());
                let before = before.map(|w| (w.id.as_str(), w.fields.status.as_str()));
                let history = history_of(version, phase, before);
                let written = (!changed.is_empty())
                    .then(|| store.cascade_work_orders(tenant, customer, &changed, &history));
                (page.next_cursor, changed.len(), settle(written).await)
            }
            Phase::Jobs => {
                let filter = store::JobFilter::default();
                let page = store
                    .jobs_in_partition(tenant, customer, &filter, size, cursor)
                    .await?;
                let changed = jobs_cancelled(&page.items);
                let before = changed.iter().map(|(_, job)| {
                    let read = page.items.iter().find(|j| j.id == job.id);
                    (
                        job.id.as_str(),
                        read.map_or("", |j| j.fields.status.as_str()),
                    )
                });
                let history = history_of(version, phase, before);
                let written = (!changed.is_empty())
                    .then(|| store.cascade_jobs(tenant, customer, &changed, &history));
                (page.next_cursor, changed.len(), settle(written).await)
            }
        };
        match result {
            Ok(()) => {
                count_closed(work, phase, closed);
                return Ok(Some(next));
            }
            Err(CascadeError::CustomerActive) => return Ok(None),
            // Something on the page changed meanwhile (reactivated, completed): read it again.
            Err(CascadeError::Changed) => continue,
            Err(CascadeError::Store(e)) => return Err(e.into()),
        }
    }
    Err(CascadeFailure::Retry(
        "the customer's records kept changing during the cascade".into(),
    ))
}

/// The records a page write closed, counted per phase.
fn count_closed(work: &Work, phase: Phase, closed: usize) {
    if closed == 0 {
        return;
    }
    kit::metrics::Metrics::new(FUNCTION)
        .dimension("Phase", phase.as_str())
        .count("CascadeRecordsChanged", closed as u64)
        .property("tenant", work.tenant.as_str())
        .emit();
}

/// A page's write, or nothing to write.
async fn settle(
    write: Option<impl std::future::Future<Output = Result<(), CascadeError>>>,
) -> Result<(), CascadeError> {
    match write {
        Some(write) => write.await,
        None => Ok(()),
    }
}

/// The records of a page that are open, closed as the cascade closes them, each with the
/// version it was read at (the condition of its write).
fn closed<T>(
    records: &[T],
    is_open: impl Fn(&T) -> bool,
    close: impl Fn(&T) -> T,
    version: impl Fn(&T) -> u64,
) -> Vec<(u64, T)> {
    records
        .iter()
        .filter(|record| is_open(record))
        .map(|record| (version(record), close(record)))
        .collect()
}

/// The active sites of a page as the cascade leaves them.
pub fn deactivated(sites: &[Site]) -> Vec<(u64, Site)> {
    let now = Utc::now();
    closed(
        sites,
        |site| site.fields.status == SiteStatus::Active,
        |site| {
            let mut after = site.clone();
            after.fields.status = SiteStatus::Inactive;
            after.version = site.version + 1;
            after.updated_at = now;
            after.updated_by = CASCADE_ACTOR.to_owned();
            after
        },
        |site| site.version,
    )
}

/// The active contracts of a page, cancelled; expired and cancelled ones are left alone.
pub fn cancelled(contracts: &[Contract]) -> Vec<(u64, Contract)> {
    let now = Utc::now();
    closed(
        contracts,
        |contract| contract.fields.status == ContractStatus::Active,
        |contract| {
            let mut after = contract.clone();
            after.fields.status = ContractStatus::Cancelled;
            after.version = contract.version + 1;
            after.updated_at = now;
            after.updated_by = CASCADE_ACTOR.to_owned();
            after
        },
        |contract| contract.version,
    )
}

/// The open work orders of a page, cancelled with their open tasks; completed and cancelled
/// ones are left alone.
pub fn work_orders_cancelled(work_orders: &[WorkOrder]) -> Vec<(u64, WorkOrder)> {
    let now = Utc::now();
    closed(
        work_orders,
        |w| w.fields.status.is_open(),
        |w| w.cancel(CASCADE_ACTOR, now),
        |w| w.version,
    )
}

/// The open jobs of a page, cancelled.
pub fn jobs_cancelled(jobs: &[Job]) -> Vec<(u64, Job)> {
    let now = Utc::now();
    closed(
        jobs,
        |job| job.fields.status.is_open(),
        |job| job.cancel(CASCADE_ACTOR, now),
        |job| job.version,
    )
}

/// The history entry of one page: which records the cascade closed, from which status, and
/// why. `version` is the card's version that turned inactive (the card itself does not change).
pub fn history_of<'a>(
    version: u64,
    phase: Phase,
    closed: impl Iterator<Item = (&'a str, &'static str)>,
) -> HistoryEntry {
    let (kind, collection, after) = match phase {
        Phase::Sites => (ChangeKind::SitesDeactivated, "sites", "inactive"),
        Phase::Contracts => (ChangeKind::ContractsCancelled, "contracts", "cancelled"),
        Phase::WorkOrders => (ChangeKind::WorkOrdersCancelled, "workOrders", "cancelled"),
        Phase::Jobs => (ChangeKind::JobsCancelled, "jobs", "cancelled"),
    };
    HistoryEntry {
        id: ulid::Ulid::new().to_string(),
        at: Utc::now(),
        by: CASCADE_ACTOR.to_owned(),
        kind,
        version,
        changes: closed
            .map(|(id, before)| FieldChange {
                field: format!("/{collection}/{id}/status"),
                before: Some(json!(before)),
                after: Some(json!(after)),
            })
            .collect(),
    }
}

async fn hand_over(
    app: &App,
    work: &Work,
    phase: Phase,
    cursor: Option<String>,
) -> Result<(), CascadeFailure> {
    let continuation = Continuation {
        tenant: work.tenant.as_str().to_owned(),
        customer_id: work.customer.0.clone(),
        version: work.version,
        phase,
        cursor,
    };
    app.sqs
        .send_message()
        .queue_url(&app.queue_url)
        .message_body(event::continuation_body(&continuation))
        .send()
        .await
        .map_err(|e| CascadeFailure::Retry(format!("queueing the continuation: {e}")))?;
    tracing::info!(customer = %work.customer, "cascade continues in a new invocation");
    Ok(())
}

fn deadline_of(context: &lambda_runtime::Context) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Instant::now() + Duration::from_millis(context.deadline.saturating_sub(now_ms))
}
