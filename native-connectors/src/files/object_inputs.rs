//! The objects a file home reads under a URL. Where hygge publishes (a `_hygge/` commit
//! log is there) it reads the committed set from the log, so it never sees a publish half
//! made visible; elsewhere every object with the format's extension under the prefix, or
//! the matches of a glob, sorted, skipping hidden (`.`/`_`-prefixed) entries as folders do.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use glob::{MatchOptions, Pattern};
use hygge_runtime::contract::{ConnectorError, ConnectorResult};
use hygge_runtime::publish::is_hidden;
use hygge_runtime::publish::objects::{ObjectDestination, partition_values};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt};

use super::input::{InputFile, ObjectFile};
use super::paths::is_glob;

/// What a home reads under a URL.
pub enum Listing {
    /// Files, in the order a home reads them.
    Files(Vec<InputFile>),
    /// A Delta table hygge wrote with partition columns, which its files leave out.
    Partitioned(PartitionedTable),
}

/// One partition of a table: its values by column (`None`: null), and its files.
pub type Partition = (BTreeMap<String, Option<String>>, Vec<InputFile>);

/// A Delta table hygge wrote with partition columns: its files by partition (in path
/// order), each partition's values, and the table's columns.
pub struct PartitionedTable {
    /// The table's columns, partition columns included.
    pub schema: SchemaRef,
    /// The partition columns.
    pub partition_by: Vec<String>,
    /// Each partition's values (`None`: null) and files.
    pub partitions: Vec<Partition>,
}

impl Listing {
    /// The files of a listing that is no partitioned table (the sandboxed component reads
    /// files only).
    ///
    /// # Errors
    /// A config error naming the table and its partition columns.
    pub fn files_only(self, place: &str) -> ConnectorResult<Vec<InputFile>> {
        match self {
            Listing::Files(files) => Ok(files),
            Listing::Partitioned(table) => Err(ConnectorError::config(format!(
                "{place} is a Delta table partitioned by {}, whose files leave those columns out; the sandboxed component reads files only",
                table.partition_by.join(", ")
            ))
            .with_context("read it with runtime: native")),
        }
    }
}

/// The files under `home` with one of `extensions`, in the order a home reads them.
///
/// # Errors
/// The store cannot be listed (typed as [`ObjectDestination::list`] types it), or nothing
/// matches: a config error naming the URL.
pub async fn list_objects(
    home: &ObjectDestination,
    extensions: &[&str],
) -> ConnectorResult<Listing> {
    let parts: Vec<String> = home
        .root()
        .parts()
        .map(|p| p.as_ref().to_string())
        .collect();
    let literal = parts
        .iter()
        .take_while(|p| !is_glob(std::path::Path::new(p)))
        .count();
    let fixed = Path::from_iter(parts[..literal].iter().map(String::as_str));
    let pattern = parts[literal..].join("/");
    let file = |location: Path, size: u64| {
        InputFile::Object(Arc::new(ObjectFile {
            store: home.store().clone(),
            shown: shown(home, &location),
            location,
            size,
        }))
    };
    let of_format = |location: &Path| {
        location
            .extension()
            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
    };
    if pattern.is_empty()
        && let Some((commit, committed)) = home.committed_files().await?
    {
        let files: Vec<InputFile> = committed
            .into_iter()
            .filter(|(location, _)| of_format(location))
            .map(|(location, size)| file(location, size))
            .collect();
        if files.is_empty() {
            return Err(nothing_found(
                home,
                extensions,
                "hygge's last publish there holds",
            ));
        }
        if let Some(table) = commit.delta.as_ref().filter(|t| !t.partition_by.is_empty()) {
            let schema = commit.schema.clone().ok_or_else(|| {
                ConnectorError::data(format!(
                    "{}: the commit log entry of a partitioned table has no schema",
                    home.place()
                ))
            })?;
            let mut partitions: Vec<Partition> = Vec::new();
            for file in files {
                let InputFile::Object(object) = &file else {
                    continue;
                };
                let relative = object.location.as_ref()[home.root().as_ref().len()..]
                    .trim_start_matches('/')
                    .to_string();
                let values = partition_values(&relative, &table.partition_by);
                match partitions.iter_mut().find(|(v, _)| *v == values) {
                    Some((_, group)) => group.push(file),
                    None => partitions.push((values, vec![file])),
                }
            }
            return Ok(Listing::Partitioned(PartitionedTable {
                schema: Arc::new(schema),
                partition_by: table.partition_by.clone(),
                partitions,
            }));
        }
        return Ok(Listing::Files(files));
    }
    let listed = home.list(&fixed).await?;
    let glob = match pattern.is_empty() {
        true => None,
        false => Some(Pattern::new(&pattern).map_err(|e| {
            ConnectorError::config(format!("`{}` is not a valid glob: {e}", home.place()))
                .with_context("check the home `path`")
        })?),
    };
    let options = MatchOptions {
        require_literal_separator: true,
        ..MatchOptions::new()
    };
    let mut found: Vec<ObjectMeta> = listed
        .into_iter()
        .filter(|meta| {
            let relative: Vec<String> = meta
                .location
                .prefix_match(&fixed)
                .map(|parts| parts.map(|p| p.as_ref().to_string()).collect())
                .unwrap_or_default();
            let visible = !relative.iter().any(|p| is_hidden(p));
            visible
                && match &glob {
                    Some(glob) => glob.matches_with(&relative.join("/"), options),
                    None => of_format(&meta.location),
                }
        })
        .collect();
    found.sort_by(|a, b| a.location.cmp(&b.location));
    if found.is_empty() && pattern.is_empty() {
        // The URL may name one object rather than a prefix.
        if let Ok(meta) = home.store().head(&fixed).await {
            return Ok(Listing::Files(vec![file(meta.location, meta.size)]));
        }
    }
    if found.is_empty() {
        return Err(nothing_found(home, extensions, "there are"));
    }
    Ok(Listing::Files(
        found
            .into_iter()
            .map(|meta| file(meta.location, meta.size))
            .collect(),
    ))
}

/// The URL of `location`: the home's URL with the object's path in place of its prefix.
fn shown(home: &ObjectDestination, location: &Path) -> String {
    let place = home.place();
    let root = home.root().as_ref();
    match place.rfind(root).filter(|_| !root.is_empty()) {
        Some(at) => format!("{}{location}", &place[..at]),
        None => format!("{}/{location}", place.trim_end_matches('/')),
    }
}

fn nothing_found(home: &ObjectDestination, extensions: &[&str], what: &str) -> ConnectorError {
    let wanted: Vec<String> = extensions.iter().map(|e| format!(".{e}")).collect();
    ConnectorError::config(format!(
        "no {} files under {}: {what} none",
        wanted.join("/"),
        home.place()
    ))
    .with_context("check the home `path` and `format`")
}
