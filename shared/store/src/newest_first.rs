//! The organisation's records of background work (imports, exports, bulk changes) listed
//! newest first: each kind's records share one GSI1 partition per tenant and sort by their
//! ULID, so a page is one Query of that partition, read backwards.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde_dynamo::aws_sdk_dynamodb_1::from_item;

use crate::keys::{GSI1, GSI1PK, GSI1SK, PK, SK};
use crate::requests::QueryRequest;
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
        let partition = AttributeValue::S(partition);
        let page = self
            .requests()
            .query(&QueryRequest {
                index: Some(GSI1),
                names: BTreeMap::from([("#pk", GSI1PK)]),
                values: BTreeMap::from([(":pk", &partition)]),
                ascending: false,
                limit: limit.clamp(1, MAX_PAGE),
                start: start.as_ref(),
                ..QueryRequest::whole_partition(self.table())
            })
            .await?;
        let estimate = capacity::read_units(&page.items, false);
        self.usage().record(Kind::Read, page.units, estimate);
        let items = page
            .items
            .into_iter()
            .map(|item| from_item(item).map_err(StoreError::Corrupt))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next_cursor: page.last_key.as_ref().and_then(cursor::encode),
        })
    }
}
