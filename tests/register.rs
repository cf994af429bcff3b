//! The register end to end: permissions by role, "only assigned", history of every kind of
//! change, assignments, delete versus deactivate, duplicate warnings.

use e2e::{Reply, Suite, customer};
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];
const COORDINATOR: &[&str] = &["coordinator"];
const TECHNICIAN: &[&str] = &["technician"];

fn id_of(reply: &Reply) -> String {
    reply.body["id"].as_str().expect("a customer id").to_owned()
}

#[track_caller]
fn expect_forbidden(reply: &Reply, permission: &str) {
    reply.expect_problem(403, "forbidden");
    assert_eq!(
        reply.body["missingPermission"], permission,
        "{}",
        reply.body
    );
}

fn kinds(history: &Reply) -> Vec<String> {
    history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_role_is_allowed_and_refused_what_its_permissions_say() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    let coordinator = suite.user("acme", "cole", COORDINATOR);
    let technician = suite.user("acme", "tess", TECHNICIAN);
    let nobody = suite.user("acme", "guest", &["guest"]);

    let id = id_of(
        &coordinator
            .post("/customers", &customer("1", "Anna", "Berg"))
            .await
            .expect(201)
            .clone(),
    );
    let path = format!("/customers/{id}");
    expect_forbidden(
        &technician
            .post("/customers", &customer("2", "Bo", "Ek"))
            .await,
        "create",
    );
    expect_forbidden(&nobody.get("/customers").await, "view");
    expect_forbidden(&nobody.get(&path).await, "view");

    coordinator.get(&path).await.expect(200);
    coordinator
        .patch(&path, "\"1\"", &json!({"tier": "vip"}))
        .await
        .expect(200);
    expect_forbidden(&coordinator.delete(&path).await, "delete");
    expect_forbidden(
        &technician
            .put_empty(&format!("{path}/assignees/tess"))
            .await,
        "assign",
    );
    coordinator
        .put_empty(&format!("{path}/assignees/tess"))
        .await
        .expect(200);
    admin.get(&format!("{path}/history")).await.expect(200);
}

#[tokio::test]
async fn technicians_see_and_edit_only_the_customers_assigned_to_them() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    let tess = suite.user("acme", "tess", TECHNICIAN);
    let mine = id_of(
        &admin
            .post("/customers", &customer("1", "Åsa", "Öberg"))
            .await,
    );
    let other = id_of(
        &admin
            .post("/customers", &customer("2", "Anders", "Ek"))
            .await,
    );
    admin
        .put_empty(&format!("/customers/{mine}/assignees/tess"))
        .await
        .expect(200);

    tess.get(&format!("/customers/{mine}")).await.expect(200);
    expect_forbidden(&tess.get(&format!("/customers/{other}")).await, "view");

    let list = tess.get("/customers").await;
    let ids: Vec<&Value> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(
        ids,
        vec![mine.as_str()],
        "the list shows only assigned customers"
    );
    let search = tess.get("/customers?q=a").await;
    assert_eq!(
        search.body["items"].as_array().unwrap().len(),
        1,
        "search too"
    );
    let lookup = tess.get("/customers?number=2").await;
    assert_eq!(lookup.body["items"], json!([]), "and exact lookups");

    let etag = tess.get(&format!("/customers/{mine}")).await.etag();
    tess.patch(
        &format!("/customers/{mine}"),
        &etag,
        &json!({"description": "gate code 1234"}),
    )
    .await
    .expect(200);
    expect_forbidden(
        &tess
            .patch(
                &format!("/customers/{other}"),
                "\"1\"",
                &json!({"description": "x"}),
            )
            .await,
        "edit",
    );
    expect_forbidden(
        &tess.get(&format!("/customers/{other}/history")).await,
        "view",
    );

    let of_tess = tess.get("/users/tess/customers").await;
    assert_eq!(of_tess.body["items"][0]["id"], mine.as_str());
    expect_forbidden(&tess.get("/users/ada/customers").await, "view");
}

#[tokio::test]
async fn every_kind_of_change_is_in_the_history_newest_first() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    let id = id_of(
        &admin
            .post("/customers", &customer("1", "Anna", "Berg"))
            .await,
    );
    let path = format!("/customers/{id}");

    admin
        .patch(&path, "\"1\"", &json!({"firstName": "Annie"}))
        .await
        .expect(200);
    let contact = admin
        .post(&format!("{path}/contacts"), &json!({"firstName": "Cia"}))
        .await;
    let contact_id = contact.body["id"].as_str().unwrap().to_owned();
    admin
        .send_json(
            http::Method::PATCH,
            &format!("{path}/contacts/{contact_id}"),
            &[],
            &json!({"role": "CFO"}),
        )
        .await
        .expect(200);
    admin
        .delete(&format!("{path}/contacts/{contact_id}"))
        .await
        .expect(204);
    admin
        .put_empty(&format!("{path}/assignees/tess"))
        .await
        .expect(200);
    admin
        .delete(&format!("{path}/assignees/tess"))
        .await
        .expect(200);
    admin
        .post(&format!("{path}/deactivate"), &json!({}))
        .await
        .expect(200);
    admin
        .post(&format!("{path}/reactivate"), &json!({}))
        .await
        .expect(200);

    let history = admin.get(&format!("{path}/history")).await;
    history.expect(200);
    assert_eq!(
        kinds(&history),
        [
            "reactivated",
            "deactivated",
            "unassigned",
            "assigned",
            "contactRemoved",
            "contactChanged",
            "contactAdded",
            "updated",
            "created"
        ]
    );
    let updated = &history.body["items"][7];
    assert_eq!(updated["by"], "ada");
    assert_eq!(updated["version"], 2);
    assert_eq!(
        updated["changes"],
        json!([{"field": "/firstName", "before": "Anna", "after": "Annie"}])
    );
    let changed = &history.body["items"][5]["changes"][0];
    assert_eq!(changed["field"], format!("/contacts/{contact_id}/role"));
    assert_eq!(
        history.body["items"][3]["changes"][0]["field"],
        "/assignees"
    );

    let first = admin.get(&format!("{path}/history?limit=4")).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 4);
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let rest = admin
        .get(&format!("{path}/history?limit=10&cursor={cursor}"))
        .await;
    assert_eq!(kinds(&rest).len(), 5, "paginated without loss");
}

#[tokio::test]
async fn assignments_are_listed_both_ways_and_carry_what_notifications_need() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    let id = id_of(
        &admin
            .post("/customers", &customer("7", "Anna", "Berg"))
            .await,
    );
    let path = format!("/customers/{id}");
    let assigned = admin.put_empty(&format!("{path}/assignees/tess")).await;
    assert_eq!(assigned.body["assignees"], json!(["tess"]));
    let again = admin.put_empty(&format!("{path}/assignees/tess")).await;
    assert_eq!(
        again.etag(),
        assigned.etag(),
        "assigning twice changes nothing"
    );

    let assignees = admin.get(&format!("{path}/assignees")).await;
    let record = &assignees.body["items"][0];
    assert_eq!(record["userId"], "tess");
    assert_eq!(record["tenantId"], "acme");
    assert_eq!(record["customerId"], id.as_str());
    assert_eq!(record["customerNumber"], "7");
    assert_eq!(record["customerName"], "Anna Berg");
    assert_eq!(record["assignedBy"], "ada");
    assert!(record["assignedAt"].is_string());

    let of_tess = admin.get("/users/tess/customers").await;
    assert_eq!(of_tess.body["items"][0]["id"], id.as_str());

    admin
        .delete(&format!("{path}/assignees/tess"))
        .await
        .expect(200);
    assert_eq!(
        admin.get(&format!("{path}/assignees")).await.body["items"],
        json!([])
    );
    assert_eq!(
        admin.get("/users/tess/customers").await.body["items"],
        json!([])
    );
    admin
        .put_empty(&format!("{path}/assignees/a%23b"))
        .await
        .expect_problem(400, "invalid-parameter");
}

#[tokio::test]
async fn only_an_untouched_customer_can_be_deleted() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    let fresh = id_of(
        &admin
            .post("/customers", &customer("1", "Anna", "Berg"))
            .await,
    );
    admin
        .delete(&format!("/customers/{fresh}"))
        .await
        .expect(204);
    admin
        .get(&format!("/customers/{fresh}"))
        .await
        .expect_problem(404, "not-found");
    admin
        .post("/customers", &customer("1", "Anna", "Berg"))
        .await
        .expect(201); // its number and lookups were freed with it

    let used = id_of(&admin.post("/customers", &customer("2", "Bo", "Ek")).await);
    admin
        .patch(
            &format!("/customers/{used}"),
            "\"1\"",
            &json!({"tier": "vip"}),
        )
        .await
        .expect(200);
    let refused = admin.delete(&format!("/customers/{used}")).await;
    refused.expect_problem(409, "customer-in-use");
    assert!(
        refused.body["deactivate"].is_string(),
        "points to deactivation"
    );
    admin
        .post(&format!("/customers/{used}/deactivate"), &json!({}))
        .await
        .expect(200);
    let kept = admin.get(&format!("/customers/{used}")).await;
    assert_eq!(
        kept.body["status"], "inactive",
        "deactivated customers stay readable"
    );
    assert_eq!(
        kinds(&admin.get(&format!("/customers/{used}/history")).await).len(),
        3
    );
}

#[tokio::test]
async fn a_possible_duplicate_needs_confirmation_and_is_named() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    let first = admin
        .post("/customers", &customer("1", "Anna", "Berg"))
        .await;
    let mut twin = customer("2", "Anna", "Berg-Ek");
    twin["email"] = json!("CUSTOMER.1@example.com");
    twin["mobile"] = first.body["mobile"].clone();

    let warned = admin.post("/customers", &twin).await;
    warned.expect_problem(409, "possible-duplicate");
    let duplicates = warned.body["duplicates"].as_array().unwrap();
    assert_eq!(duplicates.len(), 1);
    assert_eq!(duplicates[0]["id"], first.body["id"]);
    assert_eq!(duplicates[0]["customerNumber"], "1");
    assert_eq!(duplicates[0]["matchedOn"], json!(["email", "mobile"]));
    assert_eq!(
        admin.get("/customers").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    admin
        .post("/customers?confirmDuplicates=true", &twin)
        .await
        .expect(201);
    assert_eq!(
        admin.get("/customers").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let stranger = suite.user("other", "olle", ADMIN);
    stranger.post("/customers", &twin).await.expect(201); // duplicates are per organisation
}

#[tokio::test]
async fn lists_filter_and_sort_in_combination() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    let cards = [
        (
            "30",
            "Cia",
            json!({"paymentType": "account", "paymentTerms": "net30"}),
            true,
            &["north"][..],
        ),
        (
            "10",
            "Bo",
            json!({"paymentType": "cash"}),
            false,
            &["north", "south"][..],
        ),
        (
            "20",
            "Ada",
            json!({"paymentType": "account", "paymentTerms": "net10"}),
            false,
            &[][..],
        ),
    ];
    let mut ids = Vec::new();
    for (number, first, terms, vip, tags) in cards {
        let mut body = customer(number, first, "Test");
        body["terms"] = terms;
        body["tier"] = json!(if vip { "vip" } else { "regular" });
        body["tags"] = json!(tags);
        ids.push(id_of(
            &admin.post("/customers", &body).await.expect(201).clone(),
        ));
    }
    admin
        .patch(
            &format!("/customers/{}", ids[1]),
            "\"1\"",
            &json!({"onHold": true}),
        )
        .await
        .expect(200);
    admin
        .put_empty(&format!("/customers/{}/assignees/tess", ids[2]))
        .await
        .expect(200);

    let firsts = |reply: Reply| -> Vec<String> {
        reply.expect(200);
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["firstName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(firsts(admin.get("/customers").await), ["Ada", "Bo", "Cia"]);
    assert_eq!(
        firsts(admin.get("/customers?sort=number").await),
        ["Bo", "Ada", "Cia"]
    );
    assert_eq!(
        firsts(admin.get("/customers?sort=created").await),
        ["Cia", "Bo", "Ada"]
    );
    assert_eq!(
        firsts(admin.get("/customers?paymentType=account").await),
        ["Ada", "Cia"]
    );
    assert_eq!(
        firsts(admin.get("/customers?paymentTerms=net30").await),
        ["Cia"]
    );
    assert_eq!(firsts(admin.get("/customers?vip=true").await), ["Cia"]);
    assert_eq!(firsts(admin.get("/customers?onHold=true").await), ["Bo"]);
    assert_eq!(
        firsts(admin.get("/customers?tag=N%C3%96RTH").await),
        ["Bo", "Cia"],
        "tags match like names: case and diacritics ignored"
    );
    assert_eq!(
        firsts(admin.get("/customers?tag=north&sort=number").await),
        ["Bo", "Cia"]
    );
    assert_eq!(
        firsts(
            admin
                .get("/customers?tag=north&paymentType=account&status=active")
                .await
        ),
        ["Cia"]
    );
    assert_eq!(
        firsts(admin.get("/customers?assignedTo=tess").await),
        ["Ada"]
    );
    assert_eq!(
        firsts(admin.get("/customers?assignedTo=tess&vip=true").await),
        Vec::<String>::new()
    );
    assert_eq!(
        firsts(admin.get("/customers?sort=number&q=c").await),
        ["Cia"]
    );
    admin
        .get("/customers?sort=colour")
        .await
        .expect_problem(400, "invalid-parameter");
    admin
        .get("/customers?vip=maybe")
        .await
        .expect_problem(400, "invalid-parameter");
    let row = &admin.get("/customers?q=cia").await.body["items"][0];
    assert_eq!(row["status"], "active");
    assert_eq!(
        row["terms"]["paymentTerms"], "net30",
        "status and terms on every row"
    );
}
