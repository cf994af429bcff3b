//! What the fuzz targets share: the API's way of reading a JSON body and the organisation the
//! inputs are judged for.

use std::sync::LazyLock;

use domain::{
    CustomerFields, CustomerInput, Settings, ValidationContext, ValidationErrors, validate_change,
    validate_customer,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The API's strict JSON reading (duplicate members refused, structs read from objects only),
/// compiled in from its own source so that the fuzzed code is the deployed code. It needs
/// only serde; the rest of customers-api pulls in the AWS SDK, which an instrumented build
/// must not compile.
#[path = "../../functions/customers-api/src/strict_json.rs"]
mod strict_json;

/// The API's `http::parse_json` (functions/customers-api/src/http.rs) minus the problem
/// documents: the body read into a value refusing duplicates, then into `T` strictly.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    if bytes.is_empty() {
        return None;
    }
    let value = strict_json::parse(bytes).ok()?;
    from_value(value)
}

/// The API's `http::from_value`: a value (a merged patch) read into `T` as strictly as a body.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Option<T> {
    serde_path_to_error::deserialize(strict_json::Strict::new(value)).ok()
}

/// An organisation whose settings reach every validation path without refusing most inputs
/// outright: numbers with letters and punctuation, a default country for national phone
/// numbers, and a custom field of every type (none required, so a card without them passes).
pub const ORGANISATION: &str = r#"{
    "numberMinLength": 1, "numberMaxLength": 20, "numberPunctuation": "-_./",
    "numberLetters": true, "autoNumber": false, "numberInDisplayName": false,
    "orderNumber": "shown", "requiredChannels": [], "defaultCountry": "SE",
    "defaultLanguage": "sv", "defaultPaymentTerms": "net30", "defaultCurrency": "SEK",
    "customFields": [
        {"key": "gateCode", "label": "Gate code", "type": "text"},
        {"key": "floors", "label": "Floors", "type": "number"},
        {"key": "serviceDate", "label": "Service date", "type": "date"},
        {"key": "hasDog", "label": "Has dog", "type": "yesNo"},
        {"key": "contractTier", "label": "Contract tier", "type": "choice",
         "options": ["gold", "silver"]}
    ]
}"#;

/// [`ORGANISATION`], validated as the settings route would before storing it.
pub fn organisation() -> Settings {
    let mut settings: Settings = serde_json::from_str(ORGANISATION).expect("settings parse");
    settings
        .validate(&Settings::default())
        .expect("the fuzzing organisation is valid");
    settings
}

/// The rules of [`organisation`], as `Scope::rules` gives them to the handlers; built once,
/// not on every input.
pub static RULES: LazyLock<ValidationContext> = LazyLock::new(|| organisation().context());

/// `input` validated as a new card, with the contacts of `fields` kept. `input` is meant to be
/// `fields.to_input()`, which leaves the contacts out because they have routes of their own;
/// the update handler puts them back the same way.
pub fn created_again(
    fields: &CustomerFields,
    input: CustomerInput,
    rules: &ValidationContext,
) -> Result<CustomerFields, ValidationErrors> {
    validate_customer(input, rules).map(|again| with_contacts(again, fields))
}

/// `input` validated as a change of `fields`, with its contacts kept.
pub fn changed_again(
    fields: &CustomerFields,
    input: CustomerInput,
    rules: &ValidationContext,
) -> Result<CustomerFields, ValidationErrors> {
    validate_change(fields, input, rules).map(|again| with_contacts(again, fields))
}

fn with_contacts(mut card: CustomerFields, from: &CustomerFields) -> CustomerFields {
    card.contacts = from.contacts.clone();
    card
}
