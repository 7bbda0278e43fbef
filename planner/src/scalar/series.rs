//! GENERATE_SERIES with ksqlDB's meaning (its GenerateSeries UDF): a scalar that answers an
//! ARRAY, in place of DataFusion's scalar `generate_series` (always BIGINT).
//!
//! `GENERATE_SERIES(start, end [, step])` is the ARRAY of `start`, `start + step`, .. up to
//! `end` inclusive: ARRAY<INT> when `start` and `end` are INTs, else ARRAY<BIGINT>. The
//! default step is 1, or -1 when `end` is below `start`. A step of 0, a step whose sign leads
//! away from `end`, or a NULL argument (ksqlDB's parameters are Java primitives) is an error
//! of the row, as in ksqlDB.
//!
//! Never: allocate from the arguments unchecked. A series longer than
//! `SERIES_ELEMENTS_MAX` elements is an error of its row (ksqlDB would try to allocate up to
//! 2^31 elements), and a batch whose series add up to more than `BATCH_ELEMENTS_MAX` fails
//! whole, so that the executor retries it row by row.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Array, Int64Array, ListArray};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::lists::{argument_array, list_of};

/// The longest series one row may answer.
pub(crate) const SERIES_ELEMENTS_MAX: i64 = 1_000_000;
/// The most elements one batch's series may hold together.
const BATCH_ELEMENTS_MAX: usize = 16_000_000;

pub(crate) fn generate_series() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(GenerateSeries {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct GenerateSeries {
    signature: Signature,
}

fn fits_int(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Null
    )
}

impl ScalarUDFImpl for GenerateSeries {
    fn name(&self) -> &str {
        "generate_series"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (2 | 3) = arg_types.len() else {
            return plan_err!("generate_series takes a start, an end and maybe a step");
        };
        for data_type in arg_types {
            if !data_type.is_integer() && *data_type != DataType::Null {
                return plan_err!("generate_series takes INT or BIGINT arguments, not {data_type}");
            }
        }
        let bounds = match fits_int(&arg_types[0]) && fits_int(&arg_types[1]) {
            true => DataType::Int32,
            false => DataType::Int64,
        };
        let mut types = vec![bounds.clone(), bounds];
        types.extend(arg_types.get(2).map(|_| DataType::Int64));
        Ok(types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of(match arg_types.first() {
            Some(DataType::Int32) => DataType::Int32,
            _ => DataType::Int64,
        }))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let as_int64 = |index: usize| -> Result<ArrayRef> {
            Ok(cast(
                &argument_array(&args.args[index], rows)?,
                &DataType::Int64,
            )?)
        };
        let (starts, ends) = (as_int64(0)?, as_int64(1)?);
        let steps = match args.args.len() {
            3 => Some(as_int64(2)?),
            _ => None,
        };
        let (starts, ends) = (
            starts.as_primitive::<Int64Type>(),
            ends.as_primitive::<Int64Type>(),
        );
        let steps = steps
            .as_ref()
            .map(|steps| steps.as_primitive::<Int64Type>());
        let mut values: Vec<i64> = Vec::new();
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0i32);
        for row in 0..rows {
            if starts.is_null(row) || ends.is_null(row) || steps.is_some_and(|s| s.is_null(row)) {
                return exec_err!("generate_series takes no NULL argument");
            }
            let (start, end) = (starts.value(row), ends.value(row));
            let difference = i128::from(end) - i128::from(start);
            let step = match steps {
                Some(steps) => steps.value(row),
                None if difference > 0 => 1,
                None => -1,
            };
            let length = series_length(difference, step)?;
            if values.len() + length > BATCH_ELEMENTS_MAX {
                return exec_err!(
                    "generate_series answers more than {BATCH_ELEMENTS_MAX} elements in one batch"
                );
            }
            values.extend((0..length as i64).map(|index| start + index * step));
            offsets.push(values.len() as i32);
        }
        let element_type = match args.return_field.data_type() {
            DataType::List(item) => item.data_type().clone(),
            _ => DataType::Int64,
        };
        let values: ArrayRef = match element_type {
            DataType::Int32 => Arc::new(
                values
                    .into_iter()
                    .map(|value| value as i32)
                    .collect::<Int32Array>(),
            ),
            _ => Arc::new(Int64Array::from(values)),
        };
        let item = Arc::new(Field::new_list_field(values.data_type().clone(), true));
        let list = ListArray::try_new(
            item,
            OffsetBuffer::new(offsets.into()),
            values,
            None::<NullBuffer>,
        )?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
}

/// How many elements the series from a start to an end `difference` away by `step` has, or
/// ksqlDB's error for the step, or the error past `SERIES_ELEMENTS_MAX`.
fn series_length(difference: i128, step: i64) -> Result<usize> {
    if step == 0 {
        return exec_err!("GENERATE_SERIES step cannot be zero");
    }
    if difference > 0 && step < 0 || difference < 0 && step > 0 {
        return exec_err!("GENERATE_SERIES step has wrong sign");
    }
    let length = 1 + difference / i128::from(step);
    if length > i128::from(SERIES_ELEMENTS_MAX) {
        return exec_err!(
            "GENERATE_SERIES would answer {length} elements, more than {SERIES_ELEMENTS_MAX}"
        );
    }
    Ok(length as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_errors_follow_ksqldb() {
        assert_eq!(series_length(9, 1).expect("fits"), 10);
        assert_eq!(series_length(0, -1).expect("fits"), 1);
        assert_eq!(series_length(-9, -3).expect("fits"), 4);
        assert_eq!(series_length(10, 3).expect("fits"), 4);
        let zero = series_length(5, 0).expect_err("zero step");
        assert!(zero.to_string().contains("cannot be zero"), "{zero}");
        let sign = series_length(5, -1).expect_err("wrong sign");
        assert!(sign.to_string().contains("wrong sign"), "{sign}");
        let huge = series_length(i128::from(i64::MAX) * 2, 1).expect_err("too long");
        assert!(huge.to_string().contains("more than 1000000"), "{huge}");
    }
}
