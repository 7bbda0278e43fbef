//! What EXPLAIN shows of a pipeline: each operator as `Pipeline::build` made it (what it
//! does, what feeds it, the state it keeps and what bounds that state), and while the query
//! runs, the rows that went into and out of each, counted by the pipeline's dispatch once
//! per batch. Descriptions are made from the plan's parts where `Pipeline::build` turns
//! them into operators, so what EXPLAIN shows is what runs.
//!
//! Never: count per row, or take a lock on the data path: the counters are relaxed atomics
//! that a statement reads while the query runs.

use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr_common::physical_expr::fmt_sql;
use eddy_planner::{
    AggregatePlan, AsofJoinPlan, AsofMode, DurationText, JoinKind, JoinPlan, JoinTimeWindow,
    LookupJoinKind, LookupJoinPlan, Step, TemporalFilter, UnnestColumn, WindowKind,
};

use crate::state::keys::OperatorStateKeys;

/// A pipeline's operators, inputs and sink, as built, with their counters.
#[derive(Debug)]
pub(crate) struct PipelineProfile {
    /// Numbered as `Dataflow::sources` numbers them.
    pub inputs: Vec<InputProfile>,
    /// In the order the pipeline runs them.
    pub operators: Vec<OperatorProfile>,
    /// What feeds the sink.
    pub sink_reads: Vec<Feeder>,
    /// Rows into the sink.
    pub sink_rows: AtomicU64,
    /// Whether the result retracts rows (a table's input, an expiring temporal filter, a
    /// join of tables): a table sink's rows then follow its input's keys.
    pub result_retracts: bool,
    /// A windowed aggregation's retention: a table sink's rows expire with their windows.
    pub window_retention_ms: Option<i64>,
}

#[derive(Debug)]
pub(crate) struct InputProfile {
    /// The catalog source read.
    pub source: String,
    /// Rows read from it.
    pub rows: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct OperatorProfile {
    pub description: OperatorDescription,
    /// What feeds each of its inputs, by input number.
    pub reads: Vec<Feeder>,
    pub rows_in: AtomicU64,
    pub rows_out: AtomicU64,
}

/// What feeds an operator's input or the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Feeder {
    /// One of the query's inputs, by number.
    Input(usize),
    /// An operator, by position.
    Operator(usize),
}

/// What an operator does, in words.
#[derive(Debug, Clone)]
pub(crate) struct OperatorDescription {
    pub name: String,
    /// One line each: its expressions, keys, windows.
    pub details: Vec<String>,
    /// None for an operator that keeps nothing across batches.
    pub state: Option<StateDescription>,
}

/// The state an operator keeps in the state store, and what bounds it.
#[derive(Debug, Clone)]
pub(crate) struct StateDescription {
    pub what: String,
    /// Where it lives (keyspace `OperatorStateKeys::KEYSPACE`): the prefixes of its keys.
    pub prefixes: Vec<Vec<u8>>,
    pub bound: StateBound,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StateBound {
    /// What keeps it from growing for ever.
    Bounded(String),
    /// Why it grows for ever, and what would bound it.
    Unbounded(String),
}

/// Adds a count of rows to a counter; once per batch.
pub(crate) fn count(counter: &AtomicU64, rows: usize) {
    counter.fetch_add(rows as u64, Ordering::Relaxed);
}

/// A counter's value.
pub(crate) fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// A run of filters, projections and explodes (one `Steps` operator).
pub(crate) fn describe_steps(steps: &[Step]) -> OperatorDescription {
    let mut names: Vec<&str> = Vec::new();
    let mut details = Vec::new();
    for step in steps {
        let (name, detail) = describe_step(step);
        if !names.contains(&name) {
            names.push(name);
        }
        details.push(detail);
    }
    OperatorDescription {
        name: names.join(", "),
        details,
        state: None,
    }
}

/// One stateless step: its kind and what it computes.
fn describe_step(step: &Step) -> (&'static str, String) {
    match step {
        Step::Filter(predicate) => ("Filter", format!("filter: {}", sql(predicate))),
        Step::Project { exprs, schema } => {
            let columns: Vec<String> = exprs
                .iter()
                .zip(schema.fields())
                .map(|(expr, field)| named_expr(expr.as_ref(), field.name()))
                .collect();
            ("Project", format!("project: {}", columns.join(", ")))
        }
        Step::Unnest { columns, schema } => {
            let exploded: Vec<&str> = columns
                .iter()
                .zip(schema.fields())
                .filter(|(column, _)| matches!(column, UnnestColumn::Element(_)))
                .map(|(_, field)| field.name().as_str())
                .collect();
            (
                "Explode",
                format!("explode: one row per element of {}", exploded.join(", ")),
            )
        }
        Step::LookupJoin(join) => ("Join", format!("join: {}", join.table.name)),
        Step::Join(join) => ("Join", format!("join: {}", join.right.source)),
        Step::Aggregate(plan) => (
            "GroupBy",
            format!("group by: {}", expr_list(&plan.group_exprs)),
        ),
    }
}

/// `expr AS name`, or the name alone for a column passed through under its own name.
fn named_expr(expr: &dyn PhysicalExpr, name: &str) -> String {
    match expr.downcast_ref::<Column>() {
        Some(column) if column.name() == name => name.to_string(),
        _ => format!("{} AS {name}", fmt_sql(expr)),
    }
}

/// An expression as SQL-like text (`a > 1`, not DataFusion's `a@0 > Int64(1)`).
fn sql(expr: &Arc<dyn PhysicalExpr>) -> String {
    fmt_sql(expr.as_ref()).to_string()
}

fn expr_list(exprs: &[Arc<dyn PhysicalExpr>]) -> String {
    let texts: Vec<String> = exprs.iter().map(sql).collect();
    texts.join(", ")
}

/// The temporal filter on a query's source rows (`ROWTIME > NOW() - ..`).
pub(crate) fn describe_temporal_filter(
    filter: &TemporalFilter,
    query_id: &str,
) -> OperatorDescription {
    let from = filter
        .from_offset_ms
        .map_or("always".to_string(), clock_offset);
    let until = filter
        .until_offset_ms
        .map_or("for ever".to_string(), clock_offset);
    let bound = match filter.until_offset_ms {
        Some(until_ms) => format!(
            "each row leaves the schedule when the clock reaches its time + {}",
            DurationText(until_ms)
        ),
        None => "each row leaves the schedule when it becomes visible".to_string(),
    };
    OperatorDescription {
        name: "Temporal filter".to_string(),
        details: vec![
            format!("time: {}", sql(&filter.time)),
            format!("a row is in the result from {from} until {until}, by the clock"),
        ],
        state: Some(StateDescription {
            what: "the rows that will enter or leave the result, by when".to_string(),
            prefixes: vec![OperatorStateKeys::of(query_id).temporal_schedule_prefix()],
            bound: StateBound::Bounded(bound),
        }),
    }
}

/// `time + 1 HOUR`, `time - 5 MINUTES`.
fn clock_offset(offset_ms: i64) -> String {
    match offset_ms {
        0 => "its time".to_string(),
        offset if offset < 0 => format!("its time - {}", DurationText(offset.saturating_neg())),
        offset => format!("its time + {}", DurationText(offset)),
    }
}

/// A stream joined with a table's current rows, by key.
pub(crate) fn describe_lookup_join(join: &LookupJoinPlan) -> OperatorDescription {
    let kind = match join.kind {
        LookupJoinKind::Inner => "INNER",
        LookupJoinKind::Left => "LEFT",
    };
    let mut details = vec![
        format!(
            "each row looks up its row of table {} by key: {}",
            join.table.name,
            expr_list(&join.keys)
        ),
        "the table's rows are read, once per batch and key, not kept".to_string(),
    ];
    if let Some(condition) = &join.condition {
        details.push(format!("condition: {}", sql(condition)));
    }
    OperatorDescription {
        name: format!("{kind} JOIN of a stream with table {}", join.table.name),
        details,
        state: None,
    }
}

/// A join of two inputs, numbered `number` among the query's joins (it names the state).
pub(crate) fn describe_join(join: &JoinPlan, number: usize, query_id: &str) -> OperatorDescription {
    let kind = match join.kind {
        JoinKind::Inner => "INNER",
        JoinKind::Left => "LEFT",
        JoinKind::Right => "RIGHT",
        JoinKind::Full => "FULL",
    };
    let keys = OperatorStateKeys::of(query_id);
    let mut details = vec![
        format!("left key: {}", expr_list(&join.left_keys)),
        format!("right key: {}", expr_list(&join.right_keys)),
    ];
    if let Some(condition) = &join.condition {
        details.push(format!("condition: {}", sql(condition)));
    }
    let sides = vec![keys.join_prefix(number, 'l'), keys.join_prefix(number, 'r')];
    let (name, state) = match join.window {
        None if let Some(asof) = &join.asof => {
            let mut prefixes = sides;
            prefixes.push(keys.join_prefix(number, 'd'));
            prefixes.push(keys.join_prefix(number, 't'));
            describe_asof(asof, kind, &mut details, prefixes)
        }
        None => (
            format!("{kind} JOIN of two tables"),
            StateDescription {
                what: "each side's rows by join key".to_string(),
                prefixes: sides,
                bound: StateBound::Bounded(
                    "the two tables' current rows: a deleted row leaves it".to_string(),
                ),
            },
        ),
        Some(window) => {
            details.push(join_window(&window));
            let prefixes = vec![
                keys.join_prefix(number, 'L'),
                keys.join_prefix(number, 'R'),
                keys.join_prefix(number, 't'),
            ];
            let reach_ms = window
                .before_ms
                .saturating_add(window.after_ms)
                .saturating_add(window.grace_ms);
            (
                format!("{kind} JOIN of two streams"),
                StateDescription {
                    what: "each side's rows, an epoch's at a time sorted by join key, and the stream time"
                        .to_string(),
                    prefixes,
                    bound: StateBound::Bounded(format!(
                        "the rows within {} (before + after + grace) of stream time: older ones are deleted",
                        DurationText(reach_ms)
                    )),
                },
            )
        }
    };
    OperatorDescription {
        name,
        details,
        state: Some(state),
    }
}

/// An ASOF join's name and state: `details` gets its time comparison, mode and grace.
fn describe_asof(
    asof: &AsofJoinPlan,
    kind: &str,
    details: &mut Vec<String>,
    prefixes: Vec<Vec<u8>>,
) -> (String, StateDescription) {
    details.push(format!(
        "match: the latest right row with right {} {} left {}; ties: the right row that came last",
        sql(&asof.build_time),
        if asof.strict { "<" } else { "<=" },
        sql(&asof.probe_time)
    ));
    let grace = match asof.grace_given {
        true => format!("GRACE PERIOD {}", DurationText(asof.grace_ms)),
        false => format!("grace {} (the default)", DurationText(asof.grace_ms)),
    };
    let (mode, what) = match asof.mode {
        AsofMode::Final => (
            "final: a left row waits until the right side's stream time less grace passes its time, joins once, is never retracted",
            "the left rows waiting, the right rows, by join key; the keys by when they are due; the right side's stream time",
        ),
        AsofMode::Incremental => (
            "incremental: a right row that comes later re-matches the left rows after it (-old +new)",
            "both sides' rows by join key; the keys by when they are due; the right side's stream time",
        ),
    };
    details.push(format!("mode: {mode}, {grace}"));
    let bound = match (asof.build_is_table, asof.mode) {
        (false, AsofMode::Final) => StateBound::Bounded(format!(
            "per key, the right rows within {} (grace) of stream time and the newest before; the left rows until they are joined",
            DurationText(asof.grace_ms)
        )),
        (false, AsofMode::Incremental) => StateBound::Bounded(format!(
            "per key, the rows within {} (grace) of stream time and the newest right row before",
            DurationText(asof.grace_ms)
        )),
        (true, AsofMode::Final) => StateBound::Bounded(
            "the right table's current rows; the left rows until the table's stream time less grace passes them"
                .to_string(),
        ),
        (true, AsofMode::Incremental) => StateBound::Unbounded(
            "keeps every left row, since any change of the right table may re-match it; a right stream instead of a table bounds it".to_string(),
        ),
    };
    (
        format!("ASOF {kind} JOIN"),
        StateDescription {
            what: what.to_string(),
            prefixes,
            bound,
        },
    )
}

fn join_window(window: &JoinTimeWindow) -> String {
    let grace = match window.grace_given {
        true => format!("GRACE PERIOD {}", DurationText(window.grace_ms)),
        false => format!("grace {} (the default)", DurationText(window.grace_ms)),
    };
    format!(
        "within: a right row from {} before to {} after the left row's time, {grace}",
        DurationText(window.before_ms),
        DurationText(window.after_ms)
    )
}

/// A GROUP BY (windowed or not). `input_retracts`: its input may take rows back (a table,
/// an expiring temporal filter, a join of tables), so groups can empty and go.
pub(crate) fn describe_group_by(
    plan: &AggregatePlan,
    query_id: &str,
    input_retracts: bool,
) -> OperatorDescription {
    let mut details: Vec<String> = plan
        .input_steps
        .iter()
        .filter(|step| !step.is_operator())
        .map(|step| format!("first, {}", describe_step(step).1))
        .collect();
    if !plan.group_exprs.is_empty() {
        details.push(format!("group by: {}", expr_list(&plan.group_exprs)));
    }
    let calls: Vec<String> = plan
        .aggregates
        .iter()
        .map(|call| {
            let distinct = if call.distinct { "DISTINCT " } else { "" };
            // COUNT(*) is planned without arguments.
            let args = match call.args.is_empty() && call.function == "count" {
                true => "*".to_string(),
                false => expr_list(&call.args),
            };
            format!(
                "{}({distinct}{args}) AS {}",
                call.function,
                call.output.name()
            )
        })
        .collect();
    details.push(format!("aggregates: {}", calls.join(", ")));
    let keys = OperatorStateKeys::of(query_id);
    let (name, state) = match &plan.window {
        None => {
            let bound = match input_retracts {
                true => StateBound::Bounded(
                    "the distinct group keys of the input's current rows: a group goes with its last row"
                        .to_string(),
                ),
                false => StateBound::Unbounded(
                    "grows with every distinct group key of a stream; a group is never deleted (a WINDOW clause would bound it)"
                        .to_string(),
                ),
            };
            (
                "GROUP BY".to_string(),
                StateDescription {
                    what: "one entry per group: its aggregates' state".to_string(),
                    prefixes: vec![keys.group_prefix()],
                    bound,
                },
            )
        }
        Some(window) => {
            let emit = match window.emit_final {
                true => "EMIT FINAL",
                false => "EMIT CHANGES",
            };
            details.push(format!(
                "window: {}, grace {}, retention {}, {emit}",
                window.kind,
                DurationText(window.grace_ms),
                DurationText(window.retention_ms)
            ));
            if let Some(idle_ms) = window.idle_timeout_ms {
                details.push(format!(
                    "idle timeout {}: then stream time follows the clock",
                    DurationText(idle_ms)
                ));
            }
            let retention = DurationText(window.retention_ms);
            match window.kind {
                WindowKind::Session { .. } => (
                    "GROUP BY, session windows".to_string(),
                    StateDescription {
                        what:
                            "per group key, its live sessions; the sessions by end; the stream time"
                                .to_string(),
                        prefixes: vec![
                            keys.group_prefix(),
                            keys.session_close_prefix(),
                            keys.stream_time(),
                        ],
                        bound: StateBound::Bounded(format!(
                            "the sessions that ended within {retention} (retention) of stream time: older ones are deleted"
                        )),
                    },
                ),
                _ => (
                    "GROUP BY, time windows".to_string(),
                    StateDescription {
                        what: "one entry per group and window; the stream time".to_string(),
                        prefixes: vec![
                            keys.group_prefix(),
                            keys.stream_time(),
                            keys.latest_window_start(),
                        ],
                        bound: StateBound::Bounded(format!(
                            "the windows that started within {retention} (retention) of stream time: older ones are deleted"
                        )),
                    },
                ),
            }
        }
    };
    OperatorDescription {
        name,
        details,
        state: Some(state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_offsets_read_as_durations() {
        assert_eq!(clock_offset(0), "its time");
        assert_eq!(clock_offset(-3_600_000), "its time - 1 HOUR");
        assert_eq!(clock_offset(90_000), "its time + 90 SECONDS");
    }
}
