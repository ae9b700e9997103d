//! Helpers for the end-to-end tests: run the real `hygge` binary, write projects, read
//! back Parquet output.

#![allow(dead_code, clippy::unwrap_used)]

pub mod duckdb;
pub mod mssql;
pub mod objects;
pub mod postgres;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The binary under test.
pub fn hygge() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hygge"));
    cmd.env_remove("HYGGE_LOG");
    cmd
}

/// Runs hygge with `args` against the project in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = hygge();
    cmd.arg("--project").arg(dir).args(args);
    cmd.output().expect("hygge runs")
}

/// Stdout and stderr together, for messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Asserts success and returns the text.
pub fn ok(output: Output) -> String {
    let t = text(&output);
    assert!(output.status.success(), "hygge failed:\n{t}");
    t
}

/// Asserts exit code 1 and returns the text.
pub fn fails(output: Output) -> String {
    let t = text(&output);
    assert_eq!(output.status.code(), Some(1), "expected exit code 1:\n{t}");
    t
}

/// Writes files (relative path → content) under `root`.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
}

/// Writes `batch` as a Parquet file at `path`.
pub fn write_parquet(path: &Path, batches: &[RecordBatch]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        File::create(path).unwrap(),
        batches[0].schema(),
        None,
    )
    .unwrap();
    for b in batches {
        writer.write(b).unwrap();
    }
    writer.close().unwrap();
}

/// The visible Parquet files under `dir`, recursively, sorted.
pub fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else if name.ends_with(".parquet") {
                out.push(e.path());
            }
        }
    }
    walk(dir, &mut out);
    out.sort();
    out
}

/// Every batch of every visible Parquet file under `dir`.
pub fn read_dir_batches(dir: &Path) -> Vec<RecordBatch> {
    parquet_files(dir)
        .into_iter()
        .flat_map(|f| {
            ParquetRecordBatchReaderBuilder::try_new(File::open(&f).unwrap())
                .unwrap()
                .build()
                .unwrap()
                .map(|b| b.unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Rows in the visible Parquet files under `dir`.
pub fn count_rows(dir: &Path) -> usize {
    read_dir_batches(dir)
        .iter()
        .map(RecordBatch::num_rows)
        .sum()
}

/// Every file under `dir` (hidden ones too) with its bytes: to prove nothing changed.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), Vec::new());
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// A fresh project made by `hygge init` in a temporary folder.
pub fn init_project() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    ok(hygge().arg("init").arg(&dir).output().unwrap());
    (tmp, dir)
}

/// Names of staging folders left in `dir`.
pub fn staging_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".hygge-staging"))
        .collect()
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Waits for an event of the running `child` (`happened` says whether it occurred; no
/// timing), failing if the child ends first, then kills it with SIGKILL.
pub fn kill_after(
    child: &mut std::process::Child,
    event: &str,
    mut happened: impl FnMut() -> bool,
) {
    while !happened() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before {event}"
        );
        std::thread::yield_now();
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Rewrites the footer of the Parquet file at `path` with each row group's row count set to
/// `rows`, as some old writers left it, keeping the data pages as they are.
pub fn set_row_group_counts(path: &Path, rows: i64) {
    use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter};
    let metadata = ParquetMetaDataReader::new()
        .parse_and_finish(&std::fs::File::open(path).unwrap())
        .unwrap();
    let mut builder = metadata.into_builder();
    let groups = builder
        .take_row_groups()
        .into_iter()
        .map(|g| g.into_builder().set_num_rows(rows).build().unwrap())
        .collect();
    let metadata = builder.set_row_groups(groups).build();
    let original = std::fs::read(path).unwrap();
    let len = original.len();
    let footer = u32::from_le_bytes(original[len - 8..len - 4].try_into().unwrap()) as usize;
    let mut rewritten = original[..len - 8 - footer].to_vec();
    ParquetMetaDataWriter::new(&mut rewritten, &metadata)
        .finish()
        .unwrap();
    std::fs::write(path, rewritten).unwrap();
}
