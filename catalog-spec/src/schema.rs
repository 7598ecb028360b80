//! The catalog's JSON Schema, generated from the Rust types, and structural checks against it.
//!
//! The loader checks the document's shape against the schema before deserializing, because a
//! schema validator reports *every* unknown key, missing field and wrong type, where serde would
//! stop at the first one.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value as Json;

use crate::diagnostic::{FieldPath, Problem, ProblemKind, Segment};
use crate::model::Catalog;
use crate::tree::{Node, Value};

/// The JSON Schema of the catalog format (draft 2020-12), as published in
/// `catalog-spec/catalog.schema.json`.
///
/// ```
/// let schema = lienthong_spec::json_schema();
/// assert_eq!(schema["title"], "lienthong catalog");
/// ```
pub fn json_schema() -> Json {
    schema_value().clone()
}

fn schema_value() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA.get_or_init(|| schemars::schema_for!(Catalog).to_value())
}

fn validator() -> Result<&'static Validator, String> {
    static VALIDATOR: OnceLock<Result<Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            jsonschema::options()
                .should_validate_formats(true)
                .build(schema_value())
                .map_err(|e| format!("the built-in catalog schema does not compile: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Every structural problem of `document` (whose JSON form is `instance`).
pub(crate) fn check(document: &Node, instance: &Json) -> Vec<Problem> {
    let validator = match validator() {
        Ok(validator) => validator,
        Err(message) => return vec![Problem::new(ProblemKind::InvalidValue, FieldPath::root(), message)],
    };
    let mut problems = Vec::new();
    for error in validator.iter_errors(instance) {
        describe(document, &error, &mut problems);
    }
    problems
}

/// The path of an instance location, read against the document so that a mapping key made of
/// digits stays a key.
fn field_path(document: &Node, pointer: &str) -> FieldPath {
    let mut path = FieldPath::root();
    let mut node = Some(document);
    for raw in pointer.split('/').filter(|s| !s.is_empty()) {
        let key = raw.replace("~1", "/").replace("~0", "~");
        match node.map(|n| &n.value) {
            Some(Value::Seq(items)) => {
                let index = key.parse::<usize>().unwrap_or(usize::MAX);
                node = items.get(index);
                path = path.index(index);
            }
            Some(Value::Map(entries)) => {
                node = entries.iter().find(|e| e.key == key).map(|e| &e.value);
                path = path.key(key);
            }
            _ => {
                node = None;
                path = path.key(key);
            }
        }
    }
    path
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "nothing (null)",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Json::Number(_) => "a number",
        Json::String(_) => "text",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

fn type_name(kind: &TypeKind) -> String {
    let name = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "object" => "a mapping".to_owned(),
        "array" => "a list".to_owned(),
        "string" => "text".to_owned(),
        other => other.to_owned(),
    };
    match kind {
        TypeKind::Single(t) => name(t),
        TypeKind::Multiple(set) => set.iter().map(|t| name(&t)).collect::<Vec<_>>().join(" or "),
    }
}

/// The property names allowed where an `additionalProperties` error was raised.
fn allowed_fields(schema_path: &str) -> Vec<String> {
    let parent = schema_path.trim_end_matches("/additionalProperties");
    schema_value()
        .pointer(parent)
        .and_then(|s| s.get("properties"))
        .and_then(Json::as_object)
        .map(|props| props.keys().cloned().collect())
        .unwrap_or_default()
}

fn describe(document: &Node, error: &ValidationError<'_>, problems: &mut Vec<Problem>) {
    let path = field_path(document, error.instance_path().as_str());
    let instance = error.instance();
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = allowed_fields(error.schema_path().as_str());
            for key in unexpected {
                let mut message = format!("`{key}` is not a field here");
                if !allowed.is_empty() {
                    message.push_str(&format!("; expected one of: {}", allowed.join(", ")));
                }
                problems.push(Problem::new(ProblemKind::UnknownField, path.key(key.clone()), message).at_key());
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| property.to_string(), str::to_owned);
            problems.push(Problem::new(
                ProblemKind::MissingField,
                path,
                format!("missing required field `{name}`"),
            ));
        }
        ValidationErrorKind::Type { kind } => problems.push(Problem::new(
            ProblemKind::WrongType,
            path,
            format!("expected {}, found {}", type_name(kind), json_kind(instance)),
        )),
        ValidationErrorKind::Enum { options } => {
            let options = options
                .as_array()
                .map(|o| {
                    o.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            problems.push(Problem::new(
                ProblemKind::InvalidValue,
                path,
                format!("{} is not one of: {}", show(instance), options.join(", ")),
            ));
        }
        ValidationErrorKind::Constant { expected_value } => {
            let message = if path.0 == [Segment::Key("version".into())] {
                format!(
                    "unsupported catalog version {}; this build reads version {expected_value}",
                    show(instance)
                )
            } else {
                format!("{} must be {expected_value}", show(instance))
            };
            problems.push(Problem::new(ProblemKind::InvalidValue, path, message));
        }
        ValidationErrorKind::Pattern { .. } => {
            let what = match path.0.last() {
                Some(Segment::Key(key)) if key == "agency" || key == "owner" || key == "parent" => {
                    " (an agency electronic code looks like 000.00.00.G01)"
                }
                _ => "",
            };
            problems.push(Problem::new(
                ProblemKind::InvalidValue,
                path,
                format!("{} is not in the expected form{what}", show(instance)),
            ));
        }
        ValidationErrorKind::Format { format } => problems.push(Problem::new(
            ProblemKind::InvalidValue,
            path,
            format!(
                "{} is not a valid {format} (dates are written YYYY-MM-DD)",
                show(instance)
            ),
        )),
        ValidationErrorKind::MinItems { limit } => problems.push(Problem::new(
            ProblemKind::InvalidValue,
            path,
            format!("must list at least {limit} item{}", if *limit == 1 { "" } else { "s" }),
        )),
        ValidationErrorKind::MinLength { .. } => {
            problems.push(Problem::new(ProblemKind::InvalidValue, path, "must not be empty"))
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            describe_alternatives(document, error, context, problems);
        }
        _ => problems.push(Problem::new(ProblemKind::InvalidValue, path, error.to_string())),
    }
}

/// A value matched none of several allowed forms. Report the errors of the form it came closest
/// to: forms whose very type differs are discarded; among the rest, the one with fewest errors.
fn describe_alternatives(
    document: &Node,
    error: &ValidationError<'_>,
    alternatives: &[Vec<ValidationError<'static>>],
    problems: &mut Vec<Problem>,
) {
    let here = error.instance_path().as_str();
    // An enumeration written as one constant per documented variant.
    let constants: Option<Vec<String>> = alternatives
        .iter()
        .map(|errors| match errors.as_slice() {
            [only] => match only.kind() {
                ValidationErrorKind::Constant { expected_value } => Some(
                    expected_value
                        .as_str()
                        .map_or_else(|| expected_value.to_string(), str::to_owned),
                ),
                _ => None,
            },
            _ => None,
        })
        .collect();
    if let Some(constants) = constants.filter(|c| !c.is_empty()) {
        problems.push(Problem::new(
            ProblemKind::InvalidValue,
            field_path(document, here),
            format!("{} is not one of: {}", show(error.instance()), constants.join(", ")),
        ));
        return;
    }
    let shape_mismatch = |errors: &Vec<ValidationError<'static>>| {
        errors.iter().any(|e| {
            e.instance_path().as_str() == here
                && matches!(
                    e.kind(),
                    ValidationErrorKind::Type { .. }
                        | ValidationErrorKind::Enum { .. }
                        | ValidationErrorKind::Constant { .. }
                )
        })
    };
    let best = alternatives
        .iter()
        .filter(|errors| !shape_mismatch(errors))
        .min_by_key(|errors| errors.len());
    match best {
        Some(errors) if !errors.is_empty() => {
            for nested in errors {
                describe(document, nested, problems);
            }
        }
        _ => {
            let path = field_path(document, here);
            let hint = error_description(error.schema_path().as_str());
            problems.push(Problem::new(
                ProblemKind::WrongType,
                path,
                format!("{} is not an accepted form{hint}", show(error.instance())),
            ));
        }
    }
}

/// The `description` of the schema that raised an error, as a hint.
fn error_description(schema_path: &str) -> String {
    let parent = schema_path.trim_end_matches("/oneOf").trim_end_matches("/anyOf");
    schema_value()
        .pointer(parent)
        .and_then(|s| s.get("description"))
        .and_then(Json::as_str)
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

fn show(value: &Json) -> String {
    match value {
        Json::String(s) => format!("`{s}`"),
        other => {
            let text = other.to_string();
            if text.len() > 60 {
                format!("{}…", &text[..text.floor_char_boundary(60)])
            } else {
                text
            }
        }
    }
}
