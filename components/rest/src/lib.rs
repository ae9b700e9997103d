//! hygge's REST API home as a Wasm component: pages of JSON records from an HTTP API, as
//! Arrow batches. It imports `wasi:http` and nothing else of the network; the host sends a
//! request only when it lies inside the component's grant (the origins of `base_url` and of
//! an OAuth token URL), caps each answer and bounds it in time.
//!
//! Modules, one job each: `url` (splitting and joining URLs), `http` (requests, redirects,
//! retries, rate limit), `auth`, `pages` (pagination styles), `records` (finding and
//! flattening records), `schema` (JSON → Arrow), `reader` (the resource the host calls).

mod auth;
mod http;
mod log;
mod pages;
mod reader;
mod records;
mod schema;
mod url;

hygge_component_sdk::bindings!("home-connector", "../../wit");

use exports::hygge::connector::{home, meta};
use hygge_component_sdk::types::Description;

/// The JSON Schema `describe()` returns; the keys are documented in the README.
const CONFIG_SCHEMA: &str = r#"{
  "type": "object",
  "required": ["base_url"],
  "properties": {
    "base_url": {"type": "string"}, "endpoint": {"type": "string"},
    "params": {"type": "object"}, "headers": {"type": "object"},
    "records": {"type": "string"}, "auth": {"type": "object"},
    "pagination": {"type": "object"}, "watermark_param": {"type": "string"},
    "rate_limit": {"type": "object"}, "retries": {"type": "object"},
    "flatten": {"type": "object"}, "schema": {"type": "object"},
    "batch_size": {"type": "integer", "minimum": 1}, "sample_size": {"type": "integer", "minimum": 1},
    "max_pages": {"type": "integer", "minimum": 1}
  }
}"#;

/// The component.
struct Component;

impl meta::Guest for Component {
    fn describe() -> Description {
        Description {
            name: "rest_api".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            provides_home: true,
            provides_store: false,
            config_schema: CONFIG_SCHEMA.into(),
            capabilities: vec!["http:base_url".into(), "http:auth.token_url".into()],
        }
    }
}

impl home::Guest for Component {
    type Reader = reader::RestReader;
}

export!(Component);
