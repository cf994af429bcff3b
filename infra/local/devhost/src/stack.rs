//! The whole local stack in one call: the template's tables, topics, queues and buckets in the
//! emulator, a [`LambdaHost`] per function with its environment resolved to the local names
//! (a topic's `Ref` to its ARN), the gateway in front, a poller per SQS event source and one per
//! DynamoDB stream event source. `devhost up` is this plus printing; end-to-end tests can start
//! it in-process.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::cors::Cors;
use crate::event_sources::{PollerOptions, Pollers, SqsEventSource};
use crate::gateway::{self, Route};
use crate::lambda_host::{HostOptions, LambdaHost};
use crate::resources::StackResources;
use crate::stream_sources::{DynamoDbEventSource, StreamOptions, StreamPollers};
use crate::template::{FunctionDef, Template};
use crate::token::{self, DevSecret};
use crate::{AwsClients, Error, Result, TEMPLATE_PATH, resources};

/// How long the functions may take to start before `start` gives up on them. A process is
/// ready in well under a second, but on a 2-core machine busy compiling, 30 s was seen to
/// run out (a load run's start, with many function instances).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The template parameter that lists the origins the HTTP API's CORS allows.
pub const ALLOWED_ORIGINS_PARAMETER: &str = "ApiAllowedOrigins";
/// Where `infra/local/run` serves the console (web/) by default: the local API allows it.
pub const LOCAL_CONSOLE_ORIGINS: &str = "http://127.0.0.1:5173,http://localhost:5173";

#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The repository root (holds `infra/template.yaml` and `.local/`).
    pub root: PathBuf,
    /// Prefix of every local resource name: `{stack_name}-{LogicalId}`.
    pub stack_name: String,
    /// Where the built function binaries are.
    pub bin_dir: PathBuf,
    /// Processes per function: how many requests it serves at the same time.
    pub instances: usize,
    /// Where the gateway listens on 127.0.0.1; 0 picks a free port.
    pub port: u16,
    /// Values of template parameters; by default the local authorizer's issuer and audience.
    pub parameters: HashMap<String, String>,
    /// Where the functions' output goes; the host's stderr when `None`.
    pub log_file: Option<PathBuf>,
    /// How the SQS event sources poll and retry.
    pub pollers: PollerOptions,
    /// How the DynamoDB stream event sources poll and retry.
    pub streams: StreamOptions,
    /// Variables set for every function process over the template's own: a fault test points
    /// the functions' `AWS_ENDPOINT_URL` at a link it can cut while the host keeps its own.
    pub function_environment: HashMap<String, String>,
}

impl StackOptions {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            bin_dir: default_bin_dir(&root),
            root,
            stack_name: "customers-local".into(),
            instances: 2,
            port: 0,
            parameters: local_parameters(),
            log_file: None,
            pollers: PollerOptions::default(),
            streams: StreamOptions::default(),
            function_environment: HashMap::new(),
        }
    }
}

/// The local values of the template's parameters that have no `Default` (a deployer must
/// choose them): the local authorizer's issuer and audience, and the origins of the local
/// console (`infra/local/run` serves it), which calls the API and uploads to the bucket.
pub fn local_parameters() -> HashMap<String, String> {
    HashMap::from([
        ("JwtIssuer".to_owned(), token::ISSUER.to_owned()),
        ("JwtAudience".to_owned(), token::AUDIENCE.to_owned()),
        // The local console's origin: it uploads straight to the bucket.
        (
            "UploadAllowedOrigin".to_owned(),
            "http://127.0.0.1:5173".to_owned(),
        ),
        (
            ALLOWED_ORIGINS_PARAMETER.to_owned(),
            LOCAL_CONSOLE_ORIGINS.to_owned(),
        ),
    ])
}

/// Cargo's debug output directory: `$CARGO_TARGET_DIR/debug`, else `<root>/target/debug`.
pub fn default_bin_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("debug"),
        _ => root.join("target").join("debug"),
    }
}

/// A running stack; dropping it stops the gateway, the SQS and stream pollers and the functions.
pub struct RunningStack {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub address: SocketAddr,
    /// Logical id -> physical name of every table.
    pub tables: HashMap<String, String>,
    /// Logical id -> name of every bucket.
    pub buckets: HashMap<String, String>,
    /// Logical id -> URL of every queue (what `Ref` gives).
    pub queues: HashMap<String, String>,
    /// Logical id -> ARN of every queue.
    pub queue_arns: HashMap<String, String>,
    /// Logical id -> ARN of every topic (what `Ref` gives).
    pub topics: HashMap<String, String>,
    /// The SQS event sources being polled.
    pub event_sources: Vec<SqsEventSource>,
    /// Logical id -> stream ARN of every table with a stream.
    pub streams: HashMap<String, String>,
    /// The DynamoDB stream event sources being read.
    pub stream_sources: Vec<DynamoDbEventSource>,
    /// Logical id -> host of every function.
    pub functions: BTreeMap<String, Arc<LambdaHost>>,
    /// Logical id -> time from process start to ready, per instance.
    pub startup_times: BTreeMap<String, Vec<Duration>>,
    pub secret: DevSecret,
    server: JoinHandle<std::io::Result<()>>,
    pollers: Pollers,
    stream_pollers: StreamPollers,
}

impl Drop for RunningStack {
    fn drop(&mut self) {
        self.pollers.stop();
        self.stream_pollers.stop();
        self.server.abort();
    }
}

impl RunningStack {
    /// Serves until the gateway fails (it does not stop on its own).
    pub async fn serve_forever(mut self) -> Result<()> {
        match (&mut self.server).await {
            Ok(result) => result.map_err(Error::from),
            Err(error) => Err(Error::Host(format!("gateway task ended: {error}"))),
        }
    }
}

/// Creates the tables, topics, queues and buckets, starts every function and waits until each
/// instance is ready, then starts the gateway, the SQS pollers and the stream pollers. The
/// clients other than `client` come from the environment's configuration (see
/// [`crate::try_aws_config`]).
pub async fn start(
    options: &StackOptions,
    client: &aws_sdk_dynamodb::Client,
) -> Result<RunningStack> {
    let mut clients = AwsClients::from_env().await?;
    clients.dynamodb = client.clone();
    start_with_clients(options, &clients).await
}

/// [`start`] with the given clients.
pub async fn start_with_clients(
    options: &StackOptions,
    clients: &AwsClients,
) -> Result<RunningStack> {
    let template = Template::load(options.root.join(TEMPLATE_PATH))?;
    let created =
        resources::create_stack(clients, &template, &options.stack_name, &options.parameters)
            .await?;
    let secret = DevSecret::load_or_create(options.root.join(token::SECRET_PATH))?;

    let mut functions = BTreeMap::new();
    let mut routes: Vec<Route> = Vec::new();
    let mut sources: Vec<(SqsEventSource, Arc<LambdaHost>)> = Vec::new();
    let mut stream_sources: Vec<(DynamoDbEventSource, Arc<LambdaHost>)> = Vec::new();
    for function in template.functions() {
        let mut env = template.environment(&function, &created.names)?;
        env.extend(options.function_environment.clone());
        let host_options = HostOptions {
            // The function's own timeout, as Lambda enforces it (API Gateway's 30 s is longer).
            timeout: Duration::from_secs(function.timeout_seconds.unwrap_or(30)),
            memory_size_mb: function.memory_size_mb.unwrap_or(128),
            log_file: options.log_file.clone(),
        };
        let name = format!("{}-{}", options.stack_name, function.logical_id);
        let binary = options.bin_dir.join(&function.binary);
        let host =
            LambdaHost::start_with(&binary, &name, env, options.instances, host_options).await?;
        let host = Arc::new(host);
        // A function without HttpApi events (an SQS consumer) simply has no routes.
        routes.extend(gateway::routes_for(&function, host.clone()));
        for source in sqs_event_sources(&template, &function, &created, options.instances)? {
            sources.push((source, host.clone()));
        }
        for source in dynamodb_event_sources(&template, &function, &created, host.function_arn())? {
            stream_sources.push((source, host.clone()));
        }
        for (event, kind) in &function.other_events {
            tracing::warn!(
                "{}: event {event} (Type: {kind}) is not delivered locally",
                function.logical_id
            );
        }
        functions.insert(function.logical_id.clone(), host);
    }

    let mut startup_times = BTreeMap::new();
    for (logical_id, host) in &functions {
        startup_times.insert(logical_id.clone(), host.wait_ready(READY_TIMEOUT).await?);
    }

    let listener = TcpListener::bind(("127.0.0.1", options.port)).await?;
    let address = listener.local_addr()?;
    let cors = Cors::from_template(&template, &created.names)?;
    let server = tokio::spawn(gateway::serve(listener, routes, secret.clone(), cors));
    let mut pollers = Pollers::new();
    let mut event_sources = Vec::new();
    for (source, host) in sources {
        pollers.start(
            clients.sqs.clone(),
            source.clone(),
            host,
            options.pollers.clone(),
        );
        event_sources.push(source);
    }
    let mut stream_pollers = StreamPollers::new();
    let mut started_streams = Vec::new();
    for (source, host) in stream_sources {
        stream_pollers.start(
            clients.dynamodb_streams.clone(),
            clients.sqs.clone(),
            source.clone(),
            host,
            options.streams.clone(),
        );
        started_streams.push(source);
    }
    Ok(RunningStack {
        url: format!("http://{address}"),
        address,
        tables: created.tables.clone(),
        buckets: created.buckets.clone(),
        queues: created.queue_urls(),
        queue_arns: created
            .queues
            .iter()
            .map(|(id, queue)| (id.clone(), queue.arn.clone()))
            .collect(),
        topics: created.topic_arns(),
        event_sources,
        streams: created.streams.clone(),
        stream_sources: started_streams,
        functions,
        startup_times,
        secret,
        server,
        pollers,
        stream_pollers,
    })
}

/// The function's enabled SQS events, each resolved to the template queue it reads. An event
/// on a queue the template does not declare is an error: there would be nothing to poll.
pub fn sqs_event_sources(
    template: &Template,
    function: &FunctionDef,
    created: &StackResources,
    instances: usize,
) -> Result<Vec<SqsEventSource>> {
    let mut sources = Vec::new();
    for event in &function.sqs_events {
        if !event.enabled {
            tracing::info!(
                "{}: SQS event {} is disabled (Enabled: false)",
                function.logical_id,
                event.name
            );
            continue;
        }
        let fail = |message: String| {
            Error::Template(format!(
                "{}: SQS event {}: {message}",
                function.logical_id, event.name
            ))
        };
        let queue_ref = template
            .resolve(&event.queue, &created.names)
            .map_err(|e| fail(format!("Queue: {e}")))?;
        let queue = created
            .queues
            .values()
            .find(|q| q.arn == queue_ref || q.url == queue_ref)
            .ok_or_else(|| fail(format!("{queue_ref} is not a queue of the template")))?;
        // Like Lambda's pollers, several batches at once, bounded by the instances there are
        // to run them and by ScalingConfig.MaximumConcurrency.
        let limit = event.maximum_concurrency.map_or(usize::MAX, |n| n as usize);
        sources.push(SqsEventSource {
            function: function.logical_id.clone(),
            event: event.name.clone(),
            queue_url: queue.url.clone(),
            queue_arn: queue.arn.clone(),
            batch_size: event.batch_size,
            batching_window: Duration::from_secs(event.maximum_batching_window_seconds.into()),
            report_batch_item_failures: event.reports_batch_item_failures(),
            concurrency: instances.min(limit).max(1),
        });
    }
    Ok(sources)
}

/// The function's enabled DynamoDB events, each resolved to the local stream of a template
/// table and to its on-failure queue. An event on a stream the template's tables do not have,
/// or with an on-failure destination that is not a template queue, is an error.
/// `function_arn` goes into the on-failure records.
pub fn dynamodb_event_sources(
    template: &Template,
    function: &FunctionDef,
    created: &StackResources,
    function_arn: &str,
) -> Result<Vec<DynamoDbEventSource>> {
    let mut sources = Vec::new();
    for event in &function.dynamodb_events {
        if !event.enabled {
            tracing::info!(
                "{}: DynamoDB event {} is disabled (Enabled: false)",
                function.logical_id,
                event.name
            );
            continue;
        }
        let fail = |message: String| {
            Error::Template(format!(
                "{}: DynamoDB event {}: {message}",
                function.logical_id, event.name
            ))
        };
        let stream_arn = template
            .resolve(&event.stream, &created.names)
            .map_err(|e| fail(format!("Stream: {e}")))?;
        if !created.streams.values().any(|arn| *arn == stream_arn) {
            return Err(fail(format!(
                "{stream_arn} is not the stream of a template table"
            )));
        }
        let on_failure_queue_url =
            match &event.on_failure {
                None => None,
                Some(destination) => {
                    let arn = template
                        .resolve(destination, &created.names)
                        .map_err(|e| fail(format!("DestinationConfig.OnFailure: {e}")))?;
                    let queue = created.queues.values().find(|q| q.arn == arn).ok_or_else(
                        || {
                            fail(format!(
                                "DestinationConfig.OnFailure: {arn} is not a queue of the template"
                            ))
                        },
                    )?;
                    Some(queue.url.clone())
                }
            };
        sources.push(DynamoDbEventSource {
            function: function.logical_id.clone(),
            event: event.name.clone(),
            function_arn: function_arn.to_owned(),
            stream_arn,
            starting_position: event.starting_position,
            batch_size: event.batch_size,
            batching_window: Duration::from_secs(event.maximum_batching_window_seconds.into()),
            maximum_retry_attempts: event.maximum_retry_attempts,
            bisect_batch_on_function_error: event.bisect_batch_on_function_error,
            report_batch_item_failures: event.reports_batch_item_failures(),
            on_failure_queue_url,
            filters: event.filters.clone(),
        });
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Mutex;

    use aws_sdk_dynamodb::types::AttributeValue;
    use serde_json::Value;

    use super::*;
    use crate::gateway::Invoke;
    use crate::lambda_host::InvokeError;

    const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:f";

    /// Needs the emulator; without `AWS_ENDPOINT_URL` it says so and passes. The function
    /// binaries are not needed: only the mappings and environments are resolved.
    #[tokio::test]
    async fn the_notification_functions_read_the_table_stream_and_get_the_topic_arn() {
        if std::env::var("AWS_ENDPOINT_URL").is_err() {
            eprintln!("skipped: AWS_ENDPOINT_URL is not set");
            return;
        }
        let root = crate::find_repo_root(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let template = Template::load(root.join(TEMPLATE_PATH)).unwrap();
        let clients = AwsClients::from_env().await.unwrap();
        let stack = format!("dh-{}", ulid::Ulid::new().to_string().to_lowercase());
        let created = resources::create_stack(&clients, &template, &stack, &HashMap::new())
            .await
            .unwrap();
        let stream = &created.streams["CustomersTable"];
        let dead_letters = &created.queues["NotificationsDeadLetterQueue"].url;
        let topic = &created.topics["TechnicianNotificationsTopic"].arn;

        let mut mappings = Vec::new();
        for (logical_id, event, filters) in [
            ("CustomersCascadeFunction", "CustomerDeactivated", 4),
            (
                "TechnicianNotificationsFunction",
                "AssignmentsAndNewWork",
                2,
            ),
            ("CustomerTextsFunction", "VisitChanges", 1),
        ] {
            let function = template.function(logical_id).unwrap();
            let [source] = dynamodb_event_sources(&template, function, &created, FUNCTION_ARN)
                .unwrap()
                .try_into()
                .unwrap_or_else(|s: Vec<_>| panic!("{logical_id}: {s:?}"));
            assert_eq!(source.function, logical_id);
            assert_eq!(source.event, event);
            assert_eq!(&source.stream_arn, stream, "{logical_id}");
            assert_eq!(source.filters.len(), filters, "{logical_id}");
            assert!(source.report_batch_item_failures && source.bisect_batch_on_function_error);
            assert_eq!(source.maximum_retry_attempts, Some(5));
            mappings.push(source);
        }
        let [_, notifications, texts] = mappings.as_slice() else {
            unreachable!()
        };
        assert_eq!(notifications.batch_size, 25);
        assert_eq!(texts.batch_size, 25);
        for source in [notifications, texts] {
            assert_eq!(source.on_failure_queue_url.as_ref(), Some(dead_letters));
            assert!(
                sqs_event_sources(
                    &template,
                    template.function(&source.function).unwrap(),
                    &created,
                    2
                )
                .unwrap()
                .is_empty()
            );
        }

        let env = |logical_id: &str| {
            template
                .environment(template.function(logical_id).unwrap(), &created.names)
                .unwrap()
        };
        let notifications_env = env("TechnicianNotificationsFunction");
        assert_eq!(&notifications_env["TOPIC_ARN"], topic);
        assert_eq!(
            notifications_env["TABLE_NAME"],
            created.tables["CustomersTable"]
        );
        assert_eq!(
            env("CustomerTextsFunction")["TABLE_NAME"],
            created.tables["CustomersTable"]
        );
    }

    /// Records every event and answers each with an empty partial batch response.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Value>>);

    impl Invoke for Recorder {
        fn invoke(
            &self,
            event: Value,
        ) -> Pin<Box<dyn Future<Output = Result<Value, InvokeError>> + Send + '_>> {
            self.0.lock().unwrap().push(event);
            Box::pin(async { Ok(serde_json::json!({ "batchItemFailures": [] })) })
        }
    }

    /// The two filters of the technicians' mapping (OR) against the emulator's own stream
    /// records: the `ASSIGNEE#` prefix on the sort key in `Keys`, and new orders and fault
    /// reports in `NewImage`.
    #[tokio::test]
    async fn the_technicians_mapping_delivers_assignments_and_new_work_only() {
        if std::env::var("AWS_ENDPOINT_URL").is_err() {
            eprintln!("skipped: AWS_ENDPOINT_URL is not set");
            return;
        }
        let root = crate::find_repo_root(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let template = Template::load(root.join(TEMPLATE_PATH)).unwrap();
        let clients = AwsClients::from_env().await.unwrap();
        let stack = format!("dh-{}", ulid::Ulid::new().to_string().to_lowercase());
        let created = resources::create_stack(&clients, &template, &stack, &HashMap::new())
            .await
            .unwrap();
        let table = &created.tables["CustomersTable"];
        let function = template
            .function("TechnicianNotificationsFunction")
            .unwrap();
        let [source] = dynamodb_event_sources(&template, function, &created, FUNCTION_ARN)
            .unwrap()
            .try_into()
            .unwrap();
        let put = |sk: &str, entity: &str, kind: Option<&str>| {
            let request = clients
                .dynamodb
                .put_item()
                .table_name(table)
                .item("PK", AttributeValue::S("T#acme#C#1".into()))
                .item("SK", AttributeValue::S(sk.into()))
                .item("entity", AttributeValue::S(entity.into()));
            // Work orders carry who wrote them; the mapping passes none a merge moved.
            let request = match kind {
                Some(kind) => request
                    .item("kind", AttributeValue::S(kind.into()))
                    .item("updatedBy", AttributeValue::S("ada".into())),
                None => request,
            };
            async move { request.send().await.unwrap() }
        };
        put("ASSIGNEE#u1", "Assignment", None).await; // INSERT: delivered
        put("ASSIGNEE#u1", "Assignment", None).await; // MODIFY: not
        put("WO#1", "WorkOrder", Some("order")).await; // delivered
        put("WO#2", "WorkOrder", Some("quotation")).await; // not
        put("WO#1", "WorkOrder", Some("order")).await; // MODIFY: not
        put("WO#3", "WorkOrder", Some("faultReport")).await; // delivered
        put("JOB#1", "Job", None).await; // not
        clients
            .dynamodb
            .delete_item()
            .table_name(table)
            .key("PK", AttributeValue::S("T#acme#C#1".into()))
            .key("SK", AttributeValue::S("ASSIGNEE#u1".into()))
            .send()
            .await
            .unwrap(); // REMOVE: delivered

        let recorder = Arc::new(Recorder::default());
        let mut pollers = StreamPollers::new();
        let options = StreamOptions {
            idle_delay: Duration::from_millis(50),
            shard_refresh: Duration::from_secs(1),
            ..StreamOptions::default()
        };
        pollers.start(
            clients.dynamodb_streams.clone(),
            clients.sqs.clone(),
            source,
            recorder.clone(),
            options,
        );
        let delivered = || -> Vec<(String, String)> {
            let events = recorder.0.lock().unwrap();
            events
                .iter()
                .flat_map(|e| e["Records"].as_array().cloned().unwrap_or_default())
                .map(|r| {
                    let name = r["eventName"].as_str().unwrap_or_default().to_owned();
                    let sk = r["dynamodb"]["Keys"]["SK"]["S"]
                        .as_str()
                        .unwrap_or_default();
                    (name, sk.to_owned())
                })
                .collect()
        };
        for _ in 0..200 {
            if delivered().len() >= 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        pollers.stop();
        let expected = [
            ("INSERT", "ASSIGNEE#u1"),
            ("INSERT", "WO#1"),
            ("INSERT", "WO#3"),
            ("REMOVE", "ASSIGNEE#u1"),
        ]
        .map(|(name, sk)| (name.to_owned(), sk.to_owned()));
        assert_eq!(delivered(), expected);
    }
}
