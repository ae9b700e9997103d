//! The mssql connector against a server: the in-process TDS test server by default, or a
//! real SQL Server when `HYGGE_MSSQL_URL` is set
//! (`mssql://user:password@host:port/database?encrypt=false&trust_cert=true`). Every table
//! name is unique per test, so the suite can share a real database.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::*;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use hygge_runtime::contract::{
    ConfigProblem, Connector, ConnectorError, ErrorKind, HomeSpec, ReadRequest, Role, RunContext,
    RunScope, RunType, StoreSpec, WatermarkFilter,
};
use hygge_runtime::testing::connector_config;
use hygge_tds_test_server::{ServerConfig, TestServer};
use serde_yaml::Value;

use super::MSSQL;
use super::auth::AuthConfig;
use super::config::ConnectionSettings;
use super::pool::connect;

/// A database to test against.
pub(crate) struct Db {
    pub(crate) server: Option<TestServer>,
    pub(crate) settings: ConnectionSettings,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Db {
    /// The database a parent process's test uses: its test server on `port`, or the real
    /// server of `HYGGE_MSSQL_URL`.
    pub(super) fn attach(port: u16) -> Db {
        match std::env::var("HYGGE_MSSQL_URL") {
            Ok(url) => Db {
                server: None,
                settings: settings_from_url(&url),
            },
            Err(_) => Db::on_port(port),
        }
    }

    /// The test server on `port`.
    fn on_port(port: u16) -> Db {
        Db {
            server: None,
            settings: ConnectionSettings {
                label: "test".into(),
                host: "127.0.0.1".into(),
                port,
                database: "hygge".into(),
                auth: AuthConfig::Sql {
                    user: "sa".into(),
                    password: "Hygge-Test-1".into(),
                },
                encrypt: false,
                trust_cert: false,
                pool_size: Some(4),
                timeout: Duration::from_secs(10),
            },
        }
    }

    pub(crate) async fn start() -> Db {
        if let Ok(url) = std::env::var("HYGGE_MSSQL_URL") {
            return Db {
                server: None,
                settings: settings_from_url(&url),
            };
        }
        let server = TestServer::start(ServerConfig::default()).await.unwrap();
        let settings = Db::on_port(server.port()).settings;
        Db {
            server: Some(server),
            settings,
        }
    }

    /// A table name no other test uses: `dbo.<base>_<pid>_<n>`.
    pub(crate) fn table(&self, base: &str) -> String {
        format!(
            "dbo.{base}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The inline connection keys, as YAML lines.
    fn yaml(&self) -> String {
        let AuthConfig::Sql { user, password } = &self.settings.auth else {
            unreachable!()
        };
        format!(
            "server: {}\nport: {}\ndatabase: {}\nuser: {user}\npassword: {password}\nencrypt: {}\ntrust_cert: {}\npool_size: {}\n",
            self.settings.host,
            self.settings.port,
            self.settings.database,
            self.settings.encrypt,
            self.settings.trust_cert,
            self.settings.pool_size.unwrap_or(4),
        )
    }

    /// Runs a batch and returns the rows of its first result.
    pub(crate) async fn sql(&self, batch: &str) -> Vec<tiberius::Row> {
        let mut client = connect(&self.settings, None).await.unwrap();
        client
            .simple_query(batch)
            .await
            .unwrap_or_else(|e| panic!("{batch}: {e}"))
            .into_first_result()
            .await
            .unwrap_or_else(|e| panic!("{batch}: {e}"))
    }

    /// How many `sp_getapplock` requests the server has received (a real server: how many
    /// sessions hold or wait for an application lock).
    async fn applock_requests(&self) -> usize {
        match &self.server {
            Some(server) => server
                .executed_sql()
                .iter()
                .filter(|sql| sql.contains("sp_getapplock"))
                .count(),
            None => self
                .sql("SELECT request_session_id FROM sys.dm_tran_locks WHERE resource_type = 'APPLICATION'")
                .await
                .len(),
        }
    }

    async fn count(&self, table: &str) -> i32 {
        let rows = self.sql(&format!("SELECT COUNT(*) FROM {table}")).await;
        rows[0].get::<i32, _>(0).unwrap()
    }

    pub(super) async fn tables_like(&self, prefix: &str) -> Vec<String> {
        let (schema, name) = prefix.split_once('.').unwrap();
        self.sql(&format!(
            "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = N'{schema}'"
        ))
        .await
        .iter()
        .map(|r| r.get::<&str, _>(0).unwrap().to_string())
        .filter(|t| t.starts_with(name))
        .collect()
    }
}

fn settings_from_url(url: &str) -> ConnectionSettings {
    let rest = url
        .strip_prefix("mssql://")
        .expect("HYGGE_MSSQL_URL starts with mssql://");
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (creds, rest) = rest.rsplit_once('@').expect("user:password@host");
    let (user, password) = creds.split_once(':').expect("user:password");
    let (hostport, database) = rest.split_once('/').unwrap_or((rest, "master"));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "1433"));
    let flag = |key: &str, default: bool| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .map_or(default, |v| v == "true")
    };
    ConnectionSettings {
        label: "real".into(),
        host: host.into(),
        port: port.parse().unwrap(),
        database: database.into(),
        auth: AuthConfig::Sql {
            user: user.into(),
            password: password.into(),
        },
        encrypt: flag("encrypt", false),
        trust_cert: flag("trust_cert", true),
        pool_size: Some(4),
        timeout: Duration::from_secs(15),
    }
}

pub(crate) fn home(db: &Db, extra: &str) -> Result<Arc<dyn HomeSpec>, ConfigProblem> {
    let value: Value = serde_yaml::from_str(&format!("{}{extra}", db.yaml())).unwrap();
    MSSQL
        .home(&connector_config(&value, Role::Home, &BTreeMap::new()))
        .unwrap()
}

pub(crate) fn store(db: &Db, extra: &str) -> Result<Arc<dyn StoreSpec>, ConfigProblem> {
    let value: Value = serde_yaml::from_str(&format!("{}{extra}", db.yaml())).unwrap();
    MSSQL
        .store(&connector_config(&value, Role::Store, &BTreeMap::new()))
        .unwrap()
}

async fn read_with(
    spec: &Arc<dyn HomeSpec>,
    request: ReadRequest,
) -> Result<RecordBatch, ConnectorError> {
    let mut reader = spec.build(&RunScope::default()).open(&request).await?;
    let schema = reader.schema();
    let mut batches = Vec::new();
    while let Some(batch) = reader.next_batch().await? {
        assert_eq!(batch.schema(), schema);
        batches.push(batch);
    }
    Ok(arrow_select::concat::concat_batches(&schema, &batches).unwrap())
}

pub(crate) async fn read(spec: &Arc<dyn HomeSpec>) -> RecordBatch {
    read_with(spec, ReadRequest::default().with_batch_size(1000))
        .await
        .unwrap()
}

fn context(run: &str) -> RunContext {
    RunContext {
        run_id: run.into(),
        flow: "f".into(),
        entity: "e".into(),
        run_type: RunType::FullDrop,
        on_schema_change: Default::default(),
        reload: false,
        watermark_column: None,
    }
}

pub(crate) async fn write(
    spec: &Arc<dyn StoreSpec>,
    batches: &[RecordBatch],
    run: &str,
) -> Result<(), ConnectorError> {
    write_in(&RunScope::default(), spec, batches, run).await
}

/// As [`write`], as one flow of the run `scope` (which shares its pools among its flows).
async fn write_in(
    scope: &RunScope,
    spec: &Arc<dyn StoreSpec>,
    batches: &[RecordBatch],
    run: &str,
) -> Result<(), ConnectorError> {
    let schema = batches[0].schema();
    let mut writer = spec.build(scope).open(schema, &context(run)).await?;
    for batch in batches {
        if let Err(e) = writer.write(batch.clone()).await {
            writer.abort().await.unwrap();
            return Err(e);
        }
    }
    writer.commit(None).await
}

pub(crate) fn sorted_by_first(batch: &RecordBatch) -> RecordBatch {
    let indices = arrow_ord::sort::sort_to_indices(batch.column(0), None, None).unwrap();
    arrow_select::take::take_record_batch(batch, &indices).unwrap()
}

fn people(ids: &[i64], names: &[Option<&str>]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(names.to_vec())),
        ],
    )
    .unwrap()
}

const ALL_TYPES: &str = "(id INT NOT NULL, b BIT, ti TINYINT, si SMALLINT, i INT, bi BIGINT, r REAL, f FLOAT, \
    d DECIMAL(38,10), n NUMERIC(9,2), m MONEY, sm SMALLMONEY, dt DATE, t TIME(7), dtm DATETIME, \
    sdt SMALLDATETIME, dt2 DATETIME2(7), dt23 DATETIME2(3), dto DATETIMEOFFSET(7), c CHAR(5), \
    vc VARCHAR(20), nc NCHAR(3), nvc NVARCHAR(50), nvm NVARCHAR(MAX), tx TEXT, ntx NTEXT, x XML, \
    bn BINARY(4), vb VARBINARY(10), vbm VARBINARY(MAX), img IMAGE, g UNIQUEIDENTIFIER)";

/// SQL creating `table` with every SQL Server type hygge reads: a row of extremes, a row
/// of NULLs and a row of zeros.
pub(crate) fn all_types_table(table: &str) -> String {
    let long = "ü".repeat(6000);
    format!(
        "CREATE TABLE {table} {ALL_TYPES};
         INSERT INTO {table} VALUES (1, 1, 255, -32768, -2147483648, 9223372036854775807, 1.5, -2.25,
           1234567890123456789012345678.0123456789, -1234567.89, 922337203685477.5807, -214748.3648,
           '0001-01-01', '23:59:59.9999999', '2024-01-02 03:04:05.997', '2024-01-02 03:04:00',
           '2024-01-02 03:04:05.1234567', '1999-12-31 23:59:59.999', '2024-01-02 03:04:05.1234567 +02:00',
           'abcde', 'hello', N'żół', N'Grüße 😀 日本', N'{long}', 'text', N'ntext ü', N'<a>1</a>',
           0x01020304, 0x, 0x00FF10, 0xDEADBEEF, '6F9619FF-8B86-D011-B42D-00C04FD430C8');
         INSERT INTO {table} (id) VALUES (2);
         INSERT INTO {table} VALUES (3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '1970-01-01', '00:00:00',
           '1970-01-01', '1970-01-01', '1970-01-01', '1970-01-01', '1970-01-01 00:00:00 +00:00',
           '', '', N'', N'', N'', '', N'', N'', 0x00000000, 0x, 0x, 0x, '00000000-0000-0000-0000-000000000000');"
    )
}

#[tokio::test]
async fn every_sql_server_type_reads_exactly() {
    let db = Db::start().await;
    let table = db.table("types");
    let long = "ü".repeat(6000);
    db.sql(&all_types_table(&table)).await;
    let spec = home(&db, &format!("table: {table}\n")).unwrap();
    let batch = sorted_by_first(&read(&spec).await);
    assert_eq!(batch.num_rows(), 3);
    let schema = batch.schema();
    let ty = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(ty("b"), DataType::Boolean);
    assert_eq!(ty("ti"), DataType::UInt8);
    assert_eq!(ty("d"), DataType::Decimal128(38, 10));
    assert_eq!(ty("n"), DataType::Decimal128(9, 2));
    assert_eq!(ty("m"), DataType::Decimal128(19, 4));
    assert_eq!(ty("sm"), DataType::Decimal128(10, 4));
    assert_eq!(ty("t"), DataType::Time64(TimeUnit::Nanosecond));
    assert_eq!(ty("dt2"), DataType::Timestamp(TimeUnit::Nanosecond, None));
    assert_eq!(ty("dt23"), DataType::Timestamp(TimeUnit::Millisecond, None));
    assert_eq!(
        ty("dto"),
        DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
    );
    assert_eq!(ty("dtm"), DataType::Timestamp(TimeUnit::Millisecond, None));
    assert_eq!(ty("g"), DataType::Utf8);
    assert_eq!(ty("vbm"), DataType::Binary);
    assert!(!schema.field_with_name("id").unwrap().is_nullable());

    let col = |name: &str| batch.column_by_name(name).unwrap().clone();
    assert!(col("b").as_boolean().value(0));
    assert_eq!(col("ti").as_primitive::<UInt8Type>().value(0), 255);
    assert_eq!(col("si").as_primitive::<Int16Type>().value(0), -32768);
    assert_eq!(col("i").as_primitive::<Int32Type>().value(0), i32::MIN);
    assert_eq!(col("bi").as_primitive::<Int64Type>().value(0), i64::MAX);
    assert_eq!(col("r").as_primitive::<Float32Type>().value(0), 1.5);
    assert_eq!(col("f").as_primitive::<Float64Type>().value(0), -2.25);
    assert_eq!(
        col("d").as_primitive::<Decimal128Type>().value(0),
        12_345_678_901_234_567_890_123_456_780_123_456_789
    );
    assert_eq!(
        col("n").as_primitive::<Decimal128Type>().value(0),
        -123_456_789
    );
    assert_eq!(
        col("m").as_primitive::<Decimal128Type>().value(0),
        9_223_372_036_854_775_807
    );
    assert_eq!(
        col("sm").as_primitive::<Decimal128Type>().value(0),
        -2_147_483_648
    );
    assert_eq!(col("dt").as_primitive::<Date32Type>().value(0), -719_162);
    assert_eq!(
        col("t").as_primitive::<Time64NanosecondType>().value(0),
        86_399_999_999_900
    );
    assert_eq!(
        col("dtm")
            .as_primitive::<TimestampMillisecondType>()
            .value(0),
        1_704_164_645_997
    );
    assert_eq!(
        col("sdt")
            .as_primitive::<TimestampMillisecondType>()
            .value(0),
        1_704_164_640_000
    );
    assert_eq!(
        col("dt2")
            .as_primitive::<TimestampNanosecondType>()
            .value(0),
        1_704_164_645_123_456_700
    );
    assert_eq!(
        col("dt23")
            .as_primitive::<TimestampMillisecondType>()
            .value(0),
        946_684_799_999
    );
    assert_eq!(
        col("dto")
            .as_primitive::<TimestampNanosecondType>()
            .value(0),
        1_704_157_445_123_456_700
    );
    let text = |name: &str, row: usize| col(name).as_string::<i32>().value(row).to_string();
    assert_eq!(text("c", 0), "abcde");
    assert_eq!(text("vc", 0), "hello");
    assert_eq!(text("nc", 0), "żół");
    assert_eq!(text("nvc", 0), "Grüße 😀 日本");
    assert_eq!(text("nvm", 0), long);
    assert_eq!(text("tx", 0), "text");
    assert_eq!(text("ntx", 0), "ntext ü");
    assert_eq!(text("x", 0), "<a>1</a>");
    assert_eq!(text("g", 0), "6F9619FF-8B86-D011-B42D-00C04FD430C8");
    let bytes = |name: &str, row: usize| col(name).as_binary::<i32>().value(row).to_vec();
    assert_eq!(bytes("bn", 0), [1, 2, 3, 4]);
    assert_eq!(bytes("vb", 0), Vec::<u8>::new());
    assert_eq!(bytes("vbm", 0), [0, 255, 16]);
    assert_eq!(bytes("img", 0), [0xDE, 0xAD, 0xBE, 0xEF]);
    // Row 2: NULL everywhere but the key.
    for field in schema.fields().iter().skip(1) {
        assert!(
            col(field.name()).is_null(1),
            "{} should be NULL",
            field.name()
        );
    }
    // Row 3: zeroes and empty strings, which are not NULL.
    for name in ["vc", "nvc", "nvm", "tx", "ntx"] {
        assert!(col(name).is_valid(2), "{name}");
        assert_eq!(text(name, 2), "", "{name}");
    }
    assert_eq!(bytes("vbm", 2), Vec::<u8>::new());
    assert_eq!(
        col("dt2")
            .as_primitive::<TimestampNanosecondType>()
            .value(2),
        0
    );
}

#[tokio::test]
async fn every_sql_server_type_round_trips_through_an_append() {
    let db = Db::start().await;
    let (source, target) = (db.table("typed_src"), db.table("typed_dst"));
    // tiberius cannot bulk-load IMAGE; every other type is written into its own column type.
    let types = ALL_TYPES.replace(", img IMAGE", "");
    db.sql(&format!(
        "CREATE TABLE {source} {types}; CREATE TABLE {target} {types};
         INSERT INTO {source} VALUES (1, 1, 255, -32768, -2147483648, 9223372036854775807, 1.5, -2.25,
           1234567890123456789012345678.0123456789, -1234567.89, 922337203685477.5807, -214748.3648,
           '0001-01-01', '23:59:59.9999999', '2024-01-02 03:04:05.997', '2024-01-02 03:04:00',
           '2024-01-02 03:04:05.1234567', '1999-12-31 23:59:59.999', '2024-01-02 03:04:05.1234567 +02:00',
           'abcde', 'hello', N'żół', N'Grüße 😀 日本', N'long ü', 'text', N'ntext ü', N'<a>1</a>',
           0x01020304, 0x, 0x00FF10, '6F9619FF-8B86-D011-B42D-00C04FD430C8');
         INSERT INTO {source} (id) VALUES (2);
         INSERT INTO {source} VALUES (3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '1970-01-01', '00:00:00',
           '1970-01-01', '1970-01-01', '1970-01-01', '1970-01-01', '1970-01-01 00:00:00 +00:00',
           '', '', N'', N'', N'', '', N'', N'', 0x00000000, 0x, 0x, '00000000-0000-0000-0000-000000000000');"
    ))
    .await;
    let original = sorted_by_first(&read(&home(&db, &format!("table: {source}\n")).unwrap()).await);
    let append = store(&db, &format!("table: {target}\nif_exists: append\n")).unwrap();
    write(&append, std::slice::from_ref(&original), "r1")
        .await
        .unwrap();
    let back = sorted_by_first(&read(&home(&db, &format!("table: {target}\n")).unwrap()).await);
    assert_eq!(back, original);
}

#[tokio::test]
async fn types_hygge_cannot_read_name_the_column_and_the_fix() {
    let db = Db::start().await;
    let table = db.table("variant");
    db.sql(&format!(
        "CREATE TABLE {table} (id INT, v SQL_VARIANT); INSERT INTO {table} VALUES (1, 5);"
    ))
    .await;
    let spec = home(&db, &format!("table: {table}\n")).unwrap();
    let error = read_with(&spec, ReadRequest::default()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    let text = error.to_string();
    assert!(
        text.contains("`v`") && text.contains("sql_variant"),
        "{text}"
    );
    assert!(text.contains("CAST([v] AS NVARCHAR(MAX))"), "{text}");
    // Leaving the column out reads the rest.
    let only_id = read_with(
        &spec,
        ReadRequest::default().with_columns(Some(vec!["id".into()])),
    )
    .await
    .unwrap();
    assert_eq!(only_id.num_rows(), 1);
}

fn wide_batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("i8", DataType::Int8, true),
        Field::new("u8", DataType::UInt8, true),
        Field::new("u16", DataType::UInt16, true),
        Field::new("u32", DataType::UInt32, true),
        Field::new("u64", DataType::UInt64, true),
        Field::new("i64", DataType::Int64, true),
        Field::new("f32", DataType::Float32, true),
        Field::new("f64", DataType::Float64, true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("amount", DataType::Decimal128(38, 10), true),
        Field::new("day", DataType::Date32, true),
        Field::new("clock", DataType::Time64(TimeUnit::Nanosecond), true),
        Field::new("at", DataType::Timestamp(TimeUnit::Nanosecond, None), true),
        Field::new(
            "at_tz",
            DataType::Timestamp(TimeUnit::Microsecond, Some("+02:00".into())),
            true,
        ),
        Field::new("name", DataType::Utf8, true),
        Field::new("note", DataType::LargeUtf8, true),
        Field::new("blob", DataType::Binary, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![1, 2, 3])),
        Arc::new(Int8Array::from(vec![Some(-128), None, Some(127)])),
        Arc::new(UInt8Array::from(vec![Some(255), None, Some(0)])),
        Arc::new(UInt16Array::from(vec![Some(65535), None, Some(0)])),
        Arc::new(UInt32Array::from(vec![Some(u32::MAX), None, Some(0)])),
        Arc::new(UInt64Array::from(vec![Some(u64::MAX), None, Some(0)])),
        Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(i64::MAX)])),
        Arc::new(Float32Array::from(vec![Some(1.25), None, Some(-0.5)])),
        Arc::new(Float64Array::from(vec![Some(1e300), None, Some(-2.5)])),
        Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        Arc::new(
            Decimal128Array::from(vec![
                Some(99_999_999_999_999_999_999_999_999_990_123_456_789i128),
                None,
                Some(-1),
            ])
            .with_precision_and_scale(38, 10)
            .unwrap(),
        ),
        Arc::new(Date32Array::from(vec![
            Some(-719_162),
            None,
            Some(2_932_896),
        ])),
        Arc::new(Time64NanosecondArray::from(vec![
            Some(86_399_999_999_900),
            None,
            Some(0),
        ])),
        Arc::new(TimestampNanosecondArray::from(vec![
            Some(1_704_164_645_123_456_700),
            None,
            Some(-1_000_000_000),
        ])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![Some(1_704_164_645_123_456), None, Some(0)])
                .with_timezone("+02:00"),
        ),
        Arc::new(StringArray::from(vec![Some("Grüße 😀"), None, Some("")])),
        Arc::new(LargeStringArray::from(vec![
            Some("x".repeat(5000)),
            None,
            Some(String::new()),
        ])),
        Arc::new(BinaryArray::from(vec![
            Some(&b"\x00\xff"[..]),
            None,
            Some(&b""[..]),
        ])),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

#[tokio::test]
async fn arrow_types_round_trip_through_a_table_hygge_creates() {
    let db = Db::start().await;
    let table = db.table("roundtrip");
    let spec = store(&db, &format!("table: {table}\n")).unwrap();
    let original = wide_batch();
    write(&spec, std::slice::from_ref(&original), "run1")
        .await
        .unwrap();
    let back = sorted_by_first(&read(&home(&db, &format!("table: {table}\n")).unwrap()).await);
    assert_eq!(back.num_rows(), 3);
    // Each column comes back as the type its SQL column reads as; the values are the same.
    for (index, field) in original.schema().fields().iter().enumerate() {
        let got = back.column_by_name(field.name()).unwrap();
        let expected = arrow_cast::cast(original.column(index), got.data_type()).unwrap();
        assert_eq!(got.as_ref(), expected.as_ref(), "column {}", field.name());
    }
    let types: BTreeMap<String, String> = db
        .sql(&format!(
            "SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = N'{}'",
            table.split_once('.').unwrap().1
        ))
        .await
        .iter()
        .map(|r| (r.get::<&str, _>(0).unwrap().to_string(), r.get::<&str, _>(1).unwrap().to_string()))
        .collect();
    for (column, sql) in [
        ("i8", "smallint"),
        ("u8", "tinyint"),
        ("u16", "int"),
        ("u32", "bigint"),
        ("u64", "decimal"),
        ("flag", "bit"),
        ("at", "datetime2"),
        ("at_tz", "datetimeoffset"),
        ("name", "nvarchar"),
        ("blob", "varbinary"),
        ("clock", "time"),
    ] {
        assert_eq!(types.get(column).map(String::as_str), Some(sql), "{column}");
    }
}

async fn column_types(db: &Db, table: &str) -> BTreeMap<String, (String, Option<i32>, String)> {
    db.sql(&format!(
        "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS \
         WHERE TABLE_SCHEMA = N'dbo' AND TABLE_NAME = N'{}'",
        table.split_once('.').unwrap().1
    ))
    .await
    .iter()
    .map(|r| {
        (
            r.get::<&str, _>(0).unwrap().to_string(),
            (
                r.get::<&str, _>(1).unwrap().to_string(),
                r.get::<i32, _>(2),
                r.get::<&str, _>(3).unwrap().to_string(),
            ),
        )
    })
    .collect()
}

#[tokio::test]
async fn new_string_columns_are_sized_from_the_longest_value_and_overrides_win() {
    let db = Db::start().await;
    let table = db.table("sizing");
    let spec = store(&db, &format!("table: {table}\nstring_buffer_factor: 1.5\nschema_overrides:\n  code: NCHAR(2)\nbatch_size: 2\n")).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("code", DataType::Utf8, true),
        Field::new("essay", DataType::Utf8, true),
    ]));
    let batch = |ids: Vec<i64>, names: Vec<&str>, essay: Vec<String>| {
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
                Arc::new(StringArray::from(vec!["ab"; 2])),
                Arc::new(StringArray::from(essay)),
            ],
        )
        .unwrap()
    };
    // The second batch widens `name` past what the first one sized it to.
    write(
        &spec,
        &[
            batch(
                vec![1, 2],
                vec!["abc", "é"],
                vec!["short".into(), "x".into()],
            ),
            batch(
                vec![3, 4],
                vec!["0123456789", "😀😀"],
                vec!["y".repeat(3000), "z".into()],
            ),
        ],
        "run1",
    )
    .await
    .unwrap();
    let types = column_types(&db, &table).await;
    assert_eq!(types["name"], ("nvarchar".into(), Some(15), "YES".into()));
    assert_eq!(types["code"].0, "nchar");
    assert_eq!(types["essay"], ("nvarchar".into(), Some(-1), "YES".into()));
    assert_eq!(types["id"].2, "NO");
    assert_eq!(db.count(&table).await, 4);
    if let Some(server) = &db.server {
        let sql = server.executed_sql().join("\n");
        assert!(sql.contains("CREATE CLUSTERED COLUMNSTORE INDEX"), "{sql}");
    }
}

#[tokio::test]
async fn index_heap_creates_no_columnstore() {
    let db = Db::start().await;
    let Some(server) = &db.server else { return };
    let table = db.table("heap");
    let spec = store(&db, &format!("table: {table}\nindex: heap\n")).unwrap();
    write(&spec, &[people(&[1], &[Some("a")])], "run1")
        .await
        .unwrap();
    assert!(
        !server
            .executed_sql()
            .iter()
            .any(|s| s.contains("COLUMNSTORE"))
    );
}

async fn names(db: &Db, table: &str) -> Vec<(i64, Option<String>)> {
    let mut rows: Vec<(i64, Option<String>)> = db
        .sql(&format!("SELECT id, name FROM {table}"))
        .await
        .iter()
        .map(|r| {
            (
                r.get::<i64, _>(0).unwrap(),
                r.get::<&str, _>(1).map(String::from),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn if_exists_matrix() {
    let db = Db::start().await;
    let table = db.table("matrix");
    let with =
        |policy: &str| store(&db, &format!("table: {table}\nif_exists: {policy}\n")).unwrap();

    // fail: creates when absent, refuses when present and leaves the table alone.
    write(
        &with("fail"),
        &[people(&[1, 2], &[Some("a"), Some("b")])],
        "r1",
    )
    .await
    .unwrap();
    let error = write(&with("fail"), &[people(&[9], &[Some("z")])], "r2")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("already exists"), "{error}");
    assert_eq!(
        names(&db, &table).await,
        vec![(1, Some("a".into())), (2, Some("b".into()))]
    );

    // append: adds rows.
    write(&with("append"), &[people(&[3], &[None])], "r3")
        .await
        .unwrap();
    assert_eq!(names(&db, &table).await.len(), 3);

    // truncate: keeps the definition, holds only the new rows.
    write(&with("truncate"), &[people(&[4], &[Some("d")])], "r4")
        .await
        .unwrap();
    assert_eq!(names(&db, &table).await, vec![(4, Some("d".into()))]);

    // replace: a new table with the new rows (and the new schema).
    let other = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("extra", DataType::Float64, true),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![7, 8])),
            Arc::new(StringArray::from(vec!["g", "h"])),
            Arc::new(Float64Array::from(vec![0.5, 1.5])),
        ],
    )
    .unwrap();
    write(&with("replace"), &[other], "r5").await.unwrap();
    assert_eq!(
        names(&db, &table).await,
        vec![(7, Some("g".into())), (8, Some("h".into()))]
    );
    assert!(column_types(&db, &table).await.contains_key("extra"));

    // No staging or retired tables are left behind by any of it.
    let base = table.split_once('.').unwrap().1;
    assert_eq!(
        db.tables_like(&format!("dbo.{base}")).await,
        vec![base.to_string()]
    );
}

#[tokio::test]
async fn append_adds_new_columns_and_refuses_to_drop_not_null_ones() {
    let db = Db::start().await;
    let table = db.table("drift");
    db.sql(&format!(
        "CREATE TABLE {table} (id BIGINT NOT NULL, name NVARCHAR(10) NULL, must INT NOT NULL);"
    ))
    .await;
    let append = store(&db, &format!("table: {table}\nif_exists: append\n")).unwrap();
    let error = write(&append, &[people(&[1], &[Some("a")])], "r1")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("must"), "{error}");
    assert_eq!(db.count(&table).await, 0);

    db.sql(&format!(
        "DROP TABLE {table}; CREATE TABLE {table} (id BIGINT NOT NULL, name NVARCHAR(10) NULL);"
    ))
    .await;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(StringArray::from(vec!["a"])),
            Arc::new(Float64Array::from(vec![9.5])),
        ],
    )
    .unwrap();
    write(&append, &[batch], "r2").await.unwrap();
    let types = column_types(&db, &table).await;
    assert_eq!(types["score"], ("float".into(), None, "YES".into()));
    let rows = db.sql(&format!("SELECT score FROM {table}")).await;
    assert_eq!(rows[0].get::<f64, _>(0), Some(9.5));
}

#[tokio::test]
async fn a_failure_in_the_middle_of_a_load_leaves_the_target_untouched() {
    let db = Db::start().await;
    let table = db.table("midway");
    let base = table.split_once('.').unwrap().1.to_string();
    let initial = people(&[1, 2], &[Some("a"), Some("b")]);
    write(
        &store(&db, &format!("table: {table}\n")).unwrap(),
        &[initial],
        "r1",
    )
    .await
    .unwrap();

    // A value that does not fit the existing column, in the third batch of an append.
    let append = store(
        &db,
        &format!("table: {table}\nif_exists: append\nparallel_workers: 1\n"),
    )
    .unwrap();
    let good = people(&[3, 4], &[Some("c"), Some("d")]);
    let bad = people(&[5], &[Some(&"x".repeat(50))]);
    db.sql(&format!(
        "ALTER TABLE {table} ALTER COLUMN name NVARCHAR(2) NULL"
    ))
    .await;
    let error = write(&append, &[good.clone(), good.clone(), bad], "r2")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("name"), "{error}");
    assert_eq!(
        names(&db, &table).await,
        vec![(1, Some("a".into())), (2, Some("b".into()))]
    );
    assert_eq!(
        db.tables_like(&format!("dbo.{base}")).await,
        vec![base.clone()]
    );

    // The server failing during a bulk load of a replace.
    if let Some(server) = &db.server {
        server.fail_next_bulk_load_after(1);
        let replace = store(
            &db,
            &format!("table: {table}\nif_exists: replace\nbatch_size: 2\n"),
        )
        .unwrap();
        let error = write(&replace, &[good.clone(), good], "r3")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("bulk load"), "{error}");
        assert_eq!(
            names(&db, &table).await,
            vec![(1, Some("a".into())), (2, Some("b".into()))]
        );
        assert_eq!(db.tables_like(&format!("dbo.{base}")).await, vec![base]);
    }
}

#[tokio::test]
async fn staging_tables_left_by_a_crashed_run_are_dropped() {
    let db = Db::start().await;
    let table = db.table("stale");
    let base = table.split_once('.').unwrap().1.to_string();
    db.sql(&format!(
        "CREATE TABLE dbo.[{base}__hygge_20200101T000000Z-dead00] (id BIGINT);"
    ))
    .await;
    write(
        &store(&db, &format!("table: {table}\n")).unwrap(),
        &[people(&[1], &[None])],
        "r1",
    )
    .await
    .unwrap();
    assert_eq!(db.tables_like(&format!("dbo.{base}")).await, vec![base]);
}

#[tokio::test]
async fn decimals_at_every_wire_length_boundary_round_trip_through_a_bulk_load() {
    // A DECIMAL's wire length (5, 9, 13 or 17 bytes) follows its digits; values on both
    // sides of each boundary, at two scales, come back exactly.
    let db = Db::start().await;
    let table = db.table("decimals");
    let mut values: Vec<i128> = vec![0, 1, -1];
    for k in [1u32, 9, 10, 19, 20, 28, 29, 37] {
        let p = 10i128.pow(k);
        values.extend([p - 1, p, -(p - 1), -p]);
    }
    values.push(10i128.pow(38) - 1);
    let n = values.len();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("s0", DataType::Decimal128(38, 0), false),
        Field::new("s10", DataType::Decimal128(38, 10), false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(0..n as i64)),
            Arc::new(
                Decimal128Array::from(values.clone())
                    .with_precision_and_scale(38, 0)
                    .unwrap(),
            ),
            Arc::new(
                Decimal128Array::from(values.clone())
                    .with_precision_and_scale(38, 10)
                    .unwrap(),
            ),
        ],
    )
    .unwrap();
    write(
        &store(&db, &format!("table: {table}\nindex: heap\n")).unwrap(),
        std::slice::from_ref(&batch),
        "r1",
    )
    .await
    .unwrap();
    let back = sorted_by_first(&read(&home(&db, &format!("table: {table}\n")).unwrap()).await);
    assert_eq!(back, batch);
}

#[tokio::test]
async fn a_second_run_into_the_same_table_waits_for_the_first() {
    let db = Db::start().await;
    let table = db.table("locked");
    let spec = store(&db, &format!("table: {table}\nif_exists: replace\n")).unwrap();
    let first = people(&[1, 2], &[Some("a"), Some("b")]);
    let mut writer = spec
        .build(&RunScope::default())
        .open(first.schema(), &context("run1"))
        .await
        .unwrap();
    writer.write(first).await.unwrap();

    // A second run (say, an overlapping schedule) into the same table.
    let second = {
        let spec = spec.clone();
        tokio::spawn(async move {
            write(
                &spec,
                &[people(&[7, 8, 9], &[Some("x"), None, Some("z")])],
                "run2",
            )
            .await
        })
    };
    // Wait for the event: the second run's request for the table's lock has reached the
    // server (which blocks it while the first run holds the lock).
    while db.applock_requests().await < 2 {
        assert!(
            !second.is_finished(),
            "the second run did not wait: {:?}",
            second.await
        );
        tokio::task::yield_now().await;
    }
    assert!(
        !second.is_finished(),
        "the second run did not wait: {:?}",
        second.await
    );
    // It did not take the first run's staging table for a crashed run's and drop it.
    assert!(
        db.tables_like(&format!("{table}__hygge_run1")).await.len() == 1,
        "the first run's staging table is gone"
    );
    writer.commit(None).await.unwrap();
    assert_eq!(names(&db, &table).await.len(), 2);

    second.await.unwrap().unwrap();
    assert_eq!(
        names(&db, &table).await,
        vec![(7, Some("x".into())), (8, None), (9, Some("z".into()))]
    );
    // A third run finds the lock free at once: a finished writer released it.
    tokio::time::timeout(
        Duration::from_secs(10),
        write(&spec, &[people(&[3], &[Some("c")])], "run3"),
    )
    .await
    .expect("the lock was not released")
    .unwrap();
}

#[tokio::test]
async fn a_partitioned_read_equals_a_single_read() {
    let db = Db::start().await;
    let table = db.table("parts");
    let ids: Vec<i64> = (0..1000).map(|i| i * 7 - 300).collect();
    let names: Vec<Option<String>> = ids
        .iter()
        .map(|i| (i % 3 != 0).then(|| format!("n{i}")))
        .collect();
    let batch = people(
        &ids,
        &names.iter().map(|n| n.as_deref()).collect::<Vec<_>>(),
    );
    write(
        &store(&db, &format!("table: {table}\n")).unwrap(),
        &[batch],
        "r1",
    )
    .await
    .unwrap();
    db.sql(&format!("ALTER TABLE {table} ADD k INT NULL")).await;
    db.sql(&format!(
        "INSERT INTO {table} (id, name) VALUES (5000, N'null key')"
    ))
    .await;

    let single = sorted_by_first(&read(&home(&db, &format!("table: {table}\n")).unwrap()).await);
    for partitions in [1, 3, 7] {
        let spec = home(
            &db,
            &format!("table: {table}\npartition_on: id\npartitions: {partitions}\n"),
        )
        .unwrap();
        let split = sorted_by_first(&read(&spec).await);
        assert_eq!(split, single, "{partitions} partitions");
    }
    // NULL partition keys are read exactly once.
    let spec = home(
        &db,
        &format!("table: {table}\npartition_on: k\npartitions: 4\n"),
    )
    .unwrap();
    assert_eq!(read(&spec).await.num_rows(), single.num_rows());
    let bad = home(&db, &format!("table: {table}\npartition_on: name\n")).unwrap();
    let error = read_with(&bad, ReadRequest::default()).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("integer, decimal, date or date-time"),
        "{error}"
    );
}

#[tokio::test]
async fn decimal_date_and_date_time_keys_partition_exactly() {
    let db = Db::start().await;
    let table = db.table("timeparts");
    let mut sql = format!(
        "CREATE TABLE {table} (id INT NOT NULL, d DATE, dt DATETIME, dt2 DATETIME2(7), \
         dt23 DATETIME2(3), dto DATETIMEOFFSET(7), amount DECIMAL(18,4));"
    );
    for i in 0..240i32 {
        // Uneven gaps, sub-second parts, offsets, negative amounts; every 7th row all NULL.
        if i % 7 == 0 {
            sql.push_str(&format!("INSERT INTO {table} (id) VALUES ({i});"));
            continue;
        }
        let day = 1 + (i * 13) % 28;
        let month = 1 + (i * 5) % 12;
        let second = (i * 37) % 60;
        let offset = (i % 5) * 60 - 120;
        sql.push_str(&format!(
            "INSERT INTO {table} VALUES ({i}, '20{:02}-{month:02}-{day:02}', \
             '2024-{month:02}-{day:02} 10:{:02}:{second:02}.{:03}', \
             '2024-{month:02}-{day:02} 10:{:02}:{second:02}.{:07}', \
             '2024-{month:02}-{day:02} 10:00:{second:02}.{:03}', \
             '2024-{month:02}-{day:02} 10:00:{second:02}.{:07} {}{:02}:00', {}.{:04});",
            i % 30,
            i % 60,
            (i * 3) % 1000,
            i % 60,
            i * 41,
            i * 7,
            i * 977,
            if offset < 0 { "-" } else { "+" },
            offset.abs() / 60,
            i * 31 - 4000,
            (i * 17) % 10_000,
        ));
    }
    db.sql(&sql).await;
    let single = sorted_by_first(&read(&home(&db, &format!("table: {table}\n")).unwrap()).await);
    assert_eq!(single.num_rows(), 240);
    for key in ["d", "dt", "dt2", "dt23", "dto", "amount"] {
        for partitions in [2, 5] {
            let spec = home(
                &db,
                &format!("table: {table}\npartition_on: {key}\npartitions: {partitions}\n"),
            )
            .unwrap();
            let split = sorted_by_first(&read(&spec).await);
            assert_eq!(split, single, "{key}, {partitions} partitions");
        }
    }
}

#[tokio::test]
async fn a_watermark_becomes_a_bound_parameter_for_tables_and_queries() {
    let db = Db::start().await;
    let table = db.table("marks");
    db.sql(&format!(
        "CREATE TABLE {table} (id INT, changed DATETIME2(7));
         INSERT INTO {table} VALUES (1, '2024-01-01 00:00:00'), (2, '2024-06-01 12:00:00.1234567'), (3, '2025-01-01');"
    ))
    .await;
    let watermark = WatermarkFilter {
        column: "changed".into(),
        after: "2024-06-01 12:00:00.1234566".into(),
        inclusive: false,
    };
    let request = ReadRequest::default().with_watermark(Some(watermark));
    for source in [
        format!("table: {table}\n"),
        format!("query: SELECT id, changed FROM {table} WHERE id > 0\n"),
    ] {
        let spec = home(&db, &source).unwrap();
        let batch = sorted_by_first(&read_with(&spec, request.clone()).await.unwrap());
        assert_eq!(
            batch.column(0).as_primitive::<Int32Type>().values(),
            &[2, 3],
            "{source}"
        );
    }
    if let Some(server) = &db.server {
        let sql = server.executed_sql();
        let reads: Vec<&String> = sql.iter().filter(|s| s.contains("> @P1")).collect();
        assert_eq!(reads.len(), 2, "{sql:#?}");
        assert!(
            reads.iter().all(|s| !s.contains("2024-06-01")),
            "{reads:#?}"
        );
        assert!(reads[1].contains("AS [hygge_query]"), "{reads:#?}");
    }
}

#[tokio::test]
async fn a_text_watermark_is_left_to_the_flow_not_the_servers_collation() {
    let db = Db::start().await;
    let table = db.table("codes");
    db.sql(&format!(
        "CREATE TABLE {table} (id INT, code NVARCHAR(10));
         INSERT INTO {table} VALUES (1, N'Z'), (2, N'a');"
    ))
    .await;
    // By bytes `a` > `Z`; a case-insensitive collation says the opposite.
    let watermark = WatermarkFilter {
        column: "code".into(),
        after: "Z".into(),
        inclusive: false,
    };
    let request = ReadRequest::default().with_watermark(Some(watermark));
    let spec = home(&db, &format!("table: {table}\n")).unwrap();
    let batch = sorted_by_first(&read_with(&spec, request).await.unwrap());
    assert_eq!(batch.num_rows(), 2, "the home must not filter text");
    if let Some(server) = &db.server {
        let sql = server.executed_sql();
        assert!(
            !sql.iter()
                .any(|s| s.contains("@P1") && s.contains("[code]")),
            "{sql:#?}"
        );
    }
}

#[tokio::test]
async fn a_null_merge_key_is_a_data_error_and_the_table_is_kept() {
    let db = Db::start().await;
    let table = db.table("merged");
    let spec = store(
        &db,
        &format!("table: {table}\nif_exists: merge\nprimary_key: id\n"),
    )
    .unwrap();
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    let ids = |v: Vec<Option<i64>>| {
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(v))]).unwrap()
    };
    write(&spec, &[ids(vec![Some(1), Some(2)])], "r1")
        .await
        .unwrap();
    let err = write(&spec, &[ids(vec![Some(3), None])], "r2")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Data, "{err}");
    assert!(
        err.to_string().contains("merge key column `id` holds NULL"),
        "{err}"
    );
    assert_eq!(db.count(&table).await, 2);
}

#[tokio::test]
async fn more_flows_than_pool_size_share_the_pool() {
    let db = Db::start().await;
    let mut db = db;
    db.settings.pool_size = Some(2);
    let db = Arc::new(db);
    // One run of six flows: they share the run's pool.
    let scope = RunScope::new(6);
    let mut tasks = tokio::task::JoinSet::new();
    let mut tables = Vec::new();
    for i in 0..6 {
        let table = db.table("pooled");
        tables.push(table.clone());
        let spec = store(
            &db,
            &format!("table: {table}\nparallel_workers: 3\nbatch_size: 10\n"),
        )
        .unwrap();
        let scope = scope.clone();
        tasks.spawn(async move {
            let ids: Vec<i64> = (0..100).collect();
            let batch = people(&ids, &vec![Some("x"); 100]);
            write_in(&scope, &spec, &[batch], &format!("run{i}")).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    if let Some(server) = &db.server {
        // Pooled connections stay within the pool's two; each open store also holds the
        // session of its table lock, outside the pool. Unbounded, it would be 6 × 3 + 6.
        let sessions = server.max_concurrent_sessions();
        assert!(
            (3..=2 + 6).contains(&sessions),
            "six flows, three streams each, one pool of two: {sessions} sessions"
        );
    }
    for table in &tables {
        assert_eq!(db.count(table).await, 100);
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unreachable_server_say_what_to_try() {
    let db = Db::start().await;
    let mut wrong = db.settings.clone();
    wrong.auth = AuthConfig::Sql {
        user: "sa".into(),
        password: "not-it".into(),
    };
    let error = connect(&wrong, None).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    let text = error.to_string();
    assert!(text.contains("refused") && text.contains("sa"), "{text}");
    assert!(text.contains("check the user and password"), "{text}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut unreachable = db.settings.clone();
    unreachable.port = port;
    let error = connect(&unreachable, None).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connection);
    let text = error.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("cannot reach"),
        "{text}"
    );
}

#[test]
fn config_problems_name_the_key() {
    let check = |role: Role, yaml: &str, key: &str, message: &str| {
        let value: Value = serde_yaml::from_str(yaml).unwrap();
        let mut connections = BTreeMap::new();
        connections.insert(
            "warehouse".to_string(),
            serde_yaml::from_str("type: mssql\nserver: db\ndatabase: w\nuser: u\npassword: p\n")
                .unwrap(),
        );
        let config = connector_config(&value, role, &connections);
        let problem = match role {
            Role::Home => MSSQL.home(&config).unwrap().err(),
            Role::Store => MSSQL.store(&config).unwrap().err(),
        }
        .unwrap_or_else(|| panic!("{yaml} should fail"));
        assert_eq!(problem.key.as_deref(), Some(key), "{yaml}: {problem:?}");
        assert!(problem.message.contains(message), "{yaml}: {problem:?}");
    };
    check(
        Role::Home,
        "connection: wharehouse\ntable: t\n",
        "connection",
        "unknown connection",
    );
    check(
        Role::Home,
        "connection: warehouse\ntabel: t\n",
        "tabel",
        "unknown key",
    );
    check(
        Role::Home,
        "connection: warehouse\ntable: t\nquery: SELECT 1\n",
        "query",
        "not both",
    );
    check(
        Role::Home,
        "connection: warehouse\ntable: t\npartitions: 3\n",
        "partitions",
        "partition_on",
    );
    check(
        Role::Home,
        "connection: warehouse\nserver: x\ntable: t\n",
        "server",
        "both",
    );
    check(
        Role::Home,
        "server: db\ndatabase: d\nauth: service_principal\ntable: t\n",
        "tenant_id",
        "required",
    );
    check(
        Role::Store,
        "connection: warehouse\ntable: a.b.c\n",
        "table",
        "not a table name",
    );
    check(
        Role::Store,
        "connection: warehouse\ntable: t\nif_exists: upsert\n",
        "if_exists",
        "unknown variant",
    );
    check(
        Role::Store,
        "connection: warehouse\ntable: t\nif_exists: merge\n",
        "if_exists",
        "`merge` needs the key columns",
    );
    check(
        Role::Store,
        "connection: warehouse\ntable: t\nschema_overrides:\n  a: GEOGRAPHY\n",
        "schema_overrides.a",
        "not a SQL Server type",
    );
    check(
        Role::Store,
        "connection: warehouse\ntable: t\nparallel_workers: 40\n",
        "parallel_workers",
        "between",
    );
    check(
        Role::Store,
        "connection: warehouse\ntable: t\ntable_hints: NOLOCK\n",
        "table_hints",
        "not supported",
    );
    check(
        Role::Store,
        "connection: warehouse\ntable: t\nstring_buffer_factor: 0.5\n",
        "string_buffer_factor",
        "at least",
    );
}

#[test]
fn python_projects_keys_are_accepted() {
    let value: Value = serde_yaml::from_str(
        "server: myserver.database.windows.net\ndatabase: db\ndriver: ODBC Driver 18 for SQL Server\nencrypt: 'Yes'\ntrust_cert: 'no'\ntimeout: 30\ntable: dbo.users\nbatch_size: 102400\nparallel_workers: 8\ntable_hints: TABLOCK\nwrite_strategy: direct_insert\nif_exists: append\n",
    )
    .unwrap();
    let spec = MSSQL
        .store(&connector_config(&value, Role::Store, &BTreeMap::new()))
        .unwrap()
        .unwrap();
    assert!(spec.describe().contains("dbo.users"), "{}", spec.describe());
}
