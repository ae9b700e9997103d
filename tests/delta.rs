//! `table_format: delta` through `hygge go`: local and S3 (moto) tables read back by an
//! independent reader, the `deltalake` Python package (delta-rs): every committed version
//! whole, with exact row counts and types; overwrite and append runs; partitions.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    BooleanArray, Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, TimestampNanosecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use common::objects::{orders, rows_in, s3};
use common::{fails, ok, run, write_files, write_parquet};
use hygge_object_test_servers::{DeltaRead, Moto, read_delta};

fn project(dir: &Path, hygge_yml: &str, flow: &str) {
    write_files(
        dir,
        &[("hygge.yml", hygge_yml), ("flows/orders/flow.yml", flow)],
    );
}

fn local(table: &Path, version: Option<u64>) -> DeltaRead {
    read_delta(&table.display().to_string(), &[], version).unwrap()
}

#[test]
fn a_local_delta_table_keeps_every_version_of_overwrites_and_appends() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    project(
        &dir,
        "name: shop\n",
        "home: data/source\nstore: {type: parquet, path: lake, table_format: delta}\n",
    );
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(100)]);
    ok(run(&dir, &["go"]));
    let table = dir.join("lake");
    let first = local(&table, None);
    assert_eq!((first.version, first.rows), (0, 100));
    assert_eq!(first.columns, ["id: int64", "note: string"]);

    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(40)]);
    ok(run(&dir, &["go"]));
    assert_eq!(local(&table, None).rows, 40, "an overwrite replaces");
    assert_eq!(
        local(&table, Some(0)).rows,
        100,
        "version 0 still reads whole"
    );
    let staging = std::fs::read_dir(table.join("_hygge/staging")).map_or(0, |d| d.count());
    assert_eq!(staging, 0, "no emptied staging folders are left");

    // Appends: an incremental flow adds a run's rows as one Delta commit.
    write_files(
        &dir,
        &[(
            "flows/orders/flow.yml",
            "home: data/source\nstore: {type: parquet, path: lake, table_format: delta}\nrun_type: incremental\nwatermark: {column: id}\n",
        )],
    );
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(60)]);
    ok(run(&dir, &["go"]));
    // The first incremental run has no watermark yet: it appends all 60 rows to the 40.
    let appended = local(&table, None);
    assert_eq!((appended.version, appended.rows), (2, 100));
    assert_eq!(local(&table, Some(1)).rows, 40);
    // The next appends only rows past the watermark (id 59); a run with nothing new
    // commits no Delta version.
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(75)]);
    ok(run(&dir, &["go"]));
    assert_eq!(local(&table, None).rows, 115);
    ok(run(&dir, &["go"]));
    assert_eq!(local(&table, None).version, 3);
}

#[test]
fn delta_types_and_partitions_read_back_exactly() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("region", DataType::Utf8, true),
        Field::new("price", DataType::Decimal128(15, 2), true),
        Field::new("day", DataType::Date32, true),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new(
            "seen",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            true,
        ),
        Field::new("ok", DataType::Boolean, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec![Some("eu"), Some("us"), None])),
            Arc::new(
                Decimal128Array::from(vec![Some(1999), None, Some(-5)])
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
            ),
            Arc::new(Date32Array::from(vec![Some(20_000), Some(20_001), None])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_700_000_000_000_000), None, Some(0)])
                    .with_timezone("UTC"),
            ),
            Arc::new(TimestampNanosecondArray::from(vec![
                Some(1_700_000_000_000_001_000),
                None,
                Some(0),
            ])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
        ],
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    project(
        &dir,
        "name: shop\n",
        "home: data/source\nstore: {type: parquet, path: lake, table_format: delta, partition_by: region}\n",
    );
    write_parquet(
        &dir.join("data/source/orders.parquet"),
        std::slice::from_ref(&batch),
    );
    ok(run(&dir, &["go"]));
    let read = local(&dir.join("lake"), None);
    assert_eq!(read.rows, 3);
    assert_eq!(read.partition_columns, ["region"]);
    let mut columns = read.columns.clone();
    columns.sort();
    assert_eq!(
        columns,
        [
            "at: timestamp[us, tz=UTC]",
            "day: date32[day]",
            "id: int64",
            "ok: bool",
            "price: decimal128(15, 2)",
            "region: string",
            "seen: timestamp[us]",
        ]
    );

    // A value finer than a microsecond cannot be kept: refused, nothing committed.
    let fine = batch
        .slice(0, 1)
        .project(&[0, 1, 5])
        .map(|b| {
            let seen = TimestampNanosecondArray::from(vec![Some(1_700_000_000_000_000_001)]);
            RecordBatch::try_new(
                b.schema(),
                vec![b.column(0).clone(), b.column(1).clone(), Arc::new(seen)],
            )
            .unwrap()
        })
        .unwrap();
    write_parquet(&dir.join("data/source/orders.parquet"), &[fine]);
    let out = fails(run(&dir, &["go"]));
    assert!(out.contains("finer than a microsecond"), "{out}");
    assert_eq!(local(&dir.join("lake"), None).rows, 3);
}

#[test]
fn a_delta_table_on_s3_reads_whole_after_each_run() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let (_, yaml) = s3(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    project(
        &dir,
        &format!("name: shop\nconnections:\n  lake:\n{yaml}"),
        "home: data/source\nstore: {type: parquet, path: 's3://lake/tables/orders', connection: lake, table_format: delta}\n",
    );
    let options = [
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("AWS_ACCESS_KEY_ID", "hygge".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "hygge-secret".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ALLOW_HTTP", "true".to_string()),
    ];
    for (version, rows) in [(0, 250), (1, 80)] {
        write_parquet(&dir.join("data/source/orders.parquet"), &[orders(rows)]);
        ok(run(&dir, &["go"]));
        let read = read_delta("s3://lake/tables/orders", &options, None).unwrap();
        assert_eq!((read.version, read.rows), (version, rows as u64));
    }
    let first = read_delta("s3://lake/tables/orders", &options, Some(0)).unwrap();
    assert_eq!(first.rows, 250);
}

/// Whether anything is being written under `dir` (files, not just folders).
fn holds_a_file(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let path = e.path();
            path.is_file() || (path.is_dir() && holds_a_file(&path))
        })
    })
}

/// A kill -9 while a run is writing: the Delta table reads whole at its last version, and
/// the rerun adds exactly one version.
#[test]
fn kill_9_mid_run_leaves_the_delta_table_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    let store = "store: {type: parquet, path: lake, table_format: delta}\n";
    project(&dir, "name: shop\n", &format!("home: data/source\n{store}"));
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(100)]);
    ok(run(&dir, &["go"]));
    let table = dir.join("lake");

    // A home that yields one batch, then never returns: the run is alive, writing.
    let component = hygge_native_connectors::EVIL_COMPONENT;
    write_files(
        &dir,
        &[(
            "flows/orders/flow.yml",
            &format!(
                "home: {{type: wasm, component: '{component}', call_timeout: 3600, config: {{attack: batch_then_spin}}}}\n{store}"
            ),
        )],
    );
    let mut child = common::hygge()
        .arg("--project")
        .arg(&dir)
        .arg("go")
        .spawn()
        .unwrap();
    common::kill_after(&mut child, "writing a file", || {
        holds_a_file(&table.join("_hygge/staging"))
    });
    let after = local(&table, None);
    assert_eq!((after.version, after.rows), (0, 100));

    project(&dir, "name: shop\n", &format!("home: data/source\n{store}"));
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(30)]);
    ok(run(&dir, &["go"]));
    let rerun = local(&table, None);
    assert_eq!((rerun.version, rerun.rows), (1, 30));
}

/// hygge's own home reads a Delta table it wrote as its committed set (not the files an
/// overwrite kept for older versions), partition columns included: its files leave them
/// out, and the reader adds them back from the paths, typed as the table's schema says.
#[test]
fn hygge_reads_back_the_current_version_of_its_delta_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    let flows = |table: &str, partition: &str| {
        write_files(
            &dir,
            &[
                ("hygge.yml", "name: shop\n"),
                (
                    "flows/orders/flow.yml",
                    &format!(
                        "home: data/source\nstore: {{type: parquet, path: {table}, table_format: delta{partition}}}\n"
                    ),
                ),
                (
                    "flows/back/flow.yml",
                    &format!(
                        "home: {{type: parquet, path: {table}}}\nstore: {{type: parquet, path: out}}\n"
                    ),
                ),
            ],
        );
    };
    flows("lake", "");
    for rows in [100, 40] {
        write_parquet(&dir.join("data/source/orders.parquet"), &[orders(rows)]);
        ok(run(&dir, &["go", "--flow", "orders"]));
    }
    ok(run(&dir, &["go", "--flow", "back"]));
    assert_eq!(common::count_rows(&dir.join("out")), 40);

    for (table, column) in [("by_note", "note"), ("by_id", "id")] {
        flows(table, &format!(", partition_by: {column}"));
        ok(run(&dir, &["go", "--flow", "orders"]));
        ok(run(&dir, &["go", "--flow", "back"]));
        assert_eq!(
            rows_in(&dir.join("out")),
            rows_in(&dir.join("data/source")),
            "partitioned by {column}"
        );
        let batches = common::read_dir_batches(&dir.join("out"));
        assert_eq!(batches[0].schema().field(0).data_type(), &DataType::Int64);
    }
}

/// A column a Delta table cannot hold is refused before anything is committed, so the
/// next run with other data publishes normally (nothing is left half done).
#[test]
fn a_column_delta_cannot_hold_is_refused_before_the_commit() {
    use arrow_array::Time64MicrosecondArray;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("at", DataType::Time64(TimeUnit::Microsecond), true),
    ]));
    let timed = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(Time64MicrosecondArray::from(vec![Some(1), None])),
        ],
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    project(
        &dir,
        "name: shop\n",
        "home: data/source\nstore: {type: parquet, path: lake, table_format: delta}\n",
    );
    write_parquet(&dir.join("data/source/orders.parquet"), &[timed]);
    let out = fails(run(&dir, &["go"]));
    assert!(out.contains("column `at`"), "{out}");
    assert!(
        !dir.join("lake/_hygge/log").exists()
            || std::fs::read_dir(dir.join("lake/_hygge/log"))
                .unwrap()
                .next()
                .is_none()
    );
    assert!(!dir.join("lake/_delta_log").exists());

    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(5)]);
    ok(run(&dir, &["go"]));
    assert_eq!(local(&dir.join("lake"), None).rows, 5);
}
