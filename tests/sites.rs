//! Customer sites end to end: linking (the contact pre-filled from the customer), the count on
//! every list row and in the history, changing and deactivating a site, unlinking, and who may
//! do what.

use e2e::{Reply, Suite, customer};
use serde_json::json;

const ADMIN: &[&str] = &["administrator"];

fn id_of(reply: &Reply) -> String {
    reply.body["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn a_site_is_linked_counted_changed_and_unlinked() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let mut body = customer("7001", "Anna", "Berg");
    body["contacts"] = json!([{"firstName": "Sven", "lastName": "Ek", "mobile": "+46 70 111 22 33",
                              "primary": true}]);
    let created = office.post("/customers", &body).await;
    created.expect(201);
    let id = id_of(&created);

    let linked = office
        .post(
            &format!("/customers/{id}/sites"),
            &json!({"name": "Yard North", "customerOwned": true,
                    "address": {"line1": "Hamnvägen 4", "city": "Gävle", "country": "se"}}),
        )
        .await;
    linked.expect(201);
    let site = id_of(&linked);
    assert_eq!(
        linked.header("location"),
        Some(format!("/customers/{id}/sites/{site}").as_str())
    );
    assert_eq!(linked.body["status"], "active");
    assert_eq!(linked.body["customerOwned"], true);
    assert_eq!(linked.body["address"]["country"], "SE");
    assert_eq!(
        linked.body["contact"]["firstName"], "Sven",
        "from the primary contact"
    );
    assert_eq!(linked.body["contact"]["mobile"], "+46701112233");
    let second = office
        .post(
            &format!("/customers/{id}/sites"),
            &json!({"name": "Office", "contact": {"firstName": "Lo", "email": "lo@example.com"}}),
        )
        .await;
    second.expect(201);
    assert_eq!(second.body["contact"]["firstName"], "Lo");

    let card = office.get(&format!("/customers/{id}")).await;
    assert_eq!(card.body["sitesCount"], 2);
    let list = office.get("/customers?number=7001").await;
    assert_eq!(list.body["items"][0]["sitesCount"], 2, "on the list row");
    let page = office.get("/customers?limit=10").await;
    assert_eq!(page.body["items"][0]["sitesCount"], 2);
    let history = office.get(&format!("/customers/{id}/history")).await;
    assert_eq!(history.body["items"][0]["kind"], "siteLinked");
    assert_eq!(
        history.body["items"][0]["changes"],
        json!([{"field": "/sitesCount", "before": 1, "after": 2}])
    );

    let oldest = office.get(&format!("/customers/{id}/sites?limit=1")).await;
    assert_eq!(oldest.body["items"][0]["name"], "Yard North");
    let cursor = oldest.body["nextCursor"].as_str().unwrap().to_owned();
    let next = office
        .get(&format!("/customers/{id}/sites?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(next.body["items"][0]["name"], "Office");
    let newest = office
        .get(&format!("/customers/{id}/sites?order=desc"))
        .await;
    assert_eq!(newest.body["items"][0]["name"], "Office");

    let path = format!("/customers/{id}/sites/{site}");
    office
        .send_json(http::Method::PATCH, &path, &[], &json!({"name": "x"}))
        .await
        .expect_problem(428, "precondition-required");
    let etag = office.get(&path).await.etag();
    let changed = office
        .patch(
            &path,
            &etag,
            &json!({"name": "Yard North 2", "status": "inactive"}),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.body["status"], "inactive");
    assert_eq!(changed.body["contact"]["firstName"], "Sven", "kept");
    office
        .patch(&path, &etag, &json!({"name": "stale"}))
        .await
        .expect_problem(412, "stale-version");
    let again = office
        .patch(&path, &changed.etag(), &json!({"name": "Yard North 2"}))
        .await;
    assert_eq!(
        again.etag(),
        changed.etag(),
        "a patch that changes nothing writes nothing"
    );
    office
        .patch(&path, &changed.etag(), &json!({"status": null}))
        .await
        .expect_problem(422, "validation-failed");
    let reactivated = office
        .patch(&path, &changed.etag(), &json!({"status": "active"}))
        .await;
    assert_eq!(reactivated.body["status"], "active");

    office
        .delete(&format!("/customers/{id}"))
        .await
        .expect_problem(409, "customer-in-use");
    office.delete(&path).await.expect(204);
    office.get(&path).await.expect_problem(404, "not-found");
    let card = office.get(&format!("/customers/{id}")).await;
    assert_eq!(card.body["sitesCount"], 1);
    let history = office.get(&format!("/customers/{id}/history")).await;
    assert_eq!(history.body["items"][0]["kind"], "siteUnlinked");
    office.delete(&path).await.expect_problem(404, "not-found");
}

#[tokio::test]
async fn a_customer_without_contacts_gives_the_site_its_own_details() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let id = id_of(
        &office
            .post("/customers", &customer("7101", "Bo", "Lind"))
            .await,
    );
    let site = office
        .post(&format!("/customers/{id}/sites"), &json!({"name": "Home"}))
        .await;
    site.expect(201);
    assert_eq!(site.body["contact"]["firstName"], "Bo");
    assert_eq!(site.body["contact"]["lastName"], "Lind");
    assert_eq!(site.body["contact"]["email"], "customer.7101@example.com");

    let refused = office
        .post(
            &format!("/customers/{id}/sites"),
            &json!({"address": {"city": "Gävle"}}),
        )
        .await;
    refused.expect_problem(422, "validation-failed");
    assert!(
        refused
            .field_errors()
            .contains(&("/name".into(), "required".into()))
    );
    office
        .post(
            &format!("/customers/{id}/sites"),
            &json!({"name": "A", "status": "inactive"}),
        )
        .await
        .expect_problem(422, "validation-failed");
    let unknown = office
        .post(
            &format!("/customers/{id}/sites"),
            &json!({"name": "A", "fax": "1"}),
        )
        .await;
    unknown.expect_problem(422, "validation-failed");
    assert_eq!(
        unknown.field_errors(),
        vec![("/fax".into(), "unknown_field".into())]
    );
}

#[tokio::test]
async fn sites_follow_the_customer_s_permissions_and_organisation() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let tech = suite.user("acme", "tess", &["technician"]);
    let other = suite.user("globex", "gil", ADMIN);
    let mine = id_of(
        &office
            .post("/customers", &customer("7201", "Ann", "Ek"))
            .await,
    );
    let theirs = id_of(
        &office
            .post("/customers", &customer("7202", "Bo", "Ek"))
            .await,
    );
    office
        .put_empty(&format!("/customers/{mine}/assignees/tess"))
        .await
        .expect(200);

    let linked = tech
        .post(
            &format!("/customers/{mine}/sites"),
            &json!({"name": "Barn"}),
        )
        .await;
    linked.expect(201);
    let site = id_of(&linked);
    let refused = tech
        .post(
            &format!("/customers/{theirs}/sites"),
            &json!({"name": "Barn"}),
        )
        .await;
    refused.expect_problem(403, "forbidden");
    assert_eq!(refused.body["missingPermission"], "edit");
    tech.get(&format!("/customers/{theirs}/sites"))
        .await
        .expect_problem(403, "forbidden");
    tech.get(&format!("/customers/{mine}/sites/{site}"))
        .await
        .expect(200);

    other
        .get(&format!("/customers/{mine}/sites/{site}"))
        .await
        .expect_problem(404, "not-found");
    other
        .get(&format!("/customers/{mine}/sites"))
        .await
        .expect_problem(404, "not-found");
    other
        .delete(&format!("/customers/{mine}/sites/{site}"))
        .await
        .expect_problem(404, "not-found");
    office
        .get(&format!("/customers/{mine}/sites/not-a-site"))
        .await
        .expect_problem(404, "not-found");
}

#[tokio::test]
async fn a_site_retried_with_its_idempotency_key_is_linked_once() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let id = id_of(
        &office
            .post("/customers", &customer("8101", "Anna", "Berg"))
            .await,
    );
    let sites = format!("/customers/{id}/sites");
    let body = json!({"name": "Plant room"});
    let key = [("idempotency-key", "site-plant-room")];
    // Sent twice at once (a double tap), then once more after.
    let (one, other) = tokio::join!(
        office.send_json(http::Method::POST, &sites, &key, &body),
        office.send_json(http::Method::POST, &sites, &key, &body),
    );
    let again = office
        .send_json(http::Method::POST, &sites, &key, &body)
        .await;
    let replies = [&one, &other, &again];
    for reply in replies {
        reply.expect(201);
        assert_eq!(reply.body["id"], one.body["id"], "one site");
    }
    let replayed = replies
        .iter()
        .filter(|r| r.header("idempotent-replayed") == Some("true"))
        .count();
    assert_eq!(replayed, 2, "the first answer, then two replays");
    office
        .send_json(http::Method::POST, &sites, &key, &json!({"name": "Roof"}))
        .await
        .expect_problem(422, "idempotency-key-reused");
    let listed = office.get(&sites).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let card = office.get(&format!("/customers/{id}")).await;
    assert_eq!(card.body["sitesCount"], 1, "counted once");
}
