//! User components as connectors: `type: wasm` with `component: path/to/file.wasm`, or a
//! name from hygge.yml `components: {NAME: path}` used as `type: NAME`. The grant is
//! explicit in the YAML, in an `allow:` block; nothing else is reachable.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_yaml::Value;

use super::engine::ComponentSource;
use super::home::WasmHomeSpec;
use super::http_grant::HttpOrigin;
use super::permissions::{Permissions, SandboxLimits};
use super::store::WasmStoreSpec;
use crate::contract::{ConfigProblem, Connector, ConnectorConfig, HomeSpec, Place, StoreSpec};

/// The config of a user component's home or store.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentConfig {
    /// The `.wasm` file (relative to the project folder). Only with `type: wasm`.
    component: Option<String>,
    /// What the component may touch.
    #[serde(default)]
    allow: Allow,
    /// Lets `allow:` name `/` or a folder above the project (which holds the project, its
    /// secrets in `.env` included). Off by default.
    #[serde(default)]
    allow_outside_project: bool,
    /// Memory cap in MiB (default 512).
    memory_limit: Option<usize>,
    /// Seconds one call may take (default 60).
    call_timeout: Option<u64>,
    /// MiB one HTTP response body may hold (default 64).
    response_limit: Option<u64>,
    /// Seconds one HTTP request may take, its response body included (default 30).
    request_timeout: Option<u64>,
    /// Rows per batch.
    batch_size: Option<usize>,
    /// Stores only: the destination folder the host publishes. For each run the host
    /// stages it and grants the component that staging folder alone, read-write, at this
    /// folder's own path; on commit the host swaps it in with the watermark state.
    publish: Option<String>,
    /// Handed to the component as JSON, unchanged.
    #[serde(default)]
    config: Value,
}

/// An `allow:` block. Each folder is mounted at its own absolute path, so the component's
/// config names it as the host does.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Allow {
    /// Folders the component may read.
    #[serde(default)]
    read: Vec<String>,
    /// Folders the component may read and write.
    #[serde(default)]
    write: Vec<String>,
    /// Origins (`https://api.example.com`, `http://127.0.0.1:8080/v1/`) the component may
    /// send HTTP requests to.
    #[serde(default)]
    http: Vec<String>,
}

/// `type: wasm`: any component file, named in the config.
pub struct WasmConnector;

/// The `wasm` connector.
pub static WASM_CONNECTOR: WasmConnector = WasmConnector;

/// A component registered by name in hygge.yml `components:`.
pub struct NamedComponent {
    name: &'static str,
    path: PathBuf,
}

impl NamedComponent {
    /// A connector called `name` running the component at `path`.
    pub fn new(name: &str, path: PathBuf) -> NamedComponent {
        NamedComponent {
            name: Box::leak(name.to_string().into_boxed_str()),
            path,
        }
    }
}

fn build(
    config: &ConnectorConfig<'_>,
    fixed: Option<&Path>,
    name: &str,
) -> Result<Spec, ConfigProblem> {
    let parsed: ComponentConfig = config.parse()?;
    let path = match (fixed, &parsed.component) {
        (Some(_), Some(_)) => {
            return Err(ConfigProblem::key(
                "component",
                "is set in hygge.yml `components:` already",
            )
            .hint("remove it here"));
        }
        (Some(path), None) => path.to_path_buf(),
        (None, Some(file)) => config.project_dir.join(file),
        (None, None) => {
            return Err(
                ConfigProblem::key("component", "is required with type: wasm")
                    .hint("component: path/to/connector.wasm"),
            );
        }
    };
    let bytes = std::fs::read(&path).map_err(|e| {
        ConfigProblem::key("component", format!("cannot read {}: {e}", path.display()))
            .hint("build the component, or fix the path")
    })?;
    if !parsed.allow_outside_project {
        let project = Place::path(config.project_dir);
        for (list, dirs) in [("read", &parsed.allow.read), ("write", &parsed.allow.write)] {
            for dir in dirs {
                let granted = Place::path(&absolute(config.project_dir, dir));
                if let (Place::Path(project), Place::Path(granted)) = (&project, &granted)
                    && project.starts_with(granted)
                    && project != granted
                {
                    return Err(ConfigProblem::key(
                        format!("allow.{list}"),
                        format!(
                            "`{dir}` ({}) holds the whole project folder and more",
                            granted.display()
                        ),
                    )
                    .hint("grant only the folders the component needs, or set `allow_outside_project: true` if you mean it"));
                }
            }
        }
    }
    let mut permissions = Permissions::default();
    for dir in &parsed.allow.read {
        let host = absolute(config.project_dir, dir);
        let guest = host.to_string_lossy().into_owned();
        permissions = permissions.with_read_dir(host, guest);
    }
    for dir in &parsed.allow.write {
        let host = absolute(config.project_dir, dir);
        let guest = host.to_string_lossy().into_owned();
        permissions = permissions.with_write_dir(host, guest);
    }
    for (i, entry) in parsed.allow.http.iter().enumerate() {
        let origin = HttpOrigin::parse(entry).map_err(|e| {
            ConfigProblem::key(format!("allow.http[{i}]"), e)
                .hint("an origin such as https://api.example.com or http://127.0.0.1:8080/v1/")
        })?;
        permissions = permissions.with_http(origin);
    }
    let permissions = SandboxLimits {
        memory_limit: parsed.memory_limit,
        call_timeout: parsed.call_timeout,
        response_limit: parsed.response_limit,
        request_timeout: parsed.request_timeout,
    }
    .apply(permissions)?;
    let json = serde_json::to_string(&parsed.config)
        .map_err(|e| ConfigProblem::key("config", format!("cannot be passed as JSON: {e}")))?;
    let json = if parsed.config.is_null() {
        "{}".to_string()
    } else {
        json
    };
    let source = ComponentSource::new(name, bytes);
    let describe = format!("{name} {} (wasm)", path.display());
    let publish = parsed
        .publish
        .as_deref()
        .map(|dir| absolute(config.project_dir, dir));
    Ok(Spec {
        source,
        permissions,
        json,
        describe,
        batch_size: parsed.batch_size,
        publish,
    })
}

/// A `type: wasm` component is named after its file.
fn file_stem_name(config: &ConnectorConfig<'_>) -> String {
    config
        .value
        .get("component")
        .and_then(Value::as_str)
        .and_then(|c| Path::new(c).file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "wasm".into())
}

fn absolute(project: &Path, dir: &str) -> PathBuf {
    let path = project.join(dir);
    std::path::absolute(&path).unwrap_or(path)
}

struct Spec {
    source: Arc<ComponentSource>,
    permissions: Permissions,
    json: String,
    describe: String,
    batch_size: Option<usize>,
    publish: Option<PathBuf>,
}

fn home(
    config: &ConnectorConfig<'_>,
    fixed: Option<&Path>,
    name: &str,
) -> Result<Arc<dyn HomeSpec>, ConfigProblem> {
    let s = build(config, fixed, name)?;
    if s.publish.is_some() {
        return Err(ConfigProblem::key(
            "publish",
            "is for stores: a home reads what `allow.read` grants",
        ));
    }
    Ok(Arc::new(
        WasmHomeSpec::new(s.source, s.permissions, s.json, s.describe)
            .with_batch_size(s.batch_size),
    ))
}

fn store(
    config: &ConnectorConfig<'_>,
    fixed: Option<&Path>,
    name: &str,
) -> Result<Arc<dyn StoreSpec>, ConfigProblem> {
    let s = build(config, fixed, name)?;
    let spec = WasmStoreSpec::new(s.source, s.permissions, s.json, s.describe)
        .with_batch_size(s.batch_size);
    Ok(Arc::new(match s.publish {
        Some(folder) => {
            let guest = folder.to_string_lossy().into_owned();
            spec.with_staged_folder(folder, guest)
        }
        None => spec,
    }))
}

impl Connector for WasmConnector {
    fn name(&self) -> &'static str {
        "wasm"
    }

    fn description(&self) -> &'static str {
        "a Wasm component file (`component:`), sandboxed, with an explicit `allow:` grant"
    }

    fn home(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn HomeSpec>, ConfigProblem>> {
        Some(home(config, None, &file_stem_name(config)))
    }

    fn store(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn StoreSpec>, ConfigProblem>> {
        Some(store(config, None, &file_stem_name(config)))
    }
}

impl Connector for NamedComponent {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        "a Wasm component named in hygge.yml `components:`"
    }

    fn home(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn HomeSpec>, ConfigProblem>> {
        Some(home(config, Some(&self.path), self.name))
    }

    fn store(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn StoreSpec>, ConfigProblem>> {
        Some(store(config, Some(&self.path), self.name))
    }
}
