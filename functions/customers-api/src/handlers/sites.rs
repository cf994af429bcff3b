//! The site routes beyond the ones every linked kind shares (`handlers::linked`): link, change
//! and unlink name the site use cases.

use domain::Site;
use kit::Problem;
use lambda_http::{Body, Request, Response};

use super::linked;
use crate::App;
use crate::http;
use crate::usecases::sites;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    linked::create::<Site, _>(app, request, sites::link).await
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    linked::update::<Site>(app, request, sites::change).await
}

pub async fn unlink(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let (scope, id) = linked::at_customer(app, request).await?;
    scope.edit_reach()?;
    sites::unlink(app, &scope, &id, &linked::id_of::<Site>(request)?).await?;
    Ok(http::no_content())
}
