//! What notifications cost per stream record: DynamoDB requests (the store's meter) and SNS
//! requests (counted by an interceptor on the SNS client, so every request the SDK sends
//! counts, retries included), and the CPU time of the functions' own code in this process (the
//! emulator is another process) per 1 000 stream records, for the technicians' notifications
//! and the customer texts, first delivery and redelivery. Run with `infra/local/bench`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_sdk_sns::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sns::config::{ConfigBag, Intercept, RuntimeComponents};
use chrono::Utc;
use domain::{ChangeKind, Customer, CustomerInput, HistoryEntry, Job, WorkOrder};
use e2e::notifications::image_of;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use store::{Companion, CustomerStore, TenantId, Usage};

const RECORDS: usize = 500;

#[derive(Debug, Clone, Default)]
struct CountRequests(Arc<AtomicU32>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_sns::error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

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

async fn item(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str, sk: &str) -> Value {
    let out = client
        .get_item()
        .table_name(table)
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S(sk.into()))
        .send()
        .await
        .expect("read");
    image_of(&out.item.expect("the item"))
}

#[tokio::main]
async fn main() {
    let (client, table) = e2e::fresh_table().await;
    let config = devhost::aws_config().await;
    let counter = CountRequests::default();
    let sns_config = aws_sdk_sns::config::Builder::from(&config)
        .interceptor(counter.clone())
        .build();
    let sns = aws_sdk_sns::Client::from_conf(sns_config);
    let store = CustomerStore::new(client.clone(), table.clone());
    let tenant = TenantId::parse("bench").unwrap();
    // Texts go to Swedish numbers; the SMS policy's limits as high as they go. One job going
    // en route again and again still sends only `limitPerJobAndTrigger` texts: the rest are
    // suppressed after their count, which is what they cost.
    let settings = domain::Settings {
        default_country: Some("SE".into()),
        sms_policy: domain::SmsPolicy {
            countries: None,
            daily_limit: domain::sms_policy::DAILY_LIMIT_MAX,
            daily_limit_per_number: domain::sms_policy::DAILY_LIMIT_PER_NUMBER_MAX,
            limit_per_job_and_trigger: domain::sms_policy::LIMIT_PER_JOB_AND_TRIGGER_MAX,
        },
        ..domain::Settings::default()
    };
    store
        .put_settings(&tenant, &settings, 0)
        .await
        .expect("settings");

    // A customer with a mobile contact, two technicians assigned, one work order, one job.
    let mut input = e2e::customer("N0001", "Bench", "Texts");
    input["contacts"] = json!([{"firstName": "Bo", "mobile": "+46705559001", "primary": true}]);
    let input: CustomerInput = serde_json::from_value(input).expect("valid");
    let mut card = Customer::new(
        domain::validate_customer(input, &Default::default()).expect("valid"),
        "bench",
        Utc::now(),
    );
    card.assignees = vec!["tech-1".into(), "tech-2".into()];
    store
        .create(
            &tenant,
            &card,
            &e2e::history_entry(ChangeKind::Created),
            None,
        )
        .await
        .expect("customer");
    let site_input = serde_json::from_value(json!({"name": "Yard"})).unwrap();
    let site = domain::Site::new(
        card.id.clone(),
        domain::validate_site(site_input, None, &Default::default()).unwrap(),
        "bench",
        Utc::now(),
    );
    let mut linked = card.clone();
    linked.sites_count = 1;
    linked.version += 1;
    let entry = HistoryEntry::of(ChangeKind::SiteLinked, Some(&card), &linked);
    store
        .replace(
            &tenant,
            &card,
            &linked,
            &entry,
            Some(&Companion::LinkSite(Box::new(site.clone()), None)),
        )
        .await
        .expect("site");
    let fields = domain::validate_work_order(
        serde_json::from_value(json!({"kind": "faultReport", "title": "Leak", "siteId": site.id}))
            .unwrap(),
    )
    .unwrap();
    let order = WorkOrder::new(card.id.clone(), fields, "bench", Utc::now());
    store
        .link(
            &tenant,
            store::Link {
                record: &order,
                depends: vec![store::Depends::Customer(linked.version)],
                idempotency: None,
            },
        )
        .await
        .expect("work order");
    let job_input = serde_json::from_value(json!({"technicians": ["tech-1", "tech-2"],
        "leadTechnicianName": "Åsa",
        "window": {"start": "2026-12-02T08:00:00Z", "end": "2026-12-02T10:00:00Z"}}))
    .unwrap();
    let job = Job::new(
        &order,
        domain::validate_job(job_input).unwrap(),
        "bench",
        Utc::now(),
    );
    store
        .link(
            &tenant,
            store::Link {
                record: &job,
                depends: vec![store::Depends::WorkOrder {
                    id: order.id.clone(),
                    version: order.version,
                }],
                idempotency: None,
            },
        )
        .await
        .expect("job");
    let pk = format!("T#bench#C#{}", card.id);
    let order_image = item(&client, &table, &pk, &format!("WORKORDER#{}", order.id)).await;
    let job_image = item(&client, &table, &pk, &format!("JOB#{}", job.id)).await;

    // Technicians: new fault reports, each to the two assigned technicians.
    let order_keys = json!({"PK": {"S": pk}, "SK": {"S": format!("WORKORDER#{}", order.id)}});
    let technician_records: Vec<Value> = (0..RECORDS)
        .map(|i| record(i, "INSERT", order_keys.clone(), order_image.clone(), None))
        .collect();
    let technicians = technician_notifications::App {
        store: store.clone(),
        sns: sns.clone(),
        topic_arn: sns
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
    let job_keys = json!({"PK": {"S": pk}, "SK": {"S": format!("JOB#{}", job.id)}});
    let text_records: Vec<Value> = (0..RECORDS)
        .map(|i| {
            let mut after = job_image.clone();
            after["status"] = json!({"S": "enRoute"});
            after["version"] = json!({"N": (i + 2).to_string()});
            let mut before = job_image.clone();
            before["version"] = json!({"N": (i + 1).to_string()});
            record(RECORDS + i, "MODIFY", job_keys.clone(), after, Some(before))
        })
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
            counter.0.store(0, Ordering::Relaxed);
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
                counter.0.load(Ordering::Relaxed),
                published,
                spent,
            );
        }
    }
}
