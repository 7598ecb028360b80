//! `lienthong demo`: the demo data (generated once), what it holds, who can see what, what next.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use lienthong_spec::{Catalog, Classification, PUBLIC_PRINCIPAL};
use lienthong_synth::{CATALOG_FILE, CREDENTIALS_FILE};

use super::generate::group;

/// Generates into `dir` unless it already holds demo data, then prints the tour's starting point.
pub fn run(dir: &Path, citizens: u64, seed: u64, regenerate: bool, progress: bool) -> anyhow::Result<ExitCode> {
    let catalog_path = dir.join(CATALOG_FILE);
    if regenerate || !catalog_path.exists() {
        lienthong_server::say!("Generating the demo data into {} …", dir.display());
        super::generate::run(dir, citizens, seed, progress)?;
    } else {
        lienthong_server::say!(
            "Using the demo data already in {} (add --regenerate to write it again).",
            dir.display()
        );
    }
    let file =
        lienthong_spec::load(&catalog_path).with_context(|| format!("the demo catalog {}", catalog_path.display()))?;
    let tables = lienthong_synth::inventory(dir).context("reading the demo data")?;
    let credentials_path = dir.join(CREDENTIALS_FILE);
    let credentials: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(&credentials_path)
            .with_context(|| format!("reading {}", credentials_path.display()))?,
    )
    .with_context(|| format!("reading {}", credentials_path.display()))?;

    lienthong_server::say!();
    lienthong_server::say!("Tables ({}):", tables.len());
    lienthong_server::say!("  {:<34} {:>12}  stored in", "database.table", "rows");
    for t in &tables {
        let class = file
            .catalog
            .databases
            .get(&t.database)
            .and_then(|d| d.tables.get(&t.table))
            .map(|t| t.classification);
        let open = if class == Some(Classification::Open) {
            "  (open)"
        } else {
            ""
        };
        let shown = t.path.strip_prefix(dir).unwrap_or(&t.path);
        lienthong_server::say!(
            "  {:<34} {:>12}  {}{open}",
            format!("{}.{}", t.database, t.table),
            group(t.rows),
            shown.display()
        );
    }
    lienthong_server::say!();
    lienthong_server::say!(
        "Principals, their purposes and tables, and their demo secrets (also in {}):",
        credentials_path.display()
    );
    for (id, principal) in &file.catalog.principals {
        let (purposes, granted) = reach(&file.catalog, id);
        let secret = credentials.get(id).map_or("(none)", String::as_str);
        let who = principal.description.as_ref().map_or("", |d| d.en.as_str());
        lienthong_server::say!("  {id:<20} {who}");
        lienthong_server::say!(
            "  {:<20} purpose {}; secret {secret}",
            "",
            purposes.into_iter().collect::<Vec<_>>().join(", ")
        );
        lienthong_server::say!(
            "  {:<20} tables: {}",
            "",
            granted.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    let open: Vec<String> = file
        .catalog
        .databases
        .iter()
        .flat_map(|(db, d)| {
            d.tables
                .iter()
                .filter(|(_, t)| t.classification == Classification::Open)
                .map(move |(t, _)| format!("{db}.{t}"))
        })
        .collect();
    lienthong_server::say!("  {PUBLIC_PRINCIPAL:<20} anyone, no credential and no purpose");
    lienthong_server::say!("  {:<20} tables: {}", "", open.join(", "));
    lienthong_server::say!();
    lienthong_server::say!("Catalog: {} (valid). Try next:", catalog_path.display());
    lienthong_server::say!("  lienthong validate {}", catalog_path.display());
    lienthong_server::say!(
        "  less {}            # the grants, row filters, masks and tag rules",
        catalog_path.display()
    );
    lienthong_server::say!("  see README.md \"A 5-minute tour\" and catalog-spec/SPEC.md for the format");
    super::tour::run(&catalog_path, seed)?;
    lienthong_server::say!();
    lienthong_server::say!("Your turn, for example:");
    lienthong_server::say!(
        "  lienthong query --catalog {} --as ward-officer --purpose tthc \"SELECT full_name, phone FROM population.citizens LIMIT 5\"",
        catalog_path.display()
    );
    lienthong_server::say!(
        "  lienthong explain --catalog {} --as land-officer --purpose land-management \"SELECT count(*) FROM land.parcels\"",
        catalog_path.display()
    );
    lienthong_server::say!("  lienthong audit verify {}", dir.join("audit/audit.jsonl").display());
    Ok(ExitCode::SUCCESS)
}

/// Serves the demo catalog and prints how to connect as the demo principals.
pub fn serve(dir: &Path, seed: u64, server: &super::serve::ServerArgs) -> anyhow::Result<ExitCode> {
    let catalog_path = dir.join(CATALOG_FILE);
    let catalog = lienthong::Catalog::open_with(
        &catalog_path,
        lienthong::OpenOptions {
            pseudonym_secret: Some(super::tour::demo_secret(seed)?),
            limits: server.limits(),
            ..lienthong::OpenOptions::default()
        },
    )?;
    let credentials_path = dir.join(CREDENTIALS_FILE);
    let credentials: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(&credentials_path)?).context("reading the demo credentials")?;
    let secret = credentials
        .get("ward-officer")
        .map_or("<secret>", String::as_str)
        .to_owned();
    super::serve::serve(catalog, server, move |addr| {
        let uri = format!("grpc://{addr}");
        lienthong_server::say!();
        lienthong_server::say!("Connect from Python (pip install adbc-driver-flightsql pyarrow):");
        lienthong_server::say!();
        lienthong_server::say!("  import adbc_driver_flightsql.dbapi as flightsql");
        lienthong_server::say!("  conn = flightsql.connect(\"{uri}\", db_kwargs={{");
        lienthong_server::say!("      \"username\": \"ward-officer\", \"password\": \"{secret}\",");
        lienthong_server::say!("      \"adbc.flight.sql.rpc.call_header.x-lienthong-purpose\": \"tthc\"}})");
        lienthong_server::say!("  cur = conn.cursor()");
        lienthong_server::say!(
            "  cur.execute(\"SELECT full_name, phone FROM population.citizens WHERE sex = $1 LIMIT 5\", (\"female\",))"
        );
        lienthong_server::say!("  print(cur.fetch_arrow_table())");
        lienthong_server::say!();
        lienthong_server::say!("  import pyarrow.flight as fl");
        lienthong_server::say!("  client = fl.FlightClient(\"{uri}\")");
        lienthong_server::say!("  token = client.authenticate_basic_token(\"ward-officer\", \"{secret}\")");
        lienthong_server::say!(
            "  options = fl.FlightCallOptions(headers=[token, (b\"x-lienthong-purpose\", b\"tthc\")])"
        );
        lienthong_server::say!("  for info in client.list_flights(options=options): print(info.descriptor.path)");
        lienthong_server::say!();
        lienthong_server::say!("  Anyone can connect without credentials as `public` (open tables only).");
        lienthong_server::say!();
    })
}

/// The purposes and tables the grants naming `principal` cover.
fn reach(catalog: &Catalog, principal: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut purposes = BTreeSet::new();
    let mut tables = BTreeSet::new();
    for grant in catalog
        .grants
        .values()
        .filter(|g| g.to.principals.iter().any(|p| p == principal))
    {
        purposes.extend(grant.purposes.iter().cloned());
        let aggregate = if grant.aggregate_only.is_some() {
            " (aggregates only)"
        } else {
            ""
        };
        tables.insert(format!("{}{aggregate}", grant.table));
    }
    (purposes, tables)
}
