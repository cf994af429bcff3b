//! The imports bucket, as far as the API touches it: presigned uploads and downloads. The
//! function never reads or writes an object itself. A presigned request acts with the
//! function's own permissions (PutObject on `imports/*`, GetObject on `reports/*`, see
//! infra/template.yaml), for exactly one key, for [`URL_VALIDITY`].

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kit::Problem;
use kit::objects::{Bucket, presign_get, uri_encode};
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

/// The bucket, presigned for with SigV4 directly rather than through an S3 client: the API
/// never calls S3 itself, and the S3 client (its endpoint rules, checksums and operations) was
/// a third of the API's binary and a client to build at every cold start. The function's
/// credentials sign URLs and upload policies as they sign every request (`kit::objects`
/// keeps the bucket's URL, region and credentials).
pub struct ImportsBucket(Bucket);

impl ImportsBucket {
    /// The imports bucket, as `kit::objects` reaches and signs for it.
    pub fn new(bucket: Bucket) -> Self {
        Self(bucket)
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
        let (start, expires_at) = validity(now);
        let credentials = self.0.credentials().await.map_err(presign_failed)?;
        let policy = UploadPolicy {
            bucket: self.0.name(),
            key,
            max_bytes,
            expires_at,
        };
        let signer = Signer {
            access_key_id: credentials.access_key_id(),
            secret_access_key: credentials.secret_access_key(),
            session_token: credentials.session_token(),
            region: self.0.region(),
        };
        Ok(PresignedPost {
            url: self.0.url().to_owned(),
            method: "POST".to_owned(),
            fields: upload_policy::signed_fields(&policy, &signer, start),
            max_bytes,
            expires_at,
        })
    }

    /// A URL to GET an error report, which downloads as `file_name` (CSV).
    pub async fn download_url(
        &self,
        key: &str,
        file_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Presigned, Problem> {
        let (start, expires_at) = validity(now);
        let credentials = self.0.credentials().await.map_err(presign_failed)?;
        // S3 answers with these headers in place of the stored ones.
        let unsigned = format!(
            "{}/{}?response-content-disposition={}&response-content-type={}",
            self.0.url(),
            key.split('/').map(uri_encode).collect::<Vec<_>>().join("/"),
            uri_encode(&format!("attachment; filename=\"{file_name}\"")),
            uri_encode("text/csv; charset=utf-8"),
        );
        let url = presign_get(
            &unsigned,
            &credentials,
            self.0.region(),
            start.into(),
            URL_VALIDITY,
        )
        .map_err(|error| {
            tracing::error!(%error, "presigning a download");
            Problem::internal()
        })?;
        Ok(Presigned { url, expires_at })
    }
}

/// Signed from `now` to the second (SigV4 dates have no fractions), so `expiresAt` is exact:
/// that start and the end.
fn validity(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let validity = chrono::Duration::from_std(URL_VALIDITY).expect("15 minutes fit");
    (start, start + validity)
}

/// Presigning makes no request; it fails only when the credentials cannot be had, which is
/// worth a retry.
fn presign_failed(error: impl std::error::Error) -> Problem {
    tracing::warn!(%error, "presigning failed");
    Problem::unavailable()
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};

    use super::*;

    fn bucket() -> ImportsBucket {
        let credentials =
            Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
        ImportsBucket::new(Bucket::at(
            "eu-north-1",
            Some("http://127.0.0.1:4566"),
            SharedCredentialsProvider::new(credentials),
            "imports-bucket",
        ))
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

    /// AWS's own example of a presigned GET (S3 API reference, "Authenticating Requests:
    /// Using Query Parameters"): the same URL, key, date and validity give its signature.
    #[test]
    fn a_presigned_get_matches_the_documented_example() {
        let credentials = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "example",
        );
        let start = DateTime::parse_from_rfc3339("2013-05-24T00:00:00Z").unwrap();
        let url = presign_get(
            "https://examplebucket.s3.amazonaws.com/test.txt",
            &credentials,
            "us-east-1",
            SystemTime::from(start),
            Duration::from_secs(86400),
        )
        .unwrap();
        assert_eq!(
            url,
            "https://examplebucket.s3.amazonaws.com/test.txt\
             ?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z\
             &X-Amz-Expires=86400\
             &X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[tokio::test]
    async fn a_download_url_carries_the_session_token_and_the_encoded_file_name() {
        let now = DateTime::parse_from_rfc3339("2025-03-04T09:15:02.750Z")
            .unwrap()
            .with_timezone(&Utc);
        let download = bucket()
            .download_url("reports/acme/01J.csv", "import-01J-errors.csv", now)
            .await
            .unwrap();
        let url = download.url;
        assert!(
            url.starts_with("http://127.0.0.1:4566/imports-bucket/reports/acme/01J.csv?"),
            "{url}"
        );
        assert_eq!(
            query(&url, "response-content-disposition").as_deref(),
            Some("attachment%3B%20filename%3D%22import-01J-errors.csv%22")
        );
        assert_eq!(
            query(&url, "response-content-type").as_deref(),
            Some("text%2Fcsv%3B%20charset%3Dutf-8")
        );
        assert_eq!(
            query(&url, "X-Amz-Security-Token").as_deref(),
            Some("token")
        );
        assert_eq!(query(&url, "X-Amz-Expires").as_deref(), Some("900"));
        assert_eq!(
            query(&url, "X-Amz-Date").as_deref(),
            Some("20250304T091502Z")
        );
        assert_eq!(
            download.expires_at.to_rfc3339(),
            "2025-03-04T09:30:02+00:00"
        );
    }
}
