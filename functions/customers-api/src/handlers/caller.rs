//! Who the caller is to this API (GET /me): the organisation and user of the verified token,
//! its roles and the permissions they grant. Apps show only what the user may do from it
//! instead of copying the roles' mapping (docs/permissions.md), which stays here.

use domain::Permission;
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::identity;
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

/// From the token alone: no read of the organisation's settings, which it does not need.
pub async fn me(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    http::query_params(request, &[])?;
    let who = identity(app, request)?;
    let view = CallerView {
        organisation: who.tenant.as_str(),
        user: &who.caller.user,
        roles: &who.caller.roles,
        permissions: who.grants.permissions(),
    };
    Ok(json(StatusCode::OK, &view))
}
