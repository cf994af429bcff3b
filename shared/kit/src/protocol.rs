//! AWS's two RPC protocols, over signed requests of our own ([`crate::signed`]): every
//! operation a POST to the endpoint's root.
//! - JSON (awsJson 1.0), as DynamoDB and SQS speak it: a JSON body, the operation named by
//!   `X-Amz-Target: <prefix>.<Operation>`, a JSON answer, or `{"__type": "...#Code",
//!   "message": "..."}` when refused.
//! - Query, as SNS speaks it: a form body (`Action=<Operation>&Version=...&<parameters>`), an
//!   XML answer, or `<ErrorResponse><Error><Code>` and `<Message>` when refused.
//!
//! One place for what the SDK gave such calls and ours keep: the configuration's attempts
//! (three, from [`crate::aws::sdk_config`]) for a dropped connection, a timeout, a 5xx or
//! throttling, with backoff between them ([`crate::signed::with_retries`]); an attempt's timeout
//! and the call's; the service's error code and message in the error, and "not now" told apart
//! from "never" ([`Failure::is_transient`]). What a refusal means beyond that is the caller's.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_config::SdkConfig;
use bytes::Bytes;
use http::{Method, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::signed::{Call, NoAnswer, Service, read_body, uri_encode, with_retries};
use crate::sigv4::Flavour;
use crate::xml::{element, unescape};

/// Attempts per call, one attempt's time and the whole call's, when the configuration does
/// not say (`kit::aws::sdk_config` does, with these).
const ATTEMPTS: u32 = 3;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
const CALL_TIMEOUT: Duration = Duration::from_secs(8);
const JSON: &str = "application/x-amz-json-1.0";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Error codes that mean "not now" rather than "never": throttling and the service's own
/// trouble, as the SDK's retry classifier counts them.
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "Throttling",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
];

/// Codes worth another attempt at once without meaning the service is unwell: a DynamoDB
/// transaction whose token is still being applied, a request the service timed out.
const RETRIED_CODES: &[&str] = &[
    "TransactionInProgressException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// A service of the JSON protocol (DynamoDB, SQS).
#[derive(Clone)]
pub struct JsonApi {
    api: Api,
    /// What operations are named after: `DynamoDB_20120810`, `AmazonSQS`.
    target: &'static str,
}

/// A service of the query protocol (SNS).
#[derive(Clone)]
pub struct QueryApi {
    api: Api,
    /// The API's version: `2010-03-31` for SNS.
    version: &'static str,
}

/// What both protocols share: a service in one region, at its endpoint (`AWS_ENDPOINT_URL`
/// locally), its attempts and timeouts.
#[derive(Clone)]
struct Api {
    service: Service,
    /// `<endpoint>/`, where every operation is posted.
    url: String,
    attempts: u32,
    attempt_timeout: Duration,
    call_timeout: Duration,
    /// How the protocol writes a refusal.
    refusal: fn(u16, Bytes) -> Refusal,
    /// Requests sent, retries included, by this service and its clones: what a bench counts.
    sent: Arc<AtomicU32>,
}

/// The service's refusal: its status, its error code (`ResourceNotFoundException`) and
/// message, and the whole answer for what a service says beyond them (DynamoDB's cancellation
/// reasons). Shown as code and message only: an answer can carry an item, and personal data
/// stays out of the logs.
#[derive(thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub body: Bytes,
}

impl std::fmt::Debug for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refusal")
            .field("status", &self.status)
            .field("code", &self.code)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl Refusal {
    /// The refusal a JSON answer of `status` with `body` says: `{"__type":
    /// "<namespace>#Code", "message": "..."}` (some codes spell it `Message`), the status alone
    /// when the body says nothing.
    pub fn of_json(status: u16, body: Bytes) -> Self {
        #[derive(serde::Deserialize, Default)]
        struct Answer {
            #[serde(rename = "__type")]
            kind: Option<String>,
            #[serde(alias = "Message")]
            message: Option<String>,
        }
        let answer: Answer = serde_json::from_slice(&body).unwrap_or_default();
        let code = answer
            .kind
            .as_deref()
            .map(|kind| kind.rsplit('#').next().unwrap_or(kind).to_owned())
            .unwrap_or_else(|| format!("HTTP {status}"));
        Refusal {
            status,
            code,
            message: answer.message.unwrap_or_default(),
            body,
        }
    }

    /// The refusal an XML answer of `status` with `body` says: `<ErrorResponse><Error>
    /// <Code>...</Code><Message>...</Message>`, the status alone when the body says nothing.
    pub fn of_xml(status: u16, body: Bytes) -> Self {
        let text = String::from_utf8_lossy(&body);
        let code = element(&text, "Code").map_or_else(|| format!("HTTP {status}"), unescape);
        let message = element(&text, "Message").map(unescape).unwrap_or_default();
        Refusal {
            status,
            code,
            message,
            body,
        }
    }

    /// "Not now" rather than "never".
    pub fn is_transient(&self) -> bool {
        self.status >= 500 || TRANSIENT_CODES.contains(&self.code.as_str())
    }

    /// Worth another attempt at once.
    fn is_retried(&self) -> bool {
        self.is_transient() || RETRIED_CODES.contains(&self.code.as_str())
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    NoAnswer(NoAnswer),
    #[error(transparent)]
    Refused(Refusal),
    /// An answer that is not the service's JSON: no other attempt would read better.
    #[error("{0}")]
    Unreadable(String),
}

impl Failure {
    /// "Not now" rather than "never": a later call may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Failure::NoAnswer(_) => true,
            Failure::Refused(refusal) => refusal.is_transient(),
            Failure::Unreadable(_) => false,
        }
    }

    fn is_retried(&self) -> bool {
        match self {
            Failure::Refused(refusal) => refusal.is_retried(),
            other => other.is_transient(),
        }
    }

    /// The service's refusal, when it answered one.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Failure::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }

    /// Whether the service refused with `code`.
    pub fn is_refusal(&self, code: &str) -> bool {
        self.refusal().is_some_and(|r| r.code == code)
    }
}

impl JsonApi {
    /// The service signed for as `name`, its operations named `<target>.<Operation>`, in
    /// `config`'s region, with its credentials, at its endpoint, attempted and timed out as
    /// `config` says.
    pub fn new(config: &SdkConfig, name: &'static str, target: &'static str) -> Self {
        let api = Api::new(config, name, Refusal::of_json);
        Self { api, target }
    }

    /// `operation` with `request` as its body; its answer read as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        operation: &str,
        request: &impl Serialize,
    ) -> Result<T, Failure> {
        let body = serde_json::to_vec(request)
            .map_err(|e| Failure::Unreadable(format!("{operation}'s request: {e}")))?;
        let target = (
            header::HeaderName::from_static("x-amz-target"),
            format!("{}.{operation}", self.target),
        );
        let answer = self.api.send(operation, JSON, Some(target), body).await?;
        serde_json::from_slice(&answer)
            .map_err(|e| Failure::Unreadable(format!("{operation}'s answer: {e}")))
    }
}

impl QueryApi {
    /// The service signed for as `name`, its API of `version`, as [`JsonApi::new`] otherwise.
    pub fn new(config: &SdkConfig, name: &'static str, version: &'static str) -> Self {
        let api = Api::new(config, name, Refusal::of_xml);
        Self { api, version }
    }

    /// The same service, an attempt given `attempt` and the whole call `call`.
    pub fn with_timeouts(mut self, attempt: Duration, call: Duration) -> Self {
        self.api.attempt_timeout = attempt;
        self.api.call_timeout = call;
        self
    }

    /// Requests sent so far, retries included, by this service and its clones.
    pub fn requests_sent(&self) -> u32 {
        self.api.requests_sent()
    }

    /// `action` with `parameters`; its answer's XML.
    pub async fn act(&self, action: &str, parameters: &[(&str, &str)]) -> Result<String, Failure> {
        let body = form(action, self.version, parameters).into_bytes();
        let answer = self.api.send(action, FORM, None, body).await?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }
}

impl Api {
    fn new(config: &SdkConfig, name: &'static str, refusal: fn(u16, Bytes) -> Refusal) -> Self {
        let service = Service::from_config(config, name, Flavour::Standard);
        let url = format!("{}/", service.url(config.endpoint_url()));
        let timeouts = config.timeout_config();
        Self {
            service,
            url,
            attempts: config.retry_config().map_or(ATTEMPTS, |r| r.max_attempts()),
            attempt_timeout: timeouts
                .and_then(|t| t.operation_attempt_timeout())
                .unwrap_or(ATTEMPT_TIMEOUT),
            call_timeout: timeouts
                .and_then(|t| t.operation_timeout())
                .unwrap_or(CALL_TIMEOUT),
            refusal,
            sent: Arc::default(),
        }
    }

    fn requests_sent(&self) -> u32 {
        self.sent.load(Ordering::Relaxed)
    }

    /// `body` posted for `operation`, attempted until an answer that is not worth another,
    /// the attempts are spent or the call's time has passed; a success's body.
    async fn send(
        &self,
        operation: &str,
        content_type: &str,
        target: Option<(header::HeaderName, String)>,
        body: Vec<u8>,
    ) -> Result<Bytes, Failure> {
        let mut headers = vec![(header::CONTENT_TYPE, content_type.to_owned())];
        headers.extend(target);
        let call = Call {
            method: Method::POST,
            url: self.url.clone(),
            headers,
            body: Bytes::from(body),
        };
        let retried = Failure::is_retried;
        let attempts = with_retries(operation, self.attempts, retried, || self.attempt(&call));
        tokio::time::timeout(self.call_timeout, attempts)
            .await
            .unwrap_or_else(|_| {
                let reason = format!("{operation}: no answer in {:?}", self.call_timeout);
                Err(Failure::NoAnswer(NoAnswer(reason)))
            })
    }

    async fn attempt(&self, call: &Call) -> Result<Bytes, Failure> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .service
            .attempt(call, self.attempt_timeout)
            .await
            .map_err(Failure::NoAnswer)?;
        let status = answer.status();
        let body = read_body(answer.into_body())
            .await
            .map_err(Failure::NoAnswer)?;
        if status.is_success() {
            return Ok(body);
        }
        Err(Failure::Refused((self.refusal)(status.as_u16(), body)))
    }
}

/// A query-protocol body: `Action`, `Version`, then `parameters`, each name and value
/// URI-encoded.
fn form(action: &str, version: &str, parameters: &[(&str, &str)]) -> String {
    let mut body = format!(
        "Action={}&Version={}",
        uri_encode(action),
        uri_encode(version)
    );
    for (name, value) in parameters {
        body.push('&');
        body.push_str(&uri_encode(name));
        body.push('=');
        body.push_str(&uri_encode(value));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16, body: &'static str) -> Refusal {
        Refusal::of_json(status, Bytes::from_static(body.as_bytes()))
    }

    #[test]
    fn a_refusal_names_the_services_code_and_says_whether_to_try_again() {
        let throttled = refusal(
            400,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"}"#,
        );
        assert_eq!(throttled.code, "ProvisionedThroughputExceededException");
        assert_eq!(
            throttled.to_string(),
            "ProvisionedThroughputExceededException: Rate exceeded"
        );
        assert!(throttled.is_transient());
        let missing = refusal(
            400,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","Message":"Requested resource not found"}"#,
        );
        assert_eq!(missing.code, "ResourceNotFoundException");
        assert_eq!(missing.message, "Requested resource not found");
        assert!(!missing.is_transient() && !missing.is_retried());
        let no_queue = refusal(
            400,
            r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#,
        );
        assert_eq!(no_queue.code, "QueueDoesNotExist");
        assert!(!no_queue.is_retried());
        let in_progress = refusal(
            400,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionInProgressException","message":"in progress"}"#,
        );
        assert!(in_progress.is_retried() && !in_progress.is_transient());
        let broken = refusal(503, "<html>Service Unavailable</html>");
        assert_eq!(broken.code, "HTTP 503");
        assert!(broken.is_transient());
    }

    #[test]
    fn a_refusal_shows_no_more_than_its_code_and_message() {
        let refused = refusal(
            400,
            r#"{"__type":"x#ConditionalCheckFailedException","message":"failed","Item":{"email":{"S":"ada@example.com"}}}"#,
        );
        let mut shown = format!("{refused} {refused:?}");
        shown.push_str(&format!("{:?}", Failure::Refused(refused)));
        assert!(!shown.contains("ada@"), "{shown}");
        assert!(shown.contains("ConditionalCheckFailedException"), "{shown}");
    }

    #[test]
    fn failures_are_transient_when_a_later_try_may_succeed() {
        assert!(Failure::NoAnswer(NoAnswer("reset".into())).is_transient());
        let refused = Failure::Refused(refusal(400, r#"{"__type":"x#ValidationException"}"#));
        assert!(!refused.is_transient() && refused.is_refusal("ValidationException"));
        assert!(!Failure::Unreadable("not JSON".into()).is_transient());
    }

    #[test]
    fn a_query_refusal_names_its_code_and_message() {
        let throttled = Refusal::of_xml(
            400,
            Bytes::from_static(
                b"<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error>\
                  <Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded &amp; more\
                  </Message></Error><RequestId>r</RequestId></ErrorResponse>",
            ),
        );
        assert_eq!(throttled.code, "Throttling");
        assert!(throttled.message.starts_with("Rate exceeded & more"));
        assert!(throttled.is_transient());
        let invalid = Refusal::of_xml(
            400,
            Bytes::from_static(
                b"<ErrorResponse><Error><Code>InvalidParameter</Code></Error></ErrorResponse>",
            ),
        );
        assert_eq!(invalid.code, "InvalidParameter");
        assert!(!invalid.is_retried());
        assert_eq!(Refusal::of_xml(502, Bytes::new()).code, "HTTP 502");
    }

    #[test]
    fn a_query_body_names_the_action_and_version_then_each_parameter_encoded() {
        assert_eq!(
            form(
                "Publish",
                "2010-03-31",
                &[("PhoneNumber", "+46 70"), ("Message", "På väg & snart")]
            ),
            "Action=Publish&Version=2010-03-31&PhoneNumber=%2B46%2070\
             &Message=P%C3%A5%20v%C3%A4g%20%26%20snart"
        );
    }
}
