//! Texts (SMS) to customers about their visits: which change of a job sends which text, to
//! whom, in which language, and how long it is. Pure: the function that sends them reads the
//! records and publishes; every rule is here.
//!
//! - A job that becomes scheduled, or is rescheduled (its window moves), sends "scheduled".
//!   One that turns back from en route to scheduled with the same window sends nothing: the
//!   appointment did not change.
//! - A job that goes en route sends "on the way"; one that is completed sends a thank-you.
//! - Anything else (a note, another technician, the same status again) sends nothing.
//! - Texts are per job, never per technician: several technicians on one visit, one text.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{Customer, Job, Window, WorkOrder, WorkStatus};

/// Longest technician name a job takes for its texts (a first name).
pub const TECHNICIAN_NAME_MAX: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TextTrigger {
    Scheduled,
    OnTheWay,
    Completed,
}

impl TextTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            TextTrigger::Scheduled => "scheduled",
            TextTrigger::OnTheWay => "onTheWay",
            TextTrigger::Completed => "completed",
        }
    }
}

/// The text a change of a job sends, if any (`before`: the job as it was; none for a new job).
pub fn text_trigger(before: Option<&Job>, after: &Job) -> Option<TextTrigger> {
    let was = before.map(|job| job.fields.status);
    match after.fields.status {
        WorkStatus::Scheduled => {
            let rescheduled = before.is_some_and(|job| job.fields.window != after.fields.window);
            let newly = matches!(was, None | Some(WorkStatus::Planned));
            (newly || rescheduled).then_some(TextTrigger::Scheduled)
        }
        WorkStatus::EnRoute => (was != Some(WorkStatus::EnRoute)).then_some(TextTrigger::OnTheWay),
        WorkStatus::Completed => {
            (was != Some(WorkStatus::Completed)).then_some(TextTrigger::Completed)
        }
        _ => None,
    }
}

/// The key of one text: the job, the job's version that caused it and the trigger. A
/// redelivered stream record names the same version, so it finds the text already recorded.
/// Job ids are ULIDs and versions are padded, so a work order's texts sort by job, then in the
/// order they were caused.
pub fn text_key(job: &Job, trigger: TextTrigger) -> String {
    format!("{}#v{:010}#{}", job.id, job.version, trigger.as_str())
}

/// Why a text was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Suppression {
    /// Neither the work order's contact, the primary contact nor the card has a valid mobile.
    NoMobile,
    /// The contact asked not to get texts (`smsOptOut`).
    OptedOut,
    /// SNS's opt-out list has the number (the customer replied STOP); recorded on the contact.
    OptedOutAtCarrier,
    /// The number is of a country the organisation's SMS policy does not text.
    CountryNotAllowed,
    /// The organisation sent its `dailyLimit` of texts today.
    OrganisationDailyLimit,
    /// The number got its `dailyLimitPerNumber` of texts today.
    NumberDailyLimit,
    /// The job sent its `limitPerJobAndTrigger` of texts for this trigger.
    JobAndTriggerLimit,
}

impl Suppression {
    /// The name the API and the metrics use.
    pub fn as_str(self) -> &'static str {
        match self {
            Suppression::NoMobile => "noMobile",
            Suppression::OptedOut => "optedOut",
            Suppression::OptedOutAtCarrier => "optedOutAtCarrier",
            Suppression::CountryNotAllowed => "countryNotAllowed",
            Suppression::OrganisationDailyLimit => "organisationDailyLimit",
            Suppression::NumberDailyLimit => "numberDailyLimit",
            Suppression::JobAndTriggerLimit => "jobAndTriggerLimit",
        }
    }
}

/// Where a text goes: a mobile number (E.164), and the contact it belongs to (none: the card's
/// own number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub mobile: String,
    pub contact_id: Option<String>,
}

/// The work order's contact, else the primary contact (the first of them with a mobile), else
/// the card's own mobile. A contact that opted out is never passed over for another one:
/// opting out is the customer's answer.
pub fn recipient(customer: &Customer, work_order: &WorkOrder) -> Result<Recipient, Suppression> {
    let contacts = &customer.fields.contacts;
    let chosen = work_order
        .fields
        .contact_id
        .as_deref()
        .and_then(|id| contacts.iter().find(|c| c.id.0 == id));
    let primary = contacts.iter().find(|c| c.primary);
    let mut recipient = None;
    for contact in [chosen, primary].into_iter().flatten() {
        if contact.sms_opt_out {
            return Err(Suppression::OptedOut);
        }
        if let Some(mobile) = &contact.mobile {
            recipient = Some(Recipient {
                mobile: mobile.clone(),
                contact_id: Some(contact.id.0.clone()),
            });
            break;
        }
    }
    let recipient = match recipient {
        Some(recipient) => recipient,
        None => Recipient {
            mobile: customer
                .fields
                .mobile
                .clone()
                .ok_or(Suppression::NoMobile)?,
            contact_id: None,
        },
    };
    // Stored numbers are validated E.164 mobiles; one written by older code or by hand that
    // is not is treated as none rather than texted.
    match crate::phone::normalise_mobile(&recipient.mobile, None) {
        Ok(mobile) if mobile == recipient.mobile => Ok(recipient),
        _ => Err(Suppression::NoMobile),
    }
}

/// A text ready to send: its language, body and length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComposedText {
    pub language: String,
    pub body: String,
    pub encoding: SmsEncoding,
    pub segments: usize,
}

/// What fills a text in.
pub struct TextContext<'a> {
    pub organisation: Option<&'a str>,
    pub technician: Option<&'a str>,
    pub window: Window,
    pub zone: Tz,
}

/// Languages with templates; any other falls back to English.
pub const TEXT_LANGUAGES: [&str; 2] = ["en", "sv"];

/// The text of `trigger` in the customer's language (English when it has none of ours).
pub fn compose(
    trigger: TextTrigger,
    language: Option<&str>,
    context: &TextContext,
) -> ComposedText {
    let language = language
        .filter(|l| TEXT_LANGUAGES.contains(l))
        .unwrap_or("en");
    let start = context.window.start.with_timezone(&context.zone);
    let end = context.window.end.with_timezone(&context.zone);
    let (from, to) = (start.format("%H:%M"), end.format("%H:%M"));
    let technician = context.technician.map(|n| cut(n, TECHNICIAN_NAME_MAX));
    let body = match (language, trigger) {
        ("sv", TextTrigger::Scheduled) => {
            let day = format!("{} {} {}", SV_DAYS[weekday(&start)], start.format("%-d"), SV_MONTHS[month(&start)]);
            match &technician {
                Some(name) => format!("Ditt besök är bokat {day} kl. {from}-{to}. {name} kommer till dig."),
                None => format!("Ditt besök är bokat {day} kl. {from}-{to}. Vi ses då!"),
            }
        }
        ("sv", TextTrigger::OnTheWay) => match &technician {
            Some(name) => format!("{name} är på väg till dig nu och kommer inom den bokade tiden {from}-{to}."),
            None => format!("Vår tekniker är på väg till dig nu och kommer inom den bokade tiden {from}-{to}."),
        },
        ("sv", TextTrigger::Completed) => match &technician {
            Some(name) => format!("Tack! {name} har slutfört dagens besök. Hör av dig om något inte fungerar som det ska."),
            None => "Tack! Dagens besök är slutfört. Hör av dig om något inte fungerar som det ska.".to_owned(),
        },
        (_, TextTrigger::Scheduled) => {
            let day = start.format("%a %-d %b");
            match &technician {
                Some(name) => format!("Your visit is booked for {day}, {from}-{to}. {name} will come to you."),
                None => format!("Your visit is booked for {day}, {from}-{to}. See you then!"),
            }
        }
        (_, TextTrigger::OnTheWay) => match &technician {
            Some(name) => format!("{name} is on the way to you now and will arrive within your booked time {from}-{to}."),
            None => format!("Our technician is on the way to you now and will arrive within your booked time {from}-{to}."),
        },
        (_, TextTrigger::Completed) => match &technician {
            Some(name) => format!("Thank you! {name} has completed today's visit. Let us know if anything is not working as it should."),
            None => "Thank you! Today's visit is completed. Let us know if anything is not working as it should.".to_owned(),
        },
    };
    let body = match context.organisation {
        Some(organisation) => format!(
            "{}: {body}",
            cut(organisation, crate::settings::ORGANISATION_NAME_MAX)
        ),
        None => body,
    };
    let (encoding, segments) = sms_segments(&body);
    ComposedText {
        language: language.to_owned(),
        body,
        encoding,
        segments,
    }
}

const SV_DAYS: [&str; 7] = ["mån", "tis", "ons", "tor", "fre", "lör", "sön"];
const SV_MONTHS: [&str; 12] = [
    "jan", "feb", "mars", "april", "maj", "juni", "juli", "aug", "sep", "okt", "nov", "dec",
];

fn weekday(at: &DateTime<Tz>) -> usize {
    use chrono::Datelike;
    at.weekday().num_days_from_monday() as usize
}

fn month(at: &DateTime<Tz>) -> usize {
    use chrono::Datelike;
    at.month0() as usize
}

fn cut(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// How an SMS is encoded: GSM 03.38's 7-bit alphabet where every character is in it (å, ä, ö
/// are), else UCS-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

/// GSM 03.38 basic character set (a few printable look-alikes aside, what phones show).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table: each of these takes two septets.
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// Encoding and number of segments of a text: 160 septets in one GSM-7 segment (153 each when
/// split), 70 UCS-2 characters (67 each when split; characters outside the BMP take two).
pub fn sms_segments(text: &str) -> (SmsEncoding, usize) {
    let septets: Option<usize> = text
        .chars()
        .map(|c| {
            if GSM_BASIC.contains(c) {
                Some(1)
            } else if GSM_EXTENDED.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (encoding, units, single, part) = match septets {
        Some(septets) => (SmsEncoding::Gsm7, septets, 160, 153),
        None => (SmsEncoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let segments = if units <= single {
        1
    } else {
        units.div_ceil(part)
    };
    (encoding, segments)
}

/// Where a text stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TextState {
    /// Claimed and being sent; stays so after a failed publish until a retry sends it (the
    /// dead-letter queue holds the record when retries run out).
    Pending,
    Sent,
    Suppressed,
}

/// What is recorded on a work order about one text: whether the customer got it, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextRecord {
    /// The text's key ([`text_key`]).
    pub id: String,
    pub work_order_id: String,
    pub job_id: String,
    pub trigger: TextTrigger,
    pub state: TextState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Suppression>,
    /// The number it went (or would have gone) to, E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<ComposedText>,
    /// SNS's message id of a sent text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Publish attempts so far (a retry after a failure adds one).
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{CustomerInput, WorkOrderFields};

    #[test]
    fn a_suppression_is_named_as_it_is_serialised() {
        for reason in [
            Suppression::NoMobile,
            Suppression::OptedOut,
            Suppression::OptedOutAtCarrier,
            Suppression::CountryNotAllowed,
            Suppression::OrganisationDailyLimit,
            Suppression::NumberDailyLimit,
            Suppression::JobAndTriggerLimit,
        ] {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
    }

    fn job(status: &str, start: &str) -> Job {
        let fields = crate::validate_job(
            serde_json::from_value(json!({"status": status, "technicians": ["t1", "t2"],
                "window": {"start": start, "end": "2026-12-02T12:00:00Z"}}))
            .unwrap(),
        )
        .unwrap();
        Job {
            id: "J".into(),
            customer_id: crate::CustomerId("C".into()),
            work_order_id: "W".into(),
            site_id: "S".into(),
            fields,
            created_at: Utc::now(),
            created_by: "u".into(),
            updated_at: Utc::now(),
            updated_by: "u".into(),
            version: 1,
        }
    }

    const NINE: &str = "2026-12-02T09:00:00Z";
    const TEN: &str = "2026-12-02T10:00:00Z";

    #[test]
    fn each_real_change_of_a_visit_sends_its_text_once() {
        let scheduled = job("scheduled", NINE);
        assert_eq!(text_trigger(None, &scheduled), Some(TextTrigger::Scheduled));
        assert_eq!(
            text_trigger(Some(&scheduled), &scheduled),
            None,
            "no change"
        );
        let moved = job("scheduled", TEN);
        assert_eq!(
            text_trigger(Some(&scheduled), &moved),
            Some(TextTrigger::Scheduled),
            "rescheduled"
        );
        let on_the_way = job("enRoute", NINE);
        assert_eq!(
            text_trigger(Some(&scheduled), &on_the_way),
            Some(TextTrigger::OnTheWay)
        );
        assert_eq!(
            text_trigger(Some(&on_the_way), &scheduled),
            None,
            "turned back"
        );
        let done = job("completed", NINE);
        assert_eq!(
            text_trigger(Some(&job("inProgress", NINE)), &done),
            Some(TextTrigger::Completed)
        );
        assert_eq!(text_trigger(Some(&done), &done), None);
        assert_eq!(
            text_trigger(Some(&scheduled), &job("cancelled", NINE)),
            None
        );
        let mut again = moved.clone();
        again.version = 4;
        assert_ne!(
            text_key(&again, TextTrigger::Scheduled),
            text_key(&moved, TextTrigger::Scheduled)
        );
    }

    fn customer(input: serde_json::Value) -> Customer {
        let input: CustomerInput = serde_json::from_value(input).unwrap();
        let fields = crate::validate_customer(input, &Default::default()).unwrap();
        Customer::new(fields, "u", Utc::now())
    }

    fn work_order(contact: Option<&str>) -> WorkOrder {
        let fields: WorkOrderFields = crate::validate_work_order(
            serde_json::from_value(json!({"kind": "order", "title": "T", "siteId": "S",
                                          "contactId": contact}))
            .unwrap(),
        )
        .unwrap();
        WorkOrder::new(crate::CustomerId("C".into()), fields, "u", Utc::now())
    }

    #[test]
    fn texts_go_to_the_work_order_s_contact_else_the_primary_else_the_card() {
        let card = customer(
            json!({"customerNumber": "1", "firstName": "Anna", "lastName": "Berg",
            "mobile": "+46701111111", "contacts": [
                {"firstName": "Bo", "mobile": "+46702222222", "primary": true},
                {"firstName": "Cid", "mobile": "+46703333333"},
                {"firstName": "Dan", "mobile": "+46704444444", "smsOptOut": true},
                {"firstName": "Eva"}]}),
        );
        let id = |i: usize| card.fields.contacts[i].id.0.clone();
        let to = |contact: Option<&str>| recipient(&card, &work_order(contact));
        assert_eq!(to(None).unwrap().mobile, "+46702222222");
        assert_eq!(to(Some(&id(1))).unwrap().mobile, "+46703333333");
        assert_eq!(to(Some(&id(1))).unwrap().contact_id, Some(id(1)));
        assert_eq!(to(Some(&id(2))), Err(Suppression::OptedOut));
        assert_eq!(
            to(Some(&id(3))).unwrap().mobile,
            "+46702222222",
            "the primary when the chosen one has no mobile"
        );
        let person = customer(
            json!({"customerNumber": "3", "firstName": "Ola", "lastName": "Ek",
            "mobile": "+46701111111"}),
        );
        assert_eq!(
            recipient(&person, &work_order(None)).unwrap().mobile,
            "+46701111111",
            "the card's own"
        );
        let bare = customer(json!({"customerNumber": "2", "companyName": "Acme"}));
        assert_eq!(
            recipient(&bare, &work_order(None)),
            Err(Suppression::NoMobile)
        );
    }

    fn context(
        organisation: Option<&'static str>,
        technician: Option<&'static str>,
    ) -> TextContext<'static> {
        TextContext {
            organisation,
            technician,
            window: Window {
                start: "2026-12-02T07:00:00Z".parse().unwrap(),
                end: "2026-12-02T09:00:00Z".parse().unwrap(),
            },
            zone: "Europe/Stockholm".parse().unwrap(),
        }
    }

    #[test]
    fn texts_are_in_the_customer_s_language_with_local_times() {
        let sv = compose(
            TextTrigger::Scheduled,
            Some("sv"),
            &context(Some("Rörmokarna AB"), Some("Åsa")),
        );
        assert_eq!(
            sv.body,
            "Rörmokarna AB: Ditt besök är bokat ons 2 dec kl. 08:00-10:00. Åsa kommer till dig."
        );
        assert_eq!((sv.encoding, sv.segments), (SmsEncoding::Gsm7, 1));
        let en = compose(
            TextTrigger::OnTheWay,
            Some("de"),
            &context(None, Some("Sam")),
        );
        assert_eq!(en.language, "en", "English when we have no template");
        assert_eq!(
            en.body,
            "Sam is on the way to you now and will arrive within your booked time 08:00-10:00."
        );
        let thanks = compose(TextTrigger::Completed, None, &context(None, None));
        assert!(thanks.body.starts_with("Thank you! Today's visit"));
    }

    #[test]
    fn every_text_fits_one_segment_with_the_longest_names() {
        let organisation = "O".repeat(crate::settings::ORGANISATION_NAME_MAX + 10);
        let technician = "T".repeat(TECHNICIAN_NAME_MAX + 10);
        for language in TEXT_LANGUAGES {
            for trigger in [
                TextTrigger::Scheduled,
                TextTrigger::OnTheWay,
                TextTrigger::Completed,
            ] {
                let mut ctx = context(None, None);
                ctx.organisation = Some(&organisation);
                ctx.technician = Some(&technician);
                let text = compose(trigger, Some(language), &ctx);
                assert_eq!(
                    (text.encoding, text.segments),
                    (SmsEncoding::Gsm7, 1),
                    "{language} {trigger:?}: {} characters: {}",
                    text.body.chars().count(),
                    text.body
                );
            }
        }
    }

    #[test]
    fn segments_are_counted_by_encoding() {
        assert_eq!(sms_segments(&"a".repeat(160)), (SmsEncoding::Gsm7, 1));
        assert_eq!(sms_segments(&"a".repeat(161)), (SmsEncoding::Gsm7, 2));
        assert_eq!(
            sms_segments(&"€".repeat(80)),
            (SmsEncoding::Gsm7, 1),
            "two septets each"
        );
        assert_eq!(sms_segments(&"€".repeat(81)), (SmsEncoding::Gsm7, 2));
        assert_eq!(sms_segments("Zoë"), (SmsEncoding::Ucs2, 1));
        assert_eq!(sms_segments(&"ë".repeat(71)), (SmsEncoding::Ucs2, 2));
    }
}
