//! FROM_UNIXTIME with ksqlDB's meaning: `FROM_UNIXTIME(milliseconds)` is the TIMESTAMP that
//! many milliseconds after the epoch (ksqlDB's FromUnixTime UDF). DataFusion's function of
//! that name takes seconds, so a ksqlDB script's `FROM_UNIXTIME(1589234313000)` landed in the
//! year 52330.
//!
//! Never: read the argument in any unit but milliseconds.

use std::sync::Arc;

use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

const MILLISECOND_TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Millisecond, None);

pub(crate) fn from_unixtime() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(FromUnixtime {
        signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FromUnixtime {
    signature: Signature,
}

impl ScalarUDFImpl for FromUnixtime {
    fn name(&self) -> &str {
        "from_unixtime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(MILLISECOND_TIMESTAMP)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // A cast from BIGINT to a millisecond timestamp reads the number as milliseconds.
        Ok(match &args.args[0] {
            ColumnarValue::Array(milliseconds) => {
                ColumnarValue::Array(cast(milliseconds, &MILLISECOND_TIMESTAMP)?)
            }
            ColumnarValue::Scalar(milliseconds) => {
                ColumnarValue::Scalar(milliseconds.cast_to(&MILLISECOND_TIMESTAMP)?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray, Int64Array};
    use arrow::datatypes::{Field, TimestampMillisecondType};
    use datafusion::config::ConfigOptions;

    use super::*;

    #[test]
    fn the_argument_is_milliseconds_since_the_epoch() {
        let function = from_unixtime();
        let milliseconds = Int64Array::from(vec![Some(1_589_234_313_000), None, Some(-1)]);
        let answer = function
            .invoke_with_args(ScalarFunctionArgs {
                args: vec![ColumnarValue::Array(Arc::new(milliseconds))],
                arg_fields: vec![Arc::new(Field::new("ms", DataType::Int64, true))],
                number_rows: 3,
                return_field: Arc::new(Field::new("t", MILLISECOND_TIMESTAMP, true)),
                config_options: Arc::new(ConfigOptions::default()),
            })
            .expect("converts");
        let ColumnarValue::Array(timestamps) = answer else {
            panic!("an array")
        };
        let timestamps = timestamps.as_primitive::<TimestampMillisecondType>();
        // 2020-05-11T21:58:33Z, as ksqlDB's documentation example gives.
        assert_eq!(
            timestamps.value_as_datetime(0).map(|time| time.to_string()),
            Some("2020-05-11 21:58:33".to_string())
        );
        assert!(timestamps.is_null(1));
        assert_eq!(timestamps.value(2), -1);
    }
}
