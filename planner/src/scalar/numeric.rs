//! Numeric functions whose meaning ksqlDB defines differently from DataFusion's (its udf/math
//! and udf/geo UDFs): CEIL and FLOOR keep their argument's type (DataFusion answers a DOUBLE
//! for an INT), SIGN is ksqlDB's (DataFusion has `signum`), LOG with one argument is ksqlDB's
//! natural logarithm (DataFusion's is base 10), LOG(base, x) is NaN for a base of 0, 1 or
//! below, SQRT of a negative is NaN (DataFusion's fails), POWER answers a DOUBLE with Java's `Math.pow` (DataFusion's answers a BIGINT for
//! BIGINTs), and GEO_DISTANCE is new. ROUND and TRUNC are in `rounding`.
//!
//! The other math functions (ABS, ACOS, ASIN, ATAN, ATAN2, CBRT, COS, COSH, COT, DEGREES, EXP,
//! LN, PI, RADIANS, SIN, SINH, TAN, TANH, GREATEST, LEAST) keep DataFusion's, which
//! answer as ksqlDB's do (NaN outside a domain, -Infinity for LN(0), NULLs ignored by GREATEST).
//!
//! Never: answer NULL for a row ksqlDB answers a number for.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Float64Array, Int32Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, Int64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use super::lists::argument_array;

/// The Earth's radius GEO_DISTANCE uses, as ksqlDB's GeoDistance UDF.
const EARTH_RADIUS_KM: f64 = 6371.0;
const EARTH_RADIUS_MILES: f64 = 3959.0;

pub(crate) fn numeric_functions() -> Vec<Arc<ScalarUDF>> {
    use Kind::*;
    [Ceil, Floor, Sign, Sqrt, Log, Power, GeoDistance]
        .into_iter()
        .map(|kind| {
            let signature = match kind {
                // Four or five arguments: a signature the planner lists, not a coercion rule.
                GeoDistance => {
                    let point = vec![DataType::Float64; 4];
                    let mut with_unit = point.clone();
                    with_unit.push(DataType::Utf8);
                    Signature::one_of(
                        vec![TypeSignature::Exact(point), TypeSignature::Exact(with_unit)],
                        Volatility::Immutable,
                    )
                }
                _ => Signature::user_defined(Volatility::Immutable),
            };
            Arc::new(ScalarUDF::from(Numeric { kind, signature }))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// ksqlDB's Ceil UDF: INT, BIGINT, DOUBLE and DECIMAL(p, s) keep their type.
    Ceil,
    /// ksqlDB's Floor UDF, likewise.
    Floor,
    /// ksqlDB's Sign UDF: -1, 0 or 1 as an INT; NaN is 0.
    Sign,
    /// ksqlDB's Sqrt UDF: NaN for a negative value (DataFusion's `sqrt` fails the row).
    Sqrt,
    /// ksqlDB's Log UDF: `LOG(x)` is ln(x); `LOG(base, x)` is NaN for base <= 0 or 1.
    Log,
    /// ksqlDB's Power UDF: Java's `Math.pow`, a DOUBLE.
    Power,
    /// ksqlDB's GeoDistance UDF: the haversine distance in km, or miles.
    GeoDistance,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Numeric {
    kind: Kind,
    signature: Signature,
}

impl ScalarUDFImpl for Numeric {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Ceil => "ceil",
            Kind::Floor => "floor",
            Kind::Sign => "sign",
            Kind::Sqrt => "sqrt",
            Kind::Log => "log",
            Kind::Power => "power",
            Kind::GeoDistance => "geo_distance",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let arity_ok = match self.kind {
            Kind::Ceil | Kind::Floor | Kind::Sign | Kind::Sqrt => arg_types.len() == 1,
            Kind::Log => matches!(arg_types.len(), 1 | 2),
            Kind::Power => arg_types.len() == 2,
            Kind::GeoDistance => matches!(arg_types.len(), 4 | 5),
        };
        if !arity_ok {
            return plan_err!("{name} does not take {} arguments", arg_types.len());
        }
        let mut types = Vec::with_capacity(arg_types.len());
        for (index, data_type) in arg_types.iter().enumerate() {
            if self.kind == Kind::GeoDistance && index == 4 {
                types.push(DataType::Utf8);
                continue;
            }
            if !data_type.is_numeric() && *data_type != DataType::Null {
                return plan_err!("{name} takes numbers, not {data_type}");
            }
            types.push(match (self.kind, data_type) {
                (Kind::Ceil | Kind::Floor, DataType::Decimal128(precision, scale)) => {
                    DataType::Decimal128(*precision, *scale)
                }
                (
                    Kind::Ceil | Kind::Floor | Kind::Sign,
                    DataType::Int8 | DataType::Int16 | DataType::Int32,
                ) => DataType::Int32,
                (Kind::Ceil | Kind::Floor | Kind::Sign, data_type) if data_type.is_integer() => {
                    DataType::Int64
                }
                _ => DataType::Float64,
            });
        }
        Ok(types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Ceil | Kind::Floor => arg_types[0].clone(),
            Kind::Sign => DataType::Int32,
            Kind::Sqrt | Kind::Log | Kind::Power | Kind::GeoDistance => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|argument| argument_array(argument, rows))
            .collect::<Result<Vec<_>>>()?;
        let result: ArrayRef = match self.kind {
            Kind::Ceil | Kind::Floor => whole(&arrays[0], self.kind == Kind::Ceil)?,
            Kind::Sign => sign(&arrays[0])?,
            Kind::Sqrt => {
                let values = arrays[0].as_primitive::<Float64Type>();
                Arc::new(values.unary::<_, Float64Type>(f64::sqrt))
            }
            Kind::Log if arrays.len() == 1 => {
                let values = arrays[0].as_primitive::<Float64Type>();
                Arc::new(values.unary::<_, Float64Type>(f64::ln))
            }
            Kind::Log => binary(&arrays[0], &arrays[1], |base, value| {
                if base <= 0.0 || base == 1.0 {
                    f64::NAN
                } else {
                    value.ln() / base.ln()
                }
            }),
            Kind::Power => binary(&arrays[0], &arrays[1], java_pow),
            Kind::GeoDistance => geo_distance(&arrays)?,
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// CEIL (`up`) or FLOOR of each value, in its own type.
fn whole(values: &ArrayRef, up: bool) -> Result<ArrayRef> {
    Ok(match values.data_type() {
        DataType::Int32 | DataType::Int64 => Arc::clone(values),
        DataType::Float64 => {
            let values = values.as_primitive::<Float64Type>();
            match up {
                true => Arc::new(values.unary::<_, Float64Type>(f64::ceil)),
                false => Arc::new(values.unary::<_, Float64Type>(f64::floor)),
            }
        }
        DataType::Decimal128(precision, scale) => {
            let factor = u32::try_from(*scale)
                .ok()
                .and_then(|scale| 10i128.checked_pow(scale));
            let limit = 10i128
                .checked_pow(u32::from(*precision))
                .unwrap_or(i128::MAX);
            let decimals = values.as_primitive::<Decimal128Type>();
            let mut results = Vec::with_capacity(decimals.len());
            for value in decimals.iter() {
                let Some(value) = value else {
                    results.push(None);
                    continue;
                };
                let Some(factor) = factor else {
                    results.push(Some(value));
                    continue;
                };
                let (quotient, remainder) = (value / factor, value % factor);
                let quotient = match (up, remainder) {
                    (true, remainder) if remainder > 0 => quotient + 1,
                    (false, remainder) if remainder < 0 => quotient - 1,
                    _ => quotient,
                };
                let result = quotient.saturating_mul(factor);
                if result.unsigned_abs() >= limit.unsigned_abs() {
                    return exec_err!(
                        "Numeric field overflow: {quotient} does not fit DECIMAL({precision}, {scale})"
                    );
                }
                results.push(Some(result));
            }
            Arc::new(Decimal128Array::from(results).with_precision_and_scale(*precision, *scale)?)
        }
        other => return exec_err!("cannot take the ceiling or floor of {other}"),
    })
}

fn sign(values: &ArrayRef) -> Result<ArrayRef> {
    let signs: Int32Array = match values.data_type() {
        DataType::Int32 => values.as_primitive::<Int32Type>().unary(i32::signum),
        DataType::Int64 => values
            .as_primitive::<Int64Type>()
            .unary(|value| value.signum() as i32),
        DataType::Float64 => values.as_primitive::<Float64Type>().unary(|value| {
            // Java's `(int) Math.signum(value)`: NaN is 0, and so are both zeros.
            if value > 0.0 {
                1
            } else if value < 0.0 {
                -1
            } else {
                0
            }
        }),
        other => return exec_err!("cannot take the sign of {other}"),
    };
    Ok(Arc::new(signs))
}

/// `function` of two DOUBLE columns, NULL where either is.
fn binary(left: &ArrayRef, right: &ArrayRef, function: impl Fn(f64, f64) -> f64) -> ArrayRef {
    let (left, right) = (
        left.as_primitive::<Float64Type>(),
        right.as_primitive::<Float64Type>(),
    );
    let results: Float64Array = left
        .iter()
        .zip(right.iter())
        .map(|(left, right)| Some(function(left?, right?)))
        .collect();
    Arc::new(results)
}

/// Java's `Math.pow`, which differs from C's `pow` (Rust's `powf`) only in that a NaN exponent
/// gives NaN, and 1 or -1 to an infinite power is NaN.
fn java_pow(base: f64, exponent: f64) -> f64 {
    if exponent.is_nan() || base.abs() == 1.0 && exponent.is_infinite() {
        return f64::NAN;
    }
    base.powf(exponent)
}

/// GEO_DISTANCE(lat1, lon1, lat2, lon2 [, unit]): ksqlDB's parameters are Java primitives, so
/// a NULL coordinate is an error, as are coordinates out of range and an unknown unit.
fn geo_distance(arrays: &[ArrayRef]) -> Result<ArrayRef> {
    let coordinates: Vec<_> = arrays[..4]
        .iter()
        .map(|array| array.as_primitive::<Float64Type>())
        .collect();
    let units = match arrays.get(4) {
        Some(units) => Some(cast(units, &DataType::Utf8)?),
        None => None,
    };
    let units = units.as_ref().map(|units| units.as_string::<i32>());
    let mut results = Vec::with_capacity(arrays[0].len());
    for row in 0..arrays[0].len() {
        if coordinates.iter().any(|column| column.is_null(row)) {
            return exec_err!("geo_distance takes no NULL coordinate");
        }
        let [lat1, lon1, lat2, lon2] = [0, 1, 2, 3].map(|index| coordinates[index].value(row));
        let unit = units.and_then(|units| units.is_valid(row).then(|| units.value(row)));
        results.push(haversine(lat1, lon1, lat2, lon2, earth_radius(unit)?)?);
    }
    Ok(Arc::new(Float64Array::from(results)))
}

fn earth_radius(unit: Option<&str>) -> Result<f64> {
    let unit = unit
        .map(|unit| unit.trim().to_lowercase())
        .unwrap_or_default();
    match unit.as_str() {
        "" | "km" | "kilometer" | "kilometers" | "kilometre" | "kilometres" => Ok(EARTH_RADIUS_KM),
        "mi" | "mile" | "miles" => Ok(EARTH_RADIUS_MILES),
        _ => exec_err!(
            "GeoDistance function units parameter must be one of mi, mile, miles, km, \
             kilometer, kilometers, kilometre or kilometres. Values are case-insensitive."
        ),
    }
}

fn haversine(lat1: f64, lon1: f64, lat2: f64, lon2: f64, radius: f64) -> Result<f64> {
    if !(-90.0..=90.0).contains(&lat1) || !(-90.0..=90.0).contains(&lat2) {
        return exec_err!(
            "valid latitude values for GeoDistance function are in the range of -90 to 90 \
             decimal degrees"
        );
    }
    if !(-180.0..=180.0).contains(&lon1) || !(-180.0..=180.0).contains(&lon2) {
        return exec_err!(
            "valid longitude values for GeoDistance function are in the range of -180 to +180 \
             decimal degrees"
        );
    }
    // Degrees to radians as `angle / 180 * PI`, which reproduces ksqlDB's own test answers to
    // the last digit (Rust's `to_radians` multiplies by PI / 180 and differs in the last bits).
    let radians = |angle: f64| angle / 180.0 * std::f64::consts::PI;
    let haversin = |angle: f64| (angle / 2.0).sin().powi(2);
    let a = haversin(radians(lat2 - lat1))
        + haversin(radians(lon2 - lon1)) * radians(lat1).cos() * radians(lat2).cos();
    Ok(2.0 * a.sqrt().asin() * radius)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geo_distance_matches_ksqldb_examples() {
        let km = haversine(37.4439, -122.1663, 51.5257, -0.1122, EARTH_RADIUS_KM).expect("valid");
        assert_eq!(km, 8634.659796579544);
        let miles = haversine(
            37.4439,
            -122.1663,
            51.5257,
            -0.1122,
            earth_radius(Some(" MI ")).expect("unit"),
        )
        .expect("valid");
        assert_eq!(miles, 5365.659729188262);
        assert!(haversine(91.0, 0.0, 0.0, 0.0, EARTH_RADIUS_KM).is_err());
        assert!(earth_radius(Some("parsec")).is_err());
        assert_eq!(earth_radius(Some("")).expect("default"), EARTH_RADIUS_KM);
    }

    #[test]
    fn power_follows_java_at_the_edges() {
        assert!(java_pow(1.0, f64::NAN).is_nan());
        assert!(java_pow(-1.0, f64::INFINITY).is_nan());
        assert_eq!(java_pow(f64::NAN, 0.0), 1.0);
        assert_eq!(java_pow(15.0, -1.0), 0.06666666666666667);
    }
}
