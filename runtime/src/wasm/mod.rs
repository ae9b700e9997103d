//! The Wasm component host: components implementing `wit/` run as homes and stores in a
//! deny-by-default sandbox, indistinguishable to the flow engine from native connectors.
//!
//! One file per concern: [`bindings`] (generated), `state` (per-instance data),
//! [`Permissions`] (the grant), `limiter` (memory cap), `linker` (the imports granted, one
//! interface at a time), `engine` (epoch ticker, compile cache), `limits` (checks on what a
//! guest returns), `error` (what a failure says), and the [`WasmHomeSpec`] /
//! [`WasmStoreSpec`] adapters.

pub mod bindings;
mod connector;
mod engine;
mod error;
mod home;
mod inspect;
mod limiter;
mod limits;
mod linker;
mod permissions;
mod spec;
mod state;
mod store;

pub use connector::{NamedComponent, WASM_CONNECTOR, WasmConnector};
pub use engine::{ComponentSource, WasmEngine};
pub use home::WasmHomeSpec;
pub use inspect::{Inspection, inspect, inspect_source};
pub use limits::MAX_MESSAGE_BYTES;
pub use permissions::{DEFAULT_CALL_TIMEOUT, DEFAULT_MEMORY_LIMIT, OUTPUT_CAP, Permissions};
pub use spec::{ComponentSpec, HomeSide, StoreSide};
pub use store::WasmStoreSpec;
