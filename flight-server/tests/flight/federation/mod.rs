//! Federation: the Hà Nội LGSP node (this process) querying two owner nodes, each a real
//! `lienthong serve` on loopback with its own catalog, key and audit log. The answers must be the
//! single-node demo's; the owners' policies must hold against assertions crafted by an attacker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use arrow::array::RecordBatch;
use lienthong::mask::PseudonymSecret;
use lienthong::{Catalog, OpenOptions};
use lienthong_synth::federated::{LAND_NODE, LGSP, POPULATION_NODE};

use crate::common::{demo_dir, pretty};

mod attacks;
mod faults;

const SECRET: &str = "federation test secret, not for production";

/// The owners (real processes) and the LGSP catalog, opened in this process.
struct Federation {
    owners: BTreeMap<String, (Owner, String)>,
    home: PathBuf,
    keys: BTreeMap<String, (String, String)>,
    lgsp: Catalog,
    single: Catalog,
}

/// An owner node's process, stopped when dropped (also when a test panics).
struct Owner(Child);

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `lienthong serve` on `catalog`, its log beside the catalog; returns it and its URL.
fn spawn_owner(catalog: &Path, tls: Option<&Path>) -> (Owner, String) {
    use std::io::BufRead;
    let log = catalog.with_file_name("serve.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_lienthong"));
    command.args(["serve", "--catalog", catalog.to_str().unwrap(), "--addr", "127.0.0.1:0"]);
    if let Some(tls) = tls {
        command
            .arg("--tls-cert")
            .arg(tls.join("server.pem"))
            .arg("--tls-key")
            .arg(tls.join("server.key"))
            .arg("--tls-client-ca")
            .arg(tls.join("ca.pem"));
    }
    let mut child = command
        .env("LIENTHONG_PSEUDONYM_KEY", SECRET)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} did not start: {}",
                catalog.display(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        if let Some(at) = line.find("grpc") {
            break line[at..].split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    (Owner(child), addr)
}

fn open(file: &Path, audit: &Path) -> Catalog {
    Catalog::open_with(
        file,
        OpenOptions {
            audit_path: Some(audit.to_owned()),
            pseudonym_secret: Some(PseudonymSecret::new(SECRET).unwrap()),
            transport: Some(Arc::new(lienthong_server::flight::remote::FlightTransport::default())),
            ..OpenOptions::default()
        },
    )
    .unwrap()
}

/// Writes a CA, the owners' server certificate and the LGSP's and the land node's client
/// certificates (PEM) into `dir`.
fn certificates(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    std::fs::create_dir_all(dir).unwrap();
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "federation test CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    for (file, common_name, names) in [
        (
            "server",
            "localhost",
            vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
        ),
        ("lgsp", "hanoi-lgsp.test", Vec::new()),
        ("dae", "hanoi-dae.test", Vec::new()),
    ] {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, common_name);
        let cert = params.signed_by(&key, &ca).unwrap();
        std::fs::write(dir.join(format!("{file}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).unwrap();
    }
}

/// Rewrites the catalog file at `path` with `change`.
fn edit(path: &Path, change: impl FnOnce(&mut lienthong_spec::Catalog)) {
    let mut catalog = lienthong_spec::load(path).unwrap().catalog;
    change(&mut catalog);
    std::fs::write(path, lienthong_spec::to_yaml(&catalog, &["changed by the test"])).unwrap();
}

/// TLS towards the owners, with the client certificate `name` (`None`: none).
fn node_tls(name: Option<&str>) -> lienthong_spec::NodeTls {
    lienthong_spec::NodeTls {
        ca: "../../tls/ca.pem".into(),
        certificate: name.map(|n| format!("../../tls/{n}.pem")),
        key: name.map(|n| format!("../../tls/{n}.key")),
        domain: Some("localhost".into()),
    }
}

impl Federation {
    fn start() -> Self {
        Self::start_with(false)
    }

    /// With `mutual_tls`, the owners serve TLS, ask for client certificates and pin the LGSP's.
    fn start_with(mutual_tls: bool) -> Self {
        Self::start_over(demo_dir(), mutual_tls)
    }

    /// The federation over the demo data in `data`.
    fn start_over(data: &Path, mutual_tls: bool) -> Self {
        let home = tempfile::Builder::new()
            .prefix("lienthong-nodes-")
            .tempdir()
            .unwrap()
            .keep();
        // The catalogs address the demo data as ../../<dir>: each federation's nodes live in a
        // directory of their own that links to the shared data.
        let nodes_root = home.clone();
        for entry in std::fs::read_dir(data).unwrap().map(Result::unwrap) {
            let name = entry.file_name();
            if name != "nodes" && name != "audit" {
                std::os::unix::fs::symlink(entry.path(), nodes_root.join(name)).unwrap();
            }
        }
        let keys: BTreeMap<String, (String, String)> = [LGSP, POPULATION_NODE, LAND_NODE]
            .iter()
            .map(|n| ((*n).to_owned(), lienthong::node::generate_key().unwrap()))
            .collect();
        let placeholder: BTreeMap<String, String> = [POPULATION_NODE, LAND_NODE]
            .iter()
            .map(|n| ((*n).to_owned(), "grpc://127.0.0.1:9".to_owned()))
            .collect();
        let write = |urls: &BTreeMap<String, String>| {
            lienthong_synth::federated::write(&nodes_root, lienthong_synth::DEFAULT_SEED, &keys, urls).unwrap()
        };
        write(&placeholder);
        let nodes = nodes_root.join("nodes");
        let tls = mutual_tls.then(|| nodes_root.join("tls"));
        if let Some(tls) = &tls {
            certificates(tls);
            for name in [POPULATION_NODE, LAND_NODE] {
                edit(&nodes.join(name).join("catalog.yaml"), |c| {
                    let peer = c.peers.get_mut(LGSP).unwrap();
                    peer.certificates = vec![lienthong_spec::ClientCertificate::CommonName("hanoi-lgsp.test".into())];
                });
            }
        }
        let mut owners = BTreeMap::new();
        let mut urls = BTreeMap::new();
        for name in [POPULATION_NODE, LAND_NODE] {
            let (child, url) = spawn_owner(&nodes.join(name).join("catalog.yaml"), tls.as_deref());
            urls.insert(name.to_owned(), url.clone());
            owners.insert(name.to_owned(), (child, url));
        }
        write(&urls);
        if tls.is_some() {
            // Written whole: a grpc+tls:// source without `tls` would not load.
            let mut lgsp = lienthong_synth::federated::build(lienthong_synth::DEFAULT_SEED, &keys, &urls)
                .unwrap()
                .into_iter()
                .find(|n| n.name == LGSP)
                .unwrap()
                .catalog;
            for source in lgsp
                .sources
                .values_mut()
                .filter(|s| s.kind == lienthong_spec::SourceKind::Node)
            {
                source.tls = Some(node_tls(Some("lgsp")));
            }
            std::fs::write(
                nodes.join(LGSP).join("catalog.yaml"),
                lienthong_spec::to_yaml(&lgsp, &[]),
            )
            .unwrap();
        }
        let lgsp = open(&nodes.join(LGSP).join("catalog.yaml"), &home.join("lgsp-audit.jsonl"));
        let single = open(&data.join("catalog.yaml"), &home.join("single-audit.jsonl"));
        Self {
            owners,
            home: nodes,
            keys,
            lgsp,
            single,
        }
    }

    /// Stops `node`'s process.
    fn kill(&mut self, node: &str) {
        drop(self.owners.remove(node));
    }

    /// The LGSP catalog changed by `change`, opened in this process (a copy beside the original).
    fn lgsp_with(&self, variant: &str, change: impl FnOnce(&mut lienthong_spec::Catalog)) -> Catalog {
        let path = self.home.join(LGSP).join(format!("{variant}.yaml"));
        std::fs::copy(self.home.join(LGSP).join("catalog.yaml"), &path).unwrap();
        edit(&path, change);
        open(&path, &self.home.join(LGSP).join(format!("{variant}-audit.jsonl")))
    }

    /// Rewrites `node`'s catalog with `change` and has the running node reload it (SIGHUP).
    fn change_catalog(&self, node: &str, change: impl FnOnce(&mut lienthong_spec::Catalog)) {
        edit(&self.home.join(node).join("catalog.yaml"), change);
        let pid = self.owners[node].0.0.id().to_string();
        assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    }

    fn audit(&self, node: &str) -> Vec<serde_json::Value> {
        let path = if node == LGSP {
            self.lgsp.audit_path().to_owned()
        } else {
            self.home.join(node).join("audit").join("audit.jsonl")
        };
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

async fn run(
    catalog: &Catalog,
    principal: &str,
    purpose: Option<&str>,
    sql: &str,
) -> Result<Vec<RecordBatch>, lienthong::Error> {
    catalog.session(principal, purpose)?.sql(sql).await?.collect().await
}

/// The demo tour's scenarios, each principal's query run on one node and through three (and one
/// join whose order must change for the land tables to meet at the land node).
const SCENARIOS: &[(&str, Option<&str>, &str)] = &[
    (
        "ward-officer",
        Some("tthc"),
        "SELECT c.citizen_id, c.full_name, c.current_ward_code, c.phone, r.parcel_id, p.area_m2 \
         FROM population.citizens c JOIN land.rights r ON r.holder_citizen_id = c.citizen_id \
         JOIN land.parcels p ON p.parcel_id = r.parcel_id ORDER BY c.citizen_id, r.parcel_id",
    ),
    (
        "ward-officer",
        Some("tthc"),
        "SELECT count(*) AS outside_the_ward FROM population.citizens WHERE current_ward_code <> '00070'",
    ),
    (
        "business-registrar",
        Some("business-registration"),
        // Lookup-only at the population node: people named by ID (the demo data's, seed 2025,
        // 4 000 citizens), the name compared, never read.
        "SELECT citizen_id, permanent_ward_code, full_name = 'Nguyễn Thanh Yến' AS name_matches \
         FROM population.citizens WHERE citizen_id IN ('019063591355', '001199842468', '001087625738') \
         ORDER BY citizen_id",
    ),
    (
        "statistician",
        Some("statistics"),
        "SELECT current_province_code AS province, sex, count(*) AS people FROM population.citizens \
         GROUP BY 1, 2 ORDER BY 1, 2",
    ),
    (
        "public",
        None,
        "SELECT province_code, province_name FROM reference.provinces ORDER BY 1",
    ),
    (
        "land-officer",
        Some("land-management"),
        "SELECT p.parcel_id, p.ward_code, p.area_m2, r.holder_kind, r.holder_citizen_id \
         FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id ORDER BY p.parcel_id, r.holder_citizen_id",
    ),
    (
        "ward-officer",
        Some("tthc"),
        "SELECT r.parcel_id, c.full_name, p.area_m2, r.share FROM land.rights r          JOIN population.citizens c ON c.citizen_id = r.holder_citizen_id          JOIN land.parcels p ON p.parcel_id = r.parcel_id ORDER BY 1, 2",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn three_nodes_answer_the_scenarios_as_one_node_does_under_the_owners_policy() {
    let federation = Federation::start();
    for (principal, purpose, sql) in SCENARIOS {
        let single = run(&federation.single, principal, *purpose, sql).await.unwrap();
        let federated = run(&federation.lgsp, principal, *purpose, sql)
            .await
            .unwrap_or_else(|e| panic!("{principal}: {sql}: {e}"));
        assert!(single.iter().map(RecordBatch::num_rows).sum::<usize>() > 0, "{sql}");
        assert_eq!(pretty(&federated), pretty(&single), "{principal}: {sql}");
    }
    // Refusals come back as refusals: the statistician's owner allows aggregates only.
    let error = run(
        &federation.lgsp,
        "statistician",
        Some("statistics"),
        "SELECT sex FROM population.citizens",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, lienthong::Error::Denied(_) | lienthong::Error::Query(_)),
        "{error}"
    );

    // The land officer's join ran at the land node as one sub-query; what it returned is what
    // the LGSP received.
    let lgsp = federation.audit(LGSP);
    let land = federation.audit(LAND_NODE);
    // The ward officer's three-way join: one sub-query per owner, the land tables joined at the
    // land node (the joins regrouped so that they are contiguous).
    let paperless = lgsp
        .iter()
        .find(|r| {
            r["kind"] == "query"
                && r["principal"] == "ward-officer"
                && r["sql"].as_str().unwrap().contains("JOIN land.parcels")
        })
        .unwrap();
    let calls: Vec<&str> = paperless["remote_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["node"].as_str().unwrap())
        .collect();
    assert_eq!(calls, [POPULATION_NODE, LAND_NODE], "{paperless}");
    let joined_at_owner = land
        .iter()
        .find(|r| r["kind"] == "query" && r["via"]["correlation_id"] == paperless["remote_calls"][1]["correlation_id"])
        .unwrap();
    assert!(
        joined_at_owner["sql"].as_str().unwrap().contains("JOIN land.parcels"),
        "{joined_at_owner}"
    );
    let completion = lgsp
        .iter()
        .rev()
        .find(|r| r["kind"] == "completion" && r["principal"] == "land-officer")
        .expect("the land officer's completion");
    let calls = completion["remote_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{completion}");
    let correlation = calls[0]["correlation_id"].as_str().unwrap();
    let owner_query = land
        .iter()
        .find(|r| r["kind"] == "query" && r["via"]["correlation_id"] == correlation)
        .expect("the land node audited the sub-query with the correlation id");
    assert_eq!(owner_query["via"]["node"], LGSP);
    assert_eq!(owner_query["principal"], "land-officer");
    assert_eq!(owner_query["outcome"], "accepted");
    let owner_sql = owner_query["sql"].as_str().unwrap();
    assert!(owner_sql.contains("JOIN"), "the join went to the owner: {owner_sql}");
    let owner_completion = land
        .iter()
        .find(|r| r["kind"] == "completion" && r["query_id"] == owner_query["query_id"])
        .unwrap();
    assert_eq!(owner_completion["rows"], calls[0]["rows"]);
    assert_eq!(owner_completion["rows"], completion["rows"]);

    // Every log verifies.
    for node in [POPULATION_NODE, LAND_NODE] {
        lienthong::audit::verify(&federation.home.join(node).join("audit").join("audit.jsonl")).unwrap();
    }
    lienthong::audit::verify(federation.lgsp.audit_path()).unwrap();
    attacks::attacks(&federation).await;
}
