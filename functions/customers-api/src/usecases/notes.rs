//! A customer's notes, and its sites' (location notes): written by anyone who may edit the
//! customer (a technician on an assigned customer too), read by anyone who sees it, changed
//! only by their author, listed newest first. Each note and each change is an entry in the
//! customer's history, written in the same transaction; the card itself does not change.

use chrono::Utc;
use domain::notes::{self, NoteRefusal};
use domain::{CustomerId, FieldError, Note, NoteFields, NoteInput};
use kit::Problem;
use lambda_http::http::StatusCode;
use serde_json::Value;
use store::{Page, StoreError};

use super::idempotency::Retry;
use super::linked::{self, NewRecord, check_version, customer_for_change, existing};
use super::{Created, PageRequest, Scope, patched, store_problem};
use crate::App;

pub async fn create(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    input: NoteInput,
    retry: &Retry,
) -> Result<Created<Note>, Problem> {
    let input = &input;
    linked::create(app, scope, id, retry, |customer| async move {
        let depends = linked::may_link::<Note>(&customer)?;
        let fields = validated(app, scope, &customer.id, input.clone(), None).await?;
        let note = Note::new(customer.id.clone(), fields, &scope.caller.user, Utc::now());
        let history = note.history(None, &customer);
        Ok(NewRecord {
            record: note,
            depends: vec![depends],
            history: Some(history),
        })
    })
    .await
}

/// Notes newest first: the list's own order (`order=asc`); `order=desc` gives the oldest first.
pub async fn page(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    page: PageRequest,
) -> Result<Page<Note>, Problem> {
    let newest_first = PageRequest {
        ascending: !page.ascending,
        ..page
    };
    linked::page::<Note>(app, scope, id, newest_first).await
}

/// Changes a note by merge patch (`expected`: the If-Match version): only its author may.
pub async fn change(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    note: &str,
    expected: Option<u64>,
    patch: &Value,
) -> Result<Note, Problem> {
    let customer = customer_for_change(app, scope, id).await?;
    let before: Note = existing(app, scope, id, note).await?;
    check_version(expected, &before)?;
    notes::may_edit(&before, &scope.caller.user).map_err(refused)?;
    let input = patched(&before.fields.to_input(), patch)?;
    let fields = validated(app, scope, id, input, before.fields.site_id.as_deref()).await?;
    if fields == before.fields {
        return Ok(before);
    }
    let after = before.changed(fields, &scope.caller.user, Utc::now());
    let history = after.history(Some(&before), &customer);
    match app
        .store
        .change_recorded(&scope.tenant, &after, before.version, &history)
        .await
    {
        Ok(()) => Ok(after),
        Err(StoreError::VersionConflict) => Err(Problem::stale(None)),
        Err(e) => Err(store_problem(e)),
    }
}

/// The domain's checks, and that a site newly named is one of the customer's (the site a note
/// named before may have been unlinked since: the note keeps naming it).
async fn validated(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    input: NoteInput,
    site_before: Option<&str>,
) -> Result<NoteFields, Problem> {
    let fields = domain::notes::validate_note(input).map_err(|e| Problem::validation(e.0))?;
    let Some(site) = fields
        .site_id
        .as_deref()
        .filter(|s| Some(*s) != site_before)
    else {
        return Ok(fields);
    };
    let found = app
        .store
        .existing_sites(&scope.tenant, customer, &[site.to_owned()])
        .await
        .map_err(store_problem)?;
    if found.is_empty() {
        return Err(Problem::validation(vec![FieldError::new(
            "/siteId",
            "unknown_site",
            "This is not one of the customer's sites.",
        )]));
    }
    Ok(fields)
}

/// 403 naming the author: a note is signed, so only its author rewrites it.
fn refused(refusal: NoteRefusal) -> Problem {
    match refusal {
        NoteRefusal::NotAuthor { author } => Problem::new(
            StatusCode::FORBIDDEN,
            "not-author",
            "Only the author changes a note",
        )
        .detail("A note is signed by whoever wrote it; write a note of your own instead.")
        .with("author", author),
    }
}
