//! The store conformance suite (`hygge_runtime::testing`) run by every file store: native
//! Parquet, CSV and NDJSON, the Parquet Wasm component, and Parquet on S3 (moto, started
//! here). Each also survives a kill -9 between staging and publishing, in a child process
//! (this test binary, re-run).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::Int64Array;
use async_trait::async_trait;
use futures_util::TryStreamExt;
use hygge_object_test_servers::Moto;
use hygge_runtime::contract::{ConnectorConfig, HomeSpec, ReadRequest, Role, RunScope, StoreSpec};
use hygge_runtime::testing::kill::{CHILD_ENV, child_main, kill_9_between_staging_and_publishing};
use hygge_runtime::testing::{StoreHarness, run_suite};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use serde_yaml::Value;

/// A file store kind: its `type`, the extra config, and the file suffix it writes.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Parquet,
    Csv,
    Ndjson,
    ParquetComponent,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Parquet => "parquet",
            Kind::Csv => "csv",
            Kind::Ndjson => "ndjson",
            Kind::ParquetComponent => "component",
        }
    }

    fn from_name(name: &str) -> Kind {
        match name {
            "parquet" => Kind::Parquet,
            "csv" => Kind::Csv,
            "ndjson" => Kind::Ndjson,
            _ => Kind::ParquetComponent,
        }
    }

    /// The YAML of a home or store on `path`.
    fn yaml(self, path: &Path) -> String {
        let path = path.display();
        match self {
            Kind::Parquet => format!("type: parquet\npath: {path}\n"),
            Kind::Csv => format!("type: local\nformat: csv\npath: {path}\n"),
            Kind::Ndjson => format!("type: local\nformat: ndjson\npath: {path}\n"),
            Kind::ParquetComponent => format!("type: parquet\nruntime: wasm\npath: {path}\n"),
        }
    }
}

fn config<'a>(
    value: &'a Value,
    role: Role,
    connections: &'a BTreeMap<String, Value>,
) -> ConnectorConfig<'a> {
    ConnectorConfig {
        value,
        role,
        flow: "conformance",
        entity: "rows",
        project_dir: Path::new("/"),
        entity_sets_path: false,
        path_names_entity: false,
        has_entities: false,
        connections,
    }
}

fn spec_of(kind: Kind, destination: &Path, role: Role) -> Result<Box<dyn std::any::Any>, String> {
    spec_from(&kind.yaml(destination), role, &BTreeMap::new())
}

fn spec_from(
    yaml: &str,
    role: Role,
    connections: &BTreeMap<String, Value>,
) -> Result<Box<dyn std::any::Any>, String> {
    let mut value: Value = serde_yaml::from_str(yaml).unwrap();
    let type_name = value
        .as_mapping_mut()
        .unwrap()
        .remove("type")
        .and_then(|t| t.as_str().map(String::from))
        .unwrap();
    let registry = hygge_native_connectors::registry();
    let connector = registry.get(&type_name).unwrap();
    let cfg = config(&value, role, connections);
    match role {
        Role::Home => connector
            .home(&cfg)
            .unwrap()
            .map(|h| Box::new(h) as Box<dyn std::any::Any>),
        Role::Store => connector
            .store(&cfg)
            .unwrap()
            .map(|s| Box::new(s) as Box<dyn std::any::Any>),
    }
    .map_err(|p| format!("{p:?}"))
}

struct Files {
    kind: Kind,
    /// The folder holding the destination and its staging.
    root: PathBuf,
    store: Arc<dyn StoreSpec>,
}

impl Files {
    fn new(kind: Kind, root: PathBuf) -> Files {
        let store = *spec_of(kind, &root.join("rows"), Role::Store)
            .unwrap()
            .downcast::<Arc<dyn StoreSpec>>()
            .unwrap();
        Files { kind, root, store }
    }

    fn destination(&self) -> PathBuf {
        self.root.join("rows")
    }
}

fn visible_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if entry.path().is_dir() {
            visible_files(&entry.path(), out);
        } else {
            out.push(entry.path());
        }
    }
}

#[async_trait]
impl StoreHarness for Files {
    fn spec(&self) -> Arc<dyn StoreSpec> {
        self.store.clone()
    }

    async fn published_ids(&self) -> Result<Vec<i64>, String> {
        let mut files = Vec::new();
        visible_files(&self.destination(), &mut files);
        if files.is_empty() {
            return Ok(Vec::new());
        }
        // Read back with the same connector's home (native for the component's files).
        let kind = match self.kind {
            Kind::ParquetComponent => Kind::Parquet,
            other => other,
        };
        let home = *spec_of(kind, &self.destination(), Role::Home)?
            .downcast::<Arc<dyn HomeSpec>>()
            .unwrap();
        let mut reader = home
            .build(&RunScope::new(1))
            .open(&ReadRequest::default())
            .await
            .map_err(|e| e.to_string())?;
        let mut ids = Vec::new();
        while let Some(batch) = reader.next_batch().await.map_err(|e| e.to_string())? {
            let column = batch.column_by_name("id").ok_or("no id column")?;
            let values = column
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or("id is not Int64")?;
            ids.extend(values.values().iter().copied());
        }
        ids.sort_unstable();
        Ok(ids)
    }

    async fn fingerprint(&self) -> Result<String, String> {
        let mut files = Vec::new();
        visible_files(&self.destination(), &mut files);
        files.sort();
        let mut text = String::new();
        for file in files {
            let bytes = fs::read(&file).map_err(|e| e.to_string())?;
            let sum: u64 = bytes
                .iter()
                .enumerate()
                .map(|(i, b)| (i as u64 + 1) * u64::from(*b))
                .sum();
            text.push_str(&format!("{} {} {sum}\n", file.display(), bytes.len()));
        }
        Ok(text)
    }

    async fn plant_stale_staging(&self, run_id: &str) -> Result<(), String> {
        let stale = self.root.join(format!(".hygge-staging.rows.{run_id}"));
        fs::create_dir_all(&stale).map_err(|e| e.to_string())?;
        fs::write(stale.join("part-half-written.parquet"), b"PAR1").map_err(|e| e.to_string())
    }

    async fn staging(&self) -> Result<Vec<String>, String> {
        Ok(fs::read_dir(&self.root)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".hygge-staging."))
            .collect())
    }
}

async fn suite(kind: Kind) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let make =
        move |check: &str| Box::new(Files::new(kind, root.join(check))) as Box<dyn StoreHarness>;
    if let Err(failures) = run_suite(&make).await {
        panic!("{kind:?} store fails the conformance suite:\n{failures}");
    }
}

async fn kill_9(kind: Kind) {
    let tmp = tempfile::tempdir().unwrap();
    let harness = Files::new(kind, tmp.path().join("kill"));
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "conformance_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_ENV,
            format!("{}|{}", kind.name(), harness.root.display()),
        );
    if let Err(why) = kill_9_between_staging_and_publishing(&harness, child).await {
        panic!("{kind:?} store: {why}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_parquet_store_conforms() {
    suite(Kind::Parquet).await;
    kill_9(Kind::Parquet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_store_conforms() {
    suite(Kind::Csv).await;
    kill_9(Kind::Csv).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_store_conforms() {
    suite(Kind::Ndjson).await;
    kill_9(Kind::Ndjson).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_component_store_conforms() {
    suite(Kind::ParquetComponent).await;
    kill_9(Kind::ParquetComponent).await;
}

/// The child of the kill -9 checks; does nothing unless started by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_child() {
    let Ok(target) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (kind, root) = target.split_once('|').unwrap();
    if kind == "s3" {
        let (endpoint, check) = root.rsplit_once('|').unwrap();
        child_main(&Bucket::new(endpoint, check)).await;
        return;
    }
    let harness = Files::new(Kind::from_name(kind), PathBuf::from(root));
    child_main(&harness).await;
}

/// A Parquet store on S3 (a moto bucket), read back through a local copy of what a plain
/// listing shows.
struct Bucket {
    store: Arc<dyn StoreSpec>,
    objects: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
}

impl Bucket {
    fn new(endpoint: &str, check: &str) -> Bucket {
        let lake: Value = serde_yaml::from_str(&format!(
            "{{type: s3, region: us-east-1, endpoint: '{endpoint}', access_key_id: hygge, secret_access_key: hygge-secret, allow_http: true}}"
        ))
        .unwrap();
        let connections = BTreeMap::from([("lake".to_string(), lake.clone())]);
        let yaml = format!("type: parquet\npath: 's3://lake/{check}/rows'\nconnection: lake\n");
        let store = *spec_from(&yaml, Role::Store, &connections)
            .unwrap()
            .downcast::<Arc<dyn StoreSpec>>()
            .unwrap();
        let keys = hygge_runtime::cloud::CloudConnection::from_value(&lake, "lake").unwrap();
        let url = hygge_runtime::cloud::ObjectUrl::parse(&format!("s3://lake/{check}/rows"))
            .unwrap()
            .unwrap();
        Bucket {
            store,
            objects: keys.open(&url).unwrap(),
            prefix: url.prefix,
        }
    }

    /// The objects a plain listing shows, by path under the destination, sorted.
    async fn visible(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        let root = format!("{}/", self.prefix);
        let listed: Vec<_> = self
            .objects
            .list(Some(&self.prefix))
            .try_collect()
            .await
            .map_err(|e| e.to_string())?;
        let mut files = Vec::new();
        for meta in listed {
            let relative = meta.location.as_ref()[root.len()..].to_string();
            if relative.starts_with("_hygge/") {
                continue;
            }
            let bytes = self
                .objects
                .get(&meta.location)
                .await
                .map_err(|e| e.to_string())?
                .bytes()
                .await
                .map_err(|e| e.to_string())?;
            files.push((relative, bytes.to_vec()));
        }
        files.sort();
        Ok(files)
    }
}

#[async_trait]
impl StoreHarness for Bucket {
    fn spec(&self) -> Arc<dyn StoreSpec> {
        self.store.clone()
    }

    async fn published_ids(&self) -> Result<Vec<i64>, String> {
        let files = self.visible().await?;
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let copy = tempfile::tempdir().map_err(|e| e.to_string())?;
        for (relative, bytes) in &files {
            let local = copy.path().join("rows").join(relative);
            fs::create_dir_all(local.parent().unwrap()).map_err(|e| e.to_string())?;
            fs::write(&local, bytes).map_err(|e| e.to_string())?;
        }
        Files::new(Kind::Parquet, copy.path().to_path_buf())
            .published_ids()
            .await
    }

    async fn fingerprint(&self) -> Result<String, String> {
        Ok(self
            .visible()
            .await?
            .iter()
            .map(|(name, bytes)| format!("{name} {bytes:?}\n"))
            .collect())
    }

    async fn plant_stale_staging(&self, run_id: &str) -> Result<(), String> {
        let path = self
            .prefix
            .clone()
            .join("_hygge")
            .join("staging")
            .join(run_id)
            .join("part-half-written.parquet");
        self.objects
            .put(&path, "PAR1".into())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn staging(&self) -> Result<Vec<String>, String> {
        let staging = self.prefix.clone().join("_hygge").join("staging");
        let listed = self
            .objects
            .list_with_delimiter(Some(&staging))
            .await
            .map_err(|e| e.to_string())?;
        Ok(listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(String::from))
            .collect())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_store_on_s3_conforms() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let endpoint = moto.endpoint();
    let make = move |check: &str| Box::new(Bucket::new(&endpoint, check)) as Box<dyn StoreHarness>;
    if let Err(failures) = run_suite(&make).await {
        panic!("the Parquet store on S3 fails the conformance suite:\n{failures}");
    }
    let harness = Bucket::new(&moto.endpoint(), "kill");
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "conformance_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("s3|{}|kill", moto.endpoint()));
    if let Err(why) = kill_9_between_staging_and_publishing(&harness, child).await {
        panic!("the Parquet store on S3: {why}");
    }
}
