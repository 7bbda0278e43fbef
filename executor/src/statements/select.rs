//! SELECT: a pull query (DataFusion over a snapshot of the store, or a key lookup) or, with
//! `EMIT CHANGES`, a push query (a dataflow over the source's log whose sink is the client).
//!
//! Never: run a query that needs a clause Eddy does not support yet; it fails with 0A000.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::scalar::ScalarValue;
use eddy_parser::{Emit, SelectStatement};
use futures::StreamExt;

use crate::engine::EngineCore;
use crate::error::{EngineError, EngineResult};
use crate::output::RowStream;
use crate::pull::key_lookup::KeyLookup;
use crate::runtime::push::push;
use crate::session_properties::{AUTO_OFFSET_RESET, SessionProperties};

pub async fn select(
    engine: &EngineCore,
    properties: &SessionProperties,
    select: &SelectStatement,
    parameters: &[ScalarValue],
) -> EngineResult<RowStream> {
    let plan = bind(engine.planner().plan_select(select).await?, parameters)?;
    if select.emit == Some(Emit::Changes) {
        let from_earliest = properties.get(AUTO_OFFSET_RESET) == Some("earliest");
        push(engine.query_env(), &plan, from_earliest)
    } else {
        pull(engine, &plan).await
    }
}

/// A pull query planned once, to keep with a prepared statement: its logical plan, and the
/// key lookup it is, if it is one.
#[derive(Debug)]
pub struct PlannedPull {
    plan: LogicalPlan,
    key_lookup: Option<KeyLookup>,
}

/// The plan of a pull query, to keep with a prepared statement.
pub async fn plan_pull(engine: &EngineCore, select: &SelectStatement) -> EngineResult<PlannedPull> {
    let plan = engine.planner().plan_select(select).await?;
    let key_lookup = KeyLookup::plan(engine.query_env(), &plan)?;
    Ok(PlannedPull { plan, key_lookup })
}

/// Runs a pull query planned earlier (`plan_pull`) with its parameters.
pub async fn pull_planned(
    engine: &EngineCore,
    planned: &PlannedPull,
    parameters: &[ScalarValue],
) -> EngineResult<RowStream> {
    match &planned.key_lookup {
        Some(key_lookup) => key_lookup.run(parameters),
        None => pull(engine, &bind(planned.plan.clone(), parameters)?).await,
    }
}

/// Parameter types and result columns of a SELECT, for the extended protocol's Describe.
pub async fn describe(
    engine: &EngineCore,
    select: &SelectStatement,
) -> EngineResult<(Vec<DataType>, SchemaRef)> {
    let plan = engine.planner().plan_select(select).await?;
    let mut parameters: Vec<(usize, DataType)> = plan
        .get_parameter_types()?
        .into_iter()
        .filter_map(|(name, data_type)| {
            let position = name.trim_start_matches('$').parse::<usize>().ok()?;
            Some((position, data_type.unwrap_or(DataType::Utf8)))
        })
        .collect();
    parameters.sort_by_key(|(position, _)| *position);
    let types = parameters
        .into_iter()
        .map(|(_, data_type)| data_type)
        .collect();
    Ok((types, Arc::new(plan.schema().as_arrow().clone())))
}

fn bind(plan: LogicalPlan, parameters: &[ScalarValue]) -> EngineResult<LogicalPlan> {
    if parameters.is_empty() {
        return Ok(plan);
    }
    Ok(plan.with_param_values(parameters.to_vec())?)
}

async fn pull(engine: &EngineCore, plan: &LogicalPlan) -> EngineResult<RowStream> {
    if let Some(key_lookup) = KeyLookup::plan(engine.query_env(), plan)? {
        return key_lookup.run(&[]);
    }
    let state = engine.planner().state();
    let physical = state.create_physical_plan(plan).await?;
    let stream = execute_stream(physical, state.task_ctx())?;
    let schema = stream.schema();
    let batches = stream.map(|batch| batch.map_err(EngineError::from));
    Ok(RowStream::from_stream(schema, false, batches.boxed()))
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::Int32Type;
    use eddy_parser::Statement;

    use arrow::array::RecordBatch;

    use super::*;
    use crate::api::open_with_source;

    async fn planned(engine: &EngineCore, sql: &str) -> PlannedPull {
        let statement = eddy_parser::parse_sql(sql)
            .expect("parses")
            .remove(0)
            .statement;
        let Statement::Select(select) = statement else {
            panic!("{sql} is a SELECT");
        };
        plan_pull(engine, &select).await.expect("plans")
    }

    #[tokio::test]
    async fn a_prepared_key_lookup_is_planned_once_with_its_parameters_unbound() {
        let (_directory, engine, _) = open_with_source(
            "CREATE TABLE stock (warehouse STRING PRIMARY KEY, sku BIGINT PRIMARY KEY, quantity INT);
             INSERT INTO stock VALUES ('north', 1, 10), ('north', 2, 20);",
            "stock",
        )
        .await;
        let engine = engine.core();
        let lookup = planned(
            engine,
            "SELECT quantity FROM stock WHERE warehouse = $1 AND sku = $2",
        )
        .await;
        assert!(lookup.key_lookup.is_some());
        for (sku, quantity) in [(1, Some(10)), (2, Some(20)), (3, None)] {
            let parameters = [ScalarValue::from("north"), ScalarValue::Int64(Some(sku))];
            let batches: Vec<RecordBatch> = pull_planned(engine, &lookup, &parameters)
                .await
                .expect("runs")
                .map(|batch| batch.expect("a batch"))
                .collect()
                .await;
            let found: Vec<i32> = batches
                .iter()
                .flat_map(|batch| {
                    batch
                        .column(0)
                        .as_primitive::<Int32Type>()
                        .values()
                        .to_vec()
                })
                .collect();
            assert_eq!(found, quantity.into_iter().collect::<Vec<_>>());
        }
        // Part of the key, or a parameter the lookup cannot compile unbound: DataFusion's.
        for sql in [
            "SELECT quantity FROM stock WHERE warehouse = $1",
            "SELECT quantity FROM stock WHERE warehouse = $1 AND sku = $2 AND quantity > $3",
        ] {
            assert!(planned(engine, sql).await.key_lookup.is_none(), "{sql}");
        }
    }
}
