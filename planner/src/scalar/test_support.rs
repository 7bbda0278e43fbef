//! Calling a function of this module in a unit test as a query calls it: one place for the
//! arguments' fields, the row count and the session options a call carries.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::Result;
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF};

/// The function of `functions` named `name`.
pub(super) fn named(functions: Vec<Arc<ScalarUDF>>, name: &str) -> Arc<ScalarUDF> {
    functions
        .into_iter()
        .find(|function| function.name() == name)
        .expect("a function of the file")
}

/// `function` over `args` for `rows` rows, answering values of `returns`.
pub(super) fn invoke(
    function: &ScalarUDF,
    args: Vec<ColumnarValue>,
    returns: DataType,
    rows: usize,
) -> Result<ColumnarValue> {
    let arg_fields = args
        .iter()
        .map(|arg| Arc::new(Field::new("a", arg.data_type(), true)))
        .collect();
    function.invoke_with_args(ScalarFunctionArgs {
        arg_fields,
        args,
        number_rows: rows,
        return_field: Arc::new(Field::new("r", returns, true)),
        config_options: Arc::new(ConfigOptions::default()),
    })
}

/// `function` over whole columns (as many rows as the first has).
pub(super) fn invoke_on_columns(
    function: &ScalarUDF,
    columns: Vec<ArrayRef>,
    returns: DataType,
) -> Result<ArrayRef> {
    let rows = columns.first().map_or(1, |column| column.len());
    let args = columns.into_iter().map(ColumnarValue::Array).collect();
    invoke(function, args, returns, rows)?.to_array(rows)
}

/// A column of whole numbers (any integer type), as BIGINTs.
pub(super) fn ints(array: &ArrayRef) -> Vec<Option<i64>> {
    let array = cast(array, &DataType::Int64).expect("numbers");
    array.as_primitive::<Int64Type>().iter().collect()
}
