//! End to end: real HTTP requests to devhost's HTTP API, which verifies the token, builds the
//! API Gateway payload 2.0 event and runs the built `customers-api` binary against the emulator.

use e2e::{Suite, customer};
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];

fn id_of(reply: &e2e::Reply) -> String {
    reply.body["id"].as_str().expect("a customer id").to_owned()
}

#[tokio::test]
async fn a_customer_is_created_read_listed_and_updated() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);

    let created = alice
        .post("/customers", &customer("10001", "Anna", "Berg"))
        .await;
    created.expect(201);
    let id = id_of(&created);
    assert_eq!(
        created.header("location"),
        Some(format!("/customers/{id}").as_str())
    );
    assert_eq!(created.etag(), "\"1\"");
    assert_eq!(created.body["status"], "active");
    assert!(
        created.body["phone"].as_str().unwrap().starts_with("+468"),
        "E.164"
    );
    assert_eq!(created.body["displayName"], "Anna Berg");
    assert_eq!(created.body["createdBy"], "alice");
    assert_eq!(created.body["callOff"]["allowed"], true);

    let read = alice.get(&format!("/customers/{id}")).await;
    read.expect(200);
    assert_eq!(read.body, created.body);

    let listed = alice.get("/customers").await;
    listed.expect(200);
    assert_eq!(listed.body["items"][0]["id"], id.as_str());

    let patch = json!({ "onHold": true, "mobile": "+46 73 555 12 34", "description": null });
    let updated = alice
        .patch(&format!("/customers/{id}"), &read.etag(), &patch)
        .await;
    updated.expect(200);
    assert_eq!(updated.etag(), "\"2\"");
    assert_eq!(updated.body["mobile"], "+46735551234");
    assert_eq!(updated.body["onHold"], true);
    assert_eq!(
        updated.body["firstName"], "Anna",
        "fields not in the patch stay"
    );
    assert_eq!(updated.body["callOff"]["allowed"], false);
    assert_eq!(updated.body["callOff"]["refusals"][0]["reason"], "onHold");

    let stored = alice.get(&format!("/customers/{id}")).await;
    assert_eq!(stored.body, updated.body, "the update was stored");
}

#[tokio::test]
async fn updates_need_the_current_etag() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let created = alice
        .post("/customers", &customer("1", "Anna", "Berg"))
        .await;
    let path = format!("/customers/{}", id_of(&created));

    let no_if_match = alice
        .send_json(http::Method::PATCH, &path, &[], &json!({"onHold": true}))
        .await;
    no_if_match.expect_problem(428, "precondition-required");

    alice
        .patch(&path, "\"1\"", &json!({"tier": "vip"}))
        .await
        .expect(200);
    let stale = alice.patch(&path, "\"1\"", &json!({"onHold": true})).await;
    stale.expect_problem(412, "stale-version");
    assert_eq!(stale.etag(), "\"2\"", "the 412 tells the current version");

    let now = alice.get(&path).await;
    assert_eq!(
        now.body["onHold"], false,
        "the stale update changed nothing"
    );
    assert_eq!(now.body["tier"], "vip");
}

#[tokio::test]
async fn the_number_and_contacts_are_not_changed_by_a_merge_patch() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let created = alice
        .post("/customers", &customer("1", "Anna", "Berg"))
        .await;
    let path = format!("/customers/{}", id_of(&created));
    let reply = alice
        .patch(
            &path,
            "\"1\"",
            &json!({"customerNumber": "2", "contacts": []}),
        )
        .await;
    reply.expect_problem(422, "validation-failed");
    let errors = reply.field_errors();
    assert!(errors.contains(&("/customerNumber".into(), "read_only".into())));
    assert!(errors.contains(&("/contacts".into(), "read_only".into())));
}

#[tokio::test]
async fn deactivation_and_reactivation_change_status_and_lists() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let id = id_of(
        &alice
            .post("/customers", &customer("1", "Anna", "Berg"))
            .await,
    );
    alice
        .post("/customers", &customer("2", "Bo", "Ek"))
        .await
        .expect(201);

    let inactive = alice
        .post(&format!("/customers/{id}/deactivate"), &json!({}))
        .await;
    inactive.expect(200);
    assert_eq!(inactive.body["status"], "inactive");
    assert_eq!(
        inactive.body["callOff"]["refusals"][0]["reason"],
        "inactive"
    );
    let again = alice
        .post(&format!("/customers/{id}/deactivate"), &json!({}))
        .await;
    assert_eq!(
        again.etag(),
        inactive.etag(),
        "deactivating twice changes nothing"
    );

    let actives = alice.get("/customers?status=active").await;
    let names: Vec<&Value> = actives.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["displayName"])
        .collect();
    assert_eq!(names, vec!["Bo Ek"]);
    let inactives = alice.get("/customers?status=inactive").await;
    assert_eq!(inactives.body["items"][0]["id"], id.as_str());

    let active = alice
        .post(&format!("/customers/{id}/reactivate"), &json!({}))
        .await;
    active.expect(200);
    assert_eq!(active.body["status"], "active");
    assert_eq!(active.body["callOff"]["allowed"], true);
    let actives = alice.get("/customers?status=active").await;
    assert_eq!(actives.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn contacts_are_added_changed_and_removed_with_one_primary() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let id = id_of(
        &alice
            .post("/customers", &customer("1", "Anna", "Berg"))
            .await,
    );
    let contacts = format!("/customers/{id}/contacts");

    let first = alice
        .post(
            &contacts,
            &json!({"firstName": "Cia", "email": "cia@example.com", "sendWorkOrders": true}),
        )
        .await;
    first.expect(201);
    assert_eq!(
        first.body["primary"], true,
        "the first contact becomes primary"
    );
    let first_id = first.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        first.header("location"),
        Some(format!("{contacts}/{first_id}").as_str())
    );

    let second = alice
        .post(
            &contacts,
            &json!({"firstName": "Dan", "mobile": "+46 70 999 88 77", "primary": true}),
        )
        .await;
    second.expect(201);
    let second_id = second.body["id"].as_str().unwrap().to_owned();
    let card = alice.get(&format!("/customers/{id}")).await;
    let primaries: Vec<&Value> = card.body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["primary"] == true)
        .map(|c| &c["id"])
        .collect();
    assert_eq!(
        primaries,
        vec![second_id.as_str()],
        "the new primary demoted the old one"
    );

    let changed = alice
        .send_json(
            http::Method::PATCH,
            &format!("{contacts}/{first_id}"),
            &[("content-type", "application/merge-patch+json")],
            &json!({"phone": "+46 8 765 432 10", "sendWorkOrders": false}),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.body["phone"], "+46876543210");
    assert_eq!(changed.body["sendWorkOrders"], false);
    assert_eq!(changed.body["firstName"], "Cia");

    let bad = alice
        .send_json(
            http::Method::PATCH,
            &format!("{contacts}/{first_id}"),
            &[],
            &json!({"email": "nope"}),
        )
        .await;
    bad.expect_problem(422, "validation-failed");
    assert_eq!(
        bad.field_errors(),
        vec![("/email".into(), "invalid_email".into())]
    );

    alice
        .delete(&format!("{contacts}/{second_id}"))
        .await
        .expect(204);
    let card = alice.get(&format!("/customers/{id}")).await;
    assert_eq!(card.body["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(
        card.body["contacts"][0]["primary"], true,
        "the remaining contact is promoted"
    );

    alice
        .delete(&format!("{contacts}/{second_id}"))
        .await
        .expect_problem(404, "not-found");
}

#[tokio::test]
async fn search_ignores_case_and_diacritics_and_lookups_are_exact() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let mut asa = customer("A-1", "Åsa", "Öberg");
    asa["email"] = json!("Asa.Oberg@Example.com");
    alice.post("/customers", &asa).await.expect(201);
    let mut bo = customer("B-2", "Bo", "Ek");
    bo["mobile"] = json!("+46 70 111 22 33");
    bo["companyName"] = json!("Ek Entreprenad");
    bo["contacts"] = json!([{"firstName": "Cia", "lastName": "Lund", "email": "cia@example.com"}]);
    alice.post("/customers", &bo).await.expect(201);
    alice
        .post(
            "/customers",
            &json!({"customerNumber": "C-3", "companyName": "Ängel Bygg AB"}),
        )
        .await
        .expect(201);

    let names = |reply: &e2e::Reply| -> Vec<String> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["displayName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&alice.get("/customers?q=asa").await),
        vec!["Åsa Öberg"]
    );
    assert_eq!(
        names(&alice.get("/customers?q=%C3%85SA%20%C3%96").await),
        vec!["Åsa Öberg"]
    );
    assert_eq!(
        names(&alice.get("/customers?q=ANGEL").await),
        vec!["Ängel Bygg AB"]
    );
    // Also by company (of a person), by last name first, and by a contact's name.
    for q in ["ek%20entre", "ek%20b", "lund", "cia"] {
        assert_eq!(
            names(&alice.get(&format!("/customers?q={q}")).await),
            vec!["Bo Ek"],
            "{q}"
        );
    }
    assert_eq!(
        names(&alice.get("/customers?q=o&status=active").await),
        vec!["Åsa Öberg"],
        "other conditions still apply to a name search (\"oberg asa\")"
    );
    assert_eq!(
        names(&alice.get("/customers").await),
        vec!["Ängel Bygg AB", "Åsa Öberg", "Bo Ek"],
        "sorted by folded name"
    );
    assert_eq!(
        names(&alice.get("/customers?number=a-1").await),
        vec!["Åsa Öberg"]
    );
    assert_eq!(
        names(&alice.get("/customers?email=asa.oberg%40example.com").await),
        vec!["Åsa Öberg"]
    );
    assert_eq!(
        names(&alice.get("/customers?phone=%2B46701112233").await),
        vec!["Bo Ek"]
    );
    assert!(names(&alice.get("/customers?number=nope").await).is_empty());

    alice
        .get("/customers?number=A-1&q=x")
        .await
        .expect_problem(400, "invalid-parameter");
    alice
        .get("/customers?colour=red")
        .await
        .expect_problem(400, "invalid-parameter");
    alice
        .get("/customers?limit=0")
        .await
        .expect_problem(400, "invalid-parameter");
}

#[tokio::test]
async fn lists_page_with_opaque_cursors() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    for (i, last) in ["Ek", "Berg", "Dahl", "Ahl", "Fors", "Lund", "Holm"]
        .iter()
        .enumerate()
    {
        alice
            .post("/customers", &customer(&format!("{i}"), "Per", last))
            .await
            .expect(201);
    }
    let mut seen = Vec::new();
    let mut path = "/customers?limit=3".to_owned();
    loop {
        let page = alice.get(&path).await;
        page.expect(200);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["lastName"].as_str().unwrap().to_owned());
        }
        match page.body["nextCursor"].as_str() {
            Some(cursor) => path = format!("/customers?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Ahl", "Berg", "Dahl", "Ek", "Fors", "Holm", "Lund"]);
}

/// Every page of a list, following `nextCursor`: the customer numbers in the order served.
async fn numbers_of_every_page(user: &e2e::Session<'_>, query: &str) -> Vec<String> {
    let mut numbers = Vec::new();
    let mut path = format!("/customers?limit=2&{query}");
    loop {
        let page = user.get(&path).await;
        page.expect(200);
        for item in page.body["items"].as_array().unwrap() {
            numbers.push(item["customerNumber"].as_str().unwrap().to_owned());
        }
        match page.body["nextCursor"].as_str() {
            Some(cursor) => path = format!("/customers?limit=2&{query}&cursor={cursor}"),
            None => return numbers,
        }
    }
}

#[tokio::test]
async fn lists_show_active_customers_and_sort_numbers_as_numbers() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    // Created out of every order, so no list is right by accident.
    let mut inactive = String::new();
    for (number, first) in [
        ("A10", "Eva"),
        ("10", "Cia"),
        ("3", "Ina"),
        ("a2", "Dan"),
        ("1", "Ada"),
        ("2", "Bo"),
    ] {
        let created = alice
            .post("/customers", &customer(number, first, "Test"))
            .await;
        created.expect(201);
        if number == "3" {
            inactive = id_of(&created);
        }
    }
    alice
        .post(&format!("/customers/{inactive}/deactivate"), &json!({}))
        .await
        .expect(200);

    let active = ["1", "2", "10", "a2", "A10"];
    let every = ["1", "2", "3", "10", "a2", "A10"];
    let reversed =
        |numbers: &[&str]| -> Vec<String> { numbers.iter().rev().map(|n| n.to_string()).collect() };
    assert_eq!(
        numbers_of_every_page(&alice, "sort=number").await,
        active,
        "active customers only, numbers compared as numbers"
    );
    assert_eq!(
        numbers_of_every_page(&alice, "sort=number&order=desc").await,
        reversed(&active)
    );
    assert_eq!(
        numbers_of_every_page(&alice, "sort=number&status=all").await,
        every
    );
    assert_eq!(
        numbers_of_every_page(&alice, "sort=number&status=all&order=desc").await,
        reversed(&every)
    );
    assert_eq!(
        numbers_of_every_page(&alice, "sort=number&status=inactive").await,
        ["3"]
    );
    // By name (the default) and by creation, the same statuses.
    assert_eq!(
        numbers_of_every_page(&alice, "").await,
        ["1", "2", "10", "a2", "A10"],
        "Ada, Bo, Cia, Dan, Eva: the default list hides Ina"
    );
    assert_eq!(
        numbers_of_every_page(&alice, "status=all&order=desc").await,
        ["3", "A10", "a2", "10", "2", "1"],
        "Ina, Eva, Dan, Cia, Bo, Ada"
    );
    assert_eq!(
        numbers_of_every_page(&alice, "sort=created&status=all").await,
        ["A10", "10", "3", "a2", "1", "2"]
    );
    assert_eq!(
        numbers_of_every_page(&alice, "sort=created&status=inactive&order=desc").await,
        ["3"]
    );
    // Filters keep to the statuses asked for.
    assert_eq!(
        numbers_of_every_page(&alice, "paymentType=account&status=all&sort=number").await,
        every
    );
    // The name search shows active customers too, unless asked otherwise.
    assert!(numbers_of_every_page(&alice, "q=ina").await.is_empty());
    assert_eq!(
        numbers_of_every_page(&alice, "q=ina&status=inactive").await,
        ["3"]
    );
    assert_eq!(
        numbers_of_every_page(&alice, "q=test&status=all&order=desc").await,
        ["3", "A10", "a2", "10", "2", "1"]
    );
    // An exact lookup finds the customer whatever its status: the row says which.
    let found = alice.get("/customers?number=3").await;
    found.expect(200);
    assert_eq!(found.body["items"][0]["status"], "inactive");

    for bad in ["status=gone", "order=up", "number=3&status=all"] {
        alice
            .get(&format!("/customers?{bad}"))
            .await
            .expect_problem(400, "invalid-parameter");
    }
}

#[tokio::test]
async fn forged_and_foreign_cursors_are_refused() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let mallory = suite.user("evil", "mallory", ADMIN);
    for i in 0..3 {
        alice
            .post("/customers", &customer(&format!("{i}"), "Per", "Ek"))
            .await;
        mallory
            .post("/customers", &customer(&format!("{i}"), "Mal", "Lory"))
            .await;
    }
    let page = mallory.get("/customers?limit=1").await;
    let foreign = page.body["nextCursor"].as_str().unwrap();
    alice
        .get(&format!("/customers?limit=1&cursor={foreign}"))
        .await
        .expect_problem(400, "invalid-parameter");

    let own = alice.get("/customers?limit=1").await;
    let own_cursor = own.body["nextCursor"].as_str().unwrap();
    alice
        .get(&format!(
            "/customers?limit=1&status=active&cursor={own_cursor}"
        ))
        .await
        .expect(200);
    for other_list in ["status=inactive", "status=all", "sort=number"] {
        alice
            .get(&format!(
                "/customers?limit=1&{other_list}&cursor={own_cursor}"
            ))
            .await
            .expect_problem(400, "invalid-parameter");
    }
    let every_status = alice.get("/customers?limit=1&status=all").await;
    let merged_cursor = every_status.body["nextCursor"].as_str().unwrap();
    for other_list in [
        "status=active",
        "status=inactive",
        "status=all&sort=created",
    ] {
        alice
            .get(&format!(
                "/customers?limit=1&{other_list}&cursor={merged_cursor}"
            ))
            .await
            .expect_problem(400, "invalid-parameter");
    }
    mallory
        .get(&format!(
            "/customers?limit=1&status=all&cursor={merged_cursor}"
        ))
        .await
        .expect_problem(400, "invalid-parameter");
    for forged in ["garbage", "eyJQSyI6IlQjYWNtZSNDIzEifQ", "e30"] {
        alice
            .get(&format!("/customers?cursor={forged}"))
            .await
            .expect_problem(400, "invalid-parameter");
    }
}

#[tokio::test]
async fn organisations_never_see_each_others_customers() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let mallory = suite.user("evil", "mallory", ADMIN);
    let id = id_of(
        &alice
            .post("/customers", &customer("1", "Anna", "Berg"))
            .await,
    );
    let path = format!("/customers/{id}");

    mallory.get(&path).await.expect_problem(404, "not-found");
    mallory
        .patch(&path, "\"1\"", &json!({"onHold": true}))
        .await
        .expect_problem(404, "not-found");
    mallory
        .post(&format!("{path}/deactivate"), &json!({}))
        .await
        .expect_problem(404, "not-found");
    mallory
        .post(&format!("{path}/contacts"), &json!({"firstName": "X"}))
        .await
        .expect_problem(404, "not-found");
    let anna = alice.get(&path).await.body;
    let phone = anna["phone"].as_str().unwrap().replace('+', "%2B");
    let email = anna["email"].as_str().unwrap().replace('@', "%40");
    for query in [
        String::new(),
        "?number=1".into(),
        format!("?email={email}"),
        format!("?phone={phone}"),
        "?q=anna".into(),
    ] {
        let reply = mallory.get(&format!("/customers{query}")).await;
        reply.expect(200);
        assert_eq!(reply.body["items"], json!([]), "{query}");
    }
    // The same number is free in another organisation.
    mallory
        .post("/customers", &customer("1", "Mal", "Lory"))
        .await
        .expect(201);
    let mine = alice.get(&path).await;
    assert_eq!(
        mine.body["onHold"], false,
        "nothing of the other tenant's attempts landed"
    );
}

#[tokio::test]
async fn identity_comes_only_from_verified_claims() {
    let suite = Suite::start().await;
    let anonymous = suite.anonymous().get("/customers").await;
    assert_eq!(
        anonymous.status, 401,
        "the authorizer refuses a request without a token"
    );

    let no_tenant = suite.with_claims(json!({
        "iss": devhost::token::ISSUER, "aud": devhost::token::AUDIENCE,
        "sub": "alice", "exp": 4_000_000_000u64
    }));
    no_tenant
        .get("/customers")
        .await
        .expect_problem(403, "no-organisation");

    let forged_tenant = suite.with_claims(json!({
        "iss": devhost::token::ISSUER, "aud": devhost::token::AUDIENCE,
        "sub": "alice", "tenant_id": "acme#C#x", "exp": 4_000_000_000u64
    }));
    forged_tenant
        .get("/customers")
        .await
        .expect_problem(403, "no-organisation");

    // A tenant named in the body is just an unknown field: identity never comes from there.
    let alice = suite.user("acme", "alice", ADMIN);
    let mut body = customer("1", "Anna", "Berg");
    body["tenantId"] = json!("evil");
    let reply = alice.post("/customers", &body).await;
    reply.expect_problem(422, "validation-failed");
    assert_eq!(
        reply.field_errors(),
        vec![("/tenantId".into(), "unknown_field".into())]
    );
}

#[tokio::test]
async fn a_retried_create_returns_the_first_result_and_creates_nothing_twice() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let body = customer("1", "Anna", "Berg");
    let key = [("idempotency-key", "3f0c1c52-retry-me")];

    let first = alice
        .send_json(http::Method::POST, "/customers", &key, &body)
        .await;
    first.expect(201);
    let second = alice
        .send_json(http::Method::POST, "/customers", &key, &body)
        .await;
    second.expect(201);
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("location"), first.header("location"));
    assert_eq!(second.header("idempotent-replayed"), Some("true"));

    let list = alice.get("/customers").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    let other = customer("2", "Bo", "Ek");
    alice
        .send_json(http::Method::POST, "/customers", &key, &other)
        .await
        .expect_problem(422, "idempotency-key-reused");
    // Keys are per organisation: another tenant's identical key is a new request.
    let mallory = suite.user("evil", "mallory", ADMIN);
    mallory
        .send_json(http::Method::POST, "/customers", &key, &body)
        .await
        .expect(201);
}

#[tokio::test]
async fn a_taken_customer_number_is_a_conflict_whatever_its_case() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    alice
        .post("/customers", &customer("ab-1", "Anna", "Berg"))
        .await
        .expect(201);
    let mut bo = customer("AB-1", "Bo", "Ek");
    bo["email"] = json!("bo.ek@example.com");
    alice
        .post("/customers", &bo)
        .await
        .expect_problem(409, "customer-number-taken");
    assert_eq!(
        alice.get("/customers").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_problem_and_stores_nothing() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let post_raw = |content_type: &'static str, body: Vec<u8>| {
        let alice = alice.clone();
        async move {
            alice
                .send(
                    http::Method::POST,
                    "/customers",
                    &[("content-type", content_type)],
                    Some(body),
                )
                .await
        }
    };

    post_raw("application/json", b"{\"customerNumber\": \"1\",".to_vec())
        .await
        .expect_problem(400, "malformed-body");
    post_raw(
        "text/plain",
        serde_json::to_vec(&customer("1", "A", "B")).unwrap(),
    )
    .await
    .expect_problem(415, "unsupported-media-type");
    let mut huge = customer("1", "Anna", "Berg");
    huge["description"] = json!("x".repeat(300 * 1024));
    post_raw("application/json", serde_json::to_vec(&huge).unwrap())
        .await
        .expect_problem(413, "payload-too-large");

    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"customerNumber": 1, "firstName": "A"}),
            "/customerNumber",
            "invalid_type",
        ),
        (
            json!({"customerNumber": "1", "firstName": "A", "terms": {"creditLimit": "lots"}}),
            "/terms/creditLimit",
            "invalid_type",
        ),
        (
            json!({"customerNumber": "1", "firstName": "A", "favouriteColour": "red"}),
            "/favouriteColour",
            "unknown_field",
        ),
        (
            json!({"customerNumber": "1", "firstName": "A", "email": "anna@"}),
            "/email",
            "invalid_email",
        ),
        (
            json!({"customerNumber": "1", "firstName": "A", "phone": "+46 12"}),
            "/phone",
            "invalid_phone",
        ),
        (
            json!({"customerNumber": "1", "firstName": "A", "phone": "070-123 45 67"}),
            "/phone",
            "invalid_phone",
        ),
        (
            json!({"customerNumber": "1", "firstName": "A", "terms": {"paymentType": "account", "creditLimit": -100}}),
            "/terms/creditLimit",
            "negative_amount",
        ),
        (
            json!({"customerNumber": "1", "firstName": "A", "language": "xx"}),
            "/language",
            "unknown_language",
        ),
        (json!({"customerNumber": "1"}), "/firstName", "required"),
        (json!({"firstName": "A"}), "/customerNumber", "required"),
    ];
    for (body, field, code) in cases {
        let reply = alice.post("/customers", &body).await;
        reply.expect_problem(422, "validation-failed");
        assert!(
            reply
                .field_errors()
                .contains(&(field.to_owned(), code.to_owned())),
            "{body} should report {field} {code}, got {:?}",
            reply.field_errors()
        );
    }

    let everything_wrong = json!({
        "customerNumber": "1", "firstName": "A", "email": "bad", "mobile": "123",
        "language": "zz", "terms": {"creditLimit": -1, "currency": "XYZ"}
    });
    let reply = alice.post("/customers", &everything_wrong).await;
    let fields: Vec<String> = reply.field_errors().into_iter().map(|(f, _)| f).collect();
    for field in [
        "/email",
        "/mobile",
        "/language",
        "/terms/creditLimit",
        "/terms/currency",
    ] {
        assert!(
            fields.contains(&field.to_owned()),
            "all problems at once: {fields:?}"
        );
    }

    let list = alice.get("/customers").await;
    assert_eq!(list.body["items"], json!([]), "nothing was stored");
    alice
        .post("/customers", &customer("1", "Anna", "Berg"))
        .await
        .expect(201); // and the number was never claimed by a refused request
}

#[tokio::test]
async fn unknown_customers_and_routes_answer_404() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    alice
        .get("/customers/01JNOPE0000000000000000000")
        .await
        .expect_problem(404, "not-found");
    let reply = alice.get("/nowhere").await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn each_request_is_logged_with_its_tenant_and_whether_it_was_a_cold_start() {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", &["administrator"]);
    office.get("/customers").await.expect(200);
    office.get("/customers").await.expect(200);
    let requests: Vec<serde_json::Value> = suite
        .logs()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "request")
        .collect();
    let fields: Vec<(&str, bool)> = requests
        .iter()
        .map(|line| {
            let fields = &line["fields"];
            (
                fields["tenant"].as_str().unwrap_or_default(),
                fields["cold_start"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(fields, [("acme", true), ("acme", false)], "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|line| line["fields"]["request_id"].is_string())
    );
}

/// Found by contract fuzzing (infra/local/contract-fuzz): bodies are read as strictly as
/// docs/openapi.yaml describes them. Outside a merge patch `null` is no value, an object is
/// never read from an array, and a member appears once; a blank string is "not given".
#[tokio::test]
async fn bodies_are_read_as_strictly_as_the_document_describes_them() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let created = alice
        .post("/customers", &customer("30001", "Anna", "Berg"))
        .await;
    created.expect(201);
    let id = id_of(&created);
    let sites = format!("/customers/{id}/sites");

    let refused = [
        (
            json!({"name": "Villa", "customerOwned": null}),
            "/customerOwned",
        ),
        (
            json!({"name": "Villa", "address": ["Storgatan 1", null]}),
            "/address",
        ),
        (
            json!({"name": "Villa", "contact": {"firstName": "Bo", "email": null}}),
            "/contact/email",
        ),
    ];
    for (body, field) in refused {
        let reply = alice.post(&sites, &body).await;
        reply.expect_problem(422, "validation-failed");
        assert_eq!(
            reply.field_errors(),
            [(field.to_owned(), "invalid_type".to_owned())],
            "{body}"
        );
    }
    let repeated = alice
        .send(
            http::Method::POST,
            &sites,
            &[("content-type", "application/json")],
            Some(br#"{"name": "Villa", "name": "Shed"}"#.to_vec()),
        )
        .await;
    repeated.expect_problem(422, "validation-failed");
    assert_eq!(repeated.body["errors"][0]["field"], "/");
    assert_eq!(
        alice.get(&sites).await.body["items"],
        json!([]),
        "nothing was stored"
    );

    let blank_email = json!({"name": "Villa", "contact": {"firstName": "Bo", "email": " "}});
    let site = alice.post(&sites, &blank_email).await;
    site.expect(201);
    assert_eq!(site.body["contact"].get("email"), None, "{}", site.body);

    // In a merge patch, null keeps its meaning: remove the value.
    alice
        .patch(
            &format!("/customers/{id}"),
            &alice.get(&format!("/customers/{id}")).await.etag(),
            &json!({"description": null, "onHold": true}),
        )
        .await
        .expect(200);
}

#[tokio::test]
async fn a_customers_phone_may_have_an_extension_shown_as_its_country_writes_it() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let created = alice
        .post(
            "/customers",
            &json!({"customerNumber": "20001", "companyName": "Hood Inc",
                    "phone": "+1 201.555.0147 x718"}),
        )
        .await;
    created.expect(201);
    assert_eq!(created.body["phone"], "+12015550147");
    assert_eq!(created.body["phoneExtension"], "718");
    assert_eq!(created.body["phoneDisplay"], "(201) 555-0147 ext. 718");
    // Found by the number, with or without the extension; kept by a change to something else.
    for phone in ["%2B12015550147", "%2B1%20201%20555%200147%20ext.%20718"] {
        let found = alice.get(&format!("/customers?phone={phone}")).await;
        found.expect(200);
        assert_eq!(found.body["items"][0]["id"], created.body["id"], "{phone}");
    }
    let id = id_of(&created);
    let patched = alice
        .patch(
            &format!("/customers/{id}"),
            &created.etag(),
            &json!({"description": "Ring the front desk"}),
        )
        .await;
    patched.expect(200);
    assert_eq!(patched.body["phoneExtension"], "718");
    // A mobile is for texts: an extension there is refused.
    alice
        .post(
            "/customers",
            &json!({"customerNumber": "20002", "companyName": "Hood Inc",
                    "mobile": "+1 201.555.0147 x718"}),
        )
        .await
        .expect_problem(422, "validation-failed");
}

#[tokio::test]
async fn a_contacts_phone_may_have_an_extension_as_the_cards_does() {
    let suite = Suite::start().await;
    let alice = suite.user("acme", "alice", ADMIN);
    let id = id_of(
        &alice
            .post(
                "/customers",
                &json!({"customerNumber": "20003", "companyName": "Hood Inc"}),
            )
            .await,
    );
    let contacts = format!("/customers/{id}/contacts");
    let created = alice
        .post(
            &contacts,
            &json!({"firstName": "Ola", "phone": "+1 201.555.0147 x718"}),
        )
        .await;
    created.expect(201);
    assert_eq!(created.body["phone"], "+12015550147");
    assert_eq!(created.body["phoneExtension"], "718");
    let contact = format!("{contacts}/{}", created.body["id"].as_str().unwrap());
    // A change to something else keeps the extension; a new phone replaces both.
    let patch = |body: Value| {
        let (alice, contact) = (&alice, &contact);
        async move {
            alice
                .send_json(
                    http::Method::PATCH,
                    contact,
                    &[("content-type", "application/merge-patch+json")],
                    &body,
                )
                .await
        }
    };
    let renamed = patch(json!({"role": "Facilities"})).await;
    renamed.expect(200);
    assert_eq!(renamed.body["phoneExtension"], "718");
    let replaced = patch(json!({"phone": "+1 201 555 0148"})).await;
    replaced.expect(200);
    assert_eq!(replaced.body["phone"], "+12015550148");
    assert_eq!(replaced.body.get("phoneExtension"), None);
    // The customer is found by the contact's number, extension or not.
    let found = alice.get("/customers?phone=%2B12015550148").await;
    found.expect(200);
    assert_eq!(found.body["items"][0]["id"], id.as_str());
}
