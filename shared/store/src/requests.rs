//! The reads every request and event makes (GetItem, Query, BatchGetItem) and the transactions
//! every change is written in (TransactWriteItems), as signed requests of our own
//! ([`kit::signed`]) instead of through the SDK client, which the store keeps for its
//! single-item conditional writes. An SDK call costs about 85 µs more CPU than the same request
//! made this way on the bench machine (`bench-sdk-call`), and the API, the cascade and the
//! notifications make one such read per warm invocation (docs/architecture.md#performance).
//!
//! What the SDK gave these calls and they keep: the configuration's attempts (three, from
//! `kit::aws::sdk_config`) for a dropped connection, a timeout, a 5xx or throttling, with
//! backoff between them; its attempt's timeout (3 s) and call's (8 s); DynamoDB's error code and
//! message in the error, and "not now" told apart from "never" ([`StoreError::Unavailable`]
//! and [`StoreError::Backend`]). Items come back as the SDK's type, so every decoder reads them
//! the same way whichever client fetched them.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use aws_sigv4::http_request::SigningSettings;
use bytes::Bytes;
use http::{Method, header};
use kit::signed::{Call, NoAnswer, Service, read_body, with_retries};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::items::Item;
use crate::wire::{Fields, OwnedItem, Single, Value, Write};

/// Attempts per call, one attempt's time and the whole call's, when the configuration does
/// not say (`kit::aws::sdk_config` does, with these).
const ATTEMPTS: u32 = 3;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
const CALL_TIMEOUT: Duration = Duration::from_secs(8);
/// DynamoDB's JSON protocol, version 1.0.
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// DynamoDB in one region, reached at its endpoint (`AWS_ENDPOINT_URL` locally).
#[derive(Clone)]
pub(crate) struct Requests {
    dynamodb: Service,
    /// `<endpoint>/`, where every operation is posted.
    url: String,
    /// The configuration's retries and timeouts, which the SDK client of the writes obeys.
    attempts: u32,
    attempt_timeout: Duration,
    call_timeout: Duration,
}

/// A Query, as the store builds them: names and values already chosen.
pub(crate) struct QueryRequest<'a> {
    pub table: &'a str,
    pub index: Option<&'a str>,
    pub key_condition: &'a str,
    pub filter: Option<String>,
    pub projection: Option<&'a str>,
    pub names: BTreeMap<&'a str, &'a str>,
    pub values: BTreeMap<&'a str, &'a AttributeValue>,
    pub ascending: bool,
    pub consistent: bool,
    pub limit: i32,
    pub start: Option<&'a Item>,
}

impl<'a> QueryRequest<'a> {
    /// A whole partition (`#pk = :pk`, names and values to add), eventually consistent,
    /// ascending, a page of the most DynamoDB returns.
    pub fn whole_partition(table: &'a str) -> Self {
        Self {
            table,
            index: None,
            key_condition: "#pk = :pk",
            filter: None,
            projection: None,
            names: BTreeMap::new(),
            values: BTreeMap::new(),
            ascending: true,
            consistent: false,
            limit: crate::MAX_PAGE,
            start: None,
        }
    }
}

/// A Query's body, as DynamoDB's JSON protocol takes it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct QueryBody<'a> {
    table_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index_name: Option<&'a str>,
    key_condition_expression: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter_expression: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    projection_expression: Option<&'a str>,
    expression_attribute_names: &'a BTreeMap<&'a str, &'a str>,
    expression_attribute_values: BTreeMap<&'a str, Value<'a>>,
    scan_index_forward: bool,
    consistent_read: bool,
    limit: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    exclusive_start_key: Option<Fields<'a>>,
    return_consumed_capacity: &'static str,
}

impl<'a> QueryBody<'a> {
    fn of(query: &'a QueryRequest<'a>) -> Self {
        Self {
            table_name: query.table,
            index_name: query.index,
            key_condition_expression: query.key_condition,
            filter_expression: query.filter.as_deref(),
            projection_expression: query.projection,
            expression_attribute_names: &query.names,
            expression_attribute_values: query
                .values
                .iter()
                .map(|(name, value)| (*name, Value(value)))
                .collect(),
            scan_index_forward: query.ascending,
            consistent_read: query.consistent,
            limit: query.limit,
            exclusive_start_key: query.start.map(Fields),
            return_consumed_capacity: "TOTAL",
        }
    }
}

/// A page of a Query.
pub(crate) struct QueryPage {
    pub items: Vec<Item>,
    pub last_key: Option<Item>,
    /// Items DynamoDB read for the page, before the filter.
    pub scanned: usize,
    /// Read units DynamoDB says it charged.
    pub units: f64,
}

/// A round of BatchGetItem on one table.
pub(crate) struct BatchRound {
    pub items: Vec<Item>,
    /// Keys DynamoDB left for another round (throttling, or the answer's 16 MB).
    pub unprocessed: Vec<Item>,
    pub units: f64,
}

/// What a single-item write came to.
pub(crate) struct Written {
    /// The item's attributes the write was asked to return (`ReturnValues`).
    pub attributes: Option<Item>,
    /// Write units DynamoDB says it charged.
    pub units: f64,
}

/// DynamoDB's refusal: its error code (`ResourceNotFoundException`) and message, and for a
/// cancelled transaction the reason of each write (its code, `None` or `"None"` when fine).
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub cancellation_reasons: Vec<Option<String>>,
}

impl Refusal {
    /// "Not now" rather than "never": the call fails as unavailable (503).
    fn is_transient(&self) -> bool {
        self.status >= 500 || crate::error::is_transient_code(&self.code)
    }

    /// Worth another attempt at once, as the SDK's retry classifier has it: the transient
    /// codes, a transaction whose token is still being applied, a request DynamoDB timed out.
    fn is_retried(&self) -> bool {
        self.is_transient()
            || matches!(
                self.code.as_str(),
                "TransactionInProgressException" | "RequestTimeout" | "RequestTimeoutException"
            )
    }
}

/// Why a call failed.
pub(crate) enum Failure {
    NoAnswer(NoAnswer),
    Refused(Refusal),
    /// An answer that is not DynamoDB's JSON: no other attempt would read better.
    Unreadable(String),
}

impl Failure {
    fn is_transient(&self) -> bool {
        match self {
            Failure::NoAnswer(_) => true,
            Failure::Refused(refusal) => refusal.is_transient(),
            Failure::Unreadable(_) => false,
        }
    }

    fn is_retried(&self) -> bool {
        match self {
            Failure::Refused(refusal) => refusal.is_retried(),
            other => other.is_transient(),
        }
    }

    /// What went wrong, as an error's source.
    pub fn into_source(self) -> Box<dyn std::error::Error + Send + Sync> {
        match self {
            Failure::NoAnswer(no_answer) => Box::new(no_answer),
            Failure::Refused(refusal) => Box::new(refusal),
            Failure::Unreadable(reason) => reason.into(),
        }
    }

    /// DynamoDB's refusal, when it answered one.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Failure::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }

    /// The error the store's callers act on: unavailable (503) for "not now", else a failure.
    pub fn into_error(self) -> StoreError {
        let transient = self.is_transient();
        let error = self.into_source();
        if transient {
            StoreError::Unavailable(error)
        } else {
            StoreError::Backend(error)
        }
    }
}

impl Requests {
    /// DynamoDB in `config`'s region, with its credentials, at its endpoint, attempted and
    /// timed out as `config` says.
    pub fn new(config: &SdkConfig) -> Self {
        let dynamodb = Service::from_config(config, "dynamodb", SigningSettings::default);
        let url = format!("{}/", dynamodb.url(config.endpoint_url()));
        let timeouts = config.timeout_config();
        Self {
            dynamodb,
            url,
            attempts: config.retry_config().map_or(ATTEMPTS, |r| r.max_attempts()),
            attempt_timeout: timeouts
                .and_then(|t| t.operation_attempt_timeout())
                .unwrap_or(ATTEMPT_TIMEOUT),
            call_timeout: timeouts
                .and_then(|t| t.operation_timeout())
                .unwrap_or(CALL_TIMEOUT),
        }
    }

    /// One strongly consistent GetItem.
    pub async fn get_item(
        &self,
        table: &str,
        key: &Item,
    ) -> Result<(Option<Item>, f64), StoreError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Request<'a> {
            table_name: &'a str,
            key: Fields<'a>,
            consistent_read: bool,
            return_consumed_capacity: &'static str,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            item: Option<OwnedItem>,
            consumed_capacity: Option<Capacity>,
        }
        let request = Request {
            table_name: table,
            key: Fields(key),
            consistent_read: true,
            return_consumed_capacity: "TOTAL",
        };
        let answer: Answer = self
            .call("GetItem", &request)
            .await
            .map_err(Failure::into_error)?;
        Ok((answer.item.map(|i| i.0), units(answer.consumed_capacity)))
    }

    /// One page of a Query.
    pub async fn query(&self, query: &QueryRequest<'_>) -> Result<QueryPage, StoreError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            #[serde(default)]
            items: Vec<OwnedItem>,
            last_evaluated_key: Option<OwnedItem>,
            #[serde(default)]
            scanned_count: usize,
            consumed_capacity: Option<Capacity>,
        }
        let answer: Answer = self
            .call("Query", &QueryBody::of(query))
            .await
            .map_err(Failure::into_error)?;
        Ok(QueryPage {
            items: answer.items.into_iter().map(|i| i.0).collect(),
            last_key: answer.last_evaluated_key.map(|i| i.0),
            scanned: answer.scanned_count,
            units: units(answer.consumed_capacity),
        })
    }

    /// One round of a strongly consistent BatchGetItem of `keys` (at most 100) from `table`.
    pub async fn batch_get(&self, table: &str, keys: &[Item]) -> Result<BatchRound, StoreError> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Request<'a> {
            request_items: HashMap<&'a str, Keys<'a>>,
            return_consumed_capacity: &'static str,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Keys<'a> {
            keys: Vec<Fields<'a>>,
            consistent_read: bool,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            #[serde(default)]
            responses: HashMap<String, Vec<OwnedItem>>,
            #[serde(default)]
            unprocessed_keys: HashMap<String, Unprocessed>,
            #[serde(default)]
            consumed_capacity: Vec<Capacity>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Unprocessed {
            #[serde(default)]
            keys: Vec<OwnedItem>,
        }
        let wanted = Keys {
            keys: keys.iter().map(Fields).collect(),
            consistent_read: true,
        };
        let request = Request {
            request_items: HashMap::from([(table, wanted)]),
            return_consumed_capacity: "TOTAL",
        };
        let mut answer: Answer = self
            .call("BatchGetItem", &request)
            .await
            .map_err(Failure::into_error)?;
        let take = |items: Option<Vec<OwnedItem>>| -> Vec<Item> {
            items.unwrap_or_default().into_iter().map(|i| i.0).collect()
        };
        Ok(BatchRound {
            items: take(answer.responses.remove(table)),
            unprocessed: take(answer.unprocessed_keys.remove(table).map(|u| u.keys)),
            units: answer
                .consumed_capacity
                .into_iter()
                .map(Capacity::units)
                .sum(),
        })
    }

    /// One TransactWriteItems of `writes` under `token` (DynamoDB applies a repeated token
    /// once, for ten minutes; this call's own retries repeat it); the write units DynamoDB
    /// says it charged.
    pub async fn transact(
        &self,
        writes: &[TransactWriteItem],
        token: &str,
    ) -> Result<f64, Failure> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Request<'a> {
            transact_items: Vec<Write<'a>>,
            client_request_token: &'a str,
            return_consumed_capacity: &'static str,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            #[serde(default)]
            consumed_capacity: Vec<Capacity>,
        }
        let request = Request {
            transact_items: writes.iter().map(Write).collect(),
            client_request_token: token,
            return_consumed_capacity: "TOTAL",
        };
        let answer: Answer = self.call("TransactWriteItems", &request).await?;
        Ok(answer
            .consumed_capacity
            .into_iter()
            .map(Capacity::units)
            .sum())
    }

    /// One PutItem.
    pub async fn put_item(&self, put: Put) -> Result<Written, Failure> {
        self.write_one(TransactWriteItem::builder().put(put).build(), None)
            .await
    }

    /// One UpdateItem, returning the attributes `returning` asks for.
    pub async fn update_item(
        &self,
        update: Update,
        returning: Option<ReturnValue>,
    ) -> Result<Written, Failure> {
        let write = TransactWriteItem::builder().update(update).build();
        self.write_one(write, returning).await
    }

    /// One DeleteItem.
    pub async fn delete_item(&self, delete: Delete) -> Result<Written, Failure> {
        self.write_one(TransactWriteItem::builder().delete(delete).build(), None)
            .await
    }

    /// `write` made alone: the transaction item's parts are a single write's.
    async fn write_one(
        &self,
        write: TransactWriteItem,
        returning: Option<ReturnValue>,
    ) -> Result<Written, Failure> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            attributes: Option<OwnedItem>,
            consumed_capacity: Option<Capacity>,
        }
        let (operation, request) = Single::of(&write, returning.as_ref().map(|r| r.as_str()))
            .ok_or_else(|| {
                Failure::Unreadable("a single write must put, update or delete".into())
            })?;
        let answer: Answer = self.call(operation, &request).await?;
        Ok(Written {
            attributes: answer.attributes.map(|a| a.0),
            units: units(answer.consumed_capacity),
        })
    }

    /// `operation` with `request` as its body, attempted until an answer that is not a
    /// transient failure, the attempts are spent or the call's time has passed.
    async fn call<T: DeserializeOwned>(
        &self,
        operation: &str,
        request: &impl Serialize,
    ) -> Result<T, Failure> {
        let body = serde_json::to_vec(request)
            .map_err(|e| Failure::Unreadable(format!("{operation}'s request: {e}")))?;
        let call = Call {
            method: Method::POST,
            url: self.url.clone(),
            headers: vec![
                (header::CONTENT_TYPE, CONTENT_TYPE.to_owned()),
                (
                    header::HeaderName::from_static("x-amz-target"),
                    format!("DynamoDB_20120810.{operation}"),
                ),
            ],
            body: Bytes::from(body),
        };
        let attempts = with_retries(self.attempts, Failure::is_retried, |_| self.attempt(&call));
        tokio::time::timeout(self.call_timeout, attempts)
            .await
            .unwrap_or_else(|_| {
                let reason = format!("{operation}: no answer in {:?}", self.call_timeout);
                Err(Failure::NoAnswer(NoAnswer(reason)))
            })
    }

    async fn attempt<T: DeserializeOwned>(&self, call: &Call) -> Result<T, Failure> {
        let answer = self
            .dynamodb
            .attempt(call, self.attempt_timeout)
            .await
            .map_err(Failure::NoAnswer)?;
        let status = answer.status();
        let body = read_body(answer.into_body())
            .await
            .map_err(Failure::NoAnswer)?;
        if status.is_success() {
            serde_json::from_slice(&body)
                .map_err(|e| Failure::Unreadable(format!("DynamoDB's answer: {e}")))
        } else {
            Err(Failure::Refused(refusal(status.as_u16(), &body)))
        }
    }
}

/// DynamoDB's error answer: `{"__type": "com.amazonaws.dynamodb.v20120810#Code", "message":
/// "..."}` (some codes spell it `Message`); the status alone when the body says nothing.
fn refusal(status: u16, body: &[u8]) -> Refusal {
    #[derive(Deserialize, Default)]
    struct Answer {
        #[serde(rename = "__type")]
        kind: Option<String>,
        #[serde(alias = "Message")]
        message: Option<String>,
        #[serde(rename = "CancellationReasons", default)]
        cancellation_reasons: Vec<Reason>,
    }
    #[derive(Deserialize)]
    struct Reason {
        #[serde(rename = "Code")]
        code: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(body).unwrap_or_default();
    let code = answer
        .kind
        .as_deref()
        .map(|kind| kind.rsplit('#').next().unwrap_or(kind).to_owned())
        .unwrap_or_else(|| format!("HTTP {status}"));
    Refusal {
        status,
        code,
        message: answer.message.unwrap_or_default(),
        cancellation_reasons: answer
            .cancellation_reasons
            .into_iter()
            .map(|r| r.code)
            .collect(),
    }
}

/// A ConsumedCapacity, as ReturnConsumedCapacity=TOTAL fills it in.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Capacity {
    capacity_units: Option<f64>,
}

impl Capacity {
    fn units(self) -> f64 {
        self.capacity_units.unwrap_or(0.0)
    }
}

fn units(capacity: Option<Capacity>) -> f64 {
    capacity.map_or(0.0, Capacity::units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_dynamodbs_code_and_says_whether_to_try_again() {
        let throttled = refusal(
            400,
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"}"#,
        );
        assert_eq!(throttled.code, "ProvisionedThroughputExceededException");
        assert_eq!(
            throttled.to_string(),
            "ProvisionedThroughputExceededException: Rate exceeded"
        );
        assert!(throttled.is_transient());
        let missing = refusal(
            400,
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","Message":"Requested resource not found"}"#,
        );
        assert_eq!(missing.code, "ResourceNotFoundException");
        assert_eq!(missing.message, "Requested resource not found");
        assert!(!missing.is_transient());
        let cancelled = refusal(
            400,
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled [None, ConditionalCheckFailed]","CancellationReasons":[{"Code":"None"},{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"}]}"#,
        );
        assert_eq!(cancelled.code, "TransactionCanceledException");
        assert_eq!(
            cancelled.cancellation_reasons,
            [
                Some("None".to_owned()),
                Some("ConditionalCheckFailed".to_owned())
            ]
        );
        assert!(!cancelled.is_retried());
        let in_progress = refusal(
            400,
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionInProgressException","message":"in progress"}"#,
        );
        assert!(in_progress.is_retried() && !in_progress.is_transient());
        let broken = refusal(503, b"<html>Service Unavailable</html>");
        assert_eq!(broken.code, "HTTP 503");
        assert!(broken.is_transient());
    }

    #[test]
    fn failures_are_unavailable_when_a_later_try_may_succeed() {
        let failed = |f: Failure| f.into_error();
        assert!(matches!(
            failed(Failure::NoAnswer(NoAnswer("reset".into()))),
            StoreError::Unavailable(_)
        ));
        let refused = refusal(
            400,
            br#"{"__type":"x#ValidationException","message":"bad"}"#,
        );
        let error = failed(Failure::Refused(refused));
        assert!(matches!(error, StoreError::Backend(_)));
        assert!(
            error.to_string().contains("ValidationException: bad"),
            "{error}"
        );
        assert!(matches!(
            failed(Failure::Unreadable("not JSON".into())),
            StoreError::Backend(_)
        ));
    }

    /// The Query's body as DynamoDB documents it: optional parts left out, names and values
    /// in their maps, the start key in DynamoDB's JSON.
    #[test]
    fn a_query_is_written_as_dynamodb_reads_it() {
        let partition = AttributeValue::S("T#acme#C#01".into());
        let start: Item = HashMap::from([
            ("PK".to_owned(), partition.clone()),
            ("SK".to_owned(), AttributeValue::S("SITE#1".into())),
        ]);
        let query = QueryRequest {
            table: "customers",
            index: None,
            key_condition: "#pk = :pk",
            filter: None,
            projection: Some("#pk, #sk"),
            names: BTreeMap::from([("#pk", "PK"), ("#sk", "SK")]),
            values: BTreeMap::from([(":pk", &partition)]),
            ascending: false,
            consistent: true,
            limit: 50,
            start: Some(&start),
        };
        let expected = serde_json::json!({
            "TableName": "customers",
            "KeyConditionExpression": "#pk = :pk",
            "ProjectionExpression": "#pk, #sk",
            "ExpressionAttributeNames": {"#pk": "PK", "#sk": "SK"},
            "ExpressionAttributeValues": {":pk": {"S": "T#acme#C#01"}},
            "ScanIndexForward": false,
            "ConsistentRead": true,
            "Limit": 50,
            "ExclusiveStartKey": {"PK": {"S": "T#acme#C#01"}, "SK": {"S": "SITE#1"}},
            "ReturnConsumedCapacity": "TOTAL",
        });
        assert_eq!(
            serde_json::to_value(QueryBody::of(&query)).unwrap(),
            expected
        );
    }
}
