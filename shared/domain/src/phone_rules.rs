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
//! region's metadata in the crate's static database. The crate still parses numbers; only
//! the rules applied to a parsed number live here. `tests::the_rules_agree_with_the_crate`
//! holds the two to the same answers over every example number of the metadata.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use phonenumber::{PhoneNumber, Type};
use regex::Regex;

/// One descriptor: a number matches when its length is possible and the pattern matches from
/// its first digit (the crate's `Descriptor::is_match`).
struct Matcher {
    lengths: Vec<u16>,
    pattern: Regex,
}

impl Matcher {
    fn of(descriptor: &Descriptor) -> Self {
        Matcher {
            lengths: descriptor.possible_length().to_vec(),
            pattern: from_start(descriptor.national_number().as_str()),
        }
    }

    fn is_match(&self, value: &str) -> bool {
        let length_possible = self.lengths.is_empty()
            || u16::try_from(value.len()).is_ok_and(|n| self.lengths.contains(&n));
        length_possible && self.pattern.is_match(value)
    }
}

/// The crate finds a pattern anywhere and keeps the match if it starts at the first
/// character; a match starting there exists exactly when the pattern anchored at the start
/// matches, which stops at the first digit that cannot match instead of scanning on. The
/// crate compiles the metadata's patterns with `ignore_whitespace`, so this does too.
fn from_start(pattern: &str) -> Regex {
    regex::RegexBuilder::new(&format!("^(?:{pattern})"))
        .ignore_whitespace(true)
        .build()
        .expect("the phone metadata's patterns compile (the crate compiled them)")
}

/// A region's descriptors, in the order `validator::number_type` tries them.
struct RegionRules {
    general: Matcher,
    /// Premium rate, toll free, shared cost, VoIP, personal, pager, UAN, voicemail.
    special: Vec<(Matcher, Type)>,
    fixed_line: Option<Matcher>,
    mobile: Option<Matcher>,
    /// The metadata gives fixed lines and mobiles the same pattern (the US, Canada).
    fixed_is_mobile: bool,
    leading_digits: Option<Regex>,
}

impl RegionRules {
    fn of(meta: &Metadata) -> Self {
        let d = meta.descriptors();
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
        .filter_map(|(descriptor, kind)| Some((Matcher::of(descriptor?), kind)))
        .collect();
        let pattern = |d: Option<&Descriptor>| d.map(|d| d.national_number().as_str().to_owned());
        RegionRules {
            general: Matcher::of(d.general()),
            special,
            fixed_line: d.fixed_line().map(Matcher::of),
            mobile: d.mobile().map(Matcher::of),
            fixed_is_mobile: pattern(d.fixed_line()) == pattern(d.mobile()),
            // The crate searches anywhere and keeps a match at the start, as above.
            leading_digits: meta.leading_digits().map(|p| from_start(p.as_str())),
        }
    }

    /// `validator::number_type`.
    fn number_type(&self, value: &str) -> Type {
        if !self.general.is_match(value) {
            return Type::Unknown;
        }
        if let Some((_, kind)) = self.special.iter().find(|(m, _)| m.is_match(value)) {
            return *kind;
        }
        let mobile = self.mobile.as_ref().is_some_and(|m| m.is_match(value));
        if self.fixed_line.as_ref().is_some_and(|m| m.is_match(value)) {
            return if self.fixed_is_mobile || mobile {
                Type::FixedLineOrMobile
            } else {
                Type::FixedLine
            };
        }
        if mobile { Type::Mobile } else { Type::Unknown }
    }
}

/// Compiled rules by the address of their metadata in the crate's static database (regions
/// of one code, and the non-geographic codes that all have the id "001", are told apart).
/// Bounded by the database's few hundred entries; compiled on first use only.
static RULES: LazyLock<RwLock<HashMap<usize, &'static RegionRules>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

fn rules(meta: &'static Metadata) -> &'static RegionRules {
    let address = std::ptr::from_ref(meta) as usize;
    if let Some(rules) = RULES.read().expect("never poisoned").get(&address) {
        return rules;
    }
    let mut all = RULES.write().expect("never poisoned");
    all.entry(address)
        .or_insert_with(|| Box::leak(Box::new(RegionRules::of(meta))))
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
    let known = SINGLE_REGION
        .read()
        .expect("never poisoned")
        .get(&code)
        .copied();
    let single = match known {
        Some(single) => single,
        None => {
            let single = single_region(code);
            SINGLE_REGION
                .write()
                .expect("never poisoned")
                .insert(code, single);
            single
        }
    };
    match single {
        Some(meta) => meta,
        None => shared_code(code, national),
    }
}

/// `Some(metadata)` for a code of one region (or of none: `Some(None)`), `None` for a code
/// of several.
fn single_region(code: u16) -> Single {
    let database = &*DATABASE;
    let Some(regions) = database.region(&code) else {
        return Some(None);
    };
    let [region] = regions[..] else {
        return None;
    };
    if region == "001" {
        return Some(database.by_code(&code).and_then(|m| m.into_iter().next()));
    }
    Some(
        region
            .parse::<phonenumber::country::Id>()
            .ok()
            .and_then(|id| database.by_id(id.as_ref())),
    )
}

/// The region of a code several share, by its leading digits or the first whose rules know
/// the number.
fn shared_code(code: u16, national: &str) -> Option<&'static Metadata> {
    let database = &*DATABASE;
    let regions = database.region(&code)?;
    regions.into_iter().find_map(|region| {
        let meta = database.by_id(region)?;
        let rules = rules(meta);
        let ours = match &rules.leading_digits {
            Some(leading) => leading.is_match(national),
            None => rules.number_type(national) != Type::Unknown,
        };
        ours.then_some(meta)
    })
}

/// `validator::is_valid`: the number has a type in the region its code and digits name.
/// (The crate reads the national number with its leading zeros here.)
pub(crate) fn is_valid(number: &PhoneNumber) -> bool {
    let national = number.national().to_string();
    metadata_for(number.country().code(), &national)
        .is_some_and(|meta| rules(meta).number_type(&national) != Type::Unknown)
}

/// `PhoneNumber::number_type` (which reads the national number without its leading zeros).
pub(crate) fn number_type(number: &PhoneNumber) -> Type {
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
pub(crate) fn valid_type(number: &PhoneNumber) -> Option<Type> {
    let code = number.country().code();
    if number.national().zeros() == 0 {
        let kind = type_of(code, &number.national().value().to_string());
        return (kind != Type::Unknown).then_some(kind);
    }
    is_valid(number).then(|| number_type(number))
}

/// `PhoneNumber::metadata`.
pub(crate) fn metadata(number: &PhoneNumber) -> Option<&'static Metadata> {
    metadata_for(
        number.country().code(),
        &number.national().value().to_string(),
    )
}

/// E.164: `+`, the country code and the national number with its leading zeros, as the
/// crate's formatter writes it (which also looks for a national format first, unused here).
pub(crate) fn e164(number: &PhoneNumber) -> String {
    format!("+{}{}", number.country().code(), number.national())
}

#[cfg(test)]
mod tests {
    use phonenumber::Mode;

    use super::*;

    /// Every example number of every region and type in the metadata, read nationally and
    /// internationally, and variations of each (a digit more, a digit less, one digit
    /// changed): validity, type, region and E.164 are the crate's own answers.
    #[test]
    fn the_rules_agree_with_the_crate() {
        let mut compared = 0;
        for meta in DATABASE.iter() {
            let d = meta.descriptors();
            let examples = [
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
            .filter_map(Descriptor::example);
            for example in examples {
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
}
