//! The unit of change that flows between operators: an Arrow `RecordBatch` plus one weight per
//! row (+1 insert, -1 retraction, n for n copies), the Z-set model of DBSP and Materialize's
//! `diff`. An update is a retraction of the old row and an insertion of the new one. Streams'
//! batches are all +1 and omit the weights. It lives in `storage`, the lowest crate that needs
//! it (table changelogs store weights); `executor` re-exports it.
//!
//! Never: hold a null or zero weight, or a weight count that differs from the row count.

use std::collections::HashMap;

use arrow::array::{Array, Int64Array, UInt64Array};
use arrow::compute::{concat_batches, take_record_batch};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};

use crate::error::StorageError;

/// Rows plus one weight per row (`None`: all +1, as for appends).
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeBatch {
    rows: RecordBatch,
    weights: Option<Int64Array>,
}

impl ChangeBatch {
    /// Rows that are all insertions (weight +1).
    pub fn inserts(rows: RecordBatch) -> Self {
        ChangeBatch {
            rows,
            weights: None,
        }
    }

    /// Checks: one weight per row, no nulls, no zero weights.
    pub fn try_new(rows: RecordBatch, weights: Option<Int64Array>) -> Result<Self, StorageError> {
        if let Some(weights) = &weights {
            let invalid = |reason: String| StorageError::InvalidChangeBatch { reason };
            if weights.len() != rows.num_rows() {
                return Err(invalid(format!(
                    "{} weights for {} rows",
                    weights.len(),
                    rows.num_rows()
                )));
            }
            if weights.null_count() > 0 {
                return Err(invalid(format!("{} null weights", weights.null_count())));
            }
            if let Some(row) = weights.values().iter().position(|&weight| weight == 0) {
                return Err(invalid(format!("zero weight at row {row}")));
            }
        }
        Ok(ChangeBatch { rows, weights })
    }

    pub fn rows(&self) -> &RecordBatch {
        &self.rows
    }

    pub fn weights(&self) -> Option<&Int64Array> {
        self.weights.as_ref()
    }

    /// The weight of row `row`. Panics if `row` is not below `num_rows()` (a caller's bug).
    pub fn weight(&self, row: usize) -> i64 {
        assert!(
            row < self.rows.num_rows(),
            "row {row} of a {}-row batch",
            self.rows.num_rows()
        );
        self.weights
            .as_ref()
            .map_or(1, |weights| weights.value(row))
    }

    pub fn num_rows(&self) -> usize {
        self.rows.num_rows()
    }

    /// Sums the weights of equal rows across the batches (rows compared with
    /// `arrow::row::RowConverter`) and drops rows whose weight sums to 0. The output keeps
    /// each surviving row where it first appeared: one batch, or none if nothing is left.
    /// Its weights are `None` when every one of them is +1. `Err` if the batches' schemas
    /// differ, a column type cannot be compared, or a weight sum overflows.
    pub fn consolidate(batches: &[ChangeBatch]) -> Result<Option<ChangeBatch>, StorageError> {
        let Some(first) = batches.first() else {
            return Ok(None);
        };
        let schema = first.rows.schema();
        if let Some(other) = batches
            .iter()
            .find(|batch| batch.rows.schema_ref().fields() != schema.fields())
        {
            return Err(StorageError::InvalidChangeBatch {
                reason: format!(
                    "cannot consolidate batches of different schemas: {} and {}",
                    schema,
                    other.rows.schema_ref()
                ),
            });
        }
        let rows = concat_batches(&schema, batches.iter().map(|batch| &batch.rows))?;
        let sort_fields = schema
            .fields()
            .iter()
            .map(|field| SortField::new(field.data_type().clone()))
            .collect();
        let converter = RowConverter::new(sort_fields)?;
        let encoded = converter.convert_columns(rows.columns())?;
        let mut slot_by_row = HashMap::with_capacity(rows.num_rows());
        let mut first_rows: Vec<u64> = Vec::new();
        let mut weight_sums: Vec<i64> = Vec::new();
        let weights = batches
            .iter()
            .flat_map(|batch| (0..batch.num_rows()).map(|row| batch.weight(row)));
        for (row, weight) in weights.enumerate() {
            let slot = *slot_by_row.entry(encoded.row(row)).or_insert_with(|| {
                first_rows.push(row as u64);
                weight_sums.push(0);
                weight_sums.len() - 1
            });
            weight_sums[slot] = weight_sums[slot].checked_add(weight).ok_or_else(|| {
                StorageError::InvalidChangeBatch {
                    reason: "weight sum overflows 64 bits".to_string(),
                }
            })?;
        }
        let (kept_rows, kept_weights): (Vec<u64>, Vec<i64>) = first_rows
            .into_iter()
            .zip(weight_sums)
            .filter(|&(_, weight)| weight != 0)
            .unzip();
        if kept_rows.is_empty() {
            return Ok(None);
        }
        let rows = take_record_batch(&rows, &UInt64Array::from(kept_rows))?;
        let weights = match kept_weights.iter().all(|&weight| weight == 1) {
            true => None,
            false => Some(Int64Array::from(kept_weights)),
        };
        Ok(Some(ChangeBatch { rows, weights }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("user", DataType::Utf8, true),
            Field::new("clicks", DataType::Int64, true),
        ]))
    }

    /// A batch written as text: `user clicks weight` per row, `-` for a null column.
    fn changes(text: &str) -> ChangeBatch {
        let mut users = Vec::new();
        let mut clicks = Vec::new();
        let mut weights = Vec::new();
        for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            users.push((words[0] != "-").then(|| words[0].to_string()));
            clicks.push(words[1].parse::<i64>().ok());
            weights.push(words[2].parse::<i64>().expect("weight"));
        }
        let rows = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringArray::from(users)),
                Arc::new(Int64Array::from(clicks)),
            ],
        )
        .expect("columns match the schema");
        ChangeBatch::try_new(rows, Some(Int64Array::from(weights))).expect("valid weights")
    }

    fn as_text(batch: &ChangeBatch) -> Vec<String> {
        let users = batch
            .rows()
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("utf8");
        let clicks = batch
            .rows()
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("int64");
        (0..batch.num_rows())
            .map(|row| {
                let user = if users.is_valid(row) {
                    users.value(row)
                } else {
                    "-"
                };
                let click = clicks.is_valid(row).then(|| clicks.value(row).to_string());
                format!(
                    "{user} {} {}",
                    click.as_deref().unwrap_or("-"),
                    batch.weight(row)
                )
            })
            .collect()
    }

    #[test]
    fn try_new_rejects_bad_weights() {
        let rows = changes("a 1 1\nb 2 1").rows().clone();
        let short = ChangeBatch::try_new(rows.clone(), Some(Int64Array::from(vec![1])));
        assert!(matches!(
            short,
            Err(StorageError::InvalidChangeBatch { .. })
        ));
        let null = ChangeBatch::try_new(rows.clone(), Some(Int64Array::from(vec![Some(1), None])));
        assert!(matches!(null, Err(StorageError::InvalidChangeBatch { .. })));
        let zero = ChangeBatch::try_new(rows.clone(), Some(Int64Array::from(vec![1, 0])));
        assert!(matches!(zero, Err(StorageError::InvalidChangeBatch { .. })));
        let inserts = ChangeBatch::try_new(rows, None).expect("no weights: all +1");
        assert_eq!((inserts.weight(0), inserts.weight(1)), (1, 1));
    }

    #[test]
    fn consolidate_cancels_retractions_and_sums_duplicates() {
        // An update of a's count (retract 1, insert 2), a duplicate b, a retracted c, nulls.
        let first = changes("a 1 1\nb 5 1\nc 3 1\n- - 1");
        let second = changes("a 1 -1\na 2 1\nb 5 2\nc 3 -1\n- - 1\n- 7 -1");
        let consolidated = ChangeBatch::consolidate(&[first, second])
            .expect("consolidates")
            .expect("rows remain");
        assert_eq!(
            as_text(&consolidated),
            vec!["b 5 3", "- - 2", "a 2 1", "- 7 -1"]
        );
    }

    #[test]
    fn consolidate_of_nothing_left_is_none_and_all_ones_omit_weights() {
        let cancelled =
            ChangeBatch::consolidate(&[changes("a 1 1"), changes("a 1 -1")]).expect("ok");
        assert!(cancelled.is_none());
        assert!(ChangeBatch::consolidate(&[]).expect("ok").is_none());
        let inserts = ChangeBatch::consolidate(&[changes("a 1 1\nb 2 1")])
            .expect("ok")
            .expect("rows remain");
        assert!(inserts.weights().is_none());
        assert_eq!(as_text(&inserts), vec!["a 1 1", "b 2 1"]);
    }

    #[test]
    fn consolidate_refuses_mixed_schemas() {
        let other_schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let other = RecordBatch::try_new(other_schema, vec![Arc::new(Int64Array::from(vec![1]))])
            .expect("columns match the schema");
        let result = ChangeBatch::consolidate(&[changes("a 1 1"), ChangeBatch::inserts(other)]);
        assert!(matches!(
            result,
            Err(StorageError::InvalidChangeBatch { .. })
        ));
    }
}
