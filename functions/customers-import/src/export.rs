//! Writes a customer export: the list the export's filters name, page by page, through the
//! import crate's `CustomerExportWriter` (our template's columns and the organisation's custom
//! fields, every cell spreadsheet-safe), to `exports/<tenant>/<export id>.csv` in the imports
//! bucket, and the export record's status and row count. Set off by the API's message on the
//! imports queue (`store::ExportJob`); see docs/api.md, "Exports".
//!
//! The file is built in memory and put whole: a register of 100 000 customers is some 40 MB,
//! well inside the function's memory, and one PutObject leaves no partial file behind. A
//! delivery that fails (throttling, S3) comes again and writes the whole file again; a
//! delivery of an export already completed or failed does nothing.

use chrono::Utc;
use import::CustomerExportWriter;
use store::{ExportJob, ExportRecord, ExportStatus, MAX_PAGE, TenantId};

use crate::App;
use crate::importer::ImportError;

pub async fn run(app: &App, job: &ExportJob) -> Result<(), ImportError> {
    let Some(tenant) = TenantId::parse(&job.tenant) else {
        return Err(ImportError::Unrecognised(format!(
            "an export job for tenant {:?}, which is no tenant id",
            job.tenant
        )));
    };
    let Some(record) = app.store.export(&tenant, &job.export_id).await? else {
        return Err(ImportError::Unrecognised(format!(
            "an export job for export {:?}, which {tenant} does not have",
            job.export_id
        )));
    };
    if matches!(
        record.status,
        ExportStatus::Completed | ExportStatus::Failed
    ) {
        tracing::info!(export = %record.id, "export already finished; redelivery ignored");
        return Ok(());
    }
    if !record
        .object_key
        .starts_with(&store::exports_prefix(&tenant))
    {
        tracing::error!(export = %record.id, "export key outside the tenant's exports prefix");
        return finish(
            app,
            &tenant,
            record,
            Err("The export's file name is invalid."),
        )
        .await;
    }
    let Some(mut record) = claim(app, &tenant, record).await? else {
        return Ok(());
    };
    let settings = app.store.settings(&tenant).await?.settings;
    let mut writer = CustomerExportWriter::new(Vec::new(), &settings.custom_fields)
        .map_err(|e| ImportError::Retry(format!("writing the export: {e}")))?;
    let mut query = record.query.clone();
    query.limit = MAX_PAGE;
    query.cursor = None;
    let mut rows = 0;
    loop {
        let page = app
            .store
            .list_of(&tenant, &query, record.assigned_to.as_deref())
            .await?;
        for customer in &page.items {
            writer
                .write(&customer.fields)
                .map_err(|e| ImportError::Retry(format!("writing the export: {e}")))?;
            rows += 1;
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    let file = writer
        .into_inner()
        .map_err(|e| ImportError::Retry(format!("writing the export: {e}")))?;
    let size = file.len() as u64;
    app.bucket
        .put(&record.object_key, "text/csv; charset=utf-8", file.into())
        .await
        .map_err(|e| ImportError::Retry(format!("writing the export file: {e}")))?;
    record.rows = rows;
    record.size_bytes = Some(size);
    finish(app, &tenant, record, Ok(())).await
}

/// Marks the export running; `None` when another invocation moved it on meanwhile.
async fn claim(
    app: &App,
    tenant: &TenantId,
    mut record: ExportRecord,
) -> Result<Option<ExportRecord>, ImportError> {
    let expected = record.version;
    record.status = ExportStatus::Running;
    record.started_at = Some(Utc::now());
    record.version += 1;
    match app.store.save_export(tenant, &record, expected).await {
        Ok(()) => Ok(Some(record)),
        Err(store::StoreError::VersionConflict) => {
            tracing::info!(export = %record.id, "export taken by another invocation");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

async fn finish(
    app: &App,
    tenant: &TenantId,
    mut record: ExportRecord,
    outcome: Result<(), &str>,
) -> Result<(), ImportError> {
    let expected = record.version;
    match outcome {
        Ok(()) => record.status = ExportStatus::Completed,
        Err(why) => {
            record.status = ExportStatus::Failed;
            record.failure = Some(why.to_owned());
        }
    }
    record.finished_at = Some(Utc::now());
    record.version += 1;
    app.store.save_export(tenant, &record, expected).await?;
    tracing::info!(export = %record.id, rows = record.rows, status = ?record.status, "export finished");
    Ok(())
}
