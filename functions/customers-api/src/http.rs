//! Request reading and response writing shared by every handler: body limits, content types,
//! JSON with field-precise errors, ETags, query parameters.

use domain::FieldError;
use kit::Problem;
use lambda_http::http::{HeaderMap, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::strict_json;

/// Largest request body we accept. Customer cards are a few KiB; anything near this is a
/// mistake or an attack, and DynamoDB items stop at 400 KB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The body as bytes, after the size and content-type checks.
pub fn body_bytes<'a>(request: &'a Request, accepted: &[&str]) -> Result<&'a [u8], Problem> {
    let bytes: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::payload_too_large(MAX_BODY_BYTES));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match content_type {
        Some(ct) if accepted.contains(&ct.as_str()) => Ok(bytes),
        _ => Err(Problem::unsupported_media_type(accepted[0])),
    }
}

/// The body of a route whose body is optional: `None` when there is none (whatever the
/// content type says), else the bytes after the same checks as [`body_bytes`].
pub fn optional_body<'a>(
    request: &'a Request,
    accepted: &[&str],
) -> Result<Option<&'a [u8]>, Problem> {
    let empty = match request.body() {
        Body::Empty => true,
        Body::Text(text) => text.trim().is_empty(),
        Body::Binary(bytes) => bytes.iter().all(u8::is_ascii_whitespace),
        _ => true,
    };
    if empty {
        return Ok(None);
    }
    body_bytes(request, accepted).map(Some)
}

/// What a route that takes a JSON body accepts.
pub const JSON: &[&str] = &["application/json"];
/// What a merge-patch route accepts (plain JSON too: many clients cannot set the type).
pub const MERGE_PATCH: &[&str] = &["application/merge-patch+json", "application/json"];

/// Parses JSON into `T`. Broken JSON is a 400; JSON of the wrong shape (a wrong type, an
/// unknown or repeated member, an array where an object belongs, `null` for a member of a
/// create) is a 422 that names the field, like any other validation failure. Read as
/// strictly as the document describes it (see [`strict_json`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    if bytes.is_empty() {
        return Err(Problem::malformed_body("The request body is empty."));
    }
    let value = strict_json::parse(bytes).map_err(|error| {
        let inner = error.inner();
        if inner.is_syntax() || inner.is_eof() {
            return Problem::malformed_body(strip_position(&inner.to_string()));
        }
        Problem::validation(vec![shape_error(&error)])
    })?;
    from_value(value)
}

/// Converts a value we already hold as JSON (a merged patch) into `T`, with the same errors.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(strict_json::Strict::new(value))
        .map_err(|error| Problem::validation(vec![shape_error(&error)]))
}

fn shape_error(error: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let pointer = pointer_of(error.path());
    let message = error.inner().to_string();
    // serde_path_to_error already ends the path with the unknown field's name.
    let code = if message.starts_with("unknown field") {
        "unknown_field"
    } else {
        "invalid_type"
    };
    FieldError {
        field: if pointer.is_empty() {
            "/".into()
        } else {
            pointer
        },
        code: code.into(),
        message: strip_position(&message),
    }
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } => Some(format!("/{}", key.replace('~', "~0").replace('/', "~1"))),
            Segment::Enum { variant } => Some(format!("/{variant}")),
            Segment::Unknown => None,
        })
        .collect()
}

/// serde_json appends " at line 1 column 17", which means nothing to an API client.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The If-Match header: `None` when absent, `Some(None)` for `*`, `Some(Some(v))` for an ETag
/// of ours. Anything else can never match, so it reads as a version that never exists.
pub fn if_match(headers: &HeaderMap) -> Option<Option<u64>> {
    let raw = headers.get(header::IF_MATCH)?.to_str().unwrap_or("").trim();
    if raw == "*" {
        return Some(None);
    }
    let version = raw
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse::<u64>()
        .unwrap_or(u64::MAX);
    Some(Some(version))
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(
            serde_json::to_string(value).expect("responses always serialise"),
        ))
        .expect("a valid status and header")
}

pub fn with_header(
    mut response: Response<Body>,
    name: &'static str,
    value: &str,
) -> Response<Body> {
    if let Ok(value) = value.parse() {
        response.headers_mut().insert(name, value);
    }
    response
}

/// A file to download: `content_type`, saved as `file_name` by browsers.
pub fn attachment(content_type: &str, file_name: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        )
        .body(Body::Text(body))
        .expect("a valid status and headers")
}

pub fn no_content() -> Response<Body> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .expect("a valid status")
}

/// Query parameters, refusing names the route does not know (a typo should not silently
/// list everything) and values longer than [`query_value_max`].
pub fn query_params(request: &Request, known: &[&str]) -> Result<Vec<(String, String)>, Problem> {
    let params = request.query_string_parameters();
    let mut out = Vec::new();
    for (name, value) in params.iter() {
        if !known.contains(&name) {
            return Err(Problem::bad_parameter(
                name,
                format!(
                    "Unknown query parameter '{name}'. Known: {}.",
                    known.join(", ")
                ),
            ));
        }
        let max = query_value_max(name);
        if value.chars().count() > max {
            return Err(Problem::bad_parameter(
                name,
                format!("{name} is at most {max} characters."),
            ));
        }
        out.push((name.to_owned(), value.to_owned()));
    }
    Ok(out)
}

/// The longest value, in characters, of each query parameter; docs/openapi.yaml says the same
/// (`maxLength`). Several become DynamoDB keys (`q` a sort key prefix, `number`, `email`,
/// `phone` and `assignedTo` partition keys, `cursor` a whole key), which DynamoDB refuses past
/// 2048 bytes (partition) or 1024 bytes (sort): unbounded, a long value answered 500. Each bound
/// is the longest value that can match anything, and at four bytes a character (and case
/// folding) still fits its key. Every route reads its query through [`query_params`], so no
/// parameter escapes the bound.
pub fn query_value_max(name: &str) -> usize {
    match name {
        "cursor" => store::cursor::MAX_CURSOR_LEN,
        // A name prefix: as long as a name.
        "q" => domain::validation::NAME_MAX,
        // The longest e-mail address there is (RFC 5321 path, less the brackets).
        "email" => 254,
        "assignedTo" => domain::work::USER_ID_MAX,
        "tag" => domain::validation::TAG_MAX,
        "organisationNumber" => domain::ORGANISATION_NUMBER_MAX,
        // Customer numbers (at most 30), phone numbers as typed, enum values, dates, ids.
        _ => 64,
    }
}

/// `limit` (default 50) and `cursor` of a paginated route that takes no other parameters.
pub fn page_params(request: &Request) -> Result<(i32, Option<String>), Problem> {
    page_params_with(request, 50)
}

/// [`page_params`] with another default page size.
pub fn page_params_with(
    request: &Request,
    default_limit: i32,
) -> Result<(i32, Option<String>), Problem> {
    let params = query_params(request, &["limit", "cursor"])?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let limit = param("limit")
        .map(|l| parse_limit(&l))
        .transpose()?
        .unwrap_or(default_limit);
    Ok((limit, param("cursor")))
}

/// The query of a customer's sub-list (sites, contracts, work orders, jobs, tickets): `limit`,
/// `cursor`, `order` (`asc`, the default, or `desc`) and the list's own filters.
pub struct ListParams {
    pub limit: i32,
    pub cursor: Option<String>,
    /// Oldest (or earliest) first.
    pub ascending: bool,
    params: Vec<(String, String)>,
}

impl ListParams {
    /// The page the parameters ask for.
    pub fn page(&self) -> crate::usecases::PageRequest {
        crate::usecases::PageRequest {
            limit: self.limit,
            cursor: self.cursor.clone(),
            ascending: self.ascending,
        }
    }

    /// A filter's value, if given.
    pub fn filter(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A filter that names an enum value (`status=scheduled`): 400 for an unknown value.
    pub fn enum_filter<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, Problem> {
        self.filter(name)
            .map(|raw| {
                serde_json::from_value(Value::String(raw.to_owned())).map_err(|_| {
                    Problem::bad_parameter(name, format!("{raw:?} is not a known {name}."))
                })
            })
            .transpose()
    }
}

pub fn list_params(
    request: &Request,
    default_limit: i32,
    filters: &[&str],
) -> Result<ListParams, Problem> {
    let mut known = vec!["limit", "cursor", "order"];
    known.extend_from_slice(filters);
    let params = query_params(request, &known)?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let limit = param("limit")
        .map(|l| parse_limit(&l))
        .transpose()?
        .unwrap_or(default_limit);
    Ok(ListParams {
        limit,
        cursor: param("cursor"),
        ascending: parse_order(param("order").as_deref())?,
        params,
    })
}

/// The `order` query parameter of every ordered list: `asc` (the default) or `desc`.
pub fn parse_order(raw: Option<&str>) -> Result<bool, Problem> {
    match raw {
        None | Some("asc") => Ok(true),
        Some("desc") => Ok(false),
        Some(_) => Err(Problem::bad_parameter(
            "order",
            "order is asc (the list's order) or desc (reversed).",
        )),
    }
}

/// The `limit` query parameter of every paginated route.
pub fn parse_limit(raw: &str) -> Result<i32, Problem> {
    raw.parse::<i32>()
        .ok()
        .filter(|l| (1..=store::MAX_PAGE).contains(l))
        .ok_or_else(|| {
            Problem::bad_parameter(
                "limit",
                format!("limit is a whole number from 1 to {}.", store::MAX_PAGE),
            )
        })
}

pub fn path_param(request: &Request, name: &str) -> Result<String, Problem> {
    request
        .path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_owned)
        .ok_or_else(|| Problem::not_found("resource"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Sample {
        credit_limit: Option<i64>,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        list: Vec<u8>,
    }

    #[test]
    fn broken_json_is_a_bad_request() {
        for body in [&b"{"[..], b"not json", b"{}{}", b""] {
            let problem = parse_json::<Sample>(body).unwrap_err();
            assert_eq!(problem.status, 400, "{:?}", std::str::from_utf8(body));
        }
    }

    #[test]
    fn wrong_types_and_unknown_fields_name_the_field() {
        let problem = parse_json::<Sample>(br#"{"creditLimit":"lots"}"#).unwrap_err();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "/creditLimit");
        assert_eq!(problem.errors[0].code, "invalid_type");

        let problem = parse_json::<Sample>(br#"{"inner":{"list":[1,"x"]}}"#).unwrap_err();
        assert_eq!(problem.errors[0].field, "/inner/list/1");

        let problem = parse_json::<Sample>(br#"{"inner":{"list":[],"bogus":1}}"#).unwrap_err();
        assert_eq!(problem.errors[0].field, "/inner/bogus");
        assert_eq!(problem.errors[0].code, "unknown_field");
    }

    #[test]
    fn if_match_reads_our_etags_and_the_wildcard() {
        let mut headers = HeaderMap::new();
        assert_eq!(if_match(&headers), None);
        headers.insert(header::IF_MATCH, "\"7\"".parse().unwrap());
        assert_eq!(if_match(&headers), Some(Some(7)));
        headers.insert(header::IF_MATCH, "W/\"7\"".parse().unwrap());
        assert_eq!(if_match(&headers), Some(Some(7)));
        headers.insert(header::IF_MATCH, "*".parse().unwrap());
        assert_eq!(if_match(&headers), Some(None));
        headers.insert(header::IF_MATCH, "\"garbage\"".parse().unwrap());
        assert_eq!(if_match(&headers), Some(Some(u64::MAX)));
    }
}
