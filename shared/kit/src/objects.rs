//! The imports bucket through S3's REST API: SigV4-signed HTTP requests over the same HTTP
//! client as every AWS call (rustls on ring, Amazon's roots; see [`crate::http`]).
//!
//! Not the S3 SDK: the functions make five calls (get, put, delete an object, list a prefix's
//! versions, and the API's presigning), and the SDK brought its endpoint rules, checksum
//! algorithms and S3 Express sessions with them, about three of the nine megabytes of each
//! binary that linked it. Addressing is path-style (`<endpoint>/<bucket>/<key>`), which S3
//! accepts and a local emulator needs.

use std::io;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use bytes::Bytes;
use http::{Method, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::io::AsyncReadExt;
use tokio_util::io::StreamReader;

pub use crate::signed::uri_encode;
use crate::signed::{self, Call, NoAnswer, Service, with_retries};
use crate::sigv4::{self, Flavour, SignError, Signer};
use crate::xml::{element, elements, unescape};

/// Attempts per call: the first and two more for a dropped connection, a timeout or S3's
/// 500/503 (SlowDown), as the SDK's standard retry mode made.
const ATTEMPTS: u32 = 3;
/// From sending a request to its answer's headers, plus [`UPLOAD_TIME_PER_MB`] per megabyte
/// sent: a large export file must not time out on its way up.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
const UPLOAD_TIME_PER_MB: Duration = Duration::from_secs(1);
/// How long an object's body may send nothing before its read fails, as the SDK's
/// stalled-stream protection allowed.
const STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// One bucket: its URL, the region and credentials that sign for it, and a connection pool
/// (`kit::http`'s).
#[derive(Clone)]
pub struct Bucket {
    name: String,
    /// `<endpoint>/<bucket>`, see [`bucket_url`].
    url: String,
    /// S3 in the bucket's region. Its connections are opened at the first call: the API,
    /// which only presigns, never opens one.
    s3: Service,
}

/// What a GetObject asks beyond the key.
#[derive(Debug, Default, Clone, Copy)]
pub struct Get<'a> {
    /// A version other than the current one.
    pub version_id: Option<&'a str>,
    /// Only if the object still has this ETag (unquoted): S3 answers `PreconditionFailed`.
    pub if_match: Option<&'a str>,
    /// From this byte on (`Range: bytes=<from>-`); past the end S3 answers `InvalidRange`.
    pub from: u64,
}

/// An object's answer: its size and its body, still to be read.
pub struct Object {
    /// The whole object's size: the end of `Content-Range` for a ranged read, else
    /// `Content-Length`.
    pub size: Option<u64>,
    body: Incoming,
}

impl Object {
    /// The body as a byte stream that fails (`TimedOut`) when S3 sends nothing for
    /// [`STALL_TIMEOUT`]: a stalled connection ends the read instead of the invocation's time.
    pub fn into_async_read(self) -> impl tokio::io::AsyncRead + Send + Unpin + 'static {
        let chunks = futures::stream::unfold(Some(self.body), |body| async move {
            let mut body = body?;
            loop {
                match tokio::time::timeout(STALL_TIMEOUT, body.frame()).await {
                    Ok(None) => return None,
                    Ok(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            return Some((Ok(data), Some(body)));
                        }
                    }
                    Ok(Some(Err(error))) => return Some((Err(io::Error::other(error)), None)),
                    Err(_) => {
                        let stalled = io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("S3 sent nothing for {STALL_TIMEOUT:?}"),
                        );
                        return Some((Err(stalled), None));
                    }
                }
            }
        });
        StreamReader::new(Box::pin(chunks))
    }

    /// The whole body.
    pub async fn bytes(self) -> Result<Vec<u8>, ObjectError> {
        let mut bytes = Vec::with_capacity(self.size.map_or(0, |n| n.min(1 << 24) as usize));
        self.into_async_read()
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| ObjectError::Failed(format!("reading the object: {e}")))?;
        Ok(bytes)
    }
}

/// One version of an object, as ListObjectVersions names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    pub key: String,
    pub version_id: String,
    pub latest: bool,
}

/// A page of ListObjectVersions; `next` is where the following page starts, if there is one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct VersionsPage {
    pub versions: Vec<ObjectVersion>,
    pub next: Option<VersionMarker>,
}

/// Where a listing of versions continues: after this key's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionMarker {
    pub key: String,
    pub version_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// S3 answered with an error: its status and its code (`NoSuchKey`, `PreconditionFailed`,
    /// `InvalidRange`, `AccessDenied`, ...).
    #[error("S3 answered {status} {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer: the connection failed or timed out (after every attempt), or the request
    /// could not be signed.
    #[error("S3 request failed: {0}")]
    Failed(String),
}

impl ObjectError {
    /// S3's error code, when it answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            Self::Failed(_) => None,
        }
    }

    fn is_transient(&self) -> bool {
        match self {
            Self::Refused { status, code, .. } => {
                *status >= 500 || matches!(code.as_str(), "SlowDown" | "RequestTimeout")
            }
            Self::Failed(_) => true,
        }
    }
}

impl Bucket {
    /// The bucket `name`, in `config`'s region, with its credentials and endpoint
    /// (`AWS_ENDPOINT_URL` locally, else S3's regional endpoint).
    pub fn new(config: &SdkConfig, name: impl Into<String>) -> Self {
        let s3 = Service::from_config(config, "s3", Flavour::S3);
        Self::of(s3, config.endpoint_url(), name)
    }

    /// The bucket `name` of `region`, signed for with `credentials`, reached at `endpoint`
    /// when one is set, else at S3's regional endpoint.
    pub fn at(
        region: impl Into<String>,
        endpoint: Option<&str>,
        credentials: SharedCredentialsProvider,
        name: impl Into<String>,
    ) -> Self {
        let s3 = Service::new("s3", region, credentials, Flavour::S3);
        Self::of(s3, endpoint, name)
    }

    fn of(s3: Service, endpoint: Option<&str>, name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            url: bucket_url(endpoint, s3.region(), &name),
            name,
            s3,
        }
    }

    /// The same bucket reached at another endpoint (a test's faulty link).
    pub fn at_endpoint(mut self, endpoint: &str) -> Self {
        self.url = bucket_url(Some(endpoint), self.s3.region(), &self.name);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn region(&self) -> &str {
        self.s3.region()
    }

    /// `<endpoint>/<bucket>`: what presigned requests are addressed to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The credentials every request is signed with.
    pub async fn credentials(&self) -> Result<Credentials, ObjectError> {
        self.s3.credentials().await.map_err(ObjectError::from)
    }

    /// GetObject: the answer's headers have come; the body is read by the caller.
    pub async fn get(&self, key: &str, get: Get<'_>) -> Result<Object, ObjectError> {
        let query = get
            .version_id
            .map(|v| format!("versionId={}", uri_encode(v)));
        let mut headers = Vec::new();
        if let Some(etag) = get.if_match {
            headers.push((header::IF_MATCH, format!("\"{etag}\"")));
        }
        if get.from > 0 {
            headers.push((header::RANGE, format!("bytes={}-", get.from)));
        }
        let call = Call {
            method: Method::GET,
            url: self.object_url(key, query.as_deref()),
            headers,
            body: Bytes::new(),
        };
        let answer = self.send(&call).await?;
        let size = object_size(answer.headers());
        Ok(Object {
            size,
            body: answer.into_body(),
        })
    }

    /// PutObject of `body` with `content_type`, as the current version of `key`; answers the
    /// new version's ETag (unquoted).
    pub async fn put(
        &self,
        key: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<Option<String>, ObjectError> {
        let call = Call {
            method: Method::PUT,
            url: self.object_url(key, None),
            headers: vec![(header::CONTENT_TYPE, content_type.to_owned())],
            body,
        };
        let answer = self.send(&call).await?;
        let etag = answer.headers().get(header::ETAG);
        Ok(etag
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_matches('"').to_owned()))
    }

    /// DeleteObject of one version of `key` (a versioned bucket keeps the others).
    pub async fn delete_version(&self, key: &str, version_id: &str) -> Result<(), ObjectError> {
        let query = format!("versionId={}", uri_encode(version_id));
        let call = Call {
            method: Method::DELETE,
            url: self.object_url(key, Some(&query)),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        self.send(&call).await.map(drop)
    }

    /// One page of ListObjectVersions under `prefix`, from `after` on (delete markers left
    /// out: they hold no bytes).
    pub async fn list_versions(
        &self,
        prefix: &str,
        after: Option<&VersionMarker>,
    ) -> Result<VersionsPage, ObjectError> {
        // Parameters in the order SigV4 sorts them, so the URL sent is the URL signed.
        let mut query = String::new();
        if let Some(marker) = after {
            query.push_str(&format!("key-marker={}&", uri_encode(&marker.key)));
        }
        query.push_str(&format!("prefix={}", uri_encode(prefix)));
        if let Some(marker) = after {
            query.push_str(&format!(
                "&version-id-marker={}",
                uri_encode(&marker.version_id)
            ));
        }
        query.push_str("&versions=");
        let call = Call {
            method: Method::GET,
            url: format!("{}?{query}", self.url),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        let answer = self.send(&call).await?;
        let xml = read_text(answer.into_body()).await?;
        Ok(versions_page(&xml))
    }

    fn object_url(&self, key: &str, query: Option<&str>) -> String {
        let path = key.split('/').map(uri_encode).collect::<Vec<_>>().join("/");
        match query {
            Some(query) => format!("{}/{path}?{query}", self.url),
            None => format!("{}/{path}", self.url),
        }
    }

    /// Sends `call`, signed afresh for each attempt, until an answer that is not a transient
    /// failure or the attempts are spent. A 2xx or 3xx answer comes back with its body unread;
    /// an error answer is read and turned into [`ObjectError::Refused`].
    async fn send(&self, call: &Call) -> Result<hyper::Response<Incoming>, ObjectError> {
        with_retries("S3 call", ATTEMPTS, ObjectError::is_transient, || {
            self.attempt(call)
        })
        .await
    }

    async fn attempt(&self, call: &Call) -> Result<hyper::Response<Incoming>, ObjectError> {
        let megabytes = u32::try_from(call.body.len() >> 20).unwrap_or(u32::MAX);
        let timeout = ANSWER_TIMEOUT + UPLOAD_TIME_PER_MB * megabytes;
        let answer = self.s3.attempt(call, timeout).await?;
        if answer.status().is_success() || answer.status().is_redirection() {
            return Ok(answer);
        }
        let status = answer.status();
        let text = read_text(answer.into_body()).await.unwrap_or_default();
        Err(refusal(status, &text))
    }
}

impl From<NoAnswer> for ObjectError {
    fn from(NoAnswer(reason): NoAnswer) -> Self {
        ObjectError::Failed(reason)
    }
}

/// `url` (already encoded) presigned for a GET by S3 in `region` from `start` for
/// `expires_in`: the payload unsigned, only `host` signed, the session token (if any) in the
/// signed query.
pub fn presign_get(
    url: &str,
    credentials: &Credentials,
    region: &str,
    start: SystemTime,
    expires_in: Duration,
) -> Result<String, PresignError> {
    let uri: http::Uri = url.parse()?;
    let request = sigv4::Request {
        method: "GET",
        uri: &uri,
        headers: &[],
        body: sigv4::Body::Unsigned,
    };
    let signer = Signer::new("s3", region, Flavour::S3);
    Ok(signer.presign(&request, credentials, start, expires_in)?)
}

#[derive(Debug, thiserror::Error)]
pub enum PresignError {
    #[error("not a URL: {0}")]
    Url(#[from] http::uri::InvalidUri),
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// The bucket's URL, path-style (`<endpoint>/<bucket>`): the configured endpoint, or S3's
/// regional one (`amazonaws.com.cn` in the China regions).
pub fn bucket_url(endpoint: Option<&str>, region: &str, bucket: &str) -> String {
    format!("{}/{bucket}", signed::service_url("s3", region, endpoint))
}

/// The whole object's size from a GetObject answer's headers: a ranged read's `Content-Range`
/// ends in it (`bytes 100-999/1000`), a whole read's `Content-Length` is it.
fn object_size(headers: &http::HeaderMap) -> Option<u64> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    match text(header::CONTENT_RANGE) {
        Some(range) => range
            .rsplit_once('/')
            .and_then(|(_, total)| total.parse().ok()),
        None => text(header::CONTENT_LENGTH).and_then(|n| n.parse().ok()),
    }
}

/// An error answer: S3's `<Error><Code>…</Code><Message>…</Message></Error>`, or the status
/// alone when there is no such body.
fn refusal(status: StatusCode, body: &str) -> ObjectError {
    let code = element(body, "Code").map(unescape).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("Error")
            .replace(' ', "")
    });
    ObjectError::Refused {
        status: status.as_u16(),
        code,
        message: element(body, "Message").map(unescape).unwrap_or_default(),
    }
}

/// A ListVersionsResult: each `<Version>`'s key, version and whether it is the current one,
/// and where the next page starts when `<IsTruncated>` is true.
fn versions_page(xml: &str) -> VersionsPage {
    let versions = elements(xml, "Version")
        .filter_map(|version| {
            Some(ObjectVersion {
                key: unescape(element(version, "Key")?),
                version_id: unescape(element(version, "VersionId")?),
                latest: element(version, "IsLatest") == Some("true"),
            })
        })
        .collect();
    // The page's own fields come before its first entry.
    let head = xml.split("<Version>").next().unwrap_or(xml);
    let head = head.split("<DeleteMarker>").next().unwrap_or(head);
    let next = (element(head, "IsTruncated") == Some("true"))
        .then(|| {
            Some(VersionMarker {
                key: unescape(element(head, "NextKeyMarker")?),
                version_id: unescape(element(head, "NextVersionIdMarker")?),
            })
        })
        .flatten();
    VersionsPage { versions, next }
}

async fn read_text(body: Incoming) -> Result<String, ObjectError> {
    let bytes = signed::read_body(body).await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::body::SdkBody;
    use http::Request;

    use super::*;

    #[test]
    fn a_page_of_versions_names_each_version_and_where_the_next_page_starts() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>imports/t/</Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker><NextKeyMarker>imports/t/b&amp;c.csv</NextKeyMarker><NextVersionIdMarker>v2</NextVersionIdMarker><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><Version><Key>imports/t/a.csv</Key><VersionId>v1</VersionId><IsLatest>true</IsLatest><ETag>&quot;x&quot;</ETag></Version><DeleteMarker><Key>imports/t/gone.csv</Key><VersionId>d1</VersionId><IsLatest>true</IsLatest></DeleteMarker><Version><Key>imports/t/b&amp;c.csv</Key><VersionId>v2</VersionId><IsLatest>false</IsLatest></Version></ListVersionsResult>"#;
        let page = versions_page(xml);
        assert_eq!(
            page.versions,
            [
                ObjectVersion {
                    key: "imports/t/a.csv".into(),
                    version_id: "v1".into(),
                    latest: true
                },
                ObjectVersion {
                    key: "imports/t/b&c.csv".into(),
                    version_id: "v2".into(),
                    latest: false
                },
            ]
        );
        assert_eq!(
            page.next,
            Some(VersionMarker {
                key: "imports/t/b&c.csv".into(),
                version_id: "v2".into()
            })
        );
    }

    #[test]
    fn the_last_page_has_no_next() {
        let xml = "<ListVersionsResult><IsTruncated>false</IsTruncated>\
                   <Version><Key>k</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>\
                   </Version></ListVersionsResult>";
        let page = versions_page(xml);
        assert_eq!(page.versions.len(), 1);
        assert_eq!(page.next, None);
        assert_eq!(
            versions_page("<ListVersionsResult/>"),
            VersionsPage::default()
        );
    }

    #[test]
    fn an_error_answer_gives_its_code_and_message() {
        let body = "<?xml version=\"1.0\"?><Error><Code>PreconditionFailed</Code>\
                    <Message>At least one of the pre-conditions you specified did not hold\
                    </Message><Condition>If-Match</Condition></Error>";
        let error = refusal(StatusCode::PRECONDITION_FAILED, body);
        assert_eq!(error.code(), Some("PreconditionFailed"));
        assert!(!error.is_transient());
        assert!(
            error
                .to_string()
                .starts_with("S3 answered 412 PreconditionFailed: At least")
        );
        let bare = refusal(StatusCode::SERVICE_UNAVAILABLE, "");
        assert_eq!(bare.code(), Some("ServiceUnavailable"));
        assert!(bare.is_transient());
        assert!(refusal(StatusCode::SERVICE_UNAVAILABLE, "<Code>SlowDown</Code>").is_transient());
        assert!(ObjectError::Failed("reset".into()).is_transient());
    }

    #[test]
    fn the_size_is_the_whole_objects_for_ranged_reads_too() {
        let mut headers = http::HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, "1000".parse().unwrap());
        assert_eq!(object_size(&headers), Some(1000));
        headers.insert(header::CONTENT_LENGTH, "900".parse().unwrap());
        headers.insert(header::CONTENT_RANGE, "bytes 100-999/1000".parse().unwrap());
        assert_eq!(object_size(&headers), Some(1000));
        headers.insert(header::CONTENT_RANGE, "bytes 100-999/*".parse().unwrap());
        assert_eq!(object_size(&headers), None);
    }

    #[test]
    fn keys_and_query_values_are_encoded_as_sigv4_encodes_them() {
        assert_eq!(uri_encode("a b/ü~-_."), "a%20b%2F%C3%BC~-_.");
    }

    #[test]
    fn the_bucket_is_addressed_path_style_at_the_endpoint_or_s3s_regional_one() {
        assert_eq!(
            bucket_url(Some("http://127.0.0.1:4566/"), "eu-north-1", "b"),
            "http://127.0.0.1:4566/b"
        );
        assert_eq!(
            bucket_url(None, "eu-north-1", "b"),
            "https://s3.eu-north-1.amazonaws.com/b"
        );
        assert_eq!(
            bucket_url(Some(" "), "cn-north-1", "b"),
            "https://s3.cn-north-1.amazonaws.com.cn/b"
        );
    }

    /// `call` signed with the key, region and time of AWS's SigV4 examples for S3.
    /// `call`, signed as in AWS's examples, carries `signature`.
    fn assert_signature(call: &Call, signature: &str) {
        let request = signed_as_in_awss_examples(call);
        let authorization = request.headers()["authorization"].to_str().unwrap();
        assert!(
            authorization.ends_with(&format!("Signature={signature}")),
            "{authorization}"
        );
    }

    fn signed_as_in_awss_examples(call: &Call) -> Request<SdkBody> {
        let credentials = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "example",
        );
        // Fri, 24 May 2013 00:00:00 GMT.
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        signed_by_s3_in("us-east-1", call, &credentials, time)
    }

    /// `call` signed as the bucket's requests are, for S3 in `region`.
    fn signed_by_s3_in(
        region: &str,
        call: &Call,
        credentials: &Credentials,
        time: SystemTime,
    ) -> Request<SdkBody> {
        let anyone = SharedCredentialsProvider::new(credentials.clone());
        let s3 = Service::new("s3", region, anyone, Flavour::S3);
        s3.signed(call, credentials, time).unwrap()
    }

    /// AWS's own example of a header-signed GetObject ("Signature Calculations for the
    /// Authorization Header", example "GET Object": a range of `test.txt`): the signature
    /// real S3 checks, which the local emulator does not.
    #[test]
    fn a_get_is_signed_as_awss_documented_example() {
        let call = Call {
            method: Method::GET,
            url: "https://examplebucket.s3.amazonaws.com/test.txt".into(),
            headers: vec![(header::RANGE, "bytes=0-9".into())],
            body: Bytes::new(),
        };
        let request = signed_as_in_awss_examples(&call);
        // The example writes no space after the commas; S3 takes either.
        assert_eq!(
            request.headers()["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(request.headers()["x-amz-date"], "20130524T000000Z");
    }

    /// The same page's "PUT Object" example: the body's hash signed, a key with a `$`.
    #[test]
    fn a_put_is_signed_as_awss_documented_example() {
        let call = Call {
            method: Method::PUT,
            url: format!(
                "https://examplebucket.s3.amazonaws.com/{}",
                uri_encode("test$file.text")
            ),
            headers: vec![
                (header::DATE, "Fri, 24 May 2013 00:00:00 GMT".into()),
                (
                    header::HeaderName::from_static("x-amz-storage-class"),
                    "REDUCED_REDUNDANCY".into(),
                ),
            ],
            body: Bytes::from_static(b"Welcome to Amazon S3."),
        };
        assert_signature(
            &call,
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        );
    }

    /// The same page's "GET Bucket (List Objects)" example: a query signed.
    #[test]
    fn a_listing_is_signed_as_awss_documented_example() {
        let call = Call {
            method: Method::GET,
            url: "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J".into(),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        assert_signature(
            &call,
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        );
    }

    #[test]
    fn a_signed_request_carries_the_payload_hash_and_the_session_token() {
        let call = Call {
            method: Method::PUT,
            url: "https://s3.eu-west-1.amazonaws.com/b/reports/t/1.csv".into(),
            headers: vec![(header::CONTENT_TYPE, "text/csv".into())],
            body: Bytes::from_static(b"a,b\n"),
        };
        let credentials = Credentials::new("AKID", "secret", Some("token".into()), None, "test");
        let request = signed_by_s3_in("eu-west-1", &call, &credentials, SystemTime::UNIX_EPOCH);
        let header = |name: &str| request.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(
            header("x-amz-content-sha256"),
            "5be08c9684a1d25efcee09318204824278b08bbfb4aef973ffefd0b9d7478313",
            "the body's SHA-256"
        );
        assert_eq!(header("x-amz-security-token"), "token");
        let authorization = header("authorization");
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKID/19700101/eu-west-1/s3/"),
            "{authorization}"
        );
        assert!(authorization.contains("content-type"), "{authorization}");
        assert_eq!(header("content-type"), "text/csv");
    }
}
