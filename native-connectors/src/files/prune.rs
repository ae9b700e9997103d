//! Row-group pruning for incremental reads: a Parquet row group whose statistics show no
//! value past the watermark is never decoded.

use hygge_runtime::contract::WatermarkFilter;
use hygge_runtime::state::blocks_to_skip;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::parquet_to_arrow_schema;
use parquet::file::metadata::ParquetMetaData;

/// Which row groups' statistics show no row past the watermark; `None` when the file's
/// statistics cannot say (no such column, no statistics, another type).
pub(crate) fn groups_to_skip(
    metadata: &ParquetMetaData,
    watermark: &WatermarkFilter,
) -> Option<Vec<bool>> {
    let file = metadata.file_metadata();
    // INT96 statistics have no defined order; they are never trusted.
    if file
        .schema_descr()
        .columns()
        .iter()
        .any(|c| c.name() == watermark.column && c.physical_type() == parquet::basic::Type::INT96)
    {
        return None;
    }
    let schema = parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata()).ok()?;
    let converter =
        StatisticsConverter::try_new(&watermark.column, &schema, file.schema_descr()).ok()?;
    let maxima = converter
        .row_group_maxes(metadata.row_groups().iter())
        .ok()?;
    blocks_to_skip(maxima.as_ref(), &watermark.after, watermark.inclusive)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::ParquetMetaDataReader;
    use parquet::file::properties::WriterProperties;

    use super::*;

    #[test]
    fn row_groups_below_the_watermark_are_skipped() {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let mut bytes = Vec::new();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(10))
            .build();
        let mut writer = ArrowWriter::try_new(&mut bytes, schema.clone(), Some(props)).unwrap();
        let ids = Int64Array::from((0..30).collect::<Vec<i64>>());
        writer
            .write(&RecordBatch::try_new(schema, vec![Arc::new(ids)]).unwrap())
            .unwrap();
        writer.close().unwrap();
        let metadata = ParquetMetaDataReader::new()
            .parse_and_finish(&bytes::Bytes::from(bytes))
            .unwrap();
        let filter = |after: &str, inclusive| WatermarkFilter {
            column: "id".into(),
            after: after.into(),
            inclusive,
        };
        // Groups hold 0..=9, 10..=19, 20..=29.
        assert_eq!(
            groups_to_skip(&metadata, &filter("19", false)).unwrap(),
            [true, true, false]
        );
        assert_eq!(
            groups_to_skip(&metadata, &filter("19", true)).unwrap(),
            [true, false, false]
        );
        assert!(groups_to_skip(&metadata, &filter("x", true)).is_none());
        let other = WatermarkFilter {
            column: "nope".into(),
            ..filter("1", true)
        };
        assert!(groups_to_skip(&metadata, &other).is_none());
    }
}
