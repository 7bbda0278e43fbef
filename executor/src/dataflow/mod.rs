//! Operators of a dataflow, behind one seam: synchronous, deterministic steps over batches of
//! changes (`Changes`: the Z-set currency of `changes.rs`), on numbered inputs (a join has
//! two), that may hold rows back until the end of an epoch (a GROUP BY emits each touched
//! group's −old/+new rows then). Each operator's file states its weight rule.
//!
//! The epoch loop (`runtime/`) runs any chain of them into a sink (`sinks/`) without knowing
//! which operators it holds; `runtime/pipeline.rs` is the one place that builds them from a
//! plan. A new operator (window, join, EMIT FINAL) is a new file here.
//!
//! May use: `changes`, `state`, `batches`, planner plans. Must not know: tokio, tasks, logs
//! (`Topic`), the clock, the engine or statements.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;
use datafusion::physical_expr::PhysicalExpr;
use eddy_storage::{StateBatch, StateStore};

use crate::batches::evaluate_condition;
use crate::changes::Changes;
use crate::error::{EngineError, EngineResult};

pub(crate) mod aggregate;
pub(crate) mod asof_join;
pub(crate) mod group_by;
#[cfg(test)]
pub(crate) mod harness;
#[cfg(test)]
mod incremental_tests;
pub(crate) mod interval_join;
pub(crate) mod join;
pub(crate) mod join_runs;
pub(crate) mod lookup_join;
pub(crate) mod steps;
pub(crate) mod stream_time;
pub(crate) mod temporal_filter;
pub(crate) mod window;

/// One operator of a dataflow.
///
/// Synchronous and deterministic: never reads the clock, never blocks, and gives the same
/// output for the same input and state, so that an epoch recomputed after a crash is the
/// epoch that was lost. An `apply` that fails changes nothing (no state, no output): the
/// runner then retries the batch row by row and sets aside the rows that fail.
pub(crate) trait Operator: Send {
    /// A batch of changes on input `input` (0 for operators of one input). Changes ready now
    /// go to `output`; an operator may also hold them back until `end_epoch`.
    fn apply(
        &mut self,
        input: usize,
        changes: Changes,
        output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()>;

    /// End of epoch: emit what was held back, and put state changes in `cx.state_changes`.
    fn end_epoch(
        &mut self,
        _output: &mut Vec<Changes>,
        _cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        Ok(())
    }

    /// Whether the operator keeps state across epochs: then an epoch cannot be recomputed
    /// from its input after its commit, and its output is stored with the commit.
    fn has_state(&self) -> bool {
        false
    }

    /// When the operator next has rows to emit by the clock alone (a temporal filter's next
    /// bound), in clock milliseconds, read from `state` after a restart; the runner runs an
    /// epoch then even without input.
    fn next_due_ms(&mut self, _state: &dyn StateStore) -> EngineResult<Option<i64>> {
        Ok(None)
    }

    /// How long a window waits for input, once its query has read all of it, before its
    /// stream time follows the clock (`IDLE TIMEOUT`); None: it waits for rows.
    fn idle_timeout_ms(&self) -> Option<i64> {
        None
    }

    /// How many rows of state work an input row makes at most: the windows it falls in (a
    /// hopping window of size 10 s advancing by 2 s: 5), else 1. An epoch reads that many
    /// times fewer rows, so that its work, and the memory it holds, stays within bounds.
    fn rows_per_input_row(&self) -> usize {
        1
    }

    /// The stream time the operator has reached, read from `state` after a restart; None
    /// before its first row, or for an operator without one.
    fn stream_time(&mut self, _state: &dyn StateStore) -> EngineResult<Option<i64>> {
        Ok(None)
    }

    /// Moves the operator's stream time to `stream_time` if it is behind, as a row of that
    /// time would (without the row): windows it passes close. The runner decides the time,
    /// from the clock, and calls this inside an epoch before `end_epoch`.
    fn advance_stream_time(
        &mut self,
        _stream_time: i64,
        _cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        Ok(())
    }
}

/// What an operator sees of the epoch it runs in.
pub(crate) struct EpochContext<'a> {
    /// The committed state. The commit of the epoch before may still be in flight: an
    /// operator must not read here what that epoch changed (`state::operator_cache` keeps it).
    pub state: &'a dyn StateStore,
    /// State changes of this epoch, committed atomically with its input range.
    pub state_changes: &'a mut StateBatch,
    /// Rows that could not be processed, for `eddy_processing_log`.
    pub bad_rows: &'a mut BadRows,
    /// The input partition of the batch being applied.
    pub input_partition: u32,
    /// Where the batch being applied was read: the position of its input partition among
    /// the query's (`Inputs`); None for rows an operator emits as the epoch ends.
    pub read_from: Option<usize>,
    /// The input partitions (positions, as `read_from`) that still had rows to read when the
    /// epoch was cut: a query catching up. Stream time waits for them (`StreamTime::settle`).
    pub behind: &'a [usize],
    /// The clock's time for the epoch (milliseconds since the Unix epoch), sampled once by
    /// the runner: operators never read the clock themselves.
    pub now_ms: i64,
}

/// Applies a batch to `apply` (an operator's or a sink's); a batch that fails with an error
/// that a single row can cause is retried row by row, and the rows that fail are set aside
/// with their error.
pub(crate) fn apply_or_set_aside(
    changes: Changes,
    cx: &mut EpochContext<'_>,
    mut apply: impl FnMut(Changes, &mut EpochContext<'_>) -> EngineResult<()>,
) -> EngineResult<()> {
    match apply(changes.clone(), cx) {
        Err(error) if is_row_error(&error) => {
            for row in 0..changes.num_rows() {
                let single = changes.row(row);
                match apply(single.clone(), cx) {
                    Ok(()) => {}
                    Err(error) if is_row_error(&error) => cx.bad_rows.push(single.rows(), &error),
                    Err(error) => return Err(error),
                }
            }
            Ok(())
        }
        result => result,
    }
}

/// A join's condition on each of its candidate pairs, `joined` (NULL as false). A pair the
/// condition fails on (a division by zero) does not match, and is set aside with its error
/// if `first_seen` says this is its first evaluation (a pair of kept rows is evaluated
/// again whenever its key changes), so that one bad pair neither stops the query nor keeps
/// its rows out of the join's state.
pub(crate) fn pairs_matching(
    condition: &dyn PhysicalExpr,
    joined: &RecordBatch,
    first_seen: impl Fn(usize) -> bool,
    bad_rows: &mut BadRows,
) -> EngineResult<Vec<bool>> {
    match evaluate_condition(condition, joined) {
        Ok(holds) => Ok((0..holds.len()).map(|pair| holds.value(pair)).collect()),
        Err(error) if is_row_error(&error) => (0..joined.num_rows())
            .map(|pair| {
                let single = joined.slice(pair, 1);
                match evaluate_condition(condition, &single) {
                    Ok(holds) => Ok(holds.value(0)),
                    Err(error) if is_row_error(&error) => {
                        if first_seen(pair) {
                            bad_rows.push(&single, &error);
                        }
                        Ok(false)
                    }
                    Err(error) => Err(error),
                }
            })
            .collect(),
        Err(error) => Err(error),
    }
}

/// Errors a single row can cause (and so can be set aside); any other error stops the query.
fn is_row_error(error: &EngineError) -> bool {
    matches!(
        error,
        EngineError::DataFusion(_) | EngineError::Arrow(_) | EngineError::Data(_)
    )
}

/// Rows that could not be processed, with why, for `eddy_processing_log`.
#[derive(Debug, Default)]
pub(crate) struct BadRows {
    messages: Vec<String>,
    records: Vec<String>,
    /// How many of them are late rows (behind their windows' close).
    late: u64,
}

impl BadRows {
    pub fn push(&mut self, row: &RecordBatch, error: &EngineError) {
        if matches!(error, EngineError::Data(crate::error::DataError::Late(_))) {
            self.late += 1;
        }
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

    /// How many rows were set aside for being late.
    pub fn late_rows(&self) -> u64 {
        self.late
    }

    /// Why each row was set aside, in order.
    #[cfg(test)]
    pub fn messages(&self) -> &[String] {
        &self.messages
    }

    /// The rows of the processing log (`schema`), set aside by query `query_id` at `now_ms`.
    pub fn into_batch(
        self,
        query_id: &str,
        schema: &SchemaRef,
        now_ms: i64,
    ) -> EngineResult<Option<RecordBatch>> {
        if self.messages.is_empty() {
            return Ok(None);
        }
        let rows = self.messages.len();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![query_id; rows])),
            Arc::new(StringArray::from(self.messages)),
            Arc::new(StringArray::from(self.records)),
            Arc::new(Int64Array::from_value(now_ms, rows)),
        ];
        Ok(Some(RecordBatch::try_new(schema.clone(), columns)?))
    }
}
