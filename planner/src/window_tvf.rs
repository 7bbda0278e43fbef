//! Window table-valued functions, Flink's and RisingWave's spelling of windows:
//! `FROM TUMBLE(s, ts, INTERVAL '1' MINUTE)`, `HOP(s, ts, slide, size)`, `SESSION(s, ts, gap)`
//! and `CUMULATE(s, ts, step, size)`, also as Flink writes them,
//! `TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), ..))`. Each adds the columns `window_start` and
//! `window_end` (TIMESTAMP) to the rows of stream `s`.
//!
//! The query is rewritten over `s` before DataFusion plans it. With `GROUP BY window_start,
//! window_end, ..` it is the windowed aggregation ksqlDB's WINDOW clause plans, on the time
//! column `ts` instead of ROWTIME, with grace 0: `window_start`/`window_end` are the window
//! bounds WINDOWSTART/WINDOWEND as TIMESTAMP, and a persistent query's table is keyed by the
//! other GROUP BY columns then `windowstart`, `windowend` as for a WINDOW clause (the TIMESTAMP
//! columns are values beside that key). Without GROUP BY, TUMBLE and HOP are stateless: each
//! row gets the bounds of its windows (HOP: one row per window). Session bounds stay
//! ksqlDB's `[first, last]` (Flink's end is last + gap), so both spellings agree.
//!
//! Never: plan a TVF onto another operator than the WINDOW clause's, or let `window_start`
//! into WHERE, HAVING or an aggregate's arguments (its value is known only per window).

use std::ops::ControlFlow;

use datafusion::execution::context::SessionState;
use eddy_parser::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, ObjectName,
    ObjectNamePart, Query, SelectItem, SetExpr, TableAlias, TableFactor, Visit, Visitor,
    visit_expressions_mut,
};
use eddy_parser::sqlparser::dialect::GenericDialect;
use eddy_parser::sqlparser::parser::Parser;
use eddy_parser::{Emit, SelectStatement};

use crate::catalog::{Catalog, PSEUDO_COLUMNS, ROWTIME, SourceKind};
use crate::error::{PlanError, PlanResult};
use crate::grouping::aggregate_called;
use crate::names::{fold, object_name_last};
use crate::sql::constant_interval_ms;
use crate::window::{self, WindowBound, WindowKind, WindowPlan, cumulate_start_sql};

/// The column a window TVF adds for its windows' starts.
const WINDOW_START_COLUMN: &str = "window_start";
/// The column a window TVF adds for its windows' ends.
const WINDOW_END_COLUMN: &str = "window_end";

/// A SELECT over a window TVF, rewritten over the TVF's stream.
#[derive(Debug)]
pub(crate) struct WindowTvf {
    /// The statement over the stream: no TVF left, `window_start`/`window_end` computed.
    pub select: SelectStatement,
    /// The windowed aggregation it plans onto; None when it adds the bounds to each row.
    pub window: Option<TvfWindow>,
}

/// The windowed aggregation of a TVF with `GROUP BY window_start, window_end`.
#[derive(Debug, Clone)]
pub(crate) struct TvfWindow {
    /// `TUMBLE`, `HOP`, ..: as the query calls it, for messages.
    pub function: &'static str,
    pub plan: WindowPlan,
    /// The column of the stream that places rows in windows.
    pub time_column: String,
}

impl TvfWindow {
    /// ksqlDB's rewrite of the window bounds (see `window::prepare`), then, for CUMULATE, the
    /// start of each window computed from its end: the executor keys those windows by end.
    pub(crate) fn prepare(
        &self,
        query: &mut Query,
        state: &SessionState,
        key_columns: bool,
    ) -> PlanResult<()> {
        window::prepare(query, state, key_columns)?;
        let WindowKind::Cumulating { size_ms, .. } = self.plan.kind else {
            return Ok(());
        };
        let end_call = window::bound_call(WindowBound::End).to_string();
        let start = parse_expr(&cumulate_start_sql(&end_call, size_ms))?;
        let _ = visit_expressions_mut(query, |expr| {
            if let Expr::Function(function) = expr
                && function.name.to_string() == WindowBound::Start.function_name()
            {
                *expr = start.clone();
            }
            ControlFlow::<()>::Continue(())
        });
        Ok(())
    }
}

/// The window TVFs, by the name they are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TvfName {
    Tumble,
    Hop,
    Session,
    Cumulate,
}

impl TvfName {
    fn of(name: &str) -> Option<TvfName> {
        match name.to_ascii_uppercase().as_str() {
            "TUMBLE" => Some(TvfName::Tumble),
            "HOP" => Some(TvfName::Hop),
            "SESSION" => Some(TvfName::Session),
            "CUMULATE" => Some(TvfName::Cumulate),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            TvfName::Tumble => "TUMBLE",
            TvfName::Hop => "HOP",
            TvfName::Session => "SESSION",
            TvfName::Cumulate => "CUMULATE",
        }
    }

    /// How it is called, for messages.
    fn signature(self) -> &'static str {
        match self {
            TvfName::Tumble => "TUMBLE(stream, time_column, size)",
            TvfName::Hop => "HOP(stream, time_column, slide, size)",
            TvfName::Session => "SESSION(stream, time_column, gap)",
            TvfName::Cumulate => "CUMULATE(stream, time_column, step, size)",
        }
    }
}

/// Which bound of a TVF's window a column is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TvfColumn {
    Start,
    End,
}

impl TvfColumn {
    fn name(self) -> &'static str {
        match self {
            TvfColumn::Start => WINDOW_START_COLUMN,
            TvfColumn::End => WINDOW_END_COLUMN,
        }
    }
}

/// A window TVF as written: its name, its arguments, the alias of its rows.
struct TvfCall {
    name: TvfName,
    args: Vec<Expr>,
    alias: Option<TableAlias>,
}

/// The statement over the stream a window TVF in `select`'s FROM reads, or None when its FROM
/// has no window TVF.
pub(crate) fn rewrite(
    select: &SelectStatement,
    catalog: &Catalog,
    state: &SessionState,
) -> PlanResult<Option<WindowTvf>> {
    let SetExpr::Select(body) = select.query.body.as_ref() else {
        return Ok(None);
    };
    let mut calls = body.from.iter().flat_map(|from| {
        std::iter::once(&from.relation).chain(from.joins.iter().map(|join| &join.relation))
    });
    let Some(position) = calls.position(|relation| tvf_call(relation).is_some()) else {
        return Ok(None);
    };
    let Some(call) = body
        .from
        .first()
        .filter(|_| position == 0)
        .and_then(|from| tvf_call(&from.relation))
    else {
        return Err(PlanError::unsupported("a window TVF in a join"));
    };
    let call = call?;
    if body.from.len() > 1 || body.from.first().is_some_and(|from| !from.joins.is_empty()) {
        return Err(PlanError::unsupported(format!(
            "{} in a join",
            call.name.as_str()
        )));
    }
    if select.window.is_some() {
        return Err(PlanError::invalid(format!(
            "A query takes a WINDOW clause or a window TVF ({}), not both",
            call.name.as_str()
        )));
    }
    let name = call.name;
    let [source_arg, time_arg, durations @ ..] = call.args.as_slice() else {
        return Err(arity_error(name, call.args.len()));
    };
    let source_name = relation_name(source_arg).ok_or_else(|| {
        PlanError::invalid(format!(
            "The first argument of {} must name a stream, got {source_arg}",
            name.as_str()
        ))
    })?;
    let source = catalog.source_required(&fold(&source_name))?;
    if source.kind == SourceKind::Table {
        return Err(PlanError::invalid(format!(
            "{} reads a stream, and \"{}\" is a table: windows group the events of a stream",
            name.as_str(),
            source.name
        )));
    }
    let time_column = time_column_name(time_arg, name)?;
    check_time_column(&time_column, source, name)?;
    let kind = window_kind(name, durations)?;
    let mut query = select.query.as_ref().clone();
    let SetExpr::Select(body) = query.body.as_mut() else {
        return Err(PlanError::Internal {
            message: "a window TVF's query stopped being a SELECT".into(),
        });
    };
    if let Some(from) = body.from.first_mut() {
        from.relation = stream_relation(source_name, call.alias);
    }
    if let Some(selection) = &body.selection
        && let Some(column) = first_tvf_column(selection)
    {
        return Err(PlanError::invalid(format!(
            "Error in WHERE expression: {} is known only per window; filter on the time column \"{time_column}\" instead",
            column.name()
        )));
    }
    let grouped = match &body.group_by {
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
        GroupByExpr::All(_) => true,
    };
    let window = if grouped {
        rewrite_aggregation(body, name, kind, state)?;
        Some(TvfWindow {
            function: name.as_str(),
            plan: tvf_window_plan(kind, select.emit),
            time_column,
        })
    } else {
        let time_is_timestamp = source.columns.iter().any(|column| {
            column.name == time_column
                && matches!(column.data_type, arrow::datatypes::DataType::Timestamp(..))
        });
        rewrite_rows(body, name, kind, &time_column, time_is_timestamp)?;
        None
    };
    Ok(Some(WindowTvf {
        select: SelectStatement {
            query: Box::new(query),
            ..select.clone()
        },
        window,
    }))
}

/// A window TVF's windowed aggregation inside a subquery of FROM (`JOIN (SELECT .. FROM
/// TUMBLE(s, ..) GROUP BY window_start, window_end) m`), which lowering finds again by the
/// subquery's alias. It emits each window once, when it closes, as Flink's window
/// aggregations do: its rows are a stream, which a join of streams can read.
#[derive(Debug, Clone)]
pub(crate) struct SubqueryWindow {
    pub alias: String,
    pub window: TvfWindow,
}

/// Rewrites each subquery of `query`'s FROM clauses (at any depth) that reads a window TVF
/// over its stream, as [`rewrite`] does a whole statement's, and returns the windowed
/// aggregations among them.
pub(crate) fn rewrite_subqueries(
    query: &mut Query,
    catalog: &Catalog,
    state: &SessionState,
) -> PlanResult<Vec<SubqueryWindow>> {
    let mut windows = Vec::new();
    rewrite_subqueries_into(query, catalog, state, &mut windows)?;
    Ok(windows)
}

fn rewrite_subqueries_into(
    query: &mut Query,
    catalog: &Catalog,
    state: &SessionState,
    windows: &mut Vec<SubqueryWindow>,
) -> PlanResult<()> {
    let SetExpr::Select(body) = query.body.as_mut() else {
        return Ok(());
    };
    let relations = body.from.iter_mut().flat_map(|from| {
        std::iter::once(&mut from.relation)
            .chain(from.joins.iter_mut().map(|join| &mut join.relation))
    });
    for relation in relations {
        let TableFactor::Derived {
            subquery, alias, ..
        } = relation
        else {
            continue;
        };
        rewrite_subqueries_into(subquery, catalog, state, windows)?;
        let select = SelectStatement {
            query: subquery.clone(),
            emit: Some(Emit::Final),
            partition_by: None,
            window: None,
            join_windows: Vec::new(),
            asof_joins: Vec::new(),
        };
        let Some(tvf) = rewrite(&select, catalog, state)? else {
            continue;
        };
        *subquery = tvf.select.query;
        let Some(mut window) = tvf.window else {
            continue;
        };
        let alias = alias.as_ref().ok_or_else(|| {
            PlanError::invalid(format!(
                "a subquery aggregating over {} needs a name: (SELECT ..) AS name",
                window.function
            ))
        })?;
        window.prepare(subquery, state, false)?;
        // Nothing reads a window's row after it is emitted: its state goes at its close.
        window.plan.retention_ms = window.plan.kind.extent_ms();
        windows.push(SubqueryWindow {
            alias: fold(&alias.name),
            window,
        });
    }
    Ok(())
}

/// A TVF window closes at its end (grace 0), keeps its row as a WINDOW clause's does, and
/// with EMIT FINAL (or EMIT ON WINDOW CLOSE) emits once then.
fn tvf_window_plan(kind: WindowKind, emit: Option<Emit>) -> WindowPlan {
    WindowPlan {
        kind,
        grace_ms: 0,
        retention_ms: crate::window::default_retention_ms(kind.extent_ms()),
        emit_final: emit == Some(Emit::Final),
        idle_timeout_ms: None,
    }
}

/// The TVF call a FROM item is: `TUMBLE(..)` or `TABLE(TUMBLE(..))`.
fn tvf_call(relation: &TableFactor) -> Option<PlanResult<TvfCall>> {
    match relation {
        TableFactor::Table {
            name,
            args: Some(args),
            alias,
            ..
        } => {
            let tvf = TvfName::of(&object_name_last(name)?.value)?;
            Some(call_args(tvf, &args.args).map(|args| TvfCall {
                name: tvf,
                args,
                alias: alias.clone(),
            }))
        }
        TableFactor::TableFunction {
            expr: Expr::Function(function),
            alias,
        } => {
            let tvf = TvfName::of(&object_name_last(&function.name)?.value)?;
            let args = match &function.args {
                FunctionArguments::List(list) => list.args.as_slice(),
                _ => &[],
            };
            Some(call_args(tvf, args).map(|args| TvfCall {
                name: tvf,
                args,
                alias: alias.clone(),
            }))
        }
        _ => None,
    }
}

fn call_args(name: TvfName, args: &[FunctionArg]) -> PlanResult<Vec<Expr>> {
    args.iter()
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => Ok(expr.clone()),
            other => Err(PlanError::unsupported(format!(
                "the argument {other} of {} (arguments are positional: {})",
                name.as_str(),
                name.signature()
            ))),
        })
        .collect()
}

fn arity_error(name: TvfName, given: usize) -> PlanError {
    PlanError::invalid(format!(
        "{} takes {} arguments, got {given}: {}",
        name.as_str(),
        match name {
            TvfName::Tumble | TvfName::Session => 3,
            TvfName::Hop | TvfName::Cumulate => 4,
        },
        name.signature()
    ))
}

/// The stream the first argument names: `s` or `TABLE s` (the parser drops `TABLE`).
fn relation_name(arg: &Expr) -> Option<Ident> {
    match arg {
        Expr::Identifier(ident) => Some(ident.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().cloned(),
        _ => None,
    }
}

/// The time column the second argument names: `ts` or Flink's `DESCRIPTOR(ts)`.
fn time_column_name(arg: &Expr, name: TvfName) -> PlanResult<String> {
    let column = match arg {
        Expr::Identifier(ident) => Some(fold(ident)),
        Expr::Function(function)
            if function.name.to_string().eq_ignore_ascii_case("DESCRIPTOR") =>
        {
            match &function.args {
                FunctionArguments::List(list) => match list.args.as_slice() {
                    [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(ident)))] => {
                        Some(fold(ident))
                    }
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    };
    column.ok_or_else(|| {
        PlanError::invalid(format!(
            "The second argument of {} must name the time column (a column, or DESCRIPTOR(column)), got {arg}",
            name.as_str()
        ))
    })
}

/// The time column is a BIGINT of epoch milliseconds or a TIMESTAMP column of the stream.
fn check_time_column(
    column: &str,
    source: &crate::catalog::SourceDef,
    name: TvfName,
) -> PlanResult<()> {
    if column == ROWTIME {
        return Ok(());
    }
    let Some(found) = source.columns.iter().find(|found| found.name == column) else {
        let context = if PSEUDO_COLUMNS.contains(&column) {
            format!(
                ": {} windows a stream by its ROWTIME or a column",
                name.as_str()
            )
        } else {
            format!(" in stream \"{}\"", source.name)
        };
        return Err(PlanError::UnknownColumn {
            column: column.to_string(),
            context,
        });
    };
    if !matches!(
        found.data_type,
        arrow::datatypes::DataType::Int64 | arrow::datatypes::DataType::Timestamp(..)
    ) {
        return Err(PlanError::TypeMismatch {
            message: format!(
                "The time column of {} must be a BIGINT of epoch milliseconds or a TIMESTAMP, and \"{column}\" is {}",
                name.as_str(),
                crate::types::type_name(&found.data_type)
            ),
        });
    }
    Ok(())
}

/// The windows of a TVF from its durations (sizes, slide, step, gap), checked as Flink does.
fn window_kind(name: TvfName, durations: &[Expr]) -> PlanResult<WindowKind> {
    let labels: &[&str] = match name {
        TvfName::Tumble => &["size"],
        TvfName::Hop => &["slide", "size"],
        TvfName::Session => &["gap"],
        TvfName::Cumulate => &["step", "size"],
    };
    if durations.len() != labels.len() {
        return Err(arity_error(name, durations.len() + 2));
    }
    let millis = durations
        .iter()
        .zip(labels)
        .map(|(expr, label)| interval_ms(expr, name, label))
        .collect::<PlanResult<Vec<i64>>>()?;
    Ok(match (name, millis.as_slice()) {
        (TvfName::Tumble, &[size_ms]) => WindowKind::Tumbling { size_ms },
        (TvfName::Hop, &[slide_ms, size_ms]) => {
            if slide_ms > size_ms {
                return Err(PlanError::invalid(format!(
                    "HOP's slide ({slide_ms} ms) must be no larger than its size ({size_ms} ms)"
                )));
            }
            WindowKind::Hopping {
                size_ms,
                advance_ms: slide_ms,
            }
        }
        (TvfName::Session, &[gap_ms]) => WindowKind::Session { gap_ms },
        (TvfName::Cumulate, &[step_ms, size_ms]) => {
            if size_ms % step_ms != 0 {
                return Err(PlanError::invalid(format!(
                    "CUMULATE's size must be a multiple of its step, got size {size_ms} ms and step {step_ms} ms"
                )));
            }
            WindowKind::Cumulating { step_ms, size_ms }
        }
        _ => return Err(arity_error(name, durations.len() + 2)),
    })
}

/// `INTERVAL '1' MINUTE` or `INTERVAL '90 seconds'` in milliseconds, above zero.
fn interval_ms(expr: &Expr, name: TvfName, label: &str) -> PlanResult<i64> {
    match constant_interval_ms(expr) {
        Some(millis) if millis > 0 => Ok(millis),
        Some(_) => Err(PlanError::invalid(format!(
            "The {label} of {} must be greater than zero",
            name.as_str()
        ))),
        None => Err(PlanError::TypeMismatch {
            message: format!(
                "The {label} of {} must be an interval of whole milliseconds, seconds, minutes, hours or days, such as INTERVAL '1' MINUTE; got {expr}",
                name.as_str()
            ),
        }),
    }
}

/// The stream in place of the TVF, under the TVF's alias.
fn stream_relation(name: Ident, alias: Option<TableAlias>) -> TableFactor {
    TableFactor::Table {
        name: ObjectName(vec![ObjectNamePart::Identifier(name)]),
        alias,
        args: None,
        with_hints: Vec::new(),
        version: None,
        with_ordinality: false,
        partitions: Vec::new(),
        json_path: None,
        sample: None,
        index_hints: Vec::new(),
    }
}

/// `GROUP BY window_start, window_end, k` as ksqlDB's windowed `GROUP BY k`, and the TVF's
/// columns in the SELECT list as the window bounds, typed TIMESTAMP.
fn rewrite_aggregation(
    body: &mut eddy_parser::sqlparser::ast::Select,
    name: TvfName,
    kind: WindowKind,
    state: &SessionState,
) -> PlanResult<()> {
    let GroupByExpr::Expressions(exprs, _) = &mut body.group_by else {
        return Err(PlanError::Grouping {
            message: format!(
                "GROUP BY ALL over {} is not supported: GROUP BY window_start, window_end and the keys",
                name.as_str()
            ),
        });
    };
    let mut grouped_bounds = Vec::new();
    exprs.retain(|expr| match tvf_column_of(expr) {
        Some(column) => {
            grouped_bounds.push(column);
            false
        }
        None => true,
    });
    if !(grouped_bounds.contains(&TvfColumn::Start) && grouped_bounds.contains(&TvfColumn::End)) {
        return Err(PlanError::Grouping {
            message: format!(
                "The GROUP BY of an aggregation over {} must contain both window_start and window_end",
                name.as_str()
            ),
        });
    }
    let misplaced = body.having.as_ref().and_then(first_tvf_column).or_else(|| {
        body.projection
            .iter()
            .filter_map(item_expr)
            .find_map(|expr| tvf_column_in_aggregate(expr, state))
    });
    if let Some(column) = misplaced {
        return Err(PlanError::Grouping {
            message: format!(
                "{} can only be used in the SELECT list and GROUP BY of an aggregation over {}",
                column.name(),
                name.as_str()
            ),
        });
    }
    let start_sql = match kind {
        WindowKind::Cumulating { size_ms, .. } => {
            format!(
                "from_unixtime({})",
                cumulate_start_sql("WINDOWEND", size_ms)
            )
        }
        _ => "from_unixtime(WINDOWSTART)".to_string(),
    };
    let bounds = Bounds {
        start: parse_expr(&start_sql)?,
        end: parse_expr("from_unixtime(WINDOWEND)")?,
    };
    replace_in_projection(&mut body.projection, &bounds, false)
}

/// The expressions a TVF's columns become.
struct Bounds {
    start: Expr,
    end: Expr,
}

impl Bounds {
    fn of(&self, column: TvfColumn) -> &Expr {
        match column {
            TvfColumn::Start => &self.start,
            TvfColumn::End => &self.end,
        }
    }
}

/// TUMBLE or HOP without GROUP BY: each row with the bounds of its window (HOP: one row per
/// window), as ksqlDB places rows in windows.
fn rewrite_rows(
    body: &mut eddy_parser::sqlparser::ast::Select,
    name: TvfName,
    kind: WindowKind,
    time_column: &str,
    time_is_timestamp: bool,
) -> PlanResult<()> {
    if body.having.is_some() {
        return Err(PlanError::invalid("HAVING without GROUP BY"));
    }
    let time_ms = match time_is_timestamp {
        true => format!("unix_timestamp(\"{time_column}\")"),
        false => format!("\"{time_column}\""),
    };
    let floor = |time: &str, unit_ms: i64| {
        format!("({time} - (({time} % {unit_ms}) + {unit_ms}) % {unit_ms})")
    };
    let start_ms = match kind {
        WindowKind::Tumbling { size_ms } => floor(&time_ms, size_ms),
        WindowKind::Hopping {
            size_ms,
            advance_ms,
        } => {
            let earliest = format!("greatest({time_ms} - {size_ms} + {advance_ms}, 0)");
            format!(
                "unnest(range({}, {} + 1, {advance_ms}))",
                floor(&earliest, advance_ms),
                floor(&time_ms, advance_ms)
            )
        }
        WindowKind::Session { .. } | WindowKind::Cumulating { .. } => {
            return Err(PlanError::unsupported(format!(
                "{} without GROUP BY window_start, window_end (its windows are known only as rows are grouped)",
                name.as_str()
            )));
        }
    };
    let size_ms = kind.extent_ms();
    let bounds = Bounds {
        start: parse_expr(&format!("from_unixtime({start_ms})"))?,
        end: parse_expr(&format!("from_unixtime({start_ms} + {size_ms})"))?,
    };
    replace_in_projection(&mut body.projection, &bounds, true)
}

/// Puts `bounds` in place of the TVF's columns in the SELECT list, naming an item that is
/// one of them after it; with `after_wildcard`, `*` is followed by both.
fn replace_in_projection(
    projection: &mut Vec<SelectItem>,
    bounds: &Bounds,
    after_wildcard: bool,
) -> PlanResult<()> {
    let mut items = Vec::with_capacity(projection.len() + 2);
    for mut item in projection.drain(..) {
        let wildcard = matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        );
        if let SelectItem::UnnamedExpr(expr) = &item
            && let Some(column) = tvf_column_of(expr)
        {
            item = SelectItem::ExprWithAlias {
                expr: bounds.of(column).clone(),
                alias: Ident::new(column.name()),
            };
        } else if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } =
            &mut item
        {
            let _ = visit_expressions_mut(expr, |expr| {
                if let Some(column) = tvf_column_of(expr) {
                    *expr = Expr::Nested(Box::new(bounds.of(column).clone()));
                }
                ControlFlow::<()>::Continue(())
            });
        }
        items.push(item);
        if wildcard && after_wildcard {
            for column in [TvfColumn::Start, TvfColumn::End] {
                items.push(SelectItem::ExprWithAlias {
                    expr: bounds.of(column).clone(),
                    alias: Ident::new(column.name()),
                });
            }
        }
    }
    *projection = items;
    Ok(())
}

/// The TVF column `expr` names: `window_start`, `w.window_end`.
fn tvf_column_of(expr: &Expr) -> Option<TvfColumn> {
    let ident = match expr {
        Expr::Identifier(ident) => ident,
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => &parts[1],
        Expr::Nested(inner) => return tvf_column_of(inner),
        _ => return None,
    };
    [TvfColumn::Start, TvfColumn::End]
        .into_iter()
        .find(|column| fold(ident) == column.name())
}

/// The first TVF column `expr` refers to.
fn first_tvf_column(expr: &Expr) -> Option<TvfColumn> {
    struct Columns;
    impl Visitor for Columns {
        type Break = TvfColumn;
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<TvfColumn> {
            match tvf_column_of(expr) {
                Some(column) => ControlFlow::Break(column),
                None => ControlFlow::Continue(()),
            }
        }
    }
    match expr.visit(&mut Columns) {
        ControlFlow::Break(column) => Some(column),
        ControlFlow::Continue(()) => None,
    }
}

/// A TVF column inside the arguments of an aggregate function call in `expr`.
fn tvf_column_in_aggregate(expr: &Expr, state: &SessionState) -> Option<TvfColumn> {
    struct Aggregates<'a> {
        state: &'a SessionState,
    }
    impl Visitor for Aggregates<'_> {
        type Break = TvfColumn;
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<TvfColumn> {
            if matches!(expr, Expr::Function(_))
                && aggregate_called(expr, self.state).is_some()
                && let Some(column) = first_tvf_column(expr)
            {
                return ControlFlow::Break(column);
            }
            ControlFlow::Continue(())
        }
    }
    match expr.visit(&mut Aggregates { state }) {
        ControlFlow::Break(column) => Some(column),
        ControlFlow::Continue(()) => None,
    }
}

fn item_expr(item: &SelectItem) -> Option<&Expr> {
    match item {
        SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => Some(expr),
        _ => None,
    }
}

/// An expression this module writes as SQL text.
fn parse_expr(sql: &str) -> PlanResult<Expr> {
    Parser::new(&GenericDialect)
        .try_with_sql(sql)
        .and_then(|mut parser| parser.parse_expr())
        .map_err(|error| PlanError::Internal {
            message: format!("the window TVF expression {sql} does not parse: {error}"),
        })
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, TimeUnit};
    use eddy_parser::Statement;

    use super::*;
    use crate::catalog::Column;
    use crate::catalog::tests::clicks;
    use crate::dataflow::Dataflow;
    use crate::select::PersistentSink;
    use crate::sql::SqlPlanner;
    use crate::sql::tests::planner_over;

    /// `clicks` with a BIGINT time column `at` and a TIMESTAMP one `ts`.
    fn planner() -> SqlPlanner {
        let mut events = clicks();
        events.columns.push(Column {
            name: "at".into(),
            data_type: DataType::Int64,
            key: false,
        });
        events.columns.push(Column {
            name: "ts".into(),
            data_type: DataType::Timestamp(TimeUnit::Millisecond, None),
            key: false,
        });
        planner_over(&[events])
    }

    fn statement(sql: &str) -> SelectStatement {
        match eddy_parser::parse_sql(sql)
            .expect("parses")
            .pop()
            .map(|parsed| parsed.statement)
        {
            Some(Statement::Select(select)) => select,
            other => panic!("not a SELECT: {other:?}"),
        }
    }

    fn rewritten(sql: &str) -> PlanResult<Option<WindowTvf>> {
        let planner = planner();
        rewrite(&statement(sql), &planner.read_catalog(), planner.state())
    }

    fn message(sql: &str) -> String {
        match rewritten(sql) {
            Ok(tvf) => format!("rewritten: {tvf:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn both_spellings_rewrite_to_the_windowed_aggregation_over_the_stream() {
        for sql in [
            "SELECT url, window_start, COUNT(*) FROM TUMBLE(clicks, at, INTERVAL '1' MINUTE) \
             GROUP BY window_start, url, window_end EMIT CHANGES",
            "SELECT url, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(at), \
             INTERVAL '60' SECONDS)) GROUP BY window_start, url, window_end EMIT CHANGES",
        ] {
            let tvf = rewritten(sql).expect("plans").expect("a TVF");
            assert_eq!(
                tvf.select.query.to_string(),
                "SELECT url, from_unixtime(WINDOWSTART) AS window_start, COUNT(*) FROM clicks GROUP BY url",
                "{sql}"
            );
            let window = tvf.window.expect("an aggregation");
            assert_eq!(window.time_column, "at");
            assert_eq!(
                window.plan,
                WindowPlan {
                    kind: WindowKind::Tumbling { size_ms: 60_000 },
                    grace_ms: 0,
                    retention_ms: 24 * 60 * 60 * 1000,
                    emit_final: false,
                    idle_timeout_ms: None,
                }
            );
        }
        let hop = rewritten(
            "SELECT url, COUNT(*) FROM HOP(clicks, ts, INTERVAL '10' SECONDS, INTERVAL '1' MINUTE) \
             GROUP BY window_start, window_end, url EMIT FINAL",
        )
        .expect("plans")
        .and_then(|tvf| tvf.window)
        .expect("an aggregation");
        assert_eq!(
            (hop.plan.kind, hop.plan.emit_final),
            (
                WindowKind::Hopping {
                    size_ms: 60_000,
                    advance_ms: 10_000
                },
                true
            )
        );
        let plain = statement("SELECT url FROM clicks");
        let planner = planner();
        assert!(
            rewrite(&plain, &planner.read_catalog(), planner.state())
                .expect("plans")
                .is_none()
        );
    }

    #[test]
    fn without_group_by_tumble_computes_each_rows_window() {
        let tvf = rewritten("SELECT * FROM TUMBLE(clicks, ts, INTERVAL '1' SECOND) AS t")
            .expect("plans")
            .expect("a TVF");
        assert!(tvf.window.is_none());
        let start = "(unix_timestamp(\"ts\") - ((unix_timestamp(\"ts\") % 1000) + 1000) % 1000)";
        assert_eq!(
            tvf.select.query.to_string(),
            format!(
                "SELECT *, from_unixtime({start}) AS window_start, from_unixtime({start} + 1000) AS window_end FROM clicks AS t"
            )
        );
    }

    #[tokio::test]
    async fn cumulate_computes_each_windows_start_from_its_end() {
        let query = planner()
            .plan_persistent(
                &statement(
                    "SELECT url, window_start, COUNT(*) AS n FROM CUMULATE(clicks, at, \
                     INTERVAL '1' MINUTE, INTERVAL '1' HOUR) GROUP BY window_start, window_end, url",
                ),
                PersistentSink::Create(SourceKind::Table, "out"),
            )
            .await
            .expect("plans");
        let names: Vec<String> = query
            .columns
            .iter()
            .map(|column| {
                format!(
                    "{} {}",
                    column.name,
                    crate::types::type_name(&column.data_type)
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                "url STRING",
                "windowstart BIGINT",
                "windowend BIGINT",
                "window_start TIMESTAMP",
                "n BIGINT"
            ]
        );
        let Dataflow::Aggregate(plan) = &query.dataflow else {
            panic!("an aggregation");
        };
        let calls: Vec<&str> = plan
            .aggregates
            .iter()
            .map(|call| call.function.as_str())
            .collect();
        assert!(!calls.contains(&"ksql_windowstart"), "{calls:?}");
        assert!(plan.window_time.is_some());
        assert_eq!(
            query.window,
            Some(WindowKind::Cumulating {
                step_ms: 60_000,
                size_ms: 3_600_000
            })
        );
    }

    #[test]
    fn mistakes_are_named() {
        for (sql, expected) in [
            (
                "SELECT url, COUNT(*) FROM TUMBLE(clicks, url, INTERVAL '1' SECOND) GROUP BY window_start, window_end, url",
                "The time column of TUMBLE must be a BIGINT of epoch milliseconds or a TIMESTAMP, and \"url\" is STRING",
            ),
            (
                "SELECT url, COUNT(*) FROM TUMBLE(clicks, nope, INTERVAL '1' SECOND) GROUP BY window_start, window_end, url",
                "column \"nope\" does not exist in stream \"clicks\"",
            ),
            (
                "SELECT url, COUNT(*) FROM TUMBLE(clicks, at, '1 second') GROUP BY window_start, window_end, url",
                "The size of TUMBLE must be an interval of whole milliseconds, seconds, minutes, hours or days, such as INTERVAL '1' MINUTE; got '1 second'",
            ),
            (
                "SELECT url, COUNT(*) FROM TUMBLE(clicks, at, INTERVAL '0' SECOND) GROUP BY window_start, window_end, url",
                "The size of TUMBLE must be greater than zero",
            ),
            (
                "SELECT url, COUNT(*) FROM SESSION(clicks, at, INTERVAL '1' SECOND) GROUP BY window_end, url",
                "The GROUP BY of an aggregation over SESSION must contain both window_start and window_end",
            ),
            (
                "SELECT url, COUNT(*) FROM CUMULATE(clicks, at, INTERVAL '7' SECONDS, INTERVAL '1' MINUTE) GROUP BY window_start, window_end, url",
                "CUMULATE's size must be a multiple of its step, got size 60000 ms and step 7000 ms",
            ),
            (
                "SELECT url, COUNT(*) FROM HOP(clicks, at, INTERVAL '2' MINUTES, INTERVAL '1' MINUTE) GROUP BY window_start, window_end, url",
                "HOP's slide (120000 ms) must be no larger than its size (60000 ms)",
            ),
            (
                "SELECT url, COUNT(*) FROM TUMBLE(clicks, at, INTERVAL '1' SECOND) GROUP BY window_start, window_end, url HAVING window_end > 0",
                "window_end can only be used in the SELECT list and GROUP BY of an aggregation over TUMBLE",
            ),
            (
                "SELECT * FROM clicks c JOIN TUMBLE(clicks, at, INTERVAL '1' SECOND) t ON c.url = t.url",
                "a window TVF in a join is not supported yet",
            ),
            (
                "SELECT * FROM TUMBLE(clicks, at, INTERVAL '1' SECOND, INTERVAL '1' SECOND)",
                "TUMBLE takes 3 arguments, got 4: TUMBLE(stream, time_column, size)",
            ),
        ] {
            assert_eq!(message(sql), expected, "{sql}");
        }
    }
}
