//! Transactions: isolation until COMMIT, rollback on error and on disconnect,
//! tiberius' transaction-manager requests, sessions and attention.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{batch_error, connect, exec, rows, server};
use tiberius::{ColumnData, TokenRow};

async fn count(client: &mut common::TestClient, table: &str) -> i32 {
    rows(client, &format!("SELECT COUNT(*) FROM {table}")).await[0]
        .get::<i32, _>(0)
        .unwrap()
}

#[tokio::test]
async fn changes_are_invisible_to_others_until_commit() {
    let server = server().await;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    exec(&mut a, "CREATE TABLE dbo.t (x INT)").await;
    exec(
        &mut a,
        "SET XACT_ABORT ON; BEGIN TRANSACTION; INSERT INTO dbo.t VALUES (1), (2)",
    )
    .await;
    assert_eq!(count(&mut a, "dbo.t").await, 2, "own changes are visible");
    assert_eq!(
        count(&mut b, "dbo.t").await,
        0,
        "others see the committed state"
    );
    let r = rows(&mut a, "SELECT @@TRANCOUNT").await;
    assert_eq!(r[0].get::<i32, _>(0), Some(1));
    exec(&mut a, "COMMIT TRANSACTION").await;
    assert_eq!(count(&mut b, "dbo.t").await, 2);
    // A table created inside a transaction is invisible too.
    exec(&mut a, "BEGIN TRAN; CREATE TABLE dbo.u (y INT)").await;
    assert_eq!(batch_error(&mut b, "SELECT * FROM dbo.u").await.0, 208);
    exec(&mut a, "ROLLBACK").await;
    assert_eq!(batch_error(&mut a, "SELECT * FROM dbo.u").await.0, 208);
}

#[tokio::test]
async fn an_error_rolls_back_the_transaction() {
    let server = server().await;
    let mut a = connect(&server).await;
    exec(&mut a, "CREATE TABLE dbo.t (x INT NOT NULL)").await;
    exec(&mut a, "INSERT INTO dbo.t VALUES (0)").await;
    let (code, _) = batch_error(
        &mut a,
        "SET XACT_ABORT ON; BEGIN TRAN; INSERT INTO dbo.t VALUES (1); INSERT INTO dbo.t VALUES (NULL); INSERT INTO dbo.t VALUES (3)",
    )
    .await;
    assert_eq!(code, 515);
    assert_eq!(count(&mut a, "dbo.t").await, 1);
    let r = rows(&mut a, "SELECT @@TRANCOUNT").await;
    assert_eq!(r[0].get::<i32, _>(0), Some(0));
    // COMMIT without a transaction is error 3902.
    assert_eq!(batch_error(&mut a, "COMMIT").await.0, 3902);
}

#[tokio::test]
async fn a_dropped_connection_rolls_back() {
    let server = server().await;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    exec(&mut a, "CREATE TABLE dbo.t (x INT)").await;
    exec(&mut a, "BEGIN TRAN; INSERT INTO dbo.t VALUES (1)").await;
    assert_eq!(server.open_sessions(), 2);
    drop(a);
    for _ in 0..200 {
        if server.open_sessions() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.open_sessions(), 1);
    assert_eq!(count(&mut b, "dbo.t").await, 0);
    // The table's lock was released: b can write.
    exec(&mut b, "INSERT INTO dbo.t VALUES (5)").await;
    assert_eq!(count(&mut b, "dbo.t").await, 1);
}

#[tokio::test]
async fn tiberius_transaction_manager_requests_and_bulk_in_a_transaction() {
    let server = server().await;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    exec(&mut a, "CREATE TABLE dbo.t (x INT NOT NULL)").await;
    a.begin_transaction().await.unwrap();
    let mut req = a.bulk_insert("dbo.t").await.unwrap();
    for i in 0..10 {
        let mut row = TokenRow::new();
        row.push(ColumnData::I32(Some(i)));
        req.send(row).await.unwrap();
    }
    assert_eq!(req.finalize().await.unwrap().total(), 10);
    assert_eq!(count(&mut b, "dbo.t").await, 0);
    a.rollback_transaction().await.unwrap();
    assert_eq!(count(&mut a, "dbo.t").await, 0);
    a.begin_transaction().await.unwrap();
    exec(&mut a, "INSERT INTO dbo.t VALUES (1)").await;
    a.commit_transaction().await.unwrap();
    assert_eq!(count(&mut b, "dbo.t").await, 1);
}

#[tokio::test]
async fn writers_of_one_table_wait_for_each_other() {
    let server = server().await;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    exec(&mut a, "CREATE TABLE dbo.t (x INT)").await;
    exec(&mut a, "BEGIN TRAN; INSERT INTO dbo.t VALUES (1)").await;
    let writer = tokio::spawn(async move {
        exec(&mut b, "INSERT INTO dbo.t VALUES (2)").await;
        b
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!writer.is_finished(), "b must wait for a's transaction");
    exec(&mut a, "COMMIT").await;
    let mut b = writer.await.unwrap();
    assert_eq!(count(&mut b, "dbo.t").await, 2);
}

#[tokio::test]
async fn sessions_are_counted_and_attention_is_acknowledged() {
    let server = server().await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect(&server).await);
    }
    assert_eq!(server.open_sessions(), 3);
    assert!(server.max_concurrent_sessions() >= 3);
    let mut c = clients.pop().unwrap();
    c.cancel_query().await.unwrap();
    assert_eq!(rows(&mut c, "SELECT 7").await[0].get::<i32, _>(0), Some(7));
    drop(c);
    drop(clients);
    for _ in 0..200 {
        if server.open_sessions() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.open_sessions(), 0);
    assert_eq!(server.max_concurrent_sessions(), 3);
}

#[tokio::test]
async fn application_locks_belong_to_the_session_until_released_or_disconnected() {
    let server = server().await;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    let take = |timeout: i32| {
        format!(
            "EXEC sp_getapplock @Resource = N'hygge:dbo.t', @LockMode = 'Exclusive', \
             @LockOwner = 'Session', @LockTimeout = {timeout}; \
             SELECT APPLOCK_MODE('public', N'hygge:dbo.t', 'Session')"
        )
    };
    let mode = |r: &[tiberius::Row]| r[0].get::<&str, _>(0).unwrap().to_string();
    assert_eq!(mode(&rows(&mut a, &take(0)).await), "Exclusive");
    // Held by a: b gives up after its timeout, and the lock is still a's.
    assert_eq!(mode(&rows(&mut b, &take(100)).await), "NoLock");
    // Released by a: b gets it.
    exec(
        &mut a,
        "EXEC sp_releaseapplock @Resource = N'hygge:dbo.t', @LockOwner = 'Session'",
    )
    .await;
    assert_eq!(mode(&rows(&mut b, &take(0)).await), "Exclusive");
    // Releasing what the session does not hold is error 1223.
    assert_eq!(
        batch_error(
            &mut a,
            "EXEC sp_releaseapplock @Resource = N'hygge:dbo.t', @LockOwner = 'Session'"
        )
        .await
        .0,
        1223
    );
    // b disconnects: a, waiting for ever, gets it.
    let waiting = tokio::spawn(async move { mode(&rows(&mut a, &take(-1)).await) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "a did not wait");
    drop(b);
    let granted = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("a disconnect did not release the lock")
        .unwrap();
    assert_eq!(granted, "Exclusive");
}
