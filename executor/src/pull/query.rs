//! Running a planned pull query: a key lookup when its filters pin a table's whole key,
//! else DataFusion over a snapshot of the store. SELECT answers a client with it; UPDATE,
//! DELETE and INSERT INTO table .. SELECT read the rows they change with it, so any scalar
//! function and `$n` parameter works in their clauses as in a SELECT's.
//!
//! Never: read a snapshot before the query runs (a writer holding its table's lock plans
//! first and runs the query under the lock, so it sees the rows it is about to change).

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::datatypes::DataType;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::scalar::ScalarValue;
use eddy_planner::PlanError;
use futures::{StreamExt, TryStreamExt};

use crate::error::{EngineError, EngineResult};
use crate::output::RowStream;
use crate::pull::key_lookup::KeyLookup;
use crate::runtime::QueryEnv;

/// The rows of a pull query whose parameters are bound, as they stand when it runs.
pub async fn run(env: &QueryEnv, plan: &LogicalPlan) -> EngineResult<RowStream> {
    if let Some(key_lookup) = KeyLookup::plan(env, plan)? {
        return key_lookup.run(&[]);
    }
    let state = env.planner.state();
    let physical = state.create_physical_plan(plan).await?;
    let stream = execute_stream(physical, state.task_ctx())?;
    let schema = stream.schema();
    let batches = stream.map(|batch| batch.map_err(EngineError::from));
    Ok(RowStream::from_stream(schema, false, batches.boxed()))
}

/// All rows of a pull query, in one batch.
pub async fn run_to_batch(env: &QueryEnv, plan: &LogicalPlan) -> EngineResult<RecordBatch> {
    let rows = run(env, plan).await?;
    let schema = rows.schema().clone();
    let batches: Vec<RecordBatch> = rows.try_collect().await?;
    Ok(concat_batches(&schema, &batches)?)
}

/// `plan` with its `$n` parameters replaced by `parameters`. A statement sent without
/// parameters (the simple protocol) may not use any.
pub fn bind(plan: LogicalPlan, parameters: &[ScalarValue]) -> EngineResult<LogicalPlan> {
    if parameters.is_empty() {
        let used = plan.get_parameter_types()?;
        let first = used
            .keys()
            .min_by_key(|name| name.trim_start_matches('$').parse::<usize>().unwrap_or(0));
        if let Some(name) = first {
            return Err(PlanError::Invalid {
                message: format!("there is no parameter {name}"),
            }
            .into());
        }
        return Ok(plan);
    }
    Ok(plan.with_param_values(parameters.to_vec())?)
}

/// The types of a plan's parameters `$1`, `$2`, .. in order, for the extended protocol's
/// Describe: as DataFusion inferred them from where they are used, else text.
pub fn parameter_types(plan: &LogicalPlan) -> EngineResult<Vec<DataType>> {
    let mut parameters: Vec<(usize, DataType)> = plan
        .get_parameter_types()?
        .into_iter()
        .filter_map(|(name, data_type)| {
            let position = name.trim_start_matches('$').parse::<usize>().ok()?;
            Some((position, data_type.unwrap_or(DataType::Utf8)))
        })
        .collect();
    parameters.sort_by_key(|(position, _)| *position);
    Ok(parameters
        .into_iter()
        .map(|(_, data_type)| data_type)
        .collect())
}
