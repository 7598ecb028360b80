//! The demo tour: the six scenarios of the domain, run as the demo principals through the governed
//! engine, showing what each one sees and what is refused.

use std::path::Path;

use anyhow::Context;
use arrow::record_batch::RecordBatch;
use lienthong::mask::PseudonymSecret;
use lienthong::{Catalog, OpenOptions, Session};

/// Rows shown per result.
const SHOWN: usize = 5;

/// One step: who asks, why, and what.
struct Step {
    principal: &'static str,
    purpose: Option<&'static str>,
    sql: &'static str,
}

const fn step(principal: &'static str, purpose: Option<&'static str>, sql: &'static str) -> Step {
    Step {
        principal,
        purpose,
        sql,
    }
}

const SCENARIOS: &[(&str, &[Step])] = &[
    (
        "1. Paperless procedure: a ward officer checks an applicant and the parcel's rights, in the ward only",
        &[
            step(
                "ward-officer",
                Some("tthc"),
                "SELECT c.citizen_id, c.full_name, c.current_ward_code, c.phone, r.parcel_id, p.area_m2 \
                 FROM population.citizens c JOIN land.rights r ON r.holder_citizen_id = c.citizen_id \
                 JOIN land.parcels p ON p.parcel_id = r.parcel_id ORDER BY c.citizen_id LIMIT 5",
            ),
            step(
                "ward-officer",
                Some("tthc"),
                "SELECT count(*) AS outside_the_ward FROM population.citizens WHERE current_ward_code <> '00070'",
            ),
            step(
                "ward-officer",
                Some("tthc"),
                "SELECT ethnicity, religion FROM population.citizens",
            ),
        ],
    ),
    (
        "2. Business check: the registrar verifies legal representatives by lookup only (the register cannot be read)",
        &[step(
            "business-registrar",
            Some("business-registration"),
            "SELECT citizen_id, full_name, date_of_birth FROM population.citizens LIMIT 5",
        )],
    ),
    (
        "3. Conflict of interest: the inspectorate joins civil servants and company representatives by pseudonym",
        &[step(
            "inspector",
            Some("inspection"),
            "SELECT p.personnel_no, p.citizen_id AS person, e.enterprise_code, e.name \
             FROM civil_servants.personnel p JOIN business.enterprises e ON e.legal_representative_id = p.citizen_id \
             ORDER BY p.personnel_no LIMIT 5",
        )],
    ),
    (
        "4. Statistics and open data: aggregates only, groups under 10 people suppressed",
        &[
            step(
                "statistician",
                Some("statistics"),
                "SELECT current_province_code AS province, sex, count(*) AS people FROM population.citizens \
                 GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 6",
            ),
            step(
                "statistician",
                Some("statistics"),
                "SELECT sex, date_of_birth FROM population.citizens LIMIT 1",
            ),
            step(
                "public",
                None,
                "SELECT province_code, province_name FROM reference.provinces ORDER BY 1 LIMIT 5",
            ),
            step("public", None, "SELECT count(*) FROM population.citizens"),
        ],
    ),
    (
        "5. Land planning: the land department sees its province's parcels, holders pseudonymised",
        &[step(
            "land-officer",
            Some("land-management"),
            "SELECT p.parcel_id, p.ward_code, p.area_m2, r.holder_kind, r.holder_citizen_id \
             FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id ORDER BY p.parcel_id LIMIT 5",
        )],
    ),
];

fn show(batches: &[RecordBatch]) -> anyhow::Result<String> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut shown = Vec::new();
    let mut left = SHOWN;
    for batch in batches {
        if left == 0 {
            break;
        }
        let take = left.min(batch.num_rows());
        shown.push(batch.slice(0, take));
        left -= take;
    }
    Ok(format!(
        "{}\n({rows} row{})",
        arrow::util::pretty::pretty_format_batches(&shown)?,
        if rows == 1 { "" } else { "s" }
    ))
}

async fn ask(catalog: &Catalog, principal: &str, purpose: Option<&str>, sql: &str) -> anyhow::Result<()> {
    lienthong_server::say!();
    lienthong_server::say!(
        "  as {principal}{}:",
        purpose.map(|p| format!(" for {p}")).unwrap_or_default()
    );
    lienthong_server::say!("  > {}", sql.split_whitespace().collect::<Vec<_>>().join(" "));
    let session: Session = catalog.session(principal, purpose)?;
    match session.sql(sql).await {
        Ok(stream) => match stream.collect().await {
            Ok(batches) => lienthong_server::say!("{}", show(&batches)?),
            Err(e) => lienthong_server::say!("  refused: {e}"),
        },
        Err(e) => lienthong_server::say!("  refused: {e}"),
    }
    Ok(())
}

/// The node secret for the demo: the environment's, or one derived from the seed (demo only).
pub fn demo_secret(seed: u64) -> anyhow::Result<PseudonymSecret> {
    match PseudonymSecret::from_env() {
        Some(secret) => secret.map_err(anyhow::Error::msg),
        None => {
            PseudonymSecret::new(format!("lienthong demo pseudonym secret, seed {seed}")).map_err(anyhow::Error::msg)
        }
    }
}

/// Runs the tour on the demo catalog.
pub fn run(catalog_path: &Path, seed: u64) -> anyhow::Result<()> {
    let catalog = Catalog::open_with(
        catalog_path,
        OpenOptions {
            pseudonym_secret: Some(demo_secret(seed)?),
            ..OpenOptions::default()
        },
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        lienthong_server::say!();
        lienthong_server::say!(
            "A tour of governed queries (every one is audited in {}):",
            catalog.audit_path().display()
        );
        for (title, steps) in SCENARIOS {
            lienthong_server::say!();
            lienthong_server::say!("{title}");
            for step in *steps {
                ask(&catalog, step.principal, step.purpose, step.sql).await?;
            }
            if title.starts_with("2.") {
                verifications(&catalog).await?;
            }
        }
        who_looked(&catalog).await
    })
}

/// The text in column `column` of the first row, if any.
fn first_text(batches: &[RecordBatch], column: usize) -> Option<String> {
    let array = batches.iter().find(|b| b.num_rows() > 0)?.column(column);
    arrow::util::display::array_value_to_string(array, 0).ok()
}

/// Scenario 2's lookups: an enterprise the registrar names, its representative's name compared
/// (never read) and residence read, the quota that is left; then the ward officer confirming the
/// residence of the same person, who lives outside the ward, for a verification purpose.
async fn verifications(catalog: &Catalog) -> anyhow::Result<()> {
    let registrar = catalog.session("business-registrar", Some("business-registration"))?;
    let listed = registrar
        .sql("SELECT enterprise_code, legal_representative_id FROM business.enterprises ORDER BY enterprise_code LIMIT 1")
        .await?
        .collect()
        .await?;
    let (Some(code), Some(person)) = (first_text(&listed, 0), first_text(&listed, 1)) else {
        lienthong_server::say!("  (no enterprise in the province)");
        return Ok(());
    };
    let who = ("business-registrar", Some("business-registration"));
    ask(
        catalog,
        who.0,
        who.1,
        &format!(
            "SELECT e.enterprise_code, e.name, c.permanent_ward_code, c.full_name = 'Nguyễn Văn An' AS name_matches \
             FROM business.enterprises e JOIN population.citizens c ON c.citizen_id = e.legal_representative_id \
             WHERE e.enterprise_code = '{code}'"
        ),
    )
    .await?;
    ask(
        catalog,
        who.0,
        who.1,
        &format!(
            "SELECT citizen_id, permanent_ward_code, date_of_birth = DATE '1980-01-01' AS born_1980_01_01 \
             FROM population.citizens WHERE citizen_id = '{person}'"
        ),
    )
    .await?;
    lienthong_server::say!();
    for limit in registrar.quotas()?.iter().filter(|q| q.window != "query") {
        lienthong_server::say!(
            "  quota {}: {} of {} {} per {} used ({} left; `lienthong quota` shows it too)",
            limit.quota,
            limit.used,
            limit.limit,
            limit.unit,
            limit.window,
            limit.remaining
        );
    }
    ask(
        catalog,
        "ward-officer",
        Some("residence-verification"),
        &format!(
            "SELECT citizen_id, current_province_code, current_ward_code, full_name = 'Nguyễn Văn An' AS name_matches \
             FROM population.citizens WHERE citizen_id = '{person}'"
        ),
    )
    .await
}

/// Scenario 6: the owner lists who looked up one citizen, from the audit log.
async fn who_looked(catalog: &Catalog) -> anyhow::Result<()> {
    lienthong_server::say!();
    lienthong_server::say!("6. Who looked at my data: the owner agency lists the accesses to one citizen's record");
    let officer = catalog.session("ward-officer", Some("tthc"))?;
    let first = officer
        .sql("SELECT citizen_id FROM population.citizens ORDER BY citizen_id LIMIT 1")
        .await?
        .collect()
        .await?;
    let Some(id) = first.first().and_then(|b| {
        b.column(0)
            .as_any()
            .downcast_ref::<arrow::array::StringViewArray>()
            .map(|a| a.value(0).to_owned())
            .or_else(|| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::StringArray>()
                    .map(|a| a.value(0).to_owned())
            })
    }) else {
        lienthong_server::say!("  (no citizen in the ward)");
        return Ok(());
    };
    let lookup = format!("SELECT full_name, current_ward_code FROM population.citizens WHERE citizen_id = '{id}'");
    ask(catalog, "ward-officer", Some("tthc"), &lookup).await?;
    let digest = catalog.literal_digest(&id);
    let log = std::fs::read_to_string(catalog.audit_path()).context("reading the audit log")?;
    lienthong_server::say!();
    lienthong_server::say!("  accesses naming citizen {id} in the audit log:");
    for line in log.lines() {
        let record: serde_json::Value = serde_json::from_str(line)?;
        let names = record["literal_digests"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x == &digest));
        if names {
            lienthong_server::say!(
                "  {}  {} ({}) for {}: {}",
                record["time"].as_str().unwrap_or_default(),
                record["principal"].as_str().unwrap_or_default(),
                record["agency"].as_str().unwrap_or_default(),
                record["purpose"].as_str().unwrap_or_default(),
                record["outcome"].as_str().unwrap_or_default(),
            );
        }
    }
    Ok(())
}
