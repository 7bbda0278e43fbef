//! Windowed aggregation under ksqlDB's rules: a WINDOW clause read into a [`WindowPlan`] with
//! ksqlDB's defaults (grace `max(24 h − size, 0)`, or 0 with EMIT FINAL; retention a day, or
//! size plus grace if longer), and WINDOWSTART and WINDOWEND in the SELECT list.
//!
//! The window bounds are planned as ksqlDB plans them, as aggregate functions of the window
//! (`ksql_windowstart()`, `ksql_windowend()`): the executor's windowed GROUP BY answers them
//! from each window's bounds, so any SELECT expression over them (`WINDOWEND / 2`) works as
//! an expression over aggregates does. A persistent query's table is keyed by its GROUP BY
//! columns, then `windowstart` and `windowend`: hidden SELECT items compute them when the
//! SELECT list does not.
//!
//! Never: let a window bound into WHERE, GROUP BY, HAVING or an aggregate's arguments (ksqlDB
//! refuses them, with the messages used here), or run a bound function outside a window.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};
use eddy_parser::sqlparser::ast::{
    Expr, Function, FunctionArgumentList, FunctionArguments, GroupByExpr, Ident, ObjectName,
    ObjectNamePart, Query, SelectItem, SetExpr, Visit, Visitor, visit_expressions_mut,
};
use eddy_parser::{Emit, WindowSpec};
use serde::{Deserialize, Serialize};

use crate::error::{PlanError, PlanResult};
use crate::grouping::aggregate_called;

/// The key column of a windowed table holding each window's start, in epoch milliseconds.
pub const WINDOW_START: &str = "windowstart";
/// The key column of a windowed table holding each window's end, in epoch milliseconds.
pub const WINDOW_END: &str = "windowend";

/// ksqlDB's default grace period is what is left of a day after the window's size.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// How rows are grouped into windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowKind {
    /// `[start, start + size)`, starts at multiples of `size_ms`.
    Tumbling { size_ms: i64 },
    /// `[start, start + size)`, starts at multiples of `advance_ms`, never below 0.
    Hopping { size_ms: i64, advance_ms: i64 },
    /// `[first, last]` of rows no more than `gap_ms` apart.
    Session { gap_ms: i64 },
    /// Flink's CUMULATE: `[start, start + k·step)` for k = 1 ..= size / step, starts at
    /// multiples of `size_ms`, which is a multiple of `step_ms`. Only the window TVF
    /// `CUMULATE` makes it. Its windows share starts, so the executor keys each by its end;
    /// a query computes WINDOWSTART from WINDOWEND ([`cumulate_start_sql`]).
    Cumulating { step_ms: i64, size_ms: i64 },
}

impl WindowKind {
    /// The size of a time window, the gap of a session.
    pub fn extent_ms(&self) -> i64 {
        match *self {
            WindowKind::Tumbling { size_ms }
            | WindowKind::Hopping { size_ms, .. }
            | WindowKind::Cumulating { size_ms, .. } => size_ms,
            WindowKind::Session { gap_ms } => gap_ms,
        }
    }

    /// `TUMBLING`, `HOPPING` or `SESSION`, as ksqlDB's WINDOW_TYPE names it.
    pub fn name(&self) -> &'static str {
        match self {
            WindowKind::Tumbling { .. } => "TUMBLING",
            WindowKind::Hopping { .. } => "HOPPING",
            WindowKind::Session { .. } => "SESSION",
            WindowKind::Cumulating { .. } => "CUMULATING",
        }
    }
}

/// As a WINDOW clause writes it: `TUMBLING (SIZE 30 SECONDS)`.
impl std::fmt::Display for WindowKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            WindowKind::Tumbling { size_ms } => {
                write!(formatter, "TUMBLING (SIZE {})", DurationText(size_ms))
            }
            WindowKind::Hopping {
                size_ms,
                advance_ms,
            } => write!(
                formatter,
                "HOPPING (SIZE {}, ADVANCE BY {})",
                DurationText(size_ms),
                DurationText(advance_ms)
            ),
            WindowKind::Session { gap_ms } => {
                write!(formatter, "SESSION ({})", DurationText(gap_ms))
            }
            WindowKind::Cumulating { step_ms, size_ms } => write!(
                formatter,
                "CUMULATING (SIZE {}, STEP {})",
                DurationText(size_ms),
                DurationText(step_ms)
            ),
        }
    }
}

/// Milliseconds in the largest unit that holds them whole: `90 SECONDS`, `1 DAY`.
pub struct DurationText(pub i64);

impl std::fmt::Display for DurationText {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let units = [
            (DAY_MS, "DAY"),
            (60 * 60 * 1000, "HOUR"),
            (60 * 1000, "MINUTE"),
            (1000, "SECOND"),
            (1, "MILLISECOND"),
        ];
        let (count, unit) = units
            .iter()
            .find(|(unit_ms, _)| self.0 != 0 && self.0 % unit_ms == 0)
            .map_or((self.0, "MILLISECOND"), |(unit_ms, unit)| {
                (self.0 / unit_ms, *unit)
            });
        let plural = if count == 1 { "" } else { "S" };
        write!(formatter, "{count} {unit}{plural}")
    }
}

/// A windowed aggregation's windows and when they close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPlan {
    pub kind: WindowKind,
    /// How long after its end a window still takes rows, by stream time.
    pub grace_ms: i64,
    /// How long a window's row stays in the result table: from the window's start (a
    /// session's end).
    pub retention_ms: i64,
    /// `EMIT FINAL`: one row per window, when it closes, instead of every change.
    pub emit_final: bool,
    /// `IDLE TIMEOUT`: once the query has read all of its input and no row has come for
    /// this long, stream time follows the clock.
    pub idle_timeout_ms: Option<i64>,
}

impl WindowPlan {
    /// The plan of `WINDOW ..` with `EMIT ..`, with ksqlDB's defaults for what is not given.
    pub fn of(spec: &WindowSpec, emit: Option<Emit>) -> PlanResult<WindowPlan> {
        let (kind, grace, retention, idle_timeout) = match spec {
            WindowSpec::Tumbling {
                size,
                grace,
                retention,
                idle_timeout,
            } => (
                WindowKind::Tumbling {
                    size_ms: millis(*size)?,
                },
                grace,
                retention,
                idle_timeout,
            ),
            WindowSpec::Hopping {
                size,
                advance,
                grace,
                retention,
                idle_timeout,
            } => (
                WindowKind::Hopping {
                    size_ms: millis(*size)?,
                    advance_ms: millis(*advance)?,
                },
                grace,
                retention,
                idle_timeout,
            ),
            WindowSpec::Session {
                gap,
                grace,
                retention,
                idle_timeout,
            } => (
                WindowKind::Session {
                    gap_ms: millis(*gap)?,
                },
                grace,
                retention,
                idle_timeout,
            ),
        };
        let emit_final = emit == Some(Emit::Final);
        let grace_ms = match grace {
            Some(grace) => millis(*grace)?,
            None if emit_final => 0,
            None => (DAY_MS - kind.extent_ms()).max(0),
        };
        let lifetime = kind.extent_ms().saturating_add(grace_ms);
        let retention_ms = match retention {
            Some(retention) => millis(*retention)?,
            None => default_retention_ms(lifetime),
        };
        if retention_ms < lifetime {
            return Err(PlanError::invalid(format!(
                "The retention period of a window must be no smaller than its {} plus its grace period: {} + {} ms, got RETENTION {} ms",
                match kind {
                    WindowKind::Session { .. } => "gap",
                    _ => "size",
                },
                kind.extent_ms(),
                grace_ms,
                retention_ms
            )));
        }
        Ok(WindowPlan {
            kind,
            grace_ms,
            retention_ms,
            emit_final,
            idle_timeout_ms: idle_timeout.map(millis).transpose()?,
        })
    }
}

/// How long a window's row stays in its table when RETENTION is not given: a day, as
/// ksqlDB keeps it, and never less than the window lives (`lifetime`: size plus grace).
pub(crate) fn default_retention_ms(lifetime: i64) -> i64 {
    lifetime.max(DAY_MS)
}

fn millis(duration: Duration) -> PlanResult<i64> {
    i64::try_from(duration.as_millis())
        .map_err(|_| PlanError::invalid("the window's duration is too long"))
}

/// Which bound of its window a row reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowBound {
    Start,
    End,
}

impl WindowBound {
    /// The name of the aggregate function that answers it.
    pub const fn function_name(self) -> &'static str {
        match self {
            WindowBound::Start => "ksql_windowstart",
            WindowBound::End => "ksql_windowend",
        }
    }

    pub const fn column_name(self) -> &'static str {
        match self {
            WindowBound::Start => WINDOW_START,
            WindowBound::End => WINDOW_END,
        }
    }

    /// The bound a function of this name answers.
    pub fn of_function(name: &str) -> Option<WindowBound> {
        [WindowBound::Start, WindowBound::End]
            .into_iter()
            .find(|bound| bound.function_name() == name)
    }

    fn of_column(name: &str) -> Option<WindowBound> {
        [WindowBound::Start, WindowBound::End]
            .into_iter()
            .find(|bound| bound.column_name().eq_ignore_ascii_case(name))
    }
}

/// The start of the CUMULATE window of `size_ms` that ends at `end_sql` (an expression of
/// epoch milliseconds): the multiple of the size just below the end.
pub(crate) fn cumulate_start_sql(end_sql: &str, size_ms: i64) -> String {
    format!("({end_sql} - 1 - ((({end_sql} - 1) % {size_ms}) + {size_ms}) % {size_ms})")
}

/// The aggregate functions the window bounds are planned as.
pub(crate) fn bound_functions() -> [Arc<AggregateUDF>; 2] {
    [WindowBound::Start, WindowBound::End]
        .map(|bound| Arc::new(AggregateUDF::from(WindowBoundFunction::new(bound))))
}

/// Checks where a windowed aggregation's SELECT uses WINDOWSTART and WINDOWEND, and rewrites
/// the SELECT list to compute them. With `key_columns`, the list ends with the items that
/// give the windowed table's `windowstart` and `windowend` key columns, unless it names
/// them already.
pub(crate) fn prepare(
    query: &mut Query,
    state: &SessionState,
    key_columns: bool,
) -> PlanResult<()> {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Err(PlanError::unsupported(
            "WINDOW on a query that is not a SELECT",
        ));
    };
    if let Some(selection) = &select.selection
        && let Some(bound) = first_bound(selection)
    {
        return Err(PlanError::invalid(format!(
            "Error in WHERE expression: Unknown column {}.",
            bound.column_name().to_uppercase()
        )));
    }
    let group_exprs = match &select.group_by {
        GroupByExpr::Expressions(exprs, _) => exprs.as_slice(),
        GroupByExpr::All(_) => &[],
    };
    let misplaced = group_exprs
        .iter()
        .chain(&select.having)
        .find_map(first_bound)
        .or_else(|| {
            select
                .projection
                .iter()
                .filter_map(item_expr)
                .find_map(|expr| bound_in_aggregate(expr, state))
        });
    if let Some(bound) = misplaced {
        return Err(misplaced_bound(bound));
    }
    let mut named = Vec::new();
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(expr) = item
            && let Some(bound) = bound_of(expr)
        {
            *item = SelectItem::ExprWithAlias {
                expr: bound_call(bound),
                alias: Ident::new(bound.column_name()),
            };
            named.push(bound);
            continue;
        }
        if let SelectItem::ExprWithAlias { expr, alias } = item
            && let Some(reserved) = WindowBound::of_column(&alias.value)
        {
            if bound_of(expr) != Some(reserved) {
                return Err(PlanError::invalid(format!(
                    "`{}` is a reserved column name of windowed results; alias the column otherwise",
                    reserved.column_name().to_uppercase()
                )));
            }
            named.push(reserved);
        }
        if let Some(expr) = item_expr_mut(item) {
            let _ = visit_expressions_mut(expr, |expr| {
                if let Some(bound) = bound_of(expr) {
                    *expr = bound_call(bound);
                }
                ControlFlow::<()>::Continue(())
            });
        }
    }
    if key_columns {
        for bound in [WindowBound::Start, WindowBound::End] {
            if !named.contains(&bound) {
                select.projection.push(SelectItem::ExprWithAlias {
                    expr: bound_call(bound),
                    alias: Ident::new(bound.column_name()),
                });
            }
        }
    }
    Ok(())
}

fn misplaced_bound(bound: WindowBound) -> PlanError {
    PlanError::Grouping {
        message: format!(
            "Window bounds column {} can only be used in the SELECT clause of windowed aggregations",
            bound.column_name().to_uppercase()
        ),
    }
}

/// The bound `expr` names when it is a column reference to one (`WINDOWSTART`,
/// `s.WINDOWSTART`).
fn bound_of(expr: &Expr) -> Option<WindowBound> {
    match expr {
        Expr::Identifier(ident) => WindowBound::of_column(&ident.value),
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            WindowBound::of_column(&parts[1].value)
        }
        Expr::Nested(inner) => bound_of(inner),
        _ => None,
    }
}

/// The first window bound `expr` refers to, in the order it is written.
fn first_bound(expr: &Expr) -> Option<WindowBound> {
    struct Bounds;
    impl Visitor for Bounds {
        type Break = WindowBound;
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<WindowBound> {
            match bound_of(expr) {
                Some(bound) => ControlFlow::Break(bound),
                None => ControlFlow::Continue(()),
            }
        }
    }
    match expr.visit(&mut Bounds) {
        ControlFlow::Break(bound) => Some(bound),
        ControlFlow::Continue(()) => None,
    }
}

/// A window bound inside the arguments of an aggregate function call in `expr`.
fn bound_in_aggregate(expr: &Expr, state: &SessionState) -> Option<WindowBound> {
    struct Aggregates<'a> {
        state: &'a SessionState,
    }
    impl Visitor for Aggregates<'_> {
        type Break = WindowBound;
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<WindowBound> {
            if matches!(expr, Expr::Function(_))
                && aggregate_called(expr, self.state).is_some()
                && let Some(bound) = first_bound(expr)
            {
                return ControlFlow::Break(bound);
            }
            ControlFlow::Continue(())
        }
    }
    match expr.visit(&mut Aggregates { state }) {
        ControlFlow::Break(bound) => Some(bound),
        ControlFlow::Continue(()) => None,
    }
}

fn item_expr(item: &SelectItem) -> Option<&Expr> {
    match item {
        SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => Some(expr),
        _ => None,
    }
}

fn item_expr_mut(item: &mut SelectItem) -> Option<&mut Expr> {
    match item {
        SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => Some(expr),
        _ => None,
    }
}

/// `ksql_windowstart()` or `ksql_windowend()`.
pub(crate) fn bound_call(bound: WindowBound) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(
            bound.function_name(),
        ))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: Vec::new(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// WINDOWSTART or WINDOWEND as an aggregate function of no argument, typed BIGINT. Only a
/// windowed GROUP BY computes it; DataFusion's own aggregation refuses it.
#[derive(Debug, PartialEq, Eq, Hash)]
struct WindowBoundFunction {
    bound: WindowBound,
    signature: Signature,
}

impl WindowBoundFunction {
    fn new(bound: WindowBound) -> Self {
        WindowBoundFunction {
            bound,
            signature: Signature::nullary(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for WindowBoundFunction {
    fn name(&self) -> &str {
        self.bound.function_name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(args.name, DataType::Int64, true))])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        plan_err!(
            "Window bounds column {} can only be used in the SELECT clause of windowed aggregations",
            self.bound.column_name().to_uppercase()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(sql_window: &str) -> WindowSpec {
        let sql = format!("SELECT k, COUNT(*) FROM s WINDOW {sql_window} GROUP BY k");
        match eddy_parser::parse_sql(&sql)
            .expect("parses")
            .pop()
            .map(|parsed| parsed.statement)
        {
            Some(eddy_parser::Statement::Select(select)) => select.window.expect("a window"),
            other => panic!("not a SELECT: {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_ksqldb() {
        let tumbling = spec("TUMBLING (SIZE 1 MINUTE)");
        let plan = WindowPlan::of(&tumbling, Some(Emit::Changes)).expect("plans");
        assert_eq!(plan.kind, WindowKind::Tumbling { size_ms: 60_000 });
        assert_eq!(plan.grace_ms, DAY_MS - 60_000);
        assert_eq!(plan.retention_ms, DAY_MS);
        assert!(!plan.emit_final);
        let plan = WindowPlan::of(&tumbling, Some(Emit::Final)).expect("plans");
        assert_eq!((plan.grace_ms, plan.retention_ms), (0, DAY_MS));
        assert!(plan.emit_final);
        let long = spec("TUMBLING (SIZE 2 DAYS)");
        assert_eq!(WindowPlan::of(&long, None).expect("plans").grace_ms, 0);
        let given = spec("HOPPING (SIZE 10 SECONDS, ADVANCE BY 2 SECONDS, GRACE PERIOD 1 SECOND)");
        let plan = WindowPlan::of(&given, Some(Emit::Final)).expect("plans");
        assert_eq!(
            (plan.kind, plan.grace_ms, plan.retention_ms),
            (
                WindowKind::Hopping {
                    size_ms: 10_000,
                    advance_ms: 2_000
                },
                1_000,
                DAY_MS
            )
        );
        let session = spec("SESSION (5 MINUTES)");
        let plan = WindowPlan::of(&session, None).expect("plans");
        assert_eq!(plan.grace_ms, DAY_MS - 300_000);
    }

    #[test]
    fn a_window_reads_as_its_clause() {
        let hopping = WindowKind::Hopping {
            size_ms: 90_000,
            advance_ms: 1_500,
        };
        assert_eq!(
            hopping.to_string(),
            "HOPPING (SIZE 90 SECONDS, ADVANCE BY 1500 MILLISECONDS)"
        );
        assert_eq!(
            WindowKind::Session { gap_ms: DAY_MS }.to_string(),
            "SESSION (1 DAY)"
        );
    }

    #[test]
    fn retention_holds_a_window_until_it_closes() {
        let short = spec("TUMBLING (SIZE 1 MINUTE, RETENTION 30 SECONDS, GRACE PERIOD 0 SECONDS)");
        assert_eq!(
            WindowPlan::of(&short, None)
                .expect_err("refused")
                .to_string(),
            "The retention period of a window must be no smaller than its size plus its grace period: 60000 + 0 ms, got RETENTION 30000 ms"
        );
    }
}
