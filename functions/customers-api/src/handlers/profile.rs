//! The profile routes (inventory, its CSV export, balance): request in, `usecases::profile`
//! call, response out.

use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use super::{customer_id, scope};
use crate::App;
use crate::http::{self, json};
use crate::usecases::profile;

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

pub async fn inventory(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    let (limit, cursor) = http::page_params_with(request, DEFAULT_PAGE)?;
    let page = profile::inventory(app, &scope, &id, limit, cursor.as_deref()).await?;
    Ok(json(StatusCode::OK, &page))
}

/// The whole inventory as CSV for a spreadsheet, with the sites' names.
pub async fn export(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    http::query_params(request, &[])?;
    let inventory = profile::whole_inventory(app, &scope, &id).await?;
    let rows = inventory.lines.into_iter().map(|stock| {
        let line = stock.line;
        vec![
            line.key.site_id,
            stock.site_name.unwrap_or_default(),
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
        file_safe(&inventory.customer.fields.customer_number)
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

/// The open balance and whether new work may be called off now.
pub async fn balance(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let scope = scope(app, request).await?;
    let id = customer_id(request)?;
    Ok(json(
        StatusCode::OK,
        &profile::balance(app, &scope, &id).await?,
    ))
}
