//! The `reference` database: the code lists themselves, as small open Parquet tables.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::DataType;

use crate::parquet_out::{self, ColumnSpec};
use crate::reference::Reference;
use crate::{Error, NoProgress};

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(values.map(Some).collect::<StringArray>())
}

fn table(dir: &Path, file: &str, names: &[&'static str], columns: Vec<ArrayRef>) -> Result<(), Error> {
    let spec: Vec<ColumnSpec> = names.iter().map(|n| (*n, DataType::Utf8, false)).collect();
    let schema = parquet_out::schema(&spec);
    let batch = parquet_out::batch(&schema, columns)?;
    parquet_out::write(&dir.join(file), &schema, [batch], &NoProgress)
}

/// Writes the four code lists into `dir`.
pub(crate) fn write(dir: &Path, r: &Reference) -> Result<(), Error> {
    let p = &r.provinces;
    table(
        dir,
        "provinces.parquet",
        &["province_code", "province_name", "formed_from_pre2025_codes"],
        vec![
            strings(p.iter().map(|x| x.code.as_str())),
            strings(p.iter().map(|x| x.name.as_str())),
            strings(p.iter().map(|x| x.formed_from.as_str())),
        ],
    )?;
    let q = &r.pre2025;
    table(
        dir,
        "provinces_pre2025.parquet",
        &[
            "province_code",
            "province_name",
            "citizen_id_prefix",
            "province_code_2025",
        ],
        vec![
            strings(q.iter().map(|x| x.code.as_str())),
            strings(q.iter().map(|x| x.name.as_str())),
            strings(q.iter().map(|x| x.citizen_id_prefix.as_str())),
            strings(q.iter().map(|x| x.code_2025.as_str())),
        ],
    )?;
    let mut wards: Vec<_> = r.wards.iter().collect();
    wards.sort_by(|a, b| a.code.cmp(&b.code));
    table(
        dir,
        "wards.parquet",
        &["ward_code", "ward_name", "ward_kind", "province_code", "province_name"],
        vec![
            strings(wards.iter().map(|w| w.code.as_str())),
            strings(wards.iter().map(|w| w.name.as_str())),
            strings(wards.iter().map(|w| w.kind.as_str())),
            strings(wards.iter().map(|w| r.provinces[w.province].code.as_str())),
            strings(wards.iter().map(|w| r.provinces[w.province].name.as_str())),
        ],
    )?;
    let l = &r.land_uses;
    table(
        dir,
        "land_use_codes.parquet",
        &["code", "land_group", "name_vi", "name_en"],
        vec![
            strings(l.iter().map(|x| x.code.as_str())),
            strings(l.iter().map(|x| x.group.as_str())),
            strings(l.iter().map(|x| x.name_vi.as_str())),
            strings(l.iter().map(|x| x.name_en.as_str())),
        ],
    )
}
