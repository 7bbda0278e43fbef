//! SELECTs: pull queries (run by DataFusion over a snapshot) and push queries (a stateless
//! dataflow over a stream's log that keeps sending rows as they arrive).
//!
//! A push query is a task that tails the log of its source: it reads whatever is durable,
//! runs the dataflow's steps and hands batches to the client's bounded queue, then waits on
//! the log's end-offset notification. Because it reads the log itself, a slow client only
//! delays its own rows; it never holds back a persistent query or another client.
//!
//! A push query over a table reads the table's changelog and adds a last column `op`:
//! `upsert` with the new row of a key, `delete` with the row that left (deleted, or no longer
//! matching the WHERE clause).
//!
//! Never: keep a push query's task alive after its `RowStream` is dropped.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ParamValues;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{Expr, Filter, LogicalPlan};
use datafusion::physical_plan::execute_stream;
use datafusion::scalar::ScalarValue;
use eddy_parser::{Emit, SelectStatement};
use eddy_planner::{Dataflow, PlanError, SourceDef, StatelessPlan, lower};
use eddy_storage::{Offset, Topic};
use futures::StreamExt;
use futures::future::select_all;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::batches::{apply_steps, apply_steps_tracked, with_pseudo_columns};
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::limits::{PUSH_QUEUE_BATCHES_MAX, PUSH_READ_ROWS_MAX};
use crate::output::RowStream;
use crate::properties::AUTO_OFFSET_RESET;
use crate::provider::TableState;
use crate::session::Session;
use crate::table::{primary_keys, split_weights};

pub async fn select(
    session: &Session,
    select: &SelectStatement,
    parameters: &[ScalarValue],
) -> EngineResult<RowStream> {
    check_clauses(select)?;
    let engine = &session.engine;
    let plan = bind(engine.planner.plan_query(&select.query).await?, parameters)?;
    match select.emit {
        Some(Emit::Changes) => {
            let from_earliest = session.property(AUTO_OFFSET_RESET) == Some("earliest");
            push(engine, &plan, from_earliest)
        }
        Some(Emit::Final) => Err(unsupported("EMIT FINAL (it needs a windowed aggregation)")),
        None => pull(engine, &plan).await,
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
pub async fn plan_pull(session: &Session, select: &SelectStatement) -> EngineResult<PlannedPull> {
    check_clauses(select)?;
    let plan = session.engine.planner.plan_query(&select.query).await?;
    let key_lookup = KeyLookup::plan(&session.engine, &plan)?;
    Ok(PlannedPull { plan, key_lookup })
}

/// Runs a pull query planned earlier (`plan_pull`) with its parameters.
pub async fn pull_planned(
    engine: &Engine,
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
    session: &Session,
    select: &SelectStatement,
) -> EngineResult<(Vec<DataType>, SchemaRef)> {
    check_clauses(select)?;
    let plan = session.engine.planner.plan_query(&select.query).await?;
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

fn check_clauses(select: &SelectStatement) -> EngineResult<()> {
    if select.window.is_some() {
        return Err(unsupported("WINDOW (windowed aggregation)"));
    }
    if select.partition_by.is_some() {
        return Err(PlanError::Invalid {
            message: "PARTITION BY belongs in CREATE STREAM .. AS SELECT or INSERT INTO .. SELECT"
                .into(),
        }
        .into());
    }
    Ok(())
}

fn unsupported(feature: &str) -> EngineError {
    PlanError::Unsupported {
        feature: feature.to_string(),
    }
    .into()
}

fn bind(plan: LogicalPlan, parameters: &[ScalarValue]) -> EngineResult<LogicalPlan> {
    if parameters.is_empty() {
        return Ok(plan);
    }
    Ok(plan.with_param_values(parameters.to_vec())?)
}

async fn pull(engine: &Engine, plan: &LogicalPlan) -> EngineResult<RowStream> {
    if let Some(key_lookup) = KeyLookup::plan(engine, plan)? {
        return key_lookup.run(&[]);
    }
    let state = engine.planner.state();
    let physical = state.create_physical_plan(plan).await?;
    let stream = execute_stream(physical, state.task_ctx())?;
    let schema = stream.schema();
    let batches = stream.map(|batch| batch.map_err(EngineError::from));
    Ok(RowStream::from_stream(schema, false, batches.boxed()))
}

/// A pull query that only filters and projects one table, with filters that give its whole
/// key (`key = 5`, `key IN ($1, $2)`): answered by point reads and the query's other steps,
/// without DataFusion's optimizer and executor (a key lookup's latency is mostly theirs).
/// Planned once per prepared statement, and run with each execution's parameters.
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
    fn plan(engine: &Engine, plan: &LogicalPlan) -> EngineResult<Option<KeyLookup>> {
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
        let Some(table) = engine
            .read_catalog()
            .source(scanned)
            .filter(|source| source.is_table())
            .cloned()
        else {
            return Ok(None);
        };
        let table = TableState::new(table, engine.store.clone());
        let Some(pins) = table.key_pins(&filters) else {
            return Ok(None);
        };
        // Anything else with a parameter cannot be compiled before it is bound.
        let Ok(Dataflow::Stateless(dataflow)) = lower(&without_filters(plan, &pins)?, false) else {
            return Ok(None);
        };
        Ok(Some(KeyLookup {
            table,
            pins,
            dataflow,
        }))
    }

    fn run(&self, parameters: &[ScalarValue]) -> EngineResult<RowStream> {
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

fn push(engine: &Engine, plan: &LogicalPlan, from_earliest: bool) -> EngineResult<RowStream> {
    let dataflow = match lower(plan, false)? {
        Dataflow::Stateless(dataflow) => dataflow,
        Dataflow::Aggregate(_) => {
            return Err(unsupported(
                "GROUP BY in a push query; keep the aggregate with CREATE TABLE .. AS SELECT and subscribe to that table with SELECT * FROM it EMIT CHANGES",
            ));
        }
    };
    let source = engine
        .read_catalog()
        .source_required(&dataflow.source)?
        .clone();
    let topic = engine.topic_of(&source)?;
    let schema = match source.is_table() {
        true => with_op_column(&dataflow.output_schema),
        false => dataflow.output_schema.clone(),
    };
    let changes_of = source.is_table().then(|| source.clone());
    let (sender, receiver) = mpsc::channel(PUSH_QUEUE_BATCHES_MAX);
    let queryable_schema = source.queryable_schema();
    // Start offsets are taken now, not in the task: every row acknowledged after this
    // statement returns reaches the subscriber.
    let start_offsets: Vec<Offset> = (0..topic.partition_count())
        .map(|partition| {
            if from_earliest {
                Offset(0)
            } else {
                topic.end_offset(partition)
            }
        })
        .collect();
    let schema_for_task = schema.clone();
    let task = tokio::spawn(async move {
        let subscription = Subscription {
            topic,
            queryable_schema,
            dataflow,
            changes_of,
            output_schema: schema_for_task,
            sender,
        };
        subscription.run(start_offsets).await;
    });
    let guard = AbortOnDrop(task);
    let batches = ReceiverStream::new(receiver).map(move |item| {
        // The stream owns the guard: dropping the stream ends the push query's task.
        let _owned = &guard;
        item
    });
    Ok(RowStream::from_stream(schema, true, batches.boxed()))
}

/// The last column of a push query over a table: what happened to the row's key.
pub const OP_COLUMN: &str = "op";
/// The key now holds this row (an insert or an update).
const OP_UPSERT: &str = "upsert";
/// The key's row is gone (deleted, or no longer passing the query's WHERE): the row shown is
/// the one that left.
const OP_DELETE: &str = "delete";

fn with_op_column(schema: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(OP_COLUMN, DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A push query's task state.
struct Subscription {
    topic: Arc<Topic>,
    queryable_schema: SchemaRef,
    dataflow: StatelessPlan,
    /// The table whose changelog this is, for a push query over a table.
    changes_of: Option<SourceDef>,
    output_schema: SchemaRef,
    sender: mpsc::Sender<EngineResult<RecordBatch>>,
}

impl Subscription {
    async fn run(self, mut offsets: Vec<Offset>) {
        let partitions = self.topic.partition_count();
        let mut watchers: Vec<watch::Receiver<Offset>> = (0..partitions)
            .map(|partition| self.topic.watch_end_offset(partition))
            .collect();
        let mut rows_left = self.dataflow.limit;
        if rows_left == Some(0) {
            return;
        }
        loop {
            for watcher in &mut watchers {
                watcher.borrow_and_update();
            }
            let mut read_any = false;
            for partition in 0..partitions {
                let index = partition as usize;
                let read = match self
                    .topic
                    .read(partition, offsets[index], PUSH_READ_ROWS_MAX)
                {
                    Ok(read) => read,
                    Err(error) => return self.fail(error.into()).await,
                };
                for (first, stored) in read {
                    read_any = true;
                    offsets[index] = Offset(first.0 + stored.num_rows() as u64);
                    let mut output = match self.output_of(&stored, partition, first.0) {
                        Ok(output) => output,
                        Err(error) => return self.fail(error).await,
                    };
                    if output.num_rows() == 0 {
                        continue;
                    }
                    if let Some(left) = rows_left.as_mut() {
                        if output.num_rows() >= *left {
                            output = output.slice(0, *left);
                            *left = 0;
                        } else {
                            *left -= output.num_rows();
                        }
                    }
                    if self.sender.send(Ok(output)).await.is_err() {
                        return;
                    }
                    if rows_left == Some(0) {
                        return;
                    }
                }
            }
            if read_any {
                continue;
            }
            let changes = watchers
                .iter_mut()
                .map(|watcher| Box::pin(watcher.changed()));
            tokio::select! {
                (changed, _, _) = select_all(changes) => {
                    if changed.is_err() {
                        return self.fail(EngineError::Internal(format!(
                            "the log of \"{}\" was dropped", self.topic.name()
                        ))).await;
                    }
                }
                () = self.sender.closed() => return,
            }
        }
    }

    /// The rows a stored batch gives the subscriber.
    fn output_of(
        &self,
        stored: &RecordBatch,
        partition: u32,
        first_offset: u64,
    ) -> EngineResult<RecordBatch> {
        let Some(table) = &self.changes_of else {
            let queryable =
                with_pseudo_columns(stored, &self.queryable_schema, partition, first_offset)?;
            return apply_steps(&self.dataflow.steps, queryable);
        };
        let (rows, weights) = split_weights(stored)?;
        let queryable =
            with_pseudo_columns(&rows, &self.queryable_schema, partition, first_offset)?;
        let (output, sources) = apply_steps_tracked(&self.dataflow.steps, queryable)?;
        if output.num_rows() == 0 {
            return Ok(RecordBatch::new_empty(self.output_schema.clone()));
        }
        let keys = primary_keys(table, &rows)?;
        let upserted: HashSet<&[u8]> = sources
            .values()
            .iter()
            .filter(|&&row| weights.value(row as usize) > 0)
            .filter_map(|&row| keys.get(row as usize))
            .collect();
        // An update is −old then +new of one key: the subscriber sees the new row. A key
        // with only a −row left the table (or left the query's WHERE): a delete.
        let mut kept = Vec::with_capacity(output.num_rows());
        let mut ops = Vec::with_capacity(output.num_rows());
        for (position, &row) in sources.values().iter().enumerate() {
            let row = row as usize;
            if weights.value(row) > 0 {
                kept.push(position as u32);
                ops.push(OP_UPSERT);
            } else if !keys.get(row).is_some_and(|key| upserted.contains(key)) {
                kept.push(position as u32);
                ops.push(OP_DELETE);
            }
        }
        let output = take_record_batch(&output, &UInt32Array::from(kept))?;
        let mut columns = output.columns().to_vec();
        columns.push(Arc::new(StringArray::from(ops)));
        Ok(RecordBatch::try_new(self.output_schema.clone(), columns)?)
    }

    async fn fail(&self, error: EngineError) {
        let _ = self.sender.send(Err(error)).await;
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::Int32Type;
    use eddy_parser::Statement;

    use super::*;
    use crate::engine::open_with_source;

    async fn planned(session: &Session, sql: &str) -> PlannedPull {
        let statement = session.parse(sql).expect("parses").remove(0).statement;
        let Statement::Select(select) = statement else {
            panic!("{sql} is a SELECT");
        };
        plan_pull(session, &select).await.expect("plans")
    }

    #[tokio::test]
    async fn a_prepared_key_lookup_is_planned_once_with_its_parameters_unbound() {
        let (_directory, engine, _) = open_with_source(
            "CREATE TABLE stock (warehouse STRING PRIMARY KEY, sku BIGINT PRIMARY KEY, quantity INT);
             INSERT INTO stock VALUES ('north', 1, 10), ('north', 2, 20);",
            "stock",
        )
        .await;
        let session = engine.session();
        let lookup = planned(
            &session,
            "SELECT quantity FROM stock WHERE warehouse = $1 AND sku = $2",
        )
        .await;
        assert!(lookup.key_lookup.is_some());
        for (sku, quantity) in [(1, Some(10)), (2, Some(20)), (3, None)] {
            let parameters = [ScalarValue::from("north"), ScalarValue::Int64(Some(sku))];
            let batches: Vec<RecordBatch> = pull_planned(&engine, &lookup, &parameters)
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
            assert!(planned(&session, sql).await.key_lookup.is_none(), "{sql}");
        }
    }
}
