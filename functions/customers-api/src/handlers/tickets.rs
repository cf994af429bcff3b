//! Tickets, the proof of work: recorded on a job that is not cancelled, listed by time, read.
//! A ticket is never changed; a correction is a second ticket with a negative quantity.

use chrono::Utc;
use domain::{CustomerId, FieldError, Permission, Ticket, TicketInput, WorkStatus};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use store::StoreError;

use super::idempotency;
use super::work_orders::{DEFAULT_PAGE, JSON};
use super::{
    Scope, customer_id, found, read_reachable, read_visible, record_id, scope, store_problem,
};
use crate::App;
use crate::http::{self, json, with_header};

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let reach = scope.edit_reach()?;
    let input: TicketInput = http::parse_json(http::body_bytes(request, JSON)?)?;
    let now = Utc::now();
    let fields = domain::validate_ticket(input, now).map_err(|e| Problem::validation(e.0))?;
    read_reachable(app, &scope, &id, reach, Permission::Edit).await?;
    let job = ulid::Ulid::from_string(&fields.job_id)
        .ok()
        .map(|job_id| job_id.to_string());
    let job = match job {
        Some(job_id) => app
            .store
            .job(&scope.tenant, &id, &job_id)
            .await
            .map_err(store_problem)?,
        None => None,
    };
    let Some(job) = job else {
        return Err(Problem::validation(vec![FieldError::new(
            "/jobId",
            "unknown_job",
            "This is not one of the customer's jobs.",
        )]));
    };
    if job.fields.status == WorkStatus::Cancelled {
        return Err(job_cancelled());
    }
    let random = idempotency::key(request)?.map(|key| id_randomness(&id, &key));
    let ticket = Ticket::new(&job, fields, &scope.caller.user, now, random);
    match app.store.create_ticket(&scope.tenant, &ticket).await {
        Ok(()) => Ok(created(&id, &ticket)),
        // The ticket exists (a retry under the same key), or the job was cancelled since.
        Err(StoreError::VersionConflict) => match random {
            Some(_) => replay(app, &scope, &ticket).await,
            None => Err(job_cancelled()),
        },
        Err(e) => Err(store_problem(e)),
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
/// error, and a ticket that is not there means the job was cancelled meanwhile.
async fn replay(app: &App, scope: &Scope, ticket: &Ticket) -> Result<Response<Body>, Problem> {
    let first = app
        .store
        .ticket(&scope.tenant, &ticket.customer_id, &ticket.id)
        .await
        .map_err(store_problem)?;
    match first {
        Some(first) if first.fields == ticket.fields => Ok(created(&first.customer_id, &first)),
        Some(_) => Err(idempotency::key_reused()),
        None => Err(job_cancelled()),
    }
}

fn created(customer: &CustomerId, ticket: &Ticket) -> Response<Body> {
    let location = format!("/customers/{customer}/tickets/{}", ticket.id);
    with_header(json(StatusCode::CREATED, ticket), "location", &location)
}

/// The customer's tickets by when the work was done; optionally one job's.
pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let params = http::list_params(request, DEFAULT_PAGE, &["jobId"])?;
    read_visible(app, &scope, &id).await?;
    let page = app
        .store
        .tickets(
            &scope.tenant,
            &id,
            params.filter("jobId"),
            params.limit,
            params.cursor.as_deref(),
            params.ascending,
        )
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    read_visible(app, &scope, &id).await?;
    let ticket = existing(app, &scope, &id, request).await?;
    Ok(json(StatusCode::OK, &ticket))
}

async fn existing(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    request: &Request,
) -> Result<Ticket, Problem> {
    let id = record_id(request, "ticketId", "ticket")?;
    found(
        app.store.ticket(&scope.tenant, customer, &id).await,
        "ticket",
    )
}

fn job_cancelled() -> Problem {
    Problem::conflict(
        "job-cancelled",
        "The job is cancelled",
        "A cancelled job takes no tickets: the work was not done on it.",
    )
}
