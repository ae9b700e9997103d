//! File stores writing to object stores through `hygge go`: Parquet to S3 (moto) and CSV
//! to Azure (Azurite), both started here on free loopback ports. A plain listing of the
//! destination afterwards shows exactly the committed files, and a rerun replaces them.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use arrow_array::RecordBatch;
use common::objects::{azure, download, orders, round_trip_project, rows_in, s3};
use common::{count_rows, fails, ok, run, write_files, write_parquet};
use futures_util::TryStreamExt;
use hygge_object_test_servers::{AZURITE_KEY, Azurite, Moto};
use hygge_runtime::cloud::ObjectUrl;
use object_store::ObjectStoreExt;

/// A project whose one flow loads `data/source` into `store` (YAML), with `connection`
/// under `connections.lake`.
fn project(dir: &Path, connection: &str, store: &str) {
    write_files(
        dir,
        &[
            (
                "hygge.yml",
                &format!("name: shop\nconnections:\n  lake:\n{connection}"),
            ),
            (
                "flows/orders/flow.yml",
                &format!("home: {{type: parquet, path: data/source}}\nstore: {store}\n"),
            ),
        ],
    );
}

#[test]
fn parquet_lands_on_s3_whole_and_a_rerun_replaces_it() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let (keys, yaml) = s3(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    project(
        &dir,
        &yaml,
        "{type: parquet, path: 's3://lake/raw/orders', connection: lake}",
    );
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(2500)]);
    ok(run(&dir, &["go"]));
    let first = download(&keys, "s3://lake/raw/orders", &tmp.path().join("first"));
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(count_rows(&tmp.path().join("first")), 2500);

    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(700)]);
    ok(run(&dir, &["go"]));
    let second = download(&keys, "s3://lake/raw/orders", &tmp.path().join("second"));
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(first, second, "the rerun's file replaces the first run's");
    assert_eq!(count_rows(&tmp.path().join("second")), 700);
}

#[test]
fn csv_lands_on_azure_and_an_unknown_connection_is_named() {
    let azurite = Azurite::start().unwrap();
    azurite.create_container("data").unwrap();
    let (keys, yaml) = azure(&azurite);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    project(
        &dir,
        &yaml,
        "{type: local, format: csv, path: 'az://data/raw/orders', connection: lake}",
    );
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(300)]);
    ok(run(&dir, &["go"]));
    let names = download(&keys, "az://data/raw/orders", &tmp.path().join("out"));
    assert_eq!(names.len(), 1, "{names:?}");
    let csv = std::fs::read_to_string(tmp.path().join("out").join(&names[0])).unwrap();
    assert_eq!(csv.lines().count(), 301, "a header and 300 rows");
    assert!(csv.starts_with("id,note\n0,n0\n"), "{csv}");

    let broken = tmp.path().join("broken");
    project(
        &broken,
        &yaml,
        "{type: parquet, path: 'az://data/raw/x', connection: laek}",
    );
    let out = fails(run(&broken, &["go"]));
    assert!(out.contains("unknown connection `laek`"), "{out}");
}

/// Python hygge's `type: adls` runs unchanged: its keys, its `{sequence:020d}.parquet`
/// names, the storage key credential.
#[test]
fn a_python_hygge_adls_store_runs_unchanged() {
    let azurite = Azurite::start().unwrap();
    azurite.create_container("data").unwrap();
    let (keys, _) = azure(&azurite);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    write_files(
        &dir,
        &[
            ("hygge.yml", "name: shop\n"),
            (
                "flows/orders/flow.yml",
                &format!(
                    "home: {{type: parquet, path: data/source}}\nstore:\n  type: adls\n  account_url: {}\n  filesystem: data\n  path: landing/{{entity}}/\n  credential: storage_key\n  storage_account_key: {AZURITE_KEY}\n",
                    azurite.endpoint()
                ),
            ),
        ],
    );
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(1200)]);
    ok(run(&dir, &["go"]));
    let names = download(&keys, "az://data/landing/orders", &tmp.path().join("out"));
    assert_eq!(names, vec!["00000000000000000001.parquet".to_string()]);
    assert_eq!(count_rows(&tmp.path().join("out")), 1200);
}

/// The roadmap's `type: s3` is the parquet store on `s3://bucket/path`.
#[test]
fn a_bucket_store_writes_under_its_bucket() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let (keys, yaml) = s3(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    project(
        &dir,
        &yaml,
        "{type: s3, bucket: lake, path: typed/orders, connection: lake, compression: zstd}",
    );
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(50)]);
    ok(run(&dir, &["go"]));
    let names = download(&keys, "s3://lake/typed/orders", &tmp.path().join("out"));
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(count_rows(&tmp.path().join("out")), 50);
}

/// A file larger than one upload part (10 MiB, so at least three parts here) goes up as a
/// multipart upload, is published by a server-side copy, and reads back whole, by a plain
/// download and by hygge's URL home.
#[test]
fn a_file_larger_than_a_part_is_uploaded_in_parts() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let (keys, yaml) = s3(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    project(
        &dir,
        &yaml,
        "{type: parquet, path: 's3://lake/big/orders', connection: lake, compression: none}",
    );
    // 2.5M rows of two columns, uncompressed: about 40 MB.
    let batches: Vec<RecordBatch> = (0..5).map(|_| orders(500_000)).collect();
    write_parquet(&dir.join("data/source/orders.parquet"), &batches);
    ok(run(&dir, &["go"]));

    let url = ObjectUrl::parse("s3://lake/big/orders").unwrap().unwrap();
    let store = keys.open(&url).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listed: Vec<_> = runtime
        .block_on(store.list(Some(&url.prefix)).try_collect())
        .unwrap();
    let data: Vec<_> = listed
        .iter()
        .filter(|m| !m.location.as_ref().contains("/_hygge/"))
        .collect();
    assert_eq!(data.len(), 1, "{data:?}");
    assert!(data[0].size > 20 * 1024 * 1024, "{}", data[0].size);
    download(&keys, "s3://lake/big/orders", &tmp.path().join("out"));
    assert_eq!(count_rows(&tmp.path().join("out")), 2_500_000);

    // hygge's URL home reads it back: its three row groups by ranged reads, in parallel.
    write_files(
        &dir,
        &[(
            "flows/down/flow.yml",
            "home: {type: parquet, path: 's3://lake/big/orders', connection: lake}\nstore: {type: parquet, path: out}\n",
        )],
    );
    ok(run(&dir, &["go", "--flow", "down"]));
    assert_eq!(rows_in(&dir.join("out")), rows_in(&dir.join("data/source")));
}

/// Local → object store → local with every format, on S3 and on Azure: the rows come back
/// exactly, and after a rerun that replaces the data, only the new rows come back.
#[test]
fn every_format_round_trips_through_s3_and_azure() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let azurite = Azurite::start().unwrap();
    azurite.create_container("lake").unwrap();
    let clouds = [("s3", s3(&moto).1), ("az", azure(&azurite).1)];
    for (scheme, yaml) in &clouds {
        for format in ["parquet", "csv", "ndjson"] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("project");
            let url = format!("{scheme}://lake/trip/{format}");
            round_trip_project(&dir, yaml, &url, &url, format);
            write_parquet(&dir.join("data/source/orders.parquet"), &[orders(1500)]);
            ok(run(&dir, &["go", "--flow", "up"]));
            ok(run(&dir, &["go", "--flow", "down"]));
            assert_eq!(
                rows_in(&dir.join("out")),
                rows_in(&dir.join("data/source")),
                "{url}"
            );

            write_parquet(&dir.join("data/source/orders.parquet"), &[orders(40)]);
            ok(run(&dir, &["go", "--flow", "up"]));
            ok(run(&dir, &["go", "--flow", "down"]));
            assert_eq!(rows_in(&dir.join("out")).len(), 40, "{url} after a rerun");
        }
    }
}

/// A URL home also reads objects hygge did not publish: every file of the format under a
/// prefix (skipping `_`-prefixed ones), the matches of a glob, or one object by name.
#[test]
fn a_url_home_reads_a_prefix_a_glob_or_one_object() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let (keys, yaml) = s3(&moto);
    let url = ObjectUrl::parse("s3://lake/").unwrap().unwrap();
    let store = keys.open(&url).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let put = |path: &str, batch: RecordBatch| {
        let file = tempfile::NamedTempFile::new().unwrap();
        write_parquet(file.path(), &[batch]);
        let bytes = std::fs::read(file.path()).unwrap();
        runtime
            .block_on(store.put(&object_store::path::Path::from(path), bytes.into()))
            .unwrap();
    };
    put("drop/2026/a.parquet", orders(10));
    put("drop/2026/b.parquet", orders(20));
    put("drop/2027/c.parquet", orders(30));
    put("drop/_scratch/d.parquet", orders(1000));
    for (home, rows) in [
        ("s3://lake/drop", 60),
        ("s3://lake/drop/2026/*.parquet", 30),
        ("s3://lake/drop/*/c.parquet", 30),
        ("s3://lake/drop/2026/b.parquet", 20),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("project");
        round_trip_project(&dir, &yaml, "s3://lake/unused", home, "parquet");
        ok(run(&dir, &["go", "--flow", "down"]));
        assert_eq!(count_rows(&dir.join("out")), rows, "{home}");
    }

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    round_trip_project(
        &dir,
        &yaml,
        "s3://lake/unused",
        "s3://lake/nothing",
        "parquet",
    );
    let out = fails(run(&dir, &["go", "--flow", "down"]));
    assert!(
        out.contains("no .parquet files under s3://lake/nothing"),
        "{out}"
    );
}

/// `hygge debug` checks an object-store connection with one listing where a home or store
/// first uses it, naming the connection it signed in with; a wrong key fails the check (non-zero exit) naming it.
#[test]
fn debug_lists_each_object_store_once_and_names_a_refused_connection() {
    let azurite = Azurite::start().unwrap();
    azurite.create_container("lake").unwrap();
    let (_, yaml) = azure(&azurite);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    round_trip_project(
        &dir,
        &yaml,
        "az://lake/raw/orders",
        "az://lake/raw/orders",
        "csv",
    );
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(5)]);
    ok(run(&dir, &["go", "--flow", "up"]));
    let out = ok(run(&dir, &["debug"]));
    assert!(
        out.contains("connection lake: listed az://lake/raw/orders with connection `lake`"),
        "{out}"
    );
    assert_eq!(
        out.matches("listed az://").count(),
        1,
        "one check per connection: {out}"
    );

    let wrong = yaml.replace(AZURITE_KEY, &AZURITE_KEY.replace('E', "F"));
    round_trip_project(
        &dir,
        &wrong,
        "az://lake/raw/orders",
        "az://lake/raw/orders",
        "csv",
    );
    let out = fails(run(&dir, &["debug"]));
    assert!(out.contains("✗ home connection lake"), "{out}");
    assert!(
        out.contains("check the credentials of connection `lake`"),
        "{out}"
    );
    let out = fails(run(&dir, &["go", "--flow", "up"]));
    assert!(out.contains("connection `lake`"), "{out}");
}

/// `samples/object-storage` runs as written against an S3 emulator: into the bucket, and
/// back out, every row of each entity.
#[test]
fn the_object_storage_sample_runs_against_the_emulator() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("object-storage");
    common::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/object-storage"),
        &project,
    );
    let sample = |args: &[&str]| {
        common::hygge()
            .arg("--project")
            .arg(&project)
            .args(args)
            .env("S3_ENDPOINT", moto.endpoint())
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .output()
            .unwrap()
    };
    ok(sample(&["go", "--flow", "to_lake"]));
    ok(sample(&["debug"]));
    ok(sample(&["go", "--flow", "from_lake"]));
    for entity in ["customers", "orders"] {
        let source = count_rows(&project.join("data/source").join(entity));
        assert!(source > 0);
        assert_eq!(
            count_rows(&project.join("data/out").join(entity)),
            source,
            "{entity}"
        );
    }
}

/// A store under a URL home's prefix (or the reverse) would re-read or overwrite its own
/// source: refused before anything runs, as for local folders.
#[test]
fn a_store_under_a_url_home_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    write_files(
        &dir,
        &[
            (
                "hygge.yml",
                "name: shop\nconnections:\n  lake: {type: s3, region: us-east-1, endpoint: 'http://127.0.0.1:9', allow_http: true}\n",
            ),
            (
                "flows/loop/flow.yml",
                "home: {type: parquet, path: 's3://lake/raw', connection: lake}\nstore: {type: parquet, path: 's3://lake/raw/copy', connection: lake}\n",
            ),
        ],
    );
    let out = fails(run(&dir, &["go"]));
    assert!(out.contains("overlaps"), "{out}");
}

/// The sandboxed Parquet component reads and writes URLs through the host, with no network
/// in the sandbox: as a home, the host copies the committed objects into a private folder
/// granted read-only; as a store, the component writes a private folder, which the host
/// uploads and publishes through the commit log, watermark included.
#[test]
fn the_parquet_component_reads_and_writes_urls_through_the_host() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let (_, yaml) = s3(&moto);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    let url = "s3://lake/wasm/orders";
    round_trip_project(&dir, &yaml, url, url, "parquet");
    for flow in ["up", "down"] {
        let path = dir.join(format!("flows/{flow}/flow.yml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let sandboxed = text.replace("connection: lake}", "connection: lake, runtime: wasm}");
        assert_ne!(text, sandboxed);
        std::fs::write(&path, sandboxed).unwrap();
    }
    for rows in [2_000, 30] {
        write_parquet(&dir.join("data/source/orders.parquet"), &[orders(rows)]);
        ok(run(&dir, &["go", "--flow", "up"]));
        ok(run(&dir, &["go", "--flow", "down"]));
        assert_eq!(rows_in(&dir.join("out")), rows_in(&dir.join("data/source")));
    }
    let out = ok(run(&dir, &["debug"]));
    assert!(
        out.contains("private local copy of s3://lake/wasm/orders"),
        "{out}"
    );
    assert!(out.contains("uploads to s3://lake/wasm/orders"), "{out}");

    // Incremental runs append past the committed watermark.
    let up = dir.join("flows/up/flow.yml");
    let text = std::fs::read_to_string(&up).unwrap();
    std::fs::write(
        &up,
        format!("{text}run_type: incremental\nwatermark: {{column: id}}\n"),
    )
    .unwrap();
    ok(run(&dir, &["go", "--flow", "up"]));
    write_parquet(&dir.join("data/source/orders.parquet"), &[orders(75)]);
    ok(run(&dir, &["go", "--flow", "up"]));
    ok(run(&dir, &["go", "--flow", "down"]));
    // The full-drop set (30), the first incremental run (all 30 again: no watermark yet),
    // then ids 30..74.
    assert_eq!(rows_in(&dir.join("out")).len(), 30 + 30 + 45);
}

/// Typed columns (decimals, dates, zoned timestamps, lists, nulls) and hive-style
/// partitions round-trip through S3 unchanged: the store writes `col=value/` prefixes, the
/// URL home reads them back.
#[test]
fn typed_partitioned_parquet_round_trips_through_s3() {
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{
        Date32Array, Decimal128Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;

    let moto = Moto::start().unwrap();
    moto.create_bucket("lake").unwrap();
    let (keys, yaml) = s3(&moto);
    let mut tags = ListBuilder::new(StringBuilder::new());
    for row in 0..6 {
        if row % 3 == 2 {
            tags.append_null();
        } else {
            tags.values().append_value(format!("t{row}"));
            tags.append(true);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("region", DataType::Utf8, true),
        Field::new("price", DataType::Decimal128(15, 2), true),
        Field::new("day", DataType::Date32, true),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            true,
        ),
        Field::new(
            "tags",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(0..6)),
            Arc::new(StringArray::from(vec![
                Some("eu"),
                Some("us"),
                None,
                Some("eu"),
                Some("us"),
                Some("eu"),
            ])),
            Arc::new(
                Decimal128Array::from(vec![
                    Some(1),
                    None,
                    Some(-250),
                    Some(99_999),
                    Some(0),
                    Some(12),
                ])
                .with_precision_and_scale(15, 2)
                .unwrap(),
            ),
            Arc::new(Date32Array::from(vec![
                Some(0),
                Some(20_000),
                None,
                Some(-1),
                Some(1),
                Some(2),
            ])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![
                    Some(0),
                    None,
                    Some(1_700_000_000_000_000),
                    Some(-5),
                    Some(7),
                    Some(8),
                ])
                .with_timezone("+00:00"),
            ),
            Arc::new(tags.finish()),
        ],
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    let url = "s3://lake/typed/orders";
    round_trip_project(&dir, &yaml, url, url, "parquet");
    let up = dir.join("flows/up/flow.yml");
    let text = std::fs::read_to_string(&up).unwrap();
    let partitioned = text.replace(
        "connection: lake}",
        "connection: lake, partition_by: region}",
    );
    assert_ne!(text, partitioned);
    std::fs::write(&up, partitioned).unwrap();
    write_parquet(
        &dir.join("data/source/orders.parquet"),
        std::slice::from_ref(&batch),
    );
    ok(run(&dir, &["go", "--flow", "up"]));
    let names = download(&keys, url, &tmp.path().join("plain"));
    let folders: std::collections::BTreeSet<&str> =
        names.iter().filter_map(|n| n.split('/').next()).collect();
    assert_eq!(
        folders.into_iter().collect::<Vec<_>>(),
        [
            "region=__HIVE_DEFAULT_PARTITION__",
            "region=eu",
            "region=us"
        ]
    );
    ok(run(&dir, &["go", "--flow", "down"]));
    let mut back = common::read_dir_batches(&dir.join("out"));
    let back = arrow_select::concat::concat_batches(&back[0].schema(), &back.split_off(0)).unwrap();
    let order = arrow_ord::sort::sort_to_indices(back.column(0), None, None).unwrap();
    let back = arrow_select::take::take_record_batch(&back, &order).unwrap();
    assert_eq!(back, batch);
}
