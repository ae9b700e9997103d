//! The component store in parts: one file per part, published together by part 0, for
//! full-drop and incremental runs; a failing part publishes nothing and leaves no staging.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use hygge_runtime::contract::{ConnectorResult, RunContext, RunType, Store};
use hygge_runtime::wasm::{Permissions, WasmStoreSpec};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{StoreSettings, store};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]))
}

/// Rows `from..from + rows`.
fn batch(from: i64, rows: i64) -> RecordBatch {
    let ids: Vec<i64> = (from..from + rows).collect();
    let names: Vec<String> = ids.iter().map(|i| format!("row {i}")).collect();
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap()
}

fn spec(destination: &Path, parts: usize) -> WasmStoreSpec {
    store(
        StoreSettings {
            destination,
            compression: None,
            compression_level: None,
            row_group_size: None,
            batch_size: None,
        },
        Permissions::default(),
    )
    .unwrap()
    .with_parts(parts)
}

/// Writes `batches` in one run; aborts when anything fails, as the flow does.
async fn load(
    spec: WasmStoreSpec,
    batches: Vec<RecordBatch>,
    run_id: &str,
    run_type: RunType,
) -> ConnectorResult<()> {
    let context = RunContext {
        run_id: run_id.into(),
        flow: "flow".into(),
        entity: "entity".into(),
        run_type,
    };
    let mut writer = Box::new(spec).open(schema(), &context).await?;
    for batch in batches {
        if let Err(e) = writer.write(batch).await {
            writer.abort().await?;
            return Err(e);
        }
    }
    writer.commit().await
}

/// The file names in `dir`, sorted, and every id in them, sorted.
fn published(dir: &Path) -> (Vec<String>, Vec<i64>) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut ids = Vec::new();
    for name in &names {
        let file = std::fs::File::open(dir.join(name)).unwrap();
        for batch in ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
        {
            let batch = batch.unwrap();
            let column = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            ids.extend(column.values().iter().copied());
            assert_eq!(batch.column(1).null_count(), 0);
        }
    }
    ids.sort_unstable();
    (names, ids)
}

fn staging_left(root: &Path) -> Vec<String> {
    std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".hygge-staging"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_in_parts_writes_a_file_per_part_and_publishes_them_together() {
    let root = tempfile::tempdir().unwrap();
    let dest = root.path().join("entity");
    let batches = (0..7).map(|i| batch(i * 10, 10)).collect();
    load(spec(&dest, 3), batches, "run1", RunType::FullDrop)
        .await
        .unwrap();
    let (names, ids) = published(&dest);
    assert_eq!(
        names,
        [
            "part-run1-00001.parquet",
            "part-run1-00002.parquet",
            "part-run1-00003.parquet"
        ]
    );
    assert_eq!(ids, (0..70).collect::<Vec<_>>());

    // Two batches open only two of the three parts; the new set replaces the old one.
    let batches = vec![batch(100, 5), batch(105, 5)];
    load(spec(&dest, 3), batches, "run2", RunType::FullDrop)
        .await
        .unwrap();
    let (names, ids) = published(&dest);
    assert_eq!(
        names,
        ["part-run2-00001.parquet", "part-run2-00002.parquet"]
    );
    assert_eq!(ids, (100..110).collect::<Vec<_>>());
    assert!(staging_left(root.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_run_in_parts_keeps_what_was_published() {
    let root = tempfile::tempdir().unwrap();
    let dest = root.path().join("entity");
    load(
        spec(&dest, 2),
        vec![batch(0, 4), batch(4, 4)],
        "run1",
        RunType::FullDrop,
    )
    .await
    .unwrap();
    let batches = vec![batch(8, 4), batch(12, 4), batch(16, 4)];
    load(spec(&dest, 3), batches, "run2", RunType::Incremental)
        .await
        .unwrap();
    let (names, ids) = published(&dest);
    assert_eq!(names.len(), 5, "{names:?}");
    assert_eq!(ids, (0..20).collect::<Vec<_>>());
    assert!(staging_left(root.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_part_publishes_nothing_and_leaves_no_staging() {
    let root = tempfile::tempdir().unwrap();
    let dest = root.path().join("entity");
    load(spec(&dest, 1), vec![batch(0, 3)], "run1", RunType::FullDrop)
        .await
        .unwrap();
    let before = published(&dest);

    // The second batch goes to part 1, which refuses a batch of another schema.
    let other = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let wrong = RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1]))]).unwrap();
    for run_type in [RunType::FullDrop, RunType::Incremental] {
        let batches = vec![batch(10, 3), wrong.clone(), batch(20, 3)];
        let error = load(spec(&dest, 2), batches, "run2", run_type)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("does not match the schema"),
            "{run_type:?}: {error}"
        );
        assert_eq!(published(&dest), before, "{run_type:?}");
        assert!(staging_left(root.path()).is_empty(), "{run_type:?}");
    }
}
