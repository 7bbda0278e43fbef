//! A whole SELECT statement under ksqlDB's rules: which clauses each kind of query takes
//! (WINDOW, EMIT, PARTITION BY, LIMIT), whether a persistent query's result is a stream or a
//! table, and that result's columns and key.
//!
//! The executor asks here and never re-derives a rule: CREATE .. AS SELECT, INSERT INTO ..
//! SELECT and a persistent query's restart plan through [`SqlPlanner::plan_persistent`], pull
//! and push queries through [`SqlPlanner::plan_select`], the one-shot INSERT INTO table ..
//! SELECT through [`SqlPlanner::plan_insert_rows`].
//!
//! Never: accept a clause that no operator runs yet (it answers `Unsupported`), or touch
//! storage.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::logical_expr::ExprSchemable;
use datafusion::logical_expr::LogicalPlan;
use eddy_parser::sqlparser::ast::{GroupByExpr, Query, SetExpr};
use eddy_parser::{Emit, SelectStatement};

use crate::catalog::{Column, PSEUDO_COLUMNS, SourceDef, SourceKind};
use crate::dataflow::{Dataflow, StatelessPlan, lower_with_subquery_windows};
use crate::error::{PlanError, PlanResult, plural};
use crate::join::{attach_asof_joins, attach_interval_bounds, attach_join_windows, resolve_rowkey};
use crate::projection::{input_relations, join_input, single_input};
use crate::result_key::{
    PartitionBy, ResultLayout, join_result_layout, join_stream_layout, stream_layout, table_layout,
};
use crate::sql::SqlPlanner;
use crate::sql::compile;
use crate::temporal::{self, TemporalFilter};
use crate::types::{arrow_type, check_key_type, storable_type, type_name};
use crate::window::{self, WindowKind, WindowPlan};
use crate::window_tvf::{self, SubqueryWindow, WindowTvf};

/// Where a persistent query writes.
#[derive(Debug, Clone, Copy)]
pub enum PersistentSink<'a> {
    /// `CREATE STREAM|TABLE name AS SELECT`: a new source of this kind and name.
    Create(SourceKind, &'a str),
    /// `INSERT INTO stream SELECT`: an existing stream, whose columns the rows must fit.
    InsertInto(&'a SourceDef),
}

/// A persistent query, planned and checked.
#[derive(Debug)]
pub struct PersistentQuery {
    pub dataflow: Dataflow,
    /// The catalog sources it reads.
    pub inputs: Vec<String>,
    /// Those of `inputs` it reads only by key, as a stream-table join reads its tables: not
    /// input rows of the query.
    pub lookups: Vec<String>,
    /// The partition count of its input: a new sink's default.
    pub input_partitions: u32,
    /// The sink's columns with its key marked: the SELECT list's for a new sink, the target's
    /// for INSERT INTO.
    pub columns: Vec<Column>,
    /// A windowed aggregation's windows: its table is keyed by window too.
    pub window: Option<WindowKind>,
}

impl PersistentQuery {
    /// The dataflow, writing `sink`'s columns in the sink's order. A query planned again on
    /// restart writes into the sink it made when created, and a sink made by an earlier
    /// version of Eddy may order its columns otherwise (key columns did not always come
    /// first).
    pub fn into_dataflow_for(mut self, sink: &SourceDef) -> PlanResult<Dataflow> {
        let planned_names = self.columns.iter().map(|column| &column.name);
        if planned_names.eq(sink.columns.iter().map(|column| &column.name)) {
            return Ok(self.dataflow);
        }
        let positions = sink
            .columns
            .iter()
            .map(|column| {
                let position = self
                    .columns
                    .iter()
                    .position(|planned| planned.name == column.name)
                    .ok_or_else(|| {
                        PlanError::invalid(format!(
                            "the query writing \"{}\" no longer gives its column \"{}\"",
                            sink.name, column.name
                        ))
                    })?;
                Ok((position, column.name.clone()))
            })
            .collect::<PlanResult<Vec<_>>>()?;
        self.dataflow.select_output(&positions)?;
        Ok(self.dataflow)
    }
}

impl SqlPlanner {
    /// Plans a pull query or, with `EMIT CHANGES` (or `EMIT FINAL` over windows), a push
    /// query.
    pub async fn plan_select(&self, select: &SelectStatement) -> PlanResult<LogicalPlan> {
        let tvf = self.window_tvf(select)?;
        let (select, tvf_window) = match &tvf {
            Some(tvf) => (&tvf.select, tvf.window.as_ref()),
            None => (select, None),
        };
        if select.window.is_some() && select.emit.is_none() {
            return Err(PlanError::invalid(
                "Pull queries don't support WINDOW clauses.",
            ));
        }
        if let Some(tvf_window) = tvf_window
            && select.emit.is_none()
        {
            return Err(PlanError::invalid(format!(
                "Pull queries don't support window TVFs ({}) with GROUP BY: add EMIT CHANGES or EMIT FINAL",
                tvf_window.function
            )));
        }
        check_window_clauses(select, tvf_window.is_some())?;
        if select.partition_by.is_some() {
            return Err(PlanError::invalid(
                "PARTITION BY belongs in CREATE STREAM .. AS SELECT or INSERT INTO .. SELECT",
            ));
        }
        if select.emit.is_some() && temporal::uses_clock(&select.query) {
            return Err(PlanError::unsupported(
                "NOW() in a push query (a temporal filter runs in persistent queries: CREATE TABLE .. AS SELECT)",
            ));
        }
        let mut query = select.query.as_ref().clone();
        if !select.join_windows.is_empty() && select.emit.is_none() {
            return Err(PlanError::invalid(
                "Pull queries don't support joins of streams (WITHIN): add EMIT CHANGES",
            ));
        }
        if !select.asof_joins.is_empty() && select.emit.is_none() {
            return Err(PlanError::unsupported(
                "ASOF JOIN in a pull query (it matches rows as they arrive: add EMIT CHANGES, or CREATE STREAM .. AS SELECT)",
            ));
        }
        attach_join_windows(&mut query, &select.join_windows)?;
        attach_asof_joins(&mut query, &select.asof_joins)?;
        if select.emit.is_some() {
            self.prepare_joins(&mut query, select)?;
            self.subquery_windows(&mut query)?;
        }
        match (&select.window, tvf_window) {
            (None, None) => return self.plan_query(&query).await,
            (_, Some(tvf_window)) => tvf_window.prepare(&mut query, self.state(), false)?,
            (Some(_), None) => {
                let inputs = self.relations(&select.query);
                check_windowed_input(&self.single_input(&inputs)?)?;
                window::prepare(&mut query, self.state(), false)?;
            }
        }
        self.plan_query(&query).await
    }

    /// The dataflow of a push query planned by [`SqlPlanner::plan_select`].
    pub fn lower_push(&self, plan: &LogicalPlan, select: &SelectStatement) -> PlanResult<Dataflow> {
        let subquery_windows = self.subquery_windows(&mut select.query.as_ref().clone())?;
        let dataflow = lower_with_subquery_windows(plan, &self.read_catalog(), &subquery_windows)?;
        // A push query reads its streams from its start; a table on an ASOF join's right
        // would need its rows from before, and the left rows waiting then.
        if let Some(join) = dataflow
            .two_input_joins()
            .iter()
            .find(|join| join.asof.as_ref().is_some_and(|asof| asof.build_is_table))
        {
            return Err(PlanError::unsupported(format!(
                "a push query over an ASOF JOIN with table {} on the right (CREATE STREAM .. AS SELECT runs it)",
                join.right.source
            )));
        }
        if let Some(WindowTvf {
            window: Some(tvf_window),
            ..
        }) = self.window_tvf(select)?
        {
            return dataflow.with_window_on(tvf_window.plan, Some(&tvf_window.time_column));
        }
        match &select.window {
            None => Ok(dataflow),
            Some(spec) => dataflow.with_window(WindowPlan::of(spec, select.emit)?),
        }
    }

    /// Rewrites the subqueries of `query` that read window TVFs over their streams, and
    /// returns the windowed aggregations among them (see `window_tvf::rewrite_subqueries`).
    fn subquery_windows(&self, query: &mut Query) -> PlanResult<Vec<SubqueryWindow>> {
        window_tvf::rewrite_subqueries(query, &self.read_catalog(), self.state())
    }

    /// `select` over the stream its window TVF reads (`FROM TUMBLE(s, ..)`), if it has one.
    fn window_tvf(&self, select: &SelectStatement) -> PlanResult<Option<WindowTvf>> {
        window_tvf::rewrite(select, &self.read_catalog(), self.state())
    }

    /// Plans the SELECT of a persistent query writing into `sink`: its dataflow, and the
    /// columns and key of what it writes.
    pub async fn plan_persistent(
        &self,
        select: &SelectStatement,
        sink: PersistentSink<'_>,
    ) -> PlanResult<PersistentQuery> {
        let tvf = self.window_tvf(select)?;
        let (select, tvf_window) = match &tvf {
            Some(tvf) => (&tvf.select, tvf.window.as_ref()),
            None => (select, None),
        };
        check_window_clauses(select, tvf_window.is_some())?;
        // Subqueries over window TVFs first: each then names its stream.
        let mut query = select.query.as_ref().clone();
        let subquery_windows = self.subquery_windows(&mut query)?;
        let inputs = self.relations(&query);
        let joined = inputs.len() > 1;
        let input = match joined {
            false => self.single_input(&inputs)?,
            true => self.join_input(&query)?,
        };
        let partition_by = match (sink, &select.partition_by) {
            (_, None) => None,
            (PersistentSink::InsertInto(_), Some(_)) => {
                return Err(PlanError::invalid(
                    "INSERT INTO .. SELECT writes rows keyed like its target stream; PARTITION BY is not allowed",
                ));
            }
            (PersistentSink::Create(SourceKind::Table, _), Some(_)) => {
                return Err(PlanError::invalid(
                    "a table is keyed by its GROUP BY (or its input's PRIMARY KEY); PARTITION BY is for streams",
                ));
            }
            (PersistentSink::Create(SourceKind::Stream, _), Some(exprs)) => {
                let relations = input_relations(&query, &self.read_catalog()).ok_or_else(|| {
                    PlanError::unsupported("PARTITION BY of a query that reads a subquery")
                })?;
                Some(PartitionBy::prepare(exprs, &mut query, relations)?)
            }
        };
        attach_join_windows(&mut query, &select.join_windows)?;
        attach_asof_joins(&mut query, &select.asof_joins)?;
        self.prepare_joins(&mut query, select)?;
        let clock_comparisons = temporal::take_clock_comparisons(&mut query)?;
        if joined
            && (!clock_comparisons.is_empty() || select.window.is_some() || tvf_window.is_some())
        {
            return Err(PlanError::unsupported(
                "a temporal filter (NOW()) or a WINDOW over a join in a persistent query",
            ));
        }
        let keyed_by_window = matches!(sink, PersistentSink::Create(SourceKind::Table, _));
        let window = match (&select.window, tvf_window) {
            (_, Some(tvf_window)) => {
                tvf_window.prepare(&mut query, self.state(), keyed_by_window)?;
                Some(tvf_window.plan)
            }
            (Some(spec), None) => {
                check_windowed_input(&input)?;
                window::prepare(&mut query, self.state(), keyed_by_window)?;
                Some(WindowPlan::of(spec, select.emit)?)
            }
            (None, None) => None,
        };
        let plan = self.plan_query(&query).await?;
        let mut dataflow =
            lower_with_subquery_windows(&plan, &self.read_catalog(), &subquery_windows)?;
        if let Some(window) = window {
            let time_column = tvf_window.map(|tvf_window| tvf_window.time_column.as_str());
            dataflow = dataflow.with_window_on(window, time_column)?;
        }
        if let Some(filter) = self.temporal_filter(&query, &input, &clock_comparisons)? {
            let sink_kind = match sink {
                PersistentSink::Create(kind, _) => kind,
                PersistentSink::InsertInto(target) => target.kind,
            };
            if filter.expires_rows() && sink_kind == SourceKind::Stream {
                return Err(PlanError::invalid(
                    "a temporal filter with a lower bound on time (time > NOW() - ..) takes rows out of its result as the clock passes them, so its result is a table: aggregate (GROUP BY) or read a table, with CREATE TABLE .. AS SELECT",
                ));
            }
            dataflow = dataflow.with_temporal_filter(filter);
        }
        let sink_kind = match sink {
            PersistentSink::Create(kind, _) => kind,
            PersistentSink::InsertInto(target) => target.kind,
        };
        check_result_kind(sink_kind, &dataflow, &input)?;
        if let Dataflow::Stateless(StatelessPlan { limit: Some(_), .. }) = &dataflow {
            return Err(PlanError::invalid("a persistent query cannot have a LIMIT"));
        }
        let lookups: Vec<String> = dataflow
            .lookup_joins()
            .iter()
            .map(|join| join.table.name.clone())
            .collect();
        let columns = match sink {
            PersistentSink::Create(SourceKind::Stream, name) => {
                let joins = dataflow.lookup_joins();
                let stream_join = dataflow.two_input_joins().last().copied().cloned();
                let layout = match partition_by {
                    None if let Some(join) = stream_join => {
                        let (layout, key_values) = join_result_layout(&plan, &join, name)?;
                        for (position, value) in key_values {
                            dataflow.compute_output(position, value)?;
                        }
                        layout
                    }
                    None if !joins.is_empty() => {
                        let (layout, key_values) = join_stream_layout(&plan, &joins, name)?;
                        for (position, value) in key_values {
                            dataflow.compute_output(position, value)?;
                        }
                        layout
                    }
                    _ => stream_layout(&plan, partition_by.as_ref(), &input, name)?,
                };
                keyed_columns(&mut dataflow, &layout)?
            }
            PersistentSink::Create(SourceKind::Table, name) => {
                let table_joins = dataflow.two_input_joins();
                let layout = match table_joins.last() {
                    Some(join) if matches!(dataflow, Dataflow::Stateless(_)) => {
                        let (layout, key_values) = join_result_layout(&plan, join, name)?;
                        for (position, value) in key_values {
                            dataflow.compute_output(position, value)?;
                        }
                        layout
                    }
                    _ => table_layout(&plan, &input, name, window.is_some())?,
                };
                keyed_columns(&mut dataflow, &layout)?
            }
            PersistentSink::InsertInto(target) => {
                if inputs.contains(&target.name) {
                    return Err(PlanError::invalid(format!(
                        "INSERT INTO {0} .. SELECT cannot read {0} itself",
                        target.name
                    )));
                }
                check_insert_schema(dataflow.output_schema(), target)?;
                target.columns.clone()
            }
        };
        Ok(PersistentQuery {
            dataflow,
            inputs,
            lookups,
            input_partitions: input.partitions,
            columns,
            window: window.map(|window| window.kind),
        })
    }

    /// `INSERT INTO table SELECT ..`: a pull query run once, whose rows are upserted into
    /// `target` and so must fit its columns, as an INSERT INTO stream SELECT's must. A query
    /// that keeps writing a source table (EMIT CHANGES) is refused.
    pub async fn plan_insert_rows(
        &self,
        select: &SelectStatement,
        target: &SourceDef,
    ) -> PlanResult<LogicalPlan> {
        if select.emit == Some(Emit::Changes) {
            return Err(PlanError::unsupported(format!(
                "INSERT INTO table .. SELECT .. EMIT CHANGES (a query that keeps writing \
                 table \"{}\"; without EMIT CHANGES the SELECT's current rows are inserted once)",
                target.name
            )));
        }
        if select.partition_by.is_some() {
            return Err(PlanError::invalid(
                "INSERT INTO .. SELECT writes rows keyed like its target table; PARTITION BY is not allowed",
            ));
        }
        let plan = self.plan_select(select).await?;
        check_insert_schema(&Arc::new(plan.schema().as_arrow().clone()), target)?;
        Ok(plan)
    }

    /// The temporal filter of a persistent query over `input`: its row expression compiled
    /// against the source's rows, as the query names the source.
    fn temporal_filter(
        &self,
        query: &eddy_parser::sqlparser::ast::Query,
        input: &SourceDef,
        comparisons: &[temporal::ClockComparison],
    ) -> PlanResult<Option<TemporalFilter>> {
        if comparisons.is_empty() {
            return Ok(None);
        }
        let qualifier = single_input(query, &self.read_catalog())
            .map(|(qualifier, _)| qualifier.value)
            .unwrap_or_else(|| input.name.clone());
        let schema = DFSchema::try_from_qualified_schema(
            qualifier.as_str(),
            input.queryable_schema().as_ref(),
        )?;
        temporal::temporal_filter(comparisons, &schema, |row, schema| {
            let expr = self.state().create_logical_expr(&row.to_string(), schema)?;
            let time_type = expr.get_type(schema)?;
            if !matches!(time_type, DataType::Int64 | DataType::Timestamp(..)) {
                return Err(PlanError::TypeMismatch {
                    message: format!(
                        "a temporal filter compares NOW() with a time: a BIGINT of epoch milliseconds (as ROWTIME) or a TIMESTAMP, and {row} is {}",
                        type_name(&time_type)
                    ),
                });
            }
            compile(&expr, schema)
        })
    }

    /// What a push or persistent query's joins take from ksqlDB and Flink before DataFusion
    /// plans them: [`attach_interval_bounds`] and [`resolve_rowkey`].
    fn prepare_joins(&self, query: &mut Query, select: &SelectStatement) -> PlanResult<()> {
        let catalog = self.read_catalog();
        // An ASOF join's comparison of times is its own, not a Flink interval.
        if !select.asof_joins.iter().any(|asof| asof.join == 0) {
            attach_interval_bounds(query, &select.join_windows, &catalog)?;
        }
        resolve_rowkey(query, &catalog)
    }

    /// The source a join's FROM starts with: the stream a stream-table join reads, whose
    /// partitions and rows drive the query (lowering checks the join itself).
    fn join_input(&self, query: &eddy_parser::sqlparser::ast::Query) -> PlanResult<SourceDef> {
        join_input(query, &self.read_catalog())
            .cloned()
            .ok_or_else(|| {
                PlanError::unsupported(
                    "a persistent query over more than one source, other than a stream joined with tables",
                )
            })
    }

    fn single_input(&self, inputs: &[String]) -> PlanResult<SourceDef> {
        let [input] = inputs else {
            return Err(PlanError::unsupported(
                "a persistent query over more than one source (a join)",
            ));
        };
        Ok(self.read_catalog().source_required(input)?.clone())
    }
}

/// ksqlDB's rules for WINDOW and EMIT FINAL, with its messages: a WINDOW belongs to a GROUP
/// BY, and EMIT FINAL to a windowed aggregation (`tvf_windowed`: one over a window TVF).
fn check_window_clauses(select: &SelectStatement, tvf_windowed: bool) -> PlanResult<()> {
    let grouped = match select.query.body.as_ref() {
        SetExpr::Select(body) => match &body.group_by {
            GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
            GroupByExpr::All(_) => true,
        },
        _ => false,
    };
    if select.window.is_some() && !grouped {
        return Err(PlanError::invalid(
            "WINDOW clause requires a GROUP BY clause.",
        ));
    }
    if select.emit == Some(Emit::Final) && select.window.is_none() && !tvf_windowed {
        return Err(PlanError::invalid(
            "EMIT FINAL is only supported for windowed aggregations.",
        ));
    }
    Ok(())
}

/// Windows group the events of a stream; a table's rows have no event to place in one.
fn check_windowed_input(input: &SourceDef) -> PlanResult<()> {
    match input.kind {
        SourceKind::Stream => Ok(()),
        SourceKind::Table => Err(PlanError::invalid(
            "Windowing not supported for table aggregations.",
        )),
    }
}

/// Declared and selected columns cannot take a pseudo-column's name. `advice` says how to
/// avoid it where the column comes from.
pub fn check_column_name(name: &str, advice: &str) -> PlanResult<()> {
    if PSEUDO_COLUMNS.contains(&name) {
        return Err(PlanError::InvalidDefinition {
            message: format!("\"{name}\" is a pseudo-column every stream has; {advice}"),
        });
    }
    Ok(())
}

/// A query's result is a stream when it passes events of a stream through, a table when it
/// aggregates or reads a table (ksqlDB's rule): the sink must be of that kind.
fn check_result_kind(sink: SourceKind, dataflow: &Dataflow, input: &SourceDef) -> PlanResult<()> {
    // A subquery's GROUP BY changes its rows as a table's, unless its windows emit once.
    let reads_changing_groups = dataflow
        .nested_aggregates()
        .iter()
        .any(|plan| !plan.window.is_some_and(|window| window.emit_final));
    let result = match (dataflow, input.kind) {
        (Dataflow::Stateless(_), SourceKind::Stream) if !reads_changing_groups => {
            SourceKind::Stream
        }
        _ => SourceKind::Table,
    };
    match (sink, result) {
        (SourceKind::Stream, SourceKind::Table) => Err(PlanError::invalid(match dataflow {
            Dataflow::Aggregate(_) => {
                "this SELECT aggregates, so its result is a table: use CREATE TABLE .. AS SELECT"
                    .into()
            }
            Dataflow::Stateless(_) if reads_changing_groups => {
                "this SELECT reads the rows of a subquery's GROUP BY, which change as a table's, so its result is a table: use CREATE TABLE .. AS SELECT"
                    .into()
            }
            Dataflow::Stateless(_) => format!(
                "this SELECT reads table \"{}\", so its result is a table: use CREATE TABLE .. AS SELECT",
                input.name
            ),
        })),
        (SourceKind::Table, SourceKind::Stream) => Err(PlanError::invalid(format!(
            "this SELECT passes the events of stream \"{}\" through, so its result is a stream: use CREATE STREAM .. AS SELECT, or GROUP BY to make a table",
            input.name
        ))),
        _ => Ok(()),
    }
}

/// The output columns of a persistent query, as storable SQL types.
fn output_columns(output_schema: &SchemaRef) -> PlanResult<Vec<Column>> {
    let mut columns: Vec<Column> = Vec::new();
    for field in output_schema.fields() {
        check_column_name(
            field.name(),
            &format!("alias it, e.g. {0} AS event_{0}", field.name()),
        )?;
        if columns.iter().any(|column| column.name == *field.name()) {
            return Err(PlanError::DuplicateColumn {
                column: field.name().clone(),
                context: "appears twice in the SELECT list; alias one of them",
            });
        }
        let column_type =
            storable_type(field.data_type()).ok_or_else(|| PlanError::Unsupported {
                feature: format!(
                    "storing column \"{}\" of type {}",
                    field.name(),
                    field.data_type()
                ),
            })?;
        columns.push(Column {
            name: field.name().clone(),
            data_type: arrow_type(&column_type),
            key: false,
        });
    }
    Ok(columns)
}

/// The result's columns as `layout` orders them, its key columns marked: the dataflow writes
/// them in that order.
fn keyed_columns(dataflow: &mut Dataflow, layout: &ResultLayout) -> PlanResult<Vec<Column>> {
    dataflow.select_output(&layout.columns)?;
    let mut columns = output_columns(dataflow.output_schema())?;
    for column in &mut columns[..layout.key_count] {
        check_key_type(&column.name, &column.data_type)?;
        column.key = true;
    }
    Ok(columns)
}

/// INSERT INTO .. SELECT gives the target's columns, in order, of types that cast to them.
fn check_insert_schema(output_schema: &SchemaRef, target: &SourceDef) -> PlanResult<()> {
    let fields = output_schema.fields();
    if fields.len() != target.columns.len() {
        return Err(PlanError::TypeMismatch {
            message: format!(
                "INSERT INTO {} .. SELECT gives {} but the {} has {}",
                target.name,
                plural(fields.len(), "column"),
                target.kind.noun(),
                plural(target.columns.len(), "column")
            ),
        });
    }
    for (field, column) in fields.iter().zip(&target.columns) {
        if !arrow::compute::can_cast_types(field.data_type(), &column.data_type) {
            return Err(PlanError::TypeMismatch {
                message: format!(
                    "column \"{}\" is {} but the SELECT gives {} ({})",
                    column.name,
                    type_name(&column.data_type),
                    type_name(field.data_type()),
                    field.name()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use eddy_parser::Statement;

    use super::*;
    use crate::catalog::tests::clicks;
    use crate::dataflow::Step;
    use crate::sql::tests::planner_over;

    /// Plans `sql` as a persistent query into a new stream `out`, over the stream `clicks`
    /// and a table `users` of the same columns.
    async fn plan_into_stream_over_clicks_and_users(sql: &str) -> PlanResult<PersistentQuery> {
        let mut users = clicks();
        users.name = "users".into();
        users.kind = SourceKind::Table;
        planner_over(&[clicks(), users])
            .plan_persistent(
                &statement(sql),
                PersistentSink::Create(SourceKind::Stream, "out"),
            )
            .await
    }

    fn statement(sql: &str) -> SelectStatement {
        let mut statements = eddy_parser::parse_sql(sql).expect("parses");
        match statements.pop().map(|parsed| parsed.statement) {
            Some(Statement::Select(select)) => select,
            other => panic!("not a SELECT: {other:?}"),
        }
    }

    async fn persistent(sql: &str, sink: PersistentSink<'_>) -> PlanResult<PersistentQuery> {
        planner_over(&[clicks()])
            .plan_persistent(&statement(sql), sink)
            .await
    }

    /// Each column as `name` or `name KEY`.
    fn columns(query: &PersistentQuery) -> Vec<String> {
        query
            .columns
            .iter()
            .map(|column| match column.key {
                true => format!("{} KEY", column.name),
                false => column.name.clone(),
            })
            .collect()
    }

    fn message(result: PlanResult<PersistentQuery>) -> String {
        result.expect_err("the statement is refused").to_string()
    }

    #[tokio::test]
    async fn an_aggregation_makes_a_table_keyed_by_its_group_by() {
        let sql = "SELECT url, COUNT(*) AS n FROM clicks GROUP BY url";
        let query = persistent(sql, PersistentSink::Create(SourceKind::Table, "out"))
            .await
            .expect("plans");
        assert_eq!(columns(&query), ["url KEY", "n"]);
        assert_eq!(query.inputs, ["clicks"]);
        assert_eq!(query.input_partitions, 2);
        assert!(matches!(query.dataflow, Dataflow::Aggregate(_)));
        assert_eq!(
            message(persistent(sql, PersistentSink::Create(SourceKind::Stream, "out")).await),
            "this SELECT aggregates, so its result is a table: use CREATE TABLE .. AS SELECT"
        );
        assert_eq!(
            message(
                persistent(
                    "SELECT COUNT(*) AS n FROM clicks GROUP BY url",
                    PersistentSink::Create(SourceKind::Table, "out")
                )
                .await
            ),
            "Key missing from projection (ie, SELECT). The query used to build `out` must include the grouping expression url in its projection (eg, SELECT url...)."
        );
    }

    #[tokio::test]
    async fn a_windowed_aggregation_is_keyed_by_its_group_by_and_window() {
        let table = PersistentSink::Create(SourceKind::Table, "out");
        let query = persistent(
            "SELECT url, COUNT(*) AS n, WINDOWEND AS until FROM clicks \
             WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 2 SECONDS) GROUP BY url EMIT FINAL",
            table,
        )
        .await
        .expect("plans");
        assert_eq!(
            columns(&query),
            ["url KEY", "windowstart KEY", "windowend KEY", "n", "until"]
        );
        assert_eq!(
            query.window,
            Some(WindowKind::Hopping {
                size_ms: 10_000,
                advance_ms: 2_000
            })
        );
        let Dataflow::Aggregate(plan) = &query.dataflow else {
            panic!("an aggregation");
        };
        let window = plan.window.expect("windowed");
        assert_eq!((window.grace_ms, window.emit_final), (0, true));
        // Selected under its own name, a bound is the key column itself.
        let query = persistent(
            "SELECT url, WINDOWSTART, COUNT(*) AS n FROM clicks \
             WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY url",
            table,
        )
        .await
        .expect("plans");
        assert_eq!(
            columns(&query),
            ["url KEY", "windowstart KEY", "windowend KEY", "n"]
        );
    }

    #[tokio::test]
    async fn a_query_planned_again_writes_its_sinks_column_order() {
        let sql = "SELECT url, COUNT(*) AS n FROM clicks GROUP BY url";
        let planned = || persistent(sql, PersistentSink::Create(SourceKind::Table, "out"));
        let query = planned().await.expect("plans");
        let mut sink = clicks();
        sink.columns = query.columns.clone();
        let same = query.into_dataflow_for(&sink).expect("fits");
        sink.columns.reverse();
        let reordered = planned()
            .await
            .expect("plans")
            .into_dataflow_for(&sink)
            .expect("fits");
        let names = |dataflow: &Dataflow| -> Vec<String> {
            let fields = dataflow.output_schema().fields();
            fields.iter().map(|field| field.name().clone()).collect()
        };
        assert_eq!(names(&same), ["url", "n"]);
        assert_eq!(names(&reordered), ["n", "url"]);
        sink.columns[0].name = "gone".into();
        let refused = planned().await.expect("plans").into_dataflow_for(&sink);
        assert_eq!(
            refused.expect_err("a column is missing").to_string(),
            "the query writing \"clicks\" no longer gives its column \"gone\""
        );
    }

    #[tokio::test]
    async fn a_stream_keeps_its_inputs_key_unless_partitioned_anew() {
        let stream = PersistentSink::Create(SourceKind::Stream, "out");
        let query = persistent("SELECT user_id, url FROM clicks", stream)
            .await
            .expect("plans");
        assert_eq!(columns(&query), ["user_id KEY", "url"]);
        let query = persistent("SELECT user_id, url FROM clicks PARTITION BY url", stream)
            .await
            .expect("plans");
        assert_eq!(columns(&query), ["url KEY", "user_id"]);
        let query = persistent("SELECT * FROM clicks PARTITION BY upper(url)", stream)
            .await
            .expect("plans");
        assert_eq!(columns(&query), ["ksql_col_0 KEY", "url", "user_id"]);
        let query = persistent("SELECT url FROM clicks PARTITION BY NULL", stream)
            .await
            .expect("plans");
        assert_eq!(columns(&query), ["url"]);
        assert_eq!(
            message(
                persistent(
                    "SELECT url FROM clicks",
                    PersistentSink::Create(SourceKind::Table, "out")
                )
                .await
            ),
            "this SELECT passes the events of stream \"clicks\" through, so its result is a stream: use CREATE STREAM .. AS SELECT, or GROUP BY to make a table"
        );
    }

    #[tokio::test]
    async fn a_stream_table_join_is_keyed_by_the_streams_join_expression() {
        let plan = plan_into_stream_over_clicks_and_users;
        let query = plan(
            "SELECT c.url, u.url AS home, c.user_id FROM clicks c JOIN users u ON c.user_id = u.user_id",
        )
        .await
        .expect("plans");
        assert_eq!(columns(&query), ["user_id KEY", "url", "home"]);
        assert_eq!(query.lookups, ["users"]);
        assert!(query.inputs.contains(&"users".to_string()));
        assert_eq!(query.dataflow.source(), "clicks");
        assert_eq!(
            message(plan("SELECT c.url FROM clicks c JOIN users u ON c.user_id = u.user_id").await),
            "Key missing from projection (ie, SELECT). The query used to build `out` must include the join expressions c.user_id or u.user_id in its projection (eg, SELECT c.user_id...)."
        );
        // On an expression, the table's key column carries the key, in a LEFT join too: it
        // computes the key there, which an unmatched row's table column would lack.
        let query = plan(
            "SELECT c.url, u.user_id AS id FROM clicks c LEFT JOIN users u ON c.user_id + 1 = u.user_id",
        )
        .await
        .expect("plans");
        assert_eq!(columns(&query), ["id KEY", "url"]);
        let Dataflow::Stateless(stateless) = &query.dataflow else {
            panic!("a stateless dataflow");
        };
        let Some(Step::Project { exprs, .. }) = stateless.steps.last() else {
            panic!("a projection last");
        };
        assert_eq!(exprs[0].to_string(), "user_id@0 + 1");
        assert_eq!(
            message(
                plan("SELECT c.url, u.url AS home FROM clicks c LEFT JOIN users u ON c.user_id + 1 = u.user_id")
                    .await
            ),
            "Key missing from projection (ie, SELECT). The query used to build `out` must include the join expression u.user_id in its projection (eg, SELECT u.user_id...)."
        );
    }

    #[tokio::test]
    async fn joins_in_a_chain_are_keyed_by_the_last_ones_key() {
        let mut users = clicks();
        users.name = "users".into();
        users.kind = SourceKind::Table;
        let mut pages = clicks();
        pages.name = "pages".into();
        pages.kind = SourceKind::Table;
        pages.columns[0].name = "url".into();
        pages.columns[0].data_type = DataType::Utf8;
        pages.columns[1].name = "title".into();
        let mut accounts = users.clone();
        accounts.name = "accounts".into();
        let planner = planner_over(&[clicks(), users, pages, accounts]);
        let stream = PersistentSink::Create(SourceKind::Stream, "out");
        let plan = |sql: &str| {
            let planner = planner.clone();
            let select = statement(sql);
            async move { planner.plan_persistent(&select, stream).await }
        };
        let chained =
            "FROM clicks c JOIN users u ON c.user_id = u.user_id JOIN pages p ON u.url = p.url";
        let query = plan(&format!(
            "SELECT p.url AS page, c.user_id AS id, p.title {chained}"
        ))
        .await
        .expect("plans");
        assert_eq!(columns(&query), ["page KEY", "id", "title"]);
        assert_eq!(
            message(plan(&format!("SELECT c.user_id, p.title {chained}")).await),
            "Key missing from projection (ie, SELECT). The query used to build `out` must include the join expressions u.url or p.url in its projection (eg, SELECT u.url...)."
        );
        // A join by the key of the join before it: either one's columns carry the key.
        let same_key = "FROM clicks c JOIN users u ON c.user_id = u.user_id \
                        LEFT JOIN accounts a ON u.user_id = a.user_id";
        let query = plan(&format!("SELECT u.user_id AS id, a.url {same_key}"))
            .await
            .expect("plans");
        assert_eq!(columns(&query), ["id KEY", "url"]);
        assert_eq!(
            message(plan(&format!("SELECT a.url {same_key}")).await),
            "Key missing from projection (ie, SELECT). The query used to build `out` must include the join expressions c.user_id, u.user_id or a.user_id in its projection (eg, SELECT c.user_id...)."
        );
    }

    #[tokio::test]
    async fn a_join_into_a_stream_is_partitioned_anew_by_its_partition_by() {
        let plan = plan_into_stream_over_clicks_and_users;
        let joined = "FROM clicks c JOIN users u ON c.user_id = u.user_id";
        let query = plan(&format!(
            "SELECT c.url, u.url AS home {joined} PARTITION BY u.url"
        ))
        .await
        .expect("plans");
        assert_eq!(columns(&query), ["home KEY", "url"]);
        let query = plan(&format!("SELECT * {joined} PARTITION BY upper(u.url)"))
            .await
            .expect("plans");
        assert_eq!(
            columns(&query),
            ["ksql_col_0 KEY", "c_user_id", "c_url", "u_user_id", "u_url"]
        );
        let query = plan(&format!("SELECT * {joined} PARTITION BY u.url"))
            .await
            .expect("plans");
        assert_eq!(
            columns(&query),
            ["u_url KEY", "c_user_id", "c_url", "u_user_id"]
        );
        assert_eq!(
            message(plan(&format!("SELECT c.url AS page {joined} PARTITION BY page")).await),
            "column \"page\" does not exist in stream \"clicks\" or table \"users\": PARTITION BY is applied on the input, before the SELECT list names \"page\""
        );
        assert_eq!(
            message(plan(&format!("SELECT c.url {joined} PARTITION BY u.url")).await),
            "Key missing from projection (ie, SELECT). The query used to build `out` must include the partitioning expression u.url in its projection (eg, SELECT u.url...)."
        );
    }

    #[tokio::test]
    async fn insert_into_takes_the_targets_columns_and_checks_the_fit() {
        let mut target = clicks();
        target.name = "all_clicks".into();
        let sink = PersistentSink::InsertInto(&target);
        let planner = planner_over(&[clicks(), target.clone()]);
        let plan = |sql: &str| {
            let planner = planner.clone();
            let select = statement(sql);
            async move { planner.plan_persistent(&select, sink).await }
        };
        let query = plan("SELECT user_id, upper(url) FROM clicks")
            .await
            .expect("plans");
        assert_eq!(columns(&query), ["user_id KEY", "url"]);
        assert_eq!(
            message(plan("SELECT user_id FROM clicks").await),
            "INSERT INTO all_clicks .. SELECT gives 1 column but the stream has 2 columns"
        );
        assert_eq!(
            message(plan("SELECT * FROM all_clicks").await),
            "INSERT INTO all_clicks .. SELECT cannot read all_clicks itself"
        );
        assert_eq!(
            message(plan("SELECT * FROM clicks PARTITION BY url").await),
            "INSERT INTO .. SELECT writes rows keyed like its target stream; PARTITION BY is not allowed"
        );
        assert_eq!(
            message(plan("SELECT * FROM clicks LIMIT 2").await),
            "a persistent query cannot have a LIMIT"
        );
    }

    #[tokio::test]
    async fn clauses_no_operator_runs_yet_are_refused_by_name() {
        let stream = PersistentSink::Create(SourceKind::Stream, "out");
        let table = PersistentSink::Create(SourceKind::Table, "out");
        for (sql, sink, expected) in [
            (
                "SELECT url, COUNT(*) FROM clicks WINDOW TUMBLING (SIZE 1 MINUTE)",
                table,
                "WINDOW clause requires a GROUP BY clause.",
            ),
            (
                "SELECT url FROM clicks EMIT FINAL",
                stream,
                "EMIT FINAL is only supported for windowed aggregations.",
            ),
            (
                "SELECT url FROM clicks ORDER BY url",
                stream,
                "ORDER BY in a push or persistent query is not supported yet",
            ),
            (
                "SELECT DISTINCT url FROM clicks",
                stream,
                "DISTINCT in a push or persistent query is not supported yet",
            ),
        ] {
            assert_eq!(message(persistent(sql, sink).await), expected, "{sql}");
        }
        let planner = planner_over(&[clicks()]);
        for (sql, expected) in [
            (
                "SELECT url FROM clicks PARTITION BY url",
                "PARTITION BY belongs in CREATE STREAM .. AS SELECT or INSERT INTO .. SELECT",
            ),
            (
                "SELECT url, COUNT(*) FROM clicks WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY url",
                "Pull queries don't support WINDOW clauses.",
            ),
        ] {
            let error = planner
                .plan_select(&statement(sql))
                .await
                .expect_err("refused");
            assert_eq!(error.to_string(), expected, "{sql}");
        }
    }
}
