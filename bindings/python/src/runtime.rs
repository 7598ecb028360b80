//! The one tokio runtime every query of the process runs on, and how Python waits for it: with
//! the GIL released, so other Python threads run, and looking at Python's signals every few
//! milliseconds, so Ctrl-C cancels the query.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::error::LienthongError;

/// How often a waiting query looks for a pending KeyboardInterrupt.
const SIGNAL_POLL: Duration = Duration::from_millis(20);

/// The process's runtime (one worker per core), made on first use.
pub(crate) fn runtime() -> PyResult<&'static Runtime> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("lienthong")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| LienthongError::new_err(format!("cannot start the query runtime: {e}")))
}

/// Runs `future` to its end on the runtime with the GIL released.
///
/// A signal handler that raises (Ctrl-C: `KeyboardInterrupt`) cancels it: the future is dropped
/// on the runtime (a query's stream records its cancellation in the audit) before the exception
/// reaches Python. Signals are only seen on Python's main thread; elsewhere the wait simply ends
/// with the future.
pub(crate) fn wait<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = runtime()?;
    let mut task = runtime.spawn(future);
    loop {
        let finished = py.detach(|| runtime.block_on(async { tokio::time::timeout(SIGNAL_POLL, &mut task).await }));
        match finished {
            Ok(Ok(output)) => return Ok(output),
            Ok(Err(join)) => return Err(LienthongError::new_err(format!("the query task failed: {join}"))),
            Err(_still_running) => {
                if let Err(interrupt) = py.check_signals() {
                    task.abort();
                    // The abort drops the future on a worker; wait for it so that the
                    // cancellation is audited before Python sees the interrupt.
                    let _ = py.detach(|| runtime.block_on(&mut task));
                    return Err(interrupt);
                }
            }
        }
    }
}
