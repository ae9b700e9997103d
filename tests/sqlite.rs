//! `hygge go` with SQLite homes and stores (SQLite compiled in): the documented type
//! mapping both ways, checked with Python's sqlite3 (an independent reader); Python
//! hygge's keys and its append; the if_exists matrix and merge; incremental runs; a value a
//! declared type cannot hold; and a database another process is writing.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use arrow_array::*;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use common::duckdb::sqlite;
use common::*;

/// One column of each type the mapping names, with a row of values and a row of NULLs.
fn everything() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("ok", DataType::Boolean, true),
        Field::new("i32", DataType::Int32, true),
        Field::new("u64", DataType::UInt64, true),
        Field::new("f", DataType::Float64, true),
        Field::new("dec", DataType::Decimal128(18, 3), true),
        Field::new("s", DataType::Utf8, true),
        Field::new("b", DataType::Binary, true),
        Field::new("d", DataType::Date32, true),
        Field::new("t", DataType::Time64(TimeUnit::Microsecond), true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new(
            "tz",
            DataType::Timestamp(TimeUnit::Microsecond, Some("+02:00".into())),
            true,
        ),
        Field::new("ns", DataType::Timestamp(TimeUnit::Nanosecond, None), true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(BooleanArray::from(vec![Some(true), None])),
            Arc::new(Int32Array::from(vec![Some(-7), None])),
            Arc::new(UInt64Array::from(vec![
                Some(9_223_372_036_854_775_807),
                None,
            ])),
            Arc::new(Float64Array::from(vec![Some(-2.5e300), None])),
            Arc::new(
                Decimal128Array::from(vec![Some(-123_456_789_012_345_678), None])
                    .with_precision_and_scale(18, 3)
                    .unwrap(),
            ),
            Arc::new(StringArray::from(vec![Some("Grüße, 'x' 😀"), None])),
            Arc::new(BinaryArray::from(vec![Some(&b"\x00\xff"[..]), None])),
            Arc::new(Date32Array::from(vec![Some(19_000), None])),
            Arc::new(Time64MicrosecondArray::from(vec![
                Some(3_723_000_004),
                None,
            ])),
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_767_225_600_500_000),
                None,
            ])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_767_225_600_000_000), None])
                    .with_timezone("+02:00"),
            ),
            Arc::new(TimestampNanosecondArray::from(vec![
                Some(1_767_225_600_123_456_789),
                None,
            ])),
        ],
    )
    .unwrap()
}

#[test]
fn every_type_is_stored_as_documented_and_reads_back_through_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(&dir.path().join("data/in/all.parquet"), &[everything()]);
    let project = "name: lite
flows:
  load:
    home: {path: data/in}
    store: {type: sqlite, path: data/warehouse.db, table: everything}
  back:
    home: {type: sqlite, path: data/warehouse.db, table: everything}
    store: {path: data/back}
";
    write_files(dir.path(), &[("hygge.yml", project)]);
    ok(run(dir.path(), &["go", "--flow", "load"]));
    let db = dir.path().join("data/warehouse.db");

    // What Python's sqlite3 finds: the documented classes and texts.
    assert_eq!(
        sqlite(
            &db,
            "SELECT typeof(ok), ok, typeof(i32), i32, typeof(u64), u64, typeof(f), typeof(dec), dec, \
             typeof(s), s, typeof(b), hex(b), d, t, ts, tz, ns FROM everything WHERE id = 1"
        ),
        "integer|1|integer|-7|integer|9223372036854775807|real|text|-123456789012345.678|\
         text|Grüße, 'x' 😀|blob|00FF|2022-01-08|01:02:03.000004|2026-01-01T00:00:00.500|\
         2026-01-01T00:00:00+00:00|2026-01-01T00:00:00.123456789"
    );
    assert_eq!(
        sqlite(
            &db,
            "SELECT count(*) FROM everything WHERE id = 2 AND ok IS NULL AND s IS NULL AND tz IS NULL"
        ),
        "1"
    );
    let declared = sqlite(
        &db,
        "SELECT group_concat(name || ' ' || type, ', ') FROM pragma_table_info('everything')",
    );
    assert_eq!(
        declared,
        "id INTEGER, ok BOOLEAN, i32 INTEGER, u64 INTEGER, f REAL, dec DECIMAL TEXT(18,3), s TEXT, \
         b BLOB, d DATE, t TIME, ts TIMESTAMP, tz TIMESTAMPTZ, ns TIMESTAMP(9)"
    );

    // Read back: the same values; integers as Int64 and zoned timestamps in UTC.
    ok(run(dir.path(), &["go", "--flow", "back"]));
    let back = read_dir_batches(&dir.path().join("data/back"));
    let back = arrow_select::concat::concat_batches(&back[0].schema(), &back).unwrap();
    let source = everything();
    for (i, field) in source.schema().fields().iter().enumerate() {
        let expected_type = match field.data_type() {
            DataType::Int32 | DataType::UInt64 => DataType::Int64,
            DataType::Timestamp(unit, Some(_)) => DataType::Timestamp(*unit, Some("UTC".into())),
            other => other.clone(),
        };
        let expected = arrow_cast::cast(source.column(i), &expected_type).unwrap();
        assert_eq!(
            back.column(i).as_ref(),
            expected.as_ref(),
            "{}",
            field.name()
        );
    }
}

fn orders(ids: std::ops::Range<i64>, label: &str) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("label", DataType::Utf8, true),
    ]));
    let n = ids.end - ids.start;
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(ids)),
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|_| label.to_string()),
            )),
        ],
    )
    .unwrap()
}

#[test]
fn python_hygge_keys_append_and_the_if_exists_matrix_and_merge_publish_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("out/warehouse.db");
    // A Python hygge store, unchanged: path, table, batch_size, options.
    let project = "name: lite
flows:
  python:
    home: {path: data/in}
    store:
      type: sqlite
      path: out/warehouse.db
      table: orders
      batch_size: 2
      options: {batch_size: 5}
  replace:
    home: {path: data/in}
    store: {type: sqlite, path: out/warehouse.db, table: orders, if_exists: replace}
  truncate:
    home: {path: data/in}
    store: {type: sqlite, path: out/warehouse.db, table: orders, if_exists: truncate}
  merge:
    home: {path: data/in}
    store: {type: sqlite, path: out/warehouse.db, table: orders, if_exists: merge, primary_key: id}
  fail:
    home: {path: data/in}
    store: {type: sqlite, path: out/warehouse.db, table: orders, if_exists: fail}
";
    write_files(dir.path(), &[("hygge.yml", project)]);
    let input = dir.path().join("data/in/o.parquet");
    let contents = || {
        sqlite(
            &db,
            "SELECT group_concat(id || ':' || label, ' ') FROM (SELECT * FROM orders ORDER BY id, label)",
        )
    };

    write_parquet(&input, &[orders(0..3, "a")]);
    ok(run(dir.path(), &["go", "--flow", "python"]));
    ok(run(dir.path(), &["go", "--flow", "python"]));
    assert_eq!(contents(), "0:a 0:a 1:a 1:a 2:a 2:a");

    write_parquet(&input, &[orders(2..4, "b")]);
    let text = fails(run(dir.path(), &["go", "--flow", "fail"]));
    assert!(text.contains("main.orders already exists"), "{text}");
    assert_eq!(contents(), "0:a 0:a 1:a 1:a 2:a 2:a");

    ok(run(dir.path(), &["go", "--flow", "merge"]));
    assert_eq!(contents(), "0:a 0:a 1:a 1:a 2:b 3:b");

    write_parquet(&input, &[orders(5..6, "c")]);
    ok(run(dir.path(), &["go", "--flow", "truncate"]));
    assert_eq!(contents(), "5:c");
    // A view on the table keeps naming it across a replace (the swap renames the old table
    // away and drops it).
    sqlite(&db, "CREATE VIEW labels AS SELECT label FROM orders");
    write_parquet(&input, &[orders(6..8, "d")]);
    ok(run(dir.path(), &["go", "--flow", "replace"]));
    assert_eq!(contents(), "6:d 7:d");
    assert_eq!(
        sqlite(&db, "SELECT group_concat(label, ' ') FROM labels"),
        "d d"
    );
    write_parquet(&input, &[orders(8..9, "e")]);
    ok(run(dir.path(), &["go", "--flow", "replace"]));
    assert_eq!(
        sqlite(&db, "SELECT group_concat(label, ' ') FROM labels"),
        "e"
    );
    assert_eq!(
        sqlite(
            &db,
            "SELECT count(*) FROM sqlite_master WHERE name LIKE '%hygge%' AND name <> 'hygge_state'"
        ),
        "0"
    );
}

#[test]
fn three_incremental_runs_read_only_new_rows_and_the_watermark_commits_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    sqlite(
        &src,
        "CREATE TABLE events (id INTEGER, at TIMESTAMP, v TEXT)",
    );
    let insert = |from: i64, to: i64, v: &str| {
        let values: Vec<String> = (from..to)
            .map(|i| format!("({i}, '2026-01-01T00:{:02}:00', '{v}')", i % 60))
            .collect();
        sqlite(
            &src,
            &format!("INSERT INTO events VALUES {}", values.join(", ")),
        );
    };
    insert(0, 50, "first");
    let project = "name: lite
flows:
  sync:
    home: {type: sqlite, path: src.db, table: '{entity}'}
    store: {type: sqlite, path: copy.db, table: '{entity}', if_exists: merge}
    run_type: incremental
    entities:
      - name: events
        watermark: {column: at, primary_key: id}
";
    write_files(dir.path(), &[("hygge.yml", project)]);
    let copy = dir.path().join("copy.db");
    let state = || {
        sqlite(
            &copy,
            "SELECT watermark FROM hygge_state WHERE entity = 'events'",
        )
    };
    let text = ok(run(dir.path(), &["go"]));
    assert!(text.contains(" 50 "), "{text}");
    assert_eq!(state(), "2026-01-01T00:49:00");

    sqlite(
        &src,
        "INSERT INTO events VALUES (50, '2026-01-01T00:50:00', 'second'); UPDATE events SET v = 'changed', at = '2026-01-02T00:00:00' WHERE id = 3",
    );
    let text = ok(run(dir.path(), &["go"]));
    assert!(text.contains(" 2 "), "two rows in the second run:\n{text}");
    assert_eq!(state(), "2026-01-02T00:00:00");
    assert_eq!(
        sqlite(
            &copy,
            "SELECT count(*) || ':' || sum(v = 'changed') FROM events"
        ),
        "51:1"
    );
    let text = ok(run(dir.path(), &["go"]));
    assert!(
        text.contains(" 0 "),
        "nothing new in the third run:\n{text}"
    );
    assert_eq!(state(), "2026-01-02T00:00:00");
}

#[test]
fn a_value_its_declared_type_cannot_hold_is_a_clear_error_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.db");
    sqlite(
        &src,
        "CREATE TABLE t (id INTEGER, amount INTEGER); INSERT INTO t VALUES (1, 5), (2, 'lots')",
    );
    let project = "name: lite
flows:
  read:
    home: {type: sqlite, path: src.db, table: t}
    store: {path: data/out}
";
    write_files(dir.path(), &[("hygge.yml", project)]);
    let text = fails(run(dir.path(), &["go"]));
    assert!(
        text.contains("column `amount`")
            && text.contains("row 2")
            && text.contains("CAST(amount AS TEXT)"),
        "{text}"
    );
    assert!(!dir.path().join("data/out").exists());

    // SQLite would store NaN as NULL: refused by column name, nothing written.
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
    let nan = RecordBatch::try_new(
        schema,
        vec![Arc::new(Float64Array::from(vec![1.0, f64::NAN]))],
    )
    .unwrap();
    write_parquet(&dir.path().join("data/nan/x.parquet"), &[nan]);
    write_files(
        dir.path(),
        &[(
            "hygge.yml",
            "name: lite\nflows:\n  nan:\n    home: {path: data/nan}\n    store: {type: sqlite, path: out.db, table: t}\n",
        )],
    );
    let text = fails(run(dir.path(), &["go"]));
    assert!(text.contains("column `x` holds NaN"), "{text}");
    assert_eq!(
        sqlite(
            &dir.path().join("out.db"),
            "SELECT count(*) FROM sqlite_master WHERE name = 't'"
        ),
        "0"
    );
}
