//! Python hygge's Azure stores, unchanged: `type: adls` (ADLS Gen2: `account_url`,
//! `filesystem`, `path`) and `type: onelake` (Fabric OneLake: the same keys, `path`
//! defaulting to `Files/{entity}/`, `Files/<schema>.schema/{entity}/` with `schema`, or
//! `Files/LandingZone/{entity}/` with `mirror_name`). Both sign in by `credential`
//! (`managed_identity`, the default; `service_principal`; `storage_key`; `default`) and
//! write Parquet through the `parquet` store on an object-store URL.

#[cfg(test)]
mod tests;

use std::sync::Arc;

use hygge_runtime::contract::{ConfigProblem, Connector, ConnectorConfig, HomeSpec, StoreSpec};
use serde::Deserialize;
use serde_yaml::{Mapping, Value};
use url::Url;

use crate::files::front::{parquet_keys, parquet_store_on};

/// `type: adls`.
pub static ADLS: AzureStore = AzureStore { onelake: false };
/// `type: onelake`.
pub static ONELAKE: AzureStore = AzureStore { onelake: true };

/// Python hygge's `adls` and `onelake` stores.
pub struct AzureStore {
    onelake: bool,
}

/// The keys, as Python hygge's `ADLSStoreConfig` and `OneLakeStoreConfig` have them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AzureStoreConfig {
    account_url: String,
    filesystem: String,
    path: Option<String>,
    #[serde(default = "managed_identity")]
    credential: String,
    tenant_id: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    storage_account_key: Option<String>,
    /// OneLake: a schema-enabled lakehouse's schema.
    schema: Option<String>,
    /// OneLake: a mirrored database.
    mirror_name: Option<String>,
    /// Python hygge's extra options: `batch_size`, `compression`, `file_pattern`.
    #[serde(default)]
    options: Mapping,
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

fn managed_identity() -> String {
    "managed_identity".into()
}

impl AzureStore {
    fn type_name(&self) -> &'static str {
        if self.onelake { "onelake" } else { "adls" }
    }

    fn build(&self, config: &ConnectorConfig<'_>) -> Result<Arc<dyn StoreSpec>, ConfigProblem> {
        let parsed: AzureStoreConfig = config.parse()?;
        let path = match (&parsed.path, self.onelake) {
            (Some(path), _) => path.clone(),
            (None, false) => return Err(ConfigProblem::key("path", "is missing")),
            (None, true) => match (&parsed.schema, &parsed.mirror_name) {
                (Some(_), Some(_)) => {
                    return Err(ConfigProblem::key(
                        "schema",
                        "and `mirror_name` cannot both be set",
                    ));
                }
                (Some(schema), None) => format!("Files/{schema}.schema/{}/", config.entity),
                (None, Some(_)) => format!("Files/LandingZone/{}/", config.entity),
                (None, None) => format!("Files/{}/", config.entity),
            },
        };
        let (url, mut connection) = location(&parsed.account_url, &parsed.filesystem, &path)?;
        let credential = match parsed.credential.as_str() {
            "managed_identity" | "service_principal" | "storage_key" | "default" => {
                parsed.credential.clone()
            }
            other => {
                return Err(ConfigProblem::key(
                    "credential",
                    format!("`{other}` is not a credential"),
                )
                .hint("use managed_identity, service_principal, storage_key or default"));
            }
        };
        connection.insert("credential".into(), credential.into());
        for (key, value) in [
            ("tenant_id", &parsed.tenant_id),
            ("client_id", &parsed.client_id),
            ("client_secret", &parsed.client_secret),
            ("storage_account_key", &parsed.storage_account_key),
        ] {
            if let Some(value) = value {
                connection.insert(key.into(), value.clone().into());
            }
        }
        let mut own = parquet_keys(config.value);
        for (key, value) in &parsed.options {
            match key.as_str() {
                Some("batch_size" | "compression" | "file_pattern") => {
                    own.entry(key.clone()).or_insert_with(|| value.clone());
                }
                _ => {
                    return Err(ConfigProblem::key(
                        format!("options.{}", key.as_str().unwrap_or("?")),
                        "is not an option hygge knows",
                    )
                    .hint("options takes batch_size, compression and file_pattern"));
                }
            }
        }
        // Python hygge's defaults for these stores.
        own.entry("file_pattern".into())
            .or_insert_with(|| "{sequence:020d}.parquet".into());
        own.entry("batch_size".into())
            .or_insert_with(|| Value::Number(100_000.into()));
        parquet_store_on(config, self.type_name(), url, connection, own)
    }
}

/// The object-store URL and the connection keys for `account_url` (an ADLS, Blob or
/// OneLake endpoint, or an emulator's), `filesystem` (the container or workspace) and
/// `path`.
fn location(
    account_url: &str,
    filesystem: &str,
    path: &str,
) -> Result<(String, Mapping), ConfigProblem> {
    let parsed = Url::parse(account_url).map_err(|e| {
        ConfigProblem::key("account_url", format!("`{account_url}` is not a URL: {e}"))
            .hint("write it as https://<account>.dfs.core.windows.net")
    })?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let path = path.trim_matches('/');
    let mut connection = Mapping::new();
    connection.insert("type".into(), "azure".into());
    let azure_host = [
        ".dfs.core.windows.net",
        ".blob.core.windows.net",
        ".dfs.fabric.microsoft.com",
        ".blob.fabric.microsoft.com",
    ]
    .iter()
    .any(|suffix| host.ends_with(suffix));
    if azure_host {
        return Ok((format!("abfss://{filesystem}@{host}/{path}"), connection));
    }
    // Any other endpoint (Azurite, a private endpoint): the account is the URL's last path
    // segment (`http://127.0.0.1:10000/devstoreaccount1`) or its first host label.
    let account = parsed
        .path_segments()
        .and_then(|mut s| s.rfind(|p| !p.is_empty()).map(String::from))
        .unwrap_or_else(|| host.split('.').next().unwrap_or_default().to_string());
    connection.insert("account".into(), account.into());
    connection.insert(
        "endpoint".into(),
        account_url.trim_end_matches('/').to_string().into(),
    );
    if parsed.scheme() == "http" {
        connection.insert("allow_http".into(), true.into());
    }
    Ok((format!("az://{filesystem}/{path}"), connection))
}

impl Connector for AzureStore {
    fn name(&self) -> &'static str {
        self.type_name()
    }

    fn description(&self) -> &'static str {
        if self.onelake {
            "Fabric OneLake (Python hygge's onelake store): Parquet under Files/"
        } else {
            "Azure Data Lake Storage Gen2 (Python hygge's adls store): Parquet files"
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
