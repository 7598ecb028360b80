//! Errors raised while a source is read are the source's: a PostgreSQL connection closed in the
//! middle of a scan, an object store that stopped answering, a file cut short. Each scan is
//! wrapped so that such an error reaches the caller as "source `name` is unavailable: …" (and
//! the audit as a failed query), not as an anonymous execution error.

use std::fmt;
use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result as DfResult, Statistics, internal_err};
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::CardinalityEffect;
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterDescription, FilterPushdownPhase, FilterPushdownPropagation,
};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;

use crate::error::SourceFailure;

/// `input`, whose errors are attributed to `source_name`.
#[derive(Debug)]
pub(super) struct Attributed {
    input: Arc<dyn ExecutionPlan>,
    source_name: String,
}

impl Attributed {
    pub(super) fn wrap(input: Arc<dyn ExecutionPlan>, source_name: &str) -> Arc<dyn ExecutionPlan> {
        Arc::new(Self {
            input,
            source_name: source_name.to_owned(),
        })
    }
}

/// `error` as a failure of `source_name`, unless it already is one of some source.
fn attribute(source_name: &str, error: DataFusionError) -> DataFusionError {
    if let DataFusionError::External(e) = error.find_root()
        && e.downcast_ref::<SourceFailure>().is_some()
    {
        return error;
    }
    // Cancellation and limits are the query's, not the source's.
    if matches!(error.find_root(), DataFusionError::ResourcesExhausted(_)) {
        return error;
    }
    super::failure(source_name, error.find_root().message().to_string())
}

impl DisplayAs for Attributed {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SourceScanExec: source={}", self.source_name)
    }
}

#[allow(deprecated)] // `with_new_children` is still required by the trait in DataFusion 55.
impl ExecutionPlan for Attributed {
    fn name(&self) -> &str {
        "SourceScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn partition_statistics(&self, partition: Option<usize>) -> DfResult<Arc<Statistics>> {
        self.input.partition_statistics(partition)
    }

    fn cardinality_effect(&self) -> CardinalityEffect {
        CardinalityEffect::Equal
    }

    // Transparent to the optimizer: filters (the row policy reaching the Parquet reader's
    // pruning) and projections go through to the scan as if this node were not there.
    fn gather_filters_for_pushdown(
        &self,
        _phase: FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> DfResult<FilterDescription> {
        FilterDescription::from_children(parent_filters, &self.children())
    }

    fn handle_child_pushdown_result(
        &self,
        _phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> DfResult<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        Ok(FilterPushdownPropagation::if_all(child_pushdown_result))
    }

    fn try_swapping_with_projection(&self, projection: &ProjectionExec) -> DfResult<Option<Arc<dyn ExecutionPlan>>> {
        Ok(self
            .input
            .try_swapping_with_projection(projection)?
            .map(|input| Self::wrap(input, &self.source_name)))
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        let Ok([input]) = <[Arc<dyn ExecutionPlan>; 1]>::try_from(children) else {
            return internal_err!("SourceScanExec takes one input");
        };
        Ok(Self::wrap(input, &self.source_name))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let source_name = self.source_name.clone();
        let stream = self
            .input
            .execute(partition, context)
            .map_err(|e| attribute(&source_name, e))?;
        let attributed = stream.map(move |batch| batch.map_err(|e| attribute(&source_name, e)));
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.input.schema(), attributed)))
    }
}
