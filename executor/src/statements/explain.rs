//! EXPLAIN of a running persistent query (`EXPLAIN [ANALYZE] <query id>`, ksqlDB's form) and
//! of a SELECT: a push query's dataflow as it would run, without running it, or a pull
//! query's DataFusion plan, which is what it runs (with ANALYZE: run, with DataFusion's
//! metrics). EXPLAIN of CREATE .. AS SELECT and INSERT INTO .. SELECT is in `ddl.rs`, which
//! plans them; all put their dataflow into words through `runtime::explain`.
//!
//! Never: start a push or persistent query.

use arrow::array::{Array, AsArray};
use datafusion::logical_expr::LogicalPlanBuilder;
use eddy_parser::SelectStatement;
use eddy_planner::{ObjectKind, PlanError};

use crate::engine::EngineCore;
use crate::error::{EngineError, EngineResult};
use crate::output::QueryOutput;
use crate::pull::query;
use crate::runtime::explain::{Explained, Sink, describe, plan_rows};
use crate::session_properties::SessionProperties;

/// A running persistent query's dataflow; with `analyze`, what each operator has done since
/// the query's task started and the size of its state.
pub fn explain_query(engine: &EngineCore, id: &str, analyze: bool) -> EngineResult<QueryOutput> {
    let catalog = engine.read_catalog();
    let query = catalog.query(id).ok_or_else(|| PlanError::UnknownObject {
        kind: ObjectKind::Query,
        name: id.to_string(),
    })?;
    let profile = engine
        .query_profile(&query.id)
        .ok_or_else(|| PlanError::Invalid {
            message: format!(
                "query {} is not running: EXPLAIN shows a running query",
                query.id
            ),
        })?;
    let sink = catalog.source_required(&query.sink)?;
    let mut lines = vec![
        format!(
            "Persistent query {} writing {} {}",
            query.id,
            sink.kind.noun(),
            sink.name
        ),
        format!("  statement: {}", query.sql),
    ];
    if analyze {
        lines.push("  rows since the query's task started; state as last committed".to_string());
    }
    let explained = Explained {
        catalog: &catalog,
        profile: &profile,
        query_id: Some(&query.id),
        state: analyze.then(|| engine.state().as_ref()),
    };
    explained.dataflow_lines(&mut lines, &Sink::Source(sink))?;
    plan_rows(lines)
}

/// EXPLAIN of a SELECT: a pull query's DataFusion plan, or a push query's dataflow.
pub async fn explain_select(
    engine: &EngineCore,
    properties: &SessionProperties,
    select: &SelectStatement,
    analyze: bool,
) -> EngineResult<QueryOutput> {
    let plan = query::bind(engine.planner().plan_select(select).await?, &[])?;
    if select.emit.is_none() {
        return pull_plan(engine, plan, analyze).await;
    }
    if analyze {
        return Err(refuse_analyze());
    }
    let dataflow = engine
        .planner()
        .lower_push(&plan, select)?
        .with_default_idle_timeout(properties.window_idle_timeout_ms());
    let mut lines = vec!["Push query: its rows go to the client as they change".to_string()];
    describe(engine.query_env(), dataflow, &Sink::Client, &mut lines)?;
    plan_rows(lines)
}

/// EXPLAIN ANALYZE of a statement that would start a push or persistent query.
pub fn refuse_analyze() -> EngineError {
    PlanError::unsupported(
        "EXPLAIN ANALYZE of a statement that starts a push or persistent query (start it, then EXPLAIN ANALYZE <query id>)",
    )
    .into()
}

/// DataFusion's plan of a pull query (with ANALYZE: run, with its metrics), a line a row.
async fn pull_plan(
    engine: &EngineCore,
    plan: datafusion::logical_expr::LogicalPlan,
    analyze: bool,
) -> EngineResult<QueryOutput> {
    let explained = LogicalPlanBuilder::from(plan)
        .explain(false, analyze)?
        .build()?;
    let batch = query::run_to_batch(engine.query_env(), &explained).await?;
    let (Some(kinds), Some(plans)) = (
        batch.column(0).as_string_opt::<i32>(),
        batch.column(1).as_string_opt::<i32>(),
    ) else {
        return Err(EngineError::Internal(
            "DataFusion's EXPLAIN did not answer two text columns".into(),
        ));
    };
    let mut lines = Vec::new();
    for row in 0..batch.num_rows() {
        if kinds.is_null(row) || plans.is_null(row) {
            continue;
        }
        lines.push(format!("{}:", kinds.value(row)));
        lines.extend(plans.value(row).lines().map(|line| format!("  {line}")));
    }
    plan_rows(lines)
}
