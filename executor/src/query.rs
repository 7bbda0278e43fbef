//! SELECTs: pull queries (run by DataFusion over a snapshot) and push queries (a stateless
//! dataflow over a stream's log that keeps sending rows as they arrive).
//!
//! A push query is a task that tails the log of its source: it reads whatever is durable,
//! runs the dataflow's steps and hands batches to the client's bounded queue, then waits on
//! the log's end-offset notification. Because it reads the log itself, a slow client only
//! delays its own rows; it never holds back a persistent query or another client.
//!
//! Never: keep a push query's task alive after its `RowStream` is dropped.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::execute_stream;
use datafusion::scalar::ScalarValue;
use eddy_parser::{Emit, SelectStatement};
use eddy_planner::{PlanError, StatelessPlan, lower_stateless};
use eddy_storage::{Offset, Topic};
use futures::StreamExt;
use futures::future::select_all;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use crate::batches::{apply_steps, with_pseudo_columns};
use crate::engine::Engine;
use crate::error::{EngineError, EngineResult};
use crate::limits::{PUSH_QUEUE_BATCHES_MAX, PUSH_READ_ROWS_MAX};
use crate::output::RowStream;
use crate::properties::AUTO_OFFSET_RESET;
use crate::session::Session;

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
    let state = engine.planner.state();
    let physical = state.create_physical_plan(plan).await?;
    let stream = execute_stream(physical, state.task_ctx())?;
    let schema = stream.schema();
    let batches = stream.map(|batch| batch.map_err(EngineError::from));
    Ok(RowStream::from_stream(schema, false, batches.boxed()))
}

fn push(engine: &Engine, plan: &LogicalPlan, from_earliest: bool) -> EngineResult<RowStream> {
    let dataflow = lower_stateless(plan, false)?;
    let source = engine
        .read_catalog()
        .source_required(&dataflow.source)?
        .clone();
    let topic = engine.store.topic(&source.topic).ok_or_else(|| {
        EngineError::Internal(format!(
            "the log of {} \"{}\" is missing",
            source.kind.noun(),
            source.name
        ))
    })?;
    let schema = dataflow.output_schema.clone();
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
    let task = tokio::spawn(async move {
        let subscription = Subscription {
            topic,
            queryable_schema,
            dataflow,
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
                    let output =
                        with_pseudo_columns(&stored, &self.queryable_schema, partition, first.0)
                            .and_then(|batch| apply_steps(&self.dataflow.steps, batch));
                    let mut output = match output {
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

    async fn fail(&self, error: EngineError) {
        let _ = self.sender.send(Err(error)).await;
    }
}
