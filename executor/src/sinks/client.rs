//! A push query's sink: the client's connection. Over a stream, the changes are the rows the
//! client sees. Over a table or an aggregation, the client sees each change of a key with a
//! last column `op`: `upsert` with the key's new row, `delete` with the row that left (the
//! key was deleted, or no longer passes the query's WHERE or HAVING). An update's −old row
//! is not shown: the +new row of the same key (`Changes::pairing`) says it all.
//!
//! Never: show a retraction as a row, or lose one that has no replacement.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::changes::Changes;
use crate::dataflow::EpochContext;
use crate::error::{EngineError, EngineResult};
use crate::sinks::Sink;

/// The last column of a push query over a table: what happened to the row's key.
const OP_COLUMN: &str = "op";
/// The key now holds this row (an insert or an update).
const OP_UPSERT: &str = "upsert";
/// The key's row is gone (deleted, or no longer passing the query's filters): the row shown
/// is the one that left.
const OP_DELETE: &str = "delete";

pub(crate) struct ClientSink {
    /// The rows the client sees: the query's columns, then `op` for keyed changes.
    schema: SchemaRef,
    keyed: bool,
    rows: Vec<RecordBatch>,
}

impl ClientSink {
    /// A sink of a query whose columns are `output_schema`; `keyed` for changes of keys (a
    /// table's, or an aggregation's), which get the `op` column.
    pub fn new(output_schema: &SchemaRef, keyed: bool) -> Self {
        let schema = match keyed {
            true => with_op_column(output_schema),
            false => output_schema.clone(),
        };
        ClientSink {
            schema,
            keyed,
            rows: Vec::new(),
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The rows of keyed changes: each +row as an upsert, each −row whose key has no +row
    /// among the changes as a delete.
    fn keyed_rows(&self, changes: &Changes) -> EngineResult<RecordBatch> {
        let rows = changes.num_rows();
        let keys = changes.pairing().ok_or_else(|| {
            EngineError::Internal("the changes of a push query's keys lack their keys".into())
        })?;
        let weight = |row: usize| changes.weights().map_or(1, |weights| weights.value(row));
        let upserted: HashSet<u32> = (0..rows)
            .filter(|&row| weight(row) > 0)
            .map(|row| keys.value(row))
            .collect();
        let mut kept = Vec::with_capacity(rows);
        let mut ops = Vec::with_capacity(rows);
        for row in 0..rows {
            if weight(row) > 0 {
                kept.push(row as u32);
                ops.push(OP_UPSERT);
            } else if !upserted.contains(&keys.value(row)) {
                kept.push(row as u32);
                ops.push(OP_DELETE);
            }
        }
        let output = take_record_batch(changes.rows(), &UInt32Array::from(kept))?;
        let mut columns = output.columns().to_vec();
        columns.push(Arc::new(StringArray::from(ops)));
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

impl Sink for ClientSink {
    fn apply(&mut self, changes: Changes, _cx: &mut EpochContext<'_>) -> EngineResult<()> {
        // A window past its retention leaves quietly: subscribers see no delete (ksqlDB).
        if changes.is_discarding() {
            return Ok(());
        }
        let rows = match self.keyed {
            true => self.keyed_rows(&changes)?,
            false => changes.rows().clone(),
        };
        if rows.num_rows() > 0 {
            self.rows.push(rows);
        }
        Ok(())
    }

    fn finish_epoch(
        &mut self,
        _cx: &mut EpochContext<'_>,
    ) -> EngineResult<Vec<(u32, RecordBatch)>> {
        Ok(std::mem::take(&mut self.rows)
            .into_iter()
            .map(|rows| (0, rows))
            .collect())
    }
}

fn with_op_column(schema: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(OP_COLUMN, DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}
