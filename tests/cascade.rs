//! The deactivation cascade end to end: a customer deactivated through the API -> the table's
//! stream -> devhost's stream mapping with the template's filter -> the built cascade function
//! -> its sites inactive, with the cascade in the history. Redelivery changes nothing.

use std::time::{Duration, Instant};

use e2e::{Reply, Session, Suite, customer};
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];
const WAIT: Duration = Duration::from_secs(60);

fn id_of(reply: &Reply) -> String {
    reply.body["id"].as_str().expect("an id").to_owned()
}

async fn customer_with_sites(
    office: &Session<'_>,
    number: &str,
    sites: usize,
) -> (String, Vec<String>) {
    let id = id_of(
        &office
            .post("/customers", &customer(number, "Anna", "Berg"))
            .await,
    );
    let mut site_ids = Vec::new();
    for i in 0..sites {
        let site = office
            .post(
                &format!("/customers/{id}/sites"),
                &json!({"name": format!("Site {i}")}),
            )
            .await;
        site.expect(201);
        site_ids.push(id_of(&site));
    }
    (id, site_ids)
}

async fn sites(office: &Session<'_>, id: &str) -> Vec<Value> {
    office
        .get(&format!("/customers/{id}/sites?limit=100"))
        .await
        .body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until no site of the customer is active.
async fn all_inactive(office: &Session<'_>, id: &str) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let sites = sites(office, id).await;
        if sites.iter().all(|s| s["status"] == "inactive") {
            return sites;
        }
        assert!(
            started.elapsed() < WAIT,
            "the cascade did not run: {sites:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn history_kinds(office: &Session<'_>, id: &str) -> Vec<String> {
    office
        .get(&format!("/customers/{id}/history?limit=100"))
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn deactivating_a_customer_deactivates_its_sites_once_and_says_why() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site_ids) = customer_with_sites(&office, "8001", 3).await;
    // One site is inactive already: the cascade leaves it as it is.
    let path = format!("/customers/{id}/sites/{}", site_ids[2]);
    let etag = office.get(&path).await.etag();
    let untouched = office
        .patch(&path, &etag, &json!({"status": "inactive"}))
        .await;
    untouched.expect(200);

    // Contracts: an active one is cancelled, an expired one left as it is.
    let contracts = format!("/customers/{id}/contracts");
    let active = office
        .post(
            &contracts,
            &json!({"name": "Service", "period": {"start": "2026-01-01"},
                                  "siteIds": [site_ids[0]]}),
        )
        .await;
    active.expect(201);
    let expired = office
        .post(
            &contracts,
            &json!({"name": "Old", "period": {"start": "2020-01-01",
                                                           "end": "2020-12-31"}}),
        )
        .await;
    let expired_path = format!("{contracts}/{}", id_of(&expired));
    let expired = office
        .patch(
            &expired_path,
            &expired.etag(),
            &json!({"status": "expired"}),
        )
        .await;
    expired.expect(200);

    let deactivated = office
        .post(&format!("/customers/{id}/deactivate"), &json!({}))
        .await;
    deactivated.expect(200);
    let sites = all_inactive(&office, &id).await;
    let started = Instant::now();
    let contract_path = format!("{contracts}/{}", id_of(&active));
    loop {
        let contract = office.get(&contract_path).await;
        if contract.body["status"] == "cancelled" {
            assert_eq!(contract.body["updatedBy"], "cascade:deactivation");
            break;
        }
        assert!(started.elapsed() < WAIT, "not cancelled: {}", contract.body);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let old = office.get(&expired_path).await;
    assert_eq!(old.body["status"], "expired");
    assert_eq!(old.body["version"], expired.body["version"], "untouched");
    let by_cascade = sites
        .iter()
        .filter(|s| s["updatedBy"] == "cascade:deactivation")
        .count();
    assert_eq!(by_cascade, 2, "{sites:?}");
    let kept = sites
        .iter()
        .find(|s| s["id"] == site_ids[2].as_str())
        .unwrap();
    assert_eq!(kept["version"], untouched.body["version"], "untouched");

    let history = office.get(&format!("/customers/{id}/history")).await;
    let cancelled = &history.body["items"][0];
    assert_eq!(cancelled["kind"], "contractsCancelled");
    assert_eq!(
        cancelled["changes"],
        json!([{"field": format!("/contracts/{}/status", id_of(&active)),
                "before": "active", "after": "cancelled"}])
    );
    let entry = &history.body["items"][1];
    assert_eq!(entry["kind"], "sitesDeactivated");
    assert_eq!(entry["by"], "cascade:deactivation");
    assert_eq!(entry["changes"].as_array().unwrap().len(), 2);
    assert_eq!(
        entry["changes"][0]["field"],
        format!("/sites/{}/status", site_ids[0])
    );

    // The same record delivered again: nothing more happens.
    let version: u64 = deactivated.etag().trim_matches('"').parse().unwrap();
    let before = history_kinds(&office, &id).await;
    let cascade = &suite.stack.functions["CustomersCascadeFunction"];
    let response = cascade
        .invoke(
            e2e::deactivation_record(&suite.dynamodb, suite.table(), "acme", &id, version).await,
        )
        .await
        .expect("the cascade answers");
    assert_eq!(response["batchItemFailures"], json!([]));
    assert_eq!(history_kinds(&office, &id).await, before);

    // Reactivation does not bring the sites back; a site is reactivated on its own.
    office
        .post(&format!("/customers/{id}/reactivate"), &json!({}))
        .await
        .expect(200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sites_now_inactive(&office, &id).await);
    let site = format!("/customers/{id}/sites/{}", site_ids[0]);
    let etag = office.get(&site).await.etag();
    let back = office
        .patch(&site, &etag, &json!({"status": "active"}))
        .await;
    assert_eq!(back.body["status"], "active");
}

async fn sites_now_inactive(office: &Session<'_>, id: &str) -> bool {
    sites(office, id)
        .await
        .iter()
        .all(|s| s["status"] == "inactive")
}

#[tokio::test]
async fn a_cascade_pages_through_the_sites_and_continues_in_new_invocations() {
    // One site per page, one page per invocation: three sites take three invocations, the
    // second and third through the cascade queue.
    let suite = Suite::start_with_parameters(
        2,
        &[("CascadePageSize", "1"), ("CascadePagesPerInvocation", "1")],
    )
    .await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, _) = customer_with_sites(&office, "8101", 3).await;
    office
        .post(&format!("/customers/{id}/deactivate"), &json!({}))
        .await
        .expect(200);
    all_inactive(&office, &id).await;
    let kinds = history_kinds(&office, &id).await;
    let pages = kinds.iter().filter(|k| *k == "sitesDeactivated").count();
    assert_eq!(pages, 3, "{kinds:?}");
}

#[tokio::test]
async fn a_customer_active_again_stops_the_cascade() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, _) = customer_with_sites(&office, "8201", 2).await;
    // A record for a customer that is active (it was reactivated before its cascade ran).
    let cascade = &suite.stack.functions["CustomersCascadeFunction"];
    let response = cascade
        .invoke(e2e::deactivation_record(&suite.dynamodb, suite.table(), "acme", &id, 3).await)
        .await
        .expect("the cascade answers");
    assert_eq!(response["batchItemFailures"], json!([]));
    assert!(
        sites(&office, &id)
            .await
            .iter()
            .all(|s| s["status"] == "active")
    );
    // Records that name no customer are not retried.
    let junk = json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "junk"}]});
    assert_eq!(
        cascade.invoke(junk).await.expect("answers")["batchItemFailures"],
        json!([])
    );
}
