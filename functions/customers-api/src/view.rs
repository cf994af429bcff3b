//! What clients see of a customer: the stored card plus what they would otherwise compute
//! themselves and get wrong (display name, whether new work may be called off and why not);
//! and what they see of an import.

use chrono::{DateTime, Utc};
use domain::{CallOffRefusal, Customer};
use serde::Serialize;
use store::{ExportRecord, ExportStatus, ImportRecord, ImportSource, ImportStatus};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView<'a> {
    #[serde(flatten)]
    customer: &'a Customer,
    display_name: String,
    /// The phone as its country writes it, with its extension ("(201) 555-0147 ext. 718").
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_display: Option<String>,
    call_off: CallOff,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallOff {
    allowed: bool,
    refusals: Vec<CallOffRefusal>,
}

impl<'a> CustomerView<'a> {
    /// `number_in_name`: the organisation shows the number before the name ("10023 Acme AB").
    pub fn of(customer: &'a Customer, number_in_name: bool) -> Self {
        let refusals = customer.may_call_off().err().unwrap_or_default();
        let name = customer.fields.display_name();
        Self {
            customer,
            display_name: if number_in_name {
                format!("{} {name}", customer.fields.customer_number)
            } else {
                name
            },
            phone_display: customer.fields.phone.as_deref().map(|phone| {
                domain::display_phone(phone, customer.fields.phone_extension.as_deref())
            }),
            call_off: CallOff {
                allowed: refusals.is_empty(),
                refusals,
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPage<'a> {
    pub items: Vec<CustomerView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub fn page(
    customers: &[Customer],
    next_cursor: Option<String>,
    number_in_name: bool,
) -> CustomerPage<'_> {
    CustomerPage {
        items: customers
            .iter()
            .map(|c| CustomerView::of(c, number_in_name))
            .collect(),
        next_cursor,
    }
}

/// What clients see of an import: its progress and outcome. The object key, the ETag of the
/// file, the checkpoint and the record's version are the import function's business.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportView<'a> {
    id: &'a str,
    status: ImportStatus,
    source: ImportSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_by: Option<&'a str>,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<DateTime<Utc>>,
    counts: ImportCountsView,
    invocations: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'a str>,
    /// The route that hands out the error report, once there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    error_report: Option<String>,
    /// Read and validated, nothing written.
    dry_run: bool,
    /// The mapping the upload was requested with (header name -> field).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    requested_mapping: &'a std::collections::BTreeMap<String, String>,
    /// How the import understood the file, once its header is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    mapping: Option<&'a serde_json::Value>,
    /// What the import noticed that people should know: ignored columns that look like data,
    /// rows nothing identifies.
    warnings: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportCountsView {
    rows_read: u64,
    created: u64,
    updated: u64,
    unchanged: u64,
    failed: u64,
    without_key: u64,
    phones_left_out: u64,
    possible_duplicates: u64,
}

impl<'a> ImportView<'a> {
    pub fn of(record: &'a ImportRecord) -> Self {
        let counts = &record.counts;
        Self {
            id: &record.id,
            status: record.status,
            source: record.source,
            file_name: record.file_name.as_deref(),
            requested_by: record.requested_by.as_deref(),
            created_at: record.created_at,
            started_at: record.started_at,
            finished_at: record.finished_at,
            counts: ImportCountsView {
                rows_read: counts.rows_read,
                created: counts.created,
                updated: counts.updated,
                unchanged: counts.unchanged,
                failed: counts.failed,
                without_key: counts.without_key,
                phones_left_out: counts.phones_left_out,
                possible_duplicates: counts.possible_duplicates,
            },
            invocations: record.invocations,
            failure: record.failure.as_deref(),
            error_report: record
                .error_report_key
                .as_ref()
                .map(|_| format!("/imports/{}/errors", record.id)),
            dry_run: record.request.dry_run,
            requested_mapping: &record.request.mapping,
            mapping: record.mapping.as_ref(),
            warnings: warnings(record),
        }
    }
}

/// The mapping's warnings, one for rows created without a number or an external id, and
/// one for possible duplicates.
fn warnings(record: &ImportRecord) -> Vec<String> {
    let mut warnings: Vec<String> = record
        .mapping
        .as_ref()
        .and_then(|m| m.get("warnings"))
        .and_then(|w| serde_json::from_value(w.clone()).ok())
        .unwrap_or_default();
    let keyless = record.counts.without_key;
    if keyless > 0 {
        let verb = if record.request.dry_run {
            "would be"
        } else {
            "were"
        };
        warnings.push(format!(
            "{keyless} row(s) had neither a customer number nor an external id and {verb} \
             created as new customers: importing the file again creates them again. Give \
             them a number or an id column (such as \"Customer Id\") to make re-imports \
             update them."
        ));
    }
    let left_out = record.counts.phones_left_out;
    if left_out > 0 {
        let first = record
            .counts
            .first_phone_left_out
            .map(|line| format!(" (the first on line {line})"))
            .unwrap_or_default();
        warnings.push(format!(
            "{left_out} phone number(s) of columns such as \"Phone 1\" or \"Work Phone\" are \
             no valid number of their row's country{first} and were left out; their customers \
             were imported without them. Write them with their country code (+1 ...) to import \
             them."
        ));
    }
    let duplicates = record.counts.possible_duplicates;
    if duplicates > 0 {
        warnings.push(format!(
            "{duplicates} new customer(s) have the same e-mail or phone number as an existing \
             customer (possible duplicates). The error report names each row \
             (possible_duplicate) and the customer it resembles."
        ));
    }
    warnings
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportPage<'a> {
    pub items: Vec<ImportView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub fn import_page(records: &[ImportRecord], next_cursor: Option<String>) -> ImportPage<'_> {
    ImportPage {
        items: records.iter().map(ImportView::of).collect(),
        next_cursor,
    }
}

/// What clients see of a bulk change: what was asked and by whom, and how far it got; not the
/// roles it is judged with nor where its next page starts.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkChangeView<'a> {
    pub id: &'a str,
    pub status: store::BulkStatus,
    pub selection: &'a store::Selection,
    pub change: &'a domain::CardChange,
    pub requested_by: &'a str,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    pub totals: store::BulkTotals,
    pub refused: &'a [store::RefusedCustomer],
}

impl<'a> BulkChangeView<'a> {
    pub fn of(record: &'a store::BulkChangeRecord) -> Self {
        Self {
            id: &record.id,
            status: record.status,
            selection: &record.selection,
            change: &record.change,
            requested_by: &record.requested_by,
            created_at: record.created_at,
            started_at: record.started_at,
            finished_at: record.finished_at,
            totals: record.totals,
            refused: &record.refused,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkChangePage<'a> {
    pub items: Vec<BulkChangeView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub fn bulk_change_page(
    records: &[store::BulkChangeRecord],
    next_cursor: Option<String>,
) -> BulkChangePage<'_> {
    BulkChangePage {
        items: records.iter().map(BulkChangeView::of).collect(),
        next_cursor,
    }
}

/// What clients see of a customer export: what was asked, its progress, and once completed a
/// short-lived URL of the file. The stored query, object key and version are the writer's
/// business.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportView<'a> {
    id: &'a str,
    status: ExportStatus,
    /// The list's query parameters the export was asked with.
    filters: &'a std::collections::BTreeMap<String, String>,
    requested_by: &'a str,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<DateTime<Utc>>,
    /// Customers written to the file.
    rows: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    download: Option<crate::bucket::Presigned>,
}

impl<'a> ExportView<'a> {
    pub fn of(record: &'a ExportRecord, download: Option<crate::bucket::Presigned>) -> Self {
        Self {
            id: &record.id,
            status: record.status,
            filters: &record.filters,
            requested_by: &record.requested_by,
            created_at: record.created_at,
            started_at: record.started_at,
            finished_at: record.finished_at,
            rows: record.rows,
            size_bytes: record.size_bytes,
            failure: record.failure.as_deref(),
            download,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportPage<'a> {
    pub items: Vec<ExportView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub fn export_page(records: &[ExportRecord], next_cursor: Option<String>) -> ExportPage<'_> {
    ExportPage {
        items: records.iter().map(|r| ExportView::of(r, None)).collect(),
        next_cursor,
    }
}
