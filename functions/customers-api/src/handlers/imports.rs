//! The import routes: request in, `usecases::imports` call, response out.

use domain::Permission;
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

use super::{idempotency, scope};
use crate::App;
use crate::http::{self, JSON, json, path_param, with_header};
use crate::usecases::{Created, imports};
use crate::view::{self, ImportView};

const DEFAULT_PAGE: i32 = 20;
const TEMPLATE_FILE: &str = "customers-import-template.csv";
const CSV: &str = "text/csv; charset=utf-8";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ImportRequest {
    file_name: Option<String>,
    /// Header name -> field (or "ignore"), overriding how the import reads the header.
    #[serde(default)]
    mapping: std::collections::BTreeMap<String, String>,
    /// Read and validate the whole file, write no customer.
    #[serde(default)]
    dry_run: bool,
}

/// 201 with the import and the form to POST the file with; a retry with the same
/// Idempotency-Key gets the first answer.
pub async fn request(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    // Checked again by the use case; here so that it is answered before the body is read.
    scope.require(Permission::Upload)?;
    let key = idempotency::key(request)?;
    let body = http::optional_body(request, JSON)?;
    let input: ImportRequest = match body {
        Some(body) => http::parse_json(body)?,
        None => ImportRequest::default(),
    };
    let wanted = store::ImportRequest {
        mapping: input.mapping,
        dry_run: input.dry_run,
    };
    let retry = idempotency::retry_keyed(key, request, body.unwrap_or_default());
    let answer = match imports::request(app, &scope, input.file_name, wanted, &retry).await? {
        Created::Made(requested) => idempotency::to_response(imports::answer_of(&requested), false),
        Created::Replayed(first) => idempotency::to_response(first, true),
    };
    Ok(answer)
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    // As in `request`, before the query is read.
    scope.require(Permission::Upload)?;
    let (limit, cursor) = http::page_params_with(request, DEFAULT_PAGE)?;
    let page = imports::list(app, &scope, limit, cursor.as_deref()).await?;
    Ok(json(
        StatusCode::OK,
        &view::import_page(&page.items, page.next_cursor),
    ))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let record = imports::get(app, &scope, &path_param(request, "importId")?).await?;
    Ok(json(StatusCode::OK, &ImportView::of(&record)))
}

/// 303 to a short-lived download URL of the error report (also in the body, for clients that
/// do not follow redirects across origins).
pub async fn errors(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let url = imports::error_report(app, &scope, &path_param(request, "importId")?).await?;
    Ok(with_header(
        json(StatusCode::SEE_OTHER, &url),
        "location",
        &url.url,
    ))
}

/// The CSV template as a download.
pub async fn template(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    Ok(http::attachment(
        CSV,
        TEMPLATE_FILE,
        imports::template(&scope)?,
    ))
}
