//! The HTTP API's CORS, played from the template's `CorsConfiguration` the way API Gateway
//! plays it: a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is
//! answered by the gateway itself, before routes and the authorizer, so it needs no token; every
//! other answer to an allowed origin gets `Access-Control-Allow-Origin` and the exposed headers;
//! CORS headers an integration returns are dropped (API Gateway ignores them once CORS is
//! configured).
//!
//! Reference: "Configuring CORS for an HTTP API"
//! (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html).

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use crate::template::Template;
use crate::{Error, Result};

/// The template's CORS rules with the origins resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<u32>,
    pub allow_credentials: bool,
}

impl Cors {
    /// The HTTP API's rules, its `AllowOrigins` resolved with `names` (parameter values, as
    /// for [`Template::resolve`]); a resolved text may hold several origins separated by commas,
    /// as a `CommaDelimitedList` parameter does. `None` when the API has no CORS configuration.
    pub fn from_template(
        template: &Template,
        names: &HashMap<String, String>,
    ) -> Result<Option<Cors>> {
        let Some(def) = template.http_api_cors() else {
            return Ok(None);
        };
        let mut allow_origins = Vec::new();
        for origin in &def.allow_origins {
            let text = template
                .resolve(origin, names)
                .map_err(|e| Error::Template(format!("HTTP API CORS AllowOrigins: {e}")))?;
            allow_origins.extend(
                text.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(Some(Cors {
            allow_origins,
            allow_methods: def.allow_methods.clone(),
            allow_headers: def.allow_headers.clone(),
            expose_headers: def.expose_headers.clone(),
            max_age_seconds: def.max_age_seconds,
            allow_credentials: def.allow_credentials,
        }))
    }

    /// Whether API Gateway answers this request itself as a CORS preflight.
    pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::OPTIONS
            && headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The gateway's own answer to a preflight: `204`, with the rules when the origin is allowed
    /// and without any CORS header (so the browser refuses) when it is not.
    pub fn preflight(&self, headers: &HeaderMap) -> Response {
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let Some(origin) = self.allowed_origin(headers) else {
            return response;
        };
        let out = response.headers_mut();
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        insert_list(
            out,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            &self.allow_methods,
        );
        insert_list(
            out,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            &self.allow_headers,
        );
        if let Some(age) = self.max_age_seconds {
            out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
        }
        self.insert_common(out);
        response
    }

    /// Puts the rules on an integration's (or the gateway's) answer to `request_headers`.
    pub fn apply(&self, request_headers: &HeaderMap, response: &mut Response) {
        let out = response.headers_mut();
        let from_integration: Vec<HeaderName> = out
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in from_integration {
            out.remove(name);
        }
        let Some(origin) = self.allowed_origin(request_headers) else {
            return;
        };
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        insert_list(
            out,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            &self.expose_headers,
        );
        self.insert_common(out);
    }

    fn insert_common(&self, out: &mut HeaderMap) {
        if self.allow_credentials {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        out.append(header::VARY, HeaderValue::from_static("origin"));
    }

    /// What `Access-Control-Allow-Origin` says to the request's `Origin`: the origin itself when
    /// listed, `*` when any origin is (and credentials are not allowed), else nothing.
    fn allowed_origin(&self, request_headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = request_headers.get(header::ORIGIN)?;
        let text = origin.to_str().ok()?;
        if self
            .allow_origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(text))
        {
            return Some(origin.clone());
        }
        if self.allow_origins.iter().any(|allowed| allowed == "*") {
            return Some(if self.allow_credentials {
                origin.clone()
            } else {
                HeaderValue::from_static("*")
            });
        }
        None
    }
}

fn insert_list(out: &mut HeaderMap, name: HeaderName, items: &[String]) {
    if !items.is_empty()
        && let Ok(value) = HeaderValue::from_str(&items.join(","))
    {
        out.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors() -> Cors {
        Cors {
            allow_origins: vec!["http://console.test".into()],
            allow_methods: vec!["GET".into(), "PATCH".into()],
            allow_headers: vec!["authorization".into(), "if-match".into()],
            expose_headers: vec!["etag".into(), "location".into()],
            max_age_seconds: Some(600),
            allow_credentials: false,
        }
    }

    fn request(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("PATCH"),
        );
        headers
    }

    #[test]
    fn a_preflight_needs_options_an_origin_and_a_requested_method() {
        let headers = request("http://console.test");
        assert!(Cors::is_preflight(&Method::OPTIONS, &headers));
        assert!(!Cors::is_preflight(&Method::GET, &headers));
        let mut no_method = headers.clone();
        no_method.remove(header::ACCESS_CONTROL_REQUEST_METHOD);
        assert!(!Cors::is_preflight(&Method::OPTIONS, &no_method));
    }

    #[test]
    fn a_preflight_from_an_allowed_origin_gets_the_rules_and_others_get_none() {
        let response = cors().preflight(&request("http://console.test"));
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let headers = response.headers();
        assert_eq!(
            headers["access-control-allow-origin"],
            "http://console.test"
        );
        assert_eq!(headers["access-control-allow-methods"], "GET,PATCH");
        assert_eq!(
            headers["access-control-allow-headers"],
            "authorization,if-match"
        );
        assert_eq!(headers["access-control-max-age"], "600");
        assert!(!headers.contains_key("access-control-allow-credentials"));

        let refused = cors().preflight(&request("http://elsewhere.test"));
        assert_eq!(refused.status(), StatusCode::NO_CONTENT);
        assert!(
            refused
                .headers()
                .keys()
                .all(|name| !name.as_str().starts_with("access-control-"))
        );
    }

    #[test]
    fn answers_expose_the_headers_and_drop_the_integrations_own_cors_headers() {
        let mut response = Response::new(axum::body::Body::empty());
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        cors().apply(&request("http://console.test"), &mut response);
        let headers = response.headers();
        assert_eq!(
            headers["access-control-allow-origin"],
            "http://console.test"
        );
        assert_eq!(headers["access-control-expose-headers"], "etag,location");

        let mut other = Response::new(axum::body::Body::empty());
        other.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        cors().apply(&request("http://elsewhere.test"), &mut other);
        assert!(!other.headers().contains_key("access-control-allow-origin"));
    }

    #[test]
    fn a_star_allows_any_origin_and_echoes_it_only_with_credentials() {
        let any = Cors {
            allow_origins: vec!["*".into()],
            ..cors()
        };
        let response = any.preflight(&request("http://anywhere.test"));
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let with_credentials = Cors {
            allow_credentials: true,
            ..any
        };
        let response = with_credentials.preflight(&request("http://anywhere.test"));
        let headers = response.headers();
        assert_eq!(
            headers["access-control-allow-origin"],
            "http://anywhere.test"
        );
        assert_eq!(headers["access-control-allow-credentials"], "true");
    }
}
