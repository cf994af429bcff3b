//! Structured JSON logs: one line per event, filtered by RUST_LOG.

use tracing_subscriber::EnvFilter;

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
