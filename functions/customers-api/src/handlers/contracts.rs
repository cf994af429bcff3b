//! A customer's contracts: created, listed, read and changed by merge patch. A cancelled
//! contract is final. Contracts do not change the customer's card.

use chrono::Utc;
use domain::{
    Contract, ContractFields, ContractInput, ContractStatus, CustomerId, CustomerStatus,
    FieldError, Permission,
};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use store::StoreError;

use super::idempotency::{self, Retry};
use super::{
    Scope, customer_id, found, patched, read_reachable, read_visible, record_id,
    refuse_null_status, scope, store_problem,
};
use crate::App;
use crate::http::{self, etag, if_match, json, with_header};

const JSON: &[&str] = &["application/json"];
const MERGE_PATCH: &[&str] = &["application/merge-patch+json", "application/json"];
const DEFAULT_PAGE: i32 = 50;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let reach = scope.edit_reach()?;
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
    let customer = read_reachable(app, &scope, &id, reach, Permission::Edit).await?;
    if let Some(first) = retry.earlier_answer(app, &scope.tenant).await? {
        return Ok(first);
    }
    if customer.status == CustomerStatus::Inactive {
        // The cascade has cancelled its contracts; a new one would escape it.
        return Err(Problem::conflict(
            "customer-inactive",
            "The customer is inactive",
            "An inactive customer takes no new contracts. Reactivate it first.",
        ));
    }
    let fields = validated(app, &scope, &id, input, &[]).await?;
    let contract = Contract::new(id.clone(), fields, &scope.caller.user, Utc::now());
    let location = format!("/customers/{id}/contracts/{}", contract.id);
    let created = with_header(
        contract_response(StatusCode::CREATED, &contract),
        "location",
        &location,
    );
    let record = retry.record(&created, contract.created_at);
    match app
        .store
        .create_contract(&scope.tenant, &contract, record.as_ref())
        .await
    {
        Ok(()) => Ok(created),
        Err(StoreError::IdempotencyKeyUsed(first)) => idempotency::replay(*first, record.as_ref()),
        Err(e) => Err(store_problem(e)),
    }
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let (limit, cursor, ascending) = http::ordered_page_params(request, DEFAULT_PAGE)?;
    read_visible(app, &scope, &id).await?;
    let page = app
        .store
        .contracts(&scope.tenant, &id, limit, cursor.as_deref(), ascending)
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    read_visible(app, &scope, &id).await?;
    let contract = existing(app, &scope, &id, request).await?;
    Ok(contract_response(StatusCode::OK, &contract))
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let reach = scope.edit_reach()?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    refuse_null_status(&patch)?;
    read_reachable(app, &scope, &id, reach, Permission::Edit).await?;
    let before = existing(app, &scope, &id, request).await?;
    if expected.is_some_and(|version| version != before.version) {
        return Err(Problem::stale(Some(&etag(before.version))));
    }
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
        return Ok(contract_response(StatusCode::OK, &before));
    }
    let after = Contract {
        fields,
        version: before.version + 1,
        updated_at: Utc::now(),
        updated_by: scope.caller.user.clone(),
        ..before.clone()
    };
    match app
        .store
        .replace_contract(&scope.tenant, &after, before.version)
        .await
    {
        Ok(()) => Ok(contract_response(StatusCode::OK, &after)),
        Err(StoreError::VersionConflict) => Err(Problem::stale(None)),
        Err(e) => Err(store_problem(e)),
    }
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

async fn existing(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    request: &Request,
) -> Result<Contract, Problem> {
    let id = record_id(request, "contractId", "contract")?;
    found(
        app.store.contract(&scope.tenant, customer, &id).await,
        "contract",
    )
}

fn contract_response(status: StatusCode, contract: &Contract) -> Response<Body> {
    with_header(json(status, contract), "etag", &etag(contract.version))
}
