//! Work for a customer: work orders of three kinds (an order, a fault report, a quotation) with
//! their tasks, and jobs, the scheduled visits of a work order. Work orders and jobs move
//! through one state machine ([`WorkStatus`]); every status change goes through
//! [`WorkStatus::check_transition`], so the API and the cascade cannot disagree about it.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::articles::{
    ArticleLine, ArticleLineInput, date_entered_hours, default_lines, validate_lines,
};
use crate::{Customer, CustomerId, FieldError, ValidationErrors};

pub const WORK_ORDER_TITLE_MAX: usize = 200;
pub const WORK_ORDER_DESCRIPTION_MAX: usize = 4000;
pub const TASK_TITLE_MAX: usize = 200;
/// Tasks live inside their work order's item: bounded so the item stays far below 400 KB and
/// a cancelled work order with all its tasks is still one write.
pub const TASKS_MAX: usize = 100;
pub const JOB_TECHNICIANS_MAX: usize = 10;
pub const JOB_NOTE_MAX: usize = 1000;
/// Open jobs (visits not yet completed or cancelled) one work order may have: more is a plan,
/// not a work order, and cancelling one then stays a few transactions (docs/api.md).
pub const OPEN_JOBS_PER_WORK_ORDER_MAX: usize = 200;

/// Whether a work order with `open` open jobs may get another; `Err` is the limit.
pub fn may_schedule_another(open: usize) -> Result<(), usize> {
    if open < OPEN_JOBS_PER_WORK_ORDER_MAX {
        Ok(())
    } else {
        Err(OPEN_JOBS_PER_WORK_ORDER_MAX)
    }
}
/// A visit longer than this is a typing error, not a visit.
pub const WINDOW_DAYS_MAX: i64 = 31;

/// User ids become parts of keys and filter attributes: what identity providers issue, without
/// the key separator.
pub fn is_user_id(user: &str) -> bool {
    (1..=USER_ID_MAX).contains(&user.len())
        && user.bytes().all(|b| b.is_ascii_graphic() && b != b'#')
}

/// The longest user id (in bytes, which are characters: user ids are ASCII).
pub const USER_ID_MAX: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WorkOrderKind {
    Order,
    FaultReport,
    Quotation,
}

/// Where a work order or a job stands. Completed and cancelled are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum WorkStatus {
    #[default]
    Planned,
    Scheduled,
    EnRoute,
    InProgress,
    Completed,
    Cancelled,
}

/// A status change the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {what} that is {from} cannot become {to}", from = .from.as_str(), to = .to.as_str())]
pub struct IllegalTransition {
    pub what: &'static str,
    pub from: WorkStatus,
    pub to: WorkStatus,
}

impl WorkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkStatus::Planned => "planned",
            WorkStatus::Scheduled => "scheduled",
            WorkStatus::EnRoute => "enRoute",
            WorkStatus::InProgress => "inProgress",
            WorkStatus::Completed => "completed",
            WorkStatus::Cancelled => "cancelled",
        }
    }

    /// Open work is what the deactivation cascade cancels; closed work stays as it is.
    pub fn is_open(self) -> bool {
        !matches!(self, WorkStatus::Completed | WorkStatus::Cancelled)
    }

    /// The statuses `self` may move to.
    ///
    /// - Forward one step at a time: planned, scheduled, en route, in progress, completed.
    ///   Skipping steps would skip the customer texts that the steps send.
    /// - Back one step before the work starts: a scheduled visit may be unscheduled, a
    ///   technician on the way may turn back (the visit stays scheduled).
    /// - Any open work may be cancelled, also while in progress (the customer calls it off on
    ///   the doorstep); completed and cancelled work is final and keeps its record.
    pub fn next(self) -> &'static [WorkStatus] {
        use WorkStatus::*;
        match self {
            Planned => &[Scheduled, Cancelled],
            Scheduled => &[Planned, EnRoute, Cancelled],
            EnRoute => &[Scheduled, InProgress, Cancelled],
            InProgress => &[Completed, Cancelled],
            Completed | Cancelled => &[],
        }
    }

    /// Ok when `self` may become `to` (staying the same is no transition and always allowed).
    pub fn check_transition(
        self,
        to: WorkStatus,
        what: &'static str,
    ) -> Result<(), IllegalTransition> {
        if self == to || self.next().contains(&to) {
            Ok(())
        } else {
            Err(IllegalTransition {
                what,
                from: self,
                to,
            })
        }
    }

    /// Past planning: the work has a time and someone to do it.
    fn needs_schedule(self) -> bool {
        matches!(
            self,
            WorkStatus::Scheduled
                | WorkStatus::EnRoute
                | WorkStatus::InProgress
                | WorkStatus::Completed
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum TaskStatus {
    #[default]
    Open,
    Done,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    pub title: String,
    pub status: TaskStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
}

/// A time window, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

impl Window {
    fn to_input(self) -> WindowInput {
        WindowInput {
            start: Some(self.start.to_rfc3339()),
            end: Some(self.end.to_rfc3339()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkOrderInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<WorkOrderKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<WorkStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technician: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_centre: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskInput>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<ArticleLineInput>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkOrderFields {
    pub kind: WorkOrderKind,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub site_id: String,
    pub status: WorkStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// The assigned technician's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technician: Option<String>,
    /// The customer's contact for this work (texts go to it); none: the primary contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// The customer's own order (purchase order) number for this work, for its invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// The customer's cost centre the work is booked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_centre: Option<String>,
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// What the work charges for (see `articles`).
    #[serde(default)]
    pub lines: Vec<ArticleLine>,
}

impl WorkOrderFields {
    pub fn to_input(&self) -> WorkOrderInput {
        WorkOrderInput {
            kind: Some(self.kind),
            title: Some(self.title.clone()),
            description: self.description.clone(),
            site_id: Some(self.site_id.clone()),
            status: Some(self.status),
            window: self.window.map(Window::to_input),
            technician: self.technician.clone(),
            contact_id: self.contact_id.clone(),
            order_number: self.order_number.clone(),
            cost_centre: self.cost_centre.clone(),
            lines: Some(self.lines.iter().map(ArticleLine::to_input).collect()),
            tasks: Some(
                self.tasks
                    .iter()
                    .map(|t| TaskInput {
                        id: Some(t.id.clone()),
                        title: Some(t.title.clone()),
                        status: Some(t.status),
                    })
                    .collect(),
            ),
        }
    }

    /// The work order as a cancellation leaves it: cancelled, and its open tasks with it (done
    /// tasks stay done: they were done).
    pub fn cancelled(&self) -> WorkOrderFields {
        let mut after = self.clone();
        after.status = WorkStatus::Cancelled;
        for task in &mut after.tasks {
            if task.status == TaskStatus::Open {
                task.status = TaskStatus::Cancelled;
            }
        }
        after
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkOrder {
    /// A ULID: a customer's work orders sort by creation.
    pub id: String,
    pub customer_id: CustomerId,
    #[serde(flatten)]
    pub fields: WorkOrderFields,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub version: u64,
    /// The currency of the lines' unit prices: the customer's when the work order was made
    /// (absent on work orders made before lines existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl WorkOrder {
    pub fn new(
        customer: CustomerId,
        fields: WorkOrderFields,
        user: &str,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            customer_id: customer,
            fields,
            created_at: now,
            created_by: user.to_owned(),
            updated_at: now,
            updated_by: user.to_owned(),
            version: 1,
            currency: None,
        }
    }

    /// A new work order of `customer`, completed from its card (seed 001): the card's cost
    /// centre unless one is given, the card's work-order default articles as its lines unless
    /// the body named its lines (`lines_given`, also as an empty list: the caller then says
    /// which lines it has), time lines with hours dated `today`, prices in the customer's
    /// currency.
    pub fn for_customer(
        customer: &Customer,
        mut fields: WorkOrderFields,
        lines_given: bool,
        user: &str,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Self {
        let card = &customer.fields;
        if fields.cost_centre.is_none() {
            fields.cost_centre = card.cost_centre.clone();
        }
        if !lines_given {
            fields.lines = default_lines(&card.default_articles);
        }
        date_entered_hours(&[], &mut fields.lines, today);
        Self {
            currency: Some(card.terms.currency.clone()),
            ..Self::new(customer.id.clone(), fields, user, now)
        }
    }

    /// The work order cancelled, with its open tasks, by `by`.
    pub fn cancel(&self, by: &str, now: DateTime<Utc>) -> WorkOrder {
        self.changed(self.fields.cancelled(), by, now)
    }

    /// The next version with `fields`, changed by `by`.
    pub fn changed(&self, fields: WorkOrderFields, by: &str, now: DateTime<Utc>) -> WorkOrder {
        WorkOrder {
            fields,
            version: self.version + 1,
            updated_at: now,
            updated_by: by.to_owned(),
            ..self.clone()
        }
    }
}

/// Why a change to a work order or a job is refused although every field is valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkConflict {
    #[error("the {0} is {status}; nothing about it changes any more", status = .1.as_str())]
    Closed(&'static str, WorkStatus),
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
}

/// Checks a change of status (and that closed work stays as it is); the fields themselves are
/// validated by [`validate_work_order`] / [`validate_job`].
pub fn check_change(
    what: &'static str,
    before: WorkStatus,
    after: WorkStatus,
) -> Result<(), WorkConflict> {
    if !before.is_open() {
        return Err(WorkConflict::Closed(what, before));
    }
    before.check_transition(after, what)?;
    Ok(())
}

/// Validates a work order (on create and, merged with the stored one, on change). Whether the
/// site and contact are the customer's is for the caller to check. New tasks and lines get ids
/// here; time lines are dated by [`date_entered_hours`], which needs what was stored.
pub fn validate_work_order(input: WorkOrderInput) -> Result<WorkOrderFields, ValidationErrors> {
    let mut errors = Vec::new();
    let kind = input.kind;
    if kind.is_none() {
        errors.push(FieldError::required("/kind"));
    }
    let title = required_text("/title", input.title, WORK_ORDER_TITLE_MAX, &mut errors);
    let description = optional_text(
        "/description",
        input.description,
        WORK_ORDER_DESCRIPTION_MAX,
        &mut errors,
    );
    let site_id = trimmed(input.site_id);
    if site_id.is_none() {
        errors.push(FieldError::required("/siteId"));
    }
    let status = input.status.unwrap_or_default();
    let window = input
        .window
        .and_then(|w| validate_window("/window", w, &mut errors));
    let technician = technician("/technician", input.technician, &mut errors);
    if status.needs_schedule() {
        if window.is_none() && !errors.iter().any(|e| e.field.starts_with("/window")) {
            errors.push(needed_for("/window", status));
        }
        if technician.is_none() && !errors.iter().any(|e| e.field == "/technician") {
            errors.push(needed_for("/technician", status));
        }
    }
    let contact_id = trimmed(input.contact_id);
    let order_number = optional_text(
        "/orderNumber",
        input.order_number,
        crate::validation::REFERENCE_MAX,
        &mut errors,
    );
    let cost_centre = optional_text(
        "/costCentre",
        input.cost_centre,
        crate::validation::REFERENCE_MAX,
        &mut errors,
    );
    let tasks = validate_tasks(input.tasks.unwrap_or_default(), &mut errors);
    let lines = validate_lines(input.lines.unwrap_or_default(), &mut errors);
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }
    Ok(WorkOrderFields {
        kind: kind.expect("checked above"),
        title: title.expect("checked above"),
        description,
        site_id: site_id.expect("checked above"),
        status,
        window,
        technician,
        contact_id,
        order_number,
        cost_centre,
        tasks,
        lines,
    })
}

fn needed_for(field: &str, status: WorkStatus) -> FieldError {
    FieldError::new(
        field,
        "required",
        format!(
            "Work that is {} needs a time window and a technician.",
            status.as_str()
        ),
    )
}

fn validate_tasks(tasks: Vec<TaskInput>, errors: &mut Vec<FieldError>) -> Vec<Task> {
    if tasks.len() > TASKS_MAX {
        errors.push(FieldError::too_many("/tasks", TASKS_MAX));
        return Vec::new();
    }
    let mut valid: Vec<Task> = Vec::with_capacity(tasks.len());
    for (i, task) in tasks.into_iter().enumerate() {
        let field = format!("/tasks/{i}");
        let title = required_text(
            &format!("{field}/title"),
            task.title,
            TASK_TITLE_MAX,
            errors,
        );
        let id = trimmed(task.id).unwrap_or_else(|| ulid::Ulid::new().to_string());
        if valid.iter().any(|t| t.id == id) {
            errors.push(FieldError::new(
                format!("{field}/id"),
                "duplicate",
                "Two tasks have this id.",
            ));
        }
        if let Some(title) = title {
            valid.push(Task {
                id,
                title,
                status: task.status.unwrap_or_default(),
            });
        }
    }
    valid
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technicians: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<WorkStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_technician_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFields {
    pub window: Window,
    /// User ids of the technicians on the visit; the first leads it.
    pub technicians: Vec<String>,
    /// The first name the customer's texts give for the technician leading the visit (user
    /// ids are not names, and the register keeps no user directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_technician_name: Option<String>,
    pub status: WorkStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl JobFields {
    pub fn to_input(&self) -> JobInput {
        JobInput {
            window: Some(self.window.to_input()),
            technicians: Some(self.technicians.clone()),
            status: Some(self.status),
            note: self.note.clone(),
            lead_technician_name: self.lead_technician_name.clone(),
        }
    }
}

/// A visit: one scheduled time at the work order's site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    pub customer_id: CustomerId,
    pub work_order_id: String,
    /// The work order's site when the job was made (tickets of the job count there).
    pub site_id: String,
    #[serde(flatten)]
    pub fields: JobFields,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub version: u64,
}

impl Job {
    pub fn new(work_order: &WorkOrder, fields: JobFields, user: &str, now: DateTime<Utc>) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            customer_id: work_order.customer_id.clone(),
            work_order_id: work_order.id.clone(),
            site_id: work_order.fields.site_id.clone(),
            fields,
            created_at: now,
            created_by: user.to_owned(),
            updated_at: now,
            updated_by: user.to_owned(),
            version: 1,
        }
    }

    /// The job cancelled by `by`.
    pub fn cancel(&self, by: &str, now: DateTime<Utc>) -> Job {
        let fields = JobFields {
            status: WorkStatus::Cancelled,
            ..self.fields.clone()
        };
        self.changed(fields, by, now)
    }

    pub fn changed(&self, fields: JobFields, by: &str, now: DateTime<Utc>) -> Job {
        Job {
            fields,
            version: self.version + 1,
            updated_at: now,
            updated_by: by.to_owned(),
            ..self.clone()
        }
    }
}

/// Validates a job. A job is a scheduled visit: it starts scheduled, never planned.
pub fn validate_job(input: JobInput) -> Result<JobFields, ValidationErrors> {
    let mut errors = Vec::new();
    let window = match input.window {
        Some(w) => validate_window("/window", w, &mut errors),
        None => {
            errors.push(FieldError::required("/window"));
            None
        }
    };
    let technicians = input.technicians.unwrap_or_default();
    if technicians.is_empty() {
        errors.push(FieldError::required("/technicians"));
    } else if technicians.len() > JOB_TECHNICIANS_MAX {
        errors.push(FieldError::too_many("/technicians", JOB_TECHNICIANS_MAX));
    }
    for (i, user) in technicians.iter().enumerate() {
        if !is_user_id(user) {
            errors.push(bad_user(&format!("/technicians/{i}")));
        } else if technicians[..i].contains(user) {
            errors.push(FieldError::new(
                format!("/technicians/{i}"),
                "duplicate",
                "This technician is named twice.",
            ));
        }
    }
    let status = input.status.unwrap_or(WorkStatus::Scheduled);
    if status == WorkStatus::Planned {
        errors.push(FieldError::new(
            "/status",
            "invalid_status",
            "A job is a scheduled visit; it cannot be planned. Cancel it instead.",
        ));
    }
    let note = optional_text("/note", input.note, JOB_NOTE_MAX, &mut errors);
    let lead_technician_name = optional_text(
        "/leadTechnicianName",
        input.lead_technician_name,
        crate::texts::TECHNICIAN_NAME_MAX,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ValidationErrors(errors));
    }
    Ok(JobFields {
        window: window.expect("checked above"),
        technicians,
        lead_technician_name,
        status,
        note,
    })
}

fn validate_window(
    field: &str,
    input: WindowInput,
    errors: &mut Vec<FieldError>,
) -> Option<Window> {
    let start = instant(&format!("{field}/start"), input.start, errors);
    let end = instant(&format!("{field}/end"), input.end, errors);
    let (start, end) = (start?, end?);
    if end <= start {
        errors.push(FieldError::new(
            format!("{field}/end"),
            "before_start",
            "The window ends before it starts.",
        ));
        return None;
    }
    if end - start > Duration::days(WINDOW_DAYS_MAX) {
        errors.push(FieldError::new(
            format!("{field}/end"),
            "too_long",
            format!("A window is at most {WINDOW_DAYS_MAX} days."),
        ));
        return None;
    }
    Some(Window { start, end })
}

fn instant(
    field: &str,
    value: Option<String>,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let Some(value) = trimmed(value) else {
        errors.push(FieldError::required(field));
        return None;
    };
    match DateTime::parse_from_rfc3339(&value) {
        Ok(at) => Some(at.with_timezone(&Utc)),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "invalid_datetime",
                format!("{value:?} is not a date and time with offset (RFC 3339)."),
            ));
            None
        }
    }
}

fn technician(field: &str, value: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = trimmed(value)?;
    if is_user_id(&value) {
        Some(value)
    } else {
        errors.push(bad_user(field));
        None
    }
}

fn bad_user(field: &str) -> FieldError {
    FieldError::new(
        field,
        "invalid_user",
        "A user id is 1 to 128 printable characters without '#'.",
    )
}

pub(crate) fn required_text(
    field: &str,
    value: Option<String>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = trimmed(value);
    match &value {
        None => errors.push(FieldError::required(field)),
        Some(v) if v.chars().count() > max => errors.push(FieldError::too_long(field, max)),
        _ => return value,
    }
    None
}

pub(crate) fn optional_text(
    field: &str,
    value: Option<String>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = trimmed(value)?;
    if value.chars().count() > max {
        errors.push(FieldError::too_long(field, max));
        return None;
    }
    Some(value)
}

pub(crate) fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use WorkStatus::*;

    fn codes(e: ValidationErrors) -> Vec<String> {
        e.0.into_iter()
            .map(|f| format!("{} {}", f.field, f.code))
            .collect()
    }

    fn work_order(input: serde_json::Value) -> Result<WorkOrderFields, Vec<String>> {
        validate_work_order(serde_json::from_value(input).unwrap()).map_err(codes)
    }

    fn job(input: serde_json::Value) -> Result<JobFields, Vec<String>> {
        validate_job(serde_json::from_value(input).unwrap()).map_err(codes)
    }

    const WINDOW: &str =
        r#"{"start": "2026-12-02T08:00:00+01:00", "end": "2026-12-02T10:00:00+01:00"}"#;

    fn window() -> serde_json::Value {
        serde_json::from_str(WINDOW).unwrap()
    }

    #[test]
    fn the_state_machine_moves_one_step_at_a_time() {
        let all = [
            Planned, Scheduled, EnRoute, InProgress, Completed, Cancelled,
        ];
        let allowed = |from: WorkStatus, to: WorkStatus| from.check_transition(to, "job").is_ok();
        let forward = [
            (Planned, Scheduled),
            (Scheduled, EnRoute),
            (EnRoute, InProgress),
            (InProgress, Completed),
        ];
        for (from, to) in forward {
            assert!(allowed(from, to), "{from:?} -> {to:?}");
        }
        assert!(allowed(Scheduled, Planned) && allowed(EnRoute, Scheduled));
        assert!(!allowed(Planned, Completed) && !allowed(Scheduled, InProgress));
        assert!(!allowed(InProgress, Scheduled));
        for from in all {
            assert!(allowed(from, from), "staying is no transition");
            assert_eq!(allowed(from, Cancelled), from != Completed);
        }
        for to in all {
            assert_eq!(allowed(Completed, to), to == Completed);
            assert_eq!(allowed(Cancelled, to), to == Cancelled);
        }
    }

    #[test]
    fn closed_work_refuses_every_change() {
        assert_eq!(
            check_change("work order", Completed, Completed),
            Err(WorkConflict::Closed("work order", Completed))
        );
        assert_eq!(
            check_change("work order", Planned, Completed)
                .unwrap_err()
                .to_string(),
            "a work order that is planned cannot become completed"
        );
        assert_eq!(check_change("job", Scheduled, EnRoute), Ok(()));
    }

    #[test]
    fn a_work_order_needs_a_kind_a_title_and_a_site() {
        assert_eq!(
            work_order(json!({})),
            Err(vec![
                "/kind required".into(),
                "/title required".into(),
                "/siteId required".into()
            ])
        );
        let ok = work_order(
            json!({"kind": "faultReport", "title": " Leak ", "siteId": "S",
                                   "tasks": [{"title": "Find it"}]}),
        )
        .unwrap();
        assert_eq!(ok.title, "Leak");
        assert_eq!(ok.status, Planned);
        assert_eq!(ok.tasks[0].status, TaskStatus::Open);
        assert_eq!(ok.tasks[0].id.len(), 26);
    }

    #[test]
    fn scheduled_work_needs_a_window_and_a_technician() {
        assert_eq!(
            work_order(
                json!({"kind": "order", "title": "T", "siteId": "S", "status": "scheduled"})
            ),
            Err(vec![
                "/window required".into(),
                "/technician required".into()
            ])
        );
        let ok = work_order(json!({"kind": "order", "title": "T", "siteId": "S",
            "status": "scheduled", "window": window(), "technician": "tech-1"}))
        .unwrap();
        assert_eq!(
            ok.window.unwrap().start.to_rfc3339(),
            "2026-12-02T07:00:00+00:00"
        );
    }

    #[test]
    fn windows_are_read_and_checked() {
        let bad =
            |w: serde_json::Value| job(json!({"window": w, "technicians": ["t"]})).unwrap_err();
        assert_eq!(
            bad(json!({"start": "2026-12-02 08:00", "end": "2026-12-02T10:00:00Z"})),
            vec!["/window/start invalid_datetime".to_string()]
        );
        assert_eq!(
            bad(json!({"start": "2026-12-02T10:00:00Z", "end": "2026-12-02T10:00:00Z"})),
            vec!["/window/end before_start".to_string()]
        );
        assert_eq!(
            bad(json!({"start": "2026-12-02T10:00:00Z", "end": "2027-02-02T10:00:00Z"})),
            vec!["/window/end too_long".to_string()]
        );
    }

    #[test]
    fn a_job_is_a_scheduled_visit_with_technicians() {
        assert_eq!(
            job(json!({})),
            Err(vec![
                "/window required".into(),
                "/technicians required".into()
            ])
        );
        assert_eq!(
            job(json!({"window": window(), "technicians": ["a", "a", "b#c"], "status": "planned"})),
            Err(vec![
                "/technicians/1 duplicate".into(),
                "/technicians/2 invalid_user".into(),
                "/status invalid_status".into()
            ])
        );
        let ok = job(json!({"window": window(), "technicians": ["a", "b"]})).unwrap();
        assert_eq!(ok.status, Scheduled);
    }

    #[test]
    fn cancelling_cancels_the_open_tasks_and_keeps_the_done_ones() {
        let fields = work_order(json!({"kind": "order", "title": "T", "siteId": "S",
            "tasks": [{"title": "a", "status": "done"}, {"title": "b"}]}))
        .unwrap();
        let after = fields.cancelled();
        assert_eq!(after.status, Cancelled);
        let statuses: Vec<TaskStatus> = after.tasks.iter().map(|t| t.status).collect();
        assert_eq!(statuses, [TaskStatus::Done, TaskStatus::Cancelled]);
    }

    #[test]
    fn tasks_keep_their_ids_through_the_input_and_are_bounded() {
        let fields = work_order(json!({"kind": "quotation", "title": "T", "siteId": "S",
            "window": window(), "technician": "t", "tasks": [{"title": "a"}]}))
        .unwrap();
        assert_eq!(validate_work_order(fields.to_input()).unwrap(), fields);
        let many: Vec<_> = (0..101)
            .map(|i| json!({"title": format!("t{i}")}))
            .collect();
        assert_eq!(
            work_order(json!({"kind": "order", "title": "T", "siteId": "S", "tasks": many})),
            Err(vec!["/tasks too_many".into()])
        );
        assert_eq!(
            work_order(json!({"kind": "order", "title": "T", "siteId": "S",
                "tasks": [{"id": "x", "title": "a"}, {"id": "x", "title": "b"}]})),
            Err(vec!["/tasks/1/id duplicate".into()])
        );
    }

    fn customer_with_defaults() -> Customer {
        let input = serde_json::from_value(json!({
        "customerNumber": "1", "companyName": "Berg AB", "costCentre": "CC-7",
        "terms": {"currency": "SEK"},
        "defaultArticles": [
            {"articleNumber": "T-1", "kind": "workOrder", "articleType": "time",
             "quantity": "0", "unit": "h", "unitPrice": 65000},
            {"articleNumber": "T-2", "kind": "workOrder", "articleType": "time",
             "quantity": "1"},
            {"articleNumber": "S-1", "kind": "service", "quantity": "1"}
        ]}))
        .unwrap();
        let fields = crate::validate_customer(input, &Default::default()).unwrap();
        Customer::new(fields, "u", Utc::now())
    }

    #[test]
    fn a_new_work_order_takes_the_card_s_cost_centre_articles_and_currency() {
        let customer = customer_with_defaults();
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let new = |input: serde_json::Value| {
            let lines_given = input.get("lines").is_some();
            let fields = work_order(input).unwrap();
            WorkOrder::for_customer(&customer, fields, lines_given, "u", Utc::now(), today)
        };
        let plain = new(json!({"kind": "order", "title": "T", "siteId": "S"}));
        assert_eq!(plain.fields.cost_centre.as_deref(), Some("CC-7"));
        assert_eq!(plain.currency.as_deref(), Some("SEK"));
        let lines: Vec<(&str, Option<NaiveDate>)> = plain
            .fields
            .lines
            .iter()
            .map(|l| (l.article_number.as_str(), l.date))
            .collect();
        assert_eq!(lines, [("T-1", None), ("T-2", Some(today))]);

        let chosen = new(json!({"kind": "order", "title": "T", "siteId": "S",
            "costCentre": "CC-9", "lines": []}));
        assert_eq!(chosen.fields.cost_centre.as_deref(), Some("CC-9"));
        assert!(chosen.fields.lines.is_empty(), "the body said which lines");
    }

    #[test]
    fn user_ids_are_what_identity_providers_issue() {
        assert!(is_user_id("auth0|5f7c8ec7c33c6c004bbafe82"));
        assert!(!is_user_id("") && !is_user_id("a#b") && !is_user_id("a b"));
        assert!(!is_user_id(&"x".repeat(129)));
    }
}
