//! Jobs, the scheduled visits of a work order: made for an open work order, listed by
//! scheduled start, read, and changed by merge patch along the state machine. The call-off
//! rule does not apply: a job belongs to work already ordered.

use chrono::Utc;
use domain::{FieldError, Job, JobInput, WorkStatus, check_change};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use store::{Depends, JobFilter};

use super::idempotency::Retry;
use super::work_orders::{
    DEFAULT_PAGE, JSON, MERGE_PATCH, refuse_illegal_move, work_conflict, work_order_of,
};
use super::{customer_id, patched, record_id, refuse_null_status, scope, store_problem};
use crate::App;
use crate::http::{self, if_match, json};
use crate::linked::{
    self, NewRecord, check_version, customer_for_change, customer_for_view, existing,
};

/// A new visit of an open work order, on an active customer, within the limit of open jobs
/// per work order; written on condition that the customer and the work order are as read.
pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
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
    let (scope, fields) = (&scope, &fields);
    linked::create(app, scope, &id, &retry, |customer| async move {
        let on_customer = linked::may_link::<Job>(&customer)?;
        let work_order = work_order_of(app, scope, &customer.id, request).await?;
        if !work_order.fields.status.is_open() {
            return Err(work_conflict(domain::WorkConflict::Closed(
                "work order",
                work_order.fields.status,
            )));
        }
        let open = app
            .store
            .open_jobs_of(&scope.tenant, &work_order)
            .await
            .map_err(store_problem)?;
        domain::work::may_schedule_another(open.len()).map_err(too_many_open_jobs)?;
        let job = Job::new(&work_order, fields.clone(), &scope.caller.user, Utc::now());
        let on_work_order = Depends::WorkOrder {
            id: work_order.id,
            version: work_order.version,
        };
        Ok(NewRecord {
            record: job,
            depends: vec![on_customer, on_work_order],
        })
    })
    .await
}

fn too_many_open_jobs(limit: usize) -> Problem {
    Problem::conflict(
        "too-many-open-jobs",
        "The work order has too many open jobs",
        format!(
            "A work order has at most {limit} open jobs (visits). Complete or cancel some, or \
             split the work into another work order."
        ),
    )
    .with("limit", limit)
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
    customer_for_view(app, &scope, &id).await?;
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
    customer_for_view(app, &scope, &id).await?;
    let job: Job = existing(app, &scope, &id, &job_id(request)?).await?;
    Ok(linked::respond(StatusCode::OK, &job))
}

/// Reschedules, restaffs or moves a job on (If-Match its ETag).
pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    refuse_null_status(&patch)?;
    let customer = customer_for_change(app, &scope, &id).await?;
    let before: Job = existing(app, &scope, &id, &job_id(request)?).await?;
    check_version(expected, &before)?;
    let input = patched(&before.fields.to_input(), &patch)?;
    refuse_illegal_move("job", before.fields.status, input.status)?;
    let fields = domain::validate_job(input).map_err(|e| Problem::validation(e.0))?;
    if fields == before.fields {
        return Ok(linked::respond(StatusCode::OK, &before));
    }
    check_change("job", before.fields.status, fields.status).map_err(work_conflict)?;
    let after = before.changed(fields, &scope.caller.user, Utc::now());
    let after = linked::save_change(app, &scope, &customer, &before, after).await?;
    Ok(linked::respond(StatusCode::OK, &after))
}

/// Job ids are ULIDs; anything else names no job.
fn job_id(request: &Request) -> Result<String, Problem> {
    record_id(request, "jobId", "job")
}
