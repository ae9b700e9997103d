//! hygge's portable Parquet connector as a Wasm component: the same keys and semantics as
//! the native `parquet` connector, inside the sandbox. It sees only the directories the
//! host grants: the home's path read-only, the store's root read-write. The host rewrites
//! paths in the config to where it mounted them.
//!
//! Codecs: snappy (default), zstd, gzip, lz4, brotli, none, all pure Rust: zstd is ruzstd
//! behind the `zstd` API parquet calls (`components/zstd-pure`), so no C compiler for wasm32 is
//! needed.

mod config;
mod files;
mod home;
// On the host (clippy, unit tests) the symbols are not exported, so nothing calls them.
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
mod mem;
mod store;
mod watermark;

hygge_component_sdk::bindings!("connector", "../../wit");

use exports::hygge::connector::{home as home_api, meta, store as store_api};
use hygge_component_sdk::Failure;
use hygge_component_sdk::types::{Description, Error, ErrorKind};

/// The component.
struct Component;

impl meta::Guest for Component {
    fn describe() -> Description {
        Description {
            name: "parquet".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            provides_home: true,
            provides_store: true,
            config_schema: config::JSON_SCHEMA.into(),
            capabilities: vec!["read:home.path".into(), "write:store.path".into()],
        }
    }
}

impl home_api::Guest for Component {
    type Reader = home::ParquetReader;
}

impl store_api::Guest for Component {
    type Writer = store::ParquetWriter;
}

export!(Component);

/// An error of `kind`.
pub(crate) fn error(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error {
        kind,
        message: message.into(),
    }
}

/// A config error.
pub(crate) fn config_error(message: impl Into<String>) -> Error {
    Failure::config(message).into()
}

/// A data error.
pub(crate) fn data_error(message: impl Into<String>) -> Error {
    Failure::data(message).into()
}
