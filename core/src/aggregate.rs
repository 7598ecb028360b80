//! Aggregate-only tables: an allow-list of query shapes, not a deny-list of functions.
//!
//! A table read under an aggregate-only grant may only be read by an aggregate directly over it,
//! with filters, projections and aliases in between. What those may contain is allowed, not
//! forbidden, shape by shape:
//!
//! - Aggregates: `count(*)`, `count(column)` (also `DISTINCT`), `sum(column)`, `avg(column)`, and
//!   `min`/`max` only of the columns the owner lists (`aggregate_only.min_max`). Every argument is
//!   a bare column of the table (through aliases and casts that cannot fail): an aggregate of an
//!   expression could count or return one row inside a large group. No `FILTER`, no `ORDER BY`
//!   inside an aggregate: the group-size guard counts the group's rows, and a filter would let
//!   the aggregate see fewer. No `GROUPING SETS`, `CUBE` or `ROLLUP`.
//! - Predicates, projections and group keys below the aggregate run on every row the policy
//!   keeps, also the rows of groups that end up suppressed. They are limited to expressions that
//!   cannot fail, so that no error (a failed cast, a division by zero) tells anything about one
//!   row: columns, literals, comparisons, `AND`/`OR`/`NOT`, `IS NULL`, `IN` lists, `BETWEEN`,
//!   `LIKE`/`SIMILAR TO` with a constant pattern, `CASE`, `TRY_CAST`, casts that cannot fail, `||`, integer and
//!   float `+ - *`, division by a positive literal, and a few total string and date functions.
//!
//! Each allowed aggregate gets a hidden row count and a guard ([`crate::guard`]) that drops the
//! groups under the minimum before anything above the aggregate sees them. Errors while running a query over an aggregate-only table are replaced by one generic
//! message (see [`crate::stream`]).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, Result as DfResult, ScalarValue};
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::expr::{AggregateFunction, Alias, Cast, InList, Like, ScalarFunction, TryCast};
use datafusion::logical_expr::{
    Aggregate, Between, BinaryExpr, Case, Distinct, Expr, ExprSchemable, Extension, Filter, LogicalPlan, Operator,
    Projection, SubqueryAlias, lit,
};

use crate::barrier::PolicyBarrier;
use crate::error::{Error, Result};
use crate::guard::GroupGuard;

/// Name of the hidden per-group row count.
pub(crate) const GROUP_ROWS: &str = "__lienthong_group_rows";

/// Deepest expression accepted below a protected aggregate.
const MAX_DEPTH: usize = 64;

/// Scalar functions that return a value for every input (no error, whatever the row holds).
const TOTAL_FUNCTIONS: [&str; 18] = [
    "floor",
    "ceil",
    "round",
    "trunc",
    "lower",
    "upper",
    "btrim",
    "ltrim",
    "rtrim",
    "trim",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "concat",
    "coalesce",
    "date_part",
    "date_trunc",
];

/// What an aggregate over a protected table may read.
struct Scope {
    table: String,
    /// Output columns (by flat name) that are a column of the table unchanged, and its name there.
    bare: HashMap<String, String>,
    /// Columns of the table whose minimum and maximum the owner allows.
    min_max: Vec<String>,
}

fn barrier_of(plan: &LogicalPlan) -> Option<&PolicyBarrier> {
    match plan {
        LogicalPlan::Extension(e) => PolicyBarrier::of(e.node.as_ref()),
        _ => None,
    }
}

/// The aggregate-only barrier that `plan` reads through filters, projections and aliases only.
pub(crate) fn protected_input(plan: &LogicalPlan) -> Option<(u32, String)> {
    match plan {
        LogicalPlan::Filter(Filter { input, .. })
        | LogicalPlan::Projection(Projection { input, .. })
        | LogicalPlan::SubqueryAlias(SubqueryAlias { input, .. }) => protected_input(input),
        _ => barrier_of(plan).and_then(|b| b.policy.min_group_size.map(|k| (k, b.policy.table.clone()))),
    }
}

/// Refuses reads of aggregate-only tables that are not allowed aggregates, and adds the group-size
/// suppression to those that are. `plan` must be analyzed (types coerced): an implicit cast is as
/// able to fail as a written one.
pub(crate) fn enforce(plan: LogicalPlan) -> Result<LogicalPlan> {
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
    refuse_scalar_subqueries(&plan)?;
    plan.transform_up_with_subqueries(|node| {
        let LogicalPlan::Aggregate(aggregate) = &node else {
            return Ok(Transformed::no(node));
        };
        let Some((k, _)) = protected_input(&aggregate.input) else {
            return Ok(Transformed::no(node));
        };
        if let Err(denial) = allowed(aggregate) {
            return datafusion::common::plan_err!("denied: {denial}");
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

/// A scalar subquery that aggregates an aggregate-only table is refused: when its one group is
/// suppressed it has no row, and the rewrite DataFusion makes of it (a join that restores
/// `count`'s 0 for an empty input) then fails on a NULL it declared impossible.
fn refuse_scalar_subqueries(plan: &LogicalPlan) -> Result<()> {
    let mut found = None;
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                if let Expr::ScalarSubquery(subquery) = e {
                    subquery.subquery.apply_with_subqueries(|n| {
                        if let LogicalPlan::Aggregate(a) = n
                            && let Some((_, table)) = protected_input(&a.input)
                        {
                            found = Some(table);
                            return Ok(TreeNodeRecursion::Stop);
                        }
                        Ok(TreeNodeRecursion::Continue)
                    })?;
                    if found.is_some() {
                        return Ok(TreeNodeRecursion::Stop);
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    match found {
        Some(table) => Err(Error::Denied(format!(
            "{table} may only be aggregated in the query or a derived table, not in a scalar subquery"
        ))),
        None => Ok(()),
    }
}

/// Whether `aggregate` (over a protected input) has an allowed shape; the denial says why not.
fn allowed(aggregate: &Aggregate) -> Result<(), String> {
    let scope = scope(&aggregate.input)?;
    let schema = aggregate.input.schema();
    let table = &scope.table;
    for key in &aggregate.group_expr {
        if matches!(key, Expr::GroupingSet(_)) {
            return Err(format!(
                "GROUPING SETS, CUBE and ROLLUP are not supported over {table}: write one GROUP BY per grouping"
            ));
        }
        total(key, schema, 0).map_err(|what| format!("{what} may not be grouped on over {table}"))?;
    }
    for expr in &aggregate.aggr_expr {
        allowed_aggregate(expr, &scope, schema)?;
    }
    Ok(())
}

fn allowed_aggregate(expr: &Expr, scope: &Scope, schema: &DFSchema) -> Result<(), String> {
    let table = &scope.table;
    let Expr::AggregateFunction(AggregateFunction { func, params }) = strip(expr) else {
        return Err(format!(
            "only count, sum and avg of columns may be computed over {table}"
        ));
    };
    let name = func.name().to_lowercase();
    let allowed_names = ["count", "sum", "avg", "min", "max"];
    if !allowed_names.contains(&name.as_str()) {
        return Err(format!(
            "only count, sum and avg of columns may be computed over {table}, not {name}"
        ));
    }
    if params.filter.is_some() {
        return Err(format!(
            "aggregates over {table} may not have a FILTER clause: use WHERE"
        ));
    }
    if !params.order_by.is_empty() {
        return Err(format!("aggregates over {table} may not have an ORDER BY"));
    }
    if params.distinct && name != "count" {
        return Err(format!("only count may be DISTINCT over {table}"));
    }
    let [argument] = params.args.as_slice() else {
        return Err(format!("{name} over {table} takes one column"));
    };
    if name == "count" && matches!(strip(argument), Expr::Literal(..)) && !params.distinct {
        return Ok(()); // count(*)
    }
    let Some(column) = bare_column(argument, scope, schema) else {
        return Err(format!(
            "the argument of {name} over {table} must be a column of the table, not an expression"
        ));
    };
    if matches!(name.as_str(), "min" | "max") && !scope.min_max.iter().any(|c| c == column) {
        return Err(format!(
            "{name} of {table}.{column} would show one row's value: the owner does not allow it"
        ));
    }
    Ok(())
}

/// The table column that `expr` is, unchanged (through aliases and casts that cannot fail).
fn bare_column<'a>(expr: &Expr, scope: &'a Scope, schema: &DFSchema) -> Option<&'a String> {
    match expr {
        Expr::Alias(Alias { expr, .. }) => bare_column(expr, scope, schema),
        Expr::Cast(Cast { expr: inner, field }) => {
            let from = inner.get_type(schema).ok()?;
            infallible_cast(&from, field.data_type()).then(|| bare_column(inner, scope, schema))?
        }
        Expr::Column(column) => scope.bare.get(&column.flat_name()),
        _ => None,
    }
}

/// What the aggregate reads: the table, and which of the input's columns are its bare columns.
/// Every filter and projection on the way must be total.
fn scope(plan: &LogicalPlan) -> Result<Scope, String> {
    match plan {
        LogicalPlan::Filter(Filter { predicate, input, .. }) => {
            let scope = scope(input)?;
            total(predicate, input.schema(), 0)
                .map_err(|what| format!("{what} may not be used in a condition over {}", scope.table))?;
            Ok(scope)
        }
        LogicalPlan::Projection(Projection {
            expr, input, schema, ..
        }) => {
            let inner = scope(input)?;
            let mut bare = HashMap::new();
            for (i, e) in expr.iter().enumerate() {
                total(e, input.schema(), 0)
                    .map_err(|what| format!("{what} may not be computed over {}", inner.table))?;
                if let Some(name) = bare_column(e, &inner, input.schema()) {
                    bare.insert(Column::from(schema.qualified_field(i)).flat_name(), name.clone());
                }
            }
            Ok(Scope { bare, ..inner })
        }
        LogicalPlan::SubqueryAlias(SubqueryAlias { input, schema, .. }) => {
            let inner = scope(input)?;
            let bare = (0..schema.fields().len())
                .filter_map(|i| {
                    let name = inner
                        .bare
                        .get(&Column::from(input.schema().qualified_field(i)).flat_name())?;
                    Some((Column::from(schema.qualified_field(i)).flat_name(), name.clone()))
                })
                .collect();
            Ok(Scope { bare, ..inner })
        }
        _ => {
            let barrier = barrier_of(plan).ok_or_else(|| "this query shape".to_owned())?;
            let schema = barrier.input.schema();
            Ok(Scope {
                table: barrier.policy.table.clone(),
                bare: (0..schema.fields().len())
                    .map(|i| {
                        let column = Column::from(schema.qualified_field(i));
                        (column.flat_name(), column.name)
                    })
                    .collect(),
                min_max: barrier.policy.min_max.clone(),
            })
        }
    }
}

/// Whether `expr` gives a value for every row, never an error; the error names what is not.
pub(crate) fn total(expr: &Expr, schema: &DFSchema, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("an expression nested deeper than {MAX_DEPTH} levels"));
    }
    let next = |e: &Expr| total(e, schema, depth + 1);
    if constant(expr) {
        // No row in it (`DATE '1980-01-01'` is a cast of a string): whatever it does, it does
        // alike for every row.
        return Ok(());
    }
    match expr {
        Expr::Column(_) | Expr::Literal(..) | Expr::Placeholder(_) => Ok(()),
        Expr::Alias(Alias { expr, .. })
        | Expr::Not(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsFalse(expr)
        | Expr::IsUnknown(expr)
        | Expr::IsNotTrue(expr)
        | Expr::IsNotFalse(expr)
        | Expr::IsNotUnknown(expr)
        | Expr::TryCast(TryCast { expr, .. }) => next(expr),
        Expr::Cast(Cast { expr: inner, field }) => {
            let from = inner.get_type(schema).map_err(|_| "a cast".to_owned())?;
            if infallible_cast(&from, field.data_type()) {
                next(inner)
            } else {
                Err(format!(
                    "a cast from {from} to {} (it can fail: use TRY_CAST)",
                    field.data_type()
                ))
            }
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            total_operator(left, *op, right, schema)?;
            next(left)?;
            next(right)
        }
        Expr::Between(Between { expr, low, high, .. }) => {
            next(expr)?;
            next(low)?;
            next(high)
        }
        Expr::InList(InList { expr, list, .. }) => {
            if list.iter().any(|e| !e.column_refs().is_empty()) {
                return Err("an IN list of anything but values".into());
            }
            list.iter().try_for_each(next)?;
            next(expr)
        }
        Expr::Like(Like { expr, pattern, .. }) | Expr::SimilarTo(Like { expr, pattern, .. }) if constant(pattern) => {
            next(expr)
        }
        Expr::Case(Case {
            expr,
            when_then_expr,
            else_expr,
        }) => {
            for e in expr.iter().chain(else_expr) {
                next(e)?;
            }
            for (when, then) in when_then_expr {
                next(when)?;
                next(then)?;
            }
            Ok(())
        }
        Expr::ScalarFunction(ScalarFunction { func, args }) if TOTAL_FUNCTIONS.contains(&func.name()) => {
            args.iter().try_for_each(next)
        }
        Expr::ScalarFunction(ScalarFunction { func, .. }) => Err(format!("the function {}", func.name())),
        other => Err(format!("`{}`", short(other))),
    }
}

/// Whether `expr` reads no row: no column, no subquery.
fn constant(expr: &Expr) -> bool {
    expr.column_refs().is_empty()
        && !expr
            .exists(|e| {
                Ok(matches!(
                    e,
                    Expr::ScalarSubquery(_)
                        | Expr::Exists(_)
                        | Expr::InSubquery(_)
                        | Expr::SetComparison(_)
                        | Expr::OuterReferenceColumn(..)
                        | Expr::AggregateFunction(_)
                        | Expr::WindowFunction(_)
                ))
            })
            .unwrap_or(true)
}

fn total_operator(left: &Expr, op: Operator, right: &Expr, schema: &DFSchema) -> Result<(), String> {
    use Operator::*;
    match op {
        Eq | NotEq | Lt | LtEq | Gt | GtEq | And | Or | IsDistinctFrom | IsNotDistinctFrom | StringConcat => Ok(()),
        // Integer arithmetic wraps (DataFusion's default), float arithmetic saturates to ±inf.
        Plus | Minus | Multiply => {
            let numeric = |e: &Expr| e.get_type(schema).is_ok_and(|t| t.is_integer() || t.is_floating());
            if numeric(left) && numeric(right) {
                Ok(())
            } else {
                Err(format!("`{op}` on anything but integers and floats"))
            }
        }
        Divide | Modulo if positive_literal(right) => Ok(()),
        Divide | Modulo => Err(format!("`{op}` by anything but a positive number written in the query")),
        other => Err(format!("the operator `{other}`")),
    }
}

fn positive_literal(expr: &Expr) -> bool {
    let Expr::Literal(value, _) = strip(expr) else {
        return false;
    };
    match value {
        ScalarValue::Int8(Some(v)) => *v > 0,
        ScalarValue::Int16(Some(v)) => *v > 0,
        ScalarValue::Int32(Some(v)) => *v > 0,
        ScalarValue::Int64(Some(v)) => *v > 0,
        ScalarValue::UInt8(Some(v)) => *v > 0,
        ScalarValue::UInt16(Some(v)) => *v > 0,
        ScalarValue::UInt32(Some(v)) => *v > 0,
        ScalarValue::UInt64(Some(v)) => *v > 0,
        ScalarValue::Float32(Some(v)) => *v > 0.0,
        ScalarValue::Float64(Some(v)) => *v > 0.0,
        _ => false,
    }
}

/// Casts that succeed for every value: to text, to the same type, and integers to wider numbers.
fn infallible_cast(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    if from == to || matches!(to, Utf8 | LargeUtf8 | Utf8View) || *from == Null {
        return true;
    }
    let rank = |t: &DataType| match t {
        Int8 => Some(1),
        Int16 => Some(2),
        Int32 => Some(3),
        Int64 => Some(4),
        _ => None,
    };
    match (rank(from), rank(to)) {
        (Some(a), Some(b)) => a <= b,
        (Some(_), None) => matches!(to, Float64 | Float32),
        _ => matches!((from, to), (Float32, Float64) | (Date32, Date64)),
    }
}

fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(a) => strip(&a.expr),
        other => other,
    }
}

/// The kind of an expression, for a denial (never its values).
fn short(expr: &Expr) -> &'static str {
    match expr {
        Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_) | Expr::SetComparison(_) => "a subquery",
        Expr::WindowFunction(_) => "a window function",
        Expr::AggregateFunction(_) => "an aggregate",
        Expr::Like(_) | Expr::SimilarTo(_) => "a pattern that is not a plain literal",
        Expr::Negative(_) => "a negation",
        Expr::OuterReferenceColumn(..) => "a correlated column",
        _ => "this expression",
    }
}

/// `Aggregate` -> `Projection(original columns) <- GroupGuard(rows >= k) <- Aggregate(+ row count)`.
fn guard(aggregate: Aggregate, k: u32) -> DfResult<LogicalPlan> {
    let width = aggregate.schema.fields().len();
    let mut aggr_expr = aggregate.aggr_expr.clone();
    aggr_expr.push(count(lit(1)).alias(GROUP_ROWS));
    let counted = LogicalPlan::Aggregate(Aggregate::try_new(aggregate.input, aggregate.group_expr, aggr_expr)?);
    let guarded = LogicalPlan::Extension(Extension {
        node: Arc::new(GroupGuard {
            input: counted,
            min_rows: k,
        }),
    });
    let columns = (0..width)
        .map(|i| Expr::Column(Column::from(guarded.schema().qualified_field(i))))
        .collect();
    Ok(LogicalPlan::Projection(Projection::try_new(
        columns,
        Arc::new(guarded),
    )?))
}

/// Errors when an aggregate-only barrier is reached other than under an aggregate.
pub(crate) fn refuse_unaggregated(plan: &LogicalPlan, protected: bool) -> Result<()> {
    if let Some(barrier) = barrier_of(plan) {
        if barrier.policy.min_group_size.is_some() && !protected {
            return Err(Error::Denied(format!(
                "{} may only be read by aggregate queries (GROUP BY with count, sum, avg)",
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
