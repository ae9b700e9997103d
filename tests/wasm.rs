//! The same project through `runtime: native` and `runtime: wasm` gives identical tables,
//! and a second start loads the compiled component from the cache.

#![allow(clippy::unwrap_used)]

mod common;

use arrow_array::RecordBatch;
use common::*;

fn all_rows(dir: &std::path::Path) -> RecordBatch {
    let batches = read_dir_batches(dir);
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

#[test]
fn native_and_wasm_runtimes_write_identical_tables() {
    let (_tmp, dir) = init_project();
    let cache = tempfile::tempdir().unwrap();
    let go = |extra: &[&str]| {
        let mut cmd = hygge();
        cmd.arg("--project")
            .arg(&dir)
            .arg("go")
            .env("HYGGE_CACHE_DIR", cache.path());
        cmd.args(["--var", "flow.shop.store.compression=snappy"])
            .args(extra);
        ok(cmd.output().unwrap())
    };
    go(&["--var", "flow.shop.store.path=data/native"]);
    let out = go(&[
        "--var",
        "flow.shop.store.path=data/wasm",
        "--var",
        "flow.shop.home.runtime=wasm",
        "--var",
        "flow.shop.store.runtime=wasm",
    ]);
    assert!(out.contains("component loaded"), "{out}");
    for entity in ["customers", "orders"] {
        let native = all_rows(&dir.join("data/native").join(entity));
        let wasm = all_rows(&dir.join("data/wasm").join(entity));
        assert_eq!(
            native.num_rows(),
            if entity == "orders" { 1000 } else { 200 }
        );
        assert_eq!(native, wasm, "{entity} differs between runtimes");
    }
    // A full-drop rerun through the component replaces the set, and the cache is hit.
    let out = go(&[
        "--var",
        "flow.shop.store.path=data/wasm",
        "--var",
        "flow.shop.home.runtime=wasm",
        "--var",
        "flow.shop.store.runtime=wasm",
    ]);
    assert!(
        out.contains("cache=hit"),
        "the second start compiled again:\n{out}"
    );
    assert_eq!(count_rows(&dir.join("data/wasm/orders")), 1000);
    assert_eq!(parquet_files(&dir.join("data/wasm/orders")).len(), 1);
}

#[test]
fn wasm_runtime_config_errors_are_clear() {
    let (_tmp, dir) = init_project();
    let out = fails(run(&dir, &["go", "--var", "flow.shop.store.runtime=wasm"]));
    assert!(
        out.contains("zstd is not available with runtime: wasm"),
        "{out}"
    );
    let out = fails(run(
        &dir,
        &["go", "--var", "flow.shop.home.memory_limit=64"],
    ));
    assert!(out.contains("applies to runtime: wasm only"), "{out}");
}
