//! The site routes: request in, `usecases::sites` call, response out.

use domain::{Site, SiteInput};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use super::{created, customer_id, idempotency, page_request, record_id, record_response, scope};
use crate::App;
use crate::http::{self, JSON, MERGE_PATCH, if_match, json};
use crate::usecases::{linked, sites};

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let body = http::body_bytes(request, JSON)?;
    let input: SiteInput = http::parse_json(body)?;
    let retry = idempotency::retry(request, body)?;
    Ok(created(sites::link(app, &scope, &id, input, &retry).await?))
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let page = linked::page::<Site>(app, &scope, &id, page_request(request)?).await?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let site = linked::read::<Site>(app, &scope, &id, &site_id(request)?).await?;
    Ok(record_response(&site))
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    let site = sites::change(app, &scope, &id, &site_id(request)?, expected, &patch).await?;
    Ok(record_response(&site))
}

pub async fn unlink(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    sites::unlink(app, &scope, &id, &site_id(request)?).await?;
    Ok(http::no_content())
}

/// Site ids are ULIDs; anything else names no site.
fn site_id(request: &Request) -> Result<String, Problem> {
    record_id(request, "siteId", "site")
}
