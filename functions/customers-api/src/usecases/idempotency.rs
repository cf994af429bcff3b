//! `Idempotency-Key` on creates: the first answer is stored with the record it created, in the
//! same transaction, and a retry with the same key and the same request gets it back instead
//! of a second record. A client that lost an answer (a timeout, a 503 after the write went
//! through, a dropped mobile connection) can always send the same request again. Reading the
//! key from a request and writing a stored answer back are the adapter's
//! (`crate::handlers::idempotency`).

use chrono::{DateTime, Utc};
use kit::Problem;
use lambda_http::http::StatusCode;
use store::{IdempotencyRecord, StoredResponse, TenantId};

use super::store_problem;
use crate::App;

/// How long a create stays replayable under its Idempotency-Key.
pub const TTL_SECONDS: i64 = 24 * 3600;

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
    /// A create sent with the Idempotency-Key `key` (hashed) asking what `fingerprint` says
    /// (the route and the exact body), or without a key.
    pub fn keyed(key: Option<String>, fingerprint: impl FnOnce() -> String) -> Self {
        Self(key.map(|key| (key, fingerprint())))
    }

    /// The first answer, if this request is a retry of one that went through: answered before
    /// any rule is applied again (the customer may have been put on hold since).
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

    /// The answer to give when writing our record found `first` already under the key: a
    /// concurrent copy of this very request wrote it (the same fingerprint), or another
    /// request did.
    pub fn replayed(&self, first: &IdempotencyRecord) -> Result<StoredResponse, Problem> {
        match &self.0 {
            Some((_, fingerprint)) if fingerprint == &first.fingerprint => {
                Ok(first.response.clone())
            }
            _ => Err(key_reused()),
        }
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
