//! Sources: the raw DataFusion table behind each catalog table, opened on first use and cached.
//!
//! Files (Parquet, CSV, JSON) are DataFusion listing tables, local or in the object stores of
//! [`crate::store`]; SQLite and PostgreSQL tables come from
//! `datafusion-table-providers`, which send each scan to the database as SQL with the pushed-down
//! filters and projection. Raw tables are never registered in a caller's session: only
//! [`crate::govern`] reads them, under the caller's policy.
//!
//! The federation feature of those providers is off on purpose: federation would move the caller's
//! own joins and predicates into the database, across the policy barrier. What reaches the database
//! is the governed sub-plan (policy filter and granted columns), through scan pushdown.
//!
//! A source that cannot be reached does not stop the catalog: its tables answer every scan with an
//! error naming the source, and the next session tries again. Tables that opened are cached with a
//! time to live (the source's `schema_cache_ttl_seconds`, default 5 minutes), so a changed schema is
//! picked up without a restart; [`Sources::refresh`] drops the cache at once.

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_table_providers_common::sql::db_connection_pool::Mode;
use datafusion_table_providers_postgres::PostgresTableFactory;
use datafusion_table_providers_postgres::pool::PostgresConnectionPool;
use datafusion_table_providers_sqlite::SqliteTableFactory;
use datafusion_table_providers_sqlite::pool::SqliteConnectionPoolFactory;
use futures::StreamExt;
use lienthong_spec::{Catalog, ColumnType, Source, SourceKind, SslMode, Table};
use moka::future::Cache;
use object_store::ObjectStoreExt;
use secrecy::SecretString;

use crate::barrier::{BarrierExec, Seal};
use crate::error::SourceFailure;
use crate::store::{self, ObjectStores};

mod attribute;
mod conform;

/// How long an opened table (and its schema) is reused before the source is asked again.
const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// The raw tables of a catalog, opened lazily, one cache per source.
pub(crate) struct Sources {
    catalog: Arc<Catalog>,
    base_dir: PathBuf,
    caches: HashMap<String, Cache<String, Arc<dyn TableProvider>>>,
    stores: ObjectStores,
    /// For listing tables' schema inference (no caller state involved).
    files: SessionContext,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("base_dir", &self.base_dir)
            .finish_non_exhaustive()
    }
}

impl Sources {
    pub(crate) fn new(catalog: Arc<Catalog>, base_dir: PathBuf) -> Self {
        let caches = catalog
            .sources
            .iter()
            .map(|(name, source)| {
                let ttl = source.schema_cache_ttl_seconds.map_or(DEFAULT_TTL, Duration::from_secs);
                (
                    name.clone(),
                    Cache::builder().time_to_live(ttl).max_capacity(10_000).build(),
                )
            })
            .collect();
        let stores = ObjectStores::new(&catalog.sources);
        let runtime = RuntimeEnvBuilder::new()
            .with_object_store_registry(stores.registry())
            .build_arc()
            .unwrap_or_default();
        Self {
            catalog,
            base_dir,
            caches,
            files: SessionContext::new_with_config_rt(SessionConfig::new(), runtime),
            stores,
        }
    }

    /// Where every session finds the object stores of the catalog's file sources.
    pub(crate) fn object_stores(&self) -> Arc<dyn ObjectStoreRegistry> {
        self.stores.registry()
    }

    /// Forgets every opened table: the next use asks the sources again (new schemas, new files).
    pub(crate) fn refresh(&self) {
        for cache in self.caches.values() {
            cache.invalidate_all();
        }
    }

    /// The raw table behind `database.table`. Never fails: an unreachable source gives a table that
    /// fails when scanned, with the catalog's schema.
    pub(crate) async fn table(&self, database: &str, table: &str) -> Arc<dyn TableProvider> {
        let database_name = database;
        let Some(definition) = self.catalog.databases.get(database).and_then(|d| d.tables.get(table)) else {
            return unavailable("-", "no such table", &[]);
        };
        let source_name = definition.source.as_str();
        let (Some(source), Some(cache)) = (self.catalog.sources.get(source_name), self.caches.get(source_name)) else {
            return unavailable(source_name, "not declared", &definition.columns);
        };
        let key = format!("{database}.{table}");
        let opened = cache
            .try_get_with(key, async {
                self.open(source_name, source, definition, table)
                    .await
                    .map(|provider| -> Arc<dyn TableProvider> {
                        let database = match source.kind {
                            SourceKind::Sqlite => Some(Database::Sqlite),
                            SourceKind::Postgres => Some(Database::Postgres),
                            _ => None,
                        };
                        let schema = match database {
                            Some(_) => declared(&provider.schema(), &definition.columns),
                            None => provider.schema(),
                        };
                        Arc::new(Named {
                            source_name: source_name.to_owned(),
                            table: format!("{database_name}.{table}"),
                            inner: provider,
                            database,
                            schema,
                        })
                    })
            })
            .await;
        match opened {
            Ok(provider) => provider,
            Err(message) => unavailable(source_name, &message, &definition.columns),
        }
    }

    async fn open(
        &self,
        source_name: &str,
        source: &Source,
        definition: &Table,
        table: &str,
    ) -> Result<Arc<dyn TableProvider>, String> {
        let remote = definition.remote_name.as_deref().unwrap_or(table);
        match source.kind {
            SourceKind::Parquet | SourceKind::Csv | SourceKind::Json => {
                self.open_files(source_name, source, definition, table).await
            }
            SourceKind::Sqlite => {
                let path = self.local_path(source.path.as_deref().unwrap_or_default())?;
                if !path.is_file() {
                    return Err(format!("no SQLite file at {}", path.display()));
                }
                let path = path.to_str().ok_or("the SQLite path is not UTF-8")?;
                let pool = SqliteConnectionPoolFactory::new(path, Mode::File, Duration::from_secs(5))
                    .with_schema(TableReference::from(remote), sqlite_storage(&definition.columns))
                    .build()
                    .await
                    .map_err(|e| e.to_string())?;
                SqliteTableFactory::new(Arc::new(pool))
                    .table_provider(TableReference::from(remote))
                    .await
                    .map_err(|e| e.to_string())
            }
            SourceKind::Postgres => {
                let pool = PostgresConnectionPool::new(postgres_params(source)?)
                    .await
                    .map_err(|e| e.to_string())?;
                PostgresTableFactory::new(Arc::new(pool))
                    .table_provider(TableReference::from(remote))
                    .await
                    .map_err(|e| e.to_string())
            }
            SourceKind::Node => Ok(Arc::new(crate::remote::RemoteTable {
                source_name: source_name.to_owned(),
                schema: catalog_schema(&definition.columns),
            })),
        }
    }

    async fn open_files(
        &self,
        source_name: &str,
        source: &Source,
        definition: &Table,
        table: &str,
    ) -> Result<Arc<dyn TableProvider>, String> {
        let base = source.url.as_deref().unwrap_or_default();
        let location = definition.location.as_deref().unwrap_or(table);
        let url = if store::is_remote(base) {
            self.remote_location(source_name, base, location).await?
        } else {
            let path = self.local_path(base)?.join(location);
            if !path.exists() {
                return Err(format!("nothing at {}", path.display()));
            }
            ListingTableUrl::parse(path.to_string_lossy()).map_err(|e| e.to_string())?
        };
        let options = match source.kind {
            SourceKind::Csv => {
                ListingOptions::new(Arc::new(CsvFormat::default().with_has_header(true))).with_file_extension(".csv")
            }
            SourceKind::Json => ListingOptions::new(Arc::new(JsonFormat::default())).with_file_extension(".json"),
            _ => ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet"),
        };
        let state = self.files.state();
        let config = ListingTableConfig::new(url.clone()).with_listing_options(options);
        let config = if matches!(source.kind, SourceKind::Parquet) {
            config.infer_schema(&state).await.map_err(|e| e.to_string())?
        } else {
            // Text formats carry no types: the catalog says what they are.
            config.with_schema(catalog_schema(&definition.columns))
        };
        // File statistics (for join order and pruning) computed once per file and kept while the
        // file's size and modification time stay the same, not inferred again at every query.
        let provider = ListingTable::try_new(config)
            .map_err(|e| e.to_string())?
            .with_cache(state.runtime_env().cache_manager.get_file_statistic_cache());
        let schema = provider.schema();
        if let Some(missing) = definition
            .columns
            .iter()
            .find(|c| schema.field_with_name(&c.name).is_err())
        {
            return Err(format!("column `{}` is not in {}", missing.name, url.as_str()));
        }
        Ok(Arc::new(provider))
    }

    /// The listing URL of `location` under the remote `base`, once the store shows something there:
    /// an empty listing would read as an empty table, which is a wrong answer, not a missing one.
    /// A location with a file extension is one object; anything else is a directory.
    async fn remote_location(&self, source_name: &str, base: &str, location: &str) -> Result<ListingTableUrl, String> {
        if let Some(problem) = self.stores.problem(source_name) {
            return Err(problem.to_owned());
        }
        let mut full = format!("{}/{}", base.trim_end_matches('/'), location.trim_start_matches('/'));
        let is_file = Path::new(location).extension().is_some();
        if !is_file && !full.ends_with('/') {
            full.push('/');
        }
        let url = ListingTableUrl::parse(&full).map_err(|e| e.to_string())?;
        let store = self
            .stores
            .get(url.as_ref())
            .ok_or_else(|| format!("no object store for {full}"))?;
        let found = if is_file {
            store.head(url.prefix()).await.map(|_| true)
        } else {
            store
                .list(Some(url.prefix()))
                .next()
                .await
                .transpose()
                .map(|first| first.is_some())
        };
        match found {
            Ok(true) => Ok(url),
            Ok(false) => Err(format!("nothing at {full}")),
            Err(object_store::Error::NotFound { .. }) => Err(format!("nothing at {full}")),
            Err(error) => Err(format!("cannot read {full}: {error}")),
        }
    }

    /// A local path from a catalog URL or path: relative to the catalog file, or `file://`.
    fn local_path(&self, url: &str) -> Result<PathBuf, String> {
        if let Some(path) = url.strip_prefix("file://") {
            return Ok(PathBuf::from(path));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(format!("`{scheme}://` is not a local path"));
        }
        let path = Path::new(url);
        Ok(if path.is_absolute() {
            path.to_owned()
        } else {
            self.base_dir.join(path)
        })
    }
}

/// Whether `provider` is a raw source table (which only a policy barrier may read).
pub(crate) fn is_raw(provider: &dyn TableProvider) -> bool {
    let any = provider as &dyn Any;
    any.is::<Named>() || any.is::<Unavailable>()
}

/// The table of another node behind `provider`, if that is what it is.
pub(crate) fn remote_of(provider: &dyn TableProvider) -> Option<&crate::remote::RemoteTable> {
    let any = provider as &dyn Any;
    any.downcast_ref::<Named>()
        .and_then(|named| (named.inner.as_ref() as &dyn Any).downcast_ref())
}

/// Connection parameters for the PostgreSQL pool; the password comes from the environment.
fn postgres_params(source: &Source) -> Result<HashMap<String, SecretString>, String> {
    let connection = source.connection.as_ref().ok_or("no connection")?;
    let mut params = HashMap::new();
    let mut put = |key: &str, value: String| {
        params.insert(key.to_owned(), SecretString::from(value));
    };
    put("host", connection.host.clone());
    put("port", connection.port.unwrap_or(5432).to_string());
    put("db", connection.database.clone());
    put("user", connection.user.clone());
    if let Some(env) = &connection.password_env {
        let password = std::env::var(env).map_err(|_| format!("environment variable {env} is not set"))?;
        put("pass", password);
    }
    let sslmode = match connection.sslmode {
        Some(SslMode::Disable) | None => "disable",
        Some(SslMode::Prefer) => "prefer",
        Some(SslMode::Require) => "require",
    };
    put("sslmode", sslmode.to_owned());
    Ok(params)
}

/// The Arrow type of a catalog column type.
pub(crate) fn arrow_type(data_type: ColumnType) -> DataType {
    match data_type {
        ColumnType::String => DataType::Utf8,
        ColumnType::Int32 => DataType::Int32,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Date => DataType::Date32,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    }
}

/// The schema the catalog declares for a table.
pub(crate) fn catalog_schema(columns: &[lienthong_spec::Column]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(c.data_type), !c.primary_key))
            .collect::<Vec<_>>(),
    ))
}

pub(crate) fn unavailable(
    source_name: &str,
    message: &str,
    columns: &[lienthong_spec::Column],
) -> Arc<dyn TableProvider> {
    Arc::new(Unavailable {
        source_name: source_name.to_owned(),
        message: message.to_owned(),
        schema: catalog_schema(columns),
    })
}

fn failure(source_name: &str, message: impl Into<String>) -> DataFusionError {
    DataFusionError::External(Box::new(SourceFailure {
        source_name: source_name.to_owned(),
        message: message.into(),
    }))
}

/// A table whose source could not be opened: it plans with the catalog's schema and fails when
/// scanned, so that only the queries that touch it fail.
#[derive(Debug)]
struct Unavailable {
    source_name: String,
    message: String,
    schema: SchemaRef,
}

#[async_trait]
impl TableProvider for Unavailable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn table_type(&self) -> TableType {
        TableType::Base
    }
    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Err(failure(&self.source_name, &self.message))
    }
}

/// A raw table that remembers its source, so that a scan that fails names it; for a database,
/// also the catalog's declared types, which its scans are converted to ([`conform::Conform`]).
#[derive(Debug)]
struct Named {
    source_name: String,
    /// `database.table` in the catalog.
    table: String,
    inner: Arc<dyn TableProvider>,
    /// The database that scans become SQL text for, if any.
    database: Option<Database>,
    /// The schema the engine plans with: the source's columns, with the declared types.
    schema: SchemaRef,
}

/// The schema SQLite is read with: dates and times as the text SQLite keeps them (converted to
/// the declared types above the scan), every other type as declared.
fn sqlite_storage(columns: &[lienthong_spec::Column]) -> SchemaRef {
    let declared = catalog_schema(columns);
    Arc::new(Schema::new(
        declared
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Date32 | DataType::Timestamp(..) => f.as_ref().clone().with_data_type(DataType::Utf8),
                _ => f.as_ref().clone(),
            })
            .collect::<Vec<_>>(),
    ))
}

/// `source`'s columns with the types the catalog declares for them (columns the catalog does not
/// declare keep the source's type; nothing reads them).
fn declared(source: &SchemaRef, columns: &[lienthong_spec::Column]) -> SchemaRef {
    Arc::new(Schema::new(
        source
            .fields()
            .iter()
            .map(|f| match columns.iter().find(|c| &c.name == f.name()) {
                Some(c) => f
                    .as_ref()
                    .clone()
                    .with_data_type(arrow_type(c.data_type))
                    .with_nullable(true),
                None => f.as_ref().clone(),
            })
            .collect::<Vec<_>>(),
    ))
}

/// The database a scan becomes SQL for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Database {
    Sqlite,
    Postgres,
}

/// Whether `database` evaluates `filter` exactly as DataFusion does, so that it may run there.
///
/// An allow-list, because semantics differ in many places: SQLite's `LIKE` ignores case and its
/// `upper` knows only ASCII, PostgreSQL orders text by collation, the two coerce numbers, dates
/// and booleans their own ways. Trusted: a column compared with a value of its own type (text and
/// integers), `IN` lists of such values, `IS [NOT] NULL`, and `AND`/`OR`/`NOT` of those. Text is
/// only compared for (in)equality on PostgreSQL, where `<` follows the collation; on SQLite the
/// default `BINARY` collation orders bytes as DataFusion does. Everything else stays with the
/// engine (same rows, still under the policy). Even a trusted filter is re-checked by the engine
/// above the scan ([`TableProviderFilterPushDown::Inexact`]).
///
/// Text values must also survive the SQL text the providers write: their dialects double single
/// quotes but pass a backslash before a quote through unescaped, and no SQL literal can carry
/// NUL. `tests/it/sources.rs` fuzzes this against a real SQLite file and PostgreSQL server.
fn trusted(filter: &Expr, schema: &Schema, database: Database) -> bool {
    use datafusion::logical_expr::{BinaryExpr, Operator};
    let column_type = |e: &Expr| match e {
        Expr::Column(c) => schema.field_with_name(&c.name).ok().map(|f| f.data_type().clone()),
        _ => None,
    };
    let text = |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let value_fits = |e: &Expr, data_type: &DataType| match (e, data_type) {
        (
            Expr::Literal(
                ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)),
                _,
            ),
            t,
        ) if text(t) => !s.contains(['\\', '\0']),
        (Expr::Literal(ScalarValue::Int64(Some(_)), _), DataType::Int64)
        | (Expr::Literal(ScalarValue::Int32(Some(_)), _), DataType::Int32) => true,
        _ => false,
    };
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And | Operator::Or => trusted(left, schema, database) && trusted(right, schema, database),
            Operator::Eq | Operator::NotEq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq => {
                let (column, value) = if matches!(left.as_ref(), Expr::Column(_)) {
                    (left, right)
                } else {
                    (right, left)
                };
                let Some(data_type) = column_type(column) else {
                    return false;
                };
                let ordered_text = text(&data_type) && !matches!(op, Operator::Eq | Operator::NotEq);
                value_fits(value, &data_type) && !(ordered_text && database == Database::Postgres)
            }
            _ => false,
        },
        Expr::Not(inner) => trusted(inner, schema, database),
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => column_type(inner).is_some(),
        Expr::InList(list) => column_type(&list.expr)
            .is_some_and(|t| !list.list.is_empty() && list.list.iter().all(|v| value_fits(v, &t))),
        _ => false,
    }
}

#[async_trait]
impl TableProvider for Named {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn table_type(&self) -> TableType {
        TableType::Base
    }
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        let mut answers = self.inner.supports_filters_pushdown(filters)?;
        if let Some(database) = self.database {
            let schema = self.inner.schema();
            for (answer, filter) in answers.iter_mut().zip(filters) {
                *answer = if *answer != TableProviderFilterPushDown::Unsupported && trusted(filter, &schema, database) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                };
            }
        }
        Ok(answers)
    }
    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // A database asked for no column at all (`count(*)`) answers with batches that do not
        // match the plan it announced: ask for one column, and keep none of it.
        let no_column = self.database.is_some() && projection.is_some_and(Vec::is_empty);
        let first = vec![0];
        let asked = if no_column { Some(&first) } else { projection };
        let plan = self
            .inner
            .scan(state, asked, filters, limit)
            .await
            .map_err(|e| failure(&self.source_name, e.to_string()))?;
        Ok(if self.database.is_some() {
            let declared = match asked {
                Some(columns) => Arc::new(self.schema.project(columns)?),
                None => Arc::clone(&self.schema),
            };
            let mut plan = conform::Conform::wrap(plan, declared, &self.source_name, &self.table);
            plan = attribute::Attributed::wrap(plan, &self.source_name);
            if no_column {
                plan = Arc::new(ProjectionExec::try_new(
                    Vec::<(Arc<dyn PhysicalExpr>, String)>::new(),
                    plan,
                )?);
            }
            Arc::new(BarrierExec::new(plan, Seal::Source(self.source_name.clone())))
        } else {
            attribute::Attributed::wrap(plan, &self.source_name)
        })
    }
}
