//! Retention of streams' logs (`WITH (RETENTION_MS=..)` or `RETENTION='7 DAYS'`): a pass
//! deletes, in each such stream's partitions, the oldest sealed segments whose rows are all
//! older than the engine clock's now minus the retention (by ROWTIME), as Kafka does with
//! `retention.ms`. The engine runs a pass every `RETENTION_CHECK_INTERVAL` on a task of its
//! own; `Engine::enforce_retention` runs one now (tests move a `ManualClock`, then call it).
//! Readers of the logs start at the first kept row (`input.rs`).
//!
//! Never: read the wall clock other than through the engine's `Clock`, or delete rows of a
//! table (a table keeps its latest row per key, however old).

use eddy_planner::ROWTIME;
use eddy_storage::StorageError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::error::{EngineError, EngineResult};
use crate::limits::RETENTION_CHECK_INTERVAL;
use crate::runtime::QueryEnv;

/// What one retention pass deleted, over all streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub segments_deleted: usize,
    pub rows_deleted: u64,
}

/// Deletes every retained stream's expired segments, as of the clock's now. A stream whose
/// deletion fails does not hold up the others: the first failure is returned at the end.
pub(crate) async fn enforce_retention(env: &QueryEnv) -> EngineResult<RetentionReport> {
    let now_ms = env.clock.now_ms();
    let retained: Vec<_> = env
        .read_catalog()
        .sources()
        .filter(|source| !source.is_table())
        .filter_map(|source| Some((source.clone(), source.retention_ms?)))
        .collect();
    let mut report = RetentionReport::default();
    let mut failure = None;
    for (source, retention_ms) in retained {
        let Some(topic) = env.store.topic(&source.topic) else {
            continue;
        };
        let cutoff_ms = now_ms.saturating_sub(i64::try_from(retention_ms).unwrap_or(i64::MAX));
        let reading = topic.clone();
        let deleted =
            tokio::task::spawn_blocking(move || reading.delete_segments_before(ROWTIME, cutoff_ms))
                .await
                .map_err(|error| {
                    EngineError::Internal(format!("retention task failed: {error}"))
                })?;
        let deleted = match deleted {
            Ok(deleted) => deleted,
            // Dropped since the catalog was read: nothing left to delete.
            Err(StorageError::TopicDropped { .. }) => continue,
            Err(error) => {
                warn!(stream = %source.name, %error, "retention could not delete log segments");
                failure.get_or_insert(EngineError::from(error));
                continue;
            }
        };
        for partition in deleted {
            info!(
                stream = %source.name,
                partition = partition.partition,
                segments = partition.segments,
                rows = partition.rows,
                first_offset = partition.first_offset.0,
                cutoff_ms,
                "retention deleted log segments"
            );
            report.segments_deleted += partition.segments;
            report.rows_deleted += partition.rows;
        }
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// Runs a retention pass every `RETENTION_CHECK_INTERVAL` until `cancel`; a failed pass is
/// logged and the next one tries again.
pub(crate) fn spawn_retention(env: QueryEnv, cancel: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(RETENTION_CHECK_INTERVAL) => {}
            }
            if let Err(error) = enforce_retention(&env).await {
                warn!(%error, "retention pass failed; the next one tries again");
            }
        }
    })
}
