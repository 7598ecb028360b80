//! Shared helpers of the lienthong benchmarks (`benches/benches/*.rs`, run with
//! `cargo bench -p lienthong-benches`). Every benchmark reports a ratio against a baseline measured
//! in the same run, never a wall-clock threshold; see `benches/README.md`.

use std::time::{Duration, Instant};

/// Runs `f` `runs` times and returns the fastest time and the last result.
pub fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let value = f();
        best = best.min(started.elapsed());
        last = Some(value);
    }
    match last {
        Some(value) => (best, value),
        None => unreachable!("at least one run"),
    }
}

/// Awaits `f()` `runs` times and returns the fastest time and the last result.
pub async fn best_of_async<T, F, Fut>(runs: usize, mut f: F) -> (Duration, T)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let value = f().await;
        best = best.min(started.elapsed());
        last = Some(value);
    }
    match last {
        Some(value) => (best, value),
        None => unreachable!("at least one run"),
    }
}

/// A positive integer from the environment variable `name`, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// `n` citizen IDs spread evenly over the table, as `session` (one that may read them all) lists
/// them: the keys of the lookup benchmarks.
pub async fn spread_citizen_ids(session: &lienthong::Session, n: usize) -> Vec<String> {
    let batches = match session.sql("SELECT citizen_id FROM population.citizens").await {
        Ok(stream) => stream.collect().await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let all: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            (0..b.num_rows()).filter_map(move |i| {
                lienthong::datafusion::arrow::util::display::array_value_to_string(b.column(0), i).ok()
            })
        })
        .collect();
    let step = (all.len() / n.max(1)).max(1);
    all.into_iter().step_by(step).take(n).collect()
}

/// The `p` quantile (0 to 1) of `times`, in milliseconds (sorts them).
pub fn percentile_ms(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let index = ((times.len().saturating_sub(1)) as f64 * p).round() as usize;
    times.get(index).map_or(0.0, |t| t.as_secs_f64() * 1e3)
}

/// Rows in `batches`.
pub fn rows(batches: &[lienthong::datafusion::arrow::array::RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}
