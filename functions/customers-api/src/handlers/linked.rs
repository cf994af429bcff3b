//! The routes every kind of linked record shares (read one, list, create, change), written once
//! over the kind's declaration (`domain::Kind`: which path parameter names a record, what a
//! missing one is called). Each reads the caller's scope and the customer from the request,
//! checks what must be refused before the body is read, and hands the rest to the kind's use
//! case. A kind's own handler module names its use cases and reads only what is its own (a
//! list's filters, a parent's id).

use domain::{CustomerId, Linked};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use store::Stored;

use super::{created, customer_id, idempotency, page_request, record_id, record_response, scope};
use crate::App;
use crate::http::{self, JSON, MERGE_PATCH, if_match, json};
use crate::usecases::idempotency::Retry;
use crate::usecases::{Created, Scope, linked};

/// The caller's scope and the customer the path names.
pub async fn at_customer(app: &App, request: &Request) -> Result<(Scope, CustomerId), Problem> {
    let scope = scope(app, request).await?;
    Ok((scope, customer_id(request)?))
}

/// The id of the kind's record the path names; anything but a ULID names none (404).
pub fn id_of<T: Linked>(request: &Request) -> Result<String, Problem> {
    record_id(request, T::KIND.id_param, T::KIND.name)
}

/// `GET .../{kind}/{id}`: one record of the customer, with its ETag.
pub async fn get<T: Stored + Serialize>(
    app: &App,
    request: &Request,
) -> Result<Response<Body>, Problem> {
    let record = read::<T>(app, request).await?;
    Ok(record_response(&record))
}

/// The record the path names, read within the caller's reach.
pub async fn read<T: Stored>(app: &App, request: &Request) -> Result<T, Problem> {
    let (scope, customer) = at_customer(app, request).await?;
    linked::read::<T>(app, &scope, &customer, &id_of::<T>(request)?).await
}

/// `GET .../{kind}`: a page of the customer's records of a kind that has no filters.
pub async fn list<T: Stored + Serialize>(
    app: &App,
    request: &Request,
) -> Result<Response<Body>, Problem> {
    let (scope, customer) = at_customer(app, request).await?;
    let page = linked::page::<T>(app, &scope, &customer, page_request(request)?).await?;
    Ok(json(StatusCode::OK, &page))
}

/// `POST .../{kind}`: the body read as the kind's input, the Idempotency-Key as a retry, and
/// `make` (the kind's create use case) answered as 201 or as the first answer replayed. A
/// caller who may change no customer is refused before the body is read.
pub async fn create<T, I>(
    app: &App,
    request: &Request,
    make: impl AsyncFnOnce(&App, &Scope, &CustomerId, I, &Retry) -> Result<Created<T>, Problem>,
) -> Result<Response<Body>, Problem>
where
    T: Linked + Serialize,
    I: DeserializeOwned,
{
    let (scope, customer) = at_customer(app, request).await?;
    scope.edit_reach()?;
    let body = http::body_bytes(request, JSON)?;
    let input: I = http::parse_json(body)?;
    let retry = idempotency::retry(request, body)?;
    Ok(created(make(app, &scope, &customer, input, &retry).await?))
}

/// `PATCH .../{kind}/{id}`: a merge patch on the version the If-Match names (required), handed
/// to `change` (the kind's change use case); answered with the record and its new ETag.
pub async fn update<T>(
    app: &App,
    request: &Request,
    change: impl AsyncFnOnce(&App, &Scope, &CustomerId, &str, Option<u64>, &Value) -> Result<T, Problem>,
) -> Result<Response<Body>, Problem>
where
    T: Linked + Serialize,
{
    let (scope, customer) = at_customer(app, request).await?;
    scope.edit_reach()?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    let id = id_of::<T>(request)?;
    let record = change(app, &scope, &customer, &id, expected, &patch).await?;
    Ok(record_response(&record))
}
