//! The records that hang off a customer: sites, contracts, work orders, jobs, tickets and notes. Each
//! kind is declared once ([`Kind`], through the [`Linked`] trait) and the rules that tie a
//! record to its customer are written once, here, for every kind:
//!
//! - nothing new is linked to a customer that is not active (but notes, which record what is
//!   known about it), and nothing is made live again (reactivated) on one: [`may_link`],
//!   [`may_change`];
//! - a site with live dependants is not unlinked: [`site_use`], [`may_unlink`];
//! - the deactivation cascade closes the live records of the kinds it covers, in
//!   [`CASCADE_ORDER`], each as its kind closes ([`Cascaded::closed`]).
//!
//! Adding a kind is a declaration (a [`Kind`] and the two traits) plus its own domain rules.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    ChangeKind, Contract, ContractFields, ContractStatus, Customer, CustomerId, CustomerStatus,
    Job, Note, NoteFields, Site, SiteFields, SiteStatus, Ticket, WorkOrder,
};

/// What a kind of linked record is.
#[derive(Debug, PartialEq, Eq)]
pub struct Kind {
    /// Its name in messages and problem details ("work order").
    pub name: &'static str,
    /// Its collection in JSON pointers of history entries and problem members ("workOrders").
    pub collection: &'static str,
    /// The path segment of its collection under the customer in the API ("work-orders").
    pub path: &'static str,
    /// The path parameter that names one record of the kind in the API ("workOrderId").
    pub id_param: &'static str,
    /// The record it hangs from (the customer is always the root).
    pub parent: Parent,
    /// What the deactivation cascade does to it, if it covers the kind.
    pub cascade: Option<CascadeRule>,
    /// Whether a new record of the kind needs an active customer ([`may_link`]).
    pub needs_active_customer: bool,
}

/// The record a linked record is made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    Customer,
    WorkOrder,
    Job,
}

/// How the cascade closes the live records of a kind.
#[derive(Debug, PartialEq, Eq)]
pub struct CascadeRule {
    /// The history entry of a page of them.
    pub change: ChangeKind,
    /// The status they are left in.
    pub closed_as: &'static str,
}

pub const SITE: Kind = Kind {
    name: "site",
    collection: "sites",
    path: "sites",
    id_param: "siteId",
    parent: Parent::Customer,
    cascade: Some(CascadeRule {
        change: ChangeKind::SitesDeactivated,
        closed_as: "inactive",
    }),
    needs_active_customer: true,
};

pub const CONTRACT: Kind = Kind {
    name: "contract",
    collection: "contracts",
    path: "contracts",
    id_param: "contractId",
    parent: Parent::Customer,
    cascade: Some(CascadeRule {
        change: ChangeKind::ContractsCancelled,
        closed_as: "cancelled",
    }),
    needs_active_customer: true,
};

pub const WORK_ORDER: Kind = Kind {
    name: "work order",
    collection: "workOrders",
    path: "work-orders",
    id_param: "workOrderId",
    parent: Parent::Customer,
    cascade: Some(CascadeRule {
        change: ChangeKind::WorkOrdersCancelled,
        closed_as: "cancelled",
    }),
    needs_active_customer: true,
};

pub const JOB: Kind = Kind {
    name: "job",
    collection: "jobs",
    path: "jobs",
    id_param: "jobId",
    parent: Parent::WorkOrder,
    cascade: Some(CascadeRule {
        change: ChangeKind::JobsCancelled,
        closed_as: "cancelled",
    }),
    needs_active_customer: true,
};

/// Tickets are proof of work done: never changed, never closed, so the cascade leaves them.
pub const TICKET: Kind = Kind {
    name: "ticket",
    collection: "tickets",
    path: "tickets",
    id_param: "ticketId",
    parent: Parent::Job,
    cascade: None,
    needs_active_customer: true,
};

/// Notes record what is known about a customer (or one of its sites): an inactive customer
/// gets them too ("moved abroad", "do not reactivate"), and the cascade leaves them.
pub const NOTE: Kind = Kind {
    name: "note",
    collection: "notes",
    path: "notes",
    id_param: "noteId",
    parent: Parent::Customer,
    cascade: None,
    needs_active_customer: false,
};

/// Every kind, in the order the deactivation cascade closes them: sites first (no new work can
/// be planned there), then contracts, work orders (with their tasks), and the jobs last.
pub const CASCADE_ORDER: [&Kind; 4] = [&SITE, &CONTRACT, &WORK_ORDER, &JOB];

/// Every kind, in the order a merge moves a duplicate's records to the survivor: the records
/// others name first (sites, then contracts and work orders), then what hangs off them.
pub const MERGE_ORDER: [&Kind; 6] = [&SITE, &CONTRACT, &WORK_ORDER, &JOB, &TICKET, &NOTE];

/// A record that hangs off a customer.
pub trait Linked {
    const KIND: &'static Kind;
    fn id(&self) -> &str;
    fn customer_id(&self) -> &CustomerId;
    /// Starts at 1, +1 on every change (tickets are never changed).
    fn version(&self) -> u64;
    /// Active or open: it needs an active customer to become so, it keeps what it depends on
    /// (its site) from being unlinked, and the cascade closes it.
    fn is_live(&self) -> bool;
    /// Its status as the API spells it.
    fn status_name(&self) -> &'static str;
}

/// A kind the deactivation cascade covers.
pub trait Cascaded: Linked + Sized {
    /// The record as the cascade leaves it, changed by `by` at `now` (a new version).
    fn closed(&self, by: &str, now: DateTime<Utc>) -> Self;
}

/// A kind a merge moves from the duplicate to the survivor: the same record (its id kept, so
/// that what names it stays valid) under the other customer.
pub trait Movable: Linked + Sized {
    /// The record as it is under `to`, moved by `by` at `now` (a new version, where it has one).
    fn moved(&self, to: &CustomerId, by: &str, now: DateTime<Utc>) -> Self;
}

/// Why a linked record may not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Nothing is linked to, or made live again on, a customer that is not active.
    CustomerNotActive {
        kind: &'static Kind,
        status: CustomerStatus,
    },
    /// A site has live dependants (open work orders or jobs, active contracts).
    SiteInUse { dependants: Vec<Dependant> },
}

/// A live record that depends on another one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependant {
    pub kind: &'static str,
    pub id: String,
    pub status: &'static str,
}

impl Dependant {
    fn of<T: Linked>(record: &T) -> Self {
        Self {
            kind: T::KIND.name,
            id: record.id().to_owned(),
            status: record.status_name(),
        }
    }
}

/// A new record of `kind` may be linked only to an active customer. The write that follows is
/// conditional on the customer's version this was decided on, so a deactivation racing it
/// either comes first (and the write fails) or comes after (and the cascade takes the record).
pub fn may_link(kind: &'static Kind, customer: &Customer) -> Result<(), LinkRefusal> {
    match customer.status {
        CustomerStatus::Active => Ok(()),
        // A merged card's records are moving to the survivor: nothing new hangs off it.
        CustomerStatus::Inactive if !kind.needs_active_customer => Ok(()),
        status => Err(LinkRefusal::CustomerNotActive { kind, status }),
    }
}

/// A change that makes a closed record live again (a site reactivated, an expired contract
/// made active) is a new link: it needs an active customer too. Other changes do not depend
/// on the customer's status.
pub fn may_change<T: Linked>(
    customer: &Customer,
    before: &T,
    after: &T,
) -> Result<(), LinkRefusal> {
    if !before.is_live() && after.is_live() {
        may_link(T::KIND, customer)
    } else {
        Ok(())
    }
}

/// Whether the change needs [`may_link`]'s guarantee: the write is then conditional on the
/// customer's version.
pub fn revives<T: Linked>(before: &T, after: &T) -> bool {
    !before.is_live() && after.is_live()
}

/// How a site is used by the customer's other records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteUse {
    /// Open work orders and jobs at the site, active contracts covering it.
    pub live: Vec<Dependant>,
    /// Any record at all names the site (closed work included): it must stay readable.
    pub named: bool,
}

/// The records of a customer that depend on `site_id`.
pub fn site_use(
    site_id: &str,
    work_orders: &[WorkOrder],
    jobs: &[Job],
    contracts: &[Contract],
) -> SiteUse {
    let mut usage = SiteUse::default();
    let mut note = |named: bool, dependant: Option<Dependant>| {
        usage.named |= named;
        usage.live.extend(dependant);
    };
    for work_order in work_orders.iter().filter(|w| w.fields.site_id == site_id) {
        note(
            true,
            work_order.is_live().then(|| Dependant::of(work_order)),
        );
    }
    for job in jobs.iter().filter(|j| j.site_id == site_id) {
        note(true, job.is_live().then(|| Dependant::of(job)));
    }
    for contract in contracts
        .iter()
        .filter(|c| c.fields.site_ids.iter().any(|id| id == site_id))
    {
        note(true, contract.is_live().then(|| Dependant::of(contract)));
    }
    usage
}

/// A site with live dependants stays linked: close them (or move them elsewhere) first.
pub fn may_unlink(usage: &SiteUse) -> Result<(), LinkRefusal> {
    if usage.live.is_empty() {
        Ok(())
    } else {
        Err(LinkRefusal::SiteInUse {
            dependants: usage.live.clone(),
        })
    }
}

/// Declares a versioned kind: its [`Kind`], and which of its statuses are live.
macro_rules! linked {
    ($record:ty, $kind:expr, live: |$it:ident| $live:expr) => {
        impl Linked for $record {
            const KIND: &'static Kind = $kind;
            fn id(&self) -> &str {
                &self.id
            }
            fn customer_id(&self) -> &CustomerId {
                &self.customer_id
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn is_live(&self) -> bool {
                let $it = self;
                $live
            }
            fn status_name(&self) -> &'static str {
                self.fields.status.as_str()
            }
        }
    };
}

/// Declares `changed` for a kind whose records change as a whole set of fields: the record with
/// `fields`, a version up, changed by `by` at `now` (work orders and jobs have their own).
macro_rules! changed {
    ($record:ty, $fields:ty) => {
        impl $record {
            pub fn changed(&self, fields: $fields, by: &str, now: DateTime<Utc>) -> Self {
                Self {
                    fields,
                    version: self.version + 1,
                    updated_at: now,
                    updated_by: by.to_owned(),
                    ..self.clone()
                }
            }
        }
    };
}

/// Declares how the cascade closes a kind whose records close by taking one status.
macro_rules! closed_as {
    ($record:ty, $status:expr) => {
        impl Cascaded for $record {
            fn closed(&self, by: &str, now: DateTime<Utc>) -> Self {
                let mut fields = self.fields.clone();
                fields.status = $status;
                self.changed(fields, by, now)
            }
        }
    };
}

/// Declares how a versioned kind moves: its customer changes, its version goes up.
macro_rules! movable {
    ($record:ty) => {
        impl Movable for $record {
            fn moved(&self, to: &CustomerId, by: &str, now: DateTime<Utc>) -> Self {
                Self {
                    customer_id: to.clone(),
                    version: self.version + 1,
                    updated_at: now,
                    updated_by: by.to_owned(),
                    ..self.clone()
                }
            }
        }
    };
}

movable!(Site);
movable!(Contract);
movable!(WorkOrder);
movable!(Job);
movable!(Note);

/// Tickets are never changed: a moved ticket is the same proof of work under the survivor.
impl Movable for Ticket {
    fn moved(&self, to: &CustomerId, _by: &str, _now: DateTime<Utc>) -> Self {
        Self {
            customer_id: to.clone(),
            ..self.clone()
        }
    }
}

linked!(Site, &SITE, live: |site| site.fields.status == SiteStatus::Active);
changed!(Site, SiteFields);
closed_as!(Site, SiteStatus::Inactive);

linked!(Contract, &CONTRACT, live: |contract| contract.fields.status == ContractStatus::Active);
changed!(Contract, ContractFields);
closed_as!(Contract, ContractStatus::Cancelled);

linked!(WorkOrder, &WORK_ORDER, live: |work_order| work_order.fields.status.is_open());
impl Cascaded for WorkOrder {
    /// Cancelled with its open tasks.
    fn closed(&self, by: &str, now: DateTime<Utc>) -> Self {
        self.cancel(by, now)
    }
}

linked!(Job, &JOB, live: |job| job.fields.status.is_open());
impl Cascaded for Job {
    fn closed(&self, by: &str, now: DateTime<Utc>) -> Self {
        self.cancel(by, now)
    }
}

impl Linked for Ticket {
    const KIND: &'static Kind = &TICKET;
    fn id(&self) -> &str {
        &self.id
    }
    fn customer_id(&self) -> &CustomerId {
        &self.customer_id
    }
    fn version(&self) -> u64 {
        1
    }
    /// A ticket records work done; it depends on its job, nothing depends on it.
    fn is_live(&self) -> bool {
        false
    }
    fn status_name(&self) -> &'static str {
        "recorded"
    }
}

impl Linked for Note {
    const KIND: &'static Kind = &NOTE;
    fn id(&self) -> &str {
        &self.id
    }
    fn customer_id(&self) -> &CustomerId {
        &self.customer_id
    }
    fn version(&self) -> u64 {
        self.version
    }
    /// Nothing depends on a note, and it has nothing to close.
    fn is_live(&self) -> bool {
        false
    }
    fn status_name(&self) -> &'static str {
        "written"
    }
}
changed!(Note, NoteFields);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SiteFields, WorkOrderFields, WorkOrderKind, WorkStatus};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
    }

    fn customer(status: CustomerStatus) -> Customer {
        let input: crate::CustomerInput = serde_json::from_value(
            serde_json::json!({"customerNumber": "1", "companyName": "Acme"}),
        )
        .unwrap();
        let fields = crate::validate_customer(input, &Default::default()).unwrap();
        let mut customer = Customer::new(fields, "u", now());
        customer.status = status;
        customer
    }

    fn site(status: SiteStatus) -> Site {
        let fields = SiteFields {
            name: "Yard".into(),
            address: None,
            contact: None,
            customer_owned: false,
            status,
        };
        Site::new(CustomerId("C".into()), fields, "u", now())
    }

    fn work_order(site: &str, status: WorkStatus) -> WorkOrder {
        let fields = WorkOrderFields {
            kind: WorkOrderKind::Order,
            title: "Service".into(),
            description: None,
            site_id: site.into(),
            status,
            window: None,
            technician: None,
            contact_id: None,
            order_number: None,
            cost_centre: None,
            tasks: Vec::new(),
            lines: Vec::new(),
        };
        WorkOrder::new(CustomerId("C".into()), fields, "u", now())
    }

    #[test]
    fn only_an_active_customer_gets_new_records_of_any_kind() {
        for kind in [&SITE, &CONTRACT, &WORK_ORDER, &JOB, &TICKET] {
            assert_eq!(may_link(kind, &customer(CustomerStatus::Active)), Ok(()));
            assert_eq!(
                may_link(kind, &customer(CustomerStatus::Inactive)),
                Err(LinkRefusal::CustomerNotActive {
                    kind,
                    status: CustomerStatus::Inactive
                })
            );
        }
    }

    #[test]
    fn an_inactive_customer_still_takes_notes() {
        assert_eq!(may_link(&NOTE, &customer(CustomerStatus::Inactive)), Ok(()));
    }

    #[test]
    fn a_merged_customer_takes_nothing_not_even_notes() {
        for kind in MERGE_ORDER {
            assert_eq!(
                may_link(kind, &customer(CustomerStatus::Merged)),
                Err(LinkRefusal::CustomerNotActive {
                    kind,
                    status: CustomerStatus::Merged
                })
            );
        }
    }

    #[test]
    fn a_moved_record_keeps_its_id_under_the_survivor_at_a_new_version() {
        let before = site(SiteStatus::Active);
        let to = CustomerId("S".into());
        let moved = before.moved(&to, "cascade:merge", now());
        assert_eq!(
            (moved.id.as_str(), &moved.customer_id),
            (before.id.as_str(), &to)
        );
        assert_eq!(moved.version, before.version + 1);
        assert_eq!(moved.fields, before.fields);
    }

    #[test]
    fn reactivating_a_record_needs_an_active_customer_other_changes_do_not() {
        let inactive = customer(CustomerStatus::Inactive);
        let (off, on) = (site(SiteStatus::Inactive), site(SiteStatus::Active));
        assert!(may_change(&inactive, &off, &on).is_err());
        assert!(revives(&off, &on));
        assert_eq!(may_change(&inactive, &on, &off), Ok(()));
        assert_eq!(may_change(&inactive, &off, &off), Ok(()));
        assert_eq!(
            may_change(&customer(CustomerStatus::Active), &off, &on),
            Ok(())
        );
    }

    #[test]
    fn a_site_with_open_work_cannot_be_unlinked_closed_work_keeps_it_named() {
        let open = work_order("S1", WorkStatus::Scheduled);
        let done = work_order("S1", WorkStatus::Completed);
        let elsewhere = work_order("S2", WorkStatus::Scheduled);
        let usage = site_use("S1", &[open.clone(), done.clone(), elsewhere], &[], &[]);
        assert!(usage.named);
        assert_eq!(usage.live, vec![Dependant::of(&open)]);
        assert!(matches!(
            may_unlink(&usage),
            Err(LinkRefusal::SiteInUse { .. })
        ));
        let usage = site_use("S1", &[done], &[], &[]);
        assert_eq!(may_unlink(&usage), Ok(()));
        assert!(usage.named);
        assert_eq!(site_use("S9", &[], &[], &[]), SiteUse::default());
    }

    #[test]
    fn the_cascade_covers_every_kind_but_tickets_in_a_fixed_order() {
        let names: Vec<&str> = CASCADE_ORDER.iter().map(|k| k.name).collect();
        assert_eq!(names, ["site", "contract", "work order", "job"]);
        assert!(CASCADE_ORDER.iter().all(|k| k.cascade.is_some()));
        assert!(TICKET.cascade.is_none());
        let closed = site(SiteStatus::Active).closed("cascade", now());
        assert!(!closed.is_live());
        assert_eq!(closed.version, 2);
    }
}
