//! Possible duplicates: another customer of the organisation with the same (normalised)
//! e-mail address, phone or mobile number. Creating one anyway takes an explicit confirmation
//! (`?confirmDuplicates=true`).

use domain::CustomerFields;
use kit::Problem;
use lambda_http::http::StatusCode;
use serde::Serialize;
use store::TenantId;

use super::store_problem;
use crate::App;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PossibleDuplicate {
    pub id: String,
    pub customer_number: String,
    pub display_name: String,
    /// Which of the new customer's values it shares: "email", "phone", "mobile".
    pub matched_on: Vec<&'static str>,
}

/// Customers sharing the new card's own e-mail, phone or mobile
/// ([`store::CustomerStore::possible_duplicates`]).
pub async fn possible(
    app: &App,
    tenant: &TenantId,
    fields: &CustomerFields,
) -> Result<Vec<PossibleDuplicate>, Problem> {
    let found = app
        .store
        .possible_duplicates(tenant, fields)
        .await
        .map_err(store_problem)?;
    // A merged card stands for the customer it was merged into.
    let mut resolved: Vec<(domain::Customer, Vec<&'static str>)> = Vec::new();
    for (card, matched_on) in found {
        let survivors = super::merge::survivors(app, tenant, vec![card])
            .await
            .map_err(store_problem)?;
        for customer in survivors {
            match resolved.iter_mut().find(|(c, _)| c.id == customer.id) {
                Some((_, channels)) => {
                    for channel in &matched_on {
                        if !channels.contains(channel) {
                            channels.push(channel);
                        }
                    }
                }
                None => resolved.push((customer, matched_on.clone())),
            }
        }
    }
    Ok(resolved
        .into_iter()
        .map(|(customer, matched_on)| PossibleDuplicate {
            id: customer.id.0.clone(),
            customer_number: customer.fields.customer_number.clone(),
            display_name: customer.fields.display_name(),
            matched_on,
        })
        .collect())
}

pub fn problem(duplicates: Vec<PossibleDuplicate>) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "possible-duplicate",
        "Possible duplicate customer",
    )
    .detail(
        "Another customer has the same e-mail or phone number. Nothing was created; send the \
         request again with ?confirmDuplicates=true to create it anyway.",
    )
    .with("duplicates", duplicates)
}
