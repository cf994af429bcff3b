//! Key templates for the single table. Every partition key begins with the tenant, so one
//! tenant's reads can never reach another tenant's items.

use std::fmt;

use domain::{AccountingSystem, CustomerId, CustomerStatus};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI3: &str = "GSI3";
pub const GSI3PK: &str = "GSI3PK";
pub const GSI3SK: &str = "GSI3SK";
pub const GSI4: &str = "GSI4";
pub const GSI4PK: &str = "GSI4PK";
pub const GSI4SK: &str = "GSI4SK";
/// The lookup indexes (keys only, sparse): by e-mail, by phone, and two of names. See
/// `lookups.rs` for which items carry which.
pub const GSI5: &str = "GSI5";
pub const GSI5PK: &str = "GSI5PK";
pub const GSI5SK: &str = "GSI5SK";
pub const GSI6: &str = "GSI6";
pub const GSI6PK: &str = "GSI6PK";
pub const GSI6SK: &str = "GSI6SK";
pub const GSI7: &str = "GSI7";
pub const GSI7PK: &str = "GSI7PK";
pub const GSI7SK: &str = "GSI7SK";
pub const GSI8: &str = "GSI8";
pub const GSI8PK: &str = "GSI8PK";
pub const GSI8SK: &str = "GSI8SK";
pub const ENTITY: &str = "entity";
pub const EXPIRES_AT: &str = "expiresAt";

const CUSTOMER_SK: &str = "CUSTOMER";

/// A sort key after every key that begins with `prefix` (for a `BETWEEN` that ends with a
/// prefix's keys): the highest code point sorts after any character the keys hold.
pub fn end_of_prefix(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// Sort-key prefixes of the items that live in a customer's partition.
pub const HISTORY_PREFIX: &str = "HISTORY#";
pub const ASSIGNEE_PREFIX: &str = "ASSIGNEE#";
pub const SITE_PREFIX: &str = "SITE#";
pub const CONTRACT_PREFIX: &str = "CONTRACT#";
pub const WORK_ORDER_PREFIX: &str = "WORKORDER#";
pub const JOB_PREFIX: &str = "JOB#";
pub const TICKET_PREFIX: &str = "TICKET#";
pub const STOCK_PREFIX: &str = "STOCK#";
pub const TEXT_PREFIX: &str = "TEXT#";
pub const NOTICE_PREFIX: &str = "NOTICE#";
pub const NOTE_PREFIX: &str = "NOTE#";
const GUARD_SK: &str = "GUARD";
const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
const IMPORT_SK: &str = "IMPORT";
const BULK_CHANGE_SK: &str = "BULK";
pub const IMPORT_ERRORS_PREFIX: &str = "ERRORS#";
pub const IMPORT_LANES_PREFIX: &str = "LANE#";

/// An organisation id as it appears in keys. Only taken from verified identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    /// Tenant ids are restricted to `[A-Za-z0-9_-]{1,64}`: `#` separates key parts, so a
    /// tenant id containing it could forge another tenant's key prefix.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix every partition key of this tenant starts with.
    pub fn prefix(&self) -> String {
        format!("T#{}#", self.0)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A (PK, SK) pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

pub fn customer(tenant: &TenantId, id: &CustomerId) -> Key {
    Key {
        pk: format!("{}C#{}", tenant.prefix(), id),
        sk: CUSTOMER_SK.to_owned(),
    }
}

/// The tenant and customer of a customer item's partition key (as a stream record carries
/// it); `None` for any other key.
pub fn parse_customer_partition(pk: &str) -> Option<(TenantId, CustomerId)> {
    let rest = pk.strip_prefix("T#")?;
    let (tenant, id) = rest.split_once("#C#")?;
    let tenant = TenantId::parse(tenant)?;
    (!id.is_empty() && !id.contains('#')).then(|| (tenant, CustomerId(id.to_owned())))
}

/// The partition of a customer: the card, its history and its assignments.
pub fn customer_partition(tenant: &TenantId, id: &CustomerId) -> String {
    customer(tenant, id).pk
}

/// The items of a customer's partition that the stream's consumers read, told apart by sort
/// key (`stream.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartitionItem {
    Customer,
    Assignment,
    WorkOrder,
    Job,
    Other,
}

pub(crate) fn item_in_partition(sk: &str) -> PartitionItem {
    if sk == CUSTOMER_SK {
        PartitionItem::Customer
    } else if sk.starts_with(ASSIGNEE_PREFIX) {
        PartitionItem::Assignment
    } else if sk.starts_with(WORK_ORDER_PREFIX) {
        PartitionItem::WorkOrder
    } else if sk.starts_with(JOB_PREFIX) {
        PartitionItem::Job
    } else {
        PartitionItem::Other
    }
}

/// A history entry; ULID entry ids make the sort key chronological.
pub fn history(tenant: &TenantId, id: &CustomerId, entry_id: &str) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!("{HISTORY_PREFIX}{entry_id}"),
    }
}

/// A user's assignment to a customer.
pub fn assignment(tenant: &TenantId, id: &CustomerId, user: &str) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!("{ASSIGNEE_PREFIX}{user}"),
    }
}

/// A site of a customer, in the customer's partition; ULID site ids sort by creation.
pub fn site(tenant: &TenantId, id: &CustomerId, site_id: &str) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!("{SITE_PREFIX}{site_id}"),
    }
}

/// A contract of a customer, in the customer's partition; ULID ids sort by creation.
pub fn contract(tenant: &TenantId, id: &CustomerId, contract_id: &str) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!("{CONTRACT_PREFIX}{contract_id}"),
    }
}

/// A work order of a customer; ULID ids sort by creation.
pub fn work_order(tenant: &TenantId, id: &CustomerId, work_order_id: &str) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!("{WORK_ORDER_PREFIX}{work_order_id}"),
    }
}

/// A job (a visit) of a customer; listed by scheduled start through GSI4 ([`jobs_by_start`]).
pub fn job(tenant: &TenantId, id: &CustomerId, job_id: &str) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!("{JOB_PREFIX}{job_id}"),
    }
}

/// GSI4 partition of one customer's jobs; the sort key is [`job_start_sort_key`].
pub fn jobs_by_start(tenant: &TenantId, id: &CustomerId) -> String {
    format!("{}#JOBS", customer_partition(tenant, id))
}

/// Fixed-width UTC start, then the job id: jobs sort by when they are scheduled, and a
/// reschedule moves the job in the list (only the index entry changes).
pub fn job_start_sort_key(start: &chrono::DateTime<chrono::Utc>, job_id: &str) -> String {
    format!("{}#{job_id}", start.format("%Y-%m-%dT%H:%M:%SZ"))
}

/// A ticket of a customer; its ULID carries the ticket's time, so tickets sort by it.
pub fn ticket(tenant: &TenantId, id: &CustomerId, ticket_id: &str) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!("{TICKET_PREFIX}{ticket_id}"),
    }
}

/// A note about a customer (or one of its sites); ULIDs sort notes by when they were written.
pub fn note(tenant: &TenantId, id: &CustomerId, note_id: &str) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!("{NOTE_PREFIX}{note_id}"),
    }
}

/// One line of a customer's inventory: site, unit, then the material last (it may hold any
/// character; site ids and units hold no `#`).
pub fn stock_line(tenant: &TenantId, id: &CustomerId, line: &domain::StockKey) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!(
            "{STOCK_PREFIX}{}#{}#{}",
            line.site_id, line.unit, line.material
        ),
    }
}

/// The record of one text to the customer about a work order's visit; `text_key` is
/// `domain::text_key`. A work order's texts are the prefix `TEXT#<work order id>#`.
pub fn text(tenant: &TenantId, id: &CustomerId, work_order_id: &str, text_key: &str) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!("{}{text_key}", texts_of(work_order_id)),
    }
}

pub fn texts_of(work_order_id: &str) -> String {
    format!("{TEXT_PREFIX}{work_order_id}#")
}

/// The record that one notification to a technician was published: the stream record's
/// sequence number and the technician.
pub fn notice(tenant: &TenantId, id: &CustomerId, sequence: &str, user: &str) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!("{NOTICE_PREFIX}{sequence}#{user}"),
    }
}

/// GSI1 partition of the customers assigned to one user.
pub fn assigned_to(tenant: &TenantId, user: &str) -> String {
    format!("{}ASSIGNED#{user}", tenant.prefix())
}

/// The guard item that makes a customer number unique within a tenant. Numbers are compared
/// case-insensitively ("ab-1" and "AB-1" are the same number in accounting systems).
pub fn customer_number_guard(tenant: &TenantId, number: &str) -> Key {
    Key {
        pk: format!("{}CUSTNO#{}", tenant.prefix(), number.to_uppercase()),
        sk: GUARD_SK.to_owned(),
    }
}

/// The guard item that makes an organisation number unique within a tenant. `identity` is
/// `domain::OrgNumber::identity` (country and national number, so that a VAT number and the
/// national number it is built from are one), upper case, and the last key part.
pub fn organisation_number_guard(tenant: &TenantId, identity: &str) -> Key {
    Key {
        pk: format!("{}ORGNO#{identity}", tenant.prefix()),
        sk: GUARD_SK.to_owned(),
    }
}

/// The guard item that makes an accounting system's id unique within a tenant: the id is how
/// an import from that system finds the customer again. Compared ignoring case, like numbers
/// (QuickBooks display names are unique regardless of case). The id is the last key part, so
/// a `#` in it cannot reach another key.
pub fn external_ref_guard(tenant: &TenantId, system: AccountingSystem, id: &str) -> Key {
    Key {
        pk: format!(
            "{}EXTREF#{}#{}",
            tenant.prefix(),
            system_name(system),
            id.to_uppercase()
        ),
        sk: GUARD_SK.to_owned(),
    }
}

fn system_name(system: AccountingSystem) -> &'static str {
    match system {
        AccountingSystem::Quickbooks => "QUICKBOOKS",
        AccountingSystem::Sage => "SAGE",
        AccountingSystem::Visma => "VISMA",
        AccountingSystem::Other => "OTHER",
    }
}

/// An import: its progress record, and beside it (same partition) the chunks of its error
/// report. Import ids are ULIDs.
pub fn import(tenant: &TenantId, import_id: &str) -> Key {
    Key {
        pk: import_partition(tenant, import_id),
        sk: IMPORT_SK.to_owned(),
    }
}

pub fn import_partition(tenant: &TenantId, import_id: &str) -> String {
    format!("{}IMPORT#{import_id}", tenant.prefix())
}

/// One chunk of an import's row errors, sorted by the line the chunk starts at.
pub fn import_errors(tenant: &TenantId, import_id: &str, first_line: u64) -> Key {
    Key {
        pk: import_partition(tenant, import_id),
        sk: format!("{IMPORT_ERRORS_PREFIX}{first_line:012}"),
    }
}

/// One of an import's lanes (see `imports::IMPORT_LANES`): it fences the transactions in
/// flight to the invocation that owns the import and names the block of rows written last.
pub fn import_lane(tenant: &TenantId, import_id: &str, lane: usize) -> Key {
    Key {
        pk: import_partition(tenant, import_id),
        sk: format!("{IMPORT_LANES_PREFIX}{lane:03}"),
    }
}

/// A customer export's record. Export ids are ULIDs.
pub fn export(tenant: &TenantId, export_id: &str) -> Key {
    Key {
        pk: format!("{}EXPORT#{export_id}", tenant.prefix()),
        sk: EXPORT_SK.to_owned(),
    }
}

const EXPORT_SK: &str = "EXPORT";

/// GSI1 partition of a tenant's exports, sorted by export id (ULIDs: by time).
pub fn exports_of(tenant: &TenantId) -> String {
    format!("{}EXPORTS", tenant.prefix())
}

/// GSI1 partition of a tenant's imports, sorted by import id (ULIDs: by time).
pub fn imports_of(tenant: &TenantId) -> String {
    format!("{}IMPORTS", tenant.prefix())
}

/// A bulk change (docs/bulk-changes.md): its own partition, ids are ULIDs.
pub fn bulk_change(tenant: &TenantId, bulk_change_id: &str) -> Key {
    Key {
        pk: format!("{}BULK#{bulk_change_id}", tenant.prefix()),
        sk: BULK_CHANGE_SK.to_owned(),
    }
}

/// GSI1 partition of a tenant's bulk changes, sorted by id (ULIDs: by time).
pub fn bulk_changes_of(tenant: &TenantId) -> String {
    format!("{}BULKCHANGES", tenant.prefix())
}

/// The tenant and id of a bulk change's key, if `pk` and `sk` are one.
pub fn parse_bulk_change(pk: &str, sk: &str) -> Option<(TenantId, String)> {
    if sk != BULK_CHANGE_SK {
        return None;
    }
    let rest = pk.strip_prefix("T#")?;
    let (tenant, id) = rest.split_once("#BULK#")?;
    Some((TenantId::parse(tenant)?, id.to_owned()))
}

pub const SLOT_PREFIX: &str = "SLOT#";

/// The partition of an organisation's import slots (see `slots`): a few small items.
pub fn import_slots_of(tenant: &TenantId) -> String {
    format!("{}IMPORTSLOTS", tenant.prefix())
}

/// One of an organisation's import slots.
pub fn import_slot(tenant: &TenantId, number: u32) -> Key {
    Key {
        pk: import_slots_of(tenant),
        sk: format!("{SLOT_PREFIX}{number}"),
    }
}

/// The guard that makes one delivery of one S3 object start one import: `digest` identifies
/// the object version (key, ETag and S3's sequencer).
pub fn import_delivery(tenant: &TenantId, digest: &str) -> Key {
    Key {
        pk: format!("{}IMPORTOBJ#{digest}", tenant.prefix()),
        sk: GUARD_SK.to_owned(),
    }
}

/// Files that named no tenant (or an invalid one) are recorded here for operators, outside
/// every tenant's keys: no API request can build a key without the `T#<tenant>#` prefix.
pub fn rejected_import(day: &str, object_key: &str) -> Key {
    Key {
        pk: format!("SYSTEM#REJECTED_IMPORTS#{day}"),
        sk: object_key.to_owned(),
    }
}

/// Exact lookups: one index partition per e-mail address or phone number, one entry per
/// customer that carries it. A value the card has no slot for is an item of its own at the
/// same key (see `lookups.rs`).
pub fn email_lookup(tenant: &TenantId, email: &str, id: &CustomerId) -> Key {
    Key {
        pk: email_lookup_partition(tenant, email),
        sk: lookup_sort_key(id),
    }
}

pub fn email_lookup_partition(tenant: &TenantId, email: &str) -> String {
    format!("{}EMAIL#{}", tenant.prefix(), email.to_lowercase())
}

pub fn phone_lookup(tenant: &TenantId, phone: &str, id: &CustomerId) -> Key {
    Key {
        pk: phone_lookup_partition(tenant, phone),
        sk: lookup_sort_key(id),
    }
}

pub fn phone_lookup_partition(tenant: &TenantId, phone: &str) -> String {
    format!("{}PHONE#{}", tenant.prefix(), phone)
}

fn lookup_sort_key(id: &CustomerId) -> String {
    format!("C#{id}")
}

/// The customer a lookup or name entry's sort key names: every such key ends with `#<id>`.
pub fn customer_of_entry(sort_key: &str) -> Option<CustomerId> {
    let (_, id) = sort_key.rsplit_once('#')?;
    (!id.is_empty()).then(|| CustomerId(id.to_owned()))
}

/// How many table partitions hold the name items of a tenant (the names its cards have no
/// slot for: companies' contacts, mostly). Each is 2 write units in its transaction and a
/// partition takes about 1 000 units a second; four spread an import of such customers so
/// that the names keep pace with the list indexes (docs/data-model.md, Scale envelope).
pub const NAME_SHARDS: u32 = 4;

/// The table partition of a name item: the shard of its customer ([`name_shard`]).
pub fn name_item_partition(tenant: &TenantId, shard: u32) -> String {
    format!("{}NAMES#{shard}", tenant.prefix())
}

/// The name indexes' partition of a tenant: every name entry, whether a card or a name item
/// carries it. Index entries cost one unit each (keys only), so one partition per index takes
/// about 1 000 new customers a second, the list indexes' own ceiling.
pub fn names_partition(tenant: &TenantId) -> String {
    format!("{}NAMES", tenant.prefix())
}

/// The shard of a customer's name items ([`shard_of`]).
pub fn name_shard(id: &CustomerId) -> u32 {
    shard_of(id, NAME_SHARDS)
}

/// A customer's shard of `shards`: FNV-1a of its id, which stays the same for ever (its items
/// are found again by it when they change), unlike std's hasher.
fn shard_of(id: &CustomerId, shards: u32) -> u32 {
    let hash = id.0.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    hash % shards
}

/// A name item's key in the table (its index entry is [`names_partition`] and the same sort
/// key).
pub fn name_entry(tenant: &TenantId, folded_name: &str, id: &CustomerId) -> Key {
    Key {
        pk: name_item_partition(tenant, name_shard(id)),
        sk: name_entry_sort_key(folded_name, id),
    }
}

/// A name entry's sort key, in the table and in the name indexes: the name, cut, and the id.
pub fn name_entry_sort_key(folded_name: &str, id: &CustomerId) -> String {
    format!("{}#{id}", key_part(folded_name))
}

/// Sort keys stop at 1024 bytes, and folding can grow a name (NFKD expands some characters
/// many times over). Names in keys are cut at 900 bytes on a character boundary: far past
/// anything a prefix search types, and the id after it keeps the key unique.
const NAME_KEY_BYTES: usize = 900;

/// A name search's prefix (folded) as it is compared with the name entries' sort keys: cut
/// like the names in them. Folding can grow a typed prefix past the sort key limit, and a
/// prefix longer than the cut names matches the same entries when cut the same way.
pub fn name_prefix(folded_prefix: &str) -> &str {
    key_part(folded_prefix)
}

fn key_part(name: &str) -> &str {
    if name.len() <= NAME_KEY_BYTES {
        return name;
    }
    let mut end = NAME_KEY_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

pub fn idempotency(tenant: &TenantId, key: &str) -> Key {
    Key {
        pk: format!("{}IDEM#{}", tenant.prefix(), key),
        sk: IDEMPOTENCY_SK.to_owned(),
    }
}

/// Where a customer's partition points at an idempotency record of a request about the
/// customer (its stored answer holds the customer's data), so that erasure finds it.
pub fn idempotency_ref(tenant: &TenantId, id: &CustomerId, key: &str) -> Key {
    Key {
        pk: customer_partition(tenant, id),
        sk: format!("IDEMREF#{key}"),
    }
}

/// The organisation's customer settings: one item per tenant.
pub fn settings(tenant: &TenantId) -> Key {
    Key {
        pk: format!("{}SETTINGS", tenant.prefix()),
        sk: "SETTINGS".to_owned(),
    }
}

/// The counter behind generated customer numbers.
/// The organisation's texts counted on one of its days (its own date, `Settings::today`); the
/// day's per-number counters share the partition ([`sms_number_day`]).
pub fn sms_day(tenant: &TenantId, day: chrono::NaiveDate) -> Key {
    Key {
        pk: format!("{}SMSDAY#{day}", tenant.prefix()),
        sk: "ORGANISATION".to_owned(),
    }
}

/// The texts to one number on one of the organisation's days. The number is not in the key:
/// a hash of it, scoped to the organisation ([`number_tag`]).
pub fn sms_number_day(tenant: &TenantId, day: chrono::NaiveDate, number: &str) -> Key {
    Key {
        pk: sms_day(tenant, day).pk,
        sk: format!("NUMBER#{}", number_tag(tenant, number)),
    }
}

/// The texts of one job for one trigger (all its versions).
pub fn sms_job(tenant: &TenantId, job_id: &str, trigger: &str) -> Key {
    Key {
        pk: format!("{}SMSJOB#{job_id}", tenant.prefix()),
        sk: trigger.to_owned(),
    }
}

/// A phone number as keys may carry it: SHA-256 of the organisation and the number, so a key
/// (and every log line or metric that names one) shows no personal data, and the same number
/// in two organisations gives two unrelated tags.
pub fn number_tag(tenant: &TenantId, number: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"sms-number\0")
        .chain_update(tenant.as_str().as_bytes())
        .chain_update(b"\0")
        .chain_update(number.as_bytes())
        .finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..18])
}

pub fn number_counter(tenant: &TenantId) -> Key {
    Key {
        pk: format!("{}COUNTER", tenant.prefix()),
        sk: "CUSTOMER_NUMBER".to_owned(),
    }
}

/// The partition of every customer of a tenant in the list by name (GSI1), and the one a
/// list's cursor names whatever its index. Each list sort key starts with the customer's
/// status ([`list_status_prefix`]), so the list of one status by name is one `begins_with`
/// Query.
pub fn customers_of(tenant: &TenantId) -> String {
    format!("{}CUSTOMERS", tenant.prefix())
}

/// How many partitions the lists by number (GSI3) and by creation (GSI4) spread a tenant's
/// customers over. Their sort keys grow as customers arrive (ULIDs always, numbers as an
/// import's rows do), so every new customer lands at the end of the range, where DynamoDB
/// cannot split a partition for heat: one partition would take about 1 000 new customers a
/// second, four take about 4 000 (docs/data-model.md, Scale envelope). The list by name needs
/// none: names arrive in no order, and DynamoDB splits its partition by sort-key range.
pub const LIST_SHARDS: u32 = 4;

/// A customer's partition in the lists by number and by creation ([`LIST_SHARDS`]).
pub fn customers_shard(tenant: &TenantId, id: &CustomerId) -> String {
    list_shard_partition(tenant, shard_of(id, LIST_SHARDS))
}

/// Every partition of a tenant's lists by number and by creation.
pub fn customer_shards(tenant: &TenantId) -> Vec<String> {
    (0..LIST_SHARDS)
        .map(|shard| list_shard_partition(tenant, shard))
        .collect()
}

fn list_shard_partition(tenant: &TenantId, shard: u32) -> String {
    format!("{}#{shard}", customers_of(tenant))
}

/// The first part of a customer's sort key in every list index: its status. A status change
/// moves the customer's entries (the card is put whole, and its keys are rebuilt from it in
/// `items::customer_item`).
pub fn list_status_prefix(status: CustomerStatus) -> String {
    format!("{}#", status.as_str())
}

/// GSI1: status, folded name, then id so that equal names keep a stable order.
pub fn name_sort_key(status: CustomerStatus, sort_name: &str, id: &CustomerId) -> String {
    format!("{}{}#{id}", list_status_prefix(status), key_part(sort_name))
}

/// GSI3: status, the number in [`number_order`], then id.
pub fn number_sort_key(status: CustomerStatus, number: &str, id: &CustomerId) -> String {
    format!(
        "{}{}#{id}",
        list_status_prefix(status),
        number_order(number)
    )
}

/// GSI4: status, then the id (ULIDs sort by creation time).
pub fn created_sort_key(status: CustomerStatus, id: &CustomerId) -> String {
    format!("{}{id}", list_status_prefix(status))
}

/// Where a list sort key stands in its list, without the status: the same place in the list
/// of either status (what a cursor of the list of every status holds).
pub fn list_position(sort_key: &str) -> Option<&str> {
    sort_key.split_once('#').map(|(_, position)| position)
}

/// The customer a list position belongs to: its id is the last key part (GSI4's whole
/// position), and ids hold no `#`.
pub fn customer_at(position: &str) -> CustomerId {
    CustomerId(position.rsplit('#').next().unwrap_or(position).to_owned())
}

/// Customer numbers in the order people expect: case ignored, and every run of digits
/// compared as a number, wherever it stands (`2` before `10`, `A2` before `A10` before `B1`,
/// `C-0009` before `C-10`). A run of digits is written as its length in two digits, then its
/// digits without leading zeros: comparing the text then compares the numbers, and a run
/// still sorts against any other character as a digit does (after `-`, `.` and `/`, before
/// letters). Leading zeros do not count (`007` sorts with `7`, the id decides between them).
/// Numbers are at most 30 characters, so two digits hold any run's length.
pub fn number_order(number: &str) -> String {
    let mut out = String::with_capacity(number.len() + 4);
    let mut chars = number.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_ascii_digit() {
            out.extend(c.to_uppercase());
            continue;
        }
        let mut run = String::from(c);
        while let Some(digit) = chars.next_if(char::is_ascii_digit) {
            run.push(digit);
        }
        let significant = match run.trim_start_matches('0') {
            "" => "0",
            digits => digits,
        };
        debug_assert!(significant.len() < 100, "numbers are at most 30 characters");
        out.push_str(&format!("{:02}{significant}", significant.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_counters_carry_no_phone_number_and_differ_per_organisation() {
        let (acme, other) = (
            TenantId::parse("acme").unwrap(),
            TenantId::parse("other").unwrap(),
        );
        let day = "2026-12-03".parse().unwrap();
        let key = sms_number_day(&acme, day, "+46701234567");
        assert_eq!(key.pk, "T#acme#SMSDAY#2026-12-03");
        assert!(key.sk.starts_with("NUMBER#"));
        assert!(!key.sk.contains("1234567"), "{key:?}");
        assert_eq!(key, sms_number_day(&acme, day, "+46701234567"), "stable");
        assert_ne!(key.sk, sms_number_day(&other, day, "+46701234567").sk);
        assert_ne!(key.sk, sms_number_day(&acme, day, "+46701234568").sk);
        assert_eq!(
            sms_day(&acme, day).pk,
            key.pk,
            "one partition per organisation and day"
        );
    }

    #[test]
    fn tenant_ids_that_could_forge_a_key_prefix_are_refused() {
        assert!(TenantId::parse("acme-1_x").is_some());
        assert!(TenantId::parse("").is_none());
        assert!(TenantId::parse("acme#C").is_none());
        assert!(TenantId::parse("ac me").is_none());
        assert!(TenantId::parse(&"a".repeat(65)).is_none());
    }

    #[test]
    fn every_key_begins_with_the_tenant() {
        let t = TenantId::parse("acme").unwrap();
        let id = CustomerId("01J".into());
        for pk in [
            customer(&t, &id).pk,
            customer_number_guard(&t, "10").pk,
            email_lookup(&t, "a@b.se", &id).pk,
            phone_lookup(&t, "+46701234567", &id).pk,
            idempotency(&t, "k").pk,
            external_ref_guard(&t, AccountingSystem::Sage, "A#1").pk,
            import(&t, "01J").pk,
            site(&t, &id, "01S").pk,
            contract(&t, &id, "01K").pk,
            import_errors(&t, "01J", 2).pk,
            imports_of(&t),
            import_delivery(&t, "ab").pk,
            customers_of(&t),
        ] {
            assert!(pk.starts_with("T#acme#"), "{pk}");
        }
    }

    #[test]
    fn names_that_fold_into_long_keys_are_cut_on_a_character_boundary() {
        let id = CustomerId("01J".into());
        let long = "漢".repeat(400);
        let key = name_sort_key(CustomerStatus::Inactive, &long, &id);
        assert!(key.len() <= "inactive#".len() + NAME_KEY_BYTES + 1 + id.0.len());
        assert!(key.ends_with("#01J"));
        let t = TenantId::parse("acme").unwrap();
        assert!(name_entry(&t, &long, &id).sk.len() < 1024);
    }

    #[test]
    fn a_customers_names_share_one_shard_and_customers_spread_over_all() {
        let t = TenantId::parse("acme").unwrap();
        let id = CustomerId("01JD5Q1Z8X3V7N2K4M6P9R0S1T".into());
        assert_eq!(
            name_entry(&t, "berg anna", &id).pk,
            name_entry(&t, "anna berg", &id).pk
        );
        // Fixed for ever: entries are deleted under the shard they were written to, so the
        // hash may never change (these are FNV-1a's values, worked out apart from this code).
        assert_eq!(name_shard(&id), 3_892_986_296 % NAME_SHARDS);
        assert_eq!(
            name_shard(&CustomerId("01JD5Q1Z8X3V7N2K4M6P9R0S1V".into())),
            3_926_541_534 % NAME_SHARDS
        );
        assert_eq!(name_entry(&t, "anna berg", &id).pk, "T#acme#NAMES#0");
        let mut counts = [0_u32; NAME_SHARDS as usize];
        for _ in 0..4_000 {
            counts[name_shard(&CustomerId::new()) as usize] += 1;
        }
        for count in counts {
            assert!((800..1_200).contains(&count), "{counts:?}");
        }
        assert_eq!(names_partition(&t), "T#acme#NAMES");
    }

    #[test]
    fn an_entrys_sort_key_names_its_customer() {
        let t = TenantId::parse("acme").unwrap();
        let id = CustomerId("01JD5Q1Z8X3V7N2K4M6P9R0S1T".into());
        for key in [
            email_lookup(&t, "Anna@Example.com", &id),
            phone_lookup(&t, "+46701234567", &id),
            name_entry(&t, "berg # anna", &id),
        ] {
            assert_eq!(customer_of_entry(&key.sk), Some(id.clone()), "{key:?}");
        }
        assert_eq!(customer_of_entry("no separator"), None);
        assert_eq!(customer_of_entry("ends with#"), None);
    }

    #[test]
    fn a_customer_partition_reads_back_as_tenant_and_id() {
        let t = TenantId::parse("acme").unwrap();
        let id = CustomerId("01J".into());
        let (tenant, customer) = parse_customer_partition(&customer_partition(&t, &id)).unwrap();
        assert_eq!((tenant, customer), (t.clone(), id));
        assert!(parse_customer_partition(&customers_of(&t)).is_none());
        assert!(parse_customer_partition("T#acme#IMPORT#01J").is_none());
        assert!(parse_customer_partition("T#ac me#C#01J").is_none());
    }

    #[test]
    fn numbers_sort_with_their_digit_runs_as_numbers() {
        let id = CustomerId("01J".into());
        let sorted = [
            "0", "1", "2", "007", "9", "10", "99", "100", "a1", "A2", "a10", "A10b", "B1",
            "C-0009", "C-10", "X9.2", "X9.10", "X10.1",
        ];
        let mut shuffled = sorted.to_vec();
        shuffled.reverse();
        shuffled.sort_by_key(|n| number_sort_key(CustomerStatus::Active, n, &id));
        assert_eq!(shuffled, sorted);
    }

    /// The order people expect, written out the slow way: split into runs of digits (compared
    /// as numbers) and single other characters (compared upper-cased); a run of digits stands
    /// against another character as its first digit would.
    fn natural(a: &str, b: &str) -> std::cmp::Ordering {
        #[derive(PartialEq, Eq, PartialOrd, Ord)]
        enum Part {
            Char(char),
            Number(usize, String),
        }
        fn parts(s: &str) -> Vec<Part> {
            let mut out = Vec::new();
            let mut digits = String::new();
            for c in s.chars().chain(std::iter::once('\0')) {
                if c.is_ascii_digit() {
                    digits.push(c);
                    continue;
                }
                if !digits.is_empty() {
                    let n = digits.trim_start_matches('0');
                    let n = if n.is_empty() { "0" } else { n };
                    out.push(Part::Number(n.len(), n.to_owned()));
                    digits.clear();
                }
                if c != '\0' {
                    out.push(Part::Char(c.to_ascii_uppercase()));
                }
            }
            out
        }
        let key = |p: &Part| match p {
            Part::Char(c) => (*c, 0, String::new()),
            Part::Number(len, n) => ('0', *len, n.clone()),
        };
        let (a, b) = (parts(a), parts(b));
        a.iter().map(key).cmp(b.iter().map(key))
    }

    #[test]
    fn the_number_order_is_the_natural_order_for_every_short_number() {
        // Every number of up to four characters over digits, letters of both cases and the
        // punctuation around the digits in ASCII: the encoding must order them exactly as
        // `natural` does (equal where it says equal).
        let alphabet = ['0', '1', '2', '9', 'a', 'B', '-', '/', ':', '_'];
        let mut numbers = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            numbers.extend(last.iter().cloned());
        }
        numbers.sort_by(|a, b| natural(a, b));
        for pair in numbers.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let expected = natural(a, b);
            assert_eq!(
                number_order(a).cmp(&number_order(b)),
                expected,
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn list_keys_start_with_the_status_and_share_a_position() {
        let id = CustomerId("01J".into());
        let active = name_sort_key(CustomerStatus::Active, "anna#1", &id);
        let inactive = name_sort_key(CustomerStatus::Inactive, "anna#1", &id);
        assert!(active.starts_with(&list_status_prefix(CustomerStatus::Active)));
        assert!(inactive.starts_with(&list_status_prefix(CustomerStatus::Inactive)));
        assert_eq!(list_position(&active), list_position(&inactive));
        assert_eq!(list_position(&active), Some("anna#1#01J"));
        for key in [
            active,
            number_sort_key(CustomerStatus::Active, "A-1", &id),
            created_sort_key(CustomerStatus::Inactive, &id),
        ] {
            assert_eq!(customer_at(list_position(&key).unwrap()), id, "{key}");
        }
    }

    #[test]
    fn customer_numbers_are_unique_regardless_of_case() {
        let t = TenantId::parse("acme").unwrap();
        assert_eq!(
            customer_number_guard(&t, "ab-1"),
            customer_number_guard(&t, "AB-1")
        );
    }
}
