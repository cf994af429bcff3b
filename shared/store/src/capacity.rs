//! DynamoDB's documented capacity rules, applied to the items we write. The emulator reports
//! consumed capacity for single-item calls but none for transactions, so the store also keeps
//! its own estimate: what DynamoDB would charge for the same items.
//!
//! Rules (DynamoDB developer guide, "Read/write capacity mode" and "Item sizes"):
//! a write costs one unit per started KB of the item, twice that inside a transaction; each
//! global secondary index the item appears in costs a write of its projected size: the item's
//! for the list indexes (ALL), one unit for a lookup index (keys only). A write that replaces
//! or deletes an item is billed by the larger of the two items, and in each index by what
//! changes there: nothing where the entry keeps its key and (keys only) its content, one write
//! where a kept key's projected item changed, two (a delete and a put) where the key moved,
//! one where the item leaves or joins the index. The store names the item a write replaces
//! where it knows it (a change of a customer: the card, guard and lookup items as they were);
//! elsewhere a put is counted as a new item.
//! Item size = the UTF-8 bytes of every attribute name plus its value's size.

use aws_sdk_dynamodb::types::AttributeValue;

use std::collections::BTreeMap;

use crate::items::Item;
use crate::keys::{GSI1PK, GSI1SK, GSI3PK, GSI3SK, GSI4PK, GSI4SK};
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

/// An index of the table as billing sees it: its key attributes and its projection.
struct Projection {
    pk: &'static str,
    sk: &'static str,
    /// The whole item (the list indexes), or its keys only (the lookup indexes).
    whole: bool,
}

const LIST_INDEXES: [Projection; 3] = [
    Projection::whole(GSI1PK, GSI1SK),
    Projection::whole(GSI3PK, GSI3SK),
    Projection::whole(GSI4PK, GSI4SK),
];

impl Projection {
    const fn whole(pk: &'static str, sk: &'static str) -> Self {
        Self {
            pk,
            sk,
            whole: true,
        }
    }

    fn every() -> impl Iterator<Item = Projection> {
        let lookups = lookups::ALL.into_iter().map(|index| Projection {
            pk: index.pk,
            sk: index.sk,
            whole: false,
        });
        LIST_INDEXES.into_iter().chain(lookups)
    }

    /// The item's entry in this index: the values of its key, if it carries the partition key.
    fn entry<'a>(
        &self,
        item: &'a Item,
    ) -> Option<(&'a AttributeValue, Option<&'a AttributeValue>)> {
        Some((item.get(self.pk)?, item.get(self.sk)))
    }

    /// The units of writing (or deleting) the item's entry.
    fn units(&self, item: &Item) -> f64 {
        if self.whole { kb_units(item) } else { 1.0 }
    }

    /// What this index bills for a write turning `old` into `new` (either may be absent).
    fn write_units(&self, old: Option<&Item>, new: Option<&Item>) -> f64 {
        let old = old.filter(|item| self.entry(item).is_some());
        let new = new.filter(|item| self.entry(item).is_some());
        match (old, new) {
            (None, None) => 0.0,
            (None, Some(item)) | (Some(item), None) => self.units(item),
            (Some(old), Some(new)) if self.entry(old) != self.entry(new) => {
                self.units(old) + self.units(new)
            }
            (Some(old), Some(new)) if self.whole && old != new => self.units(new),
            (Some(_), Some(_)) => 0.0,
        }
    }
}

/// Started KBs of an item, at least one.
fn kb_units(item: &Item) -> f64 {
    item_size(item).div_ceil(1024).max(1) as f64
}

/// Write units for putting `item` where no item was: the base table (doubled in a
/// transaction) and every index whose partition key the item carries.
pub fn put_units(item: &Item, transactional: bool) -> f64 {
    write_units(None, Some(item), transactional)
}

/// Write units for a write that turns `old` into `new`: a put of `new` over `old` (`None`: no
/// item there, or not known) or a delete of `old` (`new` is `None`; `old` not known: a small
/// item in no index). The base table bills the larger of the two items, doubled in a
/// transaction; each index what changes in it ([`Projection::write_units`]).
pub fn write_units(old: Option<&Item>, new: Option<&Item>, transactional: bool) -> f64 {
    let table = old.into_iter().chain(new).map(kb_units).fold(1.0, f64::max);
    let base = if transactional { 2.0 * table } else { table };
    let indexes: f64 = Projection::every()
        .map(|index| index.write_units(old, new))
        .sum();
    base + indexes
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

/// Write units of a transaction's items: puts and deletes with their indexes, given the items
/// they replace or delete where known (`replaced`, by the write's position).
pub fn transaction_units(
    writes: &[aws_sdk_dynamodb::types::TransactWriteItem],
    replaced: &BTreeMap<usize, Item>,
) -> f64 {
    writes
        .iter()
        .enumerate()
        .map(|(i, write)| match (&write.put, &write.delete) {
            (Some(put), _) => write_units(replaced.get(&i), Some(&put.item), true),
            (None, Some(_)) => write_units(replaced.get(&i), None, true),
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

    /// A card in a list index and a guard with two lookup entries, as a change finds them.
    fn card_and_guard() -> (Item, Item) {
        let card = HashMap::from([
            ("PK".into(), s("card")),
            (GSI1PK.into(), s("list")),
            (GSI1SK.into(), s("Berg")),
            ("city".into(), s("Lund")),
        ]);
        let guard = HashMap::from([
            ("PK".into(), s("guard")),
            (lookups::EMAILS.pk.into(), s("emails")),
            (lookups::EMAILS.sk.into(), s("a@example.se")),
            (lookups::NAMES.pk.into(), s("names")),
            (lookups::NAMES.sk.into(), s("berg")),
        ]);
        (card, guard)
    }

    #[test]
    fn a_change_bills_in_each_index_only_what_changed_there() {
        let (card, guard) = card_and_guard();
        let mut moved = card.clone();
        moved.insert("city".into(), s("Malmö"));
        // The list entry keeps its key but projects the changed card: one write.
        assert_eq!(write_units(Some(&card), Some(&moved), true), 2.0 + 1.0);
        moved.insert(GSI1SK.into(), s("Borg"));
        // Renamed: the list entry's key moved, a delete and a put.
        assert_eq!(write_units(Some(&card), Some(&moved), true), 2.0 + 2.0);
        let mut new_email = guard.clone();
        new_email.insert(lookups::EMAILS.sk.into(), s("b@example.se"));
        // The e-mail entry moved (2); the name entry kept its key and projects keys only (0).
        assert_eq!(write_units(Some(&guard), Some(&new_email), true), 2.0 + 2.0);
        // Not knowing the guard before, every entry counts as new.
        assert_eq!(write_units(None, Some(&new_email), true), 2.0 + 2.0);
    }

    #[test]
    fn a_delete_bills_every_entry_it_removes_and_the_larger_item() {
        let (mut card, guard) = card_and_guard();
        assert_eq!(write_units(Some(&guard), None, true), 2.0 + 2.0);
        card.insert("notes".into(), s(&"x".repeat(1500)));
        assert_eq!(write_units(Some(&card), None, false), 2.0 + 2.0);
        let small: Item = HashMap::from([("PK".into(), s("card"))]);
        // A put over a 2 KB item is billed at 2 KB, and its list entry is deleted.
        assert_eq!(write_units(Some(&card), Some(&small), false), 2.0 + 2.0);
        // An unknown item deleted: a small one in no index.
        assert_eq!(write_units(None, None, true), 2.0);
    }
}
