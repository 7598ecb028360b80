//! The answer a governed query must give, computed the other way round: a plain DataFusion context
//! holding, for one principal, a pre-filtered and pre-masked copy of exactly the tables it may see
//! (written by hand from the demo principals' table in the issue, with masks implemented here
//! independently of the engine's). Any query, run on both, must give the same rows; a query that
//! fails on the copy must fail on the engine.

use std::sync::Arc;
use std::time::Duration;

use datafusion_table_providers_common::sql::db_connection_pool::Mode;
use datafusion_table_providers_sqlite::SqliteTableFactory;
use datafusion_table_providers_sqlite::pool::SqliteConnectionPoolFactory;
use hmac::{Hmac, Mac};
use lienthong::datafusion::arrow::array::{ArrayRef, StringArray};
use lienthong::datafusion::arrow::datatypes::DataType;
use lienthong::datafusion::catalog::{CatalogProvider, MemTable, MemoryCatalogProvider, MemorySchemaProvider};
use lienthong::datafusion::common::cast::as_string_array;
use lienthong::datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use lienthong::datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use sha2::Sha256;

use crate::common::{SECRET, demo_dir};

/// One visible table of the copy: its columns (`*` = every column not tagged `pii.sensitive`),
/// the masks as SQL over the raw column, and the row filter as SQL.
pub struct View {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    pub masks: &'static [(&'static str, &'static str)],
    pub filter: Option<&'static str>,
}

const OPEN: [&str; 5] = [
    "reference.provinces",
    "reference.provinces_pre2025",
    "reference.wards",
    "reference.land_use_codes",
    "business.enterprise_register",
];

const RESIDENT: &[&str] = &[
    "citizen_id",
    "full_name",
    "date_of_birth",
    "sex",
    "birth_registration_province",
    "home_town",
    "nationality",
    "permanent_ward_code",
    "permanent_province_code",
    "current_ward_code",
    "current_province_code",
    "marital_status",
    "father_id",
    "mother_id",
    "spouse_id",
    "household_id",
    "relationship_to_head",
    "phone",
    "date_of_death",
];

/// What each demo principal may see, from the table.
pub fn views(principal: &str) -> Vec<View> {
    let v = |table, columns, masks, filter| View {
        table,
        columns,
        masks,
        filter,
    };
    const KEEP_LAST_3: &str = "CASE WHEN character_length(phone) <= 3 THEN repeat('*', character_length(phone)) \
        ELSE concat(repeat('*', character_length(phone) - 3), right(phone, 3)) END";
    const INSPECTOR: &str = "000.00.20.H26";
    match principal {
        "ward-officer" => vec![
            v(
                "population.citizens",
                RESIDENT,
                &[("phone", KEEP_LAST_3)],
                Some("current_ward_code = '00070'"),
            ),
            v("population.households", &["*"], &[], Some("ward_code = '00070'")),
            v("land.parcels", &["*"], &[], Some("ward_code = '00070'")),
            v("land.rights", &["*"], &[], Some("ward_code = '00070'")),
        ],
        "business-registrar" => vec![
            v(
                "business.enterprises",
                &["*"],
                &[],
                Some("head_office_province_code = '01'"),
            ),
            v(
                "population.citizens",
                &["citizen_id", "full_name", "date_of_birth", "permanent_ward_code"],
                &[],
                None,
            ),
        ],
        "inspector" => {
            let _ = INSPECTOR;
            vec![
                v(
                    "civil_servants.personnel",
                    &["*"],
                    &[("citizen_id", "pseudonym('000.00.20.H26', citizen_id)")],
                    Some("agency_province_code = '01'"),
                ),
                v("civil_servants.agencies", &["*"], &[], None),
                v(
                    "business.enterprises",
                    &[
                        "enterprise_code",
                        "name",
                        "legal_form",
                        "status",
                        "head_office_province_code",
                        "legal_representative_id",
                    ],
                    &[(
                        "legal_representative_id",
                        "pseudonym('000.00.20.H26', legal_representative_id)",
                    )],
                    None,
                ),
                v(
                    "business.shareholders",
                    &["*"],
                    &[("holder_citizen_id", "pseudonym('000.00.20.H26', holder_citizen_id)")],
                    None,
                ),
            ]
        }
        "land-officer" => vec![
            v("land.parcels", &["*"], &[], Some("province_code = '01'")),
            v(
                "land.rights",
                &["*"],
                &[("holder_citizen_id", "pseudonym('000.00.15.H26', holder_citizen_id)")],
                Some("province_code = '01'"),
            ),
        ],
        "population-owner" => vec![
            v("population.citizens", &["**"], &[], None),
            v("population.households", &["**"], &[], None),
        ],
        _ => Vec::new(),
    }
}

/// HMAC pseudonym, written from the documented construction (not the engine's code).
fn pseudonym(agency: &str, value: &str) -> String {
    let mut kdf = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    kdf.update(b"lienthong-pseudonym-agency:");
    kdf.update(agency.as_bytes());
    let key = kdf.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(value.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("p_{hex}")
}

/// Every demo table, raw, as `<database>_<table>` in a plain context.
async fn raw_context() -> SessionContext {
    let ctx = SessionContext::new();
    let dir = demo_dir();
    for (name, file) in [
        ("reference_provinces", "reference/provinces.parquet"),
        ("reference_provinces_pre2025", "reference/provinces_pre2025.parquet"),
        ("reference_wards", "reference/wards.parquet"),
        ("reference_land_use_codes", "reference/land_use_codes.parquet"),
        ("population_citizens", "population/citizens.parquet"),
        ("population_households", "population/households.parquet"),
        ("land_parcels", "land/parcels.parquet"),
        ("land_rights", "land/rights.parquet"),
    ] {
        let path = dir.join(file);
        ctx.register_parquet(name, path.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
    }
    let sqlite = dir.join("registries.sqlite");
    let pool = SqliteConnectionPoolFactory::new(sqlite.to_str().unwrap(), Mode::File, Duration::from_secs(5))
        .build()
        .await
        .unwrap();
    let factory = SqliteTableFactory::new(Arc::new(pool));
    for (name, table) in [
        ("business_enterprises", "enterprises"),
        ("business_enterprise_register", "enterprise_register"),
        ("business_shareholders", "shareholders"),
        ("civil_servants_agencies", "agencies"),
        ("civil_servants_personnel", "personnel"),
    ] {
        ctx.register_table(name, factory.table_provider(table.into()).await.unwrap())
            .unwrap();
    }
    ctx.register_udf(create_udf(
        "pseudonym",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let agency = as_string_array(&arrays[0])?;
            let values = as_string_array(&arrays[1])?;
            let out: StringArray = agency
                .iter()
                .zip(values.iter())
                .map(|(a, v)| Some(pseudonym(a?, v?)))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    ));
    ctx
}

/// The pre-filtered, pre-masked copy of what `principal` may see, in a context where queries name
/// tables as they do in lienthong.
pub async fn context(principal: &str) -> SessionContext {
    let raw = raw_context().await;
    let spec = lienthong::spec::load(demo_dir().join(lienthong_synth::CATALOG_FILE))
        .unwrap()
        .catalog;
    let node = spec.node.name.clone();
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_create_default_catalog_and_schema(false)
        .with_default_catalog_and_schema(&node, "__none__");
    let ctx = SessionContext::new_with_config(config);
    let catalog = Arc::new(MemoryCatalogProvider::new());
    let mut views = views(principal);
    for table in OPEN {
        views.push(View {
            table,
            columns: &["**"],
            masks: &[],
            filter: None,
        });
    }
    for view in views {
        let (database, table) = view.table.split_once('.').unwrap();
        let definition = &spec.databases[database].tables[table];
        let columns: Vec<String> = definition
            .columns
            .iter()
            .filter(|c| match view.columns {
                ["**"] => true,
                ["*"] => !c.tags.iter().any(|t| t == "pii.sensitive"),
                listed => listed.contains(&c.name.as_str()),
            })
            .map(|c| match view.masks.iter().find(|(m, _)| *m == c.name) {
                Some((_, sql)) => format!("{sql} AS {}", c.name),
                None => c.name.clone(),
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM {database}_{table}{}",
            columns.join(", "),
            view.filter.map(|f| format!(" WHERE {f}")).unwrap_or_default()
        );
        let frame = raw.sql(&sql).await.unwrap();
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await.unwrap();
        let schema = batches.first().map_or(schema, |b| b.schema());
        let schema_provider = catalog.schema(database).unwrap_or_else(|| {
            let s = Arc::new(MemorySchemaProvider::new());
            catalog.register_schema(database, s.clone()).unwrap();
            s
        });
        schema_provider
            .register_table(
                table.to_owned(),
                Arc::new(MemTable::try_new(schema, vec![batches]).unwrap()),
            )
            .unwrap();
    }
    ctx.register_catalog(&node, catalog);
    ctx
}
