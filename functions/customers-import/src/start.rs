//! From a queue message to a running import: which tenant, which import record, and whether
//! this delivery was seen before.

use std::time::Instant;

use chrono::Utc;
use sha2::{Digest, Sha256};
use store::{
    Begin, ImportCounts, ImportRecord, ImportRequest, ImportSource, ImportStatus, TenantId,
};

use crate::importer::{self, ImportError};
use crate::location::{Location, locate};
use crate::messages::{self, Continuation, CreatedObject, Message};
use crate::{App, turns};

pub async fn process(app: &App, body: &str, deadline: Instant) -> Result<(), ImportError> {
    match messages::parse(body) {
        Ok(Message::Created(objects)) => {
            for object in objects {
                start_object(app, &object, body, deadline).await?;
            }
            Ok(())
        }
        Ok(Message::Continue(continuation)) => {
            continue_import(app, &continuation, body, deadline).await
        }
        Ok(Message::Export(job)) => crate::export::run(app, &job).await,
        Ok(Message::Ignore(why)) => {
            tracing::info!(why, "nothing to import");
            Ok(())
        }
        // It will never parse: retrying would only delay it on its way to the dead-letter
        // queue, where an operator can read it.
        Err(unrecognised) => Err(ImportError::Unrecognised(unrecognised.to_string())),
    }
}

async fn start_object(
    app: &App,
    object: &CreatedObject,
    message: &str,
    deadline: Instant,
) -> Result<(), ImportError> {
    if object.bucket != app.bucket.name() {
        return Err(ImportError::Unrecognised(format!(
            "a notification for bucket {:?}, not ours",
            object.bucket
        )));
    }
    let location = match locate(&object.key) {
        Ok(location) => location,
        Err(reason) => {
            tracing::warn!(key = %object.key, reason, "import file rejected");
            app.store
                .record_rejected_import(&object.key, reason, Utc::now())
                .await?;
            return Ok(());
        }
    };
    let tenant = location.tenant.clone();
    let work = turns::work_of(&object.key, &object.etag);
    turns::in_turn(app, &tenant, &work, message, deadline, || {
        begin_object(app, location, object, deadline)
    })
    .await
}

/// Starts the import of a located file, or resumes it when this is a redelivery.
async fn begin_object(
    app: &App,
    location: Location,
    object: &CreatedObject,
    deadline: Instant,
) -> Result<(), ImportError> {
    let tenant = location.tenant.clone();
    let delivery = delivery_digest(object);
    let Some((record, previous)) = claimable_record(app, &location, object).await? else {
        // The requested import has its file. This event may be the claiming upload's,
        // delivered again; otherwise it is another upload with the same form, which the form's
        // validity allows and which is no new import, whoever sends it.
        return match app.store.import_delivery(&tenant, &delivery).await? {
            Some(id) => delivered_again(app, tenant, &id, deadline).await,
            None => {
                tracing::warn!(
                    tenant = %tenant,
                    import_id = location.requested_import.as_deref().unwrap_or_default(),
                    etag = %object.etag,
                    "another upload to a requested import's key; ignored"
                );
                kit::metrics::Metrics::new(crate::FUNCTION)
                    .count("ImportUploadsIgnored", 1)
                    .property("tenant", tenant.as_str())
                    .emit();
                Ok(())
            }
        };
    };
    match app
        .store
        .begin_import(&tenant, &delivery, &record, previous)
        .await?
    {
        Begin::Started => {
            tracing::info!(tenant = %tenant, import_id = %record.id, "import started");
            importer::run(app, tenant, record, deadline).await
        }
        Begin::Delivered(id) => delivered_again(app, tenant, &id, deadline).await,
    }
}

/// A delivery seen before: finish what is unfinished (the first delivery may have died
/// mid-file), else there is nothing to do.
async fn delivered_again(
    app: &App,
    tenant: TenantId,
    id: &str,
    deadline: Instant,
) -> Result<(), ImportError> {
    match app.store.import(&tenant, id).await? {
        Some(record) if record.status == ImportStatus::Running => {
            tracing::info!(tenant = %tenant, import_id = %id, "delivered again; resuming");
            importer::run(app, tenant, record, deadline).await
        }
        _ => {
            tracing::info!(tenant = %tenant, import_id = %id, "delivered again; already done");
            Ok(())
        }
    }
}

/// The record this file starts: the one an upload form was handed out for, or a new one for a
/// file dropped straight into the bucket; with the awaiting record's version to replace.
/// `None` for a file under a requested import's key once that import has its file: the first
/// upload claims the import (awaiting -> running, conditional on the version read), so a
/// second one, even with the same form, starts nothing.
async fn claimable_record(
    app: &App,
    location: &Location,
    object: &CreatedObject,
) -> Result<Option<(ImportRecord, Option<u64>)>, ImportError> {
    let now = Utc::now();
    let requested = match &location.requested_import {
        Some(id) => app.store.import(&location.tenant, id).await?,
        None => None,
    };
    if let Some(awaiting) = requested {
        if awaiting.status != ImportStatus::AwaitingUpload || awaiting.object_key != object.key {
            return Ok(None);
        }
        let previous = awaiting.version;
        let record = ImportRecord {
            status: ImportStatus::Running,
            started_at: Some(now),
            etag: Some(object.etag.clone()),
            size_bytes: object.size,
            version: previous + 1,
            ..awaiting
        };
        return Ok(Some((record, Some(previous))));
    }
    let record = ImportRecord {
        id: ulid::Ulid::new().to_string(),
        status: ImportStatus::Running,
        source: ImportSource::Bucket,
        object_key: object.key.clone(),
        file_name: Some(location.file_name.clone()),
        requested_by: None,
        created_at: now,
        started_at: Some(now),
        finished_at: None,
        etag: Some(object.etag.clone()),
        size_bytes: object.size,
        counts: ImportCounts::default(),
        checkpoint: None,
        done_ahead: Vec::new(),
        lanes: 0,
        invocations: 0,
        failure: None,
        error_report_key: None,
        request: ImportRequest::default(),
        mapping: None,
        version: 1,
    };
    Ok(Some((record, None)))
}

async fn continue_import(
    app: &App,
    continuation: &Continuation,
    message: &str,
    deadline: Instant,
) -> Result<(), ImportError> {
    let Some(tenant) = TenantId::parse(&continuation.tenant) else {
        return Err(ImportError::Unrecognised(format!(
            "a continuation for tenant {:?}",
            continuation.tenant
        )));
    };
    match app.store.import(&tenant, &continuation.import_id).await? {
        Some(record)
            if record.status == ImportStatus::Running && record.version == continuation.version =>
        {
            let work = turns::work_of(&record.object_key, record.etag.as_deref().unwrap_or(""));
            turns::in_turn(app, &tenant.clone(), &work, message, deadline, || {
                importer::run(app, tenant, record, deadline)
            })
            .await
        }
        // Finished meanwhile, or taken over by a redelivery that moved it on.
        _ => {
            tracing::info!(import_id = %continuation.import_id, "stale continuation");
            Ok(())
        }
    }
}

/// One version of one object, as S3 delivers it: the same key uploaded again (even with the
/// same bytes, so the same ETag) has a new sequencer and is a new import; the same event
/// delivered twice is not.
fn delivery_digest(object: &CreatedObject) -> String {
    let mut hasher = Sha256::new();
    for part in [&object.key, &object.etag, &object.sequencer] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
