//! A YAML (or JSON) document as a tree whose every node remembers its line and column.
//!
//! serde stops at the first error and forgets positions; this tree lets the loader report every
//! problem at once and place each one in the file. It also catches what serde and most YAML
//! libraries let through silently: duplicate keys, several documents in one file, and codes such as
//! `00070` that YAML would turn into the number 70 (here they stay text).

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::diagnostic::{FieldPath, Problem, ProblemKind, Segment};

/// Deepest nesting accepted; a catalog needs fewer than ten levels.
const MAX_DEPTH: usize = 64;

/// A position in the source: line and column from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn of(span: &Span) -> Self {
        Self {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Node,
}

impl Node {
    /// The node at `path`, or the deepest node on the way there (for a missing field, its parent).
    /// With `at_key`, the position of the last key rather than its value.
    pub fn locate(&self, path: &FieldPath, at_key: bool) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for segment in &path.0 {
            let next = match (&node.value, segment) {
                (Value::Map(entries), Segment::Key(key)) => {
                    entries.iter().find(|e| &e.key == key).map(|e| (e.key_pos, &e.value))
                }
                (Value::Seq(items), Segment::Index(index)) => items.get(*index).map(|n| (n.pos, n)),
                _ => None,
            };
            match next {
                Some((key_pos, child)) => {
                    pos = if at_key { key_pos } else { child.pos };
                    node = child;
                }
                None => return node.pos,
            }
        }
        pos
    }

    /// The node as JSON, for schema validation and deserialization.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(x) => {
                serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Seq(items) => serde_json::Value::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                serde_json::Value::Object(entries.iter().map(|e| (e.key.clone(), e.value.to_json())).collect())
            }
        }
    }
}

/// Parses one YAML document. A syntax error ends parsing (nothing after it can be trusted);
/// duplicate keys are reported and the first occurrence kept.
pub(crate) fn parse(text: &str) -> Result<(Node, Vec<Problem>), Problem> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: Vec::new(),
        problems: Vec::new(),
    };
    let root = builder.document()?;
    Ok((root, builder.problems))
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: Vec<(usize, Node)>,
    problems: Vec<Problem>,
}

fn syntax(path: &FieldPath, message: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::Syntax, path.clone(), message)
}

impl<'a> Builder<'a> {
    fn next(&mut self, path: &FieldPath) -> Result<(Event<'a>, Span), Problem> {
        match self.parser.next_event() {
            Some(Ok(event)) => Ok(event),
            Some(Err(error)) => {
                let mark = error.marker();
                Err(syntax(path, error.info()).at(mark.line(), mark.col() + 1))
            }
            None => Err(syntax(path, "unexpected end of file")),
        }
    }

    fn document(&mut self) -> Result<Node, Problem> {
        let root = FieldPath::root();
        let mut document = None;
        loop {
            let (event, span) = self.next(&root)?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::DocumentStart(_) if document.is_some() => {
                    let pos = Pos::of(&span);
                    return Err(
                        syntax(&root, "a catalog file holds one YAML document; found a second one")
                            .at(pos.line, pos.column),
                    );
                }
                Event::DocumentStart(_) => {
                    let (event, span) = self.next(&root)?;
                    document = Some(self.node(event, span, &root, 0)?);
                }
                Event::StreamEnd => break,
                _ => {
                    let pos = Pos::of(&span);
                    return Err(syntax(&root, "unexpected content outside the document").at(pos.line, pos.column));
                }
            }
        }
        document.ok_or_else(|| syntax(&root, "the catalog file is empty"))
    }

    fn node(&mut self, event: Event<'a>, span: Span, path: &FieldPath, depth: usize) -> Result<Node, Problem> {
        if depth > MAX_DEPTH {
            return Err(syntax(path, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let pos = Pos::of(&span);
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_string = match tag.as_deref() {
                    None => false,
                    Some(tag) if tag.suffix == "str" => true,
                    Some(tag) => {
                        return Err(syntax(
                            path,
                            format!("YAML tag `!{}` is not supported in a catalog", tag.suffix),
                        )
                        .at(pos.line, pos.column));
                    }
                };
                let value = if style == ScalarStyle::Plain && !forced_string {
                    resolve_plain(&text)
                } else {
                    Value::Str(text.into_owned())
                };
                (Node { value, pos }, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let item_path = path.index(items.len());
                    let (event, span) = self.next(&item_path)?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, span, &item_path, depth + 1)?);
                }
                (
                    Node {
                        value: Value::Seq(items),
                        pos,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<Entry> = Vec::new();
                loop {
                    let (event, span) = self.next(path)?;
                    let key = match event {
                        Event::MappingEnd => break,
                        Event::Scalar(text, ..) => text.into_owned(),
                        _ => {
                            let pos = Pos::of(&span);
                            return Err(syntax(path, "mapping keys must be plain text").at(pos.line, pos.column));
                        }
                    };
                    let key_pos = Pos::of(&span);
                    let value_path = path.key(key.clone());
                    let (event, span) = self.next(&value_path)?;
                    let value = self.node(event, span, &value_path, depth + 1)?;
                    if let Some(first) = entries.iter().find(|e| e.key == key) {
                        let message = format!("`{key}` is declared twice (first at line {})", first.key_pos.line);
                        self.problems.push(
                            Problem::new(ProblemKind::Duplicate, value_path, message).at(key_pos.line, key_pos.column),
                        );
                        continue;
                    }
                    entries.push(Entry { key, key_pos, value });
                }
                (
                    Node {
                        value: Value::Map(entries),
                        pos,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(anchor, _)| *anchor == id)
                    .map(|(_, node)| node.clone())
                    .ok_or_else(|| syntax(path, "unknown alias").at(pos.line, pos.column))?;
                (node, 0)
            }
            _ => return Err(syntax(path, "unexpected YAML event").at(pos.line, pos.column)),
        };
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        Ok(node)
    }
}

/// YAML 1.2 core-schema resolution of a plain scalar, except that digit strings with a leading
/// zero (`00070`, `01`) stay text: in this domain they are codes, and reading them as numbers
/// would silently change them.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let digits_only = !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit());
    if digits_only {
        if unsigned.len() > 1 && unsigned.starts_with('0') {
            return Value::Str(text.to_owned());
        }
        return text.parse().map_or_else(|_| Value::Str(text.to_owned()), Value::Int);
    }
    let numeric_shape = unsigned.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && unsigned.bytes().any(|b| b.is_ascii_digit())
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    let leading_zero = unsigned.len() > 1 && unsigned.starts_with('0') && !unsigned.starts_with("0.");
    if numeric_shape
        && !leading_zero
        && let Ok(x) = text.parse::<f64>()
    {
        return Value::Float(x);
    }
    Value::Str(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        match parse(text) {
            Ok((node, problems)) => {
                assert!(problems.is_empty(), "{problems:?}");
                node
            }
            Err(problem) => panic!("{problem:?}"),
        }
    }

    #[test]
    fn scalars_resolve_like_yaml_core_but_codes_stay_text() {
        let json =
            root("a: 00070\nb: 70\nc: 2.5\nd: true\ne: ~\nf: '12'\ng: 000.00.00.G01\nh: 2025-07-01\ni: 01\n").to_json();
        assert_eq!(json["a"], "00070");
        assert_eq!(json["b"], 70);
        assert_eq!(json["c"], 2.5);
        assert_eq!(json["d"], true);
        assert!(json["e"].is_null());
        assert_eq!(json["f"], "12");
        assert_eq!(json["g"], "000.00.00.G01");
        assert_eq!(json["h"], "2025-07-01");
        assert_eq!(json["i"], "01");
    }

    #[test]
    fn positions_point_at_values_and_keys() {
        let node = root("x:\n  y:\n    - 1\n    - z: 2\n");
        let path = FieldPath::of(&["x", "y"]).index(1).key("z");
        assert_eq!(node.locate(&path, false), Pos { line: 4, column: 10 });
        assert_eq!(node.locate(&path, true), Pos { line: 4, column: 7 });
        // A missing field points at its parent.
        assert_eq!(
            node.locate(&FieldPath::of(&["x", "nope"]), false),
            Pos { line: 2, column: 3 }
        );
    }

    #[test]
    fn duplicate_keys_are_problems() {
        let (node, problems) = parse("a: 1\nb: 2\na: 3\n")
            .map_err(|p| p.message)
            .unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(node.to_json()["a"], 1);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].kind, ProblemKind::Duplicate);
        assert!(
            problems[0].message.contains("first at line 1"),
            "{}",
            problems[0].message
        );
        assert_eq!(problems[0].line_column, Some((3, 1)));
    }

    #[test]
    fn syntax_errors_and_multiple_documents_fail() {
        assert!(parse("a: [1, 2\n").is_err());
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
        assert!(parse("").is_err());
    }
}
