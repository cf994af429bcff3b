//! The imports bucket, as far as the API touches it: presigned uploads and downloads. The
//! function never reads or writes an object itself. A presigned request acts with the
//! function's own permissions (PutObject on `imports/*`, GetObject on `reports/*`, see
//! infra/template.yaml), for exactly one key, for [`URL_VALIDITY`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use chrono::{DateTime, Utc};
use kit::Problem;
use serde::Serialize;
use store::TenantId;

use crate::upload_policy::{self, Signer, UploadPolicy};

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

/// A presigned POST: send `multipart/form-data` to `url` with every one of `fields` and then
/// the file as the last part, named `file`. S3 refuses a file of more than `max_bytes` (or
/// none), another key, or a changed field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedPost {
    pub url: String,
    pub method: String,
    pub fields: BTreeMap<String, String>,
    pub max_bytes: u64,
    pub expires_at: DateTime<Utc>,
}

pub struct ImportsBucket {
    client: aws_sdk_s3::Client,
    /// The function's credentials, which sign upload policies as they sign every request.
    credentials: SharedCredentialsProvider,
    name: String,
}

impl ImportsBucket {
    pub fn new(
        client: aws_sdk_s3::Client,
        credentials: SharedCredentialsProvider,
        name: impl Into<String>,
    ) -> Self {
        Self {
            client,
            credentials,
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

    /// A form to POST the file of `key` with: at most `max_bytes` bytes (and at least one),
    /// to exactly that key, for [`URL_VALIDITY`]. A presigned PUT would take any size.
    pub async fn upload_form(
        &self,
        key: &str,
        max_bytes: u64,
        now: DateTime<Utc>,
    ) -> Result<PresignedPost, Problem> {
        let (config, start, expires_at) = presigning(now)?;
        let url = self.bucket_url(key, config).await?;
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(presign_failed)?;
        let region = self
            .client
            .config()
            .region()
            .map(|r| r.as_ref())
            .ok_or_else(|| {
                tracing::error!("the S3 client has no region");
                Problem::internal()
            })?;
        let policy = UploadPolicy {
            bucket: &self.name,
            key,
            max_bytes,
            expires_at,
        };
        let signer = Signer {
            access_key_id: credentials.access_key_id(),
            secret_access_key: credentials.secret_access_key(),
            session_token: credentials.session_token(),
            region,
        };
        Ok(PresignedPost {
            url,
            method: "POST".to_owned(),
            fields: upload_policy::signed_fields(&policy, &signer, start),
            max_bytes,
            expires_at,
        })
    }

    /// The bucket's own URL, where a POST upload goes, as the SDK resolves it (the endpoint,
    /// path-style addressing): a presigned PUT of `key` without the key and the query.
    async fn bucket_url(&self, key: &str, config: PresigningConfig) -> Result<String, Problem> {
        let request = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .presigned(config)
            .await
            .map_err(presign_failed)?;
        let uri = request.uri();
        let path = uri.split_once('?').map_or(uri, |(path, _)| path);
        path.strip_suffix(key)
            .map(|url| url.trim_end_matches('/').to_owned())
            .ok_or_else(|| {
                tracing::error!(uri = path, "a presigned URL that does not end in its key");
                Problem::internal()
            })
    }

    /// A URL to GET an error report, which downloads as `file_name` (CSV).
    pub async fn download_url(
        &self,
        key: &str,
        file_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Presigned, Problem> {
        let (config, _, expires_at) = presigning(now)?;
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

/// Signed from `now` to the second (SigV4 dates have no fractions), so `expiresAt` is exact:
/// the configuration, that start and the end.
fn presigning(
    now: DateTime<Utc>,
) -> Result<(PresigningConfig, DateTime<Utc>, DateTime<Utc>), Problem> {
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
    Ok((config, start, start + validity))
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
        let credentials =
            Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-north-1"))
            .credentials_provider(credentials.clone())
            .endpoint_url("http://127.0.0.1:4566")
            .force_path_style(true)
            .build();
        ImportsBucket::new(
            aws_sdk_s3::Client::from_conf(config),
            SharedCredentialsProvider::new(credentials),
            "imports-bucket",
        )
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
    async fn an_upload_form_posts_to_the_bucket_for_one_key_and_fifteen_minutes() {
        let tenant = TenantId::parse("acme").unwrap();
        let key = ImportsBucket::upload_key(&tenant, "01J8ZQ4N6X3M2S7K9V5T1B0C8D");
        assert_eq!(key, "imports/acme/01J8ZQ4N6X3M2S7K9V5T1B0C8D.csv");
        let now = DateTime::parse_from_rfc3339("2025-03-04T09:15:02.750Z")
            .unwrap()
            .with_timezone(&Utc);
        let upload = bucket().upload_form(&key, 1000, now).await.unwrap();
        assert_eq!(upload.url, "http://127.0.0.1:4566/imports-bucket");
        assert_eq!(upload.method, "POST");
        assert_eq!(upload.max_bytes, 1000);
        assert_eq!(upload.fields["key"], key);
        assert_eq!(upload.fields["x-amz-date"], "20250304T091502Z");
        assert_eq!(
            upload.fields["x-amz-credential"],
            "AKIDEXAMPLE/20250304/eu-north-1/s3/aws4_request"
        );
        assert_eq!(upload.fields["x-amz-security-token"], "token");
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
