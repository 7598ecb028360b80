//! The results of a query as they are produced: per-query limits (rows, time), the completion
//! record written when the stream ends, fails or is dropped.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricValue;
use futures::{Stream, StreamExt};

use crate::audit::{Event, Outcome};
use crate::catalog::Inner;
use crate::error::{Error, Result};
use crate::session::{elapsed_ms, now_rfc3339};

/// `schema` with every field nullable. The schema of a result is announced before it runs (Flight
/// SQL's GetFlightInfo, prepared statements) from the logical plan, whose nullability can differ
/// from the batches' (outer joins, scalar subqueries, groups suppressed under a subquery); clients
/// such as the ADBC driver reject a batch that does not match. A nullable column is always right.
pub(crate) fn nullable(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

/// What a caller reads when a query over an aggregate-only table fails while running.
const GENERIC_AGGREGATE_ERROR: &str =
    "the query failed while reading an aggregate-only table (the cause is not shown: it could describe one row)";

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
    pub(crate) plan: Option<Arc<dyn ExecutionPlan>>,
    /// Set when the query aggregates an aggregate-only table: an error raised while running could
    /// describe one of its rows (a value that failed to convert), so the caller gets one generic
    /// message instead (the audit keeps that too).
    pub(crate) generic_errors: bool,
    /// The sub-queries sent to other nodes, for the completion record.
    pub(crate) remote_log: Option<Arc<std::sync::Mutex<Vec<crate::audit::RemoteCall>>>>,
    /// Set when a row quota counts the query: its results are held until the end and released
    /// once they are charged.
    pub(crate) row_quota: Option<RowQuota>,
}

/// The rows a query may still return under its quotas, and the results held until they are
/// charged.
pub(crate) struct RowQuota {
    pub book: Arc<crate::quota::QuotaBook>,
    pub applied: Vec<crate::quota::Applied>,
    /// Most rows the query may return.
    pub allowance: u64,
    /// The limit that sets `allowance`, for the error.
    pub why: String,
    pub day: chrono::NaiveDate,
    pub held: std::collections::VecDeque<RecordBatch>,
    /// Charged: the held batches are being released.
    pub releasing: bool,
    /// The result outgrew what is held back: each batch is charged as it goes.
    pub streaming: bool,
}

impl std::fmt::Debug for QueryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryStream")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl QueryStream {
    pub(crate) fn new(
        inner: SendableRecordBatchStream,
        catalog: &Arc<Inner>,
        mut event: Event,
        started: Instant,
    ) -> Self {
        event.kind = "completion".into();
        event.sql = None;
        event.literal_digests.clear();
        event.quotas.clear();
        Self {
            schema: nullable(&inner.schema()),
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
            generic_errors: false,
            remote_log: None,
            row_quota: None,
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

    /// The tables the query reads, as `database.table`.
    pub fn tables(&self) -> &[String] {
        &self.event.tables
    }

    /// The ids of the grants and tag rules that govern the query (what the audit records).
    pub fn policies(&self) -> &[String] {
        &self.event.policies
    }

    /// The query's id in the audit log.
    pub fn query_id(&self) -> &str {
        &self.event.query_id
    }

    /// Rows returned so far.
    pub fn rows(&self) -> u64 {
        self.rows
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
        if let Some(log) = &self.remote_log {
            self.event.remote_calls = log.lock().map(|l| l.clone()).unwrap_or_default();
        }
        self.event.duration_ms = Some(elapsed_ms(self.started));
        self.event.time = now_rfc3339();
        self.audit.audit.append_unsynced(&self.event)
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<RecordBatch>>> {
        let audited = self.finish(Outcome::Failed, Some(error.to_string()));
        Poll::Ready(Some(Err(audited.err().unwrap_or(error))))
    }
}

impl Stream for QueryStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            if let Some(quota) = self.row_quota.as_mut()
                && quota.releasing
            {
                if let Some(batch) = quota.held.pop_front() {
                    return Poll::Ready(Some(Ok(batch)));
                }
                if !quota.streaming {
                    return self.complete();
                }
            }
            match self.poll_engine(cx) {
                Poll::Ready(Some(Ok(batch))) => {
                    let (rows, size) = (self.rows, batch.num_rows() as u64);
                    let Some(quota) = self.row_quota.as_mut() else {
                        return Poll::Ready(Some(Ok(batch)));
                    };
                    if rows > quota.allowance {
                        let error = Error::Quota(format!(
                            "{}; the result has more rows{}",
                            quota.why,
                            if quota.streaming { "" } else { ", and none was released" }
                        ));
                        return self.fail(error);
                    }
                    if quota.streaming {
                        // Charged before it is released.
                        if let Err(error) = self.charge(size) {
                            return self.fail(error);
                        }
                        return Poll::Ready(Some(Ok(batch)));
                    }
                    quota.held.push_back(batch);
                    if rows > HOLD_ROWS {
                        // Too much to hold: what is held is charged and released, and every
                        // further batch is charged before it goes.
                        quota.streaming = true;
                        quota.releasing = true;
                        if let Err(error) = self.charge(rows) {
                            return self.fail(error);
                        }
                    }
                }
                Poll::Ready(None) => {
                    let rows = self.rows;
                    match self.row_quota.as_mut() {
                        Some(quota) if !quota.streaming => {
                            quota.releasing = true;
                            if let Err(error) = self.charge(rows) {
                                return self.fail(error);
                            }
                        }
                        _ => return self.complete(),
                    }
                }
                other => return other,
            }
        }
    }
}

/// Most rows a query under a row quota holds back until it ends. A larger result is charged and
/// released batch by batch: a query that then goes past the quota fails after what was charged,
/// with an error (never as a complete answer).
const HOLD_ROWS: u64 = 65_536;

impl QueryStream {
    /// Ends the stream as completed (the completion record written).
    fn complete(&mut self) -> Poll<Option<Result<RecordBatch>>> {
        match self.finish(Outcome::Completed, None) {
            Ok(()) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }

    /// Charges `rows` to the query's row quotas, adding them to what its completion records.
    fn charge(&mut self, rows: u64) -> Result<()> {
        let Some(quota) = self.row_quota.as_ref() else {
            return Ok(());
        };
        for used in quota.book.charge_rows(&quota.applied, rows, quota.day)? {
            match self.event.quotas.iter_mut().find(|u| u.quota == used.quota) {
                Some(known) => known.rows = Some(known.rows.unwrap_or(0) + used.rows.unwrap_or(0)),
                None => self.event.quotas.push(used),
            }
        }
        Ok(())
    }

    /// The engine's next batch, within the query's limits, relabelled to the announced schema.
    fn poll_engine(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<RecordBatch>>> {
        if let Some(deadline) = self.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return self.fail(Error::Limit("the query ran out of time".into()));
        }
        // A panic inside the engine (or one of its tasks, re-raised here) fails this query only,
        // with a message that does not carry the panic's text.
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.inner.poll_next_unpin(cx)));
        let Ok(polled) = polled else {
            tracing::error!(query_id = %self.event.query_id, "a query panicked while running");
            return self.fail(Error::Internal(crate::unsupported::PANIC_MESSAGE.into()));
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(batch))) => {
                self.rows += batch.num_rows() as u64;
                if let Some(max) = self.max_rows
                    && self.rows > max
                {
                    return self.fail(Error::Limit(format!("the result has more than {max} rows")));
                }
                // Every result column is announced nullable (see `nullable`): relabel the batch.
                match batch.with_schema(Arc::clone(&self.schema)) {
                    Ok(batch) => Poll::Ready(Some(Ok(batch))),
                    Err(e) => self.fail(Error::Internal(format!(
                        "a batch does not fit the result's schema: {e}"
                    ))),
                }
            }
            Poll::Ready(Some(Err(e))) => {
                let error = match Error::from_datafusion(e) {
                    Error::Query(_) if self.generic_errors => Error::Query(GENERIC_AGGREGATE_ERROR.into()),
                    other => other,
                };
                self.fail(error)
            }
            Poll::Ready(None) => Poll::Ready(None),
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
