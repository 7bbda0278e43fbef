//! The engine: the store, the catalog, the planner and the running persistent queries.
//!
//! `Engine::open` recovers everything: the store replays its logs, the catalog is read back,
//! topics no source refers to (left by a crash between creating a topic and committing the
//! catalog) are removed, and every running persistent query restarts where it committed.
//! Catalog changes are serialized by one lock and persisted before they are acknowledged.
//!
//! Never: change the in-memory catalog without persisting the same change first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use eddy_planner::{Catalog, CatalogEntry, QueryStatus, SharedCatalog, SourceDef, SqlPlanner};
use eddy_storage::{Durability, Keyspace, StateBatch, Store, StoreConfig, Topic};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::background::run_in_background;
use crate::error::{EngineError, EngineResult};
use crate::limits::BACKGROUND_COMMIT_CHANGES_MIN;
use crate::persistent::{self, QueryProgress};
use crate::provider::StoreProviders;
use crate::session::Session;

/// Eddy's own stream of rows that persistent queries could not process, with the reason
/// (ksqlDB's processing log): queryable like any stream, never dropped.
pub const PROCESSING_LOG: &str = "eddy_processing_log";

const PROCESSING_LOG_DDL: &str =
    "CREATE STREAM eddy_processing_log (query_id STRING, message STRING, record STRING)";

/// How to open an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    /// `Fsync` (default): an insert is acknowledged once it is on disk. `Os`: once the OS
    /// has it, trading the last moments of writes on power loss for latency.
    pub durability: Durability,
    /// Memory for state, in bytes (`--memory`): 3/8 is the state store's block cache, 3/8 is
    /// shared by the persistent queries' caches of operator state, and each of the state
    /// store's three memtables is sealed and flushed at 1/16. State that
    /// does not fit stays on disk and is read back on demand.
    pub memory_budget_bytes: u64,
}

/// The default `memory_budget_bytes`: 256 MiB.
pub const MEMORY_BUDGET_DEFAULT: u64 = 256 << 20;

impl EngineConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            durability: Durability::Fsync,
            memory_budget_bytes: MEMORY_BUDGET_DEFAULT,
        }
    }
}

/// A persistent query's task and what it reports.
pub(crate) struct RunningQuery {
    pub cancel: CancellationToken,
    pub task: JoinHandle<()>,
    pub progress: Arc<QueryProgress>,
}

/// One Eddy database.
pub struct Engine {
    pub(crate) store: Arc<Store>,
    pub(crate) catalog: SharedCatalog,
    pub(crate) planner: SqlPlanner,
    /// Serializes statements that change the catalog, so check-then-change is atomic.
    pub(crate) ddl_lock: tokio::sync::Mutex<()>,
    pub(crate) queries: Mutex<BTreeMap<String, RunningQuery>>,
    /// Progress of queries that stopped (terminated or failed) since the engine opened.
    pub(crate) stopped_queries: Mutex<BTreeMap<String, Arc<QueryProgress>>>,
    pub(crate) shutdown: CancellationToken,
    /// Spreads keyless inserts over partitions, round robin.
    pub(crate) insert_sequence: AtomicU64,
    /// Moves on with every published catalog change: a plan made at an older version may
    /// name sources that are gone or changed.
    pub(crate) catalog_version: AtomicU64,
    /// Operator state all persistent queries together may cache in memory.
    pub(crate) operator_cache: Arc<crate::group_by::CacheBudget>,
    /// One write lock per source table (by topic): a table's changelog has one writer.
    pub(crate) table_writers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Engine {
    /// Opens or creates the database in `config.data_dir` and restarts its queries.
    pub async fn open(config: EngineConfig) -> EngineResult<Arc<Engine>> {
        let store_config = StoreConfig {
            durability: config.durability,
            state_cache_bytes: config.memory_budget_bytes / 8 * 3,
            state_memtable_bytes: config.memory_budget_bytes / 16,
            ..StoreConfig::default()
        };
        let data_dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&data_dir, store_config))
            .await
            .map_err(|error| EngineError::Internal(format!("store open task failed: {error}")))??;
        let entries = store.state().scan_prefix(Keyspace::Catalog, b"")?;
        let catalog = Catalog::load(&entries)?;
        remove_orphan_topics(&store, &catalog)?;
        let catalog: SharedCatalog = Arc::new(RwLock::new(catalog));
        let planner = SqlPlanner::new(
            catalog.clone(),
            Arc::new(StoreProviders {
                store: store.clone(),
            }),
        );
        let engine = Arc::new(Engine {
            store,
            catalog,
            planner,
            ddl_lock: tokio::sync::Mutex::new(()),
            queries: Mutex::new(BTreeMap::new()),
            stopped_queries: Mutex::new(BTreeMap::new()),
            shutdown: CancellationToken::new(),
            insert_sequence: AtomicU64::new(0),
            catalog_version: AtomicU64::new(0),
            operator_cache: Arc::new(crate::group_by::CacheBudget::new(
                (config.memory_budget_bytes / 8 * 3) as usize,
            )),
            table_writers: Mutex::new(HashMap::new()),
        });
        let source_tables: Vec<_> = engine
            .read_catalog()
            .sources()
            .filter(|source| source.is_table() && source.created_by.is_none())
            .cloned()
            .collect();
        for table in source_tables {
            crate::table::recover_source_table(&engine.store, &table)?;
        }
        engine.create_processing_log().await?;
        let running: Vec<_> = engine
            .read_catalog()
            .queries()
            .filter(|query| query.status == QueryStatus::Running)
            .cloned()
            .collect();
        for query in running {
            let id = query.id.clone();
            if let Err(error) = persistent::start(&engine, query).await {
                warn!(query_id = %id, %error, "persistent query could not restart");
                let progress = Arc::new(QueryProgress::default());
                progress.fail(error.to_string());
                engine.lock_stopped().insert(id, progress);
            }
        }
        info!(data_dir = %config.data_dir.display(), "engine open");
        Ok(engine)
    }

    async fn create_processing_log(&self) -> EngineResult<()> {
        if self.read_catalog().source(PROCESSING_LOG).is_some() {
            return Ok(());
        }
        let mut statements = eddy_parser::parse_sql(PROCESSING_LOG_DDL)?;
        let Some(eddy_parser::Statement::CreateSource(create)) =
            statements.pop().map(|parsed| parsed.statement)
        else {
            return Err(EngineError::Internal(
                "the processing log's DDL is a CREATE STREAM".into(),
            ));
        };
        crate::ddl::create_source(self, &create).await?;
        Ok(())
    }

    /// A new session: one per client connection.
    pub fn session(self: &Arc<Self>) -> Session {
        Session::new(self.clone())
    }

    /// Stops every persistent query after its current epoch. Queries stay `Running` in the
    /// catalog and resume at the next open. Idempotent.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        let running: Vec<RunningQuery> = {
            let mut queries = self.lock_queries();
            std::mem::take(&mut *queries).into_values().collect()
        };
        for query in running {
            query.cancel.cancel();
            if let Err(error) = query.task.await {
                warn!(%error, "persistent query task ended abnormally");
            }
        }
        info!("engine shut down");
    }

    pub(crate) fn read_catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        self.catalog
            .read()
            .expect("catalog lock is never poisoned: nothing panics while holding it")
    }

    pub(crate) fn write_catalog(&self) -> std::sync::RwLockWriteGuard<'_, Catalog> {
        self.catalog
            .write()
            .expect("catalog lock is never poisoned: nothing panics while holding it")
    }

    pub(crate) fn lock_queries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, RunningQuery>> {
        self.queries
            .lock()
            .expect("query map lock is never poisoned: nothing panics while holding it")
    }

    pub(crate) fn lock_stopped(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<QueryProgress>>> {
        self.stopped_queries
            .lock()
            .expect("query map lock is never poisoned: nothing panics while holding it")
    }

    /// The write lock of a source table's changelog.
    pub(crate) fn table_write_lock(&self, topic: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.table_writers
            .lock()
            .expect("table lock map is never poisoned: nothing panics while holding it")
            .entry(topic.to_string())
            .or_default()
            .clone()
    }

    /// The log of a stream or the changelog of a table.
    pub(crate) fn topic_of(&self, source: &SourceDef) -> EngineResult<Arc<Topic>> {
        self.store.topic(&source.topic).ok_or_else(|| {
            EngineError::Internal(format!(
                "the log of {} \"{}\" is missing",
                source.kind.noun(),
                source.name
            ))
        })
    }

    pub(crate) fn next_insert_sequence(&self) -> u64 {
        self.insert_sequence.fetch_add(1, Ordering::Relaxed)
    }

    /// Persists catalog changes atomically and durably. Callers apply them to the
    /// in-memory catalog only after this succeeds.
    pub(crate) async fn persist_catalog(&self, entries: Vec<CatalogEntry>) -> EngineResult<()> {
        let mut batch = StateBatch::default();
        for (key, value) in entries {
            match value {
                Some(value) => batch.put(Keyspace::Catalog, key, value),
                None => batch.delete(Keyspace::Catalog, key),
            }
        }
        commit_state(&self.store, batch).await
    }
}

/// Commits a state batch on a blocking thread (it waits for an fsync).
pub(crate) async fn commit_state(store: &Store, batch: StateBatch) -> EngineResult<()> {
    let state = store.state().clone();
    // Inserting tens of thousands of keys (a GROUP BY's epoch) is bulk work.
    if batch.len() >= BACKGROUND_COMMIT_CHANGES_MIN {
        return Ok(run_in_background(move || state.commit(batch))?);
    }
    tokio::task::spawn_blocking(move || state.commit(batch))
        .await
        .map_err(|error| EngineError::Internal(format!("state commit task failed: {error}")))??;
    Ok(())
}

/// Topics that no source refers to are leftovers of a crash between creating a topic and
/// committing the catalog entry that names it (or of a drop cut short).
fn remove_orphan_topics(store: &Store, catalog: &Catalog) -> EngineResult<()> {
    let referenced: HashSet<&str> = catalog
        .sources()
        .map(|source| source.topic.as_str())
        .collect();
    for topic in store.topic_names() {
        if !referenced.contains(topic.as_str()) {
            warn!(topic = %topic, "removing a log that no stream or table refers to");
            store.drop_topic(&topic)?;
        }
    }
    Ok(())
}

/// An engine on a fresh directory in which `ddl` has run, and the definition of the source
/// `name` it created: the starting point of unit tests that drive operators by hand.
#[cfg(test)]
pub(crate) async fn open_with_source(
    ddl: &str,
    name: &str,
) -> (tempfile::TempDir, Arc<Engine>, SourceDef) {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(directory.path()))
        .await
        .expect("engine opens");
    let mut session = engine.session();
    for statement in session.parse(ddl).expect("parses") {
        session.execute(&statement).await.expect("runs");
    }
    let source = engine
        .read_catalog()
        .source_required(name)
        .expect("the source exists")
        .clone();
    (directory, engine, source)
}
