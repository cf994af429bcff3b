//! An import whose invocations die mid-file: the import function's code runs in-process
//! against the emulator with a row budget and a continuation queue that does not exist, so
//! every invocation commits its rows and then fails to hand over, as if it had crashed. SQS
//! would deliver the notification again; here the test does. Each redelivery resumes from the
//! checkpoint: in the end every row is imported exactly once.

use std::time::{Duration, Instant};

use store::{ImportStatus, TenantId};

#[tokio::test]
async fn redelivered_after_a_crash_the_import_resumes_and_imports_every_row_once() {
    let rows = e2e::imports::customer_rows(20, 7000);
    import_crashing_every_seven_rows("resume", rows.into_bytes(), 7000).await;
}

/// Excel's "Unicode text": UTF-16 with its byte-order mark, tab-separated, names beyond
/// ASCII. A checkpoint is an offset in the UTF-16 file, from which each redelivery reads it.
#[tokio::test]
async fn a_utf16_file_resumes_from_offsets_in_the_file_and_imports_every_row_once() {
    let rows = e2e::imports::customer_rows(20, 7100)
        .replace(",First7", ",Åsa🔧7")
        .replace(',', "\t");
    let utf16 = [0xFF, 0xFE]
        .into_iter()
        .chain(rows.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let app = import_crashing_every_seven_rows("resume16", utf16, 7100).await;
    let tenant = TenantId::parse("acme").unwrap();
    let found = app
        .store
        .ids_by_number(&tenant, &["7119".to_owned()])
        .await
        .unwrap();
    let customer = app
        .store
        .get(&tenant, &found["7119"])
        .await
        .unwrap()
        .expect("imported");
    assert_eq!(
        customer.fields.first_name.as_deref(),
        Some("Åsa🔧7119"),
        "{customer:?}"
    );
}

/// Imports `file` (20 customers numbered from `first_number`) in-process with a budget of 7
/// rows an invocation and a hand-over that always fails, delivering the notification again
/// until it completes; checks every row was imported once.
async fn import_crashing_every_seven_rows(
    prefix: &str,
    file: Vec<u8>,
    first_number: usize,
) -> customers_import::App {
    // Handing over always fails: every invocation ends like one that crashed after its last
    // commit.
    let app = e2e::imports::in_process_import(prefix, Some(7)).await;
    let key = "imports/acme/crash.csv";
    let etag = app
        .bucket
        .put(key, "text/csv", file.into())
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
    let numbers: Vec<String> = (0..20).map(|n| (first_number + n).to_string()).collect();
    let found = app.store.ids_by_number(&tenant, &numbers).await.unwrap();
    assert_eq!(found.len(), 20, "every row once");
    app
}

/// The lanes fence an import's invocations from each other. The first take-over writes no
/// lane (no block exists to fence), so a lane is made by its first block; any later take-over
/// writes every lane, after which a block of the earlier invocation fails on any lane, made
/// or not, and the new one's commit.
#[tokio::test]
async fn a_block_of_an_earlier_invocation_fails_on_every_lane_after_a_later_take_over() {
    use store::{ChunkError, ImportBlock, ImportCounts, ImportRecord, ImportSource, RowSpan};

    let (client, table) = e2e::fresh_table().await;
    let store = e2e::store(table.clone()).await;
    let tenant = TenantId::parse("acme").unwrap();
    let now = chrono::Utc::now();
    let mut record = ImportRecord {
        id: ulid::Ulid::new().to_string(),
        status: ImportStatus::Running,
        source: ImportSource::Bucket,
        object_key: "imports/acme/lanes.csv".into(),
        file_name: None,
        requested_by: None,
        created_at: now,
        started_at: Some(now),
        finished_at: None,
        etag: Some("\"e\"".into()),
        size_bytes: Some(40 * 49 * 2),
        counts: ImportCounts::default(),
        checkpoint: None,
        done_ahead: Vec::new(),
        lanes: 0,
        invocations: 1,
        failure: None,
        error_report_key: None,
        request: Default::default(),
        mapping: None,
        version: 1,
    };
    store.put_import(&tenant, &record, None).await.unwrap();
    let import_partition = format!("T#acme#IMPORT#{}", record.id);
    let import_id = record.id.clone();
    let lanes_stored = || async {
        client
            .query()
            .table_name(&table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :lane)")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(import_partition.clone()),
            )
            .expression_attribute_values(
                ":lane",
                aws_sdk_dynamodb::types::AttributeValue::S("LANE#".into()),
            )
            .send()
            .await
            .unwrap()
            .count()
    };
    let block = |from: u64| ImportBlock {
        span: RowSpan {
            from,
            to: from + 10,
            to_line: 2,
        },
        counts: ImportCounts::default(),
    };
    let commit = |epoch: u64, lane: usize, from: u64| {
        let store = store.clone();
        let (tenant, id) = (tenant.clone(), import_id.clone());
        async move {
            let token = format!("{id}-{epoch}-{lane}-{from}");
            store
                .commit_import_block(&tenant, &id, (epoch, lane), &block(from), &[], None, &token)
                .await
        }
    };

    // The first invocation: lanes decided (3), none written until a block makes its own.
    let expected = record.version;
    record.version += 1;
    assert_eq!(record.lanes(), 3);
    let first = store
        .take_over_import(&tenant, &record, expected, true)
        .await
        .unwrap();
    assert!(first.is_empty());
    assert_eq!(
        lanes_stored().await,
        0,
        "the first take-over writes no lane"
    );
    let first_epoch = record.version;
    commit(first_epoch, 0, 0)
        .await
        .expect("a new lane is made by its block");
    commit(first_epoch, 0, 10)
        .await
        .expect("and then written at its epoch");
    assert_eq!(lanes_stored().await, 1);

    // Another invocation takes the import over: every lane is written, and the blocks the
    // lanes name come back to be counted.
    let expected = record.version;
    record.version += 1;
    let named = store
        .take_over_import(&tenant, &record, expected, false)
        .await
        .unwrap();
    assert_eq!(named, [block(10)]);
    assert_eq!(lanes_stored().await, 3);
    for lane in 0..3 {
        let late = commit(first_epoch, lane, 100).await;
        assert!(
            matches!(late, Err(ChunkError::ImportMoved)),
            "lane {lane}: {late:?}"
        );
    }
    commit(record.version, 1, 20)
        .await
        .expect("the new invocation writes");
}
