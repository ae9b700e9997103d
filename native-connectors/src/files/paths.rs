//! Where a file home reads and a file store writes, following Python hygge's rules.

use std::path::{Path, PathBuf};

use hygge_runtime::cloud::{CloudConnection, ObjectUrl};
use hygge_runtime::contract::{ConfigProblem, ConnectorConfig};
use hygge_runtime::publish::objects::ObjectDestination;
use hygge_runtime::publish::{STAGING_PREFIX, is_hidden};

/// The folder or file a connector works on: relative paths are taken from the project
/// folder; an entity flow whose path does not name `{entity}` gets the entity name as a
/// sub-folder, unless the entity set its own path (taken inside the flow's path).
pub fn entity_path(config: &ConnectorConfig<'_>, path: &str) -> Result<PathBuf, ConfigProblem> {
    if path.trim().is_empty() {
        return Err(ConfigProblem::key("path", "is empty"));
    }
    let mut resolved = config.project_dir.join(path);
    let appends = config.has_entities && !config.path_names_entity && !config.entity_sets_path;
    if appends {
        resolved.push(config.entity);
    }
    Ok(resolved)
}

/// The object-store destination `path` names when it is a URL (`None`: a local path),
/// with the entity sub-folder appended by the rules of [`entity_path`], signed in by the
/// connection `connection` names (or the cloud's credential chain without one).
///
/// # Errors
/// A URL hygge cannot use, an unknown connection or one of another cloud, or a
/// `connection` beside a local path.
pub fn object_destination(
    config: &ConnectorConfig<'_>,
    path: &str,
    connection: Option<&str>,
) -> Result<Option<ObjectDestination>, ConfigProblem> {
    let appends = config.has_entities && !config.path_names_entity && !config.entity_sets_path;
    let text = if appends {
        format!("{}/{}", path.trim_end_matches('/'), config.entity)
    } else {
        path.to_string()
    };
    let Some(url) = ObjectUrl::parse(&text).map_err(|m| ConfigProblem::key("path", m))? else {
        if connection.is_some() {
            return Err(ConfigProblem::key(
                "connection",
                "applies to object-store paths (s3://, abfss://, az://, gs://) only",
            )
            .hint("remove it for a local path"));
        }
        return Ok(None);
    };
    let keys = match connection {
        Some(name) => {
            let value = config.connections.get(name).ok_or_else(|| {
                ConfigProblem::key("connection", format!("unknown connection `{name}`"))
                    .hint("define it under `connections:` in hygge.yml")
            })?;
            CloudConnection::from_value(value, name)?
        }
        None => CloudConnection::default(),
    };
    let store = keys.open(&url)?;
    Ok(Some(
        ObjectDestination::new(store, url.prefix.clone(), url.place())
            .signed_in_with(connection, url.cloud.credential_chain()),
    ))
}

/// Whether `path` is a glob pattern rather than a file or folder.
pub fn is_glob(path: &Path) -> bool {
    path.to_string_lossy().contains(['*', '?', '['])
}

/// The files a home reads from `path`: the file itself; every file with one of
/// `extensions` under a folder (recursively, sorted, skipping hidden, underscore-prefixed
/// and staging entries); or the matches of a glob, sorted.
pub fn list_inputs(path: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>, String> {
    if is_glob(path) {
        let pattern = path.to_string_lossy();
        let mut files: Vec<PathBuf> = glob::glob(&pattern)
            .map_err(|e| format!("invalid glob pattern {pattern}: {e}"))?
            .filter_map(Result::ok)
            .filter(|p| p.is_file() && !has_hidden_component(p, path))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("no file matches {pattern}"));
        }
        return Ok(files);
    }
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.exists() {
        return Err(format!("{} does not exist", path.display()));
    }
    let mut files = Vec::new();
    walk(path, extensions, &mut files)
        .map_err(|e| format!("cannot list {}: {e}", path.display()))?;
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "no {} files under {}",
            extensions
                .iter()
                .map(|e| format!(".{e}"))
                .collect::<Vec<_>>()
                .join("/"),
            path.display()
        ));
    }
    Ok(files)
}

fn walk(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_hidden(&name) || name.starts_with(STAGING_PREFIX) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, extensions, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The part of `path` before its first glob segment: the folder a glob reads in, or the
/// path itself when it is no glob.
pub fn fixed_prefix(path: &Path) -> PathBuf {
    path.components()
        .take_while(|c| !is_glob(Path::new(c.as_os_str())))
        .collect()
}

/// Whether a glob match passes through a hidden or staging folder below the pattern's root.
fn has_hidden_component(found: &Path, pattern: &Path) -> bool {
    let root = fixed_prefix(pattern);
    found
        .strip_prefix(&root)
        .unwrap_or(found)
        .components()
        .any(|c| is_hidden(&c.as_os_str().to_string_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, rel: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }

    #[test]
    fn folders_are_read_recursively_sorted_skipping_hidden_and_staging() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "b.parquet",
            "a/c.parquet",
            "a/d.csv",
            ".hidden/e.parquet",
            "_tmp/f.parquet",
            ".hygge-staging.x.1/g.parquet",
            "_SUCCESS",
        ] {
            touch(dir.path(), f);
        }
        let found = list_inputs(dir.path(), &["parquet"]).unwrap();
        let rel: Vec<String> = found
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(rel, ["a/c.parquet", "b.parquet"]);
    }

    #[test]
    fn globs_and_single_files() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["x/1.csv", "x/2.csv", "y/3.csv", "x/.h/4.csv"] {
            touch(dir.path(), f);
        }
        let found = list_inputs(&dir.path().join("*/*.csv"), &["csv"]).unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(
            list_inputs(&dir.path().join("x/1.csv"), &["csv"])
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn missing_and_empty_inputs_are_errors_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = list_inputs(&dir.path().join("nope"), &["parquet"]).unwrap_err();
        assert!(
            err.contains("nope") && err.contains("does not exist"),
            "{err}"
        );
        let err = list_inputs(dir.path(), &["parquet"]).unwrap_err();
        assert!(err.contains("no .parquet files"), "{err}");
    }
}
