//! Opaque pagination cursors. A cursor is DynamoDB's LastEvaluatedKey, base64url-encoded.
//! It is not signed: instead, decoding checks that it holds exactly the key attributes of the
//! index being queried and that its partition is the one the caller's query targets. A forged
//! cursor can therefore only point elsewhere inside the caller's own partition, and a cursor
//! from another tenant or another query is refused.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::StoreError;

/// Longest cursor we accept; real ones are a few hundred bytes.
pub const MAX_CURSOR_LEN: usize = 2048;

/// DynamoDB's limits on a key attribute's value: a partition key (our `PK`, `GSI1PK`, ...)
/// 2048 bytes, a sort key 1024. A cursor holding a longer value would make the query fail
/// (a 500), so it is refused like any cursor we did not issue.
const PARTITION_KEY_BYTES: usize = 2048;
const SORT_KEY_BYTES: usize = 1024;

fn fits_key(attr: &str, value: &str) -> bool {
    let limit = if attr.ends_with("PK") {
        PARTITION_KEY_BYTES
    } else {
        SORT_KEY_BYTES
    };
    value.len() <= limit
}

/// The cursor of a list merged from several Queries (`listing::merge_results`): the position
/// they all continue from, under the list's own partition name, not any one Query's key.
pub fn encode_position(
    partition_attr: &str,
    partition: &str,
    sort_attr: &str,
    position: String,
) -> Option<String> {
    encode(&HashMap::from([
        (
            partition_attr.to_owned(),
            AttributeValue::S(partition.to_owned()),
        ),
        (sort_attr.to_owned(), AttributeValue::S(position)),
    ]))
}

/// The position an [`encode_position`] cursor of this list holds; refused as [`decode`]
/// refuses.
pub fn decode_position(
    cursor: &str,
    partition_attr: &str,
    partition: &str,
    sort_attr: &str,
) -> Result<String, StoreError> {
    let mut key = decode(
        cursor,
        &[partition_attr, sort_attr],
        partition_attr,
        partition,
    )?;
    Ok(key
        .remove(sort_attr)
        .and_then(|v| v.as_s().ok().cloned())
        .unwrap_or_default())
}

pub fn encode(last_evaluated_key: &HashMap<String, AttributeValue>) -> Option<String> {
    let strings: BTreeMap<&str, &str> = last_evaluated_key
        .iter()
        .map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
        .collect::<Option<_>>()?;
    let json = serde_json::to_vec(&strings).ok()?;
    Some(URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a cursor for a query over `partition_attr = partition_value`, whose keys are
/// `expected_attrs`.
pub fn decode(
    cursor: &str,
    expected_attrs: &[&str],
    partition_attr: &str,
    partition_value: &str,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(StoreError::InvalidCursor("the cursor is too long"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor("the cursor is not one we issued"))?;
    let map: BTreeMap<String, String> = serde_json::from_slice(&bytes)
        .map_err(|_| StoreError::InvalidCursor("the cursor is not one we issued"))?;
    let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
    let mut expected = expected_attrs.to_vec();
    names.sort_unstable();
    expected.sort_unstable();
    if names != expected {
        return Err(StoreError::InvalidCursor(
            "the cursor belongs to another query",
        ));
    }
    if map.get(partition_attr).map(String::as_str) != Some(partition_value) {
        return Err(StoreError::InvalidCursor(
            "the cursor belongs to another query",
        ));
    }
    if !map.iter().all(|(attr, value)| fits_key(attr, value)) {
        return Err(StoreError::InvalidCursor("the cursor is not one we issued"));
    }
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pk: &str) -> HashMap<String, AttributeValue> {
        [
            ("PK", "T#a#C#1"),
            ("SK", "CUSTOMER"),
            ("GSI1PK", pk),
            ("GSI1SK", "x#1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
        .collect()
    }

    const ATTRS: [&str; 4] = ["PK", "SK", "GSI1PK", "GSI1SK"];

    #[test]
    fn a_cursor_round_trips_for_its_own_query() {
        let cursor = encode(&key("T#a#CUSTOMERS")).unwrap();
        let back = decode(&cursor, &ATTRS, "GSI1PK", "T#a#CUSTOMERS").unwrap();
        assert_eq!(back, key("T#a#CUSTOMERS"));
    }

    #[test]
    fn a_cursor_from_another_tenant_is_refused() {
        let cursor = encode(&key("T#other#CUSTOMERS")).unwrap();
        let err = decode(&cursor, &ATTRS, "GSI1PK", "T#a#CUSTOMERS").unwrap_err();
        assert!(matches!(err, StoreError::InvalidCursor(_)));
    }

    #[test]
    fn garbage_and_cursors_of_other_indexes_are_refused() {
        for bad in ["", "!!!", "eyJ4IjoxfQ", &"A".repeat(3000)] {
            assert!(
                decode(bad, &ATTRS, "GSI1PK", "T#a#CUSTOMERS").is_err(),
                "{bad}"
            );
        }
        let cursor = encode(&key("T#a#CUSTOMERS")).unwrap();
        assert!(
            decode(
                &cursor,
                &["PK", "SK", "GSI3PK", "GSI3SK"],
                "GSI3PK",
                "T#a#CUSTOMERS"
            )
            .is_err()
        );
    }

    #[test]
    fn a_cursor_with_a_key_value_past_dynamodb_s_limits_is_refused() {
        let mut long_sort = key("T#a#CUSTOMERS");
        long_sort.insert("GSI1SK".into(), AttributeValue::S("a".repeat(1025)));
        let mut long_partition = key("T#a#CUSTOMERS");
        long_partition.insert("PK".into(), AttributeValue::S("a".repeat(2049)));
        for forged in [long_sort, long_partition] {
            let cursor = encode(&forged).unwrap();
            let err = decode(&cursor, &ATTRS, "GSI1PK", "T#a#CUSTOMERS").unwrap_err();
            assert!(matches!(err, StoreError::InvalidCursor(_)));
        }
        let mut longest = key("T#a#CUSTOMERS");
        longest.insert("GSI1SK".into(), AttributeValue::S("a".repeat(1024)));
        let cursor = encode(&longest).unwrap();
        assert!(decode(&cursor, &ATTRS, "GSI1PK", "T#a#CUSTOMERS").is_ok());
    }
}
