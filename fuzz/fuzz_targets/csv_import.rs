#![no_main]
//! Arbitrary bytes as an uploaded customer file, through the whole import as the import
//! function runs it: encoding, dialect, header, every row read and validated, a resume from a
//! checkpoint, an update of the customer a row created, and the error report.
//!
//! Beyond "never panics": a slice never fails to read; rows never outnumber the file's lines
//! and their lines only grow; every error row has errors with a code and a message; a valid
//! row is a card the API accepts unchanged and re-importing it changes nothing; a resume from
//! a checkpoint gives exactly the rows a single pass gave; the error report never holds a cell
//! a spreadsheet would run as a formula.

use std::sync::LazyLock;

use domain::ContactId;
use fuzzing::{RULES, created_again};
use import::{
    Checkpoint, FileError, HeaderSnapshot, ImportOptions, ImportReader, MissingNumber, RowError,
    SeenKeys, ValidRow, escape_formula, update_from_row,
};
use libfuzzer_sys::fuzz_target;

type Row = Result<ValidRow, Vec<RowError>>;

/// The defaults (rows without a number refused, repeats found in memory), and the import
/// function's own choices (numbers deferred, repeats found in the table) with a record limit
/// small enough that fuzzed inputs reach it.
static OPTION_SETS: LazyLock<[ImportOptions; 2]> = LazyLock::new(|| {
    [
        ImportOptions {
            validation: RULES.clone(),
            ..ImportOptions::default()
        },
        ImportOptions {
            validation: RULES.clone(),
            missing_number: MissingNumber::Defer,
            max_record_bytes: 512,
            remember_keys: false,
            ..ImportOptions::default()
        },
    ]
});

fuzz_target!(|file: &[u8]| {
    for options in OPTION_SETS.iter() {
        check_import(file, options);
    }
});

/// Where a reader stood: enough to resume from there.
struct Position {
    checkpoint: Checkpoint,
    snapshot: HeaderSnapshot,
    seen: SeenKeys,
}

impl Position {
    fn of(reader: &ImportReader<&[u8]>) -> Self {
        Self {
            checkpoint: reader.checkpoint(),
            snapshot: reader.snapshot(),
            seen: reader.seen_keys().clone(),
        }
    }
}

fn check_import(file: &[u8], options: &ImportOptions) {
    let mut reader = match ImportReader::new(file, options) {
        Ok(reader) => reader,
        Err(FileError::Io(error)) => panic!("a byte slice cannot fail to read: {error}"),
        // Refused as a whole, with a reason for the person who uploaded it.
        Err(_) => return,
    };
    let lines = physical_lines(file);
    let after_header = Position::of(&reader);
    let mut rows: Vec<Row> = Vec::new();
    let mut positions = Vec::new();
    while let Some(row) = reader.next_row() {
        // The header takes a line, so a reader giving more rows than that is looping.
        assert!(rows.len() < lines, "more rows than the file has lines");
        rows.push(row);
        positions.push(Position::of(&reader));
    }
    assert!(
        reader.next_row().is_none(),
        "a finished reader stays finished"
    );
    check_lines(&rows, lines);
    for row in &rows {
        check_row(row, options);
    }
    check_report(&rows);
    check_resume(file, options, &after_header, &rows);
    if let Some(middle) = positions.len().checked_sub(1).map(|last| last / 2) {
        check_resume(file, options, &positions[middle], &rows[middle + 1..]);
    }
}

/// Line breaks as the reader counts them (LF, CRLF, or a lone CR), plus the line they end.
fn physical_lines(file: &[u8]) -> usize {
    let lone_crs = file
        .windows(2)
        .filter(|pair| pair[0] == b'\r' && pair[1] != b'\n')
        .count();
    let trailing_cr = usize::from(file.last() == Some(&b'\r'));
    let lfs = file.iter().filter(|&&b| b == b'\n').count();
    lfs + lone_crs + trailing_cr + 1
}

fn line_of(row: &Row) -> u64 {
    match row {
        Ok(valid) => valid.line,
        Err(errors) => errors[0].line,
    }
}

fn check_lines(rows: &[Row], lines: usize) {
    let lines = u64::try_from(lines).expect("a line count fits");
    let mut previous = 1; // the header's line at the least
    for row in rows {
        let line = line_of(row);
        assert!(line > previous, "row on line {line} after line {previous}");
        assert!(
            line <= lines,
            "row on line {line} of a file of {lines} lines"
        );
        previous = line;
    }
}

fn check_row(row: &Row, options: &ImportOptions) {
    match row {
        Err(errors) => {
            assert!(!errors.is_empty(), "a refused row says why");
            for error in errors {
                assert_eq!(error.line, errors[0].line, "one row's errors: {errors:?}");
                assert!(is_code(&error.code), "code {:?}", error.code);
                assert!(!error.message.trim().is_empty(), "{error:?} has no message");
            }
        }
        // A row without a number is numbered by the caller before it is a card.
        Ok(valid) if valid.needs_number => assert!(valid.fields.customer_number.is_empty()),
        Ok(valid) => {
            let again = created_again(&valid.fields, valid.fields.to_input(), &options.validation);
            assert_eq!(
                again.as_ref(),
                Ok(&valid.fields),
                "an imported card is not one the API accepts unchanged"
            );
            let update = update_from_row(&valid.fields, valid, &options.validation);
            assert_eq!(
                update,
                Ok(None),
                "importing a row again changes the customer it created"
            );
        }
    }
}

/// The domain's codes and the import's own: lower snake case.
fn is_code(code: &str) -> bool {
    !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// The error report as the import function writes it, read back cell by cell.
fn check_report(rows: &[Row]) {
    let mut report = import::ErrorReportWriter::new(Vec::new()).expect("writing to memory");
    for errors in rows.iter().filter_map(|row| row.as_ref().err()) {
        report.write_all(errors).expect("writing to memory");
    }
    let bytes = report.into_inner().expect("writing to memory");
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..]);
    for record in csv.records() {
        let record = record.expect("the report is CSV we can read back");
        for cell in &record {
            assert_eq!(
                escape_formula(cell),
                cell,
                "the report holds a cell a spreadsheet would run as a formula"
            );
        }
    }
}

/// Rows with their contacts' ids blanked: a contact gets a fresh id every time its row is read.
fn without_contact_ids(mut rows: Vec<Row>) -> Vec<Row> {
    for valid in rows.iter_mut().filter_map(|row| row.as_mut().ok()) {
        for contact in &mut valid.fields.contacts {
            contact.id = ContactId(String::new());
        }
    }
    rows
}

/// A reader resumed at `from` gives exactly `expected`, the rows after it in a single pass.
/// The snapshot travels as JSON, as the import function stores it between invocations.
fn check_resume(file: &[u8], options: &ImportOptions, from: &Position, expected: &[Row]) {
    let stored = serde_json::to_string(&from.snapshot).expect("a snapshot serialises");
    let snapshot: HeaderSnapshot = serde_json::from_str(&stored).expect("a snapshot parses");
    assert_eq!(snapshot, from.snapshot, "the snapshot changes through JSON");
    let offset = usize::try_from(from.checkpoint.offset).expect("an offset fits");
    assert!(
        offset <= file.len(),
        "checkpoint beyond the end of the file"
    );
    let resumed = ImportReader::resume(&file[offset..], &snapshot, from.checkpoint, options)
        .expect("a reader resumes from its own snapshot")
        .with_seen_keys(from.seen.clone());
    let rows: Vec<Row> = resumed.take(expected.len() + 1).collect();
    assert_eq!(
        without_contact_ids(rows),
        without_contact_ids(expected.to_vec()),
        "a resume at {:?} gives other rows",
        from.checkpoint
    );
}
