//! PostgreSQL on the runtime's SQL publish layer, against a real server: every publish
//! mode with its state row in one transaction, the state re-check, and the writer lock.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hygge_pg_test_server::{PASSWORD, PgServer, USER};
use hygge_runtime::contract::ErrorKind;
use hygge_runtime::publish::{
    KeepNewest, PublishColumns, SqlDatabase, SqlPublish, SqlStaging, SqlState, SqlTable,
};
use hygge_runtime::state::{EntityState, StateStore, StateUpdate};

use super::connect::{PgSettings, SslMode, connect};
use super::dialect::PgDatabase;

fn settings(server: &PgServer) -> PgSettings {
    PgSettings::from_parts(
        "127.0.0.1",
        server.port(),
        "postgres",
        USER,
        Some(PASSWORD),
        SslMode::Disable,
    )
}

fn database(server: &PgServer) -> Arc<dyn SqlDatabase> {
    Arc::new(PgDatabase::new(settings(server)))
}

fn state(watermark: &str, run_id: &str) -> EntityState {
    EntityState {
        flow: "f".into(),
        entity: "e".into(),
        column: "at".into(),
        watermark: Some(watermark.into()),
        data_type: "Int64".into(),
        run_id: run_id.into(),
        committed_at: "2026-11-30T00:00:00Z".into(),
    }
}

/// Stages rows `(id, at)` for run `run` of `sales.t` the way a store would.
async fn stage(
    db: &Arc<dyn SqlDatabase>,
    server: &PgServer,
    run: &str,
    rows: &[(i64, i64)],
) -> SqlStaging {
    let staged = SqlStaging::open(db.clone(), SqlTable::new("sales", "t"), run, "sales")
        .await
        .unwrap();
    let values: Vec<String> = rows
        .iter()
        .map(|(id, at)| format!("({id}, {at})"))
        .collect();
    server
        .psql(&format!(
            "CREATE TABLE sales.\"t__hygge_{run}\" (id bigint, at bigint); INSERT INTO sales.\"t__hygge_{run}\" VALUES {}",
            values.join(", ")
        ))
        .unwrap();
    staged
}

fn columns() -> PublishColumns {
    PublishColumns {
        names: vec!["id".into(), "at".into()],
        ..PublishColumns::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_publish_mode_commits_rows_and_state_together() {
    let server = PgServer::start().unwrap();
    let db = database(&server);
    let table = |s: &PgServer| {
        s.psql("SELECT string_agg(id || ':' || at, ',' ORDER BY id) FROM sales.t")
            .unwrap()
    };

    // First run: the staging table becomes the target, with the state row.
    let first = state("2", "r1");
    stage(&db, &server, "r1", &[(1, 1), (2, 2)])
        .await
        .commit(
            &SqlPublish::Rename,
            &columns(),
            Some(&StateUpdate {
                previous: None,
                next: first.clone(),
            }),
        )
        .await
        .unwrap();
    assert_eq!(table(&server), "1:1,2:2");
    let store = SqlState::new(db.clone(), "sales", SqlTable::new("sales", "t"));
    assert_eq!(store.read("f", "e").await.unwrap(), Some(first.clone()));

    // Append.
    let second = state("3", "r2");
    stage(&db, &server, "r2", &[(3, 3)])
        .await
        .commit(
            &SqlPublish::Insert { truncate: false },
            &columns(),
            Some(&StateUpdate {
                previous: Some(first.clone()),
                next: second.clone(),
            }),
        )
        .await
        .unwrap();
    assert_eq!(table(&server), "1:1,2:2,3:3");

    // Merge, keeping the newest of two versions of one key.
    let third = state("9", "r3");
    let mut merge_columns = columns();
    merge_columns.keep_newest = Some(KeepNewest {
        keys: vec!["id".into()],
        by: "at".into(),
    });
    stage(&db, &server, "r3", &[(2, 8), (2, 9), (4, 4)])
        .await
        .commit(
            &SqlPublish::Merge {
                keys: vec!["id".into()],
            },
            &merge_columns,
            Some(&StateUpdate {
                previous: Some(second.clone()),
                next: third.clone(),
            }),
        )
        .await
        .unwrap();
    assert_eq!(table(&server), "1:1,2:9,3:3,4:4");

    // Replace: the staging table is swapped in.
    stage(&db, &server, "r4", &[(7, 7)])
        .await
        .commit(&SqlPublish::Swap, &columns(), None)
        .await
        .unwrap();
    assert_eq!(table(&server), "7:7");
    // No staging or retired table is left, and the state row is the merge's.
    let tables = server
        .psql("SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'sales'")
        .unwrap();
    assert_eq!(tables, "hygge_state,t");
    assert_eq!(store.read("f", "e").await.unwrap(), Some(third));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_over_changed_state_is_refused_and_leaves_nothing() {
    let server = PgServer::start().unwrap();
    let db = database(&server);
    let first = state("2", "r1");
    stage(&db, &server, "r1", &[(1, 1), (2, 2)])
        .await
        .commit(
            &SqlPublish::Rename,
            &columns(),
            Some(&StateUpdate {
                previous: None,
                next: first.clone(),
            }),
        )
        .await
        .unwrap();
    let err = stage(&db, &server, "r2", &[(3, 3)])
        .await
        .commit(
            &SqlPublish::Insert { truncate: false },
            &columns(),
            Some(&StateUpdate {
                previous: None,
                next: state("3", "r2"),
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert_eq!(server.psql("SELECT count(*) FROM sales.t").unwrap(), "2");
    assert_eq!(
        server.psql("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 't\\_\\_hygge\\_%'").unwrap(),
        "0"
    );
    let store = SqlState::new(db.clone(), "sales", SqlTable::new("sales", "t"));
    assert_eq!(store.read("f", "e").await.unwrap(), Some(first));
    // A reset leaves a marker for a full reload.
    assert!(store.reset("f", "e", "r9").await.unwrap());
    assert!(store.read("f", "e").await.unwrap().unwrap().is_reset());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_waits_for_the_first() {
    let server = PgServer::start().unwrap();
    let db = database(&server);
    let first = stage(&db, &server, "r1", &[(1, 1)]).await;
    let waiting = {
        let db = db.clone();
        tokio::spawn(async move {
            SqlStaging::open(db, SqlTable::new("sales", "t"), "r2", "sales").await
        })
    };
    // The second run waits on the lock (pg_locks shows it) and leaves r1's staging alone.
    loop {
        let waiters = server
            .psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            .unwrap();
        if waiters == "1" {
            break;
        }
        tokio::task::yield_now().await;
    }
    first
        .commit(&SqlPublish::Rename, &columns(), None)
        .await
        .unwrap();
    let second = waiting.await.unwrap().unwrap();
    second.abort().await.unwrap();
    assert_eq!(server.psql("SELECT count(*) FROM sales.t").unwrap(), "1");
}

/// Two flows into one new schema: `CREATE SCHEMA IF NOT EXISTS` does not see the other's
/// uncommitted schema and fails on the catalog's unique index once it commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_flows_creating_one_schema_at_once_both_succeed() {
    let server = PgServer::start().unwrap();
    let db = database(&server);
    let other = connect(&settings(&server)).await.unwrap();
    other
        .batch_execute("BEGIN; CREATE SCHEMA racing")
        .await
        .unwrap();
    let creating = tokio::spawn(async move { db.ensure_schema("racing").await });
    loop {
        let waiters = server
            .psql("SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted")
            .unwrap();
        if waiters == "1" {
            break;
        }
        tokio::task::yield_now().await;
    }
    other.batch_execute("COMMIT").await.unwrap();
    creating.await.unwrap().unwrap();
    assert_eq!(
        server
            .psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'racing'")
            .unwrap(),
        "1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_config_error_and_a_closed_port_a_connection_error() {
    let server = PgServer::start().unwrap();
    let wrong = PgSettings::from_url(&format!(
        "postgres://{USER}:nope@127.0.0.1:{}/postgres?sslmode=disable",
        server.port()
    ))
    .unwrap();
    let err = super::connect::connect(&wrong).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("refused the login"), "{err}");
    assert!(
        !err.to_string().contains("nope"),
        "the password leaked: {err}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let unreachable =
        PgSettings::from_parts("127.0.0.1", port, "postgres", USER, None, SslMode::Disable);
    let err = super::connect::connect(&unreachable).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{port}/postgres")),
        "{err}"
    );
}

#[test]
fn urls_and_sslmodes_are_read_as_libpq_does() {
    let s = PgSettings::from_url(
        "postgres://loader:secret@db.example.com:5433/app?sslmode=verify-full",
    )
    .unwrap();
    assert_eq!(s.sslmode, SslMode::VerifyFull);
    assert_eq!(s.label, "db.example.com:5433/app");
    assert!(
        PgSettings::from_url("postgres://x@h/db?sslmode=sometimes")
            .unwrap_err()
            .contains("not an sslmode")
    );
    assert_eq!(
        PgSettings::from_url("postgres://x@h/db").unwrap().sslmode,
        SslMode::Prefer
    );
}
