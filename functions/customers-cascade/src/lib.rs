//! The deactivation cascade. The table's stream, filtered by the event source mapping to
//! customers whose status went from active to inactive, invokes this function; it deactivates
//! every active site of the customer, then cancels every active contract, every open work
//! order (with its open tasks) and every open job, a page at a time, each page in one
//! transaction with a history entry that names the records and the cascade as the cause, on
//! condition that the customer is still inactive. Each record is written on condition of the
//! version it was read at: a technician completing a work order meanwhile makes the page be
//! read again, and the completed work order is then left alone. Closed or untouched records
//! are not written. A customer with more records than one invocation should handle continues
//! through the cascade queue. One Query first says which of the four kinds the customer has at
//! all, and a kind it has none of is not read page by page: most customers deactivated have few
//! records or none, and their cascade is that one read.
//!
//! Idempotent: a redelivered record finds everything closed already and writes nothing.
//! Reactivation does not undo the cascade: sites are reactivated one by one; cancelled
//! contracts, work orders, tasks and jobs stay cancelled.

pub mod bulk;
pub mod erase;
pub mod event;
pub mod merge;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use domain::{CASCADE_ACTOR, Cascaded, Contract, FieldChange, HistoryEntry, Job, Site, WorkOrder};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};
use store::{CascadeError, CustomerStore, StoreError, Stored};

use crate::event::{Continuation, Phase, Task, Work};

/// Sites read and written together: one Query page and one transaction (with the condition
/// on the customer and the history entry, within DynamoDB's 100 items).
const DEFAULT_PAGE_SIZE: i32 = 50;
/// Left for handing the rest to the queue before the invocation's deadline.
pub(crate) const HANDOVER_TIME: Duration = Duration::from_secs(10);
/// A page whose sites keep changing under the cascade is read again this often.
pub(crate) const PAGE_ATTEMPTS: usize = 5;

#[derive(Clone)]
pub struct App {
    pub store: CustomerStore,
    /// The cascade queue, for handing long work over (its connections opened at the first
    /// message, as the bucket's are).
    pub queue: kit::queue::Queue,
    /// The imports bucket, whose reports and files the erasure rewrites (`IMPORTS_BUCKET`;
    /// none: only the table is erased).
    pub bucket: Option<kit::objects::Bucket>,
    pub page_size: i32,
    /// Pages one invocation handles before handing over (`CASCADE_PAGES_PER_INVOCATION`;
    /// none: as many as the time allows).
    pub pages_per_invocation: Option<u32>,
    /// Customers a bulk change judges and writes per transaction (`BULK_CHANGE_PAGE_SIZE`).
    pub bulk_page_size: usize,
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
            store: CustomerStore::new(&config, kit::aws::required_env("TABLE_NAME")?),
            queue: kit::queue::Queue::new(&config, kit::aws::required_env("CASCADE_QUEUE_URL")?),
            bucket: std::env::var("IMPORTS_BUCKET")
                .ok()
                .filter(|b| !b.is_empty())
                .map(|name| kit::objects::Bucket::new(&config, name)),
            page_size,
            pages_per_invocation: number("CASCADE_PAGES_PER_INVOCATION")?,
            bulk_page_size: number("BULK_CHANGE_PAGE_SIZE")?
                .map_or(bulk::DEFAULT_PAGE_SIZE, |n| n as usize)
                .clamp(1, store::BULK_PAGE_MAX),
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
        let outcome = match (&item.work, &item.erasure) {
            (Ok(Task::Cascade(work)), _) => cascade(app, work, deadline).await,
            (Ok(Task::Bulk(work)), _) => bulk::run(app, work, deadline, item.ordered).await,
            (Ok(Task::Merge(work)), _) => merge::merge(app, work, deadline).await,
            (Err(_), Some(_)) => Ok(()),
            (Err(why), None) => {
                // Never going to be understood: not retried, logged for operators.
                tracing::warn!(id = %item.id, why = %why, "record ignored");
                Ok(())
            }
        };
        // An erased card that was active is both: its open work is cancelled, then erased.
        let outcome = match (outcome, &item.erasure) {
            (Ok(()), Some(erasure)) => erase::erase(app, erasure, deadline).await,
            (outcome, _) => outcome,
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
pub(crate) const FUNCTION: &str = "customers-cascade";

/// The distinct organisations of a batch, for its log line.
fn tenants_of(items: &[event::Item]) -> Vec<String> {
    let mut tenants: Vec<String> = items
        .iter()
        .filter_map(|item| item.work.as_ref().ok())
        .map(|task| task.tenant().as_str().to_owned())
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
    let found = survey(app, work).await?;
    loop {
        let out_of_pages = app.pages_per_invocation.is_some_and(|n| pages >= n);
        if out_of_pages || Instant::now() + HANDOVER_TIME >= deadline {
            return hand_over(app, work, phase, cursor).await;
        }
        let none_of_its_kind = cursor.is_none()
            && found
                .as_ref()
                .is_some_and(|found| !found.may_hold(prefix_of(phase)));
        let next = if none_of_its_kind {
            None
        } else {
            let Some(next) = cascade_page(app, work, phase, cursor.as_deref()).await? else {
                tracing::info!(customer = %work.customer, "customer active again; cascade stops");
                return Ok(());
            };
            pages += 1;
            next
        };
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

/// Which kinds the customer has records of at all, when the work starts at a phase's first
/// page: one Query of the customer's partition instead of one per phase, for the many
/// customers (a contact-only customer from an accounting export, say) who have few records
/// or none. A customer with more than [`SURVEYED_ITEMS`] items in the range it reads gets an
/// answer for the kinds the read passed; the others are read phase by phase as before.
async fn survey(app: &App, work: &Work) -> Result<Option<store::KindsFound>, CascadeFailure> {
    if work.cursor.is_some() {
        return Ok(None);
    }
    let prefixes = Phase::ALL.map(prefix_of);
    let found = app
        .store
        .kinds_found(&work.tenant, &work.customer, &prefixes, SURVEYED_ITEMS)
        .await?;
    Ok(Some(found))
}

/// Items the survey reads at most: beyond the phases' records, the range it reads holds the
/// card, the history and the records kept between the kinds' prefixes (notes, tickets, texts).
const SURVEYED_ITEMS: i32 = 50;

/// Where the phase's records live in the customer's partition.
fn prefix_of(phase: Phase) -> &'static str {
    match phase {
        Phase::Sites => Site::PREFIX,
        Phase::Contracts => Contract::PREFIX,
        Phase::WorkOrders => WorkOrder::PREFIX,
        Phase::Jobs => Job::PREFIX,
    }
}

/// One page of the phase's records: the live ones on it closed in one transaction. `None` when
/// the customer is active again; else the cursor of the next page, if any.
async fn cascade_page(
    app: &App,
    work: &Work,
    phase: Phase,
    cursor: Option<&str>,
) -> Result<Option<Option<String>>, CascadeFailure> {
    // The phase names the kind; every kind is closed the same way, by its declaration.
    match phase {
        Phase::Sites => close_page::<Site>(app, work, phase, cursor).await,
        Phase::Contracts => close_page::<Contract>(app, work, phase, cursor).await,
        Phase::WorkOrders => close_page::<WorkOrder>(app, work, phase, cursor).await,
        Phase::Jobs => close_page::<Job>(app, work, phase, cursor).await,
    }
}

/// Reads a page of the kind's records, closes the live ones as the kind's declaration says and
/// writes them with a history entry naming them; a page that changed under it is read again.
async fn close_page<T: Stored + Cascaded>(
    app: &App,
    work: &Work,
    phase: Phase,
    cursor: Option<&str>,
) -> Result<Option<Option<String>>, CascadeFailure> {
    let (tenant, customer) = (&work.tenant, &work.customer);
    for _ in 0..PAGE_ATTEMPTS {
        let page = app
            .store
            .linked_page::<T>(tenant, customer, app.page_size, cursor, true)
            .await?;
        let (closed, history) = closed_page(&page.items, work.version, Utc::now());
        let written = if closed.is_empty() {
            Ok(())
        } else {
            app.store
                .close_for_cascade(tenant, customer, &closed, &history)
                .await
        };
        match written {
            Ok(()) => {
                count_closed(work, phase, closed.len());
                return Ok(Some(page.next_cursor));
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

/// The records the cascade closes on a page (each with the version it was read at, the
/// condition of its write) and the history entry that names them. `version` is the card's
/// version that turned inactive (the card itself does not change).
pub fn closed_page<T: Cascaded>(
    records: &[T],
    version: u64,
    now: DateTime<Utc>,
) -> (Vec<(u64, T)>, HistoryEntry) {
    let live: Vec<&T> = records.iter().filter(|r| r.is_live()).collect();
    let rule = T::KIND
        .cascade
        .as_ref()
        .expect("a kind the cascade covers declares its rule");
    let history = HistoryEntry {
        id: ulid::Ulid::new().to_string(),
        at: now,
        by: CASCADE_ACTOR.to_owned(),
        kind: rule.change,
        version,
        changes: live
            .iter()
            .map(|record| FieldChange {
                field: format!("/{}/{}/status", T::KIND.collection, record.id()),
                before: Some(json!(record.status_name())),
                after: Some(json!(rule.closed_as)),
            })
            .collect(),
    };
    let closed = live
        .into_iter()
        .map(|record| (record.version(), record.closed(CASCADE_ACTOR, now)))
        .collect();
    (closed, history)
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
    app.queue
        .send(&event::continuation_body(&continuation))
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
