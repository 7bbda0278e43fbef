//! CUBE_EXPLODE's combinations (ksqlDB's Cube UDTF): for an ARRAY of n values, every way of
//! keeping some of them and setting the others to NULL, 2^n ARRAYs, skipping the repeats a
//! NULL value would make; the empty combination (all NULL) first, then counting up with the
//! last value as the lowest bit. The planner explodes the result
//! (`CUBE_EXPLODE(x)` is planned as `UNNEST(cube_explode(x))`), so the function answers with
//! the ARRAY of combinations and a query gets one row for each.
//!
//! Never: build more than 2^20 combinations for one row (ksqlDB's limit): a longer ARRAY is
//! an error of that row.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, UInt32Array};
use arrow::buffer::OffsetBuffer;
use arrow::compute::take;
use arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The most values CUBE_EXPLODE takes (ksqlDB's MAX_COLUMNS).
const VALUES_MAX: usize = 20;

pub(crate) fn cube_explode() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(CubeExplode {
        signature: Signature::any(1, Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CubeExplode {
    signature: Signature,
}

fn list_of(item: &DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item.clone(), true)))
}

impl ScalarUDFImpl for CubeExplode {
    fn name(&self) -> &str {
        "cube_explode"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [DataType::List(item)] => Ok(list_of(&list_of(item.data_type()))),
            [other] => plan_err!("CUBE_EXPLODE takes an ARRAY, not {other}"),
            _ => plan_err!("CUBE_EXPLODE takes one ARRAY"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(lists) = arrays.first().and_then(|array| array.as_list_opt::<i32>()) else {
            return exec_err!("CUBE_EXPLODE takes an ARRAY");
        };
        Ok(ColumnarValue::Array(combinations(lists)?))
    }
}

/// Each row's combinations as an ARRAY of ARRAYs; NULL for a NULL row.
fn combinations(lists: &ListArray) -> Result<ArrayRef> {
    let values = lists.values();
    let mut picks: Vec<Option<u32>> = Vec::new();
    let mut inner_lengths = Vec::new();
    let mut outer_lengths = Vec::with_capacity(lists.len());
    for row in 0..lists.len() {
        if lists.is_null(row) {
            outer_lengths.push(0);
            continue;
        }
        let start = lists.value_offsets()[row] as usize;
        let count = lists.value_length(row) as usize;
        if count > VALUES_MAX {
            return exec_err!(
                "CUBE_EXPLODE takes at most {VALUES_MAX} values (2^{VALUES_MAX} rows), not {count}"
            );
        }
        // Bit (count - 1 - position) set: the value at position is kept.
        let mut non_null = 0u32;
        for position in 0..count {
            if values.is_valid(start + position) {
                non_null |= 1 << (count - 1 - position);
            }
        }
        let mut made = 0;
        for mask in 0..(1u32 << count) {
            if mask & non_null != mask {
                continue;
            }
            made += 1;
            inner_lengths.push(count);
            picks.extend((0..count).map(|position| {
                (mask & (1 << (count - 1 - position)) != 0).then_some((start + position) as u32)
            }));
        }
        outer_lengths.push(made);
    }
    let items = take(values, &UInt32Array::from(picks), None)?;
    let item_field = Arc::new(Field::new_list_field(values.data_type().clone(), true));
    let inner = ListArray::try_new(
        item_field.clone(),
        OffsetBuffer::from_lengths(inner_lengths),
        items,
        None,
    )?;
    let outer = ListArray::try_new(
        Arc::new(Field::new_list_field(DataType::List(item_field), true)),
        OffsetBuffer::from_lengths(outer_lengths),
        Arc::new(inner),
        lists.nulls().cloned(),
    )?;
    Ok(Arc::new(outer))
}

#[cfg(test)]
mod tests {
    use arrow::array::Int64Array;
    use arrow::datatypes::Int64Type;

    use super::*;

    fn rows(combinations: &ArrayRef, row: usize) -> Vec<Vec<Option<i64>>> {
        let outer = combinations.as_list::<i32>();
        let inner = outer.value(row);
        let inner = inner.as_list::<i32>();
        (0..inner.len())
            .map(|combination| {
                inner
                    .value(combination)
                    .as_primitive::<Int64Type>()
                    .iter()
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_combination_once_in_ksqldb_order() {
        let lists = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![Some(1), None]),
            None,
            Some(vec![]),
        ]);
        let combinations = combinations(&lists).expect("combines");
        assert_eq!(
            rows(&combinations, 0),
            [
                vec![None, None],
                vec![None, Some(2)],
                vec![Some(1), None],
                vec![Some(1), Some(2)]
            ]
        );
        // A NULL value has one way to appear, not two.
        assert_eq!(
            rows(&combinations, 1),
            [vec![None, None], vec![Some(1), None]]
        );
        assert!(combinations.is_null(2));
        assert_eq!(rows(&combinations, 3), [Vec::<Option<i64>>::new()]);
    }

    #[test]
    fn too_many_values_is_an_error_not_a_million_rows() {
        let values = Int64Array::from_iter_values(0..21);
        let lists = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Int64, true)),
            OffsetBuffer::from_lengths([21]),
            Arc::new(values),
            None,
        );
        let error = combinations(&lists).expect_err("21 values");
        assert!(error.to_string().contains("at most 20"), "{error}");
    }
}
