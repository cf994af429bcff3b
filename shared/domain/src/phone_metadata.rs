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

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, RwLock};

use phonenumber::metadata::{Database, Format, Metadata, loader};
use phonenumber::{ParseError, PhoneNumber, country};

include!(concat!(env!("OUT_DIR"), "/phone_groups.rs"));

/// Built databases by their codes (one code, or the default region's and the number's, which
/// a number written with `+` and read with a default region needs); bounded by the pairs of
/// codes a process meets, built once each and kept for good.
static BUILT: LazyLock<RwLock<HashMap<(u16, u16), &'static Database>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// The database of one calling code's regions; `None` for a code no region has. Every number
/// read asks for one (an import, for each phone of each row), so after the first time it is
/// a binary search and an atomic load.
pub(crate) fn by_code(code: u16) -> Option<&'static Database> {
    static BY_CODE: LazyLock<Vec<OnceLock<&'static Database>>> =
        LazyLock::new(|| GROUPS.iter().map(|_| OnceLock::new()).collect());
    let index = GROUPS.binary_search_by_key(&code, |(c, _)| *c).ok()?;
    let slot = &BY_CODE[index];
    if let Some(database) = slot.get() {
        return Some(database);
    }
    let database = database(code, code)?;
    Some(slot.get_or_init(|| database))
}

/// A region's metadata ("SE"), from its code's database.
pub(crate) fn region(id: &str) -> Option<&'static Metadata> {
    static BY_REGION: LazyLock<Vec<OnceLock<Option<&'static Metadata>>>> =
        LazyLock::new(|| REGIONS.iter().map(|_| OnceLock::new()).collect());
    let index = region_index(id)?;
    *BY_REGION[index].get_or_init(|| by_code(REGIONS[index].1)?.by_id(id))
}

/// The calling code of a region ("SE" -> 46).
pub(crate) fn region_code(id: &str) -> Option<u16> {
    region_index(id).map(|i| REGIONS[i].1)
}

fn region_index(id: &str) -> Option<usize> {
    REGIONS
        .binary_search_by(|(region, _)| (*region).cmp(id))
        .ok()
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
        (Some(a), Some(b)) if a != b => database(a.min(b), a.max(b)),
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
        let records = GROUPS
            .iter()
            .flat_map(|(code, _)| group(*code).expect("a code of the table"))
            .collect();
        Database::from(records).expect("the crate's own metadata builds")
    });
    &WHOLE
}

/// A number as its country writes it (`Mode::National` of the crate's formatter, which reads
/// the whole database whichever it is given): the first of the main region's formats whose
/// leading digits and pattern fit, with the national prefix or carrier code its rule adds,
/// and the extension. `None` for a code no region has.
pub(crate) fn national_format(number: &PhoneNumber) -> Option<String> {
    let code = number.country().code();
    let meta = *by_code(code)?.by_code(&code)?.first()?;
    let national = number.national().to_string();
    let mut written = match fitting_format(&national, meta.formats()) {
        Some(format) => {
            let carrier = number
                .carrier()
                .and_then(|c| format.domestic_carrier().map(|rule| (c, rule)));
            match (carrier, format.national_prefix()) {
                (Some((carrier, rule)), _) => {
                    with_format(&national, meta, format, Some(rule), Some(carrier))
                }
                (None, Some(rule)) => with_format(&national, meta, format, Some(rule), None),
                (None, None) => with_format(&national, meta, format, None, None),
            }
        }
        None => national,
    };
    if let Some(extension) = number.extension() {
        written.push_str(meta.preferred_extension_prefix().unwrap_or(" ext. "));
        written.push_str(extension);
    }
    Some(written)
}

/// The crate's `formatter::formatter`, its precedence included: a format without leading
/// digits is taken whatever its pattern.
fn fitting_format<'a>(national: &str, formats: &'a [Format]) -> Option<&'a Format> {
    formats.iter().find(|format| {
        let leading = format.leading_digits();
        leading.is_empty()
            || leading
                .last()
                .and_then(|l| l.find(national))
                .is_some_and(|m| m.start() == 0)
                && format
                    .pattern()
                    .find(national)
                    .is_some_and(|m| m.start() == 0 && m.end() == national.len())
    })
}

/// The crate's `formatter::replace`: the format's first group written by `rule` (`$NP` the
/// national prefix, `$FG` the group, `$CC` the carrier code), then the number through it.
fn with_format(
    national: &str,
    meta: &Metadata,
    format: &Format,
    rule: Option<&str>,
    carrier: Option<&str>,
) -> String {
    static FIRST_GROUP: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"(\$\d)").expect("a valid pattern"));
    let layout = match rule {
        Some(rule) => {
            let first = FIRST_GROUP
                .captures(format.format())
                .and_then(|c| c.get(1))
                .map_or("", |m| m.as_str());
            let rule = rule
                .replace("$NP", meta.national_prefix().unwrap_or(""))
                .replace("$FG", &format!("${first}"))
                .replace("$CC", carrier.unwrap_or(""));
            FIRST_GROUP
                .replace(format.format(), rule.as_str())
                .into_owned()
        }
        None => format.format().to_owned(),
    };
    format
        .pattern()
        .replace(national, layout.as_str())
        .into_owned()
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
    group_bytes(code).is_some()
}

fn group_bytes(code: u16) -> Option<&'static [u8]> {
    GROUPS
        .binary_search_by_key(&code, |(c, _)| *c)
        .ok()
        .map(|i| GROUPS[i].1)
}

/// The database of the regions of codes `a` and `b` (`a <= b`; the same code for one).
fn database(a: u16, b: u16) -> Option<&'static Database> {
    if let Some(built) = BUILT.read().expect("never poisoned").get(&(a, b)) {
        return Some(built);
    }
    let mut records = group(a)?;
    if b != a {
        records.extend(group(b)?);
    }
    let built: &'static Database = Box::leak(Box::new(
        Database::from(records).expect("the crate's own metadata builds"),
    ));
    Some(
        *BUILT
            .write()
            .expect("never poisoned")
            .entry((a, b))
            .or_insert(built),
    )
}

fn group(code: u16) -> Option<Vec<loader::Metadata>> {
    let bytes = group_bytes(code)?;
    Some(postcard::from_bytes(bytes).expect("build.rs wrote this metadata"))
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
        for (region, code) in REGIONS {
            assert_eq!(
                DATABASE.by_id(*region).map(Metadata::country_code),
                Some(*code)
            );
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
                            assert_eq!(
                                national_format(&ours),
                                Some(whole.format().mode(Mode::National).to_string()),
                                "{raw}"
                            );
                        }
                    }
                }
            }
        }
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
