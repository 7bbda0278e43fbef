//! Persistent queries: `CREATE STREAM .. AS SELECT` and `INSERT INTO .. SELECT`, run as one
//! task each, in epochs, exactly once across crashes.
//!
//! An epoch reads a bounded range of every input partition, computes its output in memory,
//! commits the range to the state store (epoch number, from- and to-offsets, one atomic
//! durable batch), then appends the output to the sink log tagged with (producer id, epoch).
//! The log drops a tagged append it already holds. On restart the query recomputes its last
//! committed epoch from the same input range (a stateless dataflow is deterministic) and
//! appends it again: partitions that already have it ignore it, partitions that lost it to
//! the crash get it. So every input row is reflected in the sink exactly once, and a reader
//! of the sink never sees a row that a crash could take back.
//!
//! Never: append an epoch's output before its range is committed, or advance past rows that
//! were not processed.

use std::sync::Arc;
use std::sync::Mutex;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use eddy_parser::Statement;
use eddy_planner::{QueryDef, SourceDef, StatelessPlan, lower_stateless};
use eddy_storage::{Keyspace, Offset, StateBatch, Store, Topic};
use futures::future::select_all;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::batches::{apply_steps, cast_to_schema, partition_by_key, with_pseudo_columns};
use crate::engine::{Engine, PROCESSING_LOG, RunningQuery, commit_state};
use crate::error::{EngineError, EngineResult};
use crate::limits::{EPOCH_ROWS_MAX_PER_PARTITION, PUSH_READ_ROWS_MAX};
use crate::timestamps::EventTimeColumn;

/// How a query's task ended, if it failed, for SHOW QUERIES.
#[derive(Debug, Default)]
pub struct QueryProgress {
    error: Mutex<Option<String>>,
}

impl QueryProgress {
    pub fn fail(&self, message: String) {
        *self.error.lock().expect("progress lock is never poisoned") = Some(message);
    }

    pub fn error(&self) -> Option<String> {
        self.error
            .lock()
            .expect("progress lock is never poisoned")
            .clone()
    }
}

/// Plans the query and starts its task.
pub async fn start(engine: &Engine, query: QueryDef) -> EngineResult<()> {
    let runner = Runner::plan(engine, &query).await?;
    let cancel = engine.shutdown.child_token();
    let progress = Arc::new(QueryProgress::default());
    let task = tokio::spawn(runner.run(cancel.clone(), progress.clone()));
    info!(query_id = %query.id, "persistent query started");
    engine.lock_queries().insert(
        query.id,
        RunningQuery {
            cancel,
            task,
            progress,
        },
    );
    Ok(())
}

/// Stops a query's task after its current epoch.
pub async fn stop(engine: &Engine, id: &str) {
    let running = engine.lock_queries().remove(id);
    if let Some(running) = running {
        running.cancel.cancel();
        if let Err(error) = running.task.await {
            error!(query_id = %id, %error, "persistent query task ended abnormally");
        }
        engine
            .lock_stopped()
            .insert(id.to_string(), running.progress);
        info!(query_id = %id, "persistent query stopped");
    }
}

/// Deletes a dropped query's committed offsets.
pub async fn forget(engine: &Engine, id: &str) -> EngineResult<()> {
    let keys = engine
        .store
        .state()
        .scan_prefix(Keyspace::Offsets, &progress_prefix(id))?;
    let mut batch = StateBatch::default();
    for (key, _) in keys {
        batch.delete(Keyspace::Offsets, key);
    }
    if !batch.is_empty() {
        commit_state(&engine.store, batch).await?;
    }
    Ok(())
}

/// Input rows a query has processed and committed, over all partitions and all its runs.
pub fn rows_processed(engine: &Engine, id: &str) -> EngineResult<u64> {
    let prefix = format!("query/{id}/to/").into_bytes();
    let mut rows = 0u64;
    for (_, value) in engine
        .store
        .state()
        .scan_prefix(Keyspace::Offsets, &prefix)?
    {
        rows += decode_u64(&value)?;
    }
    Ok(rows)
}

fn progress_prefix(id: &str) -> Vec<u8> {
    format!("query/{id}/").into_bytes()
}

fn epoch_key(id: &str) -> Vec<u8> {
    format!("query/{id}/epoch").into_bytes()
}

fn offset_key(id: &str, bound: &str, partition: u32) -> Vec<u8> {
    format!("query/{id}/{bound}/{partition:010}").into_bytes()
}

fn decode_u64(bytes: &[u8]) -> EngineResult<u64> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| {
        EngineError::Internal(format!("a stored offset has {} bytes, not 8", bytes.len()))
    })?;
    Ok(u64::from_be_bytes(array))
}

/// What one epoch writes: rows per sink partition, and the rows set aside.
struct EpochOutput {
    sink: Vec<(u32, RecordBatch)>,
    processing_log: Option<RecordBatch>,
}

/// Rows that could not be processed, with why, for `eddy_processing_log`.
#[derive(Default)]
struct BadRows {
    messages: Vec<String>,
    records: Vec<String>,
}

impl BadRows {
    fn push(&mut self, row: &RecordBatch, error: &EngineError) {
        let record: Vec<String> = row
            .schema()
            .fields()
            .iter()
            .zip(row.columns())
            .map(|(field, column)| {
                let value = arrow::util::display::array_value_to_string(column, 0)
                    .unwrap_or_else(|_| "?".to_string());
                format!("{}: {value}", field.name())
            })
            .collect();
        self.messages.push(error.to_string());
        self.records.push(record.join(", "));
    }

    fn into_batch(self, query_id: &str, schema: &SchemaRef) -> EngineResult<Option<RecordBatch>> {
        if self.messages.is_empty() {
            return Ok(None);
        }
        let rows = self.messages.len();
        let columns: Vec<arrow::array::ArrayRef> = vec![
            Arc::new(arrow::array::StringArray::from(vec![query_id; rows])),
            Arc::new(arrow::array::StringArray::from(self.messages)),
            Arc::new(arrow::array::StringArray::from(self.records)),
            Arc::new(arrow::array::Int64Array::from_value(
                crate::timestamps::now_ms(),
                rows,
            )),
        ];
        Ok(Some(RecordBatch::try_new(schema.clone(), columns)?))
    }
}

/// Errors a single row can cause (and so can be set aside); any other error stops the query.
fn is_row_error(error: &EngineError) -> bool {
    matches!(
        error,
        EngineError::DataFusion(_) | EngineError::Arrow(_) | EngineError::Data(_)
    )
}

/// Everything a query's task needs, resolved once.
struct Runner {
    id: String,
    producer_id: u64,
    store: Arc<Store>,
    dataflow: StatelessPlan,
    input: Arc<Topic>,
    input_schema: SchemaRef,
    sink: Arc<Topic>,
    sink_schema: SchemaRef,
    sink_keys: Vec<usize>,
    sink_partitions: u32,
    sink_timestamp: Option<EventTimeColumn>,
    processing_log: Arc<Topic>,
}

impl Runner {
    async fn plan(engine: &Engine, query: &QueryDef) -> EngineResult<Runner> {
        let mut statements = eddy_parser::parse_sql(&query.sql)?;
        let select = match statements.pop().map(|parsed| parsed.statement) {
            Some(Statement::CreateAsSelect(create)) => create.select,
            Some(Statement::InsertSelect(insert)) => insert.select,
            _ => {
                return Err(EngineError::Internal(format!(
                    "query {} is not a persistent query: {}",
                    query.id, query.sql
                )));
            }
        };
        let plan = engine.planner.plan_query(&select.query).await?;
        let dataflow = lower_stateless(&plan, true)?;
        let (input, sink, processing_log) = {
            let catalog = engine.read_catalog();
            (
                catalog.source_required(&dataflow.source)?.clone(),
                catalog.source_required(&query.sink)?.clone(),
                catalog.source_required(PROCESSING_LOG)?.clone(),
            )
        };
        let topic = |source: &SourceDef| {
            engine.store.topic(&source.topic).ok_or_else(|| {
                EngineError::Internal(format!("the log of \"{}\" is missing", source.name))
            })
        };
        let sink_timestamp = EventTimeColumn::of(&sink)?;
        Ok(Runner {
            id: query.id.clone(),
            producer_id: query.producer_id,
            store: engine.store.clone(),
            input: topic(&input)?,
            input_schema: input.queryable_schema(),
            sink: topic(&sink)?,
            sink_schema: sink.stored_schema(),
            sink_keys: sink.key_indices(),
            sink_partitions: sink.partitions,
            sink_timestamp,
            processing_log: topic(&processing_log)?,
            dataflow,
        })
    }

    async fn run(self, cancel: CancellationToken, progress: Arc<QueryProgress>) {
        if let Err(error) = self.run_epochs(&cancel).await {
            error!(query_id = %self.id, %error, "persistent query failed");
            progress.fail(error.to_string());
        }
    }

    async fn run_epochs(&self, cancel: &CancellationToken) -> EngineResult<()> {
        let partitions = self.input.partition_count();
        let (mut epoch, from, mut offsets) = self.load_progress(partitions)?;
        if epoch > 0 {
            // The last committed epoch may not have reached the sink before a crash.
            let output = self.compute(&from, &offsets)?;
            self.append(output, epoch).await?;
            debug!(query_id = %self.id, epoch, "last epoch re-applied");
        }
        let mut watchers: Vec<_> = (0..partitions)
            .map(|partition| self.input.watch_end_offset(partition))
            .collect();
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            for watcher in &mut watchers {
                watcher.borrow_and_update();
            }
            let targets: Vec<Offset> = (0..partitions)
                .map(|partition| {
                    let start = offsets[partition as usize];
                    let end = self.input.end_offset(partition);
                    Offset(
                        end.0
                            .min(start.0 + EPOCH_ROWS_MAX_PER_PARTITION as u64)
                            .max(start.0),
                    )
                })
                .collect();
            if targets == offsets {
                let changes = watchers
                    .iter_mut()
                    .map(|watcher| Box::pin(watcher.changed()));
                tokio::select! {
                    () = cancel.cancelled() => return Ok(()),
                    (changed, _, _) = select_all(changes) => {
                        if changed.is_err() {
                            return Err(EngineError::Internal("an input log was dropped".into()));
                        }
                    }
                }
                continue;
            }
            let output = self.compute(&offsets, &targets)?;
            epoch += 1;
            self.commit_progress(epoch, &offsets, &targets).await?;
            self.append(output, epoch).await?;
            offsets = targets;
        }
    }

    /// (epoch, from-offsets, to-offsets) of the last committed epoch; zeros for a new query.
    fn load_progress(&self, partitions: u32) -> EngineResult<(u64, Vec<Offset>, Vec<Offset>)> {
        let state = self.store.state();
        let epoch = match state.get(Keyspace::Offsets, &epoch_key(&self.id))? {
            Some(bytes) => decode_u64(&bytes)?,
            None => 0,
        };
        let mut from = Vec::with_capacity(partitions as usize);
        let mut to = Vec::with_capacity(partitions as usize);
        for partition in 0..partitions {
            for (bound, offsets) in [("from", &mut from), ("to", &mut to)] {
                let offset =
                    match state.get(Keyspace::Offsets, &offset_key(&self.id, bound, partition))? {
                        Some(bytes) => decode_u64(&bytes)?,
                        None => 0,
                    };
                offsets.push(Offset(offset));
            }
        }
        Ok((epoch, from, to))
    }

    async fn commit_progress(
        &self,
        epoch: u64,
        from: &[Offset],
        to: &[Offset],
    ) -> EngineResult<()> {
        let mut batch = StateBatch::default();
        batch.put(
            Keyspace::Offsets,
            epoch_key(&self.id),
            epoch.to_be_bytes().to_vec(),
        );
        for (partition, (from, to)) in from.iter().zip(to).enumerate() {
            let partition = partition as u32;
            batch.put(
                Keyspace::Offsets,
                offset_key(&self.id, "from", partition),
                from.0.to_be_bytes().to_vec(),
            );
            batch.put(
                Keyspace::Offsets,
                offset_key(&self.id, "to", partition),
                to.0.to_be_bytes().to_vec(),
            );
        }
        commit_state(&self.store, batch).await
    }

    /// The sink batches (one per sink partition) for input rows [from, to) of each partition.
    fn compute(&self, from: &[Offset], to: &[Offset]) -> EngineResult<EpochOutput> {
        let mut per_partition: Vec<Vec<RecordBatch>> =
            vec![Vec::new(); self.sink_partitions as usize];
        let mut bad_rows = BadRows::default();
        for partition in 0..self.input.partition_count() {
            let index = partition as usize;
            let mut next = from[index];
            while next < to[index] {
                let read = self.input.read(partition, next, PUSH_READ_ROWS_MAX)?;
                if read.is_empty() {
                    return Err(EngineError::Internal(format!(
                        "input partition {partition} ends at {} before the committed offset {}",
                        next.0, to[index].0
                    )));
                }
                for (first, stored) in read {
                    if first >= to[index] {
                        break;
                    }
                    let wanted = (to[index].0 - first.0).min(stored.num_rows() as u64) as usize;
                    let stored = stored.slice(0, wanted);
                    next = Offset(first.0 + wanted as u64);
                    let queryable =
                        with_pseudo_columns(&stored, &self.input_schema, partition, first.0)?;
                    let output = self.process(queryable, &mut bad_rows)?;
                    if output.num_rows() == 0 {
                        continue;
                    }
                    if self.sink_keys.is_empty() {
                        per_partition[(partition % self.sink_partitions) as usize].push(output);
                    } else {
                        for (sink_partition, rows) in
                            partition_by_key(&output, &self.sink_keys, self.sink_partitions)?
                        {
                            per_partition[sink_partition as usize].push(rows);
                        }
                    }
                }
            }
        }
        let mut output = Vec::new();
        for (partition, batches) in per_partition.into_iter().enumerate() {
            if batches.is_empty() {
                continue;
            }
            let batch = arrow::compute::concat_batches(&self.sink_schema, &batches)?;
            output.push((partition as u32, batch));
        }
        let processing_log = bad_rows.into_batch(&self.id, &self.processing_log.schema())?;
        Ok(EpochOutput {
            sink: output,
            processing_log,
        })
    }

    /// The sink rows of one input batch. A batch that fails to evaluate (a division by zero,
    /// a cast that cannot hold a value) is retried row by row: the rows that fail go to the
    /// processing log with their error, and the query goes on.
    fn process(&self, queryable: RecordBatch, bad_rows: &mut BadRows) -> EngineResult<RecordBatch> {
        match self.process_rows(&queryable) {
            Err(error) if is_row_error(&error) => {
                let mut good = Vec::new();
                for row in 0..queryable.num_rows() {
                    let single = queryable.slice(row, 1);
                    match self.process_rows(&single) {
                        Ok(output) => good.push(output),
                        Err(error) if is_row_error(&error) => bad_rows.push(&single, &error),
                        Err(error) => return Err(error),
                    }
                }
                Ok(arrow::compute::concat_batches(&self.sink_schema, &good)?)
            }
            result => result,
        }
    }

    fn process_rows(&self, queryable: &RecordBatch) -> EngineResult<RecordBatch> {
        let output = apply_steps(&self.dataflow.steps, queryable.clone())?;
        if output.num_rows() == 0 {
            return Ok(RecordBatch::new_empty(self.sink_schema.clone()));
        }
        self.to_sink_rows(&output)
    }

    /// Appends an epoch's output: the sink's rows, then the rows it set aside.
    async fn append(&self, output: EpochOutput, epoch: u64) -> EngineResult<()> {
        self.sink
            .append_idempotent(output.sink, self.producer_id, epoch)
            .await?;
        if let Some(bad_rows) = output.processing_log {
            warn!(query_id = %self.id, rows = bad_rows.num_rows(), "rows set aside in eddy_processing_log");
            self.processing_log
                .append_idempotent(vec![(0, bad_rows)], self.producer_id, epoch)
                .await?;
        }
        Ok(())
    }

    /// The dataflow's output (columns, then the carried rowtime) as rows of the sink's log.
    fn to_sink_rows(&self, output: &RecordBatch) -> EngineResult<RecordBatch> {
        let rows = cast_to_schema(output, &self.sink_schema)?;
        let Some(event_time) = &self.sink_timestamp else {
            return Ok(rows);
        };
        let rowtimes = event_time.rowtimes(rows.columns())?;
        let mut columns = rows.columns().to_vec();
        let last = columns.len() - 1;
        columns[last] = Arc::new(rowtimes);
        Ok(RecordBatch::try_new(self.sink_schema.clone(), columns)?)
    }
}
