//! The oracle: the answer a governed query must give, computed the other way round. A plain
//! DataFusion context holds, for one demo principal, a pre-filtered and pre-masked copy of exactly
//! the tables it may see, written by hand from the demo principals' table (issue 6) with masks
//! implemented here, independently of the engine's code (no `lienthong` policy, mask or governance
//! function is called). Any query, run on both, must give the same rows.

use std::sync::Arc;

use std::path::Path;

use hmac::{Hmac, Mac};
use lienthong::datafusion::arrow::array::{ArrayRef, StringArray};
use lienthong::datafusion::arrow::datatypes::DataType;
use lienthong::datafusion::arrow::datatypes::SchemaRef;
use lienthong::datafusion::catalog::{CatalogProvider, MemTable, MemoryCatalogProvider, MemorySchemaProvider};
use lienthong::datafusion::common::cast::as_string_array;
use lienthong::datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use lienthong::datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use sha2::Sha256;

use crate::generate::{Model, Table, Ty};
use lienthong::datafusion::arrow::array::RecordBatch;
use lienthong::datafusion::arrow::compute::{CastOptions, cast, cast_with_options};
use lienthong::datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
use lienthong::datafusion::execution::SessionStateBuilder;
use lienthong::spec::{Column, ColumnType};

use anyhow::{Result, anyhow};
use lienthong::datafusion::error::DataFusionError;

/// One visible table of the copy: its columns (`*` = every column not tagged `pii.sensitive`),
/// the masks as SQL over the raw column, and the row filter as SQL.
struct View {
    table: &'static str,
    columns: &'static [&'static str],
    masks: &'static [(&'static str, &'static str)],
    filter: Option<&'static str>,
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
fn views(principal: &str) -> Vec<View> {
    let v = |table, columns, masks, filter| View {
        table,
        columns,
        masks,
        filter,
    };
    const KEEP_LAST_3: &str = "CASE WHEN phone IS NULL THEN NULL WHEN character_length(phone) <= 3 THEN repeat('*', character_length(phone)) \
        ELSE concat(repeat('*', character_length(phone) - 3), right(phone, 3)) END";
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
        "inspector" => vec![
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
        ],
        "land-officer" => vec![
            v("land.parcels", &["*"], &[], Some("province_code = '01'")),
            v(
                "land.rights",
                &["*"],
                &[("holder_citizen_id", "pseudonym('000.00.15.H26', holder_citizen_id)")],
                Some("province_code = '01'"),
            ),
        ],
        "statistician" => vec![v(
            "population.citizens",
            &["current_province_code", "current_ward_code", "date_of_birth", "sex"],
            &[("date_of_birth", "CAST(date_trunc('year', date_of_birth) AS DATE)")],
            None,
        )],
        "population-owner" => vec![
            v("population.citizens", &["**"], &[], None),
            v("population.households", &["**"], &[], None),
        ],
        _ => Vec::new(),
    }
}

/// The minimum group size and the tables of an aggregate-only principal (the demo's statistics
/// grant); the open tables it also reads are not aggregate-only.
pub fn aggregate_only(principal: &str) -> Option<(u64, &'static [&'static str])> {
    (principal == "statistician").then_some((10, &["population.citizens"]))
}

/// HMAC pseudonym, written from the documented construction (SPEC.md), not the engine's code.
fn pseudonym(secret: &str, agency: &str, value: &str) -> Result<String> {
    let mut kdf = Hmac::<Sha256>::new_from_slice(secret.as_bytes())?;
    kdf.update(b"lienthong-pseudonym-agency:");
    kdf.update(agency.as_bytes());
    let key = kdf.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)?;
    mac.update(value.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("p_{hex}"))
}

/// The demo's Parquet tables: database, table, file under the data directory.
const PARQUET: &[(&str, &str, &str)] = &[
    ("reference", "provinces", "reference/provinces.parquet"),
    ("reference", "provinces_pre2025", "reference/provinces_pre2025.parquet"),
    ("reference", "wards", "reference/wards.parquet"),
    ("reference", "land_use_codes", "reference/land_use_codes.parquet"),
    ("population", "citizens", "population/citizens.parquet"),
    ("population", "households", "population/households.parquet"),
    ("land", "parcels", "land/parcels.parquet"),
    ("land", "rights", "land/rights.parquet"),
];

/// The demo's tables in `registries.sqlite`: database, table.
const SQLITE: &[(&str, &str)] = &[
    ("business", "enterprises"),
    ("business", "enterprise_register"),
    ("business", "shareholders"),
    ("civil_servants", "agencies"),
    ("civil_servants", "personnel"),
];

/// Every demo table, raw, as `<database>_<table>` in a plain context, with a `pseudonym(agency,
/// value)` function keyed by `secret` (the secret the engine was opened with).
pub async fn raw_context(dir: &Path, secret: &str) -> Result<SessionContext> {
    let ctx = SessionContext::new();
    for (database, table, file) in PARQUET {
        let path = dir.join(file);
        ctx.register_parquet(
            format!("{database}_{table}"),
            text(&path)?,
            ParquetReadOptions::default(),
        )
        .await?;
    }
    let spec = lienthong::spec::load(dir.join(lienthong_synth::CATALOG_FILE))
        .map_err(|e| anyhow!("{e}"))?
        .catalog;
    let sqlite = rusqlite::Connection::open_with_flags(
        dir.join("registries.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    for (database, table) in SQLITE {
        let definition = spec
            .databases
            .get(*database)
            .and_then(|d| d.tables.get(*table))
            .ok_or_else(|| anyhow!("{database}.{table}: not in the demo catalog"))?;
        let batch = sqlite_table(&sqlite, table, &definition.columns)?;
        let provider = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        ctx.register_table(format!("{database}_{table}"), Arc::new(provider))?;
    }
    let secret = secret.to_owned();
    ctx.register_udf(create_udf(
        "pseudonym",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let agency = as_string_array(&arrays[0])?;
            let values = as_string_array(&arrays[1])?;
            let out = agency
                .iter()
                .zip(values.iter())
                .map(|(a, v)| match (a, v) {
                    (Some(a), Some(v)) => pseudonym(&secret, a, v)
                        .map(Some)
                        .map_err(|e| DataFusionError::Execution(e.to_string())),
                    _ => Ok(None),
                })
                .collect::<Result<StringArray, _>>()?;
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    ));
    Ok(ctx)
}

/// A SQLite table read with rusqlite into the types the catalog declares (dates as
/// `YYYY-MM-DD` text, times as RFC 3339 text): what a careful analyst would load by hand.
fn sqlite_table(connection: &rusqlite::Connection, table: &str, columns: &[Column]) -> Result<RecordBatch> {
    use rusqlite::types::ValueRef;
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let mut statement = connection.prepare(&format!("SELECT {} FROM {table}", names.join(", ")))?;
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); columns.len()];
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        for (i, column) in cells.iter_mut().enumerate() {
            column.push(match row.get_ref(i)? {
                ValueRef::Null => None,
                ValueRef::Integer(n) => Some(n.to_string()),
                ValueRef::Real(x) => Some(x.to_string()),
                ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
            });
        }
    }
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (column, values) in columns.iter().zip(cells) {
        let text: ArrayRef = Arc::new(StringArray::from(values));
        let data_type = match column.data_type {
            ColumnType::String => DataType::Utf8,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        };
        let array = match column.data_type {
            // SQLite keeps booleans as 0/1.
            ColumnType::Boolean => cast(&cast(&text, &DataType::Int64)?, &DataType::Boolean)?,
            _ => cast_with_options(
                &text,
                &data_type,
                &CastOptions {
                    safe: false,
                    ..CastOptions::default()
                },
            )?,
        };
        fields.push(Field::new(&column.name, data_type, true));
        arrays.push(array);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

fn text(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| anyhow!("{}: not a UTF-8 path", path.display()))
}

/// The pre-filtered, pre-masked copy of what `principal` may see, in a context where queries name
/// tables as they do in lienthong (`database.table` under the node's catalog). `dir` holds the
/// demo data (`lienthong generate`); `raw` is its [`raw_context`].
pub async fn copy(raw: &SessionContext, dir: &Path, principal: &str) -> Result<SessionContext> {
    let spec = lienthong::spec::load(dir.join(lienthong_synth::CATALOG_FILE))
        .map_err(|e| anyhow!("{e}"))?
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
        let (database, table) = view
            .table
            .split_once('.')
            .ok_or_else(|| anyhow!("{}: not database.table", view.table))?;
        let definition = spec
            .databases
            .get(database)
            .and_then(|d| d.tables.get(table))
            .ok_or_else(|| anyhow!("{}: not in the demo catalog", view.table))?;
        let columns: Vec<String> = definition
            .columns
            .iter()
            .filter(|c| match view.columns {
                ["**"] => true,
                ["*"] => !c.tags.iter().any(|t| t == "pii.sensitive"),
                listed => listed.contains(&c.name.as_str()),
            })
            .map(
                |c| match (view.masks.iter().find(|(m, _)| *m == c.name), &c.data_type) {
                    (Some((_, sql)), _) => format!("{sql} AS {}", c.name),
                    // Dates and times as the catalog declares them (SQLite stores them as text).
                    (None, ColumnType::Date) => format!("CAST({0} AS DATE) AS {0}", c.name),
                    (None, ColumnType::Timestamp) => format!("CAST({0} AS TIMESTAMP) AS {0}", c.name),
                    (None, _) => c.name.clone(),
                },
            )
            .collect();
        let sql = format!(
            "SELECT {} FROM {database}_{table}{}",
            columns.join(", "),
            view.filter.map(|f| format!(" WHERE {f}")).unwrap_or_default()
        );
        let frame = raw.sql(&sql).await?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await?;
        let schema = batches.first().map_or(schema, |b| b.schema());
        let schema_provider = match catalog.schema(database) {
            Some(s) => s,
            None => {
                let s = Arc::new(MemorySchemaProvider::new());
                catalog.register_schema(database, s.clone())?;
                s
            }
        };
        schema_provider.register_table(table.to_owned(), Arc::new(MemTable::try_new(schema, vec![batches])?))?;
    }
    ctx.register_catalog(&node, catalog);
    Ok(ctx)
}

/// The same copy planned without optimizers, on one partition: each filter, expression and sort
/// runs where the query puts it. Where the engine and the copy differ, this plan decides: an
/// error the engine raises while running is justified when this plan raises it too (the
/// barrier keeps the query's own order; a plain context's optimizer may skip the failing
/// work), and a plain context's optimizer can be wrong where the barrier stops it (DataFusion
/// 55 drops a sort on a grouping-set key it takes for a constant).
pub fn unoptimized(copy: &SessionContext) -> SessionContext {
    let mut config = copy.copied_config().with_target_partitions(1);
    config.options_mut().optimizer.max_passes = 0;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .with_physical_optimizer_rules(Vec::new())
        .build();
    let ctx = SessionContext::new_with_state(state);
    for name in copy.catalog_names() {
        if let Some(catalog) = copy.catalog(&name) {
            ctx.register_catalog(&name, catalog);
        }
    }
    ctx
}

/// The generator's view of `principal`: the tables of its copy, the hidden ones, and literal
/// values drawn from the raw data (hidden values included).
pub async fn model(copy: &SessionContext, raw: &SessionContext) -> Result<Model> {
    let mut model = Model::default();
    let visible = tables(copy).await?;
    let mut names = std::collections::HashSet::new();
    for (name, schema) in &visible {
        names.insert(name.clone());
        model.tables.push(Table {
            name: name.clone(),
            columns: columns(schema),
        });
    }
    for (database, table) in PARQUET
        .iter()
        .map(|(d, t, _)| (d, t))
        .chain(SQLITE.iter().map(|(d, t)| (d, t)))
    {
        let raw_name = format!("{database}_{table}");
        let schema = raw.table_provider(raw_name.as_str()).await?.schema();
        for (column, ty) in columns(&schema) {
            if matches!(ty, Ty::Text | Ty::Int | Ty::Date) {
                let sql = format!("SELECT DISTINCT {column} FROM {raw_name} ORDER BY 1 LIMIT 6");
                let batches = raw.sql(&sql).await?.collect().await?;
                let values = model.values.entry(column.clone()).or_default();
                for value in crate::compare::rows(&batches)? {
                    if value != "NULL" && values.len() < 12 {
                        values.push(match ty {
                            Ty::Text => format!("'{}'", value.replace('\'', "''")),
                            Ty::Date => format!("DATE '{value}'"),
                            _ => value,
                        });
                    }
                }
            }
        }
        let qualified = format!("{database}.{table}");
        if !names.contains(&qualified) {
            model.hidden.push(Table {
                name: qualified,
                columns: columns(&schema),
            });
        }
    }
    Ok(model)
}

/// Every table of a context as `schema.table` with its Arrow schema.
pub async fn tables(ctx: &SessionContext) -> Result<Vec<(String, SchemaRef)>> {
    let mut out = Vec::new();
    for catalog_name in ctx.catalog_names() {
        let Some(catalog) = ctx.catalog(&catalog_name) else {
            continue;
        };
        for schema_name in catalog.schema_names() {
            if schema_name == "information_schema" {
                continue;
            }
            let Some(schema) = catalog.schema(&schema_name) else {
                continue;
            };
            let mut names = schema.table_names();
            names.sort();
            for table in names {
                if let Some(provider) = schema.table(&table).await? {
                    out.push((format!("{schema_name}.{table}"), provider.schema()));
                }
            }
        }
    }
    Ok(out)
}

fn columns(schema: &SchemaRef) -> Vec<(String, Ty)> {
    schema
        .fields()
        .iter()
        .filter_map(|f| ty(f.data_type()).map(|t| (f.name().clone(), t)))
        .collect()
}

/// The grammar's type of an Arrow type (`None`: not used by the generator).
pub fn ty(data_type: &DataType) -> Option<Ty> {
    use DataType::*;
    Some(match data_type {
        Utf8 | LargeUtf8 | Utf8View => Ty::Text,
        Dictionary(_, value) => return ty(value),
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => Ty::Int,
        Float32 | Float64 | Decimal128(_, _) => Ty::Float,
        Date32 | Date64 => Ty::Date,
        Boolean => Ty::Bool,
        _ => return None,
    })
}
