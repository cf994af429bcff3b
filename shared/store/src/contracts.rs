//! A customer's contracts, in the customer's partition (`CONTRACT#<contract id>`): create, read
//! one, list them in creation order (one Query per page), change one with optimistic
//! concurrency. Contracts do not change the customer's card.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use domain::{Contract, CustomerId};

use crate::customers::one;
use crate::items::{self, Item, VERSION};
use crate::keys::{self, TenantId};
use crate::usage::Kind;
use crate::{CustomerStore, IdempotencyRecord, Page, StoreError, capacity};

impl CustomerStore {
    /// With `idempotency`, the contract and the request's record are one transaction (see
    /// [`CustomerStore::create_work_order`]); without, one conditional put.
    pub async fn create_contract(
        &self,
        tenant: &TenantId,
        contract: &Contract,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        let item = items::contract_item(tenant, contract);
        if idempotency.is_none() {
            return self
                .put_conditionally(item, "attribute_not_exists(PK)", None)
                .await;
        }
        let writes = vec![self.put_new(item)];
        self.transact_idempotent(tenant, writes, idempotency).await
    }

    pub async fn contract(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        contract_id: &str,
    ) -> Result<Option<Contract>, StoreError> {
        self.child(keys::contract(tenant, customer, contract_id))
            .await
    }

    pub async fn contracts(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        limit: i32,
        cursor: Option<&str>,
        ascending: bool,
    ) -> Result<Page<Contract>, StoreError> {
        self.children(
            tenant,
            customer,
            keys::CONTRACT_PREFIX,
            limit,
            cursor,
            ascending,
        )
        .await
    }

    /// Saves `after` if the contract is still at `expected_version` (else VersionConflict).
    pub async fn replace_contract(
        &self,
        tenant: &TenantId,
        after: &Contract,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let item = items::contract_item(tenant, after);
        self.put_conditionally(item, "#version = :expected", Some(expected_version))
            .await
    }

    /// Which of `site_ids` are sites of the customer.
    pub async fn existing_sites(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        site_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let sites = self.sites_by_id(tenant, customer, site_ids).await?;
        Ok(sites.into_iter().map(|site| site.id).collect())
    }

    /// The customer's sites among `site_ids` (one BatchGetItem per 100; unknown ids left out).
    pub async fn sites_by_id(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        site_ids: &[String],
    ) -> Result<Vec<domain::Site>, StoreError> {
        let mut found = Vec::new();
        for chunk in site_ids.chunks(100) {
            let keys: Vec<keys::Key> = chunk
                .iter()
                .map(|id| keys::site(tenant, customer, id))
                .collect();
            for item in self.batch_get(&keys).await? {
                found.push(items::record_from_item::<domain::Site>(item)?);
            }
        }
        Ok(found)
    }

    /// A PutItem under a condition; a failed condition is VersionConflict.
    pub(crate) async fn put_conditionally(
        &self,
        item: Item,
        condition: &str,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let estimate = capacity::put_units(&item, false);
        let mut request = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(condition)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        if let Some(version) = expected_version {
            request = request
                .expression_attribute_names("#version", VERSION)
                .expression_attribute_values(":expected", AttributeValue::N(version.to_string()));
        }
        match request.send().await {
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
