//! Lookup-only overhead: point lookups of citizens by ID as the business registrar, under the
//! demo's lookup-only grant (the plan check that the key is pinned, verify columns compared)
//! without its quota, and with its keys quota (a durable charge per lookup), against the same
//! lookups under a plain grant, interleaved in the same run.
//!
//! `cargo bench -p lienthong-benches --bench lookup` (1 M citizens; `LIENTHONG_BENCH_CITIZENS` to
//! change, `LIENTHONG_BENCH_LOOKUPS` lookups, default 200).

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::time::Instant;

use lienthong::mask::PseudonymSecret;
use lienthong::{Catalog, OpenOptions};
use lienthong_benches::env_u64;
use lienthong_synth::{CATALOG_FILE, Config, NoProgress, generate};

fn open(file: &std::path::Path, audit: &std::path::Path) -> Catalog {
    Catalog::open_with(
        file,
        OpenOptions {
            pseudonym_secret: Some(PseudonymSecret::new("benchmark secret, not for production").unwrap()),
            audit_path: Some(audit.to_owned()),
            ..OpenOptions::default()
        },
    )
    .unwrap()
}

#[tokio::main]
async fn main() {
    let citizens = env_u64("LIENTHONG_BENCH_CITIZENS", 1_000_000);
    let lookups = env_u64("LIENTHONG_BENCH_LOOKUPS", 200) as usize;
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
    let file = dir.path().join(CATALOG_FILE);
    let variant = |name: &str, edit: &dyn Fn(&mut lienthong::spec::Catalog)| {
        let mut spec = lienthong::spec::load(&file).unwrap().catalog;
        edit(&mut spec);
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, lienthong::spec::to_yaml(&spec, &[])).unwrap();
        open(&path, &dir.path().join(format!("{name}-audit.jsonl")))
    };
    let plain = variant("plain", &|spec| {
        spec.grants.get_mut("registrar-representatives").unwrap().lookup = None;
        spec.quotas.clear();
    });
    let lookup = variant("lookup", &|spec| spec.quotas.clear());
    let quota = open(&file, &dir.path().join("quota-audit.jsonl"));
    let who = ("business-registrar", Some("business-registration"));
    let ids = lienthong_benches::spread_citizen_ids(&plain.session(who.0, who.1).unwrap(), lookups).await;
    let ask = |catalog: &Catalog, id: &str| {
        let session = catalog.session(who.0, who.1).unwrap();
        let sql = format!(
            "SELECT citizen_id, permanent_ward_code, date_of_birth = DATE '1980-01-01' AS born_1980 \
             FROM population.citizens WHERE citizen_id = '{id}'"
        );
        async move {
            let started = Instant::now();
            let rows = lienthong_benches::rows(&session.sql(&sql).await.unwrap().collect().await.unwrap());
            assert_eq!(rows, 1);
            started.elapsed()
        }
    };
    ask(&plain, &ids[0]).await;
    ask(&lookup, &ids[0]).await;
    ask(&quota, &ids[0]).await;
    let (mut p, mut l, mut q) = (Vec::new(), Vec::new(), Vec::new());
    for id in &ids {
        p.push(ask(&plain, id).await);
        l.push(ask(&lookup, id).await);
        q.push(ask(&quota, id).await);
    }
    let (p50p, p95p) = (
        lienthong_benches::percentile_ms(&mut p, 0.5),
        lienthong_benches::percentile_ms(&mut p, 0.95),
    );
    let (p50l, p95l) = (
        lienthong_benches::percentile_ms(&mut l, 0.5),
        lienthong_benches::percentile_ms(&mut l, 0.95),
    );
    let (p50q, p95q) = (
        lienthong_benches::percentile_ms(&mut q, 0.5),
        lienthong_benches::percentile_ms(&mut q, 0.95),
    );
    println!(
        "point lookups by citizen ID as the business registrar, {citizens} citizens, {} lookups interleaved",
        ids.len()
    );
    println!("{:<24} {:>10} {:>10}", "", "p50", "p95");
    println!("{:<24} {:>8.2}ms {:>8.2}ms", "plain grant", p50p, p95p);
    println!("{:<24} {:>8.2}ms {:>8.2}ms", "lookup-only grant", p50l, p95l);
    println!("{:<24} {:>8.2}ms {:>8.2}ms", "lookup-only + quota", p50q, p95q);
    println!("ratio (lookup / plain)   {:>10.3} {:>10.3}", p50l / p50p, p95l / p95p);
    println!("ratio (quota / plain)    {:>10.3} {:>10.3}", p50q / p50p, p95q / p95p);

    // Where a lookup's time goes (plain grant): planning and governing, then running (the synced
    // audit record, the scan, the completion record); and the same question asked of plain
    // DataFusion over the same file, as the floor.
    let raw = lienthong::datafusion::prelude::SessionContext::new();
    raw.register_parquet(
        "citizens",
        dir.path().join("population/citizens.parquet").to_str().unwrap(),
        lienthong::datafusion::prelude::ParquetReadOptions::default(),
    )
    .await
    .unwrap();
    let (mut planning, mut running, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    let session = plain.session(who.0, who.1).unwrap();
    for id in &ids {
        let sql = "SELECT citizen_id, permanent_ward_code, date_of_birth = DATE '1980-01-01' AS born_1980";
        let governed = format!("{sql} FROM population.citizens WHERE citizen_id = '{id}'");
        let started = Instant::now();
        let planned = session.plan(&governed, &[]).await.unwrap();
        planning.push(started.elapsed());
        let started = Instant::now();
        let rows = lienthong_benches::rows(&planned.run().unwrap().collect().await.unwrap());
        running.push(started.elapsed());
        assert_eq!(rows, 1);
        let started = Instant::now();
        let rows = lienthong_benches::rows(
            &raw.sql(&format!("{sql} FROM citizens WHERE citizen_id = '{id}'"))
                .await
                .unwrap()
                .collect()
                .await
                .unwrap(),
        );
        floor.push(started.elapsed());
        assert_eq!(rows, 1);
    }
    let p50 = |times: &mut Vec<std::time::Duration>| lienthong_benches::percentile_ms(times, 0.5);
    println!(
        "plain grant, one session: plan and govern {:.2}ms + run {:.2}ms (p50); plain DataFusion {:.2}ms (p50)",
        p50(&mut planning),
        p50(&mut running),
        p50(&mut floor)
    );
}
