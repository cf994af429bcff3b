//! CPU of reading the table's stream records into changes (`store::stream::changes`): what
//! every stream consumer spends on an event before its own work. The records are the sample
//! events of the functions the stream feeds (a customer deactivated, with both images of its
//! card, for the cascade; a work order created for the notifications), read many times on one
//! thread; the figure is the thread's CPU (`/proc/thread-self/schedstat`) per record.
//!
//! Run with `cargo bench -p store --bench stream` (by `infra/local/bench`).

use std::path::Path;

use aws_lambda_events::dynamodb::Event;

const ROUNDS: usize = 20_000;

fn cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    let first = text.split_whitespace().next().expect("a first field");
    first.parse().expect("nanoseconds")
}

fn sample(function: &str, event: &str) -> Event {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../functions")
        .join(function)
        .join("events")
        .join(event);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).expect("a DynamoDB stream event")
}

fn main() {
    println!("Reading stream records into changes (CPU per record, one thread)");
    for (function, file) in [
        ("customers-cascade", "customer-deactivated.json"),
        ("technician-notifications", "work-order-created.json"),
    ] {
        let event = sample(function, file);
        let records = event.records.len();
        assert!(
            store::stream::changes(&event).iter().all(Result::is_ok),
            "{file}: every record is a change of ours"
        );
        for _ in 0..ROUNDS / 10 {
            std::hint::black_box(store::stream::changes(&event));
        }
        let start = cpu_ns();
        for _ in 0..ROUNDS {
            std::hint::black_box(store::stream::changes(&event));
        }
        let per_record = (cpu_ns() - start) as f64 / (ROUNDS * records) as f64 / 1000.0;
        println!("  {function:<26} {file:<28} {per_record:>6.1} us");
    }
}
