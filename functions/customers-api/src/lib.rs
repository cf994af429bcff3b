//! The customers API: API Gateway HTTP API (payload v2) events in, JSON or RFC 9457 problem
//! documents out. Handlers are thin adapters: they read the request into typed input, call a
//! use case (`usecases`: the rules, over the domain and the store) and shape the response.

mod app;
pub mod bucket;
mod handlers;
mod http;
pub mod queue;
pub mod routes;
mod strict_json;
pub mod upload_policy;
pub mod usecases;
mod view;

pub use app::App;

use std::future::{Future, ready};
use std::pin::Pin;

use lambda_http::{Body, Error, IntoResponse, Request, RequestExt, Response};

/// The Lambda entry point. Every failure becomes a problem document; nothing escapes as a
/// Lambda error, so API Gateway never answers a bare 500 of its own. One log line per request:
/// request id, route, tenant (from the verified token), cold start, status, duration; no
/// personal data (no bodies, no query strings, no user ids).
pub async fn handle(app: &App, request: Request) -> Result<Verbatim, Error> {
    let started = std::time::Instant::now();
    let cold_start = kit::logging::cold_start();
    let request_id = request
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let route = routes::route_key(&request).unwrap_or_default();
    let tenant = kit::Caller::from_request(&request, &app.claims)
        .map(|caller| caller.tenant)
        .unwrap_or_default();
    let response = match routes::dispatch(app, request).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    };
    let status = response.status();
    tracing::info!(
        request_id,
        route,
        tenant,
        cold_start,
        status = status.as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    if status.is_server_error() {
        // 503 (AWS unavailable) apart from 500 (a bug): they call for different actions.
        kit::metrics::Metrics::new(FUNCTION)
            .dimension("Status", status.as_str())
            .count("ServerErrors", 1)
            .property("route", route)
            .emit();
    }
    Ok(Verbatim(response))
}

/// The name this function's metrics go by.
pub(crate) const FUNCTION: &str = "customers-api";

/// A response sent exactly as the handler built it. lambda_http's `IntoResponse` for
/// `Response<B>` decodes every text body again by its charset, with encoding_rs, which drops a
/// leading byte-order mark: the one the CSV template carries so that Excel reads it as UTF-8.
/// Our bodies are already `Body::Text` (or `Body::Empty`), so there is nothing to convert.
pub struct Verbatim(pub Response<Body>);

impl IntoResponse for Verbatim {
    fn into_response(self) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
        Box::pin(ready(self.0))
    }
}
