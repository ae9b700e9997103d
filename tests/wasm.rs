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
    let out = fails(run(
        &dir,
        &["go", "--var", "flow.shop.home.memory_limit=64"],
    ));
    assert!(out.contains("applies to runtime: wasm only"), "{out}");
    // Too little memory to start: said plainly, with the figure to set.
    let out = fails(run(
        &dir,
        &[
            "go",
            "--var",
            "flow.shop.home.runtime=wasm",
            "--var",
            "flow.shop.home.memory_limit=1",
        ],
    ));
    assert!(
        out.contains("cannot start within its memory_limit of 1 MiB")
            && out.contains("set `memory_limit` on the home or store to at least"),
        "{out}"
    );
    assert!(!out.contains("does the component export"), "{out}");
}

/// A project whose flow runs the parquet component as a user component, granted only
/// what `allow:` lists.
fn user_component_project(allow_read: bool) -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = init_project();
    std::fs::write(
        dir.join("parquet.wasm"),
        hygge_native_connectors::parquet::wasm::PARQUET_COMPONENT,
    )
    .unwrap();
    let root = dir.display().to_string();
    let allow = if allow_read {
        "  allow: {read: [data/source]}\n"
    } else {
        ""
    };
    write_files(
        &dir,
        &[
            ("hygge.yml", "name: user\ncomponents:\n  pq: parquet.wasm\n"),
            (
                "flows/shop/flow.yml",
                &format!(
                    "home:\n  type: wasm\n  component: parquet.wasm\n{allow}  config: {{path: '{root}/data/source/{{entity}}'}}\n\
                 store:\n  type: pq\n  publish: data/out/{{entity}}\n  config: {{path: '{root}/data/out/{{entity}}'}}\n"
                ),
            ),
        ],
    );
    (tmp, dir)
}

#[test]
fn user_components_run_with_an_explicit_grant() {
    let (_tmp, dir) = user_component_project(true);
    ok(run(&dir, &["go"]));
    assert_eq!(count_rows(&dir.join("data/out/orders")), 1000);
    assert_eq!(count_rows(&dir.join("data/out/customers")), 200);
}

#[test]
fn debug_shows_what_each_component_is_granted() {
    let (_tmp, dir) = user_component_project(true);
    let out = ok(run(&dir, &["debug"]));
    assert!(
        out.contains("home sandbox: granted read-only data/source as")
            && out.contains("home sandbox: asks for read:home.path, write:store.path"),
        "{out}"
    );
    assert!(
        out.contains("store sandbox: granted read-write the run's staging of data/out/customers")
            && out.contains("memory 512 MiB; 60 s per call"),
        "{out}"
    );
}

#[test]
fn a_user_component_without_a_grant_cannot_read() {
    let (_tmp, dir) = user_component_project(false);
    let out = fails(run(&dir, &["go"]));
    assert!(
        out.contains("component `parquet`") && out.contains("does not exist"),
        "{out}"
    );
    assert!(!dir.join("data/out/orders").exists());
}

#[test]
fn component_inspect_shows_world_description_and_imports() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("parquet.wasm");
    std::fs::write(
        &file,
        hygge_native_connectors::parquet::wasm::PARQUET_COMPONENT,
    )
    .unwrap();
    let out = ok(hygge()
        .args(["component", "inspect"])
        .arg(&file)
        .env("HYGGE_CACHE_DIR", tmp.path())
        .output()
        .unwrap());
    assert!(out.contains("world: connector"), "{out}");
    assert!(
        out.contains("name: parquet") && out.contains("read:home.path"),
        "{out}"
    );
    assert!(
        out.contains("wasi:filesystem/preopens") && out.contains("hygge:connector/types@0.1.0"),
        "{out}"
    );
    assert!(out.contains("hygge:connector/home@0.1.0"), "{out}");
    assert!(
        !out.contains("wasi:sockets") && !out.contains("refused:"),
        "{out}"
    );
}

/// Scaffolds a component of `kind` called `name` in `dir` and builds it with the one build
/// command of its README (a target directory kept between test runs); its `.wasm` file.
fn scaffold_and_build(dir: &std::path::Path, name: &str, kind: &str) -> std::path::PathBuf {
    let crate_dir = dir.join(name);
    let out = ok(hygge()
        .args(["component", "new", "--kind", kind])
        .arg(&crate_dir)
        .output()
        .unwrap());
    assert!(out.contains("cargo build --release"), "{out}");
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-target");
    let build =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--target-dir"])
            .arg(&target)
            .current_dir(&crate_dir)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .unwrap();
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    target.join(format!("wasm32-wasip2/release/{name}.wasm"))
}

#[test]
fn a_scaffolded_component_builds_and_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let wasm = scaffold_and_build(tmp.path(), "demo_conn", "rows");
    write_files(
        tmp.path(),
        &[
            ("project/hygge.yml", "name: gen\n"),
            (
                "project/flows/gen/flow.yml",
                &format!(
                    "home:\n  type: wasm\n  component: {}\n  config: {{rows: 1234}}\nstore: out\n",
                    wasm.display()
                ),
            ),
        ],
    );
    let out = ok(run(&tmp.path().join("project"), &["go"]));
    assert!(
        out.contains("demo_conn: producing 1234 rows"),
        "the component's log line is missing:\n{out}"
    );
    assert_eq!(count_rows(&tmp.path().join("project/out")), 1234);
    let again = fails(
        hygge()
            .args(["component", "new"])
            .arg(tmp.path().join("demo_conn"))
            .output()
            .unwrap(),
    );
    assert!(again.contains("already exists"), "{again}");
}

/// `--kind rest` scaffolds an API connector on the SDK: it reads a JSON API through
/// `wasi:http` inside its `allow: http` grant, and without the grant it is not started.
#[test]
fn a_rest_scaffold_reads_an_api_inside_its_grant() {
    let server = hygge_http_test_server::HttpServer::start(|_| {
        hygge_http_test_server::Response::json(&serde_json::json!([
            {"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": null}
        ]))
    })
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let wasm = scaffold_and_build(tmp.path(), "demo_api", "rest");
    let flow = |allow: &str| {
        format!(
            "home:\n  type: wasm\n  component: {}\n{allow}  config: {{url: '{}/items'}}\nstore: out\n",
            wasm.display(),
            server.url()
        )
    };
    write_files(
        tmp.path(),
        &[
            ("project/hygge.yml", "name: api\n"),
            ("project/flows/api/flow.yml", &flow("")),
        ],
    );
    let refused = fails(run(&tmp.path().join("project"), &["go"]));
    assert!(refused.contains("names no HTTP origin"), "{refused}");
    assert!(server.requests().is_empty());
    write_files(
        tmp.path(),
        &[(
            "project/flows/api/flow.yml",
            &flow(&format!("  allow: {{http: ['{}']}}\n", server.url())),
        )],
    );
    ok(run(&tmp.path().join("project"), &["go"]));
    assert_eq!(count_rows(&tmp.path().join("project/out")), 3);
    assert_eq!(server.requests()[0].path, "/items");
}

/// The component reads the ZSTD files hygge's native store writes (the quickstart's), and
/// writes ZSTD that the native reader (zstd's C library) reads back row for row.
#[test]
fn the_component_reads_and_writes_zstd() {
    let (_tmp, dir) = init_project();
    ok(run(&dir, &["go"]));
    let lake = dir.join("data/lake/orders");
    let codec = |file: &std::path::Path| {
        let reader =
            parquet::file::reader::SerializedFileReader::new(std::fs::File::open(file).unwrap())
                .unwrap();
        parquet::file::reader::FileReader::metadata(&reader)
            .row_group(0)
            .column(0)
            .compression()
    };
    assert!(matches!(
        codec(&parquet_files(&lake)[0]),
        parquet::basic::Compression::ZSTD(_)
    ));
    ok(run(
        &dir,
        &[
            "go",
            "--var",
            "flow.shop.home.path=data/lake",
            "--var",
            "flow.shop.home.runtime=wasm",
            "--var",
            "flow.shop.store.path=data/copy",
            "--var",
            "flow.shop.store.runtime=wasm",
        ],
    ));
    let copy = dir.join("data/copy/orders");
    assert!(matches!(
        codec(&parquet_files(&copy)[0]),
        parquet::basic::Compression::ZSTD(_)
    ));
    assert_eq!(all_rows(&copy), all_rows(&lake));
}

/// A broken file read by the component is named by its path on the host, not in the sandbox.
#[test]
fn component_errors_name_host_paths() {
    let (_tmp, dir) = init_project();
    let broken = dir.join("data/source/orders/zz-broken.parquet");
    std::fs::write(&broken, b"PAR1 this is not parquet PAR1").unwrap();
    let out = fails(run(&dir, &["go", "--var", "flow.shop.home.runtime=wasm"]));
    assert!(out.contains(&broken.display().to_string()), "{out}");
    assert!(!out.contains("/home/zz-broken"), "{out}");
}
