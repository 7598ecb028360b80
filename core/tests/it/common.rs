//! Shared fixtures: the demo data generated once per test run, and catalogs opened on it with a
//! fixed day, a known pseudonym secret and an audit log of the test's own.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::NaiveDate;
use lienthong::datafusion::arrow::array::RecordBatch;
use lienthong::datafusion::arrow::util::pretty::pretty_format_batches;
use lienthong::mask::PseudonymSecret;
use lienthong::{Catalog, OpenOptions, Session};

/// Citizens in the shared demo data: enough for every scenario to find rows, small enough to be quick.
pub const CITIZENS: u64 = 4_000;

/// The secret the fixtures open catalogs with.
pub const SECRET: &str = "test secret: not for production use";

/// The directory holding the generated demo data (made once).
pub fn demo_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| generate(CITIZENS))
}

/// Demo data large enough for several row groups and pages per file (made once).
pub fn large_demo_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| generate(100_000))
}

fn generate(citizens: u64) -> PathBuf {
    {
        let dir = tempfile::Builder::new()
            .prefix("lienthong-it-")
            .tempdir()
            .unwrap()
            .keep();
        let config = lienthong_synth::Config {
            out: dir.clone(),
            citizens,
            seed: lienthong_synth::DEFAULT_SEED,
        };
        lienthong_synth::generate(&config, &lienthong_synth::NoProgress).unwrap();
        dir
    }
}

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// A catalog over `catalog_file` with its own audit log (returned too).
pub fn open(catalog_file: &Path) -> (Catalog, PathBuf) {
    let audit = tempfile::tempdir().unwrap().keep().join("audit.jsonl");
    open_at(catalog_file, &audit)
}

/// The demo catalog writing to the audit log at `audit`.
pub fn open_with_audit(audit: &Path) -> (Catalog, PathBuf) {
    open_at(&demo_dir().join(lienthong_synth::CATALOG_FILE), audit)
}

/// The demo catalog writing to the audit log at `audit`, or why it could not be opened.
pub fn try_open_with_audit(audit: &Path) -> Result<Catalog, String> {
    try_open_at(&demo_dir().join(lienthong_synth::CATALOG_FILE), audit)
}

fn try_open_at(catalog_file: &Path, audit: &Path) -> Result<Catalog, String> {
    Catalog::open_with(
        catalog_file,
        OpenOptions {
            audit_path: Some(audit.to_owned()),
            pseudonym_secret: Some(PseudonymSecret::new(SECRET).unwrap()),
            today: Some(today()),
            ..OpenOptions::default()
        },
    )
    .map_err(|e| e.to_string())
}

fn open_at(catalog_file: &Path, audit: &Path) -> (Catalog, PathBuf) {
    (try_open_at(catalog_file, audit).unwrap(), audit.to_owned())
}

/// The demo catalog, with its own audit log.
pub fn demo() -> (Catalog, PathBuf) {
    open(&demo_dir().join(lienthong_synth::CATALOG_FILE))
}

/// A session of a demo principal with its purpose from the demo table.
pub fn as_(catalog: &Catalog, principal: &str) -> Session {
    let purpose = match principal {
        "ward-officer" => Some("tthc"),
        "business-registrar" => Some("business-registration"),
        "inspector" => Some("inspection"),
        "statistician" => Some("statistics"),
        "land-officer" => Some("land-management"),
        "population-owner" => Some("data-stewardship"),
        _ => None,
    };
    catalog.session(principal, purpose).unwrap()
}

/// Runs `sql` and returns the batches, or the error's text.
pub async fn run(session: &Session, sql: &str) -> Result<Vec<RecordBatch>, String> {
    match session.sql(sql).await {
        Ok(stream) => stream.collect().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Rows as sorted text lines (order-insensitive comparison).
pub fn lines(batches: &[RecordBatch]) -> Vec<String> {
    let text = pretty_format_batches(batches).unwrap().to_string();
    let mut rows: Vec<String> = text
        .lines()
        .skip(3)
        .filter(|l| !l.starts_with('+'))
        .map(str::to_owned)
        .collect();
    rows.sort();
    rows
}

pub fn row_count(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// The demo catalog changed by `edit`, written beside the demo data as `<name>.yaml` (so that its
/// relative source paths hold) and opened with its own audit log.
pub fn variant(name: &str, edit: impl FnOnce(&mut lienthong::spec::Catalog)) -> Catalog {
    let file = demo_dir().join(lienthong_synth::CATALOG_FILE);
    let mut spec = lienthong::spec::load(&file).unwrap().catalog;
    edit(&mut spec);
    let path = demo_dir().join(format!("{name}.yaml"));
    // Written aside and renamed: tests running at once may make the same variant.
    let aside = tempfile::NamedTempFile::new_in(demo_dir()).unwrap();
    std::fs::write(aside.path(), lienthong::spec::to_yaml(&spec, &[])).unwrap();
    aside.persist(&path).unwrap();
    open(&path).0
}

/// The values of a one-column query, as `principal` of the demo catalog sees them.
pub async fn values(principal: &str, sql: &str) -> Vec<String> {
    let (catalog, _) = demo();
    let batches = run(&as_(&catalog, principal), sql).await.unwrap();
    lines(&batches)
        .iter()
        .map(|l| l.trim_matches(|c| c == '|' || c == ' ').to_owned())
        .collect()
}

/// Citizen IDs of the demo data, in order (the owner's read).
pub async fn citizen_ids(n: usize) -> Vec<String> {
    values(
        "population-owner",
        &format!("SELECT citizen_id FROM population.citizens ORDER BY citizen_id LIMIT {n}"),
    )
    .await
}

/// The table `database.table` of a catalog, to change.
pub fn table_mut<'a>(spec: &'a mut lienthong::spec::Catalog, table: &str) -> &'a mut lienthong::spec::Table {
    let (database, table) = table.split_once('.').unwrap();
    spec.databases.get_mut(database).unwrap().tables.get_mut(table).unwrap()
}
