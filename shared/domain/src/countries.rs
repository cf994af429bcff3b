//! Countries by name: every ISO 3166-1 country by its English short, formal and common names
//! and its Swedish, Norwegian, Danish, Finnish and German names, from the generated table in
//! `country_names.rs` (sources and versions in its header; `infra/local/gen-countries.py`
//! brings it up to date).
//!
//! Names are compared as a set of words: folded like search text (case and diacritics
//! dropped), punctuation taken out, "and", "of", "the" and "&" left out, and the words sorted,
//! so "Korea, Republic of" and "Republic of Korea", "Bosnia & Herzegovina" and "Bosnia and
//! Herzegovina", "Côte d'Ivoire" and "COTE D IVOIRE" are one name. A name with a part in
//! parentheses ("Slovakia (Slovak Republic)") is also tried without it.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::country_names::COUNTRY_NAMES;
use crate::reference::is_country;

/// Words a name may have or lack without being another name.
const FILLER: &[&str] = &["and", "of", "the"];

/// The ISO 3166-1 alpha-2 code of a country written as a code ("se", " SE ") or a name in any
/// of the languages the table carries. `None` for what names no country (or two).
pub fn country_from_name(raw: &str) -> Option<&'static str> {
    let code = raw.trim();
    if let &[first, second] = code.as_bytes() {
        let upper = [first.to_ascii_uppercase(), second.to_ascii_uppercase()];
        if let Ok(code) = std::str::from_utf8(&upper)
            && is_country(code)
        {
            // By the two bytes as a number: every imported address asks, and comparing
            // strings is a library call per step.
            let key = |code: &&str| u16::from_be_bytes([code.as_bytes()[0], code.as_bytes()[1]]);
            return COUNTRY_CODES
                .binary_search_by_key(&u16::from_be_bytes(upper), key)
                .ok()
                .map(|i| COUNTRY_CODES[i]);
        }
    }
    let by_name = &*BY_NAME;
    let found = |text: &str| by_name.get(&name_key(text)).copied().flatten();
    found(raw).or_else(|| {
        let outside = without_parentheses(raw);
        (outside.len() < raw.len())
            .then(|| found(&outside))
            .flatten()
    })
}

/// Every code of the table, sorted, for handing out `'static` codes.
static COUNTRY_CODES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut codes: Vec<&'static str> = COUNTRY_NAMES.iter().map(|(code, _)| *code).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
});

/// Name key -> code; `None` for a key two countries share (refused rather than guessed).
static BY_NAME: LazyLock<HashMap<String, Option<&'static str>>> = LazyLock::new(|| {
    let mut map: HashMap<String, Option<&'static str>> = HashMap::new();
    for (code, names) in COUNTRY_NAMES {
        for name in *names {
            for spelling in [name.to_string(), without_parentheses(name)] {
                let key = name_key(&spelling);
                if key.is_empty() {
                    continue;
                }
                map.entry(key)
                    .and_modify(|known| {
                        if *known != Some(*code) {
                            *known = None;
                        }
                    })
                    .or_insert(Some(*code));
            }
        }
    }
    map
});

/// The words of a name, folded, without punctuation and filler, sorted.
fn name_key(name: &str) -> String {
    let folded = crate::fold(name).replace('&', " and ");
    let mut words: Vec<String> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !FILLER.contains(w))
        .map(str::to_owned)
        .collect();
    words.sort();
    words.join(" ")
}

/// The name with any part in parentheses left out.
fn without_parentheses(name: &str) -> String {
    let mut depth = 0u32;
    name.chars()
        .filter(|&c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_every_iso_country_and_only_those() {
        let codes: Vec<&str> = COUNTRY_NAMES.iter().map(|(code, _)| *code).collect();
        assert_eq!(codes, crate::reference::COUNTRIES.to_vec());
    }

    #[test]
    fn names_from_a_generic_crm_export() {
        for (name, code) in [
            ("Chile", "CL"),
            ("Bulgaria", "BG"),
            ("Bosnia and Herzegovina", "BA"),
            ("Slovakia (Slovak Republic)", "SK"),
            ("Côte d'Ivoire", "CI"),
            ("Cote d’Ivoire", "CI"),
            ("Korea, Republic of", "KR"),
            ("Republic of Korea", "KR"),
            ("South Korea", "KR"),
            ("Korea, Democratic People's Republic of", "KP"),
            ("Holy See (Vatican City State)", "VA"),
            ("United States of America", "US"),
            ("USA", "US"),
            ("Virgin Islands, British", "VG"),
            ("Bosnia & Herzegovina", "BA"),
            ("  united   KINGDOM ", "GB"),
            ("The Netherlands", "NL"),
        ] {
            assert_eq!(country_from_name(name), Some(code), "{name}");
        }
    }

    #[test]
    fn names_in_the_nordic_languages_and_german() {
        for (name, code) in [
            ("Sverige", "SE"),
            ("Tyskland", "DE"),
            ("Norge", "NO"),
            ("Noreg", "NO"),
            ("Danmark", "DK"),
            ("Suomi", "FI"),
            ("Ruotsi", "SE"),
            ("Saksa", "DE"),
            ("Schweden", "SE"),
            ("Österreich", "AT"),
            ("Elfenbenskusten", "CI"),
            ("Sør-Korea", "KR"),
            ("Storbritannien", "GB"),
            ("Förenade Arabemiraten", "AE"),
        ] {
            assert_eq!(country_from_name(name), Some(code), "{name}");
        }
    }

    #[test]
    fn codes_are_read_in_any_case_and_unknown_names_are_none() {
        assert_eq!(country_from_name("se"), Some("SE"));
        assert_eq!(country_from_name(" GB "), Some("GB"));
        assert_eq!(country_from_name("UK"), Some("GB"));
        assert_eq!(country_from_name("XX"), None);
        assert_eq!(country_from_name("Narnia"), None);
        assert_eq!(country_from_name(""), None);
        assert_eq!(country_from_name("Korea"), None);
    }
}
