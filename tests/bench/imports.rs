//! What an import costs in DynamoDB requests and capacity units per 1 000 rows: new customers,
//! the same file again (every row unchanged), and a file that changes every customer. The
//! import function's own code runs in-process (`customers_import::process`) against the
//! emulator, with the store's meter counting every request. Counts, not timings of the
//! emulator: run with `infra/local/bench`.

use std::time::{Duration, Instant};

use customers_import::App;
use store::{CustomerStore, TenantId, Usage};

const ROWS: usize = 1_000;

/// A field-service export: person, e-mail, mobile, address.
fn file(rows: usize, city: &str) -> String {
    let mut csv = String::from(
        "Customer Number,First Name,Last Name,Email,Mobile,Street,Postal Code,City,Country\n",
    );
    for i in 0..rows {
        let n = 100_000 + i;
        csv.push_str(&format!(
            "{n},Anna{i},Berg{i},anna.{n}@example.com,070-{:03} {:02} {:02},Storgatan {},{:03} {:02},{city},SE\n",
            i % 1000,
            (i / 10) % 100,
            i % 100,
            i % 90 + 1,
            100 + i % 900,
            i % 100,
        ));
    }
    csv
}

fn notification(bucket: &str, key: &str, etag: &str, sequencer: &str) -> String {
    e2e::imports::object_created(bucket, key, etag, sequencer, None)
}

fn report(what: &str, usage: Usage) {
    let per = 1_000.0 / ROWS as f64;
    println!(
        "{what:<34} {:>9.0} {:>9.0} {:>9.0} {:>10.1} {:>10.1}",
        f64::from(usage.write_requests) * per,
        f64::from(usage.read_requests) * per,
        f64::from(usage.requests) * per,
        usage.estimated_write_units * per,
        usage.estimated_read_units * per,
    );
}

#[tokio::main]
async fn main() {
    let (client, table) = e2e::fresh_table().await;
    let config = devhost::aws_config().await;
    let s3 = kit::aws::s3_client(&config);
    let bucket = e2e::unique_name("bench-imports");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let app = App {
        store: CustomerStore::new(client, table),
        s3: s3.clone(),
        sqs: aws_sdk_sqs::Client::new(&config),
        bucket: bucket.clone(),
        queue_url: String::new(),
        rows_per_invocation: None,
        slots_per_organisation: 2,
    };
    let tenant = TenantId::parse("bench").unwrap();

    println!("DynamoDB cost of an import, per 1 000 rows ({ROWS}-row files; est: DynamoDB's");
    println!("documented capacity rules applied to the items, shared/store/src/capacity.rs)");
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "file", "writes", "reads", "requests", "WCU est", "RCU est"
    );
    let runs = [
        ("new customers", file(ROWS, "Västerås"), "1"),
        (
            "the same file again (unchanged)",
            file(ROWS, "Västerås"),
            "2",
        ),
        ("every customer's city changed", file(ROWS, "Uppsala"), "3"),
    ];
    for (what, csv, sequencer) in runs {
        let key = format!("imports/{tenant}/bench-{sequencer}.csv");
        let put = s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(csv.into_bytes().into())
            .send()
            .await
            .expect("file");
        let etag = put.e_tag().unwrap_or_default().trim_matches('"').to_owned();
        app.store.usage().reset();
        let started = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(3600);
        customers_import::process(
            &app,
            &notification(&bucket, &key, &etag, sequencer),
            deadline,
        )
        .await
        .expect("the import runs");
        let elapsed = started.elapsed();
        let imports = app.store.imports(&tenant, 1, None).await.expect("imports");
        let counts = imports.items[0].counts;
        assert_eq!(counts.rows_read, ROWS as u64, "{counts:?}");
        assert_eq!(counts.failed, 0, "{counts:?}");
        report(what, app.store.usage().snapshot());
        eprintln!(
            "  ({what}: {:.1} s against the emulator)",
            elapsed.as_secs_f64()
        );
    }
}
