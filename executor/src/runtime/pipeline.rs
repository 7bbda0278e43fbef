//! A dataflow built for running: its operators, each linked to what it feeds, and its sink.
//! `Pipeline::build` is the one place that turns a plan into operators; the epoch loops of
//! persistent and push queries run any pipeline through `apply` and `finish_epoch` without
//! knowing what it holds.
//!
//! The operators form a graph: each of the query's inputs enters a chain of operators, and
//! chains meet at joins (a join's second input is the chain of its second source). They are
//! kept in an order where each comes after every operator that feeds it, so ending them in
//! that order flushes what each holds back through all that follow.
//!
//! Each operator is added with its description (`profile.rs`), and the dispatch counts the
//! rows into and out of each operator once per batch, for EXPLAIN ANALYZE.
//!
//! Never: pass a batch on after an operator failed on it, or end an epoch without ending
//! every operator's.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use eddy_planner::{Dataflow, Step};
use eddy_storage::StateStore;

use crate::changes::Changes;
use crate::dataflow::asof_join::AsofJoin;
use crate::dataflow::group_by::GroupBy;
use crate::dataflow::interval_join::IntervalJoin;
use crate::dataflow::join::Join;
use crate::dataflow::lookup_join::LookupJoin;
use crate::dataflow::steps::Steps;
use crate::dataflow::temporal_filter::TemporalFilterOperator;
use crate::dataflow::{EpochContext, Operator, apply_or_set_aside};
use crate::error::{EngineError, EngineResult};
use crate::runtime::profile::{
    self, Feeder, InputProfile, OperatorDescription, OperatorProfile, PipelineProfile,
};
use crate::sinks::Sink;
use crate::state::keys::OperatorStateKeys;
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
    /// The sink tells a key's update from its delete by the changes' pairing (a push
    /// query's client): joins of tables pair the rows they emit by result key.
    pub pairs_keyed_changes: bool,
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
    /// Each operator after those that feed it.
    operators: Vec<Box<dyn Operator>>,
    /// Where each operator's output goes: an input of a later operator, or the sink (None).
    downstream: Vec<Option<Port>>,
    /// Where each input of the query enters, numbered as `Dataflow::sources` numbers them:
    /// an input of an operator, or the sink (None).
    entries: Vec<Option<Port>>,
    sink: Box<dyn Sink>,
    bad_input_rows: BadInputRows,
    /// Each operator's description and counters, shared with whoever explains the query.
    profile: Arc<PipelineProfile>,
}

/// An input of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Port {
    operator: usize,
    input: usize,
}

/// What feeds the next operator of a chain being built: one of the query's inputs, or an
/// operator.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Input(usize),
    Operator(usize),
}

/// The operators of a dataflow being built, linked as they feed each other.
struct Graph<'a> {
    operators: Vec<Box<dyn Operator>>,
    descriptions: Vec<OperatorDescription>,
    downstream: Vec<Option<Port>>,
    entries: Vec<Option<Port>>,
    cx: &'a BuildContext,
    /// Joins of two inputs so far: the next one's number names its state.
    joins: usize,
    /// GROUP BYs inside the query so far (subqueries'): the next one's number names its
    /// state.
    nested_aggregates: usize,
}

impl<'a> Graph<'a> {
    fn new(inputs: usize, cx: &'a BuildContext) -> Self {
        Graph {
            operators: Vec::new(),
            descriptions: Vec::new(),
            downstream: Vec::new(),
            entries: vec![None; inputs],
            cx,
            joins: 0,
            nested_aggregates: 0,
        }
    }

    /// Adds `operator`, described by `description`, on input `input`, fed by `feed`; it
    /// feeds what follows.
    fn add(
        &mut self,
        feed: Feed,
        operator: Box<dyn Operator>,
        description: OperatorDescription,
        input: usize,
    ) -> Feed {
        let position = self.operators.len();
        self.operators.push(operator);
        self.descriptions.push(description);
        self.downstream.push(None);
        self.link(
            feed,
            Port {
                operator: position,
                input,
            },
        );
        Feed::Operator(position)
    }

    fn link(&mut self, feed: Feed, port: Port) {
        match feed {
            Feed::Input(input) => {
                if let Some(entry) = self.entries.get_mut(input) {
                    *entry = Some(port);
                }
            }
            Feed::Operator(operator) => self.downstream[operator] = Some(port),
        }
    }

    /// Adds the operators of a chain of steps fed by `feed`: runs of filters and
    /// projections, and each join between them (a join of two inputs with the chain of its
    /// second input, which reads the next input number).
    fn chain(&mut self, steps: Vec<Step>, mut feed: Feed) -> EngineResult<Feed> {
        let mut run = Vec::new();
        for step in steps {
            match step {
                Step::LookupJoin(join) => {
                    feed = self.flush(feed, &mut run);
                    let description = profile::describe_lookup_join(&join);
                    let operator = LookupJoin::new(join, self.cx.tables.clone());
                    feed = self.add(feed, Box::new(operator), description, 0);
                }
                Step::Join(join) => {
                    feed = self.flush(feed, &mut run);
                    let second_input = 1 + self.joins;
                    let number = self.joins;
                    self.joins += 1;
                    let second = self.chain(join.right.steps.clone(), Feed::Input(second_input))?;
                    let budget = self.cx.cache_budget.clone();
                    let description = profile::describe_join(&join, number, &self.cx.query_id);
                    let operator: Box<dyn Operator> = match join.window {
                        None if let Some(asof) = join.asof.clone() => {
                            Box::new(AsofJoin::new(join, asof, &self.cx.query_id, number, budget))
                        }
                        Some(window) => Box::new(IntervalJoin::new(
                            join,
                            window,
                            &self.cx.query_id,
                            number,
                            budget,
                        )),
                        None => Box::new(Join::new(
                            join,
                            &self.cx.query_id,
                            number,
                            budget,
                            self.cx.pairs_keyed_changes,
                        )),
                    };
                    feed = self.add(feed, operator, description, 0);
                    let Feed::Operator(join_at) = feed else {
                        return Err(EngineError::Internal("a join was not added".into()));
                    };
                    self.link(
                        second,
                        Port {
                            operator: join_at,
                            input: 1,
                        },
                    );
                }
                Step::Aggregate(plan) => {
                    feed = self.flush(feed, &mut run);
                    let state_id = OperatorStateKeys::of(&self.cx.query_id)
                        .nested_aggregate_id(self.nested_aggregates);
                    self.nested_aggregates += 1;
                    // Its input's kind is not tracked this deep into the query: it keeps
                    // what a GROUP BY over a table keeps, which is right for a stream too.
                    let input_retracts = true;
                    let description = profile::describe_group_by(&plan, &state_id, input_retracts);
                    let group_by = GroupBy::new(
                        plan.as_ref().clone(),
                        &state_id,
                        !input_retracts,
                        self.cx.cache_budget.clone(),
                    )?
                    .feeding_an_operator();
                    feed = self.add(feed, Box::new(group_by), description, 0);
                }
                step => run.push(step),
            }
        }
        Ok(self.flush(feed, &mut run))
    }

    /// The filters and projections of `run` as one operator, if there are any.
    fn flush(&mut self, feed: Feed, run: &mut Vec<Step>) -> Feed {
        match run.is_empty() {
            true => feed,
            false => {
                let description = profile::describe_steps(run);
                let operator = Box::new(Steps::new(std::mem::take(run)));
                self.add(feed, operator, description, 0)
            }
        }
    }
}

impl Pipeline {
    /// The operators of `dataflow`, into the sink `make_sink` makes for what they emit.
    pub fn build(
        dataflow: Dataflow,
        cx: BuildContext,
        make_sink: impl FnOnce(Changed) -> EngineResult<Box<dyn Sink>>,
    ) -> EngineResult<Pipeline> {
        let bad_input_rows = cx.bad_input_rows;
        let inputs = dataflow.sources().len();
        let mut graph = Graph::new(inputs, &cx);
        let mut feed = Feed::Input(0);
        // A temporal filter comes first, on the source's rows; rows it lets pass may leave
        // later, so what follows it no longer sees only insertions.
        if let Some(filter) = dataflow.temporal_filter().cloned() {
            let description = profile::describe_temporal_filter(&filter, &cx.query_id);
            let operator = TemporalFilterOperator::new(
                filter,
                cx.source_schema.clone(),
                &cx.query_id,
                cx.cache_budget.clone(),
            );
            feed = graph.add(feed, Box::new(operator), description, 0);
        }
        let append_only = cx.input_is_append_only
            && dataflow.temporal_filter().is_none()
            && dataflow.nested_aggregates().is_empty()
            && dataflow
                .two_input_joins()
                .iter()
                .all(|join| join.emits_only_insertions());
        let result_retracts = !cx.input_is_append_only
            || dataflow
                .temporal_filter()
                .is_some_and(|filter| filter.expires_rows())
            || !dataflow.nested_aggregates().is_empty()
            || dataflow
                .two_input_joins()
                .iter()
                .any(|join| !join.emits_only_insertions());
        let window_retention_ms = match &dataflow {
            Dataflow::Aggregate(plan) => plan.window.map(|window| window.retention_ms),
            Dataflow::Stateless(_) => None,
        };
        let sources: Vec<String> = dataflow.sources().into_iter().map(String::from).collect();
        let changed = match dataflow {
            Dataflow::Stateless(plan) => {
                graph.chain(plan.steps, feed)?;
                Changed::Rows
            }
            Dataflow::Aggregate(mut plan) => {
                let output_steps = std::mem::take(&mut plan.output_steps);
                // A join feeding the GROUP BY runs before it; the GROUP BY then takes the
                // joined rows as they are. Otherwise it runs its input steps itself.
                if plan.input_steps.iter().any(Step::is_operator) {
                    feed = graph.chain(std::mem::take(&mut plan.input_steps), feed)?;
                }
                let description = profile::describe_group_by(&plan, &cx.query_id, result_retracts);
                let group_by =
                    GroupBy::new(plan, &cx.query_id, append_only, cx.cache_budget.clone())?;
                feed = graph.add(feed, Box::new(group_by), description, 0);
                graph.chain(output_steps, feed)?;
                Changed::Groups
            }
        };
        let Graph {
            operators,
            descriptions,
            downstream,
            entries,
            ..
        } = graph;
        // The last operator of the main chain feeds the sink: its `downstream` stays None.
        let profile = Arc::new(PipelineProfile {
            sink_reads: feeders_of(None, &downstream, &entries),
            operators: descriptions
                .into_iter()
                .enumerate()
                .map(|(position, description)| {
                    let reads = (0..2)
                        .flat_map(|input| {
                            let port = Port {
                                operator: position,
                                input,
                            };
                            feeders_of(Some(port), &downstream, &entries)
                        })
                        .collect();
                    OperatorProfile {
                        description,
                        reads,
                        rows_in: AtomicU64::new(0),
                        rows_out: AtomicU64::new(0),
                    }
                })
                .collect(),
            inputs: sources
                .into_iter()
                .map(|source| InputProfile {
                    source,
                    rows: AtomicU64::new(0),
                })
                .collect(),
            sink_rows: AtomicU64::new(0),
            result_retracts,
            window_retention_ms,
        });
        Ok(Pipeline {
            operators,
            downstream,
            entries,
            sink: make_sink(changed)?,
            bad_input_rows,
            profile,
        })
    }

    /// What the pipeline runs, and its counters so far.
    pub fn profile(&self) -> Arc<PipelineProfile> {
        self.profile.clone()
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
        let entry = *self.entries.get(input).ok_or_else(|| {
            EngineError::Internal(format!(
                "rows of input {input} for a dataflow of {} inputs",
                self.entries.len()
            ))
        })?;
        profile::count(&self.profile.inputs[input].rows, changes.num_rows());
        self.push_into(entry, vec![changes], set_aside, cx)
    }

    /// Ends the epoch: each operator emits what it held back, in order, through the ones
    /// it feeds; then the sink's output, per partition.
    pub fn finish_epoch(
        &mut self,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<Vec<(u32, RecordBatch)>> {
        for position in 0..self.operators.len() {
            let mut emitted = Vec::new();
            self.operators[position].end_epoch(&mut emitted, cx)?;
            let counters = &self.profile.operators[position];
            profile::count(&counters.rows_out, rows_of(&emitted));
            if !emitted.is_empty() {
                let downstream = self.downstream[position];
                self.push_into(downstream, emitted, SetAside::Nothing, cx)?;
            }
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

    /// `batches` into `to` (the sink for None) and on through what it feeds.
    fn push_into(
        &mut self,
        mut to: Option<Port>,
        mut batches: Vec<Changes>,
        set_aside: SetAside,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        while let Some(port) = to {
            let operator = &mut self.operators[port.operator];
            let counters = &self.profile.operators[port.operator];
            profile::count(&counters.rows_in, rows_of(&batches));
            let mut emitted = Vec::new();
            for changes in batches {
                let mut apply = |changes, cx: &mut EpochContext<'_>| {
                    operator.apply(port.input, changes, &mut emitted, cx)
                };
                match set_aside {
                    SetAside::FailingRows => apply_or_set_aside(changes, cx, apply)?,
                    SetAside::Nothing => apply(changes, cx)?,
                }
            }
            profile::count(&counters.rows_out, rows_of(&emitted));
            if emitted.is_empty() {
                return Ok(());
            }
            batches = emitted;
            to = self.downstream[port.operator];
        }
        profile::count(&self.profile.sink_rows, rows_of(&batches));
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

/// The rows of a list of batches.
fn rows_of(batches: &[Changes]) -> usize {
    batches.iter().map(Changes::num_rows).sum()
}

/// What feeds `port` (the sink for None): the inputs that enter there and the operators
/// whose output goes there.
fn feeders_of(
    port: Option<Port>,
    downstream: &[Option<Port>],
    entries: &[Option<Port>],
) -> Vec<Feeder> {
    let inputs = (0..entries.len())
        .filter(|input| entries[*input] == port)
        .map(Feeder::Input);
    let operators = (0..downstream.len())
        .filter(|operator| downstream[*operator] == port)
        .map(Feeder::Operator);
    inputs.chain(operators).collect()
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
    use crate::runtime::profile::StateBound;
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
            pairs_keyed_changes: true,
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
    async fn the_profile_describes_each_operator_and_counts_its_rows_per_batch() {
        let events = source("stream events (id BIGINT, g BIGINT)");
        let sql = "SELECT g, COUNT(*) AS n FROM events WHERE id > 1 GROUP BY g HAVING COUNT(*) > 0";
        let mut pipeline =
            client_pipeline(std::slice::from_ref(&events), sql, BadInputRows::SetAside).await;
        let profile = pipeline.profile();
        let group_by = &profile.operators[0];
        assert_eq!(group_by.description.name, "GROUP BY");
        assert_eq!(group_by.reads, [Feeder::Input(0)]);
        let state = group_by
            .description
            .state
            .as_ref()
            .expect("a GROUP BY keeps state");
        assert!(
            matches!(state.bound, StateBound::Unbounded(_)),
            "a group per key of a stream, for ever: {state:?}"
        );
        assert_eq!(state.prefixes, [b"q/test/g/".to_vec()]);
        assert_eq!(profile.operators[1].reads, [Feeder::Operator(0)]);
        assert_eq!(profile.sink_reads, [Feeder::Operator(1)]);
        let state = MemoryStateStore::default();
        in_epoch(&state, |cx| {
            let batch = changes(&events, &["+ 1 7", "+ 2 7", "+ 3 8"]);
            pipeline.apply(0, batch, cx).expect("applies");
            pipeline.finish_epoch(cx).expect("ends")
        });
        let read = |counter| profile::read(counter);
        assert_eq!(read(&profile.inputs[0].rows), 3);
        // The GROUP BY filters its own input: 3 rows in, one row per group out.
        assert_eq!(read(&group_by.rows_in), 3);
        assert_eq!(read(&group_by.rows_out), 2);
        assert_eq!(read(&profile.operators[1].rows_in), 2);
        assert_eq!(read(&profile.sink_rows), 2);

        // Over a table, a group goes with its last row: bounded.
        let items = source("table items (id BIGINT KEY, g BIGINT)");
        let sql = "SELECT g, COUNT(*) AS n FROM items GROUP BY g";
        let pipeline =
            client_pipeline(std::slice::from_ref(&items), sql, BadInputRows::SetAside).await;
        let profile = pipeline.profile();
        let state = profile.operators[0].description.state.as_ref();
        assert!(
            matches!(
                state.map(|state| &state.bound),
                Some(StateBound::Bounded(_))
            ),
            "{state:?}"
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
