//! The Delta Lake transaction log of a destination published with `table_format: delta`:
//! `_delta_log/<version>.json`, one entry per hygge commit that changed data, created by a
//! conditional write once the commit's files are visible, so that Delta readers (Spark,
//! Fabric, Databricks, delta-rs, DuckDB) see each run appear whole.
//!
//! hygge's own log stays the source of truth: a crash between the two logs is finished
//! from hygge's log by the next run, and an entry already written for a run (its
//! `commitInfo` names the run) is never written twice.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde_json::{Value, json};

use super::schema::delta_schema;
use crate::contract::{ConnectorError, RunType};
use crate::publish::objects::destination::ObjectDestination;
use crate::publish::objects::errors::object_error;
use crate::publish::objects::log::{Commit, DataFile, entry_versions};

/// The folder of the Delta log under a table's root.
pub const DELTA_LOG_DIR: &str = "_delta_log";
/// Tries at the next version when another writer took one first.
const VERSION_RACES: usize = 3;

/// The Delta log of one destination.
pub struct DeltaLog<'a> {
    destination: &'a ObjectDestination,
    store: Arc<dyn ObjectStore>,
    dir: Path,
}

/// What the newest entries say about the table: its id, protocol and metadata.
#[derive(Debug, Default)]
struct TableState {
    id: Option<String>,
    protocol: Option<Value>,
    metadata: Option<Value>,
}

impl<'a> DeltaLog<'a> {
    /// The log under `destination`'s root.
    pub fn new(destination: &'a ObjectDestination) -> DeltaLog<'a> {
        DeltaLog {
            store: destination.store().clone(),
            dir: destination.root().clone().join(DELTA_LOG_DIR),
            destination,
        }
    }

    fn entry(&self, version: u64) -> Path {
        self.dir.clone().join(format!("{version:020}.json"))
    }

    fn failed(&self, what: &str, e: object_store::Error) -> ConnectorError {
        object_error(
            e,
            what,
            self.destination.place(),
            &self.destination.sign_in(),
        )
    }

    /// The versions in the log, oldest first.
    async fn versions(&self) -> Result<Vec<u64>, ConnectorError> {
        let listed: Vec<_> = self
            .store
            .list(Some(&self.dir))
            .try_collect()
            .await
            .map_err(|e| self.failed("cannot list the Delta log of", e))?;
        Ok(entry_versions(&listed))
    }

    /// Whether the log holds any entry.
    ///
    /// # Errors
    /// The log cannot be listed.
    pub async fn has_entries(&self) -> Result<bool, ConnectorError> {
        Ok(!self.versions().await?.is_empty())
    }

    /// The actions of one entry.
    async fn read(&self, version: u64) -> Result<Vec<Value>, ConnectorError> {
        let bytes = self
            .store
            .get(&self.entry(version))
            .await
            .map_err(|e| self.failed("cannot read the Delta log of", e))?
            .bytes()
            .await
            .map_err(|e| self.failed("cannot read the Delta log of", e))?;
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|e| {
                    ConnectorError::data(format!(
                        "{}/{DELTA_LOG_DIR}/{version:020}.json is not a Delta log entry: {e}",
                        self.destination.place()
                    ))
                })
            })
            .collect()
    }

    /// The hygge run an entry was written for, if hygge wrote it.
    async fn run_of(&self, version: u64) -> Result<Option<String>, ConnectorError> {
        Ok(self.read(version).await?.iter().find_map(|action| {
            action["commitInfo"]["hyggeRunId"]
                .as_str()
                .map(str::to_string)
        }))
    }

    /// The newest protocol and metadata, read back from the newest entry until both are
    /// found (hygge writes both in every entry, so one read for its own tables).
    async fn table_state(&self, versions: &[u64]) -> Result<TableState, ConnectorError> {
        let mut state = TableState::default();
        for &version in versions.iter().rev() {
            for action in self.read(version).await? {
                if state.protocol.is_none() && action.get("protocol").is_some() {
                    state.protocol = Some(action["protocol"].clone());
                }
                if state.metadata.is_none() && action.get("metaData").is_some() {
                    state.id = action["metaData"]["id"].as_str().map(str::to_string);
                    state.metadata = Some(action["metaData"].clone());
                }
            }
            if state.protocol.is_some() && state.metadata.is_some() {
                break;
            }
        }
        Ok(state)
    }

    /// Writes the Delta entry of `commit` (whose files are visible now) unless one was
    /// written for its run already. A commit that changed no data (a reset) writes none.
    ///
    /// # Errors
    /// The log cannot be read or written, the schema has a type Delta cannot hold, or other
    /// writers kept taking the next version.
    pub async fn publish(
        &self,
        commit: &Commit,
        partition_by: &[String],
    ) -> Result<(), ConnectorError> {
        if commit.added().next().is_none() && commit.removed.is_empty() {
            return Ok(());
        }
        // A later hygge commit exists only once this one was finished, Delta entry included
        // (a slow, repeated finish must not write it again after a newer one).
        if let Some(latest) = self.destination.log().latest().await?
            && latest.version > commit.version
        {
            return Ok(());
        }
        for _ in 0..VERSION_RACES {
            let versions = self.versions().await?;
            if let Some(&newest) = versions.last()
                && self.run_of(newest).await?.as_deref() == Some(commit.run_id.as_str())
            {
                return Ok(());
            }
            let next = versions.last().map_or(0, |v| v + 1);
            let state = self.table_state(&versions).await?;
            let entry = self.entry_of(commit, partition_by, &state, next == 0)?;
            let options = PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            };
            match self
                .store
                .put_opts(&self.entry(next), PutPayload::from(entry), options)
                .await
            {
                Ok(_) => return Ok(()),
                Err(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. },
                ) => {
                    if self.run_of(next).await?.as_deref() == Some(commit.run_id.as_str()) {
                        return Ok(());
                    }
                }
                Err(e) => return Err(self.failed("cannot write the Delta log of", e)),
            }
        }
        Err(ConnectorError::connection(format!(
            "other writers kept committing to the Delta log of {} while hygge tried to",
            self.destination.place()
        ))
        .with_context("hygge's data is committed; the next run writes its Delta entry"))
    }

    /// The entry's lines: commitInfo, protocol, metaData, then removes and adds. The first
    /// entry adds the whole committed set (a destination hygge published before it became
    /// a Delta table keeps its files in the table).
    fn entry_of(
        &self,
        commit: &Commit,
        partition_by: &[String],
        state: &TableState,
        first: bool,
    ) -> Result<String, ConnectorError> {
        let now = epoch_millis(&commit.committed_at);
        let schema = commit.schema.as_ref().ok_or_else(|| {
            ConnectorError::internal("a Delta commit needs the schema of the data")
        })?;
        let delta = delta_schema(schema).map_err(|m| {
            ConnectorError::config(format!("{}: {m}", self.destination.place()))
                .with_context("`table_format: delta`")
        })?;
        let mode = match commit.run_type {
            RunType::FullDrop => "Overwrite",
            RunType::Incremental => "Append",
        };
        let mut lines = vec![json!({"commitInfo": {
            "timestamp": now,
            "operation": "WRITE",
            "operationParameters": {
                "mode": mode,
                "partitionBy": serde_json::to_string(partition_by).unwrap_or_default(),
            },
            "engineInfo": concat!("hygge/", env!("CARGO_PKG_VERSION")),
            "isBlindAppend": commit.run_type == RunType::Incremental,
            "hyggeRunId": commit.run_id,
            "hyggeVersion": commit.version,
        }})];
        lines.push(json!({"protocol": protocol(state.protocol.as_ref(), delta.timestamp_ntz)}));
        lines.push(json!({"metaData": {
            "id": state.id.clone().unwrap_or_else(|| table_id(self.destination.place(), commit)),
            "format": {"provider": "parquet", "options": {}},
            "schemaString": delta.json.to_string(),
            "partitionColumns": partition_by,
            "configuration": state.metadata.as_ref()
                .map_or_else(|| json!({}), |m| m["configuration"].clone()),
            "createdTime": state.metadata.as_ref()
                .and_then(|m| m["createdTime"].as_i64())
                .unwrap_or(now),
        }}));
        let removed: &[String] = if first { &[] } else { &commit.removed };
        for path in removed {
            lines.push(json!({"remove": {
                "path": uri_path(path),
                "deletionTimestamp": now,
                "dataChange": true,
                "extendedFileMetadata": false,
                "partitionValues": partition_values(path, partition_by),
            }}));
        }
        let added: Vec<&DataFile> = match first {
            true => commit.files.iter().collect(),
            false => commit.added().collect(),
        };
        for file in added {
            let stats = file
                .stats
                .clone()
                .unwrap_or_else(|| json!({"numRecords": file.rows}).to_string());
            lines.push(json!({"add": {
                "path": uri_path(&file.path),
                "partitionValues": partition_values(&file.path, partition_by),
                "size": file.bytes,
                "modificationTime": now,
                "dataChange": true,
                "stats": stats,
            }}));
        }
        let mut text = String::new();
        for line in lines {
            text.push_str(&line.to_string());
            text.push('\n');
        }
        Ok(text)
    }
}

/// The protocol to write: the table's, raised to what this schema needs (never lowered),
/// keeping the table's feature lists wherever its versions call for them.
fn protocol(current: Option<&Value>, timestamp_ntz: bool) -> Value {
    let version = |key: &str, least: u64| {
        current
            .and_then(|p| p[key].as_u64())
            .unwrap_or(least)
            .max(least)
    };
    let reader = version("minReaderVersion", if timestamp_ntz { 3 } else { 1 });
    let writer = version("minWriterVersion", if timestamp_ntz { 7 } else { 2 });
    let features = |key: &str| -> Value {
        let mut list: Vec<Value> = current
            .and_then(|p| p[key].as_array().cloned())
            .unwrap_or_default();
        if timestamp_ntz && !list.iter().any(|f| f == "timestampNtz") {
            list.push(json!("timestampNtz"));
        }
        Value::Array(list)
    };
    let mut protocol = json!({"minReaderVersion": reader, "minWriterVersion": writer});
    if reader >= 3 {
        protocol["readerFeatures"] = features("readerFeatures");
    }
    if writer >= 7 {
        protocol["writerFeatures"] = features("writerFeatures");
    }
    protocol
}

/// The id of a new table, made from its place and the first run that wrote it (a UUID's
/// shape), so that retried writes of the first entry agree.
fn table_id(place: &str, commit: &Commit) -> String {
    let digest = fnv1a_128(&format!("{place}\n{}", commit.run_id));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (digest >> 96) as u32,
        (digest >> 80) as u16,
        (digest >> 68) as u16 & 0xfff,
        (digest >> 56) as u16 & 0xfff,
        digest as u64 & 0xffff_ffff_ffff
    )
}

/// FNV-1a, 128 bits: enough to tell tables apart, no cryptography needed.
fn fnv1a_128(text: &str) -> u128 {
    let mut hash: u128 = 0x6c62272e07bb014262b821756295c58d;
    for byte in text.bytes() {
        hash ^= u128::from(byte);
        hash = hash.wrapping_mul(0x0000000001000000000000000000013B);
    }
    hash
}

/// Milliseconds since 1970 of an RFC 3339 UTC time (`2026-11-30T20:14:06Z`), 0 if it does
/// not parse.
fn epoch_millis(rfc3339: &str) -> i64 {
    let parse = || -> Option<i64> {
        let (date, time) = rfc3339.split_once('T')?;
        let mut ymd = date.split('-').map(|p| p.parse::<i64>().ok());
        let (y, m, d) = (ymd.next()??, ymd.next()??, ymd.next()??);
        let time = time.trim_end_matches('Z');
        let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
        let mut parts = hms.split(':').map(|p| p.parse::<i64>().ok());
        let (h, mi, s) = (parts.next()??, parts.next()??, parts.next()??);
        let millis: i64 = format!("{fraction:0<3}")[..3].parse().ok()?;
        let days = crate::run_id::days_from_civil(y, m, d);
        Some(((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + millis)
    };
    parse().unwrap_or(0)
}

/// A relative path as the URI Delta's `path` fields hold: every byte outside the unreserved
/// set, `/` and `=` percent-encoded (so a hive-escaped `%2F` becomes `%252F`, as Spark
/// writes it).
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/=".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The partition values a hive-style path (`year=2026/month=11/part-1.parquet`) holds for
/// `columns`: unescaped, and `null` for hive's null marker.
pub fn partition_values(path: &str, columns: &[String]) -> BTreeMap<String, Option<String>> {
    let mut values = BTreeMap::new();
    let folders: Vec<&str> = path.split('/').collect();
    for folder in folders.iter().take(folders.len().saturating_sub(1)) {
        if let Some((name, value)) = folder.split_once('=')
            && columns.iter().any(|c| c == name)
        {
            let value = match value {
                "__HIVE_DEFAULT_PARTITION__" => None,
                "__EMPTY__" => Some(String::new()),
                escaped => Some(unescape(escaped)),
            };
            values.insert(name.to_string(), value);
        }
    }
    values
}

/// Undoes hive's `%XX` escapes.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_partition_values_follow_the_delta_spec() {
        assert_eq!(
            uri_path("city=a%2Fb/part 1.parquet"),
            "city=a%252Fb/part%201.parquet"
        );
        let values = partition_values(
            "year=2026/city=a%2Fb/none=__HIVE_DEFAULT_PARTITION__/part.parquet",
            &["year".into(), "city".into(), "none".into()],
        );
        assert_eq!(values["year"].as_deref(), Some("2026"));
        assert_eq!(values["city"].as_deref(), Some("a/b"));
        assert_eq!(values["none"], None);
        assert_eq!(epoch_millis("1970-01-02T00:00:01.5Z"), 86_401_500);
    }

    #[test]
    fn the_protocol_is_raised_for_zoneless_timestamps_and_never_lowered() {
        assert_eq!(protocol(None, false)["minReaderVersion"], 1);
        let ntz = protocol(None, true);
        assert_eq!(ntz["minWriterVersion"], 7);
        assert_eq!(ntz["readerFeatures"][0], "timestampNtz");
        let kept = protocol(Some(&ntz), false);
        assert_eq!(kept["minReaderVersion"], 3);
        assert_eq!(kept["writerFeatures"][0], "timestampNtz");
        let writer_only =
            json!({"minReaderVersion": 1, "minWriterVersion": 7, "writerFeatures": ["appendOnly"]});
        let kept = protocol(Some(&writer_only), false);
        assert_eq!(kept["writerFeatures"][0], "appendOnly");
        assert!(kept.get("readerFeatures").is_none());
    }
}
