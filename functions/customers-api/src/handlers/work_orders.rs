//! A customer's work orders: created under the call-off rule, listed (by kind and status),
//! read, and changed by merge patch along the state machine. Cancelling one cancels its open
//! tasks and jobs with it.

use chrono::Utc;
use domain::{
    CallOffRefusal, Customer, CustomerId, FieldError, Permission, WorkConflict, WorkOrder,
    WorkOrderFields, WorkOrderInput, WorkStatus, check_change,
};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use store::{StoreError, WorkOrderFilter};

use super::idempotency::{self, Retry};
use super::{
    Scope, customer_id, found, patched, read_reachable, read_visible, record_id,
    refuse_null_status, scope, store_problem,
};
use crate::App;
use crate::http::{self, etag, if_match, json, with_header};

pub(crate) const JSON: &[&str] = &["application/json"];
pub(crate) const MERGE_PATCH: &[&str] = &["application/merge-patch+json", "application/json"];
pub(crate) const DEFAULT_PAGE: i32 = 50;
/// The customer changed between the call-off check and the write: check again this often.
const CREATE_ATTEMPTS: usize = 3;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let reach = scope.edit_reach()?;
    let body = http::body_bytes(request, JSON)?;
    let input: WorkOrderInput = http::parse_json(body)?;
    refuse_closed_start(input.status)?;
    let given = domain::validate_work_order(input).map_err(|e| Problem::validation(e.0))?;
    let retry = Retry::of(request, body)?;
    let mut checked_site = false;
    for attempt in 1..=CREATE_ATTEMPTS {
        let customer = read_reachable(app, &scope, &id, reach, Permission::Edit).await?;
        if attempt == 1
            && let Some(first) = retry.earlier_answer(app, &scope.tenant).await?
        {
            return Ok(first);
        }
        customer.may_call_off().map_err(call_off_refused)?;
        check_contact(&customer, given.contact_id.as_deref())?;
        let mut fields = given.clone();
        if fields.order_number.is_none() {
            fields.order_number = customer.fields.order_number.clone();
        }
        check_order_number(&scope, &fields)?;
        if !checked_site {
            check_site(app, &scope, &id, &fields.site_id).await?;
            checked_site = true;
        }
        let work_order = WorkOrder::new(id.clone(), fields, &scope.caller.user, Utc::now());
        let location = format!("/customers/{id}/work-orders/{}", work_order.id);
        let created = with_header(
            work_order_response(StatusCode::CREATED, &work_order),
            "location",
            &location,
        );
        let record = retry.record(&created, work_order.created_at);
        match app
            .store
            .create_work_order(
                &scope.tenant,
                &work_order,
                customer.version,
                record.as_ref(),
            )
            .await
        {
            Ok(()) => return Ok(created),
            Err(StoreError::IdempotencyKeyUsed(first)) => {
                return idempotency::replay(*first, record.as_ref());
            }
            Err(StoreError::VersionConflict) if attempt < CREATE_ATTEMPTS => continue,
            Err(e) => return Err(store_problem(e)),
        }
    }
    unreachable!("the last attempt returns")
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let params = http::list_params(request, DEFAULT_PAGE, &["kind", "status"])?;
    let filter = WorkOrderFilter {
        kind: params.enum_filter("kind")?,
        status: params.enum_filter("status")?,
    };
    read_visible(app, &scope, &id).await?;
    let page = app
        .store
        .work_orders(
            &scope.tenant,
            &id,
            &filter,
            params.limit,
            params.cursor.as_deref(),
            params.ascending,
        )
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    read_visible(app, &scope, &id).await?;
    let work_order = existing(app, &scope, &id, request).await?;
    Ok(work_order_response(StatusCode::OK, &work_order))
}

/// The texts to the customer about the work order's visits: sent, suppressed (and why), or
/// still pending, so a dispatcher can answer "did the customer get the text?".
pub async fn texts(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let (limit, cursor) = http::page_params_with(request, DEFAULT_PAGE)?;
    read_visible(app, &scope, &id).await?;
    let work_order = existing(app, &scope, &id, request).await?;
    let page = app
        .store
        .texts(&scope.tenant, &id, &work_order.id, limit, cursor.as_deref())
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, &page))
}

/// Changes a work order by merge patch (If-Match its ETag). A status change follows the state
/// machine; cancelling cancels its open tasks and open jobs in the same transaction.
pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let reach = scope.edit_reach()?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    refuse_null_status(&patch)?;
    let customer = read_reachable(app, &scope, &id, reach, Permission::Edit).await?;
    let before = existing(app, &scope, &id, request).await?;
    if expected.is_some_and(|version| version != before.version) {
        return Err(Problem::stale(Some(&etag(before.version))));
    }
    let input = patched(&before.fields.to_input(), &patch)?;
    refuse_illegal_move("work order", before.fields.status, input.status)?;
    let mut fields = domain::validate_work_order(input).map_err(|e| Problem::validation(e.0))?;
    if fields == before.fields {
        return Ok(work_order_response(StatusCode::OK, &before));
    }
    check_change("work order", before.fields.status, fields.status).map_err(work_conflict)?;
    if fields.order_number != before.fields.order_number {
        // Only a change of it: work saved before the setting was turned on can still move.
        check_order_number(&scope, &fields)?;
    }
    check_changed_links(app, &scope, &customer, &before.fields, &fields).await?;
    let now = Utc::now();
    let user = &scope.caller.user;
    let jobs = if fields.status == WorkStatus::Cancelled {
        fields = fields.cancelled();
        app.store
            .open_jobs_of(&scope.tenant, &before)
            .await
            .map_err(store_problem)?
            .into_iter()
            .map(|job| (job.version, job.cancel(user, now)))
            .collect()
    } else {
        Vec::new()
    };
    let after = before.changed(fields, user, now);
    match app
        .store
        .replace_work_order(&scope.tenant, &after, before.version, &jobs)
        .await
    {
        Ok(()) => Ok(work_order_response(StatusCode::OK, &after)),
        Err(StoreError::VersionConflict) => Err(Problem::stale(None)),
        Err(e) => Err(store_problem(e)),
    }
}

/// A new work order is planned or scheduled; work does not start out finished.
fn refuse_closed_start(status: Option<WorkStatus>) -> Result<(), Problem> {
    match status {
        None | Some(WorkStatus::Planned | WorkStatus::Scheduled) => Ok(()),
        Some(_) => Err(Problem::validation(vec![FieldError::new(
            "/status",
            "invalid_status",
            "A new work order is planned or scheduled; move it on with PATCH.",
        )])),
    }
}

/// Organisations that invoice against the customer's order numbers require one on every work
/// order (the `orderNumber` setting); it comes from the customer's card unless given.
fn check_order_number(scope: &Scope, fields: &WorkOrderFields) -> Result<(), Problem> {
    let required = scope.settings.settings.order_number == domain::OrderNumberUse::Required;
    if required && fields.order_number.is_none() {
        return Err(Problem::validation(vec![FieldError::new(
            "/orderNumber",
            "required",
            "Your organisation requires the customer's order number on every work order; \
             give one, or record it on the customer.",
        )]));
    }
    Ok(())
}

/// A site or contact newly named must be the customer's (and the site active).
async fn check_changed_links(
    app: &App,
    scope: &Scope,
    customer: &Customer,
    before: &WorkOrderFields,
    after: &WorkOrderFields,
) -> Result<(), Problem> {
    if after.contact_id != before.contact_id {
        check_contact(customer, after.contact_id.as_deref())?;
    }
    if after.site_id != before.site_id {
        check_site(app, scope, &customer.id, &after.site_id).await?;
    }
    Ok(())
}

/// Work is done at an active site of the customer's own.
async fn check_site(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    site_id: &str,
) -> Result<(), Problem> {
    let site = app
        .store
        .site(&scope.tenant, customer, site_id)
        .await
        .map_err(store_problem)?;
    match site {
        None => Err(Problem::validation(vec![FieldError::new(
            "/siteId",
            "unknown_site",
            "This is not one of the customer's sites.",
        )])),
        Some(site) if site.fields.status != domain::SiteStatus::Active => {
            Err(Problem::validation(vec![FieldError::new(
                "/siteId",
                "inactive_site",
                "This site is inactive; reactivate it or choose another.",
            )]))
        }
        Some(_) => Ok(()),
    }
}

fn check_contact(customer: &Customer, contact_id: Option<&str>) -> Result<(), Problem> {
    let Some(contact_id) = contact_id else {
        return Ok(());
    };
    if customer
        .fields
        .contacts
        .iter()
        .any(|c| c.id.0 == contact_id)
    {
        Ok(())
    } else {
        Err(Problem::validation(vec![FieldError::new(
            "/contactId",
            "unknown_contact",
            "This is not one of the customer's contacts.",
        )]))
    }
}

async fn existing(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    request: &Request,
) -> Result<WorkOrder, Problem> {
    let id = record_id(request, "workOrderId", "work order")?;
    found(
        app.store.work_order(&scope.tenant, customer, &id).await,
        "work order",
    )
}

/// The work order of a job route (`/work-orders/{workOrderId}/jobs`).
pub(crate) async fn work_order_of(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    request: &Request,
) -> Result<WorkOrder, Problem> {
    existing(app, scope, customer, request).await
}

/// 409 naming every reason the customer may not call off new work.
pub(crate) fn call_off_refused(refusals: Vec<CallOffRefusal>) -> Problem {
    let reasons: Vec<String> = refusals.iter().map(ToString::to_string).collect();
    Problem::conflict(
        "call-off-refused",
        "The customer may not call off new work",
        format!(
            "No new work order: {}. Work already planned or scheduled goes on.",
            reasons.join("; ")
        ),
    )
    .with("refusals", &refusals)
}

/// An illegal status change is refused before the fields are validated: what the new status
/// would need (a window, a technician) does not matter when it cannot be reached at all.
pub(crate) fn refuse_illegal_move(
    what: &'static str,
    from: WorkStatus,
    to: Option<WorkStatus>,
) -> Result<(), Problem> {
    match to {
        Some(to) if from.is_open() => from
            .check_transition(to, what)
            .map_err(|illegal| work_conflict(illegal.into())),
        _ => Ok(()),
    }
}

/// 409 for a change the state machine refuses.
pub(crate) fn work_conflict(conflict: WorkConflict) -> Problem {
    match conflict {
        WorkConflict::Closed(what, status) => Problem::conflict(
            "work-closed",
            "The work is closed",
            format!("The {what} is {}; it changes no more.", status.as_str()),
        )
        // Not `status`: that member of a problem document is the HTTP status.
        .with("workStatus", status),
        WorkConflict::Illegal(illegal) => Problem::conflict(
            "illegal-transition",
            "The status cannot change that way",
            format!("{}.", capitalised(&illegal.to_string())),
        )
        .with("from", illegal.from)
        .with("to", illegal.to)
        .with("allowed", illegal.from.next()),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn work_order_response(status: StatusCode, work_order: &WorkOrder) -> Response<Body> {
    with_header(json(status, work_order), "etag", &etag(work_order.version))
}
