//! Loading a project: read every file, check every key, resolve every entity, and report
//! all problems together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_yaml::{Mapping, Value};

use super::diagnostics::{Diagnostic, Diagnostics, Location};
use super::discover::find_project_file;
use super::env::{Environment, key_name};
use super::layers::{Layer, check_keys, deep_merge};
use super::model::{
    ACCEPTED_UNUSED_KEYS, FLOW_ONLY_KEYS, PROJECT_KEYS, PROJECT_OPTION_KEYS, ProjectOptions,
    SETTINGS_KEYS,
};
use super::project::{Flow, Project};
use super::resolve::{EntityContext, resolve_entity};
use super::source::SourceFile;
use crate::contract::{Registry, RunType};

/// What the command line adds to the files.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--project DIR`.
    pub project: Option<PathBuf>,
    /// Where to start looking for hygge.yml.
    pub cwd: PathBuf,
    /// `--var flow.<flow>.<dotted.key>=value`, as typed.
    pub vars: Vec<String>,
    /// `--incremental` / `--full-drop`.
    pub run_type: Option<RunType>,
}

/// A flow's files before its entities are resolved.
struct FlowSource {
    name: String,
    /// The flow's own mapping (from flow.yml or from `flows.<name>` in hygge.yml).
    layer: Layer,
    /// The flow's folder, when it has one.
    dir: Option<PathBuf>,
}

/// Loads and validates the project found from `options`.
///
/// # Errors
/// Every problem found, each naming its file, line and key.
pub fn load_project(registry: &Registry, options: &LoadOptions) -> Result<Project, Diagnostics> {
    let file = find_project_file(options.project.as_deref(), &options.cwd)?;
    let file = std::path::absolute(&file).unwrap_or(file);
    let root = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let env = Environment::load(&root)?;
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    let (source, mut value) = SourceFile::read(&file)?;
    let source = Arc::new(source);
    env.interpolate(&mut value, &source, "", &mut problems);
    let top = Layer {
        source: Some(source.clone()),
        base: String::new(),
        value,
        is_entity: false,
    };
    check_keys(&top, "", &[PROJECT_KEYS], &mut problems, &mut warnings);
    check_keys(
        &top,
        "options",
        &[PROJECT_OPTION_KEYS],
        &mut problems,
        &mut warnings,
    );

    let name = match top.get("name") {
        None => root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            problems.push(top.problem("name", "must be a string"));
            String::new()
        }
    };
    let flows_dir = match top.get("flows_dir") {
        None => "flows".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            problems.push(top.problem("flows_dir", "must be a directory path"));
            "flows".to_string()
        }
    };
    let project_options = parse_options(&top, &mut problems);
    let connections = parse_connections(&top, &mut problems);
    if top.get("journal").is_some() {
        warnings.push(top.problem(
            "journal",
            "is accepted but not used: hygge keeps watermark state with the data at the destination (see `hygge state`)",
        ));
    }

    let registry = &with_components(registry, &top, &root, &mut problems);
    let defaults = sub_layer(&top, "defaults", false, &mut problems);
    check_keys(
        &defaults,
        "",
        &[SETTINGS_KEYS],
        &mut problems,
        &mut warnings,
    );
    warn_unused(&defaults, &mut warnings);

    let flow_sources = collect_flows(&root.join(&flows_dir), &top, &env, &mut problems);
    let flow_names: Vec<String> = flow_sources.iter().map(|f| f.name.clone()).collect();
    let overrides = parse_vars(&options.vars, &flow_names, &mut problems);

    let mut flows = Vec::new();
    for flow in flow_sources {
        check_keys(
            &flow.layer,
            "",
            &[SETTINGS_KEYS, FLOW_ONLY_KEYS],
            &mut problems,
            &mut warnings,
        );
        if let Some(Value::String(declared)) = flow.layer.get("name")
            && declared != &flow.name
        {
            warnings.push(flow.layer.problem(
                "name",
                format!(
                    "is `{declared}` but the flow is named `{}` after its directory",
                    flow.name
                ),
            ));
        }
        warn_unused(&flow.layer, &mut warnings);
        let flow_defaults = sub_layer(&flow.layer, "defaults", false, &mut problems);
        warn_unused(&flow_defaults, &mut warnings);
        check_keys(
            &flow_defaults,
            "",
            &[SETTINGS_KEYS],
            &mut problems,
            &mut warnings,
        );
        let entities = collect_entities(&flow, &env, &mut problems, &mut warnings);
        let has_entities = !entities.is_empty();
        let entities = if has_entities {
            entities
        } else {
            vec![(flow.name.clone(), None)]
        };

        let mut resolved = Vec::new();
        for (entity_name, entity_layer) in entities {
            let mut layers = vec![defaults.clone(), flow.layer.clone(), flow_defaults.clone()];
            if let Some(layer) = entity_layer {
                check_keys(
                    &layer,
                    "",
                    &[SETTINGS_KEYS, &["name"]],
                    &mut problems,
                    &mut warnings,
                );
                warn_unused(&layer, &mut warnings);
                layers.push(layer);
            }
            if let Some(value) = overrides.get(&flow.name) {
                let layer = Layer {
                    source: None,
                    base: String::new(),
                    value: value.clone(),
                    is_entity: false,
                };
                check_keys(&layer, "", &[SETTINGS_KEYS], &mut problems, &mut warnings);
                layers.push(layer);
            }
            let cx = EntityContext {
                flow: &flow.name,
                entity: &entity_name,
                project_dir: &root,
                has_entities,
                run_type_override: options.run_type,
                connections: &connections,
                registry,
            };
            match resolve_entity(layers, &cx, &mut warnings) {
                Ok(entity) => resolved.push(entity),
                Err(found) => problems.extend(found),
            }
        }
        flows.push(Flow {
            name: flow.name,
            entities: resolved,
        });
    }

    let mut diagnostics = Diagnostics::default();
    dedup(problems)
        .into_iter()
        .for_each(|p| diagnostics.push(p));
    diagnostics.into_result(Project {
        name,
        root,
        file,
        options: project_options,
        connections,
        flows,
        warnings: dedup(warnings),
    })
}

/// A warning for each key of `layer` that is accepted but not acted on.
fn warn_unused(layer: &Layer, warnings: &mut Vec<Diagnostic>) {
    for (key, why) in ACCEPTED_UNUSED_KEYS {
        if layer.get(key).is_some() {
            warnings.push(layer.problem(key, *why));
        }
    }
}

/// The registry plus the components named in hygge.yml `components: {NAME: path}`.
fn with_components(
    registry: &Registry,
    top: &Layer,
    root: &Path,
    problems: &mut Vec<Diagnostic>,
) -> Registry {
    let mut registry = registry.clone();
    let Some(value) = top.get("components") else {
        return registry;
    };
    let Some(map) = value.as_mapping() else {
        problems.push(top.problem("components", "must map names to .wasm paths"));
        return registry;
    };
    for (key, path) in map {
        let name = key_name(key);
        let at = format!("components.{name}");
        let Some(path) = path.as_str() else {
            problems.push(top.problem(&at, "must be the path of a .wasm file"));
            continue;
        };
        if registry.get(&name).is_some() {
            problems.push(
                top.problem(&at, format!("`{name}` is already a connector type"))
                    .hint("choose another name"),
            );
            continue;
        }
        let connector = crate::wasm::NamedComponent::new(&name, root.join(path));
        registry.add(Box::leak(Box::new(connector)));
    }
    registry
}

/// The same problem found through several entities of a flow is reported once.
fn dedup(items: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// The mapping under `key` of `parent` as a layer of its own (empty when absent).
fn sub_layer(parent: &Layer, key: &str, is_entity: bool, problems: &mut Vec<Diagnostic>) -> Layer {
    let value = match parent.get(key) {
        None | Some(Value::Null) => Value::Mapping(Mapping::new()),
        Some(v @ Value::Mapping(_)) => v.clone(),
        Some(_) => {
            problems.push(parent.problem(key, "must be a mapping of settings"));
            Value::Mapping(Mapping::new())
        }
    };
    let base = if parent.base.is_empty() {
        key.to_string()
    } else {
        format!("{}.{key}", parent.base)
    };
    Layer {
        source: parent.source.clone(),
        base,
        value,
        is_entity,
    }
}

fn parse_options(top: &Layer, problems: &mut Vec<Diagnostic>) -> ProjectOptions {
    let Some(value) = top.get("options") else {
        return ProjectOptions::default();
    };
    let options: ProjectOptions = match serde_path_to_error::deserialize(value.clone()) {
        Ok(o) => o,
        Err(e) => {
            let key = format!("options.{}", e.path()).replace("options..", "options");
            problems.push(top.problem(&key, e.into_inner().to_string()));
            return ProjectOptions::default();
        }
    };
    if options.concurrency == Some(0) {
        problems.push(top.problem("options.concurrency", "must be at least 1"));
    }
    if let Some(level) = &options.log_level
        && !["debug", "info", "warn", "warning", "error", "trace"]
            .contains(&level.to_ascii_lowercase().as_str())
    {
        problems.push(
            top.problem("options.log_level", format!("unknown level `{level}`"))
                .hint("use debug, info, warning or error"),
        );
    }
    options
}

fn parse_connections(top: &Layer, problems: &mut Vec<Diagnostic>) -> BTreeMap<String, Value> {
    let mut connections = BTreeMap::new();
    let Some(value) = top.get("connections") else {
        return connections;
    };
    let Some(map) = value.as_mapping() else {
        problems.push(top.problem(
            "connections",
            "must be a mapping of connection names to settings",
        ));
        return connections;
    };
    for (key, value) in map {
        let name = key_name(key);
        let at = format!("connections.{name}");
        match value.get("type") {
            Some(Value::String(_)) => {}
            Some(_) => {
                problems.push(top.problem(&format!("{at}.type"), "must be a connector name"))
            }
            None => problems.push(
                top.problem(&at, "has no `type`")
                    .hint("add e.g. `type: mssql`"),
            ),
        }
        for numeric in ["pool_size", "timeout", "port"] {
            if let Some(v) = value.get(numeric)
                && v.as_u64().is_none_or(|n| n == 0)
            {
                problems.push(top.problem(
                    &format!("{at}.{numeric}"),
                    "must be a positive whole number",
                ));
            }
        }
        connections.insert(name, value.clone());
    }
    connections
}

/// Flows from `<flows_dir>/<name>/flow.yml` and from hygge.yml `flows:`, sorted by name.
fn collect_flows(
    flows_dir: &Path,
    top: &Layer,
    env: &Environment,
    problems: &mut Vec<Diagnostic>,
) -> Vec<FlowSource> {
    let mut flows: Vec<FlowSource> = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(flows_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    for dir in dirs {
        let Some(file) = ["flow.yml", "flow.yaml"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match read_layer(&file, env, false, problems) {
            Some(layer) => flows.push(FlowSource {
                name,
                layer,
                dir: Some(dir),
            }),
            None => continue,
        }
    }
    if let Some(inline) = top.get("flows") {
        match inline.as_mapping() {
            None => problems.push(top.problem("flows", "must be a mapping of flow names to flows")),
            Some(map) => {
                for (key, value) in map {
                    let name = key_name(key);
                    if flows.iter().any(|f| f.name == name) {
                        problems.push(
                            top.problem(
                                &format!("flows.{name}"),
                                format!("flow `{name}` is also defined in a folder"),
                            )
                            .hint("define each flow once: inline in hygge.yml or as a folder"),
                        );
                        continue;
                    }
                    if !value.is_mapping() {
                        problems.push(top.problem(&format!("flows.{name}"), "must be a mapping"));
                        continue;
                    }
                    flows.push(FlowSource {
                        name: name.clone(),
                        layer: Layer {
                            source: top.source.clone(),
                            base: format!("flows.{name}"),
                            value: value.clone(),
                            is_entity: false,
                        },
                        dir: None,
                    });
                }
            }
        }
    }
    for flow in &flows {
        if let Err(why) = check_name(&flow.name) {
            problems.push(
                flow.layer
                    .problem("", format!("flow name `{}` {why}", flow.name)),
            );
        }
    }
    flows.sort_by(|a, b| a.name.cmp(&b.name));
    flows
}

/// Reads, interpolates and wraps one file as a layer.
fn read_layer(
    file: &Path,
    env: &Environment,
    is_entity: bool,
    problems: &mut Vec<Diagnostic>,
) -> Option<Layer> {
    let (source, mut value) = match SourceFile::read(file) {
        Ok(parsed) => parsed,
        Err(d) => {
            problems.push(d);
            return None;
        }
    };
    if !value.is_mapping() {
        problems
            .push(Diagnostic::new("must be a mapping of keys to values").at(Location::file(file)));
        return None;
    }
    env.interpolate(&mut value, &source, "", problems);
    Some(Layer {
        source: Some(Arc::new(source)),
        base: String::new(),
        value,
        is_entity,
    })
}

/// The flow's entities: `entities/*.yml` when the folder exists (it wins over an inline
/// list, with a warning), else the inline `entities:` list.
fn collect_entities(
    flow: &FlowSource,
    env: &Environment,
    problems: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<(String, Option<Layer>)> {
    let mut entities: Vec<(String, Option<Layer>)> = Vec::new();
    let folder = flow
        .dir
        .as_ref()
        .map(|d| d.join("entities"))
        .filter(|d| d.is_dir());
    if let Some(folder) = &folder {
        let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
        });
        files.sort();
        for file in files {
            let Some(layer) = read_layer(&file, env, true, problems) else {
                continue;
            };
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let name = match layer.get("name") {
                None => stem,
                Some(Value::String(n)) => n.clone(),
                Some(_) => {
                    problems.push(layer.problem("name", "must be a string"));
                    continue;
                }
            };
            entities.push((name, Some(layer)));
        }
        entities.sort_by(|a, b| a.0.cmp(&b.0));
        if flow.layer.get("entities").is_some() {
            warnings.push(flow.layer.problem(
                "entities",
                format!(
                    "is ignored: the entities/ folder ({}) wins over the inline list",
                    folder.display()
                ),
            ));
        }
    } else if let Some(list) = flow.layer.get("entities") {
        match list.as_sequence() {
            None => problems.push(
                flow.layer
                    .problem("entities", "must be a list of names or mappings"),
            ),
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let base = format!(
                        "{}{}entities.{i}",
                        flow.layer.base,
                        if flow.layer.base.is_empty() { "" } else { "." }
                    );
                    let layer = |value: Value| Layer {
                        source: flow.layer.source.clone(),
                        base: base.clone(),
                        value,
                        is_entity: true,
                    };
                    match item {
                        Value::String(name) => entities.push((name.clone(), None)),
                        Value::Mapping(m) => match m.get("name") {
                            Some(Value::String(name)) => {
                                entities.push((name.clone(), Some(layer(item.clone()))))
                            }
                            _ => problems.push(
                                flow.layer
                                    .problem(&format!("entities.{i}"), "needs a `name`")
                                    .hint("write `- name: my_entity`"),
                            ),
                        },
                        _ => problems.push(
                            flow.layer
                                .problem(&format!("entities.{i}"), "must be a name or a mapping"),
                        ),
                    }
                }
            }
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for (name, layer) in &entities {
        let at = |msg: String| match layer {
            Some(l) => l.problem("name", msg),
            None => flow.layer.problem("entities", msg),
        };
        if let Err(why) = check_name(name) {
            problems.push(at(format!("entity name `{name}` {why}")));
        }
        if seen.contains(&name.as_str()) {
            problems.push(at(format!(
                "entity `{name}` is defined twice in flow `{}`",
                flow.name
            )));
        }
        seen.push(name);
    }
    entities
}

/// Names become folder names and selectors: no separators, no dots-only, not empty.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        return Err("is empty");
    }
    if name.contains(['/', '\\']) || name == "." || name == ".." || name.contains('\0') {
        return Err("cannot contain path separators or be `.`/`..`");
    }
    Ok(())
}

/// Parses `--var flow.<flow>.<dotted.key>=value` into one override mapping per flow.
fn parse_vars(
    vars: &[String],
    flows: &[String],
    problems: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Value> {
    let mut overrides: BTreeMap<String, Value> = BTreeMap::new();
    let form =
        "write --var flow.<flow>.<key>=<value>, e.g. --var flow.sales.store.compression=zstd";
    for var in vars {
        let bad = |msg: String| Diagnostic::new(msg).key(format!("--var {var}")).hint(form);
        let Some((key, raw)) = var.split_once('=') else {
            problems.push(bad("has no `=`".into()));
            continue;
        };
        let Some(rest) = key.strip_prefix("flow.") else {
            problems.push(bad("must start with `flow.`".into()));
            continue;
        };
        let flow = flows
            .iter()
            .filter(|f| rest.starts_with(&format!("{f}.")))
            .max_by_key(|f| f.len());
        let Some(flow) = flow else {
            problems.push(bad(format!(
                "names no known flow; flows: {}",
                flows.join(", ")
            )));
            continue;
        };
        let dotted = &rest[flow.len() + 1..];
        if dotted.split('.').any(str::is_empty) {
            problems.push(bad("has an empty key segment".into()));
            continue;
        }
        let value =
            serde_yaml::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
        let nested = dotted.rsplit('.').fold(value, |inner, segment| {
            let mut m = Mapping::new();
            m.insert(Value::String(segment.to_string()), inner);
            Value::Mapping(m)
        });
        deep_merge(
            overrides
                .entry(flow.clone())
                .or_insert_with(|| Value::Mapping(Mapping::new())),
            &nested,
        );
    }
    overrides
}
