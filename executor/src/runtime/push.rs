//! Push queries: a dataflow whose sink is the client's connection. Its task reads its
//! sources' logs (one per input of its dataflow) from where the query started, runs each
//! round of what is durable through the pipeline as one epoch, hands the rows to the client's
//! bounded queue, and waits on the log's end-offset notification. It reads the log itself,
//! so a slow client only delays its own rows; it never holds back a persistent query or
//! another client.
//!
//! Over a table (or with GROUP BY), the client sees each change of a key with a last column
//! `op` (`sinks/client.rs`). A GROUP BY, or a join of tables, keeps its state in memory for
//! as long as the query runs, within the engine's memory budget for operator state. A join
//! of tables first reads the tables' rows from before the query started, sending nothing,
//! so that each later change joins the other tables' rows as they stand.
//!
//! Once it has read all of its input, the task also runs rounds by the clock, as a
//! persistent query does (`idle.rs`): windows with an `IDLE TIMEOUT` close while input is
//! quiet, so an `EMIT FINAL` query's last windows reach the client without a later row.
//!
//! Never: keep a push query's task alive after its `RowStream` is dropped, or let its state
//! outgrow the memory budget.

use std::sync::Arc;

use arrow::array::RecordBatch;
use eddy_planner::{Dataflow, SourceDef};
use eddy_storage::{MemoryStateStore, Offset, StateBatch, StateStore};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::changes::Changes;
use crate::clock::Clock;
use crate::dataflow::{BadRows, EpochContext};
use crate::error::{EngineError, EngineResult};
use crate::input::{Inputs, LogCursor, partitions_behind};
use crate::limits::{PUSH_QUEUE_BATCHES_MAX, PUSH_READ_ROWS_MAX};
use crate::output::RowStream;
use crate::runtime::QueryEnv;
use crate::runtime::idle::{CaughtUp, IdleClock};
use crate::runtime::pipeline::{BadInputRows, BuildContext, Pipeline};
use crate::sinks::client::ClientSink;
use crate::state::operator_cache::CacheBudget;
use crate::state::tables::primary_keys;

/// Starts a push query: its task reads from the end of each partition of the source (or
/// from its beginning, `from_earliest`) and the returned stream yields its rows.
pub fn push(env: &QueryEnv, dataflow: Dataflow, from_earliest: bool) -> EngineResult<RowStream> {
    let limit = match &dataflow {
        Dataflow::Stateless(plan) => plan.limit,
        Dataflow::Aggregate(_) => None,
    };
    let joins_tables = dataflow
        .two_input_joins()
        .iter()
        .any(|join| join.window.is_none() && join.asof.is_none());
    let sources = {
        let catalog = env.read_catalog();
        dataflow
            .sources()
            .into_iter()
            .map(|name| Ok(catalog.source_required(name)?.clone()))
            .collect::<EngineResult<Vec<SourceDef>>>()?
    };
    let source = sources[0].clone();
    let inputs = Inputs::new(
        sources
            .iter()
            .map(|input| Ok(LogCursor::new(input.clone(), env.topic_of(input)?)))
            .collect::<EngineResult<Vec<_>>>()?,
    );
    let has_groups = matches!(dataflow, Dataflow::Aggregate(_));
    let keyed = source.is_table() || has_groups;
    let sink = ClientSink::new(dataflow.output_schema(), keyed);
    let schema = sink.schema().clone();
    let build = BuildContext {
        query_id: "push".to_string(),
        input_is_append_only: !source.is_table(),
        source_schema: source.queryable_schema(),
        cache_budget: env.operator_cache.clone(),
        bad_input_rows: BadInputRows::Fail,
        tables: Some(env.store.state().clone()),
        pairs_keyed_changes: true,
    };
    let pipeline = Pipeline::build(dataflow, build, |_| Ok(Box::new(sink)))?;
    // An aggregate over a table starts from the table's rows: its changelog from the
    // beginning. From the end it would see retractions of rows it never counted.
    let from_earliest = from_earliest || (keyed && source.is_table() && has_groups);
    // Start offsets are taken now, not in the task: every row acknowledged after this
    // statement returns reaches the subscriber.
    let beginning = vec![Offset(0); inputs.partition_count() as usize];
    let start_offsets = match from_earliest {
        true => beginning.clone(),
        false => inputs.end_offsets(),
    };
    // A join of tables joins each change with the other tables' rows as they stand, so it
    // reads the tables from their beginning; what that joins before the start is not sent.
    let (read_from, quiet_until) = match joins_tables && !from_earliest {
        true => (beginning, Some(start_offsets)),
        false => (start_offsets, None),
    };
    // A table's changes reach the client paired by key, so it can tell an update from a
    // delete.
    let paired_table = (sources.len() == 1 && source.is_table()).then_some(source);
    let (sender, receiver) = mpsc::channel(PUSH_QUEUE_BATCHES_MAX);
    let subscription = Subscription {
        inputs,
        paired_table,
        quiet_until,
        pipeline,
        state: TransientState::new(env.operator_cache.clone()),
        rows_left: limit,
        sender,
        clock: env.clock.clone(),
    };
    let task = tokio::spawn(subscription.run(read_from));
    let guard = AbortOnDrop(task);
    let batches = ReceiverStream::new(receiver).map(move |item| {
        // The stream owns the guard: dropping the stream ends the push query's task.
        let _owned = &guard;
        item
    });
    Ok(RowStream::from_stream(schema, true, batches.boxed()))
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A push query's operator state: in memory, within the budget of operator caches.
struct TransientState {
    store: MemoryStateStore,
    budget: Arc<CacheBudget>,
    /// Bytes of the budget the store holds.
    reserved: usize,
}

impl TransientState {
    fn new(budget: Arc<CacheBudget>) -> Self {
        TransientState {
            store: MemoryStateStore::default(),
            budget,
            reserved: 0,
        }
    }

    /// Applies an epoch's state changes, if the budget has room for what they add.
    fn commit(&mut self, changes: StateBatch) -> EngineResult<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.store.commit(changes)?;
        let bytes = self.store.bytes();
        if bytes > self.reserved {
            if !self.budget.try_reserve(bytes - self.reserved) {
                return Err(EngineError::OutOfMemory(format!(
                    "a push query's GROUP BY or join holds {bytes} bytes of state, more than the memory budget for operator state (--memory) has left; keep its result with CREATE TABLE .. AS SELECT and subscribe to that table"
                )));
            }
        } else {
            self.budget.release(self.reserved - bytes);
        }
        self.reserved = bytes;
        Ok(())
    }
}

impl Drop for TransientState {
    fn drop(&mut self) {
        self.budget.release(self.reserved);
    }
}

/// A push query's task.
struct Subscription {
    inputs: Inputs,
    /// The table whose changes are paired by key before the pipeline (a query of one table).
    paired_table: Option<SourceDef>,
    /// Offsets up to which input is read for the state it builds, its output not sent: a
    /// join of tables catching up with the tables' rows from before the query started.
    quiet_until: Option<Vec<Offset>>,
    pipeline: Pipeline,
    state: TransientState,
    /// Rows still to send, for a query with a LIMIT.
    rows_left: Option<usize>,
    sender: mpsc::Sender<EngineResult<RecordBatch>>,
    /// The engine's clock, sampled once per round for the operators, and waited on while
    /// input is quiet.
    clock: Arc<dyn Clock>,
}

/// What a round of a push query comes to.
enum Round {
    /// Rows for the client (maybe none).
    Rows(Vec<RecordBatch>),
    /// Nothing to do until input comes or the clock reads `until_ms`.
    Wait { until_ms: Option<i64> },
}

/// Whether a push query goes on after a round.
enum Delivery {
    More,
    Done,
}

impl Subscription {
    async fn run(mut self, mut offsets: Vec<Offset>) {
        if self.rows_left == Some(0) {
            return;
        }
        let mut grew = self.inputs.watch();
        let idle = IdleClock::start(self.clock.clone(), &mut self.pipeline, &self.state.store);
        let mut idle = match idle {
            Ok(idle) => idle,
            Err(error) => return self.fail(error).await,
        };
        loop {
            grew.mark_seen();
            let round = self.run_round(&mut offsets).and_then(|rows| match rows {
                Some(rows) => {
                    idle.input_came(&mut self.pipeline, &self.state.store)?;
                    Ok(Round::Rows(rows))
                }
                None => self.caught_up(&idle),
            });
            let rows = match round {
                Ok(Round::Rows(rows)) => rows,
                Ok(Round::Wait { until_ms }) => {
                    tokio::select! {
                        result = grew.changed() => {
                            if let Err(error) = result {
                                return self.fail(error).await;
                            }
                        }
                        () = idle.wait(until_ms) => {}
                        () = self.sender.closed() => return,
                    }
                    continue;
                }
                Err(error) => return self.fail(error).await,
            };
            match self.deliver(rows).await {
                Delivery::More => {}
                Delivery::Done => return,
            }
        }
    }

    /// With all input read: the rows of a round by the clock, or how long to wait.
    fn caught_up(&mut self, idle: &IdleClock) -> EngineResult<Round> {
        match idle.caught_up(&mut self.pipeline, &self.state.store)? {
            CaughtUp::Epoch { stream_time } => {
                let mut state_changes = StateBatch::default();
                let mut bad_rows = BadRows::default();
                let now_ms = self.clock.now_ms();
                self.end_round(now_ms, stream_time, &[], &mut state_changes, &mut bad_rows)
                    .map(Round::Rows)
            }
            CaughtUp::Wait { until_ms } => Ok(Round::Wait { until_ms }),
        }
    }

    /// One epoch over what each partition of each input has after `offsets` (a bounded
    /// amount): the rows for the client, or None if there was nothing to read. The
    /// partitions are read up to ends taken together, so that a change appended to several
    /// at once (an UPDATE of many keys) reaches the client whole when it fits in one round.
    fn run_round(&mut self, offsets: &mut [Offset]) -> EngineResult<Option<Vec<RecordBatch>>> {
        let mut state_changes = StateBatch::default();
        let mut bad_rows = BadRows::default();
        let now_ms = self.clock.now_ms();
        let ends = self.inputs.end_offsets();
        let targets: Vec<Offset> = ends
            .iter()
            .zip(offsets.iter())
            .map(|(end, start)| Offset(end.0.min(start.0 + PUSH_READ_ROWS_MAX as u64).max(start.0)))
            .collect();
        let quiet = self.quiet_until.take();
        let targets = match &quiet {
            Some(quiet_until) => targets
                .iter()
                .zip(quiet_until)
                .map(|(target, until)| *target.min(until))
                .collect(),
            None => targets,
        };
        if targets == offsets {
            return Ok(None);
        }
        let Subscription {
            inputs,
            paired_table,
            pipeline,
            state,
            ..
        } = self;
        let behind = partitions_behind(&ends, &targets);
        inputs.read_range(
            offsets,
            &targets,
            PUSH_READ_ROWS_MAX,
            |at, position, changes| {
                let changes = match paired_table {
                    Some(table) => paired_by_key(table, changes)?,
                    None => changes,
                };
                let mut cx = EpochContext {
                    state: &state.store,
                    state_changes: &mut state_changes,
                    bad_rows: &mut bad_rows,
                    input_partition: at.partition,
                    read_from: Some(position),
                    behind: &behind,
                    now_ms,
                };
                pipeline.apply(at.input, changes, &mut cx)
            },
        )?;
        offsets.copy_from_slice(&targets);
        let rows = self.end_round(now_ms, None, &behind, &mut state_changes, &mut bad_rows)?;
        match quiet {
            Some(quiet_until) => {
                if offsets != quiet_until.as_slice() {
                    self.quiet_until = Some(quiet_until);
                }
                Ok(Some(Vec::new()))
            }
            None => Ok(Some(rows)),
        }
    }

    /// Ends a round: the windows' stream time moved to `stream_time` first (an idle query's),
    /// the rows for the client, the round's state changes applied. `behind`: the partitions
    /// with rows past the round's.
    fn end_round(
        &mut self,
        now_ms: i64,
        stream_time: Option<i64>,
        behind: &[usize],
        state_changes: &mut StateBatch,
        bad_rows: &mut BadRows,
    ) -> EngineResult<Vec<RecordBatch>> {
        let mut cx = EpochContext {
            state: &self.state.store,
            state_changes,
            bad_rows,
            input_partition: 0,
            read_from: None,
            behind,
            now_ms,
        };
        if let Some(stream_time) = stream_time {
            self.pipeline.advance_stream_time(stream_time, &mut cx)?;
        }
        let output = self.pipeline.finish_epoch(&mut cx)?;
        self.state.commit(std::mem::take(state_changes))?;
        Ok(output.into_iter().map(|(_, rows)| rows).collect())
    }

    /// Sends rows to the client, up to the query's LIMIT.
    async fn deliver(&mut self, rows: Vec<RecordBatch>) -> Delivery {
        for mut batch in rows {
            if let Some(left) = self.rows_left.as_mut() {
                if batch.num_rows() >= *left {
                    batch = batch.slice(0, *left);
                    *left = 0;
                } else {
                    *left -= batch.num_rows();
                }
            }
            if self.sender.send(Ok(batch)).await.is_err() || self.rows_left == Some(0) {
                return Delivery::Done;
            }
        }
        Delivery::More
    }

    async fn fail(&mut self, error: EngineError) {
        let _ = self.sender.send(Err(error)).await;
    }
}

/// A table's changelog rows with the rows of each key paired: a key's −old and +new rows get
/// one number, so the client sink can tell an update from a delete.
fn paired_by_key(table: &SourceDef, changes: Changes) -> EngineResult<Changes> {
    let keys = primary_keys(table, changes.rows())?;
    changes.paired_by_keys(&keys)
}
