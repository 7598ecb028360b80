//! What a generated directory holds: every demo table with its row count and file, read from the
//! files themselves (Parquet footers, SQLite counts), so it also describes data generated earlier.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::demo_tables::DATABASES;
use crate::{Error, TableSummary};

/// Directory (under the output directory) of each file source of the demo catalog.
pub(crate) fn source_dir(source: &str) -> Option<&'static str> {
    match source {
        "reference_files" => Some("reference"),
        "population_files" => Some("population"),
        "land_files" => Some("land"),
        _ => None,
    }
}

/// The SQLite file of the demo catalog.
pub(crate) const SQLITE_FILE: &str = "registries.sqlite";

/// Every demo table in `dir`, with its row count, in catalog order.
pub fn inventory(dir: &Path) -> Result<Vec<TableSummary>, Error> {
    let mut tables = Vec::new();
    let sqlite_path = dir.join(SQLITE_FILE);
    let mut sqlite = None;
    for db in DATABASES {
        for table in db.tables {
            let (rows, path) = match (source_dir(table.source), table.location, table.remote_name) {
                (Some(sub), Some(location), _) => {
                    let path = dir.join(sub).join(location);
                    (parquet_rows(&path)?, path)
                }
                (_, _, Some(remote)) => {
                    if sqlite.is_none() {
                        sqlite = Some(open_read_only(&sqlite_path)?);
                    }
                    let connection = sqlite
                        .as_ref()
                        .ok_or_else(|| Error::inventory(&sqlite_path, "not open"))?;
                    let rows: i64 = connection
                        .query_row(&format!("SELECT count(*) FROM \"{remote}\""), [], |row| row.get(0))
                        .map_err(|e| Error::inventory(&sqlite_path, e))?;
                    (u64::try_from(rows).unwrap_or(0), sqlite_path.clone())
                }
                _ => {
                    return Err(Error::inventory(
                        dir,
                        format!("table {}.{} has no location", db.name, table.name),
                    ));
                }
            };
            tables.push(TableSummary {
                database: db.name.to_owned(),
                table: table.name.to_owned(),
                rows,
                path,
            });
        }
    }
    Ok(tables)
}

fn parquet_rows(path: &PathBuf) -> Result<u64, Error> {
    let file = File::open(path).map_err(|e| Error::inventory(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| Error::inventory(path, e))?;
    Ok(u64::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0))
}

fn open_read_only(path: &Path) -> Result<rusqlite::Connection, Error> {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::inventory(path, e))
}
