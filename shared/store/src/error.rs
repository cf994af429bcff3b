use crate::customers::IdempotencyRecord;

/// What can go wrong in the store, in terms its callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the customer number is already taken in this organisation")]
    NumberTaken,
    #[error("an external reference (accounting system id) already belongs to another customer")]
    ExternalRefTaken,
    #[error("the organisation number already belongs to another customer")]
    OrgNumberTaken,
    #[error("the item was changed by someone else (version conflict)")]
    VersionConflict,
    #[error("the customer has history or linked records")]
    HasHistory,
    #[error("not found")]
    NotFound,
    #[error("the idempotency key was already used")]
    IdempotencyKeyUsed(Box<IdempotencyRecord>),
    #[error("invalid pagination cursor: {0}")]
    InvalidCursor(&'static str),
    #[error("stored item could not be read: {0}")]
    Corrupt(#[source] serde_dynamo::Error),
    /// Throttled, timed out or unreachable: a retry later may succeed. A write that timed out
    /// may still have been applied; transactions carry a ClientRequestToken, so the store's
    /// retry of one is applied once (see `CustomerStore::transact`).
    #[error("DynamoDB is unavailable: {}", chain(.0.as_ref()))]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    // The whole chain: an error's own text may say little ("service error"), its code and
    // message are in its sources, and a logged 500 must say which.
    #[error("DynamoDB request failed: {}", chain(.0.as_ref()))]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An error and its sources, each as it displays itself: "service error: TransactionCanceled
/// Exception: ... [None, ThrottlingError]". Not the SDK's `DisplayErrorContext`, which ends
/// with the debug form of the raw response, body included: an answer can carry an item, and
/// personal data stays out of the logs.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.ends_with(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

impl StoreError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that, like the SDK's, says little itself and the rest in its source.
    #[derive(Debug, thiserror::Error)]
    #[error("service error")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("ValidationException: One or more parameter values were invalid")]
    struct Inner;

    #[test]
    fn a_failure_says_what_its_sources_say() {
        let failed = StoreError::Backend(Box::new(Outer(Inner))).to_string();
        assert!(failed.contains("service error"), "{failed}");
        assert!(failed.contains("ValidationException"), "{failed}");
        let unavailable = StoreError::Unavailable(Box::new(Outer(Inner))).to_string();
        assert!(unavailable.contains("ValidationException"), "{unavailable}");
    }
}
