//! Where a dataflow's changes go: a stream's log, a table (its rows and changelog), or a
//! client's connection. A sink takes the changes of each batch as they come, then gives the
//! epoch's output, per partition, at its end; the runner commits and appends it.
//!
//! May use: `dataflow` (its epoch context), `state` (tables), `changes`, `batches`. Must not
//! know: tasks, the clock, the engine or statements.

use arrow::array::RecordBatch;

use crate::changes::Changes;
use crate::dataflow::EpochContext;
use crate::error::EngineResult;

pub(crate) mod client;
pub(crate) mod stream;
pub(crate) mod table;

/// The end of a dataflow.
pub(crate) trait Sink: Send {
    /// The changes of one batch. Like `Operator::apply`, a call that fails changes nothing,
    /// so that the runner can retry the batch row by row.
    fn apply(&mut self, changes: Changes, cx: &mut EpochContext<'_>) -> EngineResult<()>;

    /// End of epoch: the rows to append, per partition of the sink, and (into
    /// `cx.state_changes`) the state changes that go with them.
    fn finish_epoch(&mut self, cx: &mut EpochContext<'_>) -> EngineResult<Vec<(u32, RecordBatch)>>;

    /// True if computing the next epoch reads what this epoch's commit writes: the runner
    /// then waits for that commit before computing it.
    fn reads_own_writes(&self) -> bool {
        false
    }

    /// Whether the sink keeps state across epochs (a table's rows): then an epoch's output
    /// cannot be recomputed after its commit, and is stored with it.
    fn has_state(&self) -> bool {
        false
    }
}
