//! Item shapes: how a domain value becomes a DynamoDB item and back. Key attributes and the
//! entity discriminator are added here and nowhere else.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use domain::{Contract, Customer, CustomerId, ExternalRef, Job, Site, Ticket, WorkOrder};
use serde_dynamo::aws_sdk_dynamodb_1::to_item;
use serde_dynamo::from_item;

use crate::StoreError;
use crate::customers::{Assignment, IdempotencyRecord};
use crate::keys::{self, ENTITY, Key, TenantId};
use crate::lookups;
use domain::HistoryEntry;

pub type Item = HashMap<String, AttributeValue>;

pub const CUSTOMER_ID: &str = "customerId";
pub const VERSION: &str = "version";
pub const TAG_KEYS: &str = "tagKeys";

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn keyed(key: Key, entity: &str) -> Item {
    HashMap::from([
        (keys::PK.to_owned(), s(key.pk)),
        (keys::SK.to_owned(), s(key.sk)),
        (ENTITY.to_owned(), s(entity)),
    ])
}

pub fn key_of(key: Key) -> Item {
    HashMap::from([
        (keys::PK.to_owned(), s(key.pk)),
        (keys::SK.to_owned(), s(key.sk)),
    ])
}

pub fn customer_item(tenant: &TenantId, customer: &Customer) -> Item {
    let mut item: Item = to_item(customer).expect("a customer always serialises to an item");
    item.extend(keyed(keys::customer(tenant, &customer.id), "Customer"));
    // The three list indexes sort by name, number and creation: by name in the tenant's one
    // partition, by number and creation in the customer's shard of them. The status leads
    // each sort key, so these keys are rebuilt here from the card on every write and a status
    // change moves the customer's entries.
    let (status, id) = (customer.status, &customer.id);
    let fields = &customer.fields;
    let shard = keys::customers_shard(tenant, id);
    let lists = [
        (
            keys::GSI1PK,
            keys::customers_of(tenant),
            keys::GSI1SK,
            keys::name_sort_key(status, &fields.sort_name(), id),
        ),
        (
            keys::GSI3PK,
            shard.clone(),
            keys::GSI3SK,
            keys::number_sort_key(status, &fields.customer_number, id),
        ),
        (
            keys::GSI4PK,
            shard,
            keys::GSI4SK,
            keys::created_sort_key(status, id),
        ),
    ];
    for (pk, partition, sk, sort) in lists {
        item.insert(pk.into(), s(partition));
        item.insert(sk.into(), s(sort));
    }
    // Folded tags, so the tag filter ignores case and diacritics like the name search.
    let tag_keys = customer
        .fields
        .tags
        .iter()
        .map(|t| s(domain::fold(t)))
        .collect();
    item.insert(TAG_KEYS.into(), AttributeValue::L(tag_keys));
    item
}

pub fn customer_from_item(item: impl Into<serde_dynamo::Item>) -> Result<Customer, StoreError> {
    from_item(item).map_err(StoreError::Corrupt)
}

/// The guard of the customer's number, which also carries the customer's first e-mail, phone
/// and names into the lookup indexes (`slots`, see `lookups.rs`): a small item that every
/// customer has, outside the list indexes, so the entries cost no more than themselves.
pub fn number_guard_item(tenant: &TenantId, customer: &Customer, slots: &[lookups::Entry]) -> Item {
    let mut item = keyed(
        keys::customer_number_guard(tenant, &customer.fields.customer_number),
        "CustomerNumber",
    );
    item.insert(CUSTOMER_ID.into(), s(customer.id.0.clone()));
    for entry in slots {
        entry.write_into(&mut item);
    }
    item
}

pub fn org_number_guard_item(tenant: &TenantId, identity: &str, id: &CustomerId) -> Item {
    let mut item = keyed(
        keys::organisation_number_guard(tenant, identity),
        "CustomerOrganisationNumber",
    );
    item.insert(CUSTOMER_ID.into(), s(id.0.clone()));
    item
}

pub fn external_ref_guard_item(tenant: &TenantId, external: &ExternalRef, id: &CustomerId) -> Item {
    let mut item = keyed(
        keys::external_ref_guard(tenant, external.system, &external.id),
        "CustomerExternalRef",
    );
    item.insert(CUSTOMER_ID.into(), s(id.0.clone()));
    item
}

/// A lookup value the card has no slot for, carrying its entry of the lookup index.
pub fn lookup_item(extra: &lookups::Extra, id: &CustomerId) -> Item {
    let mut item = keyed(extra.key.clone(), "CustomerLookup");
    item.insert(CUSTOMER_ID.into(), s(id.0.clone()));
    extra.entry.write_into(&mut item);
    item
}

pub fn idempotency_item(tenant: &TenantId, record: &IdempotencyRecord) -> Item {
    let mut item: Item = to_item(record).expect("an idempotency record always serialises");
    item.extend(keyed(
        keys::idempotency(tenant, &record.key),
        "IdempotencyRecord",
    ));
    item.insert(
        keys::EXPIRES_AT.into(),
        AttributeValue::N(record.expires_at.to_string()),
    );
    item
}

/// The customer's pointer at an idempotency record ([`keys::idempotency_ref`]), expiring with
/// it: `key` names the record.
pub fn idempotency_ref_item(
    tenant: &TenantId,
    customer: &CustomerId,
    record: &IdempotencyRecord,
) -> Item {
    let mut item = keyed(
        keys::idempotency_ref(tenant, customer, &record.key),
        IDEMPOTENCY_REF,
    );
    item.insert("key".into(), s(record.key.clone()));
    item.insert(
        keys::EXPIRES_AT.into(),
        AttributeValue::N(record.expires_at.to_string()),
    );
    item
}

pub const IDEMPOTENCY_REF: &str = "IdempotencyRef";

pub fn idempotency_from_item(item: Item) -> Result<IdempotencyRecord, StoreError> {
    from_item(item).map_err(StoreError::Corrupt)
}

pub fn customer_id_of(item: &Item) -> Option<CustomerId> {
    item.get(CUSTOMER_ID)
        .and_then(|v| v.as_s().ok())
        .map(|id| CustomerId(id.clone()))
}

pub fn history_item(tenant: &TenantId, id: &CustomerId, entry: &HistoryEntry) -> Item {
    let mut item: Item = to_item(entry).expect("a history entry always serialises");
    item.extend(keyed(
        keys::history(tenant, id, &entry.id),
        "CustomerHistory",
    ));
    item.insert(CUSTOMER_ID.into(), s(id.0.clone()));
    item
}

/// In the customer's partition (a profile read sees it) and in GSI1 under the user, so "my
/// customers" is one Query.
pub fn assignment_item(tenant: &TenantId, assignment: &Assignment) -> Item {
    let mut item: Item = to_item(assignment).expect("an assignment always serialises");
    let key = keys::assignment(tenant, &assignment.customer_id, &assignment.user_id);
    item.extend(keyed(key, "CustomerAssignment"));
    item.insert(
        keys::GSI1PK.into(),
        s(keys::assigned_to(tenant, &assignment.user_id)),
    );
    item.insert(keys::GSI1SK.into(), s(assignment.customer_id.0.clone()));
    item
}

pub fn site_item(tenant: &TenantId, site: &Site) -> Item {
    let mut item: Item = to_item(site).expect("a site always serialises");
    item.extend(keyed(
        keys::site(tenant, &site.customer_id, &site.id),
        "Site",
    ));
    item
}

pub fn contract_item(tenant: &TenantId, contract: &Contract) -> Item {
    let mut item: Item = to_item(contract).expect("a contract always serialises");
    item.extend(keyed(
        keys::contract(tenant, &contract.customer_id, &contract.id),
        "Contract",
    ));
    item
}

pub fn work_order_item(tenant: &TenantId, work_order: &WorkOrder) -> Item {
    let mut item: Item = to_item(work_order).expect("a work order always serialises");
    item.extend(keyed(
        keys::work_order(tenant, &work_order.customer_id, &work_order.id),
        "WorkOrder",
    ));
    item
}

pub fn job_item(tenant: &TenantId, job: &Job) -> Item {
    let mut item: Item = to_item(job).expect("a job always serialises");
    item.extend(keyed(keys::job(tenant, &job.customer_id, &job.id), "Job"));
    item.insert(
        keys::GSI4PK.into(),
        s(keys::jobs_by_start(tenant, &job.customer_id)),
    );
    item.insert(
        keys::GSI4SK.into(),
        s(keys::job_start_sort_key(&job.fields.window.start, &job.id)),
    );
    item
}

pub fn ticket_item(tenant: &TenantId, ticket: &Ticket) -> Item {
    let mut item: Item = to_item(ticket).expect("a ticket always serialises");
    item.extend(keyed(
        keys::ticket(tenant, &ticket.customer_id, &ticket.id),
        "Ticket",
    ));
    item
}

pub fn note_item(tenant: &TenantId, note: &domain::Note) -> Item {
    let mut item: Item = to_item(note).expect("a note always serialises");
    item.extend(keyed(
        keys::note(tenant, &note.customer_id, &note.id),
        "Note",
    ));
    item
}

pub fn text_item(tenant: &TenantId, customer: &CustomerId, text: &domain::TextRecord) -> Item {
    let mut item: Item = to_item(text).expect("a text record always serialises");
    item.extend(keyed(
        keys::text(tenant, customer, &text.work_order_id, &text.id),
        "Text",
    ));
    item
}

/// A stored record back as its type (sites, contracts: the key attributes are ignored).
pub fn record_from_item<T: serde::de::DeserializeOwned>(
    item: impl Into<serde_dynamo::Item>,
) -> Result<T, StoreError> {
    from_item(item).map_err(StoreError::Corrupt)
}

pub fn assignment_from_item(item: impl Into<serde_dynamo::Item>) -> Result<Assignment, StoreError> {
    from_item(item).map_err(StoreError::Corrupt)
}
