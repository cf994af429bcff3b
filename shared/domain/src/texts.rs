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

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::zone::Zone;
use crate::{ChangeKind, Customer, CustomerFields, Job, Window, WorkOrder, WorkStatus};

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
    // A job a merge moved to the survivor (a new item there) is the same visit: no news.
    if after.updated_by == crate::MERGE_ACTOR {
        return None;
    }
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
    /// The text would go to the card's own mobile, and the card says no texts (`smsOptOut`).
    CardOptedOut,
    /// SNS's opt-out list has the number (the customer replied STOP); recorded on the contact,
    /// or on the card when it was the card's own mobile.
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
            Suppression::CardOptedOut => "cardOptedOut",
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
/// opting out is the customer's answer. The card's `smsOptOut` is about its own mobile only.
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
        None if customer.fields.sms_opt_out => return Err(Suppression::CardOptedOut),
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

/// Records on the card an opt-out that SNS's list reported for `recipient`'s number: on its
/// contact, or on the card itself when it was the card's own mobile, so that the office sees
/// it and no later text is tried. The kind of history entry the change makes; none when the
/// contact is gone meanwhile.
pub fn record_carrier_opt_out(
    fields: &mut CustomerFields,
    recipient: &Recipient,
) -> Option<ChangeKind> {
    match &recipient.contact_id {
        Some(id) => {
            let contact = fields.contacts.iter_mut().find(|c| &c.id.0 == id)?;
            contact.sms_opt_out = true;
            Some(ChangeKind::ContactChanged)
        }
        None => {
            fields.sms_opt_out = true;
            Some(ChangeKind::Updated)
        }
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
    pub zone: Zone,
}

/// A language texts are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextLanguage {
    English,
    Swedish,
    Norwegian,
    Danish,
    Finnish,
    German,
}

impl TextLanguage {
    pub const ALL: [TextLanguage; 6] = [
        TextLanguage::English,
        TextLanguage::Swedish,
        TextLanguage::Norwegian,
        TextLanguage::Danish,
        TextLanguage::Finnish,
        TextLanguage::German,
    ];

    /// Its ISO 639-1 code, as a text's record names it (Norwegian texts are Bokmål: `nb`).
    pub fn code(self) -> &'static str {
        match self {
            TextLanguage::English => "en",
            TextLanguage::Swedish => "sv",
            TextLanguage::Norwegian => "nb",
            TextLanguage::Danish => "da",
            TextLanguage::Finnish => "fi",
            TextLanguage::German => "de",
        }
    }

    /// The language of an ISO 639-1 code when texts are written in it. Norwegian has three
    /// codes (`no`, and its written standards `nb` and `nn`): every Norwegian reads Bokmål.
    pub fn of(code: &str) -> Option<Self> {
        Some(match code {
            "en" => TextLanguage::English,
            "sv" => TextLanguage::Swedish,
            "no" | "nb" | "nn" => TextLanguage::Norwegian,
            "da" => TextLanguage::Danish,
            "fi" => TextLanguage::Finnish,
            "de" => TextLanguage::German,
            _ => return None,
        })
    }

    /// The customer's language when texts are written in it, else the organisation's
    /// `defaultLanguage` when they are, else English.
    pub fn choose(customer: Option<&str>, organisation: Option<&str>) -> Self {
        [customer, organisation]
            .into_iter()
            .flatten()
            .find_map(Self::of)
            .unwrap_or(TextLanguage::English)
    }

    fn wording(self) -> &'static Wording {
        match self {
            TextLanguage::English => &ENGLISH,
            TextLanguage::Swedish => &SWEDISH,
            TextLanguage::Norwegian => &NORWEGIAN,
            TextLanguage::Danish => &DANISH,
            TextLanguage::Finnish => &FINNISH,
            TextLanguage::German => &GERMAN,
        }
    }
}

/// The text of `trigger` in `language`.
pub fn compose(
    trigger: TextTrigger,
    language: TextLanguage,
    context: &TextContext,
) -> ComposedText {
    let wording = language.wording();
    let start = context.zone.local(context.window.start);
    let end = context.zone.local(context.window.end);
    let (from, to) = (
        start.format("%H:%M").to_string(),
        end.format("%H:%M").to_string(),
    );
    let technician = context.technician.map(|n| cut(n, TECHNICIAN_NAME_MAX));
    let [named, anonymous] = match trigger {
        TextTrigger::Scheduled => wording.scheduled,
        TextTrigger::OnTheWay => wording.on_the_way,
        TextTrigger::Completed => wording.completed,
    };
    let template = if technician.is_some() {
        named
    } else {
        anonymous
    };
    let body = fill(
        template,
        &[
            ("{date}", &wording.date(&start)),
            ("{from}", &from),
            ("{to}", &to),
            // Last: a name is the office's text, and whatever it holds stays as written.
            ("{name}", technician.as_deref().unwrap_or_default()),
        ],
    );
    let body = match context.organisation {
        Some(organisation) => format!(
            "{}: {body}",
            cut(organisation, crate::settings::ORGANISATION_NAME_MAX)
        ),
        None => body,
    };
    let (encoding, segments) = sms_segments(&body);
    ComposedText {
        language: language.code().to_owned(),
        body,
        encoding,
        segments,
    }
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(key, value)
        })
}

/// One language's texts. Every character is in GSM 03.38's basic set (a unit test checks
/// it), so that each text fits one segment.
struct Wording {
    /// Abbreviated weekdays, Monday first.
    weekdays: [&'static str; 7],
    /// Months as a date names them, January first.
    months: [&'static str; 12],
    /// How a day is written: `{weekday}`, `{day}` of the month, `{month}`.
    date: &'static str,
    /// Each trigger's text with a technician's `{name}` and without one; `{date}`, `{from}`,
    /// `{to}` are the window.
    scheduled: [&'static str; 2],
    on_the_way: [&'static str; 2],
    completed: [&'static str; 2],
}

impl Wording {
    fn date(&self, at: &DateTime<FixedOffset>) -> String {
        use chrono::Datelike;
        fill(
            self.date,
            &[
                (
                    "{weekday}",
                    self.weekdays[at.weekday().num_days_from_monday() as usize],
                ),
                ("{day}", &at.day().to_string()),
                ("{month}", self.months[at.month0() as usize]),
            ],
        )
    }
}

const ENGLISH: Wording = Wording {
    weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    months: [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
    date: "{weekday} {day} {month}",
    scheduled: [
        "Your visit is booked for {date}, {from}-{to}. {name} will come to you.",
        "Your visit is booked for {date}, {from}-{to}. See you then!",
    ],
    on_the_way: [
        "{name} is on the way to you now and will arrive within your booked time {from}-{to}.",
        "Our technician is on the way to you now and will arrive within your booked time {from}-{to}.",
    ],
    completed: [
        "Thank you! {name} has completed today's visit. Let us know if anything is not working as it should.",
        "Thank you! Today's visit is completed. Let us know if anything is not working as it should.",
    ],
};

const SWEDISH: Wording = Wording {
    weekdays: ["mån", "tis", "ons", "tor", "fre", "lör", "sön"],
    months: [
        "jan", "feb", "mars", "april", "maj", "juni", "juli", "aug", "sep", "okt", "nov", "dec",
    ],
    date: "{weekday} {day} {month}",
    scheduled: [
        "Ditt besök är bokat {date} kl. {from}-{to}. {name} kommer till dig.",
        "Ditt besök är bokat {date} kl. {from}-{to}. Vi ses då!",
    ],
    on_the_way: [
        "{name} är på väg till dig nu och kommer inom den bokade tiden {from}-{to}.",
        "Vår tekniker är på väg till dig nu och kommer inom den bokade tiden {from}-{to}.",
    ],
    completed: [
        "Tack! {name} har slutfört dagens besök. Hör av dig om något inte fungerar som det ska.",
        "Tack! Dagens besök är slutfört. Hör av dig om något inte fungerar som det ska.",
    ],
};

/// Bokmål.
const NORWEGIAN: Wording = Wording {
    weekdays: ["man", "tir", "ons", "tor", "fre", "lør", "søn"],
    months: [
        "jan", "feb", "mars", "april", "mai", "juni", "juli", "aug", "sep", "okt", "nov", "des",
    ],
    date: "{weekday} {day}. {month}",
    scheduled: [
        "Besøket ditt er avtalt {date} kl. {from}-{to}. {name} kommer til deg.",
        "Besøket ditt er avtalt {date} kl. {from}-{to}. Vi ses da!",
    ],
    on_the_way: [
        "{name} er på vei til deg nå og kommer innenfor avtalt tid {from}-{to}.",
        "Teknikeren vår er på vei til deg nå og kommer innenfor avtalt tid {from}-{to}.",
    ],
    completed: [
        "Takk! {name} har fullført dagens besøk. Si fra hvis noe ikke fungerer som det skal.",
        "Takk! Dagens besøk er fullført. Si fra hvis noe ikke fungerer som det skal.",
    ],
};

const DANISH: Wording = Wording {
    weekdays: ["man", "tir", "ons", "tor", "fre", "lør", "søn"],
    months: [
        "jan", "feb", "marts", "april", "maj", "juni", "juli", "aug", "sep", "okt", "nov", "dec",
    ],
    date: "{weekday} d. {day}. {month}",
    scheduled: [
        "Dit besøg er aftalt {date} kl. {from}-{to}. {name} kommer ud til dig.",
        "Dit besøg er aftalt {date} kl. {from}-{to}. Vi ses!",
    ],
    on_the_way: [
        "{name} er på vej til dig nu og kommer inden for det aftalte tidsrum {from}-{to}.",
        "Vores tekniker er på vej til dig nu og kommer inden for det aftalte tidsrum {from}-{to}.",
    ],
    completed: [
        "Tak! {name} har afsluttet dagens besøg. Sig til, hvis noget ikke virker, som det skal.",
        "Tak! Dagens besøg er afsluttet. Sig til, hvis noget ikke virker, som det skal.",
    ],
};

const FINNISH: Wording = Wording {
    weekdays: ["ma", "ti", "ke", "to", "pe", "la", "su"],
    // Finnish writes the month as its number: "ke 2.12.".
    months: [
        "1.", "2.", "3.", "4.", "5.", "6.", "7.", "8.", "9.", "10.", "11.", "12.",
    ],
    date: "{weekday} {day}.{month}",
    scheduled: [
        "Käyntisi on varattu {date} klo {from}-{to}. {name} tulee luoksesi.",
        "Käyntisi on varattu {date} klo {from}-{to}. Nähdään silloin!",
    ],
    on_the_way: [
        "{name} on nyt matkalla luoksesi ja saapuu varattuna aikana {from}-{to}.",
        "Asentajamme on nyt matkalla luoksesi ja saapuu varattuna aikana {from}-{to}.",
    ],
    completed: [
        "Kiitos! {name} on tehnyt tämän päivän käynnin. Ota yhteyttä, jos jokin ei toimi niin kuin pitäisi.",
        "Kiitos! Tämän päivän käynti on tehty. Ota yhteyttä, jos jokin ei toimi niin kuin pitäisi.",
    ],
};

const GERMAN: Wording = Wording {
    weekdays: ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."],
    months: [
        "Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sep.", "Okt.", "Nov.",
        "Dez.",
    ],
    date: "{weekday}, {day}. {month}",
    scheduled: [
        "Ihr Termin ist am {date} zwischen {from} und {to} Uhr. {name} kommt zu Ihnen.",
        "Ihr Termin ist am {date} zwischen {from} und {to} Uhr. Bis dann!",
    ],
    on_the_way: [
        "{name} ist jetzt unterwegs zu Ihnen und kommt in der gebuchten Zeit {from}-{to} Uhr.",
        "Unser Techniker ist jetzt unterwegs zu Ihnen und kommt in der gebuchten Zeit {from}-{to} Uhr.",
    ],
    completed: [
        "Vielen Dank! {name} hat den heutigen Termin abgeschlossen. Melden Sie sich, falls etwas nicht funktioniert.",
        "Vielen Dank! Der heutige Termin ist abgeschlossen. Melden Sie sich, falls etwas nicht funktioniert.",
    ],
};

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
            Suppression::CardOptedOut,
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
    fn a_visit_a_merge_moved_to_the_survivor_sends_nothing() {
        use crate::linked::Movable;
        let scheduled = job("scheduled", NINE);
        let moved = scheduled.moved(
            &crate::CustomerId("S".into()),
            crate::MERGE_ACTOR,
            Utc::now(),
        );
        assert_eq!(
            text_trigger(None, &moved),
            None,
            "a new item, the same visit"
        );
        let mut on_the_way = moved.clone();
        on_the_way.fields.status = WorkStatus::EnRoute;
        on_the_way.updated_by = "tess".into();
        assert_eq!(
            text_trigger(Some(&moved), &on_the_way),
            Some(TextTrigger::OnTheWay)
        );
    }

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

    #[test]
    fn a_card_that_opted_out_gets_no_text_on_its_own_mobile() {
        let card = customer(
            json!({"customerNumber": "4", "firstName": "Ola", "lastName": "Ek",
            "mobile": "+46701111111", "smsOptOut": true}),
        );
        assert_eq!(
            recipient(&card, &work_order(None)),
            Err(Suppression::CardOptedOut)
        );
        let with_contact = customer(
            json!({"customerNumber": "5", "companyName": "Acme", "mobile": "+46701111111",
            "smsOptOut": true, "contacts": [
                {"firstName": "Bo", "mobile": "+46702222222", "primary": true}]}),
        );
        assert_eq!(
            recipient(&with_contact, &work_order(None)).unwrap().mobile,
            "+46702222222",
            "the card's opt-out is about its own mobile"
        );
    }

    #[test]
    fn an_opt_out_sns_reports_is_recorded_where_the_number_came_from() {
        let mut card = customer(
            json!({"customerNumber": "6", "companyName": "Acme", "mobile": "+46701111111",
            "contacts": [{"firstName": "Bo", "mobile": "+46702222222", "primary": true}]}),
        );
        let before = card.clone();
        let contact = card.fields.contacts[0].id.0.clone();
        let to_contact = Recipient {
            mobile: "+46702222222".into(),
            contact_id: Some(contact),
        };
        assert_eq!(
            record_carrier_opt_out(&mut card.fields, &to_contact),
            Some(ChangeKind::ContactChanged)
        );
        assert!(card.fields.contacts[0].sms_opt_out);
        assert!(
            !card.fields.sms_opt_out,
            "the card's own mobile is another number"
        );
        let mut card = before.clone();
        let to_card = Recipient {
            mobile: "+46701111111".into(),
            contact_id: None,
        };
        assert_eq!(
            record_carrier_opt_out(&mut card.fields, &to_card),
            Some(ChangeKind::Updated)
        );
        assert!(card.fields.sms_opt_out);
        assert_eq!(
            crate::history::diff(&before, &card)
                .iter()
                .map(|change| change.field.as_str())
                .collect::<Vec<_>>(),
            ["/smsOptOut"]
        );
        let mut card = before;
        let gone = Recipient {
            mobile: "+46702222222".into(),
            contact_id: Some("gone".into()),
        };
        assert_eq!(record_carrier_opt_out(&mut card.fields, &gone), None);
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
            TextLanguage::Swedish,
            &context(Some("Rörmokarna AB"), Some("Åsa")),
        );
        assert_eq!(
            sv.body,
            "Rörmokarna AB: Ditt besök är bokat ons 2 dec kl. 08:00-10:00. Åsa kommer till dig."
        );
        assert_eq!(
            (sv.language.as_str(), sv.encoding, sv.segments),
            ("sv", SmsEncoding::Gsm7, 1)
        );
        let en = compose(
            TextTrigger::OnTheWay,
            TextLanguage::English,
            &context(None, Some("Sam")),
        );
        assert_eq!(
            en.body,
            "Sam is on the way to you now and will arrive within your booked time 08:00-10:00."
        );
        let thanks = compose(
            TextTrigger::Completed,
            TextLanguage::English,
            &context(None, None),
        );
        assert!(thanks.body.starts_with("Thank you! Today's visit"));
        let dated = |language| {
            compose(
                TextTrigger::Scheduled,
                language,
                &context(None, Some("Åsa")),
            )
            .body
        };
        assert_eq!(
            dated(TextLanguage::Norwegian),
            "Besøket ditt er avtalt ons 2. des kl. 08:00-10:00. Åsa kommer til deg."
        );
        assert_eq!(
            dated(TextLanguage::Danish),
            "Dit besøg er aftalt ons d. 2. dec kl. 08:00-10:00. Åsa kommer ud til dig."
        );
        assert_eq!(
            dated(TextLanguage::Finnish),
            "Käyntisi on varattu ke 2.12. klo 08:00-10:00. Åsa tulee luoksesi."
        );
        assert_eq!(
            dated(TextLanguage::German),
            "Ihr Termin ist am Mi., 2. Dez. zwischen 08:00 und 10:00 Uhr. Åsa kommt zu Ihnen."
        );
    }

    #[test]
    fn a_text_is_in_the_customer_s_language_else_the_organisation_s_else_english() {
        use TextLanguage::*;
        let choose = TextLanguage::choose;
        for (code, language) in [
            ("en", English),
            ("sv", Swedish),
            ("no", Norwegian),
            ("nb", Norwegian),
            ("nn", Norwegian),
            ("da", Danish),
            ("fi", Finnish),
            ("de", German),
        ] {
            assert_eq!(choose(Some(code), Some("sv")), language, "{code}");
        }
        assert_eq!(
            choose(Some("pl"), Some("fi")),
            Finnish,
            "the organisation's"
        );
        assert_eq!(choose(None, Some("nn")), Norwegian, "the organisation's");
        assert_eq!(choose(Some("pl"), Some("et")), English, "neither is ours");
        assert_eq!(choose(None, None), English);
        for language in TextLanguage::ALL {
            assert_eq!(TextLanguage::of(language.code()), Some(language));
            assert!(crate::is_language(language.code()), "{language:?}");
        }
    }

    #[test]
    fn a_technician_s_name_is_written_as_it_is() {
        let text = compose(
            TextTrigger::OnTheWay,
            TextLanguage::English,
            &context(None, Some("{to} {date}")),
        );
        assert!(
            text.body.starts_with("{to} {date} is on the way"),
            "{}",
            text.body
        );
    }

    /// Every language and trigger, with and without a technician, on every day of a year (so
    /// every weekday, month and two-digit day), with the longest signature and name: one GSM-7
    /// segment. Prints the longest text of each language and trigger.
    #[test]
    fn every_text_fits_one_gsm_segment_with_the_longest_names_on_any_day() {
        let organisation = "O".repeat(crate::settings::ORGANISATION_NAME_MAX + 10);
        let technician = "T".repeat(TECHNICIAN_NAME_MAX + 10);
        let first: DateTime<Utc> = "2026-01-01T07:00:00Z".parse().unwrap();
        for language in TextLanguage::ALL {
            for trigger in [
                TextTrigger::Scheduled,
                TextTrigger::OnTheWay,
                TextTrigger::Completed,
            ] {
                let mut longest = 0;
                for named in [Some(technician.as_str()), None] {
                    for day in 0..365 {
                        let start = first + chrono::Duration::days(day);
                        let ctx = TextContext {
                            organisation: Some(&organisation),
                            technician: named,
                            window: Window {
                                start,
                                end: start + chrono::Duration::hours(2),
                            },
                            zone: "Europe/Helsinki".parse().unwrap(),
                        };
                        let text = compose(trigger, language, &ctx);
                        assert_eq!(
                            (text.encoding, text.segments),
                            (SmsEncoding::Gsm7, 1),
                            "{language:?} {trigger:?}: {} characters: {}",
                            text.body.chars().count(),
                            text.body
                        );
                        longest = longest.max(text.body.chars().count());
                    }
                }
                println!("{language:?} {trigger:?}: at most {longest} characters");
            }
        }
    }

    #[test]
    fn every_template_is_in_the_gsm_basic_set() {
        for language in TextLanguage::ALL {
            let wording = language.wording();
            let words = wording
                .weekdays
                .iter()
                .chain(&wording.months)
                .chain([&wording.date])
                .chain(&wording.scheduled)
                .chain(&wording.on_the_way)
                .chain(&wording.completed);
            let placeholders = [
                "{date}",
                "{from}",
                "{to}",
                "{name}",
                "{weekday}",
                "{day}",
                "{month}",
            ]
            .map(|key| (key, ""));
            for word in words {
                for c in fill(word, &placeholders).chars() {
                    assert!(GSM_BASIC.contains(c), "{language:?}: {c:?} in {word:?}");
                }
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
