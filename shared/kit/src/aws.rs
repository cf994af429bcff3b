//! AWS clients, built once per cold start. The endpoint comes from the standard
//! `AWS_ENDPOINT_URL`, so the same binary talks to a local emulator, LocalStack or AWS.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        // Three attempts with backoff for throttling and transient faults: enough to ride out
        // a blip, few enough to stay inside API Gateway's 30 s integration timeout.
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        // DynamoDB answers in milliseconds; a stuck connection should fail fast and be retried.
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
        .load()
        .await
}

pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// The S3 client, with path-style addressing (`https://host/bucket/key`): a local emulator
/// reached by host name has no `bucket.host` names to resolve, and S3 itself accepts both.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// Timeouts for SNS publishing. A Publish is not idempotent: an attempt that timed out after
/// SNS accepted the message and is then retried sends it twice. So an attempt may take longer
/// than a DynamoDB call (10 s, within the notification functions' 30 s) before the SDK gives
/// up on it and retries.
pub fn publish_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(20))
        .build()
}

/// A required environment variable, with an error that names it.
pub fn required_env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))
}
