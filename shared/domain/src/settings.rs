//! Organisation settings for the customer register, and custom field definitions. Settings
//! shape validation (`ValidationContext`); they never rewrite stored customers. What a change
//! of settings does to existing customers is spelled out in docs/api.md ("Settings").

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sms_policy::SmsPolicy;
use crate::texts::Suppression;
use crate::validation::{FieldError, NumberRules, ValidationContext, ValidationErrors};
use crate::zone::Zone;
use crate::{PaymentTerms, is_country, is_currency, is_language};

/// A contact channel a new customer can be required to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Channel {
    Email,
    Phone,
    Mobile,
}

/// Whether the customer's own order number is shown, and whether orders require it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum OrderNumberUse {
    Hidden,
    #[default]
    Shown,
    /// Shown, and work orders of the customer cannot be saved without it.
    Required,
}

impl OrderNumberUse {
    /// The order number a new work order carries: `hidden`, none (one given is refused rather
    /// than silently dropped); `shown`, the one given, else the customer's; `required`, the
    /// same, and there must be one.
    pub fn for_new_work_order(
        self,
        given: Option<String>,
        customers: Option<&str>,
    ) -> Result<Option<String>, FieldError> {
        match self {
            OrderNumberUse::Hidden if given.is_some() => Err(order_number_not_used()),
            OrderNumberUse::Hidden => Ok(None),
            OrderNumberUse::Shown => Ok(given.or_else(|| customers.map(str::to_owned))),
            OrderNumberUse::Required => {
                let number = given.or_else(|| customers.map(str::to_owned));
                number.map(Some).ok_or_else(order_number_required)
            }
        }
    }

    /// A changed order number on an existing work order: refused where it is not used, needed
    /// where it is required (work saved before the setting was turned on can still move).
    pub fn check_changed(self, number: Option<&str>) -> Result<(), FieldError> {
        match (self, number) {
            (OrderNumberUse::Hidden, Some(_)) => Err(order_number_not_used()),
            (OrderNumberUse::Required, None) => Err(order_number_required()),
            _ => Ok(()),
        }
    }
}

fn order_number_not_used() -> FieldError {
    FieldError::new(
        "/orderNumber",
        "not_used",
        "Your organisation does not use the customer's order numbers on work orders (the \
         orderNumber setting is hidden).",
    )
}

fn order_number_required() -> FieldError {
    FieldError::new(
        "/orderNumber",
        "required",
        "Your organisation requires the customer's order number on every work order; give one, \
         or record it on the customer.",
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CustomFieldType {
    Text,
    Number,
    /// ISO 8601 date, "2026-11-23".
    Date,
    YesNo,
    /// One of `options`.
    Choice,
}

/// A field an organisation adds to its customer card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomFieldDef {
    /// The key in `customFields`: letters, digits, `_`, 1 to 40 characters.
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: CustomFieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Retired fields keep their stored values and are no longer required: definitions are
    /// retired, never deleted.
    #[serde(default)]
    pub retired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    pub number_min_length: usize,
    pub number_max_length: usize,
    /// Punctuation allowed in numbers besides letters and digits (e.g. "-").
    pub number_punctuation: String,
    /// Letters allowed in customer numbers at all (accounting systems often take digits only).
    pub number_letters: bool,
    /// Give new customers the next free number when none is sent.
    pub auto_number: bool,
    /// Prefix of generated numbers, e.g. "C-".
    #[serde(default)]
    pub auto_number_prefix: String,
    /// Show the number before the name in `displayName` ("10023 Acme AB").
    pub number_in_display_name: bool,
    pub order_number: OrderNumberUse,
    /// Channels every new customer must have.
    pub required_channels: Vec<Channel>,
    /// ISO 3166 alpha-2: the country of phone numbers typed without a country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_country: Option<String>,
    /// ISO 639-1, given to new customers that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_language: Option<String>,
    pub default_payment_terms: PaymentTerms,
    pub default_currency: String,
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldDef>,
    /// How texts to customers sign ("Rörmokarna AB: ..."); none: they are not signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_name: Option<String>,
    /// IANA time zone the times in texts to customers are written in; none: UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Where texts to customers may go and how many (`sms_policy.rs`); settings saved before
    /// it existed read as its defaults.
    #[serde(default)]
    pub sms_policy: SmsPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            number_min_length: 1,
            number_max_length: 30,
            number_punctuation: "-_./".into(),
            number_letters: true,
            auto_number: false,
            auto_number_prefix: String::new(),
            number_in_display_name: false,
            order_number: OrderNumberUse::Shown,
            required_channels: Vec::new(),
            default_country: None,
            default_language: None,
            default_payment_terms: PaymentTerms::DueOnReceipt,
            default_currency: "EUR".into(),
            custom_fields: Vec::new(),
            organisation_name: None,
            time_zone: None,
            sms_policy: SmsPolicy::default(),
        }
    }
}

/// Longest organisation name a text carries: keeps every text within one SMS segment.
pub const ORGANISATION_NAME_MAX: usize = 30;

const CUSTOM_FIELDS_MAX: usize = 50;
/// The longest customer number any organisation may require.
const NUMBER_LENGTH_MAX: usize = 30;

impl Settings {
    /// Checks the settings themselves; `previous` guards against deleting custom field
    /// definitions (they may only be retired).
    pub fn validate(&mut self, previous: &Settings) -> Result<(), ValidationErrors> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, code: &str, message: String| {
            errors.push(FieldError::new(field, code, message));
        };
        // Generated numbers are drawn at the minimum length: only within the bounds may one be
        // made to check the prefix (a minimum of millions would take the instance's memory).
        let lengths_valid = (1..=self.number_max_length).contains(&self.number_min_length)
            && self.number_max_length <= NUMBER_LENGTH_MAX;
        if self.number_min_length < 1 || self.number_min_length > self.number_max_length {
            fail(
                "/numberMinLength",
                "invalid_range",
                "Between 1 and numberMaxLength.".into(),
            );
        }
        if self.number_max_length > NUMBER_LENGTH_MAX {
            fail("/numberMaxLength", "invalid_range", "At most 30.".into());
        }
        // A set, as the document says (`uniqueItems`): a channel named twice is a mistake.
        for (i, channel) in self.required_channels.iter().enumerate() {
            if self.required_channels[..i].contains(channel) {
                fail(
                    &format!("/requiredChannels/{i}"),
                    "duplicate",
                    "Each channel once.".into(),
                );
            }
        }
        if self
            .number_punctuation
            .chars()
            .any(|c| c.is_alphanumeric() || c.is_whitespace() || c == '#')
        {
            fail(
                "/numberPunctuation",
                "invalid_characters",
                "Punctuation only, without '#'.".into(),
            );
        }
        if self.auto_number_prefix.chars().count() >= self.number_max_length {
            fail(
                "/autoNumberPrefix",
                "too_long",
                "The prefix must leave room for digits.".into(),
            );
        } else if lengths_valid
            && let Err(e) = crate::validate_customer_number(
                &self.generated_number(1),
                &self.context().number_rules,
            )
        {
            fail(
                "/autoNumberPrefix",
                "invalid_customer_number",
                format!(
                    "Generated numbers would break the number rules: {}",
                    e.message
                ),
            );
        }
        self.default_country = self.default_country.take().map(|c| c.to_ascii_uppercase());
        if let Some(country) = &self.default_country
            && !is_country(country)
        {
            fail(
                "/defaultCountry",
                "unknown_country",
                format!("{country:?} is not ISO 3166 alpha-2."),
            );
        }
        self.default_language = self.default_language.take().map(|l| l.to_ascii_lowercase());
        if let Some(language) = &self.default_language
            && !is_language(language)
        {
            fail(
                "/defaultLanguage",
                "unknown_language",
                format!("{language:?} is not ISO 639-1."),
            );
        }
        self.organisation_name = self
            .organisation_name
            .take()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if self
            .organisation_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > ORGANISATION_NAME_MAX)
        {
            fail(
                "/organisationName",
                "too_long",
                format!("At most {ORGANISATION_NAME_MAX} characters: it signs every text."),
            );
        }
        self.time_zone = self
            .time_zone
            .take()
            .map(|z| z.trim().to_owned())
            .filter(|z| !z.is_empty());
        if let Some(zone) = &self.time_zone
            && Zone::named(zone).is_none()
        {
            fail(
                "/timeZone",
                "unknown_time_zone",
                format!("{zone:?} is not an IANA time zone such as Europe/Stockholm."),
            );
        }
        self.default_currency = self.default_currency.to_ascii_uppercase();
        if !is_currency(&self.default_currency) {
            fail(
                "/defaultCurrency",
                "unknown_currency",
                "Not an ISO 4217 code.".into(),
            );
        }
        if !self.default_payment_terms.is_valid() {
            fail(
                "/defaultPaymentTerms",
                "invalid_payment_terms",
                "Net 1 to 365 days.".into(),
            );
        }
        if self.custom_fields.len() > CUSTOM_FIELDS_MAX {
            fail(
                "/customFields",
                "too_many",
                format!("At most {CUSTOM_FIELDS_MAX}."),
            );
        }
        for (i, def) in self.custom_fields.iter().enumerate() {
            let valid_key = (1..=40).contains(&def.key.len())
                && def
                    .key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid_key {
                fail(
                    &format!("/customFields/{i}/key"),
                    "invalid_key",
                    "1 to 40 letters, digits or '_'.".into(),
                );
            }
            if self.custom_fields[..i].iter().any(|d| d.key == def.key) {
                fail(
                    &format!("/customFields/{i}/key"),
                    "duplicate",
                    "Keys are unique.".into(),
                );
            }
            if (def.kind == CustomFieldType::Choice) == def.options.is_empty() {
                fail(
                    &format!("/customFields/{i}/options"),
                    "invalid_options",
                    "Options belong to, and are needed by, choice fields.".into(),
                );
            }
        }
        for old in &previous.custom_fields {
            match self.custom_fields.iter().find(|d| d.key == old.key) {
                None => fail(
                    "/customFields",
                    "definition_removed",
                    format!(
                        "{:?} can be retired, not removed: customers hold values of it.",
                        old.key
                    ),
                ),
                // Stored values were checked against the old definition; they must stay valid.
                Some(new)
                    if new.kind != old.kind
                        || old.options.iter().any(|o| !new.options.contains(o)) =>
                {
                    fail(
                        "/customFields",
                        "definition_changed",
                        format!(
                            "{:?} keeps its type and options (options may be added): customers hold values of it.",
                            old.key
                        ),
                    )
                }
                Some(_) => {}
            }
        }
        self.sms_policy.validate(&mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(errors))
        }
    }

    /// The rules customer validation applies under these settings.
    pub fn context(&self) -> ValidationContext {
        ValidationContext {
            default_country: self.default_country.clone(),
            default_currency: self.default_currency.clone(),
            number_rules: NumberRules {
                min_len: self.number_min_length,
                max_len: self.number_max_length,
                allowed_punctuation: self.number_punctuation.clone(),
                letters: self.number_letters,
            },
            default_language: self.default_language.clone(),
            default_payment_terms: self.default_payment_terms,
            required_channels: self.required_channels.clone(),
            custom_fields: self.custom_fields.clone(),
        }
    }

    /// Whether a text may go to `mobile` (E.164) under the SMS policy: a number of an allowed
    /// country (the policy's, else the default country).
    pub fn text_destination(&self, mobile: &str) -> Result<(), Suppression> {
        let country = crate::phone::country_of(mobile);
        self.sms_policy
            .allows_country(self.default_country.as_deref(), country.as_deref())
            .then_some(())
            .ok_or(Suppression::CountryNotAllowed)
    }

    /// The organisation's time zone (validated on save); UTC without one.
    pub fn zone(&self) -> Zone {
        self.time_zone
            .as_deref()
            .and_then(Zone::named)
            .unwrap_or(Zone::UTC)
    }

    /// The organisation's date at `now`: the day its people call today (time lines of work
    /// orders are dated by it).
    pub fn today(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
        self.zone().local(now).date_naive()
    }

    /// The number for the n-th generated customer: the prefix, then n padded with zeros to
    /// the minimum length.
    pub fn generated_number(&self, n: u64) -> String {
        let digits = self
            .number_min_length
            .saturating_sub(self.auto_number_prefix.chars().count());
        format!("{}{:0digits$}", self.auto_number_prefix, n)
    }
}

/// Checks one custom field value against its definition; `Err` is the reason.
pub fn check_custom_value(def: &CustomFieldDef, value: &Value) -> Result<(), String> {
    match (def.kind, value) {
        (CustomFieldType::Text, Value::String(s)) if s.chars().count() <= 1000 => Ok(()),
        (CustomFieldType::Text, Value::String(_)) => Err("at most 1000 characters".into()),
        // DynamoDB numbers hold 38 significant digits and magnitudes up to 1e125.
        (CustomFieldType::Number, Value::Number(n))
            if n.as_f64()
                .is_some_and(|f| f.abs() < 1e100 && (f == 0.0 || f.abs() > 1e-100))
                && n.to_string().trim_start_matches('-').len() <= 38 =>
        {
            Ok(())
        }
        (CustomFieldType::Number, Value::Number(_)) => {
            Err("a number of at most 38 digits between 1e-100 and 1e100".into())
        }
        (CustomFieldType::YesNo, Value::Bool(_)) => Ok(()),
        (CustomFieldType::Date, Value::String(s))
            if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() =>
        {
            Ok(())
        }
        (CustomFieldType::Date, _) => Err("a date like \"2026-11-23\"".into()),
        (CustomFieldType::Choice, Value::String(s)) if def.options.contains(s) => Ok(()),
        (CustomFieldType::Choice, _) => Err(format!("one of {:?}", def.options)),
        (kind, _) => Err(format!("a value of type {kind:?}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn today_is_the_organisation_s_date() {
        let late = "2026-03-01T23:30:00Z".parse().unwrap();
        let mut settings = Settings::default();
        assert_eq!(settings.today(late).to_string(), "2026-03-01");
        settings.time_zone = Some("Europe/Stockholm".into());
        assert_eq!(settings.today(late).to_string(), "2026-03-02");
    }

    #[test]
    fn order_numbers_on_new_work_orders_follow_the_setting() {
        let given = || Some("PO-1".to_owned());
        assert_eq!(
            OrderNumberUse::Hidden.for_new_work_order(None, Some("PO-9")),
            Ok(None)
        );
        assert!(
            OrderNumberUse::Hidden
                .for_new_work_order(given(), None)
                .is_err()
        );
        assert_eq!(
            OrderNumberUse::Shown.for_new_work_order(None, Some("PO-9")),
            Ok(Some("PO-9".into()))
        );
        assert_eq!(
            OrderNumberUse::Shown.for_new_work_order(None, None),
            Ok(None)
        );
        assert_eq!(
            OrderNumberUse::Required.for_new_work_order(given(), Some("PO-9")),
            Ok(given())
        );
        assert!(
            OrderNumberUse::Required
                .for_new_work_order(None, None)
                .is_err()
        );
        assert!(OrderNumberUse::Hidden.check_changed(Some("PO-1")).is_err());
        assert!(OrderNumberUse::Required.check_changed(None).is_err());
        assert_eq!(OrderNumberUse::Shown.check_changed(None), Ok(()));
    }

    fn def(key: &str, kind: CustomFieldType) -> CustomFieldDef {
        CustomFieldDef {
            key: key.into(),
            label: key.into(),
            kind,
            required: false,
            options: if kind == CustomFieldType::Choice {
                vec!["a".into(), "b".into()]
            } else {
                vec![]
            },
            retired: false,
        }
    }

    #[test]
    fn texts_go_only_to_numbers_of_the_allowed_countries() {
        let mut settings = Settings::default();
        assert_eq!(
            settings.text_destination("+46701234567"),
            Err(Suppression::CountryNotAllowed),
            "a new organisation names no country: no texts until it does"
        );
        settings.default_country = Some("SE".into());
        assert_eq!(settings.text_destination("+46701234567"), Ok(()));
        assert_eq!(
            settings.text_destination("+447400123456"),
            Err(Suppression::CountryNotAllowed)
        );
        settings.sms_policy.countries = Some(vec!["GB".into()]);
        assert_eq!(settings.text_destination("+447400123456"), Ok(()));
        assert_eq!(
            settings.text_destination("+46701234567"),
            Err(Suppression::CountryNotAllowed),
            "the list replaces the default country"
        );
    }

    #[test]
    fn a_bad_sms_policy_is_reported_with_the_other_problems() {
        let mut settings: Settings = serde_json::from_value(json!({
            "numberMinLength": 1, "numberMaxLength": 30, "numberPunctuation": "-",
            "numberLetters": true, "autoNumber": false, "numberInDisplayName": false,
            "orderNumber": "shown", "requiredChannels": [], "defaultPaymentTerms": "net30",
            "defaultCurrency": "XXX", "smsPolicy": {"countries": ["zz"], "dailyLimit": 0}
        }))
        .unwrap();
        assert_eq!(
            settings.sms_policy.daily_limit_per_number, 6,
            "members left out take their defaults"
        );
        let mut saved_before = serde_json::to_value(Settings::default()).unwrap();
        saved_before.as_object_mut().unwrap().remove("smsPolicy");
        let saved_before: Settings = serde_json::from_value(saved_before).unwrap();
        assert_eq!(
            saved_before.sms_policy,
            SmsPolicy::default(),
            "settings saved before the policy existed"
        );
        let fields: Vec<String> = settings
            .validate(&Settings::default())
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "/defaultCurrency",
                "/smsPolicy/countries/0",
                "/smsPolicy/dailyLimit"
            ]
        );
    }

    #[test]
    fn default_settings_are_valid() {
        let mut settings = Settings::default();
        assert!(settings.validate(&Settings::default()).is_ok());
    }

    #[test]
    fn bad_settings_are_all_reported() {
        let mut settings = Settings {
            number_min_length: 0,
            number_punctuation: "a#".into(),
            default_country: Some("xx".into()),
            default_language: Some("zz".into()),
            default_currency: "ABC".into(),
            custom_fields: vec![
                def("Bad key", CustomFieldType::Text),
                def("c", CustomFieldType::Choice),
                def("c", CustomFieldType::Text),
            ],
            ..Settings::default()
        };
        let errors = settings.validate(&Settings::default()).unwrap_err();
        for field in [
            "/numberMinLength",
            "/numberPunctuation",
            "/defaultCountry",
            "/defaultLanguage",
            "/defaultCurrency",
            "/customFields/0/key",
            "/customFields/2/key",
        ] {
            assert!(
                errors.0.iter().any(|e| e.field == field),
                "{field}: {errors:?}"
            );
        }
    }

    #[test]
    fn a_required_channel_named_twice_is_refused() {
        let mut settings = Settings {
            required_channels: vec![Channel::Email, Channel::Mobile, Channel::Email],
            ..Settings::default()
        };
        let errors = settings.validate(&Settings::default()).unwrap_err();
        let found: Vec<(&str, &str)> = errors
            .0
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(found, [("/requiredChannels/2", "duplicate")]);
    }

    #[test]
    fn custom_field_definitions_can_be_retired_but_not_removed() {
        let previous = Settings {
            custom_fields: vec![def("site_code", CustomFieldType::Text)],
            ..Settings::default()
        };
        let mut removed = Settings::default();
        assert_eq!(
            removed.validate(&previous).unwrap_err().0[0].code,
            "definition_removed"
        );
        let mut retired = previous.clone();
        retired.custom_fields[0].retired = true;
        assert!(retired.validate(&previous).is_ok());
    }

    #[test]
    fn a_minimum_length_of_millions_is_refused_without_making_a_number_of_that_length() {
        let mut settings = Settings {
            number_min_length: 67_738_147,
            number_max_length: 31,
            auto_number: true,
            ..Settings::default()
        };
        let errors = settings.validate(&Settings::default()).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["/numberMinLength", "/numberMaxLength"]);
    }

    #[test]
    fn generated_numbers_are_padded_to_the_minimum_length() {
        let settings = Settings {
            number_min_length: 6,
            auto_number_prefix: "C-".into(),
            ..Settings::default()
        };
        assert_eq!(settings.generated_number(7), "C-0007");
        assert_eq!(Settings::default().generated_number(12), "12");
    }

    #[test]
    fn custom_values_are_checked_by_type() {
        assert!(check_custom_value(&def("t", CustomFieldType::Text), &json!("x")).is_ok());
        assert!(check_custom_value(&def("n", CustomFieldType::Number), &json!(2.5)).is_ok());
        assert!(check_custom_value(&def("n", CustomFieldType::Number), &json!("2")).is_err());
        assert!(check_custom_value(&def("n", CustomFieldType::Number), &json!(1e200)).is_err());
        assert!(check_custom_value(&def("n", CustomFieldType::Number), &json!(-12)).is_ok());
        assert!(
            check_custom_value(&def("d", CustomFieldType::Date), &json!("2026-02-30")).is_err()
        );
        assert!(check_custom_value(&def("d", CustomFieldType::Date), &json!("2026-02-28")).is_ok());
        assert!(check_custom_value(&def("y", CustomFieldType::YesNo), &json!(true)).is_ok());
        assert!(check_custom_value(&def("c", CustomFieldType::Choice), &json!("a")).is_ok());
        assert!(check_custom_value(&def("c", CustomFieldType::Choice), &json!("z")).is_err());
    }

    fn person(email: Option<&str>) -> crate::CustomerInput {
        crate::CustomerInput {
            customer_number: Some("1".into()),
            first_name: Some("Anna".into()),
            email: email.map(str::to_owned),
            ..Default::default()
        }
    }

    fn codes(result: Result<crate::CustomerFields, ValidationErrors>) -> Vec<(String, String)> {
        result
            .err()
            .map(|e| e.0.into_iter().map(|e| (e.field, e.code)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn required_channels_apply_to_new_customers() {
        let settings = Settings {
            required_channels: vec![Channel::Email, Channel::Mobile],
            ..Settings::default()
        };
        let ctx = settings.context();
        assert_eq!(
            codes(crate::validate_customer(person(None), &ctx)),
            vec![
                ("/email".into(), "required_channel".into()),
                ("/mobile".into(), "required_channel".into())
            ]
        );
    }

    #[test]
    fn a_rule_added_later_does_not_lock_old_customers_but_keeps_what_they_have() {
        let old = crate::validate_customer(person(None), &ValidationContext::default()).unwrap();
        let settings = Settings {
            required_channels: vec![Channel::Email],
            ..Settings::default()
        };
        let ctx = settings.context();
        let mut edit = old.to_input();
        edit.description = Some("still editable".into());
        assert!(crate::validate_change(&old, edit, &ctx).is_ok());

        let with_email =
            crate::validate_customer(person(Some("a@example.com")), &ValidationContext::default())
                .unwrap();
        let mut remove = with_email.to_input();
        remove.email = None;
        assert_eq!(
            codes(crate::validate_change(&with_email, remove, &ctx)),
            vec![("/email".into(), "required_channel".into())]
        );
    }

    #[test]
    fn custom_field_values_follow_their_definitions() {
        let mut required = def("site_code", CustomFieldType::Text);
        required.required = true;
        let mut retired = def("old_ref", CustomFieldType::Number);
        retired.retired = true;
        retired.required = true;
        let settings = Settings {
            custom_fields: vec![required, def("vip_since", CustomFieldType::Date), retired],
            ..Settings::default()
        };
        let ctx = settings.context();
        let mut input = person(None);
        input.custom_fields = Some(
            [
                ("vip_since".to_owned(), json!("yesterday")),
                ("nope".to_owned(), json!(1)),
            ]
            .into(),
        );
        assert_eq!(
            codes(crate::validate_customer(input, &ctx)),
            vec![
                ("/customFields/nope".into(), "unknown_custom_field".into()),
                (
                    "/customFields/vip_since".into(),
                    "invalid_custom_value".into()
                ),
                (
                    "/customFields/site_code".into(),
                    "required_custom_field".into()
                ),
            ]
        );
        let mut ok = person(None);
        ok.custom_fields = Some(
            [
                ("site_code".to_owned(), json!("A1")),
                ("old_ref".to_owned(), json!(7)),
            ]
            .into(),
        );
        let fields = crate::validate_customer(ok, &ctx).unwrap();
        assert_eq!(
            fields.custom_fields["old_ref"],
            json!(7),
            "retired values are kept"
        );
    }

    #[test]
    fn stricter_number_rules_apply_to_new_numbers_only() {
        let old = crate::validate_customer(person(None), &ValidationContext::default()).unwrap();
        let strict = Settings {
            number_min_length: 5,
            ..Settings::default()
        }
        .context();
        let mut edit = old.to_input();
        edit.description = Some("x".into());
        assert!(
            crate::validate_change(&old, edit.clone(), &strict).is_ok(),
            "the stored number stays"
        );
        edit.customer_number = Some("2".into());
        assert_eq!(
            codes(crate::validate_change(&old, edit, &strict)),
            vec![("/customerNumber".into(), "invalid_customer_number".into())]
        );
    }

    #[test]
    fn defaults_fill_in_on_create_only() {
        let ctx = Settings {
            default_language: Some("sv".into()),
            ..Settings::default()
        }
        .context();
        let new = crate::validate_customer(person(None), &ctx).unwrap();
        assert_eq!(new.language.as_deref(), Some("sv"));
        let old = crate::validate_customer(person(None), &ValidationContext::default()).unwrap();
        let changed = crate::validate_change(&old, old.to_input(), &ctx).unwrap();
        assert_eq!(changed.language, None);
    }

    #[test]
    fn a_custom_field_keeps_its_type_and_options() {
        let previous = Settings {
            custom_fields: vec![def("tier", CustomFieldType::Choice)],
            ..Settings::default()
        };
        let mut retyped = previous.clone();
        retyped.custom_fields[0].kind = CustomFieldType::Text;
        retyped.custom_fields[0].options.clear();
        assert!(
            retyped
                .validate(&previous)
                .unwrap_err()
                .0
                .iter()
                .any(|e| e.code == "definition_changed")
        );
        let mut more = previous.clone();
        more.custom_fields[0].options.push("c".into());
        assert!(more.validate(&previous).is_ok(), "options may be added");
    }

    #[test]
    fn a_prefix_must_fit_the_number_rules() {
        let mut settings = Settings {
            auto_number: true,
            auto_number_prefix: "C-".into(),
            number_letters: false,
            ..Settings::default()
        };
        let errors = settings.validate(&Settings::default()).unwrap_err();
        assert_eq!(errors.0[0].field, "/autoNumberPrefix");
    }
}
