//! Running queries: the persistent query's epoch loop and exactly-once writes, push query
//! tasks, the pipelines both run, and what SHOW QUERIES reports of them; and the retention
//! of streams' logs, which readers must expect (`retention.rs`).
//!
//! May use: `dataflow`, `sinks`, `state`, `input`, storage logs, tokio. Must not know: the
//! engine core, statements or the session: what a query needs comes in a `QueryEnv`.

use std::sync::{Arc, RwLockReadGuard};

use eddy_planner::{Catalog, SharedCatalog, SourceDef, SqlPlanner};
use eddy_storage::{Store, Topic};

use crate::clock::Clock;
use crate::error::{EngineError, EngineResult};
use crate::state::operator_cache::CacheBudget;

#[cfg(test)]
mod asof_join_tests;
pub(crate) mod epoch_writer;
pub(crate) mod explain;
pub(crate) mod idle;
#[cfg(test)]
mod join_tests;
pub(crate) mod persistent;
pub(crate) mod pipeline;
pub(crate) mod profile;
pub(crate) mod progress;
pub(crate) mod push;
pub(crate) mod retention;

/// What running a query needs of the engine: its store, catalog and planner, the memory
/// operator state shares, and the clock.
#[derive(Debug, Clone)]
pub(crate) struct QueryEnv {
    pub store: Arc<Store>,
    pub catalog: SharedCatalog,
    pub planner: Arc<SqlPlanner>,
    pub operator_cache: Arc<CacheBudget>,
    pub clock: Arc<dyn Clock>,
}

impl QueryEnv {
    pub fn read_catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog
            .read()
            .expect("catalog lock is never poisoned: nothing panics while holding it")
    }

    /// The log of a stream or the changelog of a table.
    pub fn topic_of(&self, source: &SourceDef) -> EngineResult<Arc<Topic>> {
        self.store.topic(&source.topic).ok_or_else(|| {
            EngineError::Internal(format!(
                "the log of {} \"{}\" is missing",
                source.kind.noun(),
                source.name
            ))
        })
    }
}
