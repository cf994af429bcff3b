//! Customer sites: the places where work is done for a customer (a house, a customer-owned yard
//! or plant). A site belongs to one customer; linking one counts on the customer's card
//! (`sitesCount`) and in its history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Address, Contact, ContactId, ContactInput, CustomerFields, CustomerId};

/// The longest site name.
pub const SITE_NAME_MAX: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum SiteStatus {
    #[default]
    Active,
    Inactive,
    /// Let go by the customer after work was done there: kept, read-only, so that the work
    /// stays traceable (its name and address as they were). Never set by a change: unlinking
    /// (DELETE) sets it; a site no record names is deleted instead.
    Unlinked,
}

impl SiteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SiteStatus::Active => "active",
            SiteStatus::Inactive => "inactive",
            SiteStatus::Unlinked => "unlinked",
        }
    }
}

/// A site as the caller sends it: on create (`name` required) and, merged with the stored
/// site, on change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SiteInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_owned: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SiteStatus>,
}

/// The validated, editable part of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteFields {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// The customer's own property (a yard, a plant), not just a place it orders work at.
    #[serde(default)]
    pub customer_owned: bool,
    #[serde(default)]
    pub status: SiteStatus,
}

impl SiteFields {
    /// The fields as input again, for a merge patch.
    pub fn to_input(&self) -> SiteInput {
        SiteInput {
            name: Some(self.name.clone()),
            address: self.address.clone(),
            contact: self.contact.as_ref().map(Contact::to_input),
            customer_owned: Some(self.customer_owned),
            status: Some(self.status),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Site {
    /// A ULID: a customer's sites sort by creation.
    pub id: String,
    pub customer_id: CustomerId,
    #[serde(flatten)]
    pub fields: SiteFields,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub version: u64,
}

impl Site {
    /// A new site of `customer` at version 1.
    pub fn new(customer: CustomerId, fields: SiteFields, user: &str, now: DateTime<Utc>) -> Self {
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

/// Who to call at a new site when the caller names nobody: the customer's primary contact,
/// else the customer itself (its name, e-mail and numbers). Values are already validated.
pub fn contact_from_customer(customer: &CustomerFields) -> Option<Contact> {
    if let Some(primary) = customer.contacts.iter().find(|c| c.primary) {
        return Some(Contact {
            id: ContactId::new(),
            ..primary.clone()
        });
    }
    let (first_name, last_name) = match (&customer.first_name, &customer.last_name) {
        (None, None) => (None, customer.company_name.clone()),
        (first, last) => (first.clone(), last.clone()),
    };
    let contact = Contact {
        id: ContactId::new(),
        first_name,
        last_name,
        role: None,
        email: customer.email.clone(),
        phone: customer.phone.clone(),
        phone_extension: customer.phone_extension.clone(),
        mobile: customer.mobile.clone(),
        primary: true,
        send_service_protocols: false,
        send_work_orders: false,
        sms_opt_out: false,
    };
    let reachable = contact.first_name.is_some()
        || contact.last_name.is_some()
        || contact.email.is_some()
        || contact.phone.is_some()
        || contact.mobile.is_some();
    reachable.then_some(contact)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CustomerInput, ValidationContext, validate_customer, validate_site};

    fn card(input: serde_json::Value) -> CustomerFields {
        let input: CustomerInput = serde_json::from_value(input).unwrap();
        validate_customer(input, &ValidationContext::default()).unwrap()
    }

    fn site(input: serde_json::Value, prefill: Option<Contact>) -> Result<SiteFields, Vec<String>> {
        let input: SiteInput = serde_json::from_value(input).unwrap();
        validate_site(input, prefill, &ValidationContext::default()).map_err(|e| {
            e.0.into_iter()
                .map(|f| format!("{} {}", f.field, f.code))
                .collect()
        })
    }

    #[test]
    fn the_primary_contact_is_whom_a_new_site_calls() {
        let fields = card(serde_json::json!({
            "customerNumber": "1", "companyName": "Berg AB", "email": "info@berg.se",
            "contacts": [{"firstName": "A", "email": "a@berg.se"},
                         {"firstName": "B", "mobile": "+46701234567", "primary": true}]}));
        let contact = contact_from_customer(&fields).unwrap();
        assert_eq!(contact.first_name.as_deref(), Some("B"));
        assert_eq!(contact.mobile.as_deref(), Some("+46701234567"));
        assert_ne!(
            Some(&contact.id),
            fields.contacts.get(1).map(|c| &c.id),
            "its own id"
        );
    }

    #[test]
    fn without_contacts_the_customer_itself_is_the_contact() {
        let company = card(
            serde_json::json!({"customerNumber": "1", "companyName": "Berg AB",
                                              "phone": "+4681234567"}),
        );
        let contact = contact_from_customer(&company).unwrap();
        assert_eq!(contact.last_name.as_deref(), Some("Berg AB"));
        assert_eq!(contact.phone.as_deref(), Some("+4681234567"));
        let person = card(serde_json::json!({"customerNumber": "2", "firstName": "Bo"}));
        assert_eq!(
            contact_from_customer(&person)
                .unwrap()
                .first_name
                .as_deref(),
            Some("Bo")
        );
    }

    #[test]
    fn a_site_needs_a_name_and_valid_details() {
        assert_eq!(
            site(serde_json::json!({}), None),
            Err(vec!["/name required".into()])
        );
        let errors = site(
            serde_json::json!({"name": "x".repeat(201), "address": {"country": "XX"},
                               "contact": {"email": "nope"}}),
            None,
        )
        .unwrap_err();
        assert!(errors.contains(&"/name too_long".into()), "{errors:?}");
        assert!(
            errors.contains(&"/address/country unknown_country".into()),
            "{errors:?}"
        );
        assert!(
            errors.contains(&"/contact/email invalid_email".into()),
            "{errors:?}"
        );
    }

    #[test]
    fn a_given_contact_wins_over_the_prefilled_one() {
        let prefilled = contact_from_customer(&card(
            serde_json::json!({"customerNumber": "1", "firstName": "Bo"}),
        ));
        let given = site(
            serde_json::json!({"name": "Yard", "contact": {"firstName": "Lo"}}),
            prefilled.clone(),
        )
        .unwrap();
        assert_eq!(given.contact.unwrap().first_name.as_deref(), Some("Lo"));
        let kept = site(serde_json::json!({"name": "Yard"}), prefilled).unwrap();
        assert_eq!(kept.contact.unwrap().first_name.as_deref(), Some("Bo"));
        assert_eq!(kept.status, SiteStatus::Active);
        assert!(!kept.customer_owned);
    }
}
