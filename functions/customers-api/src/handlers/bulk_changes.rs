//! The bulk-change routes: request in, `usecases::bulk_changes` call, response out.

use domain::CardChange;
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use store::Selection;

use super::{idempotency, scope};
use crate::App;
use crate::http::{self, JSON, json, path_param};
use crate::usecases::{Created, bulk_changes};
use crate::view::{self, BulkChangeView};

const DEFAULT_PAGE: i32 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkChangeRequest {
    selection: Selection,
    change: CardChange,
}

/// 202 with the recorded bulk change (it runs in the background); a retry with the same
/// Idempotency-Key gets the first answer.
pub async fn request(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let key = idempotency::key(request)?;
    let body = http::body_bytes(request, JSON)?;
    let input: BulkChangeRequest = http::parse_json(body)?;
    let retry = idempotency::retry_keyed(key, request, body);
    let answer = match bulk_changes::request(app, &scope, input.selection, input.change, &retry)
        .await?
    {
        Created::Made(record) => idempotency::to_response(bulk_changes::answer_of(&record), false),
        Created::Replayed(first) => idempotency::to_response(first, true),
    };
    Ok(answer)
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    // Checked again by the use case; here so that it is answered before the query is read.
    scope.view_reach()?;
    let (limit, cursor) = http::page_params_with(request, DEFAULT_PAGE)?;
    let page = bulk_changes::list(app, &scope, limit, cursor.as_deref()).await?;
    Ok(json(
        StatusCode::OK,
        &view::bulk_change_page(&page.items, page.next_cursor),
    ))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let record = bulk_changes::get(app, &scope, &path_param(request, "bulkChangeId")?).await?;
    Ok(json(StatusCode::OK, &BulkChangeView::of(&record)))
}
