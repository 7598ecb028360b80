//! Same seed and size, same bytes; another seed, other data.

use std::collections::BTreeMap;
use std::path::Path;

use lienthong_synth::{Config, NoProgress, generate};

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn run(dir: &Path, seed: u64) -> BTreeMap<String, Vec<u8>> {
    generate(
        &Config {
            out: dir.to_owned(),
            citizens: 5_000,
            seed,
        },
        &NoProgress,
    )
    .unwrap();
    files(dir)
}

#[test]
fn the_same_seed_gives_the_same_bytes_in_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let first = run(&tmp.path().join("a"), 11);
    let second = run(&tmp.path().join("b"), 11);
    assert_eq!(first.keys().collect::<Vec<_>>(), second.keys().collect::<Vec<_>>());
    assert_eq!(first.len(), 11, "files: {:?}", first.keys());
    for (name, bytes) in &first {
        assert!(
            bytes == &second[name],
            "{name} differs between two runs with the same seed"
        );
    }
    // Running again into the same directory replaces everything with the same bytes.
    let again = run(&tmp.path().join("a"), 11);
    assert_eq!(first, again);
}

#[test]
fn another_seed_gives_other_people_and_other_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let a = run(&tmp.path().join("a"), 1);
    let b = run(&tmp.path().join("b"), 2);
    for name in [
        "population/citizens.parquet",
        "land/parcels.parquet",
        "registries.sqlite",
        "demo-credentials.json",
    ] {
        assert_ne!(a[name], b[name], "{name} should depend on the seed");
    }
    // The code lists do not depend on the seed.
    assert_eq!(a["reference/wards.parquet"], b["reference/wards.parquet"]);
}

#[test]
fn sizes_outside_the_range_are_refused_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let error = generate(
        &Config {
            out: tmp.path().to_owned(),
            citizens: 10,
            seed: 1,
        },
        &NoProgress,
    )
    .unwrap_err();
    assert!(error.to_string().contains("between 1000 and 200000000"), "{error}");
    assert!(!tmp.path().join("catalog.yaml").exists());
}
