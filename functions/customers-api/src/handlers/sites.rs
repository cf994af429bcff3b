//! A customer's sites. Linking and unlinking change the customer's card (`sitesCount`, with a
//! history entry) in the same transaction as the site; changing a site changes only the site.
//! The rules every linked record obeys (an active customer, reach before existence, no unlink
//! while in use) come from `crate::linked`.

use chrono::Utc;
use domain::{
    ChangeKind, Contract, Customer, FieldError, Job, Site, SiteInput, SiteStatus, SiteUse,
    WorkOrder, merge_patch,
};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use store::Companion;

use super::idempotency::Retry;
use super::{Edit, Scope, customer_id, modify, record_id, scope, store_problem};
use crate::App;
use crate::http::{self, if_match, json};
use crate::linked::{self, check_version, customer_for_change, customer_for_view, existing};

const JSON: &[&str] = &["application/json"];
const MERGE_PATCH: &[&str] = &["application/merge-patch+json", "application/json"];
const DEFAULT_PAGE: i32 = 50;

/// Links a new site; its contact is the caller's, else the customer's primary contact.
pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let reach = scope.edit_reach()?;
    let body = http::body_bytes(request, JSON)?;
    let input: SiteInput = http::parse_json(body)?;
    if input.status.is_some() {
        // A site starts active; PATCH deactivates it.
        return Err(Problem::validation(vec![FieldError::new(
            "/status",
            "unknown_field",
            "A new site is active; change its status afterwards with PATCH.",
        )]));
    }
    let retry = Retry::of(request, body)?;
    let customer = customer_for_change(app, &scope, &id).await?;
    if let Some(first) = retry.earlier_answer(app, &scope.tenant).await? {
        return Ok(first);
    }
    let prefilled = domain::contact_from_customer(&customer.fields);
    let fields = domain::validate_site(input, prefilled, &scope.rules())
        .map_err(|e| Problem::validation(e.0))?;
    let site = Site::new(id.clone(), fields, &scope.caller.user, Utc::now());
    let created = linked::created(&site);
    let record = retry.record(&created, site.created_at).map(Box::new);
    let mut edit = Edit::new(ChangeKind::SiteLinked, reach);
    edit.companion = Some(Companion::LinkSite(Box::new(site), record));
    // The card's change carries the site: decided on the customer as the write finds it.
    let linked = modify(app, &scope, &id, None, edit, |c| {
        linked::may_link::<Site>(c)?;
        c.sites_count += 1;
        Ok(())
    })
    .await;
    match linked {
        Ok(_) => Ok(created),
        // A retry that raced with its first sending: the first answer, once it is there.
        Err(problem) => match retry.earlier_answer(app, &scope.tenant).await? {
            Some(first) => Ok(first),
            None => Err(problem),
        },
    }
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let (limit, cursor, ascending) = http::ordered_page_params(request, DEFAULT_PAGE)?;
    customer_for_view(app, &scope, &id).await?;
    let page = app
        .store
        .linked_page::<Site>(&scope.tenant, &id, limit, cursor.as_deref(), ascending)
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    customer_for_view(app, &scope, &id).await?;
    let site: Site = existing(app, &scope, &id, &site_id(request)?).await?;
    Ok(linked::respond(StatusCode::OK, &site))
}

/// Changes a site by merge patch (If-Match the site's ETag); deactivates or reactivates it
/// with `status` (reactivation needs an active customer). An unlinked site changes no more.
pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    if patch.get("status").is_some_and(Value::is_null) {
        // Removing the status would silently make the site active again.
        return Err(Problem::validation(vec![FieldError::required("/status")]));
    }
    let customer = customer_for_change(app, &scope, &id).await?;
    let before: Site = existing(app, &scope, &id, &site_id(request)?).await?;
    check_version(expected, &before)?;
    if before.fields.status == SiteStatus::Unlinked {
        return Err(site_unlinked());
    }
    let mut target = serde_json::to_value(before.fields.to_input()).expect("a site serialises");
    merge_patch::apply(&mut target, &patch);
    let input: SiteInput = http::from_value(target)?;
    let mut fields =
        domain::validate_site(input, None, &scope.rules()).map_err(|e| Problem::validation(e.0))?;
    // The same contact, changed or not, keeps its id.
    if let (Some(after), Some(before)) = (&mut fields.contact, &before.fields.contact) {
        after.id = before.id.clone();
    }
    if fields == before.fields {
        return Ok(linked::respond(StatusCode::OK, &before));
    }
    let after = Site {
        fields,
        version: before.version + 1,
        updated_at: Utc::now(),
        updated_by: scope.caller.user.clone(),
        ..before.clone()
    };
    let after = linked::save_change(app, &scope, &customer, &before, after).await?;
    Ok(linked::respond(StatusCode::OK, &after))
}

/// Unlinks a site: the customer's `sitesCount` goes down with a history entry, in one
/// transaction with the site. Refused while open work orders, open jobs or active contracts
/// depend on it (409 naming them). A site that closed work or contracts name is kept as
/// `unlinked` (read-only: past work stays traceable, with its name and address as they were);
/// one no record names is deleted.
pub async fn unlink(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let reach = scope.edit_reach()?;
    customer_for_change(app, &scope, &id).await?;
    let site: Site = existing(app, &scope, &id, &site_id(request)?).await?;
    if site.fields.status == SiteStatus::Unlinked {
        return Ok(http::no_content());
    }
    let usage = site_use(app, &scope, &site).await?;
    domain::linked::may_unlink(&usage).map_err(linked::refused)?;
    let mut edit = Edit::new(ChangeKind::SiteUnlinked, reach);
    edit.companion = Some(Companion::UnlinkSite {
        site: Box::new(site),
        keep: usage.named,
    });
    modify(app, &scope, &id, None, edit, |c: &mut Customer| {
        c.sites_count = c.sites_count.saturating_sub(1);
        Ok(())
    })
    .await?;
    Ok(http::no_content())
}

/// Which of the customer's work orders, jobs and contracts depend on the site: all of each,
/// read strongly consistent (an unlink is rare; its cost is in docs/data-model.md).
async fn site_use(app: &App, scope: &Scope, site: &Site) -> Result<SiteUse, Problem> {
    let (tenant, customer) = (&scope.tenant, &site.customer_id);
    let names = |id: &str| id == site.id;
    let work_orders = app
        .store
        .all_linked::<WorkOrder>(tenant, customer, |w| names(&w.fields.site_id))
        .await;
    let jobs = app
        .store
        .all_linked::<Job>(tenant, customer, |j| names(&j.site_id))
        .await;
    let contracts = app
        .store
        .all_linked::<Contract>(tenant, customer, |c| c.fields.site_ids.contains(&site.id))
        .await;
    Ok(domain::linked::site_use(
        &site.id,
        &work_orders.map_err(store_problem)?,
        &jobs.map_err(store_problem)?,
        &contracts.map_err(store_problem)?,
    ))
}

fn site_unlinked() -> Problem {
    Problem::conflict(
        "site-unlinked",
        "The site is unlinked",
        "An unlinked site is kept only so that past work stays traceable; it changes no more. Link a new site instead.",
    )
}

/// Site ids are ULIDs; anything else names no site.
fn site_id(request: &Request) -> Result<String, Problem> {
    record_id(request, "siteId", "site")
}
