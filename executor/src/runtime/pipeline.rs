//! A dataflow built for running: its operators in order and its sink. `Pipeline::build` is
//! the one place that turns a plan into operators; the epoch loops of persistent and push
//! queries run any pipeline through `apply` and `finish_epoch` without knowing what it holds.
//!
//! Never: pass a batch on after an operator failed on it, or end an epoch without ending
//! every operator's.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use eddy_planner::{Dataflow, Step};
use eddy_storage::StateStore;

use crate::changes::Changes;
use crate::dataflow::group_by::GroupBy;
use crate::dataflow::lookup_join::LookupJoin;
use crate::dataflow::steps::Steps;
use crate::dataflow::temporal_filter::TemporalFilterOperator;
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
    /// The rows the pipeline takes: its source's queryable rows.
    pub source_schema: SchemaRef,
    /// The memory operator caches share.
    pub cache_budget: Arc<CacheBudget>,
    /// What to do with input rows an operator fails on.
    pub bad_input_rows: BadInputRows,
    /// The store whose tables' current rows stream-table joins read, when the epoch's
    /// state is not it (a push query's operator state is its own); None: the epoch's.
    pub tables: Option<Arc<dyn StateStore>>,
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
        // A temporal filter comes first, on the source's rows; rows it lets pass may leave
        // later, so what follows it no longer sees only insertions.
        let temporal_filter = dataflow.temporal_filter().cloned().map(|filter| {
            Box::new(TemporalFilterOperator::new(
                filter,
                cx.source_schema.clone(),
                &cx.query_id,
                cx.cache_budget.clone(),
            )) as Box<dyn Operator>
        });
        let append_only = cx.input_is_append_only && temporal_filter.is_none();
        let (operators, changed): (Vec<Box<dyn Operator>>, Changed) = match dataflow {
            Dataflow::Stateless(plan) => (step_operators(plan.steps, &cx.tables), Changed::Rows),
            Dataflow::Aggregate(mut plan) => {
                let output_steps = plan.output_steps.clone();
                // A join feeding the GROUP BY runs before it; the GROUP BY then takes the
                // joined rows as they are.
                let input_steps = match plan.input_steps.iter().any(is_lookup_join) {
                    true => std::mem::take(&mut plan.input_steps),
                    false => Vec::new(),
                };
                let group_by = GroupBy::new(plan, &cx.query_id, append_only, cx.cache_budget)?;
                let mut operators = match input_steps.is_empty() {
                    true => Vec::new(),
                    false => step_operators(input_steps, &cx.tables),
                };
                operators.push(Box::new(group_by));
                operators.extend(step_operators(output_steps, &cx.tables));
                (operators, Changed::Groups)
            }
        };
        let operators = temporal_filter.into_iter().chain(operators).collect();
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

    /// When the pipeline next has rows to emit by the clock alone (`Operator::next_due_ms`).
    pub fn next_due_ms(&mut self, state: &dyn StateStore) -> EngineResult<Option<i64>> {
        let mut earliest: Option<i64> = None;
        for operator in &mut self.operators {
            if let Some(due) = operator.next_due_ms(state)? {
                earliest = Some(earliest.map_or(due, |earliest| earliest.min(due)));
            }
        }
        Ok(earliest)
    }

    /// How long the pipeline's windows wait for input before stream time follows the clock
    /// (`Operator::idle_timeout_ms`); the shortest of its operators'.
    pub fn idle_timeout_ms(&self) -> Option<i64> {
        self.operators
            .iter()
            .filter_map(|operator| operator.idle_timeout_ms())
            .min()
    }

    /// How many rows of state work an input row makes at most (`Operator::rows_per_input_row`),
    /// through every operator.
    pub fn rows_per_input_row(&self) -> usize {
        self.operators
            .iter()
            .map(|operator| operator.rows_per_input_row().max(1))
            .fold(1, usize::saturating_mul)
    }

    /// The stream time of the pipeline's windows (`Operator::stream_time`).
    pub fn stream_time(&mut self, state: &dyn StateStore) -> EngineResult<Option<i64>> {
        let mut latest = None;
        for operator in &mut self.operators {
            latest = latest.max(operator.stream_time(state)?);
        }
        Ok(latest)
    }

    /// Moves the stream time of the pipeline's windows to `stream_time`, inside an epoch.
    pub fn advance_stream_time(
        &mut self,
        stream_time: i64,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        for operator in &mut self.operators {
            operator.advance_stream_time(stream_time, cx)?;
        }
        Ok(())
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

/// A chain of steps as operators: runs of filters and projections, and each stream-table
/// join between them.
fn step_operators(
    steps: Vec<Step>,
    tables: &Option<Arc<dyn StateStore>>,
) -> Vec<Box<dyn Operator>> {
    let mut operators: Vec<Box<dyn Operator>> = Vec::new();
    let mut run = Vec::new();
    for step in steps {
        match step {
            Step::LookupJoin(join) => {
                if !run.is_empty() {
                    operators.push(Box::new(Steps::new(std::mem::take(&mut run))));
                }
                operators.push(Box::new(LookupJoin::new(join, tables.clone())));
            }
            step => run.push(step),
        }
    }
    if !run.is_empty() || operators.is_empty() {
        operators.push(Box::new(Steps::new(run)));
    }
    operators
}

fn is_lookup_join(step: &Step) -> bool {
    matches!(step, Step::LookupJoin(_))
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

#[cfg(test)]
mod tests {
    use arrow::util::pretty::pretty_format_batches;
    use eddy_storage::{MemoryStateStore, StateStore};

    use super::*;
    use crate::dataflow::harness::{changes, dataflow, in_epoch, source};
    use crate::sinks::client::ClientSink;

    /// The pipeline of `sql` over `sources` into a client sink, as a push query builds it.
    async fn client_pipeline(
        sources: &[eddy_planner::SourceDef],
        sql: &str,
        bad_input_rows: BadInputRows,
    ) -> Pipeline {
        let dataflow = dataflow(sources, sql).await;
        let keyed = matches!(dataflow, Dataflow::Aggregate(_));
        let sink = ClientSink::new(dataflow.output_schema(), keyed);
        let build = BuildContext {
            query_id: "test".into(),
            input_is_append_only: !sources[0].is_table(),
            source_schema: sources[0].queryable_schema(),
            cache_budget: Arc::new(CacheBudget::new(1 << 20)),
            bad_input_rows,
            tables: None,
        };
        Pipeline::build(dataflow, build, |_| Ok(Box::new(sink))).expect("builds")
    }

    /// The epoch's output as a table, for assertions.
    fn table_of(output: &[(u32, RecordBatch)]) -> String {
        let batches: Vec<RecordBatch> = output.iter().map(|(_, rows)| rows.clone()).collect();
        pretty_format_batches(&batches)
            .expect("formats")
            .to_string()
    }

    #[tokio::test]
    async fn a_row_an_operator_fails_on_is_set_aside_and_its_batch_goes_on() {
        let events = source("stream events (id BIGINT, v BIGINT)");
        let sources = std::slice::from_ref(&events);
        let sql = "SELECT id, 10 / v AS r FROM events";
        let mut pipeline = client_pipeline(sources, sql, BadInputRows::SetAside).await;
        let state = MemoryStateStore::default();
        let (output, _, bad_rows) = in_epoch(&state, |cx| {
            let batch = changes(&events, &["+ 1 2", "+ 2 0", "+ 3 5"]);
            pipeline.apply(0, batch, cx).expect("the batch goes on");
            pipeline.finish_epoch(cx).expect("the epoch ends")
        });
        assert_eq!(
            table_of(&output),
            "+----+---+\n| id | r |\n+----+---+\n| 1  | 5 |\n| 3  | 2 |\n+----+---+"
        );
        assert_eq!(bad_rows.messages().len(), 1, "{:?}", bad_rows.messages());
        assert!(
            bad_rows.messages()[0].contains("Divide by zero"),
            "{:?}",
            bad_rows.messages()
        );

        // A push query fails instead: its client sees the error.
        let mut pipeline = client_pipeline(sources, sql, BadInputRows::Fail).await;
        let (result, _, bad_rows) = in_epoch(&state, |cx| {
            pipeline.apply(0, changes(&events, &["+ 1 2", "+ 2 0"]), cx)
        });
        assert!(result.is_err());
        assert!(bad_rows.messages().is_empty());
    }

    #[tokio::test]
    async fn an_epoch_ends_each_operator_in_order_into_the_sink() {
        let items = source("table items (id BIGINT KEY, g BIGINT)");
        let sources = std::slice::from_ref(&items);
        // The HAVING step after the GROUP BY sees the groups only when the epoch ends.
        let sql = "SELECT g, COUNT(*) AS n FROM items GROUP BY g HAVING COUNT(*) > 1";
        let mut pipeline = client_pipeline(sources, sql, BadInputRows::SetAside).await;
        assert!(pipeline.has_state(), "a GROUP BY keeps state");
        assert!(
            !pipeline.reads_own_writes(),
            "its cache holds the last epoch's states"
        );
        let state = MemoryStateStore::default();
        let mut epoch = |lines: &[&str]| {
            let (output, state_changes, _) = in_epoch(&state, |cx| {
                pipeline
                    .apply(0, changes(&items, lines), cx)
                    .expect("applies");
                pipeline.finish_epoch(cx).expect("ends")
            });
            state.commit(state_changes).expect("commits");
            table_of(&output)
        };
        assert_eq!(
            epoch(&["+ 1 7", "+ 2 7", "+ 3 8"]),
            "+---+---+--------+\n| g | n | op     |\n+---+---+--------+\n| 7 | 2 | upsert |\n+---+---+--------+"
        );
        assert_eq!(
            epoch(&["- 2 7"]),
            "+---+---+--------+\n| g | n | op     |\n+---+---+--------+\n| 7 | 2 | delete |\n+---+---+--------+"
        );
    }

    #[tokio::test]
    async fn a_stateless_pipeline_says_it_keeps_no_state() {
        let events = source("stream events (id BIGINT, v BIGINT)");
        let pipeline = client_pipeline(
            std::slice::from_ref(&events),
            "SELECT id FROM events WHERE v > 1",
            BadInputRows::SetAside,
        )
        .await;
        assert!(!pipeline.has_state());
        assert!(!pipeline.reads_own_writes());
    }
}
