//! What invokes the cascade: stream records of customers that turned inactive (the event
//! source mapping's filter lets only those through), and our own continuation messages.

use domain::CustomerId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::TenantId;

/// What the cascade goes through, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    #[default]
    Sites,
    Contracts,
    WorkOrders,
    Jobs,
}

impl Phase {
    /// Its name as serialised, which the metrics use too.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Sites => "sites",
            Phase::Contracts => "contracts",
            Phase::WorkOrders => "workOrders",
            Phase::Jobs => "jobs",
        }
    }

    /// The phases in the order the cascade runs them; `None` after the last.
    pub fn next(self) -> Option<Phase> {
        match self {
            Phase::Sites => Some(Phase::Contracts),
            Phase::Contracts => Some(Phase::WorkOrders),
            Phase::WorkOrders => Some(Phase::Jobs),
            Phase::Jobs => None,
        }
    }
}

/// One customer's cascade, from `cursor` (the next page of the `phase`'s records) on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub tenant: TenantId,
    pub customer: CustomerId,
    /// The card's version that turned inactive.
    pub version: u64,
    pub phase: Phase,
    pub cursor: Option<String>,
}

/// One record of a batch: its id for a partial batch response, whether later records of the
/// batch must wait for it (stream records keep their order), and the work it asks for.
#[derive(Debug)]
pub struct Item {
    pub id: String,
    pub ordered: bool,
    pub work: Result<Work, String>,
}

/// The rest of a cascade, queued for a new invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Continuation {
    pub tenant: String,
    pub customer_id: String,
    pub version: u64,
    #[serde(default)]
    pub phase: Phase,
    pub cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContinuationMessage {
    continue_cascade: Continuation,
}

pub fn continuation_body(continuation: &Continuation) -> String {
    serde_json::to_string(&ContinuationMessage {
        continue_cascade: continuation.clone(),
    })
    .expect("a continuation serialises")
}

/// The items of an invocation's payload (`{"Records": [...]}` from either source).
pub fn work_items(payload: &Value) -> Vec<Item> {
    let records = payload["Records"].as_array().cloned().unwrap_or_default();
    records.iter().map(item_of).collect()
}

fn item_of(record: &Value) -> Item {
    match record["eventSource"].as_str() {
        Some("aws:dynamodb") => Item {
            id: record["dynamodb"]["SequenceNumber"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            ordered: true,
            work: stream_work(&record["dynamodb"]),
        },
        _ => Item {
            id: record["messageId"].as_str().unwrap_or_default().to_owned(),
            ordered: false,
            work: continuation_work(record["body"].as_str().unwrap_or_default()),
        },
    }
}

fn stream_work(change: &Value) -> Result<Work, String> {
    let pk = change["Keys"]["PK"]["S"]
        .as_str()
        .ok_or("a stream record without a PK")?;
    let (tenant, customer) = store::keys::parse_customer_partition(pk)
        .ok_or_else(|| format!("{pk:?} is not a customer's partition"))?;
    let version = change["NewImage"]["version"]["N"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .ok_or("a customer image without a version")?;
    Ok(Work {
        tenant,
        customer,
        version,
        phase: Phase::Sites,
        cursor: None,
    })
}

fn continuation_work(body: &str) -> Result<Work, String> {
    let message: ContinuationMessage =
        serde_json::from_str(body).map_err(|e| format!("not a continuation: {e}"))?;
    let c = message.continue_cascade;
    Ok(Work {
        tenant: TenantId::parse(&c.tenant).ok_or("a continuation without a valid tenant")?,
        customer: CustomerId(c.customer_id),
        version: c.version,
        phase: c.phase,
        cursor: c.cursor,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_phase_is_named_as_it_is_serialised() {
        for phase in [
            Phase::Sites,
            Phase::Contracts,
            Phase::WorkOrders,
            Phase::Jobs,
        ] {
            assert_eq!(serde_json::to_value(phase).unwrap(), phase.as_str());
        }
    }

    #[test]
    fn a_stream_record_names_the_customer_and_its_version() {
        let payload = json!({"Records": [{
            "eventID": "1", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
            "dynamodb": {"SequenceNumber": "100",
                         "Keys": {"PK": {"S": "T#acme#C#01JCUST"}, "SK": {"S": "CUSTOMER"}},
                         "NewImage": {"status": {"S": "inactive"}, "version": {"N": "7"}}}}]});
        let items = work_items(&payload);
        assert_eq!(items[0].id, "100");
        assert!(items[0].ordered);
        let work = items[0].work.as_ref().unwrap();
        assert_eq!(work.tenant.as_str(), "acme");
        assert_eq!(work.customer, CustomerId("01JCUST".into()));
        assert_eq!(work.version, 7);
        assert_eq!(work.cursor, None);
    }

    #[test]
    fn a_continuation_round_trips() {
        let continuation = Continuation {
            tenant: "acme".into(),
            customer_id: "01J".into(),
            version: 3,
            phase: Phase::Contracts,
            cursor: Some("abc".into()),
        };
        let payload = json!({"Records": [{"messageId": "m1", "eventSource": "aws:sqs",
                                          "body": continuation_body(&continuation)}]});
        let items = work_items(&payload);
        assert_eq!(items[0].id, "m1");
        assert!(!items[0].ordered);
        assert_eq!(
            items[0].work.as_ref().unwrap().cursor.as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn records_that_name_no_customer_are_not_work() {
        let payload = json!({"Records": [
            {"eventSource": "aws:dynamodb", "dynamodb": {"SequenceNumber": "1",
              "Keys": {"PK": {"S": "T#acme#IMPORT#01J"}}, "NewImage": {}}},
            {"eventSource": "aws:sqs", "messageId": "m", "body": "garbage"}]});
        let items = work_items(&payload);
        assert!(items.iter().all(|i| i.work.is_err()));
    }
}
