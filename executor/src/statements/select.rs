//! SELECT: a pull query (DataFusion over a snapshot of the store, or a key lookup) or, with
//! `EMIT CHANGES`, a push query (a dataflow over the source's log whose sink is the client).
//!
//! A query of Postgres' catalog (`pg_catalog`, `information_schema`, system functions) is
//! planned and run by `pg_catalog` instead, over the catalog as of the statement.
//!
//! Never: run a query that needs a clause Eddy does not support yet; it fails with 0A000.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::logical_expr::LogicalPlan;
use datafusion::scalar::ScalarValue;
use eddy_parser::SelectStatement;

use crate::engine::EngineCore;
use crate::error::EngineResult;
use crate::output::RowStream;
use crate::pg_catalog::{self, CatalogContext, CatalogQuery, FunctionNames};
use crate::pull::key_lookup::KeyLookup;
use crate::pull::query;
use crate::runtime::push::push;
use crate::session_properties::{AUTO_OFFSET_RESET, Identity, SessionProperties, all_settings};

pub async fn select(
    engine: &EngineCore,
    properties: &SessionProperties,
    select: &SelectStatement,
    parameters: &[ScalarValue],
) -> EngineResult<RowStream> {
    if let Some(catalog_query) = plan_catalog_query(engine, properties, select).await? {
        let plan = query::bind(catalog_query.plan().clone(), parameters)?;
        return catalog_query.run(&plan).await;
    }
    let plan = query::bind(engine.planner().plan_select(select).await?, parameters)?;
    if select.emit.is_some() {
        let from_earliest = properties.get(AUTO_OFFSET_RESET) == Some("earliest");
        let dataflow = engine
            .planner()
            .lower_push(&plan, select)?
            .with_default_idle_timeout(properties.window_idle_timeout_ms());
        push(engine.query_env(), dataflow, from_earliest)
    } else {
        query::run(engine.query_env(), &plan).await
    }
}

/// A query of Postgres' catalog, planned in its own session; None for any other query.
async fn plan_catalog_query(
    engine: &EngineCore,
    properties: &SessionProperties,
    select: &SelectStatement,
) -> EngineResult<Option<CatalogQuery>> {
    if select.emit.is_some() || !pg_catalog::is_catalog_query(&select.query) {
        return Ok(None);
    }
    let context = CatalogContext {
        catalog: engine.query_env().catalog.clone(),
        function_names: Arc::new(FunctionNames::of(engine.planner().state())),
        settings: Arc::new(all_settings(properties)),
        identity: properties.identity().clone(),
        users: Arc::new(engine.access().users()),
    };
    Ok(Some(pg_catalog::plan(context, &select.query).await?))
}

/// A pull query planned once, to keep with a prepared statement: its logical plan, and the
/// key lookup it is, if it is one, or the catalog query it is.
#[derive(Debug)]
pub struct PlannedPull {
    plan: LogicalPlan,
    key_lookup: Option<KeyLookup>,
    catalog_query: Option<CatalogQuery>,
}

/// The plan of a pull query, to keep with a prepared statement. A catalog query reads the
/// default settings (a prepared statement outlives the settings it was planned under) and
/// the session's identity.
pub async fn plan_pull(
    engine: &EngineCore,
    identity: &Identity,
    select: &SelectStatement,
) -> EngineResult<PlannedPull> {
    let defaults = defaults_for(identity);
    if let Some(catalog_query) = plan_catalog_query(engine, &defaults, select).await? {
        return Ok(PlannedPull {
            plan: catalog_query.plan().clone(),
            key_lookup: None,
            catalog_query: Some(catalog_query),
        });
    }
    let plan = engine.planner().plan_select(select).await?;
    let key_lookup = KeyLookup::plan(engine.query_env(), &plan)?;
    Ok(PlannedPull {
        plan,
        key_lookup,
        catalog_query: None,
    })
}

/// Runs a pull query planned earlier (`plan_pull`) with its parameters.
pub async fn pull_planned(
    engine: &EngineCore,
    planned: &PlannedPull,
    parameters: &[ScalarValue],
) -> EngineResult<RowStream> {
    if let Some(catalog_query) = &planned.catalog_query {
        return catalog_query
            .run(&query::bind(planned.plan.clone(), parameters)?)
            .await;
    }
    match &planned.key_lookup {
        Some(key_lookup) => key_lookup.run(parameters),
        None => {
            query::run(
                engine.query_env(),
                &query::bind(planned.plan.clone(), parameters)?,
            )
            .await
        }
    }
}

/// Parameter types and result columns of a SELECT, for the extended protocol's Describe.
pub async fn describe(
    engine: &EngineCore,
    identity: &Identity,
    select: &SelectStatement,
) -> EngineResult<(Vec<DataType>, SchemaRef)> {
    let defaults = defaults_for(identity);
    match plan_catalog_query(engine, &defaults, select).await? {
        Some(catalog_query) => Ok((catalog_query.parameter_types()?, catalog_query.schema())),
        None => {
            let plan = engine.planner().plan_select(select).await?;
            let schema = Arc::new(plan.schema().as_arrow().clone());
            Ok((query::parameter_types(&plan)?, schema))
        }
    }
}

/// The default settings, for a session running as `identity`.
fn defaults_for(identity: &Identity) -> SessionProperties {
    let mut defaults = SessionProperties::default();
    defaults.set_identity(identity.clone());
    defaults
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::array::RecordBatch;
    use arrow::datatypes::{Int32Type, Int64Type};
    use eddy_parser::Statement;
    use futures::StreamExt;

    use super::*;
    use crate::api::{Engine, EngineConfig, open_with_source};
    use crate::clock::ManualClock;
    use crate::output::QueryOutput;

    async fn planned(engine: &EngineCore, sql: &str) -> PlannedPull {
        let statement = eddy_parser::parse_sql(sql)
            .expect("parses")
            .remove(0)
            .statement;
        let Statement::Select(select) = statement else {
            panic!("{sql} is a SELECT");
        };
        plan_pull(engine, &Identity::default(), &select)
            .await
            .expect("plans")
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

    /// A push query's windows without an IDLE TIMEOUT of their own take the session's
    /// `eddy.window.idle.timeout`, and close by the clock once input is quiet for it.
    #[tokio::test]
    async fn a_push_querys_windows_take_the_sessions_idle_timeout() {
        let directory = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(ManualClock::new(1_000_000));
        let mut config = EngineConfig::new(directory.path());
        config.clock = clock.clone();
        let engine = Engine::open(config).await.expect("engine opens");
        let mut session = engine.session();
        let mut execute = async |sql: &str| {
            let mut statements = session.parse(sql).expect("parses");
            session.execute(&statements.remove(0)).await.expect("runs")
        };
        execute("CREATE STREAM pings (sensor BIGINT KEY, value BIGINT) WITH (PARTITIONS = 1)")
            .await;
        execute("SET 'eddy.window.idle.timeout' = '30 seconds'").await;
        let QueryOutput::Rows(mut rows) = execute(
            "SELECT sensor, WINDOWSTART AS window_start FROM pings \
             WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY sensor EMIT FINAL",
        )
        .await
        else {
            panic!("a push query returns rows");
        };
        execute("INSERT INTO pings (sensor, value, rowtime) VALUES (1, 10, 0), (1, 20, 70000)")
            .await;
        let mut next_window = async || {
            // A bound on a wait that a broken query would make endless, not a timed assert.
            let wait = tokio::time::timeout(std::time::Duration::from_secs(30), async {
                loop {
                    let batch = rows.next().await.expect("rows").expect("a batch");
                    if batch.num_rows() > 0 {
                        return batch.column(1).as_primitive::<Int64Type>().value(0);
                    }
                }
            });
            wait.await.expect("a window closes")
        };
        // The row at 70000 closes the first window; only the clock closes the second.
        assert_eq!(next_window().await, 0);
        clock.advance_ms(100_000);
        assert_eq!(next_window().await, 60_000);
    }
}
