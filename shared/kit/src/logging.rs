//! Structured JSON logs: one line per event, filtered by RUST_LOG.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::Value;

use tracing_subscriber::EnvFilter;

static WARM: AtomicBool = AtomicBool::new(false);

/// True for the first invocation of this process (a cold start), false after: logged with
/// each request, so that slow cold starts can be told from slow requests.
pub fn cold_start() -> bool {
    !WARM.swap(true, Ordering::Relaxed)
}

/// One invocation of an event-fed function, from its start: [`Invocation::finish`] writes its
/// line (request id, cold start, the organisations whose records it handled, records,
/// failures, duration) and its batch metrics, so every such function reports alike.
pub struct Invocation {
    started: Instant,
    cold_start: bool,
}

impl Invocation {
    pub fn start() -> Self {
        Self {
            started: Instant::now(),
            cold_start: cold_start(),
        }
    }

    /// `tenants`: the distinct organisations of the batch (never names or numbers of people);
    /// `response`: the partial batch response being returned.
    pub fn finish(
        self,
        function: &str,
        request_id: &str,
        tenants: &[String],
        records: usize,
        response: &Value,
    ) {
        let metrics = crate::metrics::batch(function, records, response);
        let failures = crate::metrics::reported_failures(response);
        tracing::info!(
            request_id,
            cold_start = self.cold_start,
            tenant = tenants.join(","),
            records,
            failures,
            duration_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            "invocation"
        );
        metrics.emit();
    }
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        // CloudWatch adds its own timestamp; ours stays for local runs and exports.
        .with_current_span(false)
        .with_ansi(false)
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_first_invocation_is_a_cold_start() {
        assert!(super::cold_start());
        assert!(!super::cold_start());
        assert!(!super::cold_start());
    }
}
