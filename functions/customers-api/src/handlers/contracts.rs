//! The contract routes: request in, `usecases::contracts` call, response out.

use domain::{Contract, ContractInput};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use super::{created, customer_id, idempotency, page_request, record_id, record_response, scope};
use crate::App;
use crate::http::{self, JSON, MERGE_PATCH, if_match, json};
use crate::usecases::{contracts, linked};

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let body = http::body_bytes(request, JSON)?;
    let input: ContractInput = http::parse_json(body)?;
    let retry = idempotency::retry(request, body)?;
    Ok(created(
        contracts::create(app, &scope, &id, input, &retry).await?,
    ))
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let page = linked::page::<Contract>(app, &scope, &id, page_request(request)?).await?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let contract = linked::read::<Contract>(app, &scope, &id, &contract_id(request)?).await?;
    Ok(record_response(&contract))
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    let contract =
        contracts::change(app, &scope, &id, &contract_id(request)?, expected, &patch).await?;
    Ok(record_response(&contract))
}

/// Contract ids are ULIDs; anything else names no contract.
fn contract_id(request: &Request) -> Result<String, Problem> {
    record_id(request, "contractId", "contract")
}
