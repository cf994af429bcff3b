//! The organisation's records of background work (imports, exports, bulk changes) listed
//! newest first: each kind's records share one GSI1 partition per tenant and sort by their
//! ULID, so a page is one Query of that partition, read backwards.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use serde::de::DeserializeOwned;
use serde_dynamo::aws_sdk_dynamodb_1::from_item;

use crate::customers::one;
use crate::keys::{GSI1, GSI1PK, GSI1SK, PK, SK};
use crate::usage::Kind;
use crate::{CustomerStore, MAX_PAGE, Page, StoreError, capacity, cursor};

impl CustomerStore {
    /// A page of the records under GSI1 `partition`, newest first. A cursor must be one this
    /// partition issued (`cursor::decode` checks it).
    pub(crate) async fn newest_first<T: DeserializeOwned>(
        &self,
        partition: String,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<T>, StoreError> {
        let start = cursor
            .map(|c| cursor::decode(c, &[PK, SK, GSI1PK, GSI1SK], GSI1PK, &partition))
            .transpose()?;
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI1PK)
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .scan_index_forward(false)
            .limit(limit.clamp(1, MAX_PAGE))
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let estimate = capacity::read_units(out.items(), false);
        self.usage()
            .record(Kind::Read, one(out.consumed_capacity()), estimate);
        let items = out
            .items()
            .iter()
            .cloned()
            .map(|item| from_item(item).map_err(StoreError::Corrupt))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_cursor: out.last_evaluated_key.as_ref().and_then(cursor::encode),
        })
    }
}
