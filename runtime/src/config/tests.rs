//! The project model's rules, each against real files in a temporary project.

use std::path::Path;
use std::sync::Arc;

use serde_yaml::Value;

use super::*;
use crate::contract::*;

/// A connector that accepts any config and echoes it.
struct Echo;

struct EchoSpec(String);

impl HomeSpec for EchoSpec {
    fn build(&self, _run: &RunScope) -> Box<dyn Home> {
        unreachable!("config tests never run flows")
    }
    fn describe(&self) -> String {
        self.0.clone()
    }
}

impl StoreSpec for EchoSpec {
    fn build(&self, _run: &RunScope) -> Box<dyn Store> {
        unreachable!("config tests never run flows")
    }
    fn describe(&self) -> String {
        self.0.clone()
    }
}

fn echo(config: &ConnectorConfig<'_>) -> String {
    format!(
        "sets_path={} names_entity={}",
        config.entity_sets_path, config.path_names_entity
    )
}

impl Connector for Echo {
    fn name(&self) -> &'static str {
        "parquet"
    }
    fn description(&self) -> &'static str {
        "echo"
    }
    fn home(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn HomeSpec>, ConfigProblem>> {
        if config.value.get("fail").is_some() {
            return Some(Err(
                ConfigProblem::key("fail", "was asked to fail").hint("remove it")
            ));
        }
        Some(Ok(Arc::new(EchoSpec(echo(config)))))
    }
    fn store(
        &self,
        config: &ConnectorConfig<'_>,
    ) -> Option<Result<Arc<dyn StoreSpec>, ConfigProblem>> {
        Some(Ok(Arc::new(EchoSpec(echo(config)))))
    }
}

static ECHO: Echo = Echo;

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    dir
}

fn load(dir: &Path, vars: &[&str]) -> Result<Project, Diagnostics> {
    let options = LoadOptions {
        project: Some(dir.to_path_buf()),
        cwd: dir.to_path_buf(),
        vars: vars.iter().map(|v| v.to_string()).collect(),
        run_type: None,
    };
    load_project(&Registry::new(&[&ECHO]), &options)
}

fn entity<'a>(p: &'a Project, name: &str) -> &'a ResolvedEntity {
    p.entities()
        .find(|e| e.qualified_name() == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn get<'a>(v: &'a Value, key: &str) -> &'a Value {
    key.split('.').fold(v, |v, k| &v[k])
}

#[test]
fn precedence_is_entity_then_flow_defaults_then_flow_then_project_defaults() {
    let dir = project(&[
        (
            "hygge.yml",
            "defaults:\n  queue_size: 1\n  timeout: 11\n  store: {compression: gzip, level: 1, path: p}\n",
        ),
        (
            "flows/f/flow.yml",
            "home: src\nstore: {path: out, level: 2}\nqueue_size: 2\ndefaults:\n  queue_size: 3\n  store: {level: 3}\n",
        ),
        (
            "flows/f/entities/a.yml",
            "queue_size: 4\nstore: {level: 4}\n",
        ),
        ("flows/f/entities/b.yml", "name: b\n"),
    ]);
    let p = load(dir.path(), &[]).unwrap();
    let a = entity(&p, "f.a");
    assert_eq!(a.queue_size, 4);
    assert_eq!(get(&a.store_config, "level"), &Value::from(4));
    assert_eq!(get(&a.store_config, "compression"), &Value::from("gzip"));
    assert_eq!(get(&a.store_config, "path"), &Value::from("out"));
    assert_eq!(a.timeout, Some(std::time::Duration::from_secs(11)));
    let b = entity(&p, "f.b");
    assert_eq!(b.queue_size, 3);
    assert_eq!(get(&b.store_config, "level"), &Value::from(3));
}

#[test]
fn entity_name_defaults_to_the_file_stem_and_flow_to_its_folder() {
    let dir = project(&[
        ("hygge.yml", ""),
        ("flows/sales/flow.yml", "home: src\nstore: out\n"),
        ("flows/sales/entities/orders.yml", "columns: [id]\n"),
        ("flows/sales/entities/renamed.yaml", "name: customers\n"),
    ]);
    let p = load(dir.path(), &[]).unwrap();
    let names: Vec<String> = p.entities().map(ResolvedEntity::qualified_name).collect();
    assert_eq!(names, ["sales.customers", "sales.orders"]);
    assert_eq!(p.name, dir.path().file_name().unwrap().to_string_lossy());
    assert_eq!(
        entity(&p, "sales.orders").request.columns(),
        Some(&["id".to_string()][..])
    );
}

#[test]
fn inline_flows_merge_with_folder_flows_and_duplicates_are_errors() {
    let dir = project(&[
        (
            "hygge.yml",
            "flows:\n  inline:\n    home: a\n    store: b\n    entities: [x, {name: y, queue_size: 9}]\n",
        ),
        ("flows/folder/flow.yml", "home: a\nstore: b\n"),
    ]);
    let p = load(dir.path(), &[]).unwrap();
    let flows: Vec<&str> = p.flows.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(flows, ["folder", "inline"]);
    assert_eq!(entity(&p, "inline.y").queue_size, 9);
    assert_eq!(entity(&p, "folder.folder").entity, "folder");

    let dir = project(&[
        (
            "hygge.yml",
            "flows:\n  folder:\n    home: a\n    store: b\n",
        ),
        ("flows/folder/flow.yml", "home: a\nstore: b\n"),
    ]);
    let err = load(dir.path(), &[]).unwrap_err().to_string();
    assert!(
        err.contains("also defined in a folder") && err.contains("hygge.yml:2:3"),
        "{err}"
    );
}

#[test]
fn the_entities_folder_wins_over_an_inline_list_with_a_warning() {
    let dir = project(&[
        ("hygge.yml", ""),
        (
            "flows/f/flow.yml",
            "home: a\nstore: b\nentities: [inline_one]\n",
        ),
        ("flows/f/entities/from_file.yml", ""),
    ]);
    let p = load(dir.path(), &[]).unwrap();
    let names: Vec<String> = p.entities().map(ResolvedEntity::qualified_name).collect();
    assert_eq!(names, ["f.from_file"]);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.to_string().contains("entities/ folder")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn templating_and_entity_paths() {
    let dir = project(&[
        ("hygge.yml", ""),
        (
            "flows/f/flow.yml",
            "home: {path: 'src/{flow}'}\nstore: {path: 'out/{entity}/data'}\n",
        ),
        ("flows/f/entities/a.yml", ""),
        ("flows/f/entities/b.yml", "home: {path: special}\n"),
    ]);
    let p = load(dir.path(), &[]).unwrap();
    let a = entity(&p, "f.a");
    assert_eq!(get(&a.home_config, "path"), &Value::from("src/f"));
    assert_eq!(get(&a.store_config, "path"), &Value::from("out/a/data"));
    assert_eq!(a.store.describe(), "sets_path=false names_entity=true");
    assert_eq!(a.home.describe(), "sets_path=false names_entity=false");
    let b = entity(&p, "f.b");
    assert_eq!(
        get(&b.home_config, "path"),
        &Value::from("src/{flow}/special".replace("{flow}", "f"))
    );
    assert_eq!(b.home.describe(), "sets_path=true names_entity=false");
}

#[test]
fn var_overrides_win_and_are_typed() {
    let dir = project(&[
        ("hygge.yml", ""),
        ("flows/f/flow.yml", "home: a\nstore: b\n"),
        ("flows/f/entities/e.yml", "queue_size: 4\n"),
    ]);
    let p = load(
        dir.path(),
        &["flow.f.queue_size=7", "flow.f.store.compression=zstd"],
    )
    .unwrap();
    let e = entity(&p, "f.e");
    assert_eq!(e.queue_size, 7);
    assert_eq!(get(&e.store_config, "compression"), &Value::from("zstd"));
    let err = load(
        dir.path(),
        &[
            "flow.nope.queue_size=1",
            "queue_size=1",
            "flow.f.queue_sise=2",
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("names no known flow") && err.contains("must start with `flow.`"),
        "{err}"
    );
    assert!(err.contains("did you mean `queue_size`?"), "{err}");
}

#[test]
fn run_type_aliases() {
    for (yaml, expected) in [
        ("run_type: incremental", RunType::Incremental),
        ("load_type: incremental", RunType::Incremental),
        ("full_drop: false", RunType::Incremental),
        ("full_drop: true", RunType::FullDrop),
        ("", RunType::FullDrop),
    ] {
        let dir = project(&[
            ("hygge.yml", ""),
            ("flows/f/flow.yml", &format!("home: a\nstore: b\n{yaml}\n")),
        ]);
        assert_eq!(
            entity(&load(dir.path(), &[]).unwrap(), "f.f").run_type,
            expected,
            "{yaml}"
        );
    }
}

#[test]
fn every_watermark_form_reads_the_same() {
    let forms = [
        "watermark: {primary_key: id, watermark_column: updated_at, initial: 2024-01-01}\n",
        "watermark: {primary_key: [id], column: updated_at}\nwatermark_initial: 2024-01-01\n",
        "watermark: {primary_key: id}\nwatermark_column: updated_at\nwatermark_initial: 2024-01-01\n",
    ];
    for form in forms {
        let dir = project(&[
            ("hygge.yml", ""),
            (
                "flows/f/flow.yml",
                &format!("home: a\nstore: b\nload_type: incremental\n{form}"),
            ),
        ]);
        let project = load(dir.path(), &[]).unwrap();
        let e = entity(&project, "f.f");
        let w = e.watermark.clone().unwrap();
        assert_eq!(w.primary_key, ["id"], "{form}");
        assert_eq!(w.column, "updated_at", "{form}");
        assert_eq!(w.initial.as_deref(), Some("2024-01-01"), "{form}");
        assert_eq!(e.run_type, RunType::Incremental, "{form}");
        assert!(project.warnings.is_empty(), "{:?}", project.warnings);
    }
    let dir = project(&[
        ("hygge.yml", ""),
        (
            "flows/f/flow.yml",
            "home: a\nstore: b\nwatermark: {primary_key: id}\n",
        ),
    ]);
    let err = load(dir.path(), &[]).unwrap_err().to_string();
    assert!(
        err.contains("needs `column`") && err.contains("flow.yml"),
        "{err}"
    );
    let dir = project(&[
        ("hygge.yml", ""),
        (
            "flows/f/flow.yml",
            "home: a\nstore: b\nwatermark: {colum: x}\n",
        ),
    ]);
    let err = load(dir.path(), &[]).unwrap_err().to_string();
    assert!(
        err.contains("colum") && err.contains("flow.yml:3:"),
        "{err}"
    );
}

#[test]
fn options_and_store_level_keys_are_applied_not_ignored() {
    let dir = project(&[
        ("hygge.yml", ""),
        (
            "flows/f/flow.yml",
            "home: a\nstore: b\nbatch_size: 500\noptions: {queue_size: 5}\n",
        ),
        ("flows/f/entities/e.yml", "options: {batch_size: 100000}\n"),
    ]);
    let e = entity(&load(dir.path(), &[]).unwrap(), "f.e")
        .store_config
        .clone();
    assert_eq!(get(&e, "batch_size"), &Value::from(100_000));
    let p = load(dir.path(), &[]).unwrap();
    assert_eq!(entity(&p, "f.e").queue_size, 5);
}

#[test]
fn connector_problems_point_at_the_file_that_wrote_the_key() {
    let dir = project(&[
        ("hygge.yml", ""),
        ("flows/f/flow.yml", "home: a\nstore: b\n"),
        ("flows/f/entities/e.yml", "home:\n  fail: true\n"),
    ]);
    let err = load(dir.path(), &[]).unwrap_err().to_string();
    assert!(
        err.contains("entities/e.yml:2:3")
            && err.contains("`home.fail`")
            && err.contains("remove it"),
        "{err}"
    );
}

#[test]
fn connections_are_validated_and_references_checked() {
    let dir = project(&[
        (
            "hygge.yml",
            "connections:\n  warehouse: {type: mssql, server: x, pool_size: 0}\n  broken: {server: y}\n",
        ),
        (
            "flows/f/flow.yml",
            "home: {path: a, connection: warehose}\nstore: b\n",
        ),
    ]);
    let err = load(dir.path(), &[]).unwrap_err().to_string();
    assert!(
        err.contains("pool_size") && err.contains("has no `type`"),
        "{err}"
    );
    assert!(
        err.contains("unknown connection `warehose`") && err.contains("did you mean `warehouse`?"),
        "{err}"
    );
}

#[test]
fn legacy_python_keys_are_accepted_with_a_warning() {
    let dir = project(&[
        ("hygge.yml", "options: {log_level: INFO}\n"),
        (
            "flows/f/flow.yml",
            "name: f\nhome: a\nstore: b\ndefaults: {key_column: id, batch_size: 10000}\n",
        ),
        (
            "flows/f/entities/users.yml",
            "name: users\nsource_config: {where: x}\n",
        ),
    ]);
    let p = load(dir.path(), &[]).unwrap();
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    assert_eq!(
        get(&entity(&p, "f.users").store_config, "batch_size"),
        &Value::from(10_000)
    );
}

#[test]
fn a_flow_without_home_or_store_is_an_error() {
    let dir = project(&[("hygge.yml", ""), ("flows/f/flow.yml", "home: a\n")]);
    let err = load(dir.path(), &[]).unwrap_err().to_string();
    assert!(err.contains("has no `store`"), "{err}");
}

#[test]
fn selection_by_flow_and_entity() {
    let dir = project(&[
        ("hygge.yml", ""),
        (
            "flows/a/flow.yml",
            "home: x\nstore: y\nentities: [one, two]\n",
        ),
        ("flows/b/flow.yml", "home: x\nstore: y\nentities: [three]\n"),
    ]);
    let p = load(dir.path(), &[]).unwrap();
    let names = |flows: &[&str], entities: &[&str]| -> Vec<String> {
        let f: Vec<String> = flows.iter().map(|s| s.to_string()).collect();
        let e: Vec<String> = entities.iter().map(|s| s.to_string()).collect();
        p.select(&f, &e)
            .unwrap()
            .iter()
            .map(|e| e.qualified_name())
            .collect()
    };
    assert_eq!(names(&[], &[]), ["a.one", "a.two", "b.three"]);
    assert_eq!(names(&["b"], &[]), ["b.three"]);
    assert_eq!(names(&[], &["a.two"]), ["a.two"]);
    assert!(
        p.select(&[], &["a.four".into()])
            .unwrap_err()
            .to_string()
            .contains("a.one, a.two, b.three")
    );
}
