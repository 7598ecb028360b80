//! A session: one principal, one purpose, the caller's own catalog, and the path of each query
//! (parse, refuse what is not a read, plan over governed tables, enforce aggregate-only, optimize,
//! check that the policy survived, audit, run within limits).

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::execution::context::{SQLOptions, SessionState};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::optimizer::Optimizer;
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::scalar::ScalarValue;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;
use lienthong_spec::PUBLIC_PRINCIPAL;

use crate::aggregate;
use crate::audit::{Event, MAX_LITERALS, Outcome, Via};
use crate::barrier::{GovernedQueryPlanner, count_barrier_execs};
use crate::catalog::Inner;
use crate::check::verify;
use crate::error::{Error, Result};
pub use crate::planned::PlannedQuery;
use crate::planned::{Planned, explain_schema, plan_constants, remote_calls_planned};
use crate::policy::{self, Caller as PolicyCaller};
use crate::redact::{literal_digest, redact_sql};
pub use crate::stream::QueryStream;
use crate::unsupported;
use crate::visible::{Accesses, Caller, VisibleCatalog};

/// The schema name unqualified table names would resolve to; it never exists, so unqualified
/// names are not guessed.
const NO_DEFAULT_SCHEMA: &str = "__no_default_schema__";

/// What binds the row filters of grants (SQL text into expressions) for every session: the
/// engine's functions, no tables, never executed; built once, read only.
static BINDER: LazyLock<Arc<SessionState>> =
    LazyLock::new(|| Arc::new(SessionStateBuilder::new().with_default_features().build()));

/// A principal acting for a purpose. Create with [`crate::Catalog::session`].
pub struct Session {
    inner: Arc<Inner>,
    principal: String,
    purpose: Option<String>,
    agency: String,
    /// The principal as declared here, or as a peer asserts it.
    declared: Option<lienthong_spec::Principal>,
    /// The peer node a remote caller arrived through.
    via: Option<Via>,
    accesses: Arc<Accesses>,
    /// The volume quotas that hold for this caller and purpose.
    quotas: Vec<crate::quota::Applied>,
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

impl Session {
    /// A session for one of the catalog's own principals (or `public`).
    pub(crate) fn new(inner: Arc<Inner>, principal: &str, purpose: Option<&str>) -> Self {
        let declared = inner
            .spec
            .principals
            .get(principal)
            .filter(|_| principal != PUBLIC_PRINCIPAL)
            .cloned();
        Self::for_identity(inner, principal, purpose, declared, None)
    }

    /// A session for a caller another node asserts (see [`crate::node`]).
    pub(crate) fn remote(inner: Arc<Inner>, call: &crate::node::Call) -> Result<Self> {
        let agency = lienthong_spec::AgencyCode::parse(&call.caller.agency).map_err(Error::Denied)?;
        let asserted = lienthong_spec::Principal {
            agency,
            roles: call.caller.roles.clone(),
            attributes: call.caller.attributes.clone(),
            credential: None,
            certificates: Vec::new(),
            description: None,
        };
        let via = Via {
            node: call.peer.clone(),
            correlation_id: call.correlation_id.clone(),
        };
        Ok(Self::for_identity(
            inner,
            &call.caller.principal,
            Some(call.purpose.as_str()).filter(|p| !p.is_empty()),
            Some(asserted),
            Some(via),
        ))
    }

    fn for_identity(
        inner: Arc<Inner>,
        principal: &str,
        purpose: Option<&str>,
        declared: Option<lienthong_spec::Principal>,
        via: Option<Via>,
    ) -> Self {
        let spec = &inner.spec;
        let caller = PolicyCaller {
            id: principal,
            principal: declared.as_ref(),
            purpose,
            via: via.as_ref().map(|v| v.node.as_str()),
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
        let agency = declared
            .as_ref()
            .map(|p| p.agency.as_str().to_owned())
            .unwrap_or_default();
        let accesses = Arc::new(accesses);
        let quotas = crate::quota::for_caller(spec, &caller, &agency);
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_create_default_catalog_and_schema(false)
            .with_default_catalog_and_schema(&spec.node.name, NO_DEFAULT_SCHEMA);
        let mut runtime = RuntimeEnvBuilder::from_runtime_env(&inner.runtime);
        if let Some(bytes) = inner.limits.memory_bytes {
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
        }
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime.build_arc().unwrap_or_default())
            .with_default_features()
            // Not `aggregate_statistics`: it answers an aggregate from its input's statistics and
            // drops the input, barriers included (a count over a derived aggregate then failed
            // the barrier check, closed); behind a barrier there are no statistics to use anyway.
            .with_physical_optimizer_rules(
                PhysicalOptimizer::new()
                    .rules
                    .into_iter()
                    .filter(|r| r.name() != "aggregate_statistics")
                    .collect(),
            )
            .with_query_planner(Arc::new(GovernedQueryPlanner));
        // The default rules, with conditions holding a subquery lifted back above the barriers
        // right after the filter pushdown (`barrier::LiftSubqueryConditions`); without the
        // pushdown at all when the catalog is opened with `no_pushdown`.
        let mut rules = Vec::new();
        for rule in Optimizer::new().rules {
            let pushdown = rule.name() == "push_down_filter";
            if !(pushdown && inner.no_pushdown) {
                rules.push(rule);
            }
            if pushdown {
                rules.push(Arc::new(crate::barrier::LiftSubqueryConditions) as _);
            }
        }
        state = state.with_optimizer_rules(rules);
        let state = state.build();
        let ctx = SessionContext::new_with_state(state);
        let binder = Arc::clone(&BINDER);
        let visible = VisibleCatalog::new(
            Arc::clone(&inner),
            Arc::new(Caller {
                agency: agency.clone(),
                attributes: declared.as_ref().map(|p| p.attributes.clone()).unwrap_or_default(),
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
            declared,
            via,
            accesses,
            quotas,
            ctx,
        }
    }

    /// The principal's id.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The purpose the session acts for (`None` only for `public`).
    pub fn purpose(&self) -> Option<&str> {
        self.purpose.as_deref()
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

    /// Every limit of the volume quotas that hold for this caller and purpose, with what is used
    /// and left today and this month (per-query limits show their limit as what is left).
    ///
    /// ```no_run
    /// # fn demo(session: &lienthong::Session) -> lienthong::Result<()> {
    /// for limit in session.quotas()? {
    ///     println!("{} {} per {}: {} left", limit.quota, limit.unit, limit.window, limit.remaining);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn quotas(&self) -> Result<Vec<crate::quota::QuotaStatus>> {
        self.inner.quotas.status(&self.quotas, self.today())
    }

    /// The day grants and quotas are counted on.
    fn today(&self) -> chrono::NaiveDate {
        self.inner.today.unwrap_or_else(today_utc)
    }

    /// The columns and types of `database.table` as this caller sees them (granted columns, masked
    /// types). A hidden table and a missing one give the same error.
    pub async fn table_schema(&self, table: &str) -> Result<SchemaRef> {
        let not_found = || Error::Query(format!("table '{table}' not found"));
        let (database, name) = table.split_once('.').ok_or_else(not_found)?;
        if self.access(table).is_none() {
            return Err(not_found());
        }
        let reference = datafusion::common::TableReference::full(self.inner.spec.node.name.as_str(), database, name);
        let provider = self
            .ctx
            .table_provider(reference)
            .await
            .map_err(Error::from_datafusion)?;
        // Nullable like every result (see `stream::nullable`): a read of the table streams this.
        Ok(crate::stream::nullable(&provider.schema()))
    }

    /// Runs a read-only query and streams its results. `EXPLAIN <query>` returns the governed plan.
    ///
    /// The query is audited before any result is returned; a failure to audit fails the query.
    pub async fn sql(&self, sql: &str) -> Result<QueryStream> {
        self.query(sql, &[]).await
    }

    /// Runs a read-only query with positional parameters (`$1`, `$2`, …) and streams its results.
    ///
    /// Parameters are values, never SQL: each replaces its placeholder in the plan. The audit
    /// keeps a keyed digest of each value, as it does for literals.
    ///
    /// ```no_run
    /// # async fn demo(session: &lienthong::Session) -> lienthong::Result<()> {
    /// use lienthong::datafusion::scalar::ScalarValue;
    /// let rows = session
    ///     .query(
    ///         "SELECT full_name FROM population.citizens WHERE citizen_id = $1",
    ///         &[ScalarValue::from("001085012345")],
    ///     )
    ///     .await?
    ///     .collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn query(&self, sql: &str, params: &[ScalarValue]) -> Result<QueryStream> {
        self.plan(sql, params).await?.run()
    }

    /// Plans and governs a query with its parameters without running it: every check
    /// [`Session::query`] makes, with refusals audited. The query runs, once, with
    /// [`PlannedQuery::run`], which writes the audit record first (a server plans when a client
    /// asks what a query returns, and runs that plan when it fetches the results).
    pub async fn plan(&self, sql: &str, params: &[ScalarValue]) -> Result<PlannedQuery> {
        let started = Instant::now();
        let mut event = self.event("query", sql, params);
        if event.literal_digests.len() > MAX_LITERALS {
            return Err(self.refused(event, too_many_values(), started));
        }
        let calls = self.remote_calls(&event.query_id);
        let (planned, explain) = match caught(self.plan_sql(sql, params, &calls)).await {
            Ok(planned) => planned,
            Err(error) => return Err(self.refused(event, error, started)),
        };
        // A value computed in the query ('0010' || '50284247') is a literal once folded.
        let key = self.inner.audit_key();
        for constant in plan_constants(&planned.logical) {
            let digest = literal_digest(&key, &constant);
            if !event.literal_digests.contains(&digest) {
                event.literal_digests.push(digest);
            }
        }
        if event.literal_digests.len() > MAX_LITERALS {
            return Err(self.refused(event, too_many_values(), started));
        }
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
        event.remote_calls = remote_calls_planned(&planned.logical);
        Ok(PlannedQuery {
            inner: Arc::clone(&self.inner),
            task: self.ctx.task_ctx(),
            quotas: crate::quota::for_query(&self.quotas, &event.tables),
            today: self.today(),
            event,
            planned,
            explain,
            calls,
        })
    }

    /// What a query would return and which parameters it takes, without running it (for clients
    /// that ask before they fetch, such as Flight SQL's prepared statements).
    ///
    /// Refusals are audited as [`Session::query`] audits them; an accepted description reads no
    /// data and is not.
    pub async fn describe(&self, sql: &str) -> Result<Described> {
        let started = Instant::now();
        let outcome = caught(async {
            let (plan, explain) = self.logical_plan(&self.ctx.state(), sql).await?;
            let schema = if explain {
                explain_schema()
            } else {
                crate::stream::nullable(&Arc::new(plan.schema().as_arrow().clone()))
            };
            let mut parameters: Vec<(usize, Option<DataType>)> = plan
                .get_parameter_types()
                .map_err(Error::from_datafusion)?
                .into_iter()
                .map(|(id, ty)| (placeholder_position(&id).unwrap_or(usize::MAX), ty))
                .collect();
            parameters.sort_by_key(|(n, _)| *n);
            if parameters.iter().enumerate().any(|(i, (n, _))| *n != i + 1) {
                return Err(Error::Query(
                    "parameters must be numbered $1, $2, … without gaps".into(),
                ));
            }
            Ok(Described {
                schema,
                parameters: parameters.into_iter().map(|(_, ty)| ty).collect(),
            })
        })
        .await;
        outcome.map_err(|error| self.refused(self.event("query", sql, &[]), error, started))
    }

    /// Refuses the session with `message`, audited.
    pub(crate) fn deny(&self, message: &str) -> Error {
        let mut event = self.event("session", "", &[]);
        event.sql = None;
        self.refused(event, Error::Denied(message.into()), Instant::now())
    }

    /// Audits a refused or failed plan and gives the error back (or the audit's, if that failed).
    fn refused(&self, event: Event, error: Error, started: Instant) -> Error {
        refused(&self.inner, event, error, started)
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

    /// Parses, refuses what is not a read, and plans over the caller's governed tables.
    async fn logical_plan(&self, state: &SessionState, sql: &str) -> Result<(LogicalPlan, bool)> {
        unsupported::refuse_text(sql)?;
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
        unsupported::refuse(&plan, &self.inner.spec.node.name)?;
        // Types are coerced before the aggregate-only check: an implicit cast can fail as a
        // written one can.
        let plan = state
            .analyzer()
            .execute_and_check(plan, state.config_options(), |_, _| {})
            .map_err(Error::from_datafusion)?;
        let plan = aggregate::enforce(plan)?;
        crate::lookup::enforce(&plan)?;
        Ok((plan, explain))
    }

    /// What sub-queries of query `query_id` tell the nodes they are sent to.
    fn remote_calls(&self, query_id: &str) -> Arc<crate::remote::Calls> {
        Arc::new(crate::remote::Calls {
            inner: Arc::clone(&self.inner),
            principal: self.principal.clone(),
            // The anonymous caller (open tables only) is vouched for by this node's agency.
            agency: if self.agency.is_empty() {
                self.inner.spec.node.agency.as_str().to_owned()
            } else {
                self.agency.clone()
            },
            roles: self.declared.as_ref().map(|p| p.roles.clone()).unwrap_or_default(),
            attributes: self.declared.as_ref().map(|p| p.attributes.clone()).unwrap_or_default(),
            purpose: self.purpose.clone().unwrap_or_default(),
            correlation_id: format!("{}/{query_id}", self.inner.spec.node.name),
            log: Arc::default(),
        })
    }

    async fn plan_sql(
        &self,
        sql: &str,
        params: &[ScalarValue],
        calls: &Arc<crate::remote::Calls>,
    ) -> Result<(Planned, bool)> {
        let state = self.ctx.state();
        let (plan, explain) = self.logical_plan(&state, sql).await?;
        let placeholders = plan.get_parameter_names().map_err(Error::from_datafusion)?;
        if placeholders.len() != params.len() {
            return Err(Error::Query(format!(
                "the query takes {} parameter(s), {} given",
                placeholders.len(),
                params.len()
            )));
        }
        let plan = if params.is_empty() {
            plan
        } else {
            plan.with_param_values(params.to_vec())
                .map_err(Error::from_datafusion)?
        };
        // The keys a query names count only against keys quotas: not collected without one.
        let keys = if self.quotas.iter().any(crate::quota::Applied::counts_keys) {
            crate::lookup::named_keys(&plan)?
        } else {
            Vec::new()
        };
        let optimized = state.optimize(&plan).map_err(Error::from_datafusion)?;
        let verified = verify(&optimized)?;
        let optimized = crate::remote::federate(optimized, calls, &state)?;
        let physical = physical_plan(&state, &optimized).await?;
        if count_barrier_execs(&physical) != verified.barriers.len() {
            return Err(Error::Internal("the physical plan lost a policy barrier".into()));
        }
        Ok((
            Planned {
                plan: physical,
                logical: optimized,
                verified,
                keys,
            },
            explain,
        ))
    }

    fn event(&self, kind: &str, sql: &str, params: &[ScalarValue]) -> Event {
        let key = self.inner.audit_key();
        let (sql, mut literal_digests) = redact_sql(sql, &key);
        literal_digests.extend(
            params
                .iter()
                .filter(|p| !p.is_null())
                .map(|p| literal_digest(&key, &p.to_string())),
        );
        let mut seen = std::collections::HashSet::new();
        literal_digests.retain(|d| seen.insert(d.clone()));
        Event {
            kind: kind.into(),
            query_id: query_id(),
            time: now_rfc3339(),
            node: self.inner.spec.node.name.clone(),
            principal: self.principal.clone(),
            agency: self.agency.clone(),
            purpose: self.purpose.clone(),
            via: self.via.clone(),
            sql: Some(sql),
            literal_digests,
            ..Event::default()
        }
    }
}

/// Audits a refused or failed query (`event`) and gives the error back (or the audit's, if that
/// failed).
pub(crate) fn refused(inner: &Inner, mut event: Event, error: Error, started: Instant) -> Error {
    event.outcome = Some(if matches!(error, Error::Denied(_) | Error::Quota(_)) {
        Outcome::Denied
    } else {
        Outcome::Failed
    });
    event.error = Some(error.to_string());
    event.duration_ms = Some(elapsed_ms(started));
    match inner.audit.append(&event) {
        Ok(()) => error,
        Err(audit) => audit,
    }
}

fn too_many_values() -> Error {
    Error::Query(format!(
        "a query may name at most {MAX_LITERALS} distinct values (each is traced in the audit); split it"
    ))
}

/// Runs `planning` on a stack of its own, turning a panic into an error that says nothing of the panic (whose text can
/// hold values); the node's log gets the panic through the panic hook.
async fn caught<T>(planning: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    use futures::FutureExt;
    unsupported::on_own_stack(std::panic::AssertUnwindSafe(planning).catch_unwind())
        .await
        .unwrap_or_else(|_| {
            tracing::error!("a query panicked while being planned");
            Err(Error::Internal(unsupported::PANIC_MESSAGE.into()))
        })
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

/// What [`Session::describe`] says of a query.
#[derive(Debug, Clone)]
pub struct Described {
    /// The schema of the results.
    pub schema: SchemaRef,
    /// The type of each parameter `$1`, `$2`, … where the query determines it.
    pub parameters: Vec<Option<DataType>>,
}

/// `$3` → 3.
fn placeholder_position(id: &str) -> Option<usize> {
    id.strip_prefix('$')?.parse().ok()
}

pub(crate) fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn today_utc() -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp(unix_seconds(), 0)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

pub(crate) fn unix_seconds() -> i64 {
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
