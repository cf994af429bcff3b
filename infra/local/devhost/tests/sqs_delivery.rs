//! The template's buckets and queues in the emulator, S3 notifications onto the queue, and the
//! SQS poller's deletes, retries and redrive, with an in-process stand-in for the function (the
//! end-to-end test with the import binary lives with that function).
//!
//! Needs the emulator; without `AWS_ENDPOINT_URL` each test says so and passes, like the
//! crate's other emulator tests (`infra/local/test` sets it).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::QueueAttributeName;
use devhost::{AwsClients, Invoke, InvokeError, PollerOptions, Pollers, StackResources, Template};
use serde_json::{Value, json};

fn emulator_available() -> bool {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        eprintln!("skipped: AWS_ENDPOINT_URL is not set");
        return false;
    }
    true
}

fn template() -> Template {
    let root = devhost::find_repo_root(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    Template::load(root.join(devhost::TEMPLATE_PATH)).unwrap()
}

/// Short enough that `{stack}-imports-{account}-{region}` stays within S3's 63 characters.
fn stack_name() -> String {
    format!("dh-{}", ulid::Ulid::new().to_string().to_lowercase())
}

async fn create(clients: &AwsClients, template: &Template, stack: &str) -> StackResources {
    devhost::create_stack(clients, template, stack, &HashMap::new())
        .await
        .expect("the emulator creates the stack's resources")
}

/// Every message now visible on the queue, left in flight for a minute so each is read once.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .visibility_timeout(60)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            return bodies;
        }
        bodies.extend(received.into_iter().filter_map(|m| m.body));
    }
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"customerNumber;name\n1;Anna\n"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn buckets_and_queues_are_created_as_declared_and_twice_is_harmless() {
    if !emulator_available() {
        return;
    }
    let template = template();
    let clients = AwsClients::from_env().await.unwrap();
    let stack = stack_name();
    let first = create(&clients, &template, &stack).await;
    let second = create(&clients, &template, &stack).await;
    assert_eq!(first.buckets, second.buckets);
    assert_eq!(first.queues, second.queues);

    let region = clients.sqs.config().region().unwrap().to_string();
    let bucket = &first.buckets["ImportsBucket"];
    assert_eq!(bucket, &format!("{stack}-imports-123456789012-{region}"));
    let queue = &first.queues["ImportsQueue"];
    let dead_letters = &first.queues["ImportsDeadLetterQueue"];
    assert_eq!(queue.name, format!("{stack}-ImportsQueue"));
    assert!(queue.arn.ends_with(&format!(":{stack}-ImportsQueue")));
    assert_eq!(
        first.names["ImportsQueue"], queue.url,
        "Ref of a queue is its URL"
    );
    assert_eq!(first.names["ImportsBucket"], *bucket);

    let attributes = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&queue.url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "1800");
    assert_eq!(
        attributes[&QueueAttributeName::MessageRetentionPeriod],
        "345600"
    );
    let redrive: Value =
        serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(redrive["deadLetterTargetArn"], dead_letters.arn.as_str());
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "5"
    );

    let notifications = clients
        .s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let [configuration] = notifications.queue_configurations() else {
        panic!("{notifications:?}")
    };
    assert_eq!(configuration.queue_arn(), queue.arn);
    let cors = clients
        .s3
        .get_bucket_cors()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(cors.cors_rules()[0].allowed_methods(), ["POST", "GET"]);
    assert_eq!(
        cors.cors_rules()[0].allowed_origins(),
        [devhost::stack::local_parameters()["UploadAllowedOrigin"].as_str()],
        "the parameter's local value (it has no Default): the local console's origin"
    );

    // Putting the notification configuration sends S3's test event; the second create left
    // the (equal) configuration alone, so there is one.
    let bodies = drain(&clients.sqs, &queue.url).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let test_event: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(test_event["Event"], "s3:TestEvent");
    assert_eq!(test_event["Bucket"], bucket.as_str());

    put(&clients.s3, bucket, "imports/x/customers.csv").await;
    put(&clients.s3, bucket, "reports/x/01J.csv").await;
    put(&clients.s3, bucket, "elsewhere.csv").await;
    let bodies = drain(&clients.sqs, &queue.url).await;
    assert_eq!(
        bodies.len(),
        1,
        "only the key under imports/ notifies: {bodies:?}"
    );
    let event: Value = serde_json::from_str(&bodies[0]).unwrap();
    let record = &event["Records"][0];
    assert_eq!(record["eventSource"], "aws:s3");
    assert_eq!(record["eventName"], "ObjectCreated:Put");
    assert_eq!(record["s3"]["bucket"]["name"], bucket.as_str());
    // Keys arrive URL-encoded as on S3 ("+" for a space); moto encodes "/" too, S3 does not,
    // so a consumer must decode the key either way.
    let key = record["s3"]["object"]["key"].as_str().unwrap();
    assert_eq!(key.replace("%2F", "/"), "imports/x/customers.csv");
    assert!(record["s3"]["object"]["size"].as_u64().unwrap() > 0);
    assert!(drain(&clients.sqs, &dead_letters.url).await.is_empty());
}

/// A function that fails every record whose body is `fail`, through a partial batch response,
/// and records every event it gets.
#[derive(Default)]
struct FailsFail {
    events: Mutex<Vec<Value>>,
}

impl Invoke for FailsFail {
    fn invoke(
        &self,
        event: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, InvokeError>> + Send + '_>> {
        Box::pin(async move {
            let failures: Vec<Value> = event["Records"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|record| record["body"] == "fail")
                .map(|record| json!({ "itemIdentifier": record["messageId"] }))
                .collect();
            self.events.lock().unwrap().push(event);
            Ok(json!({ "batchItemFailures": failures }))
        })
    }
}

impl FailsFail {
    fn bodies(&self) -> Vec<String> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .flat_map(|e| e["Records"].as_array().cloned().unwrap_or_default())
            .map(|r| r["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn the_poller_deletes_what_succeeded_and_failures_end_in_the_dead_letter_queue() {
    if !emulator_available() {
        return;
    }
    let template = template();
    let clients = AwsClients::from_env().await.unwrap();
    let stack = stack_name();
    let created = create(&clients, &template, &stack).await;
    let import = template.function("CustomersImportFunction").unwrap();
    let [source] = devhost::stack::sqs_event_sources(&template, import, &created, 2)
        .unwrap()
        .try_into()
        .unwrap();
    let queue = &created.queues["ImportsQueue"];
    assert_eq!(source.queue_url, queue.url);
    assert_eq!(source.queue_arn, queue.arn);
    assert_eq!(source.batch_size, 1);
    assert!(source.report_batch_item_failures);
    assert_eq!(source.concurrency, 2);

    for body in ["fine", "fail"] {
        clients
            .sqs
            .send_message()
            .queue_url(&queue.url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let function = Arc::new(FailsFail::default());
    let options = PollerOptions {
        idle_delay: Duration::from_millis(50),
        retry_delay: Duration::ZERO,
        error_delay: Duration::from_millis(200),
    };
    let mut pollers = Pollers::new();
    pollers.start(clients.sqs.clone(), source, function.clone(), options);

    let dead_letters = &created.queues["ImportsDeadLetterQueue"];
    let mut redriven = Vec::new();
    for _ in 0..100 {
        redriven = drain(&clients.sqs, &dead_letters.url).await;
        if !redriven.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pollers.stop();
    assert_eq!(redriven, ["fail"]);

    let bodies = function.bodies();
    let count = |body: &str| bodies.iter().filter(|b| *b == body).count();
    assert_eq!(count("fine"), 1, "deleted after one delivery: {bodies:?}");
    assert_eq!(count("fail"), 5, "maxReceiveCount deliveries: {bodies:?}");
    assert_eq!(
        count(""),
        0,
        "every record has a body (the S3 test event too): {bodies:?}"
    );
    let events = function.events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .all(|e| e["Records"].as_array().unwrap().len() == 1),
        "BatchSize 1"
    );
    let record = &events[0]["Records"][0];
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(record["eventSourceARN"], queue.arn.as_str());
    for attribute in [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ] {
        assert!(
            record["attributes"][attribute].is_string(),
            "{attribute}: {record}"
        );
    }
    let receive_counts: Vec<&str> = events
        .iter()
        .map(|e| &e["Records"][0])
        .filter(|r| r["body"] == "fail")
        .map(|r| r["attributes"]["ApproximateReceiveCount"].as_str().unwrap())
        .collect();
    assert_eq!(receive_counts, ["1", "2", "3", "4", "5"]);
    assert!(
        drain(&clients.sqs, &queue.url).await.is_empty(),
        "nothing left on the queue"
    );
}
