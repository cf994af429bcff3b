//! The HTTP API's CORS: the rules written in infra/template.yaml cover what docs/openapi.yaml
//! documents, and the local gateway answers browsers by exactly those rules. The template is
//! read here on its own (plain YAML), not through devhost's parser, so a rule devhost misreads
//! or leaves out fails the comparison.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use devhost::stack::LOCAL_CONSOLE_ORIGINS;
use devhost::{Cors, DevSecret, Invoke, InvokeError, Route, StackOptions, Template};
use serde_json::{Value as Json, json};
use serde_norway::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn root() -> PathBuf {
    devhost::find_repo_root(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// The template's `CorsConfiguration` of its HTTP API, as written.
fn template_cors() -> Value {
    let template = yaml(devhost::TEMPLATE_PATH);
    let resources = template["Resources"].as_mapping().unwrap();
    let apis: Vec<&Value> = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::HttpApi"))
        .collect();
    assert_eq!(apis.len(), 1, "one HTTP API");
    apis[0]["Properties"]["CorsConfiguration"].clone()
}

fn lower_set(value: &Value) -> BTreeSet<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("a list, not {value:?}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_ascii_lowercase())
        .collect()
}

fn list_text(value: &Value) -> String {
    value
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(",")
}

/// Names (lower case) of the response headers (`in_responses`) or the header parameters the
/// document describes anywhere: under paths and in reusable components alike.
fn documented_headers(in_responses: bool) -> BTreeSet<String> {
    fn walk(node: &Value, parent: Option<&str>, in_responses: bool, out: &mut BTreeSet<String>) {
        match node {
            Value::Mapping(map) => {
                if !in_responses && node["in"].as_str() == Some("header") {
                    out.insert(node["name"].as_str().unwrap().to_ascii_lowercase());
                }
                for (key, value) in map {
                    let key = key.as_str().unwrap_or_default();
                    // `components.headers` holds reusable definitions keyed by our own names;
                    // responses refer to them under their wire names.
                    if in_responses && key == "headers" && parent != Some("components") {
                        for name in value.as_mapping().into_iter().flat_map(|m| m.keys()) {
                            out.insert(name.as_str().unwrap().to_ascii_lowercase());
                        }
                    }
                    walk(value, Some(key), in_responses, out);
                }
            }
            Value::Sequence(items) => {
                for item in items {
                    walk(item, parent, in_responses, out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(&yaml("docs/openapi.yaml"), None, in_responses, &mut out);
    out
}

#[test]
fn the_template_exposes_every_response_header_the_api_documents() {
    let cors = template_cors();
    let exposed = lower_set(&cors["ExposeHeaders"]);
    let documented = documented_headers(true);
    assert!(documented.contains("etag") && documented.contains("location"));
    let missing: Vec<_> = documented.difference(&exposed).collect();
    assert!(
        missing.is_empty(),
        "ExposeHeaders lacks documented response headers {missing:?}"
    );
}

#[test]
fn the_template_allows_every_request_header_and_method_the_api_uses() {
    let cors = template_cors();
    let allowed = lower_set(&cors["AllowHeaders"]);
    let mut needed = documented_headers(false);
    needed.extend(["authorization".to_owned(), "content-type".to_owned()]);
    assert!(needed.contains("if-match") && needed.contains("idempotency-key"));
    let missing: Vec<_> = needed.difference(&allowed).collect();
    assert!(missing.is_empty(), "AllowHeaders lacks {missing:?}");

    let methods = lower_set(&cors["AllowMethods"]);
    let template = Template::load(root().join(devhost::TEMPLATE_PATH)).unwrap();
    for function in template.functions() {
        for (method, path) in &function.http_api_events {
            assert!(
                methods.contains(&method.to_ascii_lowercase()),
                "AllowMethods lacks {method} (route {path})"
            );
        }
    }
    assert!(
        cors.get("AllowOrigins").is_some_and(|o| !o.is_sequence()),
        "origins come from the stack parameter, never a literal such as *"
    );
}

/// Answers every request with an ETag and a CORS header of its own (which must not pass).
struct Answer;

impl Invoke for Answer {
    fn invoke(
        &self,
        _event: Json,
    ) -> Pin<Box<dyn Future<Output = Result<Json, InvokeError>> + Send + '_>> {
        Box::pin(async {
            Ok(json!({
                "statusCode": 200,
                "headers": {"etag": "\"1\"", "access-control-allow-origin": "*"},
                "body": "{}",
            }))
        })
    }
}

/// One HTTP/1.1 exchange; returns (status, lower-cased head).
async fn exchange(address: std::net::SocketAddr, request: String) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let head = raw.split_once("\r\n\r\n").unwrap().0.to_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
}

#[tokio::test]
async fn the_local_gateway_answers_browsers_by_the_templates_rules() {
    let cors_yaml = template_cors();
    let template = Template::load(root().join(devhost::TEMPLATE_PATH)).unwrap();
    let parameters = StackOptions::new(root()).parameters;
    let cors = Cors::from_template(&template, &parameters)
        .unwrap()
        .expect("the template configures CORS");
    let origin = LOCAL_CONSOLE_ORIGINS.split(',').next().unwrap();
    assert!(cors.allow_origins.iter().any(|o| o == origin));

    let secret = DevSecret::from_bytes([9; 32]);
    let routes = vec![Route::new(
        "PATCH",
        "/customers/{customerId}",
        Arc::new(Answer),
    )];
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(devhost::serve(listener, routes, secret.clone(), Some(cors)));

    // A preflight carries no token: the gateway answers it before the authorizer.
    let preflight = |from: &str| {
        format!(
            "OPTIONS /customers/c-1 HTTP/1.1\r\nHost: localhost\r\nOrigin: {from}\r\n\
             Access-Control-Request-Method: PATCH\r\n\
             Access-Control-Request-Headers: authorization,content-type,if-match\r\n\
             Connection: close\r\n\r\n"
        )
    };
    let (status, head) = exchange(address, preflight(origin)).await;
    assert_eq!(status, 204, "{head}");
    assert_eq!(header(&head, "access-control-allow-origin"), Some(origin));
    assert_eq!(
        header(&head, "access-control-allow-methods").map(str::to_owned),
        Some(list_text(&cors_yaml["AllowMethods"]).to_ascii_lowercase())
    );
    assert_eq!(
        header(&head, "access-control-allow-headers").map(str::to_owned),
        Some(list_text(&cors_yaml["AllowHeaders"]).to_ascii_lowercase())
    );
    assert_eq!(
        header(&head, "access-control-max-age").map(str::to_owned),
        cors_yaml["MaxAge"].as_u64().map(|age| age.to_string())
    );

    let (status, head) = exchange(address, preflight("http://elsewhere.test")).await;
    assert_eq!(status, 204);
    assert_eq!(header(&head, "access-control-allow-origin"), None);

    let token = devhost::issue(&secret, "t-1", "u-1", &[], Duration::from_secs(60));
    let patch = |from: &str| {
        format!(
            "PATCH /customers/c-1 HTTP/1.1\r\nHost: localhost\r\nOrigin: {from}\r\n\
             Authorization: Bearer {token}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        )
    };
    let (status, head) = exchange(address, patch(origin)).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&head, "access-control-allow-origin"), Some(origin));
    assert_eq!(
        header(&head, "access-control-expose-headers").map(str::to_owned),
        Some(list_text(&cors_yaml["ExposeHeaders"]).to_ascii_lowercase())
    );
    let (_, head) = exchange(address, patch("http://elsewhere.test")).await;
    assert_eq!(
        header(&head, "access-control-allow-origin"),
        None,
        "the function's own CORS header is dropped"
    );

    // The authorizer's refusal reaches the browser too, so it can tell a lapsed token.
    let (status, head) = exchange(
        address,
        format!(
            "PATCH /customers/c-1 HTTP/1.1\r\nHost: localhost\r\nOrigin: {origin}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(header(&head, "access-control-allow-origin"), Some(origin));
    server.abort();
}
