//! What an import costs in DynamoDB requests and capacity units per 1 000 rows: new customers,
//! the same file again (every row unchanged), and a file that changes every customer. The
//! import function's own code runs in-process (`customers_import::process`) against the
//! emulator, with the store's meter counting every request. Counts, not timings of the
//! emulator: run with `infra/local/bench`.
//!
//! Then how fast an import writes when DynamoDB is as far away as it is from a Lambda
//! function: 10 000 new customers through the fault tests' link, which holds every DynamoDB
//! request for a round trip (25 ms for a transaction, 10 ms for anything else), so that rows
//! per second show what the importer keeps in flight. The emulator's own time is in the
//! figure too (it answers one request at a time, on one machine, not a fleet): the same file
//! without the latency is timed beside it, and the difference is what the round trips add.
//! A third run holds every request forty times as long, which the round trips then dominate:
//! from it the bench derives the least rate the import reaches at the real round trips (see
//! `at_least_rows_per_s`), issue 15's figure.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use customers_import::App;
use e2e::faults::FaultyLink;
use store::{CustomerStore, TenantId, Usage};

const ROWS: usize = 1_000;
/// New customers of the latency run, and issue 15's target for it.
const LATENCY_ROWS: usize = 10_000;
const LATENCY_TARGET_ROWS_PER_S: f64 = 1_000.0;
/// The round trips the link puts on DynamoDB requests: a transaction of up to 100 items, and
/// any other request (a read, a single write).
const TRANSACTION_LATENCY: Duration = Duration::from_millis(25);
const REQUEST_LATENCY: Duration = Duration::from_millis(10);
/// How many times those round trips the scaled run holds each request: long enough that the
/// round trips, not the emulator, take most of its time (see [`at_least_rows_per_s`]).
const SCALE: u32 = 40;
/// Issue 15's write cost targets: write units per new customer, write requests per 1 000.
const UNITS_PER_NEW_CUSTOMER_TARGET: f64 = 10.0;
const REQUESTS_PER_1000_NEW_TARGET: f64 = 45.0;

/// A field-service export of `rows` new customers, every e-mail and mobile its own (mobiles
/// repeat every 1 000 rows in [`file`], which would make possible duplicates of them).
fn distinct_file(rows: usize, first: usize) -> String {
    let mut csv = String::from("Customer Number,First Name,Last Name,Email,Mobile,City,Country\n");
    for i in 0..rows {
        let n = first + i;
        csv.push_str(&format!(
            "{n},Eva{i},Lind{i},eva.{n}@example.com,070-{:03} {:02} {:02},Örebro,SE\n",
            100 + i / 10_000,
            (i / 100) % 100,
            i % 100,
        ));
    }
    csv
}

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

/// The write cost of `rows` new customers against issue 15's targets.
fn report_new_customers(what: &str, rows: usize, usage: Usage) {
    let units = usage.estimated_write_units / rows as f64;
    let requests = f64::from(usage.write_requests) * 1_000.0 / rows as f64;
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!(
        "{what:<34} {units:>9.2} write units a customer (target <= {UNITS_PER_NEW_CUSTOMER_TARGET:.0}: {}), {requests:.0} write requests per 1 000 (target <= {REQUESTS_PER_1000_NEW_TARGET:.0}: {})",
        verdict(units <= UNITS_PER_NEW_CUSTOMER_TARGET),
        verdict(requests <= REQUESTS_PER_1000_NEW_TARGET),
    );
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
    let (_, table) = e2e::fresh_table().await;
    let config = devhost::aws_config().await;
    let s3 = devhost::s3_client().await;
    let bucket = e2e::unique_name("bench-imports");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let app = App {
        store: CustomerStore::new(&config, table.clone()),
        bucket: kit::objects::Bucket::new(&config, bucket.clone()),
        queue: kit::queue::Queue::new(&config, ""),
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
    let mut new_customers = None;
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
        if sequencer == "1" {
            new_customers = Some(app.store.usage().snapshot());
        }
        eprintln!(
            "  ({what}: {:.1} s against the emulator)",
            elapsed.as_secs_f64()
        );
    }
    println!();
    println!(
        "Import writing, {LATENCY_ROWS} new customers (DynamoDB round trips: {} ms a transaction, {} ms any other request)",
        TRANSACTION_LATENCY.as_millis(),
        REQUEST_LATENCY.as_millis()
    );
    let s3 = Uploads {
        s3: &s3,
        bucket: &bucket,
        table: &table,
    };
    let cpu_before = process_cpu();
    let (direct, direct_usage) = timed_import(&s3, &app.store, "direct", 200_000, None).await;
    // The importer's own CPU for the file: the same rows and work as in the runs through the
    // link, without the link's forwarding, which a real run does not have.
    let importer_cpu = process_cpu().saturating_sub(cpu_before);
    let link = FaultyLink::start().await;
    link.delay("DynamoDB_20120810.TransactWriteItems", TRANSACTION_LATENCY);
    link.delay("DynamoDB_20120810.", REQUEST_LATENCY);
    let (far, _) = timed_import(&s3, &app.store, "far", 300_000, Some(&link.url())).await;
    println!(
        "{:<34} {:>9.0} rows/s  ({:.1} s, the importer's CPU {:.1} s)",
        "emulator alone, no latency",
        rate(direct),
        direct.as_secs_f64(),
        importer_cpu.as_secs_f64()
    );
    println!(
        "{:<34} {:>9.0} rows/s  ({:.1} s)  the emulator's one-at-a-time speed bounds both",
        "with the latency",
        rate(far),
        far.as_secs_f64()
    );
    // The emulator answers one request at a time and its own time is about the same in both
    // runs; what the latency adds is what the importer did not keep in flight (DynamoDB, a
    // fleet, serves the requests side by side within those round trips). The emulator's own
    // time moves by more than that between runs, so no rate is derived from the difference.
    let added = far.as_secs_f64() - direct.as_secs_f64();
    println!(
        "{:<34} {:>+9.1} s  (per 1 000 rows: {:+.2} s)",
        "added by the round trips",
        added,
        added * 1_000.0 / LATENCY_ROWS as f64
    );
    let scaled = FaultyLink::start().await;
    scaled.delay(
        "DynamoDB_20120810.TransactWriteItems",
        TRANSACTION_LATENCY * SCALE,
    );
    scaled.delay("DynamoDB_20120810.", REQUEST_LATENCY * SCALE);
    let (slow, _) = timed_import(&s3, &app.store, "scaled", 400_000, Some(&scaled.url())).await;
    println!(
        "{:<34} {:>9.0} rows/s  ({:.1} s)",
        format!("with the round trips x{SCALE}"),
        rate(slow),
        slow.as_secs_f64(),
    );
    let floor = at_least_rows_per_s(slow, importer_cpu);
    println!(
        "{:<34} {:>9.0} rows/s  (target >= {LATENCY_TARGET_ROWS_PER_S:.0}: {})",
        "at DynamoDB's latency, at least",
        floor,
        if floor >= LATENCY_TARGET_ROWS_PER_S {
            "met"
        } else {
            "NOT met"
        }
    );
    println!();
    println!("Write cost of new customers (each a person with an e-mail and a mobile), with the");
    println!("import's own writes (block lanes, take-over, record saves) spread over its rows");
    let new_customers = new_customers.expect("the first file is new customers");
    report_new_customers(&format!("{ROWS} new customers"), ROWS, new_customers);
    report_new_customers(
        &format!("{LATENCY_ROWS} new customers"),
        LATENCY_ROWS,
        direct_usage,
    );
}

/// The least rate the import reaches where every request takes the unscaled round trip and
/// DynamoDB's own work is within it, from the scaled run: each request of the run's longest
/// chain of requests waited at least `SCALE` times its round trip there (the importer waits
/// on its requests in phases whose order does not depend on their timing), so that chain's
/// round trips take at most a `SCALE`th of the run's time; the importer's CPU for the file is
/// added whole, as if none of it overlapped a round trip. The emulator's own time is in the
/// run's time, which only lowers the figure; DynamoDB's throughput limits are not in it
/// (docs/data-model.md#scale-envelope-new-customers-per-organisation-per-second).
fn at_least_rows_per_s(scaled_run: Duration, cpu: Duration) -> f64 {
    let round_trips = scaled_run.as_secs_f64() / f64::from(SCALE);
    LATENCY_ROWS as f64 / (round_trips + cpu.as_secs_f64())
}

/// The CPU time this process (every thread) has spent so far, from /proc/self/stat (Linux).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The fields after the command's closing parenthesis; utime and stime are the 14th and
    // 15th of the line, in clock ticks of 10 ms.
    let after = &stat[stat.rfind(')').expect("a command") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// Where the latency runs put their files and customers.
struct Uploads<'a> {
    s3: &'a aws_sdk_s3::Client,
    bucket: &'a str,
    table: &'a str,
}

fn rate(took: Duration) -> f64 {
    LATENCY_ROWS as f64 / took.as_secs_f64()
}

/// Imports a file of [`LATENCY_ROWS`] new customers (numbers from `first`) into a fresh
/// organisation, with the store's DynamoDB requests sent to `endpoint` when given (the link),
/// and answers how long the import took and what it cost; every row must have been created.
async fn timed_import(
    uploads: &Uploads<'_>,
    direct: &CustomerStore,
    tenant: &str,
    first: usize,
    endpoint: Option<&str>,
) -> (Duration, Usage) {
    let config = kit::aws::sdk_config().await;
    // The emulator answers one request at a time, so the lanes' transactions queue there for
    // longer than the 3 s a DynamoDB attempt is given; that wait is the emulator's, not ours.
    let patient = TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(180))
        .build();
    let mut dynamodb = config.to_builder().timeout_config(patient);
    if let Some(endpoint) = endpoint {
        dynamodb = dynamodb.endpoint_url(endpoint);
    }
    let app = App {
        store: CustomerStore::new(&dynamodb.build(), uploads.table.to_owned()),
        bucket: kit::objects::Bucket::new(&config, uploads.bucket),
        queue: kit::queue::Queue::new(&config, ""),
        rows_per_invocation: None,
        slots_per_organisation: 2,
    };
    let key = format!("imports/{tenant}/latency.csv");
    let put = uploads
        .s3
        .put_object()
        .bucket(uploads.bucket)
        .key(&key)
        .body(distinct_file(LATENCY_ROWS, first).into_bytes().into())
        .send()
        .await
        .expect("file");
    let etag = put.e_tag().unwrap_or_default().trim_matches('"').to_owned();
    let started = Instant::now();
    customers_import::process(
        &app,
        &notification(uploads.bucket, &key, &etag, "1"),
        Instant::now() + Duration::from_secs(3600),
    )
    .await
    .expect("the import runs");
    let took = started.elapsed();
    let tenant = TenantId::parse(tenant).unwrap();
    let imports = direct.imports(&tenant, 1, None).await.expect("imports");
    let counts = imports.items[0].counts;
    assert_eq!(counts.created, LATENCY_ROWS as u64, "{counts:?}");
    (took, app.store.usage().snapshot())
}
