//! The little XML AWS's S3 and query-protocol answers need read: an element's text, found by
//! name, entities resolved. Their answers are small and flat, and none of our reads needs
//! attributes, namespaces or nesting of an element in itself.

/// The text of the first `<name>…</name>` in `xml` (the elements AWS answers with carry no attributes).
pub(crate) fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    elements(xml, name).next()
}

/// The text of every `<name>…</name>` in `xml`, in order, not nested.
pub(crate) fn elements<'a>(xml: &'a str, name: &str) -> impl Iterator<Item = &'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut rest = xml;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let end = start + rest[start..].find(&close)?;
        let text = &rest[start..end];
        rest = &rest[end + close.len()..];
        Some(text)
    })
}

/// XML text with its five named entities and numeric character references resolved.
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let resolved = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match resolved {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_and_character_references_are_resolved() {
        assert_eq!(
            unescape("a&amp;b&lt;&gt;&quot;&apos;&#233;&#xE9;"),
            "a&b<>\"'éé"
        );
        assert_eq!(unescape("50 &unknown; & more"), "50 &unknown; & more");
    }

    #[test]
    fn an_element_is_found_by_name_and_every_one_in_order() {
        let xml = "<A><B>1</B><C>x</C><B>2</B></A>";
        assert_eq!(element(xml, "C"), Some("x"));
        assert_eq!(elements(xml, "B").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(element(xml, "D"), None);
    }
}
