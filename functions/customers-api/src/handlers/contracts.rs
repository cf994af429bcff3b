//! A customer's contracts: created, listed, read and changed by merge patch. A cancelled
//! contract is final. Contracts do not change the customer's card.

use chrono::Utc;
use domain::{Contract, ContractFields, ContractInput, ContractStatus, CustomerId, FieldError};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use super::idempotency::Retry;
use super::{Scope, customer_id, patched, record_id, refuse_null_status, scope, store_problem};
use crate::App;
use crate::http::{self, if_match, json};
use crate::linked::{
    self, NewRecord, check_version, customer_for_change, customer_for_view, existing, today,
};

const JSON: &[&str] = &["application/json"];
const MERGE_PATCH: &[&str] = &["application/merge-patch+json", "application/json"];
const DEFAULT_PAGE: i32 = 50;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    scope.edit_reach()?;
    let body = http::body_bytes(request, JSON)?;
    let input: ContractInput = http::parse_json(body)?;
    if input.status.is_some() {
        return Err(Problem::validation(vec![FieldError::new(
            "/status",
            "unknown_field",
            "A new contract is active; change its status afterwards with PATCH.",
        )]));
    }
    let retry = Retry::of(request, body)?;
    let (scope, input) = (&scope, &input);
    linked::create(app, scope, &id, &retry, |customer| async move {
        let depends = linked::may_link::<Contract>(&customer)?;
        let fields = validated(app, scope, &customer.id, input.clone(), &[]).await?;
        // A period that ended already makes an expired contract (a record of past terms).
        let contract =
            Contract::new(customer.id, fields, &scope.caller.user, Utc::now()).as_of(today());
        Ok(NewRecord {
            record: contract,
            depends: vec![depends],
        })
    })
    .await
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let (limit, cursor, ascending) = http::ordered_page_params(request, DEFAULT_PAGE)?;
    customer_for_view(app, &scope, &id).await?;
    let page = app
        .store
        .linked_page::<Contract>(&scope.tenant, &id, limit, cursor.as_deref(), ascending)
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    customer_for_view(app, &scope, &id).await?;
    let contract: Contract = existing(app, &scope, &id, &contract_id(request)?).await?;
    Ok(linked::respond(StatusCode::OK, &contract))
}

/// Changes a contract by merge patch (If-Match its ETag). A cancelled contract is final; an
/// expired one is made active again by moving its end, and only on an active customer.
pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    refuse_null_status(&patch)?;
    let customer = customer_for_change(app, &scope, &id).await?;
    let before: Contract = existing(app, &scope, &id, &contract_id(request)?).await?;
    check_version(expected, &before)?;
    if before.fields.status == ContractStatus::Cancelled {
        return Err(Problem::conflict(
            "contract-cancelled",
            "The contract is cancelled",
            "A cancelled contract stays as it is; make a new contract instead.",
        ));
    }
    let input = patched(&before.fields.to_input(), &patch)?;
    let fields = validated(app, &scope, &id, input, &before.fields.site_ids).await?;
    if fields == before.fields {
        return Ok(linked::respond(StatusCode::OK, &before));
    }
    fields
        .check_active_period(today())
        .map_err(|e| Problem::validation(e.0))?;
    let after = Contract {
        fields,
        version: before.version + 1,
        updated_at: Utc::now(),
        updated_by: scope.caller.user.clone(),
        ..before.clone()
    };
    let after = linked::save_change(app, &scope, &customer, &before, after).await?;
    Ok(linked::respond(StatusCode::OK, &after))
}

/// The domain's checks, and that every site newly named is one of the customer's (sites the
/// contract named already may have been unlinked since: the contract keeps them as history).
async fn validated(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    input: ContractInput,
    named_before: &[String],
) -> Result<ContractFields, Problem> {
    let fields = domain::validate_contract(input).map_err(|e| Problem::validation(e.0))?;
    let new: Vec<String> = fields
        .site_ids
        .iter()
        .filter(|id| !named_before.contains(id))
        .cloned()
        .collect();
    if new.is_empty() {
        return Ok(fields);
    }
    let found = app
        .store
        .existing_sites(&scope.tenant, customer, &new)
        .await
        .map_err(store_problem)?;
    let unknown: Vec<FieldError> = fields
        .site_ids
        .iter()
        .enumerate()
        .filter(|(_, id)| new.contains(id) && !found.contains(id))
        .map(|(i, _)| {
            FieldError::new(
                format!("/siteIds/{i}"),
                "unknown_site",
                "This is not one of the customer's sites.",
            )
        })
        .collect();
    if unknown.is_empty() {
        Ok(fields)
    } else {
        Err(Problem::validation(unknown))
    }
}

/// Contract ids are ULIDs; anything else names no contract.
fn contract_id(request: &Request) -> Result<String, Problem> {
    record_id(request, "contractId", "contract")
}
