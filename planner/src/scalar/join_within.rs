//! `ksql_join_within(before, after, grace)`: how a join of two streams' WITHIN travels
//! inside ON from the SQL (`join::attach_join_windows`) to lowering, which takes it out. It
//! is never meant to run: evaluated, as a pull query over a join of streams would, it fails.
//!
//! Never: answer a value.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The name of the function that carries a WITHIN to lowering inside ON.
pub const JOIN_WITHIN_FUNCTION: &str = "ksql_join_within";

/// The function, registered with ksqlDB's scalar functions.
pub(crate) fn join_within_function() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(JoinWithin {
        signature: Signature::any(3, Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct JoinWithin {
    signature: Signature,
}

impl ScalarUDFImpl for JoinWithin {
    fn name(&self) -> &str {
        JOIN_WITHIN_FUNCTION
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Err(DataFusionError::Plan(
            "WITHIN joins two streams as their rows arrive: in a push query (EMIT CHANGES) or a persistent query (CREATE STREAM .. AS SELECT), not a pull query".into(),
        ))
    }
}
