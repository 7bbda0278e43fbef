//! Filter, project and explode: the stateless steps of a dataflow, run over one batch with
//! the expressions the planner compiled. Weight rule: pass through. A filter keeps the rows
//! whose predicate is true, a projection computes new columns and an explode (ksqlDB's
//! EXPLODE) makes a row per array element; none changes a row's weight or event time, which
//! follow the rows by the provenance `apply_steps_tracked` returns (an exploded row has its
//! input row's).
//!
//! Never: reorder rows, or produce a row that no input row gave.

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{filter_record_batch, take};
use arrow::datatypes::{SchemaRef, UInt32Type};
use eddy_planner::{Step, UnnestColumn};

use crate::batches::evaluate_column;
use crate::changes::{Changes, Provenance};
use crate::dataflow::{EpochContext, Operator};
use crate::error::{EngineError, EngineResult};

/// A chain of filters and projections as an operator.
pub struct Steps {
    steps: Vec<Step>,
}

impl Steps {
    pub fn new(steps: Vec<Step>) -> Self {
        Steps { steps }
    }
}

impl Operator for Steps {
    fn apply(
        &mut self,
        _input: usize,
        changes: Changes,
        output: &mut Vec<Changes>,
        _cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        let (rows, provenance) = apply_steps_tracked(&self.steps, changes.rows().clone())?;
        if rows.num_rows() > 0 {
            output.push(changes.follow(rows, &provenance)?);
        }
        Ok(())
    }
}

/// Runs a chain of steps over one batch.
pub fn apply_steps(steps: &[Step], batch: RecordBatch) -> EngineResult<RecordBatch> {
    Ok(run_steps(steps, batch)?.0)
}

/// Runs a chain of steps over one batch and says, for each output row, which input row it
/// comes from: how weights and other per-row facts of the input follow the rows.
pub fn apply_steps_tracked(
    steps: &[Step],
    batch: RecordBatch,
) -> EngineResult<(RecordBatch, Provenance)> {
    run_steps(steps, batch)
}

fn run_steps(steps: &[Step], mut batch: RecordBatch) -> EngineResult<(RecordBatch, Provenance)> {
    let mut provenance = Provenance::Identity;
    for step in steps {
        if batch.num_rows() == 0 {
            break;
        }
        batch = match step {
            Step::Filter(predicate) => {
                let mask = evaluate_column(predicate.as_ref(), &batch)?;
                let mask = mask.as_boolean_opt().ok_or_else(|| {
                    EngineError::Internal(format!(
                        "filter predicate produced {} instead of booleans",
                        mask.data_type()
                    ))
                })?;
                let sources = match &provenance {
                    Provenance::Identity => {
                        UInt32Array::from_iter_values(0..batch.num_rows() as u32)
                    }
                    Provenance::Rows(sources) => sources.clone(),
                };
                provenance = Provenance::Rows(
                    arrow::compute::filter(&sources, mask)?
                        .as_primitive::<UInt32Type>()
                        .clone(),
                );
                filter_record_batch(&batch, mask)?
            }
            Step::Project { exprs, schema } => {
                let columns = exprs
                    .iter()
                    .map(|expr| evaluate_column(expr.as_ref(), &batch))
                    .collect::<EngineResult<Vec<_>>>()?;
                RecordBatch::try_new(schema.clone(), columns)?
            }
            Step::Unnest { columns, schema } => {
                let (exploded, sources) = explode(&batch, columns, schema)?;
                provenance = Provenance::Rows(match &provenance {
                    Provenance::Identity => sources,
                    Provenance::Rows(earlier) => take(earlier, &sources, None)?
                        .as_primitive::<UInt32Type>()
                        .clone(),
                });
                exploded
            }
            Step::LookupJoin(_) | Step::Join(_) | Step::Aggregate(_) => {
                return Err(EngineError::Internal(
                    "a join or GROUP BY runs as an operator of its own, not as a step".into(),
                ));
            }
        };
    }
    Ok((batch, provenance))
}

/// Each row of `batch` as one row per element of its longest exploded array, and the input
/// row each output row comes from.
fn explode(
    batch: &RecordBatch,
    columns: &[UnnestColumn],
    schema: &SchemaRef,
) -> EngineResult<(RecordBatch, UInt32Array)> {
    let list_of = |index: usize| {
        batch.column(index).as_list_opt::<i32>().ok_or_else(|| {
            EngineError::Internal(format!(
                "EXPLODE of a column of type {}",
                batch.column(index).data_type()
            ))
        })
    };
    let mut counts = vec![0usize; batch.num_rows()];
    for column in columns {
        if let UnnestColumn::Element(index) = column {
            let list = list_of(*index)?;
            for (row, count) in counts.iter_mut().enumerate() {
                if list.is_valid(row) {
                    *count = (*count).max(list.value_length(row) as usize);
                }
            }
        }
    }
    let mut sources = Vec::with_capacity(counts.iter().sum());
    for (row, &count) in counts.iter().enumerate() {
        sources.extend(std::iter::repeat_n(row as u32, count));
    }
    let sources = UInt32Array::from(sources);
    let exploded = columns
        .iter()
        .map(|column| match *column {
            UnnestColumn::Repeated(index) => Ok(take(batch.column(index), &sources, None)?),
            UnnestColumn::Element(index) => {
                let list = list_of(index)?;
                let mut elements = Vec::with_capacity(sources.len());
                for (row, &count) in counts.iter().enumerate() {
                    let start = list.value_offsets()[row] as u32;
                    let length = match list.is_valid(row) {
                        true => list.value_length(row) as usize,
                        false => 0,
                    };
                    elements.extend(
                        (0..count)
                            .map(|position| (position < length).then(|| start + position as u32)),
                    );
                }
                Ok(take(list.values(), &UInt32Array::from(elements), None)?)
            }
        })
        .collect::<EngineResult<Vec<_>>>()?;
    Ok((RecordBatch::try_new(schema.clone(), exploded)?, sources))
}

#[cfg(test)]
mod tests {
    use eddy_planner::Dataflow;
    use eddy_storage::MemoryStateStore;

    use super::*;
    use crate::dataflow::harness::{changes, dataflow, run_operator, source};

    async fn steps_of(sql: &str) -> (Steps, eddy_planner::SourceDef) {
        let prices = source("table prices (id BIGINT KEY, price BIGINT)");
        let Dataflow::Stateless(plan) = dataflow(std::slice::from_ref(&prices), sql).await else {
            panic!("stateless")
        };
        (Steps::new(plan.steps), prices)
    }

    /// An update is −old then +new: a filter keeps each half that passes, so the four cases
    /// of old and new passing or not come out right with weights alone.
    #[tokio::test]
    async fn a_filter_passes_each_half_of_an_update_on_its_own() {
        let (mut steps, prices) = steps_of("SELECT id, price FROM prices WHERE price > 10").await;
        let state = MemoryStateStore::default();
        let updates = [
            ("both pass", ["- 1 20", "+ 1 30"], vec!["- 1 20", "+ 1 30"]),
            ("old passes", ["- 2 20", "+ 2 5"], vec!["- 2 20"]),
            ("new passes", ["- 3 5", "+ 3 30"], vec!["+ 3 30"]),
            ("neither", ["- 4 5", "+ 4 6"], vec![]),
        ];
        for (case, update, expected) in updates {
            let output = run_operator(&mut steps, &state, &[vec![changes(&prices, &update)]], &[]);
            assert_eq!(output, [expected], "{case}");
        }
    }

    #[tokio::test]
    async fn a_projection_keeps_weights_and_event_times() {
        let (mut steps, prices) = steps_of("SELECT price * 2 AS doubled FROM prices").await;
        let mut output = Vec::new();
        let mut state_changes = eddy_storage::StateBatch::default();
        let mut bad_rows = crate::dataflow::BadRows::default();
        let state = MemoryStateStore::default();
        let mut cx = EpochContext {
            state: &state,
            state_changes: &mut state_changes,
            bad_rows: &mut bad_rows,
            input_partition: 0,
            read_from: None,
            behind: &[],
            now_ms: 0,
        };
        let input = changes(&prices, &["-2 1 20 @7", "+ 2 30 @9"]);
        steps
            .apply(0, input, &mut output, &mut cx)
            .expect("applies");
        let [projected] = output.as_slice() else {
            panic!("one batch");
        };
        assert_eq!(projected.weights().expect("weights").values(), &[-2, 1]);
        assert_eq!(projected.rowtimes().values(), &[7, 9]);
    }
}
