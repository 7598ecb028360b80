//! A session: one principal, one purpose, the caller's own catalog, and the path of each query
//! (parse, refuse what is not a read, plan over governed tables, enforce aggregate-only, optimize,
//! check that the policy survived, audit, run within limits).

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::context::{SQLOptions, SessionState};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::optimizer::Optimizer;
use datafusion::physical_plan::metrics::MetricValue;
use datafusion::physical_plan::{ExecutionPlan, displayable, execute_stream};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;
use futures::{Stream, StreamExt};
use lienthong_spec::PUBLIC_PRINCIPAL;

use crate::audit::{Event, Outcome};
use crate::barrier::{GovernedQueryPlanner, count_barrier_execs};
use crate::catalog::Inner;
use crate::check::{Verified, enforce_aggregate_only, verify};
use crate::error::{Error, Result};
use crate::policy::{self, Caller as PolicyCaller};
use crate::redact::redact_sql;
use crate::visible::{Accesses, Caller, VisibleCatalog};

/// The schema name unqualified table names would resolve to; it never exists, so unqualified
/// names are not guessed.
const NO_DEFAULT_SCHEMA: &str = "__no_default_schema__";

/// A principal acting for a purpose. Create with [`crate::Catalog::session`].
pub struct Session {
    inner: Arc<Inner>,
    principal: String,
    purpose: Option<String>,
    agency: String,
    accesses: Arc<Accesses>,
    ctx: SessionContext,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("principal", &self.principal)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

/// A planned query, before it runs.
struct Planned {
    plan: Arc<dyn ExecutionPlan>,
    logical: LogicalPlan,
    verified: Verified,
}

impl Session {
    pub(crate) fn new(inner: Arc<Inner>, principal: &str, purpose: Option<&str>) -> Self {
        let spec = &inner.spec;
        let declared = spec.principals.get(principal).filter(|_| principal != PUBLIC_PRINCIPAL);
        let caller = PolicyCaller {
            id: principal,
            principal: declared,
            purpose,
        };
        let today = inner.today.unwrap_or_else(today_utc);
        let mut accesses = Accesses::new();
        for (database, definition) in &spec.databases {
            for table in definition.tables.keys() {
                if let Some(access) = policy::resolve(spec, &caller, database, table, today) {
                    accesses.insert((database.clone(), table.clone()), access);
                }
            }
        }
        let agency = declared.map(|p| p.agency.as_str().to_owned()).unwrap_or_default();
        let accesses = Arc::new(accesses);
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema(&spec.node.name, NO_DEFAULT_SCHEMA);
        let mut runtime = RuntimeEnvBuilder::new().with_object_store_registry(inner.sources.object_stores());
        if let Some(bytes) = inner.limits.memory_bytes {
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
        }
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime.build_arc().unwrap_or_default())
            .with_default_features()
            .with_query_planner(Arc::new(GovernedQueryPlanner));
        if inner.no_pushdown {
            let rules = Optimizer::new()
                .rules
                .into_iter()
                .filter(|r| r.name() != "push_down_filter")
                .collect();
            state = state.with_optimizer_rules(rules);
        }
        let state = state.build();
        let ctx = SessionContext::new_with_state(state);
        let binder = Arc::new(SessionStateBuilder::new().with_default_features().build());
        let visible = VisibleCatalog::new(
            Arc::clone(&inner),
            Arc::new(Caller {
                principal: principal.to_owned(),
                agency: agency.clone(),
            }),
            Arc::clone(&accesses),
            binder,
        );
        ctx.register_catalog(&spec.node.name, Arc::new(visible));
        Self {
            inner,
            principal: principal.to_owned(),
            purpose: purpose.map(str::to_owned),
            agency,
            accesses,
            ctx,
        }
    }

    /// The principal's id.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The tables this caller may see, as `database.table`.
    pub fn tables(&self) -> Vec<String> {
        self.accesses.keys().map(|(d, t)| format!("{d}.{t}")).collect()
    }

    /// What this caller may see of `database.table` (columns, masks, rows), if anything.
    pub fn access(&self, table: &str) -> Option<&policy::TableAccess> {
        let (database, table) = table.split_once('.')?;
        self.accesses.get(&(database.to_owned(), table.to_owned()))
    }

    /// Runs a read-only query and streams its results. `EXPLAIN <query>` returns the governed plan.
    ///
    /// The query is audited before any result is returned; a failure to audit fails the query.
    pub async fn sql(&self, sql: &str) -> Result<QueryStream> {
        let started = Instant::now();
        let mut event = self.event("query", sql);
        match self.plan_sql(sql).await {
            Ok((planned, explain)) => {
                event.tables = planned.verified.barriers.iter().map(|b| b.table.clone()).collect();
                event.tables.sort();
                event.tables.dedup();
                event.columns.clone_from(&planned.verified.columns);
                let mut policies: Vec<String> = planned
                    .verified
                    .barriers
                    .iter()
                    .flat_map(|b| b.grants.iter().chain(&b.tag_rules).cloned())
                    .collect();
                policies.sort();
                policies.dedup();
                event.policies = policies;
                event.outcome = Some(Outcome::Accepted);
                self.inner.audit.append(&event)?;
                let stream = if explain {
                    explain_stream(&planned)?
                } else {
                    execute_stream(Arc::clone(&planned.plan), self.ctx.task_ctx()).map_err(Error::from_datafusion)?
                };
                let mut stream = QueryStream::new(stream, &self.inner, event, started);
                stream.plan = Some(Arc::clone(&planned.plan));
                Ok(stream)
            }
            Err(error) => {
                event.outcome = Some(if matches!(error, Error::Denied(_)) {
                    Outcome::Denied
                } else {
                    Outcome::Failed
                });
                event.error = Some(error.to_string());
                event.duration_ms = Some(elapsed_ms(started));
                self.inner.audit.append(&event)?;
                Err(error)
            }
        }
    }

    /// The governed plan of a query, as text (logical and physical), without running it.
    pub async fn explain(&self, sql: &str) -> Result<String> {
        let batches = self.sql(&format!("EXPLAIN {sql}")).await?.collect().await?;
        let mut out = String::new();
        for batch in &batches {
            let kinds = batch.column(0).as_any().downcast_ref::<StringArray>();
            let plans = batch.column(1).as_any().downcast_ref::<StringArray>();
            if let (Some(kinds), Some(plans)) = (kinds, plans) {
                for (kind, plan) in kinds.iter().zip(plans.iter()) {
                    out.push_str(&format!(
                        "{}:\n{}\n",
                        kind.unwrap_or_default(),
                        plan.unwrap_or_default()
                    ));
                }
            }
        }
        Ok(out)
    }

    async fn plan_sql(&self, sql: &str) -> Result<(Planned, bool)> {
        let state = self.ctx.state();
        let statement = state
            .sql_to_statement(sql, &state.config().options().sql_parser.dialect)
            .map_err(Error::from_datafusion)?;
        let (statement, explain) = read_only(statement)?;
        let plan = state
            .statement_to_plan(statement)
            .await
            .map_err(Error::from_datafusion)?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|e| Error::Denied(e.message().to_string()))?;
        let plan = enforce_aggregate_only(plan)?;
        let optimized = state.optimize(&plan).map_err(Error::from_datafusion)?;
        let verified = verify(&optimized)?;
        let physical = physical_plan(&state, &optimized).await?;
        if count_barrier_execs(&physical) != verified.barriers.len() {
            return Err(Error::Internal("the physical plan lost a policy barrier".into()));
        }
        Ok((
            Planned {
                plan: physical,
                logical: optimized,
                verified,
            },
            explain,
        ))
    }

    fn event(&self, kind: &str, sql: &str) -> Event {
        let key = self.inner.audit_key();
        let (sql, literal_digests) = redact_sql(sql, &key);
        Event {
            kind: kind.into(),
            query_id: query_id(),
            time: now_rfc3339(),
            node: self.inner.spec.node.name.clone(),
            principal: self.principal.clone(),
            agency: self.agency.clone(),
            purpose: self.purpose.clone(),
            sql: Some(sql),
            literal_digests,
            ..Event::default()
        }
    }
}

async fn physical_plan(state: &SessionState, plan: &LogicalPlan) -> Result<Arc<dyn ExecutionPlan>> {
    state
        .query_planner()
        .create_physical_plan(plan, state)
        .await
        .map_err(Error::from_datafusion)
}

/// Accepts queries, SHOW TABLES / SHOW COLUMNS and EXPLAIN of a query; refuses the rest.
fn read_only(statement: DfStatement) -> Result<(DfStatement, bool)> {
    let refuse = |what: &str| {
        Err(Error::Denied(format!(
            "only read-only queries are accepted, not {what}"
        )))
    };
    match statement {
        DfStatement::Statement(s) => match s.as_ref() {
            Statement::Query(_) | Statement::ShowTables { .. } | Statement::ShowColumns { .. } => {
                Ok((DfStatement::Statement(s), false))
            }
            Statement::Explain { .. } | Statement::ExplainTable { .. } => refuse("this form of EXPLAIN"),
            _ => refuse("this statement"),
        },
        DfStatement::Explain(explain) => {
            if explain.options.analyze {
                return refuse("EXPLAIN ANALYZE (it would reveal row counts before the policy)");
            }
            match *explain.statement {
                DfStatement::Statement(s) if matches!(s.as_ref(), Statement::Query(_)) => {
                    Ok((DfStatement::Statement(s), true))
                }
                _ => refuse("EXPLAIN of anything but a query"),
            }
        }
        DfStatement::CreateExternalTable(_) => refuse("CREATE EXTERNAL TABLE"),
        DfStatement::CopyTo(_) => refuse("COPY"),
        DfStatement::Reset(_) => refuse("RESET"),
    }
}

/// The EXPLAIN result: the governed logical plan and the physical plan.
fn explain_stream(planned: &Planned) -> Result<SendableRecordBatchStream> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("plan_type", DataType::Utf8, false),
        Field::new("plan", DataType::Utf8, false),
    ]));
    let kinds: ArrayRef = Arc::new(StringArray::from(vec!["logical_plan", "physical_plan"]));
    let plans: ArrayRef = Arc::new(StringArray::from(vec![
        planned.logical.display_indent().to_string(),
        displayable(planned.plan.as_ref()).indent(true).to_string(),
    ]));
    let batch =
        RecordBatch::try_new(Arc::clone(&schema), vec![kinds, plans]).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Box::pin(
        datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, futures::stream::iter([Ok(batch)])),
    ))
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn today_utc() -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp(unix_seconds(), 0)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub(crate) fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    chrono::DateTime::from_timestamp(i64::try_from(now.as_secs()).unwrap_or(0), now.subsec_nanos())
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn query_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{:x}-{}", unix_seconds(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The results of a query, streamed, with its limits and its completion record.
///
/// Reading to the end writes the completion record; dropping the stream earlier cancels the query
/// and records that.
pub struct QueryStream {
    schema: SchemaRef,
    inner: SendableRecordBatchStream,
    audit: Arc<Inner>,
    event: Event,
    started: Instant,
    rows: u64,
    max_rows: Option<u64>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    done: bool,
    plan: Option<Arc<dyn ExecutionPlan>>,
}

impl std::fmt::Debug for QueryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryStream")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl QueryStream {
    fn new(inner: SendableRecordBatchStream, catalog: &Arc<Inner>, mut event: Event, started: Instant) -> Self {
        event.kind = "completion".into();
        event.sql = None;
        event.literal_digests.clear();
        Self {
            schema: inner.schema(),
            inner,
            audit: Arc::clone(catalog),
            event,
            started,
            rows: 0,
            max_rows: catalog.limits.max_rows,
            deadline: catalog
                .limits
                .timeout
                .map(|t| Box::pin(tokio::time::sleep(t.saturating_sub(started.elapsed())))),
            done: false,
            plan: None,
        }
    }

    /// What the sources skipped so far, by pruning metric (`row_groups_pruned_statistics`,
    /// `page_index_rows_pruned`, …): `(pruned, matched)` summed over the plan.
    ///
    /// For the node's operator (tests, benchmarks, monitoring), never for the caller: how much
    /// storage a policy skipped says something about rows the caller may not see.
    pub fn pruning(&self) -> BTreeMap<String, (usize, usize)> {
        let mut totals = BTreeMap::new();
        let mut stack: Vec<Arc<dyn ExecutionPlan>> = self.plan.iter().cloned().collect();
        while let Some(node) = stack.pop() {
            for metric in node
                .metrics()
                .iter()
                .flat_map(|m| m.iter().cloned().collect::<Vec<_>>())
            {
                if let MetricValue::PruningMetrics { name, pruning_metrics } = metric.value() {
                    let entry = totals.entry(name.to_string()).or_insert((0, 0));
                    entry.0 += pruning_metrics.pruned();
                    entry.1 += pruning_metrics.matched();
                }
            }
            stack.extend(node.children().into_iter().cloned());
        }
        totals
    }

    /// The schema of the results.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Reads every batch.
    pub async fn collect(mut self) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        while let Some(batch) = self.next().await {
            batches.push(batch?);
        }
        Ok(batches)
    }

    fn finish(&mut self, outcome: Outcome, error: Option<String>) -> Result<()> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        self.event.outcome = Some(outcome);
        self.event.error = error;
        self.event.rows = Some(self.rows);
        self.event.duration_ms = Some(elapsed_ms(self.started));
        self.event.time = now_rfc3339();
        self.audit.audit.append(&self.event)
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<RecordBatch>>> {
        let audited = self.finish(Outcome::Failed, Some(error.to_string()));
        Poll::Ready(Some(Err(audited.err().unwrap_or(error))))
    }
}

impl Stream for QueryStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return self.fail(Error::Limit("the query ran out of time".into()));
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(batch))) => {
                self.rows += batch.num_rows() as u64;
                if let Some(max) = self.max_rows
                    && self.rows > max
                {
                    return self.fail(Error::Limit(format!("the result has more than {max} rows")));
                }
                Poll::Ready(Some(Ok(batch)))
            }
            Poll::Ready(Some(Err(e))) => self.fail(Error::from_datafusion(e)),
            Poll::Ready(None) => match self.finish(Outcome::Completed, None) {
                Ok(()) => Poll::Ready(None),
                Err(e) => Poll::Ready(Some(Err(e))),
            },
        }
    }
}

impl Drop for QueryStream {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.finish(Outcome::Cancelled, None);
        }
    }
}
