//! The Wasm component host: components implementing `wit/` run as homes and stores in a
//! deny-by-default sandbox, indistinguishable to the flow engine from native connectors.
//!
//! One file per concern: [`bindings`] (generated), `state` (per-instance data),
//! [`Permissions`] (the grant), [`HttpGrant`] and `http_hooks` (the HTTP allow-list and
//! where each request is checked), `limiter` (memory cap), `linker` (the imports granted, one
//! interface at a time), `engine` (epoch ticker, compile cache), `limits` (checks on what a
//! guest returns), `error` (what a failure says), and the [`WasmHomeSpec`] /
//! [`WasmStoreSpec`] adapters.

pub mod bindings;
mod connector;
mod engine;
mod error;
mod home;
mod http_grant;
mod http_hooks;
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
pub use http_grant::{HttpGrant, HttpOrigin};
pub use inspect::{Inspection, inspect, inspect_source};
pub use limits::MAX_MESSAGE_BYTES;
pub use permissions::{
    DEFAULT_CALL_TIMEOUT, DEFAULT_MEMORY_LIMIT, DEFAULT_REQUEST_TIMEOUT, DEFAULT_RESPONSE_LIMIT,
    OUTPUT_CAP, Permissions, SandboxLimits,
};
pub use spec::{ComponentSpec, HomeSide, StoreSide};
pub use store::WasmStoreSpec;
