//! A customer's work orders: created under the call-off rule with what the customer's card
//! gives them (order number, cost centre, default articles), listed (by kind and status),
//! read, and changed by merge patch along the state machine, their time lines dated when
//! their hours are entered. Cancelling one cancels its open tasks and jobs with it.

use chrono::Utc;
use domain::{
    CallOffRefusal, Customer, CustomerId, FieldError, Job, Site, TextRecord, WorkConflict,
    WorkOrder, WorkOrderFields, WorkOrderInput, WorkStatus, check_change,
};
use kit::Problem;
use serde_json::Value;
use store::{Depends, Page, StoreError, WRITES_PER_TRANSACTION, WorkOrderFilter};

use super::idempotency::Retry;
use super::linked::{
    self, NewRecord, check_version, customer_for_change, customer_for_view, existing,
};
use super::{Created, PageRequest, Scope, patched, refuse_null_status, store_problem};
use crate::App;

/// A cancellation whose jobs keep changing under it reads them again this often.
const CANCEL_ATTEMPTS: usize = 5;

/// A new work order: the customer must be active and may call off work (the call-off rule),
/// the site active and the customer's, the contact the customer's; the order number follows
/// the organisation's setting; the card gives its cost centre and work-order default articles
/// (`WorkOrder::for_customer`). Written on condition that the customer and the site are still
/// as read.
pub async fn create(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    input: WorkOrderInput,
    retry: &Retry,
) -> Result<Created<WorkOrder>, Problem> {
    refuse_closed_start(input.status)?;
    let lines_given = input.lines.is_some();
    let given = &domain::validate_work_order(input).map_err(|e| Problem::validation(e.0))?;
    linked::create(app, scope, id, retry, |customer| async move {
        // The call-off rule names every reason (an inactive customer among them) at once.
        customer.may_call_off().map_err(call_off_refused)?;
        let on_customer = linked::may_link::<WorkOrder>(&customer)?;
        check_contact(&customer, given.contact_id.as_deref())?;
        let mut fields = given.clone();
        fields.order_number = scope
            .settings
            .settings
            .order_number
            .for_new_work_order(fields.order_number, customer.fields.order_number.as_deref())
            .map_err(|e| Problem::validation(vec![e]))?;
        check_site(app, scope, &customer.id, &fields.site_id).await?;
        let on_site = Depends::SiteActive(fields.site_id.clone());
        let now = Utc::now();
        let today = scope.settings.settings.today(now);
        let user = &scope.caller.user;
        let work_order = WorkOrder::for_customer(&customer, fields, lines_given, user, now, today);
        Ok(NewRecord {
            record: work_order,
            depends: vec![on_customer, on_site],
            history: None,
        })
    })
    .await
}

pub async fn list(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    filter: &WorkOrderFilter,
    page: PageRequest,
) -> Result<Page<WorkOrder>, Problem> {
    customer_for_view(app, scope, id).await?;
    app.store
        .work_orders(
            &scope.tenant,
            id,
            filter,
            page.limit,
            page.cursor.as_deref(),
            page.ascending,
        )
        .await
        .map_err(store_problem)
}

/// The texts to the customer about the work order's visits: sent, suppressed (and why), or
/// still pending, so a dispatcher can answer "did the customer get the text?".
pub async fn texts(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    work_order: &str,
    page: PageRequest,
) -> Result<Page<TextRecord>, Problem> {
    let work_order: WorkOrder = linked::read(app, scope, id, work_order).await?;
    app.store
        .texts(
            &scope.tenant,
            id,
            &work_order.id,
            page.limit,
            page.cursor.as_deref(),
        )
        .await
        .map_err(store_problem)
}

/// Changes a work order by merge patch (`expected`: the If-Match version). A status change
/// follows the state machine; cancelling cancels its open tasks with it and its open jobs in
/// pages (the first page in the work order's own transaction). Cancelling again finishes what
/// an interrupted cancellation left open. Time lines whose hours change are dated today.
pub async fn change(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    work_order: &str,
    expected: Option<u64>,
    patch: &Value,
) -> Result<WorkOrder, Problem> {
    refuse_null_status(patch)?;
    let customer = customer_for_change(app, scope, id).await?;
    let before: WorkOrder = existing(app, scope, id, work_order).await?;
    check_version(expected, &before)?;
    let input = patched(&before.fields.to_input(), patch)?;
    refuse_illegal_move("work order", before.fields.status, input.status)?;
    let mut fields = domain::validate_work_order(input).map_err(|e| Problem::validation(e.0))?;
    let now = Utc::now();
    let today = scope.settings.settings.today(now);
    domain::date_entered_hours(&before.fields.lines, &mut fields.lines, today);
    if fields == before.fields {
        if before.fields.status == WorkStatus::Cancelled {
            cancel_open_jobs(app, scope, &before, None).await?;
        }
        return Ok(before);
    }
    check_change("work order", before.fields.status, fields.status).map_err(work_conflict)?;
    if fields.order_number != before.fields.order_number {
        scope
            .settings
            .settings
            .order_number
            .check_changed(fields.order_number.as_deref())
            .map_err(|e| Problem::validation(vec![e]))?;
    }
    check_changed_links(app, scope, &customer, &before.fields, &fields).await?;
    let jobs = if fields.status == WorkStatus::Cancelled {
        fields = fields.cancelled();
        open_jobs_cancelled(app, scope, &before).await?
    } else {
        Vec::new()
    };
    let after = before.changed(fields, &scope.caller.user, now);
    let first = &jobs[..jobs.len().min(WRITES_PER_TRANSACTION)];
    match app
        .store
        .change_with(&scope.tenant, &after, before.version, &[], first)
        .await
    {
        Ok(()) if jobs.len() > first.len() => {
            let rest = jobs[first.len()..].to_vec();
            cancel_open_jobs(app, scope, &after, Some(rest)).await?
        }
        Ok(()) => {}
        Err(StoreError::VersionConflict) => return Err(Problem::stale(None)),
        Err(e) => return Err(store_problem(e)),
    }
    Ok(after)
}

/// The open jobs of a work order, cancelled (each with the version it was read at).
async fn open_jobs_cancelled(
    app: &App,
    scope: &Scope,
    work_order: &WorkOrder,
) -> Result<Vec<(u64, Job)>, Problem> {
    let now = Utc::now();
    let open = app
        .store
        .open_jobs_of(&scope.tenant, work_order)
        .await
        .map_err(store_problem)?;
    Ok(open
        .into_iter()
        .map(|job| (job.version, job.cancel(&scope.caller.user, now)))
        .collect())
}

/// Cancels the open jobs of a cancelled work order, a transaction per page, each on condition
/// that the work order is still as cancelled (so no 500 however many jobs it has; see the limit
/// in `domain::work`). `known`: the jobs already read and cancelled, if any; a job that changed
/// meanwhile makes them be read again.
async fn cancel_open_jobs(
    app: &App,
    scope: &Scope,
    work_order: &WorkOrder,
    mut known: Option<Vec<(u64, Job)>>,
) -> Result<(), Problem> {
    let still = [Depends::WorkOrder {
        id: work_order.id.clone(),
        version: work_order.version,
    }];
    for _ in 0..CANCEL_ATTEMPTS {
        let jobs = match known.take() {
            Some(jobs) => jobs,
            None => open_jobs_cancelled(app, scope, work_order).await?,
        };
        let mut changed_meanwhile = false;
        for page in jobs.chunks(WRITES_PER_TRANSACTION) {
            match app
                .store
                .change_all(&scope.tenant, &work_order.customer_id, &still, page)
                .await
            {
                Ok(()) => {}
                Err(StoreError::VersionConflict) => {
                    changed_meanwhile = true;
                    break;
                }
                Err(e) => return Err(store_problem(e)),
            }
        }
        if !changed_meanwhile {
            return Ok(());
        }
    }
    Err(Problem::stale(None))
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
    // Not a site id at all (a 3000-character one too): no lookup, the same answer as unknown.
    let site = if domain::is_record_id(site_id) {
        app.store
            .linked::<Site>(&scope.tenant, customer, site_id)
            .await
            .map_err(store_problem)?
    } else {
        None
    };
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
                "This site is not active; reactivate it or choose another.",
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

/// 409 naming every reason the customer may not call off new work.
fn call_off_refused(refusals: Vec<CallOffRefusal>) -> Problem {
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
