//! A dataflow built for running: its operators in order and its sink. `Pipeline::build` is
//! the one place that turns a plan into operators; the epoch loops of persistent and push
//! queries run any pipeline through `apply` and `finish_epoch` without knowing what it holds.
//!
//! Never: pass a batch on after an operator failed on it, or end an epoch without ending
//! every operator's.

use std::sync::Arc;

use arrow::array::RecordBatch;
use eddy_planner::Dataflow;

use crate::changes::Changes;
use crate::dataflow::group_by::GroupBy;
use crate::dataflow::steps::Steps;
use crate::dataflow::{EpochContext, Operator, apply_or_set_aside};
use crate::error::EngineResult;
use crate::sinks::Sink;
use crate::state::operator_cache::CacheBudget;

/// What building a pipeline needs besides its plan.
pub(crate) struct BuildContext {
    /// Names the pipeline's operator state.
    pub query_id: String,
    /// The input only ever inserts rows (a stream): aggregates can keep less.
    pub input_is_append_only: bool,
    /// The memory operator caches share.
    pub cache_budget: Arc<CacheBudget>,
    /// What to do with input rows an operator fails on.
    pub bad_input_rows: BadInputRows,
}

/// What a pipeline does with an input row an operator fails on (a division by zero, a
/// value a cast cannot hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadInputRows {
    /// Set it aside, with its error, and go on (a persistent query: ksqlDB's processing log).
    SetAside,
    /// Fail with its error (a push query: the client sees it).
    Fail,
}

/// How the sink needs its changes: what `build` hands the caller's `make_sink`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Changed {
    /// Rows passed through from the input: a stream's events, or a table's changed rows.
    Rows,
    /// An aggregation's −old/+new rows per group, paired by group.
    Groups,
}

pub(crate) struct Pipeline {
    operators: Vec<Box<dyn Operator>>,
    sink: Box<dyn Sink>,
    bad_input_rows: BadInputRows,
}

impl Pipeline {
    /// The operators of `dataflow`, into the sink `make_sink` makes for what they emit.
    pub fn build(
        dataflow: Dataflow,
        cx: BuildContext,
        make_sink: impl FnOnce(Changed) -> EngineResult<Box<dyn Sink>>,
    ) -> EngineResult<Pipeline> {
        let bad_input_rows = cx.bad_input_rows;
        let (operators, changed): (Vec<Box<dyn Operator>>, Changed) = match dataflow {
            Dataflow::Stateless(plan) => (vec![Box::new(Steps::new(plan.steps))], Changed::Rows),
            Dataflow::Aggregate(plan) => {
                let output_steps = plan.output_steps.clone();
                let group_by =
                    GroupBy::new(plan, &cx.query_id, cx.input_is_append_only, cx.cache_budget)?;
                (
                    vec![Box::new(group_by), Box::new(Steps::new(output_steps))],
                    Changed::Groups,
                )
            }
        };
        Ok(Pipeline {
            operators,
            sink: make_sink(changed)?,
            bad_input_rows,
        })
    }

    /// One batch of input `input` through the operators and into the sink. A batch an
    /// operator fails on is retried row by row; the rows that fail are set aside.
    pub fn apply(
        &mut self,
        input: usize,
        changes: Changes,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        let set_aside = match self.bad_input_rows {
            BadInputRows::SetAside => SetAside::FailingRows,
            BadInputRows::Fail => SetAside::Nothing,
        };
        self.push_from(0, input, vec![changes], set_aside, cx)
    }

    /// Ends the epoch: each operator emits what it held back, in order, through the ones
    /// after it; then the sink's output, per partition.
    pub fn finish_epoch(
        &mut self,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<Vec<(u32, RecordBatch)>> {
        for position in 0..self.operators.len() {
            let mut emitted = Vec::new();
            self.operators[position].end_epoch(&mut emitted, cx)?;
            self.push_from(position + 1, 0, emitted, SetAside::Nothing, cx)?;
        }
        self.sink.finish_epoch(cx)
    }

    /// Whether computing the next epoch reads what this epoch's commit writes.
    pub fn reads_own_writes(&self) -> bool {
        self.sink.reads_own_writes()
    }

    /// Whether the pipeline keeps state across epochs: an epoch's output is then stored
    /// with its commit, since it cannot be recomputed once the state moved on.
    pub fn has_state(&self) -> bool {
        self.sink.has_state() || self.operators.iter().any(|operator| operator.has_state())
    }

    /// `batches` (on `input` of operator `first`) through operators `first..` and the sink.
    fn push_from(
        &mut self,
        first: usize,
        mut input: usize,
        mut batches: Vec<Changes>,
        set_aside: SetAside,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        for operator in &mut self.operators[first..] {
            let mut emitted = Vec::new();
            for changes in batches {
                let mut apply = |changes, cx: &mut EpochContext<'_>| {
                    operator.apply(input, changes, &mut emitted, cx)
                };
                match set_aside {
                    SetAside::FailingRows => apply_or_set_aside(changes, cx, apply)?,
                    SetAside::Nothing => apply(changes, cx)?,
                }
            }
            if emitted.is_empty() {
                return Ok(());
            }
            batches = emitted;
            input = 0;
        }
        for changes in batches {
            let sink = &mut self.sink;
            match set_aside {
                SetAside::FailingRows => {
                    apply_or_set_aside(changes, cx, |changes, cx| sink.apply(changes, cx))?
                }
                SetAside::Nothing => sink.apply(changes, cx)?,
            }
        }
        Ok(())
    }
}

/// What to do with rows an operator fails on.
#[derive(Debug, Clone, Copy)]
enum SetAside {
    /// Input rows: retry the batch row by row and set the failing rows aside, as ksqlDB's
    /// processing log does.
    FailingRows,
    /// Fail on the first error: for a push query's input, and for the rows an operator
    /// emits at the end of an epoch (a group's −old/+new rows, which a sink must see whole:
    /// setting one aside would leave the sink's table wrong).
    Nothing,
}
