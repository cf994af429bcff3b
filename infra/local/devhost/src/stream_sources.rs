//! Lambda's event source mapping for DynamoDB streams, locally: a poller per `Type: DynamoDB`
//! event of a function that reads every shard of the table's stream, keeps the records its
//! `FilterCriteria` match, invokes the function with the event Lambda sends and checkpoints,
//! retries, bisects and gives up the way the deployed mapping does.
//!
//! References: "Using Lambda with DynamoDB" (the event, batching, starting position, error
//! handling, partial batch responses, on-failure destinations) and "Control which events Lambda
//! sends to your function" (filtering), in the Lambda developer guide.
//!
//! - Each mapping reads the stream on its own (its own iterators), so several mappings with
//!   other filters on one stream see every record each. Records of one shard are delivered in
//!   order, one batch at a time; a batch being retried holds its shard back.
//! - A shard is read from `StartingPosition` (TRIM_HORIZON or LATEST) when the mapping starts;
//!   shards that appear later (after a split, or a closed shard's children) are read from their
//!   beginning, a child only once its parent is read to its end. The stream is described again
//!   every [`StreamOptions::shard_refresh`] and whenever a shard ends.
//! - Records that match no filter are dropped: not delivered, and not counted towards
//!   `BatchSize`. Up to `BatchSize` matching records per invocation; with
//!   `MaximumBatchingWindowInSeconds`, matching records are gathered for up to that long.
//! - After a success the mapping moves past the batch. With `ReportBatchItemFailures`, a
//!   response's `batchItemFailures[].itemIdentifier` is a `SequenceNumber`: the records before
//!   the lowest one listed are done, the batch is retried from it. An identifier that is empty,
//!   not text or not in the batch, or a response that is neither an object nor null, fails the
//!   whole batch (Lambda's rule).
//! - A function error or timeout retries the whole batch; with `BisectBatchOnFunctionError` the
//!   batch is halved first (the first half is retried; the rest follows as the next batch).
//! - After `MaximumRetryAttempts` retries of the same records (counted across bisecting), the
//!   mapping sends Lambda's invocation record (`DDBStreamBatchInfo`) to the `OnFailure` queue,
//!   or only logs it when there is none, and moves past them.
//!
//! Local departures, about time:
//! - **Short polls.** The emulator serves one request at a time: a shard that returned no
//!   records is asked again after [`StreamOptions::idle_delay`] (200 ms), never in a loop.
//! - **Quick retries.** A failed batch is retried after [`StreamOptions::retry_delay`] (1 s),
//!   where Lambda backs off exponentially.
//! - **Unlimited retries are capped.** `MaximumRetryAttempts: -1` (the default) retries until
//!   the record leaves the stream, 24 hours on AWS; locally the mapping gives up after
//!   [`StreamOptions::unlimited_retries`] retries (20) and reports the records to the on-failure
//!   destination with condition `RecordAgeExceeded`, as Lambda does when a record expires.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, Shard, ShardIteratorType};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::event_sources::region_of_arn;
use crate::filter::{FilterPattern, matches_any};
use crate::gateway::Invoke;
use crate::lambda_host::InvokeError;
use crate::template::StartingPosition;

/// GetRecords returns at most this many records.
const GET_RECORDS_LIMIT: i32 = 1000;

/// How the stream pollers pace themselves.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Pause after a round in which no shard returned a record.
    pub idle_delay: Duration,
    /// Pause before retrying a failed batch (a local shortcut: see the module documentation).
    pub retry_delay: Duration,
    /// Pause after a failed stream call (the emulator gone, say) before trying again.
    pub error_delay: Duration,
    /// How often the stream is described again, to find new shards.
    pub shard_refresh: Duration,
    /// Retries of the same records when `MaximumRetryAttempts` is -1 (unlimited on AWS).
    pub unlimited_retries: u32,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            idle_delay: Duration::from_millis(200),
            retry_delay: Duration::from_secs(1),
            error_delay: Duration::from_secs(1),
            shard_refresh: Duration::from_secs(10),
            unlimited_retries: 20,
        }
    }
}

/// One function's `Type: DynamoDB` event, resolved to the local stream and queue.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamoDbEventSource {
    /// Logical id of the function, for the logs.
    pub function: String,
    /// Name of the event under the function's `Events`.
    pub event: String,
    /// The function's ARN, for the on-failure record.
    pub function_arn: String,
    /// The stream's ARN: the records' `eventSourceARN`.
    pub stream_arn: String,
    pub starting_position: StartingPosition,
    /// Matching records per invocation at most.
    pub batch_size: u32,
    pub batching_window: Duration,
    /// `None`: Lambda's -1, until the record expires (locally capped).
    pub maximum_retry_attempts: Option<u32>,
    pub bisect_batch_on_function_error: bool,
    pub report_batch_item_failures: bool,
    /// URL of the `OnFailure` queue.
    pub on_failure_queue_url: Option<String>,
    /// Empty: every record is delivered.
    pub filters: Vec<FilterPattern>,
}

/// Running stream pollers; dropping this stops them (a batch in flight is abandoned; nothing
/// is checkpointed across runs, a new mapping starts at its `StartingPosition` again).
#[derive(Default)]
pub struct StreamPollers {
    tasks: Vec<JoinHandle<()>>,
}

impl StreamPollers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts reading the stream of `source` for `target`; `sqs` sends on-failure records.
    pub fn start(
        &mut self,
        streams: aws_sdk_dynamodbstreams::Client,
        sqs: aws_sdk_sqs::Client,
        source: DynamoDbEventSource,
        target: Arc<dyn Invoke>,
        options: StreamOptions,
    ) {
        self.tasks
            .push(spawn_stream_poller(streams, sqs, source, target, options));
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

impl Drop for StreamPollers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads the stream of `source` until the task is aborted, invoking `target` with each batch.
pub fn spawn_stream_poller(
    streams: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    source: DynamoDbEventSource,
    target: Arc<dyn Invoke>,
    options: StreamOptions,
) -> JoinHandle<()> {
    let mapping = Mapping {
        streams,
        sqs,
        source,
        target,
        options,
    };
    tokio::spawn(mapping.run())
}

struct Mapping {
    streams: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    source: DynamoDbEventSource,
    target: Arc<dyn Invoke>,
    options: StreamOptions,
}

/// Where one shard is being read.
struct ShardReader {
    shard_id: String,
    /// The iterator type for the first GetShardIterator.
    start: ShardIteratorType,
    /// The iterator for the next GetRecords; `None` before the first and after an error.
    iterator: Option<String>,
    /// Sequence number of the last record read (matching or not): where to pick up again.
    last_read: Option<String>,
    /// The shard is closed and read to its end (no further iterator).
    exhausted: bool,
    /// Matching records read and not yet done with, in order, each as the event's record.
    pending: VecDeque<Value>,
    /// When the oldest pending record was read (for the batching window).
    pending_since: Option<Instant>,
}

impl Mapping {
    async fn run(self) {
        let mut readers: Vec<ShardReader> = Vec::new();
        let mut finished: HashSet<String> = HashSet::new();
        let mut first_description = true;
        let mut next_refresh = Instant::now();
        let mut failing = false;
        loop {
            if Instant::now() >= next_refresh {
                match self.shards().await {
                    Ok(shards) => {
                        let start = if first_description {
                            match self.source.starting_position {
                                StartingPosition::TrimHorizon => ShardIteratorType::TrimHorizon,
                                StartingPosition::Latest => ShardIteratorType::Latest,
                            }
                        } else {
                            ShardIteratorType::TrimHorizon
                        };
                        first_description = false;
                        for shard_id in shards_to_start(&shards, &readers, &finished) {
                            readers.push(ShardReader::new(shard_id, start.clone()));
                        }
                        next_refresh = Instant::now() + self.options.shard_refresh;
                    }
                    Err(error) => {
                        self.warn_once(&mut failing, &format!("describing the stream: {error}"));
                        tokio::time::sleep(self.options.error_delay).await;
                        continue;
                    }
                }
            }
            let mut busy = false;
            let mut errors = false;
            for reader in &mut readers {
                match self.step(reader).await {
                    Ok(worked) => busy |= worked,
                    Err(error) => {
                        errors = true;
                        reader.iterator = None;
                        self.warn_once(
                            &mut failing,
                            &format!("reading shard {}: {error}", reader.shard_id),
                        );
                    }
                }
            }
            if !errors {
                failing = false;
            }
            let before = readers.len();
            readers.retain(|reader| {
                let done = reader.exhausted && reader.pending.is_empty();
                if done {
                    finished.insert(reader.shard_id.clone());
                }
                !done
            });
            if readers.len() != before {
                // A shard ended: its children may be there to read now.
                next_refresh = Instant::now();
            }
            if errors {
                tokio::time::sleep(self.options.error_delay).await;
            } else if !busy {
                tokio::time::sleep(self.options.idle_delay).await;
            }
        }
    }

    /// Once per streak of failures: an emulator that went away would fill the log otherwise.
    fn warn_once(&self, failing: &mut bool, message: &str) {
        if !*failing {
            tracing::warn!(
                function = %self.source.function,
                event = %self.source.event,
                "{message} (retrying every {:?})",
                self.options.error_delay
            );
        }
        *failing = true;
    }

    /// Every shard of the stream (DescribeStream pages through them).
    async fn shards(&self) -> Result<Vec<Shard>, String> {
        let mut shards = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let output = self
                .streams
                .describe_stream()
                .stream_arn(&self.source.stream_arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(|e| aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())?;
            let Some(description) = output.stream_description else {
                return Ok(shards);
            };
            let last = description.last_evaluated_shard_id.clone();
            shards.extend(description.shards.unwrap_or_default());
            match last {
                Some(last) => start = Some(last),
                None => return Ok(shards),
            }
        }
    }

    /// Reads the shard once if more records are wanted, then delivers a batch when one is due.
    /// Returns whether anything was read or delivered.
    async fn step(&self, reader: &mut ShardReader) -> Result<bool, String> {
        let batch_size = self.source.batch_size.max(1) as usize;
        let mut worked = false;
        if reader.pending.len() < batch_size && !reader.exhausted {
            worked |= self.read(reader).await?;
        }
        let window_over = reader
            .pending_since
            .is_some_and(|since| since.elapsed() >= self.source.batching_window);
        let due = reader.pending.len() >= batch_size
            || (!reader.pending.is_empty() && (window_over || reader.exhausted));
        if due {
            self.deliver(reader).await;
            worked = true;
        }
        Ok(worked)
    }

    /// One GetRecords; keeps the records the filters match. Returns whether any record came.
    async fn read(&self, reader: &mut ShardReader) -> Result<bool, String> {
        let iterator = match reader.iterator.take() {
            Some(iterator) => iterator,
            None => self.iterator(reader).await?,
        };
        let output = self
            .streams
            .get_records()
            .shard_iterator(iterator)
            .limit(GET_RECORDS_LIMIT)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())?;
        let records = output.records.unwrap_or_default();
        match output.next_shard_iterator {
            Some(next) => reader.iterator = Some(next),
            None => reader.exhausted = true,
        }
        for record in &records {
            if let Some(sequence) = record.dynamodb().and_then(|d| d.sequence_number()) {
                reader.last_read = Some(sequence.to_owned());
            }
            let event_record = stream_record(record, &self.source.stream_arn);
            if matches_any(&self.source.filters, &event_record) {
                reader.pending.push_back(event_record);
                reader.pending_since.get_or_insert_with(Instant::now);
            }
        }
        Ok(!records.is_empty())
    }

    /// A fresh iterator: where the mapping started on this shard, or after the last record
    /// read (an iterator is lost after an error, and expires after 15 minutes on AWS).
    async fn iterator(&self, reader: &ShardReader) -> Result<String, String> {
        let request = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.source.stream_arn)
            .shard_id(&reader.shard_id);
        let request = match &reader.last_read {
            Some(sequence) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence),
            None => request.shard_iterator_type(reader.start.clone()),
        };
        let output = request
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodbstreams::error::DisplayErrorContext(e).to_string())?;
        output
            .shard_iterator
            .ok_or_else(|| "GetShardIterator returned no iterator".to_owned())
    }

    /// Delivers the batch at the front of the shard until it is done with: succeeded, or
    /// given up on. Retries hold the shard back, as on Lambda.
    async fn deliver(&self, reader: &mut ShardReader) {
        let source = &self.source;
        let policy = RetryPolicy {
            maximum_retries: source
                .maximum_retry_attempts
                .unwrap_or(self.options.unlimited_retries),
            bisect: source.bisect_batch_on_function_error,
        };
        let mut len = reader.pending.len().min(source.batch_size.max(1) as usize);
        let mut failed_invocations = 0;
        loop {
            let batch: Vec<Value> = reader.pending.iter().take(len).cloned().collect();
            let sequence_numbers: Vec<String> = batch.iter().map(sequence_number).collect();
            let result = self.target.invoke(json!({ "Records": batch })).await;
            let outcome = batch_outcome(
                &sequence_numbers,
                &result,
                source.report_batch_item_failures,
            );
            let step = next_step(len, failed_invocations, &outcome, &policy);
            match &result {
                Ok(_) if outcome == BatchOutcome::Success => tracing::info!(
                    function = %source.function,
                    event = %source.event,
                    shard = %reader.shard_id,
                    "{len} record(s) handled"
                ),
                Ok(_) => tracing::warn!(
                    function = %source.function,
                    event = %source.event,
                    shard = %reader.shard_id,
                    "{len} record(s): {outcome:?}"
                ),
                Err(error) => tracing::warn!(
                    function = %source.function,
                    event = %source.event,
                    shard = %reader.shard_id,
                    "{len} record(s) not handled: {error}"
                ),
            }
            match step {
                NextStep::Advance { done } => {
                    reader.advance(done);
                    return;
                }
                NextStep::Retry {
                    done,
                    len: retry_len,
                    failed_invocations: failed,
                } => {
                    reader.advance(done);
                    len = retry_len;
                    failed_invocations = failed;
                    tracing::info!(
                        function = %source.function,
                        event = %source.event,
                        "retrying {len} record(s) in {:?} (failed {failed} time(s))",
                        self.options.retry_delay
                    );
                    tokio::time::sleep(self.options.retry_delay).await;
                }
                NextStep::GiveUp {
                    done,
                    len: given_up,
                    invocations,
                } => {
                    reader.advance(done);
                    let records: Vec<Value> =
                        reader.pending.iter().take(given_up).cloned().collect();
                    let condition = if source.maximum_retry_attempts.is_some() {
                        "RetryAttemptsExhausted"
                    } else {
                        "RecordAgeExceeded"
                    };
                    let failure = FailureContext {
                        function_arn: &source.function_arn,
                        stream_arn: &source.stream_arn,
                        shard_id: &reader.shard_id,
                        condition,
                        invocations,
                    };
                    self.report_failure(&failure_record(&records, &failure, &result))
                        .await;
                    reader.advance(given_up);
                    return;
                }
            }
        }
    }

    async fn report_failure(&self, record: &Value) {
        let source = &self.source;
        let Some(url) = &source.on_failure_queue_url else {
            tracing::warn!(
                function = %source.function,
                event = %source.event,
                "records given up on, no on-failure destination: {record}"
            );
            return;
        };
        match self
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(record.to_string())
            .send()
            .await
        {
            Ok(_) => tracing::warn!(
                function = %source.function,
                event = %source.event,
                "records given up on, sent to {url}: {}",
                record["DDBStreamBatchInfo"]
            ),
            Err(error) => tracing::error!(
                function = %source.function,
                event = %source.event,
                "records given up on; sending to {url} failed ({}): {record}",
                aws_sdk_sqs::error::DisplayErrorContext(error)
            ),
        }
    }
}

impl ShardReader {
    fn new(shard_id: String, start: ShardIteratorType) -> Self {
        Self {
            shard_id,
            start,
            iterator: None,
            last_read: None,
            exhausted: false,
            pending: VecDeque::new(),
            pending_since: None,
        }
    }

    /// Done with the first `count` pending records.
    fn advance(&mut self, count: usize) {
        self.pending.drain(..count.min(self.pending.len()));
        self.pending_since = (!self.pending.is_empty()).then(Instant::now);
    }
}

/// The shards to start reading: not read yet, and whose parent (if the stream still has it) is
/// read to its end. In the stream's order, so parents come before their children.
fn shards_to_start(
    shards: &[Shard],
    readers: &[ShardReader],
    finished: &HashSet<String>,
) -> Vec<String> {
    let listed: HashSet<&str> = shards.iter().filter_map(|s| s.shard_id()).collect();
    shards
        .iter()
        .filter_map(|shard| {
            let id = shard.shard_id()?;
            let known = finished.contains(id) || readers.iter().any(|r| r.shard_id == id);
            let parent_pending = shard
                .parent_shard_id()
                .is_some_and(|parent| listed.contains(parent) && !finished.contains(parent));
            (!known && !parent_pending).then(|| id.to_owned())
        })
        .collect()
}

/// One record of the event, as Lambda sends it (and as the filters see it): images in DynamoDB
/// JSON as the stream gives them, `eventVersion` 1.1, the creation time in epoch seconds,
/// every field Lambda always sends present (the functions parse it as `aws_lambda_events`'
/// typed record, which requires them).
pub fn stream_record(record: &Record, stream_arn: &str) -> Value {
    let mut dynamodb = Map::new();
    if let Some(stream_record) = record.dynamodb() {
        if let Some(time) = stream_record.approximate_creation_date_time() {
            dynamodb.insert("ApproximateCreationDateTime".into(), json!(time.secs()));
        }
        for (name, image) in [
            ("Keys", stream_record.keys()),
            ("NewImage", stream_record.new_image()),
            ("OldImage", stream_record.old_image()),
        ] {
            if let Some(image) = image {
                dynamodb.insert(name.into(), item_json(image));
            }
        }
        if let Some(sequence) = stream_record.sequence_number() {
            dynamodb.insert("SequenceNumber".into(), json!(sequence));
        }
        // Lambda's records always carry it (a typed consumer requires it); a stream that
        // leaves it out gets the length of the record's DynamoDB JSON, an overestimate as
        // moto's own.
        let size = stream_record.size_bytes().unwrap_or_else(|| {
            i64::try_from(Value::Object(dynamodb.clone()).to_string().len()).unwrap_or(i64::MAX)
        });
        dynamodb.insert("SizeBytes".into(), json!(size));
        if let Some(view) = stream_record.stream_view_type() {
            dynamodb.insert("StreamViewType".into(), json!(view.as_str()));
        }
    }
    let mut out = json!({
        "eventID": record.event_id().unwrap_or_default(),
        "eventName": record.event_name().map(|n| n.as_str()).unwrap_or_default(),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region().unwrap_or_else(|| region_of_arn(stream_arn)),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    });
    if let Some(identity) = record.user_identity() {
        // TTL deletions: {"type": "Service", "principalId": "dynamodb.amazonaws.com"}.
        out["userIdentity"] = json!({
            "type": identity.r#type(),
            "principalId": identity.principal_id(),
        });
    }
    out
}

fn item_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), attribute_json(value)))
            .collect(),
    )
}

/// An attribute value in DynamoDB JSON (`{"S": "x"}`, `{"N": "1"}`, binary as base64).
pub fn attribute_json(value: &AttributeValue) -> Value {
    let blob = |b: &aws_sdk_dynamodbstreams::primitives::Blob| STANDARD.encode(b.as_ref());
    match value {
        AttributeValue::S(text) => json!({ "S": text }),
        AttributeValue::N(number) => json!({ "N": number }),
        AttributeValue::B(binary) => json!({ "B": blob(binary) }),
        AttributeValue::Ss(texts) => json!({ "SS": texts }),
        AttributeValue::Ns(numbers) => json!({ "NS": numbers }),
        AttributeValue::Bs(binaries) => {
            json!({ "BS": binaries.iter().map(blob).collect::<Vec<_>>() })
        }
        AttributeValue::M(map) => json!({ "M": item_json(map) }),
        AttributeValue::L(items) => {
            json!({ "L": items.iter().map(attribute_json).collect::<Vec<_>>() })
        }
        AttributeValue::Null(flag) => json!({ "NULL": flag }),
        AttributeValue::Bool(flag) => json!({ "BOOL": flag }),
        _ => json!({}),
    }
}

fn sequence_number(record: &Value) -> String {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// What an invocation of a batch came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    Success,
    /// A partial batch response: the records before this index are done.
    FailedFrom(usize),
    /// A function error, a timeout, or an invalid partial batch response.
    Error,
}

/// Lambda's reading of a stream batch's result; `sequence_numbers` are the batch's records'.
pub fn batch_outcome(
    sequence_numbers: &[String],
    result: &Result<Value, InvokeError>,
    report_batch_item_failures: bool,
) -> BatchOutcome {
    let Ok(response) = result else {
        return BatchOutcome::Error;
    };
    if !report_batch_item_failures {
        return BatchOutcome::Success;
    }
    let items = match response {
        Value::Null => return BatchOutcome::Success,
        Value::Object(fields) => match fields.get("batchItemFailures") {
            None | Some(Value::Null) => return BatchOutcome::Success,
            Some(Value::Array(items)) => items,
            Some(_) => return invalid(response),
        },
        _ => return invalid(response),
    };
    let mut first: Option<usize> = None;
    for item in items {
        let Some(id) = item.get("itemIdentifier").and_then(Value::as_str) else {
            return invalid(response);
        };
        let Some(index) = sequence_numbers
            .iter()
            .position(|s| !id.is_empty() && s == id)
        else {
            return invalid(response);
        };
        first = Some(first.map_or(index, |f| f.min(index)));
    }
    first.map_or(BatchOutcome::Success, BatchOutcome::FailedFrom)
}

fn invalid(response: &Value) -> BatchOutcome {
    tracing::warn!("invalid partial batch response, the whole batch fails: {response}");
    BatchOutcome::Error
}

/// How a mapping retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of the same records before giving up on them.
    pub maximum_retries: u32,
    /// `BisectBatchOnFunctionError`.
    pub bisect: bool,
}

/// What the mapping does after an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// The first `done` records are done; the next batch starts after them.
    Advance { done: usize },
    /// The first `done` records are done; invoke again with the next `len`, which have failed
    /// `failed_invocations` times.
    Retry {
        done: usize,
        len: usize,
        failed_invocations: u32,
    },
    /// The first `done` records are done; the next `len` are given up on (to the on-failure
    /// destination) after `invocations` failed invocations.
    GiveUp {
        done: usize,
        len: usize,
        invocations: u32,
    },
}

/// The decision after invoking a batch of `len` records that had failed `failed_invocations`
/// times before: see the module documentation.
pub fn next_step(
    len: usize,
    failed_invocations: u32,
    outcome: &BatchOutcome,
    policy: &RetryPolicy,
) -> NextStep {
    let failed = failed_invocations + 1;
    let (done, retry_len) = match outcome {
        BatchOutcome::Success => return NextStep::Advance { done: len },
        BatchOutcome::FailedFrom(index) => (*index, len - index),
        BatchOutcome::Error if policy.bisect && len > 1 => (0, len.div_ceil(2)),
        BatchOutcome::Error => (0, len),
    };
    if failed > policy.maximum_retries {
        // The records that failed this time are given up on: after bisecting, only the half
        // that was retried.
        let len = match outcome {
            BatchOutcome::Error => len,
            _ => retry_len,
        };
        return NextStep::GiveUp {
            done,
            len,
            invocations: failed,
        };
    }
    NextStep::Retry {
        done,
        len: retry_len,
        failed_invocations: failed,
    }
}

/// Where a batch that was given up on came from.
#[derive(Debug, Clone)]
pub struct FailureContext<'a> {
    pub function_arn: &'a str,
    pub stream_arn: &'a str,
    pub shard_id: &'a str,
    /// `RetryAttemptsExhausted` or `RecordAgeExceeded`.
    pub condition: &'a str,
    pub invocations: u32,
}

/// Lambda's invocation record for records of a stream it gave up on, as it sends it to an
/// on-failure destination: the records themselves are not in it, only where they are.
pub fn failure_record(
    records: &[Value],
    context: &FailureContext<'_>,
    last_result: &Result<Value, InvokeError>,
) -> Value {
    let arrival = |record: Option<&Value>| {
        record
            .and_then(|r| r["dynamodb"]["ApproximateCreationDateTime"].as_i64())
            .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
            .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    let mut response_context = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
    if last_result.is_err() {
        response_context["functionError"] = json!("Unhandled");
    }
    json!({
        "requestContext": {
            "requestId": request_id(),
            "functionArn": context.function_arn,
            "condition": context.condition,
            "approximateInvokeCount": context.invocations,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "DDBStreamBatchInfo": {
            "shardId": context.shard_id,
            "startSequenceNumber": records.first().map(sequence_number),
            "endSequenceNumber": records.last().map(sequence_number),
            "approximateArrivalOfFirstRecord": arrival(records.first()),
            "approximateArrivalOfLastRecord": arrival(records.last()),
            "batchSize": records.len(),
            "streamArn": context.stream_arn,
        },
    })
}

/// A UUID-shaped id, as Lambda's request ids are.
fn request_id() -> String {
    let hex = format!("{:032x}", ulid::Ulid::new().0);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord, StreamViewType};

    const STREAM: &str =
        "arn:aws:dynamodb:eu-north-1:123456789012:table/s-T/stream/2026-01-01T00:00:00.000";

    fn seqs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn failures(ids: &[&str]) -> Result<Value, InvokeError> {
        let items: Vec<Value> = ids.iter().map(|id| json!({"itemIdentifier": id})).collect();
        Ok(json!({ "batchItemFailures": items }))
    }

    #[test]
    fn the_record_has_lambdas_shape_with_images_in_dynamodb_json() {
        let record = Record::builder()
            .event_id("e1")
            .event_name(OperationType::Modify)
            .event_version("1.0")
            .aws_region("eu-north-1")
            .dynamodb(
                StreamRecord::builder()
                    .approximate_creation_date_time(
                        aws_sdk_dynamodbstreams::primitives::DateTime::from_secs(1_700_000_000),
                    )
                    .keys("PK", AttributeValue::S("C#1".into()))
                    .new_image("status", AttributeValue::S("inactive".into()))
                    .new_image("n", AttributeValue::N("5".into()))
                    .new_image(
                        "tags",
                        AttributeValue::L(vec![
                            AttributeValue::Bool(true),
                            AttributeValue::Null(true),
                        ]),
                    )
                    .new_image(
                        "m",
                        AttributeValue::M(HashMap::from([(
                            "b".to_owned(),
                            AttributeValue::B(aws_sdk_dynamodbstreams::primitives::Blob::new(
                                b"hi".to_vec(),
                            )),
                        )])),
                    )
                    .new_image("ss", AttributeValue::Ss(vec!["a".into()]))
                    .old_image("status", AttributeValue::S("active".into()))
                    .sequence_number("111")
                    .size_bytes(26)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build(),
            )
            .build();
        assert_eq!(
            stream_record(&record, STREAM),
            json!({
                "eventID": "e1",
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "eu-north-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_700_000_000,
                    "Keys": {"PK": {"S": "C#1"}},
                    "NewImage": {
                        "status": {"S": "inactive"},
                        "n": {"N": "5"},
                        "tags": {"L": [{"BOOL": true}, {"NULL": true}]},
                        "m": {"M": {"b": {"B": "aGk="}}},
                        "ss": {"SS": ["a"]},
                    },
                    "OldImage": {"status": {"S": "active"}},
                    "SequenceNumber": "111",
                    "SizeBytes": 26,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": STREAM,
            })
        );
    }

    #[test]
    fn every_record_parses_as_lambdas_typed_record_even_from_a_thin_stream() {
        // A removal from a stream that gives neither size nor time: Lambda's record has the
        // size all the same, and the functions' typed event requires it.
        let record = Record::builder()
            .event_id("e2")
            .event_name(OperationType::Remove)
            .dynamodb(
                StreamRecord::builder()
                    .keys("PK", AttributeValue::S("C#1".into()))
                    .old_image("status", AttributeValue::S("active".into()))
                    .sequence_number("112")
                    .build(),
            )
            .build();
        let json = stream_record(&record, STREAM);
        assert!(
            json["dynamodb"]["SizeBytes"].as_i64().unwrap() > 0,
            "{json}"
        );
        let typed: aws_lambda_events::dynamodb::EventRecord =
            serde_json::from_value(json).expect("Lambda's record shape");
        assert_eq!(typed.event_name, "REMOVE");
        assert_eq!(typed.event_source.as_deref(), Some("aws:dynamodb"));
        assert_eq!(typed.aws_region, "eu-north-1");
        assert_eq!(typed.change.sequence_number.as_deref(), Some("112"));
        assert!(typed.change.new_image.is_empty());
        assert!(typed.change.old_image.contains_key("status"));
    }

    #[test]
    fn outcomes_follow_lambdas_partial_batch_rules() {
        let batch = seqs(&["1", "2", "3"]);
        assert_eq!(
            batch_outcome(&batch, &Ok(json!({})), true),
            BatchOutcome::Success
        );
        assert_eq!(
            batch_outcome(&batch, &Ok(json!(null)), true),
            BatchOutcome::Success
        );
        assert_eq!(
            batch_outcome(&batch, &failures(&[]), true),
            BatchOutcome::Success
        );
        assert_eq!(
            batch_outcome(&batch, &failures(&["3", "2"]), true),
            BatchOutcome::FailedFrom(1),
            "the lowest sequence number listed"
        );
        assert_eq!(
            batch_outcome(&batch, &failures(&["1"]), true),
            BatchOutcome::FailedFrom(0)
        );
        for invalid in [
            failures(&["9"]),
            failures(&[""]),
            Ok(json!({"batchItemFailures": [{"itemIdentifier": 2}]})),
            Ok(json!({"batchItemFailures": "1"})),
            Ok(json!("done")),
        ] {
            assert_eq!(batch_outcome(&batch, &invalid, true), BatchOutcome::Error);
        }
        assert_eq!(
            batch_outcome(&batch, &failures(&["2"]), false),
            BatchOutcome::Success,
            "without ReportBatchItemFailures the response is not read"
        );
        assert_eq!(
            batch_outcome(&batch, &Err(InvokeError::Timeout), true),
            BatchOutcome::Error
        );
    }

    #[test]
    fn partial_failures_retry_from_the_failed_record_until_retries_run_out() {
        let policy = RetryPolicy {
            maximum_retries: 2,
            bisect: true,
        };
        assert_eq!(
            next_step(10, 0, &BatchOutcome::Success, &policy),
            NextStep::Advance { done: 10 }
        );
        assert_eq!(
            next_step(10, 0, &BatchOutcome::FailedFrom(4), &policy),
            NextStep::Retry {
                done: 4,
                len: 6,
                failed_invocations: 1
            },
            "a partial failure is not bisected: the batch is retried from the failed record"
        );
        assert_eq!(
            next_step(6, 1, &BatchOutcome::FailedFrom(0), &policy),
            NextStep::Retry {
                done: 0,
                len: 6,
                failed_invocations: 2
            }
        );
        assert_eq!(
            next_step(6, 2, &BatchOutcome::FailedFrom(2), &policy),
            NextStep::GiveUp {
                done: 2,
                len: 4,
                invocations: 3
            },
            "1 try and 2 retries"
        );
    }

    #[test]
    fn errors_bisect_down_to_the_failing_record() {
        let policy = RetryPolicy {
            maximum_retries: 5,
            bisect: true,
        };
        let mut len = 10;
        let mut failed = 0;
        let mut lengths = Vec::new();
        let given_up = loop {
            match next_step(len, failed, &BatchOutcome::Error, &policy) {
                NextStep::Retry {
                    done,
                    len: next,
                    failed_invocations,
                } => {
                    assert_eq!(done, 0);
                    len = next;
                    failed = failed_invocations;
                    lengths.push(len);
                }
                NextStep::GiveUp {
                    done,
                    len,
                    invocations,
                } => break (done, len, invocations),
                NextStep::Advance { .. } => unreachable!(),
            }
        };
        assert_eq!(lengths, [5, 3, 2, 1, 1]);
        assert_eq!(given_up, (0, 1, 6));
        let whole = RetryPolicy {
            maximum_retries: 1,
            bisect: false,
        };
        assert_eq!(
            next_step(4, 0, &BatchOutcome::Error, &whole),
            NextStep::Retry {
                done: 0,
                len: 4,
                failed_invocations: 1
            }
        );
        assert_eq!(
            next_step(4, 1, &BatchOutcome::Error, &whole),
            NextStep::GiveUp {
                done: 0,
                len: 4,
                invocations: 2
            }
        );
        let never = RetryPolicy {
            maximum_retries: 0,
            bisect: true,
        };
        assert_eq!(
            next_step(4, 0, &BatchOutcome::Error, &never),
            NextStep::GiveUp {
                done: 0,
                len: 4,
                invocations: 1
            },
            "MaximumRetryAttempts 0: no retry, no bisecting"
        );
    }

    #[test]
    fn the_failure_record_says_where_the_records_are() {
        let record = |seq: &str, secs: i64| json!({"dynamodb": {"SequenceNumber": seq, "ApproximateCreationDateTime": secs}});
        let context = FailureContext {
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:s-F",
            stream_arn: STREAM,
            shard_id: "shardId-1",
            condition: "RetryAttemptsExhausted",
            invocations: 6,
        };
        let out = failure_record(
            &[record("7", 1_700_000_000), record("9", 1_700_000_005)],
            &context,
            &Err(InvokeError::Timeout),
        );
        assert_eq!(out["requestContext"]["functionArn"], context.function_arn);
        assert_eq!(out["requestContext"]["condition"], "RetryAttemptsExhausted");
        assert_eq!(out["requestContext"]["approximateInvokeCount"], 6);
        assert_eq!(
            out["requestContext"]["requestId"].as_str().unwrap().len(),
            36
        );
        assert_eq!(out["responseContext"]["functionError"], "Unhandled");
        assert_eq!(out["version"], "1.0");
        assert!(out["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(
            out["DDBStreamBatchInfo"],
            json!({
                "shardId": "shardId-1",
                "startSequenceNumber": "7",
                "endSequenceNumber": "9",
                "approximateArrivalOfFirstRecord": "2023-11-14T22:13:20Z",
                "approximateArrivalOfLastRecord": "2023-11-14T22:13:25Z",
                "batchSize": 2,
                "streamArn": STREAM,
            })
        );
        let partial = failure_record(&[record("7", 0)], &context, &failures(&["7"]));
        assert!(partial["responseContext"].get("functionError").is_none());
    }

    #[test]
    fn children_start_after_their_parent_ends() {
        let shard = |id: &str, parent: Option<&str>| {
            Shard::builder()
                .shard_id(id)
                .set_parent_shard_id(parent.map(str::to_owned))
                .build()
        };
        let shards = [
            shard("parent", Some("trimmed-long-ago")),
            shard("child", Some("parent")),
        ];
        assert_eq!(shards_to_start(&shards, &[], &HashSet::new()), ["parent"]);
        let reading = [ShardReader::new("parent".into(), ShardIteratorType::Latest)];
        assert!(shards_to_start(&shards, &reading, &HashSet::new()).is_empty());
        let finished = HashSet::from(["parent".to_owned()]);
        assert_eq!(shards_to_start(&shards, &[], &finished), ["child"]);
    }
}
