//! The objects a file home reads under a URL. Where hygge publishes (a `_hygge/` commit
//! log is there) it reads the committed set from the log, so it never sees a publish half
//! made visible; elsewhere every object with the format's extension under the prefix, or
//! the matches of a glob, sorted, skipping hidden (`.`/`_`-prefixed) entries as folders do.

use std::sync::Arc;

use glob::{MatchOptions, Pattern};
use hygge_runtime::contract::{ConnectorError, ConnectorResult};
use hygge_runtime::publish::is_hidden;
use hygge_runtime::publish::objects::ObjectDestination;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt};

use super::input::{InputFile, ObjectFile};
use super::paths::is_glob;

/// The files under `home` with one of `extensions`, in the order a home reads them.
///
/// # Errors
/// The store cannot be listed (typed as [`ObjectDestination::list`] types it), or nothing
/// matches: a config error naming the URL.
pub async fn list_objects(
    home: &ObjectDestination,
    extensions: &[&str],
) -> ConnectorResult<Vec<InputFile>> {
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
        if let Some(table) = commit.delta.as_ref().filter(|t| !t.partition_by.is_empty()) {
            return Err(ConnectorError::config(format!(
                "{} is a Delta table partitioned by {}, whose files leave those columns out; hygge's home does not read them back yet",
                home.place(),
                table.partition_by.join(", ")
            ))
            .with_context("read the table with a Delta reader (DuckDB's delta_scan, delta-rs, Spark), or write it without partition_by"));
        }
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
        return Ok(files);
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
            return Ok(vec![file(meta.location, meta.size)]);
        }
    }
    if found.is_empty() {
        return Err(nothing_found(home, extensions, "there are"));
    }
    Ok(found
        .into_iter()
        .map(|meta| file(meta.location, meta.size))
        .collect())
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
