//! The layers one entity's settings come from, and how they merge.
//!
//! Precedence, lowest first: project `defaults` < flow < flow `defaults` < entity <
//! `--var` on the command line. Mappings merge key by key, at every depth; any other value
//! from a higher layer replaces the lower one.

use std::sync::Arc;

use serde_yaml::{Mapping, Value};

use super::diagnostics::{Diagnostic, Location, did_you_mean};
use super::env::key_name;
use super::model::{IGNORED_LEGACY_KEYS, OPTION_KEYS, STORE_LEVEL_KEYS, Settings};
use super::source::SourceFile;

/// One layer: a mapping of settings and where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    /// The file it came from; `None` for the command line.
    pub source: Option<Arc<SourceFile>>,
    /// The dotted key of the mapping inside its file (`defaults`, `flows.sales`, ``).
    pub base: String,
    /// The mapping itself.
    pub value: Value,
    /// Whether this is the entity's own layer.
    pub is_entity: bool,
}

impl Layer {
    /// Where `key` (relative to this layer) is written.
    pub fn locate(&self, key: &str) -> Option<Location> {
        let full = match (self.base.is_empty(), key.is_empty()) {
            (true, _) => key.to_string(),
            (false, true) => self.base.clone(),
            (false, false) => format!("{}.{key}", self.base),
        };
        self.source.as_ref().map(|s| s.locate(&full))
    }

    /// A diagnostic about `key` in this layer.
    pub fn problem(&self, key: &str, message: impl Into<String>) -> Diagnostic {
        let d = Diagnostic::new(message).key(key.to_string());
        match self.locate(key) {
            Some(location) => d.at(location),
            None => d.hint("set on the command line with --var"),
        }
    }

    /// Whether the file behind this layer writes `key` (relative to the layer) as such, before
    /// any normalization moved it.
    pub fn writes(&self, key: &str) -> bool {
        let full = if self.base.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.base)
        };
        self.source.as_ref().is_some_and(|s| s.has(&full))
    }

    /// The value at a dotted path, if this layer writes it.
    pub fn get(&self, dotted: &str) -> Option<&Value> {
        get_path(&self.value, dotted)
    }
}

/// The value at a dotted path inside `value`.
pub(crate) fn get_path<'a>(value: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted
        .split('.')
        .filter(|s| !s.is_empty())
        .try_fold(value, |v, segment| v.as_mapping()?.get(segment))
}

/// Checks that `map` has only `allowed` keys (plus the ignored legacy ones, with a warning).
pub(crate) fn check_keys(
    layer: &Layer,
    prefix: &str,
    allowed: &[&[&str]],
    problems: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) {
    let Some(map) = get_path(&layer.value, prefix).and_then(Value::as_mapping) else {
        return;
    };
    for key in map.keys() {
        let name = key_name(key);
        let dotted = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if allowed.iter().any(|list| list.contains(&name.as_str())) {
            continue;
        }
        if prefix.is_empty() && IGNORED_LEGACY_KEYS.contains(&name.as_str()) {
            warnings.push(layer.problem(
                &dotted,
                "is ignored (Python hygge ignored it too); remove it to silence this warning",
            ));
            continue;
        }
        let candidates = allowed.iter().flat_map(|l| l.iter().copied());
        let hint = did_you_mean(&name, candidates).unwrap_or_else(|| {
            let all: Vec<&str> = allowed.iter().flat_map(|l| l.iter().copied()).collect();
            format!("known keys here: {}", all.join(", "))
        });
        problems.push(layer.problem(&dotted, "unknown key").hint(hint));
    }
}

/// The typed settings of one layer; type errors are reported where they are written.
pub(crate) fn typed_settings(
    layer: &Layer,
    skip: &[&str],
    problems: &mut Vec<Diagnostic>,
) -> Option<Settings> {
    let mut value = layer.value.clone();
    if let Some(map) = value.as_mapping_mut() {
        for key in skip.iter().chain(IGNORED_LEGACY_KEYS) {
            map.remove(*key);
        }
    }
    match serde_path_to_error::deserialize::<_, Settings>(value) {
        Ok(settings) => Some(settings),
        Err(err) => {
            let path = err.path().to_string();
            let message = err.into_inner().to_string();
            let key = if path == "." { String::new() } else { path };
            problems.push(layer.problem(&key, message));
            None
        }
    }
}

/// Rewrites a layer into the canonical shape the merge works on: a bare string `home`/`store`
/// becomes `{path: …}`, `options.*` move to the top level, and store-level keys written at
/// flow/entity level move into `store` (unless the same layer's store sets them).
pub(crate) fn normalize(mut layer: Layer) -> Layer {
    let Some(map) = layer.value.as_mapping_mut() else {
        return layer;
    };
    for side in ["home", "store"] {
        if let Some(Value::String(path)) = map.get(side) {
            let mut m = Mapping::new();
            m.insert("path".into(), Value::String(path.clone()));
            map.insert(side.into(), Value::Mapping(m));
        }
        // Python hygge merges `home.options` / `store.options` into the connector's settings;
        // a key written beside `options` wins.
        if let Some(Value::Mapping(side_map)) = map.get_mut(side)
            && let Some(Value::Mapping(options)) = side_map.remove("options")
        {
            for (key, value) in options {
                if !side_map.contains_key(&key) {
                    side_map.insert(key, value);
                }
            }
        }
    }
    if let Some(Value::Mapping(options)) = map.remove("options") {
        for key in OPTION_KEYS {
            if let Some(v) = options.get(*key)
                && !map.contains_key(*key)
            {
                map.insert((*key).into(), v.clone());
            }
        }
    }
    for key in STORE_LEVEL_KEYS {
        if let Some(v) = map.remove(*key) {
            let store = map
                .entry("store".into())
                .or_insert_with(|| Value::Mapping(Mapping::new()));
            if let Some(store) = store.as_mapping_mut()
                && !store.contains_key(*key)
            {
                store.insert((*key).into(), v);
            }
        }
    }
    layer
}

/// Merges `over` onto `base`: mappings key by key, everything else replaced.
pub(crate) fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// The highest layer that writes `dotted`.
pub(crate) fn origin<'a>(layers: &'a [Layer], dotted: &str) -> Option<&'a Layer> {
    layers.iter().rev().find(|l| l.get(dotted).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(yaml: &str) -> Layer {
        Layer {
            source: None,
            base: String::new(),
            value: serde_yaml::from_str(yaml).unwrap(),
            is_entity: false,
        }
    }

    #[test]
    fn mappings_merge_deeply_and_scalars_replace() {
        let mut base: Value = serde_yaml::from_str(
            "home: {type: parquet, path: a, opts: {x: 1, y: 2}}\nqueue_size: 5",
        )
        .unwrap();
        let over: Value =
            serde_yaml::from_str("home: {path: b, opts: {y: 3}}\nqueue_size: 7").unwrap();
        deep_merge(&mut base, &over);
        let expected: Value = serde_yaml::from_str(
            "home: {type: parquet, path: b, opts: {x: 1, y: 3}}\nqueue_size: 7",
        )
        .unwrap();
        assert_eq!(base, expected);
    }

    #[test]
    fn normalize_moves_options_and_store_level_keys() {
        let l = normalize(layer(
            "store: out\nbatch_size: 10\noptions: {queue_size: 3, if_exists: append}",
        ));
        let expected: Value = serde_yaml::from_str(
            "store: {path: out, batch_size: 10, if_exists: append}\nqueue_size: 3",
        )
        .unwrap();
        assert_eq!(l.value, expected);
    }

    #[test]
    fn a_store_setting_in_the_same_layer_wins_over_the_flow_level_key() {
        let l = normalize(layer("store: {path: out, batch_size: 5}\nbatch_size: 10"));
        assert_eq!(l.get("store.batch_size"), Some(&Value::Number(5.into())));
    }

    #[test]
    fn unknown_keys_are_reported_with_a_suggestion_and_legacy_keys_warn() {
        let l = layer("hme: x\nkey_column: id\nqueue_size: 3");
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        check_keys(
            &l,
            "",
            &[super::super::model::SETTINGS_KEYS],
            &mut problems,
            &mut warnings,
        );
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].to_string().contains("did you mean `home`?"),
            "{}",
            problems[0]
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].to_string().contains("key_column"));
    }

    #[test]
    fn origin_is_the_highest_layer_writing_the_key() {
        let layers = vec![
            layer("home: {path: a}"),
            layer("queue_size: 1"),
            layer("home: {path: b}"),
        ];
        assert!(std::ptr::eq(
            origin(&layers, "home.path").unwrap(),
            &layers[2]
        ));
        assert!(std::ptr::eq(
            origin(&layers, "queue_size").unwrap(),
            &layers[1]
        ));
        assert!(origin(&layers, "timeout").is_none());
    }
}
