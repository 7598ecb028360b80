//! Flight SQL metadata as the caller sees it: one catalog (the node), one schema per database the
//! caller can see something of, the caller's tables with their governed columns, primary keys of
//! visible columns, and what the server supports. A table the caller may not see does not appear.

use std::sync::{Arc, OnceLock};

use arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow_flight::sql::metadata::{
    GetTablesBuilder, SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfo, XdbcTypeInfoData, XdbcTypeInfoDataBuilder,
};
use arrow_flight::sql::{
    CommandGetDbSchemas, CommandGetPrimaryKeys, CommandGetTables, Nullable, Searchable, SqlInfo, SqlNullOrdering,
    SqlSupportedTransaction, XdbcDataType,
};
use lienthong::Session;
use lienthong::spec::Catalog as Spec;
use tonic::Status;

use super::service::status_of;

/// The only table type.
pub const TABLE_TYPE: &str = "TABLE";

/// What the server says about itself (GetSqlInfo).
pub fn sql_info() -> &'static SqlInfoData {
    static INFO: OnceLock<SqlInfoData> = OnceLock::new();
    INFO.get_or_init(|| {
        let mut b = SqlInfoDataBuilder::new();
        b.append(SqlInfo::FlightSqlServerName, "lienthong");
        b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        b.append(SqlInfo::FlightSqlServerArrowVersion, "1.5");
        b.append(SqlInfo::FlightSqlServerReadOnly, true);
        b.append(SqlInfo::FlightSqlServerSql, true);
        b.append(SqlInfo::FlightSqlServerSubstrait, false);
        b.append(
            SqlInfo::FlightSqlServerTransaction,
            SqlSupportedTransaction::None as i32,
        );
        b.append(SqlInfo::FlightSqlServerCancel, false);
        b.append(SqlInfo::SqlDdlCatalog, false);
        b.append(SqlInfo::SqlDdlSchema, false);
        b.append(SqlInfo::SqlDdlTable, false);
        b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
        b.append(SqlInfo::SqlNullOrdering, SqlNullOrdering::SqlNullsSortedHigh as i32);
        b.append(SqlInfo::SqlTransactionsSupported, false);
        // A failure here is a bug in the list above, found by the first test that asks.
        b.build().unwrap_or_else(|e| unreachable!("SQL info: {e}"))
    })
}

/// The SQL types a caller meets in lienthong's tables (GetXdbcTypeInfo).
pub fn type_info() -> &'static XdbcTypeInfoData {
    static INFO: OnceLock<XdbcTypeInfoData> = OnceLock::new();
    INFO.get_or_init(|| {
        let mut b = XdbcTypeInfoDataBuilder::new();
        let types = [
            ("BOOLEAN", XdbcDataType::XdbcBit, Some(1), None),
            ("INTEGER", XdbcDataType::XdbcInteger, Some(32), Some(2)),
            ("BIGINT", XdbcDataType::XdbcBigint, Some(64), Some(2)),
            ("DOUBLE", XdbcDataType::XdbcDouble, Some(53), Some(2)),
            ("VARCHAR", XdbcDataType::XdbcVarchar, None, None),
            ("DATE", XdbcDataType::XdbcDate, None, None),
            ("TIMESTAMP", XdbcDataType::XdbcTimestamp, None, None),
        ];
        for (name, data_type, column_size, radix) in types {
            let text = data_type == XdbcDataType::XdbcVarchar;
            let dated = matches!(data_type, XdbcDataType::XdbcDate | XdbcDataType::XdbcTimestamp);
            b.append(XdbcTypeInfo {
                type_name: name.into(),
                data_type,
                column_size,
                literal_prefix: (text || dated).then(|| "'".into()),
                literal_suffix: (text || dated).then(|| "'".into()),
                create_params: None,
                nullable: Nullable::NullabilityNullable,
                case_sensitive: text,
                searchable: Searchable::Full,
                unsigned_attribute: radix.map(|_| false),
                fixed_prec_scale: false,
                auto_increment: radix.map(|_| false),
                local_type_name: Some(name.into()),
                minimum_scale: None,
                maximum_scale: None,
                sql_data_type: data_type,
                datetime_subcode: None,
                num_prec_radix: radix,
                interval_precision: None,
            });
        }
        b.build().unwrap_or_else(|e| unreachable!("type info: {e}"))
    })
}

/// `(database, table)` of every table the session may see, sorted.
fn visible(session: &Session) -> Vec<(String, String)> {
    let mut tables: Vec<(String, String)> = session
        .tables()
        .iter()
        .filter_map(|t| t.split_once('.').map(|(d, t)| (d.to_owned(), t.to_owned())))
        .collect();
    tables.sort();
    tables
}

/// The databases the caller can see a table of (GetDbSchemas).
pub fn db_schemas(session: &Session, node: &str, query: CommandGetDbSchemas) -> Result<RecordBatch, Status> {
    let mut builder = query.into_builder();
    let mut databases: Vec<String> = visible(session).into_iter().map(|(d, _)| d).collect();
    databases.dedup();
    for database in databases {
        builder.append(node, database);
    }
    builder.build().map_err(Status::from)
}

/// The caller's tables, with their governed schemas when asked (GetTables).
///
/// Schemas are looked up only for the tables that pass the filters, so a source that is down
/// fails only a request that names one of its tables.
pub async fn tables(session: &Session, node: &str, query: CommandGetTables) -> Result<RecordBatch, Status> {
    let names_only = CommandGetTables {
        include_schema: false,
        ..query.clone()
    };
    let mut builder = names_only.into_builder();
    let empty = Schema::empty();
    for (database, table) in visible(session) {
        builder
            .append(node, &database, &table, TABLE_TYPE, &empty)
            .map_err(Status::from)?;
    }
    let names = builder.build().map_err(Status::from)?;
    let mut builder = query.into_builder();
    for (database, table) in selected_tables(&names) {
        let schema = if builder_includes_schema(&builder) {
            let engine = session
                .table_schema(&format!("{database}.{table}"))
                .await
                .map_err(status_of)?;
            super::wire::schema(&engine)
        } else {
            Arc::new(Schema::empty())
        };
        builder
            .append(node, &database, &table, TABLE_TYPE, &schema)
            .map_err(Status::from)?;
    }
    builder.build().map_err(Status::from)
}

fn builder_includes_schema(builder: &GetTablesBuilder) -> bool {
    builder.schema().column_with_name("table_schema").is_some()
}

/// `(db_schema_name, table_name)` of each row of a GetTables result.
fn selected_tables(batch: &RecordBatch) -> Vec<(String, String)> {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .map(|a| a.iter().map(|v| v.unwrap_or_default().to_owned()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    column("db_schema_name").into_iter().zip(column("table_name")).collect()
}

/// The schema of a GetPrimaryKeys result.
pub fn primary_keys_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("catalog_name", DataType::Utf8, true),
        Field::new("db_schema_name", DataType::Utf8, true),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("key_name", DataType::Utf8, true),
        Field::new("key_sequence", DataType::Int32, false),
    ]))
}

/// The primary-key columns the caller can see unmasked of one table (GetPrimaryKeys); none for a
/// table the caller cannot see. A masked key is not reported: a redacted value identifies nothing.
pub fn primary_keys(
    session: &Session,
    spec: &Spec,
    node: &str,
    query: &CommandGetPrimaryKeys,
) -> Result<RecordBatch, Status> {
    let wanted_catalog = query.catalog.as_deref().is_none_or(|c| c == node);
    let mut keys: Vec<(String, String)> = Vec::new();
    for (database, table) in visible(session) {
        if !wanted_catalog || table != query.table || query.db_schema.as_deref().is_some_and(|d| d != database) {
            continue;
        }
        let (Some(access), Some(definition)) = (
            session.access(&format!("{database}.{table}")),
            spec.databases.get(&database).and_then(|d| d.tables.get(&table)),
        ) else {
            continue;
        };
        for column in definition.columns.iter().filter(|c| c.primary_key) {
            if access
                .columns
                .iter()
                .any(|c| c.name == column.name && c.mask_name().is_none())
            {
                keys.push((database.clone(), column.name.clone()));
            }
        }
    }
    let n = keys.len();
    let text = |values: Vec<Option<String>>| Arc::new(StringArray::from(values)) as ArrayRef;
    let columns = vec![
        text(vec![Some(node.to_owned()); n]),
        text(keys.iter().map(|(d, _)| Some(d.clone())).collect()),
        text(vec![Some(query.table.clone()); n]),
        text(keys.iter().map(|(_, c)| Some(c.clone())).collect()),
        text(vec![None; n]),
        Arc::new(Int32Array::from(
            (1..=i32::try_from(n).unwrap_or(i32::MAX)).collect::<Vec<_>>(),
        )) as ArrayRef,
    ];
    RecordBatch::try_new(primary_keys_schema(), columns).map_err(|e| Status::internal(e.to_string()))
}
