//! Reading sources' logs: the one loop that reads a partition's rows a page at a time, cut
//! at the end of a range, turned into changes (pseudo-columns added; a table's changelog
//! split into rows and weights), and the one way to wait for more. Persistent queries, push
//! queries, table recovery and pull scans all read through it. `Inputs` reads several
//! sources as one, for a query with several inputs: their partitions in one numbering, read
//! in one deterministic order, and one wait for any of them to grow.
//!
//! A stream's retention deletes the oldest rows of its log: a read from below a partition's
//! first offset starts at its first kept row, and a range retention deleted reads as empty.
//!
//! Never: return a row at or past the end a reader asked for, or a row that is not durable
//! (the log shows only durable rows).

use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, SchemaRef};
use eddy_planner::{ROWTIME, SourceDef};
use eddy_storage::{ChangeBatch, Offset, Topic};
use futures::future::select_all;
use tokio::sync::watch;

use crate::batches::with_pseudo_columns;
use crate::changes::{Changes, split_weight_column};
use crate::error::{EngineError, EngineResult};

/// Rows of one partition's log starting at `from` and ending before `end` (at the end of
/// what is durable when None), about `rows_max` of them at most: whole stored batches, the
/// last one cut at `end`, with the offset of each batch's first row. Empty at the end.
pub fn read_stored(
    topic: &Topic,
    partition: u32,
    from: Offset,
    end: Option<Offset>,
    rows_max: usize,
) -> EngineResult<Vec<(Offset, RecordBatch)>> {
    if end.is_some_and(|end| from >= end) {
        return Ok(Vec::new());
    }
    let mut read = topic.read(partition, from, rows_max)?;
    if let Some(end) = end {
        read.retain(|(first, _)| *first < end);
        for (first, stored) in &mut read {
            let wanted = (end.0 - first.0).min(stored.num_rows() as u64) as usize;
            if wanted < stored.num_rows() {
                *stored = stored.slice(0, wanted);
            }
        }
    }
    Ok(read)
}

/// A source's log as changes: what every query reads its input through.
#[derive(Debug, Clone)]
pub struct LogCursor {
    source: SourceDef,
    topic: Arc<Topic>,
    queryable_schema: SchemaRef,
}

impl LogCursor {
    pub fn new(source: SourceDef, topic: Arc<Topic>) -> Self {
        LogCursor {
            queryable_schema: source.queryable_schema(),
            source,
            topic,
        }
    }

    pub fn source(&self) -> &SourceDef {
        &self.source
    }

    pub fn partition_count(&self) -> u32 {
        self.topic.partition_count()
    }

    /// Where each partition's durable rows end now, all read at one moment: a change
    /// appended to several partitions at once is in all of the ends or in none.
    pub fn end_offsets(&self) -> Vec<Offset> {
        self.topic.end_offsets()
    }

    /// Changes of `partition` from `from` (see `read_stored`).
    pub fn read(
        &self,
        partition: u32,
        from: Offset,
        end: Option<Offset>,
        rows_max: usize,
    ) -> EngineResult<Vec<(Offset, Changes)>> {
        read_stored(&self.topic, partition, from, end, rows_max)?
            .into_iter()
            .map(|(first, stored)| Ok((first, self.changes_of(partition, first, &stored)?)))
            .collect()
    }

    /// Calls `each` with the changes of rows [from, to) of each partition, in partition
    /// order, skipping rows retention deleted. The rows must have been in the log: a range
    /// is only read once it was durable.
    pub fn read_range(
        &self,
        from: &[Offset],
        to: &[Offset],
        rows_max: usize,
        mut each: impl FnMut(u32, Changes) -> EngineResult<()>,
    ) -> EngineResult<()> {
        for partition in 0..self.partition_count() {
            let index = partition as usize;
            let mut next = from[index];
            while next < to[index] {
                let read = self.read(partition, next, Some(to[index]), rows_max)?;
                if read.is_empty() {
                    if self.topic.first_offset(partition) >= to[index] {
                        break;
                    }
                    return Err(EngineError::Internal(format!(
                        "input partition {partition} ends at {} before the committed offset {}",
                        next.0, to[index].0
                    )));
                }
                for (first, changes) in read {
                    next = Offset(first.0 + changes.num_rows() as u64);
                    each(partition, changes)?;
                }
            }
        }
        Ok(())
    }

    /// A batch of the log as changes: its rows with the pseudo-columns, their weights (a
    /// table's changelog; a stream's rows are all +1) and their event times.
    pub fn changes_of(
        &self,
        partition: u32,
        first: Offset,
        stored: &RecordBatch,
    ) -> EngineResult<Changes> {
        let (rows, weights) = match self.source.is_table() {
            true => {
                let (rows, weights) = split_weight_column(stored)?;
                (rows, Some(weights))
            }
            false => (stored.clone(), None),
        };
        let queryable = with_pseudo_columns(&rows, &self.queryable_schema, partition, first.0)?;
        let rowtimes = queryable
            .column_by_name(ROWTIME)
            .and_then(|column| column.as_primitive_opt::<Int64Type>())
            .cloned()
            .ok_or_else(|| EngineError::Internal("stored rows lack rowtime".into()))?;
        Changes::new(ChangeBatch::try_new(queryable, weights)?, rowtimes, None)
    }

    fn end_watchers(&self) -> Vec<watch::Receiver<Offset>> {
        (0..self.partition_count())
            .map(|partition| self.topic.watch_end_offset(partition))
            .collect()
    }
}

/// Where a batch of a query's input comes from: which input (numbered as the operators'
/// inputs are) and which of its partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputPartition {
    pub input: usize,
    pub partition: u32,
}

/// A query's inputs read as one. Their partitions are numbered one after another (the first
/// input's first), so that a query's offsets are one list however many sources it reads, and
/// a query of one input numbers them as that input's partitions. A range is read input by
/// input, partition by partition: the same rows in the same order every time it is read, so
/// that an epoch recomputed after a crash is the epoch that was lost.
#[derive(Debug, Clone)]
pub struct Inputs {
    cursors: Vec<LogCursor>,
}

impl Inputs {
    pub fn new(cursors: Vec<LogCursor>) -> Self {
        Inputs { cursors }
    }

    /// The sources read, in input order: one read twice (joined with itself) is named twice.
    pub fn source_names(&self) -> Vec<String> {
        self.cursors
            .iter()
            .map(|cursor| cursor.source.name.clone())
            .collect()
    }

    /// The partitions of every input.
    pub fn partition_count(&self) -> u32 {
        self.cursors.iter().map(LogCursor::partition_count).sum()
    }

    /// Moves each offset that retention has deleted since (a reader fell behind, or was
    /// stopped for longer than the retention) up to the first kept row of its partition, and
    /// tells which moved, so that the reader goes on from there and says so.
    pub fn skip_deleted(&self, offsets: &mut [Offset]) -> Vec<SkippedRows> {
        let firsts = self.cursors.iter().enumerate().flat_map(|(input, cursor)| {
            (0..cursor.partition_count()).map(move |partition| {
                let first = cursor.topic.first_offset(partition);
                (InputPartition { input, partition }, first)
            })
        });
        let mut skipped = Vec::new();
        for (offset, (at, first_kept)) in offsets.iter_mut().zip(firsts) {
            if *offset < first_kept {
                skipped.push(SkippedRows {
                    at,
                    from: *offset,
                    first_kept,
                });
                *offset = first_kept;
            }
        }
        skipped
    }

    /// Where each partition's durable rows end now, in the inputs' numbering.
    pub fn end_offsets(&self) -> Vec<Offset> {
        self.cursors
            .iter()
            .flat_map(LogCursor::end_offsets)
            .collect()
    }

    /// Calls `each` with the changes of rows [from, to) of each partition of each input, and
    /// where they were read: the partition, and its position in the inputs' numbering (see
    /// `LogCursor::read_range`).
    pub fn read_range(
        &self,
        from: &[Offset],
        to: &[Offset],
        rows_max: usize,
        mut each: impl FnMut(InputPartition, usize, Changes) -> EngineResult<()>,
    ) -> EngineResult<()> {
        let mut first = 0;
        for (input, cursor) in self.cursors.iter().enumerate() {
            let partitions = first..first + cursor.partition_count() as usize;
            let (Some(from), Some(to)) = (from.get(partitions.clone()), to.get(partitions)) else {
                return Err(EngineError::Internal(format!(
                    "a range of {} offsets for inputs of {} partitions",
                    from.len().min(to.len()),
                    self.partition_count()
                )));
            };
            cursor.read_range(from, to, rows_max, |partition, changes| {
                each(
                    InputPartition { input, partition },
                    first + partition as usize,
                    changes,
                )
            })?;
            first += cursor.partition_count() as usize;
        }
        Ok(())
    }

    /// Notices when any partition of any input grows.
    pub fn watch(&self) -> EndWatch {
        EndWatch {
            name: self
                .cursors
                .iter()
                .map(|cursor| cursor.topic.name())
                .collect::<Vec<_>>()
                .join(", "),
            watchers: self
                .cursors
                .iter()
                .flat_map(LogCursor::end_watchers)
                .collect(),
        }
    }
}

/// The positions of the partitions (in the inputs' numbering) whose rows go on past where an
/// epoch stops reading them (`targets`), given where they end (`ends`).
pub fn partitions_behind(ends: &[Offset], targets: &[Offset]) -> Vec<usize> {
    ends.iter()
        .zip(targets)
        .enumerate()
        .filter(|(_, (end, target))| end > target)
        .map(|(position, _)| position)
        .collect()
}

/// Rows of a partition that retention deleted before a reader got to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkippedRows {
    pub at: InputPartition,
    pub from: Offset,
    pub first_kept: Offset,
}

/// Waits for a log to grow.
pub struct EndWatch {
    name: String,
    watchers: Vec<watch::Receiver<Offset>>,
}

impl EndWatch {
    /// Takes the current ends as seen: `changed` waits for a move after this call. Call it
    /// before reading, so that a row appended during the read wakes the next wait.
    pub fn mark_seen(&mut self) {
        for watcher in &mut self.watchers {
            watcher.borrow_and_update();
        }
    }

    /// Resolves once some partition's end moved since `mark_seen`; an error if the log was
    /// dropped.
    pub async fn changed(&mut self) -> EngineResult<()> {
        let changes = self
            .watchers
            .iter_mut()
            .map(|watcher| Box::pin(watcher.changed()));
        let (changed, _, _) = select_all(changes).await;
        changed
            .map_err(|_| EngineError::Internal(format!("the log of \"{}\" was dropped", self.name)))
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::Int64Array;
    use arrow::datatypes::DataType;
    use eddy_planner::{Column, SourceKind};
    use eddy_storage::{Store, StoreConfig};

    use super::*;

    /// A stream `name (id BIGINT)` of `partitions` partitions, its log created in `store`.
    fn stream(store: &Store, name: &str, partitions: u32) -> LogCursor {
        let source = SourceDef {
            name: name.into(),
            kind: SourceKind::Stream,
            columns: vec![Column {
                name: "id".into(),
                data_type: DataType::Int64,
                key: false,
            }],
            properties: Default::default(),
            partitions,
            timestamp: None,
            topic: name.into(),
            created_by: None,
            source_only: false,
            window: None,
            retention_ms: None,
        };
        let topic = store
            .create_topic(name, source.stored_schema(), partitions)
            .expect("creates the log");
        LogCursor::new(source, topic)
    }

    /// Appends rows with these ids (and rowtime 0) to a partition of `cursor`'s log.
    async fn append(cursor: &LogCursor, partition: u32, ids: &[i64]) {
        let rows = RecordBatch::try_new(
            cursor.source().stored_schema(),
            vec![
                Arc::new(Int64Array::from(ids.to_vec())),
                Arc::new(Int64Array::from(vec![0; ids.len()])),
            ],
        )
        .expect("rows of the stored schema");
        cursor
            .topic
            .append(partition, vec![rows])
            .await
            .expect("appends");
    }

    #[tokio::test]
    async fn several_inputs_read_as_one_in_one_order() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path(), StoreConfig::default()).expect("opens");
        let (clicks, views) = (stream(&store, "clicks", 2), stream(&store, "views", 1));
        append(&clicks, 0, &[1, 2]).await;
        append(&clicks, 1, &[3]).await;
        append(&views, 0, &[10, 11, 12]).await;
        let inputs = Inputs::new(vec![clicks.clone(), views.clone()]);
        assert_eq!(inputs.partition_count(), 3);
        assert_eq!(inputs.end_offsets(), [Offset(2), Offset(1), Offset(3)]);

        let mut read = Vec::new();
        let from = [Offset(1), Offset(0), Offset(1)];
        let to = inputs.end_offsets();
        inputs
            .read_range(&from, &to, 100, |at, position, changes| {
                let ids = changes.rows().column(0).as_primitive::<Int64Type>();
                read.push((at.input, at.partition, position, ids.values().to_vec()));
                Ok(())
            })
            .expect("reads");
        assert_eq!(
            read,
            [
                (0, 0, 0, vec![2]),
                (0, 1, 1, vec![3]),
                (1, 0, 2, vec![11, 12])
            ]
        );

        // One wait covers every input: the second one growing ends it.
        let mut grew = inputs.watch();
        grew.mark_seen();
        append(&views, 0, &[13]).await;
        tokio::time::timeout(std::time::Duration::from_secs(10), grew.changed())
            .await
            .expect("the wait ends when any input grows")
            .expect("the logs are there");
        let too_short = inputs.read_range(&from[..2], &to[..2], 100, |_, _, _| Ok(()));
        assert!(too_short.is_err(), "a range must cover every input");
    }

    #[tokio::test]
    async fn rows_retention_deleted_are_skipped_not_an_error() {
        let directory = tempfile::tempdir().expect("temp dir");
        // Every append gets a segment of its own.
        let config = StoreConfig {
            segment_bytes_max: 1,
            ..StoreConfig::default()
        };
        let store = Store::open(directory.path(), config).expect("opens");
        let clicks = stream(&store, "clicks", 1);
        append(&clicks, 0, &[1, 2]).await;
        append(&clicks, 0, &[3]).await;
        append(&clicks, 0, &[4, 5]).await;
        let deleted = clicks
            .topic
            .delete_segments_before(ROWTIME, 1)
            .expect("deletes");
        assert_eq!(deleted[0].first_offset, Offset(3));
        let inputs = Inputs::new(vec![clicks]);

        let mut offsets = [Offset(1)];
        let skipped = inputs.skip_deleted(&mut offsets);
        let at = InputPartition {
            input: 0,
            partition: 0,
        };
        assert_eq!(
            skipped,
            [SkippedRows {
                at,
                from: Offset(1),
                first_kept: Offset(3),
            }]
        );
        assert_eq!(offsets, [Offset(3)]);
        assert!(inputs.skip_deleted(&mut offsets).is_empty());

        let read_ids = |from: u64, to: u64| {
            let mut ids = Vec::new();
            inputs
                .read_range(&[Offset(from)], &[Offset(to)], 100, |_, _, changes| {
                    let column = changes.rows().column(0).as_primitive::<Int64Type>();
                    ids.extend(column.values().iter().copied());
                    Ok(())
                })
                .expect("a range retention deleted reads as empty");
            ids
        };
        assert_eq!(read_ids(0, 2), Vec::<i64>::new());
        assert_eq!(read_ids(1, 5), [4, 5]);
    }
}
