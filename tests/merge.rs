//! Merging duplicates end to end: a duplicate with contacts, tags, an external reference, an
//! assignee, sites, a contract, work orders with jobs, a ticket (and its inventory) and a note
//! merged through the API into a survivor -> the duplicate's card `merged` -> the table's stream
//! -> devhost's mapping with the template's filter -> the built cascade function's merge ->
//! every record under the survivor with its id kept, page by page across invocations; the old
//! URL answers the survivor's location, both histories say who merged what; a repeat and a
//! redelivery change nothing. And the store's moves on their own: a record changed since it
//! was read is not moved over its change.

use std::time::{Duration, Instant};

use chrono::Utc;
use domain::{Customer, CustomerInput, Movable, SiteFields, SiteStatus, ValidationContext};
use e2e::notifications::fresh_mobile;
use e2e::work::{id_of, job, move_through};
use e2e::{Reply, Session, Suite, customer};
use serde_json::{Value, json};
use store::{MoveError, TenantId};

const ADMIN: &[&str] = &["administrator"];
const COORDINATOR: &[&str] = &["coordinator"];
const WAIT: Duration = Duration::from_secs(90);

async fn items(office: &Session<'_>, path: &str) -> Vec<Value> {
    let reply = office.get(path).await;
    reply.expect(200);
    reply.body["items"].as_array().cloned().unwrap_or_default()
}

async fn history(office: &Session<'_>, id: &str) -> Vec<Value> {
    items(office, &format!("/customers/{id}/history?limit=100")).await
}

fn kinds(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect()
}

/// A duplicate with something of every kind: (its id, the ids of its records by kind).
async fn duplicate_with_records(office: &Session<'_>, number: &str) -> (String, Value) {
    let mut card = customer(number, "Anna", "Berg");
    card["mobile"] = json!(fresh_mobile());
    card["contacts"] =
        json!([{"firstName": "Bo", "lastName": "Lind", "email": "bo.lind@example.com"}]);
    card["tags"] = json!(["north", "Gold"]);
    card["externalRefs"] = json!([{"system": "quickbooks", "id": format!("QB-{number}")}]);
    let created = office.post("/customers", &card).await;
    created.expect(201);
    let id = id_of(&created);
    office
        .put_empty(&format!("/customers/{id}/assignees/tech-9"))
        .await
        .expect(200);
    let mut sites = Vec::new();
    for i in 0..3 {
        let site = office
            .post(
                &format!("/customers/{id}/sites"),
                &json!({"name": format!("Site {i}")}),
            )
            .await;
        site.expect(201);
        sites.push(id_of(&site));
    }
    let contract = office
        .post(
            &format!("/customers/{id}/contracts"),
            &json!({"name": "Service", "period": {"start": "2026-01-01"}, "siteIds": [sites[0]]}),
        )
        .await;
    contract.expect(201);
    let mut work_orders = Vec::new();
    let mut jobs = Vec::new();
    for site in &sites[..2] {
        let order = office
            .post(
                &format!("/customers/{id}/work-orders"),
                &json!({"kind": "order", "title": "Service", "siteId": site}),
            )
            .await;
        order.expect(201);
        let order_id = id_of(&order);
        let visit = job(office, &id, &order_id, 2).await;
        visit.expect(201);
        jobs.push(id_of(&visit));
        work_orders.push(order_id);
    }
    let ticket = office
        .post(
            &format!("/customers/{id}/tickets"),
            &json!({"jobId": jobs[0], "material": "Copper pipe 15 mm", "quantity": "2.5",
                    "unit": "m", "at": "2026-12-01T09:30:00+01:00"}),
        )
        .await;
    ticket.expect(201);
    let note = office
        .post(
            &format!("/customers/{id}/notes"),
            &json!({"text": "Gate code 1234"}),
        )
        .await;
    note.expect(201);
    let ids = json!({
        "sites": sites, "contracts": [id_of(&contract)], "workOrders": work_orders,
        "jobs": jobs, "tickets": [id_of(&ticket)], "notes": [id_of(&note)],
    });
    (id, ids)
}

/// Waits until the duplicate's partition holds none of its records and the survivor has its
/// inventory: the merge's moves are done.
async fn moves_done(office: &Session<'_>, duplicate: &str, survivor: &str) {
    let started = Instant::now();
    loop {
        let mut left = 0;
        for kind in [
            "sites",
            "contracts",
            "work-orders",
            "jobs",
            "tickets",
            "notes",
            "inventory",
        ] {
            left += items(office, &format!("/customers/{duplicate}/{kind}?limit=100"))
                .await
                .len();
        }
        let inventory = items(office, &format!("/customers/{survivor}/inventory")).await;
        if left == 0 && !inventory.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < WAIT,
            "the moves did not finish: {left} left"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The stream record of the duplicate's card turning `merged`, as the mapping delivers it.
async fn merge_record(suite: &Suite, duplicate: &str) -> Value {
    let tenant = TenantId::parse("acme").unwrap();
    let key = store::keys::customer(&tenant, &domain::CustomerId(duplicate.to_owned()));
    let stored =
        e2e::notifications::stored_image(&suite.dynamodb, suite.table(), &key.pk, &key.sk).await;
    let mut old = stored.clone();
    old["status"] = json!({"S": "active"});
    old.as_object_mut().unwrap().remove("mergedInto");
    let keys = json!({"PK": {"S": key.pk}, "SK": {"S": key.sk}});
    e2e::notifications::stream_record("998", "MODIFY", keys, Some(stored), Some(old))
}

#[tokio::test]
async fn a_duplicate_merges_into_the_survivor_with_all_its_records_in_pages() {
    // Two records per page, two pages per invocation: the moves take several invocations,
    // the later ones through the cascade queue.
    let suite = Suite::start_with_parameters(
        2,
        &[("CascadePageSize", "2"), ("CascadePagesPerInvocation", "2")],
    )
    .await;
    let office = suite.user("acme", "ada", ADMIN);
    let coordinator = suite.user("acme", "cora", COORDINATOR);
    // A Swedish organisation: its customers are texted about their visits.
    let mut settings = office.get("/settings").await.body;
    settings["organisationName"] = json!("Rörmokarna AB");
    settings["defaultCountry"] = json!("SE");
    office
        .send_json(http::Method::PUT, "/settings", &[], &settings)
        .await
        .expect(200);
    let mut survivor_card = customer("9001", "Anna", "Berg");
    survivor_card["mobile"] = json!(fresh_mobile());
    let survivor = office.post("/customers", &survivor_card).await;
    survivor.expect(201);
    let survivor_id = id_of(&survivor);
    let (duplicate_id, ids) = duplicate_with_records(&office, "9002").await;
    // Each scheduled visit was texted to the duplicate once.
    let duplicate_card = office.get(&format!("/customers/{duplicate_id}")).await;
    let duplicate_mobile = duplicate_card.body["mobile"].as_str().unwrap().to_owned();
    assert_eq!(suite.wait_for_texts(&duplicate_mobile, 2).await.len(), 2);
    let survivor_mobile = survivor.body["mobile"].as_str().unwrap().to_owned();
    let merge_path = format!("/customers/{survivor_id}/merge");
    let body = json!({"duplicateId": duplicate_id});

    // Administrators only by default.
    coordinator
        .post(&merge_path, &body)
        .await
        .expect_problem(403, "forbidden");

    let merged = office
        .send_json(
            http::Method::POST,
            &merge_path,
            &[("if-match", &survivor.etag())],
            &body,
        )
        .await;
    merged.expect(202);
    assert_eq!(
        merged.header("location"),
        Some(format!("/customers/{survivor_id}").as_str())
    );
    let card = &merged.body;
    let contacts: Vec<&str> = card["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["firstName"].as_str().unwrap())
        .collect();
    assert_eq!(contacts, ["Bo"], "{card}");
    assert_eq!(card["tags"], json!(["north", "Gold"]));
    assert_eq!(card["externalRefs"][0]["id"], "QB-9002");
    assert_eq!(card["assignees"], json!(["tech-9"]));
    assert_eq!(card["sitesCount"], 3);

    moves_done(&office, &duplicate_id, &survivor_id).await;

    // Every record under the survivor with its id; what names another record still finds it.
    let customer_path = format!("/customers/{survivor_id}");
    for (kind, path) in [
        ("sites", "sites"),
        ("contracts", "contracts"),
        ("workOrders", "work-orders"),
        ("jobs", "jobs"),
        ("tickets", "tickets"),
        ("notes", "notes"),
    ] {
        for id in ids[kind].as_array().unwrap() {
            let record = office
                .get(&format!("{customer_path}/{path}/{}", id.as_str().unwrap()))
                .await;
            record.expect(200);
            assert_eq!(record.body["customerId"], survivor_id.as_str(), "{kind}");
        }
    }
    let job_id = ids["jobs"][0].as_str().unwrap();
    let moved_job = office.get(&format!("{customer_path}/jobs/{job_id}")).await;
    assert_eq!(moved_job.body["workOrderId"], ids["workOrders"][0]);
    let by_start = items(&office, &format!("{customer_path}/jobs")).await;
    assert_eq!(by_start.len(), 2, "the jobs' index moved with them");
    let inventory = items(&office, &format!("{customer_path}/inventory")).await;
    assert_eq!(inventory.len(), 1);
    assert_eq!(inventory[0]["siteId"], ids["sites"][0]);
    // A moved visit is no news: nobody is texted again (the notifications settle first).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(suite.texts_to(&survivor_mobile).await, Vec::<String>::new());
    assert_eq!(suite.texts_to(&duplicate_mobile).await.len(), 2);
    // Work on the moved records goes on under the survivor, and its news reach the survivor.
    move_through(
        &office,
        &format!("{customer_path}/jobs/{job_id}"),
        &["enRoute"],
    )
    .await;
    assert_eq!(suite.wait_for_texts(&survivor_mobile, 1).await.len(), 1);

    // The old URL answers the survivor's location; the old number finds the survivor.
    let old = office.get(&format!("/customers/{duplicate_id}")).await;
    old.expect_problem(308, "customer-merged");
    assert_eq!(old.header("location"), Some(customer_path.as_str()));
    let by_number = items(&office, "/customers?number=9002").await;
    assert_eq!(by_number.len(), 1);
    assert_eq!(by_number[0]["id"], survivor_id.as_str());
    let listed = items(&office, "/customers?status=all&limit=100").await;
    assert!(listed.iter().all(|c| c["id"] != duplicate_id.as_str()));

    // A merged card is final: no change, nothing new hangs off it.
    office
        .patch(
            &format!("/customers/{duplicate_id}"),
            "*",
            &json!({"description": "x"}),
        )
        .await
        .expect_problem(409, "customer-merged");
    office
        .post(
            &format!("/customers/{duplicate_id}/notes"),
            &json!({"text": "late"}),
        )
        .await
        .expect(409);

    // Both histories: who merged what, and the pages of moves.
    let survivor_history = history(&office, &survivor_id).await;
    let merge_entry = survivor_history
        .iter()
        .find(|e| e["kind"] == "duplicateMerged")
        .expect("the survivor's merge entry");
    assert_eq!(merge_entry["by"], "ada");
    assert!(
        merge_entry["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "/mergedFrom" && c["after"] == duplicate_id.as_str())
    );
    let pages = kinds(&survivor_history)
        .iter()
        .filter(|k| **k == "recordsMoved")
        .count();
    // 3 sites, 1 contract, 2 work orders, 2 jobs, 1 ticket, 1 note, 1 inventory line in
    // pages of 2.
    assert_eq!(
        pages,
        2 + 1 + 1 + 1 + 1 + 1 + 1,
        "{:?}",
        kinds(&survivor_history)
    );
    let duplicate_history = history(&office, &duplicate_id).await;
    let merged_into = duplicate_history
        .iter()
        .find(|e| e["kind"] == "mergedInto")
        .expect("the duplicate's merge entry");
    assert_eq!(merged_into["by"], "ada");
    assert!(
        merged_into["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "/status" && c["after"] == "merged")
    );
    assert_eq!(
        kinds(&duplicate_history)
            .iter()
            .filter(|k| **k == "recordsMoved")
            .count(),
        pages
    );

    // Asking again, and the stream record delivered again: nothing changes.
    let before = history(&office, &survivor_id).await.len();
    office.post(&merge_path, &body).await.expect(202);
    let cascade = &suite.stack.functions["CustomersCascadeFunction"];
    let response = cascade
        .invoke(merge_record(&suite, &duplicate_id).await)
        .await
        .expect("the cascade function answers");
    assert_eq!(response["batchItemFailures"], json!([]));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(history(&office, &survivor_id).await.len(), before);
    let duplicate_now = history(&office, &duplicate_id).await;
    assert_eq!(duplicate_now.len(), duplicate_history.len());
}

#[tokio::test]
async fn a_change_racing_the_merge_is_kept_and_a_stale_merge_writes_nothing() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let survivor = office
        .post("/customers", &customer("9101", "Anna", "Berg"))
        .await;
    let survivor_id = id_of(&survivor);
    let duplicate = office
        .post("/customers", &customer("9102", "Anna", "Berg"))
        .await;
    let duplicate_id = id_of(&duplicate);
    // A change lands on the survivor after the merge was prepared on its old version.
    let changed = office
        .patch(
            &format!("/customers/{survivor_id}"),
            &survivor.etag(),
            &json!({"description": "Moved to Gävle"}),
        )
        .await;
    changed.expect(200);
    let merge_path = format!("/customers/{survivor_id}/merge");
    let body = json!({"duplicateId": duplicate_id});
    let stale: Reply = office
        .send_json(
            http::Method::POST,
            &merge_path,
            &[("if-match", &survivor.etag())],
            &body,
        )
        .await;
    stale.expect_problem(412, "stale-version");
    let untouched = office.get(&format!("/customers/{duplicate_id}")).await;
    untouched.expect(200);
    assert_eq!(untouched.body["status"], "active");

    // Without If-Match the merge is decided on the cards as they are: the change stays.
    let merged = office.post(&merge_path, &body).await;
    merged.expect(202);
    assert_eq!(merged.body["description"], "Moved to Gävle");
    // An import row with the merged card's number neither changes the merged card nor makes
    // a new card of the old number: it is refused, naming the survivor.
    let file = "Customer Number,First Name,Last Name\n9102,Anja,Berg\n";
    let done = office
        .import_csv(&json!({"fileName": "kunder.csv"}), file.as_bytes())
        .await;
    assert_eq!(done["counts"]["failed"], 1, "{done}");
    let report = office.error_report(&done).await;
    assert!(report.contains("customer_merged"), "{report}");
    assert!(report.contains(survivor_id.as_str()), "{report}");
    let by_number = items(&office, "/customers?number=9102").await;
    assert_eq!(by_number.len(), 1);
    assert_eq!(by_number[0]["id"], survivor_id.as_str());
    assert_eq!(by_number[0]["firstName"], "Anna");
    // Merging the survivor away now, or into an inactive card, is refused.
    office
        .post(
            &format!("/customers/{duplicate_id}/merge"),
            &json!({"duplicateId": survivor_id}),
        )
        .await
        .expect_problem(409, "merge-refused");
    office
        .post(&merge_path, &json!({"duplicateId": survivor_id}))
        .await
        .expect_problem(409, "merge-refused");
    office
        .post(
            &merge_path,
            &json!({"duplicateId": "01KBNXZ0000000000000000000"}),
        )
        .await
        .expect_problem(404, "not-found");
}

fn card(number: &str) -> Customer {
    let input = CustomerInput {
        customer_number: Some(number.into()),
        company_name: Some("Acme".into()),
        ..Default::default()
    };
    let fields = domain::validate_customer(input, &ValidationContext::default()).unwrap();
    Customer::new(fields, "test", Utc::now())
}

#[tokio::test]
async fn a_record_changed_since_it_was_read_is_not_moved_over_its_change() {
    let (_, table) = e2e::fresh_table().await;
    let store = e2e::store(table).await;
    let acme = TenantId::parse("acme").unwrap();
    let (survivor, duplicate) = (card("1"), card("2"));
    for c in [&survivor, &duplicate] {
        store.create(&acme, c, None).await.unwrap();
    }
    let site = domain::Site::new(
        duplicate.id.clone(),
        SiteFields {
            name: "Yard".into(),
            address: None,
            contact: None,
            customer_owned: false,
            status: SiteStatus::Active,
        },
        "test",
        Utc::now(),
    );
    store
        .link(
            &acme,
            store::Link {
                record: &site,
                depends: Vec::new(),
                idempotency: None,
            },
        )
        .await
        .unwrap();
    let entry = e2e::history_entry(domain::ChangeKind::RecordsMoved);
    let moved = site.moved(&survivor.id, "cascade:merge", Utc::now());
    // Not merged yet: nothing moves.
    let early = store
        .move_for_merge(
            &acme,
            &duplicate.id,
            &survivor.id,
            &[(1, moved.clone())],
            &entry,
        )
        .await;
    assert!(matches!(early, Err(MoveError::NotMerged)), "{early:?}");

    let merge = domain::merge_cards(&survivor, &duplicate, "ada", Utc::now());
    assert!(
        store
            .merge(&acme, &survivor, &duplicate, &merge)
            .await
            .unwrap()
    );
    // Someone changed the site after the page was read (version 1): the move fails and the
    // change is where it was.
    let mut renamed = site.clone();
    renamed.fields.name = "Yard (north gate)".into();
    renamed.version = 2;
    store.change(&acme, &renamed, 1, &[]).await.unwrap();
    let stale = store
        .move_for_merge(&acme, &duplicate.id, &survivor.id, &[(1, moved)], &entry)
        .await;
    assert!(matches!(stale, Err(MoveError::Changed)), "{stale:?}");
    let still: Option<domain::Site> = store.linked(&acme, &duplicate.id, &site.id).await.unwrap();
    assert_eq!(still.unwrap().fields.name, "Yard (north gate)");

    // Read again, moved with the change.
    let moved = renamed.moved(&survivor.id, "cascade:merge", Utc::now());
    store
        .move_for_merge(&acme, &duplicate.id, &survivor.id, &[(2, moved)], &entry)
        .await
        .unwrap();
    let there: Option<domain::Site> = store.linked(&acme, &survivor.id, &site.id).await.unwrap();
    assert_eq!(there.unwrap().fields.name, "Yard (north gate)");
    let gone: Option<domain::Site> = store.linked(&acme, &duplicate.id, &site.id).await.unwrap();
    assert!(gone.is_none());
    let survivor_now = store.get(&acme, &survivor.id).await.unwrap().unwrap();
    assert_eq!(survivor_now.version, 2);
}
