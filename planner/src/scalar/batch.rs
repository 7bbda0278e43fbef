//! A scalar function given as a name, a signature, a return type and a kernel over one
//! batch of argument arrays: the shape shared by the string functions of this module, so
//! each file holds only what its functions mean. Arguments reach the kernel as arrays (a
//! constant as an array of one repeated value); when every argument is a constant the one
//! answer is handed back as a constant, so DataFusion can fold it while planning.
//!
//! Never: panic on an argument's type; a kernel reads its arrays through `text` and
//! `integers`, which cast (once a batch) to the type it expects.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

/// A batch of arguments, as arrays of one length, to a batch of answers.
pub(crate) type Kernel = fn(&[ArrayRef]) -> Result<ArrayRef>;
/// The answer's type for the arguments' types.
pub(crate) type ReturnType = fn(&[DataType]) -> Result<DataType>;

/// Types for the arguments a call gives, when its signature is user defined.
pub(crate) type Coercion = fn(&[DataType]) -> Result<Vec<DataType>>;

#[derive(Debug)]
pub(crate) struct BatchFunction {
    name: &'static str,
    signature: Signature,
    return_type: ReturnType,
    coercion: Option<Coercion>,
    kernel: Kernel,
}

impl BatchFunction {
    pub(crate) fn udf(
        name: &'static str,
        signature: Signature,
        return_type: ReturnType,
        kernel: Kernel,
    ) -> Arc<ScalarUDF> {
        Self::with_coercion(name, signature, return_type, None, kernel)
    }

    pub(crate) fn with_coercion(
        name: &'static str,
        signature: Signature,
        return_type: ReturnType,
        coercion: Option<Coercion>,
        kernel: Kernel,
    ) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::from(BatchFunction {
            name,
            signature,
            return_type,
            coercion,
            kernel,
        }))
    }
}

// A function is its name and signature: two with both equal are the same function.
impl PartialEq for BatchFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.signature == other.signature
    }
}

impl Eq for BatchFunction {}

impl Hash for BatchFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.signature.hash(state);
    }
}

impl ScalarUDFImpl for BatchFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        (self.return_type)(arg_types)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match self.coercion {
            Some(coercion) => coercion(arg_types),
            None => Ok(arg_types.to_vec()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let constant = !args.args.is_empty()
            && args
                .args
                .iter()
                .all(|arg| matches!(arg, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let answers = (self.kernel)(&arrays)?;
        if constant && answers.len() == 1 {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &answers, 0,
            )?));
        }
        Ok(ColumnarValue::Array(answers))
    }
}

/// The argument as UTF-8 text (cast once a batch if it came in another string type).
pub(crate) fn text(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(cast(array, &DataType::Utf8)?)
}

/// The argument as BIGINTs.
pub(crate) fn integers(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(cast(array, &DataType::Int64)?)
}

/// The argument as BYTES.
pub(crate) fn bytes(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(cast(array, &DataType::Binary)?)
}

/// ksqlDB's ARRAY of `item`: an Arrow list whose nullable item field is named "item".
pub(crate) fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, true)))
}

/// The rows of a call, for a kernel whose arguments may all be absent (none given).
pub(crate) fn rows(arrays: &[ArrayRef]) -> usize {
    arrays.first().map_or(0, |array| array.len())
}

/// `function`'s answer to these arguments: for a form ksqlDB lacks, which keeps DataFusion's
/// meaning.
pub(crate) fn delegate(
    function: &ScalarUDF,
    args: &[ArrayRef],
    return_type: DataType,
) -> Result<ArrayRef> {
    let rows = rows(args);
    let arg_fields = args
        .iter()
        .map(|array| Arc::new(Field::new("argument", array.data_type().clone(), true)))
        .collect();
    let answer = function.invoke_with_args(ScalarFunctionArgs {
        args: args.iter().cloned().map(ColumnarValue::Array).collect(),
        arg_fields,
        number_rows: rows,
        return_field: Arc::new(Field::new(function.name(), return_type, true)),
        config_options: Arc::default(),
    })?;
    answer.into_array(rows)
}
