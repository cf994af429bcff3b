//! The imports bucket, as far as the API touches it: presigned URLs. The function never reads
//! or writes an object itself. A presigned URL acts with the function's own permissions
//! (PutObject on `imports/*`, GetObject on `reports/*`, see infra/template.yaml), for exactly
//! one key and one method, for [`URL_VALIDITY`].

use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use chrono::{DateTime, Utc};
use kit::Problem;
use serde::Serialize;
use store::TenantId;

/// How long a presigned URL works: long enough to pick a file and upload it (or to start a
/// download), short enough that a URL that leaks is soon worthless.
pub const URL_VALIDITY: Duration = Duration::from_secs(15 * 60);

/// A presigned URL and the moment it stops working.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Presigned {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

pub struct ImportsBucket {
    client: aws_sdk_s3::Client,
    name: String,
}

impl ImportsBucket {
    pub fn new(client: aws_sdk_s3::Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    /// Where the file of an import requested through the API goes. Only the tenant id
    /// (`[A-Za-z0-9_-]`) and the import id (a ULID) shape it, never a client's file name.
    pub fn upload_key(tenant: &TenantId, import_id: &str) -> String {
        format!("imports/{tenant}/{import_id}.csv")
    }

    /// Where the import function writes the error reports of a tenant's imports.
    pub fn reports_prefix(tenant: &TenantId) -> String {
        format!("reports/{tenant}/")
    }

    /// A URL to PUT the file to. No content type (or any other header) is signed, so any
    /// client can upload with whatever type it sends; only the host is.
    pub async fn upload_url(&self, key: &str, now: DateTime<Utc>) -> Result<Presigned, Problem> {
        let (config, expires_at) = presigning(now)?;
        let request = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .presigned(config)
            .await
            .map_err(presign_failed)?;
        Ok(presigned(request, expires_at))
    }

    /// A URL to GET an error report, which downloads as `file_name` (CSV).
    pub async fn download_url(
        &self,
        key: &str,
        file_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Presigned, Problem> {
        let (config, expires_at) = presigning(now)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .response_content_type("text/csv; charset=utf-8")
            .response_content_disposition(format!("attachment; filename=\"{file_name}\""))
            .presigned(config)
            .await
            .map_err(presign_failed)?;
        Ok(presigned(request, expires_at))
    }
}

/// Signed from `now` to the second (SigV4 dates have no fractions), so `expiresAt` is exact.
fn presigning(now: DateTime<Utc>) -> Result<(PresigningConfig, DateTime<Utc>), Problem> {
    let start = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let config = PresigningConfig::builder()
        .start_time(SystemTime::from(start))
        .expires_in(URL_VALIDITY)
        .build()
        .map_err(|error| {
            tracing::error!(%error, "presigning configuration");
            Problem::internal()
        })?;
    let validity = chrono::Duration::from_std(URL_VALIDITY).expect("15 minutes fit");
    Ok((config, start + validity))
}

fn presigned(request: PresignedRequest, expires_at: DateTime<Utc>) -> Presigned {
    Presigned {
        url: request.uri().to_owned(),
        expires_at,
    }
}

/// Presigning makes no request; it fails only when the credentials cannot be had, which is
/// worth a retry.
fn presign_failed(error: impl std::error::Error) -> Problem {
    tracing::warn!(error = %aws_sdk_s3::error::DisplayErrorContext(&error), "presigning failed");
    Problem::unavailable()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

    fn bucket() -> ImportsBucket {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-north-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .endpoint_url("http://127.0.0.1:4566")
            .force_path_style(true)
            .build();
        ImportsBucket::new(aws_sdk_s3::Client::from_conf(config), "imports-bucket")
    }

    fn query(url: &str, name: &str) -> Option<String> {
        let (_, query) = url.split_once('?')?;
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_owned())
    }

    #[tokio::test]
    async fn an_upload_url_signs_only_the_host_for_one_key_and_fifteen_minutes() {
        let tenant = TenantId::parse("acme").unwrap();
        let key = ImportsBucket::upload_key(&tenant, "01J8ZQ4N6X3M2S7K9V5T1B0C8D");
        assert_eq!(key, "imports/acme/01J8ZQ4N6X3M2S7K9V5T1B0C8D.csv");
        let now = DateTime::parse_from_rfc3339("2025-03-04T09:15:02.750Z")
            .unwrap()
            .with_timezone(&Utc);
        let upload = bucket().upload_url(&key, now).await.unwrap();
        assert!(
            upload.url.starts_with(
                "http://127.0.0.1:4566/imports-bucket/imports/acme/01J8ZQ4N6X3M2S7K9V5T1B0C8D.csv?"
            ),
            "{}",
            upload.url
        );
        assert_eq!(query(&upload.url, "X-Amz-Expires").as_deref(), Some("900"));
        assert_eq!(
            query(&upload.url, "X-Amz-Date").as_deref(),
            Some("20250304T091502Z")
        );
        assert_eq!(
            query(&upload.url, "X-Amz-SignedHeaders").as_deref(),
            Some("host"),
            "no content type or checksum to match: {}",
            upload.url
        );
        assert!(!upload.url.to_ascii_lowercase().contains("checksum"));
        assert_eq!(upload.expires_at.to_rfc3339(), "2025-03-04T09:30:02+00:00");
    }

    #[tokio::test]
    async fn a_download_url_names_the_file() {
        let url = bucket()
            .download_url("reports/acme/01J.csv", "import-01J-errors.csv", Utc::now())
            .await
            .unwrap()
            .url;
        assert!(
            url.contains("/imports-bucket/reports/acme/01J.csv?"),
            "{url}"
        );
        assert!(
            url.contains("response-content-disposition=attachment"),
            "{url}"
        );
        assert_eq!(query(&url, "X-Amz-SignedHeaders").as_deref(), Some("host"));
    }
}
