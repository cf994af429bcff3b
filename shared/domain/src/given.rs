//! Which members of a customer an input gave: what an update from it may change, and nothing
//! else (an imported row that finds its customer changes only the columns it filled).
//!
//! Kept as bits rather than as a copy of the input: an import reads every row into an input,
//! validates it (which takes the input apart) and must remember what the row gave for the
//! rows that turn out to update a customer. A copy cost a string per value and a seventh of a
//! row's time; the bits cost nothing to keep. A member is given when the input's JSON has it
//! and it is not null; the addresses, the terms and the custom fields are objects whose own
//! members count one by one.

use serde_json::Value;

use crate::model::{Address, CustomerInput, TermsInput};

/// The members an input gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    customer: u32,
    invoice_address: u8,
    visiting_address: u8,
    terms: u8,
    /// The keys of the custom fields given a value (not null). Custom values are scalars
    /// (validation refuses anything else), so a value is taken whole.
    custom_fields: Vec<String>,
}

/// The members of a customer input, each with whether `input` has it. Every member is listed
/// (the pattern names them all, so a new member does not compile until it is added here), by
/// its JSON name (`tests::every_member_is_listed_by_its_json_name`).
fn customer_members(input: &CustomerInput) -> [(&'static str, bool); 28] {
    let CustomerInput {
        customer_number,
        kind,
        first_name,
        last_name,
        company_name,
        show_company_name_on_documents,
        organisation_number,
        organisation_number_country,
        description,
        email,
        phone,
        mobile,
        sms_opt_out,
        invoice_email,
        invoice_address,
        visiting_address,
        contacts,
        language,
        discount_codes,
        cost_centre,
        order_number,
        tags,
        default_articles,
        terms,
        tier,
        on_hold,
        external_refs,
        custom_fields,
    } = input;
    [
        ("customerNumber", customer_number.is_some()),
        ("kind", kind.is_some()),
        ("firstName", first_name.is_some()),
        ("lastName", last_name.is_some()),
        ("companyName", company_name.is_some()),
        (
            "showCompanyNameOnDocuments",
            show_company_name_on_documents.is_some(),
        ),
        ("organisationNumber", organisation_number.is_some()),
        (
            "organisationNumberCountry",
            organisation_number_country.is_some(),
        ),
        ("description", description.is_some()),
        ("email", email.is_some()),
        ("phone", phone.is_some()),
        ("mobile", mobile.is_some()),
        ("smsOptOut", sms_opt_out.is_some()),
        ("invoiceEmail", invoice_email.is_some()),
        ("invoiceAddress", invoice_address.is_some()),
        ("visitingAddress", visiting_address.is_some()),
        ("contacts", contacts.is_some()),
        ("language", language.is_some()),
        ("discountCodes", discount_codes.is_some()),
        ("costCentre", cost_centre.is_some()),
        ("orderNumber", order_number.is_some()),
        ("tags", tags.is_some()),
        ("defaultArticles", default_articles.is_some()),
        ("terms", terms.is_some()),
        ("tier", tier.is_some()),
        ("onHold", on_hold.is_some()),
        ("externalRefs", external_refs.is_some()),
        ("customFields", custom_fields.is_some()),
    ]
}

fn address_members(address: &Address) -> [(&'static str, bool); 6] {
    let Address {
        line1,
        line2,
        postal_code,
        city,
        region,
        country,
    } = address;
    [
        ("line1", line1.is_some()),
        ("line2", line2.is_some()),
        ("postalCode", postal_code.is_some()),
        ("city", city.is_some()),
        ("region", region.is_some()),
        ("country", country.is_some()),
    ]
}

fn terms_members(terms: &TermsInput) -> [(&'static str, bool); 5] {
    let TermsInput {
        payment_type,
        currency,
        credit_limit,
        payment_terms,
        open_balance,
    } = terms;
    [
        ("paymentType", payment_type.is_some()),
        ("currency", currency.is_some()),
        ("creditLimit", credit_limit.is_some()),
        ("paymentTerms", payment_terms.is_some()),
        ("openBalance", open_balance.is_some()),
    ]
}

/// The members present, one bit each in the members' order.
fn bits<const N: usize>(members: [(&str, bool); N]) -> u32 {
    const { assert!(N <= 32, "a bit per member") };
    let present = members.iter().enumerate().filter(|(_, (_, given))| *given);
    present.fold(0, |bits, (i, _)| bits | 1 << i)
}

/// Whether `name` is among `members` with its bit set in `given`.
fn has<const N: usize>(members: [(&str, bool); N], given: u32, name: &str) -> bool {
    let index = members.iter().position(|(member, _)| *member == name);
    index.is_some_and(|i| given & 1 << i != 0)
}

impl Given {
    pub fn of(input: &CustomerInput) -> Given {
        // Six and five members: their bits fit a byte.
        let address =
            |a: &Option<Address>| a.as_ref().map_or(0, |a| bits(address_members(a)) as u8);
        let terms = input
            .terms
            .as_ref()
            .map_or(0, |t| bits(terms_members(t)) as u8);
        let custom_fields = input.custom_fields.iter().flatten();
        Given {
            customer: bits(customer_members(input)),
            invoice_address: address(&input.invoice_address),
            visiting_address: address(&input.visiting_address),
            terms,
            custom_fields: custom_fields
                .filter(|(_, value)| !value.is_null())
                .map(|(key, _)| key.clone())
                .collect(),
        }
    }

    /// `customer` (a customer input's JSON) with only the members given; the addresses, the
    /// terms and the custom fields with only their own members given.
    pub fn restrict(&self, customer: Value) -> Value {
        let Value::Object(members) = customer else {
            return customer;
        };
        let customer_given = |name: &str| {
            has(
                customer_members(&CustomerInput::default()),
                self.customer,
                name,
            )
        };
        let address_given = |bits: u8| {
            move |name: &str| has(address_members(&Address::default()), bits.into(), name)
        };
        let terms_given = |name: &str| {
            has(
                terms_members(&TermsInput::default()),
                self.terms.into(),
                name,
            )
        };
        let custom_given = |key: &str| self.custom_fields.iter().any(|k| k == key);
        let restricted = members
            .into_iter()
            .filter(|(name, _)| customer_given(name))
            .map(|(name, value)| {
                let value = match name.as_str() {
                    "invoiceAddress" => only(value, address_given(self.invoice_address)),
                    "visitingAddress" => only(value, address_given(self.visiting_address)),
                    "terms" => only(value, terms_given),
                    "customFields" => only(value, custom_given),
                    _ => value,
                };
                (name, value)
            });
        Value::Object(restricted.collect())
    }
}

/// `value`'s members for which `given` holds, if it is an object; else `value` whole.
fn only(value: Value, given: impl Fn(&str) -> bool) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .filter(|(name, _)| given(name))
                .collect(),
        ),
        value => value,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::de::{self, Deserialize, Deserializer, Visitor};
    use serde_json::json;

    use super::*;

    /// A deserializer that notes the member names a struct asks for, and reads nothing.
    struct MemberNames<'a>(&'a mut Vec<&'static str>);

    impl<'de> Deserializer<'de> for MemberNames<'_> {
        type Error = de::value::Error;

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend(fields);
            Err(de::Error::custom("only the names were wanted"))
        }

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    /// The JSON member names of `T`, sorted, as serde reads them.
    fn json_names<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
        let mut names = Vec::new();
        let _ = T::deserialize(MemberNames(&mut names));
        names.sort_unstable();
        names
    }

    fn sorted<const N: usize>(members: [(&'static str, bool); N]) -> Vec<&'static str> {
        let mut names: Vec<&str> = members.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn every_member_is_listed_by_its_json_name() {
        let customer = sorted(customer_members(&CustomerInput::default()));
        assert_eq!(customer, json_names::<CustomerInput>());
        assert_eq!(
            sorted(address_members(&Address::default())),
            json_names::<Address>()
        );
        assert_eq!(
            sorted(terms_members(&TermsInput::default())),
            json_names::<TermsInput>()
        );
    }

    /// A customer with every member, its addresses and terms full, and two custom fields.
    fn full() -> Value {
        let address = json!({"line1": "Storgatan 1", "line2": "Box 2", "postalCode": "722 10",
                             "city": "Västerås", "region": "Västmanland", "country": "SE"});
        json!({
            "customerNumber": "10", "kind": "person", "firstName": "Åsa", "lastName": "Öberg",
            "companyName": "Berg AB", "showCompanyNameOnDocuments": true,
            "organisationNumber": "556036-0793", "organisationNumberCountry": "SE",
            "description": "Gate code 1234", "email": "asa@example.com", "phone": "021-12 34 56",
            "mobile": "070-123 45 67", "smsOptOut": false, "invoiceEmail": "ap@example.com",
            "invoiceAddress": address, "visitingAddress": address,
            "contacts": [{"firstName": "Anna"}], "language": "sv", "discountCodes": ["A"],
            "costCentre": "C1", "orderNumber": "PO-1", "tags": ["vip"], "defaultArticles": [],
            "terms": {"paymentType": "account", "currency": "SEK", "creditLimit": 500000,
                      "paymentTerms": "net30", "openBalance": -350},
            "tier": "vip", "onHold": false,
            "externalRefs": [{"system": "quickbooks", "id": "80000001"}],
            "customFields": {"gateCode": "1234", "floors": 3},
        })
    }

    /// The members of `full` picked by the bits: `customer` for the customer's, and those of
    /// each object member.
    fn pick(customer: u32, nested: [u8; 4]) -> Value {
        let keep = |object: &Value, bits: u32| -> Value {
            let members = object.as_object().expect("an object").iter();
            let picked = members.enumerate().filter(|(i, _)| bits & 1 << i != 0);
            Value::Object(picked.map(|(_, (k, v))| (k.clone(), v.clone())).collect())
        };
        let mut picked = keep(&full(), customer);
        let objects = ["invoiceAddress", "visitingAddress", "terms", "customFields"];
        for (name, bits) in objects.into_iter().zip(nested) {
            if let Some(object) = picked.get_mut(name) {
                *object = keep(object, bits.into());
            }
        }
        picked
    }

    /// What an update kept before: the JSON of the input itself, member by member.
    fn restricted_by_json(value: Value, given: &Value) -> Value {
        match (value, given) {
            (Value::Object(members), Value::Object(given)) => Value::Object(
                members
                    .into_iter()
                    .filter_map(|(name, v)| {
                        let wanted = given.get(&name).filter(|g| !g.is_null())?;
                        Some((name, restricted_by_json(v, wanted)))
                    })
                    .collect(),
            ),
            (value, _) => value,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Any members an input gives are kept as the input's own JSON would keep them.
        #[test]
        fn an_input_keeps_what_its_json_would(customer in any::<u32>(), nested in any::<[u8; 4]>()) {
            let given = pick(customer, nested);
            let input: CustomerInput = serde_json::from_value(given).unwrap();
            let as_json = serde_json::to_value(&input).unwrap();
            prop_assert_eq!(
                Given::of(&input).restrict(full()),
                restricted_by_json(full(), &as_json)
            );
        }
    }

    #[test]
    fn a_custom_field_set_to_null_is_not_given() {
        let input: CustomerInput =
            serde_json::from_value(json!({"customFields": {"gateCode": null, "floors": 3}}))
                .unwrap();
        let kept = Given::of(&input).restrict(full());
        assert_eq!(kept, json!({"customFields": {"floors": 3}}));
    }
}
