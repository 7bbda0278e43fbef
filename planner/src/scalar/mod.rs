//! Scalar functions whose meaning ksqlDB defines differently from DataFusion's function of
//! the same name, one file per family. Each is registered after DataFusion's own, so it
//! replaces it in every kind of query.
//!
//! Never: register a function here that ksqlDB does not define; one ksqlDB lacks keeps
//! DataFusion's (Postgres') meaning.

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

mod bytes;
mod datetime;
mod encodings;
mod java_uri;
mod json;
mod json_path;
mod json_text;
mod strings;
mod to_json;
mod url;

/// Every function of this module, to register over DataFusion's.
pub(crate) fn ksql_scalar_functions() -> Vec<Arc<ScalarUDF>> {
    let mut functions = strings::string_functions();
    functions.push(datetime::from_unixtime());
    functions.extend(json::json_functions());
    functions.push(to_json::to_json_string());
    functions.extend(url::url_functions());
    functions.extend(bytes::bytes_functions());
    functions
}
