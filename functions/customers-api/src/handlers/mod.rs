//! Handlers: the HTTP adapters. Each reads the request into typed input (the caller's scope,
//! path ids, the parsed body), calls a use case (`crate::usecases`) and writes its result or
//! problem as the response. The pieces every handler shares live here.

pub mod assignments;
pub mod bulk_changes;
pub mod caller;
pub mod contacts;
pub mod contracts;
pub mod customers;
pub mod erasure;
pub mod exports;
pub mod history;
pub mod idempotency;
pub mod imports;
pub mod jobs;
pub mod linked;
pub mod merge;
pub mod notes;
pub mod profile;
pub mod settings;
pub mod sites;
pub mod tickets;
pub mod work_orders;

use domain::{CustomerId, Grants, Linked};
use kit::{Caller, Problem};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use store::TenantId;

use crate::App;
use crate::http::{etag, json, path_param, with_header};
pub use crate::usecases::Scope;
use crate::usecases::linked::answer_of;
use crate::usecases::{Created, PageRequest};
use idempotency::to_response;

/// The caller's scope from the verified token: who, which organisation, what they may do,
/// and the organisation's settings.
pub async fn scope(app: &App, request: &Request) -> Result<Scope, Problem> {
    let Identity {
        caller,
        tenant,
        grants,
    } = identity(app, request)?;
    let settings = app.settings(&tenant).await?;
    Ok(Scope {
        caller,
        tenant,
        grants,
        settings,
    })
}

/// Who the verified token names and what their roles grant: the part of [`scope`] that reads
/// nothing but the token.
pub struct Identity {
    pub caller: Caller,
    pub tenant: TenantId,
    pub grants: Grants,
}

pub fn identity(app: &App, request: &Request) -> Result<Identity, Problem> {
    let caller = Caller::from_request(request, &app.claims)?;
    // The user id goes into keys (assignments, a technician's list) and records: one that no
    // key may hold (over 128 bytes, `#`, spaces) is no identity this API can serve.
    if !domain::is_user_id(&caller.user) {
        return Err(Problem::unauthenticated()
            .detail("The token's subject (sub) is not a user id this API accepts: 1 to 128 printable ASCII characters without '#'."));
    }
    let tenant = TenantId::parse(&caller.tenant).ok_or_else(Problem::no_tenant)?;
    let grants = Grants::of_roles(&caller.roles);
    Ok(Identity {
        caller,
        tenant,
        grants,
    })
}

pub fn customer_id(request: &Request) -> Result<CustomerId, Problem> {
    record_id(request, "customerId", "customer").map(CustomerId)
}

/// The ULID id of a record (a customer, a contract, a work order, a job, a ticket, an import)
/// from the path, in canonical form ([`domain::record_id`]); anything else, a 3000-character
/// id too, cannot name a record and answers 404 like an unknown id.
pub fn record_id(request: &Request, param: &str, what: &str) -> Result<String, Problem> {
    let raw = path_param(request, param)?;
    domain::record_id(&raw).ok_or_else(|| Problem::not_found(what))
}

/// A page's size, cursor and order from the query (`limit`, `cursor`, `order`).
pub fn page_request(request: &Request) -> Result<PageRequest, Problem> {
    Ok(crate::http::list_params(request, DEFAULT_PAGE, &[])?.page())
}

/// The size of a page of a customer's records when the request names none.
pub const DEFAULT_PAGE: i32 = 50;

/// A linked record with its ETag.
pub fn record_response<T: Linked + serde::Serialize>(record: &T) -> Response<Body> {
    with_header(
        json(StatusCode::OK, record),
        "etag",
        &etag(record.version()),
    )
}

/// A create's answer: 201 with the record, its location and ETag; or the first answer to the
/// same request, replayed.
pub fn created<T: Linked + serde::Serialize>(created: Created<T>) -> Response<Body> {
    match created {
        Created::Made(record) => to_response(answer_of(&record), false),
        Created::Replayed(first) => to_response(first, true),
    }
}
