//! Customer routes: create, get, list and search, update by merge patch, deactivate and
//! reactivate.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use domain::{Customer, CustomerId, CustomerInput, CustomerStatus, FieldError};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use store::{IdempotencyRecord, ListQuery, StoreError, StoredResponse};

use super::{Scope, customer_id, modify, number_taken, scope, store_problem};
use crate::App;
use crate::http::{self, etag, if_match, json, with_header};
use crate::merge_patch;
use crate::view::{self, CustomerView};

const JSON: &[&str] = &["application/json"];
const MERGE_PATCH: &[&str] = &["application/merge-patch+json", "application/json"];
/// How long a create stays replayable under its Idempotency-Key.
const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;
const DEFAULT_PAGE: i32 = 50;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request)?;
    let idempotency_key = idempotency_key(request)?;
    let body = http::body_bytes(request, JSON)?;
    let input: CustomerInput = http::parse_json(body)?;
    let fields =
        domain::validate_customer(input, &app.validation).map_err(|e| Problem::validation(e.0))?;

    let now = Utc::now();
    let customer = Customer {
        id: CustomerId::new(),
        status: CustomerStatus::Active,
        version: 1,
        created_at: now,
        created_by: scope.caller.user.clone(),
        updated_at: now,
        updated_by: scope.caller.user.clone(),
        fields,
    };
    let response = created_response(&customer);
    let record = idempotency_key.map(|key| IdempotencyRecord {
        fingerprint: fingerprint(request, body),
        key,
        response: response.clone(),
        expires_at: now.timestamp() + IDEMPOTENCY_TTL_SECONDS,
    });
    match app
        .store
        .create(&scope.tenant, &customer, record.as_ref())
        .await
    {
        Ok(_) => Ok(to_response(response, false)),
        Err(StoreError::IdempotencyKeyUsed(first)) => replay(*first, record.as_ref()),
        Err(StoreError::NumberTaken) => Err(number_taken()),
        Err(e) => Err(store_problem(e)),
    }
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request)?;
    let id = customer_id(request)?;
    let customer = app
        .store
        .get(&scope.tenant, &id)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found("customer"))?;
    Ok(customer_response(StatusCode::OK, &customer))
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request)?;
    let params = http::query_params(
        request,
        &["limit", "cursor", "q", "status", "number", "email", "phone"],
    )?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    if let Some(found) = exact_lookup(app, &scope, &param).await? {
        return Ok(json(StatusCode::OK, &view::page(&found, None)));
    }
    let query = ListQuery {
        status: param("status").map(|s| parse_status(&s)).transpose()?,
        name_prefix: param("q").map(|q| domain::fold(&q)),
        limit: param("limit")
            .map(|l| parse_limit(&l))
            .transpose()?
            .unwrap_or(DEFAULT_PAGE),
        cursor: param("cursor"),
    };
    let page = app
        .store
        .list(&scope.tenant, &query)
        .await
        .map_err(store_problem)?;
    Ok(json(
        StatusCode::OK,
        &view::page(&page.items, page.next_cursor),
    ))
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request)?;
    let id = customer_id(request)?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    refuse_unpatchable(&patch)?;
    let (customer, ()) = modify(app, &scope, &id, Some(expected), |customer| {
        let mut target = serde_json::to_value(customer.fields.to_input())
            .expect("a customer card always serialises");
        merge_patch::apply(&mut target, &patch);
        let input: CustomerInput = http::from_value(target)?;
        let contacts = std::mem::take(&mut customer.fields.contacts);
        let mut fields = domain::validate_customer(input, &app.validation)
            .map_err(|e| Problem::validation(e.0))?;
        fields.contacts = contacts;
        customer.fields = fields;
        Ok(())
    })
    .await?;
    Ok(customer_response(StatusCode::OK, &customer))
}

pub async fn deactivate(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    set_status(app, request, CustomerStatus::Inactive).await
}

pub async fn reactivate(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    set_status(app, request, CustomerStatus::Active).await
}

/// Deactivating an inactive customer (or reactivating an active one) is a no-op that answers
/// 200, so retries are harmless.
async fn set_status(
    app: &App,
    request: &Request,
    status: CustomerStatus,
) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request)?;
    let id = customer_id(request)?;
    let (customer, ()) = modify(app, &scope, &id, if_match(request.headers()), |customer| {
        customer.status = status;
        Ok(())
    })
    .await?;
    Ok(customer_response(StatusCode::OK, &customer))
}

/// `customerNumber` changes are an administrator's action with their own route; contacts
/// have their own routes so that their ids stay stable.
fn refuse_unpatchable(patch: &Value) -> Result<(), Problem> {
    let Value::Object(members) = patch else {
        return Err(Problem::validation(vec![FieldError {
            field: "/".into(),
            code: "invalid_type".into(),
            message: "A merge patch must be a JSON object.".into(),
        }]));
    };
    let mut errors = Vec::new();
    if members.contains_key("customerNumber") {
        errors.push(FieldError {
            field: "/customerNumber".into(),
            code: "read_only".into(),
            message: "The customer number cannot be changed by an update.".into(),
        });
    }
    if members.contains_key("contacts") {
        errors.push(FieldError {
            field: "/contacts".into(),
            code: "read_only".into(),
            message: "Change contacts through /customers/{customerId}/contacts.".into(),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(errors))
    }
}

/// `number`, `email` and `phone` are exact lookups (at most one of them, not combined with
/// the list parameters); `None` when the request is a plain list.
async fn exact_lookup(
    app: &App,
    scope: &Scope,
    param: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Vec<Customer>>, Problem> {
    let lookups: Vec<&str> = ["number", "email", "phone"]
        .into_iter()
        .filter(|name| param(name).is_some())
        .collect();
    let list_params = ["q", "status", "cursor"]
        .into_iter()
        .any(|n| param(n).is_some());
    if lookups.len() > 1 || (lookups.len() == 1 && list_params) {
        return Err(Problem::bad_parameter(
            lookups[0],
            "Use one of number, email or phone on its own; they are exact lookups.",
        ));
    }
    let tenant = &scope.tenant;
    let found = match lookups.first().copied() {
        None => return Ok(None),
        Some("number") => {
            let number = param("number").unwrap_or_default();
            app.store
                .find_by_number(tenant, &number)
                .await
                .map(|c| c.into_iter().collect())
        }
        Some("email") => {
            let email = param("email").unwrap_or_default();
            app.store.find_by_email(tenant, &email).await
        }
        Some(_) => {
            let raw = param("phone").unwrap_or_default();
            let phone = domain::normalise_phone(&raw, app.validation.default_country.as_deref())
                .map_err(|e| Problem::bad_parameter("phone", e.to_string()))?;
            app.store.find_by_phone(tenant, &phone).await
        }
    };
    found.map(Some).map_err(store_problem)
}

fn parse_status(raw: &str) -> Result<CustomerStatus, Problem> {
    match raw {
        "active" => Ok(CustomerStatus::Active),
        "inactive" => Ok(CustomerStatus::Inactive),
        _ => Err(Problem::bad_parameter(
            "status",
            "status is 'active' or 'inactive'.",
        )),
    }
}

fn parse_limit(raw: &str) -> Result<i32, Problem> {
    raw.parse::<i32>()
        .ok()
        .filter(|l| (1..=store::MAX_PAGE).contains(l))
        .ok_or_else(|| {
            Problem::bad_parameter(
                "limit",
                format!("limit is a whole number from 1 to {}.", store::MAX_PAGE),
            )
        })
}

fn idempotency_key(request: &Request) -> Result<Option<String>, Problem> {
    let Some(raw) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = raw.to_str().unwrap_or("").trim();
    let valid = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-idempotency-key",
            "The Idempotency-Key header is invalid",
        )
        .detail("Use 1 to 255 printable ASCII characters, e.g. a UUID."));
    }
    // Hashed so that whatever a client puts in the key never shapes our item keys.
    Ok(Some(URL_SAFE_NO_PAD.encode(Sha256::digest(key.as_bytes()))))
}

/// What was asked: the route and the exact body. The same key with another request is refused.
fn fingerprint(request: &Request, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(request.uri().path().as_bytes());
    hash.update([0]);
    hash.update(body);
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

fn replay(
    first: IdempotencyRecord,
    ours: Option<&IdempotencyRecord>,
) -> Result<Response<Body>, Problem> {
    match ours {
        Some(ours) if ours.fingerprint == first.fingerprint => {
            Ok(to_response(first.response, true))
        }
        _ => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "The Idempotency-Key was already used for another request",
        )
        .detail("Use a new key for a new request.")),
    }
}

fn created_response(customer: &Customer) -> StoredResponse {
    StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        headers: vec![
            ("location".into(), format!("/customers/{}", customer.id)),
            ("etag".into(), etag(customer.version)),
        ],
        body: serde_json::to_string(&CustomerView::of(customer)).expect("views serialise"),
    }
}

fn to_response(stored: StoredResponse, replayed: bool) -> Response<Body> {
    let mut builder = Response::builder()
        .status(stored.status)
        .header("content-type", "application/json");
    for (name, value) in &stored.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if replayed {
        builder = builder.header("idempotent-replayed", "true");
    }
    builder
        .body(Body::Text(stored.body))
        .expect("stored headers are valid")
}

pub fn customer_response(status: StatusCode, customer: &Customer) -> Response<Body> {
    with_header(
        json(status, &CustomerView::of(customer)),
        "etag",
        &etag(customer.version),
    )
}
