//! Reading a catalog file: parse, check the shape against the schema, read the entries, check the
//! whole, and place every problem at its line and column.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::diagnostic::{Diagnostic, Diagnostics, FieldPath, Problem, ProblemKind, Segment};
use crate::error::{Error, Result};
use crate::model::{Catalog, Database, Node as NodeSection};
use crate::tree::{self, Node, Value};
use crate::validate::{self, Declared};
use crate::{ids::FormatVersion, schema};

/// A catalog read from a file, with the file's location (relative paths in the catalog are
/// relative to its directory).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogFile {
    /// The file the catalog was read from.
    pub path: PathBuf,
    /// The catalog.
    pub catalog: Catalog,
}

impl CatalogFile {
    /// The directory that relative paths in the catalog start from.
    pub fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or_else(|| Path::new("."))
    }
}

/// Reads and validates the catalog at `path` (YAML, or JSON when the name ends in `.json`).
///
/// Every problem is reported at once, each with file, line, column and field path.
///
/// ```no_run
/// let file = lienthong_spec::load("demo-data/catalog.yaml")?;
/// println!("{} databases", file.catalog.databases.len());
/// # Ok::<(), lienthong_spec::Error>(())
/// ```
pub fn load(path: impl AsRef<Path>) -> Result<CatalogFile> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let catalog = parse_str(&text, path)?;
    Ok(CatalogFile {
        path: path.to_owned(),
        catalog,
    })
}

/// Parses and validates catalog text; `origin` names the file in diagnostics and decides the
/// syntax (`.json` → JSON, anything else → YAML).
///
/// ```
/// let text = r#"
/// version: 1
/// node: { name: demo, agency: "000.00.00.G01" }
/// agencies:
///   "000.00.00.G01": { name: { vi: Bộ Công an, en: Ministry of Public Security } }
/// "#;
/// let catalog = lienthong_spec::parse_str(text, "inline.yaml").unwrap();
/// assert_eq!(catalog.node.name, "demo");
///
/// let broken = "version: 1\nnode: { name: demo, agency: G01, colour: red }\n";
/// let error = lienthong_spec::parse_str(broken, "broken.yaml").unwrap_err();
/// assert!(error.to_string().contains("broken.yaml:2:"));
/// ```
pub fn parse_str(text: &str, origin: impl AsRef<Path>) -> Result<Catalog> {
    let origin = origin.as_ref();
    let place = |problems: Vec<Problem>, document: Option<&Node>| Error::Invalid(place(origin, problems, document));
    if origin.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
        && let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(text)
    {
        let problem =
            Problem::new(ProblemKind::Syntax, FieldPath::root(), json_message(&error)).at(error.line(), error.column());
        return Err(place(vec![problem], None));
    }
    let (document, mut problems) = tree::parse(text).map_err(|problem| place(vec![problem], None))?;
    let instance = document.to_json();
    let secrets = clear_secrets(&document);
    let structural = schema::check(&document, &instance);
    // Read what can be read, leaving out the values found wrong, so that the checks of the whole
    // still run and every problem is reported in one pass.
    let mut readable = instance.clone();
    for problem in &structural {
        remove(&mut readable, &problem.path);
    }
    // A secret in clear is reported once, as such, not also as an unknown field or wrong type.
    problems.extend(
        structural
            .into_iter()
            .filter(|p| !secrets.iter().any(|s| p.path.0.starts_with(&s.path.0))),
    );
    problems.extend(secrets);
    let (catalog, declared) = read_entries(&instance, &readable);
    problems.extend(validate::check(&catalog, &declared));
    if !problems.is_empty() {
        return Err(place(problems, Some(&document)));
    }
    serde_json::from_value(instance).map_err(|e| {
        place(
            vec![Problem::new(
                ProblemKind::InvalidValue,
                FieldPath::root(),
                e.to_string(),
            )],
            Some(&document),
        )
    })
}

fn remove(json: &mut Json, path: &FieldPath) {
    let Some((Segment::Key(last), parents)) = path.0.split_last() else {
        return;
    };
    let mut node = json;
    for segment in parents {
        let next = match segment {
            Segment::Key(key) => node.get_mut(key.as_str()),
            Segment::Index(index) => node.get_mut(*index),
        };
        match next {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(last);
    }
}

fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

fn place(file: &Path, problems: Vec<Problem>, document: Option<&Node>) -> Diagnostics {
    let mut diagnostics: Vec<Diagnostic> = problems
        .into_iter()
        .map(|problem| {
            let (line, column) = problem.line_column.unwrap_or_else(|| {
                document.map_or((1, 1), |d| {
                    // A missing field is best shown at the key of the entry that lacks it.
                    let at_key = problem.at_key || problem.kind == ProblemKind::MissingField;
                    let pos = d.locate(&problem.path, at_key);
                    (pos.line, pos.column)
                })
            });
            Diagnostic {
                file: file.to_owned(),
                line,
                column,
                path: problem.path,
                kind: problem.kind,
                message: problem.message,
            }
        })
        .collect();
    diagnostics.sort_by_key(|d| (d.line, d.column));
    diagnostics.dedup();
    Diagnostics(diagnostics)
}

/// Key fragments that mark a secret. A key ending in `_env` names a variable and is fine.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "access_key",
];

/// Secrets written in clear anywhere in the document: a secret-looking key with a text value, a
/// credential given as text, or a URL carrying a password.
fn clear_secrets(document: &Node) -> Vec<Problem> {
    let mut found = Vec::new();
    walk(document, &FieldPath::root(), &mut found);
    found
}

fn walk(node: &Node, path: &FieldPath, found: &mut Vec<Problem>) {
    match &node.value {
        Value::Map(entries) => {
            for entry in entries {
                let child = path.key(entry.key.clone());
                let key = entry.key.to_ascii_lowercase();
                let secret_key = !key.ends_with("_env") && SECRET_KEYS.iter().any(|s| key.contains(s));
                let text = matches!(&entry.value.value, Value::Str(s) if !s.is_empty());
                if text && (secret_key || key == "credential") {
                    found.push(Problem::new(
                        ProblemKind::ClearSecret,
                        child,
                        format!(
                            "`{}` holds a secret in clear; store an Argon2 hash (`credential: {{argon2: …}}`) or \
                             name an environment variable (`{{env: NAME}}` / `…_env: NAME`)",
                            entry.key
                        ),
                    ));
                } else if let Value::Str(url) = &entry.value.value
                    && key == "url"
                    && url_has_password(url)
                {
                    found.push(Problem::new(
                        ProblemKind::ClearSecret,
                        child,
                        "the URL carries a password; give it through an environment variable",
                    ));
                } else {
                    walk(&entry.value, &child, found);
                }
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &path.index(i), found);
            }
        }
        _ => {}
    }
}

fn url_has_password(url: &str) -> bool {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|authority| authority.rsplit_once('@'))
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// Reads each entry on its own, so one broken entry does not hide the checks of the others.
/// Names are taken from the whole document, entries from `readable` (the document without the
/// values already reported as wrong).
fn read_entries(instance: &Json, readable: &Json) -> (Catalog, Declared) {
    let mut declared = Declared::default();
    let keys = |name: &str| {
        instance
            .get(name)
            .and_then(Json::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let instance = readable;
    let section = |name: &str| instance.get(name).and_then(Json::as_object);
    declared.agencies = keys("agencies");
    declared.purposes = keys("purposes");
    declared.principals = keys("principals");
    declared.sources = keys("sources");

    // A broken node section is reported by the schema; the rest is still checked without it.
    let node = instance.get("node").and_then(read::<NodeSection>);
    declared.node_readable = node.is_some();
    let node = node.unwrap_or_else(|| NodeSection {
        name: String::new(),
        agency: crate::AgencyCode::placeholder(),
        audit_log: None,
        key: None,
        description: None,
    });
    let mut catalog = Catalog {
        version: FormatVersion,
        node,
        agencies: read_map(section("agencies")),
        purposes: read_map(section("purposes")),
        principals: read_map(section("principals")),
        peers: read_map(section("peers")),
        token_issuers: read_map(section("token_issuers")),
        sources: read_map(section("sources")),
        databases: Default::default(),
        grants: read_map(section("grants")),
        tag_rules: read_map(section("tag_rules")),
        quotas: read_map(section("quotas")),
    };
    for (db_name, db_json) in section("databases").into_iter().flatten() {
        let mut shell = db_json.clone();
        let tables = shell.as_object_mut().and_then(|m| m.remove("tables"));
        let Some(mut database) = read::<Database>(&shell) else {
            for table in tables.iter().filter_map(Json::as_object).flat_map(|m| m.keys()) {
                declared.broken_tables.insert(format!("{db_name}.{table}"));
            }
            continue;
        };
        for (table_name, table_json) in tables.iter().filter_map(Json::as_object).flatten() {
            match read(table_json) {
                Some(table) => {
                    database.tables.insert(table_name.clone(), table);
                }
                None => {
                    declared.broken_tables.insert(format!("{db_name}.{table_name}"));
                }
            }
        }
        catalog.databases.insert(db_name.clone(), database);
    }
    (catalog, declared)
}

fn read<T: DeserializeOwned>(json: &Json) -> Option<T> {
    serde_json::from_value(json.clone()).ok()
}

fn read_map<T: DeserializeOwned>(
    section: Option<&serde_json::Map<String, Json>>,
) -> std::collections::BTreeMap<String, T> {
    section
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| read(value).map(|v| (key.clone(), v)))
        .collect()
}
