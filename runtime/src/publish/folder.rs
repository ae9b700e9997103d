//! A folder of files published all at once.
//!
//! A store writes into a hidden staging folder beside the destination folder
//! (`<parent>/.hygge-staging.<name>.<run id>`), then [`StagedDir::commit`] swaps it in:
//!
//! - `full_drop`: the staging folder and the destination are exchanged with one
//!   `renameat2(RENAME_EXCHANGE)`, so a reader sees the old set or the new one, never a mix;
//!   the old set (now in the staging path) is then deleted.
//! - `incremental`: the destination's visible files are first hard-linked into the staging
//!   folder (no data is copied), then the same exchange publishes old + new at once.
//!
//! A lock file beside the destination (`.hygge-lock.<name>`) keeps two runs from writing the
//! same destination; whoever holds it knows every staging folder of that destination is
//! stale (from a crashed run) and removes it. Where the file system cannot exchange, two
//! renames are used and a crash between them is rolled forward by the next run.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, RenameFlags, flock, renameat_with};

use super::folder_state::{read_state_file, write_state_file};
use crate::contract::{ConnectorError, ErrorKind, RunType};
use crate::state::{StateUpdate, unchanged};

/// The prefix of every staging folder; readers skip it because it starts with a dot.
pub const STAGING_PREFIX: &str = ".hygge-staging.";
const LOCK_PREFIX: &str = ".hygge-lock.";
const OLD_SUFFIX: &str = ".old";

/// Whether a file or folder name is hidden from readers (dot- or underscore-prefixed).
pub fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

/// An I/O error as a connector error: permissions and missing paths are the user's to fix.
pub fn io_error(error: io::Error, what: impl Into<String>) -> ConnectorError {
    let kind = match error.kind() {
        io::ErrorKind::PermissionDenied
        | io::ErrorKind::NotFound
        | io::ErrorKind::ReadOnlyFilesystem => ErrorKind::Config,
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
            ErrorKind::Data
        }
        _ => ErrorKind::Internal,
    };
    ConnectorError::new(kind, what).with_source(error)
}

/// Whether `destination` holds a visible file (a file or folder a reader would see), so
/// that a full run that found no rows does not replace it.
///
/// # Errors
/// The folder exists but cannot be listed.
pub fn holds_data(destination: &Path) -> Result<bool, ConnectorError> {
    if destination.is_file() {
        return Ok(true);
    }
    if !destination.is_dir() {
        return Ok(false);
    }
    let mut files = Vec::new();
    visible_files(destination, Path::new(""), &mut files)
        .map_err(|e| io_error(e, format!("cannot list {}", destination.display())))?;
    Ok(!files.is_empty())
}

/// A staging folder for one destination folder, locked for this run.
#[derive(Debug)]
pub struct StagedDir {
    destination: PathBuf,
    staging: PathBuf,
    run_type: RunType,
    finished: bool,
    _lock: DestinationLock,
}

impl StagedDir {
    /// Locks `destination`, removes stale staging left by crashed runs, and creates a fresh
    /// staging folder for `run_id`.
    ///
    /// # Errors
    /// A connection error (retried) when another run holds the destination; a config error
    /// when the destination cannot be created or is not a folder.
    pub fn open(
        destination: &Path,
        run_id: &str,
        run_type: RunType,
    ) -> Result<StagedDir, ConnectorError> {
        let (parent, name) = split(destination)?;
        let lock = lock_destination(destination)?;
        recover_and_clean(&parent, &name, destination)?;
        if destination.exists() && !destination.is_dir() {
            return Err(ConnectorError::config(format!(
                "the destination {} exists and is not a folder",
                destination.display()
            )));
        }
        let staging = parent.join(format!("{STAGING_PREFIX}{name}.{run_id}"));
        fs::create_dir(&staging).map_err(|e| {
            io_error(
                e,
                format!("cannot create the staging folder {}", staging.display()),
            )
        })?;
        Ok(StagedDir {
            destination: destination.to_path_buf(),
            staging,
            run_type,
            finished: false,
            _lock: lock,
        })
    }

    /// Where the store writes its files.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The folder readers see.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// The visible files already published, relative to the destination, sorted.
    pub fn published_files(&self) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        if self.destination.is_dir() {
            visible_files(&self.destination, Path::new(""), &mut files)?;
        }
        files.sort();
        Ok(files)
    }

    /// Publishes the staged files.
    ///
    /// # Atomicity
    /// One exchange of two folders: a reader sees the old set or the new one. With
    /// `incremental`, the old files are hard-linked into the new set first.
    ///
    /// The entity's watermark state is a hidden file inside the set, so it is swapped in
    /// with the files it describes. Without `state`, an incremental commit carries the
    /// published state forward unchanged; a full one publishes none.
    ///
    /// # Errors
    /// A connection error (retried) when the published state is no longer
    /// `state.previous`.
    pub fn commit(mut self, state: Option<&StateUpdate>) -> Result<(), ConnectorError> {
        let published = read_state_file(&self.destination)?;
        match state {
            Some(update) => {
                if !unchanged(update.previous.as_ref(), published.as_ref()) {
                    return Err(ConnectorError::connection(format!(
                        "the watermark state of {} changed while this run was reading; \
                         reading again from the new watermark",
                        self.destination.display()
                    )));
                }
                write_state_file(&self.staging, &update.next)?;
            }
            None => {
                if let (RunType::Incremental, Some(published)) = (self.run_type, &published) {
                    write_state_file(&self.staging, published)?;
                }
            }
        }
        sync_tree(&self.staging).map_err(|e| {
            io_error(
                e,
                format!("cannot flush staged files in {}", self.staging.display()),
            )
        })?;
        if self.run_type == RunType::Incremental && self.destination.is_dir() {
            link_into(&self.destination, &self.staging, Path::new(""))
                .and_then(|()| sync_dirs(&self.staging))
                .map_err(|e| {
                    io_error(
                        e,
                        format!(
                            "cannot carry the existing files of {} into the new set",
                            self.destination.display()
                        ),
                    )
                })?;
        }
        self.publish()?;
        self.finished = true;
        Ok(())
    }

    /// Removes the staged files; the destination is untouched.
    pub fn abort(mut self) -> Result<(), ConnectorError> {
        self.finished = true;
        remove_dir_if_exists(&self.staging).map_err(|e| {
            io_error(
                e,
                format!(
                    "cannot remove the staging folder {}",
                    self.staging.display()
                ),
            )
        })
    }

    fn publish(&self) -> Result<(), ConnectorError> {
        let fail =
            |e: io::Error| io_error(e, format!("cannot publish {}", self.destination.display()));
        if !self.destination.exists() {
            fs::rename(&self.staging, &self.destination).map_err(fail)?;
        } else {
            match renameat_with(
                rustix::fs::CWD,
                &self.staging,
                rustix::fs::CWD,
                &self.destination,
                RenameFlags::EXCHANGE,
            ) {
                Ok(()) => {}
                Err(e)
                    if e == rustix::io::Errno::INVAL
                        || e == rustix::io::Errno::NOSYS
                        || e == rustix::io::Errno::OPNOTSUPP =>
                {
                    self.swap_by_two_renames().map_err(fail)?;
                }
                Err(e) => return Err(fail(e.into())),
            }
            // The staging path now holds the previous set.
            if let Err(e) = remove_dir_if_exists(&self.staging) {
                tracing::warn!(path = %self.staging.display(), error = %e, "could not remove the previous files; the next run will");
            }
        }
        if let Some(parent) = self.destination.parent() {
            sync_dir(parent).map_err(fail)?;
        }
        Ok(())
    }

    /// For file systems without RENAME_EXCHANGE: destination → `<staging>.old`, staging →
    /// destination. A crash between the two is rolled forward by the next run.
    fn swap_by_two_renames(&self) -> io::Result<()> {
        let old = old_path(&self.staging);
        fs::rename(&self.destination, &old)?;
        fs::rename(&self.staging, &self.destination)?;
        fs::rename(&old, &self.staging)
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.finished {
            let _ = remove_dir_if_exists(&self.staging);
        }
    }
}

/// Takes the writer lock of `destination` (a file beside it), which every run and
/// `hygge reset` holds while they change it; creates the parent folder if needed.
///
/// # Errors
/// A connection error (retried) when another run holds it.
pub(crate) fn lock_destination(destination: &Path) -> Result<DestinationLock, ConnectorError> {
    let (parent, name) = split(destination)?;
    fs::create_dir_all(&parent).map_err(|e| {
        io_error(
            e,
            format!("cannot create the store folder {}", parent.display()),
        )
    })?;
    let lock_path = parent.join(format!("{LOCK_PREFIX}{name}"));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| {
            io_error(
                e,
                format!("cannot create the lock file {}", lock_path.display()),
            )
        })?;
    if let Err(e) = flock(&lock, FlockOperation::NonBlockingLockExclusive) {
        return Err(if e == rustix::io::Errno::WOULDBLOCK {
            ConnectorError::connection(format!(
                "another hygge run is writing to {}; wait for it to finish",
                destination.display()
            ))
        } else {
            io_error(e.into(), format!("cannot lock {}", lock_path.display()))
        });
    }
    Ok(DestinationLock(lock))
}

/// A destination's lock, released explicitly when dropped. Closing the file is not enough:
/// a process forked meanwhile (any `Command::spawn`, before its exec) shares the open file
/// description, and the lock would stay until that copy closes too.
#[derive(Debug)]
pub(crate) struct DestinationLock(File);

impl Drop for DestinationLock {
    fn drop(&mut self) {
        let _ = flock(&self.0, FlockOperation::Unlock);
    }
}

fn old_path(staging: &Path) -> PathBuf {
    let mut name = staging.as_os_str().to_owned();
    name.push(OLD_SUFFIX);
    PathBuf::from(name)
}

fn split(destination: &Path) -> Result<(PathBuf, String), ConnectorError> {
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            ConnectorError::config(format!(
                "the destination {} has no folder name",
                destination.display()
            ))
        })?;
    let parent = destination
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok((parent, name))
}

/// With the destination lock held, every staging folder of `name` is stale. A two-rename
/// swap interrupted after its first rename left no destination but a complete staging
/// folder: publish it.
fn recover_and_clean(parent: &Path, name: &str, destination: &Path) -> Result<(), ConnectorError> {
    let prefix = format!("{STAGING_PREFIX}{name}.");
    let entries = fs::read_dir(parent)
        .map_err(|e| io_error(e, format!("cannot list {}", parent.display())))?;
    let mut stale: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let file_name = e.file_name().to_string_lossy().into_owned();
            file_name
                .strip_prefix(&prefix)
                .map(|rest| rest.trim_end_matches(OLD_SUFFIX))
                .is_some_and(|run_id| !run_id.is_empty() && !run_id.contains('.'))
        })
        .map(|e| e.path())
        .collect();
    stale.sort();
    for path in &stale {
        let is_old = path.to_string_lossy().ends_with(OLD_SUFFIX);
        if !is_old && !destination.exists() && old_path(path).exists() {
            tracing::warn!(destination = %destination.display(), "finishing a publish interrupted by a crash");
            fs::rename(path, destination).map_err(|e| {
                io_error(
                    e,
                    format!(
                        "cannot finish the interrupted publish of {}",
                        destination.display()
                    ),
                )
            })?;
        }
    }
    for path in stale {
        tracing::info!(path = %path.display(), "removing stale staging from a crashed run");
        remove_dir_if_exists(&path)
            .map_err(|e| io_error(e, format!("cannot remove stale staging {}", path.display())))?;
    }
    Ok(())
}

fn remove_dir_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn visible_files(root: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(root.join(relative))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let rel = relative.join(&name);
        if entry.file_type()?.is_dir() {
            visible_files(root, &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// Hard-links every visible file under `from` into `to` at the same relative path.
fn link_into(from: &Path, to: &Path, relative: &Path) -> io::Result<()> {
    for entry in fs::read_dir(from.join(relative))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let rel = relative.join(&name);
        if entry.file_type()?.is_dir() {
            fs::create_dir_all(to.join(&rel))?;
            link_into(from, to, &rel)?;
        } else {
            let target = to.join(&rel);
            if target.exists() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} would overwrite an existing file", rel.display()),
                ));
            }
            fs::hard_link(from.join(&rel), target)?;
        }
    }
    Ok(())
}

fn sync_tree(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(dir)
}

/// Flushes the folders of a tree (the links just made in them), not their files.
fn sync_dirs(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_dirs(&entry.path())?;
        }
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// A process forked while a run held the lock shares its open file description (here a
    /// duplicated descriptor stands for that child's copy): the lock must still go when the
    /// run ends, or the next run is refused until the child execs.
    #[test]
    fn a_released_lock_is_free_even_while_a_forked_copy_is_open() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("out");
        let lock = lock_destination(&dest).unwrap();
        let forked_copy = lock.0.try_clone().unwrap();
        drop(lock);
        let again = lock_destination(&dest);
        assert!(again.is_ok(), "{:?}", again.err());
        drop(forked_copy);
    }

    fn stage(dest: &Path, run: &str, run_type: RunType, files: &[&str]) -> StagedDir {
        let staged = StagedDir::open(dest, run, run_type).unwrap();
        for f in files {
            fs::write(staged.path().join(f), f.as_bytes()).unwrap();
        }
        staged
    }

    #[test]
    fn full_drop_replaces_the_whole_set() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("users");
        stage(&dest, "r1", RunType::FullDrop, &["a", "b"])
            .commit(None)
            .unwrap();
        assert_eq!(names(&dest), ["a", "b"]);
        stage(&dest, "r2", RunType::FullDrop, &["c"])
            .commit(None)
            .unwrap();
        assert_eq!(names(&dest), ["c"]);
        assert_eq!(names(root.path()), [".hygge-lock.users", "users"]);
    }

    #[test]
    fn incremental_keeps_existing_files_and_adds_new_ones() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("users");
        stage(&dest, "r1", RunType::Incremental, &["a"])
            .commit(None)
            .unwrap();
        let staged = StagedDir::open(&dest, "r2", RunType::Incremental).unwrap();
        fs::create_dir(staged.path().join("p=1")).unwrap();
        fs::write(staged.path().join("p=1/b"), "b").unwrap();
        assert_eq!(staged.published_files().unwrap(), [PathBuf::from("a")]);
        staged.commit(None).unwrap();
        assert_eq!(names(&dest), ["a", "p=1"]);
        assert_eq!(fs::read_to_string(dest.join("a")).unwrap(), "a");
        assert_eq!(fs::read_to_string(dest.join("p=1/b")).unwrap(), "b");
    }

    #[test]
    fn incremental_refuses_to_overwrite() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("users");
        stage(&dest, "r1", RunType::Incremental, &["a"])
            .commit(None)
            .unwrap();
        let err = stage(&dest, "r2", RunType::Incremental, &["a"])
            .commit(None)
            .unwrap_err();
        assert!(err.to_string().contains("would overwrite"), "{err}");
        assert_eq!(fs::read_to_string(dest.join("a")).unwrap(), "a");
    }

    #[test]
    fn abort_leaves_the_destination_untouched() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("users");
        stage(&dest, "r1", RunType::FullDrop, &["a"])
            .commit(None)
            .unwrap();
        stage(&dest, "r2", RunType::FullDrop, &["b"])
            .abort()
            .unwrap();
        assert_eq!(names(&dest), ["a"]);
        assert_eq!(names(root.path()), [".hygge-lock.users", "users"]);
    }

    #[test]
    fn a_second_writer_is_refused_while_the_first_holds_the_destination() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("users");
        let first = stage(&dest, "r1", RunType::FullDrop, &["a"]);
        let err = StagedDir::open(&dest, "r2", RunType::FullDrop).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connection);
        first.commit(None).unwrap();
        StagedDir::open(&dest, "r3", RunType::FullDrop)
            .unwrap()
            .abort()
            .unwrap();
    }

    #[test]
    fn stale_staging_is_removed_and_an_interrupted_swap_is_rolled_forward() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("users");
        // A crashed run's staging folder, never published.
        fs::create_dir(root.path().join(".hygge-staging.users.dead1")).unwrap();
        // A two-rename swap interrupted after moving the old set away.
        let staged = root.path().join(".hygge-staging.users.dead2");
        fs::create_dir(&staged).unwrap();
        fs::write(staged.join("new"), "new").unwrap();
        fs::create_dir(root.path().join(".hygge-staging.users.dead2.old")).unwrap();
        // Another destination's staging must be left alone.
        fs::create_dir(root.path().join(".hygge-staging.users.x.dead3")).unwrap();
        StagedDir::open(&dest, "r1", RunType::FullDrop)
            .unwrap()
            .abort()
            .unwrap();
        assert_eq!(names(&dest), ["new"]);
        assert_eq!(
            names(root.path()),
            [".hygge-lock.users", ".hygge-staging.users.x.dead3", "users"]
        );
    }
}
