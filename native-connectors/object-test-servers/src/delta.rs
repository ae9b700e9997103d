//! The `deltalake` Python package (delta-rs), in the tools venv: an independent reader of
//! the Delta tables hygge writes.

use std::process::Command;

use crate::{ServerError, step, tools_dir};

/// What the reader found in one version of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaRead {
    /// The version read.
    pub version: u64,
    /// Rows in it.
    pub rows: u64,
    /// Its columns as pyarrow prints them (`id: int64`), partition columns included.
    pub columns: Vec<String>,
    /// Its partition columns.
    pub partition_columns: Vec<String>,
}

const READER: &str = r#"
import json, os, sys
from deltalake import DeltaTable
uri, options, version = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
table = DeltaTable(uri, storage_options=options or None,
                   version=None if version == "latest" else int(version))
data = table.to_pyarrow_table()
print("version", table.version())
print("rows", data.num_rows)
print("partitions", ",".join(table.metadata().partition_columns))
for field in data.schema:
    print("column", f"{field.name}: {field.type}")
# deltalake 1.6 with pyarrow 26 often aborts while the interpreter tears down its thread
# pools ("terminate called without an active exception"), after the work is done: leave
# without the teardown.
sys.stdout.flush()
os._exit(0)
"#;

/// Reads `version` (or the newest with `None`) of the Delta table at `uri` (a local path or
/// `s3://…` with `storage_options`) with `deltalake`.
///
/// # Errors
/// [`ServerError::NotInstalled`] with the install command, or the reader's own error (a
/// table it cannot read).
pub fn read_delta(
    uri: &str,
    storage_options: &[(&str, String)],
    version: Option<u64>,
) -> Result<DeltaRead, ServerError> {
    let python = tools_dir().join("venv/bin/python");
    let installed = python.exists()
        && Command::new(&python)
            .args(["-c", "import deltalake, pyarrow"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !installed {
        let venv = tools_dir().join("venv");
        let venv = venv.display();
        return Err(ServerError::NotInstalled {
            what: "the deltalake Python package",
            path: python.display().to_string(),
            install: format!(
                "python3 -m venv {venv} && {venv}/bin/pip install deltalake==1.6.6 pyarrow==26.0.1 (or bash .ci/run)"
            ),
        });
    }
    let options: Vec<String> = storage_options
        .iter()
        .map(|(k, v)| format!("{k:?}: {v:?}"))
        .collect();
    let output = Command::new(&python)
        .args([
            "-c",
            READER,
            uri,
            &format!("{{{}}}", options.join(", ")),
            &version.map_or("latest".to_string(), |v| v.to_string()),
        ])
        .output()
        .map_err(|e| step("run deltalake", e))?;
    let what = format!("read the Delta table {uri}");
    if !output.status.success() {
        return Err(step(what, String::from_utf8_lossy(&output.stderr)));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    parse(&text).ok_or_else(|| step(what, format!("unexpected output: {text}")))
}

/// The reader's lines: `version N`, `rows N`, `partitions a,b`, then `column …` lines.
fn parse(text: &str) -> Option<DeltaRead> {
    let mut read = DeltaRead {
        version: 0,
        rows: 0,
        columns: Vec::new(),
        partition_columns: Vec::new(),
    };
    let mut seen = 0;
    for line in text.lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "version" => (read.version, seen) = (value.parse().ok()?, seen + 1),
            "rows" => (read.rows, seen) = (value.parse().ok()?, seen + 1),
            "partitions" => {
                read.partition_columns = value
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            "column" => read.columns.push(value.to_string()),
            _ => {}
        }
    }
    (seen == 2).then_some(read)
}
