//! The use cases: one function per operation, taking the caller's scope and typed input and
//! returning a typed result or a problem. No HTTP request is read here: the handlers
//! (`crate::handlers`) turn requests into these inputs and results into responses, so the rules
//! are tested on the use cases without HTTP (tests/usecases.rs). The pieces every use case
//! shares (the scope, reading a customer within reach, changing one with its history) live in
//! this module; the linked records' shared path is in [`linked`].

pub mod assignments;
pub mod bulk_changes;
pub mod contacts;
pub mod contracts;
pub mod customers;
pub mod duplicates;
pub mod erasure;
pub mod exports;
pub mod history;
pub mod idempotency;
pub mod imports;
pub mod jobs;
pub mod linked;
pub mod merge;
pub mod notes;
pub mod profile;
pub mod settings;
pub mod sites;
pub mod tickets;
pub mod work_orders;

use std::sync::Arc;

use chrono::Utc;
use domain::{
    CardChange, ChangeKind, Customer, CustomerId, Denied, Grants, HistoryEntry, Permission, Reach,
    Refusal, ValidationContext,
};
use kit::{Caller, Problem};
use lambda_http::http::StatusCode;
use store::{Companion, StoreError, StoredResponse, TenantId, VersionedSettings};

use crate::App;
use crate::http::etag;

/// Which page of a list: its size, where it starts (an opaque cursor), which way it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i32,
    pub cursor: Option<String>,
    /// Oldest (or earliest) first.
    pub ascending: bool,
}

/// What a create did: made the record, or found that the same request (its Idempotency-Key)
/// made one before, whose first answer is replayed.
pub enum Created<T> {
    Made(T),
    Replayed(StoredResponse),
}

/// The verified caller, what their roles allow, and the tenant every key of this request
/// will start with.
pub struct Scope {
    pub caller: Caller,
    pub tenant: TenantId,
    pub grants: Grants,
    /// The organisation's settings (cached per instance, see `App::settings`).
    pub settings: Arc<VersionedSettings>,
}

impl Scope {
    /// `Err` is the 403 that names the missing permission.
    pub fn require(&self, permission: Permission) -> Result<(), Problem> {
        self.grants.require(permission).map_err(forbidden)
    }

    pub fn view_reach(&self) -> Result<Reach, Problem> {
        self.grants.view_reach().map_err(forbidden)
    }

    pub fn edit_reach(&self) -> Result<Reach, Problem> {
        self.grants.edit_reach().map_err(forbidden)
    }

    /// The validation rules of this organisation.
    pub fn rules(&self) -> ValidationContext {
        self.settings.settings.context()
    }

    pub fn number_in_name(&self) -> bool {
        self.settings.settings.number_in_display_name
    }

    /// Whether this customer is within `reach`; "only assigned" callers reach only the
    /// customers they are assigned to, and are told which permission would reach the others.
    pub fn may_reach(
        &self,
        reach: Reach,
        customer: &Customer,
        all: Permission,
    ) -> Result<(), Problem> {
        if reach.admits(customer, &self.caller.user) {
            return Ok(());
        }
        Err(forbidden(all).detail(
            "You may only reach customers you are assigned to; this one needs the named permission.",
        ))
    }

    /// How far the caller reaches for a change of one action ([`CardChange::reach`]), or the
    /// 403 that says why they may not make it.
    pub fn change_reach(&self, change: &CardChange) -> Result<Reach, Problem> {
        change.reach(&self.grants).map_err(denied)
    }
}

/// The 403 of a change the caller may not make at all.
pub fn denied(denied: Denied) -> Problem {
    match denied {
        Denied::Missing(permission) => forbidden(permission),
        Denied::Guarded(refusal) => refused(refusal),
    }
}

pub fn forbidden(missing: Permission) -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "A permission is missing",
    )
    .detail(format!("This needs the '{}' permission.", missing.as_str()))
    .with("missingPermission", missing.as_str())
}

/// A change touching fields with a permission of their own (docs/permissions.md): the 403
/// names the missing permission and, as JSON pointers, the fields that need it.
pub fn refused(refusal: Refusal) -> Problem {
    let fields = refusal.fields();
    let permissions: Vec<&str> = refusal.0.iter().map(|m| m.permission.as_str()).collect();
    forbidden(refusal.permission())
        .detail(format!(
            "Changing {} needs the '{}' permission.",
            fields.join(", "),
            permissions.join("' and '")
        ))
        .with("fields", fields)
}

/// A record's input with a merge patch applied (RFC 7396), read back as the input type so
/// that unknown members and wrong types are refused with pointers.
pub fn patched<I: serde::Serialize + serde::de::DeserializeOwned>(
    input: &I,
    patch: &serde_json::Value,
) -> Result<I, Problem> {
    let mut target = serde_json::to_value(input).expect("an input serialises");
    domain::merge_patch::apply(&mut target, patch);
    crate::http::from_value(target)
}

/// `status: null` in a patch: a record's status can be changed but never removed.
pub fn refuse_null_status(patch: &serde_json::Value) -> Result<(), Problem> {
    if patch.get("status").is_some_and(serde_json::Value::is_null) {
        return Err(Problem::validation(vec![domain::FieldError::required(
            "/status",
        )]));
    }
    Ok(())
}

/// Reads a customer the caller may see: 404 when it does not exist in their organisation,
/// 403 when they may see only assigned customers and this is not one.
pub async fn read_visible(app: &App, scope: &Scope, id: &CustomerId) -> Result<Customer, Problem> {
    read_reachable(app, scope, id, scope.view_reach()?, Permission::View).await
}

/// Reads a customer within `reach`: 404 when it does not exist in the caller's organisation,
/// 403 naming `all` (the permission that reaches every customer) when it is out of reach.
pub async fn read_reachable(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    reach: Reach,
    all: Permission,
) -> Result<Customer, Problem> {
    let customer = app
        .store
        .get(&scope.tenant, id)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found("customer"))?;
    scope.may_reach(reach, &customer, all)?;
    Ok(customer)
}

/// Maps store failures to problems. Causes are logged here, once, and never sent to clients.
pub fn store_problem(error: StoreError) -> Problem {
    match error {
        StoreError::NotFound => Problem::not_found("customer"),
        StoreError::InvalidCursor(why) => Problem::bad_parameter("cursor", why),
        StoreError::NumberTaken => number_taken(),
        StoreError::ExternalRefTaken => Problem::conflict(
            "external-reference-taken",
            "The external reference is already in use",
            "Another customer of your organisation has this id in the same accounting system \
             (externalRefs). One accounting record belongs to one customer.",
        ),
        StoreError::OrgNumberTaken => Problem::conflict(
            "organisation-number-taken",
            "The organisation number is already in use",
            "Another customer of your organisation has this organisation number (or the VAT \
             number built from it). Find it with GET /customers?organisationNumber=.",
        ),
        StoreError::VersionConflict => Problem::stale(None),
        // Only a create racing with its own retry gets here; the create answers the replay.
        StoreError::IdempotencyKeyUsed(_) => idempotency::key_reused(),
        StoreError::HasHistory => Problem::conflict(
            "customer-in-use",
            "The customer cannot be deleted",
            "It has history or linked records. Deactivate it instead: it then stays readable and traceable.",
        )
        .with("deactivate", "POST /customers/{customerId}/deactivate"),
        StoreError::Unavailable(cause) => {
            tracing::warn!(error = %cause, "DynamoDB unavailable");
            Problem::unavailable()
        }
        other => {
            tracing::error!(error = %other, "store failure");
            Problem::internal()
        }
    }
}

/// An erased customer refuses every change: nothing may put personal data back, and it cannot
/// be reactivated.
pub fn erased() -> Problem {
    Problem::conflict(
        "erased",
        "The customer was erased",
        "Its personal data was erased for good (GDPR). It keeps its number and its work for the \
         accounts, but cannot be changed, reactivated or given new records.",
    )
}

pub fn number_taken() -> Problem {
    Problem::conflict(
        "customer-number-taken",
        "The customer number is already in use",
        "Another customer of your organisation has this customer number. Choose another one.",
    )
}

/// How often a change is re-applied when someone else changed the customer in between and
/// the caller did not ask for a specific version.
const MODIFY_ATTEMPTS: usize = 3;

/// What a change is and what travels with it.
pub struct Edit {
    pub kind: ChangeKind,
    /// The permission that reaches every customer for this change, and how far the caller
    /// reaches (for "only assigned" callers).
    pub reach: Reach,
    pub companion: Option<Companion>,
}

impl Edit {
    pub fn new(kind: ChangeKind, reach: Reach) -> Self {
        Self {
            kind,
            reach,
            companion: None,
        }
    }
}

/// Read, change, write with optimistic concurrency and a history entry. `expected` is the
/// If-Match header: `Some(Some(v))` demands version v (else 412); otherwise a concurrent
/// change is re-read and the change re-applied. An unchanged customer is not written at all,
/// and a change of fields the caller may not change (commercial terms, status) is not
/// written either: every route that rewrites a customer passes here.
pub async fn modify<T>(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    expected: Option<Option<u64>>,
    edit: Edit,
    mut change: impl FnMut(&mut Customer) -> Result<T, Problem>,
) -> Result<(Customer, T), Problem> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = app
            .store
            .get(&scope.tenant, id)
            .await
            .map_err(store_problem)?
            .ok_or_else(|| Problem::not_found("customer"))?;
        scope.may_reach(edit.reach, &current, Permission::Edit)?;
        merge::refuse_change(&current)?;
        if current.is_erased() {
            return Err(erased());
        }
        if let Some(Some(version)) = expected
            && version != current.version
        {
            return Err(Problem::stale(Some(&etag(current.version))));
        }
        let mut next = current.clone();
        let outcome = change(&mut next)?;
        domain::refused_change(&scope.grants, &current, &next).map_err(refused)?;
        if next == current {
            return Ok((current, outcome));
        }
        next.version = current.version + 1;
        next.updated_at = Utc::now();
        next.updated_by = scope.caller.user.clone();
        let entry = HistoryEntry::of(edit.kind, Some(&current), &next);
        let result = app
            .store
            .replace(
                &scope.tenant,
                &current,
                &next,
                &entry,
                edit.companion.as_ref(),
            )
            .await;
        match result {
            Ok(()) => return Ok((next, outcome)),
            Err(StoreError::VersionConflict)
                if !matches!(expected, Some(Some(_))) && attempt < MODIFY_ATTEMPTS =>
            {
                continue;
            }
            Err(e) => return Err(store_problem(e)),
        }
    }
}

/// A change of one action ([`CardChange`]) made on one customer through [`modify`]: the card
/// as it is afterwards (unchanged when the change was already in place). A card that cannot
/// take the change (a tag beyond the limit) is 422.
pub async fn change_card(
    app: &App,
    scope: &Scope,
    id: &CustomerId,
    expected: Option<Option<u64>>,
    edit: Edit,
    change: &CardChange,
) -> Result<Customer, Problem> {
    let (customer, ()) = modify(app, scope, id, expected, edit, |customer| {
        change.apply(customer).map_err(|_| {
            Problem::validation(vec![domain::FieldError::too_many(
                "/tags",
                domain::validation::TAGS_MAX,
            )])
        })
    })
    .await?;
    Ok(customer)
}
