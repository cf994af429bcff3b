//! Customer exports (Export): ask for one (the list's filters), follow it, fetch its file. The
//! file is written by the customers-import function, which the request's message on the
//! imports queue sets off; this side records the request, sends the message and presigns the
//! download. The register leaves the organisation this way, so it takes a permission of its
//! own, and the reach of the caller's view: "only assigned" callers export their customers.

use std::collections::BTreeMap;

use chrono::Utc;
use domain::{Permission, Reach};
use kit::Problem;
use lambda_http::http::StatusCode;
use store::{ExportJob, ExportRecord, ExportStatus, ListQuery, Page, StoredResponse};
use ulid::Ulid;

use super::idempotency::Retry;
use super::{Created, Scope, store_problem};
use crate::App;
use crate::bucket::Presigned;
use crate::view::ExportView;

/// What the caller asked for: the list's query parameters as given (shown back), the same
/// read as the list reads them, and the `assignedTo` filter.
pub struct ExportFilters {
    pub given: BTreeMap<String, String>,
    pub query: ListQuery,
    pub assigned_to: Option<String>,
}

/// Records an export of the customers the filters list (within the caller's reach) and
/// queues the message that writes it. With an Idempotency-Key, a retry gets the first answer
/// and queues nothing.
pub async fn request(
    app: &App,
    scope: &Scope,
    filters: ExportFilters,
    retry: &Retry,
) -> Result<Created<ExportRecord>, Problem> {
    scope.require(Permission::Export)?;
    let reach = scope.view_reach()?;
    if let Some(first) = retry.earlier(app, &scope.tenant).await? {
        return Ok(Created::Replayed(first));
    }
    let assigned_to = match reach {
        Reach::Assigned => Some(scope.caller.user.clone()),
        Reach::All => filters.assigned_to,
    };
    let now = Utc::now();
    let id = Ulid::new().to_string();
    let mut record = ExportRecord {
        object_key: store::export_object_key(&scope.tenant, &id),
        id,
        status: ExportStatus::Queued,
        filters: filters.given,
        query: ListQuery {
            cursor: None,
            ..filters.query
        },
        assigned_to,
        requested_by: scope.caller.user.clone(),
        created_at: now,
        started_at: None,
        finished_at: None,
        rows: 0,
        size_bytes: None,
        failure: None,
        version: 1,
    };
    let stored = retry.keep(answer_of(&record), now);
    match app
        .store
        .put_export(&scope.tenant, &record, stored.as_ref())
        .await
    {
        Ok(()) => {}
        Err(store::StoreError::IdempotencyKeyUsed(first)) => {
            return retry.replayed(&first).map(Created::Replayed);
        }
        Err(e) => return Err(store_problem(e)),
    }
    let job = ExportJob {
        tenant: scope.tenant.to_string(),
        export_id: record.id.clone(),
    };
    if let Err(problem) = queue(app, &job).await {
        // Recorded but never to be written: say so on the record rather than leave it queued.
        record.status = ExportStatus::Failed;
        record.failure = Some("The export could not be queued; ask for it again.".into());
        record.finished_at = Some(Utc::now());
        record.version = 2;
        if let Err(e) = app.store.save_export(&scope.tenant, &record, 1).await {
            tracing::error!(export = %record.id, error = %e, "an export that was not queued stays queued");
        }
        return Err(problem);
    }
    Ok(Created::Made(record))
}

async fn queue(app: &App, job: &ExportJob) -> Result<(), Problem> {
    app.exports()?.queue(job).await
}

/// The answer to a request, as a retry of it gets it again: 202, the export's location, the
/// export.
pub fn answer_of(record: &ExportRecord) -> StoredResponse {
    StoredResponse {
        status: StatusCode::ACCEPTED.as_u16(),
        headers: vec![("location".into(), format!("/exports/{}", record.id))],
        body: serde_json::to_string(&ExportView::of(record, None)).expect("views serialise"),
    }
}

/// A page of the organisation's exports, newest first.
pub async fn list(
    app: &App,
    scope: &Scope,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<ExportRecord>, Problem> {
    scope.require(Permission::Export)?;
    app.store
        .exports(&scope.tenant, limit, cursor)
        .await
        .map_err(store_problem)
}

/// The export `id` of the caller's organisation (else 404), with a short-lived download URL
/// of its file once it is completed.
pub async fn get(
    app: &App,
    scope: &Scope,
    id: &str,
) -> Result<(ExportRecord, Option<Presigned>), Problem> {
    scope.require(Permission::Export)?;
    let id = domain::record_id(id).ok_or_else(|| Problem::not_found("export"))?;
    let record = app
        .store
        .export(&scope.tenant, &id)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found("export"))?;
    if record.status != ExportStatus::Completed {
        return Ok((record, None));
    }
    // The signer may read every export; a key outside this tenant's prefix is never handed out.
    if !record
        .object_key
        .starts_with(&store::exports_prefix(&scope.tenant))
    {
        tracing::error!(export = %record.id, "export key outside the tenant's exports prefix");
        return Err(Problem::internal());
    }
    let file = format!("customers-{}.csv", record.id);
    let url = app
        .imports
        .download_url(&record.object_key, &file, Utc::now())
        .await?;
    Ok((record, Some(url)))
}
