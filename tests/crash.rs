//! A kill -9 in the middle of a large run leaves the previous data intact, and a clean
//! rerun publishes exactly the new rows and removes the stale staging.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use common::*;

const BATCHES: i64 = 40;
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
                "home: src\nstore:\n  path: lake\n  compression: gzip\n  compression_level: 9\nentities: [rows]\n",
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

    // Now a large input, and a kill -9 while it is being staged.
    write_parquet(&root.join("src/rows/part.parquet"), &big_batches());
    let mut child = hygge()
        .arg("--project")
        .arg(root)
        .arg("go")
        .spawn()
        .unwrap();
    let started = Instant::now();
    let staging_seen = loop {
        let staging = std::fs::read_dir(&lake).unwrap().flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(".hygge-staging.rows.")
                && std::fs::read_dir(e.path())
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(false)
        });
        if staging || started.elapsed() > Duration::from_secs(60) {
            break staging;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(staging_seen, "the run never staged anything");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run finished before it could be killed; make the input larger"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    // The reader sees exactly the old set; the crashed run's staging is hidden.
    assert_eq!(snapshot(&lake.join("rows")), old);
    assert!(std::fs::read_dir(&lake).unwrap().flatten().any(|e| {
        e.file_name()
            .to_string_lossy()
            .starts_with(".hygge-staging.")
    }));

    // A clean rerun publishes exactly the new rows and removes the stale staging.
    ok(run(root, &["go"]));
    assert_eq!(
        count_rows(&lake.join("rows")),
        (BATCHES * ROWS_PER_BATCH) as usize
    );
    let leftovers = staging_leftovers(&lake);
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
