//! Views of a customer's profile that are not records of their own: the inventory its tickets
//! add up to (a page, or all of it with the sites' names) and its open balance with the
//! call-off verdict.

use std::collections::HashMap;

use domain::{CallOffRefusal, Customer, CustomerId, CustomerStatus, PaymentType, StockLine};
use kit::Problem;
use serde::Serialize;
use store::Page;

use super::{Scope, read_visible, store_problem};
use crate::App;

/// One page of the inventory, by site, unit and material.
pub async fn inventory(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<StockLine>, Problem> {
    read_visible(app, scope, id).await?;
    app.store
        .stock(&scope.tenant, id, limit, cursor)
        .await
        .map_err(store_problem)
}

/// The whole inventory of a customer, each line with the name of its site.
pub struct Inventory {
    pub customer: Customer,
    pub lines: Vec<SiteStock>,
}

pub struct SiteStock {
    pub line: StockLine,
    /// `None` only for a site that is gone (unlinked sites that work names are kept).
    pub site_name: Option<String>,
}

/// All of the inventory, every page of it, with the sites' names.
pub async fn whole_inventory(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
) -> Result<Inventory, Problem> {
    let customer = read_visible(app, scope, id).await?;
    let mut lines: Vec<StockLine> = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .store
            .stock(&scope.tenant, id, store::MAX_PAGE, cursor.as_deref())
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
        .sites_by_id(&scope.tenant, id, &site_ids)
        .await
        .map_err(store_problem)?
        .into_iter()
        .map(|site| (site.id, site.fields.name))
        .collect();
    let lines = lines
        .into_iter()
        .map(|line| SiteStock {
            site_name: names.get(&line.key.site_id).cloned(),
            line,
        })
        .collect();
    Ok(Inventory { customer, lines })
}

/// A customer's open balance and whether new work may be called off now.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    pub currency: String,
    pub payment_type: PaymentType,
    pub open_balance: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_limit: Option<i64>,
    /// Only where a limit restricts: account customers with a limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_credit: Option<i64>,
    pub on_hold: bool,
    pub status: CustomerStatus,
    pub call_off: CallOff,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallOff {
    pub allowed: bool,
    pub refusals: Vec<CallOffRefusal>,
}

/// The open balance of a customer the caller may see, and the call-off rule's verdict (the
/// rule of new work orders, `Customer::may_call_off`).
pub async fn balance(app: &App, scope: &Scope, id: &CustomerId) -> Result<Balance, Problem> {
    let customer = read_visible(app, scope, id).await?;
    Ok(balance_of(&customer))
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
