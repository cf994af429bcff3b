//! A local API Gateway HTTP API: routes from the template's `HttpApi` events, the JWT
//! authorizer played with the local secret, and Lambda proxy integrations with payload format
//! 2.0, built and read back the way API Gateway does, so the functions cannot tell the
//! difference.
//!
//! References: "Create AWS Lambda proxy integrations for HTTP APIs in API Gateway"
//! (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html)
//! for the event and response formats, "Routes for HTTP APIs" for route selection.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use crate::cors::Cors;
use crate::lambda_host::{InvokeError, LambdaHost};
use crate::template::{FunctionDef, LOCAL_ACCOUNT_ID};
use crate::token::{self, DevSecret};

/// API Gateway's payload limit for HTTP APIs.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Stands in for the id API Gateway gives the API.
pub const API_ID: &str = "devhost";
const DEFAULT_ROUTE: &str = "$default";

/// Something that runs a Lambda event: a [`LambdaHost`], or a stand-in in tests.
pub trait Invoke: Send + Sync {
    fn invoke(
        &self,
        event: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, InvokeError>> + Send + '_>>;
}

impl Invoke for LambdaHost {
    fn invoke(
        &self,
        event: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value, InvokeError>> + Send + '_>> {
        Box::pin(LambdaHost::invoke(self, event))
    }
}

/// One route of the API: `method` is upper case or `ANY`; `path` a template such as
/// `/customers/{customerId}`, possibly ending in a greedy `{name+}`, or `$default`.
#[derive(Clone)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub target: Arc<dyn Invoke>,
}

impl Route {
    pub fn new(method: &str, path: &str, target: Arc<dyn Invoke>) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            target,
        }
    }

    /// API Gateway's route key: `GET /customers/{customerId}`, or `$default`.
    pub fn key(&self) -> String {
        if self.path == DEFAULT_ROUTE {
            DEFAULT_ROUTE.to_owned()
        } else {
            format!("{} {}", self.method, self.path)
        }
    }
}

/// The routes of a function's `HttpApi` events, all going to `target`.
pub fn routes_for(function: &FunctionDef, target: Arc<dyn Invoke>) -> Vec<Route> {
    function
        .http_api_events
        .iter()
        .map(|(method, path)| Route::new(method, path, target.clone()))
        .collect()
}

/// The route a request selects, with its path parameters.
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    pub path_parameters: BTreeMap<String, String>,
}

/// Selects the route as API Gateway does: the most specific match wins, i.e. a route without
/// a greedy variable before one with, more literal segments before fewer, the request's own
/// method before `ANY`, and `$default` only when nothing else matches.
pub fn match_route<'a>(routes: &'a [Route], method: &str, path: &str) -> Option<RouteMatch<'a>> {
    routes
        .iter()
        .filter(|route| route.method == "ANY" || route.method.eq_ignore_ascii_case(method))
        .filter_map(|route| {
            let path_parameters = match_path(&route.path, path)?;
            Some((
                specificity(route),
                RouteMatch {
                    route,
                    path_parameters,
                },
            ))
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, found)| found)
}

/// Lower sorts first: (default route, greedy, fewer literal segments, ANY).
fn specificity(route: &Route) -> (bool, bool, usize, bool) {
    let segments: Vec<&str> = route.path.split('/').collect();
    let variables = segments.iter().filter(|s| s.starts_with('{')).count();
    (
        route.path == DEFAULT_ROUTE,
        route.path.ends_with("+}"),
        usize::MAX - (segments.len() - variables),
        route.method == "ANY",
    )
}

/// The path parameters if `path` fits the template; `{name}` takes one non-empty segment,
/// a final `{name+}` the (non-empty) rest.
fn match_path(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    if template == DEFAULT_ROUTE {
        return Some(BTreeMap::new());
    }
    let mut parameters = BTreeMap::new();
    let mut actual = path.split('/');
    for expected in template.split('/') {
        if let Some(name) = expected
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix("+}"))
        {
            let rest: Vec<&str> = actual.by_ref().collect();
            let rest = rest.join("/");
            if rest.is_empty() {
                return None;
            }
            parameters.insert(name.to_owned(), rest);
            return Some(parameters);
        }
        let segment = actual.next()?;
        match expected.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => {
                parameters.insert(name.to_owned(), segment.to_owned());
            }
            Some(_) => return None,
            None if expected == segment => {}
            None => return None,
        }
    }
    actual.next().is_none().then_some(parameters)
}

/// Claims as HTTP APIs hand them to the function: a flat map of strings. Strings pass as they
/// are, numbers and booleans as their JSON text (`"exp": "1612061676"`, as in the event shown
/// in awsdocs/amazon-api-gateway-developer-guide#113), and arrays as their items between
/// brackets separated by spaces (`"[administrator technician]"`, as measured against real API
/// Gateway in aws-solutions-library-samples/guidance-for-claude-code-with-amazon-bedrock#802).
/// For objects and null no capture was found; they become their JSON text.
pub fn flatten_claims(claims: &Map<String, Value>) -> BTreeMap<String, String> {
    claims
        .iter()
        .map(|(name, value)| (name.clone(), claim_text(value)))
        .collect()
}

fn claim_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(claim_text).collect();
            format!("[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

/// Per-request facts API Gateway puts in `requestContext` that the request itself lacks.
pub struct EventContext {
    pub request_id: String,
    pub source_ip: String,
    pub time: DateTime<Utc>,
}

/// The payload format 2.0 event for a request that matched `matched` and was authorized
/// with `claims`. Absent parts (cookies, query, path parameters, body) are left out, as API
/// Gateway leaves them out.
pub fn build_event(
    request: &axum::http::request::Parts,
    body: &[u8],
    matched: &RouteMatch<'_>,
    claims: &BTreeMap<String, String>,
    context: &EventContext,
) -> Value {
    let raw_path = percent_decode(request.uri.path());
    let raw_query = request.uri.query().unwrap_or("");
    let headers = event_headers(&request.headers, context);
    let domain_name = headers
        .get("host")
        .cloned()
        .unwrap_or_else(|| "localhost".into());
    let route_key = matched.route.key();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": API_ID,
            "authorizer": { "jwt": { "claims": claims, "scopes": null } },
            "domainName": domain_name,
            "domainPrefix": domain_name.split('.').next().unwrap_or_default(),
            "http": {
                "method": request.method.as_str(),
                "path": raw_path,
                "protocol": protocol(request.version),
                "sourceIp": context.source_ip,
                "userAgent": headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": context.request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": context.time.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": context.time.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    let fields = event.as_object_mut().expect("built as an object");
    let cookies = cookies(&request.headers);
    if !cookies.is_empty() {
        fields.insert("cookies".into(), json!(cookies));
    }
    let query = query_parameters(raw_query);
    if !query.is_empty() {
        fields.insert("queryStringParameters".into(), json!(query));
    }
    if !matched.path_parameters.is_empty() {
        fields.insert("pathParameters".into(), json!(matched.path_parameters));
    }
    if !body.is_empty() {
        let (text, encoded) = match std::str::from_utf8(body) {
            Ok(text) => (text.to_owned(), false),
            Err(_) => (STANDARD.encode(body), true),
        };
        fields.insert("body".into(), Value::String(text));
        fields.insert("isBase64Encoded".into(), Value::Bool(encoded));
    }
    event
}

/// Lower-case names, repeated values joined with commas, cookies moved out to `cookies`, and
/// the forwarding headers API Gateway adds.
fn event_headers(headers: &HeaderMap, context: &EventContext) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        if name == header::COOKIE {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        out.entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    let forwarded = match out.get("x-forwarded-for") {
        Some(earlier) => format!("{earlier}, {}", context.source_ip),
        None => context.source_ip.clone(),
    };
    out.insert("x-forwarded-for".into(), forwarded);
    out.entry("x-forwarded-proto".into())
        .or_insert_with(|| "http".into());
    let port = out
        .get("host")
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, p)| p.to_owned());
    out.entry("x-forwarded-port".into())
        .or_insert_with(|| port.unwrap_or_else(|| "80".into()));
    out
}

/// Every `Cookie` header split into its `name=value` pairs.
fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|value| {
            String::from_utf8_lossy(value.as_bytes())
                .split(';')
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|cookie| !cookie.is_empty())
        .collect()
}

/// Decoded query parameters, repeated ones joined with commas (payload 2.0 has no multi-value
/// map).
fn query_parameters(raw_query: &str) -> BTreeMap<String, String> {
    let mut parameters: BTreeMap<String, String> = BTreeMap::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        parameters
            .entry(percent_decode(name))
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    parameters
}

/// `%XX` decoding. HTTP APIs hand the function the decoded path (rawPath included) and decoded
/// query values; `+` is left as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn protocol(version: axum::http::Version) -> &'static str {
    match version {
        axum::http::Version::HTTP_10 => "HTTP/1.0",
        axum::http::Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    }
}

/// The HTTP response for a function's payload 2.0 response. An object with `statusCode` is
/// taken apart (headers, multiValueHeaders, cookies, body, isBase64Encoded); any other JSON is
/// "inferred" as API Gateway does: 200, `application/json`, the JSON itself as the body.
pub fn http_response(function_response: Value) -> Response {
    match function_response {
        Value::Object(fields) if fields.contains_key("statusCode") => {
            structured_response(&fields).unwrap_or_else(internal_server_error)
        }
        other => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            other.to_string(),
        )
            .into_response(),
    }
}

/// `None` for a response API Gateway could not use (it answers 500 then).
fn structured_response(fields: &Map<String, Value>) -> Option<Response> {
    let status = fields
        .get("statusCode")?
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())?;
    let status = StatusCode::from_u16(status).ok()?;
    let body = match fields.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if fields.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            STANDARD.decode(text).ok()?
        }
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in fields
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        insert_header(headers, name, value, false)?;
    }
    for (name, values) in fields
        .get("multiValueHeaders")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for value in values.as_array().into_iter().flatten() {
            insert_header(headers, name, value, true)?;
        }
    }
    for cookie in fields
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        insert_header(headers, "set-cookie", cookie, true)?;
    }
    Some(response)
}

fn insert_header(headers: &mut HeaderMap, name: &str, value: &Value, append: bool) -> Option<()> {
    let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let value = HeaderValue::from_str(&text).ok()?;
    if append {
        headers.append(name, value);
    } else {
        headers.insert(name, value);
    }
    Some(())
}

fn message(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "message": text }).to_string(),
    )
        .into_response()
}

fn internal_server_error() -> Response {
    message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

fn unauthorized(reason: Option<&str>) -> Response {
    let mut response = message(StatusCode::UNAUTHORIZED, "Unauthorized");
    let challenge = match reason {
        Some(reason) => format!("Bearer error=\"invalid_token\" error_description=\"{reason}\""),
        None => "Bearer".to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

struct Gateway {
    routes: Vec<Route>,
    secret: DevSecret,
    cors: Option<Cors>,
}

/// The gateway as an axum router (one fallback handler does everything); `cors` is the API's
/// CORS configuration, if it has one.
pub fn router(routes: Vec<Route>, secret: DevSecret, cors: Option<Cors>) -> Router {
    Router::new().fallback(handle).with_state(Arc::new(Gateway {
        routes,
        secret,
        cors,
    }))
}

/// Serves the API on `listener` until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    routes: Vec<Route>,
    secret: DevSecret,
    cors: Option<Cors>,
) -> std::io::Result<()> {
    let app = router(routes, secret, cors).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).await
}

async fn handle(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let request_id = ulid::Ulid::new().to_string();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let request_headers = request.headers().clone();
    let mut response = match &gateway.cors {
        // Before routes and the authorizer: a browser sends no token with a preflight.
        Some(cors) if Cors::is_preflight(&method, &request_headers) => {
            cors.preflight(&request_headers)
        }
        Some(cors) => {
            let mut response = route_and_invoke(&gateway, peer, request, &request_id).await;
            cors.apply(&request_headers, &mut response);
            response
        }
        None => route_and_invoke(&gateway, peer, request, &request_id).await,
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("apigw-requestid", value);
    }
    tracing::info!(
        "{method} {path} -> {} ({} ms)",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}

/// API Gateway's order: route (404), authorizer (401), payload limit (413), integration.
async fn route_and_invoke(
    gateway: &Gateway,
    peer: SocketAddr,
    request: Request,
    request_id: &str,
) -> Response {
    let path = percent_decode(request.uri().path());
    let Some(matched) = match_route(&gateway.routes, request.method().as_str(), &path) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let claims = match authorize(&gateway.secret, request.headers()) {
        Ok(claims) => claims,
        Err(reason) => {
            tracing::info!(
                "refused token: {}",
                reason.as_deref().unwrap_or("none given")
            );
            return unauthorized(reason.as_deref());
        }
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let context = EventContext {
        request_id: request_id.to_owned(),
        source_ip: peer.ip().to_string(),
        time: Utc::now(),
    };
    let event = build_event(&parts, &body, &matched, &flatten_claims(&claims), &context);
    match matched.route.target.invoke(event).await {
        Ok(function_response) => http_response(function_response),
        Err(error) => {
            tracing::error!("{}: {error}", matched.route.key());
            internal_server_error()
        }
    }
}

/// The verified claims of the bearer token; `Err(None)` when there is none, `Err(Some(why))`
/// when it is refused. Like HTTP APIs, the `Bearer ` prefix is optional.
fn authorize(
    secret: &DevSecret,
    headers: &HeaderMap,
) -> Result<Map<String, Value>, Option<String>> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let token = match value {
        Some(value) if value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer ") => {
            value[7..].trim()
        }
        Some(value) if !value.is_empty() => value,
        _ => return Err(None),
    };
    token::verify(secret, token).map_err(|e| Some(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Answers with the event it was given, as a payload 2.0 response whose body is the event.
    struct Echo;

    impl Invoke for Echo {
        fn invoke(
            &self,
            event: Value,
        ) -> Pin<Box<dyn Future<Output = Result<Value, InvokeError>> + Send + '_>> {
            Box::pin(async move {
                if event["rawPath"] == "/fail" {
                    return Err(InvokeError::Function(json!({"errorType": "Boom"})));
                }
                Ok(json!({
                    "statusCode": 201,
                    "headers": {"content-type": "application/json", "x-one": "1"},
                    "multiValueHeaders": {"x-many": ["a", "b"]},
                    "cookies": ["session=abc; Path=/", "theme=dark"],
                    "body": event.to_string(),
                }))
            })
        }
    }

    fn routes(target: Arc<dyn Invoke>) -> Vec<Route> {
        [
            ("GET", "/customers"),
            ("POST", "/customers"),
            ("GET", "/customers/{customerId}"),
            ("GET", "/customers/search"),
            ("PATCH", "/customers/{customerId}/contacts/{contactId}"),
            ("ANY", "/files/{path+}"),
            ("GET", "/files/{path+}"),
            ("ANY", "/fail"),
        ]
        .into_iter()
        .map(|(m, p)| Route::new(m, p, target.clone()))
        .collect()
    }

    fn key_of(
        routes: &[Route],
        method: &str,
        path: &str,
    ) -> Option<(String, BTreeMap<String, String>)> {
        match_route(routes, method, path).map(|m| (m.route.key(), m.path_parameters))
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn routes_match_by_method_and_path_template() {
        let routes = routes(Arc::new(Echo));
        assert_eq!(
            key_of(&routes, "GET", "/customers"),
            Some(("GET /customers".into(), params(&[])))
        );
        assert_eq!(
            key_of(&routes, "GET", "/customers/c-1"),
            Some((
                "GET /customers/{customerId}".into(),
                params(&[("customerId", "c-1")])
            ))
        );
        assert_eq!(
            key_of(&routes, "PATCH", "/customers/c-1/contacts/k-2"),
            Some((
                "PATCH /customers/{customerId}/contacts/{contactId}".into(),
                params(&[("customerId", "c-1"), ("contactId", "k-2")])
            ))
        );
        assert!(
            key_of(&routes, "DELETE", "/customers/c-1").is_none(),
            "method not routed"
        );
        assert!(
            key_of(&routes, "GET", "/customers/").is_none(),
            "empty variable segment"
        );
        assert!(key_of(&routes, "GET", "/customers/c-1/extra").is_none());
        assert!(key_of(&routes, "GET", "/nowhere").is_none());
    }

    #[test]
    fn the_most_specific_route_wins() {
        let routes = routes(Arc::new(Echo));
        assert_eq!(
            key_of(&routes, "GET", "/customers/search").unwrap().0,
            "GET /customers/search"
        );
        let (key, parameters) = key_of(&routes, "GET", "/files/a/b/c.txt").unwrap();
        assert_eq!(key, "GET /files/{path+}", "own method before ANY");
        assert_eq!(parameters, params(&[("path", "a/b/c.txt")]));
        assert_eq!(
            key_of(&routes, "PUT", "/files/x").unwrap().0,
            "ANY /files/{path+}"
        );
        assert!(
            key_of(&routes, "GET", "/files").is_none(),
            "greedy needs a segment"
        );
        let mut with_default = routes.clone();
        with_default.push(Route::new("ANY", "$default", Arc::new(Echo)));
        assert_eq!(
            key_of(&with_default, "GET", "/nowhere").unwrap().0,
            "$default"
        );
        assert_eq!(
            key_of(&with_default, "GET", "/customers").unwrap().0,
            "GET /customers"
        );
    }

    #[test]
    fn claims_are_flattened_to_strings_as_http_apis_do() {
        let claims = json!({
            "sub": "u-1",
            "roles": ["administrator", "technician"],
            "none": [],
            "exp": 1712345678,
            "ratio": 1.5,
            "admin": true,
            "address": {"city": "Oslo"},
        });
        let flat = flatten_claims(claims.as_object().unwrap());
        assert_eq!(flat["sub"], "u-1");
        assert_eq!(flat["roles"], "[administrator technician]");
        assert_eq!(flat["none"], "[]");
        assert_eq!(flat["exp"], "1712345678");
        assert_eq!(flat["ratio"], "1.5");
        assert_eq!(flat["admin"], "true");
        assert_eq!(flat["address"], r#"{"city":"Oslo"}"#);
    }

    fn context() -> EventContext {
        EventContext {
            request_id: "req-1".into(),
            source_ip: "127.0.0.1".into(),
            time: DateTime::from_timestamp(1_583_348_638, 390_000_000).unwrap(),
        }
    }

    fn request_parts(
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> axum::http::request::Parts {
        let mut builder = axum::http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_event_has_the_payload_2_0_shape() {
        let routes = routes(Arc::new(Echo));
        let parts = request_parts(
            "PATCH",
            "/customers/c%201/contacts/k-2?b=2&a=1&a=x%2Cy&flag",
            &[
                ("Host", "127.0.0.1:3000"),
                ("User-Agent", "curl/8"),
                ("X-Multi", "one"),
                ("X-Multi", "two"),
                ("Cookie", "s=1; t=2"),
                ("Authorization", "Bearer abc"),
            ],
        );
        let matched = match_route(&routes, "PATCH", "/customers/c 1/contacts/k-2").unwrap();
        let claims = params(&[("sub", "u-1"), ("roles", "[a b]")]);
        let event = build_event(&parts, br#"{"name":"x"}"#, &matched, &claims, &context());
        assert_eq!(event["version"], "2.0");
        assert_eq!(
            event["routeKey"],
            "PATCH /customers/{customerId}/contacts/{contactId}"
        );
        assert_eq!(event["rawPath"], "/customers/c 1/contacts/k-2");
        assert_eq!(event["rawQueryString"], "b=2&a=1&a=x%2Cy&flag");
        assert_eq!(
            event["queryStringParameters"],
            json!({"a": "1,x,y", "b": "2", "flag": ""})
        );
        assert_eq!(
            event["pathParameters"],
            json!({"customerId": "c 1", "contactId": "k-2"})
        );
        assert_eq!(event["cookies"], json!(["s=1", "t=2"]));
        let headers = &event["headers"];
        assert_eq!(headers["x-multi"], "one,two");
        assert_eq!(headers["user-agent"], "curl/8");
        assert_eq!(headers["authorization"], "Bearer abc");
        assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
        assert_eq!(headers["x-forwarded-port"], "3000");
        assert!(
            headers.get("cookie").is_none(),
            "cookies travel in `cookies`"
        );
        assert_eq!(event["body"], r#"{"name":"x"}"#);
        assert_eq!(event["isBase64Encoded"], false);
        let context = &event["requestContext"];
        assert_eq!(
            context["authorizer"],
            json!({"jwt": {"claims": {"sub": "u-1", "roles": "[a b]"}, "scopes": null}})
        );
        assert_eq!(context["http"]["method"], "PATCH");
        assert_eq!(context["http"]["path"], "/customers/c 1/contacts/k-2");
        assert_eq!(context["http"]["protocol"], "HTTP/1.1");
        assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
        assert_eq!(context["http"]["userAgent"], "curl/8");
        assert_eq!(context["routeKey"], event["routeKey"]);
        assert_eq!(context["stage"], "$default");
        assert_eq!(context["requestId"], "req-1");
        assert_eq!(context["domainName"], "127.0.0.1:3000");
        assert_eq!(context["time"], "04/Mar/2020:19:03:58 +0000");
        assert_eq!(context["timeEpoch"], 1_583_348_638_390i64);
        assert_eq!(context["accountId"], LOCAL_ACCOUNT_ID);
    }

    #[test]
    fn the_event_leaves_out_what_the_request_lacks_and_encodes_binary_bodies() {
        let routes = routes(Arc::new(Echo));
        let parts = request_parts("GET", "/customers", &[("Host", "localhost")]);
        let matched = match_route(&routes, "GET", "/customers").unwrap();
        let event = build_event(&parts, b"", &matched, &BTreeMap::new(), &context());
        for absent in ["cookies", "queryStringParameters", "pathParameters", "body"] {
            assert!(event.get(absent).is_none(), "{absent} should be absent");
        }
        assert_eq!(event["rawQueryString"], "");
        let binary = build_event(
            &parts,
            &[0xff, 0x00, 0xfe],
            &matched,
            &BTreeMap::new(),
            &context(),
        );
        assert_eq!(binary["body"], STANDARD.encode([0xff, 0x00, 0xfe]));
        assert_eq!(binary["isBase64Encoded"], true);
    }

    #[test]
    fn a_response_without_status_code_is_inferred_as_json() {
        let response = http_response(json!({"id": 1}));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(http_response(json!("text")).status(), StatusCode::OK);
        let bad = http_response(json!({"statusCode": "nope"}));
        assert_eq!(bad.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_structured_response_maps_status_headers_cookies_and_base64_body() {
        let response = http_response(json!({
            "statusCode": 204,
            "headers": {"x-one": "1"},
            "multiValueHeaders": {"x-many": ["a", "b"]},
            "cookies": ["a=1", "b=2"],
            "body": STANDARD.encode(b"\x00\x01"),
            "isBase64Encoded": true,
        }));
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(response.headers()["x-one"], "1");
        let many: Vec<_> = response.headers().get_all("x-many").iter().collect();
        assert_eq!(many, ["a", "b"]);
        let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
    }

    /// One HTTP/1.1 exchange over a fresh connection; returns (status, raw head, body).
    async fn exchange(address: SocketAddr, request: String) -> (u16, String, String) {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_ascii_lowercase(), body.to_owned())
    }

    fn get(path: &str, authorization: Option<&str>) -> String {
        let authorization = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\n{authorization}Connection: close\r\n\r\n"
        )
    }

    #[tokio::test]
    async fn the_gateway_routes_authorizes_and_invokes_over_http() {
        let secret = DevSecret::from_bytes([7; 32]);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(
            listener,
            routes(Arc::new(Echo)),
            secret.clone(),
            None,
        ));
        let token = token::issue(
            &secret,
            "t-1",
            "u-1",
            &["administrator".into()],
            Duration::from_secs(60),
        );
        let bearer = format!("Bearer {token}");

        let (status, _, body) = exchange(address, get("/nowhere", Some(&bearer))).await;
        assert_eq!((status, body.as_str()), (404, r#"{"message":"Not Found"}"#));
        let (status, head, body) = exchange(address, get("/customers", None)).await;
        assert_eq!(
            (status, body.as_str()),
            (401, r#"{"message":"Unauthorized"}"#)
        );
        assert!(head.contains("www-authenticate: bearer"));
        let other = token::issue(
            &DevSecret::from_bytes([8; 32]),
            "t-1",
            "u-1",
            &[],
            Duration::from_secs(60),
        );
        let (status, _, _) =
            exchange(address, get("/customers", Some(&format!("Bearer {other}")))).await;
        assert_eq!(status, 401);

        let (status, head, body) =
            exchange(address, get("/customers/c-1?x=1", Some(&bearer))).await;
        assert_eq!(status, 201);
        assert!(
            head.contains("x-one: 1") && head.contains("x-many: a") && head.contains("x-many: b")
        );
        assert!(
            head.contains("set-cookie: session=abc; path=/")
                && head.contains("set-cookie: theme=dark")
        );
        assert!(head.contains("apigw-requestid: "));
        let event: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(event["routeKey"], "GET /customers/{customerId}");
        assert_eq!(event["pathParameters"]["customerId"], "c-1");
        let claims = &event["requestContext"]["authorizer"]["jwt"]["claims"];
        assert_eq!(claims["tenant_id"], "t-1");
        assert_eq!(claims["sub"], "u-1");
        assert_eq!(claims["roles"], "[administrator]");
        assert_eq!(claims["aud"], token::AUDIENCE);
        assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");

        let (status, _, _) = exchange(address, get("/customers", Some(&token))).await;
        assert_eq!(status, 201, "the Bearer prefix is optional");
        let (status, _, body) = exchange(address, get("/fail", Some(&bearer))).await;
        assert_eq!(
            (status, body.as_str()),
            (500, r#"{"message":"Internal Server Error"}"#)
        );
        server.abort();
    }

    #[tokio::test]
    async fn bodies_over_ten_megabytes_are_refused() {
        let secret = DevSecret::from_bytes([7; 32]);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(
            listener,
            routes(Arc::new(Echo)),
            secret.clone(),
            None,
        ));
        let token = token::issue(&secret, "t", "u", &[], Duration::from_secs(60));
        let length = MAX_BODY_BYTES + 1;
        let head = format!(
            "POST /customers HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
             Content-Length: {length}\r\nConnection: close\r\n\r\n"
        );
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        // The gateway may answer before reading everything; a failed write is fine then.
        let _ = stream.write_all(&vec![b'a'; length]).await;
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 413"));
        server.abort();
    }
}
