//! `hygge go` with MS SQL Server on both sides, against the in-process TDS test server:
//! Parquet → mssql → Parquet gives back identical tables; `debug` tries connections; bad
//! input leaves the target as it was.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::*;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use common::mssql::{hygge_go, warehouse};
use common::*;
use hygge_tds_test_server::{ServerConfig, TestServer};

fn project(server: &TestServer) -> String {
    format!(
        "name: mssql_e2e
{}    pool_size: 3
flows:
  load:
    home:
      type: parquet
      path: data/source
    store:
      type: mssql
      connection: warehouse
      table: sales.{{entity}}
      if_exists: replace
    entities: [orders, customers]
  unload:
    home:
      type: mssql
      connection: warehouse
      table: sales.{{entity}}
    store:
      type: parquet
      path: data/out
    entities: [orders, customers]
",
        warehouse(server)
    )
}

fn orders(rows: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("qty", DataType::Int32, true),
        Field::new("small", DataType::Int16, true),
        Field::new("tiny", DataType::UInt8, true),
        Field::new("price", DataType::Decimal128(18, 2), true),
        Field::new("ratio", DataType::Float64, true),
        Field::new("weight", DataType::Float32, true),
        Field::new("paid", DataType::Boolean, true),
        Field::new("day", DataType::Date32, true),
        Field::new("at", DataType::Timestamp(TimeUnit::Nanosecond, None), true),
        Field::new(
            "at_utc",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
        Field::new("clock", DataType::Time64(TimeUnit::Nanosecond), true),
        Field::new("note", DataType::Utf8, true),
        Field::new("raw", DataType::Binary, true),
    ]));
    let n = rows as usize;
    let some = |i: i64| i % 5 != 0;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..rows)),
        Arc::new(Int32Array::from_iter(
            (0..rows).map(|i| some(i).then_some(i as i32 * 3)),
        )),
        Arc::new(Int16Array::from_iter(
            (0..rows).map(|i| some(i).then_some((i % 30_000) as i16)),
        )),
        Arc::new(UInt8Array::from_iter(
            (0..rows).map(|i| some(i).then_some((i % 256) as u8)),
        )),
        Arc::new(
            Decimal128Array::from_iter(
                (0..rows).map(|i| some(i).then_some(i as i128 * 101 - 5_000)),
            )
            .with_precision_and_scale(18, 2)
            .unwrap(),
        ),
        Arc::new(Float64Array::from_iter(
            (0..rows).map(|i| some(i).then_some(i as f64 / 7.0)),
        )),
        Arc::new(Float32Array::from_iter(
            (0..rows).map(|i| some(i).then_some(i as f32 * 0.25)),
        )),
        Arc::new(BooleanArray::from_iter(
            (0..rows).map(|i| some(i).then_some(i % 2 == 0)),
        )),
        Arc::new(Date32Array::from_iter(
            (0..rows).map(|i| some(i).then_some(19_000 + i as i32)),
        )),
        Arc::new(TimestampNanosecondArray::from_iter((0..rows).map(|i| {
            some(i).then_some(1_700_000_000_123_456_700 + i * 1_000_000_100)
        }))),
        Arc::new(
            TimestampNanosecondArray::from_iter(
                (0..rows).map(|i| some(i).then_some(-86_400_000_000_000 + i * 700)),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(Time64NanosecondArray::from_iter(
            (0..rows).map(|i| some(i).then_some(i * 100 % 86_400_000_000_000)),
        )),
        Arc::new(StringArray::from_iter(
            (0..rows).map(|i| some(i).then(|| format!("note {i} ü😀"))),
        )),
        Arc::new(BinaryArray::from_iter(
            (0..rows).map(|i| some(i).then(|| i.to_le_bytes().to_vec())),
        )),
    ];
    let batch = RecordBatch::try_new(schema, columns).unwrap();
    assert_eq!(batch.num_rows(), n);
    batch
}

fn customers() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("name", DataType::Utf8, false),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec!["Åsa", "", "Bob"])),
        ],
    )
    .unwrap()
}

fn sorted(batches: &[RecordBatch]) -> RecordBatch {
    let batch = arrow_select::concat::concat_batches(&batches[0].schema(), batches).unwrap();
    let order = arrow_ord::sort::sort_to_indices(batch.column(0), None, None).unwrap();
    arrow_select::take::take_record_batch(&batch, &order).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_to_mssql_to_parquet_gives_back_identical_tables() {
    let server = TestServer::start(ServerConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("hygge.yml", &project(&server))]);
    let source = orders(25_000);
    write_parquet(
        &dir.path().join("data/source/orders/part-0.parquet"),
        &[source.slice(0, 12_000)],
    );
    write_parquet(
        &dir.path().join("data/source/orders/part-1.parquet"),
        &[source.slice(12_000, 13_000)],
    );
    write_parquet(
        &dir.path().join("data/source/customers/c.parquet"),
        &[customers()],
    );

    ok(hygge_go(dir.path(), &["go", "--flow", "load"], "Hygge-Test-1").await);
    // Twice: replace publishes over the first load, nothing doubles.
    ok(hygge_go(dir.path(), &["go", "--flow", "load"], "Hygge-Test-1").await);
    ok(hygge_go(dir.path(), &["go", "--flow", "unload"], "Hygge-Test-1").await);

    let back = sorted(&read_dir_batches(&dir.path().join("data/out/orders")));
    assert_eq!(back.schema(), source.schema());
    assert_eq!(back, source);
    let back = sorted(&read_dir_batches(&dir.path().join("data/out/customers")));
    assert_eq!(back, customers());
    assert_eq!(
        server.table_names(),
        vec!["sales.customers".to_string(), "sales.orders".to_string()],
        "no staging tables are left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_tries_each_connection_and_a_wrong_password_fails_the_run_cleanly() {
    let server = TestServer::start(ServerConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("hygge.yml", &project(&server))]);
    write_parquet(
        &dir.path().join("data/source/orders/o.parquet"),
        &[orders(10)],
    );
    write_parquet(
        &dir.path().join("data/source/customers/c.parquet"),
        &[customers()],
    );

    let text = ok(hygge_go(dir.path(), &["debug"], "Hygge-Test-1").await);
    assert!(
        text.contains("✓ reached 127.0.0.1") && text.contains("SELECT 1 ok"),
        "{text}"
    );
    assert!(
        !text.contains("Hygge-Test-1"),
        "debug printed the password:\n{text}"
    );

    let text = fails(hygge_go(dir.path(), &["debug"], "wrong").await);
    assert!(text.contains("✗") && text.contains("refused"), "{text}");

    let text = fails(hygge_go(dir.path(), &["go", "--flow", "load"], "wrong").await);
    assert!(text.contains("Login failed for user 'sa'"), "{text}");
    assert!(
        server.table_names().is_empty(),
        "{:?}",
        server.table_names()
    );

    // if_exists: fail (the default) on an existing table: exit 1, the table as it was.
    ok(hygge_go(dir.path(), &["go", "--flow", "load"], "Hygge-Test-1").await);
    let yml = project(&server).replace("      if_exists: replace\n", "");
    write_files(dir.path(), &[("hygge.yml", &yml)]);
    write_parquet(
        &dir.path().join("data/source/orders/o.parquet"),
        &[orders(99)],
    );
    let text = fails(hygge_go(dir.path(), &["go", "--flow", "load"], "Hygge-Test-1").await);
    assert!(
        text.contains("already exists") && text.contains("if_exists"),
        "{text}"
    );
    ok(hygge_go(dir.path(), &["go", "--flow", "unload"], "Hygge-Test-1").await);
    assert_eq!(count_rows(&dir.path().join("data/out/orders")), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_mssql_sample_runs_both_ways() {
    let server = TestServer::start(ServerConfig::default()).await.unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&samples.join("mssql"), &dir.path().join("mssql"));
    copy_tree(
        &samples.join("quickstart/data/source"),
        &dir.path().join("quickstart/data/source"),
    );
    let project = dir.path().join("mssql");
    let port = server.port().to_string();
    let run = |args: &'static [&'static str]| {
        let project = project.clone();
        let port = port.clone();
        tokio::task::spawn_blocking(move || {
            let mut cmd = hygge();
            cmd.arg("--project").arg(&project).args(args);
            for (k, v) in [
                ("MSSQL_PORT", port.as_str()),
                ("MSSQL_PASSWORD", "Hygge-Test-1"),
                ("MSSQL_ENCRYPT", "false"),
            ] {
                cmd.env(k, v);
            }
            cmd.output().unwrap()
        })
    };
    ok(run(&["go", "--flow", "to_warehouse"]).await.unwrap());
    ok(run(&["go", "--flow", "from_warehouse"]).await.unwrap());
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

/// A store with its connection written inline (no `connections:` entry) is logged in to by
/// `hygge debug` as a named one is: a wrong password fails the check instead of passing it.
/// The inline connection also takes Python hygge's `pool: {min_size, max_size}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_in_to_an_inline_connection() {
    let server = TestServer::start(ServerConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yml = format!(
        "name: inline
flows:
  load:
    home: data/source
    store:
      type: mssql
      server: 127.0.0.1
      port: {}
      database: hygge
      user: sa
      password: ${{HYGGE_TEST_MSSQL_PASSWORD}}
      encrypt: false
      pool: {{min_size: 1, max_size: 2}}
      table: sales.{{entity}}
      if_exists: replace
    entities: [orders]
",
        server.port()
    );
    write_files(dir.path(), &[("hygge.yml", &yml)]);
    write_parquet(
        &dir.path().join("data/source/orders/o.parquet"),
        &[orders(10)],
    );
    let text = fails(hygge_go(dir.path(), &["debug"], "wrong").await);
    assert!(
        text.contains("✗ store connection 127.0.0.1/hygge"),
        "{text}"
    );
    assert!(!text.contains("every check passed"), "{text}");
    let text = ok(hygge_go(dir.path(), &["debug"], "Hygge-Test-1").await);
    assert!(
        text.contains("✓ store connection 127.0.0.1/hygge") && text.contains("SELECT 1 ok"),
        "{text}"
    );
    assert!(text.contains("pool.min_size"), "{text}");
}

/// A table of `columns` (all Int64 but `name`, text) with `rows` rows.
fn items(columns: &[&str], rows: i64) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| match *c {
            "name" => Field::new(*c, DataType::Utf8, true),
            _ => Field::new(*c, DataType::Int64, true),
        })
        .collect();
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|c| -> ArrayRef {
            match *c {
                "name" => Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("item {i}")),
                )),
                _ => Arc::new(Int64Array::from_iter_values(0..rows)),
            }
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

/// Incremental loads into an existing table follow `on_schema_change`: `fail` loads nothing
/// and names the new column, `ignore` drops it, `evolve` adds it to the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_drift_into_a_table_follows_on_schema_change() {
    let server = TestServer::start(ServerConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yml = format!(
        "name: drift
{}flows:
  load:
    home: data/source
    store:
      type: mssql
      connection: warehouse
      table: sales.{{entity}}
      if_exists: append
    entities: [items]
  unload:
    home:
      type: mssql
      connection: warehouse
      table: sales.{{entity}}
    store: data/out
    entities: [items]
",
        warehouse(&server)
    );
    write_files(dir.path(), &[("hygge.yml", &yml)]);
    let source = dir.path().join("data/source/items/i.parquet");
    let pw = "Hygge-Test-1";
    write_parquet(&source, &[items(&["id", "name"], 2)]);
    ok(hygge_go(dir.path(), &["go", "--flow", "load", "--incremental"], pw).await);

    write_parquet(&source, &[items(&["id", "name", "extra"], 1)]);
    let text = fails(hygge_go(dir.path(), &["go", "--flow", "load", "--incremental"], pw).await);
    assert!(
        text.contains("new column `extra`") && text.contains("on_schema_change"),
        "{text}"
    );

    let ignore = [
        "go",
        "--flow",
        "load",
        "--incremental",
        "--var",
        "flow.load.on_schema_change=ignore",
    ];
    ok(hygge_go(dir.path(), &ignore, pw).await);
    ok(hygge_go(dir.path(), &["go", "--flow", "unload"], pw).await);
    let out = read_dir_batches(&dir.path().join("data/out/items"));
    assert_eq!(out.iter().map(RecordBatch::num_rows).sum::<usize>(), 3);
    assert_eq!(out[0].schema().fields().len(), 2, "{:?}", out[0].schema());

    let evolve = [
        "go",
        "--flow",
        "load",
        "--incremental",
        "--var",
        "flow.load.on_schema_change=evolve",
    ];
    ok(hygge_go(dir.path(), &evolve, pw).await);
    ok(hygge_go(dir.path(), &["go", "--flow", "unload"], pw).await);
    let out = read_dir_batches(&dir.path().join("data/out/items"));
    assert_eq!(out.iter().map(RecordBatch::num_rows).sum::<usize>(), 4);
    let names: Vec<String> = out[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["id", "name", "extra"]);
}
