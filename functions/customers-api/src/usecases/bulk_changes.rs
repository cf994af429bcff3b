//! Bulk changes: one action (assign, unassign, add or remove a tag, deactivate, reactivate) for
//! a selection of customers. This side checks that the caller may make the change at all,
//! records the request (with the caller's verified user and roles, by which every customer is
//! then judged) and shows its progress; the customers-cascade function applies it a page at a
//! time (docs/bulk-changes.md).

use chrono::Utc;
use domain::{CardChange, FieldError, Reach};
use kit::Problem;
use lambda_http::http::StatusCode;
use store::{
    BULK_IDS_MAX, BulkChangeRecord, BulkFilter, BulkStatus, BulkTotals, Page, Selection,
    StoredResponse,
};
use ulid::Ulid;

use super::idempotency::Retry;
use super::{Created, Scope, store_problem};
use crate::App;
use crate::view::BulkChangeView;

/// Longest name prefix a filter's `q` may hold (as the list's `q`).
const Q_MAX: usize = 200;

/// Records a bulk change to run in the background. The change must be one the caller may make
/// at all (else 403, before anything is read); which customers they may make it on is judged
/// customer by customer. With an Idempotency-Key, a retry gets the first answer and starts
/// nothing new.
pub async fn request(
    app: &App,
    scope: &Scope,
    selection: Selection,
    change: CardChange,
    retry: &Retry,
) -> Result<Created<BulkChangeRecord>, Problem> {
    scope.change_reach(&change)?;
    if let Some(first) = retry.earlier(app, &scope.tenant).await? {
        return Ok(Created::Replayed(first));
    }
    let selection = checked_selection(selection)?;
    let now = Utc::now();
    let selected = match &selection {
        Selection::Ids(ids) => ids.len() as u64,
        Selection::Filter(_) => 0,
    };
    let record = BulkChangeRecord {
        id: Ulid::new().to_string(),
        status: BulkStatus::Queued,
        selection,
        change,
        requested_by: scope.caller.user.clone(),
        roles: scope.caller.roles.clone(),
        created_at: now,
        started_at: None,
        finished_at: None,
        totals: BulkTotals {
            selected,
            ..BulkTotals::default()
        },
        refused: Vec::new(),
        cursor: None,
        pages: 0,
        version: 1,
    };
    let stored = retry.keep(answer_of(&record), now);
    match app
        .store
        .put_bulk_change(&scope.tenant, &record, stored.as_ref())
        .await
    {
        Ok(()) => Ok(Created::Made(record)),
        Err(store::StoreError::IdempotencyKeyUsed(first)) => {
            retry.replayed(&first).map(Created::Replayed)
        }
        Err(e) => Err(store_problem(e)),
    }
}

/// The answer to a request, as a retry of it gets it again: 202, the bulk change's location,
/// the bulk change as it was recorded.
pub fn answer_of(record: &BulkChangeRecord) -> StoredResponse {
    StoredResponse {
        status: StatusCode::ACCEPTED.as_u16(),
        headers: vec![("location".into(), format!("/bulk-changes/{}", record.id))],
        body: serde_json::to_string(&BulkChangeView::of(record)).expect("views serialise"),
    }
}

/// A bulk change of the caller's organisation: every one for callers who see every customer,
/// their own for those who see only assigned customers (another's answers 404).
pub async fn get(app: &App, scope: &Scope, id: &str) -> Result<BulkChangeRecord, Problem> {
    let reach = scope.view_reach()?;
    let not_found = || Problem::not_found("bulk change");
    let id = domain::record_id(id).ok_or_else(not_found)?;
    app.store
        .bulk_change(&scope.tenant, &id)
        .await
        .map_err(store_problem)?
        .filter(|record| shown(scope, reach, record))
        .ok_or_else(not_found)
}

/// A page of the organisation's bulk changes, newest first (only the caller's own for those
/// who see only assigned customers: such a page may come back short).
pub async fn list(
    app: &App,
    scope: &Scope,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<BulkChangeRecord>, Problem> {
    let reach = scope.view_reach()?;
    let mut page = app
        .store
        .bulk_changes(&scope.tenant, limit, cursor)
        .await
        .map_err(store_problem)?;
    page.items.retain(|record| shown(scope, reach, record));
    Ok(page)
}

fn shown(scope: &Scope, reach: Reach, record: &BulkChangeRecord) -> bool {
    reach == Reach::All || record.requested_by == scope.caller.user
}

/// Ids: 1 to [`BULK_IDS_MAX`] customer ids as stored (ULIDs), each counted once; a filter:
/// a user id where it names one and a bounded name prefix. Every problem at its pointer.
fn checked_selection(selection: Selection) -> Result<Selection, Problem> {
    let mut errors = Vec::new();
    let selection = match selection {
        Selection::Ids(ids) => {
            if ids.is_empty() {
                errors.push(FieldError::required("/selection/ids"));
            }
            if ids.len() > BULK_IDS_MAX {
                errors.push(FieldError::too_many("/selection/ids", BULK_IDS_MAX));
            }
            for (i, id) in ids.iter().enumerate() {
                if !domain::is_record_id(&id.0) {
                    errors.push(FieldError::new(
                        format!("/selection/ids/{i}"),
                        "invalid_id",
                        "A customer id is a ULID, as the API gives it.",
                    ));
                }
            }
            let mut seen = std::collections::HashSet::new();
            Selection::Ids(
                ids.into_iter()
                    .filter(|id| seen.insert(id.clone()))
                    .collect(),
            )
        }
        Selection::Filter(filter) => {
            checked_filter(&filter, &mut errors);
            Selection::Filter(filter)
        }
    };
    if errors.is_empty() {
        Ok(selection)
    } else {
        Err(Problem::validation(errors))
    }
}

fn checked_filter(filter: &BulkFilter, errors: &mut Vec<FieldError>) {
    if let Some(user) = &filter.assigned_to
        && !domain::is_user_id(user)
    {
        errors.push(FieldError::new(
            "/selection/filter/assignedTo",
            "invalid_user_id",
            "A user id is 1 to 128 printable characters without '#'.",
        ));
    }
    let bounded = [
        ("q", &filter.q, Q_MAX),
        ("tag", &filter.tag, domain::validation::TAG_MAX),
    ];
    for (name, value, max) in bounded {
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            errors.push(FieldError::new(
                format!("/selection/filter/{name}"),
                "too_long",
                format!("At most {max} characters."),
            ));
        }
    }
}
