//! A merge's moves. The table's stream, filtered by the event source mapping to cards that
//! turned `merged`, invokes this function (as it does the deactivation cascade, which a merge
//! never triggers: nothing of a merged card is cancelled); it moves the duplicate's records to
//! the survivor kind by kind in the domain's order (`domain::linked::MERGE_ORDER`), then its
//! inventory lines, a page at a time: each record deleted under the duplicate at the version
//! it was read at and put under the survivor with its id kept (so a job's work order, a
//! ticket's job, a contract's sites stay valid), with one history entry per page in both
//! cards' histories, on condition that the duplicate is still merged into that survivor.
//!
//! A moved record leaves the duplicate's partition, so every page is the first page of what
//! is left: a redelivery or a continuation finds only what has not moved yet and moves
//! nothing twice. A record changed between the read and the write (a technician completing a
//! job still under the duplicate) fails its condition; the page is read again and the record
//! moves as it is now.

use std::time::Instant;

use chrono::{DateTime, Utc};
use domain::linked::{self, Kind};
use domain::{
    ChangeKind, Contract, CustomerId, FieldChange, HistoryEntry, Job, MERGE_ACTOR, Movable, Note,
    Site, StockLine, Ticket, WorkOrder,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::{MoveError, Stored, TenantId};

use crate::{App, CascadeFailure, FUNCTION, HANDOVER_TIME, PAGE_ATTEMPTS};

/// Records moved in one transaction: each is a delete and a put, with the condition on the
/// duplicate and the two history entries, within DynamoDB's 100 items.
const MOVES_PER_PAGE: i32 = 48;

/// A phase of the moves: a kind of record (in the domain's merge order), then the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MovePhase {
    #[default]
    Sites,
    Contracts,
    WorkOrders,
    Jobs,
    Tickets,
    Notes,
    /// Inventory lines are sums of tickets, not records of their own: they move last.
    Inventory,
}

impl MovePhase {
    const ALL: [MovePhase; 7] = [
        MovePhase::Sites,
        MovePhase::Contracts,
        MovePhase::WorkOrders,
        MovePhase::Jobs,
        MovePhase::Tickets,
        MovePhase::Notes,
        MovePhase::Inventory,
    ];

    /// The kind of record the phase moves; `None` for the inventory.
    pub fn kind(self) -> Option<&'static Kind> {
        match self {
            MovePhase::Sites => Some(&linked::SITE),
            MovePhase::Contracts => Some(&linked::CONTRACT),
            MovePhase::WorkOrders => Some(&linked::WORK_ORDER),
            MovePhase::Jobs => Some(&linked::JOB),
            MovePhase::Tickets => Some(&linked::TICKET),
            MovePhase::Notes => Some(&linked::NOTE),
            MovePhase::Inventory => None,
        }
    }

    /// Its name in history entries and metrics: the kind's collection, or "inventory".
    pub fn as_str(self) -> &'static str {
        self.kind().map_or("inventory", |kind| kind.collection)
    }

    /// The phase after this one: the next kind of the domain's merge order, the inventory
    /// after the last kind, then none.
    pub fn next(self) -> Option<MovePhase> {
        let kind = self.kind()?;
        let at = linked::MERGE_ORDER.iter().position(|k| *k == kind)?;
        match linked::MERGE_ORDER.get(at + 1) {
            Some(next) => Self::ALL.into_iter().find(|p| p.kind() == Some(*next)),
            None => Some(MovePhase::Inventory),
        }
    }
}

/// One merge's moves, from `phase` on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergeWork {
    #[serde(with = "tenant_id")]
    pub tenant: TenantId,
    pub duplicate_id: CustomerId,
    pub survivor_id: CustomerId,
    /// The duplicate's version that was merged: the version the history entries name.
    pub version: u64,
    #[serde(default)]
    pub phase: MovePhase,
}

impl MergeWork {
    pub fn start(tenant: TenantId, duplicate: &domain::Customer, survivor: CustomerId) -> Self {
        Self {
            tenant,
            duplicate_id: duplicate.id.clone(),
            survivor_id: survivor,
            version: duplicate.version,
            phase: MovePhase::default(),
        }
    }
}

/// A tenant in a continuation: checked on the way back in, like every tenant we read.
mod tenant_id {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use store::TenantId;

    pub fn serialize<S: Serializer>(tenant: &TenantId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(tenant.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TenantId, D::Error> {
        let raw = String::deserialize(d)?;
        TenantId::parse(&raw).ok_or_else(|| D::Error::custom("not a valid tenant"))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MergeMessage {
    continue_merge: MergeWork,
}

pub fn continuation_body(work: &MergeWork) -> String {
    serde_json::to_string(&MergeMessage {
        continue_merge: work.clone(),
    })
    .expect("a merge's continuation serialises")
}

/// A queued merge continuation; `None` when the body is not one (it may be the cascade's).
pub fn continuation_work(body: &str) -> Option<Result<MergeWork, String>> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value.get("continueMerge")?;
    Some(
        serde_json::from_value::<MergeMessage>(value)
            .map(|m| m.continue_merge)
            .map_err(|e| format!("not a merge continuation: {e}")),
    )
}

/// Moves the duplicate's records to the survivor from `work.phase` on, handing the rest to the
/// queue when the time or page budget is spent.
pub async fn merge(app: &App, work: &MergeWork, deadline: Instant) -> Result<(), CascadeFailure> {
    let mut work = work.clone();
    let mut pages = 0;
    loop {
        let out_of_pages = app.pages_per_invocation.is_some_and(|n| pages >= n);
        if out_of_pages || Instant::now() + HANDOVER_TIME >= deadline {
            return hand_over(app, &work).await;
        }
        let Some(moved) = move_page(app, &work).await? else {
            tracing::warn!(customer = %work.duplicate_id, "not merged into that survivor; nothing moves");
            return Ok(());
        };
        pages += 1;
        if moved > 0 {
            count_moved(&work, moved);
            continue;
        }
        match work.phase.next() {
            Some(next) => work.phase = next,
            None => {
                tracing::info!(customer = %work.duplicate_id, survivor = %work.survivor_id, "merge complete");
                return Ok(());
            }
        }
    }
}

/// Moves the first page of what is left of the phase's records: how many moved (0: none
/// left), `None` when the duplicate is not merged into the survivor.
async fn move_page(app: &App, work: &MergeWork) -> Result<Option<usize>, CascadeFailure> {
    // The phase names the kind; every kind moves the same way, by its declaration.
    match work.phase {
        MovePhase::Sites => move_records::<Site>(app, work).await,
        MovePhase::Contracts => move_records::<Contract>(app, work).await,
        MovePhase::WorkOrders => move_records::<WorkOrder>(app, work).await,
        MovePhase::Jobs => move_records::<Job>(app, work).await,
        MovePhase::Tickets => move_records::<Ticket>(app, work).await,
        MovePhase::Notes => move_records::<Note>(app, work).await,
        MovePhase::Inventory => move_inventory(app, work).await,
    }
}

fn page_size(app: &App) -> i32 {
    app.page_size.min(MOVES_PER_PAGE)
}

async fn move_records<T: Stored + Movable>(
    app: &App,
    work: &MergeWork,
) -> Result<Option<usize>, CascadeFailure> {
    let (tenant, from, to) = (&work.tenant, &work.duplicate_id, &work.survivor_id);
    for _ in 0..PAGE_ATTEMPTS {
        let page = app
            .store
            .linked_page::<T>(tenant, from, page_size(app), None, true)
            .await?;
        if page.items.is_empty() {
            return Ok(Some(0));
        }
        let (moved, history) = moved_page(&page.items, work, Utc::now());
        match app
            .store
            .move_for_merge(tenant, from, to, &moved, &history)
            .await
        {
            Ok(()) => return Ok(Some(moved.len())),
            Err(MoveError::NotMerged) => return Ok(None),
            // A record changed since it was read: read the page again.
            Err(MoveError::Changed) => continue,
            Err(MoveError::Store(e)) => return Err(e.into()),
        }
    }
    Err(CascadeFailure::Retry(
        "the duplicate's records kept changing during the merge".into(),
    ))
}

async fn move_inventory(app: &App, work: &MergeWork) -> Result<Option<usize>, CascadeFailure> {
    let (tenant, from, to) = (&work.tenant, &work.duplicate_id, &work.survivor_id);
    for _ in 0..PAGE_ATTEMPTS {
        let page = app.store.stock(tenant, from, page_size(app), None).await?;
        if page.items.is_empty() {
            return Ok(Some(0));
        }
        let history = moved_entry(page.items.iter().map(inventory_pointer), work, Utc::now());
        match app
            .store
            .move_stock_for_merge(tenant, from, to, &page.items, &history)
            .await
        {
            Ok(()) => return Ok(Some(page.items.len())),
            Err(MoveError::NotMerged) => return Ok(None),
            Err(MoveError::Changed) => continue,
            Err(MoveError::Store(e)) => return Err(e.into()),
        }
    }
    Err(CascadeFailure::Retry(
        "the duplicate's inventory kept changing during the merge".into(),
    ))
}

/// The records of a page as they are under the survivor (each with the version it was read at,
/// the condition of its move) and the history entry that names them.
pub fn moved_page<T: Movable>(
    records: &[T],
    work: &MergeWork,
    now: DateTime<Utc>,
) -> (Vec<(u64, T)>, HistoryEntry) {
    let history = moved_entry(
        records
            .iter()
            .map(|r| format!("/{}/{}", T::KIND.collection, r.id())),
        work,
        now,
    );
    let moved = records
        .iter()
        .map(|record| {
            let moved = record.moved(&work.survivor_id, MERGE_ACTOR, now);
            (record.version(), moved)
        })
        .collect();
    (moved, history)
}

/// The entry of a page of moves: each record's `customerId`, from the duplicate to the
/// survivor.
fn moved_entry(
    records: impl Iterator<Item = String>,
    work: &MergeWork,
    now: DateTime<Utc>,
) -> HistoryEntry {
    HistoryEntry {
        id: ulid::Ulid::new().to_string(),
        at: now,
        by: MERGE_ACTOR.to_owned(),
        kind: ChangeKind::RecordsMoved,
        version: work.version,
        changes: records
            .map(|record| FieldChange {
                field: format!("{record}/customerId"),
                before: Some(json!(work.duplicate_id)),
                after: Some(json!(work.survivor_id)),
            })
            .collect(),
    }
}

/// An inventory line as a JSON pointer: site, unit and material (escaped as RFC 6901 says).
fn inventory_pointer(line: &StockLine) -> String {
    let escape = |part: &str| part.replace('~', "~0").replace('/', "~1");
    format!(
        "/inventory/{}/{}/{}",
        escape(&line.key.site_id),
        escape(&line.key.unit),
        escape(&line.key.material)
    )
}

fn count_moved(work: &MergeWork, moved: usize) {
    kit::metrics::Metrics::new(FUNCTION)
        .dimension("Phase", work.phase.as_str())
        .count("MergeRecordsMoved", moved as u64)
        .property("tenant", work.tenant.as_str())
        .emit();
}

async fn hand_over(app: &App, work: &MergeWork) -> Result<(), CascadeFailure> {
    app.queue
        .send(&continuation_body(work))
        .await
        .map_err(|e| CascadeFailure::Retry(format!("queueing the merge's continuation: {e}")))?;
    tracing::info!(customer = %work.duplicate_id, "merge continues in a new invocation");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use domain::{NoteFields, SiteFields, SiteStatus};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
    }

    #[test]
    fn the_phases_move_every_kind_of_the_merge_order_then_the_inventory() {
        let mut phase = Some(MovePhase::default());
        let mut kinds = Vec::new();
        let mut last = None;
        while let Some(current) = phase {
            match current.kind() {
                Some(kind) => kinds.push(kind),
                None => last = Some(current),
            }
            phase = current.next();
        }
        assert_eq!(kinds, linked::MERGE_ORDER);
        assert_eq!(last, Some(MovePhase::Inventory));
        for phase in MovePhase::ALL {
            assert_eq!(serde_json::to_value(phase).unwrap(), phase.as_str());
        }
    }

    #[test]
    fn a_page_moves_each_record_at_the_version_read_and_names_it_in_the_history() {
        let (from, to) = (CustomerId("D".into()), CustomerId("S".into()));
        let work = MergeWork {
            tenant: TenantId::parse("acme").unwrap(),
            duplicate_id: from.clone(),
            survivor_id: to.clone(),
            version: 4,
            phase: MovePhase::Sites,
        };
        let site = Site::new(
            from.clone(),
            SiteFields {
                name: "Yard".into(),
                address: None,
                contact: None,
                customer_owned: false,
                status: SiteStatus::Active,
            },
            "u",
            now(),
        );
        let note = Note::new(
            from.clone(),
            NoteFields {
                text: "Gate code 1234".into(),
                site_id: None,
            },
            "u",
            now(),
        );
        let (moved, history) = moved_page(std::slice::from_ref(&site), &work, now());
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].0, site.version);
        assert_eq!(moved[0].1.customer_id, to);
        assert_eq!(moved[0].1.id, site.id);
        assert_eq!(history.kind, ChangeKind::RecordsMoved);
        assert_eq!((history.by.as_str(), history.version), (MERGE_ACTOR, 4));
        assert_eq!(
            history.changes[0].field,
            format!("/sites/{}/customerId", site.id)
        );
        assert_eq!(history.changes[0].before, Some(json!("D")));
        assert_eq!(history.changes[0].after, Some(json!("S")));
        let (moved, _) = moved_page(std::slice::from_ref(&note), &work, now());
        assert_eq!(moved[0].1.created_by, "u", "a moved note keeps its author");
    }

    #[test]
    fn a_merge_continuation_round_trips_and_the_cascades_is_not_one() {
        let work = MergeWork {
            tenant: TenantId::parse("acme").unwrap(),
            duplicate_id: CustomerId("D".into()),
            survivor_id: CustomerId("S".into()),
            version: 4,
            phase: MovePhase::Jobs,
        };
        let body = continuation_body(&work);
        assert_eq!(continuation_work(&body), Some(Ok(work)));
        assert_eq!(
            continuation_work(r#"{"continueCascade": {"tenant": "acme"}}"#),
            None
        );
        let forged = body.replace("acme", "a#b");
        assert!(matches!(continuation_work(&forged), Some(Err(_))));
    }

    #[test]
    fn inventory_lines_are_named_by_escaped_pointers() {
        let line = StockLine {
            key: domain::StockKey {
                site_id: "S1".into(),
                unit: "m".into(),
                material: "Pipe 1/2\"".into(),
            },
            quantity: domain::Quantity(1000),
            tickets: 1,
            updated_at: now(),
        };
        assert_eq!(inventory_pointer(&line), "/inventory/S1/m/Pipe 1~12\"");
    }
}
