//! A customer's sites, in the customer's partition (`SITE#<site id>`): read one, list them in
//! creation order (one Query per page), change one with optimistic concurrency. Linking and
//! unlinking change the customer's card too and go through `replace` with a
//! [`crate::Companion`].

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use domain::{CustomerId, Site};

use crate::items::{self, VERSION};
use crate::keys::{self, TenantId};
use crate::usage::Kind;
use crate::{CustomerStore, Page, StoreError, capacity, customers::one};

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
}
