//! sp_executesql parameters, filters, ORDER BY / OFFSET FETCH, aggregates,
//! INFORMATION_SCHEMA, DDL and the errors SQL Server gives.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestClient, batch_error, connect, exec, rows, server};
use tiberius::time::{Date, DateTime2, Time};
use tiberius::{ColumnData, ToSql};

async fn events(client: &mut TestClient) {
    exec(
        client,
        "CREATE SCHEMA sales;
         CREATE TABLE [sales].[events] ([id] BIGINT NOT NULL, [name] NVARCHAR(20) NULL, [at] DATETIME2(7) NULL, [amount] DECIMAL(12,2) NULL);
         INSERT INTO sales.events VALUES
           (1, N'alpha', '2024-01-01 09:00:00', 10.50),
           (2, N'beta', '2024-01-01 10:00:00.1234567', 20.00),
           (3, N'gamma', '2024-01-02 00:00:00', NULL),
           (4, NULL, NULL, 5.25),
           (5, N'épsilon', '2024-01-03 12:30:00', 99.99)",
    )
    .await;
}

async fn query_ids(client: &mut TestClient, sql: &str, params: &[&dyn ToSql]) -> Vec<i64> {
    client
        .query(sql, params)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_first_result()
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64, _>(0).unwrap())
        .collect()
}

#[tokio::test]
async fn sp_executesql_with_typed_parameters() {
    let server = server().await;
    let mut client = connect(&server).await;
    events(&mut client).await;
    let ids = query_ids(
        &mut client,
        "SELECT id FROM sales.events WHERE id > @P1 AND id <= @P2 ORDER BY id",
        &[&1i32, &4i64],
    )
    .await;
    assert_eq!(ids, vec![2, 3, 4]);
    let ids = query_ids(
        &mut client,
        "SELECT id FROM sales.events WHERE name = @P1",
        &[&"BETA"],
    )
    .await;
    assert_eq!(ids, vec![2], "string comparison is case-insensitive");
    // A datetime2 parameter, and the same instant as an nvarchar parameter.
    let day = 738_885u32; // 2024-01-01
    let at = ColumnData::DateTime2(Some(DateTime2::new(
        Date::new(day),
        Time::new(360_001_234_567, 7),
    )));
    let ids = query_ids(
        &mut client,
        "SELECT id FROM sales.events WHERE [at] = @P1",
        &[&at],
    )
    .await;
    assert_eq!(ids, vec![2]);
    let ids = query_ids(
        &mut client,
        "SELECT id FROM sales.events WHERE [at] > @P1 ORDER BY [at] DESC",
        &[&"2024-01-01 10:00:00.1234567"],
    )
    .await;
    assert_eq!(ids, vec![5, 3]);
    let executed = server.executed_sql();
    assert!(
        executed
            .iter()
            .any(|s| s == "SELECT id FROM sales.events WHERE [at] > @P1 ORDER BY [at] DESC"),
        "{executed:?}"
    );
    // Parameters in INSERT.
    let res = client
        .execute(
            "INSERT INTO sales.events (id, name, amount) VALUES (@P1, @P2, @P3)",
            &[&6i64, &"zeta", &1.5f64],
        )
        .await
        .unwrap();
    assert_eq!(res.rows_affected(), &[1]);
    let r = rows(
        &mut client,
        "SELECT name, amount FROM sales.events WHERE id = 6",
    )
    .await;
    assert_eq!(r[0].get::<&str, _>(0), Some("zeta"));
    assert_eq!(
        r[0].get::<tiberius::numeric::Numeric, _>(1),
        Some(tiberius::numeric::Numeric::new_with_scale(150, 2))
    );
    // A missing parameter is error 137.
    let err = client
        .query("SELECT id FROM sales.events WHERE id = @P2", &[&1i32])
        .await
        .expect_err("must fail");
    assert!(err.to_string().contains("@P2"), "{err}");
}

#[tokio::test]
async fn filters_order_offset_fetch_and_aggregates() {
    let server = server().await;
    let mut client = connect(&server).await;
    events(&mut client).await;
    let ids = query_ids(
        &mut client,
        "SELECT id FROM sales.events ORDER BY id DESC OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY",
        &[],
    )
    .await;
    assert_eq!(ids, vec![4, 3]);
    let ids = query_ids(
        &mut client,
        "SELECT TOP (2) id FROM sales.events ORDER BY amount DESC",
        &[],
    )
    .await;
    assert_eq!(ids, vec![5, 2]);
    let ids = query_ids(&mut client, "SELECT TOP 3 id FROM sales.events", &[]).await;
    assert_eq!(ids, vec![1, 2, 3]);
    let ids = query_ids(
        &mut client,
        "SELECT id FROM sales.events WHERE (name LIKE N'%a' OR amount IS NULL) AND NOT id IN (1) ORDER BY 1",
        &[],
    )
    .await;
    assert_eq!(ids, vec![2, 3]);
    let ids = query_ids(
        &mut client,
        "SELECT q.id FROM (SELECT id, amount AS a FROM sales.events WHERE amount >= 10) AS q WHERE q.a < 50 ORDER BY q.id",
        &[],
    )
    .await;
    assert_eq!(ids, vec![1, 2]);
    let r = rows(
        &mut client,
        "SELECT COUNT(*) AS n, COUNT(name) AS named, MIN(at) AS first, MAX(amount) AS top, MIN(name) FROM sales.events",
    )
    .await;
    assert_eq!(r[0].get::<i32, _>("n"), Some(5));
    assert_eq!(r[0].get::<i32, _>("named"), Some(4));
    assert_eq!(
        r[0].get_column_data("first").unwrap(),
        &ColumnData::DateTime2(Some(DateTime2::new(
            Date::new(738_885),
            Time::new(9 * 3600 * 10_000_000, 7)
        )))
    );
    assert_eq!(
        r[0].get::<tiberius::numeric::Numeric, _>("top"),
        Some(tiberius::numeric::Numeric::new_with_scale(9999, 2))
    );
    assert_eq!(r[0].get::<&str, _>(4), Some("alpha"));
    let r = rows(
        &mut client,
        "SELECT MAX(id) FROM sales.events WHERE id > 100",
    )
    .await;
    assert_eq!(r[0].get::<i64, _>(0), None, "MAX over no rows is NULL");
}

#[tokio::test]
async fn information_schema_views() {
    let server = server().await;
    let mut client = connect(&server).await;
    events(&mut client).await;
    exec(
        &mut client,
        "CREATE TABLE dbo.other (x VARCHAR(MAX) NOT NULL, y DATETIMEOFFSET(3), z FLOAT)",
    )
    .await;
    let r = client
        .query(
            "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, IS_NULLABLE
             FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @P1 AND TABLE_NAME = @P2 ORDER BY ORDINAL_POSITION",
            &[&"sales", &"events"],
        )
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let got: Vec<String> = r
        .iter()
        .map(|row| {
            format!(
                "{} {} {:?} {:?} {:?} {:?} {}",
                row.get::<&str, _>(0).unwrap(),
                row.get::<&str, _>(1).unwrap(),
                row.get::<i32, _>(2),
                row.get::<u8, _>(3),
                row.get::<i32, _>(4),
                row.get::<i16, _>(5),
                row.get::<&str, _>(6).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            "id bigint None Some(19) Some(0) None NO",
            "name nvarchar Some(20) None None None YES",
            "at datetime2 None None None Some(7) YES",
            "amount decimal None Some(12) Some(2) None YES",
        ]
    );
    let r = rows(
        &mut client,
        "SELECT COLUMN_NAME, CHARACTER_MAXIMUM_LENGTH, DATETIME_PRECISION FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'other' ORDER BY ORDINAL_POSITION",
    )
    .await;
    assert_eq!(r[0].get::<i32, _>(1), Some(-1));
    assert_eq!(r[1].get::<i16, _>(2), Some(3));
    let r = rows(
        &mut client,
        "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_CATALOG FROM INFORMATION_SCHEMA.TABLES ORDER BY TABLE_SCHEMA, TABLE_NAME",
    )
    .await;
    let tables: Vec<String> = r
        .iter()
        .map(|x| {
            format!(
                "{}.{} {}",
                x.get::<&str, _>(0).unwrap(),
                x.get::<&str, _>(1).unwrap(),
                x.get::<&str, _>(2).unwrap()
            )
        })
        .collect();
    assert_eq!(
        tables,
        vec!["dbo.other BASE TABLE", "sales.events BASE TABLE"]
    );
    assert_eq!(r[0].get::<&str, _>(3), Some("hygge"));
    let r = rows(
        &mut client,
        "SELECT SCHEMA_NAME FROM INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME IN ('dbo', 'sales') ORDER BY SCHEMA_NAME",
    )
    .await;
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].get::<&str, _>(0), Some("sales"));
}

#[tokio::test]
async fn ddl_statements_and_rename() {
    let server = server().await;
    let mut client = connect(&server).await;
    events(&mut client).await;
    exec(
        &mut client,
        "CREATE CLUSTERED COLUMNSTORE INDEX [cci_events] ON [sales].[events]",
    )
    .await;
    exec(
        &mut client,
        "ALTER TABLE [sales].[events] ADD [note] NVARCHAR(MAX) NULL",
    )
    .await;
    let r = rows(&mut client, "SELECT note FROM sales.events WHERE id = 1").await;
    assert_eq!(r[0].get::<&str, _>(0), None);
    exec(&mut client, "EXEC sp_rename N'sales.events', N'events_old'").await;
    assert_eq!(server.table_names(), vec!["sales.events_old".to_string()]);
    let r = rows(&mut client, "SELECT COUNT(*) FROM sales.events_old").await;
    assert_eq!(r[0].get::<i32, _>(0), Some(5));
    exec(&mut client, "TRUNCATE TABLE sales.events_old").await;
    let r = rows(&mut client, "SELECT COUNT(*) FROM sales.events_old").await;
    assert_eq!(r[0].get::<i32, _>(0), Some(0));
    exec(
        &mut client,
        "DROP TABLE IF EXISTS [sales].[events_old]; DROP TABLE IF EXISTS [sales].[never]",
    )
    .await;
    assert!(server.table_names().is_empty());
    // INSERT … SELECT with conversions.
    exec(
        &mut client,
        "CREATE TABLE dbo.src (a INT, b NVARCHAR(30)); INSERT INTO dbo.src VALUES (1, N'2024-05-06 07:08:09.5'), (2, NULL);
         CREATE TABLE dbo.dst (a BIGINT, b DATETIME2(3));
         INSERT INTO dbo.dst (a, b) SELECT a, b FROM dbo.src",
    )
    .await;
    let r = rows(
        &mut client,
        "SELECT CAST(b AS NVARCHAR(30)) FROM dbo.dst ORDER BY a",
    )
    .await;
    assert_eq!(r[0].get::<&str, _>(0), Some("2024-05-06 07:08:09.500"));
    assert_eq!(r[1].get::<&str, _>(0), None);
}

#[tokio::test]
async fn sql_server_error_numbers_and_texts() {
    let server = server().await;
    let mut client = connect(&server).await;
    exec(
        &mut client,
        "CREATE TABLE dbo.t (a INT NOT NULL, s NVARCHAR(3), d DECIMAL(5,2), b VARBINARY(2))",
    )
    .await;
    assert_eq!(
        batch_error(&mut client, "CREATE TABLE dbo.t (x INT)").await,
        (
            2714,
            "There is already an object named 't' in the database.".into()
        )
    );
    assert_eq!(
        batch_error(&mut client, "INSERT INTO dbo.t (s) VALUES (N'x')").await,
        (
            515,
            "Cannot insert the value NULL into column 'a', table 'hygge.dbo.t'; column does not allow nulls. INSERT fails.".into()
        )
    );
    assert_eq!(
        batch_error(&mut client, "INSERT INTO dbo.t (a, s) VALUES (1, N'abcd')").await,
        (
            2628,
            "String or binary data would be truncated in table 'hygge.dbo.t', column 's'. Truncated value: 'abc'.".into()
        )
    );
    assert_eq!(
        batch_error(&mut client, "INSERT INTO dbo.t (a, b) VALUES (1, 0x010203)")
            .await
            .0,
        2628
    );
    assert_eq!(
        batch_error(&mut client, "INSERT INTO dbo.t (a, d) VALUES (1, 1234.5)").await,
        (
            8115,
            "Arithmetic overflow error converting numeric to data type numeric.".into()
        )
    );
    assert_eq!(
        batch_error(&mut client, "DROP TABLE dbo.nope").await,
        (
            3701,
            "Cannot drop the table 'dbo.nope', because it does not exist or you do not have permission.".into()
        )
    );
    assert_eq!(
        batch_error(&mut client, "EXEC sp_rename 'dbo.nope', 'x'").await,
        (
            15248,
            "Either the parameter @objname is ambiguous or the claimed @objtype (OBJECT) is wrong."
                .into()
        )
    );
    assert_eq!(
        batch_error(
            &mut client,
            "CREATE CLUSTERED COLUMNSTORE INDEX i ON dbo.nope"
        )
        .await
        .0,
        1088
    );
    // A failed statement changed nothing.
    let r = rows(&mut client, "SELECT COUNT(*) FROM dbo.t").await;
    assert_eq!(r[0].get::<i32, _>(0), Some(0));
}

#[tokio::test]
async fn describe_first_result_set_of_a_query() {
    let server = server().await;
    let mut client = connect(&server).await;
    events(&mut client).await;
    let r = client
        .query(
            "EXEC sp_describe_first_result_set @tsql = @P1",
            &[&"SELECT id, name AS who, CAST(amount AS DECIMAL(19,4)) AS amt, COUNT(*) FROM sales.events"],
        )
        .await
        .unwrap()
        .into_first_result()
        .await;
    // COUNT(*) next to bare columns is invalid only when run, not when described.
    let r = r.unwrap();
    let got: Vec<String> = r
        .iter()
        .map(|row| {
            format!(
                "{} {:?} {:?} {} {} {} {} {} {}",
                row.get::<bool, _>("is_hidden").unwrap(),
                row.get::<&str, _>("name"),
                row.get::<&str, _>("system_type_name"),
                row.get::<bool, _>("is_nullable").unwrap(),
                row.get::<i32, _>("system_type_id").unwrap(),
                row.get::<i16, _>("max_length").unwrap(),
                row.get::<u8, _>("precision").unwrap(),
                row.get::<u8, _>("scale").unwrap(),
                row.get::<i32, _>("column_ordinal").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            "false Some(\"id\") Some(\"bigint\") false 127 8 19 0 1",
            "false Some(\"who\") Some(\"nvarchar(20)\") true 231 40 0 0 2",
            "false Some(\"amt\") Some(\"decimal(19,4)\") true 106 9 19 4 3",
            "false None Some(\"int\") true 56 4 10 0 4",
        ]
    );
    let err = client
        .query(
            "EXEC sp_describe_first_result_set @tsql = @P1",
            &[&"SELECT * FROM sales.nope"],
        )
        .await
        .expect_err("unknown table");
    assert!(
        err.to_string()
            .contains("Invalid object name 'sales.nope'."),
        "{err}"
    );
}

#[tokio::test]
async fn the_connectors_read_and_publish_shapes() {
    let server = server().await;
    let mut client = connect(&server).await;
    events(&mut client).await;
    // Partition bounds over a query source, then a partition's range.
    let from = "(SELECT id, name FROM sales.events WHERE id <> 5) AS [hygge_query]";
    let r = rows(
        &mut client,
        &format!(
            "SELECT CAST(MIN([id]) AS BIGINT) AS lo, CAST(MAX([id]) AS BIGINT) AS hi FROM {from}"
        ),
    )
    .await;
    assert_eq!(
        (r[0].get::<i64, _>("lo"), r[0].get::<i64, _>("hi")),
        (Some(1), Some(4))
    );
    let ids = query_ids(
        &mut client,
        &format!(
            "SELECT [id], [name] FROM {from} WHERE ([id] IS NULL OR ([id] >= @P1 AND [id] < @P2))"
        ),
        &[&2i64, &4i64],
    )
    .await;
    assert_eq!(ids, vec![2, 3]);
    // Publish by swapping names in one transaction.
    exec(
        &mut client,
        "CREATE TABLE sales.[events__hygge_stage-1] (id BIGINT NOT NULL)",
    )
    .await;
    exec(
        &mut client,
        "SET XACT_ABORT ON; BEGIN TRANSACTION; EXEC sp_rename N'sales.events', N'events__retired'; \
         EXEC sp_rename N'sales.events__hygge_stage-1', N'events'; COMMIT TRANSACTION;",
    )
    .await;
    assert_eq!(
        server.table_names(),
        vec![
            "sales.events".to_string(),
            "sales.events__retired".to_string()
        ]
    );
    let r = rows(&mut client, "SELECT COUNT(*) FROM sales.events").await;
    assert_eq!(r[0].get::<i32, _>(0), Some(0));
}

#[tokio::test]
async fn alter_column_converts_or_fails() {
    let server = server().await;
    let mut client = connect(&server).await;
    exec(
        &mut client,
        "CREATE TABLE dbo.t (id INT NOT NULL, name NVARCHAR(10) NULL, n VARCHAR(10));
         INSERT INTO dbo.t VALUES (1, N'abc', '42'), (2, NULL, NULL)",
    )
    .await;
    exec(&mut client, "ALTER TABLE dbo.t ALTER COLUMN n BIGINT NULL").await;
    let r = rows(&mut client, "SELECT n FROM dbo.t ORDER BY id").await;
    assert_eq!(r[0].get::<i64, _>(0), Some(42));
    assert_eq!(r[1].get::<i64, _>(0), None);
    let (code, msg) = batch_error(
        &mut client,
        "ALTER TABLE dbo.t ALTER COLUMN name NVARCHAR(2) NULL",
    )
    .await;
    assert_eq!(code, 2628, "{msg}");
    let r = rows(
        &mut client,
        "SELECT CHARACTER_MAXIMUM_LENGTH FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 't' AND COLUMN_NAME = 'name'",
    )
    .await;
    assert_eq!(
        r[0].get::<i32, _>(0),
        Some(10),
        "a failed ALTER changes nothing"
    );
    exec(
        &mut client,
        "ALTER TABLE dbo.t ALTER COLUMN name NVARCHAR(3) NULL",
    )
    .await;
    let r = rows(&mut client, "SELECT name FROM dbo.t WHERE id = 1").await;
    assert_eq!(r[0].get::<&str, _>(0), Some("abc"));
}

#[tokio::test]
async fn exists_subqueries_correlate_with_the_outer_row() {
    let server = server().await;
    let mut client = connect(&server).await;
    events(&mut client).await;
    exec(
        &mut client,
        "CREATE TABLE dbo.changes (id BIGINT NOT NULL, region INT NULL);
         INSERT INTO dbo.changes VALUES (2, 1), (5, NULL), (9, 1)",
    )
    .await;
    let ids = query_ids(
        &mut client,
        "SELECT id FROM sales.events AS e WHERE EXISTS (SELECT 1 FROM dbo.changes AS c WHERE c.id = e.id) ORDER BY id",
        &[],
    )
    .await;
    assert_eq!(ids, [2, 5]);
    let ids = query_ids(
        &mut client,
        "SELECT id FROM sales.events WHERE NOT EXISTS (SELECT 1 FROM dbo.changes WHERE changes.id = events.id AND region = 1) ORDER BY id",
        &[],
    )
    .await;
    assert_eq!(ids, [1, 3, 4, 5]);
    // The merge shape: delete the rows a staging table replaces, then insert it.
    exec(
        &mut client,
        "DELETE FROM [sales].[events] WHERE EXISTS (SELECT 1 FROM [dbo].[changes] AS s WHERE s.[id] = [sales].[events].[id])",
    )
    .await;
    let ids = query_ids(&mut client, "SELECT id FROM sales.events ORDER BY id", &[]).await;
    assert_eq!(ids, [1, 3, 4]);
    let (number, message) = batch_error(
        &mut client,
        "SELECT id FROM sales.events WHERE EXISTS (SELECT 1 FROM dbo.changes WHERE nope = 1)",
    )
    .await;
    assert_eq!(number, 207, "{message}");
    assert!(message.contains("Invalid column name 'nope'"), "{message}");
}
