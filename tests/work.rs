//! A customer's work end to end through the API: work orders along the state machine with
//! their tasks, jobs by scheduled start, tickets and the inventory they add up to (CSV too),
//! the call-off rule and the balance view, and who may see what.

use e2e::work::{customer_with_site, id_of, job, move_through, window, work_order};
use e2e::{Suite, customer};
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];

fn statuses(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("a page")
        .iter()
        .map(|w| w["status"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_work_order_moves_one_step_at_a_time_and_closed_work_stays_as_it_is() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "7001").await;

    let created = work_order(&office, &id, &site, "faultReport").await;
    created.expect(201);
    let path = format!("/customers/{id}/work-orders/{}", id_of(&created));
    assert_eq!(created.header("location"), Some(path.as_str()));
    assert_eq!(created.body["status"], "planned");
    assert_eq!(created.body["tasks"][1]["status"], "open");
    assert_eq!(created.body["tasks"][1]["id"].as_str().unwrap().len(), 26);

    // Skipping steps is refused with what is allowed.
    let skipped = office
        .patch(&path, &created.etag(), &json!({"status": "completed"}))
        .await;
    skipped.expect_problem(409, "illegal-transition");
    assert_eq!(skipped.body["from"], "planned");
    assert_eq!(skipped.body["allowed"], json!(["scheduled", "cancelled"]));
    // Scheduled work needs a time and a technician.
    let unscheduled = office
        .patch(&path, &created.etag(), &json!({"status": "scheduled"}))
        .await;
    unscheduled.expect_problem(422, "validation-failed");
    assert_eq!(
        unscheduled.field_errors(),
        vec![
            ("/window".into(), "required".into()),
            ("/technician".into(), "required".into())
        ]
    );
    let stale = office
        .patch(&path, "\"99\"", &json!({"title": "Other"}))
        .await;
    stale.expect_problem(412, "stale-version");

    let done = move_through(
        &office,
        &path,
        &["scheduled", "enRoute", "inProgress", "completed"],
    )
    .await;
    assert_eq!(done.body["status"], "completed");
    assert_eq!(done.body["version"], 5);
    assert_eq!(done.body["window"]["start"], "2026-12-02T07:00:00Z");
    // The same state again is no change (a retried PATCH); anything else is refused.
    let again = office
        .patch(&path, &done.etag(), &json!({"status": "completed"}))
        .await;
    again.expect(200);
    assert_eq!(again.body["version"], 5);
    let closed = office
        .patch(&path, &done.etag(), &json!({"title": "Reopened"}))
        .await;
    closed.expect_problem(409, "work-closed");
    assert_eq!(closed.body["workStatus"], "completed");
    office
        .patch(&path, &done.etag(), &json!({"status": null}))
        .await
        .expect_problem(422, "validation-failed");

    // A new work order names an active site of the customer's own, and starts planned or
    // scheduled.
    let other = office
        .post("/customers", &customer("7002", "Bo", "Ek"))
        .await;
    let foreign = office
        .post(
            &format!("/customers/{}/sites", id_of(&other)),
            &json!({"name": "Elsewhere"}),
        )
        .await;
    let refused = work_order(&office, &id, &id_of(&foreign), "order").await;
    refused.expect_problem(422, "validation-failed");
    assert_eq!(
        refused.field_errors(),
        vec![("/siteId".into(), "unknown_site".into())]
    );
    let refused = office
        .post(
            &format!("/customers/{id}/work-orders"),
            &json!({"kind": "order", "title": "T", "siteId": site, "status": "completed"}),
        )
        .await;
    assert_eq!(
        refused.field_errors(),
        vec![("/status".into(), "invalid_status".into())]
    );
    let refused = office
        .post(
            &format!("/customers/{id}/work-orders"),
            &json!({"kind": "order", "title": "T", "siteId": site, "contactId": "nobody"}),
        )
        .await;
    assert_eq!(
        refused.field_errors(),
        vec![("/contactId".into(), "unknown_contact".into())]
    );
}

#[tokio::test]
async fn work_orders_are_listed_by_kind_and_status_and_cancelling_one_cancels_its_open_work() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "7101").await;
    let order = id_of(&work_order(&office, &id, &site, "order").await);
    let fault = id_of(&work_order(&office, &id, &site, "faultReport").await);
    let quote = id_of(&work_order(&office, &id, &site, "quotation").await);
    let order_path = format!("/customers/{id}/work-orders/{order}");
    move_through(&office, &order_path, &["scheduled"]).await;

    let list = format!("/customers/{id}/work-orders");
    let all = office.get(&list).await;
    let ids: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [order.as_str(), fault.as_str(), quote.as_str()]);
    let newest = office.get(&format!("{list}?order=desc&limit=1")).await;
    assert_eq!(newest.body["items"][0]["id"], quote.as_str());
    assert!(newest.body["nextCursor"].is_string());
    let faults = office.get(&format!("{list}?kind=faultReport")).await;
    assert_eq!(faults.body["items"][0]["id"], fault.as_str());
    assert_eq!(faults.body["items"].as_array().unwrap().len(), 1);
    let scheduled = office.get(&format!("{list}?status=scheduled")).await;
    assert_eq!(statuses(&scheduled.body), ["scheduled"]);
    office
        .get(&format!("{list}?status=finished"))
        .await
        .expect_problem(400, "invalid-parameter");

    // Two visits of the scheduled order, the later one made first: listed by start.
    let later = job(&office, &id, &order, 5).await;
    later.expect(201);
    let earlier = job(&office, &id, &order, 2).await;
    earlier.expect(201);
    assert_eq!(earlier.body["status"], "scheduled");
    assert_eq!(earlier.body["siteId"], site.as_str());
    let jobs = office.get(&format!("/customers/{id}/jobs")).await;
    let starts: Vec<&str> = jobs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["window"]["start"].as_str().unwrap())
        .collect();
    assert_eq!(starts, ["2026-12-03T07:00:00Z", "2026-12-06T07:00:00Z"]);
    let of_fault = office
        .get(&format!("/customers/{id}/jobs?workOrderId={fault}"))
        .await;
    assert_eq!(of_fault.body["items"], json!([]));
    // One visit done.
    let done_path = format!("/customers/{id}/jobs/{}", id_of(&earlier));
    move_through(&office, &done_path, &["enRoute", "inProgress", "completed"]).await;

    // Cancelling the order cancels its open task and its open job, not the done ones.
    let current = office.get(&order_path).await;
    let cancelled = office
        .patch(
            &order_path,
            &current.etag(),
            &json!({"status": "cancelled"}),
        )
        .await;
    cancelled.expect(200);
    let tasks: Vec<&str> = cancelled.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(tasks, ["done", "cancelled"]);
    let later = office
        .get(&format!("/customers/{id}/jobs/{}", id_of(&later)))
        .await;
    assert_eq!(later.body["status"], "cancelled");
    assert_eq!(later.body["updatedBy"], "ada");
    let done = office.get(&done_path).await;
    assert_eq!(done.body["status"], "completed");
    // A closed work order gets no new visit.
    job(&office, &id, &order, 7)
        .await
        .expect_problem(409, "work-closed");
}

#[tokio::test]
async fn jobs_follow_the_state_machine_and_their_tickets_add_up_to_the_inventory() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "7201").await;
    let order = id_of(&work_order(&office, &id, &site, "order").await);
    let created = job(&office, &id, &order, 3).await;
    let job_id = id_of(&created);
    let job_path = format!("/customers/{id}/jobs/{job_id}");
    assert_eq!(created.header("location"), Some(job_path.as_str()));

    // Rescheduled, then on the way and back, then started: a job cannot be planned.
    let moved = office
        .patch(&job_path, &created.etag(), &json!({"window": window(4)}))
        .await;
    moved.expect(200);
    assert_eq!(moved.body["window"]["start"], "2026-12-05T07:00:00Z");
    office
        .patch(&job_path, &moved.etag(), &json!({"status": "planned"}))
        .await
        .expect_problem(422, "validation-failed");
    office
        .patch(&job_path, &moved.etag(), &json!({"status": "inProgress"}))
        .await
        .expect_problem(409, "illegal-transition");
    let started = move_through(
        &office,
        &job_path,
        &["enRoute", "scheduled", "enRoute", "inProgress"],
    )
    .await;
    assert_eq!(started.body["status"], "inProgress");

    let tickets = format!("/customers/{id}/tickets");
    let ticket = |material: &str, quantity: &str, unit: &str| {
        json!({"jobId": job_id, "material": material, "quantity": quantity, "unit": unit,
               "at": "2026-12-01T09:30:00+01:00"})
    };
    let first = office
        .post(&tickets, &ticket("Copper pipe 15 mm", "2,5", "m"))
        .await;
    first.expect(201);
    assert_eq!(first.body["quantity"], "2.5");
    assert_eq!(first.body["siteId"], site.as_str());
    assert_eq!(first.body["workOrderId"], order.as_str());
    let path = format!("{tickets}/{}", id_of(&first));
    assert_eq!(first.header("location"), Some(path.as_str()));
    office.get(&path).await.expect(200);
    for (material, quantity, unit) in [
        ("Copper pipe  15 mm", "1.25", "m"),
        ("Copper pipe 15 mm", "-0.75", "m"),
        ("Copper pipe 15 mm", "3", "pcs"),
        ("=HYPERLINK(\"http://x\")", "1", "pcs"),
    ] {
        office
            .post(&tickets, &ticket(material, quantity, unit))
            .await
            .expect(201);
    }
    let refused = office
        .post(
            &tickets,
            &json!({"jobId": "01J9C4D5E6F7G8H9J0K1M2N3P4", "material": "M", "quantity": "1",
                    "unit": "pcs", "at": "2026-12-01T09:30:00Z"}),
        )
        .await;
    assert_eq!(
        refused.field_errors(),
        vec![("/jobId".into(), "unknown_job".into())]
    );
    let listed = office.get(&format!("{tickets}?jobId={job_id}")).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 5);

    let inventory = office.get(&format!("/customers/{id}/inventory")).await;
    inventory.expect(200);
    let lines: Vec<(String, String, String, u64)> = inventory.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["material"].as_str().unwrap().to_owned(),
                l["unit"].as_str().unwrap().to_owned(),
                l["quantity"].as_str().unwrap().to_owned(),
                l["tickets"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("Copper pipe 15 mm".into(), "m".into(), "3".into(), 3),
            (
                "=HYPERLINK(\"http://x\")".into(),
                "pcs".into(),
                "1".into(),
                1
            ),
            ("Copper pipe 15 mm".into(), "pcs".into(), "3".into(), 1),
        ]
    );
    let export = office
        .get(&format!("/customers/{id}/inventory/export"))
        .await;
    export.expect(200);
    assert_eq!(
        export.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        export.header("content-disposition"),
        Some("attachment; filename=\"inventory-7201.csv\"")
    );
    let text = export.body.as_str().expect("CSV text");
    assert!(text.starts_with('\u{feff}'), "a byte-order mark for Excel");
    let rows: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        rows[0],
        "site_id,site_name,material,quantity,unit,tickets,updated_at"
    );
    assert!(rows[1].starts_with(&format!("{site},Plant room,Copper pipe 15 mm,3,m,3,")));
    assert!(
        rows[2].contains(",\"'=HYPERLINK(\"\"http://x\"\")\",1,pcs,1,"),
        "formulas are escaped: {}",
        rows[2]
    );

    // Completed jobs still take tickets; cancelled ones do not.
    let done = move_through(&office, &job_path, &["completed"]).await;
    assert_eq!(done.body["status"], "completed");
    office
        .post(&tickets, &ticket("Gasket", "1", "pcs"))
        .await
        .expect(201);
    let other = job(&office, &id, &order, 9).await;
    let other_path = format!("/customers/{id}/jobs/{}", id_of(&other));
    move_through(&office, &other_path, &["cancelled"]).await;
    let refused = office
        .post(
            &tickets,
            &json!({"jobId": id_of(&other), "material": "M", "quantity": "1", "unit": "pcs",
                    "at": "2026-12-01T09:30:00Z"}),
        )
        .await;
    refused.expect_problem(409, "job-cancelled");
}

#[tokio::test]
async fn the_call_off_rule_refuses_new_work_and_planned_work_still_completes() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "7301").await;
    let path = format!("/customers/{id}");
    let planned = work_order(&office, &id, &site, "order").await;
    planned.expect(201);
    let planned_path = format!("{path}/work-orders/{}", id_of(&planned));

    let balance = office.get(&format!("{path}/balance")).await;
    balance.expect(200);
    assert_eq!(
        balance.body,
        json!({"currency": "SEK", "paymentType": "account", "openBalance": 0,
               "creditLimit": 5_000_000, "availableCredit": 5_000_000, "onHold": false,
               "status": "active", "callOff": {"allowed": true, "refusals": []}})
    );

    // Over the credit limit.
    let card = office.get(&path).await;
    let over = office
        .patch(
            &path,
            &card.etag(),
            &json!({"terms": {"openBalance": 5_000_000}}),
        )
        .await;
    over.expect(200);
    let refused = work_order(&office, &id, &site, "order").await;
    refused.expect_problem(409, "call-off-refused");
    assert_eq!(
        refused.body["refusals"],
        json!([{"reason": "creditLimitReached", "openBalance": 5_000_000, "creditLimit": 5_000_000}])
    );
    // And on hold: both reasons at once.
    let held = office
        .patch(&path, &over.etag(), &json!({"onHold": true}))
        .await;
    held.expect(200);
    let refused = work_order(&office, &id, &site, "faultReport").await;
    refused.expect_problem(409, "call-off-refused");
    let reasons: Vec<&str> = refused.body["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["onHold", "creditLimitReached"]);
    let balance = office.get(&format!("{path}/balance")).await;
    assert_eq!(balance.body["callOff"]["allowed"], false);
    assert_eq!(balance.body["availableCredit"], 0);

    // The work planned before goes on: scheduled, visited, completed.
    let done = move_through(
        &office,
        &planned_path,
        &["scheduled", "enRoute", "inProgress", "completed"],
    )
    .await;
    assert_eq!(done.body["status"], "completed");
    let visit = job(&office, &id, &id_of(&planned), 1).await;
    visit.expect_problem(409, "work-closed");

    // A cash customer is never refused for its balance; an inactive one always is.
    let cash = office
        .patch(
            &path,
            &held.etag(),
            &json!({"onHold": false, "terms": {"paymentType": "cash"}}),
        )
        .await;
    cash.expect(200);
    work_order(&office, &id, &site, "quotation")
        .await
        .expect(201);
    let inactive = office.post(&format!("{path}/deactivate"), &json!({})).await;
    inactive.expect(200);
    let refused = work_order(&office, &id, &site, "order").await;
    refused.expect_problem(409, "call-off-refused");
    assert_eq!(refused.body["refusals"], json!([{"reason": "inactive"}]));
    let reactivated = office.post(&format!("{path}/reactivate"), &json!({})).await;
    reactivated.expect(200);
    assert_eq!(reactivated.body["status"], "active");
    assert_eq!(
        reactivated.body["reactivation"]["restoresCancelledWork"],
        false
    );
}

#[tokio::test]
async fn work_is_seen_only_within_the_organisation_and_by_those_who_reach_the_customer() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "7401").await;
    let order = id_of(&work_order(&office, &id, &site, "order").await);
    let visit = id_of(&job(&office, &id, &order, 1).await);
    let (other, _) = customer_with_site(&office, "7402").await;

    // Another organisation: nothing, not even with the right ids.
    let stranger = suite.user("globex", "gus", ADMIN);
    for path in [
        format!("/customers/{id}/work-orders/{order}"),
        format!("/customers/{id}/jobs/{visit}"),
        format!("/customers/{id}/work-orders"),
        format!("/customers/{id}/inventory"),
        format!("/customers/{id}/balance"),
    ] {
        stranger.get(&path).await.expect_problem(404, "not-found");
    }
    // Another customer's path with this customer's record ids.
    office
        .get(&format!("/customers/{other}/work-orders/{order}"))
        .await
        .expect_problem(404, "not-found");
    office
        .get(&format!("/customers/{other}/jobs/{visit}"))
        .await
        .expect_problem(404, "not-found");
    office
        .get(&format!("/customers/{id}/work-orders/not-a-ulid"))
        .await
        .expect_problem(404, "not-found");

    // A technician reaches only customers assigned to them.
    let technician = suite.user("acme", "tech-1", &["technician"]);
    technician
        .get(&format!("/customers/{id}/jobs"))
        .await
        .expect_problem(403, "forbidden");
    office
        .put_empty(&format!("/customers/{id}/assignees/tech-1"))
        .await
        .expect(200);
    let jobs = technician.get(&format!("/customers/{id}/jobs")).await;
    jobs.expect(200);
    assert_eq!(jobs.body["items"][0]["id"], visit.as_str());
    let job_path = format!("/customers/{id}/jobs/{visit}");
    let etag = technician.get(&job_path).await.etag();
    technician
        .patch(&job_path, &etag, &json!({"status": "enRoute"}))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_ticket_retried_under_its_idempotency_key_is_recorded_once() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "7501").await;
    let order = id_of(&work_order(&office, &id, &site, "order").await);
    let visit = id_of(&job(&office, &id, &order, 1).await);
    let tickets = format!("/customers/{id}/tickets");
    let ticket = json!({"jobId": visit, "material": "Gasket", "quantity": "2", "unit": "pcs",
                        "at": "2026-12-01T09:30:00Z"});
    let key = [("idempotency-key", "b3f1c6de-2a4b-4c8e-9d0f-1e2a3b4c5d6e")];
    let send = |body: Value| {
        let office = &office;
        let tickets = &tickets;
        async move {
            office
                .send_json(http::Method::POST, tickets, &key, &body)
                .await
        }
    };
    let first = send(ticket.clone()).await;
    first.expect(201);
    let again = send(ticket.clone()).await;
    again.expect(201);
    assert_eq!(again.body, first.body, "the retry answers the first ticket");
    let mut other = ticket.clone();
    other["quantity"] = json!("3");
    send(other)
        .await
        .expect_problem(422, "idempotency-key-reused");
    let inventory = office.get(&format!("/customers/{id}/inventory")).await;
    assert_eq!(inventory.body["items"][0]["quantity"], "2", "counted once");
    assert_eq!(inventory.body["items"][0]["tickets"], 1);
    // Without a key each request is a ticket of its own.
    office.post(&tickets, &ticket).await.expect(201);
    let inventory = office.get(&format!("/customers/{id}/inventory")).await;
    assert_eq!(inventory.body["items"][0]["tickets"], 2);
}

#[tokio::test]
async fn an_organisation_may_require_the_customer_s_order_number_on_work_orders() {
    // One instance: settings are cached per instance for a while.
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "7601").await;
    let mut settings = office.get("/settings").await.body;
    settings["orderNumber"] = json!("required");
    office
        .send_json(http::Method::PUT, "/settings", &[], &settings)
        .await
        .expect(200);
    let refused = work_order(&office, &id, &site, "order").await;
    assert_eq!(
        refused.field_errors(),
        vec![("/orderNumber".into(), "required".into())]
    );
    let given = office
        .post(
            &format!("/customers/{id}/work-orders"),
            &json!({"kind": "order", "title": "T", "siteId": site, "orderNumber": "PO-88"}),
        )
        .await;
    given.expect(201);
    assert_eq!(given.body["orderNumber"], "PO-88");
    // From the card when the work order gives none.
    let card = office.get(&format!("/customers/{id}")).await;
    office
        .patch(
            &format!("/customers/{id}"),
            &card.etag(),
            &json!({"orderNumber": "PO-2026"}),
        )
        .await
        .expect(200);
    let from_card = work_order(&office, &id, &site, "order").await;
    from_card.expect(201);
    assert_eq!(from_card.body["orderNumber"], "PO-2026");
    let path = format!("/customers/{id}/work-orders/{}", id_of(&from_card));
    office
        .patch(&path, &from_card.etag(), &json!({"orderNumber": null}))
        .await
        .expect_problem(422, "validation-failed");
}

/// `orderNumber: hidden`: the organisation does not use order numbers on work orders, so the
/// card's is not copied and one given is refused; `shown` copies the card's.
#[tokio::test]
async fn a_hidden_order_number_is_not_used_on_work_orders_a_shown_one_is_copied() {
    // One instance: settings are cached per instance for a while.
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_site(&office, "7602").await;
    let card = office.get(&format!("/customers/{id}")).await;
    office
        .patch(
            &format!("/customers/{id}"),
            &card.etag(),
            &json!({"orderNumber": "PO-77"}),
        )
        .await
        .expect(200);
    let shown = work_order(&office, &id, &site, "order").await;
    shown.expect(201);
    assert_eq!(
        shown.body["orderNumber"], "PO-77",
        "shown (the default): copied"
    );

    let mut settings = office.get("/settings").await.body;
    settings["orderNumber"] = json!("hidden");
    office
        .send_json(http::Method::PUT, "/settings", &[], &settings)
        .await
        .expect(200);
    let hidden = work_order(&office, &id, &site, "order").await;
    hidden.expect(201);
    assert!(hidden.body.get("orderNumber").is_none(), "{}", hidden.body);
    let given = office
        .post(
            &format!("/customers/{id}/work-orders"),
            &json!({"kind": "order", "title": "T", "siteId": site, "orderNumber": "PO-88"}),
        )
        .await;
    assert_eq!(
        given.field_errors(),
        vec![("/orderNumber".into(), "not_used".into())]
    );
}
