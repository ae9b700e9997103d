//! Turns the layers of one entity into a [`ResolvedEntity`]: merge by precedence, template
//! `{entity}`/`{flow}`, and hand the home and store configs to their connectors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::diagnostics::{Diagnostic, did_you_mean};
use super::layers::{Layer, deep_merge, normalize, origin, typed_settings};
use super::model::{FLOW_ONLY_KEYS, IGNORED_LEGACY_KEYS, STORE_LEVEL_KEYS, Settings};
use super::project::ResolvedEntity;
use crate::contract::{
    ConfigProblem, ConnectorConfig, DEFAULT_BATCH_SIZE, HomeSpec, ReadRequest, Registry, Role,
    RunType, StoreSpec,
};
use crate::state::WatermarkSpec;

/// The default number of batches buffered between home and store.
pub const DEFAULT_QUEUE_SIZE: usize = 10;

/// What resolution needs besides the layers.
pub(crate) struct EntityContext<'a> {
    pub flow: &'a str,
    pub entity: &'a str,
    pub project_dir: &'a Path,
    pub has_entities: bool,
    pub run_type_override: Option<RunType>,
    pub connections: &'a BTreeMap<String, Value>,
    pub registry: &'a Registry,
}

/// A validated home or store.
enum Side {
    Home(Arc<dyn HomeSpec>),
    Store(Arc<dyn StoreSpec>),
}

/// Resolves one entity, or returns every problem found in its layers.
pub(crate) fn resolve_entity(
    layers: Vec<Layer>,
    cx: &EntityContext<'_>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<ResolvedEntity, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    for layer in &layers {
        typed_settings(layer, FLOW_ONLY_KEYS, &mut problems);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let handed_down = handed_down_store_keys(&layers);
    let layers: Vec<Layer> = layers.into_iter().map(normalize).collect();
    let mut merged = Value::Mapping(Mapping::new());
    for layer in &layers {
        let mut value = layer.value.clone();
        if let Some(map) = value.as_mapping_mut() {
            for key in FLOW_ONLY_KEYS.iter().chain(IGNORED_LEGACY_KEYS) {
                map.remove(*key);
            }
        }
        deep_merge(&mut merged, &value);
    }
    let settings: Settings = match serde_yaml::from_value(merged) {
        Ok(s) => s,
        Err(e) => return Err(vec![Diagnostic::new(format!("settings do not merge: {e}"))]),
    };

    let run_type = cx
        .run_type_override
        .or(settings.run_type)
        .or(settings.full_drop.map(|full| {
            if full {
                RunType::FullDrop
            } else {
                RunType::Incremental
            }
        }))
        .unwrap_or_default();
    let queue_size = settings.queue_size.unwrap_or(DEFAULT_QUEUE_SIZE);
    if queue_size == 0 {
        problems.push(problem_at(&layers, "queue_size", "must be at least 1"));
    }
    if settings.timeout == Some(0) {
        problems.push(problem_at(
            &layers,
            "timeout",
            "must be a positive number of seconds",
        ));
    }
    if settings.columns.as_ref().is_some_and(Vec::is_empty) {
        problems.push(problem_at(
            &layers,
            "columns",
            "is empty; remove it to read every column",
        ));
    }
    let watermark = resolve_watermark(&settings, &layers, &mut problems);

    let home = resolve_side(
        Role::Home,
        settings.home.as_ref(),
        &layers,
        cx,
        &[],
        &mut problems,
        warnings,
    );
    let store_value = with_merge_key(settings.store.clone(), watermark.as_ref());
    let store = resolve_side(
        Role::Store,
        store_value.as_ref(),
        &layers,
        cx,
        &handed_down,
        &mut problems,
        warnings,
    );
    let (
        Some((Side::Home(home), home_type, home_config)),
        Some((Side::Store(store), store_type, store_config)),
    ) = (home, store)
    else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let request = ReadRequest::default()
        .with_columns(settings.columns.clone())
        .with_batch_size(home.batch_size().unwrap_or(DEFAULT_BATCH_SIZE));
    Ok(ResolvedEntity {
        flow: cx.flow.to_string(),
        entity: cx.entity.to_string(),
        home_type,
        store_type,
        home,
        store,
        home_config,
        store_config,
        run_type,
        queue_size,
        timeout: settings.timeout.map(Duration::from_secs),
        request,
        watermark,
        allow_empty: settings.allow_empty.unwrap_or(false),
        on_schema_change: settings.on_schema_change.unwrap_or_default(),
    })
}

fn problem_at(layers: &[Layer], key: &str, message: &str) -> Diagnostic {
    match origin(layers, key) {
        Some(layer) => layer.problem(key, message),
        None => Diagnostic::new(message.to_string()).key(key),
    }
}

/// `watermark.primary_key` (Python hygge's place for it) becomes the store's merge key
/// when the store merges and names no key of its own.
fn with_merge_key(store: Option<Value>, watermark: Option<&WatermarkSpec>) -> Option<Value> {
    let mut store = store;
    if let (Some(w), Some(Value::Mapping(map))) = (watermark, store.as_mut())
        && !w.primary_key.is_empty()
        && map.get("if_exists").and_then(Value::as_str) == Some("merge")
        && !map.contains_key("primary_key")
    {
        let keys = w.primary_key.iter().cloned().map(Value::String).collect();
        map.insert("primary_key".into(), Value::Sequence(keys));
    }
    store
}

fn resolve_watermark(
    settings: &Settings,
    layers: &[Layer],
    problems: &mut Vec<Diagnostic>,
) -> Option<WatermarkSpec> {
    let mut watermark = settings.watermark.clone();
    if let Some(column) = &settings.watermark_column {
        watermark.get_or_insert_with(Default::default).column = Some(column.clone());
    }
    if let Some(initial) = &settings.watermark_initial {
        watermark.get_or_insert_with(Default::default).initial = Some(initial.clone());
    }
    let w = watermark?;
    let column = match w.column {
        None => {
            problems.push(problem_at(
                layers,
                "watermark",
                "needs `column` (or `watermark_column`): the column whose greatest loaded value is the watermark",
            ));
            return None;
        }
        Some(c) if c.trim().is_empty() => {
            problems.push(problem_at(layers, "watermark.column", "is empty"));
            return None;
        }
        Some(c) => c,
    };
    if let Some(lookback) = &w.lookback
        && lookback.trim().is_empty()
    {
        problems.push(problem_at(layers, "watermark.lookback", "is empty"));
    }
    Some(WatermarkSpec {
        column,
        primary_key: w.primary_key,
        initial: w.initial,
        lookback: w.lookback,
    })
}

/// A store-level key (`if_exists`, `batch_size`, …) that reaches the store only because a
/// flow, its defaults or an entity wrote it outside `store:`, as Python hygge allows.
struct HandedDown {
    key: &'static str,
    /// Where it is written: the highest layer, and the key as written there.
    written: Option<(Layer, String)>,
}

fn handed_down_store_keys(layers: &[Layer]) -> Vec<HandedDown> {
    STORE_LEVEL_KEYS
        .iter()
        .copied()
        .filter(|key| {
            !layers.iter().any(|l| {
                l.get(&format!("store.{key}")).is_some()
                    || l.get(&format!("store.options.{key}")).is_some()
            })
        })
        .filter_map(|key| {
            let options_key = format!("options.{key}");
            let written = layers.iter().rev().find_map(|l| {
                if l.get(key).is_some() {
                    Some((l.clone(), key.to_string()))
                } else if l.get(&options_key).is_some() {
                    Some((l.clone(), options_key.clone()))
                } else {
                    None
                }
            });
            written.is_some().then_some(HandedDown { key, written })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn resolve_side(
    role: Role,
    value: Option<&Value>,
    layers: &[Layer],
    cx: &EntityContext<'_>,
    handed_down: &[HandedDown],
    problems: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Option<(Side, String, Value)> {
    let side = role.key();
    if let Some(other) = value
        && !other.is_mapping()
        && !other.is_null()
    {
        problems.push(
            problem_at(
                layers,
                side,
                "must be a mapping (a `type` and its settings) or a path string",
            )
            .hint(format!(
                "e.g. `{side}: data/{side}` or `{side}: {{type: parquet, path: data/{side}}}`"
            )),
        );
        return None;
    }
    let Some(Value::Mapping(map)) = value else {
        let layer = layers.iter().rev().find(|l| l.source.is_some())?;
        problems.push(
            layer
                .problem("", format!("flow `{}` has no `{side}`", cx.flow))
                .hint(format!(
                    "add `{side}:` with a `type` and its settings to the flow"
                )),
        );
        return None;
    };
    let mut map = map.clone();
    let type_name = match map.remove("type") {
        None => "parquet".to_string(),
        Some(Value::String(s)) => s,
        Some(_) => {
            problems.push(problem_at(
                layers,
                &format!("{side}.type"),
                "must be a connector name",
            ));
            return None;
        }
    };
    let Some(connector) = cx.registry.get(&type_name) else {
        let hint = did_you_mean(&type_name, cx.registry.connectors().map(|c| c.name()));
        problems.push(
            problem_at(
                layers,
                &format!("{side}.type"),
                &format!("unknown connector type `{type_name}`"),
            )
            .hint(format!(
                "{}known types: {}",
                hint.map(|h| format!("{h} ")).unwrap_or_default(),
                cx.registry.names()
            )),
        );
        return None;
    };

    let path_key = format!("{side}.path");
    let entity_sets_path = layers
        .iter()
        .any(|l| l.is_entity && l.get(&path_key).is_some());
    if entity_sets_path {
        join_entity_path(&mut map, layers, &path_key);
    }
    let path_names_entity =
        matches!(map.get("path"), Some(Value::String(p)) if p.contains("{entity}"));
    if let Some(Value::String(name)) = map.get("connection")
        && !cx.connections.contains_key(name)
    {
        let hint = did_you_mean(name, cx.connections.keys().map(String::as_str))
            .unwrap_or_else(|| "define it under `connections:` in hygge.yml".to_string());
        problems.push(
            problem_at(
                layers,
                &format!("{side}.connection"),
                &format!("unknown connection `{name}`"),
            )
            .hint(hint),
        );
    }
    let mut value = Value::Mapping(map);
    template(&mut value, cx.flow, cx.entity);

    let built = loop {
        let config = ConnectorConfig {
            value: &value,
            role,
            flow: cx.flow,
            entity: cx.entity,
            project_dir: cx.project_dir,
            entity_sets_path,
            path_names_entity,
            has_entities: cx.has_entities,
            connections: cx.connections,
        };
        let built = match role {
            Role::Home => connector.home(&config).map(|r| r.map(Side::Home)),
            Role::Store => connector.store(&config).map(|r| r.map(Side::Store)),
        };
        // A store-level key handed down from the flow to a store that has no such setting
        // (`if_exists` to a parquet store) is dropped with a warning, as Python hygge did.
        let dropped = match &built {
            Some(Err(problem)) if problem.unknown_key => handed_down
                .iter()
                .find(|h| problem.key.as_deref() == Some(h.key)),
            _ => None,
        };
        let Some(dropped) = dropped else {
            break built;
        };
        if let Some(map) = value.as_mapping_mut() {
            map.remove(dropped.key);
        }
        let message = format!("is ignored: the {type_name} store has no such setting");
        warnings.push(match &dropped.written {
            Some((layer, key)) => layer.problem(key, message),
            None => Diagnostic::new(message).key(dropped.key),
        });
    };
    let mut resolved = value.clone();
    if let Some(map) = resolved.as_mapping_mut() {
        map.insert("type".into(), Value::String(type_name.clone()));
    }
    match built {
        Some(Ok(spec)) => Some((spec, type_name, resolved)),
        Some(Err(problem)) => {
            problems.push(connector_problem(layers, side, &type_name, problem));
            None
        }
        None => {
            problems.push(problem_at(
                layers,
                &format!("{side}.type"),
                &format!("connector `{type_name}` cannot be used as a {side}"),
            ));
            None
        }
    }
}

/// An entity's relative `home.path` or `store.path` is taken inside the flow's path of that
/// side (Python hygge: "relative to the flow base path"); no entity name is appended then.
fn join_entity_path(map: &mut Mapping, layers: &[Layer], path_key: &str) {
    let flow_path = layers
        .iter()
        .rev()
        .filter(|l| !l.is_entity)
        .find_map(|l| l.get(path_key).and_then(Value::as_str));
    if let (Some(flow_path), Some(Value::String(entity_path))) = (flow_path, map.get("path"))
        && Path::new(entity_path).is_relative()
    {
        let joined = PathBuf::from(flow_path).join(entity_path);
        map.insert(
            "path".into(),
            Value::String(joined.to_string_lossy().into_owned()),
        );
    }
}

fn connector_problem(
    layers: &[Layer],
    side: &str,
    type_name: &str,
    problem: ConfigProblem,
) -> Diagnostic {
    let mut key = match &problem.key {
        Some(k) => format!("{side}.{k}"),
        None => side.to_string(),
    };
    // A key written inside `options:` of the side, or (for the store) handed down from the
    // flow or entity level, is reported where it is written.
    if let Some(k) = &problem.key
        && !layers.iter().any(|l| l.writes(&key))
    {
        let mut written_as = vec![format!("{side}.options.{k}")];
        if side == "store" {
            written_as.extend([k.clone(), format!("options.{k}")]);
        }
        if let Some(found) = written_as
            .into_iter()
            .find(|w| layers.iter().any(|l| l.writes(w)))
        {
            key = found;
        }
    }
    let written = layers
        .iter()
        .rev()
        .find(|l| l.writes(&key))
        .or_else(|| origin(layers, &key))
        .or_else(|| origin(layers, side));
    let message = format!("{} ({type_name} {side})", problem.message);
    let d = match written {
        Some(layer) => layer.problem(&key, message),
        None => Diagnostic::new(message).key(key),
    };
    d.maybe_hint(problem.hint)
}

/// Replaces `{entity}` and `{flow}` in every string; other braces are left alone.
pub(crate) fn template(value: &mut Value, flow: &str, entity: &str) {
    match value {
        Value::String(s) if s.contains('{') => {
            *s = s.replace("{entity}", entity).replace("{flow}", flow);
        }
        Value::Mapping(m) => m.iter_mut().for_each(|(_, v)| template(v, flow, entity)),
        Value::Sequence(items) => items.iter_mut().for_each(|v| template(v, flow, entity)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templating_replaces_only_entity_and_flow() {
        let mut v: Value =
            serde_yaml::from_str("path: out/{flow}/{entity}\npattern: '{sequence:020d}'").unwrap();
        template(&mut v, "sales", "orders");
        assert_eq!(v["path"], Value::String("out/sales/orders".into()));
        assert_eq!(v["pattern"], Value::String("{sequence:020d}".into()));
    }
}
