//! Finding the project: `--project DIR`, else the nearest `hygge.yml` walking up.

use std::path::{Path, PathBuf};

use super::diagnostics::Diagnostic;

/// The project file's name.
pub const PROJECT_FILE: &str = "hygge.yml";

/// The project file for `explicit` (a directory or a `hygge.yml` path), or the nearest
/// `hygge.yml` in `start` or one of its parents.
///
/// # Errors
/// When none is found: the message lists every directory searched and suggests `hygge init`.
pub fn find_project_file(explicit: Option<&Path>, start: &Path) -> Result<PathBuf, Diagnostic> {
    if let Some(given) = explicit {
        let candidate = if given.is_dir() {
            given.join(PROJECT_FILE)
        } else {
            given.to_path_buf()
        };
        if candidate.is_file() {
            return Ok(candidate);
        }
        return Err(
            Diagnostic::new(format!("no {PROJECT_FILE} at {}", candidate.display())).hint(format!(
                "check --project, or create a project with `hygge init {}`",
                given.display()
            )),
        );
    }
    let mut searched = Vec::new();
    for dir in start.ancestors() {
        let candidate = dir.join(PROJECT_FILE);
        if candidate.is_file() {
            return Ok(candidate);
        }
        searched.push(dir.display().to_string());
    }
    Err(Diagnostic::new(format!(
        "no {PROJECT_FILE} found; searched:\n      {}",
        searched.join("\n      ")
    ))
    .hint("run hygge inside a project, pass --project DIR, or create one with `hygge init NAME`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_up_to_the_nearest_project_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PROJECT_FILE), "name: x\n").unwrap();
        let deep = dir.path().join("flows/a/entities");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(
            find_project_file(None, &deep).unwrap(),
            dir.path().join(PROJECT_FILE)
        );
    }

    #[test]
    fn explicit_project_directory_is_used() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PROJECT_FILE), "").unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(
            find_project_file(Some(dir.path()), elsewhere.path()).unwrap(),
            dir.path().join(PROJECT_FILE)
        );
    }

    #[test]
    fn not_found_lists_searched_directories_and_suggests_init() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        let err = find_project_file(None, &deep).unwrap_err().to_string();
        assert!(err.contains(&deep.display().to_string()), "{err}");
        assert!(
            err.contains(&dir.path().join("a").display().to_string()),
            "{err}"
        );
        assert!(err.contains("hygge init"), "{err}");
    }
}
