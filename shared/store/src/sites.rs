//! A customer's sites, in the customer's partition (`SITE#<site id>`): read one, list them in
//! creation order (one Query per page), change one with optimistic concurrency. Linking and
//! unlinking change the customer's card too and go through `replace` with a
//! [`crate::Companion`].

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, ReturnConsumedCapacity, TransactWriteItem,
};
use domain::{CustomerId, HistoryEntry, Site};

use crate::customers::{Cancelled, Failed, one};
use crate::items::{self, VERSION};
use crate::keys::{self, TenantId};
use crate::usage::Kind;
use crate::{CustomerStore, Page, StoreError, capacity};

/// What stopped a cascade write.
#[derive(Debug)]
pub enum CascadeError {
    /// The customer is active again: the cascade has nothing more to do.
    CustomerActive,
    /// A site changed since it was read: read the page again.
    Changed,
    Store(StoreError),
}

impl CustomerStore {
    pub async fn site(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        site_id: &str,
    ) -> Result<Option<Site>, StoreError> {
        self.get_item(keys::site(tenant, customer, site_id))
            .await?
            .map(items::site_from_item)
            .transpose()
    }

    /// One page of the customer's sites, oldest first (or newest first).
    pub async fn sites(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        limit: i32,
        cursor: Option<&str>,
        ascending: bool,
    ) -> Result<Page<Site>, StoreError> {
        let page = self
            .query_partition(
                keys::customer_partition(tenant, customer),
                Some(keys::SITE_PREFIX),
                limit,
                cursor,
                ascending,
            )
            .await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(items::site_from_item)
                .collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// Saves `after` if the site is still at `expected_version` (else VersionConflict, or
    /// NotFound when it was unlinked meanwhile). The customer's card does not change.
    pub async fn replace_site(
        &self,
        tenant: &TenantId,
        after: &Site,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let item = items::site_item(tenant, after);
        let estimate = capacity::put_units(&item, false);
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(
                ":expected",
                AttributeValue::N(expected_version.to_string()),
            )
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.usage()
                    .record(Kind::Write, one(out.consumed_capacity()), estimate);
                Ok(())
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                self.usage().record(Kind::Write, &[], 0.0);
                Err(StoreError::VersionConflict)
            }
            Err(error) => Err(StoreError::sdk(error)),
        }
    }

    /// Writes sites changed by the deactivation cascade (each conditional on the version it
    /// was read at) with one history entry in the customer's partition that names them all,
    /// on condition that the customer is still inactive. One transaction: at most 98 sites.
    pub async fn cascade_sites(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        changed: &[(u64, Site)],
        history: &HistoryEntry,
    ) -> Result<(), CascadeError> {
        let check = ConditionCheck::builder()
            .table_name(self.table())
            .set_key(Some(items::key_of(keys::customer(tenant, customer))))
            .condition_expression("#status = :inactive")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":inactive", AttributeValue::S("inactive".into()))
            .build()
            .expect("table, key and condition are set");
        let mut writes = vec![TransactWriteItem::builder().condition_check(check).build()];
        writes.push(self.put(items::history_item(tenant, customer, history)));
        for (expected, site) in changed {
            writes.push(self.put_if_version(items::site_item(tenant, site), *expected));
        }
        match self.transact(writes, None).await {
            Ok(()) => Ok(()),
            Err(Cancelled(failed)) if failed.contains(&0) => Err(CascadeError::CustomerActive),
            Err(Cancelled(_)) => Err(CascadeError::Changed),
            Err(Failed(e)) => Err(CascadeError::Store(e)),
        }
    }
}
