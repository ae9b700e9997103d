//! `hygge init` then `hygge go`, reruns, incremental loads, selection, dry runs, discovery.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[test]
fn init_then_go_moves_every_row() {
    let (_tmp, dir) = init_project();
    let out = ok(run(&dir, &["go"]));
    assert!(out.contains("shop") && out.contains("TOTAL"), "{out}");
    // Not a terminal: plain log lines, each event inside a flow carrying flow and entity.
    assert!(
        out.contains("flow{flow=shop entity=orders}") && out.contains("flow committed rows=1000"),
        "{out}"
    );
    assert_eq!(count_rows(&dir.join("data/lake/customers")), 200);
    assert_eq!(count_rows(&dir.join("data/lake/orders")), 1000);
    // `columns` on the orders entity is applied by the home.
    let orders = read_dir_batches(&dir.join("data/lake/orders"));
    let names: Vec<String> = orders[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        ["order_id", "customer_id", "ordered_at", "amount", "status"]
    );
}

#[test]
fn go_inside_the_project_finds_hygge_yml_walking_up() {
    let (_tmp, dir) = init_project();
    let out = hygge()
        .arg("go")
        .current_dir(dir.join("flows/shop/entities"))
        .output()
        .unwrap();
    ok(out);
    assert_eq!(count_rows(&dir.join("data/lake/customers")), 200);
}

#[test]
fn full_drop_reruns_keep_exact_row_counts() {
    let (_tmp, dir) = init_project();
    for _ in 0..3 {
        ok(run(&dir, &["go"]));
        assert_eq!(count_rows(&dir.join("data/lake/customers")), 200);
        assert_eq!(parquet_files(&dir.join("data/lake/customers")).len(), 1);
    }
    let leftovers = staging_leftovers(&dir.join("data/lake"));
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn incremental_runs_append_with_unique_file_names() {
    let (_tmp, dir) = init_project();
    ok(run(&dir, &["go", "--incremental"]));
    ok(run(&dir, &["go", "--incremental"]));
    assert_eq!(count_rows(&dir.join("data/lake/orders")), 2000);
    let files = parquet_files(&dir.join("data/lake/orders"));
    assert_eq!(files.len(), 2, "{files:?}");
    // A full drop afterwards replaces both runs' files with one run's.
    ok(run(&dir, &["go", "--full-drop"]));
    assert_eq!(count_rows(&dir.join("data/lake/orders")), 1000);
}

#[test]
fn incremental_run_type_from_flow_yml_and_python_file_pattern_never_overwrite() {
    let (_tmp, dir) = init_project();
    let flow = dir.join("flows/shop/flow.yml");
    let text = std::fs::read_to_string(&flow)
        .unwrap()
        .replace("run_type: full_drop", "run_type: incremental")
        .replace(
            "compression: zstd",
            "compression: zstd\n  file_pattern: \"{sequence:020d}.parquet\"",
        );
    std::fs::write(&flow, text).unwrap();
    ok(run(&dir, &["go"]));
    ok(run(&dir, &["go"]));
    let names: Vec<String> = parquet_files(&dir.join("data/lake/customers"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "00000000000000000001.parquet",
            "00000000000000000002.parquet"
        ]
    );
    assert_eq!(count_rows(&dir.join("data/lake/customers")), 400);
}

#[test]
fn flow_and_entity_filters_select_what_runs() {
    let (_tmp, dir) = init_project();
    ok(run(&dir, &["go", "--entity", "shop.orders"]));
    assert!(dir.join("data/lake/orders").exists());
    assert!(!dir.join("data/lake/customers").exists());
    let out = fails(run(&dir, &["go", "--flow", "shopp"]));
    assert!(
        out.contains("unknown flow `shopp`")
            && out.contains("did you mean `shop`?")
            && out.contains("available: shop"),
        "{out}"
    );
    let out = fails(run(&dir, &["go", "--entity", "shop.nope"]));
    assert!(
        out.contains("shop.customers") && out.contains("shop.orders"),
        "{out}"
    );
}

#[test]
fn dry_run_validates_and_moves_nothing() {
    let (_tmp, dir) = init_project();
    let out = ok(run(&dir, &["go", "--dry-run"]));
    assert!(
        out.contains(
            "shop.customers: parquet data/source/customers -> parquet data/lake/customers (zstd(3))"
        ),
        "{out}"
    );
    assert!(out.contains("[full_drop]"), "{out}");
    assert!(!dir.join("data/lake").exists());
}

#[test]
fn json_summary_is_machine_readable() {
    let (_tmp, dir) = init_project();
    let output = run(&dir, &["go", "--json"]);
    assert!(output.status.success(), "{}", text(&output));
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let flows = summary["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 2);
    let rows: u64 = flows.iter().map(|f| f["rows"].as_u64().unwrap()).sum();
    assert_eq!(rows, 1200);
    assert!(flows.iter().all(|f| f["status"] == "succeeded"));
}

#[test]
fn var_overrides_and_dotenv_apply() {
    let (_tmp, dir) = init_project();
    write_files(&dir, &[(".env", "LAKE_DIR=data/from-dotenv\n")]);
    let flow = dir.join("flows/shop/flow.yml");
    let text = std::fs::read_to_string(&flow)
        .unwrap()
        .replace("path: data/lake", "path: ${LAKE_DIR}");
    std::fs::write(&flow, text).unwrap();
    ok(run(&dir, &["go"]));
    assert_eq!(count_rows(&dir.join("data/from-dotenv/customers")), 200);
    ok(run(
        &dir,
        &["go", "--var", "flow.shop.store.path=data/from-var"],
    ));
    assert_eq!(count_rows(&dir.join("data/from-var/orders")), 1000);
}

#[test]
fn list_and_debug_show_the_project() {
    let (_tmp, dir) = init_project();
    let out = ok(run(&dir, &["list", "entities"]));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["shop.customers", "shop.orders"]
    );
    let out = ok(run(&dir, &["list", "flows"]));
    assert!(out.contains("shop (2 entities)"), "{out}");
    let out = ok(run(&dir, &["debug"]));
    assert!(
        out.contains("entity orders")
            && out.contains("\"compression\":\"zstd\"")
            && out.contains("every check passed"),
        "{out}"
    );
    std::fs::remove_dir_all(dir.join("data/source/orders")).unwrap();
    let out = fails(run(&dir, &["debug"]));
    assert!(
        out.contains("✗ home") && out.contains("does not exist"),
        "{out}"
    );
}

#[test]
fn init_refuses_an_existing_folder_without_force() {
    let (_tmp, dir) = init_project();
    let before = snapshot(&dir);
    let out = fails(hygge().arg("init").arg(&dir).output().unwrap());
    assert!(
        out.contains("already exists") && out.contains("--force"),
        "{out}"
    );
    assert_eq!(snapshot(&dir), before);
    ok(hygge()
        .arg("init")
        .arg(&dir)
        .arg("--force")
        .output()
        .unwrap());
}

#[test]
fn version_and_help() {
    let out = ok(hygge().arg("--version").output().unwrap());
    assert!(out.starts_with("hygge "), "{out}");
    let out = ok(hygge().arg("help").output().unwrap());
    for command in ["init", "go", "debug", "list"] {
        assert!(out.contains(command), "{out}");
    }
}
