//! Joins of two inputs that both bring rows: two tables (ksqlDB's table-table joins), where
//! a change on either side retracts and re-emits exactly the joined rows it affects, by the
//! Z-set rule Δ(A⋈B) = ΔA⋈B + A⋈ΔB + ΔA⋈ΔB; and two streams (ksqlDB's stream-stream joins,
//! `WITHIN`), where each row joins the other stream's rows of its key within a time window
//! ([`JoinTimeWindow`]). Lowered from DataFusion's `Join` node to a [`JoinPlan`]: a step of
//! the left input's chain that brings its right input with it ([`JoinInput`]), so that the
//! dataflow is a graph of two inputs meeting at the join. [`lower_join_step`] decides which
//! join a `Join` node is, a stream-table join (`lookup_join.rs`) included.
//!
//! `WITHIN` reaches the plan inside ON: [`attach_join_windows`] adds a call of
//! `ksql_join_within(before, after, grace)` (`scalar/join_within.rs`) to its join's ON
//! before DataFusion plans the query, and lowering takes it out again. Flink's spelling, a
//! bound between the two streams' ROWTIMEs in ON, becomes the same call
//! ([`attach_interval_bounds`]). An ASOF join's mark travels the same way
//! ([`attach_asof_joins`]); `asof_join.rs` lowers it.
//!
//! ON equates the right table's PRIMARY KEY with left expressions: with the left table's
//! PRIMARY KEY too, a primary-key join (INNER, LEFT, RIGHT, FULL), keyed by the join key;
//! with other left columns, a foreign-key join (INNER, LEFT), keyed by the left table's
//! PRIMARY KEY, as in ksqlDB. Beyond ksqlDB, ON may equate several columns and add other
//! terms; those decide a match as they do in SQL.
//!
//! A join of tables may go on with more tables (N-way), each joined with the rows of the
//! joins before it, on its key or on a foreign key.
//!
//! Beyond ksqlDB, an INNER join of tables may leave out the right table's key (many to
//! many): keyed by both sides' keys.
//!
//! Never: accept a join whose result key could repeat or be NULL (an outer many-to-many
//! join, a RIGHT or FULL foreign-key join), a windowed table, or a join of two streams
//! without a WITHIN or ASOF.

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::common::{Column, DFSchema};
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{
    Aggregate, Cast, Expr, ExprSchemable, Join, JoinType, LogicalPlan, Projection,
};
use datafusion::scalar::ScalarValue;
use eddy_parser::sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, FunctionArg, FunctionArgExpr, Ident, Join as SqlJoin,
    JoinConstraint, JoinOperator, Query, SelectItem, SetExpr, TableFactor, Value as SqlValue,
    Visit, Visitor, visit_expressions_mut,
};
use eddy_parser::{AsofJoin, JoinWindow};

use crate::asof_join::{AsofMark, lower_asof, take_asof_mark};
use crate::catalog::{Catalog, Column as CatalogColumn, ROWKEY, ROWTIME, SourceDef, SourceKind};
use crate::error::{PlanError, PlanResult};
use crate::lookup_join::{equality_sides, join_words, key_column_of, on_conjuncts, scanned_source};
use crate::names::fold;
use crate::projection::relation_of;
use crate::scalar::{JOIN_ASOF_FUNCTION, JOIN_WITHIN_FUNCTION};
use crate::sql::{compile, constant_interval_ms, function_call};
use crate::step::{JoinInput, JoinKind, JoinPlan, JoinTimeWindow, ResultKeyColumn, Step};
use crate::window_tvf::SubqueryWindow;

/// Why a join whose left input is a GROUP BY's changing rows, not named as a table's, is
/// refused.
const SUBQUERY_AGGREGATE_JOIN: &str = "a join whose left input is the changing rows of a GROUP BY inside the query, other than a subquery's that keeps its GROUP BY columns (its rows change as a table's): join the table a CREATE TABLE .. AS SELECT makes";

/// ksqlDB's grace period of a join without GRACE PERIOD: a day, less the window.
const DEFAULT_JOIN_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// Puts each WITHIN of `windows` into its join's ON, as a call of [`JOIN_WITHIN_FUNCTION`]
/// (before, after and grace in milliseconds; grace NULL when not given), so that the plan
/// DataFusion makes carries it to lowering.
pub(crate) fn attach_join_windows(query: &mut Query, windows: &[JoinWindow]) -> PlanResult<()> {
    attach_to_joins(
        query,
        windows,
        |window| window.join,
        attach_join_window,
        "WITHIN belongs to a JOIN, after the joined stream",
    )
}

/// Attaches each of `clauses` (cut by the parser, each naming its join's number) to its
/// join with `attach`; `misplaced` says why one that names no join is wrong.
fn attach_to_joins<T>(
    query: &mut Query,
    clauses: &[T],
    join_of: impl Fn(&T) -> usize,
    attach: impl Fn(&mut SqlJoin, &T) -> PlanResult<()>,
    misplaced: &str,
) -> PlanResult<()> {
    if clauses.is_empty() {
        return Ok(());
    }
    let mut joins_seen = 0;
    for_each_join(query, &mut joins_seen, &mut |number, join| match clauses
        .iter()
        .find(|clause| join_of(clause) == number)
    {
        Some(clause) => attach(join, clause),
        None => Ok(()),
    })?;
    if clauses.iter().any(|clause| join_of(clause) >= joins_seen) {
        return Err(PlanError::invalid(misplaced));
    }
    Ok(())
}

/// Calls `visit` on each join of `query`'s FROM clauses, also those inside subqueries of
/// FROM, numbered in written order (the order of their JOIN keywords), from `*joins_seen`.
fn for_each_join(
    query: &mut Query,
    joins_seen: &mut usize,
    visit: &mut impl FnMut(usize, &mut SqlJoin) -> PlanResult<()>,
) -> PlanResult<()> {
    fn in_relation(
        relation: &mut TableFactor,
        joins_seen: &mut usize,
        visit: &mut impl FnMut(usize, &mut SqlJoin) -> PlanResult<()>,
    ) -> PlanResult<()> {
        match relation {
            TableFactor::Derived { subquery, .. } => for_each_join(subquery, joins_seen, visit),
            _ => Ok(()),
        }
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Ok(());
    };
    for from in &mut select.from {
        in_relation(&mut from.relation, joins_seen, visit)?;
        for join in &mut from.joins {
            let number = *joins_seen;
            *joins_seen += 1;
            visit(number, join)?;
            in_relation(&mut join.relation, joins_seen, visit)?;
        }
    }
    Ok(())
}

/// Puts `window` into `join`'s ON.
fn attach_join_window(join: &mut SqlJoin, window: &JoinWindow) -> PlanResult<()> {
    let Some((_, constraint)) = kind_and_constraint(&mut join.join_operator) else {
        return Err(PlanError::unsupported(
            "WITHIN on a join other than [INNER], LEFT, RIGHT or FULL [OUTER] JOIN",
        ));
    };
    let JoinConstraint::On(on) = constraint else {
        return Err(PlanError::invalid(
            "a join of two streams (WITHIN) needs an ON condition",
        ));
    };
    let millis =
        |duration: std::time::Duration| i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
    let marker = within_marker(
        millis(window.before),
        millis(window.after),
        window.grace.map(millis),
    );
    let written = std::mem::replace(on, SqlExpr::Value(SqlValue::Null.into()));
    *on = and(marker, written);
    Ok(())
}

/// Puts each ASOF join's mark and MATCH_CONDITION into its join's ON; only an INNER or
/// LEFT join (as the parser left it) can be one. Joins are numbered as the parser numbers
/// them (`for_each_join`).
pub(crate) fn attach_asof_joins(query: &mut Query, asof_joins: &[AsofJoin]) -> PlanResult<()> {
    attach_to_joins(
        query,
        asof_joins,
        |asof| asof.join,
        attach_asof_join,
        "ASOF belongs to a JOIN of the FROM clause",
    )
}

/// Puts `asof`'s mark and MATCH_CONDITION into `join`'s ON.
fn attach_asof_join(join: &mut SqlJoin, asof: &AsofJoin) -> PlanResult<()> {
    let constraint = match kind_and_constraint(&mut join.join_operator) {
        Some((JoinKind::Inner | JoinKind::Left, constraint)) => constraint,
        _ => {
            return Err(PlanError::UnsupportedJoin {
                message: "Invalid join type: an ASOF JOIN is INNER (ASOF JOIN) or LEFT (ASOF LEFT JOIN, LEFT ASOF JOIN).".into(),
            });
        }
    };
    let JoinConstraint::On(on) = constraint else {
        return Err(PlanError::invalid(
            "an ASOF JOIN needs an ON condition with the equalities of its keys",
        ));
    };
    let millis =
        |duration: std::time::Duration| i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
    let grace = match asof.grace.map(millis) {
        Some(grace) => SqlExpr::Value(SqlValue::Number(grace.to_string(), false).into()),
        None => SqlExpr::Value(SqlValue::Null.into()),
    };
    let mark = function_call(
        JOIN_ASOF_FUNCTION,
        vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(grace))],
    );
    let written = std::mem::replace(on, SqlExpr::Value(SqlValue::Null.into()));
    let written = match &asof.match_condition {
        Some(condition) => and(condition.clone(), written),
        None => written,
    };
    *on = and(mark, written);
    Ok(())
}

/// The call of [`JOIN_WITHIN_FUNCTION`] that carries a join's time window through planning.
fn within_marker(before_ms: i64, after_ms: i64, grace_ms: Option<i64>) -> SqlExpr {
    let number = |value: i64| SqlExpr::Value(SqlValue::Number(value.to_string(), false).into());
    let grace = match grace_ms {
        Some(grace) => number(grace),
        None => SqlExpr::Value(SqlValue::Null.into()),
    };
    let arguments = [number(before_ms), number(after_ms), grace]
        .into_iter()
        .map(|value| FunctionArg::Unnamed(FunctionArgExpr::Expr(value)))
        .collect();
    function_call(JOIN_WITHIN_FUNCTION, arguments)
}

fn and(left: SqlExpr, right: SqlExpr) -> SqlExpr {
    SqlExpr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::And,
        right: Box::new(SqlExpr::Nested(Box::new(right))),
    }
}

/// Flink's spelling of a join of two streams within a time window, a bound on the other
/// stream's time in ON (`ON a.k = b.k AND b.ROWTIME BETWEEN a.ROWTIME - INTERVAL '1' HOUR AND
/// a.ROWTIME`, or the same with `<`, `<=`, `>`, `>=` and `=`), as the WITHIN it means
/// (here `WITHIN (1 HOUR, 0 SECONDS)`, without GRACE PERIOD): its terms leave ON and
/// [`within_marker`] takes their place. Only for the first join of the FROM clause, of two
/// streams (`is_stream`), when it has no WITHIN of its own; a push or persistent query's
/// only, since a pull query's join is a batch join that reads such a bound as any condition.
///
/// Never: take a term that is not a bound between the two sides' ROWTIMEs, or a window that
/// leaves out the rows' own time (a WITHIN's `before` and `after` are never negative).
pub(crate) fn attach_interval_bounds(
    query: &mut Query,
    windows: &[JoinWindow],
    catalog: &Catalog,
) -> PlanResult<()> {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Ok(());
    };
    let [from] = select.from.as_mut_slice() else {
        return Ok(());
    };
    if windows.iter().any(|window| window.join == 0) {
        return Ok(());
    }
    let left = stream_qualifier(&from.relation, catalog);
    let Some(join) = from.joins.first_mut() else {
        return Ok(());
    };
    let (Some(left), Some(right)) = (left, stream_qualifier(&join.relation, catalog)) else {
        return Ok(());
    };
    let Some((_, constraint)) = kind_and_constraint(&mut join.join_operator) else {
        return Ok(());
    };
    let JoinConstraint::On(on) = constraint else {
        return Ok(());
    };
    let sides = JoinSides { left, right };
    let mut terms = Vec::new();
    and_terms(on, &mut terms);
    let mut window = RightMinusLeft::default();
    let mut others = Vec::new();
    for term in terms {
        match sides.bounds_of(term) {
            Some(bounds) => window.narrow(bounds),
            None => others.push(term.clone()),
        }
    }
    let (lower, upper) = match (window.lower, window.upper) {
        (None, None) => return Ok(()),
        (Some(lower), Some(upper)) => (lower, upper),
        (lower, _) => {
            return Err(PlanError::invalid(format!(
                "a join of two streams without WITHIN bounds {right}.ROWTIME from below and above, as `{right}.ROWTIME BETWEEN {left}.ROWTIME - INTERVAL '1' HOUR AND {left}.ROWTIME`; its ON has only a bound from {}",
                if lower.is_some() { "below" } else { "above" },
                left = sides.left,
                right = sides.right,
            )));
        }
    };
    if lower > 0 || upper < 0 {
        return Err(PlanError::unsupported(format!(
            "a join of two streams whose time bound leaves out rows of the same time ({right}.ROWTIME - {left}.ROWTIME between {lower} and {upper} ms)",
            left = sides.left,
            right = sides.right,
        )));
    }
    *on = others
        .into_iter()
        .fold(within_marker(-lower, upper, None), and);
    Ok(())
}

/// The name a relation of FROM is qualified by (its alias, else its name), if it is a stream.
fn stream_qualifier(relation: &TableFactor, catalog: &Catalog) -> Option<String> {
    match relation_of(relation, catalog)? {
        (qualifier, Some(source)) if !source.is_table() => Some(fold(&qualifier)),
        _ => None,
    }
}

/// ksqlDB's synthetic key column of a join, `ROWKEY`, in the SELECT list of a push or
/// persistent query: the key of the last join of FROM, as that join keys its rows. The left
/// side of ON's equality for an INNER or LEFT join, the right for a RIGHT join, and
/// `COALESCE(left, right)` for a FULL join, whose rows may have either side alone. Only when
/// no source of the query has a column of that name, which it then means.
pub(crate) fn resolve_rowkey(query: &mut Query, catalog: &Catalog) -> PlanResult<()> {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Ok(());
    };
    let [from] = select.from.as_slice() else {
        return Ok(());
    };
    let Some(join) = from.joins.last() else {
        return Ok(());
    };
    let names_rowkey =
        |expr: &SqlExpr| matches!(expr, SqlExpr::Identifier(ident) if fold(ident) == ROWKEY);
    let mut mentioned = false;
    let _ = select.projection.visit(&mut ExprVisitor(|expr: &SqlExpr| {
        mentioned |= names_rowkey(expr);
    }));
    if !mentioned {
        return Ok(());
    }
    let relations =
        std::iter::once(&from.relation).chain(from.joins.iter().map(|join| &join.relation));
    let mut right = None;
    for (position, relation) in relations.enumerate() {
        let Some((qualifier, source)) = relation_of(relation, catalog) else {
            return Ok(());
        };
        if source.is_some_and(|source| source.columns.iter().any(|column| column.name == ROWKEY)) {
            return Ok(());
        }
        if position == from.joins.len() {
            right = Some(fold(&qualifier));
        }
    }
    let Some(right) = right else {
        return Ok(());
    };
    let key = join_key_value(join, &right)?;
    for item in &mut select.projection {
        if let SelectItem::UnnamedExpr(expr) = item
            && names_rowkey(expr)
        {
            *item = SelectItem::ExprWithAlias {
                expr: key.clone(),
                alias: Ident::new(ROWKEY.to_uppercase()),
            };
            continue;
        }
        let _ = visit_expressions_mut(item, |expr| {
            if names_rowkey(expr) {
                *expr = key.clone();
            }
            ControlFlow::<()>::Continue(())
        });
    }
    Ok(())
}

/// The value of `join`'s key (see [`resolve_rowkey`]) from its ON's one equality between a
/// side of `right` (the joined relation's qualifier) and the rows before it.
fn join_key_value(join: &SqlJoin, right: &str) -> PlanResult<SqlExpr> {
    let mut operator = join.join_operator.clone();
    let Some((kind, constraint)) = kind_and_constraint(&mut operator) else {
        return Err(PlanError::unsupported(
            "ROWKEY of a join other than [INNER], LEFT, RIGHT or FULL [OUTER] JOIN",
        ));
    };
    let JoinConstraint::On(on) = constraint else {
        return Err(PlanError::unsupported("ROWKEY of a join without ON"));
    };
    let mut terms = Vec::new();
    and_terms(on, &mut terms);
    let equalities: Vec<(&SqlExpr, &SqlExpr)> = terms
        .into_iter()
        .filter_map(|term| match term {
            SqlExpr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right: other,
            } => match (names_qualifier(left, right), names_qualifier(other, right)) {
                (false, true) => Some((left.as_ref(), other.as_ref())),
                (true, false) => Some((other.as_ref(), left.as_ref())),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let [(left_side, right_side)] = equalities.as_slice() else {
        return Err(PlanError::invalid(format!(
            "ROWKEY is the key of a join ON one equality between the joined relation \"{right}\" and the rows before it; this ON has {}",
            equalities.len()
        )));
    };
    let (left_side, right_side) = ((*left_side).clone(), (*right_side).clone());
    Ok(match kind {
        JoinKind::Inner | JoinKind::Left => left_side,
        JoinKind::Right => right_side,
        JoinKind::Full => function_call(
            "coalesce",
            [left_side, right_side]
                .into_iter()
                .map(|side| FunctionArg::Unnamed(FunctionArgExpr::Expr(side)))
                .collect(),
        ),
    })
}

/// The kind of a join of SQL's four kinds, and its constraint; None for any other join.
fn kind_and_constraint(operator: &mut JoinOperator) -> Option<(JoinKind, &mut JoinConstraint)> {
    match operator {
        JoinOperator::Join(constraint) | JoinOperator::Inner(constraint) => {
            Some((JoinKind::Inner, constraint))
        }
        JoinOperator::Left(constraint) | JoinOperator::LeftOuter(constraint) => {
            Some((JoinKind::Left, constraint))
        }
        JoinOperator::Right(constraint) | JoinOperator::RightOuter(constraint) => {
            Some((JoinKind::Right, constraint))
        }
        JoinOperator::FullOuter(constraint) => Some((JoinKind::Full, constraint)),
        _ => None,
    }
}

/// Whether `expr` names a column qualified by `qualifier`.
fn names_qualifier(expr: &SqlExpr, qualifier: &str) -> bool {
    let mut found = false;
    let _ = expr.visit(&mut ExprVisitor(|expr: &SqlExpr| {
        if let SqlExpr::CompoundIdentifier(parts) = expr
            && let [first, _, ..] = parts.as_slice()
        {
            found |= fold(first) == qualifier;
        }
    }));
    found
}

/// Calls its function on every expression it visits.
struct ExprVisitor<F>(F);

impl<F: FnMut(&SqlExpr)> Visitor for ExprVisitor<F> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &SqlExpr) -> ControlFlow<()> {
        (self.0)(expr);
        ControlFlow::Continue(())
    }
}

/// The terms of `expr`'s top-level ANDs, out of their parentheses.
fn and_terms<'a>(expr: &'a SqlExpr, terms: &mut Vec<&'a SqlExpr>) {
    match expr {
        SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            and_terms(left, terms);
            and_terms(right, terms);
        }
        SqlExpr::Nested(inner) => and_terms(inner, terms),
        _ => terms.push(expr),
    }
}

/// Which stream of a join a ROWTIME belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

/// The qualifiers of a join's two streams.
struct JoinSides {
    left: String,
    right: String,
}

/// Bounds on the right row's ROWTIME less the left row's, in milliseconds, both included.
#[derive(Default)]
struct RightMinusLeft {
    lower: Option<i64>,
    upper: Option<i64>,
}

impl RightMinusLeft {
    fn narrow(&mut self, other: RightMinusLeft) {
        self.lower = self.lower.max(other.lower);
        self.upper = match (self.upper, other.upper) {
            (Some(mine), Some(theirs)) => Some(mine.min(theirs)),
            (mine, theirs) => mine.or(theirs),
        };
    }
}

impl JoinSides {
    /// The bounds a term of ON puts on the two rows' times, if it is a comparison of the two
    /// sides' ROWTIMEs (each plus or minus a constant).
    fn bounds_of(&self, term: &SqlExpr) -> Option<RightMinusLeft> {
        match term {
            SqlExpr::Nested(inner) => self.bounds_of(inner),
            SqlExpr::BinaryOp { left, op, right } => {
                self.compare(self.rowtime_term(left)?, op, self.rowtime_term(right)?)
            }
            SqlExpr::Between {
                expr,
                negated: false,
                low,
                high,
            } => {
                let time = self.rowtime_term(expr)?;
                let mut bounds =
                    self.compare(time, &BinaryOperator::GtEq, self.rowtime_term(low)?)?;
                bounds.narrow(self.compare(
                    time,
                    &BinaryOperator::LtEq,
                    self.rowtime_term(high)?,
                )?);
                Some(bounds)
            }
            _ => None,
        }
    }

    /// `(side + a) op (other side + b)` as a bound on right less left.
    fn compare(
        &self,
        (side, a): (Side, i64),
        op: &BinaryOperator,
        (other_side, b): (Side, i64),
    ) -> Option<RightMinusLeft> {
        if side == other_side {
            return None;
        }
        // right + a op left + b: right - left op b - a. left + a op right + b: right - left
        // op' a - b, op' being op turned around.
        let (op, value) = match side {
            Side::Right => (op.clone(), b.checked_sub(a)?),
            Side::Left => (turned_around(op)?, a.checked_sub(b)?),
        };
        let (lower, upper) = match op {
            BinaryOperator::Lt => (None, Some(value.checked_sub(1)?)),
            BinaryOperator::LtEq => (None, Some(value)),
            BinaryOperator::Gt => (Some(value.checked_add(1)?), None),
            BinaryOperator::GtEq => (Some(value), None),
            BinaryOperator::Eq => (Some(value), Some(value)),
            _ => return None,
        };
        Some(RightMinusLeft { lower, upper })
    }

    /// `q.ROWTIME`, plus or minus constants: its side and the sum of the constants.
    fn rowtime_term(&self, expr: &SqlExpr) -> Option<(Side, i64)> {
        match expr {
            SqlExpr::Nested(inner) => self.rowtime_term(inner),
            SqlExpr::CompoundIdentifier(parts) => match parts.as_slice() {
                [qualifier, column] if fold(column) == ROWTIME => {
                    let qualifier = fold(qualifier);
                    if qualifier == self.left {
                        Some((Side::Left, 0))
                    } else if qualifier == self.right {
                        Some((Side::Right, 0))
                    } else {
                        None
                    }
                }
                _ => None,
            },
            SqlExpr::BinaryOp {
                left,
                op: op @ (BinaryOperator::Plus | BinaryOperator::Minus),
                right,
            } => match (self.rowtime_term(left), constant_ms(right)) {
                (Some((side, offset)), Some(constant)) => match op {
                    BinaryOperator::Plus => Some((side, offset.checked_add(constant)?)),
                    _ => Some((side, offset.checked_sub(constant)?)),
                },
                _ if *op == BinaryOperator::Plus => {
                    let (side, offset) = self.rowtime_term(right)?;
                    Some((side, offset.checked_add(constant_ms(left)?)?))
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// `a op b` as `b op' a`.
fn turned_around(op: &BinaryOperator) -> Option<BinaryOperator> {
    Some(match op {
        BinaryOperator::Lt => BinaryOperator::Gt,
        BinaryOperator::LtEq => BinaryOperator::GtEq,
        BinaryOperator::Gt => BinaryOperator::Lt,
        BinaryOperator::GtEq => BinaryOperator::LtEq,
        BinaryOperator::Eq => BinaryOperator::Eq,
        _ => return None,
    })
}

/// A constant span of time: an INTERVAL, or whole milliseconds (ROWTIME is a BIGINT of them).
fn constant_ms(expr: &SqlExpr) -> Option<i64> {
    match expr {
        SqlExpr::Nested(inner) => constant_ms(inner),
        SqlExpr::Value(value) => match &value.value {
            SqlValue::Number(text, _) => text.parse().ok(),
            _ => None,
        },
        other => constant_interval_ms(other),
    }
}

/// What a `Join` node is, by the rows of its two sides.
pub(crate) enum JoinShape {
    /// A stream joined with a table's current rows (`lookup_join.rs`).
    Lookup,
    /// Two tables, or two streams within a time window.
    TwoInputs(Box<TwoInputs>),
}

/// What deciding a join of two inputs found out.
pub(crate) struct TwoInputs {
    /// ON's terms, less the WITHIN or the ASOF mark.
    conjuncts: Vec<Expr>,
    window: Option<JoinTimeWindow>,
    asof: Option<AsofMark>,
    /// The last join of two tables of the left chain, if it has one.
    left_chain_join: Option<Arc<JoinPlan>>,
    right_source: SourceDef,
}

/// Decides which join `join` is: its left input reads `left_source` through `steps` (its
/// chain so far). ksqlDB's messages for a WITHIN where it does not belong, or missing.
pub(crate) fn join_shape(
    join: &Join,
    left_source: &SourceDef,
    steps: &[Step],
    catalog: &Catalog,
    subquery_windows: &[SubqueryWindow],
) -> PlanResult<JoinShape> {
    let mut conjuncts = on_conjuncts(join);
    let window = take_join_window(&mut conjuncts)?;
    let asof = take_asof_mark(&mut conjuncts)?;
    let left_chain_join = steps.iter().rev().find_map(|step| match step {
        Step::Join(plan) if plan.window.is_none() && plan.asof.is_none() => Some(plan.clone()),
        _ => None,
    });
    // A GROUP BY's rows change as a table's do, unless its windows are each emitted once:
    // the left input must then be a table (`left_input_source`) or a join of tables.
    let left_aggregates_changes = steps.iter().any(|step| {
        matches!(step, Step::Aggregate(plan) if !plan.window.is_some_and(|window| window.emit_final))
    });
    if left_aggregates_changes && !left_source.is_table() && left_chain_join.is_none() {
        return Err(PlanError::unsupported(SUBQUERY_AGGREGATE_JOIN));
    }
    // A chain that joined two tables carries their changes; any other its source's rows.
    let left_changes = left_source.is_table() || left_chain_join.is_some();
    let right_source = match scanned_source(&join.right) {
        Some(name) => catalog.source_required(&name).ok().cloned(),
        None => subquery_source(&join.right, catalog, subquery_windows, false)?,
    };
    let two_inputs = |right_source: SourceDef| {
        Ok(JoinShape::TwoInputs(Box::new(TwoInputs {
            conjuncts,
            window,
            asof,
            left_chain_join,
            right_source,
        })))
    };
    if asof.is_some() {
        return match (left_changes, right_source, window) {
            (_, _, Some(_)) => Err(PlanError::UnsupportedJoin {
                message: "An ASOF JOIN takes no WITHIN: it matches each left row with the latest right row at or before its time.".into(),
            }),
            (true, _, None) => Err(PlanError::UnsupportedJoin {
                message: "Invalid ASOF join: its left side is the stream of rows that look up the right side; a table (or a join of tables) on the left is not supported.".into(),
            }),
            (false, Some(right), None) => two_inputs(right),
            (false, None, None) => Err(PlanError::unsupported(
                "an ASOF JOIN with a subquery on its right side",
            )),
        };
    }
    match (left_changes, right_source, window) {
        (false, Some(right), None) if !right.is_table() => Err(PlanError::UnsupportedJoin {
            message: "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.ksqldb.io/en/latest/developer-guide/ksqldb-reference/select-push-query/#stream-stream-joins".into(),
        }),
        (false, Some(right), Some(_)) if right.is_table() => Err(PlanError::UnsupportedJoin {
            message: "A window definition was provided for a Stream-Table join. These joins are not windowed. Please drop the window definition (ie. the WITHIN clause) and try to execute your Stream-Table join again.".into(),
        }),
        (true, _, Some(_)) => Err(PlanError::UnsupportedJoin {
            message: "A window definition was provided for a Table-Table join. These joins are not windowed. Please drop the window definition (i.e. the WITHIN clause) and try to execute your Table-Table join again.".into(),
        }),
        (true, Some(right), None) if right.is_table() => two_inputs(right),
        (false, Some(right), Some(_)) => two_inputs(right),
        _ => Ok(JoinShape::Lookup),
    }
}

/// The source a join's left input reads when it is a subquery (see `subquery_source`): a
/// GROUP BY's rows as a table keyed by its group. None: the catalog source it scans.
pub(crate) fn left_input_source(
    join: &Join,
    catalog: &Catalog,
    subquery_windows: &[SubqueryWindow],
) -> PlanResult<Option<SourceDef>> {
    match scanned_source(&join.left) {
        Some(_) => Ok(None),
        None => subquery_source(&join.left, catalog, subquery_windows, false),
    }
}

/// The source a subquery joined as a second input reads, as the join sees its rows: the
/// catalog source itself for filters and projections of its rows, or for a window TVF's
/// aggregation of a stream's (`in_windows`: under one), whose windows, each emitted once as
/// it closes, are a stream; for any other GROUP BY, a table of the subquery's columns keyed
/// by its GROUP BY columns (its rows change as a table's do), named as the catalog source it
/// reads, which feeds it. None for any other subquery.
fn subquery_source(
    plan: &LogicalPlan,
    catalog: &Catalog,
    subquery_windows: &[SubqueryWindow],
    in_windows: bool,
) -> PlanResult<Option<SourceDef>> {
    match plan {
        LogicalPlan::TableScan(scan) => Ok(catalog.source(scan.table_name.table()).cloned()),
        LogicalPlan::Projection(projection) => match aggregate_below(&projection.input) {
            Some(aggregate) if !in_windows => {
                grouped_source(projection, aggregate, catalog, subquery_windows)
            }
            _ => subquery_source(&projection.input, catalog, subquery_windows, in_windows),
        },
        LogicalPlan::Filter(filter) => {
            subquery_source(&filter.input, catalog, subquery_windows, in_windows)
        }
        LogicalPlan::SubqueryAlias(alias) => {
            let windowed = subquery_windows
                .iter()
                .any(|window| window.alias == alias.alias.table());
            subquery_source(&alias.input, catalog, subquery_windows, windowed)
        }
        LogicalPlan::Aggregate(aggregate) if in_windows => {
            subquery_source(&aggregate.input, catalog, subquery_windows, false)
        }
        LogicalPlan::Aggregate(_) => Err(PlanError::unsupported(
            "a join with a subquery that aggregates without a SELECT list of its own",
        )),
        _ => Ok(None),
    }
}

/// The aggregation right under a subquery's SELECT list, through its HAVING.
fn aggregate_below(plan: &LogicalPlan) -> Option<&Aggregate> {
    match plan {
        LogicalPlan::Aggregate(aggregate) => Some(aggregate),
        LogicalPlan::Filter(filter) => aggregate_below(&filter.input),
        _ => None,
    }
}

/// The rows of a subquery's GROUP BY (`aggregate`, under its SELECT list `projection`) as a
/// table keyed by the GROUP BY columns, which the SELECT list must pass through.
fn grouped_source(
    projection: &Projection,
    aggregate: &Aggregate,
    catalog: &Catalog,
    subquery_windows: &[SubqueryWindow],
) -> PlanResult<Option<SourceDef>> {
    let Some(input) = subquery_source(&aggregate.input, catalog, subquery_windows, false)? else {
        return Ok(None);
    };
    let group_columns: Vec<Column> = (0..aggregate.group_expr.len())
        .map(|position| Column::from(aggregate.schema.qualified_field(position)))
        .collect();
    let mut keys_found = 0;
    let columns = projection
        .expr
        .iter()
        .zip(projection.schema.fields())
        .map(|(expr, field)| {
            let key = matches!(
                expr.clone().unalias(),
                Expr::Column(column) if group_columns.contains(&column)
            );
            keys_found += usize::from(key);
            CatalogColumn {
                name: field.name().clone(),
                data_type: field.data_type().clone(),
                key,
            }
        })
        .collect();
    if keys_found < group_columns.len() {
        return Err(PlanError::unsupported(
            "a join with a subquery that aggregates, whose SELECT list leaves out a GROUP BY column (its rows are named by them)",
        ));
    }
    Ok(Some(SourceDef {
        kind: SourceKind::Table,
        columns,
        window: None,
        ..input
    }))
}

/// Takes the WITHIN (`ksql_join_within(..)`) out of ON's terms.
fn take_join_window(conjuncts: &mut Vec<Expr>) -> PlanResult<Option<JoinTimeWindow>> {
    let Some(position) = conjuncts.iter().position(|conjunct| {
        matches!(conjunct, Expr::ScalarFunction(call) if call.name() == JOIN_WITHIN_FUNCTION)
    }) else {
        return Ok(None);
    };
    let Expr::ScalarFunction(call) = conjuncts.remove(position) else {
        return Ok(None);
    };
    let millis: Vec<Option<i64>> = call
        .args
        .iter()
        .map(|arg| match arg {
            Expr::Literal(ScalarValue::Int64(value), _) => *value,
            _ => None,
        })
        .collect();
    let [Some(before_ms), Some(after_ms), grace] = millis.as_slice() else {
        return Err(PlanError::invalid(format!(
            "{JOIN_WITHIN_FUNCTION} takes three BIGINT constants: write WITHIN after the joined stream"
        )));
    };
    let window_ms = before_ms.saturating_add(*after_ms);
    Ok(Some(JoinTimeWindow {
        before_ms: *before_ms,
        after_ms: *after_ms,
        grace_ms: grace.unwrap_or((DEFAULT_JOIN_RETENTION_MS - window_ms).max(0)),
        grace_given: grace.is_some(),
    }))
}

/// Lowers a join of two tables or two streams (as `join_shape` found it): `left_source`
/// (its rows as the left input gives them) with a right input whose chain is `right_steps`.
pub(crate) fn lower_two_input_join(
    join: &Join,
    shape: Box<TwoInputs>,
    left_source: &SourceDef,
    right_steps: Vec<Step>,
) -> PlanResult<JoinPlan> {
    let TwoInputs {
        conjuncts,
        window,
        asof,
        left_chain_join,
        right_source,
    } = *shape;
    let right_source = &right_source;
    let words = match (asof.is_some(), join.join_type) {
        (true, JoinType::Left) => "ASOF LEFT JOIN",
        (true, _) => "ASOF JOIN",
        (false, join_type) => join_words(join_type),
    };
    let order = &format!("{} {words} {}", left_source.name, right_source.name);
    if asof.is_some() && right_source.window.is_some() {
        return Err(PlanError::unsupported(format!(
            "an ASOF JOIN with windowed table {}",
            right_source.name
        )));
    }
    if window.is_none() && (left_source.window.is_some() || right_source.window.is_some()) {
        return Err(PlanError::UnsupportedJoin {
            message: format!(
                "Invalid join: a table-table join of a windowed table is not supported. Got {order}."
            ),
        });
    }
    let kind = match join.join_type {
        JoinType::Inner => JoinKind::Inner,
        JoinType::Left => JoinKind::Left,
        JoinType::Right => JoinKind::Right,
        JoinType::Full => JoinKind::Full,
        other => {
            return Err(PlanError::Unsupported {
                feature: format!("a {other} join in a push or persistent query"),
            });
        }
    };
    let left_schema = join.left.schema();
    let right_schema = join.right.schema();
    let mut equalities: Vec<(Expr, Expr)> = Vec::new();
    let mut residual = Vec::new();
    for conjunct in conjuncts {
        match equality_sides(&conjunct, left_schema, right_schema) {
            Some((left, right)) => equalities.push((left.clone(), right.clone())),
            None => residual.push(conjunct),
        }
    }
    let asof = match asof {
        Some(mark) => {
            let others = std::mem::take(&mut residual);
            let schemas = (left_schema.as_ref(), right_schema.as_ref());
            Some(lower_asof(
                mark,
                others,
                schemas,
                right_source.is_table(),
                order,
            )?)
        }
        None => None,
    };
    if equalities.is_empty() {
        return Err(PlanError::UnsupportedJoin {
            message: format!(
                "Invalid join condition: a join needs an equality of an expression of each side in ON. Got {order}."
            ),
        });
    }
    let of_streams = window.is_some() || asof.is_some();
    let (result_key, left_identity, right_identity) = match (of_streams, &left_chain_join) {
        (true, _) => {
            // An ASOF join's table rows are named by their PRIMARY KEY, so that a change
            // takes out the row it replaces.
            let right_identity = match &asof {
                Some(asof) if asof.build_is_table => {
                    let keys = key_columns_in(right_source, right_schema)?;
                    let keys: Vec<Expr> = keys.into_iter().map(Expr::Column).collect();
                    positions_of(&keys, right_schema)?
                }
                _ => Vec::new(),
            };
            (
                stream_result_key(kind, &equalities),
                Vec::new(),
                right_identity,
            )
        }
        (false, None) => {
            table_result_key(join, kind, &equalities, left_source, right_source, order)?
        }
        (false, Some(chain)) => {
            chained_result_key(join, kind, &equalities, chain, right_source, order)?
        }
    };
    let mut compiled_left = Vec::with_capacity(equalities.len());
    let mut compiled_right = Vec::with_capacity(equalities.len());
    for (left, right) in &equalities {
        let left_type = left.get_type(left_schema)?;
        let right_type = right.get_type(right_schema)?;
        let common = comparison_coercion(&left_type, &right_type).ok_or_else(|| {
            PlanError::TypeMismatch {
                message: format!(
                    "a join cannot compare {} with {}",
                    crate::types::type_name(&left_type),
                    crate::types::type_name(&right_type)
                ),
            }
        })?;
        let as_common = |expr: &Expr, own_type| match own_type == &common {
            true => expr.clone(),
            false => Expr::Cast(Cast::new(Box::new(expr.clone()), common.clone())),
        };
        compiled_left.push(compile(&as_common(left, &left_type), left_schema)?);
        compiled_right.push(compile(&as_common(right, &right_type), right_schema)?);
    }
    let condition = match conjunction(residual) {
        Some(condition) => Some(compile(&condition, &join.schema)?),
        None => None,
    };
    let result_key_values = result_key
        .iter()
        .map(|column| {
            let value = column.value.as_ref().or(column.candidates.first());
            let value = value.ok_or_else(|| PlanError::Internal {
                message: "a join's result key column has no candidate".into(),
            })?;
            compile(value, &join.schema)
        })
        .collect::<PlanResult<Vec<_>>>()?;
    Ok(JoinPlan {
        kind,
        left_keys: compiled_left,
        right_keys: compiled_right,
        condition,
        left_schema: Arc::new(left_schema.as_arrow().clone()),
        right_schema: Arc::new(right_schema.as_arrow().clone()),
        schema: Arc::new(join.schema.as_arrow().clone()),
        left_identity,
        right_identity,
        right: JoinInput {
            source: right_source.name.clone(),
            steps: right_steps,
        },
        result_key,
        result_key_values,
        window,
        asof,
    })
}

/// A join of two streams is keyed by its join key: per equality of ON, the columns of its
/// two sides (the preserved side's first), as a primary-key join of tables is.
fn stream_result_key(kind: JoinKind, equalities: &[(Expr, Expr)]) -> Vec<ResultKeyColumn> {
    equalities
        .iter()
        .map(|(left, right)| primary_key_column(kind, left, right))
        .collect()
}

/// A join of two tables' result key (ksqlDB's: the join key of a primary-key join, the left
/// table's key of a foreign-key join) and the positions of each side's PRIMARY KEY in its
/// rows, which name a row of it.
fn table_result_key(
    join: &Join,
    kind: JoinKind,
    equalities: &[(Expr, Expr)],
    left_source: &SourceDef,
    right_source: &SourceDef,
    order: &str,
) -> PlanResult<(Vec<ResultKeyColumn>, Vec<usize>, Vec<usize>)> {
    let left_schema = join.left.schema();
    let right_schema = join.right.schema();
    let left_key_exprs: Vec<Expr> = key_columns_in(left_source, left_schema)?
        .into_iter()
        .map(Expr::Column)
        .collect();
    let right_keys = key_columns_in(right_source, right_schema)?;
    let right_pinned_by = pinned_by(&right_keys, equalities);
    // Each key column of the left table equals one of the right's: a primary-key join.
    let primary_key_join = right_pinned_by.as_ref().is_some_and(|by_left| {
        by_left.len() == left_key_exprs.len()
            && left_key_exprs.iter().all(|key| by_left.contains(key))
    });
    let result_key = match &right_pinned_by {
        Some(by_left) if primary_key_join => right_keys
            .iter()
            .zip(by_left)
            .map(|(right_key, left_key)| {
                primary_key_column(kind, left_key, &Expr::Column(right_key.clone()))
            })
            .collect(),
        Some(_) => {
            check_foreign_key_kind(join, kind, order)?;
            left_key_exprs
                .iter()
                .map(|left_key| ResultKeyColumn {
                    candidates: vec![left_key.clone()],
                    value: None,
                    never_null: vec![left_key.clone()],
                })
                .collect()
        }
        None => {
            let left_key = left_key_exprs
                .iter()
                .map(|key| ResultKeyColumn {
                    candidates: vec![key.clone()],
                    value: None,
                    never_null: vec![key.clone()],
                })
                .collect();
            many_to_many_key(kind, left_key, &right_keys, equalities)?
        }
    };
    let right_key_exprs: Vec<Expr> = right_keys.into_iter().map(Expr::Column).collect();
    Ok((
        result_key,
        positions_of(&left_key_exprs, left_schema)?,
        positions_of(&right_key_exprs, right_schema)?,
    ))
}

/// The result key of a join of a table with a join of tables, `chain` (an N-way join), and
/// the positions of each side's rows' names in its rows: a chain's row is named by the
/// PRIMARY KEYs of every table in it, which NULL-padded rows keep apart. Where ON equates the
/// right table's key with the chain's key where that is never NULL, a primary-key join keyed
/// by the join key; else a foreign-key join (INNER, LEFT), keyed by the chain's key.
fn chained_result_key(
    join: &Join,
    kind: JoinKind,
    equalities: &[(Expr, Expr)],
    chain: &JoinPlan,
    right_source: &SourceDef,
    order: &str,
) -> PlanResult<(Vec<ResultKeyColumn>, Vec<usize>, Vec<usize>)> {
    let left_schema = join.left.schema();
    let right_schema = join.right.schema();
    if left_schema.as_arrow().fields() != chain.schema.fields() {
        return Err(PlanError::unsupported(format!(
            "a join of table \"{}\" with a join of tables whose columns are changed between the two joins",
            right_source.name
        )));
    }
    let chain_left_width = chain.left_schema.fields().len();
    let left_identity = chain
        .left_identity
        .iter()
        .copied()
        .chain(
            chain
                .right_identity
                .iter()
                .map(|position| position + chain_left_width),
        )
        .collect();
    let right_keys = key_columns_in(right_source, right_schema)?;
    let Some(by_left) = pinned_by(&right_keys, equalities) else {
        let result_key = many_to_many_key(kind, chain.result_key.clone(), &right_keys, equalities)?;
        let right_key_exprs: Vec<Expr> = right_keys.into_iter().map(Expr::Column).collect();
        return Ok((
            result_key,
            left_identity,
            positions_of(&right_key_exprs, right_schema)?,
        ));
    };
    // Per key column of the chain, the right key column ON equates with the key's value: a
    // candidate never NULL, or the value itself (`COALESCE(a.id, b.id)` after a FULL join).
    let pinned: Option<Vec<usize>> = chain
        .result_key
        .iter()
        .map(|column| {
            by_left.iter().position(|left| {
                column.never_null.contains(left) || column.value.as_ref() == Some(left)
            })
        })
        .collect();
    let result_key = match pinned {
        Some(pinned) if pinned.len() == right_keys.len() && is_permutation(&pinned) => chain
            .result_key
            .iter()
            .zip(pinned)
            .map(|(column, right_position)| {
                let right_key = Expr::Column(right_keys[right_position].clone());
                let chain_key = by_left[right_position].clone();
                let mut candidates = column.candidates.clone();
                match kind {
                    JoinKind::Right => candidates.insert(0, right_key.clone()),
                    _ => candidates.push(right_key.clone()),
                }
                let (value, never_null) = match kind {
                    JoinKind::Inner => {
                        let mut never_null = column.never_null.clone();
                        never_null.push(right_key);
                        (column.value.clone(), never_null)
                    }
                    JoinKind::Left => (
                        Some(coalesce(vec![chain_key, right_key])),
                        column.never_null.clone(),
                    ),
                    JoinKind::Right => (
                        Some(coalesce(vec![chain_key, right_key.clone()])),
                        vec![right_key],
                    ),
                    JoinKind::Full => (Some(coalesce(vec![chain_key, right_key])), Vec::new()),
                };
                ResultKeyColumn {
                    candidates,
                    value,
                    never_null,
                }
            })
            .collect(),
        _ => {
            check_foreign_key_kind(join, kind, order)?;
            chain.result_key.clone()
        }
    };
    let right_key_exprs: Vec<Expr> = right_keys.into_iter().map(Expr::Column).collect();
    Ok((
        result_key,
        left_identity,
        positions_of(&right_key_exprs, right_schema)?,
    ))
}

/// The result key of a join of tables whose ON leaves out the right table's PRIMARY KEY
/// (many-to-many, beyond ksqlDB): a joined row is one pair, named by the left rows' key and
/// the right table's PRIMARY KEY together. INNER only: a NULL-padded row's key would be NULL.
fn many_to_many_key(
    kind: JoinKind,
    left_key: Vec<ResultKeyColumn>,
    right_keys: &[Column],
    equalities: &[(Expr, Expr)],
) -> PlanResult<Vec<ResultKeyColumn>> {
    if kind != JoinKind::Inner {
        let written: Vec<String> = equalities
            .iter()
            .map(|(left, right)| format!("{} = {}", left.human_display(), right.human_display()))
            .collect();
        return Err(PlanError::UnsupportedJoin {
            message: format!(
                "Invalid join condition: table-table joins require to join on the primary key of the right source, either primary-key to primary-key or foreign-key to primary-key. Got {}. Other joins of tables are INNER only, keyed by both tables' PRIMARY KEYs.",
                written.join(" AND ")
            ),
        });
    }
    Ok(left_key
        .into_iter()
        .chain(right_keys.iter().map(|key| {
            let key = Expr::Column(key.clone());
            ResultKeyColumn {
                candidates: vec![key.clone()],
                value: None,
                never_null: vec![key],
            }
        }))
        .collect())
}

/// Whether `positions` names each of `0..positions.len()` once.
fn is_permutation(positions: &[usize]) -> bool {
    let mut sorted = positions.to_vec();
    sorted.sort_unstable();
    sorted.iter().copied().eq(0..positions.len())
}

/// Per key column of the right table, the left expression ON equates it with; None unless
/// ON equates every one.
fn pinned_by(right_keys: &[Column], equalities: &[(Expr, Expr)]) -> Option<Vec<Expr>> {
    right_keys
        .iter()
        .map(|key| {
            equalities
                .iter()
                .find_map(|(left, right)| match key_column_of(right) {
                    Some((column, true)) if column.name == key.name => Some(left.clone()),
                    _ => None,
                })
        })
        .collect()
}

/// A foreign-key join keeps no right row without a left one: its result is keyed by the
/// left side's key. ksqlDB's message otherwise.
fn check_foreign_key_kind(join: &Join, kind: JoinKind, order: &str) -> PlanResult<()> {
    match kind.keeps_unmatched_right() {
        false => Ok(()),
        true => Err(PlanError::UnsupportedJoin {
            message: format!(
                "Invalid join type: {} is not supported for foreign-key table-table joins; only [INNER] JOIN and LEFT [OUTER] JOIN. Got {order}.",
                join_words(join.join_type)
            ),
        }),
    }
}

/// A key column of a primary-key join's result: the join key, which either table's key
/// column carries where that table has a row.
fn primary_key_column(kind: JoinKind, left_key: &Expr, right_key: &Expr) -> ResultKeyColumn {
    let candidates = match kind {
        JoinKind::Right => vec![right_key.clone(), left_key.clone()],
        _ => vec![left_key.clone(), right_key.clone()],
    };
    let value = match kind {
        JoinKind::Inner => None,
        _ => Some(coalesce(vec![left_key.clone(), right_key.clone()])),
    };
    let never_null = match kind {
        JoinKind::Inner => candidates.clone(),
        JoinKind::Left | JoinKind::Right => candidates[..1].to_vec(),
        JoinKind::Full => Vec::new(),
    };
    ResultKeyColumn {
        candidates,
        value,
        never_null,
    }
}

/// The PRIMARY KEY columns of `source` as `schema` (its rows, as a join input) names them.
fn key_columns_in(source: &SourceDef, schema: &DFSchema) -> PlanResult<Vec<Column>> {
    source
        .columns
        .iter()
        .filter(|column| column.key)
        .map(|key| {
            schema
                .iter()
                .find(|(_, field)| *field.name() == key.name)
                .map(|(qualifier, field)| Column::from((qualifier, field.as_ref())))
                .ok_or_else(|| {
                    PlanError::unsupported(format!(
                        "a join input that drops the PRIMARY KEY column \"{}\" of table \"{}\"",
                        key.name, source.name
                    ))
                })
        })
        .collect()
}

/// The positions of the columns `columns` in `schema`.
fn positions_of(columns: &[Expr], schema: &DFSchema) -> PlanResult<Vec<usize>> {
    columns
        .iter()
        .map(|column| {
            let Expr::Column(column) = column else {
                return Err(PlanError::Internal {
                    message: format!("a join input's key is not a column: {column}"),
                });
            };
            schema
                .index_of_column(column)
                .map_err(|error| PlanError::Internal {
                    message: format!("a join input's key column is not in its rows: {error}"),
                })
        })
        .collect()
}
