//! `lienthong demo --federated`: the demo as three agencies' nodes, each a `lienthong serve`
//! process on loopback with its own catalog, key and audit log. The population owner and the land
//! owner answer the Hà Nội LGSP under their own policies; the demo principals sign in at the LGSP
//! over Flight SQL, run the paperless scenario, and the demo prints what each node logged.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

use anyhow::{Context, bail};
use arrow::record_batch::RecordBatch;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::TryStreamExt;
use lienthong_synth::federated::{LAND_NODE, LGSP, POPULATION_NODE};
use lienthong_synth::{CATALOG_FILE, CREDENTIALS_FILE};

/// The steps run at the LGSP: who, for which purpose, what.
const STEPS: &[(&str, &str, &str)] = &[
    (
        "ward-officer",
        "tthc",
        "SELECT c.citizen_id, c.full_name, c.current_ward_code, r.parcel_id, p.area_m2 \
         FROM population.citizens c JOIN land.rights r ON r.holder_citizen_id = c.citizen_id \
         JOIN land.parcels p ON p.parcel_id = r.parcel_id ORDER BY c.citizen_id LIMIT 5",
    ),
    (
        "ward-officer",
        "tthc",
        "SELECT count(*) AS outside_the_ward FROM population.citizens WHERE current_ward_code <> '00070'",
    ),
    (
        "ward-officer",
        "tthc",
        "SELECT ethnicity, religion FROM population.citizens",
    ),
    (
        "business-registrar",
        "business-registration",
        // The population node lets the registrar look people up by ID only: a bulk read is
        // refused there, whatever the LGSP would allow.
        "SELECT citizen_id, full_name FROM population.citizens LIMIT 3",
    ),
    (
        "land-officer",
        "land-management",
        "SELECT p.ward_code, count(*) AS parcels, sum(p.area_m2) AS area_m2 \
         FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id \
         GROUP BY p.ward_code ORDER BY parcels DESC LIMIT 3",
    ),
];

/// A node's process; stopped when dropped.
struct Node {
    name: &'static str,
    child: Child,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Generates the demo data if `dir` has none, writes the three nodes' catalogs and keys under
/// `dir/nodes`, starts them, runs the scenario at the LGSP and prints the nodes' audit records.
/// With `serve`, the nodes keep running until Ctrl-C.
pub fn run(dir: &Path, citizens: u64, seed: u64, progress: bool, serve: bool) -> anyhow::Result<ExitCode> {
    if !dir.join(CATALOG_FILE).exists() {
        lienthong_server::say!("Generating the demo data into {} …", dir.display());
        super::generate::run(dir, citizens, seed, progress)?;
    }
    let secret = match std::env::var("LIENTHONG_PSEUDONYM_KEY") {
        Ok(secret) => secret,
        // The demo's pseudonym key, shared by the nodes (demo only: each agency keeps its own).
        Err(_) => format!("lienthong demo pseudonym secret, seed {seed}"),
    };
    let keys: BTreeMap<String, (String, String)> = [LGSP, POPULATION_NODE, LAND_NODE]
        .iter()
        .map(|n| Ok(((*n).to_owned(), lienthong::node::generate_key()?)))
        .collect::<anyhow::Result<_>>()?;
    let nodes_dir = dir.join("nodes");
    let write = |urls: &BTreeMap<String, String>| {
        lienthong_synth::federated::write(dir, seed, &keys, urls).context("writing the nodes' catalogs")
    };
    // The owners first (their catalogs do not depend on the addresses), then the LGSP.
    let placeholder = [POPULATION_NODE, LAND_NODE]
        .map(|n| (n.to_owned(), "grpc://127.0.0.1:9".to_owned()))
        .into();
    write(&placeholder)?;
    let population = start(POPULATION_NODE, &nodes_dir, &secret)?;
    let land = start(LAND_NODE, &nodes_dir, &secret)?;
    write(
        &[population.url.clone(), land.url.clone()]
            .into_iter()
            .zip([POPULATION_NODE, LAND_NODE])
            .map(|(url, n)| (n.to_owned(), url))
            .collect(),
    )?;
    let lgsp = start(LGSP, &nodes_dir, &secret)?;
    let nodes = [&population, &land, &lgsp];

    lienthong_server::say!();
    lienthong_server::say!("Three nodes on loopback, each with its own catalog, node key and audit log:");
    for node in nodes {
        lienthong_server::say!(
            "  {:<11} {:<28} {}",
            node.name,
            node.url,
            nodes_dir.join(node.name).join(CATALOG_FILE).display()
        );
    }
    lienthong_server::say!("The owners trust the LGSP's key for the callers' agencies and purposes it may speak for;");
    lienthong_server::say!("the LGSP pins the owners' keys. Officials sign in at the LGSP only.");

    let logs: Vec<PathBuf> = nodes
        .iter()
        .map(|n| nodes_dir.join(n.name).join("audit").join("audit.jsonl"))
        .collect();
    let before: Vec<usize> = logs.iter().map(|l| records(l).len()).collect();
    let credentials: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(dir.join(CREDENTIALS_FILE)).context("reading the demo credentials")?,
    )
    .context("reading the demo credentials")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        lienthong_server::say!();
        lienthong_server::say!("The paperless procedure, asked at the LGSP ({}):", lgsp.url);
        for (principal, purpose, sql) in STEPS {
            let secret = credentials.get(*principal).map_or("", String::as_str);
            lienthong_server::say!();
            lienthong_server::say!("  as {principal} for {purpose}:");
            lienthong_server::say!("  > {}", sql.split_whitespace().collect::<Vec<_>>().join(" "));
            match ask(&lgsp.url, principal, secret, purpose, sql).await {
                Ok(batches) => lienthong_server::say!("{}", arrow::util::pretty::pretty_format_batches(&batches)?),
                Err(status) => lienthong_server::say!("  refused: {}", status.message()),
            }
        }
        anyhow::Ok(())
    })?;

    lienthong_server::say!();
    lienthong_server::say!("What each node logged for these queries:");
    let mut correlation = None;
    for ((node, log), skip) in nodes.iter().zip(&logs).zip(before) {
        lienthong_server::say!();
        lienthong_server::say!("  {} ({}):", node.name, log.display());
        for record in records(log).into_iter().skip(skip).filter(|r| r["kind"] == "query") {
            let via = &record["via"];
            let caller = if via.is_null() {
                record["principal"].as_str().unwrap_or_default().to_owned()
            } else {
                format!(
                    "{} of {} via {} [{}]",
                    record["principal"].as_str().unwrap_or_default(),
                    record["agency"].as_str().unwrap_or_default(),
                    via["node"].as_str().unwrap_or_default(),
                    via["correlation_id"].as_str().unwrap_or_default()
                )
            };
            lienthong_server::say!(
                "    {} {caller} for {}: {}",
                record["outcome"].as_str().unwrap_or_default(),
                record["purpose"].as_str().unwrap_or("-"),
                record["sql"].as_str().unwrap_or_default()
            );
            for call in record["remote_calls"].as_array().into_iter().flatten() {
                let id = call["correlation_id"].as_str().unwrap_or_default();
                lienthong_server::say!("      → sent to {} [{id}]", call["node"].as_str().unwrap_or_default());
                correlation.get_or_insert_with(|| id.to_owned());
            }
        }
    }
    lienthong_server::say!();
    lienthong_server::say!("Join the nodes' logs on one call:");
    lienthong_server::say!(
        "  lienthong audit trace {} {}",
        correlation.unwrap_or_else(|| "<correlation id>".into()),
        logs.iter()
            .map(|l| format!("--log {}", l.display()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if serve {
        lienthong_server::say!();
        lienthong_server::say!(
            "The nodes keep running (Ctrl-C to stop). Connect to the LGSP at {} as in `lienthong demo`.",
            lgsp.url
        );
        runtime.block_on(tokio::signal::ctrl_c())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts `lienthong serve` for `name`'s catalog on a free loopback port; its log goes to
/// `serve.log` beside the catalog.
fn start(name: &'static str, nodes_dir: &Path, secret: &str) -> anyhow::Result<Node> {
    let home = nodes_dir.join(name);
    let log = home.join("serve.log");
    let catalog = home.join(CATALOG_FILE);
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--quiet", "serve", "--catalog"])
        .arg(&catalog)
        .args(["--addr", "127.0.0.1:0"])
        .env("LIENTHONG_PSEUDONYM_KEY", secret)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .with_context(|| format!("starting the {name} node"))?;
    let stdout = child.stdout.take().context("the node's output")?;
    let mut node = Node {
        name,
        child,
        url: String::new(),
    };
    let mut lines = std::io::BufReader::new(stdout).lines();
    node.url = loop {
        let Some(Ok(line)) = lines.next() else {
            bail!(
                "the {name} node did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default().trim()
            );
        };
        if let Some(at) = line.find("grpc://") {
            break line[at..].split_whitespace().next().unwrap_or_default().to_owned();
        }
    };
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    Ok(node)
}

/// Runs `sql` at `url` as a Flight SQL client signed in as `principal`.
async fn ask(
    url: &str,
    principal: &str,
    secret: &str,
    purpose: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(url.replace("grpc://", "http://"))
        .map_err(|e| tonic::Status::invalid_argument(e.to_string()))?
        .connect()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut client = FlightSqlServiceClient::new(channel);
    client.handshake(principal, secret).await.map_err(status)?;
    client.set_header("x-lienthong-purpose", purpose);
    let info = client.execute(sql.to_owned(), None).await.map_err(status)?;
    let mut batches = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.ok_or_else(|| tonic::Status::internal("no ticket"))?;
        let stream = client.do_get(ticket).await.map_err(status)?;
        batches.extend(stream.try_collect::<Vec<_>>().await.map_err(status)?);
    }
    Ok(batches)
}

/// A client-side error as the status it carries (the message of the server's refusal).
fn status(error: impl std::fmt::Display) -> tonic::Status {
    let text = error.to_string();
    // The server's message, without the client library's wrapping or escaped details.
    let message = text
        .split_once("message: \"")
        .map_or(text.as_str(), |(_, m)| m.split(['"', '\\']).next().unwrap_or(m));
    tonic::Status::unknown(message.to_owned())
}

/// The audit records in `log` (none if it does not exist yet).
fn records(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
