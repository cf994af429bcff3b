//! Contact operations on a customer card.
//!
//! Invariant kept by every operation: when a card has contacts, exactly one is primary, so
//! "who do we call" always has an answer.

use crate::model::*;
use crate::validation::{
    CONTACTS_MAX, FieldError, ValidationContext, ValidationErrors, validate_contact,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("contact not found")]
    NotFound,
    #[error(transparent)]
    Invalid(ValidationErrors),
}

impl From<ValidationErrors> for ContactError {
    fn from(errors: ValidationErrors) -> Self {
        ContactError::Invalid(errors)
    }
}

impl Contact {
    /// The full state of the contact as input, e.g. as the target of a merge patch.
    pub fn to_input(&self) -> ContactInput {
        ContactInput {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            role: self.role.clone(),
            email: self.email.clone(),
            phone: crate::phone::as_input(&self.phone, &self.phone_extension),
            mobile: self.mobile.clone(),
            primary: Some(self.primary),
            send_service_protocols: Some(self.send_service_protocols),
            send_work_orders: Some(self.send_work_orders),
            sms_opt_out: Some(self.sms_opt_out),
        }
    }
}

/// Makes the first contact primary when none is.
pub(crate) fn ensure_primary(contacts: &mut [Contact]) {
    if !contacts.iter().any(|c| c.primary)
        && let Some(first) = contacts.first_mut()
    {
        first.primary = true;
    }
}

fn make_primary(contacts: &mut [Contact], id: &ContactId) {
    for contact in contacts {
        contact.primary = &contact.id == id;
    }
}

impl CustomerFields {
    /// Adds a validated contact and returns its new id. The first contact becomes primary;
    /// a new contact marked primary takes over from the old one.
    pub fn add_contact(
        &mut self,
        input: ContactInput,
        ctx: &ValidationContext,
    ) -> Result<ContactId, ValidationErrors> {
        if self.contacts.len() >= CONTACTS_MAX {
            return Err(FieldError::too_many("/contacts", CONTACTS_MAX).into());
        }
        let contact = validate_contact(input, ContactId::new(), ctx)?;
        let id = contact.id.clone();
        let primary = contact.primary;
        self.contacts.push(contact);
        if primary {
            make_primary(&mut self.contacts, &id);
        }
        ensure_primary(&mut self.contacts);
        Ok(id)
    }

    /// Replaces a contact with `input`, its full new state.
    ///
    /// `primary: true` takes over from the other primary. Explicitly un-marking the primary is
    /// refused: which contact should take over is the caller's decision, not ours. `primary`
    /// left out keeps the contact's current role, so a client that never deals with primaries
    /// cannot demote one by accident.
    pub fn change_contact(
        &mut self,
        id: &ContactId,
        mut input: ContactInput,
        ctx: &ValidationContext,
    ) -> Result<(), ContactError> {
        let index = self.contact_index(id)?;
        let was_primary = self.contacts[index].primary;
        if was_primary && input.primary == Some(false) {
            return Err(ContactError::Invalid(primary_required()));
        }
        input.primary = input.primary.or(Some(was_primary));
        let contact = validate_contact(input, id.clone(), ctx)?;
        let primary = contact.primary;
        self.contacts[index] = contact;
        if primary {
            make_primary(&mut self.contacts, id);
        }
        Ok(())
    }

    /// Removes a contact and returns it; removing the primary promotes the first remaining one.
    pub fn remove_contact(&mut self, id: &ContactId) -> Result<Contact, ContactError> {
        let index = self.contact_index(id)?;
        let removed = self.contacts.remove(index);
        ensure_primary(&mut self.contacts);
        Ok(removed)
    }

    /// The contact with this id, if the card has one.
    pub fn contact(&self, id: &ContactId) -> Option<&Contact> {
        self.contacts.iter().find(|c| &c.id == id)
    }

    fn contact_index(&self, id: &ContactId) -> Result<usize, ContactError> {
        self.contacts
            .iter()
            .position(|c| &c.id == id)
            .ok_or(ContactError::NotFound)
    }

    /// Every field as input, except `contacts: None`: this is the merge-patch target of
    /// PATCH /customers/{id}, and contacts change through their own routes.
    pub fn to_input(&self) -> CustomerInput {
        CustomerInput {
            customer_number: Some(self.customer_number.clone()),
            kind: Some(self.kind),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            company_name: self.company_name.clone(),
            show_company_name_on_documents: Some(self.show_company_name_on_documents),
            organisation_number: self.organisation_number.clone(),
            organisation_number_country: self.organisation_number_country.clone(),
            description: self.description.clone(),
            email: self.email.clone(),
            phone: crate::phone::as_input(&self.phone, &self.phone_extension),
            mobile: self.mobile.clone(),
            sms_opt_out: Some(self.sms_opt_out),
            invoice_email: self.invoice_email.clone(),
            invoice_address: self.invoice_address.clone(),
            visiting_address: self.visiting_address.clone(),
            contacts: None,
            language: self.language.clone(),
            discount_codes: Some(self.discount_codes.clone()),
            cost_centre: self.cost_centre.clone(),
            order_number: self.order_number.clone(),
            tags: Some(self.tags.clone()),
            default_articles: Some(self.default_articles.clone()),
            terms: Some(self.terms.to_input()),
            tier: Some(self.tier),
            on_hold: Some(self.on_hold),
            external_refs: Some(self.external_refs.clone()),
            custom_fields: Some(self.custom_fields.clone()),
        }
    }
}

impl Terms {
    pub fn to_input(&self) -> TermsInput {
        TermsInput {
            payment_type: Some(self.payment_type),
            currency: Some(self.currency.clone()),
            credit_limit: self.credit_limit,
            payment_terms: Some(self.payment_terms),
            open_balance: Some(self.open_balance),
        }
    }
}

fn primary_required() -> ValidationErrors {
    FieldError::new(
        "/primary",
        "primary_required",
        "Make another contact primary instead.",
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::validate_customer;

    fn ctx() -> ValidationContext {
        ValidationContext {
            default_country: Some("SE".into()),
            ..Default::default()
        }
    }

    fn named(name: &str) -> ContactInput {
        ContactInput {
            first_name: Some(name.into()),
            ..Default::default()
        }
    }

    fn primary(name: &str) -> ContactInput {
        ContactInput {
            primary: Some(true),
            ..named(name)
        }
    }

    fn empty_card() -> CustomerFields {
        let input = CustomerInput {
            customer_number: Some("C-1".into()),
            company_name: Some("Acme".into()),
            ..Default::default()
        };
        validate_customer(input, &ctx()).unwrap()
    }

    fn primaries(fields: &CustomerFields) -> Vec<String> {
        let primary = fields.contacts.iter().filter(|c| c.primary);
        primary.map(|c| c.first_name.clone().unwrap()).collect()
    }

    #[test]
    fn first_contact_becomes_primary() {
        let mut card = empty_card();
        card.add_contact(named("Anna"), &ctx()).unwrap();
        card.add_contact(named("Bo"), &ctx()).unwrap();
        assert_eq!(primaries(&card), ["Anna"]);
    }

    #[test]
    fn new_primary_demotes_the_old_one() {
        let mut card = empty_card();
        card.add_contact(named("Anna"), &ctx()).unwrap();
        let bo = card.add_contact(primary("Bo"), &ctx()).unwrap();
        assert_eq!(primaries(&card), ["Bo"]);
        assert!(card.contacts.iter().any(|c| c.id == bo && c.primary));
    }

    #[test]
    fn add_contact_validates() {
        let mut card = empty_card();
        let input = ContactInput {
            email: Some("not-an-email".into()),
            ..Default::default()
        };
        let errors = card.add_contact(input, &ctx()).unwrap_err();
        assert!(errors.contains("/email", "invalid_email"), "{errors}");
        assert!(card.contacts.is_empty());
    }

    #[test]
    fn add_contact_refuses_the_51st() {
        let mut card = empty_card();
        for i in 0..CONTACTS_MAX {
            card.add_contact(named(&format!("C{i}")), &ctx()).unwrap();
        }
        let errors = card.add_contact(named("One too many"), &ctx()).unwrap_err();
        assert!(errors.contains("/contacts", "too_many"));
        assert_eq!(card.contacts.len(), CONTACTS_MAX);
    }

    #[test]
    fn change_contact_replaces_the_state_and_keeps_the_id() {
        let mut card = empty_card();
        let id = card.add_contact(named("Anna"), &ctx()).unwrap();
        let input = ContactInput {
            mobile: Some("070-123 45 67".into()),
            ..named("Annika")
        };
        card.change_contact(&id, input, &ctx()).unwrap();
        let contact = &card.contacts[0];
        assert_eq!(contact.id, id);
        assert_eq!(contact.first_name.as_deref(), Some("Annika"));
        assert_eq!(contact.mobile.as_deref(), Some("+46701234567"));
        assert!(contact.primary, "left-out primary keeps the current role");
    }

    #[test]
    fn change_contact_to_primary_demotes_the_other() {
        let mut card = empty_card();
        card.add_contact(named("Anna"), &ctx()).unwrap();
        let bo = card.add_contact(named("Bo"), &ctx()).unwrap();
        card.change_contact(&bo, primary("Bo"), &ctx()).unwrap();
        assert_eq!(primaries(&card), ["Bo"]);
    }

    #[test]
    fn unmarking_the_primary_is_refused() {
        let mut card = empty_card();
        let anna = card.add_contact(named("Anna"), &ctx()).unwrap();
        card.add_contact(named("Bo"), &ctx()).unwrap();
        let input = ContactInput {
            primary: Some(false),
            ..named("Anna")
        };
        let ContactError::Invalid(errors) = card.change_contact(&anna, input, &ctx()).unwrap_err()
        else {
            panic!("expected a validation error");
        };
        assert_eq!(errors.0[0].field, "/primary");
        assert_eq!(errors.0[0].code, "primary_required");
        assert_eq!(errors.0[0].message, "Make another contact primary instead.");
        assert_eq!(primaries(&card), ["Anna"]);
    }

    #[test]
    fn change_contact_validates() {
        let mut card = empty_card();
        let id = card.add_contact(named("Anna"), &ctx()).unwrap();
        let input = ContactInput {
            phone: Some("12".into()),
            ..named("Anna")
        };
        let ContactError::Invalid(errors) = card.change_contact(&id, input, &ctx()).unwrap_err()
        else {
            panic!("expected a validation error");
        };
        assert!(errors.contains("/phone", "invalid_phone"));
        assert_eq!(card.contacts[0].phone, None);
    }

    #[test]
    fn unknown_contact_is_not_found() {
        let mut card = empty_card();
        let unknown = ContactId::new();
        assert_eq!(
            card.change_contact(&unknown, named("X"), &ctx()),
            Err(ContactError::NotFound)
        );
        assert_eq!(card.remove_contact(&unknown), Err(ContactError::NotFound));
    }

    #[test]
    fn removing_the_primary_promotes_the_first_remaining() {
        let mut card = empty_card();
        card.add_contact(named("Anna"), &ctx()).unwrap();
        card.add_contact(named("Bo"), &ctx()).unwrap();
        let cleo = card.add_contact(primary("Cleo"), &ctx()).unwrap();
        let removed = card.remove_contact(&cleo).unwrap();
        assert_eq!(removed.first_name.as_deref(), Some("Cleo"));
        assert_eq!(primaries(&card), ["Anna"]);
    }

    #[test]
    fn removing_another_contact_keeps_the_primary() {
        let mut card = empty_card();
        card.add_contact(named("Anna"), &ctx()).unwrap();
        let bo = card.add_contact(primary("Bo"), &ctx()).unwrap();
        let cleo = card.add_contact(named("Cleo"), &ctx()).unwrap();
        card.remove_contact(&cleo).unwrap();
        assert_eq!(primaries(&card), ["Bo"]);
        card.remove_contact(&bo).unwrap();
        assert_eq!(primaries(&card), ["Anna"]);
    }

    #[test]
    fn removing_the_last_contact_leaves_none() {
        let mut card = empty_card();
        let anna = card.add_contact(named("Anna"), &ctx()).unwrap();
        card.remove_contact(&anna).unwrap();
        assert!(card.contacts.is_empty());
    }

    #[test]
    fn contact_to_input_round_trips() {
        let input = ContactInput {
            first_name: Some("Anna".into()),
            last_name: Some("Berg".into()),
            role: Some("Site manager".into()),
            email: Some("anna@example.com".into()),
            phone: Some("+46812345678".into()),
            mobile: Some("+46701234567".into()),
            primary: Some(true),
            send_service_protocols: Some(true),
            send_work_orders: Some(false),
            sms_opt_out: Some(true),
        };
        let contact = validate_contact(input.clone(), ContactId::new(), &ctx()).unwrap();
        assert_eq!(contact.to_input(), input);
    }

    fn full_input() -> CustomerInput {
        serde_json::from_value(serde_json::json!({
            "customerNumber": " K-100 ",
            "kind": "company",
            "firstName": "  Åsa   Maria ",
            "lastName": "Öberg",
            "companyName": "Öberg  Bygg AB",
            "showCompanyNameOnDocuments": true,
            "description": "Roofing, mostly.",
            "email": "Info@Oberg-Bygg.SE",
            "phone": "08-123 456 78",
            "mobile": "070 123 45 67",
            "invoiceEmail": "faktura@oberg-bygg.se",
            "invoiceAddress": {"line1": "Box 12", "postalCode": "111 22", "city": "Stockholm", "country": "se"},
            "visitingAddress": {"line1": "Storgatan 1", "line2": " ", "city": "Stockholm", "region": "Stockholms län", "country": "SE"},
            "contacts": [
                {"firstName": "Bo", "email": "bo@oberg-bygg.se", "sendWorkOrders": true},
                {"lastName": "Ek", "mobile": "+46 70 765 43 21", "primary": true, "role": "Owner"}
            ],
            "language": "SV",
            "discountCodes": ["SPRING", "SPRING", "B2B"],
            "costCentre": "CC-1",
            "orderNumber": "PO-9",
            "tags": ["roof", "Roof", "vip"],
            "defaultArticles": [
                {"articleNumber": "A-1", "kind": "service", "quantity": "2,5", "unit": "h"},
                {"articleNumber": "A-2", "description": "Travel", "kind": "workOrder", "quantity": "1"}
            ],
            "terms": {"paymentType": "account", "currency": "sek", "creditLimit": 5000000, "paymentTerms": "net30", "openBalance": -1200},
            "tier": "vip",
            "onHold": true,
            "externalRefs": [{"system": "visma", "id": "V-77"}, {"system": "sage", "id": "S-1"}]
        }))
        .unwrap()
    }

    #[test]
    fn customer_to_input_round_trips() {
        let fields = validate_customer(full_input(), &ctx()).unwrap();
        let mut input = fields.to_input();
        assert_eq!(input.contacts, None);
        input.contacts = Some(fields.contacts.iter().map(Contact::to_input).collect());
        let mut again = validate_customer(input, &ctx()).unwrap();
        // Validation gives contacts fresh ids; the ids are not part of the card's content.
        for (new, old) in again.contacts.iter_mut().zip(&fields.contacts) {
            new.id = old.id.clone();
        }
        assert_eq!(again, fields);
    }

    #[test]
    fn customer_to_input_round_trips_through_json() {
        let fields = validate_customer(full_input(), &ctx()).unwrap();
        let json = serde_json::to_string(&fields.to_input()).unwrap();
        let input: CustomerInput = serde_json::from_str(&json).unwrap();
        let mut again = validate_customer(input, &ctx()).unwrap();
        again.contacts = fields.contacts.clone();
        assert_eq!(again, fields);
    }

    #[test]
    fn to_input_sets_every_field_but_contacts() {
        let fields = validate_customer(full_input(), &ctx()).unwrap();
        let value = serde_json::to_value(fields.to_input()).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 25, "{keys:?}");
        assert!(!keys.contains(&"contacts"));
    }
}
