//! DynamoDB's documented capacity rules, applied to the items we write. The emulator reports
//! consumed capacity for single-item calls but none for transactions, so the store also keeps
//! its own estimate: what DynamoDB would charge for the same items.
//!
//! Rules (DynamoDB developer guide, "Read/write capacity mode" and "Item sizes"):
//! a write costs one unit per started KB of the item, twice that inside a transaction; each
//! global secondary index the item appears in costs a write of its projected size: the item's
//! for the list indexes (ALL), one unit for a lookup index (keys only). Every put is counted as
//! if no item were there before, which is exact for new items. For a put that replaces an
//! item DynamoDB charges otherwise: the larger of the two item sizes; nothing in a keys-only
//! index whose entry keeps its key; two writes (delete and put) in an index whose entry's key
//! changed, and a delete in one the item leaves. So for changes the estimate can be above or
//! below what DynamoDB bills (an e-mail change: one entry too many for the three lookup
//! entries the guard keeps, one too few for the one whose key moved).
//! Item size = the UTF-8 bytes of every attribute name plus its value's size.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::items::Item;
use crate::keys::{GSI1PK, GSI3PK, GSI4PK};
use crate::lookups;

/// The size DynamoDB bills for an item, in bytes.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        // Numbers: about one byte per two significant digits, plus one.
        AttributeValue::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        // Lists and maps: 3 bytes of overhead plus one per element.
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

/// Write units for putting `item`: the base table (doubled in a transaction) and every index
/// whose partition key the item carries.
pub fn put_units(item: &Item, transactional: bool) -> f64 {
    let units = item_size(item).div_ceil(1024).max(1) as f64;
    let base = if transactional { 2.0 * units } else { units };
    let carried = |attrs: &mut dyn Iterator<Item = &str>| {
        attrs.filter(|attr| item.contains_key(*attr)).count() as f64
    };
    let lists = carried(&mut [GSI1PK, GSI3PK, GSI4PK].into_iter());
    let lookups = carried(&mut lookups::ALL.iter().map(|index| index.pk));
    base + lists * units + lookups
}

/// Write units for deleting a small item (guards and lookup entries are well under 1 KB).
pub fn delete_units(transactional: bool) -> f64 {
    if transactional { 2.0 } else { 1.0 }
}

/// Read units for reading `items` in one Get or Query: one unit per started 4 KB of their total
/// size (at least one), half of that when eventually consistent (every GSI query is).
pub fn read_units<'a>(items: impl IntoIterator<Item = &'a Item>, consistent: bool) -> f64 {
    let bytes: usize = items.into_iter().map(item_size).sum();
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

/// Read units of a filtered Query: DynamoDB charges for every item it examined, also those the
/// filter dropped. Their sizes are unknown here, so they are taken to be the average size of
/// the items returned (1 KB when none came back).
pub fn filtered_read_units(returned: &[Item], examined: usize) -> f64 {
    let average = if returned.is_empty() {
        1024
    } else {
        returned.iter().map(item_size).sum::<usize>() / returned.len()
    };
    let units = (examined * average).div_ceil(4096).max(1) as f64;
    units / 2.0
}

/// Write units of a transaction's items: puts with their indexes, deletes of small items.
pub fn transaction_units(writes: &[aws_sdk_dynamodb::types::TransactWriteItem]) -> f64 {
    writes
        .iter()
        .map(|write| match (&write.put, &write.delete) {
            (Some(put), _) => put_units(&put.item, true),
            (None, Some(_)) => delete_units(true),
            _ => 2.0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    #[test]
    fn sizes_follow_the_documented_rules() {
        let item: Item = HashMap::from([
            ("PK".into(), s("abc")),
            ("n".into(), AttributeValue::N("12345".into())),
        ]);
        assert_eq!(item_size(&item), 2 + 3 + 1 + 4);
    }

    #[test]
    fn a_transactional_put_costs_double_plus_its_indexes() {
        let small: Item = HashMap::from([("PK".into(), s("a"))]);
        assert_eq!(put_units(&small, false), 1.0);
        assert_eq!(put_units(&small, true), 2.0);
        let indexed: Item = HashMap::from([
            ("PK".into(), s("a")),
            (GSI1PK.into(), s("b")),
            (GSI3PK.into(), s("c")),
            ("big".into(), s(&"x".repeat(1500))),
        ]);
        assert_eq!(put_units(&indexed, true), 2.0 * 2.0 + 2.0 * 2.0);
    }

    #[test]
    fn a_lookup_entry_costs_one_unit_whatever_the_items_size() {
        let mut card: Item = HashMap::from([
            ("PK".into(), s("a")),
            (GSI1PK.into(), s("b")),
            ("big".into(), s(&"x".repeat(1500))),
        ]);
        for index in lookups::ALL {
            card.insert(index.pk.into(), s("k"));
        }
        // The table at 2 x 2 KB, the list index at 2 KB, four keys-only entries.
        assert_eq!(put_units(&card, true), 4.0 + 2.0 + 4.0);
    }
}
