//! ROUND and TRUNC with ksqlDB's meaning (its Round and Trunc UDFs), in place of DataFusion's,
//! which answer a DOUBLE for every argument and round halves away from zero.
//!
//! `ROUND(x)` / `TRUNC(x)`: an INT, BIGINT or DOUBLE gives a BIGINT (a DOUBLE as Java's
//! `Math.round` / `(long)` cast: NaN is 0, the ends of BIGINT's range saturate); a
//! DECIMAL(p, s) gives a DECIMAL(p - s, 0). `ROUND(x, places)` / `TRUNC(x, places)`: a DOUBLE
//! stays a DOUBLE, rounded at `places` digits after the point (before it when negative) in the
//! decimal form Java writes for it (`BigDecimal.valueOf`), so `ROUND(1.005, 2)` is 1.01; a
//! DECIMAL keeps its type. ROUND's halves go up, toward positive infinity (`ROUND(-1.5)` is
//! -1); TRUNC drops digits toward zero. NaN or an infinity with `places` is an error, as
//! ksqlDB's `BigDecimal.valueOf` throws; a DECIMAL that no longer fits its precision is an
//! error. NULL gives NULL.
//!
//! Never: round in binary floating point where ksqlDB rounds decimal digits.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::lists::argument_array;

pub(crate) fn rounding_functions() -> Vec<Arc<ScalarUDF>> {
    [Mode::HalfUp, Mode::Down]
        .into_iter()
        .map(|mode| {
            Arc::new(ScalarUDF::from(Rounding {
                mode,
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mode {
    /// ROUND: halves toward positive infinity.
    HalfUp,
    /// TRUNC: toward zero.
    Down,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Rounding {
    mode: Mode,
    signature: Signature,
}

impl ScalarUDFImpl for Rounding {
    fn name(&self) -> &str {
        match self.mode {
            Mode::HalfUp => "round",
            Mode::Down => "trunc",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (1 | 2) = arg_types.len() else {
            return plan_err!(
                "{} takes a number and maybe a number of places",
                self.name()
            );
        };
        let value = match &arg_types[0] {
            DataType::Decimal128(precision, scale) => DataType::Decimal128(*precision, *scale),
            data_type if data_type.is_integer() && arg_types.len() == 1 => DataType::Int64,
            data_type if data_type.is_numeric() || *data_type == DataType::Null => {
                DataType::Float64
            }
            other => return plan_err!("{} takes a number, not {other}", self.name()),
        };
        let mut types = vec![value];
        if let Some(places) = arg_types.get(1) {
            if !places.is_integer() && *places != DataType::Null {
                return plan_err!("{}'s places are an INT, not {places}", self.name());
            }
            types.push(DataType::Int64);
        }
        Ok(types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(match (&arg_types[0], arg_types.len()) {
            (DataType::Decimal128(precision, scale), 1) => {
                DataType::Decimal128(precision.saturating_sub(*scale as u8).max(1), 0)
            }
            (DataType::Decimal128(precision, scale), _) => DataType::Decimal128(*precision, *scale),
            (DataType::Float64, 2) => DataType::Float64,
            _ => DataType::Int64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let values = argument_array(&args.args[0], rows)?;
        let places = match args.args.get(1) {
            Some(places) => Some(cast(&argument_array(places, rows)?, &DataType::Int64)?),
            None => None,
        };
        let places = places
            .as_ref()
            .map(|places| places.as_primitive::<Int64Type>());
        let place_of = |row: usize| match places {
            None => Some(0),
            Some(places) => places.is_valid(row).then(|| places.value(row)),
        };
        let mode = self.mode;
        let result: ArrayRef = match (values.data_type(), args.return_field.data_type()) {
            (DataType::Int64, _) => Arc::clone(&values),
            (DataType::Float64, DataType::Int64) => {
                let values = values.as_primitive::<Float64Type>();
                Arc::new(values.unary::<_, Int64Type>(|value| whole(value, mode)))
            }
            (DataType::Float64, _) => {
                let values = values.as_primitive::<Float64Type>();
                let mut results = Vec::with_capacity(rows);
                for row in 0..rows {
                    results.push(match (values.is_valid(row), place_of(row)) {
                        (true, Some(places)) => {
                            Some(round_double(values.value(row), places, mode)?)
                        }
                        _ => None,
                    });
                }
                Arc::new(Float64Array::from(results))
            }
            (DataType::Decimal128(_, scale), DataType::Decimal128(precision, result_scale)) => {
                let values = values.as_primitive::<Decimal128Type>();
                let mut results = Vec::with_capacity(rows);
                for row in 0..rows {
                    results.push(match (values.is_valid(row), place_of(row)) {
                        (true, Some(places)) => {
                            let rounded = round_decimal(values.value(row), *scale, places, mode);
                            Some(rescale(rounded, *scale, *result_scale, *precision)?)
                        }
                        _ => None,
                    });
                }
                Arc::new(
                    Decimal128Array::from(results)
                        .with_precision_and_scale(*precision, *result_scale)?,
                )
            }
            (other, _) => return exec_err!("{} cannot round {other}", self.name()),
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// `Math.round(value)` (halves up) or `(long) value` (toward zero): NaN is 0, and values past
/// BIGINT's range are its ends, as Rust's `as` also does.
fn whole(value: f64, mode: Mode) -> i64 {
    let whole = match mode {
        Mode::Down => value.trunc(),
        Mode::HalfUp => {
            let floor = value.floor();
            // `value - floor` is exact, unlike `value + 0.5`.
            if value - floor >= 0.5 {
                floor + 1.0
            } else {
                floor
            }
        }
    };
    whole as i64
}

/// `value` rounded at `places` decimal places as ksqlDB rounds `BigDecimal.valueOf(value)`:
/// on the shortest decimal digits that read back as `value`.
fn round_double(value: f64, places: i64, mode: Mode) -> Result<f64> {
    if !value.is_finite() {
        return exec_err!("cannot round {value}: it has no decimal digits");
    }
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    // The digits kept: those before the point, and `places` after it.
    let kept = exponent.saturating_add(1).saturating_add(places);
    if kept >= digits.len() as i64 {
        return Ok(value + 0.0);
    }
    if kept < 0 {
        return Ok(0.0);
    }
    let kept = kept as usize;
    let (first_dropped, rest_dropped) = (digits[kept], &digits[kept + 1..]);
    let up = match mode {
        Mode::Down => false,
        // HALF_UP on positive values, HALF_DOWN on negative ones: halves go up.
        Mode::HalfUp if value > 0.0 => first_dropped >= b'5',
        Mode::HalfUp => first_dropped > b'5' || first_dropped == b'5' && !rest_dropped.is_empty(),
    };
    let mut number: Vec<u8> = digits[..kept].to_vec();
    if up {
        increment(&mut number);
    }
    if number.iter().all(|digit| *digit == b'0') {
        return Ok(0.0);
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let text = format!("{sign}{}e{}", String::from_utf8_lossy(&number), -places);
    match text.parse::<f64>() {
        Ok(rounded) => Ok(rounded),
        Err(error) => exec_err!("cannot read back {text}: {error}"),
    }
}

/// Adds one to a number written as ASCII decimal digits.
fn increment(number: &mut Vec<u8>) {
    for digit in number.iter_mut().rev() {
        if *digit == b'9' {
            *digit = b'0';
        } else {
            *digit += 1;
            return;
        }
    }
    number.insert(0, b'1');
}

/// `unscaled` × 10^-`scale` rounded at `places` decimal places, still at `scale`.
fn round_decimal(unscaled: i128, scale: i8, places: i64, mode: Mode) -> i128 {
    let dropped_digits = i64::from(scale) - places;
    if dropped_digits <= 0 {
        return unscaled;
    }
    let Some(factor) = u32::try_from(dropped_digits)
        .ok()
        .and_then(|d| 10i128.checked_pow(d))
    else {
        return 0;
    };
    let (quotient, remainder) = (unscaled / factor, unscaled % factor);
    let quotient = match mode {
        Mode::Down => quotient,
        Mode::HalfUp if remainder > 0 && remainder >= factor - remainder => quotient + 1,
        Mode::HalfUp if remainder < 0 && -remainder > factor + remainder => quotient - 1,
        Mode::HalfUp => quotient,
    };
    quotient.saturating_mul(factor)
}

/// A value at `scale` written at `result_scale` (no larger than `scale`; the digits dropped are
/// zeros), or an error when it needs more than `precision` digits.
fn rescale(unscaled: i128, scale: i8, result_scale: i8, precision: u8) -> Result<i128> {
    let drop = u32::try_from(i64::from(scale) - i64::from(result_scale)).unwrap_or(0);
    let result = unscaled / 10i128.checked_pow(drop).unwrap_or(1);
    let limit = 10i128
        .checked_pow(u32::from(precision))
        .unwrap_or(i128::MAX);
    if result.unsigned_abs() >= limit.unsigned_abs() {
        return exec_err!(
            "Numeric field overflow: {result} (scale {result_scale}) needs more than {precision} digits"
        );
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_follow_java() {
        let rounds = [
            (1.5, 2),
            (-1.5, -1),
            (-1.7, -2),
            (0.49999999999999994, 0),
            (2.5, 3),
        ];
        for (value, expected) in rounds {
            assert_eq!(whole(value, Mode::HalfUp), expected, "round {value}");
        }
        assert_eq!(whole(f64::NAN, Mode::HalfUp), 0);
        assert_eq!(whole(1e300, Mode::HalfUp), i64::MAX);
        assert_eq!(whole(-1.7, Mode::Down), -1);
    }

    #[test]
    fn doubles_round_on_their_decimal_digits() {
        let cases = [
            (1.005, 2, Mode::HalfUp, 1.01),
            (12345.678, 2, Mode::HalfUp, 12345.68),
            (12345.678, -1, Mode::HalfUp, 12350.0),
            (12345.678, -2, Mode::HalfUp, 12300.0),
            (111.0, -1, Mode::HalfUp, 110.0),
            (1.2, -1, Mode::HalfUp, 0.0),
            (-1.5, 0, Mode::HalfUp, -1.0),
            (-1.55, 1, Mode::HalfUp, -1.5),
            (-1.551, 1, Mode::HalfUp, -1.6),
            (1.234567, 10, Mode::HalfUp, 1.234567),
            (99.96, 1, Mode::HalfUp, 100.0),
            (12345.678, -1, Mode::Down, 12340.0),
            (-1.7, 0, Mode::Down, -1.0),
            (1.234567, 2, Mode::Down, 1.23),
        ];
        for (value, places, mode, expected) in cases {
            assert_eq!(
                round_double(value, places, mode).expect("rounds"),
                expected,
                "{value} {places}"
            );
        }
        assert!(round_double(f64::NAN, 1, Mode::HalfUp).is_err());
    }

    #[test]
    fn decimals_round_halves_up_and_check_their_precision() {
        assert_eq!(round_decimal(15, 1, 0, Mode::HalfUp), 20);
        assert_eq!(round_decimal(-15, 1, 0, Mode::HalfUp), -10);
        assert_eq!(round_decimal(-16, 1, 0, Mode::HalfUp), -20);
        assert_eq!(round_decimal(1234567, 3, -1, Mode::Down), 1230000);
        assert_eq!(rescale(20, 1, 0, 1).expect("fits"), 2);
        assert!(rescale(995, 1, 0, 1).is_err());
    }
}
