//! A destination prefix on an object store, and the paths hygge keeps under it.

use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};

use super::errors::{object_error, typed_list_error};
use super::log::{Commit, CommitLog, HYGGE_DIR};
use crate::contract::ConnectorError;

const STAGING_DIR: &str = "staging";

/// Where a store publishes or a home reads: a store and a prefix in it.
#[derive(Debug, Clone)]
pub struct ObjectDestination {
    store: Arc<dyn ObjectStore>,
    root: Path,
    place: String,
    connection: Option<String>,
    chain: &'static str,
    on_local_disk: bool,
}

impl ObjectDestination {
    /// `root` in `store`; `place` names it in messages (the URL the user wrote, with
    /// `{entity}` filled in).
    pub fn new(store: Arc<dyn ObjectStore>, root: Path, place: impl Into<String>) -> Self {
        ObjectDestination {
            store,
            root,
            place: place.into(),
            connection: None,
            chain: "the cloud's credential chain",
            on_local_disk: false,
        }
    }

    /// Marks a destination whose store is object_store's local file system rooted at `/`
    /// (a local Delta table), so that emptied staging folders are removed too.
    #[must_use]
    pub fn on_local_disk(mut self) -> Self {
        self.on_local_disk = true;
        self
    }

    /// The local folder of `prefix`, on a destination [`Self::on_local_disk`].
    pub(super) fn local_folder(&self, prefix: &Path) -> Option<std::path::PathBuf> {
        self.on_local_disk
            .then(|| std::path::Path::new("/").join(prefix.as_ref()))
    }

    /// Says how the store signs in: the connection named `connection` under `connections:`,
    /// or else `chain` (the cloud's credential chain), for `hygge debug` and for messages
    /// about refused credentials.
    #[must_use]
    pub fn signed_in_with(mut self, connection: Option<&str>, chain: &'static str) -> Self {
        self.connection = connection.map(str::to_string);
        self.chain = chain;
        self
    }

    /// How the store signs in, as messages name it: ``connection `lake` `` or the chain.
    pub fn sign_in(&self) -> String {
        match &self.connection {
            Some(name) => format!("connection `{name}`"),
            None => self.chain.to_string(),
        }
    }

    /// The connection's name, or the credential chain, as `hygge debug` lists it.
    pub fn connection_label(&self) -> String {
        self.connection
            .clone()
            .unwrap_or_else(|| self.chain.to_string())
    }

    /// [`Self::check`] on a runtime of its own, as `hygge debug` calls connection checks
    /// (blocking, outside any flow).
    ///
    /// # Errors
    /// The listing's error, with its kind's hint.
    pub fn check_now(&self) -> Result<String, String> {
        crate::database::on_own_runtime(self.check())
    }

    /// Lists the destination once, for `hygge debug`: what was reached, or what failed.
    ///
    /// # Errors
    /// The listing's error, with its kind's hint.
    pub async fn check(&self) -> Result<String, String> {
        match self.list(&self.root).await {
            Ok(found) => Ok(format!(
                "listed {} with {}: {} object(s)",
                self.place,
                self.sign_in(),
                found.len()
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The prefix.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The destination as users know it.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// Its commit log.
    pub fn log(&self) -> CommitLog {
        CommitLog::new(self.store.clone(), &self.root, &self.place, &self.sign_in())
    }

    /// The path readers see for a data file at `relative` (`year=2026/part-1.parquet`).
    ///
    /// # Errors
    /// `relative` is not a valid object path (an empty, `.` or `..` segment).
    pub fn visible(&self, relative: &str) -> Result<Path, ConnectorError> {
        join(&self.root, relative)
    }

    /// Where `run_id` stages the data file it will publish at `relative`.
    ///
    /// # Errors
    /// `relative` is not a valid object path.
    pub fn staged(&self, run_id: &str, relative: &str) -> Result<Path, ConnectorError> {
        join(&self.staging_of(run_id), relative)
    }

    /// The staging prefix of `run_id`.
    pub fn staging_of(&self, run_id: &str) -> Path {
        self.staging_root().join(run_id)
    }

    pub(super) fn staging_root(&self) -> Path {
        self.root.clone().join(HYGGE_DIR).join(STAGING_DIR)
    }

    /// Every object under `prefix`.
    ///
    /// # Errors
    /// The store cannot be listed.
    pub async fn list(&self, prefix: &Path) -> Result<Vec<ObjectMeta>, ConnectorError> {
        match self.store.list(Some(prefix)).try_collect().await {
            Ok(listed) => Ok(listed),
            Err(e) => {
                let probe = prefix.clone().join("_hygge-probe");
                let e = typed_list_error(self.store.as_ref(), &probe, e).await;
                Err(object_error(e, "cannot list", &self.place, &self.sign_in()))
            }
        }
    }

    /// The newest commit's data files as paths a reader can open now: each file's visible
    /// path, or its staged path while the commit that added it is still being made visible
    /// (hygge's own homes read the committed set, never a partial one). `None` when hygge
    /// never published here.
    ///
    /// # Errors
    /// The log cannot be read.
    pub async fn committed_files(
        &self,
    ) -> Result<Option<(Commit, Vec<(Path, u64)>)>, ConnectorError> {
        let Some(commit) = self.log().latest().await? else {
            return Ok(None);
        };
        let staged: Vec<ObjectMeta> = self.list(&self.staging_of(&commit.run_id)).await?;
        let mut files = Vec::with_capacity(commit.files.len());
        for file in &commit.files {
            let visible = self.visible(&file.path)?;
            let path = if file.run_id == commit.run_id {
                let staged_path = self.staged(&commit.run_id, &file.path)?;
                if staged.iter().any(|m| m.location == staged_path) {
                    staged_path
                } else {
                    visible
                }
            } else {
                visible
            };
            files.push((path, file.bytes));
        }
        Ok(Some((commit, files)))
    }
}

/// `relative` (`/`-separated) under `root`.
pub(super) fn join(root: &Path, relative: &str) -> Result<Path, ConnectorError> {
    let joined = if root.as_ref().is_empty() {
        relative.to_string()
    } else {
        format!("{root}/{relative}")
    };
    Path::parse(&joined)
        .map_err(|e| ConnectorError::config(format!("`{relative}` cannot be an object path: {e}")))
}
