//! One pull query's view of the store: the state store as of the moment the query runs and,
//! for each stream it scans, where the stream's log ended when the query first scanned it.
//! Every read of one query goes through its one `PullSnapshot`: each table's scan, point
//! reads and range reads, both sides of a join or a self-join, a subquery. So a commit while
//! the query runs is seen by none of its reads, never by some and not others.
//!
//! DataFusion carries it to the providers' scans as an extension of the session config.
//!
//! Never: be taken before the query runs (a writer takes it under its table's lock, so its
//! reads see the rows it is about to change), or outlive the query: a snapshot keeps the
//! versions it sees from being compacted away.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use datafusion::catalog::Session;
use datafusion::error::{DataFusionError, Result as DataFusionResult};
use datafusion::execution::SessionState;
use eddy_storage::{Offset, StateSnapshot, Store};

use crate::input::LogCursor;

pub struct PullSnapshot {
    state: Arc<dyn StateSnapshot>,
    /// Per stream's topic, the end offset of each partition when the query first scanned it.
    log_ends: Mutex<HashMap<String, Vec<Offset>>>,
}

impl fmt::Debug for PullSnapshot {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("PullSnapshot")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl PullSnapshot {
    /// The store as of now.
    pub fn take(store: &Store) -> Self {
        PullSnapshot {
            state: store.state().snapshot(),
            log_ends: Mutex::new(HashMap::new()),
        }
    }

    pub fn state(&self) -> &dyn StateSnapshot {
        self.state.as_ref()
    }

    /// Where `cursor`'s log ends for this query: as it was the first time the query asked,
    /// so that two scans of one stream (a self-join) read the same rows.
    pub fn log_ends(&self, cursor: &LogCursor) -> Vec<Offset> {
        self.log_ends
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(cursor.source().topic.clone())
            .or_insert_with(|| cursor.end_offsets())
            .clone()
    }

    /// `session` with this snapshot for every scan planned in it.
    pub fn attach(self: &Arc<Self>, session: &mut SessionState) {
        session.config_mut().set_extension(self.clone());
    }

    /// The snapshot of the query `session` plans.
    pub fn of(session: &dyn Session) -> DataFusionResult<Arc<PullSnapshot>> {
        session
            .config()
            .get_extension::<PullSnapshot>()
            .ok_or_else(|| {
                DataFusionError::Internal("a pull query is planned without its snapshot".into())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::open_with_source;

    #[tokio::test]
    async fn a_streams_log_ends_once_for_every_scan_of_one_query() {
        let (_directory, engine, readings) = open_with_source(
            "CREATE STREAM readings (id BIGINT) WITH (PARTITIONS = 2);
             INSERT INTO readings (id) VALUES (1), (2), (3);",
            "readings",
        )
        .await;
        let env = engine.core().query_env();
        let cursor = LogCursor::new(readings.clone(), env.topic_of(&readings).expect("a log"));
        let snapshot = PullSnapshot::take(&env.store);
        let first_scan = snapshot.log_ends(&cursor);
        let mut session = engine.session();
        for statement in session
            .parse("INSERT INTO readings (id) VALUES (4), (5), (6), (7)")
            .expect("parses")
        {
            session.execute(&statement).await.expect("inserts");
        }
        assert_ne!(cursor.end_offsets(), first_scan, "the log grew");
        assert_eq!(snapshot.log_ends(&cursor), first_scan);
        assert_eq!(
            PullSnapshot::take(&env.store).log_ends(&cursor),
            cursor.end_offsets()
        );
    }
}
