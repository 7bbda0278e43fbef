//! ASOF joins (RisingWave's `s ASOF [LEFT] JOIN t ON s.k = t.k AND t.ts <= s.ts`, Feldera's
//! and Snowflake's `s [LEFT] ASOF JOIN t MATCH_CONDITION(s.ts >= t.ts) ON s.k = t.k`): each
//! left (probe) row joins the right (build) row of its key with the latest time at or before
//! its own. The parser leaves a plain join and an `AsofJoin`; `join::attach_asof_joins` puts
//! a mark, `ksql_join_asof(grace)`, and the MATCH_CONDITION into that join's ON, so the `Join`
//! node DataFusion plans carries them to lowering, which takes them out again
//! ([`take_asof_mark`], [`lower_asof`]) into an [`AsofJoinPlan`].
//!
//! Which of its two modes a join runs in follows what it feeds ([`AsofMode`]): final into a
//! stream, incremental into a GROUP BY, whose result is a table ([`asof_into_table`]).
//!
//! Never: accept an ON other than equalities and exactly one comparison of a probe time
//! with a build time, or a comparison that looks forward in time (a build time after the
//! probe's).

use std::sync::Arc;

use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::DFSchema;
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, ExprSchemable, Operator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::scalar::ScalarValue;

use crate::error::{PlanError, PlanResult};
use crate::scalar::JOIN_ASOF_FUNCTION;
use crate::sql::compile;
use crate::step::{AsofJoinPlan, AsofMode, Step};
use crate::types::type_name;

/// What the mark of an ASOF join carries to lowering.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AsofMark {
    pub grace_ms: Option<i64>,
}

/// Takes an ASOF join's mark out of ON's terms, if it has one.
pub(crate) fn take_asof_mark(conjuncts: &mut Vec<Expr>) -> PlanResult<Option<AsofMark>> {
    let Some(position) = conjuncts.iter().position(|conjunct| {
        matches!(conjunct, Expr::ScalarFunction(call) if call.name() == JOIN_ASOF_FUNCTION)
    }) else {
        return Ok(None);
    };
    let Expr::ScalarFunction(call) = conjuncts.remove(position) else {
        return Ok(None);
    };
    let grace_ms = match call.args.as_slice() {
        [Expr::Literal(ScalarValue::Int64(grace), _)] => *grace,
        [Expr::Literal(ScalarValue::Null, _)] => None,
        _ => {
            return Err(PlanError::invalid(format!(
                "{JOIN_ASOF_FUNCTION} takes one BIGINT constant: write ASOF JOIN t [GRACE PERIOD n unit] ON .."
            )));
        }
    };
    Ok(Some(AsofMark { grace_ms }))
}

/// The ASOF join ON's terms other than its equalities (`others`) describe: exactly one
/// comparison of a left (probe) time with a right (build) time, at or before it.
pub(crate) fn lower_asof(
    mark: AsofMark,
    others: Vec<Expr>,
    (left_schema, right_schema): (&DFSchema, &DFSchema),
    build_is_table: bool,
    order: &str,
) -> PlanResult<AsofJoinPlan> {
    let refused = |what: String| PlanError::UnsupportedJoin {
        message: format!(
            "Invalid ASOF join condition: {what}. ON holds the equalities of the keys and one comparison of the right side's time with the left side's, at or before it (`ON s.k = t.k AND t.ts <= s.ts`, or `<` to leave out equal times), or MATCH_CONDITION(s.ts >= t.ts) holds the comparison; the times are ROWTIME or BIGINT or TIMESTAMP columns. Got {order}."
        ),
    };
    let [comparison] = others.as_slice() else {
        return Err(match others.is_empty() {
            true => refused("it has no comparison of the two sides' times".into()),
            false => refused(format!(
                "it has more than equalities and one comparison of times: {}",
                others
                    .iter()
                    .map(|term| term.human_display().to_string())
                    .collect::<Vec<_>>()
                    .join(" AND ")
            )),
        });
    };
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = comparison else {
        return Err(refused(format!(
            "{} is no comparison of times",
            comparison.human_display()
        )));
    };
    let only_in = |expr: &Expr, schema: &DFSchema| {
        let columns = expr.column_refs();
        !columns.is_empty() && columns.iter().all(|column| schema.has_column(column))
    };
    // Turned so that it reads `probe op build`.
    let (probe, op, build) = if only_in(left, left_schema) && only_in(right, right_schema) {
        (left, *op, right)
    } else if only_in(right, left_schema) && only_in(left, right_schema) {
        let swapped = op.swap().ok_or_else(|| {
            refused(format!(
                "{} is no comparison of times",
                comparison.human_display()
            ))
        })?;
        (right, swapped, left)
    } else {
        return Err(refused(format!(
            "{} does not compare a time of each side",
            comparison.human_display()
        )));
    };
    let strict = match op {
        Operator::GtEq => false,
        Operator::Gt => true,
        Operator::Lt | Operator::LtEq => {
            return Err(refused(format!(
                "{} matches right rows after the left row's time; an ASOF JOIN matches the latest one at or before it",
                comparison.human_display()
            )));
        }
        _ => {
            return Err(refused(format!(
                "{} is no comparison of times",
                comparison.human_display()
            )));
        }
    };
    Ok(AsofJoinPlan {
        probe_time: time_ms(probe, left_schema)?,
        build_time: time_ms(build, right_schema)?,
        strict,
        grace_ms: mark.grace_ms.unwrap_or(0),
        grace_given: mark.grace_ms.is_some(),
        mode: AsofMode::Final,
        build_is_table,
    })
}

/// A time of one side as a BIGINT of epoch milliseconds: a BIGINT as it is (ROWTIME's
/// unit), a TIMESTAMP converted; a cast DataFusion added to compare the two is looked
/// through, so that a BIGINT stays milliseconds.
fn time_ms(expr: &Expr, schema: &DFSchema) -> PlanResult<Arc<dyn PhysicalExpr>> {
    let expr = match expr {
        Expr::Cast(cast) => cast.expr.as_ref(),
        Expr::TryCast(cast) => cast.expr.as_ref(),
        expr => expr,
    };
    let cast = |expr: Expr, data_type: DataType| Expr::Cast(Cast::new(Box::new(expr), data_type));
    let milliseconds = match expr.get_type(schema)? {
        DataType::Int64 => expr.clone(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => cast(expr.clone(), DataType::Int64),
        DataType::Timestamp(_, zone) => cast(
            cast(
                expr.clone(),
                DataType::Timestamp(TimeUnit::Millisecond, zone),
            ),
            DataType::Int64,
        ),
        other => {
            return Err(PlanError::TypeMismatch {
                message: format!(
                    "an ASOF JOIN compares times: ROWTIME, a BIGINT of epoch milliseconds or a TIMESTAMP, and {} is {}",
                    expr.human_display(),
                    type_name(&other)
                ),
            });
        }
    };
    compile(&milliseconds, schema)
}

/// Makes the ASOF joins of `steps` (a GROUP BY's input) incremental: the GROUP BY's result
/// is a table, which follows a late build row's re-match.
pub(crate) fn asof_into_table(steps: &mut [Step]) {
    for step in steps {
        if let Step::Join(plan) = step
            && plan.asof.is_some()
        {
            let plan = Arc::make_mut(plan);
            if let Some(asof) = &mut plan.asof {
                asof.mode = AsofMode::Incremental;
            }
        }
    }
}
