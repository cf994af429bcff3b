//! The router, the API document, the SAM template and the guide must agree. Each test names
//! what is missing on which side, so a failure says exactly what to add or remove.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use customers_api::routes::Route;
use serde_norway::Value;

/// `(METHOD, path template)`, e.g. `("PATCH", "/customers/{customerId}")`.
type Operation = (String, String);

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The function's binary in `Metadata.BuildProperties.Binary` of the template.
const BINARY: &str = "customers-api";

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn read(relative: &str) -> String {
    let path = repo_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn read_yaml(relative: &str) -> Value {
    serde_norway::from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not YAML: {e}"))
}

fn router_operations() -> BTreeSet<Operation> {
    let operations: BTreeSet<Operation> = Route::ALL
        .iter()
        .map(|route| (route.method().to_owned(), route.path().to_owned()))
        .collect();
    assert_eq!(
        operations.len(),
        Route::ALL.len(),
        "Route::ALL has duplicate route keys"
    );
    operations
}

/// Fails with both differences spelled out when the two sets are not equal.
fn assert_same_operations(other_name: &str, other: &BTreeSet<Operation>) {
    let router = router_operations();
    if &router == other {
        return;
    }
    let mut report = format!("Route::ALL and {other_name} disagree.\n");
    let list = |report: &mut String, heading: &str, ops: Vec<&Operation>| {
        if !ops.is_empty() {
            writeln!(report, "{heading}:").unwrap();
            for (method, path) in ops {
                writeln!(report, "  {method} {path}").unwrap();
            }
        }
    };
    list(
        &mut report,
        &format!("in Route::ALL but missing from {other_name}"),
        router.difference(other).collect(),
    );
    list(
        &mut report,
        &format!("in {other_name} but missing from Route::ALL"),
        other.difference(&router).collect(),
    );
    panic!("{report}");
}

#[test]
fn openapi_document_describes_exactly_the_routes() {
    let document = read_yaml("docs/openapi.yaml");
    let paths = document
        .get("paths")
        .and_then(Value::as_mapping)
        .expect("docs/openapi.yaml has a paths object");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().expect("paths are strings");
        let item = item
            .as_mapping()
            .unwrap_or_else(|| panic!("path item {path} is not an object"));
        for (field, _) in item {
            let field = field.as_str().expect("path item fields are strings");
            if HTTP_METHODS.contains(&field) {
                operations.insert((field.to_ascii_uppercase(), path.to_owned()));
            }
        }
    }
    assert_same_operations("docs/openapi.yaml", &operations);
}

#[test]
fn template_routes_exactly_the_routes_to_the_function() {
    let template = read_yaml("infra/template.yaml");
    let resources = template
        .get("Resources")
        .and_then(Value::as_mapping)
        .expect("infra/template.yaml has Resources");
    let functions: Vec<(&str, &Value)> = resources
        .iter()
        .filter(|(_, resource)| {
            resource
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(Value::as_str)
                == Some(BINARY)
        })
        .map(|(id, resource)| (id.as_str().unwrap_or("?"), resource))
        .collect();
    let [(logical_id, function)] = functions[..] else {
        let ids: Vec<&str> = functions.iter().map(|(id, _)| *id).collect();
        panic!("expected exactly one function with Binary {BINARY:?}, found {ids:?}");
    };

    let events = function
        .get("Properties")
        .and_then(|p| p.get("Events"))
        .and_then(Value::as_mapping)
        .unwrap_or_else(|| panic!("{logical_id} has no Properties.Events"));
    let mut operations = BTreeSet::new();
    for (name, event) in events {
        let name = name.as_str().unwrap_or("?");
        if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
            continue;
        }
        let property = |key: &str| {
            event
                .get("Properties")
                .and_then(|p| p.get(key))
                .and_then(Value::as_str)
                .unwrap_or_else(|| {
                    panic!("HttpApi event {name} of {logical_id} has no plain {key}")
                })
        };
        let operation = (
            property("Method").to_ascii_uppercase(),
            property("Path").to_owned(),
        );
        assert!(
            operations.insert(operation.clone()),
            "{operation:?} is routed twice in {logical_id}"
        );
    }
    assert_same_operations(
        &format!("the HttpApi events of {logical_id} in infra/template.yaml"),
        &operations,
    );
}

#[test]
fn every_problem_type_is_documented() {
    let documented = problem_types_in(&read("docs/api.md"));
    let produced = problem_types_in_code();
    let undocumented: Vec<&String> = produced.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "problem types produced by the code but not documented in docs/api.md: {}",
        undocumented
            .iter()
            .map(|n| format!("/problems/{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[test]
fn every_documented_problem_type_exists() {
    let documented = problem_types_in(&read("docs/api.md"));
    let produced = problem_types_in_code();
    let stale: Vec<&String> = documented.difference(&produced).collect();
    assert!(
        stale.is_empty(),
        "docs/api.md documents problem types the code never produces: {}",
        stale
            .iter()
            .map(|n| format!("/problems/{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// Every problem type name the API can answer with, taken from the sources: literal
/// `"/problems/<name>"` strings, the name argument of `Problem::new(StatusCode::X, "name", ..)`
/// (and of `Self::new` in problem.rs), and the name argument of `Problem::conflict("name", ..)`.
fn problem_types_in_code() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for dir in ["functions/customers-api/src", "shared/kit/src"] {
        for file in rust_files(&repo_path(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            let in_problem_rs = file.file_name().is_some_and(|n| n == "problem.rs");
            for literal in quoted_problem_paths(&text) {
                names.insert(literal);
            }
            let mut constructors = vec![("Problem::new(", 1), ("Problem::conflict(", 0)];
            if in_problem_rs {
                constructors.extend([("Self::new(", 1), ("Self::conflict(", 0)]);
            }
            for (call, name_index) in constructors {
                for args in call_arguments(&text, call) {
                    if name_index == 1
                        && !args.first().is_some_and(|a| a.starts_with("StatusCode::"))
                    {
                        continue;
                    }
                    if let Some(name) = args.get(name_index).and_then(|a| string_literal(a)) {
                        names.insert(name);
                    }
                }
            }
        }
    }
    // Guards the scan itself: if these vanish, the scan broke, not the API.
    for known in ["validation-failed", "not-found", "internal"] {
        assert!(
            names.contains(known),
            "the source scan found no {known:?}; found {names:?}"
        );
    }
    names
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// Names in `"/problems/<name>"` string literals; `format!("/problems/{name}")` is skipped.
fn quoted_problem_paths(text: &str) -> Vec<String> {
    text.match_indices("\"/problems/")
        .filter_map(|(i, found)| {
            let rest = &text[i + found.len()..];
            let end = rest.find(|c: char| !is_name_char(c))?;
            (end > 0 && rest[end..].starts_with('"')).then(|| rest[..end].to_owned())
        })
        .collect()
}

/// Every `/problems/<name>` mentioned in a text (a guide), whatever surrounds it.
fn problem_types_in(text: &str) -> BTreeSet<String> {
    text.match_indices("/problems/")
        .filter_map(|(i, found)| {
            let rest = &text[i + found.len()..];
            let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
            let name = rest[..end].trim_end_matches('-');
            (!name.is_empty()).then(|| name.to_owned())
        })
        .collect()
}

/// The top-level arguments of every `call(...)` in `text`, trimmed. Commas inside nested
/// brackets and string literals do not split.
fn call_arguments(text: &str, call: &str) -> Vec<Vec<String>> {
    let mut calls = Vec::new();
    for (start, _) in text.match_indices(call) {
        let mut args = Vec::new();
        let mut current = String::new();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        for c in text[start + call.len()..].chars() {
            if in_string {
                current.push(c);
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => {
                    in_string = true;
                    current.push(c);
                }
                '(' | '[' | '{' => {
                    depth += 1;
                    current.push(c);
                }
                ')' | ']' | '}' if depth == 0 => break,
                ')' | ']' | '}' => {
                    depth -= 1;
                    current.push(c);
                }
                ',' if depth == 0 => args.push(std::mem::take(&mut current).trim().to_owned()),
                _ => current.push(c),
            }
        }
        if !current.trim().is_empty() {
            args.push(current.trim().to_owned());
        }
        calls.push(args);
    }
    calls
}

/// The content of a plain string literal argument such as `"no-such-route"`.
fn string_literal(argument: &str) -> Option<String> {
    let inner = argument.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.is_empty() && inner.chars().all(is_name_char)).then(|| inner.to_owned())
}

#[test]
fn the_source_scan_reads_calls_and_literals() {
    let source = r#"
        Problem::new(StatusCode::NOT_FOUND, "no-such-route", "No such route")
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-idempotency-key",
            "The header, \"quoted\", is invalid",
        )
        Problem::conflict("customer-number-taken", "Taken", format!("{a}, {b}"))
        kind: format!("/problems/{name}"),
        let t = "/problems/stale-version";
    "#;
    let news: Vec<Vec<String>> = call_arguments(source, "Problem::new(");
    assert_eq!(
        news[0],
        [
            "StatusCode::NOT_FOUND",
            "\"no-such-route\"",
            "\"No such route\""
        ]
    );
    assert_eq!(news[1].len(), 3);
    assert_eq!(
        string_literal(&news[1][1]).as_deref(),
        Some("invalid-idempotency-key")
    );
    let conflicts = call_arguments(source, "Problem::conflict(");
    assert_eq!(
        string_literal(&conflicts[0][0]).as_deref(),
        Some("customer-number-taken")
    );
    assert_eq!(quoted_problem_paths(source), ["stale-version"]);
    let guide = "| `/problems/not-found` | 404 |, see /problems/internal.";
    assert_eq!(
        problem_types_in(guide),
        BTreeSet::from(["not-found".to_owned(), "internal".to_owned()])
    );
}

/// The function trusts the claims in the request context, so every route must sit behind the
/// JWT authorizer: a default authorizer on the HTTP API and no event that opts out of it.
/// Together with the function having no other source of identity, this is what makes local
/// identity (devhost's tokens) impossible to switch on in a deployment.
#[test]
fn every_deployed_route_is_behind_the_jwt_authorizer() {
    let template = read_yaml("infra/template.yaml");
    let resources = template["Resources"].as_mapping().expect("Resources");
    for (id, resource) in resources {
        let id = id.as_str().unwrap_or("?");
        match resource["Type"].as_str() {
            Some("AWS::Serverless::HttpApi") => {
                let auth = &resource["Properties"]["Auth"];
                let default = auth["DefaultAuthorizer"].as_str().unwrap_or_else(|| {
                    panic!("{id} has no DefaultAuthorizer: every route must be verified")
                });
                assert!(
                    auth["Authorizers"][default]["JwtConfiguration"].is_mapping(),
                    "{id}'s default authorizer {default} is not a JWT authorizer"
                );
            }
            Some("AWS::Serverless::Function") => {
                let events = resource["Properties"]["Events"].as_mapping();
                for (name, event) in events.into_iter().flatten() {
                    let authorizer = &event["Properties"]["Auth"]["Authorizer"];
                    assert!(
                        authorizer.is_null(),
                        "event {name:?} of {id} overrides the authorizer: {authorizer:?}"
                    );
                }
                let variables = resource["Properties"]["Environment"]["Variables"].as_mapping();
                for (name, _) in variables.into_iter().flatten() {
                    let name = name.as_str().unwrap_or_default().to_ascii_uppercase();
                    assert!(
                        !["DEV", "LOCAL", "INSECURE", "SKIP_AUTH"]
                            .iter()
                            .any(|w| name.contains(w)),
                        "{id} has an environment switch that looks like a development mode: {name}"
                    );
                }
            }
            _ => {}
        }
    }
}
