//! The customers API: API Gateway HTTP API (payload v2) events in, JSON or RFC 9457 problem
//! documents out. Handlers are thin: parse, call the domain, call the store, shape a response.

mod app;
mod handlers;
mod http;
pub mod merge_patch;
pub mod routes;
mod view;

pub use app::App;

use lambda_http::{Body, Error, Request, Response};

/// The Lambda entry point. Every failure becomes a problem document; nothing escapes as a
/// Lambda error, so API Gateway never answers a bare 500 of its own.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, Error> {
    Ok(match routes::dispatch(app, request).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    })
}
