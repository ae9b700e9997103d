//! `hygge go` with PostgreSQL homes and stores, against a real server the test starts:
//! every type both ways (checked with psql, an independent client), the if_exists matrix,
//! merge, partitioned reads, incremental runs, concurrent writers, 1M rows, and bad input
//! that leaves every destination as it was.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::*;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use common::postgres::{pg_project, pg_run, psql};
use common::*;
use hygge_pg_test_server::PgServer;

/// Every type the connector reads, with a row of extremes and a row of NULLs.
const EVERYTHING: &str = "
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE SCHEMA src;
CREATE TABLE src.everything (
  id bigint NOT NULL, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
  n numeric(12,3), wide numeric(50,10), free numeric, t text, vc varchar(20), c char(5),
  b bytea, ok boolean, d date, tm time, ts timestamp, tstz timestamptz, iv interval,
  u uuid, j json, jb jsonb, ia integer[], ta text[], m mood, p positive
);
INSERT INTO src.everything VALUES
 (1, -32768, -2147483648, -9223372036854775808, 1.5, -2.25e300, -123456789.123,
  12345678901234567890123456789012345678.0123456789, 3.14159265358979323846264338327950288,
  'Grüße, ''quoted'' \\ back', 'ä😀', 'ab', '\\x00ff10', true, '0001-01-01', '00:00:00',
  '1999-12-31 23:59:59.999999', '2024-02-29 12:00:00.5+02', '1 year 2 mons 3 days 04:05:06.789',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', '{\"b\": {\"c\": null}}',
  '{1,NULL,3}', '{\"x\",\"\",NULL}', 'happy', 7),
 (2, 32767, 2147483647, 9223372036854775807, -0.0, 5e-324, 999999999.999,
  -0.0000000001, -42, '', '', 'abcde', '\\x', false, '9999-12-31', '23:59:59.999999',
  '2262-04-11 23:47:16', '1900-01-01 00:00:00+00', '-3 days -00:00:01', '00000000-0000-0000-0000-000000000000',
  '[]', '[]', '{}', '{}', 'sad', 1),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
";

/// The columns, each as text that must read the same in the source and in any copy.
const COMPARED: &[&str] = &[
    "i2::text",
    "i4::text",
    "i8::text",
    "f4::text",
    "f8::text",
    "n::text",
    "wide::text",
    "free::text",
    "t",
    "vc::text",
    "rtrim(c::text)",
    "b::text",
    "ok::text",
    "d::text",
    "tm::text",
    "ts::text",
    "tstz::text",
    "u::text",
    "j::text",
    "jb::text",
    "ia::text",
    "ta::text",
    "m::text",
    "p::text",
];

/// psql's count of rows where any compared column differs between two tables.
fn differing(server: &PgServer, a: &str, b: &str, with_interval: bool) -> String {
    let mut columns = COMPARED.join(", ");
    if with_interval {
        columns.push_str(", iv::text");
    }
    psql(
        server,
        &format!(
            "SELECT count(*) FROM ((SELECT id, {columns} FROM {a} EXCEPT SELECT id, {columns} FROM {b}) \
             UNION ALL (SELECT id, {columns} FROM {b} EXCEPT SELECT id, {columns} FROM {a})) d"
        ),
    )
}

#[test]
fn every_type_moves_postgres_to_parquet_to_postgres_and_psql_reads_it_back_unchanged() {
    let server = PgServer::start().unwrap();
    psql(&server, EVERYTHING);
    let dir = tempfile::tempdir().unwrap();
    let flows = "  unload:
    home:
      type: postgres
      connection: db
      query: SELECT id, i2, i4, i8, f4, f8, n, wide, free, t, vc, c, b, ok, d, tm, ts, tstz, u, j, jb, ia, ta, m, p FROM src.everything
    store: {path: data/out}
  with_interval:
    home: {type: postgres, connection: db, table: src.everything}
    store: {path: data/interval}
  reload:
    home: {path: data/out}
    store: {type: postgres, connection: db, table: dst.everything, if_exists: replace}
  direct:
    home: {type: postgres, connection: db, table: src.everything}
    store:
      type: postgres
      connection: db
      table: direct.everything
      schema_overrides: {u: uuid, jb: jsonb, j: json, free: numeric}
";
    write_files(dir.path(), &[("hygge.yml", &pg_project(&server, flows))]);
    // Parquet has no month-day-nano interval: the store refuses before writing anything.
    let text = fails(pg_run(dir.path(), &["go", "--flow", "with_interval"], None));
    assert!(
        text.contains("column `iv` is an interval") && text.contains("EXTRACT(EPOCH FROM iv)"),
        "{text}"
    );
    assert!(!dir.path().join("data/interval").exists());
    ok(pg_run(dir.path(), &["go", "--flow", "unload"], None));

    // The Arrow types, as documented.
    let batches = read_dir_batches(&dir.path().join("data/out"));
    let batch = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
    let types: Vec<(String, DataType)> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let expect = |name: &str, ty: DataType| {
        assert!(
            types.contains(&(name.to_string(), ty.clone())),
            "{name} should be {ty}: {types:?}"
        );
    };
    expect("i2", DataType::Int16);
    expect("n", DataType::Decimal128(12, 3));
    expect("wide", DataType::Decimal256(50, 10));
    expect("free", DataType::Utf8);
    expect("b", DataType::Binary);
    expect("tm", DataType::Time64(TimeUnit::Microsecond));
    expect("ts", DataType::Timestamp(TimeUnit::Microsecond, None));
    expect(
        "tstz",
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    );
    expect("u", DataType::Utf8);
    expect("jb", DataType::Utf8);
    expect("m", DataType::Utf8);
    expect("p", DataType::Int32);
    expect(
        "ia",
        DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
    );
    assert_eq!(batch.num_rows(), 3);
    let column = |name: &str| batch.column_by_name(name).unwrap().clone();
    let row = |name: &str| {
        let ids = batch
            .column_by_name("id")
            .unwrap()
            .as_primitive::<Int64Type>();
        (0..3)
            .find(|i| ids.value(*i) == if name == "first" { 1 } else { 3 })
            .unwrap()
    };
    let (first, nulls) = (row("first"), row("nulls"));
    assert_eq!(
        column("tstz")
            .as_primitive::<arrow_array::types::TimestampMicrosecondType>()
            .value(first),
        1_709_200_800_500_000,
        "timestamptz is UTC microseconds"
    );
    assert_eq!(
        column("u").as_string::<i32>().value(first),
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    );
    assert_eq!(
        column("free").as_string::<i32>().value(first),
        "3.14159265358979323846264338327950288"
    );
    assert!(
        (0..batch.num_columns())
            .skip(1)
            .all(|c| batch.column(c).is_null(nulls))
    );

    // Back into PostgreSQL, and straight from table to table: psql sees the same values.
    ok(pg_run(dir.path(), &["go", "--flow", "reload"], None));
    assert_eq!(
        differing(&server, "src.everything", "dst.everything", false),
        "0"
    );
    ok(pg_run(dir.path(), &["go", "--flow", "direct"], None));
    assert_eq!(
        differing(&server, "src.everything", "direct.everything", true),
        "0"
    );
    assert_eq!(
        psql(
            &server,
            "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY column_name) \
             FROM information_schema.columns WHERE table_schema = 'direct' \
             AND column_name IN ('u', 'jb', 'ia', 'wide', 'tstz')"
        ),
        "ia ARRAY, jb jsonb, tstz timestamp with time zone, u uuid, wide numeric"
    );
    assert_eq!(
        psql(
            &server,
            "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '%hygge%' \
             AND table_name <> 'hygge_state'"
        ),
        "0",
        "no staging tables are left"
    );
}

#[test]
fn values_and_types_arrow_cannot_hold_stop_the_run_naming_the_column() {
    let server = PgServer::start().unwrap();
    psql(
        &server,
        "CREATE TABLE nan (id int, x numeric(10,2)); INSERT INTO nan VALUES (1, 1), (2, 'NaN');
         CREATE TABLE inf (id int, d date); INSERT INTO inf VALUES (1, 'infinity');
         CREATE TABLE grid (id int, g int[]); INSERT INTO grid VALUES (1, '{{1,2},{3,4}}');
         CREATE TABLE shapes (id int, p point); INSERT INTO shapes VALUES (1, '(1,2)');",
    );
    let dir = tempfile::tempdir().unwrap();
    let flows = "  read:
    home: {type: postgres, connection: db, table: 'public.{entity}'}
    store: {path: data/out}
    entities: [nan, inf, grid, shapes]
options:
  continue_on_error: true
";
    write_files(dir.path(), &[("hygge.yml", &pg_project(&server, flows))]);
    let text = fails(pg_run(dir.path(), &["go"], None));
    assert!(text.contains("column `x` holds NaN"), "{text}");
    assert!(text.contains("column `d` (date) holds infinity"), "{text}");
    assert!(
        text.contains("column `g` holds a 2-dimensional array"),
        "{text}"
    );
    assert!(
        text.contains("column `p` has type point, which hygge does not read")
            && text.contains("\"p\"::text"),
        "{text}"
    );
    assert_eq!(
        count_rows(&dir.path().join("data/out")),
        0,
        "nothing was published"
    );
}

fn numbers(ids: std::ops::Range<i64>, extra: Option<&str>) -> RecordBatch {
    let mut fields = vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(ids.clone())),
        Arc::new(StringArray::from_iter_values(
            ids.clone().map(|i| format!("n{i}")),
        )),
    ];
    if let Some(extra) = extra {
        fields.push(Field::new(extra, DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from_iter_values(
            ids.map(|i| i as f64 / 2.0),
        )));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

#[test]
fn the_if_exists_matrix_merge_and_new_columns() {
    let server = PgServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = |table: &str, how: &str| {
        format!("    store: {{type: postgres, connection: db, table: {table}, {how}}}\n")
    };
    let flows = [
        ("fail", "if_exists: fail"),
        ("append", "if_exists: append"),
        ("replace", "if_exists: replace"),
        ("truncate", "if_exists: truncate"),
        ("merge", "if_exists: merge, primary_key: id"),
    ]
    .iter()
    .map(|(name, how)| {
        format!(
            "  {name}:\n    home: {{path: data/in}}\n{}",
            store(&format!("m.{name}"), how)
        )
    })
    .collect::<String>();
    // A table of the user's, with a column narrower than some of the data to come.
    let flows = format!(
        "{flows}  narrow:\n    home: {{path: data/in}}\n{}",
        store("m.narrow", "if_exists: append")
    );
    psql(
        &server,
        "CREATE SCHEMA m; CREATE TABLE m.narrow (id bigint, name varchar(3)); INSERT INTO m.narrow VALUES (-1, 'old')",
    );
    write_files(dir.path(), &[("hygge.yml", &pg_project(&server, &flows))]);
    let input = dir.path().join("data/in/rows.parquet");
    write_parquet(&input, &[numbers(0..100, None)]);
    ok(pg_run(dir.path(), &["go"], None));
    let count = |t: &str| {
        psql(
            &server,
            &format!("SELECT count(*) || ':' || sum(id) FROM m.{t}"),
        )
    };
    assert_eq!(count("narrow"), "101:4949");
    for t in ["fail", "append", "replace", "truncate", "merge"] {
        assert_eq!(count(t), "100:4950", "{t}");
    }

    // The second run: rows 50..150, with a new column.
    write_parquet(&input, &[numbers(50..150, Some("score"))]);
    let text = fails(pg_run(dir.path(), &["go", "--flow", "fail"], None));
    assert!(
        text.contains("already exists") && text.contains("if_exists is fail"),
        "{text}"
    );
    assert_eq!(
        count("fail"),
        "100:4950",
        "if_exists: fail leaves the table as it was"
    );
    // A value too long for the user's column: the COPY fails naming it, the table is as it was.
    let text = fails(pg_run(dir.path(), &["go", "--flow", "narrow"], None));
    assert!(
        text.contains("value too long for type character varying(3)")
            && text.contains("column name"),
        "{text}"
    );
    assert_eq!(count("narrow"), "101:4949");
    for flow in ["append", "replace", "truncate", "merge"] {
        ok(pg_run(dir.path(), &["go", "--flow", flow], None));
    }
    assert_eq!(count("append"), "200:14900");
    assert_eq!(count("replace"), "100:9950");
    assert_eq!(count("truncate"), "100:9950");
    assert_eq!(count("merge"), "150:11175");
    // append adds the new column as nullable: the old rows hold NULL.
    assert_eq!(
        psql(
            &server,
            "SELECT count(score) || ':' || count(*) FROM m.append"
        ),
        "100:200"
    );
    assert_eq!(
        psql(
            &server,
            "SELECT is_nullable FROM information_schema.columns WHERE table_schema = 'm' \
             AND table_name = 'append' AND column_name = 'score'"
        ),
        "YES"
    );
    // merge replaced the overlapping rows with the new ones.
    assert_eq!(
        psql(
            &server,
            "SELECT count(score) FROM m.merge WHERE id BETWEEN 50 AND 99"
        ),
        "50"
    );
}

#[test]
fn partitioned_reads_equal_a_single_read_for_every_key_kind() {
    let server = PgServer::start().unwrap();
    psql(
        &server,
        "CREATE TABLE p (id bigint, k int, n numeric(12,2), d date, ts timestamptz);
         INSERT INTO p SELECT i, CASE WHEN i % 97 = 0 THEN NULL ELSE (i * 7919) % 5003 - 2500 END,
           CASE WHEN i % 89 = 0 THEN NULL ELSE ((i * 31) % 100003) / 100.0 END,
           CASE WHEN i % 83 = 0 THEN NULL ELSE DATE '2020-01-01' + (i % 1500) END,
           CASE WHEN i % 79 = 0 THEN NULL ELSE TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '1.5 second' END
         FROM generate_series(1, 20000) i;",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut flows =
        "  single:\n    home: {type: postgres, connection: db, table: public.p}\n    store: {path: data/single}\n"
            .to_string();
    for key in ["k", "n", "d", "ts"] {
        flows.push_str(&format!(
            "  by_{key}:\n    home: {{type: postgres, connection: db, table: public.p, partition_on: {key}, partitions: 5}}\n    store: {{path: data/{key}}}\n"
        ));
    }
    // Table to table on one connection (pool_size 4): five partition reads and four COPY
    // streams at once must not wait on each other. Some columns only, in the order asked.
    flows.push_str(
        "  copied:
    home: {type: postgres, connection: db, table: public.p, partition_on: k, partitions: 5}
    store: {type: postgres, connection: db, table: copy.p, parallel_workers: 4}
  some_columns:
    home: {type: postgres, connection: db, table: public.p}
    store: {path: data/some}
    entities:
      - name: p
        columns: [ts, id]
",
    );
    write_files(dir.path(), &[("hygge.yml", &pg_project(&server, &flows))]);
    ok(pg_run(dir.path(), &["go"], None));
    assert_eq!(
        psql(
            &server,
            "SELECT count(*) FROM ((TABLE p) EXCEPT ALL (TABLE copy.p)) d"
        ),
        "0"
    );
    assert_eq!(psql(&server, "SELECT count(*) FROM copy.p"), "20000");
    let some = read_dir_batches(&dir.path().join("data/some"));
    let names: Vec<&String> = some[0]
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name())
        .collect();
    assert_eq!(names, ["ts", "id"]);
    let sorted = |dir: &std::path::Path| {
        let batches = read_dir_batches(dir);
        let batch = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
        let order = arrow_ord::sort::sort_to_indices(batch.column(0), None, None).unwrap();
        arrow_select::take::take_record_batch(&batch, &order).unwrap()
    };
    let single = sorted(&dir.path().join("data/single"));
    assert_eq!(single.num_rows(), 20_000);
    for key in ["k", "n", "d", "ts"] {
        assert_eq!(
            sorted(&dir.path().join(format!("data/{key}"))),
            single,
            "partition_on: {key}"
        );
    }
}

#[test]
fn incremental_runs_read_only_new_rows_and_keep_the_watermark_with_the_data() {
    let server = PgServer::start().unwrap();
    psql(
        &server,
        "CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, v text);
         INSERT INTO events SELECT i, TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 minute', 'first'
         FROM generate_series(1, 1000) i;",
    );
    let dir = tempfile::tempdir().unwrap();
    let flows = "  sync:
    home: {type: postgres, connection: db, table: 'public.{entity}'}
    store: {type: postgres, connection: db, table: 'copy.{entity}', if_exists: merge}
    run_type: incremental
    entities:
      - name: events
        watermark: {column: at, primary_key: id}
";
    write_files(dir.path(), &[("hygge.yml", &pg_project(&server, flows))]);
    let text = ok(pg_run(dir.path(), &["go"], None));
    assert!(text.contains("1,000"), "{text}");
    let state = || {
        psql(
            &server,
            "SELECT watermark FROM copy.hygge_state WHERE flow = 'sync' AND entity = 'events'",
        )
    };
    assert_eq!(state(), "2026-01-01T16:40:00Z");

    // New rows and a changed one (moved past the watermark): only those are read.
    psql(
        &server,
        "INSERT INTO events SELECT i, TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 minute', 'second'
         FROM generate_series(1001, 1010) i;
         UPDATE events SET v = 'changed', at = TIMESTAMPTZ '2026-02-01 00:00:00+00' WHERE id = 5;",
    );
    let out = pg_run(dir.path(), &["go"], None);
    let text = ok(out);
    assert!(
        text.contains(" 11 "),
        "11 rows read in the second run:\n{text}"
    );
    assert_eq!(state(), "2026-02-01T00:00:00Z");
    assert_eq!(
        psql(
            &server,
            "SELECT count(*) || ':' || count(*) FILTER (WHERE v = 'changed') FROM copy.events"
        ),
        "1010:1"
    );

    // `hygge state` reads the same row.
    let shown = pg_run(dir.path(), &["state", "--json"], None);
    assert!(shown.status.success(), "{}", common::text(&shown));
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown[0]["watermark"], "2026-02-01T00:00:00Z", "{shown}");

    // Nothing new: nothing read, the watermark stays.
    let text = ok(pg_run(dir.path(), &["go"], None));
    assert!(!text.contains(" 11 ") && text.contains(" 0 "), "{text}");
    assert_eq!(state(), "2026-02-01T00:00:00Z");
    assert_eq!(
        psql(
            &server,
            "SELECT count(*) FROM ((TABLE events) EXCEPT (TABLE copy.events)) d"
        ),
        "0"
    );

    // `hygge reset` clears the watermark in the same table; the next run reads every row
    // and replaces the table's rows rather than doubling them.
    ok(pg_run(
        dir.path(),
        &["reset", "--flow", "sync", "--yes"],
        None,
    ));
    assert_eq!(
        psql(
            &server,
            "SELECT watermark IS NULL FROM copy.hygge_state WHERE entity = 'events'"
        ),
        "t"
    );
    let text = ok(pg_run(dir.path(), &["go"], None));
    assert!(text.contains("1,010"), "{text}");
    assert_eq!(state(), "2026-02-01T00:00:00Z");
    assert_eq!(psql(&server, "SELECT count(*) FROM copy.events"), "1010");
}

#[test]
fn two_runs_into_one_table_at_once_both_land_and_a_million_rows_round_trip() {
    let server = PgServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let flows = "  load:
    home: {path: data/in}
    store: {type: postgres, connection: db, table: big.rows, if_exists: append, parallel_workers: 3}
  unload:
    home: {type: postgres, connection: db, table: big.rows, partition_on: id, partitions: 3}
    store: {path: data/out}
";
    write_files(dir.path(), &[("hygge.yml", &pg_project(&server, flows))]);
    let input = numbers(0..1_000_000, Some("half"));
    write_parquet(
        &dir.path().join("data/in/rows.parquet"),
        std::slice::from_ref(&input),
    );
    ok(pg_run(dir.path(), &["go", "--flow", "load"], None));
    assert_eq!(
        psql(
            &server,
            "SELECT count(*) || ':' || sum(id) || ':' || sum(half) || ':' || max(name) FROM big.rows"
        ),
        "1000000:499999500000:249999750000:n999999"
    );
    ok(pg_run(dir.path(), &["go", "--flow", "unload"], None));
    let back = read_dir_batches(&dir.path().join("data/out"));
    let back = arrow_select::concat::concat_batches(&back[0].schema(), &back).unwrap();
    let order = arrow_ord::sort::sort_to_indices(back.column(0), None, None).unwrap();
    assert_eq!(
        arrow_select::take::take_record_batch(&back, &order).unwrap(),
        input
    );

    // Two appends at once: the second waits for the first's lock; both land whole.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| pg_run(dir.path(), &["go", "--flow", "load"], None));
        let b = s.spawn(|| pg_run(dir.path(), &["go", "--flow", "load"], None));
        (a.join().unwrap(), b.join().unwrap())
    });
    ok(a);
    ok(b);
    assert_eq!(psql(&server, "SELECT count(*) FROM big.rows"), "3000000");
}

#[test]
fn empty_tables_bad_credentials_unreachable_servers_and_missing_tables() {
    let server = PgServer::start().unwrap();
    psql(
        &server,
        "CREATE TABLE empty (id bigint, at timestamptz, v numeric(9,2))",
    );
    let dir = tempfile::tempdir().unwrap();
    let flows = "  copy:
    home: {type: postgres, connection: db, table: public.empty}
    store: {type: postgres, connection: db, table: out.empty}
  missing:
    home: {type: postgres, connection: db, table: public.nowhere}
    store: {path: data/out}
";
    write_files(dir.path(), &[("hygge.yml", &pg_project(&server, flows))]);
    let text = ok(pg_run(dir.path(), &["debug"], None));
    assert!(text.contains("SELECT 1 ok"), "{text}");
    assert!(
        !text.contains(hygge_pg_test_server::PASSWORD),
        "debug printed the password:\n{text}"
    );

    ok(pg_run(dir.path(), &["go", "--flow", "copy"], None));
    assert_eq!(
        psql(
            &server,
            "SELECT count(*) FROM out.empty UNION ALL SELECT count(*) FROM information_schema.columns \
             WHERE table_schema = 'out' AND table_name = 'empty'"
        ),
        "0\n3",
        "an empty table arrives empty, with its columns"
    );

    let text = fails(pg_run(dir.path(), &["go", "--flow", "missing"], None));
    assert!(
        text.contains("table public.nowhere does not exist"),
        "{text}"
    );

    psql(&server, "DROP TABLE out.empty");
    let text = fails(pg_run(dir.path(), &["go", "--flow", "copy"], Some("wrong")));
    assert!(
        text.contains("refused the login as postgres: password authentication failed"),
        "{text}"
    );
    let text = fails(pg_run(dir.path(), &["debug"], Some("wrong")));
    assert!(text.contains("✗"), "{text}");
    assert_eq!(
        psql(
            &server,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'out'"
        ),
        "0",
        "nothing was created"
    );

    // A closed port: retried, then a connection error naming the server.
    let port = server.port();
    drop(server);
    let text = fails(pg_run(dir.path(), &["go", "--flow", "copy"], None));
    assert!(
        text.contains(&format!(
            "cannot reach PostgreSQL at db (127.0.0.1:{port}/postgres)"
        )),
        "{text}"
    );
}

#[test]
fn the_bundled_postgres_sample_runs_both_ways() {
    let server = PgServer::start().unwrap();
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&samples.join("postgres"), &dir.path().join("postgres"));
    copy_tree(
        &samples.join("quickstart/data/source"),
        &dir.path().join("quickstart/data/source"),
    );
    let project = dir.path().join("postgres");
    let run = |flow: &str| {
        let mut cmd = hygge();
        cmd.arg("--project")
            .arg(&project)
            .args(["go", "--flow", flow])
            .env("PG_URL", server.url())
            .env("PG_SSLMODE", "disable");
        cmd.output().unwrap()
    };
    ok(run("to_postgres"));
    assert_eq!(psql(&server, "SELECT count(*) FROM sample.orders"), "1000");
    ok(run("from_postgres"));
    assert_eq!(count_rows(&project.join("data/out/orders")), 1000);
    assert_eq!(count_rows(&project.join("data/out/customers")), 200);
    let orders = read_dir_batches(&project.join("data/out/orders"));
    let amount = orders[0]
        .schema()
        .field_with_name("amount")
        .unwrap()
        .data_type()
        .clone();
    assert_eq!(amount, DataType::Decimal128(10, 2));
}
