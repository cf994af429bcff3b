//! The assignment routes: request in, `usecases::assignments` call, response out.

use domain::Permission;
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::customers::customer_response;
use super::{customer_id, scope};
use crate::App;
use crate::http::{self, if_match, json, path_param};
use crate::usecases::assignments;
use crate::view;

/// User ids become part of keys: keep them to what identity providers issue
/// ([`domain::is_user_id`]).
fn user_id(request: &Request) -> Result<String, Problem> {
    let user = path_param(request, "userId")?;
    if domain::is_user_id(&user) {
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
    // Checked again by the use case; here so that it is answered before the user id is read.
    scope.require(Permission::Assign)?;
    let id = customer_id(request)?;
    let user = user_id(request)?;
    let expected = if_match(request.headers());
    let customer = assignments::assign(app, &scope, &id, &user, expected).await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

pub async fn unassign(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    // As in `assign`.
    scope.require(Permission::Assign)?;
    let id = customer_id(request)?;
    let user = user_id(request)?;
    let expected = if_match(request.headers());
    let customer = assignments::unassign(app, &scope, &id, &user, expected).await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

#[derive(Serialize)]
struct Assignees {
    items: Vec<store::Assignment>,
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let items = assignments::assignees(app, &scope, &id).await?;
    Ok(json(StatusCode::OK, &Assignees { items }))
}

pub async fn customers_of_user(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let user = user_id(request)?;
    // Checked again by the use case; here so that it is answered before the page is read.
    assignments::may_list_customers_of(&scope, &user)?;
    let (limit, cursor) = http::page_params(request)?;
    let page = assignments::customers_of(app, &scope, &user, limit, cursor.as_deref()).await?;
    Ok(json(
        StatusCode::OK,
        &view::page(&page.items, page.next_cursor, scope.number_in_name()),
    ))
}
