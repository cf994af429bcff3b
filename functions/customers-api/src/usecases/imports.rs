//! CSV imports (Upload): request one (an upload form), follow it, fetch its error report, get
//! the template. The import itself is run by the customers-import function when the file
//! arrives in the bucket; this side records the request and presigns uploads and downloads.

use chrono::Utc;
use domain::{FieldError, Permission};
use kit::Problem;
use lambda_http::http::StatusCode;
use serde::Serialize;
use store::{
    ImportCounts, ImportRecord, ImportRequest, ImportSource, ImportStatus, Page, StoredResponse,
};
use ulid::Ulid;

use super::idempotency::Retry;
use super::{Created, Scope, store_problem};
use crate::App;
use crate::bucket::{ImportsBucket, Presigned, PresignedPost};
use crate::view::ImportView;

const MAX_FILE_NAME: usize = 200;

/// A recorded import awaiting its file, and the form to POST the file with.
#[derive(Serialize)]
pub struct Requested {
    #[serde(flatten, serialize_with = "import_view")]
    pub import: ImportRecord,
    pub upload: PresignedPost,
}

fn import_view<S: serde::Serializer>(record: &ImportRecord, out: S) -> Result<S::Ok, S::Error> {
    ImportView::of(record).serialize(out)
}

/// Records an import awaiting its file and answers the form to upload the file with (at most
/// [`import::MAX_FILE_BYTES`], enforced by S3). The form is signed before the record is
/// written, so a failure leaves nothing behind. `wanted` carries the caller's column mapping
/// (checked here against the fields an import fills and the organisation's custom fields) and
/// whether it is a dry run. With an Idempotency-Key, a retry gets the first answer: the same
/// import and the same form.
pub async fn request(
    app: &App,
    scope: &Scope,
    file_name: Option<String>,
    wanted: ImportRequest,
    retry: &Retry,
) -> Result<Created<Requested>, Problem> {
    scope.require(Permission::Upload)?;
    if let Some(first) = retry.earlier(app, &scope.tenant).await? {
        return Ok(Created::Replayed(first));
    }
    let file_name = checked_file_name(file_name)?;
    checked_mapping(scope, &wanted)?;
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
        done_ahead: Vec::new(),
        lanes: 0,
        invocations: 0,
        failure: None,
        error_report_key: None,
        request: wanted,
        mapping: None,
        version: 1,
    };
    let upload = app
        .imports
        .upload_form(&record.object_key, import::MAX_FILE_BYTES, now)
        .await?;
    let requested = Requested {
        import: record,
        upload,
    };
    let stored = retry.keep(answer_of(&requested), now);
    match app
        .store
        .put_import(&scope.tenant, &requested.import, stored.as_ref())
        .await
    {
        Ok(()) => Ok(Created::Made(requested)),
        Err(store::StoreError::IdempotencyKeyUsed(first)) => {
            retry.replayed(&first).map(Created::Replayed)
        }
        Err(e) => Err(store_problem(e)),
    }
}

/// The answer to a request, as a retry of it gets it again: 201, the import's location, the
/// import and its upload form.
pub fn answer_of(requested: &Requested) -> StoredResponse {
    StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        headers: vec![(
            "location".into(),
            format!("/imports/{}", requested.import.id),
        )],
        body: serde_json::to_string(requested).expect("views serialise"),
    }
}

/// A page of the organisation's imports, newest first.
pub async fn list(
    app: &App,
    scope: &Scope,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<ImportRecord>, Problem> {
    scope.require(Permission::Upload)?;
    app.store
        .imports(&scope.tenant, limit, cursor)
        .await
        .map_err(store_problem)
}

/// The import `id` (as the path has it) of the caller's organisation, else 404.
pub async fn get(app: &App, scope: &Scope, id: &str) -> Result<ImportRecord, Problem> {
    scope.require(Permission::Upload)?;
    let id = import_id(id)?;
    app.store
        .import(&scope.tenant, &id)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found("import"))
}

/// A short-lived download URL of a finished import's error report: 409 while the import has
/// not finished, 404 when no report was written.
pub async fn error_report(app: &App, scope: &Scope, id: &str) -> Result<Presigned, Problem> {
    let record = get(app, scope, id).await?;
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
    app.imports.download_url(key, &file, Utc::now()).await
}

/// The CSV template: our column names and one example row.
pub fn template(scope: &Scope) -> Result<String, Problem> {
    scope.require(Permission::Upload)?;
    Ok(import::template_csv())
}

/// A mapping naming a field no import fills (or a custom field the organisation does not
/// have, or one field for two columns) is refused before any file is uploaded, each entry's
/// problem at `/mapping/<column>`; like every field the API refuses, a 422. Columns are
/// checked against the file's header when it is read.
fn checked_mapping(scope: &Scope, wanted: &ImportRequest) -> Result<(), Problem> {
    let definitions = &scope.settings.settings.custom_fields;
    import::ColumnOverride::parse(&wanted.mapping, definitions).map_err(Problem::validation)?;
    Ok(())
}

/// Import ids are ULIDs; anything else names no import and never reaches a key. Read in any
/// case, used in the canonical upper case.
fn import_id(raw: &str) -> Result<String, Problem> {
    domain::record_id(raw).ok_or_else(|| Problem::not_found("import"))
}

/// A blank name is no name (as everywhere); otherwise at most 200 characters, none of them
/// control or invisible formatting characters (the name is shown to people).
fn checked_file_name(raw: Option<String>) -> Result<Option<String>, Problem> {
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
        assert_eq!(checked_file_name(None).unwrap(), None);
        assert_eq!(checked_file_name(Some("  ".into())).unwrap(), None);
        assert_eq!(
            checked_file_name(Some(" Kunder åäö 2025.csv ".into())).unwrap(),
            Some("Kunder åäö 2025.csv".into())
        );
        assert!(checked_file_name(Some("é".repeat(200))).unwrap().is_some());
        for bad in [
            "a\nb.csv",
            "tab\t.csv",
            "evil\u{202E}vsc.exe",
            "x\u{200B}.csv",
        ] {
            let problem = checked_file_name(Some(bad.into())).unwrap_err();
            assert_eq!(problem.errors[0].code, "invalid_characters", "{bad:?}");
        }
        let problem = checked_file_name(Some("a".repeat(201))).unwrap_err();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "/fileName");
        assert_eq!(problem.errors[0].code, "too_long");
    }
}
