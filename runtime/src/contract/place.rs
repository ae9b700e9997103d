//! Where a home reads and a store writes, so that a run can refuse a store that would
//! overwrite a home (or another store) before any data moves.

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// The data a home reads or a store writes, as far as overlaps are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A local file or folder; a glob home gives the folder its pattern starts in.
    Path(PathBuf),
    /// Anything else, as an identity that is equal exactly when two connectors touch the
    /// same data (for example `mssql server/db dbo.orders`, lower-cased).
    Named(String),
    /// An object-store location (`s3://bucket/raw/orders`), which overlaps another when one
    /// lies under the other.
    Url(String),
}

impl Place {
    /// A local path, made absolute and free of `.`/`..` and symbolic links as far as it
    /// exists, so that two spellings of one folder compare equal.
    pub fn path(path: &Path) -> Place {
        Place::Path(normalize(path))
    }

    /// An object-store URL as written, without a trailing `/` and cut before its first
    /// glob segment (a glob reads under its fixed prefix).
    pub fn url(text: &str) -> Place {
        let fixed: Vec<&str> = text
            .trim_end_matches('/')
            .split('/')
            .take_while(|segment| !segment.contains(['*', '?', '[']))
            .collect();
        Place::Url(fixed.join("/"))
    }

    /// Whether writing `self` can change what `other` holds, or the reverse: the same
    /// path, one inside the other, or the same named place.
    pub fn overlaps(&self, other: &Place) -> bool {
        match (self, other) {
            (Place::Path(a), Place::Path(b)) => a.starts_with(b) || b.starts_with(a),
            (Place::Named(a), Place::Named(b)) => a == b,
            (Place::Url(a), Place::Url(b)) => {
                a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
            }
            _ => false,
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Path(p) => write!(f, "{}", p.display()),
            Place::Named(n) | Place::Url(n) => f.write_str(n),
        }
    }
}

/// `path` without `.`/`..`, with its longest existing ancestor resolved through links.
fn normalize(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut lexical = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |acc, c| acc.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return lexical,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_overlap_when_equal_or_nested_and_not_when_siblings() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("data/source")).unwrap();
        let source = Place::path(&root.join("data/source"));
        assert!(source.overlaps(&Place::path(&root.join("data/./source/"))));
        assert!(source.overlaps(&Place::path(&root.join("data/source/out"))));
        assert!(source.overlaps(&Place::path(&root.join("data"))));
        assert!(source.overlaps(&Place::path(&root.join("data/x/../source"))));
        assert!(!source.overlaps(&Place::path(&root.join("data/sourced"))));
        assert!(!source.overlaps(&Place::path(&root.join("data/lake"))));
    }

    #[test]
    fn a_link_to_a_folder_overlaps_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("alias")).unwrap();
        assert!(Place::path(&root.join("alias/out")).overlaps(&Place::path(&root.join("real"))));
    }

    #[test]
    fn named_places_overlap_only_when_equal() {
        let a = Place::Named("mssql s/db dbo.orders".into());
        assert!(a.overlaps(&Place::Named("mssql s/db dbo.orders".into())));
        assert!(!a.overlaps(&Place::Named("mssql s/db dbo.order".into())));
        assert!(!a.overlaps(&Place::Path(PathBuf::from("/mssql"))));
    }

    #[test]
    fn urls_overlap_when_one_lies_under_the_other() {
        let raw = Place::url("s3://lake/raw/");
        assert!(raw.overlaps(&Place::url("s3://lake/raw/orders")));
        assert!(Place::url("s3://lake/raw/orders").overlaps(&raw));
        assert!(!raw.overlaps(&Place::url("s3://lake/rawx")));
        assert!(Place::url("s3://lake/raw/*/x.parquet").overlaps(&Place::url("s3://lake/raw/a")));
        assert!(!raw.overlaps(&Place::url("s3://other/raw")));
    }
}
