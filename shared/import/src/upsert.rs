//! What a valid row does to a customer that already exists: it changes the members the row
//! gave and nothing else. The change is a JSON merge patch of the row's validated values
//! (phone numbers already in E.164, amounts in minor units), restricted to the members the
//! file filled in, applied to the card and validated like an API update
//! (`domain::validate_change`). Defaults that validation fills in for new customers (currency,
//! payment terms, tier) are never written over what a customer has.

use domain::{CustomerFields, FieldError, ValidationContext, merge_patch, validate_change};
use serde_json::Value;

use crate::ValidRow;

/// The card after the row, or `None` when the row changes nothing. The customer keeps its
/// number (it is how the row found it, or the row had none) and its contacts, unless it has
/// no contacts and the row names one. Errors are the domain's, for the caller to report.
pub fn update_from_row(
    existing: &CustomerFields,
    row: &ValidRow,
    ctx: &ValidationContext,
) -> Result<Option<CustomerFields>, Vec<FieldError>> {
    let validated = serde_json::to_value(row.fields.to_input()).expect("fields serialise");
    let mut patch = row.given.restrict(validated);
    if let Value::Object(members) = &mut patch {
        members.remove("customerNumber");
        members.remove("contacts");
    }
    let mut target = serde_json::to_value(existing.to_input()).expect("fields serialise");
    merge_patch::apply(&mut target, &patch);
    let input = serde_json::from_value(target).map_err(|e| {
        vec![FieldError {
            field: String::new(),
            code: "invalid".into(),
            message: e.to_string(),
        }]
    })?;
    let mut after = validate_change(existing, input, ctx).map_err(|e| e.0)?;
    after.contacts = if existing.contacts.is_empty() {
        row.fields.contacts.clone()
    } else {
        existing.contacts.clone()
    };
    Ok((after != *existing).then_some(after))
}

#[cfg(test)]
mod tests {
    use domain::{CustomerInput, Given, validate_customer};
    use serde_json::json;

    use super::*;
    use crate::RowKey;

    fn ctx() -> ValidationContext {
        ValidationContext {
            default_country: Some("SE".into()),
            ..ValidationContext::default()
        }
    }

    fn fields(input: Value) -> CustomerFields {
        let input: CustomerInput = serde_json::from_value(input).unwrap();
        validate_customer(input, &ctx()).unwrap()
    }

    fn row(given: Value) -> ValidRow {
        let input: CustomerInput = serde_json::from_value(given).unwrap();
        ValidRow {
            line: 2,
            given: Given::of(&input),
            fields: validate_customer(input, &ctx()).unwrap(),
            key: RowKey::Number("10".into()),
            needs_number: false,
            phones_left_out: 0,
        }
    }

    #[test]
    fn only_the_members_the_row_gave_change() {
        let existing = fields(json!({
            "customerNumber": "10", "firstName": "Anna", "lastName": "Berg",
            "email": "anna@example.com",
            "terms": {"paymentType": "account", "currency": "SEK", "creditLimit": 500000,
                      "paymentTerms": "net30"},
            "visitingAddress": {"line1": "Storgatan 1", "postalCode": "11122", "city": "Stockholm"}
        }));
        let after = update_from_row(
            &existing,
            &row(json!({
                "customerNumber": "10", "firstName": "Anna", "lastName": "Berg",
                "mobile": "070-123 45 67",
                "terms": {"creditLimit": 900000},
                "visitingAddress": {"city": "Solna"}
            })),
            &ctx(),
        )
        .unwrap()
        .expect("the row changes the card");
        assert_eq!(after.mobile.as_deref(), Some("+46701234567"));
        assert_eq!(after.email.as_deref(), Some("anna@example.com"));
        let terms = serde_json::to_value(&after.terms).unwrap();
        assert_eq!(terms["creditLimit"], 900000);
        assert_eq!(terms["paymentTerms"], "net30", "{terms}");
        let address = after.visiting_address.unwrap();
        assert_eq!(address.city.as_deref(), Some("Solna"));
        assert_eq!(address.postal_code.as_deref(), Some("11122"));
    }

    #[test]
    fn a_row_that_repeats_the_card_changes_nothing() {
        let given = json!({"customerNumber": "10", "companyName": "Berg AB",
                           "phone": "08-123 456 78"});
        let existing = fields(given.clone());
        assert_eq!(update_from_row(&existing, &row(given), &ctx()), Ok(None));
    }

    #[test]
    fn the_number_is_kept_whatever_its_case_in_the_file() {
        let existing = fields(json!({"customerNumber": "ab-10", "companyName": "Berg AB"}));
        let update = row(json!({"customerNumber": "AB-10", "companyName": "Berg AB"}));
        assert_eq!(update_from_row(&existing, &update, &ctx()), Ok(None));
    }

    #[test]
    fn an_invalid_merged_card_is_refused_with_the_domain_errors() {
        let existing = fields(json!({"customerNumber": "10", "companyName": "Berg AB"}));
        let mut update = row(json!({"customerNumber": "10", "companyName": "Berg AB"}));
        let with_email = json!({"customerNumber": "10", "email": "not an e-mail"});
        update.given = Given::of(&serde_json::from_value(with_email).unwrap());
        update.fields.email = Some("not an e-mail".into());
        let errors = update_from_row(&existing, &update, &ctx()).unwrap_err();
        assert_eq!(errors[0].field, "/email");
    }

    #[test]
    fn an_organisation_number_in_another_spelling_changes_nothing_and_a_new_one_replaces_it() {
        let existing = fields(json!({"customerNumber": "10", "companyName": "Berg AB",
                                     "organisationNumber": "556012-5790"}));
        let same = row(json!({"customerNumber": "10", "companyName": "Berg AB",
                              "organisationNumber": "5560125790"}));
        assert_eq!(update_from_row(&existing, &same, &ctx()), Ok(None));
        let vat = row(json!({"customerNumber": "10", "companyName": "Berg AB",
                             "organisationNumber": "NO 923 609 016 MVA"}));
        let after = update_from_row(&existing, &vat, &ctx())
            .unwrap()
            .expect("the row changes the number");
        assert_eq!(after.organisation_number.as_deref(), Some("NO923609016MVA"));
        assert_eq!(after.organisation_number_country.as_deref(), Some("NO"));
    }
}
