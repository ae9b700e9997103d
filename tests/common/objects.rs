//! Helpers for the object-store tests: emulator connections as a project writes them,
//! rows to load, and reading a destination back.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use futures_util::TryStreamExt;
use hygge_object_test_servers::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite, Moto};
use hygge_runtime::cloud::{CloudConnection, ObjectUrl};
use object_store::ObjectStoreExt;

use super::write_files;

pub fn orders(n: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("note", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(0..n)),
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("n{i}")),
            )),
        ],
    )
    .unwrap()
}

/// Copies the data files a plain listing of `url` shows (not `_hygge/`) into `into`;
/// their paths under the destination.
pub fn download(connection: &CloudConnection, url: &str, into: &Path) -> Vec<String> {
    let url = ObjectUrl::parse(url).unwrap().unwrap();
    let store = connection.open(&url).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let root = format!("{}/", url.prefix);
        let mut names = Vec::new();
        let listed: Vec<_> = store.list(Some(&url.prefix)).try_collect().await.unwrap();
        for meta in listed {
            let relative = meta.location.as_ref()[root.len()..].to_string();
            if relative.starts_with("_hygge/") {
                continue;
            }
            let bytes = store
                .get(&meta.location)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let local = into.join(&relative);
            std::fs::create_dir_all(local.parent().unwrap()).unwrap();
            std::fs::write(&local, &bytes).unwrap();
            names.push(relative);
        }
        names.sort();
        names
    })
}

/// The connection keys written as `connections.lake` (indented YAML), and parsed the way
/// hygge parses them, for the test to read the destination back.
pub fn connection(yaml: String) -> (CloudConnection, String) {
    let value: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    (CloudConnection::from_value(&value, "lake").unwrap(), yaml)
}

pub fn s3(moto: &Moto) -> (CloudConnection, String) {
    connection(format!(
        "    type: s3\n    region: us-east-1\n    endpoint: {}\n    access_key_id: hygge\n    secret_access_key: hygge-secret\n    allow_http: true\n",
        moto.endpoint()
    ))
}

pub fn azure(azurite: &Azurite) -> (CloudConnection, String) {
    connection(format!(
        "    type: azure\n    account: {AZURITE_ACCOUNT}\n    storage_account_key: {AZURITE_KEY}\n    endpoint: {}\n    allow_http: true\n",
        azurite.endpoint()
    ))
}

/// The ids and notes of every row in the Parquet files under `dir`, sorted by id.
pub fn rows_in(dir: &Path) -> Vec<(i64, String)> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    let mut rows = Vec::new();
    for batch in super::read_dir_batches(dir) {
        let ids = batch
            .column_by_name("id")
            .unwrap()
            .as_primitive::<Int64Type>();
        let notes = batch.column_by_name("note").unwrap().as_string::<i32>();
        rows.extend((0..batch.num_rows()).map(|i| (ids.value(i), notes.value(i).to_string())));
    }
    rows.sort();
    rows
}

/// Two flows: `up` loads `data/source` into `url` as `format`, `down` reads `url` back
/// (a URL home, the given `home_path`) into the local Parquet folder `out`.
pub fn round_trip_project(dir: &Path, connection: &str, url: &str, home_path: &str, format: &str) {
    write_files(
        dir,
        &[
            (
                "hygge.yml",
                &format!("name: shop\nconnections:\n  lake:\n{connection}"),
            ),
            (
                "flows/up/flow.yml",
                &format!(
                    "home: {{type: parquet, path: data/source}}\nstore: {{type: local, format: {format}, path: '{url}', connection: lake}}\n"
                ),
            ),
            (
                "flows/down/flow.yml",
                &format!(
                    "home: {{type: local, format: {format}, path: '{home_path}', connection: lake}}\nstore: {{type: parquet, path: out}}\n"
                ),
            ),
        ],
    );
}
