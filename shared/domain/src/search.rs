//! Text folding for search, and the search keys of a customer card.
//!
//! People type "asa" looking for "Åsa" and "aero" looking for "ÆRØ"; search compares folded
//! text so both find the card.

use std::collections::BTreeSet;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::model::{CustomerFields, CustomerKind};

/// Folds text for case- and diacritic-insensitive prefix search.
///
/// NFKD splits "Å" into "A" and a ring, and the ring is dropped; letters that are not composed
/// (ø, æ, ß, ...) are spelled out the way a Scandinavian or German keyboard user would type them
/// without the letter.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return fold_ascii(text);
    }
    fold_unicode(text)
}

fn fold_unicode(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text
        .nfkd()
        .filter(|&c| !is_combining_mark(c))
        .flat_map(char::to_lowercase)
    {
        match spell_out(c) {
            Some(spelling) => folded.push_str(spelling),
            None => folded.push(c),
        }
    }
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// [`fold`] of ASCII text, which NFKD leaves as it is and which has no combining marks and
/// no letters to spell out: its words, lower-cased, single-spaced. Imports fold several
/// cells of every row (payment terms, yes/no, country names), nearly always ASCII.
fn fold_ascii(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !folded.is_empty() {
            folded.push(' ');
        }
        folded.push_str(word);
    }
    folded.make_ascii_lowercase();
    folded
}

/// Lower-case letters without a decomposition, as their plain Latin spelling. Capitals arrive
/// here already lower-cased.
fn spell_out(c: char) -> Option<&'static str> {
    Some(match c {
        'ø' => "o",
        'æ' => "ae",
        'œ' => "oe",
        'ß' => "ss",
        'đ' | 'ð' => "d",
        'þ' => "th",
        'ł' => "l",
        'ı' => "i",
        _ => return None,
    })
}

impl CustomerFields {
    /// The name shown in lists: the company for companies, "First Last" for persons.
    pub fn display_name(&self) -> String {
        let person = || person_name(&self.first_name, &self.last_name);
        match (self.kind, &self.company_name) {
            (CustomerKind::Company, Some(company)) => company.clone(),
            _ => person(),
        }
    }

    /// The key lists are sorted by, so that "Åsa" sorts with "Asa".
    pub fn sort_name(&self) -> String {
        fold(&self.display_name())
    }

    /// Every e-mail address on the card, lower-cased, for "find the customer by e-mail".
    pub fn lookup_emails(&self) -> BTreeSet<String> {
        let contact_emails = self.contacts.iter().map(|c| &c.email);
        [&self.email, &self.invoice_email]
            .into_iter()
            .chain(contact_emails)
            .flatten()
            .map(|email| email.to_lowercase())
            .collect()
    }

    /// Every name the customer can be found by, folded: the display name, the company name,
    /// "last first" of the person, and each contact's "first last" and "last first". So
    /// "berg", "acme" and "cia" all find Anna Berg of Acme AB, whose contact is Cia.
    pub fn search_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        names.insert(self.sort_name());
        names.extend(self.company_name.as_deref().map(fold));
        names.extend(reversed_name(&self.first_name, &self.last_name));
        for contact in &self.contacts {
            names.insert(fold(&person_name(&contact.first_name, &contact.last_name)));
            names.extend(reversed_name(&contact.first_name, &contact.last_name));
        }
        names.remove("");
        names
    }

    /// Every phone and mobile number on the card, in E.164.
    pub fn lookup_phones(&self) -> BTreeSet<String> {
        let contact_phones = self.contacts.iter().flat_map(|c| [&c.phone, &c.mobile]);
        [&self.phone, &self.mobile]
            .into_iter()
            .chain(contact_phones)
            .flatten()
            .cloned()
            .collect()
    }
}

/// "last first", folded, when both are given (a lone name is already its own entry).
fn reversed_name(first_name: &Option<String>, last_name: &Option<String>) -> Option<String> {
    match (first_name, last_name) {
        (Some(first), Some(last)) => Some(fold(&format!("{last} {first}"))),
        _ => None,
    }
}

fn person_name(first_name: &Option<String>, last_name: &Option<String>) -> String {
    let parts: Vec<&str> = [first_name, last_name]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Contact, ContactId, CustomerInput};
    use crate::validation::{ValidationContext, validate_customer};

    #[test]
    fn fold_examples() {
        assert_eq!(fold("Åsa Öberg"), "asa oberg");
        assert_eq!(fold("  ÆRØ  Ltd "), "aero ltd");
    }

    #[test]
    fn fold_spells_out_undecomposable_letters_in_both_cases() {
        assert_eq!(
            fold("øØ æÆ œŒ ß ẞ đĐ ðÐ þÞ łŁ ı"),
            "oo aeae oeoe ss ss dd dd thth ll i"
        );
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Łódź"), "lodz");
        assert_eq!(fold("Þórður"), "thordur");
    }

    #[test]
    fn ascii_folds_as_any_text_does() {
        for byte in 0..=127u8 {
            let c = char::from(byte);
            for text in [
                format!("{c}"),
                format!("Ab{c}Cd"),
                format!(" {c}{c} X{c} \t{c}y "),
            ] {
                assert_eq!(fold_ascii(&text), fold_unicode(&text), "{text:?}");
            }
        }
    }

    #[test]
    fn fold_removes_diacritics_and_compatibility_forms() {
        assert_eq!(fold("Crème Brûlée"), "creme brulee");
        assert_eq!(fold("Ｆｕｌｌ ﬁx"), "full fix");
        assert_eq!(fold("İstanbul"), "istanbul");
    }

    #[test]
    fn fold_collapses_every_kind_of_whitespace() {
        assert_eq!(fold("a\t\n b\u{00A0}c"), "a b c");
        assert_eq!(fold("   "), "");
    }

    fn card(input: CustomerInput) -> CustomerFields {
        let ctx = ValidationContext {
            default_country: Some("SE".into()),
            ..Default::default()
        };
        validate_customer(input, &ctx).unwrap()
    }

    fn contact(email: Option<&str>, phone: Option<&str>, mobile: Option<&str>) -> Contact {
        Contact {
            id: ContactId::new(),
            first_name: Some("Kim".into()),
            last_name: None,
            role: None,
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            phone_extension: None,
            mobile: mobile.map(Into::into),
            primary: false,
            send_service_protocols: false,
            send_work_orders: false,
            sms_opt_out: false,
        }
    }

    #[test]
    fn display_and_sort_name_of_a_company() {
        let fields = card(CustomerInput {
            customer_number: Some("1".into()),
            company_name: Some("Ærø Bygg AB".into()),
            ..Default::default()
        });
        assert_eq!(fields.display_name(), "Ærø Bygg AB");
        assert_eq!(fields.sort_name(), "aero bygg ab");
    }

    #[test]
    fn display_name_of_a_person() {
        let mut fields = card(CustomerInput {
            customer_number: Some("1".into()),
            first_name: Some("Åsa".into()),
            last_name: Some("Öberg".into()),
            company_name: Some("Öberg Consulting".into()),
            ..Default::default()
        });
        assert_eq!(fields.display_name(), "Åsa Öberg");
        assert_eq!(fields.sort_name(), "asa oberg");
        fields.first_name = None;
        assert_eq!(fields.display_name(), "Öberg");
    }

    #[test]
    fn lookup_keys_cover_the_card_and_its_contacts() {
        let mut fields = card(CustomerInput {
            customer_number: Some("1".into()),
            company_name: Some("Acme".into()),
            email: Some("Info@Acme.se".into()),
            invoice_email: Some("invoices@acme.se".into()),
            phone: Some("08-123 456 78".into()),
            mobile: Some("070-123 45 67".into()),
            ..Default::default()
        });
        fields
            .contacts
            .push(contact(Some("Kim@acme.se"), Some("+46812345678"), None));
        fields
            .contacts
            .push(contact(None, None, Some("+46701112233")));
        let emails: Vec<_> = fields.lookup_emails().into_iter().collect();
        assert_eq!(emails, ["info@acme.se", "invoices@acme.se", "kim@acme.se"]);
        let phones: Vec<_> = fields.lookup_phones().into_iter().collect();
        assert_eq!(phones, ["+46701112233", "+46701234567", "+46812345678"]);
    }

    #[test]
    fn customers_are_found_by_every_name_they_carry() {
        let mut fields = crate::validate_customer(
            crate::CustomerInput {
                customer_number: Some("1".into()),
                first_name: Some("Åsa".into()),
                last_name: Some("Öberg".into()),
                company_name: Some("Ängel Bygg AB".into()),
                contacts: Some(vec![crate::ContactInput {
                    first_name: Some("Cia".into()),
                    last_name: Some("Lund".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            &crate::ValidationContext::default(),
        )
        .unwrap();
        let names: Vec<String> = fields.search_names().into_iter().collect();
        assert_eq!(
            names,
            [
                "angel bygg ab",
                "asa oberg",
                "cia lund",
                "lund cia",
                "oberg asa"
            ]
        );
        fields.contacts.clear();
        assert_eq!(fields.search_names().len(), 3);
    }

    /// The worst case must fit one DynamoDB transaction (100 items) with the customer, its
    /// number guard, one guard per external reference (one per accounting system), its
    /// history entry and an idempotency record, or, in an import, the import record and an
    /// error-report chunk instead of the idempotency record.
    #[test]
    fn a_full_card_fits_one_transaction() {
        let contact = |i: usize| crate::ContactInput {
            first_name: Some(format!("First{i}")),
            last_name: Some(format!("Last{i}")),
            email: Some(format!("c{i}@example.com")),
            phone: Some(format!("+468{:07}", 1_000_000 + i)),
            mobile: Some(format!("+4670{:07}", 1_000_000 + i)),
            ..Default::default()
        };
        let fields = crate::validate_customer(
            crate::CustomerInput {
                customer_number: Some("1".into()),
                first_name: Some("Anna".into()),
                last_name: Some("Berg".into()),
                company_name: Some("Acme".into()),
                email: Some("a@example.com".into()),
                invoice_email: Some("i@example.com".into()),
                phone: Some("+4681234567".into()),
                mobile: Some("+46701234567".into()),
                contacts: Some((0..crate::validation::CONTACTS_MAX).map(contact).collect()),
                external_refs: Some(
                    [
                        crate::AccountingSystem::Quickbooks,
                        crate::AccountingSystem::Sage,
                        crate::AccountingSystem::Visma,
                        crate::AccountingSystem::Other,
                    ]
                    .into_iter()
                    .map(|system| crate::ExternalRef {
                        system,
                        id: "A1".into(),
                    })
                    .collect(),
                ),
                ..Default::default()
            },
            &crate::ValidationContext::default(),
        )
        .unwrap();
        let entries = fields.lookup_emails().len()
            + fields.lookup_phones().len()
            + fields.search_names().len();
        let guards = 1 + fields.external_refs.len();
        assert_eq!(fields.external_refs.len(), 4);
        assert!(entries + guards + 4 <= 100, "{entries} index entries");
    }
}
