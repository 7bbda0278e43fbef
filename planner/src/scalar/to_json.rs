//! TO_JSON_STRING(value) with ksqlDB's meaning: the JSON text of a value of any type, as
//! ksqlDB's ToJsonString UDF prints it through Jackson. NULL is the text `null`; DOUBLE as
//! Java's `Double.toString` (NaN and the infinities quoted); DECIMAL in plain notation with
//! its scale; BYTES as base64; DATE `"2022-01-20"`, TIME `"06:02:20"` (whole seconds,
//! `"13:25"` when they are zero), TIMESTAMP `"2022-01-20T17:06:02.588"` in UTC; maps and
//! structs with their keys and field names sorted (Java's `TreeMap`), map keys as text.
//!
//! Never: refuse a value ksqlDB prints; a TIME outside one day, which ksqlDB cannot hold
//! either, is an error of its row.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, AsArray, StringBuilder};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type,
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::encodings::base64_encode;
use super::json_text::{write_java_double, write_plain_decimal, write_string};

const MILLISECONDS_PER_DAY: i64 = 86_400_000;

pub(crate) fn to_json_string() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(ToJsonString {
        signature: Signature::any(1, Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ToJsonString {
    signature: Signature,
}

impl ScalarUDFImpl for ToJsonString {
    fn name(&self) -> &str {
        "to_json_string"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.first() {
            Some(data_type) if printable(data_type) => Ok(DataType::Utf8),
            Some(data_type) => plan_err!("to_json_string cannot print a value of {data_type}"),
            None => plan_err!("to_json_string takes one argument"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let values = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(values) = values.first() else {
            return exec_err!("to_json_string takes one argument");
        };
        let mut results = StringBuilder::with_capacity(values.len(), values.len() * 8);
        let mut text = String::new();
        for row in 0..values.len() {
            text.clear();
            write_value(values.as_ref(), row, &mut text)?;
            results.append_value(&text);
        }
        Ok(ColumnarValue::Array(Arc::new(results.finish())))
    }
}

/// Whether values of `data_type` have a JSON text here: ksqlDB's types and the Arrow types
/// DataFusion's functions produce for them.
fn printable(data_type: &DataType) -> bool {
    match data_type {
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            printable(item.data_type())
        }
        DataType::Map(entries, _) => printable(entries.data_type()),
        DataType::Struct(fields) => fields.iter().all(|field| printable(field.data_type())),
        DataType::Dictionary(_, _)
        | DataType::Interval(_)
        | DataType::Duration(_)
        | DataType::Union(_, _)
        | DataType::ListView(_)
        | DataType::LargeListView(_)
        | DataType::RunEndEncoded(_, _) => false,
        _ => true,
    }
}

/// Appends the JSON text of `array`'s value at `row`.
fn write_value(array: &dyn Array, row: usize, out: &mut String) -> Result<()> {
    if array.is_null(row) {
        out.push_str("null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Null => out.push_str("null"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            write_string(&plain_text(array, row)?, out)
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => {
            out.push('"');
            base64_encode(binary_value(array, row)?, out);
            out.push('"');
        }
        DataType::Date32 | DataType::Date64 | DataType::Time32(_) | DataType::Time64(_) => {
            out.push('"');
            out.push_str(&plain_text(array, row)?);
            out.push('"');
        }
        DataType::Timestamp(unit, _) => {
            let milliseconds = timestamp_milliseconds(array, *unit, row);
            out.push('"');
            write_timestamp(milliseconds, out);
            out.push('"');
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let double = plain_text(array, row)?;
            match double.as_str() {
                "NaN" | "Infinity" | "-Infinity" => write_string(&double, out),
                _ => out.push_str(&double),
            }
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
            let items = match array.data_type() {
                DataType::List(_) => array.as_list::<i32>().value(row),
                DataType::LargeList(_) => array.as_list::<i64>().value(row),
                _ => array.as_fixed_size_list().value(row),
            };
            out.push('[');
            for item in 0..items.len() {
                if item > 0 {
                    out.push(',');
                }
                write_value(items.as_ref(), item, out)?;
            }
            out.push(']');
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let keys = entries.column(0);
            let mut sorted: Vec<(String, usize)> = (0..entries.len())
                .map(|entry| Ok((plain_text(keys.as_ref(), entry)?, entry)))
                .collect::<Result<_>>()?;
            sort_as_java(&mut sorted);
            let values = entries.column(1);
            out.push('{');
            let mut first = true;
            for (position, (key, entry)) in sorted.iter().enumerate() {
                // A TreeMap keeps the last of equal keys.
                if sorted
                    .get(position + 1)
                    .is_some_and(|(next, _)| next == key)
                {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                write_string(key, out);
                out.push(':');
                write_value(values.as_ref(), *entry, out)?;
            }
            out.push('}');
        }
        DataType::Struct(fields) => {
            let columns = array.as_struct();
            let mut sorted: Vec<(String, usize)> = fields
                .iter()
                .enumerate()
                .map(|(index, field)| (field.name().clone(), index))
                .collect();
            sort_as_java(&mut sorted);
            out.push('{');
            for (position, (name, index)) in sorted.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write_value(columns.column(*index).as_ref(), row, out)?;
            }
            out.push('}');
        }
        _ => out.push_str(&plain_text(array, row)?),
    }
    Ok(())
}

/// Sorts by Java's `String.compareTo` (UTF-16 code units), stable so equal keys keep their
/// order.
fn sort_as_java(members: &mut [(String, usize)]) {
    members.sort_by(|(left, _), (right, _)| compare_utf16(left, right));
}

fn compare_utf16(left: &str, right: &str) -> Ordering {
    left.encode_utf16().cmp(right.encode_utf16())
}

fn binary_value(array: &dyn Array, row: usize) -> Result<&[u8]> {
    Ok(match array.data_type() {
        DataType::Binary => array.as_binary::<i32>().value(row),
        DataType::LargeBinary => array.as_binary::<i64>().value(row),
        DataType::BinaryView => array.as_binary_view().value(row),
        DataType::FixedSizeBinary(_) => array.as_fixed_size_binary().value(row),
        other => return exec_err!("to_json_string: {other} is not bytes"),
    })
}

/// A scalar value as Java's `toString()` prints it (and as JSON prints numbers): strings
/// as they are, DOUBLE as `Double.toString`, DECIMAL plain, DATE and TIME as `LocalDate`
/// and `LocalTime`. What else has no text of its own prints as its JSON.
fn plain_text(array: &dyn Array, row: usize) -> Result<String> {
    let mut out = String::new();
    if array.is_null(row) {
        out.push_str("null");
        return Ok(out);
    }
    macro_rules! integer {
        ($type:ty) => {{
            let _ = write!(out, "{}", array.as_primitive::<$type>().value(row));
        }};
    }
    match array.data_type() {
        DataType::Utf8 => out.push_str(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => out.push_str(array.as_string::<i64>().value(row)),
        DataType::Utf8View => out.push_str(array.as_string_view().value(row)),
        DataType::Boolean => out.push_str(match array.as_boolean().value(row) {
            true => "true",
            false => "false",
        }),
        DataType::Int8 => integer!(Int8Type),
        DataType::Int16 => integer!(Int16Type),
        DataType::Int32 => integer!(Int32Type),
        DataType::Int64 => integer!(Int64Type),
        DataType::UInt8 => integer!(UInt8Type),
        DataType::UInt16 => integer!(UInt16Type),
        DataType::UInt32 => integer!(UInt32Type),
        DataType::UInt64 => integer!(UInt64Type),
        DataType::Float16 => {
            let value = f32::from(array.as_primitive::<Float16Type>().value(row));
            write_java_double(f64::from(value), &format!("{value:e}"), &mut out);
        }
        DataType::Float32 => {
            let value = array.as_primitive::<Float32Type>().value(row);
            write_java_double(f64::from(value), &format!("{value:e}"), &mut out);
        }
        DataType::Float64 => {
            let value = array.as_primitive::<Float64Type>().value(row);
            write_java_double(value, &format!("{value:e}"), &mut out);
        }
        DataType::Decimal32(_, scale) => {
            let unscaled = array.as_primitive::<Decimal32Type>().value(row).to_string();
            write_decimal(&unscaled, *scale, &mut out)?;
        }
        DataType::Decimal64(_, scale) => {
            let unscaled = array.as_primitive::<Decimal64Type>().value(row).to_string();
            write_decimal(&unscaled, *scale, &mut out)?;
        }
        DataType::Decimal128(_, scale) => {
            let unscaled = array
                .as_primitive::<Decimal128Type>()
                .value(row)
                .to_string();
            write_decimal(&unscaled, *scale, &mut out)?;
        }
        DataType::Decimal256(_, scale) => {
            let unscaled = array
                .as_primitive::<Decimal256Type>()
                .value(row)
                .to_string();
            write_decimal(&unscaled, *scale, &mut out)?;
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            write_date(i64::from(days), &mut out);
        }
        DataType::Date64 => {
            // java.sql.Date's days: milliseconds / MILLISECONDS_PER_DAY, toward zero.
            let milliseconds = array.as_primitive::<Date64Type>().value(row);
            write_date(milliseconds / MILLISECONDS_PER_DAY, &mut out);
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            write_time(time_milliseconds(array, row), &mut out)?;
        }
        DataType::Timestamp(unit, _) => {
            write_timestamp(timestamp_milliseconds(array, *unit, row), &mut out);
        }
        _ => {
            write_value(array, row, &mut out)?;
        }
    }
    Ok(out)
}

/// A decimal's unscaled value (with its sign) and scale in plain notation.
fn write_decimal(unscaled: &str, scale: i8, out: &mut String) -> Result<()> {
    let digits = match unscaled.strip_prefix('-') {
        Some(digits) => {
            out.push('-');
            digits
        }
        None => unscaled,
    };
    match write_plain_decimal(digits, i64::from(scale), out) {
        Ok(()) => Ok(()),
        Err(_) => exec_err!("to_json_string: a decimal's scale {scale} is out of range"),
    }
}

fn time_milliseconds(array: &dyn Array, row: usize) -> i64 {
    match array.data_type() {
        DataType::Time32(TimeUnit::Second) => {
            i64::from(array.as_primitive::<Time32SecondType>().value(row)) * 1000
        }
        DataType::Time32(_) => i64::from(array.as_primitive::<Time32MillisecondType>().value(row)),
        DataType::Time64(TimeUnit::Microsecond) => {
            array.as_primitive::<Time64MicrosecondType>().value(row) / 1000
        }
        _ => array.as_primitive::<Time64NanosecondType>().value(row) / 1_000_000,
    }
}

fn timestamp_milliseconds(array: &dyn Array, unit: TimeUnit, row: usize) -> i64 {
    match unit {
        TimeUnit::Second => array
            .as_primitive::<TimestampSecondType>()
            .value(row)
            .saturating_mul(1000),
        TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(row),
        TimeUnit::Microsecond => array
            .as_primitive::<TimestampMicrosecondType>()
            .value(row)
            .div_euclid(1000),
        TimeUnit::Nanosecond => array
            .as_primitive::<TimestampNanosecondType>()
            .value(row)
            .div_euclid(1_000_000),
    }
}

/// The proleptic Gregorian (year, month, day) of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `LocalDate.toString()`: `yyyy-MM-dd`, a sign before years past 9999 or before year 0.
fn write_date(days: i64, out: &mut String) {
    let (year, month, day) = civil_from_days(days);
    let _ = match year {
        ..0 => write!(out, "-{:04}", -year),
        0..=9999 => write!(out, "{year:04}"),
        _ => write!(out, "+{year}"),
    };
    let _ = write!(out, "-{month:02}-{day:02}");
}

/// `LocalTime.ofSecondOfDay(milliseconds / 1000).toString()`: `HH:mm`, `:ss` unless zero.
fn write_time(milliseconds: i64, out: &mut String) -> Result<()> {
    let seconds = milliseconds / 1000;
    if !(0..86_400).contains(&seconds) {
        return exec_err!("to_json_string: a TIME of {milliseconds} ms is not within a day");
    }
    let _ = write!(out, "{:02}:{:02}", seconds / 3600, seconds / 60 % 60);
    if seconds % 60 != 0 {
        let _ = write!(out, ":{:02}", seconds % 60);
    }
    Ok(())
}

/// `yyyy-MM-dd'T'HH:mm:ss.SSS` in UTC, the year as Java's year of era.
fn write_timestamp(milliseconds: i64, out: &mut String) {
    let days = milliseconds.div_euclid(MILLISECONDS_PER_DAY);
    let of_day = milliseconds.rem_euclid(MILLISECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let year_of_era = if year <= 0 { 1 - year } else { year };
    let _ = match year_of_era {
        ..=9999 => write!(out, "{year_of_era:04}"),
        _ => write!(out, "+{year_of_era}"),
    };
    let _ = write!(
        out,
        "-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}",
        of_day / 3_600_000,
        of_day / 60_000 % 60,
        of_day / 1000 % 60,
        of_day % 1000
    );
}

#[cfg(test)]
mod tests {
    use arrow::array::{
        ArrayRef, BinaryArray, Date32Array, Decimal128Array, Float64Array, Int32Array, MapBuilder,
        StringArray, StringBuilder, StructArray, Time64MicrosecondArray, TimestampMillisecondArray,
    };
    use arrow::datatypes::Field;

    use super::*;

    fn texts(array: ArrayRef) -> Vec<String> {
        (0..array.len())
            .map(|row| {
                let mut out = String::new();
                write_value(array.as_ref(), row, &mut out).expect("prints");
                out
            })
            .collect()
    }

    #[test]
    fn prints_scalars_as_ksqldb_does() {
        assert_eq!(
            texts(Arc::new(Int32Array::from(vec![Some(123), None]))),
            ["123", "null"]
        );
        assert_eq!(
            texts(Arc::new(Float64Array::from(vec![
                123.456,
                15.3,
                1e10,
                f64::NAN
            ]))),
            ["123.456", "15.3", "1.0E10", "\"NaN\""]
        );
        let decimals = Decimal128Array::from(vec![33333, -5, 1230])
            .with_precision_and_scale(10, 5)
            .expect("a decimal type");
        assert_eq!(
            texts(Arc::new(decimals)),
            ["0.33333", "-0.00005", "0.01230"]
        );
        assert_eq!(texts(Arc::new(StringArray::from(vec!["abc"]))), ["\"abc\""]);
        let bytes = BinaryArray::from_vec(vec![&[0x00, 0x10, 0xBD, 0xBF]]);
        assert_eq!(texts(Arc::new(bytes)), ["\"ABC9vw==\""]);
        assert_eq!(
            texts(Arc::new(Date32Array::from(vec![19012, -719529, 2932897]))),
            ["\"2022-01-20\"", "\"-0001-12-31\"", "\"+10000-01-01\""]
        );
        assert_eq!(
            texts(Arc::new(Time64MicrosecondArray::from(vec![
                21_740_588_000,
                48_300_000_000
            ]))),
            ["\"06:02:20\"", "\"13:25\""]
        );
        assert_eq!(
            texts(Arc::new(TimestampMillisecondArray::from(vec![
                1_642_698_362_588,
                -1
            ]))),
            ["\"2022-01-20T17:06:02.588\"", "\"1969-12-31T23:59:59.999\""]
        );
        let midnight_after = Time64MicrosecondArray::from(vec![86_400_000_000]);
        assert!(write_value(&midnight_after, 0, &mut String::new()).is_err());
    }

    #[test]
    fn sorts_struct_fields_and_map_keys() {
        let person = StructArray::from(vec![
            (
                Arc::new(Field::new("name", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec!["Alice"])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("id", DataType::Int32, true)),
                Arc::new(Int32Array::from(vec![1])) as ArrayRef,
            ),
        ]);
        assert_eq!(texts(Arc::new(person)), [r#"{"id":1,"name":"Alice"}"#]);
        let mut map = MapBuilder::new(None, StringBuilder::new(), Int32Array::builder(2));
        for (key, value) in [("d", 4), ("c", 2)] {
            map.keys().append_value(key);
            map.values().append_value(value);
        }
        map.append(true).expect("a map row");
        assert_eq!(texts(Arc::new(map.finish())), [r#"{"c":2,"d":4}"#]);
    }
}
