//! Records that make notifications idempotent: each text to a customer (on its work order:
//! `TEXT#<work order>#<text key>`, kept as the answer to "did the customer get the text?") and
//! each message to a technician (`NOTICE#<stream sequence>#<user>`, kept a week). A record is
//! claimed (pending) before the publish and settled after it: a redelivered stream record
//! finds it settled and publishes nothing; one whose earlier attempt failed between claim and
//! settle finds it pending and publishes again (at least once, never silently lost). A text is
//! read with its customer and work order ([`CustomerStore::text_reading`]) and claimed by the
//! transaction that counts it against the SMS policy ([`CustomerStore::count_text`]).

use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use domain::{Customer, CustomerId, Settings, SmsLimit, TextRecord, TextState, WorkOrder};

use crate::customers::{Cancelled, Failed};
use crate::items;
use crate::keys::{self, TenantId};
use crate::linked::linked_from;
use crate::settings::{VersionedSettings, settings_from};
use crate::{CustomerStore, Page, StoreError, Stored};

/// Technicians' notice records outlive the stream's 24 hours of redeliveries, then expire.
const NOTICE_DAYS: i64 = 7;
/// A day's SMS counters are kept past the day's end and its redeliveries, then expire.
const SMS_DAY_COUNTER_DAYS: i64 = 3;
/// A job's SMS counters outlive any job's active life (each text pushes the expiry on).
const SMS_JOB_COUNTER_DAYS: i64 = 90;

/// What the SMS policy's counters said about a text ([`CustomerStore::count_text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quota {
    /// Counted (and claimed) now: send it.
    Granted,
    /// Counted by an earlier attempt of the same text (a retry after a failed publish): send
    /// it, counted once; this attempt is counted on the text.
    Held,
    /// Over these limits: nothing was counted; do not send.
    Over(Vec<SmsLimit>),
    /// Settled (sent or suppressed) by another attempt meanwhile: send nothing.
    Settled,
}

/// What a text needs read before it is decided, read together
/// ([`CustomerStore::text_reading`]).
#[derive(Debug, Clone)]
pub struct TextReading {
    pub customer: Option<Customer>,
    pub work_order: Option<WorkOrder>,
    /// The text as an earlier attempt left it: settled, or pending with its attempts.
    pub earlier: Option<TextRecord>,
    /// The organisation's settings: its SMS policy, name, language and time zone.
    pub settings: VersionedSettings,
}

/// Whether to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Publish: new, or pending since an attempt that did not finish (`attempts` so far,
    /// this one included; `created_at` of the first claim).
    Publish {
        attempts: u32,
        created_at: DateTime<Utc>,
    },
    /// Sent or suppressed before: publish nothing.
    Settled,
}

impl CustomerStore {
    /// The customer a text goes to, the work order it is about, the text as an earlier
    /// attempt left it and the organisation's settings: one strongly consistent BatchGetItem
    /// (a redelivered record of a settled text costs this read and nothing else; a text sent
    /// costs no read of the settings of its own).
    pub async fn text_reading(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        text: &TextRecord,
    ) -> Result<TextReading, StoreError> {
        let wanted = [
            keys::customer(tenant, customer),
            WorkOrder::key(tenant, customer, &text.work_order_id),
            keys::text(tenant, customer, &text.work_order_id, &text.id),
            keys::settings(tenant),
        ];
        let mut each = self.batch_get_each(&wanted).await?.into_iter();
        let mut next = || each.next().flatten();
        Ok(TextReading {
            customer: next().map(items::customer_from_item).transpose()?,
            work_order: linked_from(next())?,
            earlier: next().map(items::record_from_item).transpose()?,
            settings: settings_from(next())?,
        })
    }

    /// Records how a text ended (sent, or suppressed and why), unless another attempt settled
    /// it meanwhile (`false`).
    pub async fn settle_text(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        text: &TextRecord,
    ) -> Result<bool, StoreError> {
        let item = items::text_item(tenant, customer, text);
        let estimate = crate::capacity::put_units(&item, false);
        let put = Put::builder()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR #state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", stored(TextState::Pending))
            .build()
            .expect("table and item are set");
        let settled = self.conditional_write(self.requests().put_item(put).await, estimate)?;
        Ok(settled.is_some())
    }

    /// Claims a text and counts it to `number` against the organisation's SMS policy, all or
    /// nothing: one transaction adds one to the organisation's counter of the day (its own
    /// date at `now`), to the counter of `number` that day and to the job's counter of the
    /// trigger, each on condition it is below its limit, and writes the text pending with
    /// this attempt counted and marked counted (on condition it is new or pending and was not
    /// counted yet). So concurrent invocations share the limits, a text over one counts
    /// nowhere and is not written, and a retry of a text (a failed publish, a redelivered
    /// record) counts it once: its attempt is counted on the text by one more write.
    pub async fn count_text(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        text: &TextRecord,
        number: &str,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<Quota, StoreError> {
        let (day, policy) = (settings.today(now), &settings.sms_policy);
        let key = keys::text(tenant, customer, &text.work_order_id, &text.id);
        let claim = Update::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(key.clone())))
            .update_expression(
                "SET #entity = :entity, #id = :id, #order = :order, #job = :job, \
                 #trigger = :trigger, #state = :pending, \
                 #created = if_not_exists(#created, :now), #updated = :now, #counted = :now \
                 ADD #attempts :one",
            )
            .condition_expression(
                "attribute_not_exists(#counted) AND (attribute_not_exists(PK) OR #state = :pending)",
            )
            .expression_attribute_names("#entity", keys::ENTITY)
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#order", "workOrderId")
            .expression_attribute_names("#job", "jobId")
            .expression_attribute_names("#trigger", "trigger")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#created", "createdAt")
            .expression_attribute_names("#updated", "updatedAt")
            .expression_attribute_names("#counted", "countedAt")
            .expression_attribute_names("#attempts", "attempts")
            .expression_attribute_values(":entity", AttributeValue::S("Text".into()))
            .expression_attribute_values(":id", AttributeValue::S(text.id.clone()))
            .expression_attribute_values(":order", AttributeValue::S(text.work_order_id.clone()))
            .expression_attribute_values(":job", AttributeValue::S(text.job_id.clone()))
            .expression_attribute_values(":trigger", AttributeValue::S(text.trigger.as_str().into()))
            .expression_attribute_values(":pending", stored(TextState::Pending))
            .expression_attribute_values(":now", AttributeValue::S(now.to_rfc3339()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .expect("table, key and expression are set");
        let mut writes = vec![TransactWriteItem::builder().update(claim).build()];
        for limit in SmsLimit::ALL {
            let (key, days) = match limit {
                SmsLimit::OrganisationDaily => (keys::sms_day(tenant, day), SMS_DAY_COUNTER_DAYS),
                SmsLimit::NumberDaily => (
                    keys::sms_number_day(tenant, day, number),
                    SMS_DAY_COUNTER_DAYS,
                ),
                SmsLimit::JobAndTrigger => (
                    keys::sms_job(tenant, &text.job_id, text.trigger.as_str()),
                    SMS_JOB_COUNTER_DAYS,
                ),
            };
            let expires = (now + Duration::days(days)).timestamp();
            let counter = Update::builder()
                .table_name(self.table())
                .set_key(Some(items::key_of(key)))
                .update_expression("SET #entity = :entity, #expires = :expires ADD #count :one")
                .condition_expression("attribute_not_exists(#count) OR #count < :limit")
                .expression_attribute_names("#entity", keys::ENTITY)
                .expression_attribute_names("#expires", keys::EXPIRES_AT)
                .expression_attribute_names("#count", "texts")
                .expression_attribute_values(":entity", AttributeValue::S("SmsCounter".into()))
                .expression_attribute_values(":expires", AttributeValue::N(expires.to_string()))
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(
                    ":limit",
                    AttributeValue::N(policy.limit(limit).to_string()),
                )
                .build()
                .expect("table, key and expression are set");
            writes.push(TransactWriteItem::builder().update(counter).build());
        }
        match self.transact(writes, None).await {
            Ok(()) => Ok(Quota::Granted),
            Err(Cancelled(failed)) if failed.contains(&0) => self.another_attempt(key, now).await,
            Err(Cancelled(failed)) => Ok(Quota::Over(
                failed
                    .iter()
                    .filter_map(|i| SmsLimit::ALL.get(i - 1).copied())
                    .collect(),
            )),
            Err(Failed(error)) => Err(error),
        }
    }

    /// The texts about one work order's visits, oldest first.
    pub async fn texts(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        work_order_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<TextRecord>, StoreError> {
        let prefix = keys::texts_of(work_order_id);
        self.children(tenant, customer, &prefix, limit, cursor, true)
            .await
    }

    /// Claims the notice of one stream record to one technician.
    pub async fn claim_notice(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        sequence: &str,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let key = keys::notice(tenant, customer, sequence, user);
        let set = [
            ("entity", AttributeValue::S("Notice".into())),
            ("userId", AttributeValue::S(user.to_owned())),
        ];
        let expires = (now + Duration::days(NOTICE_DAYS)).timestamp();
        self.claim(key, &set, now, Some(expires)).await
    }

    /// Records that the notice was published.
    pub async fn settle_notice(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        sequence: &str,
        user: &str,
        message_id: &str,
    ) -> Result<(), StoreError> {
        let key = keys::notice(tenant, customer, sequence, user);
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(key)))
            .update_expression("SET #state = :sent, messageId = :id")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sent", AttributeValue::S("sent".into()))
            .expression_attribute_values(":id", AttributeValue::S(message_id.to_owned()))
            .build()
            .expect("table, key and expression are set");
        self.written(self.requests().update_item(update, None).await, 1.0)?;
        Ok(())
    }

    /// Counts another attempt of a text counted before: `Held` while it is pending, `Settled`
    /// once another attempt settled it.
    async fn another_attempt(
        &self,
        key: keys::Key,
        now: DateTime<Utc>,
    ) -> Result<Quota, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(key)))
            .update_expression("SET updatedAt = :now ADD attempts :one")
            .condition_expression("#state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", stored(TextState::Pending))
            .expression_attribute_values(":now", AttributeValue::S(now.to_rfc3339()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .expect("table, key and expression are set");
        let result = self.requests().update_item(update, None).await;
        match self.conditional_write(result, 1.0)? {
            Some(_) => Ok(Quota::Held),
            None => Ok(Quota::Settled),
        }
    }

    /// One UpdateItem: create the record pending, or count another attempt of a pending one;
    /// a settled record fails the condition.
    async fn claim(
        &self,
        key: keys::Key,
        set: &[(&str, AttributeValue)],
        now: DateTime<Utc>,
        expires_at: Option<i64>,
    ) -> Result<Claim, StoreError> {
        let mut assignments = vec![
            "#state = :pending".to_owned(),
            "createdAt = if_not_exists(createdAt, :now)".to_owned(),
            "updatedAt = :now".to_owned(),
        ];
        let mut update = Update::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(key)))
            .condition_expression("attribute_not_exists(PK) OR #state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", stored(TextState::Pending))
            .expression_attribute_values(":now", AttributeValue::S(now.to_rfc3339()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        for (i, (name, value)) in set.iter().enumerate() {
            assignments.push(format!("#a{i} = :a{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), *name)
                .expression_attribute_values(format!(":a{i}"), value.clone());
        }
        if let Some(expires_at) = expires_at {
            assignments.push("#expires = :expires".to_owned());
            update = update
                .expression_attribute_names("#expires", keys::EXPIRES_AT)
                .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()));
        }
        let expression = format!("SET {} ADD attempts :one", assignments.join(", "));
        let update = update
            .update_expression(expression)
            .build()
            .expect("table, key and expression are set");
        let result = self
            .requests()
            .update_item(update, Some(ReturnValue::AllNew))
            .await;
        match self.conditional_write(result, 1.0)? {
            Some(written) => {
                let attribute = |name: &str| written.attributes.as_ref().and_then(|a| a.get(name));
                let attempts = attribute("attempts")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                let created_at = attribute("createdAt")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|at| at.parse().ok())
                    .unwrap_or(now);
                Ok(Claim::Publish {
                    attempts,
                    created_at,
                })
            }
            None => Ok(Claim::Settled),
        }
    }
}

/// A state as the records store it (its name in the API).
fn stored(state: TextState) -> AttributeValue {
    let name = serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    AttributeValue::S(name)
}
