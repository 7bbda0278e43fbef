//! `COPY stream|table [(columns)] FROM STDIN`: bulk ingest of Postgres COPY text or CSV data.
//! Into a table, each chunk is an upsert of its rows (as INSERT's), under the table's lock.
//!
//! `Session::execute` answers the statement with a [`CopyInSink`]; the front end feeds it the
//! client's bytes as they arrive (`write`, in chunks of any size: a line or an escape may be
//! split anywhere) and ends it with `finish`. Lines are split into cells column-wise, per
//! chunk of up to `COPY_CHUNK_ROWS_MAX` rows (`reader.rs`), cast to the column types with
//! INSERT's strict casts one kernel per column (`cells.rs`), routed to partitions like INSERT,
//! and appended as soon as the chunk is full, with several appends in flight (here). Integer
//! cells that are plain decimals skip the cast: they are parsed as they are split, which reads
//! them as the cast would. So memory stays bounded and rows become visible while the COPY
//! runs. All of that decoding is bulk work, done at background priority a few hundred KiB of
//! data at a time (`append_chunks`), so that a COPY does not hold up the lookups of other
//! clients.
//!
//! Like a sequence of INSERTs, a COPY is not transactional: if it fails, or its client sends
//! CopyFail or leaves, the chunks already appended stay; the chunk being filled is dropped.
//!
//! Never: acknowledge (return from `finish`) before every appended chunk is durable, turn a
//! bad value into NULL, or allocate per row beyond the cells' bytes.

mod cells;
mod reader;

use std::collections::VecDeque;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, new_null_array};
use arrow::datatypes::{DataType, SchemaRef};
use eddy_parser::CopyFrom;
use eddy_planner::{PlanError, ROWTIME};
use eddy_storage::{EncodedAppend, PendingAppend};

use crate::background::run_in_background_if;
use crate::error::{EngineError, EngineResult};
use crate::ingest::values::{Target, target_columns};
use crate::ingest::writer::SourceWriter;
use crate::limits::{
    COPY_APPENDS_IN_FLIGHT_MAX, COPY_BACKGROUND_BYTES_MIN, COPY_BACKGROUND_TAIL_BYTES_MIN,
};
use cells::{CellKind, typed_column};
use reader::{CellChunk, CopyReader};

/// A COPY in progress: takes the client's data and appends its rows to the stream.
///
/// After `write` returns an error the COPY is over: drop the sink (its later calls fail).
pub struct CopyInSink {
    /// Routes, appends (a stream) or upserts (a table) each chunk, and gives its rowtimes.
    writer: SourceWriter,
    stored_schema: SchemaRef,
    /// Type of every column of the stream, for the columns the COPY leaves NULL.
    column_types: Vec<DataType>,
    /// One per COPY column, in the order of the data's fields.
    targets: Vec<CopyTarget>,
    reader: CopyReader,
    /// Appends queued in order, not yet known to be durable.
    in_flight: VecDeque<PendingAppend>,
    /// Rows queued for appending; all are durable once `in_flight` is drained.
    rows_queued: u64,
    /// A call failed: the COPY is over.
    failed: bool,
}

/// One column of the COPY data: where it goes and what it is cast to.
#[derive(Debug, Clone)]
struct CopyTarget {
    target: Target,
    name: String,
    data_type: DataType,
}

impl CopyInSink {
    /// Gets ready for the data of `copy`, to be written through `writer`.
    pub(crate) fn new(writer: SourceWriter, copy: &CopyFrom) -> EngineResult<CopyInSink> {
        let source = writer.source().clone();
        let targets = target_columns(&source, copy.columns.as_deref())?
            .into_iter()
            .map(|target| match target {
                Target::Column(index) => CopyTarget {
                    target,
                    name: source.columns[index].name.clone(),
                    data_type: source.columns[index].data_type.clone(),
                },
                Target::Rowtime => CopyTarget {
                    target,
                    name: ROWTIME.to_string(),
                    data_type: DataType::Int64,
                },
            })
            .collect::<Vec<_>>();
        if let Some(nested) = targets.iter().find(|target| target.data_type.is_nested()) {
            return Err(PlanError::Unsupported {
                feature: format!(
                    "COPY into column \"{}\" of type {}",
                    nested.name,
                    eddy_planner::type_name(&nested.data_type)
                ),
            }
            .into());
        }
        let column_names = targets.iter().map(|target| target.name.clone()).collect();
        let cell_kinds = targets
            .iter()
            .map(|target| CellKind::of(&target.data_type))
            .collect();
        Ok(CopyInSink {
            writer,
            stored_schema: source.row_schema(),
            column_types: source
                .columns
                .iter()
                .map(|column| column.data_type.clone())
                .collect(),
            targets,
            reader: CopyReader::new(&copy.options, column_names, cell_kinds),
            in_flight: VecDeque::new(),
            rows_queued: 0,
            failed: false,
        })
    }

    /// Fields per line of the data.
    pub fn column_count(&self) -> usize {
        self.targets.len()
    }

    /// Takes the next piece of data; appends every chunk it completes.
    pub async fn write(&mut self, data: &[u8]) -> EngineResult<()> {
        self.check_usable()?;
        // Copying megabytes into the reader's buffer is bulk work too.
        run_in_background_if(data.len() >= COPY_BACKGROUND_BYTES_MIN, || {
            self.reader.push(data)
        });
        let written = self.append_chunks(false).await;
        self.failed = written.is_err();
        written
    }

    /// Takes the end of the data (a last line may lack its newline) and returns the number of
    /// rows, once all of them are durable.
    pub async fn finish(mut self) -> EngineResult<u64> {
        self.check_usable()?;
        self.append_chunks(true).await?;
        while let Some(pending) = self.in_flight.pop_front() {
            pending.durable().await?;
        }
        Ok(self.rows_queued)
    }

    fn check_usable(&self) -> EngineResult<()> {
        if self.failed {
            return Err(EngineError::Internal(
                "COPY data after the COPY failed".into(),
            ));
        }
        Ok(())
    }

    /// Appends the chunks the reader has ready: only full ones until the data has ended.
    /// Decoding is bulk work: it waits until at least `COPY_BACKGROUND_BYTES_MIN` bytes are
    /// unread, then splits them into lines, types a full chunk and encodes its log frames at
    /// background priority, in one handoff. Only the end of the data, when it is a few lines,
    /// is decoded right here.
    async fn append_chunks(&mut self, data_ended: bool) -> EngineResult<()> {
        loop {
            let bulk = self.reader.unread_bytes() >= COPY_BACKGROUND_BYTES_MIN
                || (data_ended && self.reader.pending_bytes() >= COPY_BACKGROUND_TAIL_BYTES_MIN);
            if !bulk && !data_ended {
                return Ok(());
            }
            let Some(ready) = run_in_background_if(bulk, || self.next_ready(data_ended))? else {
                return Ok(());
            };
            self.append(ready).await?;
        }
    }

    /// The next chunk the reader completes, made ready to append.
    fn next_ready(&mut self, data_ended: bool) -> EngineResult<Option<ReadyChunk>> {
        let Some(chunk) = self.reader.next_chunk(data_ended)? else {
            return Ok(None);
        };
        let batch = self.batch(chunk)?;
        if self.writer.table().is_some() {
            return Ok(Some(ReadyChunk::Table(batch)));
        }
        let rows = batch.num_rows() as u64;
        let encoded = self
            .writer
            .topic()
            .encode_partitions(self.writer.route(batch)?)?;
        Ok(Some(ReadyChunk::Stream { encoded, rows }))
    }

    /// A chunk's cells as a batch of the stream's stored schema.
    fn batch(&self, chunk: CellChunk) -> EngineResult<RecordBatch> {
        let rows = chunk.lines.len();
        let mut given: Vec<Option<ArrayRef>> = vec![None; self.column_types.len()];
        let mut given_rowtimes = None;
        for (target, cells) in self.targets.iter().zip(&chunk.columns) {
            let typed = typed_column(cells, &target.name, &target.data_type, &chunk.lines)?;
            match target.target {
                Target::Column(index) => given[index] = Some(typed),
                Target::Rowtime => given_rowtimes = Some(typed),
            }
        }
        let mut columns: Vec<ArrayRef> = given
            .into_iter()
            .zip(&self.column_types)
            .map(|(typed, data_type)| typed.unwrap_or_else(|| new_null_array(data_type, rows)))
            .collect();
        let rowtimes = self
            .writer
            .rowtimes(&columns, given_rowtimes.as_ref(), rows)?;
        columns.push(rowtimes);
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            self.stored_schema.clone(),
            columns,
            &options,
        )?)
    }

    /// Queues a chunk's append (a table's upsert is applied right away), waiting first for
    /// the oldest append in flight if there are already as many as allowed.
    async fn append(&mut self, ready: ReadyChunk) -> EngineResult<()> {
        match ready {
            ReadyChunk::Table(batch) => {
                let rows = batch.num_rows() as u64;
                self.writer.write(batch).await?;
                self.rows_queued += rows;
            }
            ReadyChunk::Stream { encoded, rows } => {
                while self.in_flight.len() >= COPY_APPENDS_IN_FLIGHT_MAX
                    && let Some(oldest) = self.in_flight.pop_front()
                {
                    oldest.durable().await?;
                }
                let pending = self.writer.topic().queue_encoded(encoded).await?;
                self.in_flight.push_back(pending);
                self.rows_queued += rows;
            }
        }
        Ok(())
    }
}

/// A chunk ready to append: for a stream, routed to partitions and encoded as log frames; for
/// a table, the batch its upsert is made of.
enum ReadyChunk {
    Stream { encoded: EncodedAppend, rows: u64 },
    Table(RecordBatch),
}
