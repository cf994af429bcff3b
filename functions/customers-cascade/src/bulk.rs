//! Bulk changes (docs/bulk-changes.md): the insert of a bulk-change record on the table's
//! stream (or our own continuation message) starts this worker, which applies the change a
//! page of customers at a time. Each customer is judged by the domain's one rule for the
//! change ([`domain::CardChange`]: the permission, the requester's reach, what the change does
//! to the card) with the roles the requester had when asking; each page's changed customers
//! (with their history entries and assignment records) and the record's progress are written
//! in one transaction, on condition of the versions read. A redelivered page finds the record
//! moved on and writes nothing; a change already in place writes nothing either. When the
//! time or page budget is spent, the rest goes through the cascade queue.
//!
//! A deactivation written here is the same change of the card as the API's, so the
//! deactivation cascade follows it through the stream like any other.

use std::time::Instant;

use chrono::Utc;
use domain::{CardChange, Customer, CustomerId, Grants, HistoryEntry, NotChanged, Reach};
use store::{
    BulkChangeRecord, BulkStatus, CardWrite, Companion, PageError, RefusalReason, Selection,
};

use crate::event::{self, BulkWork};
use crate::{App, CascadeFailure, FUNCTION, HANDOVER_TIME, PAGE_ATTEMPTS};

/// Customers judged and written per transaction (each writes up to three items).
pub const DEFAULT_PAGE_SIZE: usize = 25;

/// Works on the bulk change from where its record stands until it is completed or the
/// invocation's budget is spent. Delivered by the table's stream (`from_stream`), whose shard
/// waits for this invocation (other customers' deactivation cascades among its records), it
/// writes one page, so that progress shows at once, and hands the rest to the queue.
pub async fn run(
    app: &App,
    work: &BulkWork,
    deadline: Instant,
    from_stream: bool,
) -> Result<(), CascadeFailure> {
    let budget = if from_stream {
        Some(1)
    } else {
        app.pages_per_invocation
    };
    let mut pages = 0;
    loop {
        let Some(record) = app.store.bulk_change(&work.tenant, &work.id).await? else {
            tracing::warn!(bulk_change = %work.id, "no such bulk change; nothing to do");
            return Ok(());
        };
        if record.status == BulkStatus::Completed {
            tracing::info!(bulk_change = %work.id, "bulk change complete");
            return Ok(());
        }
        let out_of_pages = budget.is_some_and(|n| pages >= n);
        if out_of_pages || Instant::now() + HANDOVER_TIME >= deadline {
            return hand_over(app, work).await;
        }
        write_page(app, work, record).await?;
        pages += 1;
    }
}

/// The customers of one page as read: found, or the id that named none.
type Read = Vec<Result<Customer, CustomerId>>;

/// Judges and writes the page the record's cursor points at. Customers that changed since
/// they were read make the page be read again; on the last attempt they are refused as a
/// conflict. A record that moved on (another delivery wrote the page) is left to the caller's
/// next read.
async fn write_page(
    app: &App,
    work: &BulkWork,
    record: BulkChangeRecord,
) -> Result<(), CascadeFailure> {
    let mut conflicted: Vec<CustomerId> = Vec::new();
    for attempt in 1..=PAGE_ATTEMPTS {
        let (read, cursor) = read_page(app, work, &record).await?;
        let (next, writes) = judged(&record, read, cursor, &conflicted);
        match app
            .store
            .commit_bulk_page(&work.tenant, &next, &writes)
            .await
        {
            Ok(()) => {
                count_changed(work, writes.len());
                return Ok(());
            }
            Err(PageError::Moved) => return Ok(()),
            Err(PageError::Changed(failed)) if attempt + 1 < PAGE_ATTEMPTS => {
                tracing::info!(bulk_change = %work.id, changed = failed.len(), "customers changed meanwhile; page read again");
            }
            Err(PageError::Changed(failed)) => {
                conflicted.extend(failed.iter().map(|&i| writes[i].before.id.clone()));
            }
            Err(PageError::Store(e)) => return Err(e.into()),
        }
    }
    Err(CascadeFailure::Retry(
        "the customers of a bulk change's page kept changing".into(),
    ))
}

/// The page the record's cursor points at, and the cursor of the page after it (none after
/// the last): a slice of the ids, or a page of the filtered list.
async fn read_page(
    app: &App,
    work: &BulkWork,
    record: &BulkChangeRecord,
) -> Result<(Read, Option<String>), CascadeFailure> {
    let size = app.bulk_page_size;
    match &record.selection {
        Selection::Ids(ids) => {
            let from: usize = record
                .cursor
                .as_deref()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0)
                .min(ids.len());
            let to = (from + size).min(ids.len());
            let wanted = &ids[from..to];
            let found = app.store.customers(&work.tenant, wanted).await?;
            let read = wanted
                .iter()
                .map(|id| {
                    found
                        .iter()
                        .find(|c| &c.id == id)
                        .cloned()
                        .ok_or_else(|| id.clone())
                })
                .collect();
            Ok((read, (to < ids.len()).then(|| to.to_string())))
        }
        Selection::Filter(filter) => {
            let query = filter.query(size as i32, record.cursor.clone());
            // The selection is what a list would show the requester: their own customers
            // when they see only those.
            let reach = Grants::of_roles(&record.roles)
                .view_reach()
                .unwrap_or(Reach::Assigned);
            let assignee = reach.listed_assignee(&record.requested_by, filter.assigned_to.clone());
            let page = app
                .store
                .list_of(&work.tenant, &query, assignee.as_deref())
                .await?;
            Ok((page.items.into_iter().map(Ok).collect(), page.next_cursor))
        }
    }
}

/// The record after a page (counts, refused customers, cursor, status) and the card writes of
/// the page. `conflicted`: customers that kept changing, refused rather than tried again.
pub fn judged(
    record: &BulkChangeRecord,
    read: Read,
    cursor: Option<String>,
    conflicted: &[CustomerId],
) -> (BulkChangeRecord, Vec<CardWrite>) {
    let now = Utc::now();
    let mut next = record.clone();
    next.version += 1;
    next.pages += 1;
    next.started_at.get_or_insert(now);
    if matches!(record.selection, Selection::Filter(_)) {
        next.totals.selected += read.len() as u64;
    }
    let grants = Grants::of_roles(&record.roles);
    let reach = record.change.reach(&grants);
    let mut writes = Vec::new();
    for customer in read {
        let before = match customer {
            Ok(customer) => customer,
            Err(id) => {
                next.refuse(id, RefusalReason::NotFound);
                continue;
            }
        };
        let Ok(reach) = reach else {
            next.refuse(before.id, RefusalReason::Forbidden);
            continue;
        };
        if conflicted.contains(&before.id) {
            next.refuse(before.id, RefusalReason::Conflict);
            continue;
        }
        match changed(
            &record.change,
            reach,
            &grants,
            &record.requested_by,
            &before,
            now,
        ) {
            Ok(after) => {
                next.totals.changed += 1;
                writes.push(CardWrite {
                    history: HistoryEntry::of(record.change.kind(), Some(&before), &after),
                    companion: Companion::of_change(&record.change, &record.requested_by, now),
                    before,
                    after,
                });
            }
            Err(None) => next.totals.unchanged += 1,
            Err(Some(reason)) => next.refuse(before.id, reason),
        }
    }
    next.cursor = cursor;
    next.status = BulkStatus::Running;
    if next.cursor.is_none() {
        next.status = BulkStatus::Completed;
        next.finished_at = Some(now);
    }
    (next, writes)
}

/// The card after the change, by the requester at `now`; `Err(None)` when it is already as
/// asked, else why it is refused.
fn changed(
    change: &CardChange,
    reach: Reach,
    grants: &Grants,
    user: &str,
    before: &Customer,
    now: chrono::DateTime<Utc>,
) -> Result<Customer, Option<RefusalReason>> {
    let mut after =
        change
            .decide(reach, user, before)
            .map_err(|not_changed| match not_changed {
                NotChanged::AlreadyDone => None,
                NotChanged::OutOfReach => Some(RefusalReason::OutOfReach),
                NotChanged::TooManyTags => Some(RefusalReason::TooManyTags),
            })?;
    // The fields with a permission of their own, judged as for every change of a card.
    domain::refused_change(grants, before, &after).map_err(|_| Some(RefusalReason::Forbidden))?;
    after.version = before.version + 1;
    after.updated_at = now;
    after.updated_by = user.to_owned();
    Ok(after)
}

fn count_changed(work: &BulkWork, changed: usize) {
    if changed == 0 {
        return;
    }
    kit::metrics::Metrics::new(FUNCTION)
        .count("BulkChangeCustomersChanged", changed as u64)
        .property("tenant", work.tenant.as_str())
        .emit();
}

async fn hand_over(app: &App, work: &BulkWork) -> Result<(), CascadeFailure> {
    app.queue
        .send(&event::bulk_continuation_body(work))
        .await
        .map_err(|e| CascadeFailure::Retry(format!("queueing the continuation: {e}")))?;
    tracing::info!(bulk_change = %work.id, "bulk change continues in a new invocation");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{BulkTotals, RefusedCustomer};

    fn customer(number: &str, assignees: &[&str]) -> Customer {
        let input: domain::CustomerInput = serde_json::from_value(
            serde_json::json!({"customerNumber": number, "companyName": "Acme"}),
        )
        .unwrap();
        let fields = domain::validate_customer(input, &Default::default()).unwrap();
        let mut customer = Customer::new(fields, "ada", Utc::now());
        customer.assignees = assignees.iter().map(|a| a.to_string()).collect();
        customer
    }

    fn record(change: CardChange, roles: &[&str], ids: &[&Customer]) -> BulkChangeRecord {
        BulkChangeRecord {
            id: "01J".into(),
            status: BulkStatus::Queued,
            selection: Selection::Ids(ids.iter().map(|c| c.id.clone()).collect()),
            change,
            requested_by: "tom".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            created_at: Utc::now(),
            started_at: None,
            finished_at: None,
            totals: BulkTotals {
                selected: ids.len() as u64,
                ..BulkTotals::default()
            },
            refused: Vec::new(),
            cursor: None,
            pages: 0,
            version: 1,
        }
    }

    #[test]
    fn a_technicians_page_changes_their_customers_and_refuses_the_rest() {
        let (mine, theirs) = (customer("1", &["tom"]), customer("2", &[]));
        let tagged = {
            let mut c = customer("3", &["tom"]);
            c.fields.tags.push("vip".into());
            c
        };
        let missing = CustomerId("01J8ZQ4N6X3M2S7K9V5T1B0C8D".into());
        let change = CardChange::AddTag("vip".into());
        let record = record(change, &["technician"], &[&mine, &theirs, &tagged]);
        let read = vec![
            Ok(mine.clone()),
            Ok(theirs.clone()),
            Ok(tagged),
            Err(missing.clone()),
        ];
        let (next, writes) = judged(&record, read, Some("3".into()), &[]);
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].after.version, mine.version + 1);
        assert_eq!(writes[0].after.updated_by, "tom");
        assert_eq!(writes[0].history.by, "tom");
        assert_eq!(
            (
                next.totals.changed,
                next.totals.unchanged,
                next.totals.refused
            ),
            (1, 1, 2)
        );
        assert_eq!(
            next.refused,
            [
                RefusedCustomer {
                    customer_id: theirs.id,
                    reason: RefusalReason::OutOfReach
                },
                RefusedCustomer {
                    customer_id: missing,
                    reason: RefusalReason::NotFound
                },
            ]
        );
        assert_eq!(
            (next.status, next.version, next.pages),
            (BulkStatus::Running, 2, 1)
        );
    }

    #[test]
    fn the_last_page_completes_and_conflicts_are_refused() {
        let one = customer("1", &[]);
        let record = record(CardChange::Assign("kim".into()), &["coordinator"], &[&one]);
        let (next, writes) = judged(&record, vec![Ok(one.clone())], None, &[]);
        assert!(matches!(
            writes[0].companion,
            Some(Companion::Assign { .. })
        ));
        assert_eq!(next.status, BulkStatus::Completed);
        assert!(next.finished_at.is_some());
        let (next, writes) = judged(
            &record,
            vec![Ok(one.clone())],
            None,
            std::slice::from_ref(&one.id),
        );
        assert!(writes.is_empty());
        assert_eq!(next.refused[0].reason, RefusalReason::Conflict);
    }

    #[test]
    fn roles_that_no_longer_allow_the_change_refuse_every_customer() {
        let one = customer("1", &[]);
        let record = record(CardChange::Deactivate, &["technician"], &[&one]);
        let (next, writes) = judged(&record, vec![Ok(one)], None, &[]);
        assert!(writes.is_empty());
        assert_eq!(next.refused[0].reason, RefusalReason::Forbidden);
    }
}
