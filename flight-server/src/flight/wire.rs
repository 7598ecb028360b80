//! Results as they go on the wire: plain Arrow types.
//!
//! The engine produces text and binary columns as view arrays (`Utf8View`, `BinaryView`): 16
//! bytes per value, and data buffers shared between batches (a filter or a slice keeps pointing
//! into the buffers it was cut from). Arrow IPC writes every buffer an array holds, whole, so a
//! batch of 8 K IDs could carry a megabyte of other batches' bytes, and a short value costs 16
//! bytes of view where a plain array spends 4 of offset. At the Flight boundary, results travel
//! as plain `Utf8` / `Binary` instead: what every client reads, and the compact size of the
//! columns. Every schema the server announces (FlightInfo, prepared statements, GetSchema,
//! GetTables) is the wire schema, so announcement and stream agree.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;

/// The type a column of type `data_type` travels as.
fn plain(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Utf8View => Some(DataType::Utf8),
        DataType::BinaryView => Some(DataType::Binary),
        _ => None,
    }
}

/// `schema` as results travel: view types replaced by their plain forms.
pub fn schema(schema: &SchemaRef) -> SchemaRef {
    if !schema.fields().iter().any(|f| plain(f.data_type()).is_some()) {
        return Arc::clone(schema);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match plain(f.data_type()) {
            Some(data_type) => f.as_ref().clone().with_data_type(data_type),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch` as it travels, with `wire` (its [`schema`]): view columns copied into plain arrays
/// (only the values they use).
pub fn batch(batch: RecordBatch, wire: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    if batch.schema().as_ref() == wire.as_ref() {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .map(|column| match plain(column.data_type()) {
            Some(data_type) => arrow::compute::cast(column, &data_type),
            None => Ok(Arc::clone(column)),
        })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    RecordBatch::try_new(Arc::clone(wire), columns)
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Int32Array, StringArray, StringViewArray};
    use arrow::ipc::writer::StreamWriter;

    use super::*;

    fn ipc_bytes(batch: &RecordBatch) -> usize {
        let mut out = Vec::new();
        let mut writer = StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
        writer.write(batch).unwrap();
        writer.finish().unwrap();
        out.len()
    }

    #[test]
    fn a_slice_of_a_view_column_travels_as_its_own_values_only() {
        let values: Vec<String> = (0..10_000)
            .map(|i| format!("a value long enough not to inline {i:08}"))
            .collect();
        let all = StringViewArray::from_iter_values(values.iter());
        let engine = Arc::new(Schema::new(vec![
            Field::new("v", DataType::Utf8View, true),
            Field::new("n", DataType::Int32, false),
        ]));
        let slice = RecordBatch::try_new(
            Arc::clone(&engine),
            vec![
                Arc::new(all.slice(10, 100)) as ArrayRef,
                Arc::new(Int32Array::from_iter_values(0..100)),
            ],
        )
        .unwrap();
        let wire = schema(&engine);
        assert_eq!(wire.field(0).data_type(), &DataType::Utf8);
        assert!(wire.field(0).is_nullable());
        assert_eq!(wire.field(1).data_type(), &DataType::Int32);
        let sent = batch(slice.clone(), &wire).unwrap();
        let text = sent.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(text.value(0), values[10]);
        assert_eq!(text.len(), 100);
        assert!(
            ipc_bytes(&sent) * 20 < ipc_bytes(&slice),
            "{} vs {}",
            ipc_bytes(&sent),
            ipc_bytes(&slice)
        );
    }

    #[test]
    fn a_schema_without_views_is_the_same() {
        let plain = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        assert!(Arc::ptr_eq(&schema(&plain), &plain));
    }
}
