//! The reads every request and event makes (GetItem, Query, BatchGetItem) and the writes every
//! change is made of (TransactWriteItems, PutItem, UpdateItem, DeleteItem), over DynamoDB's JSON
//! protocol as signed requests of our own ([`kit::protocol`]) instead of through the SDK
//! client. An SDK call costs about 85 µs more CPU than the same request made this way on the
//! bench machine (`bench-sdk-call`), and the API, the cascade and the notifications make one
//! such read per warm invocation (docs/architecture.md#performance).
//!
//! The attempts, timeouts and error codes the SDK gave these calls are kept there; here are
//! DynamoDB's operations, their bodies and answers, and what its refusals mean to the store:
//! "not now" ([`StoreError::Unavailable`]) told apart from "never" ([`StoreError::Backend`]).
//! Items come back as the SDK's type, so every decoder reads them the same way.

use std::collections::{BTreeMap, HashMap};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use kit::protocol::{JsonApi, Refusal};
use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::items::Item;
use crate::wire::{Fields, OwnedItem, Single, Value, Write};

pub(crate) use kit::protocol::Failure;

/// DynamoDB in one region, reached at its endpoint (`AWS_ENDPOINT_URL` locally).
#[derive(Clone)]
pub(crate) struct Requests {
    dynamodb: JsonApi,
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

/// The reason DynamoDB gives for each write of a cancelled transaction: its code (`None` or
/// `"None"` when the write was fine).
pub(crate) fn cancellation_reasons(refusal: &Refusal) -> Vec<Option<String>> {
    #[derive(Deserialize, Default)]
    struct Answer {
        #[serde(rename = "CancellationReasons", default)]
        cancellation_reasons: Vec<Reason>,
    }
    #[derive(Deserialize)]
    struct Reason {
        #[serde(rename = "Code")]
        code: Option<String>,
    }
    let answer: Answer = serde_json::from_slice(&refusal.body).unwrap_or_default();
    answer
        .cancellation_reasons
        .into_iter()
        .map(|r| r.code)
        .collect()
}

/// The error the store's callers act on: unavailable (503) for "not now", else a failure.
impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        if failure.is_transient() {
            StoreError::Unavailable(Box::new(failure))
        } else {
            StoreError::Backend(Box::new(failure))
        }
    }
}

impl Requests {
    /// DynamoDB in `config`'s region, with its credentials, at its endpoint, attempted and
    /// timed out as `config` says.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            dynamodb: JsonApi::new(config, "dynamodb", "DynamoDB_20120810"),
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
            .dynamodb
            .call("GetItem", &request)
            .await
            .map_err(StoreError::from)?;
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
            .dynamodb
            .call("Query", &QueryBody::of(query))
            .await
            .map_err(StoreError::from)?;
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
            .dynamodb
            .call("BatchGetItem", &request)
            .await
            .map_err(StoreError::from)?;
        let take = |items: Option<Vec<OwnedItem>>| -> Vec<Item> {
            items.unwrap_or_default().into_iter().map(|i| i.0).collect()
        };
        Ok(BatchRound {
            items: take(answer.responses.remove(table)),
            unprocessed: take(answer.unprocessed_keys.remove(table).map(|u| u.keys)),
            units: units(answer.consumed_capacity),
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
        let answer: Answer = self.dynamodb.call("TransactWriteItems", &request).await?;
        Ok(units(answer.consumed_capacity))
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
        let answer: Answer = self.dynamodb.call(operation, &request).await?;
        Ok(Written {
            attributes: answer.attributes.map(|a| a.0),
            units: units(answer.consumed_capacity),
        })
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

/// The units of an answer's ConsumedCapacity: one (single operations), or one per table
/// (batches and transactions), or none.
fn units(capacities: impl IntoIterator<Item = Capacity>) -> f64 {
    capacities.into_iter().map(Capacity::units).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &'static str) -> Failure {
        Failure::Refused(Refusal::of_json(
            400,
            bytes::Bytes::from_static(body.as_bytes()),
        ))
    }

    #[test]
    fn a_cancelled_transaction_gives_the_reason_of_each_write() {
        let cancelled = refused(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled [None, ConditionalCheckFailed]","CancellationReasons":[{"Code":"None"},{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"}]}"#,
        );
        let refusal = cancelled.refusal().unwrap();
        assert_eq!(refusal.code, "TransactionCanceledException");
        assert_eq!(
            cancellation_reasons(refusal),
            [
                Some("None".to_owned()),
                Some("ConditionalCheckFailed".to_owned())
            ]
        );
        let other = refused(r#"{"__type":"x#ValidationException","message":"bad"}"#);
        assert!(cancellation_reasons(other.refusal().unwrap()).is_empty());
    }

    #[test]
    fn failures_are_unavailable_when_a_later_try_may_succeed() {
        let throttled = refused(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"}"#,
        );
        assert!(matches!(
            StoreError::from(throttled),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(Failure::NoAnswer(kit::signed::NoAnswer("reset".into()))),
            StoreError::Unavailable(_)
        ));
        let error = StoreError::from(refused(
            r#"{"__type":"x#ValidationException","message":"bad"}"#,
        ));
        assert!(matches!(error, StoreError::Backend(_)));
        assert!(
            error.to_string().contains("ValidationException: bad"),
            "{error}"
        );
        assert!(matches!(
            StoreError::from(Failure::Unreadable("not JSON".into())),
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
