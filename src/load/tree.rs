//! A YAML/JSON document parsed into a `serde_json::Value` plus the line of every path,
//! so that errors found after parsing can still name the line they are about.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::Spanned;
use std::collections::HashMap;
use std::fmt;

/// One parsed document: its value and the line (1-based) of each path in it.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document as JSON.
    pub value: Value,
    /// First line of the document in its file.
    pub line: u64,
    lines: HashMap<String, u64>,
}

impl Document {
    /// The line of `path` (e.g. `spec.definition.steps.a.transitions[0]`), or of the
    /// nearest enclosing path that has one.
    pub fn line_of(&self, path: &str) -> u64 {
        let mut p = path;
        loop {
            if let Some(line) = self.lines.get(p) {
                return *line;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return self.line,
            }
        }
    }
}

/// Parses every document of a YAML (or JSON) text. Empty documents are skipped.
pub fn parse(text: &str) -> Result<Vec<Document>, serde_saphyr::Error> {
    let nodes: Vec<Spanned<Node>> = serde_saphyr::from_multiple(text)?;
    Ok(nodes
        .into_iter()
        .filter(|n| !matches!(n.value, Node::Null))
        .map(|n| {
            let mut lines = HashMap::new();
            let line = n.referenced.line();
            let value = flatten(n.value, String::new(), &mut lines);
            Document { value, line, lines }
        })
        .collect())
}

/// Joins a map key onto a path.
pub fn key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

enum Node {
    Null,
    Bool(bool),
    Number(Number),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

fn flatten(node: Node, path: String, lines: &mut HashMap<String, u64>) -> Value {
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Number(n) => Value::Number(n),
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    let p = format!("{path}[{i}]");
                    lines.insert(p.clone(), item.referenced.line());
                    flatten(item.value, p, lines)
                })
                .collect(),
        ),
        Node::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let p = key_path(&path, &key.value);
                lines.insert(p.clone(), key.referenced.line());
                map.insert(key.value, flatten(value.value, p, lines));
            }
            Value::Object(map)
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("NaN and infinite numbers are not allowed"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries: Vec<(Spanned<String>, Spanned<Node>)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            if entries.iter().any(|(k, _)| k.value == key.value) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}` at line {}",
                    key.value,
                    key.referenced.line()
                )));
            }
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_recorded_for_nested_keys_and_items() {
        let text = "a: 1\n---\nkind: Flow\nspec:\n  steps:\n    s1:\n      next: s2\n  list:\n    - x\n    - y\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 2);
        let d = &docs[1];
        assert_eq!(d.value["spec"]["steps"]["s1"]["next"], "s2");
        assert_eq!(d.line_of("spec.steps.s1.next"), 7);
        assert_eq!(d.line_of("spec.list[1]"), 10);
        assert_eq!(d.line_of("spec.steps.s1.missing"), 6);
    }

    #[test]
    fn json_parses_with_lines() {
        let docs = parse("{\n  \"id\": \"x\",\n  \"steps\": {\n    \"a\": 1.5\n  }\n}\n").unwrap();
        assert_eq!(docs[0].value["steps"]["a"], 1.5);
        assert_eq!(docs[0].line_of("steps.a"), 4);
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.location().is_some(), "{err}");
    }
}
