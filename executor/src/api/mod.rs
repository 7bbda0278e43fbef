//! The engine's public face: `Engine` (open a data directory, start sessions, shut down) and
//! `Session` (run statements). The server, the shell and the tests drive this and nothing
//! else. This is the top of the crate: the only module that may name every other one.
//!
//! Opening recovers everything: the core reads the store and catalog back and repairs them,
//! the processing log is created if it is missing, and every running persistent query
//! restarts where it committed.
//!
//! Never: hold engine state here; it lives in the core (`engine/`).

use std::path::PathBuf;
use std::sync::Arc;

use eddy_planner::{PROCESSING_LOG, QueryStatus, SourceKind, processing_log_columns};
use eddy_storage::Durability;
use eddy_storage::limits::SEGMENT_BYTES_MAX_DEFAULT;
use tracing::info;

use crate::access::{Principal, ScramVerifier};
use crate::clock::{Clock, SystemClock};
use crate::engine::{CoreConfig, EngineCore, SourceSettings};
use crate::error::EngineResult;
use crate::runtime::retention::RetentionReport;
use crate::statements::users;

pub(crate) mod session;

use session::Session;

/// How to open an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    /// `Fsync` (default): an insert is acknowledged once it is on disk. `Os`: once the OS
    /// has it, trading the last moments of writes on power loss for latency.
    pub durability: Durability,
    /// Memory for state, in bytes (`--memory`): 3/8 is the state store's block cache, 3/8 is
    /// shared by the queries' caches of operator state, and each of the state store's three
    /// memtables is sealed and flushed at 1/16. State that does not fit stays on disk and is
    /// read back on demand.
    pub memory_budget_bytes: u64,
    /// The time of day, for rows inserted without an event time and for streams' retention
    /// (tests set a `ManualClock`).
    pub clock: Arc<dyn Clock>,
    /// Size at which a log segment file rolls (256 MiB). Retention deletes whole segments,
    /// so a stream's log outlives its retention by up to a segment per partition; tests set
    /// a small one to see segments go.
    pub segment_bytes_max: u64,
}

/// The default `memory_budget_bytes`: 256 MiB.
pub const MEMORY_BUDGET_DEFAULT: u64 = 256 << 20;

impl EngineConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            durability: Durability::Fsync,
            memory_budget_bytes: MEMORY_BUDGET_DEFAULT,
            clock: Arc::new(SystemClock),
            segment_bytes_max: SEGMENT_BYTES_MAX_DEFAULT,
        }
    }
}

/// One Eddy database.
pub struct Engine {
    core: Arc<EngineCore>,
}

impl Engine {
    /// Opens or creates the database in `config.data_dir` and restarts its queries.
    pub async fn open(config: EngineConfig) -> EngineResult<Arc<Engine>> {
        let core = EngineCore::open(CoreConfig {
            data_dir: &config.data_dir,
            durability: config.durability,
            memory_budget_bytes: config.memory_budget_bytes,
            clock: config.clock.clone(),
            segment_bytes_max: config.segment_bytes_max,
        })
        .await?;
        create_processing_log(&core).await?;
        let running: Vec<_> = core
            .read_catalog()
            .queries()
            .filter(|query| query.status == QueryStatus::Running)
            .cloned()
            .collect();
        for query in &running {
            core.restart_query(query).await;
        }
        core.start_retention();
        info!(data_dir = %config.data_dir.display(), "engine open");
        Ok(Arc::new(Engine {
            core: Arc::new(core),
        }))
    }

    /// A new session: one per client connection.
    pub fn session(&self) -> Session {
        Session::new(self.core.clone())
    }

    /// Whether any user exists: then every login needs a password.
    pub fn has_users(&self) -> bool {
        self.core.access().has_users()
    }

    /// Whether `principal` may do everything (trusted, or a superuser), as the
    /// `is_superuser` a client is told at login says.
    pub fn is_superuser(&self, principal: &Principal) -> bool {
        self.core.access().is_superuser(principal)
    }

    /// The SCRAM-SHA-256 verifier to check `user`'s login against; None for an unknown user
    /// or one without a password.
    pub fn scram_verifier(&self, user: &str) -> Option<ScramVerifier> {
        self.core.access().verifier(user)
    }

    /// Creates the superuser `user` with `password`, or resets an existing user's password
    /// and makes it a superuser (the server's `--user`); durable when it returns.
    pub async fn bootstrap_superuser(&self, user: &str, password: &str) -> EngineResult<()> {
        let password = eddy_parser::Password(password.to_owned());
        users::bootstrap_superuser(&self.core, user, &password).await
    }

    /// Runs a retention pass now, as the engine does every few minutes by itself: deletes
    /// each stream's oldest log segments whose rows are all older than the stream's
    /// `RETENTION_MS` by the engine's clock. Readers go on from the first row kept.
    pub async fn enforce_retention(&self) -> EngineResult<RetentionReport> {
        self.core.enforce_retention().await
    }

    /// Stops every persistent query after its current epoch, and the retention task.
    /// Queries stay `Running` in the catalog and resume at the next open. Idempotent.
    pub async fn shutdown(&self) {
        self.core.shutdown().await;
    }

    #[cfg(test)]
    pub(crate) fn core(&self) -> &EngineCore {
        &self.core
    }
}

/// Creates Eddy's processing log on the first open of a data directory.
async fn create_processing_log(core: &EngineCore) -> EngineResult<()> {
    let mut change = core.change_catalog().await;
    if change.catalog().source(PROCESSING_LOG).is_some() {
        return Ok(());
    }
    change.create_source(
        PROCESSING_LOG,
        SourceKind::Stream,
        processing_log_columns(),
        SourceSettings::default(),
        None,
    )?;
    change.publish().await
}

/// An engine on a fresh directory in which `ddl` has run, and the definition of the source
/// `name` it created: the starting point of unit tests that need a whole engine.
#[cfg(test)]
pub(crate) async fn open_with_source(
    ddl: &str,
    name: &str,
) -> (tempfile::TempDir, Arc<Engine>, eddy_planner::SourceDef) {
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(directory.path()))
        .await
        .expect("engine opens");
    let mut session = engine.session();
    for statement in session.parse(ddl).expect("parses") {
        session.execute(&statement).await.expect("runs");
    }
    let source = engine
        .core()
        .read_catalog()
        .source_required(name)
        .expect("the source exists")
        .clone();
    (directory, engine, source)
}

#[cfg(test)]
mod pg_catalog_tests;
