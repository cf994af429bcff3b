//! The table's stream as the functions it feeds see it: records parsed into changes of our
//! items (images read back into the domain's types), and the partial batch response that
//! retries only what failed, in shard order.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::types::AttributeValue;
use domain::CustomerId;
use serde_json::{Value, json};

use crate::StoreError;
use crate::items::Item;
use crate::keys::{self, TenantId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Modify,
    Remove,
}

/// One record of the stream.
#[derive(Debug, Clone)]
pub struct Change {
    /// The record's sequence number: unique in the stream, the same when redelivered, and
    /// the item identifier of a partial batch response.
    pub sequence: String,
    pub kind: ChangeKind,
    pub tenant: TenantId,
    pub customer: CustomerId,
    pub sort_key: String,
    pub new: Option<Item>,
    pub old: Option<Item>,
}

impl Change {
    /// The new image as a record of ours.
    pub fn new_record<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, StoreError> {
        self.new
            .clone()
            .map(crate::items::record_from_item)
            .transpose()
    }

    pub fn old_record<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>, StoreError> {
        self.old
            .clone()
            .map(crate::items::record_from_item)
            .transpose()
    }
}

/// The changes of an invocation's payload; a record that is not a change of a customer's
/// partition is an `Err` with its sequence number and why.
pub fn changes(payload: &Value) -> Vec<Result<Change, (String, String)>> {
    let records = payload["Records"].as_array().cloned().unwrap_or_default();
    records.iter().map(change_of).collect()
}

/// [`in_order`] as one invocation of `function`: with its log line and batch metrics
/// (`kit::logging::Invocation`), so every stream consumer reports alike.
pub async fn in_order_reported<F, Fut, E>(
    function: &str,
    request_id: &str,
    payload: &Value,
    handle: F,
) -> Value
where
    F: FnMut(Change) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let invocation = kit::logging::Invocation::start();
    // Boxed: the consumers' futures nest deep enough to pass rustc's layout depth limit.
    let response = Box::pin(in_order(payload, handle)).await;
    let (tenants, records) = summary(payload);
    invocation.finish(function, request_id, &tenants, records, &response);
    response
}

/// What an invocation's log line says of its payload: the distinct organisations of its
/// changes and how many records it holds.
pub fn summary(payload: &Value) -> (Vec<String>, usize) {
    let records = payload["Records"].as_array().map_or(0, Vec::len);
    let mut tenants: Vec<String> = changes(payload)
        .into_iter()
        .filter_map(Result::ok)
        .map(|change| change.tenant.as_str().to_owned())
        .collect();
    tenants.sort();
    tenants.dedup();
    (tenants, records)
}

fn change_of(record: &Value) -> Result<Change, (String, String)> {
    let data = &record["dynamodb"];
    let sequence = data["SequenceNumber"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let fail = |why: &str| (sequence.clone(), why.to_owned());
    let kind = match record["eventName"].as_str() {
        Some("INSERT") => ChangeKind::Insert,
        Some("MODIFY") => ChangeKind::Modify,
        Some("REMOVE") => ChangeKind::Remove,
        _ => return Err(fail("not a DynamoDB stream record")),
    };
    let pk = data["Keys"]["PK"]["S"]
        .as_str()
        .ok_or_else(|| fail("no PK"))?;
    let (tenant, customer) =
        keys::parse_customer_partition(pk).ok_or_else(|| fail("not a customer's partition"))?;
    let sort_key = data["Keys"]["SK"]["S"]
        .as_str()
        .ok_or_else(|| fail("no SK"))?
        .to_owned();
    let image = |name: &str| -> Result<Option<Item>, (String, String)> {
        match data.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(image) => item_from_json(image)
                .map(Some)
                .ok_or_else(|| fail("an image that is not DynamoDB JSON")),
        }
    };
    Ok(Change {
        kind,
        tenant,
        customer,
        sort_key,
        new: image("NewImage")?,
        old: image("OldImage")?,
        sequence,
    })
}

/// A stream image (DynamoDB JSON: `{"name": {"S": "..."}}`) as an item.
pub fn item_from_json(image: &Value) -> Option<Item> {
    image
        .as_object()?
        .iter()
        .map(|(name, value)| Some((name.clone(), attribute(value)?)))
        .collect()
}

fn attribute(value: &Value) -> Option<AttributeValue> {
    let (kind, inner) = value.as_object()?.iter().next()?;
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    Some(match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str()?.to_owned()),
        "N" => AttributeValue::N(inner.as_str()?.to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(strings(inner)?),
        "NS" => AttributeValue::Ns(strings(inner)?),
        "L" => AttributeValue::L(
            inner
                .as_array()?
                .iter()
                .map(attribute)
                .collect::<Option<_>>()?,
        ),
        "M" => AttributeValue::M(
            inner
                .as_object()?
                .iter()
                .map(|(k, v)| Some((k.clone(), attribute(v)?)))
                .collect::<Option<HashMap<_, _>>>()?,
        ),
        // Binary attributes: none of our items has one.
        _ => return None,
    })
}

/// Runs `handle` on each change in order and answers the partial batch response. A record
/// that cannot be a change of ours is logged and skipped (retrying cannot help); the first one
/// that fails is reported with every record after it, which must wait for it (order per
/// shard), and the event source mapping retries from there.
pub async fn in_order<F, Fut, E>(payload: &Value, mut handle: F) -> Value
where
    F: FnMut(Change) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    for change in changes(payload) {
        let change = match change {
            Ok(change) => change,
            Err((sequence, why)) => {
                tracing::warn!(sequence = %sequence, why = %why, "record ignored");
                continue;
            }
        };
        let sequence = change.sequence.clone();
        if let Err(error) = handle(change).await {
            tracing::error!(sequence = %sequence, error = %error, "record failed; it comes again");
            return json!({"batchItemFailures": [{"itemIdentifier": sequence}]});
        }
    }
    json!({"batchItemFailures": []})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_record_becomes_a_change_with_typed_images() {
        let payload = json!({"Records": [
            {"eventName": "MODIFY", "eventSource": "aws:dynamodb", "dynamodb": {
                "SequenceNumber": "42",
                "Keys": {"PK": {"S": "T#acme#C#01J"}, "SK": {"S": "JOB#01K"}},
                "NewImage": {"n": {"N": "3"}, "tags": {"SS": ["a"]}, "ok": {"BOOL": true},
                             "m": {"M": {"l": {"L": [{"S": "x"}, {"NULL": true}]}}}},
                "OldImage": {"n": {"N": "2"}}}},
            {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "43",
                "Keys": {"PK": {"S": "SYSTEM#X"}, "SK": {"S": "Y"}}}}]});
        let changes = changes(&payload);
        let change = changes[0].as_ref().unwrap();
        assert_eq!(change.sequence, "42");
        assert_eq!(change.kind, ChangeKind::Modify);
        assert_eq!(change.tenant.as_str(), "acme");
        assert_eq!(change.sort_key, "JOB#01K");
        let new = change.new.as_ref().unwrap();
        assert_eq!(new["n"], AttributeValue::N("3".into()));
        assert_eq!(
            new["m"],
            AttributeValue::M(HashMap::from([(
                "l".to_owned(),
                AttributeValue::L(vec![
                    AttributeValue::S("x".into()),
                    AttributeValue::Null(true)
                ])
            )]))
        );
        assert_eq!(changes[1].as_ref().unwrap_err().0, "43");
    }

    #[tokio::test]
    async fn the_first_failure_is_reported_and_the_rest_waits() {
        let record = |seq: &str| {
            json!({"eventName": "INSERT", "dynamodb": {"SequenceNumber": seq,
            "Keys": {"PK": {"S": "T#acme#C#01J"}, "SK": {"S": "X"}}}})
        };
        let payload = json!({"Records": [record("1"), record("2"), record("3")]});
        let mut seen = Vec::new();
        let response = in_order(&payload, |change| {
            seen.push(change.sequence.clone());
            let fails = change.sequence == "2";
            async move { if fails { Err("no") } else { Ok(()) } }
        })
        .await;
        assert_eq!(seen, ["1", "2"]);
        assert_eq!(
            response,
            json!({"batchItemFailures": [{"itemIdentifier": "2"}]})
        );
    }
}
