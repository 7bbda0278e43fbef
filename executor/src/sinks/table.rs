//! A persistent query's sink into a table: the epoch's changes become the table's new rows
//! and its changelog (−old, +new per changed key), committed with the epoch.
//!
//! A GROUP BY's changes pair each group's old and new rows (`Changes::pairing`), and its old
//! rows are exactly what the table holds: nothing is looked up. Any other query's changes are
//! consolidated, and each touched key's old row is read from the table; such a query reads
//! what the epoch before it wrote, so its next epoch waits for that commit.
//!
//! The table's position (its row count and changelog ends) is carried from epoch to epoch,
//! so that an epoch can be computed while the one before it is still being written.
//!
//! Never: write a changelog that disagrees with the table's rows in the same commit.

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, RecordBatchOptions, UInt32Array};
use eddy_planner::SourceDef;
use eddy_storage::Topic;

use crate::batches::cast_columns;
use crate::changes::Changes;
use crate::dataflow::EpochContext;
use crate::error::{EngineError, EngineResult};
use crate::sinks::Sink;
use crate::state::tables::{ResolvedChanges, TableChanges, TablePosition, discard_rows};

/// How a table sink learns what its changed keys held before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OldRows {
    /// The changes retract exactly the rows the table holds, paired by group (a GROUP BY).
    Retracted,
    /// The changes say nothing of the table's rows: each touched key is looked up.
    LookedUp,
}

pub(crate) struct TableSink {
    table: SourceDef,
    changelog: Arc<Topic>,
    old_rows: OldRows,
    /// The epoch's changes so far.
    changes: Vec<Changes>,
    /// The epoch's discarded rows so far (windows past their retention).
    discarded: Vec<Changes>,
    /// The table's position after the last computed epoch (None until the first).
    position: Option<TablePosition>,
}

impl TableSink {
    pub fn new(table: SourceDef, changelog: Arc<Topic>, old_rows: OldRows) -> Self {
        TableSink {
            table,
            changelog,
            old_rows,
            changes: Vec::new(),
            discarded: Vec::new(),
            position: None,
        }
    }

    /// The changes' rows plus their `rowtime`, as the table's row schema.
    fn table_rows(&self, changes: &Changes) -> EngineResult<RecordBatch> {
        let row_schema = self.table.row_schema();
        let mut columns = changes.rows().columns().to_vec();
        columns.push(Arc::new(changes.rowtimes().clone()));
        let options = RecordBatchOptions::new().with_row_count(Some(changes.num_rows()));
        Ok(RecordBatch::try_new_with_options(
            row_schema.clone(),
            cast_columns(columns, &row_schema)?,
            &options,
        )?)
    }
}

impl Sink for TableSink {
    fn apply(&mut self, changes: Changes, _cx: &mut EpochContext<'_>) -> EngineResult<()> {
        match changes.is_discarding() {
            true => self.discarded.push(changes),
            false => self.changes.push(changes),
        }
        Ok(())
    }

    fn finish_epoch(&mut self, cx: &mut EpochContext<'_>) -> EngineResult<Vec<(u32, RecordBatch)>> {
        let parts = std::mem::take(&mut self.changes);
        let (rows, weights, pairing) = match parts.first() {
            None => (RecordBatch::new_empty(self.table.row_schema()), None, None),
            Some(first) => {
                let changes = Changes::concat(&first.rows().schema(), &parts)?;
                let weights = changes.weights().cloned();
                let pairing = changes.pairing().cloned();
                (self.table_rows(&changes)?, weights, pairing)
            }
        };
        let position = match self.position.take() {
            Some(position) => position,
            None => TablePosition::current(cx.state, &self.table, &self.changelog)?,
        };
        let resolved = match self.old_rows {
            OldRows::Retracted => {
                let rows_total = rows.num_rows();
                let groups = match pairing {
                    Some(groups) => groups,
                    None if rows_total == 0 => UInt32Array::from(Vec::<u32>::new()),
                    None => {
                        return Err(EngineError::Internal(
                            "a GROUP BY's changes lack their groups".into(),
                        ));
                    }
                };
                let weights = weights.unwrap_or_else(|| Int64Array::from_value(1, rows_total));
                ResolvedChanges::of_known_rows(&self.table, &position, rows, &weights, &groups)?
            }
            OldRows::LookedUp => TableChanges::of_weighted_rows(&self.table, rows, weights)?
                .resolve(cx.state, &self.table, &position)?,
        };
        let mut position = resolved.position;
        cx.state_changes.extend(resolved.state);
        // Discarded after the epoch's changes: a window that closes and expires in one
        // epoch is emitted, then discarded.
        for discarded in std::mem::take(&mut self.discarded) {
            let rows = self.table_rows(&discarded)?;
            discard_rows(&self.table, &mut position, &rows, cx.state_changes)?;
        }
        self.position = Some(position);
        Ok(resolved.changelog)
    }

    fn reads_own_writes(&self) -> bool {
        self.old_rows == OldRows::LookedUp
    }

    fn has_state(&self) -> bool {
        true
    }
}
