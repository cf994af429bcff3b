//! Erasure (GDPR right to erasure) and subject access: the `erase` permission's two use cases.
//! The card is erased here, in one transaction with its history entry (who and when, the
//! fields cleared, no values) and its lookup entries; every other record of the customer is
//! erased in the background by functions/customers-cascade, driven by the table's stream
//! (docs/api.md, "Erasure and subject access").

use chrono::Utc;
use domain::{ChangeKind, Customer, CustomerId, Permission, Reach};
use kit::Problem;
use serde_json::{Map, Value};

use super::{Edit, Scope, modify, read_reachable, store_problem};
use crate::App;

/// Erases the customer for good: the card keeps its number, terms and accounting fields and
/// loses everything personal, turns inactive (the deactivation cascade then cancels its open
/// work) and is marked erased. An erased customer answers as it is: erasing twice is harmless.
pub async fn erase(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    expected: Option<u64>,
) -> Result<Customer, Problem> {
    scope.require(Permission::Erase)?;
    let current = read_reachable(app, scope, id, Reach::All, Permission::Erase).await?;
    if current.is_erased() {
        return Ok(current);
    }
    let by = scope.caller.user.clone();
    let edit = Edit::new(ChangeKind::Erased, Reach::All);
    let (customer, ()) = modify(app, scope, id, Some(expected), edit, |c| {
        *c = domain::erasure::erased_card(c, &by, Utc::now());
        Ok(())
    })
    .await?;
    Ok(customer)
}

/// Everything held about the customer, grouped by kind of record (the card, its history,
/// sites, contracts, work orders, jobs, tickets, notes, texts, inventory lines, assignments,
/// notices, the stored answers of requests about it, the import rows that mention it and the
/// files that changed it): the subject-access export.
pub async fn personal_data(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
) -> Result<Map<String, Value>, Problem> {
    scope.require(Permission::Erase)?;
    let card = read_reachable(app, scope, id, Reach::All, Permission::Erase).await?;
    let values = domain::erasure::personal_values(&card.fields);
    app.store
        .personal_data(&scope.tenant, id, &values)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| {
            Problem::conflict(
                "export-too-large",
                "The customer holds too many records to export at once",
                format!(
                    "The export reads at most {} records of one customer; ask an operator.",
                    store::EXPORT_ITEMS_MAX
                ),
            )
        })
}
