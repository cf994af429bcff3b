//! The note routes: request in, `usecases::notes` call, response out.

use domain::{Note, NoteInput};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use super::{created, customer_id, idempotency, page_request, record_id, record_response, scope};
use crate::App;
use crate::http::{self, JSON, MERGE_PATCH, if_match, json};
use crate::usecases::{linked, notes};

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let body = http::body_bytes(request, JSON)?;
    let input: NoteInput = http::parse_json(body)?;
    let retry = idempotency::retry(request, body)?;
    Ok(created(
        notes::create(app, &scope, &id, input, &retry).await?,
    ))
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let page = notes::page(app, &scope, &id, page_request(request)?).await?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let note = linked::read::<Note>(app, &scope, &id, &note_id(request)?).await?;
    Ok(record_response(&note))
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    let note = notes::change(app, &scope, &id, &note_id(request)?, expected, &patch).await?;
    Ok(record_response(&note))
}

/// Note ids are ULIDs; anything else names no note.
fn note_id(request: &Request) -> Result<String, Problem> {
    record_id(request, "noteId", "note")
}
