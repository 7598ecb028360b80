//! Governed tables: what a caller's session holds instead of the raw tables.
//!
//! A [`GovernedTable`] is a view whose plan is `raw scan -> row policy -> masks -> PolicyBarrier`,
//! built once per session from the caller's [`TableAccess`]. DataFusion inlines that plan wherever
//! the query names the table (joins, self-joins, subqueries, CTEs, set operations), so no path
//! reaches the raw table without the policy.
//!
//! Row filters are bound here: the catalog's SQL text is parsed, every `principal.<attribute>` is
//! replaced in the syntax tree by a typed literal (never pasted as text), and the result is planned
//! against the raw table's columns.

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{Column, Result as DfResult, ScalarValue, TableReference, internal_err};
use datafusion::datasource::provider_as_source;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::expr::Case;
use datafusion::logical_expr::{Expr, Extension, LogicalPlan, LogicalPlanBuilder, TableType, and, lit, or};
use datafusion::optimizer::simplify_expressions::SimplifyExpressions;
use datafusion::optimizer::{OptimizerContext, OptimizerRule};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::sqlparser::ast::{self, ExprWithAlias, Value, visit_expressions_mut};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use lienthong_spec::AttributeValue;
use lienthong_spec::row_filter::PRINCIPAL_QUALIFIER;

use crate::barrier::{Policy, PolicyBarrier};
use crate::mask::{PseudonymSecret, masks_expr};
use crate::policy::{Rows, TableAccess};

/// Who the plan is built for: the attributes bound into row filters and the agency that keys
/// pseudonyms.
pub(crate) struct Binding<'a> {
    pub attributes: Option<&'a std::collections::BTreeMap<String, AttributeValue>>,
    pub agency: &'a str,
    pub secret: Option<&'a PseudonymSecret>,
}

/// The governed plan of `database.table` for one caller.
pub(crate) fn governed_plan(
    state: &SessionState,
    raw: Arc<dyn TableProvider>,
    database: &str,
    table: &str,
    access: &TableAccess,
    binding: &Binding<'_>,
) -> Result<LogicalPlan, String> {
    let reference = TableReference::partial(database, table);
    let scan = LogicalPlanBuilder::scan(reference.clone(), provider_as_source(Arc::clone(&raw)), None)
        .map_err(|e| e.to_string())?;
    let raw_schema = Arc::clone(scan.schema());
    let mut builder = scan;
    let bound = |sql: &String| bind_row_filter(state, sql, binding, &raw_schema);
    let rows = match &access.rows {
        Rows::All => None,
        Rows::Every(filters) => Some(
            filters
                .iter()
                .map(bound)
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .reduce(and),
        ),
        Rows::Any(filters) => Some(
            filters
                .iter()
                .map(bound)
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .reduce(or),
        ),
    }
    .flatten();
    if let Some(predicate) = &rows {
        builder = builder.filter(predicate.clone()).map_err(|e| e.to_string())?;
    }
    let mut masks = Vec::new();
    let mut projection = Vec::with_capacity(access.columns.len());
    for column in &access.columns {
        let (qualifier, field) = raw_schema
            .qualified_field_with_unqualified_name(&column.name)
            .map_err(|_| format!("column `{}` is not in the source", column.name))?;
        let expr = Expr::Column(Column::from((qualifier, field)));
        let shown = |masks: &[lienthong_spec::Mask]| {
            masks_expr(expr.clone(), field.data_type(), masks, binding.agency, binding.secret)
        };
        let value = if column.cases.is_empty() {
            shown(&column.masks)?
        } else {
            // Union of grants: each row shows the column as the first grant covering it does.
            let mut cases = Vec::with_capacity(column.cases.len());
            for case in &column.cases {
                let rows = match &case.rows {
                    Some(filter) => bound(filter)?,
                    None => lit(true),
                };
                cases.push((Box::new(rows), Box::new(shown(&case.masks)?)));
            }
            Expr::Case(Case::new(
                None,
                cases,
                Some(Box::new(Expr::Literal(ScalarValue::Null, None))),
            ))
        };
        let masked = column.mask_name();
        if let Some(name) = &masked {
            masks.push((column.name.clone(), name.clone()));
        }
        projection.push(if masked.is_some() {
            value.alias_qualified(Some(reference.clone()), &column.name)
        } else {
            value
        });
    }
    let inner = builder
        .project(projection)
        .and_then(LogicalPlanBuilder::build)
        .map_err(|e| e.to_string())?;
    // Coerce types now, so that the policy recorded for the post-optimization check is the one
    // the optimizer will see.
    let inner = state
        .analyzer()
        .execute_and_check(inner, state.config_options(), |_, _| {})
        .map_err(|e| e.to_string())?;
    // And simplify them as the optimizer will (casts of literals folded), for the same reason.
    let simplify = SimplifyExpressions::new();
    let context = OptimizerContext::new();
    let inner = inner
        .transform_up(|node| simplify.rewrite(node, &context))
        .map_err(|e| e.to_string())?
        .data;
    let rows = planned_filter(&inner);
    let policy = Policy {
        table: format!("{database}.{table}"),
        grants: access.grants.clone(),
        tag_rules: access.tag_rules.clone(),
        rows,
        masks,
        min_group_size: access.min_group_size,
        min_max: access.min_max.clone(),
        lookup: access
            .lookup
            .as_ref()
            .map(|l| (l.by.clone(), l.max_keys, l.verify.clone())),
        primary_key: access.primary_key.clone(),
    };
    Ok(LogicalPlan::Extension(Extension {
        node: Arc::new(PolicyBarrier::new(inner, Arc::new(policy))),
    }))
}

/// The predicate of the row-policy filter in a just-built governed sub-plan.
fn planned_filter(inner: &LogicalPlan) -> Option<Expr> {
    match inner {
        LogicalPlan::Projection(p) => match p.input.as_ref() {
            LogicalPlan::Filter(f) => Some(f.predicate.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Binds one row filter: attributes become typed literals in the syntax tree, then the expression
/// is planned against the raw table. A missing attribute binds as NULL, which selects no row.
fn bind_row_filter(
    state: &SessionState,
    sql: &str,
    binding: &Binding<'_>,
    schema: &datafusion::common::DFSchemaRef,
) -> Result<Expr, String> {
    let dialect = GenericDialect {};
    let mut expr = Parser::new(&dialect)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| format!("row filter `{sql}`: {e}"))?;
    let _ = visit_expressions_mut(&mut expr, |e| {
        if let ast::Expr::CompoundIdentifier(parts) = e
            && let [qualifier, attribute] = parts.as_slice()
            && qualifier.value.eq_ignore_ascii_case(PRINCIPAL_QUALIFIER)
        {
            let value = binding.attributes.and_then(|a| a.get(&attribute.value));
            *e = ast::Expr::value(match value {
                Some(AttributeValue::String(s)) => Value::SingleQuotedString(s.clone()),
                Some(AttributeValue::Integer(i)) => Value::Number(i.to_string(), false),
                Some(AttributeValue::Boolean(b)) => Value::Boolean(*b),
                None => Value::Null,
            });
        }
        ControlFlow::<()>::Continue(())
    });
    state
        .create_logical_expr_from_sql_expr(ExprWithAlias { expr, alias: None }, schema)
        .map_err(|e| format!("row filter `{sql}`: {e}"))
}

/// A table as one caller sees it: a view over the raw table with the caller's policy.
#[derive(Debug)]
pub(crate) struct GovernedTable {
    plan: LogicalPlan,
    schema: SchemaRef,
}

impl GovernedTable {
    pub(crate) fn new(plan: LogicalPlan) -> Self {
        let schema = Arc::clone(plan.schema().inner());
        Self { plan, schema }
    }
}

#[async_trait]
impl TableProvider for GovernedTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        Some(Cow::Borrowed(&self.plan))
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // Planning always inlines the governed plan; a direct scan would skip the barrier.
        internal_err!("a governed table is only read through its plan")
    }
}
