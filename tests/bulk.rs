//! Bulk changes end to end: POST /bulk-changes -> the record on the table's stream -> devhost's
//! stream mapping with the template's filter -> the built cascade function's bulk worker, a
//! page at a time (continuing through the cascade queue) -> customers changed with their
//! history entries, progress on GET /bulk-changes/{id}. Reach and permissions per customer,
//! the deactivation cascade after a bulk deactivation, retries and redeliveries that change
//! nothing twice, and ids of another organisation that are never changed.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{Reply, Session, Suite, customer};
use http::Method;
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];
const TECHNICIAN: &[&str] = &["technician"];
const WAIT: Duration = Duration::from_secs(120);

fn id_of(reply: &Reply) -> String {
    reply.body["id"].as_str().expect("an id").to_owned()
}

/// Creates customers `prefix-0..n` with `tags`; their ids in order.
async fn customers(office: &Session<'_>, prefix: &str, n: usize, tags: &[&str]) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let mut card = customer(&format!("{prefix}-{i}"), "Bo", &format!("Bulk {i}"));
        card["tags"] = json!(tags);
        let created = office.post("/customers", &card).await;
        created.expect(201);
        ids.push(id_of(&created));
    }
    ids
}

/// Polls the bulk change until it is completed; every state seen on the way.
async fn follow(session: &Session<'_>, id: &str) -> Vec<Value> {
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        let reply = session.get(&format!("/bulk-changes/{id}")).await;
        reply.expect(200);
        let done = reply.body["status"] == "completed";
        seen.push(reply.body);
        if done {
            return seen;
        }
        assert!(
            started.elapsed() < WAIT,
            "the bulk change did not complete: {:?}",
            seen.last()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn history(session: &Session<'_>, id: &str) -> Vec<Value> {
    let reply = session
        .get(&format!("/customers/{id}/history?limit=100"))
        .await;
    reply.expect(200);
    reply.body["items"].as_array().cloned().unwrap_or_default()
}

async fn history_of_kind(session: &Session<'_>, id: &str, kind: &str) -> usize {
    history(session, id)
        .await
        .iter()
        .filter(|e| e["kind"] == kind)
        .count()
}

fn totals(record: &Value) -> (u64, u64, u64, u64) {
    let t = &record["totals"];
    let n = |name: &str| t[name].as_u64().expect("a count");
    (n("selected"), n("changed"), n("unchanged"), n("refused"))
}

#[tokio::test]
async fn a_technician_is_assigned_to_120_customers_of_a_filter_page_by_page() {
    // Ten customers a page and two pages an invocation: twelve pages, through the queue.
    let suite = Suite::start_with_parameters(
        2,
        &[
            ("BulkChangePageSize", "10"),
            ("CascadePagesPerInvocation", "2"),
        ],
    )
    .await;
    let office = suite.user("acme", "ada", ADMIN);
    let north = customers(&office, "N", 120, &["north"]).await;
    let south = customers(&office, "S", 3, &["south"]).await;

    let body = json!({"selection": {"filter": {"tag": "north"}}, "change": {"assign": "tess"}});
    let key = [("idempotency-key", "assign-tess-north-0001")];
    let requested = office
        .send_json(Method::POST, "/bulk-changes", &key, &body)
        .await;
    requested.expect(202);
    let id = id_of(&requested);
    assert_eq!(
        requested.header("location"),
        Some(format!("/bulk-changes/{id}").as_str())
    );
    assert_eq!(requested.body["status"], "queued");
    assert_eq!(requested.body["change"], json!({"assign": "tess"}));
    assert_eq!(
        requested.body["selection"],
        json!({"filter": {"tag": "north"}})
    );

    // The same request again: the first answer, nothing new started.
    let retried = office
        .send_json(Method::POST, "/bulk-changes", &key, &body)
        .await;
    retried.expect(202);
    assert_eq!(retried.header("idempotent-replayed"), Some("true"));
    assert_eq!(id_of(&retried), id);

    let seen = follow(&office, &id).await;
    let done = seen.last().unwrap();
    assert_eq!(totals(done), (120, 120, 0, 0), "{done}");
    assert!(done["startedAt"].is_string() && done["finishedAt"].is_string());
    let in_between = seen
        .iter()
        .filter(|s| s["status"] == "running" && (1..120).contains(&totals(s).1))
        .count();
    assert!(in_between > 0, "no progress seen between pages: {seen:?}");

    // Every selected customer assigned once, with one history entry by the requester.
    for customer in &north {
        let entries = history(&office, customer).await;
        let assigned: Vec<&Value> = entries.iter().filter(|e| e["kind"] == "assigned").collect();
        assert_eq!(assigned.len(), 1, "{customer}: {entries:?}");
        assert_eq!(assigned[0]["by"], "ada");
    }
    for customer in &south {
        let card = office.get(&format!("/customers/{customer}")).await;
        assert_eq!(card.body["assignees"], json!([]), "{customer}");
    }
    let listed = office.get("/users/tess/customers?limit=100").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 100);
    let list = office.get("/bulk-changes").await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        list.body
    );
}

#[tokio::test]
async fn a_technicians_bulk_change_reaches_only_their_customers() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let tess = suite.user("acme", "tess", TECHNICIAN);
    let ids = customers(&office, "T", 3, &[]).await;
    for id in &ids[..2] {
        office
            .put_empty(&format!("/customers/{id}/assignees/tess"))
            .await
            .expect(200);
    }
    let unknown = "01J8ZQ4N6X3M2S7K9V5T1B0C8D";

    // What technicians may not do at all is refused before anything is recorded.
    let selection = json!({"ids": ids});
    for (change, missing) in [
        (json!({"deactivate": true}), "changeStatus"),
        (json!({"assign": "tess"}), "assign"),
    ] {
        let refused = tess
            .post(
                "/bulk-changes",
                &json!({"selection": selection, "change": change}),
            )
            .await;
        refused.expect_problem(403, "forbidden");
        assert_eq!(refused.body["missingPermission"], missing);
    }

    let mut selected = ids.clone();
    selected.push(unknown.into());
    let requested = tess
        .post(
            "/bulk-changes",
            &json!({"selection": {"ids": selected}, "change": {"addTag": "Checked"}}),
        )
        .await;
    requested.expect(202);
    let id = id_of(&requested);
    let done = follow(&tess, &id).await.pop().unwrap();
    assert_eq!(totals(&done), (4, 2, 0, 2), "{done}");
    assert_eq!(
        done["refused"],
        json!([{"customerId": ids[2], "reason": "outOfReach"},
               {"customerId": unknown, "reason": "notFound"}])
    );
    for (i, id) in ids.iter().enumerate() {
        let card = office.get(&format!("/customers/{id}")).await;
        let expected = if i < 2 { json!(["Checked"]) } else { json!([]) };
        assert_eq!(card.body["tags"], expected, "{id}");
    }
    let entry = &history(&office, &ids[0]).await[0];
    assert_eq!(entry["kind"], "updated");
    assert_eq!(entry["by"], "tess");

    // Another technician neither sees it nor lists it; the office does.
    let tom = suite.user("acme", "tom", TECHNICIAN);
    tom.get(&format!("/bulk-changes/{id}"))
        .await
        .expect_problem(404, "not-found");
    assert_eq!(tom.get("/bulk-changes").await.body["items"], json!([]));
    office.get(&format!("/bulk-changes/{id}")).await.expect(200);
}

#[tokio::test]
async fn a_bulk_deactivation_runs_the_cascade_and_a_filter_reactivates() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let ids = customers(&office, "D", 2, &["closing"]).await;
    let site = office
        .post(
            &format!("/customers/{}/sites", ids[0]),
            &json!({"name": "Yard"}),
        )
        .await;
    site.expect(201);
    let site_path = format!("/customers/{}/sites/{}", ids[0], id_of(&site));

    let requested = office
        .post(
            "/bulk-changes",
            &json!({"selection": {"ids": ids}, "change": {"deactivate": true}}),
        )
        .await;
    requested.expect(202);
    let done = follow(&office, &id_of(&requested)).await.pop().unwrap();
    assert_eq!(totals(&done), (2, 2, 0, 0));
    let started = Instant::now();
    while office.get(&site_path).await.body["status"] != "inactive" {
        assert!(started.elapsed() < WAIT, "the cascade did not run");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(history_of_kind(&office, &ids[0], "deactivated").await, 1);
    assert_eq!(
        history_of_kind(&office, &ids[0], "sitesDeactivated").await,
        1
    );

    // The inactive ones of a tag, by filter.
    let requested = office
        .post(
            "/bulk-changes",
            &json!({"selection": {"filter": {"status": "inactive", "tag": "closing"}},
                    "change": {"reactivate": true}}),
        )
        .await;
    requested.expect(202);
    let done = follow(&office, &id_of(&requested)).await.pop().unwrap();
    assert_eq!(totals(&done), (2, 2, 0, 0), "{done}");
    for id in &ids {
        let card = office.get(&format!("/customers/{id}")).await;
        assert_eq!(card.body["status"], "active");
    }
}

#[tokio::test]
async fn redelivered_pages_and_a_rerun_change_nothing_twice() {
    let suite = Suite::start_with_parameters(2, &[("BulkChangePageSize", "2")]).await;
    let office = suite.user("acme", "ada", ADMIN);
    let ids = customers(&office, "R", 5, &[]).await;
    let requested = office
        .post(
            "/bulk-changes",
            &json!({"selection": {"ids": ids}, "change": {"addTag": "audited"}}),
        )
        .await;
    requested.expect(202);
    let id = id_of(&requested);
    let done = follow(&office, &id).await.pop().unwrap();
    assert_eq!(totals(&done), (5, 5, 0, 0));
    let before = entries(&office, &ids).await;

    // The record's insert and a continuation, delivered again after it completed.
    let tenant = store::TenantId::parse("acme").unwrap();
    let key = store::keys::bulk_change(&tenant, &id);
    let keys = json!({"PK": {"S": key.pk}, "SK": {"S": key.sk}});
    let insert = e2e::notifications::stream_record(
        "998",
        "INSERT",
        keys,
        Some(json!({"entity": {"S": "BulkChange"}})),
        None,
    );
    let continuation = json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1",
        "body": json!({"continueBulkChange": {"tenant": "acme", "bulkChangeId": id}}).to_string()}]});
    let worker = &suite.stack.functions["CustomersCascadeFunction"];
    for event in [insert.clone(), continuation] {
        let answer = worker.invoke(event).await.expect("the worker answers");
        assert_eq!(answer["batchItemFailures"], json!([]));
    }
    assert_eq!(office.get(&format!("/bulk-changes/{id}")).await.body, done);
    assert_eq!(entries(&office, &ids).await, before);

    // Its progress lost (the record back as it was recorded) and run again: every customer
    // is found as asked already, and no history entry is written twice.
    rewind(&suite, &key).await;
    let answer = worker.invoke(insert).await.expect("the worker answers");
    assert_eq!(answer["batchItemFailures"], json!([]));
    // One page from the stream's delivery, the rest through the queue.
    let again = follow(&office, &id).await.pop().unwrap();
    assert_eq!(totals(&again), (5, 0, 5, 0), "{again}");
    assert_eq!(entries(&office, &ids).await, before);
}

/// History entries of these customers, all told.
async fn entries(session: &Session<'_>, ids: &[String]) -> usize {
    let mut n = 0;
    for customer in ids {
        n += history(session, customer).await.len();
    }
    n
}

/// Puts the bulk change's record back as the API recorded it: queued, nothing counted.
async fn rewind(suite: &Suite, key: &store::keys::Key) {
    let stored = suite
        .dynamodb
        .get_item()
        .table_name(suite.table())
        .key("PK", AttributeValue::S(key.pk.clone()))
        .key("SK", AttributeValue::S(key.sk.clone()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the record");
    let mut item = stored.clone();
    let selected = match &stored["totals"] {
        AttributeValue::M(totals) => totals["selected"].clone(),
        other => panic!("totals: {other:?}"),
    };
    let zero = AttributeValue::N("0".into());
    item.insert("status".into(), AttributeValue::S("queued".into()));
    item.insert(
        "totals".into(),
        AttributeValue::M(
            [
                ("selected".to_owned(), selected),
                ("changed".to_owned(), zero.clone()),
                ("unchanged".to_owned(), zero.clone()),
                ("refused".to_owned(), zero.clone()),
            ]
            .into(),
        ),
    );
    item.insert("refused".into(), AttributeValue::L(vec![]));
    item.insert("pages".into(), zero);
    item.remove("cursor");
    item.remove("finishedAt");
    suite
        .dynamodb
        .put_item()
        .table_name(suite.table())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn ids_of_another_organisation_are_not_found_and_never_changed() {
    let suite = Suite::start().await;
    let acme = suite.user("acme", "ada", ADMIN);
    let globex = suite.user("globex", "gus", ADMIN);
    let theirs = customers(&acme, "A", 1, &[]).await;
    let card = acme.get(&format!("/customers/{}", theirs[0])).await;

    let requested = globex
        .post(
            "/bulk-changes",
            &json!({"selection": {"ids": theirs}, "change": {"deactivate": true}}),
        )
        .await;
    requested.expect(202);
    let id = id_of(&requested);
    let done = follow(&globex, &id).await.pop().unwrap();
    assert_eq!(totals(&done), (1, 0, 0, 1));
    assert_eq!(done["refused"][0]["reason"], "notFound");
    assert_eq!(
        acme.get(&format!("/customers/{}", theirs[0])).await.body,
        card.body
    );
    // Nor does acme see globex's bulk change.
    acme.get(&format!("/bulk-changes/{id}"))
        .await
        .expect_problem(404, "not-found");
    assert_eq!(acme.get("/bulk-changes").await.body["items"], json!([]));
}

#[tokio::test]
async fn a_request_that_is_not_one_change_of_a_selection_is_refused() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    for (body, pointer) in [
        (
            json!({"selection": {"ids": []}, "change": {"addTag": "x"}}),
            "/selection/ids",
        ),
        (
            json!({"selection": {"ids": ["not-an-id"]}, "change": {"addTag": "x"}}),
            "/selection/ids/0",
        ),
        (
            json!({"selection": {"filter": {"colour": "red"}}, "change": {"addTag": "x"}}),
            "/selection/filter/colour",
        ),
        (
            json!({"selection": {"filter": {}}, "change": {"addTag": "x", "removeTag": "y"}}),
            "/change",
        ),
        (
            json!({"selection": {"filter": {}}, "change": {"deactivate": false}}),
            "/change",
        ),
    ] {
        let refused = office.post("/bulk-changes", &body).await;
        refused.expect_problem(422, "validation-failed");
        assert_eq!(
            refused.body["errors"][0]["field"], pointer,
            "{body}: {}",
            refused.body
        );
    }
    assert_eq!(office.get("/bulk-changes").await.body["items"], json!([]));
}
