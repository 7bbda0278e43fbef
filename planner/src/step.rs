//! The steps of a dataflow's chains: what one operator of a chain does to its rows, and the
//! plan of a join of two inputs, which carries its second input's chain of steps (so the
//! two are defined together; `join.rs` lowers joins to them). A GROUP BY's plan is here
//! too: a GROUP BY inside the query (a subquery's) is a step, and a query's GROUP BY takes
//! its input and output as steps (`dataflow.rs` lowers both).
//!
//! Never: name a step the executor has no operator for.

use std::sync::Arc;

use arrow::datatypes::{Field, SchemaRef};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::scalar::ScalarValue;

use crate::lookup_join::LookupJoinPlan;
use crate::temporal::TemporalFilter;
use crate::window::WindowPlan;

/// One operator of a chain.
#[derive(Debug, Clone)]
pub enum Step {
    /// Keeps the rows for which the predicate is true (NULL counts as false).
    Filter(Arc<dyn PhysicalExpr>),
    /// Computes the output columns; `schema` names and types them.
    Project {
        exprs: Vec<Arc<dyn PhysicalExpr>>,
        schema: SchemaRef,
    },
    /// ksqlDB's EXPLODE (DataFusion's `unnest`): each input row becomes one row per element
    /// of its longest listed ARRAY (none when every one is NULL or empty); shorter arrays
    /// give NULL past their end. `columns` says what each output column is.
    Unnest {
        columns: Vec<UnnestColumn>,
        schema: SchemaRef,
    },
    /// Each stream row joined with the row of a table its key gives, read when the row is
    /// processed: the executor runs it as an operator of its own, between the steps before
    /// and after it.
    LookupJoin(Arc<LookupJoinPlan>),
    /// The rows so far joined with the rows of a second input, both changing (two tables):
    /// the executor feeds the second input's rows, through its own steps, to the join's
    /// second input.
    Join(Arc<JoinPlan>),
    /// A GROUP BY over the rows so far (a subquery's, read by another GROUP BY or a join):
    /// the executor runs it as an operator of its own, whose rows are its groups' changes.
    /// The plan's own input and output steps are empty: the chain holds them.
    Aggregate(Arc<AggregatePlan>),
}

impl Step {
    /// Whether the step runs as an operator of its own (a join, a GROUP BY), not in a run
    /// of filters and projections.
    pub fn is_operator(&self) -> bool {
        matches!(
            self,
            Step::LookupJoin(_) | Step::Join(_) | Step::Aggregate(_)
        )
    }
}

/// An output column of [`Step::Unnest`], by the input column it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnnestColumn {
    /// The input column's value, repeated on each row its input row becomes.
    Repeated(usize),
    /// One element of the input column's ARRAY per row.
    Element(usize),
}

/// Which rows of two tables a join keeps besides the matched pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    /// Also each left row without a match, with NULL right columns.
    Left,
    /// Also each right row without a match, with NULL left columns.
    Right,
    /// Both of the above.
    Full,
}

impl JoinKind {
    /// Whether a left row without a match is kept, NULL-padded.
    pub fn keeps_unmatched_left(self) -> bool {
        matches!(self, JoinKind::Left | JoinKind::Full)
    }

    /// Whether a right row without a match is kept, NULL-padded.
    pub fn keeps_unmatched_right(self) -> bool {
        matches!(self, JoinKind::Right | JoinKind::Full)
    }
}

/// The second input of a join: a catalog source and the steps over its rows.
#[derive(Debug, Clone)]
pub struct JoinInput {
    pub source: String,
    pub steps: Vec<Step>,
}

/// Two tables joined incrementally.
#[derive(Debug, Clone)]
pub struct JoinPlan {
    pub kind: JoinKind,
    /// Per equality of ON, its left side, compiled against the left rows and cast to the
    /// type both sides are compared in.
    pub left_keys: Vec<Arc<dyn PhysicalExpr>>,
    /// Per equality of ON, its right side, compiled against the right rows, of the same type
    /// as the left side.
    pub right_keys: Vec<Arc<dyn PhysicalExpr>>,
    /// The rest of ON, compiled against the joined rows: a pair matches only if it is true.
    pub condition: Option<Arc<dyn PhysicalExpr>>,
    /// The rows of the left input, as the chain before the join gives them.
    pub left_schema: SchemaRef,
    /// The rows of the right input, as its steps give them.
    pub right_schema: SchemaRef,
    /// The joined rows: the left columns, then the right ones.
    pub schema: SchemaRef,
    /// The columns of a left row that name it among the left table's rows (its PRIMARY KEY):
    /// a retraction takes out the row of the same key.
    pub left_identity: Vec<usize>,
    /// The same for the right rows.
    pub right_identity: Vec<usize>,
    pub right: JoinInput,
    /// Per key column of the result, in key order: the columns that may carry it.
    pub result_key: Vec<ResultKeyColumn>,
    /// Per key column of the result, its value, compiled against the joined rows: what
    /// tells a change of a joined row from a delete and an insert (a push query's client).
    pub result_key_values: Vec<Arc<dyn PhysicalExpr>>,
    /// For a join of two streams, the times rows join within; None for two tables.
    pub window: Option<JoinTimeWindow>,
    /// For an ASOF join, how its left rows find their right row; None for other joins.
    pub asof: Option<AsofJoinPlan>,
}

impl JoinPlan {
    /// Whether the join only ever inserts rows: a join of two streams, or an ASOF join into
    /// a stream.
    pub fn emits_only_insertions(&self) -> bool {
        self.window.is_some()
            || self
                .asof
                .as_ref()
                .is_some_and(|asof| asof.mode == AsofMode::Final)
    }
}

/// An ASOF join: each left (probe) row joins the one right (build) row of its key with the
/// latest time at or before its own (before it, when `strict`); ties go to the right row
/// that reached the join last. INNER drops a probe row without one, LEFT pads it with NULLs.
#[derive(Debug, Clone)]
pub struct AsofJoinPlan {
    /// The probe row's time, compiled against the left rows: a BIGINT of epoch milliseconds.
    pub probe_time: Arc<dyn PhysicalExpr>,
    /// The build row's time, compiled against the right rows, in the same unit.
    pub build_time: Arc<dyn PhysicalExpr>,
    /// Whether the build time must be strictly before the probe time (`<`, `>`).
    pub strict: bool,
    /// How far behind the build side's stream time a build row may still arrive: the GRACE
    /// PERIOD, else 0.
    pub grace_ms: i64,
    pub grace_given: bool,
    pub mode: AsofMode,
    /// Whether the build side is a table: its rows are then replaced and deleted, never late,
    /// and kept as long as the table keeps them.
    pub build_is_table: bool,
}

/// How an ASOF join emits (the windows-and-joins reference, §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsofMode {
    /// Into a stream: a probe row waits until the build side's stream time less the grace
    /// period has passed its time, then joins once and is never retracted (Flink's
    /// event-time temporal join).
    Final,
    /// Into a table (the join feeds a GROUP BY): a probe row joins at once, and a build row
    /// that comes later re-matches it, −old +new (Feldera's ASOF join).
    Incremental,
}

/// When two streams' rows join: a right row whose time is in `[left time − before, left time
/// + after]` (both ends in), and how long rows wait for late ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinTimeWindow {
    pub before_ms: i64,
    pub after_ms: i64,
    /// How long after a row's window has passed in stream time a row of the other side may
    /// still arrive: the GRACE PERIOD, or ksqlDB's default (24 hours less the window).
    pub grace_ms: i64,
    /// Whether GRACE PERIOD was given: an outer join then emits a row's NULL-padded row once
    /// its window has closed without a match; without it, at once when it arrives without
    /// one (ksqlDB's two modes).
    pub grace_given: bool,
}

/// One key column of a join's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultKeyColumn {
    /// Columns of the joined rows equal to the key on every row where they are not NULL, in
    /// order of preference; the SELECT list must pass one through.
    pub candidates: Vec<Expr>,
    /// The key's value over the joined rows, where a candidate can be NULL on a row kept
    /// without a match (an outer join's padded side); None: every candidate holds it.
    pub value: Option<Expr>,
    /// The candidates that hold the key on every row, never NULL.
    pub never_null: Vec<Expr>,
}

/// One aggregate function call of an aggregation.
#[derive(Debug, Clone)]
pub struct AggregateCall {
    /// The function's name, lower case (`count`, `sum`, `collect_list`, ...).
    pub function: String,
    /// `COUNT(DISTINCT x)` and the like.
    pub distinct: bool,
    /// Arguments, compiled against the aggregate's input rows. Empty for `COUNT(*)`.
    pub args: Vec<Arc<dyn PhysicalExpr>>,
    /// Arguments that are constants (the `k` of `TOPK(x, k)`), by position.
    pub constant_args: Vec<Option<ScalarValue>>,
    /// The result's name and type, as DataFusion typed it.
    pub output: Field,
}

/// A query with a GROUP BY (or aggregates over all rows) over one source.
#[derive(Debug, Clone)]
pub struct AggregatePlan {
    /// The catalog source it reads.
    pub source: String,
    /// Applied in order to batches with the source's queryable schema.
    pub input_steps: Vec<Step>,
    /// The rows `input_steps` produce.
    pub input_schema: SchemaRef,
    /// The GROUP BY expressions, compiled against the rows `input_steps` produce.
    pub group_exprs: Vec<Arc<dyn PhysicalExpr>>,
    pub aggregates: Vec<AggregateCall>,
    /// The aggregate's rows: group keys, then one column per aggregate call.
    pub aggregate_schema: SchemaRef,
    /// Applied to the aggregate's rows: HAVING, then the SELECT list.
    pub output_steps: Vec<Step>,
    /// The columns the user selected.
    pub output_schema: SchemaRef,
    /// A windowed aggregation's windows: each group is then a group key in one window, and
    /// the calls of `ksql_windowstart()`/`ksql_windowend()` answer the window's bounds.
    pub window: Option<WindowPlan>,
    /// The time windows are computed on, compiled against the rows `input_steps` produce (a
    /// BIGINT of epoch milliseconds or a TIMESTAMP column: a window TVF's); None: ROWTIME.
    pub window_time: Option<Arc<dyn PhysicalExpr>>,
    /// A temporal filter (`ROWTIME > NOW() - ..`), applied to the source's rows first.
    pub temporal_filter: Option<TemporalFilter>,
}
