//! The deactivation cascade's write: a page of a customer's records closed, on condition that the
//! customer is still inactive. (Sites, like every linked record, are read and written through
//! [`crate::Stored`]; linking and unlinking change the customer's card too and go through
//! `replace` with a [`crate::Companion`].)

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};
use domain::{CustomerId, HistoryEntry};

use crate::customers::{Cancelled, Failed};
use crate::items::{self, Item};
use crate::keys::{self, TenantId};
use crate::{CustomerStore, StoreError};

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
    /// The transaction of one page of the cascade (see [`CustomerStore::close_for_cascade`]).
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
