//! Responsible users (technicians) of a customer. An assignment is a change of the card
//! (`assignees`, with a history entry) and an assignment record that carries what the
//! notifications need, written in one transaction.

use chrono::Utc;
use domain::{ChangeKind, Permission, Reach};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use store::Companion;

use super::{Edit, customer_id, modify, read_visible, scope, store_problem};
use crate::App;
use crate::handlers::customers::customer_response;
use crate::http::{self, if_match, json, path_param};
use crate::view;

/// User ids become part of keys: keep them to what identity providers issue.
fn user_id(request: &Request) -> Result<String, Problem> {
    let user = path_param(request, "userId")?;
    let valid =
        (1..=128).contains(&user.len()) && user.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
    if valid {
        Ok(user)
    } else {
        Err(Problem::bad_parameter(
            "userId",
            "A user id is 1 to 128 printable characters without '#'.",
        ))
    }
}

pub async fn assign(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.require(Permission::Assign)?;
    let id = customer_id(request)?;
    let user = user_id(request)?;
    let mut edit = Edit::new(ChangeKind::Assigned, Reach::All);
    edit.companion = Some(Companion::Assign {
        user: user.clone(),
        by: scope.caller.user.clone(),
        at: Utc::now(),
    });
    let (customer, ()) = modify(app, &scope, &id, if_match(request.headers()), edit, |c| {
        if !c.assignees.contains(&user) {
            c.assignees.push(user.clone());
        }
        Ok(())
    })
    .await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

pub async fn unassign(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.require(Permission::Assign)?;
    let id = customer_id(request)?;
    let user = user_id(request)?;
    let mut edit = Edit::new(ChangeKind::Unassigned, Reach::All);
    edit.companion = Some(Companion::Unassign(user.clone()));
    let (customer, ()) = modify(app, &scope, &id, if_match(request.headers()), edit, |c| {
        c.assignees.retain(|a| a != &user);
        Ok(())
    })
    .await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

#[derive(Serialize)]
struct Assignees {
    items: Vec<store::Assignment>,
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    read_visible(app, &scope, &id).await?;
    let items = app
        .store
        .assignments(&scope.tenant, &id)
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, &Assignees { items }))
}

/// The customers a user is assigned to. Anyone with View may ask about any user; a caller
/// who sees only assigned customers may ask about themselves.
pub async fn customers_of_user(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let user = user_id(request)?;
    if scope.view_reach()? == Reach::Assigned && user != scope.caller.user {
        return Err(super::forbidden(Permission::View));
    }
    let (limit, cursor) = http::page_params(request)?;
    let mut page = app
        .store
        .customers_assigned_to(&scope.tenant, &user, limit, cursor.as_deref())
        .await
        .map_err(store_problem)?;
    // The assignment index lags behind writes; the consistently read card decides.
    page.items.retain(|c| c.assignees.contains(&user));
    Ok(json(
        StatusCode::OK,
        &view::page(&page.items, page.next_cursor, scope.number_in_name()),
    ))
}
