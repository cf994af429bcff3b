//! The organisation's settings item and the customer-number counter.

use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, Update};
use domain::Settings;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use crate::customers::CustomerStore;
use crate::items::{self, Item, VERSION};
use crate::keys::{self, ENTITY, TenantId};
use crate::{StoreError, capacity};

/// Settings as stored, with the version their ETag is made of (0: never saved, defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedSettings {
    pub settings: Settings,
    pub version: u64,
}

impl CustomerStore {
    /// The organisation's settings, or the defaults when it never saved any.
    pub async fn settings(&self, tenant: &TenantId) -> Result<VersionedSettings, StoreError> {
        settings_from(self.get_item(keys::settings(tenant)).await?)
    }

    /// Saves settings over `expected_version` (0: none saved yet); a concurrent save wins
    /// and this one answers VersionConflict.
    pub async fn put_settings(
        &self,
        tenant: &TenantId,
        settings: &Settings,
        expected_version: u64,
    ) -> Result<u64, StoreError> {
        let version = expected_version + 1;
        let mut item: Item = to_item(settings).expect("settings always serialise");
        let key = keys::settings(tenant);
        item.insert(keys::PK.into(), AttributeValue::S(key.pk));
        item.insert(keys::SK.into(), AttributeValue::S(key.sk));
        item.insert(ENTITY.into(), AttributeValue::S("CustomerSettings".into()));
        item.insert(VERSION.into(), AttributeValue::N(version.to_string()));
        let estimate = capacity::put_units(&item, false);
        let put = Put::builder().table_name(self.table()).set_item(Some(item));
        let put = if expected_version == 0 {
            put.condition_expression("attribute_not_exists(PK)")
        } else {
            put.condition_expression("#version = :expected")
                .expression_attribute_names("#version", VERSION)
                .expression_attribute_values(
                    ":expected",
                    AttributeValue::N(expected_version.to_string()),
                )
        };
        let put = put.build().expect("table and item are set");
        let result = self.requests().put_item(put).await;
        match self.conditional_write(result, estimate)? {
            Some(_) => Ok(version),
            None => Err(StoreError::VersionConflict),
        }
    }

    /// The next value of the organisation's customer-number counter: an atomic ADD, so two
    /// concurrent creates never get the same value (the number guard is the second line).
    pub async fn next_customer_number(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        self.reserve_customer_numbers(tenant, 1).await
    }

    /// The counter's last value drawn (0 when none was), read without moving it: a dry-run
    /// import numbers what it would create from here.
    pub async fn last_customer_number(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        let counter = self.get_item(keys::number_counter(tenant)).await?;
        Ok(counter
            .as_ref()
            .and_then(|item| item.get("next"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }

    /// Draws `count` consecutive counter values at once (an import numbering many new
    /// customers) and returns the last; the first is `last - count + 1`.
    pub async fn reserve_customer_numbers(
        &self,
        tenant: &TenantId,
        count: u64,
    ) -> Result<u64, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(keys::number_counter(tenant))))
            .update_expression("ADD #next :one SET #entity = :entity")
            .expression_attribute_names("#next", "next")
            .expression_attribute_names("#entity", ENTITY)
            .expression_attribute_values(":one", AttributeValue::N(count.to_string()))
            .expression_attribute_values(":entity", AttributeValue::S("Counter".into()))
            .build()
            .expect("table, key and expression are set");
        let result = self
            .requests()
            .update_item(update, Some(ReturnValue::UpdatedNew))
            .await;
        let written = self.written(result, 1.0)?;
        written
            .attributes
            .as_ref()
            .and_then(|a| a.get("next"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or(StoreError::VersionConflict)
    }
}

/// The settings item as read (`None`: never saved, so the defaults at version 0).
pub(crate) fn settings_from(item: Option<Item>) -> Result<VersionedSettings, StoreError> {
    let Some(mut item) = item else {
        return Ok(VersionedSettings {
            settings: Settings::default(),
            version: 0,
        });
    };
    // The settings type refuses unknown members; key attributes are ours, not its.
    for attribute in [keys::PK, keys::SK, ENTITY] {
        item.remove(attribute);
    }
    let version = item
        .remove(VERSION)
        .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    let settings = from_item(item).map_err(StoreError::Corrupt)?;
    Ok(VersionedSettings { settings, version })
}
