//! Jobs, the scheduled visits of a work order: made for an open work order, listed by
//! scheduled start, read, and changed by merge patch along the state machine. The call-off
//! rule does not apply: a job belongs to work already ordered.

use chrono::Utc;
use domain::{CustomerId, FieldError, Job, JobInput, Permission, WorkStatus, check_change};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use store::{JobFilter, StoreError};

use super::idempotency::{self, Retry};
use super::work_orders::{
    DEFAULT_PAGE, JSON, MERGE_PATCH, refuse_illegal_move, work_conflict, work_order_of,
};
use super::{
    Scope, customer_id, found, patched, read_reachable, read_visible, record_id,
    refuse_null_status, scope, store_problem,
};
use crate::App;
use crate::http::{self, etag, if_match, json, with_header};

/// The work order changed between reading it and writing the job: read it again this often.
const CREATE_ATTEMPTS: usize = 3;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let reach = scope.edit_reach()?;
    let body = http::body_bytes(request, JSON)?;
    let input: JobInput = http::parse_json(body)?;
    if input.status.is_some_and(|s| s != WorkStatus::Scheduled) {
        return Err(Problem::validation(vec![FieldError::new(
            "/status",
            "invalid_status",
            "A new job is scheduled; move it on with PATCH.",
        )]));
    }
    let fields = domain::validate_job(input).map_err(|e| Problem::validation(e.0))?;
    let retry = Retry::of(request, body)?;
    read_reachable(app, &scope, &id, reach, Permission::Edit).await?;
    if let Some(first) = retry.earlier_answer(app, &scope.tenant).await? {
        return Ok(first);
    }
    for attempt in 1..=CREATE_ATTEMPTS {
        let work_order = work_order_of(app, &scope, &id, request).await?;
        if !work_order.fields.status.is_open() {
            return Err(work_conflict(domain::WorkConflict::Closed(
                "work order",
                work_order.fields.status,
            )));
        }
        let job = Job::new(&work_order, fields.clone(), &scope.caller.user, Utc::now());
        let location = format!("/customers/{id}/jobs/{}", job.id);
        let created = with_header(
            job_response(StatusCode::CREATED, &job),
            "location",
            &location,
        );
        let record = retry.record(&created, job.created_at);
        match app
            .store
            .create_job(&scope.tenant, &job, work_order.version, record.as_ref())
            .await
        {
            Ok(()) => return Ok(created),
            Err(StoreError::IdempotencyKeyUsed(first)) => {
                return idempotency::replay(*first, record.as_ref());
            }
            Err(StoreError::VersionConflict) if attempt < CREATE_ATTEMPTS => continue,
            Err(e) => return Err(store_problem(e)),
        }
    }
    unreachable!("the last attempt returns")
}

/// The customer's jobs by scheduled start.
pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let params = http::list_params(request, DEFAULT_PAGE, &["status", "workOrderId"])?;
    let filter = JobFilter {
        status: params.enum_filter("status")?,
        work_order_id: params.filter("workOrderId").map(str::to_owned),
    };
    read_visible(app, &scope, &id).await?;
    let page = app
        .store
        .jobs(
            &scope.tenant,
            &id,
            &filter,
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
    let job = existing(app, &scope, &id, request).await?;
    Ok(job_response(StatusCode::OK, &job))
}

/// Reschedules, restaffs or moves a job on (If-Match its ETag).
pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let reach = scope.edit_reach()?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    refuse_null_status(&patch)?;
    read_reachable(app, &scope, &id, reach, Permission::Edit).await?;
    let before = existing(app, &scope, &id, request).await?;
    if expected.is_some_and(|version| version != before.version) {
        return Err(Problem::stale(Some(&etag(before.version))));
    }
    let input = patched(&before.fields.to_input(), &patch)?;
    refuse_illegal_move("job", before.fields.status, input.status)?;
    let fields = domain::validate_job(input).map_err(|e| Problem::validation(e.0))?;
    if fields == before.fields {
        return Ok(job_response(StatusCode::OK, &before));
    }
    check_change("job", before.fields.status, fields.status).map_err(work_conflict)?;
    let after = before.changed(fields, &scope.caller.user, Utc::now());
    match app
        .store
        .replace_job(&scope.tenant, &after, before.version)
        .await
    {
        Ok(()) => Ok(job_response(StatusCode::OK, &after)),
        Err(StoreError::VersionConflict) => Err(Problem::stale(None)),
        Err(e) => Err(store_problem(e)),
    }
}

async fn existing(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    request: &Request,
) -> Result<Job, Problem> {
    let id = record_id(request, "jobId", "job")?;
    found(app.store.job(&scope.tenant, customer, &id).await, "job")
}

fn job_response(status: StatusCode, job: &Job) -> Response<Body> {
    with_header(json(status, job), "etag", &etag(job.version))
}
