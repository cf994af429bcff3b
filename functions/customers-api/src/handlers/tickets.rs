//! The ticket routes: request in, `usecases::tickets` call, response out.

use domain::{Ticket, TicketInput};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{DEFAULT_PAGE, customer_id, idempotency, record_id, scope};
use crate::App;
use crate::http::{self, JSON, json, with_header};
use crate::usecases::{PageRequest, linked, tickets};

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let input: TicketInput = http::parse_json(http::body_bytes(request, JSON)?)?;
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
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let params = http::list_params(request, DEFAULT_PAGE, &["jobId"])?;
    let job = params.filter("jobId").map(str::to_owned);
    let page = PageRequest {
        limit: params.limit,
        cursor: params.cursor,
        ascending: params.ascending,
    };
    let page = tickets::list(app, &scope, &id, job.as_deref(), page).await?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let ticket =
        linked::read::<Ticket>(app, &scope, &id, &record_id(request, "ticketId", "ticket")?)
            .await?;
    Ok(json(StatusCode::OK, &ticket))
}
