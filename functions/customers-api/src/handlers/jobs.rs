//! The job routes: request in, `usecases::jobs` call, response out.

use domain::{Job, JobInput};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use store::JobFilter;

use super::work_orders::work_order_id;
use super::{DEFAULT_PAGE, created, customer_id, idempotency, record_id, record_response, scope};
use crate::App;
use crate::http::{self, JSON, MERGE_PATCH, if_match, json};
use crate::usecases::{PageRequest, jobs, linked};

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let body = http::body_bytes(request, JSON)?;
    let input: JobInput = http::parse_json(body)?;
    let retry = idempotency::retry(request, body)?;
    let work_order = work_order_id(request)?;
    Ok(created(
        jobs::create(app, &scope, &id, &work_order, input, &retry).await?,
    ))
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let params = http::list_params(request, DEFAULT_PAGE, &["status", "workOrderId"])?;
    let filter = JobFilter {
        status: params.enum_filter("status")?,
        work_order_id: params.filter("workOrderId").map(str::to_owned),
    };
    let page = PageRequest {
        limit: params.limit,
        cursor: params.cursor,
        ascending: params.ascending,
    };
    let page = jobs::list(app, &scope, &id, &filter, page).await?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let job = linked::read::<Job>(app, &scope, &id, &job_id(request)?).await?;
    Ok(record_response(&job))
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    let job = jobs::change(app, &scope, &id, &job_id(request)?, expected, &patch).await?;
    Ok(record_response(&job))
}

/// Job ids are ULIDs; anything else names no job.
fn job_id(request: &Request) -> Result<String, Problem> {
    record_id(request, "jobId", "job")
}
