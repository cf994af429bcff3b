#![no_main]
//! Arbitrary bytes as the body of every other create route: a contact, a site, a contract, a
//! work order, a job, a ticket, and the settings. Each body is tried as each of them, parsed
//! as the API parses it and validated as its handler validates it.
//!
//! Beyond "never panics": a valid record turned back into its input (as the API does before a
//! merge patch) validates to the same record, so a patch that changes nothing writes nothing;
//! valid settings stay valid and unchanged when saved again, and their generated customer
//! numbers pass their own number rules.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use domain::{
    ContactInput, ContractInput, CustomerFields, CustomerInput, JobInput, Settings, SiteInput,
    TicketInput, WorkOrderInput, contact_from_customer, validate_contract, validate_customer,
    validate_customer_number, validate_job, validate_site, validate_ticket, validate_work_order,
};
use fuzzing::{RULES, parse_json};
use libfuzzer_sys::fuzz_target;

/// A company customer with a primary contact, which sites are pre-filled from.
static CUSTOMER: LazyLock<CustomerFields> = LazyLock::new(|| {
    let input: CustomerInput = serde_json::from_str(
        r#"{"customerNumber": "C-1001", "companyName": "Nordic Heating AB",
            "contacts": [{"firstName": "Åsa", "lastName": "Öberg",
                          "mobile": "+46 70 123 45 67"}]}"#,
    )
    .expect("the customer parses");
    validate_customer(input, &RULES).expect("the customer is valid")
});

/// A fixed clock: a ticket's date rules are judged against it, and a run must be repeatable.
static NOW: LazyLock<DateTime<Utc>> = LazyLock::new(|| {
    DateTime::parse_from_rfc3339("2025-03-12T10:00:00Z")
        .expect("a timestamp")
        .with_timezone(&Utc)
});

fuzz_target!(|body: &[u8]| {
    check_contact(body);
    check_site(body);
    check_contract(body);
    check_work_order(body);
    check_job(body);
    check_ticket(body);
    check_settings(body);
});

fn check_contact(body: &[u8]) {
    let Some(input) = parse_json::<ContactInput>(body) else {
        return;
    };
    let mut customer = CUSTOMER.clone();
    let Ok(id) = customer.add_contact(input, &RULES) else {
        return;
    };
    let added = customer
        .contact(&id)
        .expect("the contact was added")
        .clone();
    customer
        .change_contact(&id, added.to_input(), &RULES)
        .expect("a contact changed to itself is valid");
    assert_eq!(
        customer.contact(&id),
        Some(&added),
        "a contact changed to itself is another contact"
    );
}

fn check_site(body: &[u8]) {
    let Some(input) = parse_json::<SiteInput>(body) else {
        return;
    };
    let prefilled = contact_from_customer(&CUSTOMER);
    let Ok(site) = validate_site(input, prefilled, &RULES) else {
        return;
    };
    // As the change handler does: validated without a contact to keep, then the contact keeps
    // its id.
    let again = validate_site(site.to_input(), None, &RULES).map(|mut again| {
        if let (Some(after), Some(before)) = (&mut again.contact, &site.contact) {
            after.id = before.id.clone();
        }
        again
    });
    assert_eq!(
        again.as_ref(),
        Ok(&site),
        "a site changed to itself is another site"
    );
}

fn check_contract(body: &[u8]) {
    let Some(input) = parse_json::<ContractInput>(body) else {
        return;
    };
    let Ok(contract) = validate_contract(input) else {
        return;
    };
    let again = validate_contract(contract.to_input());
    assert_eq!(
        again.as_ref(),
        Ok(&contract),
        "a contract changed to itself is another"
    );
}

fn check_work_order(body: &[u8]) {
    let Some(input) = parse_json::<WorkOrderInput>(body) else {
        return;
    };
    let Ok(order) = validate_work_order(input) else {
        return;
    };
    let again = validate_work_order(order.to_input());
    assert_eq!(
        again.as_ref(),
        Ok(&order),
        "a work order changed to itself is another"
    );
}

fn check_job(body: &[u8]) {
    let Some(input) = parse_json::<JobInput>(body) else {
        return;
    };
    let Ok(job) = validate_job(input) else {
        return;
    };
    let again = validate_job(job.to_input());
    assert_eq!(
        again.as_ref(),
        Ok(&job),
        "a job changed to itself is another job"
    );
}

/// Tickets are never changed, only recorded: parsing and validation must just hold up.
fn check_ticket(body: &[u8]) {
    if let Some(input) = parse_json::<TicketInput>(body) {
        let _ = validate_ticket(input, *NOW);
    }
}

fn check_settings(body: &[u8]) {
    let Some(mut settings) = parse_json::<Settings>(body) else {
        return;
    };
    if settings.validate(&Settings::default()).is_err() {
        return;
    }
    let saved = settings.clone();
    settings
        .validate(&saved)
        .expect("valid settings saved again are valid");
    assert_eq!(settings, saved, "valid settings change when saved again");
    let rules = settings.context().number_rules;
    let generated = settings.generated_number(1);
    assert_eq!(
        validate_customer_number(&generated, &rules).as_deref(),
        Ok(generated.as_str()),
        "a generated number breaks the settings' own number rules"
    );
}
