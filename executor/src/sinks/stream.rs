//! A persistent query's sink into a stream: each change becomes a row of the stream's log,
//! cast to its column types, with its event time (the input row's, or the sink's TIMESTAMP
//! column), in the partition of its key (or, without one, the partition its input row came
//! from). A stream only grows: its changes are all insertions.
//!
//! Never: write a retraction into a stream, or change a row's partition between runs (an
//! epoch recomputed after a crash must append the same rows to the same partitions).

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use eddy_planner::SourceDef;

use crate::batches::{cast_columns, partition_by_key};
use crate::changes::Changes;
use crate::dataflow::EpochContext;
use crate::error::{EngineError, EngineResult};
use crate::ingest::rowtime::EventTimeColumn;
use crate::sinks::Sink;

pub(crate) struct StreamSink {
    stream: SourceDef,
    key_indices: Vec<usize>,
    /// Where the stream's rows take their event time from, if not from their input row.
    event_time: Option<EventTimeColumn>,
    /// The epoch's rows, per partition of the stream.
    rows_by_partition: Vec<Vec<RecordBatch>>,
}

impl StreamSink {
    pub fn new(stream: SourceDef) -> EngineResult<Self> {
        Ok(StreamSink {
            key_indices: stream.key_indices(),
            event_time: EventTimeColumn::of(&stream)?,
            rows_by_partition: vec![Vec::new(); stream.partitions as usize],
            stream,
        })
    }

    /// The changes as rows of the stream's log: its columns, then `rowtime`.
    fn stored_rows(&self, changes: &Changes) -> EngineResult<RecordBatch> {
        if changes
            .weights()
            .is_some_and(|weights| weights.values().iter().any(|&weight| weight != 1))
        {
            return Err(EngineError::Internal(format!(
                "a retraction reached stream \"{}\"",
                self.stream.name
            )));
        }
        let stored_schema = self.stream.stored_schema();
        let mut columns = changes.rows().columns().to_vec();
        columns.push(Arc::new(changes.rowtimes().clone()));
        let rows = RecordBatch::try_new_with_options(
            stored_schema.clone(),
            cast_columns(columns, &stored_schema)?,
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(changes.num_rows())),
        )?;
        let Some(event_time) = &self.event_time else {
            return Ok(rows);
        };
        let rowtimes = event_time.rowtimes(rows.columns())?;
        let mut columns = rows.columns().to_vec();
        let last = columns.len() - 1;
        columns[last] = Arc::new(rowtimes);
        Ok(RecordBatch::try_new(stored_schema, columns)?)
    }
}

impl Sink for StreamSink {
    fn apply(&mut self, changes: Changes, cx: &mut EpochContext<'_>) -> EngineResult<()> {
        if changes.is_discarding() {
            return Err(EngineError::Internal(
                "a stream's rows are never discarded".into(),
            ));
        }
        let rows = self.stored_rows(&changes)?;
        let partitions = self.stream.partitions;
        if self.key_indices.is_empty() {
            self.rows_by_partition[(cx.input_partition % partitions) as usize].push(rows);
            return Ok(());
        }
        for (partition, rows) in partition_by_key(&rows, &self.key_indices, partitions)? {
            self.rows_by_partition[partition as usize].push(rows);
        }
        Ok(())
    }

    fn finish_epoch(
        &mut self,
        _cx: &mut EpochContext<'_>,
    ) -> EngineResult<Vec<(u32, RecordBatch)>> {
        let stored_schema = self.stream.stored_schema();
        let mut output = Vec::new();
        for (partition, batches) in self.rows_by_partition.iter_mut().enumerate() {
            if batches.is_empty() {
                continue;
            }
            let rows = concat_batches(&stored_schema, batches.iter())?;
            batches.clear();
            output.push((partition as u32, rows));
        }
        Ok(output)
    }
}
