//! The table's stream as the functions it feeds see it: Lambda's DynamoDB event
//! (`aws_lambda_events`' typed records, images as `serde_dynamo` items) read into changes of
//! our items, each image decoded into the domain's type, and the partial batch response that
//! retries only what failed, in shard order. Which item a key names is known here and nowhere
//! else: a consumer matches on [`Changed`] and never sees a key.

use std::fmt;
use std::future::Future;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use domain::{Customer, CustomerId, Job, WorkOrder};
use serde_dynamo::AttributeValue;

use crate::customers::Assignment;
use crate::keys::{self, TenantId};
use crate::{StoreError, items};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Modify,
    Remove,
}

/// One record of the stream, read.
#[derive(Debug, Clone)]
pub struct Change {
    /// The record's sequence number: unique in the stream, the same when redelivered, and
    /// the item identifier of a partial batch response.
    pub sequence: String,
    pub kind: ChangeKind,
    pub tenant: TenantId,
    pub customer: CustomerId,
    pub item: Changed,
}

/// The item a record changed, before and after, as the domain's types: the kinds a stream
/// consumer reads. Every other item of a customer's partition (history, sites, claims, ...) is
/// `Other`, which no consumer needs to look into.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "a work order's images are about 240 bytes larger than a job's; a batch holds \
              at most 100 changes, and boxing every kind would burden every consumer's patterns"
)]
pub enum Changed {
    /// Boxed: a card is several times the size of the others.
    Customer(Box<Images<Customer>>),
    Assignment(Images<Assignment>),
    WorkOrder(Images<WorkOrder>),
    Job(Images<Job>),
    Other,
}

/// An item's images: `old` absent on an insert, `new` absent on a removal.
#[derive(Debug, Clone, PartialEq)]
pub struct Images<T> {
    pub old: Option<T>,
    pub new: Option<T>,
}

/// A record that is not a change of ours (retrying cannot help): its sequence number and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub sequence: String,
    pub why: String,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {}: {}", self.sequence, self.why)
    }
}

/// The changes of an invocation's event, in order.
pub fn changes(event: &Event) -> Vec<Result<Change, Ignored>> {
    event.records.iter().map(change).collect()
}

/// One record as a change of a customer's partition.
pub fn change(record: &EventRecord) -> Result<Change, Ignored> {
    let data = &record.change;
    let sequence = data.sequence_number.clone().unwrap_or_default();
    let ignored = |why: String| Ignored {
        sequence: sequence.clone(),
        why,
    };
    let kind = match record.event_name.as_str() {
        "INSERT" => ChangeKind::Insert,
        "MODIFY" => ChangeKind::Modify,
        "REMOVE" => ChangeKind::Remove,
        other => return Err(ignored(format!("{other:?} is not a change of an item"))),
    };
    let key = |name: &str| match data.keys.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.as_str()),
        _ => Err(ignored(format!("no {name} in the record's keys"))),
    };
    let (pk, sk) = (key(keys::PK)?, key(keys::SK)?);
    let (tenant, customer) = keys::parse_customer_partition(pk)
        .ok_or_else(|| ignored(format!("{pk:?} is not a customer's partition")))?;
    let (old, new) = (&data.old_image, &data.new_image);
    let item = match keys::item_in_partition(sk) {
        keys::PartitionItem::Customer => decode(old, new, items::customer_from_item)
            .map(|images| Changed::Customer(Box::new(images))),
        keys::PartitionItem::Assignment => {
            decode(old, new, items::assignment_from_item).map(Changed::Assignment)
        }
        keys::PartitionItem::WorkOrder => {
            decode(old, new, items::record_from_item).map(Changed::WorkOrder)
        }
        keys::PartitionItem::Job => decode(old, new, items::record_from_item).map(Changed::Job),
        keys::PartitionItem::Other => Ok(Changed::Other),
    }
    .map_err(|error| ignored(format!("{sk:?}: an image that is not our record: {error}")))?;
    Ok(Change {
        sequence,
        kind,
        tenant,
        customer,
        item,
    })
}

/// The organisation and id of a bulk change whose record this record inserted; `None` for any
/// other record (the cascade's mapping passes both kinds).
pub fn bulk_change_inserted(record: &EventRecord) -> Option<(TenantId, String)> {
    if record.event_name != "INSERT" {
        return None;
    }
    let key = |name: &str| match record.change.keys.get(name) {
        Some(AttributeValue::S(value)) => Some(value.as_str()),
        _ => None,
    };
    keys::parse_bulk_change(key(keys::PK)?, key(keys::SK)?)
}

/// Both images through the item mapping's decoder, from the stream's own item type (through
/// the SDK's, as a table read has it, each attribute would be converted twice); an absent image
/// (the event's empty item) is `None`.
fn decode<T>(
    old: &serde_dynamo::Item,
    new: &serde_dynamo::Item,
    from_item: fn(serde_dynamo::Item) -> Result<T, StoreError>,
) -> Result<Images<T>, StoreError> {
    let image = |image: &serde_dynamo::Item| {
        (!image.is_empty())
            .then(|| from_item(image.clone()))
            .transpose()
    };
    Ok(Images {
        old: image(old)?,
        new: image(new)?,
    })
}

/// [`in_order`] as one invocation of `function`: with its log line and batch metrics
/// (`kit::logging::Invocation`), so every stream consumer reports alike.
pub async fn in_order_reported<F, Fut, E>(
    function: &str,
    request_id: &str,
    event: &Event,
    handle: F,
) -> DynamoDbEventResponse
where
    F: FnMut(Change) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: fmt::Display,
{
    let invocation = kit::logging::Invocation::start();
    let changes = changes(event);
    let tenants = tenants(&changes);
    // Boxed: the consumers' futures nest deep enough to pass rustc's layout depth limit.
    let response = Box::pin(in_order(changes, handle)).await;
    let reported = serde_json::to_value(&response).unwrap_or_default();
    invocation.finish(
        function,
        request_id,
        &tenants,
        event.records.len(),
        &reported,
    );
    response
}

/// The distinct organisations of a batch's changes, for its log line.
fn tenants(changes: &[Result<Change, Ignored>]) -> Vec<String> {
    let mut tenants: Vec<String> = changes
        .iter()
        .filter_map(|change| change.as_ref().ok())
        .map(|change| change.tenant.as_str().to_owned())
        .collect();
    tenants.sort();
    tenants.dedup();
    tenants
}

/// Runs `handle` on each change in order and answers the partial batch response. A record
/// that is not a change of ours is logged and skipped (retrying cannot help); the first one
/// that fails is reported with every record after it, which must wait for it (order per
/// shard), and the event source mapping retries from there.
pub async fn in_order<F, Fut, E>(
    changes: Vec<Result<Change, Ignored>>,
    mut handle: F,
) -> DynamoDbEventResponse
where
    F: FnMut(Change) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: fmt::Display,
{
    let mut response = DynamoDbEventResponse::default();
    for change in changes {
        let change = match change {
            Ok(change) => change,
            Err(ignored) => {
                tracing::warn!(sequence = %ignored.sequence, why = %ignored.why, "record ignored");
                continue;
            }
        };
        let sequence = change.sequence.clone();
        if let Err(error) = handle(change).await {
            tracing::error!(sequence = %sequence, error = %error, "record failed; it comes again");
            response.batch_item_failures.push(failure(sequence));
            break;
        }
    }
    response
}

/// A record reported back for retry (the struct is `non_exhaustive`: no literal).
pub fn failure(item_identifier: String) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = Some(item_identifier);
    failure
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::{Value, json};

    use super::*;

    fn tenant() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    fn assignment() -> Assignment {
        Assignment {
            tenant_id: "acme".into(),
            customer_id: CustomerId("01JCUST".into()),
            customer_number: "1001".into(),
            customer_name: "Berg, Anna".into(),
            user_id: "tech-1".into(),
            assigned_by: "ada".into(),
            assigned_at: Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap(),
        }
    }

    /// An item of ours as a stream image: DynamoDB JSON, as Lambda sends it.
    fn image(item: items::Item) -> Value {
        serde_json::to_value(serde_dynamo::Item::from(item)).unwrap()
    }

    /// A record as Lambda delivers it (every field Lambda sends).
    fn record(
        sequence: &str,
        name: &str,
        keys: Value,
        new: Option<Value>,
        old: Option<Value>,
    ) -> Value {
        let mut dynamodb = json!({"ApproximateCreationDateTime": 1_764_583_200,
            "Keys": keys, "SequenceNumber": sequence, "SizeBytes": 312,
            "StreamViewType": "NEW_AND_OLD_IMAGES"});
        if let Some(new) = new {
            dynamodb["NewImage"] = new;
        }
        if let Some(old) = old {
            dynamodb["OldImage"] = old;
        }
        json!({"eventID": format!("e{sequence}"), "eventName": name, "eventVersion": "1.1",
               "eventSource": "aws:dynamodb", "awsRegion": "eu-north-1", "dynamodb": dynamodb,
               "eventSourceARN": "arn:aws:dynamodb:eu-north-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"})
    }

    fn event(records: Vec<Value>) -> Event {
        serde_json::from_value(json!({ "Records": records })).expect("Lambda's event shape")
    }

    fn keys_of(key: keys::Key) -> Value {
        image(items::key_of(key))
    }

    #[test]
    fn an_assignment_record_becomes_a_typed_change() {
        let assignment = assignment();
        let key = keys::assignment(&tenant(), &assignment.customer_id, &assignment.user_id);
        let item = items::assignment_item(&tenant(), &assignment);
        let event = event(vec![
            record(
                "41",
                "INSERT",
                keys_of(key.clone()),
                Some(image(item.clone())),
                None,
            ),
            record("42", "REMOVE", keys_of(key), None, Some(image(item))),
        ]);
        let changes = changes(&event);
        let inserted = changes[0].as_ref().unwrap();
        assert_eq!(inserted.sequence, "41");
        assert_eq!(inserted.kind, ChangeKind::Insert);
        assert_eq!(inserted.tenant, tenant());
        assert_eq!(inserted.customer, assignment.customer_id);
        let Changed::Assignment(images) = &inserted.item else {
            panic!("{:?}", inserted.item)
        };
        assert_eq!(
            images,
            &Images {
                old: None,
                new: Some(assignment.clone())
            }
        );
        let removed = changes[1].as_ref().unwrap();
        assert_eq!(removed.kind, ChangeKind::Remove);
        let Changed::Assignment(images) = &removed.item else {
            panic!("{:?}", removed.item)
        };
        assert_eq!(images.old.as_ref(), Some(&assignment));
        assert_eq!(images.new, None);
    }

    #[test]
    fn items_no_consumer_reads_are_other_and_foreign_records_are_ignored() {
        let customer = CustomerId("01JCUST".into());
        let history = keys::history(&tenant(), &customer, "01JHIST");
        let event = event(vec![
            record(
                "1",
                "INSERT",
                keys_of(history),
                Some(json!({"x": {"S": "y"}})),
                None,
            ),
            record(
                "2",
                "INSERT",
                json!({"PK": {"S": "SYSTEM#X"}, "SK": {"S": "Y"}}),
                None,
                None,
            ),
            record(
                "3",
                "MODIFY",
                json!({"PK": {"S": "T#acme#C#01J"}}),
                None,
                None,
            ),
        ]);
        let changes = changes(&event);
        assert!(matches!(changes[0].as_ref().unwrap().item, Changed::Other));
        assert_eq!(changes[1].as_ref().unwrap_err().sequence, "2");
        assert!(changes[2].as_ref().unwrap_err().why.contains("SK"));
    }

    #[test]
    fn an_image_that_is_not_our_record_is_ignored_with_the_reason() {
        let assignment = assignment();
        let key = keys::assignment(&tenant(), &assignment.customer_id, &assignment.user_id);
        let event = event(vec![record(
            "7",
            "INSERT",
            keys_of(key),
            Some(json!({"userId": {"N": "3"}})),
            None,
        )]);
        let ignored = changes(&event).remove(0).unwrap_err();
        assert_eq!(ignored.sequence, "7");
        assert!(ignored.why.contains("not our record"), "{ignored}");
    }

    #[tokio::test]
    async fn the_first_failure_is_reported_and_the_rest_waits() {
        let key = |n: &str| keys_of(keys::history(&tenant(), &CustomerId("01J".into()), n));
        let event = event(vec![
            record("1", "INSERT", key("a"), None, None),
            record("2", "INSERT", key("b"), None, None),
            record("3", "INSERT", key("c"), None, None),
        ]);
        let mut seen = Vec::new();
        let response = in_order(changes(&event), |change| {
            seen.push(change.sequence.clone());
            let fails = change.sequence == "2";
            async move { if fails { Err("no") } else { Ok(()) } }
        })
        .await;
        assert_eq!(seen, ["1", "2"]);
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "2"}]})
        );
        let none = in_order(changes(&event), |_| async { Ok::<(), &str>(()) }).await;
        assert_eq!(
            serde_json::to_value(&none).unwrap(),
            json!({"batchItemFailures": []})
        );
    }
}
