//! Incremental loads with MS SQL Server on either side (the in-process TDS test server):
//! Parquet → mssql with `append` and with `merge`, and mssql → Parquet, each over three
//! runs that load only new rows, with the watermark in `hygge_state`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use common::mssql::{hygge_go, warehouse};
use common::*;
use hygge_tds_test_server::{ServerConfig, TestServer};

const PW: &str = "Hygge-Test-1";
const DAY_MICROS: i64 = 86_400_000_000;

/// Rows `(id, value, day)`: `updated_at` is midnight of day `day` after 2024-01-01.
fn rows(rows: &[(i64, i64, i64)]) -> RecordBatch {
    let base = 19_723 * DAY_MICROS;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Int64, false),
        Field::new(
            "updated_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                rows.iter().map(|r| base + r.2 * DAY_MICROS),
            )),
        ],
    )
    .unwrap()
}

/// `(id, value)` of every row under `dir`, sorted.
fn id_values(dir: &Path) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = read_dir_batches(dir)
        .iter()
        .flat_map(|b| {
            let column = |name: &str| {
                b.column_by_name(name)
                    .unwrap()
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .to_vec()
            };
            column("id").into_iter().zip(column("value"))
        })
        .collect();
    out.sort_unstable();
    out
}

fn project(root: &Path, server: &TestServer) {
    let yml = format!(
        "name: inc_mssql
{}flows:
  load:
    home: data/source
    store: {{type: mssql, connection: warehouse, table: 'sales.{{entity}}', if_exists: append}}
    run_type: incremental
    watermark: {{column: updated_at}}
    entities: [events]
  upsert:
    home: data/changes
    store: {{type: mssql, connection: warehouse, table: 'sales.{{entity}}', if_exists: merge, state_schema: hygge}}
    run_type: incremental
    watermark: {{column: updated_at, primary_key: id}}
    entities: [accounts]
  unload:
    home: {{type: mssql, connection: warehouse, table: 'sales.{{entity}}'}}
    store: data/out
    run_type: incremental
    watermark: {{column: updated_at}}
    entities: [events]
  dump:
    home: {{type: mssql, connection: warehouse, table: 'sales.{{entity}}'}}
    store: data/dump
    entities: [accounts, ledger]
  zoned:
    home: data/zoned
    store: {{type: mssql, connection: warehouse, table: 'sales.{{entity}}', if_exists: append}}
    run_type: incremental
    watermark: {{column: updated_at}}
    entities: [stamps]
  zoned_out:
    home: {{type: mssql, connection: warehouse, table: 'sales.{{entity}}'}}
    store: data/zoned_out
    run_type: incremental
    watermark: {{column: updated_at}}
    entities: [stamps]
  late:
    home: data/late
    store: {{type: mssql, connection: warehouse, table: 'sales.{{entity}}', if_exists: merge}}
    run_type: incremental
    watermark: {{column: updated_at, primary_key: id, lookback: 1 day}}
    entities: [ledger]
",
        warehouse(server)
    );
    write_files(root, &[("hygge.yml", &yml)]);
}

async fn go(root: &Path, flow: &str) -> String {
    ok(hygge_go(root, &["go", "--flow", flow], PW).await)
}

async fn unload(root: &Path, entity: &str) -> String {
    let entity = format!("dump.{entity}");
    ok(hygge_go(root, &["go", "--entity", &entity], PW).await)
}

async fn watermark(root: &Path, flow: &str) -> serde_json::Value {
    let output = hygge_go(root, &["state", "--flow", flow, "--json"], PW).await;
    assert!(output.status.success(), "{}", text(&output));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    list[0]["watermark"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_to_mssql_and_back_load_only_new_rows_across_three_runs() {
    let server = TestServer::start(ServerConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project(root, &server);
    let source = root.join("data/source/events");
    let out = root.join("data/out/events");

    write_parquet(
        &source.join("a.parquet"),
        &[rows(&[(1, 10, 0), (2, 20, 1), (3, 30, 2)])],
    );
    go(root, "load").await;
    go(root, "unload").await;
    assert_eq!(id_values(&out), [(1, 10), (2, 20), (3, 30)]);
    assert_eq!(watermark(root, "load").await, "2024-01-03T00:00:00");

    // Two new rows, and a late one at the watermark (not re-read: the `>` hazard).
    write_parquet(
        &source.join("b.parquet"),
        &[rows(&[(4, 40, 3), (5, 50, 4), (6, 60, 2)])],
    );
    go(root, "load").await;
    go(root, "unload").await;
    assert_eq!(
        id_values(&out),
        [(1, 10), (2, 20), (3, 30), (4, 40), (5, 50)]
    );
    assert_eq!(watermark(root, "load").await, "2024-01-05T00:00:00");
    let unloaded = watermark(root, "unload").await;
    assert!(
        unloaded
            .as_str()
            .unwrap()
            .starts_with("2024-01-05T00:00:00"),
        "{unloaded}"
    );

    // Nothing new: both sides keep their rows and their watermarks.
    go(root, "load").await;
    go(root, "unload").await;
    assert_eq!(id_values(&out).len(), 5);
    assert_eq!(watermark(root, "load").await, "2024-01-05T00:00:00");
    assert!(
        server
            .table_names()
            .contains(&"sales.hygge_state".to_string()),
        "{:?}",
        server.table_names()
    );
    assert!(
        !server.table_names().iter().any(|t| t.contains("__hygge_")),
        "{:?}",
        server.table_names()
    );

    // The dry run names the watermark it would read from.
    let plan = ok(hygge_go(root, &["go", "--flow", "load", "--dry-run"], PW).await);
    assert!(
        plan.contains("reads rows with `updated_at` > 2024-01-05T00:00:00"),
        "{plan}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_replaces_rows_by_key_and_inserts_the_others() {
    let server = TestServer::start(ServerConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project(root, &server);
    let changes = root.join("data/changes/accounts");
    let dump = root.join("data/dump/accounts");

    write_parquet(
        &changes.join("a.parquet"),
        &[rows(&[(1, 10, 0), (2, 20, 0)])],
    );
    go(root, "upsert").await;
    write_parquet(
        &changes.join("b.parquet"),
        &[rows(&[(2, 25, 1), (3, 30, 1)])],
    );
    go(root, "upsert").await;
    unload(root, "accounts").await;
    assert_eq!(id_values(&dump), [(1, 10), (2, 25), (3, 30)]);

    write_parquet(&changes.join("c.parquet"), &[rows(&[(1, 11, 2)])]);
    go(root, "upsert").await;
    unload(root, "accounts").await;
    assert_eq!(id_values(&dump), [(1, 11), (2, 25), (3, 30)]);
    assert_eq!(watermark(root, "upsert").await, "2024-01-03T00:00:00");
    // `state_schema: hygge` put the state table there.
    assert!(
        server
            .table_names()
            .contains(&"hygge.hygge_state".to_string()),
        "{:?}",
        server.table_names()
    );

    // Two versions of one key in one load: the newer wins.
    write_parquet(
        &changes.join("d.parquet"),
        &[rows(&[(3, 31, 5), (3, 32, 6)])],
    );
    go(root, "upsert").await;
    unload(root, "accounts").await;
    assert_eq!(id_values(&dump), [(1, 11), (2, 25), (3, 32)]);

    // A reset reloads everything in full and replaces the table: still no duplicates.
    ok(hygge_go(root, &["reset", "--flow", "upsert", "--yes"], PW).await);
    assert!(watermark(root, "upsert").await.is_null());
    go(root, "upsert").await;
    unload(root, "accounts").await;
    assert_eq!(id_values(&dump), [(1, 11), (2, 25), (3, 32)]);
    assert_eq!(watermark(root, "upsert").await, "2024-01-07T00:00:00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_without_a_key_is_a_config_error() {
    let server = TestServer::start(ServerConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project(root, &server);
    let hygge_yml = root.join("hygge.yml");
    let text = std::fs::read_to_string(&hygge_yml).unwrap().replace(
        "watermark: {column: updated_at, primary_key: id}",
        "watermark: {column: updated_at}",
    );
    std::fs::write(&hygge_yml, text).unwrap();
    let out = fails(hygge_go(root, &["go", "--flow", "upsert"], PW).await);
    assert!(
        out.contains("if_exists") && out.contains("primary_key"),
        "{out}"
    );
    assert!(server.table_names().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookback_with_merge_picks_up_late_rows_without_duplicates() {
    let server = TestServer::start(ServerConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project(root, &server);
    let late = root.join("data/late/ledger");
    let dump = root.join("data/dump/ledger");
    write_parquet(&late.join("a.parquet"), &[rows(&[(1, 10, 0), (2, 20, 1)])]);
    go(root, "late").await;
    // Row 3 arrives late, stamped with the watermark itself: `>` alone would skip it.
    write_parquet(&late.join("b.parquet"), &[rows(&[(3, 30, 1)])]);
    let plan = ok(hygge_go(root, &["go", "--flow", "late", "--dry-run"], PW).await);
    assert!(
        plan.contains("reads rows with `updated_at` >= 2024-01-01T00:00:00"),
        "{plan}"
    );
    go(root, "late").await;
    unload(root, "ledger").await;
    // Rows 1 and 2 were read again and merged, not doubled.
    assert_eq!(id_values(&dump), [(1, 10), (2, 20), (3, 30)]);
    assert_eq!(watermark(root, "late").await, "2024-01-02T00:00:00");
}

/// As [`rows`], with `updated_at` an instant in UTC (`Timestamp(µs, "UTC")`).
fn zoned_rows(rows_: &[(i64, i64, i64)]) -> RecordBatch {
    let plain = rows(rows_);
    let mut fields: Vec<Field> = plain
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let zoned = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    fields[2] = Field::new("updated_at", zoned, false);
    let stamps = plain
        .column(2)
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .unwrap()
        .clone()
        .with_timezone("UTC");
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        vec![
            plain.column(0).clone(),
            plain.column(1).clone(),
            Arc::new(stamps),
        ],
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watermark_on_instants_in_utc_works_both_ways() {
    let server = TestServer::start(ServerConfig::default()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project(root, &server);
    let source = root.join("data/zoned/stamps");
    let out = root.join("data/zoned_out/stamps");
    write_parquet(
        &source.join("a.parquet"),
        &[zoned_rows(&[(1, 10, 0), (2, 20, 1)])],
    );
    go(root, "zoned").await;
    go(root, "zoned_out").await;
    assert_eq!(id_values(&out), [(1, 10), (2, 20)]);
    assert_eq!(watermark(root, "zoned").await, "2024-01-02T00:00:00Z");
    write_parquet(&source.join("b.parquet"), &[zoned_rows(&[(3, 30, 2)])]);
    go(root, "zoned").await;
    go(root, "zoned_out").await;
    assert_eq!(id_values(&out), [(1, 10), (2, 20), (3, 30)]);
    let unloaded = watermark(root, "zoned_out").await;
    assert!(
        unloaded
            .as_str()
            .unwrap()
            .starts_with("2024-01-03T00:00:00")
            && unloaded.as_str().unwrap().ends_with('Z'),
        "{unloaded}"
    );
}
