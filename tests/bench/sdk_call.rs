//! What one DynamoDB read costs in CPU through the SDK's client, against the same read made the
//! store's way (`store::requests`: a signed request of its own over `kit::signed`), on one thread
//! against the emulator: part 1 of issue 15 (docs/architecture.md#performance). Both are the
//! strongly consistent GetItem of a customer's card with ReturnConsumedCapacity, the read the
//! API makes for `GET /customers/{id}`, of a key with no item, so neither side decodes one.
//! The store's side also counts the request in its usage meter, as it always does. CPU is the
//! thread's own (`/proc/thread-self/schedstat`), so the emulator's time is not in it. Run by
//! `infra/local/bench`, with the emulator keeping connections open as AWS does.

use std::future::Future;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use domain::CustomerId;
use store::{TenantId, keys};

/// Reads measured each way, after as many to warm up.
const READS: u64 = 2000;

fn cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// The thread's CPU per call of `read`, in µs, over [`READS`] calls after [`READS`] / 40.
async fn cpu_per_call<F: Future<Output = ()>>(read: impl Fn() -> F) -> f64 {
    for _ in 0..READS / 40 {
        read().await;
    }
    let start = cpu_ns();
    for _ in 0..READS {
        read().await;
    }
    (cpu_ns() - start) as f64 / READS as f64 / 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (client, table) = e2e::fresh_table().await;
    let store = e2e::store(table.clone()).await;
    let tenant = TenantId::parse("bench").unwrap();
    let id = CustomerId::new();
    let key = keys::customer(&tenant, &id);

    let sdk = cpu_per_call(|| async {
        let out = client
            .get_item()
            .table_name(&table)
            .key("PK", AttributeValue::S(key.pk.clone()))
            .key("SK", AttributeValue::S(key.sk.clone()))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap();
        assert!(out.item.is_none());
    })
    .await;
    let own = cpu_per_call(|| async {
        assert!(store.get(&tenant, &id).await.unwrap().is_none());
    })
    .await;
    println!("CPU per DynamoDB read ({READS} GetItems, one thread, emulator excluded)");
    println!("  through the SDK's client         {sdk:>6.1} us");
    println!(
        "  the store's own (store::requests){own:>6.1} us  (saving {:.1} us a call)",
        sdk - own
    );
}
