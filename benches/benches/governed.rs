//! Governed against ungoverned: the demo workload and a point lookup by citizen ID, run through a
//! lienthong session (policy barrier, masks, checks, audit) and, in the same run, as plain
//! DataFusion over the same Parquet files with the same policy written into the SQL by hand.
//!
//! `cargo bench -p lienthong-benches --bench governed` (1 M citizens; set
//! `LIENTHONG_BENCH_CITIZENS=10000000` for 10 M).

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use lienthong::datafusion::prelude::{ParquetReadOptions, SessionContext};
use lienthong::mask::PseudonymSecret;
use lienthong::{Catalog, OpenOptions};
use lienthong_benches::{best_of_async as best_of, env_u64};
use lienthong_synth::{CATALOG_FILE, Config, NoProgress, generate};

/// One workload query: who, the governed SQL, and the same question asked of the raw files.
struct Case {
    name: &'static str,
    principal: &'static str,
    purpose: &'static str,
    governed: String,
    raw: String,
}

fn cases(citizen: &str) -> Vec<Case> {
    let case = |name, principal, purpose, governed: &str, raw: &str| Case {
        name,
        principal,
        purpose,
        governed: governed.to_owned(),
        raw: raw.to_owned(),
    };
    vec![
        case(
            "paperless (ward officer, 3-way join)",
            "ward-officer",
            "tthc",
            "SELECT c.citizen_id, c.full_name, c.phone, r.parcel_id, p.area_m2 FROM population.citizens c \
             JOIN land.rights r ON r.holder_citizen_id = c.citizen_id JOIN land.parcels p ON p.parcel_id = r.parcel_id",
            "SELECT c.citizen_id, c.full_name, concat(repeat('*', character_length(c.phone) - 3), right(c.phone, 3)) AS phone, \
             r.parcel_id, p.area_m2 FROM (SELECT * FROM citizens WHERE current_ward_code = '00070') c \
             JOIN (SELECT * FROM rights WHERE ward_code = '00070') r ON r.holder_citizen_id = c.citizen_id \
             JOIN (SELECT * FROM parcels WHERE ward_code = '00070') p ON p.parcel_id = r.parcel_id",
        ),
        case(
            "statistics (aggregate-only, k = 10)",
            "statistician",
            "statistics",
            "SELECT current_province_code, sex, count(*) AS n FROM population.citizens GROUP BY 1, 2",
            "SELECT current_province_code, sex, count(*) AS n FROM citizens GROUP BY 1, 2 HAVING count(*) >= 10",
        ),
        case(
            "land planning (province scan + join, pseudonyms)",
            "land-officer",
            "land-management",
            "SELECT p.ward_code, count(*) AS n, count(DISTINCT r.holder_citizen_id) AS holders FROM land.parcels p \
             JOIN land.rights r ON r.parcel_id = p.parcel_id GROUP BY p.ward_code",
            "SELECT p.ward_code, count(*) AS n, count(DISTINCT r.holder_citizen_id) AS holders \
             FROM (SELECT * FROM parcels WHERE province_code = '01') p \
             JOIN (SELECT * FROM rights WHERE province_code = '01') r ON r.parcel_id = p.parcel_id GROUP BY p.ward_code",
        ),
        case(
            "point lookup by citizen ID (owner)",
            "population-owner",
            "data-stewardship",
            &format!("SELECT * FROM population.citizens WHERE citizen_id = '{citizen}'"),
            &format!("SELECT * FROM citizens WHERE citizen_id = '{citizen}'"),
        ),
    ]
}

#[tokio::main]
async fn main() {
    let citizens = env_u64("LIENTHONG_BENCH_CITIZENS", 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    generate(
        &Config {
            out: dir.path().to_owned(),
            citizens,
            seed: lienthong_synth::DEFAULT_SEED,
        },
        &NoProgress,
    )
    .unwrap();
    // A memory pool for the governed sessions' operators (`LIENTHONG_BENCH_MEMORY_MB`, default
    // none): sorts, joins and aggregates spill beyond it.
    let memory_mb = env_u64("LIENTHONG_BENCH_MEMORY_MB", 0);
    let open = |file: &std::path::Path| {
        Catalog::open_with(
            file,
            OpenOptions {
                pseudonym_secret: Some(PseudonymSecret::new("benchmark secret, not for production").unwrap()),
                limits: lienthong::Limits {
                    memory_bytes: (memory_mb > 0).then(|| usize::try_from(memory_mb << 20).unwrap_or(usize::MAX)),
                    ..lienthong::Limits::default()
                },
                ..OpenOptions::default()
            },
        )
        .unwrap()
    };
    let catalog = open(&dir.path().join(CATALOG_FILE));
    // The same catalog with the land officer's pseudonym mask taken off: what pseudonyms cost,
    // governed against governed.
    let unmasked = {
        let mut spec = lienthong::spec::load(dir.path().join(CATALOG_FILE)).unwrap().catalog;
        spec.grants.get_mut("land-officer-rights").unwrap().masks.clear();
        let path = dir.path().join("unmasked.yaml");
        std::fs::write(&path, lienthong::spec::to_yaml(&spec, &[])).unwrap();
        open(&path)
    };
    let raw = SessionContext::new();
    for (name, file) in [
        ("citizens", "population/citizens.parquet"),
        ("parcels", "land/parcels.parquet"),
        ("rights", "land/rights.parquet"),
    ] {
        let path = dir.path().join(file);
        raw.register_parquet(name, path.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
    }
    // A citizen in the middle of the key range.
    let middle = raw
        .sql(&format!(
            "SELECT citizen_id FROM citizens ORDER BY citizen_id LIMIT 1 OFFSET {}",
            citizens / 2
        ))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let id = lienthong::datafusion::arrow::util::display::array_value_to_string(middle[0].column(0), 0).unwrap();

    println!("governed vs ungoverned, {citizens} citizens, best of 5 (after one warm-up run)");
    println!(
        "{:<50} {:>10} {:>10} {:>7} {:>8}",
        "query", "governed", "raw", "ratio", "rows"
    );
    let (mut governed_peak, mut resident_before) = (0, 0);
    for case in cases(&id) {
        let session = catalog.session(case.principal, Some(case.purpose)).unwrap();
        let governed = || async {
            let batches = session.sql(&case.governed).await.unwrap().collect().await.unwrap();
            batches.iter().map(|b| b.num_rows()).sum::<usize>()
        };
        let baseline = || async {
            let batches = raw.sql(&case.raw).await.unwrap().collect().await.unwrap();
            batches.iter().map(|b| b.num_rows()).sum::<usize>()
        };
        // The peak of the governed runs alone (the generator and the raw runs not counted).
        resident_before = resident_before.max(reset_peak());
        governed().await;
        let (g, rows) = best_of(5, governed).await;
        governed_peak = governed_peak.max(peak_kib());
        baseline().await;
        let (r, raw_rows) = best_of(5, baseline).await;
        assert_eq!(rows, raw_rows, "{}: governed and raw answers differ in size", case.name);
        println!(
            "{:<50} {:>8.2}ms {:>8.2}ms {:>7.2} {:>8}",
            case.name,
            g.as_secs_f64() * 1e3,
            r.as_secs_f64() * 1e3,
            g.as_secs_f64() / r.as_secs_f64(),
            rows
        );
    }
    // Land planning with and without the pseudonym mask, both governed, interleaved (best of 5).
    let land = &cases(&id)[2];
    let sessions = [&catalog, &unmasked].map(|c| c.session(land.principal, Some(land.purpose)).unwrap());
    let mut best = [std::time::Duration::MAX; 2];
    for round in 0..6 {
        for (session, best) in sessions.iter().zip(best.iter_mut()) {
            let started = std::time::Instant::now();
            session.sql(&land.governed).await.unwrap().collect().await.unwrap();
            if round > 0 {
                *best = (*best).min(started.elapsed()); // round 0 warms up
            }
        }
    }
    println!(
        "{:<50} {:>8.2}ms {:>8.2}ms {:>7.2}   (pseudonyms / no mask, both governed)",
        land.name,
        best[0].as_secs_f64() * 1e3,
        best[1].as_secs_f64() * 1e3,
        best[0].as_secs_f64() / best[1].as_secs_f64(),
    );
    println!(
        "peak RSS while the governed queries ran: {} MiB, from {} MiB resident before them{}",
        governed_peak / 1024,
        resident_before / 1024,
        if memory_mb > 0 {
            format!(" (their memory pool: {memory_mb} MiB)")
        } else {
            String::new()
        }
    );
}

/// Starts measuring the process's peak resident memory afresh (Linux); gives the resident memory
/// now, in KiB.
fn reset_peak() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    peak_kib()
}

/// The process's peak resident memory since the last [`reset_peak`], in KiB (Linux).
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmHWM:")
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
