//! The export routes: request in, `usecases::exports` call, response out.

use domain::Permission;
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::customers::{LIST_FILTERS, list_query};
use super::{idempotency, scope};
use crate::App;
use crate::http::{self, json, path_param};
use crate::usecases::Created;
use crate::usecases::exports::{self, ExportFilters};
use crate::view::{self, ExportView};

const DEFAULT_PAGE: i32 = 20;

/// 202 with the export, queued; it takes the list's filters as query parameters, read and
/// checked as GET /customers reads them. A retry with the same Idempotency-Key (and the same
/// filters) gets the first answer.
pub async fn request(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    // Checked again by the use case; here so that it is answered before the query is read.
    scope.require(Permission::Export)?;
    let key = idempotency::key(request)?;
    let params = http::query_params(request, LIST_FILTERS)?;
    let given: std::collections::BTreeMap<String, String> = params
        .into_iter()
        .map(|(name, value)| (name, value.trim().to_owned()))
        .collect();
    let param = |name: &str| given.get(name).cloned();
    let filters = ExportFilters {
        query: list_query(&param)?,
        assigned_to: param("assignedTo"),
        given: given.clone(),
    };
    // What was asked, for the key's fingerprint: the filters (the request has no body).
    let asked = serde_json::to_vec(&given).expect("filters serialise");
    let retry = idempotency::retry_keyed(key, request, &asked);
    let answer = match exports::request(app, &scope, filters, &retry).await? {
        Created::Made(record) => idempotency::to_response(exports::answer_of(&record), false),
        Created::Replayed(first) => idempotency::to_response(first, true),
    };
    Ok(answer)
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    // As in `request`, before the query is read.
    scope.require(Permission::Export)?;
    let (limit, cursor) = http::page_params_with(request, DEFAULT_PAGE)?;
    let page = exports::list(app, &scope, limit, cursor.as_deref()).await?;
    Ok(json(
        StatusCode::OK,
        &view::export_page(&page.items, page.next_cursor),
    ))
}

/// The export, with a short-lived `download` URL of its file once completed.
pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let (record, download) = exports::get(app, &scope, &path_param(request, "exportId")?).await?;
    Ok(json(StatusCode::OK, &ExportView::of(&record, download)))
}
