//! Running a planned pull query: a key lookup when its filters pin a table's whole key,
//! else DataFusion over a snapshot of the store. SELECT answers a client with it; UPDATE,
//! DELETE and INSERT INTO table .. SELECT read the rows they change with it, so any scalar
//! function and `$n` parameter works in their clauses as in a SELECT's.
//!
//! A query takes one snapshot of the store when it runs (`PullSnapshot`), and every read of
//! it goes through that snapshot.
//!
//! Never: take the snapshot before the query runs (a writer holding its table's lock plans
//! first and runs the query under the lock, so it sees the rows it is about to change).

use std::sync::Arc;

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
use crate::pull::snapshot::PullSnapshot;
use crate::runtime::QueryEnv;

/// The rows of a pull query whose parameters are bound, as they stand when it runs.
pub async fn run(env: &QueryEnv, plan: &LogicalPlan) -> EngineResult<RowStream> {
    if let Some(key_lookup) = KeyLookup::plan(env, plan)? {
        return key_lookup.run(&[]);
    }
    let snapshot = Arc::new(PullSnapshot::take(&env.store));
    let mut state = env.planner.state().clone();
    snapshot.attach(&mut state);
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use arrow::datatypes::SchemaRef;
    use arrow::util::pretty::pretty_format_batches;
    use async_trait::async_trait;
    use datafusion::catalog::{Session, TableProvider};
    use datafusion::error::Result as DataFusionResult;
    use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
    use datafusion::physical_plan::ExecutionPlan;
    use eddy_parser::Statement;
    use eddy_planner::{SourceDef, SourceProviders, SqlPlanner};

    use super::*;
    use crate::api::{Engine, open_with_source};
    use crate::pull::provider::StoreProviders;

    /// The store's sources, each of whose scans, once planned, runs the statements waiting
    /// in `after_scan` on a session of its own: commits between two reads of one query.
    struct CommitAfterScan {
        sources: StoreProviders,
        engine: Arc<Engine>,
        after_scan: Arc<Mutex<Vec<String>>>,
    }

    impl std::fmt::Debug for CommitAfterScan {
        fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter
                .debug_struct("CommitAfterScan")
                .finish_non_exhaustive()
        }
    }

    impl SourceProviders for CommitAfterScan {
        fn provider(&self, source: &SourceDef) -> DataFusionResult<Arc<dyn TableProvider>> {
            Ok(Arc::new(CommittingScan {
                source: self.sources.provider(source)?,
                engine: self.engine.clone(),
                after_scan: self.after_scan.clone(),
            }))
        }
    }

    struct CommittingScan {
        source: Arc<dyn TableProvider>,
        engine: Arc<Engine>,
        after_scan: Arc<Mutex<Vec<String>>>,
    }

    impl std::fmt::Debug for CommittingScan {
        fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter
                .debug_struct("CommittingScan")
                .finish_non_exhaustive()
        }
    }

    #[async_trait]
    impl TableProvider for CommittingScan {
        fn schema(&self) -> SchemaRef {
            self.source.schema()
        }

        fn table_type(&self) -> TableType {
            self.source.table_type()
        }

        fn supports_filters_pushdown(
            &self,
            filters: &[&Expr],
        ) -> DataFusionResult<Vec<TableProviderFilterPushDown>> {
            self.source.supports_filters_pushdown(filters)
        }

        async fn scan(
            &self,
            state: &dyn Session,
            projection: Option<&Vec<usize>>,
            filters: &[Expr],
            limit: Option<usize>,
        ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
            let scan = self.source.scan(state, projection, filters, limit).await?;
            let statements = std::mem::take(&mut *self.after_scan.lock().expect("not poisoned"));
            let mut session = self.engine.session();
            for sql in statements {
                for statement in session.parse(&sql).expect("parses") {
                    session.execute(&statement).await.expect("runs");
                }
            }
            Ok(scan)
        }
    }

    /// A commit that changes both tables after a query's first table is scanned (a point
    /// read of it done, or its scan begun) is seen by none of the query's reads: not by the
    /// other table, nor by the other side of a self-join, nor by a subquery.
    #[tokio::test]
    async fn a_commit_between_two_reads_of_a_pull_query_is_seen_by_neither() {
        let (_directory, engine, _) = open_with_source(
            "CREATE TABLE owners (id BIGINT PRIMARY KEY, name STRING);
             CREATE TABLE pets (id BIGINT PRIMARY KEY, owner BIGINT, pet STRING);
             INSERT INTO owners VALUES (1, 'ada'), (2, 'grace');
             INSERT INTO pets VALUES (10, 1, 'cat'), (20, 2, 'dog'), (21, 2, 'owl');",
            "owners",
        )
        .await;
        let core = engine.core();
        let after_scan = Arc::new(Mutex::new(Vec::new()));
        let committing = SqlPlanner::new(
            core.query_env().catalog.clone(),
            Arc::new(CommitAfterScan {
                sources: StoreProviders {
                    store: core.query_env().store.clone(),
                },
                engine: engine.clone(),
                after_scan: after_scan.clone(),
            }),
        );
        let committing_env = QueryEnv {
            planner: Arc::new(committing),
            ..core.query_env().clone()
        };
        for (round, sql) in [
            "SELECT o.name, p.pet FROM owners o JOIN pets p ON p.owner = o.id ORDER BY p.pet",
            "SELECT o.name, p.pet FROM owners o JOIN pets p ON p.owner = o.id \
             WHERE o.id = 2 ORDER BY p.pet",
            "SELECT a.pet, b.pet AS sibling FROM pets a JOIN pets b ON a.owner = b.owner \
             WHERE a.id <> b.id ORDER BY a.pet, b.pet",
            "SELECT name FROM owners WHERE id IN (SELECT owner FROM pets) ORDER BY name",
        ]
        .into_iter()
        .enumerate()
        {
            let Statement::Select(select) = eddy_parser::parse_sql(sql)
                .expect("parses")
                .remove(0)
                .statement
            else {
                panic!("{sql} is a SELECT");
            };
            let plan = core.planner().plan_select(&select).await.expect("plans");
            let before = run_to_batch(core.query_env(), &plan).await.expect("runs");
            *after_scan.lock().expect("not poisoned") = vec![
                format!("UPDATE owners SET name = 'owner {round}' WHERE id IN (1, 2)"),
                format!("INSERT INTO owners VALUES ({}, 'new')", 100 + round),
                format!(
                    "INSERT INTO pets VALUES ({}, 2, 'pet {round}')",
                    100 + round
                ),
                "DELETE FROM pets WHERE id = 20".to_string(),
            ];
            let plan = committing_env
                .planner
                .plan_select(&select)
                .await
                .expect("plans");
            let during = run_to_batch(&committing_env, &plan).await.expect("runs");
            assert!(
                after_scan.lock().expect("not poisoned").is_empty(),
                "the commit ran during the query"
            );
            let after = run_to_batch(core.query_env(), &plan).await.expect("runs");
            let show = |rows| pretty_format_batches(&[rows]).expect("shows").to_string();
            let before = show(before);
            assert_eq!(show(during), before, "{sql}");
            assert_ne!(show(after), before, "the commit changed the answer: {sql}");
        }
    }
}
