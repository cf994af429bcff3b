//! The whole local stack in one call: the template's tables in the emulator, a [`LambdaHost`]
//! per function with its environment resolved to the local names, and the gateway in front.
//! `devhost up` is this plus printing; end-to-end tests can start it in-process.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::gateway::{self, Route};
use crate::lambda_host::{HostOptions, LambdaHost};
use crate::template::Template;
use crate::token::{self, DevSecret};
use crate::{Error, Result, TEMPLATE_PATH, resources};

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

/// A running stack; dropping it stops the gateway and the functions.
pub struct RunningStack {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub address: SocketAddr,
    /// Logical id -> physical name of every table.
    pub tables: HashMap<String, String>,
    /// Logical id -> host of every function.
    pub functions: BTreeMap<String, Arc<LambdaHost>>,
    /// Logical id -> time from process start to ready, per instance.
    pub startup_times: BTreeMap<String, Vec<Duration>>,
    pub secret: DevSecret,
    server: JoinHandle<std::io::Result<()>>,
}

impl Drop for RunningStack {
    fn drop(&mut self) {
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

/// Creates the tables, starts every function and waits until each instance is ready, then
/// starts the gateway.
pub async fn start(
    options: &StackOptions,
    client: &aws_sdk_dynamodb::Client,
) -> Result<RunningStack> {
    let template = Template::load(options.root.join(TEMPLATE_PATH))?;
    let tables = resources::create_all(client, &template, &options.stack_name).await?;
    let secret = DevSecret::load_or_create(options.root.join(token::SECRET_PATH))?;
    let mut names = options.parameters.clone();
    names.extend(tables.clone());
    names.insert("AWS::StackName".into(), options.stack_name.clone());

    let mut functions = BTreeMap::new();
    let mut routes: Vec<Route> = Vec::new();
    for function in template.functions() {
        let env = template.environment(&function, &names)?;
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
        routes.extend(gateway::routes_for(&function, host.clone()));
        functions.insert(function.logical_id.clone(), host);
    }

    let mut startup_times = BTreeMap::new();
    for (logical_id, host) in &functions {
        startup_times.insert(logical_id.clone(), host.wait_ready(READY_TIMEOUT).await?);
    }

    let listener = TcpListener::bind(("127.0.0.1", options.port)).await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(gateway::serve(listener, routes, secret.clone()));
    Ok(RunningStack {
        url: format!("http://{address}"),
        address,
        tables,
        functions,
        startup_times,
        secret,
        server,
    })
}
