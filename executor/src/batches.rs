//! Batch-level helpers shared by every query path: evaluating a compiled expression,
//! pseudo-columns, casting to a stored schema, and routing rows to partitions.
//!
//! All of it works a batch at a time with Arrow kernels; nothing here loops over rows except
//! to build index arrays.
//!
//! Never: change row order within a partition, or drop a row silently.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::array::{
    Array, ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, UInt32Array,
};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::hash_utils::{RandomState, create_hashes};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr_common::physical_expr::fmt_sql;
use eddy_planner::cast_strict;

use crate::error::{DataError, EngineError, EngineResult, panic_message};

/// The hash that places keyed rows in partitions. Fixed seed, so a key's rows always go to
/// the same partition for a given Eddy version.
const PARTITION_HASH: RandomState = RandomState::with_seed(0x45_44_44_59);

/// A compiled expression over `batch`, as a column. Some of DataFusion's functions panic on
/// extreme arguments (LPAD to a negative length from a column: "capacity overflow") where
/// they should fail; such a panic becomes an error of the batch's data, which a pipeline
/// retries row by row and sets aside, so no value can stop the task that evaluates it. The
/// expression is only read, so nothing it left half done is seen again.
pub fn evaluate_column(expr: &dyn PhysicalExpr, batch: &RecordBatch) -> EngineResult<ArrayRef> {
    let evaluated = catch_unwind(AssertUnwindSafe(|| {
        expr.evaluate(batch)?.into_array(batch.num_rows())
    }));
    match evaluated {
        Ok(column) => Ok(column?),
        Err(panic) => Err(DataError::FunctionFailed(format!(
            "{} failed on this row: {}",
            fmt_sql(expr),
            panic_message(panic.as_ref())
        ))
        .into()),
    }
}

/// A condition's value on each row of `batch`, NULL as false (as WHERE and ON take it).
pub fn evaluate_condition(
    expr: &dyn PhysicalExpr,
    batch: &RecordBatch,
) -> EngineResult<BooleanArray> {
    let value = evaluate_column(expr, batch)?;
    let holds = value.as_boolean_opt().ok_or_else(|| {
        EngineError::Internal(format!(
            "a condition produced {} instead of booleans",
            value.data_type()
        ))
    })?;
    Ok(match holds.null_count() {
        0 => holds.clone(),
        _ => arrow::compute::prep_null_mask_filter(holds),
    })
}

/// Adds `rowpartition` and `rowoffset` to a stored batch, giving the queryable schema.
pub fn with_pseudo_columns(
    stored: &RecordBatch,
    queryable_schema: &SchemaRef,
    partition: u32,
    first_offset: u64,
) -> EngineResult<RecordBatch> {
    let rows = stored.num_rows();
    let partition_column = Int32Array::from_value(partition as i32, rows);
    let offset_column = Int64Array::from_iter_values(
        (first_offset..first_offset + rows as u64).map(|offset| offset as i64),
    );
    let mut columns: Vec<ArrayRef> = stored.columns().to_vec();
    columns.push(Arc::new(partition_column));
    columns.push(Arc::new(offset_column));
    Ok(RecordBatch::try_new(queryable_schema.clone(), columns)?)
}

/// Casts columns, by position, to the types of `schema` where they differ; a value that does
/// not fit its column is an error of its row, never a NULL.
pub fn cast_columns(columns: Vec<ArrayRef>, schema: &SchemaRef) -> EngineResult<Vec<ArrayRef>> {
    columns
        .into_iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column)
            } else {
                Ok(cast_strict(&column, field.data_type())?)
            }
        })
        .collect()
}

/// Maps a hash to a partition by its high bits (multiply-shift): the low bits of a fast hash
/// of small integers are not evenly spread.
fn partition_of_hash(hash: u64, partitions: u32) -> u32 {
    ((u128::from(hash) * u128::from(partitions)) >> 64) as u32
}

/// Splits a batch by the hash of its key columns into `partitions` partitions, keeping row
/// order within each. Returns (partition, rows) for the non-empty partitions.
pub fn partition_by_key(
    batch: &RecordBatch,
    key_indices: &[usize],
    partitions: u32,
) -> EngineResult<Vec<(u32, RecordBatch)>> {
    if partitions == 1 || batch.num_rows() == 0 {
        return Ok(vec![(0, batch.clone())]);
    }
    let keys: Vec<ArrayRef> = key_indices
        .iter()
        .map(|index| batch.column(*index).clone())
        .collect();
    let mut hashes = vec![0u64; batch.num_rows()];
    create_hashes(&keys, &PARTITION_HASH, &mut hashes)?;
    let mut indices: Vec<Vec<u32>> = vec![Vec::new(); partitions as usize];
    for (row, hash) in hashes.iter().enumerate() {
        indices[partition_of_hash(*hash, partitions) as usize].push(row as u32);
    }
    let mut routed = Vec::new();
    for (partition, rows) in indices.into_iter().enumerate() {
        if !rows.is_empty() {
            let rows = UInt32Array::from(rows);
            routed.push((partition as u32, take_record_batch(batch, &rows)?));
        }
    }
    Ok(routed)
}

/// A time column as epoch milliseconds: a BIGINT as it is, a TIMESTAMP of any unit
/// converted (a window's time column, a temporal filter's).
pub fn epoch_millis(times: ArrayRef) -> EngineResult<Int64Array> {
    let millis = match times.data_type() {
        DataType::Timestamp(_, zone) => arrow::compute::cast(
            &times,
            &DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, zone.clone()),
        )?,
        _ => times,
    };
    Ok(arrow::compute::cast(&millis, &DataType::Int64)?
        .as_primitive::<arrow::datatypes::Int64Type>()
        .clone())
}

#[cfg(test)]
mod tests {
    use datafusion::common::DFSchema;
    use datafusion::execution::context::ExecutionProps;
    use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
    use datafusion::logical_expr::{ColumnarValue, Volatility, col, create_udf};
    use datafusion::physical_expr::create_physical_expr;

    use super::*;
    use crate::error::{DataError, EngineError};

    /// A function that panics whenever it runs, as some of DataFusion's do on extreme
    /// arguments: evaluating it is an error of the row, not a panic of the caller.
    #[test]
    fn a_function_that_panics_fails_its_batch_with_why() {
        let boom = create_udf(
            "boom",
            vec![DataType::Int64],
            DataType::Int64,
            Volatility::Immutable,
            Arc::new(|_: &[ColumnarValue]| panic!("capacity overflow")),
        );
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        let logical_schema = DFSchema::try_from(schema.as_ref().clone()).expect("a schema");
        let expr = create_physical_expr(
            &boom.call(vec![col("n")]),
            &logical_schema,
            &ExecutionProps::new(),
            &PhysicalPlanningContext::default(),
        )
        .expect("compiles");
        let rows =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![-3]))]).expect("rows");
        match evaluate_column(expr.as_ref(), &rows) {
            Err(EngineError::Data(DataError::FunctionFailed(message))) => {
                assert_eq!(message, "boom(n) failed on this row: capacity overflow");
            }
            other => panic!("not a failed row: {other:?}"),
        }
    }
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn keyed_rows_keep_their_partition_and_their_order() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("v", DataType::Int64, true),
        ]));
        let keys = Int64Array::from(vec![1, 2, 1, 3, 1, 2]);
        let values = Int64Array::from(vec![10, 20, 11, 30, 12, 21]);
        let batch = RecordBatch::try_new(schema, vec![Arc::new(keys), Arc::new(values)]).unwrap();
        let routed = partition_by_key(&batch, &[0], 4).unwrap();
        let total: usize = routed.iter().map(|(_, rows)| rows.num_rows()).sum();
        assert_eq!(total, 6);
        for (_, rows) in &routed {
            let keys = rows.column(0).as_primitive::<arrow::datatypes::Int64Type>();
            let values = rows.column(1).as_primitive::<arrow::datatypes::Int64Type>();
            for key in [1, 2, 3] {
                let of_key: Vec<i64> = (0..rows.num_rows())
                    .filter(|row| keys.value(*row) == key)
                    .map(|row| values.value(row))
                    .collect();
                let mut sorted = of_key.clone();
                sorted.sort();
                assert_eq!(of_key, sorted, "rows of key {key} stay in order");
            }
        }
        let partition_of = |key: i64| {
            routed
                .iter()
                .find(|(_, rows)| {
                    let keys = rows.column(0).as_primitive::<arrow::datatypes::Int64Type>();
                    (0..rows.num_rows()).any(|row| keys.value(row) == key)
                })
                .map(|(partition, _)| *partition)
        };
        let again = partition_by_key(&batch, &[0], 4).unwrap();
        assert_eq!(routed.len(), again.len());
        assert!(partition_of(1).is_some());
    }

    #[test]
    fn consecutive_keys_spread_over_every_partition() {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, true)]));
        let keys = Int64Array::from_iter_values(0..1000);
        let batch = RecordBatch::try_new(schema, vec![Arc::new(keys)]).unwrap();
        for partitions in [2u32, 3, 8] {
            let routed = partition_by_key(&batch, &[0], partitions).unwrap();
            assert_eq!(
                routed.len(),
                partitions as usize,
                "{partitions} partitions all get rows"
            );
            let fair = 1000 / partitions as usize;
            for (partition, rows) in &routed {
                assert!(
                    rows.num_rows() > fair / 2 && rows.num_rows() < fair * 2,
                    "partition {partition} of {partitions} got {} rows",
                    rows.num_rows()
                );
            }
        }
    }
}
