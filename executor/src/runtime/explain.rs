//! EXPLAIN's words for a dataflow: its inputs, its operators in the order an epoch runs them
//! (as `Pipeline::build` makes them, from `profile.rs`), what feeds each, the state each
//! keeps and what bounds it, and its sink; state that nothing bounds is flagged with a
//! WARNING line, as Feldera flags it. With a state store (ANALYZE) it adds each operator's
//! rows in and out since its pipeline was built, and the entries and bytes of its state as
//! last committed. One text column, `QUERY PLAN`, a line a row, as Postgres answers.
//!
//! Never: run, create or change anything: a pipeline built here is only looked at.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use eddy_planner::{Catalog, Dataflow, DurationText, SourceDef, SourceKind, plural};
use eddy_storage::{Keyspace, StateStore};

use crate::error::EngineResult;
use crate::output::{QueryOutput, RowStream};
use crate::runtime::QueryEnv;
use crate::runtime::pipeline::{BadInputRows, BuildContext, Pipeline};
use crate::runtime::profile::{self, Feeder, PipelineProfile, StateBound, StateDescription};
use crate::sinks::client::ClientSink;
use crate::state::keys::{OperatorStateKeys, TableKeys};

/// The one column of EXPLAIN's answer, named as Postgres names it.
pub(crate) fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "QUERY PLAN",
        DataType::Utf8,
        false,
    )]))
}

/// EXPLAIN's answer: a row per line.
pub(crate) fn plan_rows(lines: Vec<String>) -> EngineResult<QueryOutput> {
    let batch = RecordBatch::try_new(
        schema(),
        vec![Arc::new(StringArray::from(lines)) as ArrayRef],
    )?;
    Ok(QueryOutput::Rows(RowStream::from_batches(
        schema(),
        vec![batch],
    )))
}

/// What stands for a query's id in the state keys of a query not created yet.
const UNCREATED_QUERY_ID: &str = "<query id>";

/// The dataflow `Pipeline::build` makes of `dataflow`, described after `lines`.
pub(crate) fn describe(
    env: &QueryEnv,
    dataflow: Dataflow,
    sink: &Sink<'_>,
    lines: &mut Vec<String>,
) -> EngineResult<()> {
    let pipeline = build_unstarted(env, dataflow, sink)?;
    let catalog = env.read_catalog();
    let profile = pipeline.profile();
    let explained = Explained {
        catalog: &catalog,
        profile: &profile,
        query_id: match sink {
            Sink::Client => None,
            Sink::New { .. } | Sink::Source(_) => Some(UNCREATED_QUERY_ID),
        },
        state: None,
    };
    explained.dataflow_lines(lines, sink)
}

/// Builds the operators of a persistent query about to be created, and drops them: what
/// only fails when they are built (an aggregate a GROUP BY cannot run over its input) fails
/// before the query is in the catalog.
pub(crate) fn check_builds(
    env: &QueryEnv,
    dataflow: Dataflow,
    sink: &Sink<'_>,
) -> EngineResult<()> {
    build_unstarted(env, dataflow, sink).map(drop)
}

/// The pipeline of `dataflow` as it would run into `sink`, not started.
fn build_unstarted(env: &QueryEnv, dataflow: Dataflow, sink: &Sink<'_>) -> EngineResult<Pipeline> {
    let input = env
        .read_catalog()
        .source_required(dataflow.source())?
        .clone();
    let query_id = match sink {
        Sink::Client => "push",
        Sink::New { .. } | Sink::Source(_) => UNCREATED_QUERY_ID,
    };
    let build = BuildContext {
        query_id: query_id.to_string(),
        input_is_append_only: !input.is_table(),
        source_schema: input.queryable_schema(),
        cache_budget: env.operator_cache.clone(),
        bad_input_rows: BadInputRows::SetAside,
        tables: None,
        pairs_keyed_changes: matches!(sink, Sink::Client),
    };
    // A client sink stands for whichever sink the query would have.
    let client = ClientSink::new(dataflow.output_schema(), false);
    Pipeline::build(dataflow, build, |_| Ok(Box::new(client)))
}

/// Where a dataflow's rows go.
pub(crate) enum Sink<'a> {
    /// A push query's client.
    Client,
    /// The stream or table CREATE .. AS SELECT would create.
    New { kind: SourceKind, name: &'a str },
    /// An existing stream or table.
    Source(&'a SourceDef),
}

/// A dataflow to put into words.
pub(crate) struct Explained<'a> {
    pub catalog: &'a Catalog,
    pub profile: &'a PipelineProfile,
    /// The query whose state keys to name; None for a push query (its state is in memory).
    pub query_id: Option<&'a str>,
    /// The state store to measure each operator's state in, for ANALYZE; None otherwise.
    pub state: Option<&'a dyn StateStore>,
}

impl Explained<'_> {
    fn analyze(&self) -> bool {
        self.state.is_some()
    }

    /// The inputs, operators and sink, after `lines`, then a warning per unbounded state.
    pub fn dataflow_lines(&self, lines: &mut Vec<String>, sink: &Sink<'_>) -> EngineResult<()> {
        let mut warnings = Vec::new();
        lines.push("Inputs:".to_string());
        for (number, input) in self.profile.inputs.iter().enumerate() {
            let source = self.catalog.source_required(&input.source)?;
            lines.push(format!(
                "  input {}: {} {} ({})",
                number + 1,
                source.kind.noun(),
                source.name,
                plural(source.partitions as usize, "partition")
            ));
            if self.analyze() {
                lines.push(format!("    rows read: {}", profile::read(&input.rows)));
            }
        }
        lines.push("Operators, in the order each epoch runs them:".to_string());
        if self.profile.operators.is_empty() {
            lines.push("  none: the input's rows go to the sink as they are".to_string());
        }
        for (position, operator) in self.profile.operators.iter().enumerate() {
            let description = &operator.description;
            lines.push(format!("  operator {}: {}", position + 1, description.name));
            lines.push(format!("    reads: {}", self.feeders(&operator.reads)));
            lines.extend(description.details.iter().map(|line| format!("    {line}")));
            if self.analyze() {
                lines.push(format!(
                    "    rows: {} in, {} out",
                    profile::read(&operator.rows_in),
                    profile::read(&operator.rows_out)
                ));
            }
            match &description.state {
                None => lines.push("    state: none".to_string()),
                Some(state) => {
                    self.state_lines(lines, state)?;
                    if let StateBound::Unbounded(why) = &state.bound {
                        warnings.push(format!(
                            "WARNING: the state of operator {} ({}) is unbounded: it {why}",
                            position + 1,
                            description.name
                        ));
                    }
                }
            }
        }
        self.sink_lines(lines, sink, &mut warnings)?;
        lines.extend(warnings);
        Ok(())
    }

    /// What feeds an operator or the sink, in input order (a join's left, then right).
    fn feeders(&self, feeders: &[Feeder]) -> String {
        let names: Vec<String> = feeders
            .iter()
            .map(|feeder| match *feeder {
                Feeder::Input(number) => format!(
                    "input {} ({})",
                    number + 1,
                    self.profile
                        .inputs
                        .get(number)
                        .map_or("?", |input| input.source.as_str())
                ),
                Feeder::Operator(position) => format!("operator {}", position + 1),
            })
            .collect();
        match names.as_slice() {
            [left, right] => format!("{left} on the left, {right} on the right"),
            _ => names.join(", "),
        }
    }

    fn state_lines(&self, lines: &mut Vec<String>, state: &StateDescription) -> EngineResult<()> {
        let place = match self.query_id {
            Some(_) => {
                let prefixes: Vec<String> = state
                    .prefixes
                    .iter()
                    .map(|prefix| String::from_utf8_lossy(prefix).into_owned())
                    .collect();
                format!("in {}", prefixes.join(", "))
            }
            None => "in the push query's memory, while it runs".to_string(),
        };
        lines.push(format!("    state: {}, {place}", state.what));
        lines.push(format!("    state bound: {}", bound_text(&state.bound)));
        if let Some(store) = self.state {
            let (entries, bytes) = measure(store, OperatorStateKeys::KEYSPACE, &state.prefixes)?;
            lines.push(format!("    state size: {entries} entries, {bytes} bytes"));
        }
        Ok(())
    }

    fn sink_lines(
        &self,
        lines: &mut Vec<String>,
        sink: &Sink<'_>,
        warnings: &mut Vec<String>,
    ) -> EngineResult<()> {
        let reads = self.feeders(&self.profile.sink_reads);
        let (kind, name, table) = match sink {
            Sink::Client => {
                lines.push("  sink: the client".to_string());
                lines.push(format!("    reads: {reads}"));
                if self.analyze() {
                    lines.push(format!(
                        "    rows: {} in",
                        profile::read(&self.profile.sink_rows)
                    ));
                }
                lines.push("    state: none".to_string());
                return Ok(());
            }
            Sink::New { kind, name } => (*kind, *name, None),
            Sink::Source(source) => (source.kind, source.name.as_str(), Some(*source)),
        };
        lines.push(format!("  sink: {} {name}", kind.noun()));
        lines.push(format!("    reads: {reads}"));
        if self.analyze() {
            lines.push(format!(
                "    rows: {} in",
                profile::read(&self.profile.sink_rows)
            ));
        }
        if kind == SourceKind::Stream {
            lines.push("    state: none: each epoch's rows are appended to the stream".to_string());
            return Ok(());
        }
        let bound = match (
            self.profile.window_retention_ms,
            self.profile.result_retracts,
        ) {
            (Some(retention_ms), _) => StateBound::Bounded(format!(
                "the windows within {} (retention) of stream time: an expired window's row is deleted",
                DurationText(retention_ms)
            )),
            (None, true) => StateBound::Bounded(
                "the keys of its input's current rows: a retracted key's row is deleted"
                    .to_string(),
            ),
            (None, false) => StateBound::Unbounded(
                "grows with every distinct key of a stream's result; a row is never deleted"
                    .to_string(),
            ),
        };
        let place = match table {
            Some(table) if self.query_id.is_some() => {
                format!(
                    ", in {}",
                    String::from_utf8_lossy(TableKeys::of(table).rows_prefix())
                )
            }
            _ => String::new(),
        };
        lines.push(format!(
            "    state: the table's current rows, one per key{place}, and its changelog"
        ));
        lines.push(format!("    state bound: {}", bound_text(&bound)));
        if let (Some(store), Some(table)) = (self.state, table) {
            let prefix = TableKeys::of(table).rows_prefix().to_vec();
            let (entries, bytes) = measure(store, TableKeys::ROWS_KEYSPACE, &[prefix])?;
            lines.push(format!("    state size: {entries} entries, {bytes} bytes"));
        }
        if let StateBound::Unbounded(why) = &bound {
            warnings.push(format!(
                "WARNING: the rows of table {name} are unbounded: it {why}"
            ));
        }
        Ok(())
    }
}

fn bound_text(bound: &StateBound) -> String {
    match bound {
        StateBound::Bounded(what) => format!("bounded by {what}"),
        StateBound::Unbounded(why) => format!("UNBOUNDED: {why}"),
    }
}

/// The entries under `prefixes` of `keyspace`, and their bytes (keys and values), as last
/// committed.
fn measure(
    store: &dyn StateStore,
    keyspace: Keyspace,
    prefixes: &[Vec<u8>],
) -> EngineResult<(u64, u64)> {
    let mut entries = 0u64;
    let mut bytes = 0u64;
    for prefix in prefixes {
        for pair in store.iter_prefix(keyspace, prefix) {
            let (key, value) = pair?;
            entries += 1;
            bytes += (key.len() + value.len()) as u64;
        }
    }
    Ok((entries, bytes))
}
