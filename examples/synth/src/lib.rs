//! Deterministic synthetic data for the four shared government databases of `domain.md`
//! (population, business registration, land, civil servants), a small `reference` database of
//! code lists, and a demo catalog that describes all of it.
//!
//! Used by `lienthong generate` and `lienthong demo`, by the tests and by the benchmarks. The same
//! seed and size always give the same bytes; the work is spread over all cores. The layout and
//! every column are documented in this crate's `README.md`.
//!
//! ```no_run
//! use lienthong_synth::{Config, NoProgress, generate};
//!
//! let config = Config { out: "demo-data".into(), citizens: 10_000, seed: lienthong_synth::DEFAULT_SEED };
//! let summary = generate(&config, &NoProgress)?;
//! for table in &summary.tables {
//!     println!("{}.{}: {} rows", table.database, table.table, table.rows);
//! }
//! # Ok::<(), lienthong_synth::Error>(())
//! ```

mod business;
mod civil;
pub mod demo_catalog;
pub mod demo_tables;
pub mod federated;
mod inventory;
mod land;
mod names;
mod parquet_out;
mod people;
mod pick;
mod population;
mod reference;
mod reference_out;
mod registries;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use business::is_valid_tax_code;
pub use demo_catalog::{CATALOG_FILE, CREDENTIALS_FILE, DEMO_PRINCIPALS};
pub use inventory::inventory;

/// The seed of the demo data.
pub const DEFAULT_SEED: u64 = 2025;
/// The smallest population the generator accepts.
pub const MIN_CITIZENS: u64 = 1_000;
/// The largest population the generator accepts (the six last digits of a citizen ID must stay
/// unique per birth province, sex and year).
pub const MAX_CITIZENS: u64 = 200_000_000;

/// What to generate, and where.
#[derive(Clone, Debug)]
pub struct Config {
    /// Output directory (created when missing; files of an earlier run are replaced).
    pub out: PathBuf,
    /// Number of citizens; everything else scales from it.
    pub citizens: u64,
    /// Seed of every random choice.
    pub seed: u64,
}

/// Reports the progress of long stages (the command line draws bars from it).
pub trait Progress: Sync {
    /// A new stage named `name` with `total` units of work.
    fn stage(&self, name: &str, total: u64);
    /// `n` more units of the current stage are done.
    fn advance(&self, n: u64);
    /// The current stage is over.
    fn finish_stage(&self);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish_stage(&self) {}
}

/// One table written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSummary {
    /// Database name in the demo catalog.
    pub database: String,
    /// Table name in the demo catalog.
    pub table: String,
    /// Number of rows.
    pub rows: u64,
    /// The file that holds it.
    pub path: PathBuf,
}

/// What a run wrote.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Every table, in catalog order.
    pub tables: Vec<TableSummary>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

/// Why generating (or reading back) the data failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot be generated.
    #[error("{0}")]
    Config(String),
    /// A file could not be written or read.
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A bug in the generator.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn inventory(path: &Path, error: impl std::fmt::Display) -> Self {
        Self::File {
            path: path.to_owned(),
            message: format!("reading the generated data: {error}"),
        }
    }

    fn io(path: &Path, error: std::io::Error) -> Self {
        Self::File {
            path: path.to_owned(),
            message: error.to_string(),
        }
    }
}

/// Generates the data and the demo catalog into `config.out`.
///
/// The catalog is written last, so a directory holding `catalog.yaml` holds complete data.
pub fn generate(config: &Config, progress: &dyn Progress) -> Result<Summary, Error> {
    let started = Instant::now();
    if !(MIN_CITIZENS..=MAX_CITIZENS).contains(&config.citizens) {
        return Err(Error::Config(format!(
            "the number of citizens must be between {MIN_CITIZENS} and {MAX_CITIZENS}, not {}",
            config.citizens
        )));
    }
    let citizens = usize::try_from(config.citizens).map_err(|_| Error::Config("too many citizens".into()))?;
    let (out, seed) = (config.out.as_path(), config.seed);
    let r = reference::Reference::load().map_err(Error::Internal)?;
    for sub in ["reference", "population", "land"] {
        std::fs::create_dir_all(out.join(sub)).map_err(|e| Error::io(&out.join(sub), e))?;
    }
    let catalog = out.join(CATALOG_FILE);
    if catalog.exists() {
        std::fs::remove_file(&catalog).map_err(|e| Error::io(&catalog, e))?;
    }
    reference_out::write(&out.join("reference"), &r)?;

    progress.stage("people", config.citizens);
    let chunks = people::generate(seed, &r, citizens, progress);
    let ids = people::assign_ids(seed, &r, &chunks)?;
    let adults = people::Adults::collect(&r, &chunks);
    progress.finish_stage();
    population::write(&out.join("population"), seed, &r, &chunks, &ids, progress)?;

    let (mut enterprises, mut shares) = business::generate(seed, &r, &adults);
    let agencies = civil::agencies(&r);
    let servants = civil::personnel(seed, &r, &chunks, &adults, &agencies);
    civil::link_conflicts(seed, &r, &agencies, &servants, &mut enterprises, &mut shares);
    let land = land::Inputs {
        seed,
        r: &r,
        chunks: &chunks,
        ids: &ids,
        adults: &adults,
        enterprises: &enterprises,
    };
    land::write(&out.join("land"), &land, progress)?;
    let registries = registries::Registries {
        r: &r,
        ids: &ids,
        enterprises: &enterprises,
        shares: &shares,
        agencies: &agencies,
        servants: &servants,
    };
    registries::write(&out.join(inventory::SQLITE_FILE), &registries, progress)?;

    demo_catalog::write(out, seed).map_err(|e| Error::io(&catalog, e))?;
    Ok(Summary {
        tables: inventory(out)?,
        elapsed: started.elapsed(),
    })
}
