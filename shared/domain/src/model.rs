//! The customer record as MISSION.md describes it.
//!
//! Two shapes: [`CustomerInput`] is what a caller may send (every field optional, unknown fields
//! refused), [`CustomerFields`] is the validated, normalised result. Both serialise to the same
//! camelCase JSON, so a stored customer can be turned back into an input, merge-patched and
//! validated again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The id of a record as we make them (customers, contacts, sites, contracts, work orders, jobs,
/// tickets, imports): a ULID, 26 characters. Anything else cannot name a record, and nothing
/// longer may reach a key (DynamoDB refuses keys past 2048 bytes, and the API would answer 500):
/// `None`. ULIDs are case-insensitive; the answer is the canonical (upper-case) form.
pub fn record_id(raw: &str) -> Option<String> {
    ulid::Ulid::from_string(raw).ok().map(|id| id.to_string())
}

/// An id in a body that names a record: exactly as records are stored ([`record_id`]'s form).
pub fn is_record_id(raw: &str) -> bool {
    record_id(raw).as_deref() == Some(raw)
}

/// A customer id: a ULID, so ids sort by creation time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerId(pub String);

impl CustomerId {
    pub fn new() -> Self {
        Self(ulid::Ulid::new().to_string())
    }
}

impl Default for CustomerId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for CustomerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A contact id, unique within its customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContactId(pub String);

impl ContactId {
    pub fn new() -> Self {
        Self(ulid::Ulid::new().to_string())
    }
}

impl Default for ContactId {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum CustomerKind {
    #[default]
    Person,
    Company,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum CustomerStatus {
    #[default]
    Active,
    Inactive,
    /// Merged into another card (`Customer::merged_into`): final, read-only, in no list; its
    /// records move to the survivor (see `merge`).
    Merged,
}

impl CustomerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::Active => "active",
            CustomerStatus::Inactive => "inactive",
            CustomerStatus::Merged => "merged",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Tier {
    #[default]
    Regular,
    Vip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum PaymentType {
    /// Credit customers: invoiced, with a credit limit from the accounting system.
    Account,
    /// Pays at call-off or on delivery for every job.
    #[default]
    Cash,
}

/// Payment terms. Serialised as `"dueOnReceipt"` or `"net30"` (net N days, 1..=365).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaymentTerms {
    #[default]
    DueOnReceipt,
    Net(u16),
}

impl PaymentTerms {
    /// The longest net period accepted; a year is already far beyond any real invoice term.
    pub const MAX_NET_DAYS: u16 = 365;

    /// False for `Net(0)` or a net period over [`Self::MAX_NET_DAYS`], which can be built in code
    /// but never parsed from JSON.
    pub fn is_valid(self) -> bool {
        match self {
            PaymentTerms::DueOnReceipt => true,
            PaymentTerms::Net(days) => (1..=Self::MAX_NET_DAYS).contains(&days),
        }
    }
}

impl std::fmt::Display for PaymentTerms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaymentTerms::DueOnReceipt => f.write_str("dueOnReceipt"),
            PaymentTerms::Net(days) => write!(f, "net{days}"),
        }
    }
}

/// Why a payment-terms string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid payment terms {0:?}: expected \"dueOnReceipt\" or \"netN\" with N a whole number of days from 1 to 365, e.g. \"net30\""
)]
pub struct InvalidPaymentTerms(pub String);

impl std::str::FromStr for PaymentTerms {
    type Err = InvalidPaymentTerms;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "dueOnReceipt" {
            return Ok(PaymentTerms::DueOnReceipt);
        }
        let refuse = || InvalidPaymentTerms(s.to_owned());
        let digits = s.strip_prefix("net").ok_or_else(refuse)?;
        // Only canonical spellings ("net7", not "net07" or "net+7"), so that a stored value
        // always serialises back to exactly what was read.
        let canonical = !digits.is_empty()
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if !canonical {
            return Err(refuse());
        }
        let days: u16 = digits.parse().map_err(|_| refuse())?;
        let terms = PaymentTerms::Net(days);
        if terms.is_valid() {
            Ok(terms)
        } else {
            Err(refuse())
        }
    }
}

impl Serialize for PaymentTerms {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PaymentTerms {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TermsVisitor;

        impl serde::de::Visitor<'_> for TermsVisitor {
            type Value = PaymentTerms;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("\"dueOnReceipt\" or \"netN\" with N from 1 to 365")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PaymentTerms, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(TermsVisitor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ArticleKind {
    /// Added automatically to new service protocols of this customer.
    Service,
    /// Added automatically to new work orders of this customer.
    WorkOrder,
}

/// What an article charges for: hours worked (`time`, its quantity in hours; a time line of a
/// work order is dated the day its hours are entered), or anything else (`item`: material, a
/// fixed cost such as travel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum ArticleType {
    #[default]
    Item,
    Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccountingSystem {
    Quickbooks,
    Sage,
    Visma,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A contact as the caller sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// Send service protocols to this contact's e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_service_protocols: Option<bool>,
    /// Send work orders to this contact's e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_work_orders: Option<bool>,
    /// The contact asked not to get texts (SMS) about visits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_opt_out: Option<bool>,
}

/// A validated contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub id: ContactId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The extension dialled after `phone` (digits), when it has one, as on the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_extension: Option<String>,
    /// E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    pub primary: bool,
    pub send_service_protocols: bool,
    pub send_work_orders: bool,
    /// No texts about visits to this contact: asked for, or reported by SNS's opt-out list.
    #[serde(default)]
    pub sms_opt_out: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DefaultArticle {
    pub article_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub kind: ArticleKind,
    /// Cards stored before article types existed hold items.
    #[serde(default)]
    pub article_type: ArticleType,
    /// A decimal string with at most three decimals, e.g. "1", "0", "2.5" (hours or units).
    /// A string, not a float, so that quantities round-trip exactly.
    pub quantity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Per unit, in minor units of the customer's currency; none: priced later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalRef {
    pub system: AccountingSystem,
    pub id: String,
}

/// Commercial terms as the caller sends them. Amounts are integers in the currency's minor unit
/// (öre, cents): money is never a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TermsInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_type: Option<PaymentType>,
    /// ISO 4217, e.g. "SEK".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_terms: Option<PaymentTerms>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_balance: Option<i64>,
}

/// Validated commercial terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Terms {
    pub payment_type: PaymentType,
    pub currency: String,
    /// Minor units. `None`: no limit recorded (the call-off rule then does not restrict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_limit: Option<i64>,
    pub payment_terms: PaymentTerms,
    /// Minor units; may be negative (a credit balance).
    pub open_balance: i64,
}

/// What a caller may send to create a customer, and the target of a merge patch.
/// Status, id, version and audit fields are not in here: they have their own routes or are
/// ours to set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CustomerKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Show the company name instead of the person on estimates and invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_company_name_on_documents: Option<bool>,
    /// The organisation or VAT number (see `orgnumber`), unique within the organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_number: Option<String>,
    /// The country whose rule the number is checked by; without it, a VAT prefix, the invoice
    /// or visiting address's country, or the organisation's default country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_number_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// The customer asked not to get texts (SMS) about visits on the card's own mobile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_opt_out: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visiting_address: Option<Address>,
    /// Only on create; afterwards contacts have their own routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<ContactInput>>,
    /// ISO 639-1, e.g. "sv".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_codes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_centre: Option<String>,
    /// The customer's own order number / reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_articles: Option<Vec<DefaultArticle>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<TermsInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_hold: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_refs: Option<Vec<ExternalRef>>,
    /// Values of the organisation's custom fields, by key; `null` removes a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// The validated, normalised customer card (everything but identity, status and audit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerFields {
    pub customer_number: String,
    pub kind: CustomerKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    pub show_company_name_on_documents: bool,
    /// Canonical: "556036-0793", "923609016", "SE556036079301" (see `orgnumber`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_number: Option<String>,
    /// ISO 3166-1 alpha-2 of the country whose rule the number passed; set with the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_number_country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Trimmed; domain part lower-cased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The extension dialled after `phone` (digits), when it has one. Never texted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_extension: Option<String>,
    /// E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// No texts about visits to the card's own mobile: asked for, or reported by SNS's opt-out
    /// list. Contacts have their own.
    #[serde(default)]
    pub sms_opt_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visiting_address: Option<Address>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default)]
    pub discount_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_centre: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub default_articles: Vec<DefaultArticle>,
    pub terms: Terms,
    pub tier: Tier,
    pub on_hold: bool,
    #[serde(default)]
    pub external_refs: Vec<ExternalRef>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub custom_fields: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A stored customer: the card plus identity, status, version and audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: CustomerId,
    pub status: CustomerStatus,
    /// Starts at 1, +1 on every change; the ETag is derived from it.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    /// Users responsible for this customer (technicians), by user id; see `assignments`.
    #[serde(default)]
    pub assignees: Vec<String>,
    /// Sites linked to this customer; kept by the site routes in the transaction that links or
    /// unlinks one, so every list row can show it without counting.
    #[serde(default)]
    pub sites_count: u32,
    /// The card this one was merged into (status `merged`); absent on every other card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<CustomerId>,
    /// Who erased the customer and when (`crate::erasure`); an erased customer never changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<crate::erasure::Erasure>,
    #[serde(flatten)]
    pub fields: CustomerFields,
}

impl Customer {
    /// A new, active customer at version 1, created by `user` at `now`.
    pub fn new(fields: CustomerFields, user: &str, now: DateTime<Utc>) -> Self {
        Self {
            id: CustomerId::new(),
            status: CustomerStatus::Active,
            version: 1,
            created_at: now,
            created_by: user.to_owned(),
            updated_at: now,
            updated_by: user.to_owned(),
            assignees: Vec::new(),
            sites_count: 0,
            merged_into: None,
            erased: None,
            fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_terms_serialise_as_strings() {
        assert_eq!(
            serde_json::to_string(&PaymentTerms::DueOnReceipt).unwrap(),
            r#""dueOnReceipt""#
        );
        assert_eq!(
            serde_json::to_string(&PaymentTerms::Net(30)).unwrap(),
            r#""net30""#
        );
    }

    #[test]
    fn payment_terms_round_trip() {
        for terms in [
            PaymentTerms::DueOnReceipt,
            PaymentTerms::Net(1),
            PaymentTerms::Net(30),
            PaymentTerms::Net(365),
        ] {
            let json = serde_json::to_string(&terms).unwrap();
            assert_eq!(serde_json::from_str::<PaymentTerms>(&json).unwrap(), terms);
        }
    }

    #[test]
    fn payment_terms_refuse_anything_else() {
        for bad in [
            r#""net0""#,
            r#""net366""#,
            r#""net""#,
            r#""net-5""#,
            r#""net+5""#,
            r#""net07""#,
            r#""Net30""#,
            r#""net 30""#,
            r#""net99999""#,
            r#""dueonreceipt""#,
            r#""""#,
            "30",
            "null",
        ] {
            let err = serde_json::from_str::<PaymentTerms>(bad).unwrap_err();
            assert!(err.to_string().contains("dueOnReceipt"), "{bad}: {err}");
        }
    }

    #[test]
    fn payment_terms_error_names_the_value() {
        let err = serde_json::from_str::<TermsInput>(r#"{"paymentTerms": "net400"}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains(r#"invalid payment terms "net400""#),
            "{err}"
        );
    }

    #[test]
    fn payment_terms_validity() {
        assert!(PaymentTerms::DueOnReceipt.is_valid());
        assert!(PaymentTerms::Net(365).is_valid());
        assert!(!PaymentTerms::Net(0).is_valid());
        assert!(!PaymentTerms::Net(366).is_valid());
    }

    #[test]
    fn customer_input_refuses_unknown_fields() {
        let err =
            serde_json::from_str::<CustomerInput>(r#"{"customerNumber": "1", "nickname": "x"}"#)
                .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `nickname`"),
            "{err}"
        );
    }

    #[test]
    fn nested_inputs_refuse_unknown_fields() {
        for json in [
            r#"{"contacts": [{"firstName": "A", "fax": "1"}]}"#,
            r#"{"terms": {"creditLimit": 1, "limit": 2}}"#,
            r#"{"invoiceAddress": {"street": "x"}}"#,
            r#"{"status": "inactive"}"#,
        ] {
            assert!(
                serde_json::from_str::<CustomerInput>(json).is_err(),
                "{json}"
            );
        }
    }

    #[test]
    fn customer_input_accepts_an_empty_object() {
        assert_eq!(
            serde_json::from_str::<CustomerInput>("{}").unwrap(),
            CustomerInput::default()
        );
    }
}
