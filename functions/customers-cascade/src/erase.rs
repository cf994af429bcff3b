//! The background erasure: a customer's card turned erased (the API erased it, in one
//! transaction with its history entry and lookup entries) and the stream brings it here
//! through the same mapping as the deactivation cascade (a second filter pattern). Every other
//! record of the customer is rewritten a page at a time by the domain's declaration of what is
//! personal (`domain::erasure`, applied by `store::CustomerStore::erase_page`): sites'
//! addresses and contacts, notes' texts, work orders' descriptions, jobs' and tickets' notes,
//! the numbers and bodies of texts (and the per-number SMS counters), history entries' before
//! and after values, assignments' customer name, idempotency records of requests about it.
//! First, in the stream record's invocation, the rows of the organisation's imports that
//! mention the card's personal values (error-report chunks, reports and uploaded files in the
//! bucket, every version). A history entry names the erasure of the records (no values). Long
//! partitions continue through the cascade queue.
//!
//! Idempotent: a page already erased writes nothing, so a redelivered record or continuation
//! changes nothing.

use std::time::Instant;

use chrono::Utc;
use domain::{ChangeKind, CustomerId, FieldChange, HistoryEntry};
use kit::objects::{Bucket, Get, ObjectError, ObjectVersion};
use serde::{Deserialize, Serialize};
use store::stream::{Change, Changed};
use store::{ErasureError, TenantId};

use crate::{App, CascadeFailure, HANDOVER_TIME, PAGE_ATTEMPTS};

/// Who the history names for what the background erasure changes.
pub const ERASURE_ACTOR: &str = "erasure:background";

/// Items read per page: each text may add three counter deletes to the page's transaction, so
/// a page stays within DynamoDB's 100 items per transaction.
const ERASE_PAGE_SIZE: i32 = 24;

/// One customer's erasure, from `cursor` on (the next page of its partition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Erasure {
    pub tenant: String,
    pub customer_id: String,
    pub cursor: Option<String>,
    /// The card's personal values as they were (from the stream record's old image), to find
    /// its rows in import reports and files. Never queued: the imports are erased in the
    /// stream record's own invocation, before the first page.
    #[serde(skip)]
    pub values: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErasureMessage {
    continue_erasure: Erasure,
}

/// The erasure a stream record asks for: a card whose new image is erased and whose old image
/// was not. `None` for every other change.
pub fn of_change(change: &Change) -> Option<Erasure> {
    let Changed::Customer(images) = &change.item else {
        return None;
    };
    let newly_erased = images.new.as_ref().is_some_and(|c| c.is_erased())
        && !images.old.as_ref().is_some_and(|c| c.is_erased());
    newly_erased.then(|| Erasure {
        tenant: change.tenant.as_str().to_owned(),
        customer_id: change.customer.0.clone(),
        cursor: None,
        values: images
            .old
            .as_ref()
            .map(|old| domain::erasure::personal_values(&old.fields))
            .unwrap_or_default(),
    })
}

/// The erasure a continuation message carries, if it is one.
pub fn of_message(body: &str) -> Option<Erasure> {
    serde_json::from_str::<ErasureMessage>(body)
        .ok()
        .map(|m| m.continue_erasure)
}

pub fn continuation_body(erasure: &Erasure) -> String {
    serde_json::to_string(&ErasureMessage {
        continue_erasure: erasure.clone(),
    })
    .expect("an erasure serialises")
}

/// Erases the customer's partition page by page from where `erasure` says, handing the rest
/// to the queue when the invocation's time is nearly spent.
pub async fn erase(app: &App, erasure: &Erasure, deadline: Instant) -> Result<(), CascadeFailure> {
    let tenant = TenantId::parse(&erasure.tenant)
        .ok_or_else(|| CascadeFailure::Retry("an erasure without a valid tenant".into()))?;
    let customer = CustomerId(erasure.customer_id.clone());
    let mut cursor = erasure.cursor.clone();
    let mut changed = 0;
    if cursor.is_none() && !erasure.values.is_empty() {
        changed += erase_imports(app, &tenant, &erasure.values).await?;
    }
    loop {
        if Instant::now() + HANDOVER_TIME >= deadline {
            return hand_over(app, erasure, cursor).await;
        }
        let page = erase_page(app, &tenant, &customer, cursor.as_deref()).await?;
        changed += page.changed;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if changed > 0 {
        record(app, &tenant, &customer, changed).await?;
    }
    tracing::info!(customer = %customer, changed, "erasure complete");
    Ok(())
}

async fn erase_page(
    app: &App,
    tenant: &TenantId,
    customer: &CustomerId,
    cursor: Option<&str>,
) -> Result<store::ErasedPage, CascadeFailure> {
    for _ in 0..PAGE_ATTEMPTS {
        match app
            .store
            .erase_page(tenant, customer, ERASE_PAGE_SIZE, cursor)
            .await
        {
            Ok(page) => return Ok(page),
            // Something on the page changed meanwhile (the cascade closed it): read it again.
            Err(ErasureError::Changed) => continue,
            Err(ErasureError::Store(e)) => return Err(e.into()),
        }
    }
    Err(CascadeFailure::Retry(
        "the customer's records kept changing during the erasure".into(),
    ))
}

/// The rows of the organisation's imports that mention the customer: removed from the error
/// reports' chunks in the table and from the reports in the bucket (a new version without
/// them, every version with them deleted), and every version of an uploaded file holding one
/// deleted (the customers are in the table; a file is a working copy, see the bucket's
/// lifecycle rules). Answers how many rows and objects went.
async fn erase_imports(
    app: &App,
    tenant: &TenantId,
    values: &[String],
) -> Result<usize, CascadeFailure> {
    let mut erased = app.store.erase_import_rows(tenant, values).await?;
    let Some(bucket) = &app.bucket else {
        return Ok(erased);
    };
    for prefix in ["reports", "imports"] {
        let prefix = format!("{prefix}/{}/", tenant.as_str());
        for version in object_versions(bucket, &prefix).await? {
            erased += erase_object_version(bucket, &prefix, &version, values).await?;
        }
    }
    Ok(erased)
}

/// Every stored version under `prefix`, page after page.
async fn object_versions(
    bucket: &Bucket,
    prefix: &str,
) -> Result<Vec<ObjectVersion>, CascadeFailure> {
    let mut versions = Vec::new();
    let mut after = None;
    loop {
        let page = bucket
            .list_versions(prefix, after.as_ref())
            .await
            .map_err(|e| CascadeFailure::Retry(format!("listing {prefix}: {e}")))?;
        versions.extend(page.versions);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(versions),
        }
    }
}

/// Erases the customer's rows from one object version, if it has any: a report's current
/// version is replaced by one without them; the version itself is deleted.
async fn erase_object_version(
    bucket: &Bucket,
    prefix: &str,
    version: &ObjectVersion,
    values: &[String],
) -> Result<usize, CascadeFailure> {
    let failed = |what: &str, e: ObjectError| {
        CascadeFailure::Retry(format!(
            "{what} {} ({}): {e}",
            version.key, version.version_id
        ))
    };
    let get = Get {
        version_id: Some(&version.version_id),
        ..Get::default()
    };
    let bytes = bucket
        .get(&version.key, get)
        .await
        .map_err(|e| failed("reading", e))?
        .bytes()
        .await
        .map_err(|e| failed("reading", e))?;
    // Files in another encoding are read as UTF-8 with replacement characters: ASCII names,
    // e-mails and phone digits are still found (see docs/api.md).
    let text = String::from_utf8_lossy(&bytes);
    let Some((kept, _)) = domain::erasure::without_mentions(&text, values) else {
        return Ok(0);
    };
    if version.latest && prefix.starts_with("reports/") {
        bucket
            .put(
                &version.key,
                "text/csv; charset=utf-8",
                kept.into_bytes().into(),
            )
            .await
            .map_err(|e| failed("rewriting", e))?;
    }
    bucket
        .delete_version(&version.key, &version.version_id)
        .await
        .map_err(|e| failed("deleting", e))?;
    Ok(1)
}

/// The history entry that says the records were erased: by whom (the background erasure),
/// when, how many; no values.
async fn record(
    app: &App,
    tenant: &TenantId,
    customer: &CustomerId,
    changed: usize,
) -> Result<(), CascadeFailure> {
    let card = app
        .store
        .get(tenant, customer)
        .await?
        .ok_or_else(|| CascadeFailure::Retry("the erased card is gone".into()))?;
    let entry = HistoryEntry {
        id: ulid::Ulid::new().to_string(),
        at: Utc::now(),
        by: ERASURE_ACTOR.to_owned(),
        kind: ChangeKind::RecordsErased,
        version: card.version,
        changes: vec![FieldChange {
            field: "/records".into(),
            before: None,
            after: Some(serde_json::json!({ "erased": changed })),
        }],
    };
    app.store.add_history(tenant, customer, &entry).await?;
    Ok(())
}

async fn hand_over(
    app: &App,
    erasure: &Erasure,
    cursor: Option<String>,
) -> Result<(), CascadeFailure> {
    let rest = Erasure {
        cursor,
        ..erasure.clone()
    };
    app.queue
        .send(&continuation_body(&rest))
        .await
        .map_err(|e| CascadeFailure::Retry(format!("queueing the erasure's continuation: {e}")))?;
    tracing::info!(customer = %erasure.customer_id, "erasure continues in a new invocation");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_continuation_round_trips_and_is_no_cascade_continuation() {
        let erasure = Erasure {
            tenant: "acme".into(),
            customer_id: "01J".into(),
            cursor: Some("abc".into()),
            values: Vec::new(),
        };
        let body = continuation_body(&erasure);
        assert_eq!(of_message(&body), Some(erasure));
        assert_eq!(of_message(r#"{"continueCascade": {}}"#), None);
    }
}
