//! Every supported type round-trips through CREATE TABLE, INSERT … VALUES and
//! SELECT, checked on the values tiberius decodes.
#![allow(clippy::unwrap_used)]

mod common;

use common::{connect, exec, rows, server};
use tiberius::numeric::Numeric;
use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, SmallDateTime, Time};
use tiberius::{ColumnData, ColumnType, Row, Uuid};

/// Days since 0001-01-01 (an independent copy of the civil-date algorithm).
pub fn days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 306
}

const CREATE: &str = "CREATE TABLE dbo.all_types (
  id INT NOT NULL,
  c_bit BIT, c_tiny TINYINT, c_small SMALLINT, c_int INT, c_big BIGINT, c_real REAL, c_float FLOAT,
  c_dec DECIMAL(38,10), c_num NUMERIC(12,2), c_money MONEY, c_smallmoney SMALLMONEY,
  c_date DATE, c_time TIME(7), c_dt2 DATETIME2(7), c_dto DATETIMEOFFSET(7), c_dt DATETIME, c_sdt SMALLDATETIME,
  c_char CHAR(5), c_varchar VARCHAR(20), c_varchar_max VARCHAR(MAX), c_nchar NCHAR(4),
  c_nvarchar NVARCHAR(40), c_nvarchar_max NVARCHAR(MAX), c_text TEXT, c_ntext NTEXT, c_image IMAGE,
  c_xml XML, c_binary BINARY(4), c_varbinary VARBINARY(10), c_varbinary_max VARBINARY(MAX),
  c_guid UNIQUEIDENTIFIER, c_variant SQL_VARIANT, c_time3 TIME(3), c_dt2_0 DATETIME2(0)
)";

fn long_varchar() -> String {
    "abcdefghij".repeat(900)
}

fn long_nvarchar() -> String {
    "añ😀".repeat(3000)
}

fn long_binary() -> Vec<u8> {
    (0..9000u32).map(|i| (i % 251) as u8).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn cell(row: &Row, name: &str) -> ColumnData<'static> {
    row.get_column_data(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .clone()
}

async fn load(client: &mut common::TestClient) {
    exec(client, CREATE).await;
    let insert = format!(
        "INSERT INTO dbo.all_types VALUES (1, 1, 255, -32768, -2147483648, 9223372036854775807, 1.5, -2.25,
          1234567890123456789012345678.0123456789, 1234567890.12, 12345.6789, -214748.3648,
          '2024-01-02', '03:04:05.1234567', '2024-01-02 03:04:05.1234567', '2024-01-02 03:04:05.1234567 +02:00',
          '2024-01-02 03:04:05.997', '2024-01-02 03:04:31',
          'ab', 'café', '{}', N'ü', N'héllo 😀 wörld', N'{}', 'text value', N'ntext ✓', 0x010203,
          N'<a b=\"1\">x</a>', 0x0A0B, 0x, 0x{}, '6F9619FF-8B86-D011-B42D-00C04FC964FF', 42,
          '12:00:00.9996', '2024-01-02 03:04:05.5');
         INSERT INTO dbo.all_types (id) VALUES (2);
         INSERT INTO dbo.all_types (id, c_char, c_varchar, c_varchar_max, c_nchar, c_nvarchar, c_nvarchar_max,
            c_text, c_ntext, c_image, c_xml, c_binary, c_varbinary, c_varbinary_max, c_variant)
         VALUES (3, '', '', '', N'', N'', N'', '', N'', 0x, N'', 0x, 0x, 0x, N'variant')",
        long_varchar(),
        long_nvarchar(),
        hex(&long_binary())
    );
    exec(client, &insert).await;
}

#[tokio::test]
async fn every_type_round_trips_with_exact_values() {
    let server = server().await;
    let mut client = connect(&server).await;
    load(&mut client).await;
    let r = rows(&mut client, "SELECT * FROM dbo.all_types ORDER BY id").await;
    assert_eq!(r.len(), 3);
    let row = &r[0];
    let day = days(2024, 1, 2);
    let time_ticks = ((3 * 60 + 4) * 60 + 5) * 10_000_000u64 + 1_234_567;

    assert_eq!(cell(row, "c_bit"), ColumnData::Bit(Some(true)));
    assert_eq!(cell(row, "c_tiny"), ColumnData::U8(Some(255)));
    assert_eq!(cell(row, "c_small"), ColumnData::I16(Some(-32768)));
    assert_eq!(cell(row, "c_int"), ColumnData::I32(Some(i32::MIN)));
    assert_eq!(cell(row, "c_big"), ColumnData::I64(Some(i64::MAX)));
    assert_eq!(cell(row, "c_real"), ColumnData::F32(Some(1.5)));
    assert_eq!(cell(row, "c_float"), ColumnData::F64(Some(-2.25)));
    assert_eq!(
        cell(row, "c_dec"),
        ColumnData::Numeric(Some(Numeric::new_with_scale(
            12_345_678_901_234_567_890_123_456_780_123_456_789,
            10
        )))
    );
    assert_eq!(
        cell(row, "c_num"),
        ColumnData::Numeric(Some(Numeric::new_with_scale(123_456_789_012, 2)))
    );
    match cell(row, "c_money") {
        ColumnData::F64(Some(m)) => assert!((m - 12_345.678_9).abs() < 1e-9, "{m}"),
        other => panic!("money decoded as {other:?}"),
    }
    match cell(row, "c_smallmoney") {
        ColumnData::F64(Some(m)) => assert!((m + 214_748.364_8).abs() < 1e-9, "{m}"),
        other => panic!("smallmoney decoded as {other:?}"),
    }
    assert_eq!(
        cell(row, "c_date"),
        ColumnData::Date(Some(Date::new(day as u32)))
    );
    assert_eq!(
        cell(row, "c_time"),
        ColumnData::Time(Some(Time::new(time_ticks, 7)))
    );
    assert_eq!(
        cell(row, "c_dt2"),
        ColumnData::DateTime2(Some(DateTime2::new(
            Date::new(day as u32),
            Time::new(time_ticks, 7)
        )))
    );
    // datetimeoffset travels as UTC plus the offset: 03:04 at +02:00 is 01:04 UTC.
    assert_eq!(
        cell(row, "c_dto"),
        ColumnData::DateTimeOffset(Some(DateTimeOffset::new(
            DateTime2::new(
                Date::new(day as u32),
                Time::new(time_ticks - 2 * 3600 * 10_000_000, 7)
            ),
            120
        )))
    );
    let dt_days = (day - days(1900, 1, 1)) as i32;
    assert_eq!(
        cell(row, "c_dt"),
        ColumnData::DateTime(Some(DateTime::new(dt_days, 3_313_799)))
    );
    assert_eq!(
        cell(row, "c_sdt"),
        ColumnData::SmallDateTime(Some(SmallDateTime::new(dt_days as u16, 3 * 60 + 5)))
    );
    assert_eq!(row.get::<&str, _>("c_char"), Some("ab   "));
    assert_eq!(row.get::<&str, _>("c_varchar"), Some("café"));
    assert_eq!(
        row.get::<&str, _>("c_varchar_max").map(str::to_string),
        Some(long_varchar())
    );
    assert_eq!(row.get::<&str, _>("c_nchar"), Some("ü   "));
    assert_eq!(row.get::<&str, _>("c_nvarchar"), Some("héllo 😀 wörld"));
    assert_eq!(
        row.get::<&str, _>("c_nvarchar_max").map(str::to_string),
        Some(long_nvarchar())
    );
    assert_eq!(row.get::<&str, _>("c_text"), Some("text value"));
    assert_eq!(row.get::<&str, _>("c_ntext"), Some("ntext ✓"));
    assert_eq!(row.get::<&[u8], _>("c_image"), Some(&[1u8, 2, 3][..]));
    match cell(row, "c_xml") {
        ColumnData::Xml(Some(x)) => assert_eq!(x.as_ref().as_ref(), "<a b=\"1\">x</a>"),
        other => panic!("xml decoded as {other:?}"),
    }
    assert_eq!(
        row.get::<&[u8], _>("c_binary"),
        Some(&[0x0A, 0x0B, 0, 0][..])
    );
    assert_eq!(row.get::<&[u8], _>("c_varbinary"), Some(&[][..]));
    assert_eq!(
        row.get::<&[u8], _>("c_varbinary_max").map(<[u8]>::to_vec),
        Some(long_binary())
    );
    assert_eq!(
        row.get::<Uuid, _>("c_guid"),
        Some(Uuid::parse_str("6F9619FF-8B86-D011-B42D-00C04FC964FF").unwrap())
    );
    assert_eq!(cell(row, "c_variant"), ColumnData::I32(Some(42)));
    // time(3) rounds .9996 up to the next millisecond; datetime2(0) rounds .5 up.
    assert_eq!(
        cell(row, "c_time3"),
        ColumnData::Time(Some(Time::new(43_201_000, 3)))
    );
    assert_eq!(
        cell(row, "c_dt2_0"),
        ColumnData::DateTime2(Some(DateTime2::new(
            Date::new(day as u32),
            Time::new((3 * 60 + 4) * 60 + 6, 0)
        )))
    );
}

#[tokio::test]
async fn nulls_and_empty_values_are_distinct() {
    let server = server().await;
    let mut client = connect(&server).await;
    load(&mut client).await;
    let r = rows(&mut client, "SELECT * FROM dbo.all_types ORDER BY id").await;
    let nulls = &r[1];
    for (column, data) in nulls.cells() {
        if column.name() == "id" {
            assert_eq!(data, &ColumnData::I32(Some(2)));
            continue;
        }
        let is_null = matches!(
            data,
            ColumnData::Bit(None)
                | ColumnData::U8(None)
                | ColumnData::I16(None)
                | ColumnData::I32(None)
                | ColumnData::I64(None)
                | ColumnData::F32(None)
                | ColumnData::F64(None)
                | ColumnData::Numeric(None)
                | ColumnData::Date(None)
                | ColumnData::Time(None)
                | ColumnData::DateTime2(None)
                | ColumnData::DateTimeOffset(None)
                | ColumnData::DateTime(None)
                | ColumnData::SmallDateTime(None)
                | ColumnData::String(None)
                | ColumnData::Binary(None)
                | ColumnData::Xml(None)
                | ColumnData::Guid(None)
        );
        assert!(is_null, "{} should be NULL, got {data:?}", column.name());
    }
    let empty = &r[2];
    for name in [
        "c_varchar",
        "c_varchar_max",
        "c_nvarchar",
        "c_nvarchar_max",
        "c_text",
        "c_ntext",
    ] {
        assert_eq!(empty.get::<&str, _>(name), Some(""), "{name}");
    }
    assert_eq!(empty.get::<&str, _>("c_char"), Some("     "));
    assert_eq!(empty.get::<&str, _>("c_nchar"), Some("    "));
    for name in ["c_varbinary", "c_varbinary_max", "c_image"] {
        assert_eq!(empty.get::<&[u8], _>(name), Some(&[][..]), "{name}");
    }
    assert_eq!(empty.get::<&[u8], _>("c_binary"), Some(&[0u8, 0, 0, 0][..]));
    assert_eq!(
        cell(empty, "c_variant"),
        ColumnData::String(Some("variant".into()))
    );
}

#[tokio::test]
async fn result_metadata_has_the_column_types() {
    let server = server().await;
    let mut client = connect(&server).await;
    load(&mut client).await;
    let mut stream = client
        .simple_query("SELECT id, c_int, c_dt2, c_dto, c_dec, c_nvarchar_max, c_variant, c_money FROM dbo.all_types")
        .await
        .unwrap();
    let types: Vec<ColumnType> = stream
        .columns()
        .await
        .unwrap()
        .unwrap()
        .iter()
        .map(|c| c.column_type())
        .collect();
    assert_eq!(
        types,
        vec![
            ColumnType::Int4,
            // tiberius reports INTN(4) as Int4 too.
            ColumnType::Int4,
            ColumnType::Datetime2,
            ColumnType::DatetimeOffsetn,
            ColumnType::Decimaln,
            ColumnType::NVarchar,
            ColumnType::SSVariant,
            ColumnType::Money,
        ]
    );
    stream.into_results().await.unwrap();
}

#[tokio::test]
async fn cast_to_text_uses_iso_forms() {
    let server = server().await;
    let mut client = connect(&server).await;
    load(&mut client).await;
    let r = rows(
        &mut client,
        "SELECT CAST(c_dt2 AS NVARCHAR(40)) AS a, CAST(c_dto AS NVARCHAR(40)) AS b, CAST(c_dec AS VARCHAR(50)) AS c,
                CAST(c_guid AS NVARCHAR(36)) AS d, CAST(c_int AS BIGINT) AS e
         FROM dbo.all_types WHERE id = 1",
    )
    .await;
    assert_eq!(
        r[0].get::<&str, _>("a"),
        Some("2024-01-02 03:04:05.1234567")
    );
    assert_eq!(
        r[0].get::<&str, _>("b"),
        Some("2024-01-02 03:04:05.1234567 +02:00")
    );
    assert_eq!(
        r[0].get::<&str, _>("c"),
        Some("1234567890123456789012345678.0123456789")
    );
    assert_eq!(
        r[0].get::<&str, _>("d"),
        Some("6F9619FF-8B86-D011-B42D-00C04FC964FF")
    );
    assert_eq!(r[0].get::<i64, _>("e"), Some(i64::from(i32::MIN)));
}
