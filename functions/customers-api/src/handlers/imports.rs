//! CSV imports (Upload): ask for an upload URL, follow the import, fetch its error report,
//! download the template. The import itself is run by the customers-import function when the
//! file arrives in the bucket; this side records the request and presigns URLs.

use chrono::Utc;
use domain::{FieldError, Permission};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use store::{ImportCounts, ImportRecord, ImportSource, ImportStatus};
use ulid::Ulid;

use super::{Scope, scope, store_problem};
use crate::App;
use crate::bucket::{ImportsBucket, Presigned};
use crate::http::{self, json, path_param, with_header};
use crate::view::{self, ImportView};

const JSON: &[&str] = &["application/json"];
const DEFAULT_PAGE: i32 = 20;
const MAX_FILE_NAME: usize = 200;
const TEMPLATE_FILE: &str = "customers-import-template.csv";
const CSV: &str = "text/csv; charset=utf-8";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ImportRequest {
    file_name: Option<String>,
}

#[derive(Serialize)]
struct Requested<'a> {
    #[serde(flatten)]
    import: ImportView<'a>,
    upload: Upload,
}

#[derive(Serialize)]
struct Upload {
    method: &'static str,
    #[serde(flatten)]
    url: Presigned,
}

/// Records an import awaiting its file and answers the URL to PUT the file to. The URL is
/// signed before the record is written, so a failure leaves nothing behind.
pub async fn request(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.require(Permission::Upload)?;
    let input: ImportRequest = match http::optional_body(request, JSON)? {
        Some(body) => http::parse_json(body)?,
        None => ImportRequest::default(),
    };
    let file_name = file_name(input.file_name)?;
    let now = Utc::now();
    let id = Ulid::new().to_string();
    let record = ImportRecord {
        object_key: ImportsBucket::upload_key(&scope.tenant, &id),
        id,
        status: ImportStatus::AwaitingUpload,
        source: ImportSource::Api,
        file_name,
        requested_by: Some(scope.caller.user.clone()),
        created_at: now,
        started_at: None,
        finished_at: None,
        etag: None,
        size_bytes: None,
        counts: ImportCounts::default(),
        checkpoint: None,
        invocations: 0,
        failure: None,
        error_report_key: None,
        version: 1,
    };
    let url = app.imports.upload_url(&record.object_key, now).await?;
    app.store
        .put_import(&scope.tenant, &record)
        .await
        .map_err(store_problem)?;
    let body = Requested {
        import: ImportView::of(&record),
        upload: Upload { method: "PUT", url },
    };
    Ok(with_header(
        json(StatusCode::CREATED, &body),
        "location",
        &format!("/imports/{}", record.id),
    ))
}

/// The organisation's imports, newest first.
pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.require(Permission::Upload)?;
    let (limit, cursor) = http::page_params_with(request, DEFAULT_PAGE)?;
    let page = app
        .store
        .imports(&scope.tenant, limit, cursor.as_deref())
        .await
        .map_err(store_problem)?;
    Ok(json(
        StatusCode::OK,
        &view::import_page(&page.items, page.next_cursor),
    ))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.require(Permission::Upload)?;
    let record = read(app, &scope, request).await?;
    Ok(json(StatusCode::OK, &ImportView::of(&record)))
}

/// 303 to a short-lived download URL of the error report (also in the body, for clients that
/// do not follow redirects across origins).
pub async fn errors(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.require(Permission::Upload)?;
    let record = read(app, &scope, request).await?;
    if matches!(
        record.status,
        ImportStatus::AwaitingUpload | ImportStatus::Running
    ) {
        return Err(Problem::conflict(
            "import-not-finished",
            "The import has not finished",
            "The error report is written when the import ends. Follow GET /imports/{importId} \
             until its status is completed or failed.",
        )
        .with("importStatus", record.status));
    }
    let Some(key) = record.error_report_key.as_deref() else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "no-error-report",
            "The import has no error report",
        )
        .detail(
            "No error report was written for this import: no row failed, or the file as a \
             whole could not be imported (see failure).",
        ));
    };
    // The signer may read every report; a key outside this tenant's prefix is never handed out.
    if !key.starts_with(&ImportsBucket::reports_prefix(&scope.tenant)) {
        tracing::error!(
            import = %record.id,
            "error report key outside the tenant's reports prefix"
        );
        return Err(Problem::internal());
    }
    let file = format!("import-{}-errors.csv", record.id);
    let url = app.imports.download_url(key, &file, Utc::now()).await?;
    Ok(with_header(
        json(StatusCode::SEE_OTHER, &url),
        "location",
        &url.url,
    ))
}

/// The CSV template: our column names and one example row.
pub async fn template(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    scope.require(Permission::Upload)?;
    Ok(http::attachment(CSV, TEMPLATE_FILE, import::template_csv()))
}

/// The import of the path in the caller's organisation, else 404.
async fn read(app: &App, scope: &Scope, request: &Request) -> Result<ImportRecord, Problem> {
    let id = import_id(request)?;
    app.store
        .import(&scope.tenant, &id)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found("import"))
}

/// Import ids are ULIDs; anything else names no import and never reaches a key. Read in any
/// case, used in the canonical upper case.
fn import_id(request: &Request) -> Result<String, Problem> {
    let raw = path_param(request, "importId")?;
    Ulid::from_string(&raw)
        .map(|id| id.to_string())
        .map_err(|_| Problem::not_found("import"))
}

/// A blank name is no name (as everywhere); otherwise at most 200 characters, none of them
/// control or invisible formatting characters (the name is shown to people).
fn file_name(raw: Option<String>) -> Result<Option<String>, Problem> {
    let Some(name) = raw.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let refuse = |code: &str, message: &str| {
        Problem::validation(vec![FieldError {
            field: "/fileName".into(),
            code: code.into(),
            message: message.into(),
        }])
    };
    if name.chars().count() > MAX_FILE_NAME {
        return Err(refuse("too_long", "A file name is at most 200 characters."));
    }
    if name.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(refuse(
            "invalid_characters",
            "A file name holds only printable characters (no line breaks, tabs or \
             invisible formatting characters).",
        ));
    }
    Ok(Some(name))
}

/// Zero-width and bidirectional formatting characters: they make a name read as another.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_trimmed_printable_and_short() {
        assert_eq!(file_name(None).unwrap(), None);
        assert_eq!(file_name(Some("  ".into())).unwrap(), None);
        assert_eq!(
            file_name(Some(" Kunder åäö 2025.csv ".into())).unwrap(),
            Some("Kunder åäö 2025.csv".into())
        );
        assert!(file_name(Some("é".repeat(200))).unwrap().is_some());
        for bad in [
            "a\nb.csv",
            "tab\t.csv",
            "evil\u{202E}vsc.exe",
            "x\u{200B}.csv",
        ] {
            let problem = file_name(Some(bad.into())).unwrap_err();
            assert_eq!(problem.errors[0].code, "invalid_characters", "{bad:?}");
        }
        let problem = file_name(Some("a".repeat(201))).unwrap_err();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "/fileName");
        assert_eq!(problem.errors[0].code, "too_long");
    }
}
