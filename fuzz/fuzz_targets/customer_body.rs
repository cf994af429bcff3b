#![no_main]
//! Arbitrary bytes as the body of `POST /customers`: parsed as the API parses it, validated
//! with the organisation's rules.
//!
//! Beyond "never panics": a valid card, turned back into an input (as the API does before a
//! merge patch, contacts aside) and sent as JSON again, validates to the same card, both as a
//! create and as a change of itself (a patch that changes nothing writes nothing).

use domain::{CustomerInput, validate_customer};
use fuzzing::{RULES, changed_again, created_again, parse_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Some(input) = parse_json::<CustomerInput>(body) else {
        return;
    };
    let Ok(fields) = validate_customer(input, &RULES) else {
        return;
    };
    let resent = serde_json::to_vec(&fields.to_input()).expect("an input serialises");
    let input: CustomerInput = parse_json(&resent).expect("a card's own input parses");
    assert_eq!(
        created_again(&fields, input.clone(), &RULES).as_ref(),
        Ok(&fields),
        "a valid card sent again is another card"
    );
    assert_eq!(
        changed_again(&fields, input, &RULES).as_ref(),
        Ok(&fields),
        "a card changed to itself is another card"
    );
});
