//! The guest side of hygge's connector contract, so that a component holds only its own
//! logic: the shared bindings ([`types`], [`host`]) and the [`bindings!`] preamble that
//! generates a component's exports on them, [`Failure`] (an error of a kind that `?` turns
//! into the contract's error), config parsing that names the key at fault, and the Arrow
//! IPC framing the host expects.
//!
//! A home component:
//! ```ignore
//! hygge_component_sdk::bindings!("home-connector", "wit");
//! use exports::hygge::connector::{home, meta};
//! struct Component;
//! impl meta::Guest for Component { /* describe() */ }
//! impl home::Guest for Component { type Reader = MyReader; }
//! export!(Component);
//! ```

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use serde::de::DeserializeOwned;

wit_bindgen::generate!({ world: "imports", path: "../../wit" });

pub use hygge::connector::{host, types};
pub use types::{Error, ErrorKind};
#[doc(hidden)]
pub use wit_bindgen;

/// Generates a component's bindings for `world` of the WIT at `path` (relative to the
/// component's Cargo.toml), sharing the SDK's `types` and `host`, so that [`Failure`] and
/// the helpers here work with them. It defines `exports::…` and the `export!` macro.
///
/// ```ignore
/// hygge_component_sdk::bindings!("home-connector", "../../wit");
/// ```
#[macro_export]
macro_rules! bindings {
    ($world:literal, $path:literal) => {
        $crate::wit_bindgen::generate!({
            world: $world,
            path: $path,
            runtime_path: "hygge_component_sdk::wit_bindgen::rt",
            with: {
                "hygge:connector/types@0.1.0": hygge_component_sdk::types,
                "hygge:connector/host@0.1.0": hygge_component_sdk::host,
            },
        });
    };
}

/// Writes `message` to the flow's log at `level`.
pub fn log(level: types::LogLevel, message: &str) {
    host::log(level, message);
}

/// What went wrong, as far as the flow engine is concerned: the same kinds as the
/// contract's `error-kind`. Only `Connection` is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The config is wrong: fix it and run again.
    Config,
    /// Credentials were refused.
    Auth,
    /// The network or a server failed; the flow retries.
    Connection,
    /// The data cannot be read or written as it is.
    Data,
    /// A bug.
    Internal,
}

/// An error of a [`Kind`] with a message that says what to try. `?` turns it into the
/// error type of whichever world a component exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Its kind.
    pub kind: Kind,
    /// What happened and what to try.
    pub message: String,
}

impl Failure {
    /// An error of `kind`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }

    /// A config error.
    pub fn config(message: impl Into<String>) -> Failure {
        Failure::new(Kind::Config, message)
    }

    /// An auth error.
    pub fn auth(message: impl Into<String>) -> Failure {
        Failure::new(Kind::Auth, message)
    }

    /// A connection error (retried by the flow).
    pub fn connection(message: impl Into<String>) -> Failure {
        Failure::new(Kind::Connection, message)
    }

    /// A data error.
    pub fn data(message: impl Into<String>) -> Failure {
        Failure::new(Kind::Data, message)
    }

    /// An internal error.
    pub fn internal(message: impl Into<String>) -> Failure {
        Failure::new(Kind::Internal, message)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        Error {
            kind: match failure.kind {
                Kind::Config => ErrorKind::Config,
                Kind::Auth => ErrorKind::Auth,
                Kind::Connection => ErrorKind::Connection,
                Kind::Data => ErrorKind::Data,
                Kind::Internal => ErrorKind::Internal,
            },
            message: failure.message,
        }
    }
}

/// Parses a component's config (JSON, as the host hands it over) into `T`, naming the key
/// at fault: `invalid config: pagination.limit: invalid type: string "x", expected u64`.
///
/// # Errors
/// A config error.
pub fn parse_config<T: DeserializeOwned>(json: &str) -> Result<T, Failure> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    T::deserialize(&mut deserializer).map_err(|e| Failure::config(format!("invalid config: {e}")))
}

/// The schema as the host expects it: an Arrow IPC stream holding only the schema.
///
/// # Errors
/// An internal error when Arrow cannot encode it.
pub fn encode_schema(schema: &Schema) -> Result<Vec<u8>, Failure> {
    hygge_ipc::schema_to_bytes(schema)
        .map_err(|e| Failure::internal(format!("cannot encode the schema: {e}")))
}

/// A batch as the host expects it: an Arrow IPC stream holding the schema and the batch.
///
/// # Errors
/// An internal error when Arrow cannot encode it.
pub fn encode_batch(batch: &RecordBatch) -> Result<Vec<u8>, Failure> {
    hygge_ipc::batch_to_bytes(batch)
        .map_err(|e| Failure::internal(format!("cannot encode a batch: {e}")))
}

/// The schema the host sent (a store's `open`).
///
/// # Errors
/// A data error when the bytes are not an Arrow IPC schema.
pub fn decode_schema(bytes: &[u8]) -> Result<arrow_schema::SchemaRef, Failure> {
    hygge_ipc::schema_from_bytes(bytes)
        .map_err(|e| Failure::data(format!("the host sent an unreadable schema: {e}")))
}

/// The batch the host sent (a store's `write`).
///
/// # Errors
/// A data error when the bytes are not one Arrow IPC record batch.
pub fn decode_batch(bytes: Vec<u8>) -> Result<RecordBatch, Failure> {
    hygge_ipc::batch_from_bytes(bytes)
        .map_err(|e| Failure::data(format!("the host sent an unreadable batch: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Keys {
        #[allow(dead_code)]
        path: String,
    }

    #[test]
    fn config_errors_name_the_key() {
        let error = parse_config::<Keys>(r#"{"path": "a", "paht": 1}"#).unwrap_err();
        assert_eq!(error.kind, Kind::Config);
        assert!(error.message.contains("paht"), "{}", error.message);
        let error = parse_config::<Keys>(r#"{"path": 3}"#).unwrap_err();
        assert!(
            error.message.contains("expected a string"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_failure_keeps_its_kind_and_message() {
        let error: Error = Failure::auth("no").into();
        assert!(matches!(error.kind, ErrorKind::Auth));
        let error: Error = Failure::data("bad").into();
        assert!(matches!(error.kind, ErrorKind::Data));
        assert_eq!(error.message, "bad");
    }
}
