//! The demo catalog describes exactly the files written next to it, and is valid.

use std::collections::BTreeMap;
use std::fs::File;

use argon2::PasswordVerifier;
use arrow::datatypes::DataType;
use lienthong_spec::{ColumnType, Credential};
use lienthong_synth::{CATALOG_FILE, CREDENTIALS_FILE, DEMO_PRINCIPALS, inventory};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::data::{self, dir};

fn arrow_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::String => DataType::Utf8,
        ColumnType::Int32 => DataType::Int32,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Date => DataType::Date32,
        ColumnType::Timestamp => DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
    }
}

fn sqlite_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::String => "TEXT",
        ColumnType::Int32 | ColumnType::Int64 | ColumnType::Boolean => "INTEGER",
        ColumnType::Float64 => "REAL",
        ColumnType::Date => "DATE",
        ColumnType::Timestamp => "TIMESTAMP",
    }
}

#[test]
fn the_demo_catalog_is_valid_and_matches_every_file_column_by_column() {
    let file = lienthong_spec::load(dir().join(CATALOG_FILE)).unwrap_or_else(|e| panic!("{e}"));
    let catalog = &file.catalog;
    assert_eq!(
        catalog.databases.keys().collect::<Vec<_>>(),
        ["business", "civil_servants", "land", "population", "reference"]
    );
    let db = data::sqlite();
    let mut checked = 0;
    for (db_name, database) in &catalog.databases {
        for (name, table) in &database.tables {
            let described: Vec<(String, ColumnType)> =
                table.columns.iter().map(|c| (c.name.clone(), c.data_type)).collect();
            assert!(
                table.columns.iter().all(|c| c.description.is_some()),
                "{db_name}.{name}: described columns"
            );
            assert!(!table.description.vi.is_empty() && !table.description.en.is_empty());
            let source = &catalog.sources[&table.source];
            if let Some(location) = &table.location {
                let path = file.base_dir().join(source.url.as_deref().unwrap()).join(location);
                let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
                let actual: Vec<(String, DataType)> = reader
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| (f.name().clone(), f.data_type().clone()))
                    .collect();
                let expected: Vec<(String, DataType)> =
                    described.iter().map(|(n, t)| (n.clone(), arrow_type(*t))).collect();
                assert_eq!(actual, expected, "{db_name}.{name} in {}", path.display());
            } else {
                let remote = table.remote_name.as_deref().unwrap();
                let mut statement = db
                    .prepare(&format!("SELECT name, type FROM pragma_table_info('{remote}')"))
                    .unwrap();
                let actual: Vec<(String, String)> = statement
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                let expected: Vec<(String, String)> = described
                    .iter()
                    .map(|(n, t)| (n.clone(), sqlite_type(*t).to_owned()))
                    .collect();
                if remote == "enterprise_register" {
                    // A view's columns carry the types of the table it selects from.
                    assert_eq!(
                        actual.iter().map(|c| &c.0).collect::<Vec<_>>(),
                        expected.iter().map(|c| &c.0).collect::<Vec<_>>()
                    );
                } else {
                    assert_eq!(actual, expected, "{db_name}.{name} in registries.sqlite");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 13);
    let tables = inventory(dir()).unwrap();
    assert_eq!(tables.len(), 13);
    assert!(tables.iter().all(|t| t.rows > 0), "{tables:?}");
}

#[test]
fn demo_credentials_match_the_hashes_in_the_catalog_and_are_never_stored_in_clear() {
    let text = std::fs::read_to_string(dir().join(CATALOG_FILE)).unwrap();
    let catalog = lienthong_spec::load(dir().join(CATALOG_FILE)).unwrap().catalog;
    let secrets: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir().join(CREDENTIALS_FILE)).unwrap()).unwrap();
    assert_eq!(
        secrets.keys().map(String::as_str).collect::<Vec<_>>().len(),
        DEMO_PRINCIPALS.len()
    );
    for principal in DEMO_PRINCIPALS {
        let secret = &secrets[principal];
        assert!(
            !text.contains(secret.as_str()),
            "the secret of {principal} is in the catalog"
        );
        let Some(Credential::Argon2(hash)) = &catalog.principals[principal].credential else {
            panic!("{principal} has no Argon2 credential")
        };
        let parsed = argon2::PasswordHash::new(hash).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok(),
            "{principal}"
        );
        assert!(argon2::Argon2::default().verify_password(b"wrong", &parsed).is_err());
    }
    assert!(!catalog.principals.contains_key("public"), "public is implicit");
}
