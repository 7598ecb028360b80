//! The differential fuzzer's fixed-seed slice, run by the test suite: a few hundred generated
//! queries per demo principal, governed vs the principal's copy, no failure; and every
//! reproduction under `fuzz/repros/` (failures found once, fixed since) passes again.
//! `LIENTHONG_FUZZ_QUERIES` for a longer slice; `lienthong-fuzz run` for a campaign.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;
use lienthong_fuzz::repro;
use lienthong_fuzz::run::{Fuzzer, Plan};

const SECRET: &str = "lienthong-fuzz test secret: not for production use";

fn per_principal() -> usize {
    std::env::var("LIENTHONG_FUZZ_QUERIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

#[tokio::test]
async fn a_fixed_seed_slice_finds_no_difference_and_the_known_reproductions_pass() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    lienthong_synth::generate(
        &lienthong_synth::Config {
            out: data.clone(),
            citizens: 4_000,
            seed: lienthong_synth::DEFAULT_SEED,
        },
        &lienthong_synth::NoProgress,
    )
    .unwrap();
    let audit = scratch.path().join("audit.jsonl");
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let fuzzer = Fuzzer::open(&data, SECRET, today, &audit, &[]).await.unwrap();
    assert_eq!(fuzzer.principals().len(), 7, "every demo principal is driven");

    // The known reproductions first: each was a failure once.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("repros");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{}: the reproductions are missing", dir.display());
    for file in &files {
        let r = repro::read(file).unwrap();
        let verdict = fuzzer.check(&r.principal, &r.sql, r.copy_sql.as_deref()).await.unwrap();
        assert!(
            verdict.failure.is_none(),
            "{}: {:?}\n governed: {}\n copy: {:?}",
            file.display(),
            verdict.failure,
            verdict.governed,
            verdict.copy
        );
    }

    let out = scratch.path().join("failures");
    let plan = Plan {
        seed: 20_261_202,
        queries: per_principal(),
        budget: Duration::from_secs(30 * 60),
        out: Some(out.clone()),
    };
    let tallies = fuzzer.run(&plan).await.unwrap();
    let mut report = String::new();
    for (principal, t) in &tallies {
        report.push_str(&format!(
            "{principal}: {} tried, {} answered alike, {} unchecked, {} copy failed, {} refused, {} failed alike, {} too slow\n",
            t.tried, t.answered, t.unchecked, t.copy_failed, t.refused, t.failed_alike, t.too_slow
        ));
        for found in &t.failures {
            let text = std::fs::read_to_string(found.file.as_ref().unwrap()).unwrap();
            report.push_str(&format!("FAILURE {}:\n{text}\n", found.failure));
        }
    }
    eprintln!("{report}");
    for (principal, t) in &tallies {
        assert!(t.failures.is_empty(), "{report}");
        assert_eq!(t.tried, per_principal(), "{principal}: the slice ran in full");
        // A generator whose queries were mostly refused would prove little.
        assert!(t.answered * 3 >= t.tried, "{principal}: too few answered: {report}");
    }
    lienthong::audit::verify(&audit).unwrap();
}
