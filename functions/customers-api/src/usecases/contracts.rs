//! A customer's contracts: created, listed, read and changed by merge patch. A cancelled
//! contract is final; an active one expires by itself after its period. Contracts do not
//! change the customer's card.

use chrono::Utc;
use domain::{Contract, ContractFields, ContractInput, ContractStatus, CustomerId, FieldError};
use kit::Problem;
use serde_json::Value;

use super::idempotency::Retry;
use super::linked::{self, NewRecord, check_version, customer_for_change, existing, today};
use super::{Created, Scope, patched, refuse_null_status, store_problem};
use crate::App;

pub async fn create(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    input: ContractInput,
    retry: &Retry,
) -> Result<Created<Contract>, Problem> {
    if input.status.is_some() {
        return Err(Problem::validation(vec![FieldError::new(
            "/status",
            "unknown_field",
            "A new contract is active; change its status afterwards with PATCH.",
        )]));
    }
    let input = &input;
    linked::create(app, scope, id, retry, |customer| async move {
        let depends = linked::may_link::<Contract>(&customer)?;
        let fields = validated(app, scope, &customer.id, input.clone(), &[]).await?;
        // A period that ended already makes an expired contract (a record of past terms).
        let contract =
            Contract::new(customer.id, fields, &scope.caller.user, Utc::now()).as_of(today());
        Ok(NewRecord {
            record: contract,
            depends: vec![depends],
            history: None,
        })
    })
    .await
}

/// Changes a contract by merge patch (`expected`: the If-Match version). A cancelled contract
/// is final; an expired one is made active again by moving its end, and only on an active
/// customer.
pub async fn change(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    contract: &str,
    expected: Option<u64>,
    patch: &Value,
) -> Result<Contract, Problem> {
    refuse_null_status(patch)?;
    let customer = customer_for_change(app, scope, id).await?;
    let before: Contract = existing(app, scope, id, contract).await?;
    check_version(expected, &before)?;
    if before.fields.status == ContractStatus::Cancelled {
        return Err(Problem::conflict(
            "contract-cancelled",
            "The contract is cancelled",
            "A cancelled contract stays as it is; make a new contract instead.",
        ));
    }
    let input = patched(&before.fields.to_input(), patch)?;
    let fields = validated(app, scope, id, input, &before.fields.site_ids).await?;
    if fields == before.fields {
        return Ok(before);
    }
    fields
        .check_active_period(today())
        .map_err(|e| Problem::validation(e.0))?;
    let after = before.changed(fields, &scope.caller.user, Utc::now());
    linked::save_change(app, scope, &customer, &before, after).await
}

/// The domain's checks, and that every site newly named is one of the customer's (sites the
/// contract named already may have been unlinked since: the contract keeps them as history).
async fn validated(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    input: ContractInput,
    named_before: &[String],
) -> Result<ContractFields, Problem> {
    let fields = domain::validate_contract(input).map_err(|e| Problem::validation(e.0))?;
    let new: Vec<String> = fields
        .site_ids
        .iter()
        .filter(|id| !named_before.contains(id))
        .cloned()
        .collect();
    if new.is_empty() {
        return Ok(fields);
    }
    // What is not a site id at all (a 3000-character one too) is not looked up: unknown.
    let lookups: Vec<String> = new
        .iter()
        .filter(|id| domain::is_record_id(id))
        .cloned()
        .collect();
    let found = app
        .store
        .existing_sites(&scope.tenant, customer, &lookups)
        .await
        .map_err(store_problem)?;
    let unknown: Vec<FieldError> = fields
        .site_ids
        .iter()
        .enumerate()
        .filter(|(_, id)| new.contains(id) && !found.contains(id))
        .map(|(i, _)| {
            FieldError::new(
                format!("/siteIds/{i}"),
                "unknown_site",
                "This is not one of the customer's sites.",
            )
        })
        .collect();
    if unknown.is_empty() {
        Ok(fields)
    } else {
        Err(Problem::validation(unknown))
    }
}
