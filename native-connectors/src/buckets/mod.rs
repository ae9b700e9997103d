//! The roadmap's bucket stores: `type: s3` (`bucket`, `path`), `type: azure_blob`
//! (`container`, `path`) and `type: gcs` (`bucket`, `path`), each with an optional
//! `connection:` for its credentials. They write Parquet through the `parquet` store on the
//! matching URL (`s3://bucket/path`, `az://container/path`, `gs://bucket/path`), so
//! `parquet` with that URL as `path` is the same store.

use std::sync::Arc;

use hygge_runtime::contract::{ConfigProblem, Connector, ConnectorConfig, HomeSpec, StoreSpec};
use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::files::front::{parquet_keys, parquet_store_on};

/// `type: s3`.
pub static S3: BucketStore = BucketStore {
    name: "s3",
    scheme: "s3",
    bucket_key: "bucket",
};
/// `type: azure_blob`.
pub static AZURE_BLOB: BucketStore = BucketStore {
    name: "azure_blob",
    scheme: "az",
    bucket_key: "container",
};
/// `type: gcs`.
pub static GCS: BucketStore = BucketStore {
    name: "gcs",
    scheme: "gs",
    bucket_key: "bucket",
};

/// A store named by its bucket (or container) and path.
pub struct BucketStore {
    name: &'static str,
    scheme: &'static str,
    bucket_key: &'static str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BucketStoreConfig {
    bucket: Option<String>,
    container: Option<String>,
    path: String,
    connection: Option<String>,
    // Accepted here, checked and used by the `parquet` store (`parquet_keys`).
    #[serde(rename = "compression")]
    _compression: Option<Value>,
    #[serde(rename = "compression_level")]
    _compression_level: Option<Value>,
    #[serde(rename = "row_group_size")]
    _row_group_size: Option<Value>,
    #[serde(rename = "batch_size")]
    _batch_size: Option<Value>,
    #[serde(rename = "file_pattern")]
    _file_pattern: Option<Value>,
    #[serde(rename = "partition_by")]
    _partition_by: Option<Value>,
}

impl BucketStore {
    fn build(&self, config: &ConnectorConfig<'_>) -> Result<Arc<dyn StoreSpec>, ConfigProblem> {
        let parsed: BucketStoreConfig = config.parse()?;
        let (given, other) = if self.bucket_key == "bucket" {
            (parsed.bucket, parsed.container.map(|_| "container"))
        } else {
            (parsed.container, parsed.bucket.map(|_| "bucket"))
        };
        if let Some(other) = other {
            return Err(ConfigProblem::key(
                other,
                format!("`type: {}` takes `{}`", self.name, self.bucket_key),
            ));
        }
        let bucket = given.ok_or_else(|| ConfigProblem::key(self.bucket_key, "is missing"))?;
        let path = parsed.path.trim_matches('/');
        let mut url = format!("{}://{bucket}/{path}", self.scheme);
        if config.has_entities && !config.path_names_entity && !config.entity_sets_path {
            url = format!("{}/{}", url.trim_end_matches('/'), config.entity);
        }
        let connection = match &parsed.connection {
            Some(name) => config
                .connections
                .get(name)
                .and_then(Value::as_mapping)
                .cloned()
                .ok_or_else(|| {
                    ConfigProblem::key("connection", format!("unknown connection `{name}`"))
                        .hint("define it under `connections:` in hygge.yml")
                })?,
            None => {
                let mut keys = Mapping::new();
                let cloud = if self.name == "azure_blob" {
                    "azure"
                } else {
                    self.name
                };
                keys.insert("type".into(), cloud.into());
                keys
            }
        };
        let name = parsed.connection.as_deref().unwrap_or(self.name);
        parquet_store_on(config, name, url, connection, parquet_keys(config.value))
    }
}

impl Connector for BucketStore {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        match self.name {
            "s3" => "Parquet files in an S3 bucket (the parquet store on s3://)",
            "azure_blob" => "Parquet files in an Azure Blob container (the parquet store on az://)",
            _ => "Parquet files in a GCS bucket (the parquet store on gs://)",
        }
    }

    fn home(
        &self,
        _config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn HomeSpec>, ConfigProblem>> {
        None
    }

    fn store(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn StoreSpec>, ConfigProblem>> {
        Some(self.build(config))
    }
}
