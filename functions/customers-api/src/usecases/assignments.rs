//! Responsible users (technicians) of a customer. An assignment is a change of the card
//! (`assignees`, with a history entry) and an assignment record that carries what the
//! notifications need, written in one transaction.

use chrono::Utc;
use domain::{ChangeKind, Customer, CustomerId, Permission, Reach};
use kit::Problem;
use store::{Assignment, Companion, Page};

use super::{Edit, Scope, forbidden, modify, read_visible, store_problem};
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
    scope.require(Permission::Assign)?;
    let mut edit = Edit::new(ChangeKind::Assigned, Reach::All);
    edit.companion = Some(Companion::Assign {
        user: user.to_owned(),
        by: scope.caller.user.clone(),
        at: Utc::now(),
    });
    let (customer, ()) = modify(app, scope, id, expected, edit, |c| {
        if !c.assignees.iter().any(|a| a == user) {
            c.assignees.push(user.to_owned());
        }
        Ok(())
    })
    .await?;
    Ok(customer)
}

/// Takes `user` off the customer (Assign). Unassigning someone not assigned changes nothing.
pub async fn unassign(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    user: &str,
    expected: Option<Option<u64>>,
) -> Result<Customer, Problem> {
    scope.require(Permission::Assign)?;
    let mut edit = Edit::new(ChangeKind::Unassigned, Reach::All);
    edit.companion = Some(Companion::Unassign(user.to_owned()));
    let (customer, ()) = modify(app, scope, id, expected, edit, |c| {
        c.assignees.retain(|a| a != user);
        Ok(())
    })
    .await?;
    Ok(customer)
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
