//! Key lookups: a pull query that only filters and projects one table, with filters that pin
//! its whole primary key, answered by point reads of the table's rows in the state store,
//! without DataFusion's optimizer and executor (a lookup's latency would be mostly theirs).
//!
//! A prepared lookup is planned once: its key filters are kept with their parameters unbound
//! (`key = $1`), the rest of the query is lowered and compiled, and each execution binds only
//! the key's values before its point reads.
//!
//! Never: answer a query whose filters do not pin every key column; DataFusion runs those.

/// A pull query that only filters and projects one table, with filters that give its whole
/// key (`key = 5`, `key IN ($1, $2)`): answered by point reads and the query's other steps.
/// Planned once per prepared statement, and run with each execution's parameters.
use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{Expr, Filter, LogicalPlan};
use datafusion::scalar::ScalarValue;
use eddy_planner::{Dataflow, StatelessPlan, lower};

use crate::dataflow::steps::apply_steps;
use crate::error::{EngineError, EngineResult};
use crate::output::RowStream;
use crate::pull::provider::TableState;
use crate::runtime::QueryEnv;

#[derive(Debug)]
pub struct KeyLookup {
    table: TableState,
    /// The filters that pin the key, parameters unbound.
    pins: Vec<Expr>,
    /// The query without its pins (the point reads do their work), lowered and compiled.
    dataflow: StatelessPlan,
}

impl KeyLookup {
    /// The lookup `plan` is, or None for any other query, which DataFusion runs.
    pub fn plan(env: &QueryEnv, plan: &LogicalPlan) -> EngineResult<Option<KeyLookup>> {
        // Cheap checks first (one table scanned, its key pinned), so that every other pull
        // query goes to DataFusion without compiling anything here.
        let mut scanned = Vec::new();
        let mut filters = Vec::new();
        plan.apply(|node| {
            match node {
                LogicalPlan::TableScan(scan) => scanned.push(scan.table_name.table().to_string()),
                LogicalPlan::Filter(filter) => {
                    filters.extend(split_conjunction(&filter.predicate).into_iter().cloned());
                }
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        let [scanned] = scanned.as_slice() else {
            return Ok(None);
        };
        let Some(table) = env
            .read_catalog()
            .source(scanned)
            .filter(|source| source.is_table())
            .cloned()
        else {
            return Ok(None);
        };
        let table = TableState::new(table, env.store.clone());
        let Some(pins) = table.key_pins(&filters) else {
            return Ok(None);
        };
        // Anything else with a parameter cannot be compiled before it is bound.
        let Ok(Dataflow::Stateless(dataflow)) = lower(&without_filters(plan, &pins)?) else {
            return Ok(None);
        };
        Ok(Some(KeyLookup {
            table,
            pins,
            dataflow,
        }))
    }

    pub fn run(&self, parameters: &[ScalarValue]) -> EngineResult<RowStream> {
        let parameters = ParamValues::from(parameters.to_vec());
        let pins = self
            .pins
            .iter()
            .map(|pin| bind_parameters(pin, &parameters))
            .collect::<EngineResult<Vec<_>>>()?;
        let keys = self.table.pinned_keys(&pins)?.ok_or_else(|| {
            EngineError::Internal("a key lookup's filters no longer pin its key".into())
        })?;
        let rows = self.table.read_keys(&keys)?;
        let schema = self.dataflow.output_schema.clone();
        let mut output = match rows.num_rows() {
            0 => RecordBatch::new_empty(schema.clone()),
            _ => apply_steps(&self.dataflow.steps, rows)?,
        };
        if output.num_rows() == 0 {
            output = RecordBatch::new_empty(schema.clone());
        }
        if let Some(limit) = self.dataflow.limit {
            output = output.slice(0, limit.min(output.num_rows()));
        }
        Ok(RowStream::from_batches(schema, vec![output]))
    }
}

/// `plan` without the conjuncts `removed` of its filters (a filter left with none goes).
fn without_filters(plan: &LogicalPlan, removed: &[Expr]) -> EngineResult<LogicalPlan> {
    let rewritten = plan.clone().transform_up(|node| {
        let LogicalPlan::Filter(filter) = node else {
            return Ok(Transformed::no(node));
        };
        let kept: Vec<Expr> = split_conjunction(&filter.predicate)
            .into_iter()
            .filter(|conjunct| !removed.contains(conjunct))
            .cloned()
            .collect();
        Ok(Transformed::yes(match conjunction(kept) {
            Some(predicate) => LogicalPlan::Filter(Filter::try_new(predicate, filter.input)?),
            None => Arc::unwrap_or_clone(filter.input),
        }))
    })?;
    Ok(rewritten.data)
}

/// `expr` with its parameters (`$1`, ..) replaced by their values.
fn bind_parameters(expr: &Expr, parameters: &ParamValues) -> EngineResult<Expr> {
    let bound = expr.clone().transform_up(|expr| match expr {
        Expr::Placeholder(placeholder) => {
            let (value, metadata) = parameters
                .get_placeholders_with_values(&placeholder.id)?
                .into_inner();
            Ok(Transformed::yes(Expr::Literal(value, metadata)))
        }
        expr => Ok(Transformed::no(expr)),
    })?;
    Ok(bound.data)
}
