//! What one caller may see of one table: the catalog's grants and tag rules resolved for a
//! principal, a purpose and a day. Deny by default; secret tables never; open tables for anyone.
//!
//! The result, [`TableAccess`], is what the planner enforces: the visible columns in table order,
//! each with the mask that applies, the row filters (still as catalog text, bound later), and
//! whether only aggregates are allowed. Everything here is pure data: no DataFusion.

use chrono::NaiveDate;
use lienthong_spec::{AgencyCode, Catalog, Classification, Combine, Grant, Mask, Principal, Selector, Table};

/// Who is asking, and why.
#[derive(Clone, Copy, Debug)]
pub struct Caller<'a> {
    /// Principal id (`public` for the anonymous caller).
    pub id: &'a str,
    /// The declared principal; `None` for `public`.
    pub principal: Option<&'a Principal>,
    /// The declared purpose; `None` only for `public`.
    pub purpose: Option<&'a str>,
    /// The peer node a remote caller arrived through (its `principal` is then the one the peer
    /// asserts); `None` for this node's own principals.
    pub via: Option<&'a str>,
}

/// A visible column and the masks the caller sees it through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnAccess {
    /// Column name.
    pub name: String,
    /// The masks, applied in this order (empty: the raw value). More than one when rules that
    /// cannot be ranked both apply (a generalisation and a pseudonym): each makes the value
    /// coarser, so applying both is stricter than either.
    pub masks: Vec<Mask>,
    /// Under `combine: union`, when the grants that cover a row show this column differently:
    /// the value of a row is the first case whose rows hold, and NULL when none does (the row is
    /// visible through a grant that does not give the column). Empty otherwise.
    pub cases: Vec<ColumnCase>,
}

impl ColumnAccess {
    /// How the column is masked, for people: `keep_last`, `generalize: year + pseudonym`,
    /// `by grant` (union of grants that mask it differently); `None` for the raw value.
    pub fn mask_name(&self) -> Option<String> {
        if !self.cases.is_empty() {
            return Some("by grant".into());
        }
        let names: Vec<&str> = self.masks.iter().map(Mask::name).collect();
        (!names.is_empty()).then(|| names.join(" + "))
    }
}

/// One grant's view of a column under `combine: union`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnCase {
    /// The grant's row filter (`None`: every row).
    pub rows: Option<String>,
    /// The masks the grant (and the tag rules) put on the column.
    pub masks: Vec<Mask>,
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
    /// Aggregate-only: the columns whose `min` and `max` the owner allows.
    pub min_max: Vec<String>,
    /// When set, rows are read only by the keys a query names.
    pub lookup: Option<LookupAccess>,
    /// The table's primary key columns, when the caller sees all of them unmasked (a lookup may
    /// reach a lookup-only table through a row this key pins).
    pub primary_key: Vec<String>,
    /// Ids of the grants that gave access (empty for open tables).
    pub grants: Vec<String>,
    /// Ids of the tag rules that hid or masked a column.
    pub tag_rules: Vec<String>,
}

/// Lookup-only access: the key columns a query must pin, and how many values it may name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupAccess {
    /// Key columns; every one must be pinned.
    pub by: Vec<String>,
    /// Most key values (combinations) per query.
    pub max_keys: u32,
    /// Columns only compared with supplied values, never read.
    pub verify: Vec<String>,
}

/// Lookup-only settings of several grants together: a caller holding any lookup-only grant on a
/// table reads it lookup-only (whatever other grants give, as for aggregate-only), pinning every
/// grant's keys, with the smallest cap.
fn lookup(grants: &[(&String, &Grant)]) -> Option<LookupAccess> {
    let lookups: Vec<&lienthong_spec::Lookup> = grants.iter().filter_map(|(_, g)| g.lookup.as_ref()).collect();
    let mut by: Vec<String> = Vec::new();
    for column in lookups.iter().flat_map(|l| &l.by) {
        if !by.contains(column) {
            by.push(column.clone());
        }
    }
    let max_keys = lookups.iter().map(|l| l.max_keys()).min()?;
    let mut verify: Vec<String> = Vec::new();
    for column in lookups.iter().flat_map(|l| &l.verify) {
        if !verify.contains(column) {
            verify.push(column.clone());
        }
    }
    Some(LookupAccess { by, max_keys, verify })
}

/// Whether `selector` selects the caller. `agencies` match the caller's agency or any ancestor.
pub fn selects(catalog: &Catalog, selector: &Selector, caller: &Caller<'_>) -> bool {
    let Some(principal) = caller.principal else {
        return false;
    };
    // Remote callers are selected only by selectors naming their peer, and only by the asserted
    // agency, roles and attributes; local principals never by a selector naming peers.
    let arrival = match caller.via {
        Some(peer) => selector.peers.iter().any(|p| p == peer) && selector.principals.is_empty(),
        None => selector.peers.is_empty(),
    };
    arrival
        && (selector.principals.is_empty() || selector.principals.iter().any(|p| p == caller.id))
        && (selector.agencies.is_empty() || selector.agencies.iter().any(|a| within(catalog, &principal.agency, a)))
        && (selector.roles.is_empty() || selector.roles.iter().any(|r| principal.roles.contains(r)))
        && selector
            .attributes
            .iter()
            .all(|(k, v)| principal.attributes.get(k) == Some(v))
}

/// Whether `agency` is `ancestor` or one of its units.
pub(crate) fn within(catalog: &Catalog, agency: &AgencyCode, ancestor: &AgencyCode) -> bool {
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

/// Masks that hide everything: nothing is stricter.
fn hides_all(mask: &Mask) -> bool {
    matches!(mask, Mask::Nullify | Mask::Redact)
}

/// Where a mask goes in a list applied in order: generalise, then cut, then pseudonymise.
fn stage(mask: &Mask) -> u8 {
    match mask {
        Mask::Generalize(_) => 0,
        Mask::KeepLast(_) => 1,
        Mask::Pseudonym => 2,
        Mask::Redact => 3,
        Mask::Nullify => 4,
    }
}

/// Both rules at once: the stricter of two masks of one kind (`keep_last` keeps the fewer
/// characters), every mask of different kinds applied in turn, and a mask that hides everything
/// alone.
pub fn strictest(a: &[Mask], b: &[Mask]) -> Vec<Mask> {
    let mut all: Vec<Mask> = Vec::new();
    for mask in a.iter().chain(b) {
        match all.iter_mut().find(|m| stage(m) == stage(mask)) {
            Some(Mask::KeepLast(kept)) => {
                if let Mask::KeepLast(n) = mask {
                    *kept = (*kept).min(*n);
                }
            }
            Some(_) => {} // same kind: a pseudonym is a pseudonym; a column has one generalisation
            None => all.push(mask.clone()),
        }
    }
    if let Some(hiding) = all.iter().filter(|m| hides_all(m)).max_by_key(|m| stage(m)) {
        return vec![hiding.clone()];
    }
    all.sort_by_key(stage);
    all
}

/// Whether a column shown through `a` shows at most what `b` shows (`a` is as strict as `b`).
pub fn at_least_as_strict(a: &[Mask], b: &[Mask]) -> bool {
    strictest(a, b) == strictest(a, &[])
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
                    masks: Vec::new(),
                    cases: Vec::new(),
                })
                .collect(),
            rows: Rows::All,
            min_group_size: None,
            min_max: Vec::new(),
            lookup: None,
            primary_key: Vec::new(),
            grants: Vec::new(),
            tag_rules: Vec::new(),
        },
        _ => granted(catalog, caller, definition, &qualified, today)?,
    };
    apply_tag_rules(catalog, caller, definition, &mut access);
    let key: Vec<&str> = definition
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.as_str())
        .collect();
    let unmasked = |name: &str| {
        access
            .columns
            .iter()
            .any(|c| c.name == name && c.masks.is_empty() && c.cases.is_empty())
    };
    if !key.is_empty() && key.iter().all(|k| unmasked(k)) {
        access.primary_key = key.iter().map(|k| (*k).to_owned()).collect();
    }
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
    let mut grants: Vec<(&String, &Grant)> = catalog
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
    let grants = if definition.combine == Combine::Union {
        // Rows of an aggregate-only grant never become row-level through another grant: a caller
        // who holds both kinds reads the table at row level through the row-level grants alone.
        if grants.iter().any(|(_, g)| g.aggregate_only.is_none()) {
            grants.retain(|(_, g)| g.aggregate_only.is_none());
        }
        union(definition, &grants)
    } else {
        strict(definition, &grants)
    };
    Some(grants)
}

/// The columns `grant` gives, in table order, with its masks.
fn grant_columns<'a>(definition: &'a Table, grant: &'a Grant) -> impl Iterator<Item = (&'a str, Vec<Mask>)> {
    definition
        .columns
        .iter()
        .filter(|c| grant.all_columns() || grant.columns.contains(&c.name))
        .map(|c| (c.name.as_str(), grant.masks.get(&c.name).cloned().into_iter().collect()))
}

/// Aggregate-only settings of several grants together: the largest minimum, the columns every
/// grant allows `min`/`max` on.
fn aggregate_only(grants: &[(&String, &Grant)]) -> (Option<u32>, Vec<String>) {
    let sizes: Vec<&lienthong_spec::AggregateOnly> =
        grants.iter().filter_map(|(_, g)| g.aggregate_only.as_ref()).collect();
    let Some(first) = sizes.first() else {
        return (None, Vec::new());
    };
    let min_max = first
        .min_max
        .iter()
        .filter(|c| sizes.iter().all(|a| a.min_max.contains(c)))
        .cloned()
        .collect();
    (sizes.iter().map(|a| a.min_group_size).max(), min_max)
}

/// `combine: strict`: rows pass every filter, only columns every grant gives, every mask.
fn strict(definition: &Table, grants: &[(&String, &Grant)]) -> TableAccess {
    let mut columns: Vec<ColumnAccess> = Vec::new();
    for column in &definition.columns {
        let mut masks = Vec::new();
        let mut everywhere = true;
        for (_, grant) in grants {
            match grant_columns(definition, grant).find(|(name, _)| *name == column.name) {
                Some((_, more)) => masks = strictest(&masks, &more),
                None => everywhere = false,
            }
        }
        if everywhere {
            columns.push(ColumnAccess {
                name: column.name.clone(),
                masks,
                cases: Vec::new(),
            });
        }
    }
    let every: Vec<String> = grants.iter().filter_map(|(_, g)| g.row_filter.clone()).collect();
    let (min_group_size, min_max) = aggregate_only(grants);
    TableAccess {
        columns,
        rows: if every.is_empty() {
            Rows::All
        } else {
            Rows::Every(every)
        },
        min_group_size,
        min_max,
        lookup: lookup(grants),
        primary_key: Vec::new(),
        grants: grants.iter().map(|(id, _)| (*id).clone()).collect(),
        tag_rules: Vec::new(),
    }
}

/// `combine: union`, grant by grant: a row is visible where any grant's filter holds, and each
/// column of it shows as the least-masked grant *that covers the row* shows it (NULL when no
/// covering grant gives the column). A grant's masks never apply to rows it does not cover.
fn union(definition: &Table, grants: &[(&String, &Grant)]) -> TableAccess {
    let mut columns = Vec::new();
    for column in &definition.columns {
        let mut cases: Vec<ColumnCase> = grants
            .iter()
            .filter_map(|(_, grant)| {
                let (_, masks) = grant_columns(definition, grant).find(|(name, _)| *name == column.name)?;
                Some(ColumnCase {
                    rows: grant.row_filter.clone(),
                    masks,
                })
            })
            .collect();
        if cases.is_empty() {
            continue;
        }
        // Least masked first; among masks that cannot be ranked, the grant order (stable sort).
        cases.sort_by(|a, b| {
            let (a_in_b, b_in_a) = (
                at_least_as_strict(&a.masks, &b.masks),
                at_least_as_strict(&b.masks, &a.masks),
            );
            match (a_in_b, b_in_a) {
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Equal,
            }
        });
        let masks = cases[0].masks.clone();
        // One view for every row: no case needed. The first case covers every row it applies to,
        // so cases after one without a filter never apply.
        if let Some(all) = cases.iter().position(|c| c.rows.is_none()) {
            cases.truncate(all + 1);
        }
        let uniform = cases.len() == grants.len() && cases.iter().all(|c| c.masks == masks);
        if uniform || (cases.len() == 1 && cases[0].rows.is_none()) {
            cases.clear();
        }
        columns.push(ColumnAccess {
            name: column.name.clone(),
            masks,
            cases,
        });
    }
    let rows = if grants.iter().any(|(_, g)| g.row_filter.is_none()) {
        Rows::All
    } else {
        Rows::Any(grants.iter().filter_map(|(_, g)| g.row_filter.clone()).collect())
    };
    let (min_group_size, min_max) = aggregate_only(grants);
    TableAccess {
        columns,
        rows,
        min_group_size,
        min_max,
        lookup: lookup(grants),
        primary_key: Vec::new(),
        grants: grants.iter().map(|(id, _)| (*id).clone()).collect(),
        tag_rules: Vec::new(),
    }
}

/// Tag rules on top of the grants: deny hides the column, a mask applies with the grant's (the
/// stricter of the two, or both when they cannot be ranked).
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
            let rule_masks: Vec<Mask> = rule.mask.iter().cloned().collect();
            column.masks = strictest(&column.masks, &rule_masks);
            for case in &mut column.cases {
                case.masks = strictest(&case.masks, &rule_masks);
            }
        }
        true
    });
    access.tag_rules = applied;
}
