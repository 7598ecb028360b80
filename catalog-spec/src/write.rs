//! Writing a catalog as YAML, for tools that generate catalogs (the demo generator, migrations).
//!
//! The output is block-style YAML whose every text value is double-quoted with JSON escapes (a
//! subset of YAML's), so nothing in it can be re-read as another type, and it reads back to the
//! same catalog.

use std::fmt::Write as _;

use serde_json::Value as Json;

use crate::model::Catalog;

/// The catalog as YAML text, optionally preceded by comment lines.
///
/// ```
/// let text = "version: 1\nnode: { name: demo, agency: \"000.00.00.G01\" }\nagencies:\n  \"000.00.00.G01\": { name: { vi: Bộ Công an, en: Ministry of Public Security } }\n";
/// let catalog = lienthong_spec::parse_str(text, "a.yaml")?;
/// let written = lienthong_spec::to_yaml(&catalog, &["generated"]);
/// assert!(written.starts_with("# generated\n"));
/// assert_eq!(lienthong_spec::parse_str(&written, "b.yaml")?, catalog);
/// # Ok::<(), lienthong_spec::Error>(())
/// ```
pub fn to_yaml(catalog: &Catalog, header: &[&str]) -> String {
    let mut out = String::new();
    for line in header {
        let _ = writeln!(out, "# {line}");
    }
    // Serializing plain data types to JSON cannot fail; fall back to an empty document regardless.
    let value = serde_json::to_value(catalog).unwrap_or(Json::Null);
    if let Json::Object(map) = &value {
        for (i, (key, value)) in map.iter().enumerate() {
            if i > 0 && (value.is_object() || value.is_array()) {
                out.push('\n');
            }
            entry(&mut out, 0, key, value);
        }
    }
    out
}

fn entry(out: &mut String, indent: usize, key: &str, value: &Json) {
    let pad = " ".repeat(indent);
    let key = yaml_key(key);
    match value {
        Json::Object(map) if !map.is_empty() => {
            let _ = writeln!(out, "{pad}{key}:");
            for (k, v) in map {
                entry(out, indent + 2, k, v);
            }
        }
        Json::Array(items) if !items.is_empty() && items.iter().all(is_scalar) => {
            let items: Vec<String> = items.iter().map(scalar).collect();
            let _ = writeln!(out, "{pad}{key}: [{}]", items.join(", "));
        }
        Json::Array(items) if !items.is_empty() => {
            let _ = writeln!(out, "{pad}{key}:");
            for item in items {
                list_item(out, indent + 2, item);
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{key}: {}", scalar(other));
        }
    }
}

fn list_item(out: &mut String, indent: usize, item: &Json) {
    let pad = " ".repeat(indent);
    match item {
        Json::Object(map) if !map.is_empty() => {
            let mut first = true;
            for (k, v) in map {
                let mut line = String::new();
                entry(&mut line, indent + 2, k, v);
                if first {
                    // "  - key: value" instead of a separate line for the dash.
                    line.replace_range(..indent + 2, &format!("{pad}- "));
                    first = false;
                }
                out.push_str(&line);
            }
        }
        other => {
            let _ = writeln!(out, "{pad}- {}", scalar(other));
        }
    }
}

fn is_scalar(value: &Json) -> bool {
    !matches!(value, Json::Array(_) | Json::Object(_))
}

fn scalar(value: &Json) -> String {
    match value {
        Json::Object(_) => "{}".into(),
        Json::Array(_) => "[]".into(),
        Json::String(s) => Json::String(s.clone()).to_string(),
        other => other.to_string(),
    }
}

fn yaml_key(key: &str) -> String {
    let plain = key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !matches!(key, "true" | "false" | "null" | "yes" | "no" | "on" | "off");
    if plain {
        key.to_owned()
    } else {
        Json::String(key.to_owned()).to_string()
    }
}
