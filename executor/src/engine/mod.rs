//! The engine's core: what every statement runs against. It owns the store, the catalog and
//! its planner, the running persistent queries, the writers' shared state (a source table's
//! one writer, the round robin of keyless streams), the clock and the task that enforces
//! streams' retention, behind methods; statements never reach its fields.
//!
//! Catalog changes are serialized by one lock, persisted before they become visible
//! (`catalog_change.rs`), and create a source's storage before the catalog names it.
//!
//! Never: change the in-memory catalog without persisting the same change first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use eddy_planner::{Catalog, QueryDef, SharedCatalog, SourceDef, SqlPlanner};
use eddy_storage::{Durability, Keyspace, StateStore, Store, StoreConfig, Topic};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::access::AccessControl;
use crate::clock::Clock;
use crate::error::{EngineError, EngineResult};
use crate::ingest::writer::{RoundRobin, SourceWriter};
use crate::pull::provider::StoreProviders;
use crate::runtime::QueryEnv;
use crate::runtime::persistent;
use crate::runtime::profile::PipelineProfile;
use crate::runtime::progress::{QueryProgress, RunningQuery, late_rows, rows_processed};
use crate::runtime::retention::{self, RetentionReport};
use crate::state::operator_cache::CacheBudget;
use crate::state::tables::{self, SourceTableWriter, recover_source_table};

mod catalog_change;

pub(crate) use catalog_change::{CatalogChange, SourceSettings};

/// What the core is opened with.
pub(crate) struct CoreConfig<'a> {
    pub data_dir: &'a Path,
    pub durability: Durability,
    pub memory_budget_bytes: u64,
    pub clock: Arc<dyn Clock>,
    pub segment_bytes_max: u64,
}

/// A query as SHOW QUERIES reports it.
pub(crate) struct QueryReport {
    /// Why its task stopped, if it failed.
    pub error: Option<String>,
    /// Input rows per second lately; None unless its task runs.
    pub rows_per_second: Option<f64>,
    /// Input rows committed whose output is not appended yet.
    pub rows_appending: u64,
    /// How long its running task has shown no sign of life, past `STALL_AFTER`.
    pub stalled_for: Option<Duration>,
    /// The sources its running task reads, once per read (a source joined with itself is
    /// named twice); empty unless its task runs.
    pub inputs: Vec<String>,
}

pub(crate) struct EngineCore {
    env: QueryEnv,
    /// Serializes statements that change the catalog, so check-then-change is atomic.
    catalog_lock: tokio::sync::Mutex<()>,
    /// Moves on with every published catalog change: a plan made at an older version may
    /// name sources that are gone or changed.
    catalog_version: AtomicU64,
    running_queries: Mutex<BTreeMap<String, RunningQuery>>,
    /// Progress of queries that stopped (terminated or failed) since the engine opened.
    stopped_queries: Mutex<BTreeMap<String, Arc<QueryProgress>>>,
    shutdown: CancellationToken,
    /// Spreads writes to keyless streams over partitions, round robin.
    round_robin: Arc<RoundRobin>,
    /// One write lock per source table (by topic): a table's changelog has one writer.
    table_writers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Runs a retention pass now and then; stopped by `shutdown`.
    retention_task: Mutex<Option<JoinHandle<()>>>,
    /// Users, their verifiers and privileges.
    access: AccessControl,
}

impl EngineCore {
    /// Opens or creates the store in `config.data_dir`, reads the catalog back, removes
    /// storage no source names, and brings source tables up to their changelogs.
    pub async fn open(config: CoreConfig<'_>) -> EngineResult<EngineCore> {
        let store_config = StoreConfig {
            durability: config.durability,
            state_cache_bytes: config.memory_budget_bytes / 8 * 3,
            state_memtable_bytes: config.memory_budget_bytes / 16,
            segment_bytes_max: config.segment_bytes_max,
        };
        let data_dir = config.data_dir.to_path_buf();
        let store = tokio::task::spawn_blocking(move || Store::open(&data_dir, store_config))
            .await
            .map_err(|error| EngineError::Internal(format!("store open task failed: {error}")))??;
        let entries = store.state().scan_prefix(Keyspace::Catalog, b"")?;
        let catalog = Catalog::load(&entries)?;
        let access = AccessControl::load(&entries, |name| catalog.source(name).is_some())?;
        remove_orphan_topics(&store, &catalog)?;
        for table in catalog
            .sources()
            .filter(|source| source.is_table() && source.created_by.is_none())
        {
            recover_source_table(&store, table)?;
        }
        let catalog: SharedCatalog = Arc::new(RwLock::new(catalog));
        let planner = SqlPlanner::new(
            catalog.clone(),
            Arc::new(StoreProviders {
                store: store.clone(),
            }),
        );
        Ok(EngineCore {
            env: QueryEnv {
                store,
                catalog,
                planner: Arc::new(planner),
                operator_cache: Arc::new(CacheBudget::new(
                    (config.memory_budget_bytes / 8 * 3) as usize,
                )),
                clock: config.clock,
            },
            catalog_lock: tokio::sync::Mutex::new(()),
            catalog_version: AtomicU64::new(0),
            running_queries: Mutex::new(BTreeMap::new()),
            stopped_queries: Mutex::new(BTreeMap::new()),
            shutdown: CancellationToken::new(),
            round_robin: Arc::new(RoundRobin::default()),
            table_writers: Mutex::new(HashMap::new()),
            retention_task: Mutex::new(None),
            access,
        })
    }

    /// Starts the task that runs a retention pass now and then; called once, when the engine
    /// is open (a failed open leaves no task holding the store).
    pub fn start_retention(&self) {
        let task = retention::spawn_retention(self.env.clone(), self.shutdown.child_token());
        *self.lock_retention_task() = Some(task);
    }

    /// Runs a retention pass now: deletes streams' log segments older than their retention.
    pub async fn enforce_retention(&self) -> EngineResult<RetentionReport> {
        retention::enforce_retention(&self.env).await
    }

    /// What a query's task needs of the engine.
    pub fn query_env(&self) -> &QueryEnv {
        &self.env
    }

    pub fn read_catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.env.read_catalog()
    }

    /// The version of the catalog: it moves on with every change.
    pub fn catalog_version(&self) -> u64 {
        self.catalog_version.load(Ordering::Acquire)
    }

    pub fn access(&self) -> &AccessControl {
        &self.access
    }

    pub fn planner(&self) -> &SqlPlanner {
        &self.env.planner
    }

    /// The committed state: tables' rows, queries' progress.
    pub fn state(&self) -> &Arc<dyn StateStore> {
        self.env.store.state()
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    fn topic_of(&self, source: &SourceDef) -> EngineResult<Arc<Topic>> {
        self.env.topic_of(source)
    }

    /// The writer every statement writing into `source` goes through (INSERT, COPY,
    /// DELETE, ...): a read-only source (`CREATE SOURCE ..`) is refused here, once for all
    /// of them. What feeds a read-only source from outside (a connector) builds its
    /// `SourceWriter` without this check.
    pub fn source_writer(&self, source: &SourceDef) -> EngineResult<SourceWriter> {
        source.check_writable()?;
        let topic = self.topic_of(source)?;
        let table = source.is_table().then(|| {
            SourceTableWriter::new(
                source.clone(),
                self.env.store.clone(),
                topic.clone(),
                self.table_write_lock(&source.topic),
            )
        });
        SourceWriter::new(
            source.clone(),
            topic,
            self.round_robin.clone(),
            self.env.clock.clone(),
            table,
        )
    }

    /// The write lock of a source table's changelog.
    fn table_write_lock(&self, topic: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.table_writers
            .lock()
            .expect("table lock map is never poisoned: nothing panics while holding it")
            .entry(topic.to_string())
            .or_default()
            .clone()
    }

    /// Starts a change of the catalog: held until it is published or dropped.
    pub async fn change_catalog(&self) -> CatalogChange<'_> {
        CatalogChange::begin(self).await
    }

    /// Starts a persistent query's task.
    pub async fn start_query(&self, query: &QueryDef) -> EngineResult<()> {
        let running = persistent::start(&self.env, query, self.shutdown.child_token()).await?;
        self.lock_running().insert(query.id.clone(), running);
        Ok(())
    }

    /// Restarts a query found running in the catalog at open; a query that cannot restart
    /// is reported failed, and the others go on.
    pub async fn restart_query(&self, query: &QueryDef) {
        if let Err(error) = self.start_query(query).await {
            warn!(query_id = %query.id, %error, "persistent query could not restart");
            let progress = Arc::new(QueryProgress::default());
            progress.fail(error.to_string());
            self.lock_stopped().insert(query.id.clone(), progress);
        }
    }

    /// Stops a query's task after its current epoch.
    pub async fn stop_query(&self, id: &str) {
        let running = self.lock_running().remove(id);
        if let Some(running) = running {
            running.cancel.cancel();
            if let Err(error) = running.task.await {
                error!(query_id = %id, %error, "persistent query task ended abnormally");
            }
            self.lock_stopped().insert(id.to_string(), running.progress);
            info!(query_id = %id, "persistent query stopped");
        }
    }

    /// Forgets a dropped query: what it reported, its progress and its state.
    pub async fn forget_query(&self, id: &str) -> EngineResult<()> {
        self.lock_stopped().remove(id);
        persistent::forget(&self.env.store, id).await
    }

    /// Deletes a dropped source's log and, for a table, its rows.
    pub async fn forget_source(&self, source: &SourceDef) -> EngineResult<()> {
        self.env.store.drop_topic(&source.topic)?;
        if source.is_table() {
            tables::forget(&self.env.store, source).await?;
        }
        Ok(())
    }

    /// How a query is doing; None for one that has not run since the engine opened.
    pub fn query_report(&self, id: &str) -> Option<QueryReport> {
        if let Some(running) = self.lock_running().get(id) {
            // The task only ends when stopped or failed; a failure records its error.
            let error = running.progress.error().or_else(|| {
                running
                    .task
                    .is_finished()
                    .then(|| "its task ended without reporting why".to_string())
            });
            return Some(QueryReport {
                rows_per_second: Some(running.progress.rows_per_second()),
                rows_appending: running.progress.rows_appending(),
                stalled_for: running.progress.stalled_for(Instant::now()),
                inputs: running.inputs.clone(),
                error,
            });
        }
        self.lock_stopped().get(id).map(|progress| QueryReport {
            error: progress.error(),
            rows_per_second: None,
            rows_appending: 0,
            stalled_for: None,
            inputs: Vec::new(),
        })
    }

    /// The operators of a running query and their counters since its task started; None
    /// for a query whose task does not run.
    pub fn query_profile(&self, id: &str) -> Option<Arc<PipelineProfile>> {
        self.lock_running()
            .get(id)
            .map(|running| running.profile.clone())
    }

    /// Input rows a query has processed and committed, over all its runs.
    pub fn rows_processed(&self, id: &str) -> EngineResult<u64> {
        rows_processed(self.state().as_ref(), id)
    }

    /// Late rows query `id` has set aside, over all its runs.
    pub fn late_rows(&self, id: &str) -> EngineResult<u64> {
        late_rows(self.state().as_ref(), id)
    }

    /// Rows still in a source's log, over all partitions: those retention has not deleted.
    pub fn log_rows_kept(&self, source: &SourceDef) -> u64 {
        self.env.store.topic(&source.topic).map_or(0, |topic| {
            (0..topic.partition_count())
                .map(|partition| {
                    let first = topic.first_offset(partition).0;
                    topic.end_offset(partition).0.saturating_sub(first)
                })
                .sum()
        })
    }

    /// Rows ever appended to a source's log (a stream's events, a table's changes), over all
    /// partitions, including those retention deleted: what the offsets of its readers count.
    pub fn log_rows(&self, source: &SourceDef) -> u64 {
        self.env.store.topic(&source.topic).map_or(0, |topic| {
            (0..topic.partition_count())
                .map(|partition| topic.end_offset(partition).0)
                .sum()
        })
    }

    /// Stops every persistent query after its current epoch. Queries stay `Running` in the
    /// catalog and resume at the next open. Idempotent.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        let retention_task = self.lock_retention_task().take();
        if let Some(task) = retention_task
            && let Err(error) = task.await
        {
            warn!(%error, "retention task ended abnormally");
        }
        let running: Vec<RunningQuery> = std::mem::take(&mut *self.lock_running())
            .into_values()
            .collect();
        for query in running {
            query.cancel.cancel();
            if let Err(error) = query.task.await {
                warn!(%error, "persistent query task ended abnormally");
            }
        }
        info!("engine shut down");
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, RunningQuery>> {
        self.running_queries
            .lock()
            .expect("query map lock is never poisoned: nothing panics while holding it")
    }

    fn lock_retention_task(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<()>>> {
        self.retention_task
            .lock()
            .expect("retention task lock is never poisoned: nothing panics while holding it")
    }

    fn lock_stopped(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<QueryProgress>>> {
        self.stopped_queries
            .lock()
            .expect("query map lock is never poisoned: nothing panics while holding it")
    }
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
