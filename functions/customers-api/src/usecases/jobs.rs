//! Jobs, the scheduled visits of a work order: made for an open work order, listed by
//! scheduled start, read, and changed by merge patch along the state machine. The call-off
//! rule does not apply: a job belongs to work already ordered.

use chrono::Utc;
use domain::{CustomerId, FieldError, Job, JobInput, WorkOrder, WorkStatus, check_change};
use kit::Problem;
use serde_json::Value;
use store::{Depends, JobFilter, Page};

use super::idempotency::Retry;
use super::linked::{
    self, NewRecord, check_version, customer_for_change, customer_for_view, existing,
};
use super::work_orders::{refuse_illegal_move, work_conflict};
use super::{Created, PageRequest, Scope, patched, refuse_null_status, store_problem};
use crate::App;

/// A new visit of an open work order, on an active customer, within the limit of open jobs
/// per work order; written on condition that the customer and the work order are as read.
pub async fn create(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    work_order: &str,
    input: JobInput,
    retry: &Retry,
) -> Result<Created<Job>, Problem> {
    if input.status.is_some_and(|s| s != WorkStatus::Scheduled) {
        return Err(Problem::validation(vec![FieldError::new(
            "/status",
            "invalid_status",
            "A new job is scheduled; move it on with PATCH.",
        )]));
    }
    let fields = &domain::validate_job(input).map_err(|e| Problem::validation(e.0))?;
    linked::create(app, scope, id, retry, |customer| async move {
        let on_customer = linked::may_link::<Job>(&customer)?;
        let work_order: WorkOrder = existing(app, scope, &customer.id, work_order).await?;
        if !work_order.fields.status.is_open() {
            return Err(work_conflict(domain::WorkConflict::Closed(
                "work order",
                work_order.fields.status,
            )));
        }
        let open = app
            .store
            .open_jobs_of(&scope.tenant, &work_order)
            .await
            .map_err(store_problem)?;
        domain::work::may_schedule_another(open.len()).map_err(too_many_open_jobs)?;
        let job = Job::new(&work_order, fields.clone(), &scope.caller.user, Utc::now());
        let on_work_order = Depends::WorkOrder {
            id: work_order.id,
            version: work_order.version,
        };
        Ok(NewRecord {
            record: job,
            depends: vec![on_customer, on_work_order],
            history: None,
        })
    })
    .await
}

fn too_many_open_jobs(limit: usize) -> Problem {
    Problem::conflict(
        "too-many-open-jobs",
        "The work order has too many open jobs",
        format!(
            "A work order has at most {limit} open jobs (visits). Complete or cancel some, or \
             split the work into another work order."
        ),
    )
    .with("limit", limit)
}

/// The customer's jobs by scheduled start.
pub async fn list(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    filter: &JobFilter,
    page: PageRequest,
) -> Result<Page<Job>, Problem> {
    customer_for_view(app, scope, id).await?;
    app.store
        .jobs(
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

/// Reschedules, restaffs or moves a job on (`expected`: the If-Match version).
pub async fn change(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    job: &str,
    expected: Option<u64>,
    patch: &Value,
) -> Result<Job, Problem> {
    refuse_null_status(patch)?;
    let customer = customer_for_change(app, scope, id).await?;
    let before: Job = existing(app, scope, id, job).await?;
    check_version(expected, &before)?;
    let input = patched(&before.fields.to_input(), patch)?;
    refuse_illegal_move("job", before.fields.status, input.status)?;
    let fields = domain::validate_job(input).map_err(|e| Problem::validation(e.0))?;
    if fields == before.fields {
        return Ok(before);
    }
    check_change("job", before.fields.status, fields.status).map_err(work_conflict)?;
    let after = before.changed(fields, &scope.caller.user, Utc::now());
    linked::save_change(app, scope, &customer, &before, after).await
}
