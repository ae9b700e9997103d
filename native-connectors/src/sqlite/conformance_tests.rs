//! The store conformance suite run by the SQLite store on database files of its own, with
//! the kill -9 check in a child process (this test binary).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use hygge_runtime::contract::{Connector, Role};
use hygge_runtime::publish::SqlTable;
use hygge_runtime::testing::connector_config;

use super::{SQLITE, split};
use crate::arrow_db::conformance::{self, DbHarness, conforms};

/// The store of `<name>` in the SQLite file `db`.
fn harness(db: &Path, name: &str) -> DbHarness {
    let value: serde_yaml::Value = serde_yaml::from_str(&format!(
        "path: {}\ntable: {name}\nif_exists: append\n",
        db.display()
    ))
    .unwrap();
    let connections = BTreeMap::new();
    let config = connector_config(&value, Role::Store, &connections);
    DbHarness {
        settings: split(&config).unwrap().1,
        spec: SQLITE.store(&config).unwrap().unwrap(),
        table: SqlTable::new("main", name),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_store_conforms() {
    conforms(
        "SQLite",
        "db",
        harness,
        "sqlite::conformance_tests::conformance_child",
    )
    .await;
}

/// The child of the kill -9 check; does nothing unless started by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_child() {
    conformance::conformance_child(harness).await;
}
