//! Creates the template's tables in the emulator, exactly as declared (keys, indexes, stream,
//! TTL), so code tested locally meets the table it meets deployed. Tests use [`create_table`]
//! for a fresh table each: the definition still comes only from the template.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};

use crate::template::{IndexDef, KeyElement, TableDef, Template};
use crate::{Error, Result};

/// Long enough for a slow emulator, short enough that a stuck one is reported.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(60);
const ACTIVE_POLL: Duration = Duration::from_millis(100);

/// The local physical name of a table: one stack's tables side by side with another's.
pub fn physical_name(stack_name: &str, logical_id: &str) -> String {
    format!("{stack_name}-{logical_id}")
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
    Error::Template(format!("table definition incomplete: {error}"))
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
        assert_eq!(indexes, ["GSI1", "GSI2", "GSI3", "GSI4"]);
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
}
