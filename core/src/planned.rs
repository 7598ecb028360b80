//! A query planned and governed, waiting to run: what [`crate::Session::plan`] gives and
//! [`PlannedQuery::run`] runs, once. Running it admits it under the quotas, writes its audit
//! record (synced) and only then starts it. Also what a plan tells the audit (the constants it
//! names, the sub-queries it sends) and what `EXPLAIN` shows of it.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::{ExecutionPlan, displayable, execute_stream};

use crate::audit::{Event, Outcome};
use crate::catalog::Inner;
use crate::check::Verified;
use crate::error::{Error, Result};
use crate::redact::literal_digest;
use crate::session::refused;
use crate::stream::{QueryStream, RowQuota};

/// The plans of a query.
pub(crate) struct Planned {
    pub plan: Arc<dyn ExecutionPlan>,
    pub logical: LogicalPlan,
    pub verified: Verified,
    /// The keys named in lookups, by table (see [`crate::lookup::named_keys`]).
    pub keys: Vec<(String, Vec<String>)>,
}

/// A query planned and governed for one caller, not yet run or audited as run.
///
/// ```no_run
/// # async fn demo(session: &lienthong::Session) -> lienthong::Result<()> {
/// let planned = session.plan("SELECT count(*) FROM land.parcels", &[]).await?;
/// println!("{}", planned.schema());
/// let batches = planned.run()?.collect().await?;
/// # Ok(()) }
/// ```
pub struct PlannedQuery {
    pub(crate) inner: Arc<Inner>,
    pub(crate) task: Arc<TaskContext>,
    /// The quotas that count the query.
    pub(crate) quotas: Vec<crate::quota::Applied>,
    pub(crate) today: NaiveDate,
    pub(crate) event: Event,
    pub(crate) planned: Planned,
    pub(crate) explain: bool,
    pub(crate) calls: Arc<crate::remote::Calls>,
}

impl std::fmt::Debug for PlannedQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlannedQuery")
            .field("query_id", &self.event.query_id)
            .finish_non_exhaustive()
    }
}

impl PlannedQuery {
    /// The schema of the results (every column nullable, as the stream announces it).
    pub fn schema(&self) -> SchemaRef {
        if self.explain {
            explain_schema()
        } else {
            crate::stream::nullable(&Arc::new(self.planned.logical.schema().as_arrow().clone()))
        }
    }

    /// The query's id in the audit log.
    pub fn query_id(&self) -> &str {
        &self.event.query_id
    }

    /// Runs the query: admits it under the caller's quotas (a refusal is audited), writes its
    /// audit record, and streams its results.
    pub fn run(self) -> Result<QueryStream> {
        let started = Instant::now();
        let Self {
            inner,
            task,
            quotas,
            today,
            mut event,
            planned,
            explain,
            calls,
        } = self;
        let row_quota = if explain {
            None
        } else {
            match admit(&inner, quotas, today, &planned, &mut event) {
                Ok(row_quota) => row_quota,
                Err(error) => return Err(refused(&inner, event, error, started)),
            }
        };
        event.outcome = Some(Outcome::Accepted);
        inner.audit.append(&event)?;
        let stream = if explain {
            explain_stream(&planned)?
        } else {
            execute_stream(Arc::clone(&planned.plan), task).map_err(Error::from_datafusion)?
        };
        let mut stream = QueryStream::new(stream, &inner, event, started);
        stream.plan = Some(Arc::clone(&planned.plan));
        stream.row_quota = row_quota;
        stream.generic_errors = planned
            .verified
            .barriers
            .iter()
            .any(|b| b.min_group_size.is_some() || b.lookup.is_some());
        if !event_remote_calls_empty(&planned.logical) {
            stream.remote_log = Some(Arc::clone(&calls.log));
        }
        Ok(stream)
    }
}

/// Checks the query against the quotas that count it (charging the keys it names) and says how
/// many rows it may return under them.
fn admit(
    inner: &Arc<Inner>,
    applied: Vec<crate::quota::Applied>,
    day: NaiveDate,
    planned: &Planned,
    event: &mut Event,
) -> Result<Option<RowQuota>> {
    if applied.is_empty() {
        return Ok(None);
    }
    let key = inner.audit_key();
    let keys: Vec<(String, Vec<String>)> = planned
        .keys
        .iter()
        .map(|(table, keys)| (table.clone(), keys.iter().map(|k| literal_digest(&key, k)).collect()))
        .collect();
    let admission = inner.quotas.admit(&applied, &keys, day)?;
    event.quotas = admission.uses;
    Ok(admission.rows.map(|(allowance, why)| RowQuota {
        book: Arc::clone(&inner.quotas),
        applied,
        allowance,
        why,
        day,
        held: std::collections::VecDeque::new(),
        releasing: false,
        streaming: false,
    }))
}

/// The sub-queries a federated plan sends, as the audit lists them before they run.
pub(crate) fn remote_calls_planned(plan: &LogicalPlan) -> Vec<crate::audit::RemoteCall> {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let mut calls = Vec::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::Extension(e) = node
            && let Some(query) = crate::remote::RemoteQuery::of(e.node.as_ref())
        {
            calls.push(crate::audit::RemoteCall {
                node: query
                    .calls
                    .inner
                    .spec
                    .sources
                    .get(&query.source_name)
                    .and_then(|s| s.node.clone())
                    .unwrap_or_default(),
                correlation_id: query.calls.correlation_id.clone(),
                sql_sha256: crate::node::sql_sha256(&query.sql),
                rows: None,
            });
        }
        Ok(TreeNodeRecursion::Continue)
    });
    calls
}

pub(crate) fn event_remote_calls_empty(plan: &LogicalPlan) -> bool {
    remote_calls_planned(plan).is_empty()
}

/// The constants of an optimized plan, as text: the caller's (folded, and wherever the optimizer
/// moved them, also into a scan below a barrier) and the policy's own (harmless extra digests).
pub(crate) fn plan_constants(plan: &LogicalPlan) -> Vec<String> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    let mut constants = Vec::new();
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                if let datafusion::logical_expr::Expr::Literal(value, _) = e
                    && !value.is_null()
                {
                    constants.push(value.to_string());
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })?;
        Ok(TreeNodeRecursion::Continue)
    });
    constants
}

pub(crate) fn explain_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("plan_type", DataType::Utf8, true),
        Field::new("plan", DataType::Utf8, true),
    ]))
}

/// The EXPLAIN result: the governed logical plan and the physical plan.
pub(crate) fn explain_stream(planned: &Planned) -> Result<SendableRecordBatchStream> {
    let schema = explain_schema();
    let kinds: ArrayRef = Arc::new(StringArray::from(vec!["logical_plan", "physical_plan"]));
    let plans: ArrayRef = Arc::new(StringArray::from(vec![
        planned.logical.display_indent().to_string(),
        without_files(&displayable(planned.plan.as_ref()).indent(false).to_string()),
    ]));
    let batch =
        RecordBatch::try_new(Arc::clone(&schema), vec![kinds, plans]).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Box::pin(
        datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, futures::stream::iter([Ok(batch)])),
    ))
}

/// A physical plan's text without the files it reads: their paths and byte ranges tell where the
/// node keeps its data and how big the hidden part of a table is (`file_groups={…}` is replaced).
pub(crate) fn without_files(plan: &str) -> String {
    const MARK: &str = "file_groups={";
    let mut out = String::with_capacity(plan.len());
    let mut rest = plan;
    while let Some(start) = rest.find(MARK) {
        out.push_str(&rest[..start]);
        out.push_str("file_groups=<hidden>");
        let mut depth = 0usize;
        let mut end = rest.len();
        for (i, c) in rest[start + MARK.len() - 1..].char_indices() {
            match c {
                '{' | '[' => depth += 1,
                '}' | ']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = start + MARK.len() - 1 + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
