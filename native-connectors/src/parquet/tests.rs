//! The parquet connector through its spec: parallel row-group reads keep row order,
//! projection reorders columns, config problems name their keys.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use hygge_runtime::contract::{
    ConfigProblem, Connector, ConnectorConfig, HomeSpec, ReadRequest, Role, RunScope,
};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use serde_yaml::Value;

use super::PARQUET;

fn config<'a>(value: &'a Value, dir: &'a Path, role: Role) -> ConnectorConfig<'a> {
    ConnectorConfig {
        value,
        role,
        flow: "f",
        entity: "e",
        project_dir: dir,
        entity_sets_path: false,
        path_names_entity: false,
        has_entities: true,
        connections: &NO_CONNECTIONS,
    }
}

static NO_CONNECTIONS: std::collections::BTreeMap<String, Value> =
    std::collections::BTreeMap::new();

fn home(dir: &Path, yaml: &str) -> Result<Arc<dyn HomeSpec>, ConfigProblem> {
    let value: Value = serde_yaml::from_str(yaml).unwrap();
    PARQUET.home(&config(&value, dir, Role::Home)).unwrap()
}

/// Writes `files` Parquet files of `rows` rows each, in row groups of 1,000 rows.
fn write_input(dir: &Path, files: i64, rows: i64) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("label", DataType::Utf8, false),
    ]));
    for f in 0..files {
        let path = dir.join("src/e").join(format!("part-{f}.parquet"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(1_000))
            .build();
        let mut writer = ArrowWriter::try_new(
            std::fs::File::create(path).unwrap(),
            schema.clone(),
            Some(props),
        )
        .unwrap();
        let ids: Vec<i64> = (f * rows..(f + 1) * rows).collect();
        let labels: Vec<String> = ids.iter().map(|i| format!("row {i}")).collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(labels)),
            ],
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_row_group_reads_keep_row_order_and_project_in_request_order() {
    let dir = tempfile::tempdir().unwrap();
    write_input(dir.path(), 3, 4_500);
    let spec = home(dir.path(), "path: src\nbatch_size: 700").unwrap();
    let request = ReadRequest::default()
        .with_batch_size(700)
        .with_columns(Some(vec!["label".into(), "id".into()]));
    let mut reader = spec
        .build(&RunScope::default())
        .open(&request)
        .await
        .unwrap();
    let names: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["label", "id"]);
    let mut ids = Vec::new();
    while let Some(batch) = reader.next_batch().await.unwrap() {
        assert!(batch.num_rows() <= 700);
        let column = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        ids.extend((0..column.len()).map(|i| column.value(i)));
    }
    assert_eq!(ids, (0..13_500).collect::<Vec<i64>>());
}

#[tokio::test]
async fn an_unknown_column_is_a_config_error_listing_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    write_input(dir.path(), 1, 10);
    let spec = home(dir.path(), "path: src").unwrap();
    let request = ReadRequest::default().with_columns(Some(vec!["nope".into()]));
    let Err(err) = spec.build(&RunScope::default()).open(&request).await else {
        panic!("opened")
    };
    assert_eq!(err.kind(), hygge_runtime::contract::ErrorKind::Config);
    assert!(
        err.to_string()
            .contains("column `nope` is not in the data; columns: id, label"),
        "{err}"
    );
}

#[test]
fn config_problems_name_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let problem = home(dir.path(), "path: src\nformat: csv").err().unwrap();
    assert_eq!(problem.key.as_deref(), Some("format"));
    assert!(problem.hint.unwrap().contains("type: local"));
    let problem = home(dir.path(), "path: src\nbatch_sise: 3").err().unwrap();
    assert_eq!(problem.hint.as_deref(), Some("did you mean `batch_size`?"));
    let store: Value = serde_yaml::from_str("path: out\nfile_pattern: fixed.parquet").unwrap();
    let Some(Err(problem)) = PARQUET.store(&config(&store, dir.path(), Role::Store)) else {
        panic!("accepted")
    };
    assert_eq!(problem.key.as_deref(), Some("file_pattern"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_home_knows_how_many_rows_it_will_yield() {
    let dir = tempfile::tempdir().unwrap();
    write_input(dir.path(), 2, 2_500);
    let spec = home(dir.path(), "path: src").unwrap();
    let mut reader = spec
        .build(&RunScope::default())
        .open(&ReadRequest::default())
        .await
        .unwrap();
    assert_eq!(reader.total_rows(), Some(5_000));
    let mut rows = 0;
    while let Some(batch) = reader.next_batch().await.unwrap() {
        rows += batch.num_rows() as u64;
    }
    assert_eq!(rows, 5_000);
}
