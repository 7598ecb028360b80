//! Checks of volume quotas: who, which purposes and tables, and limits that can be reached.

use super::{Validator, key_rule, root};
use crate::diagnostic::{FieldPath, ProblemKind};
use crate::ids::is_key_name;
use crate::model::{Quota, QuotaLimits};

impl Validator<'_> {
    /// Quotas: a selector, declared purposes and tables, at least one limit, and key limits only
    /// where keys are counted (tables read by lookup).
    pub(super) fn quotas(&mut self) {
        for (id, quota) in &self.catalog.quotas {
            let path = root(&["quotas", id]);
            if !is_key_name(id) {
                self.report_key(ProblemKind::InvalidValue, path.clone(), key_rule(id));
            }
            self.selector(&quota.to, &path.key("to"));
            for (i, purpose) in quota.purposes.iter().enumerate() {
                self.purpose_ref(purpose, path.key("purposes").index(i));
            }
            self.duplicates(
                quota.purposes.iter().map(String::as_str),
                &path.key("purposes"),
                "purpose",
            );
            for (i, table) in quota.tables.iter().enumerate() {
                if self.find_table(table).is_none() && !self.declared.broken_tables.contains(table) {
                    self.report(
                        ProblemKind::UnknownReference,
                        path.key("tables").index(i),
                        format!("table `{table}` is not declared in `databases` (write it as <database>.<table>)"),
                    );
                }
            }
            self.duplicates(quota.tables.iter().map(String::as_str), &path.key("tables"), "table");
            self.quota_limits(quota, &path);
        }
    }

    fn quota_limits(&mut self, quota: &Quota, path: &FieldPath) {
        if quota.rows.is_none() && quota.keys.is_none() {
            self.report(
                ProblemKind::MissingField,
                path.clone(),
                "give `rows`, `keys` or both: a quota without a limit limits nothing",
            );
        }
        for (unit, limits) in [("rows", quota.rows), ("keys", quota.keys)] {
            let Some(limits) = limits else { continue };
            let QuotaLimits { query, day, month } = limits;
            if query.is_none() && day.is_none() && month.is_none() {
                self.report(
                    ProblemKind::MissingField,
                    path.key(unit),
                    "give at least one of `query`, `day`, `month`",
                );
            }
            for (window, value) in [("query", query), ("day", day), ("month", month)] {
                if value == Some(0) {
                    self.report(
                        ProblemKind::InvalidValue,
                        path.key(unit).key(window),
                        "at least 1 (to refuse everything, remove the grant instead)",
                    );
                }
            }
            for ((shorter, a), (longer, b)) in [(("query", query), ("day", day)), (("day", day), ("month", month))] {
                if let (Some(a), Some(b)) = (a, b)
                    && a > b
                {
                    self.report(
                        ProblemKind::InvalidValue,
                        path.key(unit).key(shorter),
                        format!("{a} per {shorter} is more than the {b} allowed per {longer}"),
                    );
                }
            }
        }
        if quota.keys.is_some() {
            let looked_up = |table: &str| {
                self.catalog
                    .grants
                    .values()
                    .any(|g| g.table == table && g.lookup.is_some())
            };
            if quota.tables.is_empty() || !quota.tables.iter().any(|t| looked_up(t)) {
                self.report(
                    ProblemKind::InvalidValue,
                    path.key("keys"),
                    "keys are counted in lookups: list in `tables` a table that a grant makes lookup-only",
                );
            }
        }
    }
}
