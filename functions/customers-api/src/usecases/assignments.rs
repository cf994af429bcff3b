//! Responsible users (technicians) of a customer. An assignment is a change of the card
//! (`assignees`, with a history entry) and an assignment record that carries what the
//! notifications need, written in one transaction.

use chrono::Utc;
use domain::{CardChange, Customer, CustomerId, Permission, Reach};
use kit::Problem;
use store::{Assignment, Companion, Page};

use super::{Edit, Scope, change_card, forbidden, read_visible, store_problem};
use crate::App;

/// Assigns `user` to the customer (Assign). Assigning an assignee again changes nothing.
/// `expected` is the If-Match header (see [`modify`]).
pub async fn assign(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    user: &str,
    expected: Option<Option<u64>>,
) -> Result<Customer, Problem> {
    let change = CardChange::Assign(user.to_owned());
    let mut edit = Edit::new(change.kind(), scope.change_reach(&change)?);
    edit.companion = Companion::of_change(&change, &scope.caller.user, Utc::now());
    change_card(app, scope, id, expected, edit, &change).await
}

/// Takes `user` off the customer (Assign). Unassigning someone not assigned changes nothing.
pub async fn unassign(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    user: &str,
    expected: Option<Option<u64>>,
) -> Result<Customer, Problem> {
    let change = CardChange::Unassign(user.to_owned());
    let mut edit = Edit::new(change.kind(), scope.change_reach(&change)?);
    edit.companion = Companion::of_change(&change, &scope.caller.user, Utc::now());
    change_card(app, scope, id, expected, edit, &change).await
}

/// The assignments of a customer the caller may see.
pub async fn assignees(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
) -> Result<Vec<Assignment>, Problem> {
    read_visible(app, scope, id).await?;
    app.store
        .assignments(&scope.tenant, id)
        .await
        .map_err(store_problem)
}

/// Anyone with View may ask which customers any user is assigned to; a caller who sees only
/// assigned customers may ask about themselves.
pub fn may_list_customers_of(scope: &Scope, user: &str) -> Result<(), Problem> {
    if scope.view_reach()? == Reach::Assigned && user != scope.caller.user {
        return Err(forbidden(Permission::View));
    }
    Ok(())
}

/// A page of the customers `user` is assigned to (see [`may_list_customers_of`]).
pub async fn customers_of(
    app: &App,
    scope: &Scope,
    user: &str,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Customer>, Problem> {
    may_list_customers_of(scope, user)?;
    let mut page = app
        .store
        .customers_assigned_to(&scope.tenant, user, limit, cursor)
        .await
        .map_err(store_problem)?;
    // The assignment index lags behind writes; the consistently read card decides.
    page.items.retain(|c| c.assignees.iter().any(|a| a == user));
    Ok(page)
}
