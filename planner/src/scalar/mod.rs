//! Scalar functions whose meaning ksqlDB defines differently from DataFusion's function of
//! the same name, one file per family. Each is registered after DataFusion's own, so it
//! replaces it in every kind of query.
//!
//! Never: register a function here that ksqlDB does not define; one ksqlDB lacks keeps
//! DataFusion's (Postgres') meaning.

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

mod batch;
mod cube;
mod datetime;
pub(crate) mod datetime_arith;
mod datetime_days;
mod datetime_text;
mod java_regex;
mod masks;
mod positions;
mod regexp;
mod split;
mod strings;
mod text;

/// Every function of this module, to register over DataFusion's.
pub(crate) fn ksql_scalar_functions() -> Vec<Arc<ScalarUDF>> {
    let mut functions = strings::string_functions();
    functions.push(datetime::from_unixtime());
    functions.push(cube::cube_explode());
    functions.extend(datetime_text::datetime_text_functions());
    functions.extend(datetime_arith::datetime_arith_functions());
    functions.extend(datetime_days::datetime_days_functions());
    functions.extend(text::text_functions());
    functions.extend(positions::position_functions());
    functions.extend(masks::mask_functions());
    functions.extend(regexp::regex_functions());
    functions.extend(split::split_functions());
    functions
}
