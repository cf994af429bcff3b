//! Lambda's event source mapping for SQS, locally: a poller per `Type: SQS` event of a function
//! that receives messages from the queue, invokes the function with the event Lambda sends and
//! deletes what the function handled, the way the deployed mapping does.
//!
//! References: "Using Lambda with Amazon SQS" (the event, batching, scaling) and "Handling
//! errors for an SQS event source in Lambda" (partial batch responses), in the Lambda developer
//! guide.
//!
//! - Up to `BatchSize` messages per invocation; with `MaximumBatchingWindowInSeconds` the poller
//!   gathers messages for that long, otherwise it invokes with what one receive returned.
//! - A successful invocation deletes the whole batch; with `ReportBatchItemFailures`, all but
//!   the messages listed in `batchItemFailures[].itemIdentifier`. A response naming an unknown or
//!   empty id, or one that is neither an object nor null, fails the whole batch (Lambda's rule).
//! - A function error or timeout deletes nothing.
//! - Redrive: the queue's `RedrivePolicy` moves a message that was received `maxReceiveCount`
//!   times to the dead-letter queue. moto does this itself on ReceiveMessage (as SQS does), so
//!   the poller does not.
//!
//! Two local departures, both about time:
//! - **Short polls.** The emulator serves one request at a time, so a long poll
//!   (`WaitTimeSeconds` > 0) would stop every other request for its duration. The poller asks
//!   with `WaitTimeSeconds=0` and sleeps [`PollerOptions::idle_delay`] after an empty answer.
//! - **Quick retries.** A message that stays is made visible again after
//!   [`PollerOptions::retry_delay`] (ChangeMessageVisibility) instead of after the queue's
//!   visibility timeout (30 minutes for the imports queue), so a local retry, and the way to the
//!   dead-letter queue, takes seconds.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageAttributeValue, MessageSystemAttributeName,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::gateway::Invoke;
use crate::lambda_host::InvokeError;

/// SQS's limit per ReceiveMessage, DeleteMessageBatch and ChangeMessageVisibilityBatch.
const SQS_BATCH_LIMIT: usize = 10;

/// How the pollers pace themselves.
#[derive(Debug, Clone)]
pub struct PollerOptions {
    /// Pause after a receive that found the queue empty.
    pub idle_delay: Duration,
    /// When a message that was not deleted becomes visible again (a local shortcut: see the
    /// module documentation).
    pub retry_delay: Duration,
    /// Pause after a failed SQS call (the emulator gone, say) before trying again.
    pub error_delay: Duration,
}

impl Default for PollerOptions {
    fn default() -> Self {
        Self {
            idle_delay: Duration::from_millis(200),
            retry_delay: Duration::from_secs(3),
            error_delay: Duration::from_secs(1),
        }
    }
}

/// One function's `Type: SQS` event, resolved to the local queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsEventSource {
    /// Logical id of the function, for the logs.
    pub function: String,
    /// Name of the event under the function's `Events`.
    pub event: String,
    pub queue_url: String,
    /// The queue's ARN: the records' `eventSourceARN` (and, its region, `awsRegion`).
    pub queue_arn: String,
    /// Messages per invocation at most (may exceed SQS's 10 per receive).
    pub batch_size: u32,
    pub batching_window: Duration,
    pub report_batch_item_failures: bool,
    /// Batches in flight at the same time (at least 1).
    pub concurrency: usize,
}

/// Running pollers; dropping this stops them (batches in flight are abandoned and their
/// messages come back after the queue's visibility timeout).
#[derive(Default)]
pub struct Pollers {
    tasks: Vec<JoinHandle<()>>,
}

impl Pollers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts polling `source` for `target`.
    pub fn start(
        &mut self,
        sqs: aws_sdk_sqs::Client,
        source: SqsEventSource,
        target: Arc<dyn Invoke>,
        options: PollerOptions,
    ) {
        self.tasks
            .push(spawn_sqs_poller(sqs, source, target, options));
    }

    /// Stops every poller (dropping does the same).
    pub fn stop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl Drop for Pollers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls the queue of `source` until the task is aborted, invoking `target` with each batch.
pub fn spawn_sqs_poller(
    sqs: aws_sdk_sqs::Client,
    source: SqsEventSource,
    target: Arc<dyn Invoke>,
    options: PollerOptions,
) -> JoinHandle<()> {
    let poller = Arc::new(Poller {
        sqs,
        source,
        target,
        options,
    });
    tokio::spawn(poller.run())
}

struct Poller {
    sqs: aws_sdk_sqs::Client,
    source: SqsEventSource,
    target: Arc<dyn Invoke>,
    options: PollerOptions,
}

impl Poller {
    /// One receive loop; batches run as tasks of a `JoinSet` owned by this future, so aborting
    /// the poller aborts them too. A batch slot is taken before receiving, so no message is
    /// received (and made invisible) that no invocation could take.
    async fn run(self: Arc<Self>) {
        let slots = Arc::new(Semaphore::new(self.source.concurrency.max(1)));
        let mut batches = JoinSet::new();
        let mut failing = false;
        loop {
            while batches.try_join_next().is_some() {}
            let slot = slots
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            match self.collect_batch().await {
                Ok(batch) if batch.is_empty() => {
                    failing = false;
                    drop(slot);
                    tokio::time::sleep(self.options.idle_delay).await;
                }
                Ok(batch) => {
                    failing = false;
                    let poller = self.clone();
                    batches.spawn(async move {
                        poller.deliver(batch).await;
                        drop(slot);
                    });
                }
                Err(error) => {
                    // Once per streak: an emulator that went away would fill the log otherwise.
                    if !failing {
                        tracing::warn!(
                            function = %self.source.function,
                            queue = %self.source.queue_url,
                            "receiving failed (retrying every {:?}): {error}",
                            self.options.error_delay
                        );
                    }
                    failing = true;
                    drop(slot);
                    tokio::time::sleep(self.options.error_delay).await;
                }
            }
        }
    }

    /// Up to `batch_size` messages: what one receive returns, or with a batching window all
    /// that arrive within it from the first message on.
    async fn collect_batch(&self) -> Result<Vec<Message>, String> {
        let wanted = self.source.batch_size.max(1) as usize;
        let mut batch: Vec<Message> = Vec::new();
        let mut deadline: Option<Instant> = None;
        loop {
            let asked = (wanted - batch.len()).min(SQS_BATCH_LIMIT);
            let received = self.receive(asked).await?;
            let got = received.len();
            batch.extend(received);
            if batch.len() >= wanted || batch.is_empty() {
                return Ok(batch);
            }
            if self.source.batching_window.is_zero() {
                if got < asked {
                    return Ok(batch);
                }
                continue;
            }
            let deadline =
                *deadline.get_or_insert_with(|| Instant::now() + self.source.batching_window);
            let now = Instant::now();
            if now >= deadline {
                return Ok(batch);
            }
            if got < asked {
                tokio::time::sleep(self.options.idle_delay.min(deadline - now)).await;
            }
        }
    }

    async fn receive(&self, count: usize) -> Result<Vec<Message>, String> {
        let output = self
            .sqs
            .receive_message()
            .queue_url(&self.source.queue_url)
            .max_number_of_messages(count as i32)
            // Never a long poll: the emulator serves one request at a time.
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
        Ok(output.messages.unwrap_or_default())
    }

    async fn deliver(&self, batch: Vec<Message>) {
        let source = &self.source;
        let ids: Vec<String> = batch
            .iter()
            .map(|m| m.message_id().unwrap_or_default().to_owned())
            .collect();
        let event = sqs_event(&batch, &source.queue_arn);
        let result = self.target.invoke(event).await;
        let settlement = settle(&ids, &result, source.report_batch_item_failures);
        match &result {
            Ok(_) => tracing::info!(
                function = %source.function,
                event = %source.event,
                "{} message(s): {} handled, {} to retry",
                ids.len(),
                settlement.delete.len(),
                settlement.retry.len()
            ),
            Err(error) => tracing::warn!(
                function = %source.function,
                event = %source.event,
                "{} message(s) not handled, retried in {:?}: {error}",
                ids.len(),
                self.options.retry_delay
            ),
        }
        let receipts: HashMap<&str, &str> = batch
            .iter()
            .filter_map(|m| Some((m.message_id()?, m.receipt_handle()?)))
            .collect();
        let handles = |ids: &[String]| -> Vec<String> {
            ids.iter()
                .filter_map(|id| receipts.get(id.as_str()).map(|h| (*h).to_owned()))
                .collect()
        };
        if let Err(error) = self.delete(handles(&settlement.delete)).await {
            tracing::warn!(function = %source.function, "deleting handled messages failed: {error}");
        }
        if let Err(error) = self.make_visible(handles(&settlement.retry)).await {
            tracing::warn!(function = %source.function, "making messages visible again failed: {error}");
        }
    }

    async fn delete(&self, receipt_handles: Vec<String>) -> Result<(), String> {
        for chunk in receipt_handles.chunks(SQS_BATCH_LIMIT) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .receipt_handle(handle)
                        .build()
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.source.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
            if let Some(failed) = output.failed().first() {
                return Err(format!(
                    "{} of {} not deleted: {}",
                    output.failed().len(),
                    chunk.len(),
                    failed.message().unwrap_or(failed.code())
                ));
            }
        }
        Ok(())
    }

    async fn make_visible(&self, receipt_handles: Vec<String>) -> Result<(), String> {
        let seconds = i32::try_from(self.options.retry_delay.as_secs()).unwrap_or(i32::MAX);
        for chunk in receipt_handles.chunks(SQS_BATCH_LIMIT) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, handle)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .receipt_handle(handle)
                        .visibility_timeout(seconds)
                        .build()
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .sqs
                .change_message_visibility_batch()
                .queue_url(&self.source.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
            if let Some(failed) = output.failed().first() {
                return Err(format!(
                    "{} of {} unchanged: {}",
                    output.failed().len(),
                    chunk.len(),
                    failed.message().unwrap_or(failed.code())
                ));
            }
        }
        Ok(())
    }
}

/// The event Lambda invokes the function with for a batch from the queue `queue_arn`.
pub fn sqs_event(messages: &[Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages.iter().map(|m| sqs_record(m, queue_arn)).collect();
    json!({ "Records": records })
}

/// One record of the event: the message with its system attributes (`ApproximateReceiveCount`,
/// `SentTimestamp`, `SenderId`, `ApproximateFirstReceiveTimestamp`, ...) and message
/// attributes in Lambda's camel-case shape.
pub fn sqs_record(message: &Message, queue_arn: &str) -> Value {
    let attributes: Map<String, Value> = message
        .attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.as_str().to_owned(), Value::String(value.clone())))
        .collect();
    let message_attributes: Map<String, Value> = message
        .message_attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.clone(), message_attribute(value)))
        .collect();
    let mut record = json!({
        "messageId": message.message_id().unwrap_or_default(),
        "receiptHandle": message.receipt_handle().unwrap_or_default(),
        "body": message.body().unwrap_or_default(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.md5_of_body().unwrap_or_default(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region_of_arn(queue_arn),
    });
    if let Some(md5) = message.md5_of_message_attributes() {
        record["md5OfMessageAttributes"] = Value::String(md5.to_owned());
    }
    record
}

fn message_attribute(value: &MessageAttributeValue) -> Value {
    let blobs = |blobs: &[aws_sdk_sqs::primitives::Blob]| -> Vec<String> {
        blobs.iter().map(|b| STANDARD.encode(b.as_ref())).collect()
    };
    let mut out = json!({
        "stringListValues": value.string_list_values(),
        "binaryListValues": blobs(value.binary_list_values()),
        "dataType": value.data_type(),
    });
    if let Some(text) = value.string_value() {
        out["stringValue"] = Value::String(text.to_owned());
    }
    if let Some(binary) = value.binary_value() {
        out["binaryValue"] = Value::String(STANDARD.encode(binary.as_ref()));
    }
    out
}

/// The region field of an ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`).
pub fn region_of_arn(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or_default()
}

/// What becomes of a batch's messages after the invocation, by message id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settlement {
    pub delete: Vec<String>,
    /// Left on the queue, to be received again (and redriven in the end).
    pub retry: Vec<String>,
}

/// Lambda's rules for a batch of `message_ids` given the invocation's `result`: see the module
/// documentation.
pub fn settle(
    message_ids: &[String],
    result: &Result<Value, InvokeError>,
    report_batch_item_failures: bool,
) -> Settlement {
    let all = |delete: bool| {
        let ids = message_ids.to_vec();
        if delete {
            Settlement {
                delete: ids,
                retry: Vec::new(),
            }
        } else {
            Settlement {
                delete: Vec::new(),
                retry: ids,
            }
        }
    };
    let Ok(response) = result else {
        return all(false);
    };
    if !report_batch_item_failures {
        return all(true);
    }
    let Some(failed) = batch_item_failures(response, message_ids) else {
        tracing::warn!("invalid partial batch response, the whole batch fails: {response}");
        return all(false);
    };
    let (retry, delete) = message_ids
        .iter()
        .cloned()
        .partition(|id| failed.contains(id.as_str()));
    Settlement { delete, retry }
}

/// The ids a partial batch response lists; `None` when Lambda would call it invalid. Null, an
/// object without `batchItemFailures` and a null or empty list mean "all succeeded".
fn batch_item_failures<'a>(
    response: &'a Value,
    message_ids: &[String],
) -> Option<HashSet<&'a str>> {
    let items = match response {
        Value::Null => return Some(HashSet::new()),
        Value::Object(fields) => match fields.get("batchItemFailures") {
            None | Some(Value::Null) => return Some(HashSet::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return None,
        },
        _ => return None,
    };
    let mut failed = HashSet::new();
    for item in items {
        let id = item.get("itemIdentifier")?.as_str()?;
        if id.is_empty() || !message_ids.iter().any(|m| m == id) {
            return None;
        }
        failed.insert(id);
    }
    Some(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:sqs:eu-north-1:123456789012:s-ImportsQueue";

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn message(id: &str, body: &str) -> Message {
        Message::builder()
            .message_id(id)
            .receipt_handle(format!("rh-{id}"))
            .body(body)
            .md5_of_body("md5")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .attributes(MessageSystemAttributeName::SentTimestamp, "1545082649183")
            .attributes(
                MessageSystemAttributeName::SenderId,
                "AIDAIENQZJOLO23YVJ4VO",
            )
            .attributes(
                MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
                "1545082649185",
            )
            .build()
    }

    #[test]
    fn the_event_has_lambdas_record_shape() {
        let event = sqs_event(&[message("a", "{\"x\":1}"), message("b", "two")], ARN);
        let records = event["Records"].as_array().unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0],
            json!({
                "messageId": "a",
                "receiptHandle": "rh-a",
                "body": "{\"x\":1}",
                "attributes": {
                    "ApproximateReceiveCount": "2",
                    "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082649185",
                },
                "messageAttributes": {},
                "md5OfBody": "md5",
                "eventSource": "aws:sqs",
                "eventSourceARN": ARN,
                "awsRegion": "eu-north-1",
            })
        );
        assert_eq!(records[1]["body"], "two");
        // The import function and the cascade read it as aws_lambda_events' typed event.
        let typed: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(event).unwrap();
        assert_eq!(typed.records[0].message_id.as_deref(), Some("a"));
        assert_eq!(typed.records[0].attributes["ApproximateReceiveCount"], "2");
        assert_eq!(typed.records[1].body.as_deref(), Some("two"));
    }

    #[test]
    fn message_attributes_take_lambdas_camel_case_form() {
        let text = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("v")
            .build()
            .unwrap();
        let binary = MessageAttributeValue::builder()
            .data_type("Binary")
            .binary_value(aws_sdk_sqs::primitives::Blob::new(b"hi".to_vec()))
            .build()
            .unwrap();
        let with_attributes = Message::builder()
            .message_id("a")
            .body("b")
            .md5_of_message_attributes("m5")
            .message_attributes("kind", text)
            .message_attributes("blob", binary)
            .build();
        let record = sqs_record(&with_attributes, ARN);
        assert_eq!(
            record["messageAttributes"],
            json!({
                "kind": {"stringValue": "v", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
                "blob": {"binaryValue": "aGk=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
            })
        );
        assert_eq!(record["md5OfMessageAttributes"], "m5");
        assert!(
            sqs_record(&message("a", "b"), ARN)
                .get("md5OfMessageAttributes")
                .is_none()
        );
    }

    #[test]
    fn without_partial_responses_success_deletes_all_and_errors_none() {
        let batch = ids(&["a", "b"]);
        let ok = settle(&batch, &Ok(json!({"anything": 1})), false);
        assert_eq!(ok.delete, batch);
        assert!(ok.retry.is_empty());
        for error in [
            InvokeError::Timeout,
            InvokeError::Function(json!({"errorType": "Boom"})),
        ] {
            let failed = settle(&batch, &Err(error), false);
            assert!(failed.delete.is_empty());
            assert_eq!(failed.retry, batch);
        }
    }

    #[test]
    fn partial_responses_keep_exactly_the_listed_messages() {
        let batch = ids(&["a", "b", "c"]);
        let response = json!({"batchItemFailures": [{"itemIdentifier": "b"}]});
        assert_eq!(
            settle(&batch, &Ok(response), true),
            Settlement {
                delete: ids(&["a", "c"]),
                retry: ids(&["b"])
            }
        );
        for success in [
            json!(null),
            json!({}),
            json!({"batchItemFailures": []}),
            json!({"batchItemFailures": null}),
        ] {
            assert_eq!(
                settle(&batch, &Ok(success.clone()), true).delete,
                batch,
                "{success}"
            );
        }
        assert_eq!(
            settle(&batch, &Err(InvokeError::Timeout), true).retry,
            batch,
            "an error fails the whole batch"
        );
    }

    #[test]
    fn invalid_partial_responses_fail_the_whole_batch() {
        let batch = ids(&["a", "b"]);
        for invalid in [
            json!({"batchItemFailures": [{"itemIdentifier": "zzz"}]}),
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{"itemIdentifier": null}]}),
            json!({"batchItemFailures": [{"id": "a"}]}),
            json!({"batchItemFailures": "a"}),
            json!("done"),
            json!(3),
        ] {
            assert_eq!(
                settle(&batch, &Ok(invalid.clone()), true),
                Settlement {
                    delete: vec![],
                    retry: batch.clone()
                },
                "{invalid}"
            );
        }
    }

    #[test]
    fn the_region_is_read_from_the_arn() {
        assert_eq!(region_of_arn(ARN), "eu-north-1");
        assert_eq!(region_of_arn("nonsense"), "");
    }
}
