//! Splitting the raw bytes into records and fields, and guessing the delimiter.
//!
//! The tokenizer works on the undecoded bytes. Both encodings we read (UTF-8 and Windows-1252)
//! are ASCII-compatible, so the structural bytes (quote, delimiter, CR, LF) are the same bytes
//! in either, and a byte of a multi-byte UTF-8 character is never mistaken for one of them.
//! Working on raw bytes keeps every offset an offset in the original file, which checkpointing
//! needs, and lets us count physical lines for all three line-ending styles (the `csv` crate
//! counts only LF, so a file saved with bare CR would be "all on line 1").
//!
//! It is written here rather than taken from the `csv` crate for two more reasons: a record has
//! a size limit (a stray quote would otherwise swallow the rest of the file into one field and
//! memory would grow with the file), and an unterminated quote is reported instead of being
//! silently accepted.

use std::io::{self, BufRead};

/// The delimiters we accept, in the order they win a tie.
pub const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// How many records (header included) the delimiter guess looks at.
const SNIFF_RECORDS: usize = 20;

/// One record as bytes: the fields are `data[ends[i-1]..ends[i]]`.
#[derive(Debug, Default, Clone)]
pub(crate) struct RawRecord {
    /// 1-based physical line where the record starts.
    pub line: u64,
    /// Byte offset in the original input where the record starts.
    pub offset: u64,
    data: Vec<u8>,
    ends: Vec<usize>,
    /// The record ended inside a quoted field at the end of the input.
    pub unterminated: bool,
}

impl RawRecord {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|i| self.field(i))
    }

    /// The number of fields up to the last one that is not blank: trailing empty columns, which
    /// spreadsheets like to add, do not count.
    pub fn used_len(&self) -> usize {
        (0..self.len())
            .rev()
            .find(|&i| !is_blank(self.field(i)))
            .map_or(0, |i| i + 1)
    }

    fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
        self.unterminated = false;
    }

    fn end_field(&mut self) {
        self.ends.push(self.data.len());
    }
}

fn is_blank(field: &[u8]) -> bool {
    field.iter().all(u8::is_ascii_whitespace)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: either the first half of `""` or the closing quote.
    QuoteInQuoted,
}

/// Why a record could not be read.
#[derive(Debug)]
pub(crate) enum RecordError {
    Io(io::Error),
    TooLarge { line: u64 },
}

impl From<io::Error> for RecordError {
    fn from(error: io::Error) -> Self {
        RecordError::Io(error)
    }
}

/// Reads records one at a time from a buffered byte stream, tracking the byte offset and the
/// physical line (CR, LF and CRLF each end one line, inside quoted fields too).
pub(crate) struct RecordReader<R> {
    inner: R,
    delimiter: u8,
    max_record_bytes: usize,
    /// Bytes consumed from the original input so far.
    offset: u64,
    /// The physical line the next unread byte is on.
    line: u64,
}

impl<R: BufRead> RecordReader<R> {
    /// `offset` and `line` say where in the original input `inner` starts.
    pub fn new(inner: R, delimiter: u8, max_record_bytes: usize, offset: u64, line: u64) -> Self {
        Self {
            inner,
            delimiter,
            max_record_bytes,
            offset,
            line,
        }
    }

    /// The offset of the first byte not yet read: after a record, the start of the next one
    /// (or of the blank lines before it).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn line(&self) -> u64 {
        self.line
    }

    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// Skips `n` bytes that are not part of any record (a byte-order mark).
    pub fn skip(&mut self, n: usize) -> io::Result<()> {
        let mut left = n;
        while left > 0 {
            let available = self.inner.fill_buf()?.len();
            if available == 0 {
                break;
            }
            let step = available.min(left);
            self.inner.consume(step);
            self.offset += step as u64;
            left -= step;
        }
        Ok(())
    }

    /// Reads the next record into `record`, skipping blank lines. `Ok(false)` at the end of the
    /// input.
    pub fn read(&mut self, record: &mut RawRecord) -> Result<bool, RecordError> {
        record.clear();
        record.offset = self.offset;
        record.line = self.line;
        let mut state = State::FieldStart;
        // A CR inside a quoted field was the last byte seen: an LF right after it is the same
        // line break.
        let mut after_cr = false;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Ok(self.finish_at_eof(record, state));
            }
            let mut used = 0;
            let mut ended = None;
            for &byte in buf {
                used += 1;
                let was_after_cr = std::mem::take(&mut after_cr);
                match state {
                    State::FieldStart | State::Unquoted | State::QuoteInQuoted
                        if byte == b'\r' || byte == b'\n' =>
                    {
                        if state == State::FieldStart && record.ends.is_empty() {
                            // A blank line: nothing to return, the record starts after it.
                            self.line += 1;
                            if byte == b'\r' {
                                after_cr = true;
                            } else if was_after_cr {
                                self.line -= 1;
                            }
                            record.offset = self.offset + used as u64;
                            record.line = self.line;
                            continue;
                        }
                        record.end_field();
                        ended = Some(byte);
                        break;
                    }
                    State::FieldStart if byte == b'"' => state = State::Quoted,
                    State::FieldStart | State::Unquoted | State::QuoteInQuoted
                        if byte == self.delimiter =>
                    {
                        record.end_field();
                        state = State::FieldStart;
                    }
                    State::FieldStart | State::Unquoted => {
                        record.data.push(byte);
                        state = State::Unquoted;
                    }
                    State::Quoted if byte == b'"' => state = State::QuoteInQuoted,
                    State::Quoted => {
                        if byte == b'\r' || (byte == b'\n' && !was_after_cr) {
                            self.line += 1;
                        }
                        after_cr = byte == b'\r';
                        record.data.push(byte);
                    }
                    State::QuoteInQuoted if byte == b'"' => {
                        record.data.push(b'"');
                        state = State::Quoted;
                    }
                    State::QuoteInQuoted => {
                        // `"abc"def`: text after a closing quote is kept, as Excel and the csv
                        // crate do, rather than refusing the row.
                        record.data.push(byte);
                        state = State::Unquoted;
                    }
                }
            }
            self.inner.consume(used);
            self.offset += used as u64;
            if record.data.len() > self.max_record_bytes {
                return Err(RecordError::TooLarge { line: record.line });
            }
            if let Some(terminator) = ended {
                self.line += 1;
                if terminator == b'\r' {
                    self.swallow_lf_after_cr()?;
                }
                return Ok(true);
            }
        }
    }

    /// A record ended with CR: an LF right after it belongs to the same line break, and is
    /// consumed now so that [`Self::offset`] points at the next record.
    fn swallow_lf_after_cr(&mut self) -> io::Result<()> {
        if self.inner.fill_buf()?.first() == Some(&b'\n') {
            self.inner.consume(1);
            self.offset += 1;
        }
        Ok(())
    }

    fn finish_at_eof(&mut self, record: &mut RawRecord, state: State) -> bool {
        let started = !record.ends.is_empty() || state != State::FieldStart;
        if !started {
            return false;
        }
        record.end_field();
        record.unterminated = state == State::Quoted;
        true
    }
}

/// Guesses the delimiter from the start of the file: the header and the first records.
///
/// Delimiters are counted outside quotes only (by tokenizing with each candidate). A candidate
/// must give the header more than one column; among those, the one under which most records
/// have the header's field count wins, then the one with more columns, then the earlier in
/// [`DELIMITERS`]. `complete` says whether `sample` is the whole file: if not, its last record
/// may be cut and is not looked at.
pub fn detect_delimiter(sample: &[u8], complete: bool) -> Option<u8> {
    DELIMITERS
        .iter()
        .map(|&delimiter| (delimiter, score(sample, complete, delimiter)))
        .filter(|(_, score)| score.header_fields > 1)
        // `max_by_key` keeps the last maximum; reversing keeps the earliest candidate on a tie.
        .rev()
        .max_by_key(|(_, score)| (score.consistent_records, score.header_fields))
        .map(|(delimiter, _)| delimiter)
}

#[derive(Debug, Default)]
struct Score {
    header_fields: usize,
    consistent_records: usize,
}

fn score(sample: &[u8], complete: bool, delimiter: u8) -> Score {
    let mut reader = RecordReader::new(sample, delimiter, usize::MAX, 0, 1);
    let mut record = RawRecord::default();
    let mut counts = Vec::new();
    while counts.len() < SNIFF_RECORDS && matches!(reader.read(&mut record), Ok(true)) {
        let maybe_cut = !complete && reader.offset() == sample.len() as u64;
        if maybe_cut {
            break;
        }
        if record.used_len() > 0 {
            counts.push(record.len());
        }
    }
    let Some((&header, rest)) = counts.split_first() else {
        return Score::default();
    };
    Score {
        header_fields: header,
        consistent_records: rest.iter().filter(|&&n| n == header).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &[u8]) -> Vec<(u64, u64, Vec<String>)> {
        let mut reader = RecordReader::new(input, b',', 1 << 20, 0, 1);
        let mut record = RawRecord::default();
        let mut out = Vec::new();
        while reader.read(&mut record).unwrap() {
            let fields = record
                .fields()
                .map(|f| String::from_utf8(f.to_vec()).unwrap())
                .collect();
            out.push((record.line, record.offset, fields));
        }
        out
    }

    fn strings(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lines_and_offsets_for_every_line_ending() {
        let got = records(b"a,b\r\nc,d\ne,f\rg,h");
        assert_eq!(
            got,
            vec![
                (1, 0, strings(&["a", "b"])),
                (2, 5, strings(&["c", "d"])),
                (3, 9, strings(&["e", "f"])),
                (4, 13, strings(&["g", "h"])),
            ]
        );
    }

    #[test]
    fn quoted_fields_keep_delimiters_quotes_and_line_breaks() {
        let got = records(b"\"a,1\",\"say \"\"hi\"\"\",\"x\r\ny\"\nnext,2\n");
        assert_eq!(got[0].2, strings(&["a,1", "say \"hi\"", "x\r\ny"]));
        assert_eq!((got[1].0, got[1].2.clone()), (3, strings(&["next", "2"])));
    }

    #[test]
    fn blank_lines_are_skipped_but_counted() {
        let got = records(b"\r\n\na,b\r\n\r\n\rc,d\n\n");
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].0, got[0].1), (3, 3));
        assert_eq!((got[1].0, got[1].1), (6, 11));
    }

    #[test]
    fn crlf_split_across_buffer_reads_is_one_line_break() {
        // A BufReader of capacity 1 hands over one byte at a time.
        let input: &[u8] = b"a\r\n\r\nb,\"x\r\ny\"\r\nc";
        let mut reader =
            RecordReader::new(io::BufReader::with_capacity(1, input), b',', 1 << 20, 0, 1);
        let mut record = RawRecord::default();
        let mut lines = Vec::new();
        while reader.read(&mut record).unwrap() {
            lines.push((record.line, record.offset));
        }
        assert_eq!(lines, vec![(1, 0), (3, 5), (5, 15)]);
    }

    #[test]
    fn unterminated_quote_is_flagged() {
        let mut reader = RecordReader::new(&b"a,\"b\nc"[..], b',', 1 << 20, 0, 1);
        let mut record = RawRecord::default();
        assert!(reader.read(&mut record).unwrap());
        assert!(record.unterminated);
    }

    #[test]
    fn oversized_record_is_refused() {
        let input = format!("a,\"{}", "x".repeat(100));
        let mut reader = RecordReader::new(input.as_bytes(), b',', 50, 0, 1);
        let mut record = RawRecord::default();
        assert!(matches!(
            reader.read(&mut record),
            Err(RecordError::TooLarge { line: 1 })
        ));
    }

    #[test]
    fn delimiter_is_counted_outside_quotes_only() {
        let sample = b"Name;Balance;Note\n\"Berg, Anna\";1,50;\"a;b\"\nAcme;2,00;x\n";
        assert_eq!(detect_delimiter(sample, true), Some(b';'));
        let sample = b"Name\tCity\n\"Berg, Anna\"\tLund\n";
        assert_eq!(detect_delimiter(sample, true), Some(b'\t'));
        let sample = b"Name,City\n\"Berg; Anna\",Lund\n";
        assert_eq!(detect_delimiter(sample, true), Some(b','));
    }

    #[test]
    fn delimiter_prefers_consistent_field_counts() {
        // Under ';' the header has 2 columns and every record too; under ',' the header has 2
        // columns as well but the decimal commas make the records ragged.
        let sample = b"a,b;c\n1;2,5\n3;4,25\n5;6\n";
        assert_eq!(detect_delimiter(sample, true), Some(b';'));
    }

    #[test]
    fn single_column_file_has_no_delimiter() {
        assert_eq!(detect_delimiter(b"Name\nAnna\n", true), None);
    }
}
