//! Throughput of the two hot paths on 10M narrow rows (int, bigint, float,
//! nvarchar(20), datetime2(7), decimal(12,2)): bulk-load decode and
//! result-set encode. Run in release:
//! `cargo test --release -p hygge-tds-test-server --lib -- --ignored throughput --nocapture`.

use std::sync::Arc;
use std::time::Instant;

use super::bulk::{BulkLoader, BulkTarget};
use super::catalog::{Column, RowStore, Table};
use super::result::{OutColumn, Proj, ResultSet, RowSource, Selection};
use crate::tds::bulk::{BulkColumn, BulkItem, ValueSpan, next_item};
use crate::tds::codec::encode_value;
use crate::tds::reader::Reader;
use crate::tds::tokens::token;
use crate::types::{Decimal, SqlType, Value};

const TOTAL: usize = 10_000_000;
const BATCH: usize = 100_000;

fn columns() -> Vec<Column> {
    vec![
        Column::new("a", SqlType::Int, false),
        Column::new("b", SqlType::BigInt, true),
        Column::new("c", SqlType::Float, true),
        Column::new("d", SqlType::NVarChar(Some(20)), true),
        Column::new("e", SqlType::DateTime2(7), true),
        Column::new(
            "f",
            SqlType::Decimal {
                precision: 12,
                scale: 2,
            },
            true,
        ),
    ]
}

/// ROW tokens for `BATCH` rows, encoded as tiberius would for these columns.
fn bulk_rows(columns: &[Column]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..BATCH as i64 {
        out.push(token::ROW);
        let values = [
            Value::Int(i),
            Value::Int(i * 3),
            Value::Float(i as f64 / 2.0),
            Value::String(format!("name-{i}")),
            Value::DateTime2 {
                days: 738_886,
                ticks: i as u64,
            },
            Value::Decimal(Decimal {
                value: i128::from(i) * 100 + 5,
                scale: 2,
            }),
        ];
        for (c, v) in columns.iter().zip(&values) {
            encode_value(&c.wire, v, &mut out).unwrap_or_default();
        }
    }
    out
}

#[test]
#[ignore = "throughput benchmark, meaningful only in release: cargo test --release -p hygge-tds-test-server --lib -- --ignored throughput --nocapture"]
fn throughput_bulk_decode_and_result_encode() {
    let columns = columns();
    let target = BulkTarget {
        key: "dbo.t".into(),
        message_name: "db.dbo.t".into(),
        columns: columns.clone(),
        listed: Vec::new(),
    };
    let client: Vec<BulkColumn> = columns
        .iter()
        .map(|c| BulkColumn {
            name: c.name.clone(),
            wire: c.wire.clone(),
        })
        .collect();
    let batch = bulk_rows(&columns);
    let mut loader = BulkLoader::new(target, client.clone()).unwrap_or_else(|e| panic!("{e}"));
    let mut spans = vec![ValueSpan::default(); client.len()];

    let start = Instant::now();
    for _ in 0..TOTAL / BATCH {
        let mut r = Reader::new(&batch);
        while r.remaining() > 0 {
            match next_item(&mut r, &client, &mut spans) {
                Ok(BulkItem::Row) => loader
                    .add_row(r.slice(), &spans)
                    .unwrap_or_else(|e| panic!("{e}")),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let decode = start.elapsed();
    assert_eq!(loader.rows(), TOTAL as u64);
    let (_, rows) = loader.finish();
    let decode_rate = TOTAL as f64 / decode.as_secs_f64();
    println!("bulk decode: {TOTAL} rows in {decode:?} = {decode_rate:.0} rows/s");

    let table = Arc::new(Table {
        schema: "dbo".into(),
        name: "t".into(),
        columns: columns.clone(),
        rows: {
            let mut store = RowStore::default();
            store.append(rows);
            store
        },
        indexes: Vec::new(),
    });
    let rs = ResultSet {
        columns: columns
            .iter()
            .map(|c| OutColumn::new(c.name.clone(), c.ty, c.nullable))
            .collect(),
        rows: RowSource::Stored {
            table,
            selection: Selection::All {
                skip: 0,
                take: None,
            },
            projection: (0..columns.len()).map(Proj::Copy).collect(),
        },
    };
    let mut out = Vec::with_capacity(1 << 20);
    let start = Instant::now();
    let mut enc = rs.encoder();
    let mut bytes = 0usize;
    loop {
        out.clear();
        let done = enc.step(&mut out).unwrap_or_else(|e| panic!("{e}"));
        bytes += out.len();
        if done {
            break;
        }
    }
    let encode = start.elapsed();
    assert_eq!(enc.rows_written(), TOTAL as u64);
    let encode_rate = TOTAL as f64 / encode.as_secs_f64();
    println!("result encode: {TOTAL} rows ({bytes} bytes) in {encode:?} = {encode_rate:.0} rows/s");
    if !cfg!(debug_assertions) {
        assert!(decode_rate > 1_000_000.0, "bulk decode too slow");
        assert!(encode_rate > 1_000_000.0, "result encode too slow");
    }
}
