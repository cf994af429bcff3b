//! A customer's sites, in the customer's partition (`SITE#<site id>`): read one, list them in
//! creation order (one Query per page), change one with optimistic concurrency. Linking and
//! unlinking change the customer's card too and go through `replace` with a
//! [`crate::Companion`].

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};
use domain::{Contract, CustomerId, HistoryEntry, Site};

use crate::customers::{Cancelled, Failed};
use crate::items::{self, Item};
use crate::keys::{self, TenantId};
use crate::{CustomerStore, Page, StoreError};

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
        self.child(keys::site(tenant, customer, site_id)).await
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
        self.children(
            tenant,
            customer,
            keys::SITE_PREFIX,
            limit,
            cursor,
            ascending,
        )
        .await
    }

    /// Saves `after` if the site is still at `expected_version` (else VersionConflict, also
    /// when it was unlinked meanwhile: it is never written back). The card does not change.
    pub async fn replace_site(
        &self,
        tenant: &TenantId,
        after: &Site,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let item = items::site_item(tenant, after);
        self.put_conditionally(item, "#version = :expected", Some(expected_version))
            .await
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
        let items = changed
            .iter()
            .map(|(expected, site)| (*expected, items::site_item(tenant, site)))
            .collect();
        self.cascade(tenant, customer, items, history).await
    }

    /// [`CustomerStore::cascade_sites`] for contracts.
    pub async fn cascade_contracts(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        changed: &[(u64, Contract)],
        history: &HistoryEntry,
    ) -> Result<(), CascadeError> {
        let items = changed
            .iter()
            .map(|(expected, contract)| (*expected, items::contract_item(tenant, contract)))
            .collect();
        self.cascade(tenant, customer, items, history).await
    }

    pub(crate) async fn cascade(
        &self,
        tenant: &TenantId,
        customer: &CustomerId,
        changed: Vec<(u64, Item)>,
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
        for (expected, item) in changed {
            writes.push(self.put_if_version(item, expected));
        }
        match self.transact(writes, None).await {
            Ok(()) => Ok(()),
            Err(Cancelled(failed)) if failed.contains(&0) => Err(CascadeError::CustomerActive),
            Err(Cancelled(_)) => Err(CascadeError::Changed),
            Err(Failed(e)) => Err(CascadeError::Store(e)),
        }
    }
}
