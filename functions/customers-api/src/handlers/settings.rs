//! The organisation's customer settings: every role reads them (apps draw their forms with
//! them), administrators change them (ManageSettings).

use std::sync::Arc;

use domain::{Permission, Settings};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use store::{StoreError, VersionedSettings};

use super::{forbidden, scope, store_problem};
use crate::App;
use crate::http::{self, etag, if_match, json, with_header};

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.grants.require_any().map_err(forbidden)?;
    let current = app
        .store
        .settings(&scope.tenant)
        .await
        .map_err(store_problem)?;
    Ok(response(&current))
}

/// Replaces the settings. They apply to what is written from now on; stored customers are
/// never rewritten (see docs/api.md, "Settings").
pub async fn put(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.require(Permission::ManageSettings)?;
    let mut settings: Settings =
        http::parse_json(http::body_bytes(request, &["application/json"])?)?;
    let current = app
        .store
        .settings(&scope.tenant)
        .await
        .map_err(store_problem)?;
    if let Some(Some(version)) = if_match(request.headers())
        && version != current.version
    {
        return Err(Problem::stale(Some(&etag(current.version))));
    }
    settings
        .validate(&current.settings)
        .map_err(|e| Problem::validation(e.0))?;
    let version = match app
        .store
        .put_settings(&scope.tenant, &settings, current.version)
        .await
    {
        Ok(version) => version,
        Err(StoreError::VersionConflict) => return Err(Problem::stale(None)),
        Err(e) => return Err(store_problem(e)),
    };
    let saved = Arc::new(VersionedSettings { settings, version });
    app.remember(&scope.tenant, saved.clone());
    Ok(response(&saved))
}

fn response(settings: &VersionedSettings) -> Response<Body> {
    with_header(
        json(StatusCode::OK, &settings.settings),
        "etag",
        &etag(settings.version),
    )
}
