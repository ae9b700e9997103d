//! Type fidelity through `hygge go`, CSV and NDJSON homes, text stores, partitioning.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use arrow_array::builder::{Int32Builder, ListBuilder};
use arrow_array::*;
use arrow_schema::{DataType, Field, Fields, Schema};
use common::*;

fn every_type() -> RecordBatch {
    let n = 5;
    let mut list = ListBuilder::new(Int32Builder::new());
    for i in 0..n {
        if i == 2 {
            list.append_null();
        } else {
            list.values().append_value(i);
            list.values().append_null();
            list.append(true);
        }
    }
    let list = list.finish();
    let struct_fields = Fields::from(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", DataType::Utf8, true),
    ]);
    let structs = StructArray::new(
        struct_fields.clone(),
        vec![
            Arc::new(Int64Array::from(vec![
                Some(1),
                None,
                Some(3),
                Some(4),
                Some(5),
            ])),
            Arc::new(StringArray::from(vec![
                Some("x"),
                Some("ü"),
                None,
                Some(""),
                Some("z"),
            ])),
        ],
        None,
    );
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "i8",
            Arc::new(Int8Array::from(vec![
                Some(i8::MIN),
                None,
                Some(0),
                Some(1),
                Some(i8::MAX),
            ])),
        ),
        (
            "i16",
            Arc::new(Int16Array::from(vec![i16::MIN, -1, 0, 1, i16::MAX])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![i32::MIN, -1, 0, 1, i32::MAX])),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![i64::MIN, -1, 0, 1, i64::MAX])),
        ),
        ("u8", Arc::new(UInt8Array::from(vec![0, 1, 2, 3, u8::MAX]))),
        (
            "u16",
            Arc::new(UInt16Array::from(vec![0, 1, 2, 3, u16::MAX])),
        ),
        (
            "u32",
            Arc::new(UInt32Array::from(vec![0, 1, 2, 3, u32::MAX])),
        ),
        (
            "u64",
            Arc::new(UInt64Array::from(vec![0, 1, 2, 3, u64::MAX])),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![f32::MIN, -0.5, 0.0, 1.5, f32::MAX])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![
                Some(f64::MIN),
                None,
                Some(0.0),
                Some(1e300),
                Some(f64::MAX),
            ])),
        ),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![
                    Some(-12345678901234567890123456789012345678),
                    None,
                    Some(0),
                    Some(1),
                    Some(99999999999999999999999999999999999999),
                ])
                .with_precision_and_scale(38, 10)
                .unwrap(),
            ),
        ),
        (
            "date32",
            Arc::new(Date32Array::from(vec![-1, 0, 1, 19723, 2932896])),
        ),
        (
            "date64",
            Arc::new(Date64Array::from(vec![
                0,
                86_400_000,
                -86_400_000,
                1_700_006_400_000,
                0,
            ])),
        ),
        (
            "time32ms",
            Arc::new(Time32MillisecondArray::from(vec![
                0, 1, 1000, 86_399_999, 5,
            ])),
        ),
        (
            "time64us",
            Arc::new(Time64MicrosecondArray::from(vec![
                0,
                1,
                1_000_000,
                86_399_999_999,
                5,
            ])),
        ),
        (
            "time64ns",
            Arc::new(Time64NanosecondArray::from(vec![
                0,
                1,
                1_000_000_000,
                86_399_999_999_999,
                5,
            ])),
        ),
        (
            "ts_ms",
            Arc::new(TimestampMillisecondArray::from(vec![
                0,
                1,
                -1,
                1_700_000_000_000,
                5,
            ])),
        ),
        (
            "ts_us_utc",
            Arc::new(
                TimestampMicrosecondArray::from(vec![0, 1, -1, 1_700_000_000_000_000, 5])
                    .with_timezone("UTC"),
            ),
        ),
        (
            "ts_ns_tz",
            Arc::new(
                TimestampNanosecondArray::from(vec![
                    Some(0),
                    None,
                    Some(-1),
                    Some(1_700_000_000_000_000_123),
                    Some(5),
                ])
                .with_timezone("Europe/Copenhagen"),
            ),
        ),
        (
            "ts_s",
            Arc::new(TimestampSecondArray::from(vec![0, 1, -1, 1_700_000_000, 5])),
        ),
        (
            "bool",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
                Some(false),
            ])),
        ),
        (
            "bin",
            Arc::new(BinaryArray::from(vec![
                Some(&b"\x00\xff"[..]),
                None,
                Some(b""),
                Some(b"abc"),
                Some(b"z"),
            ])),
        ),
        (
            "large_bin",
            Arc::new(LargeBinaryArray::from(vec![
                &b"a"[..],
                b"",
                b"c",
                b"d",
                b"e",
            ])),
        ),
        (
            "utf8",
            Arc::new(StringArray::from(vec![
                Some("æøå"),
                Some(""),
                None,
                Some("日本"),
                Some("x"),
            ])),
        ),
        (
            "large_utf8",
            Arc::new(LargeStringArray::from(vec!["a", "b", "", "d", "e"])),
        ),
        ("list", Arc::new(list)),
        ("struct", Arc::new(structs)),
        ("nulls", Arc::new(NullArray::new(n as usize))),
    ];
    let schema = Schema::new(
        columns
            .iter()
            .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(
        Arc::new(schema),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

/// What `every_type()` reads back as: the types Parquet cannot state are written as the
/// nearest ones it can (other readers saw `Date64` and second timestamps as integers).
fn every_type_as_written() -> RecordBatch {
    let batch = every_type();
    let schema = batch.schema();
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let (field, column): (Field, ArrayRef) = match field.name().as_str() {
            "date64" => (
                field.as_ref().clone().with_data_type(DataType::Date32),
                Arc::new(Date32Array::from(vec![0, 1, -1, 19_676, 0])),
            ),
            "ts_s" => (
                field.as_ref().clone().with_data_type(DataType::Timestamp(
                    arrow_schema::TimeUnit::Millisecond,
                    None,
                )),
                Arc::new(TimestampMillisecondArray::from(vec![
                    0,
                    1_000,
                    -1_000,
                    1_700_000_000_000,
                    5_000,
                ])),
            ),
            _ => (field.as_ref().clone(), column.clone()),
        };
        fields.push(field);
        columns.push(column);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

#[test]
fn every_arrow_type_parquet_can_hold_round_trips_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let batch = every_type();
    write_parquet(
        &tmp.path().join("in/types/part.parquet"),
        std::slice::from_ref(&batch),
    );
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: fidelity\n"),
            (
                "flows/copy/flow.yml",
                "home: in\nstore: out\nentities: [types]\n",
            ),
        ],
    );
    ok(run(tmp.path(), &["go"]));
    let out = read_dir_batches(&tmp.path().join("out/types"));
    assert_eq!(out.len(), 1);
    let expected = every_type_as_written();
    assert_eq!(out[0].schema(), expected.schema());
    assert_eq!(out[0], expected);
}

#[test]
fn csv_and_ndjson_homes_and_text_stores() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: text\n"),
            ("src/people/a.csv", "id;name;score\n1;Ada;1.5\n2;Bo;\n"),
            ("src/people/b.csv", "id;name;score\n3;Cé;3.25\n"),
            (
                "src/events/e.ndjson",
                "{\"id\": 1, \"kind\": \"click\"}\n{\"id\": 2, \"kind\": \"view\", \"extra\": true}\n",
            ),
            (
                "flows/csv_in/flow.yml",
                "home:\n  type: local\n  format: csv\n  path: src\n  format_options: {delimiter: ';'}\nstore: lake\nentities: [people]\n",
            ),
            (
                "flows/json_in/flow.yml",
                "home:\n  type: local\n  format: ndjson\n  path: src\nstore:\n  type: local\n  format: csv\n  path: text_out\nentities: [events]\n",
            ),
        ],
    );
    ok(run(tmp.path(), &["go"]));
    let people = read_dir_batches(&tmp.path().join("lake/people"));
    let rows: usize = people.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 3);
    assert_eq!(people[0].schema().field(0).data_type(), &DataType::Int64);
    assert_eq!(people[0].schema().field(2).data_type(), &DataType::Float64);
    let csv_files: Vec<_> = std::fs::read_dir(tmp.path().join("text_out/events"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(csv_files.len(), 1);
    let text = std::fs::read_to_string(csv_files[0].path()).unwrap();
    assert_eq!(text.lines().next().unwrap(), "id,kind,extra");
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn partition_by_writes_hive_folders_and_keeps_every_row() {
    let (_tmp, dir) = init_project();
    ok(run(
        &dir,
        &[
            "go",
            "--entity",
            "shop.orders",
            "--var",
            "flow.shop.store.partition_by=status",
        ],
    ));
    let lake = dir.join("data/lake/orders");
    let mut folders: Vec<String> = std::fs::read_dir(&lake)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        [
            "status=delivered",
            "status=placed",
            "status=returned",
            "status=shipped"
        ]
    );
    assert_eq!(count_rows(&lake), 1000);
    assert_eq!(count_rows(&lake.join("status=shipped")), 250);
}

#[test]
fn compression_codecs_are_applied() {
    let (_tmp, dir) = init_project();
    for codec in ["snappy", "gzip", "lz4", "brotli", "none", "zstd"] {
        ok(run(
            &dir,
            &[
                "go",
                "--var",
                &format!("flow.shop.store.compression={codec}"),
            ],
        ));
        let file = parquet_files(&dir.join("data/lake/customers")).remove(0);
        let reader =
            parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&file).unwrap())
                .unwrap();
        use parquet::file::reader::FileReader;
        let written = reader
            .metadata()
            .row_group(0)
            .column(0)
            .compression()
            .to_string()
            .to_lowercase();
        let expected = match codec {
            "none" => "uncompressed",
            "lz4" => "lz4_raw",
            c => c,
        };
        assert!(written.starts_with(expected), "{codec}: {written}");
        assert_eq!(count_rows(&dir.join("data/lake/customers")), 200);
    }
}
