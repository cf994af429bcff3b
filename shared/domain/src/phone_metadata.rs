//! libphonenumber's metadata one country calling code at a time.
//!
//! The `phonenumber` crate builds its whole database (some 250 regions) on first use, and
//! checks every one of its thousands of patterns with a regex parser while doing so: about
//! 70 ms of CPU on a development core, several hundred milliseconds on a small Lambda, spent
//! by the first request of every process that reads or shows a phone number (a customer's
//! card shows its phone as its country writes it). Here `build.rs` splits the same metadata
//! by calling code, and a code's regions are built into a database of their own when a
//! number of that code is first met: a millisecond or so each.
//!
//! A number is parsed by the crate's own parser over a database of the codes it needs: the
//! default region's (the crate reads it for any number given one) and the code after a `+`.
//! Calling codes are prefix-free, so a database holding the number's code finds it exactly as
//! the whole one does, and one lacking it (an international prefix such as `00`, a code
//! written some other way) answers "invalid country code": that is read again over every
//! code's regions, so every answer is the crate's. The tests hold parsing and formatting to
//! the crate's over its own database.

use std::sync::{LazyLock, OnceLock};

use phonenumber::metadata::{Database, Metadata, loader};
use phonenumber::{ParseError, PhoneNumber, country};

use regex::{Regex, RegexBuilder};

use crate::built_once::BuiltOnce;

include!(concat!(env!("OUT_DIR"), "/phone_groups.rs"));

/// The database of one calling code's regions; `None` for a code no region has. Every number
/// read asks for one (an import, for each phone of each row), so after the first time it is
/// a binary search and an atomic load.
pub(crate) fn by_code(code: u16) -> Option<&'static Database> {
    static BY_CODE: LazyLock<Vec<OnceLock<Database>>> =
        LazyLock::new(|| GROUPS.iter().map(|_| OnceLock::new()).collect());
    let index = group_index(code)?;
    Some(BY_CODE[index].get_or_init(|| database_of(&[code])))
}

/// The database of two calling codes' regions (`a < b`): the default region's and the
/// number's, which a number written with `+` and read with a default region needs. Bounded
/// by the pairs of codes a process meets.
fn pair(a: u16, b: u16) -> &'static Database {
    static BUILT: BuiltOnce<(u16, u16), Database> = BuiltOnce::new();
    BUILT.get_or_build((a, b), || database_of(&[a, b]))
}

/// A region's metadata ("SE"), in a database of its own: the rules judge a number by one
/// region at a time, so the first US number builds the US and not the 24 other regions of +1.
pub(crate) fn region(id: &str) -> Option<&'static Metadata> {
    static BY_REGION: LazyLock<Vec<OnceLock<Option<&'static Metadata>>>> =
        LazyLock::new(|| REGIONS.iter().map(|_| OnceLock::new()).collect());
    let index = region_index(id)?;
    *BY_REGION[index].get_or_init(|| {
        let record = records(REGIONS[index].1)?
            .iter()
            .find(|r| r.id.as_deref() == Some(id))?;
        let database: &'static Database = Box::leak(Box::new(
            Database::from(vec![record.clone()]).expect("the crate's own metadata builds"),
        ));
        database.by_id(id)
    })
}

/// The regions of a calling code, the main one first (the crate's order; "001" for a
/// non-geographic code).
pub(crate) fn region_ids(code: u16) -> impl Iterator<Item = &'static str> {
    regions_of(code).map(|(id, _)| id)
}

/// [`region_ids`] with each region's leading-digits pattern, if it has one.
pub(crate) fn regions_of(code: u16) -> impl Iterator<Item = (&'static str, Option<&'static str>)> {
    records(code)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| Some((r.id.as_deref()?, r.leading_digits.as_deref())))
}

/// The calling code of a region ("SE" -> 46).
pub(crate) fn region_code(id: &str) -> Option<u16> {
    region_index(id).map(|i| REGIONS[i].1)
}

fn region_index(id: &str) -> Option<usize> {
    let key = region_key(id)?;
    REGIONS
        .binary_search_by_key(&key, |(region, _)| region_key(region).unwrap_or(u32::MAX))
        .ok()
}

/// A region id ("SE", or "001" for the non-geographic codes) as a number that sorts as the
/// id does, so that a search compares numbers rather than calling for a string comparison
/// at each step (every national number of an import looks its region up). `None` for a
/// longer id, which no region has.
fn region_key(id: &str) -> Option<u32> {
    match *id.as_bytes() {
        [a, b] => Some(u32::from_be_bytes([a, b, 0, 0])),
        [a, b, c] => Some(u32::from_be_bytes([a, b, c, 0])),
        _ => None,
    }
}

/// `phonenumber::parse`, over the codes the number needs (see the module's comment).
pub(crate) fn parse(country: Option<country::Id>, raw: &str) -> Result<PhoneNumber, ParseError> {
    let default_code = match country {
        Some(id) => match region_code(id.as_ref()) {
            Some(code) => Some(code),
            // A region without metadata: whatever the crate makes of it.
            None => return phonenumber::parse_with(whole(), country, raw),
        },
        None => None,
    };
    let Some(database) = (match (default_code, code_after_plus(raw)) {
        (Some(a), Some(b)) if a != b => Some(pair(a.min(b), a.max(b))),
        (Some(code), _) | (None, Some(code)) => by_code(code),
        (None, None) => None,
    }) else {
        return phonenumber::parse_with(whole(), country, raw);
    };
    match phonenumber::parse_with(database, country, raw) {
        Err(ParseError::InvalidCountryCode) => phonenumber::parse_with(whole(), country, raw),
        answer => answer,
    }
}

/// Every code's regions in one database, for the numbers a smaller one cannot read: as
/// costly to build as the crate's own, and built only when such a number comes. (Built from
/// the same records rather than taken from the crate, so that the crate's copy of the
/// metadata is not linked as well.)
fn whole() -> &'static Database {
    static WHOLE: LazyLock<Database> = LazyLock::new(|| {
        let codes: Vec<u16> = GROUPS.iter().map(|(code, _)| *code).collect();
        database_of(&codes)
    });
    &WHOLE
}

/// A number as its country writes it (`Mode::National` of the crate's formatter, which reads
/// the whole database whichever it is given). `None` for a code no region has.
#[cfg(test)]
pub(crate) fn national_format(number: &PhoneNumber) -> Option<String> {
    national_format_of(
        number.country().code(),
        &number.national().to_string(),
        number.carrier().map(|c| &**c),
        number.extension().map(|e| &**e),
    )
}

/// [`national_format`] of a number's parts: the first of its code's main region's formats
/// whose leading digits and pattern fit, with the national prefix or carrier code its rule
/// adds, and the extension. Read from the code's records as `build.rs` wrote them, so that
/// showing a number builds no database.
pub(crate) fn national_format_of(
    code: u16,
    national: &str,
    carrier: Option<&str>,
    extension: Option<&str>,
) -> Option<String> {
    // The main region comes first (`build.rs` keeps the crate's order).
    let meta = records(code)?.first()?;
    let mut written = match fitting_format(national, &meta.formats) {
        Some(format) => {
            // A carrier code the format has a rule for is written by that rule; otherwise the
            // national prefix by its rule, if the format has one.
            let by_carrier = carrier
                .and_then(|c| Some((format.domestic_carrier.as_deref()?, c)))
                .map(|(rule, c)| (Some(rule), Some(c)));
            let (rule, carrier) =
                by_carrier.unwrap_or((format.national_prefix_formatting_rule.as_deref(), None));
            with_format(national, meta, format, rule, carrier)
        }
        None => national.to_owned(),
    };
    if let Some(extension) = extension {
        let prefix = meta.preferred_extension_prefix.as_deref();
        written.push_str(prefix.unwrap_or(" ext. "));
        written.push_str(extension);
    }
    Some(written)
}

/// A number in E.164 ("+46812345678", as this product stores every number) as its calling
/// code and national number: what showing one needs, without the crate's parser (its grammar,
/// and its national-prefix patterns compiled on first use). `None` for anything else.
pub(crate) fn split_e164(number: &str) -> Option<(u16, &str)> {
    let digits = number.strip_prefix('+')?;
    if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (1..=3).find_map(|len| {
        let code = digits[..len].parse().ok()?;
        code_known(code).then(|| (code, &digits[len..]))
    })
}

/// The crate's `formatter::formatter`, its precedence included: a format without leading
/// digits is taken whatever its pattern. Only the patterns it tries are compiled.
fn fitting_format(
    national: &str,
    formats: &'static [loader::Format],
) -> Option<&'static loader::Format> {
    formats.iter().find(|format| {
        let leading = &format.leading_digits;
        leading.is_empty()
            || leading
                .last()
                .and_then(|l| ascii(l).find(national))
                .is_some_and(|m| m.start() == 0)
                && ascii(pattern_of(format))
                    .find(national)
                    .is_some_and(|m| m.start() == 0 && m.end() == national.len())
    })
}

/// The crate's `formatter::replace`: the format's first group written by `rule` (`$NP` the
/// national prefix, `$FG` the group, `$CC` the carrier code), then the number through it.
fn with_format(
    national: &str,
    meta: &loader::Metadata,
    format: &'static loader::Format,
    rule: Option<&str>,
    carrier: Option<&str>,
) -> String {
    static FIRST_GROUP: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(\$\d)").expect("a valid pattern"));
    let layout = format.format.as_deref().unwrap_or_default();
    let layout = match rule {
        Some(rule) => {
            let first = FIRST_GROUP
                .captures(layout)
                .and_then(|c| c.get(1))
                .map_or("", |m| m.as_str());
            let rule = rule
                .replace("$NP", meta.national_prefix.as_deref().unwrap_or(""))
                .replace("$FG", &format!("${first}"))
                .replace("$CC", carrier.unwrap_or(""));
            FIRST_GROUP.replace(layout, rule.as_str()).into_owned()
        }
        None => layout.to_owned(),
    };
    ascii(pattern_of(format))
        .replace(national, layout.as_str())
        .into_owned()
}

/// Every format of the crate's metadata has a pattern (the crate refuses to load one without).
fn pattern_of(format: &'static loader::Format) -> &'static str {
    format.pattern.as_deref().unwrap_or_default()
}

/// A format's pattern, compiled once and ASCII-only as the rules' are (`phone_rules`): the
/// crate's cache compiles it with Unicode classes, half a millisecond or more for each pattern
/// the first number of a region is shown with. Matched against ASCII digits only. By the
/// pattern's address in its (never freed) database: bounded by the formats of the regions a
/// process shows numbers of.
fn ascii(pattern: &'static str) -> &'static Regex {
    static COMPILED: BuiltOnce<usize, Regex> = BuiltOnce::new();
    COMPILED.get_or_build(pattern.as_ptr() as usize, || ascii_regex(pattern))
}

/// A metadata pattern as the crate compiles it (whitespace ignored), ASCII-only.
fn ascii_regex(pattern: &str) -> Regex {
    RegexBuilder::new(pattern)
        .ignore_whitespace(true)
        .unicode(false)
        .build()
        .expect("every format pattern compiles ASCII-only (tests::formats_compile_ascii_only)")
}

/// The calling code a number written with `+` starts with: the first of its one to three
/// digits after the `+` that is a code. `None` without a `+` before the first digit.
fn code_after_plus(raw: &str) -> Option<u16> {
    let start = raw.find(|c: char| c == '+' || c.is_ascii_digit())?;
    let rest = raw[start..].strip_prefix('+')?;
    let mut code = 0u16;
    for digit in rest
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/'))
        .take(3)
    {
        code = code * 10 + u16::try_from(digit.to_digit(10)?).ok()?;
        if code_known(code) {
            return Some(code);
        }
    }
    None
}

fn code_known(code: u16) -> bool {
    group_index(code).is_some()
}

fn group_index(code: u16) -> Option<usize> {
    GROUPS.binary_search_by_key(&code, |(c, _)| *c).ok()
}

/// A database of the regions of `codes`, all codes of the table.
fn database_of(codes: &[u16]) -> Database {
    let records = codes
        .iter()
        .flat_map(|code| group(*code).expect("a code of the table"))
        .collect();
    Database::from(records).expect("the crate's own metadata builds")
}

fn group(code: u16) -> Option<Vec<loader::Metadata>> {
    records(code).map(<[_]>::to_vec)
}

/// A code's regions as `build.rs` wrote them, inflated and decoded once (microseconds; building
/// them into a database is what costs).
fn records(code: u16) -> Option<&'static [loader::Metadata]> {
    static RECORDS: LazyLock<Vec<OnceLock<Vec<loader::Metadata>>>> =
        LazyLock::new(|| GROUPS.iter().map(|_| OnceLock::new()).collect());
    let index = group_index(code)?;
    let records = RECORDS[index].get_or_init(|| {
        let bytes = miniz_oxide::inflate::decompress_to_vec(GROUPS[index].1)
            .expect("build.rs deflated this metadata");
        postcard::from_bytes(&bytes).expect("build.rs wrote this metadata")
    });
    Some(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::Mode;
    use phonenumber::metadata::DATABASE;

    #[test]
    fn every_code_and_region_of_the_crate_is_here_with_the_same_metadata() {
        let mut codes = 0;
        for code in 1..=999u16 {
            let Some(whole) = DATABASE.by_code(&code) else {
                assert!(by_code(code).is_none(), "{code}");
                continue;
            };
            codes += 1;
            let ours = by_code(code).expect("every code");
            assert_eq!(ours.region(&code), DATABASE.region(&code), "{code}");
            let ours = ours.by_code(&code).expect("its regions");
            assert_eq!(ours.len(), whole.len());
            for (a, b) in ours.iter().zip(&whole) {
                assert_eq!(summary(a), summary(b), "{code}");
            }
        }
        assert!(codes > 200);
        for (index, (region, code)) in REGIONS.iter().enumerate() {
            assert_eq!(
                DATABASE.by_id(*region).map(Metadata::country_code),
                Some(*code)
            );
            assert_eq!(region_index(region), Some(index), "{region}");
        }
    }

    /// What a region's metadata says, as text: its patterns, formats and prefixes.
    fn summary(meta: &Metadata) -> String {
        let d = meta.descriptors();
        let formats: Vec<String> = meta
            .formats()
            .iter()
            .chain(meta.international_formats())
            .map(|f| {
                format!(
                    "{} {} {:?}",
                    f.pattern().as_str(),
                    f.format(),
                    f.national_prefix()
                )
            })
            .collect();
        format!(
            "{} {} {:?} {:?} {:?} {:?} {} {:?} {:?} {formats:?}",
            meta.id(),
            d.general().national_number().as_str(),
            d.general().possible_length(),
            d.mobile().map(|m| m.national_number().as_str()),
            meta.national_prefix(),
            meta.national_prefix_for_parsing().map(|r| r.as_str()),
            meta.is_main_country_for_code(),
            meta.international_prefix().map(|r| r.as_str()),
            meta.leading_digits().map(|r| r.as_str()),
        )
    }

    #[test]
    fn numbers_parse_and_format_as_over_the_whole_database() {
        let countries = ["SE", "US"];
        for meta in DATABASE.iter() {
            let code = meta.country_code();
            let d = meta.descriptors();
            for example in [d.general(), d.fixed_line().unwrap_or(d.general())]
                .into_iter()
                .chain(d.mobile())
                .filter_map(|d| d.example())
            {
                let written = [
                    format!("+{code} {example}"),
                    format!("+{code}{example}"),
                    format!("00{code}{example}"),
                    format!("0{example}"),
                    format!("tel:+{code}-{example};ext=12"),
                ];
                for raw in &written {
                    for country in countries.iter().map(|c| c.parse().ok()).chain([None]) {
                        let ours = parse(country, raw);
                        let whole = phonenumber::parse(country, raw);
                        assert_eq!(
                            format!("{ours:?}"),
                            format!("{whole:?}"),
                            "{raw} {country:?}"
                        );
                        if let (Ok(ours), Ok(whole)) = (ours, whole) {
                            let national = whole.format().mode(Mode::National).to_string();
                            assert_eq!(national_format(&ours), Some(national.clone()), "{raw}");
                            // Shown from its E.164 as stored, without the parser.
                            let e164 = whole.format().mode(Mode::E164).to_string();
                            let (code, digits) = split_e164(&e164).expect("E.164 splits");
                            if whole.extension().is_none() && whole.carrier().is_none() {
                                assert_eq!(
                                    national_format_of(code, digits, None, None),
                                    Some(national),
                                    "{e164}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn formats_compile_ascii_only() {
        for meta in DATABASE.iter() {
            for format in meta.formats().iter().chain(meta.international_formats()) {
                ascii_regex(format.pattern().as_str());
                for leading in format.leading_digits() {
                    ascii_regex(leading.as_str());
                }
            }
        }
    }

    #[test]
    fn e164_splits_into_code_and_national_number() {
        assert_eq!(split_e164("+46812345678"), Some((46, "812345678")));
        assert_eq!(split_e164("+12125550123"), Some((1, "2125550123")));
        assert_eq!(split_e164("+390612345678"), Some((39, "0612345678")));
        assert_eq!(split_e164("+881612345678"), Some((881, "612345678")));
        assert_eq!(split_e164("0812345678"), None);
        assert_eq!(split_e164("+46 8 123"), None);
    }

    #[test]
    fn the_code_after_a_plus() {
        assert_eq!(code_after_plus("+46 70 123 45 67"), Some(46));
        assert_eq!(code_after_plus("tel:+1-202-555-0123"), Some(1));
        assert_eq!(code_after_plus(" (+49) 30 1234567"), Some(49));
        assert_eq!(code_after_plus("+8816 1234 5678"), Some(881));
        assert_eq!(code_after_plus("070-123 45 67"), None);
        assert_eq!(code_after_plus("0046 70 123 45 67"), None);
        assert_eq!(code_after_plus("+"), None);
    }
}
