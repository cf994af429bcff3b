//! One invocation's work on one import: take the import over, read the file from its
//! checkpoint, resolve each batch of rows against the table, write the batch's blocks of rows
//! side by side (a round of transactions, one per lane, then the record counts them), and at
//! the end write the error report. Runs on a blocking thread: the CSV reader reads
//! synchronously from the S3 body stream; each step's store calls go out together.
//!
//! Why blocks may commit side by side: a batch's rows claim distinct customers, numbers and
//! references (a second row for one of them is a repeat, written nowhere), so its blocks touch
//! distinct items, and the first row for a key is the one applied, in file order. A block
//! refused by a concurrent change is resolved and written again while the blocks after it
//! stand; the record keeps them as done ahead of its checkpoint until the gap closes, and a
//! resumed import skips their rows (see the store's `imports` module).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::{
    ChangeKind, Customer, CustomerId, FieldError, HistoryEntry, Settings, ValidationContext,
};
use import::{
    Checkpoint, ColumnOverride, ErrorReportWriter, FileError, FileMapping, HeaderMap,
    HeaderSnapshot, ImportOptions, ImportReader, MissingNumber, RowError, RowKey, ValidRow,
    unnumbered_file, update_from_row,
};
use sha2::{Digest, Sha256};
use store::{
    CHUNK_OVERHEAD, ChunkError, CustomerChange, ErrorChunk, ImportBlock, ImportCounts,
    ImportRecord, ImportRequest, ImportStatus, PreparedChange, RowSpan, StoreError,
    TRANSACTION_ITEMS, TenantId,
};
use tokio::runtime::Handle;
use tokio_util::io::SyncIoBridge;

use kit::objects::Get;

use crate::App;
use crate::messages::{Continuation, continuation_body};

/// Rows read and resolved together: their keys and cards in BatchGetItems of 100 side by side,
/// then written in one round of blocks (about 14 new customers each, one per lane).
const BATCH_ROWS: usize = 400;
/// An error chunk is one item; DynamoDB items stop at 400 KB.
const ERROR_CHUNK_BYTES: usize = 256 * 1024;
/// Time left for handing over: saving what was seen and queueing the continuation.
const HANDOVER_TIME: Duration = Duration::from_secs(20);
/// Possible-duplicate lookups of a batch's new customers in flight at once (each one to
/// three queries): enough that a batch waits a few round trips, not hundreds.
const DUPLICATE_LOOKUPS: usize = 64;
/// Tries of a batch whose rows keep meeting concurrent changes before those rows fail.
const CONFLICT_ATTEMPTS: usize = 3;
/// The largest file imported; the API's upload policy refuses a larger one before it is
/// stored, a file dropped straight into the bucket is refused here.
pub use import::MAX_FILE_BYTES;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Throttling, a timeout, an unreachable service: the message comes again and the import
    /// resumes from its last checkpoint.
    #[error("retry later: {0}")]
    Retry(String),
    #[error("{0}")]
    Unrecognised(String),
}

impl From<StoreError> for ImportError {
    fn from(error: StoreError) -> Self {
        ImportError::Retry(error.to_string())
    }
}

/// Works on `record` until the file ends or the invocation's budget does.
pub async fn run(
    app: &App,
    tenant: TenantId,
    record: ImportRecord,
    deadline: Instant,
) -> Result<(), ImportError> {
    let counted_from = record.counts;
    let importer = Importer {
        app: app.clone(),
        tenant,
        record,
        deadline,
        rows_this_invocation: 0,
        counted_from,
        runtime: Handle::current(),
        by: String::new(),
        dry_written: HashSet::new(),
        dry_numbers_drawn: 0,
        epoch: 0,
        rounds: 0,
        rows_start: 0,
    };
    tokio::task::spawn_blocking(move || importer.run())
        .await
        .map_err(|e| ImportError::Retry(format!("the import thread ended: {e}")))?
}

struct Importer {
    app: App,
    tenant: TenantId,
    record: ImportRecord,
    deadline: Instant,
    rows_this_invocation: u64,
    /// The import's counts when this invocation took it on: what it adds is its metrics.
    counted_from: ImportCounts,
    runtime: Handle,
    /// Who the history says made the changes: `import:<import id>`.
    by: String,
    /// In a dry run, the numbers and references ([`key_name`]) of the customers the rows
    /// committed so far would have written: what the table tells a real import (a card it
    /// wrote), told this way because a dry run writes none. Kept for one invocation.
    dry_written: HashSet<String>,
    /// In a dry run, the generated numbers handed out so far, counted from the counter's
    /// current value (which a dry run reads but never moves).
    dry_numbers_drawn: u64,
    /// The lanes' epoch since this invocation took the import over.
    epoch: u64,
    /// Rounds of blocks written by this invocation: with the epoch, names each block's request.
    rounds: u64,
    /// Where the file's first row starts (rows before a first checkpoint begin there).
    rows_start: u64,
}

/// Whichever way an invocation ends (done, handed over, failed, or an error for SQS to
/// retry), the rows it committed are counted once: a retried invocation starts from the
/// committed counts again.
impl Drop for Importer {
    fn drop(&mut self) {
        let (now, then) = (self.record.counts, self.counted_from);
        let mut metrics = kit::metrics::Metrics::new(crate::FUNCTION)
            .count(
                "ImportRowsCreated",
                now.created.saturating_sub(then.created),
            )
            .count(
                "ImportRowsUpdated",
                now.updated.saturating_sub(then.updated),
            )
            .count(
                "ImportRowsUnchanged",
                now.unchanged.saturating_sub(then.unchanged),
            )
            .count("ImportRowsFailed", now.failed.saturating_sub(then.failed))
            .property("tenant", self.tenant.as_str())
            .property("importId", self.record.id.as_str());
        metrics = match self.record.status {
            ImportStatus::Completed => metrics.count("ImportsCompleted", 1),
            ImportStatus::Failed => metrics.count("ImportsFailed", 1),
            _ => metrics,
        };
        metrics.emit();
    }
}

/// A row read, with where it starts in the file and where the file continues after it.
#[derive(Clone)]
struct Read1 {
    read: Result<ValidRow, Vec<RowError>>,
    start: Checkpoint,
    after: Checkpoint,
}

/// What a row comes to once resolved against the table.
#[expect(
    clippy::large_enum_variant,
    reason = "a batch holds at most a hundred, briefly; boxing would only add noise"
)]
enum Outcome {
    /// A new customer, with the warning of a possible duplicate if it has one.
    Create(Customer, Option<RowError>),
    Update {
        before: Customer,
        after: Customer,
    },
    Unchanged,
    Failed(Vec<RowError>),
}

/// Rows that commit together.
#[derive(Default)]
struct Transaction {
    /// Index of the first row (into the batch) and one past the last.
    rows: std::ops::Range<usize>,
    changes: Vec<PreparedChange>,
    /// Batch index of each change's row.
    change_rows: Vec<usize>,
    items: usize,
    created: u64,
    updated: u64,
    unchanged: u64,
    failed: u64,
    /// New customers whose row had neither a number nor an external reference.
    without_key: u64,
    /// Numbers of guessed phone columns left out of valid rows, and the first one's line.
    phones_left_out: u64,
    first_phone_left_out: Option<u64>,
    /// New customers sharing an e-mail or phone number with an existing one.
    possible_duplicates: u64,
    errors: Vec<RowError>,
    error_bytes: usize,
    /// Where its rows lie in the file.
    span: Option<RowSpan>,
}

impl Transaction {
    /// Fewer than ten items left (a new person with an e-mail and a mobile takes two, its card
    /// and number guard; one with contacts more), or the error chunk is as large as it may be.
    fn is_full(&self) -> bool {
        self.items + 10 > TRANSACTION_ITEMS - CHUNK_OVERHEAD
            || self.error_bytes >= ERROR_CHUNK_BYTES
    }
}

impl Transaction {
    /// What the block's rows count, for its lane and the record.
    fn block(&self) -> ImportBlock {
        ImportBlock {
            span: self.span.expect("a transaction has rows"),
            counts: ImportCounts {
                rows_read: self.rows.len() as u64,
                created: self.created,
                updated: self.updated,
                unchanged: self.unchanged,
                failed: self.failed,
                without_key: self.without_key,
                phones_left_out: self.phones_left_out,
                first_phone_left_out: self.first_phone_left_out,
                possible_duplicates: self.possible_duplicates,
            },
        }
    }
}

/// What became of a round of blocks.
enum Round {
    /// Every block was written, or some were refused: their rows (batch indexes) are to be
    /// resolved again, with why each refused change was refused.
    Written {
        refused_rows: Vec<usize>,
        reasons: Vec<(usize, StoreError)>,
    },
    /// Another invocation owns the import now.
    Moved,
}

impl Importer {
    fn block<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn run(mut self) -> Result<(), ImportError> {
        self.by = domain::import_actor(&self.record.id);
        let Some(uncounted) = self.take_over()? else {
            tracing::info!(import_id = %self.record.id, "another invocation took over");
            return Ok(());
        };
        let settings = self.block(self.app.store.settings(&self.tenant))?.settings;
        let options = match import_options(&settings, &self.record.request) {
            Ok(options) => options,
            Err(refusal) => return self.fail(refusal),
        };
        let body = match self.open()? {
            Ok(body) => body,
            Err(unimportable) => return self.fail(unimportable),
        };
        let reader = match &self.record.checkpoint {
            None => ImportReader::new(body, &options),
            Some(at) => {
                let header: HeaderSnapshot = serde_json::from_str(&at.header)
                    .map_err(|e| ImportError::Unrecognised(format!("checkpoint header: {e}")))?;
                let resume_at = Checkpoint {
                    offset: at.offset,
                    line: at.line,
                };
                ImportReader::resume(body, &header, resume_at, &options)
            }
        };
        let mut reader = match reader {
            Ok(reader) => reader,
            Err(FileError::Io(e)) => return Err(ImportError::Retry(e.to_string())),
            Err(unreadable) => return self.fail(unreadable.to_string()),
        };
        if self.record.checkpoint.is_none() {
            self.rows_start = reader.checkpoint().offset;
        }
        if self.record.mapping.is_none() && !self.record_mapping(&reader, &options)? {
            tracing::info!(import_id = %self.record.id, "another invocation took over");
            return Ok(());
        }
        let snapshot = serde_json::to_string(&reader.snapshot()).expect("a snapshot serialises");
        if !uncounted.is_empty() && !self.count_round(&uncounted, &snapshot)? {
            tracing::info!(import_id = %self.record.id, "another invocation took over");
            return Ok(());
        }
        // Every row would fail alike: say so once, with the fix, before any row and after the
        // mapping is recorded (it shows what the import understood of the header).
        if self.record.checkpoint.is_none()
            && self.record.done_ahead.is_empty()
            && let Some(refusal) = unnumbered_file(reader.header(), options.missing_number)
        {
            return self.fail(refusal);
        }
        self.record.invocations += 1;
        let context = settings.context();
        // Rows read but not written yet: the last, partly filled transaction of a batch waits
        // for the next batch's rows, so transactions are packed full across batches.
        let mut carried: Vec<Read1> = Vec::new();
        loop {
            let wanted = self.batch_rows().saturating_sub(carried.len());
            let fresh = read_batch(&mut reader, wanted, &self.record);
            if let Some(FileError::Io(e)) = reader.failure() {
                return Err(ImportError::Retry(format!("reading the file: {e}")));
            }
            let out_of_budget = wanted == 0 || self.out_of_budget();
            // A reader that stopped at a failure has nothing more to give, even when its
            // last row filled the batch: this invocation ends the import, with that failure.
            let at_end = fresh.len() < wanted || reader.failure().is_some();
            self.rows_this_invocation += fresh.len() as u64;
            let mut batch = std::mem::take(&mut carried);
            batch.extend(fresh);
            if !batch.is_empty() {
                let last = at_end || out_of_budget;
                match self.apply(
                    &batch,
                    reader.header(),
                    &snapshot,
                    &context,
                    &settings,
                    last,
                )? {
                    Some(rest) => carried = rest,
                    None => {
                        tracing::info!(import_id = %self.record.id, "another invocation took over");
                        return Ok(());
                    }
                }
            }
            if carried.is_empty() && at_end {
                let stopped = reader.failure().map(ToString::to_string);
                return self.finish(stopped);
            }
            if carried.is_empty() && out_of_budget {
                return self.hand_over();
            }
        }
    }

    /// Records how the file was understood, as soon as its header is read. False when another
    /// invocation moved the import on meanwhile.
    fn record_mapping<R: Read>(
        &mut self,
        reader: &ImportReader<R>,
        options: &ImportOptions,
    ) -> Result<bool, ImportError> {
        let mapping = FileMapping::of(&reader.snapshot(), options.missing_number);
        let mapping = serde_json::to_value(&mapping).expect("a mapping serialises");
        self.advance(|record| record.mapping = Some(mapping))
    }

    /// Saves the record as `change` leaves it, at the next version, if no other invocation
    /// moved it meanwhile (false then: that one owns the import).
    fn advance(&mut self, change: impl FnOnce(&mut ImportRecord)) -> Result<bool, ImportError> {
        let expected = self.record.version;
        let mut after = self.record.clone();
        change(&mut after);
        after.version += 1;
        match self.block(self.app.store.save_import(&self.tenant, &after, expected)) {
            Ok(()) => {
                self.record = after;
                Ok(true)
            }
            Err(StoreError::VersionConflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn dry_run(&self) -> bool {
        self.record.request.dry_run
    }

    /// Rows to hold at once: a batch, but never past the invocation's row budget.
    fn batch_rows(&self) -> usize {
        let left = self.app.rows_per_invocation.map_or(u64::MAX, |limit| {
            limit.saturating_sub(self.rows_this_invocation)
        });
        BATCH_ROWS.min(usize::try_from(left).unwrap_or(usize::MAX))
    }

    fn out_of_budget(&self) -> bool {
        let rows_spent = self
            .app
            .rows_per_invocation
            .is_some_and(|limit| self.rows_this_invocation >= limit);
        rows_spent || Instant::now() + HANDOVER_TIME >= self.deadline
    }

    /// The file from the checkpoint on, as a blocking reader. `Ok(Err(reason))`: the file is
    /// gone, was replaced, or is too large, which no retry cures.
    fn open(&mut self) -> Result<Result<Box<dyn Read + Send>, String>, ImportError> {
        let offset = self.record.checkpoint.as_ref().map_or(0, |c| c.offset);
        // The same bytes on every invocation: a file replaced mid-import is refused rather
        // than continued at an offset into different content.
        let get = Get {
            version_id: None,
            if_match: self.record.etag.as_deref().filter(|etag| !etag.is_empty()),
            from: offset,
        };
        match self.block(self.app.bucket.get(&self.record.object_key, get)) {
            Ok(object) => {
                // The size S3's notification gave, else the object's own. Judged before a
                // byte of the body is read.
                self.record.size_bytes = self.record.size_bytes.or(object.size);
                if let Some(refusal) = self.record.size_bytes.and_then(too_large) {
                    return Ok(Err(refusal));
                }
                let stream = object.into_async_read();
                let bridge = SyncIoBridge::new_with_handle(stream, self.runtime.clone());
                Ok(Ok(Box::new(bridge)))
            }
            Err(error) => match error.code() {
                Some("NoSuchKey") => Ok(Err("the file was deleted before it was imported".into())),
                // A checkpoint at the very end of the file: nothing is left to read.
                Some("InvalidRange") => Ok(Ok(Box::new(std::io::empty()))),
                Some("PreconditionFailed") => Ok(Err("the file was replaced while it was \
                                                      imported; upload it again to import \
                                                      the new one"
                    .into())),
                _ => Err(ImportError::Retry(format!(
                    "reading s3://{}/{}: {error}",
                    self.app.bucket.name(),
                    self.record.object_key,
                ))),
            },
        }
    }

    /// Takes the import over (see the store's `take_over_import`) and answers the blocks an
    /// earlier invocation wrote but did not count; `None` when another invocation took it.
    fn take_over(&mut self) -> Result<Option<Vec<ImportBlock>>, ImportError> {
        let expected = self.record.version;
        // Lanes are decided at the first take-over; before it, no block has been written.
        let first = self.record.lanes == 0;
        let mut after = self.record.clone();
        after.version += 1;
        after.lanes(); // decided now, if it was not: every later take-over fences them
        match self.block(
            self.app
                .store
                .take_over_import(&self.tenant, &after, expected, first),
        ) {
            Ok(blocks) => {
                self.record = after;
                self.epoch = self.record.version;
                let uncounted = blocks
                    .into_iter()
                    .filter(|block| !self.record.has_counted(block))
                    .collect();
                Ok(Some(uncounted))
            }
            Err(StoreError::VersionConflict) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a batch in rounds of blocks, and hands back the rows of its last block when that
    /// one is not full and more rows follow (`last` is false): they are written with the next
    /// batch. `None` when another invocation owns the import.
    fn apply(
        &mut self,
        batch: &[Read1],
        header: &HeaderMap,
        snapshot: &str,
        context: &ValidationContext,
        settings: &Settings,
        last: bool,
    ) -> Result<Option<Vec<Read1>>, ImportError> {
        // Batch indexes of the rows still to write.
        let mut pending: Vec<usize> = (0..batch.len()).collect();
        let mut held = batch.len();
        let mut forced: HashMap<usize, RowError> = HashMap::new();
        let mut attempts = 0;
        while !pending.is_empty() {
            // The first pass writes the whole batch as read; a retry, the refused rows' copies.
            let rows: Cow<[Read1]> = if pending.len() == batch.len() {
                Cow::Borrowed(batch)
            } else {
                Cow::Owned(pending.iter().map(|&i| batch[i].clone()).collect())
            };
            let local_forced: HashMap<usize, RowError> = pending
                .iter()
                .enumerate()
                .filter_map(|(local, i)| Some((local, forced.get(i)?.clone())))
                .collect();
            let outcomes = self.resolve(&rows, header, context, settings, &local_forced)?;
            let mut transactions = self.pack(outcomes, &rows, &pending);
            if attempts == 0
                && !last
                && transactions.len() > 1
                && transactions.last().is_some_and(|tail| !tail.is_full())
            {
                let tail = transactions.pop().expect("more than one");
                held = pending[tail.rows.start];
            }
            let (refused_rows, reasons) =
                match self.commit_round(transactions, &pending, snapshot)? {
                    Round::Written {
                        refused_rows,
                        reasons,
                    } => (refused_rows, reasons),
                    Round::Moved => return Ok(None),
                };
            if refused_rows.is_empty() {
                break;
            }
            attempts += 1;
            // Cancelled by concurrent transactions alone, again and again: let the message
            // come back later rather than spin.
            if reasons.is_empty() && attempts >= CONFLICT_ATTEMPTS {
                return Err(ImportError::Retry(
                    "transactions kept conflicting with concurrent writes".into(),
                ));
            }
            for (row, error) in reasons {
                let line = batch[row].read.as_ref().map_or(0, |r| r.line);
                let give_up = attempts >= CONFLICT_ATTEMPTS;
                if let Some(failure) = refusal(line, &error, give_up) {
                    forced.insert(row, failure);
                }
            }
            pending = refused_rows;
        }
        Ok(Some(batch[held..].to_vec()))
    }

    /// What each row comes to: two BatchGetItems find the customers the rows name.
    fn resolve(
        &mut self,
        rows: &[Read1],
        header: &HeaderMap,
        context: &ValidationContext,
        settings: &Settings,
        forced: &HashMap<usize, RowError>,
    ) -> Result<Vec<Outcome>, ImportError> {
        let existing = self.existing_customers(rows)?;
        let mut numbers = self.new_numbers(rows, &existing, settings)?;
        // Guards (numbers, external references) and cards this batch writes: a second row
        // reaching one of them repeats an earlier row, and one transaction may not write an
        // item twice.
        let mut claimed: HashSet<String> = HashSet::new();
        let now = Utc::now();
        let mut outcomes = Vec::with_capacity(rows.len());
        for (i, Read1 { read, .. }) in rows.iter().enumerate() {
            if let Some(failure) = forced.get(&i) {
                outcomes.push(Outcome::Failed(vec![failure.clone()]));
                continue;
            }
            let row = match read {
                Ok(row) => row,
                Err(errors) => {
                    outcomes.push(Outcome::Failed(errors.clone()));
                    continue;
                }
            };
            let found = existing.get(&key_name(&row.key));
            // This import wrote the customer already: an earlier row of the file (committed
            // in this invocation or an earlier one) was for it. A dry run wrote nothing, so it
            // remembers what it would have written.
            let repeated = found.is_some_and(|c| c.updated_by == self.by)
                || (row.key != RowKey::None && self.dry_written.contains(&key_name(&row.key)));
            let outcome = match found {
                _ if repeated => repeat(row, header),
                // A merged card's number and references are its survivor's aliases: a row
                // must not bring the merged card back to life.
                Some(before) if before.merged_into.is_some() => merged_row(row, header, before),
                Some(before) => self.update(before, row, header, context, now),
                None => self.create(row, &mut numbers, settings, now),
            };
            let outcome = match claims(&outcome, found) {
                // The organisation number comes last: a row that repeats the card or its
                // number is a repeat, one that only shares the number is refused for it.
                Some(names) => match names.iter().find(|n| claimed.contains(*n)) {
                    Some(name) if name.starts_with(ORG_CLAIM) => org_number_repeat(row, header),
                    Some(_) => repeat(row, header),
                    None => {
                        claimed.extend(names);
                        outcome
                    }
                },
                None => outcome,
            };
            outcomes.push(outcome);
        }
        self.warn_of_duplicates(&mut outcomes, rows, header)?;
        Ok(outcomes)
    }

    fn update(
        &self,
        before: &Customer,
        row: &ValidRow,
        header: &HeaderMap,
        context: &ValidationContext,
        now: DateTime<Utc>,
    ) -> Outcome {
        // An erased customer is never changed again: a row would put personal data back.
        if before.is_erased() {
            return Outcome::Failed(vec![RowError::of_row(
                row.line,
                "erased",
                "The customer with this number was erased (GDPR) and cannot be changed.",
            )]);
        }
        match update_from_row(&before.fields, row, context) {
            Ok(None) => Outcome::Unchanged,
            Ok(Some(fields)) => {
                let mut after = before.clone();
                after.fields = fields;
                after.version = before.version + 1;
                after.updated_at = now;
                after.updated_by = self.by.clone();
                Outcome::Update {
                    before: before.clone(),
                    after,
                }
            }
            Err(errors) => Outcome::Failed(
                errors
                    .into_iter()
                    .map(|e| RowError::of_field(row.line, header, e))
                    .collect(),
            ),
        }
    }

    fn create(
        &self,
        row: &ValidRow,
        numbers: &mut impl Iterator<Item = u64>,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Outcome {
        let mut fields = row.fields.clone();
        if row.needs_number {
            let drawn = numbers.next().map(|n| settings.generated_number(n));
            let checked = drawn
                .ok_or_else(|| "no number was drawn".to_owned())
                .and_then(|n| {
                    domain::validate_customer_number(&n, &settings.context().number_rules)
                        .map_err(|e| e.message)
                });
            match checked {
                Ok(number) => fields.customer_number = number,
                Err(message) => {
                    return Outcome::Failed(vec![RowError::of_row(
                        row.line,
                        "number_unavailable",
                        format!("No customer number could be generated: {message}"),
                    )]);
                }
            }
        }
        Outcome::Create(Customer::new(fields, &self.by, now), None)
    }

    /// A new customer sharing its e-mail, phone or mobile with an existing one is imported,
    /// and named in the error report (`possible_duplicate`) with the customers it shares them
    /// with: the API asks for a confirmation of such a create, which a file cannot give, and
    /// refusing the row would stop an import over what is often two customers at one address.
    /// One query per value of each new customer: a few customers at a time, so that on
    /// DynamoDB the lookups of a batch take a fraction of their one-by-one time.
    fn warn_of_duplicates(
        &self,
        outcomes: &mut [Outcome],
        rows: &[Read1],
        header: &HeaderMap,
    ) -> Result<(), ImportError> {
        use futures::StreamExt;
        let (store, tenant) = (&self.app.store, &self.tenant);
        let lookups =
            outcomes
                .iter()
                .enumerate()
                .filter_map(|(i, outcome)| match outcome {
                    Outcome::Create(customer, _) => Some(async move {
                        (i, store.possible_duplicates(tenant, &customer.fields).await)
                    }),
                    _ => None,
                });
        let found: Vec<_> = self.block(
            futures::stream::iter(lookups)
                .buffer_unordered(DUPLICATE_LOOKUPS)
                .collect(),
        );
        for (i, duplicates) in found {
            let duplicates = duplicates?;
            let line = rows[i].read.as_ref().map_or(0, |row| row.line);
            if let Outcome::Create(customer, warning) = &mut outcomes[i] {
                *warning = duplicate_warning(line, header, customer, &duplicates);
            }
        }
        Ok(())
    }

    /// The customers the rows name, by [`key_name`].
    fn existing_customers(&self, rows: &[Read1]) -> Result<HashMap<String, Customer>, ImportError> {
        let mut numbers = Vec::new();
        let mut refs = Vec::new();
        for Read1 { read, .. } in rows {
            match read.as_ref().map(|r| &r.key) {
                Ok(RowKey::Number(n)) => numbers.push(n.clone()),
                Ok(RowKey::External(r)) => refs.push(r.clone()),
                _ => {}
            }
        }
        let store = &self.app.store;
        let mut ids = self.block(store.ids_by_number(&self.tenant, &numbers))?;
        ids.extend(
            self.block(store.ids_by_external_ref(&self.tenant, &refs))?
                .into_iter()
                .map(|(name, id)| (format!("ref:{name}"), id)),
        );
        let wanted: Vec<CustomerId> = ids
            .values()
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let cards: HashMap<CustomerId, Customer> = self
            .block(store.customers(&self.tenant, &wanted))?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        Ok(ids
            .into_iter()
            .filter_map(|(name, id)| Some((name, cards.get(&id)?.clone())))
            .collect())
    }

    /// Generated numbers for the new rows that need one, drawn in one counter update. A dry
    /// run reads the counter and numbers from there, moving nothing.
    fn new_numbers(
        &mut self,
        rows: &[Read1],
        existing: &HashMap<String, Customer>,
        settings: &Settings,
    ) -> Result<std::ops::Range<u64>, ImportError> {
        let wanted = rows
            .iter()
            .filter_map(|row| row.read.as_ref().ok())
            .filter(|row| row.needs_number && !existing.contains_key(&key_name(&row.key)))
            .count() as u64;
        if wanted == 0 || !settings.auto_number {
            return Ok(0..0);
        }
        if self.dry_run() {
            let current = self.block(self.app.store.last_customer_number(&self.tenant))?;
            let first = current + self.dry_numbers_drawn + 1;
            self.dry_numbers_drawn += wanted;
            return Ok(first..first + wanted);
        }
        let last = self.block(
            self.app
                .store
                .reserve_customer_numbers(&self.tenant, wanted),
        )?;
        Ok(last + 1 - wanted..last + 1)
    }

    /// Packs the outcomes, in order, into transactions of at most 100 items. A transaction's
    /// rows follow one another in the file (`at` gives each row's batch index), so that its
    /// span holds only its own rows and its error chunk sorts in line order.
    fn pack(&self, outcomes: Vec<Outcome>, rows: &[Read1], at: &[usize]) -> Vec<Transaction> {
        let budget = TRANSACTION_ITEMS - CHUNK_OVERHEAD;
        let mut done = Vec::new();
        let mut current = Transaction::default();
        for (i, outcome) in outcomes.into_iter().enumerate() {
            if i > 0 && at[i] != at[i - 1] + 1 && !current.rows.is_empty() {
                done.push(std::mem::take(&mut current));
                current.rows = i..i;
            }
            if let Ok(row) = &rows[i].read
                && row.phones_left_out > 0
                && !matches!(outcome, Outcome::Failed(_))
            {
                current.phones_left_out += u64::from(row.phones_left_out);
                current.first_phone_left_out.get_or_insert(row.line);
            }
            let mut warning = None;
            let prepared = match outcome {
                Outcome::Create(customer, duplicate) => {
                    warning = duplicate;
                    Some((true, CustomerChange::Create { customer }))
                }
                Outcome::Update { before, after } => {
                    let history = HistoryEntry::of(ChangeKind::Updated, Some(&before), &after);
                    Some((
                        false,
                        CustomerChange::Replace {
                            before,
                            after,
                            history,
                        },
                    ))
                }
                Outcome::Unchanged => {
                    current.unchanged += 1;
                    None
                }
                Outcome::Failed(errors) => {
                    current.failed += 1;
                    current.error_bytes += errors.iter().map(error_size).sum::<usize>();
                    current.errors.extend(errors);
                    None
                }
            };
            if let Some((created, change)) = prepared {
                let change = self.app.store.prepare(&self.tenant, change);
                if current.items + change.items() > budget && !current.changes.is_empty() {
                    done.push(std::mem::take(&mut current));
                    current.rows = i..i;
                }
                current.items += change.items();
                current.changes.push(change);
                current.change_rows.push(i);
                // In the row's own transaction, which may be the next one.
                if let Some(warning) = warning {
                    current.possible_duplicates += 1;
                    current.error_bytes += error_size(&warning);
                    current.errors.push(warning);
                }
                if created {
                    current.created += 1;
                    if rows[i]
                        .read
                        .as_ref()
                        .is_ok_and(|row| row.key == RowKey::None)
                    {
                        current.without_key += 1;
                    }
                } else {
                    current.updated += 1;
                }
            }
            if current.rows.is_empty() {
                current.rows = i..i;
            }
            current.rows.end = i + 1;
            let from = current
                .span
                .map_or(rows[current.rows.start].start.offset, |s| s.from);
            let after = rows[i].after;
            current.span = Some(RowSpan {
                from,
                to: after.offset,
                to_line: after.line,
            });
            if current.error_bytes >= ERROR_CHUNK_BYTES {
                done.push(std::mem::take(&mut current));
                current.rows = i + 1..i + 1;
            }
        }
        if !current.rows.is_empty() {
            done.push(current);
        }
        done
    }

    /// Commits the transactions side by side, a round of at most one per lane at a time, each
    /// round counted into the record. `at` maps the transactions' rows to batch indexes.
    fn commit_round(
        &mut self,
        transactions: Vec<Transaction>,
        at: &[usize],
        snapshot: &str,
    ) -> Result<Round, ImportError> {
        let mut refused_rows = Vec::new();
        let mut reasons = Vec::new();
        let lanes = self.record.lanes();
        let mut transactions = transactions.into_iter().peekable();
        while transactions.peek().is_some() {
            let round: Vec<Transaction> = transactions.by_ref().take(lanes).collect();
            let blocks: Vec<ImportBlock> = round.iter().map(Transaction::block).collect();
            let errors: Vec<Option<ErrorChunk>> = round
                .iter()
                .map(|t| error_chunk(&t.errors, t.failed))
                .collect();
            self.rounds += 1;
            let (store, tenant, id) = (&self.app.store, &self.tenant, &self.record.id);
            let (epoch, rounds, dry_run) = (self.epoch, self.rounds, self.dry_run());
            let commits = round.iter().enumerate().map(|(lane, transaction)| {
                // The one difference of a dry run: the same transaction, without its customers.
                let changes = if dry_run {
                    &[][..]
                } else {
                    &transaction.changes[..]
                };
                let token = request_token(id, epoch, rounds, lane);
                let (block, errors) = (&blocks[lane], errors[lane].as_ref());
                async move {
                    store
                        .commit_import_block(
                            tenant,
                            id,
                            (epoch, lane),
                            block,
                            changes,
                            errors,
                            &token,
                        )
                        .await
                }
            });
            let results = self.block(futures::future::join_all(commits));
            let mut written = Vec::new();
            let mut moved = false;
            let mut failure = None;
            for ((transaction, block), result) in round.iter().zip(blocks).zip(results) {
                match result {
                    Ok(()) => {
                        written.push(block);
                        if dry_run {
                            self.dry_written
                                .extend(transaction.changes.iter().flat_map(written_keys));
                        }
                    }
                    Err(ChunkError::ImportMoved) => moved = true,
                    Err(ChunkError::Refused(refused)) => {
                        refused_rows.extend(transaction.rows.clone().map(|row| at[row]));
                        reasons.extend(
                            refused.into_iter().map(|(change, error)| {
                                (at[transaction.change_rows[change]], error)
                            }),
                        );
                    }
                    Err(ChunkError::Store(error)) => failure = Some(error),
                }
            }
            // What was written is counted, whatever else happened: a failed block's message
            // comes back and resumes after it.
            if moved || !written.is_empty() && !self.count_round(&written, snapshot)? {
                return Ok(Round::Moved);
            }
            if let Some(error) = failure {
                return Err(error.into());
            }
        }
        refused_rows.sort_unstable();
        Ok(Round::Written {
            refused_rows,
            reasons,
        })
    }

    /// Counts written blocks into the record and saves it. False when another invocation took
    /// the import over meanwhile (it counts them itself, from the lanes).
    fn count_round(&mut self, blocks: &[ImportBlock], snapshot: &str) -> Result<bool, ImportError> {
        let rows_start = self.rows_start;
        self.advance(|record| {
            let start = record
                .checkpoint
                .as_ref()
                .map_or(rows_start, |at| at.offset);
            record.count_blocks(blocks, start, snapshot);
        })
    }

    /// Queues the rest of the file for a fresh invocation (the checkpoint is committed).
    fn hand_over(&self) -> Result<(), ImportError> {
        let continuation = Continuation {
            tenant: self.tenant.as_str().to_owned(),
            import_id: self.record.id.clone(),
            version: self.record.version,
        };
        self.block(self.app.queue.send(&continuation_body(&continuation)))
            .map_err(|e| ImportError::Retry(format!("queueing the continuation: {e}")))?;
        tracing::info!(
            import_id = %self.record.id,
            rows = self.record.counts.rows_read,
            "handed over to the next invocation"
        );
        Ok(())
    }

    /// Writes the error report (header and every chunk, in line order) and completes, or,
    /// when reading `stopped` before the end of the file (a quote never closed), fails with
    /// that reason: the rows before it stay imported and the report lists their errors too.
    fn finish(mut self, stopped: Option<String>) -> Result<(), ImportError> {
        let mut report = ErrorReportWriter::new(Vec::new())
            .ok()
            .and_then(|header| header.into_inner().ok())
            .expect("writing CSV to memory cannot fail");
        let mut cursor = None;
        loop {
            let page = self.block(self.app.store.import_errors(
                &self.tenant,
                &self.record.id,
                cursor.as_deref(),
            ))?;
            for chunk in page.items {
                report.extend_from_slice(chunk.as_bytes());
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let key = format!("reports/{}/{}.csv", self.tenant, self.record.id);
        self.block(
            self.app
                .bucket
                .put(&key, "text/csv; charset=utf-8", report.into()),
        )
        .map_err(|e| ImportError::Retry(format!("writing the error report: {e}")))?;
        let expected = self.record.version;
        self.record.status = match stopped {
            Some(_) => ImportStatus::Failed,
            None => ImportStatus::Completed,
        };
        self.record.failure = stopped;
        self.record.finished_at = Some(Utc::now());
        self.record.error_report_key = Some(key);
        self.record.version += 1;
        self.save(expected)?;
        let counts = self.record.counts;
        tracing::info!(
            import_id = %self.record.id,
            rows = counts.rows_read, created = counts.created, updated = counts.updated,
            unchanged = counts.unchanged, failed = counts.failed,
            failure = self.record.failure.as_deref().unwrap_or_default(),
            "import ended"
        );
        Ok(())
    }

    /// The file as a whole cannot be imported: say why on the record.
    fn fail(mut self, reason: String) -> Result<(), ImportError> {
        tracing::warn!(import_id = %self.record.id, reason = %reason, "import failed");
        let expected = self.record.version;
        self.record.status = ImportStatus::Failed;
        self.record.failure = Some(reason);
        self.record.finished_at = Some(Utc::now());
        self.record.version += 1;
        self.save(expected)
    }

    fn save(&self, expected: u64) -> Result<(), ImportError> {
        match self.block(
            self.app
                .store
                .save_import(&self.tenant, &self.record, expected),
        ) {
            Ok(()) => Ok(()),
            // Someone else finished it meanwhile (a redelivery): theirs stands.
            Err(StoreError::VersionConflict) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The organisation's settings and the caller's mapping as the reader takes them; why the
/// mapping no longer holds (a custom field retired since the upload was requested) otherwise.
fn import_options(settings: &Settings, request: &ImportRequest) -> Result<ImportOptions, String> {
    let column_override = ColumnOverride::parse(&request.mapping, &settings.custom_fields)
        .map_err(|errors| {
            let reasons: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            format!("the import's mapping does not hold: {}", reasons.join(" "))
        })?;
    Ok(ImportOptions {
        validation: settings.context(),
        // Organisations that number customers automatically number imported ones too.
        missing_number: if settings.auto_number {
            MissingNumber::Defer
        } else {
            MissingNumber::Refuse
        },
        // Repeats are found in the table instead (see `Importer::resolve`): flat memory for
        // any file, and across hand-overs and crashes alike.
        remember_keys: false,
        column_override,
        ..ImportOptions::default()
    })
}

/// How the rows of later batches would find a customer this change writes ([`key_name`]).
fn written_keys(prepared: &PreparedChange) -> Vec<String> {
    let customer = match &prepared.change {
        CustomerChange::Create { customer, .. } => customer,
        CustomerChange::Replace { after, .. } => after,
    };
    let fields = &customer.fields;
    let mut names = vec![fields.customer_number.to_uppercase()];
    names.extend(
        fields
            .external_refs
            .iter()
            .map(|r| format!("ref:{}", store::external_ref_key(r))),
    );
    names
}

/// Why a file of `size` bytes is not imported, if it is over [`MAX_FILE_BYTES`].
fn too_large(size: u64) -> Option<String> {
    const MIB: u64 = 1024 * 1024;
    (size > MAX_FILE_BYTES).then(|| {
        format!(
            "the file is {size} bytes, more than the {MAX_FILE_BYTES} bytes ({} MiB) an import \
             reads; split it into smaller files, each with the header row, and import them one \
             after another",
            MAX_FILE_BYTES / MIB
        )
    })
}

/// Up to `rows` rows, passing over those the record says are written: before its checkpoint
/// (which blocks counted at the take-over may have moved past where the reader started) or in
/// a block done ahead of it.
fn read_batch<R: Read>(
    reader: &mut ImportReader<R>,
    rows: usize,
    record: &ImportRecord,
) -> Vec<Read1> {
    let checkpoint = record.checkpoint.as_ref().map_or(0, |at| at.offset);
    let mut batch = Vec::with_capacity(rows);
    while batch.len() < rows {
        let start = reader.checkpoint();
        let Some(read) = reader.next_row() else { break };
        let written = start.offset < checkpoint
            || record
                .done_ahead
                .iter()
                .any(|span| span.holds(start.offset));
        if written {
            continue;
        }
        let after = reader.checkpoint();
        batch.push(Read1 { read, start, after });
    }
    batch
}

/// How the existing customers of a batch are named: numbers upper-cased as the store's
/// `ids_by_number` names them, references as `ref:` plus `ids_by_external_ref`'s name.
fn key_name(key: &RowKey) -> String {
    match key {
        RowKey::Number(number) => number.to_uppercase(),
        RowKey::External(external) => format!("ref:{}", store::external_ref_key(external)),
        RowKey::None => String::new(),
    }
}

/// What a refused change means for its row: a reference that belongs to another customer is
/// the row's error; a number taken or a card changed meanwhile is resolved again, until
/// `give_up`.
fn refusal(line: u64, error: &StoreError, give_up: bool) -> Option<RowError> {
    match error {
        StoreError::ExternalRefTaken => Some(RowError::of_row(
            line,
            "external_ref_taken",
            "The external id belongs to another customer of the organisation.",
        )),
        StoreError::OrgNumberTaken => Some(RowError::of_row(
            line,
            "organisation_number_taken",
            "The organisation number belongs to another customer of the organisation.",
        )),
        _ if give_up => Some(RowError::of_row(
            line,
            "concurrent_change",
            "The customer was changed by someone else while the file was imported; import \
             this row again.",
        )),
        _ => None,
    }
}

/// The error report's line for a new customer that shares values with `duplicates`, if any:
/// at the column of the first value shared, naming every customer found.
fn duplicate_warning(
    line: u64,
    header: &HeaderMap,
    customer: &Customer,
    duplicates: &[(Customer, Vec<&'static str>)],
) -> Option<RowError> {
    let (_, channels) = duplicates.first()?;
    let others: Vec<String> = duplicates
        .iter()
        .map(|(other, _)| {
            format!(
                "{} ({})",
                other.fields.customer_number,
                other.fields.display_name()
            )
        })
        .collect();
    let shared: Vec<&str> = channels
        .iter()
        .map(|&c| if c == "email" { "e-mail" } else { c })
        .collect();
    let channel = channels[0];
    let error = FieldError {
        field: format!("/{channel}"),
        code: "possible_duplicate".into(),
        message: format!(
            "A new customer, though customer {} has the same {}: if they are one customer, \
             merge them",
            others.join(", "),
            shared.join(" and ")
        ),
    };
    let mut warning = RowError::of_field(line, header, error);
    let fields = &customer.fields;
    warning.value = match channel {
        "email" => fields.email.clone(),
        "phone" => fields.phone.clone(),
        _ => fields.mobile.clone(),
    };
    Some(warning)
}

/// The row repeats an earlier row of the file: reported at the row's key column.
fn repeat(row: &ValidRow, header: &HeaderMap) -> Outcome {
    let (field, what) = match &row.key {
        RowKey::External(external) => (
            "/externalRefs/0/id",
            format!("external id {:?}", external.id),
        ),
        RowKey::Number(number) => ("/customerNumber", format!("customer number {number:?}")),
        RowKey::None => ("", "the same customer".to_owned()),
    };
    let error = domain::FieldError {
        field: field.to_owned(),
        code: "duplicate_in_file".into(),
        message: format!(
            "an earlier row of this file is for {what}; a customer may appear only once in a file"
        ),
    };
    Outcome::Failed(vec![RowError::of_field(row.line, header, error)])
}

/// The row names a card that was merged into another customer: nothing is written for it.
fn merged_row(row: &ValidRow, header: &HeaderMap, merged: &Customer) -> Outcome {
    let field = match &row.key {
        RowKey::External(_) => "/externalRefs/0/id",
        _ => "/customerNumber",
    };
    let into = merged.merged_into.as_ref().map_or("", |id| id.0.as_str());
    let error = domain::FieldError {
        field: field.to_owned(),
        code: "customer_merged".into(),
        message: format!(
            "customer {} was merged into customer {into}; update that customer by its own \
             number instead",
            merged.fields.customer_number
        ),
    };
    Outcome::Failed(vec![RowError::of_field(row.line, header, error)])
}

/// The row gives another customer the organisation number of an earlier row of the file.
fn org_number_repeat(row: &ValidRow, header: &HeaderMap) -> Outcome {
    let error = domain::FieldError::new(
        "/organisationNumber",
        "organisation_number_taken",
        "an earlier row of this file gives another customer this organisation number; it \
         belongs to one customer",
    );
    Outcome::Failed(vec![RowError::of_field(row.line, header, error)])
}

/// How [`claims`] names an organisation number.
const ORG_CLAIM: &str = "org:";

/// The names of what a row claims: the card it writes (or leaves as it is), its number, its
/// external references and its organisation number (last).
fn claims(outcome: &Outcome, found: Option<&Customer>) -> Option<Vec<String>> {
    let customer = match outcome {
        Outcome::Create(customer, _) => customer,
        Outcome::Update { after, .. } => after,
        Outcome::Unchanged => found?,
        Outcome::Failed(_) => return None,
    };
    let fields = &customer.fields;
    let mut names = vec![
        format!("card:{}", customer.id),
        format!("number:{}", fields.customer_number.to_uppercase()),
    ];
    names.extend(
        fields
            .external_refs
            .iter()
            .map(|r| format!("ref:{}", store::external_ref_key(r))),
    );
    names.extend(
        fields
            .organisation_identity()
            .map(|o| format!("{ORG_CLAIM}{o}")),
    );
    Some(names)
}

fn error_chunk(errors: &[RowError], rows: u64) -> Option<ErrorChunk> {
    let first = errors.first()?;
    let mut writer = ErrorReportWriter::continuing(Vec::new());
    writer
        .write_all(errors)
        .expect("writing CSV to memory cannot fail");
    let bytes = writer
        .into_inner()
        .expect("writing CSV to memory cannot fail");
    Some(ErrorChunk {
        first_line: first.line,
        rows,
        csv: String::from_utf8(bytes).expect("the report is UTF-8"),
    })
}

fn error_size(error: &RowError) -> usize {
    64 + error.message.len()
        + error.value.as_ref().map_or(0, String::len)
        + error.column.as_ref().map_or(0, String::len)
}

/// DynamoDB's ClientRequestToken (at most 36 characters): one per block of an invocation, so
/// that the SDK's retry of a block is the same request and every other block a new one.
fn request_token(import_id: &str, epoch: u64, round: u64, lane: usize) -> String {
    let digest = Sha256::digest(format!("{import_id}#{epoch}#{round}#{lane}"));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_up_to_the_limit_is_read_and_one_byte_more_is_refused_with_advice() {
        assert_eq!(too_large(MAX_FILE_BYTES), None);
        let refusal = too_large(MAX_FILE_BYTES + 1).expect("refused");
        assert!(refusal.contains("104857601 bytes"), "{refusal}");
        assert!(refusal.contains("(100 MiB)"), "{refusal}");
        assert!(refusal.contains("split it into smaller files"), "{refusal}");
    }
}
