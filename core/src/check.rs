//! The post-optimization check: that the policy survived optimization.
//!
//! After optimization, [`verify`] walks the plan again and fails closed if a raw scan is
//! not under a barrier, if anything but the policy sits between a barrier and its scan, if the row
//! policy or a mask is gone, or if a protected aggregate lost its group-size filter.

use std::sync::Arc;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Expr, LogicalPlan, Projection};

use crate::aggregate::{GROUP_ROWS, protected_input, refuse_unaggregated};
use crate::barrier::PolicyBarrier;
use crate::error::{Error, Result};
use crate::guard::GroupGuard;
use crate::source;

fn barrier_of(plan: &LogicalPlan) -> Option<&PolicyBarrier> {
    match plan {
        LogicalPlan::Extension(e) => PolicyBarrier::of(e.node.as_ref()),
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
    let mut scanned_barriers = 0usize;
    let mut problem: Option<String> = None;
    let mut guarded_aggregates = 0usize;
    let mut protected_aggregates = 0usize;
    plan.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::TableScan(scan) if is_raw(scan) => raw_scans += 1,
            LogicalPlan::Aggregate(a) if protected_input(&a.input).is_some() => protected_aggregates += 1,
            LogicalPlan::Extension(e) => {
                if let Some(guard) = GroupGuard::of(e.node.as_ref())
                    && let LogicalPlan::Aggregate(a) = &guard.input
                    && a.schema.field_with_unqualified_name(GROUP_ROWS).is_ok()
                    && protected_input(&a.input).is_some()
                {
                    guarded_aggregates += 1;
                }
            }
            _ => {}
        }
        if let Some(barrier) = barrier_of(node) {
            match check_barrier(barrier) {
                Ok(Reads::Scan) => scanned_barriers += 1,
                Ok(Reads::Nothing) => {}
                Err(message) => {
                    problem.get_or_insert(message);
                }
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
    if raw_scans != scanned_barriers {
        return Err(Error::Internal(format!(
            "{raw_scans} source scans but {scanned_barriers} policy barriers over them"
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

fn is_raw(scan: &datafusion::logical_expr::TableScan) -> bool {
    datafusion::datasource::source_as_provider(&scan.source).is_ok_and(|p| source::is_raw(p.as_ref()))
}

/// Between a barrier and its scan: only the policy's projection, filter and the scan itself, the
/// row policy still applied, and every mask still computed.
/// What a barrier that passed the check reads.
enum Reads {
    /// Its table's scan, under the policy.
    Scan,
    /// No row at all: the optimizer proved the caller's conditions contradictory
    /// (`sex = 'M' AND sex = 'F'`) and replaced the scan by an empty relation.
    Nothing,
}

fn check_barrier(barrier: &PolicyBarrier) -> Result<Reads, String> {
    let table = &barrier.policy.table;
    let mut predicates: Vec<Expr> = Vec::new();
    let mut projections: Vec<&Projection> = Vec::new();
    let mut scans = 0;
    let mut empty = false;
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
                LogicalPlan::EmptyRelation(e) if !e.produce_one_row => empty = true,
                other => foreign = Some(other.display().to_string()),
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .map_err(|e| e.to_string())?;
    if let Some(node) = foreign {
        return Err(format!("`{node}` between the policy of {table} and its scan"));
    }
    if empty && scans == 0 {
        return Ok(Reads::Nothing);
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
                    && matches!(
                        strip(expr),
                        Expr::ScalarFunction(_) | Expr::Literal(..) | Expr::Cast(_) | Expr::Case(_)
                    )
            })
        });
        if !computed {
            return Err(format!("the mask on {table}.{column} is no longer applied"));
        }
    }
    Ok(Reads::Scan)
}

fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(a) => strip(&a.expr),
        other => other,
    }
}

#[cfg(test)]
mod tests;
