//! Checks on a caller's plan: aggregate-only tables, and that the policy survived optimization.
//!
//! Aggregate-only tables may be read only by an aggregate directly over them (filters, projections
//! and aliases in between, nothing that could duplicate or expose rows), with allowed functions;
//! each such aggregate gets a hidden row count and a filter that suppresses groups under the
//! minimum. After optimization, [`verify`] walks the plan again and fails closed if a raw scan is
//! not under a barrier, if anything but the policy sits between a barrier and its scan, if the row
//! policy or a mask is gone, or if a protected aggregate lost its group-size filter.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, Result as DfResult};
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Aggregate, Distinct, Expr, Filter, LogicalPlan, Projection, lit};

use crate::barrier::PolicyBarrier;
use crate::error::{Error, Result};
use crate::source;

/// Name of the hidden per-group row count.
const GROUP_ROWS: &str = "__lienthong_group_rows";

/// Aggregate functions allowed over aggregate-only tables: none of them returns a row's values.
const ALLOWED_AGGREGATES: [&str; 5] = ["count", "sum", "avg", "min", "max"];

fn barrier_of(plan: &LogicalPlan) -> Option<&PolicyBarrier> {
    match plan {
        LogicalPlan::Extension(e) => PolicyBarrier::of(e.node.as_ref()),
        _ => None,
    }
}

/// The aggregate-only barrier that `plan` reads through filters, projections and aliases only.
fn protected_input(plan: &LogicalPlan) -> Option<(u32, String)> {
    match plan {
        LogicalPlan::Filter(Filter { input, .. })
        | LogicalPlan::Projection(Projection { input, .. })
        | LogicalPlan::SubqueryAlias(datafusion::logical_expr::SubqueryAlias { input, .. }) => protected_input(input),
        _ => barrier_of(plan).and_then(|b| b.policy.min_group_size.map(|k| (k, b.policy.table.clone()))),
    }
}

/// Refuses reads of aggregate-only tables that are not protected aggregates, and adds the
/// group-size suppression to those that are.
pub(crate) fn enforce_aggregate_only(plan: LogicalPlan) -> Result<LogicalPlan> {
    // SELECT DISTINCT is a grouping without aggregates: make it one, so that it is guarded too.
    let plan = plan
        .transform_up_with_subqueries(|node| match node {
            LogicalPlan::Distinct(Distinct::All(input)) if protected_input(&input).is_some() => {
                let columns: Vec<Expr> = input.schema().columns().into_iter().map(Expr::Column).collect();
                let grouped = Aggregate::try_new(input, columns, Vec::new())?;
                Ok(Transformed::yes(LogicalPlan::Aggregate(grouped)))
            }
            other => Ok(Transformed::no(other)),
        })
        .map_err(|e| Error::Internal(e.to_string()))?
        .data;
    refuse_unaggregated(&plan, false)?;
    plan.transform_up_with_subqueries(|node| {
        let LogicalPlan::Aggregate(aggregate) = &node else {
            return Ok(Transformed::no(node));
        };
        let Some((k, table)) = protected_input(&aggregate.input) else {
            return Ok(Transformed::no(node));
        };
        for expr in &aggregate.aggr_expr {
            let name = aggregate_name(expr);
            if !name.as_deref().is_some_and(|n| ALLOWED_AGGREGATES.contains(&n)) {
                return datafusion::common::plan_err!(
                    "denied: only {} may be computed over {table}",
                    ALLOWED_AGGREGATES.join(", ")
                );
            }
        }
        Ok(Transformed::yes(guard(aggregate.clone(), k)?))
    })
    .map(|t| t.data)
    .map_err(|e| match e.find_root() {
        datafusion::error::DataFusionError::Plan(m) if m.starts_with("denied: ") => {
            Error::Denied(m["denied: ".len()..].to_owned())
        }
        other => Error::Internal(other.to_string()),
    })
}

fn aggregate_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Alias(alias) => aggregate_name(&alias.expr),
        Expr::AggregateFunction(f) => Some(f.func.name().to_lowercase()),
        _ => None,
    }
}

/// `Aggregate` -> `Projection(original columns) <- Filter(rows >= k) <- Aggregate(+ row count)`.
fn guard(aggregate: Aggregate, k: u32) -> DfResult<LogicalPlan> {
    let width = aggregate.schema.fields().len();
    let mut aggr_expr = aggregate.aggr_expr.clone();
    aggr_expr.push(count(lit(1)).alias(GROUP_ROWS));
    let counted = LogicalPlan::Aggregate(Aggregate::try_new(aggregate.input, aggregate.group_expr, aggr_expr)?);
    let filtered = LogicalPlan::Filter(Filter::try_new(
        Expr::Column(Column::from_name(GROUP_ROWS)).gt_eq(lit(i64::from(k))),
        Arc::new(counted),
    )?);
    let columns = (0..width)
        .map(|i| Expr::Column(Column::from(filtered.schema().qualified_field(i))))
        .collect();
    Ok(LogicalPlan::Projection(Projection::try_new(
        columns,
        Arc::new(filtered),
    )?))
}

/// Errors when an aggregate-only barrier is reached other than under a protected aggregate.
fn refuse_unaggregated(plan: &LogicalPlan, protected: bool) -> Result<()> {
    if let Some(barrier) = barrier_of(plan) {
        if barrier.policy.min_group_size.is_some() && !protected {
            return Err(Error::Denied(format!(
                "{} may only be read by aggregate queries (GROUP BY with count, sum, avg, min, max)",
                barrier.policy.table
            )));
        }
        return Ok(());
    }
    let keeps = match plan {
        LogicalPlan::Aggregate(_) => true,
        LogicalPlan::Filter(_) | LogicalPlan::Projection(_) | LogicalPlan::SubqueryAlias(_) => protected,
        _ => false,
    };
    for input in plan.inputs() {
        refuse_unaggregated(input, keeps)?;
    }
    let mut result = Ok(());
    plan.apply_expressions(|expr| {
        expr.apply(|e| {
            if let Some(subquery) = subquery_plan(e) {
                result = refuse_unaggregated(subquery, false);
                if result.is_err() {
                    return Ok(TreeNodeRecursion::Stop);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    result
}

fn subquery_plan(expr: &Expr) -> Option<&LogicalPlan> {
    match expr {
        Expr::ScalarSubquery(s) => Some(&s.subquery),
        Expr::Exists(e) => Some(&e.subquery.subquery),
        Expr::InSubquery(i) => Some(&i.subquery.subquery),
        Expr::SetComparison(s) => Some(&s.subquery.subquery),
        _ => None,
    }
}

/// What the check found, for the audit and the physical check.
#[derive(Debug, Default)]
pub(crate) struct Verified {
    /// The barriers, in plan order (one per governed table read).
    pub barriers: Vec<Arc<crate::barrier::Policy>>,
    /// Columns read under each barrier, `database.table.column`.
    pub columns: Vec<String>,
}

/// The post-optimization check. Fails closed.
pub(crate) fn verify(plan: &LogicalPlan) -> Result<Verified> {
    let mut verified = Verified::default();
    let mut raw_scans = 0usize;
    let mut problem: Option<String> = None;
    let mut guarded_aggregates = 0usize;
    let mut protected_aggregates = 0usize;
    plan.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::TableScan(scan) if is_raw(scan) => raw_scans += 1,
            LogicalPlan::Aggregate(a) if protected_input(&a.input).is_some() => protected_aggregates += 1,
            LogicalPlan::Filter(f) if matches!(f.input.as_ref(), LogicalPlan::Aggregate(_)) => {
                let guards = split_conjunction(&f.predicate)
                    .iter()
                    .any(|e| e.column_refs().iter().any(|c| c.name == GROUP_ROWS));
                if guards && protected_input(aggregate_input(&f.input)).is_some() {
                    guarded_aggregates += 1;
                }
            }
            _ => {}
        }
        if let Some(barrier) = barrier_of(node) {
            if let Err(message) = check_barrier(barrier) {
                problem.get_or_insert(message);
            }
            for field in barrier.input.schema().fields() {
                verified
                    .columns
                    .push(format!("{}.{}", barrier.policy.table, field.name()));
            }
            verified.barriers.push(Arc::clone(&barrier.policy));
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(message) = problem {
        return Err(Error::Internal(message));
    }
    if raw_scans != verified.barriers.len() {
        return Err(Error::Internal(format!(
            "{raw_scans} source scans but {} policy barriers",
            verified.barriers.len()
        )));
    }
    if guarded_aggregates < protected_aggregates {
        return Err(Error::Internal(
            "an aggregate over an aggregate-only table lost its group-size filter".into(),
        ));
    }
    refuse_unaggregated(plan, false)?;
    verified.columns.sort();
    verified.columns.dedup();
    Ok(verified)
}

fn aggregate_input(plan: &LogicalPlan) -> &LogicalPlan {
    match plan {
        LogicalPlan::Aggregate(a) => &a.input,
        other => other,
    }
}

fn is_raw(scan: &datafusion::logical_expr::TableScan) -> bool {
    datafusion::datasource::source_as_provider(&scan.source).is_ok_and(|p| source::is_raw(p.as_ref()))
}

/// Between a barrier and its scan: only the policy's projection, filter and the scan itself, the
/// row policy still applied, and every mask still computed.
fn check_barrier(barrier: &PolicyBarrier) -> Result<(), String> {
    let table = &barrier.policy.table;
    let mut predicates: Vec<Expr> = Vec::new();
    let mut projections: Vec<&Projection> = Vec::new();
    let mut scans = 0;
    let mut foreign: Option<String> = None;
    barrier
        .input
        .apply(|node| {
            match node {
                LogicalPlan::Projection(p) => projections.push(p),
                LogicalPlan::Filter(f) => predicates.extend(split_conjunction(&f.predicate).into_iter().cloned()),
                LogicalPlan::TableScan(scan) if is_raw(scan) => {
                    scans += 1;
                    predicates.extend(scan.filters.iter().flat_map(split_conjunction).cloned());
                }
                LogicalPlan::SubqueryAlias(_) => {}
                other => foreign = Some(other.display().to_string()),
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .map_err(|e| e.to_string())?;
    if let Some(node) = foreign {
        return Err(format!("`{node}` between the policy of {table} and its scan"));
    }
    if scans != 1 {
        return Err(format!("the policy of {table} covers {scans} scans"));
    }
    if let Some(rows) = &barrier.policy.rows {
        let missing = split_conjunction(rows)
            .into_iter()
            .find(|conjunct| !predicates.iter().any(|p| strip(p) == strip(conjunct)));
        if let Some(missing) = missing {
            return Err(format!("the row policy of {table} is no longer applied (`{missing}`)"));
        }
    }
    for (column, _) in &barrier.policy.masks {
        if barrier.input.schema().field_with_unqualified_name(column).is_err() {
            continue; // pruned: not read by the query
        }
        let computed = projections.iter().any(|p| {
            p.schema.fields().iter().zip(&p.expr).any(|(field, expr)| {
                field.name() == column
                    && matches!(strip(expr), Expr::ScalarFunction(_) | Expr::Literal(..) | Expr::Cast(_))
            })
        });
        if !computed {
            return Err(format!("the mask on {table}.{column} is no longer applied"));
        }
    }
    Ok(())
}

fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(a) => strip(&a.expr),
        other => other,
    }
}

#[cfg(test)]
mod tests;
