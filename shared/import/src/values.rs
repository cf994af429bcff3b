//! Cell values as people type them, read into the shapes [`domain::CustomerInput`] wants.
//!
//! These only read; whether a value is acceptable (a credit limit that is not negative, net
//! days from 1 to 365, a known country) is the domain's validation, which every row goes
//! through afterwards.

use domain::{CustomerKind, PaymentTerms, PaymentType, Tier};

/// Why an amount could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountError {
    /// Not a number (after currency symbols and codes are taken off).
    NotAnAmount,
    /// More than two decimals: money is never rounded silently.
    TooManyDecimals,
    /// Beyond what an i64 of minor units holds.
    TooLarge,
}

impl AmountError {
    pub fn message(self, raw: &str) -> String {
        match self {
            AmountError::NotAnAmount => format!(
                "{raw:?} is not an amount; write e.g. \"1 234,50\", \"1,234.50\" or \"-50\"."
            ),
            AmountError::TooManyDecimals => {
                format!("{raw:?} has more than two decimals; amounts are imported to the cent.")
            }
            AmountError::TooLarge => format!("{raw:?} is too large an amount."),
        }
    }
}

/// Currency symbols and codes people put around amounts. Three-letter codes are handled
/// separately.
const CURRENCY_AFFIXES: &[&str] = &["US$", "$", "€", "£", "¥", "kr.", "kr", ":-", ",-"];

/// Reads an amount into minor units, assuming two decimals (cents, öre, pence): "1 234,50" ->
/// 123450. Currencies with another number of decimals (JPY, KWD) are read the same way, i.e.
/// wrongly; the organisations importing through this today all work in two-decimal
/// currencies.
///
/// Accepted: a decimal comma or point; thousands separated by spaces, non-breaking spaces,
/// apostrophes, or a point or comma when the other one is the decimal separator (or when three
/// digits follow the only separator: money has at most two decimals, so that can only be a
/// thousands group); currency symbols or codes before or after; a minus before or after, or
/// parentheses, for negatives.
pub fn parse_amount(raw: &str) -> Result<i64, AmountError> {
    let (number, negative) = strip_sign_and_currency(raw)?;
    let (integer, fraction) = split_decimal(number)?;
    let integer = grouped_digits(integer)?;
    if fraction.len() > 2 {
        return Err(AmountError::TooManyDecimals);
    }
    // The integer's digits read as they are checked, without joining them into a string
    // first: `None` once they overflow, which is only an error if they are all digits.
    let (mut whole, mut count) = (Some(0i64), 0);
    for byte in integer {
        if !byte.is_ascii_digit() {
            return Err(AmountError::NotAnAmount);
        }
        count += 1;
        whole = whole
            .and_then(|w| w.checked_mul(10))
            .and_then(|w| w.checked_add(i64::from(byte - b'0')));
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if count == 0 || !(fraction.is_empty() || digits(fraction)) {
        return Err(AmountError::NotAnAmount);
    }
    let whole = whole.ok_or(AmountError::TooLarge)?;
    let digit = |i: usize| {
        fraction
            .as_bytes()
            .get(i)
            .map_or(0, |b| i64::from(b - b'0'))
    };
    let cents = digit(0) * 10 + digit(1);
    let minor = whole
        .checked_mul(100)
        .and_then(|v| v.checked_add(cents))
        .ok_or(AmountError::TooLarge)?;
    Ok(if negative { -minor } else { minor })
}

fn is_space(c: char) -> bool {
    // U+00A0 and U+202F are what Excel and Swedish locales put between thousands.
    c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}'
}

/// Takes currency symbols, codes and the sign off, in any order: "-$12", "$-12", "(12 kr)",
/// "SEK 12-" all work. Two signs are refused rather than guessed at.
fn strip_sign_and_currency(raw: &str) -> Result<(&str, bool), AmountError> {
    // Most amounts begin and end with a digit: every sign, bracket, space, currency symbol
    // and code begins or ends with something else, so there is nothing to take off, and the
    // affixes need not be compared (a tenth of reading an amount).
    if between_digits(raw) {
        return Ok((raw, false));
    }
    strip_affixes(raw)
}

/// `s` begins and ends with a digit, so there is no affix to take off.
fn between_digits(s: &str) -> bool {
    let digit_at = |byte: Option<&u8>| byte.is_some_and(u8::is_ascii_digit);
    digit_at(s.as_bytes().first()) && digit_at(s.as_bytes().last())
}

fn strip_affixes(raw: &str) -> Result<(&str, bool), AmountError> {
    let mut s = raw.trim_matches(is_space);
    let mut negative = false;
    let set_negative = |negative: &mut bool| {
        if std::mem::replace(negative, true) {
            Err(AmountError::NotAnAmount)
        } else {
            Ok(())
        }
    };
    loop {
        // "(12,50)" is down to its digits after one round: the currencies need no look.
        if between_digits(s) {
            return Ok((s, negative));
        }
        let before = s;
        if let Some(inner) = s.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
            set_negative(&mut negative)?;
            s = inner;
        } else if let Some(rest) = s.strip_prefix(['-', '−']) {
            set_negative(&mut negative)?;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        } else if let Some(rest) = strip_currency_prefix(s) {
            s = rest;
        } else if let Some(rest) = strip_currency_suffix(s) {
            s = rest;
        } else if let Some(rest) = s.strip_suffix(['-', '−']) {
            set_negative(&mut negative)?;
            s = rest;
        }
        s = s.trim_matches(is_space);
        if s == before {
            return Ok((s, negative));
        }
    }
}

fn strip_currency_prefix(s: &str) -> Option<&str> {
    if let Some(rest) = CURRENCY_AFFIXES.iter().find_map(|a| s.strip_prefix(a)) {
        return Some(rest);
    }
    let code = s.get(..3)?;
    let rest = &s[3..];
    let is_code = code.bytes().all(|b| b.is_ascii_alphabetic());
    let separated = rest.starts_with(|c: char| is_space(c) || c.is_ascii_digit() || c == '-');
    (is_code && separated).then_some(rest)
}

fn strip_currency_suffix(s: &str) -> Option<&str> {
    if let Some(rest) = CURRENCY_AFFIXES.iter().find_map(|a| s.strip_suffix(a)) {
        return Some(rest);
    }
    let split = s.len().checked_sub(3)?;
    let code = s.get(split..)?;
    let rest = &s[..split];
    let is_code = code.bytes().all(|b| b.is_ascii_alphabetic());
    let separated = rest.ends_with(|c: char| is_space(c) || c.is_ascii_digit() || c == '-');
    (is_code && separated).then_some(rest)
}

/// Splits at the decimal separator, if there is one. The integer part keeps its grouping
/// separators for [`join_groups`].
fn split_decimal(number: &str) -> Result<(&str, &str), AmountError> {
    let last_point = number.rfind('.');
    let last_comma = number.rfind(',');
    let decimal = match (last_point, last_comma) {
        (Some(p), Some(c)) => Some(p.max(c)),
        (Some(i), None) | (None, Some(i)) => {
            let separator = number.as_bytes()[i];
            let repeated = number.bytes().filter(|&b| b == separator).count() > 1;
            let three_after = number.len() - i - 1 == 3;
            let spaced = number.contains(|c: char| is_space(c) || c == '\'');
            // "1.234.567" and "1,234" are thousands; "1 234,567" cannot be (spaces already
            // group the thousands), so it is a decimal, and refused below for its decimals.
            let thousands = repeated || (three_after && !spaced && !number.starts_with('0'));
            (!thousands).then_some(i)
        }
        (None, None) => None,
    };
    let Some(i) = decimal else {
        return Ok((number, ""));
    };
    let (integer, fraction) = (&number[..i], &number[i + 1..]);
    if fraction.is_empty() || fraction.contains(['.', ',']) {
        return Err(AmountError::NotAnAmount);
    }
    Ok((integer, fraction))
}

/// Removes thousands separators, checking that they separate groups of three: "12 34" is
/// more likely two numbers run together than twelve hundred and thirty-four.
fn join_groups(integer: &str) -> Result<String, AmountError> {
    check_groups(integer)?;
    Ok(integer.split(is_group_separator).collect())
}

/// The bytes of [`join_groups`]'s result, without building it.
fn grouped_digits(integer: &str) -> Result<impl Iterator<Item = u8> + '_, AmountError> {
    check_groups(integer)?;
    Ok(integer.split(is_group_separator).flat_map(str::bytes))
}

fn is_group_separator(c: char) -> bool {
    is_space(c) || matches!(c, '.' | ',' | '\'')
}

fn check_groups(integer: &str) -> Result<(), AmountError> {
    let mut groups = integer.split(is_group_separator);
    let first = groups.next().ok_or(AmountError::NotAnAmount)?;
    let mut grouped = false;
    for group in groups {
        grouped = true;
        if group.len() != 3 {
            return Err(AmountError::NotAnAmount);
        }
    }
    if grouped && (first.is_empty() || first.len() > 3) {
        return Err(AmountError::NotAnAmount);
    }
    Ok(())
}

/// A plain number as people type it, for custom number fields: "1 234,5", "1,234.5", "-3".
/// Whole numbers stay integers in JSON.
pub fn parse_number(raw: &str) -> Option<serde_json::Number> {
    let (number, negative) = strip_sign_and_currency(raw).ok()?;
    let (integer, fraction) = match split_decimal(number) {
        Ok(parts) => parts,
        // Three or more decimals are fine here: this is not money.
        Err(_) => number.rsplit_once([',', '.'])?,
    };
    let integer = join_groups(integer).ok()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(&integer) || !(fraction.is_empty() || digits(fraction)) {
        return None;
    }
    let sign = if negative { "-" } else { "" };
    if fraction.is_empty()
        && let Ok(whole) = format!("{sign}{integer}").parse::<i64>()
    {
        return Some(whole.into());
    }
    let value: f64 = format!(
        "{sign}{integer}.{}",
        if fraction.is_empty() { "0" } else { fraction }
    )
    .parse()
    .ok()?;
    serde_json::Number::from_f64(value)
}

/// Folded for comparing words: lower case, no diacritics, single spaces.
fn fold(raw: &str) -> String {
    domain::fold(raw)
}

/// Yes/no as people type it, in English and Swedish; "x" is a ticked box in a spreadsheet.
pub fn parse_yes_no(raw: &str) -> Option<bool> {
    match fold(raw).as_str() {
        "yes" | "y" | "true" | "1" | "ja" | "j" | "x" => Some(true),
        "no" | "n" | "false" | "0" | "nej" => Some(false),
        _ => None,
    }
}

/// The VIP column: yes/no, or the tier's name.
pub fn parse_tier(raw: &str) -> Option<Tier> {
    match fold(raw).as_str() {
        "vip" => Some(Tier::Vip),
        "regular" | "standard" | "normal" => Some(Tier::Regular),
        _ => parse_yes_no(raw).map(|vip| if vip { Tier::Vip } else { Tier::Regular }),
    }
}

pub fn parse_kind(raw: &str) -> Option<CustomerKind> {
    match fold(raw).as_str() {
        "person" | "private" | "individual" | "consumer" | "privat" | "privatperson" => {
            Some(CustomerKind::Person)
        }
        "company" | "business" | "organisation" | "organization" | "foretag" => {
            Some(CustomerKind::Company)
        }
        _ => None,
    }
}

pub fn parse_payment_type(raw: &str) -> Option<PaymentType> {
    match fold(raw).as_str() {
        "account" | "on account" | "credit" | "invoice" | "faktura" | "konto" | "kredit" => {
            Some(PaymentType::Account)
        }
        "cash" | "card" | "prepaid" | "kontant" | "kort" | "forskott" => Some(PaymentType::Cash),
        _ => None,
    }
}

/// Phrases meaning "pay at once", folded.
const DUE_ON_RECEIPT: &[&str] = &[
    "dueonreceipt",
    "due on receipt",
    "due upon receipt",
    "upon receipt",
    "on receipt",
    "immediately",
    "immediate",
    "cash",
    "cod",
    "omgaende",
    "kontant",
];

/// Words that may stand around the number of days ("30 days", "30 dagar netto").
const DAY_WORDS: &[&str] = &[
    "net", "netto", "n", "day", "days", "d", "dagar", "dag", "dgr", "dar",
];

/// Payment terms as accounting systems spell them: "Due on receipt", "Net 30", "net30",
/// "30 days", "30 dagar", "30" (Sage's "Payment Due Days"), "1% 10 Net 30" (the discount is
/// not kept: only the net period is a term of ours). Zero days is due on receipt. Anything
/// else ("End of month", "30 days EOM") is not guessed at.
///
/// The number is not range-checked here: "Net 400" becomes `Net(400)` and the domain refuses
/// it with its own message.
pub fn parse_payment_terms(raw: &str) -> Option<PaymentTerms> {
    let text = fold(raw);
    if DUE_ON_RECEIPT.contains(&text.as_str()) {
        return Some(PaymentTerms::DueOnReceipt);
    }
    let tokens = tokens(&text);
    let days = net_days(&tokens).or_else(|| only_number(&tokens))?;
    let days: u16 = days.parse().ok()?;
    Some(if days == 0 {
        PaymentTerms::DueOnReceipt
    } else {
        PaymentTerms::Net(days)
    })
}

/// "net30" -> ["net", "30"]; "1% 10 net 30" -> ["1", "%", "10", "net", "30"]: runs of digits,
/// runs of letters and single other characters, each a slice of `text`.
fn tokens(text: &str) -> Vec<&str> {
    let mut tokens: Vec<&str> = Vec::new();
    // The current run of digits (0) or letters (1), and where it starts.
    let mut run: Option<(u8, usize)> = None;
    for (at, c) in text.char_indices() {
        let kind = if c.is_ascii_digit() {
            Some(0)
        } else if c.is_alphabetic() {
            Some(1)
        } else if c.is_whitespace() || matches!(c, '-' | '.' | ':') {
            // "Net-30", "30 d.", "Netto: 30": separators, not part of the terms.
            None
        } else {
            Some(2)
        };
        if let Some((last, start)) = run
            && kind != Some(last)
        {
            tokens.push(&text[start..at]);
            run = None;
        }
        match kind {
            Some(2) => tokens.push(&text[at..at + c.len_utf8()]),
            Some(k) if run.is_none() => run = Some((k, at)),
            _ => {}
        }
    }
    if let Some((_, start)) = run {
        tokens.push(&text[start..]);
    }
    tokens
}

fn is_number(token: &str) -> bool {
    token.bytes().all(|b| b.is_ascii_digit())
}

/// The number right after "net" or "netto": the net period of discount terms.
fn net_days<'a>(tokens: &[&'a str]) -> Option<&'a str> {
    tokens
        .windows(2)
        .find(|pair| matches!(pair[0], "net" | "netto" | "n") && is_number(pair[1]))
        .map(|pair| pair[1])
}

/// The single number in a phrase that otherwise only has day words.
fn only_number<'a>(tokens: &[&'a str]) -> Option<&'a str> {
    let mut numbers = tokens.iter().filter(|t| is_number(t));
    let number = *numbers.next()?;
    let rest_are_day_words = tokens.iter().all(|t| is_number(t) || DAY_WORDS.contains(t));
    (numbers.next().is_none() && rest_are_day_words).then_some(number)
}

/// Splits a full name into first and last name: "Berg, Anna" (last name first, as
/// accounting systems sort) or "Anna Maria Berg" split at the last space. A single word is
/// taken as the first name: it is how a contact is usually written when only one name is.
pub fn split_full_name(raw: &str) -> (Option<String>, Option<String>) {
    let non_empty = |s: &str| {
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        (!s.is_empty()).then_some(s)
    };
    if let Some((last, first)) = raw.split_once(',') {
        return (non_empty(first), non_empty(last));
    }
    let name = raw.trim();
    match name.rsplit_once(char::is_whitespace) {
        Some((first, last)) => (non_empty(first), non_empty(last)),
        None => (non_empty(name), None),
    }
}

/// A country as ISO 3166-1 alpha-2, written as a code or by a name in English, Swedish,
/// Norwegian, Danish, Finnish or German (see [`domain::country_from_name`]); `None` for what
/// names no country.
pub fn country_code(raw: &str) -> Option<&'static str> {
    domain::country_from_name(raw)
}

/// Tags as typed in one cell: "garden, priority" or "garden;priority". Empty entries (a
/// trailing comma) are dropped rather than refused.
pub fn split_tags(raw: &str) -> impl Iterator<Item = &str> {
    raw.split([',', ';'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut for amounts between digits takes off what the affix loop would: nothing,
    /// whatever stands between the digits.
    #[test]
    fn amounts_between_digits_have_no_affixes() {
        let middles = [
            "", " ", "\u{a0}", ",", ".", "-", "(", ")", "$", "kr", "SEK ", " SEK", "€", ":-", "'",
            "1 000,", "US$", "−", "+",
        ];
        for first in ["0", "1", "9"] {
            for last in ["0", "5", "9"] {
                for middle in middles {
                    let raw = format!("{first}{middle}{last}");
                    assert_eq!(
                        strip_sign_and_currency(&raw),
                        strip_affixes(&raw),
                        "{raw:?}"
                    );
                    assert_eq!(strip_sign_and_currency(&raw), Ok((raw.as_str(), false)));
                }
            }
        }
    }

    #[test]
    fn amounts_with_decimal_comma_or_point() {
        for (raw, minor) in [
            ("0", 0),
            ("12", 1200),
            ("12,5", 1250),
            ("12.50", 1250),
            ("1 234,56", 123456),
            ("1\u{a0}234,56", 123456),
            ("1\u{202f}234\u{202f}567,00", 123456700),
            ("1.234,56", 123456),
            ("1,234.56", 123456),
            ("1.234.567", 123456700),
            ("1,234", 123400),
            ("1.234", 123400),
            ("1'234.50", 123450),
            ("0,50", 50),
            ("0.123", -1),
        ] {
            if minor < 0 {
                assert!(parse_amount(raw).is_err(), "{raw}");
            } else {
                assert_eq!(parse_amount(raw), Ok(minor), "{raw}");
            }
        }
    }

    #[test]
    fn amounts_with_currency_symbols_and_codes() {
        for raw in [
            "$1,234.50",
            "1 234,50 kr",
            "kr 1234,50",
            "SEK 1 234,50",
            "1234.50 USD",
            "€1.234,50",
            "1234,50:-",
            "US$1,234.50",
            "1 234,50 SEK",
        ] {
            assert_eq!(parse_amount(raw), Ok(123450), "{raw}");
        }
        assert_eq!(parse_amount("100:-"), Ok(10000));
    }

    #[test]
    fn negative_amounts() {
        for raw in [
            "-12.50",
            "(12.50)",
            "($12.50)",
            "-$12.50",
            "$-12.50",
            "12,50-",
            "−12,50",
            "(12,50 kr)",
        ] {
            assert_eq!(parse_amount(raw), Ok(-1250), "{raw}");
        }
        assert_eq!(parse_amount("-(12)"), Err(AmountError::NotAnAmount));
    }

    #[test]
    fn what_is_not_an_amount() {
        assert_eq!(parse_amount("12,345"), Ok(1234500));
        assert_eq!(parse_amount("1 234,567"), Err(AmountError::TooManyDecimals));
        assert_eq!(
            parse_amount("12.345,678"),
            Err(AmountError::TooManyDecimals)
        );
        for raw in [
            "abc",
            "12 34",
            "1,2,3.4.5",
            "12.",
            "",
            "-",
            "1.2.3,4",
            "12a",
        ] {
            assert!(parse_amount(raw).is_err(), "{raw}");
        }
        assert_eq!(
            parse_amount("99999999999999999999"),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn payment_terms_as_spelled() {
        let net = |n| Some(PaymentTerms::Net(n));
        for (raw, terms) in [
            ("Due on receipt", Some(PaymentTerms::DueOnReceipt)),
            ("Due upon receipt", Some(PaymentTerms::DueOnReceipt)),
            ("Omgående", Some(PaymentTerms::DueOnReceipt)),
            ("0", Some(PaymentTerms::DueOnReceipt)),
            ("Net 30", net(30)),
            ("net30", net(30)),
            ("NET-15", net(15)),
            ("30", net(30)),
            ("30 days", net(30)),
            ("30 dagar", net(30)),
            ("30 dagar netto", net(30)),
            ("Netto 10", net(10)),
            ("1% 10 Net 30", net(30)),
            ("2/10 net 30", net(30)),
            ("Net 400", net(400)),
            ("End of month", None),
            ("30 days EOM", None),
            ("10 or 20", None),
            ("99999", None),
        ] {
            assert_eq!(parse_payment_terms(raw), terms, "{raw}");
        }
    }

    #[test]
    fn yes_no_in_english_and_swedish() {
        for raw in ["yes", "Y", "TRUE", "1", "ja", "Ja", "x"] {
            assert_eq!(parse_yes_no(raw), Some(true), "{raw}");
        }
        for raw in ["no", "N", "false", "0", "nej", "NEJ"] {
            assert_eq!(parse_yes_no(raw), Some(false), "{raw}");
        }
        assert_eq!(parse_yes_no("maybe"), None);
        assert_eq!(parse_tier("VIP"), Some(Tier::Vip));
        assert_eq!(parse_tier("ja"), Some(Tier::Vip));
        assert_eq!(parse_tier("no"), Some(Tier::Regular));
    }

    #[test]
    fn full_names() {
        let split = |raw| split_full_name(raw);
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(split("Anna Berg"), (some("Anna"), some("Berg")));
        assert_eq!(
            split("Anna Maria  Berg"),
            (some("Anna Maria"), some("Berg"))
        );
        assert_eq!(split("Berg, Anna"), (some("Anna"), some("Berg")));
        assert_eq!(split("Anna"), (some("Anna"), None));
        assert_eq!(split("  "), (None, None));
    }

    #[test]
    fn country_names() {
        assert_eq!(country_code("Sverige"), Some("SE"));
        assert_eq!(country_code("United States"), Some("US"));
        assert_eq!(country_code("UK"), Some("GB"));
        assert_eq!(country_code("se"), Some("SE"));
        assert_eq!(country_code("Narnia"), None);
    }

    #[test]
    fn plain_numbers() {
        let number = |raw| parse_number(raw).map(|n| n.to_string());
        assert_eq!(number("42").as_deref(), Some("42"));
        assert_eq!(number("-3").as_deref(), Some("-3"));
        assert_eq!(number("1 234,5").as_deref(), Some("1234.5"));
        assert_eq!(number("0,125").as_deref(), Some("0.125"));
        assert_eq!(number("1,234.5").as_deref(), Some("1234.5"));
        assert_eq!(number("many"), None);
    }

    #[test]
    fn tags() {
        assert_eq!(
            split_tags("garden, priority;;north ,").collect::<Vec<_>>(),
            vec!["garden", "priority", "north"]
        );
    }
}
