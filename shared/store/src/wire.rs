//! DynamoDB's JSON for attribute values (`{"S": "..."}`, `{"N": "12"}`, `{"M": {...}}`), to and
//! from the SDK's `AttributeValue`, and for a transaction's writes: what the store's own
//! requests ([`crate::requests`]) send and parse. The SDK's types stay the store's (items,
//! `TransactWriteItem`), so every write is built and every item decoded the same way whichever
//! client carries it.

use std::collections::HashMap;
use std::fmt;

use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_smithy_types::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Error as _, SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::items::Item;

/// A value, borrowed, written as DynamoDB's JSON.
pub(crate) struct Value<'a>(pub &'a AttributeValue);

/// An item (or a key), borrowed, written as DynamoDB's JSON.
pub(crate) struct Fields<'a>(pub &'a Item);

/// A value read from DynamoDB's JSON.
pub(crate) struct OwnedValue(pub AttributeValue);

/// An item read from DynamoDB's JSON.
#[derive(Default)]
pub(crate) struct OwnedItem(pub Item);

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self.0 {
            AttributeValue::S(text) => map.serialize_entry("S", text)?,
            AttributeValue::N(number) => map.serialize_entry("N", number)?,
            AttributeValue::Bool(flag) => map.serialize_entry("BOOL", flag)?,
            AttributeValue::Null(flag) => map.serialize_entry("NULL", flag)?,
            AttributeValue::B(blob) => map.serialize_entry("B", &STANDARD.encode(blob))?,
            AttributeValue::M(fields) => map.serialize_entry("M", &Fields(fields))?,
            AttributeValue::L(values) => map.serialize_entry("L", &List(values))?,
            AttributeValue::Ss(texts) => map.serialize_entry("SS", texts)?,
            AttributeValue::Ns(numbers) => map.serialize_entry("NS", numbers)?,
            AttributeValue::Bs(blobs) => {
                let encoded: Vec<String> = blobs.iter().map(|b| STANDARD.encode(b)).collect();
                map.serialize_entry("BS", &encoded)?
            }
            other => {
                return Err(S::Error::custom(format!(
                    "unknown attribute value {other:?}"
                )));
            }
        }
        map.end()
    }
}

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, &Value(value))?;
        }
        map.end()
    }
}

struct List<'a>(&'a [AttributeValue]);

impl Serialize for List<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for value in self.0 {
            seq.serialize_element(&Value(value))?;
        }
        seq.end()
    }
}

/// One write of a transaction, borrowed, written as TransactWriteItems takes it:
/// `{"Put": {...}}`, `{"Update": {...}}`, `{"Delete": {...}}` or `{"ConditionCheck": {...}}`.
pub(crate) struct Write<'a>(pub &'a TransactWriteItem);

/// What the four kinds of write say, each with the parts it has.
#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Operation<'a> {
    table_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<Fields<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<Fields<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update_expression: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    condition_expression: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expression_attribute_names: Option<&'a HashMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expression_attribute_values: Option<Fields<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_values_on_condition_check_failure: Option<&'a str>,
}

impl Serialize for Write<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some((kind, operation)) = parts(self.0) else {
            return Err(S::Error::custom("a transaction write with nothing to do"));
        };
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(kind, &operation)?;
        map.end()
    }
}

/// The same write made alone (PutItem, UpdateItem, DeleteItem): its parts and what it returns.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Single<'a> {
    #[serde(flatten)]
    operation: Operation<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_values: Option<&'a str>,
    return_consumed_capacity: &'static str,
}

impl<'a> Single<'a> {
    /// `write` made alone, returning `return_values` (`ALL_NEW`, ...): the operation's name
    /// and its body; none for a condition check, which only a transaction makes.
    pub(crate) fn of(
        write: &'a TransactWriteItem,
        return_values: Option<&'a str>,
    ) -> Option<(&'static str, Self)> {
        let (kind, operation) = parts(write)?;
        let name = match kind {
            "Put" => "PutItem",
            "Update" => "UpdateItem",
            "Delete" => "DeleteItem",
            _ => return None,
        };
        let single = Self {
            operation,
            return_values,
            return_consumed_capacity: "TOTAL",
        };
        Some((name, single))
    }
}

/// Which kind `write` is, and its parts.
fn parts(write: &TransactWriteItem) -> Option<(&'static str, Operation<'_>)> {
    if let Some(put) = write.put() {
        let operation = Operation {
            item: Some(Fields(put.item())),
            condition_expression: put.condition_expression(),
            ..Operation::on(
                put.table_name(),
                put.expression_attribute_names(),
                put.expression_attribute_values(),
                put.return_values_on_condition_check_failure(),
            )
        };
        Some(("Put", operation))
    } else if let Some(update) = write.update() {
        let operation = Operation {
            key: Some(Fields(update.key())),
            update_expression: Some(update.update_expression()),
            condition_expression: update.condition_expression(),
            ..Operation::on(
                update.table_name(),
                update.expression_attribute_names(),
                update.expression_attribute_values(),
                update.return_values_on_condition_check_failure(),
            )
        };
        Some(("Update", operation))
    } else if let Some(delete) = write.delete() {
        let operation = Operation {
            key: Some(Fields(delete.key())),
            condition_expression: delete.condition_expression(),
            ..Operation::on(
                delete.table_name(),
                delete.expression_attribute_names(),
                delete.expression_attribute_values(),
                delete.return_values_on_condition_check_failure(),
            )
        };
        Some(("Delete", operation))
    } else {
        let check = write.condition_check()?;
        let operation = Operation {
            key: Some(Fields(check.key())),
            condition_expression: Some(check.condition_expression()),
            ..Operation::on(
                check.table_name(),
                check.expression_attribute_names(),
                check.expression_attribute_values(),
                check.return_values_on_condition_check_failure(),
            )
        };
        Some(("ConditionCheck", operation))
    }
}

impl<'a> Operation<'a> {
    /// The parts every kind of write has.
    fn on(
        table_name: &'a str,
        names: Option<&'a HashMap<String, String>>,
        values: Option<&'a Item>,
        returning: Option<&'a ReturnValuesOnConditionCheckFailure>,
    ) -> Self {
        Self {
            table_name,
            expression_attribute_names: names,
            expression_attribute_values: values.map(Fields),
            return_values_on_condition_check_failure: returning.map(|r| r.as_str()),
            ..Self::default()
        }
    }
}

impl<'de> Deserialize<'de> for OwnedValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ValueVisitor).map(OwnedValue)
    }
}

impl<'de> Deserialize<'de> for OwnedItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ItemVisitor).map(OwnedItem)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = AttributeValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB attribute value such as {\"S\": \"text\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttributeValue, A::Error> {
        let Some(kind) = map.next_key::<TypeTag>()? else {
            return Err(de::Error::custom("an attribute value without its type"));
        };
        let value = match kind {
            TypeTag::S => AttributeValue::S(map.next_value()?),
            TypeTag::N => AttributeValue::N(map.next_value()?),
            TypeTag::Bool => AttributeValue::Bool(map.next_value()?),
            TypeTag::Null => AttributeValue::Null(map.next_value()?),
            TypeTag::B => AttributeValue::B(blob(&map.next_value::<String>()?)?),
            TypeTag::M => AttributeValue::M(map.next_value::<OwnedItem>()?.0),
            TypeTag::L => AttributeValue::L(
                map.next_value::<Vec<OwnedValue>>()?
                    .into_iter()
                    .map(|v| v.0)
                    .collect(),
            ),
            TypeTag::Ss => AttributeValue::Ss(map.next_value()?),
            TypeTag::Ns => AttributeValue::Ns(map.next_value()?),
            TypeTag::Bs => AttributeValue::Bs(
                map.next_value::<Vec<String>>()?
                    .iter()
                    .map(|text| blob(text))
                    .collect::<Result<_, _>>()?,
            ),
        };
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("an attribute value with two types"));
        }
        Ok(value)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB item: attribute names and their values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut item = HashMap::with_capacity(map.size_hint().unwrap_or(8));
        while let Some((name, value)) = map.next_entry::<String, OwnedValue>()? {
            item.insert(name, value.0);
        }
        Ok(item)
    }

    // DynamoDB never sends an empty item as anything but `{}`; `null` stands for no item.
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Item, A::Error> {
        Err(de::Error::custom("an item must be an object"))
    }
}

#[derive(Deserialize)]
enum TypeTag {
    S,
    N,
    #[serde(rename = "BOOL")]
    Bool,
    #[serde(rename = "NULL")]
    Null,
    B,
    M,
    L,
    #[serde(rename = "SS")]
    Ss,
    #[serde(rename = "NS")]
    Ns,
    #[serde(rename = "BS")]
    Bs,
}

fn blob<E: de::Error>(text: &str) -> Result<Blob, E> {
    STANDARD
        .decode(text)
        .map(Blob::new)
        .map_err(|e| E::custom(format!("a binary value that is not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Item {
        let s = |t: &str| AttributeValue::S(t.to_owned());
        HashMap::from([
            ("PK".to_owned(), s("T#acme#C#01")),
            ("name".to_owned(), s("Åsa \"Berg\" \\ \u{1F600}")),
            ("version".to_owned(), AttributeValue::N("12".into())),
            ("active".to_owned(), AttributeValue::Bool(true)),
            ("gone".to_owned(), AttributeValue::Null(true)),
            (
                "raw".to_owned(),
                AttributeValue::B(Blob::new(vec![0, 255, 7])),
            ),
            (
                "address".to_owned(),
                AttributeValue::M(HashMap::from([
                    ("city".to_owned(), s("Umeå")),
                    ("lines".to_owned(), AttributeValue::L(vec![s("1"), s("2")])),
                ])),
            ),
            (
                "tags".to_owned(),
                AttributeValue::Ss(vec!["a".into(), "b".into()]),
            ),
            (
                "sizes".to_owned(),
                AttributeValue::Ns(vec!["1".into(), "2.5".into()]),
            ),
            (
                "blobs".to_owned(),
                AttributeValue::Bs(vec![Blob::new(vec![1]), Blob::new(Vec::new())]),
            ),
            ("empty".to_owned(), AttributeValue::M(HashMap::new())),
        ])
    }

    #[test]
    fn every_kind_of_value_goes_there_and_back() {
        let item = every_kind();
        let json = serde_json::to_string(&Fields(&item)).unwrap();
        let back: OwnedItem = serde_json::from_str(&json).unwrap();
        assert_eq!(back.0, item);
    }

    /// The wire format as DynamoDB's documentation writes it, read into the SDK's values.
    #[test]
    fn dynamodbs_json_is_read_as_documented() {
        let json = r#"{"id": {"S": "x"}, "n": {"N": "-1.5e3"}, "b": {"B": "dGV4dA=="},
            "l": {"L": [{"S": "a"}, {"NULL": true}, {"M": {"k": {"BOOL": false}}}]}}"#;
        let item = serde_json::from_str::<OwnedItem>(json).unwrap().0;
        assert_eq!(item["id"], AttributeValue::S("x".into()));
        assert_eq!(item["n"], AttributeValue::N("-1.5e3".into()));
        assert_eq!(item["b"], AttributeValue::B(Blob::new(b"text".to_vec())));
        let AttributeValue::L(list) = &item["l"] else {
            panic!("a list")
        };
        assert_eq!(list[1], AttributeValue::Null(true));
        assert_eq!(
            list[2],
            AttributeValue::M(HashMap::from([(
                "k".to_owned(),
                AttributeValue::Bool(false)
            )]))
        );
        let value = serde_json::to_value(Value(&AttributeValue::N("7".into()))).unwrap();
        assert_eq!(value, serde_json::json!({"N": "7"}));
    }

    #[test]
    fn a_value_must_name_exactly_one_known_type() {
        for bad in [
            r#"{"x": {}}"#,
            r#"{"x": {"Q": "1"}}"#,
            r#"{"x": {"S": "a", "N": "1"}}"#,
            r#"{"x": {"N": 1}}"#,
            r#"{"x": {"B": "not base64!"}}"#,
            r#"{"x": "plain"}"#,
        ] {
            assert!(serde_json::from_str::<OwnedItem>(bad).is_err(), "{bad}");
        }
    }

    /// A transaction's writes as TransactWriteItems takes them, each kind with its own parts
    /// and none of the parts it does not have.
    #[test]
    fn each_kind_of_write_is_written_as_dynamodb_reads_it() {
        use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, Update};
        let s = |t: &str| AttributeValue::S(t.to_owned());
        let key: Item = HashMap::from([("PK".to_owned(), s("p")), ("SK".to_owned(), s("s"))]);
        let put = Put::builder()
            .table_name("t")
            .set_item(Some(key.clone()))
            .condition_expression("attribute_not_exists(PK)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .unwrap();
        let update = Update::builder()
            .table_name("t")
            .set_key(Some(key.clone()))
            .update_expression("SET #v = :v")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", AttributeValue::N("2".into()))
            .build()
            .unwrap();
        let delete = Delete::builder()
            .table_name("t")
            .set_key(Some(key.clone()))
            .build()
            .unwrap();
        let check = ConditionCheck::builder()
            .table_name("t")
            .set_key(Some(key))
            .condition_expression("attribute_exists(PK)")
            .build()
            .unwrap();
        let writes = [
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().condition_check(check).build(),
        ];
        let json: Vec<serde_json::Value> = writes
            .iter()
            .map(|w| serde_json::to_value(Write(w)).unwrap())
            .collect();
        let key = serde_json::json!({"PK": {"S": "p"}, "SK": {"S": "s"}});
        assert_eq!(
            json,
            [
                serde_json::json!({"Put": {"TableName": "t", "Item": key,
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}),
                serde_json::json!({"Update": {"TableName": "t", "Key": key,
                    "UpdateExpression": "SET #v = :v",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":v": {"N": "2"}}}}),
                serde_json::json!({"Delete": {"TableName": "t", "Key": key}}),
                serde_json::json!({"ConditionCheck": {"TableName": "t", "Key": key,
                    "ConditionExpression": "attribute_exists(PK)"}}),
            ]
        );
        let empty = TransactWriteItem::builder().build();
        assert!(serde_json::to_value(Write(&empty)).is_err());
    }

    #[test]
    fn a_write_made_alone_names_its_operation_and_what_it_returns() {
        use aws_sdk_dynamodb::types::Update;
        let key: Item = HashMap::from([("PK".to_owned(), AttributeValue::S("p".into()))]);
        let update = Update::builder()
            .table_name("t")
            .set_key(Some(key))
            .update_expression("ADD #n :one")
            .expression_attribute_names("#n", "next")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .unwrap();
        let write = TransactWriteItem::builder().update(update).build();
        let (name, single) = Single::of(&write, Some("UPDATED_NEW")).unwrap();
        assert_eq!(name, "UpdateItem");
        assert_eq!(
            serde_json::to_value(single).unwrap(),
            serde_json::json!({"TableName": "t", "Key": {"PK": {"S": "p"}},
                "UpdateExpression": "ADD #n :one", "ExpressionAttributeNames": {"#n": "next"},
                "ExpressionAttributeValues": {":one": {"N": "1"}},
                "ReturnValues": "UPDATED_NEW", "ReturnConsumedCapacity": "TOTAL"})
        );
    }
}
