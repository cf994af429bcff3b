//! Customer contracts end to end: created over a period and some of the customer's sites,
//! listed, changed with If-Match, cancelled for good; only the customer's own sites.

use e2e::{Reply, Suite, customer};
use serde_json::json;

const ADMIN: &[&str] = &["administrator"];

fn id_of(reply: &Reply) -> String {
    reply.body["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn a_contract_covers_the_customer_s_sites_over_a_period_and_ends_when_cancelled() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let id = id_of(
        &office
            .post("/customers", &customer("9001", "Anna", "Berg"))
            .await,
    );
    let other = id_of(
        &office
            .post("/customers", &customer("9002", "Bo", "Ek"))
            .await,
    );
    let site = id_of(
        &office
            .post(&format!("/customers/{id}/sites"), &json!({"name": "Yard"}))
            .await,
    );
    let foreign_site = id_of(
        &office
            .post(
                &format!("/customers/{other}/sites"),
                &json!({"name": "Elsewhere"}),
            )
            .await,
    );
    let contracts = format!("/customers/{id}/contracts");

    let refused = office
        .post(
            &contracts,
            &json!({"name": "Service", "period": {"start": "2026-01-01"},
                    "siteIds": [site, foreign_site]}),
        )
        .await;
    refused.expect_problem(422, "validation-failed");
    assert_eq!(
        refused.field_errors(),
        vec![("/siteIds/1".into(), "unknown_site".into())]
    );
    let refused = office
        .post(
            &contracts,
            &json!({"name": "S", "period": {"start": "2026-05-01", "end": "2026-04-01"}}),
        )
        .await;
    assert_eq!(
        refused.field_errors(),
        vec![("/period/end".into(), "before_start".into())]
    );

    let created = office
        .post(
            &contracts,
            &json!({"name": "Service 2026", "reference": "K-17",
                    "period": {"start": "2026-01-01", "end": "2026-12-31"}, "siteIds": [site]}),
        )
        .await;
    created.expect(201);
    let contract = id_of(&created);
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["period"]["end"], "2026-12-31");
    let path = format!("{contracts}/{contract}");
    assert_eq!(created.header("location"), Some(path.as_str()));
    let card = office.get(&format!("/customers/{id}")).await;
    assert_eq!(card.body["version"], 2, "only the site changed the card");

    let list = office.get(&contracts).await;
    assert_eq!(list.body["items"][0]["name"], "Service 2026");
    let etag = office.get(&path).await.etag();
    let changed = office
        .patch(&path, &etag, &json!({"period": {"end": "2027-06-30"}}))
        .await;
    changed.expect(200);
    assert_eq!(changed.body["period"]["start"], "2026-01-01", "kept");
    assert_eq!(changed.body["period"]["end"], "2027-06-30");
    let cancelled = office
        .patch(&path, &changed.etag(), &json!({"status": "cancelled"}))
        .await;
    assert_eq!(cancelled.body["status"], "cancelled");
    office
        .patch(&path, &cancelled.etag(), &json!({"status": "active"}))
        .await
        .expect_problem(409, "contract-cancelled");

    // A site unlinked later stays named; the contract can still change.
    let spare = id_of(
        &office
            .post(
                &format!("/customers/{other}/sites"),
                &json!({"name": "Spare"}),
            )
            .await,
    );
    let second = office
        .post(
            &format!("/customers/{other}/contracts"),
            &json!({"name": "S", "period": {"start": "2026-01-01"}, "siteIds": [spare]}),
        )
        .await;
    second.expect(201);
    // An active contract keeps its site linked.
    let in_use = office
        .delete(&format!("/customers/{other}/sites/{spare}"))
        .await;
    in_use.expect_problem(409, "site-in-use");
    assert_eq!(in_use.body["dependants"][0]["kind"], "contract");
    assert_eq!(in_use.body["dependants"][0]["id"], id_of(&second));
    let second_path = format!("/customers/{other}/contracts/{}", id_of(&second));
    office
        .patch(&second_path, &second.etag(), &json!({"name": "Renamed"}))
        .await
        .expect(200);

    // No contracts for an inactive customer; one with contracts is not deleted.
    let lone = id_of(
        &office
            .post("/customers", &customer("9003", "Cy", "Ro"))
            .await,
    );
    office
        .post(
            &format!("/customers/{lone}/contracts"),
            &json!({"name": "S", "period": {"start": "2026-01-01"}}),
        )
        .await
        .expect(201);
    office
        .delete(&format!("/customers/{lone}"))
        .await
        .expect_problem(409, "customer-in-use");
    office
        .post(&format!("/customers/{lone}/deactivate"), &json!({}))
        .await
        .expect(200);
    office
        .post(
            &format!("/customers/{lone}/contracts"),
            &json!({"name": "S", "period": {"start": "2026-01-01"}}),
        )
        .await
        .expect_problem(409, "customer-inactive");

    let tech = suite.user("acme", "tess", &["technician"]);
    let forbidden = tech
        .post(
            &contracts,
            &json!({"name": "S", "period": {"start": "2026-01-01"}}),
        )
        .await;
    forbidden.expect_problem(403, "forbidden");
    assert_eq!(forbidden.body["missingPermission"], "edit");
    let globex = suite.user("globex", "gil", ADMIN);
    globex.get(&path).await.expect_problem(404, "not-found");
    office
        .get(&format!("{contracts}/not-a-contract"))
        .await
        .expect_problem(404, "not-found");
}

#[tokio::test]
async fn a_contract_retried_with_its_idempotency_key_is_made_once() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let id = id_of(
        &office
            .post("/customers", &customer("9101", "Anna", "Berg"))
            .await,
    );
    let contracts = format!("/customers/{id}/contracts");
    let body = json!({"name": "Service 2027", "period": {"start": "2027-01-01"}});
    let key = [("idempotency-key", "contract-2027")];
    let first = office
        .send_json(http::Method::POST, &contracts, &key, &body)
        .await;
    first.expect(201);
    let again = office
        .send_json(http::Method::POST, &contracts, &key, &body)
        .await;
    again.expect(201);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));
    let other = json!({"name": "Service 2028", "period": {"start": "2028-01-01"}});
    office
        .send_json(http::Method::POST, &contracts, &key, &other)
        .await
        .expect_problem(422, "idempotency-key-reused");
    let listed = office.get(&contracts).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}
