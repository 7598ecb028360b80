//! Checks that need the whole catalog: names, references between sections, per-kind source fields,
//! masks against column types, row filters against columns and attributes.
//!
//! The input may be partial: entries that failed the structural check are left out of `catalog`
//! but listed in `declared`, so that references to them do not cause a second, misleading error.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::{FieldPath, Problem, ProblemKind};
use crate::ids::{AgencyCode, is_env_name, is_key_name, is_sql_name, is_tag};
use crate::model::{
    Catalog, Classification, ColumnType, Credential, Generalization, Grant, Mask, OptionValue, Selector, Source,
    SourceKind, Table,
};
use crate::row_filter;

mod federation;
mod identity;
mod quota;

/// The principal id reserved for anonymous callers.
pub const PUBLIC_PRINCIPAL: &str = "public";

/// Names present in the file, including entries too broken to deserialize.
#[derive(Debug, Default)]
pub(crate) struct Declared {
    pub agencies: BTreeSet<String>,
    pub purposes: BTreeSet<String>,
    pub principals: BTreeSet<String>,
    pub sources: BTreeSet<String>,
    /// `<database>.<table>` of tables whose entry could not be read.
    pub broken_tables: BTreeSet<String>,
    /// Whether the `node` section could be read (if not, it is not checked further).
    pub node_readable: bool,
}

pub(crate) fn check(catalog: &Catalog, declared: &Declared) -> Vec<Problem> {
    let mut v = Validator {
        catalog,
        declared,
        problems: Vec::new(),
    };
    v.node();
    v.agencies();
    v.purposes();
    v.principals();
    v.certificates();
    v.token_issuers();
    v.peers();
    v.sources();
    v.databases();
    v.grants();
    v.tag_rules();
    v.quotas();
    v.problems
}

struct Validator<'a> {
    catalog: &'a Catalog,
    declared: &'a Declared,
    problems: Vec<Problem>,
}

fn root(keys: &[&str]) -> FieldPath {
    FieldPath::of(keys)
}

impl<'a> Validator<'a> {
    fn report(&mut self, kind: ProblemKind, path: FieldPath, message: impl Into<String>) {
        self.problems.push(Problem::new(kind, path, message));
    }

    fn report_key(&mut self, kind: ProblemKind, path: FieldPath, message: impl Into<String>) {
        self.problems.push(Problem::new(kind, path, message).at_key());
    }

    fn agency_ref(&mut self, code: &AgencyCode, path: FieldPath) {
        if !self.declared.agencies.contains(code.as_str()) {
            self.report(
                ProblemKind::UnknownReference,
                path,
                format!("agency `{code}` is not declared in `agencies`"),
            );
        }
    }

    fn purpose_ref(&mut self, code: &str, path: FieldPath) {
        if !self.declared.purposes.contains(code) {
            self.report(
                ProblemKind::UnknownReference,
                path,
                format!("purpose `{code}` is not declared in `purposes`"),
            );
        }
    }

    fn duplicates<'s>(&mut self, items: impl IntoIterator<Item = &'s str>, path: &FieldPath, what: &str) {
        let mut seen = BTreeSet::new();
        for (i, item) in items.into_iter().enumerate() {
            if !seen.insert(item) {
                self.report(
                    ProblemKind::Duplicate,
                    path.index(i),
                    format!("{what} `{item}` is listed twice"),
                );
            }
        }
    }

    fn node(&mut self) {
        if !self.declared.node_readable {
            return;
        }
        let node = &self.catalog.node;
        if !is_sql_name(&node.name) {
            self.report(
                ProblemKind::InvalidValue,
                root(&["node", "name"]),
                name_rule(&node.name),
            );
        }
        self.agency_ref(&node.agency.clone(), root(&["node", "agency"]));
    }

    fn agencies(&mut self) {
        for (code, agency) in &self.catalog.agencies {
            let path = root(&["agencies", code]);
            if let Err(message) = AgencyCode::parse(code) {
                self.report_key(ProblemKind::InvalidValue, path.clone(), message);
            }
            if let Some(parent) = &agency.parent {
                self.agency_ref(parent, path.key("parent"));
                if self.parent_cycle(code) {
                    self.report(
                        ProblemKind::InvalidValue,
                        path.key("parent"),
                        format!("agency `{code}` is its own ancestor through `parent`"),
                    );
                }
            }
        }
    }

    fn parent_cycle(&self, start: &str) -> bool {
        let mut current = start;
        for _ in 0..=self.catalog.agencies.len() {
            match self.catalog.agencies.get(current).and_then(|a| a.parent.as_ref()) {
                Some(parent) if parent.as_str() == start => return true,
                Some(parent) => current = parent.as_str(),
                None => return false,
            }
        }
        false
    }

    fn purposes(&mut self) {
        for code in self.catalog.purposes.keys() {
            if !is_key_name(code) {
                self.report_key(ProblemKind::InvalidValue, root(&["purposes", code]), key_rule(code));
            }
        }
    }

    fn principals(&mut self) {
        for (id, principal) in &self.catalog.principals {
            let path = root(&["principals", id]);
            if id == PUBLIC_PRINCIPAL {
                self.report_key(
                    ProblemKind::InvalidValue,
                    path.clone(),
                    "`public` is the built-in anonymous principal and cannot be declared",
                );
            } else if !is_key_name(id) {
                self.report_key(ProblemKind::InvalidValue, path.clone(), key_rule(id));
            }
            self.agency_ref(&principal.agency, path.key("agency"));
            for (i, role) in principal.roles.iter().enumerate() {
                if !is_key_name(role) {
                    self.report(ProblemKind::InvalidValue, path.key("roles").index(i), key_rule(role));
                }
            }
            self.duplicates(principal.roles.iter().map(String::as_str), &path.key("roles"), "role");
            for name in principal.attributes.keys() {
                if !is_sql_name(name) {
                    self.report_key(
                        ProblemKind::InvalidValue,
                        path.key("attributes").key(name),
                        name_rule(name),
                    );
                }
            }
            match &principal.credential {
                Some(Credential::Argon2(hash)) if !is_argon2_hash(hash) => {
                    self.report(
                        ProblemKind::ClearSecret,
                        path.key("credential").key("argon2"),
                        "this is not an Argon2 PHC hash ($argon2id$v=19$m=…); if it is the secret itself, \
                         it must not be written in the catalog",
                    );
                }
                Some(Credential::Env(name)) => self.env_name(name, path.key("credential").key("env")),
                Some(Credential::Argon2(_)) | None => {}
            }
        }
    }

    fn env_name(&mut self, name: &str, path: FieldPath) {
        if !is_env_name(name) {
            self.report(
                ProblemKind::InvalidValue,
                path,
                format!("`{name}` is not an environment variable name (A-Z, 0-9, _)"),
            );
        }
    }

    fn sources(&mut self) {
        for (name, source) in &self.catalog.sources {
            let path = root(&["sources", name]);
            if !is_sql_name(name) {
                self.report_key(ProblemKind::InvalidValue, path.clone(), name_rule(name));
            }
            self.source_fields(source, &path);
        }
    }

    fn source_fields(&mut self, source: &Source, path: &FieldPath) {
        let kind = source.kind;
        let present = [
            ("url", source.url.is_some()),
            ("path", source.path.is_some()),
            ("connection", source.connection.is_some()),
            ("options", !source.options.is_empty()),
            ("node", source.node.is_some()),
            ("public_key", source.public_key.is_some()),
            ("attributes", !source.attributes.is_empty()),
            ("tls", source.tls.is_some()),
        ];
        let (required, allowed): (&[&str], &[&str]) = match kind {
            SourceKind::Parquet | SourceKind::Csv | SourceKind::Json => (&["url"], &["url", "options"]),
            SourceKind::Sqlite => (&["path"], &["path"]),
            SourceKind::Postgres => (&["connection"], &["connection"]),
            SourceKind::Node => (
                &["url", "node", "public_key"],
                &["url", "node", "public_key", "attributes", "tls"],
            ),
        };
        for (field, is_present) in present {
            if is_present && !allowed.contains(&field) {
                self.report_key(
                    ProblemKind::InvalidValue,
                    path.key(field),
                    format!(
                        "`{field}` does not apply to a {kind} source (it takes: {})",
                        allowed.join(", ")
                    ),
                );
            }
            if !is_present && required.contains(&field) {
                self.report(
                    ProblemKind::MissingField,
                    path.clone(),
                    format!("a {kind} source needs `{field}`"),
                );
            }
        }
        if let Some(url) = &source.url
            && allowed.contains(&"url")
        {
            self.source_url(kind, url, &path.key("url"));
        }
        if let Some(connection) = &source.connection
            && let Some(env) = &connection.password_env
        {
            self.env_name(env, path.key("connection").key("password_env"));
        }
        if kind == SourceKind::Node {
            self.node_source(source, path);
        }
        for (option, value) in &source.options {
            if let OptionValue::Env(env) = value {
                self.env_name(&env.env, path.key("options").key(option).key("env"));
            }
        }
    }

    fn source_url(&mut self, kind: SourceKind, url: &str, path: &FieldPath) {
        let scheme = url.split_once("://").map(|(scheme, _)| scheme);
        let allowed: &[&str] = if kind.is_files() {
            &["file", "s3", "gs", "az", "abfs", "abfss"]
        } else {
            &["grpc", "grpc+tls"]
        };
        match scheme {
            None if kind.is_files() => {} // a path relative to the catalog file
            Some(scheme) if allowed.contains(&scheme) => {}
            _ => self.report(
                ProblemKind::InvalidValue,
                path.clone(),
                format!(
                    "`{url}`: a {kind} source URL starts with one of {}",
                    allowed.join("://, ") + "://"
                ),
            ),
        }
    }

    fn databases(&mut self) {
        for (db_name, database) in &self.catalog.databases {
            let path = root(&["databases", db_name]);
            if !is_sql_name(db_name) {
                self.report_key(ProblemKind::InvalidValue, path.clone(), name_rule(db_name));
            }
            self.agency_ref(&database.owner, path.key("owner"));
            for (table_name, table) in &database.tables {
                let table_path = path.key("tables").key(table_name);
                if !is_sql_name(table_name) {
                    self.report_key(ProblemKind::InvalidValue, table_path.clone(), name_rule(table_name));
                }
                self.table(table, &table_path);
            }
        }
    }

    fn table(&mut self, table: &Table, path: &FieldPath) {
        match self.catalog.sources.get(&table.source) {
            Some(source) => {
                let files = source.kind.is_files();
                if files && table.location.is_none() {
                    self.report(
                        ProblemKind::MissingField,
                        path.clone(),
                        format!("tables of {} source `{}` need `location`", source.kind, table.source),
                    );
                }
                if !files && table.location.is_some() {
                    self.report_key(
                        ProblemKind::InvalidValue,
                        path.key("location"),
                        format!(
                            "`location` applies to file sources; `{}` is {} (use `remote_name`)",
                            table.source, source.kind
                        ),
                    );
                }
                if files && table.remote_name.is_some() {
                    self.report_key(
                        ProblemKind::InvalidValue,
                        path.key("remote_name"),
                        format!(
                            "`remote_name` does not apply to {} source `{}` (use `location`)",
                            source.kind, table.source
                        ),
                    );
                }
            }
            None if self.declared.sources.contains(&table.source) => {}
            None => self.report(
                ProblemKind::UnknownReference,
                path.key("source"),
                format!("source `{}` is not declared in `sources`", table.source),
            ),
        }
        self.duplicates(
            table.columns.iter().map(|c| c.name.as_str()),
            &path.key("columns"),
            "column",
        );
        for (i, column) in table.columns.iter().enumerate() {
            let column_path = path.key("columns").index(i);
            if !is_sql_name(&column.name) {
                self.report(
                    ProblemKind::InvalidValue,
                    column_path.key("name"),
                    name_rule(&column.name),
                );
            }
            for (t, tag) in column.tags.iter().enumerate() {
                if !is_tag(tag) {
                    self.report(
                        ProblemKind::InvalidValue,
                        column_path.key("tags").index(t),
                        format!("`{tag}` is not a tag (dotted lower-case names, e.g. pii.basic)"),
                    );
                }
            }
            self.duplicates(column.tags.iter().map(String::as_str), &column_path.key("tags"), "tag");
            if let Some(reference) = &column.references {
                self.column_ref(reference, column.data_type, &column_path.key("references"));
            }
        }
    }

    /// Checks `<database>.<table>.<column>`.
    fn column_ref(&mut self, reference: &str, data_type: ColumnType, path: &FieldPath) {
        let parts: Vec<&str> = reference.split('.').collect();
        let [db, table, column] = parts.as_slice() else {
            self.report(
                ProblemKind::InvalidValue,
                path.clone(),
                format!("`{reference}`: write the referenced column as <database>.<table>.<column>"),
            );
            return;
        };
        if self.declared.broken_tables.contains(&format!("{db}.{table}")) {
            return;
        }
        match self.find_table(&format!("{db}.{table}")) {
            None => self.report(
                ProblemKind::UnknownReference,
                path.clone(),
                format!("table `{db}.{table}` is not declared"),
            ),
            Some(target) => match target.columns.iter().find(|c| c.name == *column) {
                None => self.report(
                    ProblemKind::UnknownReference,
                    path.clone(),
                    format!("table `{db}.{table}` has no column `{column}`"),
                ),
                Some(target) if target.data_type != data_type => self.report(
                    ProblemKind::InvalidValue,
                    path.clone(),
                    format!("`{reference}` is {} but this column is {data_type}", target.data_type),
                ),
                Some(_) => {}
            },
        }
    }

    fn find_table(&self, qualified: &str) -> Option<&'a Table> {
        let catalog: &'a Catalog = self.catalog;
        let (db, table) = qualified.split_once('.')?;
        catalog.databases.get(db)?.tables.get(table)
    }

    /// The declared principals a selector matches (none for a selector of remote callers).
    fn matches(&self, selector: &Selector) -> Vec<&'a str> {
        let catalog: &'a Catalog = self.catalog;
        if !selector.peers.is_empty() {
            return Vec::new();
        }
        catalog
            .principals
            .iter()
            .filter(|(id, p)| {
                (selector.principals.is_empty() || selector.principals.contains(id))
                    && (selector.agencies.is_empty()
                        || selector
                            .agencies
                            .iter()
                            .any(|a| self.within(p.agency.as_str(), a.as_str())))
                    && (selector.roles.is_empty() || selector.roles.iter().any(|r| p.roles.contains(r)))
                    && selector.attributes.iter().all(|(k, v)| p.attributes.get(k) == Some(v))
            })
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// Whether `agency` is `ancestor` or one of its sub-units.
    fn within(&self, agency: &str, ancestor: &str) -> bool {
        let mut current = agency;
        for _ in 0..=self.catalog.agencies.len() {
            if current == ancestor {
                return true;
            }
            match self.catalog.agencies.get(current).and_then(|a| a.parent.as_ref()) {
                Some(parent) => current = parent.as_str(),
                None => return false,
            }
        }
        false
    }

    fn selector(&mut self, selector: &Selector, path: &FieldPath) {
        if selector.is_empty() {
            self.report(
                ProblemKind::MissingField,
                path.clone(),
                "say who: give at least one of principals, agencies, roles, attributes, peers",
            );
            return;
        }
        if !selector.peers.is_empty() {
            self.remote_selector(selector, path);
            return;
        }
        for (i, id) in selector.principals.iter().enumerate() {
            if id == PUBLIC_PRINCIPAL {
                self.report(
                    ProblemKind::InvalidValue,
                    path.key("principals").index(i),
                    "the anonymous `public` principal reads open tables only; classify the table `open` instead",
                );
            } else if !self.declared.principals.contains(id) {
                self.report(
                    ProblemKind::UnknownReference,
                    path.key("principals").index(i),
                    format!("principal `{id}` is not declared in `principals`"),
                );
            }
        }
        self.duplicates(
            selector.principals.iter().map(String::as_str),
            &path.key("principals"),
            "principal",
        );
        for (i, agency) in selector.agencies.iter().enumerate() {
            self.agency_ref(agency, path.key("agencies").index(i));
        }
        for (i, role) in selector.roles.iter().enumerate() {
            if !self.catalog.principals.values().any(|p| p.roles.contains(role)) {
                self.report(
                    ProblemKind::UnknownReference,
                    path.key("roles").index(i),
                    format!("no principal has role `{role}`"),
                );
            }
        }
        for name in selector.attributes.keys() {
            if !self
                .catalog
                .principals
                .values()
                .any(|p| p.attributes.contains_key(name))
            {
                self.report_key(
                    ProblemKind::UnknownReference,
                    path.key("attributes").key(name),
                    format!("no principal has attribute `{name}`"),
                );
            }
        }
        let all_declared_readable = self.declared.principals.len() == self.catalog.principals.len();
        if all_declared_readable && self.matches(selector).is_empty() && !self.problems_under(path) {
            self.report(
                ProblemKind::UnknownReference,
                path.clone(),
                "selects no declared principal",
            );
        }
    }

    fn problems_under(&self, path: &FieldPath) -> bool {
        self.problems.iter().any(|p| p.path.0.starts_with(&path.0))
    }

    fn grants(&mut self) {
        for (id, grant) in &self.catalog.grants {
            let path = root(&["grants", id]);
            if !is_key_name(id) {
                self.report_key(ProblemKind::InvalidValue, path.clone(), key_rule(id));
            }
            self.selector(&grant.to, &path.key("to"));
            for (i, purpose) in grant.purposes.iter().enumerate() {
                self.purpose_ref(purpose, path.key("purposes").index(i));
            }
            self.duplicates(
                grant.purposes.iter().map(String::as_str),
                &path.key("purposes"),
                "purpose",
            );
            if let (Some(from), Some(until)) = (grant.valid_from, grant.valid_until)
                && from > until
            {
                self.report(
                    ProblemKind::InvalidValue,
                    path.key("valid_until"),
                    format!("valid_until {until} is before valid_from {from}"),
                );
            }
            if self.declared.broken_tables.contains(&grant.table) {
                continue;
            }
            match self.find_table(&grant.table) {
                None => {
                    let message = if grant.table.split('.').count() == 2 {
                        format!("table `{}` is not declared in `databases`", grant.table)
                    } else {
                        format!("`{}`: write the table as <database>.<table>", grant.table)
                    };
                    self.report(ProblemKind::UnknownReference, path.key("table"), message);
                }
                Some(table) => self.grant_on_table(grant, table, &path),
            }
        }
    }

    fn grant_on_table(&mut self, grant: &Grant, table: &Table, path: &FieldPath) {
        if table.classification == Classification::Secret {
            self.report(
                ProblemKind::InvalidValue,
                path.key("table"),
                format!(
                    "`{}` is classified secret: secret tables are never served, so it cannot be granted",
                    grant.table
                ),
            );
        }
        let column_type = |name: &str| table.columns.iter().find(|c| c.name == name).map(|c| c.data_type);
        if !grant.all_columns() {
            for (i, column) in grant.columns.iter().enumerate() {
                if column_type(column).is_none() {
                    self.report(
                        ProblemKind::UnknownReference,
                        path.key("columns").index(i),
                        format!("table `{}` has no column `{column}`", grant.table),
                    );
                }
            }
            self.duplicates(grant.columns.iter().map(String::as_str), &path.key("columns"), "column");
        } else if grant.columns.len() > 1 {
            self.report(
                ProblemKind::InvalidValue,
                path.key("columns"),
                "`*` (all columns) must stand alone",
            );
        }
        for (column, mask) in &grant.masks {
            let mask_path = path.key("masks").key(column);
            match column_type(column) {
                None => self.report_key(
                    ProblemKind::UnknownReference,
                    mask_path,
                    format!("table `{}` has no column `{column}`", grant.table),
                ),
                Some(_) if !grant.all_columns() && !grant.columns.contains(column) => self.report_key(
                    ProblemKind::InvalidValue,
                    mask_path,
                    format!("column `{column}` is masked but not granted by this grant"),
                ),
                Some(data_type) => {
                    if let Some(message) = mask_misfit(mask, data_type) {
                        self.report(
                            ProblemKind::MaskMismatch,
                            mask_path,
                            format!("column `{column}`: {message}"),
                        );
                    }
                }
            }
        }
        if let Some(aggregate_only) = &grant.aggregate_only {
            let min_max = path.key("aggregate_only").key("min_max");
            for (i, column) in aggregate_only.min_max.iter().enumerate() {
                if !grant.all_columns() && !grant.columns.contains(column) || column_type(column).is_none() {
                    self.report(
                        ProblemKind::UnknownReference,
                        min_max.index(i),
                        format!("column `{column}` is not granted by this grant"),
                    );
                }
            }
        }
        if let Some(lookup) = &grant.lookup {
            let by = path.key("lookup").key("by");
            if grant.aggregate_only.is_some() {
                self.report(
                    ProblemKind::InvalidValue,
                    path.key("lookup"),
                    "a grant is either aggregate-only or lookup-only, not both".to_owned(),
                );
            }
            if lookup.by.is_empty() {
                self.report(
                    ProblemKind::MissingField,
                    by.clone(),
                    "name at least one key column".to_owned(),
                );
            }
            for (i, column) in lookup.by.iter().enumerate() {
                if !grant.all_columns() && !grant.columns.contains(column) || column_type(column).is_none() {
                    self.report(
                        ProblemKind::UnknownReference,
                        by.index(i),
                        format!("column `{column}` is not granted by this grant"),
                    );
                } else if grant.masks.contains_key(column) {
                    self.report(
                        ProblemKind::InvalidValue,
                        by.index(i),
                        format!("column `{column}` is a lookup key and cannot be masked"),
                    );
                }
            }
            let verify = path.key("lookup").key("verify");
            for (i, column) in lookup.verify.iter().enumerate() {
                if !grant.all_columns() && !grant.columns.contains(column) || column_type(column).is_none() {
                    self.report(
                        ProblemKind::UnknownReference,
                        verify.index(i),
                        format!("column `{column}` is not granted by this grant"),
                    );
                } else if lookup.by.contains(column) || grant.masks.contains_key(column) {
                    self.report(
                        ProblemKind::InvalidValue,
                        verify.index(i),
                        format!("column `{column}` is a key or masked: it cannot be compare-only"),
                    );
                }
            }
            if lookup.max_keys == Some(0) {
                self.report(
                    ProblemKind::InvalidValue,
                    path.key("lookup").key("max_keys"),
                    "at least 1".to_owned(),
                );
            }
        }
        if let Some(filter) = &grant.row_filter {
            self.row_filter(filter, grant, table, &path.key("row_filter"));
        }
    }

    fn row_filter(&mut self, filter: &str, grant: &Grant, table: &Table, path: &FieldPath) {
        let refs = match row_filter::analyze(filter) {
            Ok(refs) => refs,
            Err(message) => return self.report(ProblemKind::InvalidRowFilter, path.clone(), message),
        };
        for column in &refs.columns {
            if !table.columns.iter().any(|c| &c.name == column) {
                self.report(
                    ProblemKind::InvalidRowFilter,
                    path.clone(),
                    format!("table `{}` has no column `{column}`", grant.table),
                );
            }
        }
        for peer in grant
            .to
            .peers
            .iter()
            .filter_map(|p| self.catalog.peers.get_key_value(p))
        {
            for attribute in refs.attributes.iter().filter(|a| !peer.1.attributes.contains(a)) {
                self.report(
                    ProblemKind::InvalidRowFilter,
                    path.clone(),
                    format!(
                        "`principal.{attribute}`: peer `{}` may not assert attribute `{attribute}`",
                        peer.0
                    ),
                );
            }
        }
        let matched = self.matches(&grant.to);
        for attribute in &refs.attributes {
            let lacking: Vec<&str> = matched
                .iter()
                .copied()
                .filter(|id| {
                    self.catalog
                        .principals
                        .get(*id)
                        .is_some_and(|p| !p.attributes.contains_key(attribute))
                })
                .collect();
            if !lacking.is_empty() {
                self.report(
                    ProblemKind::InvalidRowFilter,
                    path.clone(),
                    format!(
                        "`principal.{attribute}`: principal{} {} selected by this grant ha{} no attribute `{attribute}`",
                        if lacking.len() == 1 { "" } else { "s" },
                        lacking.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", "),
                        if lacking.len() == 1 { "s" } else { "ve" },
                    ),
                );
            }
        }
    }

    fn tag_rules(&mut self) {
        let mut tagged: BTreeMap<&str, Vec<(String, ColumnType)>> = BTreeMap::new();
        for (db, database) in &self.catalog.databases {
            for (name, table) in &database.tables {
                for column in &table.columns {
                    for tag in &column.tags {
                        tagged
                            .entry(tag)
                            .or_default()
                            .push((format!("{db}.{name}.{}", column.name), column.data_type));
                    }
                }
            }
        }
        for (id, rule) in &self.catalog.tag_rules {
            let path = root(&["tag_rules", id]);
            if !is_key_name(id) {
                self.report_key(ProblemKind::InvalidValue, path.clone(), key_rule(id));
            }
            let columns = tagged.get(rule.tag.as_str());
            if columns.is_none() && self.declared.broken_tables.is_empty() {
                self.report(
                    ProblemKind::UnknownReference,
                    path.key("tag"),
                    format!("no column carries tag `{}`", rule.tag),
                );
            }
            if let Some(to) = &rule.to {
                self.selector(to, &path.key("to"));
            }
            if let Some(except) = &rule.except {
                self.selector(except, &path.key("except"));
            }
            for (i, purpose) in rule.purposes.iter().enumerate() {
                self.purpose_ref(purpose, path.key("purposes").index(i));
            }
            match (&rule.mask, rule.deny) {
                (Some(_), true) => self.report(
                    ProblemKind::InvalidValue,
                    path.clone(),
                    "a tag rule either denies (`deny: true`) or masks (`mask: …`), not both",
                ),
                (None, false) => self.report(
                    ProblemKind::MissingField,
                    path.clone(),
                    "a tag rule needs `deny: true` or `mask: …`",
                ),
                (Some(mask), false) => {
                    for (column, data_type) in columns.into_iter().flatten() {
                        if let Some(message) = mask_misfit(mask, *data_type) {
                            self.report(
                                ProblemKind::MaskMismatch,
                                path.key("mask"),
                                format!("tagged column `{column}`: {message}"),
                            );
                        }
                    }
                }
                (None, true) => {}
            }
        }
    }
}

/// Why `mask` cannot apply to a column of `data_type`, if it cannot.
pub(crate) fn mask_misfit(mask: &Mask, data_type: ColumnType) -> Option<String> {
    use ColumnType as T;
    let fits: &[ColumnType] = match mask {
        Mask::Nullify => return None,
        Mask::Redact | Mask::KeepLast(_) | Mask::Generalize(Generalization::Province) => &[T::String],
        Mask::Pseudonym => &[T::String, T::Int32, T::Int64],
        Mask::Generalize(Generalization::Year) => &[T::Date, T::Timestamp],
    };
    (!fits.contains(&data_type)).then(|| {
        let names: Vec<String> = fits.iter().map(ToString::to_string).collect();
        format!(
            "mask `{}` applies to {} columns, not {data_type}",
            mask.name(),
            names.join(" or ")
        )
    })
}

fn is_argon2_hash(text: &str) -> bool {
    argon2::PasswordHash::new(text).is_ok_and(|hash| hash.algorithm.as_str().starts_with("argon2"))
}

fn name_rule(name: &str) -> String {
    format!("`{name}` is not a valid name: use a-z, 0-9 and _, starting with a letter")
}

fn key_rule(name: &str) -> String {
    format!("`{name}` is not a valid id: use a-z, 0-9, - and _, starting with a letter")
}
