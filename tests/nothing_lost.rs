//! Cases that used to lose or corrupt data, or to say "ok" when it was not, each through
//! the real binary: a store overlapping a home, zero rows replacing data, CSV timestamps
//! that other readers saw as integers, checks that passed when `go` would fail.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use arrow_schema::{DataType, TimeUnit};
use common::*;

/// A project with one CSV flow `f` reading `src` (entity `people`) into `store_path`.
fn csv_project(root: &Path, store_path: &str) {
    write_files(
        root,
        &[
            ("hygge.yml", "name: overlap\n"),
            ("src/people/a.csv", "id,name\n1,Ada\n2,Bo\n"),
            (
                "flows/f/flow.yml",
                &format!(
                    "home:\n  type: local\n  format: csv\n  path: src\nstore: {store_path}\nentities: [people]\n"
                ),
            ),
        ],
    );
}

#[test]
fn a_store_on_its_own_home_is_refused_and_the_source_kept() {
    let tmp = tempfile::tempdir().unwrap();
    // `store: src` writes src/people: the very folder the home reads.
    csv_project(tmp.path(), "src");
    let before = snapshot(&tmp.path().join("src"));
    let out = fails(run(tmp.path(), &["go"]));
    assert!(
        out.contains("`f.people`") && out.contains("overlaps its own home"),
        "{out}"
    );
    assert!(out.contains("src/people"), "{out}");
    assert_eq!(snapshot(&tmp.path().join("src")), before, "{out}");
    let out = fails(run(tmp.path(), &["go", "--dry-run"]));
    assert!(out.contains("overlaps its own home"), "{out}");
}

#[test]
fn a_store_inside_a_recursive_home_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: overlap\n"),
            ("data/a.csv", "id\n1\n"),
            (
                "flows/f/flow.yml",
                "home:\n  type: local\n  format: csv\n  path: data\nstore: data/lake\n",
            ),
        ],
    );
    let out = fails(run(tmp.path(), &["go"]));
    assert!(out.contains("overlaps its own home"), "{out}");
    assert!(!tmp.path().join("data/lake").exists(), "{out}");
}

#[test]
fn a_store_holding_another_flows_home_is_refused_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: overlap\n"),
            ("in/a.csv", "id\n1\n"),
            ("other/b.csv", "id\n2\n"),
            (
                "flows/first/flow.yml",
                "home:\n  type: local\n  format: csv\n  path: in\nstore: out\n",
            ),
            // Writes `.`: the folder holding every path of the project, `in` included.
            (
                "flows/second/flow.yml",
                "home:\n  type: local\n  format: csv\n  path: other\nstore: .\n",
            ),
        ],
    );
    let out = fails(run(tmp.path(), &["go"]));
    assert!(
        out.contains("the store of `second.second`") && out.contains("the home of `first.first`"),
        "{out}"
    );
    // Run alone, `first` overlaps nothing and succeeds.
    ok(run(tmp.path(), &["go", "--flow", "first"]));
}

#[test]
fn two_flows_writing_one_destination_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: overlap\n"),
            ("a/x.csv", "id\n1\n"),
            ("b/x.csv", "id\n2\n"),
            (
                "flows/one/flow.yml",
                "home:\n  type: local\n  format: csv\n  path: a\nstore: lake/same\n",
            ),
            (
                "flows/two/flow.yml",
                "home:\n  type: local\n  format: csv\n  path: b\nstore: lake/same\n",
            ),
        ],
    );
    let out = fails(run(tmp.path(), &["go"]));
    assert!(
        out.contains("`one.one`")
            && out.contains("`two.two`")
            && out.contains("write one destination"),
        "{out}"
    );
    assert!(!tmp.path().join("lake").exists(), "{out}");
    // Flows may be run one at a time, so across flows `debug` warns. It shows where each
    // entity reads and writes, resolved.
    let out = ok(run(tmp.path(), &["debug"]));
    assert!(
        out.contains("reads  local a (csv)") && out.contains("writes parquet lake/same"),
        "{out}"
    );
    assert!(
        out.contains("warning:") && out.contains("write one destination"),
        "{out}"
    );
    assert!(out.contains("run them one at a time with --flow"), "{out}");
}

#[test]
fn debug_fails_when_entities_of_one_flow_write_one_destination() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            (
                "hygge.yml",
                "name: overlap
",
            ),
            ("src/a/x.csv", "id\n1\n"),
            ("src/b/x.csv", "id\n2\n"),
            (
                "flows/f/flow.yml",
                "home:\n  type: local\n  format: csv\n  path: src\nstore: lake\nentities:\n  - {name: a, store: {path: out}}\n  - {name: b, store: {path: out}}\n",
            ),
        ],
    );
    let out = fails(run(tmp.path(), &["debug"]));
    assert!(
        out.contains("✗")
            && out.contains("`f.a`")
            && out.contains("`f.b`")
            && out.contains("write one destination"),
        "{out}"
    );
    assert!(!out.contains("every check passed"), "{out}");
    let out = fails(run(tmp.path(), &["go"]));
    assert!(out.contains("write one destination"), "{out}");
    assert!(!tmp.path().join("lake").exists(), "{out}");
}

/// A CSV flow over `src/people` into `lake`, run once with two rows.
fn loaded_csv_project() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    csv_project(tmp.path(), "lake");
    ok(run(tmp.path(), &["go"]));
    assert_eq!(count_rows(&tmp.path().join("lake/people")), 2);
    let dir = tmp.path().to_path_buf();
    (tmp, dir)
}

#[test]
fn a_header_only_csv_does_not_replace_published_data() {
    let (_tmp, dir) = loaded_csv_project();
    let lake = dir.join("lake/people");
    let before = snapshot(&lake);
    std::fs::write(dir.join("src/people/a.csv"), "id,name\n").unwrap();
    let out = fails(run(&dir, &["go"]));
    assert!(
        out.contains("no rows") && out.contains("allow_empty: true"),
        "{out}"
    );
    assert_eq!(snapshot(&lake), before, "{out}");
    assert!(staging_leftovers(&dir.join("lake")).is_empty());

    // Said on purpose, the empty result is published.
    let flow = dir.join("flows/f/flow.yml");
    let text = std::fs::read_to_string(&flow).unwrap();
    std::fs::write(&flow, format!("{text}allow_empty: true\n")).unwrap();
    ok(run(&dir, &["go"]));
    assert_eq!(count_rows(&lake), 0);
}

#[test]
fn an_incremental_run_that_finds_nothing_succeeds() {
    let (_tmp, dir) = loaded_csv_project();
    std::fs::write(dir.join("src/people/a.csv"), "id,name\n").unwrap();
    ok(run(&dir, &["go", "--incremental"]));
    assert_eq!(count_rows(&dir.join("lake/people")), 2);
}

#[test]
fn a_header_only_csv_into_an_empty_destination_gives_text_columns() {
    let tmp = tempfile::tempdir().unwrap();
    csv_project(tmp.path(), "lake");
    std::fs::write(tmp.path().join("src/people/a.csv"), "id,name\n").unwrap();
    ok(run(tmp.path(), &["go"]));
    let files = parquet_files(&tmp.path().join("lake/people"));
    assert_eq!(files.len(), 1);
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&files[0]).unwrap(),
    )
    .unwrap();
    let schema = reader.schema();
    assert_eq!(schema.fields().len(), 2);
    for field in schema.fields() {
        assert_eq!(field.data_type(), &DataType::Utf8, "{field:?}");
    }
}

#[test]
fn whole_second_csv_timestamps_reach_parquet_as_timestamps() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: times\n"),
            (
                "src/events/a.csv",
                "id,at,local\n1,2015-12-22T18:45:11Z,2015-12-22T18:45:11\n2,2016-01-01T00:00:00+01:00,2016-01-01T00:00:00\n",
            ),
            (
                "flows/f/flow.yml",
                "home:\n  type: local\n  format: csv\n  path: src\nstore: lake\nentities: [events]\n",
            ),
        ],
    );
    ok(run(tmp.path(), &["go"]));
    let file = &parquet_files(&tmp.path().join("lake/events"))[0];
    // The Parquet schema itself (not only hygge's embedded Arrow schema) says timestamp.
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(file).unwrap())
            .unwrap();
    let parquet_schema = parquet::file::reader::FileReader::metadata(&reader)
        .file_metadata()
        .schema_descr()
        .clone();
    for column in [1, 2] {
        let logical = parquet_schema.column(column).logical_type_ref().cloned();
        assert!(
            matches!(logical, Some(parquet::basic::LogicalType::Timestamp { .. })),
            "column {column}: {logical:?}"
        );
    }
    let batches = read_dir_batches(&tmp.path().join("lake/events"));
    let schema = batches[0].schema();
    assert_eq!(
        schema.field(1).data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()))
    );
    assert_eq!(
        schema.field(2).data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, None)
    );
    let at = batches[0]
        .column(1)
        .as_any()
        .downcast_ref::<arrow_array::TimestampMillisecondArray>()
        .unwrap();
    assert_eq!(at.value(0), 1_450_809_911_000);
    // 2016-01-01T00:00:00+01:00 is 2015-12-31T23:00:00Z.
    assert_eq!(at.value(1), 1_451_602_800_000);
}

#[test]
fn a_dry_run_fails_when_a_home_path_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    csv_project(tmp.path(), "lake");
    std::fs::remove_dir_all(tmp.path().join("src/people")).unwrap();
    let out = fails(run(tmp.path(), &["go", "--dry-run"]));
    assert!(
        out.contains("f.people") && out.contains("does not exist"),
        "{out}"
    );
}

#[test]
fn json_reports_config_errors_and_dry_runs() {
    let tmp = tempfile::tempdir().unwrap();
    csv_project(tmp.path(), "lake");
    let output = run(tmp.path(), &["go", "--dry-run", "--json"]);
    assert!(output.status.success(), "{}", text(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["ok"], true);
    assert_eq!(plan["entities"][0]["entity"], "people");

    std::fs::write(
        tmp.path().join("flows/f/flow.yml"),
        "home:\n  type: local\n  format: csv\n  path: src\nstore: {path: lake, comression: zstd}\nentities: [people]\n",
    )
    .unwrap();
    let output = run(tmp.path(), &["go", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let problem = &report["problems"][0];
    assert!(
        problem["file"]
            .as_str()
            .unwrap()
            .ends_with("flows/f/flow.yml"),
        "{report}"
    );
    assert_eq!(problem["line"], 5, "{report}");
    assert_eq!(problem["key"], "store.comression", "{report}");
    assert!(
        problem["hint"].as_str().unwrap().contains("compression"),
        "{report}"
    );
}

#[test]
fn debug_fails_on_a_component_that_cannot_be_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            (
                "hygge.yml",
                "name: broken\ncomponents:\n  junk: junk.wasm\n",
            ),
            ("junk.wasm", "this is not WebAssembly"),
            ("in/a.parquet", ""),
            (
                "flows/f/flow.yml",
                "home:\n  type: junk\n  allow: {read: [in]}\nstore: lake\n",
            ),
        ],
    );
    let out = fails(run(tmp.path(), &["debug"]));
    assert!(out.contains("`junk` cannot be loaded"), "{out}");
    assert!(!out.contains("every check passed"), "{out}");
}

/// A project as Python hygge users write them: `options` maps on the home and store,
/// `max_parallel_entities`, flow-level `options` and `if_exists`, and an entity whose
/// relative `store.path` lies inside the flow's store path.
#[test]
fn a_python_hygge_project_runs_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            (
                "hygge.yml",
                "name: legacy\noptions:\n  max_parallel_entities: 2\n",
            ),
            ("src/people/a.csv", "id,name\n1,Ada\n"),
            ("src/pets/a.csv", "id,kind\n1,cat\n2,dog\n"),
            (
                "flows/f/flow.yml",
                "home:\n  type: local\n  path: src\n  options:\n    format: csv\nstore:\n  type: parquet\n  path: lake\n  options:\n    compression: zstd\nif_exists: append\noptions:\n  continue_on_error: true\n",
            ),
            ("flows/f/entities/people.yml", "store:\n  path: humans\n"),
            ("flows/f/entities/pets.yml", "name: pets\n"),
        ],
    );
    let out = ok(run(tmp.path(), &["go"]));
    assert!(
        out.contains("if_exists")
            && out.contains("is ignored: the parquet store has no such setting"),
        "{out}"
    );
    assert_eq!(out.matches("has no such setting").count(), 1, "{out}");
    assert!(out.contains("options.continue_on_error"), "{out}");
    // The entity's own relative path is inside the flow's store path, as written.
    assert_eq!(count_rows(&tmp.path().join("lake/humans")), 1, "{out}");
    assert!(!tmp.path().join("lake/humans/people").exists());
    assert_eq!(count_rows(&tmp.path().join("lake/pets")), 2, "{out}");
    let file = &parquet_files(&tmp.path().join("lake/pets"))[0];
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(file).unwrap())
            .unwrap();
    let codec = parquet::file::reader::FileReader::metadata(&reader)
        .row_group(0)
        .column(0)
        .compression();
    assert!(
        matches!(codec, parquet::basic::Compression::ZSTD(_)),
        "{codec:?}"
    );
}

#[test]
fn an_unknown_key_inside_store_options_is_named_where_written() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: legacy\n"),
            ("src/a.csv", "id\n1\n"),
            (
                "flows/f/flow.yml",
                "home:\n  type: local\n  format: csv\n  path: src\nstore:\n  path: lake\n  options:\n    comression: zstd\n",
            ),
        ],
    );
    let out = fails(run(tmp.path(), &["go"]));
    assert!(out.contains("flows/f/flow.yml:8"), "{out}");
    assert!(out.contains("store.options.comression"), "{out}");
    assert!(out.contains("did you mean `compression`?"), "{out}");
}

/// A Parquet file with one INT96 column (as Spark writes timestamps) holding these
/// (julian day, nanoseconds of the day) values.
fn write_int96(path: &Path, values: &[(u32, u64)]) {
    use parquet::data_type::Int96;
    use parquet::file::writer::SerializedFileWriter;
    let schema = std::sync::Arc::new(
        parquet::schema::parser::parse_message_type("message spark { required int96 ts; }")
            .unwrap(),
    );
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut writer = SerializedFileWriter::new(
        std::fs::File::create(path).unwrap(),
        schema,
        Default::default(),
    )
    .unwrap();
    let mut group = writer.next_row_group().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    let data: Vec<Int96> = values
        .iter()
        .map(|&(day, nanos)| {
            let mut v = Int96::new();
            v.set_data(nanos as u32, (nanos >> 32) as u32, day);
            v
        })
        .collect();
    column
        .typed::<parquet::data_type::Int96Type>()
        .write_batch(&data, None, None)
        .unwrap();
    column.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn int96_timestamps_past_2262_keep_their_dates() {
    let tmp = tempfile::tempdir().unwrap();
    // Julian day 2440588 is 1970-01-01.
    let epoch = 2_440_588u32;
    let day_9999_12_31 = epoch + 2_932_896;
    let day_290000_01_01 = epoch + 105_200_000;
    write_int96(
        &tmp.path().join("src/spark/part-0.parquet"),
        &[
            (epoch + 1, 1_000),
            (day_9999_12_31, 0),
            (day_290000_01_01, 0),
        ],
    );
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: spark\n"),
            (
                "flows/f/flow.yml",
                "home: src\nstore: lake\nentities: [spark]\n",
            ),
        ],
    );
    ok(run(tmp.path(), &["go"]));
    let batches = read_dir_batches(&tmp.path().join("lake/spark"));
    let ts = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::TimestampMicrosecondArray>()
        .unwrap();
    let day_us = 86_400_000_000i64;
    assert_eq!(ts.value(0), day_us + 1);
    assert_eq!(ts.value(1), 2_932_896 * day_us);
    assert_eq!(ts.value(2), 105_200_000 * day_us);
}

#[test]
fn the_summary_counts_flows_and_entities_and_list_names_its_choices() {
    let (_tmp, dir) = init_project();
    let out = ok(run(&dir, &["go"]));
    assert!(
        out.contains("TOTAL 1 flow ") && out.contains("2 entities"),
        "{out}"
    );
    let out = fails(run(&dir, &["list"]));
    assert!(
        out.contains("hygge list flows") && out.contains("hygge list entities"),
        "{out}"
    );
}

#[test]
fn a_grant_above_the_project_needs_allow_outside_project() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: grants\n"),
            ("c.wasm", "not yet built"),
            (
                "flows/f/flow.yml",
                "home:\n  type: wasm\n  component: c.wasm\n  allow: {read: ['/']}\nstore: lake\n",
            ),
        ],
    );
    let out = fails(run(tmp.path(), &["go", "--dry-run"]));
    assert!(
        out.contains("home.allow.read") && out.contains("holds the whole project folder"),
        "{out}"
    );
    assert!(out.contains("allow_outside_project: true"), "{out}");
    write_files(
        tmp.path(),
        &[(
            "flows/f/flow.yml",
            "home:\n  type: wasm\n  component: c.wasm\n  allow: {read: ['..']}\nstore: lake\n",
        )],
    );
    let out = fails(run(tmp.path(), &["go", "--dry-run"]));
    assert!(out.contains("holds the whole project folder"), "{out}");
}

#[test]
fn a_home_that_is_a_number_is_named_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: bad\n"),
            ("flows/f/flow.yml", "home: 42\nstore: lake\n"),
        ],
    );
    let out = fails(run(tmp.path(), &["go"]));
    assert!(out.contains("flows/f/flow.yml:1"), "{out}");
    assert!(
        out.contains("must be a mapping (a `type` and its settings) or a path string"),
        "{out}"
    );
    assert!(!out.contains("has no `home`"), "{out}");
}

/// Starts a run whose home never returns, waits until its store has staged, sends `signal`
/// and returns the run's exit code and output, checking nothing was published or left.
fn stop_a_run_with(signal: &str) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let component = hygge_native_connectors::EVIL_COMPONENT;
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: stop\n"),
            (
                "flows/f/flow.yml",
                &format!(
                    "home:\n  type: wasm\n  component: '{component}'\n  call_timeout: 3600\n  config: {{attack: spin, path: none}}\nstore: lake\n"
                ),
            ),
        ],
    );
    let mut child = hygge()
        .arg("--project")
        .arg(tmp.path())
        .arg("go")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The home spins in its first `next-batch`, so the run is alive with its staging open.
    while staging_leftovers(tmp.path()).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "hygge ended before staging"
        );
        std::thread::yield_now();
    }
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let out = text(&output);
    assert!(out.contains("interrupted: f.f"), "{out}");
    assert!(staging_leftovers(tmp.path()).is_empty(), "{out}");
    assert!(!tmp.path().join("lake").exists(), "{out}");
    (output.status.code(), out)
}

#[test]
fn sigint_aborts_the_running_store_and_exits_130() {
    let (code, out) = stop_a_run_with("-INT");
    assert_eq!(code, Some(130), "{out}");
}

#[test]
fn sigterm_aborts_the_running_store_and_exits_143() {
    let (code, out) = stop_a_run_with("-TERM");
    assert_eq!(code, Some(143), "{out}");
}

#[test]
fn a_parquet_file_whose_metadata_miscounts_its_rows_fails_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let batch = arrow_array::RecordBatch::try_from_iter([(
        "id",
        std::sync::Arc::new(arrow_array::Int64Array::from(vec![1, 2, 3])) as arrow_array::ArrayRef,
    )])
    .unwrap();
    let file = tmp.path().join("src/old/a.parquet");
    write_parquet(&file, &[batch]);
    set_row_group_counts(&file, 0);
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: old\n"),
            (
                "flows/f/flow.yml",
                "home: src\nstore: lake\nentities: [old]\n",
            ),
        ],
    );
    let out = fails(run(tmp.path(), &["go"]));
    assert!(out.contains("src/old/a.parquet"), "{out}");
    assert!(out.contains("row group 0 says it holds 0 rows"), "{out}");
    assert!(!tmp.path().join("lake/old").exists(), "{out}");
}

/// A flow reading the NDJSON files under `src/events` into Parquet under `lake`.
fn ndjson_project(root: &Path, lines: &str, infer_rows: usize) {
    write_files(
        root,
        &[
            ("hygge.yml", "name: json\n"),
            ("src/events/e.ndjson", lines),
            (
                "flows/f/flow.yml",
                &format!(
                    "home:\n  type: local\n  format: ndjson\n  path: src\n  format_options: {{infer_schema_length: {infer_rows}}}\nstore: lake\nentities: [events]\n"
                ),
            ),
        ],
    );
}

#[test]
fn ndjson_columns_keep_the_order_of_first_appearance() {
    let tmp = tempfile::tempdir().unwrap();
    ndjson_project(
        tmp.path(),
        "{\"zeta\": 1, \"alpha\": {\"yes\": 1, \"bee\": 2}}\n{\"zeta\": 2, \"alpha\": {\"yes\": 3, \"bee\": 4}, \"mid\": \"x\"}\n",
        100,
    );
    ok(run(tmp.path(), &["go"]));
    let batches = read_dir_batches(&tmp.path().join("lake/events"));
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["zeta", "alpha", "mid"]);
    let DataType::Struct(inner) = schema.field(1).data_type() else {
        panic!("{schema:?}")
    };
    let inner: Vec<&str> = inner.iter().map(|f| f.name().as_str()).collect();
    assert_eq!(inner, ["yes", "bee"]);
}

#[test]
fn ndjson_errors_name_the_line_they_are_on() {
    let tmp = tempfile::tempdir().unwrap();
    ndjson_project(tmp.path(), "{\"id\": 1}\n\n{\"id\": 2}\n{\"id\": \n", 100);
    let out = fails(run(tmp.path(), &["go"]));
    assert!(out.contains("e.ndjson") && out.contains("line 4:"), "{out}");

    // A value that conflicts with the type inferred from the first line.
    let tmp = tempfile::tempdir().unwrap();
    ndjson_project(
        tmp.path(),
        "{\"id\": 1}\n{\"id\": 2}\n{\"id\": \"three\"}\n",
        1,
    );
    let out = fails(run(tmp.path(), &["go"]));
    assert!(out.contains("e.ndjson") && out.contains("line 3:"), "{out}");
}

/// A tmpfs of `size` mounted on `dir` for the life of the value (the suite runs as root, as
/// `bash .ci/run` does; the test fails, not skips, where it cannot mount).
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "cannot mount a tmpfs on {} (the suite needs root, as `bash .ci/run` has)",
            dir.display()
        );
        SmallDisk(dir.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_a_data_error_naming_the_place_and_publishes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // 20,000 distinct 40-character values: far more than 64 KiB, even compressed.
    let mut csv = String::from("id,digest\n");
    for i in 0u64..20_000 {
        let a = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let b = a.rotate_left(17) ^ 0xDEAD_BEEF_CAFE_F00D;
        csv.push_str(&format!("{i},{a:016x}{b:016x}{:08x}\n", i * 7));
    }
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: full\n"),
            ("src/big/a.csv", &csv),
            (
                "flows/f/flow.yml",
                "home:\n  type: local\n  format: csv\n  path: src\nstore: {path: lake, compression: none}\nentities: [big]\n",
            ),
        ],
    );
    let lake = tmp.path().join("lake");
    let _disk = SmallDisk::mount(&lake, "64k");
    let out = fails(run(tmp.path(), &["go"]));
    assert!(out.contains("error [data]"), "{out}");
    assert!(out.contains("no space left on device"), "{out}");
    assert!(out.contains("lake/big"), "{out}");
    assert!(!lake.join("big").exists(), "{out}");
    assert!(staging_leftovers(&lake).is_empty(), "{out}");
}

/// The column names of each visible Parquet file under `dir`, oldest run first.
fn file_columns(dir: &Path) -> Vec<Vec<String>> {
    let mut files = parquet_files(dir);
    files.sort_by_key(|f| std::fs::metadata(f).unwrap().modified().unwrap());
    files
        .iter()
        .map(|f| {
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(f).unwrap(),
            )
            .unwrap()
            .schema()
            .fields()
            .iter()
            .map(|field| field.name().clone())
            .collect()
        })
        .collect()
}

#[test]
fn schema_drift_on_incremental_runs_follows_on_schema_change() {
    let tmp = tempfile::tempdir().unwrap();
    csv_project(tmp.path(), "lake");
    let dir = tmp.path();
    let lake = dir.join("lake/people");
    let source = dir.join("src/people/a.csv");
    ok(run(dir, &["go", "--incremental"]));

    // The source gained a column: `fail` (the default) writes nothing and says what changed.
    std::fs::write(&source, "id,name,age\n3,Cy,30\n").unwrap();
    let before = snapshot(&lake);
    let out = fails(run(dir, &["go", "--incremental"]));
    assert!(out.contains("new column `age` (Int64)"), "{out}");
    assert!(out.contains("on_schema_change"), "{out}");
    assert_eq!(snapshot(&lake), before, "{out}");

    // `ignore` keeps the destination's columns.
    let flow = dir.join("flows/f/flow.yml");
    let text = std::fs::read_to_string(&flow).unwrap();
    std::fs::write(&flow, format!("{text}on_schema_change: ignore\n")).unwrap();
    ok(run(dir, &["go", "--incremental"]));
    assert_eq!(count_rows(&lake), 3);
    assert!(file_columns(&lake).iter().all(|c| c == &["id", "name"]));

    // `evolve` adds the new nullable column; a column gone from the source is written as nulls.
    std::fs::write(&flow, format!("{text}on_schema_change: evolve\n")).unwrap();
    std::fs::write(&source, "id,age\n4,40\n").unwrap();
    ok(run(dir, &["go", "--incremental"]));
    assert_eq!(count_rows(&lake), 4);
    let newest = file_columns(&lake).pop().unwrap();
    assert_eq!(newest, ["id", "name", "age"]);

    // No policy changes a column's type.
    std::fs::write(&source, "id,name,age\nfive,Ed,50\n").unwrap();
    let before = snapshot(&lake);
    let out = fails(run(dir, &["go", "--incremental"]));
    assert!(out.contains("column `id` changed type"), "{out}");
    assert_eq!(snapshot(&lake), before, "{out}");
}

#[test]
fn schema_drift_into_a_component_store_is_decided_on_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    csv_project(tmp.path(), "{path: lake, runtime: wasm}");
    let dir = tmp.path();
    let lake = dir.join("lake/people");
    ok(run(dir, &["go", "--incremental"]));
    std::fs::write(dir.join("src/people/a.csv"), "id,name,age\n3,Cy,30\n").unwrap();
    let before = snapshot(&lake);
    let out = fails(run(dir, &["go", "--incremental"]));
    assert!(out.contains("new column `age` (Int64)"), "{out}");
    assert_eq!(snapshot(&lake), before, "{out}");
    let ignore = [
        "go",
        "--incremental",
        "--var",
        "flow.f.on_schema_change=ignore",
    ];
    ok(run(dir, &ignore));
    assert_eq!(count_rows(&lake), 3);
    assert!(file_columns(&lake).iter().all(|c| c == &["id", "name"]));
}

#[test]
fn schema_overrides_written_outside_the_store_reach_it_or_are_named_as_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: overrides\n"),
            ("src/people/a.csv", "id,name\n1,Ada\n"),
            (
                "flows/f/flow.yml",
                "home:\n  type: local\n  format: csv\n  path: src\nstore:\n  type: mssql\n  server: 127.0.0.1\n  database: db\n  user: sa\n  password: secret\n  table: dbo.people\n",
            ),
            (
                "flows/f/entities/people.yml",
                "schema_overrides:\n  name: NOT_A_TYPE(3)\n",
            ),
        ],
    );
    // The MSSQL store reads the entity's overrides: its bad type is reported.
    let out = fails(run(tmp.path(), &["go", "--dry-run"]));
    assert!(out.contains("`schema_overrides.name`"), "{out}");
    assert!(out.contains("entities/people.yml:2"), "{out}");

    // A parquet store has no such setting: said once, not silently dropped.
    write_files(
        tmp.path(),
        &[(
            "flows/f/flow.yml",
            "home:\n  type: local\n  format: csv\n  path: src\nstore: lake\n",
        )],
    );
    let out = ok(run(tmp.path(), &["go"]));
    assert!(
        out.contains("`schema_overrides`: is ignored: the parquet store has no such setting"),
        "{out}"
    );
}

#[test]
fn an_int96_timestamp_no_64_bit_timestamp_holds_fails_naming_the_column() {
    let tmp = tempfile::tempdir().unwrap();
    // 200 million days after 1970: far past what microseconds in an i64 can count.
    write_int96(
        &tmp.path().join("src/spark/part-0.parquet"),
        &[(2_440_588 + 1, 0), (2_440_588 + 200_000_000, 0)],
    );
    write_files(
        tmp.path(),
        &[
            ("hygge.yml", "name: spark\n"),
            (
                "flows/f/flow.yml",
                "home: src\nstore: lake\nentities: [spark]\n",
            ),
        ],
    );
    let out = fails(run(tmp.path(), &["go"]));
    assert!(out.contains("src/spark/part-0.parquet"), "{out}");
    assert!(
        out.contains("column `ts` holds an INT96 timestamp 200000000 days"),
        "{out}"
    );
    assert!(!tmp.path().join("lake/spark").exists(), "{out}");
}

#[test]
fn on_a_terminal_the_summary_starts_on_its_own_line() {
    let (_tmp, dir) = init_project();
    // `script` runs hygge with a pseudo-terminal as its standard output.
    let command = format!(
        "{} --project {} go",
        env!("CARGO_BIN_EXE_hygge"),
        dir.display()
    );
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("HYGGE_LOG")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout).replace('\r', "");
    assert!(output.status.success(), "{out}");
    let header = out.find("FLOW ").expect("a summary");
    assert!(out[..header].ends_with('\n'), "{out:?}");
}
