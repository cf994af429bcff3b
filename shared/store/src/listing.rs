//! Customer lists: sorted by name, number or creation, searched by name prefix, filtered.
//! [`plan`] decides, without I/O, which index serves a query and what is left to a filter;
//! the list is always one Query per page. Filters that no key serves make DynamoDB read items
//! it then drops, so such a page may come back short (follow `nextCursor`) and costs the
//! items examined, not the items returned: docs/data-model.md lists which combinations.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use domain::{Customer, CustomerStatus, PaymentTerms, PaymentType, Tier};

use crate::customers::{CustomerStore, MAX_PAGE, Page, one};
use crate::keys::{self, PK, SK, TenantId};
use crate::usage::Kind;
use crate::{StoreError, capacity, cursor, items};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Folded display name (the default).
    #[default]
    Name,
    /// Customer number, case-insensitively.
    Number,
    /// Creation time, oldest first.
    Created,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub sort: Sort,
    pub status: Option<CustomerStatus>,
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
    pub partition: String,
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
}

/// Chooses the index of a list without a name search: by name, the status is a key condition
/// (GSI2 carries it in its partition); by number (GSI3) or creation (GSI4) it is a filter.
/// Payment type, terms, tier, on hold and tag are always filters. (A name search reads the
/// name entries instead: see [`CustomerStore::list`].)
pub fn plan(tenant: &TenantId, query: &ListQuery) -> Plan {
    let mut filters = Vec::new();
    let mut plan = match (query.sort, query.status) {
        (Sort::Name, Some(status)) => index_plan(
            keys::GSI2,
            keys::GSI2PK,
            keys::GSI2SK,
            keys::customers_by_status(tenant, status),
        ),
        (Sort::Name, None) => index_plan(
            keys::GSI1,
            keys::GSI1PK,
            keys::GSI1SK,
            keys::customers_by_name(tenant),
        ),
        (sort, status) => {
            if let Some(status) = status {
                filters.push(equals("status", AttributeValue::S(status.as_str().into())));
            }
            let (index, pk, sk) = match sort {
                Sort::Number => (keys::GSI3, keys::GSI3PK, keys::GSI3SK),
                _ => (keys::GSI4, keys::GSI4PK, keys::GSI4SK),
            };
            index_plan(index, pk, sk, keys::customers_by_name(tenant))
        }
    };
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
    plan.filters = filters;
    plan
}

/// The same conditions applied in memory, for lists that come from elsewhere (the customers
/// assigned to one user).
pub fn matches(query: &ListQuery, customer: &Customer) -> bool {
    let fields = &customer.fields;
    query.status.is_none_or(|s| customer.status == s)
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

fn index_plan(index: &'static str, pk: &'static str, sk: &'static str, partition: String) -> Plan {
    Plan {
        index,
        partition_attr: pk,
        sort_attr: sk,
        partition,
        filters: Vec::new(),
    }
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
    /// One page of a tenant's customers. Without a name search: a single Query (see
    /// [`plan`]). With one: the name entries (a Query and a BatchGetItem, see
    /// `search_names`), in name order, with the other conditions applied to that page.
    pub async fn list(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> Result<Page<Customer>, StoreError> {
        if let Some(prefix) = query.name_prefix.as_deref().filter(|p| !p.is_empty()) {
            let limit = query.limit.clamp(1, MAX_PAGE);
            let mut page = self
                .search_names(tenant, prefix, limit, query.cursor.as_deref())
                .await?;
            page.items.retain(|c| matches(query, c));
            return Ok(page);
        }
        let plan = plan(tenant, query);
        let start = query
            .cursor
            .as_deref()
            .map(|c| {
                cursor::decode(
                    c,
                    &[PK, SK, plan.partition_attr, plan.sort_attr],
                    plan.partition_attr,
                    &plan.partition,
                )
            })
            .transpose()?;
        let mut names: HashMap<String, String> =
            HashMap::from([("#pk".into(), plan.partition_attr.into())]);
        let mut values: HashMap<String, AttributeValue> =
            HashMap::from([(":pk".into(), AttributeValue::S(plan.partition.clone()))]);
        for condition in &plan.filters {
            names.extend(condition.names.iter().cloned());
            values.extend(condition.values.iter().cloned());
        }
        let filter = (!plan.filters.is_empty()).then(|| {
            plan.filters
                .iter()
                .map(|c| c.expression.as_str())
                .collect::<Vec<_>>()
                .join(" AND ")
        });
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(plan.index)
            .key_condition_expression("#pk = :pk")
            .set_filter_expression(filter)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .limit(query.limit.clamp(1, MAX_PAGE))
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        let estimate = if plan.is_filtered() {
            capacity::filtered_read_units(out.items(), out.scanned_count().max(0) as usize)
        } else {
            capacity::read_units(out.items(), false)
        };
        self.usage()
            .record(Kind::Read, one(out.consumed_capacity()), estimate);
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(items::customer_from_item)
            .collect::<Result<_, _>>()?;
        let next_cursor = out.last_evaluated_key.as_ref().and_then(cursor::encode);
        Ok(Page { items, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    #[test]
    fn name_order_with_a_status_is_served_by_keys_alone() {
        let query = ListQuery {
            status: Some(CustomerStatus::Active),
            ..Default::default()
        };
        let plan = plan(&acme(), &query);
        assert_eq!(plan.index, keys::GSI2);
        assert!(!plan.is_filtered());
    }

    #[test]
    fn number_and_creation_order_filter_the_status() {
        for sort in [Sort::Number, Sort::Created] {
            let query = ListQuery {
                sort,
                status: Some(CustomerStatus::Inactive),
                ..Default::default()
            };
            let plan = plan(&acme(), &query);
            assert_ne!(plan.index, keys::GSI1);
            assert_eq!(plan.filters.len(), 1);
        }
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
