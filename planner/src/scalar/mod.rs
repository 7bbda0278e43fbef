//! Scalar functions whose meaning ksqlDB defines differently from DataFusion's function of
//! the same name, one file per family. Each is registered after DataFusion's own, so it
//! replaces it in every kind of query.
//!
//! Never: register a function here that ksqlDB does not define; one ksqlDB lacks keeps
//! DataFusion's (Postgres') meaning.

use std::sync::Arc;

use datafusion::logical_expr::{HigherOrderUDF, ScalarUDF};

mod array_join;
mod arrays;
mod as_value;
mod batch;
mod bytes;
mod cube;
mod datetime;
pub(crate) mod datetime_arith;
mod datetime_days;
mod datetime_text;
mod encodings;
mod higher_order;
mod java_regex;
mod java_uri;
mod join_within;
pub(crate) use join_within::{JOIN_ASOF_FUNCTION, JOIN_WITHIN_FUNCTION};
mod json;
mod json_path;
mod json_text;
mod lists;
mod maps;
mod masks;
mod numeric;
mod positions;
mod reduce;
mod regexp;
mod rounding;
mod series;
mod split;
mod strings;
#[cfg(test)]
mod test_support;
mod text;
mod to_json;
mod url;

/// ksqlDB's functions that take lambdas, to register over DataFusion's.
pub(crate) fn ksql_higher_order_functions() -> Vec<Arc<HigherOrderUDF>> {
    vec![
        higher_order::transform(),
        higher_order::filter_function(),
        reduce::reduce(),
    ]
}

/// Every function of this module, to register over DataFusion's.
pub(crate) fn ksql_scalar_functions() -> Vec<Arc<ScalarUDF>> {
    let mut functions = strings::string_functions();
    functions.push(datetime::from_unixtime());
    functions.push(cube::cube_explode());
    functions.push(as_value::as_value());
    functions.push(join_within::join_within_function());
    functions.push(join_within::join_asof_function());
    functions.extend(datetime_text::datetime_text_functions());
    functions.extend(datetime_arith::datetime_arith_functions());
    functions.extend(datetime_days::datetime_days_functions());
    functions.extend(text::text_functions());
    functions.extend(positions::position_functions());
    functions.extend(masks::mask_functions());
    functions.extend(regexp::regex_functions());
    functions.extend(split::split_functions());
    functions.extend(arrays::array_functions());
    functions.push(array_join::array_join());
    functions.push(series::generate_series());
    functions.extend(maps::map_functions());
    functions.extend(numeric::numeric_functions());
    functions.extend(rounding::rounding_functions());
    functions.extend(json::json_functions());
    functions.push(to_json::to_json_string());
    functions.extend(url::url_functions());
    functions.extend(bytes::bytes_functions());
    functions
}
