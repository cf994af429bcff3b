//! The caller's identity, taken only from the claims API Gateway's JWT authorizer verified
//! (`requestContext.authorizer.jwt.claims`). Nothing in the request body or in headers can set
//! it, and the functions have no switch that would accept anything else.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::Problem;

/// Which verified claims carry the organisation and the roles (template parameters).
#[derive(Debug, Clone)]
pub struct ClaimNames {
    pub tenant: String,
    pub roles: String,
}

impl ClaimNames {
    pub fn from_env() -> Self {
        Self {
            tenant: std::env::var("TENANT_CLAIM").unwrap_or_else(|_| "tenant_id".into()),
            roles: std::env::var("ROLES_CLAIM").unwrap_or_else(|_| "roles".into()),
        }
    }
}

impl Default for ClaimNames {
    fn default() -> Self {
        Self {
            tenant: "tenant_id".into(),
            roles: "roles".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: String,
    pub user: String,
    pub roles: Vec<String>,
}

impl Caller {
    pub fn from_request(request: &Request, names: &ClaimNames) -> Result<Self, Problem> {
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            return Err(Problem::unauthenticated());
        };
        let claims = context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims)
            .ok_or_else(Problem::unauthenticated)?;
        let user = claims
            .get("sub")
            .filter(|s| !s.is_empty())
            .ok_or_else(Problem::unauthenticated)?;
        let tenant = claims
            .get(&names.tenant)
            .filter(|s| !s.is_empty())
            .ok_or_else(Problem::no_tenant)?;
        let roles = claims
            .get(&names.roles)
            .map(|r| parse_roles(r))
            .unwrap_or_default();
        Ok(Self {
            tenant: tenant.clone(),
            user: user.clone(),
            roles,
        })
    }
}

/// HTTP APIs hand array claims over as text: `[a b]` from a JWT array, or whatever the issuer
/// put in a string claim (`a,b`, `a b`, a JSON array). All of these mean the same roles.
pub fn parse_roles(raw: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(raw) {
        return list;
    }
    raw.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|r| r.trim_matches('"'))
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_every_shape_api_gateway_passes() {
        let expected = vec!["administrator".to_owned(), "technician".to_owned()];
        for raw in [
            "[administrator technician]",
            "administrator,technician",
            "administrator technician",
            r#"["administrator","technician"]"#,
            "[administrator, technician]",
        ] {
            assert_eq!(parse_roles(raw), expected, "{raw}");
        }
        assert!(parse_roles("").is_empty());
        assert!(parse_roles("[]").is_empty());
    }
}
