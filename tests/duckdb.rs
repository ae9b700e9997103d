//! `hygge go` with DuckDB homes and stores (libduckdb loaded at run time) and `type: adbc`:
//! every type both ways, checked with Python's duckdb (an independent reader); the
//! if_exists matrix and merge; incremental runs; SQL over Parquet files; a missing library,
//! a file of a newer DuckDB and a locked file, each a clear error that touches nothing.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;

use arrow_array::*;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use common::duckdb::{duck, duck_write, duckdb_project, library, sqlite, sqlite_driver};
use common::*;
use hygge_object_test_servers::DuckDbHolder;

/// Every DuckDB type the connectors move, with a row of extremes, an ordinary row, and a
/// row of NULLs.
const EVERYTHING: &str = "
CREATE SCHEMA src;
CREATE TABLE src.everything (
  id BIGINT NOT NULL, ti TINYINT, si SMALLINT, i INTEGER, bi BIGINT, hi HUGEINT,
  uti UTINYINT, usi USMALLINT, ui UINTEGER, ubi UBIGINT, f FLOAT, d DOUBLE,
  dec DECIMAL(18,3), wide DECIMAL(38,10), s VARCHAR, b BLOB, ok BOOLEAN, dt DATE, tm TIME,
  ts TIMESTAMP, tstz TIMESTAMPTZ, tsns TIMESTAMP_NS, tsms TIMESTAMP_MS, iv INTERVAL, u UUID,
  li INTEGER[], ls VARCHAR[], st STRUCT(a INTEGER, b VARCHAR), m MAP(VARCHAR, INTEGER)
);
INSERT INTO src.everything VALUES
 (1, -128, -32768, -2147483648, -9223372036854775808, -12345678901234567890123456789,
  0, 0, 0, 0, 1.5, -2.25e300, -123456789012345.123, 1234567890123456789012345678.0123456789,
  'Grüße, ''quoted'' \\ back 😀', '\\x00\\xFF'::BLOB, true, '0001-01-01', '00:00:00',
  '1999-12-31 23:59:59.999999', '2024-02-29 12:00:00.5+02', '2262-04-11 23:47:16.854775',
  '1970-01-01 00:00:00.001', INTERVAL '1 year 2 months 3 days 04:05:06.789',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', [1, NULL, 3], ['x', '', NULL], {'a': 1, 'b': 'z'},
  MAP {'k': 1, 'l': NULL}),
 (2, 127, 32767, 2147483647, 9223372036854775807, 99999999999999999999999999999999999999,
  255, 65535, 4294967295, 18446744073709551615, -0.0, 5e-324, 999999999999999.999,
  -0.0000000001, '', ''::BLOB, false, '9999-12-31', '23:59:59.999999', '1900-01-01 00:00:00',
  '1900-01-01 00:00:00+00', '1677-09-22 00:12:43.145225', '2262-04-11 23:47:16.854',
  INTERVAL '-3 days -1 second', '00000000-0000-0000-0000-000000000000', [], [], {'a': NULL, 'b': NULL},
  MAP {}),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
";

/// The columns compared between a source and a copy, as text.
const COLUMNS: &[&str] = &[
    "ti", "si", "i", "bi", "hi", "uti", "usi", "ui", "ubi", "f", "d", "dec", "wide", "s", "b",
    "ok", "dt", "tm", "ts", "tstz", "tsns", "tsms", "u", "li", "ls", "st", "m",
];

/// Rows of `a` and `b` whose compared columns differ as text, counted by Python's duckdb.
fn differing(db: &std::path::Path, a: &str, b: &str, with_interval: bool) -> String {
    let mut columns: Vec<String> = COLUMNS.iter().map(|c| format!("{c}::VARCHAR")).collect();
    if with_interval {
        columns.push("iv::VARCHAR".into());
    }
    let columns = columns.join(", ");
    duck(
        db,
        &format!(
            "SELECT count(*) FROM ((SELECT id, {columns} FROM {a} EXCEPT SELECT id, {columns} FROM {b}) \
             UNION ALL (SELECT id, {columns} FROM {b} EXCEPT SELECT id, {columns} FROM {a}))"
        ),
    )
}

#[test]
fn every_type_moves_duckdb_to_duckdb_and_through_parquet_and_python_reads_it_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warehouse.duckdb");
    duck_write(&db, EVERYTHING);
    let flows = "  copy:
    home: {type: duckdb, connection: wh, table: src.everything}
    store: {type: duckdb, connection: wh, table: dst.everything, if_exists: replace}
  unload:
    home:
      type: duckdb
      connection: wh
      query: SELECT * EXCLUDE (iv) FROM src.everything
    store: {path: data/out}
  reload:
    home: {path: data/out}
    store: {type: duckdb, connection: wh, table: back.everything, if_exists: replace}
";
    write_files(dir.path(), &[("hygge.yml", &duckdb_project(flows))]);
    ok(run(dir.path(), &["go", "--flow", "copy"]));
    ok(run(dir.path(), &["go", "--flow", "unload"]));
    ok(run(dir.path(), &["go", "--flow", "reload"]));

    assert_eq!(duck(&db, "SELECT count(*) FROM dst.everything"), "3");
    assert_eq!(
        differing(&db, "src.everything", "dst.everything", true),
        "0"
    );
    assert_eq!(
        differing(&db, "src.everything", "back.everything", false),
        "0"
    );
    // Types as documented: the same types back, but UUIDs as text and HUGEINT as
    // DECIMAL(38,0), as from the other databases.
    let types = duck(
        &db,
        "SELECT column_name || ' ' || data_type FROM information_schema.columns \
         WHERE table_schema = 'dst' AND table_name = 'everything' ORDER BY ordinal_position",
    );
    for expected in [
        "id BIGINT",
        "hi DECIMAL(38,0)",
        "ubi UBIGINT",
        "dec DECIMAL(18,3)",
        "wide DECIMAL(38,10)",
        "tstz TIMESTAMP WITH TIME ZONE",
        "tsns TIMESTAMP_NS",
        "iv INTERVAL",
        "u VARCHAR",
        "li INTEGER[]",
        "st STRUCT(a INTEGER, b VARCHAR)",
        "m MAP(VARCHAR, INTEGER)",
    ] {
        assert!(types.lines().any(|l| l == expected), "{expected}:\n{types}");
    }
    // Nothing of the publish is left behind.
    assert_eq!(
        duck(
            &db,
            "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '%__hygge_%'"
        ),
        "0"
    );
}

/// The bytes of a gzip file, unpacked by Python's gzip (the tools venv's Python).
fn gunzip(path: &std::path::Path) -> Vec<u8> {
    let python = hygge_object_test_servers::tools_dir().join("venv/bin/python");
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import gzip, sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn orders(ids: std::ops::Range<i64>, label: &str) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("label", DataType::Utf8, true),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let n = ids.end - ids.start;
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|_| label.to_string()),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    ids.map(|i| 1_767_225_600_000_000 + i * 60_000_000),
                )
                .with_timezone("UTC"),
            ),
        ],
    )
    .unwrap()
}

#[test]
fn if_exists_fail_append_replace_truncate_and_merge_publish_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warehouse.duckdb");
    let flow = |name: &str, if_exists: &str| {
        format!(
            "  {name}:
    home: {{path: data/in}}
    store: {{type: duckdb, connection: wh, table: sales.orders, if_exists: {if_exists}, primary_key: id}}
"
        )
    };
    let flows: String = ["fail", "append", "replace", "truncate", "merge"]
        .iter()
        .map(|m| flow(m, m))
        .collect();
    write_files(dir.path(), &[("hygge.yml", &duckdb_project(&flows))]);
    let input = dir.path().join("data/in/orders.parquet");
    let rows = |sql: &str| duck(&db, sql);
    let contents = || rows("SELECT id || ':' || label FROM sales.orders ORDER BY id");

    write_parquet(&input, &[orders(0..3, "first")]);
    ok(run(dir.path(), &["go", "--flow", "fail"]));
    assert_eq!(contents(), "0:first\n1:first\n2:first");

    // `fail` on an existing table: an error naming the table, and the table unchanged.
    write_parquet(&input, &[orders(2..5, "second")]);
    let text = fails(run(dir.path(), &["go", "--flow", "fail"]));
    assert!(
        text.contains("sales.orders already exists") && text.contains("if_exists"),
        "{text}"
    );
    assert_eq!(contents(), "0:first\n1:first\n2:first");

    ok(run(dir.path(), &["go", "--flow", "append"]));
    assert_eq!(
        contents(),
        "0:first\n1:first\n2:first\n2:second\n3:second\n4:second"
    );

    ok(run(dir.path(), &["go", "--flow", "merge"]));
    assert_eq!(contents(), "0:first\n1:first\n2:second\n3:second\n4:second");

    write_parquet(&input, &[orders(7..9, "third")]);
    ok(run(dir.path(), &["go", "--flow", "truncate"]));
    assert_eq!(contents(), "7:third\n8:third");

    write_parquet(&input, &[orders(9..10, "fourth")]);
    ok(run(dir.path(), &["go", "--flow", "replace"]));
    assert_eq!(contents(), "9:fourth");
    assert_eq!(
        rows("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '%hygge%'"),
        "0"
    );
}

#[test]
fn three_incremental_runs_read_only_new_rows_and_the_watermark_commits_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warehouse.duckdb");
    duck_write(
        &db,
        "CREATE TABLE events AS SELECT i AS id, TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL 1 MINUTE AS at, 'first' AS v FROM range(1, 1001) t(i);",
    );
    let flows = "  sync:
    home: {type: duckdb, connection: wh, table: 'main.{entity}'}
    store: {type: duckdb, connection: wh, table: 'copy.{entity}', if_exists: merge}
    run_type: incremental
    entities:
      - name: events
        watermark: {column: at, primary_key: id}
";
    write_files(dir.path(), &[("hygge.yml", &duckdb_project(flows))]);
    let state = || {
        duck(
            &db,
            "SELECT watermark FROM copy.hygge_state WHERE flow = 'sync' AND entity = 'events'",
        )
    };
    let text = ok(run(dir.path(), &["go"]));
    assert!(text.contains("1,000"), "{text}");
    assert_eq!(state(), "2026-01-01T16:40:00Z");

    duck_write(
        &db,
        "INSERT INTO events SELECT i, TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL 1 MINUTE, 'second' FROM range(1001, 1011) t(i);
         UPDATE events SET v = 'changed', \"at\" = TIMESTAMPTZ '2026-02-01 00:00:00+00' WHERE id = 5;",
    );
    let text = ok(run(dir.path(), &["go"]));
    assert!(text.contains(" 11 "), "11 rows in the second run:\n{text}");
    assert_eq!(state(), "2026-02-01T00:00:00Z");
    assert_eq!(
        duck(
            &db,
            "SELECT count(*) || ':' || count(*) FILTER (WHERE v = 'changed') FROM copy.events"
        ),
        "1010:1"
    );

    let text = ok(run(dir.path(), &["go"]));
    assert!(
        text.contains(" 0 "),
        "nothing new in the third run:\n{text}"
    );
    assert_eq!(state(), "2026-02-01T00:00:00Z");
    assert_eq!(
        duck(
            &db,
            "SELECT count(*) FROM (SELECT * FROM events EXCEPT SELECT * FROM copy.events)"
        ),
        "0"
    );
}

#[test]
fn a_duckdb_query_over_parquet_files_reads_what_hygge_reads_natively() {
    let dir = tempfile::tempdir().unwrap();
    for part in 0..3 {
        write_parquet(
            &dir.path()
                .join(format!("data/raw/orders/part-{part}.parquet")),
            &[orders(part * 1000..(part + 1) * 1000, &format!("p{part}"))],
        );
    }
    // The home has no `path`: an in-memory DuckDB; the query's relative paths are taken
    // from the project folder, wherever hygge runs from.
    let flows = format!(
        "  by_duckdb:
    home:
      type: duckdb
      library: {}
      query: |
        SELECT * FROM read_parquet('data/raw/orders/*.parquet')
        WHERE label <> 'p1' -- a comment at the end, as YAML block queries often have
    store: {{path: data/by_duckdb}}
  native:
    home: {{path: data/raw/orders}}
    store: {{path: data/native}}
",
        library().display()
    );
    write_files(
        dir.path(),
        &[("hygge.yml", &format!("name: q\nflows:\n{flows}"))],
    );
    ok(run(dir.path(), &["go"]));
    let sorted = |sub: &str| {
        let batches = read_dir_batches(&dir.path().join(sub));
        let all = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
        let ids = all.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let order = arrow_ord::sort::sort_to_indices(ids, None, None).unwrap();
        arrow_select::take::take_record_batch(&all, &order).unwrap()
    };
    let native = sorted("data/native");
    let keep = arrow_ord::cmp::neq(native.column(1), &StringArray::new_scalar("p1")).unwrap();
    let expected = arrow_select::filter::filter_record_batch(&native, &keep).unwrap();
    let by_duckdb = sorted("data/by_duckdb");
    assert_eq!(by_duckdb.num_rows(), 2000);
    assert_eq!(by_duckdb.columns(), expected.columns());
    assert_eq!(
        by_duckdb
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect::<Vec<_>>(),
        expected
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_missing_library_and_a_newer_duckdb_file_are_clear_errors_that_touch_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warehouse.duckdb");
    duck_write(&db, "CREATE TABLE kept AS SELECT 1 AS id");
    write_parquet(&dir.path().join("data/in/o.parquet"), &[orders(0..3, "x")]);
    let before = std::fs::read(&db).unwrap();
    let project = |library: &str| {
        format!(
            "name: bad
flows:
  load:
    home: {{path: data/in}}
    store: {{type: duckdb, path: warehouse.duckdb, library: {library}, table: kept, if_exists: replace}}
"
        )
    };
    write_files(
        dir.path(),
        &[("hygge.yml", &project("/nowhere/libduckdb.so"))],
    );
    let text = fails(run(dir.path(), &["go"]));
    assert!(
        text.contains("/nowhere/libduckdb.so")
            && text.contains("HYGGE_DUCKDB_LIBRARY")
            && text.contains("npm install")
            && text.contains("brew install duckdb"),
        "{text}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);

    // A file DuckDB 2.0.1 wrote in its own storage format (Python duckdb 2.0.1:
    // ATTACH … (STORAGE_VERSION 'v2.0.0')), which the 1.5 library cannot read.
    let newer = gunzip(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/written-by-duckdb-v2.0.1.duckdb.gz"),
    );
    std::fs::write(&db, &newer).unwrap();
    write_files(
        dir.path(),
        &[("hygge.yml", &project(&library().display().to_string()))],
    );
    let text = fails(run(dir.path(), &["go"]));
    assert!(
        text.contains("written by DuckDB v2.0.1") && text.contains("hygge loaded DuckDB v1.5.6"),
        "{text}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), newer);
}

#[test]
fn a_database_another_process_holds_is_waited_for_then_loaded_or_refused_after_lock_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warehouse.duckdb");
    duck_write(&db, "CREATE TABLE kept AS SELECT 1 AS id");
    write_parquet(&dir.path().join("data/in/o.parquet"), &[orders(0..3, "x")]);
    let flows = |timeout: &str| {
        format!(
            "  load:
    home: {{path: data/in}}
    store: {{type: duckdb, connection: wh, table: main.orders, if_exists: replace{timeout}}}
"
        )
    };
    let holder = DuckDbHolder::hold(&db).unwrap();
    write_files(
        dir.path(),
        &[("hygge.yml", &duckdb_project(&flows(", lock_timeout: 0")))],
    );
    let text = fails(run(dir.path(), &["go"]));
    assert!(
        text.contains("locked by another process") && text.contains("lock_timeout"),
        "{text}"
    );

    // With the default timeout the run waits, says so, and loads once the file is free.
    write_files(dir.path(), &[("hygge.yml", &duckdb_project(&flows("")))]);
    let mut child = hygge()
        .arg("--project")
        .arg(dir.path())
        .arg("go")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines().map_while(Result::ok);
    assert!(
        lines.any(|line| line.contains("waiting for it")),
        "the run should say it waits"
    );
    holder.release();
    let rest: Vec<String> = lines.collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "{}", rest.join("\n"));
    assert_eq!(duck(&db, "SELECT count(*) FROM main.orders"), "3");
    assert_eq!(duck(&db, "SELECT count(*) FROM kept"), "1");
}

#[test]
fn type_adbc_loads_and_reads_through_the_sqlite_and_duckdb_drivers() {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(&dir.path().join("data/in/o.parquet"), &[orders(0..5, "x")]);
    let project = format!(
        "name: adbc
connections:
  lite:
    type: adbc
    driver: {}
    uri: file:lite.db
  duck:
    type: adbc
    driver: {}
    entrypoint: duckdb_adbc_init
    options: {{path: duck.duckdb}}
flows:
  to_lite:
    home: {{path: data/in}}
    store: {{type: adbc, connection: lite, table: orders, if_exists: replace}}
  from_lite:
    home: {{type: adbc, connection: lite, query: 'SELECT id, label FROM orders WHERE id >= 2'}}
    store: {{path: data/from_lite}}
  to_duck:
    home: {{path: data/in}}
    store: {{type: adbc, connection: duck, table: main.orders, if_exists: append}}
",
        sqlite_driver().display(),
        library().display()
    );
    write_files(dir.path(), &[("hygge.yml", &project)]);
    // The SQLite URI and DuckDB path are the driver's own: relative to where hygge runs.
    let go = |flow: &str| {
        let mut cmd = hygge();
        cmd.current_dir(dir.path()).args(["go", "--flow", flow]);
        ok(cmd.output().unwrap())
    };
    go("to_lite");
    go("to_lite");
    assert_eq!(
        sqlite(
            &dir.path().join("lite.db"),
            "SELECT count(*), min(id), max(id) FROM orders"
        ),
        "5|0|4"
    );
    go("from_lite");
    assert_eq!(count_rows(&dir.path().join("data/from_lite")), 3);
    go("to_duck");
    go("to_duck");
    assert_eq!(
        duck(
            &dir.path().join("duck.duckdb"),
            "SELECT count(*) FROM main.orders"
        ),
        "10"
    );
}

/// `samples/duckdb` runs as written with `HYGGE_DUCKDB_LIBRARY` set: the Parquet files into
/// DuckDB, a report queried back out, and the orders into SQLite.
#[test]
fn the_duckdb_sample_runs_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("duckdb");
    copy_tree(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/duckdb"),
        &project,
    );
    let sample = |args: &[&str]| {
        hygge()
            .arg("--project")
            .arg(&project)
            .args(args)
            .env("HYGGE_DUCKDB_LIBRARY", library())
            .output()
            .unwrap()
    };
    ok(sample(&["go", "--flow", "load"]));
    ok(sample(&["go", "--flow", "report"]));
    ok(sample(&["go", "--flow", "to_sqlite"]));
    ok(sample(&["debug"]));
    let db = project.join("data/warehouse.duckdb");
    assert_eq!(
        duck(&db, "SELECT count(*) FROM raw.orders"),
        count_rows(&project.join("data/source/orders")).to_string()
    );
    assert_eq!(
        duck(&db, "SELECT count(*) FROM raw.customers"),
        count_rows(&project.join("data/source/customers")).to_string()
    );
    let report = read_dir_batches(&project.join("data/report"));
    let orders: i64 = report
        .iter()
        .map(|b| {
            arrow_array::cast::AsArray::as_primitive::<arrow_array::types::Int64Type>(
                b.column_by_name("orders").unwrap(),
            )
            .iter()
            .flatten()
            .sum::<i64>()
        })
        .sum();
    assert_eq!(
        orders.to_string(),
        duck(&db, "SELECT count(*) FROM raw.orders")
    );
    assert_eq!(
        sqlite(&project.join("data/shop.db"), "SELECT count(*) FROM orders"),
        duck(&db, "SELECT count(*) FROM raw.orders")
    );
}
