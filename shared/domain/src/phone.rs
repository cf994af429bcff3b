//! Phone numbers, normalised to E.164 with `phonenumber` (a port of Google's libphonenumber).
//!
//! E.164 is the one spelling that makes "070-123 45 67" and "+46 70 123 45 67" the same number,
//! which lookups by phone and de-duplication depend on.

use phonenumber::{Mode, PhoneNumber, Type, country};

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
    parse_valid(raw, default_country).map(|number| e164(&number))
}

/// Like [`normalise_phone`], and also refuses numbers known to be fixed-line only.
///
/// Types that may be mobile (FixedLineOrMobile, as in the US) or that the metadata cannot tell
/// are accepted: refusing them would block real mobile numbers.
pub fn normalise_mobile(raw: &str, default_country: Option<&str>) -> Result<String, PhoneError> {
    let number = parse_valid(raw, default_country)?;
    if number.number_type(&phonenumber::metadata::DATABASE) == Type::FixedLine {
        return Err(PhoneError::NotMobile);
    }
    Ok(e164(&number))
}

/// The country (ISO 3166 alpha-2) of a valid number, from its country code and leading digits
/// ("+1 506 ..." is CA, "+1 212 ..." US); none for numbers of no country (satellite and other
/// international services) and for anything that is not a valid number.
pub fn country_of(number: &str) -> Option<String> {
    let number = parse_valid(number, None).ok()?;
    let region = number.metadata(&phonenumber::metadata::DATABASE)?.id();
    crate::is_country(region).then(|| region.to_owned())
}

fn parse_valid(raw: &str, default_country: Option<&str>) -> Result<PhoneNumber, PhoneError> {
    let raw = raw.trim();
    let number = match international_form(raw) {
        Some(international) => parse(None, &international)?,
        None => parse(Some(country_id(default_country)?), raw)?,
    };
    if number.extension().is_some() {
        return Err(PhoneError::HasExtension);
    }
    if !phonenumber::is_valid(&number) {
        return Err(PhoneError::Invalid);
    }
    Ok(number)
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
    code.trim()
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| PhoneError::UnknownDefaultCountry(code.to_owned()))
}

fn parse(country: Option<country::Id>, raw: &str) -> Result<PhoneNumber, PhoneError> {
    phonenumber::parse(country, raw).map_err(|_| PhoneError::NotANumber)
}

fn e164(number: &PhoneNumber) -> String {
    number.format().mode(Mode::E164).to_string()
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

    #[test]
    fn country_check_is_exposed() {
        assert!(is_valid_country("SE"));
        assert!(!is_valid_country("ZZ"));
    }
}
