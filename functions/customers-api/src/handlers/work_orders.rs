//! The work-order routes: request in, `usecases::work_orders` call, response out.

use domain::{WorkOrder, WorkOrderInput};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use store::WorkOrderFilter;

use super::{DEFAULT_PAGE, created, customer_id, idempotency, record_id, record_response, scope};
use crate::App;
use crate::http::{self, JSON, MERGE_PATCH, if_match, json};
use crate::usecases::{PageRequest, linked, work_orders};

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let body = http::body_bytes(request, JSON)?;
    let input: WorkOrderInput = http::parse_json(body)?;
    let retry = idempotency::retry(request, body)?;
    Ok(created(
        work_orders::create(app, &scope, &id, input, &retry).await?,
    ))
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let params = http::list_params(request, DEFAULT_PAGE, &["kind", "status"])?;
    let filter = WorkOrderFilter {
        kind: params.enum_filter("kind")?,
        status: params.enum_filter("status")?,
    };
    let page = PageRequest {
        limit: params.limit,
        cursor: params.cursor,
        ascending: params.ascending,
    };
    let page = work_orders::list(app, &scope, &id, &filter, page).await?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let work_order = linked::read::<WorkOrder>(app, &scope, &id, &work_order_id(request)?).await?;
    Ok(record_response(&work_order))
}

pub async fn texts(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let (limit, cursor) = http::page_params_with(request, DEFAULT_PAGE)?;
    let page = PageRequest {
        limit,
        cursor,
        ascending: true,
    };
    let texts = work_orders::texts(app, &scope, &id, &work_order_id(request)?, page).await?;
    Ok(json(StatusCode::OK, &texts))
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    let work_order =
        work_orders::change(app, &scope, &id, &work_order_id(request)?, expected, &patch).await?;
    Ok(record_response(&work_order))
}

/// Work order ids are ULIDs; anything else names no work order.
pub(crate) fn work_order_id(request: &Request) -> Result<String, Problem> {
    record_id(request, "workOrderId", "work order")
}
