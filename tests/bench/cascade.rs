//! What the deactivation cascade costs per cascaded record (sites, work orders with their
//! tasks, jobs): DynamoDB requests and write units (counted by the store's meter; units
//! estimated by DynamoDB's rules since the emulator reports none for transactions), and the CPU
//! time of the cascade's own process (our code and the SDK client, not the emulator, which is
//! another process) per 1 000 records changed. Closed records (inactive sites, completed work)
//! are mixed in: they must cost reads only. Run with `infra/local/bench`.

use chrono::Utc;
use domain::{Customer, CustomerInput, Job, Site, WorkOrder, WorkStatus};
use lambda_runtime::LambdaEvent;
use serde_json::json;
use store::{CustomerStore, TenantId, Usage};

const SITES: usize = 500;
/// Of which the cascade finds this many inactive already and must not write.
const ALREADY_INACTIVE: usize = 50;
/// Work orders with three tasks each, of which every fifth is completed (not written).
const WORK_ORDERS: usize = 500;
/// One visit for every other work order, of which every fourth is completed.
const JOBS_EVERY: usize = 2;

fn customer() -> Customer {
    let json = e2e::customer("C00001", "Bench", "Cascade");
    let input: CustomerInput = serde_json::from_value(json).expect("valid input");
    let fields = domain::validate_customer(input, &Default::default()).expect("valid");
    Customer::new(fields, "bench", Utc::now())
}

async fn link_sites(store: &CustomerStore, tenant: &TenantId, mut card: Customer) -> Customer {
    for i in 0..SITES {
        let input = serde_json::from_value(json!({"name": format!("Site {i}"),
            "address": {"line1": format!("Hamnvägen {i}"), "city": "Gävle", "country": "SE"}}))
        .expect("valid site");
        let mut fields = domain::validate_site(input, None, &Default::default()).expect("valid");
        if i < ALREADY_INACTIVE {
            fields.status = domain::SiteStatus::Inactive;
        }
        let site = Site::new(card.id.clone(), fields, "bench", Utc::now());
        card = e2e::records::link_site(store, tenant, &card, &site).await;
    }
    card
}

/// Work orders in every status (every fifth completed) and their visits, written through the
/// store as the API writes them. Returns how many of each the cascade must cancel.
async fn add_work(store: &CustomerStore, tenant: &TenantId, card: &Customer) -> (usize, usize) {
    let statuses = [
        WorkStatus::Planned,
        WorkStatus::Scheduled,
        WorkStatus::EnRoute,
        WorkStatus::InProgress,
        WorkStatus::Completed,
    ];
    let site = store
        .linked_page::<domain::Site>(tenant, &card.id, 1, None, false)
        .await
        .expect("sites")
        .items
        .remove(0);
    let (mut open_orders, mut open_jobs) = (0, 0);
    for i in 0..WORK_ORDERS {
        let status = statuses[i % statuses.len()];
        let input = serde_json::from_value(json!({"kind": "order", "title": format!("Service {i}"),
            "siteId": site.id, "status": status, "technician": "tech-1",
            "window": {"start": "2026-12-02T08:00:00Z", "end": "2026-12-02T10:00:00Z"},
            "tasks": [{"title": "Inspect", "status": "done"}, {"title": "Clean"}, {"title": "Test"}]}))
        .expect("valid work order");
        let fields = domain::validate_work_order(input).expect("valid");
        let order = WorkOrder::new(card.id.clone(), fields, "bench", Utc::now());
        e2e::records::link_work_order(store, tenant, &order, card.version).await;
        open_orders += usize::from(status.is_open());
        if i % JOBS_EVERY == 0 {
            let done = (i / JOBS_EVERY) % 4 == 3;
            let input = serde_json::from_value(json!({"technicians": ["tech-1", "tech-2"],
                "status": if done { "completed" } else { "scheduled" },
                "window": {"start": "2026-12-02T08:00:00Z", "end": "2026-12-02T10:00:00Z"}}))
            .expect("valid job");
            let job = Job::new(
                &order,
                domain::validate_job(input).expect("valid"),
                "bench",
                Utc::now(),
            );
            e2e::records::link_job(store, tenant, &order, &job).await;
            open_jobs += usize::from(!done);
        }
    }
    (open_orders, open_jobs)
}

fn per_thousand(usage: Usage, changed: usize) -> String {
    let per = 1_000.0 / changed as f64;
    format!(
        "{:>8.1} {:>8.1} {:>10.1} {:>10.1}",
        f64::from(usage.write_requests) * per,
        f64::from(usage.read_requests) * per,
        usage.estimated_write_units * per,
        usage.estimated_read_units * per,
    )
}

#[tokio::main]
async fn main() {
    let (client, table) = e2e::fresh_table().await;
    let store = e2e::store(table.clone()).await;
    let tenant = TenantId::parse("bench").unwrap();
    let card = customer();
    store.create(&tenant, &card, None).await.expect("customer");
    let card = link_sites(&store, &tenant, card).await;
    let (open_orders, open_jobs) = add_work(&store, &tenant, &card).await;
    let inactive = e2e::records::deactivate(&store, &tenant, &card).await;
    let app = e2e::records::cascade_app(&store).await;
    let record = e2e::deactivation_record(
        &client,
        &table,
        tenant.as_str(),
        &inactive.id.0,
        inactive.version,
    )
    .await;
    let record: customers_cascade::event::Batch =
        serde_json::from_value(record).expect("Lambda's event shape");
    let context = e2e::far_deadline();
    let changed = SITES - ALREADY_INACTIVE + open_orders + open_jobs;

    println!(
        "Deactivation cascade, per 1 000 records changed: {} of {SITES} sites, {open_orders} of \
         {WORK_ORDERS} work orders (3 tasks each), {open_jobs} of {} jobs",
        SITES - ALREADY_INACTIVE,
        WORK_ORDERS / JOBS_EVERY
    );
    println!(
        "{:<28} {:>8} {:>8} {:>10} {:>10} {:>12}",
        "delivery", "writes", "reads", "WCU est", "RCU est", "CPU ms"
    );
    for delivery in ["first", "again (redelivered)"] {
        store.usage().reset();
        let cpu = e2e::cpu_time();
        let response =
            customers_cascade::handle(&app, LambdaEvent::new(record.clone(), context.clone()))
                .await
                .expect("the cascade runs");
        let spent = e2e::cpu_time().saturating_sub(cpu);
        assert_eq!(response["batchItemFailures"], json!([]));
        println!(
            "{delivery:<28} {} {:>12.0}",
            per_thousand(store.usage().snapshot(), changed),
            spent.as_secs_f64() * 1000.0 * 1_000.0 / changed as f64
        );
    }
    let page = store
        .linked_page::<domain::Site>(&tenant, &inactive.id, 100, None, true)
        .await
        .expect("sites");
    assert!(
        page.items
            .iter()
            .all(|s| s.fields.status == domain::SiteStatus::Inactive)
    );
    let orders = store
        .work_orders(&tenant, &inactive.id, &Default::default(), 100, None, true)
        .await
        .expect("work orders");
    assert!(orders.items.iter().all(|w| !w.fields.status.is_open()));
}
