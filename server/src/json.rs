//! Structs, maps and nested lists as JSON text, the form of Postgres' `json` type
//! (identical in text and binary format).
//!
//! Values are written straight into the row buffer, recursing through nested arrays one
//! value at a time: nested values are rare in results, so clarity wins over column-wise
//! speed here. Scalars inside follow `text_format.rs`, quoted where JSON has no literal
//! (dates, bytea, NaN).
//!
//! Never: emit invalid JSON (every string goes through `put_json_string`).

use arrow::array::{Array, AsArray, GenericListArray, OffsetSizeTrait};
use arrow::datatypes::ArrowNativeType;
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Decimal256Type, Float16Type, Float32Type,
    Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow::util::display::array_value_to_string;
use tokio_util::bytes::{BufMut, BytesMut};

use crate::temporal::{MILLIS_PER_DAY, time_micros, timestamp_micros};
use crate::text_format::{
    OutOfRange, put_bytea_hex, put_date, put_decimal, put_float4, put_float8, put_signed, put_time,
    put_timestamp, put_unsigned, with_decimal_digits,
};

/// Writes the value at `row` of `array` as JSON.
pub(crate) fn put_json_value(
    out: &mut BytesMut,
    array: &dyn Array,
    row: usize,
) -> Result<(), OutOfRange> {
    if array
        .logical_nulls()
        .is_some_and(|nulls| nulls.is_null(row))
    {
        out.put_slice(b"null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Boolean => {
            let value = array.as_boolean().value(row);
            out.put_slice(if value { b"true" } else { b"false" });
        }
        DataType::Int8 => put_signed(out, i64::from(array.as_primitive::<Int8Type>().value(row))),
        DataType::Int16 => put_signed(out, i64::from(array.as_primitive::<Int16Type>().value(row))),
        DataType::Int32 => put_signed(out, i64::from(array.as_primitive::<Int32Type>().value(row))),
        DataType::Int64 => put_signed(out, array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => {
            put_unsigned(out, u64::from(array.as_primitive::<UInt8Type>().value(row)))
        }
        DataType::UInt16 => put_unsigned(
            out,
            u64::from(array.as_primitive::<UInt16Type>().value(row)),
        ),
        DataType::UInt32 => put_unsigned(
            out,
            u64::from(array.as_primitive::<UInt32Type>().value(row)),
        ),
        DataType::UInt64 => put_unsigned(out, array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float16 => put_json_float(
            out,
            f64::from(array.as_primitive::<Float16Type>().value(row).to_f32()),
        ),
        DataType::Float32 => {
            let value = array.as_primitive::<Float32Type>().value(row);
            if value.is_finite() {
                put_float4(out, value);
            } else {
                put_quoted(out, |out| put_float4(out, value));
            }
        }
        DataType::Float64 => put_json_float(out, array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, scale) => {
            let value = array.as_primitive::<Decimal128Type>().value(row);
            with_decimal_digits(value, |digits| put_decimal(out, digits, i32::from(*scale)));
        }
        DataType::Decimal256(_, scale) => {
            let value = array.as_primitive::<Decimal256Type>().value(row);
            with_decimal_digits(value, |digits| put_decimal(out, digits, i32::from(*scale)));
        }
        DataType::Utf8 => put_json_string(out, array.as_string::<i32>().value(row).as_bytes()),
        DataType::LargeUtf8 => put_json_string(out, array.as_string::<i64>().value(row).as_bytes()),
        DataType::Utf8View => put_json_string(out, array.as_string_view().value(row).as_bytes()),
        DataType::Binary => put_json_bytea(out, array.as_binary::<i32>().value(row)),
        DataType::LargeBinary => put_json_bytea(out, array.as_binary::<i64>().value(row)),
        DataType::BinaryView => put_json_bytea(out, array.as_binary_view().value(row)),
        DataType::FixedSizeBinary(_) => {
            put_json_bytea(out, array.as_fixed_size_binary().value(row))
        }
        DataType::Date32 => {
            let days = i64::from(array.as_primitive::<Date32Type>().value(row));
            put_quoted_fallible(out, |out| put_date(out, days))?;
        }
        DataType::Date64 => {
            let millis = array.as_primitive::<Date64Type>().value(row);
            put_quoted_fallible(out, |out| put_date(out, millis.div_euclid(MILLIS_PER_DAY)))?;
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            let micros = time_micros(array, row).ok_or(OutOfRange)?;
            put_quoted_fallible(out, |out| put_time(out, micros))?;
        }
        DataType::Timestamp(unit, zone) => {
            let micros = timestamp_micros(array, *unit, row).ok_or(OutOfRange)?;
            put_quoted_fallible(out, |out| put_timestamp(out, micros, zone.is_some()))?;
        }
        DataType::Struct(fields) => {
            let columns = array.as_struct().columns();
            out.put_u8(b'{');
            for (index, (field, column)) in fields.iter().zip(columns).enumerate() {
                if index > 0 {
                    out.put_u8(b',');
                }
                put_json_string(out, field.name().as_bytes());
                out.put_u8(b':');
                put_json_value(out, column.as_ref(), row)?;
            }
            out.put_u8(b'}');
        }
        DataType::Map(_, _) => {
            let map = array.as_map();
            let offsets = map.value_offsets();
            let (start, end) = (offsets[row].as_usize(), offsets[row + 1].as_usize());
            out.put_u8(b'{');
            for entry in start..end {
                if entry > start {
                    out.put_u8(b',');
                }
                put_json_key(out, map.keys().as_ref(), entry)?;
                out.put_u8(b':');
                put_json_value(out, map.values().as_ref(), entry)?;
            }
            out.put_u8(b'}');
        }
        DataType::List(_) => put_json_list(out, array.as_list::<i32>(), row)?,
        DataType::LargeList(_) => put_json_list(out, array.as_list::<i64>(), row)?,
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary();
            let key = dictionary.normalized_keys()[row];
            put_json_value(out, dictionary.values().as_ref(), key)?;
        }
        _ => {
            let text = array_value_to_string(array, row).map_err(|_| OutOfRange)?;
            put_json_string(out, text.as_bytes());
        }
    }
    Ok(())
}

fn put_json_list<O: OffsetSizeTrait>(
    out: &mut BytesMut,
    list: &GenericListArray<O>,
    row: usize,
) -> Result<(), OutOfRange> {
    let offsets = list.value_offsets();
    let (start, end) = (offsets[row].as_usize(), offsets[row + 1].as_usize());
    out.put_u8(b'[');
    for element in start..end {
        if element > start {
            out.put_u8(b',');
        }
        put_json_value(out, list.values().as_ref(), element)?;
    }
    out.put_u8(b']');
    Ok(())
}

/// A map key: JSON object keys are strings, so non-string keys are quoted.
fn put_json_key(out: &mut BytesMut, keys: &dyn Array, entry: usize) -> Result<(), OutOfRange> {
    let mut key = BytesMut::new();
    put_json_value(&mut key, keys, entry)?;
    if key.first() == Some(&b'"') {
        out.put_slice(&key);
    } else {
        put_json_string(out, &key);
    }
    Ok(())
}

fn put_json_float(out: &mut BytesMut, value: f64) {
    if value.is_finite() {
        put_float8(out, value);
    } else {
        put_quoted(out, |out| put_float8(out, value));
    }
}

fn put_json_bytea(out: &mut BytesMut, bytes: &[u8]) {
    // `\x..` needs its backslash escaped inside a JSON string.
    out.put_slice(b"\"\\");
    put_bytea_hex(out, bytes);
    out.put_u8(b'"');
}

fn put_quoted(out: &mut BytesMut, write: impl FnOnce(&mut BytesMut)) {
    out.put_u8(b'"');
    write(out);
    out.put_u8(b'"');
}

fn put_quoted_fallible(
    out: &mut BytesMut,
    write: impl FnOnce(&mut BytesMut) -> Result<(), OutOfRange>,
) -> Result<(), OutOfRange> {
    out.put_u8(b'"');
    write(out)?;
    out.put_u8(b'"');
    Ok(())
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
pub(crate) fn put_json_string(out: &mut BytesMut, text: &[u8]) {
    const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.put_u8(b'"');
    for byte in text {
        match byte {
            b'"' => out.put_slice(b"\\\""),
            b'\\' => out.put_slice(b"\\\\"),
            b'\n' => out.put_slice(b"\\n"),
            b'\r' => out.put_slice(b"\\r"),
            b'\t' => out.put_slice(b"\\t"),
            0x08 => out.put_slice(b"\\b"),
            0x0c => out.put_slice(b"\\f"),
            0x00..=0x1f => {
                out.put_slice(b"\\u00");
                out.put_u8(HEX_DIGITS[usize::from(byte >> 4)]);
                out.put_u8(HEX_DIGITS[usize::from(byte & 0x0f)]);
            }
            _ => out.put_u8(*byte),
        }
    }
    out.put_u8(b'"');
}
