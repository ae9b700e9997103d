//! `hygge component inspect`: what a component says about itself and what it imports.

use super::bindings::Description;
use super::engine::{ComponentSource, WasmEngine};
use super::error::call_failed;
use super::linker::withheld_imports;
use super::permissions::Permissions;
use crate::contract::ConnectorError;

/// What a component is: its self-description, its world, its imports and exports.
#[derive(Debug)]
pub struct Inspection {
    /// `describe()`, when the component exports `hygge:connector/meta`.
    pub description: Option<Description>,
    /// `connector`, `home-connector`, `store-connector`, or `none`.
    pub world: &'static str,
    /// Imported interfaces: the capabilities it asks for.
    pub imports: Vec<String>,
    /// Imports hygge never grants (for example `wasi:sockets`), with what they would give;
    /// such a component is not started, so `description` is `None`.
    pub refused: Vec<(String, &'static str)>,
    /// Whether it imports `wasi:http`: it runs only with an `allow: http` grant, and reaches
    /// only the origins that grant names.
    pub needs_http: bool,
    /// Exported interfaces.
    pub exports: Vec<String>,
}

const META: &str = "hygge:connector/meta@0.1.0";

/// Compiles `bytes`, lists its imports and exports, and calls `describe()` in a sandbox
/// that grants nothing.
pub async fn inspect(name: &str, bytes: Vec<u8>) -> Result<Inspection, ConnectorError> {
    inspect_source(&ComponentSource::new(name, bytes)).await
}

/// [`inspect`] for a component already loaded.
pub async fn inspect_source(source: &ComponentSource) -> Result<Inspection, ConnectorError> {
    let engine = WasmEngine::global()?;
    let name = source.name();
    let component = source.compiled(engine).await?;
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(engine.engine())
        .map(|(n, _)| n.to_string())
        .collect();
    let exports: Vec<String> = ty
        .exports(engine.engine())
        .map(|(n, _)| n.to_string())
        .collect();
    let has = |prefix: &str| exports.iter().any(|e| e.starts_with(prefix));
    let world = match (has("hygge:connector/home@"), has("hygge:connector/store@")) {
        (true, true) => "connector",
        (true, false) => "home-connector",
        (false, true) => "store-connector",
        (false, false) => "none",
    };
    let refused = withheld_imports(engine.engine(), &component, true);
    let needs_http = imports.iter().any(|i| i.starts_with("wasi:http/"));
    let description = if has(META) && refused.is_empty() {
        // An empty grant: `describe()` may link `wasi:http` but every request is refused.
        let mut store = engine.new_store(name, &Permissions::default())?;
        let instance = engine
            .linker(needs_http)
            .instantiate_async(&mut store, &component)
            .await
            .map_err(|e| call_failed(&store, "instantiate", e))?;
        let meta = instance
            .get_export_index(&mut store, None, META)
            .ok_or_else(|| ConnectorError::data(format!("`{name}` has no {META} export")))?;
        let describe = instance
            .get_export_index(&mut store, Some(&meta), "describe")
            .ok_or_else(|| {
                ConnectorError::data(format!("`{name}` exports {META} without `describe`"))
            })?;
        let func = instance
            .get_typed_func::<(), (Description,)>(&mut store, &describe)
            .map_err(|e| {
                ConnectorError::data(format!("`{name}`'s describe() has the wrong type: {e:#}"))
            })?;
        let (description,) = func
            .call_async(&mut store, ())
            .await
            .map_err(|e| call_failed(&store, "describe", e))?;
        Some(description)
    } else {
        None
    };
    Ok(Inspection {
        description,
        world,
        imports,
        refused,
        needs_http,
        exports,
    })
}
