//! The whole local stack in one call: the template's tables, queues and buckets in the
//! emulator, a [`LambdaHost`] per function with its environment resolved to the local names,
//! the gateway in front, a poller per SQS event source and one per DynamoDB stream event source. `devhost up` is this plus printing;
//! end-to-end tests can start it in-process.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::event_sources::{PollerOptions, Pollers, SqsEventSource};
use crate::gateway::{self, Route};
use crate::lambda_host::{HostOptions, LambdaHost};
use crate::resources::StackResources;
use crate::stream_sources::{DynamoDbEventSource, StreamOptions, StreamPollers};
use crate::template::{FunctionDef, Template};
use crate::token::{self, DevSecret};
use crate::{AwsClients, Error, Result, TEMPLATE_PATH, resources};

/// How long the functions may take to start before `start` gives up on them.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

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
            parameters: HashMap::from([
                ("JwtIssuer".to_owned(), token::ISSUER.to_owned()),
                ("JwtAudience".to_owned(), token::AUDIENCE.to_owned()),
            ]),
            log_file: None,
            pollers: PollerOptions::default(),
            streams: StreamOptions::default(),
        }
    }
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

/// Creates the tables, queues and buckets, starts every function and waits until each instance
/// is ready, then starts the gateway, the SQS pollers and the stream pollers. S3 and SQS clients come from the
/// environment's configuration (see [`crate::try_aws_config`]).
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
        let env = template.environment(&function, &created.names)?;
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
    let server = tokio::spawn(gateway::serve(listener, routes, secret.clone()));
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
