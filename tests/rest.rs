//! The REST connector end to end, through the `hygge` binary: the bundled sample against
//! the sample API (started here on a free port), incremental runs that ask only for what is
//! new, and `hygge debug`, which shows the HTTP grant and never a secret.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{copy_tree, count_rows, hygge, ok, text};
use hygge_http_test_server::sample_api;

/// Runs `hygge` in `project` against the sample API at `url`, with `token`.
fn run_sample(project: &Path, url: &str, token: &str, args: &[&str]) -> std::process::Output {
    hygge()
        .arg("--project")
        .arg(project)
        .args(args)
        .env("SAMPLE_API_URL", format!("{url}/v1/"))
        .env("SAMPLE_API_TOKEN", token)
        .output()
        .unwrap()
}

fn sample_project() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("rest");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/rest"),
        &project,
    );
    (tmp, project)
}

fn watermarks(project: &Path) -> serde_json::Value {
    let out = ok(hygge()
        .arg("--project")
        .arg(project)
        .args(["state", "--json"])
        .output()
        .unwrap());
    serde_json::from_str(&out).unwrap()
}

#[test]
fn the_bundled_rest_sample_loads_then_asks_only_for_new_records() {
    let (_tmp, project) = sample_project();
    let api = sample_api(0, 250, 100).unwrap();
    let token = hygge_http_test_server::SAMPLE_TOKEN;
    ok(run_sample(&project, &api.url(), token, &["go"]));
    for entity in ["customers", "orders"] {
        assert_eq!(
            count_rows(&project.join("data/out").join(entity)),
            250,
            "{entity}"
        );
    }
    // 250 records in pages of 100: three pages per entity, no updated_since on the first run.
    let first = api.requests();
    assert_eq!(first.len(), 6);
    assert!(first.iter().all(|r| r.param("updated_since").is_none()));
    let state = watermarks(&project);
    let text = state.to_string();
    assert!(text.contains("2026-01-01T04:09:00"), "{text}");

    // The API has grown by 50 records: the next run asks for what came after the watermark.
    let grown = sample_api(0, 300, 100).unwrap();
    let out = ok(run_sample(&project, &grown.url(), token, &["go"]));
    for entity in ["customers", "orders"] {
        assert_eq!(
            count_rows(&project.join("data/out").join(entity)),
            300,
            "{entity}: {out}"
        );
    }
    let asked = grown.requests();
    assert_eq!(asked.len(), 2, "one page of 50 per entity");
    assert!(
        asked.iter().all(|r| r
            .param("updated_since")
            .is_some_and(|s| s.starts_with("2026-01-01T04:09:00"))),
        "{asked:?}"
    );
}

#[test]
fn a_wrong_token_fails_as_an_auth_error_and_leaves_the_store_as_it_was() {
    let (_tmp, project) = sample_project();
    let api = sample_api(0, 10, 100).unwrap();
    let out = run_sample(&project, &api.url(), "wrong-token", &["go"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let message = text(&out);
    assert!(
        message.contains("error [auth]") && message.contains("401"),
        "{message}"
    );
    assert!(
        !message.contains("wrong-token"),
        "the token was printed: {message}"
    );
    assert!(!project.join("data/out/customers").exists());
}

#[test]
fn debug_shows_the_http_grant_and_never_the_token() {
    let (_tmp, project) = sample_project();
    let api = sample_api(0, 10, 100).unwrap();
    let secret = "s3cret-token-do-not-print";
    let out = run_sample(&project, &api.url(), secret, &["debug"]);
    let message = text(&out);
    assert!(
        message.contains(&format!("http: {}", api.url())),
        "{message}"
    );
    assert!(
        !message.contains(secret),
        "the token was printed: {message}"
    );
}
