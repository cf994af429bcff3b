//! The deactivation cascade and a customer's work: open work orders (with their open tasks)
//! and open jobs are cancelled, closed work is left as it is, history says why, redelivery
//! changes nothing, a technician completing work while the cascade runs ends in one state, and
//! a customer with 5 000 linked records completes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::{Customer, WorkOrder, WorkStatus};
use e2e::work::{customer_with_site, id_of, job, move_through, work_order};
use e2e::{Session, Suite};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use store::{CascadeError, CustomerStore, StoreError, TenantId, WorkOrderFilter};

const ADMIN: &[&str] = &["administrator"];
const WAIT: Duration = Duration::from_secs(120);

/// The statuses a work order is moved through to reach each status.
const PATHS: [(&str, &[&str]); 6] = [
    ("planned", &[]),
    ("scheduled", &["scheduled"]),
    ("enRoute", &["scheduled", "enRoute"]),
    ("inProgress", &["scheduled", "enRoute", "inProgress"]),
    (
        "completed",
        &["scheduled", "enRoute", "inProgress", "completed"],
    ),
    ("cancelled", &["cancelled"]),
];

fn items(reply: &Value) -> Vec<Value> {
    reply["items"].as_array().cloned().unwrap_or_default()
}

/// Waits until the customer has no open work order and no open job; returns both lists.
async fn all_work_closed(office: &Session<'_>, id: &str) -> (Vec<Value>, Vec<Value>) {
    let started = Instant::now();
    let open = |w: &Value| w["status"] != "completed" && w["status"] != "cancelled";
    loop {
        let orders = items(
            &office
                .get(&format!("/customers/{id}/work-orders?limit=100"))
                .await
                .body,
        );
        let jobs = items(
            &office
                .get(&format!("/customers/{id}/jobs?limit=100"))
                .await
                .body,
        );
        if !orders.iter().any(open) && !jobs.iter().any(open) {
            return (orders, jobs);
        }
        assert!(
            started.elapsed() < WAIT,
            "the cascade did not finish: {orders:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn history(office: &Session<'_>, id: &str) -> Vec<Value> {
    items(
        &office
            .get(&format!("/customers/{id}/history?limit=100"))
            .await
            .body,
    )
}

#[tokio::test]
async fn deactivation_cancels_open_work_and_leaves_closed_work_traceable() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "6001").await;
    let mut orders: HashMap<&str, Value> = HashMap::new();
    for (status, path) in PATHS {
        let created = work_order(&office, &id, &site, "order").await;
        created.expect(201);
        let at = format!("/customers/{id}/work-orders/{}", id_of(&created));
        let reply = if path.is_empty() {
            created
        } else {
            move_through(&office, &at, path).await
        };
        assert_eq!(reply.body["status"], status);
        orders.insert(status, reply.body);
    }
    let order_id = |status: &str| orders[status]["id"].as_str().unwrap().to_owned();
    // Visits: one scheduled, one under way, one done.
    let scheduled_job = job(&office, &id, &order_id("scheduled"), 2).await.body;
    let moving = job(&office, &id, &order_id("enRoute"), 3).await;
    let moving_job = move_through(
        &office,
        &format!("/customers/{id}/jobs/{}", id_of(&moving)),
        &["enRoute", "inProgress"],
    )
    .await
    .body;
    let done = job(&office, &id, &order_id("inProgress"), 1).await;
    let done_job = move_through(
        &office,
        &format!("/customers/{id}/jobs/{}", id_of(&done)),
        &["enRoute", "inProgress", "completed"],
    )
    .await
    .body;

    let deactivated = office
        .post(&format!("/customers/{id}/deactivate"), &json!({}))
        .await;
    deactivated.expect(200);
    let (after_orders, after_jobs) = all_work_closed(&office, &id).await;

    for (status, before) in &orders {
        let after = after_orders
            .iter()
            .find(|w| w["id"] == before["id"])
            .unwrap();
        let tasks: Vec<&str> = after["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["status"].as_str().unwrap())
            .collect();
        if ["completed", "cancelled"].contains(status) {
            assert_eq!(after, before, "closed work is untouched");
        } else {
            assert_eq!(after["status"], "cancelled", "{status}");
            assert_eq!(after["updatedBy"], "cascade:deactivation");
            assert_eq!(after["version"], before["version"].as_u64().unwrap() + 1);
            assert_eq!(tasks, ["done", "cancelled"], "done tasks stay done");
        }
    }
    let job_after = |before: &Value| {
        after_jobs
            .iter()
            .find(|j| j["id"] == before["id"])
            .cloned()
            .unwrap()
    };
    assert_eq!(
        job_after(&done_job),
        done_job,
        "completed visits are untouched"
    );
    for open in [&scheduled_job, &moving_job] {
        let after = job_after(open);
        assert_eq!(after["status"], "cancelled");
        assert_eq!(after["version"], open["version"].as_u64().unwrap() + 1);
    }

    let entries = history(&office, &id).await;
    let entry = |kind: &str| entries.iter().find(|e| e["kind"] == kind).cloned().unwrap();
    let work_entry = entry("workOrdersCancelled");
    assert_eq!(work_entry["by"], "cascade:deactivation");
    let mut changes: Vec<(String, String)> = work_entry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_owned(),
                c["before"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    changes.sort();
    let mut expected: Vec<(String, String)> = ["planned", "scheduled", "enRoute", "inProgress"]
        .iter()
        .map(|s| {
            (
                format!("/workOrders/{}/status", order_id(s)),
                (*s).to_owned(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(changes, expected);
    let job_entry = entry("jobsCancelled");
    assert_eq!(job_entry["changes"].as_array().unwrap().len(), 2);
    assert_eq!(job_entry["changes"][0]["after"], "cancelled");

    // Redelivered: nothing more is written.
    let version: u64 = deactivated.etag().trim_matches('"').parse().unwrap();
    let cascade = &suite.stack.functions["CustomersCascadeFunction"];
    let response = cascade
        .invoke(
            e2e::deactivation_record(&suite.dynamodb, suite.table(), "acme", &id, version).await,
        )
        .await
        .expect("the cascade answers");
    assert_eq!(response["batchItemFailures"], json!([]));
    assert_eq!(history(&office, &id).await.len(), entries.len());
    assert_eq!(
        all_work_closed(&office, &id).await,
        (after_orders, after_jobs)
    );

    // Reactivated: usable again, but the cancelled work stays cancelled and closed.
    let reactivated = office
        .post(&format!("/customers/{id}/reactivate"), &json!({}))
        .await;
    assert_eq!(
        reactivated.body["reactivation"]["restoresCancelledWork"],
        false
    );
    let path = format!("/customers/{id}/work-orders/{}", order_id("inProgress"));
    let current = office.get(&path).await;
    assert_eq!(current.body["status"], "cancelled");
    office
        .patch(&path, &current.etag(), &json!({"status": "completed"}))
        .await
        .expect_problem(409, "work-closed");
    // New work needs an active site again: sites come back one by one.
    work_order(&office, &id, &site, "order")
        .await
        .expect_problem(422, "validation-failed");
    let site_path = format!("/customers/{id}/sites/{site}");
    let etag = office.get(&site_path).await.etag();
    office
        .patch(&site_path, &etag, &json!({"status": "active"}))
        .await
        .expect(200);
    work_order(&office, &id, &site, "order").await.expect(201);
}

/// A customer, a site and three work orders in progress, written through the store into a
/// table no stream mapping reads: here the cascade runs only when the test says so.
async fn customer_with_work_in_progress(
    store: &CustomerStore,
    tenant: &TenantId,
) -> (Customer, Vec<WorkOrder>) {
    let card = e2e::records::card("C1", "Race", "Test", "ada");
    store.create(tenant, &card, None).await.expect("customer");
    let site = e2e::records::site(&card, "Yard", "ada");
    let linked = e2e::records::link_site(store, tenant, &card, &site).await;
    let mut orders = Vec::new();
    for i in 0..3 {
        let fields = domain::validate_work_order(
            serde_json::from_value(json!({"kind": "order", "title": format!("Job {i}"),
                "siteId": site.id, "status": "inProgress", "technician": "tech-1",
                "window": {"start": "2026-12-02T08:00:00Z", "end": "2026-12-02T10:00:00Z"},
                "tasks": [{"title": "Fix it"}]}))
            .unwrap(),
        )
        .unwrap();
        let order = WorkOrder::new(card.id.clone(), fields, "ada", Utc::now());
        e2e::records::link_work_order(store, tenant, &order, linked.version).await;
        orders.push(order);
    }
    (linked, orders)
}

#[tokio::test]
async fn a_work_order_completed_while_the_cascade_runs_is_completed_and_never_half_cancelled() {
    let (client, table) = e2e::fresh_table().await;
    let store = e2e::store(table.clone()).await;
    let tenant = TenantId::parse("acme").unwrap();
    let (card, orders) = customer_with_work_in_progress(&store, &tenant).await;
    let inactive = e2e::records::deactivate(&store, &tenant, &card).await;

    // The cascade reads the page and decides what to cancel...
    let page = store
        .work_orders(
            &tenant,
            &card.id,
            &WorkOrderFilter::default(),
            50,
            None,
            true,
        )
        .await
        .unwrap();
    let (decided, history) =
        customers_cascade::closed_page(&page.items, inactive.version, Utc::now());
    assert_eq!(decided.len(), 3);
    // ...a technician completes the second one before the cascade writes...
    let racer = &orders[1];
    let mut fields = racer.fields.clone();
    fields.status = WorkStatus::Completed;
    fields.tasks[0].status = domain::TaskStatus::Done;
    let completed = racer.changed(fields, "tech-1", Utc::now());
    store
        .change(&tenant, &completed, racer.version, &[])
        .await
        .expect("the technician's write wins");
    // ...so the cascade's page write fails as a whole: nothing is half-cancelled.
    let written = store
        .close_for_cascade(&tenant, &card.id, &decided, &history)
        .await;
    assert!(matches!(written, Err(CascadeError::Changed)), "{written:?}");
    let first = store
        .linked::<WorkOrder>(&tenant, &card.id, &orders[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, orders[0], "the whole page was refused");

    // The cascade itself reads the page again and leaves the completed one alone.
    let app = e2e::records::cascade_app(&store).await;
    let record =
        e2e::deactivation_record(&client, &table, "acme", &card.id.0, inactive.version).await;
    let record = serde_json::from_value(record).expect("Lambda's event shape");
    let response = customers_cascade::handle(&app, LambdaEvent::new(record, e2e::far_deadline()))
        .await
        .expect("the cascade runs");
    assert_eq!(response["batchItemFailures"], json!([]));
    let now: Vec<WorkOrder> = store
        .work_orders(
            &tenant,
            &card.id,
            &WorkOrderFilter::default(),
            50,
            None,
            true,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(now[1], completed, "completed work is untouched");
    for cancelled in [&now[0], &now[2]] {
        assert_eq!(cancelled.fields.status, WorkStatus::Cancelled);
        assert_eq!(
            cancelled.fields.tasks[0].status,
            domain::TaskStatus::Cancelled
        );
        assert_eq!(cancelled.version, 2);
    }
    // The technician who read the second-to-last state loses in turn: a stale write fails,
    // and the state machine refuses to complete cancelled work.
    let late = orders[0].changed(completed.fields.clone(), "tech-1", Utc::now());
    let refused = store.change(&tenant, &late, orders[0].version, &[]).await;
    assert!(matches!(refused, Err(StoreError::VersionConflict)));
    assert!(
        domain::check_change("work order", WorkStatus::Cancelled, WorkStatus::Completed).is_err()
    );
}

#[tokio::test]
async fn technicians_completing_work_during_the_cascade_each_end_in_one_consistent_state() {
    // One work order per page: the cascade takes a while, and the completions land before,
    // between and after its pages.
    let suite = Suite::start_with_parameters(2, &[("CascadePageSize", "1")]).await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "6101").await;
    let mut paths = Vec::new();
    for _ in 0..24 {
        let created = work_order(&office, &id, &site, "order").await;
        let path = format!("/customers/{id}/work-orders/{}", id_of(&created));
        move_through(&office, &path, &["scheduled", "enRoute", "inProgress"]).await;
        paths.push(path);
    }
    let etags: Vec<String> = futures::future::join_all(paths.iter().map(|p| office.get(p)))
        .await
        .iter()
        .map(|r| r.etag())
        .collect();
    office
        .post(&format!("/customers/{id}/deactivate"), &json!({}))
        .await
        .expect(200);
    let completions = paths
        .iter()
        .zip(&etags)
        .enumerate()
        .map(|(i, (path, etag))| {
            let office = &office;
            async move {
                tokio::time::sleep(Duration::from_millis(100 * i as u64)).await;
                office
                    .patch(path, etag, &json!({"status": "completed"}))
                    .await
            }
        });
    let replies = futures::future::join_all(completions).await;
    let (orders, _) = all_work_closed(&office, &id).await;
    let mut outcomes = HashMap::new();
    for (path, reply) in paths.iter().zip(&replies) {
        let order = orders
            .iter()
            .find(|w| path.ends_with(w["id"].as_str().unwrap()))
            .unwrap();
        let tasks: Vec<&str> = order["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["status"].as_str().unwrap())
            .collect();
        match reply.status {
            200 => {
                assert_eq!(order["status"], "completed");
                assert_eq!(order["updatedBy"], "ada");
                assert_eq!(tasks, ["done", "open"]);
            }
            409 | 412 => {
                assert_eq!(order["status"], "cancelled");
                assert_eq!(order["updatedBy"], "cascade:deactivation");
                assert_eq!(tasks, ["done", "cancelled"]);
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
        *outcomes.entry(reply.status).or_insert(0) += 1;
    }
    println!("completions by outcome: {outcomes:?}");
    let entries = history(&office, &id).await;
    let cancelled_in_history: usize = entries
        .iter()
        .filter(|e| e["kind"] == "workOrdersCancelled")
        .map(|e| e["changes"].as_array().unwrap().len())
        .sum();
    let cancelled = orders.iter().filter(|w| w["status"] == "cancelled").count();
    assert_eq!(
        cancelled_in_history, cancelled,
        "history names exactly what was cancelled"
    );
}

/// Deactivates `card` and runs the cascade in-process on its stream record; answers the
/// store's requests the cascade made.
async fn cascade_counted(
    store: &CustomerStore,
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    card: &Customer,
) -> store::Usage {
    let tenant = TenantId::parse("acme").unwrap();
    let inactive = e2e::records::deactivate(store, &tenant, card).await;
    let record =
        e2e::deactivation_record(client, table, "acme", &card.id.0, inactive.version).await;
    let record = serde_json::from_value(record).expect("Lambda's event shape");
    let app = e2e::records::cascade_app(store).await;
    store.usage().reset();
    let response = customers_cascade::handle(&app, LambdaEvent::new(record, e2e::far_deadline()))
        .await
        .expect("the cascade runs");
    assert_eq!(response["batchItemFailures"], json!([]));
    store.usage().snapshot()
}

/// The site of [`customer_with_work_in_progress`] is inactive and its work orders cancelled.
async fn assert_site_and_orders_closed(
    store: &CustomerStore,
    card: &Customer,
    orders: &[WorkOrder],
) {
    let tenant = TenantId::parse("acme").unwrap();
    let site: Vec<domain::Site> = store.all_linked(&tenant, &card.id, |_| true).await.unwrap();
    assert_eq!(site[0].fields.status, domain::SiteStatus::Inactive);
    for order in orders {
        let now = store
            .linked::<WorkOrder>(&tenant, &card.id, &order.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.fields.status, WorkStatus::Cancelled);
    }
}

#[tokio::test]
async fn the_cascade_reads_only_the_kinds_a_customer_has_and_still_closes_everything() {
    let (client, table) = e2e::fresh_table().await;
    let store = e2e::store(table.clone()).await;
    let tenant = TenantId::parse("acme").unwrap();

    // A customer with no records: one Query finds none of the four kinds, nothing is written.
    let lone = e2e::records::card("C0", "Only", "Contact", "ada");
    store.create(&tenant, &lone, None).await.expect("customer");
    let usage = cascade_counted(&store, &client, &table, &lone).await;
    assert_eq!((usage.read_requests, usage.write_requests), (1, 0));

    // A site and work orders in progress, no contracts or jobs: the survey, then a page of
    // each kind it found, each closed in one transaction.
    let (card, orders) = customer_with_work_in_progress(&store, &tenant).await;
    let usage = cascade_counted(&store, &client, &table, &card).await;
    assert_eq!((usage.read_requests, usage.write_requests), (3, 2));
    assert_site_and_orders_closed(&store, &card, &orders).await;

    // A long history before the records: the survey stops in it, so every kind after where it
    // stopped is read as before, and everything open is still closed.
    let (client, table) = e2e::fresh_table().await;
    let store = e2e::store(table.clone()).await;
    let (card, orders) = customer_with_work_in_progress(&store, &tenant).await;
    let partition = store::keys::customer_partition(&tenant, &card.id);
    for _ in 0..60 {
        client
            .put_item()
            .table_name(&table)
            .item(
                "PK",
                aws_sdk_dynamodb::types::AttributeValue::S(partition.clone()),
            )
            .item(
                "SK",
                aws_sdk_dynamodb::types::AttributeValue::S(format!(
                    "HISTORY#{}",
                    ulid::Ulid::new()
                )),
            )
            .send()
            .await
            .expect("a history item");
    }
    let usage = cascade_counted(&store, &client, &table, &card).await;
    assert_eq!(
        usage.read_requests, 4,
        "the survey, then sites, work orders and jobs; no contracts (passed)"
    );
    assert_site_and_orders_closed(&store, &card, &orders).await;
}
