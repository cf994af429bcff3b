//! A customer's history: every change of the card, newest first.

use domain::{CustomerId, HistoryEntry};
use kit::Problem;
use store::Page;

use super::{Scope, read_visible, store_problem};
use crate::App;

/// A page of the history of a customer the caller may see.
pub async fn list(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<HistoryEntry>, Problem> {
    let customer = read_visible(app, scope, id).await?;
    app.store
        .history(&scope.tenant, &customer, limit, cursor)
        .await
        .map_err(store_problem)
}
