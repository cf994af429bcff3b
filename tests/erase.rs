//! Erasure (GDPR right to erasure) and subject access end to end: a customer with contacts, a
//! site, a note, work orders with texts sent, tickets, history, an assignment and an
//! idempotent create is exported, erased through the API, and its other records erased by the
//! cascade function fed from the table's stream; then every item of the table is scanned for
//! any of its personal values, and none is found, while its number and work remain.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::notifications::{fresh_mobile, stream_record};
use e2e::work::{id_of, move_through, window};
use e2e::{Session, Suite};
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];
const WAIT: Duration = Duration::from_secs(60);

/// Every string value of an attribute, however deep.
fn strings(value: &AttributeValue, out: &mut Vec<String>) {
    match value {
        AttributeValue::S(s) => out.push(s.clone()),
        AttributeValue::N(n) => out.push(n.clone()),
        AttributeValue::Ss(ss) => out.extend(ss.iter().cloned()),
        AttributeValue::L(list) => list.iter().for_each(|v| strings(v, out)),
        AttributeValue::M(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Every item of the table, each as the list of its key attributes' and values' strings.
async fn scan(suite: &Suite) -> Vec<Vec<String>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = suite
            .dynamodb
            .scan()
            .table_name(suite.table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            let mut values = Vec::new();
            for (name, value) in item {
                values.push(name.clone());
                strings(value, &mut values);
            }
            values.sort();
            items.push(values);
        }
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => break,
        }
    }
    items.sort();
    items
}

/// Where a personal value still is: the items (as strings) that hold it, case-insensitively;
/// a phone also as the digits of any string.
fn holders<'a>(items: &'a [Vec<String>], value: &str) -> Vec<&'a Vec<String>> {
    let needle = value.to_lowercase();
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let phone = value.starts_with('+');
    items
        .iter()
        .filter(|item| {
            item.iter().any(|s| {
                s.to_lowercase().contains(&needle)
                    || (phone && {
                        let d: String = s.chars().filter(char::is_ascii_digit).collect();
                        d.contains(&digits[2..])
                    })
            })
        })
        .collect()
}

/// Every version of every object of the imports bucket, each as its key and text.
async fn bucket_texts(suite: &Suite) -> Vec<Vec<String>> {
    let s3 = suite.s3().await;
    let listed = s3
        .list_object_versions()
        .bucket(suite.bucket())
        .send()
        .await
        .expect("list versions");
    assert_ne!(
        listed.is_truncated(),
        Some(true),
        "one page holds this test's objects"
    );
    let mut objects = Vec::new();
    for version in listed.versions() {
        let (key, id) = (version.key().unwrap(), version.version_id().unwrap());
        let object = s3
            .get_object()
            .bucket(suite.bucket())
            .key(key)
            .version_id(id)
            .send()
            .await
            .expect("read a version");
        let bytes = object.body.collect().await.expect("its body").into_bytes();
        objects.push(vec![
            key.to_owned(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ]);
    }
    objects
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

async fn wait_for_history(suite: &Suite, office: &Session<'_>, id: &str, kind: &str) {
    let started = Instant::now();
    while !history_kinds(office, id).await.iter().any(|k| k == kind) {
        let logs = suite.logs();
        let cascade: Vec<&str> = logs.lines().filter(|l| l.contains("cascade")).collect();
        assert!(
            started.elapsed() < WAIT,
            "no {kind} entry; the cascade's log: {cascade:#?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn an_erased_customer_leaves_no_personal_data_in_the_table_and_keeps_its_number_and_work() {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    let mut settings = office.get("/settings").await.body;
    settings["organisationName"] = json!("Rörmokarna AB");
    settings["timeZone"] = json!("Europe/Stockholm");
    settings["defaultCountry"] = json!("SE");
    office
        .send_json(http::Method::PUT, "/settings", &[], &settings)
        .await
        .expect(200);

    let (card_mobile, contact_mobile) = (fresh_mobile(), fresh_mobile());
    let card = json!({
        "customerNumber": "E-7001",
        "firstName": "Ingeborg",
        "lastName": "Quarnström",
        "email": "ingeborg.q@erase.example",
        "mobile": card_mobile,
        "language": "sv",
        "description": "Prefers calls after Quarnström's lunch",
        "visitingAddress": {"line1": "Ödegårdsvägen 17", "postalCode": "11122",
                            "city": "Stockholm", "country": "SE"},
        "contacts": [{"firstName": "Hjalmar", "lastName": "Zetterlund", "primary": true,
                      "email": "hjalmar.z@erase.example", "mobile": contact_mobile}],
        "terms": {"paymentType": "account", "currency": "SEK", "creditLimit": 5_000_000,
                  "paymentTerms": "net30"},
    });
    let created = office
        .send_json(
            http::Method::POST,
            "/customers",
            &[("idempotency-key", "erase-create-ingeborg")],
            &card,
        )
        .await;
    created.expect(201);
    let id = id_of(&created);
    let customer = format!("/customers/{id}");
    let site = office
        .post(
            &format!("{customer}/sites"),
            &json!({"name": "Ingeborgs stuga", "address": {"line1": "Fjällgläntan 4",
                    "city": "Åre", "country": "SE"}}),
        )
        .await;
    site.expect(201);
    let site = id_of(&site);
    office
        .post(
            &format!("{customer}/notes"),
            &json!({"text": "Key under the blue flowerpot", "siteId": site}),
        )
        .await
        .expect(201);
    office
        .put_empty(&format!("{customer}/assignees/tech-1"))
        .await
        .expect(200);
    // History with personal values before and after.
    let current = office.get(&customer).await;
    office
        .patch(
            &customer,
            &current.etag(),
            &json!({"email": "ingeborg.quarnstrom@erase.example"}),
        )
        .await
        .expect(200);
    // A visit texted when scheduled, on the way and done; a ticket with a note.
    let order = office
        .post(
            &format!("{customer}/work-orders"),
            &json!({"kind": "order", "title": "Boiler service", "siteId": site,
                    "description": "Hjalmar Zetterlund lets the technician in"}),
        )
        .await;
    order.expect(201);
    let order = id_of(&order);
    let job = office
        .post(
            &format!("{customer}/work-orders/{order}/jobs"),
            &json!({"window": window(1), "technicians": ["tech-1"], "leadTechnicianName": "Åsa",
                    "note": "Ring Ingeborg first"}),
        )
        .await;
    job.expect(201);
    let job_id = id_of(&job);
    let job_path = format!("{customer}/jobs/{job_id}");
    move_through(&office, &job_path, &["enRoute", "inProgress", "completed"]).await;
    office
        .post(
            &format!("{customer}/tickets"),
            &json!({"jobId": job_id, "material": "Copper pipe", "quantity": "2", "unit": "m",
                    "at": "2026-12-02T09:00:00+01:00", "note": "Signed by Hjalmar Zetterlund"}),
        )
        .await
        .expect(201);
    assert_eq!(suite.wait_for_texts(&contact_mobile, 3).await.len(), 3);
    // An import whose error report (and file) holds a row mentioning the customer.
    let csv = "Customer Number,First Name,Last Name,Email\r\n\
               E-7099,Ingeborg,Quarnström,\"Ingeborg Quarnström <ingeborg.q@erase.example>\"\r\n\
               E-7100,Carl,Ek,carl.ek(at)other.example\r\n";
    let import = office.import_csv(&json!({}), csv.as_bytes()).await;
    let report = office.error_report(&import).await;
    assert!(report.to_lowercase().contains("ingeborg"), "{report}");
    assert!(!bucket_texts(&suite).await.is_empty());

    let personal = [
        "Ingeborg",
        "Quarnström",
        "Hjalmar",
        "Zetterlund",
        "erase.example",
        "Ödegårdsvägen",
        "Fjällgläntan",
        "blue flowerpot",
        card_mobile.as_str(),
        contact_mobile.as_str(),
    ];
    // Subject access: everything is there before the erasure.
    let export = office.get(&format!("{customer}/personal-data")).await;
    export.expect(200);
    let exported = export.body.to_string();
    for value in personal {
        assert!(exported.contains(value), "{value} not in the export");
    }
    for kind in [
        "Customer",
        "CustomerHistory",
        "Site",
        "Note",
        "WorkOrder",
        "Job",
        "Ticket",
        "Text",
        "IdempotencyRecord",
        "ImportRow",
        "ImportFile",
    ] {
        assert!(
            export.body["records"][kind].is_array(),
            "no {kind} in the export"
        );
    }
    // The stored answer of the create sent with an Idempotency-Key.
    let stored = export.body["records"]["IdempotencyRecord"].to_string();
    assert!(stored.contains("Quarnström"), "{stored}");
    // The import's error row that mentions the customer, and the file it came from; not the
    // other customer's row.
    let import_id = import["id"].as_str().expect("an import id");
    let rows = export.body["records"]["ImportRow"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["importId"], import_id);
    assert!(
        rows[0]["row"].as_str().unwrap().starts_with("2,"),
        "{rows:?}"
    );
    assert!(report.contains("carl.ek(at)other.example"), "{report}");
    assert!(!exported.contains("carl.ek(at)other.example"));
    let files = &export.body["records"]["ImportFile"];
    assert_eq!(files[0]["importId"], import_id, "{files}");
    assert!(
        files[0]["objectKey"]
            .as_str()
            .unwrap()
            .starts_with("imports/")
    );

    // Only the erase permission erases or exports.
    let technician = suite.user("acme", "tech-1", &["technician"]);
    let coordinator = suite.user("acme", "cora", &["coordinator"]);
    let etag = office.get(&customer).await.etag();
    for caller in [&technician, &coordinator] {
        caller
            .send(
                http::Method::POST,
                &format!("{customer}/erase"),
                &[("if-match", &etag)],
                None,
            )
            .await
            .expect_problem(403, "forbidden");
        caller
            .get(&format!("{customer}/personal-data"))
            .await
            .expect_problem(403, "forbidden");
    }
    office
        .send(http::Method::POST, &format!("{customer}/erase"), &[], None)
        .await
        .expect(428);

    let erased = office
        .send(
            http::Method::POST,
            &format!("{customer}/erase"),
            &[("if-match", &etag)],
            None,
        )
        .await;
    erased.expect(202);
    assert_eq!(erased.body["displayName"], "Erased customer");
    assert_eq!(erased.body["status"], "inactive");
    assert_eq!(erased.body["customerNumber"], "E-7001");
    assert_eq!(erased.body["erased"]["by"], "ada");
    wait_for_history(&suite, &office, &id, "recordsErased").await;

    let items = scan(&suite).await;
    for value in personal {
        let found = holders(&items, value);
        assert!(found.is_empty(), "{value} is still in {found:?}");
    }
    // Nor in any version of any object of the bucket (error reports, uploaded files).
    let objects = bucket_texts(&suite).await;
    for value in personal {
        let found = holders(&objects, value);
        assert!(
            found.is_empty(),
            "{value} is still in the bucket: {found:?}"
        );
    }
    let report = office.error_report(&import).await;
    assert!(!report.contains("ngeborg"), "{report}");
    assert!(
        report.contains("carl.ek(at)other.example"),
        "another customer's row stays: {report}"
    );
    // The SMS policy's per-number counters of the numbers texted are gone too.
    let tenant = store::TenantId::parse("acme").unwrap();
    let tag = store::keys::number_tag(&tenant, &contact_mobile);
    assert!(
        holders(&items, &tag).is_empty(),
        "a per-number counter is left"
    );

    // The number and the work remain.
    let card = office.get(&customer).await;
    assert_eq!(card.body["customerNumber"], "E-7001");
    assert_eq!(card.body["terms"]["creditLimit"], 5_000_000);
    let work_order = office.get(&format!("{customer}/work-orders/{order}")).await;
    assert_eq!(work_order.body["title"], "Boiler service");
    assert!(work_order.body.get("description").is_none());
    assert_eq!(office.get(&job_path).await.body["status"], "completed");
    let tickets = office.get(&format!("{customer}/tickets")).await;
    assert_eq!(tickets.body["items"][0]["material"], "Copper pipe");
    let kinds = history_kinds(&office, &id).await;
    assert!(kinds.contains(&"erased".to_owned()), "{kinds:?}");

    // Subject access after: nothing personal.
    let export = office
        .get(&format!("{customer}/personal-data"))
        .await
        .body
        .to_string();
    for value in personal {
        assert!(!export.contains(value), "{value} is still exported");
    }

    // Nothing puts personal data back, and it is not reactivated.
    let etag = card.etag();
    office
        .patch(&customer, &etag, &json!({"firstName": "Ingeborg"}))
        .await
        .expect_problem(409, "erased");
    office
        .send(
            http::Method::POST,
            &format!("{customer}/reactivate"),
            &[],
            None,
        )
        .await
        .expect_problem(409, "erased");
    office
        .post(
            &format!("{customer}/notes"),
            &json!({"text": "Ingeborg called"}),
        )
        .await
        .expect_problem(409, "erased");
    office
        .post(
            &format!("{customer}/contacts"),
            &json!({"firstName": "Hjalmar"}),
        )
        .await
        .expect_problem(409, "erased");
    // Erasing again changes nothing.
    office
        .send(
            http::Method::POST,
            &format!("{customer}/erase"),
            &[("if-match", "*")],
            None,
        )
        .await
        .expect(202);

    // A redelivered stream record of the erasure changes nothing.
    let before = scan(&suite).await;
    let pk = format!("T#acme#C#{id}");
    let new = suite.image(&pk, "CUSTOMER").await;
    let mut old = new.clone();
    old.as_object_mut().unwrap().remove("erased");
    let keys = json!({"PK": {"S": pk}, "SK": {"S": "CUSTOMER"}});
    let record = stream_record("erasure-again", "MODIFY", keys, Some(new), Some(old));
    let function = &suite.stack.functions["CustomersCascadeFunction"];
    let answer = function.invoke(record).await.expect("answers");
    assert_eq!(answer["batchItemFailures"], json!([]));
    assert_eq!(scan(&suite).await, before, "a redelivery wrote something");
}

#[tokio::test]
async fn an_erased_customer_is_found_by_none_of_its_personal_values() {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    let created = office
        .post(
            "/customers",
            &json!({"customerNumber": "E-7002", "firstName": "Sigvard", "lastName": "Ålund",
                    "email": "sigvard@erase.example", "phone": "+46 8 555 123 45"}),
        )
        .await;
    created.expect(201);
    let id = id_of(&created);
    let erased = office
        .send(
            http::Method::POST,
            &format!("/customers/{id}/erase"),
            &[("if-match", &created.etag())],
            None,
        )
        .await;
    erased.expect(202);
    for query in [
        "q=sigvard&status=all",
        "q=alund&status=all",
        "email=sigvard%40erase.example",
        "phone=%2B46855512345",
    ] {
        let found = office.get(&format!("/customers?{query}")).await;
        found.expect(200);
        assert_eq!(found.body["items"], json!([]), "{query} still finds it");
    }
    let by_number = office.get("/customers?number=E-7002").await;
    assert_eq!(by_number.body["items"][0]["id"], id.as_str());
    assert_eq!(
        by_number.body["items"][0]["displayName"],
        Value::from("Erased customer")
    );
}

#[tokio::test]
async fn a_customer_created_with_an_idempotency_key_is_still_deleted_while_untouched() {
    // The pointer at the create's idempotency record (for erasure) is no use of the customer.
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    let created = office
        .send_json(
            http::Method::POST,
            "/customers",
            &[("idempotency-key", "erase-delete-1")],
            &json!({"customerNumber": "E-7003", "companyName": "Mistake AB"}),
        )
        .await;
    created.expect(201);
    let id = id_of(&created);
    office.delete(&format!("/customers/{id}")).await.expect(204);
    let left: Vec<Vec<String>> = scan(&suite)
        .await
        .into_iter()
        .filter(|item| item.iter().any(|s| s.contains(&id)))
        .filter(|item| !item.iter().any(|s| s == "IdempotencyRecord"))
        .collect();
    assert!(left.is_empty(), "left of the deleted customer: {left:?}");
}
