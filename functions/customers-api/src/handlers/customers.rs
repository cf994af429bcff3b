//! The customer routes: request in, `usecases::customers` call, response out.

use domain::{Customer, CustomerInput, Permission, Tier};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use store::{ListQuery, Sort, StatusFilter};

use super::{Scope, customer_id, idempotency, scope};
use crate::App;
use crate::http::{self, JSON, MERGE_PATCH, etag, if_match, json, with_header};
use crate::usecases::Created;
use crate::usecases::customers::{self, Search};
use crate::view::{self, CustomerView};

const DEFAULT_PAGE: i32 = 50;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    // Checked again by the use case; here so that it is answered before the request is read.
    scope.require(Permission::Create)?;
    let params = http::query_params(request, &["confirmDuplicates"])?;
    let confirmed = params
        .iter()
        .any(|(name, value)| name == "confirmDuplicates" && value == "true");
    let key = idempotency::key(request)?;
    let body = http::body_bytes(request, JSON)?;
    let input: CustomerInput = http::parse_json(body)?;
    let retry = idempotency::retry_keyed(key, request, body);
    let answer = match customers::create(app, &scope, input, confirmed, &retry).await? {
        Created::Made(customer) => {
            idempotency::to_response(customers::answer_of(&scope, &customer), false)
        }
        Created::Replayed(first) => idempotency::to_response(first, true),
    };
    Ok(answer)
}

/// Changes a customer's number (administrators: ChangeCustomerNumber).
pub async fn change_number(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct NumberChange {
        customer_number: String,
    }
    let scope = scope(app, request).await?;
    // Checked again by the use case; here so that it is answered before the body is read.
    scope.require(Permission::ChangeCustomerNumber)?;
    let id = customer_id(request)?;
    let change: NumberChange = http::parse_json(http::body_bytes(request, JSON)?)?;
    let expected = if_match(request.headers());
    let customer =
        customers::change_number(app, &scope, &id, expected, &change.customer_number).await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

pub async fn get(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let customer = customers::get(app, &scope, &customer_id(request)?).await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

pub async fn delete(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    customers::delete(app, &scope, &id, if_match(request.headers())).await?;
    Ok(http::no_content())
}

/// Query parameters of the customer list.
const LIST_PARAMS: &[&str] = &[
    "limit",
    "cursor",
    "q",
    "status",
    "number",
    "email",
    "phone",
    "organisationNumber",
    "organisationNumberCountry",
    "sort",
    "order",
    "paymentType",
    "paymentTerms",
    "vip",
    "onHold",
    "tag",
    "assignedTo",
];

/// The list's filters: the parameters of [`LIST_PARAMS`] that choose and order customers (not
/// the exact lookups and not the page). A customer export takes these too, read by
/// [`list_query`] as the list reads them.
pub(crate) const LIST_FILTERS: &[&str] = &[
    "q",
    "status",
    "sort",
    "order",
    "paymentType",
    "paymentTerms",
    "vip",
    "onHold",
    "tag",
    "assignedTo",
];

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    // Checked again by the use case; here so that it is answered before the query is read.
    scope.view_reach()?;
    let params = http::query_params(request, LIST_PARAMS)?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    let search = match exact_lookup(&param)? {
        Some(lookup) => lookup,
        None => Search::List {
            query: list_query(&param)?,
            assigned_to: param("assignedTo"),
        },
    };
    let page = customers::find(app, &scope, search).await?;
    Ok(json(
        StatusCode::OK,
        &view::page(&page.items, page.next_cursor, scope.number_in_name()),
    ))
}

/// `number`, `email`, `phone` and `organisationNumber` (with its `organisationNumberCountry`)
/// are exact lookups (at most one of them, not combined with the list parameters); `None` when
/// the request is a plain list.
fn exact_lookup(param: &impl Fn(&str) -> Option<String>) -> Result<Option<Search>, Problem> {
    const LOOKUPS: [&str; 4] = ["number", "email", "phone", "organisationNumber"];
    let lookups: Vec<&str> = LOOKUPS
        .into_iter()
        .filter(|name| param(name).is_some())
        .collect();
    let list_params = LIST_PARAMS
        .iter()
        .filter(|n| !LOOKUPS.contains(n) && !["organisationNumberCountry", "limit"].contains(n))
        .any(|n| param(n).is_some());
    if lookups.len() > 1 || (lookups.len() == 1 && list_params) {
        return Err(Problem::bad_parameter(
            lookups[0],
            "Use one of number, email, phone or organisationNumber on its own; they are exact \
             lookups.",
        ));
    }
    let country = param("organisationNumberCountry");
    if country.is_some() && lookups.first() != Some(&"organisationNumber") {
        return Err(Problem::bad_parameter(
            "organisationNumberCountry",
            "organisationNumberCountry goes with organisationNumber.",
        ));
    }
    let value = |name: &str| param(name).unwrap_or_default();
    Ok(match lookups.first().copied() {
        None => None,
        Some("number") => Some(Search::Number(value("number"))),
        Some("email") => Some(Search::Email(value("email"))),
        Some("phone") => Some(Search::Phone(value("phone"))),
        Some(_) => Some(Search::OrgNumber {
            number: value("organisationNumber"),
            country: country.map(|c| c.to_ascii_uppercase()),
        }),
    })
}

pub(crate) fn list_query(param: &impl Fn(&str) -> Option<String>) -> Result<ListQuery, Problem> {
    let flag = |name: &str| -> Result<Option<bool>, Problem> {
        param(name)
            .map(|v| match v.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(Problem::bad_parameter(
                    name,
                    format!("{name} is true or false."),
                )),
            })
            .transpose()
    };
    Ok(ListQuery {
        sort: param("sort")
            .map(|s| parse_sort(&s))
            .transpose()?
            .unwrap_or_default(),
        status: param("status")
            .map(|s| parse_status(&s))
            .transpose()?
            .unwrap_or_default(),
        descending: !http::parse_order(param("order").as_deref())?,
        name_prefix: param("q").map(|q| domain::fold(&q)),
        payment_type: param("paymentType")
            .map(|t| parse_enum("paymentType", &t, "account or cash"))
            .transpose()?,
        payment_terms: param("paymentTerms")
            .map(|t| {
                t.parse()
                    .map_err(|_| Problem::bad_parameter("paymentTerms", "dueOnReceipt or netN."))
            })
            .transpose()?,
        tier: flag("vip")?.map(|vip| if vip { Tier::Vip } else { Tier::Regular }),
        on_hold: flag("onHold")?,
        tag: param("tag"),
        limit: param("limit")
            .map(|l| http::parse_limit(&l))
            .transpose()?
            .unwrap_or(DEFAULT_PAGE),
        cursor: param("cursor"),
    })
}

fn parse_sort(raw: &str) -> Result<Sort, Problem> {
    match raw {
        "name" => Ok(Sort::Name),
        "number" => Ok(Sort::Number),
        "created" => Ok(Sort::Created),
        _ => Err(Problem::bad_parameter(
            "sort",
            "sort is name, number or created.",
        )),
    }
}

/// `status`: which customers a list shows; without it, the active ones.
fn parse_status(raw: &str) -> Result<StatusFilter, Problem> {
    match raw {
        "active" => Ok(StatusFilter::Active),
        "inactive" => Ok(StatusFilter::Inactive),
        "all" => Ok(StatusFilter::All),
        _ => Err(Problem::bad_parameter(
            "status",
            "status is 'active' (the default), 'inactive' or 'all'.",
        )),
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(
    name: &str,
    raw: &str,
    expected: &str,
) -> Result<T, Problem> {
    serde_json::from_value(Value::String(raw.to_owned()))
        .map_err(|_| Problem::bad_parameter(name, format!("{name} is {expected}.")))
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let expected = if_match(request.headers()).ok_or_else(Problem::precondition_required)?;
    let patch: Value = http::parse_json(http::body_bytes(request, MERGE_PATCH)?)?;
    let customer = customers::update(app, &scope, &id, expected, &patch).await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

pub async fn deactivate(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let customer = customers::deactivate(app, &scope, &id, if_match(request.headers())).await?;
    Ok(customer_response(&scope, StatusCode::OK, &customer))
}

/// The customer, and a note that reactivation does not undo the deactivation cascade, so that
/// no client assumes its work came back.
pub async fn reactivate(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let customer = customers::reactivate(app, &scope, &id, if_match(request.headers())).await?;
    let mut body = serde_json::to_value(CustomerView::of(&customer, scope.number_in_name()))
        .expect("a customer view serialises");
    body["reactivation"] = serde_json::json!({
        "restoresCancelledWork": false,
        "note": REACTIVATION_NOTE,
    });
    Ok(with_header(
        json(StatusCode::OK, &body),
        "etag",
        &etag(customer.version),
    ))
}

const REACTIVATION_NOTE: &str = "Reactivation does not undo the deactivation cascade: sites stay \
    inactive until reactivated one by one, and cancelled contracts, work orders, tasks and jobs \
    stay cancelled.";

/// A customer as clients see it, with its ETag.
pub fn customer_response(scope: &Scope, status: StatusCode, customer: &Customer) -> Response<Body> {
    with_header(
        json(status, &CustomerView::of(customer, scope.number_in_name())),
        "etag",
        &etag(customer.version),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_are_list_parameters() {
        for filter in LIST_FILTERS {
            assert!(LIST_PARAMS.contains(filter), "{filter}");
        }
    }
}
