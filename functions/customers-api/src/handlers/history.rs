//! A customer's history: every change of the card, newest first.

use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{customer_id, read_visible, scope, store_problem};
use crate::App;
use crate::http::{self, json};

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let (limit, cursor) = http::page_params(request)?;
    read_visible(app, &scope, &id).await?;
    let page = app
        .store
        .history(&scope.tenant, &id, limit, cursor.as_deref())
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, &page))
}
