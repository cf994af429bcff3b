//! Validation and normalisation of what callers send.
//!
//! Every check reports into one list instead of returning early: a form shows all its problems
//! at once, and a client fixing them one round-trip at a time is what this avoids.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::*;
use crate::orgnumber::{ORGANISATION_NUMBER_MAX, OrgNumber, OrgNumberError, parse_org_number};
use crate::phone::{PhoneError, normalise_mobile, normalise_phone_with_extension};
use crate::reference::{is_country, is_currency, is_language};
use crate::settings::{Channel, CustomFieldDef, check_custom_value};
use crate::sites::{SITE_NAME_MAX, SiteFields, SiteInput, SiteStatus};

pub const NAME_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 4000;
pub const ADDRESS_LINE_MAX: usize = 200;
pub const POSTAL_CODE_MAX: usize = 20;
pub const ROLE_MAX: usize = 100;
pub const REFERENCE_MAX: usize = 100;
pub const DISCOUNT_CODE_MAX: usize = 20;
pub const DISCOUNT_CODES_MAX: usize = 20;
pub const TAG_MAX: usize = 50;
pub const TAGS_MAX: usize = 50;
pub const ARTICLES_MAX: usize = 50;
pub const ARTICLE_NUMBER_MAX: usize = 50;
pub const ARTICLE_DESCRIPTION_MAX: usize = 200;
pub const ARTICLE_UNIT_MAX: usize = 20;
pub const EXTERNAL_REFS_MAX: usize = 10;
pub const EXTERNAL_ID_MAX: usize = 100;
/// Contacts live inside the customer item, and their e-mails, phones and names get index
/// entries written in the customer's transaction (DynamoDB takes at most 100 items): with 15
/// contacts the worst case is 2 + 45 lookup and 3 + 30 name entries, plus the customer, its
/// number guard, four external-reference guards (one per accounting system), its
/// organisation-number guard, the history entry and an idempotency record (or, in an import,
/// the import record and an error chunk).
pub const CONTACTS_MAX: usize = 15;
/// Three decimals covers minutes as hours (0.017) and grams as kilograms; more is noise.
pub const QUANTITY_DECIMALS_MAX: usize = 3;
/// Keeps quantities far inside what an invoicing system's decimal type holds.
const QUANTITY_INTEGER_DIGITS_MAX: usize = 9;

/// One problem with one field of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// A JSON pointer into the input, e.g. "/contacts/0/phone".
    pub field: String,
    /// A stable snake_case code for programs, e.g. "invalid_email".
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn required(field: impl Into<String>) -> Self {
        Self::new(field, "required", "This field is required.")
    }

    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(
            field,
            "too_long",
            format!("Must be at most {max} characters."),
        )
    }

    pub fn too_many(field: impl Into<String>, max: usize) -> Self {
        Self::new(
            field,
            "too_many",
            format!("At most {max} entries are allowed."),
        )
    }

    /// `what`: the amount's name as a sentence starts it, e.g. "The credit limit".
    pub fn negative_amount(field: impl Into<String>, what: &str) -> Self {
        Self::new(
            field,
            "negative_amount",
            format!("{what} cannot be negative."),
        )
    }

    /// An article's quantity (on a customer card or a work order) that is not one.
    pub fn invalid_quantity(field: impl Into<String>, raw: &str) -> Self {
        Self::new(
            field,
            "invalid_quantity",
            format!(
                "{raw:?} is not a quantity; use a number of at least 0 with at most \
                 {QUANTITY_DECIMALS_MAX} decimals, e.g. \"1\" or \"2.5\"."
            ),
        )
    }

    /// Moves the pointer under `prefix`, e.g. "/email" under "/contacts/2".
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.field = format!("{prefix}{}", self.field);
        self
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.code)
    }
}

/// All problems found in one input, in the order of the input's fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn single(error: FieldError) -> Self {
        Self(vec![error])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }

    /// True if some error has this pointer and code; handy in tests and handlers.
    pub fn contains(&self, field: &str, code: &str) -> bool {
        self.0.iter().any(|e| e.field == field && e.code == code)
    }

    pub fn prefixed(self, prefix: &str) -> Self {
        Self(self.0.into_iter().map(|e| e.prefixed(prefix)).collect())
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(error: FieldError) -> Self {
        Self::single(error)
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid input")?;
        for (i, error) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// What a customer number may look like; each tenant numbers its customers its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRules {
    pub min_len: usize,
    pub max_len: usize,
    /// Allowed besides the ASCII digits, which are always allowed.
    pub allowed_punctuation: String,
    /// Whether ASCII letters are allowed (some accounting systems take digits only).
    pub letters: bool,
}

impl NumberRules {
    /// Accepts any number the store could hold (what a stored customer already has).
    pub fn any_stored() -> Self {
        Self {
            min_len: 1,
            max_len: 30,
            allowed_punctuation: "!\"$%&'()*+,-./:;<=>?@[\\]^_`{|}~".to_owned(),
            letters: true,
        }
    }
}

impl Default for NumberRules {
    fn default() -> Self {
        Self {
            min_len: 1,
            max_len: 30,
            allowed_punctuation: "-_./".to_owned(),
            letters: true,
        }
    }
}

/// Checks a customer number against the tenant's rules; returns it trimmed.
pub fn validate_customer_number(raw: &str, rules: &NumberRules) -> Result<String, FieldError> {
    const FIELD: &str = "/customerNumber";
    let number = raw.trim();
    if number.is_empty() {
        return Err(FieldError::required(FIELD));
    }
    let len = number.chars().count();
    if len > rules.max_len {
        return Err(FieldError::too_long(FIELD, rules.max_len));
    }
    if len < rules.min_len {
        return Err(FieldError::new(
            FIELD,
            "invalid_customer_number",
            format!(
                "A customer number has at least {} characters.",
                rules.min_len
            ),
        ));
    }
    let allowed = |c: char| {
        c.is_ascii_digit()
            || (rules.letters && c.is_ascii_alphabetic())
            || rules.allowed_punctuation.contains(c)
    };
    if let Some(bad) = number.chars().find(|&c| !allowed(c)) {
        return Err(FieldError::new(
            FIELD,
            "invalid_customer_number",
            format!(
                "{bad:?} is not allowed in a customer number; use {}digits and {:?}.",
                if rules.letters { "letters A-Z, " } else { "" },
                rules.allowed_punctuation
            ),
        ));
    }
    Ok(number.to_owned())
}

/// Tenant settings the rules depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationContext {
    /// ISO 3166 alpha-2, used for phone numbers typed without a country code.
    pub default_country: Option<String>,
    /// ISO 4217, used when the terms name no currency.
    pub default_currency: String,
    pub number_rules: NumberRules,
    /// ISO 639-1, given to customers that name no language.
    pub default_language: Option<String>,
    pub default_payment_terms: PaymentTerms,
    /// Channels a customer must have (see `validate_change` for existing customers).
    pub required_channels: Vec<Channel>,
    pub custom_fields: Vec<CustomFieldDef>,
}

impl Default for ValidationContext {
    fn default() -> Self {
        Self {
            default_country: None,
            default_currency: "EUR".to_owned(),
            number_rules: NumberRules::default(),
            default_language: None,
            default_payment_terms: PaymentTerms::DueOnReceipt,
            required_channels: Vec::new(),
            custom_fields: Vec::new(),
        }
    }
}

/// Validates and normalises a whole customer card, reporting every problem at once.
pub fn validate_customer(
    input: CustomerInput,
    ctx: &ValidationContext,
) -> Result<CustomerFields, ValidationErrors> {
    let mut v = Validator::new(ctx);
    let customer_number = v.customer_number(input.customer_number);
    // Kind and the name requirement are judged before the length checks, so that an
    // over-long name is reported as too long and not also as missing.
    let first_name = clean_name(input.first_name);
    let last_name = clean_name(input.last_name);
    let company_name = clean_name(input.company_name);
    let kind = derive_kind(input.kind, &first_name, &last_name, &company_name);
    v.require_name_for_kind(kind, &first_name, &last_name, &company_name);
    // Set with the phone, in field order, so that errors come in the order of the fields.
    let mut phone_extension = None;
    let fields = CustomerFields {
        customer_number: customer_number.unwrap_or_default(),
        kind,
        first_name: v.limit("/firstName", first_name, NAME_MAX),
        last_name: v.limit("/lastName", last_name, NAME_MAX),
        company_name: v.limit("/companyName", company_name, NAME_MAX),
        show_company_name_on_documents: input.show_company_name_on_documents.unwrap_or(false),
        // Judged once the addresses are, since their country is the number's fallback.
        organisation_number: None,
        organisation_number_country: None,
        description: v.text("/description", input.description, DESCRIPTION_MAX),
        email: v.email("/email", input.email),
        phone: v.phone_keeping_extension("/phone", input.phone, &mut phone_extension),
        phone_extension,
        mobile: v.mobile("/mobile", input.mobile),
        sms_opt_out: input.sms_opt_out.unwrap_or(false),
        invoice_email: v.email("/invoiceEmail", input.invoice_email),
        invoice_address: v.address("/invoiceAddress", input.invoice_address),
        visiting_address: v.address("/visitingAddress", input.visiting_address),
        contacts: v.contacts(input.contacts),
        language: v.language(input.language),
        discount_codes: v.discount_codes(input.discount_codes),
        cost_centre: v.text("/costCentre", input.cost_centre, REFERENCE_MAX),
        order_number: v.text("/orderNumber", input.order_number, REFERENCE_MAX),
        tags: v.tags(input.tags),
        default_articles: v.articles(input.default_articles),
        terms: v.terms(input.terms),
        tier: input.tier.unwrap_or_default(),
        on_hold: input.on_hold.unwrap_or(false),
        external_refs: v.external_refs(input.external_refs),
        custom_fields: v.custom_fields(input.custom_fields),
    };
    let mut fields = fields;
    if let Some(org) = v.organisation_number(
        input.organisation_number,
        input.organisation_number_country,
        &fields,
    ) {
        fields.organisation_number = Some(org.number);
        fields.organisation_number_country = Some(org.country);
    }
    v.required_channels(&fields);
    v.finish(fields)
}

/// Validates a change of an existing customer. Rules that settings may add after customers
/// exist ("every customer needs an e-mail", a new required custom field) hold only for what
/// the customer already had: an old customer without an e-mail stays editable, but no
/// customer can lose a required value it has. Every other rule applies in full.
pub fn validate_change(
    before: &CustomerFields,
    input: CustomerInput,
    ctx: &ValidationContext,
) -> Result<CustomerFields, ValidationErrors> {
    // A number is judged by the rules when it is set, not again on every later change: rules
    // made stricter afterwards must not lock customers that already have a number.
    let number_unchanged =
        input.customer_number.as_deref().map(str::trim) == Some(before.customer_number.as_str());
    // The stored country rides along with every patch; a new number that does not name its
    // own country is judged afresh (by its VAT prefix or the addresses), not by the old one's.
    let mut input = input;
    if input.organisation_number != before.organisation_number
        && input.organisation_number_country == before.organisation_number_country
    {
        input.organisation_number_country = None;
    }
    let relaxed = ValidationContext {
        number_rules: if number_unchanged {
            NumberRules::any_stored()
        } else {
            ctx.number_rules.clone()
        },
        // Defaults are for new customers; a change leaves an absent language absent.
        default_language: None,
        required_channels: ctx
            .required_channels
            .iter()
            .copied()
            .filter(|channel| has_channel(before, *channel))
            .collect(),
        custom_fields: ctx
            .custom_fields
            .iter()
            .map(|def| CustomFieldDef {
                required: def.required && before.custom_fields.contains_key(&def.key),
                ..def.clone()
            })
            .collect(),
        ..ctx.clone()
    };
    validate_customer(input, &relaxed)
}

fn has_channel(fields: &CustomerFields, channel: Channel) -> bool {
    match channel {
        Channel::Email => fields.email.is_some(),
        Channel::Phone => fields.phone.is_some(),
        Channel::Mobile => fields.mobile.is_some(),
    }
}

/// Validates a site: a name, an address like a customer's, and a contact like a customer's
/// contacts (pointers under `/contact`). `contact` is the contact to keep when the input names
/// none (pre-filled from the customer on create, the stored one on change).
pub fn validate_site(
    input: SiteInput,
    contact: Option<Contact>,
    ctx: &ValidationContext,
) -> Result<SiteFields, ValidationErrors> {
    let mut v = Validator::new(ctx);
    let name = v.text("/name", input.name, SITE_NAME_MAX);
    if name.is_none() {
        v.push(FieldError::required("/name"));
    }
    let address = v.address("/address", input.address);
    let contact = match input.contact {
        Some(given) => {
            let id = contact.map_or_else(ContactId::new, |c| c.id);
            match validate_contact(given, id, ctx) {
                Ok(contact) => Some(Contact {
                    primary: true,
                    ..contact
                }),
                Err(errors) => {
                    for error in errors.prefixed("/contact").0 {
                        v.push(error);
                    }
                    None
                }
            }
        }
        None => contact,
    };
    if input.status == Some(SiteStatus::Unlinked) {
        v.push(FieldError::new(
            "/status",
            "invalid_status",
            "A site is unlinked with DELETE, not by changing its status.",
        ));
    }
    let fields = SiteFields {
        name: name.unwrap_or_default(),
        address,
        contact,
        customer_owned: input.customer_owned.unwrap_or(false),
        status: input.status.unwrap_or_default(),
    };
    v.finish(fields)
}

/// Validates one contact; pointers are relative to the contact ("/email").
pub fn validate_contact(
    input: ContactInput,
    id: ContactId,
    ctx: &ValidationContext,
) -> Result<Contact, ValidationErrors> {
    let mut v = Validator::new(ctx);
    // Judged on what was sent, so that an invalid e-mail is not also reported as "no e-mail".
    let reachable = [
        &input.first_name,
        &input.last_name,
        &input.email,
        &input.phone,
        &input.mobile,
    ]
    .into_iter()
    .any(|value| clean(value.clone()).is_some());
    if !reachable {
        v.push(FieldError::new(
            "",
            "required",
            "A contact needs a name, an e-mail address, a phone or a mobile number.",
        ));
    }
    // Set with the phone, in field order, as on the card.
    let mut phone_extension = None;
    let contact = Contact {
        id,
        first_name: v.name("/firstName", input.first_name),
        last_name: v.name("/lastName", input.last_name),
        role: v.text("/role", input.role, ROLE_MAX),
        email: v.email("/email", input.email),
        phone: v.phone_keeping_extension("/phone", input.phone, &mut phone_extension),
        phone_extension,
        mobile: v.mobile("/mobile", input.mobile),
        primary: input.primary.unwrap_or(false),
        send_service_protocols: input.send_service_protocols.unwrap_or(false),
        send_work_orders: input.send_work_orders.unwrap_or(false),
        sms_opt_out: input.sms_opt_out.unwrap_or(false),
    };
    v.finish(contact)
}

/// An explicit kind wins; otherwise a card with only a company name is a company.
fn derive_kind(
    kind: Option<CustomerKind>,
    first_name: &Option<String>,
    last_name: &Option<String>,
    company_name: &Option<String>,
) -> CustomerKind {
    let only_company = company_name.is_some() && first_name.is_none() && last_name.is_none();
    kind.unwrap_or(if only_company {
        CustomerKind::Company
    } else {
        CustomerKind::Person
    })
}

/// Trimmed, and `None` when nothing is left: a blank form field means "not given".
fn clean(value: Option<String>) -> Option<String> {
    let value = value?;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return None;
    }
    // Imported cells come trimmed: keep the string rather than copy it.
    if trimmed.len() == value.len() {
        return Some(value);
    }
    Some(trimmed.to_owned())
}

/// Like [`clean`], with runs of whitespace collapsed: names are compared and searched.
fn clean_name(value: Option<String>) -> Option<String> {
    clean(value).map(|value| {
        // Most names have single spaces only: nothing to collapse, nothing to copy.
        if is_collapsed(&value) {
            value
        } else {
            value.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    })
}

/// True if `text`'s only whitespace is single spaces between words (it comes trimmed).
/// Judged on bytes: ASCII whitespace other than the space is a byte of its own, and every
/// other whitespace character (U+0085, U+00A0, U+1680, U+2000 to U+205F, U+3000) starts with
/// one of four bytes, which no letter of the Nordic or other European alphabets starts with
/// (Å is C3 85). A name with such a byte is judged by its characters.
fn is_collapsed(text: &str) -> bool {
    let bytes = text.as_bytes();
    let may_be_whitespace = |b: &u8| matches!(b, 0x09..=0x0D | 0xC2 | 0xE1..=0xE3);
    if !bytes.iter().any(may_be_whitespace) {
        return !bytes.windows(2).any(|pair| pair == b"  ");
    }
    let mut previous_space = false;
    text.chars().all(|c| {
        let plain = c == ' ' && !previous_space;
        let ok = !c.is_whitespace() || plain;
        previous_space = c.is_whitespace();
        ok
    })
}

/// Lower-cases only the domain: the local part is case-sensitive by the letter of RFC 5321,
/// the domain never is. An address that is none comes back as the error.
fn normalise_email(raw: String) -> Result<String, String> {
    if is_plain_email(&raw) {
        return Ok(raw);
    }
    parse_email(raw)
}

/// [`normalise_email`] by the full parse.
fn parse_email(raw: String) -> Result<String, String> {
    let options = email_address::Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    let Ok(address) = email_address::EmailAddress::parse_with_options(&raw, options) else {
        return Err(raw);
    };
    let domain = address.domain();
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(raw);
    }
    let local_part = address.local_part();
    // Most addresses are typed with a lower-case domain: then the address is what was typed,
    // kept rather than written again.
    let lower_case = domain
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase());
    let as_typed = raw
        .strip_prefix(local_part)
        .and_then(|rest| rest.strip_prefix('@'))
        == Some(domain);
    if lower_case && as_typed {
        return Ok(raw);
    }
    Ok(format!("{local_part}@{}", domain.to_lowercase()))
}

/// An address in the shape nearly every address has, which [`normalise_email`] would keep as
/// typed: one `@`; a local part of ASCII letters, digits and `.+_-`, with no empty piece
/// between dots; a lower-case domain of two or more labels of letters, digits and inner
/// hyphens. Deciding that costs a tenth of the full parse, which every imported row with an
/// address paid; anything else goes to the parse (`tests::plain_addresses_parse_as_typed`).
fn is_plain_email(raw: &str) -> bool {
    const LOCAL_MAX: usize = 64;
    const DOMAIN_MAX: usize = 254;
    const LABEL_MAX: usize = 63;
    let Some((local, domain)) = raw.split_once('@') else {
        return false;
    };
    let local_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'_' | b'-');
    let local_ok = (1..=LOCAL_MAX).contains(&local.len())
        && local.bytes().all(local_byte)
        && local.split('.').all(|piece| !piece.is_empty());
    let label_ok = |label: &str| {
        let alphanumeric = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
        (1..=LABEL_MAX).contains(&label.len())
            && alphanumeric(label.as_bytes().first())
            && alphanumeric(label.as_bytes().last())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    local_ok
        && domain.len() <= DOMAIN_MAX
        && domain.contains('.')
        && domain.split('.').all(label_ok)
}

/// "2,5" -> "2.5", "02.50" -> "2.5"; `None` for anything that is not a plain non-negative
/// decimal with at most three decimals. Normalised so equal quantities compare equal.
pub fn normalise_quantity(raw: &str) -> Option<String> {
    let raw = raw.trim().replacen(',', ".", 1);
    let (integer, fraction) = raw.split_once('.').unwrap_or((&raw, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = !integer.is_empty()
        && digits(integer)
        && digits(fraction)
        && (raw.len() == integer.len() || !fraction.is_empty());
    if !well_formed || fraction.len() > QUANTITY_DECIMALS_MAX {
        return None;
    }
    let integer = integer.trim_start_matches('0');
    if integer.len() > QUANTITY_INTEGER_DIGITS_MAX {
        return None;
    }
    let integer = if integer.is_empty() { "0" } else { integer };
    let fraction = fraction.trim_end_matches('0');
    Some(if fraction.is_empty() {
        integer.to_owned()
    } else {
        format!("{integer}.{fraction}")
    })
}

/// Collects errors while the fields are normalised one by one.
struct Validator<'a> {
    ctx: &'a ValidationContext,
    errors: Vec<FieldError>,
}

impl<'a> Validator<'a> {
    fn new(ctx: &'a ValidationContext) -> Self {
        Self {
            ctx,
            errors: Vec::new(),
        }
    }

    fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    fn finish<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(ValidationErrors(self.errors))
        }
    }

    fn check_len(&mut self, field: &str, value: &str, max: usize) -> bool {
        self.check_len_at(|| field.to_owned(), value, max)
    }

    /// Like `check_len`, naming the field only when it is reported (an address part's
    /// pointer is built from its address's).
    fn check_len_at(&mut self, field: impl FnOnce() -> String, value: &str, max: usize) -> bool {
        // A string's characters are never more than its bytes.
        let fits = value.len() <= max || value.chars().count() <= max;
        if !fits {
            self.push(FieldError::too_long(field(), max));
        }
        fits
    }

    /// Trimmed free text of an address part (`field` plus `part`).
    fn address_part(
        &mut self,
        field: &str,
        part: &str,
        value: Option<String>,
        max: usize,
    ) -> Option<String> {
        clean(value).filter(|value| self.check_len_at(|| format!("{field}/{part}"), value, max))
    }

    /// An over-long value is reported and dropped.
    fn limit(&mut self, field: &str, value: Option<String>, max: usize) -> Option<String> {
        value.filter(|value| self.check_len(field, value, max))
    }

    /// Trimmed free text.
    fn text(&mut self, field: &str, value: Option<String>, max: usize) -> Option<String> {
        self.limit(field, clean(value), max)
    }

    fn name(&mut self, field: &str, value: Option<String>) -> Option<String> {
        self.limit(field, clean_name(value), NAME_MAX)
    }

    fn customer_number(&mut self, value: Option<String>) -> Option<String> {
        let raw = value.unwrap_or_default();
        validate_customer_number(&raw, &self.ctx.number_rules)
            .map_err(|error| self.push(error))
            .ok()
    }

    fn require_name_for_kind(
        &mut self,
        kind: CustomerKind,
        first_name: &Option<String>,
        last_name: &Option<String>,
        company_name: &Option<String>,
    ) {
        match kind {
            CustomerKind::Person if first_name.is_none() && last_name.is_none() => {
                self.push(FieldError::new(
                    "/firstName",
                    "required",
                    "A person needs a first or a last name.",
                ));
            }
            CustomerKind::Company if company_name.is_none() => {
                self.push(FieldError::new(
                    "/companyName",
                    "required",
                    "A company needs a company name.",
                ));
            }
            _ => {}
        }
    }

    fn email(&mut self, field: &str, value: Option<String>) -> Option<String> {
        let raw = clean(value)?;
        normalise_email(raw)
            .map_err(|raw| {
                self.push(FieldError::new(
                    field,
                    "invalid_email",
                    format!("{raw:?} is not a valid e-mail address."),
                ));
            })
            .ok()
    }

    /// A phone of a card, a contact or a site's contact, in E.164; its extension, if it was
    /// written with one, goes to `extension` (an office's switchboard number is shared, the
    /// extension tells people apart, and lookups by number must still find them).
    fn phone_keeping_extension(
        &mut self,
        field: &str,
        value: Option<String>,
        extension: &mut Option<String>,
    ) -> Option<String> {
        let raw = clean(value)?;
        let phone = normalise_phone_with_extension(&raw, self.ctx.default_country.as_deref())
            .map_err(|error| self.push(phone_error(field, &error)))
            .ok()?;
        *extension = phone.extension;
        Some(phone.number)
    }

    fn mobile(&mut self, field: &str, value: Option<String>) -> Option<String> {
        let raw = clean(value)?;
        let result = normalise_mobile(&raw, self.ctx.default_country.as_deref());
        self.phone_result(field, result)
    }

    fn phone_result(&mut self, field: &str, result: Result<String, PhoneError>) -> Option<String> {
        result
            .map_err(|error| self.push(phone_error(field, &error)))
            .ok()
    }

    fn address(&mut self, field: &str, value: Option<Address>) -> Option<Address> {
        let value = value?;
        let address = Address {
            line1: self.address_part(field, "line1", value.line1, ADDRESS_LINE_MAX),
            line2: self.address_part(field, "line2", value.line2, ADDRESS_LINE_MAX),
            postal_code: self.address_part(field, "postalCode", value.postal_code, POSTAL_CODE_MAX),
            city: self.address_part(field, "city", value.city, ADDRESS_LINE_MAX),
            region: self.address_part(field, "region", value.region, ADDRESS_LINE_MAX),
            country: self.country_at(|| format!("{field}/country"), value.country),
        };
        // An address of blank fields is no address; keeping it would make an empty object
        // differ from an absent one.
        (address != Address::default()).then_some(address)
    }

    fn country(&mut self, field: &str, value: Option<String>) -> Option<String> {
        self.country_at(|| field.to_owned(), value)
    }

    /// Like `country`, naming the field only when it is reported.
    fn country_at(
        &mut self,
        field: impl FnOnce() -> String,
        value: Option<String>,
    ) -> Option<String> {
        let mut code = clean(value)?;
        code.make_ascii_uppercase();
        if is_country(&code) {
            return Some(code);
        }
        self.push(FieldError::new(
            field(),
            "unknown_country",
            format!("{code:?} is not an ISO 3166-1 alpha-2 country code such as \"SE\"."),
        ));
        None
    }

    /// The organisation number, checked by its country: the one named, a VAT prefix, the
    /// invoice or visiting address's, or the organisation's default.
    fn organisation_number(
        &mut self,
        number: Option<String>,
        country: Option<String>,
        fields: &CustomerFields,
    ) -> Option<OrgNumber> {
        const FIELD: &str = "/organisationNumber";
        let country = self.country("/organisationNumberCountry", country);
        let raw = self.limit(FIELD, clean(number), ORGANISATION_NUMBER_MAX)?;
        let address_country = |a: &Option<Address>| a.as_ref().and_then(|a| a.country.clone());
        let fallback = address_country(&fields.invoice_address)
            .or_else(|| address_country(&fields.visiting_address))
            .or_else(|| self.ctx.default_country.clone());
        match parse_org_number(&raw, country.as_deref(), fallback.as_deref()) {
            Ok(org) => Some(org),
            Err(error) => {
                let (field, code) = match error {
                    OrgNumberError::Invalid(_) => (FIELD, "invalid_organisation_number"),
                    OrgNumberError::CountryMismatch { .. } => (
                        "/organisationNumberCountry",
                        "organisation_number_country_mismatch",
                    ),
                    OrgNumberError::CountryUnknown => {
                        (FIELD, "organisation_number_country_unknown")
                    }
                };
                self.push(FieldError::new(field, code, error.to_string()));
                None
            }
        }
    }

    /// Channels the organisation requires; reported on the channel's own field.
    fn required_channels(&mut self, fields: &CustomerFields) {
        for channel in self.ctx.required_channels.clone() {
            if !has_channel(fields, channel) {
                let field = match channel {
                    Channel::Email => "/email",
                    Channel::Phone => "/phone",
                    Channel::Mobile => "/mobile",
                };
                self.push(FieldError::new(
                    field,
                    "required_channel",
                    "Your organisation requires this contact channel for every customer.",
                ));
            }
        }
    }

    /// Values checked against the organisation's definitions: unknown keys are refused,
    /// required ones must be there, retired ones are kept as they are. Texts are trimmed and
    /// a blank one is not given, as for every other text of the card and as an import reads
    /// a cell: an exported card imported back is unchanged.
    fn custom_fields(&mut self, value: Option<BTreeMap<String, Value>>) -> BTreeMap<String, Value> {
        let values: BTreeMap<String, Value> = value
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(key, value)| match value {
                Value::Null => None,
                Value::String(text) => clean(Some(text)).map(|text| (key, Value::String(text))),
                other => Some((key, other)),
            })
            .collect();
        for (key, value) in &values {
            let field = format!("/customFields/{key}");
            match self.ctx.custom_fields.iter().find(|d| &d.key == key) {
                None => self.push(FieldError::new(
                    &field,
                    "unknown_custom_field",
                    "Your organisation has no custom field with this key.",
                )),
                Some(def) => {
                    if let Err(reason) = check_custom_value(def, value) {
                        self.push(FieldError::new(
                            &field,
                            "invalid_custom_value",
                            format!("Expected {reason}."),
                        ));
                    }
                }
            }
        }
        for def in self.ctx.custom_fields.clone() {
            if def.required && !def.retired && !values.contains_key(&def.key) {
                self.push(FieldError::new(
                    format!("/customFields/{}", def.key),
                    "required_custom_field",
                    format!("{} is required by your organisation.", def.label),
                ));
            }
        }
        values
    }

    fn language(&mut self, value: Option<String>) -> Option<String> {
        let Some(code) = clean(value) else {
            return self.ctx.default_language.clone();
        };
        let code = code.to_ascii_lowercase();
        if is_language(&code) {
            return Some(code);
        }
        self.push(FieldError::new(
            "/language",
            "unknown_language",
            format!("{code:?} is not an ISO 639-1 language code such as \"sv\"."),
        ));
        None
    }

    fn discount_codes(&mut self, value: Option<Vec<String>>) -> Vec<String> {
        self.string_list(
            "/discountCodes",
            value,
            DISCOUNT_CODE_MAX,
            DISCOUNT_CODES_MAX,
            |code| code.to_owned(),
        )
    }

    /// Tags are de-duplicated ignoring case: "VIP" and "vip" are one tag to the people
    /// filtering by them.
    fn tags(&mut self, value: Option<Vec<String>>) -> Vec<String> {
        self.string_list("/tags", value, TAG_MAX, TAGS_MAX, str::to_lowercase)
    }

    /// Trims every entry, drops duplicates (by `key`, keeping the first spelling) and then
    /// checks the count, so that sending a duplicate never tips a list over its limit.
    fn string_list(
        &mut self,
        field: &str,
        value: Option<Vec<String>>,
        item_max: usize,
        count_max: usize,
        key: impl Fn(&str) -> String,
    ) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut items = Vec::new();
        for (i, raw) in value.unwrap_or_default().into_iter().enumerate() {
            // Named only when reported: most lists are fine.
            let item_field = || format!("{field}/{i}");
            let Some(item) = clean(Some(raw)) else {
                self.push(FieldError::new(
                    item_field(),
                    "required",
                    "Entries must not be empty.",
                ));
                continue;
            };
            if self.check_len_at(item_field, &item, item_max) && seen.insert(key(&item)) {
                items.push(item);
            }
        }
        if items.len() > count_max {
            self.push(FieldError::too_many(field, count_max));
        }
        items
    }

    fn articles(&mut self, value: Option<Vec<DefaultArticle>>) -> Vec<DefaultArticle> {
        let articles = value.unwrap_or_default();
        if articles.len() > ARTICLES_MAX {
            self.push(FieldError::too_many("/defaultArticles", ARTICLES_MAX));
        }
        let checked = articles.into_iter().enumerate();
        checked
            .filter_map(|(i, article)| self.article(&format!("/defaultArticles/{i}"), article))
            .collect()
    }

    fn article(&mut self, field: &str, article: DefaultArticle) -> Option<DefaultArticle> {
        let number_field = format!("{field}/articleNumber");
        let article_number = clean(Some(article.article_number));
        if article_number.is_none() {
            self.push(FieldError::required(&number_field));
        }
        let article_number = article_number
            .filter(|number| self.check_len(&number_field, number, ARTICLE_NUMBER_MAX));
        let description = self.text(
            &format!("{field}/description"),
            article.description,
            ARTICLE_DESCRIPTION_MAX,
        );
        let unit = self.text(&format!("{field}/unit"), article.unit, ARTICLE_UNIT_MAX);
        let quantity = self.quantity(&format!("{field}/quantity"), &article.quantity);
        let unit_price = article.unit_price;
        if unit_price.is_some_and(|price| price < 0) {
            self.push(FieldError::negative_amount(
                format!("{field}/unitPrice"),
                "A unit price",
            ));
        }
        Some(DefaultArticle {
            article_number: article_number?,
            description,
            kind: article.kind,
            article_type: article.article_type,
            quantity: quantity?,
            unit,
            unit_price,
        })
    }

    fn quantity(&mut self, field: &str, raw: &str) -> Option<String> {
        let quantity = normalise_quantity(raw);
        if quantity.is_none() {
            self.push(FieldError::invalid_quantity(field, raw));
        }
        quantity
    }

    fn external_refs(&mut self, value: Option<Vec<ExternalRef>>) -> Vec<ExternalRef> {
        let refs = value.unwrap_or_default();
        if refs.len() > EXTERNAL_REFS_MAX {
            self.push(FieldError::too_many("/externalRefs", EXTERNAL_REFS_MAX));
        }
        let mut systems = HashSet::new();
        let mut kept = Vec::new();
        for (i, external) in refs.into_iter().enumerate() {
            let field = format!("/externalRefs/{i}");
            // One id per system: the sync jobs look a customer up by (system, id) and back.
            if !systems.insert(external.system) {
                self.push(FieldError::new(
                    format!("{field}/system"),
                    "duplicate",
                    "There is already a reference for this accounting system.",
                ));
            }
            let id_field = format!("{field}/id");
            match clean(Some(external.id)) {
                None => self.push(FieldError::required(id_field)),
                Some(id) if self.check_len(&id_field, &id, EXTERNAL_ID_MAX) => {
                    kept.push(ExternalRef {
                        system: external.system,
                        id,
                    });
                }
                Some(_) => {}
            }
        }
        kept
    }

    fn terms(&mut self, value: Option<TermsInput>) -> Terms {
        let input = value.unwrap_or_default();
        let payment_terms = input
            .payment_terms
            .unwrap_or(self.ctx.default_payment_terms);
        if !payment_terms.is_valid() {
            self.push(FieldError::new(
                "/terms/paymentTerms",
                "invalid_payment_terms",
                "Net payment terms must be between 1 and 365 days.",
            ));
        }
        Terms {
            payment_type: input.payment_type.unwrap_or_default(),
            currency: self.currency(input.currency),
            credit_limit: self.credit_limit(input.credit_limit),
            payment_terms,
            open_balance: input.open_balance.unwrap_or(0),
        }
    }

    fn currency(&mut self, value: Option<String>) -> String {
        let Some(code) = clean(value).map(|code| code.to_ascii_uppercase()) else {
            return self.ctx.default_currency.to_ascii_uppercase();
        };
        if !is_currency(&code) {
            self.push(FieldError::new(
                "/terms/currency",
                "unknown_currency",
                format!("{code:?} is not an ISO 4217 currency code such as \"SEK\"."),
            ));
        }
        code
    }

    fn credit_limit(&mut self, value: Option<i64>) -> Option<i64> {
        if value.is_some_and(|limit| limit < 0) {
            self.push(FieldError::negative_amount(
                "/terms/creditLimit",
                "The credit limit",
            ));
        }
        value
    }

    fn contacts(&mut self, value: Option<Vec<ContactInput>>) -> Vec<Contact> {
        let inputs = value.unwrap_or_default();
        if inputs.len() > CONTACTS_MAX {
            self.push(FieldError::too_many("/contacts", CONTACTS_MAX));
        }
        self.refuse_extra_primaries(&inputs);
        let mut contacts = Vec::new();
        for (i, input) in inputs.into_iter().enumerate() {
            match validate_contact(input, ContactId::new(), self.ctx) {
                Ok(contact) => contacts.push(contact),
                Err(errors) => self
                    .errors
                    .extend(errors.prefixed(&format!("/contacts/{i}")).0),
            }
        }
        crate::contacts::ensure_primary(&mut contacts);
        contacts
    }

    /// Which of two primaries the caller meant is a guess we refuse to make.
    fn refuse_extra_primaries(&mut self, inputs: &[ContactInput]) {
        let primaries = inputs
            .iter()
            .enumerate()
            .filter(|(_, c)| c.primary == Some(true));
        for (i, _) in primaries.skip(1) {
            self.push(FieldError::new(
                format!("/contacts/{i}/primary"),
                "multiple_primary_contacts",
                "Only one contact can be the primary contact.",
            ));
        }
    }
}

fn phone_error(field: &str, error: &PhoneError) -> FieldError {
    let mut message = error.to_string();
    if let Some(first) = message.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    FieldError::new(field, error.code(), format!("{message}."))
}

#[cfg(test)]
mod tests;
