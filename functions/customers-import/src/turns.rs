//! Fair turns between organisations. The function has a few concurrent executions for all
//! organisations together (ReservedConcurrentExecutions), and SQS hands out messages in
//! roughly the order they came: an organisation that drops fifty files would hold every
//! execution until its fiftieth file is done, and another organisation's ten-row file would
//! wait behind them. So an invocation works on an organisation's import only while it holds
//! one of that organisation's few slots (`IMPORT_SLOTS_PER_ORGANISATION`, fewer than the
//! executions); a message whose organisation has every slot taken goes back to the queue with
//! a delay, costing a write and a send, and the execution moves on to the next message, which
//! may be another organisation's. See docs/imports.md ("Fair turns").

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use store::{ImportSlot, TenantId, Turn};

use crate::App;
use crate::importer::ImportError;

/// How long a deferred message waits before it is tried again: long enough that a flood of
/// deferred messages is a trickle of cheap receives, short against an import's own time.
pub const DEFER_SECONDS: u32 = 10;
/// A deferred message waits up to this much longer, so deferred messages do not all come back
/// in the same second.
const DEFER_SPREAD_SECONDS: u32 = 5;
/// A holding outlives the invocation's deadline by this much: the invocation may still be
/// releasing it then, and after it nobody can be.
const HOLDING_MARGIN: Duration = Duration::from_secs(5);

/// What a slot is held for: one version of one file (its key and ETag), so that the same
/// import's next invocation takes its slot over and another upload to the same key does not.
pub fn work_of(object_key: &str, etag: &str) -> String {
    format!("{object_key}#{etag}")
}

/// Runs `work` (an import of `tenant`'s file, [`work_of`] `work_key`) if one of the organisation's
/// slots is free, releasing it afterwards whatever the outcome; otherwise sends `message` back
/// to the queue for later and answers that it is handled.
pub async fn in_turn<F, Fut>(
    app: &App,
    tenant: &TenantId,
    work_key: &str,
    message: &str,
    deadline: Instant,
    work: F,
) -> Result<(), ImportError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), ImportError>>,
{
    let holder = ulid::Ulid::new().to_string();
    let now = Utc::now();
    let turn = Turn {
        work: work_key,
        holder: &holder,
        slots: app.slots_per_organisation,
        now,
        held_until: held_until(now, deadline),
    };
    let Some(slot) = app.store.take_import_slot(tenant, &turn).await? else {
        return defer(app, tenant, message).await;
    };
    let outcome = work().await;
    release(app, &slot).await;
    outcome
}

/// When a holding lapses if its invocation never releases it.
fn held_until(now: DateTime<Utc>, deadline: Instant) -> DateTime<Utc> {
    let left = deadline.saturating_duration_since(Instant::now()) + HOLDING_MARGIN;
    now + chrono::Duration::from_std(left).unwrap_or(chrono::Duration::minutes(15))
}

/// A release that fails only keeps the slot until its holding lapses: logged, not retried
/// (retrying the message would redo the import's work for nothing).
async fn release(app: &App, slot: &ImportSlot) {
    if let Err(error) = app.store.release_import_slot(slot).await {
        tracing::warn!(tenant = %slot.tenant, slot = slot.number, error = %error, "import slot not released; it lapses at the invocation's deadline");
    }
}

/// Sends the message again with a delay. A new message, not a retry of this one: its
/// receive count starts again, so waiting for a turn never sends a file to the dead-letter
/// queue.
async fn defer(app: &App, tenant: &TenantId, message: &str) -> Result<(), ImportError> {
    let delay = DEFER_SECONDS + spread(message);
    app.queue
        .send_later(message, delay)
        .await
        .map_err(|e| ImportError::Retry(format!("deferring the message: {e}")))?;
    tracing::info!(tenant = %tenant, delay, "every import slot of the organisation is taken; message deferred");
    kit::metrics::Metrics::new(crate::FUNCTION)
        .count("ImportsDeferred", 1)
        .property("tenant", tenant.as_str())
        .emit();
    Ok(())
}

/// 0..=DEFER_SPREAD_SECONDS, varying between messages and between deferrals of one message.
fn spread(message: &str) -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let mixed = nanos ^ (message.len() as u32).wrapping_mul(2_654_435_761);
    mixed % (DEFER_SPREAD_SECONDS + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holding_lapses_shortly_after_the_invocations_deadline() {
        let now = Utc::now();
        let until = held_until(now, Instant::now() + Duration::from_secs(60));
        let lapse = (until - now).num_seconds();
        assert!((64..=65).contains(&lapse), "{lapse}");
    }

    #[test]
    fn a_passed_deadline_still_holds_for_the_margin() {
        let now = Utc::now();
        let until = held_until(now, Instant::now());
        assert!((until - now).num_milliseconds() <= 5_000);
        assert!((until - now).num_milliseconds() >= 4_900);
    }

    #[test]
    fn deferrals_are_spread_over_a_few_seconds() {
        for body in ["", "a", "a longer message body"] {
            let spread = spread(body);
            assert!((0..=DEFER_SPREAD_SECONDS).contains(&spread));
        }
    }
}
