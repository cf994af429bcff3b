//! The history route: request in, `usecases::history` call, response out.

use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{customer_id, scope};
use crate::App;
use crate::http::{self, json};
use crate::usecases::history;

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let (limit, cursor) = http::page_params(request)?;
    let page = history::list(app, &scope, &id, limit, cursor.as_deref()).await?;
    Ok(json(StatusCode::OK, &page))
}
