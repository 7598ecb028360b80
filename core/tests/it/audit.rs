//! The audit log: every query leaves a record before its results, and every kind of tampering is
//! found, with the line where it starts.

use std::fs;
use std::path::Path;

use lienthong::audit::verify;

use crate::common::{as_, demo, run};

/// Writes a log of a few queries (accepted, denied, failed) and returns its path.
async fn log_with_queries() -> std::path::PathBuf {
    let (catalog, audit) = demo();
    let officer = as_(&catalog, "ward-officer");
    run(&officer, "SELECT count(*) FROM population.citizens").await.unwrap();
    run(&officer, "SELECT * FROM business.enterprises").await.unwrap_err();
    run(&officer, "DROP TABLE population.citizens").await.unwrap_err();
    let public = as_(&catalog, "public");
    run(&public, "SELECT count(*) FROM reference.provinces").await.unwrap();
    audit
}

fn records(path: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn rewrite(path: &Path, edit: impl FnOnce(&mut Vec<String>)) {
    let mut lines: Vec<String> = fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect();
    edit(&mut lines);
    fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

#[tokio::test]
async fn every_query_leaves_a_record_with_who_why_what_and_outcome() {
    let audit = log_with_queries().await;
    let records = records(&audit);
    let kinds: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("query", "accepted"),
            ("completion", "completed"),
            ("query", "failed"), // a hidden table is "not found", like a missing one
            ("query", "denied"),
            ("query", "accepted"),
            ("completion", "completed"),
        ]
    );
    let first = &records[0];
    assert_eq!(first["principal"], "ward-officer");
    assert_eq!(first["agency"], "000.70.99.H26");
    assert_eq!(first["purpose"], "tthc");
    assert_eq!(first["tables"], serde_json::json!(["population.citizens"]));
    assert_eq!(first["policies"], serde_json::json!(["ward-officer-residents"]));
    assert_eq!(records[1]["rows"], 1);
    assert_eq!(verify(&audit).unwrap().records, 6);
}

#[tokio::test]
async fn literals_are_kept_as_digests_not_values() {
    let (catalog, audit) = demo();
    let owner = as_(&catalog, "population-owner");
    run(
        &owner,
        "SELECT full_name FROM population.citizens WHERE citizen_id = '001090000001'",
    )
    .await
    .unwrap();
    let text = fs::read_to_string(&audit).unwrap();
    assert!(!text.contains("001090000001"), "{text}");
    let record = &records(&audit)[0];
    assert!(record["sql"].as_str().unwrap().contains("citizen_id = ?"));
    assert_eq!(record["literal_digests"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn tampering_of_every_kind_is_found_where_it_starts() {
    let audit = log_with_queries().await;
    let original = fs::read_to_string(&audit).unwrap();
    let head = fs::read_to_string(audit.with_file_name("audit.jsonl.head")).unwrap();
    let restore = || {
        fs::write(&audit, &original).unwrap();
        fs::write(audit.with_file_name("audit.jsonl.head"), &head).unwrap();
    };
    type Edit = Box<dyn Fn(&mut Vec<String>)>;
    let cases: Vec<(&str, Edit, u64)> = vec![
        (
            "edited",
            Box::new(|l| l[2] = l[2].replace("ward-officer", "inspector")),
            3,
        ),
        ("inserted", Box::new(|l| l.insert(1, l[0].clone())), 2),
        ("reordered", Box::new(|l| l.swap(2, 3)), 3),
        ("deleted", Box::new(|l| drop(l.remove(3))), 4),
        ("truncated", Box::new(|l| l.truncate(4)), 5),
        ("not JSON", Box::new(|l| l[1].push('x')), 2),
    ];
    for (kind, edit, line) in cases {
        restore();
        rewrite(&audit, edit);
        let broken = verify(&audit).expect_err(kind);
        assert_eq!(broken.line, line, "{kind}: {broken}");
    }
    restore();
    assert!(verify(&audit).is_ok());
}

#[tokio::test]
async fn a_log_cut_short_is_not_continued_and_a_continued_one_is_caught() {
    let (catalog, audit) = demo();
    let public = as_(&catalog, "public");
    for _ in 0..3 {
        run(&public, "SELECT count(*) FROM reference.wards").await.unwrap();
    }
    drop(public);
    drop(catalog);
    rewrite(&audit, |l| l.truncate(2));
    let broken = verify(&audit).unwrap_err();
    assert_eq!(broken.line, 3, "{broken}");
    assert!(broken.message.contains("cut short"), "{broken}");
    // The engine refuses to append to the cut log: the query fails instead of running unaudited.
    let (catalog, _) = crate::common::open_with_audit(&audit);
    let public = as_(&catalog, "public");
    let error = run(&public, "SELECT count(*) FROM reference.wards").await.unwrap_err();
    assert!(error.contains("audit log"), "{error}");
    drop(public);
    drop(catalog);
    // Continued with a well-formed chain (a copy whose head was forged to accept it): the original
    // head still tells.
    let copy = tempfile::tempdir().unwrap().keep().join("audit.jsonl");
    fs::copy(&audit, &copy).unwrap();
    let last = records(&copy)[1]["hash"].as_str().unwrap().to_owned();
    fs::write(copy.with_file_name("audit.jsonl.head"), format!("2 {last}\n")).unwrap();
    let (catalog, _) = crate::common::open_with_audit(&copy);
    let public = as_(&catalog, "public");
    run(&public, "SELECT count(*) FROM reference.wards").await.unwrap();
    assert_eq!(verify(&copy).unwrap().records, 4);
    fs::copy(&copy, &audit).unwrap();
    let broken = verify(&audit).unwrap_err();
    assert!(broken.message.contains("cut short"), "{broken}");
    // Without its head file a log is not trusted either.
    fs::remove_file(audit.with_file_name("audit.jsonl.head")).unwrap();
    assert!(verify(&audit).unwrap_err().message.contains("missing"));
}

#[tokio::test]
async fn a_query_whose_audit_cannot_be_written_fails() {
    let dir = tempfile::tempdir().unwrap();
    let blocked = dir.path().join("not-a-dir");
    fs::write(&blocked, "a file where the audit directory should be").unwrap();
    let (catalog, _) = crate::common::open_with_audit(&blocked.join("audit.jsonl"));
    let public = as_(&catalog, "public");
    let error = run(&public, "SELECT count(*) FROM reference.provinces")
        .await
        .unwrap_err();
    assert!(error.contains("audit log"), "{error}");
}

#[test]
fn a_secret_opens_its_principals_session_and_every_refusal_looks_alike_in_the_log() {
    let (catalog, audit) = demo();
    let file = crate::common::demo_dir().join(lienthong_synth::CREDENTIALS_FILE);
    let secrets: serde_json::Value = serde_json::from_str(&fs::read_to_string(file).unwrap()).unwrap();
    let officer = secrets["ward-officer"].as_str().unwrap();
    let session = catalog
        .session_with_secret("ward-officer", officer, Some("tthc"))
        .unwrap();
    assert_eq!((session.principal(), session.purpose()), ("ward-officer", Some("tthc")));
    let refused = [
        ("ward-officer", "not the secret", Some("tthc")),
        ("ward-officer", "", Some("tthc")),
        ("inspector", officer, Some("inspection")),
        ("nobody", officer, Some("tthc")),
        ("public", "", None),
    ];
    let mut messages = std::collections::BTreeSet::new();
    for (principal, secret, purpose) in refused {
        let error = catalog.session_with_secret(principal, secret, purpose).unwrap_err();
        assert!(matches!(error, lienthong::Error::Denied(_)), "{principal}: {error}");
        messages.insert(error.to_string());
    }
    assert_eq!(messages.len(), 1, "{messages:?}");
    let denied: Vec<_> = records(&audit)
        .into_iter()
        .filter(|r| r["kind"] == "session" && r["outcome"] == "denied")
        .map(|r| r["principal"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        denied,
        ["ward-officer", "ward-officer", "inspector", "nobody", "public"]
    );
    assert!(verify(&audit).is_ok());
}

#[tokio::test]
async fn every_kind_of_literal_and_comment_is_redacted_and_a_computed_value_still_leaves_its_digest() {
    let (catalog, audit) = demo();
    let owner = as_(&catalog, "population-owner");
    let secrets = [
        "001050284247",
        "Nguyễn Văn Bí Mật",
        "1961-02-03",
        "dollar-quoted-secret",
    ];
    for sql in [
        "SELECT count(*) FROM population.citizens WHERE citizen_id = '001050' || '284247'",
        "SELECT count(*) FROM population.citizens WHERE full_name = E'Nguy\\u1ec5n V\\u0103n B\\u00ed M\\u1eadt'",
        "SELECT count(*) FROM population.citizens WHERE full_name = $$Nguyễn Văn Bí Mật$$",
        "SELECT count(*) FROM population.citizens WHERE date_of_birth = DATE '1961-02-03'",
        "SELECT count(*) FROM population.citizens -- 001050284247\n",
        "SELECT count(*) FROM population.citizens /* dollar-quoted-secret */",
        "SELECT count(*) FROM population.citizens WHERE citizen_id = N'001050284247'",
    ] {
        let _ = run(&owner, sql).await;
    }
    let text = fs::read_to_string(&audit).unwrap();
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} in the log:\n{text}");
    }
    // The concatenated ID is found by its digest, as if it had been written whole.
    let digest = catalog.literal_digest("001050284247");
    let first = &records(&audit)[0];
    assert!(
        first["literal_digests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == &digest),
        "{first}"
    );
}

#[tokio::test]
async fn error_texts_are_redacted_and_records_stay_small() {
    let (catalog, audit) = demo();
    let public = as_(&catalog, "public");
    let error = run(
        &public,
        "SELECT CAST('Nguyễn Văn Bí Mật' AS INT) FROM reference.provinces",
    )
    .await
    .unwrap_err();
    assert!(error.contains("Nguyễn"), "the caller sees its own value: {error}");
    let alias = "x".repeat(100_000);
    run(&public, &format!("SELECT count(*) AS {alias} FROM reference.provinces"))
        .await
        .unwrap();
    let text = fs::read_to_string(&audit).unwrap();
    assert!(!text.contains("Nguyễn"), "{text}");
    for line in text.lines() {
        assert!(line.len() < 16 * 1024, "a record of {} bytes", line.len());
    }
    assert!(text.contains("[cut: "), "a cut SQL says so");
    assert!(verify(&audit).is_ok());
}

#[tokio::test]
async fn a_query_naming_too_many_values_is_refused_and_audited() {
    let (catalog, audit) = demo();
    let public = as_(&catalog, "public");
    let values: Vec<String> = (0..5_000).map(|i| format!("'{i:05}'")).collect();
    let sql = format!(
        "SELECT count(*) FROM reference.wards WHERE ward_code IN ({})",
        values.join(",")
    );
    let error = run(&public, &sql).await.unwrap_err();
    assert!(error.contains("at most"), "{error}");
    assert_eq!(records(&audit).len(), 1);
}

#[test]
fn several_writers_on_one_log_keep_one_chain() {
    let (_, audit) = demo();
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let audit = audit.clone();
            std::thread::spawn(move || {
                // A catalog of its own: as another process would, with its own open file.
                let (catalog, _) = crate::common::open_with_audit(&audit);
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let public = as_(&catalog, "public");
                for _ in 0..5 {
                    runtime
                        .block_on(run(&public, "SELECT count(*) FROM reference.provinces"))
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(verify(&audit).unwrap().records, 6 * 5 * 2);
}

#[tokio::test]
async fn an_audit_write_that_fails_leaves_the_log_verifiable_and_the_node_recovers() {
    let (catalog, audit) = demo();
    let public = as_(&catalog, "public");
    let sql = "SELECT count(*) FROM reference.provinces";
    run(&public, sql).await.unwrap();
    let head = audit.with_file_name("audit.jsonl.head");
    // The head cannot be written: the record is rolled back and the query fails.
    let before = fs::read(&audit).unwrap();
    fs::remove_file(&head).unwrap();
    fs::create_dir(&head).unwrap();
    let error = run(&public, sql).await.unwrap_err();
    assert!(error.contains("audit log"), "{error}");
    assert_eq!(fs::read(&audit).unwrap(), before, "the failed record is rolled back");
    // The fault clears: the next query is audited and the log verifies, with no hand repair.
    fs::remove_dir(&head).unwrap();
    run(&public, sql).await.unwrap();
    assert_eq!(verify(&audit).unwrap().records, 4);
}
