//! The streaming reader: header first, then one validated row at a time.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, BufReader, Chain, Cursor, Read};

use domain::{
    CustomerFields, CustomerInput, ExternalRef, FieldError, Given, NumberRules, ValidationContext,
    validate_customer,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::columns::{Column, ColumnTable, HeaderMap};
use crate::encoding::{SAMPLE_LEN, TextEncoding, detect_encoding};
use crate::mapping::ColumnOverride;
use crate::records::{DELIMITERS, RawRecord, RecordReader, detect_delimiter};
use crate::row::{BuiltRow, build_row, is_within};
use crate::utf16::{Endian, Offsets, Utf16ToUtf8};

/// Read buffer size: large enough that an S3 body stream is not read in small pieces.
const BUFFER_LEN: usize = 64 * 1024;

/// The longest record (a row, or the header) read, in bytes of the file. A customer row of the
/// exports we read is well under 4 KiB, even with a long note; 64 KiB leaves sixteen times that
/// and keeps what one record may cost small and fixed. A longer row is that row's error
/// (`record_too_large`) and the rows after it are read as usual; a longer header fails the
/// file. This is also what bounds memory against an endless line or a stray quote.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// The most columns a header may name (trailing empty ones do not count). The widest exports
/// we know (QuickBooks Desktop, Visma) have about a hundred; with the organisation's custom
/// fields, 200 is ample. Every row is decoded and matched column by column, so this bounds the
/// work per row as well as the header's.
pub const MAX_COLUMNS: usize = 200;

/// What a row without a customer number becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingNumber {
    /// The domain rule as it is: a customer needs a number, so the row is an error
    /// ("required" at `/customerNumber`).
    #[default]
    Refuse,
    /// Everything else is validated and the row is returned with
    /// [`ValidRow::needs_number`] set and an empty `customer_number`: the caller assigns a
    /// number (and checks it with `domain::validate_customer_number`) before storing. Rows
    /// without a number and without an external reference then have [`RowKey::None`].
    Defer,
}

/// The organisation's settings an import runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The organisation's validation settings, exactly as the API uses them. Its
    /// `default_country` reads phone numbers typed without a country code, unless the row has
    /// a country of its own.
    pub validation: ValidationContext,
    pub missing_number: MissingNumber,
    /// The longest record accepted, in bytes ([`MAX_RECORD_BYTES`] unless a test wants a
    /// smaller one). Bounds memory when a line never ends or a quote is never closed.
    pub max_record_bytes: usize,
    /// Report rows whose key repeats an earlier row's (`duplicate_in_file`) from a set of the
    /// keys seen ([`SeenKeys`]), which grows with the file's distinct keys. A caller that finds
    /// repeats another way (the import function asks the table whether this import already
    /// wrote the customer) turns it off and reads any file in flat memory.
    pub remember_keys: bool,
    /// The caller's corrections to how the header is understood (none by default).
    pub column_override: ColumnOverride,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            validation: ValidationContext::default(),
            missing_number: MissingNumber::default(),
            max_record_bytes: MAX_RECORD_BYTES,
            remember_keys: true,
            column_override: ColumnOverride::default(),
        }
    }
}

impl ImportOptions {
    /// Default options for an organisation in `country` (ISO 3166-1 alpha-2).
    pub fn for_country(country: &str) -> Self {
        let mut options = Self::default();
        options.validation.default_country = Some(country.to_owned());
        options
    }
}

/// Why a file cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file could not be read: {0}")]
    Io(#[from] io::Error),
    #[error("the file is empty; it needs a header row naming its columns")]
    Empty,
    #[error("the file is {0}; save it as \"CSV UTF-8\" (or plain CSV) and import it again")]
    UnsupportedEncoding(&'static str),
    #[error(
        "the file is {0}, not CSV text; in Excel choose File > Save As > \"CSV UTF-8 (Comma delimited)\" (or export CSV from the accounting system) and import that file"
    )]
    NotText(&'static str),
    #[error(
        "none of the columns of the header row is one we import (found: {}); the first row must name the columns, see the import template",
        .headers.join(", ")
    )]
    NoKnownColumns { headers: Vec<String> },
    #[error(
        "the header row is longer than {limit} bytes, the most a row may have; the first row must name the columns, see the import template"
    )]
    HeaderTooLarge { limit: usize },
    #[error(
        "the header row has {columns} columns, more than the {limit} an import reads; leave out the columns that are not about customers"
    )]
    TooManyColumns { columns: usize, limit: usize },
    #[error(
        "a quoted value starting on line {line} is never closed, so the rest of the file was read as part of it; close the quote (a quote inside a quoted value is written twice, \"\"), and import the rows from line {line} on again"
    )]
    UnterminatedQuote { line: u64 },
    #[error(
        "the import's mapping names the column {0:?}, but the header row has no column of that name; correct the mapping (or the header row) and import the file again"
    )]
    MappedColumnMissing(String),
    #[error("the checkpoint's delimiter {0:?} is not one we read")]
    InvalidSnapshot(char),
}

/// Where to resume: the next unread record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// Byte offset in the original, undecoded file.
    pub offset: u64,
    /// The physical line (1-based) at that offset.
    pub line: u64,
}

/// What a resumed reader needs instead of the header line. A few hundred bytes of JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderSnapshot {
    pub encoding: TextEncoding,
    pub delimiter: char,
    /// The columns and the detected export shape.
    pub header: HeaderMap,
}

/// What identifies a row's customer across imports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RowKey {
    /// The customer number (unique in the organisation, ignoring case).
    Number(String),
    /// No number, but the customer's id in an accounting system.
    External(ExternalRef),
    /// Neither (only with [`MissingNumber::Defer`]).
    None,
}

impl RowKey {
    fn of(input: &CustomerInput) -> RowKey {
        let present = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        if let Some(number) = present(&input.customer_number) {
            return RowKey::Number(number);
        }
        let external = input.external_refs.iter().flatten().find_map(|external| {
            let id = external.id.trim();
            (!id.is_empty()).then(|| ExternalRef {
                system: external.system,
                id: id.to_owned(),
            })
        });
        external.map_or(RowKey::None, RowKey::External)
    }

    /// A 128-bit digest of the key: a fixed 16 bytes whatever the key's length, stable across
    /// builds (unlike `std`'s hasher) so that [`SeenKeys`] can be stored between runs, and
    /// with a collision (a false "duplicate") far less likely than a disk error: about 10^-27
    /// for a million keys.
    fn digest(&self) -> Option<KeyDigest> {
        let mut hasher = Sha256::new();
        match self {
            RowKey::Number(number) => {
                hasher.update(b"number\0");
                // Numbers are unique ignoring case, like the store's number guard. Most are
                // ASCII and short: upper-cased on the stack rather than into a new string.
                let mut upper = [0u8; 64];
                match upper.get_mut(..number.len()) {
                    Some(upper) if number.is_ascii() => {
                        upper.copy_from_slice(number.as_bytes());
                        upper.make_ascii_uppercase();
                        hasher.update(upper);
                    }
                    _ => hasher.update(number.to_uppercase().as_bytes()),
                }
            }
            RowKey::External(external) => {
                hasher.update(b"external\0");
                hasher.update(format!("{:?}", external.system).as_bytes());
                hasher.update(b"\0");
                hasher.update(external.id.as_bytes());
            }
            RowKey::None => return None,
        }
        let digest = hasher.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        Some(first)
    }

    fn describe(&self) -> String {
        match self {
            RowKey::Number(number) => format!("Customer number {number:?}"),
            RowKey::External(external) => {
                format!("External id {:?} ({:?})", external.id, external.system)
            }
            RowKey::None => String::new(),
        }
    }

    fn field(&self) -> &'static str {
        match self {
            RowKey::External(_) => "/externalRefs/0/id",
            _ => "/customerNumber",
        }
    }
}

/// The keys of the rows read so far and the line each was first seen on.
///
/// Memory grows with the number of distinct keys only, never with the file: an entry is a
/// 128-bit digest of the key and the line (20 bytes, plus the hash table's slack and its
/// doubling while it grows: a million keys peak at about 70 MB). After a resume, duplicates
/// of rows before the checkpoint are only found if the keys are carried over with
/// [`ImportReader::with_seen_keys`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<(String, u64)>", into = "Vec<(String, u64)>")]
pub struct SeenKeys(HashMap<KeyDigest, u32, BuildHasherDefault<DigestHasher>>);

/// 128 bits as bytes rather than a `u128`, whose 16-byte alignment would pad every entry
/// of the table from 20 to 32 bytes.
type KeyDigest = [u8; 16];

/// The digests are uniformly distributed already; hashing them again would be wasted work.
#[derive(Debug, Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
}

impl SeenKeys {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Records `key` on `line`; if it was seen before, returns that first line instead.
    fn insert(&mut self, key: &RowKey, line: u64) -> Option<u64> {
        let digest = key.digest()?;
        match self.0.entry(digest) {
            Entry::Occupied(first) => Some(u64::from(*first.get())),
            Entry::Vacant(slot) => {
                // Four billion lines is far beyond any file an import reads.
                slot.insert(u32::try_from(line).unwrap_or(u32::MAX));
                None
            }
        }
    }
}

impl From<Vec<(String, u64)>> for SeenKeys {
    fn from(entries: Vec<(String, u64)>) -> Self {
        let parse = |(hex, line): (String, u64)| {
            let digest = u128::from_str_radix(&hex, 16).ok()?.to_be_bytes();
            Some((digest, u32::try_from(line).unwrap_or(u32::MAX)))
        };
        SeenKeys(entries.into_iter().filter_map(parse).collect())
    }
}

impl From<SeenKeys> for Vec<(String, u64)> {
    fn from(seen: SeenKeys) -> Self {
        seen.0
            .into_iter()
            .map(|(digest, line)| {
                let hex = format!("{:032x}", u128::from_be_bytes(digest));
                (hex, u64::from(line))
            })
            .collect()
    }
}

/// A row that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRow {
    /// 1-based physical line where the record starts.
    pub line: u64,
    pub fields: CustomerFields,
    /// The members the row gave, before validation filled in the organisation's defaults: an
    /// update of an existing customer changes only these (see [`crate::update_from_row`]).
    pub given: Given,
    pub key: RowKey,
    /// The row had no customer number (only with [`MissingNumber::Defer`]); `fields` holds an
    /// empty one for the caller to fill in.
    pub needs_number: bool,
    /// Numbers of guessed phone columns left out as unreadable (see `row::phones`).
    pub phones_left_out: u32,
}

/// One problem with one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    /// 1-based physical line where the record starts.
    pub line: u64,
    /// The header name as in the file.
    pub column: Option<String>,
    /// JSON pointer into the customer, as in the API's validation errors.
    pub field: Option<String>,
    /// A stable snake_case code: the domain's codes, plus "invalid_amount",
    /// "invalid_boolean", "invalid_payment_terms", "invalid_payment_type", "invalid_kind",
    /// "invalid_encoding", "unexpected_value", "unterminated_quote", "duplicate_in_file",
    /// "read_failed", "record_too_large", "example_row" (the template's example, see
    /// [`crate::output::EXAMPLE_NUMBER`]).
    pub code: String,
    pub message: String,
    /// The cell as in the file, when the error is about one cell.
    pub value: Option<String>,
}

type Input<R> = BufReader<Source<R>>;

/// What was read ahead of the file, then the rest of it.
type ReadAhead<R> = Chain<Cursor<Vec<u8>>, R>;

/// The bytes the tokenizer reads: the file's own, or a UTF-16 file's as UTF-8. Either begins
/// with what was read ahead to judge the file.
enum Source<R> {
    Bytes(ReadAhead<R>),
    Utf16(ReadAhead<Utf16ToUtf8<ReadAhead<R>>>),
}

impl<R: Read> Read for Source<R> {
    // Called once per 64 KiB refill; kept out of line so that the buffered reader's fast path,
    // called several times per record, stays small enough to inline (inlined, the parse rate
    // fell by about 3% in `cargo bench -p import`).
    #[inline(never)]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Bytes(bytes) => bytes.read(buf),
            Source::Utf16(text) => text.read(buf),
        }
    }
}

impl TextEncoding {
    fn utf16(self) -> Option<Endian> {
        match self {
            TextEncoding::Utf16Le => Some(Endian::Little),
            TextEncoding::Utf16Be => Some(Endian::Big),
            _ => None,
        }
    }
}

/// Reads a customer CSV file one row at a time.
///
/// Memory stays flat in the file's size: one buffer, the current record, and the set of keys
/// seen (see [`SeenKeys`]).
pub struct ImportReader<R: Read> {
    records: RecordReader<Input<R>>,
    record: RawRecord,
    encoding: TextEncoding,
    delimiter: u8,
    header: HeaderMap,
    /// Where the header put each column, for reading the rows.
    columns: ColumnTable,
    missing_number: MissingNumber,
    remember_keys: bool,
    column_override: ColumnOverride,
    default_country: Option<String>,
    context: ValidationContext,
    seen: SeenKeys,
    done: bool,
    failure: Option<FileError>,
    /// The start of the first record not read in full.
    next_record: Checkpoint,
    /// A UTF-16 file's offsets: the tokenizer's are in its UTF-8 transcoding.
    offsets: Option<Offsets>,
}

impl<R: Read> ImportReader<R> {
    /// Reads the start of the file to detect the encoding and delimiter, then the header.
    pub fn new(mut reader: R, options: &ImportOptions) -> Result<Self, FileError> {
        let (sample, complete) = read_sample(&mut reader)?;
        if let Some(kind) = document_kind(&sample) {
            return Err(FileError::NotText(kind));
        }
        let detected = detect_encoding(&sample, complete)
            .map_err(|unsupported| FileError::UnsupportedEncoding(unsupported.0))?;
        let bom = detected.bom_len;
        // The bytes the tokenizer reads, the mark it skips in them, and the dialect judged on
        // their start: a UTF-16 file's as UTF-8 (its mark already left out), judged anew.
        let (source, mark, (declared, delimiter), offsets) = match detected.encoding.utf16() {
            Some(endian) => {
                let mut file = Cursor::new(sample);
                file.set_position(bom as u64);
                let mut utf8 = Utf16ToUtf8::new(file.chain(reader), endian, bom as u64);
                let offsets = utf8.offsets();
                let (text, complete) = read_sample(&mut utf8)?;
                let dialect = dialect(&text, complete);
                let source = Source::Utf16(Cursor::new(text).chain(utf8));
                (source, 0, dialect, Some(offsets))
            }
            None => {
                let dialect = dialect(&sample[bom..], complete);
                (
                    Source::Bytes(Cursor::new(sample).chain(reader)),
                    bom,
                    dialect,
                    None,
                )
            }
        };
        let input = BufReader::with_capacity(BUFFER_LEN, source);
        let records = RecordReader::new(input, delimiter, options.max_record_bytes, 0, 1);
        let mut import = Self::start(records, detected.encoding, delimiter, options);
        import.offsets = offsets;
        import.records.skip(mark)?;
        if declared.is_some() {
            import.read_record()?;
        }
        import.read_header()?;
        Ok(import)
    }

    /// Continues a file from a [`Checkpoint`]: `reader` must start at `at.offset` of the
    /// original file. Rows, lines and offsets come out exactly as from one reader over the
    /// whole file.
    pub fn resume(
        reader: R,
        header: &HeaderSnapshot,
        at: Checkpoint,
        options: &ImportOptions,
    ) -> Result<Self, FileError> {
        let delimiter = u8::try_from(header.delimiter)
            .ok()
            .filter(|d| DELIMITERS.contains(d))
            .ok_or(FileError::InvalidSnapshot(header.delimiter))?;
        let nothing = || Cursor::new(Vec::new());
        // A UTF-16 file's tokenizer counts its own (UTF-8) bytes from 0; the file's offsets
        // come from the transcoder, which starts at the checkpoint's.
        let (source, offset, offsets) = match header.encoding.utf16() {
            Some(endian) => {
                let utf8 = Utf16ToUtf8::new(nothing().chain(reader), endian, at.offset);
                let offsets = utf8.offsets();
                (Source::Utf16(nothing().chain(utf8)), 0, Some(offsets))
            }
            None => (Source::Bytes(nothing().chain(reader)), at.offset, None),
        };
        let input = BufReader::with_capacity(BUFFER_LEN, source);
        let records =
            RecordReader::new(input, delimiter, options.max_record_bytes, offset, at.line);
        let mut import = Self::start(records, header.encoding, delimiter, options);
        import.set_header(header.header.clone());
        import.next_record = at;
        import.offsets = offsets;
        Ok(import)
    }

    fn start(
        records: RecordReader<Input<R>>,
        encoding: TextEncoding,
        delimiter: u8,
        options: &ImportOptions,
    ) -> Self {
        Self {
            records,
            record: RawRecord::default(),
            encoding,
            delimiter,
            header: HeaderMap::empty(),
            columns: ColumnTable::of(&HeaderMap::empty()),
            missing_number: options.missing_number,
            remember_keys: options.remember_keys,
            column_override: options.column_override.clone(),
            default_country: options.validation.default_country.clone(),
            context: options.validation.clone(),
            seen: SeenKeys::default(),
            done: false,
            failure: None,
            next_record: Checkpoint { offset: 0, line: 1 },
            offsets: None,
        }
    }

    /// Carries the keys seen before a checkpoint over into a resumed reader, so that
    /// duplicates across the checkpoint are still reported.
    pub fn with_seen_keys(mut self, seen: SeenKeys) -> Self {
        self.seen = seen;
        self
    }

    pub fn seen_keys(&self) -> &SeenKeys {
        &self.seen
    }

    pub fn header(&self) -> &HeaderMap {
        &self.header
    }

    /// The encoding as decided so far (see [`TextEncoding::AsciiSoFar`]).
    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    pub fn delimiter(&self) -> char {
        char::from(self.delimiter)
    }

    /// Where the next unread record starts, in the original bytes.
    pub fn checkpoint(&self) -> Checkpoint {
        self.next_record
    }

    /// What [`ImportReader::resume`] needs besides the checkpoint.
    pub fn snapshot(&self) -> HeaderSnapshot {
        HeaderSnapshot {
            encoding: self.encoding,
            delimiter: self.delimiter(),
            header: self.header.clone(),
        }
    }

    /// Why reading stopped before the end of the file, if it did (also reported as a
    /// [`RowError`] by the last [`ImportReader::next_row`]): a quote never closed
    /// ([`FileError::UnterminatedQuote`]), or an I/O error, which can be retried by resuming
    /// from the last checkpoint. A row too long to read is not a failure: it is that row's
    /// error, and reading goes on after it.
    pub fn failure(&self) -> Option<&FileError> {
        self.failure.as_ref()
    }

    /// The next row: validated, or every problem it has. `None` at the end of the file (or
    /// after a failure).
    pub fn next_row(&mut self) -> Option<Result<ValidRow, Vec<RowError>>> {
        while !self.done {
            match self.read_record() {
                Ok(false) => self.done = true,
                // Everything to the end of the file is in this one record: nothing after it
                // can be trusted, so reading stops here.
                Ok(true) if self.record.unterminated => {
                    let line = self.record.line;
                    return Some(Err(self.stop(FileError::UnterminatedQuote { line })));
                }
                // Where it ends is known (the tokenizer read through it), so the rows after it
                // are read as usual.
                Ok(true) if self.record.too_long => return Some(Err(vec![self.too_long()])),
                Ok(true) if self.record.used_len() == 0 => {}
                Ok(true) => return Some(self.process_record()),
                Err(failure) => return Some(Err(self.stop(failure))),
            }
        }
        None
    }

    /// Reading ends at `failure`: reported as the last row's error, and kept for
    /// [`Self::failure`].
    fn stop(&mut self, failure: FileError) -> Vec<RowError> {
        let code = match failure {
            FileError::UnterminatedQuote { .. } => "unterminated_quote",
            _ => "read_failed",
        };
        let error = RowError::of_row(self.record.line, code, sentence(&failure.to_string()));
        self.failure = Some(failure);
        self.done = true;
        vec![error]
    }

    /// The error of a row longer than the limit, naming the lines it took up.
    fn too_long(&self) -> RowError {
        let (line, last) = (self.record.line, self.record.last_line);
        let limit = self.records.max_record_bytes();
        let message = if last > line {
            format!(
                "The row starting on this line runs to line {last} and is longer than {limit} \
                 bytes, the most a row may have, so it was not imported. A quote opened in it is \
                 probably closed only on line {last}, which made the lines in between part of it."
            )
        } else {
            format!(
                "This row is longer than {limit} bytes, the most a row may have, so it was not \
                 imported. Shorten its longest values."
            )
        };
        RowError::of_row(line, "record_too_large", message)
    }

    fn read_record(&mut self) -> Result<bool, FileError> {
        let read = self.records.read(&mut self.record)?;
        // Only a whole record moves the checkpoint: after a failure in the middle of one, a
        // resume starts that record again.
        let offset = self.records.offset();
        let offset = match &self.offsets {
            // A record starts after a line break (or at the end), and the transcoder noted
            // each; an offset it did not note would be a bug, and resuming there would read
            // rows twice or skip them, so the file stops instead.
            Some(offsets) => offsets.original(offset).ok_or_else(|| {
                io::Error::other(format!(
                    "no offset in the file for the record at {offset} of its text"
                ))
            })?,
            None => offset,
        };
        self.next_record = Checkpoint {
            offset,
            line: self.records.line(),
        };
        Ok(read)
    }

    fn set_header(&mut self, header: HeaderMap) {
        self.columns = ColumnTable::of(&header);
        self.header = header;
    }

    /// The first non-blank record names the columns.
    fn read_header(&mut self) -> Result<(), FileError> {
        loop {
            if !self.read_record()? {
                return Err(FileError::Empty);
            }
            if self.record.too_long {
                let limit = self.records.max_record_bytes();
                return Err(FileError::HeaderTooLarge { limit });
            }
            if self.record.unterminated {
                let line = self.record.line;
                return Err(FileError::UnterminatedQuote { line });
            }
            if self.record.used_len() > 0 {
                break;
            }
        }
        let columns = self.record.used_len();
        if columns > MAX_COLUMNS {
            let limit = MAX_COLUMNS;
            return Err(FileError::TooManyColumns { columns, limit });
        }
        let names: Vec<String> = self
            .record
            .fields()
            .map(|bytes| match self.encoding.decode(bytes) {
                Ok(text) => text.into_owned(),
                Err(invalid) => invalid.lossy,
            })
            .collect();
        let header = HeaderMap::from_headers(&names)
            .with_custom_fields(&self.context.custom_fields)
            .with_override(&self.column_override)
            .map_err(FileError::MappedColumnMissing)?;
        self.set_header(header);
        if !self.header.has_imported_columns() {
            let headers = names.into_iter().filter(|n| !n.trim().is_empty()).collect();
            return Err(FileError::NoKnownColumns { headers });
        }
        Ok(())
    }

    fn process_record(&mut self) -> Result<ValidRow, Vec<RowError>> {
        let line = self.record.line;
        let mut errors = Vec::new();
        let cells = read_cells(&mut self.encoding, &self.record, &self.header, &mut errors);
        let trimmed: Vec<&str> = cells.iter().map(AsRef::as_ref).collect();
        let header = &self.header;
        if let Some(extra) = (header.columns.len()..trimmed.len()).find(|&i| !trimmed[i].is_empty())
        {
            errors.push(RowError {
                line,
                column: None,
                field: None,
                code: "unexpected_value".into(),
                message: format!(
                    "There is a value in column {} of this row, but the header row has only {} \
                     columns. A value probably contains the delimiter {:?} without quotes \
                     around it, which shifts the columns after it.",
                    extra + 1,
                    header.columns.len(),
                    char::from(self.delimiter)
                ),
                value: Some(trimmed[extra].to_owned()),
            });
        }
        let mut built = build_row(
            header,
            &self.columns,
            &trimmed,
            &self.context.custom_fields,
            self.default_country.as_deref(),
        );
        let cell_error =
            |column: Option<usize>, field: &str, code: &str, message: String| RowError {
                line,
                column: column.and_then(|i| header.name(i)).map(str::to_owned),
                field: (!field.is_empty()).then(|| field.to_owned()),
                code: code.to_owned(),
                message,
                value: column
                    .and_then(|i| trimmed.get(i))
                    .filter(|v| !v.is_empty())
                    .map(|v| (*v).to_owned()),
            };
        for problem in &built.problems {
            let message = problem.message.clone();
            errors.push(cell_error(
                Some(problem.column),
                problem.field,
                problem.code,
                message,
            ));
        }
        if is_template_example(&built.input) {
            let column = column_of(&built, header, "/customerNumber");
            let message = "This is the template's example row; delete it (or give it a real \
                           customer's values) and import the file again."
                .to_owned();
            return Err(vec![cell_error(
                column,
                "/customerNumber",
                "example_row",
                message,
            )]);
        }
        let key = RowKey::of(&built.input);
        if let Some(first) = self
            .remember_keys
            .then(|| self.seen.insert(&key, line))
            .flatten()
        {
            let field = key.field();
            let message = format!(
                "{} is also on line {first}; a customer may appear only once in a file.",
                key.describe()
            );
            let column = column_of(&built, header, field);
            errors.push(cell_error(column, field, "duplicate_in_file", message));
        }
        let mut input = std::mem::take(&mut built.input);
        let given = Given::of(&input);
        let needs_number =
            input.customer_number.is_none() && self.missing_number == MissingNumber::Defer;
        if needs_number {
            input.customer_number = Some(placeholder_number(&self.context.number_rules));
        }
        // A national number in the row is read with the row's own country: an import of
        // customers in several countries must not read them all as the organisation's.
        let country = built.country.or(self.default_country.as_deref());
        if self.context.default_country.as_deref() != country {
            self.context.default_country = country.map(str::to_owned);
        }
        match validate_customer(input, &self.context) {
            Ok(mut fields) if errors.is_empty() => {
                if needs_number {
                    fields.customer_number.clear();
                }
                Ok(ValidRow {
                    line,
                    fields,
                    given,
                    key,
                    needs_number,
                    phones_left_out: built.phones_left_out,
                })
            }
            Ok(_) => Err(errors),
            Err(invalid) => {
                for FieldError {
                    field,
                    code,
                    message,
                } in invalid.0
                {
                    let column = column_of(&built, header, &field);
                    errors.push(cell_error(column, &field, &code, message));
                }
                Err(errors)
            }
        }
    }
}

/// Every cell of `record` as its text: decoded, trimmed, and with the writer's formula guards
/// taken off, so an export of ours reads back as the values it was written from (`'+46...` is
/// `+46...`; see `unescape_cell`). A cell that is not valid in the file's encoding is reported
/// and read as empty.
fn read_cells<'r>(
    encoding: &mut TextEncoding,
    record: &'r RawRecord,
    header: &HeaderMap,
    errors: &mut Vec<RowError>,
) -> Vec<Cow<'r, str>> {
    let mut cells = Vec::with_capacity(record.len());
    // Most records are valid UTF-8 as a whole: decided in one pass rather than cell by cell
    // (cells end at a delimiter, so a cell of a valid record is valid; `get` checks it).
    let whole = encoding.decode_whole(record.data());
    for (i, bytes) in record.fields().enumerate() {
        let decoded = match whole.and_then(|text| text.get(record.range(i))) {
            Some(text) => Ok(Cow::Borrowed(text)),
            None => encoding.decode(bytes),
        };
        match decoded {
            Ok(Cow::Borrowed(text)) => cells.push(plain_cell(text)),
            Ok(Cow::Owned(text)) => cells.push(Cow::Owned(plain_cell(&text).into_owned())),
            Err(invalid) => {
                errors.push(RowError {
                    line: record.line,
                    column: header.name(i).map(str::to_owned),
                    field: None,
                    code: "invalid_encoding".into(),
                    message: "This value is not valid UTF-8, unlike the rest of the file. \
                              Save the file as \"CSV UTF-8\" and import it again."
                        .into(),
                    value: Some(invalid.lossy),
                });
                cells.push(Cow::Borrowed(""));
            }
        }
    }
    cells
}

/// A decoded cell trimmed and without its formula guards; trimmed again only where a guard
/// came off.
fn plain_cell(text: &str) -> Cow<'_, str> {
    match crate::output::unescape_cell(text.trim()) {
        Cow::Borrowed(cell) => Cow::Borrowed(cell),
        Cow::Owned(cell) if cell.trim().len() == cell.len() => Cow::Owned(cell),
        Cow::Owned(cell) => Cow::Owned(cell.trim().to_owned()),
    }
}

impl<R: Read> Iterator for ImportReader<R> {
    type Item = Result<ValidRow, Vec<RowError>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row()
    }
}

const HOMES: &[(&str, &[Column])] = &[
    ("/customerNumber", &[Column::CustomerNumber]),
    (
        "/firstName",
        &[Column::FirstName, Column::FullName, Column::LastName],
    ),
    ("/lastName", &[Column::LastName, Column::FullName]),
    ("/companyName", &[Column::CompanyName, Column::DisplayName]),
    ("/organisationNumber", &[Column::OrganisationNumber]),
    // Channels the organisation requires.
    ("/email", &[Column::Email]),
    ("/phone", &[Column::Phone]),
    ("/mobile", &[Column::Mobile]),
    (
        "/externalRefs",
        &[
            Column::ExternalId,
            Column::CustomerNumber,
            Column::DisplayName,
        ],
    ),
];

/// The file column behind a pointer: where the row's value came from, else the column that
/// would have held it (a required number names the empty "Customer Number" cell). Only
/// "required" errors are about empty cells, so only their fields need a home here.
fn column_of(built: &BuiltRow, header: &HeaderMap, pointer: &str) -> Option<usize> {
    built
        .column_of(pointer)
        .or_else(|| home_column(header, pointer))
}

/// The column that would hold the value at `pointer`, judged from the header alone.
fn home_column(header: &HeaderMap, pointer: &str) -> Option<usize> {
    if let Some(key) = pointer.strip_prefix("/customFields/") {
        return header.index_of_custom_field(key);
    }
    let (_, columns) = HOMES.iter().find(|(home, _)| is_within(pointer, home))?;
    columns.iter().find_map(|&c| header.index_of(c))
}

impl RowError {
    /// A domain error found when the row was applied to an existing customer (after the
    /// reader gave it out), named with the column that holds the field where the header says.
    pub fn of_field(line: u64, header: &HeaderMap, error: FieldError) -> RowError {
        let column = home_column(header, &error.field)
            .and_then(|i| header.name(i))
            .map(str::to_owned);
        RowError {
            line,
            column,
            field: Some(error.field).filter(|f| !f.is_empty()),
            code: error.code,
            message: sentence(&error.message),
            value: None,
        }
    }

    /// A problem of the whole row that is not about one field.
    pub fn of_row(line: u64, code: &str, message: impl Into<String>) -> RowError {
        RowError {
            line,
            column: None,
            field: None,
            code: code.to_owned(),
            message: message.into(),
            value: None,
        }
    }
}

/// The template's example row, recognised by its number ([`crate::output::EXAMPLE_NUMBER`]).
fn is_template_example(input: &CustomerInput) -> bool {
    input
        .customer_number
        .as_deref()
        .is_some_and(|n| n.trim().eq_ignore_ascii_case(crate::output::EXAMPLE_NUMBER))
}

/// A number that passes the organisation's rules, so that a row without one is validated on
/// everything else. Digits are always allowed.
fn placeholder_number(rules: &NumberRules) -> String {
    "0".repeat(rules.min_len.max(1))
}

/// Reads up to [`SAMPLE_LEN`] bytes; true if that was the whole input.
fn read_sample(reader: &mut impl Read) -> io::Result<(Vec<u8>, bool)> {
    let mut sample = Vec::with_capacity(SAMPLE_LEN);
    let complete = reader
        .take(SAMPLE_LEN as u64)
        .read_to_end(&mut sample)
        .map(|n| n < SAMPLE_LEN)?;
    Ok((sample, complete))
}

/// What a file that is no text is, by its first bytes: a workbook saved as such instead of as
/// CSV is the usual mistake, and read as text it would only fail later with a header of
/// binary noise.
fn document_kind(start: &[u8]) -> Option<&'static str> {
    const KINDS: [(&[u8], &str); 3] = [
        // .xlsx (and .ods, .numbers): a ZIP archive.
        (
            b"PK\x03\x04",
            "an Excel workbook (.xlsx) or another zipped document",
        ),
        // .xls: an OLE2 compound document.
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "an Excel 97-2003 workbook (.xls)",
        ),
        (b"%PDF-", "a PDF document"),
    ];
    KINDS
        .iter()
        .find(|(magic, _)| start.starts_with(magic))
        .map(|(_, kind)| *kind)
}

/// The delimiter Excel's "sep=;" line declares, if the file starts with one, and the delimiter
/// to read with: the declared one, else the one judged on `body` (a file with one column has
/// none to find; any will do).
fn dialect(body: &[u8], complete: bool) -> (Option<u8>, u8) {
    let declared = excel_separator_line(body);
    let delimiter = declared.unwrap_or_else(|| detect_delimiter(body, complete).unwrap_or(b','));
    (declared, delimiter)
}

/// Excel's "sep=;" first line, which names the delimiter.
fn excel_separator_line(body: &[u8]) -> Option<u8> {
    let rest = body.strip_prefix(b"sep=")?;
    let (&delimiter, after) = rest.split_first()?;
    let ends = after.is_empty() || after[0] == b'\r' || after[0] == b'\n';
    (ends && DELIMITERS.contains(&delimiter)).then_some(delimiter)
}

/// An error's text as a sentence for the report.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}
