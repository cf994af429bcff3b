//! The local stand-in for what AWS runs around our functions: the DynamoDB tables, SNS topics,
//! SQS queues and S3 buckets of `infra/template.yaml` created in the emulator behind
//! `AWS_ENDPOINT_URL` ([`resources`]), a Lambda Runtime API that runs the built function
//! binaries ([`lambda_host`]), an HTTP API (payload format 2.0) with the JWT authorizer played
//! by a local HS256 secret ([`gateway`], [`token`]) with the API's CORS ([`cors`]), and Lambda's event source mappings for SQS
//! queues ([`event_sources`]) and DynamoDB streams ([`stream_sources`], with the event filtering
//! of [`filter`]). Everything is read from the template, so local and deployed cannot drift apart.

pub mod cors;
pub mod event_sources;
pub mod filter;
pub mod gateway;
pub mod lambda_host;
pub mod resources;
pub mod stack;
pub mod stream_sources;
pub mod template;
pub mod token;

use std::path::{Path, PathBuf};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, Region};

pub use cors::Cors;
pub use event_sources::{PollerOptions, Pollers, SqsEventSource};
pub use filter::FilterPattern;
pub use gateway::{Invoke, Route, serve};
pub use lambda_host::{HostOptions, InvokeError, LambdaHost};
pub use resources::{
    LocalQueue, LocalTopic, StackResources, create_all, create_stack, create_table, delete_table,
};
pub use stack::{ALLOWED_ORIGINS_PARAMETER, RunningStack, StackOptions};
pub use stream_sources::{DynamoDbEventSource, StreamOptions, StreamPollers};
pub use template::{
    BucketDef, DynamoDbEventDef, FunctionDef, HttpApiCorsDef, QueueDef, SqsEventDef,
    StartingPosition, TableDef, Template, TopicDef,
};
pub use token::{DevSecret, issue, verify};

/// Where the template lives, relative to the repository root; also how the root is recognised.
pub const TEMPLATE_PATH: &str = "infra/template.yaml";
/// The region used when the environment names none: the emulator accepts any.
pub const DEFAULT_REGION: &str = "us-east-1";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("template: {0}")]
    Template(String),
    #[error("AWS: {0}")]
    Aws(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("lambda host: {0}")]
    Host(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The repository root: the nearest directory at or above `start` holding `infra/template.yaml`.
pub fn find_repo_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(TEMPLATE_PATH).is_file())
        .map(Path::to_path_buf)
}

/// [`find_repo_root`] from the current directory, as an error a person can act on.
pub fn repo_root() -> Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    find_repo_root(&cwd).ok_or_else(|| {
        Error::Config(format!(
            "no {TEMPLATE_PATH} in {} or any parent: run from inside the repository",
            cwd.display()
        ))
    })
}

/// SDK configuration for the local emulator. Panics with the reason when `AWS_ENDPOINT_URL` is
/// unset: tests and tools must never fall through to real AWS. See [`try_aws_config`].
pub async fn aws_config() -> SdkConfig {
    match try_aws_config().await {
        Ok(config) => config,
        Err(error) => panic!("{error}"),
    }
}

/// SDK configuration for the emulator at `AWS_ENDPOINT_URL`. Region and credentials come from
/// the environment like everywhere else; when it has none, a region and dummy keys are filled in
/// because the emulator needs a signature but checks nothing.
pub async fn try_aws_config() -> Result<SdkConfig> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .ok_or_else(|| {
            Error::Config(
                "AWS_ENDPOINT_URL is not set: start the local emulator with infra/local/run, or \
                 export AWS_ENDPOINT_URL=http://127.0.0.1:4566 for one already running"
                    .into(),
            )
        })?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(kit::aws::http_client())
        .endpoint_url(endpoint);
    if env_missing("AWS_REGION") && env_missing("AWS_DEFAULT_REGION") {
        loader = loader.region(Region::new(DEFAULT_REGION));
    }
    if env_missing("AWS_ACCESS_KEY_ID") {
        loader =
            loader.credentials_provider(Credentials::new("test", "test", None, None, "devhost"));
    }
    Ok(loader.load().await)
}

fn env_missing(name: &str) -> bool {
    std::env::var(name).map_or(true, |value| value.is_empty())
}

/// The DynamoDB client for the emulator (see [`aws_config`]).
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&aws_config().await)
}

/// The S3 client for the emulator (see [`aws_config`]).
pub async fn s3_client() -> aws_sdk_s3::Client {
    s3_client_for(&aws_config().await)
}

/// An S3 client with path-style addressing (`http://host:port/bucket/key`): the emulator's
/// endpoint has no `bucket.host` names to resolve.
pub fn s3_client_for(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// The SQS client for the emulator (see [`aws_config`]).
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws_config().await)
}

/// The SNS client for the emulator (see [`aws_config`]).
pub async fn sns_client() -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(&aws_config().await)
}

/// The DynamoDB Streams client for the emulator (see [`aws_config`]).
pub async fn dynamodb_streams_client() -> aws_sdk_dynamodbstreams::Client {
    aws_sdk_dynamodbstreams::Client::new(&aws_config().await)
}

/// A client for every service the template's resources live in.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Reads the tables' streams (the DynamoDB event sources).
    pub dynamodb_streams: aws_sdk_dynamodbstreams::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// Creates the topics (the functions publish with their own clients).
    pub sns: aws_sdk_sns::Client,
}

impl AwsClients {
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            dynamodb_streams: aws_sdk_dynamodbstreams::Client::new(config),
            s3: s3_client_for(config),
            sqs: aws_sdk_sqs::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
        }
    }

    /// Clients for the emulator at `AWS_ENDPOINT_URL` (see [`try_aws_config`]).
    pub async fn from_env() -> Result<Self> {
        Ok(Self::new(&try_aws_config().await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_root_is_found_from_a_nested_directory() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = find_repo_root(here).expect("root above the crate");
        assert!(root.join(TEMPLATE_PATH).is_file());
        assert!(here.starts_with(&root));
    }
}
