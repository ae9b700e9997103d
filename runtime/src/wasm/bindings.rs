//! Host bindings generated from `wit/`: one module per world a component may implement.

#![allow(missing_docs)]

/// Components that provide a home.
pub mod home_world {
    wasmtime::component::bindgen!({
        world: "home-connector",
        path: "../wit",
        exports: { default: async },
    });
}

/// Components that provide a store. Shares the `types` and `host` interfaces with
/// [`home_world`], so one host implementation serves both.
pub mod store_world {
    wasmtime::component::bindgen!({
        world: "store-connector",
        path: "../wit",
        exports: { default: async },
        with: {
            "hygge:connector/types": super::home_world::hygge::connector::types,
            "hygge:connector/host": super::home_world::hygge::connector::host,
        },
    });
}

pub use home_world::hygge::connector::types::{
    Description, Error as GuestError, ErrorKind as GuestErrorKind, LogLevel, ReadRequest,
    RunContext, RunType as GuestRunType, WatermarkFilter,
};
