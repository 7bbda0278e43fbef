//! Transient keyed state: a `StateStore` in memory, for state that lives only as long as the
//! query that keeps it (a push query's GROUP BY). It has the fjall store's semantics (a
//! commit is seen whole, scans are in key order), not its durability, and tells how many
//! bytes it holds so that its owner can keep it within a memory budget.
//!
//! Never: be used for state that must survive a restart.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::error::StorageError;
use crate::state::{
    KeyValue, Keyspace, PrefixIter, StateBatch, StateChange, StateSnapshot, StateStore,
};

type Pairs = BTreeMap<(Keyspace, Vec<u8>), Vec<u8>>;

#[derive(Debug, Default)]
pub struct MemoryStateStore {
    contents: Mutex<Contents>,
}

#[derive(Debug, Default)]
struct Contents {
    pairs: Pairs,
    bytes: usize,
}

impl MemoryStateStore {
    /// Bytes of keys and values held.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Contents> {
        self.contents
            .lock()
            .expect("the memory state lock is never poisoned: nothing panics while holding it")
    }

    fn prefix_pairs(&self, keyspace: Keyspace, prefix: &[u8]) -> Vec<KeyValue> {
        prefix_pairs(&self.lock().pairs, keyspace, prefix)
    }
}

fn prefix_pairs(pairs: &Pairs, keyspace: Keyspace, prefix: &[u8]) -> Vec<KeyValue> {
    pairs
        .range((keyspace, prefix.to_vec())..)
        .take_while(|((space, key), _)| *space == keyspace && key.starts_with(prefix))
        .map(|((_, key), value)| (key.clone(), value.clone()))
        .collect()
}

fn range_pairs(pairs: &Pairs, keyspace: Keyspace, from: &[u8], to: &[u8]) -> PrefixIter {
    if from >= to {
        return Box::new(std::iter::empty());
    }
    let pairs: Vec<KeyValue> = pairs
        .range((keyspace, from.to_vec())..(keyspace, to.to_vec()))
        .map(|((_, key), value)| (key.clone(), value.clone()))
        .collect();
    Box::new(pairs.into_iter().map(Ok))
}

fn get_many(pairs: &Pairs, keyspace: Keyspace, keys: &[Vec<u8>]) -> Vec<Option<Vec<u8>>> {
    keys.iter()
        .map(|key| pairs.get(&(keyspace, key.clone())).cloned())
        .collect()
}

impl StateStore for MemoryStateStore {
    fn get(&self, keyspace: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.lock().pairs.get(&(keyspace, key.to_vec())).cloned())
    }

    fn get_many(
        &self,
        keyspace: Keyspace,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        Ok(get_many(&self.lock().pairs, keyspace, keys))
    }

    fn scan_prefix(
        &self,
        keyspace: Keyspace,
        prefix: &[u8],
    ) -> Result<Vec<KeyValue>, StorageError> {
        Ok(self.prefix_pairs(keyspace, prefix))
    }

    fn iter_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> PrefixIter {
        Box::new(self.prefix_pairs(keyspace, prefix).into_iter().map(Ok))
    }

    fn iter_range(&self, keyspace: Keyspace, from: &[u8], to: &[u8]) -> PrefixIter {
        range_pairs(&self.lock().pairs, keyspace, from, to)
    }

    fn count_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> Result<u64, StorageError> {
        Ok(self.prefix_pairs(keyspace, prefix).len() as u64)
    }

    fn commit(&self, batch: StateBatch) -> Result<(), StorageError> {
        let mut contents = self.lock();
        for change in batch.into_applied() {
            match change {
                StateChange::Put {
                    keyspace,
                    key,
                    value,
                } => {
                    let (key_len, value_len) = (key.len(), value.len());
                    match contents.pairs.insert((keyspace, key), value) {
                        Some(old) => contents.bytes = contents.bytes - old.len() + value_len,
                        None => contents.bytes += key_len + value_len,
                    }
                }
                StateChange::Delete { keyspace, key } => {
                    let key_len = key.len();
                    if let Some(old) = contents.pairs.remove(&(keyspace, key)) {
                        contents.bytes -= key_len + old.len();
                    }
                }
            }
        }
        Ok(())
    }

    /// A copy of the pairs held: this store holds one query's working state, which no
    /// other reader needs a moment of.
    fn snapshot(&self) -> Arc<dyn StateSnapshot> {
        Arc::new(MemorySnapshot {
            pairs: self.lock().pairs.clone(),
        })
    }
}

#[derive(Debug)]
struct MemorySnapshot {
    pairs: Pairs,
}

impl StateSnapshot for MemorySnapshot {
    fn get_many(
        &self,
        keyspace: Keyspace,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        Ok(get_many(&self.pairs, keyspace, keys))
    }

    fn iter_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> PrefixIter {
        Box::new(
            prefix_pairs(&self.pairs, keyspace, prefix)
                .into_iter()
                .map(Ok),
        )
    }

    fn iter_range(&self, keyspace: Keyspace, from: &[u8], to: &[u8]) -> PrefixIter {
        range_pairs(&self.pairs, keyspace, from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_is_read_back_in_key_order_and_counted_in_bytes() {
        let store = MemoryStateStore::default();
        let mut batch = StateBatch::default();
        batch.put(Keyspace::State, b"q/1/b".to_vec(), b"22".to_vec());
        batch.put(Keyspace::State, b"q/1/a".to_vec(), b"1".to_vec());
        batch.put(Keyspace::State, b"q/2/a".to_vec(), b"3".to_vec());
        batch.put(Keyspace::Offsets, b"q/1/c".to_vec(), b"4".to_vec());
        store.commit(batch).expect("commits");
        let keys: Vec<Vec<u8>> = store
            .scan_prefix(Keyspace::State, b"q/1/")
            .expect("scans")
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        assert_eq!(keys, vec![b"q/1/a".to_vec(), b"q/1/b".to_vec()]);
        assert_eq!(store.bytes(), 5 + 2 + 5 + 1 + 5 + 1 + 5 + 1);
        let mut batch = StateBatch::default();
        batch.put(Keyspace::State, b"q/1/b".to_vec(), b"2".to_vec());
        batch.delete(Keyspace::State, b"q/2/a".to_vec());
        store.commit(batch).expect("commits");
        assert_eq!(
            store.get(Keyspace::State, b"q/1/b").expect("reads"),
            Some(b"2".to_vec())
        );
        assert_eq!(store.get(Keyspace::State, b"q/2/a").expect("reads"), None);
        assert_eq!(
            store.count_prefix(Keyspace::State, b"q/").expect("counts"),
            2
        );
        assert_eq!(store.bytes(), 5 + 1 + 5 + 1 + 5 + 1);
    }
}
