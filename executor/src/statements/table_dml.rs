//! Changes of a source table's rows by query, as RisingWave and Materialize offer them
//! beyond ksqlDB: `UPDATE t SET col = expr, .. [WHERE ..]`, `DELETE FROM t [WHERE ..]` and
//! the one-shot `INSERT INTO t SELECT ..`, each with any predicate and any scalar function.
//!
//! Each is a pull query over the table (`SELECT <new rows | keys> FROM t WHERE ..`, planned
//! by the planner like any SELECT, so `$n` parameters work) run under the table's write
//! lock, whose rows become one `TableChanges`: one changelog append, one state commit, so
//! subscribers and downstream queries see the statement whole and no other write comes
//! between reading the rows and changing them. A DELETE by the whole key is a key lookup.
//!
//! Never: write a stream (its events are history) or a table a persistent query maintains,
//! change a key column in place, or turn a value that does not fit its column into NULL.

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow::compute::can_cast_types;
use arrow::datatypes::DataType;
use datafusion::logical_expr::LogicalPlan;
use datafusion::scalar::ScalarValue;
use eddy_parser::sqlparser::ast::{Expr, Ident, SelectItem, SetExpr, Value};
use eddy_parser::{ColumnAssignment, DeleteStatement, InsertSelect, Statement, UpdateStatement};
use eddy_planner::{PSEUDO_COLUMNS, PlanError, ROWTIME, SourceDef, SourceKind, type_name};

use crate::engine::EngineCore;
use crate::error::{EngineError, EngineResult};
use crate::ingest::values::cast_to_column;
use crate::ingest::writer::SourceWriter;
use crate::output::{CommandComplete, QueryOutput};
use crate::pull::query;
use crate::state::tables::{SourceTableWriter, TableChanges};

/// True when `INSERT INTO target SELECT ..` writes a table: a one-shot statement here, not
/// ksqlDB's persistent query into a stream.
pub fn inserts_into_table(engine: &EngineCore, insert: &InsertSelect) -> bool {
    engine
        .read_catalog()
        .source(&insert.target)
        .is_some_and(SourceDef::is_table)
}

/// EXPLAIN of INSERT INTO a table .. SELECT: refused, since it runs once, as a pull query
/// whose SELECT EXPLAIN shows.
pub fn explain_insert_select() -> EngineResult<QueryOutput> {
    Err(PlanError::unsupported(
        "EXPLAIN of INSERT INTO a table .. SELECT (it runs once, as a pull query: EXPLAIN its SELECT)",
    )
    .into())
}

pub async fn update(
    engine: &EngineCore,
    update: &UpdateStatement,
    parameters: &[ScalarValue],
) -> EngineResult<QueryOutput> {
    let table = target_table(engine, &update.target, "updated")?;
    let writer = engine.source_writer(&table)?;
    let plan = plan_update(engine, &table, update).await?;
    upsert_selected_rows(engine, &writer, plan, parameters, "UPDATE").await
}

/// Runs a planned SELECT of a table's new rows under the table's write lock and writes them
/// as one change; answers `tag` with the number of rows.
async fn upsert_selected_rows(
    engine: &EngineCore,
    writer: &SourceWriter,
    plan: LogicalPlan,
    parameters: &[ScalarValue],
    tag: &'static str,
) -> EngineResult<QueryOutput> {
    let plan = query::bind(plan, parameters)?;
    let table_writer = table_writer(writer)?;
    let locked = table_writer.lock().await;
    let selected = query::run_to_batch(engine.query_env(), &plan).await?;
    let rows = new_rows(writer, &selected)?;
    let written = rows.num_rows();
    locked
        .write(TableChanges::upserts(writer.source(), rows)?)
        .await?;
    Ok(QueryOutput::Command(CommandComplete::with_rows(
        tag, written,
    )))
}

pub async fn delete(
    engine: &EngineCore,
    delete: &DeleteStatement,
    parameters: &[ScalarValue],
) -> EngineResult<QueryOutput> {
    let table = target_table(engine, &delete.target, "deleted")?;
    let writer = engine.source_writer(&table)?;
    let plan = plan_delete(engine, &table, delete).await?;
    let plan = query::bind(plan, parameters)?;
    let table_writer = table_writer(&writer)?;
    let locked = table_writer.lock().await;
    let keys = query::run_to_batch(engine.query_env(), &plan).await?;
    let changes = TableChanges::deletes(&table, keys.columns())?;
    let (_, removed) = locked.write(changes).await?;
    Ok(QueryOutput::Command(CommandComplete::with_rows(
        "DELETE", removed,
    )))
}

/// `INSERT INTO table SELECT ..`: the SELECT's current rows, upserted by key once.
pub async fn insert_select(
    engine: &EngineCore,
    insert: &InsertSelect,
    parameters: &[ScalarValue],
) -> EngineResult<QueryOutput> {
    if !insert.properties.is_empty() {
        return Err(PlanError::Unsupported {
            feature: "WITH properties on INSERT INTO .. SELECT".into(),
        }
        .into());
    }
    let table = engine
        .read_catalog()
        .source_required(&insert.target)?
        .clone();
    let writer = engine.source_writer(&table)?;
    let plan = engine
        .planner()
        .plan_insert_rows(&insert.select, &table)
        .await?;
    upsert_selected_rows(engine, &writer, plan, parameters, "INSERT").await
}

/// The types of the parameters `$1`, `$2`, .. of an UPDATE, a DELETE or an INSERT INTO
/// table .. SELECT, for the extended protocol's Describe. A parameter standing alone as a
/// SET value takes its column's type, as in INSERT VALUES.
pub async fn parameter_types(
    engine: &EngineCore,
    statement: &Statement,
) -> EngineResult<Vec<DataType>> {
    match statement {
        Statement::Update(update) => {
            let table = target_table(engine, &update.target, "updated")?;
            let plan = plan_update(engine, &table, update).await?;
            let mut types = query::parameter_types(&plan)?;
            for assignment in &update.assignments {
                let Some(position) = standalone_parameter(&assignment.value) else {
                    continue;
                };
                let column = table.column_index(&assignment.column);
                if let (Some(slot), Some(column)) = (types.get_mut(position - 1), column) {
                    *slot = table.columns[column].data_type.clone();
                }
            }
            Ok(types)
        }
        Statement::Delete(delete) => {
            let table = target_table(engine, &delete.target, "deleted")?;
            query::parameter_types(&plan_delete(engine, &table, delete).await?)
        }
        Statement::InsertSelect(insert) => {
            let table = engine
                .read_catalog()
                .source_required(&insert.target)?
                .clone();
            let plan = engine
                .planner()
                .plan_insert_rows(&insert.select, &table)
                .await?;
            query::parameter_types(&plan)
        }
        _ => Ok(Vec::new()),
    }
}

/// The source table a statement changes; a stream is refused (`verb`: what its events
/// cannot be).
fn target_table(engine: &EngineCore, name: &str, verb: &str) -> EngineResult<SourceDef> {
    let source = engine.read_catalog().source_required(name)?.clone();
    if source.kind == SourceKind::Stream {
        return Err(PlanError::Invalid {
            message: format!(
                "\"{}\" is a stream: its events are history and cannot be {verb}",
                source.name
            ),
        }
        .into());
    }
    Ok(source)
}

fn table_writer(writer: &SourceWriter) -> EngineResult<&SourceTableWriter> {
    writer.table().ok_or_else(|| {
        EngineError::Internal(format!(
            "table \"{}\" has no table writer",
            writer.source().name
        ))
    })
}

/// `SELECT <each column, or its SET expression> FROM t WHERE ..`: the updated rows.
async fn plan_update(
    engine: &EngineCore,
    table: &SourceDef,
    update: &UpdateStatement,
) -> EngineResult<LogicalPlan> {
    let assigned = assigned_values(table, &update.assignments)?;
    let projection = table
        .columns
        .iter()
        .zip(&assigned)
        .map(|(column, value)| match value {
            Some(value) => SelectItem::ExprWithAlias {
                expr: (*value).clone(),
                alias: quoted(&column.name),
            },
            None => SelectItem::UnnamedExpr(Expr::Identifier(quoted(&column.name))),
        })
        .collect();
    let plan = plan_over_table(engine, table, projection, update.selection.clone()).await?;
    for ((field, column), value) in plan
        .schema()
        .fields()
        .iter()
        .zip(&table.columns)
        .zip(&assigned)
    {
        if value.is_some() && !can_cast_types(field.data_type(), &column.data_type) {
            return Err(PlanError::TypeMismatch {
                message: format!(
                    "column \"{}\" is {} but SET gives it {}",
                    column.name,
                    type_name(&column.data_type),
                    type_name(field.data_type())
                ),
            }
            .into());
        }
    }
    Ok(plan)
}

/// `SELECT <key columns> FROM t WHERE ..`: the keys to delete.
async fn plan_delete(
    engine: &EngineCore,
    table: &SourceDef,
    delete: &DeleteStatement,
) -> EngineResult<LogicalPlan> {
    let projection = table
        .key_indices()
        .into_iter()
        .map(|index| SelectItem::UnnamedExpr(Expr::Identifier(quoted(&table.columns[index].name))))
        .collect();
    plan_over_table(engine, table, projection, delete.selection.clone()).await
}

/// Plans `SELECT <projection> FROM <table> [WHERE <selection>]` as a pull query.
async fn plan_over_table(
    engine: &EngineCore,
    table: &SourceDef,
    projection: Vec<SelectItem>,
    selection: Option<Expr>,
) -> EngineResult<LogicalPlan> {
    let sql = format!("SELECT 1 FROM {}", quoted(&table.name));
    let template = eddy_parser::parse_sql(&sql)?
        .pop()
        .map(|parsed| parsed.statement);
    let Some(Statement::Select(mut select)) = template else {
        return Err(EngineError::Internal(format!("{sql} is not a SELECT")));
    };
    let SetExpr::Select(body) = select.query.body.as_mut() else {
        return Err(EngineError::Internal(format!(
            "{sql} is not a plain SELECT"
        )));
    };
    body.projection = projection;
    body.selection = selection;
    Ok(engine.planner().plan_select(&select).await?)
}

/// For each column of the table, the value SET gives it, if any. Refuses unknown columns,
/// key columns, pseudo-columns and a column given twice.
fn assigned_values<'a>(
    table: &SourceDef,
    assignments: &'a [ColumnAssignment],
) -> EngineResult<Vec<Option<&'a Expr>>> {
    let mut assigned: Vec<Option<&Expr>> = vec![None; table.columns.len()];
    for assignment in assignments {
        let name = &assignment.column;
        if PSEUDO_COLUMNS.contains(&name.as_str()) {
            let reason = match name.as_str() {
                ROWTIME => {
                    "an updated row's rowtime is the time of the update, or its TIMESTAMP column"
                }
                _ => "it is assigned by the log",
            };
            return Err(PlanError::Invalid {
                message: format!("UPDATE cannot set {name}: {reason}"),
            }
            .into());
        }
        let index = table
            .column_index(name)
            .ok_or_else(|| PlanError::UnknownColumn {
                column: name.clone(),
                context: format!(" in table \"{}\"", table.name),
            })?;
        if table.columns[index].key {
            return Err(PlanError::Unsupported {
                feature: format!(
                    "UPDATE of primary key column \"{name}\" \
                     (DELETE the row and INSERT it with its new key instead)"
                ),
            }
            .into());
        }
        if assigned[index].replace(&assignment.value).is_some() {
            return Err(PlanError::Invalid {
                message: format!("column \"{name}\" is given more than once"),
            }
            .into());
        }
    }
    Ok(assigned)
}

/// The rows to upsert from a query's rows (the table's columns, in order, of any castable
/// types): each column cast strictly to its type, and each row's rowtime as an INSERT's.
fn new_rows(writer: &SourceWriter, selected: &RecordBatch) -> EngineResult<RecordBatch> {
    let table = writer.source();
    let mut columns: Vec<ArrayRef> = table
        .columns
        .iter()
        .zip(selected.columns())
        .map(|(column, values)| cast_to_column(values, &column.data_type, &column.name))
        .collect::<EngineResult<_>>()?;
    let rows = selected.num_rows();
    columns.push(writer.rowtimes(&columns, None, rows)?);
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        table.row_schema(),
        columns,
        &options,
    )?)
}

/// The position of a parameter standing alone as a value (`$2` is 2).
fn standalone_parameter(value: &Expr) -> Option<usize> {
    let Expr::Value(value) = value else {
        return None;
    };
    let Value::Placeholder(name) = &value.value else {
        return None;
    };
    name.trim_start_matches('$')
        .parse::<usize>()
        .ok()
        .filter(|&position| position > 0)
}

/// A name quoted, so that the planner reads it exactly as the catalog holds it.
fn quoted(name: &str) -> Ident {
    Ident::with_quote('"', name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::open_with_source;
    use crate::pull::key_lookup::KeyLookup;

    #[tokio::test]
    async fn a_delete_by_the_whole_key_reads_by_key() {
        let (_directory, engine, table) = open_with_source(
            "CREATE TABLE stock (warehouse STRING PRIMARY KEY, sku BIGINT PRIMARY KEY, quantity INT)",
            "stock",
        )
        .await;
        let engine = engine.core();
        for (sql, by_key) in [
            (
                "DELETE FROM stock WHERE warehouse = 'north' AND sku = $1",
                true,
            ),
            (
                "DELETE FROM stock WHERE sku IN (1, $1) AND Warehouse = 'south'",
                true,
            ),
            ("DELETE FROM stock WHERE sku = $1", false),
            ("DELETE FROM stock WHERE quantity = $1 AND sku = 1", false),
        ] {
            let parsed = eddy_parser::parse_sql(sql).expect("parses").remove(0);
            let Statement::Delete(delete) = parsed.statement else {
                panic!("{sql} is a DELETE");
            };
            let plan = plan_delete(engine, &table, &delete).await.expect("plans");
            let plan = query::bind(plan, &[ScalarValue::Int64(Some(2))]).expect("binds");
            let lookup = KeyLookup::plan(engine.query_env(), &plan).expect("checks");
            assert_eq!(lookup.is_some(), by_key, "{sql}");
        }
    }
}
