//! The store conformance suite (`hygge_runtime::testing`) run by the PostgreSQL store
//! against a real server, with the kill -9 check in a child process (this test binary).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;

use async_trait::async_trait;
use hygge_pg_test_server::{PASSWORD, PgServer, USER, psql_at};
use hygge_runtime::contract::{Connector, Role, StoreSpec};
use hygge_runtime::testing::kill::{CHILD_ENV, child_main, kill_9_between_staging_and_publishing};
use hygge_runtime::testing::{StoreHarness, connector_config, run_suite};
use serde_yaml::Value;

use super::POSTGRES;

/// The keys of a home or store on the server at `port`: the connection, then `extra`.
pub(super) fn keys(port: u16, extra: &str) -> Value {
    serde_yaml::from_str(&format!(
        "url: postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/postgres?sslmode=disable\n{extra}"
    ))
    .unwrap()
}

/// The store for `extra` keys on the server at `port`.
pub(super) fn store(port: u16, extra: &str) -> Arc<dyn StoreSpec> {
    let value = keys(port, extra);
    POSTGRES
        .store(&connector_config(&value, Role::Store, &BTreeMap::new()))
        .unwrap()
        .unwrap()
}

/// One target table, `conformance.<name>`.
struct Table {
    port: u16,
    name: String,
    spec: Arc<dyn StoreSpec>,
}

impl Table {
    fn new(port: u16, name: &str) -> Table {
        // A state schema of its own, so that checks never see each other's watermark.
        let spec = store(
            port,
            &format!("table: conformance.{name}\nif_exists: append\nstate_schema: state_{name}\n"),
        );
        Table {
            port,
            name: name.to_string(),
            spec,
        }
    }

    fn psql(&self, sql: &str) -> Result<String, String> {
        psql_at(self.port, sql).map_err(|e| e.to_string())
    }

    fn exists(&self) -> Result<bool, String> {
        Ok(self.psql(&format!(
            "SELECT to_regclass('conformance.\"{}\"') IS NOT NULL",
            self.name
        ))? == "t")
    }
}

#[async_trait]
impl StoreHarness for Table {
    fn spec(&self) -> Arc<dyn StoreSpec> {
        self.spec.clone()
    }

    async fn published_ids(&self) -> Result<Vec<i64>, String> {
        if !self.exists()? {
            return Ok(Vec::new());
        }
        let ids = self.psql(&format!(
            "SELECT id FROM conformance.\"{}\" ORDER BY id",
            self.name
        ))?;
        ids.lines()
            .map(|l| l.parse().map_err(|e| format!("{l}: {e}")))
            .collect()
    }

    async fn fingerprint(&self) -> Result<String, String> {
        if !self.exists()? {
            return Ok("no table".into());
        }
        self.psql(&format!(
            "SELECT id, updated_at, name FROM conformance.\"{}\" ORDER BY id",
            self.name
        ))
    }

    async fn plant_stale_staging(&self, run_id: &str) -> Result<(), String> {
        self.psql(&format!(
            "CREATE SCHEMA IF NOT EXISTS conformance; CREATE TABLE conformance.\"{}__hygge_{run_id}\" (id bigint)",
            self.name
        ))
        .map(|_| ())
    }

    async fn staging(&self) -> Result<Vec<String>, String> {
        let listed = self.psql(&format!(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'conformance' \
             AND starts_with(table_name, '{}__hygge_') ORDER BY 1",
            self.name
        ))?;
        Ok(listed.lines().map(String::from).collect())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_conforms() {
    let server = PgServer::start().unwrap();
    let port = server.port();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let make = move |check: &str| {
        let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::new(Table::new(
            port,
            &format!("{}_{n}", check.replace('-', "_")),
        )) as Box<dyn StoreHarness>
    };
    if let Err(failures) = run_suite(&make).await {
        panic!("the PostgreSQL store fails the conformance suite:\n{failures}");
    }
    let harness = Table::new(port, "kill");
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "postgres::conformance_tests::conformance_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{port}|kill"));
    if let Err(why) = kill_9_between_staging_and_publishing(&harness, child).await {
        panic!("the PostgreSQL store: {why}");
    }
}

/// The child of the kill -9 check; does nothing unless started by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_child() {
    let Ok(target) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (port, name) = target.split_once('|').unwrap();
    child_main(&Table::new(port.parse().unwrap(), name)).await;
}
