//! A DuckDB store reading a Parquet home's files itself (`read_parquet`), DuckDB's fastest
//! load: the table it makes is the one the streamed batches make (`read_parquet: false`),
//! column type for column type and value for value, as Python's duckdb compares them; what
//! it would read otherwise is streamed; a kill -9 during its read leaves the table as it
//! was.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::sync::Arc;

use arrow_array::builder::{Int32Builder, ListBuilder, StringBuilder};
use arrow_array::*;
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use common::duckdb::{duck, duckdb_project};
use common::*;

/// What `hygge go` logs when the store read the files itself.
const READ_ITSELF: &str = "the store read the home's Parquet files itself";

/// Rows of every type the store takes whole, with extremes, an ordinary row and NULLs.
fn every_type(ids: [i64; 3]) -> RecordBatch {
    let mut tags = ListBuilder::new(StringBuilder::new());
    tags.values().append_value("x");
    tags.values().append_value("");
    tags.values().append_null();
    tags.append(true);
    tags.append(true);
    tags.append(false);
    let mut numbers = ListBuilder::new(Int32Builder::new());
    numbers.values().append_value(i32::MIN);
    numbers.append(true);
    numbers.values().append_null();
    numbers.append(true);
    numbers.append(false);
    let point = StructArray::new(
        Fields::from(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("label", DataType::Utf8, true),
        ]),
        vec![
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(-0.0)])),
            Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])),
        ],
        Some(vec![true, true, false].into()),
    );
    let ts = |unit: TimeUnit, tz: Option<&str>, values: [Option<i64>; 3]| -> ArrayRef {
        let tz: Option<Arc<str>> = tz.map(Into::into);
        match unit {
            TimeUnit::Second => {
                Arc::new(TimestampSecondArray::from(values.to_vec()).with_timezone_opt(tz))
            }
            TimeUnit::Millisecond => {
                Arc::new(TimestampMillisecondArray::from(values.to_vec()).with_timezone_opt(tz))
            }
            TimeUnit::Microsecond => {
                Arc::new(TimestampMicrosecondArray::from(values.to_vec()).with_timezone_opt(tz))
            }
            TimeUnit::Nanosecond => {
                Arc::new(TimestampNanosecondArray::from(values.to_vec()).with_timezone_opt(tz))
            }
        }
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(ids.to_vec()))),
        (
            "ok",
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        ),
        (
            "i8",
            Arc::new(Int8Array::from(vec![Some(i8::MIN), Some(i8::MAX), None])),
        ),
        (
            "i16",
            Arc::new(Int16Array::from(vec![Some(i16::MIN), Some(7), None])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(i32::MIN), Some(i32::MAX), None])),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None])),
        ),
        (
            "u8",
            Arc::new(UInt8Array::from(vec![Some(0), Some(u8::MAX), None])),
        ),
        (
            "u16",
            Arc::new(UInt16Array::from(vec![Some(0), Some(u16::MAX), None])),
        ),
        (
            "u32",
            Arc::new(UInt32Array::from(vec![Some(0), Some(u32::MAX), None])),
        ),
        (
            "u64",
            Arc::new(UInt64Array::from(vec![Some(0), Some(u64::MAX), None])),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![
                Some(f32::MIN_POSITIVE),
                Some(f32::NAN),
                None,
            ])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![
                Some(-2.25e300),
                Some(f64::INFINITY),
                None,
            ])),
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![
                Some("Grüße, 'quoted' \\ 😀"),
                Some(""),
                None,
            ])),
        ),
        (
            "ls",
            Arc::new(LargeStringArray::from(vec![Some("large"), Some("ß"), None])),
        ),
        (
            "b",
            Arc::new(BinaryArray::from(vec![
                Some(&[0u8, 255][..]),
                Some(&[][..]),
                None,
            ])),
        ),
        (
            "dt",
            Arc::new(Date32Array::from(vec![
                Some(-719_162),
                Some(2_932_896),
                None,
            ])),
        ),
        (
            "ts_ms",
            ts(
                TimeUnit::Millisecond,
                None,
                [Some(1), Some(253_402_300_799_999), None],
            ),
        ),
        (
            "ts_us",
            ts(
                TimeUnit::Microsecond,
                None,
                [Some(946_684_799_999_999), Some(-1), None],
            ),
        ),
        (
            "ts_ns",
            ts(TimeUnit::Nanosecond, None, [Some(i64::MAX), Some(-1), None]),
        ),
        (
            "tz_utc",
            ts(
                TimeUnit::Microsecond,
                Some("UTC"),
                [Some(1_709_208_000_500_000), Some(0), None],
            ),
        ),
        (
            "tz_paris",
            ts(
                TimeUnit::Millisecond,
                Some("Europe/Paris"),
                [Some(1_709_208_000_500), Some(0), None],
            ),
        ),
        (
            "tz_ns",
            ts(
                TimeUnit::Nanosecond,
                Some("+02:00"),
                [Some(1), Some(-1), None],
            ),
        ),
        (
            "dec9",
            Arc::new(
                Decimal128Array::from(vec![Some(-999_999_999), Some(1), None])
                    .with_precision_and_scale(9, 2)
                    .unwrap(),
            ),
        ),
        (
            "dec18",
            Arc::new(
                Decimal128Array::from(vec![Some(-123_456_789_012_345_123), Some(0), None])
                    .with_precision_and_scale(18, 3)
                    .unwrap(),
            ),
        ),
        (
            "dec38",
            Arc::new(
                Decimal128Array::from(vec![Some(10_i128.pow(38) - 1), Some(-1), None])
                    .with_precision_and_scale(38, 10)
                    .unwrap(),
            ),
        ),
        ("tags", Arc::new(tags.finish())),
        ("numbers", Arc::new(numbers.finish())),
        ("point", Arc::new(point)),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

/// The columns of `table` with their types, as DuckDB describes them.
fn described(db: &std::path::Path, table: &str) -> String {
    duck(
        db,
        &format!(
            "SELECT column_name || ' ' || data_type FROM information_schema.columns \
             WHERE table_schema || '.' || table_name = '{table}' ORDER BY ordinal_position"
        ),
    )
}

/// Rows of `a` and `b` that differ, every column compared as DuckDB's text of it.
fn differing(db: &std::path::Path, a: &str, b: &str) -> String {
    let text = |t: &str| format!("SELECT columns(*)::VARCHAR FROM {t}");
    duck(
        db,
        &format!(
            "SELECT count(*) FROM (({} EXCEPT ALL {}) UNION ALL ({} EXCEPT ALL {}))",
            text(a),
            text(b),
            text(b),
            text(a)
        ),
    )
}

#[test]
fn duckdb_reading_the_files_itself_makes_the_table_the_streamed_batches_make() {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(
        &dir.path().join("data/typed/part-0.parquet"),
        &[every_type([1, 2, 3])],
    );
    write_parquet(
        &dir.path().join("data/typed/part-1.parquet"),
        &[every_type([4, 5, 6]), every_type([7, 8, 9])],
    );
    let flows = "  itself:
    home: {type: parquet, path: data/typed}
    store: {type: duckdb, connection: wh, table: main.itself, if_exists: replace}
  streamed:
    home: {type: parquet, path: data/typed}
    store: {type: duckdb, connection: wh, table: main.streamed, if_exists: replace, read_parquet: false}
  some_columns:
    home: {type: parquet, path: data/typed}
    store: {type: duckdb, connection: wh, table: main.some_columns, if_exists: replace}
    columns: [point, id, tz_paris]
";
    write_files(dir.path(), &[("hygge.yml", &duckdb_project(flows))]);
    let db = dir.path().join("warehouse.duckdb");

    let itself = ok(run(dir.path(), &["go", "--flow", "itself"]));
    assert!(itself.contains(READ_ITSELF), "{itself}");
    let streamed = ok(run(dir.path(), &["go", "--flow", "streamed"]));
    assert!(!streamed.contains(READ_ITSELF), "{streamed}");
    assert_eq!(duck(&db, "SELECT count(*) FROM main.itself"), "9");
    assert_eq!(
        described(&db, "main.itself"),
        described(&db, "main.streamed")
    );
    assert_eq!(differing(&db, "main.itself", "main.streamed"), "0");
    // The compare sees values: a changed one is counted (both ways).
    duck_changed(&db);
    assert_eq!(differing(&db, "main.itself", "main.streamed"), "2");

    // A projection reads those columns, in that order.
    let some = ok(run(dir.path(), &["go", "--flow", "some_columns"]));
    assert!(some.contains(READ_ITSELF), "{some}");
    assert_eq!(
        duck(
            &db,
            "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM \
             information_schema.columns WHERE table_name = 'some_columns'"
        ),
        "point,id,tz_paris"
    );
    assert_eq!(
        duck(
            &db,
            "SELECT count(*) FROM (SELECT point, id, tz_paris FROM main.streamed \
             EXCEPT ALL SELECT * FROM main.some_columns)"
        ),
        "0"
    );
    assert_eq!(
        duck(
            &db,
            "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%__hygge_%'"
        ),
        "0"
    );
}

/// Changes one value of `main.itself`, so the comparison must see it.
fn duck_changed(db: &std::path::Path) {
    common::duckdb::duck_write(db, "UPDATE main.itself SET s = 'changed' WHERE id = 5");
}

#[test]
fn what_duckdb_would_read_otherwise_is_streamed_and_incremental_runs_stream() {
    let dir = tempfile::tempdir().unwrap();
    let dictionary: DictionaryArray<arrow_array::types::Int32Type> =
        vec!["a", "b", "a"].into_iter().collect();
    // Each declined for its own reason: DuckDB's ingest makes a dictionary an ENUM; its
    // Parquet reader and its Arrow ingest type a time of day differently; seconds since the
    // epoch are plain integers to Parquet, a timestamp only to Arrow's readers.
    let odd: [(&str, ArrayRef, &str); 3] = [
        ("kind", Arc::new(dictionary), "a,b,a"),
        (
            "clock",
            Arc::new(Time64MicrosecondArray::from(vec![0, 1, 86_399_999_999])),
            "00:00:00,00:00:00.000001,23:59:59.999999",
        ),
        (
            "seconds",
            Arc::new(TimestampSecondArray::from(vec![0, 1, -1])),
            "1970-01-01 00:00:00,1970-01-01 00:00:01,1969-12-31 23:59:59",
        ),
    ];
    let mut flows = String::new();
    for (name, column, _) in &odd {
        let batch = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            (name, column.clone()),
        ])
        .unwrap();
        write_parquet(
            &dir.path().join(format!("data/{name}/part-0.parquet")),
            &[batch],
        );
        flows.push_str(&format!(
            "  {name}:\n    home: {{type: parquet, path: data/{name}}}\n    \
             store: {{type: duckdb, connection: wh, table: main.{name}, if_exists: replace}}\n"
        ));
    }
    write_parquet(
        &dir.path().join("data/plain/part-0.parquet"),
        &[RecordBatch::try_from_iter(vec![(
            "id",
            Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
        )])
        .unwrap()],
    );
    flows.push_str(
        "  watermarked:
    home: {type: parquet, path: data/plain}
    store: {type: duckdb, connection: wh, table: main.watermarked}
    watermark: {column: id}
",
    );
    write_files(dir.path(), &[("hygge.yml", &duckdb_project(&flows))]);
    let db = dir.path().join("warehouse.duckdb");
    for (name, _, expected) in &odd {
        let out = ok(run(dir.path(), &["go", "--flow", name]));
        assert!(!out.contains(READ_ITSELF), "{name}: {out}");
        assert_eq!(
            duck(
                &db,
                &format!("SELECT string_agg({name}::VARCHAR, ',' ORDER BY id) FROM main.{name}")
            ),
            *expected
        );
    }
    let out = ok(run(dir.path(), &["go", "--flow", "watermarked"]));
    assert!(!out.contains(READ_ITSELF), "{out}");
    assert_eq!(duck(&db, "SELECT count(*) FROM main.watermarked"), "3");
}

#[test]
fn a_read_parquet_key_on_another_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "hygge.yml",
            "name: p\nflows:\n  f:\n    home: {path: data}\n    store: {type: sqlite, path: w.db, table: t, read_parquet: true}\n",
        )],
    );
    let out = text(&run(dir.path(), &["go"]));
    assert!(
        out.contains("read_parquet") && out.contains("only a duckdb store"),
        "{out}"
    );
    assert!(!dir.path().join("w.db").exists());
}

#[test]
fn a_file_whose_footer_disagrees_with_itself_is_refused_as_when_streamed() {
    let dir = tempfile::tempdir().unwrap();
    // The second file: the first is read when the home opens, and refused there.
    write_parquet(
        &dir.path().join("data/lying/part-0.parquet"),
        &[every_type([1, 2, 3])],
    );
    let file = dir.path().join("data/lying/part-1.parquet");
    write_parquet(&file, &[every_type([4, 5, 6])]);
    set_row_group_counts(&file, 2);
    let flows = "  lying:
    home: {type: parquet, path: data/lying}
    store: {type: duckdb, connection: wh, table: main.lying, if_exists: replace}
";
    write_files(dir.path(), &[("hygge.yml", &duckdb_project(flows))]);
    let out = fails(run(dir.path(), &["go"]));
    assert!(out.contains("disagrees with itself"), "{out}");
    assert!(!out.contains(READ_ITSELF), "{out}");
    assert_eq!(
        duck(
            &dir.path().join("warehouse.duckdb"),
            "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'lying%'"
        ),
        "0"
    );
}

/// A project in `dir` whose flow has loaded 100 rows labelled `old` into `main.t`, and now
/// loads a 4M-row file instead: the database file, and the command that runs that load.
fn a_big_load_to_stop(dir: &std::path::Path) -> (std::path::PathBuf, std::process::Command) {
    let rows = |n: i64, label: &str| {
        RecordBatch::try_from_iter(vec![
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
            ),
            (
                "label",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("{label}-{i}")),
                )) as ArrayRef,
            ),
        ])
        .unwrap()
    };
    write_parquet(&dir.join("data/small/part-0.parquet"), &[rows(100, "old")]);
    let big: Vec<RecordBatch> = (0..40).map(|_| rows(100_000, "new")).collect();
    write_parquet(&dir.join("data/big/part-0.parquet"), &big);
    let flows = "  load:
    home: {type: parquet, path: data/small}
    store: {type: duckdb, connection: wh, table: main.t, if_exists: replace}
";
    write_files(dir, &[("hygge.yml", &duckdb_project(flows))]);
    let db = dir.join("warehouse.duckdb");
    ok(run(dir, &["go"]));
    assert_eq!(duck(&db, "SELECT count(*) FROM main.t"), "100");
    write_files(
        dir,
        &[(
            "hygge.yml",
            &duckdb_project(&flows.replace("data/small", "data/big")),
        )],
    );
    let mut command = hygge();
    command
        .arg("--project")
        .arg(dir)
        .arg("go")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    (db, command)
}

/// Whether DuckDB is writing the rows it reads, into the file or its log, before it
/// commits: an event of the running load.
fn duckdb_writing(db: &std::path::Path) -> impl FnMut() -> bool {
    let size = |path: &std::path::Path| std::fs::metadata(path).map_or(0, |m| m.len());
    let (db, wal) = (db.to_path_buf(), db.with_extension("duckdb.wal"));
    let before = size(&db) + size(&wal);
    move || size(&db) + size(&wal) > before + 8 * 1024 * 1024
}

/// The table holds the first run's rows, and a next run cleans up and loads the big file.
fn left_as_it_was_then_loads(dir: &std::path::Path, db: &std::path::Path) {
    assert_eq!(
        duck(db, "SELECT count(*), min(label) FROM main.t"),
        "100|old-0"
    );
    let again = ok(run(dir, &["go"]));
    assert!(again.contains(READ_ITSELF), "{again}");
    assert_eq!(duck(db, "SELECT count(*) FROM main.t"), "4000000");
    assert_eq!(
        duck(
            db,
            "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%__hygge_%'"
        ),
        "0"
    );
}

#[test]
fn a_kill_9_while_duckdb_reads_the_files_leaves_the_table_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (db, mut command) = a_big_load_to_stop(dir.path());
    let mut child = command.spawn().unwrap();
    kill_after(
        &mut child,
        "DuckDB writing the rows it read",
        duckdb_writing(&db),
    );
    left_as_it_was_then_loads(dir.path(), &db);
}

#[test]
fn an_interrupt_while_duckdb_reads_the_files_stops_it_and_leaves_the_table_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (db, mut command) = a_big_load_to_stop(dir.path());
    let mut child = command.spawn().unwrap();
    let mut writing = duckdb_writing(&db);
    while !writing() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before DuckDB wrote"
        );
        std::thread::yield_now();
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let output = child.wait_with_output().unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(130), "{out}");
    // DuckDB was stopped, not waited for: its read ended in its interrupt error.
    assert!(
        out.contains("the abandoned load failed") && out.contains("nterrupt"),
        "{out}"
    );
    left_as_it_was_then_loads(dir.path(), &db);
}
