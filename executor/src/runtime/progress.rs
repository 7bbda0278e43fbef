//! What SHOW QUERIES reports of a persistent query: how its task ended if it failed, how
//! fast it processes its input (kept in memory by the running task), when its task last
//! showed it is alive (so a query that stops moving shows as stalled), and how many input
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
use crate::runtime::profile::PipelineProfile;
use crate::state::keys::{QueryProgressKeys, decode_u64};

/// A persistent query's task and what it reports.
pub(crate) struct RunningQuery {
    pub cancel: CancellationToken,
    pub task: JoinHandle<()>,
    pub progress: std::sync::Arc<QueryProgress>,
    /// Its operators and their counters, for EXPLAIN.
    pub profile: std::sync::Arc<PipelineProfile>,
    /// The sources it reads, once per read: its input rows are theirs.
    pub inputs: Vec<String>,
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
    /// When the task last woke for input, computed an epoch or committed one.
    last_active: Mutex<Option<Instant>>,
}

/// The span over which SHOW QUERIES measures a query's throughput.
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(10);

/// How long a query with input waiting may show no sign of life before SHOW QUERIES calls
/// it stalled: far longer than an epoch takes (at most 256 Ki rows a partition).
pub(crate) const STALL_AFTER: Duration = Duration::from_secs(30);

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

    /// The task is alive and moving: it woke for input, or computed an epoch.
    pub(crate) fn active(&self) {
        *self
            .last_active
            .lock()
            .expect("progress lock is never poisoned") = Some(Instant::now());
    }

    /// How long the task has shown no sign of life at `now`, when that is past
    /// `STALL_AFTER`; None for a task that is moving (or has not started).
    pub fn stalled_for(&self, now: Instant) -> Option<Duration> {
        let last_active = *self
            .last_active
            .lock()
            .expect("progress lock is never poisoned");
        last_active
            .map(|last_active| now.saturating_duration_since(last_active))
            .filter(|idle| *idle > STALL_AFTER)
    }

    /// Records that an epoch of `rows` input rows was committed.
    pub(crate) fn committed(&self, rows: u64) {
        self.active();
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

/// Late rows a query has set aside (behind their windows' close), over all its runs.
pub fn late_rows(state: &dyn StateStore, query_id: &str) -> EngineResult<u64> {
    let key = QueryProgressKeys::of(query_id).late_rows();
    state
        .get(QueryProgressKeys::KEYSPACE, &key)?
        .map_or(Ok(0), |bytes| decode_u64(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_that_shows_no_sign_of_life_is_stalled() {
        let progress = QueryProgress::default();
        let start = Instant::now();
        assert_eq!(
            progress.stalled_for(start + STALL_AFTER * 2),
            None,
            "not started"
        );
        progress.active();
        let later = Instant::now();
        assert_eq!(progress.stalled_for(later), None);
        assert_eq!(progress.stalled_for(later + STALL_AFTER / 2), None);
        let idle = progress
            .stalled_for(later + STALL_AFTER * 2)
            .expect("stalled past STALL_AFTER");
        assert!(idle >= STALL_AFTER * 2 - Duration::from_secs(1), "{idle:?}");
        progress.committed(10);
        assert_eq!(
            progress.stalled_for(Instant::now()),
            None,
            "a commit is life"
        );
    }
}
