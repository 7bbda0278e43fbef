//! `DELETE FROM table WHERE <primary key predicate>`: removes rows of a source table by key.
//!
//! The predicate must give every primary key column its values: `id = 5`,
//! `region = 'eu' AND id = 5`, `id IN (1, 2, 3)`. Each combination of the given values is one
//! key; keys the table does not hold are skipped. A predicate on other columns, or one that
//! leaves a key column open, is refused: a DELETE that scanned the table would race with its
//! writers, and Eddy says so instead of guessing.
//!
//! Never: delete anything but whole keys, or write to a table a persistent query maintains.

use arrow::array::ArrayRef;
use datafusion::scalar::ScalarValue;
use eddy_parser::DeleteStatement;
use eddy_parser::sqlparser::ast::{BinaryOperator, Expr, Ident};
use eddy_planner::{PlanError, SourceDef, SqlPlanner};

use crate::engine::EngineCore;
use crate::error::{EngineError, EngineResult};
use crate::ingest::values::{evaluate, to_array};
use crate::output::{CommandComplete, QueryOutput};
use crate::state::tables::TableChanges;

pub async fn delete(
    engine: &EngineCore,
    delete: &DeleteStatement,
    parameters: &[ScalarValue],
) -> EngineResult<QueryOutput> {
    let table = engine
        .read_catalog()
        .source_required(&delete.target)?
        .clone();
    if !table.is_table() {
        return Err(PlanError::Invalid {
            message: format!(
                "\"{}\" is a stream: its events are history and cannot be deleted",
                table.name
            ),
        }
        .into());
    }
    let writer = engine.source_writer(&table)?;
    let Some(selection) = &delete.selection else {
        return Err(key_predicate_needed(&table));
    };
    let mut values: Vec<Option<Vec<ScalarValue>>> = vec![None; table.columns.len()];
    collect_key_values(engine.planner(), &table, selection, parameters, &mut values)?;
    let key_columns = key_combinations(&table, &values)?;
    let changes = TableChanges::deletes(&table, &key_columns)?;
    let table_writer = writer.table().ok_or_else(|| {
        EngineError::Internal(format!("table \"{}\" has no table writer", table.name))
    })?;
    let (_, removed) = table_writer.write(changes).await?;
    Ok(QueryOutput::Command(CommandComplete::with_rows(
        "DELETE", removed,
    )))
}

fn key_predicate_needed(table: &SourceDef) -> EngineError {
    let keys: Vec<String> = table
        .key_indices()
        .into_iter()
        .map(|index| format!("{} = ...", table.columns[index].name))
        .collect();
    PlanError::Unsupported {
        feature: format!(
            "DELETE by anything but the whole primary key (write WHERE {})",
            keys.join(" AND ")
        ),
    }
    .into()
}

/// Walks a conjunction of `key = value` and `key IN (values)`, recording each key column's
/// values.
fn collect_key_values(
    planner: &SqlPlanner,
    table: &SourceDef,
    predicate: &Expr,
    parameters: &[ScalarValue],
    values: &mut [Option<Vec<ScalarValue>>],
) -> EngineResult<()> {
    let (column, given) = match predicate {
        Expr::Nested(inner) => {
            return collect_key_values(planner, table, inner, parameters, values);
        }
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            collect_key_values(planner, table, left, parameters, values)?;
            return collect_key_values(planner, table, right, parameters, values);
        }
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => match (key_column(table, left), key_column(table, right)) {
            (Some(column), None) => (column, vec![evaluate(planner, right, parameters)?]),
            (None, Some(column)) => (column, vec![evaluate(planner, left, parameters)?]),
            _ => return Err(key_predicate_needed(table)),
        },
        Expr::InList {
            expr,
            list,
            negated: false,
        } => {
            let Some(column) = key_column(table, expr) else {
                return Err(key_predicate_needed(table));
            };
            let given = list
                .iter()
                .map(|item| evaluate(planner, item, parameters))
                .collect::<EngineResult<Vec<_>>>()?;
            (column, given)
        }
        _ => return Err(key_predicate_needed(table)),
    };
    if values[column].is_some() {
        return Err(PlanError::Invalid {
            message: format!(
                "DELETE gives key column \"{}\" more than one condition",
                table.columns[column].name
            ),
        }
        .into());
    }
    values[column] = Some(given);
    Ok(())
}

/// The index of the key column an expression names, if it names one.
fn key_column(table: &SourceDef, expr: &Expr) -> Option<usize> {
    let ident: &Ident = match expr {
        Expr::Identifier(ident) => ident,
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => &parts[1],
        _ => return None,
    };
    let name = match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    };
    table
        .column_index(&name)
        .filter(|&index| table.columns[index].key)
}

/// The key columns of every combination of the given values, cast to the key types.
fn key_combinations(
    table: &SourceDef,
    values: &[Option<Vec<ScalarValue>>],
) -> EngineResult<Vec<ArrayRef>> {
    let mut combinations: Vec<Vec<ScalarValue>> = vec![Vec::new()];
    for index in table.key_indices() {
        let Some(given) = &values[index] else {
            return Err(key_predicate_needed(table));
        };
        let mut next = Vec::with_capacity(combinations.len() * given.len());
        for prefix in &combinations {
            for value in given {
                let mut combination = prefix.clone();
                combination.push(value.clone());
                next.push(combination);
            }
        }
        combinations = next;
    }
    table
        .key_indices()
        .into_iter()
        .enumerate()
        .map(|(position, index)| {
            let column = &table.columns[index];
            let column_values: Vec<ScalarValue> = combinations
                .iter()
                .map(|combination| combination[position].clone())
                .collect();
            to_array(&column_values, &column.data_type, &column.name)
        })
        .collect()
}
