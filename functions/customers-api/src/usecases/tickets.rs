//! Tickets, the proof of work: recorded on a job that is not cancelled, listed by time, read.
//! A ticket is never changed; a correction is a second ticket with a negative quantity.

use chrono::Utc;
use domain::{CustomerId, FieldError, Job, Ticket, TicketInput, WorkStatus};
use kit::Problem;
use sha2::{Digest, Sha256};
use store::{Depends, Link, Page, StoreError};

use super::idempotency;
use super::linked::{self, customer_for_change, customer_for_view};
use super::{PageRequest, Scope, store_problem};
use crate::App;

/// The customer changed between reading it and writing the ticket: decide again this often.
const CREATE_ATTEMPTS: usize = 3;

/// A ticket on a job of the customer that is not cancelled, while the customer is active;
/// written on condition that both are still so.
/// `key`: the request's Idempotency-Key (hashed): a retry under it makes the same ticket id and
/// is answered with the ticket its first sending recorded.
pub async fn record(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    input: TicketInput,
    key: Option<&str>,
) -> Result<Ticket, Problem> {
    let now = Utc::now();
    let fields = domain::validate_ticket(input, now).map_err(|e| Problem::validation(e.0))?;
    let random = key.map(|key| id_randomness(id, key));
    for attempt in 1..=CREATE_ATTEMPTS {
        let customer = customer_for_change(app, scope, id).await?;
        let on_customer = linked::may_link::<Ticket>(&customer)?;
        let job = ticketed_job(app, scope, id, &fields.job_id).await?;
        let ticket = Ticket::new(&job, fields.clone(), &scope.caller.user, now, random);
        let link = Link {
            record: &ticket,
            depends: vec![on_customer, Depends::JobNotCancelled(job.id.clone())],
            idempotency: None,
        };
        match app.store.create_ticket(&scope.tenant, link).await {
            Ok(()) => return Ok(ticket),
            // A retry under the same key finds the ticket its first sending wrote.
            Err(StoreError::VersionConflict) if random.is_some() => {
                if let Some(first) = replay(app, scope, &ticket).await? {
                    return Ok(first);
                }
            }
            Err(StoreError::VersionConflict) => {}
            Err(e) => return Err(store_problem(e)),
        }
        if attempt == CREATE_ATTEMPTS {
            return Err(Problem::stale(None));
        }
    }
    unreachable!("the last attempt returns")
}

/// The job a ticket is recorded on: one of the customer's (422 otherwise), not cancelled (409).
async fn ticketed_job(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    job_id: &str,
) -> Result<Job, Problem> {
    let job = match domain::record_id(job_id) {
        Some(job_id) => app
            .store
            .linked::<Job>(&scope.tenant, customer, &job_id)
            .await
            .map_err(store_problem)?,
        None => None,
    };
    match job {
        None => Err(Problem::validation(vec![FieldError::new(
            "/jobId",
            "unknown_job",
            "This is not one of the customer's jobs.",
        )])),
        Some(job) if job.fields.status == WorkStatus::Cancelled => Err(job_cancelled()),
        Some(job) => Ok(job),
    }
}

/// The random part of a ticket id made from its Idempotency-Key (per customer): a retry of the
/// same request makes the same id, and finds the ticket the first attempt wrote.
fn id_randomness(customer: &CustomerId, key: &str) -> u128 {
    let digest = Sha256::new()
        .chain_update(customer.0.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes[6..].copy_from_slice(&digest[..10]);
    u128::from_be_bytes(bytes)
}

/// A retried request answers what the first one did; the same key with other content is an
/// error. `None`: no ticket under this id, so the write failed for another reason (the job or
/// the customer changed): decide again.
async fn replay(app: &App, scope: &Scope, ticket: &Ticket) -> Result<Option<Ticket>, Problem> {
    let first = app
        .store
        .linked::<Ticket>(&scope.tenant, &ticket.customer_id, &ticket.id)
        .await
        .map_err(store_problem)?;
    match first {
        Some(first) if first.fields == ticket.fields => Ok(Some(first)),
        Some(_) => Err(idempotency::key_reused()),
        None => Ok(None),
    }
}

/// The customer's tickets by when the work was done; optionally one job's.
pub async fn list(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    job: Option<&str>,
    page: PageRequest,
) -> Result<Page<Ticket>, Problem> {
    customer_for_view(app, scope, id).await?;
    app.store
        .tickets(
            &scope.tenant,
            id,
            job,
            page.limit,
            page.cursor.as_deref(),
            page.ascending,
        )
        .await
        .map_err(store_problem)
}

fn job_cancelled() -> Problem {
    Problem::conflict(
        "job-cancelled",
        "The job is cancelled",
        "A cancelled job takes no tickets: the work was not done on it.",
    )
}
