//! The shared database: the committed catalog, per-object write locks, and
//! transactions whose changes stay private until COMMIT.
//!
//! Readers always see the last committed catalog (never a half-applied
//! transaction). A transaction locks every object it writes until it ends, so
//! two writers of the same table wait for each other (error 1222 after the
//! lock timeout), and at COMMIT its working copies replace the committed ones.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use super::catalog::{Catalog, Table};
use crate::error::SqlError;

/// The shared state of all sessions.
#[derive(Debug)]
pub(crate) struct Database {
    committed: Mutex<Arc<Catalog>>,
    locks: Mutex<HashMap<String, u64>>,
    released: Notify,
    lock_timeout: Duration,
    next_txn: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Database {
    /// An empty database (schemas dbo, guest, INFORMATION_SCHEMA, sys).
    pub(crate) fn new(lock_timeout: Duration) -> Database {
        Database {
            committed: Mutex::new(Arc::new(Catalog::default())),
            locks: Mutex::new(HashMap::new()),
            released: Notify::new(),
            lock_timeout,
            next_txn: AtomicU64::new(1),
        }
    }

    /// The committed catalog now.
    pub(crate) fn snapshot(&self) -> Arc<Catalog> {
        lock(&self.committed).clone()
    }

    /// Starts a transaction (BEGIN TRAN's, or one statement's own).
    pub(crate) fn begin(&self) -> Txn {
        Txn {
            id: self.next_txn.fetch_add(1, Ordering::Relaxed),
            tables: BTreeMap::new(),
            schemas: BTreeMap::new(),
            held: Vec::new(),
        }
    }

    /// Takes the write locks `keys` for `txn`, waiting for other transactions
    /// to release them; error 1222 after the lock timeout.
    pub(crate) async fn acquire(&self, txn: &mut Txn, keys: &[String]) -> Result<(), SqlError> {
        let deadline = tokio::time::Instant::now() + self.lock_timeout;
        for key in keys {
            if !self.acquire_until(txn, key, Some(deadline)).await {
                return Err(SqlError::lock_timeout());
            }
        }
        Ok(())
    }

    /// Takes the lock `key` for `owner`, waiting at most `timeout` (`None`: for ever) for
    /// whoever holds it; whether it was granted. sp_getapplock's session locks use it.
    pub(crate) async fn try_acquire(
        &self,
        owner: &mut Txn,
        key: &str,
        timeout: Option<Duration>,
    ) -> bool {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        self.acquire_until(owner, key, deadline).await
    }

    async fn acquire_until(
        &self,
        txn: &mut Txn,
        key: &str,
        deadline: Option<tokio::time::Instant>,
    ) -> bool {
        if txn.held.iter().any(|k| k == key) {
            return true;
        }
        loop {
            let notified = self.released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut locks = lock(&self.locks);
                match locks.get(key) {
                    Some(owner) if *owner != txn.id => {}
                    _ => {
                        locks.insert(key.to_string(), txn.id);
                        txn.held.push(key.to_string());
                        return true;
                    }
                }
            }
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        return false;
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Releases one lock `owner` holds (sp_releaseapplock); whether it held it.
    pub(crate) fn release_one(&self, owner: &mut Txn, key: &str) -> bool {
        let Some(position) = owner.held.iter().position(|k| k == key) else {
            return false;
        };
        owner.held.remove(position);
        {
            let mut locks = lock(&self.locks);
            if locks.get(key) == Some(&owner.id) {
                locks.remove(key);
            }
        }
        self.released.notify_waiters();
        true
    }

    /// Publishes the transaction's changes and releases its locks.
    pub(crate) fn commit(&self, txn: Txn) {
        if !txn.tables.is_empty() || !txn.schemas.is_empty() {
            let mut committed = lock(&self.committed);
            let mut next = Catalog::clone(&committed);
            for (key, table) in &txn.tables {
                match table {
                    Some(t) => {
                        next.tables.insert(key.clone(), t.clone());
                    }
                    None => {
                        next.tables.remove(key);
                    }
                }
            }
            for (key, schema) in &txn.schemas {
                match schema {
                    Some(name) => {
                        next.schemas.insert(key.clone(), name.clone());
                    }
                    None => {
                        next.schemas.remove(key);
                    }
                }
            }
            *committed = Arc::new(next);
        }
        self.release(txn);
    }

    /// Discards the transaction's changes and releases its locks.
    pub(crate) fn rollback(&self, txn: Txn) {
        self.release(txn);
    }

    fn release(&self, mut txn: Txn) {
        if txn.held.is_empty() {
            return;
        }
        {
            let mut locks = lock(&self.locks);
            for key in txn.held.drain(..) {
                if locks.get(&key) == Some(&txn.id) {
                    locks.remove(&key);
                }
            }
        }
        self.released.notify_waiters();
    }
}

/// A transaction: private working copies of the objects it changed, and the
/// locks it holds.
#[derive(Debug)]
pub(crate) struct Txn {
    id: u64,
    tables: BTreeMap<String, Option<Arc<Table>>>,
    schemas: BTreeMap<String, Option<String>>,
    held: Vec<String>,
}

impl Txn {
    /// The locks it holds.
    pub(crate) fn held(&self) -> &[String] {
        &self.held
    }

    /// The transaction descriptor sent in ENVCHANGE.
    pub(crate) fn descriptor(&self) -> [u8; 8] {
        self.id.to_le_bytes()
    }
}

/// What a statement reads and writes: the transaction's working copies over
/// the committed catalog.
#[derive(Debug)]
pub(crate) struct Workspace<'t> {
    base: Arc<Catalog>,
    txn: &'t mut Txn,
}

impl<'t> Workspace<'t> {
    /// A workspace over the current committed catalog. Take it after the
    /// statement's locks are held, so locked objects are current.
    pub(crate) fn new(db: &Database, txn: &'t mut Txn) -> Workspace<'t> {
        Workspace {
            base: db.snapshot(),
            txn,
        }
    }

    /// A table by key.
    pub(crate) fn table(&self, key: &str) -> Option<Arc<Table>> {
        match self.txn.tables.get(key) {
            Some(t) => t.clone(),
            None => self.base.tables.get(key).cloned(),
        }
    }

    /// A table to modify (the caller holds its lock).
    pub(crate) fn table_mut(&mut self, key: &str) -> Option<&mut Table> {
        if !self.txn.tables.contains_key(key) {
            let t = self.base.tables.get(key).cloned()?;
            self.txn.tables.insert(key.to_string(), Some(t));
        }
        self.txn
            .tables
            .get_mut(key)
            .and_then(Option::as_mut)
            .map(Arc::make_mut)
    }

    /// Creates or replaces a table.
    pub(crate) fn put_table(&mut self, key: &str, table: Table) {
        self.txn
            .tables
            .insert(key.to_string(), Some(Arc::new(table)));
    }

    /// Drops a table.
    pub(crate) fn remove_table(&mut self, key: &str) {
        self.txn.tables.insert(key.to_string(), None);
    }

    /// A schema's name as created, by lower-case key.
    pub(crate) fn schema(&self, key: &str) -> Option<String> {
        match self.txn.schemas.get(key) {
            Some(s) => s.clone(),
            None => self.base.schemas.get(key).cloned(),
        }
    }

    /// Creates a schema.
    pub(crate) fn put_schema(&mut self, name: &str) {
        self.txn
            .schemas
            .insert(name.to_lowercase(), Some(name.to_string()));
    }

    /// All schema names.
    pub(crate) fn schema_names(&self) -> Vec<String> {
        let mut all: BTreeMap<String, String> = self.base.schemas.clone();
        for (k, v) in &self.txn.schemas {
            match v {
                Some(v) => {
                    all.insert(k.clone(), v.clone());
                }
                None => {
                    all.remove(k);
                }
            }
        }
        all.into_values().collect()
    }

    /// All tables, ordered by key.
    pub(crate) fn tables(&self) -> Vec<Arc<Table>> {
        let mut all: BTreeMap<String, Arc<Table>> = self.base.tables.clone();
        for (k, v) in &self.txn.tables {
            match v {
                Some(v) => {
                    all.insert(k.clone(), v.clone());
                }
                None => {
                    all.remove(k);
                }
            }
        }
        all.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::catalog::{RowStore, table_key};

    fn table(name: &str) -> Table {
        Table {
            schema: "dbo".into(),
            name: name.into(),
            columns: Vec::new(),
            rows: RowStore::default(),
            indexes: Vec::new(),
        }
    }

    #[tokio::test]
    async fn changes_are_private_until_commit() {
        let db = Database::new(Duration::from_millis(200));
        let mut txn = db.begin();
        let key = table_key("dbo", "t");
        db.acquire(&mut txn, std::slice::from_ref(&key))
            .await
            .unwrap();
        Workspace::new(&db, &mut txn).put_table(&key, table("t"));
        assert!(!db.snapshot().tables.contains_key(&key));

        let mut other = db.begin();
        let err = db
            .acquire(&mut other, std::slice::from_ref(&key))
            .await
            .unwrap_err();
        assert_eq!(err.number, 1222);

        db.commit(txn);
        assert!(db.snapshot().tables.contains_key(&key));
        db.acquire(&mut other, std::slice::from_ref(&key))
            .await
            .unwrap();
        db.rollback(other);
    }

    #[tokio::test]
    async fn rollback_discards() {
        let db = Database::new(Duration::from_millis(200));
        let mut txn = db.begin();
        let key = table_key("dbo", "t");
        db.acquire(&mut txn, std::slice::from_ref(&key))
            .await
            .unwrap();
        Workspace::new(&db, &mut txn).put_table(&key, table("t"));
        db.rollback(txn);
        assert!(!db.snapshot().tables.contains_key(&key));
    }
}
