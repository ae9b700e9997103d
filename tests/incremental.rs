//! Incremental loads through the real binary: each run reads only rows past the committed
//! watermark, the watermark is committed with the data, and `hygge state`, `hygge reset`
//! and `--dry-run` show and change it.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use common::*;

const DAY_MICROS: i64 = 86_400_000_000;

/// Rows `(id, day)`: `updated_at` is midnight of day `day` after 2024-01-01.
fn events(rows: &[(i64, i64)]) -> RecordBatch {
    let base = 19_723 * DAY_MICROS; // 2024-01-01
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new(
            "updated_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(TimestampMicrosecondArray::from(
                rows.iter()
                    .map(|r| base + r.1 * DAY_MICROS)
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap()
}

/// A project with flow `f`, entity `events`, reading `src/events`, storing `lake/events`.
fn project(root: &Path, store: &str, extra: &str) {
    project_with_home(root, "src", store, extra);
}

fn project_with_home(root: &Path, home: &str, store: &str, extra: &str) {
    write_files(
        root,
        &[
            ("hygge.yml", "name: inc\n"),
            (
                "flows/f/flow.yml",
                &format!(
                    "home: {home}\nstore: {store}\nrun_type: incremental\n{extra}entities: [events]\n"
                ),
            ),
        ],
    );
}

fn ids(dir: &Path) -> Vec<i64> {
    let mut ids: Vec<i64> = read_dir_batches(dir)
        .iter()
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    ids.sort_unstable();
    ids
}

fn state_json(root: &Path) -> serde_json::Value {
    let output = run(root, &["state", "--json"]);
    assert!(output.status.success(), "{}", text(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Three runs: each loads only the new rows; a row that arrives late with an old
/// `updated_at` is not re-read (the `>` hazard); a run with nothing new keeps the watermark.
fn three_runs(home: &str, store: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project_with_home(
        root,
        home,
        store,
        "watermark:\n  column: updated_at\n  primary_key: id\n",
    );
    let lake = root.join("lake/events");
    write_parquet(
        &root.join("src/events/a.parquet"),
        &[events(&[(1, 0), (2, 1), (3, 2)])],
    );
    ok(run(root, &["go"]));
    assert_eq!(ids(&lake), [1, 2, 3]);
    let state = state_json(root);
    assert_eq!(state[0]["flow"], "f");
    assert_eq!(state[0]["entity"], "events");
    assert_eq!(state[0]["column"], "updated_at");
    assert_eq!(state[0]["watermark"], "2024-01-03T00:00:00");
    let first_run = state[0]["run_id"].as_str().unwrap().to_string();
    assert!(state[0]["committed_at"].as_str().unwrap().ends_with('Z'));

    // New rows 4 and 5, and row 6 late at day 2 (= the watermark): not re-read.
    write_parquet(
        &root.join("src/events/b.parquet"),
        &[events(&[(4, 3), (5, 4), (6, 2)])],
    );
    let out = ok(run(root, &["go"]));
    assert_eq!(ids(&lake), [1, 2, 3, 4, 5], "{out}");
    let state = state_json(root);
    assert_eq!(state[0]["watermark"], "2024-01-05T00:00:00");
    assert_ne!(state[0]["run_id"], first_run.as_str());

    // Nothing new: no rows, same watermark, same data.
    let before = snapshot(&lake);
    ok(run(root, &["go"]));
    assert_eq!(ids(&lake), [1, 2, 3, 4, 5]);
    assert_eq!(state_json(root)[0]["watermark"], "2024-01-05T00:00:00");
    let after = snapshot(&lake);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    // The state file is hidden inside the published folder.
    assert!(lake.join(".hygge-state.json").is_file());
    assert!(staging_leftovers(&root.join("lake")).is_empty());
}

#[test]
fn parquet_to_parquet_loads_only_new_rows_across_three_runs() {
    three_runs("src", "lake");
}

#[test]
fn the_parquet_component_home_and_store_load_only_new_rows_across_three_runs() {
    three_runs("{path: src, runtime: wasm}", "{path: lake, runtime: wasm}");
}

#[test]
fn csv_to_parquet_with_the_flat_keys_starts_at_initial_inclusive_then_loads_only_new_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_files(
        root,
        &[
            ("hygge.yml", "name: inc\n"),
            (
                "src/orders/a.csv",
                "id,day\n1,2024-01-01\n2,2024-02-01\n3,2024-03-01\n",
            ),
            (
                "flows/f/flow.yml",
                "home: {type: local, format: csv, path: src}\nstore: lake\nload_type: incremental\nentities:\n  - name: orders\n    watermark_column: day\n    watermark_initial: 2024-02-01\n",
            ),
        ],
    );
    let lake = root.join("lake/orders");
    let out = ok(run(root, &["go", "--dry-run"]));
    assert!(out.contains("reads rows with `day` >= 2024-02-01"), "{out}");
    ok(run(root, &["go"]));
    assert_eq!(ids(&lake), [2, 3]);
    write_files(
        root,
        &[("src/orders/b.csv", "id,day\n4,2024-03-01\n5,2024-04-01\n")],
    );
    let out = ok(run(root, &["go", "--dry-run"]));
    assert!(out.contains("reads rows with `day` > 2024-03-01"), "{out}");
    ok(run(root, &["go"]));
    assert_eq!(ids(&lake), [2, 3, 5]);
    assert_eq!(state_json(root)[0]["watermark"], "2024-04-01");
    write_files(
        root,
        &[(
            "src/orders/c.csv",
            "id,day
6,2024-04-01
7,2024-05-01
",
        )],
    );
    ok(run(root, &["go"]));
    assert_eq!(ids(&lake), [2, 3, 5, 7]);
    assert_eq!(state_json(root)[0]["watermark"], "2024-05-01");
}

#[test]
fn reset_asks_then_the_next_run_reloads_and_replaces() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project(root, "lake", "watermark: {column: updated_at}\n");
    let lake = root.join("lake/events");
    write_parquet(
        &root.join("src/events/a.parquet"),
        &[events(&[(1, 0), (2, 5)])],
    );
    ok(run(root, &["go"]));
    // A late row below the watermark: only a reload brings it.
    write_parquet(&root.join("src/events/b.parquet"), &[events(&[(3, 1)])]);
    ok(run(root, &["go"]));
    assert_eq!(ids(&lake), [1, 2]);

    let out = fails(run(root, &["reset", "--flow", "f"]));
    assert!(out.contains("--yes"), "{out}");
    assert_eq!(state_json(root)[0]["watermark"], "2024-01-06T00:00:00");

    let out = ok(run(
        root,
        &["reset", "--flow", "f", "--entity", "events", "--yes"],
    ));
    assert!(out.contains("f.events: watermark forgotten"), "{out}");
    assert!(state_json(root)[0]["watermark"].is_null());
    let out = ok(run(root, &["go", "--dry-run"]));
    assert!(out.contains("full reload"), "{out}");
    ok(run(root, &["go"]));
    assert_eq!(ids(&lake), [1, 2, 3], "a reload replaces; nothing doubled");
    assert_eq!(state_json(root)[0]["watermark"], "2024-01-06T00:00:00");
    // …and the runs after it are incremental again.
    write_parquet(&root.join("src/events/c.parquet"), &[events(&[(4, 9)])]);
    ok(run(root, &["go"]));
    assert_eq!(ids(&lake), [1, 2, 3, 4]);
}

#[test]
fn full_drop_reloads_everything_and_records_the_watermark() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project(root, "lake", "watermark: {column: updated_at}\n");
    let lake = root.join("lake/events");
    write_parquet(
        &root.join("src/events/a.parquet"),
        &[events(&[(1, 0), (2, 3)])],
    );
    ok(run(root, &["go", "--full-drop"]));
    assert_eq!(state_json(root)[0]["watermark"], "2024-01-04T00:00:00");
    ok(run(root, &["go", "--full-drop"]));
    assert_eq!(ids(&lake), [1, 2]);
    write_parquet(&root.join("src/events/b.parquet"), &[events(&[(3, 4)])]);
    ok(run(root, &["go"]));
    assert_eq!(ids(&lake), [1, 2, 3]);
}

#[test]
fn a_watermark_column_the_home_lacks_is_a_config_error_and_nothing_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project(root, "lake", "watermark: {column: changed_at}\n");
    write_parquet(&root.join("src/events/a.parquet"), &[events(&[(1, 0)])]);
    let out = fails(run(root, &["go"]));
    assert!(
        out.contains("flow `f`, entity `events`") && out.contains("`changed_at`"),
        "{out}"
    );
    assert!(!root.join("lake/events").exists());
}

#[test]
fn a_watermark_of_another_type_than_the_stored_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_files(
        root,
        &[
            ("hygge.yml", "name: inc\n"),
            ("src/t/a.csv", "id,v\n1,10\n"),
            (
                "flows/f/flow.yml",
                "home: {type: local, format: csv, path: src}\nstore: lake\nrun_type: incremental\nwatermark: {column: v}\nentities: [t]\n",
            ),
        ],
    );
    ok(run(root, &["go"]));
    let before = snapshot(&root.join("lake"));
    write_files(root, &[("src/t/a.csv", "id,v\n1,x\n")]);
    let out = fails(run(root, &["go"]));
    assert!(
        out.contains("`v`") && out.contains("committed watermark"),
        "{out}"
    );
    assert_eq!(snapshot(&root.join("lake")), before);
}

#[test]
fn a_state_file_that_is_not_state_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project(root, "lake", "watermark: {column: updated_at}\n");
    write_parquet(&root.join("src/events/a.parquet"), &[events(&[(1, 0)])]);
    ok(run(root, &["go"]));
    std::fs::write(root.join("lake/events/.hygge-state.json"), "{oops").unwrap();
    let out = fails(run(root, &["go"]));
    assert!(
        out.contains(".hygge-state.json") && out.contains("not hygge watermark state"),
        "{out}"
    );
}
