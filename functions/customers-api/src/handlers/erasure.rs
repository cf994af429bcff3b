//! The erasure and subject-access routes: request in, `usecases::erasure` call, response out.

use domain::Permission;
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::customers::customer_response;
use super::{customer_id, scope};
use crate::App;
use crate::http::{self, if_match};
use crate::usecases::erasure;

/// Erases a customer: 202, the erased card (the rest of its records follow in the background).
/// If-Match is required: an erasure cannot be undone, so the caller names the version seen.
pub async fn erase(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    // Checked again by the use case; here so that it is answered before the request is read.
    scope.require(Permission::Erase)?;
    let id = customer_id(request)?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let customer = erasure::erase(app, &scope, &id, expected).await?;
    Ok(customer_response(&scope, StatusCode::ACCEPTED, &customer))
}

/// Everything held about one customer, as JSON (subject access). The same data answers the
/// same bytes: no time of export in it.
pub async fn personal_data(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.require(Permission::Erase)?;
    let id = customer_id(request)?;
    let records = erasure::personal_data(app, &scope, &id).await?;
    Ok(http::json(
        StatusCode::OK,
        &json!({"customerId": id.0, "records": records}),
    ))
}
