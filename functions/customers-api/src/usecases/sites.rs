//! A customer's sites. Linking and unlinking change the customer's card (`sitesCount`, with a
//! history entry) in the same transaction as the site; changing a site changes only the site.
//! The rules every linked record obeys (an active customer, reach before existence, no unlink
//! while in use) come from [`super::linked`].

use chrono::Utc;
use domain::{
    ChangeKind, Contract, Customer, CustomerId, FieldError, Job, Site, SiteInput, SiteStatus,
    SiteUse, WorkOrder, merge_patch,
};
use kit::Problem;
use serde_json::Value;
use store::Companion;

use super::idempotency::Retry;
use super::linked::{self, answer_of, check_version, customer_for_change, existing};
use super::{Created, Edit, Scope, modify, store_problem};
use crate::App;

/// Links a new site; its contact is the one given, else the customer's primary contact.
pub async fn link(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    input: SiteInput,
    retry: &Retry,
) -> Result<Created<Site>, Problem> {
    let reach = scope.edit_reach()?;
    if input.status.is_some() {
        // A site starts active; PATCH deactivates it.
        return Err(Problem::validation(vec![FieldError::new(
            "/status",
            "unknown_field",
            "A new site is active; change its status afterwards with PATCH.",
        )]));
    }
    let customer = customer_for_change(app, scope, id).await?;
    if let Some(first) = retry.earlier(app, &scope.tenant).await? {
        return Ok(Created::Replayed(first));
    }
    let prefilled = domain::contact_from_customer(&customer.fields);
    let fields = domain::validate_site(input, prefilled, &scope.rules())
        .map_err(|e| Problem::validation(e.0))?;
    let site = Site::new(id.clone(), fields, &scope.caller.user, Utc::now());
    let record = retry.keep(answer_of(&site), site.created_at).map(Box::new);
    let mut edit = Edit::new(ChangeKind::SiteLinked, reach);
    edit.companion = Some(Companion::LinkSite(Box::new(site.clone()), record));
    // The card's change carries the site: decided on the customer as the write finds it.
    let linked = modify(app, scope, id, None, edit, |c| {
        linked::may_link::<Site>(c)?;
        c.sites_count += 1;
        Ok(())
    })
    .await;
    match linked {
        Ok(_) => Ok(Created::Made(site)),
        // A retry that raced with its first sending: the first answer, once it is there.
        Err(problem) => match retry.earlier(app, &scope.tenant).await? {
            Some(first) => Ok(Created::Replayed(first)),
            None => Err(problem),
        },
    }
}

/// Changes a site by merge patch (`expected`: the If-Match version); deactivates or
/// reactivates it with `status` (reactivation needs an active customer). An unlinked site
/// changes no more.
pub async fn change(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    site: &str,
    expected: Option<u64>,
    patch: &Value,
) -> Result<Site, Problem> {
    if patch.get("status").is_some_and(Value::is_null) {
        // Removing the status would silently make the site active again.
        return Err(Problem::validation(vec![FieldError::required("/status")]));
    }
    let customer = customer_for_change(app, scope, id).await?;
    let before: Site = existing(app, scope, id, site).await?;
    check_version(expected, &before)?;
    if before.fields.status == SiteStatus::Unlinked {
        return Err(site_unlinked());
    }
    let mut target = serde_json::to_value(before.fields.to_input()).expect("a site serialises");
    merge_patch::apply(&mut target, patch);
    let input: SiteInput = crate::http::from_value(target)?;
    let mut fields =
        domain::validate_site(input, None, &scope.rules()).map_err(|e| Problem::validation(e.0))?;
    // The same contact, changed or not, keeps its id.
    if let (Some(after), Some(before)) = (&mut fields.contact, &before.fields.contact) {
        after.id = before.id.clone();
    }
    if fields == before.fields {
        return Ok(before);
    }
    let after = before.changed(fields, &scope.caller.user, Utc::now());
    linked::save_change(app, scope, &customer, &before, after).await
}

/// Unlinks a site: the customer's `sitesCount` goes down with a history entry, in one
/// transaction with the site. Refused while open work orders, open jobs or active contracts
/// depend on it (409 naming them). A site that closed work or contracts name is kept as
/// `unlinked` (read-only: past work stays traceable, with its name and address as they were);
/// one no record names is deleted. Unlinking an unlinked site changes nothing.
pub async fn unlink(app: &App, scope: &Scope, id: &CustomerId, site: &str) -> Result<(), Problem> {
    let reach = scope.edit_reach()?;
    customer_for_change(app, scope, id).await?;
    let site: Site = existing(app, scope, id, site).await?;
    if site.fields.status == SiteStatus::Unlinked {
        return Ok(());
    }
    let usage = site_use(app, scope, &site).await?;
    domain::linked::may_unlink(&usage).map_err(linked::refused)?;
    let mut edit = Edit::new(ChangeKind::SiteUnlinked, reach);
    edit.companion = Some(Companion::UnlinkSite {
        site: Box::new(site),
        keep: usage.named,
    });
    modify(app, scope, id, None, edit, |c: &mut Customer| {
        c.sites_count = c.sites_count.saturating_sub(1);
        Ok(())
    })
    .await?;
    Ok(())
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
