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
//! a size limit (the `csv` crate holds a whole record in memory, so an endless line or a stray
//! quote swallowing the rest of the file would grow memory with the file), and an unterminated
//! quote is reported instead of being silently accepted. A record over the limit is not kept:
//! its bytes are still tokenised, so the record ends exactly where it would have without the
//! limit, and the next record is read as usual.

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
    /// 1-based physical line of the record's last byte (its line terminator excluded).
    pub last_line: u64,
    /// The record ended inside a quoted field at the end of the input.
    pub unterminated: bool,
    /// The record is longer than the reader's limit: it was skipped, not kept, and has no
    /// fields.
    pub too_long: bool,
}

impl RawRecord {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn field(&self, i: usize) -> &[u8] {
        &self.data[self.range(i)]
    }

    /// Where field `i` is in [`Self::data`].
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        start..self.ends[i]
    }

    /// The fields' bytes, one after another.
    pub fn data(&self) -> &[u8] {
        &self.data
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
        self.too_long = false;
    }

    fn push(&mut self, byte: u8) {
        if !self.too_long {
            self.data.push(byte);
        }
    }

    fn extend(&mut self, bytes: &[u8]) {
        if !self.too_long {
            self.data.extend_from_slice(bytes);
        }
    }

    fn end_field(&mut self) {
        if !self.too_long {
            self.ends.push(self.data.len());
        }
    }

    /// Drops what was kept of a record that turned out too long: the rest of it is only
    /// tokenised, to find where it ends.
    fn give_up(&mut self) {
        self.too_long = true;
        self.data.clear();
        self.ends.clear();
    }

    /// The record has begun: a field ended, or a record too long to keep was being read.
    fn started(&self) -> bool {
        !self.ends.is_empty() || self.too_long
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

/// Reads records one at a time from a buffered byte stream, tracking the byte offset and the
/// physical line (CR, LF and CRLF each end one line, inside quoted fields too).
pub(crate) struct RecordReader<R> {
    inner: R,
    delimiter: u8,
    /// The bytes that may end a run of a field's text: the delimiter, the quote, CR and LF.
    special: [bool; 256],
    max_record_bytes: usize,
    /// Bytes consumed from the original input so far.
    offset: u64,
    /// The physical line the next unread byte is on.
    line: u64,
}

impl<R: BufRead> RecordReader<R> {
    /// `offset` and `line` say where in the original input `inner` starts.
    pub fn new(inner: R, delimiter: u8, max_record_bytes: usize, offset: u64, line: u64) -> Self {
        let mut special = [false; 256];
        for byte in [delimiter, b'"', b'\r', b'\n'] {
            special[usize::from(byte)] = true;
        }
        Self {
            inner,
            delimiter,
            special,
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
    /// input. A record longer than `max_record_bytes` (counted in the original bytes, quotes
    /// and delimiters included) comes back [`RawRecord::too_long`] and empty: memory never
    /// holds more than the limit of one record, however long the line.
    pub fn read(&mut self, record: &mut RawRecord) -> io::Result<bool> {
        record.clear();
        record.offset = self.offset;
        record.line = self.line;
        let mut state = State::FieldStart;
        // A CR inside a quoted field was the last byte seen: an LF right after it is the same
        // line break.
        let mut after_cr = false;
        let limit = self.max_record_bytes as u64;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Ok(self.finish_at_eof(record, state));
            }
            let mut used = 0;
            let mut ended = None;
            while used < buf.len() {
                // A field that opens with a plain byte is unquoted from that byte on: its run
                // starts there, not after a first byte read on its own.
                if state == State::FieldStart {
                    let first = buf[used];
                    let opens = first == b'"' || first == self.delimiter;
                    if !opens && first != b'\r' && first != b'\n' {
                        state = State::Unquoted;
                    }
                }
                // Inside a field, bytes that change nothing but the field's text are copied as
                // a run, when the whole run stays within the limit (otherwise byte by byte
                // below, which finds the byte that crosses it).
                if !record.too_long && matches!(state, State::Unquoted | State::Quoted) {
                    // The run ends at the first byte that matters to either state (a quote
                    // in an unquoted field, a delimiter in a quoted one, is then read on its
                    // own below): one table look per byte. Runs are short, a few bytes to a
                    // few dozen, where a vectorised search costs more to set up than it saves.
                    let rest = &buf[used..];
                    let special = &self.special;
                    let run = rest
                        .iter()
                        .position(|&b| special[usize::from(b)])
                        .unwrap_or(rest.len());
                    if run > 0 && self.offset + (used + run) as u64 - record.offset <= limit {
                        record.extend(&rest[..run]);
                        used += run;
                        after_cr = false;
                        continue;
                    }
                }
                let byte = buf[used];
                used += 1;
                let was_after_cr = std::mem::take(&mut after_cr);
                // Every byte of the record counts but the line break that ends it. Checked
                // before the byte is kept, so that what is kept never exceeds the limit.
                let ends_record = state != State::Quoted && (byte == b'\r' || byte == b'\n');
                if !ends_record
                    && !record.too_long
                    && self.offset + used as u64 - record.offset > limit
                {
                    record.give_up();
                }
                match state {
                    State::FieldStart | State::Unquoted | State::QuoteInQuoted
                        if byte == b'\r' || byte == b'\n' =>
                    {
                        if state == State::FieldStart && !record.started() {
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
                        record.last_line = self.line;
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
                        record.push(byte);
                        state = State::Unquoted;
                    }
                    State::Quoted if byte == b'"' => state = State::QuoteInQuoted,
                    State::Quoted => {
                        if byte == b'\r' || (byte == b'\n' && !was_after_cr) {
                            self.line += 1;
                        }
                        after_cr = byte == b'\r';
                        record.push(byte);
                    }
                    State::QuoteInQuoted if byte == b'"' => {
                        record.push(b'"');
                        state = State::Quoted;
                    }
                    State::QuoteInQuoted => {
                        // `"abc"def`: text after a closing quote is kept, as Excel and the csv
                        // crate do, rather than refusing the row.
                        record.push(byte);
                        state = State::Unquoted;
                    }
                }
            }
            self.inner.consume(used);
            self.offset += used as u64;
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
        if !record.started() && state == State::FieldStart {
            return false;
        }
        record.end_field();
        record.last_line = self.line;
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

    /// Reads every record with a limit of `limit` bytes: (line, last line, too long, fields).
    fn limited(input: &[u8], limit: usize) -> Vec<(u64, u64, bool, Vec<String>)> {
        let mut reader = RecordReader::new(input, b',', limit, 0, 1);
        let mut record = RawRecord::default();
        let mut out = Vec::new();
        while reader.read(&mut record).unwrap() {
            let fields = record
                .fields()
                .map(|f| String::from_utf8(f.to_vec()).unwrap())
                .collect();
            out.push((record.line, record.last_line, record.too_long, fields));
        }
        out
    }

    #[test]
    fn a_record_at_the_limit_is_kept_and_one_byte_more_is_skipped_to_its_end() {
        // "a,bcd" is 5 bytes; the line break does not count.
        let got = limited(b"a,bcd\r\na,bcde\r\nx,y\n", 5);
        assert_eq!(
            got,
            vec![
                (1, 1, false, strings(&["a", "bcd"])),
                (2, 2, true, vec![]),
                (3, 3, false, strings(&["x", "y"])),
            ]
        );
    }

    #[test]
    fn a_long_quoted_record_is_skipped_to_where_its_quote_closes() {
        // Quotes, delimiters and line breaks inside the long record count towards the limit
        // and do not end it early: the next record is the one after the closing quote.
        let input = format!("1,\"{}\",z\n2,ok\n", "x,\n\"\"".repeat(20));
        let got = limited(input.as_bytes(), 30);
        assert_eq!(
            got,
            vec![
                (1, 21, true, vec![]),
                (22, 22, false, strings(&["2", "ok"]))
            ]
        );
    }

    #[test]
    fn a_long_record_with_a_quote_never_closed_is_unterminated() {
        let input = format!("1,ok\n2,\"{}", "x\n".repeat(100));
        let mut reader = RecordReader::new(input.as_bytes(), b',', 50, 0, 1);
        let mut record = RawRecord::default();
        assert!(reader.read(&mut record).unwrap());
        assert!(reader.read(&mut record).unwrap());
        assert!(record.too_long && record.unterminated);
        assert_eq!((record.line, record.last_line), (2, 102));
        assert!(!reader.read(&mut record).unwrap());
    }

    /// A line of `len` bytes that never ends, made up as it is read.
    struct EndlessLine {
        left: usize,
        byte: u8,
    }

    impl io::Read for EndlessLine {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.left);
            buf[..n].fill(self.byte);
            self.left -= n;
            Ok(n)
        }
    }

    #[test]
    fn memory_holds_at_most_the_limit_whatever_the_line() {
        const LIMIT: usize = 64 * 1024;
        // 50 MiB of text, and as many delimiters: each would be a field.
        for byte in [b'x', b','] {
            let endless = EndlessLine {
                left: 50 << 20,
                byte,
            };
            let input = io::BufReader::with_capacity(64 * 1024, endless);
            let mut reader = RecordReader::new(input, b',', LIMIT, 0, 1);
            let mut record = RawRecord::default();
            assert!(reader.read(&mut record).unwrap());
            assert!(record.too_long);
            assert!(
                record.data.capacity() <= LIMIT,
                "{}",
                record.data.capacity()
            );
            assert!(
                record.ends.capacity() <= LIMIT,
                "{}",
                record.ends.capacity()
            );
            assert_eq!(reader.offset(), 50 << 20);
            assert!(!reader.read(&mut record).unwrap());
        }
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
