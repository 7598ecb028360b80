//! Conditions that read no column of the governed table but hold a subquery (`WHERE EXISTS
//! (SELECT … FROM other)`) stay above the barrier.
//!
//! DataFusion's filter pushdown lets an extension node block predicates by the columns they
//! read; a predicate that reads none passes every barrier and lands next to the scan. Without a
//! subquery that is harmless (the value is the same for every row). With one, the next optimizer
//! pass turns it into a join below the barrier, and the barrier check refuses the query (closed,
//! but refused). This rule, run right after the pushdown, lifts such conditions back above the
//! barrier where they came from.

use std::sync::Arc;

use datafusion::common::Result as DfResult;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::utils::{conjunction, split_conjunction_owned};
use datafusion::logical_expr::{Expr, Extension, Filter, LogicalPlan};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

use super::PolicyBarrier;

/// The optimizer rule (see the module's documentation).
#[derive(Debug, Default)]
pub(crate) struct LiftSubqueryConditions;

/// A condition to lift: a subquery somewhere in it, and no column of its own.
fn to_lift(expr: &Expr) -> bool {
    expr.column_refs().is_empty()
        && expr
            .exists(|e| {
                Ok(matches!(
                    e,
                    Expr::Exists(_) | Expr::InSubquery(_) | Expr::ScalarSubquery(_)
                ))
            })
            .unwrap_or(false)
}

impl OptimizerRule for LiftSubqueryConditions {
    fn name(&self) -> &str {
        "lift_subquery_conditions_above_barriers"
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(&self, plan: LogicalPlan, _config: &dyn OptimizerConfig) -> DfResult<Transformed<LogicalPlan>> {
        plan.transform_up(|node| {
            let LogicalPlan::Extension(extension) = &node else {
                return Ok(Transformed::no(node));
            };
            let Some(barrier) = PolicyBarrier::of(extension.node.as_ref()) else {
                return Ok(Transformed::no(node));
            };
            let mut lifted = Vec::new();
            let input = barrier.input.clone().transform_down(|below| {
                if let LogicalPlan::TableScan(mut scan) = below {
                    // Pushed into the scan as well (a source taking filters).
                    let (lift, keep): (Vec<Expr>, Vec<Expr>) =
                        std::mem::take(&mut scan.filters).into_iter().partition(to_lift);
                    scan.filters = keep;
                    let changed = !lift.is_empty();
                    lifted.extend(lift);
                    return Ok(Transformed::new_transformed(LogicalPlan::TableScan(scan), changed));
                }
                let LogicalPlan::Filter(filter) = below else {
                    return Ok(Transformed::no(below));
                };
                let (lift, keep): (Vec<Expr>, Vec<Expr>) = split_conjunction_owned(filter.predicate.clone())
                    .into_iter()
                    .partition(to_lift);
                if lift.is_empty() {
                    return Ok(Transformed::no(LogicalPlan::Filter(filter)));
                }
                lifted.extend(lift);
                Ok(Transformed::yes(match conjunction(keep) {
                    Some(predicate) => LogicalPlan::Filter(Filter::try_new(predicate, filter.input)?),
                    None => Arc::unwrap_or_clone(filter.input),
                }))
            })?;
            lifted.dedup();
            let Some(predicate) = conjunction(lifted) else {
                return Ok(Transformed::no(node));
            };
            let barrier = LogicalPlan::Extension(Extension {
                node: Arc::new(PolicyBarrier::new(input.data, Arc::clone(&barrier.policy))),
            });
            Ok(Transformed::yes(LogicalPlan::Filter(Filter::try_new(
                predicate,
                Arc::new(barrier),
            )?)))
        })
    }
}
