//! What Eddy says about itself to Postgres clients: the server version every client reads on
//! connect (`server_version`) and `version()`, which SQLAlchemy, JDBC and BI tools call first
//! and parse for "PostgreSQL <major>.<minor>". One place, so the two never disagree.
//!
//! Never: answer with a Postgres version whose protocol or catalog Eddy does not follow (15).

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// `server_version`: the Postgres release Eddy speaks as, and Eddy's own.
pub const SERVER_VERSION: &str = concat!("15.0 (Eddy ", env!("CARGO_PKG_VERSION"), ")");

/// `server_version_num`, as Postgres spells 15.0.
pub const SERVER_VERSION_NUM: &str = "150000";

/// `version()`, in the shape of Postgres' answer.
fn version_text() -> String {
    format!(
        "PostgreSQL {SERVER_VERSION} on {}-{}, 64-bit",
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

/// Postgres' `version()`, replacing DataFusion's (which names DataFusion).
pub fn version() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(Version {
        signature: Signature::nullary(Volatility::Stable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Version {
    signature: Signature,
}

impl ScalarUDFImpl for Version {
    fn name(&self) -> &str {
        "version"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
            version_text(),
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_reads_as_postgres_15_and_names_eddy() {
        let text = version_text();
        assert!(text.starts_with("PostgreSQL 15.0 (Eddy "), "{text}");
        assert!(text.ends_with(", 64-bit"), "{text}");
    }
}
