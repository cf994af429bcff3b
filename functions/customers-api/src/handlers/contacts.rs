//! The contact routes: request in, `usecases::contacts` call, response out.

use domain::{ContactId, ContactInput};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use super::{customer_id, scope};
use crate::App;
use crate::http::{self, JSON, MERGE_PATCH, etag, if_match, json, path_param, with_header};
use crate::usecases::contacts::{self, ContactOnCard};

pub async fn add(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let input: ContactInput = http::parse_json(http::body_bytes(request, JSON)?)?;
    let added = contacts::add(app, &scope, &id, if_match(request.headers()), input).await?;
    let location = format!(
        "/customers/{}/contacts/{}",
        added.customer, added.contact.id.0
    );
    Ok(with_header(
        contact_response(StatusCode::CREATED, &added),
        "location",
        &location,
    ))
}

pub async fn change(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let contact_id = contact_id(request)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    let expected = if_match(request.headers());
    let changed = contacts::change(app, &scope, &id, &contact_id, expected, &patch).await?;
    Ok(contact_response(StatusCode::OK, &changed))
}

pub async fn remove(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let contact_id = contact_id(request)?;
    let version =
        contacts::remove(app, &scope, &id, &contact_id, if_match(request.headers())).await?;
    Ok(with_header(http::no_content(), "etag", &etag(version)))
}

fn contact_id(request: &Request) -> Result<ContactId, Problem> {
    path_param(request, "contactId").map(ContactId)
}

/// The contact, with the ETag of the card that holds it.
fn contact_response(status: StatusCode, on_card: &ContactOnCard) -> Response<Body> {
    with_header(
        json(status, &on_card.contact),
        "etag",
        &etag(on_card.version),
    )
}
