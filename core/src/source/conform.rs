//! The catalog's declared types at the boundary of a database source.
//!
//! A database says its own types: SQLite stores dates and times as text, PostgreSQL's `integer`
//! or `timestamptz` need not be the catalog's `int64` or `timestamp`. The engine plans with the
//! declared types, so every batch a database returns is converted to them here, before anything
//! else reads it. A value that does not convert fails the scan with an error that names the
//! table, the column and the declared type, never the value (which may be a row the caller may
//! not see).

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result as DfResult, internal_err};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties};
use futures::StreamExt;

/// Converts each batch of `input` to `schema` (the declared types of the same columns).
#[derive(Debug)]
pub(super) struct Conform {
    input: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    source_name: String,
    table: String,
    properties: Arc<PlanProperties>,
}

impl Conform {
    /// `input` as is when it already has `schema`'s types, else converted.
    pub(super) fn wrap(
        input: Arc<dyn ExecutionPlan>,
        schema: SchemaRef,
        source_name: &str,
        table: &str,
    ) -> Arc<dyn ExecutionPlan> {
        let produced = input.schema();
        // (A scan asked for no column may still return one: the barrier above deals with it.)
        let same = produced.fields().len() != schema.fields().len()
            || produced
                .fields()
                .iter()
                .zip(schema.fields())
                .all(|(a, b)| a.data_type() == b.data_type());
        if same {
            return input;
        }
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            input.output_partitioning().clone(),
            input.pipeline_behavior(),
            input.boundedness(),
        ));
        Arc::new(Self {
            input,
            schema,
            source_name: source_name.to_owned(),
            table: table.to_owned(),
            properties,
        })
    }
}

impl DisplayAs for Conform {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ConformExec: table={}", self.table)
    }
}

#[allow(deprecated)] // `with_new_children` is still required by the trait in DataFusion 55.
impl ExecutionPlan for Conform {
    fn name(&self) -> &str {
        "ConformExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        let Ok([input]) = <[Arc<dyn ExecutionPlan>; 1]>::try_from(children) else {
            return internal_err!("ConformExec takes one input");
        };
        Ok(Self::wrap(
            input,
            Arc::clone(&self.schema),
            &self.source_name,
            &self.table,
        ))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let schema = Arc::clone(&self.schema);
        let (source_name, table) = (self.source_name.clone(), self.table.clone());
        let converted = self.input.execute(partition, context)?.map(move |batch| {
            let batch = batch?;
            let options = CastOptions {
                safe: false,
                ..CastOptions::default()
            };
            let columns = batch
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(column, field)| {
                    cast_with_options(column, field.data_type(), &options)
                        .map_err(|_| super::failure(&source_name, misfit(&table, field.name(), field.data_type())))
                })
                .collect::<DfResult<Vec<_>>>()?;
            Ok(RecordBatch::try_new(Arc::clone(&schema), columns)?)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            converted,
        )))
    }
}

/// The error of a value that does not fit its column's declared type (without the value).
fn misfit(table: &str, column: &str, data_type: &DataType) -> String {
    format!("{table}.{column} holds a value that is not a valid {data_type} (the catalog's declared type)")
}
