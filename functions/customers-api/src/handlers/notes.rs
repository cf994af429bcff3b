//! The note routes beyond the ones every linked kind shares (`handlers::linked`): notes list
//! newest first, and create and change name the note use cases.

use domain::Note;
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{linked, page_request};
use crate::App;
use crate::http::json;
use crate::usecases::notes;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    linked::create::<Note, _>(app, request, notes::create).await
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let (scope, id) = linked::at_customer(app, request).await?;
    let page = notes::page(app, &scope, &id, page_request(request)?).await?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    linked::update::<Note>(app, request, notes::change).await
}
