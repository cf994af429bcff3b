//! `POST /customers/{customerId}/merge`: request in, `usecases::merge` call, response out.

use domain::{CustomerId, Permission};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::customers::customer_response;
use super::{customer_id, scope};
use crate::App;
use crate::http::{self, JSON, if_match, with_header};
use crate::usecases::merge;

/// Merges the duplicate the body names into the customer of the path: 202 with the survivor
/// (its records follow in the background), its ETag and its `Location`.
pub async fn merge(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct MergeRequest {
        duplicate_id: String,
    }
    let scope = scope(app, request).await?;
    // Checked again by the use case; here so that it is answered before the body is read.
    scope.require(Permission::Merge)?;
    let survivor = customer_id(request)?;
    let body: MergeRequest = http::parse_json(http::body_bytes(request, JSON)?)?;
    // An id that cannot name a record names no customer of the organisation.
    let duplicate = domain::record_id(&body.duplicate_id)
        .map(CustomerId)
        .ok_or_else(|| Problem::not_found("customer").with("duplicateId", &body.duplicate_id))?;
    let customer = merge::merge(
        app,
        &scope,
        &survivor,
        &duplicate,
        if_match(request.headers()),
    )
    .await?;
    Ok(with_header(
        customer_response(&scope, StatusCode::ACCEPTED, &customer),
        "location",
        &format!("/customers/{}", customer.id),
    ))
}
