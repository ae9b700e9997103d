//! Login, SELECT without FROM, and a first table round trip through tiberius.
#![allow(clippy::unwrap_used)]

mod common;

use common::{batch_error, config, connect, connect_with, exec, rows, server};

#[tokio::test]
async fn login_and_select_one() {
    let server = server().await;
    let mut client = connect(&server).await;
    let rows = rows(&mut client, "SELECT 1").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<i32, _>(0), Some(1));
}

#[tokio::test]
async fn wrong_password_is_error_18456() {
    let server = server().await;
    let err = connect_with(&server, config(&server, "sa", "wrong"))
        .await
        .expect_err("login must fail");
    match err {
        tiberius::error::Error::Server(e) => {
            assert_eq!(e.code(), 18456);
            assert_eq!(e.class(), 14);
            assert_eq!(e.message(), "Login failed for user 'sa'.");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let err = connect_with(&server, config(&server, "nobody", "Hygge-Test-1"))
        .await
        .expect_err("unknown user must fail");
    assert!(
        err.to_string().contains("Login failed for user 'nobody'."),
        "{err}"
    );
}

#[tokio::test]
async fn select_literals_and_version() {
    let server = server().await;
    let mut client = connect(&server).await;
    let r = rows(
        &mut client,
        "SELECT 1 AS a, N'héllo' AS b, 'x' c, 2.50, NULL, @@VERSION",
    )
    .await;
    assert_eq!(r[0].get::<i32, _>("a"), Some(1));
    assert_eq!(r[0].get::<&str, _>("b"), Some("héllo"));
    assert_eq!(r[0].get::<&str, _>("c"), Some("x"));
    assert_eq!(
        r[0].get::<tiberius::numeric::Numeric, _>(3),
        Some(tiberius::numeric::Numeric::new_with_scale(250, 2))
    );
    assert_eq!(r[0].get::<i32, _>(4), None);
    assert!(
        r[0].get::<&str, _>(5)
            .unwrap()
            .starts_with("Microsoft SQL Server")
    );
}

#[tokio::test]
async fn create_insert_select_int_and_nvarchar() {
    let server = server().await;
    let mut client = connect(&server).await;
    exec(
        &mut client,
        "CREATE TABLE [dbo].[people] ([id] INT NOT NULL, [name] NVARCHAR(40) NULL)",
    )
    .await;
    let res = client
        .execute(
            "INSERT INTO dbo.people (id, name) VALUES (1, N'Ada'), (2, NULL), (3, N'')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(res.rows_affected(), &[3]);
    let r = rows(&mut client, "SELECT id, name FROM people ORDER BY id DESC").await;
    let got: Vec<(i32, Option<String>)> = r
        .iter()
        .map(|row| {
            (
                row.get::<i32, _>(0).unwrap(),
                row.get::<&str, _>(1).map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (3, Some(String::new())),
            (2, None),
            (1, Some("Ada".to_string()))
        ]
    );
    assert_eq!(server.table_names(), vec!["dbo.people".to_string()]);
}

#[tokio::test]
async fn unknown_table_and_column_errors() {
    let server = server().await;
    let mut client = connect(&server).await;
    assert_eq!(
        batch_error(&mut client, "SELECT * FROM dbo.missing").await,
        (208, "Invalid object name 'dbo.missing'.".to_string())
    );
    exec(&mut client, "CREATE TABLE t (a INT)").await;
    assert_eq!(
        batch_error(&mut client, "SELECT b FROM t").await,
        (207, "Invalid column name 'b'.".to_string())
    );
    let (code, msg) = batch_error(&mut client, "MERGE INTO t USING x ON 1 = 1").await;
    assert_eq!(code, 102);
    assert!(msg.starts_with("Incorrect syntax near 'MERGE'."), "{msg}");
    // The connection stays usable after errors.
    assert_eq!(
        rows(&mut client, "SELECT COUNT(*) FROM t").await[0].get::<i32, _>(0),
        Some(0)
    );
}

#[tokio::test]
async fn a_client_that_requires_encryption_fails_clearly() {
    let server = server().await;
    let mut config = config(&server, "sa", "Hygge-Test-1");
    config.encryption(tiberius::EncryptionLevel::Required);
    let err = connect_with(&server, config)
        .await
        .expect_err("a TLS-only client cannot connect");
    assert!(
        err.to_string()
            .contains("Server does not allow the requested encryption level"),
        "{err}"
    );
}

#[tokio::test]
async fn large_packets_and_large_values() {
    let server = server().await;
    let mut config = config(&server, "sa", "Hygge-Test-1");
    config.packet_size(16_384);
    let mut client = connect_with(&server, config).await.unwrap();
    exec(
        &mut client,
        "CREATE TABLE dbo.big (id INT NOT NULL, body NVARCHAR(MAX), raw VARBINARY(MAX))",
    )
    .await;
    let body = "ab😀".repeat(40_000);
    let raw: Vec<u8> = (0..200_000u32).map(|i| (i % 256) as u8).collect();
    client
        .execute(
            "INSERT INTO dbo.big VALUES (1, @P1, @P2)",
            &[&body.as_str(), &raw.as_slice()],
        )
        .await
        .unwrap();
    let r = rows(&mut client, "SELECT body, raw FROM dbo.big").await;
    assert_eq!(r[0].get::<&str, _>(0), Some(body.as_str()));
    assert_eq!(r[0].get::<&[u8], _>(1), Some(raw.as_slice()));
}
