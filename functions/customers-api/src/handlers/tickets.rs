//! The ticket routes beyond the ones every linked kind shares (`handlers::linked`). A ticket
//! is never changed, so its answers carry no ETag, and a retried record is matched by its
//! Idempotency-Key alone.

use domain::Ticket;
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{DEFAULT_PAGE, idempotency, linked};
use crate::App;
use crate::http::{self, JSON, json, with_header};
use crate::usecases::tickets;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let (scope, id) = linked::at_customer(app, request).await?;
    scope.edit_reach()?;
    let input = http::parse_json(http::body_bytes(request, JSON)?)?;
    let key = idempotency::key(request)?;
    let ticket = tickets::record(app, &scope, &id, input, key.as_deref()).await?;
    Ok(created(&ticket))
}

/// 201 with the ticket and its location (a ticket never changes: no ETag).
fn created(ticket: &Ticket) -> Response<Body> {
    let location = format!("/customers/{}/tickets/{}", ticket.customer_id, ticket.id);
    with_header(json(StatusCode::CREATED, ticket), "location", &location)
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let (scope, id) = linked::at_customer(app, request).await?;
    let params = http::list_params(request, DEFAULT_PAGE, &["jobId"])?;
    let job = params.filter("jobId").map(str::to_owned);
    let page = tickets::list(app, &scope, &id, job.as_deref(), params.page()).await?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let ticket = linked::read::<Ticket>(app, request).await?;
    Ok(json(StatusCode::OK, &ticket))
}
