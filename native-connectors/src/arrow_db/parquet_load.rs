//! A DuckDB store reading a home's local Parquet files itself (`read_parquet`), instead of
//! taking hygge's decoded batches: DuckDB's own Parquet reader is its fastest load (a 10M-row
//! file: 4 s against 6 s fed as Arrow on two cores). The result must be exactly the
//! batches' load, so the store takes the files only where that is known to hold, and
//! declines otherwise (the flow then streams the batches as usual):
//!
//! - the staging table is the one the batches would have created (made from the same Arrow
//!   schema), and DuckDB casts the files' columns into it;
//! - every column's type is one whose DuckDB Parquet reading equals its Arrow ingest, as
//!   `tests/duckdb.rs` checks type by type;
//! - the rows loaded are counted against the files' footers.

use arrow_schema::{DataType, Field, SchemaRef};
use hygge_runtime::contract::{ConnectorError, ConnectorResult, ErrorKind, ParquetFiles};
use hygge_runtime::publish::{SqlDatabase, SqlDialect, SqlTable};
use tokio::task::JoinHandle;

use super::CancelSlot;
use super::database::{ArrowDb, as_text};
use super::dialect::{literal, quote};

/// The oldest DuckDB whose Parquet reader matches its Arrow ingest as `fits` assumes
/// (nanosecond timestamps, names equal but for case).
const OLDEST_DUCKDB: (u32, u32) = (1, 1);

/// What to do when the direct load fails where streaming might not.
const STREAM_HINT: &str =
    "set `read_parquet: false` on the store to stream the rows through hygge instead";

/// Whether DuckDB can load `files` into a staging table of `loaded` with the result the
/// batches would give. Every column of the files counts, read or not: DuckDB binds them
/// all.
pub fn fits(loaded: &SchemaRef, files: &ParquetFiles) -> bool {
    let names: Vec<&String> = loaded.fields().iter().map(|f| f.name()).collect();
    let mut folded: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    folded.sort_unstable();
    folded.dedup();
    names.iter().copied().eq(files.columns.iter())
        // DuckDB matches column names regardless of case.
        && folded.len() == names.len()
        && loaded.fields().iter().all(|f| same_in_duckdb(f))
        && files.all_columns.iter().all(|f| same_in_duckdb(f))
        // DuckDB reads these characters in a path as a glob.
        && files.paths.iter().all(|p| {
            p.to_str()
                .is_some_and(|p| !p.contains(['*', '?', '[', '{']))
        })
}

/// Types whose Parquet reading by DuckDB and Arrow ingest into DuckDB give the same values
/// in the same column type.
fn same_in_duckdb(field: &Field) -> bool {
    // An extension type (JSON, UUID, geometry…) may mean a type of DuckDB's own there.
    if field.metadata().contains_key("ARROW:extension:name") {
        return false;
    }
    match field.data_type() {
        integer if integer.is_integer() => true,
        DataType::Boolean
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::Date32
        | DataType::Timestamp(_, _)
        | DataType::Decimal128(_, _) => true,
        DataType::List(item) | DataType::LargeList(item) => same_in_duckdb(item),
        DataType::Struct(fields) => fields.iter().all(|f| same_in_duckdb(f)),
        _ => false,
    }
}

/// The statement that loads `files` into `staging` (its columns named as `files.columns`).
pub fn insert_sql(dialect: &dyn SqlDialect, staging: &SqlTable, files: &ParquetFiles) -> String {
    let columns = files
        .columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    let paths = files
        .paths
        .iter()
        .map(|p| literal(&p.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(", ");
    let staging = dialect.qualified(staging);
    format!(
        "INSERT INTO {staging} ({columns}) SELECT {columns} FROM read_parquet([{paths}], \
         hive_partitioning = false, union_by_name = false, filename = false, \
         binary_as_string = false)"
    )
}

/// Whether the run's DuckDB is one whose Parquet reading `fits` describes.
///
/// # Errors
/// The database's error.
pub async fn library_reads_alike(db: &ArrowDb) -> ConnectorResult<bool> {
    let version = first_cell(
        db,
        "SELECT library_version FROM pragma_version()",
        "asking DuckDB its version",
    )
    .await?
    .unwrap_or_default();
    let mut numbers = version
        .trim_start_matches('v')
        .split('.')
        .map(|n| n.parse::<u32>().ok());
    Ok(matches!(
        (numbers.next().flatten(), numbers.next().flatten()),
        (Some(major), Some(minor)) if (major, minor) >= OLDEST_DUCKDB
    ))
}

/// Starts DuckDB loading `files` into `staging` on a blocking thread, stoppable through
/// `cancel`.
///
/// # Errors
/// No connection.
pub async fn start(
    db: &ArrowDb,
    staging: &SqlTable,
    files: &ParquetFiles,
    cancel: &CancelSlot,
) -> ConnectorResult<JoinHandle<ConnectorResult<()>>> {
    let sql = insert_sql(db.dialect(), staging, files);
    let mut connection = db.connection().await?;
    let (label, cancel) = (db.label().to_string(), cancel.clone());
    let doing = format!("loading the staging table {staging} from the home's Parquet files");
    Ok(tokio::task::spawn_blocking(move || {
        connection.execute_cancellable(&sql, &cancel).map_err(|e| {
            e.into_connector(ErrorKind::Data, &label, &doing)
                .with_context(STREAM_HINT)
        })
    }))
}

/// Checks that `staging` holds the rows the files' footers count.
///
/// # Errors
/// A data error when it does not.
pub async fn check_rows(
    db: &ArrowDb,
    staging: &SqlTable,
    files: &ParquetFiles,
) -> ConnectorResult<()> {
    let count = format!("SELECT count(*) FROM {}", db.dialect().qualified(staging));
    let rows = first_cell(db, &count, "counting the staged rows")
        .await?
        .and_then(|n| n.parse::<u64>().ok());
    if rows == Some(files.rows) {
        return Ok(());
    }
    Err(ConnectorError::data(format!(
        "{}: DuckDB read {} rows from the home's Parquet files, whose footers say {}; \
         nothing was published",
        db.label(),
        rows.map_or_else(|| "an unknown number of".to_string(), |n| n.to_string()),
        files.rows
    ))
    .with_context(format!(
        "a file may have changed during the load: run again, or {STREAM_HINT}"
    )))
}

/// The first column of the first row `sql` returns, as text.
async fn first_cell(db: &ArrowDb, sql: &str, doing: &str) -> ConnectorResult<Option<String>> {
    let (_, batches) = db.query(sql, ErrorKind::Data, doing).await?;
    Ok(as_text(&batches)?
        .first()
        .and_then(|row| row.first().cloned().flatten()))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use arrow_schema::{Fields, Schema, TimeUnit};

    use super::*;

    fn files(columns: &[&str], path: &str) -> ParquetFiles {
        ParquetFiles {
            paths: vec![PathBuf::from(path)],
            columns: columns.iter().map(|c| (*c).to_string()).collect(),
            all_columns: Vec::new(),
            rows: 1,
        }
    }

    fn schema(fields: Vec<Field>) -> SchemaRef {
        Arc::new(Schema::new(fields))
    }

    #[test]
    fn plain_and_nested_types_fit() {
        let loaded = schema(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new_list("tags", Field::new("item", DataType::Utf8, true), true),
            Field::new_struct(
                "point",
                Fields::from(vec![Field::new("x", DataType::Decimal128(12, 3), true)]),
                true,
            ),
        ]);
        assert!(fits(
            &loaded,
            &files(&["id", "at", "tags", "point"], "/d/a.parquet")
        ));
    }

    #[test]
    fn declines_what_duckdb_would_read_otherwise() {
        let one = |ty: DataType| schema(vec![Field::new("c", ty, true)]);
        let c = files(&["c"], "/d/a.parquet");
        for ty in [
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            DataType::FixedSizeBinary(16),
            DataType::Float16,
            DataType::Time64(TimeUnit::Nanosecond),
            DataType::Decimal256(50, 2),
        ] {
            assert!(!fits(&one(ty.clone()), &c), "{ty} should be declined");
        }
        let nested = one(DataType::List(Arc::new(Field::new(
            "item",
            DataType::FixedSizeBinary(16),
            true,
        ))));
        assert!(!fits(&nested, &c));
    }

    #[test]
    fn declines_extension_types_and_unread_columns_duckdb_would_read_otherwise() {
        let loaded = schema(vec![Field::new("a", DataType::Int32, true)]);
        let mut c = files(&["a"], "/d/a.parquet");
        c.all_columns = vec![
            Arc::new(Field::new("a", DataType::Int32, true)),
            Arc::new(Field::new("b", DataType::Utf8, true)),
        ];
        assert!(fits(&loaded, &c));
        c.all_columns.push(Arc::new(Field::new(
            "t",
            DataType::Time64(TimeUnit::Microsecond),
            true,
        )));
        assert!(!fits(&loaded, &c));
        let json =
            Field::new("a", DataType::Utf8, true).with_metadata(std::collections::HashMap::from([
                ("ARROW:extension:name".to_string(), "arrow.json".to_string()),
            ]));
        assert!(!fits(&schema(vec![json]), &files(&["a"], "/d/a.parquet")));
    }

    #[test]
    fn declines_globs_names_equal_but_for_case_and_other_columns() {
        let loaded = schema(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("A", DataType::Int32, true),
        ]);
        assert!(!fits(&loaded, &files(&["a", "A"], "/d/a.parquet")));
        let loaded = schema(vec![Field::new("a", DataType::Int32, true)]);
        assert!(fits(&loaded, &files(&["a"], "/d/a.parquet")));
        assert!(!fits(&loaded, &files(&["a"], "/d/part[1].parquet")));
        assert!(!fits(&loaded, &files(&["a"], "/d/*.parquet")));
        assert!(!fits(&loaded, &files(&["b"], "/d/a.parquet")));
    }

    #[test]
    fn the_insert_names_columns_and_files_quoted() {
        let dialect = super::super::dialect::DbSql {
            flavor: super::super::Flavor::DuckDb,
        };
        let sql = insert_sql(
            &dialect,
            &SqlTable::new("main", "t__hygge_1"),
            &files(&["we\"ird", "b"], "/d/it's.parquet"),
        );
        assert!(sql.starts_with(
            "INSERT INTO \"main\".\"t__hygge_1\" (\"we\"\"ird\", \"b\") SELECT \"we\"\"ird\", \"b\" FROM read_parquet(['/d/it''s.parquet'],"
        ), "{sql}");
        assert!(sql.contains("hive_partitioning = false"));
    }
}
