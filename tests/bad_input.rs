//! Every bad input gets a clear message, exit code 1, and leaves the destination
//! byte-identical.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;

/// Runs `go` once so the destination has data, breaks the project with `edit`, runs `go`
/// again and checks the failure and that the whole destination did not change.
fn breaks(edit: impl FnOnce(&Path)) -> String {
    breaks_entity("", edit)
}

/// As [`breaks`], for a failure at run time: the failed entity's destination (`entity`) is
/// unchanged while the other entity may publish.
fn breaks_entity(entity: &str, edit: impl FnOnce(&Path)) -> String {
    let (_tmp, dir) = init_project();
    ok(run(&dir, &["go"]));
    let lake = dir.join("data/lake").join(entity);
    let before = snapshot(&lake);
    edit(&dir);
    let out = fails(run(&dir, &["go"]));
    assert_eq!(snapshot(&lake), before, "the destination changed:\n{out}");
    out
}

fn edit_file(dir: &Path, rel: &str, from: &str, to: &str) {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} has no {from:?}");
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn unknown_key_names_file_line_and_suggests() {
    let out = breaks(|d| {
        edit_file(
            d,
            "flows/shop/flow.yml",
            "compression: zstd",
            "comression: zstd",
        )
    });
    assert!(out.contains("flows/shop/flow.yml:"), "{out}");
    assert!(
        out.contains("store.comression") && out.contains("did you mean `compression`?"),
        "{out}"
    );
}

#[test]
fn unknown_flow_level_key_is_reported_with_its_line() {
    let out = breaks(|d| {
        edit_file(
            d,
            "flows/shop/flow.yml",
            "run_type: full_drop",
            "run_typ: full_drop",
        )
    });
    assert!(
        out.contains("flows/shop/flow.yml:10:1") && out.contains("did you mean `run_type`?"),
        "{out}"
    );
}

#[test]
fn yaml_syntax_errors_name_line_and_column() {
    let out = breaks(|d| {
        edit_file(
            d,
            "flows/shop/entities/orders.yml",
            "columns:",
            "columns: [oops",
        )
    });
    assert!(
        out.contains("flows/shop/entities/orders.yml:") && out.contains("invalid YAML"),
        "{out}"
    );
}

#[test]
fn type_errors_name_the_key() {
    let out = breaks(|d| {
        edit_file(
            d,
            "flows/shop/flow.yml",
            "queue_size: 8",
            "queue_size: lots",
        )
    });
    assert!(
        out.contains("flows/shop/flow.yml:") && out.contains("queue_size"),
        "{out}"
    );
}

#[test]
fn unset_variable_names_variable_file_and_key() {
    let out = breaks(|d| {
        edit_file(
            d,
            "flows/shop/flow.yml",
            "path: data/lake",
            "path: ${HYGGE_E2E_UNSET_VARIABLE}",
        )
    });
    assert!(
        out.contains("HYGGE_E2E_UNSET_VARIABLE")
            && out.contains("flows/shop/flow.yml:")
            && out.contains("store.path"),
        "{out}"
    );
}

#[test]
fn unknown_connector_type_lists_known_types() {
    let out = breaks(|d| {
        edit_file(
            d,
            "flows/shop/flow.yml",
            "type: parquet\n  path: data/source",
            "type: parkett\n  path: data/source",
        )
    });
    assert!(
        out.contains("unknown connector type `parkett`") && out.contains("parquet, local"),
        "{out}"
    );
}

#[test]
fn every_problem_is_reported_together() {
    let out = breaks(|d| {
        edit_file(d, "flows/shop/flow.yml", "queue_size: 8", "queue_sise: 8");
        edit_file(
            d,
            "flows/shop/entities/orders.yml",
            "name: orders",
            "name: orders\nbatch_sise: 3",
        );
        edit_file(d, "hygge.yml", "log_level: info", "log_level: loud");
    });
    assert!(out.contains("3 problems"), "{out}");
    assert!(
        out.contains("queue_sise") && out.contains("batch_sise") && out.contains("loud"),
        "{out}"
    );
}

#[test]
fn a_column_that_does_not_exist_fails_the_flow_naming_it() {
    let out = breaks_entity("orders", |d| {
        edit_file(
            d,
            "flows/shop/entities/orders.yml",
            "  - status",
            "  - statuss",
        )
    });
    assert!(
        out.contains("shop") && out.contains("orders") && out.contains("statuss"),
        "{out}"
    );
}

#[test]
fn a_corrupt_file_is_a_data_error_naming_it() {
    let out = breaks_entity("orders", |d| {
        std::fs::write(
            d.join("data/source/orders/orders.parquet"),
            b"PAR1 this is not parquet",
        )
        .unwrap();
    });
    assert!(
        out.contains("orders.parquet") && out.contains("[data]"),
        "{out}"
    );
    assert!(out.contains("flow `shop`, entity `orders`"), "{out}");
}

#[test]
fn a_missing_home_path_is_a_clear_error() {
    let out = breaks_entity("customers", |d| {
        std::fs::remove_dir_all(d.join("data/source/customers")).unwrap()
    });
    assert!(
        out.contains("customers") && out.contains("does not exist"),
        "{out}"
    );
}

#[test]
fn no_project_found_lists_searched_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let out = fails(hygge().arg("go").current_dir(tmp.path()).output().unwrap());
    assert!(
        out.contains("no hygge.yml found") && out.contains("hygge init"),
        "{out}"
    );
    assert!(out.contains(&tmp.path().display().to_string()), "{out}");
}

#[test]
fn a_failure_stops_new_flows_unless_continue_on_error() {
    let (_tmp, dir) = init_project();
    std::fs::write(
        dir.join("data/source/customers/customers.parquet"),
        b"garbage",
    )
    .unwrap();
    let out = fails(run(&dir, &["go", "--concurrency", "1"]));
    assert!(out.contains("skipped"), "{out}");
    assert!(!dir.join("data/lake/orders").exists(), "{out}");
    edit_file(
        &dir,
        "hygge.yml",
        "continue_on_error: false",
        "continue_on_error: true",
    );
    let out = fails(run(&dir, &["go", "--concurrency", "1"]));
    assert!(out.contains("FAILED"), "{out}");
    assert_eq!(count_rows(&dir.join("data/lake/orders")), 1000);
}
