//! JSON read as strictly as docs/openapi.yaml describes it. serde on its own is more lenient
//! in three ways the document does not allow: a derived struct also reads a JSON array,
//! positionally (`"address": ["Storgatan 1", null]` would be an address); an `Option` member
//! reads `null` as absent (`{"customerOwned": null}` would create a customer); and a JSON
//! object read into a `Value` keeps the last of duplicate member names without a word.
//! Bodies are read into a [`Value`] that refuses duplicates ([`parse`]), then into their
//! types through [`Strict`], which lets structs read only objects whose members have values.
//! A merge patch is read as a `Value`, not a struct, so its `null`s keep their meaning
//! (remove the member), and so do the values of maps such as `customFields`.

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

/// Parses JSON text into a value, refusing duplicate member names; the error carries the
/// path of the member at fault, and syntax errors stay syntax errors (a 400 for the caller).
pub fn parse(bytes: &[u8]) -> Result<Value, serde_path_to_error::Error<serde_json::Error>> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let UniqueValue(value) = serde_path_to_error::deserialize(&mut deserializer)?;
    // Text after the value belongs to no member: an error at the empty path.
    deserializer.end().map_err(|e| {
        serde_path_to_error::Error::new(serde_path_to_error::Track::new().path(), e)
    })?;
    Ok(value)
}

/// A JSON value whose objects have unique member names.
struct UniqueValue(Value);

impl<'de> de::Deserialize<'de> for UniqueValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueValueVisitor)
            .map(UniqueValue)
    }
}

struct UniqueValueVisitor;

impl<'de> Visitor<'de> for UniqueValueVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(value.into())
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(value.into())
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        while let Some(UniqueValue(item)) = items.next_element()? {
            values.push(item);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(name) = members.next_key::<String>()? {
            if object.contains_key(&name) {
                return Err(de::Error::custom(format!("duplicate member `{name}`")));
            }
            let UniqueValue(value) = members.next_value()?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

/// A deserializer over a JSON value that reads structs only from objects, and their members
/// never from `null`; everything else reads as serde_json's own `Value` deserializer would.
pub struct Strict {
    value: Value,
    /// Whether the value is a member of a struct, where `null` is refused: the document lets
    /// a member be left out, never be `null` (outside merge patches).
    struct_member: bool,
}

impl Strict {
    pub fn new(value: Value) -> Self {
        Strict {
            value,
            struct_member: false,
        }
    }
}

impl<'de> Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            Value::Object(members) => visitor.visit_map(Members::new(members, false)),
            scalar => scalar.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Object(members) => visitor.visit_map(Members::new(members, true)),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match (&self.value, self.struct_member) {
            (Value::Null, true) => Err(de::Error::custom(
                "invalid type: null; leave the member out to give it no value",
            )),
            (Value::Null, false) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    // Enums in bodies are names (strings); serde_json reads them as always.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.value.deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

struct Items(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Items {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0
            .next()
            .map(|item| seed.deserialize(Strict::new(item)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Members {
    members: serde_json::map::IntoIter,
    value: Option<Value>,
    of_struct: bool,
}

impl Members {
    fn new(members: Map<String, Value>, of_struct: bool) -> Self {
        Members {
            members: members.into_iter(),
            value: None,
            of_struct,
        }
    }
}

impl<'de> MapAccess<'de> for Members {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((name, value)) = self.members.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(name.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a member value was asked for before its name"))?;
        seed.deserialize(Strict {
            value,
            struct_member: self.of_struct,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Card {
        name: String,
        address: Option<Address>,
        #[serde(default)]
        tags: Vec<String>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Address {
        line1: Option<String>,
        city: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    enum Kind {
        Person,
        Company,
    }

    fn read(value: Value) -> Result<Card, String> {
        serde_path_to_error::deserialize(Strict::new(value)).map_err(|e| e.to_string())
    }

    #[test]
    fn objects_read_as_serde_reads_them() {
        let card = read(
            json!({"name": "Åsa", "address": {"city": "Lund"}, "tags": ["a"],
            "kind": "company"}),
        )
        .unwrap();
        assert_eq!(card.address.unwrap().city.as_deref(), Some("Lund"));
        assert_eq!(card.tags, ["a"]);
        assert_eq!(card.kind, Some(Kind::Company));
    }

    #[test]
    fn a_member_is_left_out_or_has_a_value_but_is_never_null() {
        assert_eq!(read(json!({"name": "x"})).unwrap().address, None);
        let error = read(json!({"name": "x", "address": null})).unwrap_err();
        assert!(error.starts_with("address: invalid type: null"), "{error}");
        let error = read(json!({"name": "x", "address": {"city": null}})).unwrap_err();
        assert!(
            error.starts_with("address.city: invalid type: null"),
            "{error}"
        );
    }

    #[test]
    fn maps_and_values_keep_their_nulls() {
        let values: std::collections::BTreeMap<String, Option<String>> =
            serde_path_to_error::deserialize(Strict::new(json!({"gateCode": null}))).unwrap();
        assert_eq!(values["gateCode"], None);
        let patch: Value =
            serde_path_to_error::deserialize(Strict::new(json!({"a": null, "b": [null]}))).unwrap();
        assert_eq!(patch, json!({"a": null, "b": [null]}));
    }

    #[test]
    fn a_struct_is_never_read_from_an_array() {
        let error = read(json!({"name": "x", "address": ["Storgatan 1", "Lund"]})).unwrap_err();
        assert!(
            error.starts_with("address: invalid type: sequence"),
            "{error}"
        );
        assert!(
            read(json!(["x"]))
                .unwrap_err()
                .contains("invalid type: sequence")
        );
    }

    #[test]
    fn wrong_types_and_unknown_members_are_refused_with_their_path() {
        let error = read(json!({"name": "x", "address": {"zip": "1"}})).unwrap_err();
        assert!(error.starts_with("address.zip: unknown field"), "{error}");
        let error = read(json!({"name": "x", "kind": "robot"})).unwrap_err();
        assert!(error.starts_with("kind: unknown variant"), "{error}");
        let error = read(json!({"name": 5})).unwrap_err();
        assert!(error.starts_with("name: invalid type"), "{error}");
    }

    #[test]
    fn duplicate_member_names_are_refused_in_the_object_that_repeats_them() {
        let error = parse(br#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert_eq!(error.path().to_string(), "a");
        assert!(error.inner().to_string().contains("duplicate member `b`"));
        assert!(!error.inner().is_syntax());
    }

    #[test]
    fn syntax_errors_and_trailing_text_stay_syntax_errors() {
        assert!(parse(b"{\"a\": ").unwrap_err().inner().is_eof());
        assert!(parse(b"{} x").unwrap_err().inner().is_syntax());
        assert_eq!(
            parse(br#"{"a": [1, 2.5, null, "x"]}"#).unwrap(),
            json!({"a": [1, 2.5, null, "x"]})
        );
    }
}
