//! The store conformance suite run by the DuckDB store on database files of its own, with
//! the kill -9 check in a child process (this test binary).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use hygge_object_test_servers::duckdb_library;
use std::sync::Arc;

use hygge_runtime::contract::Role;
use hygge_runtime::database::IfExists;
use hygge_runtime::publish::SqlTable;
use hygge_runtime::testing::connector_config;

use super::split;
use crate::arrow_db::conformance::{self, DbHarness, SharedOpener, conforms};
use crate::arrow_db::keys::store_spec;

/// The store of `conformance.<name>` in the DuckDB file `db`.
fn harness(db: &Path, name: &str) -> DbHarness {
    let library = duckdb_library().unwrap_or_else(|e| panic!("{e}"));
    let value: serde_yaml::Value = serde_yaml::from_str(&format!(
        "path: {}\nlibrary: {}\ntable: conformance.{name}\nif_exists: append\n",
        db.display(),
        library.display()
    ))
    .unwrap();
    let connections = BTreeMap::new();
    let config = connector_config(&value, Role::Store, &connections);
    // The store as `type: duckdb` makes it, opening through one instance with the harness.
    let (own, settings) = split(&config, true).unwrap();
    let settings = SharedOpener::share(settings);
    let spec = store_spec(&config, &own, settings.clone(), IfExists::Fail).unwrap();
    DbHarness {
        settings,
        spec: Arc::new(spec),
        table: SqlTable::new("conformance", name),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_duckdb_store_conforms() {
    conforms(
        "DuckDB",
        "duckdb",
        harness,
        "duckdb::conformance_tests::conformance_child",
    )
    .await;
}

/// The child of the kill -9 check; does nothing unless started by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_child() {
    conformance::conformance_child(harness).await;
}
