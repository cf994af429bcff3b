#![no_main]
//! Arbitrary bytes as the body of `PATCH /customers/{id}`: a JSON merge patch, refused or
//! applied to a stored card and the result validated as a change, as the update handler does.
//!
//! Beyond "never panics": a merge patch is idempotent, so the same patch sent again to the
//! card it produced gives that card back (a retried PATCH changes nothing more).

use std::sync::LazyLock;

use domain::{CustomerFields, CustomerInput, merge_patch, validate_change, validate_customer};
use fuzzing::{RULES, from_value, parse_json};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The card of docs/api.md's create example, with a custom field and both addresses, so
/// that patches reach nested objects and maps that exist.
static STORED: LazyLock<CustomerFields> = LazyLock::new(|| {
    let input: CustomerInput = serde_json::from_str(
        r#"{
            "customerNumber": "C-1001", "companyName": "Nordic Heating AB",
            "email": "office@nordicheating.se", "phone": "+46 8 123 456 78", "language": "sv",
            "visitingAddress": {"line1": "Storgatan 1", "postalCode": "123 45",
                                "city": "Stockholm", "country": "SE"},
            "invoiceAddress": {"line1": "Box 12", "city": "Stockholm", "country": "SE"},
            "tags": ["priority"], "customFields": {"gateCode": "4711", "floors": 3},
            "terms": {"paymentType": "account", "currency": "SEK", "creditLimit": 5000000,
                      "paymentTerms": "net30"}
        }"#,
    )
    .expect("the stored card parses");
    validate_customer(input, &RULES).expect("the stored card is valid")
});

fuzz_target!(|body: &[u8]| {
    let Some(patch) = parse_json::<Value>(body) else {
        return;
    };
    if !is_patchable(&patch) {
        return;
    }
    let Some(once) = update(&STORED, &patch) else {
        return;
    };
    let twice = update(&once, &patch).expect("a patch that applied once applies again");
    assert_eq!(twice, once, "the same patch again changes the card again");
});

/// The update handler's `refuse_unpatchable`: an object, without the members that have
/// routes of their own.
fn is_patchable(patch: &Value) -> bool {
    patch.as_object().is_some_and(|members| {
        !members.contains_key("customerNumber") && !members.contains_key("contacts")
    })
}

/// The update handler's change: the card's input, patched, read back as an input and
/// validated as a change; the contacts are kept as they were.
fn update(before: &CustomerFields, patch: &Value) -> Option<CustomerFields> {
    let mut target = serde_json::to_value(before.to_input()).expect("a card serialises");
    merge_patch::apply(&mut target, patch);
    let input: CustomerInput = from_value(target)?;
    let mut after = validate_change(before, input, &RULES).ok()?;
    after.contacts = before.contacts.clone();
    Some(after)
}
