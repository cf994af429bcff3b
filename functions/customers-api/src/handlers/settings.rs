//! The settings routes: request in, `usecases::settings` call, response out.

use domain::{Permission, Settings};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use store::VersionedSettings;

use super::scope;
use crate::App;
use crate::http::{self, JSON, etag, if_match, json, with_header};
use crate::usecases::settings;

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    Ok(response(&settings::get(app, &scope).await?))
}

pub async fn put(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    // Checked again by the use case; here so that it is answered before the body is read.
    scope.require(Permission::ManageSettings)?;
    let new: Settings = http::parse_json(http::body_bytes(request, JSON)?)?;
    let saved = settings::put(app, &scope, if_match(request.headers()), new).await?;
    Ok(response(&saved))
}

fn response(settings: &VersionedSettings) -> Response<Body> {
    with_header(
        json(StatusCode::OK, &settings.settings),
        "etag",
        &etag(settings.version),
    )
}
