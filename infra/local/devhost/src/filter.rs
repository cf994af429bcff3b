//! Lambda's event filtering (`FilterCriteria.Filters[].Pattern`), applied to a record as Lambda
//! sees it (for a DynamoDB stream: `{"eventName": ..., "dynamodb": {"NewImage": ...}, ...}`).
//!
//! Reference: "Control which events Lambda sends to your function" (event filtering) in the
//! Lambda developer guide, whose syntax is EventBridge's event patterns:
//!
//! - A pattern is a JSON object; a nested object matches the nested field of the record, every
//!   field of the pattern must match (and).
//! - A leaf is an array of what the field may be (or): strings, numbers (compared as numbers),
//!   booleans, `null`, and operator objects: `{"prefix": "..."}`, `{"suffix": "..."}`,
//!   `{"equals-ignore-case": "..."}`, `{"exists": true|false}`, `{"anything-but": value | [values]
//!   | {"prefix": "..."}}`, `{"numeric": [">", 0, "<=", 5]}`.
//! - A record field that is an array matches when one of its elements does.
//! - `exists` looks at leaves only: `{"exists": true}` matches a field that is there and is not
//!   an object; `{"exists": false}` is its opposite (EventBridge's rule). Every other matcher
//!   needs the field to be there.
//! - `numeric` compares JSON numbers only. DynamoDB numbers arrive as text
//!   (`{"N": "5"}`), so a numeric filter on an image's `N` never matches, deployed or here.
//! - Several filters: a record matching any of them is delivered; no filters: every record.
//!
//! Patterns are parsed when the template is loaded; an invalid one is refused with the reason.

use serde_json::{Map, Value};

/// One parsed `Pattern`.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPattern {
    /// The pattern as written in the template.
    pub source: String,
    fields: Vec<(String, Node)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Object(Vec<(String, Node)>),
    /// A leaf: the field matches when one of these does.
    Values(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    /// A string, number, boolean or null.
    Equals(Value),
    EqualsIgnoreCase(String),
    Prefix(String),
    Suffix(String),
    Exists(bool),
    AnythingBut(Vec<Value>),
    AnythingButPrefix(String),
    Numeric(Vec<(Comparison, f64)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl FilterPattern {
    /// Parses a `Pattern` (JSON text); the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<FilterPattern, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("pattern is not JSON: {e}"))?;
        let Value::Object(map) = &value else {
            return Err("a pattern must be a JSON object".into());
        };
        if map.is_empty() {
            return Err("a pattern must name at least one field".into());
        }
        Ok(FilterPattern {
            source: text.to_owned(),
            fields: parse_object(map, "")?,
        })
    }

    /// Whether `record` matches this pattern.
    pub fn matches(&self, record: &Value) -> bool {
        fields_match(&self.fields, Some(record))
    }
}

/// Lambda's rule for `FilterCriteria`: no filters deliver everything, otherwise a record
/// matching any filter is delivered.
pub fn matches_any(filters: &[FilterPattern], record: &Value) -> bool {
    filters.is_empty() || filters.iter().any(|f| f.matches(record))
}

fn parse_object(map: &Map<String, Value>, path: &str) -> Result<Vec<(String, Node)>, String> {
    map.iter()
        .map(|(key, value)| {
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let node = match value {
                Value::Object(inner) if inner.is_empty() => {
                    return Err(format!("{path}: an empty object matches nothing"));
                }
                Value::Object(inner) => Node::Object(parse_object(inner, &path)?),
                Value::Array(items) => Node::Values(
                    items
                        .iter()
                        .map(|item| parse_matcher(item).map_err(|e| format!("{path}: {e}")))
                        .collect::<Result<_, _>>()?,
                ),
                other => {
                    return Err(format!(
                        "{path}: a value to match must be in an array ([{other}]), or be an object \
                         of nested fields"
                    ));
                }
            };
            Ok((key.clone(), node))
        })
        .collect()
}

fn parse_matcher(item: &Value) -> Result<Matcher, String> {
    let operator = match item {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {
            return Ok(Matcher::Equals(item.clone()));
        }
        Value::Array(_) => return Err("arrays do not nest in a pattern".into()),
        Value::Object(operator) => operator,
    };
    let mut entries = operator.iter();
    let (Some((name, argument)), None) = (entries.next(), entries.next()) else {
        return Err(format!("an operator object has exactly one key: {item}"));
    };
    let text = |what: &str| {
        argument
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{what} takes a string, not {argument}"))
    };
    match name.as_str() {
        "prefix" => Ok(Matcher::Prefix(text("prefix")?)),
        "suffix" => Ok(Matcher::Suffix(text("suffix")?)),
        "equals-ignore-case" => Ok(Matcher::EqualsIgnoreCase(text("equals-ignore-case")?)),
        "exists" => argument
            .as_bool()
            .map(Matcher::Exists)
            .ok_or_else(|| format!("exists takes true or false, not {argument}")),
        "anything-but" => parse_anything_but(argument),
        "numeric" => parse_numeric(argument),
        other => Err(format!(
            "unknown operator {other:?} (known: prefix, suffix, equals-ignore-case, exists, \
             anything-but, numeric)"
        )),
    }
}

fn parse_anything_but(argument: &Value) -> Result<Matcher, String> {
    let scalar = |value: &Value| match value {
        Value::String(_) | Value::Number(_) => Ok(value.clone()),
        other => Err(format!(
            "anything-but takes strings or numbers, not {other}"
        )),
    };
    match argument {
        Value::Array(items) if items.is_empty() => Err("anything-but needs a value".into()),
        Value::Array(items) => Ok(Matcher::AnythingBut(
            items.iter().map(scalar).collect::<Result<_, _>>()?,
        )),
        Value::Object(operator) => match operator.get("prefix") {
            Some(Value::String(prefix)) if operator.len() == 1 => {
                Ok(Matcher::AnythingButPrefix(prefix.clone()))
            }
            _ => Err(format!(
                "anything-but takes a value, a list or {{\"prefix\": \"...\"}}, not {argument}"
            )),
        },
        other => Ok(Matcher::AnythingBut(vec![scalar(other)?])),
    }
}

fn parse_numeric(argument: &Value) -> Result<Matcher, String> {
    let fail = || {
        format!(
            "numeric takes one or two comparisons such as [\">\", 0, \"<=\", 5], not {argument}"
        )
    };
    let items = argument.as_array().ok_or_else(fail)?;
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(fail());
    }
    let mut comparisons = Vec::new();
    for pair in items.chunks(2) {
        let comparison = match pair[0].as_str() {
            Some("=") => Comparison::Equal,
            Some("<") => Comparison::Less,
            Some("<=") => Comparison::LessOrEqual,
            Some(">") => Comparison::Greater,
            Some(">=") => Comparison::GreaterOrEqual,
            _ => return Err(fail()),
        };
        let number = pair[1].as_f64().ok_or_else(fail)?;
        comparisons.push((comparison, number));
    }
    if comparisons.len() == 2 && comparisons.iter().any(|(c, _)| *c == Comparison::Equal) {
        return Err(fail());
    }
    Ok(Matcher::Numeric(comparisons))
}

fn fields_match(fields: &[(String, Node)], value: Option<&Value>) -> bool {
    let object = value.and_then(Value::as_object);
    fields.iter().all(|(key, node)| {
        let child = object.and_then(|o| o.get(key));
        match node {
            Node::Object(inner) => fields_match(inner, child),
            Node::Values(matchers) => matchers.iter().any(|m| matcher_matches(m, child)),
        }
    })
}

fn matcher_matches(matcher: &Matcher, value: Option<&Value>) -> bool {
    if let Matcher::Exists(wanted) = matcher {
        let is_leaf = value.is_some_and(|v| !v.is_object());
        return is_leaf == *wanted;
    }
    match value {
        None | Some(Value::Object(_)) => false,
        Some(Value::Array(items)) => items.iter().any(|item| scalar_matches(matcher, item)),
        Some(scalar) => scalar_matches(matcher, scalar),
    }
}

fn scalar_matches(matcher: &Matcher, value: &Value) -> bool {
    match matcher {
        Matcher::Equals(expected) => same_value(expected, value),
        Matcher::EqualsIgnoreCase(expected) => value
            .as_str()
            .is_some_and(|text| text.to_lowercase() == expected.to_lowercase()),
        Matcher::Prefix(prefix) => value
            .as_str()
            .is_some_and(|t| t.starts_with(prefix.as_str())),
        Matcher::Suffix(suffix) => value.as_str().is_some_and(|t| t.ends_with(suffix.as_str())),
        Matcher::Exists(_) => unreachable!("handled before"),
        Matcher::AnythingBut(excluded) => {
            (value.is_string() || value.is_number())
                && !excluded.iter().any(|e| same_value(e, value))
        }
        Matcher::AnythingButPrefix(prefix) => value
            .as_str()
            .is_some_and(|text| !text.starts_with(prefix.as_str())),
        Matcher::Numeric(comparisons) => value.as_f64().is_some_and(|number| {
            comparisons
                .iter()
                .all(|(comparison, bound)| match comparison {
                    Comparison::Equal => number == *bound,
                    Comparison::Less => number < *bound,
                    Comparison::LessOrEqual => number <= *bound,
                    Comparison::Greater => number > *bound,
                    Comparison::GreaterOrEqual => number >= *bound,
                })
        }),
    }
}

/// Equality of a pattern value and a record value: numbers by value (`5` is `5.0`), the rest
/// exactly.
fn same_value(expected: &Value, value: &Value) -> bool {
    match (expected, value) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => expected == value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pattern(value: Value) -> FilterPattern {
        FilterPattern::parse(&value.to_string()).unwrap()
    }

    fn matches(pattern_value: Value, record: Value) -> bool {
        pattern(pattern_value).matches(&record)
    }

    /// The template's pattern for `CustomersCascadeFunction`: customers that turned inactive.
    const CASCADE: &str = r#"{"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"entity": {"S": ["Customer"]}, "status": {"S": ["inactive"]}}, "OldImage": {"status": {"S": ["active"]}}}}"#;

    fn record(event_name: &str, old: Option<(&str, &str)>, new: Option<(&str, &str)>) -> Value {
        let image = |(entity, status): (&str, &str)| json!({"PK": {"S": "T#acme#C#1"}, "entity": {"S": entity}, "status": {"S": status}});
        let mut dynamodb = json!({"Keys": {"PK": {"S": "T#acme#C#1"}}, "SequenceNumber": "1"});
        if let Some(old) = old {
            dynamodb["OldImage"] = image(old);
        }
        if let Some(new) = new {
            dynamodb["NewImage"] = image(new);
        }
        json!({"eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": dynamodb})
    }

    #[test]
    fn the_cascade_pattern_matches_customers_that_turned_inactive_only() {
        let cascade = FilterPattern::parse(CASCADE).unwrap();
        let turned = record(
            "MODIFY",
            Some(("Customer", "active")),
            Some(("Customer", "inactive")),
        );
        assert!(cascade.matches(&turned));
        for other in [
            record(
                "MODIFY",
                Some(("Customer", "inactive")),
                Some(("Customer", "inactive")),
            ),
            record(
                "MODIFY",
                Some(("Customer", "inactive")),
                Some(("Customer", "active")),
            ),
            record("INSERT", None, Some(("Customer", "inactive"))),
            record("REMOVE", Some(("Customer", "active")), None),
            record(
                "MODIFY",
                Some(("Site", "active")),
                Some(("Site", "inactive")),
            ),
        ] {
            assert!(!cascade.matches(&other), "{other}");
        }
        assert_eq!(cascade.source, CASCADE);
    }

    #[test]
    fn values_in_an_array_are_alternatives_and_fields_must_all_match() {
        let p = json!({"a": ["x", "y"], "b": [1]});
        assert!(matches(p.clone(), json!({"a": "y", "b": 1.0})));
        assert!(!matches(p.clone(), json!({"a": "z", "b": 1})));
        assert!(!matches(p.clone(), json!({"a": "x"})), "b missing");
        assert!(
            !matches(p, json!({"a": "x", "b": "1"})),
            "text is not a number"
        );
        assert!(matches(json!({"flag": [true]}), json!({"flag": true})));
        assert!(!matches(json!({"flag": [true]}), json!({"flag": "true"})));
        assert!(matches(json!({"n": [null]}), json!({"n": null})));
        assert!(
            !matches(json!({"n": [null]}), json!({})),
            "null is not missing"
        );
        assert!(matches(json!({"e": [""]}), json!({"e": ""})));
        assert!(
            matches(json!({"tags": ["vip"]}), json!({"tags": ["a", "vip"]})),
            "an array field matches when an element does"
        );
        assert!(
            !matches(json!({"a": ["x"]}), json!({"a": {"x": 1}})),
            "a value never matches an object"
        );
    }

    #[test]
    fn prefix_suffix_and_case_insensitive_equality() {
        let p = json!({"dynamodb": {"Keys": {"PK": {"S": [{"prefix": "T#acme#"}]}}}});
        let key = |pk: &str| json!({"dynamodb": {"Keys": {"PK": {"S": pk}}}});
        assert!(matches(p.clone(), key("T#acme#C#1")));
        assert!(!matches(p, key("T#other#C#1")));
        assert!(matches(
            json!({"a": [{"suffix": ".csv"}]}),
            json!({"a": "x.csv"})
        ));
        assert!(!matches(
            json!({"a": [{"suffix": ".csv"}]}),
            json!({"a": 3})
        ));
        assert!(matches(
            json!({"a": [{"equals-ignore-case": "ÅSA"}]}),
            json!({"a": "åsa"})
        ));
    }

    #[test]
    fn exists_looks_at_leaves() {
        let exists = json!({"dynamodb": {"OldImage": {"status": [{"exists": true}]}}});
        let missing = json!({"dynamodb": {"OldImage": {"status": [{"exists": false}]}}});
        let with = json!({"dynamodb": {"OldImage": {"status": {"S": "active"}}}});
        let insert = json!({"dynamodb": {"NewImage": {"status": {"S": "active"}}}});
        assert!(
            !matches(exists.clone(), with.clone()),
            "status is an object, not a leaf"
        );
        let leaf = json!({"dynamodb": {"OldImage": {"status": {"S": [{"exists": true}]}}}});
        assert!(matches(leaf.clone(), with.clone()));
        assert!(!matches(leaf, insert.clone()));
        assert!(matches(missing.clone(), insert), "no OldImage at all");
        assert!(
            matches(missing, with),
            "EventBridge: an object is not a leaf"
        );
        assert!(!matches(exists, json!({})));
        assert!(matches(
            json!({"a": [{"exists": true}]}),
            json!({"a": null})
        ));
    }

    #[test]
    fn anything_but_needs_the_field_and_excludes_values_or_a_prefix() {
        let p = json!({"status": [{"anything-but": ["active", "archived"]}]});
        assert!(matches(p.clone(), json!({"status": "inactive"})));
        assert!(!matches(p.clone(), json!({"status": "active"})));
        assert!(
            !matches(p, json!({})),
            "a missing field matches no value matcher"
        );
        let single = json!({"n": [{"anything-but": 5}]});
        assert!(matches(single.clone(), json!({"n": 6})));
        assert!(!matches(single.clone(), json!({"n": 5.0})));
        assert!(
            matches(single, json!({"n": "5"})),
            "text is not the number 5"
        );
        let prefix = json!({"k": [{"anything-but": {"prefix": "tmp/"}}]});
        assert!(matches(prefix.clone(), json!({"k": "imports/x"})));
        assert!(!matches(prefix, json!({"k": "tmp/x"})));
    }

    #[test]
    fn numeric_ranges_compare_numbers_only() {
        let p = json!({"n": [{"numeric": [">", 0, "<=", 5]}]});
        assert!(matches(p.clone(), json!({"n": 5})));
        assert!(matches(p.clone(), json!({"n": 0.5})));
        assert!(!matches(p.clone(), json!({"n": 0})));
        assert!(!matches(p.clone(), json!({"n": 6})));
        assert!(
            !matches(p, json!({"n": "3"})),
            "DynamoDB's N is text: no match"
        );
        assert!(matches(
            json!({"n": [{"numeric": ["=", 3]}]}),
            json!({"n": 3.0})
        ));
        assert!(matches(
            json!({"n": [{"numeric": [">=", 3]}]}),
            json!({"n": 3})
        ));
        assert!(!matches(
            json!({"n": [{"numeric": ["<", 3]}]}),
            json!({"n": 3})
        ));
    }

    #[test]
    fn several_filters_deliver_a_record_matching_any_and_none_deliver_all() {
        let filters = [
            pattern(json!({"eventName": ["INSERT"]})),
            pattern(json!({"eventName": ["REMOVE"]})),
        ];
        assert!(matches_any(&filters, &json!({"eventName": "REMOVE"})));
        assert!(!matches_any(&filters, &json!({"eventName": "MODIFY"})));
        assert!(matches_any(&[], &json!({"eventName": "MODIFY"})));
    }

    #[test]
    fn invalid_patterns_are_refused_with_the_reason() {
        for (text, expected) in [
            ("{\"a\": ", "not JSON"),
            ("[\"a\"]", "JSON object"),
            ("{}", "at least one field"),
            (
                "{\"eventName\": \"MODIFY\"}",
                "eventName: a value to match must be in an array",
            ),
            ("{\"a\": {}}", "empty object"),
            ("{\"a\": [[\"x\"]]}", "do not nest"),
            (
                "{\"a\": [{\"wildcard\": \"x*\"}]}",
                "unknown operator \"wildcard\"",
            ),
            (
                "{\"a\": [{\"prefix\": \"x\", \"suffix\": \"y\"}]}",
                "exactly one key",
            ),
            ("{\"a\": [{\"prefix\": 3}]}", "prefix takes a string"),
            (
                "{\"a\": [{\"exists\": \"yes\"}]}",
                "exists takes true or false",
            ),
            ("{\"a\": [{\"anything-but\": []}]}", "needs a value"),
            (
                "{\"a\": [{\"anything-but\": [true]}]}",
                "strings or numbers",
            ),
            ("{\"a\": [{\"numeric\": [\">\"]}]}", "numeric takes"),
            ("{\"a\": [{\"numeric\": [\"~\", 1]}]}", "numeric takes"),
            ("{\"a\": [{\"numeric\": [\">\", \"1\"]}]}", "numeric takes"),
            (
                "{\"b\": {\"c\": [{\"numeric\": [\"=\", 1, \"<\", 2]}]}}",
                "b.c: numeric",
            ),
        ] {
            let error = FilterPattern::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
