//! What invokes the cascade: stream records of customers that turned inactive (the event
//! source mapping's filter lets only those through), and our own continuation messages.

use aws_lambda_events::dynamodb::EventRecord;
use aws_lambda_events::sqs::SqsMessage;
use domain::CustomerId;
use domain::linked::{self, Kind};
use serde::{Deserialize, Serialize};
use store::TenantId;
use store::stream::Changed;

/// A phase of the cascade: the kind of record it closes. The order of the phases is the
/// domain's ([`domain::linked::CASCADE_ORDER`]); the default is the first.
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
    pub const ALL: [Phase; 4] = [
        Phase::Sites,
        Phase::Contracts,
        Phase::WorkOrders,
        Phase::Jobs,
    ];

    /// The kind of record the phase closes.
    pub fn kind(self) -> &'static Kind {
        match self {
            Phase::Sites => &linked::SITE,
            Phase::Contracts => &linked::CONTRACT,
            Phase::WorkOrders => &linked::WORK_ORDER,
            Phase::Jobs => &linked::JOB,
        }
    }

    /// Its name as serialised (the kind's collection), which the metrics use too.
    pub fn as_str(self) -> &'static str {
        self.kind().collection
    }

    /// The phase after this one in the domain's cascade order; `None` after the last.
    pub fn next(self) -> Option<Phase> {
        let at = linked::CASCADE_ORDER
            .iter()
            .position(|kind| *kind == self.kind())?;
        let next = linked::CASCADE_ORDER.get(at + 1)?;
        Phase::ALL.into_iter().find(|phase| phase.kind() == *next)
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

/// What a record asks for: a deactivation's cascade, the next pages of a bulk change, or a
/// merge's moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    Cascade(Work),
    Bulk(BulkWork),
    Merge(crate::merge::MergeWork),
}

impl Task {
    pub fn tenant(&self) -> &TenantId {
        match self {
            Task::Cascade(work) => &work.tenant,
            Task::Bulk(work) => &work.tenant,
            Task::Merge(work) => &work.tenant,
        }
    }
}

/// A bulk change to go on with, from where its record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkWork {
    pub tenant: TenantId,
    pub id: String,
}

/// One record of a batch: its id for a partial batch response, whether later records of the
/// batch must wait for it (stream records keep their order), and the work it asks for.
#[derive(Debug)]
pub struct Item {
    pub id: String,
    pub ordered: bool,
    pub work: Result<Task, String>,
    /// The background erasure the record asks for too (a card just erased), if any.
    pub erasure: Option<crate::erase::Erasure>,
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

/// The rest of a bulk change, queued for a new invocation (its record says where it stands).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkContinuationMessage {
    continue_bulk_change: BulkContinuation,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkContinuation {
    tenant: String,
    bulk_change_id: String,
}

pub fn bulk_continuation_body(work: &BulkWork) -> String {
    serde_json::to_string(&BulkContinuationMessage {
        continue_bulk_change: BulkContinuation {
            tenant: work.tenant.as_str().to_owned(),
            bulk_change_id: work.id.clone(),
        },
    })
    .expect("a continuation serialises")
}

pub fn continuation_body(continuation: &Continuation) -> String {
    serde_json::to_string(&ContinuationMessage {
        continue_cascade: continuation.clone(),
    })
    .expect("a continuation serialises")
}

/// An invocation's payload: Lambda's DynamoDB event or its SQS event (`{"Records": [...]}`
/// either way; each mapping invokes with records of its own source only).
#[derive(Debug, Clone, Deserialize)]
pub struct Batch {
    #[serde(rename = "Records")]
    pub records: Vec<Record>,
}

/// A record of either source, told apart by the `eventSource` every record carries.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "eventSource")]
pub enum Record {
    #[serde(rename = "aws:dynamodb")]
    Stream(Box<EventRecord>),
    #[serde(rename = "aws:sqs")]
    Queue(Box<SqsMessage>),
}

/// The items of an invocation's payload.
pub fn work_items(batch: &Batch) -> Vec<Item> {
    batch.records.iter().map(item_of).collect()
}

fn item_of(record: &Record) -> Item {
    if let Record::Stream(stream) = record
        && let Some((tenant, id)) = store::stream::bulk_change_inserted(stream)
    {
        return Item {
            id: stream.change.sequence_number.clone().unwrap_or_default(),
            ordered: true,
            work: Ok(Task::Bulk(BulkWork { tenant, id })),
            erasure: None,
        };
    }
    match record {
        Record::Stream(record) => match store::stream::change(record) {
            Ok(change) => Item {
                id: change.sequence.clone(),
                ordered: true,
                erasure: crate::erase::of_change(&change),
                work: stream_work(change),
            },

            Err(ignored) => Item {
                id: ignored.sequence,
                ordered: true,
                work: Err(ignored.why),
                erasure: None,
            },
        },
        Record::Queue(message) => {
            let body = message.body.as_deref().unwrap_or_default();
            let erasure = crate::erase::of_message(body);
            Item {
                id: message.message_id.clone().unwrap_or_default(),
                ordered: false,
                work: match erasure {
                    Some(_) => Err("an erasure's continuation".into()),
                    None => continuation_work(body),
                },
                erasure,
            }
        }
    }
}

/// The cascade of a customer's card whose new image is the one that turned inactive, or the
/// moves of one that was merged (the mapping's filters pass only those two).
fn stream_work(change: store::stream::Change) -> Result<Task, String> {
    let Changed::Customer(images) = change.item else {
        return Err("not a change of a customer's card".into());
    };
    let Some(customer) = images.new else {
        return Err("a customer's card without its new image".into());
    };
    if let Some(survivor) = customer.merged_into.clone() {
        return Ok(Task::Merge(crate::merge::MergeWork::start(
            change.tenant,
            &customer,
            survivor,
        )));
    }
    // The mapping also passes cards that were erased (for the erasure); only a card that went
    // from active to inactive is a cascade. A card without its old image is taken as one.
    let was_active = images
        .old
        .as_ref()
        .is_none_or(|old| old.status == domain::CustomerStatus::Active);
    if !was_active || customer.status != domain::CustomerStatus::Inactive {
        return Err("no deactivation".into());
    }
    Ok(Task::Cascade(Work {
        tenant: change.tenant,
        customer: change.customer,
        version: customer.version,
        phase: Phase::Sites,
        cursor: None,
    }))
}

fn continuation_work(body: &str) -> Result<Task, String> {
    if let Ok(message) = serde_json::from_str::<BulkContinuationMessage>(body) {
        let c = message.continue_bulk_change;
        return Ok(Task::Bulk(BulkWork {
            tenant: TenantId::parse(&c.tenant).ok_or("a continuation without a valid tenant")?,
            id: c.bulk_change_id,
        }));
    }
    if let Some(merge) = crate::merge::continuation_work(body) {
        return merge.map(Task::Merge);
    }
    let message: ContinuationMessage =
        serde_json::from_str(body).map_err(|e| format!("not a continuation: {e}"))?;
    let c = message.continue_cascade;
    Ok(Task::Cascade(Work {
        tenant: TenantId::parse(&c.tenant).ok_or("a continuation without a valid tenant")?,
        customer: CustomerId(c.customer_id),
        version: c.version,
        phase: c.phase,
        cursor: c.cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixture of `events/`: an event as Lambda delivers it.
    fn batch(fixture: &str) -> Batch {
        serde_json::from_str(fixture).expect("Lambda's event shape")
    }

    #[test]
    fn a_phase_is_named_as_it_is_serialised() {
        for phase in Phase::ALL {
            assert_eq!(serde_json::to_value(phase).unwrap(), phase.as_str());
        }
    }

    #[test]
    fn the_phases_run_in_the_domains_cascade_order_one_per_kind() {
        let mut phase = Some(Phase::default());
        let mut kinds = Vec::new();
        while let Some(current) = phase {
            kinds.push(current.kind());
            phase = current.next();
        }
        assert_eq!(kinds, linked::CASCADE_ORDER);
    }

    #[test]
    fn a_card_that_turned_inactive_is_its_customers_cascade_from_the_start() {
        let items = work_items(&batch(include_str!("../events/customer-deactivated.json")));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].id, "1100000000017454423026");
        assert!(items[0].ordered, "stream records keep their order");
        assert_eq!(
            items[0].work,
            Ok(Task::Cascade(Work {
                tenant: TenantId::parse("acme").unwrap(),
                customer: CustomerId("01M8Y9N1E9TF1K4QDTN15NQDA2".into()),
                version: 5,
                phase: Phase::Sites,
                cursor: None,
            }))
        );
    }

    /// The deactivation fixture with its new image erased, and the old image's status.
    fn erasure_of(old_status: &str) -> Batch {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../events/customer-deactivated.json")).unwrap();
        let record = &mut event["Records"][0]["dynamodb"];
        record["OldImage"]["status"] = serde_json::json!({"S": old_status});
        record["NewImage"]["erased"] = serde_json::json!(
            {"M": {"at": {"S": "2026-12-03T16:00:00Z"}, "by": {"S": "dpo"}}});
        serde_json::from_value(event).unwrap()
    }

    #[test]
    fn an_erased_card_is_an_erasure_and_a_cascade_only_when_it_was_active() {
        let [active] = work_items(&erasure_of("active")).try_into().unwrap();
        assert!(
            active.work.is_ok(),
            "an active customer erased: its work is cancelled"
        );
        let erasure = active.erasure.expect("and its records erased");
        assert_eq!(erasure.customer_id, "01M8Y9N1E9TF1K4QDTN15NQDA2");
        assert_eq!(erasure.cursor, None);
        assert!(
            !erasure.values.is_empty(),
            "the old image's personal values"
        );

        let [inactive] = work_items(&erasure_of("inactive")).try_into().unwrap();
        assert!(
            inactive.work.is_err(),
            "an inactive customer has no cascade"
        );
        assert!(inactive.erasure.is_some());

        let [deactivated] = work_items(&batch(include_str!("../events/customer-deactivated.json")))
            .try_into()
            .unwrap();
        assert!(
            deactivated.erasure.is_none(),
            "a deactivation is no erasure"
        );
    }

    #[test]
    fn a_continuation_message_goes_on_where_the_last_invocation_stopped() {
        let items = work_items(&batch(include_str!("../events/continuation.json")));
        assert_eq!(items[0].id, "059f36b4-87a3-44ab-83d2-661975830a7d");
        assert!(!items[0].ordered);
        assert_eq!(
            items[0].work,
            Ok(Task::Cascade(Work {
                tenant: TenantId::parse("acme").unwrap(),
                customer: CustomerId("01M8Y9N1E9TF1K4QDTN15NQDA2".into()),
                version: 5,
                phase: Phase::Contracts,
                cursor: Some("eyJQSyI6IlQjYWNtZSJ9".into()),
            }))
        );
    }

    #[test]
    fn a_continuation_round_trips() {
        let continuation = Continuation {
            tenant: "acme".into(),
            customer_id: "01J".into(),
            version: 3,
            phase: Phase::Jobs,
            cursor: Some("abc".into()),
        };
        let mut batch = batch(include_str!("../events/continuation.json"));
        let Record::Queue(message) = &mut batch.records[0] else {
            panic!("an SQS record")
        };
        message.body = Some(continuation_body(&continuation));
        let Ok(Task::Cascade(work)) = work_items(&batch).remove(0).work else {
            panic!("a cascade's continuation")
        };
        assert_eq!((work.version, work.phase), (3, Phase::Jobs));
        assert_eq!(work.cursor.as_deref(), Some("abc"));
    }

    #[test]
    fn records_that_name_no_card_or_no_continuation_are_not_work() {
        let items = work_items(&batch(include_str!("../events/site-deactivated.json")));
        assert_eq!(items[0].id, "1100000000017454423029");
        assert!(items[0].work.is_err(), "{:?}", items[0].work);
        let mut garbage = batch(include_str!("../events/continuation.json"));
        let Record::Queue(message) = &mut garbage.records[0] else {
            panic!("an SQS record")
        };
        message.body = Some("garbage".into());
        assert!(work_items(&garbage)[0].work.is_err());
    }

    #[test]
    fn a_bulk_change_recorded_is_its_work_from_where_its_record_stands() {
        let items = work_items(&batch(include_str!("../events/bulk-change-recorded.json")));
        assert_eq!(items[0].id, "1100000000017454423041");
        assert!(items[0].ordered);
        let recorded = BulkWork {
            tenant: TenantId::parse("acme").unwrap(),
            id: "01M8YA3Q0W5T2K7X9C4D6F8H0J".into(),
        };
        assert_eq!(items[0].work, Ok(Task::Bulk(recorded.clone())));
        // Its progress (a MODIFY of the record) is nobody's work.
        let mut modified = batch(include_str!("../events/bulk-change-recorded.json"));
        let Record::Stream(record) = &mut modified.records[0] else {
            panic!("a stream record")
        };
        record.event_name = "MODIFY".into();
        assert!(work_items(&modified)[0].work.is_err());
        // Its continuation goes on with the same bulk change.
        let mut queued = batch(include_str!("../events/continuation.json"));
        let Record::Queue(message) = &mut queued.records[0] else {
            panic!("an SQS record")
        };
        message.body = Some(bulk_continuation_body(&recorded));
        assert_eq!(work_items(&queued)[0].work, Ok(Task::Bulk(recorded)));
    }

    #[test]
    fn an_event_of_another_source_is_not_a_batch() {
        let s3 = r#"{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}"#;
        assert!(serde_json::from_str::<Batch>(s3).is_err());
    }
}
