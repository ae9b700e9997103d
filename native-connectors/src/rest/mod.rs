//! `type: rest_api` (alias `rest`): a REST API home, run as the built-in sandboxed component
//! `components/rest`. The host checks the keys when the project loads (they are the
//! `hygge-rest-config` crate the component reads too), fills in `{flow}` and `{entity}`, and
//! grants the component the origin of `base_url`, and of the OAuth token URL when there is
//! one, and nothing else: no folders, no environment, no other host.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hygge_rest_config::{Auth, RestConfig};
use hygge_runtime::contract::{ConfigProblem, Connector, ConnectorConfig, HomeSpec};
use hygge_runtime::wasm::{ComponentSource, HttpOrigin, Permissions, SandboxLimits, WasmHomeSpec};

/// The REST component, built from `components/rest` by build.rs.
pub static REST_COMPONENT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/hygge_rest_component.wasm"));

/// A call into the component may wait out retries (each wait at most 60 s), so it gets more
/// time than a file component's 60 s.
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// The component source, shared by every flow (compiled once per process).
fn source() -> Arc<ComponentSource> {
    static SOURCE: OnceLock<Arc<ComponentSource>> = OnceLock::new();
    SOURCE
        .get_or_init(|| ComponentSource::new("rest_api", REST_COMPONENT))
        .clone()
}

/// The REST connector under one of its names.
pub struct RestConnector {
    name: &'static str,
}

/// `type: rest_api`.
pub static REST_API: RestConnector = RestConnector { name: "rest_api" };
/// `type: rest`, the same connector.
pub static REST: RestConnector = RestConnector { name: "rest" };

impl Connector for RestConnector {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        "a REST API's JSON pages, read by a sandboxed Wasm component that reaches only base_url's origin"
    }

    fn home(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn HomeSpec>, ConfigProblem>> {
        Some(home(config).map(|spec| Arc::new(spec) as Arc<dyn HomeSpec>))
    }
}

/// The origin of `url` at `key`, refusing credentials in it.
fn origin(key: &str, url: &str) -> Result<HttpOrigin, ConfigProblem> {
    if url
        .split_once("://")
        .is_some_and(|(_, rest)| rest.split('/').next().is_some_and(|a| a.contains('@')))
    {
        return Err(ConfigProblem::key(key, "cannot hold a user or password")
            .hint("put credentials under `auth:` (basic, bearer, api_key or oauth2_client_credentials)"));
    }
    HttpOrigin::origin_of(url).map_err(|e| ConfigProblem::key(key, e))
}

/// A validated REST home.
pub fn home(config: &ConnectorConfig<'_>) -> Result<WasmHomeSpec, ConfigProblem> {
    let mut parsed: RestConfig = config.parse()?;
    parsed
        .check()
        .map_err(|problem| ConfigProblem::key(problem.key, problem.message))?;
    parsed.endpoint = parsed
        .endpoint
        .replace("{entity}", config.entity)
        .replace("{flow}", config.flow);
    let base = origin("base_url", &parsed.base_url)?;
    let mut permissions = Permissions::default()
        .with_call_timeout(DEFAULT_CALL_TIMEOUT)
        .with_http(base.clone());
    if parsed.endpoint.contains("://") {
        let endpoint = origin("endpoint", &parsed.endpoint)?;
        if endpoint != base {
            return Err(ConfigProblem::key(
                "endpoint",
                format!("`{}` is on another origin than base_url", parsed.endpoint),
            )
            .hint("the component may reach only base_url's origin; write the endpoint as a path under it"));
        }
    }
    if let Some(Auth::Oauth2ClientCredentials { token_url, .. }) = &parsed.auth {
        permissions = permissions.with_http(origin("auth.token_url", token_url)?);
    }
    let permissions = SandboxLimits {
        memory_limit: parsed.memory_limit,
        call_timeout: parsed.call_timeout,
        response_limit: parsed.response_limit,
        request_timeout: parsed.request_timeout,
    }
    .apply(permissions)?;
    let json = serde_json::to_string(&parsed)
        .map_err(|e| ConfigProblem::key("home", format!("cannot be passed on as JSON: {e}")))?;
    let shown = format!(
        "{}/{}",
        parsed.base_url.trim_end_matches('/'),
        parsed.endpoint.trim_start_matches('/')
    );
    let describe = format!(
        "rest_api {} (wasm)",
        shown.split('?').next().unwrap_or(&shown)
    );
    Ok(WasmHomeSpec::new(source(), permissions, json, describe).with_batch_size(parsed.batch_size))
}

#[cfg(test)]
mod tests;
