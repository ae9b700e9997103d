//! Database connections in config, shared by every database connector: a home or store
//! names a connection (`connection: NAME`, defined under `connections:` in hygge.yml) or
//! carries the connection keys inline. [`split_connection_keys`] takes the connection keys
//! out of a home or store mapping, so that each part is checked against its own key list,
//! and merges a named connection with the keys a home or store refines it with.

use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

use super::{ConfigProblem, ConnectorConfig};

/// What a connector's connections look like in config.
pub struct ConnectionKeys {
    /// Every key that describes a connection; they may appear under `connections.NAME` or
    /// inline on a home or store.
    pub keys: &'static [&'static str],
    /// The keys that say which server (`server`, `url`, `host` …): set inline beside
    /// `connection: NAME` they are an error, and one of them makes an inline connection.
    pub identity: &'static [&'static str],
    /// How an inline connection is written, for the hint when none is given.
    pub example: &'static str,
}

/// A home or store mapping split into its own keys and its connection.
#[derive(Debug, Clone)]
pub struct SplitConnection {
    /// The home's or store's own keys.
    pub own: Value,
    /// The name under `connections:`, when one was named.
    pub name: Option<String>,
    /// The connection's keys: the named connection's, refined by inline ones, or the inline
    /// ones alone.
    pub keys: Value,
}

impl SplitConnection {
    /// The connection's keys parsed into the connector's type; problems name the connection.
    ///
    /// # Errors
    /// The first key that is unknown or of the wrong type.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigProblem> {
        let what = match &self.name {
            Some(name) => format!("connection `{name}`"),
            None => "the inline connection".to_string(),
        };
        parse_connection(&self.keys, &what)
    }
}

/// Splits `config`'s mapping into its own keys and its connection (named or inline).
///
/// # Errors
/// No connection at all, an unknown connection name, or identity keys beside a name.
pub fn split_connection_keys(
    config: &ConnectorConfig<'_>,
    spec: &ConnectionKeys,
) -> Result<SplitConnection, ConfigProblem> {
    let Some(map) = config.value.as_mapping() else {
        return Err(ConfigProblem::key(config.role.key(), "must be a mapping"));
    };
    let mut own = Mapping::new();
    let mut inline = Mapping::new();
    let mut named = None;
    for (key, value) in map {
        match key.as_str() {
            Some("connection") => named = Some(value.clone()),
            Some(k) if spec.keys.contains(&k) => {
                inline.insert(key.clone(), value.clone());
            }
            _ => {
                own.insert(key.clone(), value.clone());
            }
        }
    }
    let is_identity = |k: &&str| spec.identity.contains(k);
    match named {
        Some(Value::String(name)) => {
            if let Some(key) = inline.keys().filter_map(Value::as_str).find(is_identity) {
                return Err(
                    ConfigProblem::key(key, "is set both here and by `connection`").hint(format!(
                        "use either `connection: NAME` or inline {}, not both",
                        spec.example
                    )),
                );
            }
            let Some(defined) = config.connections.get(&name) else {
                return Err(ConfigProblem::key(
                    "connection",
                    format!("unknown connection `{name}`"),
                )
                .hint("define it under `connections:` in hygge.yml"));
            };
            let mut merged = defined.as_mapping().cloned().unwrap_or_default();
            // A home/store may refine its named connection (e.g. its own pool_size).
            for (k, v) in inline {
                merged.insert(k, v);
            }
            Ok(SplitConnection {
                own: Value::Mapping(own),
                name: Some(name),
                keys: Value::Mapping(merged),
            })
        }
        Some(_) => Err(ConfigProblem::key(
            "connection",
            "must be the name of a connection under `connections:`",
        )),
        None => {
            if !inline
                .keys()
                .filter_map(Value::as_str)
                .any(|k| is_identity(&k))
            {
                return Err(ConfigProblem::key(
                    "connection",
                    format!("no connection: set `connection: NAME` or {}", spec.example),
                ));
            }
            Ok(SplitConnection {
                own: Value::Mapping(own),
                name: None,
                keys: Value::Mapping(inline),
            })
        }
    }
}

/// Parses a connection's keys; a problem names the connection (`what`) and the key.
///
/// # Errors
/// The first key that is unknown or of the wrong type.
pub fn parse_connection<T: DeserializeOwned>(
    value: &Value,
    what: &str,
) -> Result<T, ConfigProblem> {
    serde_path_to_error::deserialize(value.clone()).map_err(|err| {
        let key = err.path().to_string();
        let message = err.into_inner().to_string();
        ConfigProblem {
            key: Some(if key == "." { "connection".into() } else { key }),
            message: format!("{what}: {message}"),
            hint: None,
            unknown_key: false,
        }
    })
}
