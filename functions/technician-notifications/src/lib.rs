//! Technicians' notifications. The table's stream, filtered by the event source mapping to
//! assignments added or removed and to new orders and fault reports, invokes this function;
//! it publishes one message per technician to the technicians' topic, with message attributes
//! (`userId`, `tenant`, `eventType`, `schemaVersion`) that each technician's subscription
//! filters on. The customer is never notified of assignments (nothing here reaches it).
//! Message schema: docs/notifications.md.
//!
//! Idempotent: each (stream record, technician) is claimed in the table before the publish and
//! settled after it, so a redelivered record publishes nothing.

pub mod message;

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::DynamoDbEventResponse;
use chrono::Utc;
use domain::{WorkOrder, WorkOrderKind};
use kit::sns::{Attribute, Sns, To};
use lambda_runtime::{Error, LambdaEvent};
use store::stream::{self, Change, ChangeKind, Changed, Images};
use store::{Assignment, Claim, CustomerStore, StoreError};

use crate::message::{EventType, Notice};

#[derive(Clone)]
pub struct App {
    pub store: CustomerStore,
    pub sns: Sns,
    pub topic_arn: String,
}

impl App {
    pub async fn from_env() -> Result<Self, String> {
        let config = kit::aws::sdk_config().await;
        Ok(Self {
            store: CustomerStore::new(&config, kit::aws::required_env("TABLE_NAME")?),
            sns: Sns::new(&config),
            topic_arn: kit::aws::required_env("TOPIC_ARN")?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("publishing: {0}")]
    Publish(String),
}

/// A batch of stream records; the first that fails is reported (partial batch response).
pub async fn handle(app: &App, event: LambdaEvent<Event>) -> Result<DynamoDbEventResponse, Error> {
    let request_id = &event.context.request_id;
    let reported = stream::in_order_reported(FUNCTION, request_id, &event.payload, |change| {
        notify(app, change)
    });
    Ok(reported.await)
}

/// The name this function's metrics and log lines go by.
const FUNCTION: &str = "technician-notifications";

/// The notices one change makes, each published once.
async fn notify(app: &App, change: Change) -> Result<(), NotifyError> {
    for notice in notices(app, &change).await? {
        let claim = app
            .store
            .claim_notice(
                &change.tenant,
                &change.customer,
                &change.sequence,
                &notice.user_id,
                Utc::now(),
            )
            .await?;
        if claim == Claim::Settled {
            continue;
        }
        let message_id = publish(app, &notice).await?;
        app.store
            .settle_notice(
                &change.tenant,
                &change.customer,
                &change.sequence,
                &notice.user_id,
                &message_id,
            )
            .await?;
        tracing::info!(event = notice.event_type.as_str(), "technician notified");
        kit::metrics::Metrics::new(FUNCTION)
            .dimension("EventType", notice.event_type.as_str())
            .count("NoticesSent", 1)
            .property("tenant", change.tenant.as_str())
            .emit();
    }
    Ok(())
}

/// Who hears of a change, decided from the change alone.
#[derive(Debug)]
enum Audience<'a> {
    /// The technician assigned or removed: the assignment carries all the notice needs.
    Assignee(EventType, &'a Assignment),
    /// Every technician assigned to the customer of this new order or fault report
    /// (quotations are the office's business).
    CustomersTechnicians(&'a WorkOrder),
    Nobody,
}

fn audience(change: &Change) -> Audience<'_> {
    match (&change.item, change.kind) {
        (Changed::Assignment(images), ChangeKind::Insert) => {
            images.new.as_ref().map_or(Audience::Nobody, |a| {
                Audience::Assignee(EventType::Assigned, a)
            })
        }
        (Changed::Assignment(images), ChangeKind::Remove) => {
            images.old.as_ref().map_or(Audience::Nobody, |a| {
                Audience::Assignee(EventType::Unassigned, a)
            })
        }
        (
            Changed::WorkOrder(Images {
                new: Some(work_order),
                ..
            }),
            ChangeKind::Insert,
        ) if matches!(
            work_order.fields.kind,
            WorkOrderKind::Order | WorkOrderKind::FaultReport
        ) =>
        {
            Audience::CustomersTechnicians(work_order)
        }
        _ => Audience::Nobody,
    }
}

/// The notices of a change: one per technician who hears of it.
async fn notices(app: &App, change: &Change) -> Result<Vec<Notice>, NotifyError> {
    let tenant = change.tenant.as_str();
    let work_order = match audience(change) {
        Audience::Assignee(event, assignment) => {
            return Ok(vec![Notice::of_assignment(event, tenant, assignment)]);
        }
        Audience::CustomersTechnicians(work_order) => work_order,
        Audience::Nobody => return Ok(Vec::new()),
    };
    let Some(customer) = app.store.get(&change.tenant, &change.customer).await? else {
        return Ok(Vec::new());
    };
    Ok(customer
        .assignees
        .iter()
        .map(|user| Notice::of_work_order(tenant, user, &customer, work_order))
        .collect())
}

async fn publish(app: &App, notice: &Notice) -> Result<String, NotifyError> {
    let schema_version = message::SCHEMA_VERSION.to_string();
    let attributes = [
        Attribute::string("userId", &notice.user_id),
        Attribute::string("tenant", &notice.tenant),
        Attribute::string("eventType", notice.event_type.as_str()),
        Attribute::number("schemaVersion", &schema_version),
    ];
    app.sns
        .publish(To::Topic(&app.topic_arn), &notice.body(), &attributes)
        .await
        .map_err(|e| NotifyError::Publish(e.to_string()))
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::dynamodb::Event;

    use super::*;

    /// The changes of a fixture of `events/`: an event as Lambda delivers it.
    fn changes(fixture: &str) -> Vec<Change> {
        let event: Event = serde_json::from_str(fixture).expect("Lambda's event shape");
        stream::changes(&event)
            .into_iter()
            .map(|change| change.expect("a change of ours"))
            .collect()
    }

    #[test]
    fn an_assignment_added_or_removed_is_heard_by_its_technician_alone() {
        let changes = changes(include_str!("../events/assigned-and-unassigned.json"));
        let heard: Vec<_> = changes
            .iter()
            .map(|change| match audience(change) {
                Audience::Assignee(event, assignment) => (
                    event,
                    assignment.user_id.as_str(),
                    assignment.customer_name.as_str(),
                ),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            heard,
            [
                (EventType::Assigned, "tech-1", "Anna Berg"),
                (EventType::Unassigned, "tech-1", "Anna Berg")
            ]
        );
        assert_eq!(changes[0].sequence, "1100000000017454423022");
    }

    #[test]
    fn a_new_order_is_heard_by_its_customers_technicians_and_a_quotation_by_nobody() {
        let mut changes = changes(include_str!("../events/work-order-created.json"));
        let Audience::CustomersTechnicians(order) = audience(&changes[0]) else {
            panic!("{:?}", audience(&changes[0]))
        };
        assert_eq!(order.id, "01M8Y9N8YZPCJHB97JNM3RK3XP");
        assert_eq!(changes[0].customer.0, "01M8Y9N8XSQWSMHTZMTGZ4F1K1");
        let Changed::WorkOrder(Images {
            new: Some(order), ..
        }) = &mut changes[0].item
        else {
            panic!("a work order")
        };
        order.fields.kind = WorkOrderKind::Quotation;
        assert!(matches!(audience(&changes[0]), Audience::Nobody));
    }
}
