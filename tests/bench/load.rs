//! Load: concurrent virtual users drive the local customers API (creates, retried creates,
//! racing creates, updates, reads, searches) for a bounded time and a bounded number of
//! requests, then every acknowledged write is checked against the API and the table itself.
//! Run with `infra/local/load` (it builds first); `--help` lists the settings.
//!
//! Loopback only: the emulator (`AWS_ENDPOINT_URL`) and the API must be on 127.0.0.1, ::1 or
//! localhost, so this can never be pointed at a deployed stack or real AWS.
//!
//! What counts as an error: a 5xx, a transport failure, or any status the request cannot
//! legitimately get. Refusals the rules promise are acknowledged outcomes, not errors: 409
//! `customer-number-taken` for a number another create holds, 412 `stale-version` for a
//! PATCH that lost a race. The function's own time is read from its log lines
//! (`duration_ms`), not from the client's round trip, which includes the gateway and waits
//! on the single-threaded emulator.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use devhost::{RunningStack, StackOptions};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

const USAGE: &str = "\
bench-load: concurrent creates, updates and reads against the local API, then verification

  --users N         virtual users sending at the same time (default 16)
  --seconds N       stop sending after N seconds (default 180)
  --max-requests N  stop sending after N requests (default 20000)
  --tenants N       organisations the users are spread over (default 3)
  --instances N     function processes serving at the same time (default 4)
  --seed N          seed of the users' random choices (default: from the clock; the
                    interleaving of their requests still varies from run to run)

Needs AWS_ENDPOINT_URL pointing at a local emulator (loopback only).";

/// Longer than the function's own 30 s timeout: a request the client gives up on is one the
/// stack really did not answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// A client retries a create whose answer it never got, with the same Idempotency-Key.
const CREATE_ATTEMPTS: usize = 3;
/// Numbers every user of a tenant may draw, so that creates collide on purpose.
const CONTESTED_NUMBERS: u64 = 100;
/// Updates aim at the newest customers this often (percent), so that PATCHes race.
const HOT_TARGET_PERCENT: u64 = 40;
const HOT_CUSTOMERS: usize = 8;
const LAST_NAMES: &[&str] = &[
    "Berg", "Lund", "Ek", "Holm", "Strand", "Nyberg", "Sjöberg", "Åkesson", "Öberg", "Dahl",
];
const FIRST_NAMES: &[&str] = &["Anna", "Erik", "Maja", "Lars", "Sara", "Nils", "Åsa", "Per"];
/// Name prefixes the searches use: folded, so "sjo" finds "Sjöberg" and "ake" "Åkesson".
const SEARCHES: &[&str] = &[
    "ber", "lun", "ek", "hol", "str", "nyb", "sjo", "ake", "obe", "da",
];
/// The API function's process name (its binary), for its CPU time.
const API_BINARY: &str = "customers-api";
/// How many violations and errors are printed in full.
const SHOWN: usize = 25;

// ---------------------------------------------------------------------------------------
// Settings and the loopback rule

#[derive(Debug, Clone)]
struct Settings {
    users: usize,
    seconds: u64,
    max_requests: u64,
    tenants: usize,
    instances: usize,
    seed: u64,
}

impl Settings {
    fn from_args(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut settings = Settings {
            users: 16,
            seconds: 180,
            max_requests: 20_000,
            tenants: 3,
            instances: 4,
            seed: clock_seed(),
        };
        let mut args = args;
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))?;
            let number: u64 = value
                .parse()
                .map_err(|_| format!("{flag}: {value:?} is not a whole number"))?;
            if number == 0 && flag != "--seed" {
                return Err(format!("{flag} must be at least 1"));
            }
            match flag.as_str() {
                "--users" => settings.users = number as usize,
                "--seconds" => settings.seconds = number,
                "--max-requests" => settings.max_requests = number,
                "--tenants" => settings.tenants = number as usize,
                "--instances" => settings.instances = number as usize,
                "--seed" => settings.seed = number,
                _ => return Err(format!("unknown argument {flag}\n\n{USAGE}")),
            }
        }
        Ok(settings)
    }
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}

/// Refuses any URL whose host is not the loopback interface.
fn require_loopback(what: &str, url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("{what} {url:?} is not a URL: {e}"))?;
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = matches!(host, "127.0.0.1" | "::1") || host.eq_ignore_ascii_case("localhost");
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "{what} {url:?} is not on loopback (127.0.0.1, ::1, localhost): the load script \
             runs against the local stack only"
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Random choices: a small SplitMix64, so a run can be repeated with its --seed

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------
// The HTTP client and what each request kind saw

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Create,
    CreateRetry,
    Get,
    UpdateRead,
    Update,
    Search,
    List,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Create => "create",
            Kind::CreateRetry => "create retry (same key)",
            Kind::Get => "get by id",
            Kind::UpdateRead => "update: get for ETag",
            Kind::Update => "update: patch",
            Kind::Search => "search (q=, pages)",
            Kind::List => "list (sort=created)",
        }
    }
}

struct Answer {
    status: u16,
    etag: Option<String>,
    replayed: bool,
    body: Value,
}

impl Answer {
    fn problem_type(&self) -> &str {
        self.body["type"].as_str().unwrap_or_default()
    }

    fn id(&self) -> Option<&str> {
        self.body["id"].as_str()
    }
}

#[derive(Clone)]
struct Api {
    base: String,
    http: HttpClient<HttpConnector, Full<Bytes>>,
}

impl Api {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: HttpClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Answer, String> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {token}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("request: {e}"))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let etag = header("etag");
            let replayed = header("idempotent-replayed").as_deref() == Some("true");
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            let body = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
            Ok(Answer {
                status,
                etag,
                replayed,
                body,
            })
        };
        tokio::time::timeout(CLIENT_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no answer within {} s", CLIENT_TIMEOUT.as_secs()))?
    }
}

/// A request's result and its round trip.
type Timed = (Result<Answer, String>, Duration);

async fn timed(request: impl Future<Output = Result<Answer, String>>) -> Timed {
    let started = Instant::now();
    let result = request.await;
    (result, started.elapsed())
}

/// Statuses, transport failures and round trips of one request kind.
#[derive(Default, Clone)]
struct KindTally {
    statuses: BTreeMap<u16, u64>,
    transport_errors: u64,
    round_trips_ms: Vec<f64>,
}

impl KindTally {
    fn requests(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.transport_errors
    }

    fn merge(&mut self, other: KindTally) {
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        self.transport_errors += other.transport_errors;
        self.round_trips_ms.extend(other.round_trips_ms);
    }
}

type Tally = BTreeMap<Kind, KindTally>;

// ---------------------------------------------------------------------------------------
// The ledger: every acknowledged write, as the clients saw it

struct AckedCustomer {
    tenant: usize,
    number: String,
    /// The description it was created with; patches replace it.
    description: String,
    /// (new version from the ETag, description written) of every 200 PATCH.
    patches: Vec<(u64, String)>,
}

impl AckedCustomer {
    /// The description the last acknowledged patch wrote (or the one it was created with).
    fn expected_description(&self) -> &str {
        self.patches
            .iter()
            .max_by_key(|(version, _)| *version)
            .map_or(self.description.as_str(), |(_, d)| d.as_str())
    }
}

/// A create whose every attempt went unanswered: it may or may not exist.
struct LostCreate {
    tenant: usize,
    number: String,
}

#[derive(Default)]
struct Ledger {
    customers: HashMap<String, AckedCustomer>,
    /// Ids per tenant in acknowledgement order: what users pick targets from.
    by_tenant: Vec<Vec<String>>,
    /// (tenant, number) of every 409 `customer-number-taken`: some customer must hold it.
    refused_numbers: Vec<(usize, String)>,
    lost_creates: Vec<LostCreate>,
    /// Customers with a PATCH whose answer never came: their version cannot be checked exactly.
    uncertain: HashSet<String>,
}

/// Shared by all users: the API, the bounds, the ledger and the problems found.
struct Run {
    api: Api,
    tenants: Vec<String>,
    deadline: Instant,
    max_requests: u64,
    issued: AtomicU64,
    answered: AtomicU64,
    ledger: Mutex<Ledger>,
    /// Unexpected statuses, 5xx and transport failures.
    errors: Mutex<Vec<String>>,
    /// Answers that break a promise of the API (a duplicate, a lost write, a wrong replay).
    violations: Mutex<Vec<String>>,
}

impl Run {
    /// Takes `n` requests from the budget; false once time or the request count is used up.
    fn take(&self, n: u64) -> bool {
        Instant::now() < self.deadline
            && self.issued.fetch_add(n, Ordering::Relaxed) + n <= self.max_requests
    }

    fn error(&self, message: String) {
        self.errors.lock().expect("errors lock").push(message);
    }

    fn violation(&self, message: String) {
        self.violations
            .lock()
            .expect("violations lock")
            .push(message);
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().expect("ledger lock")
    }
}

// ---------------------------------------------------------------------------------------
// Virtual users

struct User {
    index: usize,
    tenant: usize,
    token: String,
    rng: Rng,
    /// Creates this user made: e-mails and keys are derived from it, so never repeat.
    creates: u64,
    /// Fresh numbers this user drew.
    numbers: u64,
    patches: u64,
    tally: Tally,
    run: Arc<Run>,
}

/// A create as sent: the same bytes and key go out again on a retry.
struct CreateRequest {
    number: String,
    description: String,
    key: String,
    body: Bytes,
}

impl User {
    /// Actions until the budget or the time is used up. The mix, in percent: creates 22
    /// (a quarter of them of a contested number), create and retry 8, the same create twice
    /// at once 4, two creates racing for a number 4, updates 25, reads by id 20, searches 12,
    /// lists 5. Until its tenant has a customer, a user only creates.
    async fn drive(mut self) -> Tally {
        loop {
            let roll = self.rng.below(100);
            let has_customers = !self.run.ledger().by_tenant[self.tenant].is_empty();
            let done = match roll {
                _ if !has_customers => self.create().await,
                0..22 => self.create().await,
                22..30 => self.create_and_retry().await,
                30..34 => self.create_twice_at_once().await,
                34..38 => self.create_race().await,
                38..63 => self.update().await,
                63..83 => self.get().await,
                83..95 => self.search().await,
                _ => self.list().await,
            };
            if !done {
                return self.tally;
            }
        }
    }

    /// Sends one request and tallies it; `None` for a transport failure (already reported).
    async fn send(
        &mut self,
        kind: Kind,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Option<Answer> {
        let sent = timed(
            self.run
                .api
                .send(method.clone(), path, &self.token, headers, body),
        );
        let outcome = sent.await;
        self.record(kind, &format!("{method} {path}"), outcome)
    }

    /// Tallies a request's outcome and reports 5xx and transport failures; `None` for the
    /// latter.
    fn record(&mut self, kind: Kind, request: &str, outcome: Timed) -> Option<Answer> {
        let (result, elapsed) = outcome;
        let tally = self.tally.entry(kind).or_default();
        tally.round_trips_ms.push(elapsed.as_secs_f64() * 1000.0);
        self.run.answered.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(answer) => {
                *tally.statuses.entry(answer.status).or_default() += 1;
                if answer.status >= 500 {
                    self.run.error(format!(
                        "{} {request}: {} {}",
                        kind.label(),
                        answer.status,
                        answer.body
                    ));
                }
                Some(answer)
            }
            Err(cause) => {
                tally.transport_errors += 1;
                self.run
                    .error(format!("{} {request}: transport: {cause}", kind.label()));
                None
            }
        }
    }

    /// A status the request may not get (5xx are reported by `send` already).
    fn unexpected(&self, kind: Kind, path: &str, answer: &Answer) {
        if answer.status < 500 {
            self.run.error(format!(
                "{} {path}: unexpected {} {}",
                kind.label(),
                answer.status,
                answer.body
            ));
        }
    }

    fn new_create(&mut self, number: String) -> CreateRequest {
        self.creates += 1;
        let tenant = &self.run.tenants[self.tenant];
        let description = format!("created by u{} #{}", self.index, self.creates);
        // Unique e-mail per attempt: colliding numbers must meet the number guard, not the
        // possible-duplicate check (which would refuse them first, by e-mail).
        let body = json!({
            "customerNumber": number,
            "firstName": self.rng.pick(FIRST_NAMES),
            "lastName": self.rng.pick(LAST_NAMES),
            "email": format!("u{}.c{}@{tenant}.load.example.com", self.index, self.creates),
            "language": "sv",
            "description": description,
        });
        CreateRequest {
            number,
            description,
            key: format!("load-u{}-c{}-{}", self.index, self.creates, self.rng.next()),
            body: Bytes::from(serde_json::to_vec(&body).expect("JSON serialises")),
        }
    }

    /// A number no other create uses.
    fn fresh_number(&mut self) -> String {
        self.numbers += 1;
        format!("L{:02}-{:06}", self.index, self.numbers)
    }

    /// One of a small set every user of the tenant draws from.
    fn contested_number(&mut self) -> String {
        format!("HOT-{:03}", self.rng.below(CONTESTED_NUMBERS))
    }

    async fn post_create(&mut self, kind: Kind, create: &CreateRequest) -> Option<Answer> {
        let headers = [
            ("content-type", "application/json"),
            ("idempotency-key", create.key.as_str()),
        ];
        self.send(
            kind,
            Method::POST,
            "/customers",
            &headers,
            create.body.clone(),
        )
        .await
    }

    /// Posts until an answer comes (a client retrying after a timeout, same key and bytes).
    async fn post_until_answered(&mut self, create: &CreateRequest) -> Option<Answer> {
        for attempt in 0..CREATE_ATTEMPTS {
            let kind = if attempt == 0 {
                Kind::Create
            } else {
                Kind::CreateRetry
            };
            if attempt > 0 && !self.run.take(1) {
                break;
            }
            if let Some(answer) = self.post_create(kind, create).await {
                return Some(answer);
            }
        }
        self.run.ledger().lost_creates.push(LostCreate {
            tenant: self.tenant,
            number: create.number.clone(),
        });
        None
    }

    /// Records the create's outcome; the new id when it was created.
    fn settle(&self, create: &CreateRequest, answer: &Answer) -> Option<String> {
        match (answer.status, answer.problem_type()) {
            (201, _) => {
                let Some(id) = answer.id().map(str::to_owned) else {
                    self.run
                        .violation(format!("201 create without an id: {}", answer.body));
                    return None;
                };
                if answer.etag.as_deref() != Some("\"1\"") {
                    self.run.violation(format!(
                        "create of {id} answered ETag {:?}, not \"1\"",
                        answer.etag
                    ));
                }
                let mut ledger = self.run.ledger();
                ledger.customers.insert(
                    id.clone(),
                    AckedCustomer {
                        tenant: self.tenant,
                        number: create.number.clone(),
                        description: create.description.clone(),
                        patches: Vec::new(),
                    },
                );
                ledger.by_tenant[self.tenant].push(id.clone());
                Some(id)
            }
            (409, "/problems/customer-number-taken") => {
                self.run
                    .ledger()
                    .refused_numbers
                    .push((self.tenant, create.number.clone()));
                None
            }
            _ => {
                self.unexpected(Kind::Create, "/customers", answer);
                None
            }
        }
    }

    /// A create, now and then of a number other users draw too.
    async fn create(&mut self) -> bool {
        if !self.run.take(1) {
            return false;
        }
        let number = if self.rng.below(100) < 25 {
            self.contested_number()
        } else {
            self.fresh_number()
        };
        let create = self.new_create(number);
        if let Some(answer) = self.post_until_answered(&create).await {
            self.settle(&create, &answer);
        }
        true
    }

    /// A create, then the same request again as if its answer had been lost: the second
    /// must replay the first (201, `Idempotent-Replayed`, the same customer).
    async fn create_and_retry(&mut self) -> bool {
        if !self.run.take(2) {
            return false;
        }
        let number = self.fresh_number();
        let create = self.new_create(number);
        let Some(first) = self.post_until_answered(&create).await else {
            return true;
        };
        let Some(id) = self.settle(&create, &first) else {
            return true;
        };
        let Some(again) = self.post_create(Kind::CreateRetry, &create).await else {
            return true;
        };
        if again.status != 201 || !again.replayed || again.id() != Some(id.as_str()) {
            self.run.violation(format!(
                "retry of the create of {id} (key {}) answered {} replayed={} id={:?}: {}",
                create.key,
                again.status,
                again.replayed,
                again.id(),
                again.body
            ));
        }
        true
    }

    /// The same create sent twice at once (a client that retried too early): one customer,
    /// both answers 201 with its id, exactly one of them not a replay.
    async fn create_twice_at_once(&mut self) -> bool {
        if !self.run.take(2) {
            return false;
        }
        let number = self.fresh_number();
        let create = self.new_create(number);
        let (api, token) = (self.run.api.clone(), self.token.clone());
        let headers = [
            ("content-type", "application/json"),
            ("idempotency-key", create.key.as_str()),
        ];
        let twin = timed(api.send(
            Method::POST,
            "/customers",
            &token,
            &headers,
            create.body.clone(),
        ));
        let (first, second) = tokio::join!(self.post_create(Kind::Create, &create), twin);
        let second = self.record(Kind::CreateRetry, "POST /customers (twin)", second);
        let (Some(first), Some(second)) = (first, second) else {
            return true;
        };
        let Some(id) = self.settle(&create, &first) else {
            self.run.violation(format!(
                "a create sent twice at once (key {}) answered {} and {}: {} / {}",
                create.key, first.status, second.status, first.body, second.body
            ));
            return true;
        };
        let replays = [first.replayed, second.replayed];
        if second.status != 201
            || second.id() != Some(id.as_str())
            || replays.iter().filter(|r| **r).count() != 1
        {
            self.run.violation(format!(
                "a create sent twice at once (key {}): first 201 {id} replayed={}, second {} \
                 {:?} replayed={}: {}",
                create.key,
                first.replayed,
                second.status,
                second.id(),
                second.replayed,
                second.body
            ));
        }
        true
    }

    /// Two different customers claiming one new number at the same moment: exactly one wins.
    async fn create_race(&mut self) -> bool {
        if !self.run.take(2) {
            return false;
        }
        let number = self.fresh_number();
        let left = self.new_create(number.clone());
        let right = self.new_create(number.clone());
        let (api, token) = (self.run.api.clone(), self.token.clone());
        let headers = [
            ("content-type", "application/json"),
            ("idempotency-key", right.key.as_str()),
        ];
        let rival = timed(api.send(
            Method::POST,
            "/customers",
            &token,
            &headers,
            right.body.clone(),
        ));
        let (mine, theirs) = tokio::join!(self.post_create(Kind::Create, &left), rival);
        let theirs = self.record(Kind::Create, "POST /customers (rival)", theirs);
        // A pair with an unanswered request proves nothing; the table check still covers it.
        let (Some(mine), Some(theirs)) = (mine, theirs) else {
            return true;
        };
        let won = [(&left, mine), (&right, theirs)]
            .into_iter()
            .filter_map(|(create, answer)| self.settle(create, &answer))
            .count();
        if won != 1 {
            self.run.violation(format!(
                "two creates racing for number {number} made {won} customers (tenant {})",
                self.run.tenants[self.tenant]
            ));
        }
        true
    }

    /// A customer of this user's tenant, often one of the newest (so updates race).
    fn target(&mut self) -> Option<String> {
        let roll = self.rng.below(100);
        let ledger = self.run.ledger();
        let ids = &ledger.by_tenant[self.tenant];
        if ids.is_empty() {
            return None;
        }
        let index = if roll < HOT_TARGET_PERCENT {
            let hot = ids.len().min(HOT_CUSTOMERS);
            ids.len() - 1 - self.rng.below(hot as u64) as usize
        } else {
            self.rng.below(ids.len() as u64) as usize
        };
        Some(ids[index].clone())
    }

    /// GET for the ETag, then a merge patch with If-Match; 412 on a lost race is expected.
    async fn update(&mut self) -> bool {
        if !self.run.take(2) {
            return false;
        }
        let Some(id) = self.target() else { return true };
        let path = format!("/customers/{id}");
        let Some(read) = self
            .send(Kind::UpdateRead, Method::GET, &path, &[], Bytes::new())
            .await
        else {
            return true;
        };
        let Some(etag) = read.etag.clone().filter(|_| read.status == 200) else {
            self.report_read(Kind::UpdateRead, &id, &path, &read);
            return true;
        };
        self.patches += 1;
        let description = format!("patched by u{} #{}", self.index, self.patches);
        let body = serde_json::to_vec(&json!({ "description": description })).expect("JSON");
        let headers = [
            ("content-type", "application/merge-patch+json"),
            ("if-match", etag.as_str()),
        ];
        let answer = self
            .send(
                Kind::Update,
                Method::PATCH,
                &path,
                &headers,
                Bytes::from(body),
            )
            .await;
        match answer {
            None => {
                self.run.ledger().uncertain.insert(id);
            }
            Some(a) if a.status == 200 => self.acknowledge_patch(&id, &etag, description, &a),
            Some(a) if a.status == 412 && a.problem_type() == "/problems/stale-version" => {}
            Some(a) => self.unexpected(Kind::Update, &path, &a),
        }
        true
    }

    fn acknowledge_patch(&self, id: &str, sent_etag: &str, description: String, answer: &Answer) {
        let version = answer
            .etag
            .as_deref()
            .and_then(|e| e.trim_matches('"').parse::<u64>().ok());
        let before = sent_etag.trim_matches('"').parse::<u64>().ok();
        let Some(version) = version.filter(|v| v.checked_sub(1) == before) else {
            self.run.violation(format!(
                "PATCH of {id} with If-Match {sent_etag} answered ETag {:?}",
                answer.etag
            ));
            return;
        };
        if answer.body["description"] != description.as_str() {
            self.run.violation(format!(
                "PATCH of {id} answered description {} instead of {description:?}",
                answer.body["description"]
            ));
        }
        if let Some(customer) = self.run.ledger().customers.get_mut(id) {
            customer.patches.push((version, description));
        }
    }

    /// An acknowledged customer that does not read back is a lost write, not an error.
    fn report_read(&self, kind: Kind, id: &str, path: &str, answer: &Answer) {
        if answer.status == 404 {
            self.run.violation(format!(
                "{}: acknowledged customer {id} answered 404",
                kind.label()
            ));
        } else {
            self.unexpected(kind, path, answer);
        }
    }

    async fn get(&mut self) -> bool {
        if !self.run.take(1) {
            return false;
        }
        let Some(id) = self.target() else { return true };
        let path = format!("/customers/{id}");
        if let Some(answer) = self
            .send(Kind::Get, Method::GET, &path, &[], Bytes::new())
            .await
        {
            if answer.status != 200 {
                self.report_read(Kind::Get, &id, &path, &answer);
            } else if answer.id() != Some(id.as_str()) {
                self.run
                    .violation(format!("GET {path} answered customer {:?}", answer.id()));
            }
        }
        true
    }

    /// A name search, following `nextCursor` for a second page when there is one.
    async fn search(&mut self) -> bool {
        let q = *self.rng.pick(SEARCHES);
        let mut path = format!("/customers?q={q}&limit=20");
        for _page in 0..2 {
            if !self.run.take(1) {
                return false;
            }
            let Some(next) = self.list_page(Kind::Search, &path).await else {
                break;
            };
            path = format!("/customers?q={q}&limit=20&cursor={next}");
        }
        true
    }

    async fn list(&mut self) -> bool {
        if !self.run.take(1) {
            return false;
        }
        self.list_page(Kind::List, "/customers?sort=created&limit=50")
            .await;
        true
    }

    /// One list page; checks that it shows no other tenant's customer. The next cursor, if any.
    async fn list_page(&mut self, kind: Kind, path: &str) -> Option<String> {
        let answer = self
            .send(kind, Method::GET, path, &[], Bytes::new())
            .await?;
        if answer.status != 200 {
            self.unexpected(kind, path, &answer);
            return None;
        }
        let items = answer.body["items"].as_array().cloned().unwrap_or_default();
        let ledger = self.run.ledger();
        for item in &items {
            let id = item["id"].as_str().unwrap_or_default();
            if let Some(owner) = ledger.customers.get(id).filter(|c| c.tenant != self.tenant) {
                self.run.violation(format!(
                    "tenant {} listed customer {id} of tenant {}",
                    self.run.tenants[self.tenant], self.run.tenants[owner.tenant]
                ));
            }
        }
        answer.body["nextCursor"].as_str().map(url_encode)
    }
}

/// Percent-encodes everything but unreserved characters (cursors are base64 with `=`, `+`).
fn url_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Verification: the table as it is, and the API, against the ledger

/// What the table holds, read with a full Scan.
#[derive(Default)]
struct TableContents {
    scan_requests: u64,
    items: u64,
    /// id -> (tenant, number, version, description) of every Customer item; a Vec so that an
    /// id stored twice shows up.
    customers: HashMap<String, Vec<StoredCustomer>>,
    /// (tenant, NUMBER) -> customer ids of the number guards.
    guards: HashMap<(String, String), Vec<String>>,
    history: HashMap<String, u64>,
    idempotency_records: HashMap<String, u64>,
}

struct StoredCustomer {
    tenant: String,
    number: String,
    version: u64,
    description: String,
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The tenant of a partition key `T#<tenant>#...`.
fn tenant_of(pk: &str) -> String {
    pk.strip_prefix("T#")
        .and_then(|rest| rest.split_once('#'))
        .map(|(tenant, _)| tenant.to_owned())
        .unwrap_or_default()
}

impl TableContents {
    async fn scan(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> Result<Self, String> {
        let mut contents = TableContents::default();
        let mut start = None;
        loop {
            let page = dynamodb
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| format!("Scan: {e:?}"))?;
            contents.scan_requests += 1;
            for item in page.items() {
                contents.add(item);
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(contents);
            }
        }
    }

    fn add(&mut self, item: &HashMap<String, AttributeValue>) {
        self.items += 1;
        let pk = text(item, "PK");
        match text(item, "entity").as_str() {
            "Customer" => {
                self.customers
                    .entry(text(item, "id"))
                    .or_default()
                    .push(StoredCustomer {
                        tenant: tenant_of(&pk),
                        number: text(item, "customerNumber"),
                        version: number(item, "version"),
                        description: text(item, "description"),
                    })
            }
            "CustomerNumber" => {
                let guarded = pk.split_once("#CUSTNO#").map(|(_, n)| n.to_owned());
                self.guards
                    .entry((tenant_of(&pk), guarded.unwrap_or_default()))
                    .or_default()
                    .push(text(item, "customerId"));
            }
            "CustomerHistory" => {
                let id = store::keys::parse_customer_partition(&pk).map(|(_, id)| id.0);
                *self.history.entry(id.unwrap_or_default()).or_default() += 1;
            }
            "IdempotencyRecord" => {
                *self.idempotency_records.entry(tenant_of(&pk)).or_default() += 1;
            }
            _ => {}
        }
    }
}

/// Every check of the table against the ledger; the violations found.
fn verify_table(ledger: &Ledger, tenants: &[String], table: &TableContents) -> Vec<String> {
    let mut found = Vec::new();
    for (id, acked) in &ledger.customers {
        let tenant = &tenants[acked.tenant];
        let stored = table
            .customers
            .get(id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let [stored] = stored else {
            found.push(format!(
                "customer {id} is stored {} times, not once",
                stored.len()
            ));
            continue;
        };
        if &stored.tenant != tenant || stored.number != acked.number {
            found.push(format!(
                "customer {id}: stored as {}/{}, acknowledged as {tenant}/{}",
                stored.tenant, stored.number, acked.number
            ));
        }
        found.extend(verify_versions(id, acked, stored, ledger));
        let history = table.history.get(id).copied().unwrap_or(0);
        if history != stored.version {
            found.push(format!(
                "customer {id}: {history} history entries for version {}",
                stored.version
            ));
        }
        let guard = (tenant.clone(), acked.number.to_uppercase());
        if table.guards.get(&guard).map(Vec::as_slice) != Some(std::slice::from_ref(id)) {
            found.push(format!(
                "customer {id}: number guard {}/{} holds {:?}",
                guard.0,
                guard.1,
                table.guards.get(&guard)
            ));
        }
    }
    found.extend(unacknowledged(ledger, tenants, table));
    found.extend(unique_numbers(table));
    found.extend(justified_refusals(ledger, tenants, table));
    found.extend(idempotency_records(ledger, tenants, table));
    found
}

/// Version = 1 + acknowledged patches, each patch a distinct next version, the last one's
/// value stored.
fn verify_versions(
    id: &str,
    acked: &AckedCustomer,
    stored: &StoredCustomer,
    ledger: &Ledger,
) -> Vec<String> {
    if ledger.uncertain.contains(id) {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut versions: Vec<u64> = acked.patches.iter().map(|(v, _)| *v).collect();
    versions.sort_unstable();
    let expected: Vec<u64> = (2..=acked.patches.len() as u64 + 1).collect();
    if versions != expected {
        found.push(format!(
            "customer {id}: acknowledged patch versions {versions:?}, expected {expected:?}"
        ));
    }
    if stored.version != acked.patches.len() as u64 + 1 {
        found.push(format!(
            "customer {id}: version {} after {} acknowledged patches",
            stored.version,
            acked.patches.len()
        ));
    }
    if stored.description != acked.expected_description() {
        found.push(format!(
            "customer {id}: stored description {:?}, last acknowledged {:?}",
            stored.description,
            acked.expected_description()
        ));
    }
    found
}

/// Customers in the table that no client was told about; those matching a create whose
/// answer was lost are reported as such.
fn unacknowledged(ledger: &Ledger, tenants: &[String], table: &TableContents) -> Vec<String> {
    let mut found = Vec::new();
    for (id, stored) in &table.customers {
        if ledger.customers.contains_key(id) {
            continue;
        }
        for customer in stored {
            let lost = ledger
                .lost_creates
                .iter()
                .any(|l| tenants[l.tenant] == customer.tenant && l.number == customer.number);
            let why = if lost {
                "created by a request whose answer was lost"
            } else {
                "never acknowledged"
            };
            found.push(format!(
                "customer {id} ({}/{}) is stored but {why}",
                customer.tenant, customer.number
            ));
        }
    }
    found
}

/// One customer per number per tenant, among the cards and among the guards, and no guard
/// without its customer.
fn unique_numbers(table: &TableContents) -> Vec<String> {
    let mut found = Vec::new();
    let mut holders: HashMap<(String, String), Vec<&str>> = HashMap::new();
    for (id, stored) in &table.customers {
        for customer in stored {
            holders
                .entry((customer.tenant.clone(), customer.number.to_uppercase()))
                .or_default()
                .push(id);
        }
    }
    for ((tenant, number), ids) in &holders {
        if ids.len() > 1 {
            found.push(format!("number {tenant}/{number} is held by {ids:?}"));
        }
    }
    for ((tenant, number), ids) in &table.guards {
        let owner = holders.get(&(tenant.clone(), number.clone()));
        let one_owner = matches!((ids.as_slice(), owner.map(Vec::as_slice)),
            ([guarded], Some([holder])) if guarded == holder);
        if !one_owner {
            found.push(format!(
                "guard {tenant}/{number} names {ids:?}, the cards holding it are {owner:?}"
            ));
        }
    }
    found
}

/// Every 409 `customer-number-taken` names a number some stored customer really holds.
fn justified_refusals(ledger: &Ledger, tenants: &[String], table: &TableContents) -> Vec<String> {
    let held: HashSet<(String, String)> = table
        .customers
        .values()
        .flatten()
        .map(|c| (c.tenant.clone(), c.number.to_uppercase()))
        .collect();
    ledger
        .refused_numbers
        .iter()
        .filter(|(t, n)| !held.contains(&(tenants[*t].clone(), n.to_uppercase())))
        .map(|(t, n)| {
            format!(
                "number {}/{n} was refused as taken but nobody holds it",
                tenants[*t]
            )
        })
        .collect()
}

/// Every create carries an Idempotency-Key, so each tenant has one record per customer.
fn idempotency_records(ledger: &Ledger, tenants: &[String], table: &TableContents) -> Vec<String> {
    let mut found = Vec::new();
    for (index, tenant) in tenants.iter().enumerate() {
        let acked = ledger.by_tenant[index].len() as u64;
        let lost = ledger
            .lost_creates
            .iter()
            .filter(|l| l.tenant == index)
            .count() as u64;
        let records = table.idempotency_records.get(tenant).copied().unwrap_or(0);
        if records < acked || records > acked + lost {
            found.push(format!(
                "tenant {tenant}: {records} idempotency records for {acked} created customers"
            ));
        }
    }
    found
}

/// What the API shows after the run: each tenant's whole list (every acknowledged customer
/// once, at its last version, nobody else) and the lookup by number of every customer.
struct ApiCheck {
    requests: u64,
    violations: Vec<String>,
}

async fn verify_api(run: &Run, tokens: &[String], users: usize) -> ApiCheck {
    let mut check = ApiCheck {
        requests: 0,
        violations: Vec::new(),
    };
    let mut lists = Vec::new();
    for token in tokens {
        lists.push(list_everything(&run.api, token, &mut check).await);
    }
    let lookups: Vec<(String, String, String)> = {
        let ledger = run.ledger();
        for (tenant, listed) in lists.iter().enumerate() {
            check
                .violations
                .extend(compare_list(&ledger, &run.tenants, tenant, listed));
        }
        ledger
            .customers
            .iter()
            .map(|(id, c)| (tokens[c.tenant].clone(), c.number.clone(), id.clone()))
            .collect()
    };
    let (requests, violations) = lookup_numbers(&run.api, lookups, users).await;
    check.requests += requests;
    check.violations.extend(violations);
    check
}

/// A tenant's whole list against the ledger: each of its customers once, at its last
/// acknowledged version and value, and no one else's.
fn compare_list(
    ledger: &Ledger,
    tenants: &[String],
    tenant: usize,
    listed: &[Value],
) -> Vec<String> {
    let mut found = Vec::new();
    let mut seen: HashMap<&str, u64> = HashMap::new();
    for item in listed {
        *seen
            .entry(item["id"].as_str().unwrap_or_default())
            .or_default() += 1;
    }
    for (id, count) in &seen {
        match ledger.customers.get(*id) {
            Some(c) if c.tenant == tenant && *count == 1 => {}
            _ => found.push(format!(
                "the list of {} shows {id} {count} times",
                tenants[tenant]
            )),
        }
    }
    for item in listed {
        let id = item["id"].as_str().unwrap_or_default();
        let Some(acked) = ledger.customers.get(id) else {
            continue;
        };
        let version = item["version"].as_u64().unwrap_or(0);
        if !ledger.uncertain.contains(id)
            && (version != acked.patches.len() as u64 + 1
                || item["description"] != acked.expected_description())
        {
            found.push(format!(
                "the list shows {id} at version {version} with {}, acknowledged {} patches, \
                 last {:?}",
                item["description"],
                acked.patches.len(),
                acked.expected_description()
            ));
        }
    }
    for id in &ledger.by_tenant[tenant] {
        if !seen.contains_key(id.as_str()) {
            found.push(format!("the list of {} misses {id}", tenants[tenant]));
        }
    }
    found
}

async fn list_everything(api: &Api, token: &str, check: &mut ApiCheck) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = "/customers?sort=created&limit=100".to_owned();
    loop {
        check.requests += 1;
        let answer = match api.send(Method::GET, &path, token, &[], Bytes::new()).await {
            Ok(answer) if answer.status == 200 => answer,
            Ok(answer) => {
                check
                    .violations
                    .push(format!("GET {path}: {} {}", answer.status, answer.body));
                return items;
            }
            Err(cause) => {
                check.violations.push(format!("GET {path}: {cause}"));
                return items;
            }
        };
        items.extend(answer.body["items"].as_array().cloned().unwrap_or_default());
        match answer.body["nextCursor"].as_str() {
            Some(cursor) => {
                path = format!(
                    "/customers?sort=created&limit=100&cursor={}",
                    url_encode(cursor)
                )
            }
            None => return items,
        }
    }
}

/// `GET /customers?number=` of every acknowledged customer, `workers` at a time: exactly
/// that customer.
async fn lookup_numbers(
    api: &Api,
    lookups: Vec<(String, String, String)>,
    workers: usize,
) -> (u64, Vec<String>) {
    let queue = Arc::new(Mutex::new(lookups));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (api, queue) = (api.clone(), queue.clone());
        tasks.spawn(async move {
            let (mut requests, mut found) = (0u64, Vec::new());
            loop {
                let next = queue.lock().expect("queue lock").pop();
                let Some((token, number, id)) = next else {
                    return (requests, found);
                };
                requests += 1;
                let path = format!("/customers?number={}", url_encode(&number));
                let answer = api
                    .send(Method::GET, &path, &token, &[], Bytes::new())
                    .await;
                let ids: Option<Vec<String>> = answer.as_ref().ok().map(|a| {
                    a.body["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|i| i["id"].as_str().map(str::to_owned))
                        .collect()
                });
                if ids.as_deref() != Some(std::slice::from_ref(&id)) {
                    found.push(format!("GET {path} found {ids:?}, expected [{id}]"));
                }
            }
        });
    }
    let (mut requests, mut found) = (0, Vec::new());
    while let Some(done) = tasks.join_next().await {
        let (r, f) = done.expect("a lookup worker does not panic");
        requests += r;
        found.extend(f);
    }
    (requests, found)
}

// ---------------------------------------------------------------------------------------
// The function's own time, from its log lines

#[derive(Default)]
struct RouteTimes {
    durations_ms: Vec<f64>,
    cold_starts: u64,
    server_errors: u64,
}

/// The API's request lines (`"message":"request"` with a `route`) in `log`, by route.
fn function_times(log: &str) -> BTreeMap<String, RouteTimes> {
    let mut routes: BTreeMap<String, RouteTimes> = BTreeMap::new();
    for line in log.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let fields = &entry["fields"];
        let (Some(route), Some(duration)) =
            (fields["route"].as_str(), fields["duration_ms"].as_f64())
        else {
            continue;
        };
        if fields["message"] != "request" {
            continue;
        }
        let times = routes.entry(route.to_owned()).or_default();
        times.durations_ms.push(duration);
        times.cold_starts += u64::from(fields["cold_start"] == true);
        times.server_errors += u64::from(fields["status"].as_u64().unwrap_or(0) >= 500);
    }
    routes
}

/// User plus system CPU time of this process's children called `name` (the function
/// processes devhost started) and how many there are, from /proc (Linux, ticks of 10 ms).
/// Unlike `duration_ms` it leaves out the waits on the emulator: it is our code's own work.
fn children_cpu(name: &str) -> (Duration, usize) {
    let me = std::process::id().to_string();
    let (mut ticks, mut processes) = (0u64, 0usize);
    let entries = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    for entry in entries {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = head.split_once(" (").map_or("", |(_, c)| c);
        // After the command name: state, ppid, ..., utime (11th), stime (12th).
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if comm != name || fields.get(1) != Some(&me.as_str()) {
            continue;
        }
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        ticks += field(11) + field(12);
        processes += 1;
    }
    (Duration::from_millis(ticks * 10), processes)
}

// ---------------------------------------------------------------------------------------
// Figures

/// Nearest-rank percentile of `values` (sorted here); 0 for none.
fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn print_client_figures(tally: &mut Tally, elapsed: Duration) -> u64 {
    let total: u64 = tally.values().map(KindTally::requests).sum();
    println!(
        "\nrequests: {total} in {:.1} s, {:.1} requests/s (client side, all kinds)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    println!(
        "{:<26} {:>8}  {:<28} {:>8} {:>8} {:>8}",
        "kind", "requests", "statuses", "p50 ms", "p95 ms", "p99 ms"
    );
    let mut all = Vec::new();
    for (kind, t) in tally.iter_mut() {
        let mut statuses: Vec<String> =
            t.statuses.iter().map(|(s, n)| format!("{s}:{n}")).collect();
        if t.transport_errors > 0 {
            statuses.push(format!("transport:{}", t.transport_errors));
        }
        all.extend_from_slice(&t.round_trips_ms);
        println!(
            "{:<26} {:>8}  {:<28} {:>8.1} {:>8.1} {:>8.1}",
            kind.label(),
            t.requests(),
            statuses.join(" "),
            percentile(&mut t.round_trips_ms, 50.0),
            percentile(&mut t.round_trips_ms, 95.0),
            percentile(&mut t.round_trips_ms, 99.0),
        );
    }
    println!(
        "{:<26} {:>8}  {:<28} {:>8.1} {:>8.1} {:>8.1}",
        "all (round trip)",
        total,
        "",
        percentile(&mut all, 50.0),
        percentile(&mut all, 95.0),
        percentile(&mut all, 99.0),
    );
    total
}

fn print_function_figures(routes: &mut BTreeMap<String, RouteTimes>) -> u64 {
    println!("\nthe function's own time (duration_ms of its log lines), by route");
    println!(
        "{:<30} {:>8} {:>8} {:>8} {:>8} {:>8} {:>5} {:>4}",
        "route", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "cold", "5xx"
    );
    let mut all = Vec::new();
    let (mut cold, mut errors) = (0, 0);
    for (route, t) in routes.iter_mut() {
        all.extend_from_slice(&t.durations_ms);
        cold += t.cold_starts;
        errors += t.server_errors;
        let max = percentile(&mut t.durations_ms, 100.0);
        println!(
            "{route:<30} {:>8} {:>8.1} {:>8.1} {:>8.1} {max:>8.1} {:>5} {:>4}",
            t.durations_ms.len(),
            percentile(&mut t.durations_ms, 50.0),
            percentile(&mut t.durations_ms, 95.0),
            percentile(&mut t.durations_ms, 99.0),
            t.cold_starts,
            t.server_errors,
        );
    }
    let max = percentile(&mut all, 100.0);
    println!(
        "{:<30} {:>8} {:>8.1} {:>8.1} {:>8.1} {max:>8.1} {cold:>5} {errors:>4}",
        "all routes",
        all.len(),
        percentile(&mut all, 50.0),
        percentile(&mut all, 95.0),
        percentile(&mut all, 99.0),
    );
    all.len() as u64
}

fn print_problems(title: &str, problems: &[String]) {
    println!("{title}: {}", problems.len());
    print_list(problems);
}

/// The first problems in full, then how many more there are.
fn print_list(problems: &[String]) {
    for problem in problems.iter().take(SHOWN) {
        println!("  - {problem}");
    }
    if problems.len() > SHOWN {
        println!("  ... and {} more", problems.len() - SHOWN);
    }
}

// ---------------------------------------------------------------------------------------
// The run

async fn start_stack(settings: &Settings) -> Result<(RunningStack, PathBuf), String> {
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let root = devhost::find_repo_root(&exe)
        .or_else(|| devhost::find_repo_root(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))))
        .ok_or("the repository root is not found")?;
    let stack_name = format!("load-{}", ulid::Ulid::new().to_string().to_lowercase());
    let logs = root.join(".local/load-logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let log_file = logs.join(format!("{stack_name}.log"));
    let mut options = StackOptions::new(&root);
    options.stack_name = stack_name;
    options.instances = settings.instances;
    // The functions built beside this binary, by the same `cargo build`.
    if let Some(dir) = exe.parent() {
        options.bin_dir = dir.to_path_buf();
    }
    options.log_file = Some(log_file.clone());
    let dynamodb = devhost::dynamodb_client().await;
    let stack = devhost::stack::start(&options, &dynamodb)
        .await
        .map_err(|e| format!("the local stack does not start: {e}"))?;
    require_loopback("the API", &stack.url)?;
    Ok((stack, log_file))
}

/// Prints progress every 10 s while the users run.
fn report_progress(run: Arc<Run>, started: Instant) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(10));
        ticker.tick().await;
        loop {
            ticker.tick().await;
            println!(
                "  {:>4.0} s: {} requests answered, {} errors, {} customers",
                started.elapsed().as_secs_f64(),
                run.answered.load(Ordering::Relaxed),
                run.errors.lock().expect("errors lock").len(),
                run.ledger().customers.len(),
            );
        }
    })
}

async fn load(settings: Settings) -> Result<bool, String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "AWS_ENDPOINT_URL is not set: point it at a local emulator".to_owned())?;
    require_loopback("AWS_ENDPOINT_URL", &endpoint)?;
    let (stack, log_file) = start_stack(&settings).await?;
    let tenants: Vec<String> = (0..settings.tenants).map(|i| format!("load-{i}")).collect();
    let ttl = Duration::from_secs(settings.seconds + 3600);
    let token = |tenant: &str, user: &str| {
        devhost::token::issue(
            &stack.secret,
            tenant,
            user,
            &["administrator".to_owned()],
            ttl,
        )
    };
    println!(
        "load: {} users over {} tenants, {} function instances, at most {} s and {} requests, \
         seed {}\n  API {} (emulator {endpoint}), function log {}",
        settings.users,
        settings.tenants,
        settings.instances,
        settings.seconds,
        settings.max_requests,
        settings.seed,
        stack.url,
        log_file.display()
    );
    let run = Arc::new(Run {
        api: Api::new(&stack.url),
        tenants: tenants.clone(),
        deadline: Instant::now() + Duration::from_secs(settings.seconds),
        max_requests: settings.max_requests,
        issued: AtomicU64::new(0),
        answered: AtomicU64::new(0),
        ledger: Mutex::new(Ledger {
            by_tenant: vec![Vec::new(); settings.tenants],
            ..Ledger::default()
        }),
        errors: Mutex::new(Vec::new()),
        violations: Mutex::new(Vec::new()),
    });
    let user_tokens: Vec<String> = (0..settings.users)
        .map(|i| token(&tenants[i % tenants.len()], &format!("load-user-{i}")))
        .collect();

    let (cpu_before, _) = children_cpu(API_BINARY);
    let started = Instant::now();
    let mut tally = drive_users(&run, user_tokens, settings.seed).await?;
    let elapsed = started.elapsed();
    let (cpu_after, api_processes) = children_cpu(API_BINARY);
    // Every answered request was logged before its answer left the function, and the
    // verification's requests come after this read.
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    let requests = print_client_figures(&mut tally, elapsed);
    let logged = print_function_figures(&mut function_times(&log));
    println!("(function log lines: {logged} for {requests} client requests)");
    let cpu = cpu_after.saturating_sub(cpu_before);
    println!(
        "API function CPU (user + system, {api_processes} processes): {:.1} s, {:.1} ms per \
         request",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0 / logged.max(1) as f64
    );

    println!("\nverifying ...");
    let verifier_tokens: Vec<String> = tenants.iter().map(|t| token(t, "load-verifier")).collect();
    let table = &stack.tables["CustomersTable"];
    let violations = verify(&run, table, &verifier_tokens, settings.users).await?;
    let errors = run.errors.lock().expect("errors lock").clone();
    println!();
    print_errors(&tally, &errors);
    print_problems("violations", &violations);
    let passed = errors.is_empty() && violations.is_empty();
    println!("{}", if passed { "PASS" } else { "FAIL" });
    Ok(passed)
}

/// Runs one user per token (tenants in turn) until the budget or the time is used up; what
/// they saw, merged.
async fn drive_users(run: &Arc<Run>, tokens: Vec<String>, seed: u64) -> Result<Tally, String> {
    let progress = report_progress(run.clone(), Instant::now());
    let mut users = tokio::task::JoinSet::new();
    let mut seeds = Rng(seed);
    for (index, token) in tokens.into_iter().enumerate() {
        let user = User {
            index,
            tenant: index % run.tenants.len(),
            token,
            rng: Rng(seeds.next()),
            creates: 0,
            numbers: 0,
            patches: 0,
            tally: Tally::new(),
            run: run.clone(),
        };
        users.spawn(user.drive());
    }
    let mut tally = Tally::new();
    while let Some(done) = users.join_next().await {
        for (kind, t) in done.map_err(|e| format!("a user failed: {e}"))? {
            tally.entry(kind).or_default().merge(t);
        }
    }
    progress.abort();
    Ok(tally)
}

/// Checks the ledger against the table and the API and prints what was verified; every
/// violation, those the users saw during the run included.
async fn verify(
    run: &Run,
    table: &str,
    tokens: &[String],
    workers: usize,
) -> Result<Vec<String>, String> {
    let contents = TableContents::scan(&devhost::dynamodb_client().await, table).await?;
    let api_check = verify_api(run, tokens, workers).await;
    let ledger = run.ledger();
    let mut violations = run.violations.lock().expect("violations lock").clone();
    violations.extend(verify_table(&ledger, &run.tenants, &contents));
    violations.extend(api_check.violations);
    let patches: usize = ledger.customers.values().map(|c| c.patches.len()).sum();
    println!(
        "writes verified: {} customers created, {patches} patches, {} refusals of a taken \
         number justified",
        ledger.customers.len(),
        ledger.refused_numbers.len()
    );
    println!(
        "  table: {} items in {} Scan requests ({} customers, {} number guards, {} history \
         entries); API: {} requests (lists and a lookup by number per customer)",
        contents.items,
        contents.scan_requests,
        contents.customers.len(),
        contents.guards.len(),
        contents.history.values().sum::<u64>(),
        api_check.requests
    );
    if !ledger.lost_creates.is_empty() || !ledger.uncertain.is_empty() {
        println!(
            "  unanswered: {} creates, {} patches (their outcome is unknown)",
            ledger.lost_creates.len(),
            ledger.uncertain.len()
        );
    }
    Ok(violations)
}

fn print_errors(tally: &Tally, errors: &[String]) {
    let server_errors: u64 = tally
        .values()
        .flat_map(|t| t.statuses.iter())
        .filter(|(status, _)| **status >= 500)
        .map(|(_, n)| n)
        .sum();
    let transport: u64 = tally.values().map(|t| t.transport_errors).sum();
    println!(
        "errors: {} (5xx {server_errors}, transport {transport}, unexpected statuses {})",
        errors.len(),
        (errors.len() as u64).saturating_sub(server_errors + transport)
    );
    print_list(errors);
}

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_args(std::env::args().skip(1)) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match load(settings).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("bench-load: {message}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(tenant: &str, number: &str, version: u64, description: &str) -> StoredCustomer {
        StoredCustomer {
            tenant: tenant.into(),
            number: number.into(),
            version,
            description: description.into(),
        }
    }

    /// One acknowledged customer "A" (tenant t0, number N-1) patched once, stored as acked.
    fn consistent() -> (Ledger, Vec<String>, TableContents) {
        let tenants = vec!["t0".to_owned()];
        let mut ledger = Ledger {
            by_tenant: vec![vec!["A".into()]],
            ..Ledger::default()
        };
        ledger.customers.insert(
            "A".into(),
            AckedCustomer {
                tenant: 0,
                number: "N-1".into(),
                description: "created".into(),
                patches: vec![(2, "patched".into())],
            },
        );
        let mut table = TableContents::default();
        table
            .customers
            .insert("A".into(), vec![stored("t0", "N-1", 2, "patched")]);
        table
            .guards
            .insert(("t0".into(), "N-1".into()), vec!["A".into()]);
        table.history.insert("A".into(), 2);
        table.idempotency_records.insert("t0".into(), 1);
        (ledger, tenants, table)
    }

    #[test]
    fn a_consistent_table_passes() {
        let (ledger, tenants, table) = consistent();
        assert_eq!(
            verify_table(&ledger, &tenants, &table),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_lost_update_is_found() {
        let (ledger, tenants, mut table) = consistent();
        table.customers.get_mut("A").unwrap()[0] = stored("t0", "N-1", 2, "created");
        let found = verify_table(&ledger, &tenants, &table);
        assert!(
            found.iter().any(|f| f.contains("stored description")),
            "{found:?}"
        );
    }

    #[test]
    fn a_phantom_update_is_found() {
        let (ledger, tenants, mut table) = consistent();
        table.customers.get_mut("A").unwrap()[0].version = 3;
        let found = verify_table(&ledger, &tenants, &table);
        assert!(
            found.iter().any(|f| f.contains("version 3 after 1")),
            "{found:?}"
        );
    }

    #[test]
    fn a_second_holder_of_a_number_is_found() {
        let (ledger, tenants, mut table) = consistent();
        // Written case-insensitively: "n-1" is the same number.
        table
            .customers
            .insert("B".into(), vec![stored("t0", "n-1", 1, "x")]);
        let found = verify_table(&ledger, &tenants, &table);
        assert!(found.iter().any(|f| f.contains("is held by")), "{found:?}");
        assert!(
            found.iter().any(|f| f.contains("never acknowledged")),
            "{found:?}"
        );
    }

    #[test]
    fn the_same_number_in_another_tenant_is_fine_but_unacknowledged() {
        let (ledger, tenants, mut table) = consistent();
        table
            .customers
            .insert("B".into(), vec![stored("t1", "N-1", 1, "x")]);
        table
            .guards
            .insert(("t1".into(), "N-1".into()), vec!["B".into()]);
        let found = verify_table(&ledger, &tenants, &table);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("never acknowledged"));
    }

    #[test]
    fn a_missing_customer_a_missing_guard_and_an_unjustified_refusal_are_found() {
        let (mut ledger, tenants, mut table) = consistent();
        ledger.refused_numbers.push((0, "N-2".into()));
        table.guards.clear();
        let found = verify_table(&ledger, &tenants, &table);
        assert!(
            found.iter().any(|f| f.contains("number guard")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f.contains("nobody holds it")),
            "{found:?}"
        );
        table.customers.clear();
        let found = verify_table(&ledger, &tenants, &table);
        assert!(
            found.iter().any(|f| f.contains("stored 0 times")),
            "{found:?}"
        );
    }

    #[test]
    fn two_acknowledgements_of_one_version_are_a_lost_update() {
        let (mut ledger, tenants, mut table) = consistent();
        let acked = ledger.customers.get_mut("A").unwrap();
        acked.patches.push((2, "other".into()));
        table.customers.get_mut("A").unwrap()[0] = stored("t0", "N-1", 3, "other");
        table.history.insert("A".into(), 3);
        let found = verify_table(&ledger, &tenants, &table);
        assert!(
            found.iter().any(|f| f.contains("patch versions [2, 2]")),
            "{found:?}"
        );
    }

    #[test]
    fn only_loopback_addresses_are_accepted() {
        for url in [
            "http://127.0.0.1:4566",
            "http://localhost:3000",
            "http://[::1]:4566",
        ] {
            assert_eq!(require_loopback("x", url), Ok(()), "{url}");
        }
        for url in [
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://10.0.0.5:4566",
            "junk",
        ] {
            assert!(require_loopback("x", url).is_err(), "{url}");
        }
    }

    #[test]
    fn request_lines_are_read_from_the_log_by_route() {
        let log = concat!(
            r#"{"fields":{"message":"request","route":"GET /customers","cold_start":true,"status":200,"duration_ms":12.5}}"#,
            "\n",
            r#"{"fields":{"message":"request","route":"GET /customers","cold_start":false,"status":503,"duration_ms":2.0}}"#,
            "\n",
            r#"{"fields":{"message":"imported","duration_ms":99.0}}"#,
            "\nnot json\n"
        );
        let routes = function_times(log);
        let times = &routes["GET /customers"];
        assert_eq!(routes.len(), 1);
        assert_eq!(times.durations_ms, vec![12.5, 2.0]);
        assert_eq!((times.cold_starts, times.server_errors), (1, 1));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut values: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut values, 50.0), 50.0);
        assert_eq!(percentile(&mut values, 99.0), 99.0);
        assert_eq!(percentile(&mut values, 100.0), 100.0);
        assert_eq!(percentile(&mut [], 50.0), 0.0);
    }

    #[test]
    fn cursors_are_percent_encoded() {
        assert_eq!(url_encode("ab+/=c-_.~"), "ab%2B%2F%3Dc-_.~");
    }
}
