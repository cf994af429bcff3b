//! Structured JSON logs: one line per event, filtered by RUST_LOG.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

static WARM: AtomicBool = AtomicBool::new(false);

/// True for the first invocation of this process (a cold start), false after: logged with
/// each request, so that slow cold starts can be told from slow requests.
pub fn cold_start() -> bool {
    !WARM.swap(true, Ordering::Relaxed)
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
