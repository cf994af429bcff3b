//! What each function costs as a Lambda process, next to a hello-world `lambda_http` function
//! built with the same release profile (`tests/bench/hello`) and measured in the same run:
//! init (process start to its first `next` on the Runtime API, median of several starts), CPU
//! per warm invocation (the time the process's threads ran over the warm invocations, from
//! `/proc/<pid>/task/*/schedstat`, the median of five slices of them), peak resident memory (`VmHWM`) and the binary's size; then each
//! figure against the targets of issue 15. Run with `infra/local/bench`, which builds the
//! release binaries first.
//!
//! The functions run under devhost's local Runtime API ([`LambdaHost`]), with the environment
//! the template gives them and their resources created on the emulator. Each gets a
//! representative event: the API a `GET /customers/{id}` of an existing customer (as the
//! gateway builds it, with the authorizer's claims), the texts a new text each invocation (a
//! job of one of several seeded customers going en route in a new version, within the SMS
//! policy's limits, so every one is claimed, counted, published and settled), the other
//! event-fed functions their sample events from `functions/*/events/`, the importer S3's test
//! notification. The hello-world function gets the API's event too.
//!
//! `BENCH_BIN_DIR` selects other binaries (e.g. a copy of an older build); by default
//! `$CARGO_TARGET_DIR/release`. The sizes of the arm64 build that is deployed are printed too
//! when cargo-lambda's output is there (`$CARGO_TARGET_DIR/lambda/<function>/bootstrap`,
//! `infra/local/bench --arm64`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use devhost::gateway::{self, EventContext, Route};
use devhost::resources;
use devhost::template::{FunctionDef, Template};
use devhost::{AwsClients, HostOptions, LambdaHost};
use domain::{Customer, CustomerInput, ValidationContext};
use serde_json::{Value, json};
use store::TenantId;

/// Starts per function for the init figure (its median).
const STARTS: usize = 9;
/// Invocations before the measured ones: connections opened, caches filled.
const WARM_UP: usize = 20;
/// Measured warm invocations.
const WARM: usize = 300;
/// The warm invocations are measured in slices and the median slice's CPU per invocation is
/// the figure: the emulator shares the machine's two cores, and a pause of its (a Python
/// garbage collection, a flush) in one slice made a whole run's mean swing by a fifth.
const SLICES: usize = 5;

/// Issue 15's targets, against the hello-world baseline.
const INIT_RATIO_TARGET: f64 = 1.5;
const CPU_ABOVE_BASELINE_TARGET_MS: f64 = 0.3;
const BINARY_TARGET_MB: f64 = 8.0;

const HELLO: &str = "bench-hello";
const TENANT: &str = "bench";

/// What one binary cost.
struct Figures {
    init: Vec<Duration>,
    first_invocation: Duration,
    /// The process's CPU in its first invocation: what a cold request costs beyond init
    /// (clients' first use, metadata and patterns built on first use), the emulator excluded.
    first_invocation_cpu_ms: f64,
    /// The median slice's CPU per warm invocation.
    cpu_per_invocation_ms: f64,
    /// The cheapest and the dearest slice's.
    cpu_per_invocation_range_ms: (f64, f64),
    peak_rss_mb: f64,
    binary_mb: f64,
}

impl Figures {
    fn init_median_ms(&self) -> f64 {
        let mut times = self.init.clone();
        times.sort();
        times[times.len() / 2].as_secs_f64() * 1000.0
    }

    fn init_range_ms(&self) -> (f64, f64) {
        let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        (ms(self.init.iter().min()), ms(self.init.iter().max()))
    }
}

/// A function of the template with its environment and the event it is measured with.
struct Subject {
    binary: String,
    env: HashMap<String, String>,
    event: Event,
}

#[derive(Clone)]
enum Event {
    /// `GET /customers/{id}` through the gateway's event builder.
    GetCustomer { path: String, claims: Value },
    /// A fixed event document.
    Fixed(Value),
    /// Event documents taken in turn, one per invocation.
    InTurn(Vec<Value>),
}

#[tokio::main]
async fn main() {
    let root = e2e::repo_root();
    let bin_dir = std::env::var_os("BENCH_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir(&root).join("release"));
    let lambda_dir = target_dir(&root).join("lambda");
    let clients = AwsClients::from_env().await.expect("emulator clients");
    let template = Template::load(root.join("infra/template.yaml")).expect("the template");
    let parameters = HashMap::from([
        ("JwtIssuer".to_owned(), devhost::token::ISSUER.to_owned()),
        (
            "JwtAudience".to_owned(),
            devhost::token::AUDIENCE.to_owned(),
        ),
    ]);
    let created =
        resources::create_stack(&clients, &template, &e2e::unique_name("bench"), &parameters)
            .await
            .expect("the stack's resources");
    let table = created.tables.values().next().expect("a table").clone();
    let customer = seed_customer(&table).await;
    let texts = texts_in_turn(&clients, &table).await;
    let get_customer = Event::GetCustomer {
        path: format!("/customers/{customer}"),
        claims: json!({"sub": "bench-user", "tenant_id": TENANT, "roles": ["administrator"]}),
    };

    let mut subjects = Vec::new();
    for function in template.functions() {
        let env = template
            .environment(&function, &created.names)
            .expect("the function's environment");
        let event = if function.binary == "customer-texts" {
            texts.clone()
        } else {
            event_for(&root, &function, &get_customer)
        };
        subjects.push(Subject {
            binary: function.binary.clone(),
            env,
            event,
        });
    }

    println!(
        "Functions as Lambda processes, release builds in {}",
        bin_dir.display()
    );
    println!(
        "(init: median of {STARTS} starts; CPU: time on CPU per warm invocation, the median of \
         {SLICES} slices of the {WARM} warm invocations after {WARM_UP}; first call: wall time of the first invocation, emulator included, and \
         the process's CPU in it)"
    );
    println!("{}", connections_note());
    let log = root.join(".local/bench-lambdas.log");
    let baseline = measure(&bin_dir, HELLO, HashMap::new(), &get_customer, &log).await;
    print_figures(HELLO, &baseline);
    for subject in &subjects {
        let figures = measure(
            &bin_dir,
            &subject.binary,
            subject.env.clone(),
            &subject.event,
            &log,
        )
        .await;
        print_figures(&subject.binary, &figures);
        print_targets(&figures, &baseline);
        let arm64 = lambda_dir.join(&subject.binary).join("bootstrap");
        print_arm64_size(&arm64);
    }
}

/// Whether the emulator keeps connections open (`EMULATOR_KEEP_ALIVE=1`, `infra/local/bench`'s
/// default): when it closes them, every SDK call of a function opens a TCP connection, which it does not
/// do on AWS, and the CPU figures include that.
fn connections_note() -> &'static str {
    if std::env::var("EMULATOR_KEEP_ALIVE").as_deref() == Ok("1") {
        "(emulator connections kept alive, as AWS keeps them)"
    } else {
        "(emulator connections closed after each answer: CPU figures include a TCP connect per \
         AWS call, which AWS does not cost)"
    }
}

/// `$CARGO_TARGET_DIR`, else `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => root.join("target"),
    }
}

/// One active customer of the bench tenant; returns its id.
async fn seed_customer(table: &str) -> String {
    let store = e2e::store(table).await;
    let input: CustomerInput =
        serde_json::from_value(e2e::customer("B00001", "Bench", "Customer")).expect("valid input");
    let fields =
        domain::validate_customer(input, &ValidationContext::default()).expect("it validates");
    let customer = Customer::new(fields, "bench", Utc::now());
    let tenant = TenantId::parse(TENANT).expect("a tenant id");
    store
        .create(&tenant, &customer, None)
        .await
        .expect("the customer is stored");
    customer.id.to_string()
}

/// Customers whose jobs the texts go about: each job takes at most the SMS policy's limit per
/// job and trigger (10), so 33 carry the 321 invocations of a run, each one a text sent.
const TEXTED_JOBS: usize = 33;

/// A new text per invocation: the job of one of [`TEXTED_JOBS`] customers (each with its own
/// mobile, so the limit per number is not reached either) going en route in its next version.
async fn texts_in_turn(clients: &AwsClients, table: &str) -> Event {
    let store = e2e::store(table).await;
    let tenant = TenantId::parse(TENANT).expect("a tenant id");
    e2e::notifications::allow_texts(&store, &tenant).await;
    let mut jobs = Vec::new();
    for n in 0..TEXTED_JOBS {
        let customer = (format!("T{n:04}"), format!("+4670555{n:04}"));
        let customer = (customer.0.as_str(), customer.1.as_str());
        jobs.push(
            e2e::notifications::seed_job(&store, &clients.dynamodb, table, &tenant, customer).await,
        );
    }
    let invocations = 1 + WARM_UP + WARM;
    Event::InTurn(
        (0..invocations)
            .map(|i| jobs[i % TEXTED_JOBS].en_route(i, i / TEXTED_JOBS + 2))
            .collect(),
    )
}

/// The sample event each other event-fed function is measured with, from
/// `functions/<it>/events/`.
const SAMPLES: &[(&str, &str)] = &[
    ("customers-cascade", "customer-deactivated.json"),
    ("technician-notifications", "work-order-created.json"),
];

/// The API gets the `GET`; an event-fed function its sample event, the importer S3's test
/// notification (which it acknowledges and ignores).
fn event_for(root: &Path, function: &FunctionDef, get_customer: &Event) -> Event {
    if !function.http_api_events.is_empty() {
        return get_customer.clone();
    }
    if function.binary == "customers-import" {
        let notification = json!({"Service": "Amazon S3", "Event": "s3:TestEvent",
            "Time": "2026-12-01T10:00:00Z", "Bucket": "imports"});
        return Event::Fixed(json!({"Records": [sqs_record(&notification.to_string())]}));
    }
    let (_, sample) = SAMPLES
        .iter()
        .find(|(binary, _)| *binary == function.binary)
        .unwrap_or_else(|| panic!("{}: no sample event chosen", function.binary));
    let path = root
        .join("functions")
        .join(&function.binary)
        .join("events")
        .join(sample);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Event::Fixed(serde_json::from_str(&text).expect("a JSON event"))
}

fn sqs_record(body: &str) -> Value {
    json!({
        "messageId": "5f2a1f4e-0000-4000-8000-000000000001",
        "receiptHandle": "bench",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764590400000",
            "SenderId": "bench", "ApproximateFirstReceiveTimestamp": "1764590400000"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-north-1:000000000000:bench",
        "awsRegion": "eu-north-1"
    })
}

async fn measure(
    bin_dir: &Path,
    binary: &str,
    env: HashMap<String, String>,
    event: &Event,
    log: &Path,
) -> Figures {
    let path = bin_dir.join(binary);
    let options = HostOptions {
        timeout: Duration::from_secs(30),
        memory_size_mb: 256,
        log_file: Some(log.to_owned()),
    };
    let mut init = Vec::new();
    for _ in 0..STARTS {
        let host = LambdaHost::start_with(&path, binary, env.clone(), 1, options.clone())
            .await
            .expect("the function starts");
        let ready = host
            .wait_ready(Duration::from_secs(60))
            .await
            .expect("the function gets ready");
        init.push(ready[0]);
        drop(host);
        // Let the killed process go before the next one starts.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let host = Arc::new(
        LambdaHost::start_with(&path, binary, env, 1, options)
            .await
            .expect("the function starts"),
    );
    host.wait_ready(Duration::from_secs(60))
        .await
        .expect("the function gets ready");
    let pid = host.pids()[0].expect("a running process");
    let started = Instant::now();
    let cpu_at_start = cpu_ns(pid);
    invoke(&host, event, 0).await;
    let first_invocation_cpu_ns = cpu_ns(pid) - cpu_at_start;
    let first_invocation = started.elapsed();
    for n in 1..=WARM_UP {
        invoke(&host, event, n).await;
    }
    let per_slice = WARM / SLICES;
    let mut slices = Vec::with_capacity(SLICES);
    for slice in 0..SLICES {
        let before = cpu_ns(pid);
        let first = WARM_UP + 1 + slice * per_slice;
        for n in first..first + per_slice {
            invoke(&host, event, n).await;
        }
        slices.push((cpu_ns(pid) - before) as f64 / 1e6 / per_slice as f64);
    }
    slices.sort_by(f64::total_cmp);
    let figures = Figures {
        init,
        first_invocation,
        first_invocation_cpu_ms: first_invocation_cpu_ns as f64 / 1e6,
        cpu_per_invocation_ms: slices[SLICES / 2],
        cpu_per_invocation_range_ms: (slices[0], slices[SLICES - 1]),
        peak_rss_mb: peak_rss_kb(pid) as f64 / 1024.0,
        binary_mb: std::fs::metadata(&path).expect("the binary").len() as f64 / 1e6,
    };
    drop(host);
    figures
}

/// Runs the event (the `n`th invocation's, for events taken in turn) and checks that it
/// succeeded: a 200, or a batch without failures.
async fn invoke(host: &Arc<LambdaHost>, event: &Event, n: usize) {
    let payload = match event {
        Event::Fixed(payload) => payload.clone(),
        Event::InTurn(payloads) => payloads[n % payloads.len()].clone(),
        Event::GetCustomer { path, claims } => api_event(host, path, claims),
    };
    let answer = host.invoke(payload).await.expect("the invocation succeeds");
    let ok = match event {
        Event::GetCustomer { .. } => answer["statusCode"] == 200,
        Event::Fixed(_) | Event::InTurn(_) => answer["batchItemFailures"]
            .as_array()
            .is_none_or(Vec::is_empty),
    };
    assert!(ok, "{}: unexpected answer {answer}", host.function_name());
}

/// The event API Gateway sends for `GET path` by a caller with `claims`.
fn api_event(host: &Arc<LambdaHost>, path: &str, claims: &Value) -> Value {
    let route = Route::new("GET", "/customers/{customerId}", host.clone());
    let routes = [route];
    let matched = gateway::match_route(&routes, "GET", path).expect("the route matches");
    let (parts, ()) = http::Request::get(path)
        .header("host", "bench.execute-api.localhost")
        .header("user-agent", "bench")
        .header("accept", "application/json")
        .body(())
        .expect("a request")
        .into_parts();
    let claims = gateway::flatten_claims(claims.as_object().expect("claims object"));
    let context = EventContext {
        request_id: ulid::Ulid::new().to_string(),
        source_ip: "127.0.0.1".into(),
        time: Utc::now(),
    };
    gateway::build_event(&parts, b"", &matched, &claims, &context)
}

/// How long the process's threads have run so far, in nanoseconds: the first field of each
/// thread's `schedstat`. Not utime + stime of `/proc/<pid>/stat`: those are sampled in ticks
/// of 10 ms, and over 300 invocations of a fraction of a millisecond the samples made the
/// baseline's figure vary fourfold between runs.
fn cpu_ns(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process's threads");
    tasks
        .filter_map(|task| {
            let path = task.ok()?.path().join("schedstat");
            let text = std::fs::read_to_string(path).ok()?;
            text.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// The process's peak resident set (`VmHWM`), in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process's status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in status")
}

fn print_figures(name: &str, figures: &Figures) {
    let (min, max) = figures.init_range_ms();
    println!();
    println!("{name}");
    println!(
        "  init            {:>7.2} ms  (min {min:.2}, max {max:.2})",
        figures.init_median_ms()
    );
    println!(
        "  first call      {:>7.2} ms",
        figures.first_invocation.as_secs_f64() * 1000.0
    );
    println!(
        "  CPU first call  {:>7.2} ms",
        figures.first_invocation_cpu_ms
    );
    let (min, max) = figures.cpu_per_invocation_range_ms;
    println!(
        "  CPU per warm    {:>7.3} ms  (slices {min:.3} to {max:.3})",
        figures.cpu_per_invocation_ms
    );
    println!("  peak RSS        {:>7.1} MB", figures.peak_rss_mb);
    println!("  binary          {:>7.1} MB", figures.binary_mb);
}

fn print_targets(figures: &Figures, baseline: &Figures) {
    let ratio = figures.init_median_ms() / baseline.init_median_ms();
    println!(
        "  -> init          {ratio:>6.2}x hello            target <= {INIT_RATIO_TARGET}x     {}",
        verdict(ratio <= INIT_RATIO_TARGET)
    );
    let above = figures.cpu_per_invocation_ms - baseline.cpu_per_invocation_ms;
    println!(
        "  -> CPU per warm  {above:>+6.3} ms above hello     target <= +{CPU_ABOVE_BASELINE_TARGET_MS} ms  {}",
        verdict(above <= CPU_ABOVE_BASELINE_TARGET_MS)
    );
    println!(
        "  -> binary        {:>6.1} MB (host build)     target <= {BINARY_TARGET_MB} MB     {}",
        figures.binary_mb,
        verdict(figures.binary_mb <= BINARY_TARGET_MB)
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// The deployed arm64 binary's size, or how to get it.
fn print_arm64_size(bootstrap: &Path) {
    match std::fs::metadata(bootstrap) {
        Ok(meta) => {
            let mb = meta.len() as f64 / 1e6;
            println!(
                "  -> binary        {mb:>6.1} MB (arm64, cargo-lambda) target <= {BINARY_TARGET_MB} MB  {}",
                verdict(mb <= BINARY_TARGET_MB)
            );
        }
        Err(_) => println!("  -> binary arm64: not built here (infra/local/bench --arm64)"),
    }
}
