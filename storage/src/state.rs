//! Keyed state: materialized tables, operator state, committed input offsets and the catalog,
//! in one embedded key-value store so that they change together in one atomic batch (an epoch
//! commit). The engine is fjall 3 (an LSM tree; `reference/state-store.md` has the measurements
//! behind the choice); the `StateStore` trait keeps redb possible as an alternative.
//!
//! Every read goes through a snapshot opened while no batch is being applied, or else the one
//! published after the last commit: fjall's plain reads see a batch that is still being
//! applied, and so can a fjall snapshot opened meanwhile, once a flush or compaction that
//! completes publishes a newer sequence number.
//!
//! A reader that must see one moment across several reads (a pull query joining tables)
//! takes a `StateSnapshot` and reads through it; each read of the store itself may see a
//! later commit than the one before.
//!
//! Never: return from `commit` before the batch is durable (`PersistMode::SyncAll`), or read
//! through anything but `FjallStateStore::fjall_snapshot`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fjall::{Database, KeyspaceCreateOptions, PersistMode, Readable};

use crate::error::StorageError;
use crate::limits::{STATE_L0_TABLES_BEFORE_COMPACTION, STATE_WORKER_THREADS};

/// Batches of at least this many keys are read in one pass over their range
/// (`FjallSnapshot::read_in_key_order`); fewer are looked up one by one.
const RANGE_READ_KEYS_MIN: usize = 16;
use crate::priority::lower_this_threads_priority;

/// The three separate key spaces of the state store (fjall keyspaces).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Keyspace {
    /// Streams, tables, queries and their definitions.
    Catalog,
    /// Committed input offsets and sink end offsets of persistent queries.
    Offsets,
    /// Materialized tables and operator state.
    State,
}

impl Keyspace {
    fn name(self) -> &'static str {
        match self {
            Keyspace::Catalog => "catalog",
            Keyspace::Offsets => "offsets",
            Keyspace::State => "state",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StateChange {
    Put {
        keyspace: Keyspace,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        keyspace: Keyspace,
        key: Vec<u8>,
    },
}

impl StateChange {
    fn target(&self) -> (Keyspace, &[u8]) {
        match self {
            StateChange::Put { keyspace, key, .. } | StateChange::Delete { keyspace, key } => {
                (*keyspace, key)
            }
        }
    }
}

/// A key and its value, as returned by scans.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// The pairs under a prefix, in key order, read lazily from a view of the store as of the
/// moment the iterator was made (later commits are not seen).
pub type PrefixIter = Box<dyn Iterator<Item = Result<KeyValue, StorageError>> + Send>;

/// Changes applied together, in order, by `StateStore::commit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateBatch {
    changes: Vec<StateChange>,
}

impl StateBatch {
    pub fn put(&mut self, keyspace: Keyspace, key: Vec<u8>, value: Vec<u8>) {
        self.changes.push(StateChange::Put {
            keyspace,
            key,
            value,
        });
    }

    pub fn delete(&mut self, keyspace: Keyspace, key: Vec<u8>) {
        self.changes.push(StateChange::Delete { keyspace, key });
    }

    /// Appends another batch's changes after this one's.
    pub fn extend(&mut self, other: StateBatch) {
        self.changes.extend(other.changes);
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// The changes to apply, in key order: of several changes to one key only the last, the
    /// one that decides what the key holds. A table's changelog retracts and re-inserts
    /// every updated key, and the retraction's delete would cost the store an insert of its
    /// own for nothing.
    pub(crate) fn into_applied(self) -> Vec<StateChange> {
        // Inserting in key order keeps the memtable's skiplist searches on the nodes the
        // previous insert just walked, which costs a fraction of scattered inserts. The sort
        // is stable, so of two changes to one key the later is the second.
        let mut changes = self.changes;
        changes.sort_by(|left, right| left.target().cmp(&right.target()));
        // In place: of two neighbours with one key, the later takes the earlier's slot.
        changes.dedup_by(|later, kept| {
            let same_key = later.target() == kept.target();
            if same_key {
                std::mem::swap(later, kept);
            }
            same_key
        });
        changes
    }
}

/// The store of keyed state. Reads see every committed batch; `commit` is atomic across
/// keyspaces and durable when it returns.
pub trait StateStore: Send + Sync + std::fmt::Debug {
    fn get(&self, keyspace: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// The values of `keys`, in their order, all read from one view of the store: a commit
    /// is seen by every key or by none.
    fn get_many(
        &self,
        keyspace: Keyspace,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError>;
    /// All pairs whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, keyspace: Keyspace, prefix: &[u8])
    -> Result<Vec<KeyValue>, StorageError>;
    /// The pairs whose key starts with `prefix`, one at a time: for scans too large to hold.
    fn iter_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> PrefixIter;
    /// The pairs whose key is at least `from` and below `to`, one at a time, in key order;
    /// none when `from` is not below `to`.
    fn iter_range(&self, keyspace: Keyspace, from: &[u8], to: &[u8]) -> PrefixIter;
    /// How many keys start with `prefix`, without holding them in memory.
    fn count_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> Result<u64, StorageError>;
    /// Applies the batch atomically across keyspaces and makes it durable (fjall
    /// `PersistMode::SyncAll`) before returning. Blocking: callers use `spawn_blocking`.
    fn commit(&self, batch: StateBatch) -> Result<(), StorageError>;
    /// The store as of now, whole commits only, for reads that must all see the same ones.
    fn snapshot(&self) -> Arc<dyn StateSnapshot>;
}

/// The state store as of one moment: every read through it sees the same commits, however
/// many land meanwhile. Holding one keeps the versions it sees from being compacted away,
/// so it lives as long as one query's reads, no longer.
pub trait StateSnapshot: Send + Sync + std::fmt::Debug {
    /// The values of `keys`, in their order.
    fn get_many(
        &self,
        keyspace: Keyspace,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError>;
    /// The pairs whose key starts with `prefix`, one at a time, in key order.
    fn iter_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> PrefixIter;
    /// The pairs whose key is at least `from` and below `to`, one at a time, in key order;
    /// none when `from` is not below `to`.
    fn iter_range(&self, keyspace: Keyspace, from: &[u8], to: &[u8]) -> PrefixIter;
}

/// `StateStore` on fjall.
pub(crate) struct FjallStateStore {
    path: PathBuf,
    database: Database,
    keyspaces: [fjall::Keyspace; 3],
    /// What readers read while a batch is being applied: a snapshot taken after the last
    /// commit. A fjall snapshot opened during a commit can see part of its batch, once a
    /// flush or compaction that completes meanwhile publishes a newer sequence number.
    published: std::sync::RwLock<fjall::Snapshot>,
    /// Written while a batch is applied and its snapshot published; read while a reader
    /// opens a snapshot of its own, which then sees every commit whole.
    committing: std::sync::RwLock<()>,
}

impl std::fmt::Debug for FjallStateStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FjallStateStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FjallStateStore {
    pub(crate) fn open(
        path: &Path,
        cache_bytes: u64,
        memtable_bytes: u64,
    ) -> Result<Self, StorageError> {
        // fjall starts its flush and compaction threads when the database opens, and a new
        // thread inherits its creator's scheduling class: opened from a thread of background
        // priority, they give way to the threads that answer clients.
        let builder = Database::builder(path)
            .cache_size(cache_bytes)
            .worker_threads(STATE_WORKER_THREADS);
        let database = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    lower_this_threads_priority();
                    builder.open()
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })?;
        let open_keyspace = |keyspace: Keyspace| {
            database.keyspace(keyspace.name(), || {
                let compaction = fjall::compaction::Leveled::default()
                    .with_l0_threshold(STATE_L0_TABLES_BEFORE_COMPACTION);
                KeyspaceCreateOptions::default()
                    .max_memtable_size(memtable_bytes)
                    .compaction_strategy(Arc::new(compaction))
            })
        };
        let keyspaces = [
            open_keyspace(Keyspace::Catalog)?,
            open_keyspace(Keyspace::Offsets)?,
            open_keyspace(Keyspace::State)?,
        ];
        Ok(FjallStateStore {
            path: path.to_path_buf(),
            published: std::sync::RwLock::new(database.snapshot()),
            committing: std::sync::RwLock::new(()),
            database,
            keyspaces,
        })
    }

    fn keyspace(&self, keyspace: Keyspace) -> &fjall::Keyspace {
        keyspace_in(&self.keyspaces, keyspace)
    }

    /// `fjall_snapshot` with the keyspaces it reads, to read through as a `StateSnapshot`.
    fn view(&self) -> FjallSnapshot {
        FjallSnapshot {
            snapshot: self.fjall_snapshot(),
            keyspaces: self.keyspaces.clone(),
        }
    }

    /// The store as of its last commit. While no batch is being applied, a snapshot of its
    /// own: it reads the newest files, where the published one would keep reading those of
    /// its commit until the next (an idle table's lookups after compaction, say).
    fn fjall_snapshot(&self) -> fjall::Snapshot {
        match self.committing.try_read() {
            Ok(_no_commit) => self.database.snapshot(),
            Err(_) => self
                .published
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        }
    }
}

impl StateStore for FjallStateStore {
    fn get(&self, keyspace: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .fjall_snapshot()
            .get(self.keyspace(keyspace), key)?
            .map(|value| value.to_vec()))
    }

    fn get_many(
        &self,
        keyspace: Keyspace,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        self.view().get_many(keyspace, keys)
    }

    fn scan_prefix(
        &self,
        keyspace: Keyspace,
        prefix: &[u8],
    ) -> Result<Vec<KeyValue>, StorageError> {
        self.view().iter_prefix(keyspace, prefix).collect()
    }

    fn iter_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> PrefixIter {
        self.view().iter_prefix(keyspace, prefix)
    }

    fn iter_range(&self, keyspace: Keyspace, from: &[u8], to: &[u8]) -> PrefixIter {
        self.view().iter_range(keyspace, from, to)
    }

    fn count_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> Result<u64, StorageError> {
        let mut keys = 0u64;
        for guard in self
            .fjall_snapshot()
            .prefix(self.keyspace(keyspace), prefix)
        {
            guard.key()?;
            keys += 1;
        }
        Ok(keys)
    }

    fn commit(&self, batch: StateBatch) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut write_batch = self.database.batch().durability(Some(PersistMode::SyncAll));
        for change in batch.into_applied() {
            match change {
                StateChange::Put {
                    keyspace,
                    key,
                    value,
                } => write_batch.insert(self.keyspace(keyspace), key, value),
                StateChange::Delete { keyspace, key } => {
                    write_batch.remove(self.keyspace(keyspace), key)
                }
            }
        }
        let _committing = self
            .committing
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        write_batch.commit()?;
        *self
            .published
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = self.database.snapshot();
        Ok(())
    }

    fn snapshot(&self) -> Arc<dyn StateSnapshot> {
        Arc::new(self.view())
    }
}

fn keyspace_in(keyspaces: &[fjall::Keyspace; 3], keyspace: Keyspace) -> &fjall::Keyspace {
    match keyspace {
        Keyspace::Catalog => &keyspaces[0],
        Keyspace::Offsets => &keyspaces[1],
        Keyspace::State => &keyspaces[2],
    }
}

/// `StateSnapshot` on fjall: a snapshot taken as `FjallStateStore::fjall_snapshot` takes
/// them, with the keyspaces it reads.
struct FjallSnapshot {
    snapshot: fjall::Snapshot,
    keyspaces: [fjall::Keyspace; 3],
}

impl std::fmt::Debug for FjallSnapshot {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FjallSnapshot")
            .finish_non_exhaustive()
    }
}

/// Pairs as fjall's iterators give them, owned.
fn owned_pairs(pairs: impl Iterator<Item = fjall::Guard> + Send + 'static) -> PrefixIter {
    Box::new(pairs.map(|guard| {
        let (key, value) = guard.into_inner()?;
        Ok((key.to_vec(), value.to_vec()))
    }))
}

impl FjallSnapshot {
    /// Reads `keys` as one pass over the range between the least and the greatest of them,
    /// into `values` (by the keys' positions): a batch of keys the store mostly lacks, or
    /// holds side by side (a table's new rows, with keys beyond every stored one; a
    /// window's states), costs one seek instead of a lookup per key, each probing every
    /// table's filter. Returns the positions of the keys left unread when the pass skips
    /// more stored keys than the batch has to read: those are read one by one.
    fn read_in_key_order(
        &self,
        keyspace: &fjall::Keyspace,
        keys: &[Vec<u8>],
        values: &mut [Option<Vec<u8>>],
    ) -> Result<Vec<usize>, StorageError> {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_unstable_by(|&left, &right| keys[left].cmp(&keys[right]));
        let (Some(&first), Some(&last)) = (order.first(), order.last()) else {
            return Ok(Vec::new());
        };
        let mut stored = self
            .snapshot
            .range(keyspace, keys[first].as_slice()..=keys[last].as_slice());
        let mut skip_budget = keys.len() / 2 + RANGE_READ_KEYS_MIN;
        let mut next = stored.next().map(|guard| guard.into_inner()).transpose()?;
        let mut position = 0;
        while position < order.len() {
            let Some((stored_key, value)) = &next else {
                // Nothing stored from here to the last key.
                return Ok(Vec::new());
            };
            let index = order[position];
            match stored_key.as_ref().cmp(keys[index].as_slice()) {
                std::cmp::Ordering::Less => {
                    if skip_budget == 0 {
                        return Ok(order[position..].to_vec());
                    }
                    skip_budget -= 1;
                    next = stored.next().map(|guard| guard.into_inner()).transpose()?;
                }
                // Kept for the next position: a key may be asked for twice.
                std::cmp::Ordering::Equal => {
                    values[index] = Some(value.to_vec());
                    position += 1;
                }
                std::cmp::Ordering::Greater => position += 1,
            }
        }
        Ok(Vec::new())
    }
}

impl StateSnapshot for FjallSnapshot {
    fn get_many(
        &self,
        keyspace: Keyspace,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        let keyspace = keyspace_in(&self.keyspaces, keyspace);
        let mut values: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
        let unread = match keys.len() >= RANGE_READ_KEYS_MIN {
            true => self.read_in_key_order(keyspace, keys, &mut values)?,
            false => (0..keys.len()).collect(),
        };
        for index in unread {
            values[index] = self
                .snapshot
                .get(keyspace, &keys[index])?
                .map(|value| value.to_vec());
        }
        Ok(values)
    }

    fn iter_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> PrefixIter {
        owned_pairs(
            self.snapshot
                .prefix(keyspace_in(&self.keyspaces, keyspace), prefix),
        )
    }

    fn iter_range(&self, keyspace: Keyspace, from: &[u8], to: &[u8]) -> PrefixIter {
        if from >= to {
            return Box::new(std::iter::empty());
        }
        owned_pairs(self.snapshot.range(
            keyspace_in(&self.keyspaces, keyspace),
            from.to_vec()..to.to_vec(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CACHE_BYTES: u64 = 8 << 20;
    const MEMTABLE_BYTES: u64 = 4 << 20;

    fn open(path: &Path) -> FjallStateStore {
        FjallStateStore::open(path, CACHE_BYTES, MEMTABLE_BYTES).expect("state store opens")
    }

    /// Reads of many keys go over their range in one pass, and fall back to lookups when
    /// the range holds many other keys: either way each key gets what a lookup gets, for
    /// keys asked for twice, out of order, or beyond every stored key.
    #[test]
    fn a_read_of_many_keys_equals_a_lookup_of_each() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = open(directory.path());
        let key = |number: u64| format!("k/{number:08}").into_bytes();
        let mut batch = StateBatch::default();
        for number in (0..20_000).step_by(2) {
            batch.put(
                Keyspace::State,
                key(number),
                number.to_string().into_bytes(),
            );
        }
        store.commit(batch).expect("commits");
        let mut random = 0x5eed_u64;
        let mut next = move |below: u64| {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            random % below
        };
        let dense: Vec<Vec<u8>> = (0..400).map(|_| key(1_000 + next(600))).collect();
        let sparse: Vec<Vec<u8>> = (0..40).map(|_| key(next(20_000))).collect();
        let beyond: Vec<Vec<u8>> = (30_000..30_100).map(key).collect();
        let mixed: Vec<Vec<u8>> = dense.iter().chain(&beyond).take(450).cloned().collect();
        for keys in [dense, sparse, beyond, mixed] {
            let looked_up: Vec<Option<Vec<u8>>> = keys
                .iter()
                .map(|key| store.get(Keyspace::State, key).expect("get"))
                .collect();
            assert_eq!(
                store.get_many(Keyspace::State, &keys).expect("get many"),
                looked_up
            );
        }
    }

    #[test]
    fn commit_get_scan_and_delete() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = open(directory.path());
        let mut batch = StateBatch::default();
        assert!(batch.is_empty());
        batch.put(Keyspace::State, b"t/2".to_vec(), b"two".to_vec());
        batch.put(Keyspace::State, b"t/1".to_vec(), b"one".to_vec());
        batch.put(Keyspace::State, b"u/1".to_vec(), b"other".to_vec());
        store.commit(batch).expect("commits");
        assert_eq!(
            store.get(Keyspace::State, b"t/1").expect("get"),
            Some(b"one".to_vec())
        );
        assert_eq!(store.get(Keyspace::Catalog, b"t/1").expect("get"), None);
        assert_eq!(
            store.count_prefix(Keyspace::State, b"t/").expect("count"),
            2
        );
        let iterated: Vec<KeyValue> = store
            .iter_prefix(Keyspace::State, b"t/")
            .collect::<Result<_, _>>()
            .expect("iterates");
        assert_eq!(iterated.len(), 2);
        let ranged: Vec<KeyValue> = store
            .iter_range(Keyspace::State, b"t/2", b"u/1")
            .collect::<Result<_, _>>()
            .expect("iterates");
        assert_eq!(ranged, vec![(b"t/2".to_vec(), b"two".to_vec())]);
        let scanned = store.scan_prefix(Keyspace::State, b"t/").expect("scan");
        assert_eq!(
            scanned,
            vec![
                (b"t/1".to_vec(), b"one".to_vec()),
                (b"t/2".to_vec(), b"two".to_vec())
            ]
        );
        let mut batch = StateBatch::default();
        batch.delete(Keyspace::State, b"t/1".to_vec());
        batch.put(Keyspace::State, b"t/2".to_vec(), b"TWO".to_vec());
        store.commit(batch).expect("commits");
        assert_eq!(store.get(Keyspace::State, b"t/1").expect("get"), None);
        assert_eq!(
            store.scan_prefix(Keyspace::State, b"t/").expect("scan"),
            vec![(b"t/2".to_vec(), b"TWO".to_vec())]
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_state_stores_own_threads_run_at_background_priority() {
        let directory = tempfile::tempdir().expect("temp dir");
        let _store = open(directory.path());
        let mut fjall_threads = 0;
        for task in std::fs::read_dir("/proc/self/task").expect("the process's threads") {
            let Ok(task) = task else { continue };
            // Threads of other tests come and go: one that ended is skipped.
            let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            let Some(thread_id) = task.file_name().to_str().and_then(|id| id.parse().ok()) else {
                continue;
            };
            if !name.starts_with("fjall") {
                continue;
            }
            // SAFETY: sched_getscheduler only reads a thread's scheduling class.
            let class = unsafe { libc::sched_getscheduler(thread_id) };
            if class >= 0 {
                assert_eq!(class, libc::SCHED_IDLE, "thread {}", name.trim());
                fjall_threads += 1;
            }
        }
        assert!(fjall_threads > 0, "fjall's threads were found");
    }

    #[test]
    fn the_last_change_to_a_key_in_a_batch_wins() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = open(directory.path());
        let mut batch = StateBatch::default();
        batch.put(Keyspace::State, b"k/2".to_vec(), b"first".to_vec());
        batch.put(Keyspace::State, b"k/1".to_vec(), b"kept".to_vec());
        batch.delete(Keyspace::State, b"k/2".to_vec());
        batch.put(Keyspace::State, b"k/3".to_vec(), b"gone".to_vec());
        batch.put(Keyspace::State, b"k/2".to_vec(), b"last".to_vec());
        batch.delete(Keyspace::State, b"k/3".to_vec());
        store.commit(batch).expect("commits");
        assert_eq!(
            store.scan_prefix(Keyspace::State, b"k/").expect("scan"),
            vec![
                (b"k/1".to_vec(), b"kept".to_vec()),
                (b"k/2".to_vec(), b"last".to_vec())
            ]
        );
    }

    #[test]
    fn a_batch_applies_one_change_per_key_in_key_order() {
        let mut batch = StateBatch::default();
        batch.delete(Keyspace::State, b"k/2".to_vec());
        batch.put(
            Keyspace::Offsets,
            b"k/2".to_vec(),
            b"other keyspace".to_vec(),
        );
        batch.put(Keyspace::State, b"k/1".to_vec(), b"first".to_vec());
        batch.put(
            Keyspace::State,
            b"k/2".to_vec(),
            b"replaces the delete".to_vec(),
        );
        batch.delete(Keyspace::State, b"k/1".to_vec());
        let put = |keyspace, key: &[u8], value: &[u8]| StateChange::Put {
            keyspace,
            key: key.to_vec(),
            value: value.to_vec(),
        };
        assert_eq!(
            batch.into_applied(),
            vec![
                put(Keyspace::Offsets, b"k/2", b"other keyspace"),
                StateChange::Delete {
                    keyspace: Keyspace::State,
                    key: b"k/1".to_vec()
                },
                put(Keyspace::State, b"k/2", b"replaces the delete"),
            ]
        );
    }

    #[test]
    fn readers_see_a_commit_whole_or_not_at_all() {
        const KEYS: u32 = 200;
        const COMMITS: u32 = 200;
        let directory = tempfile::tempdir().expect("temp dir");
        let store = open(directory.path());
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for commit in 0..COMMITS {
                    let mut batch = StateBatch::default();
                    // A marker in a keyspace that sorts first, then the keys it vouches for.
                    batch.put(
                        Keyspace::Offsets,
                        b"marker".to_vec(),
                        commit.to_be_bytes().to_vec(),
                    );
                    for key in 0..KEYS {
                        batch.put(
                            Keyspace::State,
                            format!("k/{key:04}").into_bytes(),
                            commit.to_be_bytes().to_vec(),
                        );
                    }
                    store.commit(batch).expect("commits");
                }
                done.store(true, std::sync::atomic::Ordering::Release);
            });
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                let marker = store.get(Keyspace::Offsets, b"marker").expect("get");
                let pairs = store.scan_prefix(Keyspace::State, b"k/").expect("scan");
                let Some(marker) = marker else { continue };
                // Everything the marker's commit wrote is visible once the marker is.
                assert_eq!(pairs.len(), KEYS as usize);
                assert!(
                    pairs
                        .iter()
                        .all(|(_, value)| value.as_slice() >= marker.as_slice())
                );
                let values: std::collections::BTreeSet<&Vec<u8>> =
                    pairs.iter().map(|(_, value)| value).collect();
                assert_eq!(values.len(), 1, "one scan saw parts of several commits");
            }
        });
    }

    #[test]
    fn batches_span_keyspaces_and_survive_reopen() {
        let directory = tempfile::tempdir().expect("temp dir");
        {
            let store = open(directory.path());
            let mut batch = StateBatch::default();
            batch.put(
                Keyspace::Catalog,
                b"stream/clicks".to_vec(),
                b"def".to_vec(),
            );
            batch.put(
                Keyspace::Offsets,
                b"query/1".to_vec(),
                42u64.to_be_bytes().to_vec(),
            );
            batch.put(Keyspace::State, b"count/a".to_vec(), b"7".to_vec());
            assert_eq!(batch.len(), 3);
            store.commit(batch).expect("commits");
        }
        let store = open(directory.path());
        assert_eq!(
            store.get(Keyspace::Catalog, b"stream/clicks").expect("get"),
            Some(b"def".to_vec())
        );
        assert_eq!(
            store.get(Keyspace::Offsets, b"query/1").expect("get"),
            Some(42u64.to_be_bytes().to_vec())
        );
        assert_eq!(
            store.get(Keyspace::State, b"count/a").expect("get"),
            Some(b"7".to_vec())
        );
        assert_eq!(
            store
                .scan_prefix(Keyspace::Offsets, b"")
                .expect("scan")
                .len(),
            1
        );
    }

    #[test]
    fn a_snapshot_reads_the_store_as_of_when_it_was_taken() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = open(directory.path());
        let mut batch = StateBatch::default();
        batch.put(Keyspace::State, b"t/1".to_vec(), b"old".to_vec());
        batch.put(Keyspace::State, b"t/2".to_vec(), b"old".to_vec());
        store.commit(batch).expect("commits");
        let snapshot = store.snapshot();
        let mut batch = StateBatch::default();
        batch.put(Keyspace::State, b"t/1".to_vec(), b"new".to_vec());
        batch.delete(Keyspace::State, b"t/2".to_vec());
        batch.put(Keyspace::State, b"t/3".to_vec(), b"new".to_vec());
        store.commit(batch).expect("commits");
        let keys = [b"t/1".to_vec(), b"t/2".to_vec(), b"t/3".to_vec()];
        let old = Some(b"old".to_vec());
        assert_eq!(
            snapshot.get_many(Keyspace::State, &keys).expect("reads"),
            vec![old.clone(), old, None]
        );
        let pairs = |iter: PrefixIter| iter.collect::<Result<Vec<_>, _>>().expect("reads");
        assert_eq!(
            pairs(snapshot.iter_prefix(Keyspace::State, b"t/")),
            vec![
                (b"t/1".to_vec(), b"old".to_vec()),
                (b"t/2".to_vec(), b"old".to_vec())
            ]
        );
        assert_eq!(
            pairs(snapshot.iter_range(Keyspace::State, b"t/2", b"t/4")),
            vec![(b"t/2".to_vec(), b"old".to_vec())]
        );
        let new = Some(b"new".to_vec());
        assert_eq!(
            store.get_many(Keyspace::State, &keys).expect("reads"),
            vec![new.clone(), None, new]
        );
    }

    #[test]
    fn a_read_of_many_keys_sees_each_commit_whole() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = std::sync::Arc::new(open(directory.path()));
        let keys: Vec<Vec<u8>> = (0..8).map(|key| format!("t/{key}").into_bytes()).collect();
        let writer = {
            let store = store.clone();
            let keys = keys.clone();
            std::thread::spawn(move || {
                for round in 0u32..500 {
                    let mut batch = StateBatch::default();
                    for key in &keys {
                        batch.put(Keyspace::State, key.clone(), round.to_be_bytes().to_vec());
                    }
                    store.commit(batch).expect("commits");
                }
            })
        };
        let mut reads = 0;
        while !writer.is_finished() {
            let values = store.get_many(Keyspace::State, &keys).expect("reads");
            assert!(
                values.iter().all(|value| *value == values[0]),
                "one read saw two commits: {values:?}"
            );
            reads += 1;
        }
        writer.join().expect("the writer finishes");
        assert!(reads > 0);
    }
}
