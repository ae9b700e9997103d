//! tiberius `bulk_insert` of every bulk-loadable type, large loads, and the
//! failure hook.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestClient, connect, exec, rows, server};
use tiberius::numeric::Numeric;
use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, SmallDateTime, Time};
use tiberius::xml::XmlData;
use tiberius::{ColumnData, TokenRow, Uuid};

const CREATE: &str = "CREATE TABLE dbo.bulk_all (
  id INT NOT NULL, c_bit BIT, c_tiny TINYINT, c_small SMALLINT, c_big BIGINT NOT NULL, c_real REAL, c_float FLOAT,
  c_dec DECIMAL(38,10), c_num NUMERIC(12,2) NOT NULL, c_money MONEY, c_smallmoney SMALLMONEY,
  c_date DATE, c_time TIME(7), c_dt2 DATETIME2(7), c_dto DATETIMEOFFSET(7), c_dt DATETIME, c_sdt SMALLDATETIME,
  c_char CHAR(4), c_varchar VARCHAR(20), c_varchar_max VARCHAR(MAX), c_nchar NCHAR(3), c_nvarchar NVARCHAR(40),
  c_nvarchar_max NVARCHAR(MAX), c_binary BINARY(3), c_varbinary VARBINARY(10), c_varbinary_max VARBINARY(MAX),
  c_guid UNIQUEIDENTIFIER, c_text TEXT, c_ntext NTEXT, c_xml XML
)";

fn full_row(i: i32) -> Vec<ColumnData<'static>> {
    let day = Date::new(738_886); // 2024-01-02
    let ticks = 110_451_234_567u64; // 03:04:05.1234567
    vec![
        ColumnData::I32(Some(i)),
        ColumnData::Bit(Some(i % 2 == 0)),
        ColumnData::U8(Some(200)),
        ColumnData::I16(Some(-300)),
        ColumnData::I64(Some(i64::from(i) * 10_000_000_000)),
        ColumnData::F32(Some(0.5)),
        ColumnData::F64(Some(-1e300)),
        ColumnData::Numeric(Some(Numeric::new_with_scale(
            -12_345_678_901_234_567_890_123_456_789,
            10,
        ))),
        ColumnData::Numeric(Some(Numeric::new_with_scale(123_456_789_012, 2))),
        ColumnData::F64(Some(1234.5678)),
        ColumnData::F64(Some(-99.5)),
        ColumnData::Date(Some(day)),
        ColumnData::Time(Some(Time::new(ticks, 7))),
        ColumnData::DateTime2(Some(DateTime2::new(day, Time::new(ticks, 7)))),
        ColumnData::DateTimeOffset(Some(DateTimeOffset::new(
            DateTime2::new(day, Time::new(ticks, 7)),
            -330,
        ))),
        ColumnData::DateTime(Some(DateTime::new(45_291, 3_313_799))),
        ColumnData::SmallDateTime(Some(SmallDateTime::new(45_291, 185))),
        ColumnData::String(Some("ab".into())),
        ColumnData::String(Some("café".into())),
        ColumnData::String(Some("x".repeat(9000).into())),
        ColumnData::String(Some("ü".into())),
        ColumnData::String(Some(format!("row {i} 😀").into())),
        ColumnData::String(Some("ñ".repeat(5000).into())),
        ColumnData::Binary(Some(vec![1u8].into())),
        ColumnData::Binary(Some(vec![].into())),
        ColumnData::Binary(Some(vec![7u8; 10_000].into())),
        ColumnData::Guid(Some(
            Uuid::parse_str("6F9619FF-8B86-D011-B42D-00C04FC964FF").unwrap(),
        )),
        ColumnData::String(Some("legacy text".into())),
        ColumnData::String(Some("legacy ntext ✓".into())),
        ColumnData::Xml(Some(std::borrow::Cow::Owned(XmlData::new("<r i=\"1\"/>")))),
    ]
}

fn null_row(i: i32) -> Vec<ColumnData<'static>> {
    let mut row: Vec<ColumnData<'static>> = full_row(i)
        .into_iter()
        .map(|c| match c {
            ColumnData::Bit(_) => ColumnData::Bit(None),
            ColumnData::U8(_) => ColumnData::U8(None),
            ColumnData::I16(_) => ColumnData::I16(None),
            ColumnData::I32(_) => ColumnData::I32(None),
            ColumnData::I64(_) => ColumnData::I64(None),
            ColumnData::F32(_) => ColumnData::F32(None),
            ColumnData::F64(_) => ColumnData::F64(None),
            ColumnData::Numeric(_) => ColumnData::Numeric(None),
            ColumnData::Date(_) => ColumnData::Date(None),
            ColumnData::Time(_) => ColumnData::Time(None),
            ColumnData::DateTime2(_) => ColumnData::DateTime2(None),
            ColumnData::DateTimeOffset(_) => ColumnData::DateTimeOffset(None),
            ColumnData::DateTime(_) => ColumnData::DateTime(None),
            ColumnData::SmallDateTime(_) => ColumnData::SmallDateTime(None),
            ColumnData::String(_) => ColumnData::String(None),
            ColumnData::Binary(_) => ColumnData::Binary(None),
            ColumnData::Guid(_) => ColumnData::Guid(None),
            ColumnData::Xml(_) => ColumnData::Xml(None),
        })
        .collect();
    row[0] = ColumnData::I32(Some(i));
    // The NOT NULL columns.
    row[4] = ColumnData::I64(Some(1));
    row[8] = ColumnData::Numeric(Some(Numeric::new_with_scale(1, 2)));
    row
}

async fn bulk(
    client: &mut TestClient,
    table: &str,
    rows: Vec<Vec<ColumnData<'static>>>,
) -> tiberius::Result<u64> {
    let mut req = client.bulk_insert(table).await?;
    for values in rows {
        let mut row = TokenRow::new();
        for v in values {
            row.push(v);
        }
        req.send(row).await?;
    }
    Ok(req.finalize().await?.total())
}

#[tokio::test]
async fn every_bulk_loadable_type_round_trips() {
    let server = server().await;
    let mut client = connect(&server).await;
    exec(&mut client, CREATE).await;
    let loaded = bulk(
        &mut client,
        "dbo.bulk_all",
        vec![full_row(1), null_row(2), full_row(3)],
    )
    .await
    .unwrap();
    assert_eq!(loaded, 3);
    let executed = server.executed_sql();
    assert!(
        executed
            .iter()
            .any(|s| s == "SELECT TOP 0 * FROM dbo.bulk_all"),
        "{executed:?}"
    );
    assert!(
        executed
            .iter()
            .any(|s| s.starts_with("INSERT BULK dbo.bulk_all (")),
        "{executed:?}"
    );

    let r = rows(&mut client, "SELECT * FROM dbo.bulk_all ORDER BY id").await;
    assert_eq!(r.len(), 3);
    let expected = full_row(1);
    for ((column, got), want) in r[0].cells().zip(expected.iter()) {
        let want = match (column.name(), want) {
            // Server-side padding of fixed-length types.
            ("c_char", _) => ColumnData::String(Some("ab  ".into())),
            ("c_nchar", _) => ColumnData::String(Some("ü  ".into())),
            ("c_binary", _) => ColumnData::Binary(Some(vec![1u8, 0, 0].into())),
            // Money comes back as f64; check the exact 1/10000 units below.
            (_, other) => other.clone(),
        };
        assert_eq!(got, &want, "column {}", column.name());
    }
    let nulls = null_row(2);
    for ((column, got), want) in r[1].cells().zip(nulls.iter()) {
        if column.name() == "c_sdt" {
            // tiberius decodes every NULL DATETIMN, even a 4-byte one, as DateTime(None).
            assert_eq!(got, &ColumnData::DateTime(None));
            continue;
        }
        assert_eq!(got, want, "column {}", column.name());
    }
    // Exact money values, via text.
    let m = rows(&mut client, "SELECT CAST(c_money AS VARCHAR(30)), CAST(c_smallmoney AS VARCHAR(30)) FROM dbo.bulk_all WHERE id = 1").await;
    assert_eq!(m[0].get::<&str, _>(0), Some("1234.57"));
    assert_eq!(m[0].get::<&str, _>(1), Some("-99.50"));
}

#[tokio::test]
async fn bulk_load_converts_and_checks_values() {
    let server = server().await;
    let mut client = connect(&server).await;
    exec(
        &mut client,
        "CREATE TABLE dbo.narrow (a INT NOT NULL, s NVARCHAR(5) NOT NULL, d DECIMAL(5,2))",
    )
    .await;
    // NULL into a NOT NULL column (nvarchar NOT NULL still travels as a nullable type).
    let err = bulk(
        &mut client,
        "dbo.narrow",
        vec![vec![
            ColumnData::I32(Some(1)),
            ColumnData::String(None),
            ColumnData::Numeric(None),
        ]],
    )
    .await
    .unwrap_err();
    match &err {
        tiberius::error::Error::Server(e) => assert_eq!(
            (e.code(), e.message()),
            (
                515,
                "Cannot insert the value NULL into column 's', table 'hygge.dbo.narrow'; column does not allow nulls. INSERT fails."
            )
        ),
        other => panic!("unexpected {other:?}"),
    }
    // Decimal overflow.
    let err = bulk(
        &mut client,
        "dbo.narrow",
        vec![vec![
            ColumnData::I32(Some(1)),
            ColumnData::String(Some("x".into())),
            ColumnData::Numeric(Some(Numeric::new_with_scale(123_456, 2))),
        ]],
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("Arithmetic overflow"), "{err}");
    let r = rows(&mut client, "SELECT COUNT(*) FROM dbo.narrow").await;
    assert_eq!(r[0].get::<i32, _>(0), Some(0));
    // A scale the column does not have is rescaled by tiberius; values fit.
    let n = bulk(
        &mut client,
        "dbo.narrow",
        vec![vec![
            ColumnData::I32(Some(1)),
            ColumnData::String(Some("hé".into())),
            ColumnData::Numeric(Some(Numeric::new_with_scale(1234, 1))),
        ]],
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    let r = rows(
        &mut client,
        "SELECT CAST(d AS VARCHAR(10)), s FROM dbo.narrow",
    )
    .await;
    assert_eq!(r[0].get::<&str, _>(0), Some("123.40"));
    assert_eq!(r[0].get::<&str, _>(1), Some("hé"));
}

#[tokio::test]
async fn large_bulk_load_spans_many_packets() {
    let server = server().await;
    let mut client = connect(&server).await;
    exec(
        &mut client,
        "CREATE TABLE dbo.big (a INT NOT NULL, b BIGINT, c FLOAT, d NVARCHAR(20), e DATETIME2(7), f DECIMAL(12,2))",
    )
    .await;
    let n = 50_000i32;
    let rows_in: Vec<Vec<ColumnData<'static>>> = (0..n)
        .map(|i| {
            vec![
                ColumnData::I32(Some(i)),
                if i % 7 == 0 {
                    ColumnData::I64(None)
                } else {
                    ColumnData::I64(Some(i64::from(i) * 3))
                },
                ColumnData::F64(Some(f64::from(i) / 2.0)),
                ColumnData::String(Some(format!("name-{i}").into())),
                ColumnData::DateTime2(Some(DateTime2::new(
                    Date::new(738_886),
                    Time::new(u64::try_from(i).unwrap(), 7),
                ))),
                ColumnData::Numeric(Some(Numeric::new_with_scale(i128::from(i) * 100 + 5, 2))),
            ]
        })
        .collect();
    assert_eq!(
        bulk(&mut client, "dbo.big", rows_in).await.unwrap(),
        n as u64
    );
    let r = rows(
        &mut client,
        "SELECT COUNT(*), COUNT(b), MAX(d), MIN(a) FROM dbo.big",
    )
    .await;
    assert_eq!(r[0].get::<i32, _>(0), Some(n));
    assert_eq!(r[0].get::<i32, _>(1), Some(n - (n + 6) / 7));
    assert_eq!(r[0].get::<&str, _>(2), Some("name-9999"));
    let all = rows(&mut client, "SELECT a, b, d, f FROM dbo.big").await;
    assert_eq!(all.len(), n as usize);
    assert_eq!(all[49_999].get::<&str, _>(2), Some("name-49999"));
    assert_eq!(all[7].get::<i64, _>(1), None);
    assert_eq!(
        all[12_345].get::<Numeric, _>(3),
        Some(Numeric::new_with_scale(1_234_505, 2))
    );
}

#[tokio::test]
async fn failure_hook_aborts_the_whole_load() {
    let server = server().await;
    let mut client = connect(&server).await;
    exec(&mut client, "CREATE TABLE dbo.f (a INT NOT NULL)").await;
    server.fail_next_bulk_load_after(10);
    let rows_in: Vec<Vec<ColumnData<'static>>> =
        (0..100).map(|i| vec![ColumnData::I32(Some(i))]).collect();
    let err = bulk(&mut client, "dbo.f", rows_in.clone())
        .await
        .unwrap_err();
    match &err {
        tiberius::error::Error::Server(e) => {
            assert_eq!(e.code(), 50_000);
            assert!(
                e.message().contains("after receiving 10 rows"),
                "{}",
                e.message()
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let r = rows(&mut client, "SELECT COUNT(*) FROM dbo.f").await;
    assert_eq!(r[0].get::<i32, _>(0), Some(0));
    // The hook fires once.
    assert_eq!(bulk(&mut client, "dbo.f", rows_in).await.unwrap(), 100);
    let r = rows(&mut client, "SELECT COUNT(*) FROM dbo.f").await;
    assert_eq!(r[0].get::<i32, _>(0), Some(100));
}

#[tokio::test]
async fn bulk_into_missing_table_fails() {
    let server = server().await;
    let mut client = connect(&server).await;
    let err = bulk(&mut client, "dbo.nope", vec![]).await.unwrap_err();
    assert!(
        err.to_string().contains("Invalid object name 'dbo.nope'."),
        "{err}"
    );
}
