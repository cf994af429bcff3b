//! Notifications end to end: API -> table -> stream -> devhost's mappings with the template's
//! filters -> the built functions -> SNS on the emulator. Technicians' messages arrive on
//! queues subscribed with each technician's filter policy; texts are read back from the
//! emulator's record of the SMS it was asked to send.

use std::collections::HashMap;

use e2e::notifications::{Attributes, fresh_mobile, image_of, stream_record};
use e2e::work::{customer_with_site, id_of, job, move_through, window};
use e2e::{Session, Suite, customer};
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];

fn types(messages: &[(Value, Attributes)]) -> Vec<String> {
    messages
        .iter()
        .map(|(body, _)| body["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn new_work_order(office: &Session<'_>, id: &str, site: &str, kind: &str) -> String {
    let created = office
        .post(
            &format!("/customers/{id}/work-orders"),
            &json!({"kind": kind, "title": "No heating in building B", "siteId": site}),
        )
        .await;
    created.expect(201);
    id_of(&created)
}

#[tokio::test]
async fn technicians_hear_of_their_assignments_and_their_customers_new_work_and_nothing_else() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let mine = suite.technician_inbox("tech-1").await;
    let theirs = suite.technician_inbox("tech-2").await;
    let (id, site) = customer_with_site(&office, "5001").await;

    office
        .put_empty(&format!("/customers/{id}/assignees/tech-1"))
        .await
        .expect(200);
    let assigned = suite.inbox_messages(&mine, 1).await;
    assert_eq!(types(&assigned), ["assigned"]);
    let (body, attributes) = &assigned[0];
    let attribute = |name: &str, data_type: &str, value: &str| {
        (name.to_owned(), (data_type.to_owned(), value.to_owned()))
    };
    assert_eq!(
        *attributes,
        HashMap::from([
            attribute("userId", "String", "tech-1"), // what the filter policy matches
            attribute("tenant", "String", "acme"),
            attribute("eventType", "String", "assigned"),
            attribute("schemaVersion", "Number", "1"),
        ])
    );
    assert_eq!(body["schemaVersion"], 1);
    assert_eq!(body["tenant"], "acme");
    assert_eq!(body["customer"]["id"], id.as_str());
    assert_eq!(body["customer"]["customerNumber"], "5001");

    // New orders and fault reports of an assigned customer; not quotations.
    let order = new_work_order(&office, &id, &site, "order").await;
    new_work_order(&office, &id, &site, "quotation").await;
    new_work_order(&office, &id, &site, "faultReport").await;
    let work = suite.inbox_messages(&mine, 2).await;
    assert_eq!(types(&work), ["workOrderCreated", "workOrderCreated"]);
    assert_eq!(work[0].0["workOrder"]["id"], order.as_str());
    assert_eq!(work[1].0["workOrder"]["kind"], "faultReport");

    office
        .delete(&format!("/customers/{id}/assignees/tech-1"))
        .await
        .expect(200);
    assert_eq!(types(&suite.inbox_messages(&mine, 1).await), ["unassigned"]);
    // Unassigned: new work no longer reaches tech-1.
    new_work_order(&office, &id, &site, "order").await;
    assert!(suite.inbox_messages(&mine, 0).await.is_empty());
    assert!(
        suite.inbox_messages(&theirs, 0).await.is_empty(),
        "another technician's"
    );

    // A record delivered twice publishes once.
    let assignment = image_of(&std::collections::HashMap::from([
        ("PK".to_owned(), s(&format!("T#acme#C#{id}"))),
        ("SK".to_owned(), s("ASSIGNEE#tech-2")),
        ("entity".to_owned(), s("CustomerAssignment")),
        ("tenantId".to_owned(), s("acme")),
        ("customerId".to_owned(), s(&id)),
        ("customerNumber".to_owned(), s("5001")),
        ("customerName".to_owned(), s("Berg Anna")),
        ("userId".to_owned(), s("tech-2")),
        ("assignedBy".to_owned(), s("ada")),
        ("assignedAt".to_owned(), s("2026-12-01T10:00:00Z")),
    ]));
    let keys = json!({"PK": {"S": format!("T#acme#C#{id}")}, "SK": {"S": "ASSIGNEE#tech-2"}});
    let record = stream_record("4711", "INSERT", keys, Some(assignment), None);
    let function = &suite.stack.functions["TechnicianNotificationsFunction"];
    for _ in 0..2 {
        let response = function.invoke(record.clone()).await.expect("answers");
        assert_eq!(response["batchItemFailures"], json!([]));
    }
    assert_eq!(types(&suite.inbox_messages(&theirs, 1).await), ["assigned"]);
    // Every message published is counted once, per event type; the redelivery not again.
    let sent = suite.metrics("NoticesSent");
    let assigned = sent.iter().filter(|m| m["EventType"] == "assigned").count();
    let removed = sent
        .iter()
        .filter(|m| m["EventType"] == "unassigned")
        .count();
    assert_eq!((assigned, removed), (2, 1), "{sent:?}");
}

fn s(value: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(value.to_owned())
}

/// A Swedish-speaking customer whose primary contact has `mobile`, and one of its sites.
async fn swedish_customer(office: &Session<'_>, number: &str, contact: Value) -> (String, String) {
    let mut card = customer(number, "Anna", "Berg");
    card["language"] = json!("sv");
    card["contacts"] = json!([contact]);
    let created = office.post("/customers", &card).await;
    created.expect(201);
    let id = id_of(&created);
    let site = office
        .post(&format!("/customers/{id}/sites"), &json!({"name": "Villa"}))
        .await;
    (id, id_of(&site))
}

/// A Swedish organisation's settings: its texts go to Swedish numbers (the SMS policy's
/// default destination is the default country).
async fn settings(office: &Session<'_>) {
    let mut settings = office.get("/settings").await.body;
    settings["organisationName"] = json!("Rörmokarna AB");
    settings["timeZone"] = json!("Europe/Stockholm");
    settings["defaultCountry"] = json!("SE");
    office
        .send_json(http::Method::PUT, "/settings", &[], &settings)
        .await
        .expect(200);
}

async fn visit(office: &Session<'_>, id: &str, site: &str, day: u32) -> (String, String) {
    let order = new_work_order(office, id, site, "order").await;
    let created = office
        .post(
            &format!("/customers/{id}/work-orders/{order}/jobs"),
            &json!({"window": window(day), "technicians": ["tech-1", "tech-2"],
                    "leadTechnicianName": "Åsa"}),
        )
        .await;
    created.expect(201);
    (order, format!("/customers/{id}/jobs/{}", id_of(&created)))
}

async fn texts_of(office: &Session<'_>, id: &str, order: &str) -> Vec<Value> {
    office
        .get(&format!("/customers/{id}/work-orders/{order}/texts"))
        .await
        .body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_visit_texts_the_customer_when_scheduled_on_the_way_and_done_once_each_in_its_language() {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    settings(&office).await;
    let mobile = fresh_mobile();
    let mobile = mobile.as_str();
    let (id, site) = swedish_customer(
        &office,
        "5101",
        json!({"firstName": "Bo", "mobile": mobile, "primary": true}),
    )
    .await;
    let (order, path) = visit(&office, &id, &site, 1).await;
    // A note is no news; a turn back from the road is no new appointment.
    let current = office.get(&path).await;
    office
        .patch(
            &path,
            &current.etag(),
            &json!({"note": "Ring the bell twice"}),
        )
        .await
        .expect(200);
    move_through(&office, &path, &["enRoute", "inProgress", "completed"]).await;

    let texts = suite.wait_for_texts(mobile, 3).await;
    assert_eq!(
        texts,
        [
            "Rörmokarna AB: Ditt besök är bokat ons 2 dec kl. 08:00-10:00. Åsa kommer till dig.",
            "Rörmokarna AB: Åsa är på väg till dig nu och kommer inom den bokade tiden 08:00-10:00.",
            "Rörmokarna AB: Tack! Åsa har slutfört dagens besök. Hör av dig om något inte fungerar som det ska.",
        ],
        "one text per change, never one per technician"
    );
    let records = texts_of(&office, &id, &order).await;
    let summary: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["trigger"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(summary.len(), 3);
    assert!(
        summary.iter().all(|(_, state)| *state == "sent"),
        "{records:?}"
    );
    assert!(
        records
            .iter()
            .all(|r| r["messageId"].is_string() && r["to"] == mobile)
    );
    assert_eq!(records[0]["text"]["segments"], 1);

    // The completion delivered again sends nothing more.
    let job_id = path.rsplit('/').next().unwrap();
    let (pk, sk) = (format!("T#acme#C#{id}"), format!("JOB#{job_id}"));
    let done = suite.image(&pk, &sk).await;
    let mut before = done.clone();
    before["status"] = json!({"S": "inProgress"});
    before["version"] = json!({"N": (done["version"]["N"].as_str().unwrap().parse::<u64>().unwrap() - 1).to_string()});
    let keys = json!({"PK": {"S": pk}, "SK": {"S": sk}});
    let record = stream_record("redelivered-1", "MODIFY", keys, Some(done), Some(before));
    let function = &suite.stack.functions["CustomerTextsFunction"];
    let response = function.invoke(record).await.expect("answers");
    assert_eq!(response["batchItemFailures"], json!([]));
    assert_eq!(suite.wait_for_texts(mobile, 3).await.len(), 3);
    assert_eq!(texts_of(&office, &id, &order).await, records);

    // A rescheduled visit sends a new "scheduled" text.
    let (_, second) = visit(&office, &id, &site, 3).await;
    suite.wait_for_texts(mobile, 4).await;
    let current = office.get(&second).await;
    office
        .patch(&second, &current.etag(), &json!({"window": window(5)}))
        .await
        .expect(200);
    let texts = suite.wait_for_texts(mobile, 5).await;
    assert_eq!(texts.len(), 5);
    assert!(
        texts[4].contains("sön 6 dec kl. 08:00-10:00"),
        "{}",
        texts[4]
    );

    // The functions logged what they did, but no number, address or text.
    let logs = suite.logs();
    assert!(
        logs.contains("text settled"),
        "the texts' function logs its outcomes"
    );
    let digits = &mobile[mobile.len() - 7..];
    assert!(!logs.contains(digits), "a phone number in the logs");
    assert!(
        !logs.contains("@example.com"),
        "an e-mail address in the logs"
    );
    assert!(
        !logs.contains("Ditt besök") && !logs.contains("på väg"),
        "a text in the logs"
    );
    // Each text sent is counted once (the redelivered completion not again).
    let sent = suite.metrics("TextsSent");
    assert_eq!(sent.len(), 5, "{sent:?}");
    assert!(
        sent.iter()
            .all(|m| m["Function"] == "customer-texts" && m["tenant"] == "acme")
    );
    let invocations = suite.invocations();
    assert!(
        invocations
            .iter()
            .any(|line| line["fields"]["tenant"] == "acme" && line["fields"]["records"] == 1),
        "the stream functions log each invocation: {invocations:?}"
    );
}

#[tokio::test]
async fn no_text_goes_without_a_mobile_or_against_an_opt_out_and_the_reason_is_recorded() {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    settings(&office).await;
    // No mobile anywhere: a company with an e-mail only.
    let company = office
        .post(
            "/customers",
            &json!({"customerNumber": "5201", "companyName": "Fastighets AB Norr",
                    "email": "drift@norr.example"}),
        )
        .await;
    company.expect(201);
    let company_id = id_of(&company);
    let site = office
        .post(
            &format!("/customers/{company_id}/sites"),
            &json!({"name": "Hus B"}),
        )
        .await;
    let (no_mobile, _) = visit(&office, &company_id, &id_of(&site), 1).await;
    // A contact who asked for no texts.
    let (asked, asked_site) = swedish_customer(
        &office,
        "5202",
        json!({"firstName": "Cai", "mobile": "+46705550202", "primary": true, "smsOptOut": true}),
    )
    .await;
    let (opted_out, _) = visit(&office, &asked, &asked_site, 1).await;
    // A number on SNS's opt-out list (the emulator lists numbers ending in 99).
    let (stopped, stopped_site) = swedish_customer(
        &office,
        "5203",
        json!({"firstName": "Dag", "mobile": "+46705550299", "primary": true}),
    )
    .await;
    let (carrier, _) = visit(&office, &stopped, &stopped_site, 1).await;

    for (customer, order, reason) in [
        (&company_id, &no_mobile, "noMobile"),
        (&asked, &opted_out, "optedOut"),
        (&stopped, &carrier, "optedOutAtCarrier"),
    ] {
        let started = std::time::Instant::now();
        let record = loop {
            let settled = texts_of(&office, customer, order).await.pop();
            if let Some(record) = settled.filter(|r| r["state"] != "pending") {
                break record;
            }
            assert!(
                started.elapsed() < e2e::notifications::NOTIFY_WAIT,
                "no text record"
            );
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        };
        assert_eq!(record["state"], "suppressed");
        assert_eq!(record["reason"], reason);
        assert_eq!(record["trigger"], "scheduled");
    }
    assert!(suite.texts_to("+46705550202").await.is_empty());
    assert!(suite.texts_to("+46705550299").await.is_empty());
    // The opt-out SNS reported is now on the contact, and the history says who recorded it.
    let card = office.get(&format!("/customers/{stopped}")).await;
    assert_eq!(card.body["contacts"][0]["smsOptOut"], true);
    let history = office.get(&format!("/customers/{stopped}/history")).await;
    assert_eq!(history.body["items"][0]["by"], "sms:opt-out-list");
    let mut reasons: Vec<String> = suite
        .metrics("TextsSuppressed")
        .iter()
        .map(|m| m["Reason"].as_str().unwrap().to_owned())
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["noMobile", "optedOut", "optedOutAtCarrier"]);
}

/// A person customer whose card holds the only mobile, and one of its sites.
async fn customer_with_own_mobile(
    office: &Session<'_>,
    number: &str,
    mobile: &str,
    language: &str,
) -> (String, String) {
    let mut card = customer(number, "Ola", "Ek");
    card["mobile"] = json!(mobile);
    card["language"] = json!(language);
    let created = office.post("/customers", &card).await;
    created.expect(201);
    let id = id_of(&created);
    let site = office
        .post(&format!("/customers/{id}/sites"), &json!({"name": "Villa"}))
        .await;
    (id, id_of(&site))
}

#[tokio::test]
async fn the_card_s_own_mobile_can_opt_out_and_customers_are_texted_in_their_language_else_the_organisation_s()
 {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    settings(&office).await;
    let mut german = office.get("/settings").await.body;
    german["defaultLanguage"] = json!("de");
    office
        .send_json(http::Method::PUT, "/settings", &[], &german)
        .await
        .expect(200);

    // The office records that the card's own mobile wants no texts.
    let asked_mobile = fresh_mobile();
    let (asked, asked_site) = customer_with_own_mobile(&office, "5301", &asked_mobile, "sv").await;
    let card = office.get(&format!("/customers/{asked}")).await;
    assert_eq!(card.body["smsOptOut"], false);
    office
        .patch(
            &format!("/customers/{asked}"),
            &card.etag(),
            &json!({"smsOptOut": true}),
        )
        .await
        .expect(200);
    let history = office.get(&format!("/customers/{asked}/history")).await;
    assert_eq!(history.body["items"][0]["kind"], "updated");
    assert_eq!(history.body["items"][0]["by"], "ada");
    assert_eq!(
        history.body["items"][0]["changes"],
        json!([{"field": "/smsOptOut", "before": false, "after": true}])
    );
    let (asked_order, _) = visit(&office, &asked, &asked_site, 1).await;

    // A card whose own number is on SNS's opt-out list (the emulator lists numbers ending in
    // 99): the opt-out is recorded on the card.
    let (stopped, stopped_site) =
        customer_with_own_mobile(&office, "5302", "+46705550399", "sv").await;
    let (stopped_order, _) = visit(&office, &stopped, &stopped_site, 1).await;

    // A Finnish customer.
    let finnish_mobile = fresh_mobile();
    let (finn, finn_site) = customer_with_own_mobile(&office, "5303", &finnish_mobile, "fi").await;
    let (finn_order, _) = visit(&office, &finn, &finn_site, 1).await;
    // A Polish customer: texts are not written in Polish, so in the organisation's language.
    let polish_mobile = fresh_mobile();
    let (pole, pole_site) = customer_with_own_mobile(&office, "5304", &polish_mobile, "pl").await;
    visit(&office, &pole, &pole_site, 1).await;

    let asked_text = &settled_texts(&office, &asked, &asked_order, 1).await[0];
    assert_eq!(asked_text["state"], "suppressed");
    assert_eq!(asked_text["reason"], "cardOptedOut");
    assert!(suite.texts_to(&asked_mobile).await.is_empty());

    let stopped_text = &settled_texts(&office, &stopped, &stopped_order, 1).await[0];
    assert_eq!(stopped_text["reason"], "optedOutAtCarrier");
    let card = office.get(&format!("/customers/{stopped}")).await;
    assert_eq!(card.body["smsOptOut"], true);
    let history = office.get(&format!("/customers/{stopped}/history")).await;
    let entry = &history.body["items"][0];
    assert_eq!(entry["by"], "sms:opt-out-list");
    assert_eq!(entry["kind"], "updated");
    assert_eq!(entry["changes"][0]["field"], "/smsOptOut");

    assert_eq!(
        suite.wait_for_texts(&finnish_mobile, 1).await,
        ["Rörmokarna AB: Käyntisi on varattu ke 2.12. klo 08:00-10:00. Åsa tulee luoksesi."]
    );
    let finn_text = &settled_texts(&office, &finn, &finn_order, 1).await[0];
    assert_eq!(finn_text["text"]["language"], "fi");
    assert_eq!(finn_text["text"]["encoding"], "gsm7");
    assert_eq!(finn_text["text"]["segments"], 1);
    assert_eq!(
        suite.wait_for_texts(&polish_mobile, 1).await,
        [
            "Rörmokarna AB: Ihr Termin ist am Mi., 2. Dez. zwischen 08:00 und 10:00 Uhr. Åsa kommt zu Ihnen."
        ]
    );
}

#[tokio::test]
async fn a_text_that_cannot_be_published_is_reported_for_retry_and_stays_pending() {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    settings(&office).await;
    let (id, site) = customer_with_site(&office, "5301").await;
    let order = new_work_order(&office, &id, &site, "order").await;
    let created = job(&office, &id, &order, 1).await;
    let (pk, sk) = (format!("T#acme#C#{id}"), format!("JOB#{}", id_of(&created)));
    // The function's code with SNS unreachable (nothing listens on port 9).
    let config = devhost::aws_config().await;
    let unreachable = config
        .to_builder()
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let app = customer_texts::App {
        store: suite.store(),
        sns: kit::sns::Sns::new(&unreachable),
    };
    let mut image = suite.image(&pk, &sk).await;
    // A later version of the job than the one the stack's own mapping texts.
    image["status"] = json!({"S": "enRoute"});
    image["version"] = json!({"N": "2"});
    let keys = json!({"PK": {"S": pk}, "SK": {"S": sk}});
    let record = stream_record("fails-1", "INSERT", keys, Some(image), None);
    for attempt in 1..=2 {
        let event = serde_json::from_value(record.clone()).expect("Lambda's event shape");
        let event = lambda_runtime::LambdaEvent::new(event, Default::default());
        let response = customer_texts::handle(&app, event).await.expect("answers");
        assert_eq!(
            serde_json::to_value(&response).unwrap()["batchItemFailures"],
            json!([{"itemIdentifier": "fails-1"}]),
            "reported for the mapping to retry"
        );
        let records = texts_of(&office, &id, &order).await;
        let failed = records
            .iter()
            .find(|r| r["trigger"] == "onTheWay")
            .expect("recorded");
        assert_eq!(failed["state"], "pending", "{records:?}");
        assert_eq!(failed["attempts"], attempt, "each attempt counted");
    }
    // Counted against the SMS policy's limits once, however often it is retried.
    let tenant = store::TenantId::parse("acme").unwrap();
    let job_id = sk.trim_start_matches("JOB#");
    let counter = store::keys::sms_job(&tenant, job_id, "onTheWay");
    let counted = suite.image(&counter.pk, &counter.sk).await;
    assert_eq!(counted["texts"], json!({"N": "1"}));
}

/// Every text of a work order once settled (sent or suppressed), `expected` of them.
async fn settled_texts(office: &Session<'_>, id: &str, order: &str, expected: usize) -> Vec<Value> {
    let started = std::time::Instant::now();
    loop {
        let mut records = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/customers/{id}/work-orders/{order}/texts?limit=100");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page = office.get(&path).await;
            page.expect(200);
            records.extend(page.body["items"].as_array().cloned().unwrap_or_default());
            match page.body["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let settled = records.iter().filter(|r| r["state"] != "pending").count();
        if records.len() >= expected && settled == records.len() {
            return records;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(240),
            "{settled} of {expected} texts settled"
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Texts by outcome: (`sent` or the suppression's reason, how many), in name order.
fn outcomes(records: &[Value]) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for record in records {
        let outcome = record["reason"].as_str().or(record["state"].as_str());
        *counts.entry(outcome.unwrap_or("?").to_owned()).or_default() += 1;
    }
    counts.into_iter().collect()
}

/// The abuse case of issue 14: a technician flaps a job between scheduled and en route 200
/// times. Every move to en route is a real change that the texts' rules answer with "on the
/// way"; the SMS policy's limit per job and trigger (3 by default) lets three through.
#[tokio::test]
async fn a_technician_flapping_a_job_200_times_texts_the_customer_four_times_in_all() {
    const FLAPS: usize = 200;
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    settings(&office).await;
    let mobile = fresh_mobile();
    let (id, site) = swedish_customer(
        &office,
        "5401",
        json!({"firstName": "Bo", "mobile": mobile, "primary": true}),
    )
    .await;
    office
        .put_empty(&format!("/customers/{id}/assignees/tech-1"))
        .await
        .expect(200);
    let technician = suite.user("acme", "tech-1", &["technician"]);
    let (order, path) = visit(&office, &id, &site, 1).await;
    let mut etag = technician.get(&path).await.etag();
    for _ in 0..FLAPS {
        for status in ["enRoute", "scheduled"] {
            let moved = technician
                .patch(&path, &etag, &json!({"status": status}))
                .await;
            moved.expect(200);
            etag = moved.etag();
        }
    }
    // The visit's "scheduled" text, and one "on the way" per flap.
    let attempted = 1 + FLAPS;
    let records = settled_texts(&office, &id, &order, attempted).await;
    let outcomes = outcomes(&records);
    println!(
        "abuse case, {FLAPS} flaps scheduled <-> en route: texts attempted {}, outcomes {outcomes:?}, \
         SMS at SNS {}",
        records.len(),
        suite.texts_to(&mobile).await.len()
    );
    assert_eq!(records.len(), attempted);
    assert_eq!(
        outcomes,
        [
            ("jobAndTriggerLimit".to_owned(), FLAPS - 3),
            ("sent".to_owned(), 4)
        ]
    );
    assert_eq!(suite.wait_for_texts(&mobile, 4).await.len(), 4);
    let suppressed = suite.metrics("TextsSuppressed");
    assert_eq!(suppressed.len(), FLAPS - 3);
    assert!(
        suppressed
            .iter()
            .all(|m| m["Reason"] == "jobAndTriggerLimit" && m["tenant"] == "acme")
    );
    assert_eq!(suite.metrics("TextsSent").len(), 4);

    // A redelivered text that was sent counts nothing again and sends nothing.
    let job_id = path.rsplit('/').next().unwrap();
    let tenant = store::TenantId::parse("acme").unwrap();
    let counter = store::keys::sms_job(&tenant, job_id, "onTheWay");
    assert_eq!(
        suite.image(&counter.pk, &counter.sk).await["texts"],
        json!({"N": "3"})
    );
    let (pk, sk) = (format!("T#acme#C#{id}"), format!("JOB#{job_id}"));
    let mut first_en_route = suite.image(&pk, &sk).await;
    first_en_route["status"] = json!({"S": "enRoute"});
    first_en_route["version"] = json!({"N": "2"});
    let mut before = first_en_route.clone();
    before["status"] = json!({"S": "scheduled"});
    before["version"] = json!({"N": "1"});
    let keys = json!({"PK": {"S": pk}, "SK": {"S": sk}});
    let record = stream_record(
        "redelivered-2",
        "MODIFY",
        keys,
        Some(first_en_route),
        Some(before),
    );
    let function = &suite.stack.functions["CustomerTextsFunction"];
    let response = function.invoke(record).await.expect("answers");
    assert_eq!(response["batchItemFailures"], json!([]));
    assert_eq!(
        suite.image(&counter.pk, &counter.sk).await["texts"],
        json!({"N": "3"})
    );
    assert_eq!(suite.texts_to(&mobile).await.len(), 4);
}

#[tokio::test]
async fn texts_beyond_the_sms_policy_are_suppressed_with_the_reason_and_the_organisation_limit_alarms()
 {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    let mut policy = office.get("/settings").await.body;
    policy["smsPolicy"] =
        json!({"countries": ["se", "no"], "dailyLimit": 4, "dailyLimitPerNumber": 2});
    let saved = office
        .send_json(http::Method::PUT, "/settings", &[], &policy)
        .await;
    saved.expect(200);
    assert_eq!(saved.body["smsPolicy"]["countries"], json!(["SE", "NO"]));
    assert_eq!(saved.body["smsPolicy"]["limitPerJobAndTrigger"], 3);

    // In this order (the stream keeps it): three visits to one number, then a German and a
    // Norwegian mobile, then two more Swedish ones.
    let contact = |mobile: &str| json!({"firstName": "Bo", "mobile": mobile, "primary": true});
    let (repeat, repeat_site) = swedish_customer(&office, "5501", contact(&fresh_mobile())).await;
    let mut orders = Vec::new();
    for day in 1..=3 {
        let (order, _) = visit(&office, &repeat, &repeat_site, day).await;
        orders.push((repeat.clone(), order));
    }
    for (number, mobile) in [
        ("5502", "+4915123456789".to_owned()),
        ("5503", "+4740612345".to_owned()),
        ("5504", fresh_mobile()),
        ("5505", fresh_mobile()),
    ] {
        let (id, site) = swedish_customer(&office, number, contact(&mobile)).await;
        let (order, _) = visit(&office, &id, &site, 1).await;
        orders.push((id, order));
    }
    let mut found = Vec::new();
    for (customer, order) in &orders {
        let record = settled_texts(&office, customer, order, 1).await.remove(0);
        found.push(outcomes(&[record]).remove(0).0);
    }
    assert_eq!(
        found,
        [
            "sent",
            "sent",
            "numberDailyLimit",
            "countryNotAllowed",
            "sent",
            "sent",
            "organisationDailyLimit"
        ]
    );
    assert!(suite.texts_to("+4915123456789").await.is_empty());
    assert_eq!(suite.metrics("TextsSent").len(), 4);
    let suppressed = suite.metrics("TextsSuppressed");
    let mut reasons: Vec<&str> = suppressed
        .iter()
        .map(|m| m["Reason"].as_str().unwrap())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "countryNotAllowed",
            "numberDailyLimit",
            "organisationDailyLimit"
        ]
    );

    // The operators' alarm watches exactly the line the organisation's limit wrote.
    let hit = suppressed
        .iter()
        .find(|m| m["Reason"] == "organisationDailyLimit")
        .unwrap();
    assert_eq!(hit["tenant"], "acme", "the organisation, for Logs Insights");
    let template: serde_norway::Value = serde_norway::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml"),
        )
        .expect("the template"),
    )
    .expect("YAML");
    let alarm = &template["Resources"]["CustomerTextsDailyLimitAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"].as_str(), Some("FieldService"));
    assert_eq!(alarm["MetricName"].as_str(), Some("TextsSuppressed"));
    assert_eq!(alarm["Threshold"].as_u64(), Some(1));
    let dimensions = alarm["Dimensions"].as_sequence().expect("dimensions");
    assert_eq!(dimensions.len(), 2);
    for dimension in dimensions {
        let name = dimension["Name"].as_str().unwrap();
        assert_eq!(
            hit[name].as_str(),
            dimension["Value"].as_str(),
            "{name}: {hit}"
        );
        assert!(
            hit["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
                .as_array()
                .unwrap()
                .contains(&json!(name))
        );
    }
}
