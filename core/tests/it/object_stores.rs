//! File sources in object stores: the demo's population and land Parquet files copied into a real
//! S3-compatible server (moto, started by the test from the local `.venv` that
//! `scripts/python-env.sh` makes). Governed answers from the
//! buckets must equal the answers from the local files, and a missing object or a dead endpoint
//! must fail the query naming the source, never read as an empty table.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{as_, demo_dir, lines, open, run};

const BUCKET: &str = "lienthong-demo";

/// A server from the test venv, killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn venv_bin(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run ./scripts/python-env.sh (./scripts/test.sh does)",
        path.display()
    );
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(program: &str, args: impl Fn(u16) -> Vec<String>) -> Server {
    let port = free_port();
    let child = Command::new(venv_bin(program))
        .args(args(port))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{program} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// Sends one HTTP request with the venv's Python (what object stores cannot do here: create
/// buckets, upload without credentials). A body `@FILE` sends the file's bytes.
fn http(method: &str, url: &str, body: &str, headers: &[(&str, &str)]) {
    let script = "import sys, json, urllib.request as u\n\
                  b = sys.argv[3]\n\
                  data = open(b[1:], 'rb').read() if b.startswith('@') else (b.encode() or None)\n\
                  r = u.Request(sys.argv[2], data=data, method=sys.argv[1], headers=json.loads(sys.argv[4]))\n\
                  u.urlopen(r).read()";
    let headers = serde_json::Value::Object(
        headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
            .collect(),
    );
    let status = Command::new(venv_bin("python"))
        .args(["-c", script, method, url, body, &headers.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "{method} {url} failed");
}

/// Uploads the demo's `population/` and `land/` files to `endpoint`'s bucket, one PUT each.
fn upload(endpoint: &str, headers: &[(&str, &str)]) {
    for dir in ["population", "land"] {
        for entry in std::fs::read_dir(demo_dir().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            let url = format!("{endpoint}/{BUCKET}/{dir}/{name}");
            http("PUT", &url, &format!("@{}", path.display()), headers);
        }
    }
}

/// The demo catalog with its population and land sources moved to `scheme://BUCKET/` and the
/// given options, written next to the demo data (the SQLite and reference sources stay local).
pub fn catalog_in(scheme: &str, options: &[(&str, String)], land_prefix: &str) -> PathBuf {
    let text = std::fs::read_to_string(demo_dir().join(lienthong_synth::CATALOG_FILE)).unwrap();
    let options: String = options.iter().map(|(k, v)| format!("      {k}: \"{v}\"\n")).collect();
    let moved = |text: String, dir: &str, prefix: &str| {
        let local = format!("    url: \"{dir}\"\n");
        assert!(text.contains(&local), "the demo catalog changed shape");
        text.replace(
            &local,
            &format!("    url: \"{scheme}://{BUCKET}/{prefix}\"\n    options:\n{options}"),
        )
    };
    let text = moved(moved(text, "population", "population"), "land", land_prefix);
    static WRITTEN: AtomicUsize = AtomicUsize::new(0);
    let n = WRITTEN.fetch_add(1, Ordering::Relaxed);
    let file = demo_dir().join(format!("catalog-{scheme}-{n}.yaml"));
    std::fs::write(&file, text).unwrap();
    file
}

/// What the scenarios' principals get from a catalog: each query's rows, sorted.
async fn answers(catalog_file: &Path) -> Vec<Result<Vec<String>, String>> {
    let (catalog, _) = open(catalog_file);
    let queries = [
        (
            "ward-officer",
            "SELECT c.citizen_id, c.full_name, c.phone, r.parcel_id FROM population.citizens c \
             JOIN land.rights r ON r.holder_citizen_id = c.citizen_id",
        ),
        (
            "land-officer",
            "SELECT ward_code, count(*) FROM land.parcels GROUP BY ward_code",
        ),
        (
            "statistician",
            "SELECT sex, count(*) FROM population.citizens GROUP BY sex",
        ),
        ("population-owner", "SELECT count(*) FROM population.households"),
    ];
    let mut out = Vec::new();
    for (principal, sql) in queries {
        let session = as_(&catalog, principal);
        out.push(run(&session, sql).await.map(|batches| {
            let mut rows = lines(&batches);
            rows.sort();
            rows
        }));
    }
    out
}

async fn assert_same_as_local(catalog_file: &Path) {
    let local = answers(&demo_dir().join(lienthong_synth::CATALOG_FILE)).await;
    let remote = answers(catalog_file).await;
    for (local, remote) in local.iter().zip(&remote) {
        let local = local.as_ref().unwrap();
        assert!(!local.is_empty(), "{local:?}");
        assert_eq!(remote.as_ref().unwrap(), local);
    }
}

/// The error the land officer gets counting parcels on `catalog_file`.
async fn failure(catalog_file: &Path) -> String {
    let (catalog, _) = open(catalog_file);
    let session = as_(&catalog, "land-officer");
    run(&session, "SELECT count(*) FROM land.parcels").await.unwrap_err()
}

/// A moto server holding the demo's population and land files in a public-read bucket, and the
/// catalog options that read it unsigned (a catalog may not hold keys in clear).
pub fn s3_with_demo() -> (Server, [(&'static str, String); 4]) {
    let moto = start("moto_server", |port| {
        vec!["-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()]
    });
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    let public = [
        ("x-amz-acl", "public-read"),
        ("content-type", "application/octet-stream"),
    ];
    http("PUT", &format!("{endpoint}/{BUCKET}"), "", &public);
    upload(&endpoint, &public);
    let options = [
        ("aws_endpoint", endpoint),
        ("aws_allow_http", "true".to_owned()),
        ("aws_region", "us-east-1".to_owned()),
        ("aws_skip_signature", "true".to_owned()),
    ];
    (moto, options)
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_sources_give_the_same_governed_answers_as_local_files() {
    let (_moto, options) = s3_with_demo();

    assert_same_as_local(&catalog_in("s3", &options, "land")).await;

    let error = failure(&catalog_in("s3", &options, "nowhere")).await;
    assert!(
        error.contains("source `land_files`") && error.contains("nothing at s3://lienthong-demo/nowhere/"),
        "{error}"
    );
    let mut dead = options.clone();
    dead[0].1 = format!("http://127.0.0.1:{}", free_port());
    let error = failure(&catalog_in("s3", &dead, "land")).await;
    assert!(error.contains("source `land_files`"), "{error}");
}

#[tokio::test]
async fn a_misconfigured_store_fails_only_its_queries_and_says_why() {
    let options = [("aws_regoin", "us-east-1".to_owned())];
    let file = catalog_in("s3", &options, "land");
    let (catalog, _) = open(&file);
    let error = run(&as_(&catalog, "land-officer"), "SELECT count(*) FROM land.parcels")
        .await
        .unwrap_err();
    assert!(
        error.contains("source `land_files`") && error.contains("`aws_regoin` is not an option of s3 object stores"),
        "{error}"
    );
    // The SQLite registries are elsewhere and still answer.
    let rows = run(
        &as_(&catalog, "business-registrar"),
        "SELECT count(*) FROM business.enterprises",
    )
    .await
    .unwrap();
    assert_eq!(lines(&rows).len(), 1);
}
