//! Stream-table joins: each stream row joined with the row its key gives in a table's
//! current rows, read from the state store when the batch is processed (ksqlDB's stream-table
//! join; the Z-set half join `Δstream ⋈ table`): through the epoch's state, which for a
//! persistent query is the store's published view, or the store itself for a push query,
//! whose epoch state is its own. Table changes emit nothing, and output once
//! emitted is never retracted. Weight rule: pass through, by provenance (the stream is
//! append-only, so every row is an insertion); event time is the stream row's.
//!
//! A batch at a time: its rows' keys are encoded, each distinct key is read once, all of them
//! in one `get_many` from one view of the store, and the joined rows are built with Arrow's
//! `take` over the stream's rows and the rows read.
//!
//! Keeps no state of its own, yet says it has state: its output depends on the table as it
//! stood, so an epoch cannot be recomputed after its commit, and the pipeline stores the
//! epoch's output with it (exactly once after a crash).
//!
//! Never: read a table other than through the store's published views, emit a row for a
//! stream row whose key is NULL, or emit more than one row per stream row.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, UInt32Array};
use arrow::compute::{CastOptions, and, cast_with_options, filter, is_not_null, take};
use arrow::datatypes::UInt32Type;
use eddy_planner::{LookupJoinKind, LookupJoinPlan};
use eddy_storage::StateStore;

use crate::batches::{evaluate_column, evaluate_condition};
use crate::changes::{Changes, Provenance};
use crate::dataflow::{EpochContext, Operator};
use crate::error::EngineResult;
use crate::row_codec::encode_keys;
use crate::state::tables::lookup_keyed_rows;

/// A stream joined with a table by the table's key.
pub(crate) struct LookupJoin {
    plan: Arc<LookupJoinPlan>,
    /// The store holding the table's rows when the epoch's state is not it (a push query's
    /// own state is elsewhere); None: the epoch's state.
    tables: Option<Arc<dyn StateStore>>,
}

impl LookupJoin {
    pub fn new(plan: Arc<LookupJoinPlan>, tables: Option<Arc<dyn StateStore>>) -> Self {
        LookupJoin { plan, tables }
    }

    /// The joined rows of `rows`, reading the table from `state`, and the stream row each
    /// comes from.
    fn join(
        &self,
        rows: &RecordBatch,
        state: &dyn StateStore,
    ) -> EngineResult<Option<(RecordBatch, UInt32Array)>> {
        let row_count = rows.num_rows();
        let mut has_key: Option<BooleanArray> = None;
        let mut keys: Vec<ArrayRef> = Vec::with_capacity(self.plan.keys.len());
        for (expr, key_type) in self.plan.keys.iter().zip(&self.plan.key_types) {
            let value = evaluate_column(expr.as_ref(), rows)?;
            let present = is_not_null(&value)?;
            has_key = Some(match has_key {
                None => present,
                Some(earlier) => and(&earlier, &present)?,
            });
            // A value the key's type cannot hold matches no row: safe casts give NULL.
            keys.push(cast_with_options(
                &value,
                key_type,
                &CastOptions {
                    safe: true,
                    ..Default::default()
                },
            )?);
        }
        let encoded = encode_keys(&keys, row_count)?;
        let lookable = |row: usize| {
            keys.iter().all(|key| key.is_valid(row))
                && has_key.as_ref().is_none_or(|has| has.value(row))
        };
        // Each distinct key once: its slot among the keys read.
        let mut slot_of_key: HashMap<&[u8], u32> = HashMap::new();
        let mut distinct: Vec<&[u8]> = Vec::new();
        let mut slot_of_row: Vec<Option<u32>> = Vec::with_capacity(row_count);
        for (row, key) in encoded.iter().enumerate() {
            if !lookable(row) {
                slot_of_row.push(None);
                continue;
            }
            let slot = *slot_of_key.entry(key).or_insert_with(|| {
                distinct.push(key);
                (distinct.len() - 1) as u32
            });
            slot_of_row.push(Some(slot));
        }
        let (table_rows, found) =
            lookup_keyed_rows(state, &self.plan.table, &self.plan.table_schema, &distinct)?;
        let keeps_unmatched = self.plan.kind == LookupJoinKind::Left;
        let mut stream_rows = Vec::with_capacity(row_count);
        let mut table_positions = Vec::with_capacity(row_count);
        for (row, slot) in slot_of_row.iter().enumerate() {
            let matched = slot.and_then(|slot| found[slot as usize]);
            // A NULL key joins nothing, not even in a LEFT join (ksqlDB drops the row).
            let keep = match matched {
                Some(_) => true,
                None => keeps_unmatched && has_key.as_ref().is_none_or(|has| has.value(row)),
            };
            if keep {
                stream_rows.push(row as u32);
                table_positions.push(matched);
            }
        }
        if stream_rows.is_empty() {
            return Ok(None);
        }
        let stream_rows = UInt32Array::from(stream_rows);
        let mut table_positions = UInt32Array::from(table_positions);
        let stream_columns: Vec<ArrayRef> = match stream_rows.len() == row_count {
            true => rows.columns().to_vec(),
            false => rows
                .columns()
                .iter()
                .map(|column| take(column, &stream_rows, None))
                .collect::<Result<_, _>>()?,
        };
        let joined = self.joined(&stream_columns, &table_rows, &table_positions)?;
        let Some(condition) = &self.plan.condition else {
            return Ok(Some((joined, stream_rows)));
        };
        let holds = evaluate_condition(condition.as_ref(), &joined)?;
        match self.plan.kind {
            LookupJoinKind::Inner => {
                let kept = arrow::compute::filter_record_batch(&joined, &holds)?;
                let sources = filter(&stream_rows, &holds)?
                    .as_primitive::<UInt32Type>()
                    .clone();
                Ok((kept.num_rows() > 0).then_some((kept, sources)))
            }
            LookupJoinKind::Left => {
                // A row whose match fails the rest of ON is unmatched: NULL-padded.
                let unmatched = arrow::compute::not(&holds)?;
                table_positions = arrow::compute::nullif(&table_positions, &unmatched)?
                    .as_primitive::<UInt32Type>()
                    .clone();
                let padded = self.joined(&stream_columns, &table_rows, &table_positions)?;
                Ok(Some((padded, stream_rows)))
            }
        }
    }

    /// The stream's columns, then the table's rows at `table_positions` (NULL where none).
    fn joined(
        &self,
        stream_columns: &[ArrayRef],
        table_rows: &RecordBatch,
        table_positions: &UInt32Array,
    ) -> EngineResult<RecordBatch> {
        let mut columns = stream_columns.to_vec();
        for column in table_rows.columns() {
            columns.push(take(column, table_positions, None)?);
        }
        Ok(RecordBatch::try_new(self.plan.schema.clone(), columns)?)
    }
}

impl Operator for LookupJoin {
    fn apply(
        &mut self,
        _input: usize,
        changes: Changes,
        output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        let state = match &self.tables {
            Some(tables) => tables.as_ref(),
            None => cx.state,
        };
        if let Some((rows, sources)) = self.join(changes.rows(), state)? {
            output.push(changes.follow(rows, &Provenance::Rows(sources))?);
        }
        Ok(())
    }

    fn has_state(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use eddy_planner::{Dataflow, SourceDef, Step};
    use eddy_storage::MemoryStateStore;

    use super::*;
    use crate::dataflow::harness::{changes, dataflow, run_epoch, source, text_of, write_table};
    use crate::dataflow::steps::Steps;

    /// The operators of a stateless join query over `sources`, reading tables from `state`.
    async fn join_operators(
        sources: &[SourceDef],
        sql: &str,
        state: &Arc<MemoryStateStore>,
    ) -> Vec<Box<dyn Operator>> {
        let Dataflow::Stateless(plan) = dataflow(sources, sql).await else {
            panic!("a stateless join");
        };
        let mut operators: Vec<Box<dyn Operator>> = Vec::new();
        let mut run = Vec::new();
        for step in plan.steps {
            match step {
                Step::LookupJoin(join) => {
                    operators.push(Box::new(Steps::new(std::mem::take(&mut run))));
                    operators.push(Box::new(LookupJoin::new(join, Some(state.clone()))));
                }
                step => run.push(step),
            }
        }
        operators.push(Box::new(Steps::new(run)));
        operators
    }

    /// One epoch of `batch` through `operators`: the output as text.
    fn joined(
        operators: &mut [Box<dyn Operator>],
        state: &MemoryStateStore,
        batch: Changes,
    ) -> Vec<String> {
        let mut chain: Vec<&mut dyn Operator> = operators
            .iter_mut()
            .map(|operator| operator.as_mut() as &mut dyn Operator)
            .collect();
        let (output, state_changes) = run_epoch(&mut chain, state, &[batch]);
        assert!(state_changes.is_empty(), "a lookup join writes no state");
        text_of(&output)
    }

    fn sources() -> (SourceDef, SourceDef) {
        (
            source("stream clicks (id BIGINT KEY, user_id BIGINT, v DOUBLE)"),
            source("table users (id BIGINT KEY, name STRING, region STRING)"),
        )
    }

    /// Each row joins the table as it is when its batch is processed; a NULL key joins
    /// nothing, even in a LEFT join; rows keep their event time.
    #[tokio::test]
    async fn each_row_joins_the_tables_row_of_its_key_when_processed() {
        let (clicks, users) = sources();
        let state = Arc::new(MemoryStateStore::default());
        write_table(state.as_ref(), &users, &["+ 1 ada eu", "+ 2 bob us"]);
        let all = [clicks.clone(), users.clone()];
        let batch = || {
            changes(
                &clicks,
                &[
                    "+ 10 1 0.5",
                    "+ 11 2 0.5",
                    "+ 12 1 0.5",
                    "+ 13 3 0.5",
                    "+ 14 NULL 0.5",
                ],
            )
        };
        let sql = "SELECT c.id, u.name, c.rowtime FROM clicks c JOIN users u ON c.user_id = u.id";
        let mut inner = join_operators(&all, sql, &state).await;
        assert_eq!(
            joined(&mut inner, &state, batch()),
            ["+ 10 ada 0", "+ 11 bob 0", "+ 12 ada 0"]
        );
        let sql = "SELECT c.id, u.name FROM clicks c LEFT JOIN users u ON c.user_id = u.id";
        let mut left = join_operators(&all, sql, &state).await;
        assert_eq!(
            joined(&mut left, &state, batch()),
            ["+ 10 ada", "+ 11 bob", "+ 12 ada", "+ 13 NULL"]
        );
        // The table changes: later batches see it.
        write_table(state.as_ref(), &users, &["+ 1 ada_l eu", "- 2 bob us"]);
        assert_eq!(
            joined(
                &mut left,
                &state,
                changes(&clicks, &["+ 15 1 0.5 @7", "+ 16 2 0.5"])
            ),
            ["+ 15 ada_l", "+ 16 NULL"]
        );
        assert_eq!(
            joined(
                &mut inner,
                &state,
                changes(&clicks, &["+ 15 1 0.5 @7", "+ 16 2 0.5"])
            ),
            ["+ 15 ada_l 7"]
        );
    }

    /// Other ON terms filter an INNER join and decide a LEFT join's match; WHERE filters the
    /// joined rows.
    #[tokio::test]
    async fn the_rest_of_on_decides_the_match_and_where_filters() {
        let (clicks, users) = sources();
        let state = Arc::new(MemoryStateStore::default());
        write_table(state.as_ref(), &users, &["+ 1 ada eu", "+ 2 bob us"]);
        let all = [clicks.clone(), users.clone()];
        let batch = || changes(&clicks, &["+ 10 1 0.5", "+ 11 2 0.5", "+ 12 3 0.5"]);
        for (sql, expected) in [
            (
                "SELECT c.id, u.name FROM clicks c JOIN users u ON c.user_id = u.id AND u.region = 'eu'",
                vec!["+ 10 ada"],
            ),
            (
                "SELECT c.id, u.name FROM clicks c LEFT JOIN users u ON c.user_id = u.id AND u.region = 'eu'",
                vec!["+ 10 ada", "+ 11 NULL", "+ 12 NULL"],
            ),
            (
                "SELECT c.id, u.name FROM clicks c LEFT JOIN users u ON c.user_id = u.id WHERE u.region = 'us'",
                vec!["+ 11 bob"],
            ),
        ] {
            let mut operators = join_operators(&all, sql, &state).await;
            assert_eq!(joined(&mut operators, &state, batch()), expected, "{sql}");
        }
    }

    /// A key compared in another type is looked up in the key's type and the comparison as
    /// written decides: 1.5 is no user's id, though it casts to 1.
    #[tokio::test]
    async fn a_key_compared_in_another_type_matches_only_equal_values() {
        let (clicks, users) = sources();
        let state = Arc::new(MemoryStateStore::default());
        write_table(state.as_ref(), &users, &["+ 1 ada eu"]);
        let sql = "SELECT c.id, u.name FROM clicks c LEFT JOIN users u ON c.v = u.id";
        let mut operators = join_operators(&[clicks.clone(), users], sql, &state).await;
        assert_eq!(
            joined(
                &mut operators,
                &state,
                changes(&clicks, &["+ 10 0 1.0", "+ 11 0 1.5", "+ 12 0 1e300"])
            ),
            ["+ 10 ada", "+ 11 NULL", "+ 12 NULL"]
        );
    }
}
