//! The read request's watermark: row groups whose statistics show no row past it are not
//! decoded. The host keeps exactly the rows past the watermark, so a row group that cannot
//! be judged (no statistics, another type) is read whole.

use arrow_array::{Array, Scalar, StringArray};
use arrow_cast::{CastOptions, cast_with_options};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::parquet_to_arrow_schema;
use parquet::file::metadata::ParquetMetaData;

use hygge_component_sdk::types::WatermarkFilter;

/// Of `groups`, those a read past `watermark` needs.
pub fn needed_groups(
    metadata: &ParquetMetaData,
    groups: Vec<usize>,
    watermark: &WatermarkFilter,
) -> Vec<usize> {
    match below(metadata, watermark) {
        Some(skip) => groups
            .into_iter()
            .filter(|g| !skip.get(*g).copied().unwrap_or(false))
            .collect(),
        None => groups,
    }
}

/// For each row group, whether its greatest value is below the bound; `None` when the
/// statistics cannot say.
fn below(metadata: &ParquetMetaData, watermark: &WatermarkFilter) -> Option<Vec<bool>> {
    let file = metadata.file_metadata();
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
    let text = StringArray::from(vec![watermark.after.as_str()]);
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let bound = cast_with_options(&text, maxima.data_type(), &options).ok()?;
    // Rows equal to `after` may be needed (the host decides): skip only groups below it.
    let skip = arrow_ord::cmp::lt(&maxima, &Scalar::new(bound)).ok()?;
    Some(
        (0..skip.len())
            .map(|i| skip.is_valid(i) && skip.value(i))
            .collect(),
    )
}
