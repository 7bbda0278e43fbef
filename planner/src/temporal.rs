//! Temporal filters: `WHERE ROWTIME > NOW() - INTERVAL '7' DAY` in a persistent query, as
//! RisingWave and Materialize read them: a row is in the result while the clock is inside its
//! bounds, so it leaves the result (a retraction) when the clock passes its lower bound, with
//! no new input, and a row with an upper bound (`ts <= NOW() + ..`) waits until the clock
//! reaches it. This is the TTL ksqlDB users ask for.
//!
//! Read on the SQL before DataFusion plans it: each top-level AND term of WHERE that compares
//! a row expression with `NOW()` (or `CURRENT_TIMESTAMP`), optionally plus or minus a constant
//! INTERVAL, becomes a bound on the row's visibility; the term leaves the WHERE clause, and
//! the executor's temporal filter operator applies the bounds by the clock.
//!
//! Never: let NOW() into a persistent or push query anywhere else. DataFusion would fold it
//! to the time the query was planned, and the query would answer for that instant forever.

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::common::DFSchema;
use datafusion::physical_expr::PhysicalExpr;
use eddy_parser::sqlparser::ast::{BinaryOperator, Expr, Query, SetExpr, Value, Visit, Visitor};

use crate::error::{PlanError, PlanResult};

/// When a row is in a temporal filter's result: from `time + from_offset_ms` (inclusive)
/// until `time + until_offset_ms` (exclusive), by the clock, where `time` is the row's
/// value of `time` in epoch milliseconds.
#[derive(Debug, Clone)]
pub struct TemporalFilter {
    /// The row's time, compiled against the source's rows (queryable schema): a BIGINT of
    /// epoch milliseconds or a TIMESTAMP.
    pub time: Arc<dyn PhysicalExpr>,
    /// None: visible from the start.
    pub from_offset_ms: Option<i64>,
    /// None: visible for ever.
    pub until_offset_ms: Option<i64>,
}

impl TemporalFilter {
    /// Whether rows leave the result as the clock moves (a lower bound on the row's time):
    /// its result retracts rows, so it must be a table.
    pub fn expires_rows(&self) -> bool {
        self.until_offset_ms.is_some()
    }
}

/// A comparison of a row expression with the clock, as written: `row op NOW() + offset_ms`.
#[derive(Debug, Clone)]
pub(crate) struct ClockComparison {
    row: Expr,
    op: BinaryOperator,
    offset_ms: i64,
}

/// Takes the temporal terms out of the query's WHERE clause; errors on any other use of
/// NOW() in the query.
pub(crate) fn take_clock_comparisons(query: &mut Query) -> PlanResult<Vec<ClockComparison>> {
    let mut comparisons = Vec::new();
    if let SetExpr::Select(select) = query.body.as_mut()
        && let Some(selection) = select.selection.take()
    {
        let mut kept = Vec::new();
        for term in conjuncts(selection) {
            match expr_uses_clock(&term) {
                true => comparisons.extend(clock_comparisons(&term)?),
                false => kept.push(term),
            }
        }
        select.selection = kept.into_iter().reduce(|left, right| Expr::BinaryOp {
            left: Box::new(left),
            op: BinaryOperator::And,
            right: Box::new(right),
        });
    }
    if uses_clock(query) {
        return Err(misused_clock());
    }
    Ok(comparisons)
}

/// Whether the query calls NOW() or CURRENT_TIMESTAMP anywhere.
pub(crate) fn uses_clock(query: &Query) -> bool {
    calls_clock(query)
}

fn misused_clock() -> PlanError {
    PlanError::unsupported(
        "NOW() in a persistent or push query other than as a temporal filter of a persistent query (a WHERE condition `time > NOW() - INTERVAL ..`, or <, <=, >=, BETWEEN, joined to the others by AND)",
    )
}

/// The filter the comparisons make, with the row side compiled by `compile_row` (a
/// BIGINT or TIMESTAMP expression over the source's rows).
pub(crate) fn temporal_filter(
    comparisons: &[ClockComparison],
    schema: &DFSchema,
    mut compile_row: impl FnMut(&Expr, &DFSchema) -> PlanResult<Arc<dyn PhysicalExpr>>,
) -> PlanResult<Option<TemporalFilter>> {
    let Some(first) = comparisons.first() else {
        return Ok(None);
    };
    if comparisons
        .iter()
        .any(|comparison| comparison.row != first.row)
    {
        return Err(PlanError::unsupported(
            "temporal filters on different row expressions in one query",
        ));
    }
    let mut from_offset_ms: Option<i64> = None;
    let mut until_offset_ms: Option<i64> = None;
    for comparison in comparisons {
        // `time op now + offset` as bounds on now.
        let minus = comparison.offset_ms.checked_neg().ok_or_else(too_far)?;
        match comparison.op {
            // now < time − offset
            BinaryOperator::Gt => tighten_until(&mut until_offset_ms, minus),
            // now ≤ time − offset
            BinaryOperator::GtEq => tighten_until(
                &mut until_offset_ms,
                minus.checked_add(1).ok_or_else(too_far)?,
            ),
            // now > time − offset
            BinaryOperator::Lt => tighten_from(
                &mut from_offset_ms,
                minus.checked_add(1).ok_or_else(too_far)?,
            ),
            // now ≥ time − offset
            BinaryOperator::LtEq => tighten_from(&mut from_offset_ms, minus),
            _ => return Err(misused_clock()),
        }
    }
    Ok(Some(TemporalFilter {
        time: compile_row(&first.row, schema)?,
        from_offset_ms,
        until_offset_ms,
    }))
}

fn tighten_until(bound: &mut Option<i64>, offset: i64) {
    *bound = Some(bound.map_or(offset, |bound| bound.min(offset)));
}

fn tighten_from(bound: &mut Option<i64>, offset: i64) {
    *bound = Some(bound.map_or(offset, |bound| bound.max(offset)));
}

fn too_far() -> PlanError {
    PlanError::invalid("the temporal filter's interval is too long")
}

/// The AND terms of `expr`, in order.
fn conjuncts(expr: Expr) -> Vec<Expr> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut terms = conjuncts(*left);
            terms.extend(conjuncts(*right));
            terms
        }
        Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            conjuncts(*inner)
        }
        other => vec![other],
    }
}

/// A term that uses the clock as comparisons of a row expression with it (BETWEEN is two).
fn clock_comparisons(term: &Expr) -> PlanResult<Vec<ClockComparison>> {
    match term {
        Expr::BinaryOp { left, op, right } => {
            let compares = matches!(
                op,
                BinaryOperator::Gt
                    | BinaryOperator::GtEq
                    | BinaryOperator::Lt
                    | BinaryOperator::LtEq
            );
            if !compares {
                return Err(misused_clock());
            }
            if let Some(offset_ms) = clock_plus(right)?
                && !expr_uses_clock(left)
            {
                return Ok(vec![ClockComparison {
                    row: left.as_ref().clone(),
                    op: op.clone(),
                    offset_ms,
                }]);
            }
            if let Some(offset_ms) = clock_plus(left)?
                && !expr_uses_clock(right)
            {
                let flipped = match op {
                    BinaryOperator::Gt => BinaryOperator::Lt,
                    BinaryOperator::GtEq => BinaryOperator::LtEq,
                    BinaryOperator::Lt => BinaryOperator::Gt,
                    _ => BinaryOperator::GtEq,
                };
                return Ok(vec![ClockComparison {
                    row: right.as_ref().clone(),
                    op: flipped,
                    offset_ms,
                }]);
            }
            Err(misused_clock())
        }
        Expr::Nested(inner) => clock_comparisons(inner),
        Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } if !expr_uses_clock(expr) => {
            let (Some(low_ms), Some(high_ms)) = (clock_plus(low)?, clock_plus(high)?) else {
                return Err(misused_clock());
            };
            Ok(vec![
                ClockComparison {
                    row: expr.as_ref().clone(),
                    op: BinaryOperator::GtEq,
                    offset_ms: low_ms,
                },
                ClockComparison {
                    row: expr.as_ref().clone(),
                    op: BinaryOperator::LtEq,
                    offset_ms: high_ms,
                },
            ])
        }
        _ => Err(misused_clock()),
    }
}

/// `NOW()`, `NOW() + INTERVAL ..` or `NOW() - INTERVAL ..`: the offset in milliseconds.
fn clock_plus(expr: &Expr) -> PlanResult<Option<i64>> {
    match expr {
        expr if is_clock(expr) => Ok(Some(0)),
        Expr::Nested(inner) => clock_plus(inner),
        Expr::BinaryOp { left, op, right } if is_clock(left) => {
            let interval = interval_ms(right)?;
            match op {
                BinaryOperator::Plus => Ok(Some(interval)),
                BinaryOperator::Minus => Ok(Some(interval.checked_neg().ok_or_else(too_far)?)),
                _ => Err(misused_clock()),
            }
        }
        _ => Ok(None),
    }
}

/// A constant `INTERVAL '7' DAY` (or `INTERVAL '7 days'`) in milliseconds.
fn interval_ms(expr: &Expr) -> PlanResult<i64> {
    let Expr::Interval(interval) = expr else {
        return Err(PlanError::invalid(format!(
            "a temporal filter moves NOW() by a constant INTERVAL, not by {expr}"
        )));
    };
    let text = match interval.value.as_ref() {
        Expr::Value(value) => match &value.value {
            Value::SingleQuotedString(text) | Value::Number(text, _) => text.clone(),
            other => {
                return Err(PlanError::invalid(format!(
                    "a temporal filter's INTERVAL is a constant, not {other}"
                )));
            }
        },
        other => {
            return Err(PlanError::invalid(format!(
                "a temporal filter's INTERVAL is a constant, not {other}"
            )));
        }
    };
    let written = match &interval.leading_field {
        Some(unit) => format!("{text} {unit}"),
        None => text,
    };
    let mut words = written.split_whitespace();
    let (Some(count), Some(unit), None) = (words.next(), words.next(), words.next()) else {
        return Err(PlanError::invalid(format!(
            "a temporal filter's INTERVAL is a count and one unit, as INTERVAL '7' DAY, not '{written}'"
        )));
    };
    let count: i64 = count.parse().map_err(|_| {
        PlanError::invalid(format!(
            "a temporal filter's INTERVAL counts whole units, not '{count}'"
        ))
    })?;
    let unit_ms: i64 = match unit.to_ascii_uppercase().trim_end_matches('S') {
        "MILLISECOND" => 1,
        "SECOND" => 1000,
        "MINUTE" => 60 * 1000,
        "HOUR" => 60 * 60 * 1000,
        "DAY" => 24 * 60 * 60 * 1000,
        "WEEK" => 7 * 24 * 60 * 60 * 1000,
        other => {
            return Err(PlanError::invalid(format!(
                "a temporal filter's INTERVAL is in MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS or WEEKS, not {other}"
            )));
        }
    };
    count.checked_mul(unit_ms).ok_or_else(too_far)
}

/// `NOW()` or `CURRENT_TIMESTAMP`.
fn is_clock(expr: &Expr) -> bool {
    match expr {
        Expr::Function(function) => {
            let name = function.name.to_string().to_ascii_lowercase();
            matches!(name.as_str(), "now" | "current_timestamp")
        }
        Expr::Value(_) => false,
        Expr::Identifier(ident) => ident.value.eq_ignore_ascii_case("current_timestamp"),
        _ => false,
    }
}

fn expr_uses_clock(expr: &Expr) -> bool {
    calls_clock(expr)
}

/// Whether `node` (a query or an expression) calls NOW() or CURRENT_TIMESTAMP.
fn calls_clock(node: &impl Visit) -> bool {
    struct Clock;
    impl Visitor for Clock {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            match is_clock(expr) {
                true => ControlFlow::Break(()),
                false => ControlFlow::Continue(()),
            }
        }
    }
    node.visit(&mut Clock).is_break()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(sql: &str) -> Query {
        match eddy_parser::parse_sql(sql)
            .expect("parses")
            .pop()
            .map(|parsed| parsed.statement)
        {
            Some(eddy_parser::Statement::Select(select)) => *select.query,
            other => panic!("not a SELECT: {other:?}"),
        }
    }

    fn offsets(sql: &str) -> (Option<i64>, Option<i64>, String) {
        let mut query = query(sql);
        let comparisons = take_clock_comparisons(&mut query).expect("a temporal filter");
        let schema = DFSchema::empty();
        let filter = temporal_filter(&comparisons, &schema, |_, _| {
            Ok(Arc::new(
                datafusion::physical_expr::expressions::Literal::new(
                    datafusion::scalar::ScalarValue::Int64(Some(0)),
                ),
            ))
        })
        .expect("plans")
        .expect("a filter");
        (
            filter.from_offset_ms,
            filter.until_offset_ms,
            query.to_string(),
        )
    }

    #[test]
    fn comparisons_with_the_clock_become_bounds_and_leave_the_where_clause() {
        assert_eq!(
            offsets("SELECT * FROM t WHERE ROWTIME > NOW() - INTERVAL '7' DAY AND v = 1"),
            (
                None,
                Some(604_800_000),
                "SELECT * FROM t WHERE v = 1".into()
            )
        );
        assert_eq!(
            offsets(
                "SELECT * FROM t WHERE ts BETWEEN NOW() - INTERVAL '1' HOUR AND NOW() + INTERVAL '10 seconds'"
            ),
            (Some(-10_000), Some(3_600_001), "SELECT * FROM t".into())
        );
    }

    #[test]
    fn any_other_use_of_the_clock_is_refused() {
        for sql in [
            "SELECT NOW() FROM t",
            "SELECT * FROM t WHERE ROWTIME > NOW() - INTERVAL '1' DAY OR v = 1",
            "SELECT * FROM t WHERE ROWTIME = NOW()",
            "SELECT * FROM t WHERE ROWTIME > NOW() * 2",
        ] {
            let error = take_clock_comparisons(&mut query(sql)).map(|_| ());
            let error = error.expect_err(sql).to_string();
            assert!(error.contains("NOW()"), "{sql}: {error}");
        }
    }
}
