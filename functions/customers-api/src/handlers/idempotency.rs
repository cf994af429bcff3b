//! The Idempotency-Key as HTTP carries it: read from a request (hashed), and a stored answer
//! written back as a response. What is done with it is the use cases'
//! (`crate::usecases::idempotency`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use store::StoredResponse;

pub use crate::usecases::idempotency::Retry;

/// The request's key, hashed, if it sent one; 400 for a malformed one.
pub fn key(request: &Request) -> Result<Option<String>, Problem> {
    let Some(raw) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = raw.to_str().unwrap_or("").trim();
    let valid = (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-idempotency-key",
            "The Idempotency-Key header is invalid",
        )
        .detail("Use 1 to 255 printable ASCII characters, e.g. a UUID."));
    }
    // Hashed so that whatever a client puts in the key never shapes our item keys.
    Ok(Some(URL_SAFE_NO_PAD.encode(Sha256::digest(key.as_bytes()))))
}

/// What was asked: the route and the exact body. The same key with another request is refused.
fn fingerprint(request: &Request, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(request.uri().path().as_bytes());
    hash.update([0]);
    hash.update(body);
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

/// The create's key and what it asked; 400 for a malformed key.
pub fn retry(request: &Request, body: &[u8]) -> Result<Retry, Problem> {
    Ok(retry_keyed(key(request)?, request, body))
}

/// [`retry`] with the key already read (by a route that refuses a malformed key before it
/// reads the body).
pub fn retry_keyed(key: Option<String>, request: &Request, body: &[u8]) -> Retry {
    Retry::keyed(key, || fingerprint(request, body))
}

/// A stored answer as the response; `replayed` marks a retry's (`Idempotent-Replayed`).
pub fn to_response(stored: StoredResponse, replayed: bool) -> Response<Body> {
    let mut builder = Response::builder()
        .status(stored.status)
        .header("content-type", "application/json");
    for (name, value) in &stored.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if replayed {
        builder = builder.header("idempotent-replayed", "true");
    }
    builder
        .body(Body::Text(stored.body))
        .expect("stored headers are valid")
}
