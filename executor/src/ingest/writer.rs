//! The one way rows enter a source: INSERT, COPY, and later Kafka and CDC connectors all
//! write through a `SourceWriter`. It decides what every writer must decide alike: a row's
//! event time (given, from the TIMESTAMP column, or the append time), its partition (by the
//! hash of its key, or round robin for a stream without a key), and, for a table, the upsert
//! through the table's one writer.
//!
//! Never: acknowledge rows before they are durable, or write to a table a persistent query
//! maintains.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{ArrayRef, Int64Array, RecordBatch};
use eddy_planner::{PlanError, ROWTIME, SourceDef};
use eddy_storage::Topic;

use crate::batches::partition_by_key;
use crate::clock::Clock;
use crate::error::EngineResult;
use crate::ingest::rowtime::{EventTimeColumn, rowtimes_from_column};
use crate::state::tables::{SourceTableWriter, TableChanges};

/// Spreads the rows of keyless streams over their partitions, one write at a time, round
/// robin. Shared by every writer of an engine.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicU64,
}

impl RoundRobin {
    fn partition(&self, partitions: u32) -> u32 {
        (self.next.fetch_add(1, Ordering::Relaxed) % u64::from(partitions)) as u32
    }
}

/// Writes rows into one stream or table.
pub struct SourceWriter {
    source: SourceDef,
    topic: Arc<Topic>,
    round_robin: Arc<RoundRobin>,
    /// The time of a write: the event time of rows that give none.
    clock: Arc<dyn Clock>,
    event_time: Option<EventTimeColumn>,
    /// The table's one writer, for a table.
    table: Option<SourceTableWriter>,
}

impl SourceWriter {
    /// A writer of `source`; `table` is its table writer when `source` is a table. Refuses a
    /// table that a persistent query maintains.
    pub fn new(
        source: SourceDef,
        topic: Arc<Topic>,
        round_robin: Arc<RoundRobin>,
        clock: Arc<dyn Clock>,
        table: Option<SourceTableWriter>,
    ) -> EngineResult<Self> {
        check_writable(&source)?;
        Ok(SourceWriter {
            event_time: EventTimeColumn::of(&source)?,
            source,
            topic,
            round_robin,
            clock,
            table,
        })
    }

    pub fn source(&self) -> &SourceDef {
        &self.source
    }

    pub fn topic(&self) -> &Arc<Topic> {
        &self.topic
    }

    /// Each row's `rowtime`: the values given for it, else the source's TIMESTAMP column of
    /// `columns` (the source's columns, in order), else the time of the write.
    pub fn rowtimes(
        &self,
        columns: &[ArrayRef],
        given: Option<&ArrayRef>,
        rows: usize,
    ) -> EngineResult<ArrayRef> {
        Ok(match (given, &self.event_time) {
            (Some(given), _) => Arc::new(rowtimes_from_column(given, ROWTIME, None)?),
            (None, Some(event_time)) => Arc::new(event_time.rowtimes(columns)?),
            (None, None) => Arc::new(Int64Array::from_value(self.clock.now_ms(), rows)),
        })
    }

    /// A stream's rows split by partition: by the key columns' hash, or, for a stream
    /// without a key, all to the next partition in turn.
    pub fn route(&self, rows: RecordBatch) -> EngineResult<Vec<(u32, RecordBatch)>> {
        let key_indices = self.source.key_indices();
        if key_indices.is_empty() {
            let partition = self.round_robin.partition(self.source.partitions);
            return Ok(vec![(partition, rows)]);
        }
        partition_by_key(&rows, &key_indices, self.source.partitions)
    }

    /// Writes rows (the source's row schema): appended to a stream's log, upserted into a
    /// table. Returns once they are durable.
    pub async fn write(&self, rows: RecordBatch) -> EngineResult<()> {
        match &self.table {
            Some(table) => {
                table
                    .write(TableChanges::upserts(&self.source, rows)?)
                    .await?;
            }
            None => self.topic.append_partitions(self.route(rows)?).await?,
        }
        Ok(())
    }

    /// The table's writer, for a table.
    pub fn table(&self) -> Option<&SourceTableWriter> {
        self.table.as_ref()
    }
}

/// A table written by a persistent query takes its rows from that query only.
fn check_writable(source: &SourceDef) -> EngineResult<()> {
    match &source.created_by {
        Some(query) if source.is_table() => Err(PlanError::Invalid {
            message: format!(
                "table \"{}\" holds the results of query {query}; write to its inputs instead",
                source.name
            ),
        }
        .into()),
        _ => Ok(()),
    }
}
