//! Creates the template's resources in the emulator, as declared: tables (keys, indexes,
//! stream, TTL), topics (name), queues (timeouts, retention, redrive policy) and buckets (name,
//! versioning, CORS, notifications to the queues), so code tested locally meets what it meets
//! deployed.
//! Tests use [`create_table`] for a fresh table each: the definition still comes only from the
//! template. [`create_stack`] creates everything of one stack; running it twice is harmless.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};

use crate::template::{
    BucketDef, Expr, IndexDef, KeyElement, QueueDef, TableDef, Template, TopicDef,
};
use crate::{AwsClients, DEFAULT_REGION, Error, Result};

/// Long enough for a slow emulator, short enough that a stuck one is reported.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(60);
const ACTIVE_POLL: Duration = Duration::from_millis(100);

/// The local physical name of a table: one stack's tables side by side with another's.
pub fn physical_name(stack_name: &str, logical_id: &str) -> String {
    format!("{stack_name}-{logical_id}")
}

/// One queue as created locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalQueue {
    pub name: String,
    /// What `Ref` of the queue returns.
    pub url: String,
    /// What `!GetAtt Queue.Arn` returns: the emulator's own, read back after creating.
    pub arn: String,
}

/// One topic as created locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTopic {
    pub name: String,
    /// What `Ref` of the topic returns: the emulator's own ARN, as CreateTopic answered.
    pub arn: String,
}

/// Everything [`create_stack`] made, by logical id.
#[derive(Debug, Clone, Default)]
pub struct StackResources {
    /// Logical id -> table name.
    pub tables: HashMap<String, String>,
    /// Logical id -> bucket name.
    pub buckets: HashMap<String, String>,
    pub queues: HashMap<String, LocalQueue>,
    pub topics: HashMap<String, LocalTopic>,
    /// Logical id -> the table's `LatestStreamArn`, for every table with a stream.
    pub streams: HashMap<String, String>,
    /// What template expressions resolve against (see [`Template::environment`]): the given
    /// parameters, `AWS::StackName`, `AWS::Region`, the `Ref` value of every resource above (a
    /// topic's is its ARN), `Queue.Arn` of every queue and `Table.StreamArn` of every table with
    /// a stream.
    pub names: HashMap<String, String>,
}

impl StackResources {
    /// Logical id -> URL of every queue.
    pub fn queue_urls(&self) -> HashMap<String, String> {
        self.queues
            .iter()
            .map(|(id, queue)| (id.clone(), queue.url.clone()))
            .collect()
    }

    /// Logical id -> ARN of every topic.
    pub fn topic_arns(&self) -> HashMap<String, String> {
        self.topics
            .iter()
            .map(|(id, topic)| (id.clone(), topic.arn.clone()))
            .collect()
    }
}

/// Creates the template's tables, topics, queues and buckets for the stack `stack_name` and
/// returns their names. `parameters` are template parameter values (the rest take their local
/// values, `stack::local_parameters`, else their `Default`). Existing resources are kept and brought to the declared settings, so this is
/// harmless to repeat.
pub async fn create_stack(
    clients: &AwsClients,
    template: &Template,
    stack_name: &str,
    parameters: &HashMap<String, String>,
) -> Result<StackResources> {
    let region = clients
        .sqs
        .config()
        .region()
        .map_or(DEFAULT_REGION.to_owned(), |r| r.to_string());
    let mut names = crate::stack::local_parameters();
    names.extend(parameters.clone());
    names.insert("AWS::StackName".into(), stack_name.to_owned());
    names.insert("AWS::Region".into(), region);
    let tables = create_all(&clients.dynamodb, template, stack_name).await?;
    names.extend(tables.clone());
    let streams = stream_arns(&clients.dynamodb, &tables).await?;
    for (logical_id, arn) in &streams {
        names.insert(format!("{logical_id}.StreamArn"), arn.clone());
    }
    let topics = create_topics(&clients.sns, template, stack_name, &names).await?;
    for (logical_id, topic) in &topics {
        names.insert(logical_id.clone(), topic.arn.clone());
    }
    let queues = create_queues(&clients.sqs, template, stack_name, &names).await?;
    for (logical_id, queue) in &queues {
        names.insert(logical_id.clone(), queue.url.clone());
        names.insert(format!("{logical_id}.Arn"), queue.arn.clone());
    }
    let buckets = create_buckets(&clients.s3, template, stack_name, &names).await?;
    names.extend(buckets.clone());
    Ok(StackResources {
        tables,
        buckets,
        queues,
        topics,
        streams,
        names,
    })
}

/// The `LatestStreamArn` of every table (logical id -> physical name) that has a stream: what
/// `!GetAtt Table.StreamArn` returns. The emulator makes the ARN up when the table is created
/// (it ends in the creation time), so it is read back rather than built.
pub async fn stream_arns(
    client: &Client,
    tables: &HashMap<String, String>,
) -> Result<HashMap<String, String>> {
    let mut streams = HashMap::new();
    for (logical_id, name) in tables {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| aws_error(&format!("describing table {name}"), e))?;
        if let Some(arn) = described.table().and_then(|t| t.latest_stream_arn()) {
            streams.insert(logical_id.clone(), arn.to_owned());
        }
    }
    Ok(streams)
}

/// Creates every table of the template as `{stack_name}-{LogicalId}` (existing ones are kept)
/// and returns logical id -> physical name.
pub async fn create_all(
    client: &Client,
    template: &Template,
    stack_name: &str,
) -> Result<HashMap<String, String>> {
    let mut names = HashMap::new();
    for table in template.tables() {
        let name = physical_name(stack_name, &table.logical_id);
        create_table(client, &table, &name).await?;
        names.insert(table.logical_id.clone(), name);
    }
    Ok(names)
}

/// Creates the table on demand (PAY_PER_REQUEST) with the declared indexes, stream and TTL, and
/// returns once it is ACTIVE. An existing table of that name is left as it is (TTL still
/// ensured), so running this twice is harmless. Deletion protection, PITR and SSE are left out
/// on purpose: locally they protect nothing and would stop tests from dropping their tables.
pub async fn create_table(client: &Client, def: &TableDef, physical_name: &str) -> Result<()> {
    let request = client
        .create_table()
        .table_name(physical_name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attribute_definitions(def)?))
        .set_key_schema(Some(key_schema(&def.key_schema)?))
        .set_global_secondary_indexes(non_empty(global_indexes(&def.global_secondary_indexes)?))
        .set_local_secondary_indexes(non_empty(local_indexes(&def.local_secondary_indexes)?))
        .set_stream_specification(stream_specification(def)?);
    match request.send().await {
        Ok(_) => {}
        Err(error) if is_already_there(&error) => {}
        Err(error) => return Err(aws_error(&format!("creating table {physical_name}"), error)),
    }
    wait_until_active(client, physical_name).await?;
    if let Some(ttl) = &def.time_to_live {
        ensure_time_to_live(client, physical_name, &ttl.attribute_name, ttl.enabled).await?;
    }
    Ok(())
}

/// Deletes a table (a test's own, typically); a table that is already gone is not an error.
pub async fn delete_table(client: &Client, physical_name: &str) -> Result<()> {
    match client.delete_table().table_name(physical_name).send().await {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(aws_error(&format!("deleting table {physical_name}"), error)),
    }
}

/// Creates every queue of the template, dead-letter queues before the queues whose
/// `RedrivePolicy` names them, as `QueueName` or else `{stack_name}-{LogicalId}`. `names`
/// resolves the template's expressions. An existing queue gets the declared attributes.
pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    template: &Template,
    stack_name: &str,
    names: &HashMap<String, String>,
) -> Result<HashMap<String, LocalQueue>> {
    let mut names = names.clone();
    let mut created = HashMap::new();
    for queue in queue_creation_order(template)? {
        let local = create_queue(client, template, queue, stack_name, &names).await?;
        names.insert(queue.logical_id.clone(), local.url.clone());
        names.insert(format!("{}.Arn", queue.logical_id), local.arn.clone());
        created.insert(queue.logical_id.clone(), local);
    }
    Ok(created)
}

/// The template's queues with every dead-letter queue of the template before the queues
/// redriving to it.
pub fn queue_creation_order(template: &Template) -> Result<Vec<&QueueDef>> {
    fn visit<'t>(
        template: &'t Template,
        queue: &'t QueueDef,
        path: &mut Vec<&'t str>,
        order: &mut Vec<&'t QueueDef>,
    ) -> Result<()> {
        if order.iter().any(|q| q.logical_id == queue.logical_id) {
            return Ok(());
        }
        if path.contains(&queue.logical_id.as_str()) {
            return Err(Error::Template(format!(
                "queues redrive to each other: {} -> {}",
                path.join(" -> "),
                queue.logical_id
            )));
        }
        path.push(&queue.logical_id);
        if let Some(target) = queue
            .redrive_policy
            .as_ref()
            .and_then(|p| template_queue_of(template, &p.dead_letter_target))
        {
            visit(template, target, path, order)?;
        }
        path.pop();
        order.push(queue);
        Ok(())
    }
    let mut order = Vec::new();
    for queue in template.queues() {
        visit(template, queue, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

/// The template queue an ARN expression points at (`!GetAtt Q.Arn`, `${Q.Arn}`).
fn template_queue_of<'t>(template: &'t Template, target: &Expr) -> Option<&'t QueueDef> {
    let logical_id = match target {
        Expr::GetAtt(resource, attribute) if attribute == "Arn" => resource.as_str(),
        Expr::Sub(text, variables) if variables.is_empty() => text
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix(".Arn}"))?,
        _ => return None,
    };
    template.queue(logical_id)
}

/// The local name of a queue: its `QueueName`, else `{stack_name}-{LogicalId}`.
pub fn queue_name(
    template: &Template,
    queue: &QueueDef,
    stack_name: &str,
    names: &HashMap<String, String>,
) -> Result<String> {
    let name = match &queue.queue_name {
        Some(expr) => template
            .resolve(expr, names)
            .map_err(|e| Error::Template(format!("queue {}: QueueName: {e}", queue.logical_id)))?,
        None => physical_name(stack_name, &queue.logical_id),
    };
    let valid = !name.is_empty()
        && name.len() <= 80
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(Error::Template(format!(
            "queue {}: {name:?} is not a valid queue name (1 to 80 letters, digits, - and _)",
            queue.logical_id
        )));
    }
    Ok(name)
}

/// The attributes CreateQueue gets for the declaration. `ReceiveMessageWaitTimeSeconds` is
/// never set: a long poll would hold the one-request-at-a-time emulator.
fn queue_attributes(
    template: &Template,
    queue: &QueueDef,
    names: &HashMap<String, String>,
) -> Result<HashMap<aws_sdk_sqs::types::QueueAttributeName, String>> {
    use aws_sdk_sqs::types::QueueAttributeName as Name;
    let mut attributes = HashMap::new();
    let numbers = [
        (Name::VisibilityTimeout, queue.visibility_timeout_seconds),
        (
            Name::MessageRetentionPeriod,
            queue.message_retention_period_seconds,
        ),
        (Name::DelaySeconds, queue.delay_seconds),
    ];
    for (name, value) in numbers {
        if let Some(value) = value {
            attributes.insert(name, value.to_string());
        }
    }
    if let Some(policy) = &queue.redrive_policy {
        let target = template
            .resolve(&policy.dead_letter_target, names)
            .map_err(|e| {
                Error::Template(format!(
                    "queue {}: RedrivePolicy.deadLetterTargetArn: {e}",
                    queue.logical_id
                ))
            })?;
        let document = serde_json::json!({
            "deadLetterTargetArn": target,
            "maxReceiveCount": policy.max_receive_count,
        });
        attributes.insert(Name::RedrivePolicy, document.to_string());
    }
    Ok(attributes)
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    template: &Template,
    queue: &QueueDef,
    stack_name: &str,
    names: &HashMap<String, String>,
) -> Result<LocalQueue> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let name = queue_name(template, queue, stack_name, names)?;
    let attributes = queue_attributes(template, queue, names)?;
    let created = client
        .create_queue()
        .queue_name(&name)
        .set_attributes(non_empty_map(attributes.clone()))
        .send()
        .await;
    let url = match created {
        Ok(output) => output.queue_url.unwrap_or_default(),
        // Same name, other attributes (an older template): bring it to the declared ones.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_queue_name_exists()) =>
        {
            let url = client
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .map_err(|e| aws_error(&format!("looking up queue {name}"), e))?
                .queue_url
                .unwrap_or_default();
            client
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map_err(|e| aws_error(&format!("updating queue {name}"), e))?;
            url
        }
        Err(error) => return Err(aws_error(&format!("creating queue {name}"), error)),
    };
    if url.is_empty() {
        return Err(Error::Aws(format!(
            "creating queue {name}: no URL returned"
        )));
    }
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws_error(&format!("reading the ARN of queue {name}"), e))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| Error::Aws(format!("queue {name}: no QueueArn attribute")))?;
    Ok(LocalQueue { name, url, arn })
}

/// Creates every topic of the template as `TopicName` or else `{stack_name}-{LogicalId}`, and
/// returns logical id -> topic with the ARN CreateTopic answered. CreateTopic of an existing
/// topic answers its ARN (no attributes are sent, so nothing can differ), so this is harmless
/// to repeat. `names` resolves the template's expressions.
pub async fn create_topics(
    client: &aws_sdk_sns::Client,
    template: &Template,
    stack_name: &str,
    names: &HashMap<String, String>,
) -> Result<HashMap<String, LocalTopic>> {
    let mut created = HashMap::new();
    for topic in template.topics() {
        let name = topic_name(template, topic, stack_name, names)?;
        let arn = client
            .create_topic()
            .name(&name)
            .send()
            .await
            .map_err(|e| aws_error(&format!("creating topic {name}"), e))?
            .topic_arn
            .filter(|arn| !arn.is_empty())
            .ok_or_else(|| Error::Aws(format!("creating topic {name}: no TopicArn returned")))?;
        created.insert(topic.logical_id.clone(), LocalTopic { name, arn });
    }
    Ok(created)
}

/// The local name of a topic: its `TopicName`, else `{stack_name}-{LogicalId}` (CloudFormation
/// would add a random suffix; locally the name must come out the same on every run).
pub fn topic_name(
    template: &Template,
    topic: &TopicDef,
    stack_name: &str,
    names: &HashMap<String, String>,
) -> Result<String> {
    let name = match &topic.topic_name {
        Some(expr) => template
            .resolve(expr, names)
            .map_err(|e| Error::Template(format!("topic {}: TopicName: {e}", topic.logical_id)))?,
        None => physical_name(stack_name, &topic.logical_id),
    };
    let valid = !name.is_empty()
        && name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(Error::Template(format!(
            "topic {}: {name:?} is not a valid topic name (1 to 256 letters, digits, - and _)",
            topic.logical_id
        )));
    }
    Ok(name)
}

/// Creates every bucket of the template and applies its versioning, CORS rules and queue
/// notifications (after the queues: the notifications name them). `names` resolves the
/// template's expressions and must hold the queues' `Q.Arn`.
pub async fn create_buckets(
    client: &aws_sdk_s3::Client,
    template: &Template,
    stack_name: &str,
    names: &HashMap<String, String>,
) -> Result<HashMap<String, String>> {
    let mut created = HashMap::new();
    for bucket in template.buckets() {
        let name = bucket_name(template, bucket, stack_name, names)?;
        create_bucket(client, &name).await?;
        configure_bucket(client, template, bucket, &name, names).await?;
        created.insert(bucket.logical_id.clone(), name);
    }
    Ok(created)
}

/// The local name of a bucket: its `BucketName` resolved (with `AWS::StackName` the stack's
/// name), else `{stack_name}-{logicalid}`; lower case either way, as S3 requires.
pub fn bucket_name(
    template: &Template,
    bucket: &BucketDef,
    stack_name: &str,
    names: &HashMap<String, String>,
) -> Result<String> {
    let fail =
        |message: String| Error::Template(format!("bucket {}: {message}", bucket.logical_id));
    let name = match &bucket.bucket_name {
        Some(expr) => template
            .resolve(expr, names)
            .map_err(|e| fail(format!("BucketName: {e}")))?,
        None => physical_name(stack_name, &bucket.logical_id),
    }
    .to_ascii_lowercase();
    let edges_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let valid = (3..=63).contains(&name.len())
        && edges_ok
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !valid {
        return Err(fail(format!(
            "{name:?} is not a valid bucket name (3 to 63 lower-case letters, digits, - and .): \
             choose a shorter stack name"
        )));
    }
    Ok(name)
}

async fn create_bucket(client: &aws_sdk_s3::Client, name: &str) -> Result<()> {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let region = client.config().region().map(|r| r.to_string());
    let mut request = client.create_bucket().bucket(name);
    // us-east-1 is the one region that takes no (and refuses an explicit) location.
    if let Some(region) = region.filter(|r| r != "us-east-1") {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(error)
            if error.as_service_error().is_some_and(|e| {
                e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
            }) =>
        {
            // "Already exists" may be someone else's bucket on real S3; the emulator has one
            // owner, but check that it answers for us before using it.
            client
                .head_bucket()
                .bucket(name)
                .send()
                .await
                .map_err(|e| aws_error(&format!("bucket {name} exists but is not ours"), e))?;
            Ok(())
        }
        Err(error) => Err(aws_error(&format!("creating bucket {name}"), error)),
    }
}

async fn configure_bucket(
    client: &aws_sdk_s3::Client,
    template: &Template,
    bucket: &BucketDef,
    name: &str,
    names: &HashMap<String, String>,
) -> Result<()> {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    if let Some(status) = &bucket.versioning {
        client
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::from(status.as_str()))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error(&format!("setting versioning of bucket {name}"), e))?;
    }
    if !bucket.cors_rules.is_empty() {
        client
            .put_bucket_cors()
            .bucket(name)
            .cors_configuration(cors_configuration(template, bucket, names)?)
            .send()
            .await
            .map_err(|e| aws_error(&format!("setting CORS of bucket {name}"), e))?;
    }
    ensure_notifications(client, template, bucket, name, names).await
}

fn cors_configuration(
    template: &Template,
    bucket: &BucketDef,
    names: &HashMap<String, String>,
) -> Result<aws_sdk_s3::types::CorsConfiguration> {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
    let mut rules = Vec::new();
    for rule in &bucket.cors_rules {
        let origins = rule
            .allowed_origins
            .iter()
            .map(|origin| template.resolve(origin, names))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| {
                Error::Template(format!("bucket {}: AllowedOrigins: {e}", bucket.logical_id))
            })?;
        let built = CorsRule::builder()
            .set_id(rule.id.clone())
            .set_allowed_methods(Some(rule.allowed_methods.clone()))
            .set_allowed_origins(Some(origins))
            .set_allowed_headers(non_empty(rule.allowed_headers.clone()))
            .set_expose_headers(non_empty(rule.exposed_headers.clone()))
            .set_max_age_seconds(rule.max_age_seconds)
            .build()
            .map_err(invalid)?;
        rules.push(built);
    }
    CorsConfiguration::builder()
        .set_cors_rules(Some(rules))
        .build()
        .map_err(invalid)
}

/// A queue notification reduced to what decides delivery, for comparing the declared ones
/// with the bucket's: (queue ARN, events, filter rules).
type NotificationKey = (String, BTreeSet<String>, BTreeSet<(String, String)>);

/// The declared queue notifications, with the queues' local ARNs.
pub fn queue_notifications(
    template: &Template,
    bucket: &BucketDef,
    names: &HashMap<String, String>,
) -> Result<Vec<aws_sdk_s3::types::QueueConfiguration>> {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfigurationFilter, QueueConfiguration,
        S3KeyFilter,
    };
    bucket
        .queue_notifications
        .iter()
        .map(|notification| {
            let arn = template.resolve(&notification.queue, names).map_err(|e| {
                Error::Template(format!(
                    "bucket {}: notification queue: {e}",
                    bucket.logical_id
                ))
            })?;
            let mut builder = QueueConfiguration::builder()
                .queue_arn(arn)
                .events(Event::from(notification.event.as_str()));
            if !notification.filter_rules.is_empty() {
                let mut key = S3KeyFilter::builder();
                for (name, value) in &notification.filter_rules {
                    key = key.filter_rules(
                        FilterRule::builder()
                            .name(FilterRuleName::from(name.as_str()))
                            .value(value)
                            .build(),
                    );
                }
                builder = builder.filter(
                    NotificationConfigurationFilter::builder()
                        .key(key.build())
                        .build(),
                );
            }
            builder.build().map_err(invalid)
        })
        .collect()
}

fn notification_keys(
    configurations: &[aws_sdk_s3::types::QueueConfiguration],
) -> BTreeSet<NotificationKey> {
    configurations
        .iter()
        .map(|c| {
            let events = c.events().iter().map(|e| e.as_str().to_owned()).collect();
            let rules = c
                .filter()
                .and_then(|f| f.key())
                .map(|k| k.filter_rules())
                .unwrap_or_default()
                .iter()
                .map(|r| {
                    let name = r.name().map(|n| n.as_str().to_ascii_lowercase());
                    (
                        name.unwrap_or_default(),
                        r.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            (c.queue_arn().to_owned(), events, rules)
        })
        .collect()
}

/// Puts the declared queue notifications unless the bucket has exactly those already: S3 (and
/// the emulator) sends an `s3:TestEvent` message to the queues on every put, which a second
/// `create_stack` should not add.
async fn ensure_notifications(
    client: &aws_sdk_s3::Client,
    template: &Template,
    bucket: &BucketDef,
    name: &str,
    names: &HashMap<String, String>,
) -> Result<()> {
    use aws_sdk_s3::types::NotificationConfiguration;
    let wanted = queue_notifications(template, bucket, names)?;
    let current = match client
        .get_bucket_notification_configuration()
        .bucket(name)
        .send()
        .await
    {
        Ok(current) => Some(current),
        // moto answers a bucket without notifications with an empty
        // `<GetBucketNotificationResponse/>`, which the SDK cannot parse: nothing configured.
        Err(error)
            if error
                .raw_response()
                .is_some_and(|r| r.status().is_success()) =>
        {
            None
        }
        Err(error) => {
            return Err(aws_error(
                &format!("reading notifications of bucket {name}"),
                error,
            ));
        }
    };
    let (current_queues, others) = match &current {
        Some(current) => (
            notification_keys(current.queue_configurations()),
            !current.topic_configurations().is_empty()
                || !current.lambda_function_configurations().is_empty()
                || current.event_bridge_configuration().is_some(),
        ),
        None => (BTreeSet::new(), false),
    };
    if !others && current_queues == notification_keys(&wanted) {
        return Ok(());
    }
    client
        .put_bucket_notification_configuration()
        .bucket(name)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(wanted))
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_error(&format!("setting notifications of bucket {name}"), e))?;
    Ok(())
}

fn non_empty_map<K, V>(map: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!map.is_empty()).then_some(map)
}

fn is_already_there(
    error: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::create_table::CreateTableError,
    >,
) -> bool {
    error
        .as_service_error()
        .is_some_and(|e| e.is_resource_in_use_exception())
}

async fn wait_until_active(client: &Client, name: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + ACTIVE_TIMEOUT;
    loop {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| aws_error(&format!("describing table {name}"), e))?;
        let table = described.table();
        let table_active = table.and_then(|t| t.table_status()) == Some(&TableStatus::Active);
        let indexes_active = table
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .all(|index| {
                index
                    .index_status()
                    .is_none_or(|s| *s == IndexStatus::Active)
            });
        if table_active && indexes_active {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Aws(format!(
                "table {name} not ACTIVE after {ACTIVE_TIMEOUT:?}"
            )));
        }
        tokio::time::sleep(ACTIVE_POLL).await;
    }
}

/// TTL is a separate call after creation (CreateTable has no TTL parameter), and enabling it
/// twice is refused by DynamoDB, hence the look first.
async fn ensure_time_to_live(
    client: &Client,
    name: &str,
    attribute: &str,
    enabled: bool,
) -> Result<()> {
    let current = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| aws_error(&format!("describing TTL of {name}"), e))?;
    let description = current.time_to_live_description();
    let is_enabled = description
        .and_then(|d| d.time_to_live_status())
        .is_some_and(|s| matches!(s, TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling));
    let same_attribute = description.and_then(|d| d.attribute_name()) == Some(attribute);
    if is_enabled == enabled && (same_attribute || !enabled) {
        return Ok(());
    }
    let specification = TimeToLiveSpecification::builder()
        .attribute_name(attribute)
        .enabled(enabled)
        .build()
        .map_err(invalid)?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(specification)
        .send()
        .await
        .map_err(|e| aws_error(&format!("setting TTL of {name}"), e))?;
    Ok(())
}

fn attribute_definitions(def: &TableDef) -> Result<Vec<AttributeDefinition>> {
    def.attribute_definitions
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(invalid)
        })
        .collect()
}

fn key_schema(keys: &[KeyElement]) -> Result<Vec<KeySchemaElement>> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(invalid)
        })
        .collect()
}

fn projection(index: &IndexDef) -> Projection {
    let non_key = &index.projection.non_key_attributes;
    Projection::builder()
        .projection_type(ProjectionType::from(
            index.projection.projection_type.as_str(),
        ))
        .set_non_key_attributes((!non_key.is_empty()).then(|| non_key.clone()))
        .build()
}

fn global_indexes(indexes: &[IndexDef]) -> Result<Vec<GlobalSecondaryIndex>> {
    indexes
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(projection(index))
                .build()
                .map_err(invalid)
        })
        .collect()
}

fn local_indexes(indexes: &[IndexDef]) -> Result<Vec<LocalSecondaryIndex>> {
    indexes
        .iter()
        .map(|index| {
            LocalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(projection(index))
                .build()
                .map_err(invalid)
        })
        .collect()
}

fn stream_specification(def: &TableDef) -> Result<Option<StreamSpecification>> {
    def.stream_view_type
        .as_deref()
        .map(|view_type| {
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view_type))
                .build()
                .map_err(invalid)
        })
        .transpose()
}

/// DynamoDB refuses an empty index list, so "none" must be sent as absent.
fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn invalid(error: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::Template(format!("resource definition incomplete: {error}"))
}

fn aws_error<E: std::error::Error + 'static>(doing: &str, error: E) -> Error {
    Error::Aws(format!("{doing}: {}", DisplayErrorContext(error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs the emulator; without `AWS_ENDPOINT_URL` it says so and passes (the crate's other
    /// tests run anywhere; the e2e crate covers this path too).
    #[tokio::test]
    async fn the_template_table_is_created_as_declared_and_twice_is_harmless() {
        if std::env::var("AWS_ENDPOINT_URL").is_err() {
            eprintln!("skipped: AWS_ENDPOINT_URL is not set");
            return;
        }
        let root = crate::find_repo_root(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let template = Template::load(root.join(crate::TEMPLATE_PATH)).unwrap();
        let def = template.table("CustomersTable").unwrap();
        let client = crate::dynamodb_client().await;
        let name = format!(
            "devhost-test-{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        create_table(&client, def, &name).await.unwrap();
        create_table(&client, def, &name).await.expect("idempotent");

        let table = client
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        assert_eq!(table.table_status(), Some(&TableStatus::Active));
        let indexes: Vec<_> = table
            .global_secondary_indexes()
            .iter()
            .filter_map(|i| i.index_name())
            .collect();
        let mut indexes = indexes;
        indexes.sort_unstable();
        assert_eq!(
            indexes,
            ["GSI1", "GSI3", "GSI4", "GSI5", "GSI6", "GSI7", "GSI8"]
        );
        let stream = table.stream_specification().unwrap();
        assert!(stream.stream_enabled());
        assert_eq!(
            stream.stream_view_type(),
            Some(&StreamViewType::NewAndOldImages)
        );
        let billing = table.billing_mode_summary().and_then(|b| b.billing_mode());
        assert_eq!(billing, Some(&BillingMode::PayPerRequest));
        let ttl = client
            .describe_time_to_live()
            .table_name(&name)
            .send()
            .await
            .unwrap();
        let ttl = ttl.time_to_live_description().unwrap();
        assert_eq!(ttl.attribute_name(), Some("expiresAt"));
        assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));

        delete_table(&client, &name).await.unwrap();
        delete_table(&client, &name)
            .await
            .expect("deleting a missing table is fine");
    }

    /// Needs the emulator, like the test above.
    #[tokio::test]
    async fn the_template_topics_are_created_with_the_emulators_arn_and_twice_is_harmless() {
        if std::env::var("AWS_ENDPOINT_URL").is_err() {
            eprintln!("skipped: AWS_ENDPOINT_URL is not set");
            return;
        }
        let root = crate::find_repo_root(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let template = Template::load(root.join(crate::TEMPLATE_PATH)).unwrap();
        let clients = AwsClients::from_env().await.unwrap();
        // Short enough for the imports bucket's name (63 characters at most).
        let stack = format!("dh-{}", ulid::Ulid::new().to_string().to_lowercase());
        let first = create_stack(&clients, &template, &stack, &HashMap::new())
            .await
            .unwrap();
        let second = create_stack(&clients, &template, &stack, &HashMap::new())
            .await
            .expect("idempotent");
        assert_eq!(first.topics, second.topics);
        assert_eq!(first.topics.len(), 2, "{:?}", first.topics);
        assert!(first.topics.contains_key("OperatorAlarmsTopic"));
        let topic = &first.topics["TechnicianNotificationsTopic"];
        assert_eq!(topic.name, format!("{stack}-TechnicianNotificationsTopic"));
        assert!(
            topic.arn.starts_with("arn:aws:sns:")
                && topic.arn.ends_with(&format!(":{}", topic.name)),
            "{}",
            topic.arn
        );
        assert_eq!(
            first.names["TechnicianNotificationsTopic"], topic.arn,
            "Ref of a topic is its ARN"
        );
        assert_eq!(
            first.topic_arns()["TechnicianNotificationsTopic"],
            topic.arn
        );

        let attributes = clients
            .sns
            .get_topic_attributes()
            .topic_arn(&topic.arn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        assert_eq!(attributes.get("TopicArn"), Some(&topic.arn));
        let published = clients
            .sns
            .publish()
            .topic_arn(&topic.arn)
            .message(r#"{"kind": "assigned"}"#)
            .send()
            .await
            .unwrap();
        assert!(published.message_id().is_some_and(|id| !id.is_empty()));
    }
}
