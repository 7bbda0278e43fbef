//! Key lookups: a pull query that only filters and projects one table, with filters that pin
//! its whole primary key, answered by point reads of the table's rows in the state store,
//! without DataFusion's optimizer and executor (a lookup's latency would be mostly theirs).
//! Of a windowed table, filters that pin the group key suffice: its windows are read by a
//! range read, bounded by the filters on WINDOWSTART and WINDOWEND (`window_range.rs`).
//!
//! A prepared lookup is planned once: its key filters are kept with their parameters unbound
//! (`key = $1`), the rest of the query is lowered and compiled, and each execution binds only
//! the key's values (and window bounds) before its reads.
//!
//! Never: answer a query whose filters do not pin every key column (of a windowed table, its
//! group key); DataFusion runs those. Never read but through one snapshot per run, taken
//! when the run starts.

/// A pull query that only filters and projects one table, with filters that give its whole
/// key (`key = 5`, `key IN ($1, $2)`), or a windowed table's group key: answered by point or
/// range reads and the query's other steps. Planned once per prepared statement, and run
/// with each execution's parameters.
use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{Expr, Filter, LogicalPlan};
use datafusion::scalar::ScalarValue;
use eddy_planner::{Dataflow, StatelessPlan, lower};
use eddy_storage::Store;

use crate::dataflow::steps::apply_steps;
use crate::error::{EngineError, EngineResult};
use crate::output::RowStream;
use crate::pull::provider::TableState;
use crate::runtime::QueryEnv;

#[derive(Debug)]
pub struct KeyLookup {
    store: Arc<Store>,
    table: TableState,
    /// The filters that pin the key (of a windowed table: the group key, and those that
    /// bound its windows), parameters unbound.
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
        let table = TableState::new(table);
        let Some(pins) = table.key_pins(&filters) else {
            return Ok(None);
        };
        // Anything else with a parameter cannot be compiled before it is bound.
        let Ok(Dataflow::Stateless(dataflow)) = lower(&without_filters(plan, &pins)?) else {
            return Ok(None);
        };
        Ok(Some(KeyLookup {
            store: env.store.clone(),
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
        let reads = self.table.pinned_reads(&pins)?.ok_or_else(|| {
            EngineError::Internal("a key lookup's filters no longer pin its key".into())
        })?;
        let rows = self
            .table
            .read_pinned(self.store.state().snapshot().as_ref(), &reads)?;
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

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    use eddy_parser::Statement;
    use futures::TryStreamExt;

    use super::*;
    use crate::api::open_with_source;
    use crate::engine::EngineCore;
    use crate::pull::provider::PinnedReads;

    async fn lookup(engine: &EngineCore, sql: &str) -> Option<KeyLookup> {
        let statement = eddy_parser::parse_sql(sql)
            .expect("parses")
            .remove(0)
            .statement;
        let Statement::Select(select) = statement else {
            panic!("{sql} is a SELECT");
        };
        let plan = engine.planner().plan_select(&select).await.expect("plans");
        KeyLookup::plan(engine.query_env(), &plan).expect("checks")
    }

    /// Each (key, window start) that a lookup with no parameters reads from the store,
    /// before anything filters the rows read.
    fn windows_read(lookup: &KeyLookup) -> Vec<(i64, i64)> {
        let reads = lookup.table.pinned_reads(&lookup.pins).expect("reads");
        let reads = reads.expect("the filters pin the group key");
        assert!(matches!(reads, PinnedReads::Windows { .. }), "{reads:?}");
        let snapshot = lookup.store.state().snapshot();
        let rows = lookup.table.read(snapshot.as_ref(), &reads).expect("reads");
        let keys = rows.column(0).as_primitive::<Int64Type>();
        let starts = rows.column(1).as_primitive::<Int64Type>();
        (0..rows.num_rows())
            .map(|row| (keys.value(row), starts.value(row)))
            .collect()
    }

    #[tokio::test]
    async fn a_windowed_tables_group_key_is_read_by_a_range_of_its_windows() {
        let windows: Vec<String> = (1..=3)
            .flat_map(|key| {
                (0..10).map(move |window| {
                    format!("({key}, {}, {}, {window})", window * 10, window * 10 + 10)
                })
            })
            .collect();
        let (_directory, engine, _) = open_with_source(
            &format!(
                "CREATE TABLE w (k BIGINT PRIMARY KEY, n BIGINT) \
                     WITH (WINDOW_TYPE = 'Tumbling', WINDOW_SIZE = '10 MILLISECONDS');
                 INSERT INTO w (k, windowstart, windowend, n) VALUES {};",
                windows.join(", ")
            ),
            "w",
        )
        .await;
        let engine = engine.core();
        let key_windows = |key: i64| (0..10).map(move |window| (key, window * 10));
        for (sql, read) in [
            (
                "SELECT n FROM w WHERE k = 2 AND windowstart >= 30 AND windowstart < 60",
                vec![(2, 30), (2, 40), (2, 50)],
            ),
            (
                "SELECT n FROM w WHERE k = 2 AND windowstart BETWEEN 85 AND 1000",
                vec![(2, 90)],
            ),
            (
                "SELECT n FROM w WHERE 80 < windowstart AND k = 3",
                vec![(3, 90)],
            ),
            (
                "SELECT n FROM w WHERE k IN (1, 3) AND windowstart <= 10",
                vec![(1, 0), (1, 10), (3, 0), (3, 10)],
            ),
            (
                "SELECT n FROM w WHERE k = 2 AND windowstart = 40",
                vec![(2, 40)],
            ),
            ("SELECT n FROM w WHERE k = 2 AND windowstart > 90", vec![]),
            // No bound on the start: every window of the key, and of no other key.
            ("SELECT n FROM w WHERE k = 3", key_windows(3).collect()),
            (
                "SELECT n FROM w WHERE k = 1 AND windowend = 20",
                key_windows(1).collect(),
            ),
        ] {
            let lookup = lookup(engine, sql).await.expect("a key lookup");
            assert_eq!(windows_read(&lookup), read, "{sql}");
        }
        // Without the group key, DataFusion scans.
        assert!(
            lookup(engine, "SELECT n FROM w WHERE windowstart = 40")
                .await
                .is_none()
        );

        // Planned once with its key and bounds unbound, as a prepared statement is.
        let prepared = lookup(
            engine,
            "SELECT n FROM w WHERE k = $1 AND windowstart >= $2 AND windowend <= $3",
        )
        .await
        .expect("a key lookup");
        let parameters = [2, 70, 90].map(|value| ScalarValue::Int64(Some(value)));
        let batches: Vec<RecordBatch> = prepared
            .run(&parameters)
            .expect("runs")
            .try_collect()
            .await
            .expect("rows");
        let found: Vec<i64> = batches
            .iter()
            .flat_map(|batch| {
                batch
                    .column(0)
                    .as_primitive::<Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(found, [7, 8]);
    }
}
