//! The store: one data directory holding every topic's log (`logs/`) and the keyed state
//! (`state/`, fjall), plus the committer thread that all topics append through. Opening
//! recovers everything: unfinished topic creations and drops are removed, each partition's
//! index is rebuilt and a torn log tail is cut off. The state store is opened first: fjall
//! locks its directory, so a second process cannot recover logs a running one is writing.
//!
//! Never: hand out a topic whose files are not complete on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use arrow::datatypes::SchemaRef;
use tracing::info;

use crate::error::StorageError;
use crate::limits::{
    SEGMENT_BYTES_MAX_DEFAULT, STATE_CACHE_BYTES_DEFAULT, STATE_MEMTABLE_BYTES_DEFAULT,
};
use crate::log::{CommitterHandle, Durability, LogSettings, Topic, TopicFiles, sync_directory};
use crate::state::{FjallStateStore, StateStore};

const LOGS_DIRECTORY_NAME: &str = "logs";
const STATE_DIRECTORY_NAME: &str = "state";

/// How the store writes. `Default`: fsync before acknowledging, 256 MiB segments, a 256 MiB
/// state cache.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub durability: Durability,
    /// A segment file rolls once the next frame would take it past this size (one frame
    /// always fits an empty segment, however large).
    pub segment_bytes_max: u64,
    /// Block cache of the state store.
    pub state_cache_bytes: u64,
    /// Size at which each of the state store's memtables is sealed and flushed to disk: a
    /// keyspace holds at most about twice this in memory (one memtable filling, one flushing).
    pub state_memtable_bytes: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            durability: Durability::Fsync,
            segment_bytes_max: SEGMENT_BYTES_MAX_DEFAULT,
            state_cache_bytes: STATE_CACHE_BYTES_DEFAULT,
            state_memtable_bytes: STATE_MEMTABLE_BYTES_DEFAULT,
        }
    }
}

pub struct Store {
    logs_directory: PathBuf,
    settings: LogSettings,
    topics: RwLock<BTreeMap<String, (Arc<Topic>, TopicFiles)>>,
    state: Arc<dyn StateStore>,
    committer: CommitterHandle,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Store")
            .field("logs_directory", &self.logs_directory)
            .field("settings", &self.settings)
            .field("topics", &self.topic_names())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens or creates `data_dir` (logs under `data_dir/logs`, fjall under `data_dir/state`)
    /// and recovers every topic (a torn tail frame after a crash is cut off, with a warning).
    pub fn open(data_dir: &Path, config: StoreConfig) -> Result<Arc<Store>, StorageError> {
        let logs_directory = data_dir.join(LOGS_DIRECTORY_NAME);
        let state_directory = data_dir.join(STATE_DIRECTORY_NAME);
        for directory in [&logs_directory, &state_directory] {
            std::fs::create_dir_all(directory)
                .map_err(StorageError::io("create directory", directory))?;
        }
        let state: Arc<dyn StateStore> = Arc::new(FjallStateStore::open(
            &state_directory,
            config.state_cache_bytes,
            config.state_memtable_bytes,
        )?);
        let settings = LogSettings {
            durability: config.durability,
            segment_bytes_max: config.segment_bytes_max,
        };
        let committer = CommitterHandle::spawn()?;
        let mut topics = BTreeMap::new();
        for files in crate::log::load_topics(&logs_directory)? {
            let topic = Topic::open(&files, settings, committer.clone())?;
            topics.insert(files.name().to_string(), (Arc::new(topic), files));
        }
        info!(
            data_dir = %data_dir.display(),
            topics = topics.len(),
            durability = ?config.durability,
            "store opened"
        );
        Ok(Arc::new(Store {
            logs_directory,
            settings,
            topics: RwLock::new(topics),
            state,
            committer,
        }))
    }

    pub fn state(&self) -> &Arc<dyn StateStore> {
        &self.state
    }

    /// Creates a topic with `partitions` partitions; every batch appended must have `schema`
    /// (checked on append). The schema is persisted with the topic. `Err` if it exists.
    pub fn create_topic(
        &self,
        name: &str,
        schema: SchemaRef,
        partitions: u32,
    ) -> Result<Arc<Topic>, StorageError> {
        let mut topics = self.topics.write().unwrap_or_else(PoisonError::into_inner);
        if topics.contains_key(name) {
            return Err(StorageError::TopicExists {
                name: name.to_string(),
            });
        }
        let files = TopicFiles::prepare(&self.logs_directory, name, schema, partitions)?;
        let topic = Arc::new(Topic::open(&files, self.settings, self.committer.clone())?);
        files.write_metadata()?;
        info!(topic = name, partitions, "topic created");
        topics.insert(name.to_string(), (topic.clone(), files));
        Ok(topic)
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        let topics = self.topics.read().unwrap_or_else(PoisonError::into_inner);
        topics.get(name).map(|(topic, _)| topic.clone())
    }

    /// Topic names in order.
    pub fn topic_names(&self) -> Vec<String> {
        let topics = self.topics.read().unwrap_or_else(PoisonError::into_inner);
        topics.keys().cloned().collect()
    }

    /// Removes the topic and its files. Readers holding an `Arc<Topic>` get errors from then
    /// on (`TopicDropped`), never a panic; readers waiting on its end offset are woken.
    pub fn drop_topic(&self, name: &str) -> Result<(), StorageError> {
        let mut topics = self.topics.write().unwrap_or_else(PoisonError::into_inner);
        let (topic, files) = topics
            .remove(name)
            .ok_or_else(|| StorageError::TopicNotFound {
                name: name.to_string(),
            })?;
        topic.mark_dropped();
        files.remove()?;
        sync_directory(&self.logs_directory)?;
        info!(topic = name, "topic dropped");
        Ok(())
    }
}
