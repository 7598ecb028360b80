//! The group-size guard of an aggregate over an aggregate-only table: a node that drops the groups
//! with fewer rows than the minimum and that nothing above it can be merged into.
//!
//! A plain filter would not do: the optimizer merges a `HAVING` condition into it
//! (`rows >= 10 AND 1 / (count(*) - 3) > 0`), and the engine may then evaluate the caller's part
//! on a suppressed group, whose error would tell that a group of exactly three rows exists. Above
//! the guard, the caller's conditions only ever see the groups that are shown.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Array, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::compute::kernels::cmp::gt_eq;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchemaRef, DataFusionError, Result as DfResult, internal_err};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNode, UserDefinedLogicalNodeCore};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties};
use futures::StreamExt;

use crate::aggregate::GROUP_ROWS;

/// The logical guard: its output is its input's groups of at least `min_rows` rows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GroupGuard {
    pub input: LogicalPlan,
    pub min_rows: u32,
}

impl GroupGuard {
    /// The guard in an extension node, if that is what `node` is.
    pub(crate) fn of(node: &dyn UserDefinedLogicalNode) -> Option<&Self> {
        node.as_any().downcast_ref::<Self>()
    }
}

impl PartialOrd for GroupGuard {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.min_rows.partial_cmp(&other.min_rows)
    }
}

impl UserDefinedLogicalNodeCore for GroupGuard {
    fn name(&self) -> &str {
        "GroupGuard"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "GroupGuard: {GROUP_ROWS} >= {}", self.min_rows)
    }

    fn with_exprs_and_inputs(&self, exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> DfResult<Self> {
        let (true, Ok([input])) = (exprs.is_empty(), <[LogicalPlan; 1]>::try_from(inputs)) else {
            return internal_err!("GroupGuard takes one input and no expressions");
        };
        Ok(Self {
            input,
            min_rows: self.min_rows,
        })
    }

    /// No condition goes below the guard: it would run on suppressed groups.
    fn prevent_predicate_push_down_columns(&self) -> std::collections::HashSet<String> {
        self.input.schema().fields().iter().map(|f| f.name().clone()).collect()
    }

    fn supports_limit_pushdown(&self) -> bool {
        false
    }
}

/// The physical guard.
#[derive(Debug)]
pub(crate) struct GuardExec {
    input: Arc<dyn ExecutionPlan>,
    min_rows: u32,
    /// Index of the hidden row count in the input.
    rows: usize,
    properties: Arc<PlanProperties>,
}

impl GuardExec {
    pub(crate) fn try_new(input: Arc<dyn ExecutionPlan>, min_rows: u32) -> DfResult<Self> {
        let rows = input.schema().index_of(GROUP_ROWS)?;
        let properties = Arc::new(PlanProperties::new(
            input.equivalence_properties().clone(),
            input.output_partitioning().clone(),
            input.pipeline_behavior(),
            input.boundedness(),
        ));
        Ok(Self {
            input,
            min_rows,
            rows,
            properties,
        })
    }
}

impl DisplayAs for GuardExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "GroupGuardExec: {GROUP_ROWS} >= {}", self.min_rows)
    }
}

#[allow(deprecated)] // `with_new_children` is still required by the trait in DataFusion 55.
impl ExecutionPlan for GuardExec {
    fn name(&self) -> &str {
        "GroupGuardExec"
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
            return internal_err!("GroupGuardExec takes one input");
        };
        Ok(Arc::new(Self::try_new(input, self.min_rows)?))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let (rows, min) = (self.rows, Int64Array::new_scalar(i64::from(self.min_rows)));
        let kept = self.input.execute(partition, context)?.map(move |batch| {
            let batch: RecordBatch = batch?;
            let counts = batch.column(rows);
            let keep = gt_eq(counts, &min)?;
            if keep.null_count() > 0 {
                return Err(DataFusionError::Internal("a group without a row count".into()));
            }
            Ok(filter_record_batch(&batch, &keep)?)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.input.schema(), kept)))
    }
}
