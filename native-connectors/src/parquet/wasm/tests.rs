//! The component in parts. A store: one file per part, published together by part 0, for
//! full-drop and incremental runs; a failing part publishes nothing and leaves no staging.
//! A home: alternate row groups per part, every row in input order; a failing row group
//! fails the read.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use hygge_runtime::contract::{ConnectorResult, Home, ReadRequest, RunContext, RunType, Store};
use hygge_runtime::wasm::{Permissions, WasmStoreSpec};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::properties::WriterProperties;

use super::{StoreSettings, home, store};

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
        on_schema_change: Default::default(),
        reload: false,
        watermark_column: None,
    };
    let mut writer = Box::new(spec).open(schema(), &context).await?;
    for batch in batches {
        if let Err(e) = writer.write(batch).await {
            writer.abort().await?;
            return Err(e);
        }
    }
    writer.commit(None).await
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
async fn a_refused_batch_publishes_nothing_and_leaves_no_staging() {
    let root = tempfile::tempdir().unwrap();
    let dest = root.path().join("entity");
    load(spec(&dest, 1), vec![batch(0, 3)], "run1", RunType::FullDrop)
        .await
        .unwrap();
    let before = published(&dest);

    // The second batch (it would go to part 1) has another schema: the host refuses it.
    let other = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let wrong = RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1]))]).unwrap();
    for run_type in [RunType::FullDrop, RunType::Incremental] {
        let batches = vec![batch(10, 3), wrong.clone(), batch(20, 3)];
        let error = load(spec(&dest, 2), batches, "run2", run_type)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("differ from those the store was opened with"),
            "{run_type:?}: {error}"
        );
        assert_eq!(published(&dest), before, "{run_type:?}");
        assert!(staging_left(root.path()).is_empty(), "{run_type:?}");
    }
}

/// Writes rows `from..from + rows` to `path` in row groups of `group` rows.
fn write_file(path: &Path, from: i64, rows: i64, group: usize) {
    let file = std::fs::File::create(path).unwrap();
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(group))
        .build();
    let mut writer = ArrowWriter::try_new(file, schema(), Some(properties)).unwrap();
    writer.write(&batch(from, rows)).unwrap();
    writer.close().unwrap();
}

/// Reads `dir` through the component home in `parts`; the batches, or the first error.
async fn read_home(
    dir: &Path,
    parts: usize,
    request: ReadRequest,
) -> (Vec<RecordBatch>, Option<String>) {
    let spec = home(dir, None, Permissions::default())
        .unwrap()
        .with_parts(parts);
    let mut reader = Box::new(spec).open(&request).await.unwrap();
    let mut batches = Vec::new();
    loop {
        match reader.next_batch().await {
            Ok(Some(batch)) => batches.push(batch),
            Ok(None) => return (batches, None),
            Err(e) => return (batches, Some(e.to_string())),
        }
    }
}

fn ids_in_order(batches: &[RecordBatch], column: usize) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let ids = b.column(column).as_any().downcast_ref::<Int64Array>();
            ids.unwrap().values().to_vec()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_home_in_parts_yields_every_row_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    // 8 row groups of unequal size over two files, read in batches smaller than a group.
    write_file(&dir.path().join("a.parquet"), 0, 33, 7);
    write_file(&dir.path().join("b.parquet"), 33, 20, 9);
    let request = ReadRequest::default().with_batch_size(3);
    for parts in [1, 2, 3, 4, 9] {
        let (batches, error) = read_home(dir.path(), parts, request.clone()).await;
        assert_eq!(error, None, "{parts} parts");
        assert_eq!(
            ids_in_order(&batches, 0),
            (0..53).collect::<Vec<_>>(),
            "{parts} parts"
        );
        assert!(batches.iter().all(|b| b.num_rows() <= 3), "{parts} parts");
    }

    // Projected and reordered: each part's row groups come out in the requested order.
    let request = request.with_columns(Some(vec!["name".into(), "id".into()]));
    let (batches, error) = read_home(dir.path(), 3, request).await;
    assert_eq!(error, None);
    assert_eq!(batches[0].schema().field(0).name(), "name");
    assert_eq!(ids_in_order(&batches, 1), (0..53).collect::<Vec<_>>());
    for batch in &batches {
        let names = batch.column(0).as_any().downcast_ref::<StringArray>();
        let ids = batch.column(1).as_any().downcast_ref::<Int64Array>();
        for (name, id) in names.unwrap().iter().zip(ids.unwrap().values()) {
            assert_eq!(name, Some(format!("row {id}").as_str()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_row_group_fails_a_home_in_parts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.parquet");
    write_file(&path, 0, 40, 10);
    // Overwrite the page header of row group 2's first column: its part fails to decode it.
    let offset = {
        let file = std::fs::File::open(&path).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let column = builder.metadata().row_group(2).column(0);
        column
            .dictionary_page_offset()
            .unwrap_or(column.data_page_offset())
    };
    let mut bytes = std::fs::read(&path).unwrap();
    let at = usize::try_from(offset).unwrap();
    bytes[at..at + 16].fill(0xff);
    std::fs::write(&path, bytes).unwrap();

    let (batches, error) = read_home(dir.path(), 2, ReadRequest::default()).await;
    let error = error.expect("the broken row group is reported");
    assert!(error.contains("a.parquet"), "{error}");
    assert!(error.contains("next-batch"), "{error}");
    // Row groups 0 and 1 came before the broken one, and nothing after it.
    assert_eq!(ids_in_order(&batches, 0), (0..20).collect::<Vec<_>>());
}
