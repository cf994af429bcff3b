//! The limits of a CSV import, end to end (see "Limits" in docs/imports.md): a file over the
//! size limit is refused before it is read, a row over the record limit is that row's error
//! and the rows around it are imported, and a quote never closed fails the import after the
//! rows before it, with its reason on the record and in the report. And the limit between
//! organisations: one that floods the bucket does not hold up another's small file.

use std::time::{Duration, Instant};

use customers_import::MAX_FILE_BYTES;
use e2e::Suite;
use e2e::imports::fetch;
use serde_json::Value;
use store::{ImportStatus, TenantId};

const COORDINATOR: &[&str] = &["coordinator"];

/// The row limit of `shared/import` (`import::MAX_RECORD_BYTES`), which this crate does not
/// depend on.
const MAX_ROW_BYTES: usize = 64 * 1024;

fn header() -> String {
    "Customer Number,First Name,Last Name,Email,Notes\n".to_owned()
}

fn row(number: usize) -> String {
    format!("{number},First{number},Last{number},c{number}@example.com,\n")
}

fn count(view: &Value, name: &str) -> u64 {
    view["counts"][name].as_u64().unwrap_or_default()
}

/// The error report of a finished import, as its user downloads it.
async fn report(office: &e2e::Session<'_>, id: &str) -> String {
    let redirect = office.get(&format!("/imports/{id}/errors")).await;
    redirect.expect(303);
    let location = redirect.header("location").unwrap();
    let (status, bytes) = fetch(http::Method::GET, location, Vec::new()).await;
    assert_eq!(status, 200);
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn a_file_over_the_size_limit_is_refused_before_a_byte_of_it_is_read() {
    let app = e2e::imports::in_process_import("limits", None).await;
    let (s3, bucket) = (devhost::s3_client().await, app.bucket.name());
    let key = "imports/acme/register.csv";
    let csv = format!("{}{}{}", header(), row(8001), row(8002));
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(csv.into_bytes().into())
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().trim_matches('"').to_owned();
    // S3's notification of a file one byte over the limit. The object itself is small (a
    // 100 MiB upload to the emulator would only slow the test down): the refusal rests on
    // the size the notification gives, so nothing of the object may be read.
    let notification = |size: Option<u64>, sequencer: &str| {
        e2e::imports::object_created(bucket, key, &etag, sequencer, size)
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    customers_import::process(
        &app,
        &notification(Some(MAX_FILE_BYTES + 1), "01"),
        deadline,
    )
    .await
    .expect("a refused file is done with, not retried");
    let tenant = TenantId::parse("acme").unwrap();
    let record = app.store.imports(&tenant, 1, None).await.unwrap().items[0].clone();
    assert_eq!(record.status, ImportStatus::Failed);
    let failure = record.failure.as_deref().unwrap_or_default();
    assert!(
        failure.contains(&format!("more than the {MAX_FILE_BYTES} bytes (100 MiB)")),
        "{failure}"
    );
    assert_eq!(record.counts.rows_read, 0);
    assert_eq!(record.size_bytes, Some(MAX_FILE_BYTES + 1));
    assert!(
        record.error_report_key.is_none(),
        "nothing was read to report on"
    );
    let numbers = vec!["8001".to_owned(), "8002".to_owned()];
    let found = app.store.ids_by_number(&tenant, &numbers).await.unwrap();
    assert!(found.is_empty(), "nothing imported: {found:?}");

    // The same object announced without a size is judged by its own (small) size, and
    // imported: the size was the only reason for the refusal.
    customers_import::process(&app, &notification(None, "02"), deadline)
        .await
        .expect("imported");
    let latest = app.store.imports(&tenant, 1, None).await.unwrap().items[0].clone();
    assert_eq!(latest.status, ImportStatus::Completed);
    assert_eq!(latest.size_bytes, Some(put_size(&s3, bucket, key).await));
    let found = app.store.ids_by_number(&tenant, &numbers).await.unwrap();
    assert_eq!(found.len(), 2);
}

async fn put_size(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> u64 {
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    u64::try_from(head.content_length().unwrap()).unwrap()
}

#[tokio::test]
async fn an_oversize_row_is_reported_and_a_quote_never_closed_fails_the_import_after_its_rows() {
    // Seven rows per invocation, so the quote never closed is met by a later invocation than
    // the one that started the file.
    let suite = Suite::start_with_parameters(2, &[("ImportRowsPerInvocation", "7")]).await;
    let office = suite.user("acme", "olga", COORDINATOR);

    // Line 3 is one byte over the limit (its note is not quoted, so nothing else is lost).
    let long_start = "9002,First9002,Last9002,c9002@example.com,";
    let long_row = format!(
        "{long_start}{}\n",
        "x".repeat(MAX_ROW_BYTES + 1 - long_start.len())
    );
    let csv = format!("{}{}{long_row}{}", header(), row(9001), row(9003));
    suite.drop_file("imports/acme/long-row.csv", csv).await;
    let done = office.finished_imports(1).await.remove(0);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(count(&done, "rowsRead"), 3, "{done}");
    assert_eq!(count(&done, "created"), 2, "{done}");
    assert_eq!(count(&done, "failed"), 1, "{done}");
    let text = report(&office, done["id"].as_str().unwrap()).await;
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].starts_with("3,,,record_too_large,"), "{text}");
    assert!(lines[1].contains("65536 bytes"), "{text}");
    for (number, expected) in [("9001", 1), ("9002", 0), ("9003", 1)] {
        let found = office.get(&format!("/customers?number={number}")).await;
        let items = found.body["items"].as_array().unwrap().len();
        assert_eq!(items, expected, "customer {number}");
    }

    // Twenty good rows, then a quote that is never closed: the rest of the file (a thousand
    // rows, well over the row limit) would be one value.
    let mut csv = header();
    for n in 0..20 {
        csv.push_str(&row(9100 + n));
    }
    csv.push_str("9120,First9120,Last9120,c9120@example.com,\"opened here\n");
    for n in 121..1121 {
        csv.push_str(&row(9000 + n));
    }
    suite.drop_file("imports/acme/runaway.csv", csv).await;
    let imports = office.finished_imports(2).await;
    let failed = imports
        .iter()
        .find(|i| i["fileName"] == "runaway.csv")
        .unwrap();
    assert_eq!(failed["status"], "failed", "{failed}");
    let failure = failed["failure"].as_str().unwrap_or_default();
    assert!(
        failure.contains("a quoted value starting on line 22 is never closed"),
        "{failure}"
    );
    assert!(failed["invocations"].as_u64().unwrap() >= 3, "{failed}");
    assert_eq!(count(failed, "rowsRead"), 21, "{failed}");
    assert_eq!(
        count(failed, "created"),
        20,
        "the rows before it stay imported"
    );
    assert_eq!(count(failed, "failed"), 1, "{failed}");
    let text = report(&office, failed["id"].as_str().unwrap()).await;
    assert!(text.contains("22,,,unterminated_quote,"), "{text}");
    let after = office.get("/customers?number=9121").await;
    assert_eq!(after.body["items"].as_array().unwrap().len(), 0);
}

/// Files the flooding organisation drops at once, and rows in each: enough that, three at a
/// time, they would keep every execution busy for minutes.
const FLOOD_FILES: usize = 12;
const FLOOD_ROWS: usize = 600;
/// The bound on another organisation's ten-row file, in the flood's terms rather than seconds
/// (the emulator serves one request at a time, so its seconds are the flood's): the flood holds
/// at most `ImportSlotsPerOrganisation` (2) of the stack's 3 executions, so the other file waits
/// only for one pass over the flood's waiting messages (each a read and a send) and starts
/// while the flood's first files, or the few after them, are running (2 to 4 flood files had
/// started in five runs). Without the bound it starts behind the twelve flood messages ahead
/// of it, three executions at a time: after ten or more of the flood's files started. Counted at the starts: the pass's requests queue
/// at the emulator behind the flood's dozens in flight (an import writes its blocks side by
/// side), which DynamoDB, a fleet, would serve side by side, so how many flood files end
/// meanwhile says more about the emulator than about the turns.
const FLOOD_FILES_STARTED_AT_MOST: usize = 6;

#[tokio::test]
async fn one_organisations_flood_of_files_does_not_hold_up_anothers_small_import() {
    let suite = Suite::start_with(3).await;
    let flooder = suite.user("flood", "fred", COORDINATOR);
    let other = suite.user("small", "sara", COORDINATOR);
    for file in 0..FLOOD_FILES {
        let rows = e2e::imports::customer_rows(FLOOD_ROWS, 100_000 + file * FLOOD_ROWS);
        suite
            .drop_file(&format!("imports/flood/part-{file:02}.csv"), rows)
            .await;
    }
    running_imports(&flooder, 2).await;

    let dropped = Instant::now();
    suite
        .drop_file("imports/small/ten.csv", e2e::imports::customer_rows(10, 1))
        .await;
    let imports = other.finished_imports(1).await;
    let waited = dropped.elapsed();

    assert_eq!(imports[0]["status"], "completed", "{}", imports[0]);
    assert_eq!(imports[0]["counts"]["created"], 10, "{}", imports[0]);
    let time = |at: &serde_json::Value| {
        at.as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
    };
    let started = time(&imports[0]["startedAt"]).expect("a start time");
    let flood = flooder.get("/imports?limit=100").await.body;
    let ahead = flood["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| time(&i["startedAt"]).is_some_and(|at| at < started))
        .count();
    println!(
        "small import done {:.1} s after its file arrived; {ahead} of the flood's {FLOOD_FILES} files started before it",
        waited.as_secs_f64()
    );
    assert!(
        ahead <= FLOOD_FILES_STARTED_AT_MOST,
        "the small import started behind {ahead} of the flood's files (done after {waited:?})"
    );
    let deferred = suite.metrics("ImportsDeferred");
    assert!(!deferred.is_empty(), "the flood never waited for a turn");
    assert!(
        deferred.iter().all(|m| m["tenant"] == "flood"),
        "only the flooding organisation waits for turns: {deferred:?}"
    );
}

/// Waits until `count` of the session's imports are running (the flood has the executions).
async fn running_imports(session: &e2e::Session<'_>, count: usize) {
    let started = Instant::now();
    loop {
        let list = session.get("/imports?limit=100").await.body;
        let running = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["status"] == "running")
            .count();
        if running >= count {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the flood never ran: {list}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
