//! Organisation numbers: a company's national registration number or its VAT number, checked
//! by the rules of the country it belongs to and kept in one canonical spelling.
//!
//! National numbers with a rule: SE organisationsnummer (10 digits, Luhn; personnummer-shaped
//! numbers of sole traders pass the same check), NO organisasjonsnummer (9 digits, mod 11),
//! DK CVR (8 digits, mod 11), FI Y-tunnus (7 digits and a mod-11 check digit), GB Companies
//! House numbers (8 digits, or 2 letters and 6 digits). A number of another country is kept as
//! written (letters, digits and `-./ `), since we know no rule for it. VAT numbers (an EU prefix,
//! `XI`, `GB` or `NO`, then the country's format) are recognised by their prefix; their check
//! digits are verified where the rule is simple (SE, DK, FI, NO, BE, IT, PL).

/// The longest organisation number accepted as typed (VAT numbers are at most 14 characters;
/// the rest is room for spaces and punctuation).
pub const ORGANISATION_NUMBER_MAX: usize = 30;

/// A checked organisation number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgNumber {
    /// The canonical spelling, e.g. "556036-0793", "923609016" or "SE556036079301".
    pub number: String,
    /// ISO 3166-1 alpha-2 of the country whose rule it passed ("GR" for an `EL` VAT number).
    pub country: String,
}

/// Why a number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgNumberError {
    /// Not a number of that country; the text says what one looks like.
    #[error("{0}")]
    Invalid(String),
    /// A VAT prefix of one country where another was named.
    #[error("The VAT number belongs to {prefix_country}, not to {country}.")]
    CountryMismatch {
        prefix_country: String,
        country: String,
    },
    /// No VAT prefix and no country to check the number against.
    #[error(
        "Name the country of the organisation number (organisationNumberCountry), give the \
         card an address with a country, or write it as a VAT number with its country prefix."
    )]
    CountryUnknown,
}

/// Checks `raw` as an organisation number. A VAT prefix decides the country unless `country`
/// (chosen by the caller) names another one, which is refused; without a prefix the number is
/// checked by `country`, else by `fallback` (from the card's addresses or the organisation).
pub fn parse_org_number(
    raw: &str,
    country: Option<&str>,
    fallback: Option<&str>,
) -> Result<OrgNumber, OrgNumberError> {
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '/'))
        .collect::<String>()
        .to_ascii_uppercase();
    if let Some(prefix_country) = vat_country(&compact) {
        if let Some(named) = country
            && named != prefix_country
        {
            return Err(OrgNumberError::CountryMismatch {
                prefix_country: prefix_country.to_owned(),
                country: named.to_owned(),
            });
        }
        return vat_number(&compact, prefix_country);
    }
    let country = country.or(fallback).ok_or(OrgNumberError::CountryUnknown)?;
    national_number(raw.trim(), &compact, country)
}

impl OrgNumber {
    /// What makes two numbers the same organisation: the country and the national number's
    /// digits, so that a VAT number of SE, NO, DK or FI and the national number it is built
    /// from are one organisation; other VAT numbers stand for themselves. Upper case ASCII
    /// letters, digits and `#` only: it becomes part of a key.
    pub fn identity(&self) -> String {
        let alnum: String = self
            .number
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let national = match self.country.as_str() {
            "SE" | "NO" | "DK" | "FI" if alnum.starts_with(&self.country) => {
                let digits = &alnum[2..];
                match self.country.as_str() {
                    "SE" => digits[..10].to_owned(),
                    "NO" => digits[..9].to_owned(),
                    _ => digits.to_owned(),
                }
            }
            _ if vat_country(&alnum).is_some() => format!("VAT{alnum}"),
            _ => alnum,
        };
        format!("{}#{national}", self.country)
    }
}

impl crate::CustomerFields {
    /// The identity of the card's organisation number (see [`OrgNumber::identity`]), the key
    /// of its uniqueness guard.
    pub fn organisation_identity(&self) -> Option<String> {
        let org = OrgNumber {
            number: self.organisation_number.clone()?,
            country: self.organisation_number_country.clone()?,
        };
        Some(org.identity())
    }
}

/// The country of a VAT prefix, if `compact` starts with one.
fn vat_country(compact: &str) -> Option<&'static str> {
    let prefix = compact.get(..2)?;
    // The rest must start with a digit (or a letter for AT, ES, FR, CY, IE): a GB company
    // number such as "SC123456" has no VAT prefix.
    let country = match prefix {
        "EL" => "GR",
        "AT" => "AT",
        "BE" => "BE",
        "BG" => "BG",
        "CY" => "CY",
        "CZ" => "CZ",
        "DE" => "DE",
        "DK" => "DK",
        "EE" => "EE",
        "ES" => "ES",
        "FI" => "FI",
        "FR" => "FR",
        "HR" => "HR",
        "HU" => "HU",
        "IE" => "IE",
        "IT" => "IT",
        "LT" => "LT",
        "LU" => "LU",
        "LV" => "LV",
        "MT" => "MT",
        "NL" => "NL",
        "PL" => "PL",
        "PT" => "PT",
        "RO" => "RO",
        "SE" => "SE",
        "SI" => "SI",
        "SK" => "SK",
        "XI" => "GB",
        "GB" => "GB",
        "NO" => "NO",
        _ => return None,
    };
    Some(country)
}

fn digits(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

fn all_digits(s: &str, lengths: &[usize]) -> bool {
    lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// Luhn (mod 10), as Swedish numbers and Italian VAT numbers use it.
fn luhn(s: &str) -> bool {
    let Some(ds) = digits(s) else { return false };
    let sum: u32 = ds
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                (d * 2) / 10 + (d * 2) % 10
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Weighted sum of the digits.
fn weighted(ds: &[u32], weights: &[u32]) -> u32 {
    ds.iter().zip(weights).map(|(d, w)| d * w).sum()
}

/// SE: 10 digits (a 12-digit form with the century is shortened), Luhn over all ten.
fn swedish(compact: &str) -> Option<String> {
    let ten = match compact.len() {
        // "16" is how the tax agency writes an organisation's number in 12 digits.
        12 if ["16", "19", "20"].iter().any(|c| compact.starts_with(c)) => &compact[2..],
        _ => compact,
    };
    (all_digits(ten, &[10]) && luhn(ten)).then(|| format!("{}-{}", &ten[..6], &ten[6..]))
}

/// NO: 9 digits, mod 11 with weights 3,2,7,6,5,4,3,2 over the first eight.
fn norwegian(compact: &str) -> Option<String> {
    let ds = digits(compact).filter(|ds| ds.len() == 9)?;
    let check = match 11 - weighted(&ds, &[3, 2, 7, 6, 5, 4, 3, 2]) % 11 {
        11 => 0,
        10 => return None,
        c => c,
    };
    (ds[8] == check).then(|| compact.to_owned())
}

/// DK: CVR, 8 digits whose weighted sum (2,7,6,5,4,3,2,1) is divisible by 11.
fn danish(compact: &str) -> Option<String> {
    let ds = digits(compact).filter(|ds| ds.len() == 8)?;
    weighted(&ds, &[2, 7, 6, 5, 4, 3, 2, 1])
        .is_multiple_of(11)
        .then(|| compact.to_owned())
}

/// FI: Y-tunnus, 7 digits and a check digit (weights 7,9,10,5,8,4,2, mod 11), "NNNNNNN-N".
fn finnish(compact: &str) -> Option<String> {
    let ds = digits(compact).filter(|ds| ds.len() == 8)?;
    let check = match weighted(&ds, &[7, 9, 10, 5, 8, 4, 2]) % 11 {
        0 => 0,
        1 => return None,
        r => 11 - r,
    };
    (ds[7] == check).then(|| format!("{}-{}", &compact[..7], &compact[7..]))
}

/// GB: a Companies House number, 8 digits or 2 letters and 6 digits (SC, NI, OC, ...).
fn british(compact: &str) -> Option<String> {
    // ASCII first: splitting at a byte offset must not cut a character.
    if !compact.is_ascii() {
        return None;
    }
    let (letters, rest) = compact.split_at(2.min(compact.len()));
    let fits = all_digits(compact, &[8])
        || (letters.bytes().all(|b| b.is_ascii_uppercase()) && all_digits(rest, &[6]));
    fits.then(|| compact.to_owned())
}

fn national_number(
    trimmed: &str,
    compact: &str,
    country: &str,
) -> Result<OrgNumber, OrgNumberError> {
    let (checked, expected) = match country {
        "SE" => (
            swedish(compact),
            "a Swedish organisation number has 10 digits, NNNNNN-NNNN, the last a check digit",
        ),
        "NO" => (
            norwegian(compact),
            "a Norwegian organisation number has 9 digits, the last a check digit",
        ),
        "DK" => (
            danish(compact),
            "a Danish CVR number has 8 digits that pass the modulus 11 check",
        ),
        "FI" => (
            finnish(compact),
            "a Finnish Y-tunnus is 7 digits, a hyphen and a check digit, NNNNNNN-N",
        ),
        "GB" => (
            british(compact),
            "a Companies House number has 8 characters: 8 digits, or 2 letters and 6 digits",
        ),
        _ => (
            other(trimmed),
            "an organisation number is letters, digits, spaces and - . /",
        ),
    };
    let number = checked.ok_or_else(|| {
        OrgNumberError::Invalid(format!(
            "{trimmed:?} is not an organisation number of {country}: {expected}, or give the VAT \
             number with its country prefix."
        ))
    })?;
    Ok(OrgNumber {
        number,
        country: country.to_owned(),
    })
}

/// A country we know no rule for: kept as written, upper-cased, with single spaces.
fn other(trimmed: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '.' | '/');
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    (trimmed.chars().all(allowed) && trimmed.chars().any(|c| c.is_ascii_alphanumeric()))
        .then(|| words.join(" ").to_ascii_uppercase())
}

/// A VAT number: `compact` starts with the prefix of `country`.
fn vat_number(compact: &str, country: &'static str) -> Result<OrgNumber, OrgNumberError> {
    let body = &compact[2..];
    let (valid, expected) = vat_rule(country, body);
    if !valid {
        return Err(OrgNumberError::Invalid(format!(
            "{compact:?} is not a VAT number of {country}: after the prefix {} comes {expected}.",
            &compact[..2]
        )));
    }
    Ok(OrgNumber {
        number: compact.to_owned(),
        country: country.to_owned(),
    })
}

/// Whether `body` (the VAT number after its prefix) fits the country's format, and that
/// format in words.
fn vat_rule(country: &str, body: &str) -> (bool, &'static str) {
    // The rules slice at byte offsets: only ASCII can be a VAT number, and only ASCII is cut.
    if !body.is_ascii() {
        return (false, "letters and digits");
    }
    let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    match country {
        "SE" => (
            body.len() == 12 && body.ends_with("01") && swedish(&body[..10]).is_some(),
            "the 10-digit organisation number and 01",
        ),
        "NO" => (
            matches!(body.len(), 9 | 12)
                && (body.len() == 9 || body.ends_with("MVA"))
                && norwegian(&body[..9.min(body.len())]).is_some(),
            "the 9-digit organisation number, optionally followed by MVA",
        ),
        "DK" => (danish(body).is_some(), "the 8-digit CVR number"),
        "FI" => (
            finnish(body).is_some(),
            "the 8 digits of the Y-tunnus without its hyphen",
        ),
        "BE" => (
            all_digits(body, &[10]) && {
                let n: u64 = body[..8].parse().unwrap_or(0);
                let check: u64 = body[8..].parse().unwrap_or(0);
                97 - n % 97 == check
            },
            "10 digits, the last two a check number",
        ),
        "IT" => (all_digits(body, &[11]) && luhn(body), "11 digits"),
        "PL" => (
            all_digits(body, &[10]) && {
                let ds = digits(body).unwrap_or_default();
                weighted(&ds, &[6, 5, 7, 2, 3, 4, 5, 6, 7]) % 11 == ds[9]
            },
            "10 digits, the last a check digit",
        ),
        "AT" => (
            body.len() == 9 && body.starts_with('U') && all_digits(&body[1..], &[8]),
            "U and 8 digits",
        ),
        "BG" => (all_digits(body, &[9, 10]), "9 or 10 digits"),
        "CY" => (
            body.len() == 9
                && all_digits(&body[..8], &[8])
                && body.as_bytes()[8].is_ascii_uppercase(),
            "8 digits and a letter",
        ),
        "CZ" => (all_digits(body, &[8, 9, 10]), "8 to 10 digits"),
        "DE" | "EE" | "GR" | "PT" => (all_digits(body, &[9]), "9 digits"),
        "ES" => (
            body.len() == 9 && alnum(body) && all_digits(&body[1..8], &[7]),
            "9 characters: a letter or digit, 7 digits, a letter or digit",
        ),
        "FR" => (
            body.len() == 11 && alnum(&body[..2]) && all_digits(&body[2..], &[9]),
            "a 2-character key and the 9-digit SIREN",
        ),
        "HR" | "LV" => (all_digits(body, &[11]), "11 digits"),
        "HU" | "LU" | "MT" | "SI" => (all_digits(body, &[8]), "8 digits"),
        "IE" => (
            matches!(body.len(), 8 | 9) && alnum(body) && body.as_bytes()[0].is_ascii_digit(),
            "8 or 9 characters starting with a digit",
        ),
        "LT" => (all_digits(body, &[9, 12]), "9 or 12 digits"),
        "NL" => (
            body.len() == 12
                && all_digits(&body[..9], &[9])
                && &body[9..10] == "B"
                && all_digits(&body[10..], &[2]),
            "9 digits, B and 2 digits",
        ),
        "RO" => (
            all_digits(body, &[2, 3, 4, 5, 6, 7, 8, 9, 10]),
            "2 to 10 digits",
        ),
        "SK" => (all_digits(body, &[10]), "10 digits"),
        // GB and XI (Northern Ireland): 9 or 12 digits, or GD/HA and 3 digits.
        _ => (
            all_digits(body, &[9, 12])
                || (body.len() == 5
                    && (body.starts_with("GD") || body.starts_with("HA"))
                    && all_digits(&body[2..], &[3])),
            "9 or 12 digits, or GD or HA and 3 digits",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str, country: &str) -> OrgNumber {
        parse_org_number(raw, None, Some(country)).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn refused(raw: &str, country: &str) {
        let result = parse_org_number(raw, None, Some(country));
        assert!(
            matches!(result, Err(OrgNumberError::Invalid(_))),
            "{raw} ({country}): {result:?}"
        );
    }

    #[test]
    fn swedish_numbers_pass_luhn_and_come_out_as_nnnnnn_nnnn() {
        // AB Volvo, a Luhn-valid number, Spotify AB, and a personnummer-shaped sole trader.
        assert_eq!(ok("556012-5790", "SE").number, "556012-5790");
        assert_eq!(ok("5560747569", "SE").number, "556074-7569");
        assert_eq!(ok(" 556703-7485 ", "SE").number, "556703-7485");
        assert_eq!(ok("19811218-9876", "SE").number, "811218-9876");
        refused("556012-5791", "SE");
        refused("55601257", "SE");
        refused("556012-579X", "SE");
    }

    #[test]
    fn norwegian_numbers_pass_mod_11() {
        // Equinor ASA, DNB Bank ASA.
        assert_eq!(ok("923 609 016", "NO").number, "923609016");
        assert_eq!(ok("984851006", "NO").number, "984851006");
        refused("923609017", "NO");
        refused("92360901", "NO");
    }

    #[test]
    fn danish_cvr_numbers_pass_mod_11() {
        // Novo Nordisk A/S, Carlsberg A/S.
        assert_eq!(ok("24256790", "DK").number, "24256790");
        assert_eq!(ok("61 05 64 16", "DK").number, "61056416");
        refused("24256791", "DK");
        refused("2425679", "DK");
    }

    #[test]
    fn finnish_business_ids_pass_their_check_digit() {
        // Nokia Oyj, Kone Oyj.
        assert_eq!(ok("0112038-9", "FI").number, "0112038-9");
        assert_eq!(ok("19274001", "FI").number, "1927400-1");
        refused("0112038-8", "FI");
        refused("112038-9", "FI");
    }

    #[test]
    fn companies_house_numbers_have_eight_characters() {
        assert_eq!(ok("00445790", "GB").number, "00445790"); // Tesco PLC
        assert_eq!(ok("sc 083026", "GB").number, "SC083026"); // the Scottish form
        refused("445790", "GB");
        refused("S1083026", "GB");
    }

    #[test]
    fn vat_numbers_are_recognised_by_their_prefix_and_checked() {
        let se = ok("SE 556012-5790 01", "NO");
        assert_eq!(
            (se.number.as_str(), se.country.as_str()),
            ("SE556012579001", "SE")
        );
        assert_eq!(ok("DK24256790", "SE").country, "DK");
        assert_eq!(ok("FI01120389", "SE").country, "FI");
        assert_eq!(ok("NO923609016MVA", "SE").number, "NO923609016MVA");
        assert_eq!(ok("BE 0403.091.220", "SE").country, "BE"); // Solvay
        assert_eq!(ok("IT00860340157", "SE").country, "IT"); // Pirelli
        assert_eq!(ok("PL7740001454", "SE").country, "PL"); // Orlen
        assert_eq!(ok("DE 129 273 398", "SE").number, "DE129273398");
        assert_eq!(ok("EL094014201", "SE").country, "GR");
        assert_eq!(ok("NL004495445B01", "SE").country, "NL");
        assert_eq!(ok("ATU13585627", "SE").country, "AT");
        assert_eq!(ok("GB220430231", "SE").country, "GB");
        for bad in [
            "SE556012579002",
            "SE556012579101",
            "DK24256791",
            "FI01120388",
            "NO923609017MVA",
            "BE0403091221",
            "IT00860340158",
            "PL7740001455",
            "DE12927339",
            "NL004495445A01",
            "ATX13585627",
        ] {
            refused(bad, "SE");
        }
    }

    #[test]
    fn a_named_country_must_match_the_vat_prefix() {
        assert_eq!(
            parse_org_number("DK24256790", Some("SE"), None),
            Err(OrgNumberError::CountryMismatch {
                prefix_country: "DK".into(),
                country: "SE".into()
            })
        );
        // A named country wins over the fallback for national numbers.
        assert_eq!(
            parse_org_number("923609016", Some("NO"), Some("SE"))
                .unwrap()
                .country,
            "NO"
        );
    }

    #[test]
    fn without_a_prefix_or_a_country_nothing_can_be_checked() {
        assert_eq!(
            parse_org_number("5560125790", None, None),
            Err(OrgNumberError::CountryUnknown)
        );
    }

    #[test]
    fn letters_beyond_ascii_are_refused_without_panicking() {
        for (raw, country) in [
            ("CY1234567é", "SE"),
            ("FRé123456789", "SE"),
            ("NL12345678éB01", "SE"),
            ("SE55601257é01", "SE"),
            ("€1234567", "GB"),
            ("S€123456", "GB"),
            ("5560125790€", "SE"),
        ] {
            refused(raw, country);
        }
    }

    /// Every prefix and country with short mixes of digits, letters, punctuation and wide
    /// characters at every offset the rules cut at: an answer each, never a panic.
    #[test]
    fn no_spelling_makes_a_rule_panic() {
        const PARTS: [&str; 6] = ["1", "A", "é", "€", "😀", "-"];
        let prefixes = [
            "", "SE", "NO", "DK", "FI", "GB", "XI", "EL", "AT", "BE", "BG", "CY", "CZ", "DE", "EE",
            "ES", "FR", "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO",
            "SI", "SK", "16", "19",
        ];
        let mut tails = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = tails
                .iter()
                .flat_map(|t| PARTS.iter().map(move |p| format!("{t}{p}")))
                .collect();
            tails.extend(longer);
        }
        for prefix in prefixes {
            for tail in &tails {
                for pad in [0, 7, 8, 10] {
                    let digits = "1".repeat(pad);
                    for raw in [
                        format!("{prefix}{digits}{tail}"),
                        format!("{prefix}{tail}{digits}"),
                    ] {
                        for country in ["SE", "NO", "DK", "FI", "GB", "CH"] {
                            let _ = parse_org_number(&raw, None, Some(country));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn other_countries_keep_the_number_as_written() {
        assert_eq!(ok(" che-105.805.080 ", "CH").number, "CHE-105.805.080");
        refused("12#45", "CH");
        refused("--", "CH");
    }

    #[test]
    fn a_vat_number_and_its_national_number_are_one_organisation() {
        assert_eq!(
            ok("SE556012579001", "SE").identity(),
            ok("556012-5790", "SE").identity()
        );
        assert_eq!(
            ok("NO923609016MVA", "NO").identity(),
            ok("923609016", "NO").identity()
        );
        assert_eq!(ok("NO923609016", "NO").identity(), "NO#923609016");
        assert_eq!(
            ok("DK24256790", "DK").identity(),
            ok("24256790", "DK").identity()
        );
        assert_eq!(
            ok("FI01120389", "FI").identity(),
            ok("0112038-9", "FI").identity()
        );
        assert_eq!(ok("DE129273398", "SE").identity(), "DE#VATDE129273398");
        assert_ne!(
            ok("24256790", "DK").identity(),
            ok("24256790", "CH").identity()
        );
    }
}
