//! `lienthong generate`: synthetic data and its demo catalog.

use std::path::Path;

use anyhow::Context;
use lienthong_synth::{Config, Summary};

use lienthong_server::progress::Bars;

/// Generates into `out` and prints what was written.
pub fn run(out: &Path, citizens: u64, seed: u64, progress: bool) -> anyhow::Result<Summary> {
    let config = Config {
        out: out.to_owned(),
        citizens,
        seed,
    };
    let summary = lienthong_synth::generate(&config, &Bars::new(progress))
        .with_context(|| format!("generating data into {}", out.display()))?;
    lienthong_server::say!(
        "wrote {} tables for {} citizens (seed {seed}) into {} in {:.1} s",
        summary.tables.len(),
        group(citizens),
        out.display(),
        summary.elapsed.as_secs_f64()
    );
    Ok(summary)
}

/// `1234567` → `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
