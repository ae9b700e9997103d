//! What one run shares among its flows: its concurrency, and whatever its connectors keep
//! for the run (connection pools), handed to every `build()` so that nothing a run needs
//! lives in a process global.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// The values one run shares; cheap to clone, one per run.
#[derive(Clone)]
pub struct RunScope {
    concurrency: usize,
    /// One map per (key type, value type), behind its `TypeId`.
    shared: Arc<Mutex<HashMap<TypeId, Box<dyn Any + Send>>>>,
}

impl RunScope {
    /// The scope of a run of `concurrency` flows at once (at least 1).
    pub fn new(concurrency: usize) -> Self {
        RunScope {
            concurrency: concurrency.max(1),
            shared: Arc::default(),
        }
    }

    /// How many flows the run runs at once, for sizing shared resources such as pools.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The value the run keeps for `key`, made by `make` the first time it is asked for:
    /// two homes or stores with equal connection settings share one pool for the run.
    pub fn shared<K, T>(&self, key: &K, make: impl FnOnce() -> T) -> T
    where
        K: Hash + Eq + Clone + Send + 'static,
        T: Clone + Send + 'static,
    {
        let mut all = self
            .shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = all
            .entry(TypeId::of::<HashMap<K, T>>())
            .or_insert_with(|| Box::new(HashMap::<K, T>::new()));
        match entry.downcast_mut::<HashMap<K, T>>() {
            Some(map) => map.entry(key.clone()).or_insert_with(make).clone(),
            // The map under this TypeId is always a HashMap<K, T>.
            None => make(),
        }
    }
}

impl Default for RunScope {
    /// A scope sized by the machine's default concurrency (tests, one-off reads).
    fn default() -> Self {
        RunScope::new(crate::coordinator::default_concurrency())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_made_once_per_key_and_scope() {
        let scope = RunScope::new(3);
        let made = std::sync::atomic::AtomicUsize::new(0);
        let make = || {
            made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Arc::new(7)
        };
        let a = scope.shared(&"db1".to_string(), make);
        let b = scope.shared(&"db1".to_string(), || Arc::new(8));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*scope.shared(&"db2".to_string(), || Arc::new(9)), 9);
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Another run has its own values.
        assert_eq!(
            *RunScope::new(3).shared(&"db1".to_string(), || Arc::new(10)),
            10
        );
        assert_eq!(scope.concurrency(), 3);
    }
}
