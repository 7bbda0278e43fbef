//! `INSERT INTO stream [(columns)] VALUES (...), (...)`: rows from literals or expressions,
//! cast to the stream's column types, routed to partitions by key, appended durably.
//!
//! Literals take a fast path (no DataFusion planning); any other expression is planned and
//! evaluated by DataFusion, so every scalar function works in VALUES. Values are cast
//! strictly: a value that does not fit its column is an error naming both, never a NULL.
//!
//! Never: acknowledge an insert before its rows are durable (the store's append resolves
//! only then).

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, new_null_array};
use arrow::datatypes::DataType;
use datafusion::scalar::ScalarValue;
use eddy_parser::InsertValues;
use eddy_parser::sqlparser::ast::{Expr, Value};
use eddy_planner::{PlanError, ROWTIME, SqlPlanner};

use crate::engine::EngineCore;
use crate::error::EngineResult;
use crate::ingest::values::{Target, evaluate, target_columns, to_array};
use crate::ingest::writer::SourceWriter;
use crate::output::{CommandComplete, QueryOutput};

pub async fn insert_values(
    engine: &EngineCore,
    insert: &InsertValues,
    parameters: &[ScalarValue],
) -> EngineResult<QueryOutput> {
    let source = engine
        .read_catalog()
        .source_required(&insert.target)?
        .clone();
    let writer = engine.source_writer(&source)?;
    let targets = target_columns(&source, insert.columns.as_deref())?;
    let batch = build_batch(
        engine.planner(),
        &writer,
        &targets,
        &insert.rows,
        parameters,
    )?;
    let rows = batch.num_rows();
    writer.write(batch).await?;
    Ok(QueryOutput::Command(CommandComplete::with_rows(
        "INSERT", rows,
    )))
}

fn build_batch(
    planner: &SqlPlanner,
    writer: &SourceWriter,
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
    let source = writer.source();
    let row_schema = source.row_schema();
    let values_at = |position: usize| -> EngineResult<Vec<ScalarValue>> {
        rows.iter()
            .map(|row| evaluate(planner, &row[position], parameters))
            .collect()
    };
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(row_schema.fields().len());
    for (index, column) in source.columns.iter().enumerate() {
        let position = targets
            .iter()
            .position(|target| *target == Target::Column(index));
        let array = match position {
            Some(position) => to_array(&values_at(position)?, &column.data_type, &column.name)?,
            None => new_null_array(&column.data_type, rows.len()),
        };
        columns.push(array);
    }
    let given_rowtimes = targets
        .iter()
        .position(|target| *target == Target::Rowtime)
        .map(|position| to_array(&values_at(position)?, &DataType::Int64, ROWTIME))
        .transpose()?;
    let rowtimes = writer.rowtimes(&columns, given_rowtimes.as_ref(), rows.len())?;
    columns.push(rowtimes);
    let options = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    Ok(RecordBatch::try_new_with_options(
        row_schema, columns, &options,
    )?)
}

/// Types of `$n` parameters: a parameter standing alone as a value takes its column's type;
/// one inside an expression is sent as text and converted where it is used.
pub fn parameter_types(engine: &EngineCore, insert: &InsertValues) -> EngineResult<Vec<DataType>> {
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
