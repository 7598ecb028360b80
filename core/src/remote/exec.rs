//! The sub-query node: in the logical plan (for EXPLAIN and the checks) and as the operator that
//! sends the SQL to the node and streams its answer in this query's types.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchemaRef, Result as DfResult, internal_err};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNode, UserDefinedLogicalNodeCore};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use datafusion::physical_planner::{ExtensionPlanner, PhysicalPlanner};
use futures::{StreamExt, TryStreamExt};

use super::{Calls, RemoteError};
use crate::barrier::Policy;

/// A sub-plan sent to another node as SQL.
#[derive(Clone)]
pub(crate) struct RemoteQuery {
    /// The catalog's source (kind `node`).
    pub source_name: String,
    /// The SQL sent.
    pub sql: String,
    /// What the sub-plan returned here, column for column.
    pub schema: DFSchemaRef,
    /// The barriers (without restrictions of this node) the sub-query took in.
    pub absorbed: Vec<Arc<Policy>>,
    pub calls: Arc<Calls>,
}

impl RemoteQuery {
    pub(crate) fn of(node: &dyn UserDefinedLogicalNode) -> Option<&Self> {
        node.as_any().downcast_ref::<Self>()
    }
}

impl fmt::Debug for RemoteQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteQuery")
            .field("source_name", &self.source_name)
            .field("sql", &self.sql)
            .finish_non_exhaustive()
    }
}

impl PartialEq for RemoteQuery {
    fn eq(&self, other: &Self) -> bool {
        self.source_name == other.source_name && self.sql == other.sql
    }
}

impl Eq for RemoteQuery {}

impl Hash for RemoteQuery {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.source_name.hash(state);
        self.sql.hash(state);
    }
}

impl PartialOrd for RemoteQuery {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (&self.source_name, &self.sql).partial_cmp(&(&other.source_name, &other.sql))
    }
}

impl UserDefinedLogicalNodeCore for RemoteQuery {
    fn name(&self) -> &str {
        "RemoteQuery"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        Vec::new()
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let tables: Vec<&str> = self.absorbed.iter().map(|p| p.table.as_str()).collect();
        write!(f, "RemoteQuery: source={}, sql={}", self.source_name, self.sql)?;
        if !tables.is_empty() {
            write!(f, ", tables=[{}]", tables.join(", "))?;
        }
        Ok(())
    }

    fn with_exprs_and_inputs(&self, exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> DfResult<Self> {
        if !exprs.is_empty() || !inputs.is_empty() {
            return internal_err!("RemoteQuery takes no input and no expressions");
        }
        Ok(self.clone())
    }
}

/// Plans [`RemoteQuery`] nodes.
#[derive(Debug)]
pub(crate) struct RemotePlanner;

#[async_trait]
impl ExtensionPlanner for RemotePlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        _physical_inputs: &[Arc<dyn ExecutionPlan>],
        _session: &dyn datafusion::catalog::Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> DfResult<Option<Arc<dyn ExecutionPlan>>> {
        let Some(query) = RemoteQuery::of(node) else {
            return Ok(None);
        };
        Ok(Some(Arc::new(RemoteQueryExec::new(query))))
    }
}

/// Sends the SQL when executed and streams the answer, cast to the types this plan expects.
#[derive(Debug)]
pub(crate) struct RemoteQueryExec {
    query: RemoteQuery,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl RemoteQueryExec {
    fn new(query: &RemoteQuery) -> Self {
        let schema = Arc::clone(query.schema.inner());
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            query: query.clone(),
            schema,
            properties: Arc::new(properties),
        }
    }
}

/// Barriers taken into sub-queries in `plan` (they count as barriers for the physical check).
pub(crate) fn absorbed_barriers(plan: &Arc<dyn ExecutionPlan>) -> usize {
    plan.downcast_ref::<RemoteQueryExec>()
        .map_or(0, |r| r.query.absorbed.len())
}

impl DisplayAs for RemoteQueryExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "RemoteQueryExec: source={}, sql={}",
            self.query.source_name, self.query.sql
        )
    }
}

impl ExecutionPlan for RemoteQueryExec {
    fn name(&self) -> &str {
        "RemoteQueryExec"
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        if !children.is_empty() {
            return internal_err!("RemoteQueryExec has no children");
        }
        Ok(self)
    }

    fn execute(&self, partition: usize, _context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        if partition != 0 {
            return internal_err!("RemoteQueryExec has one partition");
        }
        let calls = Arc::clone(&self.query.calls);
        let source = self.query.source_name.clone();
        let sql = self.query.sql.clone();
        let schema = Arc::clone(&self.schema);
        let expected = Arc::clone(&schema);
        let opened = async move {
            let transport = calls.inner.transport.clone().ok_or_else(|| {
                RemoteError::Unavailable(
                    "this process has no transport to other nodes (run the node with `lienthong serve`)".into(),
                )
                .into_datafusion(&source)
            })?;
            let (outgoing, line) = calls.outgoing(&source, &sql).map_err(|e| e.into_datafusion(&source))?;
            let answer = transport
                .query(outgoing)
                .await
                .map_err(|e| e.into_datafusion(&source))?;
            let counted = answer.and_then(move |batch| {
                let converted = conform(&batch, &expected, &source);
                if let Ok(batch) = &converted {
                    calls.add_rows(line, batch.num_rows() as u64);
                }
                futures::future::ready(converted)
            });
            Ok::<_, datafusion::error::DataFusionError>(counted)
        };
        // Sent at once rather than at the first poll: a join asks its build side first, and the
        // other nodes' sub-queries should not wait for it. Dropping the stream (the caller went
        // away) aborts the call, which cancels the owner's query with its gRPC stream.
        let stream = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let call = AbortOnDrop(runtime.spawn(opened));
                futures::stream::once(call.join()).try_flatten().boxed()
            }
            Err(_) => futures::stream::once(opened).try_flatten().boxed(),
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// A spawned call, aborted if its result is no longer wanted.
struct AbortOnDrop<T>(tokio::task::JoinHandle<DfResult<T>>);

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> DfResult<T> {
        match (&mut self.0).await {
            Ok(result) => result,
            Err(e) => Err(datafusion::error::DataFusionError::External(Box::new(e))),
        }
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `batch` in the types and names this plan expects (the node may answer with other string or
/// integer encodings); a different number of columns fails the query.
fn conform(batch: &RecordBatch, expected: &SchemaRef, source: &str) -> DfResult<RecordBatch> {
    if batch.num_columns() != expected.fields().len() {
        return Err(RemoteError::Query(format!(
            "the node answered with {} columns where {} were asked for",
            batch.num_columns(),
            expected.fields().len()
        ))
        .into_datafusion(source));
    }
    let columns = batch
        .columns()
        .iter()
        .zip(expected.fields())
        .map(|(column, field)| cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            RemoteError::Query(format!("the node's answer does not fit the declared types: {e}"))
                .into_datafusion(source)
        })?;
    let options = datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::clone(expected), columns, &options)
        .map_err(|e| RemoteError::Query(format!("the node's answer does not fit: {e}")).into_datafusion(source))
}
