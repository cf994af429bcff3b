//! The deactivation cascade at scale: a customer with 5 000 linked records (sites, contracts,
//! work orders open and completed, jobs) is cascaded completely, one write per changed record,
//! through the stream, the built function and its continuations. Its own test binary: it keeps
//! the single-threaded emulator busy for minutes, which would starve tests running beside it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use domain::{Job, Site, WorkOrder, WorkStatus};
use e2e::Suite;
use e2e::work::{customer_with_site, id_of, job, move_through, work_order};
use serde_json::json;
use store::{CustomerStore, JobFilter, TenantId, WorkOrderFilter};

const ADMIN: &[&str] = &["administrator"];

/// Raw copies of a stored item under new ids, written with BatchWriteItem: thousands of linked
/// records without thousands of API calls. `rekey` gives a copy its keys and id.
async fn clone_item(
    suite: &Suite,
    template: HashMap<String, AttributeValue>,
    copies: usize,
    rekey: impl Fn(&mut HashMap<String, AttributeValue>, &str),
) {
    let mut requests = Vec::new();
    for _ in 0..copies {
        let mut item = template.clone();
        let id = ulid::Ulid::new().to_string();
        rekey(&mut item, &id);
        item.insert("id".into(), AttributeValue::S(id));
        requests.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build(),
        );
    }
    for chunk in requests.chunks(25) {
        let mut pending = chunk.to_vec();
        while !pending.is_empty() {
            let out = suite
                .dynamodb
                .batch_write_item()
                .request_items(suite.table(), pending)
                .send()
                .await
                .expect("seeded");
            pending = out
                .unprocessed_items
                .and_then(|mut u| u.remove(suite.table()))
                .unwrap_or_default();
        }
    }
}

async fn raw_item(suite: &Suite, key: store::keys::Key) -> HashMap<String, AttributeValue> {
    suite
        .dynamodb
        .get_item()
        .table_name(suite.table())
        .key("PK", AttributeValue::S(key.pk))
        .key("SK", AttributeValue::S(key.sk))
        .send()
        .await
        .expect("read")
        .item
        .expect("the template item")
}

fn set(item: &mut HashMap<String, AttributeValue>, name: &str, value: String) {
    item.insert(name.into(), AttributeValue::S(value));
}

#[tokio::test]
async fn a_customer_with_5000_linked_records_is_cascaded_completely_one_write_each() {
    const SITES: usize = 1000;
    const CONTRACTS: usize = 1000;
    const OPEN_ORDERS: usize = 1500;
    const DONE_ORDERS: usize = 500;
    const JOBS: usize = 1000;
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let tenant = TenantId::parse("acme").unwrap();
    let (id, site) = customer_with_site(&office, "6201").await;
    let contract = office
        .post(
            &format!("/customers/{id}/contracts"),
            &json!({"name": "Service", "period": {"start": "2026-01-01"}}),
        )
        .await;
    contract.expect(201);
    let open = work_order(&office, &id, &site, "order").await;
    let open_path = format!("/customers/{id}/work-orders/{}", id_of(&open));
    move_through(&office, &open_path, &["scheduled"]).await;
    let done = work_order(&office, &id, &site, "order").await;
    let done_path = format!("/customers/{id}/work-orders/{}", id_of(&done));
    move_through(
        &office,
        &done_path,
        &["scheduled", "enRoute", "inProgress", "completed"],
    )
    .await;
    let visit = job(&office, &id, &id_of(&open), 1).await;

    let customer = domain::CustomerId(id.clone());
    let site_key = store::keys::site(&tenant, &customer, &site);
    clone_item(
        &suite,
        raw_item(&suite, site_key).await,
        SITES - 1,
        |item, new| {
            set(item, "SK", format!("SITE#{new}"));
        },
    )
    .await;
    let contract_key = store::keys::contract(&tenant, &customer, &id_of(&contract));
    clone_item(
        &suite,
        raw_item(&suite, contract_key).await,
        CONTRACTS - 1,
        |item, new| {
            set(item, "SK", format!("CONTRACT#{new}"));
        },
    )
    .await;
    for (template, copies) in [(&open, OPEN_ORDERS - 1), (&done, DONE_ORDERS - 1)] {
        let key = store::keys::work_order(&tenant, &customer, &id_of(template));
        clone_item(&suite, raw_item(&suite, key).await, copies, |item, new| {
            set(item, "SK", format!("WORKORDER#{new}"));
        })
        .await;
    }
    let job_key = store::keys::job(&tenant, &customer, &id_of(&visit));
    let start = visit.body["window"]["start"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    clone_item(
        &suite,
        raw_item(&suite, job_key).await,
        JOBS - 1,
        |item, new| {
            set(item, "SK", format!("JOB#{new}"));
            set(item, "GSI4SK", store::keys::job_start_sort_key(&start, new));
        },
    )
    .await;

    let started = Instant::now();
    office
        .post(&format!("/customers/{id}/deactivate"), &json!({}))
        .await
        .expect(200);
    // Read back through the store, page by page, until nothing is open.
    let store = suite.store();
    let (sites, contracts, orders, jobs) = loop {
        let all = everything(&store, &tenant, &customer).await;
        let open_left = all
            .0
            .iter()
            .any(|s| s.fields.status == domain::SiteStatus::Active)
            || all
                .1
                .iter()
                .any(|c| c.fields.status == domain::ContractStatus::Active)
            || all.2.iter().any(|w| w.fields.status.is_open())
            || all.3.iter().any(|j| j.fields.status.is_open());
        if !open_left {
            break all;
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "the cascade did not finish"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    println!("5 000 linked records cascaded in {:?}", started.elapsed());
    assert_eq!(
        (sites.len(), contracts.len(), orders.len(), jobs.len()),
        (SITES, CONTRACTS, OPEN_ORDERS + DONE_ORDERS, JOBS)
    );
    // One write per changed record: each is one version further; completed work untouched.
    let template_version = |reply: &e2e::Reply| reply.body["version"].as_u64().unwrap();
    assert!(
        sites
            .iter()
            .all(|s| s.version == 2 && s.updated_by == "cascade:deactivation")
    );
    assert!(contracts.iter().all(|c| c.version == 2));
    let open_version = office.get(&open_path).await.body["version"]
        .as_u64()
        .unwrap();
    let cancelled = orders
        .iter()
        .filter(|w| w.fields.status == WorkStatus::Cancelled);
    assert_eq!(cancelled.clone().count(), OPEN_ORDERS);
    assert!(cancelled.clone().all(|w| w.version == open_version));
    let completed = orders
        .iter()
        .filter(|w| w.fields.status == WorkStatus::Completed);
    assert_eq!(completed.clone().count(), DONE_ORDERS);
    let done_version = office.get(&done_path).await.body["version"]
        .as_u64()
        .unwrap();
    assert!(
        completed
            .clone()
            .all(|w| w.version == done_version && w.updated_by == "ada")
    );
    assert!(
        jobs.iter()
            .all(|j| j.version == template_version(&visit) + 1)
    );

    // History names each changed record once.
    let mut named: HashMap<String, usize> = HashMap::new();
    let mut cursor: Option<String> = None;
    let card = store
        .get(&tenant, &customer)
        .await
        .unwrap()
        .expect("the card");
    loop {
        let page = store
            .history(&tenant, &card, 100, cursor.as_deref())
            .await
            .unwrap();
        for entry in &page.items {
            if entry.by == "cascade:deactivation" {
                *named.entry(format!("{:?}", entry.kind)).or_default() += entry.changes.len();
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(named["SitesDeactivated"], SITES);
    assert_eq!(named["ContractsCancelled"], CONTRACTS);
    assert_eq!(named["WorkOrdersCancelled"], OPEN_ORDERS);
    assert_eq!(named["JobsCancelled"], JOBS);
}

async fn everything(
    store: &CustomerStore,
    tenant: &TenantId,
    customer: &domain::CustomerId,
) -> (Vec<Site>, Vec<domain::Contract>, Vec<WorkOrder>, Vec<Job>) {
    let mut all = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .linked_page::<domain::Site>(tenant, customer, 100, cursor.as_deref(), true)
            .await
            .unwrap();
        all.0.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    loop {
        let page = store
            .linked_page::<domain::Contract>(tenant, customer, 100, cursor.as_deref(), true)
            .await
            .unwrap();
        all.1.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let filter = WorkOrderFilter::default();
    loop {
        let page = store
            .work_orders(tenant, customer, &filter, 100, cursor.as_deref(), true)
            .await
            .unwrap();
        all.2.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let filter = JobFilter::default();
    loop {
        let page = store
            .jobs_in_partition(tenant, customer, &filter, 100, cursor.as_deref())
            .await
            .unwrap();
        all.3.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    all
}
