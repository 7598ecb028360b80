//! Progress bars for long jobs, drawn on standard error (and hidden when it is not a terminal).

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shows each stage of a long job as its own progress bar.
pub struct Bars {
    current: Mutex<Option<ProgressBar>>,
    visible: bool,
}

impl Bars {
    /// Bars on standard error; `visible: false` draws nothing (for `--quiet` and tests).
    pub fn new(visible: bool) -> Self {
        Self {
            current: Mutex::new(None),
            visible,
        }
    }

    fn with_current(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        // A poisoned lock only means another thread panicked while drawing; keep drawing.
        let mut guard = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard);
    }
}

impl lienthong_synth::Progress for Bars {
    fn stage(&self, name: &str, total: u64) {
        let target = if self.visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let template = "{prefix:>24.bold} [{bar:32}] {human_pos:>11}/{human_len:<11} {per_sec:>12} {elapsed:>4}";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(name.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        self.with_current(|current| {
            if let Some(previous) = current.replace(bar) {
                previous.finish();
            }
        });
    }

    fn advance(&self, n: u64) {
        self.with_current(|current| {
            if let Some(bar) = current {
                bar.inc(n);
            }
        });
    }

    fn finish_stage(&self) {
        self.with_current(|current| {
            if let Some(bar) = current.take() {
                bar.finish();
            }
        });
    }
}
