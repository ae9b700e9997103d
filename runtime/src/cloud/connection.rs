//! Object-store connections: `connections.NAME` with `type: s3 | azure | gcs` in hygge.yml,
//! named on a file home or store with `connection: NAME`. Keys not given fall back to the
//! cloud's usual credential chain (environment variables, instance or managed identity).

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::{ObjectStore, RetryConfig};
use serde::Deserialize;
use serde_yaml::Value;

use super::location::{Cloud, ObjectUrl};
use crate::contract::ConfigProblem;
use crate::contract::parse_connection;

/// How an Azure connection signs in, as Python hygge's `credential:` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AzureCredential {
    /// The machine's managed identity.
    ManagedIdentity,
    /// `tenant_id`, `client_id` and `client_secret`.
    ServicePrincipal,
    /// The account's key (`storage_account_key`).
    StorageKey,
    /// The `AZURE_*` environment variables, then the managed identity.
    Default,
}

/// The keys of an object-store connection. Every key is optional: what is not given comes
/// from the environment (`AWS_*`, `AZURE_*`, `GOOGLE_*`) or the machine's identity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudConnection {
    /// `s3`, `azure` (also `adls`, `azure_blob`, `onelake`) or `gcs`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// S3: the bucket's region.
    pub region: Option<String>,
    /// S3 or Azure: a custom endpoint (S3-compatible stores, emulators).
    pub endpoint: Option<String>,
    /// S3: the access key.
    pub access_key_id: Option<String>,
    /// S3: its secret.
    pub secret_access_key: Option<String>,
    /// S3: a session token for temporary credentials.
    pub session_token: Option<String>,
    /// S3: address buckets as `bucket.endpoint` rather than `endpoint/bucket`.
    pub virtual_hosted_style: Option<bool>,
    /// Plain `http://` endpoints (emulators on loopback); refused unless set.
    pub allow_http: Option<bool>,
    /// Azure: the storage account (otherwise from the URL).
    #[serde(alias = "account_name")]
    pub account: Option<String>,
    /// Azure: the account key.
    #[serde(alias = "storage_account_key")]
    pub access_key: Option<String>,
    /// Azure: a SAS token.
    pub sas_token: Option<String>,
    /// Azure service principal: tenant.
    pub tenant_id: Option<String>,
    /// Azure service principal: client.
    pub client_id: Option<String>,
    /// Azure service principal: secret.
    pub client_secret: Option<String>,
    /// Azure: how to sign in.
    pub credential: Option<AzureCredential>,
    /// Azure: the Azurite emulator's well-known account and key, at `endpoint` (its blob
    /// URL, `http://127.0.0.1:10000/devstoreaccount1`) or at `AZURITE_BLOB_STORAGE_URL`.
    pub use_emulator: Option<bool>,
    /// GCS: a service account key file.
    pub service_account_path: Option<String>,
    /// GCS: a service account key, as JSON.
    pub service_account_key: Option<String>,
}

/// Azurite's well-known account and key (public: every emulator has them).
const EMULATOR_ACCOUNT: &str = "devstoreaccount1";
const EMULATOR_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Requests object_store retries itself before a failure reaches the flow, which retries
/// the whole attempt with its own backoff: a few quick retries here, not ten over three
/// minutes, so an unreachable endpoint is reported soon.
fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        retry_timeout: std::time::Duration::from_secs(60),
        ..RetryConfig::default()
    }
}

/// The keys that belong to one cloud only, for "applies to … only" problems.
const S3_KEYS: &[&str] = &[
    "region",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "virtual_hosted_style",
];
const AZURE_KEYS: &[&str] = &[
    "account",
    "access_key",
    "sas_token",
    "tenant_id",
    "client_id",
    "client_secret",
    "credential",
    "use_emulator",
];
const GCS_KEYS: &[&str] = &["service_account_path", "service_account_key"];

impl CloudConnection {
    /// The connection `name` under `connections:`, parsed; problems name it.
    ///
    /// # Errors
    /// An unknown key or a value of the wrong type.
    pub fn from_value(value: &Value, name: &str) -> Result<CloudConnection, ConfigProblem> {
        parse_connection(value, &format!("connection `{name}`"))
    }

    fn set_keys(&self) -> Vec<&'static str> {
        let set = [
            ("region", self.region.is_some()),
            ("access_key_id", self.access_key_id.is_some()),
            ("secret_access_key", self.secret_access_key.is_some()),
            ("session_token", self.session_token.is_some()),
            ("virtual_hosted_style", self.virtual_hosted_style.is_some()),
            ("account", self.account.is_some()),
            ("access_key", self.access_key.is_some()),
            ("sas_token", self.sas_token.is_some()),
            ("tenant_id", self.tenant_id.is_some()),
            ("client_id", self.client_id.is_some()),
            ("client_secret", self.client_secret.is_some()),
            ("credential", self.credential.is_some()),
            ("use_emulator", self.use_emulator.is_some()),
            ("service_account_path", self.service_account_path.is_some()),
            ("service_account_key", self.service_account_key.is_some()),
        ];
        set.into_iter()
            .filter(|(_, is_set)| *is_set)
            .map(|(key, _)| key)
            .collect()
    }

    /// Checks that the connection is for `url`'s cloud and sets only that cloud's keys.
    ///
    /// # Errors
    /// A `type` of another cloud, or a key of another cloud.
    pub fn check(&self, url: &ObjectUrl) -> Result<(), ConfigProblem> {
        if let Some(kind) = &self.kind {
            match Cloud::from_type(kind) {
                Some(cloud) if cloud == url.cloud => {}
                Some(cloud) => {
                    return Err(ConfigProblem::key(
                        "connection",
                        format!(
                            "is a {} connection and `{}` is on {}",
                            cloud.name(),
                            url.place(),
                            url.cloud.name()
                        ),
                    )
                    .hint(format!("name a `type: {}` connection", url.cloud.name())));
                }
                None => {
                    return Err(ConfigProblem::key(
                        "connection",
                        format!("`type: {kind}` is not an object store connection"),
                    )
                    .hint("use `type: s3`, `type: azure` or `type: gcs`"));
                }
            }
        }
        let (own, others): (&[&str], [(&str, &[&str]); 2]) = match url.cloud {
            Cloud::S3 => (S3_KEYS, [("azure", AZURE_KEYS), ("gcs", GCS_KEYS)]),
            Cloud::Azure => (AZURE_KEYS, [("s3", S3_KEYS), ("gcs", GCS_KEYS)]),
            Cloud::Gcs => (GCS_KEYS, [("s3", S3_KEYS), ("azure", AZURE_KEYS)]),
        };
        for key in self.set_keys() {
            if own.contains(&key) {
                continue;
            }
            if let Some((cloud, _)) = others.iter().find(|(_, keys)| keys.contains(&key)) {
                return Err(ConfigProblem::key(
                    key,
                    format!("applies to {cloud} connections only"),
                )
                .hint(format!("`{}` is on {}", url.place(), url.cloud.name())));
            }
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            return Err(ConfigProblem::key(
                "secret_access_key",
                "`access_key_id` and `secret_access_key` go together",
            )
            .hint("set both, or neither to use the AWS credential chain"));
        }
        match self.credential {
            Some(AzureCredential::ServicePrincipal)
                if self.tenant_id.is_none()
                    || self.client_id.is_none()
                    || self.client_secret.is_none() =>
            {
                Err(ConfigProblem::key(
                    "credential",
                    "service_principal needs `tenant_id`, `client_id` and `client_secret`",
                ))
            }
            Some(AzureCredential::StorageKey) if self.access_key.is_none() => Err(
                ConfigProblem::key("credential", "storage_key needs `storage_account_key`"),
            ),
            _ => Ok(()),
        }
    }

    /// The store `url` lives in, signed in as this connection says.
    ///
    /// # Errors
    /// The builder refused the keys (a bad region or endpoint, a missing account).
    pub fn open(&self, url: &ObjectUrl) -> Result<Arc<dyn ObjectStore>, ConfigProblem> {
        self.check(url)?;
        let refused = |e: object_store::Error| {
            ConfigProblem::key("path", format!("cannot open `{}`: {e}", url.place()))
                .hint("check the URL and its connection's keys")
        };
        let allow_http = self.allow_http.unwrap_or(false);
        Ok(match url.cloud {
            Cloud::S3 => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_url(url.url.as_str())
                    .with_allow_http(allow_http)
                    .with_retry(retry());
                if let Some(region) = &self.region {
                    builder = builder.with_region(region);
                }
                if let Some(endpoint) = &self.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let (Some(id), Some(secret)) = (&self.access_key_id, &self.secret_access_key) {
                    builder = builder
                        .with_access_key_id(id)
                        .with_secret_access_key(secret);
                }
                if let Some(token) = &self.session_token {
                    builder = builder.with_token(token);
                }
                if let Some(virtual_hosted) = self.virtual_hosted_style {
                    builder = builder.with_virtual_hosted_style_request(virtual_hosted);
                }
                Arc::new(builder.build().map_err(refused)?)
            }
            Cloud::Azure => {
                let mut builder = MicrosoftAzureBuilder::from_env()
                    .with_url(url.url.as_str())
                    .with_allow_http(allow_http)
                    .with_retry(retry());
                if let Some(account) = &self.account {
                    builder = builder.with_account(account);
                }
                if let Some(key) = &self.access_key {
                    builder = builder.with_access_key(key);
                }
                if let Some(sas) = &self.sas_token {
                    builder = builder.with_config(AzureConfigKey::SasKey, sas);
                }
                if let Some(tenant) = &self.tenant_id {
                    builder = builder.with_tenant_id(tenant);
                }
                if let Some(client) = &self.client_id {
                    builder = builder.with_client_id(client);
                }
                if let Some(secret) = &self.client_secret {
                    builder = builder.with_client_secret(secret);
                }
                if let Some(credential) = self.credential {
                    builder = builder.with_credential_type(match credential {
                        AzureCredential::ManagedIdentity => "managed_identity",
                        AzureCredential::ServicePrincipal => "client_secret",
                        AzureCredential::StorageKey => "access_key",
                        AzureCredential::Default => "auto",
                    });
                }
                match (self.use_emulator.unwrap_or(false), &self.endpoint) {
                    // Azurite on a port of its own: its well-known account and key there.
                    (true, Some(endpoint)) => {
                        builder = builder
                            .with_account(self.account.as_deref().unwrap_or(EMULATOR_ACCOUNT))
                            .with_access_key(
                                self.access_key.as_deref().unwrap_or(EMULATOR_ACCOUNT_KEY),
                            )
                            .with_endpoint(endpoint.clone())
                            .with_allow_http(true);
                    }
                    (true, None) => builder = builder.with_use_emulator(true),
                    (false, Some(endpoint)) => builder = builder.with_endpoint(endpoint.clone()),
                    (false, None) => {}
                }
                Arc::new(builder.build().map_err(refused)?)
            }
            Cloud::Gcs => {
                let mut builder = GoogleCloudStorageBuilder::from_env()
                    .with_url(url.url.as_str())
                    .with_retry(retry());
                if let Some(path) = &self.service_account_path {
                    builder = builder.with_service_account_path(path);
                }
                if let Some(key) = &self.service_account_key {
                    builder = builder.with_service_account_key(key);
                }
                Arc::new(builder.build().map_err(refused)?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(yaml: &str) -> CloudConnection {
        CloudConnection::from_value(&serde_yaml::from_str(yaml).unwrap(), "lake").unwrap()
    }

    fn url(text: &str) -> ObjectUrl {
        ObjectUrl::parse(text).unwrap().unwrap()
    }

    #[test]
    fn an_s3_connection_with_keys_and_an_endpoint_opens() {
        let lake = connection(
            "{type: s3, region: eu-west-1, endpoint: 'http://127.0.0.1:9000', access_key_id: a, secret_access_key: b, allow_http: true}",
        );
        let store = lake.open(&url("s3://bucket/raw")).unwrap();
        assert!(store.to_string().contains("bucket"), "{store}");
    }

    #[test]
    fn keys_of_another_cloud_and_half_credentials_are_refused_by_name() {
        let azure_key = connection("{type: s3, storage_account_key: k}");
        let problem = azure_key.open(&url("s3://bucket/raw")).unwrap_err();
        assert_eq!(problem.key.as_deref(), Some("access_key"));
        assert!(problem.message.contains("azure"), "{problem:?}");

        let half = connection("{type: s3, access_key_id: a}");
        let problem = half.open(&url("s3://bucket/raw")).unwrap_err();
        assert_eq!(problem.key.as_deref(), Some("secret_access_key"));

        let wrong_cloud = connection("{type: gcs}");
        let problem = wrong_cloud.open(&url("s3://bucket/raw")).unwrap_err();
        assert!(problem.message.contains("gcs connection"), "{problem:?}");

        let principal = connection("{type: azure, credential: service_principal, client_id: c}");
        let problem = principal.open(&url("az://data/raw")).unwrap_err();
        assert!(problem.message.contains("tenant_id"), "{problem:?}");
    }

    #[test]
    fn unknown_keys_name_the_connection() {
        let value = serde_yaml::from_str("{type: s3, regoin: x}").unwrap();
        let problem = CloudConnection::from_value(&value, "lake").unwrap_err();
        assert!(
            problem.message.contains("connection `lake`") && problem.message.contains("regoin"),
            "{problem:?}"
        );
    }

    #[test]
    fn an_azure_emulator_connection_and_a_gcs_key_open() {
        let azurite = connection(
            "{type: azure, use_emulator: true, endpoint: 'http://127.0.0.1:10000/devstoreaccount1', allow_http: true}",
        );
        azurite.open(&url("az://data/raw")).unwrap();
        let gcs = connection(
            "{type: gcs, service_account_key: '{\"private_key\": \"x\", \"client_email\": \"a@b\", \"private_key_id\": \"1\"}'}",
        );
        // The key is parsed when the store is built: a malformed one is refused here.
        let problem = gcs.open(&url("gs://bucket/raw")).unwrap_err();
        assert_eq!(problem.key.as_deref(), Some("path"));
    }
}
