//! The committed quickstart sample is exactly what `hygge init` writes, and it runs.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;

#[test]
fn quickstart_is_what_init_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("quickstart");
    ok(hygge().arg("init").arg(&fresh).output().unwrap());
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/quickstart");
    let mut expected = snapshot(&committed);
    expected.retain(|p, _| !p.starts_with("data/lake") && !p.to_string_lossy().contains(".hygge-"));
    let mut made = snapshot(&fresh);
    made.retain(|p, _| !p.to_string_lossy().contains(".hygge-"));
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        made.keys().collect::<Vec<_>>()
    );
    assert!(
        expected == made,
        "samples/quickstart differs from `hygge init quickstart`; regenerate it"
    );
}

#[test]
fn quickstart_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("quickstart");
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/quickstart");
    for (rel, bytes) in snapshot(&committed) {
        if rel.starts_with("data/lake") {
            continue;
        }
        let target = copy.join(&rel);
        if bytes.is_empty() && committed.join(&rel).is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, bytes).unwrap();
        }
    }
    ok(run(&copy, &["go"]));
    assert_eq!(count_rows(&copy.join("data/lake/orders")), 1000);
}
