//! One conversion of values to a type, with ksqlDB's rules, for every place Eddy converts:
//! CAST in queries (an analyzer rule routes a DOUBLE-to-DECIMAL CAST here), INSERT values,
//! COPY and the rows a persistent query writes into its sink.
//!
//! A DOUBLE becomes a DECIMAL as ksqlDB's `BigDecimal.valueOf(d).setScale(s, HALF_UP)` does:
//! from the double's shortest decimal representation, rounded half away from zero, so
//! `CAST(1.005 AS DECIMAL(3, 2))` is 1.01 (Arrow's cast scales the binary value and gives
//! 1.00). Every other conversion is Arrow's.
//!
//! Never: turn a value that does not fit its type into NULL; it is an error.

use std::fmt::Write;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Builder};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, FieldRef, Float32Type, Float64Type};
use arrow::error::ArrowError;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    Cast, ColumnarValue, Expr, ExprSchemable, LogicalPlan, ReturnFieldArgs, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;

/// Casts that fail on a value that does not fit, instead of making it NULL.
const STRICT: CastOptions<'static> = CastOptions {
    safe: false,
    format_options: arrow::util::display::FormatOptions::new(),
};

/// `array` as `to`, failing on a value that does not fit.
pub fn cast_strict(array: &ArrayRef, to: &DataType) -> Result<ArrayRef, ArrowError> {
    match (array.data_type(), to) {
        (DataType::Float64, DataType::Decimal128(precision, scale)) if *scale >= 0 => {
            let values = array.as_primitive::<Float64Type>();
            floats_to_decimals(values.iter(), *precision, *scale)
        }
        (DataType::Float32, DataType::Decimal128(precision, scale)) if *scale >= 0 => {
            let values = array.as_primitive::<Float32Type>();
            floats_to_decimals(values.iter(), *precision, *scale)
        }
        _ => cast_with_options(array, to, &STRICT),
    }
}

/// Each float's shortest decimal digits, rounded half away from zero to `scale` places.
fn floats_to_decimals<F: std::fmt::Display + Copy>(
    values: impl ExactSizeIterator<Item = Option<F>>,
    precision: u8,
    scale: i8,
) -> Result<ArrayRef, ArrowError> {
    let mut decimals = Decimal128Builder::with_capacity(values.len());
    let mut digits = String::new();
    for value in values {
        let Some(value) = value else {
            decimals.append_null();
            continue;
        };
        digits.clear();
        // Rust prints a float's shortest round-trip digits, never with an exponent.
        write!(digits, "{value}")
            .map_err(|_| ArrowError::ComputeError("a float did not print".into()))?;
        decimals.append_value(decimal_of(&digits, precision, scale as u32)?);
    }
    Ok(Arc::new(
        decimals
            .finish()
            .with_precision_and_scale(precision, scale)?,
    ))
}

/// The unscaled DECIMAL(precision, scale) value of printed decimal digits (`-12.345`).
fn decimal_of(printed: &str, precision: u8, scale: u32) -> Result<i128, ArrowError> {
    let (negative, unsigned) = match printed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, printed),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(ArrowError::CastError(format!(
            "Cannot cast {printed} to DECIMAL({precision}, {scale})"
        )));
    }
    let overflow = || {
        ArrowError::ArithmeticOverflow(format!(
            "{printed} does not fit DECIMAL({precision}, {scale})"
        ))
    };
    let kept_fraction = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(scale as usize);
    let mut unscaled: i128 = 0;
    for digit in whole.bytes().chain(kept_fraction) {
        unscaled = unscaled
            .checked_mul(10)
            .and_then(|value| value.checked_add(i128::from(digit - b'0')))
            .ok_or_else(overflow)?;
    }
    if fraction
        .as_bytes()
        .get(scale as usize)
        .is_some_and(|&next| next >= b'5')
    {
        unscaled = unscaled.checked_add(1).ok_or_else(overflow)?;
    }
    let limit = 10_i128
        .checked_pow(u32::from(precision))
        .ok_or_else(overflow)?;
    if unscaled >= limit {
        return Err(overflow());
    }
    Ok(if negative { -unscaled } else { unscaled })
}

/// The analyzer rule that makes a query's `CAST(double AS DECIMAL(p, s))` the conversion
/// above, keeping the expression's name.
#[derive(Debug, Default)]
pub(crate) struct KsqlDecimalCasts;

impl AnalyzerRule for KsqlDecimalCasts {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        let cast_function = Arc::new(ScalarUDF::new_from_impl(DoubleToDecimal::new()));
        plan.transform_up_with_subqueries(|node| {
            let schema = node.schema().clone();
            let inputs_schema = match node.inputs().as_slice() {
                [input] => input.schema().clone(),
                _ => schema,
            };
            node.map_expressions(|expr| {
                let name_before = expr.schema_name().to_string();
                let rewritten = expr.transform_up(|expr| {
                    let Expr::Cast(Cast { expr: inner, field }) = &expr else {
                        return Ok(Transformed::no(expr));
                    };
                    let DataType::Decimal128(precision, scale) = field.data_type() else {
                        return Ok(Transformed::no(expr));
                    };
                    let Ok(from) = inner.get_type(&inputs_schema) else {
                        return Ok(Transformed::no(expr));
                    };
                    if !matches!(from, DataType::Float64 | DataType::Float32) || *scale < 0 {
                        return Ok(Transformed::no(expr));
                    }
                    let call = Expr::ScalarFunction(ScalarFunction::new_udf(
                        Arc::clone(&cast_function),
                        vec![
                            inner.as_ref().clone(),
                            Expr::Literal(ScalarValue::UInt8(Some(*precision)), None),
                            Expr::Literal(ScalarValue::Int8(Some(*scale)), None),
                        ],
                    ));
                    Ok(Transformed::yes(call))
                })?;
                Ok(match rewritten.transformed {
                    true => rewritten.map_data(|expr| expr.alias_if_changed(name_before))?,
                    false => rewritten,
                })
            })
        })
        .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "ksql_decimal_casts"
    }
}

/// `ksql_double_to_decimal(x, precision, scale)`: the planner's spelling of a CAST of a
/// DOUBLE to DECIMAL, never written by users.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DoubleToDecimal {
    signature: Signature,
}

impl DoubleToDecimal {
    fn new() -> Self {
        DoubleToDecimal {
            signature: Signature::any(3, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DoubleToDecimal {
    fn name(&self) -> &str {
        "ksql_double_to_decimal"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("ksql_double_to_decimal's type comes from its arguments")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let (
            Some(Some(ScalarValue::UInt8(Some(precision)))),
            Some(Some(ScalarValue::Int8(Some(scale)))),
        ) = (args.scalar_arguments.get(1), args.scalar_arguments.get(2))
        else {
            return plan_err!("ksql_double_to_decimal takes a precision and a scale");
        };
        Ok(Arc::new(arrow::datatypes::Field::new(
            self.name(),
            DataType::Decimal128(*precision, *scale),
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let DataType::Decimal128(_, _) = args.return_type() else {
            return exec_err!("ksql_double_to_decimal must return a DECIMAL");
        };
        let values = args.args[0].to_array(args.number_rows)?;
        Ok(ColumnarValue::Array(cast_strict(
            &values,
            args.return_type(),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Decimal128Array, Float64Array};

    use super::*;

    fn decimals(
        values: &[Option<f64>],
        precision: u8,
        scale: i8,
    ) -> Result<Vec<Option<String>>, ArrowError> {
        let array: ArrayRef = Arc::new(Float64Array::from(values.to_vec()));
        let cast = cast_strict(&array, &DataType::Decimal128(precision, scale))?;
        let cast: &Decimal128Array = cast.as_primitive();
        Ok((0..cast.len())
            .map(|row| cast.is_valid(row).then(|| cast.value_as_string(row)))
            .collect())
    }

    #[test]
    fn a_double_rounds_half_up_from_its_shortest_digits() {
        let cast = decimals(
            &[
                Some(1.005),
                Some(-1.005),
                Some(2.675),
                Some(0.125),
                Some(-0.0),
                Some(1e-7),
                None,
                Some(9.994),
            ],
            3,
            2,
        )
        .expect("every value fits");
        let expected = ["1.01", "-1.01", "2.68", "0.13", "0.00", "0.00"];
        for (got, want) in cast.iter().zip(expected) {
            assert_eq!(got.as_deref(), Some(want));
        }
        assert_eq!(cast[6], None);
        assert_eq!(cast[7].as_deref(), Some("9.99"));
        assert_eq!(
            decimals(&[Some(12.5)], 4, 0).expect("fits")[0].as_deref(),
            Some("13")
        );
    }

    #[test]
    fn a_double_that_does_not_fit_is_an_error() {
        for (value, precision, scale) in [
            (9.995, 3, 2),
            (100.0, 3, 1),
            (1e300, 38, 0),
            (f64::NAN, 10, 2),
            (f64::INFINITY, 10, 2),
        ] {
            assert!(
                decimals(&[Some(value)], precision, scale).is_err(),
                "{value}"
            );
        }
    }
}
