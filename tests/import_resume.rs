//! An import whose invocations die mid-file: the import function's code runs in-process
//! against the emulator with a row budget and a continuation queue that does not exist, so
//! every invocation commits its rows and then fails to hand over, as if it had crashed. SQS
//! would deliver the notification again; here the test does. Each redelivery resumes from the
//! checkpoint: in the end every row is imported exactly once.

use std::time::{Duration, Instant};

use store::{ImportStatus, TenantId};

#[tokio::test]
async fn redelivered_after_a_crash_the_import_resumes_and_imports_every_row_once() {
    // Handing over always fails: every invocation ends like one that crashed after its last
    // commit.
    let app = e2e::imports::in_process_import("resume", Some(7)).await;
    let key = "imports/acme/crash.csv";
    let rows = e2e::imports::customer_rows(20, 7000);
    let etag = app
        .bucket
        .put(key, "text/csv", rows.into_bytes().into())
        .await
        .unwrap()
        .expect("an ETag");
    let notification = e2e::imports::object_created(app.bucket.name(), key, &etag, "01", None);
    let tenant = TenantId::parse("acme").unwrap();
    let deadline = || Instant::now() + Duration::from_secs(300);

    let mut read_after = Vec::new();
    for _ in 0..2 {
        let result = customers_import::process(&app, &notification, deadline()).await;
        assert!(result.is_err(), "the hand-over fails: {result:?}");
        let record = app.store.imports(&tenant, 1, None).await.unwrap().items[0].clone();
        assert_eq!(record.status, ImportStatus::Running);
        read_after.push(record.counts.rows_read);
    }
    assert_eq!(
        read_after,
        vec![7, 14],
        "each delivery went on from the checkpoint"
    );
    // The third delivery reaches the end of the file, which needs no hand-over.
    customers_import::process(&app, &notification, deadline())
        .await
        .expect("the last part completes");
    let imports = app.store.imports(&tenant, 10, None).await.unwrap().items;
    assert_eq!(imports.len(), 1, "one import, delivered three times");
    let record = &imports[0];
    assert_eq!(record.status, ImportStatus::Completed);
    assert_eq!(record.counts.rows_read, 20);
    assert_eq!(record.counts.created, 20);
    assert_eq!(record.counts.failed, 0);
    assert_eq!(record.invocations, 3);
    // A fourth delivery of a completed import does nothing.
    customers_import::process(&app, &notification, deadline())
        .await
        .expect("nothing to do");
    let numbers: Vec<String> = (0..20).map(|n| (7000 + n).to_string()).collect();
    let found = app.store.ids_by_number(&tenant, &numbers).await.unwrap();
    assert_eq!(found.len(), 20, "every row once");
}
