//! A customer's contacts. Contacts live inside the customer item, so every contact change is
//! one versioned write of the customer (with a history entry) and the "exactly one primary"
//! rule (`domain::contacts`) can never be broken by two concurrent requests.

use domain::{ChangeKind, Contact, ContactError, ContactId, ContactInput, CustomerId};
use kit::Problem;
use serde_json::Value;

use super::{Edit, Scope, modify, patched};
use crate::App;

/// A contact as the change left it, and the version of the customer card that holds it.
#[derive(Debug, Clone)]
pub struct ContactOnCard {
    pub customer: CustomerId,
    pub contact: Contact,
    pub version: u64,
}

/// Adds a contact to the customer. `expected` is the If-Match header (see [`modify`]).
pub async fn add(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    expected: Option<Option<u64>>,
    input: ContactInput,
) -> Result<ContactOnCard, Problem> {
    let edit = Edit::new(ChangeKind::ContactAdded, scope.edit_reach()?);
    let rules = scope.rules();
    let (customer, contact_id) = modify(app, scope, id, expected, edit, |c| {
        c.fields
            .add_contact(input.clone(), &rules)
            .map_err(|e| Problem::validation(e.0))
    })
    .await?;
    let contact = customer
        .fields
        .contact(&contact_id)
        .expect("the contact was just added")
        .clone();
    Ok(ContactOnCard {
        customer: customer.id,
        contact,
        version: customer.version,
    })
}

/// Changes a contact by merge patch; it keeps its id.
pub async fn change(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    contact_id: &ContactId,
    expected: Option<Option<u64>>,
    patch: &Value,
) -> Result<ContactOnCard, Problem> {
    let edit = Edit::new(ChangeKind::ContactChanged, scope.edit_reach()?);
    let rules = scope.rules();
    let (customer, ()) = modify(app, scope, id, expected, edit, |c| {
        let current = c
            .fields
            .contact(contact_id)
            .ok_or_else(|| Problem::not_found("contact"))?;
        let input: ContactInput = patched(&current.to_input(), patch)?;
        c.fields
            .change_contact(contact_id, input, &rules)
            .map_err(contact_problem)
    })
    .await?;
    let contact = customer
        .fields
        .contact(contact_id)
        .expect("the contact was just changed")
        .clone();
    Ok(ContactOnCard {
        customer: customer.id,
        contact,
        version: customer.version,
    })
}

/// Removes a contact; when it was the primary one, another becomes primary. Answers the
/// card's version after the change.
pub async fn remove(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    contact_id: &ContactId,
    expected: Option<Option<u64>>,
) -> Result<u64, Problem> {
    let edit = Edit::new(ChangeKind::ContactRemoved, scope.edit_reach()?);
    let (customer, _) = modify(app, scope, id, expected, edit, |c| {
        c.fields.remove_contact(contact_id).map_err(contact_problem)
    })
    .await?;
    Ok(customer.version)
}

fn contact_problem(error: ContactError) -> Problem {
    match error {
        ContactError::NotFound => Problem::not_found("contact"),
        ContactError::Invalid(errors) => Problem::validation(errors.0),
    }
}
