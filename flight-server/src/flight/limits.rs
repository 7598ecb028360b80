//! The server's limits on running queries: how many at once (in total and per principal), how
//! long a result may sit unread, and what happens when the client goes away or the server stops.
//!
//! Each running query is a task that pulls batches from the core's [`lienthong::QueryStream`] and
//! hands them to the gRPC response through a small channel. When the client stops reading for
//! the idle timeout, disconnects, or the server cancels everything at shutdown, the task drops the
//! query stream: the core cancels the query and audits it as cancelled.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::RecordBatch;
use futures::{Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tonic::Status;

/// Slots for running queries.
#[derive(Debug)]
pub struct Slots {
    total: Arc<Semaphore>,
    per_principal: usize,
    principals: Mutex<HashMap<String, Arc<Semaphore>>>,
    queue_timeout: Duration,
}

/// A query's hold on its slots; released when dropped.
#[derive(Debug)]
pub struct Permit {
    _total: OwnedSemaphorePermit,
    _principal: OwnedSemaphorePermit,
}

impl Slots {
    /// `total` queries at once, `per_principal` for one principal; a query waits at most
    /// `queue_timeout` for its slot.
    pub fn new(total: usize, per_principal: usize, queue_timeout: Duration) -> Self {
        Self {
            total: Arc::new(Semaphore::new(total)),
            per_principal,
            principals: Mutex::new(HashMap::new()),
            queue_timeout,
        }
    }

    /// Waits for a slot for `principal`; refuses with `resource_exhausted` after the queue timeout.
    pub async fn acquire(&self, principal: &str) -> Result<Permit, Status> {
        let own = {
            let mut principals = self
                .principals
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(
                principals
                    .entry(principal.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_principal))),
            )
        };
        let busy = || Status::resource_exhausted("too many queries running; try again later");
        let wait = async {
            let principal = own.acquire_owned().await.map_err(|_| busy())?;
            let total = Arc::clone(&self.total).acquire_owned().await.map_err(|_| busy())?;
            Ok::<_, Status>(Permit {
                _total: total,
                _principal: principal,
            })
        };
        tokio::time::timeout(self.queue_timeout, wait)
            .await
            .map_err(|_| busy())?
    }
}

/// Requests per minute for each principal: a token bucket per principal (bursts up to a minute's
/// worth), stricter for `public`, whose callers are anonymous and share one bucket.
#[derive(Debug)]
pub struct RateLimit {
    per_minute: u32,
    public_per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: std::time::Instant,
}

impl RateLimit {
    /// `per_minute` requests a minute for each principal, `public_per_minute` for `public`
    /// (0: no limit).
    pub fn new(per_minute: u32, public_per_minute: u32) -> Self {
        Self {
            per_minute,
            public_per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `principal`'s budget, or refuses with `resource_exhausted`.
    pub fn admit(&self, principal: &str) -> Result<(), Status> {
        let limit = if principal == lienthong::spec::PUBLIC_PRINCIPAL {
            self.public_per_minute
        } else {
            self.per_minute
        };
        if limit == 0 {
            return Ok(());
        }
        let capacity = f64::from(limit);
        let now = std::time::Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(principal.to_owned()).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * capacity / 60.0;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.last = now;
        if bucket.tokens < 1.0 {
            return Err(Status::resource_exhausted(format!(
                "more than {limit} requests a minute; try again later"
            )));
        }
        bucket.tokens -= 1.0;
        Ok(())
    }
}

/// Runs `query` in its own task under `permit`, and returns the stream the response reads.
///
/// The task stops (dropping `query`, which cancels it) when the reader has not taken a batch for
/// `idle`, when the reader is gone (also while the first batch is still being computed), or when
/// `cancel` turns true. A stream whose query stopped
/// before its end ends with an `aborted` error, so an incomplete result never looks complete.
pub fn run<S>(
    query: S,
    permit: Permit,
    idle: Duration,
    mut cancel: watch::Receiver<bool>,
) -> impl Stream<Item = Result<RecordBatch, Status>> + Send + 'static
where
    S: Stream<Item = Result<RecordBatch, Status>> + Send + Unpin + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Result<RecordBatch, Status>>(2);
    let finished = Arc::new(AtomicBool::new(false));
    let complete = Arc::clone(&finished);
    tokio::spawn(async move {
        let _permit = permit;
        let mut query = query;
        loop {
            let next = tokio::select! {
                next = query.next() => next,
                _ = cancel.wait_for(|stop| *stop) => {
                    tracing::info!("server shutting down: query cancelled");
                    break;
                }
                () = tx.closed() => {
                    tracing::info!("client gone: query cancelled");
                    break;
                }
            };
            let Some(item) = next else {
                complete.store(true, Ordering::Release);
                break;
            };
            let failed = item.is_err();
            match tokio::time::timeout(idle, tx.send(item)).await {
                Ok(Ok(())) if !failed => {}
                Ok(Ok(())) | Ok(Err(_)) => break,
                Err(_) => {
                    tracing::info!("result not read for {idle:?}: query cancelled");
                    break;
                }
            }
        }
        drop(query);
    });
    let mut told = false;
    futures::stream::poll_fn(move |cx| match rx.poll_recv(cx) {
        std::task::Poll::Ready(None) if !finished.load(Ordering::Acquire) && !told => {
            // The query stopped before its end: never let the client take this for a whole result.
            told = true;
            std::task::Poll::Ready(Some(Err(Status::aborted(
                "the query was cancelled (server shutdown or idle stream); the result is incomplete",
            ))))
        }
        other => other,
    })
}
