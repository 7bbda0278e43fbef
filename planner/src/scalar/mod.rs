//! Scalar functions whose meaning ksqlDB defines differently from DataFusion's function of
//! the same name, one file per family. Each is registered after DataFusion's own, so it
//! replaces it in every kind of query.
//!
//! Never: register a function here that ksqlDB does not define; one ksqlDB lacks keeps
//! DataFusion's (Postgres') meaning.

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

mod array_join;
mod arrays;
mod datetime;
mod lists;
mod maps;
mod numeric;
mod rounding;
mod series;
mod strings;

/// Every function of this module, to register over DataFusion's.
pub(crate) fn ksql_scalar_functions() -> Vec<Arc<ScalarUDF>> {
    let mut functions = strings::string_functions();
    functions.push(datetime::from_unixtime());
    functions.extend(arrays::array_functions());
    functions.push(array_join::array_join());
    functions.push(series::generate_series());
    functions.extend(maps::map_functions());
    functions.extend(numeric::numeric_functions());
    functions.extend(rounding::rounding_functions());
    functions
}
