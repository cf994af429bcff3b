//! Customer lists: sorted by name, number or creation (either way round), of one status or of
//! both, searched by name prefix, filtered. [`plan`] decides, without I/O, which index serves
//! a query and what is left to a filter. The list by name lies in one partition per tenant,
//! the lists by number and creation in [`keys::LIST_SHARDS`] of them, and every sort key
//! starts with the customer's status, so the list of one status by name (the default list) is
//! one Query on a key; every other list merges the Queries of its statuses and shards from
//! the same position ([`merge_page`]). Filters that no key serves make DynamoDB read items it then drops,
//! so such a page may come back short (follow `nextCursor`) and costs the items examined, not
//! the items returned: docs/data-model.md lists every combination.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{Customer, CustomerStatus, PaymentTerms, PaymentType, Tier};
use serde::{Deserialize, Serialize};

use crate::customers::{CustomerStore, MAX_PAGE, Page, RecordQuery, attribute};
use crate::items::{self, Item};
use crate::keys::{self, TenantId};
use crate::{StoreError, cursor};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Sort {
    /// Folded display name (the default).
    #[default]
    Name,
    /// Customer number, its runs of digits compared as numbers ([`keys::number_order`]).
    Number,
    /// Creation time, oldest first.
    Created,
}

/// Which customers a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StatusFilter {
    /// Active customers: what every list shows unless asked otherwise.
    #[default]
    Active,
    Inactive,
    /// Both, merged in the list's order.
    All,
}

impl StatusFilter {
    /// The statuses listed; each is a sort-key prefix of the list indexes.
    pub fn statuses(self) -> &'static [CustomerStatus] {
        match self {
            Self::Active => &[CustomerStatus::Active],
            Self::Inactive => &[CustomerStatus::Inactive],
            Self::All => &[CustomerStatus::Active, CustomerStatus::Inactive],
        }
    }

    pub fn admits(self, status: CustomerStatus) -> bool {
        self.statuses().contains(&status)
    }
}

/// Serialised as an export keeps it (see `exports`), to list the same customers later.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    pub sort: Sort,
    pub status: StatusFilter,
    /// The order of `sort` (or of a name search) reversed.
    pub descending: bool,
    /// Already folded (see `domain::fold`).
    pub name_prefix: Option<String>,
    pub payment_type: Option<PaymentType>,
    pub payment_terms: Option<PaymentTerms>,
    pub tier: Option<Tier>,
    pub on_hold: Option<bool>,
    pub tag: Option<String>,
    pub limit: i32,
    pub cursor: Option<String>,
}

/// How one list query is served.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub index: &'static str,
    pub partition_attr: &'static str,
    pub sort_attr: &'static str,
    /// The partition the list's cursors name: the tenant's list partition.
    pub partition: String,
    /// The index partitions the list lies in: one by name, the shards by number and creation.
    pub shards: Vec<String>,
    /// One Query per status, on the key `begins_with(sort key, "<status>#")`; the Queries of
    /// two statuses are merged.
    pub statuses: &'static [CustomerStatus],
    /// Conditions no key serves, ANDed into a FilterExpression.
    pub filters: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub expression: String,
    pub names: Vec<(String, String)>,
    pub values: Vec<(String, AttributeValue)>,
}

impl Plan {
    /// Whether DynamoDB may read items the page then drops.
    pub fn is_filtered(&self) -> bool {
        !self.filters.is_empty()
    }

    /// The Query of one status's part of the list in one of its partitions.
    fn query<'a>(
        &'a self,
        partition: &str,
        prefix: &'a str,
        list: &'a ListQuery,
        cursor: Option<&'a str>,
    ) -> RecordQuery<'a> {
        RecordQuery {
            index: Some(self.index),
            partition_attr: self.partition_attr,
            sort_attr: self.sort_attr,
            partition: partition.to_owned(),
            prefix: Some(prefix),
            between: None,
            filters: self.filters.clone(),
            keys_only: false,
            limit: list.limit,
            cursor,
            ascending: !list.descending,
        }
    }

    /// Where an item (or a LastEvaluatedKey) stands in the list, whatever its status.
    fn position<'a>(&self, item: &'a Item) -> &'a str {
        keys::list_position(attribute(item, self.sort_attr)).unwrap_or_default()
    }
}

/// Chooses the index of a list without a name search: the sort picks it (GSI1 name, GSI3
/// number, GSI4 creation), the status is always part of the key, and payment type, terms,
/// tier, on hold and tag are filters. (A name search reads the name entries instead: see
/// [`CustomerStore::list`].)
pub fn plan(tenant: &TenantId, query: &ListQuery) -> Plan {
    let (index, partition_attr, sort_attr) = match query.sort {
        Sort::Name => (keys::GSI1, keys::GSI1PK, keys::GSI1SK),
        Sort::Number => (keys::GSI3, keys::GSI3PK, keys::GSI3SK),
        Sort::Created => (keys::GSI4, keys::GSI4PK, keys::GSI4SK),
    };
    let mut filters = Vec::new();
    if let Some(payment_type) = query.payment_type {
        filters.push(nested_equals(
            "terms",
            "paymentType",
            AttributeValue::S(serde_name(&payment_type)),
        ));
    }
    if let Some(terms) = query.payment_terms {
        filters.push(nested_equals(
            "terms",
            "paymentTerms",
            AttributeValue::S(terms.to_string()),
        ));
    }
    if let Some(tier) = query.tier {
        filters.push(equals("tier", AttributeValue::S(serde_name(&tier))));
    }
    if let Some(on_hold) = query.on_hold {
        filters.push(equals("onHold", AttributeValue::Bool(on_hold)));
    }
    if let Some(tag) = &query.tag {
        filters.push(Condition {
            expression: "contains(#tagKeys, :tag)".into(),
            names: vec![("#tagKeys".into(), items::TAG_KEYS.into())],
            values: vec![(":tag".into(), AttributeValue::S(domain::fold(tag)))],
        });
    }
    let shards = match query.sort {
        Sort::Name => vec![keys::customers_of(tenant)],
        Sort::Number | Sort::Created => keys::customer_shards(tenant),
    };
    Plan {
        index,
        partition_attr,
        sort_attr,
        partition: keys::customers_of(tenant),
        shards,
        statuses: query.status.statuses(),
        filters,
    }
}

/// The same conditions applied in memory, for lists that come from elsewhere (the customers
/// assigned to one user).
pub fn matches(query: &ListQuery, customer: &Customer) -> bool {
    let fields = &customer.fields;
    query.status.admits(customer.status)
        && query
            .name_prefix
            .as_deref()
            .is_none_or(|p| fields.search_names().iter().any(|n| n.starts_with(p)))
        && query
            .payment_type
            .is_none_or(|t| fields.terms.payment_type == t)
        && query
            .payment_terms
            .is_none_or(|t| fields.terms.payment_terms == t)
        && query.tier.is_none_or(|t| fields.tier == t)
        && query.on_hold.is_none_or(|h| fields.on_hold == h)
        && query.tag.as_ref().is_none_or(|t| {
            fields
                .tags
                .iter()
                .any(|own| domain::fold(own) == domain::fold(t))
        })
}

pub(crate) fn equals(attribute: &str, value: AttributeValue) -> Condition {
    Condition {
        expression: format!("#{attribute} = :{attribute}"),
        names: vec![(format!("#{attribute}"), attribute.into())],
        values: vec![(format!(":{attribute}"), value)],
    }
}

fn nested_equals(map: &str, attribute: &str, value: AttributeValue) -> Condition {
    Condition {
        expression: format!("#{map}.#{attribute} = :{attribute}"),
        names: vec![
            (format!("#{map}"), map.into()),
            (format!("#{attribute}"), attribute.into()),
        ],
        values: vec![(format!(":{attribute}"), value)],
    }
}

/// The JSON name of an enum value, the form it is stored in.
fn serde_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl CustomerStore {
    /// One page of a tenant's customers. Without a name search: one Query of one status (see
    /// [`plan`]), or the Queries of both merged. With one: the name entries (a Query and a
    /// BatchGetItem, see `search_names`), in name order, with the other conditions (the
    /// status too) applied to that page.
    pub async fn list(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> Result<Page<Customer>, StoreError> {
        if let Some(prefix) = query.name_prefix.as_deref().filter(|p| !p.is_empty()) {
            let limit = query.limit.clamp(1, MAX_PAGE);
            let cursor = query.cursor.as_deref();
            let mut page = self
                .search_names(
                    tenant,
                    prefix,
                    query.status.statuses(),
                    limit,
                    cursor,
                    !query.descending,
                )
                .await?;
            page.items.retain(|c| matches(query, c));
            return Ok(page);
        }
        let plan = plan(tenant, query);
        let page = match (plan.statuses, plan.shards.as_slice()) {
            ([status], [partition]) => {
                let prefix = keys::list_status_prefix(*status);
                let cursor = query.cursor.as_deref();
                self.query_records(plan.query(partition, &prefix, query, cursor))
                    .await?
            }
            _ => self.list_merged(tenant, &plan, query).await?,
        };
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(items::customer_from_item)
                .collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }

    /// A page of the customers a list with `query` shows; `assignee`: only those this user is
    /// assigned to (a Query of the assignment index and a BatchGetItem per page, the other
    /// conditions of `query` applied to that short list). The assignment index lags behind
    /// writes; the cards are read consistently, so the card decides whether the user is
    /// (still) assigned.
    pub async fn list_of(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
        assignee: Option<&str>,
    ) -> Result<Page<Customer>, StoreError> {
        let Some(user) = assignee else {
            return self.list(tenant, query).await;
        };
        let mut page = self
            .customers_assigned_to(tenant, user, query.limit, query.cursor.as_deref())
            .await?;
        page.items
            .retain(|c| c.assignees.iter().any(|a| a == user) && matches(query, c));
        Ok(page)
    }

    /// A list of several statuses or shards: the Query of each status in each shard, side by
    /// side, from the same position, merged by [`merge_page`]. The cursor holds that position
    /// alone (no status, no shard), so it is no cursor of a list of one Query, nor they of
    /// this one.
    async fn list_merged(
        &self,
        tenant: &TenantId,
        plan: &Plan,
        query: &ListQuery,
    ) -> Result<Page<Item>, StoreError> {
        let from = query
            .cursor
            .as_deref()
            .map(|c| merged_cursor_position(c, plan))
            .transpose()?;
        let prefixes: Vec<String> = plan
            .statuses
            .iter()
            .map(|status| keys::list_status_prefix(*status))
            .collect();
        let reads = prefixes
            .iter()
            .flat_map(|prefix| plan.shards.iter().map(move |partition| (prefix, partition)));
        // Each Query reads a whole page: the page may lie in one shard, and pages without a
        // filter are full unless the list ends (docs/api.md, "Listing").
        let results = futures::future::try_join_all(reads.map(|(prefix, partition)| {
            let start = from.as_deref().map(|position| {
                let mut key = items::key_of(keys::customer(tenant, &keys::customer_at(position)));
                key.insert(plan.partition_attr.into(), s(partition));
                key.insert(plan.sort_attr.into(), s(&format!("{prefix}{position}")));
                key
            });
            let read = plan.query(partition, prefix, query, None);
            async move { self.query_from(&read, start).await }
        }))
        .await?;
        let limit = query.limit.clamp(1, MAX_PAGE) as usize;
        let (items, next) = merge_results(
            results,
            |item| plan.position(item),
            limit,
            !query.descending,
        );
        let next_cursor = next.and_then(|position| {
            cursor::encode_position(
                plan.partition_attr,
                &plan.partition,
                plan.sort_attr,
                position,
            )
        });
        Ok(Page { items, next_cursor })
    }
}

/// One page from several Queries' answers (items, LastEvaluatedKey), each item placed by
/// `position` in the order all of them share: [`merge_page`] over them.
pub(crate) fn merge_results(
    results: Vec<(Vec<Item>, Option<Item>)>,
    position: impl Fn(&Item) -> &str,
    limit: usize,
    ascending: bool,
) -> (Vec<Item>, Option<String>) {
    let mut rows = Vec::new();
    let mut ends = Vec::new();
    for (items, last) in results {
        ends.push(last.as_ref().map(|last| position(last).to_owned()));
        rows.extend(
            items
                .into_iter()
                .map(|item| (position(&item).to_owned(), item)),
        );
    }
    merge_page(rows, &ends, limit, ascending)
}

/// One page of a list merged from several Queries over the same positions: `rows` are every
/// Query's items with their positions, `ends` each Query's last position read (`None`: it
/// reached the end of its part). Past the first point where a Query stopped, another Query's
/// items may be missing, so the page ends there; it then holds at most `limit` items, and the
/// next page starts after its last position (the returned cursor position).
pub fn merge_page(
    mut rows: Vec<(String, Item)>,
    ends: &[Option<String>],
    limit: usize,
    ascending: bool,
) -> (Vec<Item>, Option<String>) {
    let in_order = |a: &String, b: &String| if ascending { a.cmp(b) } else { b.cmp(a) };
    let read_through = ends.iter().flatten().min_by(|a, b| in_order(a, b)).cloned();
    if let Some(end) = &read_through {
        rows.retain(|(position, _)| in_order(position, end).is_le());
    }
    rows.sort_by(|a, b| in_order(&a.0, &b.0));
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|(position, _)| position.clone())
    } else {
        read_through
    };
    (rows.into_iter().map(|(_, item)| item).collect(), next)
}

/// The position a cursor of a merged list holds; 400 for anything this list did not issue.
fn merged_cursor_position(cursor: &str, plan: &Plan) -> Result<String, StoreError> {
    let position =
        cursor::decode_position(cursor, plan.partition_attr, &plan.partition, plan.sort_attr)?;
    // With the status in front it becomes a sort key, which DynamoDB caps at 1 024 bytes.
    if position.len() > 1000 {
        return Err(StoreError::InvalidCursor("the cursor is not one we issued"));
    }
    Ok(position)
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn acme() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    #[test]
    fn every_order_of_one_status_is_read_on_keys_by_name_in_one_query() {
        for (sort, index, shards) in [
            (Sort::Name, keys::GSI1, 1),
            (Sort::Number, keys::GSI3, keys::LIST_SHARDS as usize),
            (Sort::Created, keys::GSI4, keys::LIST_SHARDS as usize),
        ] {
            for status in [StatusFilter::Active, StatusFilter::Inactive] {
                let query = ListQuery {
                    sort,
                    status,
                    ..Default::default()
                };
                let plan = plan(&acme(), &query);
                assert_eq!(plan.index, index);
                assert_eq!(plan.statuses, status.statuses());
                assert_eq!(plan.statuses.len(), 1);
                assert_eq!(plan.shards.len(), shards);
                assert!(!plan.is_filtered());
            }
        }
    }

    #[test]
    fn each_customer_lies_in_one_shard_of_the_lists_by_number_and_creation() {
        let by_number = plan(
            &acme(),
            &ListQuery {
                sort: Sort::Number,
                ..Default::default()
            },
        );
        assert_eq!(
            by_number.shards,
            [
                "T#acme#CUSTOMERS#0",
                "T#acme#CUSTOMERS#1",
                "T#acme#CUSTOMERS#2",
                "T#acme#CUSTOMERS#3"
            ]
        );
        assert_eq!(by_number.partition, "T#acme#CUSTOMERS", "what cursors name");
        let mut used = std::collections::BTreeSet::new();
        for _ in 0..64 {
            let id = domain::CustomerId::new();
            let shard = keys::customers_shard(&acme(), &id);
            assert!(by_number.shards.contains(&shard), "{shard}");
            assert_eq!(
                keys::customers_shard(&acme(), &id),
                shard,
                "the same for ever"
            );
            used.insert(shard);
        }
        assert_eq!(
            used.len(),
            keys::LIST_SHARDS as usize,
            "64 ids use every shard"
        );
    }

    #[test]
    fn lists_show_active_customers_unless_asked_otherwise() {
        let plan = plan(&acme(), &ListQuery::default());
        assert_eq!(plan.statuses, [CustomerStatus::Active]);
        let all = ListQuery {
            status: StatusFilter::All,
            ..Default::default()
        };
        assert_eq!(
            super::plan(&acme(), &all).statuses,
            [CustomerStatus::Active, CustomerStatus::Inactive]
        );
    }

    fn rows(positions: &[&str]) -> Vec<(String, Item)> {
        positions
            .iter()
            .map(|p| (p.to_string(), HashMap::from([("p".to_owned(), s(p))])))
            .collect()
    }

    fn positions(items: &[Item]) -> Vec<&str> {
        items.iter().map(|i| attribute(i, "p")).collect()
    }

    #[test]
    fn a_merged_page_interleaves_its_queries_and_stops_at_the_first_end() {
        // Active read "a", "c", "e" and stopped there; inactive read "b", "f" and ended.
        let (items, next) = merge_page(
            rows(&["a", "c", "e", "b", "f"]),
            &[Some("e".into()), None],
            10,
            true,
        );
        assert_eq!(
            positions(&items),
            ["a", "b", "c", "e"],
            "f waits for the next page"
        );
        assert_eq!(next.as_deref(), Some("e"));

        let (items, next) = merge_page(rows(&["a", "c", "b", "d"]), &[None, None], 3, true);
        assert_eq!(positions(&items), ["a", "b", "c"]);
        assert_eq!(
            next.as_deref(),
            Some("c"),
            "cut at the limit: go on after c"
        );

        let (items, next) = merge_page(rows(&["b", "a"]), &[None, None], 3, true);
        assert_eq!(positions(&items), ["a", "b"]);
        assert_eq!(next, None, "both ended: the list is complete");
    }

    #[test]
    fn a_merged_page_the_other_way_round_stops_at_the_first_end_too() {
        // Descending: active read "f", "d" and stopped; inactive read "e", "a" and ended.
        let (items, next) = merge_page(
            rows(&["f", "d", "e", "a"]),
            &[Some("d".into()), None],
            10,
            false,
        );
        assert_eq!(positions(&items), ["f", "e", "d"]);
        assert_eq!(next.as_deref(), Some("d"));
        // A filter can leave a Query with nothing but where it stopped: descending, "x" is
        // reached before "m".
        let (items, next) = merge_page(
            rows(&["z", "w"]),
            &[Some("m".into()), Some("x".into())],
            5,
            false,
        );
        assert_eq!(positions(&items), ["z"]);
        assert_eq!(next.as_deref(), Some("x"));
    }

    #[test]
    fn commercial_filters_combine() {
        let query = ListQuery {
            payment_type: Some(PaymentType::Account),
            payment_terms: Some(PaymentTerms::Net(30)),
            tier: Some(Tier::Vip),
            on_hold: Some(false),
            tag: Some("north".into()),
            ..Default::default()
        };
        let plan = plan(&acme(), &query);
        assert_eq!(plan.index, keys::GSI1);
        let expressions: Vec<&str> = plan.filters.iter().map(|c| c.expression.as_str()).collect();
        assert_eq!(
            expressions,
            [
                "#terms.#paymentType = :paymentType",
                "#terms.#paymentTerms = :paymentTerms",
                "#tier = :tier",
                "#onHold = :onHold",
                "contains(#tagKeys, :tag)"
            ]
        );
        assert_eq!(
            plan.filters[1].values[0].1,
            AttributeValue::S("net30".into())
        );
        assert_eq!(plan.filters[2].values[0].1, AttributeValue::S("vip".into()));
    }
}
