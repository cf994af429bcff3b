//! Texts to customers. The table's stream, filtered by the event source mapping to jobs that
//! are (now) scheduled, en route or completed, invokes this function; the domain decides
//! whether the change really sends a text ([`domain::text_trigger`]), to whom and in which
//! language; this function reads the text's customer and work order with the text itself,
//! checks it against the organisation's SMS policy (an allowed country, its limits counted in
//! the table: `domain::sms_policy`) in the transaction that claims it on its work order,
//! publishes it as a transactional SMS, and records how it ended (sent, or suppressed and why)
//! so a dispatcher can answer "did the customer get the text?". Logs name ids and outcomes,
//! never numbers or texts.
//!
//! Idempotent: the text's key is the job's version that caused it, so a redelivered record
//! finds the text settled and sends nothing. A failed publish leaves the text pending and the
//! record failed: the mapping retries it, and after its retries the record goes to the
//! dead-letter queue (the pending text, with its attempts, stays visible on the work order).

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::DynamoDbEventResponse;
use chrono::Utc;
use domain::{
    Customer, Job, Recipient, Settings, Suppression, TextContext, TextLanguage, TextRecord,
    TextState, TextTrigger, WorkOrder,
};
use kit::sns::{Attribute, To};
use lambda_runtime::{Error, LambdaEvent};
use store::stream::{self, Change, Changed, Images};
use store::{CustomerStore, Quota, StoreError, TenantId, TextReading};

/// Who records an opt-out that SNS reported, in the customer's history.
pub const OPT_OUT_ACTOR: &str = "sms:opt-out-list";

#[derive(Clone)]
pub struct App {
    pub store: CustomerStore,
    pub sns: kit::sns::Sns,
}

impl App {
    pub async fn from_env() -> Result<Self, String> {
        let config = kit::aws::sdk_config().await;
        Ok(Self {
            store: CustomerStore::new(&config, kit::aws::required_env("TABLE_NAME")?),
            sns: kit::sns::Sns::new(&config),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("SNS: {0}")]
    Sns(String),
}

/// A batch of stream records; the first that fails is reported (partial batch response).
pub async fn handle(app: &App, event: LambdaEvent<Event>) -> Result<DynamoDbEventResponse, Error> {
    let request_id = &event.context.request_id;
    let reported = stream::in_order_reported(FUNCTION, request_id, &event.payload, |change| {
        text(app, change)
    });
    Ok(reported.await)
}

/// The name this function's metrics and log lines go by.
const FUNCTION: &str = "customer-texts";

/// A settled text, counted: sent, or suppressed per reason.
fn count_settled(tenant: &TenantId, record: &TextRecord) {
    let metrics = kit::metrics::Metrics::new(FUNCTION).property("tenant", tenant.as_str());
    let metrics = match (record.state, record.reason) {
        (TextState::Sent, _) => metrics.count("TextsSent", 1),
        (_, Some(reason)) => metrics
            .dimension("Reason", reason.as_str())
            .count("TextsSuppressed", 1),
        _ => return,
    };
    metrics.emit();
}

/// The job a change is about and the text it sends, if it sends one (the domain decides).
fn triggered(change: &Change) -> Option<(&Job, TextTrigger)> {
    let Changed::Job(Images {
        old: before,
        new: Some(job),
    }) = &change.item
    else {
        return None;
    };
    domain::text_trigger(before.as_ref(), job).map(|trigger| (job, trigger))
}

/// The text one change of a job sends, if it sends one.
async fn text(app: &App, change: Change) -> Result<(), TextError> {
    let Some((job, trigger)) = triggered(&change) else {
        return Ok(());
    };
    let (tenant, customer_id) = (&change.tenant, &change.customer);
    let store = &app.store;
    let now = Utc::now();
    let mut record = TextRecord {
        id: domain::text_key(job, trigger),
        work_order_id: job.work_order_id.clone(),
        job_id: job.id.clone(),
        trigger,
        state: TextState::Pending,
        reason: None,
        to: None,
        contact_id: None,
        text: None,
        message_id: None,
        attempts: 0,
        created_at: now,
        updated_at: now,
    };
    // Read with the text itself: a redelivered record of a settled text costs this one read.
    let TextReading {
        customer,
        work_order,
        earlier,
        settings,
    } = store.text_reading(tenant, customer_id, &record).await?;
    if let Some(earlier) = &earlier {
        if earlier.state != TextState::Pending {
            return settled_before(&record);
        }
        // Pending since an attempt that did not finish: this is the next one.
        record.attempts = earlier.attempts;
        record.created_at = earlier.created_at;
    }
    record.attempts += 1;
    let (Some(customer), Some(work_order)) = (customer, work_order) else {
        // Cannot happen while work orders and customers with work are never deleted.
        tracing::warn!(job = %job.id, "a job without its work order or customer; no text");
        return Ok(());
    };
    let settings = &settings.settings;
    let outcome = deliver(
        app,
        tenant,
        &customer,
        &work_order,
        job,
        settings,
        &mut record,
    )
    .await?;
    if outcome == Delivery::SettledElsewhere {
        return settled_before(&record);
    }
    record.updated_at = Utc::now();
    if !store.settle_text(tenant, customer_id, &record).await? {
        return settled_before(&record);
    }
    count_settled(tenant, &record);
    tracing::info!(text = %record.id, state = ?record.state, reason = ?record.reason, "text settled");
    Ok(())
}

fn settled_before(record: &TextRecord) -> Result<(), TextError> {
    tracing::info!(text = %record.id, "text settled before; nothing to send");
    Ok(())
}

/// How [`deliver`] left the text.
#[derive(Debug, PartialEq, Eq)]
enum Delivery {
    /// Sent or suppressed, as the record says: to be settled.
    Decided,
    /// Another attempt settled it while this one ran: nothing to record.
    SettledElsewhere,
}

/// Fills `record` in: sent with SNS's message id, or suppressed with the reason.
async fn deliver(
    app: &App,
    tenant: &TenantId,
    customer: &Customer,
    work_order: &WorkOrder,
    job: &Job,
    settings: &Settings,
    record: &mut TextRecord,
) -> Result<Delivery, TextError> {
    let recipient = match domain::recipient(customer, work_order) {
        Ok(recipient) => recipient,
        Err(reason) => return suppress(record, reason),
    };
    record.to = Some(recipient.mobile.clone());
    record.contact_id = recipient.contact_id.clone();
    if let Err(reason) = settings.text_destination(&recipient.mobile) {
        return suppress(record, reason);
    }
    // Counted (and claimed) before SNS is asked anything: the limits bound the opt-out checks
    // as well as the texts, and a text over a limit costs no SNS call.
    let quota = app
        .store
        .count_text(
            tenant,
            &customer.id,
            record,
            &recipient.mobile,
            settings,
            Utc::now(),
        )
        .await?;
    match quota {
        Quota::Granted | Quota::Held => {}
        Quota::Settled => return Ok(Delivery::SettledElsewhere),
        Quota::Over(over) => {
            // Never empty: a cancelled count names the limits it is over.
            let reason =
                domain::sms_policy::refusal(&over).unwrap_or(Suppression::JobAndTriggerLimit);
            return suppress(record, reason);
        }
    }
    if opted_out_at_carrier(app, &recipient.mobile).await? {
        record_opt_out(app, tenant, customer, &recipient).await?;
        return suppress(record, Suppression::OptedOutAtCarrier);
    }
    let zone = settings.zone();
    let context = TextContext {
        organisation: settings.organisation_name.as_deref(),
        technician: job.fields.lead_technician_name.as_deref(),
        window: job.fields.window,
        zone,
    };
    let language = TextLanguage::choose(
        customer.fields.language.as_deref(),
        settings.default_language.as_deref(),
    );
    let text = domain::compose(record.trigger, language, &context);
    let message_id = publish(app, &recipient.mobile, &text.body).await?;
    record.text = Some(text);
    record.message_id = Some(message_id);
    record.state = TextState::Sent;
    Ok(Delivery::Decided)
}

fn suppress(record: &mut TextRecord, reason: Suppression) -> Result<Delivery, TextError> {
    record.state = TextState::Suppressed;
    record.reason = Some(reason);
    Ok(Delivery::Decided)
}

/// SNS keeps the numbers that answered STOP; texting them again is refused by carriers and
/// unwanted by the customer.
async fn opted_out_at_carrier(app: &App, mobile: &str) -> Result<bool, TextError> {
    app.sns
        .is_opted_out(mobile)
        .await
        .map_err(|e| TextError::Sns(e.to_string()))
}

/// The opt-out SNS reported, recorded on the contact or the card
/// ([`domain::texts::record_carrier_opt_out`]) with a history entry.
async fn record_opt_out(
    app: &App,
    tenant: &TenantId,
    customer: &Customer,
    recipient: &Recipient,
) -> Result<(), TextError> {
    let mut after = customer.clone();
    let Some(kind) = domain::texts::record_carrier_opt_out(&mut after.fields, recipient) else {
        return Ok(());
    };
    after.version += 1;
    after.updated_at = Utc::now();
    after.updated_by = OPT_OUT_ACTOR.to_owned();
    let mut entry = domain::HistoryEntry::of(kind, Some(customer), &after);
    entry.by = OPT_OUT_ACTOR.to_owned();
    match app
        .store
        .replace(tenant, customer, &after, &entry, None)
        .await
    {
        // Changed meanwhile: the text is suppressed all the same; the next one records it.
        Ok(()) | Err(StoreError::VersionConflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn publish(app: &App, mobile: &str, body: &str) -> Result<String, TextError> {
    let transactional = Attribute::string("AWS.SNS.SMS.SMSType", "Transactional");
    app.sns
        .publish(To::Phone(mobile), body, &[transactional])
        .await
        .map_err(|e| TextError::Sns(e.to_string()))
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::dynamodb::Event;

    use super::*;

    #[test]
    fn a_job_going_en_route_texts_that_the_technician_is_on_the_way() {
        let fixture = include_str!("../events/job-en-route.json");
        let event: Event = serde_json::from_str(fixture).expect("Lambda's event shape");
        let change = stream::changes(&event).remove(0).expect("a change of ours");
        assert_eq!(change.sequence, "1100000000017454423041");
        assert_eq!(change.tenant.as_str(), "acme");
        let (job, trigger) = triggered(&change).expect("a text");
        assert_eq!(trigger, TextTrigger::OnTheWay);
        assert_eq!(job.id, "01M8Y9NAZ9HHYZV1QPG0J0AV8Z");
        assert_eq!(job.work_order_id, "01M8Y9N9FA2Y7BSX0F4RZVJ464");
        assert_eq!(job.version, 2);
    }
}
