//! The rules every linked record (site, contract, work order, job, ticket) obeys, end to end:
//! nothing new on an inactive customer and nothing reactivated on one; a create racing a
//! deactivation never outlives the cascade; reach before existence; a site in use is not
//! unlinked, and one with past work is kept as `unlinked` so that work stays traceable;
//! contracts expire by themselves; a work order with more open jobs than one transaction holds
//! is cancelled whole.

use std::time::Duration;

use chrono::Utc;
use domain::{CustomerId, Job, JobFields, WorkOrder, WorkStatus};
use e2e::work::{customer_with_site, id_of, job, move_through, window, work_order};
use e2e::{Session, Suite};
use serde_json::{Value, json};
use store::{Depends, Link, TenantId};

const ADMIN: &[&str] = &["administrator"];

async fn deactivate(office: &Session<'_>, id: &str) {
    office
        .post(&format!("/customers/{id}/deactivate"), &json!({}))
        .await
        .expect(200);
}

/// Every item of a list route (all pages).
async fn all(office: &Session<'_>, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = format!("{path}?limit=100");
    loop {
        let page = office.get(&next).await;
        page.expect(200);
        items.extend(page.body["items"].as_array().cloned().unwrap_or_default());
        match page.body["nextCursor"].as_str() {
            Some(cursor) => next = format!("{path}?limit=100&cursor={cursor}"),
            None => return items,
        }
    }
}

#[tokio::test]
async fn an_inactive_customer_takes_no_new_record_and_none_comes_back_to_life() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "9101").await;
    let site_path = format!("/customers/{id}/sites/{site}");
    let contract = office
        .post(
            &format!("/customers/{id}/contracts"),
            &json!({"name": "Service", "period": {"start": "2026-01-01", "end": "2026-02-28"},
                    "siteIds": [site]}),
        )
        .await;
    contract.expect(201);
    // Its period is over: it reads as expired, without anything having run.
    assert_eq!(contract.body["status"], "expired");
    let contract_path = format!("/customers/{id}/contracts/{}", id_of(&contract));
    deactivate(&office, &id).await;

    let refused = office
        .post(
            &format!("/customers/{id}/sites"),
            &json!({"name": "New yard"}),
        )
        .await;
    refused.expect_problem(409, "customer-inactive");
    assert_eq!(refused.body["customerStatus"], "inactive");
    office
        .post(
            &format!("/customers/{id}/contracts"),
            &json!({"name": "New", "period": {"start": "2026-01-01"}}),
        )
        .await
        .expect_problem(409, "customer-inactive");

    // The cascade deactivated the site; it is not reactivated on an inactive customer.
    let mut current = office.get(&site_path).await;
    for _ in 0..50 {
        if current.body["status"] == "inactive" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        current = office.get(&site_path).await;
    }
    assert_eq!(current.body["status"], "inactive", "the cascade ran");
    office
        .patch(&site_path, &current.etag(), &json!({"status": "active"}))
        .await
        .expect_problem(409, "customer-inactive");
    // Changing it otherwise is fine.
    office
        .patch(&site_path, &current.etag(), &json!({"name": "Old yard"}))
        .await
        .expect(200);

    // An expired contract is not made active again on it either, even with a new end.
    let expired = office.get(&contract_path).await;
    assert_eq!(expired.body["status"], "expired");
    office
        .patch(
            &contract_path,
            &expired.etag(),
            &json!({"status": "active", "period": {"end": "2099-12-31"}}),
        )
        .await
        .expect_problem(409, "customer-inactive");

    // Once the customer is active again, both can be.
    office
        .post(&format!("/customers/{id}/reactivate"), &json!({}))
        .await
        .expect(200);
    let current = office.get(&site_path).await;
    office
        .patch(&site_path, &current.etag(), &json!({"status": "active"}))
        .await
        .expect(200);
    // Made active without moving the end, it would read back as expired: refused.
    office
        .patch(
            &contract_path,
            &expired.etag(),
            &json!({"status": "active"}),
        )
        .await
        .expect_problem(422, "validation-failed");
    let revived = office
        .patch(
            &contract_path,
            &expired.etag(),
            &json!({"status": "active", "period": {"end": "2099-12-31"}}),
        )
        .await;
    revived.expect(200);
    assert_eq!(revived.body["status"], "active");
}

/// Sites and contracts created while the customer is being deactivated either land first (and
/// the cascade closes them) or are refused: none is left active once the cascade is done.
#[tokio::test]
async fn records_created_during_a_deactivation_never_outlive_the_cascade() {
    let suite = Suite::start_with(4).await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, _) = customer_with_site(&office, "9102").await;
    let creates = (0..8).map(|i| {
        let office = &office;
        let id = &id;
        async move {
            if i % 2 == 0 {
                office
                    .post(
                        &format!("/customers/{id}/sites"),
                        &json!({"name": format!("S{i}")}),
                    )
                    .await
            } else {
                office
                    .post(
                        &format!("/customers/{id}/contracts"),
                        &json!({"name": format!("C{i}"), "period": {"start": "2026-01-01"}}),
                    )
                    .await
            }
        }
    });
    let (replies, ()) = tokio::join!(futures::future::join_all(creates), async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        deactivate(&office, &id).await;
    });
    for reply in &replies {
        // 412: eight creates and a deactivation on one card, the create's re-reads ran out.
        assert!(
            [201, 409, 412].contains(&reply.status),
            "created or refused: {} {}",
            reply.status,
            reply.body
        );
    }
    let mut live = Vec::new();
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sites = all(&office, &format!("/customers/{id}/sites")).await;
        let contracts = all(&office, &format!("/customers/{id}/contracts")).await;
        live = sites
            .into_iter()
            .chain(contracts)
            .filter(|r| r["status"] == "active")
            .collect();
        if live.is_empty() {
            break;
        }
    }
    assert!(live.is_empty(), "outlived the cascade: {live:?}");
}

/// At the store: a record decided on the customer's version is not written once the customer
/// changed (here: was deactivated) after that version was read.
#[tokio::test]
async fn a_link_decided_on_an_old_version_of_the_customer_is_refused() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "9103").await;
    let order = work_order(&office, &id, &site, "order").await;
    order.expect(201);
    let card = office.get(&format!("/customers/{id}")).await;
    let version: u64 = card.body["version"].as_u64().unwrap();
    deactivate(&office, &id).await;

    let store = suite.store();
    let tenant = TenantId::parse("acme").unwrap();
    let customer = CustomerId(id.clone());
    let read: WorkOrder = serde_json::from_value(order.body.clone()).unwrap();
    let fields = JobFields {
        window: serde_json::from_value(window(2)).unwrap(),
        ..serde_json::from_value::<Job>(job_body(&read))
            .unwrap()
            .fields
    };
    let job = Job::new(&read, fields, "ada", Utc::now());
    let written = store
        .link(
            &tenant,
            Link {
                record: &job,
                depends: vec![Depends::Customer(version)],
                idempotency: None,
            },
        )
        .await;
    assert!(
        matches!(written, Err(store::StoreError::VersionConflict)),
        "{written:?}"
    );
    assert!(
        store
            .linked::<Job>(&tenant, &customer, &job.id)
            .await
            .unwrap()
            .is_none()
    );
}

/// A job as the API would return it, to build one at the store.
fn job_body(work_order: &WorkOrder) -> Value {
    json!({"id": "01J00000000000000000000000", "customerId": work_order.customer_id,
           "workOrderId": work_order.id, "siteId": work_order.fields.site_id,
           "status": "scheduled", "window": window(1), "technicians": ["tech-1"],
           "createdAt": "2026-12-01T00:00:00Z", "createdBy": "ada",
           "updatedAt": "2026-12-01T00:00:00Z", "updatedBy": "ada", "version": 1})
}

#[tokio::test]
async fn a_site_in_use_stays_linked_and_one_with_past_work_stays_readable() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "9104").await;
    let order = work_order(&office, &id, &site, "order").await;
    order.expect(201);
    let order_path = format!("/customers/{id}/work-orders/{}", id_of(&order));
    let visit = job(&office, &id, &id_of(&order), 1).await;
    visit.expect(201);
    let site_path = format!("/customers/{id}/sites/{site}");

    let refused = office.delete(&site_path).await;
    refused.expect_problem(409, "site-in-use");
    let kinds: Vec<&str> = refused.body["dependants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["work order", "job"]);

    // The work is done and a ticket recorded: the site can go, and it stays traceable.
    let job_path = format!("/customers/{id}/jobs/{}", id_of(&visit));
    move_through(&office, &job_path, &["enRoute", "inProgress", "completed"]).await;
    office
        .post(
            &format!("/customers/{id}/tickets"),
            &json!({"jobId": id_of(&visit), "material": "Filter", "quantity": "2",
                    "unit": "pcs", "at": "2026-12-02T09:30:00+01:00"}),
        )
        .await
        .expect(201);
    move_through(
        &office,
        &order_path,
        &["scheduled", "enRoute", "inProgress", "completed"],
    )
    .await;
    office.delete(&site_path).await.expect(204);
    let kept = office.get(&site_path).await;
    kept.expect(200);
    assert_eq!(kept.body["status"], "unlinked");
    assert_eq!(kept.body["name"], "Plant room");
    office
        .patch(&site_path, &kept.etag(), &json!({"name": "Renamed"}))
        .await
        .expect_problem(409, "site-unlinked");
    let card = office.get(&format!("/customers/{id}")).await;
    assert_eq!(card.body["sitesCount"], 0);
    let export = office
        .get(&format!("/customers/{id}/inventory/export"))
        .await;
    export.expect(200);
    let csv = export.body.as_str().expect("CSV text");
    assert!(
        csv.contains("Plant room"),
        "the site's name as it was: {csv}"
    );
    // New work is not planned there.
    work_order(&office, &id, &site, "order")
        .await
        .expect_problem(422, "validation-failed");
    // A site no record names is deleted.
    let spare = office
        .post(&format!("/customers/{id}/sites"), &json!({"name": "Spare"}))
        .await;
    let spare_path = format!("/customers/{id}/sites/{}", id_of(&spare));
    office.delete(&spare_path).await.expect(204);
    office
        .get(&spare_path)
        .await
        .expect_problem(404, "not-found");
}

#[tokio::test]
async fn reach_is_checked_before_existence_when_unlinking_a_site() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let technician = suite.user("acme", "tess", &["technician"]);
    let (id, site) = customer_with_site(&office, "9105").await;
    let unknown = ulid::Ulid::new().to_string();
    // Not assigned: the same answer whether the site exists or not.
    for site in [&site, &unknown] {
        technician
            .delete(&format!("/customers/{id}/sites/{site}"))
            .await
            .expect_problem(403, "forbidden");
    }
}

/// More open jobs than one transaction holds: the cancellation goes in pages, every job is
/// cancelled, and the answer is 200, not 500.
#[tokio::test]
async fn a_work_order_with_many_open_jobs_is_cancelled_whole() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "9106").await;
    let order = work_order(&office, &id, &site, "order").await;
    order.expect(201);
    let read: WorkOrder = serde_json::from_value(order.body.clone()).unwrap();
    let store = suite.store();
    let tenant = TenantId::parse("acme").unwrap();
    let template: Job = serde_json::from_value(job_body(&read)).unwrap();
    for _ in 0..130 {
        let job = Job::new(&read, template.fields.clone(), "ada", Utc::now());
        store
            .link(
                &tenant,
                Link {
                    record: &job,
                    depends: Vec::new(),
                    idempotency: None,
                },
            )
            .await
            .expect("a job");
    }
    let path = format!("/customers/{id}/work-orders/{}", read.id);
    let cancelled = office
        .patch(&path, &order.etag(), &json!({"status": "cancelled"}))
        .await;
    cancelled.expect(200);
    let jobs = store
        .all_linked::<Job>(&tenant, &CustomerId(id.clone()), |_| true)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 130);
    assert!(
        jobs.iter()
            .all(|j| j.fields.status == WorkStatus::Cancelled),
        "every job cancelled"
    );
}

#[tokio::test]
async fn the_customer_and_a_record_read_together_equal_each_read_alone() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "9109").await;
    let order = work_order(&office, &id, &site, "order").await;
    order.expect(201);
    let store = suite.store();
    let tenant = TenantId::parse("acme").unwrap();
    let customer = CustomerId(id.clone());

    let (card, record) = store
        .customer_and_linked::<WorkOrder>(&tenant, &customer, &id_of(&order))
        .await
        .unwrap();
    assert_eq!(card, store.get(&tenant, &customer).await.unwrap());
    assert_eq!(
        record,
        store
            .linked::<WorkOrder>(&tenant, &customer, &id_of(&order))
            .await
            .unwrap()
    );
    assert!(card.is_some() && record.is_some());

    let (card, record) = store
        .customer_and_linked::<WorkOrder>(&tenant, &customer, "01J00000000000000000000000")
        .await
        .unwrap();
    assert!(card.is_some() && record.is_none());
    let (card, record) = store
        .customer_and_linked::<WorkOrder>(
            &tenant,
            &CustomerId("01J00000000000000000000000".into()),
            &id_of(&order),
        )
        .await
        .unwrap();
    assert!(card.is_none() && record.is_none());
}
