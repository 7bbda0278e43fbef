//! Postgres' `pg_catalog` and `information_schema` over Eddy's catalog, for the queries that
//! psql's `\d`, drivers, ORMs and BI tools send. Such a query takes its own path: rewritten
//! where DataFusion reads Postgres differently (`rewrite`), then planned and run by a
//! DataFusion session of its own whose schemas are these relations (`tables`, `relations`,
//! `information_schema`) and whose functions are Postgres' system functions (`functions`).
//! ksqlDB's naming rules and the streaming planner never see these queries.
//!
//! Rows are built from the catalog when a relation is scanned and functions read it when
//! called, so a plan kept with a prepared statement answers as of each execution.
//! OIDs are stable across restarts (`oids`).
//!
//! Never: write to the catalog, or read a stream's or table's rows.

use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider};
use datafusion::common::ScalarValue;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder, lit};
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::SessionConfig;
use datafusion::sql::parser::Statement as DfStatement;
use eddy_parser::sqlparser::ast::{
    Expr, ObjectName, Query, Statement as SqlStatement, Value, Visit, Visitor, visit_expressions,
};
use eddy_planner::SharedCatalog;
use futures::StreamExt;

use crate::access::UserRecord;
use crate::error::{EngineError, EngineResult};
use crate::output::RowStream;
use crate::session_properties::Identity;

mod functions;
mod information_schema;
mod keywords;
mod oids;
mod regproc;
mod relations;
pub(crate) mod rewrite;
mod roles;
mod system_tables;
pub(crate) mod tables;

use self::tables::{INFORMATION_SCHEMA, PG_CATALOG};

/// What the catalog session reads when it answers: the catalog, the names of the functions
/// Eddy has (`pg_proc`), the session's settings (`current_setting`, `pg_settings`), who
/// the session runs as, and the users with their grants (roles, ACLs, privileges).
#[derive(Debug, Clone, Default)]
pub struct CatalogContext {
    pub catalog: SharedCatalog,
    pub function_names: Arc<FunctionNames>,
    pub settings: Arc<Vec<(String, String)>>,
    pub identity: Identity,
    pub(crate) users: Arc<Vec<UserRecord>>,
}

/// The functions a user can call, by kind, as `pg_proc` lists them.
#[derive(Debug, Clone, Default)]
pub struct FunctionNames {
    pub scalar: Vec<String>,
    pub aggregate: Vec<String>,
    pub window: Vec<String>,
}

impl FunctionNames {
    /// The functions registered in a planning session.
    pub fn of(state: &SessionState) -> FunctionNames {
        let sorted = |names: Vec<&String>| {
            let mut names: Vec<String> = names.into_iter().cloned().collect();
            names.sort();
            names
        };
        FunctionNames {
            scalar: sorted(state.scalar_functions().keys().collect()),
            aggregate: sorted(state.aggregate_functions().keys().collect()),
            window: sorted(state.window_functions().keys().collect()),
        }
    }
}

/// A catalog query planned in its own session, to run now or keep with a prepared statement.
#[derive(Debug)]
pub struct CatalogQuery {
    state: SessionState,
    plan: LogicalPlan,
    /// The columns as the client sees them: the plan's, named as Postgres names them (the
    /// rewrite may have aliased some apart; Postgres lets a name repeat).
    schema: SchemaRef,
    /// How many parameters (`$1` ..) the query as sent has: the rewrite may have dropped
    /// some with the subqueries it answers itself, but the client binds them all.
    parameters: usize,
}

impl CatalogQuery {
    fn new(state: SessionState, plan: LogicalPlan, parameters: usize) -> CatalogQuery {
        let planned = plan.schema().as_arrow();
        let fields: Vec<Field> = planned
            .fields()
            .iter()
            .map(|field| {
                field
                    .as_ref()
                    .clone()
                    .with_name(rewrite::client_column_name(field.name()))
            })
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            planned.metadata().clone(),
        ));
        CatalogQuery {
            state,
            plan,
            schema,
            parameters,
        }
    }

    pub fn plan(&self) -> &LogicalPlan {
        &self.plan
    }

    /// The types of the parameters `$1` .. of the query as sent: as planned, text for one
    /// the plan no longer has.
    pub fn parameter_types(&self) -> EngineResult<Vec<DataType>> {
        let planned = self.plan.get_parameter_types()?;
        Ok((1..=self.parameters)
            .map(|position| {
                planned
                    .get(&format!("${position}"))
                    .cloned()
                    .flatten()
                    .unwrap_or(DataType::Utf8)
            })
            .collect())
    }

    /// The columns of the rows the query returns.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Runs the query with `plan` (this query's plan with its parameters bound).
    pub async fn run(&self, plan: &LogicalPlan) -> EngineResult<RowStream> {
        let physical = self.state.create_physical_plan(plan).await?;
        let stream = execute_stream(physical, self.state.task_ctx())?;
        let schema = self.schema.clone();
        let renamed = schema.clone();
        let batches = stream.map(move |batch| -> EngineResult<RecordBatch> {
            let batch = batch?;
            let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
            Ok(RecordBatch::try_new_with_options(
                renamed.clone(),
                batch.columns().to_vec(),
                &options,
            )?)
        });
        Ok(RowStream::from_stream(schema, false, batches.boxed()))
    }
}

/// Whether a query is for the catalog session: it reads a `pg_catalog` or
/// `information_schema` relation (an unqualified `pg_*` name is `pg_catalog`'s, which
/// Postgres searches first), or reads no relation and needs Postgres' system functions,
/// casts or operators.
pub fn is_catalog_query(query: &Query) -> bool {
    let mut relations = Relations::default();
    let _ = query.visit(&mut relations);
    if relations.catalog {
        return true;
    }
    relations.other == 0 && rewrite::uses_postgres_system_sql(query)
}

#[derive(Default)]
struct Relations {
    catalog: bool,
    other: usize,
}

impl Visitor for Relations {
    type Break = ();

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        if tables::is_catalog_relation(relation) {
            self.catalog = true;
        } else {
            self.other += 1;
        }
        ControlFlow::Continue(())
    }
}

/// Plans a catalog query (see `is_catalog_query`).
pub async fn plan(context: CatalogContext, query: &Query) -> EngineResult<CatalogQuery> {
    let state = session(context)?;
    let mut rewritten = query.clone();
    rewrite::rewrite(&mut rewritten, &state)?;
    let statement = DfStatement::Statement(Box::new(SqlStatement::Query(Box::new(rewritten))));
    // The analyzer (type coercion) runs here, so that its errors take the same way.
    let planned = match state.statement_to_plan(statement).await {
        Ok(plan) => state
            .analyzer()
            .execute_and_check(plan, state.config_options(), |_, _| {}),
        Err(error) => Err(error),
    };
    let plan = match planned {
        Ok(plan) => plan,
        Err(error) => match rewrite::always_empty_columns(query) {
            Some(columns) => empty_result(&columns)?,
            None => return Err(error.into()),
        },
    };
    Ok(CatalogQuery::new(state, plan, parameter_count(query)))
}

/// The highest parameter number (`$n`) a query names.
fn parameter_count(query: &Query) -> usize {
    let mut highest = 0;
    let _ = visit_expressions(query, |expr| {
        if let Expr::Value(value) = expr
            && let Value::Placeholder(name) = &value.value
            && let Ok(position) = name.trim_start_matches('$').parse::<usize>()
        {
            highest = highest.max(position);
        }
        ControlFlow::<()>::Continue(())
    });
    highest
}

/// No rows, with text columns of these names.
fn empty_result(columns: &[String]) -> EngineResult<LogicalPlan> {
    let nulls = columns
        .iter()
        .map(|name| lit(ScalarValue::Utf8(None)).alias(name));
    Ok(LogicalPlanBuilder::empty(false).project(nulls)?.build()?)
}

/// A DataFusion session whose default schema is `pg_catalog` (so `pg_class` resolves
/// unqualified), with `information_schema` beside it and Postgres' system functions
/// (`pg_get_keywords()` among its table functions), whose regproc columns compare as OIDs
/// (`regproc`).
fn session(context: CatalogContext) -> EngineResult<SessionState> {
    let mut config = SessionConfig::new()
        .with_target_partitions(1)
        .with_information_schema(false)
        .with_default_catalog_and_schema(eddy_planner::sql::CATALOG_NAME, PG_CATALOG);
    config.options_mut().sql_parser.map_string_types_to_utf8view = false;
    let mut builder = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features();
    let udfs = builder.scalar_functions().get_or_insert_with(Vec::new);
    udfs.push(eddy_planner::postgres::version());
    udfs.extend(functions::system_functions(&context));
    let mut state = builder.build();
    state.register_udtf(
        keywords::PG_GET_KEYWORDS,
        Arc::new(keywords::KeywordsFunction),
    );
    let oid_of = state
        .scalar_functions()
        .get(functions::REGPROC_OID)
        .cloned()
        .ok_or_else(|| EngineError::Internal("eddy_regproc_oid is not registered".into()))?;
    state.add_analyzer_rule(Arc::new(regproc::RegprocAsOid { oid_of }));
    let catalog = MemoryCatalogProvider::new();
    catalog.register_schema(PG_CATALOG, tables::schema(PG_CATALOG, &context))?;
    catalog.register_schema(
        INFORMATION_SCHEMA,
        tables::schema(INFORMATION_SCHEMA, &context),
    )?;
    state.catalog_list().register_catalog(
        eddy_planner::sql::CATALOG_NAME.to_string(),
        Arc::new(catalog),
    );
    Ok(state)
}
