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
//! before DataFusion plans the query, and lowering takes it out again.
//!
//! ON equates the right table's PRIMARY KEY with left expressions: with the left table's
//! PRIMARY KEY too, a primary-key join (INNER, LEFT, RIGHT, FULL), keyed by the join key;
//! with other left columns, a foreign-key join (INNER, LEFT), keyed by the left table's
//! PRIMARY KEY, as in ksqlDB. Beyond ksqlDB, ON may equate several columns and add other
//! terms; those decide a match as they do in SQL.
//!
//! Never: accept a join whose result key could repeat or be NULL (a many-to-many join, a
//! RIGHT or FULL foreign-key join), a windowed table, more than two tables, which the
//! executor's join does not key yet, or a join of two streams without a WITHIN.

use std::sync::Arc;

use datafusion::common::{Column, DFSchema};
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, Join, JoinType};
use datafusion::scalar::ScalarValue;
use eddy_parser::JoinWindow;
use eddy_parser::sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, FunctionArg, FunctionArgExpr, Join as SqlJoin, JoinConstraint,
    JoinOperator, Query, SetExpr, Value as SqlValue,
};

use crate::catalog::{Catalog, SourceDef};
use crate::error::{PlanError, PlanResult};
use crate::lookup_join::{equality_sides, join_words, key_column_of, on_conjuncts, scanned_source};
use crate::scalar::JOIN_WITHIN_FUNCTION;
use crate::sql::{compile, function_call};
use crate::step::{JoinInput, JoinKind, JoinPlan, JoinTimeWindow, ResultKeyColumn, Step};

/// ksqlDB's grace period of a join without GRACE PERIOD: a day, less the window.
const DEFAULT_JOIN_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// Puts each WITHIN of `windows` into its join's ON, as a call of [`JOIN_WITHIN_FUNCTION`]
/// (before, after and grace in milliseconds; grace NULL when not given), so that the plan
/// DataFusion makes carries it to lowering.
pub(crate) fn attach_join_windows(query: &mut Query, windows: &[JoinWindow]) -> PlanResult<()> {
    if windows.is_empty() {
        return Ok(());
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Err(PlanError::invalid("WITHIN belongs to a JOIN of a SELECT"));
    };
    let mut joins: Vec<&mut SqlJoin> = select
        .from
        .iter_mut()
        .flat_map(|from| from.joins.iter_mut())
        .collect();
    for window in windows {
        let join = joins.get_mut(window.join).ok_or_else(|| {
            PlanError::invalid("WITHIN belongs to a JOIN, after the joined stream")
        })?;
        let constraint = match &mut join.join_operator {
            JoinOperator::Join(constraint)
            | JoinOperator::Inner(constraint)
            | JoinOperator::Left(constraint)
            | JoinOperator::LeftOuter(constraint)
            | JoinOperator::Right(constraint)
            | JoinOperator::RightOuter(constraint)
            | JoinOperator::FullOuter(constraint) => constraint,
            _ => {
                return Err(PlanError::unsupported(
                    "WITHIN on a join other than [INNER], LEFT, RIGHT or FULL [OUTER] JOIN",
                ));
            }
        };
        let JoinConstraint::On(on) = constraint else {
            return Err(PlanError::invalid(
                "a join of two streams (WITHIN) needs an ON condition",
            ));
        };
        let millis = |duration: std::time::Duration| {
            let value = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
            SqlExpr::Value(SqlValue::Number(value.to_string(), false).into())
        };
        let grace = match window.grace {
            Some(grace) => millis(grace),
            None => SqlExpr::Value(SqlValue::Null.into()),
        };
        let arguments = [millis(window.before), millis(window.after), grace]
            .into_iter()
            .map(|value| FunctionArg::Unnamed(FunctionArgExpr::Expr(value)))
            .collect();
        let marker = function_call(JOIN_WITHIN_FUNCTION, arguments);
        let written = std::mem::replace(on, SqlExpr::Value(SqlValue::Null.into()));
        *on = SqlExpr::BinaryOp {
            left: Box::new(marker),
            op: BinaryOperator::And,
            right: Box::new(SqlExpr::Nested(Box::new(written))),
        };
    }
    Ok(())
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
    /// ON's terms, less the WITHIN.
    conjuncts: Vec<Expr>,
    window: Option<JoinTimeWindow>,
    /// The left chain joined two tables already.
    left_chain_joins: bool,
    right_source: SourceDef,
}

/// Decides which join `join` is: its left input reads `left_source` through `steps` (its
/// chain so far). ksqlDB's messages for a WITHIN where it does not belong, or missing.
pub(crate) fn join_shape(
    join: &Join,
    left_source: &SourceDef,
    steps: &[Step],
    catalog: &Catalog,
) -> PlanResult<JoinShape> {
    let mut conjuncts = on_conjuncts(join);
    let window = take_join_window(&mut conjuncts)?;
    let left_joined_tables = steps
        .iter()
        .any(|step| matches!(step, Step::Join(plan) if plan.window.is_none()));
    // A chain that joined two tables carries their changes; any other its source's rows.
    let left_changes = left_source.is_table() || left_joined_tables;
    let right_source = scanned_source(&join.right)
        .and_then(|name| catalog.source_required(&name).ok())
        .cloned();
    let two_inputs = |right_source: SourceDef| {
        Ok(JoinShape::TwoInputs(Box::new(TwoInputs {
            conjuncts,
            window,
            left_chain_joins: left_joined_tables,
            right_source,
        })))
    };
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
        left_chain_joins,
        right_source,
    } = *shape;
    let right_source = &right_source;
    let order = &format!(
        "{} {} {}",
        left_source.name,
        join_words(join.join_type),
        right_source.name
    );
    if left_chain_joins && window.is_none() {
        return Err(PlanError::unsupported(format!(
            "a join of a third table (\"{}\") with a join of two tables in a push or persistent query",
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
    if equalities.is_empty() {
        return Err(PlanError::UnsupportedJoin {
            message: format!(
                "Invalid join condition: a join needs an equality of an expression of each side in ON. Got {order}."
            ),
        });
    }
    let (result_key, left_identity, right_identity) = match window {
        Some(_) => (stream_result_key(kind, &equalities), Vec::new(), Vec::new()),
        None => table_result_key(join, kind, &equalities, left_source, right_source, order)?,
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
        window,
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
    // Per key column of the right table, the left expression ON equates it with.
    let right_pinned_by: Option<Vec<Expr>> = right_keys
        .iter()
        .map(|key| {
            equalities
                .iter()
                .find_map(|(left, right)| match key_column_of(right) {
                    Some((column, true)) if column.name == key.name => Some(left.clone()),
                    _ => None,
                })
        })
        .collect();
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
            if kind.keeps_unmatched_right() {
                return Err(PlanError::UnsupportedJoin {
                    message: format!(
                        "Invalid join type: {} is not supported for foreign-key table-table joins; only [INNER] JOIN and LEFT [OUTER] JOIN. Got {order}.",
                        join_words(join.join_type)
                    ),
                });
            }
            left_key_exprs
                .iter()
                .map(|left_key| ResultKeyColumn {
                    candidates: vec![left_key.clone()],
                    value: None,
                })
                .collect()
        }
        None => {
            let written: Vec<String> = equalities
                .iter()
                .map(|(left, right)| {
                    format!("{} = {}", left.human_display(), right.human_display())
                })
                .collect();
            return Err(PlanError::UnsupportedJoin {
                message: format!(
                    "Invalid join condition: table-table joins require to join on the primary key of the right source, either primary-key to primary-key or foreign-key to primary-key. Got {}.",
                    written.join(" AND ")
                ),
            });
        }
    };
    let right_key_exprs: Vec<Expr> = right_keys.into_iter().map(Expr::Column).collect();
    Ok((
        result_key,
        positions_of(&left_key_exprs, left_schema)?,
        positions_of(&right_key_exprs, right_schema)?,
    ))
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
    ResultKeyColumn { candidates, value }
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
