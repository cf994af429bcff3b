//! Contact routes. Contacts live inside the customer item, so every contact change is one
//! versioned write of the customer and the "exactly one primary" rule can never be broken by
//! two concurrent requests.

use domain::{ChangeKind, ContactError, ContactId, ContactInput};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use super::{Edit, customer_id, modify, scope};
use crate::App;
use crate::http::{self, etag, if_match, json, path_param, with_header};
use domain::merge_patch;

const JSON: &[&str] = &["application/json"];
const MERGE_PATCH: &[&str] = &["application/merge-patch+json", "application/json"];

pub async fn add(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let input: ContactInput = http::parse_json(http::body_bytes(request, JSON)?)?;
    let edit = Edit::new(ChangeKind::ContactAdded, scope.edit_reach()?);
    let rules = scope.rules();
    let (customer, contact_id) = modify(app, &scope, &id, if_match(request.headers()), edit, |c| {
        c.fields
            .add_contact(input.clone(), &rules)
            .map_err(|e| Problem::validation(e.0))
    })
    .await?;
    let contact = customer
        .fields
        .contact(&contact_id)
        .expect("the contact was just added");
    let response = json(StatusCode::CREATED, contact);
    let response = with_header(response, "etag", &etag(customer.version));
    let location = format!("/customers/{}/contacts/{}", customer.id, contact_id.0);
    Ok(with_header(response, "location", &location))
}

pub async fn change(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let contact_id = ContactId(path_param(request, "contactId")?);
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    let edit = Edit::new(ChangeKind::ContactChanged, scope.edit_reach()?);
    let rules = scope.rules();
    let (customer, ()) = modify(app, &scope, &id, if_match(request.headers()), edit, |c| {
        let current = c
            .fields
            .contact(&contact_id)
            .ok_or_else(|| Problem::not_found("contact"))?;
        let mut target =
            serde_json::to_value(current.to_input()).expect("a contact always serialises");
        merge_patch::apply(&mut target, &patch);
        let input: ContactInput = http::from_value(target)?;
        c.fields
            .change_contact(&contact_id, input, &rules)
            .map_err(contact_problem)
    })
    .await?;
    let contact = customer
        .fields
        .contact(&contact_id)
        .expect("the contact was just changed");
    Ok(with_header(
        json(StatusCode::OK, contact),
        "etag",
        &etag(customer.version),
    ))
}

pub async fn remove(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let contact_id = ContactId(path_param(request, "contactId")?);
    let edit = Edit::new(ChangeKind::ContactRemoved, scope.edit_reach()?);
    let (customer, _) = modify(app, &scope, &id, if_match(request.headers()), edit, |c| {
        c.fields
            .remove_contact(&contact_id)
            .map_err(contact_problem)
    })
    .await?;
    Ok(with_header(
        http::no_content(),
        "etag",
        &etag(customer.version),
    ))
}

fn contact_problem(error: ContactError) -> Problem {
    match error {
        ContactError::NotFound => Problem::not_found("contact"),
        ContactError::Invalid(errors) => Problem::validation(errors.0),
    }
}
