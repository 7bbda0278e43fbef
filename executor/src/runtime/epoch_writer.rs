//! An epoch's write: its commit (epoch number, input range, state changes and, for a query
//! with state, its output) in one atomic, durable state batch, then the append of its output
//! to the sink's log and of its set-aside rows to the processing log, tagged (producer id,
//! epoch) so that a log ignores an append it already holds.
//!
//! Never: append an epoch's output before its commit is durable.

use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use eddy_storage::{Offset, StateBatch, Store, Topic};
use tracing::{debug, warn};

use crate::background::run_in_background_if;
use crate::error::{EngineError, EngineResult};
use crate::limits::BACKGROUND_APPEND_ROWS_MIN;
use crate::runtime::progress::QueryProgress;
use crate::state::commit::commit_state;
use crate::state::keys::{QueryProgressKeys, RangeBound, decode_u64, encode_u64};

/// What one epoch writes: rows per sink partition, the rows set aside, and (for a query into
/// a table) the state changes to commit with the epoch.
pub(crate) struct EpochOutput {
    pub sink: Vec<(u32, RecordBatch)>,
    pub processing_log: Option<RecordBatch>,
    pub state: StateBatch,
}

/// What commits an epoch and appends its output: the query's identity, its progress in the
/// state store and its sinks. Shared with the task that writes one epoch while the next is
/// computed.
pub(crate) struct EpochWriter {
    pub id: String,
    pub producer_id: u64,
    pub store: Arc<Store>,
    pub sink: Arc<Topic>,
    pub processing_log: Arc<Topic>,
}

impl EpochWriter {
    fn keys(&self) -> QueryProgressKeys<'_> {
        QueryProgressKeys::of(&self.id)
    }

    /// (epoch, from-offsets, to-offsets) of the last committed epoch; zeros for a new query.
    pub(crate) fn load_progress(
        &self,
        partitions: u32,
    ) -> EngineResult<(u64, Vec<Offset>, Vec<Offset>)> {
        let state = self.store.state();
        let keys = self.keys();
        let read = |key: Vec<u8>| -> EngineResult<u64> {
            match state.get(QueryProgressKeys::KEYSPACE, &key)? {
                Some(bytes) => decode_u64(&bytes),
                None => Ok(0),
            }
        };
        let epoch = read(keys.epoch())?;
        let mut from = Vec::with_capacity(partitions as usize);
        let mut to = Vec::with_capacity(partitions as usize);
        for partition in 0..partitions {
            from.push(Offset(read(keys.offset(RangeBound::From, partition))?));
            to.push(Offset(read(keys.offset(RangeBound::To, partition))?));
        }
        Ok((epoch, from, to))
    }

    /// Commits the epoch: its number, its input range, and the state changes it made.
    async fn commit_progress(
        &self,
        epoch: u64,
        from: &[Offset],
        to: &[Offset],
        mut batch: StateBatch,
    ) -> EngineResult<()> {
        let keys = self.keys();
        batch.put(QueryProgressKeys::KEYSPACE, keys.epoch(), encode_u64(epoch));
        for (partition, (from, to)) in from.iter().zip(to).enumerate() {
            let partition = partition as u32;
            for (bound, offset) in [(RangeBound::From, from), (RangeBound::To, to)] {
                batch.put(
                    QueryProgressKeys::KEYSPACE,
                    keys.offset(bound, partition),
                    encode_u64(offset.0),
                );
            }
        }
        commit_state(&self.store, batch).await
    }

    /// Commits an epoch (its input range, and the state changes and output it carries), then
    /// appends its output.
    pub(crate) async fn write(
        &self,
        epoch: u64,
        from: &[Offset],
        to: &[Offset],
        mut output: EpochOutput,
        progress: &QueryProgress,
    ) -> EngineResult<()> {
        let state = std::mem::take(&mut output.state);
        let state_changes = state.len();
        let started = Instant::now();
        self.commit_progress(epoch, from, to, state).await?;
        debug!(
            query_id = %self.id,
            epoch,
            state_changes,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "epoch committed"
        );
        let rows = from.iter().zip(to).map(|(from, to)| to.0 - from.0).sum();
        progress.committed(rows);
        progress.appending(rows);
        self.append(output, epoch).await?;
        progress.appending(0);
        Ok(())
    }

    /// Puts the epoch's output into its commit, replacing the previous epoch's.
    pub(crate) fn store_pending(
        &self,
        changelog: &[(u32, RecordBatch)],
        processing_log: Option<&RecordBatch>,
        state: &mut StateBatch,
    ) -> EngineResult<()> {
        let keys = self.keys();
        let mut put_or_delete = |key: Vec<u8>, rows: Option<&RecordBatch>| -> EngineResult<()> {
            match rows {
                Some(rows) => state.put(QueryProgressKeys::KEYSPACE, key, encode_batch(rows)?),
                None => state.delete(QueryProgressKeys::KEYSPACE, key),
            }
            Ok(())
        };
        for partition in 0..self.sink.partition_count() {
            let rows = changelog
                .iter()
                .find(|(written, _)| *written == partition)
                .map(|(_, rows)| rows);
            put_or_delete(keys.pending_output(partition), rows)?;
        }
        put_or_delete(keys.pending_processing_log(), processing_log)
    }

    /// The output of the last committed epoch, as stored with its commit.
    pub(crate) fn load_pending(&self) -> EngineResult<EpochOutput> {
        let state = self.store.state();
        let keys = self.keys();
        let mut sink = Vec::new();
        for partition in 0..self.sink.partition_count() {
            let stored = state.get(QueryProgressKeys::KEYSPACE, &keys.pending_output(partition))?;
            if let Some(bytes) = stored {
                sink.push((partition, decode_batch(&bytes)?));
            }
        }
        let processing_log = state
            .get(QueryProgressKeys::KEYSPACE, &keys.pending_processing_log())?
            .map(|bytes| decode_batch(&bytes))
            .transpose()?;
        Ok(EpochOutput {
            sink,
            processing_log,
            state: StateBatch::default(),
        })
    }

    /// Appends an epoch's output: the sink's rows, then the rows it set aside.
    pub(crate) async fn append(&self, output: EpochOutput, epoch: u64) -> EngineResult<()> {
        let rows: usize = output.sink.iter().map(|(_, rows)| rows.num_rows()).sum();
        let encoded = run_in_background_if(rows >= BACKGROUND_APPEND_ROWS_MIN, || {
            self.sink
                .encode_idempotent(output.sink, self.producer_id, epoch)
        })?;
        self.sink.append_encoded(encoded).await?;
        if let Some(bad_rows) = output.processing_log {
            warn!(query_id = %self.id, rows = bad_rows.num_rows(), "rows set aside in eddy_processing_log");
            self.processing_log
                .append_idempotent(vec![(0, bad_rows)], self.producer_id, epoch)
                .await?;
        }
        Ok(())
    }
}

/// An epoch's commit and append, running.
pub(crate) type Writing = tokio::task::JoinHandle<EngineResult<()>>;

/// Waits for the epoch being written, if any, and passes on how its write ended.
pub(crate) async fn finish_writing(writing: &mut Option<Writing>) -> EngineResult<()> {
    match writing.take() {
        Some(task) => task
            .await
            .map_err(|error| EngineError::Internal(format!("an epoch's write failed: {error}")))?,
        None => Ok(()),
    }
}

/// A batch as Arrow IPC stream bytes, to store an epoch's output with its commit.
fn encode_batch(batch: &RecordBatch) -> EngineResult<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(&mut bytes, &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    drop(writer);
    Ok(bytes)
}

fn decode_batch(bytes: &[u8]) -> EngineResult<RecordBatch> {
    let mut reader = arrow::ipc::reader::StreamReader::try_new(bytes, None)?;
    reader
        .next()
        .transpose()?
        .ok_or_else(|| EngineError::Internal("a stored epoch output is empty".into()))
}
