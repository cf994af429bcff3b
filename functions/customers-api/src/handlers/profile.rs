//! Views of a customer's profile that are not records of their own: the inventory its tickets
//! add up to (a page, or all of it as CSV) and its open balance with the call-off verdict.

use std::collections::HashMap;

use domain::{CallOffRefusal, Customer, PaymentType, StockLine};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::{customer_id, read_visible, scope, store_problem};
use crate::App;
use crate::http::{self, json};

const DEFAULT_PAGE: i32 = 50;
const CSV: &str = "text/csv; charset=utf-8";
const EXPORT_COLUMNS: [&str; 7] = [
    "site_id",
    "site_name",
    "material",
    "quantity",
    "unit",
    "tickets",
    "updated_at",
];

/// One page of the inventory, by site, unit and material.
pub async fn inventory(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let (limit, cursor) = http::page_params_with(request, DEFAULT_PAGE)?;
    read_visible(app, &scope, &id).await?;
    let page = app
        .store
        .stock(&scope.tenant, &id, limit, cursor.as_deref())
        .await
        .map_err(store_problem)?;
    Ok(json(StatusCode::OK, &page))
}

/// The whole inventory as CSV for a spreadsheet, with the sites' names.
pub async fn export(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    http::query_params(request, &[])?;
    let customer = read_visible(app, &scope, &id).await?;
    let mut lines: Vec<StockLine> = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .store
            .stock(&scope.tenant, &id, store::MAX_PAGE, cursor.as_deref())
            .await
            .map_err(store_problem)?;
        lines.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut site_ids: Vec<String> = lines.iter().map(|l| l.key.site_id.clone()).collect();
    site_ids.dedup();
    let names: HashMap<String, String> = app
        .store
        .sites_by_id(&scope.tenant, &id, &site_ids)
        .await
        .map_err(store_problem)?
        .into_iter()
        .map(|site| (site.id, site.fields.name))
        .collect();
    let rows = lines.into_iter().map(|line| {
        let name = names.get(&line.key.site_id).cloned().unwrap_or_default();
        vec![
            line.key.site_id,
            name,
            line.key.material,
            line.quantity.to_string(),
            line.key.unit,
            line.tickets.to_string(),
            line.updated_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ]
    });
    let body = import::spreadsheet_csv(&EXPORT_COLUMNS, rows);
    let file = format!(
        "inventory-{}.csv",
        file_safe(&customer.fields.customer_number)
    );
    Ok(http::attachment(CSV, &file, body))
}

/// Customer numbers may hold characters a file name (or the header quoting it) must not.
fn file_safe(number: &str) -> String {
    number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Balance {
    currency: String,
    payment_type: PaymentType,
    open_balance: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    credit_limit: Option<i64>,
    /// Only where a limit restricts: account customers with a limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    available_credit: Option<i64>,
    on_hold: bool,
    status: domain::CustomerStatus,
    call_off: CallOff,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallOff {
    allowed: bool,
    refusals: Vec<CallOffRefusal>,
}

/// The open balance and whether new work may be called off now (the rule of work orders).
pub async fn balance(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let customer = read_visible(app, &scope, &id).await?;
    Ok(json(StatusCode::OK, &balance_of(&customer)))
}

fn balance_of(customer: &Customer) -> Balance {
    let terms = &customer.fields.terms;
    let refusals = customer.may_call_off().err().unwrap_or_default();
    let available_credit = match terms.payment_type {
        PaymentType::Account => terms
            .credit_limit
            .map(|limit| limit.saturating_sub(terms.open_balance)),
        PaymentType::Cash => None,
    };
    Balance {
        currency: terms.currency.clone(),
        payment_type: terms.payment_type,
        open_balance: terms.open_balance,
        credit_limit: terms.credit_limit,
        available_credit,
        on_hold: customer.fields.on_hold,
        status: customer.status,
        call_off: CallOff {
            allowed: refusals.is_empty(),
            refusals,
        },
    }
}
