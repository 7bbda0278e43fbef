//! Operator state, shared by every stateful operator: states by key under the operator's
//! prefix, read through a byte cache that all queries of an engine share within one budget
//! (3/8 of `--memory`), and written into the epoch's commit.
//!
//! A query commits an epoch while it computes the next one, so the next epoch must not read
//! the state store for what the last one changed: the cache always holds every state the last
//! epoch wrote or deleted (a deleted state as a tombstone), and trimming the cache to its
//! budget keeps them. Every older change is committed by the time the next epoch starts.
//! Until its first trim, the cache of an operator that started without stored states holds
//! all of them: a key it lacks has no state, and costs no read.
//!
//! Never: serve a read of a key the last epoch changed from the state store.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::common::HashMap;
use eddy_storage::{Keyspace, StateBatch, StateStore};

use crate::error::EngineResult;

/// The memory all operator caches of an engine share.
#[derive(Debug)]
pub struct CacheBudget {
    limit: usize,
    used: AtomicUsize,
    /// The operator caches that draw on the budget.
    caches: AtomicUsize,
}

impl CacheBudget {
    pub fn new(limit: usize) -> Self {
        CacheBudget {
            limit,
            used: AtomicUsize::new(0),
            caches: AtomicUsize::new(0),
        }
    }

    /// Bytes taken from the budget; returns what is used now.
    fn take(&self, bytes: usize) -> usize {
        self.used.fetch_add(bytes, Ordering::Relaxed) + bytes
    }

    /// Bytes given back to the budget; returns what is used now.
    fn give_back(&self, bytes: usize) -> usize {
        self.used.fetch_sub(bytes, Ordering::Relaxed) - bytes
    }

    /// Reserves `bytes` if the budget has them.
    pub fn try_reserve(&self, bytes: usize) -> bool {
        if self.take(bytes) > self.limit {
            self.give_back(bytes);
            return false;
        }
        true
    }

    /// Returns bytes reserved by `try_reserve`.
    pub fn release(&self, bytes: usize) {
        self.give_back(bytes);
    }
}

/// One operator's states.
pub struct OperatorCache {
    keyspace: Keyspace,
    /// Where the operator's states live; a state's key follows.
    prefix: Vec<u8>,
    /// States by key (without the prefix), as stored, with the epoch that wrote them. Hashed
    /// with DataFusion's seeded hasher, several times cheaper than std's for short keys.
    cache: HashMap<Vec<u8>, CachedState>,
    cache_bytes: usize,
    /// Whether the cache holds every state the store holds, so that a key it lacks has
    /// none: true from a start without stored states until the cache is first trimmed.
    /// None until the first read has looked.
    complete: Option<bool>,
    budget: Arc<CacheBudget>,
    /// Epochs that wrote, numbering the cache's entries.
    epochs: u64,
    /// The cache's size when the epoch being written began.
    cache_bytes_before_epoch: usize,
}

/// A state as the cache holds it.
struct CachedState {
    /// The `OperatorCache::epochs` count of the epoch that wrote it.
    epoch: u64,
    /// The stored state; None for a state the epoch deleted.
    state: Option<Vec<u8>>,
}

/// What a cached entry costs beyond the bytes of its key and state: its slot in the hash
/// table (at most 7/8 full, and about half full just after the table grows) and the
/// allocator's rounding of its two buffers. Small states (a window's count and maximum: some
/// 50 bytes of key and state) cost more in slots than in bytes, so a budget of their bytes
/// alone would let the cache grow to several times `--memory`.
const ENTRY_OVERHEAD_BYTES: usize = 2 * std::mem::size_of::<(Vec<u8>, CachedState)>() + 2 * 16;

impl CachedState {
    /// What the entry costs the budget, with its key of `key_len` bytes.
    fn bytes(&self, key_len: usize) -> usize {
        ENTRY_OVERHEAD_BYTES + key_len + self.state.as_ref().map_or(0, Vec::len)
    }
}

impl OperatorCache {
    pub fn new(keyspace: Keyspace, prefix: Vec<u8>, budget: Arc<CacheBudget>) -> Self {
        budget.caches.fetch_add(1, Ordering::Relaxed);
        OperatorCache {
            keyspace,
            prefix,
            cache: HashMap::new(),
            cache_bytes: 0,
            complete: None,
            budget,
            epochs: 0,
            cache_bytes_before_epoch: 0,
        }
    }

    /// Calls `found` with the index and stored bytes of each of `keys` that has a state:
    /// cached ones as they are, the others read together from one view of the store.
    pub fn read(
        &mut self,
        state: &dyn StateStore,
        keys: &[Vec<u8>],
        mut found: impl FnMut(usize, &[u8]) -> EngineResult<()>,
    ) -> EngineResult<()> {
        let complete = match self.complete {
            Some(complete) => complete,
            None => {
                let stored_any = state
                    .iter_prefix(self.keyspace, &self.prefix)
                    .next()
                    .transpose()?
                    .is_some();
                *self.complete.insert(!stored_any)
            }
        };
        let mut uncached = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            match self.cache.get(key) {
                Some(cached) => {
                    if let Some(bytes) = &cached.state {
                        found(index, bytes)?;
                    }
                }
                None if complete => {}
                None => uncached.push(index),
            }
        }
        if uncached.is_empty() {
            return Ok(());
        }
        let stored_keys: Vec<Vec<u8>> = uncached
            .iter()
            .map(|&index| self.stored_key(&keys[index]))
            .collect();
        let stored = state.get_many(self.keyspace, &stored_keys)?;
        for (index, bytes) in uncached.into_iter().zip(stored) {
            if let Some(bytes) = bytes {
                found(index, &bytes)?;
            }
        }
        Ok(())
    }

    /// The keys in `[from, to)` that have a state, as the store held them at the last commit
    /// less those the cache holds deleted. The caller adds the keys the last epoch created
    /// (its commit may still be in flight), which only it knows without a scan of the cache.
    pub fn committed_keys_between(
        &self,
        state: &dyn StateStore,
        from: &[u8],
        to: &[u8],
    ) -> EngineResult<Vec<Vec<u8>>> {
        self.committed_keys(state, from, &self.stored_key(to))
            .collect()
    }

    /// The first key at or after `from` that the store held at the last commit and the
    /// cache does not hold deleted; read lazily, so it costs what it skips.
    pub fn first_committed_key(
        &self,
        state: &dyn StateStore,
        from: &[u8],
    ) -> EngineResult<Option<Vec<u8>>> {
        let end = [self.prefix.as_slice(), &[u8::MAX; 9]].concat();
        self.committed_keys(state, from, &end).next().transpose()
    }

    /// The keys at or after `from` and below the stored key `stored_to` that the store held
    /// at the last commit, less those the cache holds deleted, read one at a time.
    fn committed_keys<'a>(
        &'a self,
        state: &dyn StateStore,
        from: &[u8],
        stored_to: &[u8],
    ) -> impl Iterator<Item = EngineResult<Vec<u8>>> + 'a {
        state
            .iter_range(self.keyspace, &self.stored_key(from), stored_to)
            .filter_map(move |pair| {
                let key = match pair {
                    Ok((stored_key, _)) => stored_key[self.prefix.len()..].to_vec(),
                    Err(error) => return Some(Err(error.into())),
                };
                let deleted = self
                    .cache
                    .get(&key)
                    .is_some_and(|cached| cached.state.is_none());
                (!deleted).then_some(Ok(key))
            })
    }

    /// Starts the writes of an epoch.
    pub fn begin_writes(&mut self) {
        self.epochs += 1;
        self.cache_bytes_before_epoch = self.cache_bytes;
    }

    /// The epoch's new state for `key` (None: the state is deleted), into its commit and
    /// the cache.
    pub fn write(&mut self, key: Vec<u8>, state: Option<Vec<u8>>, changes: &mut StateBatch) {
        let stored_key = self.stored_key(&key);
        match &state {
            Some(bytes) => changes.put(self.keyspace, stored_key, bytes.clone()),
            None => changes.delete(self.keyspace, stored_key),
        }
        let cached = CachedState {
            epoch: self.epochs,
            state,
        };
        let key_len = key.len();
        self.cache_bytes += cached.bytes(key_len);
        if let Some(old) = self.cache.insert(key, cached) {
            self.cache_bytes -= old.bytes(key_len);
        }
    }

    /// Ends the epoch's writes: over budget, a cache holding at least its share of what all
    /// caches hold keeps only this epoch's states (its commit may not be done when the next
    /// epoch reads; every older one is). One below its share keeps its states: the larger
    /// ones bring the budget back, and a small cache beside a large one (the small side of a
    /// join) stays complete, so a key it lacks costs no read of the store.
    pub fn end_writes(&mut self) {
        let before = self.cache_bytes_before_epoch;
        let used = if self.cache_bytes >= before {
            self.budget.take(self.cache_bytes - before)
        } else {
            self.budget.give_back(before - self.cache_bytes)
        };
        let caches = self.budget.caches.load(Ordering::Relaxed).max(1);
        if used <= self.budget.limit || self.cache_bytes < used / caches {
            return;
        }
        let epoch = self.epochs;
        self.cache.retain(|_, cached| cached.epoch == epoch);
        // `retain` keeps the table's slots: give back all but room for the next epoch's
        // states, which are about as many as this one's.
        self.cache.shrink_to(2 * self.cache.len());
        self.complete = Some(false);
        let kept: usize = self
            .cache
            .iter()
            .map(|(key, cached)| cached.bytes(key.len()))
            .sum();
        self.budget.give_back(self.cache_bytes - kept);
        self.cache_bytes = kept;
    }

    fn stored_key(&self, key: &[u8]) -> Vec<u8> {
        [self.prefix.as_slice(), key].concat()
    }
}

impl Drop for OperatorCache {
    fn drop(&mut self) {
        self.budget.give_back(self.cache_bytes);
        self.budget.caches.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small states cost the cache more in table slots and allocations than in bytes: a
    /// budget their bytes alone would fit must still trim the cache, and trimming must give
    /// the slots back.
    #[test]
    fn many_small_states_are_trimmed_to_the_budget_with_their_slots() {
        let budget = Arc::new(CacheBudget::new(64 << 10));
        let mut cache = OperatorCache::new(Keyspace::State, b"q/test/g/".to_vec(), budget.clone());
        let mut changes = StateBatch::default();
        cache.begin_writes();
        for key in 0..1000u64 {
            cache.write(key.to_be_bytes().to_vec(), Some(vec![1; 8]), &mut changes);
        }
        cache.end_writes();
        // 1000 × 16 bytes of keys and states fit 64 KiB; their entries do not.
        cache.begin_writes();
        cache.write(b"newest".to_vec(), Some(vec![1; 8]), &mut changes);
        cache.end_writes();
        assert_eq!(cache.cache.len(), 1, "only the last epoch's state is kept");
        assert!(
            cache.cache.capacity() < 16,
            "the trimmed table keeps {} slots",
            cache.cache.capacity()
        );
        drop(cache);
        assert!(
            budget.try_reserve(64 << 10),
            "the cache gave its bytes back"
        );
    }

    /// Over budget, the cache of a join's large side gives its states back, and the small
    /// side's cache keeps all of its own: it stays complete.
    #[test]
    fn a_cache_below_its_share_keeps_its_states_over_budget() {
        let budget = Arc::new(CacheBudget::new(64 << 10));
        let mut large = OperatorCache::new(Keyspace::State, b"q/test/l/".to_vec(), budget.clone());
        let mut small = OperatorCache::new(Keyspace::State, b"q/test/r/".to_vec(), budget.clone());
        let mut changes = StateBatch::default();
        for epoch in 0..3u64 {
            large.begin_writes();
            for key in 0..1000u64 {
                let key = (epoch * 1000 + key).to_be_bytes().to_vec();
                large.write(key, Some(vec![1; 8]), &mut changes);
            }
            large.end_writes();
            small.begin_writes();
            small.write(epoch.to_be_bytes().to_vec(), Some(vec![1; 8]), &mut changes);
            small.end_writes();
        }
        assert_eq!(
            large.cache.len(),
            1000,
            "the large cache keeps its last epoch's"
        );
        assert_eq!(small.cache.len(), 3, "the small cache keeps every state");
        assert_ne!(small.complete, Some(false));
        assert_eq!(large.complete, Some(false));
    }
}
