//! Faults between the functions and AWS: the table unreachable in the middle of requests, an
//! answer lost after DynamoDB applied a write, an import cut off in the middle of a round of
//! blocks (with a refused block among them), the cascade unable to read. Each stack's functions reach the emulator through a
//! [`FaultyLink`] the test breaks and repairs (the emulator itself keeps serving the others).
//!
//! What must hold: the API answers 503 with a problem document and Retry-After (never hangs,
//! never 500); a retry after recovery succeeds and nothing is written twice or half; an import
//! resumes from its checkpoint; event consumers report the failed record for retry.

use std::time::{Duration, Instant};

use customers_import::App as ImportApp;
use e2e::faults::FaultyLink;
use e2e::{Reply, Session, Suite, customer};
use http::Method;
use kit::objects::{Bucket, Get};
use serde_json::{Value, json};
use store::{CustomerStore, ImportStatus, TenantId};

const ADMIN: &[&str] = &["administrator"];
const TRANSACTION: &str = "DynamoDB_20120810.TransactWriteItems";
const QUERY: &str = "DynamoDB_20120810.Query";
const GET_ITEM: &str = "DynamoDB_20120810.GetItem";

/// The SDK's three attempts with backoff, well inside API Gateway's 30 s.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);

fn assert_unavailable(reply: &Reply, took: Duration) {
    reply.expect_problem(503, "unavailable");
    assert!(
        reply
            .header("retry-after")
            .is_some_and(|v| v.parse::<u32>().is_ok()),
        "a Retry-After in seconds: {:?}",
        reply.headers
    );
    assert!(took < ANSWER_WITHIN, "answered in {took:?}");
}

async fn timed(request: impl std::future::Future<Output = Reply>) -> (Reply, Duration) {
    let started = Instant::now();
    let reply = request.await;
    (reply, started.elapsed())
}

async fn create_with_key(office: &Session<'_>, body: &Value, key: &str) -> Reply {
    office
        .send_json(
            Method::POST,
            "/customers",
            &[("idempotency-key", key)],
            body,
        )
        .await
}

/// Every customer of the organisation with this customer number (there must be one at most).
async fn with_number(office: &Session<'_>, number: &str) -> Vec<Value> {
    let page = office.get("/customers?limit=100&status=all").await;
    page.expect(200);
    page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["customerNumber"] == number)
        .cloned()
        .collect()
}

#[tokio::test]
async fn while_the_table_is_unreachable_the_api_answers_503_and_a_retry_after_recovery_writes_once()
{
    let link = FaultyLink::start().await;
    let suite = Suite::start_behind(&link).await;
    let office = suite.user("acme", "alice", ADMIN);
    let first = office
        .post("/customers", &customer("F-1", "Anna", "Berg"))
        .await;
    first.expect(201);
    let id = first.body["id"].as_str().unwrap().to_owned();
    let etag = first.etag();

    link.cut();
    let new = customer("F-2", "Bo", "Ek");
    let (created, took) = timed(create_with_key(&office, &new, "retry-f2")).await;
    assert_unavailable(&created, took);
    let (read, took) = timed(office.get(&format!("/customers/{id}"))).await;
    assert_unavailable(&read, took);
    let (patched, took) =
        timed(office.patch(&format!("/customers/{id}"), &etag, &json!({"onHold": true}))).await;
    assert_unavailable(&patched, took);
    assert!(link.faults_injected() > 0);
    let unavailable = suite.metrics("ServerErrors");
    assert_eq!(unavailable.len(), 3, "one per 503: {unavailable:?}");
    assert!(
        unavailable
            .iter()
            .all(|m| m["Status"] == "503" && m["ServerErrors"] == 1)
    );

    link.restore();
    let created = create_with_key(&office, &new, "retry-f2").await;
    created.expect(201);
    let created_metrics = suite.metrics("CustomersCreated");
    assert_eq!(
        created_metrics.len(),
        2,
        "F-1 and F-2, the replay not again"
    );
    assert!(created_metrics.iter().all(|m| m["tenant"] == "acme"
        && m["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "FieldService"));
    let replayed = create_with_key(&office, &new, "retry-f2").await;
    assert_eq!(replayed.body["id"], created.body["id"], "the same customer");
    assert_eq!(with_number(&office, "F-2").await.len(), 1);
    // The refused PATCH changed nothing: the same ETag still applies, exactly once.
    let unchanged = office.get(&format!("/customers/{id}")).await;
    assert_eq!(unchanged.etag(), etag, "nothing was half-written");
    let patched = office
        .patch(&format!("/customers/{id}"), &etag, &json!({"onHold": true}))
        .await;
    patched.expect(200);
    assert_eq!(
        patched.body["version"],
        first.body["version"].as_u64().unwrap() + 1
    );
}

#[tokio::test]
async fn a_write_whose_answer_is_lost_is_applied_once_when_the_sdk_repeats_it() {
    let link = FaultyLink::start().await;
    let suite = Suite::start_behind(&link).await;
    let office = suite.user("acme", "alice", ADMIN);
    office
        .post("/customers", &customer("L-0", "Warm", "Up"))
        .await
        .expect(201);

    // DynamoDB applies the create, the answer never arrives, the SDK's attempt times out and
    // it sends the same transaction again: with its ClientRequestToken that is applied once
    // and answered with success (without it, "customer number taken" for our own customer).
    link.lose_next_answer_to(TRANSACTION);
    let (created, took) =
        timed(office.post("/customers", &customer("L-1", "Lost", "Answer"))).await;
    assert_eq!(link.faults_injected(), 1, "an answer was lost");
    created.expect(201);
    assert!(took < ANSWER_WITHIN, "answered in {took:?}");
    let stored = with_number(&office, "L-1").await;
    assert_eq!(stored.len(), 1, "one customer: {stored:?}");
    assert_eq!(stored[0]["version"], 1, "written once");

    // The same for a change: applied once, one version further.
    let id = created.body["id"].as_str().unwrap();
    link.lose_next_answer_to(TRANSACTION);
    let patched = office
        .patch(
            &format!("/customers/{id}"),
            &created.etag(),
            &json!({"onHold": true}),
        )
        .await;
    assert_eq!(link.faults_injected(), 2, "an answer was lost");
    patched.expect(200);
    let history = office
        .get(&format!("/customers/{id}/history?limit=100"))
        .await;
    let kinds: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "created and one change: {kinds:?}");
    assert_eq!(
        office.get(&format!("/customers/{id}")).await.body["version"],
        2
    );
}

/// The import function's code in-process, every AWS request of it through `link`; with the
/// store reached directly, for the test's own reads.
async fn import_through(link: &FaultyLink) -> (ImportApp, CustomerStore) {
    let (_, table) = e2e::fresh_table().await;
    let direct = e2e::store(table.clone()).await;
    // The function's own settings (retries, timeouts), through the link: its DynamoDB reads
    // and writes and its queue's messages alike.
    let config = kit::aws::sdk_config().await;
    let linked = config.to_builder().endpoint_url(link.url()).build();
    let bucket = e2e::imports::fresh_bucket("faults").await;
    let queue = aws_sdk_sqs::Client::new(&config)
        .create_queue()
        .queue_name(e2e::unique_name("continue"))
        .send()
        .await
        .unwrap();
    let app = ImportApp {
        store: CustomerStore::new(&linked, table),
        bucket: Bucket::new(&config, bucket).at_endpoint(&link.url()),
        queue: kit::queue::Queue::new(&linked, queue.queue_url().unwrap()),
        rows_per_invocation: None,
        slots_per_organisation: 2,
    };
    (app, direct)
}

/// Puts `csv` in the app's bucket under `key` and answers S3's notification of it.
async fn upload(app: &ImportApp, key: &str, csv: String, sequencer: &str) -> String {
    let etag = app
        .bucket
        .put(key, "text/csv", csv.into_bytes().into())
        .await
        .unwrap()
        .expect("S3 answers the new version's ETag");
    e2e::imports::object_created(app.bucket.name(), key, &etag, sequencer, None)
}

#[tokio::test]
async fn an_import_cut_off_in_the_middle_of_a_round_of_blocks_resumes_and_writes_each_row_once() {
    let link = FaultyLink::start().await;
    let (app, direct) = import_through(&link).await;
    let total = 300;
    let rows = e2e::imports::customer_rows(total, 8000);
    let notification = upload(&app, "imports/acme/cut-off.csv", rows, "01").await;
    let tenant = TenantId::parse("acme").unwrap();
    let deadline = || Instant::now() + Duration::from_secs(300);

    // The delivery's claim, the take-over and the mapping commit, then five of the round's
    // blocks (side by side, each on its lane); the link goes down at the next block, with the
    // rest of the round in flight and the round not yet counted in the record.
    link.cut_at(TRANSACTION, 3 + 5);
    let cut_off = customers_import::process(&app, &notification, deadline()).await;
    assert!(cut_off.is_err(), "the invocation fails: {cut_off:?}");
    assert!(link.faults_injected() > 0);
    let record = direct.imports(&tenant, 1, None).await.unwrap().items[0].clone();
    assert_eq!(record.status, ImportStatus::Running);
    let numbers: Vec<String> = (0..total).map(|n| (8000 + n).to_string()).collect();
    let imported = direct.ids_by_number(&tenant, &numbers).await.unwrap().len() as u64;
    assert!(
        imported > 0 && imported < total as u64,
        "stopped in the middle: {imported} customers written, {record:?}"
    );
    assert!(
        record.counts.created < imported,
        "the blocks written are not counted yet: {record:?}"
    );

    // The notification comes again (SQS redelivers it) once AWS is back.
    link.restore();
    customers_import::process(&app, &notification, deadline())
        .await
        .expect("the rest is imported");
    let imports = direct.imports(&tenant, 10, None).await.unwrap().items;
    assert_eq!(imports.len(), 1, "one import");
    let record = &imports[0];
    assert_eq!(record.status, ImportStatus::Completed, "{record:?}");
    assert_eq!(record.counts.rows_read, total as u64);
    assert_eq!(record.counts.created, total as u64, "every row once");
    assert_eq!(record.counts.failed, 0);
    let imported = direct.ids_by_number(&tenant, &numbers).await.unwrap();
    assert_eq!(imported.len(), total);
}

#[tokio::test]
async fn the_cascade_reports_its_record_while_the_table_cannot_be_read_and_finishes_after() {
    let link = FaultyLink::start().await;
    let suite = Suite::start_behind(&link).await;
    let office = suite.user("acme", "alice", ADMIN);
    let (id, _site) = e2e::work::customer_with_site(&office, "CF-1").await;

    // The API deactivates with GetItem and TransactWriteItems; the cascade pages with Query.
    link.refuse(QUERY);
    office
        .post(&format!("/customers/{id}/deactivate"), &json!({}))
        .await
        .expect(200);
    let failed = "cascade failed; the record comes again";
    let started = Instant::now();
    while !suite.logs().contains(failed) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the cascade did not report a failure"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sites = office.get(&format!("/customers/{id}/sites")).await;
    assert_eq!(sites.status, 503, "nothing can be listed yet either");
    let failed_invocation = suite
        .invocations()
        .into_iter()
        .find(|line| line["fields"]["failures"] == 1)
        .expect("the invocation's line counts the failure");
    assert_eq!(failed_invocation["fields"]["tenant"], "acme");
    assert!(
        failed_invocation["fields"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert!(
        suite
            .metrics("RecordFailures")
            .iter()
            .any(|m| m["Function"] == "customers-cascade" && m["RecordFailures"] == 1),
        "the failure is a metric"
    );

    link.restore();
    let started = Instant::now();
    loop {
        let sites = office.get(&format!("/customers/{id}/sites")).await;
        sites.expect(200);
        if sites.body["items"][0]["status"] == "inactive" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the retried record did not complete the cascade: {:?}",
            sites.body
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let history = office
        .get(&format!("/customers/{id}/history?limit=100"))
        .await;
    let cascades = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sitesDeactivated")
        .count();
    assert_eq!(cascades, 1, "the retried record wrote once");
    let changed = suite.metrics("CascadeRecordsChanged");
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["Phase"], "sites");
    assert_eq!(changed[0]["CascadeRecordsChanged"], 1);
}

#[tokio::test]
async fn a_work_order_applied_but_answered_503_is_made_once_when_retried_with_its_key() {
    let link = FaultyLink::start().await;
    let suite = Suite::start_behind(&link).await;
    let office = suite.user("acme", "alice", ADMIN);
    let (id, site) = e2e::work::customer_with_site(&office, "WO-1").await;
    let path = format!("/customers/{id}/work-orders");
    let order = json!({"kind": "order", "title": "Heat pump service", "siteId": site});
    let create = || {
        office.send_json(
            Method::POST,
            &path,
            &[("idempotency-key", "dispatch-7f3a")],
            &order,
        )
    };

    // DynamoDB applies the work order, its answer is lost, and the SDK's retry finds the
    // link cut: the dispatcher's app is told 503, though the work order exists.
    link.lose_answer_then_cut(TRANSACTION);
    let (failed, took) = timed(create()).await;
    assert_unavailable(&failed, took);
    link.restore();
    let listed = office.get(&path).await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "it was written"
    );

    // The app sends the same request again: the first answer, not a second work order.
    let retried = create().await;
    retried.expect(201);
    assert_eq!(retried.header("idempotent-replayed"), Some("true"));
    assert_eq!(retried.body["id"], listed.body["items"][0]["id"]);
    let listed = office.get(&path).await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "one work order"
    );

    // A visit of it, the same way.
    let work_order = retried.body["id"].as_str().unwrap();
    let jobs = format!("{path}/{work_order}/jobs");
    let visit = json!({"window": e2e::work::window(1), "technicians": ["tech-1"]});
    let book = || {
        office.send_json(
            Method::POST,
            &jobs,
            &[("idempotency-key", "visit-1")],
            &visit,
        )
    };
    let first = book().await;
    first.expect(201);
    let again = book().await;
    again.expect(201);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let other = office
        .send_json(
            Method::POST,
            &jobs,
            &[("idempotency-key", "visit-1")],
            &json!({
            "window": e2e::work::window(2), "technicians": ["tech-1"]}),
        )
        .await;
    other.expect_problem(422, "idempotency-key-reused");
    let listed = office.get(&format!("/customers/{id}/jobs")).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1, "one job");
}

/// A block refused in the middle of a round (a row's external id belongs to another customer)
/// leaves the blocks after it written: the record counts them as done ahead of its checkpoint.
/// Cut off before the refused block is written again, the import resumes from the checkpoint,
/// passes over those blocks' rows and writes every row once, the refused row reported in its
/// place in the report.
#[tokio::test]
async fn a_block_refused_mid_round_is_written_again_after_a_crash_and_the_blocks_after_it_once() {
    let link = FaultyLink::start().await;
    let (app, direct) = import_through(&link).await;
    let tenant = TenantId::parse("acme").unwrap();
    let deadline = || Instant::now() + Duration::from_secs(300);
    let header = "Customer Number,First Name,Last Name,Email,External ID\n";
    let holder = format!("{header}1,Hanna,Holm,h@example.com,X-17\n");
    let first = upload(&app, "imports/acme/holder.csv", holder, "01").await;
    customers_import::process(&app, &first, deadline())
        .await
        .unwrap();

    let total = 120;
    let mut rows = header.to_owned();
    for n in 0..total {
        let external = if n == 29 {
            "X-17".to_owned()
        } else {
            format!("E-{n}")
        };
        let number = 9000 + n;
        rows.push_str(&format!(
            "{number},First{number},Last{number},c{number}@example.com,{external}\n"
        ));
    }
    let notification = upload(&app, "imports/acme/refused.csv", rows, "02").await;
    // Row 9029's block is refused and the rest of the round written; the block comes again
    // without that row's customer, and the link is cut as it does.
    link.cut_at("First9030", 1);
    let cut_off = customers_import::process(&app, &notification, deadline()).await;
    assert!(cut_off.is_err(), "the invocation fails: {cut_off:?}");
    let record = direct.imports(&tenant, 1, None).await.unwrap().items[0].clone();
    assert!(
        !record.done_ahead.is_empty(),
        "blocks after the refused one are done ahead: {record:?}"
    );

    link.restore();
    customers_import::process(&app, &notification, deadline())
        .await
        .expect("the rest is imported");
    let record = direct.imports(&tenant, 1, None).await.unwrap().items[0].clone();
    assert_eq!(record.status, ImportStatus::Completed, "{record:?}");
    assert!(record.done_ahead.is_empty(), "{record:?}");
    assert_eq!(record.counts.rows_read, total as u64, "{record:?}");
    assert_eq!(record.counts.created, total as u64 - 1, "{record:?}");
    assert_eq!(record.counts.failed, 1, "{record:?}");
    let numbers: Vec<String> = (0..total).map(|n| (9000 + n).to_string()).collect();
    let imported = direct.ids_by_number(&tenant, &numbers).await.unwrap();
    assert_eq!(imported.len(), total - 1, "every other row once");
    assert!(!imported.contains_key("9029"));
    let report = app
        .bucket
        .get(record.error_report_key.as_deref().unwrap(), Get::default())
        .await
        .unwrap();
    let text = String::from_utf8(report.bytes().await.unwrap()).unwrap();
    assert!(text.contains("\n31,,,external_ref_taken,"), "{text}");
}

/// DynamoDB refuses, unapplied, a transaction whose ClientRequestToken an applied transaction
/// with other writes used. The SDK draws its tokens at random, so that should never happen;
/// when it does (CI saw it twice on the emulator, cause unknown), the store sends the same
/// writes again with a new token: the create succeeds and is written once.
#[tokio::test]
async fn a_transaction_refused_for_a_used_token_is_sent_again_with_a_new_one() {
    let link = FaultyLink::start().await;
    let suite = Suite::start_behind(&link).await;
    let office = suite.user("acme", "alice", ADMIN);

    link.mismatch_token(TRANSACTION, 1);
    office
        .post("/customers", &customer("M-1", "Anna", "Berg"))
        .await
        .expect(201);
    assert_eq!(link.faults_injected(), 1, "the mismatch was answered");
    assert_eq!(with_number(&office, "M-1").await.len(), 1);
}

/// DynamoDB cancels a transaction whose partition is over its throughput (reason
/// `ThrottlingError`, nothing written). The store sends it again: a short burst passes
/// unnoticed, a lasting one is 503 with nothing written, never a 500.
#[tokio::test]
async fn a_transaction_cancelled_for_throttling_is_sent_again_and_then_answered_503() {
    let link = FaultyLink::start().await;
    let suite = Suite::start_behind(&link).await;
    let office = suite.user("acme", "alice", ADMIN);

    link.throttle(TRANSACTION, 2);
    let passed = office
        .post("/customers", &customer("T-1", "Anna", "Berg"))
        .await;
    passed.expect(201);
    assert_eq!(
        link.faults_injected(),
        2,
        "both throttled answers were given"
    );
    assert_eq!(with_number(&office, "T-1").await.len(), 1);

    link.throttle(TRANSACTION, 1_000);
    let (refused, took) = timed(office.post("/customers", &customer("T-2", "Bo", "Ek"))).await;
    assert_unavailable(&refused, took);
    link.restore();
    assert!(
        with_number(&office, "T-2").await.is_empty(),
        "nothing of the refused create was written"
    );
    office
        .post("/customers", &customer("T-2", "Bo", "Ek"))
        .await
        .expect(201);
}

/// The store's reads are requests of its own, not the SDK's (`store::reads`), and keep what the
/// SDK gave them: a throttled read and a read whose answer is lost are tried again, and a
/// lasting fault is a 503 within the call's time, never a 500 or a hang.
#[tokio::test]
async fn a_read_throttled_or_lost_is_tried_again_and_a_lasting_fault_is_503() {
    let link = FaultyLink::start().await;
    let suite = Suite::start_behind(&link).await;
    let office = suite.user("acme", "alice", ADMIN);
    let created = office
        .post("/customers", &customer("R-1", "Anna", "Berg"))
        .await;
    created.expect(201);
    let path = format!("/customers/{}", created.body["id"].as_str().unwrap());

    link.throttle_reads(GET_ITEM, 2);
    let read = office.get(&path).await;
    read.expect(200);
    assert_eq!(read.body["customerNumber"], "R-1");
    assert_eq!(
        link.faults_injected(),
        2,
        "both throttled answers were given"
    );

    link.lose_next_answer_to(GET_ITEM);
    let (read, took) = timed(office.get(&path)).await;
    read.expect(200);
    assert_eq!(link.faults_injected(), 3, "an answer was lost");
    assert!(took < ANSWER_WITHIN, "answered in {took:?}");

    link.throttle_reads(GET_ITEM, 1_000);
    let (refused, took) = timed(office.get(&path)).await;
    assert_unavailable(&refused, took);
    link.restore();
    office.get(&path).await.expect(200);
}
