//! Values written by INSERT, UPDATE and COPY: which column each given value goes to, the
//! value of a VALUES cell (literals and parameters without planning, any other expression
//! evaluated by DataFusion), and strict casts to the column's type.
//!
//! A value that does not fit its column is an error naming both, never a NULL.
//!
//! Never: turn a bad value into NULL, or guess a column for a value.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, new_null_array};
use arrow::compute::CastOptions;
use arrow::datatypes::{DataType, Schema};
use datafusion::common::DFSchema;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::Expr as LogicalExpr;
use datafusion::scalar::ScalarValue;
use eddy_parser::sqlparser::ast::{Expr, ExprWithAlias, UnaryOperator, Value};
use eddy_planner::{
    PlanError, ROWOFFSET, ROWPARTITION, ROWTIME, SourceDef, SqlPlanner, cast_strict,
};

use crate::batches::evaluate_column;
use crate::error::{DataError, EngineError, EngineResult};

/// Casts that fail on a value that does not fit, instead of making it NULL.
pub(crate) const STRICT: CastOptions<'static> = CastOptions {
    safe: false,
    format_options: arrow::util::display::FormatOptions::new(),
};

/// Where each value of a VALUES row (or COPY line) goes: a column of the source, or its
/// `rowtime`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Target {
    Column(usize),
    Rowtime,
}

/// The targets of a column list; every column of the source, in order, without one.
pub(crate) fn target_columns(
    source: &SourceDef,
    columns: Option<&[String]>,
) -> EngineResult<Vec<Target>> {
    let Some(names) = columns else {
        return Ok((0..source.columns.len()).map(Target::Column).collect());
    };
    let mut targets = Vec::with_capacity(names.len());
    for name in names {
        let target = if name == ROWTIME {
            Target::Rowtime
        } else if name == ROWPARTITION || name == ROWOFFSET {
            return Err(PlanError::Invalid {
                message: format!("{name} is assigned by the log and cannot be inserted"),
            }
            .into());
        } else {
            let index = source
                .column_index(name)
                .ok_or_else(|| PlanError::UnknownColumn {
                    column: name.clone(),
                    context: format!(" in {} \"{}\"", source.kind.noun(), source.name),
                })?;
            Target::Column(index)
        };
        if targets.contains(&target) {
            return Err(PlanError::Invalid {
                message: format!("column \"{name}\" is given more than once"),
            }
            .into());
        }
        targets.push(target);
    }
    Ok(targets)
}

/// Casts the values of one column to its type, strictly. Values of one type (the usual case:
/// all literals of a column alike) are built into one array and cast once.
pub(crate) fn to_array(
    values: &[ScalarValue],
    data_type: &DataType,
    column: &str,
) -> EngineResult<ArrayRef> {
    let value_type = values
        .iter()
        .map(ScalarValue::data_type)
        .find(|value_type| *value_type != DataType::Null);
    let Some(value_type) = value_type else {
        return Ok(new_null_array(data_type, values.len()));
    };
    let uniform = values
        .iter()
        .all(|value| value.is_null() || value.data_type() == value_type);
    if uniform {
        let typed_null = ScalarValue::try_from(&value_type)?;
        let values = values.iter().map(|value| {
            if value.is_null() {
                typed_null.clone()
            } else {
                value.clone()
            }
        });
        let array = ScalarValue::iter_to_array(values)?;
        if let Ok(cast) = cast_strict(&array, data_type) {
            return Ok(cast);
        }
    }
    // Mixed types, or a value that does not fit: cast one by one to name the culprit.
    let mut converted = Vec::with_capacity(values.len());
    for value in values {
        let single = value.to_array_of_size(1)?;
        let cast = cast_strict(&single, data_type)
            .map_err(|error| invalid_value(value, column, data_type, "", &error))?;
        converted.push(cast);
    }
    let refs: Vec<&dyn arrow::array::Array> =
        converted.iter().map(|array| array.as_ref()).collect();
    Ok(arrow::compute::concat(&refs)?)
}

/// Casts a column of computed values (an UPDATE's SET, an INSERT's SELECT) to its column's
/// type, strictly: a value that does not fit is named, as `to_array` names it.
pub(crate) fn cast_to_column(
    values: &ArrayRef,
    data_type: &DataType,
    column: &str,
) -> EngineResult<ArrayRef> {
    if values.data_type() == data_type {
        return Ok(values.clone());
    }
    if let Ok(cast) = cast_strict(values, data_type) {
        return Ok(cast);
    }
    let scalars = (0..values.len())
        .map(|row| ScalarValue::try_from_array(values, row))
        .collect::<Result<Vec<_>, _>>()?;
    to_array(&scalars, data_type, column)
}

/// A value that does not fit its column: names both, where it was (`place`: empty for INSERT,
/// ", line 3" for COPY), and why when Arrow's reason helps (a number out of range), not when
/// it only restates the failure in Arrow's terms.
pub(crate) fn invalid_value(
    value: &ScalarValue,
    column: &str,
    data_type: &DataType,
    place: &str,
    error: &arrow::error::ArrowError,
) -> EngineError {
    let shown = match value {
        ScalarValue::Utf8(Some(text)) => format!("'{text}'"),
        other => other.to_string(),
    };
    let type_name = eddy_planner::type_name(data_type);
    let reason = match error {
        arrow::error::ArrowError::InvalidArgumentError(reason) => format!(": {reason}"),
        arrow::error::ArrowError::CastError(reason) if reason.starts_with("Can't cast value") => {
            format!(": out of range for {type_name}")
        }
        _ => String::new(),
    };
    DataError::InvalidValue(format!(
        "invalid value {shown} for column \"{column}\" of type {type_name}{place}{reason}"
    ))
    .into()
}

/// The value of one VALUES cell.
pub(crate) fn evaluate(
    planner: &SqlPlanner,
    expr: &Expr,
    parameters: &[ScalarValue],
) -> EngineResult<ScalarValue> {
    if let Some(value) = literal(expr, parameters)? {
        return Ok(value);
    }
    let state = planner.state();
    let empty = DFSchema::empty();
    let logical = state.create_logical_expr_from_sql_expr(
        ExprWithAlias {
            expr: planner.ksql_expression(expr)?,
            alias: None,
        },
        &empty,
    )?;
    let logical = bind_placeholders(logical, parameters)?;
    let physical = state.create_physical_expr(logical, &empty)?;
    let options = RecordBatchOptions::new().with_row_count(Some(1));
    let one_row = RecordBatch::try_new_with_options(Arc::new(Schema::empty()), vec![], &options)?;
    let array = evaluate_column(physical.as_ref(), &one_row)?;
    Ok(ScalarValue::try_from_array(&array, 0)?)
}

/// Literals and parameters without planning: most INSERTs are only these.
fn literal(expr: &Expr, parameters: &[ScalarValue]) -> EngineResult<Option<ScalarValue>> {
    Ok(match expr {
        Expr::Value(value) => match &value.value {
            Value::Number(text, _) => Some(number(text, false)),
            Value::SingleQuotedString(text) => Some(ScalarValue::Utf8(Some(text.clone()))),
            Value::Boolean(flag) => Some(ScalarValue::Boolean(Some(*flag))),
            Value::Null => Some(ScalarValue::Null),
            Value::Placeholder(name) => Some(parameter(name, parameters)?),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(value) => match &value.value {
                Value::Number(text, _) => Some(number(text, true)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    })
}

/// Whole numbers become BIGINT; others keep their text, so DECIMAL columns get exact values.
fn number(text: &str, negative: bool) -> ScalarValue {
    let signed = if negative {
        format!("-{text}")
    } else {
        text.to_string()
    };
    match signed.parse::<i64>() {
        Ok(whole) => ScalarValue::Int64(Some(whole)),
        Err(_) => ScalarValue::Utf8(Some(signed)),
    }
}

fn parameter(name: &str, parameters: &[ScalarValue]) -> EngineResult<ScalarValue> {
    let position: usize = name
        .trim_start_matches('$')
        .parse()
        .map_err(|_| PlanError::Invalid {
            message: format!("invalid parameter {name}"),
        })?;
    position
        .checked_sub(1)
        .and_then(|index| parameters.get(index))
        .cloned()
        .ok_or_else(|| {
            PlanError::Invalid {
                message: format!("there is no parameter {name}"),
            }
            .into()
        })
}

fn bind_placeholders(expr: LogicalExpr, parameters: &[ScalarValue]) -> EngineResult<LogicalExpr> {
    let mut failure = None;
    let bound = expr
        .transform(|node| match &node {
            LogicalExpr::Placeholder(placeholder) => match parameter(&placeholder.id, parameters) {
                Ok(value) => Ok(Transformed::yes(LogicalExpr::Literal(value, None))),
                Err(error) => {
                    failure = Some(error);
                    Ok(Transformed::no(node))
                }
            },
            _ => Ok(Transformed::no(node)),
        })?
        .data;
    match failure {
        Some(error) => Err(error),
        None => Ok(bound),
    }
}
