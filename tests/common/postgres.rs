//! Helpers for end-to-end tests against a real PostgreSQL started by the test.

use std::path::Path;
use std::process::Output;

use hygge_pg_test_server::{PASSWORD, PgServer};

use super::hygge;

/// Runs hygge against the project in `dir`, with the server's password (or `password`) in
/// the environment.
pub fn pg_run(dir: &Path, args: &[&str], password: Option<&str>) -> Output {
    let mut cmd = hygge();
    cmd.arg("--project")
        .arg(dir)
        .args(args)
        .env("HYGGE_TEST_PG_PASSWORD", password.unwrap_or(PASSWORD));
    cmd.output().expect("hygge runs")
}

/// A project named `pg_e2e` with the connection `db` to `server` and `flows` (YAML lines
/// indented under `flows:`).
pub fn pg_project(server: &PgServer, flows: &str) -> String {
    format!(
        "name: pg_e2e
connections:
  db:
    type: postgres
    host: 127.0.0.1
    port: {}
    database: postgres
    user: postgres
    password: ${{HYGGE_TEST_PG_PASSWORD}}
    sslmode: disable
    pool_size: 4
flows:
{flows}",
        server.port()
    )
}

/// Runs SQL with psql, the independent client; panics with psql's error.
pub fn psql(server: &PgServer, sql: &str) -> String {
    server
        .psql(sql)
        .unwrap_or_else(|e| panic!("psql failed: {e}"))
}
