//! Merging a duplicate card into a survivor (issue 16), and what a merged card answers
//! afterwards. The API writes what fits in one transaction (`domain::merge_cards`: both cards
//! and both history entries, the survivor's contacts, tags, external references and
//! assignees); the duplicate's records then move in pages, driven by the table's stream
//! (`functions/customers-cascade/src/merge.rs`). A merged card keeps its number, organisation
//! number, e-mails and phones: the exact lookups find the survivor through it.

use domain::{Customer, CustomerId, CustomerStatus, MergeRefusal, Permission};
use kit::Problem;
use lambda_http::http::StatusCode;
use store::{StoreError, TenantId};

use super::{Scope, read_reachable, store_problem};
use crate::App;
use crate::http::etag;

/// How often a merge is decided again when either card changed in between and the caller did
/// not pin the survivor's version.
const MERGE_ATTEMPTS: usize = 3;
/// Merged into a card that was merged in turn: how far a lookup follows.
const MERGE_HOPS: usize = 5;

/// Merges `duplicate` into `survivor` at the survivor's If-Match version (`expected`: `None`
/// without If-Match, `Some(None)` for `*`). Answers the survivor as merged; asking again for a
/// merge that was done answers the survivor and writes nothing.
pub async fn merge(
    app: &App,
    scope: &Scope,
    survivor_id: &CustomerId,
    duplicate_id: &CustomerId,
    expected: Option<Option<u64>>,
) -> Result<Customer, Problem> {
    scope.require(Permission::Merge)?;
    let reach = scope.edit_reach()?;
    let by = &scope.caller.user;
    for _ in 0..MERGE_ATTEMPTS {
        let survivor = read_reachable(app, scope, survivor_id, reach, Permission::Edit).await?;
        let duplicate = read_reachable(app, scope, duplicate_id, reach, Permission::Edit)
            .await
            .map_err(|problem| name_the_duplicate(problem, duplicate_id))?;
        if domain::merge::is_merged_into(&duplicate, survivor_id) {
            return Ok(survivor);
        }
        if let Some(Some(version)) = expected
            && version != survivor.version
        {
            return Err(Problem::stale(Some(&etag(survivor.version))));
        }
        domain::may_merge(&survivor, &duplicate).map_err(refusal)?;
        let merge = domain::merge_cards(&survivor, &duplicate, by, chrono::Utc::now());
        match app
            .store
            .merge(&scope.tenant, &survivor, &duplicate, &merge)
            .await
        {
            Ok(true) => return Ok(merge.survivor),
            Ok(false) => return Err(too_large()),
            Err(StoreError::VersionConflict) if !matches!(expected, Some(Some(_))) => continue,
            Err(e) => return Err(store_problem(e)),
        }
    }
    // Both cards kept changing under the merge: nothing was written.
    Err(Problem::stale(None))
}

/// A merged card's own URL answers where the survivor is: 308 with its `Location`.
pub fn moved(customer: &Customer) -> Option<Problem> {
    let into = customer.merged_into.as_ref()?;
    Some(
        Problem::new(
            StatusCode::PERMANENT_REDIRECT,
            "customer-merged",
            "The customer was merged into another",
        )
        .detail("This card was merged into the customer at Location; use that one.")
        .with("mergedInto", into)
        .header("location", format!("/customers/{into}")),
    )
}

/// A change of a merged card: 409, naming the survivor. A merged card is final.
pub fn refuse_change(customer: &Customer) -> Result<(), Problem> {
    match &customer.merged_into {
        Some(into) if customer.status == CustomerStatus::Merged => Err(Problem::conflict(
            "customer-merged",
            "The customer was merged into another",
            format!(
                "This card was merged into customer {into} and cannot change; change that one."
            ),
        )
        .with("mergedInto", into)),
        _ => Ok(()),
    }
}

/// The cards found by an exact lookup with each merged card replaced by the card it was merged
/// into (its number and lookups are the survivor's aliases), each card once.
pub async fn survivors(
    app: &App,
    tenant: &TenantId,
    found: Vec<Customer>,
) -> Result<Vec<Customer>, StoreError> {
    let mut cards: Vec<Customer> = Vec::with_capacity(found.len());
    for mut card in found {
        for _ in 0..MERGE_HOPS {
            let Some(into) = card.merged_into.clone() else {
                break;
            };
            match app.store.get(tenant, &into).await? {
                Some(survivor) => card = survivor,
                None => break,
            }
        }
        if card.status != CustomerStatus::Merged && !cards.iter().any(|c| c.id == card.id) {
            cards.push(card);
        }
    }
    Ok(cards)
}

/// A 404 or 403 of the duplicate says it is the duplicate (`duplicateId`) that is missing.
fn name_the_duplicate(problem: Problem, duplicate: &CustomerId) -> Problem {
    problem.with("duplicateId", duplicate)
}

fn refusal(refusal: MergeRefusal) -> Problem {
    let problem =
        |detail: String| Problem::conflict("merge-refused", "The cards cannot be merged", detail);
    match refusal {
        MergeRefusal::SameCard => {
            problem("A card cannot be merged into itself: name another card as duplicateId.".into())
        }
        MergeRefusal::AlreadyMerged { id, into } => problem(format!(
            "Customer {id} was merged into {into} already; a merged card is final."
        ))
        .with("mergedInto", into),
        MergeRefusal::SurvivorNotActive(status) => problem(format!(
            "The surviving customer is {}: it takes the duplicate's work, so it must be active. \
             Reactivate it first, or merge the other way round.",
            status.as_str()
        )),
        MergeRefusal::TooManyContacts { total } => problem(format!(
            "Together the cards have {total} contacts, more than the {} a card may hold. \
             Remove the ones you do not need first.",
            domain::validation::CONTACTS_MAX
        )),
        MergeRefusal::ExternalRefClash(systems) => problem(
            "Both cards have a reference in the same accounting system (one per system per \
             card). Remove one of them first."
                .into(),
        )
        .with("systems", systems),
    }
}

fn too_large() -> Problem {
    Problem::conflict(
        "merge-refused",
        "The cards cannot be merged",
        "The merge changes more than one transaction holds (contacts with their e-mails and \
         phones, assignees). Remove some of the duplicate's contacts or assignees first.",
    )
}
