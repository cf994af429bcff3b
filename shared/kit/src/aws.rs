//! AWS clients, built once per cold start. The endpoint comes from the standard
//! `AWS_ENDPOINT_URL`, so the same binary talks to a local emulator, LocalStack or AWS.

use std::time::Duration;

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{SharedCredentialsProvider, SharedHttpClient};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Amazon Trust Services' root certificates: every AWS service endpoint's certificate chains
/// to one of them (AWS finished moving its endpoints there in 2022).
const AWS_ROOT_CERTIFICATES: &[u8] = include_bytes!("aws-roots.pem");

/// The configuration of every client, from what Lambda puts in the environment: the region
/// (`AWS_REGION`), the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and, locally, `AWS_ENDPOINT_URL`. Not
/// aws-config's loader: its default chains (profile files, web identity, container and
/// instance credentials) are built at every cold start and find nothing more on Lambda, and
/// they bring an STS client into every binary.
pub async fn sdk_config() -> SdkConfig {
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok()
        .map(Region::new);
    let credentials = EnvironmentVariableCredentialsProvider::new();
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http_client())
        // Three attempts with backoff for throttling and transient faults: enough to ride out
        // a blip, few enough to stay inside API Gateway's 30 s integration timeout.
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        // DynamoDB answers in milliseconds; a stuck connection should fail fast and be retried.
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(crate::http::CONNECT_TIMEOUT)
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
        // The answers of DynamoDB, SNS and SQS are read whole within the attempt's timeout, so
        // the stalled-stream watch (a timer and a throughput log around every request and
        // response body) protects nothing there, and it cost CPU on every call in the bench
        // (docs/architecture.md#performance). Objects, streamed after the attempt, have a
        // watch of their own (`objects::Object::into_async_read`).
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL")
        && !endpoint.trim().is_empty()
    {
        config = config.endpoint_url(endpoint);
    }
    config.build()
}

/// The HTTP client of every AWS client: HTTPS through rustls on ring, trusting Amazon's root
/// certificates only (see [`crate::http`]). The SDK's default (rustls on aws-lc, trusting the
/// system's store) costs a cold start dearly: it reads and parses every certificate of the
/// store each time a client is built, and aws-lc's CPU-jitter entropy source runs for tens of
/// milliseconds at the first handshake on a small Lambda. Plain `http://` endpoints (the local
/// emulator) work too.
pub fn http_client() -> SharedHttpClient {
    SharedHttpClient::new(crate::http::AwsHttpClient::default())
}

/// [`AWS_ROOT_CERTIFICATES`], each in DER, for a TLS set-up of our own (`crate::objects`).
pub(crate) fn aws_root_certificates() -> impl Iterator<Item = CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(AWS_ROOT_CERTIFICATES)
        .map(|certificate| certificate.expect("aws-roots.pem holds certificates only"))
}

/// A required environment variable, with an error that names it.
pub fn required_env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Region};

    /// The bundle holds Amazon's five roots, and they parse: a bundle that does not fails
    /// here rather than at a first request.
    #[tokio::test]
    async fn clients_build_with_amazons_root_certificates() {
        assert_eq!(
            String::from_utf8_lossy(super::AWS_ROOT_CERTIFICATES)
                .matches("-----BEGIN CERTIFICATE-----")
                .count(),
            5
        );
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-north-1"))
            .http_client(super::http_client())
            .build();
        let _client = aws_sdk_dynamodb::Client::from_conf(config);
        assert_eq!(super::aws_root_certificates().count(), 5);
        let _pool = crate::http::pool(crate::http::CONNECT_TIMEOUT);
    }
}
