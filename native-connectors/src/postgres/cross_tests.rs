//! MSSQL → PostgreSQL → Parquet (and PostgreSQL → MSSQL) with every SQL Server type,
//! through the TDS test server and a real PostgreSQL: each hop keeps the values, in the
//! types the README documents.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use hygge_pg_test_server::PgServer;
use hygge_runtime::contract::{Connector, ConnectorConfig, HomeSpec, Role, StoreSpec};
use hygge_runtime::testing::connector_config;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_yaml::Value;

use super::POSTGRES;
use super::conformance_tests::{keys, store};
use super::types::PgType;
use crate::mssql::tests::{Db, all_types_table, home as mssql_home, read, sorted_by_first, write};
use crate::parquet::PARQUET;

fn pg_home(port: u16, extra: &str) -> Arc<dyn HomeSpec> {
    let value = keys(port, extra);
    POSTGRES
        .home(&connector_config(&value, Role::Home, &BTreeMap::new()))
        .unwrap()
        .unwrap()
}

fn parquet_store(dir: &std::path::Path) -> Arc<dyn StoreSpec> {
    let value: Value = serde_yaml::from_str(&format!("path: {}\n", dir.display())).unwrap();
    let connections = BTreeMap::new();
    // A flow without entities: the files go straight into `dir`.
    let config = ConnectorConfig {
        has_entities: false,
        ..connector_config(&value, Role::Store, &connections)
    };
    PARQUET.store(&config).unwrap().unwrap()
}

/// Every row of the Parquet files in `dir`.
fn read_parquet(dir: &std::path::Path) -> RecordBatch {
    let mut batches = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "parquet") {
            let file = std::fs::File::open(&path).unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap();
            batches.extend(reader.map(Result::unwrap));
        }
    }
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// `batch` in the Arrow types PostgreSQL gives back for each of its columns.
fn as_postgres_holds_it(batch: &RecordBatch) -> RecordBatch {
    let (fields, columns): (Vec<Field>, Vec<ArrayRef>) = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            let ty = PgType::for_arrow(field.data_type()).unwrap().arrow();
            (
                field.as_ref().clone().with_data_type(ty.clone()),
                arrow_cast::cast(column, &ty).unwrap(),
            )
        })
        .unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// `batch` with each column cast to the type `like`'s column of the same name has.
fn cast_like(batch: &RecordBatch, like: &RecordBatch) -> RecordBatch {
    let columns: Vec<ArrayRef> = like
        .schema()
        .fields()
        .iter()
        .map(|field| {
            let column = batch.column_by_name(field.name()).unwrap();
            arrow_cast::cast(column, field.data_type()).unwrap()
        })
        .collect();
    RecordBatch::try_new(like.schema(), columns).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mssql_type_moves_to_postgres_and_on_to_parquet() {
    let db = Db::start().await;
    let table = db.table("types");
    db.sql(&all_types_table(&table)).await;
    let from_mssql =
        sorted_by_first(&read(&mssql_home(&db, &format!("table: {table}\n")).unwrap()).await);
    assert_eq!(from_mssql.num_rows(), 3);

    let server = PgServer::start().unwrap();
    let port = server.port();
    write(
        &store(port, "table: cross.types\n"),
        std::slice::from_ref(&from_mssql),
        "r1",
    )
    .await
    .unwrap();
    let from_pg = sorted_by_first(&read(&pg_home(port, "table: cross.types\n")).await);
    assert_eq!(from_pg, as_postgres_holds_it(&from_mssql));
    // psql, an independent client, reads the same values.
    assert_eq!(
        server
            .psql(
                "SELECT g || ' ' || ti || ' ' || dto || ' ' || t FROM \"cross\".types WHERE id = 1"
            )
            .unwrap(),
        "6F9619FF-8B86-D011-B42D-00C04FD430C8 255 2024-01-02 01:04:05.123456+00 23:59:59.999999"
    );

    // And back the other way, PostgreSQL → MSSQL: the values survive in SQL Server's types.
    write(
        &crate::mssql::tests::store(&db, "table: dbo.from_pg\n").unwrap(),
        std::slice::from_ref(&from_pg),
        "r3",
    )
    .await
    .unwrap();
    let back = sorted_by_first(&read(&mssql_home(&db, "table: dbo.from_pg\n").unwrap()).await);
    assert_eq!(cast_like(&back, &from_pg), from_pg);

    let out = tempfile::tempdir().unwrap();
    write(
        &parquet_store(out.path()),
        std::slice::from_ref(&from_pg),
        "r2",
    )
    .await
    .unwrap();
    assert_eq!(sorted_by_first(&read_parquet(out.path())), from_pg);
}
