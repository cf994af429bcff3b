//! A local Lambda service for one function: the Runtime API (what `lambda_runtime` polls) in
//! front of N processes of the built function binary, each one "execution environment".
//!
//! Each instance gets its own listener, so the host knows which process asked for work without
//! trusting anything the process says. Like Lambda, an instance handles one event at a time, a
//! crashed instance fails its event with `Runtime.ExitError` and is replaced, and an instance
//! whose event timed out is killed and replaced (it may be stuck).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::template::LOCAL_ACCOUNT_ID;
use crate::{DEFAULT_REGION, Error, Result};

const API_PREFIX: &str = "/2018-06-01/runtime";
/// Lambda's own limit on a synchronous response is 6 MB; leave room above it.
const MAX_RUNTIME_BODY: usize = 16 * 1024 * 1024;
/// Pause before replacing a crashed instance, so a crash loop cannot spin.
const RESPAWN_DELAY: Duration = Duration::from_millis(200);

/// How the function is run. The defaults are Lambda's defaults, except the timeout: 30 s is
/// API Gateway's integration limit, which bounds every call through the gateway anyway.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// How long `invoke` waits, counted from the call (queueing included).
    pub timeout: Duration,
    pub memory_size_mb: u32,
    /// Where the processes' stdout and stderr go (appended); the host's stderr when `None`.
    pub log_file: Option<PathBuf>,
}

impl Default for HostOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            memory_size_mb: 128,
            log_file: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvokeError {
    /// The function reported an error (the body Lambda returns: errorType, errorMessage, ...),
    /// or its process died while handling the event (`Runtime.ExitError`).
    #[error("function error: {0}")]
    Function(Value),
    #[error("the function did not answer within its timeout")]
    Timeout,
    #[error("the function's response is not JSON: {0}")]
    InvalidResponse(String),
    #[error("no instance of the function is running: {0}")]
    Unavailable(String),
}

pub struct LambdaHost {
    shared: Arc<Shared>,
    /// Listeners and supervisors; aborting a supervisor drops its `Child`, which kills it.
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for LambdaHost {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Shared {
    function_name: String,
    function_arn: String,
    options: HostOptions,
    queue: mpsc::UnboundedSender<Invocation>,
    /// Pollers take turns on the one queue, so an event goes to whichever instance is free.
    next_event: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    in_flight: Mutex<HashMap<String, InFlight>>,
    instances: Vec<Instance>,
    startup_times: Mutex<Vec<Duration>>,
}

struct Invocation {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    reply: oneshot::Sender<Result<Value, InvokeError>>,
}

struct InFlight {
    instance: usize,
    reply: oneshot::Sender<Result<Value, InvokeError>>,
}

struct Instance {
    status: Mutex<InstanceStatus>,
    /// Set when the instance must be killed and replaced (its event timed out).
    restart: Notify,
}

#[derive(Default)]
struct InstanceStatus {
    /// Which process of this instance is the current one (counts spawns).
    generation: u64,
    spawned_at: Option<Instant>,
    /// The current process's id (a benchmark reads its CPU time and memory from /proc).
    pid: Option<u32>,
    ready: bool,
    failed: Option<String>,
}

/// Everything needed to (re)start one instance's process.
#[derive(Clone)]
struct Launch {
    binary: PathBuf,
    env: HashMap<String, String>,
    log_file: Option<PathBuf>,
}

impl LambdaHost {
    /// Starts `instances` processes of `binary` with the default [`HostOptions`].
    pub async fn start(
        binary: &Path,
        function_name: &str,
        env: HashMap<String, String>,
        instances: usize,
    ) -> Result<LambdaHost> {
        Self::start_with(
            binary,
            function_name,
            env,
            instances,
            HostOptions::default(),
        )
        .await
    }

    /// Binds one Runtime API listener per instance on 127.0.0.1 and spawns the processes with
    /// `env` (the function's variables), the host's own `AWS_*` variables (endpoint, region,
    /// credentials) and the variables Lambda sets. Returns once the processes are spawned;
    /// events sent before they are ready wait in the queue (see [`LambdaHost::wait_ready`]).
    pub async fn start_with(
        binary: &Path,
        function_name: &str,
        env: HashMap<String, String>,
        instances: usize,
        options: HostOptions,
    ) -> Result<LambdaHost> {
        if instances == 0 {
            return Err(Error::Host("at least one instance is needed".into()));
        }
        if !binary.is_file() {
            return Err(Error::Host(format!(
                "{} does not exist: build the functions first (cargo build --workspace --bins)",
                binary.display()
            )));
        }
        let (queue, next_event) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_name: function_name.to_owned(),
            function_arn: format!(
                "arn:aws:lambda:{DEFAULT_REGION}:{LOCAL_ACCOUNT_ID}:function:{function_name}"
            ),
            options,
            queue,
            next_event: tokio::sync::Mutex::new(next_event),
            in_flight: Mutex::default(),
            instances: (0..instances)
                .map(|_| Instance {
                    status: Mutex::default(),
                    restart: Notify::new(),
                })
                .collect(),
            startup_times: Mutex::default(),
        });
        let mut host = LambdaHost {
            shared: shared.clone(),
            tasks: Vec::new(),
        };
        for index in 0..instances {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let address = listener.local_addr()?;
            host.tasks.push(tokio::spawn(serve_runtime_api(
                listener,
                shared.clone(),
                index,
            )));
            let launch = Launch {
                binary: binary.to_owned(),
                env: instance_environment(&shared, &env, address),
                log_file: shared.options.log_file.clone(),
            };
            let child = shared.spawn_instance(index, &launch)?;
            host.tasks.push(tokio::spawn(supervise(
                shared.clone(),
                index,
                launch,
                child,
            )));
        }
        Ok(host)
    }

    pub fn function_name(&self) -> &str {
        &self.shared.function_name
    }

    /// The function's ARN as the functions see it (`invoked_function_arn`), built locally.
    pub fn function_arn(&self) -> &str {
        &self.shared.function_arn
    }

    /// Runs one event through the next free instance and returns the function's response.
    pub async fn invoke(&self, payload: Value) -> Result<Value, InvokeError> {
        self.shared.ensure_some_instance_alive()?;
        let request_id = request_id();
        let (reply, answer) = oneshot::channel();
        let deadline = SystemTime::now() + self.shared.options.timeout;
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload: Bytes::from(payload.to_string()),
            deadline_ms: deadline
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            reply,
        };
        self.shared
            .queue
            .send(invocation)
            .map_err(|_| InvokeError::Unavailable("the host is shutting down".into()))?;
        match tokio::time::timeout(self.shared.options.timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(InvokeError::Unavailable("the host is shutting down".into())),
            Err(_) => {
                self.shared.abandon(&request_id);
                Err(InvokeError::Timeout)
            }
        }
    }

    /// Time from spawning a process to its first poll for work, for every process started so
    /// far (replacements included), in the order they became ready.
    pub fn startup_times(&self) -> Vec<Duration> {
        self.shared
            .startup_times
            .lock()
            .expect("not poisoned")
            .clone()
    }

    /// The process id of each instance's current process, in instance order.
    pub fn pids(&self) -> Vec<Option<u32>> {
        self.shared
            .instances
            .iter()
            .map(|i| i.status.lock().expect("not poisoned").pid)
            .collect()
    }

    /// Waits until every instance has polled for work once and returns their startup times.
    /// Fails when an instance died before that (a missing variable, a panic in `main`...).
    pub async fn wait_ready(&self, timeout: Duration) -> Result<Vec<Duration>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(reason) = self.shared.first_failure() {
                return Err(Error::Host(format!(
                    "{}: {reason}",
                    self.shared.function_name
                )));
            }
            if self.shared.all_ready() {
                return Ok(self.startup_times());
            }
            if Instant::now() >= deadline {
                return Err(Error::Host(format!(
                    "{}: not every instance polled for work within {timeout:?}",
                    self.shared.function_name
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Shared {
    fn spawn_instance(&self, index: usize, launch: &Launch) -> Result<Child> {
        // Locked across the spawn: a process that starts in a few milliseconds can poll before
        // the spawn returns, and its first poll must find its own status. Set afterwards, the
        // status overwrote the poll's `ready` and the instance never became ready (seen).
        let mut status = self.instances[index].status.lock().expect("not poisoned");
        // Timed from before the spawn: fork and exec are part of a cold start.
        let started = Instant::now();
        let child = spawn_process(launch)
            .map_err(|e| Error::Host(format!("cannot start {}: {e}", launch.binary.display())))?;
        *status = InstanceStatus {
            generation: status.generation + 1,
            spawned_at: Some(started),
            pid: child.id(),
            ready: false,
            failed: None,
        };
        Ok(child)
    }

    /// The first `/next` of a process is the moment it is ready: record how long it took.
    /// Returns the generation of the process that polled.
    fn mark_polled(&self, index: usize) -> u64 {
        let mut status = self.instances[index].status.lock().expect("not poisoned");
        if !status.ready {
            status.ready = true;
            if let Some(spawned_at) = status.spawned_at {
                self.startup_times
                    .lock()
                    .expect("not poisoned")
                    .push(spawned_at.elapsed());
            }
        }
        status.generation
    }

    fn is_current(&self, index: usize, generation: u64) -> bool {
        self.instances[index]
            .status
            .lock()
            .expect("not poisoned")
            .generation
            == generation
    }

    fn all_ready(&self) -> bool {
        self.instances
            .iter()
            .all(|i| i.status.lock().expect("not poisoned").ready)
    }

    fn first_failure(&self) -> Option<String> {
        self.instances
            .iter()
            .find_map(|i| i.status.lock().expect("not poisoned").failed.clone())
    }

    fn ensure_some_instance_alive(&self) -> Result<(), InvokeError> {
        match self.first_failure() {
            Some(reason)
                if self
                    .instances
                    .iter()
                    .all(|i| i.status.lock().expect("not poisoned").failed.is_some()) =>
            {
                Err(InvokeError::Unavailable(reason))
            }
            _ => Ok(()),
        }
    }

    /// Records the event as being handled by `index` and gives back what the runtime needs;
    /// `None` when its caller already gave up while it waited in the queue.
    fn hand_out(&self, index: usize, invocation: Invocation) -> Option<(String, Bytes, u64)> {
        if invocation.reply.is_closed() {
            return None;
        }
        let Invocation {
            request_id,
            payload,
            deadline_ms,
            reply,
        } = invocation;
        let entry = InFlight {
            instance: index,
            reply,
        };
        self.in_flight
            .lock()
            .expect("not poisoned")
            .insert(request_id.clone(), entry);
        Some((request_id, payload, deadline_ms))
    }

    fn complete(&self, request_id: &str, result: Result<Value, InvokeError>) -> bool {
        let entry = self
            .in_flight
            .lock()
            .expect("not poisoned")
            .remove(request_id);
        match entry {
            Some(entry) => {
                let _ = entry.reply.send(result);
                true
            }
            None => false,
        }
    }

    /// The caller timed out: forget the event, and replace the instance working on it, which
    /// may be stuck (Lambda resets a timed-out environment too).
    fn abandon(&self, request_id: &str) {
        let entry = self
            .in_flight
            .lock()
            .expect("not poisoned")
            .remove(request_id);
        if let Some(entry) = entry {
            tracing::warn!(function = %self.function_name, request_id, "timed out; restarting its instance");
            self.instances[entry.instance].restart.notify_one();
        }
    }

    /// The process of `index` is gone: its event fails the way Lambda reports it.
    fn fail_in_flight(&self, index: usize, exit: &str) {
        let mut in_flight = self.in_flight.lock().expect("not poisoned");
        let lost: Vec<String> = in_flight
            .iter()
            .filter(|(_, f)| f.instance == index)
            .map(|(id, _)| id.clone())
            .collect();
        for request_id in lost {
            if let Some(entry) = in_flight.remove(&request_id) {
                let _ = entry.reply.send(Err(InvokeError::Function(json!({
                    "errorType": "Runtime.ExitError",
                    "errorMessage": format!("RequestId: {request_id} Error: Runtime exited with error: {exit}"),
                }))));
            }
        }
    }
}

/// Watches one instance's process: replaces it when it dies after having been ready, or when
/// a restart is requested; gives up when it dies during init (it would only die again).
async fn supervise(shared: Arc<Shared>, index: usize, launch: Launch, mut child: Child) {
    let instance = &shared.instances[index];
    loop {
        let (status, restarted) = tokio::select! {
            status = child.wait() => (status, false),
            () = instance.restart.notified() => {
                let _ = child.start_kill();
                (child.wait().await, true)
            }
        };
        let exit = describe_exit(&status);
        shared.fail_in_flight(index, &exit);
        let was_ready = instance.status.lock().expect("not poisoned").ready;
        if !was_ready && !restarted {
            tracing::error!(function = %shared.function_name, instance = index, "exited during init: {exit}");
            instance.status.lock().expect("not poisoned").failed =
                Some(format!("exited during init: {exit}"));
            return;
        }
        if !restarted {
            tracing::warn!(function = %shared.function_name, instance = index, "exited ({exit}); starting a new one");
        }
        tokio::time::sleep(RESPAWN_DELAY).await;
        child = match shared.spawn_instance(index, &launch) {
            Ok(child) => child,
            Err(error) => {
                instance.status.lock().expect("not poisoned").failed = Some(error.to_string());
                return;
            }
        };
    }
}

fn describe_exit(status: &std::io::Result<ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(error) => format!("unknown ({error})"),
    }
}

fn spawn_process(launch: &Launch) -> std::io::Result<Child> {
    let (stdout, stderr) = output_streams(launch.log_file.as_deref())?;
    Command::new(&launch.binary)
        .env_clear()
        .envs(&launch.env)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
}

/// Function output goes where the host's diagnostics go: its stderr (stdout stays clean for
/// what the host prints) or the log file.
fn output_streams(log_file: Option<&Path>) -> std::io::Result<(Stdio, Stdio)> {
    match log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            Ok((Stdio::from(file.try_clone()?), Stdio::from(file)))
        }
        None => {
            let stderr = std::io::stderr().as_fd().try_clone_to_owned()?;
            Ok((Stdio::from(stderr), Stdio::inherit()))
        }
    }
}

/// The process environment, in increasing precedence: the host's `AWS_*` variables (emulator
/// endpoint, region, credentials: Lambda always provides the latter two, so defaults fill
/// them), the function's own variables, then what Lambda sets for the runtime.
fn instance_environment(
    shared: &Shared,
    function_env: &HashMap<String, String>,
    runtime_api: SocketAddr,
) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = std::env::vars()
        .filter(|(key, _)| {
            (key.starts_with("AWS_") && !key.starts_with("AWS_LAMBDA_"))
                || matches!(key.as_str(), "PATH" | "RUST_BACKTRACE")
        })
        .collect();
    for (key, default) in [
        ("AWS_REGION", DEFAULT_REGION),
        ("AWS_DEFAULT_REGION", DEFAULT_REGION),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ] {
        env.entry(key.to_owned())
            .or_insert_with(|| default.to_owned());
    }
    env.extend(function_env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let name = &shared.function_name;
    env.extend([
        ("AWS_LAMBDA_RUNTIME_API".to_owned(), runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(),
            shared.options.memory_size_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_FUNCTION_VERSION".to_owned(),
            "$LATEST".to_owned(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".to_owned(),
            format!("/aws/lambda/{name}"),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME".to_owned(), log_stream_name()),
        ("TZ".to_owned(), ":UTC".to_owned()),
    ]);
    env
}

#[derive(Clone)]
struct InstanceApi {
    shared: Arc<Shared>,
    index: usize,
}

async fn serve_runtime_api(listener: TcpListener, shared: Arc<Shared>, index: usize) {
    let app = Router::new()
        .route(
            &format!("{API_PREFIX}/invocation/next"),
            get(next_invocation),
        )
        .route(
            &format!("{API_PREFIX}/invocation/{{id}}/response"),
            post(invocation_response),
        )
        .route(
            &format!("{API_PREFIX}/invocation/{{id}}/error"),
            post(invocation_error),
        )
        .route(&format!("{API_PREFIX}/init/error"), post(init_error))
        .layer(DefaultBodyLimit::max(MAX_RUNTIME_BODY))
        .with_state(InstanceApi { shared, index });
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!("runtime API listener failed: {error}");
    }
}

/// Long-polls: answers once an event is there for this instance.
async fn next_invocation(State(api): State<InstanceApi>) -> Response {
    let generation = api.shared.mark_polled(api.index);
    loop {
        let Some(invocation) = api.shared.next_event.lock().await.recv().await else {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        };
        // hyper does not notice a client that went away while its request waits, so a poll
        // from a process that has since died may still be here: give its event back.
        if !api.shared.is_current(api.index, generation) {
            let _ = api.shared.queue.send(invocation);
            return StatusCode::GONE.into_response();
        }
        let Some((request_id, payload, deadline_ms)) = api.shared.hand_out(api.index, invocation)
        else {
            continue;
        };
        let mut headers = HeaderMap::new();
        let mut set = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        set("lambda-runtime-aws-request-id", request_id);
        set("lambda-runtime-deadline-ms", deadline_ms.to_string());
        set(
            "lambda-runtime-invoked-function-arn",
            api.shared.function_arn.clone(),
        );
        set("lambda-runtime-trace-id", trace_id());
        set("content-type", "application/json".to_owned());
        return (StatusCode::OK, headers, payload).into_response();
    }
}

async fn invocation_response(
    State(api): State<InstanceApi>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let result =
        serde_json::from_slice(&body).map_err(|e| InvokeError::InvalidResponse(e.to_string()));
    accepted_if(api.shared.complete(&request_id, result))
}

async fn invocation_error(
    State(api): State<InstanceApi>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> Response {
    accepted_if(
        api.shared
            .complete(&request_id, Err(InvokeError::Function(error_body(&body)))),
    )
}

async fn init_error(State(api): State<InstanceApi>, body: Bytes) -> Response {
    let error = error_body(&body);
    tracing::error!(function = %api.shared.function_name, instance = api.index, "init error: {error}");
    api.shared.instances[api.index]
        .status
        .lock()
        .expect("not poisoned")
        .failed = Some(format!("init error: {error}"));
    accepted_if(true)
}

/// Lambda's answer to a runtime reporting a result: 202, or 400 for an id it does not know
/// (e.g. an event whose caller already timed out).
fn accepted_if(known: bool) -> Response {
    if known {
        json_response(StatusCode::ACCEPTED, json!({"status": "OK"}))
    } else {
        let body = json!({"errorType": "InvalidRequestID", "errorMessage": "unknown request id"});
        json_response(StatusCode::BAD_REQUEST, body)
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The runtime's error document (`errorType`, `errorMessage`, ...); anything else is wrapped.
fn error_body(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(
        |_| json!({"errorType": "Runtime.Unknown", "errorMessage": String::from_utf8_lossy(body)}),
    )
}

/// Lambda's request ids are UUIDs; a ULID's 128 bits printed that way are unique enough.
fn request_id() -> String {
    let n = ulid::Ulid::new().0;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (n >> 96) as u32,
        (n >> 80) as u16,
        (n >> 64) as u16,
        (n >> 48) as u16,
        n & 0xffff_ffff_ffff
    )
}

/// An X-Ray trace header of the shape Lambda passes (`Root=1-<epoch hex>-<96 bits>`).
fn trace_id() -> String {
    let random = ulid::Ulid::new().random();
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "Root=1-{epoch:08x}-{:024x};Parent={:016x};Sampled=0",
        random & ((1u128 << 96) - 1),
        (random >> 16) as u64
    )
}

fn log_stream_name() -> String {
    let date = chrono::Utc::now().format("%Y/%m/%d");
    format!("{date}/[$LATEST]{:032x}", ulid::Ulid::new().0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Not a test on its own: when this test binary is started by a host (through
    /// `fake_runtime_script`) it plays a function. Events say what to do: `echo` answers with
    /// the event and some of the environment, `sleep` waits `ms` first, `error` reports a
    /// function error, `exit` kills the process.
    #[test]
    fn fake_runtime() {
        let (Ok(_), Ok(api)) = (
            std::env::var("DEVHOST_FAKE_RUNTIME"),
            std::env::var("AWS_LAMBDA_RUNTIME_API"),
        ) else {
            return;
        };
        while let Some((headers, body)) =
            fake_http(&api, "GET", "/2018-06-01/runtime/invocation/next", b"")
        {
            let id = headers
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("lambda-runtime-aws-request-id: ")
                        .map(str::to_owned)
                })
                .expect("request id header");
            let event: Value = serde_json::from_slice(&body).expect("JSON event");
            std::thread::sleep(Duration::from_millis(event["ms"].as_u64().unwrap_or(0)));
            let (kind, answer) = match event["action"].as_str() {
                Some("error") => (
                    "error",
                    json!({"errorType": "Boom", "errorMessage": "asked to fail"}),
                ),
                Some("exit") => std::process::exit(3),
                _ => {
                    let env: Value = [
                        "AWS_LAMBDA_FUNCTION_NAME",
                        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                        "TABLE_NAME",
                        "AWS_REGION",
                    ]
                    .iter()
                    .map(|k| (k.to_string(), json!(std::env::var(k).ok())))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
                    (
                        "response",
                        json!({"event": event, "env": env, "pid": std::process::id()}),
                    )
                }
            };
            let path = format!("/2018-06-01/runtime/invocation/{id}/{kind}");
            fake_http(&api, "POST", &path, answer.to_string().as_bytes());
        }
    }

    /// A one-shot HTTP/1.1 exchange for the fake runtime: (head, body), or `None` once the
    /// host is gone.
    fn fake_http(api: &str, method: &str, path: &str, body: &[u8]) -> Option<(String, Vec<u8>)> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(api).ok()?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {api}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).ok()?;
        stream.write_all(body).ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).ok()?;
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        Some((
            String::from_utf8_lossy(&raw[..split]).into_owned(),
            raw[split + 4..].to_vec(),
        ))
    }

    /// An executable that runs this test binary as a fake function (hosts pass no arguments).
    /// One per test binary, written atomically and once per process: a test writing it while
    /// another forks a host lets the child inherit the open file, and the exec then fails
    /// with "text file busy".
    fn fake_runtime_script() -> PathBuf {
        static SCRIPT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        SCRIPT.get_or_init(write_fake_runtime_script).clone()
    }

    fn write_fake_runtime_script() -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let exe = std::env::current_exe().unwrap();
        let stem = exe.file_name().unwrap().to_string_lossy().into_owned();
        let path = std::env::temp_dir().join(format!("devhost-fake-runtime-{stem}"));
        let script = format!(
            "#!/bin/sh\nexec '{}' --exact lambda_host::tests::fake_runtime --nocapture --test-threads=1\n",
            exe.display()
        );
        let draft = path.with_extension(ulid::Ulid::new().to_string());
        std::fs::write(&draft, script).unwrap();
        std::fs::set_permissions(&draft, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&draft, &path).unwrap();
        path
    }

    async fn fake_host(instances: usize, timeout: Duration) -> LambdaHost {
        let env = HashMap::from([
            ("DEVHOST_FAKE_RUNTIME".to_owned(), "1".to_owned()),
            ("TABLE_NAME".to_owned(), "local-Table".to_owned()),
        ]);
        let log = std::env::temp_dir().join("devhost-fake-runtime.log");
        let options = HostOptions {
            timeout,
            memory_size_mb: 256,
            log_file: Some(log),
        };
        let host =
            LambdaHost::start_with(&fake_runtime_script(), "fake-fn", env, instances, options)
                .await
                .unwrap();
        let ready = host.wait_ready(Duration::from_secs(20)).await.unwrap();
        assert_eq!(ready.len(), instances);
        host
    }

    #[tokio::test]
    async fn events_run_on_the_instances_with_the_lambda_environment() {
        let host = fake_host(1, Duration::from_secs(10)).await;
        let answer = host
            .invoke(json!({"action": "echo", "n": 1}))
            .await
            .unwrap();
        assert_eq!(answer["event"], json!({"action": "echo", "n": 1}));
        assert_eq!(answer["env"]["AWS_LAMBDA_FUNCTION_NAME"], "fake-fn");
        assert_eq!(answer["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
        assert_eq!(answer["env"]["TABLE_NAME"], "local-Table");
        assert!(answer["env"]["AWS_REGION"].is_string());
        let error = host.invoke(json!({"action": "error"})).await.unwrap_err();
        assert_eq!(
            error,
            InvokeError::Function(json!({"errorType": "Boom", "errorMessage": "asked to fail"}))
        );
    }

    #[tokio::test]
    async fn several_instances_serve_events_at_the_same_time() {
        let host = Arc::new(fake_host(3, Duration::from_secs(10)).await);
        let started = Instant::now();
        let calls: Vec<_> = (0..6)
            .map(|_| {
                let host = host.clone();
                tokio::spawn(async move { host.invoke(json!({"action": "echo", "ms": 400})).await })
            })
            .collect();
        let mut pids = std::collections::HashSet::new();
        for call in calls {
            pids.insert(call.await.unwrap().unwrap()["pid"].as_u64().unwrap());
        }
        assert_eq!(pids.len(), 3, "every instance took events");
        assert!(
            started.elapsed() < Duration::from_millis(2000),
            "six 400 ms events on three instances took {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_crashed_or_timed_out_instance_fails_its_event_and_is_replaced() {
        let host = fake_host(1, Duration::from_millis(700)).await;
        let crashed = host.invoke(json!({"action": "exit"})).await.unwrap_err();
        let InvokeError::Function(body) = crashed else {
            panic!("{crashed:?}")
        };
        assert_eq!(body["errorType"], "Runtime.ExitError");
        assert!(
            host.invoke(json!({"action": "echo"})).await.is_ok(),
            "a new instance serves"
        );
        assert_eq!(
            host.invoke(json!({"action": "echo", "ms": 3000})).await,
            Err(InvokeError::Timeout)
        );
        assert!(
            host.invoke(json!({"action": "echo"})).await.is_ok(),
            "the stuck instance was replaced"
        );
        assert_eq!(
            host.startup_times().len(),
            3,
            "the first process and two replacements"
        );
    }

    #[tokio::test]
    async fn dropping_the_host_kills_its_processes() {
        let host = fake_host(2, Duration::from_secs(10)).await;
        let pid = host.invoke(json!({"action": "echo"})).await.unwrap()["pid"]
            .as_u64()
            .unwrap();
        drop(host);
        let gone = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
                stat.rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z'))
            })
        };
        for _ in 0..100 {
            if gone() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("process {pid} still running after the host was dropped");
    }

    #[test]
    fn request_ids_look_like_uuids_and_differ() {
        let (a, b) = (request_id(), request_id());
        assert_ne!(a, b);
        let lengths: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12]);
    }

    #[test]
    fn trace_ids_have_the_x_ray_shape() {
        let id = trace_id();
        assert!(
            id.starts_with("Root=1-") && id.contains(";Parent=") && id.ends_with(";Sampled=0"),
            "{id}"
        );
    }

    #[test]
    fn runtime_error_documents_pass_through_and_other_bodies_are_wrapped() {
        let document = json!({"errorType": "Panic", "errorMessage": "boom"});
        assert_eq!(error_body(document.to_string().as_bytes()), document);
        assert_eq!(error_body(b"plain")["errorMessage"], "plain");
    }
}
