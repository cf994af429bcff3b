//! What finds a customer by e-mail, by phone and by name: entries in four sparse, keys-only
//! indexes. The customer's number guard, an item every customer has and writes in its
//! transaction anyway, carries the first e-mail, the first phone number and the first two names
//! into them, so a new customer's usual lookups cost one index write each (1 unit) and no item
//! of their own (2 units each inside a transaction, and room in it). Not the card: it is
//! projected whole into the three list indexes, so every byte on it is paid four times over on
//! every change. Only the values beyond those slots (a second e-mail, a contact's number or
//! names) are items of their own, carrying an entry of the same index. A lookup is then one
//! Query of one index, whichever item carries the entry.
//!
//! The display name is no entry of these: the list by name (GSI1) sorts by it already, under
//! the customer's status, so a name search reads that list beside the two name indexes
//! ([`name_sources`]) and a person's display name costs no write of its own.
//!
//! This module is the one place that decides which value goes where: the guard's item, the
//! writes of every change and the readers all go through [`of`] and the [`Index`]es here.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{Customer, CustomerId, CustomerStatus};

use crate::items::Item;
use crate::keys::{self, Key, TenantId};

/// One lookup index: its name in the table's declaration and its key attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Index {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

impl Index {
    const fn of(name: &'static str, pk: &'static str, sk: &'static str) -> Self {
        Self { name, pk, sk }
    }
}

pub const EMAILS: Index = Index::of(keys::GSI5, keys::GSI5PK, keys::GSI5SK);
pub const PHONES: Index = Index::of(keys::GSI6, keys::GSI6PK, keys::GSI6SK);
/// Names: the first name and every name item.
pub const NAMES: Index = Index::of(keys::GSI7, keys::GSI7PK, keys::GSI7SK);
/// The second name ("last first" of a person, mostly).
pub const MORE_NAMES: Index = Index::of(keys::GSI8, keys::GSI8PK, keys::GSI8SK);

/// Every lookup index, for the capacity estimate.
pub const ALL: [Index; 4] = [EMAILS, PHONES, NAMES, MORE_NAMES];

/// The indexes that hold names beyond the display name.
pub const NAME_INDEXES: [Index; 2] = [NAMES, MORE_NAMES];

/// The list by name: its entry of a card is the card's display name, after its status.
pub const LISTED_NAMES: Index = Index::of(keys::GSI1, keys::GSI1PK, keys::GSI1SK);

/// Where a name search reads: one partition of an index whose sort keys are `key_prefix`,
/// then a folded name cut like every name in a key, then `#<customer id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSource {
    pub index: Index,
    pub partition: String,
    pub key_prefix: String,
}

/// Every index partition a search for customers of `statuses` reads, side by side and merged
/// in name order: the list by name of each status (the display names) and the two name
/// indexes (every other name, of customers of any status, so the caller still checks the
/// status of what they find).
pub fn name_sources(tenant: &TenantId, statuses: &[CustomerStatus]) -> Vec<NameSource> {
    let listed = statuses.iter().map(|status| NameSource {
        index: LISTED_NAMES,
        partition: keys::customers_of(tenant),
        key_prefix: keys::list_status_prefix(*status),
    });
    let named = NAME_INDEXES.map(|index| NameSource {
        index,
        partition: keys::names_partition(tenant),
        key_prefix: String::new(),
    });
    listed.chain(named).collect()
}

/// One entry in a lookup index: the index and the values of its key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub index: Index,
    pub pk: String,
    pub sk: String,
}

impl Entry {
    /// Puts the entry's key attributes on `item`, which DynamoDB then indexes.
    pub fn write_into(&self, item: &mut Item) {
        item.insert(self.index.pk.into(), AttributeValue::S(self.pk.clone()));
        item.insert(self.index.sk.into(), AttributeValue::S(self.sk.clone()));
    }
}

/// A value the guard has no slot for: an item of its own at `key`, carrying `entry`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Extra {
    pub key: Key,
    pub entry: Entry,
}

/// A customer's lookup entries: those its number guard carries and the items of the rest.
#[derive(Debug, Default, PartialEq)]
pub struct Lookups {
    pub on_guard: Vec<Entry>,
    pub extra: BTreeSet<Extra>,
}

/// Where each of a customer's e-mails, phone numbers and names is found: the first values of
/// each kind on the guard's slots (in each kind's order: the sets are sorted, so the same card
/// always splits the same way), the rest as items.
pub fn of(tenant: &TenantId, customer: &Customer) -> Lookups {
    let (fields, id) = (&customer.fields, &customer.id);
    let mut lookups = Lookups::default();
    let emails = fields.lookup_emails();
    let phones = fields.lookup_phones();
    let mut names = fields.search_names();
    // The list by name finds the display name ([`name_sources`]).
    names.remove(&fields.sort_name());
    place(
        &mut lookups,
        &[EMAILS],
        emails.iter().map(|e| email(tenant, e, id)),
    );
    place(
        &mut lookups,
        &[PHONES],
        phones.iter().map(|p| phone(tenant, p, id)),
    );
    place(
        &mut lookups,
        &NAME_INDEXES,
        names.iter().map(|n| name(tenant, n, id)),
    );
    lookups
}

/// The values of one kind, each as (the item's key, the entry's key): the first ones on the
/// guard, one per slot index, the rest as items in the first index.
fn place(lookups: &mut Lookups, slots: &[Index], values: impl Iterator<Item = (Key, Key)>) {
    for (n, (item_key, entry_key)) in values.enumerate() {
        let index = slots.get(n).copied();
        let entry = Entry {
            index: index.unwrap_or(slots[0]),
            pk: entry_key.pk,
            sk: entry_key.sk,
        };
        if index.is_some() {
            lookups.on_guard.push(entry);
        } else {
            lookups.extra.insert(Extra {
                key: item_key,
                entry,
            });
        }
    }
}

fn email(tenant: &TenantId, email: &str, id: &CustomerId) -> (Key, Key) {
    let key = keys::email_lookup(tenant, email, id);
    (key.clone(), key)
}

fn phone(tenant: &TenantId, phone: &str, id: &CustomerId) -> (Key, Key) {
    let key = keys::phone_lookup(tenant, phone, id);
    (key.clone(), key)
}

/// A name item lies in its customer's shard of the table; every name entry in the indexes lies
/// in the tenant's one names partition.
fn name(tenant: &TenantId, name: &str, id: &CustomerId) -> (Key, Key) {
    let entry = Key {
        pk: keys::names_partition(tenant),
        sk: keys::name_entry_sort_key(name, id),
    };
    (keys::name_entry(tenant, name, id), entry)
}

/// The customer an index entry (as a Query of `index` returns it) names.
pub fn customer_of(item: &Item, index: Index) -> Option<CustomerId> {
    let sort_key = item.get(index.sk)?.as_s().ok()?;
    keys::customer_of_entry(sort_key)
}

/// A validated customer for the store's unit tests (customers.rs's use them too).
#[cfg(test)]
pub(crate) mod tests {
    use chrono::Utc;
    use domain::{ContactInput, CustomerInput, ValidationContext, validate_customer};

    use super::*;

    pub(crate) fn customer(input: CustomerInput) -> Customer {
        let fields = validate_customer(input, &ValidationContext::default()).expect("valid");
        Customer::new(fields, "u1", Utc::now())
    }

    /// A person with a number, an e-mail and a mobile.
    pub(crate) fn person() -> CustomerInput {
        CustomerInput {
            customer_number: Some("1001".into()),
            first_name: Some("Anna".into()),
            last_name: Some("Berg".into()),
            email: Some("Anna@Example.com".into()),
            mobile: Some("+46 70 123 45 67".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_person_with_an_email_and_a_mobile_needs_no_lookup_item() {
        let t = TenantId::parse("acme").unwrap();
        let anna = customer(person());
        let lookups = of(&t, &anna);
        assert!(lookups.extra.is_empty(), "{:?}", lookups.extra);
        let on_card: Vec<(&str, &str)> = lookups
            .on_guard
            .iter()
            .map(|e| (e.index.name, e.pk.as_str()))
            .collect();
        assert_eq!(
            on_card,
            [
                ("GSI5", "T#acme#EMAIL#anna@example.com"),
                ("GSI6", "T#acme#PHONE#+46701234567"),
                ("GSI7", "T#acme#NAMES"),
            ]
        );
        // "anna berg", the display name, is found in the list by name.
        assert_eq!(lookups.on_guard[2].sk, format!("berg anna#{}", anna.id));
        for entry in &lookups.on_guard {
            assert_eq!(keys::customer_of_entry(&entry.sk), Some(anna.id.clone()));
        }
    }

    #[test]
    fn values_beyond_the_guards_slots_are_items_carrying_an_entry_of_their_kinds_index() {
        let t = TenantId::parse("acme").unwrap();
        let anna = customer(CustomerInput {
            invoice_email: Some("billing@example.com".into()),
            phone: Some("+46 8 123 456 78".into()),
            contacts: Some(vec![ContactInput {
                first_name: Some("Cia".into()),
                last_name: Some("Ek".into()),
                ..Default::default()
            }]),
            ..person()
        });
        let lookups = of(&t, &anna);
        assert_eq!(lookups.on_guard.len(), 4);
        let names: Vec<&str> = lookups.on_guard[2..]
            .iter()
            .map(|e| e.sk.split('#').next().unwrap())
            .collect();
        assert_eq!(names, ["berg anna", "cia ek"]);
        let extra: Vec<(&str, &str, &str)> = lookups
            .extra
            .iter()
            .map(|x| (x.entry.index.name, x.key.pk.as_str(), x.entry.pk.as_str()))
            .collect();
        // Sorted sets: "anna@..." before "billing@...", "+4670..." before "+4681...", and the
        // names "berg anna" < "cia ek" < "ek cia" ("anna berg" is the display name).
        let shard = keys::name_entry(&t, "ek cia", &anna.id).pk;
        let mut expected = vec![
            (
                "GSI5",
                "T#acme#EMAIL#billing@example.com",
                "T#acme#EMAIL#billing@example.com",
            ),
            (
                "GSI6",
                "T#acme#PHONE#+46812345678",
                "T#acme#PHONE#+46812345678",
            ),
            ("GSI7", shard.as_str(), "T#acme#NAMES"),
        ];
        expected.sort_by_key(|(_, key, _)| *key);
        let mut found = extra.clone();
        found.sort_by_key(|(_, key, _)| *key);
        assert_eq!(found, expected);
        for x in &lookups.extra {
            assert_eq!(keys::customer_of_entry(&x.entry.sk), Some(anna.id.clone()));
            assert_eq!(
                x.key.sk, x.entry.sk,
                "an item and its entry share the sort key"
            );
        }
    }

    #[test]
    fn a_company_without_contact_details_has_no_lookup_entry() {
        let t = TenantId::parse("acme").unwrap();
        let company = customer(CustomerInput {
            customer_number: Some("2001".into()),
            company_name: Some("Acme AB".into()),
            ..Default::default()
        });
        // Its one name is its display name, which the list by name holds.
        assert_eq!(of(&t, &company), Lookups::default());
    }

    #[test]
    fn a_search_reads_the_list_by_name_of_each_status_and_both_name_indexes() {
        let t = TenantId::parse("acme").unwrap();
        let sources = name_sources(&t, &[CustomerStatus::Active, CustomerStatus::Inactive]);
        let read: Vec<(&str, &str, &str)> = sources
            .iter()
            .map(|s| (s.index.name, s.partition.as_str(), s.key_prefix.as_str()))
            .collect();
        assert_eq!(
            read,
            [
                ("GSI1", "T#acme#CUSTOMERS", "active#"),
                ("GSI1", "T#acme#CUSTOMERS", "inactive#"),
                ("GSI7", "T#acme#NAMES", ""),
                ("GSI8", "T#acme#NAMES", ""),
            ]
        );
        // The list's sort key after its prefix is a name entry's: one order for all of them.
        let anna = customer(person());
        let listed = crate::items::customer_item(&t, &anna);
        let listed = listed[keys::GSI1SK].as_s().unwrap();
        assert_eq!(
            listed.strip_prefix("active#"),
            Some(keys::name_entry_sort_key(&anna.fields.sort_name(), &anna.id).as_str())
        );
    }
}
