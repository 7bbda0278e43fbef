//! Persistent queries: `CREATE STREAM .. AS SELECT`, `CREATE TABLE .. AS SELECT` and
//! `INSERT INTO .. SELECT`, run as one task each, in epochs, exactly once across crashes.
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
//! A query into a table has state (its GROUP BY's groups, the table's current rows) that the
//! epoch's commit moves forward together with the offsets, so its last epoch cannot be
//! recomputed from the committed state: it stores the epoch's output in the same commit
//! (`query/<id>/pending/..`) and recovery appends that again.
//!
//! While an epoch is committed and appended (a task of its own), the query computes the next
//! one; that epoch's commit waits until the write before it is done, so commits and appends
//! happen in epoch order, one at a time. The next epoch must not read what the write in
//! flight changes: the GROUP BY keeps the last epoch's states in its cache, a table sink's
//! position is carried from epoch to epoch, and a query that reads its sink table's rows
//! waits for the write first.
//!
//! Never: append an epoch's output before its range is committed, or advance past rows that
//! were not processed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use arrow::array::{AsArray, Int64Array, RecordBatch};
use arrow::compute::take;
use arrow::datatypes::{Int64Type, SchemaRef, UInt32Type};
use eddy_parser::Statement;
use eddy_planner::{Dataflow, QueryDef, ROWTIME, SourceDef, StatelessPlan, lower};
use eddy_storage::{ChangeBatch, Keyspace, Offset, StateBatch, Store, Topic};
use futures::future::select_all;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::background::run_in_background_if;
use crate::batches::{
    apply_steps, apply_steps_tracked, cast_to_schema, partition_by_key, with_pseudo_columns,
};
use crate::engine::{Engine, PROCESSING_LOG, RunningQuery, commit_state};
use crate::error::{EngineError, EngineResult};
use crate::group_by::{self, GroupBy};
use crate::limits::{
    BACKGROUND_APPEND_ROWS_MIN, BACKGROUND_EPOCH_ROWS_MIN, EPOCH_ROWS_MAX_PER_PARTITION,
    PUSH_READ_ROWS_MAX,
};
use crate::table::{ResolvedChanges, TableChanges, TablePosition, primary_keys, split_weights};
use crate::timestamps::EventTimeColumn;

/// What SHOW QUERIES reports of a running query: how its task ended, if it failed, and how
/// fast it has been processing its input.
#[derive(Debug, Default)]
pub struct QueryProgress {
    error: Mutex<Option<String>>,
    /// (when, input rows committed so far in this run), for the last `THROUGHPUT_WINDOW`.
    samples: Mutex<VecDeque<(Instant, u64)>>,
}

/// The span over which SHOW QUERIES measures a query's throughput.
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(10);

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

    /// Records that an epoch of `rows` input rows was committed.
    fn committed(&self, rows: u64) {
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

/// Deletes a dropped query's committed offsets, stored output and operator state.
pub async fn forget(engine: &Engine, id: &str) -> EngineResult<()> {
    let state = engine.store.state();
    let mut batch = StateBatch::default();
    for (keyspace, prefix) in [
        (Keyspace::Offsets, progress_prefix(id)),
        (Keyspace::State, group_by::state_prefix(id)),
    ] {
        for (key, _) in state.scan_prefix(keyspace, &prefix)? {
            batch.delete(keyspace, key);
        }
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

/// A u64 stored big-endian (offsets, epochs, counts).
pub(crate) fn decode_u64(bytes: &[u8]) -> EngineResult<u64> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| {
        EngineError::Internal(format!("a stored offset has {} bytes, not 8", bytes.len()))
    })?;
    Ok(u64::from_be_bytes(array))
}

fn pending_key(id: &str, partition: u32) -> Vec<u8> {
    format!("query/{id}/pending/{partition:010}").into_bytes()
}

fn pending_log_key(id: &str) -> Vec<u8> {
    format!("query/{id}/pending-log").into_bytes()
}

/// What one epoch writes: rows per sink partition, the rows set aside, and (for a query into
/// a table) the state changes to commit with the epoch.
struct EpochOutput {
    sink: Vec<(u32, RecordBatch)>,
    processing_log: Option<RecordBatch>,
    state: StateBatch,
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

/// What a query computes and where its rows go.
enum Work {
    /// A stateless query into a stream: its last epoch can be recomputed from the input.
    IntoStream {
        dataflow: StatelessPlan,
        sink_keys: Vec<usize>,
        sink_timestamp: Option<EventTimeColumn>,
    },
    /// A query into a table: a GROUP BY, or a stateless query over a table.
    IntoTable(TableOperator),
}

enum TableOperator {
    GroupBy(Box<GroupBy>),
    Stateless(StatelessPlan),
}

/// Everything a query's task needs, resolved once.
struct Runner {
    writer: Arc<EpochWriter>,
    work: Work,
    input: Arc<Topic>,
    input_def: SourceDef,
    sink_def: SourceDef,
    /// A table sink's position after the last computed epoch (None until the first).
    sink_position: Option<TablePosition>,
}

/// What commits an epoch and appends its output: the query's identity, its progress in the
/// state store and its sinks. Shared with the task that writes one epoch while the next is
/// computed.
struct EpochWriter {
    id: String,
    producer_id: u64,
    store: Arc<Store>,
    sink: Arc<Topic>,
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
        let sink_def = engine.read_catalog().source_required(&query.sink)?.clone();
        // A query into a stream carries each row's rowtime in its projection; a query into a
        // table follows rows through its steps instead, with their weights.
        let dataflow = lower(&plan, !sink_def.is_table())?;
        let (input_def, processing_log) = {
            let catalog = engine.read_catalog();
            (
                catalog.source_required(dataflow.source())?.clone(),
                catalog.source_required(PROCESSING_LOG)?.clone(),
            )
        };
        let work = match (sink_def.is_table(), dataflow) {
            (false, Dataflow::Stateless(dataflow)) => Work::IntoStream {
                dataflow,
                sink_keys: sink_def.key_indices(),
                sink_timestamp: EventTimeColumn::of(&sink_def)?,
            },
            (true, Dataflow::Aggregate(aggregate)) => {
                // Over a stream, rows are only inserted: the accumulators can keep less.
                Work::IntoTable(TableOperator::GroupBy(Box::new(GroupBy::new(
                    aggregate,
                    &query.id,
                    !input_def.is_table(),
                    engine.operator_cache.clone(),
                )?)))
            }
            (true, Dataflow::Stateless(dataflow)) => {
                Work::IntoTable(TableOperator::Stateless(dataflow))
            }
            (false, Dataflow::Aggregate(_)) => {
                return Err(EngineError::Internal(format!(
                    "query {} aggregates into a stream",
                    query.id
                )));
            }
        };
        Ok(Runner {
            writer: Arc::new(EpochWriter {
                id: query.id.clone(),
                producer_id: query.producer_id,
                store: engine.store.clone(),
                sink: engine.topic_of(&sink_def)?,
                processing_log: engine.topic_of(&processing_log)?,
            }),
            work,
            input: engine.topic_of(&input_def)?,
            input_def,
            sink_def,
            sink_position: None,
        })
    }

    async fn run(mut self, cancel: CancellationToken, progress: Arc<QueryProgress>) {
        let mut writing = None;
        let result = self.run_epochs(&cancel, &progress, &mut writing).await;
        // An epoch still being written finishes before the task ends, failed or stopped.
        let written = finish_writing(&mut writing).await;
        if let Err(error) = result.and(written) {
            error!(query_id = %self.writer.id, %error, "persistent query failed");
            progress.fail(error.to_string());
        }
    }

    /// Runs epochs until cancelled. An epoch's commit and append run on a task of their own
    /// (`writing`) while the next epoch is computed; the next epoch's write starts only when
    /// that task is done, so epochs are committed and appended in order, one at a time.
    async fn run_epochs(
        &mut self,
        cancel: &CancellationToken,
        progress: &Arc<QueryProgress>,
        writing: &mut Option<Writing>,
    ) -> EngineResult<()> {
        let partitions = self.input.partition_count();
        let (mut epoch, from, mut offsets) = self.writer.load_progress(partitions)?;
        if epoch > 0 {
            // The last committed epoch may not have reached the sink before a crash.
            let output = match self.work {
                Work::IntoStream { .. } => self.compute_epoch(&from, &offsets)?,
                Work::IntoTable(_) => self.writer.load_pending()?,
            };
            self.writer.append(output, epoch).await?;
            debug!(query_id = %self.writer.id, epoch, "last epoch re-applied");
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
                finish_writing(writing).await?;
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
            if !self.computes_ahead() {
                finish_writing(writing).await?;
            }
            let output = self.compute_epoch(&offsets, &targets)?;
            finish_writing(writing).await?;
            epoch += 1;
            let writer = self.writer.clone();
            let progress = progress.clone();
            let from = std::mem::replace(&mut offsets, targets.clone());
            *writing = Some(tokio::spawn(async move {
                writer
                    .write(epoch, &from, &targets, output, &progress)
                    .await
            }));
        }
    }

    /// Whether the next epoch can be computed before the last one is committed: true unless
    /// computing it reads the sink table's rows, which that commit changes.
    fn computes_ahead(&self) -> bool {
        !matches!(self.work, Work::IntoTable(TableOperator::Stateless(_)))
    }

    /// Calls `process` with each input batch (queryable rows, and weights for a table's
    /// changelog) of rows [from, to) of each partition.
    fn read_input(
        &self,
        from: &[Offset],
        to: &[Offset],
        mut process: impl FnMut(u32, RecordBatch, Option<Int64Array>) -> EngineResult<()>,
    ) -> EngineResult<()> {
        let queryable_schema = self.input_def.queryable_schema();
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
                    let (rows, weights) = match self.input_def.is_table() {
                        true => {
                            let (rows, weights) = split_weights(&stored)?;
                            (rows, Some(weights))
                        }
                        false => (stored, None),
                    };
                    let queryable =
                        with_pseudo_columns(&rows, &queryable_schema, partition, first.0)?;
                    process(partition, queryable, weights)?;
                }
            }
        }
        Ok(())
    }

    /// `compute`, at background priority when the epoch is large.
    fn compute_epoch(&mut self, from: &[Offset], to: &[Offset]) -> EngineResult<EpochOutput> {
        let rows: u64 = from.iter().zip(to).map(|(from, to)| to.0 - from.0).sum();
        let started = Instant::now();
        let output =
            run_in_background_if(rows >= BACKGROUND_EPOCH_ROWS_MIN, || self.compute(from, to))?;
        debug!(
            query_id = %self.writer.id,
            rows,
            output_rows = output.sink.iter().map(|(_, rows)| rows.num_rows()).sum::<usize>(),
            state_changes = output.state.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "epoch computed"
        );
        Ok(output)
    }

    /// The epoch's output for input rows [from, to) of each partition.
    fn compute(&mut self, from: &[Offset], to: &[Offset]) -> EngineResult<EpochOutput> {
        match &self.work {
            Work::IntoStream { .. } => self.compute_into_stream(from, to),
            Work::IntoTable(_) => self.compute_into_table(from, to),
        }
    }

    fn compute_into_stream(&self, from: &[Offset], to: &[Offset]) -> EngineResult<EpochOutput> {
        let Work::IntoStream { sink_keys, .. } = &self.work else {
            return Err(EngineError::Internal("not a query into a stream".into()));
        };
        let sink_partitions = self.sink_def.partitions;
        let sink_schema = self.sink_def.stored_schema();
        let mut per_partition: Vec<Vec<RecordBatch>> = vec![Vec::new(); sink_partitions as usize];
        let mut bad_rows = BadRows::default();
        self.read_input(from, to, |partition, queryable, _| {
            let output = self.process(queryable, &mut bad_rows)?;
            if output.num_rows() == 0 {
                return Ok(());
            }
            if sink_keys.is_empty() {
                per_partition[(partition % sink_partitions) as usize].push(output);
            } else {
                for (sink_partition, rows) in partition_by_key(&output, sink_keys, sink_partitions)?
                {
                    per_partition[sink_partition as usize].push(rows);
                }
            }
            Ok(())
        })?;
        let mut output = Vec::new();
        for (partition, batches) in per_partition.into_iter().enumerate() {
            if batches.is_empty() {
                continue;
            }
            let batch = arrow::compute::concat_batches(&sink_schema, &batches)?;
            output.push((partition as u32, batch));
        }
        let processing_log =
            bad_rows.into_batch(&self.writer.id, &self.writer.processing_log.schema())?;
        Ok(EpochOutput {
            sink: output,
            processing_log,
            state: StateBatch::default(),
        })
    }

    /// A query into a table: the operator's changes as the table's new rows, resolved against
    /// its current rows; the output is stored with the commit for recovery.
    fn compute_into_table(&mut self, from: &[Offset], to: &[Offset]) -> EngineResult<EpochOutput> {
        let mut bad_rows = BadRows::default();
        let (rows, weights, rowtimes, mut state, groups_of_rows) = match &self.work {
            Work::IntoTable(TableOperator::GroupBy(group_by)) => {
                let mut epoch = group_by.begin_epoch()?;
                self.read_input(from, to, |_, queryable, weights| {
                    add_rows(
                        group_by,
                        &mut epoch,
                        queryable,
                        weights.as_ref(),
                        &mut bad_rows,
                    )
                })?;
                let Work::IntoTable(TableOperator::GroupBy(group_by)) = &mut self.work else {
                    return Err(EngineError::Internal("the operator changed".into()));
                };
                let changes = group_by.finish_epoch(epoch, self.writer.store.state().as_ref())?;
                let (output, sources) =
                    apply_steps_tracked(&group_by.plan().output_steps, changes.rows)?;
                let weights = take(&changes.weights, &sources, None)?;
                let rowtimes = take(&changes.rowtimes, &sources, None)?;
                let groups = take(&changes.groups, &sources, None)?;
                let groups = groups.as_primitive::<UInt32Type>().clone();
                (output, weights, rowtimes, changes.state, Some(groups))
            }
            Work::IntoTable(TableOperator::Stateless(dataflow)) => {
                let mut outputs = Vec::new();
                self.read_input(from, to, |_, queryable, weights| {
                    let rowtimes = queryable
                        .column_by_name(ROWTIME)
                        .cloned()
                        .ok_or_else(|| EngineError::Internal("input rows lack rowtime".into()))?;
                    let (output, sources) = apply_steps_tracked(&dataflow.steps, queryable)?;
                    let weights: arrow::array::ArrayRef = match weights {
                        Some(weights) => take(&weights, &sources, None)?,
                        None => Arc::new(Int64Array::from_value(1, sources.len())),
                    };
                    let rowtimes = take(&rowtimes, &sources, None)?;
                    if output.num_rows() > 0 {
                        outputs.push((output, weights, rowtimes));
                    }
                    Ok(())
                })?;
                let schema = dataflow.output_schema.clone();
                let output = arrow::compute::concat_batches(
                    &schema,
                    outputs.iter().map(|(output, _, _)| output),
                )?;
                let concat =
                    |arrays: Vec<&dyn arrow::array::Array>| arrow::compute::concat(&arrays);
                let weights = match outputs.is_empty() {
                    true => Arc::new(Int64Array::from(Vec::<i64>::new())) as arrow::array::ArrayRef,
                    false => concat(
                        outputs
                            .iter()
                            .map(|(_, weights, _)| weights.as_ref())
                            .collect(),
                    )?,
                };
                let rowtimes = match outputs.is_empty() {
                    true => Arc::new(Int64Array::from(Vec::<i64>::new())) as arrow::array::ArrayRef,
                    false => concat(
                        outputs
                            .iter()
                            .map(|(_, _, rowtimes)| rowtimes.as_ref())
                            .collect(),
                    )?,
                };
                (output, weights, rowtimes, StateBatch::default(), None)
            }
            Work::IntoStream { .. } => {
                return Err(EngineError::Internal("not a query into a table".into()));
            }
        };
        let sink_rows = self.table_rows(&rows, &rowtimes)?;
        let weights = weights
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| EngineError::Internal("weights are BIGINT".into()))?
            .clone();
        let state_store = self.writer.store.state();
        let position = match self.sink_position.take() {
            Some(position) => position,
            None => {
                TablePosition::current(state_store.as_ref(), &self.sink_def, &self.writer.sink)?
            }
        };
        let resolved = match groups_of_rows {
            // The GROUP BY's old results are the rows its table holds: no lookups needed.
            Some(groups) => ResolvedChanges::of_known_rows(
                &self.sink_def,
                &position,
                sink_rows,
                &weights,
                &groups,
            )?,
            None => table_changes(&self.sink_def, sink_rows, weights)?.resolve(
                state_store.as_ref(),
                &self.sink_def,
                &position,
            )?,
        };
        self.sink_position = Some(resolved.position);
        state.extend(resolved.state);
        let processing_log =
            bad_rows.into_batch(&self.writer.id, &self.writer.processing_log.schema())?;
        self.writer
            .store_pending(&resolved.changelog, processing_log.as_ref(), &mut state)?;
        Ok(EpochOutput {
            sink: resolved.changelog,
            processing_log,
            state,
        })
    }

    /// The output columns plus `rowtime`, as the sink table's row schema.
    fn table_rows(
        &self,
        output: &RecordBatch,
        rowtimes: &arrow::array::ArrayRef,
    ) -> EngineResult<RecordBatch> {
        let mut columns = output.columns().to_vec();
        columns.push(rowtimes.clone());
        let options =
            arrow::array::RecordBatchOptions::new().with_row_count(Some(output.num_rows()));
        let rows = RecordBatch::try_new_with_options(
            self.sink_def.row_schema(),
            cast_columns(columns, &self.sink_def.row_schema())?,
            &options,
        )?;
        Ok(rows)
    }

    /// The sink rows of one input batch. A batch that fails to evaluate (a division by zero,
    /// a cast that cannot hold a value) is retried row by row: the rows that fail go to the
    /// processing log with their error, and the query goes on.
    fn process(&self, queryable: RecordBatch, bad_rows: &mut BadRows) -> EngineResult<RecordBatch> {
        let sink_schema = self.sink_def.stored_schema();
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
                Ok(arrow::compute::concat_batches(&sink_schema, &good)?)
            }
            result => result,
        }
    }

    fn process_rows(&self, queryable: &RecordBatch) -> EngineResult<RecordBatch> {
        let Work::IntoStream { dataflow, .. } = &self.work else {
            return Err(EngineError::Internal("not a query into a stream".into()));
        };
        let output = apply_steps(&dataflow.steps, queryable.clone())?;
        if output.num_rows() == 0 {
            return Ok(RecordBatch::new_empty(self.sink_def.stored_schema()));
        }
        self.to_sink_rows(&output)
    }

    /// The dataflow's output (columns, then the carried rowtime) as rows of the sink's log.
    fn to_sink_rows(&self, output: &RecordBatch) -> EngineResult<RecordBatch> {
        let sink_schema = self.sink_def.stored_schema();
        let rows = cast_to_schema(output, &sink_schema)?;
        let Work::IntoStream {
            sink_timestamp: Some(event_time),
            ..
        } = &self.work
        else {
            return Ok(rows);
        };
        let rowtimes = event_time.rowtimes(rows.columns())?;
        let mut columns = rows.columns().to_vec();
        let last = columns.len() - 1;
        columns[last] = Arc::new(rowtimes);
        Ok(RecordBatch::try_new(sink_schema, columns)?)
    }
}

impl EpochWriter {
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

    /// Commits the epoch: its number, its input range, and the state changes it made.
    async fn commit_progress(
        &self,
        epoch: u64,
        from: &[Offset],
        to: &[Offset],
        mut batch: StateBatch,
    ) -> EngineResult<()> {
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

    /// Commits an epoch (its input range, and the state changes and output it carries), then
    /// appends its output.
    async fn write(
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
        progress.committed(from.iter().zip(to).map(|(from, to)| to.0 - from.0).sum());
        self.append(output, epoch).await
    }

    /// Puts the epoch's output into its commit, replacing the previous epoch's.
    fn store_pending(
        &self,
        changelog: &[(u32, RecordBatch)],
        processing_log: Option<&RecordBatch>,
        state: &mut StateBatch,
    ) -> EngineResult<()> {
        for partition in 0..self.sink.partition_count() {
            let key = pending_key(&self.id, partition);
            match changelog.iter().find(|(written, _)| *written == partition) {
                Some((_, rows)) => state.put(Keyspace::Offsets, key, encode_batch(rows)?),
                None => state.delete(Keyspace::Offsets, key),
            }
        }
        let key = pending_log_key(&self.id);
        match processing_log {
            Some(rows) => state.put(Keyspace::Offsets, key, encode_batch(rows)?),
            None => state.delete(Keyspace::Offsets, key),
        }
        Ok(())
    }

    /// The output of the last committed epoch, as stored with its commit.
    fn load_pending(&self) -> EngineResult<EpochOutput> {
        let state = self.store.state();
        let mut sink = Vec::new();
        for partition in 0..self.sink.partition_count() {
            if let Some(bytes) = state.get(Keyspace::Offsets, &pending_key(&self.id, partition))? {
                sink.push((partition, decode_batch(&bytes)?));
            }
        }
        let processing_log = state
            .get(Keyspace::Offsets, &pending_log_key(&self.id))?
            .map(|bytes| decode_batch(&bytes))
            .transpose()?;
        Ok(EpochOutput {
            sink,
            processing_log,
            state: StateBatch::default(),
        })
    }

    /// Appends an epoch's output: the sink's rows, then the rows it set aside.
    async fn append(&self, output: EpochOutput, epoch: u64) -> EngineResult<()> {
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
type Writing = tokio::task::JoinHandle<EngineResult<()>>;

/// Waits for the epoch being written, if any, and passes on how its write ended.
async fn finish_writing(writing: &mut Option<Writing>) -> EngineResult<()> {
    match writing.take() {
        Some(task) => task
            .await
            .map_err(|error| EngineError::Internal(format!("an epoch's write failed: {error}")))?,
        None => Ok(()),
    }
}

/// Adds a batch to a GROUP BY's epoch; a batch that fails to evaluate is retried row by row,
/// and the rows that fail go to the processing log.
fn add_rows(
    group_by: &GroupBy,
    epoch: &mut group_by::Epoch,
    queryable: RecordBatch,
    weights: Option<&Int64Array>,
    bad_rows: &mut BadRows,
) -> EngineResult<()> {
    match group_by.add(epoch, queryable.clone(), weights) {
        Err(error) if is_row_error(&error) => {
            for row in 0..queryable.num_rows() {
                let single = queryable.slice(row, 1);
                let weight = weights.map(|weights| weights.slice(row, 1));
                match group_by.add(epoch, single.clone(), weight.as_ref()) {
                    Ok(()) => {}
                    Err(error) if is_row_error(&error) => bad_rows.push(&single, &error),
                    Err(error) => return Err(error),
                }
            }
            Ok(())
        }
        result => result,
    }
}

/// The new contents of the sink table's keys from an epoch's weighted rows: after
/// consolidation, a key with a +row now holds it; a key with only −rows is gone.
fn table_changes(
    sink: &SourceDef,
    rows: RecordBatch,
    weights: Int64Array,
) -> EngineResult<TableChanges> {
    if rows.num_rows() == 0 {
        return Ok(TableChanges::from_parts(rows, Vec::new()));
    }
    let changes = ChangeBatch::try_new(rows, Some(weights))?;
    let Some(consolidated) = ChangeBatch::consolidate(&[changes])? else {
        return Ok(TableChanges::from_parts(
            RecordBatch::new_empty(sink.row_schema()),
            Vec::new(),
        ));
    };
    let keys = primary_keys(sink, consolidated.rows())?;
    let mut slot_of_key: std::collections::HashMap<&[u8], usize> =
        std::collections::HashMap::with_capacity(keys.len());
    let mut touched: Vec<(Vec<u8>, Option<usize>)> = Vec::with_capacity(keys.len());
    for (row, key) in keys.iter().enumerate() {
        let new_row = (consolidated.weight(row) > 0).then_some(row);
        match slot_of_key.get(key) {
            Some(&slot) => {
                if new_row.is_some() {
                    touched[slot].1 = new_row;
                }
            }
            None => {
                slot_of_key.insert(key, touched.len());
                touched.push((key.to_vec(), new_row));
            }
        }
    }
    Ok(TableChanges::from_parts(
        consolidated.rows().clone(),
        touched,
    ))
}

/// Casts columns, by position, to the types of `schema` where they differ.
fn cast_columns(
    columns: Vec<arrow::array::ArrayRef>,
    schema: &SchemaRef,
) -> EngineResult<Vec<arrow::array::ArrayRef>> {
    columns
        .into_iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column)
            } else {
                Ok(arrow::compute::cast(&column, field.data_type())?)
            }
        })
        .collect()
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
