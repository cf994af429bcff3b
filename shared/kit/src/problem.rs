//! RFC 9457 problem details: the one error shape every API response uses. Clients get a
//! type they can branch on, a human title and detail, and for validation failures the list of
//! every field that is wrong. Internal causes are logged, never echoed.

use domain::FieldError;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{Map, Value};

pub const CONTENT_TYPE: &str = "application/problem+json";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    /// A relative URI documented in docs/api.md, e.g. "/problems/validation-failed".
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extension members specific to one problem type.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
    #[serde(skip)]
    pub headers: Vec<(&'static str, String)>,
}

impl Problem {
    pub fn new(status: StatusCode, name: &str, title: &str) -> Self {
        Self {
            kind: format!("/problems/{name}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            errors: Vec::new(),
            extensions: Map::new(),
            headers: Vec::new(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.extensions.insert(name.to_owned(), value);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn malformed_body(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-body",
            "The request body is not valid JSON",
        )
        .detail(detail)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            "The request has invalid fields",
        )
        .detail(format!(
            "{} field(s) need attention; see errors.",
            errors.len()
        ));
        problem.errors = errors;
        problem
    }

    pub fn bad_parameter(name: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-parameter",
            "A query parameter is invalid",
        )
        .detail(detail)
        .with("parameter", name)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "The request carries no verified identity",
        )
    }

    pub fn no_tenant() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "no-organisation",
            "The verified identity names no valid organisation",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail(format!(
            "No {what} with that id exists in your organisation."
        ))
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "The request body is too large",
        )
        .detail(format!("Request bodies are limited to {limit} bytes."))
        .with("limit", limit)
    }

    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported content type",
        )
        .detail(format!("Send the body as {expected}."))
    }

    pub fn precondition_required() -> Self {
        Self::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition-required",
            "If-Match is required",
        )
        .detail(
            "Send the ETag you last read in If-Match, so that no one else's change is overwritten.",
        )
    }

    pub fn stale(current_etag: Option<&str>) -> Self {
        let problem = Self::new(
            StatusCode::PRECONDITION_FAILED,
            "stale-version",
            "The resource was changed by someone else",
        )
        .detail("Read it again, re-apply your change and send it with the new ETag.");
        match current_etag {
            Some(etag) => problem.header("etag", etag),
            None => problem,
        }
    }

    pub fn conflict(name: &str, title: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, name, title).detail(detail)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side",
        )
        .detail(
            "The error was logged. Retrying may help; if not, contact support with the request id.",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The service is temporarily unavailable",
        )
        // A timed-out write may have committed (the SDK gave up waiting for the answer), so
        // this cannot promise that nothing changed; it promises that a safe retry is safe.
        .detail(
            "Nothing was half-done; a write may or may not have been applied. Retry after the \
             indicated delay: with the same Idempotency-Key or If-Match a retry is never \
             applied twice.",
        )
        .header("retry-after", "2")
    }

    pub fn into_response(self) -> Response<Body> {
        let body = serde_json::to_string(&self).expect("a problem always serialises");
        let mut response = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .body(Body::Text(body))
            .expect("a valid status and header");
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}
