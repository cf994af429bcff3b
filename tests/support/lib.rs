//! Test support: a whole local stack per test (tables from the template in the emulator, the
//! built function binaries behind devhost's HTTP API), and a small HTTP client that talks to it
//! as a given user of a given organisation.
//!
//! Needs `AWS_ENDPOINT_URL` (the emulator) and the function binaries built
//! (`cargo build --workspace --bins`); `infra/local/test` does both.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use devhost::{RunningStack, StackOptions};
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub use devhost::token;

pub mod exports;
pub mod faults;
pub mod imports;
pub mod notifications;
pub mod records;
pub mod work;

/// The repository root, found from this crate's manifest.
pub fn repo_root() -> PathBuf {
    devhost::find_repo_root(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("tests/ sits inside the repository")
}

/// Where cargo put the binaries of the build this test belongs to: the test runs from
/// `<target>/<profile>/deps/`, the binaries sit one level up.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in <target>/<profile>/deps")
        .to_path_buf()
}

/// A fresh table name per call: store tests use one table each.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// A DynamoDB client for the emulator and a new table made from the template's declaration.
pub async fn fresh_table() -> (aws_sdk_dynamodb::Client, String) {
    let client = devhost::dynamodb_client().await;
    let template = devhost::Template::load(repo_root().join(devhost::TEMPLATE_PATH))
        .expect("the template parses");
    let table = template
        .table("CustomersTable")
        .expect("the template declares the table");
    let name = unique_name("store");
    devhost::create_table(&client, table, &name)
        .await
        .expect("the emulator creates the table");
    (client, name)
}

/// A store of `table` on the emulator, made as the functions make theirs: writes through the
/// SDK, reads as requests of its own, both at `AWS_ENDPOINT_URL`.
pub async fn store(table: impl Into<String>) -> store::CustomerStore {
    store::CustomerStore::new(&devhost::aws_config().await, table)
}

/// One running stack: its own tables, its own function processes, its own gateway port.
pub struct Suite {
    pub stack: RunningStack,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The emulator's configuration, which `dynamodb` was made with.
    pub config: aws_config::SdkConfig,
    /// Where the stack's functions log (every line of every function).
    pub log_file: PathBuf,
    http: HttpClient<HttpConnector, Full<Bytes>>,
}

impl Suite {
    pub async fn start() -> Self {
        Self::start_with(2).await
    }

    /// `instances` function processes serve requests at the same time.
    pub async fn start_with(instances: usize) -> Self {
        Self::start_with_parameters(instances, &[]).await
    }

    /// A stack with some template parameters set (e.g. a small `ImportRowsPerInvocation`).
    pub async fn start_with_parameters(instances: usize, parameters: &[(&str, &str)]) -> Self {
        Self::start_with_options(instances, parameters, &[]).await
    }

    /// A stack whose functions reach AWS through `link` (the host itself does not).
    pub async fn start_behind(link: &faults::FaultyLink) -> Self {
        Self::start_with_options(2, &[], &[("AWS_ENDPOINT_URL", &link.url())]).await
    }

    async fn start_with_options(
        instances: usize,
        parameters: &[(&str, &str)],
        function_environment: &[(&str, &str)],
    ) -> Self {
        let root = repo_root();
        let stack_name = unique_name("t");
        let logs = root.join(".local/test-logs");
        std::fs::create_dir_all(&logs).expect("log folder");
        let mut options = StackOptions::new(&root);
        options.stack_name = stack_name.clone();
        options.instances = instances;
        options.bin_dir = bin_dir();
        let log_file = logs.join(format!("{stack_name}.log"));
        options.log_file = Some(log_file.clone());
        for (name, value) in parameters {
            options
                .parameters
                .insert((*name).to_owned(), (*value).to_owned());
        }
        for (name, value) in function_environment {
            options
                .function_environment
                .insert((*name).to_owned(), (*value).to_owned());
        }
        assert!(
            options.bin_dir.join("customers-api").is_file(),
            "the customers-api binary is missing in {}: run `cargo build --workspace --bins` \
             first (infra/local/test does)",
            options.bin_dir.display()
        );
        let config = devhost::aws_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let stack = devhost::stack::start(&options, &dynamodb)
            .await
            .expect("the local stack starts");
        Self {
            stack,
            dynamodb,
            config,
            log_file,
            http: HttpClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// A store of the stack's table, as [`store`] makes one.
    pub fn store(&self) -> store::CustomerStore {
        store::CustomerStore::new(&self.config, self.table())
    }

    /// Everything the stack's functions logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// The lines the stack's functions logged at level ERROR so far.
    pub fn error_lines(&self) -> Vec<String> {
        self.logs()
            .lines()
            .filter(|line| line.contains(r#""level":"ERROR""#))
            .map(str::to_owned)
            .collect()
    }

    /// The embedded-metric-format lines the stack's functions wrote that carry `metric`.
    pub fn metrics(&self, metric: &str) -> Vec<Value> {
        self.logs()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line.get("_aws").is_some() && line.get(metric).is_some())
            .collect()
    }

    /// The log lines of event-fed functions' invocations (`"invocation"` messages).
    pub fn invocations(&self) -> Vec<Value> {
        self.logs()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["fields"]["message"] == "invocation")
            .collect()
    }

    pub fn table(&self) -> &str {
        &self.stack.tables["CustomersTable"]
    }

    /// A signed-in user of `tenant` with `roles`.
    pub fn user(&self, tenant: &str, user: &str, roles: &[&str]) -> Session<'_> {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        let token = token::issue(
            &self.stack.secret,
            tenant,
            user,
            &roles,
            Duration::from_secs(3600),
        );
        self.session(Some(token))
    }

    /// A session with a token made of exactly these claims (signed with the local secret).
    pub fn with_claims(&self, claims: Value) -> Session<'_> {
        self.session(Some(token::sign(&self.stack.secret, &claims)))
    }

    pub fn anonymous(&self) -> Session<'_> {
        self.session(None)
    }

    fn session(&self, token: Option<String>) -> Session<'_> {
        Session { suite: self, token }
    }
}

impl Suite {
    /// A request to an absolute URL with exactly these headers and no token: a presigned S3
    /// URL on the emulator, as a browser or a spreadsheet app sends it.
    pub async fn send_to_url(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .expect("a valid request");
        let response = self.http.request(request).await.expect("the URL answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("the body arrives")
            .to_bytes();
        Reply {
            status,
            headers,
            body: Value::String(String::from_utf8_lossy(&bytes).into_owned()),
            server_errors: Vec::new(),
        }
    }

    /// Uploads `file` with the form of an import request's answer (`upload`: url, fields), as
    /// a browser sends it: multipart/form-data with every field (`changed` ones replaced or
    /// added), then the file as the last part, named `file`.
    pub async fn upload(&self, upload: &Value, changed: &[(&str, &str)], file: &[u8]) -> Reply {
        const BOUNDARY: &str = "----upload-boundary-7MA4YWxkTrZu0gW";
        let mut fields: Vec<(String, String)> = upload["fields"]
            .as_object()
            .expect("an upload form's fields")
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
            .collect();
        for (name, value) in changed {
            fields.retain(|(n, _)| n != name);
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
        let mut body = Vec::new();
        for (name, value) in &fields {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"customers.csv\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        assert_eq!(upload["method"], "POST", "{upload}");
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        self.send_to_url(
            Method::POST,
            upload["url"].as_str().expect("an upload URL"),
            &[("content-type", content_type.as_str())],
            body,
        )
        .await
    }
}

/// Requests as one caller.
#[derive(Clone)]
pub struct Session<'a> {
    suite: &'a Suite,
    token: Option<String>,
}

impl Session<'_> {
    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send_json(Method::POST, path, &[], body).await
    }

    pub async fn patch(&self, path: &str, if_match: &str, body: &Value) -> Reply {
        self.send_json(Method::PATCH, path, &[("if-match", if_match)], body)
            .await
    }

    /// A PUT without a body (assignments).
    pub async fn put_empty(&self, path: &str) -> Reply {
        self.send(Method::PUT, path, &[], None).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, &[], None).await
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Reply {
        let mut headers = headers.to_vec();
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("content-type", "application/json"));
        }
        let bytes = serde_json::to_vec(body).expect("JSON serialises");
        self.send(method, path, &headers, Some(bytes)).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.suite.stack.url));
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("a valid request");
        let response = self
            .suite
            .http
            .request(request)
            .await
            .expect("the local gateway answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("the body arrives")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        let server_errors = if status >= 500 {
            self.suite.error_lines()
        } else {
            Vec::new()
        };
        Reply {
            status,
            headers,
            body,
            server_errors,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    /// For a 5xx answer, the stack's error log lines as they were when it came: a failing test
    /// then says what went wrong on the server, after its logs are gone (a CI clone).
    pub server_errors: Vec<String>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn etag(&self) -> String {
        self.header("etag")
            .expect("the response has an ETag")
            .to_owned()
    }

    /// The `code`s of a validation problem's field errors, as (field, code) pairs.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or_default().to_owned(),
                            e["code"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}{}",
            self.body,
            self.server_errors
                .iter()
                .fold(String::new(), |all, line| all + "\nserver: " + line)
        );
        self
    }

    /// Asserts an RFC 9457 problem of the given status and type name.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, name: &str) -> &Self {
        self.expect(status);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type"
        );
        assert_eq!(
            self.body["type"],
            format!("/problems/{name}"),
            "body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string());
        self
    }
}

/// A valid customer body with the given number, for tests that are about something else.
/// E-mail and phones are derived from the number, so different numbers never look like
/// duplicates of each other.
pub fn customer(number: &str, first: &str, last: &str) -> Value {
    let digits = number
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 10_000_000;
    serde_json::json!({
        "customerNumber": number,
        "firstName": first,
        "lastName": last,
        "email": format!("customer.{}@example.com", number.to_lowercase()),
        "phone": format!("+46 8 {:07}", digits),
        "mobile": format!("+46 70 {:07}", digits),
        "language": "sv",
        "terms": { "paymentType": "account", "currency": "SEK", "creditLimit": 5_000_000, "paymentTerms": "net30" }
    })
}

/// A history entry for store calls made outside the API, in store tests and the benchmark
/// (its content is not what they are about).
pub fn history_entry(kind: domain::ChangeKind) -> domain::HistoryEntry {
    domain::HistoryEntry {
        id: ulid::Ulid::new().to_string(),
        at: chrono::Utc::now(),
        by: "test".into(),
        kind,
        version: 1,
        changes: Vec::new(),
    }
}

/// User plus system CPU time of this process so far (Linux, clock ticks of 10 ms): what the
/// benchmarks charge our code with (the emulator is another process).
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After the command name: state is field 0, utime field 11, stime field 12.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// A Lambda context whose deadline is an hour away: a function's code run in-process.
pub fn far_deadline() -> lambda_runtime::Context {
    let mut context = lambda_runtime::Context::default();
    context.deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64 + 3_600_000)
        .unwrap_or(u64::MAX);
    context
}

/// The stream event the cascade's mapping delivers when the customer `id` of `tenant` turned
/// inactive at `version` (for redelivering it by hand): the stored card's item as the new
/// image, inactive at that version, and active one version before as the old.
pub async fn deactivation_record(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    tenant: &str,
    id: &str,
    version: u64,
) -> Value {
    let tenant = store::TenantId::parse(tenant).expect("a tenant id");
    let key = store::keys::customer(&tenant, &domain::CustomerId(id.to_owned()));
    let stored = notifications::stored_image(dynamodb, table, &key.pk, &key.sk).await;
    let image = |status: &str, version: u64| {
        let mut image = stored.clone();
        image["status"] = serde_json::json!({"S": status});
        image["version"] = serde_json::json!({"N": version.to_string()});
        image
    };
    let keys = serde_json::json!({"PK": {"S": key.pk}, "SK": {"S": key.sk}});
    let (new, old) = (image("inactive", version), image("active", version - 1));
    notifications::stream_record("999", "MODIFY", keys, Some(new), Some(old))
}
