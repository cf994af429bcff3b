//! Customers: create (with the possible-duplicate warning and generated numbers), find (exact
//! lookups and list pages), read, change by merge patch, deactivate and reactivate, delete, and
//! change the number. Every change of a card goes through [`super::modify`], which checks the
//! fields with a permission of their own.

use chrono::Utc;
use domain::{
    CardChange, ChangeKind, Customer, CustomerId, CustomerInput, FieldError, Permission, Reach,
};
use kit::Problem;
use lambda_http::http::StatusCode;
use serde_json::Value;
use store::{ListQuery, Page, StoreError, StoredResponse};

use super::idempotency::{Retry, key_reused};
use super::{
    Created, Edit, Scope, change_card, duplicates, modify, number_taken, read_visible, refused,
    store_problem,
};
use crate::App;
use crate::http::etag;
use crate::view::CustomerView;

/// Generated numbers a create tries before giving up (each collision is a number somebody
/// typed by hand that the counter then reached).
const NUMBER_ATTEMPTS: usize = 5;

/// Creates a customer. Without `confirm_duplicates`, a card sharing its e-mail, phone or mobile
/// with another customer is refused (409 naming them), unless the request is the retry of one
/// that went through. A generated number (the organisation's `autoNumber`) is drawn only once
/// the card is valid, and drawn again when someone typed it by hand meanwhile.
pub async fn create(
    app: &App,
    scope: &Scope,
    mut input: CustomerInput,
    confirm_duplicates: bool,
    retry: &Retry,
) -> Result<Created<Customer>, Problem> {
    scope.require(Permission::Create)?;
    domain::refused_create(&scope.grants, &input).map_err(refused)?;
    let settings = &scope.settings.settings;
    // Validated with a stand-in that has the generated numbers' shape; the real number is
    // drawn only once the card is known to be valid.
    // A blank number ("" or spaces, as forms send an empty field) is an absent one.
    let blank = input
        .customer_number
        .as_deref()
        .is_none_or(|n| n.trim().is_empty());
    let generate = settings.auto_number && blank;
    if generate {
        input.customer_number = Some(settings.generated_number(0));
    }
    let fields =
        domain::validate_customer(input, &scope.rules()).map_err(|e| Problem::validation(e.0))?;
    let mut customer = Customer::new(fields, &scope.caller.user, Utc::now());
    for attempt in 1..=NUMBER_ATTEMPTS {
        if generate {
            let n = app
                .store
                .next_customer_number(&scope.tenant)
                .await
                .map_err(store_problem)?;
            let number = settings.generated_number(n);
            // The counter can outgrow numberMaxLength: say so rather than store a misfit.
            customer.fields.customer_number =
                domain::validate_customer_number(&number, &scope.rules().number_rules)
                    .map_err(|e| Problem::validation(vec![e]))?;
        }
        let record = retry.keep(answer_of(scope, &customer), customer.created_at);
        if !confirm_duplicates
            && attempt == 1
            && let Some(first) = refuse_duplicates(app, scope, &customer, retry).await?
        {
            return Ok(Created::Replayed(first));
        }
        let result = app
            .store
            .create(&scope.tenant, &customer, record.as_ref())
            .await;
        match result {
            Ok(_) => {
                kit::metrics::Metrics::new(crate::FUNCTION)
                    .count("CustomersCreated", 1)
                    .property("tenant", scope.tenant.as_str())
                    .emit();
                return Ok(Created::Made(customer));
            }
            Err(StoreError::IdempotencyKeyUsed(first)) => {
                return match record {
                    Some(ours) if ours.fingerprint == first.fingerprint => {
                        Ok(Created::Replayed(first.response))
                    }
                    _ => Err(key_reused()),
                };
            }
            // A generated number someone chose by hand meanwhile: draw the next one.
            Err(StoreError::NumberTaken) if generate && attempt < NUMBER_ATTEMPTS => continue,
            Err(StoreError::NumberTaken) => return Err(number_taken()),
            // A create has no version to be stale against: this is a transaction that kept
            // losing races (or a replay record gone meanwhile). Nothing was written; retry.
            Err(StoreError::VersionConflict) => return Err(Problem::unavailable()),
            Err(e) => return Err(store_problem(e)),
        }
    }
    Err(number_taken())
}

/// 409 naming the possible duplicates, unless this is the retry of a create that already
/// went through (it finds its own customer): that one gets the first answer back.
async fn refuse_duplicates(
    app: &App,
    scope: &Scope,
    customer: &Customer,
    retry: &Retry,
) -> Result<Option<StoredResponse>, Problem> {
    let duplicates = duplicates::possible(app, &scope.tenant, &customer.fields).await?;
    if duplicates.is_empty() {
        return Ok(None);
    }
    match retry.earlier(app, &scope.tenant).await? {
        Some(first) => Ok(Some(first)),
        None => Err(duplicates::problem(duplicates)),
    }
}

/// The answer to the create of `customer`, as a retry of the same request gets it again: 201,
/// its location and ETag, the customer as clients see it.
pub fn answer_of(scope: &Scope, customer: &Customer) -> StoredResponse {
    StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        headers: vec![
            ("location".into(), format!("/customers/{}", customer.id)),
            ("etag".into(), etag(customer.version)),
        ],
        body: serde_json::to_string(&CustomerView::of(customer, scope.number_in_name()))
            .expect("views serialise"),
    }
}

/// How customers are looked for: an exact lookup, or a page of a list.
#[derive(Debug, Clone)]
pub enum Search {
    /// The customer with this number, of any status.
    Number(String),
    /// The customers with this e-mail address, of any status.
    Email(String),
    /// The customers with this phone or mobile number as typed (normalised with the
    /// organisation's default country), of any status.
    Phone(String),
    /// The customer with this organisation number, of any status: checked by the country
    /// given, its VAT prefix or the organisation's default country, so that any spelling of
    /// it (and a VAT number built from a national number) finds the card.
    OrgNumber {
        number: String,
        country: Option<String>,
    },
    /// A page of the list; `assigned_to` lists one user's customers.
    List {
        query: ListQuery,
        assigned_to: Option<String>,
    },
}

/// The customers the caller looks for, within their reach. The exact lookups find inactive
/// customers too, unlike the lists: whoever types a number from an old invoice or the phone of
/// a caller is looking for that customer, whatever its status (each row says it), and a
/// number that is taken must not look free. "Only assigned" callers list their own customers,
/// whatever they ask for.
pub async fn find(app: &App, scope: &Scope, search: Search) -> Result<Page<Customer>, Problem> {
    let reach = scope.view_reach()?;
    let tenant = &scope.tenant;
    let found = match search {
        Search::Number(number) => app
            .store
            .find_by_number(tenant, &number)
            .await
            .map(|c| c.into_iter().collect()),
        Search::Email(email) => app.store.find_by_email(tenant, &email).await,
        Search::OrgNumber { number, country } => {
            let fallback = scope.settings.settings.default_country.as_deref();
            let org = domain::parse_org_number(&number, country.as_deref(), fallback)
                .map_err(|e| Problem::bad_parameter("organisationNumber", e.to_string()))?;
            app.store
                .find_by_org_number(tenant, &org.identity())
                .await
                .map(|c| c.into_iter().collect())
        }
        Search::Phone(raw) => {
            // Numbers are looked up without their extension: a customer with "x718" is found
            // by the number as it is dialled.
            let country = scope.settings.settings.default_country.as_deref();
            let phone = domain::normalise_phone_with_extension(&raw, country)
                .map_err(|e| Problem::bad_parameter("phone", e.to_string()))?;
            app.store.find_by_phone(tenant, &phone.number).await
        }
        Search::List { query, assigned_to } => {
            let assignee = reach.listed_assignee(&scope.caller.user, assigned_to);
            return app
                .store
                .list_of(tenant, &query, assignee.as_deref())
                .await
                .map_err(store_problem);
        }
    };
    // A merged card's number, organisation number, e-mails and phones find its survivor.
    let found = found.map_err(store_problem)?;
    let mut items = super::merge::survivors(app, tenant, found)
        .await
        .map_err(store_problem)?;
    items.retain(|c| scope.may_reach(reach, c, Permission::View).is_ok());
    Ok(Page {
        items,
        next_cursor: None,
    })
}

/// A customer the caller may see.
/// A merged card answers where the survivor is (308, `super::merge::moved`).
pub async fn get(app: &App, scope: &Scope, id: &CustomerId) -> Result<Customer, Problem> {
    let customer = read_visible(app, scope, id).await?;
    match super::merge::moved(&customer) {
        Some(moved) => Err(moved),
        None => Ok(customer),
    }
}

/// Changes a customer's card by merge patch (RFC 7396) at the If-Match version (`expected`;
/// `None` for `*`). The number and the contacts are not changed here (see
/// [`refuse_unpatchable`]); commercial terms and status need their own permissions.
pub async fn update(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    expected: Option<u64>,
    patch: &Value,
) -> Result<Customer, Problem> {
    refuse_unpatchable(patch)?;
    let edit = Edit::new(ChangeKind::Updated, scope.edit_reach()?);
    let rules = scope.rules();
    let (customer, ()) = modify(app, scope, id, Some(expected), edit, |customer| {
        let input: CustomerInput = super::patched(&customer.fields.to_input(), patch)?;
        let contacts = std::mem::take(&mut customer.fields.contacts);
        let mut fields = domain::validate_change(&customer.fields, input, &rules)
            .map_err(|e| Problem::validation(e.0))?;
        fields.contacts = contacts;
        customer.fields = fields;
        Ok(())
    })
    .await?;
    Ok(customer)
}

/// `customerNumber` changes are an administrator's action with their own route; contacts
/// have their own routes so that their ids stay stable.
fn refuse_unpatchable(patch: &Value) -> Result<(), Problem> {
    let Value::Object(members) = patch else {
        return Err(Problem::validation(vec![FieldError {
            field: "/".into(),
            code: "invalid_type".into(),
            message: "A merge patch must be a JSON object.".into(),
        }]));
    };
    let mut errors = Vec::new();
    if members.contains_key("customerNumber") {
        errors.push(FieldError {
            field: "/customerNumber".into(),
            code: "read_only".into(),
            message: "The customer number cannot be changed by an update.".into(),
        });
    }
    if members.contains_key("contacts") {
        errors.push(FieldError {
            field: "/contacts".into(),
            code: "read_only".into(),
            message: "Change contacts through /customers/{customerId}/contacts.".into(),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(errors))
    }
}

/// Deactivates a customer; the deactivation cascade (customers-cascade) then closes its
/// records. `expected` is the If-Match header (see [`modify`]).
pub async fn deactivate(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    expected: Option<Option<u64>>,
) -> Result<Customer, Problem> {
    set_status(app, scope, id, expected, CardChange::Deactivate).await
}

/// Reactivates a customer. It does not undo the deactivation cascade: what it closed stays
/// closed (the handler's answer says so).
pub async fn reactivate(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    expected: Option<Option<u64>>,
) -> Result<Customer, Problem> {
    set_status(app, scope, id, expected, CardChange::Reactivate).await
}

/// Deactivating an inactive customer (or reactivating an active one) is a no-op that answers
/// the customer, so retries are harmless. Without the permission for the status the action is
/// refused before anything is read, even where it would change nothing.
async fn set_status(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    expected: Option<Option<u64>>,
    change: CardChange,
) -> Result<Customer, Problem> {
    let edit = Edit::new(change.kind(), scope.change_reach(&change)?);
    change_card(app, scope, id, expected, edit, &change).await
}

/// Deletes a customer that has nothing but its creation: no later change, no assignment, no
/// linked record. Otherwise 409, pointing to deactivation.
pub async fn delete(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    expected: Option<Option<u64>>,
) -> Result<(), Problem> {
    scope.require(Permission::Delete)?;
    let customer = read_visible(app, scope, id).await?;
    if let Some(Some(version)) = expected
        && version != customer.version
    {
        return Err(Problem::stale(Some(&etag(customer.version))));
    }
    app.store
        .delete_untouched(&scope.tenant, &customer)
        .await
        .map_err(store_problem)
}

/// Changes a customer's number (administrators: ChangeCustomerNumber). The old number is
/// freed and the new one claimed in the same transaction; a taken number answers 409.
pub async fn change_number(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    expected: Option<Option<u64>>,
    number: &str,
) -> Result<Customer, Problem> {
    scope.require(Permission::ChangeCustomerNumber)?;
    let number = domain::validate_customer_number(number, &scope.rules().number_rules)
        .map_err(|e| Problem::validation(vec![e]))?;
    let edit = Edit::new(ChangeKind::NumberChanged, Reach::All);
    let (customer, ()) = modify(app, scope, id, expected, edit, |c| {
        c.fields.customer_number = number.clone();
        Ok(())
    })
    .await?;
    Ok(customer)
}
