//! How long the synthetic data takes to generate, against a baseline in the same run: reading
//! the Parquet files it wrote and writing the same record batches again with the same writer
//! settings (the least any generator of these files must spend).
//!
//! `cargo bench -p lienthong-benches --bench generate` (1 M citizens; set
//! `LIENTHONG_BENCH_CITIZENS` for another size).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::fs::File;
use std::path::Path;

use lienthong_benches::{best_of, env_u64};
use lienthong_synth::{Config, NoProgress, generate};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::{FileReader, SerializedFileReader};

/// Reads every Parquet file under `dir` and writes it again, with the writer properties of the
/// original's first row group (compression, statistics) reconstructed as the generator sets them.
fn rewrite_parquet(dir: &Path, out: &Path) -> u64 {
    let mut rows = 0;
    for sub in ["reference", "population", "land"] {
        std::fs::create_dir_all(out.join(sub)).unwrap();
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
            let schema = reader.schema().clone();
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .set_statistics_enabled(parquet::file::properties::EnabledStatistics::Page)
                .set_max_row_group_row_count(Some(64 * 1024))
                .set_data_page_row_count_limit(8 * 1024)
                .build();
            let target = out.join(sub).join(path.file_name().unwrap());
            let mut writer = ArrowWriter::try_new(File::create(&target).unwrap(), schema, Some(props)).unwrap();
            for batch in reader.build().unwrap() {
                let batch = batch.unwrap();
                rows += batch.num_rows() as u64;
                writer.write(&batch).unwrap();
            }
            writer.close().unwrap();
        }
    }
    rows
}

fn main() {
    let citizens = env_u64("LIENTHONG_BENCH_CITIZENS", 1_000_000);
    let runs = env_u64("LIENTHONG_BENCH_RUNS", 3) as usize;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = Config {
        out: data.clone(),
        citizens,
        seed: lienthong_synth::DEFAULT_SEED,
    };
    let (generated, summary) = best_of(runs, || generate(&config, &NoProgress).unwrap());
    let (copied, parquet_rows) = best_of(runs, || rewrite_parquet(&data, &tmp.path().join("copy")));
    let rows: u64 = summary.tables.iter().map(|t| t.rows).sum();
    let size: u64 = summary
        .tables
        .iter()
        .map(|t| t.path.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let citizens_file = data.join("population/citizens.parquet");
    let row_groups = SerializedFileReader::new(File::open(&citizens_file).unwrap())
        .unwrap()
        .metadata()
        .num_row_groups();
    println!(
        "generate: {citizens} citizens, {rows} rows in {} tables, {:.0} MB on disk",
        summary.tables.len(),
        size as f64 / 1e6
    );
    println!(
        "  generate (best of {runs}):                 {:>8.2} s  ({:.2} M rows/s)",
        generated.as_secs_f64(),
        rows as f64 / generated.as_secs_f64() / 1e6
    );
    println!(
        "  baseline: re-read + re-write the Parquet: {:>8.2} s  ({parquet_rows} rows)",
        copied.as_secs_f64()
    );
    println!(
        "  ratio generate / baseline:                {:>8.2}",
        generated.as_secs_f64() / copied.as_secs_f64()
    );
    println!("  citizens.parquet row groups:              {row_groups:>8}");
}
