//! Reads the SAM template (`infra/template.yaml`): the one description of the tables and the
//! functions, for the deployment and for everything local alike.
//!
//! Only what the local host needs is read. CloudFormation's short-form tags (`!Ref`, `!GetAtt`,
//! `!Sub`, ...) parse as YAML tags; the long forms (`Ref:`, `Fn::GetAtt:`, `Fn::Sub:`) are
//! understood too.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;
use serde_norway::{Mapping, Value};

use crate::{DEFAULT_REGION, Error, Result};

/// The account id moto uses unless told otherwise; ARNs built locally use it too.
pub const LOCAL_ACCOUNT_ID: &str = "123456789012";

const TABLE_TYPE: &str = "AWS::DynamoDB::Table";
const FUNCTION_TYPE: &str = "AWS::Serverless::Function";

#[derive(Debug, Clone)]
pub struct Template {
    resources: Vec<(String, Value)>,
    parameter_defaults: HashMap<String, String>,
    tables: Vec<TableDef>,
    functions: Vec<FunctionDef>,
}

/// What it takes to create one `AWS::DynamoDB::Table` (billing is always on demand locally).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDef {
    #[serde(skip)]
    pub logical_id: String,
    pub attribute_definitions: Vec<AttributeDef>,
    pub key_schema: Vec<KeyElement>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexDef>,
    #[serde(default)]
    pub local_secondary_indexes: Vec<IndexDef>,
    #[serde(
        default,
        rename = "StreamSpecification",
        deserialize_with = "stream_view_type"
    )]
    pub stream_view_type: Option<String>,
    #[serde(default, rename = "TimeToLiveSpecification")]
    pub time_to_live: Option<TimeToLiveDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDef {
    pub attribute_name: String,
    /// `S`, `N` or `B`.
    pub attribute_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyElement {
    pub attribute_name: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: ProjectionDef,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionDef {
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLiveDef {
    pub attribute_name: String,
    #[serde(default)]
    pub enabled: bool,
}

/// One `AWS::Serverless::Function`, as far as running it locally goes.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDef {
    pub logical_id: String,
    /// The cargo binary (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// Globals.Function.Environment merged with the function's own, unresolved:
    /// see [`Template::environment`].
    pub environment: BTreeMap<String, Expr>,
    /// `(METHOD, path template)` of every `HttpApi` event, e.g. `("POST", "/customers")`.
    /// An event without Path and Method is API Gateway's catch-all: `("ANY", "$default")`.
    pub http_api_events: Vec<(String, String)>,
    pub memory_size_mb: Option<u32>,
    pub timeout_seconds: Option<u64>,
}

/// A template value that may need the stack's names to become text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Literal(String),
    Ref(String),
    GetAtt(String, String),
    /// A `!Sub` string and its own variables (the list form's mapping).
    Sub(String, BTreeMap<String, Expr>),
}

impl Template {
    pub fn load(path: impl AsRef<Path>) -> Result<Template> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Template(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| Error::Template(format!("{}: {e}", path.display())))
    }

    /// Parses and checks everything up front, so a malformed template fails at load time
    /// rather than halfway through starting the stack.
    pub fn parse(text: &str) -> Result<Template> {
        let root: Value = serde_norway::from_str(text)
            .map_err(|e| Error::Template(format!("not valid YAML: {e}")))?;
        let resources = mapping_entries(root.get("Resources"));
        let globals = root.get("Globals").and_then(|g| g.get("Function"));
        let mut tables = Vec::new();
        let mut functions = Vec::new();
        for (logical_id, resource) in &resources {
            match resource_type(resource) {
                Some(TABLE_TYPE) => tables.push(parse_table(logical_id, resource)?),
                Some(FUNCTION_TYPE) => {
                    functions.push(parse_function(logical_id, resource, globals)?)
                }
                _ => {}
            }
        }
        Ok(Template {
            parameter_defaults: parameter_defaults(root.get("Parameters")),
            resources,
            tables,
            functions,
        })
    }

    pub fn tables(&self) -> Vec<TableDef> {
        self.tables.clone()
    }

    pub fn table(&self, logical_id: &str) -> Option<&TableDef> {
        self.tables.iter().find(|t| t.logical_id == logical_id)
    }

    pub fn functions(&self) -> Vec<FunctionDef> {
        self.functions.clone()
    }

    pub fn function(&self, logical_id: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    /// The `Default` of every parameter that has one, as text.
    pub fn parameter_defaults(&self) -> &HashMap<String, String> {
        &self.parameter_defaults
    }

    /// The function's environment as the deployed function would see it. `names` maps logical
    /// ids of resources to their local physical names and parameters to their values; a
    /// parameter missing there falls back to its `Default`. Pseudo parameters (`AWS::Region`,
    /// ...) may be given in `names` too and otherwise take local values.
    pub fn environment(
        &self,
        function: &FunctionDef,
        names: &HashMap<String, String>,
    ) -> Result<HashMap<String, String>> {
        function
            .environment
            .iter()
            .map(|(key, expr)| {
                let value = self.resolve(expr, names).map_err(|e| {
                    Error::Template(format!(
                        "{}: environment variable {key}: {e}",
                        function.logical_id
                    ))
                })?;
                Ok((key.clone(), value))
            })
            .collect()
    }

    /// Text of one expression; the error is a plain message for the caller to place.
    pub fn resolve(&self, expr: &Expr, names: &HashMap<String, String>) -> Result<String, String> {
        match expr {
            Expr::Literal(text) => Ok(text.clone()),
            Expr::Ref(name) => self.resolve_ref(name, names),
            Expr::GetAtt(resource, attribute) => self.resolve_get_att(resource, attribute, names),
            Expr::Sub(text, variables) => self.resolve_sub(text, variables, names),
        }
    }

    fn resolve_ref(&self, name: &str, names: &HashMap<String, String>) -> Result<String, String> {
        if let Some(value) = names
            .get(name)
            .or_else(|| self.parameter_defaults.get(name))
        {
            return Ok(value.clone());
        }
        pseudo_parameter(name).map(str::to_owned).ok_or_else(|| {
            if self.is_resource(name) {
                format!("no local name given for resource {name}")
            } else {
                format!("!Ref {name}: no such parameter with a value or Default, nor resource")
            }
        })
    }

    /// Only table ARNs are built locally: the one attribute our functions are likely to be
    /// handed. Anything else is refused rather than guessed.
    fn resolve_get_att(
        &self,
        resource: &str,
        attribute: &str,
        names: &HashMap<String, String>,
    ) -> Result<String, String> {
        if attribute != "Arn" || self.table(resource).is_none() {
            return Err(format!(
                "!GetAtt {resource}.{attribute} is not supported locally"
            ));
        }
        let region = self.resolve_ref("AWS::Region", names)?;
        let account = self.resolve_ref("AWS::AccountId", names)?;
        let table = self.resolve_ref(resource, names)?;
        Ok(format!("arn:aws:dynamodb:{region}:{account}:table/{table}"))
    }

    fn resolve_sub(
        &self,
        text: &str,
        variables: &BTreeMap<String, Expr>,
        names: &HashMap<String, String>,
    ) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("!Sub {text:?}: unclosed ${{"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                // `${!Literal}` is CloudFormation's escape for a literal `${Literal}`.
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                out.push_str(&self.resolve_sub_variable(name, variables, names)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn resolve_sub_variable(
        &self,
        name: &str,
        variables: &BTreeMap<String, Expr>,
        names: &HashMap<String, String>,
    ) -> Result<String, String> {
        if let Some(expr) = variables.get(name) {
            return self.resolve(expr, names);
        }
        match name.split_once('.') {
            Some((resource, attribute)) if !name.starts_with("AWS::") => {
                self.resolve_get_att(resource, attribute, names)
            }
            _ => self.resolve_ref(name, names),
        }
    }

    fn is_resource(&self, logical_id: &str) -> bool {
        self.resources.iter().any(|(id, _)| id == logical_id)
    }
}

/// Local values of CloudFormation's pseudo parameters.
fn pseudo_parameter(name: &str) -> Option<&'static str> {
    match name {
        "AWS::Region" => Some(DEFAULT_REGION),
        "AWS::AccountId" => Some(LOCAL_ACCOUNT_ID),
        "AWS::Partition" => Some("aws"),
        "AWS::URLSuffix" => Some("amazonaws.com"),
        "AWS::StackName" => Some("local"),
        _ => None,
    }
}

fn parse_table(logical_id: &str, resource: &Value) -> Result<TableDef> {
    let properties = resource.get("Properties").cloned().unwrap_or(Value::Null);
    let mut table: TableDef = serde_norway::from_value(properties)
        .map_err(|e| Error::Template(format!("table {logical_id}: {e}")))?;
    table.logical_id = logical_id.to_owned();
    Ok(table)
}

fn stream_view_type<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct StreamSpecification {
        stream_view_type: String,
    }
    Ok(Option::<StreamSpecification>::deserialize(d)?.map(|s| s.stream_view_type))
}

fn parse_function(
    logical_id: &str,
    resource: &Value,
    globals: Option<&Value>,
) -> Result<FunctionDef> {
    let fail = |message: String| Error::Template(format!("function {logical_id}: {message}"));
    let properties = resource.get("Properties");
    let binary = resource
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
        .ok_or_else(|| fail("no Metadata.BuildProperties.Binary".into()))?;
    let mut environment = environment_variables(globals).map_err(&fail)?;
    environment.extend(environment_variables(properties).map_err(&fail)?);
    Ok(FunctionDef {
        logical_id: logical_id.to_owned(),
        binary: binary.to_owned(),
        environment,
        http_api_events: http_api_events(properties).map_err(&fail)?,
        memory_size_mb: function_setting(properties, globals, "MemorySize")
            .and_then(|v| u32::try_from(v).ok()),
        timeout_seconds: function_setting(properties, globals, "Timeout"),
    })
}

/// The function's own setting, else the Globals one (SAM's precedence).
fn function_setting(properties: Option<&Value>, globals: Option<&Value>, key: &str) -> Option<u64> {
    [properties, globals]
        .into_iter()
        .flatten()
        .find_map(|section| section.get(key).and_then(Value::as_u64))
}

/// `Environment.Variables` of a function's Properties or of Globals.Function.
fn environment_variables(section: Option<&Value>) -> Result<BTreeMap<String, Expr>, String> {
    let variables = section
        .and_then(|s| s.get("Environment"))
        .and_then(|e| e.get("Variables"));
    mapping_entries(variables)
        .into_iter()
        .map(|(key, value)| {
            Ok((
                key.clone(),
                expr(&value).map_err(|e| format!("{key}: {e}"))?,
            ))
        })
        .collect()
}

fn http_api_events(properties: Option<&Value>) -> Result<Vec<(String, String)>, String> {
    let events = mapping_entries(properties.and_then(|p| p.get("Events")));
    let mut routes = Vec::new();
    for (name, event) in events {
        if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
            continue;
        }
        let event_properties = event.get("Properties");
        let field = |key: &str| {
            event_properties
                .and_then(|p| p.get(key))
                .and_then(Value::as_str)
        };
        match (field("Method"), field("Path")) {
            (Some(method), Some(path)) => {
                routes.push((method.to_ascii_uppercase(), path.to_owned()))
            }
            (None, None) => routes.push(("ANY".to_owned(), "$default".to_owned())),
            _ => return Err(format!("event {name}: Path and Method go together")),
        }
    }
    Ok(routes)
}

/// A template value as an [`Expr`]: short-form tags and long-form intrinsic functions alike.
fn expr(value: &Value) -> Result<Expr, String> {
    match value {
        Value::String(text) => Ok(Expr::Literal(text.clone())),
        Value::Number(n) => Ok(Expr::Literal(n.to_string())),
        Value::Bool(b) => Ok(Expr::Literal(b.to_string())),
        Value::Tagged(tagged) => intrinsic(&tagged.tag.to_string()[1..], &tagged.value),
        Value::Mapping(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next().expect("one entry");
            let name = key.as_str().unwrap_or_default();
            intrinsic(name.strip_prefix("Fn::").unwrap_or(name), inner)
        }
        other => Err(format!("unsupported value {other:?}")),
    }
}

fn intrinsic(name: &str, argument: &Value) -> Result<Expr, String> {
    match (name, argument) {
        ("Ref", Value::String(target)) => Ok(Expr::Ref(target.clone())),
        ("GetAtt", Value::String(dotted)) => dotted
            .split_once('.')
            .map(|(resource, attribute)| Expr::GetAtt(resource.into(), attribute.into()))
            .ok_or_else(|| format!("!GetAtt {dotted}: expected Resource.Attribute")),
        ("GetAtt", Value::Sequence(parts)) => match parts.as_slice() {
            [Value::String(resource), Value::String(attribute)] => {
                Ok(Expr::GetAtt(resource.clone(), attribute.clone()))
            }
            _ => Err("!GetAtt: expected [Resource, Attribute]".into()),
        },
        ("Sub", Value::String(text)) => Ok(Expr::Sub(text.clone(), BTreeMap::new())),
        ("Sub", Value::Sequence(parts)) => match parts.as_slice() {
            [Value::String(text), variables] => {
                let variables = mapping_entries(Some(variables))
                    .into_iter()
                    .map(|(key, value)| Ok((key, expr(&value)?)))
                    .collect::<Result<_, String>>()?;
                Ok(Expr::Sub(text.clone(), variables))
            }
            _ => Err("!Sub: expected [String, {Variables}]".into()),
        },
        _ => Err(format!(
            "intrinsic function {name} is not supported locally"
        )),
    }
}

fn parameter_defaults(parameters: Option<&Value>) -> HashMap<String, String> {
    mapping_entries(parameters)
        .into_iter()
        .filter_map(|(name, parameter)| {
            let default = match parameter.get("Default")? {
                Value::String(text) => text.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((name, default))
        })
        .collect()
}

fn resource_type(resource: &Value) -> Option<&str> {
    resource.get("Type").and_then(Value::as_str)
}

/// The string-keyed entries of a mapping, in template order; anything else has none.
fn mapping_entries(value: Option<&Value>) -> Vec<(String, Value)> {
    let empty = Mapping::new();
    let map = value.and_then(Value::as_mapping).unwrap_or(&empty);
    map.iter()
        .filter_map(|(key, value)| Some((key.as_str()?.to_owned(), value.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_template() -> Template {
        let root = crate::find_repo_root(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        Template::load(root.join(crate::TEMPLATE_PATH)).expect("infra/template.yaml parses")
    }

    fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn key(name: &str, key_type: &str) -> KeyElement {
        KeyElement {
            attribute_name: name.into(),
            key_type: key_type.into(),
        }
    }

    #[test]
    fn the_customers_table_is_read_with_keys_indexes_stream_and_ttl() {
        let tables = real_template().tables();
        assert_eq!(tables.len(), 1);
        let table = &tables[0];
        assert_eq!(table.logical_id, "CustomersTable");
        assert_eq!(
            table.key_schema,
            vec![key("PK", "HASH"), key("SK", "RANGE")]
        );
        let attributes: Vec<_> = table
            .attribute_definitions
            .iter()
            .map(|a| a.attribute_name.as_str())
            .collect();
        assert_eq!(
            attributes,
            [
                "PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "GSI4PK",
                "GSI4SK"
            ]
        );
        assert!(
            table
                .attribute_definitions
                .iter()
                .all(|a| a.attribute_type == "S")
        );
        let indexes: Vec<_> = table
            .global_secondary_indexes
            .iter()
            .map(|i| i.index_name.as_str())
            .collect();
        assert_eq!(indexes, ["GSI1", "GSI2", "GSI3", "GSI4"]);
        let gsi2 = &table.global_secondary_indexes[1];
        assert_eq!(
            gsi2.key_schema,
            vec![key("GSI2PK", "HASH"), key("GSI2SK", "RANGE")]
        );
        assert_eq!(gsi2.projection.projection_type, "ALL");
        assert!(table.local_secondary_indexes.is_empty());
        assert_eq!(
            table.stream_view_type.as_deref(),
            Some("NEW_AND_OLD_IMAGES")
        );
        assert_eq!(
            table.time_to_live,
            Some(TimeToLiveDef {
                attribute_name: "expiresAt".into(),
                enabled: true
            })
        );
    }

    #[test]
    fn the_customers_function_is_read_with_binary_settings_and_routes() {
        let template = real_template();
        let functions = template.functions();
        assert_eq!(functions.len(), 1);
        let function = &functions[0];
        assert_eq!(function.logical_id, "CustomersApiFunction");
        assert_eq!(function.binary, "customers-api");
        assert_eq!(function.memory_size_mb, Some(256));
        assert_eq!(function.timeout_seconds, Some(10));
        let routes: Vec<(&str, &str)> = function
            .http_api_events
            .iter()
            .map(|(m, p)| (m.as_str(), p.as_str()))
            .collect();
        assert!(routes.len() >= 9, "{routes:?}");
        for expected in [
            ("POST", "/customers"),
            ("GET", "/customers"),
            ("GET", "/customers/{customerId}"),
            ("PATCH", "/customers/{customerId}"),
            ("POST", "/customers/{customerId}/deactivate"),
            ("POST", "/customers/{customerId}/reactivate"),
            ("POST", "/customers/{customerId}/contacts"),
            ("PATCH", "/customers/{customerId}/contacts/{contactId}"),
            ("DELETE", "/customers/{customerId}/contacts/{contactId}"),
        ] {
            assert!(
                routes.contains(&expected),
                "{expected:?} missing from {routes:?}"
            );
        }
    }

    #[test]
    fn environment_merges_globals_and_resolves_refs_and_defaults() {
        let template = real_template();
        let function = template.function("CustomersApiFunction").unwrap();
        let env = template
            .environment(
                function,
                &names(&[
                    ("CustomersTable", "local-CustomersTable"),
                    ("LogLevel", "debug"),
                ]),
            )
            .unwrap();
        assert_eq!(env["TABLE_NAME"], "local-CustomersTable");
        assert_eq!(env["TENANT_CLAIM"], "tenant_id", "parameter Default");
        assert_eq!(env["ROLES_CLAIM"], "roles");
        assert_eq!(
            env["RUST_LOG"], "debug",
            "Globals, with the given parameter value"
        );
        assert_eq!(env.len(), 4);
    }

    #[test]
    fn environment_without_a_name_for_a_referenced_resource_is_an_error() {
        let template = real_template();
        let function = template.function("CustomersApiFunction").unwrap();
        let error = template
            .environment(function, &HashMap::new())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("TABLE_NAME") && error.contains("CustomersTable"),
            "{error}"
        );
    }

    const SMALL: &str = r#"
Parameters:
  Stage: { Type: String, Default: dev }
  Size: { Type: Number, Default: 3 }
Globals:
  Function:
    Timeout: 5
    Environment:
      Variables:
        SHARED: global
        OVERRIDDEN: global
Resources:
  Things:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-things"
      AttributeDefinitions: [{ AttributeName: id, AttributeType: S }]
      KeySchema: [{ AttributeName: id, KeyType: HASH }]
      SSESpecification: !If [IsProd, { SSEEnabled: true }, !Ref AWS::NoValue]
  Worker:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: worker } }
    Properties:
      Timeout: 20
      Environment:
        Variables:
          OVERRIDDEN: own
          ARN: !GetAtt Things.Arn
          ARN_LONG: { "Fn::GetAtt": [Things, Arn] }
          INDEX: !Sub "${Things.Arn}/index/${Stage}-${!Literal}"
          SIZED: !Sub ["${Stage}:${Count}", { Count: !Ref Size }]
          REF_LONG: { Ref: Stage }
          NUMBER: 42
      Events:
        Anything: { Type: HttpApi }
        Queue: { Type: SQS, Properties: { Queue: arn } }
"#;

    #[test]
    fn short_and_long_intrinsics_resolve_and_tags_elsewhere_are_ignored() {
        let template = Template::parse(SMALL).unwrap();
        assert_eq!(template.tables()[0].key_schema, vec![key("id", "HASH")]);
        let worker = template.function("Worker").unwrap();
        assert_eq!(
            worker.timeout_seconds,
            Some(20),
            "own setting wins over Globals"
        );
        assert_eq!(worker.memory_size_mb, None);
        assert_eq!(
            worker.http_api_events,
            vec![("ANY".to_owned(), "$default".to_owned())]
        );
        let env = template
            .environment(worker, &names(&[("Things", "s-Things")]))
            .unwrap();
        let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/s-Things";
        assert_eq!(env["SHARED"], "global");
        assert_eq!(env["OVERRIDDEN"], "own");
        assert_eq!(env["ARN"], arn);
        assert_eq!(env["ARN_LONG"], arn);
        assert_eq!(env["INDEX"], format!("{arn}/index/dev-${{Literal}}"));
        assert_eq!(env["SIZED"], "dev:3");
        assert_eq!(env["REF_LONG"], "dev");
        assert_eq!(env["NUMBER"], "42");
    }

    #[test]
    fn unsupported_intrinsics_and_missing_binaries_fail_at_load() {
        let no_binary =
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {}\n";
        assert!(
            Template::parse(no_binary)
                .unwrap_err()
                .to_string()
                .contains("Binary")
        );
        let join = SMALL.replace("NUMBER: 42", "NUMBER: !Join [',', [a, b]]");
        assert!(
            Template::parse(&join)
                .unwrap_err()
                .to_string()
                .contains("Join")
        );
    }
}
