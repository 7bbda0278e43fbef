//! What SHOW QUERIES reports of a persistent query: how its task ended if it failed, how
//! fast it processes its input (kept in memory by the running task), and how many input
//! rows it has processed in all (its committed input ranges, so counted across restarts).
//!
//! Never: count a row before the epoch that processed it is committed.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eddy_storage::StateStore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::EngineResult;
use crate::state::keys::{QueryProgressKeys, decode_u64};

/// A persistent query's task and what it reports.
pub(crate) struct RunningQuery {
    pub cancel: CancellationToken,
    pub task: JoinHandle<()>,
    pub progress: std::sync::Arc<QueryProgress>,
}

/// What SHOW QUERIES reports of a running query: how its task ended, if it failed, and how
/// fast it has been processing its input.
#[derive(Debug, Default)]
pub struct QueryProgress {
    error: Mutex<Option<String>>,
    /// (when, input rows committed so far in this run), for the last `THROUGHPUT_WINDOW`.
    samples: Mutex<VecDeque<(Instant, u64)>>,
    /// Input rows of the committed epoch whose output is not appended yet: not processed
    /// as far as a reader of the sink can tell, so still part of the lag.
    appending: AtomicU64,
}

/// The span over which SHOW QUERIES measures a query's throughput.
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(10);

impl QueryProgress {
    pub fn fail(&self, message: String) {
        *self.error.lock().expect("progress lock is never poisoned") = Some(message);
    }

    /// The epoch of `rows` input rows is committed and its output is being appended (0: the
    /// append is done).
    pub(crate) fn appending(&self, rows: u64) {
        self.appending.store(rows, Ordering::Release);
    }

    /// Input rows committed whose output readers cannot see yet.
    pub fn rows_appending(&self) -> u64 {
        self.appending.load(Ordering::Acquire)
    }

    pub fn error(&self) -> Option<String> {
        self.error
            .lock()
            .expect("progress lock is never poisoned")
            .clone()
    }

    /// Records that an epoch of `rows` input rows was committed.
    pub(crate) fn committed(&self, rows: u64) {
        let now = Instant::now();
        let mut samples = self
            .samples
            .lock()
            .expect("progress lock is never poisoned");
        let total = samples.back().map_or(0, |(_, total)| *total) + rows;
        if samples.is_empty() {
            samples.push_back((now, 0));
        }
        samples.push_back((now, total));
        while samples.len() > 2
            && samples
                .front()
                .is_some_and(|(when, _)| now.duration_since(*when) > THROUGHPUT_WINDOW)
        {
            samples.pop_front();
        }
    }

    /// Input rows per second over the last `THROUGHPUT_WINDOW` (0 for an idle query).
    pub fn rows_per_second(&self) -> f64 {
        let samples = self
            .samples
            .lock()
            .expect("progress lock is never poisoned");
        let (Some((first, first_total)), Some((_, last_total))) = (samples.front(), samples.back())
        else {
            return 0.0;
        };
        let elapsed = first.elapsed().max(Duration::from_millis(1));
        (last_total - first_total) as f64 / elapsed.as_secs_f64()
    }
}

/// Input rows a query has processed and committed, over all partitions and all its runs.
pub fn rows_processed(state: &dyn StateStore, query_id: &str) -> EngineResult<u64> {
    let keys = QueryProgressKeys::of(query_id);
    let mut rows = 0u64;
    for (_, value) in state.scan_prefix(QueryProgressKeys::KEYSPACE, &keys.to_offsets_prefix())? {
        rows += decode_u64(&value)?;
    }
    Ok(rows)
}
