//! Customer routes: create, get, list and search, update by merge patch, deactivate and
//! reactivate.

use chrono::Utc;
use domain::{
    ChangeKind, Customer, CustomerInput, CustomerStatus, FieldError, HistoryEntry, Permission,
    Reach, Tier,
};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use store::{IdempotencyRecord, ListQuery, Sort, StatusFilter, StoreError, StoredResponse};

use super::{
    Edit, Scope, customer_id, idempotency, modify, number_taken, read_visible, refused, scope,
    store_problem,
};
use crate::App;
use crate::duplicates;
use crate::http::{self, etag, if_match, json, with_header};
use crate::view::{self, CustomerView};
use domain::merge_patch;

const JSON: &[&str] = &["application/json"];
const MERGE_PATCH: &[&str] = &["application/merge-patch+json", "application/json"];
const DEFAULT_PAGE: i32 = 50;
/// Generated numbers a create tries before giving up (each collision is a number somebody
/// typed by hand that the counter then reached).
const NUMBER_ATTEMPTS: usize = 5;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.require(Permission::Create)?;
    let params = http::query_params(request, &["confirmDuplicates"])?;
    let confirmed = params
        .iter()
        .any(|(name, value)| name == "confirmDuplicates" && value == "true");
    let idempotency_key = idempotency::key(request)?;
    let body = http::body_bytes(request, JSON)?;
    let mut input: CustomerInput = http::parse_json(body)?;
    domain::refused_create(&scope.grants, &input).map_err(refused)?;
    let settings = &scope.settings.settings;
    // Validated with a stand-in that has the generated numbers' shape; the real number is
    // drawn only once the card is known to be valid.
    let generate = settings.auto_number && input.customer_number.is_none();
    if generate {
        input.customer_number = Some(settings.generated_number(0));
    }
    let fields =
        domain::validate_customer(input, &scope.rules()).map_err(|e| Problem::validation(e.0))?;
    let mut customer = Customer::new(fields, &scope.caller.user, Utc::now());
    let fingerprint = idempotency::fingerprint(request, body);
    for attempt in 1..=NUMBER_ATTEMPTS {
        if generate {
            let n = app
                .store
                .next_customer_number(&scope.tenant)
                .await
                .map_err(store_problem)?;
            let number = settings.generated_number(n);
            // The counter can outgrow numberMaxLength: say so rather than store a misfit.
            customer.fields.customer_number =
                domain::validate_customer_number(&number, &scope.rules().number_rules)
                    .map_err(|e| Problem::validation(vec![e]))?;
        }
        let record = idempotency_key.clone().map(|key| IdempotencyRecord {
            fingerprint: fingerprint.clone(),
            key,
            response: created_response(&scope, &customer),
            expires_at: customer.created_at.timestamp() + idempotency::TTL_SECONDS,
        });
        if !confirmed
            && attempt == 1
            && let Some(replayed) =
                refuse_duplicates(app, &scope, &customer, record.as_ref()).await?
        {
            return Ok(replayed);
        }
        let entry = HistoryEntry::of(ChangeKind::Created, None, &customer);
        let result = app
            .store
            .create(&scope.tenant, &customer, &entry, record.as_ref())
            .await;
        match result {
            Ok(_) => {
                kit::metrics::Metrics::new(crate::FUNCTION)
                    .count("CustomersCreated", 1)
                    .property("tenant", scope.tenant.as_str())
                    .emit();
                return Ok(idempotency::to_response(
                    created_response(&scope, &customer),
                    false,
                ));
            }
            Err(StoreError::IdempotencyKeyUsed(first)) => {
                return idempotency::replay(*first, record.as_ref());
            }
            // A generated number someone chose by hand meanwhile: draw the next one.
            Err(StoreError::NumberTaken) if generate && attempt < NUMBER_ATTEMPTS => continue,
            Err(StoreError::NumberTaken) => return Err(number_taken()),
            // A create has no version to be stale against: this is a transaction that kept
            // losing races (or a replay record gone meanwhile). Nothing was written; retry.
            Err(StoreError::VersionConflict) => return Err(Problem::unavailable()),
            Err(e) => return Err(store_problem(e)),
        }
    }
    Err(number_taken())
}

/// Changes a customer's number (administrators: ChangeCustomerNumber). The old number is
/// freed and the new one claimed in the same transaction; a taken number answers 409.
pub async fn change_number(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct NumberChange {
        customer_number: String,
    }
    let scope = scope(app, request).await?;
    scope.require(Permission::ChangeCustomerNumber)?;
    let id = customer_id(request)?;
    let change: NumberChange = http::parse_json(http::body_bytes(request, JSON)?)?;
    let number =
        domain::validate_customer_number(&change.customer_number, &scope.rules().number_rules)
            .map_err(|e| Problem::validation(vec![e]))?;
    let edit = Edit::new(ChangeKind::NumberChanged, Reach::All);
    let (customer, ()) = modify(app, &scope, &id, if_match(request.headers()), edit, |c| {
        c.fields.customer_number = number.clone();
        Ok(())
    })
    .await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

/// 409 naming the possible duplicates, unless this is the retry of a create that already
/// went through (it finds its own customer): that one gets the first response back.
async fn refuse_duplicates(
    app: &App,
    scope: &Scope,
    customer: &Customer,
    record: Option<&IdempotencyRecord>,
) -> Result<Option<Response<Body>>, Problem> {
    let duplicates = duplicates::possible(app, &scope.tenant, &customer.fields).await?;
    if duplicates.is_empty() {
        return Ok(None);
    }
    if let Some(ours) = record {
        let first = app
            .store
            .idempotency_record(&scope.tenant, &ours.key)
            .await
            .map_err(store_problem)?;
        if let Some(first) = first {
            return idempotency::replay(first, Some(ours)).map(Some);
        }
    }
    Err(duplicates::problem(duplicates))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let customer = read_visible(app, &scope, &customer_id(request)?).await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

/// Deletes a customer that has nothing but its creation: no later change, no assignment, no
/// linked record. Otherwise 409, pointing to deactivation.
pub async fn delete(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.require(Permission::Delete)?;
    let customer = read_visible(app, &scope, &customer_id(request)?).await?;
    if let Some(Some(version)) = if_match(request.headers())
        && version != customer.version
    {
        return Err(Problem::stale(Some(&etag(customer.version))));
    }
    app.store
        .delete_untouched(&scope.tenant, &customer)
        .await
        .map_err(store_problem)?;
    Ok(http::no_content())
}

/// Query parameters of the customer list.
const LIST_PARAMS: &[&str] = &[
    "limit",
    "cursor",
    "q",
    "status",
    "number",
    "email",
    "phone",
    "sort",
    "order",
    "paymentType",
    "paymentTerms",
    "vip",
    "onHold",
    "tag",
    "assignedTo",
];

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let reach = scope.view_reach()?;
    let params = http::query_params(request, LIST_PARAMS)?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    if let Some(mut found) = exact_lookup(app, &scope, &param).await? {
        found.retain(|c| scope.may_reach(reach, c, Permission::View).is_ok());
        return Ok(json(
            StatusCode::OK,
            &view::page(&found, None, scope.number_in_name()),
        ));
    }
    let query = list_query(&param)?;
    // "Only assigned" callers list their own customers, whatever they ask for.
    let assignee = match reach {
        Reach::Assigned => Some(scope.caller.user.clone()),
        Reach::All => param("assignedTo"),
    };
    let page = match assignee {
        Some(user) => assigned_page(app, &scope, &user, &query).await,
        None => app.store.list(&scope.tenant, &query).await,
    }
    .map_err(store_problem)?;
    Ok(json(
        StatusCode::OK,
        &view::page(&page.items, page.next_cursor, scope.number_in_name()),
    ))
}

fn list_query(param: &impl Fn(&str) -> Option<String>) -> Result<ListQuery, Problem> {
    let flag = |name: &str| -> Result<Option<bool>, Problem> {
        param(name)
            .map(|v| match v.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(Problem::bad_parameter(
                    name,
                    format!("{name} is true or false."),
                )),
            })
            .transpose()
    };
    Ok(ListQuery {
        sort: param("sort")
            .map(|s| parse_sort(&s))
            .transpose()?
            .unwrap_or_default(),
        status: param("status")
            .map(|s| parse_status(&s))
            .transpose()?
            .unwrap_or_default(),
        descending: !http::parse_order(param("order").as_deref())?,
        name_prefix: param("q").map(|q| domain::fold(&q)),
        payment_type: param("paymentType")
            .map(|t| parse_enum("paymentType", &t, "account or cash"))
            .transpose()?,
        payment_terms: param("paymentTerms")
            .map(|t| {
                t.parse()
                    .map_err(|_| Problem::bad_parameter("paymentTerms", "dueOnReceipt or netN."))
            })
            .transpose()?,
        tier: flag("vip")?.map(|vip| if vip { Tier::Vip } else { Tier::Regular }),
        on_hold: flag("onHold")?,
        tag: param("tag"),
        limit: param("limit")
            .map(|l| http::parse_limit(&l))
            .transpose()?
            .unwrap_or(DEFAULT_PAGE),
        cursor: param("cursor"),
    })
}

fn parse_sort(raw: &str) -> Result<Sort, Problem> {
    match raw {
        "name" => Ok(Sort::Name),
        "number" => Ok(Sort::Number),
        "created" => Ok(Sort::Created),
        _ => Err(Problem::bad_parameter(
            "sort",
            "sort is name, number or created.",
        )),
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(
    name: &str,
    raw: &str,
    expected: &str,
) -> Result<T, Problem> {
    serde_json::from_value(Value::String(raw.to_owned()))
        .map_err(|_| Problem::bad_parameter(name, format!("{name} is {expected}.")))
}

/// Customers assigned to one user (a Query of GSI1 and a BatchGetItem per page), with the
/// other conditions applied to that short list.
async fn assigned_page(
    app: &App,
    scope: &Scope,
    user: &str,
    query: &ListQuery,
) -> Result<store::Page<Customer>, StoreError> {
    let mut page = app
        .store
        .customers_assigned_to(&scope.tenant, user, query.limit, query.cursor.as_deref())
        .await?;
    // The assignment index lags behind writes; the cards are read consistently, so the card
    // decides whether this user is (still) assigned.
    page.items
        .retain(|c| c.assignees.iter().any(|a| a == user) && store::matches(query, c));
    Ok(page)
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    refuse_unpatchable(&patch)?;
    let edit = Edit::new(ChangeKind::Updated, scope.edit_reach()?);
    let rules = scope.rules();
    let (customer, ()) = modify(app, &scope, &id, Some(expected), edit, |customer| {
        let mut target = serde_json::to_value(customer.fields.to_input())
            .expect("a customer card always serialises");
        merge_patch::apply(&mut target, &patch);
        let input: CustomerInput = http::from_value(target)?;
        let contacts = std::mem::take(&mut customer.fields.contacts);
        let mut fields = domain::validate_change(&customer.fields, input, &rules)
            .map_err(|e| Problem::validation(e.0))?;
        fields.contacts = contacts;
        customer.fields = fields;
        Ok(())
    })
    .await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

pub async fn deactivate(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    set_status(
        app,
        request,
        CustomerStatus::Inactive,
        ChangeKind::Deactivated,
    )
    .await
}

/// Reactivation makes the customer usable again; it does not undo the deactivation cascade,
/// and the answer says so, so that no client assumes its work came back.
pub async fn reactivate(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let customer = changed_status(
        app,
        &scope,
        request,
        CustomerStatus::Active,
        ChangeKind::Reactivated,
    )
    .await?;
    let mut body = serde_json::to_value(CustomerView::of(&customer, scope.number_in_name()))
        .expect("a customer view serialises");
    body["reactivation"] = serde_json::json!({
        "restoresCancelledWork": false,
        "note": REACTIVATION_NOTE,
    });
    Ok(with_header(
        json(StatusCode::OK, &body),
        "etag",
        &etag(customer.version),
    ))
}

const REACTIVATION_NOTE: &str = "Reactivation does not undo the deactivation cascade: sites stay \
    inactive until reactivated one by one, and cancelled contracts, work orders, tasks and jobs \
    stay cancelled.";

async fn set_status(
    app: &App,
    request: &Request,
    status: CustomerStatus,
    kind: ChangeKind,
) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let customer = changed_status(app, &scope, request, status, kind).await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

/// Deactivating an inactive customer (or reactivating an active one) is a no-op that answers
/// 200, so retries are harmless. Without the permission for the status the action is refused
/// before anything is read, even where it would change nothing.
async fn changed_status(
    app: &App,
    scope: &Scope,
    request: &Request,
    status: CustomerStatus,
    kind: ChangeKind,
) -> Result<Customer, Problem> {
    domain::refused_field(&scope.grants, domain::field_permissions::STATUS).map_err(refused)?;
    let id = customer_id(request)?;
    let edit = Edit::new(kind, scope.edit_reach()?);
    let (customer, ()) = modify(
        app,
        scope,
        &id,
        if_match(request.headers()),
        edit,
        |customer| {
            customer.status = status;
            Ok(())
        },
    )
    .await?;
    Ok(customer)
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
/// the list parameters); `None` when the request is a plain list. They find inactive
/// customers too, unlike the lists: whoever types a number from an old invoice or the phone of
/// a caller is looking for that customer, whatever its status (each row says it), and a
/// number that is taken must not look free.
async fn exact_lookup(
    app: &App,
    scope: &Scope,
    param: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Vec<Customer>>, Problem> {
    let lookups: Vec<&str> = ["number", "email", "phone"]
        .into_iter()
        .filter(|name| param(name).is_some())
        .collect();
    let list_params = LIST_PARAMS
        .iter()
        .filter(|n| !["number", "email", "phone", "limit"].contains(n))
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
            let phone =
                domain::normalise_phone(&raw, scope.settings.settings.default_country.as_deref())
                    .map_err(|e| Problem::bad_parameter("phone", e.to_string()))?;
            app.store.find_by_phone(tenant, &phone).await
        }
    };
    found.map(Some).map_err(store_problem)
}

/// `status`: which customers a list shows; without it, the active ones.
fn parse_status(raw: &str) -> Result<StatusFilter, Problem> {
    match raw {
        "active" => Ok(StatusFilter::Active),
        "inactive" => Ok(StatusFilter::Inactive),
        "all" => Ok(StatusFilter::All),
        _ => Err(Problem::bad_parameter(
            "status",
            "status is 'active' (the default), 'inactive' or 'all'.",
        )),
    }
}

fn created_response(scope: &Scope, customer: &Customer) -> StoredResponse {
    StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        headers: vec![
            ("location".into(), format!("/customers/{}", customer.id)),
            ("etag".into(), etag(customer.version)),
        ],
        body: serde_json::to_string(&CustomerView::of(customer, scope.number_in_name()))
            .expect("views serialise"),
    }
}

pub fn customer_response(scope: &Scope, status: StatusCode, customer: &Customer) -> Response<Body> {
    with_header(
        json(status, &CustomerView::of(customer, scope.number_in_name())),
        "etag",
        &etag(customer.version),
    )
}
