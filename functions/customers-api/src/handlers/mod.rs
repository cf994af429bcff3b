//! Handlers: parse, decide, store, respond. The pieces every handler shares live here.

pub mod contacts;
pub mod customers;

use chrono::Utc;
use domain::{Customer, CustomerId};
use kit::{Caller, Problem};
use lambda_http::Request;
use store::{StoreError, TenantId};

use crate::App;
use crate::http::{etag, path_param};

/// The verified caller and the tenant every key of this request will start with.
pub struct Scope {
    pub caller: Caller,
    pub tenant: TenantId,
}

pub fn scope(app: &App, request: &Request) -> Result<Scope, Problem> {
    let caller = Caller::from_request(request, &app.claims)?;
    let tenant = TenantId::parse(&caller.tenant).ok_or_else(Problem::no_tenant)?;
    Ok(Scope { caller, tenant })
}

pub fn customer_id(request: &Request) -> Result<CustomerId, Problem> {
    path_param(request, "customerId").map(CustomerId)
}

/// Maps store failures to problems. Causes are logged here, once, and never sent to clients.
pub fn store_problem(error: StoreError) -> Problem {
    match error {
        StoreError::NotFound => Problem::not_found("customer"),
        StoreError::InvalidCursor(why) => Problem::bad_parameter("cursor", why),
        StoreError::NumberTaken => number_taken(),
        StoreError::VersionConflict => Problem::stale(None),
        StoreError::Unavailable(cause) => {
            tracing::warn!(error = %cause, "DynamoDB unavailable");
            Problem::unavailable()
        }
        other => {
            tracing::error!(error = %other, "store failure");
            Problem::internal()
        }
    }
}

pub fn number_taken() -> Problem {
    Problem::conflict(
        "customer-number-taken",
        "The customer number is already in use",
        "Another customer of your organisation has this customer number. Choose another one.",
    )
}

/// How often a change is re-applied when someone else changed the customer in between and
/// the caller did not ask for a specific version.
const MODIFY_ATTEMPTS: usize = 3;

/// Read, change, write with optimistic concurrency. `expected` is the If-Match header:
/// `Some(Some(v))` demands version v (else 412); otherwise a concurrent change is re-read
/// and the change re-applied. An unchanged customer is not written at all.
pub async fn modify<T>(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    expected: Option<Option<u64>>,
    mut change: impl FnMut(&mut Customer) -> Result<T, Problem>,
) -> Result<(Customer, T), Problem> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = app
            .store
            .get(&scope.tenant, id)
            .await
            .map_err(store_problem)?
            .ok_or_else(|| Problem::not_found("customer"))?;
        if let Some(Some(version)) = expected
            && version != current.version
        {
            return Err(Problem::stale(Some(&etag(current.version))));
        }
        let mut next = current.clone();
        let outcome = change(&mut next)?;
        if next == current {
            return Ok((current, outcome));
        }
        next.version = current.version + 1;
        next.updated_at = Utc::now();
        next.updated_by = scope.caller.user.clone();
        match app.store.replace(&scope.tenant, &current, &next).await {
            Ok(()) => return Ok((next, outcome)),
            Err(StoreError::VersionConflict)
                if !matches!(expected, Some(Some(_))) && attempt < MODIFY_ATTEMPTS =>
            {
                continue;
            }
            Err(e) => return Err(store_problem(e)),
        }
    }
}
