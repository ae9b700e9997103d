//! The store conformance suite (`hygge_runtime::testing`) run by the MSSQL store against
//! the TDS test server, with the kill -9 check in a child process (this test binary).

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;

use async_trait::async_trait;
use hygge_runtime::contract::StoreSpec;
use hygge_runtime::testing::kill::{CHILD_ENV, child_main, kill_9_between_staging_and_publishing};
use hygge_runtime::testing::{StoreHarness, run_suite};

use super::tests::{Db, store};

/// One target table of the test server.
struct Table {
    db: Arc<Db>,
    /// `dbo.name`.
    table: String,
    spec: Arc<dyn StoreSpec>,
}

impl Table {
    fn new(db: Arc<Db>, table: String) -> Table {
        // A state schema of its own, so that checks never see each other's watermark.
        let state_schema = format!("state_{}", table.split_once('.').unwrap().1);
        let spec = store(
            &db,
            &format!("table: {table}\nif_exists: append\nstate_schema: {state_schema}\n"),
        )
        .unwrap();
        Table { db, table, spec }
    }

    fn name(&self) -> &str {
        self.table.split_once('.').unwrap().1
    }

    async fn exists(&self) -> bool {
        self.db
            .tables_like(&self.table)
            .await
            .iter()
            .any(|t| t == self.name())
    }
}

#[async_trait]
impl StoreHarness for Table {
    fn spec(&self) -> Arc<dyn StoreSpec> {
        self.spec.clone()
    }

    async fn published_ids(&self) -> Result<Vec<i64>, String> {
        if !self.exists().await {
            return Ok(Vec::new());
        }
        let rows = self
            .db
            .sql(&format!("SELECT id FROM {} ORDER BY id", self.table))
            .await;
        Ok(rows.iter().map(|r| r.get::<i64, _>(0).unwrap()).collect())
    }

    async fn fingerprint(&self) -> Result<String, String> {
        if !self.exists().await {
            return Ok("no table".into());
        }
        let rows = self
            .db
            .sql(&format!(
                "SELECT CAST(id AS NVARCHAR(40)), CAST(updated_at AS NVARCHAR(40)), name FROM {} ORDER BY id",
                self.table
            ))
            .await;
        Ok(rows
            .iter()
            .map(|r| {
                (0..3)
                    .map(|i| r.get::<&str, _>(i).unwrap_or("NULL").to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
            .join("\n"))
    }

    async fn plant_stale_staging(&self, run_id: &str) -> Result<(), String> {
        self.db
            .sql(&format!(
                "CREATE TABLE [dbo].[{}__hygge_{run_id}] (id BIGINT NULL)",
                self.name()
            ))
            .await;
        Ok(())
    }

    async fn staging(&self) -> Result<Vec<String>, String> {
        let prefix = format!("{}__hygge_", self.table);
        Ok(self.db.tables_like(&prefix).await)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mssql_store_conforms() {
    let db = Arc::new(Db::start().await);
    let shared = db.clone();
    let make = move |check: &str| {
        Box::new(Table::new(shared.clone(), shared.table(check))) as Box<dyn StoreHarness>
    };
    if let Err(failures) = run_suite(&make).await {
        panic!("the MSSQL store fails the conformance suite:\n{failures}");
    }
    let harness = Table::new(db.clone(), db.table("kill"));
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "mssql::conformance_tests::conformance_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{}|{}", db.settings.port, harness.table));
    if let Err(why) = kill_9_between_staging_and_publishing(&harness, child).await {
        panic!("the MSSQL store: {why}");
    }
}

/// The child of the kill -9 check; does nothing unless started by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_child() {
    let Ok(target) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (port, table) = target.split_once('|').unwrap();
    let db = Arc::new(Db::attach(port.parse().unwrap()));
    child_main(&Table::new(db, table.to_string())).await;
}
