//! Handing a Parquet home's files whole to a store that reads Parquet itself (DuckDB's
//! `read_parquet`), instead of decoding them here: offered only when another Parquet reader
//! finds exactly the rows and types this home reads.

use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef};
use hygge_runtime::contract::ParquetFiles;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::basic::ConvertedType;
use parquet::file::metadata::ParquetMetaData;

use super::format::ReadUnit;
use super::input::InputFile;
use super::parquet_reader::checked_row_count;

/// The files of `units` (all of `files`, read whole) as [`ParquetFiles`] a store may read
/// itself, when another Parquet reader would find the rows this home reads: every file is
/// local and [`reads_alike`] with the reader's columns (`schema`, all of the file's columns
/// unless `columns` projects them). `None` otherwise: the rows are read here.
pub fn whole_files(
    files: &[InputFile],
    units: &[ReadUnit],
    schema: &SchemaRef,
    columns: Option<&[String]>,
) -> Option<ParquetFiles> {
    let mut footers = std::collections::HashMap::new();
    for unit in units {
        if let (InputFile::Local(path), Some(footer)) = (&unit.file, &unit.metadata) {
            footers.entry(path).or_insert(footer);
        }
    }
    let mut paths = Vec::with_capacity(files.len());
    let mut all_columns: Vec<FieldRef> = Vec::new();
    for file in files {
        let InputFile::Local(path) = file else {
            return None;
        };
        let file_schema = reads_alike(footers.get(path)?, schema, columns)?;
        for field in file_schema.fields() {
            if !all_columns.contains(field) {
                all_columns.push(field.clone());
            }
        }
        paths.push(std::path::absolute(path).ok()?);
    }
    Some(ParquetFiles {
        paths,
        columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
        all_columns,
        rows: units.iter().map(|u| u.rows).sum::<Option<u64>>()?,
    })
}

/// The file's whole Arrow schema, when another Parquet reader reads the file as this home
/// does:
/// - its footer agrees with itself (the count this home checks before reading);
/// - no INT96 timestamps (read here as microseconds, range-checked), and no timestamps
///   marked only the old way (`TIMESTAMP_MILLIS` without a logical type: UTC here, local
///   time to others);
/// - no geometry (GeoParquet), and no two columns named alike but for case;
/// - its Parquet types alone give the Arrow types read here: the Arrow types hygge's
///   writer (or pyarrow's) records beside them are for Arrow readers only (seconds are
///   plain integers to Parquet);
/// - it has the reader's columns, with the reader's types.
fn reads_alike(
    footer: &Arc<ParquetMetaData>,
    schema: &SchemaRef,
    columns: Option<&[String]>,
) -> Option<SchemaRef> {
    let groups: Vec<usize> = (0..footer.num_row_groups()).collect();
    checked_row_count(footer, &groups).ok()?;
    let file = footer.file_metadata();
    let odd_leaf = file.schema_descr().columns().iter().any(|c| {
        c.physical_type() == parquet::basic::Type::INT96
            || (c.logical_type_ref().is_none()
                && matches!(
                    c.converted_type(),
                    ConvertedType::TIMESTAMP_MILLIS | ConvertedType::TIMESTAMP_MICROS
                ))
    });
    let geo = file
        .key_value_metadata()
        .is_some_and(|kv| kv.iter().any(|kv| kv.key == "geo"));
    if odd_leaf || geo {
        return None;
    }
    let metadata = ArrowReaderMetadata::try_new(footer.clone(), ArrowReaderOptions::new()).ok()?;
    let file_schema = metadata.schema().clone();
    let mut folded: Vec<String> = file_schema
        .fields()
        .iter()
        .map(|f| f.name().to_lowercase())
        .collect();
    folded.sort_unstable();
    folded.dedup();
    if folded.len() != file_schema.fields().len() {
        return None;
    }
    let parquet_only = ArrowReaderMetadata::try_new(
        footer.clone(),
        ArrowReaderOptions::new().with_skip_arrow_metadata(true),
    )
    .ok()?;
    let kinds = |s: &Schema| {
        s.fields()
            .iter()
            .map(|f| kind(f.data_type()))
            .collect::<Vec<_>>()
    };
    if kinds(&file_schema) != kinds(parquet_only.schema()) {
        return None;
    }
    let same = match columns {
        None => file_schema.fields() == schema.fields(),
        Some(_) => schema.fields().iter().all(|wanted| {
            file_schema
                .field_with_name(wanted.name())
                .is_ok_and(|f| f == wanted.as_ref())
        }),
    };
    same.then_some(file_schema)
}

/// `data_type` as any Parquet reader reads it: offsets' width, views, time zones other than
/// UTC (an instant either way) and field names aside.
fn kind(data_type: &DataType) -> DataType {
    let item = |f: &Field| Arc::new(Field::new("item", kind(f.data_type()), true));
    match data_type {
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        DataType::Timestamp(unit, Some(_)) => DataType::Timestamp(*unit, Some("UTC".into())),
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => {
            DataType::List(item(f))
        }
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| Field::new(f.name(), kind(f.data_type()), true))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::path::{Path, PathBuf};

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, TimestampSecondArray};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    use super::super::format::Format;
    use super::super::parquet_reader::plan_units;
    use super::*;

    fn write(path: &Path, columns: Vec<(&str, ArrayRef)>) {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut writer =
            ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    /// What the home offers for `paths`, read with the first file's schema (as the home
    /// reads it) projected to `columns`.
    fn offered(paths: &[PathBuf], columns: Option<&[String]>) -> Option<ParquetFiles> {
        let files: Vec<InputFile> = paths.iter().cloned().map(InputFile::Local).collect();
        let units = plan_units(Format::Parquet, &files, None).ok().unwrap();
        let footer = units[0].metadata.clone().unwrap();
        let full = ArrowReaderMetadata::try_new(footer, ArrowReaderOptions::new())
            .unwrap()
            .schema()
            .clone();
        let schema = match columns {
            Some(columns) => {
                let indices: Vec<usize> =
                    columns.iter().map(|c| full.index_of(c).unwrap()).collect();
                Arc::new(full.project(&indices).unwrap())
            }
            None => full,
        };
        whole_files(&files, &units, &schema, columns)
    }

    fn ids() -> ArrayRef {
        Arc::new(Int64Array::from(vec![1, 2, 3]))
    }

    #[test]
    fn plain_files_are_offered_with_every_column_and_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
        write(&a, vec![("id", ids()), ("other", ids())]);
        write(&b, vec![("id", ids()), ("other", ids())]);
        let files = offered(&[a.clone(), b], None).unwrap();
        assert_eq!(files.rows, 6);
        assert_eq!(files.columns, ["id", "other"]);
        assert_eq!(files.all_columns.len(), 2);
        assert_eq!(files.paths[0], a);
        let projected = offered(&[a], Some(&["other".to_string()])).unwrap();
        assert_eq!(projected.columns, ["other"]);
        assert_eq!(projected.all_columns.len(), 2);
    }

    #[test]
    fn files_another_reader_would_read_otherwise_are_not_offered() {
        let dir = tempfile::tempdir().unwrap();
        // Seconds: an integer to Parquet, a timestamp only through the Arrow schema.
        let seconds = dir.path().join("seconds.parquet");
        write(
            &seconds,
            vec![(
                "at",
                Arc::new(TimestampSecondArray::from(vec![0, 1, 2])) as ArrayRef,
            )],
        );
        assert!(offered(&[seconds], None).is_none());

        // Two columns named alike but for case, even when one is not read.
        let cased = dir.path().join("cased.parquet");
        write(&cased, vec![("id", ids()), ("ID", ids())]);
        assert!(offered(&[cased], Some(&["id".to_string()])).is_none());

        // A file of another schema than the first.
        let (first, other) = (dir.path().join("1.parquet"), dir.path().join("2.parquet"));
        write(&first, vec![("id", ids())]);
        write(&other, vec![("id", ids()), ("extra", ids())]);
        assert!(offered(&[first.clone(), other.clone()], None).is_none());
        // … unless the columns read are the same in both.
        assert!(offered(&[first, other], Some(&["id".to_string()])).is_some());
    }

    #[test]
    fn timestamps_marked_only_the_old_way_are_not_offered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("legacy.parquet");
        let schema =
            parse_message_type("message m { required int64 at (TIMESTAMP_MILLIS); }").unwrap();
        assert!(
            schema.get_fields()[0]
                .get_basic_info()
                .logical_type_ref()
                .is_none()
        );
        let mut writer = SerializedFileWriter::new(
            File::create(&path).unwrap(),
            Arc::new(schema),
            Arc::new(WriterProperties::builder().build()),
        )
        .unwrap();
        let mut group = writer.next_row_group().unwrap();
        let mut column = group.next_column().unwrap().unwrap();
        column
            .typed::<parquet::data_type::Int64Type>()
            .write_batch(&[1, 2, 3], None, None)
            .unwrap();
        column.close().unwrap();
        group.close().unwrap();
        writer.close().unwrap();
        assert!(offered(&[path], None).is_none());
    }
}
