//! Contracts: agreements with a customer over a period (service or maintenance contracts),
//! covering some of the customer's sites. A contract is cancelled for good: nothing changes
//! a cancelled contract, and the deactivation cascade cancels the active ones.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{CustomerId, FieldError, ValidationErrors};

pub const CONTRACT_NAME_MAX: usize = 200;
pub const CONTRACT_REFERENCE_MAX: usize = 64;
/// Sites one contract covers; also keeps the existence check to one BatchGetItem.
pub const CONTRACT_SITES_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum ContractStatus {
    #[default]
    Active,
    Cancelled,
    Expired,
}

impl ContractStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Active => "active",
            ContractStatus::Cancelled => "cancelled",
            ContractStatus::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeriodInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContractInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ContractStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub start: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractFields {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub period: Period,
    #[serde(default)]
    pub site_ids: Vec<String>,
    #[serde(default)]
    pub status: ContractStatus,
}

impl ContractFields {
    pub fn to_input(&self) -> ContractInput {
        ContractInput {
            name: Some(self.name.clone()),
            reference: self.reference.clone(),
            period: Some(PeriodInput {
                start: Some(self.period.start.to_string()),
                end: self.period.end.map(|d| d.to_string()),
            }),
            site_ids: Some(self.site_ids.clone()),
            status: Some(self.status),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    /// A ULID: a customer's contracts sort by creation.
    pub id: String,
    pub customer_id: CustomerId,
    #[serde(flatten)]
    pub fields: ContractFields,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub version: u64,
}

impl Contract {
    pub fn new(
        customer: CustomerId,
        fields: ContractFields,
        user: &str,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            customer_id: customer,
            fields,
            created_at: now,
            created_by: user.to_owned(),
            updated_at: now,
            updated_by: user.to_owned(),
            version: 1,
        }
    }
}

impl Contract {
    /// Contracts expire by themselves: an active contract whose period ended before `today` is
    /// expired. Derived on every read (the store applies it), and written with the contract's
    /// next change; nothing has to run at midnight.
    pub fn as_of(mut self, today: NaiveDate) -> Self {
        if self.fields.status == ContractStatus::Active && self.fields.period_ended(today) {
            self.fields.status = ContractStatus::Expired;
        }
        self
    }
}

impl ContractFields {
    /// The period's last day is before `today`.
    pub fn period_ended(&self, today: NaiveDate) -> bool {
        self.period.end.is_some_and(|end| end < today)
    }

    /// An active contract's period has not ended (else it would read back as expired): made
    /// active again, its end moves too.
    pub fn check_active_period(&self, today: NaiveDate) -> Result<(), ValidationErrors> {
        if self.status == ContractStatus::Active && self.period_ended(today) {
            return Err(ValidationErrors(vec![FieldError::new(
                "/period/end",
                "period_ended",
                "The period has ended, so the contract would be expired; move its end to make it active.",
            )]));
        }
        Ok(())
    }
}

/// Validates a contract (on create and, merged with the stored one, on change). Whether the
/// sites are the customer's is for the caller to check against the table.
pub fn validate_contract(input: ContractInput) -> Result<ContractFields, ValidationErrors> {
    let mut errors = Vec::new();
    let name = trimmed(input.name);
    match &name {
        None => errors.push(FieldError::required("/name")),
        Some(n) if n.chars().count() > CONTRACT_NAME_MAX => {
            errors.push(FieldError::too_long("/name", CONTRACT_NAME_MAX))
        }
        _ => {}
    }
    let reference = trimmed(input.reference);
    if reference
        .as_ref()
        .is_some_and(|r| r.chars().count() > CONTRACT_REFERENCE_MAX)
    {
        errors.push(FieldError::too_long("/reference", CONTRACT_REFERENCE_MAX));
    }
    let period = input.period.unwrap_or_default();
    let start = date("/period/start", period.start, &mut errors);
    let end = date("/period/end", period.end, &mut errors);
    if period_start_missing(&start, &errors) {
        errors.push(FieldError::required("/period/start"));
    }
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        errors.push(FieldError::new(
            "/period/end",
            "before_start",
            "The period ends before it starts.",
        ));
    }
    let site_ids = input.site_ids.unwrap_or_default();
    if site_ids.len() > CONTRACT_SITES_MAX {
        errors.push(FieldError::too_many("/siteIds", CONTRACT_SITES_MAX));
    }
    for (i, id) in site_ids.iter().enumerate() {
        if site_ids[..i].contains(id) {
            errors.push(FieldError::new(
                format!("/siteIds/{i}"),
                "duplicate",
                "This site is named twice.",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }
    Ok(ContractFields {
        name: name.unwrap_or_default(),
        reference,
        period: Period {
            start: start.expect("checked above"),
            end,
        },
        site_ids,
        status: input.status.unwrap_or_default(),
    })
}

fn period_start_missing(start: &Option<NaiveDate>, errors: &[FieldError]) -> bool {
    start.is_none() && !errors.iter().any(|e| e.field == "/period/start")
}

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A calendar day written `YYYY-MM-DD` (`invalid_date` otherwise); blank: none.
pub(crate) fn date(
    field: &str,
    value: Option<String>,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDate> {
    let value = trimmed(value)?;
    match NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "invalid_date",
                format!("{value:?} is not a date written YYYY-MM-DD."),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_active_contract_expires_by_itself_after_its_period() {
        let fields = validate(
            json!({"name": "Service", "period": {"start": "2026-01-01", "end": "2026-06-30"}}),
        )
        .unwrap();
        let contract = Contract::new(CustomerId("C".into()), fields, "u", chrono::Utc::now());
        let day = |d: &str| d.parse::<NaiveDate>().unwrap();
        assert_eq!(
            contract.clone().as_of(day("2026-06-30")).fields.status,
            ContractStatus::Active
        );
        assert_eq!(
            contract.clone().as_of(day("2026-07-01")).fields.status,
            ContractStatus::Expired
        );
        assert!(
            contract
                .fields
                .check_active_period(day("2026-07-01"))
                .is_err()
        );
        assert!(
            contract
                .fields
                .check_active_period(day("2026-06-30"))
                .is_ok()
        );
        let mut cancelled = contract;
        cancelled.fields.status = ContractStatus::Cancelled;
        assert_eq!(
            cancelled.as_of(day("2027-01-01")).fields.status,
            ContractStatus::Cancelled
        );
    }

    fn validate(input: serde_json::Value) -> Result<ContractFields, Vec<String>> {
        validate_contract(serde_json::from_value(input).unwrap()).map_err(|e| {
            e.0.into_iter()
                .map(|f| format!("{} {}", f.field, f.code))
                .collect()
        })
    }

    #[test]
    fn a_contract_needs_a_name_and_a_start() {
        assert_eq!(
            validate(json!({})),
            Err(vec![
                "/name required".into(),
                "/period/start required".into()
            ])
        );
        let ok = validate(json!({"name": " Service ", "period": {"start": "2026-01-01"}})).unwrap();
        assert_eq!(ok.name, "Service");
        assert_eq!(ok.status, ContractStatus::Active);
        assert_eq!(ok.period.end, None);
    }

    #[test]
    fn dates_are_read_and_the_period_is_checked() {
        assert_eq!(
            validate(json!({"name": "S", "period": {"start": "2026-02-30"}})),
            Err(vec!["/period/start invalid_date".into()])
        );
        assert_eq!(
            validate(json!({"name": "S", "period": {"start": "2026-03-01", "end": "2026-02-01"}})),
            Err(vec!["/period/end before_start".into()])
        );
    }

    #[test]
    fn sites_are_named_once_and_not_too_many() {
        assert_eq!(
            validate(json!({"name": "S", "period": {"start": "2026-01-01"},
                            "siteIds": ["A", "B", "A"]})),
            Err(vec!["/siteIds/2 duplicate".into()])
        );
        let many: Vec<String> = (0..101).map(|i| format!("S{i}")).collect();
        let errors = validate(json!({"name": "S", "period": {"start": "2026-01-01"},
                                     "siteIds": many}))
        .unwrap_err();
        assert_eq!(errors, vec!["/siteIds too_many".to_string()]);
    }

    #[test]
    fn a_contract_round_trips_through_its_input() {
        let fields = validate(json!({"name": "S", "reference": "K-1",
            "period": {"start": "2026-01-01", "end": "2026-12-31"}, "siteIds": ["A"]}))
        .unwrap();
        assert_eq!(validate_contract(fields.to_input()).unwrap(), fields);
    }
}
