//! Customer exports in the single table: the export record (what was asked for, status,
//! rows written, where the file is), listed newest first like imports. The file itself is
//! written by the customers-import function to the imports bucket under `exports/<tenant>/`.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::customers::{Cancelled, Failed};
use crate::items::{self, Item};
use crate::keys::{self, GSI1PK, GSI1SK, TenantId};
use crate::{CustomerStore, IdempotencyRecord, ListQuery, Page, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExportStatus {
    /// Asked for; the message that writes it is on the imports queue.
    Queued,
    Running,
    /// The file is written (`rows` customers).
    Completed,
    /// The file could not be written (`failure` says why).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRecord {
    /// A ULID: exports list newest first.
    pub id: String,
    pub status: ExportStatus,
    /// The list's query parameters as the caller gave them, shown back.
    #[serde(default)]
    pub filters: BTreeMap<String, String>,
    /// The same filters as the list reads them (validated by the API).
    pub query: ListQuery,
    /// Whose assigned customers only: the caller's `assignedTo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Customers written to the file.
    #[serde(default)]
    pub rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// The file's key in the imports bucket (written when completed).
    pub object_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub version: u64,
}

impl CustomerStore {
    /// Records a new export, with the request's idempotency record if it sent a key
    /// (`StoreError::IdempotencyKeyUsed` when the key was used before).
    pub async fn put_export(
        &self,
        tenant: &TenantId,
        record: &ExportRecord,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        self.transact_idempotent(
            tenant,
            vec![self.put_new(export_item(tenant, record))],
            idempotency,
        )
        .await
    }

    pub async fn export(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<ExportRecord>, StoreError> {
        let item = self.get_item(keys::export(tenant, id)).await?;
        item.map(|item| from_item(item).map_err(StoreError::Corrupt))
            .transpose()
    }

    /// The tenant's exports, newest first: one Query of GSI1.
    pub async fn exports(
        &self,
        tenant: &TenantId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<ExportRecord>, StoreError> {
        self.newest_first(keys::exports_of(tenant), limit, cursor)
            .await
    }

    /// Saves the record if it is still at `expected_version` (status changes, the end).
    pub async fn save_export(
        &self,
        tenant: &TenantId,
        record: &ExportRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        match self
            .transact(
                vec![self.put_if_version(export_item(tenant, record), expected_version)],
                None,
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(Cancelled(_)) => Err(StoreError::VersionConflict),
            Err(Failed(e)) => Err(e),
        }
    }
}

fn export_item(tenant: &TenantId, record: &ExportRecord) -> Item {
    let mut item: Item = to_item(record).expect("an export record always serialises");
    item.extend(items::keyed(keys::export(tenant, &record.id), "Export"));
    item.insert(GSI1PK.into(), AttributeValue::S(keys::exports_of(tenant)));
    item.insert(GSI1SK.into(), AttributeValue::S(record.id.clone()));
    item
}

/// Where an export's file goes in the imports bucket: under the tenant's own prefix, named by
/// the export id only. Outside `imports/`, so writing it starts no import.
pub fn export_object_key(tenant: &TenantId, export_id: &str) -> String {
    format!("{}{export_id}.csv", exports_prefix(tenant))
}

/// The prefix of every export file of `tenant`.
pub fn exports_prefix(tenant: &TenantId) -> String {
    format!("exports/{tenant}/")
}

/// The message on the imports queue that has the import function write an export: its own
/// kind, `{"exportCustomers": {"tenant", "exportId"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportJob {
    pub tenant: String,
    pub export_id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExportMessage {
    export_customers: ExportJob,
}

impl ExportJob {
    pub fn body(&self) -> String {
        serde_json::to_string(&ExportMessage {
            export_customers: self.clone(),
        })
        .expect("an export job serialises")
    }

    /// The job of a message body, if it is one.
    pub fn of_body(body: &str) -> Option<ExportJob> {
        serde_json::from_str::<ExportMessage>(body)
            .ok()
            .map(|m| m.export_customers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_reads_back_from_its_body_and_nothing_else_reads_as_one() {
        let job = ExportJob {
            tenant: "acme".into(),
            export_id: "01J".into(),
        };
        assert_eq!(ExportJob::of_body(&job.body()), Some(job));
        assert_eq!(ExportJob::of_body(r#"{"continueImport":{}}"#), None);
        assert_eq!(ExportJob::of_body("not json"), None);
    }

    #[test]
    fn files_go_under_the_tenants_exports_prefix() {
        let tenant = TenantId::parse("acme").unwrap();
        assert_eq!(export_object_key(&tenant, "01J"), "exports/acme/01J.csv");
        assert!(export_object_key(&tenant, "01J").starts_with(&exports_prefix(&tenant)));
    }
}
