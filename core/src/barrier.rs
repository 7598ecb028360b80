//! The policy barrier: a plan node that the optimizer cannot see through.
//!
//! Every governed table is planned as `scan -> row policy -> masks -> PolicyBarrier`. Above the
//! barrier are the caller's operators; below it, only the owner's policy. DataFusion's optimizers
//! push filters and limits only through nodes that say it is safe: the barrier says it never is
//! (no predicate or limit goes below it, logically or physically), so a caller's predicate never
//! runs on a row the policy removes nor on the raw value of a masked column. Unused columns may be
//! pruned through it: dropping a column changes neither which rows pass nor what the others show.

mod lift;

pub(crate) use lift::LiftSubqueryConditions;

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchemaRef, Result as DfResult, internal_err};
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNode, UserDefinedLogicalNodeCore};
use datafusion::physical_expr::expressions::Column as PhysicalColumn;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties};
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};

/// What the barrier protects, for EXPLAIN, the audit and the post-optimization check.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd)]
pub(crate) struct Policy {
    /// `database.table`.
    pub table: String,
    /// Grants that gave access (empty for open tables).
    pub grants: Vec<String>,
    /// Tag rules that hid or masked a column.
    pub tag_rules: Vec<String>,
    /// The bound row policy, as planned (after type coercion).
    pub rows: Option<Expr>,
    /// Masked columns and the mask's name.
    pub masks: Vec<(String, String)>,
    /// Aggregate-only: the smallest group shown.
    pub min_group_size: Option<u32>,
    /// Aggregate-only: the columns whose `min` and `max` the owner allows.
    pub min_max: Vec<String>,
    /// Lookup-only: the key columns a query must pin, how many values it may name, and the
    /// columns it may only compare with supplied values.
    pub lookup: Option<(Vec<String>, u32, Vec<String>)>,
    /// The table's primary key, when the caller sees it whole and unmasked.
    pub primary_key: Vec<String>,
}

/// The logical barrier node. Its output is its input, column for column.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PolicyBarrier {
    pub input: LogicalPlan,
    pub policy: Arc<Policy>,
    schema: DFSchemaRef,
}

impl PolicyBarrier {
    pub(crate) fn new(input: LogicalPlan, policy: Arc<Policy>) -> Self {
        let schema = Arc::clone(input.schema());
        Self { input, policy, schema }
    }

    /// The barrier in an extension node, if that is what `node` is.
    pub(crate) fn of(node: &dyn UserDefinedLogicalNode) -> Option<&Self> {
        node.as_any().downcast_ref::<Self>()
    }
}

impl PartialOrd for PolicyBarrier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.policy.table.partial_cmp(&other.policy.table)
    }
}

impl UserDefinedLogicalNodeCore for PolicyBarrier {
    fn name(&self) -> &str {
        "PolicyBarrier"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt_policy("PolicyBarrier", &self.policy, f)
    }

    fn with_exprs_and_inputs(&self, exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> DfResult<Self> {
        let (true, Ok([input])) = (exprs.is_empty(), <[LogicalPlan; 1]>::try_from(inputs)) else {
            return internal_err!("PolicyBarrier takes one input and no expressions");
        };
        Ok(Self::new(input, Arc::clone(&self.policy)))
    }

    /// Predicates stay above the barrier, except that when the policy removes no row, predicates
    /// on unmasked columns may go below it (and on to the source, where they prune): with no
    /// hidden row there is nothing for them to reveal, and they see the same values either way.
    fn prevent_predicate_push_down_columns(&self) -> HashSet<String> {
        let all = self.schema.fields().iter().map(|f| f.name().clone());
        if self.policy.rows.is_some() {
            return all.collect();
        }
        all.filter(|name| self.policy.masks.iter().any(|(masked, _)| masked == name))
            .collect()
    }

    fn necessary_children_exprs(&self, output_columns: &[usize]) -> Option<Vec<Vec<usize>>> {
        Some(vec![output_columns.to_vec()])
    }

    fn supports_limit_pushdown(&self) -> bool {
        false
    }
}

fn fmt_policy(name: &str, policy: &Policy, f: &mut fmt::Formatter) -> fmt::Result {
    write!(f, "{name}: table={}", policy.table)?;
    if !policy.grants.is_empty() {
        write!(f, " grants=[{}]", policy.grants.join(", "))?;
    } else {
        f.write_str(" open")?;
    }
    if !policy.tag_rules.is_empty() {
        write!(f, " tag_rules=[{}]", policy.tag_rules.join(", "))?;
    }
    if let Some(rows) = &policy.rows {
        write!(f, " rows=({rows})")?;
    }
    if !policy.masks.is_empty() {
        let masks: Vec<String> = policy.masks.iter().map(|(c, m)| format!("{c}: {m}")).collect();
        write!(f, " masks=[{}]", masks.join(", "))?;
    }
    if let Some(k) = policy.min_group_size {
        write!(f, " aggregate_only(min_group_size={k})")?;
    }
    if let Some((by, max_keys, verify)) = &policy.lookup {
        write!(f, " lookup(by=[{}], max_keys={max_keys}", by.join(", "))?;
        if !verify.is_empty() {
            write!(f, ", verify=[{}]", verify.join(", "))?;
        }
        write!(f, ")")?;
    }
    Ok(())
}

/// What a [`BarrierExec`] seals off.
#[derive(Debug, Clone)]
pub(crate) enum Seal {
    /// A governed table's policy.
    Policy(Arc<Policy>),
    /// A source that receives SQL text: predicates reach it only through the logical plan, where
    /// each one is checked to mean the same there (see `source::trusted`).
    Source(String),
}

/// The physical barrier: passes batches through untouched and refuses every filter, limit or
/// projection that an optimizer would push below it.
#[derive(Debug)]
pub(crate) struct BarrierExec {
    input: Arc<dyn ExecutionPlan>,
    seal: Seal,
    properties: Arc<PlanProperties>,
}

impl BarrierExec {
    pub(crate) fn new(input: Arc<dyn ExecutionPlan>, seal: Seal) -> Self {
        // The barrier tells the planner how its rows are partitioned and ordered, and nothing
        // more: not the constants and equalities the row policy implies (`ward = '00070'`),
        // which the planner carried across outer joins where they no longer hold (a window then
        // skipped its repartitioning and counted per partition).
        let orderings = input.output_ordering().map(|o| o.iter().cloned().collect::<Vec<_>>());
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new_with_orderings(input.schema(), orderings),
            input.output_partitioning().clone(),
            input.pipeline_behavior(),
            input.boundedness(),
        ));
        Self {
            input,
            seal,
            properties,
        }
    }
}

impl DisplayAs for BarrierExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.seal {
            Seal::Policy(policy) => fmt_policy("PolicyBarrierExec", policy, f),
            Seal::Source(source) => write!(f, "SourceSeal: source={source}"),
        }
    }
}

#[allow(deprecated)] // `with_new_children` is still required by the trait in DataFusion 55.
impl ExecutionPlan for BarrierExec {
    fn name(&self) -> &str {
        match self.seal {
            Seal::Policy(_) => "PolicyBarrierExec",
            Seal::Source(_) => "SourceSealExec",
        }
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        let Ok([input]) = <[Arc<dyn ExecutionPlan>; 1]>::try_from(children) else {
            return internal_err!("PolicyBarrierExec takes one input");
        };
        Ok(Arc::new(Self::new(input, self.seal.clone())))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }
}

/// Plans [`PolicyBarrier`] nodes as [`BarrierExec`], and group guards (`crate::guard`).
#[derive(Debug)]
struct BarrierPlanner;

#[async_trait]
impl ExtensionPlanner for BarrierPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        _session: &dyn datafusion::catalog::Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> DfResult<Option<Arc<dyn ExecutionPlan>>> {
        if crate::guard::GroupGuard::of(node).is_none() && PolicyBarrier::of(node).is_none() {
            return Ok(None);
        }
        let [input] = physical_inputs else {
            return internal_err!("{} takes one input", node.name());
        };
        if let Some(guard) = crate::guard::GroupGuard::of(node) {
            return Ok(Some(Arc::new(crate::guard::GuardExec::try_new(
                Arc::clone(input),
                guard.min_rows,
            )?)));
        }
        let Some(barrier) = PolicyBarrier::of(node) else {
            return Ok(None);
        };
        let input = conform(Arc::clone(input), UserDefinedLogicalNodeCore::schema(barrier))?;
        let seal = Seal::Policy(Arc::clone(&barrier.policy));
        Ok(Some(Arc::new(BarrierExec::new(input, seal))))
    }
}

/// `input` with exactly the barrier's columns. A source asked for no column at all (`count(*)`)
/// may still return one; the barrier's output must be what the plan above it expects.
fn conform(input: Arc<dyn ExecutionPlan>, logical: &DFSchemaRef) -> DfResult<Arc<dyn ExecutionPlan>> {
    let physical = input.schema();
    if physical.fields().len() == logical.fields().len() {
        return Ok(input);
    }
    let columns = logical
        .fields()
        .iter()
        .map(|field| {
            let column = PhysicalColumn::new_with_schema(field.name(), &physical)?;
            Ok((Arc::new(column) as Arc<dyn PhysicalExpr>, field.name().clone()))
        })
        .collect::<DfResult<Vec<_>>>()?;
    Ok(Arc::new(ProjectionExec::try_new(columns, input)?))
}

/// The session's query planner: DataFusion's, knowing the barrier.
#[derive(Debug)]
pub(crate) struct GovernedQueryPlanner;

#[async_trait]
impl QueryPlanner for GovernedQueryPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session_state: &dyn datafusion::catalog::Session,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![
            Arc::new(BarrierPlanner),
            Arc::new(crate::remote::RemotePlanner),
        ])
        .create_physical_plan(logical_plan, session_state)
        .await
    }
}

/// Number of physical barriers in `plan`.
pub(crate) fn count_barrier_execs(plan: &Arc<dyn ExecutionPlan>) -> usize {
    let own = plan
        .downcast_ref::<BarrierExec>()
        .map_or(0, |b| usize::from(matches!(b.seal, Seal::Policy(_))));
    own + crate::remote::absorbed_barriers(plan) + plan.children().into_iter().map(count_barrier_execs).sum::<usize>()
}
