//! The `lienthong` command line end to end: the real binary, real files, small sizes.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests state their expectations

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use argon2::{PasswordHash, PasswordVerifier};

fn lienthong(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .args(args)
        .output()
        .expect("run lienthong")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_owned()
}

#[test]
fn validate_accepts_a_valid_catalog() {
    let path = repo().join("catalog-spec/examples/quang-ninh.yaml");
    let out = lienthong(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "valid (5 agencies, 2 principals, 3 sources, 2 databases, 3 tables, 5 grants, 2 tag rules, 1 quota)"
        ),
        "{stdout}"
    );
}

#[test]
fn validate_reads_the_token_issuers_keys() {
    let dir = tempfile::tempdir().unwrap();
    let example = repo().join("catalog-spec/examples/quang-ninh.yaml");
    let catalog = dir.path().join("catalog.yaml");
    std::fs::copy(&example, &catalog).unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    // An operator who pastes the issuer's private key instead of its public key.
    let kind = "PRIVATE KEY";
    let private = format!("-----BEGIN {kind}-----\nbm90IGEga2V5\n-----END {kind}-----\n");
    std::fs::write(dir.path().join("keys/quangninh-sso.pem"), private).unwrap();
    let out = lienthong(&["validate", catalog.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("catalog.yaml: token_issuers.quangninh-sso.keys[0]: key file `keys/quangninh-sso.pem`")
            && stdout.contains("private key"),
        "{stdout}"
    );
    std::fs::remove_file(dir.path().join("keys/quangninh-sso.pem")).unwrap();
    let out = lienthong(&["validate", catalog.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("cannot read"), "{}", text(&out.stdout));
}

#[test]
fn validate_lists_every_problem_with_line_and_column_and_fails() {
    let path = repo().join("catalog-spec/tests/fixtures/broken.yaml");
    let out = lienthong(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 20, "{stdout}");
    let prefix = format!("{}:", path.display());
    for line in &lines {
        let rest = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("no file name: {line}"));
        let mut parts = rest.splitn(3, ':');
        let line_no: usize = parts
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("no line: {line}"));
        let column: usize = parts
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("no column: {line}"));
        assert!(line_no > 0 && column > 0);
    }
    assert!(
        stdout.contains(":21:15: secret in clear: principals.clerk.password:"),
        "{stdout}"
    );
    assert!(text(&out.stderr).contains(&format!("invalid, {} problems", lines.len())));
}

#[test]
fn errors_are_one_readable_line_not_a_stack_trace() {
    let out = lienthong(&["validate", "/nonexistent/catalog.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot read catalog /nonexistent/catalog.yaml"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );

    let out = lienthong(&["generate", "--out", "/tmp/x", "--citizens", "5"]);
    assert_eq!(out.status.code(), Some(2), "clap rejects a size below the minimum");
    assert!(text(&out.stderr).contains("--citizens"));
}

#[test]
fn generate_writes_data_and_a_valid_catalog_with_hashed_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let out = lienthong(&[
        "generate",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
        "--citizens",
        "3000",
        "--seed",
        "11",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("for 3,000 citizens (seed 11)"),
        "{}",
        text(&out.stdout)
    );

    let catalog_path = dir.path().join("catalog.yaml");
    let out = lienthong(&["validate", catalog_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));

    let catalog = lienthong_spec::load(&catalog_path).unwrap().catalog;
    let credentials: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo-credentials.json")).unwrap()).unwrap();
    let ids: Vec<&str> = credentials.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "business-registrar",
            "inspector",
            "land-officer",
            "population-owner",
            "statistician",
            "ward-officer"
        ]
    );
    let raw_catalog = std::fs::read_to_string(&catalog_path).unwrap();
    for (id, secret) in &credentials {
        assert!(
            !raw_catalog.contains(secret.as_str()),
            "the secret of {id} is in the catalog in clear"
        );
        let Some(lienthong_spec::Credential::Argon2(hash)) = &catalog.principals[id].credential else {
            panic!("{id} has no Argon2 credential");
        };
        let hash = PasswordHash::new(hash).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(secret.as_bytes(), &hash)
                .is_ok(),
            "{id}"
        );
        assert!(
            argon2::Argon2::default().verify_password(b"wrong", &hash).is_err(),
            "{id}"
        );
    }
}

#[test]
fn demo_generates_once_then_reuses_and_shows_principals() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo-data");
    let args = [
        "demo",
        "--quiet",
        "--no-serve",
        "--dir",
        demo_dir.to_str().unwrap(),
        "--citizens",
        "2000",
    ];
    let first = lienthong(&args);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    assert!(stdout.contains("Generating the demo data"), "{stdout}");
    for expected in [
        "population.citizens",
        "land.rights",
        "business.enterprise_register",
        "civil_servants.personnel",
        "ward-officer",
        "statistician",
        "public",
    ] {
        assert!(stdout.contains(expected), "missing {expected}:\n{stdout}");
    }
    let citizens_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("population.citizens"))
        .unwrap();
    assert!(citizens_line.contains("2,000"), "{citizens_line}");
    // The tour: every scenario runs, refusals are shown as refusals, the audit names the lookup.
    for expected in [
        "1. Paperless procedure",
        "6. Who looked at my data",
        "refused: query failed: No field named ethnicity",
        "refused: denied: population.citizens may only be read by aggregate queries",
        "p_",
        "ward-officer (000.70.99.H26) for tthc: accepted",
    ] {
        assert!(stdout.contains(expected), "missing {expected}:\n{stdout}");
    }

    let modified = std::fs::metadata(demo_dir.join("catalog.yaml"))
        .unwrap()
        .modified()
        .unwrap();
    let second = lienthong(&args);
    assert_eq!(second.status.code(), Some(0));
    assert!(text(&second.stdout).contains("Using the demo data already in"));
    assert_eq!(
        std::fs::metadata(demo_dir.join("catalog.yaml"))
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
}

#[test]
fn hash_secret_prints_a_verifiable_argon2_hash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .arg("hash-secret")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"correct horse\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let printed = text(&out.stdout);
    let hash = PasswordHash::new(printed.trim()).unwrap();
    assert_eq!(hash.algorithm.as_str(), "argon2id");
    assert!(
        argon2::Argon2::default()
            .verify_password(b"correct horse", &hash)
            .is_ok()
    );
}

/// A small demo catalog, generated once for the query tests.
fn demo_catalog() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let out = lienthong(&[
            "generate",
            "--quiet",
            "--out",
            dir.to_str().unwrap(),
            "--citizens",
            "2000",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        dir.join("catalog.yaml")
    })
}

#[test]
fn query_prints_governed_results_in_every_format_and_refuses_with_status_3() {
    let catalog = demo_catalog().to_str().unwrap();
    let sql = "SELECT parcel_id, ward_code FROM land.parcels ORDER BY parcel_id LIMIT 3";
    let base = [
        "query",
        "--catalog",
        catalog,
        "--as",
        "ward-officer",
        "--purpose",
        "tthc",
    ];
    let run = |format: &str| {
        let mut args = base.to_vec();
        args.extend(["--format", format, sql]);
        lienthong(&args)
    };
    let table = run("table");
    assert_eq!(table.status.code(), Some(0), "{}", text(&table.stderr));
    let table = text(&table.stdout);
    assert!(table.contains("| 00070 ") && table.contains("3 rows"), "{table}");
    let csv = text(&run("csv").stdout);
    assert_eq!(csv.lines().next(), Some("parcel_id,ward_code"));
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.lines().skip(1).all(|l| l.ends_with(",00070")), "{csv}");
    let json = text(&run("json").stdout);
    assert_eq!(json.lines().count(), 3);
    assert!(json.lines().all(|l| l.contains("\"ward_code\":\"00070\"")), "{json}");
    let parquet = run("parquet").stdout;
    assert_eq!(&parquet[..4], b"PAR1");

    let denied = lienthong(&[
        "query",
        "--catalog",
        catalog,
        "--as",
        "statistician",
        "--purpose",
        "statistics",
        "SELECT sex FROM population.citizens",
    ]);
    assert_eq!(denied.status.code(), Some(3));
    assert!(text(&denied.stderr).contains("aggregate"), "{}", text(&denied.stderr));
    let public = lienthong(&[
        "query",
        "--catalog",
        catalog,
        "SELECT count(*) AS n FROM reference.provinces",
    ]);
    assert!(text(&public.stdout).contains("| 34 |"), "{}", text(&public.stdout));
    let unknown = lienthong(&[
        "query",
        "--catalog",
        catalog,
        "--as",
        "nobody",
        "--purpose",
        "tthc",
        "SELECT 1",
    ]);
    assert_eq!(unknown.status.code(), Some(3));
}

#[test]
fn explain_shows_the_policy_in_the_plan_and_audit_verify_checks_the_log() {
    let catalog = demo_catalog();
    let out = lienthong(&[
        "explain",
        "--catalog",
        catalog.to_str().unwrap(),
        "--as",
        "business-registrar",
        "--purpose",
        "business-registration",
        "SELECT name FROM business.enterprises",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(
        plan.contains("PolicyBarrier: table=business.enterprises grants=[registrar-enterprises]"),
        "{plan}"
    );
    let sql = plan.lines().find(|l| l.contains("SQLiteSqlExec")).unwrap_or_default();
    assert!(
        sql.contains("WHERE") && sql.contains("'01'"),
        "the policy reaches SQLite: {plan}"
    );

    let log = catalog.with_file_name("audit").join("audit.jsonl");
    let ok = lienthong(&["audit", "verify", log.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stdout));
    assert!(text(&ok.stdout).contains("intact"));
    let copy = tempfile::tempdir().unwrap();
    let edited = copy.path().join("audit.jsonl");
    let original = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&edited, original.replacen("business-registrar", "public", 1)).unwrap();
    std::fs::copy(
        log.with_file_name("audit.jsonl.head"),
        copy.path().join("audit.jsonl.head"),
    )
    .unwrap();
    let broken = lienthong(&["audit", "verify", edited.to_str().unwrap()]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        text(&broken.stdout).contains("BROKEN at line"),
        "{}",
        text(&broken.stdout)
    );
}

/// Starts `lienthong <args>` that serves, waits for its address line, and returns the child, the
/// address and what it printed up to then.
fn spawn_server(args: &[&str]) -> (std::process::Child, String, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lienthong"))
        .args(args)
        .env("LIENTHONG_PSEUDONYM_KEY", "cli test secret, not for production")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let addr = loop {
        let line = lines.next().expect("the server printed its address").unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("lienthong serving")
            && let Some(at) = line.find("grpc://")
        {
            break line[at + "grpc://".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_owned();
        }
    };
    // Keep draining standard output so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    (child, addr, printed)
}

fn terminate(mut child: std::process::Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    panic!("the server did not stop on SIGTERM");
}

#[test]
fn serve_listens_answers_and_stops_cleanly_on_sigterm() {
    let catalog = demo_catalog().to_str().unwrap();
    let (child, addr, printed) = spawn_server(&["serve", "--catalog", catalog, "--addr", "127.0.0.1:0"]);
    assert!(printed.contains("lienthong serving"), "{printed}");
    let stream = std::net::TcpStream::connect(&addr);
    assert!(stream.is_ok(), "{addr}: {stream:?}");
    drop(stream);
    let status = terminate(child);
    assert_eq!(status.code(), Some(0));
}

#[test]
fn demo_serves_after_the_tour_with_connection_snippets() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo-data");
    let (child, addr, printed) = spawn_server(&[
        "demo",
        "--quiet",
        "--dir",
        demo_dir.to_str().unwrap(),
        "--citizens",
        "2000",
        "--addr",
        "127.0.0.1:0",
        "--shutdown-grace",
        "2",
    ]);
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    let credentials: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(demo_dir.join("demo-credentials.json")).unwrap()).unwrap();
    let secret = &credentials["ward-officer"];
    assert!(printed.contains("adbc_driver_flightsql"), "{printed}");
    assert!(printed.contains("pyarrow.flight"), "{printed}");
    assert!(printed.contains(&format!("grpc://{addr}")), "{printed}");
    assert!(printed.contains(secret.as_str()), "the snippet carries the demo secret");
    assert_eq!(terminate(child).code(), Some(0));
}

#[test]
fn twelve_concurrent_queries_on_one_audit_log_keep_one_verifiable_chain() {
    let catalog = demo_catalog();
    let yaml = std::fs::read_to_string(catalog).unwrap();
    assert_eq!(yaml.matches("\nnode:\n").count(), 1);
    let own = catalog.with_file_name("concurrent-catalog.yaml");
    std::fs::write(
        &own,
        yaml.replace("\nnode:\n", "\nnode:\n  audit_log: audit/concurrent.jsonl\n"),
    )
    .unwrap();
    let children: Vec<_> = (0..12)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_lienthong"))
                .args(["query", "--catalog", own.to_str().unwrap(), "--as", "public"])
                .arg("SELECT count(*) FROM reference.provinces")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let log = catalog.with_file_name("audit").join("concurrent.jsonl");
    let verified = lienthong(&["audit", "verify", log.to_str().unwrap()]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}{}",
        text(&verified.stdout),
        text(&verified.stderr)
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 24);
}

#[test]
fn quota_shows_what_lookups_used_and_a_bulk_read_is_refused_with_status_3() {
    let catalog = demo_catalog().to_str().unwrap();
    let registrar = ["--as", "business-registrar", "--purpose", "business-registration"];
    let query = |who: &[&str], sql: &str| {
        let mut args = vec!["query", "--catalog", catalog, "--format", "json"];
        args.extend_from_slice(who);
        args.push(sql);
        lienthong(&args)
    };
    let bulk = query(&registrar, "SELECT full_name FROM population.citizens");
    assert_eq!(bulk.status.code(), Some(3), "{}", text(&bulk.stderr));
    assert!(text(&bulk.stderr).contains("may only be looked up by citizen_id"));
    let owner = query(
        &["--as", "population-owner", "--purpose", "data-stewardship"],
        "SELECT citizen_id FROM population.citizens ORDER BY citizen_id LIMIT 1",
    );
    let first: serde_json::Value = serde_json::from_str(text(&owner.stdout).lines().next().unwrap()).unwrap();
    let id = first["citizen_id"].as_str().unwrap();
    let lookup = query(
        &registrar,
        &format!("SELECT permanent_ward_code FROM population.citizens WHERE citizen_id = '{id}'"),
    );
    assert_eq!(lookup.status.code(), Some(0), "{}", text(&lookup.stderr));
    assert_eq!(text(&lookup.stdout).lines().count(), 1);

    let mut args = vec!["quota", "--catalog", catalog, "--json"];
    args.extend_from_slice(&registrar);
    let out = lienthong(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let limits: Vec<serde_json::Value> = serde_json::from_str(&text(&out.stdout)).unwrap();
    let day = limits
        .iter()
        .find(|l| l["unit"] == "keys" && l["window"] == "day")
        .unwrap();
    assert_eq!(day["quota"], "registrar-verifications");
    assert_eq!(day["limit"], 500);
    assert!(day["used"].as_u64().unwrap() >= 1, "{day}");
    let table = lienthong(&[
        "quota",
        "--catalog",
        catalog,
        "--as",
        "ward-officer",
        "--purpose",
        "tthc",
    ]);
    assert!(
        text(&table.stdout).contains("no quota holds"),
        "{}",
        text(&table.stdout)
    );
}

/// Every `lienthong` command in the README's shell blocks, run as written (on the test's demo data
/// instead of `demo-data/`; the demo itself only parsed): none is a usage error or fails (exit
/// status 2); the one the README says is refused is (status 3).
#[test]
fn every_command_the_readme_shows_runs_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let data = demo_catalog().parent().unwrap().to_str().unwrap().to_owned();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut blocks = 0;
    let mut in_block = false;
    let mut block = String::new();
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            if in_block && block.contains("lienthong") {
                blocks += 1;
                let script = format!(
                    "lienthong() {{ if [ \"$1\" = demo ]; then LIENTHONG_CHECK_ARGS=1 \"$BIN\" \"$@\"; \
                     else \"$BIN\" \"$@\" > /dev/null 2>&1; fi; echo \"$? $1\" >> \"$LOG\"; }}\n{}",
                    block
                        .replace("cargo run --bin lienthong --", "lienthong")
                        .replace("demo-data/", &format!("{data}/"))
                );
                let status = Command::new("bash")
                    .arg("-c")
                    .arg(&script)
                    .current_dir(repo())
                    .env("BIN", env!("CARGO_BIN_EXE_lienthong"))
                    .env("LOG", log.path())
                    .status()
                    .unwrap();
                assert!(
                    status.success() || status.code() == Some(1) || status.code() == Some(3),
                    "{script}"
                );
            }
            in_block = line.trim() == "```sh";
            block.clear();
            continue;
        }
        // Only what names lienthong; the test suite and the fuzzer have commands of their own.
        if in_block && !line.starts_with("./scripts/") && !line.starts_with("cargo run -p ") {
            block.push_str(line);
            block.push('\n');
        }
    }
    let ran = std::fs::read_to_string(log.path()).unwrap();
    let codes: Vec<(&str, &str)> = ran.lines().filter_map(|l| l.split_once(' ')).collect();
    assert!(blocks >= 4 && codes.len() >= 9, "{ran}");
    assert!(codes.iter().all(|(code, _)| *code != "2"), "{ran}");
    assert_eq!(codes.iter().filter(|(code, _)| *code == "3").count(), 1, "{ran}");
    assert!(
        codes.iter().any(|(code, what)| *code == "0" && *what == "quota"),
        "{ran}"
    );
}
