//! ARRAY_JOIN with ksqlDB's meaning (its ArrayJoin UDF), in place of DataFusion's
//! `array_join` (an alias of `array_to_string`, which skips NULL elements).
//!
//! `ARRAY_JOIN(array [, delimiter])` writes each element as Java's `toString` does, separated
//! by `delimiter` (default ','; NULL is ''): a NULL element is `null`, a DOUBLE is Java's
//! `Double.toString` (`1.0`, `1.0E7`, `NaN`), a DECIMAL is `BigDecimal.toString`. A NULL
//! array gives NULL. ksqlDB joins BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL and STRING elements
//! only and throws for others; here an array of other elements does not plan.
//!
//! Never: format a number otherwise than ksqlDB's Java does.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::lists::{argument_array, element_range, item_type, list_argument, list_type};

pub(crate) fn array_join() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(ArrayJoin {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ArrayJoin {
    signature: Signature,
}

/// Whether ksqlDB's ArrayJoin writes elements of this type (its KSQL_PRIMITIVES).
fn joinable(item: &DataType) -> bool {
    matches!(
        item,
        DataType::Null
            | DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(_, _)
            | DataType::Utf8
    )
}

impl ScalarUDFImpl for ArrayJoin {
    fn name(&self) -> &str {
        "array_join"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (1 | 2) = arg_types.len() else {
            return plan_err!("array_join takes an ARRAY and maybe a delimiter");
        };
        let list = list_type(self.name(), &arg_types[0])?;
        let item = match item_type(&list) {
            DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
            item => item,
        };
        if !joinable(&item) {
            return plan_err!(
                "array_join joins BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL and STRING elements, \
                 not {item}"
            );
        }
        let mut types = vec![super::lists::list_of(item)];
        types.extend(arg_types.get(1).map(|_| DataType::Utf8));
        Ok(types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let list_type = list_type(self.name(), args.arg_fields[0].data_type())?;
        let list = list_argument(&args.args[0], rows, &list_type)?;
        let delimiters = match args.args.get(1) {
            Some(delimiter) => Some(cast(&argument_array(delimiter, rows)?, &DataType::Utf8)?),
            None => None,
        };
        let delimiters = delimiters.as_ref().map(|array| array.as_string::<i32>());
        let values = list.values();
        let mut results = StringBuilder::with_capacity(rows, 0);
        for row in 0..rows {
            if list.is_null(row) {
                results.append_null();
                continue;
            }
            let delimiter = match delimiters {
                None => ",",
                Some(delimiters) if delimiters.is_null(row) => "",
                Some(delimiters) => delimiters.value(row),
            };
            for (index, at) in element_range(&list, row).enumerate() {
                if index > 0 {
                    let _ = results.write_str(delimiter);
                }
                write_element(&mut results, values, at)?;
            }
            results.append_value("");
        }
        Ok(ColumnarValue::Array(Arc::new(results.finish())))
    }
}

/// Appends element `at` of `values` as Java's `toString` writes it. Writing to a
/// StringBuilder cannot fail: the results are ignored.
fn write_element(out: &mut StringBuilder, values: &ArrayRef, at: usize) -> Result<()> {
    if values.is_null(at) {
        let _ = out.write_str("null");
        return Ok(());
    }
    let _ = match values.data_type() {
        DataType::Boolean => write!(out, "{}", values.as_boolean().value(at)),
        DataType::Int8 => write!(out, "{}", values.as_primitive::<Int8Type>().value(at)),
        DataType::Int16 => write!(out, "{}", values.as_primitive::<Int16Type>().value(at)),
        DataType::Int32 => write!(out, "{}", values.as_primitive::<Int32Type>().value(at)),
        DataType::Int64 => write!(out, "{}", values.as_primitive::<Int64Type>().value(at)),
        DataType::Float32 => {
            let value = values.as_primitive::<Float32Type>().value(at);
            out.write_str(&java_double(f64::from(value), &format!("{value:e}")))
        }
        DataType::Float64 => {
            let value = values.as_primitive::<Float64Type>().value(at);
            out.write_str(&java_double(value, &format!("{value:e}")))
        }
        DataType::Decimal128(_, scale) => {
            let unscaled = values.as_primitive::<Decimal128Type>().value(at);
            out.write_str(&java_big_decimal(unscaled, *scale))
        }
        DataType::Utf8 => out.write_str(values.as_string::<i32>().value(at)),
        other => return exec_err!("array_join cannot join elements of type {other}"),
    };
    Ok(())
}

/// Java's `Double.toString(value)`, given Rust's shortest round-trip scientific form of it
/// (`1.5e-7`): plain between 10^-3 and 10^7, else `d.dddE±n`, always a digit after the point.
pub(super) fn java_double(value: f64, scientific: &str) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let (negative, scientific) = match scientific.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, scientific),
    };
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut text = String::with_capacity(digits.len() + 8);
    if negative {
        text.push('-');
    }
    let magnitude = value.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        if exponent >= 0 {
            let integer_digits = exponent as usize + 1;
            let (integer, fraction) = digits.split_at(integer_digits.min(digits.len()));
            text.push_str(integer);
            text.extend(std::iter::repeat_n(
                '0',
                integer_digits.saturating_sub(digits.len()),
            ));
            text.push('.');
            text.push_str(if fraction.is_empty() { "0" } else { fraction });
        } else {
            text.push_str("0.");
            text.extend(std::iter::repeat_n('0', (-exponent - 1) as usize));
            text.push_str(&digits);
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let _ = write!(
            text,
            "{first}.{}E{exponent}",
            if rest.is_empty() { "0" } else { rest }
        );
    }
    text
}

/// Java's `BigDecimal.toString()` of `unscaled` × 10^-`scale`: plain unless the scale is
/// negative or the value is below 10^-6, then `d.dddE±n`.
pub(super) fn java_big_decimal(unscaled: i128, scale: i8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let scale = i64::from(scale);
    let adjusted = digits.len() as i64 - 1 - scale;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    if scale > 0 && adjusted >= -6 {
        let scale = scale as usize;
        return match digits.len() > scale {
            true => {
                let (integer, fraction) = digits.split_at(digits.len() - scale);
                format!("{sign}{integer}.{fraction}")
            }
            false => format!("{sign}0.{}{digits}", "0".repeat(scale - digits.len())),
        };
    }
    let (first, rest) = digits.split_at(1);
    let point = if rest.is_empty() { "" } else { "." };
    let exponent_sign = if adjusted > 0 { "+" } else { "" };
    format!("{sign}{first}{point}{rest}E{exponent_sign}{adjusted}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(value: f64) -> String {
        java_double(value, &format!("{value:e}"))
    }

    #[test]
    fn doubles_are_written_as_java_writes_them() {
        let cases = [
            (1.23, "1.23"),
            (-23.42, "-23.42"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1e7, "1.0E7"),
            (1.5e300, "1.5E300"),
            (-1.25e-10, "-1.25E-10"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (value, java) in cases {
            assert_eq!(double(value), java, "{value}");
        }
    }

    #[test]
    fn decimals_are_written_as_java_big_decimal_writes_them() {
        assert_eq!(java_big_decimal(12345, 2), "123.45");
        assert_eq!(java_big_decimal(-5, 2), "-0.05");
        assert_eq!(java_big_decimal(0, 2), "0.00");
        assert_eq!(java_big_decimal(7, 0), "7");
        assert_eq!(java_big_decimal(1, 7), "1E-7");
        assert_eq!(java_big_decimal(123, 10), "1.23E-8");
        assert_eq!(java_big_decimal(0, 10), "0E-10");
        assert_eq!(java_big_decimal(12, -3), "1.2E+4");
    }
}
