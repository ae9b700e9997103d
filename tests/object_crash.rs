//! A crash of `hygge go` writing to S3 (moto), at the two moments that matter: while a
//! file is uploading, and after the commit while its files are being made visible. Either
//! way hygge's own home reads one whole committed run, never a mix, and the next run
//! completes or discards what was left.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::objects::{download, orders, round_trip_project, rows_in, s3};
use common::{hygge, ok, run, write_parquet};
use futures_util::TryStreamExt;
use hygge_object_test_servers::Moto;
use hygge_runtime::cloud::ObjectUrl;
use hygge_runtime::publish::objects::ObjectDestination;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;

const URL: &str = "s3://lake/raw/orders";

/// What is under `prefix` in the bucket, relative to `raw/orders/`.
fn listing(moto: &Moto, prefix: &str) -> Vec<String> {
    let (keys, _) = s3(moto);
    let store = keys.open(&ObjectUrl::parse(URL).unwrap().unwrap()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listed: Vec<_> = runtime
        .block_on(
            store
                .list(Some(&ObjectPath::from(format!("raw/orders/{prefix}"))))
                .try_collect(),
        )
        .unwrap();
    let mut names: Vec<String> = listed
        .into_iter()
        .map(|m| m.location.as_ref()["raw/orders/".len()..].to_string())
        .collect();
    names.sort();
    names
}

/// Reads the destination back with hygge's URL home (the `down` flow) into `out`.
fn read_back(dir: &Path) -> usize {
    std::fs::remove_dir_all(dir.join("out")).ok();
    ok(run(dir, &["go", "--flow", "down"]));
    rows_in(&dir.join("out")).len()
}

#[test]
fn kill_9_while_uploading_leaves_the_last_run_then_a_rerun_is_exact() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let (_, yaml) = s3(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    round_trip_project(&dir, &yaml, URL, URL, "parquet");
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(100)]);
    ok(run(&dir, &["go", "--flow", "up"]));
    let old = listing(&moto, "");

    // A home that yields one batch and then never returns: the run is alive, uploading.
    let component = hygge_native_connectors::EVIL_COMPONENT;
    let flow = dir.join("flows/up/flow.yml");
    let normal = std::fs::read_to_string(&flow).unwrap();
    std::fs::write(
        &flow,
        normal.replace(
            "home: {type: parquet, path: data/source}",
            &format!(
                "home: {{type: wasm, component: '{component}', call_timeout: 3600, config: {{attack: batch_then_spin}}}}"
            ),
        ),
    )
    .unwrap();
    let mut child = hygge()
        .arg("--project")
        .arg(&dir)
        .args(["go", "--flow", "up"])
        .spawn()
        .unwrap();
    common::kill_after(&mut child, "starting a multipart upload", || {
        moto.uploads_in_progress("lake").unwrap() > 0
    });

    assert_eq!(
        listing(&moto, ""),
        old,
        "a plain listing shows the last run only"
    );
    assert_eq!(read_back(&dir), 100);

    std::fs::write(&flow, normal).unwrap();
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(300)]);
    ok(run(&dir, &["go", "--flow", "up"]));
    assert_eq!(read_back(&dir), 300);
    assert!(listing(&moto, "_hygge/staging").is_empty());
}

/// The state a kill leaves right after the commit, before any file is visible: the newest
/// log entry names this run's files, which are still in its staging prefix, and the
/// replaced run's file is still visible. Made by undoing a finished publish's last step.
#[test]
fn a_crash_after_the_commit_reads_whole_and_the_next_run_finishes_it() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let (keys, yaml) = s3(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    round_trip_project(&dir, &yaml, URL, URL, "parquet");
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(100)]);
    ok(run(&dir, &["go", "--flow", "up"]));
    let first = download(&keys, URL, &tmp.path().join("first"));
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(250)]);
    ok(run(&dir, &["go", "--flow", "up"]));

    let url = ObjectUrl::parse(URL).unwrap().unwrap();
    let store = keys.open(&url).unwrap();
    let destination = ObjectDestination::new(store.clone(), url.prefix.clone(), URL);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let commit = destination.log().latest().await.unwrap().unwrap();
        for file in commit.added() {
            let visible = destination.visible(&file.path).unwrap();
            let staged = destination.staged(&commit.run_id, &file.path).unwrap();
            store.copy(&visible, &staged).await.unwrap();
            store.delete(&visible).await.unwrap();
        }
        for name in &first {
            let bytes = std::fs::read(tmp.path().join("first").join(name)).unwrap();
            let path = destination.visible(name).unwrap();
            store.put(&path, bytes.into()).await.unwrap();
        }
    });
    assert_eq!(
        download(&keys, URL, &tmp.path().join("mid")),
        first,
        "a plain reader sees the replaced run until the files are made visible"
    );
    assert_eq!(read_back(&dir), 250, "hygge's home reads the committed run");

    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(40)]);
    ok(run(&dir, &["go", "--flow", "up"]));
    assert_eq!(read_back(&dir), 40);
    let visible = download(&keys, URL, &tmp.path().join("last"));
    assert_eq!(visible.len(), 1, "{visible:?}");
    assert_eq!(rows_in(&tmp.path().join("last")).len(), 40);
    assert!(listing(&moto, "_hygge/staging").is_empty());
}
