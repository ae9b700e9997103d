//! Maps `type:` names to connectors. A connector is its own folder plus one line in a
//! static list; this module never names one.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use super::{Home, Place, RunScope, Store};
use crate::config::diagnostics::did_you_mean;

/// A connector: a name, a description, and the homes and stores it builds from config.
///
/// Validation is pure (no I/O): `home`/`store` turn a config into a spec or a problem.
/// Anything that needs the outside world happens in the spec's `build` or `preflight`.
pub trait Connector: Send + Sync {
    /// The `type:` name users write.
    fn name(&self) -> &'static str;

    /// One line for `hygge` listings and errors.
    fn description(&self) -> &'static str;

    /// A validated home, or `None` when this connector cannot be a home.
    fn home(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn HomeSpec>, ConfigProblem>> {
        let _ = config;
        None
    }

    /// A validated store, or `None` when this connector cannot be a store.
    fn store(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn StoreSpec>, ConfigProblem>> {
        let _ = config;
        None
    }

    /// Tries a connection from hygge.yml `connections:` whose type is this connector, for
    /// `hygge debug`: `Ok` with what was reached, `Err` with what failed and what to try.
    /// `None` when the connector has no connections to try. Blocking. Relative paths in the
    /// connection are taken from `project_dir`.
    fn check_connection(
        &self,
        name: &str,
        connection: &Value,
        project_dir: &Path,
    ) -> Option<Result<String, String>> {
        let _ = (name, connection, project_dir);
        None
    }
}

/// A validated home configuration, ready to build a fresh [`Home`] for every attempt.
pub trait HomeSpec: Send + Sync {
    /// A new home for one attempt of a flow of the run `run`.
    fn build(&self, run: &RunScope) -> Box<dyn Home>;
    /// One line for dry runs and logs, e.g. `parquet data/source/users`.
    fn describe(&self) -> String;
    /// The rows per batch configured on the home, if any.
    fn batch_size(&self) -> Option<usize> {
        None
    }
    /// What a sandboxed home is granted, for `hygge debug`; `None` for native homes.
    fn sandbox(&self) -> Option<String> {
        None
    }

    /// The component behind a sandboxed home, so `hygge debug` can ask what it needs.
    fn component(&self) -> Option<Arc<crate::wasm::ComponentSource>> {
        None
    }
    /// Environment checks for `hygge debug` (does the path exist?); problems as text.
    fn preflight(&self) -> Vec<String> {
        Vec::new()
    }
    /// What the home reads, so that a run refuses a store that overlaps it; `None` when
    /// the connector cannot say.
    fn place(&self) -> Option<Place> {
        None
    }
    /// The label of the database connection this side logs in to (a name under
    /// `connections:`, or `server/database` when written inline), for `hygge debug`.
    fn connection_label(&self) -> Option<String> {
        None
    }
    /// Logs in to that connection and tries it, for `hygge debug`: `Ok` with what was
    /// reached, `Err` with what failed. Blocking.
    fn check_connection(&self) -> Option<Result<String, String>> {
        None
    }
}

/// A validated store configuration, ready to build a fresh [`Store`] for every attempt.
pub trait StoreSpec: Send + Sync {
    /// A new store for one attempt of a flow of the run `run`.
    fn build(&self, run: &RunScope) -> Box<dyn Store>;
    /// One line for dry runs and logs, e.g. `parquet out/users (snappy)`.
    fn describe(&self) -> String;
    /// What a sandboxed store is granted, for `hygge debug`; `None` for native stores.
    fn sandbox(&self) -> Option<String> {
        None
    }

    /// The component behind a sandboxed store, so `hygge debug` can ask what it needs.
    fn component(&self) -> Option<Arc<crate::wasm::ComponentSource>> {
        None
    }
    /// Environment checks for `hygge debug` (is the parent writable?); problems as text.
    fn preflight(&self) -> Vec<String> {
        Vec::new()
    }
    /// What the store writes, so that a run refuses it when it overlaps a home or another
    /// store; `None` when the connector cannot say.
    fn place(&self) -> Option<Place> {
        None
    }
    /// The label of the database connection this side logs in to (a name under
    /// `connections:`, or `server/database` when written inline), for `hygge debug`.
    fn connection_label(&self) -> Option<String> {
        None
    }
    /// Logs in to that connection and tries it, for `hygge debug`: `Ok` with what was
    /// reached, `Err` with what failed. Blocking.
    fn check_connection(&self) -> Option<Result<String, String>> {
        None
    }
    /// Where this store keeps watermark state, committed with its data; `None` for a store
    /// that cannot, which an entity with a `watermark` is refused.
    fn state(&self, _run: &RunScope) -> Option<Box<dyn crate::state::StateStore>> {
        None
    }
}

/// Whether a config is being read for a home or a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The source side.
    Home,
    /// The destination side.
    Store,
}

impl Role {
    /// `home` or `store`, as in the YAML.
    pub fn key(self) -> &'static str {
        match self {
            Role::Home => "home",
            Role::Store => "store",
        }
    }
}

/// The resolved (merged, interpolated, templated) config of one home or store, with what
/// a connector needs to interpret it.
#[derive(Debug, Clone, Copy)]
pub struct ConnectorConfig<'a> {
    /// The mapping under `home:` or `store:`, without `type`.
    pub value: &'a Value,
    /// Home or store.
    pub role: Role,
    /// The flow's name.
    pub flow: &'a str,
    /// The entity's name.
    pub entity: &'a str,
    /// The folder holding `hygge.yml`; relative paths are taken from it.
    pub project_dir: &'a Path,
    /// Whether the entity's own file set `path` (taken inside the flow's path; no entity
    /// sub-folder is appended).
    pub entity_sets_path: bool,
    /// Whether the `path` written by the user contained `{entity}`.
    pub path_names_entity: bool,
    /// Whether the flow has real entities (a flow without entities is its own single entity,
    /// and its paths are used as written).
    pub has_entities: bool,
    /// The project's named `connections:`, for connectors that take `connection: NAME`.
    pub connections: &'a BTreeMap<String, Value>,
}

impl ConnectorConfig<'_> {
    /// Deserializes the config into the connector's own typed struct. Unknown keys and type
    /// errors become problems naming the key, with a "did you mean" hint.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigProblem> {
        serde_path_to_error::deserialize(self.value.clone()).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner().to_string();
            let parent = if path == "." { String::new() } else { path };
            ConfigProblem::from_serde(&parent, &inner)
        })
    }

    /// [`ConnectorConfig::parse`] of `own`, the part of the mapping that is the
    /// connector's own once its connection keys are split off.
    pub fn parse_own<T: DeserializeOwned>(&self, own: &Value) -> Result<T, ConfigProblem> {
        ConnectorConfig {
            value: own,
            ..*self
        }
        .parse()
    }
}

/// A problem with a connector's config: the key (relative to `home`/`store`), what is
/// wrong, and what to try. The runtime adds the file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The dotted key inside the home/store mapping, when one is to blame.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to try.
    pub hint: Option<String>,
    /// Whether the connector has no setting named `key` (set where serde says so).
    pub unknown_key: bool,
}

impl ConfigProblem {
    /// A problem with `key`.
    pub fn key(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            key: Some(key.into()),
            message: message.into(),
            hint: None,
            unknown_key: false,
        }
    }

    /// Adds what to try.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `key: message (hint)`, for a one-line report such as `hygge debug`'s.
    pub fn one_line(&self) -> String {
        let key = self
            .key
            .as_ref()
            .map(|k| format!("{k}: "))
            .unwrap_or_default();
        let hint = self
            .hint
            .as_ref()
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        format!("{key}{}{hint}", self.message)
    }

    /// Turns a serde message into a problem; unknown keys get a suggestion. serde's wording
    /// (`unknown field `x`, expected one of `a`, `b``) is pinned by a test below.
    fn from_serde(parent: &str, message: &str) -> Self {
        // serde_path_to_error's path already ends in an unknown field's name.
        let join = |k: &str| {
            if parent == k || parent.ends_with(&format!(".{k}")) {
                parent.to_string()
            } else if parent.is_empty() {
                k.to_string()
            } else {
                format!("{parent}.{k}")
            }
        };
        if let Some(rest) = message.strip_prefix("unknown field `")
            && let Some((field, expected)) = rest.split_once('`')
        {
            let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            let hint = did_you_mean(field, candidates.iter().copied()).or_else(|| {
                (!candidates.is_empty()).then(|| format!("known keys: {}", candidates.join(", ")))
            });
            return ConfigProblem {
                key: Some(join(field)),
                message: "unknown key".to_string(),
                hint,
                unknown_key: true,
            };
        }
        if let Some(rest) = message.strip_prefix("missing field `")
            && let Some((field, _)) = rest.split_once('`')
        {
            return ConfigProblem::key(join(field), "required key is missing");
        }
        ConfigProblem {
            key: (!parent.is_empty()).then(|| parent.to_string()),
            message: message.to_string(),
            hint: None,
            unknown_key: false,
        }
    }
}

/// The connectors known to this build, looked up by `type:` name.
#[derive(Clone, Default)]
pub struct Registry {
    connectors: Vec<&'static dyn Connector>,
}

impl Registry {
    /// A registry of these connectors.
    pub fn new(connectors: &[&'static dyn Connector]) -> Self {
        Registry {
            connectors: connectors.to_vec(),
        }
    }

    /// Adds a connector (a component named in hygge.yml).
    pub fn add(&mut self, connector: &'static dyn Connector) {
        self.connectors.push(connector);
    }

    /// The connector called `name`.
    pub fn get(&self, name: &str) -> Option<&'static dyn Connector> {
        self.connectors.iter().copied().find(|c| c.name() == name)
    }

    /// Every connector, in registration order.
    pub fn connectors(&self) -> impl Iterator<Item = &'static dyn Connector> + '_ {
        self.connectors.iter().copied()
    }

    /// The names users can write, comma-separated, for error messages.
    pub fn names(&self) -> String {
        self.connectors
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        path: String,
        compression: Option<String>,
        nested: Option<Nested>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Nested {
        level: Option<u32>,
    }

    fn parse(yaml: &str) -> Result<Sample, ConfigProblem> {
        let value: Value = serde_yaml::from_str(yaml).unwrap();
        let config = ConnectorConfig {
            value: &value,
            role: Role::Store,
            flow: "f",
            entity: "e",
            project_dir: Path::new("."),
            entity_sets_path: false,
            path_names_entity: false,
            has_entities: true,
            connections: &BTreeMap::new(),
        };
        config.parse()
    }

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let problem = parse("path: a\ncomression: zstd\n").unwrap_err();
        assert_eq!(problem.key.as_deref(), Some("comression"));
        assert_eq!(problem.hint.as_deref(), Some("did you mean `compression`?"));
    }

    #[test]
    fn nested_unknown_keys_name_the_full_path() {
        let problem = parse("path: a\nnested:\n  levle: 3\n").unwrap_err();
        assert_eq!(problem.key.as_deref(), Some("nested.levle"));
        assert_eq!(problem.hint.as_deref(), Some("did you mean `level`?"));
    }

    #[test]
    fn type_errors_and_missing_keys_name_the_key() {
        let problem = parse("path: a\nnested:\n  level: high\n").unwrap_err();
        assert_eq!(problem.key.as_deref(), Some("nested.level"));
        assert!(problem.message.contains("invalid"), "{}", problem.message);
        let problem = parse("compression: zstd\n").unwrap_err();
        assert_eq!(problem.key.as_deref(), Some("path"));
        assert_eq!(problem.message, "required key is missing");
    }
}
