//! The DynamoDB stream event source mapping of `CustomersCascadeFunction` (the template's
//! own: its filter, batch size, retries, bisecting and on-failure queue) against the emulator's
//! stream, with an in-process stand-in for the function (the cascade binary is tested with
//! that function).
//!
//! Needs the emulator; without `AWS_ENDPOINT_URL` each test says so and passes, like the
//! crate's other emulator tests (`infra/local/test` sets it).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use devhost::{
    AwsClients, DynamoDbEventSource, Invoke, InvokeError, StackResources, StreamOptions,
    StreamPollers, Template,
};
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

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:cascade";

/// A fresh stack's resources and the cascade function's stream event source on its table.
async fn cascade_source(clients: &AwsClients) -> (StackResources, DynamoDbEventSource) {
    let template = template();
    let stack = format!("ds-{}", ulid::Ulid::new().to_string().to_lowercase());
    let created = devhost::create_stack(clients, &template, &stack, &HashMap::new())
        .await
        .expect("the emulator creates the stack's resources");
    let cascade = template.function("CustomersCascadeFunction").unwrap();
    let [source] =
        devhost::stack::dynamodb_event_sources(&template, cascade, &created, FUNCTION_ARN)
            .unwrap()
            .try_into()
            .unwrap();
    (created, source)
}

fn fast() -> StreamOptions {
    StreamOptions {
        idle_delay: Duration::from_millis(50),
        retry_delay: Duration::from_millis(20),
        error_delay: Duration::from_millis(200),
        shard_refresh: Duration::from_secs(1),
        unlimited_retries: 3,
    }
}

/// Writes an item of `entity` with `status` (creating or replacing it).
async fn put(clients: &AwsClients, table: &str, id: &str, entity: &str, status: &str) {
    clients
        .dynamodb
        .put_item()
        .table_name(table)
        .item("PK", AttributeValue::S(format!("TENANT#t#{id}")))
        .item("SK", AttributeValue::S(entity.to_uppercase()))
        .item("entity", AttributeValue::S(entity.into()))
        .item("status", AttributeValue::S(status.into()))
        .send()
        .await
        .unwrap();
}

/// An active customer that then turns inactive: what the cascade's filter lets through.
async fn deactivate(clients: &AwsClients, table: &str, id: &str) {
    put(clients, table, id, "Customer", "active").await;
    put(clients, table, id, "Customer", "inactive").await;
}

type Behaviour = fn(&[String]) -> Result<Value, InvokeError>;

/// A function that answers each batch by `behaviour` (given the batch's ids) and records
/// every event it gets.
struct StandIn {
    behaviour: Behaviour,
    events: Mutex<Vec<Value>>,
}

impl StandIn {
    fn new(behaviour: Behaviour) -> Arc<Self> {
        Arc::new(Self {
            behaviour,
            events: Mutex::new(Vec::new()),
        })
    }

    /// The ids (`TENANT#t#<id>` without the prefix) of each invocation's records.
    fn batches(&self) -> Vec<Vec<String>> {
        self.events.lock().unwrap().iter().map(ids).collect()
    }

    fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }
}

fn ids(event: &Value) -> Vec<String> {
    event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let pk = r["dynamodb"]["Keys"]["PK"]["S"].as_str().unwrap();
            pk.trim_start_matches("TENANT#t#").to_owned()
        })
        .collect()
}

impl Invoke for StandIn {
    fn invoke(
        &self,
        event: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, InvokeError>> + Send + '_>> {
        Box::pin(async move {
            let result = (self.behaviour)(&ids(&event));
            self.events.lock().unwrap().push(event);
            result
        })
    }
}

/// Sequence number of the record of `id` in the recorded events.
fn sequence_of(events: &[Value], id: &str) -> Option<String> {
    events
        .iter()
        .flat_map(|e| e["Records"].as_array().unwrap().clone())
        .find(|r| r["dynamodb"]["Keys"]["PK"]["S"] == format!("TENANT#t#{id}"))
        .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap().to_owned())
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Every message now on the queue, left in flight for a minute so each is read once.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
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
        for message in received {
            bodies.push(serde_json::from_str(message.body().unwrap()).unwrap());
        }
    }
}

async fn dead_letters(clients: &AwsClients, created: &StackResources) -> Vec<Value> {
    drain(&clients.sqs, &created.queues["CascadeDeadLetterQueue"].url).await
}

#[tokio::test]
async fn only_customers_that_turned_inactive_are_delivered_in_order() {
    if !emulator_available() {
        return;
    }
    let clients = AwsClients::from_env().await.unwrap();
    let (created, source) = cascade_source(&clients).await;
    let table = &created.tables["CustomersTable"];
    assert_eq!(source.stream_arn, created.streams["CustomersTable"]);
    assert!(
        source
            .stream_arn
            .contains(&format!("table/{table}/stream/"))
    );
    assert_eq!(
        source.on_failure_queue_url.as_deref(),
        Some(created.queues["CascadeDeadLetterQueue"].url.as_str())
    );
    assert_eq!(source.batch_size, 10);
    assert_eq!(source.maximum_retry_attempts, Some(5));
    assert!(source.bisect_batch_on_function_error && source.report_batch_item_failures);

    // Written before the mapping starts: TRIM_HORIZON reads them.
    deactivate(&clients, table, "c1").await;
    put(&clients, table, "c2", "Customer", "inactive").await; // an INSERT
    put(&clients, table, "c2", "Customer", "inactive").await; // inactive -> inactive
    put(&clients, table, "s1", "Site", "active").await;
    put(&clients, table, "s1", "Site", "inactive").await; // not a customer
    deactivate(&clients, table, "c3").await;
    put(&clients, table, "c1", "Customer", "active").await; // reactivated

    let function = StandIn::new(|_| Ok(json!({ "batchItemFailures": [] })));
    let mut pollers = StreamPollers::new();
    pollers.start(
        clients.dynamodb_streams.clone(),
        clients.sqs.clone(),
        source.clone(),
        function.clone(),
        fast(),
    );
    wait_for("the first two deactivations", || {
        function.batches().concat().len() >= 2
    })
    .await;
    // And one written while the mapping runs.
    deactivate(&clients, table, "c4").await;
    wait_for("the third deactivation", || {
        function.batches().concat().len() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    pollers.stop();

    assert_eq!(function.batches().concat(), ["c1", "c3", "c4"]);
    let events = function.events();
    let record = &events[0]["Records"][0];
    assert_eq!(record["eventName"], "MODIFY");
    assert_eq!(record["eventVersion"], "1.1");
    assert_eq!(record["eventSource"], "aws:dynamodb");
    assert_eq!(record["eventSourceARN"], source.stream_arn.as_str());
    assert!(record["awsRegion"].is_string());
    assert!(record["eventID"].as_str().is_some_and(|id| !id.is_empty()));
    let dynamodb = &record["dynamodb"];
    assert_eq!(dynamodb["OldImage"]["status"]["S"], "active");
    assert_eq!(dynamodb["NewImage"]["status"]["S"], "inactive");
    assert_eq!(dynamodb["NewImage"]["entity"]["S"], "Customer");
    assert_eq!(dynamodb["Keys"]["SK"]["S"], "CUSTOMER");
    assert_eq!(dynamodb["StreamViewType"], "NEW_AND_OLD_IMAGES");
    assert!(dynamodb["ApproximateCreationDateTime"].is_i64());
    assert!(dynamodb["SizeBytes"].is_i64());
    assert!(dead_letters(&clients, &created).await.is_empty());
}

#[tokio::test]
async fn a_partial_failure_retries_from_the_failed_record_and_exhausted_retries_go_to_the_queue() {
    if !emulator_available() {
        return;
    }
    let clients = AwsClients::from_env().await.unwrap();
    let (created, source) = cascade_source(&clients).await;
    let table = &created.tables["CustomersTable"];
    for id in ["c1", "bad", "c3"] {
        deactivate(&clients, table, id).await;
    }
    // The stand-in reports the record of `bad` failed, every time.
    let function = StandIn::new(|ids| {
        let failures: Vec<Value> = ids
            .iter()
            .position(|id| id == "bad")
            .map(|_| json!({ "itemIdentifier": "SEQUENCE-OF-bad" }))
            .into_iter()
            .collect();
        Ok(json!({ "batchItemFailures": failures }))
    });
    // The identifier must be the record's sequence number: a wrapper fills it in.
    let wrapper = Arc::new(SequenceFiller {
        inner: function.clone(),
    });
    let mut pollers = StreamPollers::new();
    pollers.start(
        clients.dynamodb_streams.clone(),
        clients.sqs.clone(),
        source.clone(),
        wrapper,
        fast(),
    );
    let mut failed = Vec::new();
    wait_for("the on-failure record", || !function.batches().is_empty()).await;
    for _ in 0..100 {
        failed = dead_letters(&clients, &created).await;
        if !failed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    deactivate(&clients, table, "c4").await;
    wait_for("the record after the given-up ones", || {
        function.batches().last().is_some_and(|b| b == &["c4"])
    })
    .await;
    pollers.stop();

    let batches = function.batches();
    assert_eq!(batches[0], ["c1", "bad", "c3"]);
    assert_eq!(
        &batches[1..6],
        vec![vec!["bad".to_owned(), "c3".to_owned()]; 5],
        "five retries from the failed record: {batches:?}"
    );
    assert_eq!(batches[6..], [["c4"]], "{batches:?}");
    let events = function.events();
    let [failure] = failed.as_slice() else {
        panic!("{failed:?}")
    };
    assert_eq!(
        failure["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(failure["requestContext"]["functionArn"], FUNCTION_ARN);
    assert_eq!(failure["requestContext"]["approximateInvokeCount"], 6);
    let info = &failure["DDBStreamBatchInfo"];
    assert_eq!(info["batchSize"], 2);
    assert_eq!(
        info["startSequenceNumber"],
        sequence_of(&events, "bad").unwrap()
    );
    assert_eq!(
        info["endSequenceNumber"],
        sequence_of(&events, "c3").unwrap()
    );
    assert_eq!(info["streamArn"], source.stream_arn.as_str());
    assert!(info["shardId"].as_str().unwrap().starts_with("shardId-"));
    assert!(info["approximateArrivalOfFirstRecord"].is_string());
}

/// Puts the real sequence number of `bad` into the inner function's partial batch response.
struct SequenceFiller {
    inner: Arc<StandIn>,
}

impl Invoke for SequenceFiller {
    fn invoke(
        &self,
        event: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, InvokeError>> + Send + '_>> {
        Box::pin(async move {
            let bad = sequence_of(std::slice::from_ref(&event), "bad").unwrap_or_default();
            let mut response = self.inner.invoke(event.clone()).await?;
            if let Some(items) = response["batchItemFailures"].as_array_mut() {
                for item in items {
                    item["itemIdentifier"] = json!(bad);
                }
            }
            Ok(response)
        })
    }
}

#[tokio::test]
async fn function_errors_bisect_the_batch_down_to_the_failing_record() {
    if !emulator_available() {
        return;
    }
    let clients = AwsClients::from_env().await.unwrap();
    let (created, source) = cascade_source(&clients).await;
    let table = &created.tables["CustomersTable"];
    for id in ["c1", "c2", "boom", "c4"] {
        deactivate(&clients, table, id).await;
    }
    let function = StandIn::new(|ids| {
        if ids.iter().any(|id| id == "boom") {
            Err(InvokeError::Function(
                json!({"errorType": "Boom", "errorMessage": "no"}),
            ))
        } else {
            Ok(Value::Null)
        }
    });
    let mut pollers = StreamPollers::new();
    pollers.start(
        clients.dynamodb_streams.clone(),
        clients.sqs.clone(),
        source,
        function.clone(),
        fast(),
    );
    wait_for("the record after the failing one", || {
        function.batches().last().is_some_and(|b| b == &["c4"])
    })
    .await;
    pollers.stop();
    let batches = function.batches();
    let expected: Vec<Vec<&str>> = vec![
        vec!["c1", "c2", "boom", "c4"],
        vec!["c1", "c2"],
        vec!["boom", "c4"],
        vec!["boom"],
        vec!["boom"],
        vec!["boom"],
        vec!["boom"],
        vec!["boom"],
        vec!["c4"],
    ];
    assert_eq!(batches, expected);
    let failed = dead_letters(&clients, &created).await;
    let [failure] = failed.as_slice() else {
        panic!("{failed:?}")
    };
    assert_eq!(failure["responseContext"]["functionError"], "Unhandled");
    assert_eq!(failure["requestContext"]["approximateInvokeCount"], 6);
    let info = &failure["DDBStreamBatchInfo"];
    assert_eq!(info["batchSize"], 1);
    let boom = sequence_of(&function.events(), "boom").unwrap();
    assert_eq!(info["startSequenceNumber"], boom);
    assert_eq!(info["endSequenceNumber"], boom);
}
