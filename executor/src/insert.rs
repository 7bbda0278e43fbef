//! `INSERT INTO stream [(columns)] VALUES (...), (...)`: rows from literals or expressions,
//! cast to the stream's column types, routed to partitions by key, appended durably.
//!
//! Literals take a fast path (no DataFusion planning); any other expression is planned and
//! evaluated by DataFusion, so every scalar function works in VALUES. Values are cast
//! strictly: a value that does not fit its column is an error naming both, never a NULL.
//!
//! Never: acknowledge an insert before its rows are durable (the store's append resolves
//! only then).

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, new_null_array};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Schema};
use datafusion::common::DFSchema;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::Expr as LogicalExpr;
use datafusion::scalar::ScalarValue;
use eddy_parser::InsertValues;
use eddy_parser::sqlparser::ast::{Expr, ExprWithAlias, UnaryOperator, Value};
use eddy_planner::{PlanError, ROWOFFSET, ROWPARTITION, ROWTIME, SourceDef};

use crate::batches::partition_by_key;
use crate::engine::Engine;
use crate::error::{DataError, EngineError, EngineResult};
use crate::output::{CommandComplete, QueryOutput};
use crate::table::{TableChanges, write_source_table};
use crate::timestamps::{EventTimeColumn, now_ms, rowtimes_from_column};

pub(crate) const STRICT: CastOptions<'static> = CastOptions {
    safe: false,
    format_options: arrow::util::display::FormatOptions::new(),
};

pub async fn insert_values(
    engine: &Engine,
    insert: &InsertValues,
    parameters: &[ScalarValue],
) -> EngineResult<QueryOutput> {
    let source = engine
        .read_catalog()
        .source_required(&insert.target)?
        .clone();
    let targets = target_columns(&source, insert.columns.as_deref())?;
    let batch = build_batch(engine, &source, &targets, &insert.rows, parameters)?;
    let rows = batch.num_rows();
    if source.is_table() {
        check_table_writable(&source)?;
        let changes = TableChanges::upserts(&source, batch)?;
        write_source_table(engine, &source, changes).await?;
        return Ok(QueryOutput::Command(CommandComplete::with_rows(
            "INSERT", rows,
        )));
    }
    let topic = engine.topic_of(&source)?;
    let routed = route_to_partitions(engine, batch, &source.key_indices(), source.partitions)?;
    topic.append_partitions(routed).await?;
    Ok(QueryOutput::Command(CommandComplete::with_rows(
        "INSERT", rows,
    )))
}

/// A batch for a stream, split by partition as every writer routes rows: by the key columns'
/// hash, or, for a stream without a key, all to the next partition in turn.
pub(crate) fn route_to_partitions(
    engine: &Engine,
    batch: RecordBatch,
    key_indices: &[usize],
    partitions: u32,
) -> EngineResult<Vec<(u32, RecordBatch)>> {
    if key_indices.is_empty() {
        let partition = (engine.next_insert_sequence() % u64::from(partitions)) as u32;
        return Ok(vec![(partition, batch)]);
    }
    partition_by_key(&batch, key_indices, partitions)
}

/// A table written by a persistent query takes its rows from that query only.
pub fn check_table_writable(table: &SourceDef) -> EngineResult<()> {
    match &table.created_by {
        Some(query) => Err(PlanError::Invalid {
            message: format!(
                "table \"{}\" holds the results of query {query}; write to its inputs instead",
                table.name
            ),
        }
        .into()),
        None => Ok(()),
    }
}

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

fn build_batch(
    engine: &Engine,
    source: &SourceDef,
    targets: &[Target],
    rows: &[Vec<Expr>],
    parameters: &[ScalarValue],
) -> EngineResult<RecordBatch> {
    for row in rows {
        if row.len() != targets.len() {
            return Err(PlanError::Invalid {
                message: format!(
                    "INSERT has {} expressions but {} target columns",
                    row.len(),
                    targets.len()
                ),
            }
            .into());
        }
    }
    let row_schema = source.row_schema();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(row_schema.fields().len());
    for (index, column) in source.columns.iter().enumerate() {
        let position = targets
            .iter()
            .position(|target| *target == Target::Column(index));
        let array = match position {
            Some(position) => {
                let values = rows
                    .iter()
                    .map(|row| evaluate(engine, &row[position], parameters))
                    .collect::<EngineResult<Vec<_>>>()?;
                to_array(&values, &column.data_type, &column.name)?
            }
            None => new_null_array(&column.data_type, rows.len()),
        };
        columns.push(array);
    }
    let rowtime_position = targets.iter().position(|target| *target == Target::Rowtime);
    let rowtimes: ArrayRef = match rowtime_position {
        Some(position) => {
            let values = rows
                .iter()
                .map(|row| evaluate(engine, &row[position], parameters))
                .collect::<EngineResult<Vec<_>>>()?;
            let raw = to_array(&values, &DataType::Int64, ROWTIME)?;
            Arc::new(rowtimes_from_column(&raw, ROWTIME, None)?)
        }
        None => match EventTimeColumn::of(source)? {
            Some(event_time) => Arc::new(event_time.rowtimes(&columns)?),
            None => Arc::new(arrow::array::Int64Array::from_value(now_ms(), rows.len())),
        },
    };
    columns.push(rowtimes);
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    Ok(RecordBatch::try_new_with_options(
        row_schema, columns, &options,
    )?)
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
        if let Ok(cast) = cast_with_options(&array, data_type, &STRICT) {
            return Ok(cast);
        }
    }
    // Mixed types, or a value that does not fit: cast one by one to name the culprit.
    let mut converted = Vec::with_capacity(values.len());
    for value in values {
        let single = value.to_array_of_size(1)?;
        let cast = cast_with_options(&single, data_type, &STRICT)
            .map_err(|error| invalid_value(value, column, data_type, "", &error))?;
        converted.push(cast);
    }
    let refs: Vec<&dyn arrow::array::Array> =
        converted.iter().map(|array| array.as_ref()).collect();
    Ok(arrow::compute::concat(&refs)?)
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
    engine: &Engine,
    expr: &Expr,
    parameters: &[ScalarValue],
) -> EngineResult<ScalarValue> {
    if let Some(value) = literal(expr, parameters)? {
        return Ok(value);
    }
    let state = engine.planner.state();
    let empty = DFSchema::empty();
    let logical = state.create_logical_expr_from_sql_expr(
        ExprWithAlias {
            expr: expr.clone(),
            alias: None,
        },
        &empty,
    )?;
    let logical = bind_placeholders(logical, parameters)?;
    let physical = state.create_physical_expr(logical, &empty)?;
    let options = RecordBatchOptions::new().with_row_count(Some(1));
    let one_row = RecordBatch::try_new_with_options(Arc::new(Schema::empty()), vec![], &options)?;
    let array = physical.evaluate(&one_row)?.into_array(1)?;
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

/// Types of `$n` parameters: a parameter standing alone as a value takes its column's type;
/// one inside an expression is sent as text and converted where it is used.
pub fn parameter_types(engine: &Engine, insert: &InsertValues) -> EngineResult<Vec<DataType>> {
    let source = engine
        .read_catalog()
        .source_required(&insert.target)?
        .clone();
    let targets = target_columns(&source, insert.columns.as_deref())?;
    let mut types: Vec<Option<DataType>> = Vec::new();
    for row in &insert.rows {
        for (position, cell) in row.iter().enumerate() {
            let mut found = Vec::new();
            collect_placeholders(cell, &mut found);
            for name in found {
                let Ok(index) = name.trim_start_matches('$').parse::<usize>() else {
                    continue;
                };
                if index == 0 {
                    continue;
                }
                if types.len() < index {
                    types.resize(index, None);
                }
                let standalone = matches!(cell, Expr::Value(value) if matches!(&value.value, Value::Placeholder(_)));
                let data_type = match (standalone, targets.get(position)) {
                    (true, Some(Target::Column(column))) => {
                        source.columns[*column].data_type.clone()
                    }
                    (true, Some(Target::Rowtime)) => DataType::Int64,
                    _ => DataType::Utf8,
                };
                types[index - 1].get_or_insert(data_type);
            }
        }
    }
    Ok(types
        .into_iter()
        .map(|data_type| data_type.unwrap_or(DataType::Utf8))
        .collect())
}

fn collect_placeholders(expr: &Expr, found: &mut Vec<String>) {
    use eddy_parser::sqlparser::ast::{ValueWithSpan, Visit, Visitor};
    use std::ops::ControlFlow;
    struct Placeholders<'a>(&'a mut Vec<String>);
    impl Visitor for Placeholders<'_> {
        type Break = ();
        fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<()> {
            if let Value::Placeholder(name) = &value.value {
                self.0.push(name.clone());
            }
            ControlFlow::Continue(())
        }
    }
    let _ = expr.visit(&mut Placeholders(found));
}
