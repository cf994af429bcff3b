//! Which encoding the file is in, and decoding its cells.
//!
//! Accounting exports come as UTF-8 (often with a byte-order mark, which Excel writes) or as
//! Windows-1252 ("ANSI" in Excel, Sage 50 and older Visma); Excel's "Unicode text" is UTF-16
//! with a byte-order mark, read through [`crate::utf16`] as UTF-8. Bytes that are not valid UTF-8 are
//! taken as Windows-1252: every byte sequence is valid Windows-1252, and a Windows-1252 text
//! with letters such as å, ä, ö or é is almost never valid UTF-8 by accident.
//!
//! Cells are decoded one by one, after the tokenizer has split the raw bytes (see
//! [`crate::records`]): both encodings are ASCII-compatible, so splitting first is safe, and it
//! keeps offsets in the original bytes exact. Nothing is ever held beyond the current record,
//! so the file is decoded as it streams past.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// How much of the start of the file the encoding and the delimiter are judged on.
pub const SAMPLE_LEN: usize = 64 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The text encoding of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TextEncoding {
    Utf8,
    Windows1252,
    /// The sample held only ASCII, which reads the same in both encodings. The first cell
    /// with a non-ASCII byte decides, so that a Windows-1252 file whose first "é" comes after
    /// the sample is not read as broken UTF-8.
    AsciiSoFar,
    /// UTF-16 with a byte-order mark, little-endian (what Windows and Excel write) or
    /// big-endian; its cells reach the decoder as UTF-8.
    Utf16Le,
    Utf16Be,
}

/// The result of looking at the start of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectedEncoding {
    pub encoding: TextEncoding,
    /// Length of the byte-order mark to skip (3 for UTF-8 with BOM, 2 for UTF-16, else 0).
    pub bom_len: usize,
}

/// An encoding we recognise but cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsupportedEncoding(pub &'static str);

/// Looks at the first bytes of a file (up to [`SAMPLE_LEN`]). `complete` says whether `sample`
/// is the whole file.
pub fn detect_encoding(
    sample: &[u8],
    complete: bool,
) -> Result<DetectedEncoding, UnsupportedEncoding> {
    if sample.starts_with(UTF8_BOM) {
        return Ok(DetectedEncoding {
            encoding: TextEncoding::Utf8,
            bom_len: UTF8_BOM.len(),
        });
    }
    // UTF-32's marks begin like UTF-16's: judged first. No spreadsheet writes it by default.
    if sample.starts_with(b"\xFF\xFE\x00\x00") || sample.starts_with(b"\x00\x00\xFE\xFF") {
        return Err(UnsupportedEncoding("UTF-32"));
    }
    for (mark, encoding) in [
        (b"\xFF\xFE", TextEncoding::Utf16Le),
        (b"\xFE\xFF", TextEncoding::Utf16Be),
    ] {
        if sample.starts_with(mark) {
            return Ok(DetectedEncoding {
                encoding,
                bom_len: mark.len(),
            });
        }
    }
    let encoding = if sample.is_ascii() {
        TextEncoding::AsciiSoFar
    } else if is_utf8_prefix(sample, complete) {
        TextEncoding::Utf8
    } else {
        TextEncoding::Windows1252
    };
    Ok(DetectedEncoding {
        encoding,
        bom_len: 0,
    })
}

/// True if `sample` is valid UTF-8, allowing a multi-byte character to be cut at its end
/// when the sample is not the whole file (the rest of the character is in the next bytes).
fn is_utf8_prefix(sample: &[u8], complete: bool) -> bool {
    match std::str::from_utf8(sample) {
        Ok(_) => true,
        // `error_len() == None`: the input ended in the middle of a character that was valid
        // so far. Only the sample's edge may do that; the end of the file may not.
        Err(error) => error.error_len().is_none() && !complete,
    }
}

/// A cell that is not valid in the file's encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCell {
    /// The cell with the invalid bytes replaced by U+FFFD, to show in the error report.
    pub lossy: String,
}

impl TextEncoding {
    /// Decodes a whole record's bytes at once if it is valid UTF-8 and read as such: what
    /// [`Self::decode`] would make of each of its cells, in one pass. `None` otherwise (a
    /// Windows-1252 file with a non-ASCII byte, or bytes that are no UTF-8), for the cells to
    /// be decoded one by one.
    pub fn decode_whole<'a>(&mut self, bytes: &'a [u8]) -> Option<&'a str> {
        let text = std::str::from_utf8(bytes).ok()?;
        let ascii = bytes.is_ascii();
        match self {
            TextEncoding::Windows1252 if !ascii => return None,
            TextEncoding::AsciiSoFar if !ascii => *self = TextEncoding::Utf8,
            _ => {}
        }
        Some(text)
    }

    /// Decodes one cell. An undecided encoding is decided by the first non-ASCII cell.
    pub fn decode<'a>(&mut self, bytes: &'a [u8]) -> Result<Cow<'a, str>, InvalidCell> {
        if let Ok(text) = std::str::from_utf8(bytes) {
            if *self == TextEncoding::AsciiSoFar && !bytes.is_ascii() {
                *self = TextEncoding::Utf8;
            }
            if *self != TextEncoding::Windows1252 || bytes.is_ascii() {
                return Ok(Cow::Borrowed(text));
            }
        }
        match self {
            // Transcoded text is always valid UTF-8; this arm only completes the match.
            TextEncoding::Utf8 | TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
                Err(InvalidCell {
                    lossy: String::from_utf8_lossy(bytes).into_owned(),
                })
            }
            TextEncoding::Windows1252 | TextEncoding::AsciiSoFar => {
                *self = TextEncoding::Windows1252;
                Ok(encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(sample: &[u8], complete: bool) -> TextEncoding {
        detect_encoding(sample, complete).unwrap().encoding
    }

    #[test]
    fn utf8_with_and_without_bom() {
        let bom = detect_encoding("\u{feff}Namn\nÅsa".as_bytes(), true).unwrap();
        assert_eq!((bom.encoding, bom.bom_len), (TextEncoding::Utf8, 3));
        assert_eq!(detect("Namn\nÅsa".as_bytes(), true), TextEncoding::Utf8);
    }

    #[test]
    fn invalid_utf8_is_windows_1252() {
        assert_eq!(detect(b"Namn\n\xC5sa", true), TextEncoding::Windows1252);
    }

    #[test]
    fn a_character_cut_at_the_sample_edge_stays_utf8() {
        let text = "Namn\nÅsa Öberg".as_bytes();
        let cut = &text[..text.len() - 5]; // ends in the middle of "Ö"
        assert!(std::str::from_utf8(cut).is_err());
        assert_eq!(detect(cut, false), TextEncoding::Utf8);
        // At the real end of the file a cut character is not UTF-8.
        assert_eq!(detect(cut, true), TextEncoding::Windows1252);
    }

    #[test]
    fn ascii_is_decided_by_the_first_non_ascii_cell() {
        assert_eq!(detect(b"Name\nAnna", true), TextEncoding::AsciiSoFar);
        let mut encoding = TextEncoding::AsciiSoFar;
        assert_eq!(encoding.decode(b"Caf\xE9").unwrap(), "Café");
        assert_eq!(encoding, TextEncoding::Windows1252);
        // Once decided, a cell that happens to be valid UTF-8 is still Windows-1252.
        assert_eq!(encoding.decode("é".as_bytes()).unwrap(), "Ã©");

        let mut encoding = TextEncoding::AsciiSoFar;
        assert_eq!(encoding.decode("Café".as_bytes()).unwrap(), "Café");
        assert_eq!(encoding, TextEncoding::Utf8);
        assert!(encoding.decode(b"Caf\xE9").is_err());
    }

    #[test]
    fn windows_1252_letters() {
        let mut encoding = TextEncoding::Windows1252;
        assert_eq!(
            encoding
                .decode(b"\xE5\xE4\xF6\xE9 \xC5\xC4\xD6\xC9 \x80")
                .unwrap(),
            "åäöé ÅÄÖÉ €"
        );
    }

    #[test]
    fn utf16_is_told_by_its_mark_and_utf32_refused() {
        for (sample, encoding) in [
            (&b"\xFF\xFEN\x00"[..], TextEncoding::Utf16Le),
            (&b"\xFE\xFF\x00N"[..], TextEncoding::Utf16Be),
        ] {
            assert_eq!(
                detect_encoding(sample, false),
                Ok(DetectedEncoding {
                    encoding,
                    bom_len: 2
                })
            );
        }
        assert_eq!(
            detect_encoding(b"\xFF\xFE\x00\x00N\x00\x00\x00", false),
            Err(UnsupportedEncoding("UTF-32"))
        );
    }
}
