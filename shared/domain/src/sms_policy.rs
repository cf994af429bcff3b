//! The organisation's SMS policy: where texts to customers may go and how many may go. Texts
//! cost money per message and SNS's spend limit is the whole account's, so a technician who
//! puts a foreign premium number on a customer, or flaps a job between scheduled and en route,
//! must not be able to text without end (SMS pumping) nor stop texts for every organisation.
//!
//! - A text goes only to a mobile of an allowed country: the policy's `countries`, else the
//!   organisation's `defaultCountry`; with neither, to no country at all.
//! - At most `dailyLimit` texts a day per organisation, `dailyLimitPerNumber` a day per
//!   recipient number, and `limitPerJobAndTrigger` per job and trigger (a job sends at most
//!   that many "on the way" texts however often it goes en route). Days are the
//!   organisation's (`timeZone`).
//!
//! The counting is the store's (conditional writes, so concurrent invocations share the
//! limits); the rules and the defaults are here.

use serde::{Deserialize, Serialize};

use crate::is_country;
use crate::texts::Suppression;
use crate::validation::FieldError;

/// Texts a day per organisation by default: a busy organisation's visits (three texts each)
/// with room, and a bound on what one organisation can spend of the account's SMS budget.
pub const DEFAULT_DAILY_LIMIT: u32 = 1_000;
/// Texts a day per number by default: two visits a day with their three texts each.
pub const DEFAULT_DAILY_LIMIT_PER_NUMBER: u32 = 6;
/// Texts per job and trigger by default: the first, and two more after a reschedule or a
/// turn back from the road.
pub const DEFAULT_LIMIT_PER_JOB_AND_TRIGGER: u32 = 3;

/// Upper bounds a policy may set (higher needs a word with the operators: the account's SMS
/// spend limit is shared by every organisation).
pub const DAILY_LIMIT_MAX: u32 = 100_000;
pub const DAILY_LIMIT_PER_NUMBER_MAX: u32 = 50;
pub const LIMIT_PER_JOB_AND_TRIGGER_MAX: u32 = 10;
/// At most this many destination countries.
pub const COUNTRIES_MAX: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmsPolicy {
    /// ISO 3166 alpha-2 countries texts may go to; none: the organisation's default country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countries: Option<Vec<String>>,
    #[serde(default = "daily_limit")]
    pub daily_limit: u32,
    #[serde(default = "daily_limit_per_number")]
    pub daily_limit_per_number: u32,
    #[serde(default = "limit_per_job_and_trigger")]
    pub limit_per_job_and_trigger: u32,
}

fn daily_limit() -> u32 {
    DEFAULT_DAILY_LIMIT
}

fn daily_limit_per_number() -> u32 {
    DEFAULT_DAILY_LIMIT_PER_NUMBER
}

fn limit_per_job_and_trigger() -> u32 {
    DEFAULT_LIMIT_PER_JOB_AND_TRIGGER
}

impl Default for SmsPolicy {
    fn default() -> Self {
        Self {
            countries: None,
            daily_limit: DEFAULT_DAILY_LIMIT,
            daily_limit_per_number: DEFAULT_DAILY_LIMIT_PER_NUMBER,
            limit_per_job_and_trigger: DEFAULT_LIMIT_PER_JOB_AND_TRIGGER,
        }
    }
}

/// One of the policy's counted limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SmsLimit {
    /// Texts of the organisation today.
    OrganisationDaily,
    /// Texts to one number today.
    NumberDaily,
    /// Texts of one job for one trigger, ever.
    JobAndTrigger,
}

impl SmsLimit {
    /// Widest first: the order a refusal names them in ([`refusal`]).
    pub const ALL: [SmsLimit; 3] = [
        SmsLimit::OrganisationDaily,
        SmsLimit::NumberDaily,
        SmsLimit::JobAndTrigger,
    ];

    /// Why a text over this limit is not sent.
    pub fn suppression(self) -> Suppression {
        match self {
            SmsLimit::OrganisationDaily => Suppression::OrganisationDailyLimit,
            SmsLimit::NumberDaily => Suppression::NumberDailyLimit,
            SmsLimit::JobAndTrigger => Suppression::JobAndTriggerLimit,
        }
    }
}

/// The reason a text over some limits is recorded with: the widest of them, since it is the
/// one that also stops other texts (the organisation's limit stops every text of the day, and
/// is what the operators' alarm watches).
pub fn refusal(over: &[SmsLimit]) -> Option<Suppression> {
    SmsLimit::ALL
        .into_iter()
        .find(|limit| over.contains(limit))
        .map(SmsLimit::suppression)
}

impl SmsPolicy {
    /// How many texts `limit` lets through.
    pub fn limit(&self, limit: SmsLimit) -> u32 {
        match limit {
            SmsLimit::OrganisationDaily => self.daily_limit,
            SmsLimit::NumberDaily => self.daily_limit_per_number,
            SmsLimit::JobAndTrigger => self.limit_per_job_and_trigger,
        }
    }

    /// Whether a text may go to a number of `country` (ISO 3166 alpha-2, from the number):
    /// one of the policy's countries, else the organisation's default country; neither, none.
    pub fn allows_country(&self, default_country: Option<&str>, country: Option<&str>) -> bool {
        let Some(country) = country else {
            return false;
        };
        match &self.countries {
            Some(countries) => countries.iter().any(|c| c == country),
            None => default_country == Some(country),
        }
    }

    /// Checks the policy (codes normalised to upper case); problems go to `fail` with their
    /// JSON pointers under `/smsPolicy`.
    pub(crate) fn validate(&mut self, errors: &mut Vec<FieldError>) {
        let mut fail = |field: &str, code: &str, message: String| {
            errors.push(FieldError::new(format!("/smsPolicy{field}"), code, message));
        };
        if let Some(countries) = &mut self.countries {
            for country in countries.iter_mut() {
                *country = country.to_ascii_uppercase();
            }
            if countries.is_empty() || countries.len() > COUNTRIES_MAX {
                fail(
                    "/countries",
                    "invalid_range",
                    format!(
                        "1 to {COUNTRIES_MAX} countries; leave countries out to text the default country only."
                    ),
                );
            }
            for (i, country) in countries.iter().enumerate() {
                if !is_country(country) {
                    fail(
                        &format!("/countries/{i}"),
                        "unknown_country",
                        format!("{country:?} is not ISO 3166 alpha-2."),
                    );
                } else if countries[..i].contains(country) {
                    fail(
                        &format!("/countries/{i}"),
                        "duplicate",
                        "Each country once.".into(),
                    );
                }
            }
        }
        for (field, value, max) in [
            ("/dailyLimit", self.daily_limit, DAILY_LIMIT_MAX),
            (
                "/dailyLimitPerNumber",
                self.daily_limit_per_number,
                DAILY_LIMIT_PER_NUMBER_MAX,
            ),
            (
                "/limitPerJobAndTrigger",
                self.limit_per_job_and_trigger,
                LIMIT_PER_JOB_AND_TRIGGER_MAX,
            ),
        ] {
            if !(1..=max).contains(&value) {
                fail(
                    field,
                    "invalid_range",
                    format!("Between 1 and {max}: the account's SMS budget is shared."),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_go_to_the_default_country_unless_the_policy_names_countries() {
        let default = SmsPolicy::default();
        assert!(default.allows_country(Some("SE"), Some("SE")));
        assert!(!default.allows_country(Some("SE"), Some("GB")));
        assert!(
            !default.allows_country(None, Some("SE")),
            "no default country, no list: nowhere"
        );
        assert!(
            !default.allows_country(Some("SE"), None),
            "a number of no country (a satellite or international service)"
        );
        let nordic = SmsPolicy {
            countries: Some(vec!["SE".into(), "NO".into()]),
            ..SmsPolicy::default()
        };
        assert!(nordic.allows_country(None, Some("NO")));
        assert!(
            !nordic.allows_country(Some("DK"), Some("DK")),
            "a list replaces the default country"
        );
    }

    #[test]
    fn a_refusal_names_the_widest_limit_it_is_over() {
        assert_eq!(refusal(&[]), None);
        assert_eq!(
            refusal(&[SmsLimit::JobAndTrigger]),
            Some(Suppression::JobAndTriggerLimit)
        );
        assert_eq!(
            refusal(&[SmsLimit::JobAndTrigger, SmsLimit::NumberDaily]),
            Some(Suppression::NumberDailyLimit)
        );
        assert_eq!(
            refusal(&[SmsLimit::JobAndTrigger, SmsLimit::OrganisationDaily]),
            Some(Suppression::OrganisationDailyLimit)
        );
    }

    #[test]
    fn the_defaults_are_safe_and_valid() {
        let mut policy = SmsPolicy::default();
        let mut errors = Vec::new();
        policy.validate(&mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(policy.limit(SmsLimit::OrganisationDaily), 1_000);
        assert_eq!(policy.limit(SmsLimit::NumberDaily), 6);
        assert_eq!(policy.limit(SmsLimit::JobAndTrigger), 3);
        assert_eq!(policy.countries, None);
        // Settings saved before the policy existed read as the defaults.
        let old: SmsPolicy = serde_json::from_str("{}").unwrap();
        assert_eq!(old, SmsPolicy::default());
    }

    #[test]
    fn a_bad_policy_is_refused_field_by_field() {
        let mut policy = SmsPolicy {
            countries: Some(vec!["se".into(), "XX".into(), "SE".into()]),
            daily_limit: 0,
            daily_limit_per_number: DAILY_LIMIT_PER_NUMBER_MAX + 1,
            limit_per_job_and_trigger: LIMIT_PER_JOB_AND_TRIGGER_MAX + 1,
        };
        let mut errors = Vec::new();
        policy.validate(&mut errors);
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("/smsPolicy/countries/1", "unknown_country"),
                ("/smsPolicy/countries/2", "duplicate"),
                ("/smsPolicy/dailyLimit", "invalid_range"),
                ("/smsPolicy/dailyLimitPerNumber", "invalid_range"),
                ("/smsPolicy/limitPerJobAndTrigger", "invalid_range"),
            ]
        );
        assert_eq!(policy.countries.as_ref().unwrap()[0], "SE", "normalised");
        let mut empty = SmsPolicy {
            countries: Some(Vec::new()),
            ..SmsPolicy::default()
        };
        let mut errors = Vec::new();
        empty.validate(&mut errors);
        assert_eq!(errors[0].field, "/smsPolicy/countries");
    }
}
