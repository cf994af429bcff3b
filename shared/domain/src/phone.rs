//! Phone numbers, normalised to E.164 with `phonenumber` (a port of Google's libphonenumber).
//!
//! E.164 is the one spelling that makes "070-123 45 67" and "+46 70 123 45 67" the same number,
//! which lookups by phone and de-duplication depend on.
//!
//! A customer's phone may have an extension ("397.884.0519x718", "+44 20 7946 0018 ext. 12",
//! "08-123 456 78 anknytning 12"): business customers have them. It is kept apart from the
//! E.164 number ([`PhoneWithExtension`]), so lookups by number still find the customer, and
//! shown back with the number as its country writes it ([`display_phone`]). A mobile number
//! is for texts and never has one.

use phonenumber::{NationalNumber, PhoneNumber, Type, country};

use crate::{phone_metadata, phone_rules};

pub use crate::reference::is_country as is_valid_country;

/// Why a phone number was refused. The messages are shown to people typing numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error(
        "the number has no country code and no default country is configured; start it with + and the country code, e.g. +46 70 123 45 67"
    )]
    MissingCountryCode,
    #[error("the default country {0:?} is not a country phone numbers can be read for")]
    UnknownDefaultCountry(String),
    #[error("not a phone number")]
    NotANumber,
    #[error("not a valid phone number for its country")]
    Invalid,
    #[error("extensions cannot be stored; give the number without the extension")]
    HasExtension,
    #[error(
        "a mobile number is for texts and has no extension; give a number with an extension as the phone"
    )]
    MobileWithExtension,
    #[error("a fixed-line number, not a mobile number")]
    NotMobile,
}

impl PhoneError {
    /// The stable machine code used in validation errors.
    pub fn code(&self) -> &'static str {
        match self {
            PhoneError::NotMobile => "not_a_mobile_number",
            _ => "invalid_phone",
        }
    }
}

/// Normalises any valid phone number to E.164 ("+46701234567").
///
/// A number starting with `+` or `00` is read as international; anything else is a national
/// number of `default_country` (ISO 3166-1 alpha-2).
pub fn normalise_phone(raw: &str, default_country: Option<&str>) -> Result<String, PhoneError> {
    parse_valid(raw, default_country).map(|(number, _)| number.e164())
}

/// Like [`normalise_phone`], and also refuses numbers known to be fixed-line only.
///
/// Types that may be mobile (FixedLineOrMobile, as in the US) or that the metadata cannot tell
/// are accepted: refusing them would block real mobile numbers.
pub fn normalise_mobile(raw: &str, default_country: Option<&str>) -> Result<String, PhoneError> {
    let (number, kind) = parse_valid(raw, default_country).map_err(|error| match error {
        PhoneError::HasExtension => PhoneError::MobileWithExtension,
        other => other,
    })?;
    if kind == Type::FixedLine {
        return Err(PhoneError::NotMobile);
    }
    Ok(number.e164())
}

/// The country (ISO 3166 alpha-2) of a valid number, from its country code and leading digits
/// ("+1 506 ..." is CA, "+1 212 ..." US); none for numbers of no country (satellite and other
/// international services) and for anything that is not a valid number.
pub fn country_of(number: &str) -> Option<String> {
    let (number, _) = parse_valid(number, None).ok()?;
    let region = phone_rules::metadata_of(number.code, number.national)?.id();
    crate::is_country(region).then(|| region.to_owned())
}

/// A phone number in E.164 and the extension dialled after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneWithExtension {
    /// E.164.
    pub number: String,
    /// Digits only.
    pub extension: Option<String>,
}

/// A stored phone and its extension as one input again ("+12015550147 ext. 718"), which
/// [`normalise_phone_with_extension`] reads back into both: so a merge patch that leaves the
/// phone alone keeps its extension, and one that changes the phone replaces both.
pub(crate) fn as_input(phone: &Option<String>, extension: &Option<String>) -> Option<String> {
    let phone = phone.as_ref()?;
    Some(match extension {
        Some(extension) => format!("{phone} ext. {extension}"),
        None => phone.clone(),
    })
}

/// Like [`normalise_phone`], keeping an extension ("x718", "ext. 12", "anknytning 12",
/// "Durchwahl 3") apart from the number instead of refusing it.
pub fn normalise_phone_with_extension(
    raw: &str,
    default_country: Option<&str>,
) -> Result<PhoneWithExtension, PhoneError> {
    let (number, _) = parse_number(raw, default_country)?;
    Ok(PhoneWithExtension {
        number: number.e164(),
        extension: number.extension.filter(|ext| !ext.is_empty()),
    })
}

/// How a stored phone is written back: `number` (E.164) as its country writes it nationally,
/// with the extension the way that country writes one ("(397) 884-0519 ext. 718",
/// "08-123 456 78 ankn. 12", "030 1234567-12"). The stored number itself when it cannot be
/// read (it always can, having been normalised).
pub fn display_phone(number: &str, extension: Option<&str>) -> String {
    let Some((code, national)) = phone_metadata::split_e164(number) else {
        return number.to_owned();
    };
    let Some(written) = phone_metadata::national_format_of(code, national, None, None) else {
        return number.to_owned();
    };
    let Some(extension) = extension else {
        return written;
    };
    let region = national
        .parse()
        .ok()
        .and_then(|national| phone_rules::metadata_of(code, national))
        .map(|m| m.id());
    let prefix = match region {
        // The Nordic habit is the word; DIN 5008 joins the extension with a hyphen.
        Some("SE") => " ankn. ",
        Some("NO") | Some("DK") => " lokal ",
        Some("FI") => " alanumero ",
        Some("DE") | Some("AT") | Some("CH") => "-",
        _ => " ext. ",
    };
    format!("{written}{prefix}{extension}")
}

/// What a valid number is for: texts, calls, or either (in countries like the US, whose
/// numbering does not tell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Mobile,
    MobileOrFixed,
    Fixed,
}

/// The kind of line of a valid number (an extension is allowed and told apart), or `None` for
/// what is not one.
pub fn line_kind(raw: &str, default_country: Option<&str>) -> Option<(LineKind, bool)> {
    let (number, kind) = parse_number(raw, default_country).ok()?;
    let kind = match kind {
        Type::Mobile => LineKind::Mobile,
        Type::FixedLineOrMobile | Type::Unknown => LineKind::MobileOrFixed,
        _ => LineKind::Fixed,
    };
    Some((kind, number.extension.is_some()))
}

/// A number as read: what the rules judge and E.164 is written from.
struct Parsed {
    code: u16,
    national: NationalNumber,
    extension: Option<String>,
}

impl Parsed {
    fn e164(&self) -> String {
        phone_rules::e164_of(self.code, self.national)
    }
}

impl From<PhoneNumber> for Parsed {
    fn from(number: PhoneNumber) -> Self {
        Parsed {
            code: number.country().code(),
            national: *number.national(),
            extension: number.extension().map(|ext| ext.to_string()),
        }
    }
}

fn parse_valid(raw: &str, default_country: Option<&str>) -> Result<(Parsed, Type), PhoneError> {
    let (number, kind) = parse_number(raw, default_country)?;
    if number.extension.is_some() {
        return Err(PhoneError::HasExtension);
    }
    Ok((number, kind))
}

/// A valid number, with its extension if it was written with one, and its type.
fn parse_number(raw: &str, default_country: Option<&str>) -> Result<(Parsed, Type), PhoneError> {
    let raw = extension_words_as_ext(raw.trim());
    let number = match international_form(&raw) {
        Some(international) => {
            let digits = digits_only(&international);
            // "+" and digits (most international numbers in a file) by the crate's steps
            // without its parser; anything else by the parser.
            match phone_rules::parse_international(&digits) {
                Some((code, national)) => Parsed {
                    code,
                    national,
                    extension: None,
                },
                None => parse(None, &digits)?.into(),
            }
        }
        None => {
            let country = country_id(default_country)?;
            let digits = digits_only(&raw);
            // National digits (most numbers in a file) by the crate's steps without its
            // parser; anything else by the parser (see `phone_rules::parse_national`).
            match phone_rules::parse_national(country, &digits) {
                Some((code, national)) => Parsed {
                    code,
                    national,
                    extension: None,
                },
                None => parse(Some(country), &digits)?.into(),
            }
        }
    };
    let kind =
        phone_rules::valid_type_of(number.code, number.national).ok_or(PhoneError::Invalid)?;
    Ok((number, kind))
}

/// Words for "extension" that libphonenumber does not know (it reads "ext", "x", "#",
/// "extension" and a few others), as "ext.".
fn extension_words_as_ext(raw: &str) -> std::borrow::Cow<'_, str> {
    const WORDS: &[&str] = &[
        "anknytning",
        "ankn.",
        "ankn",
        "durchwahl",
        "lokal",
        "alanumero",
    ];
    // Without a letter there is no word to find (and nothing to lower-case).
    if !raw.chars().any(char::is_alphabetic) {
        return std::borrow::Cow::Borrowed(raw);
    }
    let lower = raw.to_lowercase();
    match WORDS
        .iter()
        .find_map(|w| lower.find(w).map(|at| (at, w.len())))
    {
        // `to_lowercase` keeps these ASCII words' byte offsets when the text before them is
        // ASCII, which a phone number is; otherwise the text is left as it was.
        Some((at, len)) if raw.is_char_boundary(at) && raw[..at].is_ascii() => {
            std::borrow::Cow::Owned(format!("{} ext. {}", &raw[..at], &raw[at + len..]))
        }
        _ => std::borrow::Cow::Borrowed(raw),
    }
}

/// Separators the parser drops anyway.
const SEPARATORS: &[char] = &[' ', '-', '.', '(', ')', '/'];

/// A number written with digits and separators, spaces among them ("070-123 45 67",
/// "+46 (70) 123 45 67"), as its digits (and its `+`): the parser's first step turns it into exactly these digits,
/// and it reads a bare digit string three times faster than one with separators to skip
/// (half an import's time went to phone numbers). Anything else (letters of an extension,
/// other punctuation) is left as typed for the parser to judge.
/// `tests::digits_only_reads_as_typed` holds the two spellings to the same parse.
fn digits_only(raw: &str) -> std::borrow::Cow<'_, str> {
    let (plus, rest) = match raw.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", raw),
    };
    let plain = rest
        .chars()
        .all(|c| c.is_ascii_digit() || SEPARATORS.contains(&c));
    // Without a space the parser first tries the number as an RFC 3966 URI, which reads
    // some spellings ("+46812.3456") otherwise than their digits: those are left as typed.
    if !plain || !rest.contains(' ') {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut digits = String::with_capacity(raw.len());
    digits.push_str(plus);
    digits.extend(rest.chars().filter(char::is_ascii_digit));
    std::borrow::Cow::Owned(digits)
}

/// "+46..." and "0046..." as "+46...". The `00` prefix is rewritten here rather than left to the
/// default country's dialling prefix, because it is not `00` everywhere (the US uses 011) and
/// people type `00` meaning "international" regardless of where the business is.
fn international_form(raw: &str) -> Option<String> {
    if raw.starts_with('+') {
        Some(raw.to_owned())
    } else {
        raw.strip_prefix("00").map(|rest| format!("+{rest}"))
    }
}

fn country_id(default_country: Option<&str>) -> Result<country::Id, PhoneError> {
    let code = default_country.ok_or(PhoneError::MissingCountryCode)?;
    // An import reads every national number of a file with one or a few countries: the last
    // one read is kept rather than looked up among all of them again.
    thread_local! {
        static LAST: std::cell::Cell<Option<(country::Id, [u8; 2])>> =
            const { std::cell::Cell::new(None) };
    }
    let key = match code.as_bytes() {
        &[a, b] => Some([a, b]),
        _ => None,
    };
    if let Some(key) = key
        && let Some((id, last)) = LAST.get()
        && last == key
    {
        return Ok(id);
    }
    let id: country::Id = code
        .trim()
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| PhoneError::UnknownDefaultCountry(code.to_owned()))?;
    if let Some(key) = key {
        LAST.set(Some((id, key)));
    }
    Ok(id)
}

fn parse(country: Option<country::Id>, raw: &str) -> Result<PhoneNumber, PhoneError> {
    phone_metadata::parse(country, raw).map_err(|_| PhoneError::NotANumber)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_s_country_comes_from_its_code_and_leading_digits() {
        assert_eq!(country_of("+46701234567").as_deref(), Some("SE"));
        assert_eq!(country_of("+4740612345").as_deref(), Some("NO"));
        assert_eq!(country_of("+15062345678").as_deref(), Some("CA"));
        assert_eq!(country_of("+12015550123").as_deref(), Some("US"));
        assert_eq!(
            country_of("+881612345678"),
            None,
            "a satellite phone: no country"
        );
        assert_eq!(country_of("0701234567"), None, "not E.164");
    }

    #[test]
    fn swedish_national_number_uses_the_default_country() {
        assert_eq!(
            normalise_phone("070-123 45 67", Some("SE")).unwrap(),
            "+46701234567"
        );
    }

    #[test]
    fn default_country_may_be_lower_case() {
        assert_eq!(
            normalise_phone("070-123 45 67", Some("se")).unwrap(),
            "+46701234567"
        );
    }

    #[test]
    fn international_numbers_ignore_the_default_country() {
        assert_eq!(
            normalise_phone("+46 70 123 45 67", Some("US")).unwrap(),
            "+46701234567"
        );
        assert_eq!(
            normalise_phone("+44 20 7946 0018", None).unwrap(),
            "+442079460018"
        );
    }

    #[test]
    fn double_zero_prefix_is_international() {
        assert_eq!(
            normalise_phone("0046 70 123 45 67", None).unwrap(),
            "+46701234567"
        );
        assert_eq!(
            normalise_phone("0046701234567", Some("US")).unwrap(),
            "+46701234567"
        );
    }

    #[test]
    fn national_number_without_default_country_is_refused() {
        let err = normalise_phone("070-123 45 67", None).unwrap_err();
        assert_eq!(err, PhoneError::MissingCountryCode);
        assert_eq!(err.code(), "invalid_phone");
        assert!(err.to_string().contains("country code"));
    }

    #[test]
    fn unknown_default_country_is_refused() {
        assert_eq!(
            normalise_phone("070-123 45 67", Some("ZZ")),
            Err(PhoneError::UnknownDefaultCountry("ZZ".into()))
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(
            normalise_phone("hello", Some("SE")).unwrap_err().code(),
            "invalid_phone"
        );
        assert_eq!(
            normalise_phone("", Some("SE")).unwrap_err().code(),
            "invalid_phone"
        );
    }

    #[test]
    fn parseable_but_invalid_number_is_refused() {
        assert_eq!(
            normalise_phone("+46 12", None).unwrap_err().code(),
            "invalid_phone"
        );
        assert_eq!(
            normalise_phone("+1 555 000 0000 1234", None)
                .unwrap_err()
                .code(),
            "invalid_phone"
        );
    }

    #[test]
    fn extensions_are_refused() {
        assert_eq!(
            normalise_phone("+44 20 7946 0018 ext. 12", None),
            Err(PhoneError::HasExtension)
        );
    }

    #[test]
    fn extensions_are_kept_apart_from_the_number() {
        let cases = [
            ("617.884.0519x718", Some("US"), "+16178840519", "718"),
            ("(617) 884-0519 ext. 718", Some("US"), "+16178840519", "718"),
            ("+44 20 7946 0018 ext. 12", None, "+442079460018", "12"),
            (
                "08-123 456 78 anknytning 12",
                Some("SE"),
                "+46812345678",
                "12",
            ),
            ("08-123 456 78 ankn. 12", Some("SE"), "+46812345678", "12"),
            ("030 1234567 Durchwahl 3", Some("DE"), "+49301234567", "3"),
        ];
        for (raw, country, number, extension) in cases {
            let phone = normalise_phone_with_extension(raw, country).expect(raw);
            assert_eq!(phone.number, number, "{raw}");
            assert_eq!(phone.extension.as_deref(), Some(extension), "{raw}");
        }
        let plain = normalise_phone_with_extension("070-123 45 67", Some("SE")).unwrap();
        assert_eq!(plain.extension, None);
    }

    #[test]
    fn a_mobile_never_has_an_extension() {
        assert_eq!(
            normalise_mobile("617.884.0519x718", Some("US")),
            Err(PhoneError::MobileWithExtension)
        );
    }

    #[test]
    fn numbers_are_shown_as_their_country_writes_them() {
        assert_eq!(
            display_phone("+16178840519", Some("718")),
            "(617) 884-0519 ext. 718"
        );
        assert_eq!(
            display_phone("+46812345678", Some("12")),
            "08-123 456 78 ankn. 12"
        );
        assert_eq!(display_phone("+46812345678", None), "08-123 456 78");
    }

    #[test]
    fn line_kinds_tell_mobiles_from_landlines() {
        assert_eq!(
            line_kind("070-123 45 67", Some("SE")),
            Some((LineKind::Mobile, false))
        );
        assert_eq!(
            line_kind("08-123 456 78", Some("SE")),
            Some((LineKind::Fixed, false))
        );
        assert_eq!(
            line_kind("617.884.0519x718", Some("US")),
            Some((LineKind::MobileOrFixed, true))
        );
        assert_eq!(line_kind("hello", Some("SE")), None);
    }

    #[test]
    fn mobile_accepts_mobile_numbers() {
        assert_eq!(
            normalise_mobile("070-123 45 67", Some("SE")).unwrap(),
            "+46701234567"
        );
        assert_eq!(
            normalise_mobile("+44 7911 123456", None).unwrap(),
            "+447911123456"
        );
    }

    #[test]
    fn mobile_accepts_fixed_line_or_mobile() {
        // US numbers cannot be told apart, so they must pass.
        assert_eq!(
            normalise_mobile("(201) 555-0123", Some("US")).unwrap(),
            "+12015550123"
        );
    }

    #[test]
    fn uk_landline_is_not_a_mobile() {
        let err = normalise_mobile("+44 20 7946 0018", None).unwrap_err();
        assert_eq!(err, PhoneError::NotMobile);
        assert_eq!(err.code(), "not_a_mobile_number");
    }

    #[test]
    fn landline_is_fine_as_a_phone() {
        assert_eq!(
            normalise_phone("08-123 456 78", Some("SE")).unwrap(),
            "+46812345678"
        );
    }

    /// Example numbers of many numbering plans, national (with the national prefix) and
    /// international, written with separators in many places: the parser reads each exactly
    /// as it reads its bare digits.
    #[test]
    fn digits_only_reads_as_typed() {
        use phonenumber::metadata::DATABASE;
        let mut seed: u64 = 7;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        let (mut compared, mut rewritten) = (0, 0);
        for region in [
            "SE", "NO", "DK", "FI", "DE", "GB", "US", "CA", "FR", "IT", "CH", "NL", "AU", "CL",
            "KR", "IN", "BR", "AT", "PL", "ES",
        ] {
            let meta = DATABASE.by_id(region).expect(region);
            let d = meta.descriptors();
            let examples = [Some(d.general()), d.fixed_line(), d.mobile(), d.toll_free()]
                .into_iter()
                .flatten()
                .filter_map(|d| d.example());
            for example in examples {
                let national = format!("{}{example}", meta.national_prefix().unwrap_or(""));
                let international = format!("+{}{example}", meta.country_code());
                for digits in [national, international, example.to_owned()] {
                    for _ in 0..25 {
                        let mut typed = String::new();
                        if next(4) == 0 {
                            typed.push('(');
                        }
                        for c in digits.chars() {
                            typed.push(c);
                            if c != '+' && next(3) == 0 {
                                let separator = SEPARATORS[next(6) as usize];
                                typed.push(separator);
                                if next(5) == 0 {
                                    typed.push(' ');
                                }
                            }
                        }
                        let bare = digits_only(&typed);
                        rewritten += usize::from(bare != typed);
                        for country in [Some(region), None] {
                            let id = country.map(|c| c.parse().unwrap());
                            let as_typed = phonenumber::parse(id, &typed).ok();
                            let as_digits = phonenumber::parse(id, &bare).ok();
                            assert_eq!(as_typed, as_digits, "{typed:?} ({bare}) in {country:?}");
                            compared += 1;
                        }
                    }
                }
            }
        }
        assert!(
            compared > 5_000 && rewritten > 2_000,
            "{compared}, {rewritten}"
        );
        assert_eq!(digits_only("070-123 45 67"), "0701234567");
        assert_eq!(digits_only("+46 (70) 123"), "+4670123");
        assert_eq!(digits_only("617.884.0519x718"), "617.884.0519x718");
        assert_eq!(digits_only("0701234567"), "0701234567");
        assert_eq!(digits_only("+46812.3456"), "+46812.3456");
    }

    #[test]
    fn country_check_is_exposed() {
        assert!(is_valid_country("SE"));
        assert!(!is_valid_country("ZZ"));
    }
}
