//! A customer's linked records written through the store as the API writes them, for the tests
//! and benches that need sites, work orders and visits without going through HTTP.

use chrono::Utc;
use domain::{ChangeKind, Customer, HistoryEntry, Job, Site, WorkOrder};
use store::{Companion, CustomerStore, Depends, Link, TenantId};

/// Links `site` to the customer `card` (its `sitesCount` and version move on, with the
/// `siteLinked` history entry, in one transaction); answers the card as it is after.
pub async fn link_site(
    store: &CustomerStore,
    tenant: &TenantId,
    card: &Customer,
    site: &Site,
) -> Customer {
    let mut after = card.clone();
    after.sites_count += 1;
    after.version += 1;
    let entry = HistoryEntry::of(ChangeKind::SiteLinked, Some(card), &after);
    let companion = Companion::LinkSite(Box::new(site.clone()), None);
    store
        .replace(tenant, card, &after, &entry, Some(&companion))
        .await
        .expect("site linked");
    after
}

/// A site named `name` of the customer, as `by` creates it now.
pub fn site(card: &Customer, name: &str, by: &str) -> Site {
    let input = serde_json::from_value(serde_json::json!({ "name": name })).expect("a site");
    let fields = domain::validate_site(input, None, &Default::default()).expect("valid");
    Site::new(card.id.clone(), fields, by, Utc::now())
}

/// Stores `order` for its customer, whose card is at `customer_version`.
pub async fn link_work_order(
    store: &CustomerStore,
    tenant: &TenantId,
    order: &WorkOrder,
    customer_version: u64,
) {
    let link = Link {
        record: order,
        depends: vec![Depends::Customer(customer_version)],
        idempotency: None,
    };
    store.link(tenant, link).await.expect("work order");
}

/// Stores `job`, a visit of `order`.
pub async fn link_job(store: &CustomerStore, tenant: &TenantId, order: &WorkOrder, job: &Job) {
    let link = Link {
        record: job,
        depends: vec![Depends::WorkOrder {
            id: order.id.clone(),
            version: order.version,
        }],
        idempotency: None,
    };
    store.link(tenant, link).await.expect("job");
}

/// A valid card for the person `first last` with the customer number `number`, as `by` creates
/// it now (not stored).
pub fn card(number: &str, first: &str, last: &str, by: &str) -> Customer {
    let input: domain::CustomerInput =
        serde_json::from_value(crate::customer(number, first, last)).expect("valid input");
    let fields = domain::validate_customer(input, &Default::default()).expect("valid");
    Customer::new(fields, by, Utc::now())
}

/// Turns `card` inactive (one version on, with its `deactivated` history entry) as the API
/// does; answers the card as it is after.
pub async fn deactivate(store: &CustomerStore, tenant: &TenantId, card: &Customer) -> Customer {
    let mut inactive = card.clone();
    inactive.status = domain::CustomerStatus::Inactive;
    inactive.version += 1;
    let entry = HistoryEntry::of(ChangeKind::Deactivated, Some(card), &inactive);
    store
        .replace(tenant, card, &inactive, &entry, None)
        .await
        .expect("deactivated");
    inactive
}

/// The cascade function's state for running it in-process over `store`: pages of 50, no
/// bucket, a queue it never needs (nothing is handed over within the far deadline).
pub async fn cascade_app(store: &CustomerStore) -> customers_cascade::App {
    let config = devhost::aws_config().await;
    customers_cascade::App {
        store: store.clone(),
        queue: kit::queue::Queue::new(&config, ""),
        bucket: None,
        page_size: 50,
        pages_per_invocation: None,
        bulk_page_size: customers_cascade::bulk::DEFAULT_PAGE_SIZE,
    }
}
