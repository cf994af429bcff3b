//! libphonenumber's validity and number-type rules exactly as the `phonenumber` crate applies
//! them (`validator::is_valid`, `PhoneNumber::number_type`, `PhoneNumber::metadata`, E.164
//! formatting), over regular expressions compiled once per region.
//!
//! Why not the crate's own functions: it keeps the metadata's patterns in one process-wide
//! LRU cache of 100 regexes behind a mutex, keyed by the pattern's text, so every check hashes
//! and compares a pattern of up to a few hundred characters before it matches anything, and a
//! number's type takes up to eleven such checks, twice per mobile. That was half of an
//! import's parse-and-validate time (docs/imports.md, "What an import costs"). Here each
//! region's patterns are compiled once, on first use, and found by the address of the
//! region's metadata in the crate's static database. The rules take a number as its country
//! code and national number (`*_of`); the forms taking the crate's `PhoneNumber` exist for
//! `tests::the_rules_agree_with_the_crate`, which holds the two to the same answers over
//! every example number of the metadata.
//!
//! A national number typed as bare digits (how most files hold them, or what
//! `phone::digits_only` makes of "070-123 45 67") is also read here ([`parse_national`]),
//! by the crate's own steps over the same compiled patterns: the crate's parser spent a fifth
//! of an import's time trying an RFC 3966 grammar and its punctuation on plain digits, and
//! looks up three more patterns in the cache. Anything off that path (an international
//! prefix, a national prefix rewritten by a transform rule, an error) is left to the crate.
//! `tests::national_digits_read_as_the_crate_reads_them` holds the two to the same numbers.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use phonenumber::metadata::{Descriptor, Metadata};

use crate::built_once::BuiltOnce;
use crate::phone_metadata;
use phonenumber::{NationalNumber, Type, country};
use regex::{Regex, RegexSet, RegexSetBuilder, SetMatches};

/// One descriptor: a number matches when its length is possible and the pattern matches from
/// its first digit (the crate's `Descriptor::is_match`).
struct Matcher {
    lengths: Vec<u16>,
    pattern: Regex,
    /// Where the pattern is in its region's [`RegionRules::patterns`].
    index: usize,
}

impl Matcher {
    fn of(descriptor: &Descriptor, index: usize) -> Self {
        Matcher {
            lengths: descriptor.possible_length().to_vec(),
            pattern: from_start(descriptor.national_number().as_str()),
            index,
        }
    }

    fn is_match(&self, value: &str) -> bool {
        self.length_possible(value) && self.pattern.is_match(value)
    }

    /// [`Matcher::is_match`] with the pattern's answer taken from a pass of the region's set.
    fn is_match_in(&self, value: &str, matched: &SetMatches) -> bool {
        self.length_possible(value) && matched.matched(self.index)
    }

    fn length_possible(&self, value: &str) -> bool {
        self.lengths.is_empty()
            || u16::try_from(value.len()).is_ok_and(|n| self.lengths.contains(&n))
    }
}

/// The crate finds a pattern anywhere and keeps the match if it starts at the first
/// character; a match starting there exists exactly when the pattern anchored at the start
/// matches, which stops at the first digit that cannot match instead of scanning on. The
/// crate compiles the metadata's patterns with `ignore_whitespace`, so this does too.
fn from_start(pattern: &str) -> Regex {
    regex::RegexBuilder::new(&anchored(pattern))
        .ignore_whitespace(true)
        .unicode(false)
        .build()
        .expect("the phone metadata's patterns compile (the crate compiled them)")
}

fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})")
}

/// A region's descriptors, in the order `validator::number_type` tries them.
struct RegionRules {
    general: Matcher,
    /// Premium rate, toll free, shared cost, VoIP, personal, pager, UAN, voicemail.
    special: Vec<(Matcher, Type)>,
    fixed_line: Option<Matcher>,
    mobile: Option<Matcher>,
    /// The patterns of all the matchers above, each anchored as `from_start` says: one pass
    /// over a number tells which of them match, where matching them one by one took up to
    /// eleven searches per number (a tenth of an import's time).
    patterns: RegexSet,
    /// The metadata gives fixed lines and mobiles the same pattern (the US, Canada).
    fixed_is_mobile: bool,
    /// The international dialling prefix ("00"), anchored as `from_start` says.
    international_prefix: Option<Regex>,
    /// What a national prefix (and carrier code) looks like when parsing, anchored.
    national_prefix_for_parsing: Option<Regex>,
    /// The general descriptor's possible lengths, and those only dialled locally.
    possible_lengths: Vec<u16>,
    possible_local_lengths: Vec<u16>,
    /// The country code as digits ("46").
    country_code: String,
}

impl RegionRules {
    fn of(meta: &Metadata) -> Self {
        let d = meta.descriptors();
        let mut patterns = vec![anchored(d.general().national_number().as_str())];
        let mut matcher = |descriptor: &Descriptor| {
            patterns.push(anchored(descriptor.national_number().as_str()));
            Matcher::of(descriptor, patterns.len() - 1)
        };
        let general = Matcher::of(d.general(), 0);
        let special = [
            (d.premium_rate(), Type::PremiumRate),
            (d.toll_free(), Type::TollFree),
            (d.shared_cost(), Type::SharedCost),
            (d.voip(), Type::Voip),
            (d.personal_number(), Type::PersonalNumber),
            (d.pager(), Type::Pager),
            (d.uan(), Type::Uan),
            (d.voicemail(), Type::Voicemail),
        ]
        .into_iter()
        .filter_map(|(descriptor, kind)| Some((matcher(descriptor?), kind)))
        .collect();
        let fixed_line = d.fixed_line().map(&mut matcher);
        let mobile = d.mobile().map(&mut matcher);
        let patterns = RegexSetBuilder::new(patterns)
            .ignore_whitespace(true)
            .unicode(false)
            .build()
            .expect("the phone metadata's patterns compile (the crate compiled them)");
        let pattern = |d: Option<&Descriptor>| d.map(|d| d.national_number().as_str().to_owned());
        RegionRules {
            general,
            special,
            fixed_line,
            mobile,
            patterns,
            fixed_is_mobile: pattern(d.fixed_line()) == pattern(d.mobile()),
            international_prefix: meta.international_prefix().map(|p| from_start(p.as_str())),
            national_prefix_for_parsing: meta
                .national_prefix_for_parsing()
                .map(|p| from_start(p.as_str())),
            possible_lengths: d.general().possible_length().to_vec(),
            possible_local_lengths: d.general().possible_local_length().to_vec(),
            country_code: meta.country_code().to_string(),
        }
    }

    /// `validator::length(meta, number, Type::Unknown)` is not too short: the general
    /// descriptor's lengths, as the crate reads them for an unknown type.
    fn length(&self, len: usize) -> Length {
        let Ok(len) = u16::try_from(len) else {
            return Length::TooLong;
        };
        let (Some(&minimum), Some(&maximum)) =
            (self.possible_lengths.first(), self.possible_lengths.last())
        else {
            return Length::Invalid;
        };
        if self.possible_local_lengths.contains(&len) || len == minimum {
            Length::Possible
        } else if len < minimum {
            Length::TooShort
        } else if len > maximum {
            Length::TooLong
        } else if self.possible_lengths.contains(&len) {
            Length::Possible
        } else {
            Length::Invalid
        }
    }

    /// `validator::number_type`.
    fn number_type(&self, value: &str) -> Type {
        // A length the region never has needs no pattern at all.
        if !self.general.length_possible(value) {
            return Type::Unknown;
        }
        let matched = self.patterns.matches(value);
        let is_match = |m: &Matcher| m.is_match_in(value, &matched);
        if !is_match(&self.general) {
            return Type::Unknown;
        }
        if let Some((_, kind)) = self.special.iter().find(|(m, _)| is_match(m)) {
            return *kind;
        }
        let mobile = self.mobile.as_ref().is_some_and(is_match);
        if self.fixed_line.as_ref().is_some_and(is_match) {
            return if self.fixed_is_mobile || mobile {
                Type::FixedLineOrMobile
            } else {
                Type::FixedLine
            };
        }
        if mobile { Type::Mobile } else { Type::Unknown }
    }
}

/// What `validator::length` says of a number's length (its two "possible" answers as one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Length {
    Possible,
    TooShort,
    TooLong,
    Invalid,
}

/// Compiled rules by the address of their metadata in its code's database (never freed;
/// regions of one code, and the non-geographic codes that all have the id "001", are told
/// apart). Bounded by the metadata's few hundred entries; compiled on first use only.
static RULES: BuiltOnce<usize, RegionRules> = BuiltOnce::new();

fn rules(meta: &'static Metadata) -> &'static RegionRules {
    // A number asks for its region's rules several times, and an import's numbers are of one
    // or a few regions: the last rules found are kept by the thread, which saves taking the
    // lock and hashing the key each time.
    thread_local! {
        static LAST: Cell<Option<(usize, &'static RegionRules)>> = const { Cell::new(None) };
    }
    let key = std::ptr::from_ref(meta) as usize;
    if let Some((last, rules)) = LAST.get()
        && last == key
    {
        return rules;
    }
    let rules = RULES.get_or_build(key, || RegionRules::of(meta));
    LAST.set(Some((key, rules)));
    rules
}

/// The metadata of a country code that belongs to one region (most: +46, +47, +49), or of
/// none; `None` for codes shared by several regions (+1, +7, +44), judged number by number.
static SINGLE_REGION: LazyLock<RwLock<HashMap<u16, Single>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// What [`single_region`] found for a code.
type Single = Option<Option<&'static Metadata>>;

/// The metadata a number is read by: `validator::source_for` then the database's lookup, as
/// `PhoneNumber::metadata` and `validator::is_valid` do.
fn metadata_for(code: u16, national: &str) -> Option<&'static Metadata> {
    match single_region_cached(code) {
        Some(meta) => meta,
        None => shared_code(code, national),
    }
}

/// [`single_region`], found once per code; the last code's answer is kept by the thread, as
/// in [`rules`].
fn single_region_cached(code: u16) -> Single {
    thread_local! {
        static LAST: Cell<Option<(u16, Single)>> = const { Cell::new(None) };
    }
    if let Some((last, single)) = LAST.get()
        && last == code
    {
        return single;
    }
    let known = SINGLE_REGION
        .read()
        .expect("never poisoned")
        .get(&code)
        .copied();
    let single = known.unwrap_or_else(|| {
        let single = single_region(code);
        SINGLE_REGION
            .write()
            .expect("never poisoned")
            .insert(code, single);
        single
    });
    LAST.set(Some((code, single)));
    single
}

/// `Some(metadata)` for a code of one region (or of none: `Some(None)`), `None` for a code
/// of several.
fn single_region(code: u16) -> Single {
    let mut regions = phone_metadata::region_ids(code);
    let Some(region) = regions.next() else {
        return Some(None);
    };
    if regions.next().is_some() {
        return None;
    }
    if region == "001" {
        let database = phone_metadata::by_code(code)?;
        return Some(database.by_code(&code).and_then(|m| m.into_iter().next()));
    }
    Some(
        region
            .parse::<phonenumber::country::Id>()
            .ok()
            .and_then(|id| phone_metadata::region(id.as_ref())),
    )
}

/// The region of a code several share, by its leading digits or the first whose rules know
/// the number. A region with leading digits is judged by them alone, so its other rules are
/// not compiled for numbers of its neighbours (the first Canadian number tries the US and
/// six Caribbean regions of +1 before it, all but the US by their leading digits).
fn shared_code(code: u16, national: &str) -> Option<&'static Metadata> {
    // The crate searches anywhere and keeps a match at the start: a match from the start.
    static LEADING_DIGITS: BuiltOnce<usize, Regex> = BuiltOnce::new();
    phone_metadata::regions_of(code).find_map(|(region, leading_digits)| {
        let ours = match leading_digits {
            Some(leading) => LEADING_DIGITS
                .get_or_build(leading.as_ptr() as usize, || from_start(leading))
                .is_match(national),
            None => {
                let rules = rules(phone_metadata::region(region)?);
                rules.number_type(national) != Type::Unknown
            }
        };
        ours.then(|| phone_metadata::region(region)).flatten()
    })
}

/// `validator::is_valid`: the number has a type in the region its code and digits name.
/// (The crate reads the national number with its leading zeros here.)
#[cfg(test)]
pub(crate) fn is_valid(number: &phonenumber::PhoneNumber) -> bool {
    is_valid_national(number.country().code(), &number.national().to_string())
}

fn is_valid_national(code: u16, national: &str) -> bool {
    metadata_for(code, national)
        .is_some_and(|meta| rules(meta).number_type(national) != Type::Unknown)
}

/// `PhoneNumber::number_type` (which reads the national number without its leading zeros).
#[cfg(test)]
pub(crate) fn number_type(number: &phonenumber::PhoneNumber) -> Type {
    type_of(
        number.country().code(),
        &number.national().value().to_string(),
    )
}

fn type_of(code: u16, national: &str) -> Type {
    metadata_for(code, national).map_or(Type::Unknown, |meta| rules(meta).number_type(national))
}

/// The number's type if it is valid ([`is_valid`] and [`number_type`] in one): without
/// leading zeros, both read the same digits, so the rules run once.
#[cfg(test)]
pub(crate) fn valid_type(number: &phonenumber::PhoneNumber) -> Option<Type> {
    valid_type_of(number.country().code(), *number.national())
}

/// [`valid_type`] of a number given as its country code and national number.
pub(crate) fn valid_type_of(code: u16, national: NationalNumber) -> Option<Type> {
    let mut with_zeros = String::with_capacity(20);
    push_national(&mut with_zeros, national);
    let without_zeros = &with_zeros[usize::from(national.zeros())..];
    if national.zeros() == 0 {
        let kind = type_of(code, without_zeros);
        return (kind != Type::Unknown).then_some(kind);
    }
    is_valid_national(code, &with_zeros).then(|| type_of(code, without_zeros))
}

/// `PhoneNumber::metadata`.
#[cfg(test)]
pub(crate) fn metadata(number: &phonenumber::PhoneNumber) -> Option<&'static Metadata> {
    metadata_of(number.country().code(), *number.national())
}

/// [`metadata`] of a number given as its country code and national number.
pub(crate) fn metadata_of(code: u16, national: NationalNumber) -> Option<&'static Metadata> {
    metadata_for(code, &national.value().to_string())
}

/// A number of `country` typed as ASCII digits only ("0701234567"), read by the steps of
/// the crate's `parse_with` for such a string: it is taken whole (RFC 3966 allows digits
/// only), and is viable from two digits; an international prefix at its start makes the rest
/// international (left to the crate here); a start that repeats the country code is dropped
/// when the whole is no possible number (`helper::country_code`); then the national prefix
/// is dropped (`helper::national_number` and the check after it) unless that leaves it too
/// short. `None` where the crate is to read it: off this path, or an error.
pub(crate) fn parse_national(country: country::Id, digits: &str) -> Option<(u16, NationalNumber)> {
    // Fewer than two digits are no number, and far more than the 17 a number may have are
    // garbage: the crate says what is wrong with either.
    if !(2..=64).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let meta = phone_metadata::region(country.as_ref())?;
    let rules = rules(meta);
    if let Some(idd) = &rules.international_prefix
        && let Some(found) = idd.find(digits)
        && !digits[found.end()..].starts_with('0')
    {
        return None;
    }
    let mut national = digits;
    if let Some(rest) = national.strip_prefix(rules.country_code.as_str())
        && (!rules.general.is_match(national) || rules.length(national.len()) != Length::Possible)
    {
        national = rest;
    }
    let national = without_national_prefix(meta, rules, national)?;
    if !(2..=17).contains(&national.len()) {
        return None;
    }
    let national: NationalNumber = national.parse().ok()?;
    Some((meta.country_code(), national))
}

/// A number written as `+` and ASCII digits ("+12125550123", what `phone::digits_only` makes
/// of "+1 212 555 0123"), read by the steps of the crate's `parse_with` for it without its
/// parser, which would build every region of the code to read it: the code is the digits'
/// first one to three that are a code; the region is the one the rules find for the rest, as
/// `validator::source_for` does; then its national prefix is dropped as for a national
/// number. `None` where the crate is to read it: off this path, or an error.
/// `tests::international_digits_read_as_the_crate_reads_them` holds the two to the same
/// numbers.
pub(crate) fn parse_international(digits: &str) -> Option<(u16, NationalNumber)> {
    let rest = digits.strip_prefix('+')?;
    // Two digits or fewer are too short for the crate; a code never starts with 0.
    if !(3..=64).contains(&rest.len())
        || !rest.bytes().all(|b| b.is_ascii_digit())
        || rest.starts_with('0')
    {
        return None;
    }
    let (code, national) = phone_metadata::split_e164(digits)?;
    let meta = metadata_for(code, national.trim_start_matches('0'))?;
    let national = without_national_prefix(meta, rules(meta), national)?;
    if !(2..=17).contains(&national.len()) {
        return None;
    }
    Some((code, national.parse().ok()?))
}

/// `helper::national_number` and the national prefix check after it in `parse_with`: the
/// region's national prefix (and carrier code) dropped from `national` unless what is left
/// is too short. `None` where the crate rewrites the prefix by a transform rule instead.
fn without_national_prefix<'a>(
    meta: &Metadata,
    rules: &RegionRules,
    national: &'a str,
) -> Option<&'a str> {
    let national_prefix = |number: &'a str| match meta.national_prefix() {
        Some(prefix) => number.strip_prefix(prefix).unwrap_or(number),
        None => number,
    };
    let potential = match &rules.national_prefix_for_parsing {
        Some(parsing) => match parsing.captures(national) {
            // With a transform rule the crate rewrites the prefix instead of dropping it,
            // unless its last group took part in the match.
            Some(captures)
                if meta.national_prefix_transform_rule().is_some()
                    && captures.get(captures.len() - 1).is_some() =>
            {
                return None;
            }
            // The crate keeps the number when it matched the general pattern and what is
            // left would not, but compares the number with itself there (it always would):
            // so the prefix is always dropped.
            Some(captures) => &national[captures.get(0).map_or(0, |m| m.end())..],
            None => national,
        },
        // Without a pattern the national prefix is dropped as it is written.
        None => national_prefix(national),
    };
    // And the national prefix once more, whatever came before.
    let potential = national_prefix(potential);
    Some(if rules.length(potential.len()) != Length::TooShort {
        potential
    } else {
        national
    })
}

/// E.164: `+`, the country code and the national number with its leading zeros, as the
/// crate's formatter writes it (which also looks for a national format first, unused here).
#[cfg(test)]
pub(crate) fn e164(number: &phonenumber::PhoneNumber) -> String {
    e164_of(number.country().code(), *number.national())
}

/// [`e164`] of a number given as its country code and national number.
pub(crate) fn e164_of(code: u16, national: NationalNumber) -> String {
    let mut e164 = String::with_capacity(20);
    e164.push('+');
    push_decimal(&mut e164, u64::from(code));
    push_national(&mut e164, national);
    e164
}

/// The national number as the crate's `Display` writes it, its leading zeros and then its
/// value, without going through a formatter: every number an import reads is written out
/// twice (to judge it, and as E.164), which took a twentieth of a row's time by `format!`.
fn push_national(out: &mut String, national: NationalNumber) {
    out.extend(std::iter::repeat_n('0', usize::from(national.zeros())));
    push_decimal(out, national.value());
}

fn push_decimal(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        // The remainder is a single decimal digit.
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

#[cfg(test)]
mod tests {
    use phonenumber::Mode;
    use phonenumber::metadata::DATABASE;

    use super::*;

    /// The metadata's example numbers of a region, one per number type it describes.
    fn example_numbers(meta: &Metadata) -> impl Iterator<Item = &str> {
        let d = meta.descriptors();
        [
            Some(d.general()),
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .filter_map(Descriptor::example)
    }

    /// Every example number of every region and type in the metadata, read nationally and
    /// internationally, and variations of each (a digit more, a digit less, one digit
    /// changed): validity, type, region and E.164 are the crate's own answers.
    #[test]
    fn the_rules_agree_with_the_crate() {
        let mut compared = 0;
        for meta in DATABASE.iter() {
            for example in example_numbers(meta) {
                let mut variants = vec![
                    example.to_owned(),
                    format!("{example}5"),
                    example[..example.len().saturating_sub(1)].to_owned(),
                ];
                if let Some(first) = example.chars().next() {
                    let changed = if first == '9' { '1' } else { '9' };
                    variants.push(format!("{changed}{}", &example[1..]));
                }
                for national in variants {
                    let raw = format!("+{} {national}", meta.country_code());
                    let Ok(number) = phonenumber::parse(None, &raw) else {
                        continue;
                    };
                    assert_eq!(is_valid(&number), phonenumber::is_valid(&number), "{raw}");
                    assert_eq!(
                        valid_type(&number),
                        phonenumber::is_valid(&number).then(|| number.number_type(&DATABASE)),
                        "{raw}"
                    );
                    assert_eq!(number_type(&number), number.number_type(&DATABASE), "{raw}");
                    assert_eq!(
                        metadata(&number).map(Metadata::id),
                        number.metadata(&DATABASE).map(Metadata::id),
                        "{raw}"
                    );
                    if phonenumber::is_valid(&number) {
                        assert_eq!(
                            e164(&number),
                            number.format().mode(Mode::E164).to_string(),
                            "{raw}"
                        );
                    }
                    compared += 1;
                }
            }
        }
        assert!(compared > 3_000, "{compared} numbers compared");
    }

    /// The digits written without a formatter are the crate's `Display` and `format!`'s.
    #[test]
    fn numbers_are_written_as_the_formatter_writes_them() {
        let values = [
            0,
            1,
            9,
            10,
            99,
            100,
            701_234_567,
            12_345_678_901_234,
            (1 << 56) - 1,
        ];
        for value in values {
            for zeros in [0, 1, 2, 17] {
                let national = NationalNumber::new(value, zeros).unwrap();
                let mut written = String::new();
                push_national(&mut written, national);
                assert_eq!(written, national.to_string());
                for code in [1, 46, 358, 979] {
                    assert_eq!(e164_of(code, national), format!("+{code}{national}"));
                }
            }
        }
    }

    /// Every example number of every region, as digits the way people type them in that
    /// region (nationally formatted, with and without the national prefix, with the country
    /// code but no `+`, after the international prefix) and variations of each (a digit more,
    /// a digit less, one changed, zeros in front): where [`parse_national`] reads one, the
    /// crate's parser reads the same country code and national number.
    #[test]
    fn national_digits_read_as_the_crate_reads_them() {
        let (mut read, mut left_to_the_crate) = (0, 0);
        for meta in DATABASE.iter() {
            let Ok(region) = meta.id().parse::<country::Id>() else {
                continue;
            };
            for example in example_numbers(meta) {
                let code = meta.country_code();
                let formatted = phonenumber::parse(None, format!("+{code}{example}"))
                    .map(|n| n.format().mode(Mode::National).to_string())
                    .unwrap_or_default();
                let typed = [
                    example.to_owned(),
                    format!("{}{example}", meta.national_prefix().unwrap_or("")),
                    formatted.chars().filter(char::is_ascii_digit).collect(),
                    format!("{code}{example}"),
                    format!("{code}0{example}"),
                    format!("00{code}{example}"),
                    format!("0{example}"),
                    format!("00{example}"),
                ];
                for digits in typed {
                    for digits in variants(&digits, 2) {
                        let crate_reads = phonenumber::parse(Some(region), &digits).ok();
                        match parse_national(region, &digits) {
                            Some((code, national)) => {
                                let number = crate_reads.expect(&digits);
                                assert_eq!(
                                    (code, national),
                                    (number.country().code(), *number.national()),
                                    "{digits} in {region:?}"
                                );
                                read += 1;
                            }
                            None => left_to_the_crate += 1,
                        }
                    }
                }
            }
        }
        assert!(
            read > 20_000,
            "{read} read, {left_to_the_crate} left to the crate"
        );
        let (code, national) = parse_national(country::SE, "0701234567").unwrap();
        assert_eq!((code, national.to_string()), (46, "701234567".to_owned()));
        assert_eq!(parse_national(country::SE, "070-1234567"), None);
    }

    /// A number as written and as mistyped: itself, a digit more, a digit less, its first
    /// `shortest` characters only, and its last digit changed.
    fn variants(digits: &str, shortest: usize) -> Vec<String> {
        let mut variants = vec![
            digits.to_owned(),
            format!("{digits}5"),
            digits[..digits.len().saturating_sub(1)].to_owned(),
            digits[..digits.len().min(shortest)].to_owned(),
        ];
        if let Some(last) = digits.chars().last() {
            let changed = if last == '9' { '1' } else { '9' };
            variants.push(format!("{}{changed}", &digits[..digits.len() - 1]));
        }
        variants
    }

    #[test]
    fn international_digits_read_as_the_crate_reads_them() {
        let (mut read, mut left_to_the_crate) = (0, 0);
        for meta in DATABASE.iter() {
            for example in example_numbers(meta) {
                let code = meta.country_code();
                let prefix = meta.national_prefix().unwrap_or("");
                let written = [
                    format!("+{code}{example}"),
                    format!("+{code}{prefix}{example}"),
                    format!("+{code}0{example}"),
                    format!("+{code}{code}{example}"),
                    format!("+0{code}{example}"),
                    format!("+{code}"),
                ];
                for digits in written {
                    for digits in variants(&digits, 3) {
                        let crate_reads = phonenumber::parse(None, &digits).ok();
                        match parse_international(&digits) {
                            Some((code, national)) => {
                                let number = crate_reads.expect(&digits);
                                assert_eq!(
                                    (code, national),
                                    (number.country().code(), *number.national()),
                                    "{digits}"
                                );
                                read += 1;
                            }
                            None => left_to_the_crate += 1,
                        }
                    }
                }
            }
        }
        assert!(
            read > 10_000,
            "{read} read, {left_to_the_crate} left to the crate"
        );
        let (code, national) = parse_international("+12125550123").unwrap();
        assert_eq!((code, national.to_string()), (1, "2125550123".to_owned()));
        assert_eq!(parse_international("+1 212 555 0123"), None);
    }
}
