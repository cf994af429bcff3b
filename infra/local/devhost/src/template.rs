//! Reads the SAM template (`infra/template.yaml`): the one description of the tables, buckets,
//! queues, topics and functions, for the deployment and for everything local alike.
//!
//! Only what the local host needs is read. CloudFormation's short-form tags (`!Ref`, `!GetAtt`,
//! `!Sub`, ...) parse as YAML tags; the long forms (`Ref:`, `Fn::GetAtt:`, `Fn::Sub:`) are
//! understood too.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;
use serde_norway::{Mapping, Value};

use crate::filter::FilterPattern;
use crate::{DEFAULT_REGION, Error, Result};

/// The account id moto uses unless told otherwise; ARNs built locally use it too.
pub const LOCAL_ACCOUNT_ID: &str = "123456789012";

const TABLE_TYPE: &str = "AWS::DynamoDB::Table";
const FUNCTION_TYPE: &str = "AWS::Serverless::Function";
const BUCKET_TYPE: &str = "AWS::S3::Bucket";
const QUEUE_TYPE: &str = "AWS::SQS::Queue";
const TOPIC_TYPE: &str = "AWS::SNS::Topic";
const HTTP_API_TYPE: &str = "AWS::Serverless::HttpApi";

/// What Lambda uses when an SQS event source names no `BatchSize`.
pub const DEFAULT_SQS_BATCH_SIZE: u32 = 10;
/// What Lambda uses when a DynamoDB event source names no `BatchSize`.
pub const DEFAULT_STREAM_BATCH_SIZE: u32 = 100;
/// Lambda's limit on a DynamoDB event source's `BatchSize`.
pub const MAX_STREAM_BATCH_SIZE: u32 = 10_000;
/// Lambda's limit on `MaximumRetryAttempts`.
pub const MAX_STREAM_RETRY_ATTEMPTS: u32 = 10_000;
/// The one `FunctionResponseTypes` value there is.
pub const REPORT_BATCH_ITEM_FAILURES: &str = "ReportBatchItemFailures";

#[derive(Debug, Clone)]
pub struct Template {
    resources: Vec<(String, Value)>,
    parameter_defaults: HashMap<String, String>,
    tables: Vec<TableDef>,
    buckets: Vec<BucketDef>,
    queues: Vec<QueueDef>,
    topics: Vec<TopicDef>,
    functions: Vec<FunctionDef>,
    http_api_cors: Option<HttpApiCorsDef>,
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

/// One `AWS::S3::Bucket`: its name and what it takes to deliver its notifications locally.
/// Encryption, public access block, ownership, lifecycle rules and the bucket policy are not
/// applied locally (the emulator enforces none of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketDef {
    pub logical_id: String,
    /// `BucketName`; CloudFormation generates one when it is absent (locally
    /// `{stack}-{logicalid}`, see `resources::bucket_name`).
    pub bucket_name: Option<Expr>,
    /// `NotificationConfiguration.QueueConfigurations`, in template order.
    pub queue_notifications: Vec<QueueNotificationDef>,
    /// `CorsConfiguration.CorsRules`.
    pub cors_rules: Vec<CorsRuleDef>,
    /// `VersioningConfiguration.Status` (`Enabled` or `Suspended`).
    pub versioning: Option<String>,
}

/// One entry of a bucket's `QueueConfigurations`: S3 sends `event` for keys passing `filter`
/// to `queue` (an ARN expression, typically `!GetAtt Queue.Arn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueNotificationDef {
    /// e.g. `s3:ObjectCreated:*`
    pub event: String,
    pub queue: Expr,
    /// `Filter.S3Key.Rules` as `(name, value)`, the name lower case (`prefix`, `suffix`).
    pub filter_rules: Vec<(String, String)>,
}

/// One rule of a bucket's `CorsConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsRuleDef {
    pub id: Option<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_origins: Vec<Expr>,
    pub allowed_headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    pub max_age_seconds: Option<i32>,
}

/// The HTTP API's `CorsConfiguration` (an `AWS::Serverless::HttpApi`'s), unresolved: see
/// `gateway::Cors` for how it is played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpApiCorsDef {
    /// `AllowOrigins`: a list, or one expression that gives a comma-separated list (a `!Ref` to
    /// a `CommaDelimitedList` parameter).
    pub allow_origins: Vec<Expr>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<u32>,
    pub allow_credentials: bool,
}

/// One `AWS::SQS::Queue` (standard queues only: FIFO ones are refused at load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDef {
    pub logical_id: String,
    /// `QueueName`; locally `{stack}-{LogicalId}` when absent.
    pub queue_name: Option<Expr>,
    pub visibility_timeout_seconds: Option<u32>,
    pub message_retention_period_seconds: Option<u32>,
    pub delay_seconds: Option<u32>,
    pub redrive_policy: Option<RedrivePolicyDef>,
}

/// A queue's `RedrivePolicy`: after `max_receive_count` receives a message moves to the
/// dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedrivePolicyDef {
    /// `deadLetterTargetArn`, typically `!GetAtt DeadLetterQueue.Arn`.
    pub dead_letter_target: Expr,
    pub max_receive_count: u32,
}

/// One `AWS::SNS::Topic` (standard topics only: FIFO ones are refused at load). `KmsMasterKeyId`
/// and the other settings are not applied locally (the emulator needs no key); inline
/// `Subscription`s are refused, as nothing would deliver to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDef {
    pub logical_id: String,
    /// `TopicName`; locally `{stack}-{LogicalId}` when absent (see `resources::topic_name`).
    pub topic_name: Option<Expr>,
}

/// One `Type: SQS` event of a function: Lambda's event source mapping polling `queue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsEventDef {
    /// The event's name under `Events`.
    pub name: String,
    /// The queue's ARN expression, typically `!GetAtt Queue.Arn`.
    pub queue: Expr,
    /// Messages per invocation at most (default [`DEFAULT_SQS_BATCH_SIZE`]).
    pub batch_size: u32,
    /// How long to gather a batch before invoking (default 0: invoke with what one receive
    /// returned).
    pub maximum_batching_window_seconds: u32,
    /// e.g. `["ReportBatchItemFailures"]`.
    pub function_response_types: Vec<String>,
    /// `Enabled` (default true): a disabled mapping polls nothing.
    pub enabled: bool,
    /// `ScalingConfig.MaximumConcurrency`: batches in flight at most.
    pub maximum_concurrency: Option<u32>,
}

impl SqsEventDef {
    /// Whether the function answers with `batchItemFailures` (partial batch responses).
    pub fn reports_batch_item_failures(&self) -> bool {
        self.function_response_types
            .iter()
            .any(|t| t == REPORT_BATCH_ITEM_FAILURES)
    }
}

/// Where a DynamoDB event source starts reading a shard it has not read before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest record the stream still has (24 hours back on AWS).
    TrimHorizon,
    /// Only records written after the mapping started.
    Latest,
}

/// One `Type: DynamoDB` event of a function: Lambda's event source mapping reading a table's
/// stream (see `stream_sources`).
#[derive(Debug, Clone, PartialEq)]
pub struct DynamoDbEventDef {
    /// The event's name under `Events`.
    pub name: String,
    /// The stream's ARN expression, typically `!GetAtt Table.StreamArn`.
    pub stream: Expr,
    pub starting_position: StartingPosition,
    /// Records per invocation at most (default [`DEFAULT_STREAM_BATCH_SIZE`]).
    pub batch_size: u32,
    /// How long to gather records before invoking (default 0).
    pub maximum_batching_window_seconds: u32,
    /// `MaximumRetryAttempts`: `None` is Lambda's default -1, "until the record expires"
    /// (locally capped: see `StreamOptions::unlimited_retries`).
    pub maximum_retry_attempts: Option<u32>,
    pub bisect_batch_on_function_error: bool,
    /// e.g. `["ReportBatchItemFailures"]`.
    pub function_response_types: Vec<String>,
    /// `DestinationConfig.OnFailure.Destination`: an SQS queue's ARN expression.
    pub on_failure: Option<Expr>,
    /// `FilterCriteria.Filters[].Pattern`, parsed; empty: every record is delivered.
    pub filters: Vec<FilterPattern>,
    /// `Enabled` (default true).
    pub enabled: bool,
}

impl DynamoDbEventDef {
    /// Whether the function answers with `batchItemFailures` (partial batch responses).
    pub fn reports_batch_item_failures(&self) -> bool {
        self.function_response_types
            .iter()
            .any(|t| t == REPORT_BATCH_ITEM_FAILURES)
    }
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
    /// Every `SQS` event, in template order.
    pub sqs_events: Vec<SqsEventDef>,
    /// Every `DynamoDB` (stream) event, in template order.
    pub dynamodb_events: Vec<DynamoDbEventDef>,
    /// `(name, Type)` of the events that are neither `HttpApi`, `SQS` nor `DynamoDB`: not
    /// delivered locally.
    pub other_events: Vec<(String, String)>,
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
        let mut buckets = Vec::new();
        let mut queues = Vec::new();
        let mut topics = Vec::new();
        let mut functions = Vec::new();
        let mut http_apis = Vec::new();
        let parameter_defaults = parameter_defaults(root.get("Parameters"));
        let conditions = conditions(root.get("Conditions"), &parameter_defaults)?;
        for (logical_id, resource) in &resources {
            if let Some(condition) = resource.get("Condition") {
                let holds = condition
                    .as_str()
                    .and_then(|name| conditions.get(name))
                    .ok_or_else(|| {
                        Error::Template(format!("{logical_id}: unknown Condition {condition:?}"))
                    })?;
                if !holds {
                    continue;
                }
            }
            match resource_type(resource) {
                Some(TABLE_TYPE) => tables.push(parse_table(logical_id, resource)?),
                Some(BUCKET_TYPE) => buckets.push(parse_bucket(logical_id, resource)?),
                Some(QUEUE_TYPE) => queues.push(parse_queue(logical_id, resource)?),
                Some(TOPIC_TYPE) => topics.push(parse_topic(logical_id, resource)?),
                Some(HTTP_API_TYPE) => http_apis.push(parse_http_api_cors(logical_id, resource)?),
                Some(FUNCTION_TYPE) => {
                    functions.push(parse_function(logical_id, resource, globals)?)
                }
                _ => {}
            }
        }
        if http_apis.len() > 1 {
            return Err(Error::Template(
                "more than one AWS::Serverless::HttpApi: the local gateway serves one".into(),
            ));
        }
        Ok(Template {
            http_api_cors: http_apis.pop().flatten(),
            parameter_defaults,
            resources,
            tables,
            buckets,
            queues,
            topics,
            functions,
        })
    }

    pub fn tables(&self) -> Vec<TableDef> {
        self.tables.clone()
    }

    pub fn table(&self, logical_id: &str) -> Option<&TableDef> {
        self.tables.iter().find(|t| t.logical_id == logical_id)
    }

    pub fn buckets(&self) -> &[BucketDef] {
        &self.buckets
    }

    pub fn bucket(&self, logical_id: &str) -> Option<&BucketDef> {
        self.buckets.iter().find(|b| b.logical_id == logical_id)
    }

    pub fn queues(&self) -> &[QueueDef] {
        &self.queues
    }

    pub fn queue(&self, logical_id: &str) -> Option<&QueueDef> {
        self.queues.iter().find(|q| q.logical_id == logical_id)
    }

    pub fn topics(&self) -> &[TopicDef] {
        &self.topics
    }

    pub fn topic(&self, logical_id: &str) -> Option<&TopicDef> {
        self.topics.iter().find(|t| t.logical_id == logical_id)
    }

    pub fn functions(&self) -> Vec<FunctionDef> {
        self.functions.clone()
    }

    pub fn function(&self, logical_id: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    /// The HTTP API's CORS rules; `None` when it has none (browsers on other origins are refused).
    pub fn http_api_cors(&self) -> Option<&HttpApiCorsDef> {
        self.http_api_cors.as_ref()
    }

    /// The `Default` of every parameter that has one, as text.
    pub fn parameter_defaults(&self) -> &HashMap<String, String> {
        &self.parameter_defaults
    }

    /// The function's environment as the deployed function would see it. `names` maps logical
    /// ids of resources to what `Ref` returns for them locally (a table's or bucket's name, a
    /// queue's URL, a topic's ARN) and parameters to their values; a parameter missing there
    /// falls back to its `Default`. Pseudo parameters (`AWS::Region`, ...) may be given in
    /// `names` too and otherwise take local values. An entry `Resource.Attribute` (e.g.
    /// `ImportsQueue.Arn`) gives `!GetAtt Resource.Attribute` outright; otherwise it is built
    /// (see [`Template::resolve`]).
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
    ///
    /// `Ref` of a table or bucket is its name, of a queue its URL, of a topic its ARN (what
    /// CloudFormation returns). `!GetAtt X.Arn` is built from that for tables
    /// (`arn:aws:dynamodb:R:A:table/NAME`), buckets (`arn:aws:s3:::NAME`) and queues
    /// (`arn:aws:sqs:R:A:NAME`, the name being the URL's last segment); `!GetAtt Q.QueueName`
    /// and `!GetAtt Q.QueueUrl` of queues too. `!GetAtt T.TopicArn` of a topic is its `Ref`,
    /// `!GetAtt T.TopicName` the ARN's last segment.
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

    /// The attributes our functions are likely to be handed are built locally; anything else is
    /// refused rather than guessed.
    fn resolve_get_att(
        &self,
        resource: &str,
        attribute: &str,
        names: &HashMap<String, String>,
    ) -> Result<String, String> {
        if let Some(given) = names.get(&format!("{resource}.{attribute}")) {
            return Ok(given.clone());
        }
        let unsupported = || format!("!GetAtt {resource}.{attribute} is not supported locally");
        let region = || self.resolve_ref("AWS::Region", names);
        let account = || self.resolve_ref("AWS::AccountId", names);
        if self.table(resource).is_some() {
            if attribute == "StreamArn" {
                return Err(format!(
                    "!GetAtt {resource}.StreamArn: the table's stream ARN is only known once the \
                     table exists locally (none given; has the table a StreamSpecification?)"
                ));
            }
            if attribute != "Arn" {
                return Err(unsupported());
            }
            let table = self.resolve_ref(resource, names)?;
            return Ok(format!(
                "arn:aws:dynamodb:{}:{}:table/{table}",
                region()?,
                account()?
            ));
        }
        if self.bucket(resource).is_some() {
            if attribute != "Arn" {
                return Err(unsupported());
            }
            let bucket = self.resolve_ref(resource, names)?;
            return Ok(format!("arn:aws:s3:::{bucket}"));
        }
        if self.queue(resource).is_some() {
            let url = self.resolve_ref(resource, names)?;
            let name = queue_name_of_url(&url)
                .ok_or_else(|| format!("{resource}: {url:?} is not a queue URL"))?;
            return match attribute {
                "Arn" => Ok(format!("arn:aws:sqs:{}:{}:{name}", region()?, account()?)),
                "QueueName" => Ok(name.to_owned()),
                "QueueUrl" => Ok(url),
                _ => Err(unsupported()),
            };
        }
        if self.topic(resource).is_some() {
            let arn = self.resolve_ref(resource, names)?;
            return match attribute {
                "TopicArn" => Ok(arn),
                "TopicName" => topic_name_of_arn(&arn)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{resource}: {arn:?} is not a topic ARN")),
                _ => Err(unsupported()),
            };
        }
        Err(unsupported())
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

/// A queue's name from its URL (`https://sqs.R.amazonaws.com/ACCOUNT/NAME`, or the emulator's
/// `http://127.0.0.1:4566/ACCOUNT/NAME`): the last path segment.
pub fn queue_name_of_url(url: &str) -> Option<&str> {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (_, name) = path.trim_end_matches('/').rsplit_once('/')?;
    (!name.is_empty()).then_some(name)
}

/// A topic's name from its ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`): the last field.
pub fn topic_name_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("sns"), Some(_region), Some(_account), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (!name.is_empty() && !name.contains(':')).then_some(name)
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
        sqs_events: sqs_events(properties).map_err(&fail)?,
        dynamodb_events: dynamodb_events(properties).map_err(&fail)?,
        other_events: other_events(properties),
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

fn sqs_events(properties: Option<&Value>) -> Result<Vec<SqsEventDef>, String> {
    let events = mapping_entries(properties.and_then(|p| p.get("Events")));
    let mut out = Vec::new();
    for (name, event) in events {
        if event.get("Type").and_then(Value::as_str) != Some("SQS") {
            continue;
        }
        let fail = |message: String| format!("SQS event {name}: {message}");
        let event_properties = event.get("Properties");
        let get = |key: &str| event_properties.and_then(|p| p.get(key));
        if get("FilterCriteria").is_some() {
            return Err(fail(
                "FilterCriteria is not supported locally (every message would be delivered)".into(),
            ));
        }
        let queue = get("Queue").ok_or_else(|| fail("no Queue".into()))?;
        let function_response_types = match get("FunctionResponseTypes") {
            None => Vec::new(),
            Some(value) => {
                strings(value).map_err(|e| fail(format!("FunctionResponseTypes: {e}")))?
            }
        };
        if let Some(unknown) = function_response_types
            .iter()
            .find(|t| *t != REPORT_BATCH_ITEM_FAILURES)
        {
            return Err(fail(format!(
                "unknown FunctionResponseTypes entry {unknown:?}"
            )));
        }
        let whole = |key: &str| {
            get(key)
                .map(|v| number(v).map_err(|e| fail(format!("{key}: {e}"))))
                .transpose()
        };
        let batch_size = whole("BatchSize")?.unwrap_or(DEFAULT_SQS_BATCH_SIZE);
        if batch_size == 0 {
            return Err(fail("BatchSize must be at least 1".into()));
        }
        let maximum_concurrency = get("ScalingConfig")
            .and_then(|c| c.get("MaximumConcurrency"))
            .map(|v| number(v).map_err(|e| fail(format!("MaximumConcurrency: {e}"))))
            .transpose()?;
        out.push(SqsEventDef {
            queue: expr(queue).map_err(|e| fail(format!("Queue: {e}")))?,
            batch_size,
            maximum_batching_window_seconds: whole("MaximumBatchingWindowInSeconds")?.unwrap_or(0),
            function_response_types,
            enabled: match get("Enabled") {
                None => true,
                Some(Value::Bool(enabled)) => *enabled,
                Some(other) => {
                    return Err(fail(format!(
                        "Enabled: expected true or false, not {other:?}"
                    )));
                }
            },
            maximum_concurrency,
            name,
        });
    }
    Ok(out)
}

/// The properties of a `Type: DynamoDB` event that are delivered locally; any other is refused.
const DYNAMODB_EVENT_PROPERTIES: &[&str] = &[
    "Stream",
    "StartingPosition",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "MaximumRetryAttempts",
    "BisectBatchOnFunctionError",
    "FunctionResponseTypes",
    "DestinationConfig",
    "FilterCriteria",
    "Enabled",
];

fn dynamodb_events(properties: Option<&Value>) -> Result<Vec<DynamoDbEventDef>, String> {
    let events = mapping_entries(properties.and_then(|p| p.get("Events")));
    let mut out = Vec::new();
    for (name, event) in events {
        if event.get("Type").and_then(Value::as_str) != Some("DynamoDB") {
            continue;
        }
        let fail = |message: String| format!("DynamoDB event {name}: {message}");
        let event_properties = event.get("Properties");
        for (key, _) in mapping_entries(event_properties) {
            if !DYNAMODB_EVENT_PROPERTIES.contains(&key.as_str()) {
                return Err(fail(format!(
                    "{key} is not supported locally (supported: {})",
                    DYNAMODB_EVENT_PROPERTIES.join(", ")
                )));
            }
        }
        let get = |key: &str| event_properties.and_then(|p| p.get(key));
        let stream = get("Stream").ok_or_else(|| fail("no Stream".into()))?;
        let starting_position = match get("StartingPosition").and_then(Value::as_str) {
            Some("TRIM_HORIZON") => StartingPosition::TrimHorizon,
            Some("LATEST") => StartingPosition::Latest,
            Some(other) => {
                return Err(fail(format!(
                    "StartingPosition {other:?} is not supported locally (TRIM_HORIZON or LATEST)"
                )));
            }
            None => {
                return Err(fail(
                    "StartingPosition is required (TRIM_HORIZON or LATEST)".into(),
                ));
            }
        };
        let whole = |key: &str| {
            get(key)
                .map(|v| number(v).map_err(|e| fail(format!("{key}: {e}"))))
                .transpose()
        };
        let batch_size = whole("BatchSize")?.unwrap_or(DEFAULT_STREAM_BATCH_SIZE);
        if !(1..=MAX_STREAM_BATCH_SIZE).contains(&batch_size) {
            return Err(fail(format!(
                "BatchSize must be 1 to {MAX_STREAM_BATCH_SIZE}, not {batch_size}"
            )));
        }
        let maximum_retry_attempts = match get("MaximumRetryAttempts") {
            None => None,
            Some(value) if integer(value) == Some(-1) => None,
            Some(value) => match integer(value) {
                Some(n) if (0..=i64::from(MAX_STREAM_RETRY_ATTEMPTS)).contains(&n) => {
                    Some(n as u32)
                }
                _ => {
                    return Err(fail(format!(
                        "MaximumRetryAttempts must be -1 or 0 to {MAX_STREAM_RETRY_ATTEMPTS}, not \
                         {value:?}"
                    )));
                }
            },
        };
        let flag = |key: &str, default: bool| match get(key) {
            None => Ok(default),
            Some(Value::Bool(value)) => Ok(*value),
            Some(other) => Err(fail(format!(
                "{key}: expected true or false, not {other:?}"
            ))),
        };
        let function_response_types = match get("FunctionResponseTypes") {
            None => Vec::new(),
            Some(value) => {
                strings(value).map_err(|e| fail(format!("FunctionResponseTypes: {e}")))?
            }
        };
        if let Some(unknown) = function_response_types
            .iter()
            .find(|t| *t != REPORT_BATCH_ITEM_FAILURES)
        {
            return Err(fail(format!(
                "unknown FunctionResponseTypes entry {unknown:?}"
            )));
        }
        let on_failure = match get("DestinationConfig") {
            None => None,
            Some(config) => {
                for (key, _) in mapping_entries(Some(config)) {
                    if key != "OnFailure" {
                        return Err(fail(format!("DestinationConfig.{key} is not supported")));
                    }
                }
                match config.get("OnFailure") {
                    None => None,
                    Some(on_failure) => {
                        match on_failure.get("Type").and_then(Value::as_str) {
                            None | Some("SQS") => {}
                            Some(other) => {
                                return Err(fail(format!(
                                    "DestinationConfig.OnFailure.Type {other:?} is not \
                                     supported locally (only SQS)"
                                )));
                            }
                        }
                        let destination = on_failure.get("Destination").ok_or_else(|| {
                            fail("DestinationConfig.OnFailure without Destination".into())
                        })?;
                        Some(expr(destination).map_err(|e| {
                            fail(format!("DestinationConfig.OnFailure.Destination: {e}"))
                        })?)
                    }
                }
            }
        };
        let mut filters = Vec::new();
        if let Some(criteria) = get("FilterCriteria") {
            for (index, filter) in sequence(criteria.get("Filters")).iter().enumerate() {
                let text = filter
                    .get("Pattern")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        fail(format!(
                            "FilterCriteria.Filters[{index}]: Pattern must be a JSON string"
                        ))
                    })?;
                filters.push(
                    FilterPattern::parse(text).map_err(|e| {
                        fail(format!("FilterCriteria.Filters[{index}].Pattern: {e}"))
                    })?,
                );
            }
        }
        out.push(DynamoDbEventDef {
            stream: expr(stream).map_err(|e| fail(format!("Stream: {e}")))?,
            starting_position,
            batch_size,
            maximum_batching_window_seconds: whole("MaximumBatchingWindowInSeconds")?.unwrap_or(0),
            maximum_retry_attempts,
            bisect_batch_on_function_error: flag("BisectBatchOnFunctionError", false)?,
            function_response_types,
            on_failure,
            filters,
            enabled: flag("Enabled", true)?,
            name,
        });
    }
    Ok(out)
}

/// A whole number, possibly negative, written as a number or as numeric text.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn other_events(properties: Option<&Value>) -> Vec<(String, String)> {
    mapping_entries(properties.and_then(|p| p.get("Events")))
        .into_iter()
        .filter_map(|(name, event)| {
            let kind = event
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or("(none)");
            (!matches!(kind, "HttpApi" | "SQS" | "DynamoDB")).then(|| (name, kind.to_owned()))
        })
        .collect()
}

fn parse_bucket(logical_id: &str, resource: &Value) -> Result<BucketDef> {
    let fail = |message: String| Error::Template(format!("bucket {logical_id}: {message}"));
    let properties = resource.get("Properties");
    let get = |key: &str| properties.and_then(|p| p.get(key));
    let bucket_name = get("BucketName")
        .map(|v| expr(v).map_err(|e| fail(format!("BucketName: {e}"))))
        .transpose()?;
    let mut queue_notifications = Vec::new();
    if let Some(notifications) = get("NotificationConfiguration") {
        for (key, _) in mapping_entries(Some(notifications)) {
            if key != "QueueConfigurations" {
                return Err(fail(format!(
                    "NotificationConfiguration.{key} is not supported locally (only \
                     QueueConfigurations are delivered)"
                )));
            }
        }
        for (index, entry) in sequence(notifications.get("QueueConfigurations"))
            .iter()
            .enumerate()
        {
            let fail = |message: String| fail(format!("QueueConfigurations[{index}]: {message}"));
            let event = entry
                .get("Event")
                .and_then(Value::as_str)
                .ok_or_else(|| fail("no Event".into()))?;
            let queue = entry.get("Queue").ok_or_else(|| fail("no Queue".into()))?;
            let rules = entry
                .get("Filter")
                .and_then(|f| f.get("S3Key"))
                .and_then(|k| k.get("Rules"));
            let mut filter_rules = Vec::new();
            for rule in sequence(rules) {
                let name = rule.get("Name").and_then(Value::as_str);
                let value = rule.get("Value").and_then(Value::as_str);
                let (Some(name), Some(value)) = (name, value) else {
                    return Err(fail("a filter rule needs Name and Value as text".into()));
                };
                let name = name.to_ascii_lowercase();
                if name != "prefix" && name != "suffix" {
                    return Err(fail(format!("unknown filter rule name {name:?}")));
                }
                filter_rules.push((name, value.to_owned()));
            }
            queue_notifications.push(QueueNotificationDef {
                event: event.to_owned(),
                queue: expr(queue).map_err(|e| fail(format!("Queue: {e}")))?,
                filter_rules,
            });
        }
    }
    let mut cors_rules = Vec::new();
    let rules = get("CorsConfiguration").and_then(|c| c.get("CorsRules"));
    for (index, rule) in sequence(rules).iter().enumerate() {
        let fail = |message: String| fail(format!("CorsRules[{index}]: {message}"));
        let texts = |key: &str| {
            rule.get(key)
                .map_or(Ok(Vec::new()), strings)
                .map_err(|e| fail(format!("{key}: {e}")))
        };
        let allowed_origins = sequence(rule.get("AllowedOrigins"))
            .iter()
            .map(|origin| expr(origin).map_err(|e| fail(format!("AllowedOrigins: {e}"))))
            .collect::<Result<_>>()?;
        cors_rules.push(CorsRuleDef {
            id: rule.get("Id").and_then(Value::as_str).map(str::to_owned),
            allowed_methods: texts("AllowedMethods")?,
            allowed_origins,
            allowed_headers: texts("AllowedHeaders")?,
            exposed_headers: texts("ExposedHeaders")?,
            max_age_seconds: rule
                .get("MaxAge")
                .map(|v| number(v).map_err(|e| fail(format!("MaxAge: {e}"))))
                .transpose()?
                .map(|age| i32::try_from(age).unwrap_or(i32::MAX)),
        });
    }
    let versioning = get("VersioningConfiguration")
        .and_then(|v| v.get("Status"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(BucketDef {
        logical_id: logical_id.to_owned(),
        bucket_name,
        queue_notifications,
        cors_rules,
        versioning,
    })
}

/// The `CorsConfiguration` of an HTTP API; SAM's `true` (any origin) is refused: the rules are
/// to be spelled out.
fn parse_http_api_cors(logical_id: &str, resource: &Value) -> Result<Option<HttpApiCorsDef>> {
    let fail = |message: String| {
        Error::Template(format!(
            "HTTP API {logical_id}: CorsConfiguration: {message}"
        ))
    };
    let Some(cors) = resource
        .get("Properties")
        .and_then(|p| p.get("CorsConfiguration"))
    else {
        return Ok(None);
    };
    if cors.as_mapping().is_none() {
        return Err(fail(
            "only the mapping form is supported locally (spell the rules out)".into(),
        ));
    }
    let texts = |key: &str| {
        cors.get(key)
            .map_or(Ok(Vec::new()), strings)
            .map_err(|e| fail(format!("{key}: {e}")))
    };
    let allow_origins = match cors.get("AllowOrigins") {
        None => Vec::new(),
        Some(Value::Sequence(origins)) => origins
            .iter()
            .map(|origin| expr(origin).map_err(|e| fail(format!("AllowOrigins: {e}"))))
            .collect::<Result<_>>()?,
        Some(origins) => vec![expr(origins).map_err(|e| fail(format!("AllowOrigins: {e}")))?],
    };
    Ok(Some(HttpApiCorsDef {
        allow_origins,
        allow_methods: texts("AllowMethods")?,
        allow_headers: texts("AllowHeaders")?,
        expose_headers: texts("ExposeHeaders")?,
        max_age_seconds: cors
            .get("MaxAge")
            .map(|v| number(v).map_err(|e| fail(format!("MaxAge: {e}"))))
            .transpose()?,
        allow_credentials: match cors.get("AllowCredentials") {
            None => false,
            Some(value) => value.as_bool().ok_or_else(|| {
                fail(format!(
                    "AllowCredentials: expected true or false, not {value:?}"
                ))
            })?,
        },
    }))
}

fn parse_queue(logical_id: &str, resource: &Value) -> Result<QueueDef> {
    let fail = |message: String| Error::Template(format!("queue {logical_id}: {message}"));
    let properties = resource.get("Properties");
    let get = |key: &str| properties.and_then(|p| p.get(key));
    if get("FifoQueue").is_some_and(|v| v.as_bool() != Some(false)) {
        return Err(fail("FIFO queues are not supported locally".into()));
    }
    let whole = |key: &str| {
        get(key)
            .map(|v| number(v).map_err(|e| fail(format!("{key}: {e}"))))
            .transpose()
    };
    let redrive_policy = match get("RedrivePolicy") {
        None => None,
        Some(policy) => {
            let target = policy
                .get("deadLetterTargetArn")
                .ok_or_else(|| fail("RedrivePolicy without deadLetterTargetArn".into()))?;
            let count = policy
                .get("maxReceiveCount")
                .ok_or_else(|| fail("RedrivePolicy without maxReceiveCount".into()))?;
            Some(RedrivePolicyDef {
                dead_letter_target: expr(target)
                    .map_err(|e| fail(format!("deadLetterTargetArn: {e}")))?,
                max_receive_count: number(count)
                    .map_err(|e| fail(format!("maxReceiveCount: {e}")))?,
            })
        }
    };
    Ok(QueueDef {
        logical_id: logical_id.to_owned(),
        queue_name: get("QueueName")
            .map(|v| expr(v).map_err(|e| fail(format!("QueueName: {e}"))))
            .transpose()?,
        visibility_timeout_seconds: whole("VisibilityTimeout")?,
        message_retention_period_seconds: whole("MessageRetentionPeriod")?,
        delay_seconds: whole("DelaySeconds")?,
        redrive_policy,
    })
}

fn parse_topic(logical_id: &str, resource: &Value) -> Result<TopicDef> {
    let fail = |message: String| Error::Template(format!("topic {logical_id}: {message}"));
    let properties = resource.get("Properties");
    let get = |key: &str| properties.and_then(|p| p.get(key));
    if get("FifoTopic").is_some_and(|v| v.as_bool() != Some(false)) {
        return Err(fail("FIFO topics are not supported locally".into()));
    }
    if get("Subscription").is_some() {
        return Err(fail(
            "Subscription is not supported locally (nothing would be delivered to the \
             endpoints)"
                .into(),
        ));
    }
    Ok(TopicDef {
        logical_id: logical_id.to_owned(),
        topic_name: get("TopicName")
            .map(|v| expr(v).map_err(|e| fail(format!("TopicName: {e}"))))
            .transpose()?,
    })
}

/// A whole number written as a number or as numeric text (CloudFormation accepts both).
fn number(value: &Value) -> Result<u32, String> {
    let parsed = match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| format!("expected a whole number, not {value:?}"))
}

/// A list of plain strings.
fn strings(value: &Value) -> Result<Vec<String>, String> {
    let items = value
        .as_sequence()
        .ok_or_else(|| format!("expected a list, not {value:?}"))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("expected text, not {item:?}"))
        })
        .collect()
}

/// The items of a sequence; anything else has none.
fn sequence(value: Option<&Value>) -> Vec<Value> {
    value
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default()
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

/// Whether each of the template's `Conditions` holds with the parameters' defaults (the local
/// stack takes the defaults of the parameters conditions test). Only `!Equals [a, b]` of
/// parameters and literals is understood; anything else fails at load.
fn conditions(
    section: Option<&Value>,
    defaults: &HashMap<String, String>,
) -> Result<HashMap<String, bool>> {
    let mut holds = HashMap::new();
    for (name, condition) in mapping_entries(section) {
        let fail = |message: &str| Error::Template(format!("condition {name}: {message}"));
        let (function, argument) = match &condition {
            Value::Tagged(tagged) => (tagged.tag.to_string()[1..].to_owned(), &tagged.value),
            Value::Mapping(map) if map.len() == 1 => {
                let (key, inner) = map.iter().next().expect("one entry");
                let key = key.as_str().unwrap_or_default();
                (key.strip_prefix("Fn::").unwrap_or(key).to_owned(), inner)
            }
            _ => return Err(fail("expected an intrinsic function")),
        };
        let operands = match (function.as_str(), argument) {
            ("Equals", Value::Sequence(operands)) if operands.len() == 2 => operands,
            _ => return Err(fail("only !Equals [a, b] is supported locally")),
        };
        let value = |operand: &Value| match expr(operand) {
            Ok(Expr::Literal(text)) => Ok(text),
            Ok(Expr::Ref(parameter)) => defaults
                .get(&parameter)
                .cloned()
                .ok_or_else(|| fail(&format!("parameter {parameter} has no Default"))),
            _ => Err(fail("only parameters and literals can be compared locally")),
        };
        holds.insert(name.clone(), value(&operands[0])? == value(&operands[1])?);
    }
    Ok(holds)
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
    fn resources_whose_condition_fails_with_the_defaults_are_left_out() {
        let text = |default: &str| {
            format!(
                r#"
Parameters:
  WithExtra: {{ Type: String, Default: "{default}" }}
Conditions:
  Extra: !Equals [!Ref WithExtra, "true"]
  Never: {{ "Fn::Equals": [a, b] }}
Resources:
  Always: {{ Type: AWS::S3::Bucket }}
  Optional: {{ Type: AWS::S3::Bucket, Condition: Extra }}
  Gone: {{ Type: AWS::S3::Bucket, Condition: Never }}
"#
            )
        };
        let ids = |template: Template| -> Vec<String> {
            template
                .buckets()
                .iter()
                .map(|b| b.logical_id.clone())
                .collect()
        };
        assert_eq!(ids(Template::parse(&text("false")).unwrap()), ["Always"]);
        assert_eq!(
            ids(Template::parse(&text("true")).unwrap()),
            ["Always", "Optional"]
        );
        let unknown = "Resources:\n  X: { Type: AWS::S3::Bucket, Condition: Nope }\n";
        assert!(Template::parse(unknown).is_err());
        let unsupported = "Conditions:\n  C: !Not [!Equals [a, b]]\nResources: {}\n";
        assert!(Template::parse(unsupported).is_err());
    }

    #[test]
    fn the_console_is_not_part_of_the_local_stack() {
        let template = real_template();
        assert!(template.bucket("ConsoleBucket").is_none());
        assert!(template.bucket("ImportsBucket").is_some());
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
                "PK", "SK", "GSI1PK", "GSI1SK", "GSI3PK", "GSI3SK", "GSI4PK", "GSI4SK", "GSI5PK",
                "GSI5SK", "GSI6PK", "GSI6SK", "GSI7PK", "GSI7SK", "GSI8PK", "GSI8SK"
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
        assert_eq!(
            indexes,
            ["GSI1", "GSI3", "GSI4", "GSI5", "GSI6", "GSI7", "GSI8"]
        );
        let gsi3 = &table.global_secondary_indexes[1];
        assert_eq!(
            gsi3.key_schema,
            vec![key("GSI3PK", "HASH"), key("GSI3SK", "RANGE")]
        );
        assert_eq!(gsi3.projection.projection_type, "ALL");
        // The lookup indexes hold keys only: an entry is one write unit.
        for lookup in &table.global_secondary_indexes[3..] {
            assert_eq!(lookup.projection.projection_type, "KEYS_ONLY");
        }
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
        let function = template.function("CustomersApiFunction").unwrap();
        assert_eq!(function.binary, "customers-api");
        assert_eq!(function.memory_size_mb, Some(256));
        assert_eq!(function.timeout_seconds, Some(10));
        let routes: Vec<(&str, &str)> = function
            .http_api_events
            .iter()
            .map(|(m, p)| (m.as_str(), p.as_str()))
            .collect();
        assert!(routes.len() >= 9, "{routes:?}");
        assert!(function.sqs_events.is_empty());
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
                    ("ImportsBucket", "local-imports"),
                    ("ImportsQueue", "http://local/queue"),
                    ("LogLevel", "debug"),
                ]),
            )
            .unwrap();
        assert_eq!(env["TABLE_NAME"], "local-CustomersTable");
        assert_eq!(env["IMPORTS_BUCKET"], "local-imports");
        assert_eq!(env["IMPORTS_QUEUE_URL"], "http://local/queue");
        assert_eq!(env["TENANT_CLAIM"], "tenant_id", "parameter Default");
        assert_eq!(env["ROLES_CLAIM"], "roles");
        assert_eq!(
            env["RUST_LOG"], "debug",
            "Globals, with the given parameter value"
        );
        assert_eq!(env.len(), 6);
    }

    #[test]
    fn environment_without_a_name_for_a_referenced_resource_is_an_error() {
        let template = real_template();
        let function = template.function("CustomersApiFunction").unwrap();
        let error = template
            .environment(
                function,
                &names(&[("ImportsBucket", "b"), ("ImportsQueue", "q")]),
            )
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("TABLE_NAME") && error.contains("CustomersTable"),
            "{error}"
        );
    }

    #[test]
    fn the_imports_bucket_is_read_with_its_name_notification_cors_and_versioning() {
        let template = real_template();
        assert_eq!(template.buckets().len(), 1);
        let bucket = template.bucket("ImportsBucket").unwrap();
        assert_eq!(
            bucket.bucket_name,
            Some(Expr::Sub(
                "${AWS::StackName}-imports-${AWS::AccountId}-${AWS::Region}".into(),
                BTreeMap::new()
            ))
        );
        assert_eq!(
            bucket.queue_notifications,
            vec![QueueNotificationDef {
                event: "s3:ObjectCreated:*".into(),
                queue: Expr::GetAtt("ImportsQueue".into(), "Arn".into()),
                filter_rules: vec![("prefix".into(), "imports/".into())],
            }]
        );
        assert_eq!(
            bucket.cors_rules,
            vec![CorsRuleDef {
                id: None,
                allowed_methods: vec!["POST".into(), "GET".into()],
                allowed_origins: vec![Expr::Ref("UploadAllowedOrigin".into())],
                allowed_headers: vec!["*".into()],
                exposed_headers: vec![],
                max_age_seconds: Some(3600),
            }]
        );
        assert_eq!(bucket.versioning.as_deref(), Some("Enabled"));
    }

    #[test]
    fn the_imports_queues_are_read_with_timeouts_and_the_redrive_policy() {
        let template = real_template();
        let ids: Vec<_> = template
            .queues()
            .iter()
            .map(|q| q.logical_id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "ImportsQueue",
                "ImportsDeadLetterQueue",
                "CascadeQueue",
                "CascadeDeadLetterQueue",
                "NotificationsDeadLetterQueue"
            ]
        );
        let queue = template.queue("ImportsQueue").unwrap();
        assert_eq!(queue.queue_name, None);
        assert_eq!(queue.visibility_timeout_seconds, Some(1800));
        assert_eq!(queue.message_retention_period_seconds, Some(345_600));
        assert_eq!(
            queue.redrive_policy,
            Some(RedrivePolicyDef {
                dead_letter_target: Expr::GetAtt("ImportsDeadLetterQueue".into(), "Arn".into()),
                max_receive_count: 5,
            })
        );
        let dead_letters = template.queue("ImportsDeadLetterQueue").unwrap();
        assert_eq!(dead_letters.visibility_timeout_seconds, None);
        assert_eq!(
            dead_letters.message_retention_period_seconds,
            Some(1_209_600)
        );
        assert_eq!(dead_letters.redrive_policy, None);
    }

    #[test]
    fn the_import_function_is_read_with_its_sqs_event_and_no_routes() {
        let template = real_template();
        let function = template.function("CustomersImportFunction").unwrap();
        assert_eq!(function.binary, "customers-import");
        assert_eq!(function.timeout_seconds, Some(300));
        assert_eq!(function.memory_size_mb, Some(1769));
        assert!(function.http_api_events.is_empty());
        assert!(function.other_events.is_empty());
        let event = SqsEventDef {
            name: "ImportFiles".into(),
            queue: Expr::GetAtt("ImportsQueue".into(), "Arn".into()),
            batch_size: 1,
            maximum_batching_window_seconds: 0,
            function_response_types: vec![REPORT_BATCH_ITEM_FAILURES.into()],
            enabled: true,
            maximum_concurrency: None,
        };
        assert_eq!(function.sqs_events, vec![event]);
        assert!(function.sqs_events[0].reports_batch_item_failures());
    }

    #[test]
    fn the_cascade_function_reads_the_table_stream_with_its_filter_and_destination() {
        let template = real_template();
        let function = template.function("CustomersCascadeFunction").unwrap();
        assert_eq!(function.binary, "customers-cascade");
        assert!(
            function.other_events.is_empty(),
            "{:?}",
            function.other_events
        );
        assert_eq!(function.sqs_events.len(), 1);
        let [event] = function.dynamodb_events.as_slice() else {
            panic!("{:?}", function.dynamodb_events)
        };
        assert_eq!(event.name, "CustomerDeactivated");
        assert_eq!(
            event.stream,
            Expr::GetAtt("CustomersTable".into(), "StreamArn".into())
        );
        assert_eq!(event.starting_position, StartingPosition::TrimHorizon);
        assert_eq!(event.batch_size, 10);
        assert_eq!(event.maximum_batching_window_seconds, 0);
        assert_eq!(event.maximum_retry_attempts, Some(5));
        assert!(event.bisect_batch_on_function_error);
        assert!(event.reports_batch_item_failures());
        assert!(event.enabled);
        assert_eq!(
            event.on_failure,
            Some(Expr::GetAtt("CascadeDeadLetterQueue".into(), "Arn".into()))
        );
        let [deactivated, bulk, merged, erased] = event.filters.as_slice() else {
            panic!("{:?}", event.filters)
        };
        let image = |status: &str| serde_json::json!({"entity": {"S": "Customer"}, "status": {"S": status}});
        let change = |old: &str, new: &str| {
            serde_json::json!({
                "eventName": "MODIFY",
                "dynamodb": {"OldImage": image(old), "NewImage": image(new)},
            })
        };
        assert!(deactivated.matches(&change("active", "inactive")));
        assert!(!bulk.matches(&change("active", "inactive")));
        assert!(!merged.matches(&change("active", "inactive")));
        // A merge moves the card's records; it never cancels them.
        for old in ["active", "inactive"] {
            assert!(merged.matches(&change(old, "merged")));
            assert!(!deactivated.matches(&change(old, "merged")));
        }
        // A bulk change recorded, not its progress.
        let recorded = |name: &str| {
            serde_json::json!({
                "eventName": name,
                "dynamodb": {"NewImage": {"entity": {"S": "BulkChange"}, "status": {"S": "queued"}}},
            })
        };
        assert!(bulk.matches(&recorded("INSERT")));
        assert!(!bulk.matches(&recorded("MODIFY")));
        assert!(!deactivated.matches(&recorded("INSERT")));
        assert!(!merged.matches(&recorded("INSERT")));
        assert!(!erased.matches(&change("active", "inactive")));
        let mut erased_image = image("inactive");
        erased_image["erased"] =
            serde_json::json!({"M": {"by": {"S": "dpo"}, "at": {"S": "2026-01-01T00:00:00Z"}}});
        let erasure = serde_json::json!({
            "eventName": "MODIFY",
            "dynamodb": {"OldImage": image("inactive"), "NewImage": erased_image},
        });
        assert!(erased.matches(&erasure));
        assert!(!deactivated.matches(&erasure));
        assert!(!merged.matches(&erasure));
        assert!(!bulk.matches(&erasure));

        let stream_arn = Expr::GetAtt("CustomersTable".into(), "StreamArn".into());
        let error = template.resolve(&stream_arn, &names(&[("CustomersTable", "s-T")]));
        assert!(
            error
                .unwrap_err()
                .contains("only known once the table exists")
        );
        let arn =
            "arn:aws:dynamodb:us-east-1:123456789012:table/s-T/stream/2026-01-01T00:00:00.000";
        let given = names(&[("CustomersTable", "s-T"), ("CustomersTable.StreamArn", arn)]);
        assert_eq!(template.resolve(&stream_arn, &given).unwrap(), arn);
    }

    const STREAMS: &str = r#"
Resources:
  Things:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{ AttributeName: id, AttributeType: S }]
      KeySchema: [{ AttributeName: id, KeyType: HASH }]
      StreamSpecification: { StreamViewType: NEW_IMAGE }
  Worker:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: worker } }
    Properties:
      Events:
        Changes:
          Type: DynamoDB
          Properties: { Stream: !GetAtt Things.StreamArn, StartingPosition: LATEST }
        Tuned:
          Type: DynamoDB
          Properties:
            Stream: { "Fn::GetAtt": [Things, StreamArn] }
            StartingPosition: TRIM_HORIZON
            BatchSize: 3
            MaximumBatchingWindowInSeconds: 2
            MaximumRetryAttempts: -1
            Enabled: false
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName": ["INSERT"]}'
                - Pattern: '{"eventName": ["REMOVE"]}'
"#;

    #[test]
    fn dynamodb_events_take_lambdas_defaults() {
        let template = Template::parse(STREAMS).unwrap();
        let worker = template.function("Worker").unwrap();
        let [changes, tuned] = worker.dynamodb_events.as_slice() else {
            panic!("{:?}", worker.dynamodb_events)
        };
        assert_eq!(changes.starting_position, StartingPosition::Latest);
        assert_eq!(changes.batch_size, DEFAULT_STREAM_BATCH_SIZE);
        assert_eq!(changes.maximum_retry_attempts, None, "-1 by default");
        assert!(!changes.bisect_batch_on_function_error);
        assert!(!changes.reports_batch_item_failures());
        assert_eq!(changes.on_failure, None);
        assert!(changes.filters.is_empty() && changes.enabled);
        assert_eq!(
            tuned.stream,
            Expr::GetAtt("Things".into(), "StreamArn".into())
        );
        assert_eq!(tuned.batch_size, 3);
        assert_eq!(tuned.maximum_batching_window_seconds, 2);
        assert_eq!(tuned.maximum_retry_attempts, None, "-1 written out");
        assert_eq!(tuned.filters.len(), 2);
        assert!(!tuned.enabled);
    }

    #[test]
    fn what_a_stream_mapping_cannot_do_locally_is_refused_at_load() {
        let refused = |from: &str, to: &str, expected: &str| {
            let text = STREAMS.replace(from, to);
            assert_ne!(text, STREAMS, "{from} is in the template");
            let error = Template::parse(&text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
            assert!(error.contains("DynamoDB event"), "{error}");
        };
        refused(
            "StartingPosition: LATEST",
            "StartingPosition: AT_TIMESTAMP",
            "AT_TIMESTAMP",
        );
        refused(
            "StartingPosition: LATEST",
            "BatchSize: 5",
            "StartingPosition is required",
        );
        refused(
            "BatchSize: 3",
            "BatchSize: 0",
            "BatchSize must be 1 to 10000",
        );
        refused(
            "BatchSize: 3",
            "ParallelizationFactor: 2",
            "ParallelizationFactor is not supported",
        );
        refused(
            "MaximumRetryAttempts: -1",
            "MaximumRetryAttempts: -2",
            "MaximumRetryAttempts",
        );
        refused(
            "Enabled: false",
            "BisectBatchOnFunctionError: yes",
            "BisectBatchOnFunctionError",
        );
        refused(
            r#"'{"eventName": ["INSERT"]}'"#,
            r#"'{"eventName": "INSERT"}'"#,
            "Filters[0].Pattern: eventName: a value to match must be in an array",
        );
        refused(
            r#"'{"eventName": ["REMOVE"]}'"#,
            r#"'{"eventName": '"#,
            "Filters[1].Pattern: pattern is not JSON",
        );
        refused(
            "Enabled: false",
            "DestinationConfig: { OnFailure: { Type: SNS, Destination: arn } }",
            "only SQS",
        );
        refused(
            "Enabled: false",
            "DestinationConfig: { OnFailure: { Type: SQS } }",
            "without Destination",
        );
        refused("Enabled: false", "FunctionResponseTypes: [All]", "\"All\"");
    }

    #[test]
    fn buckets_and_queues_resolve_to_names_urls_and_arns() {
        let template = real_template();
        let url = "http://127.0.0.1:4566/123456789012/s-ImportsQueue";
        let given = names(&[
            ("CustomersTable", "s-CustomersTable"),
            ("ImportsBucket", "s-imports-123456789012-us-east-1"),
            ("ImportsQueue", url),
            ("AWS::StackName", "s"),
        ]);
        let env = template
            .environment(
                template.function("CustomersImportFunction").unwrap(),
                &given,
            )
            .unwrap();
        assert_eq!(env["IMPORTS_BUCKET"], "s-imports-123456789012-us-east-1");
        assert_eq!(env["IMPORTS_QUEUE_URL"], url, "Ref of a queue is its URL");
        assert_eq!(env["IMPORT_ROWS_PER_INVOCATION"], "0");
        assert_eq!(env["TABLE_NAME"], "s-CustomersTable");

        let resolve = |expr: &Expr| template.resolve(expr, &given).unwrap();
        let bucket = template.bucket("ImportsBucket").unwrap();
        assert_eq!(
            resolve(bucket.bucket_name.as_ref().unwrap()),
            "s-imports-123456789012-us-east-1"
        );
        assert_eq!(
            resolve(&bucket.queue_notifications[0].queue),
            "arn:aws:sqs:us-east-1:123456789012:s-ImportsQueue"
        );
        assert_eq!(
            resolve(&Expr::Sub(
                "${ImportsBucket.Arn}/imports/*".into(),
                BTreeMap::new()
            )),
            "arn:aws:s3:::s-imports-123456789012-us-east-1/imports/*"
        );
        assert_eq!(
            resolve(&Expr::GetAtt("ImportsQueue".into(), "QueueName".into())),
            "s-ImportsQueue"
        );
        let mut with_arn = given.clone();
        with_arn.insert(
            "ImportsQueue.Arn".into(),
            "arn:aws:sqs:eu-north-1:000000000000:s-ImportsQueue".into(),
        );
        assert_eq!(
            template
                .resolve(&bucket.queue_notifications[0].queue, &with_arn)
                .unwrap(),
            "arn:aws:sqs:eu-north-1:000000000000:s-ImportsQueue",
            "a given attribute wins over the built one"
        );
        let domain = Expr::GetAtt("ImportsBucket".into(), "DomainName".into());
        assert!(
            template
                .resolve(&domain, &given)
                .unwrap_err()
                .contains("not supported locally")
        );
    }

    #[test]
    fn queue_names_come_from_the_last_segment_of_the_url() {
        assert_eq!(
            queue_name_of_url("https://sqs.eu-north-1.amazonaws.com/123456789012/q-1"),
            Some("q-1")
        );
        assert_eq!(
            queue_name_of_url("http://127.0.0.1:4566/123456789012/q_2/"),
            Some("q_2")
        );
        assert_eq!(queue_name_of_url("q"), None);
    }

    const QUEUES: &str = r#"
Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties: { QueueName: !Sub "${AWS::StackName}-work", VisibilityTimeout: "60", DelaySeconds: 2 }
  Worker:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: worker } }
    Properties:
      Events:
        Jobs:
          Type: SQS
          Properties: { Queue: !GetAtt Work.Arn, MaximumBatchingWindowInSeconds: 3, ScalingConfig: { MaximumConcurrency: 2 } }
        Paused:
          Type: SQS
          Properties: { Queue: !GetAtt Work.Arn, BatchSize: 100, Enabled: false }
        Nightly:
          Type: Schedule
          Properties: { Schedule: rate(1 day) }
"#;

    #[test]
    fn sqs_events_take_lambdas_defaults_and_other_events_are_listed() {
        let template = Template::parse(QUEUES).unwrap();
        let queue = template.queue("Work").unwrap();
        assert_eq!(queue.visibility_timeout_seconds, Some(60), "numeric text");
        assert_eq!(queue.delay_seconds, Some(2));
        assert_eq!(
            template
                .resolve(
                    queue.queue_name.as_ref().unwrap(),
                    &names(&[("AWS::StackName", "s")])
                )
                .unwrap(),
            "s-work"
        );
        let worker = template.function("Worker").unwrap();
        let [jobs, paused] = worker.sqs_events.as_slice() else {
            panic!("{:?}", worker.sqs_events)
        };
        assert_eq!(jobs.batch_size, DEFAULT_SQS_BATCH_SIZE);
        assert_eq!(jobs.maximum_batching_window_seconds, 3);
        assert_eq!(jobs.maximum_concurrency, Some(2));
        assert!(jobs.enabled && !jobs.reports_batch_item_failures());
        assert_eq!(paused.batch_size, 100);
        assert!(!paused.enabled);
        assert_eq!(
            worker.other_events,
            vec![("Nightly".to_owned(), "Schedule".to_owned())]
        );
    }

    #[test]
    fn what_cannot_be_delivered_locally_is_refused_at_load() {
        let refused = |from: &str, to: &str, expected: &str| {
            let text = QUEUES.replace(from, to);
            assert_ne!(text, QUEUES, "{from} is in the template");
            let error = Template::parse(&text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        };
        refused(
            "MaximumConcurrency: 2 } }",
            "MaximumConcurrency: 2 }, FilterCriteria: { Filters: [] } }",
            "FilterCriteria",
        );
        refused("DelaySeconds: 2", "FifoQueue: true", "FIFO");
        refused("BatchSize: 100", "BatchSize: 0", "BatchSize");
        refused("BatchSize: 100", "BatchSize: many", "BatchSize");
        refused(
            "BatchSize: 100",
            "FunctionResponseTypes: [Everything]",
            "Everything",
        );
        refused("Enabled: false", "Enabled: sometimes", "Enabled");
        let bucket = "  Files:\n    Type: AWS::S3::Bucket\n    Properties:\n      \
                      NotificationConfiguration:\n        LambdaConfigurations: []\n";
        let error = Template::parse(&format!("{QUEUES}{bucket}"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("LambdaConfigurations"), "{error}");
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

    #[test]
    fn the_technicians_topic_is_read_and_its_ref_is_the_arn() {
        let template = real_template();
        assert_eq!(
            template.topics(),
            [
                TopicDef {
                    logical_id: "TechnicianNotificationsTopic".into(),
                    topic_name: None,
                },
                TopicDef {
                    logical_id: "OperatorAlarmsTopic".into(),
                    topic_name: None,
                }
            ],
            "KmsMasterKeyId is not applied locally"
        );
        let arn = "arn:aws:sns:us-east-1:123456789012:s-TechnicianNotificationsTopic";
        let given = names(&[
            ("CustomersTable", "s-CustomersTable"),
            ("TechnicianNotificationsTopic", arn),
        ]);
        let function = template
            .function("TechnicianNotificationsFunction")
            .unwrap();
        let env = template.environment(function, &given).unwrap();
        assert_eq!(env["TOPIC_ARN"], arn, "Ref of a topic is its ARN");
        assert_eq!(env["TABLE_NAME"], "s-CustomersTable");
        assert_eq!(env.len(), 3, "{env:?}");
        let resolve = |attribute: &str| {
            template.resolve(
                &Expr::GetAtt("TechnicianNotificationsTopic".into(), attribute.into()),
                &given,
            )
        };
        assert_eq!(resolve("TopicArn").unwrap(), arn);
        assert_eq!(
            resolve("TopicName").unwrap(),
            "s-TechnicianNotificationsTopic"
        );
        assert!(
            resolve("Arn")
                .unwrap_err()
                .contains("not supported locally")
        );
        let sub = Expr::Sub(
            "${TechnicianNotificationsTopic.TopicName}/${TechnicianNotificationsTopic}".into(),
            BTreeMap::new(),
        );
        assert_eq!(
            template.resolve(&sub, &given).unwrap(),
            format!("s-TechnicianNotificationsTopic/{arn}")
        );
        let error = template
            .environment(function, &names(&[("CustomersTable", "t")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("TOPIC_ARN") && error.contains("TechnicianNotificationsTopic"),
            "{error}"
        );
    }

    /// A stream record as `stream_sources::stream_record` makes it (and as moto writes it: the
    /// keys of every record, the images of a NEW_AND_OLD_IMAGES stream).
    fn stream_record(event_name: &str, sk: &str, image: serde_json::Value) -> serde_json::Value {
        let keys = serde_json::json!({"PK": {"S": "T#acme#C#1"}, "SK": {"S": sk}});
        let mut dynamodb = serde_json::json!({"Keys": keys, "SequenceNumber": "1"});
        let mut full = image;
        full["PK"] = keys["PK"].clone();
        full["SK"] = keys["SK"].clone();
        match event_name {
            "INSERT" => dynamodb["NewImage"] = full,
            "REMOVE" => dynamodb["OldImage"] = full,
            _ => {
                dynamodb["NewImage"] = full.clone();
                dynamodb["OldImage"] = full;
            }
        }
        let source = "aws:dynamodb";
        serde_json::json!({"eventName": event_name, "eventSource": source, "dynamodb": dynamodb})
    }

    #[test]
    fn the_technician_notifications_read_assignments_and_new_work_from_the_table_stream() {
        let template = real_template();
        let function = template
            .function("TechnicianNotificationsFunction")
            .unwrap();
        assert_eq!(function.binary, "technician-notifications");
        assert_eq!(function.timeout_seconds, Some(30));
        assert!(function.http_api_events.is_empty() && function.sqs_events.is_empty());
        assert!(
            function.other_events.is_empty(),
            "{:?}",
            function.other_events
        );
        let [event] = function.dynamodb_events.as_slice() else {
            panic!("{:?}", function.dynamodb_events)
        };
        assert_eq!(event.name, "AssignmentsAndNewWork");
        assert_eq!(
            event.stream,
            Expr::GetAtt("CustomersTable".into(), "StreamArn".into())
        );
        assert_eq!(event.starting_position, StartingPosition::TrimHorizon);
        assert_eq!(event.batch_size, 25);
        assert_eq!(event.maximum_retry_attempts, Some(5));
        assert!(event.bisect_batch_on_function_error && event.reports_batch_item_failures());
        assert!(event.enabled);
        assert_eq!(
            event.on_failure,
            Some(Expr::GetAtt(
                "NotificationsDeadLetterQueue".into(),
                "Arn".into()
            ))
        );
        let [assignments, new_work] = event.filters.as_slice() else {
            panic!("{:?}", event.filters)
        };
        let assignee = serde_json::json!({"entity": {"S": "Assignment"}, "userId": {"S": "u1"}});
        let work_order = |kind: &str| {
            serde_json::json!({"entity": {"S": "WorkOrder"}, "kind": {"S": kind},
                               "updatedBy": {"S": "tess"}})
        };
        let assigned = stream_record("INSERT", "ASSIGNEE#u1", assignee.clone());
        let unassigned = stream_record("REMOVE", "ASSIGNEE#u1", assignee.clone());
        let order = stream_record("INSERT", "WO#01", work_order("order"));
        let fault = stream_record("INSERT", "WO#02", work_order("faultReport"));
        assert!(assignments.matches(&assigned) && assignments.matches(&unassigned));
        assert!(
            !assignments.matches(&order),
            "the prefix is on the sort key"
        );
        assert!(new_work.matches(&order) && new_work.matches(&fault));
        assert!(!new_work.matches(&assigned));
        let delivered =
            |record: &serde_json::Value| crate::filter::matches_any(&event.filters, record);
        for record in [&assigned, &unassigned, &order, &fault] {
            assert!(delivered(record), "either filter delivers: {record}");
        }
        for record in [
            stream_record("MODIFY", "ASSIGNEE#u1", assignee.clone()),
            stream_record("INSERT", "XASSIGNEE#u1", assignee.clone()),
            stream_record("INSERT", "assignee#u1", assignee),
            stream_record("INSERT", "WO#03", work_order("quotation")),
            stream_record("MODIFY", "WO#01", work_order("order")),
            stream_record("REMOVE", "WO#02", work_order("faultReport")),
            // Moved to the survivor by a merge: not new work.
            stream_record(
                "INSERT",
                "WO#04",
                serde_json::json!({"entity": {"S": "WorkOrder"}, "kind": {"S": "order"},
                                   "updatedBy": {"S": "cascade:merge"}}),
            ),
            stream_record(
                "INSERT",
                "JOB#01",
                serde_json::json!({"entity": {"S": "Job"}}),
            ),
        ] {
            assert!(!delivered(&record), "neither filter delivers: {record}");
        }
    }

    #[test]
    fn the_customer_texts_read_visit_changes_from_the_table_stream() {
        let template = real_template();
        let function = template.function("CustomerTextsFunction").unwrap();
        assert_eq!(function.binary, "customer-texts");
        assert!(
            function.other_events.is_empty(),
            "{:?}",
            function.other_events
        );
        let env = template
            .environment(function, &names(&[("CustomersTable", "s-T")]))
            .unwrap();
        assert_eq!(env["TABLE_NAME"], "s-T");
        let [event] = function.dynamodb_events.as_slice() else {
            panic!("{:?}", function.dynamodb_events)
        };
        assert_eq!(event.name, "VisitChanges");
        assert_eq!(
            event.stream,
            Expr::GetAtt("CustomersTable".into(), "StreamArn".into())
        );
        assert_eq!(event.batch_size, 25);
        assert_eq!(
            event.on_failure,
            Some(Expr::GetAtt(
                "NotificationsDeadLetterQueue".into(),
                "Arn".into()
            ))
        );
        assert_eq!(event.filters.len(), 1);
        let job = |status: &str| {
            serde_json::json!({"entity": {"S": "Job"}, "status": {"S": status},
                               "updatedBy": {"S": "tess"}})
        };
        let delivered =
            |record: serde_json::Value| crate::filter::matches_any(&event.filters, &record);
        // A visit a merge moved to the survivor is no news.
        let moved = serde_json::json!({"entity": {"S": "Job"}, "status": {"S": "scheduled"},
                                       "updatedBy": {"S": "cascade:merge"}});
        assert!(!delivered(stream_record("INSERT", "JOB#2", moved)));
        for status in ["scheduled", "enRoute", "completed"] {
            assert!(
                delivered(stream_record("INSERT", "JOB#1", job(status))),
                "{status}"
            );
            assert!(
                delivered(stream_record("MODIFY", "JOB#1", job(status))),
                "{status}"
            );
            assert!(
                !delivered(stream_record("REMOVE", "JOB#1", job(status))),
                "{status}"
            );
        }
        assert!(!delivered(stream_record(
            "MODIFY",
            "JOB#1",
            job("cancelled")
        )));
        assert!(!delivered(stream_record(
            "MODIFY",
            "JOB#1",
            job("Scheduled")
        )));
        let order = serde_json::json!({"entity": {"S": "WorkOrder"}, "status": {"S": "scheduled"}});
        assert!(!delivered(stream_record("INSERT", "WO#1", order)));
    }

    const TOPICS: &str = r#"
Resources:
  Named:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${AWS::StackName}-alerts"
      KmsMasterKeyId: alias/aws/sns
      DisplayName: Alerts
  Unnamed:
    Type: AWS::SNS::Topic
  Worker:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: worker } }
    Properties:
      Environment:
        Variables:
          NAMED: !Ref Named
          NAMED_NAME: !GetAtt Named.TopicName
          UNNAMED_ARN: { "Fn::GetAtt": [Unnamed, TopicArn] }
"#;

    #[test]
    fn topics_are_read_with_their_names_and_resolve_to_arns() {
        let template = Template::parse(TOPICS).unwrap();
        let named = template.topic("Named").unwrap();
        assert_eq!(
            named.topic_name,
            Some(Expr::Sub(
                "${AWS::StackName}-alerts".into(),
                BTreeMap::new()
            ))
        );
        assert_eq!(template.topic("Unnamed").unwrap().topic_name, None);
        assert!(template.topic("Worker").is_none());
        let given = names(&[
            ("Named", "arn:aws:sns:eu-north-1:000000000000:s-alerts"),
            ("Unnamed", "arn:aws:sns:eu-north-1:000000000000:s-Unnamed"),
        ]);
        let env = template
            .environment(template.function("Worker").unwrap(), &given)
            .unwrap();
        assert_eq!(env["NAMED"], "arn:aws:sns:eu-north-1:000000000000:s-alerts");
        assert_eq!(env["NAMED_NAME"], "s-alerts");
        assert_eq!(
            env["UNNAMED_ARN"],
            "arn:aws:sns:eu-north-1:000000000000:s-Unnamed"
        );
        let not_an_arn = names(&[("Named", "s-alerts"), ("Unnamed", "x")]);
        let error = template
            .environment(template.function("Worker").unwrap(), &not_an_arn)
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not a topic ARN"), "{error}");
    }

    #[test]
    fn what_a_topic_cannot_do_locally_is_refused_at_load() {
        let refused = |from: &str, to: &str, expected: &str| {
            let text = TOPICS.replace(from, to);
            assert_ne!(text, TOPICS, "{from} is in the template");
            let error = Template::parse(&text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
            assert!(error.contains("topic Named"), "{error}");
        };
        refused("DisplayName: Alerts", "FifoTopic: true", "FIFO");
        refused("DisplayName: Alerts", "FifoTopic: \"true\"", "FIFO");
        refused(
            "DisplayName: Alerts",
            "Subscription: [{ Endpoint: a@b.c, Protocol: email }]",
            "Subscription",
        );
        refused(
            "TopicName: !Sub \"${AWS::StackName}-alerts\"",
            "TopicName: !Join [-, [a, b]]",
            "TopicName",
        );
        let standard = TOPICS.replace("DisplayName: Alerts", "FifoTopic: false");
        assert!(Template::parse(&standard).is_ok());
    }

    #[test]
    fn topic_names_come_from_the_last_field_of_the_arn() {
        assert_eq!(
            topic_name_of_arn("arn:aws:sns:eu-north-1:123456789012:alerts"),
            Some("alerts")
        );
        assert_eq!(
            topic_name_of_arn("arn:aws-cn:sns:cn-north-1:123456789012:a_b-1"),
            Some("a_b-1")
        );
        assert_eq!(topic_name_of_arn("alerts"), None);
        assert_eq!(
            topic_name_of_arn("arn:aws:sqs:us-east-1:123456789012:q"),
            None
        );
        assert_eq!(
            topic_name_of_arn("arn:aws:sns:us-east-1:123456789012:"),
            None
        );
        assert_eq!(
            topic_name_of_arn("arn:aws:sns:us-east-1:123456789012:t:sub-id"),
            None,
            "a subscription ARN"
        );
    }
}
