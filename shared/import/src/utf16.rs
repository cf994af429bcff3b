//! UTF-16 files ("Unicode text" in Excel: tab-separated, with a byte-order mark), read as
//! UTF-8 so that the tokenizer, which splits raw ASCII-compatible bytes, reads them as it reads
//! any other file.
//!
//! A checkpoint must name a byte offset in the original file (a resumed invocation reads the
//! file from there), but the tokenizer counts transcoded bytes, and UTF-8 and UTF-16 lengths do
//! not match. A record always starts after a line break, so the transcoder notes, for every
//! line break it writes, where it is in both: [`Offsets::original`] turns the tokenizer's
//! offset back into the file's. Only the notes the tokenizer may still ask about are kept (a
//! buffer's worth), so memory stays flat.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Mutex};

/// Which end of a code unit comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

/// Reads UTF-16 from `inner` and gives UTF-8; unpaired surrogates and a last odd byte become
/// U+FFFD, as a cell that is not valid text in any encoding does.
pub struct Utf16ToUtf8<R> {
    inner: R,
    endian: Endian,
    /// Bytes read from `inner` and not yet turned into text (half a code unit, or a high
    /// surrogate waiting for its low one).
    carry: Vec<u8>,
    /// UTF-8 ready to hand out, from `ready_at` on.
    ready: Vec<u8>,
    ready_at: usize,
    /// Original bytes consumed, and UTF-8 bytes produced, so far (including `ready`).
    original: u64,
    transcoded: u64,
    offsets: Offsets,
    ended: bool,
}

/// Where each line break the transcoder wrote lies in the original file: (transcoded offset
/// after it, original offset after it), oldest first. Shared with the reader that asks.
#[derive(Debug, Clone, Default)]
pub struct Offsets(Arc<Mutex<VecDeque<(u64, u64)>>>);

impl Offsets {
    /// The original offset of the transcoded offset `at`, which is the start of the stream or
    /// follows a line break or the end; the notes before it are no longer needed.
    pub fn original(&self, at: u64) -> Option<u64> {
        let mut notes = self.0.lock().expect("no panic while holding the offsets");
        while notes.len() > 1 && notes[0].0 < at {
            notes.pop_front();
        }
        notes.front().filter(|(t, _)| *t == at).map(|(_, o)| *o)
    }

    fn note(&self, transcoded: u64, original: u64) {
        let mut notes = self.0.lock().expect("no panic while holding the offsets");
        notes.push_back((transcoded, original));
    }
}

const CHUNK: usize = 16 * 1024;

impl<R: Read> Utf16ToUtf8<R> {
    /// `inner` starts at `original` bytes into the file, on a code unit's boundary, after any
    /// byte-order mark.
    pub fn new(inner: R, endian: Endian, original: u64) -> Self {
        let offsets = Offsets::default();
        offsets.note(0, original);
        Self {
            inner,
            endian,
            carry: Vec::new(),
            ready: Vec::new(),
            ready_at: 0,
            original,
            transcoded: 0,
            offsets,
            ended: false,
        }
    }

    pub fn offsets(&self) -> Offsets {
        self.offsets.clone()
    }

    fn unit(&self, bytes: [u8; 2]) -> u16 {
        match self.endian {
            Endian::Little => u16::from_le_bytes(bytes),
            Endian::Big => u16::from_be_bytes(bytes),
        }
    }

    /// Reads the next chunk and turns every complete character in it into UTF-8.
    fn fill(&mut self) -> io::Result<()> {
        self.ready.clear();
        self.ready_at = 0;
        let mut chunk = [0u8; CHUNK];
        let n = loop {
            match self.inner.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.carry.extend_from_slice(&chunk[..n]);
        let mut used = 0;
        while self.carry.len() - used >= 2 {
            let first = self.unit([self.carry[used], self.carry[used + 1]]);
            let (c, width) = match first {
                0xD800..=0xDBFF => {
                    if self.carry.len() - used < 4 {
                        if n == 0 {
                            (char::REPLACEMENT_CHARACTER, 2)
                        } else {
                            break; // the low surrogate comes with the next chunk
                        }
                    } else {
                        let second = self.unit([self.carry[used + 2], self.carry[used + 3]]);
                        match char::decode_utf16([first, second]).next() {
                            Some(Ok(c)) if (0xDC00..=0xDFFF).contains(&second) => (c, 4),
                            _ => (char::REPLACEMENT_CHARACTER, 2),
                        }
                    }
                }
                0xDC00..=0xDFFF => (char::REPLACEMENT_CHARACTER, 2),
                unit => (char::from_u32(u32::from(unit)).expect("not a surrogate"), 2),
            };
            used += width;
            self.push(c, width);
        }
        self.carry.drain(..used);
        if n == 0 {
            if !self.carry.is_empty() {
                let width = self.carry.len();
                self.carry.clear();
                self.push(char::REPLACEMENT_CHARACTER, width);
            }
            self.ended = true;
            self.offsets.note(self.transcoded, self.original);
        }
        Ok(())
    }

    fn push(&mut self, c: char, width: usize) {
        let mut utf8 = [0u8; 4];
        let bytes = c.encode_utf8(&mut utf8).as_bytes();
        self.ready.extend_from_slice(bytes);
        self.original += width as u64;
        self.transcoded += bytes.len() as u64;
        if c == '\n' || c == '\r' {
            self.offsets.note(self.transcoded, self.original);
        }
    }
}

impl<R: Read> Read for Utf16ToUtf8<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.ready_at == self.ready.len() {
            if self.ended {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.ready.len() - self.ready_at);
        buf[..n].copy_from_slice(&self.ready[self.ready_at..self.ready_at + n]);
        self.ready_at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, endian: Endian) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|unit| match endian {
                Endian::Little => unit.to_le_bytes(),
                Endian::Big => unit.to_be_bytes(),
            })
            .collect()
    }

    fn transcode(bytes: &[u8], endian: Endian) -> (String, Offsets) {
        let mut reader = Utf16ToUtf8::new(bytes, endian, 2);
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        (text, reader.offsets())
    }

    #[test]
    fn both_byte_orders_read_as_the_text_they_hold() {
        let text = "Kundnr\tNamn\r\n1\tÅsa Öberg 🔧\r\n";
        for endian in [Endian::Little, Endian::Big] {
            assert_eq!(transcode(&utf16(text, endian), endian).0, text);
        }
    }

    #[test]
    fn a_line_start_maps_back_to_its_offset_in_the_file() {
        // After the 2-byte mark. "a" and a line break are 1 byte each in UTF-8 and 2 in
        // UTF-16, "Å" 2 in both, "🔧" 4 in both.
        let text = "a\nÅ🔧\nend";
        let (_, offsets) = transcode(&utf16(text, Endian::Little), Endian::Little);
        assert_eq!(offsets.original(0), Some(2));
        assert_eq!(offsets.original(2), Some(2 + 4));
        assert_eq!(offsets.original(2 + 6 + 1), Some(2 + 4 + 6 + 2));
        // No offset inside a line; the end of the file.
        assert_eq!(offsets.original(10), None);
        assert_eq!(offsets.original(12), Some(2 + 18));
    }

    #[test]
    fn broken_surrogates_and_a_last_odd_byte_become_replacement_characters() {
        let mut bytes = utf16("a", Endian::Little);
        bytes.extend_from_slice(&0xD800u16.to_le_bytes()); // high surrogate, then no low one
        bytes.extend_from_slice(&utf16("b", Endian::Little));
        bytes.extend_from_slice(&0xDC00u16.to_le_bytes()); // a low one alone
        bytes.push(b'c'); // half a code unit
        assert_eq!(
            transcode(&bytes, Endian::Little).0,
            "a\u{FFFD}b\u{FFFD}\u{FFFD}"
        );
    }
}
