//! Entra ID (Azure AD) access tokens for SQL Server, from the documented endpoints: the
//! OAuth2 client-credentials flow, the managed-identity endpoints (App Service / Container
//! Apps `IDENTITY_ENDPOINT`, else the VM metadata service) and the Azure CLI. Tokens are
//! cached per connection and refreshed five minutes before they expire.
//!
//! Written against the endpoints rather than the Azure SDK: `azure_identity` would bring an
//! async HTTP stack (reqwest, hyper) into every build for four small requests; ureq (blocking,
//! on a blocking thread) with the system TLS that tiberius already links is enough.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hygge_runtime::contract::{ConnectorError, ErrorKind};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::auth::AuthConfig;
use super::config::ConnectionSettings;

/// The resource SQL Server tokens are issued for.
const RESOURCE: &str = "https://database.windows.net/";
/// Refresh this long before expiry.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// How long the managed-identity probe of `auth: default` waits for the metadata service.
const IMDS_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Where tokens come from. Real runs read it from the environment once; tests point it at
/// local servers and a stand-in `az`.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The Entra ID authority (`AZURE_AUTHORITY_HOST`, default login.microsoftonline.com).
    pub authority: String,
    /// App Service / Container Apps identity endpoint and its secret header
    /// (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).
    pub identity_endpoint: Option<(String, String)>,
    /// The VM metadata service (`AZURE_POD_IDENTITY_AUTHORITY_HOST`, default 169.254.169.254).
    pub imds: String,
    /// The Azure CLI program.
    pub az: String,
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, for `auth: default`.
    pub environment_principal: (Option<String>, Option<String>, Option<String>),
}

impl Endpoints {
    /// The endpoints named by the environment, with Azure's defaults.
    pub fn from_env() -> Endpoints {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Endpoints {
            authority: env("AZURE_AUTHORITY_HOST")
                .unwrap_or_else(|| "https://login.microsoftonline.com".to_string()),
            identity_endpoint: env("IDENTITY_ENDPOINT").zip(env("IDENTITY_HEADER")),
            imds: env("AZURE_POD_IDENTITY_AUTHORITY_HOST")
                .unwrap_or_else(|| "http://169.254.169.254".to_string()),
            az: "az".to_string(),
            environment_principal: (
                env("AZURE_TENANT_ID"),
                env("AZURE_CLIENT_ID"),
                env("AZURE_CLIENT_SECRET"),
            ),
        }
    }
}

/// Gets and caches tokens for one connection's token-based auth method.
#[derive(Clone)]
pub struct TokenSource {
    auth: AuthConfig,
    endpoints: Arc<Endpoints>,
    cache: Arc<Mutex<Option<(String, Instant)>>>,
}

impl TokenSource {
    /// A source for `auth`; `None` for SQL logins and fixed tokens, which need none.
    pub fn for_auth(auth: &AuthConfig) -> Option<TokenSource> {
        Self::with_endpoints(auth, Endpoints::from_env())
    }

    /// A source for `auth` that asks `endpoints`.
    pub fn with_endpoints(auth: &AuthConfig, endpoints: Endpoints) -> Option<TokenSource> {
        match auth {
            AuthConfig::Sql { .. } | AuthConfig::AccessToken(_) => None,
            other => Some(TokenSource {
                auth: other.clone(),
                endpoints: Arc::new(endpoints),
                cache: Arc::default(),
            }),
        }
    }

    /// A valid token, from the cache while it has more than five minutes left.
    ///
    /// # Errors
    /// An auth error saying which method failed, why, and what to try.
    pub async fn token(&self, settings: &ConnectionSettings) -> Result<String, ConnectorError> {
        self.token_for(&settings.label, &settings.host).await
    }

    async fn token_for(&self, label: &str, host: &str) -> Result<String, ConnectorError> {
        let mut cache = self.cache.lock().await;
        if let Some((token, expires)) = cache.as_ref()
            && *expires > Instant::now() + REFRESH_MARGIN
        {
            return Ok(token.clone());
        }
        let auth = self.auth.clone();
        let endpoints = self.endpoints.clone();
        let fresh = tokio::task::spawn_blocking(move || fetch(&auth, &endpoints))
            .await
            .map_err(|e| ConnectorError::internal(format!("token task failed: {e}")))?
            .map_err(|e| e.with_context(format!("connection {label} (server {host})")))?;
        let token = fresh.access_token.clone();
        *cache = Some((fresh.access_token, Instant::now() + fresh.expires_in));
        Ok(token)
    }
}

/// A token and how long it lives.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The bearer token.
    pub access_token: String,
    /// Time to expiry from now.
    pub expires_in: Duration,
}

fn auth_error(message: String, hint: &str) -> ConnectorError {
    ConnectorError::new(ErrorKind::Auth, message).with_context(hint.to_string())
}

/// Fetches a token with the method, blocking.
fn fetch(auth: &AuthConfig, at: &Endpoints) -> Result<Token, ConnectorError> {
    match auth {
        AuthConfig::ServicePrincipal {
            tenant_id,
            client_id,
            client_secret,
        } => service_principal(at, tenant_id, client_id, client_secret),
        AuthConfig::ManagedIdentity { client_id } => {
            managed_identity(at, client_id.as_deref(), None)
        }
        AuthConfig::AzureCli => azure_cli(at),
        AuthConfig::Default => default_chain(at),
        AuthConfig::Sql { .. } | AuthConfig::AccessToken(_) => Err(ConnectorError::internal(
            "this auth method needs no token fetch",
        )),
    }
}

/// Service principal from `AZURE_TENANT_ID`/`AZURE_CLIENT_ID`/`AZURE_CLIENT_SECRET`, then
/// managed identity, then the Azure CLI; every failure is reported if all fail.
fn default_chain(at: &Endpoints) -> Result<Token, ConnectorError> {
    let mut failures = Vec::new();
    let (tenant, client, secret) = &at.environment_principal;
    match (tenant, client, secret) {
        (Some(tenant), Some(client), Some(secret)) => {
            match service_principal(at, tenant, client, secret) {
                Ok(token) => return Ok(token),
                Err(e) => failures.push(format!("service principal from the environment: {}", e.message())),
            }
        }
        _ => failures.push(
            "service principal: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are not all set"
                .to_string(),
        ),
    }
    match managed_identity(at, client.as_deref(), Some(IMDS_PROBE_TIMEOUT)) {
        Ok(token) => return Ok(token),
        Err(e) => failures.push(format!("managed identity: {}", e.message())),
    }
    match azure_cli(at) {
        Ok(token) => return Ok(token),
        Err(e) => failures.push(format!("azure cli: {}", e.message())),
    }
    Err(auth_error(
        format!("no Azure credential worked — {}", failures.join("; ")),
        "set `auth:` explicitly (sql, service_principal, managed_identity, azure_cli, access_token), or run `az login`",
    ))
}

fn agent(timeout: Option<Duration>) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::NativeTls)
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(timeout.unwrap_or(Duration::from_secs(30))))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Reads a token response body; `expires_in` may be a number or a string of one.
fn parse_token_json(body: &str) -> Result<Token, String> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(u64),
        Text(String),
    }
    #[derive(Deserialize)]
    struct Response {
        access_token: Option<String>,
        expires_in: Option<Seconds>,
        error: Option<String>,
        error_description: Option<String>,
    }
    let response: Response =
        serde_json::from_str(body).map_err(|e| format!("unreadable token response: {e}"))?;
    if let Some(error) = response.error {
        return Err(format!(
            "{error}: {}",
            response
                .error_description
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or_default()
        ));
    }
    let access_token = response
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or("the token response has no access_token")?;
    let seconds = match response.expires_in {
        Some(Seconds::Number(n)) => n,
        Some(Seconds::Text(t)) => t.parse().unwrap_or(3600),
        None => 3600,
    };
    Ok(Token {
        access_token,
        expires_in: Duration::from_secs(seconds),
    })
}

fn service_principal(
    at: &Endpoints,
    tenant: &str,
    client_id: &str,
    secret: &str,
) -> Result<Token, ConnectorError> {
    let url = format!(
        "{}/{tenant}/oauth2/v2.0/token",
        at.authority.trim_end_matches('/')
    );
    let scope = format!("{RESOURCE}.default");
    let response = agent(None).post(&url).send_form([
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
        ("scope", scope.as_str()),
    ]);
    read_response(response, "service principal", &url).map_err(|message| {
        auth_error(
            message,
            "check tenant_id, client_id and client_secret, and that the app is a user of the database",
        )
    })
}

fn managed_identity(
    at: &Endpoints,
    client_id: Option<&str>,
    timeout: Option<Duration>,
) -> Result<Token, ConnectorError> {
    let agent = agent(timeout);
    let hint = "run on an Azure resource with a managed identity that is a user of the database";
    let (url, request) = match &at.identity_endpoint {
        Some((endpoint, header)) => {
            let url = endpoint.clone();
            let mut request = agent
                .get(endpoint)
                .query("api-version", "2019-08-01")
                .query("resource", RESOURCE)
                .header("X-IDENTITY-HEADER", header);
            if let Some(id) = client_id {
                request = request.query("client_id", id);
            }
            (url, request)
        }
        None => {
            let url = format!(
                "{}/metadata/identity/oauth2/token",
                at.imds.trim_end_matches('/')
            );
            let mut request = agent
                .get(&url)
                .query("api-version", "2018-02-01")
                .query("resource", RESOURCE)
                .header("Metadata", "true");
            if let Some(id) = client_id {
                request = request.query("client_id", id);
            }
            (url, request)
        }
    };
    read_response(request.call(), "managed identity", &url).map_err(|m| auth_error(m, hint))
}

fn read_response(
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    method: &str,
    url: &str,
) -> Result<Token, String> {
    let mut response = response.map_err(|e| format!("{method}: cannot reach {url}: {e}"))?;
    let status = response.status();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{method}: reading the answer of {url}: {e}"))?;
    match parse_token_json(&body) {
        Ok(token) if status.is_success() => Ok(token),
        Ok(_) => Err(format!("{method}: {url} answered {status}")),
        Err(why) => Err(format!("{method}: {url} answered {status}: {why}")),
    }
}

fn azure_cli(at: &Endpoints) -> Result<Token, ConnectorError> {
    let hint = "install the Azure CLI and run `az login`, or choose another `auth:`";
    let output = Command::new(&at.az)
        .args([
            "account",
            "get-access-token",
            "--resource",
            RESOURCE,
            "--output",
            "json",
        ])
        .output()
        .map_err(|e| auth_error(format!("cannot run `az`: {e}"), hint))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(auth_error(
            format!("`az account get-access-token` failed: {}", stderr.trim()),
            hint,
        ));
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct CliToken {
        access_token: String,
        #[serde(rename = "expires_on")]
        expires_on: Option<u64>,
    }
    let parsed: CliToken = serde_json::from_slice(&output.stdout)
        .map_err(|e| auth_error(format!("unreadable `az` output: {e}"), hint))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let expires_in = parsed.expires_on.map_or(Duration::from_secs(600), |at| {
        Duration::from_secs(at.saturating_sub(now))
    });
    Ok(Token {
        access_token: parsed.access_token,
        expires_in,
    })
}

#[cfg(test)]
mod tests;
