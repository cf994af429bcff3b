//! Helpers for notification tests: a queue subscribed to the technicians' topic with one
//! technician's filter policy (as a technician's endpoint would be), the SMS the emulator
//! recorded, and stream records made from stored items for redelivery.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Value, json};

use crate::Suite;

/// A message's attributes as SNS delivered them: each name's data type and value.
pub type Attributes = HashMap<String, (String, String)>;

/// How long a notification may take: the stream poller, the function, the emulator.
pub const NOTIFY_WAIT: Duration = Duration::from_secs(30);

impl Suite {
    pub fn topic(&self) -> &str {
        &self.stack.topics["TechnicianNotificationsTopic"]
    }

    pub async fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&devhost::aws_config().await)
    }

    /// A new queue subscribed to the technicians' topic with a filter policy on `userId`,
    /// raw delivery (the body is our message, the attributes SQS message attributes).
    pub async fn technician_inbox(&self, user: &str) -> String {
        let sqs = self.sqs().await;
        let name = crate::unique_name("inbox");
        let url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .expect("a queue")
            .queue_url
            .expect("its URL");
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("its attributes")
            .attributes
            .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .expect("its ARN");
        let policy = json!({"userId": [user]}).to_string();
        self.sns()
            .await
            .subscribe()
            .topic_arn(self.topic())
            .protocol("sqs")
            .endpoint(arn)
            .attributes("FilterPolicy", policy)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .expect("subscribed");
        url
    }

    /// Every message in a technician's queue until `count` arrived (then a moment more, so
    /// that an extra one would be seen), as (body, attributes: each name's data type and
    /// value).
    pub async fn inbox_messages(&self, url: &str, count: usize) -> Vec<(Value, Attributes)> {
        let sqs = self.sqs().await;
        let started = Instant::now();
        let mut messages = Vec::new();
        let mut quiet_since: Option<Instant> = None;
        loop {
            let out = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .expect("received");
            let batch = out.messages.unwrap_or_default();
            if batch.is_empty() && messages.len() >= count {
                let since = *quiet_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(2) {
                    return messages;
                }
            }
            for message in batch {
                let body: Value =
                    serde_json::from_str(message.body().unwrap_or_default()).expect("JSON");
                let attributes = message
                    .message_attributes()
                    .into_iter()
                    .flatten()
                    .map(|(name, value)| {
                        let typed = (
                            value.data_type().to_owned(),
                            value.string_value().unwrap_or_default().to_owned(),
                        );
                        (name.clone(), typed)
                    })
                    .collect();
                messages.push((body, attributes));
                if let Some(handle) = message.receipt_handle() {
                    sqs.delete_message()
                        .queue_url(url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("deleted");
                }
            }
            assert!(
                started.elapsed() < NOTIFY_WAIT,
                "{} of {count} messages arrived: {messages:?}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The SMS the emulator recorded for one phone number, oldest first.
    pub async fn texts_to(&self, mobile: &str) -> Vec<String> {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("the emulator's endpoint");
        // Only SNS's state: the whole dump takes seconds and blocks the emulator.
        let url = format!(
            "{}/moto-api/data.json?service=sns",
            endpoint.trim_end_matches('/')
        );
        let reply = self
            .send_to_url(http::Method::GET, &url, &[], Vec::new())
            .await;
        let data: Value = serde_json::from_str(reply.body.as_str().unwrap_or("{}")).expect("JSON");
        data["sns"]["SMS"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|sms| sms["phone_number"] == mobile)
            .map(|sms| sms["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Waits until `count` texts went to `mobile` (and a moment more), and answers them.
    /// Polls every second: each read walks every SMS the emulator recorded.
    pub async fn wait_for_texts(&self, mobile: &str, count: usize) -> Vec<String> {
        let started = Instant::now();
        loop {
            let texts = self.texts_to(mobile).await;
            if texts.len() >= count {
                tokio::time::sleep(Duration::from_secs(2)).await;
                return self.texts_to(mobile).await;
            }
            assert!(
                started.elapsed() < NOTIFY_WAIT,
                "{} of {count} texts arrived: {texts:?}",
                texts.len()
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// A stored item as its stream image (DynamoDB JSON).
    pub async fn image(&self, pk: &str, sk: &str) -> Value {
        stored_image(&self.dynamodb, self.table(), pk, sk).await
    }
}

/// A stored item of `table` as its stream image (DynamoDB JSON).
pub async fn stored_image(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    sk: &str,
) -> Value {
    let item = dynamodb
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(pk.to_owned()))
        .key("SK", AttributeValue::S(sk.to_owned()))
        .send()
        .await
        .expect("read")
        .item
        .expect("the item");
    image_of(&item)
}

pub fn image_of(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), json_of(value)))
            .collect::<Map<_, _>>(),
    )
}

fn json_of(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::Ss(ss) => json!({"SS": ss}),
        AttributeValue::Ns(ns) => json!({"NS": ns}),
        AttributeValue::L(l) => json!({"L": l.iter().map(json_of).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": image_of(m)}),
        other => panic!("no such attribute in our items: {other:?}"),
    }
}

/// A stream event of one item's change, as the mapping delivers it: every field Lambda
/// sends (the functions read it through `aws_lambda_events`' typed event).
pub fn stream_record(
    sequence: &str,
    event: &str,
    keys: Value,
    new: Option<Value>,
    old: Option<Value>,
) -> Value {
    let mut dynamodb = json!({"ApproximateCreationDateTime": 1_764_583_200,
                              "SequenceNumber": sequence, "Keys": keys, "SizeBytes": 512,
                              "StreamViewType": "NEW_AND_OLD_IMAGES"});
    if let Some(new) = new {
        dynamodb["NewImage"] = new;
    }
    if let Some(old) = old {
        dynamodb["OldImage"] = old;
    }
    json!({"Records": [{"eventID": sequence, "eventName": event, "eventVersion": "1.1",
                        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
                        "dynamodb": dynamodb,
                        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"}]})
}

/// A Swedish mobile number no earlier run used (the emulator keeps every SMS until it
/// restarts), never one of the emulator's opted-out numbers (those end in 99).
pub fn fresh_mobile() -> String {
    let random = ulid::Ulid::new().random() % 10_000_000;
    let random = if random % 100 == 99 {
        random - 1
    } else {
        random
    };
    format!("+4670{random:07}")
}

/// A customer whose primary contact has `mobile`, with two technicians assigned, a site, a
/// work order and one job, stored through the store as the API stores them: what the
/// notification benches send stream records about.
pub struct SeededJob {
    /// The stream keys and stored image of the work order.
    pub order_keys: Value,
    pub order_image: Value,
    /// The stream keys and stored image of the job.
    pub job_keys: Value,
    pub job_image: Value,
}

impl SeededJob {
    /// The stream record of the job going en route in its version `version` (from `version
    /// - 1`): a new text each time, up to the SMS policy's limit per job and trigger.
    pub fn en_route(&self, sequence: usize, version: usize) -> Value {
        let mut after = self.job_image.clone();
        after["status"] = json!({"S": "enRoute"});
        after["version"] = json!({"N": version.to_string()});
        let mut before = self.job_image.clone();
        before["version"] = json!({"N": (version - 1).to_string()});
        let sequence = sequence.to_string();
        stream_record(
            &sequence,
            "MODIFY",
            self.job_keys.clone(),
            Some(after),
            Some(before),
        )
    }
}

/// Settings under which texts go to Swedish numbers with the SMS policy's limits as high as
/// they go, put for `tenant`.
pub async fn allow_texts(store: &store::CustomerStore, tenant: &store::TenantId) {
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
        .put_settings(tenant, &settings, 0)
        .await
        .expect("settings");
}

/// Stores a [`SeededJob`] for customer number `number` in `table` through `store`.
pub async fn seed_job(
    store: &store::CustomerStore,
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    tenant: &store::TenantId,
    (number, mobile): (&str, &str),
) -> SeededJob {
    use chrono::Utc;
    use domain::{Customer, CustomerInput, Job, WorkOrder};

    let mut input = crate::customer(number, "Bench", "Texts");
    input["contacts"] = json!([{"firstName": "Bo", "mobile": mobile, "primary": true}]);
    let input: CustomerInput = serde_json::from_value(input).expect("valid");
    let mut card = Customer::new(
        domain::validate_customer(input, &Default::default()).expect("valid"),
        "bench",
        Utc::now(),
    );
    card.assignees = vec!["tech-1".into(), "tech-2".into()];
    store.create(tenant, &card, None).await.expect("customer");
    let site = crate::records::site(&card, "Yard", "bench");
    let linked = crate::records::link_site(store, tenant, &card, &site).await;
    let fields = domain::validate_work_order(
        serde_json::from_value(json!({"kind": "faultReport", "title": "Leak", "siteId": site.id}))
            .unwrap(),
    )
    .unwrap();
    let order = WorkOrder::new(card.id.clone(), fields, "bench", Utc::now());
    crate::records::link_work_order(store, tenant, &order, linked.version).await;
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
    crate::records::link_job(store, tenant, &order, &job).await;
    let pk = format!("T#{}#C#{}", tenant.as_str(), card.id);
    let order_sk = format!("WORKORDER#{}", order.id);
    let job_sk = format!("JOB#{}", job.id);
    SeededJob {
        order_image: stored_image(dynamodb, table, &pk, &order_sk).await,
        order_keys: json!({"PK": {"S": pk}, "SK": {"S": order_sk}}),
        job_image: stored_image(dynamodb, table, &pk, &job_sk).await,
        job_keys: json!({"PK": {"S": pk}, "SK": {"S": job_sk}}),
    }
}
