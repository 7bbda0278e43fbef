//! Persistent queries: `CREATE STREAM .. AS SELECT`, `CREATE TABLE .. AS SELECT` and
//! `INSERT INTO .. SELECT`, run as one task each, in epochs, exactly once across crashes.
//!
//! An epoch reads a bounded range of every input partition, runs it through the query's
//! pipeline (its operators and its sink) in memory, commits the range to the state store
//! (epoch number, from- and to-offsets, the pipeline's state changes: one atomic durable
//! batch), then appends the output to the sink log tagged with (producer id, epoch). The log
//! drops a tagged append it already holds. On restart a pipeline without state recomputes
//! its last committed epoch from the same input range (it is deterministic) and appends it
//! again; a pipeline with state (a GROUP BY, a table sink) cannot, since its state moved on
//! with the commit, so it stores the epoch's output in that commit (`query/<id>/pending/..`)
//! and recovery appends that again. Partitions that already have it ignore it, partitions
//! that lost it to the crash get it. So every input row is reflected in the sink exactly
//! once, and a reader of the sink never sees a row that a crash could take back.
//!
//! While an epoch is committed and appended (a task of its own), the query computes the next
//! one; that epoch's commit waits until the write before it is done, so commits and appends
//! happen in epoch order, one at a time. The next epoch must not read what the write in
//! flight changes: operator state keeps the last epoch's writes in its cache, a table sink
//! carries its position from epoch to epoch, and a pipeline whose sink reads what its commit
//! writes waits for the write first.
//!
//! Never: append an epoch's output before its range is committed, or advance past rows that
//! were not processed (unless a stream's retention deleted them first: then the query goes
//! on from the first kept row, with a warning).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use eddy_parser::Statement;
use eddy_planner::{PROCESSING_LOG, PersistentSink, QueryDef, SourceDef};
use eddy_storage::{Offset, StateBatch, Store};
use futures::FutureExt;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::background::run_in_background_if;
use crate::clock::Clock;
use crate::dataflow::{BadRows, EpochContext};
use crate::error::{EngineError, EngineResult, panic_message};
use crate::input::{EndWatch, Inputs, LogCursor, partitions_behind};
use crate::limits::{BACKGROUND_EPOCH_ROWS_MIN, PUSH_READ_ROWS_MAX, epoch_rows_per_partition};
use crate::runtime::QueryEnv;
use crate::runtime::epoch_writer::{EpochOutput, EpochWriter, Writing, finish_writing};
use crate::runtime::idle::{CaughtUp, IdleClock};
use crate::runtime::pipeline::{BadInputRows, BuildContext, Changed, Pipeline};
use crate::runtime::progress::{QueryProgress, RunningQuery, late_rows};
use crate::sinks::Sink;
use crate::sinks::stream::StreamSink;
use crate::sinks::table::{OldRows, TableSink};
use crate::state::commit::commit_state;
use crate::state::keys::{OperatorStateKeys, QueryProgressKeys, encode_u64};

/// Plans the query and starts its task, which stops when `cancel` is cancelled.
pub async fn start(
    env: &QueryEnv,
    query: &QueryDef,
    cancel: CancellationToken,
) -> EngineResult<RunningQuery> {
    let runner = Runner::plan(env, query).await?;
    let profile = runner.pipeline.profile();
    let inputs = runner.inputs.source_names();
    let progress = Arc::new(QueryProgress::default());
    let run = AssertUnwindSafe(runner.run(cancel.clone(), progress.clone())).catch_unwind();
    let query_id = query.id.clone();
    let failed = progress.clone();
    let task = tokio::spawn(async move {
        // A bug that panics in the task ends the query in ERROR, with why, instead of
        // leaving it RUNNING without progress.
        if let Err(panic) = run.await {
            let message = panic_message(panic.as_ref());
            error!(%query_id, message, "persistent query panicked");
            failed.fail(format!("the query stopped on an internal error: {message}"));
        }
    });
    info!(query_id = %query.id, "persistent query started");
    Ok(RunningQuery {
        cancel,
        task,
        progress,
        profile,
        inputs,
    })
}

/// Deletes a dropped query's committed offsets, stored output and operator state.
pub async fn forget(store: &Store, id: &str) -> EngineResult<()> {
    let state = store.state();
    let mut batch = StateBatch::default();
    for (keyspace, prefix) in [
        (
            QueryProgressKeys::KEYSPACE,
            QueryProgressKeys::of(id).prefix(),
        ),
        (
            OperatorStateKeys::KEYSPACE,
            OperatorStateKeys::of(id).prefix(),
        ),
    ] {
        for (key, _) in state.scan_prefix(keyspace, &prefix)? {
            batch.delete(keyspace, key);
        }
    }
    if !batch.is_empty() {
        commit_state(store, batch).await?;
    }
    Ok(())
}

/// Everything a query's task needs, resolved once.
struct Runner {
    writer: Arc<EpochWriter>,
    pipeline: Pipeline,
    /// Its inputs, numbered as its dataflow's sources.
    inputs: Inputs,
    /// The time rows are set aside at.
    clock: Arc<dyn Clock>,
    /// Late rows set aside so far, committed with each epoch that adds to them.
    late_rows: u64,
}

impl Runner {
    async fn plan(env: &QueryEnv, query: &QueryDef) -> EngineResult<Runner> {
        let (sink_def, processing_log) = {
            let catalog = env.read_catalog();
            (
                catalog.source_required(&query.sink)?.clone(),
                catalog.source_required(PROCESSING_LOG)?.clone(),
            )
        };
        let mut statements = eddy_parser::parse_sql(&query.sql)?;
        let (select, sink) = match statements.pop().map(|parsed| parsed.statement) {
            Some(Statement::CreateAsSelect(create)) => (
                create.select,
                PersistentSink::Create(sink_def.kind, &sink_def.name),
            ),
            Some(Statement::InsertSelect(insert)) => {
                (insert.select, PersistentSink::InsertInto(&sink_def))
            }
            _ => {
                return Err(EngineError::Internal(format!(
                    "query {} is not a persistent query: {}",
                    query.id, query.sql
                )));
            }
        };
        let dataflow = env
            .planner
            .plan_persistent(&select, sink)
            .await?
            .into_dataflow_for(&sink_def)?
            .with_default_idle_timeout(query.idle_timeout_ms);
        let input_defs = {
            let catalog = env.read_catalog();
            dataflow
                .sources()
                .into_iter()
                .map(|name| Ok(catalog.source_required(name)?.clone()))
                .collect::<EngineResult<Vec<SourceDef>>>()?
        };
        let input_def = input_defs[0].clone();
        let sink_topic = env.topic_of(&sink_def)?;
        let build = BuildContext {
            query_id: query.id.clone(),
            input_is_append_only: !input_def.is_table(),
            source_schema: input_def.queryable_schema(),
            cache_budget: env.operator_cache.clone(),
            bad_input_rows: BadInputRows::SetAside,
            tables: None,
            pairs_keyed_changes: false,
        };
        let pipeline = Pipeline::build(dataflow, build, |changed| {
            let sink: Box<dyn Sink> = match (sink_def.is_table(), changed) {
                (false, Changed::Rows) => Box::new(StreamSink::new(sink_def.clone())?),
                (true, Changed::Groups) => Box::new(TableSink::new(
                    sink_def.clone(),
                    sink_topic.clone(),
                    OldRows::Retracted,
                )),
                (true, Changed::Rows) => Box::new(TableSink::new(
                    sink_def.clone(),
                    sink_topic.clone(),
                    OldRows::LookedUp,
                )),
                (false, Changed::Groups) => {
                    return Err(EngineError::Internal(format!(
                        "query {} aggregates into a stream",
                        query.id
                    )));
                }
            };
            Ok(sink)
        })?;
        Ok(Runner {
            writer: Arc::new(EpochWriter {
                id: query.id.clone(),
                producer_id: query.producer_id,
                store: env.store.clone(),
                sink: sink_topic.clone(),
                processing_log: env.topic_of(&processing_log)?,
            }),
            pipeline,
            inputs: Inputs::new(
                input_defs
                    .iter()
                    .map(|input| Ok(LogCursor::new(input.clone(), env.topic_of(input)?)))
                    .collect::<EngineResult<Vec<_>>>()?,
            ),
            clock: env.clock.clone(),
            late_rows: late_rows(env.store.state().as_ref(), &query.id)?,
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
        let (mut epoch, from, mut offsets) =
            self.writer.load_progress(self.inputs.partition_count())?;
        if epoch > 0 {
            // The last committed epoch may not have reached the sink before a crash.
            let output = match self.pipeline.has_state() {
                false => self.compute_epoch(&from, &offsets, None, &[])?,
                true => self.writer.load_pending()?,
            };
            progress.appending(
                from.iter()
                    .zip(&offsets)
                    .map(|(from, to)| to.0 - from.0)
                    .sum(),
            );
            self.writer.append(output, epoch).await?;
            progress.appending(0);
            debug!(query_id = %self.writer.id, epoch, "last epoch re-applied");
        }
        let mut input_grew: EndWatch = self.inputs.watch();
        let epoch_rows_per_partition = epoch_rows_per_partition(self.pipeline.rows_per_input_row());
        let mut idle = IdleClock::start(
            self.clock.clone(),
            &mut self.pipeline,
            self.writer.store.state().as_ref(),
        )?;
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            progress.active();
            input_grew.mark_seen();
            for skipped in self.inputs.skip_deleted(&mut offsets) {
                warn!(
                    query_id = %self.writer.id,
                    input = skipped.at.input,
                    partition = skipped.at.partition,
                    from = skipped.from.0,
                    first_kept = skipped.first_kept.0,
                    "retention deleted input rows the query had not read; going on from the first kept row"
                );
            }
            let ends = self.inputs.end_offsets();
            let targets: Vec<Offset> = ends
                .iter()
                .zip(&offsets)
                .map(|(end, start)| {
                    Offset(end.0.min(start.0 + epoch_rows_per_partition).max(start.0))
                })
                .collect();
            if targets == offsets {
                finish_writing(writing).await?;
                let state = self.writer.store.state().clone();
                match idle.caught_up(&mut self.pipeline, state.as_ref())? {
                    CaughtUp::Epoch { stream_time } => {
                        // An epoch without input rows: the clock alone moves the query on.
                        let output = self.compute_epoch(&offsets, &offsets, stream_time, &[])?;
                        epoch += 1;
                        let writer = self.writer.clone();
                        let progress = progress.clone();
                        let at = offsets.clone();
                        debug!(query_id = %self.writer.id, ?stream_time, "an epoch by the clock");
                        *writing = Some(tokio::spawn(async move {
                            writer.write(epoch, &at, &at, output, &progress).await
                        }));
                    }
                    CaughtUp::Wait { until_ms } => {
                        tokio::select! {
                            () = cancel.cancelled() => return Ok(()),
                            grew = input_grew.changed() => grew?,
                            () = idle.wait(until_ms) => {}
                        }
                    }
                }
                continue;
            }
            if self.pipeline.reads_own_writes() {
                finish_writing(writing).await?;
            }
            let behind = partitions_behind(&ends, &targets);
            let output = self.compute_epoch(&offsets, &targets, None, &behind)?;
            idle.input_came(&mut self.pipeline, self.writer.store.state().as_ref())?;
            progress.active();
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

    /// `compute`, at background priority when the epoch is large.
    fn compute_epoch(
        &mut self,
        from: &[Offset],
        to: &[Offset],
        stream_time: Option<i64>,
        behind: &[usize],
    ) -> EngineResult<EpochOutput> {
        let rows: u64 = from.iter().zip(to).map(|(from, to)| to.0 - from.0).sum();
        let started = Instant::now();
        let output = run_in_background_if(rows >= BACKGROUND_EPOCH_ROWS_MIN, || {
            self.compute(from, to, stream_time, behind)
        })?;
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

    /// The epoch's output for input rows [from, to) of each partition of its inputs, with
    /// the windows' stream time moved to `stream_time` (an idle query's) before it ends;
    /// `behind`: the partitions with rows past `to`.
    fn compute(
        &mut self,
        from: &[Offset],
        to: &[Offset],
        stream_time: Option<i64>,
        behind: &[usize],
    ) -> EngineResult<EpochOutput> {
        let store_state = self.writer.store.state().clone();
        let mut state = StateBatch::default();
        let mut bad_rows = BadRows::default();
        let now_ms = self.clock.now_ms();
        let pipeline = &mut self.pipeline;
        self.inputs
            .read_range(from, to, PUSH_READ_ROWS_MAX, |at, position, changes| {
                let mut cx = EpochContext {
                    state: store_state.as_ref(),
                    state_changes: &mut state,
                    bad_rows: &mut bad_rows,
                    input_partition: at.partition,
                    read_from: Some(position),
                    behind,
                    now_ms,
                };
                pipeline.apply(at.input, changes, &mut cx)
            })?;
        let mut cx = EpochContext {
            state: store_state.as_ref(),
            state_changes: &mut state,
            bad_rows: &mut bad_rows,
            input_partition: 0,
            read_from: None,
            behind,
            now_ms,
        };
        if let Some(stream_time) = stream_time {
            self.pipeline.advance_stream_time(stream_time, &mut cx)?;
        }
        let sink = self.pipeline.finish_epoch(&mut cx)?;
        if bad_rows.late_rows() > 0 {
            self.late_rows += bad_rows.late_rows();
            state.put(
                QueryProgressKeys::KEYSPACE,
                QueryProgressKeys::of(&self.writer.id).late_rows(),
                encode_u64(self.late_rows),
            );
        }
        let processing_log = bad_rows.into_batch(
            &self.writer.id,
            &self.writer.processing_log.schema(),
            self.clock.now_ms(),
        )?;
        if self.pipeline.has_state() {
            self.writer
                .store_pending(&sink, processing_log.as_ref(), &mut state)?;
        }
        Ok(EpochOutput {
            sink,
            processing_log,
            state,
        })
    }
}
