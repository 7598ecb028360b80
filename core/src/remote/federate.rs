//! Finds the sub-plans that go to other nodes and replaces each with a [`RemoteQuery`].
//!
//! Bottom-up: a scan of a remote table belongs to its source; a barrier of this node that
//! restricts nothing (no row filter, mask or aggregate-only) belongs to its input's source; a
//! projection, filter, join, aggregate, sort, limit, distinct or alias belongs to a source when
//! all its inputs do and its expressions can be written as SQL the other node runs the same way
//! (functions every node has, no subqueries). The largest such sub-plans become sub-queries.
//! Everything else, including this node's own restrictions, stays here.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, NullEquality, Result as DfResult};
use datafusion::datasource::source_as_provider;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Distinct, Expr, Extension, JoinType, LogicalPlan, LogicalPlanBuilder, SubqueryAlias};
use datafusion::sql::unparser::plan_to_sql;

use super::exec::RemoteQuery;
use super::{Calls, RemoteTable};
use crate::barrier::{Policy, PolicyBarrier};
use crate::error::{Error, Result};

/// `plan` with every remote sub-plan replaced by a sub-query; unchanged when it reads no table of
/// another node. Only functions of `state` (the session's: the engine's own, which every
/// lienthong node has) are sent.
pub(crate) fn federate(plan: LogicalPlan, calls: &Arc<Calls>, state: &SessionState) -> Result<LogicalPlan> {
    if !reads_remote(&plan) {
        return Ok(plan);
    }
    let plan = plan
        .transform_up(regroup)
        .map_err(|e| Error::Internal(format!("federating the plan: {e}")))?
        .data;
    let (plan, target) =
        rewrite(plan, calls, state).map_err(|e| Error::Internal(format!("federating the plan: {e}")))?;
    match target {
        Some(source) => {
            remote_query(plan, &source, calls).map_err(|e| Error::Internal(format!("federating the plan: {e}")))
        }
        None => Ok(plan),
    }
}

fn reads_remote(plan: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        if remote_source(node).is_some() {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// The source of a scan of a remote table.
fn remote_source(plan: &LogicalPlan) -> Option<String> {
    let LogicalPlan::TableScan(scan) = plan else {
        return None;
    };
    let provider = source_as_provider(&scan.source).ok()?;
    crate::source::remote_of(provider.as_ref()).map(|r: &RemoteTable| r.source_name.clone())
}

/// What a plan node is to federation.
enum Kind {
    /// A barrier of this node that restricts nothing: it goes with its input.
    TransparentBarrier,
    /// An operator SQL can express; it goes when its expressions can.
    Relational,
    /// Stays here.
    Other,
}

fn kind(plan: &LogicalPlan) -> Kind {
    match plan {
        LogicalPlan::Extension(Extension { node })
            if PolicyBarrier::of(node.as_ref()).is_some_and(|b| transparent(&b.policy)) =>
        {
            Kind::TransparentBarrier
        }
        LogicalPlan::Projection(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Join(_)
        | LogicalPlan::Aggregate(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Distinct(_)
        | LogicalPlan::SubqueryAlias(_) => Kind::Relational,
        _ => Kind::Other,
    }
}

/// The source every table under `plan` belongs to, when `plan` could go to it whole (by its
/// shape only; [`rewrite`] also checks the expressions).
fn pure_source(plan: &LogicalPlan) -> Option<String> {
    if let Some(source) = remote_source(plan) {
        return Some(source);
    }
    let shape = match kind(plan) {
        Kind::TransparentBarrier | Kind::Relational => true,
        Kind::Other => false,
    };
    let mut sources = plan.inputs().into_iter().map(pure_source);
    let first = sources.next()??;
    (shape && sources.all(|s| s.as_ref() == Some(&first))).then_some(first)
}

/// `(X ⋈ Y) ⋈ Z` as `Y ⋈ (X ⋈ Z)` (or `X ⋈ (Y ⋈ Z)`) when X (or Y) and Z are one node's and the
/// outer join's condition reads only them: the two then go to that node as one sub-query instead
/// of two. Inner joins only, which may be regrouped freely; the columns keep their order.
fn regroup(plan: LogicalPlan) -> DfResult<Transformed<LogicalPlan>> {
    let LogicalPlan::Join(outer) = &plan else {
        return Ok(Transformed::no(plan));
    };
    // The optimiser leaves a projection of plain columns between the joins; the columns it keeps
    // are all still there after regrouping.
    let left = match outer.left.as_ref() {
        LogicalPlan::Projection(p) if p.expr.iter().all(|e| matches!(e, Expr::Column(_))) => p.input.as_ref(),
        other => other,
    };
    let LogicalPlan::Join(inner) = left else {
        return Ok(Transformed::no(plan));
    };
    if outer.join_type != JoinType::Inner
        || inner.join_type != JoinType::Inner
        || outer.null_equality != NullEquality::NullEqualsNothing
        || inner.null_equality != NullEquality::NullEqualsNothing
    {
        return Ok(Transformed::no(plan));
    }
    let Some(source) = pure_source(&outer.right) else {
        return Ok(Transformed::no(plan));
    };
    let (left, right) = (pure_source(&inner.left), pure_source(&inner.right));
    let (same, other) = match (left.as_ref() == Some(&source), right.as_ref() == Some(&source)) {
        (true, false) => (&inner.left, &inner.right),
        (false, true) => (&inner.right, &inner.left),
        _ => return Ok(Transformed::no(plan)),
    };
    let mut outer_columns = HashSet::new();
    for expr in outer.on.iter().flat_map(|(l, r)| [l, r]).chain(&outer.filter) {
        outer_columns.extend(expr.column_refs());
    }
    if !outer_columns
        .iter()
        .all(|c| same.schema().has_column(c) || outer.right.schema().has_column(c))
    {
        return Ok(Transformed::no(plan));
    }
    let keys = |join: &datafusion::logical_expr::Join| -> (Vec<Expr>, Vec<Expr>) { join.on.iter().cloned().unzip() };
    let grouped = LogicalPlanBuilder::from(same.as_ref().clone())
        .join_with_expr_keys(
            outer.right.as_ref().clone(),
            JoinType::Inner,
            keys(outer),
            outer.filter.clone(),
        )?
        .build()?;
    let joined = LogicalPlanBuilder::from(other.as_ref().clone())
        .join_with_expr_keys(grouped, JoinType::Inner, keys(inner), inner.filter.clone())?
        .build()?;
    let columns: Vec<Expr> = plan.schema().columns().into_iter().map(Expr::Column).collect();
    let restored = LogicalPlanBuilder::from(joined).project(columns)?.build()?;
    Ok(Transformed::yes(restored))
}

fn transparent(policy: &Policy) -> bool {
    policy.rows.is_none() && policy.masks.is_empty() && policy.min_group_size.is_none() && policy.lookup.is_none()
}

/// The plan rewritten below, and the source the whole of it can go to, if any.
fn rewrite(plan: LogicalPlan, calls: &Arc<Calls>, state: &SessionState) -> DfResult<(LogicalPlan, Option<String>)> {
    if let Some(source) = remote_source(&plan) {
        return Ok((plan, Some(source)));
    }
    let with_subqueries = has_subqueries(&plan);
    // Subqueries in expressions are federated on their own.
    let plan = plan
        .map_subqueries(|sub| {
            federate(sub, calls, state)
                .map(Transformed::yes)
                .map_err(|e| DataFusionError::Plan(e.to_string()))
        })?
        .data;
    let pushable_node = match kind(&plan) {
        Kind::TransparentBarrier => true,
        Kind::Relational => !with_subqueries && expressions_known(&plan, state),
        Kind::Other => false,
    };
    let mut children = Vec::new();
    let mut targets = Vec::new();
    for child in plan.inputs().into_iter().cloned() {
        let (child, target) = rewrite(child, calls, state)?;
        children.push(child);
        targets.push(target);
    }
    let one_target = match targets.first() {
        Some(Some(first)) if targets.iter().all(|t| t.as_ref() == Some(first)) => Some(first.clone()),
        _ => None,
    };
    if pushable_node && one_target.is_some() {
        let plan = plan.with_new_exprs(plan.expressions(), children)?;
        return Ok((plan, one_target));
    }
    let children = children
        .into_iter()
        .zip(targets)
        .map(|(child, target)| match target {
            Some(source) => remote_query(child, &source, calls),
            None => Ok(child),
        })
        .collect::<DfResult<Vec<_>>>()?;
    Ok((plan.with_new_exprs(plan.expressions(), children)?, None))
}

fn has_subqueries(plan: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = plan.apply_expressions(|expr| {
        expr.apply(|e| {
            if matches!(
                e,
                Expr::Exists(_) | Expr::InSubquery(_) | Expr::ScalarSubquery(_) | Expr::OuterReferenceColumn(..)
            ) {
                found = true;
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })
    });
    found
}

/// Whether every function in `plan`'s expressions is one every node has, and nothing in them is
/// a placeholder.
fn expressions_known(plan: &LogicalPlan, state: &SessionState) -> bool {
    let mut ok = true;
    let _ = plan.apply_expressions(|expr| {
        expr.apply(|e| {
            let fine = match e {
                Expr::ScalarFunction(f) => state.scalar_functions().contains_key(f.func.name()),
                Expr::AggregateFunction(f) => state.aggregate_functions().contains_key(f.func.name()),
                Expr::WindowFunction(_) | Expr::Placeholder(_) => false,
                _ => true,
            };
            if !fine {
                ok = false;
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        })
    });
    ok
}

/// `plan` with the columns it gives named in a projection on top (below a sort, limit or
/// distinct): without one, the SQL would say `SELECT *`, and the owner would answer with every
/// column the caller may see of its tables, compare-only ones included, instead of those asked.
fn with_named_columns(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    match plan {
        LogicalPlan::Projection(_) | LogicalPlan::Aggregate(_) => Ok(plan),
        LogicalPlan::Sort(_) | LogicalPlan::Limit(_) | LogicalPlan::Distinct(Distinct::All(_)) => {
            let inputs = plan
                .inputs()
                .into_iter()
                .cloned()
                .map(with_named_columns)
                .collect::<DfResult<Vec<_>>>()?;
            plan.with_new_exprs(plan.expressions(), inputs)
        }
        other => {
            let columns: Vec<Expr> = other.schema().columns().into_iter().map(Expr::Column).collect();
            LogicalPlanBuilder::from(other).project(columns)?.build()
        }
    }
}

/// `plan` (reading only `source`'s tables) as one sub-query.
fn remote_query(plan: LogicalPlan, source: &str, calls: &Arc<Calls>) -> DfResult<LogicalPlan> {
    let schema = Arc::clone(plan.schema());
    let mut absorbed = Vec::new();
    // This node's barriers in the sub-plan restrict nothing (or it would not be here); they are
    // recorded for the audit and the checks, and dropped from the SQL.
    let stripped = plan
        .transform_up(|node| {
            if let LogicalPlan::Extension(Extension { node: ext }) = &node
                && let Some(barrier) = PolicyBarrier::of(ext.as_ref())
            {
                absorbed.push(Arc::clone(&barrier.policy));
                return Ok(Transformed::yes(barrier.input.clone()));
            }
            // `t AS p` over `t AS t` (the barrier's own alias): the SQL names the outer alias
            // only, or the unparser writes the inner one and the outer names go unresolved.
            if let LogicalPlan::SubqueryAlias(outer) = &node
                && let LogicalPlan::SubqueryAlias(inner) = outer.input.as_ref()
            {
                let collapsed = SubqueryAlias::try_new(Arc::clone(&inner.input), outer.alias.clone())?;
                return Ok(Transformed::yes(LogicalPlan::SubqueryAlias(collapsed)));
            }
            Ok(Transformed::no(node))
        })?
        .data;
    let sql = plan_to_sql(&with_named_columns(stripped)?)?.to_string();
    Ok(LogicalPlan::Extension(Extension {
        node: Arc::new(RemoteQuery {
            source_name: source.to_owned(),
            sql,
            schema,
            absorbed,
            calls: Arc::clone(calls),
        }),
    }))
}
