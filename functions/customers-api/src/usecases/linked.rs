//! The use cases every linked record (site, contract, work order, job, ticket, note) goes through:
//! the customer is read within the caller's reach before any of its records (no 404/403
//! oracle), the domain's link rules decide (`domain::linked`), and the store writes on the
//! conditions the decision was made on (`store::Depends`). The use cases of each kind call these
//! and add only their kind's own rules.

use std::future::Future;

use chrono::{NaiveDate, Utc};
use domain::{Customer, CustomerId, HistoryEntry, LinkRefusal, Linked, Permission};
use kit::Problem;
use store::{Depends, IdempotencyRecord, Link, Page, StoreError, Stored, StoredResponse};

use super::idempotency::{Retry, key_reused};
use super::{Created, PageRequest, Scope, read_reachable, read_visible, store_problem};
use crate::App;
use crate::http::etag;

/// A create reads the customer and decides again this often when the customer (or a record the
/// new one depends on) changed between the decision and the write.
const CREATE_ATTEMPTS: usize = 3;

/// The customer whose records the caller changes: 404 when it is not in their organisation,
/// 403 when it is out of their reach, before anything of its records is read.
pub async fn customer_for_change(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
) -> Result<Customer, Problem> {
    let customer = read_reachable(app, scope, id, scope.edit_reach()?, Permission::Edit).await?;
    if customer.is_erased() {
        return Err(super::erased());
    }
    Ok(customer)
}

/// The customer whose records the caller reads (see [`customer_for_change`]).
pub async fn customer_for_view(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
) -> Result<Customer, Problem> {
    read_visible(app, scope, id).await
}

/// A record of the customer the caller may see: 404 naming its kind.
pub async fn read<T: Stored>(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    id: &str,
) -> Result<T, Problem> {
    customer_for_view(app, scope, customer).await?;
    existing(app, scope, customer, id).await
}

/// A page of the customer's records of a kind, in creation order or the reverse.
pub async fn page<T: Stored>(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    page: PageRequest,
) -> Result<Page<T>, Problem> {
    customer_for_view(app, scope, customer).await?;
    app.store
        .linked_page::<T>(
            &scope.tenant,
            customer,
            page.limit,
            page.cursor.as_deref(),
            page.ascending,
        )
        .await
        .map_err(store_problem)
}

/// A record of the customer (read after the customer, see [`customer_for_change`]): 404 naming
/// its kind when there is none with this id.
pub async fn existing<T: Stored>(
    app: &App,
    scope: &Scope,
    customer: &CustomerId,
    id: &str,
) -> Result<T, Problem> {
    app.store
        .linked::<T>(&scope.tenant, customer, id)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found(T::KIND.name))
}

/// 412 with the record's current ETag when If-Match named another version.
pub fn check_version<T: Linked>(expected: Option<u64>, record: &T) -> Result<(), Problem> {
    match expected {
        Some(version) if version != record.version() => {
            Err(Problem::stale(Some(&etag(record.version()))))
        }
        _ => Ok(()),
    }
}

/// A new record of `T`'s kind needs an active customer; its write then depends on the
/// customer's version.
pub fn may_link<T: Linked>(customer: &Customer) -> Result<Depends, Problem> {
    domain::linked::may_link(T::KIND, customer).map_err(refused)?;
    Ok(Depends::Customer(customer.version))
}

/// A change that makes the record live again needs an active customer (and its write depends
/// on the customer's version); other changes depend on nothing but the record's own version.
pub fn may_change<T: Linked>(
    customer: &Customer,
    before: &T,
    after: &T,
) -> Result<Vec<Depends>, Problem> {
    domain::linked::may_change(customer, before, after).map_err(refused)?;
    Ok(if domain::linked::revives(before, after) {
        vec![Depends::Customer(customer.version)]
    } else {
        Vec::new()
    })
}

/// Saves a changed record on the conditions [`may_change`] found; 412 when it (or the
/// customer it depends on) changed meanwhile.
pub async fn save_change<T: Stored>(
    app: &App,
    scope: &Scope,
    customer: &Customer,
    before: &T,
    after: T,
) -> Result<T, Problem> {
    let depends = may_change(customer, before, &after)?;
    match app
        .store
        .change(&scope.tenant, &after, before.version(), &depends)
        .await
    {
        Ok(()) => Ok(after),
        Err(StoreError::VersionConflict) => Err(Problem::stale(None)),
        Err(e) => Err(store_problem(e)),
    }
}

/// A new record, what its write depends on, and its entry in the customer's history if its
/// kind records one (notes).
pub struct NewRecord<T> {
    pub record: T,
    pub depends: Vec<Depends>,
    pub history: Option<HistoryEntry>,
}

/// Creates a record of the customer: reads the customer within reach, answers a retried
/// request (Idempotency-Key) with its first answer, lets `decide` make the record from the
/// customer as read (the kind's rules, [`may_link`] among them), and writes it on the
/// conditions `decide` named, with the answer the retry of this request will get. When one
/// failed (the customer changed, a work order moved on), it reads and decides again; the last
/// attempt's answer stands.
pub async fn create<T, F, Fut>(
    app: &App,
    scope: &Scope,
    customer_id: &CustomerId,
    retry: &Retry,
    mut decide: F,
) -> Result<Created<T>, Problem>
where
    T: Stored + serde::Serialize,
    F: FnMut(Customer) -> Fut,
    Fut: Future<Output = Result<NewRecord<T>, Problem>>,
{
    for attempt in 1..=CREATE_ATTEMPTS {
        let customer = customer_for_change(app, scope, customer_id).await?;
        if attempt == 1
            && let Some(first) = retry.earlier(app, &scope.tenant).await?
        {
            return Ok(Created::Replayed(first));
        }
        let NewRecord {
            record,
            depends,
            history,
        } = decide(customer).await?;
        let stored: Option<IdempotencyRecord> = retry.keep(answer_of(&record), Utc::now());
        let link = Link {
            record: &record,
            depends,
            idempotency: stored.as_ref(),
        };
        match app
            .store
            .link_recorded(&scope.tenant, link, history.as_ref())
            .await
        {
            Ok(()) => return Ok(Created::Made(record)),
            Err(StoreError::IdempotencyKeyUsed(first)) => {
                return match stored {
                    Some(ours) if ours.fingerprint == first.fingerprint => {
                        Ok(Created::Replayed(first.response))
                    }
                    _ => Err(key_reused()),
                };
            }
            Err(StoreError::VersionConflict) if attempt < CREATE_ATTEMPTS => continue,
            Err(StoreError::VersionConflict) => return Err(Problem::stale(None)),
            Err(e) => return Err(store_problem(e)),
        }
    }
    unreachable!("the last attempt returns")
}

/// The answer to the create of `record`, as a retry of the same request gets it again: 201,
/// its location and ETag, the record as JSON.
pub fn answer_of<T: Linked + serde::Serialize>(record: &T) -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: vec![
            ("location".to_owned(), location(record)),
            ("etag".to_owned(), etag(record.version())),
        ],
        body: serde_json::to_string(record).expect("a record serialises"),
    }
}

/// Where a record is read: `/customers/{customerId}/{collection path}/{id}`.
pub fn location<T: Linked>(record: &T) -> String {
    format!(
        "/customers/{}/{}/{}",
        record.customer_id(),
        T::KIND.path,
        record.id()
    )
}

/// The day contracts are judged by (UTC), as the store judges them.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// 409 for a link rule's refusal, naming the customer's status or the dependants.
pub fn refused(refusal: LinkRefusal) -> Problem {
    match refusal {
        LinkRefusal::CustomerNotActive { kind, status } => Problem::conflict(
            "customer-inactive",
            "The customer is inactive",
            if status == domain::CustomerStatus::Merged {
                format!(
                    "The customer was merged into another: it takes no new {}; add it to the \
                     customer it was merged into.",
                    kind.name
                )
            } else {
                format!(
                    "The customer is {}: it takes no new {} and none is made active again on \
                     it. Reactivate the customer first.",
                    status.as_str(),
                    kind.name
                )
            },
        )
        .with("customerStatus", status.as_str()),
        LinkRefusal::SiteInUse { dependants } => Problem::conflict(
            "site-in-use",
            "The site is in use",
            format!(
                "Open work or active contracts depend on this site: {}. Complete, cancel or \
                 move them first.",
                dependants
                    .iter()
                    .map(|d| format!("{} {} ({})", d.kind, d.id, d.status))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with("dependants", &dependants),
    }
}
