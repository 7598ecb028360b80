//! Lookup-only tables: a caller reads rows only by naming their keys.
//!
//! Every read of a table under a lookup-only grant must reach, going up from the table through
//! aliases, plain column projections and joins only, a filter that pins every key column to
//! values the query supplies: `key = 'value'`, `'value' = key`, `key IN ('a', 'b')`, or a
//! parameter (`$1`) in their place; at most `max_keys` values (combinations, for several key
//! columns). Whatever runs before that filter runs on rows the caller did not name, so it is
//! limited to what cannot tell anything about them: no aggregate, window, sort, limit, union or
//! distinct, no subquery producing keys, and only conditions and join keys that cannot fail on any
//! row (the allow-list of [`crate::aggregate`]). Errors while running such a query are replaced by
//! one generic message, as for aggregate-only tables.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Extension, JoinType, LogicalPlan, Operator};

use crate::barrier::PolicyBarrier;
use crate::error::{Error, Result};

/// The values a query names for the keys of one lookup-only table: one entry per value (or
/// combination of values, for several key columns).
type Named = Vec<(String, Vec<Vec<Expr>>)>;

/// Refuses the plan when a lookup-only table is read other than by keys the query names.
pub(crate) fn enforce(plan: &LogicalPlan) -> Result<()> {
    visit(plan, &mut Vec::new(), &mut Vec::new())
}

/// The keys a plan (with its parameters bound) names, by table, as text: one string per key
/// (the values of several key columns joined by U+001F). For plans [`enforce`] accepts.
pub(crate) fn named_keys(plan: &LogicalPlan) -> Result<Vec<(String, Vec<String>)>> {
    let mut named = Vec::new();
    visit(plan, &mut Vec::new(), &mut named)?;
    Ok(named
        .into_iter()
        .map(|(table, combinations)| {
            let keys = combinations
                .iter()
                .map(|values| {
                    values
                        .iter()
                        .map(|v| match v {
                            Expr::Literal(value, _) => value.to_string(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join("\u{1f}")
                })
                .collect();
            (table, keys)
        })
        .collect())
}

fn visit<'a>(plan: &'a LogicalPlan, ancestors: &mut Vec<&'a LogicalPlan>, named: &mut Named) -> Result<()> {
    if let LogicalPlan::Extension(Extension { node }) = plan
        && let Some(barrier) = PolicyBarrier::of(node.as_ref())
        && let Some((by, max_keys, verify)) = &barrier.policy.lookup
    {
        let values = pinned(barrier, by, *max_keys, ancestors, 0).map_err(|why| {
            Error::Denied(format!(
                "`{}` may only be looked up by {}: {why}",
                barrier.policy.table,
                by.join(", ")
            ))
        })?;
        named.push((barrier.policy.table.clone(), combinations(&values)));
        compared_only(barrier, verify, ancestors).map_err(|why| {
            Error::Denied(format!(
                "`{}`: {} may only be compared with values the query supplies ({} = …): {why}",
                barrier.policy.table,
                verify.join(", "),
                verify[0]
            ))
        })?;
    }
    // A subquery's reads are checked on their own: what pins a key must be inside it.
    let mut result = Ok(());
    let _ = plan.apply_expressions(|expr| {
        expr.apply(|e| {
            let sub = match e {
                Expr::ScalarSubquery(s) | Expr::Exists(datafusion::logical_expr::expr::Exists { subquery: s, .. }) => {
                    Some(&s.subquery)
                }
                Expr::InSubquery(s) => Some(&s.subquery.subquery),
                _ => None,
            };
            if let Some(sub) = sub
                && let Err(e) = visit(sub.as_ref(), &mut Vec::new(), named)
            {
                result = Err(e);
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })
    });
    result?;
    ancestors.push(plan);
    for input in plan.inputs() {
        visit(input, ancestors, named)?;
    }
    ancestors.pop();
    Ok(())
}

/// Every combination of one value per key column.
fn combinations(values: &[Vec<Expr>]) -> Vec<Vec<Expr>> {
    values.iter().fold(vec![Vec::new()], |acc, column| {
        acc.iter()
            .flat_map(|prefix| {
                column.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect()
    })
}

/// Checks the way up from the barrier to the filter that pins its keys; gives the values each
/// key column is pinned to.
fn pinned(
    barrier: &PolicyBarrier,
    by: &[String],
    max_keys: u32,
    ancestors: &[&LogicalPlan],
    depth: usize,
) -> std::result::Result<Vec<Vec<Expr>>, String> {
    let mut keys: Vec<Column> = by
        .iter()
        .map(|name| barrier_column(barrier, name).ok_or_else(|| format!("the key `{name}` is not visible")))
        .collect::<std::result::Result<_, _>>()?;
    let not_pinned = || {
        format!(
            "name the keys in the query (WHERE {} = '…' or IN ('…', …))",
            by.join(" = '…' AND ")
        )
    };
    for (index, node) in ancestors.iter().enumerate().rev() {
        match node {
            LogicalPlan::SubqueryAlias(alias) => {
                for key in &mut keys {
                    *key = through_alias(alias, key).ok_or_else(not_pinned)?;
                }
            }
            LogicalPlan::Projection(projection) => {
                for expr in &projection.expr {
                    if !matches!(strip(expr), Expr::Column(_) | Expr::Literal(..)) {
                        return Err("compute columns after naming the keys, not before".into());
                    }
                }
                for key in &mut keys {
                    let index = projection
                        .expr
                        .iter()
                        .position(|e| matches!(strip(e), Expr::Column(c) if c == key))
                        .ok_or_else(not_pinned)?;
                    *key = Column::from(projection.schema.qualified_field(index));
                }
            }
            LogicalPlan::Filter(filter) => {
                let conjuncts = split_conjunction(&filter.predicate);
                let values: Vec<Option<Vec<Expr>>> = keys
                    .iter()
                    .map(|key| {
                        conjuncts
                            .iter()
                            .filter_map(|c| values_pinning(c, key))
                            .min_by_key(Vec::len)
                    })
                    .collect();
                // Every other condition runs on rows the caller did not name.
                for conjunct in &conjuncts {
                    if keys.iter().all(|k| values_pinning(conjunct, k).is_none()) {
                        total(conjunct, filter.input.schema())?;
                    }
                }
                if values.iter().all(Option::is_some) {
                    let values: Vec<Vec<Expr>> = values.into_iter().flatten().collect();
                    let named: usize = values.iter().map(Vec::len).product();
                    if named > max_keys as usize {
                        return Err(format!("the query names {named} keys, at most {max_keys} are allowed"));
                    }
                    return Ok(values);
                }
            }
            LogicalPlan::Join(join) => {
                if !matches!(
                    join.join_type,
                    JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full
                ) || keys.iter().any(|k| !join.schema.has_column(k))
                {
                    return Err(not_pinned());
                }
                let (left, right) = (join.left.schema(), join.right.schema());
                for (l, r) in &join.on {
                    total(l, left)?;
                    total(r, right)?;
                }
                if let Some(filter) = &join.filter {
                    total(filter, &join.schema)?;
                }
                if depth < MAX_JOIN_DEPTH
                    && let Some(values) = bound_through(join, &keys, max_keys, &ancestors[..=index], depth)
                {
                    return Ok(values);
                }
            }
            _ => return Err(not_pinned()),
        }
    }
    Err(not_pinned())
}

/// How many joins deep a key may be bound through other tables' primary keys.
const MAX_JOIN_DEPTH: usize = 3;

/// The values that bind `keys` at `join` when each is equal (`ON key = other.column`, no cast)
/// to a column of a table on the other side whose primary key the query pins, and the join keeps
/// no row of this side that is not matched (inner, or this side the optional one): rows of this
/// table then reach the result only through rows the caller named by key, at most one per key.
/// `above` is the way from the root down to `join`.
fn bound_through(
    join: &datafusion::logical_expr::Join,
    keys: &[Column],
    max_keys: u32,
    above: &[&LogicalPlan],
    depth: usize,
) -> Option<Vec<Vec<Expr>>> {
    let ours_left = keys.iter().all(|k| join.left.schema().has_column(k));
    let (other, preserved) = if ours_left {
        (
            join.right.as_ref(),
            matches!(join.join_type, JoinType::Left | JoinType::Full),
        )
    } else {
        (
            join.left.as_ref(),
            matches!(join.join_type, JoinType::Right | JoinType::Full),
        )
    };
    if preserved {
        return None;
    }
    // Equalities of the join: its keys, and (before the optimizer extracts them) `a = b` in ON.
    let mut pairs: Vec<(&Expr, &Expr)> = join.on.iter().map(|(l, r)| (l, r)).collect();
    if let Some(filter) = &join.filter {
        for conjunct in split_conjunction(filter) {
            if let Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::Eq,
                right,
            }) = conjunct
            {
                pairs.push((left.as_ref(), right.as_ref()));
            }
        }
    }
    let partners: Vec<Column> = keys
        .iter()
        .map(|key| {
            pairs
                .iter()
                .find_map(|(l, r)| match (as_text_column(l), as_text_column(r)) {
                    (Some(a), Some(b)) if a == key && other.schema().has_column(b) => Some(b.clone()),
                    (Some(a), Some(b)) if b == key && other.schema().has_column(a) => Some(a.clone()),
                    _ => None,
                })
        })
        .collect::<Option<_>>()?;
    let mut path: Vec<&LogicalPlan> = above.to_vec();
    let source = descend(other, &partners, &mut path)?;
    if source.policy.primary_key.is_empty() {
        return None;
    }
    pinned(source, &source.policy.primary_key, max_keys, &path, depth + 1).ok()
}

/// The column `expr` is, also under a cast to text (which keeps distinct values distinct: the
/// coercion of a `Utf8` key to `Utf8View`, say); `None` for anything computed.
fn as_text_column(expr: &Expr) -> Option<&Column> {
    use datafusion::arrow::datatypes::DataType;
    match expr {
        Expr::Column(c) => Some(c),
        Expr::Cast(cast)
            if matches!(
                cast.field.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            match cast.expr.as_ref() {
                Expr::Column(c) => Some(c),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The barrier below `plan` that `columns` come from unchanged (through aliases, bare column
/// projections, filters and joins), with the way down to it appended to `path`.
fn descend<'a>(
    plan: &'a LogicalPlan,
    columns: &[Column],
    path: &mut Vec<&'a LogicalPlan>,
) -> Option<&'a PolicyBarrier> {
    if let LogicalPlan::Extension(Extension { node }) = plan {
        let barrier = PolicyBarrier::of(node.as_ref())?;
        let schema = datafusion::logical_expr::UserDefinedLogicalNodeCore::schema(barrier);
        return columns.iter().all(|c| schema.has_column(c)).then_some(barrier);
    }
    let below: Vec<Column> = match plan {
        LogicalPlan::SubqueryAlias(alias) => columns
            .iter()
            .map(|c| {
                let index = alias.schema.index_of_column(c).ok()?;
                Some(Column::from(alias.input.schema().qualified_field(index)))
            })
            .collect::<Option<_>>()?,
        LogicalPlan::Projection(projection) => columns
            .iter()
            .map(|c| {
                let index = projection.schema.index_of_column(c).ok()?;
                match &projection.expr[index] {
                    Expr::Column(inner) => Some(inner.clone()),
                    Expr::Alias(a) => match a.expr.as_ref() {
                        Expr::Column(inner) => Some(inner.clone()),
                        _ => None,
                    },
                    _ => None,
                }
            })
            .collect::<Option<_>>()?,
        LogicalPlan::Filter(_) | LogicalPlan::Join(_) => columns.to_vec(),
        _ => return None,
    };
    let input = plan
        .inputs()
        .into_iter()
        .find(|input| below.iter().all(|c| input.schema().has_column(c)))?;
    path.push(plan);
    descend(input, &below, path)
}

/// Follows the compare-only columns from the barrier to the result: each use must be an equality
/// with a value the query supplies; they may pass through aliases and projections as they are,
/// but never reach the result, a join, an aggregate, a sort or anything else.
fn compared_only(
    barrier: &PolicyBarrier,
    verify: &[String],
    ancestors: &[&LogicalPlan],
) -> std::result::Result<(), String> {
    if verify.is_empty() {
        return Ok(());
    }
    let mut tracked: Vec<Column> = verify.iter().filter_map(|name| barrier_column(barrier, name)).collect();
    for node in ancestors.iter().rev() {
        if tracked.is_empty() {
            return Ok(());
        }
        match node {
            LogicalPlan::SubqueryAlias(alias) => {
                tracked = tracked.iter().filter_map(|c| through_alias(alias, c)).collect();
            }
            LogicalPlan::Projection(projection) => {
                let mut passed = Vec::new();
                for (i, expr) in projection.expr.iter().enumerate() {
                    if matches!(strip(expr), Expr::Column(c) if tracked.contains(c)) {
                        passed.push(Column::from(projection.schema.qualified_field(i)));
                    } else {
                        equality_only(expr, &tracked)?;
                    }
                }
                tracked = passed;
            }
            LogicalPlan::Filter(filter) => equality_only(&filter.predicate, &tracked)?,
            // Carried along by a join that does not use them (its output names them as its input).
            LogicalPlan::Join(join)
                if join.on.iter().all(|(l, r)| !uses(l, &tracked) && !uses(r, &tracked))
                    && join.filter.as_ref().is_none_or(|f| !uses(f, &tracked))
                    && matches!(
                        join.join_type,
                        JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full
                    ) => {}
            other => {
                let mut used = false;
                let _ = other.apply_expressions(|e| {
                    used |= e.column_refs().iter().any(|c| tracked.contains(c));
                    Ok(TreeNodeRecursion::Continue)
                });
                if used || tracked.iter().any(|c| other.schema().has_column(c)) {
                    return Err("they are read here, not only compared".into());
                }
                return Ok(());
            }
        }
    }
    if tracked.is_empty() {
        Ok(())
    } else {
        Err("they would reach the result".into())
    }
}

/// Whether `expr` reads one of the `tracked` columns.
fn uses(expr: &Expr, tracked: &[Column]) -> bool {
    expr.column_refs().iter().any(|c| tracked.contains(c))
}

/// Whether every use of a `tracked` column in `expr` is `column = supplied value`; no subquery
/// (which could compare them with data).
fn equality_only(expr: &Expr, tracked: &[Column]) -> std::result::Result<(), String> {
    let supplied = |e: &Expr| matches!(strip(e), Expr::Literal(..) | Expr::Placeholder(_));
    let is_tracked = |e: &Expr| matches!(strip(e), Expr::Column(c) if tracked.contains(c));
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) if (is_tracked(left) && supplied(right)) || (supplied(left) && is_tracked(right)) => Ok(()),
        Expr::Column(c) if tracked.contains(c) => Err(format!("`{}` is used other than in an equality", c.name)),
        Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_) if !tracked.is_empty() => {
            Err("no subquery where they are read".into())
        }
        _ => {
            let mut result = Ok(());
            let _ = expr.apply_children(|child| {
                result = equality_only(child, tracked);
                Ok(if result.is_ok() {
                    TreeNodeRecursion::Continue
                } else {
                    TreeNodeRecursion::Stop
                })
            });
            result
        }
    }
}

/// The barrier's output column `name` (hidden columns have none).
fn barrier_column(barrier: &PolicyBarrier, name: &str) -> Option<Column> {
    datafusion::logical_expr::UserDefinedLogicalNodeCore::schema(barrier)
        .qualified_field_with_unqualified_name(name)
        .ok()
        .map(|(q, f)| Column::new(q.cloned(), f.name()))
}

/// `column` of the alias's input as the alias names it.
fn through_alias(alias: &datafusion::logical_expr::SubqueryAlias, column: &Column) -> Option<Column> {
    let index = alias.input.schema().index_of_column(column).ok()?;
    Some(Column::from(alias.schema.qualified_field(index)))
}

fn total(expr: &Expr, schema: &DFSchema) -> std::result::Result<(), String> {
    crate::aggregate::total(expr, schema, 0).map_err(|what| format!("before the keys are named, {what}"))
}

/// The distinct values `conjunct` pins `key` to, if it pins it to values the query supplies.
fn values_pinning(conjunct: &Expr, key: &Column) -> Option<Vec<Expr>> {
    let is_key = |e: &Expr| matches!(strip(e), Expr::Column(c) if c == key);
    let supplied = |e: &Expr| matches!(strip(e), Expr::Literal(..) | Expr::Placeholder(_));
    match conjunct {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) if (is_key(left) && supplied(right)) || (supplied(left) && is_key(right)) => {
            Some(vec![strip(if is_key(left) { right } else { left }).clone()])
        }
        // `key = 'a' OR key = 'b'` is `key IN ('a', 'b')` (how the optimizer writes a short list,
        // and so how a sub-query from another node arrives).
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) => {
            let mut values = values_pinning(left, key)?;
            for value in values_pinning(right, key)? {
                if !values.contains(&value) {
                    values.push(value);
                }
            }
            Some(values)
        }
        Expr::InList(InList {
            expr,
            list,
            negated: false,
        }) if is_key(expr) && list.iter().all(supplied) => {
            let mut distinct: Vec<Expr> = Vec::new();
            for value in list {
                if !distinct.contains(strip(value)) {
                    distinct.push(strip(value).clone());
                }
            }
            Some(distinct)
        }
        _ => None,
    }
}

/// `expr` without aliases and casts (a cast of the key or of a value pins the same rows).
fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(a) => strip(&a.expr),
        Expr::Cast(c) => strip(&c.expr),
        Expr::TryCast(c) => strip(&c.expr),
        _ => expr,
    }
}
