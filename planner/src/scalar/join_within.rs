//! `ksql_join_within(before, after, grace)`: how a join of two streams' WITHIN travels
//! inside ON from the SQL (`join::attach_join_windows`) to lowering, which takes it out; and
//! `ksql_join_asof(grace)`, how an ASOF join's mark does (`asof_join::attach_asof_joins`).
//! They are never meant to run: evaluated, as a pull query over such a join would, they fail.
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

/// The name of the function that marks an ASOF join inside ON (its argument: the GRACE
/// PERIOD in milliseconds, or NULL).
pub const JOIN_ASOF_FUNCTION: &str = "ksql_join_asof";

/// The WITHIN function, registered with ksqlDB's scalar functions.
pub(crate) fn join_within_function() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(JoinMarker {
        name: JOIN_WITHIN_FUNCTION,
        clause: "WITHIN joins two streams",
        signature: Signature::any(3, Volatility::Immutable),
    }))
}

/// The ASOF mark, registered with ksqlDB's scalar functions.
pub(crate) fn join_asof_function() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(JoinMarker {
        name: JOIN_ASOF_FUNCTION,
        clause: "ASOF JOIN matches",
        signature: Signature::any(1, Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct JoinMarker {
    name: &'static str,
    /// What the join does, for the message of a pull query that evaluates it.
    clause: &'static str,
    signature: Signature,
}

impl ScalarUDFImpl for JoinMarker {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Err(DataFusionError::Plan(format!(
            "{} as rows arrive: in a push query (EMIT CHANGES) or a persistent query (CREATE STREAM .. AS SELECT), not a pull query",
            self.clause
        )))
    }
}
