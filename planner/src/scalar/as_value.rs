//! AS_VALUE(column) with ksqlDB's meaning: the column's value, to select a key column a second
//! time as an ordinary value column (`SELECT id, AS_VALUE(id) AS id_value ..`). Eddy's rows
//! hold key columns as values already, so the value passes through unchanged; the new name
//! keeps it from being read as the key.
//!
//! Never: change the value or its type.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

pub(crate) fn as_value() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(AsValue {
        signature: Signature::any(1, Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct AsValue {
    signature: Signature,
}

impl ScalarUDFImpl for AsValue {
    fn name(&self) -> &str {
        "as_value"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [value] => Ok(value.clone()),
            _ => datafusion::common::plan_err!("AS_VALUE takes one column"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match <[ColumnarValue; 1]>::try_from(args.args) {
            Ok([value]) => Ok(value),
            Err(_) => exec_err!("AS_VALUE takes one column"),
        }
    }
}
