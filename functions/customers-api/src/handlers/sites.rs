//! A customer's sites. Linking and unlinking change the customer's card (`sitesCount`, with a
//! history entry) in the same transaction as the site; changing a site changes only the site.

use chrono::Utc;
use domain::{
    ChangeKind, Customer, CustomerId, FieldError, Permission, Site, SiteInput, merge_patch,
};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use store::{Companion, StoreError};

use super::idempotency::Retry;
use super::{
    Edit, Scope, customer_id, found, modify, read_reachable, read_visible, record_id, scope,
    store_problem,
};
use crate::App;
use crate::http::{self, etag, if_match, json, with_header};

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
    let customer = read_reachable(app, &scope, &id, reach, Permission::Edit).await?;
    if let Some(first) = retry.earlier_answer(app, &scope.tenant).await? {
        return Ok(first);
    }
    let prefilled = domain::contact_from_customer(&customer.fields);
    let fields = domain::validate_site(input, prefilled, &scope.rules())
        .map_err(|e| Problem::validation(e.0))?;
    let site = Site::new(id.clone(), fields, &scope.caller.user, Utc::now());
    let location = format!("/customers/{id}/sites/{}", site.id);
    let created = with_header(
        site_response(StatusCode::CREATED, &site),
        "location",
        &location,
    );
    let record = retry.record(&created, site.created_at).map(Box::new);
    let mut edit = Edit::new(ChangeKind::SiteLinked, reach);
    edit.companion = Some(Companion::LinkSite(Box::new(site), record));
    let linked = modify(app, &scope, &id, None, edit, |c| {
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
    read_visible(app, &scope, &id).await?;
    let page = app
        .store
        .sites(&scope.tenant, &id, limit, cursor.as_deref(), ascending)
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    read_visible(app, &scope, &id).await?;
    let site = existing_site(app, &scope, &id, &site_id(request)?).await?;
    Ok(site_response(StatusCode::OK, &site))
}

/// Changes a site by merge patch (If-Match the site's ETag); deactivates or reactivates it
/// with `status`.
pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let reach = scope.edit_reach()?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    if patch.get("status").is_some_and(Value::is_null) {
        // Removing the status would silently make the site active again.
        return Err(Problem::validation(vec![FieldError::required("/status")]));
    }
    read_reachable(app, &scope, &id, reach, Permission::Edit).await?;
    let before = existing_site(app, &scope, &id, &site_id(request)?).await?;
    if expected.is_some_and(|version| version != before.version) {
        return Err(Problem::stale(Some(&etag(before.version))));
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
        return Ok(site_response(StatusCode::OK, &before));
    }
    let after = Site {
        fields,
        version: before.version + 1,
        updated_at: Utc::now(),
        updated_by: scope.caller.user.clone(),
        ..before.clone()
    };
    match app
        .store
        .replace_site(&scope.tenant, &after, before.version)
        .await
    {
        Ok(()) => Ok(site_response(StatusCode::OK, &after)),
        Err(StoreError::VersionConflict) => Err(Problem::stale(None)),
        Err(e) => Err(store_problem(e)),
    }
}

/// Unlinks a site: it is removed, and the customer's `sitesCount` goes down with a history
/// entry, in one transaction.
pub async fn unlink(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let reach = scope.edit_reach()?;
    let site = site_id(request)?;
    existing_site(app, &scope, &id, &site).await?;
    let mut edit = Edit::new(ChangeKind::SiteUnlinked, reach);
    edit.companion = Some(Companion::UnlinkSite(site));
    modify(app, &scope, &id, None, edit, |c: &mut Customer| {
        c.sites_count = c.sites_count.saturating_sub(1);
        Ok(())
    })
    .await?;
    Ok(http::no_content())
}

async fn existing_site(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    site_id: &str,
) -> Result<Site, Problem> {
    found(
        app.store.site(&scope.tenant, customer, site_id).await,
        "site",
    )
}

/// Site ids are ULIDs; anything else names no site.
fn site_id(request: &Request) -> Result<String, Problem> {
    record_id(request, "siteId", "site")
}

fn site_response(status: StatusCode, site: &Site) -> Response<Body> {
    with_header(json(status, site), "etag", &etag(site.version))
}
