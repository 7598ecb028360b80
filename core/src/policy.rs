//! What one caller may see of one table: the catalog's grants and tag rules resolved for a
//! principal, a purpose and a day. Deny by default; secret tables never; open tables for anyone.
//!
//! The result, [`TableAccess`], is what the planner enforces: the visible columns in table order,
//! each with the mask that applies, the row filters (still as catalog text, bound later), and
//! whether only aggregates are allowed. Everything here is pure data: no DataFusion.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use lienthong_spec::{AgencyCode, Catalog, Classification, Combine, Mask, Principal, Selector, Table};

/// Who is asking, and why.
#[derive(Clone, Copy, Debug)]
pub struct Caller<'a> {
    /// Principal id (`public` for the anonymous caller).
    pub id: &'a str,
    /// The declared principal; `None` for `public`.
    pub principal: Option<&'a Principal>,
    /// The declared purpose; `None` only for `public`.
    pub purpose: Option<&'a str>,
}

/// A visible column and the mask the caller sees it through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnAccess {
    /// Column name.
    pub name: String,
    /// The mask, if any.
    pub mask: Option<Mask>,
}

/// Which rows a caller may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rows {
    /// Every row.
    All,
    /// Rows passing every filter (catalog expressions with `principal.<attr>` placeholders).
    Every(Vec<String>),
    /// Rows passing any filter.
    Any(Vec<String>),
}

/// What a caller may see of one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableAccess {
    /// Visible columns, in table order.
    pub columns: Vec<ColumnAccess>,
    /// Visible rows.
    pub rows: Rows,
    /// When set, only aggregate queries, with groups of fewer rows suppressed.
    pub min_group_size: Option<u32>,
    /// Ids of the grants that gave access (empty for open tables).
    pub grants: Vec<String>,
    /// Ids of the tag rules that hid or masked a column.
    pub tag_rules: Vec<String>,
}

/// Whether `selector` selects the caller. `agencies` match the caller's agency or any ancestor.
pub fn selects(catalog: &Catalog, selector: &Selector, caller: &Caller<'_>) -> bool {
    let Some(principal) = caller.principal else {
        return false;
    };
    (selector.principals.is_empty() || selector.principals.iter().any(|p| p == caller.id))
        && (selector.agencies.is_empty() || selector.agencies.iter().any(|a| within(catalog, &principal.agency, a)))
        && (selector.roles.is_empty() || selector.roles.iter().any(|r| principal.roles.contains(r)))
        && selector
            .attributes
            .iter()
            .all(|(k, v)| principal.attributes.get(k) == Some(v))
}

/// Whether `agency` is `ancestor` or one of its units.
fn within(catalog: &Catalog, agency: &AgencyCode, ancestor: &AgencyCode) -> bool {
    let mut current = Some(agency);
    for _ in 0..64 {
        match current {
            Some(code) if code == ancestor => return true,
            Some(code) => current = catalog.agencies.get(code.as_str()).and_then(|a| a.parent.as_ref()),
            None => return false,
        }
    }
    false
}

/// How strongly a mask hides; when two rules disagree, the stronger wins (and the weaker under
/// `combine: union`).
fn strength(mask: Option<&Mask>) -> u8 {
    match mask {
        None => 0,
        Some(Mask::KeepLast(_)) => 1,
        Some(Mask::Generalize(_)) => 2,
        Some(Mask::Pseudonym) => 3,
        Some(Mask::Redact) => 4,
        Some(Mask::Nullify) => 5,
    }
}

fn stronger(a: Option<Mask>, b: Option<Mask>) -> Option<Mask> {
    if strength(b.as_ref()) > strength(a.as_ref()) {
        b
    } else {
        a
    }
}

fn weaker(a: Option<Mask>, b: Option<Mask>) -> Option<Mask> {
    if strength(b.as_ref()) < strength(a.as_ref()) {
        b
    } else {
        a
    }
}

/// What `caller` may see of `database.table` on `today`; `None` when it may see nothing (hidden
/// and missing tables look the same to the caller).
pub fn resolve(
    catalog: &Catalog,
    caller: &Caller<'_>,
    database: &str,
    table: &str,
    today: NaiveDate,
) -> Option<TableAccess> {
    let definition = catalog.databases.get(database)?.tables.get(table)?;
    let qualified = format!("{database}.{table}");
    let mut access = match definition.classification {
        Classification::Secret => return None,
        Classification::Open => TableAccess {
            columns: definition
                .columns
                .iter()
                .map(|c| ColumnAccess {
                    name: c.name.clone(),
                    mask: None,
                })
                .collect(),
            rows: Rows::All,
            min_group_size: None,
            grants: Vec::new(),
            tag_rules: Vec::new(),
        },
        _ => granted(catalog, caller, definition, &qualified, today)?,
    };
    apply_tag_rules(catalog, caller, definition, &mut access);
    (!access.columns.is_empty()).then_some(access)
}

/// The grants of a shared or restricted table, combined as the table says.
fn granted(
    catalog: &Catalog,
    caller: &Caller<'_>,
    definition: &Table,
    qualified: &str,
    today: NaiveDate,
) -> Option<TableAccess> {
    let purpose = caller.purpose?;
    let grants: Vec<(&String, &lienthong_spec::Grant)> = catalog
        .grants
        .iter()
        .filter(|(_, g)| g.table == qualified)
        .filter(|(_, g)| g.purposes.iter().any(|p| p == purpose))
        .filter(|(_, g)| g.valid_from.is_none_or(|d| d <= today) && g.valid_until.is_none_or(|d| today <= d))
        .filter(|(_, g)| selects(catalog, &g.to, caller))
        .collect();
    if grants.is_empty() {
        return None;
    }
    let union = definition.combine == Combine::Union;
    // Per column: granted by how many grants, and the combined mask.
    let mut columns: BTreeMap<&str, (usize, Option<Mask>)> = BTreeMap::new();
    for (_, grant) in &grants {
        for column in &definition.columns {
            if grant.all_columns() || grant.columns.contains(&column.name) {
                let mask = grant.masks.get(&column.name).cloned();
                let entry = columns.entry(column.name.as_str()).or_insert((0, mask.clone()));
                if entry.0 > 0 {
                    entry.1 = if union {
                        weaker(entry.1.clone(), mask)
                    } else {
                        stronger(entry.1.clone(), mask)
                    };
                }
                entry.0 += 1;
            }
        }
    }
    let visible = definition
        .columns
        .iter()
        .filter_map(|c| {
            let (count, mask) = columns.get(c.name.as_str())?;
            (union || *count == grants.len()).then(|| ColumnAccess {
                name: c.name.clone(),
                mask: mask.clone(),
            })
        })
        .collect();
    let filters: Vec<Option<&String>> = grants.iter().map(|(_, g)| g.row_filter.as_ref()).collect();
    let rows = if union {
        if filters.iter().any(Option::is_none) {
            Rows::All
        } else {
            Rows::Any(filters.into_iter().flatten().cloned().collect())
        }
    } else {
        let every: Vec<String> = filters.into_iter().flatten().cloned().collect();
        if every.is_empty() {
            Rows::All
        } else {
            Rows::Every(every)
        }
    };
    let sizes: Vec<Option<u32>> = grants
        .iter()
        .map(|(_, g)| g.aggregate_only.as_ref().map(|a| a.min_group_size))
        .collect();
    let min_group_size = if union {
        // Aggregates only when every grant says so, with the smallest minimum.
        if sizes.iter().all(Option::is_some) {
            sizes.into_iter().flatten().min()
        } else {
            None
        }
    } else {
        sizes.into_iter().flatten().max()
    };
    Some(TableAccess {
        columns: visible,
        rows,
        min_group_size,
        grants: grants.iter().map(|(id, _)| (*id).clone()).collect(),
        tag_rules: Vec::new(),
    })
}

/// Tag rules on top of the grants: deny hides the column, a mask applies when stronger.
fn apply_tag_rules(catalog: &Catalog, caller: &Caller<'_>, definition: &Table, access: &mut TableAccess) {
    let applies = |rule: &lienthong_spec::TagRule| {
        rule.to.as_ref().is_none_or(|s| selects(catalog, s, caller))
            && !rule.except.as_ref().is_some_and(|s| selects(catalog, s, caller))
            && (rule.purposes.is_empty() || caller.purpose.is_some_and(|p| rule.purposes.iter().any(|r| r == p)))
    };
    let mut applied = Vec::new();
    access.columns.retain_mut(|column| {
        let Some(def) = definition.columns.iter().find(|c| c.name == column.name) else {
            return false;
        };
        for (id, rule) in catalog.tag_rules.iter().filter(|(_, r)| def.tags.contains(&r.tag)) {
            if !applies(rule) {
                continue;
            }
            if !applied.contains(id) {
                applied.push(id.clone());
            }
            if rule.deny {
                return false;
            }
            column.mask = stronger(column.mask.clone(), rule.mask.clone());
        }
        true
    });
    access.tag_rules = applied;
}
