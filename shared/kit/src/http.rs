//! The HTTP client every AWS call goes through: the SDK clients' (through
//! [`AwsHttpClient`]) and the bucket's signed requests ([`crate::objects`]). HTTPS through
//! rustls on ring, trusting Amazon's root certificates only; HTTP/1.1; plain `http://` for a
//! local emulator.
//!
//! Not the SDK's own client (`aws-smithy-http-client`): the same hyper and rustls underneath,
//! but it also links HTTP/2 (h2, a required dependency of it, about 0.3 MB of code) that no AWS
//! endpoint these functions call needs, a proxy layer and the system certificate store's
//! reader.

use std::error::Error;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::TokioExecutor;

/// How long a new connection may take: a stuck one should fail fast and be retried. The
/// bucket's requests use it, and `kit::aws` gives it to every SDK client's settings.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A pool of connections, kept for the next request.
pub(crate) type Pool = Client<HttpsConnector<TcpConnector>, SdkBody>;

/// The pool, with `connect_timeout` for each new connection.
pub(crate) fn pool(connect_timeout: Duration) -> Pool {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in crate::aws::aws_root_certificates() {
        roots
            .add(certificate)
            .expect("Amazon's root certificates are valid");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = TcpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(connect_timeout));
    tcp.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Client::builder(TokioExecutor::new()).build(https)
}

/// The SDK clients' HTTP client. Its pool is built at the first request, with the connect
/// timeout the SDK's settings give then. One pool per client rather than per process: a
/// pool's connections belong to the Tokio runtime that opened them, and tests run many.
#[derive(Debug, Default)]
pub struct AwsHttpClient {
    pool: OnceLock<Pool>,
}

impl HttpClient for AwsHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let pool = self
            .pool
            .get_or_init(|| pool(settings.connect_timeout().unwrap_or(CONNECT_TIMEOUT)));
        SharedHttpConnector::new(Connector(pool.clone()))
    }
}

#[derive(Debug)]
struct Connector(Pool);

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let pool = self.0.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?;
            let response = pool.request(request).await.map_err(connector_error)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// What the SDK's retry strategy needs to know of a failed exchange, as its own client
/// classifies hyper's errors: no connection, a connection closed or broken, an answer cut
/// short are worth another attempt; a request hyper refused is not.
fn connector_error(error: hyper_util::client::legacy::Error) -> ConnectorError {
    let kind = match find_source::<hyper::Error>(&error) {
        Some(e) if e.is_timeout() => Kind::Timeout,
        Some(e) if e.is_user() => Kind::User,
        Some(e) if e.is_closed() || e.is_canceled() => Kind::Io,
        Some(e) if e.is_incomplete_message() => Kind::Transient,
        _ if error.is_connect() || find_source::<std::io::Error>(&error).is_some() => Kind::Io,
        _ => Kind::Other,
    };
    let error = error.into();
    match kind {
        Kind::Timeout => ConnectorError::timeout(error),
        Kind::User => ConnectorError::user(error),
        Kind::Io => ConnectorError::io(error),
        Kind::Transient => ConnectorError::other(error, Some(ErrorKind::TransientError)),
        Kind::Other => ConnectorError::other(error, None),
    }
}

enum Kind {
    Timeout,
    User,
    Io,
    Transient,
    Other,
}

fn find_source<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error_the_sdk_retries() {
        // A port nothing listens on: the connection is refused at once.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let request = http::Request::get(format!("http://127.0.0.1:{port}/"))
            .body(SdkBody::empty())
            .unwrap();
        let error = pool(CONNECT_TIMEOUT).request(request).await.unwrap_err();
        let error = connector_error(error);
        assert!(error.is_io(), "{error:?}");
    }

    #[tokio::test]
    async fn an_answer_comes_back_through_the_sdks_types() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buffer = [0u8; 1024];
            let _ = socket.read(&mut buffer).await.unwrap();
            socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-amzn-requestid: r1\r\n\r\nok",
                )
                .await
                .unwrap();
        });
        let request = HttpRequest::try_from(
            http::Request::post(format!("http://127.0.0.1:{port}/"))
                .body(SdkBody::from("{}"))
                .unwrap(),
        )
        .unwrap();
        let response = Connector(pool(CONNECT_TIMEOUT))
            .call(request)
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers().get("x-amzn-requestid"), Some("r1"));
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&body[..], b"ok");
    }
}
