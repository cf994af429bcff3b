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

use aws_sdk_sns::types::MessageAttributeValue;
use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;
use store::stream::{self, Change, ChangeKind};
use store::{Assignment, Claim, CustomerStore, StoreError};

use crate::message::{EventType, Notice};

#[derive(Clone)]
pub struct App {
    pub store: CustomerStore,
    pub sns: aws_sdk_sns::Client,
    pub topic_arn: String,
}

impl App {
    pub async fn from_env() -> Result<Self, String> {
        let config = kit::aws::sdk_config().await;
        Ok(Self {
            store: CustomerStore::new(
                kit::aws::dynamodb(&config),
                kit::aws::required_env("TABLE_NAME")?,
            ),
            sns: aws_sdk_sns::Client::from_conf(
                aws_sdk_sns::config::Builder::from(&config)
                    .timeout_config(kit::aws::publish_timeouts())
                    .build(),
            ),
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
pub async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Value, Error> {
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

/// Who hears of a change: the technician assigned or removed; every technician assigned to
/// the customer of a new order or fault report (quotations are the office's business).
async fn notices(app: &App, change: &Change) -> Result<Vec<Notice>, NotifyError> {
    let tenant = change.tenant.as_str();
    if change.sort_key.starts_with(store::keys::ASSIGNEE_PREFIX) {
        let (event, image) = match change.kind {
            ChangeKind::Insert => (EventType::Assigned, change.new_record::<Assignment>()?),
            ChangeKind::Remove => (EventType::Unassigned, change.old_record::<Assignment>()?),
            ChangeKind::Modify => return Ok(Vec::new()),
        };
        return Ok(image
            .map(|assignment| vec![Notice::of_assignment(event, tenant, &assignment)])
            .unwrap_or_default());
    }
    let Some(work_order) = change.new_record::<domain::WorkOrder>()? else {
        return Ok(Vec::new());
    };
    let notified = change.kind == ChangeKind::Insert
        && matches!(
            work_order.fields.kind,
            domain::WorkOrderKind::Order | domain::WorkOrderKind::FaultReport
        );
    if !notified {
        return Ok(Vec::new());
    }
    let Some(customer) = app.store.get(&change.tenant, &change.customer).await? else {
        return Ok(Vec::new());
    };
    Ok(customer
        .assignees
        .iter()
        .map(|user| Notice::of_work_order(tenant, user, &customer, &work_order))
        .collect())
}

async fn publish(app: &App, notice: &Notice) -> Result<String, NotifyError> {
    let attribute = |value: &str, data_type: &str| {
        MessageAttributeValue::builder()
            .data_type(data_type)
            .string_value(value)
            .build()
            .expect("data type is set")
    };
    let out = app
        .sns
        .publish()
        .topic_arn(&app.topic_arn)
        .message(notice.body())
        .message_attributes("userId", attribute(&notice.user_id, "String"))
        .message_attributes("tenant", attribute(&notice.tenant, "String"))
        .message_attributes("eventType", attribute(notice.event_type.as_str(), "String"))
        .message_attributes(
            "schemaVersion",
            attribute(&message::SCHEMA_VERSION.to_string(), "Number"),
        )
        .send()
        .await
        .map_err(|e| {
            NotifyError::Publish(aws_sdk_sns::error::DisplayErrorContext(e).to_string())
        })?;
    Ok(out.message_id.unwrap_or_default())
}
