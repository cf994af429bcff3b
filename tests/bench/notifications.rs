//! What notifications cost per stream record: DynamoDB requests (the store's meter) and SNS
//! requests (the SNS client's own count, retries included), and the CPU time of the functions'
//! own code in this process (the emulator is another process) per 1 000 stream records, for the
//! technicians' notifications and the customer texts, first delivery and redelivery. Run with
//! `infra/local/bench`.

use std::time::Duration;

use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use store::{CustomerStore, TenantId, Usage};

const RECORDS: usize = 500;

/// One record as Lambda delivers it.
fn record(sequence: usize, event: &str, keys: Value, new: Value, old: Option<Value>) -> Value {
    let sequence = sequence.to_string();
    e2e::notifications::stream_record(&sequence, event, keys, Some(new), old)["Records"][0].take()
}

fn line(name: &str, usage: Usage, sns: u32, published: usize, cpu: Duration) {
    let per = 1_000.0 / RECORDS as f64;
    println!(
        "{name:<44} {:>8.1} {:>8.1} {:>8.1} {:>10.1} {:>8.0}",
        f64::from(usage.write_requests) * per,
        f64::from(usage.read_requests) * per,
        f64::from(sns) * per,
        published as f64 * per,
        cpu.as_secs_f64() * 1000.0 * per,
    );
}

#[tokio::main]
async fn main() {
    let (client, table) = e2e::fresh_table().await;
    let config = devhost::aws_config().await;
    // Clones share one count of the requests sent.
    let sns = kit::sns::Sns::new(&config);
    let store = CustomerStore::new(&config, table.clone());
    let tenant = TenantId::parse("bench").unwrap();
    // Texts go to Swedish numbers; the SMS policy's limits as high as they go. One job going
    // en route again and again still sends only `limitPerJobAndTrigger` texts: the rest are
    // suppressed after their count, which is what they cost.
    e2e::notifications::allow_texts(&store, &tenant).await;
    // A customer with a mobile contact, two technicians assigned, one work order, one job.
    let seeded =
        e2e::notifications::seed_job(&store, &client, &table, &tenant, ("N0001", "+46705559001"))
            .await;

    // Technicians: new fault reports, each to the two assigned technicians.
    let technician_records: Vec<Value> = (0..RECORDS)
        .map(|i| {
            let new = seeded.order_image.clone();
            record(i, "INSERT", seeded.order_keys.clone(), new, None)
        })
        .collect();
    let technicians = technician_notifications::App {
        store: store.clone(),
        sns: sns.clone(),
        topic_arn: aws_sdk_sns::Client::new(&config)
            .create_topic()
            .name(e2e::unique_name("bench-topic"))
            .send()
            .await
            .expect("topic")
            .topic_arn
            .expect("its ARN"),
    };
    // Texts: each record a new version of the job going en route (a text each, up to the
    // policy's limit per job and trigger).
    let text_records: Vec<Value> = (0..RECORDS)
        .map(|i| seeded.en_route(RECORDS + i, i + 2)["Records"][0].take())
        .collect();
    let texts = customer_texts::App {
        store: store.clone(),
        sns: sns.clone(),
    };

    println!("Notifications, per 1 000 stream records ({RECORDS} records a run)");
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>10} {:>8}",
        "run", "writes", "reads", "SNS req", "published", "CPU ms"
    );
    for delivery in ["first", "again (redelivered)"] {
        for (name, records, published_first) in [
            (
                "technicians: new fault report, 2 assigned",
                &technician_records,
                2 * RECORDS,
            ),
            (
                "customer texts: one job en route again",
                &text_records,
                domain::sms_policy::LIMIT_PER_JOB_AND_TRIGGER_MAX as usize,
            ),
        ] {
            store.usage().reset();
            let sent_before = sns.requests_sent();
            let cpu = e2e::cpu_time();
            for chunk in records.chunks(25) {
                let payload = serde_json::from_value(json!({"Records": chunk}))
                    .expect("Lambda's event shape");
                let event = LambdaEvent::new(payload, e2e::far_deadline());
                let response = if name.starts_with("technicians") {
                    technician_notifications::handle(&technicians, event).await
                } else {
                    customer_texts::handle(&texts, event).await
                }
                .expect("handled");
                assert!(response.batch_item_failures.is_empty(), "{response:?}");
            }
            let spent = e2e::cpu_time().saturating_sub(cpu);
            let published = if delivery == "first" {
                published_first
            } else {
                0
            };
            line(
                &format!("{name} ({delivery})"),
                store.usage().snapshot(),
                sns.requests_sent() - sent_before,
                published,
                spent,
            );
        }
    }
}
