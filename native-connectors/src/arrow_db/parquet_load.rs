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
use hygge_runtime::contract::ParquetFiles;
use hygge_runtime::publish::SqlTable;

use hygge_runtime::publish::SqlDialect;

use super::dialect::{literal, quote};

/// Whether DuckDB can load `files` into a staging table of `loaded` with the result the
/// batches would give.
pub fn fits(loaded: &SchemaRef, files: &ParquetFiles) -> bool {
    let names: Vec<&String> = loaded.fields().iter().map(|f| f.name()).collect();
    let mut folded: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    folded.sort_unstable();
    folded.dedup();
    names.iter().copied().eq(files.columns.iter())
        // DuckDB matches column names regardless of case.
        && folded.len() == names.len()
        && loaded.fields().iter().all(|f| same_in_duckdb(f))
        // DuckDB reads these characters in a path as a glob.
        && files.paths.iter().all(|p| {
            p.to_str()
                .is_some_and(|p| !p.contains(['*', '?', '[', '{']))
        })
}

/// Types whose Parquet reading by DuckDB and Arrow ingest into DuckDB give the same values
/// in the same column type.
fn same_in_duckdb(field: &Field) -> bool {
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
