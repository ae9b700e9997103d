//! A kill -9 in the middle of a run leaves the previous data intact, and a clean rerun
//! publishes exactly the new rows and removes the stale staging. The killed run reads from a
//! home that never finishes, so it is certainly alive when it is killed: no timing.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use common::*;

const BATCHES: i64 = 4;
const ROWS_PER_BATCH: i64 = 100_000;

fn big_batches() -> Vec<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("text", DataType::Utf8, false),
    ]));
    (0..BATCHES)
        .map(|b| {
            let ids: Vec<i64> = (b * ROWS_PER_BATCH..(b + 1) * ROWS_PER_BATCH).collect();
            let text: Vec<String> = ids
                .iter()
                .map(|i| format!("row {i} {}", i.wrapping_mul(2_654_435_761) % 1_000_003))
                .collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(StringArray::from(text)),
                ],
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn kill_9_mid_run_then_clean_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_files(
        root,
        &[
            ("hygge.yml", "name: crash\n"),
            (
                "flows/big/flow.yml",
                "home: src\nstore:\n  path: lake\n  compression: gzip\nentities: [rows]\n",
            ),
        ],
    );
    // A first, small, successful run: the "old" set.
    let small = big_batches().remove(0).slice(0, 10);
    write_parquet(&root.join("src/rows/part.parquet"), &[small]);
    ok(run(root, &["go"]));
    let lake = root.join("lake");
    let old = snapshot(&lake.join("rows"));
    assert_eq!(count_rows(&lake.join("rows")), 10);

    // Now a home that yields one batch and then never returns: the run is certainly alive,
    // with data staged, when it is killed.
    let flow = root.join("flows/big/flow.yml");
    let component = hygge_native_connectors::EVIL_COMPONENT;
    std::fs::write(
        &flow,
        format!(
            "home:\n  type: wasm\n  component: '{component}'\n  call_timeout: 3600\n  config: {{attack: batch_then_spin}}\nstore:\n  path: lake\n  compression: gzip\nentities: [rows]\n"
        ),
    )
    .unwrap();
    let mut child = hygge()
        .arg("--project")
        .arg(root)
        .arg("go")
        .spawn()
        .unwrap();
    // Waits for the event: a staged file of this run.
    kill_once_staged(&mut child, &lake);

    // The reader sees exactly the old set; the crashed run's staging is hidden.
    assert_eq!(snapshot(&lake.join("rows")), old);
    assert!(std::fs::read_dir(&lake).unwrap().flatten().any(|e| {
        e.file_name()
            .to_string_lossy()
            .starts_with(".hygge-staging.")
    }));

    // A clean rerun of a large input publishes exactly the new rows and removes the stale
    // staging.
    write_parquet(&root.join("src/rows/part.parquet"), &big_batches());
    std::fs::write(
        &flow,
        "home: src\nstore:\n  path: lake\n  compression: gzip\nentities: [rows]\n",
    )
    .unwrap();
    ok(run(root, &["go"]));
    assert_eq!(
        count_rows(&lake.join("rows")),
        (BATCHES * ROWS_PER_BATCH) as usize
    );
    let leftovers = staging_leftovers(&lake);
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Waits for a staged file of the running `child` under `lake`, then kills it with SIGKILL.
fn kill_once_staged(child: &mut std::process::Child, lake: &std::path::Path) {
    kill_after(child, "staging", || {
        std::fs::read_dir(lake).unwrap().flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(".hygge-staging.rows.")
                && std::fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_some())
        })
    });
}

#[test]
fn kill_9_mid_incremental_run_keeps_data_and_watermark_then_the_rerun_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let flow = root.join("flows/inc/flow.yml");
    let from_src = "home: src\nstore: lake\nrun_type: incremental\nwatermark: {column: id}\nentities: [rows]\n";
    write_files(
        root,
        &[
            ("hygge.yml", "name: crash\n"),
            ("flows/inc/flow.yml", from_src),
        ],
    );
    let ids = |range: std::ops::Range<i64>| {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(range))]).unwrap()
    };
    write_parquet(&root.join("src/rows/a.parquet"), &[ids(0..1)]);
    ok(run(root, &["go"]));
    let lake = root.join("lake");
    let old = snapshot(&lake.join("rows"));
    let state = std::fs::read_to_string(lake.join("rows/.hygge-state.json")).unwrap();

    // A home yielding ids 1, 2, 3 (past the watermark 0) and then never returning.
    let component = hygge_native_connectors::EVIL_COMPONENT;
    std::fs::write(
        &flow,
        format!(
            "home:\n  type: wasm\n  component: '{component}'\n  call_timeout: 3600\n  config: {{attack: batch_then_spin}}\nstore: lake\nrun_type: incremental\nwatermark: {{column: id}}\nentities: [rows]\n"
        ),
    )
    .unwrap();
    let mut child = hygge()
        .arg("--project")
        .arg(root)
        .arg("go")
        .spawn()
        .unwrap();
    kill_once_staged(&mut child, &lake);
    assert_eq!(snapshot(&lake.join("rows")), old);
    assert_eq!(
        std::fs::read_to_string(lake.join("rows/.hygge-state.json")).unwrap(),
        state,
        "the watermark moved without its data"
    );

    // The rerun loads every row past the old watermark exactly once.
    std::fs::write(&flow, from_src).unwrap();
    write_parquet(&root.join("src/rows/a.parquet"), &[ids(0..20)]);
    ok(run(root, &["go"]));
    assert_eq!(count_rows(&lake.join("rows")), 20);
    let state = std::fs::read_to_string(lake.join("rows/.hygge-state.json")).unwrap();
    assert!(state.contains("\"watermark\": \"19\""), "{state}");
    assert!(staging_leftovers(&lake).is_empty());
}
