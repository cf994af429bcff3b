//! `Idempotency-Key` on creates: the first answer is stored with the record it created, in the
//! same transaction, and a retry with the same key and the same request gets it back instead
//! of a second record. A client that lost an answer (a timeout, a 503 after the write went
//! through, a dropped mobile connection) can always send the same request again.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use store::{IdempotencyRecord, StoredResponse, TenantId};

use super::store_problem;
use crate::App;

/// How long a create stays replayable under its Idempotency-Key.
pub const TTL_SECONDS: i64 = 24 * 3600;

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
pub fn fingerprint(request: &Request, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(request.uri().path().as_bytes());
    hash.update([0]);
    hash.update(body);
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

/// The Idempotency-Key of a request reused for a different one.
pub fn key_reused() -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-reused",
        "The Idempotency-Key was already used for another request",
    )
    .detail("Use a new key for a new request.")
}

/// A create's Idempotency-Key (hashed) and what it asked, when the client sent a key.
#[derive(Debug, Clone, Default)]
pub struct Retry(Option<(String, String)>);

impl Retry {
    pub fn of(request: &Request, body: &[u8]) -> Result<Self, Problem> {
        Ok(Self::keyed(key(request)?, request, body))
    }

    /// [`Retry::of`] with the key already read (by a route that refuses a malformed key
    /// before it reads the body).
    pub fn keyed(key: Option<String>, request: &Request, body: &[u8]) -> Self {
        Self(key.map(|key| (key, fingerprint(request, body))))
    }

    /// The first answer, if this request is a retry of one that went through: answered before
    /// any rule is applied again (the customer may have been put on hold since).
    pub async fn earlier_answer(
        &self,
        app: &App,
        tenant: &TenantId,
    ) -> Result<Option<Response<Body>>, Problem> {
        Ok(self
            .earlier(app, tenant)
            .await?
            .map(|first| to_response(first, true)))
    }

    /// [`Retry::earlier_answer`] as it is stored.
    pub async fn earlier(
        &self,
        app: &App,
        tenant: &TenantId,
    ) -> Result<Option<StoredResponse>, Problem> {
        let Some((key, fingerprint)) = &self.0 else {
            return Ok(None);
        };
        let first = app
            .store
            .idempotency_record(tenant, key)
            .await
            .map_err(store_problem)?;
        match first {
            Some(first) if &first.fingerprint == fingerprint => Ok(Some(first.response)),
            Some(_) => Err(key_reused()),
            None => Ok(None),
        }
    }

    /// What is stored of the create's answer (status, location and ETag, the JSON body), to be
    /// written with the record it created.
    pub fn record(
        &self,
        response: &Response<Body>,
        at: DateTime<Utc>,
    ) -> Option<IdempotencyRecord> {
        let headers = ["location", "etag"]
            .into_iter()
            .filter_map(|name| {
                let value = response.headers().get(name)?.to_str().ok()?;
                Some((name.to_owned(), value.to_owned()))
            })
            .collect();
        let body = match response.body() {
            Body::Text(text) => text.clone(),
            Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        let answer = StoredResponse {
            status: response.status().as_u16(),
            headers,
            body,
        };
        self.keep(answer, at)
    }

    /// The idempotency record of `answer`, when the request sent a key.
    pub fn keep(&self, answer: StoredResponse, at: DateTime<Utc>) -> Option<IdempotencyRecord> {
        let (key, fingerprint) = self.0.clone()?;
        Some(IdempotencyRecord {
            key,
            fingerprint,
            response: answer,
            expires_at: at.timestamp() + TTL_SECONDS,
        })
    }
}

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
