//! Who the caller is to this API (GET /me): the organisation and user of the verified token,
//! its roles and the permissions they grant. Apps show only what the user may do from it
//! instead of copying the roles' mapping (docs/permissions.md), which stays here.

use domain::Permission;
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::scope;
use crate::App;
use crate::http::{self, json};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallerView<'a> {
    organisation: &'a str,
    user: &'a str,
    roles: &'a [String],
    permissions: &'a [Permission],
}

pub async fn me(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    http::query_params(request, &[])?;
    let scope = scope(app, request).await?;
    let view = CallerView {
        organisation: scope.tenant.as_str(),
        user: &scope.caller.user,
        roles: &scope.caller.roles,
        permissions: scope.grants.permissions(),
    };
    Ok(json(StatusCode::OK, &view))
}
