//! The import function: S3 tells the imports queue about a new file, SQS invokes this
//! function, and it streams the file through the CSV reader (`shared/import`) into the table,
//! a chunk of rows per transaction with the checkpoint that follows it. A file that does not
//! fit in one invocation is handed to the next through the same queue. See docs/imports.md.

mod export;
mod importer;
pub mod location;
pub mod messages;
mod start;
mod turns;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use store::CustomerStore;

pub use importer::{ImportError, MAX_FILE_BYTES};
pub use start::process;
pub use turns::DEFER_SECONDS;

/// What every invocation needs, built once per cold start.
#[derive(Clone)]
pub struct App {
    pub store: CustomerStore,
    /// The imports bucket: its files, error reports and export files.
    pub bucket: kit::objects::Bucket,
    /// The imports queue, for handing the rest of a file over and deferring a file.
    pub queue: kit::queue::Queue,
    /// Rows one invocation handles before handing over (`IMPORT_ROWS_PER_INVOCATION`; none:
    /// as many as the time allows).
    pub rows_per_invocation: Option<u64>,
    /// How many invocations may work on one organisation's imports at once
    /// (`IMPORT_SLOTS_PER_ORGANISATION`; see `turns`).
    pub slots_per_organisation: u32,
}

impl App {
    pub async fn from_env() -> Result<Self, String> {
        let config = kit::aws::sdk_config().await;
        let rows = kit::aws::required_env("IMPORT_ROWS_PER_INVOCATION")
            .ok()
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("IMPORT_ROWS_PER_INVOCATION is not a number: {v:?}"))
            })
            .transpose()?
            .filter(|rows| *rows > 0);
        let slots = kit::aws::required_env("IMPORT_SLOTS_PER_ORGANISATION")?;
        let slots_per_organisation = slots
            .parse::<u32>()
            .ok()
            .filter(|slots| *slots > 0)
            .ok_or_else(|| {
                format!("IMPORT_SLOTS_PER_ORGANISATION is not a positive number: {slots:?}")
            })?;
        Ok(Self {
            store: CustomerStore::new(&config, kit::aws::required_env("TABLE_NAME")?),
            bucket: kit::objects::Bucket::new(&config, kit::aws::required_env("IMPORTS_BUCKET")?),
            queue: kit::queue::Queue::new(&config, kit::aws::required_env("IMPORTS_QUEUE_URL")?),
            rows_per_invocation: rows,
            slots_per_organisation,
        })
    }
}

/// One SQS batch. A message whose work failed in a way a retry can cure is reported back
/// (partial batch response) and comes again; SQS moves it to the dead-letter queue after
/// five receives. Everything else is done, or recorded, and deleted.
pub async fn handle(app: &App, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let invocation = kit::logging::Invocation::start();
    let deadline = deadline_of(&event.context);
    let mut response = SqsBatchResponse::default();
    let tenants = tenants_of(&event.payload);
    let records = event.payload.records.len();
    for message in event.payload.records {
        let id = message.message_id.unwrap_or_default();
        let body = message.body.unwrap_or_default();
        if let Err(error) = start::process(app, &body, deadline).await {
            tracing::error!(message_id = %id, error = %error, "import message failed; SQS delivers it again");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    let reported = serde_json::to_value(&response).unwrap_or_default();
    invocation.finish(
        FUNCTION,
        &event.context.request_id,
        &tenants,
        records,
        &reported,
    );
    Ok(response)
}

/// The name this function's metrics and log lines go by.
pub(crate) const FUNCTION: &str = "customers-import";

/// The distinct organisations whose files a batch is about, for its log line.
fn tenants_of(event: &SqsEvent) -> Vec<String> {
    let mut tenants: Vec<String> = event
        .records
        .iter()
        .filter_map(|message| messages::parse(message.body.as_deref()?).ok())
        .flat_map(|message| match message {
            messages::Message::Created(objects) => objects
                .iter()
                .filter_map(|object| location::locate(&object.key).ok())
                .map(|location| location.tenant.as_str().to_owned())
                .collect(),
            messages::Message::Continue(continuation) => vec![continuation.tenant],
            messages::Message::Export(job) => vec![job.tenant],
            messages::Message::Ignore(_) => Vec::new(),
        })
        .collect();
    tenants.sort();
    tenants.dedup();
    tenants
}

/// When the invocation must have answered, as an `Instant`.
fn deadline_of(context: &lambda_runtime::Context) -> std::time::Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = context.deadline.saturating_sub(now_ms);
    std::time::Instant::now() + Duration::from_millis(left)
}
