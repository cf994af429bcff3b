//! AWS requests of our own: SigV4-signed HTTP over the same pool as every AWS call (rustls on
//! ring, Amazon's roots; see [`crate::http`]). What the bucket's calls ([`crate::objects`]) and
//! the store's reads (DynamoDB's GetItem, Query and BatchGetItem) are sent with instead of an
//! SDK client: the SDK's orchestrator builds its runtime components, a dozen interceptors and
//! the endpoint rules around every call, about 85 µs of CPU a call on the bench machine against
//! the signing and HTTP that any client pays (`bench-sdk-call`, docs/architecture.md).
//!
//! One place for what every such request needs: the service's address, region and signing
//! name, the credentials, a request signed afresh for each attempt, an attempt's timeout, and
//! the backoff between attempts. What counts as worth another attempt is the caller's: each
//! service says it in its own error format.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{Credentials, ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http::{Method, Request, Uri, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::http::{CONNECT_TIMEOUT, Pool, pool};
pub use crate::sigv4::uri_encode;
use crate::sigv4::{self, Flavour, Signer};

/// A service of one region, as its requests are signed and addressed.
#[derive(Clone)]
pub struct Service {
    credentials: SharedCredentialsProvider,
    /// Its signing name and region too.
    signer: Signer,
    /// Built at the first request: a function that never calls the service does not pay for
    /// it at its cold start. Shared by the service's clones (a store cloned before its first
    /// read must not open connections of its own).
    http: Arc<OnceLock<Pool>>,
}

/// A request before it is signed.
pub struct Call {
    pub method: Method,
    /// Already URI-encoded, query parameters sorted: the URL sent is the URL signed.
    pub url: String,
    pub headers: Vec<(header::HeaderName, String)>,
    pub body: Bytes,
}

/// No answer: the connection failed, no answer came in time, or the request could not be
/// signed. Worth another attempt, except a request that could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NoAnswer(pub String);

type SignError = Box<dyn std::error::Error + Send + Sync>;

impl Service {
    /// The service signed for as `name`, in `region`, with `credentials`, SigV4's way for
    /// `flavour`.
    pub fn new(
        name: &'static str,
        region: impl Into<String>,
        credentials: SharedCredentialsProvider,
        flavour: Flavour,
    ) -> Self {
        Self {
            signer: Signer::new(name, region, flavour),
            credentials,
            http: Arc::default(),
        }
    }

    /// The service in `config`'s region, with its credentials.
    pub fn from_config(config: &SdkConfig, name: &'static str, flavour: Flavour) -> Self {
        let region = config.region().map(ToString::to_string).unwrap_or_default();
        let credentials = config
            .credentials_provider()
            .expect("kit::aws::sdk_config sets credentials");
        Self::new(name, region, credentials, flavour)
    }

    pub fn region(&self) -> &str {
        self.signer.region()
    }

    /// The signing name (`s3`, `dynamodb`).
    pub fn name(&self) -> &'static str {
        self.signer.service()
    }

    /// The credentials every request is signed with.
    pub async fn credentials(&self) -> Result<Credentials, NoAnswer> {
        self.credentials
            .provide_credentials()
            .await
            .map_err(|e| NoAnswer(format!("no credentials: {e}")))
    }

    /// The `endpoint` configured (`AWS_ENDPOINT_URL` locally), else the service's regional
    /// one (`amazonaws.com.cn` in the China regions), without a trailing slash.
    pub fn url(&self, endpoint: Option<&str>) -> String {
        service_url(self.name(), self.region(), endpoint)
    }

    /// One attempt at `call`: signed now, its answer's headers within `timeout`. Any status
    /// comes back; the body is still to be read.
    pub async fn attempt(
        &self,
        call: &Call,
        timeout: Duration,
    ) -> Result<hyper::Response<Incoming>, NoAnswer> {
        let credentials = self.credentials().await?;
        let request = self
            .signed(call, &credentials, SystemTime::now())
            .map_err(|e| NoAnswer(format!("signing: {e}")))?;
        let http = self.http.get_or_init(|| pool(CONNECT_TIMEOUT));
        tokio::time::timeout(timeout, http.request(request))
            .await
            .map_err(|_| NoAnswer(format!("no answer in {timeout:?}")))?
            .map_err(|e| NoAnswer(error_chain(&e)))
    }

    /// `call` signed with SigV4 at `time`, in headers.
    pub fn signed(
        &self,
        call: &Call,
        credentials: &Credentials,
        time: SystemTime,
    ) -> Result<Request<SdkBody>, SignError> {
        let uri: Uri = call.url.parse()?;
        let headers: Vec<(&str, &str)> = call
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let request = sigv4::Request {
            method: call.method.as_str(),
            uri: &uri,
            headers: &headers,
            body: sigv4::Body::Bytes(&call.body),
        };
        let signing = self.signer.headers(&request, credentials, time)?;
        let mut request = Request::builder().method(call.method.clone()).uri(uri);
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        for (name, value) in signing {
            request = request.header(header::HeaderName::from_static(name), value);
        }
        Ok(request.body(SdkBody::from(call.body.clone()))?)
    }
}

/// The `endpoint` configured, else service `name`'s regional one in `region`
/// (`amazonaws.com.cn` in the China regions), without a trailing slash.
pub fn service_url(name: &str, region: &str, endpoint: Option<&str>) -> String {
    match endpoint.map(str::trim).filter(|e| !e.is_empty()) {
        Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
        None => {
            let suffix = if region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            format!("https://{name}.{region}.{suffix}")
        }
    }
}

/// `attempt` (given its number, from 1) until it succeeds, fails in a way `retried` does not
/// want tried again, or `attempts` are spent, with [`backoff`] between attempts: the retry
/// rule of every request of our own; what is worth another attempt is the service's. Each
/// failure tried again is logged, naming `what` failed: a call that succeeds on its second
/// attempt still shows an operator that the service stumbled.
pub async fn with_retries<T, E, F>(
    what: &str,
    attempts: u32,
    retried: impl Fn(&E) -> bool,
    mut attempt: impl FnMut() -> F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: std::future::Future<Output = Result<T, E>>,
{
    let mut number = 0;
    loop {
        number += 1;
        match attempt().await {
            Err(error) if retried(&error) && number < attempts => {
                tracing::info!(%error, attempt = number, "{what} failed; trying again");
                tokio::time::sleep(backoff(number)).await;
            }
            result => return result,
        }
    }
}

/// An answer's whole body.
pub async fn read_body(body: Incoming) -> Result<Bytes, NoAnswer> {
    Ok(body
        .collect()
        .await
        .map_err(|e| NoAnswer(format!("reading the answer: {e}")))?
        .to_bytes())
}

/// How long to wait before attempt `attempt + 1`: 100 ms doubling to 1.6 s, plus up to half
/// again at random, so that clients that failed together do not come back together.
pub fn backoff(attempt: u32) -> Duration {
    let base = 100u64 << attempt.saturating_sub(1).min(4);
    let jitter = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()))
        % (base / 2 + 1);
    Duration::from_millis(base + jitter)
}

/// An error and its sources, joined: hyper's own text ("client error (Connect)") says little.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(region: &str) -> Service {
        let credentials = Credentials::new("AKID", "secret", None, None, "test");
        Service::new(
            "dynamodb",
            region,
            SharedCredentialsProvider::new(credentials),
            Flavour::Standard,
        )
    }

    #[test]
    fn a_service_is_reached_at_the_endpoint_given_or_its_regional_one() {
        let dynamodb = service("eu-north-1");
        assert_eq!(
            dynamodb.url(Some("http://127.0.0.1:4566/")),
            "http://127.0.0.1:4566"
        );
        assert_eq!(
            dynamodb.url(None),
            "https://dynamodb.eu-north-1.amazonaws.com"
        );
        assert_eq!(dynamodb.url(Some("  ")), dynamodb.url(None));
        assert_eq!(
            service("cn-north-1").url(None),
            "https://dynamodb.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn a_request_is_signed_for_its_service_and_region() {
        let dynamodb = service("eu-north-1");
        let call = Call {
            method: Method::POST,
            url: "https://dynamodb.eu-north-1.amazonaws.com/".into(),
            headers: vec![(header::CONTENT_TYPE, "application/x-amz-json-1.0".into())],
            body: Bytes::from_static(b"{}"),
        };
        let credentials = Credentials::new("AKID", "secret", None, None, "test");
        let request = dynamodb
            .signed(&call, &credentials, SystemTime::UNIX_EPOCH)
            .unwrap();
        let authorization = request.headers()["authorization"].to_str().unwrap();
        assert!(
            authorization
                .starts_with("AWS4-HMAC-SHA256 Credential=AKID/19700101/eu-north-1/dynamodb/"),
            "{authorization}"
        );
        assert!(authorization.contains("content-type"), "{authorization}");
        assert_eq!(
            request.headers()["content-type"],
            "application/x-amz-json-1.0"
        );
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..10 {
            let wait = backoff(attempt);
            let base = Duration::from_millis(100 << (attempt - 1).min(4));
            assert!(
                wait >= base && wait <= base + base / 2,
                "{attempt}: {wait:?}"
            );
        }
    }
}
