//! Helpers for end-to-end tests against the in-process TDS test server.

use std::path::Path;
use std::process::Output;

use hygge_tds_test_server::TestServer;

use super::hygge;

/// Runs hygge off the async test's threads, with the server's password in the environment.
pub async fn hygge_go(dir: &Path, args: &[&str], password: &str) -> Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let mut cmd = hygge();
        cmd.arg("--project")
            .arg(&dir)
            .args(&args)
            .env("HYGGE_TEST_MSSQL_PASSWORD", password);
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

/// The `connections:` block naming the test server `warehouse`, its password from the
/// environment.
pub fn warehouse(server: &TestServer) -> String {
    format!(
        "connections:
  warehouse:
    type: mssql
    server: 127.0.0.1
    port: {}
    database: hygge
    user: sa
    password: ${{HYGGE_TEST_MSSQL_PASSWORD}}
    encrypt: false
",
        server.port()
    )
}
