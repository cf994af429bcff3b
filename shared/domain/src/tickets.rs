//! Tickets: proof of work, what a technician used or delivered on a job (a quantity of a
//! material, in a unit, at a time). A ticket is never changed: a correction is a second ticket
//! with a negative quantity, so the proof and the correction both stay on record. Tickets add
//! up to the customer's inventory, per site, material and unit.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::validation::normalise_quantity;
use crate::work::{optional_text, required_text, trimmed};
use crate::{CustomerId, FieldError, ValidationErrors};

pub const MATERIAL_MAX: usize = 200;
pub const UNIT_MAX: usize = 16;
pub const TICKET_NOTE_MAX: usize = 1000;
/// Clocks on phones drift; a ticket further in the future than this is a typing error.
pub const TICKET_FUTURE_MAX_MINUTES: i64 = 15;

/// A quantity in thousandths, so that sums are exact (three decimals, like article quantities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Quantity(pub i64);

impl Quantity {
    /// "2,5", "-1.125", "3": at most three decimals, a sign for corrections.
    pub fn parse(raw: &str) -> Option<Quantity> {
        let raw = raw.trim();
        let (negative, magnitude) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let normal = normalise_quantity(magnitude)?;
        let (integer, fraction) = normal.split_once('.').unwrap_or((&normal, ""));
        let thousandths = format!("{fraction:0<3}");
        let value = integer.parse::<i64>().ok()? * 1000 + thousandths.parse::<i64>().ok()?;
        Some(Quantity(if negative { -value } else { value }))
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let (integer, fraction) = (magnitude / 1000, magnitude % 1000);
        if fraction == 0 {
            write!(f, "{sign}{integer}")
        } else {
            let fraction = format!("{fraction:03}");
            write!(f, "{sign}{integer}.{}", fraction.trim_end_matches('0'))
        }
    }
}

/// Written as a decimal string ("2.5"): JSON numbers would lose exactness in some clients.
impl Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Quantity::parse(&raw).ok_or_else(|| serde::de::Error::custom("not a quantity"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub material: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketFields {
    pub job_id: String,
    pub material: String,
    pub quantity: Quantity,
    pub unit: String,
    /// When the work was done, as the technician recorded it.
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// A ULID whose time is `at`: a customer's tickets sort by when the work was done.
    pub id: String,
    pub customer_id: CustomerId,
    pub work_order_id: String,
    pub site_id: String,
    #[serde(flatten)]
    pub fields: TicketFields,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl Ticket {
    /// `random`: the id's random part, for an id that a retried request must find again
    /// (derived from its Idempotency-Key); none: a fresh random one.
    pub fn new(
        job: &crate::Job,
        fields: TicketFields,
        user: &str,
        now: DateTime<Utc>,
        random: Option<u128>,
    ) -> Self {
        let id = match random {
            Some(random) => {
                let ms = u64::try_from(fields.at.timestamp_millis()).unwrap_or(0);
                ulid::Ulid::from_parts(ms, random)
            }
            None => ulid::Ulid::from_datetime(fields.at.into()),
        }
        .to_string();
        Self {
            id,
            customer_id: job.customer_id.clone(),
            work_order_id: job.work_order_id.clone(),
            site_id: job.site_id.clone(),
            fields,
            created_at: now,
            created_by: user.to_owned(),
        }
    }

    /// The inventory line this ticket counts on.
    pub fn stock_key(&self) -> StockKey {
        StockKey {
            site_id: self.site_id.clone(),
            unit: self.fields.unit.clone(),
            material: self.fields.material.clone(),
        }
    }
}

/// What tickets are added up by: the same material in the same unit at the same site. Units
/// are not converted ("m" and "cm" stay two lines): a conversion table is the organisation's
/// business, not a guess of ours.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockKey {
    pub site_id: String,
    pub unit: String,
    pub material: String,
}

/// One line of a customer's inventory: the sum of the tickets of one stock key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockLine {
    #[serde(flatten)]
    pub key: StockKey,
    pub quantity: Quantity,
    pub tickets: u64,
    /// When the last ticket on this line was recorded.
    pub updated_at: DateTime<Utc>,
}

/// Validates a ticket. Whether the job is the customer's is for the caller to check.
pub fn validate_ticket(
    input: TicketInput,
    now: DateTime<Utc>,
) -> Result<TicketFields, ValidationErrors> {
    let mut errors = Vec::new();
    let job_id = trimmed(input.job_id);
    if job_id.is_none() {
        errors.push(FieldError::required("/jobId"));
    }
    let material = required_text(
        "/material",
        input.material.map(collapse),
        MATERIAL_MAX,
        &mut errors,
    );
    let unit = unit(input.unit, &mut errors);
    let quantity = quantity(input.quantity, &mut errors);
    let at = timestamp(input.at, now, &mut errors);
    let note = optional_text("/note", input.note, TICKET_NOTE_MAX, &mut errors);
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }
    Ok(TicketFields {
        job_id: job_id.expect("checked above"),
        material: material.expect("checked above"),
        quantity: quantity.expect("checked above"),
        unit: unit.expect("checked above"),
        at: at.expect("checked above"),
        note,
    })
}

/// Inner runs of white space become one space, so "Cable  3x1.5" and "Cable 3x1.5" are one
/// material.
fn collapse(value: String) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn unit(value: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let unit = required_text("/unit", value, UNIT_MAX, errors)?;
    // The unit is a key part before the material: no separator, no spaces.
    if unit.chars().any(|c| c == '#' || c.is_whitespace()) {
        errors.push(FieldError::new(
            "/unit",
            "invalid_unit",
            "A unit is a short word without spaces or '#', e.g. pcs, m, kg, h.",
        ));
        return None;
    }
    Some(unit)
}

fn quantity(value: Option<String>, errors: &mut Vec<FieldError>) -> Option<Quantity> {
    let Some(raw) = trimmed(value) else {
        errors.push(FieldError::required("/quantity"));
        return None;
    };
    match Quantity::parse(&raw) {
        Some(q) if !q.is_zero() => Some(q),
        _ => {
            errors.push(FieldError::new(
                "/quantity",
                "invalid_quantity",
                "A quantity is a non-zero decimal with at most three decimals, e.g. \"2.5\" (negative to correct an earlier ticket).",
            ));
            None
        }
    }
}

fn timestamp(
    value: Option<String>,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let Some(raw) = trimmed(value) else {
        errors.push(FieldError::required("/at"));
        return None;
    };
    let Ok(at) = DateTime::parse_from_rfc3339(&raw) else {
        errors.push(FieldError::new(
            "/at",
            "invalid_datetime",
            format!("{raw:?} is not a date and time with offset (RFC 3339)."),
        ));
        return None;
    };
    let at = at.with_timezone(&Utc);
    if at > now + Duration::minutes(TICKET_FUTURE_MAX_MINUTES) {
        errors.push(FieldError::new(
            "/at",
            "in_future",
            "Work is recorded when it is done, not ahead.",
        ));
        return None;
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn validate(input: serde_json::Value) -> Result<TicketFields, Vec<String>> {
        let now = "2026-12-01T12:00:00Z".parse().unwrap();
        validate_ticket(serde_json::from_value(input).unwrap(), now).map_err(|e| {
            e.0.into_iter()
                .map(|f| format!("{} {}", f.field, f.code))
                .collect()
        })
    }

    #[test]
    fn quantities_are_exact_thousandths() {
        assert_eq!(Quantity::parse("2,5"), Some(Quantity(2500)));
        assert_eq!(Quantity::parse("-1.125"), Some(Quantity(-1125)));
        assert_eq!(Quantity::parse("3"), Some(Quantity(3000)));
        assert_eq!(Quantity::parse("1.2345"), None);
        assert_eq!(Quantity::parse("--1"), None);
        assert_eq!(Quantity::parse("1e3"), None);
        assert_eq!(Quantity(2500).to_string(), "2.5");
        assert_eq!(Quantity(-1125).to_string(), "-1.125");
        assert_eq!(Quantity(-50).to_string(), "-0.05");
        assert_eq!(Quantity(3000).to_string(), "3");
        assert_eq!(
            Quantity(100).0 + Quantity(200).0,
            Quantity::parse("0.3").unwrap().0,
            "0.1 + 0.2 is 0.3 here"
        );
    }

    #[test]
    fn a_ticket_needs_a_job_material_quantity_unit_and_time() {
        assert_eq!(
            validate(json!({})),
            Err(vec![
                "/jobId required".into(),
                "/material required".into(),
                "/unit required".into(),
                "/quantity required".into(),
                "/at required".into()
            ])
        );
        let ok = validate(
            json!({"jobId": "J", "material": " Cable   3x1.5 ", "quantity": "12,5",
                                 "unit": "m", "at": "2026-12-01T10:00:00+01:00"}),
        )
        .unwrap();
        assert_eq!(ok.material, "Cable 3x1.5");
        assert_eq!(ok.quantity, Quantity(12_500));
        assert_eq!(ok.at.to_rfc3339(), "2026-12-01T09:00:00+00:00");
    }

    #[test]
    fn bad_tickets_say_what_is_wrong() {
        assert_eq!(
            validate(
                json!({"jobId": "J", "material": "M", "quantity": "0", "unit": "sq m",
                            "at": "2026-12-02T10:00:00Z"})
            ),
            Err(vec![
                "/unit invalid_unit".into(),
                "/quantity invalid_quantity".into(),
                "/at in_future".into()
            ])
        );
    }

    #[test]
    fn ticket_ids_sort_by_when_the_work_was_done() {
        let job = crate::Job {
            id: "J".into(),
            customer_id: CustomerId("C".into()),
            work_order_id: "W".into(),
            site_id: "S".into(),
            fields: crate::validate_job(
                serde_json::from_value(json!({"window": {"start": "2026-12-01T08:00:00Z",
                    "end": "2026-12-01T09:00:00Z"}, "technicians": ["t"]}))
                .unwrap(),
            )
            .unwrap(),
            created_at: Utc::now(),
            created_by: "u".into(),
            updated_at: Utc::now(),
            updated_by: "u".into(),
            version: 1,
        };
        let ticket = |at: &str| {
            let fields = validate(json!({"jobId": "J", "material": "M", "quantity": "1",
                                         "unit": "pcs", "at": at}))
            .unwrap();
            Ticket::new(&job, fields, "u", Utc::now(), None)
        };
        let later = ticket("2026-12-01T11:00:00Z");
        let earlier = ticket("2026-11-30T11:00:00Z");
        assert!(earlier.id < later.id);
        assert_eq!(later.stock_key().site_id, "S");
        let again = |random| {
            let fields = later.fields.clone();
            Ticket::new(&job, fields, "u", Utc::now(), Some(random)).id
        };
        assert_eq!(again(42), again(42), "a retry finds its ticket again");
        assert_ne!(again(42), again(43));
        assert_eq!(again(42)[..10], later.id[..10], "still sorted by time");
    }
}
