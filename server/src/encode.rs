//! Arrow batches to wire messages: `DataRow`s in text or binary format, and the lines of
//! `COPY ... TO STDOUT` in Postgres' text format.
//!
//! A batch is encoded column by column: each column's values are written back to back
//! into one buffer (one downcast and one tight loop per column), then each row is cut from
//! a single batch-sized buffer with `split()`, so there is no allocation per row or value.
//! How a column is written follows `types.rs`: the type announced in the RowDescription
//! and the bytes sent here must always agree.
//!
//! Never: send a value the announced type cannot read, or panic on a value out of range
//! (that is a `ServerError` naming the column).

use arrow::array::{Array, ArrowPrimitiveType, AsArray, GenericListArray, OffsetSizeTrait};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Decimal256Type, Float16Type, Float32Type,
    Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, Time32MillisecondType,
    Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use pgwire::api::results::FieldFormat;
use pgwire::messages::copy::CopyData;
use pgwire::messages::data::DataRow;
use tokio_util::bytes::{BufMut, BytesMut};

use crate::error::{ServerError, ServerResult};
use crate::json::put_json_value;
use crate::numeric::put_numeric_binary;
use crate::temporal::{
    MICROS_PER_DAY, MILLIS_PER_DAY, POSTGRES_EPOCH_DAYS, POSTGRES_EPOCH_MICROS, micros_from,
};
use crate::text_format::{
    OutOfRange, put_bytea_hex, put_date, put_decimal, put_float4, put_float8, put_signed, put_time,
    put_timestamp, put_unsigned, with_decimal_digits,
};
use crate::types::WireType;

/// A `DataRow` counts its fields in an i16.
const COLUMNS_MAX: usize = i16::MAX as usize;

/// The values of one column, encoded back to back; a null has no bytes.
pub(crate) struct EncodedColumn {
    bytes: BytesMut,
    value_ends: Vec<usize>,
    nulls: Vec<bool>,
}

impl EncodedColumn {
    fn with_capacity(rows: usize) -> Self {
        Self {
            bytes: BytesMut::with_capacity(rows * 8),
            value_ends: Vec::with_capacity(rows),
            nulls: Vec::with_capacity(rows),
        }
    }

    fn push_null(&mut self) {
        self.value_ends.push(self.bytes.len());
        self.nulls.push(true);
    }

    fn end_value(&mut self) {
        self.value_ends.push(self.bytes.len());
        self.nulls.push(false);
    }

    fn value_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The encoded value at `row` (< the encoded array's length), `None` for null.
    pub(crate) fn value(&self, row: usize) -> Option<&[u8]> {
        if self.nulls[row] {
            return None;
        }
        let start = if row == 0 {
            0
        } else {
            self.value_ends[row - 1]
        };
        Some(&self.bytes[start..self.value_ends[row]])
    }
}

/// Encodes every value of `array` in `format`; `column` names it in errors.
pub(crate) fn encode_column(
    array: &dyn Array,
    column: &str,
    format: FieldFormat,
) -> ServerResult<EncodedColumn> {
    let mut encoded = EncodedColumn::with_capacity(array.len());
    let wire_type = WireType::of(array.data_type());
    let written = match (array.data_type(), &wire_type) {
        (DataType::Dictionary(_, value_type), _) => match cast(array, value_type) {
            Ok(values) => return encode_column(values.as_ref(), column, format),
            Err(_) => encode_display_text(array, column, &mut encoded)?,
        },
        (DataType::List(_), WireType::Array(element)) => encode_array(
            array.as_list::<i32>(),
            element,
            column,
            format,
            &mut encoded,
        )?,
        (DataType::LargeList(_), WireType::Array(element)) => encode_array(
            array.as_list::<i64>(),
            element,
            column,
            format,
            &mut encoded,
        )?,
        (_, WireType::Json) => each_value(array, &mut encoded, |out, row| {
            put_json_value(out, array, row)
        }),
        (_, WireType::DisplayText) => encode_display_text(array, column, &mut encoded)?,
        _ => encode_scalars(array, format, &mut encoded),
    };
    written.map_err(|OutOfRange| ServerError::ValueOutOfRange {
        column: column.to_owned(),
        type_name: wire_type.pg_type().name().to_owned(),
    })?;
    Ok(encoded)
}

/// Scalars with a Postgres counterpart (`WireType` other than Json, Array, DisplayText).
fn encode_scalars(
    array: &dyn Array,
    format: FieldFormat,
    encoded: &mut EncodedColumn,
) -> Result<(), OutOfRange> {
    let binary = format == FieldFormat::Binary;
    match array.data_type() {
        DataType::Boolean => {
            let values = array.as_boolean();
            each_value(array, encoded, |out, row| {
                let value = values.value(row);
                out.put_u8(match (binary, value) {
                    (true, value) => u8::from(value),
                    (false, true) => b't',
                    (false, false) => b'f',
                });
                Ok(())
            })
        }
        DataType::Int8 => encode_integers::<Int8Type>(array, WireType::Int2, binary, encoded),
        DataType::Int16 => encode_integers::<Int16Type>(array, WireType::Int2, binary, encoded),
        DataType::Int32 => encode_integers::<Int32Type>(array, WireType::Int4, binary, encoded),
        DataType::Int64 => encode_integers::<Int64Type>(array, WireType::Int8, binary, encoded),
        DataType::UInt8 => encode_integers::<UInt8Type>(array, WireType::Int2, binary, encoded),
        DataType::UInt16 => encode_integers::<UInt16Type>(array, WireType::Int4, binary, encoded),
        DataType::UInt32 => encode_integers::<UInt32Type>(array, WireType::Int8, binary, encoded),
        DataType::UInt64 => {
            let values = array.as_primitive::<UInt64Type>();
            each_value(array, encoded, |out, row| {
                let value = values.value(row);
                if binary {
                    with_decimal_digits(value, |digits| put_numeric_binary(out, digits, 0));
                } else {
                    put_unsigned(out, value);
                }
                Ok(())
            })
        }
        DataType::Float16 => {
            let values = array.as_primitive::<Float16Type>();
            each_value(array, encoded, |out, row| {
                put_float4_value(out, values.value(row).to_f32(), binary);
                Ok(())
            })
        }
        DataType::Float32 => {
            let values = array.as_primitive::<Float32Type>();
            each_value(array, encoded, |out, row| {
                put_float4_value(out, values.value(row), binary);
                Ok(())
            })
        }
        DataType::Float64 => {
            let values = array.as_primitive::<Float64Type>();
            each_value(array, encoded, |out, row| {
                let value = values.value(row);
                if binary {
                    out.put_f64(value);
                } else {
                    put_float8(out, value);
                }
                Ok(())
            })
        }
        DataType::Decimal128(_, scale) => {
            let values = array.as_primitive::<Decimal128Type>();
            each_value(array, encoded, |out, row| {
                put_decimal_value(out, values.value(row), i32::from(*scale), binary);
                Ok(())
            })
        }
        DataType::Decimal256(_, scale) => {
            let values = array.as_primitive::<Decimal256Type>();
            each_value(array, encoded, |out, row| {
                put_decimal_value(out, values.value(row), i32::from(*scale), binary);
                Ok(())
            })
        }
        DataType::Utf8 => {
            let values = array.as_string::<i32>();
            each_value(array, encoded, |out, row| {
                put_raw(out, values.value(row).as_bytes())
            })
        }
        DataType::LargeUtf8 => {
            let values = array.as_string::<i64>();
            each_value(array, encoded, |out, row| {
                put_raw(out, values.value(row).as_bytes())
            })
        }
        DataType::Utf8View => {
            let values = array.as_string_view();
            each_value(array, encoded, |out, row| {
                put_raw(out, values.value(row).as_bytes())
            })
        }
        DataType::Binary => {
            let values = array.as_binary::<i32>();
            each_value(array, encoded, |out, row| {
                put_bytea(out, values.value(row), binary)
            })
        }
        DataType::LargeBinary => {
            let values = array.as_binary::<i64>();
            each_value(array, encoded, |out, row| {
                put_bytea(out, values.value(row), binary)
            })
        }
        DataType::BinaryView => {
            let values = array.as_binary_view();
            each_value(array, encoded, |out, row| {
                put_bytea(out, values.value(row), binary)
            })
        }
        DataType::FixedSizeBinary(_) => {
            let values = array.as_fixed_size_binary();
            each_value(array, encoded, |out, row| {
                put_bytea(out, values.value(row), binary)
            })
        }
        DataType::Date32 => {
            let values = array.as_primitive::<Date32Type>();
            each_value(array, encoded, |out, row| {
                put_date_value(out, i64::from(values.value(row)), binary)
            })
        }
        DataType::Date64 => {
            let values = array.as_primitive::<Date64Type>();
            each_value(array, encoded, |out, row| {
                put_date_value(out, values.value(row).div_euclid(MILLIS_PER_DAY), binary)
            })
        }
        DataType::Time32(TimeUnit::Second) => {
            each_i64_value::<Time32SecondType>(array, encoded, |out, value| {
                put_time_value(out, value, TimeUnit::Second, binary)
            })
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            each_i64_value::<Time32MillisecondType>(array, encoded, |out, value| {
                put_time_value(out, value, TimeUnit::Millisecond, binary)
            })
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            each_i64_value::<Time64MicrosecondType>(array, encoded, |out, value| {
                put_time_value(out, value, TimeUnit::Microsecond, binary)
            })
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            each_i64_value::<Time64NanosecondType>(array, encoded, |out, value| {
                put_time_value(out, value, TimeUnit::Nanosecond, binary)
            })
        }
        DataType::Timestamp(unit, zone) => {
            encode_timestamps(array, *unit, zone.is_some(), binary, encoded)
        }
        // Arrow has no other types with a scalar `WireType` (e.g. Time32 in microseconds
        // does not exist); should one appear, it is out of range for every Postgres type.
        _ => Err(OutOfRange),
    }
}

/// Calls `write` for each non-null value of `array`, recording value boundaries.
fn each_value(
    array: &dyn Array,
    encoded: &mut EncodedColumn,
    mut write: impl FnMut(&mut BytesMut, usize) -> Result<(), OutOfRange>,
) -> Result<(), OutOfRange> {
    let nulls = array.logical_nulls();
    for row in 0..array.len() {
        if nulls.as_ref().is_some_and(|nulls| nulls.is_null(row)) {
            encoded.push_null();
        } else {
            write(&mut encoded.bytes, row)?;
            encoded.end_value();
        }
    }
    Ok(())
}

fn put_raw(out: &mut BytesMut, bytes: &[u8]) -> Result<(), OutOfRange> {
    out.put_slice(bytes);
    Ok(())
}

fn put_bytea(out: &mut BytesMut, bytes: &[u8], binary: bool) -> Result<(), OutOfRange> {
    if binary {
        out.put_slice(bytes);
    } else {
        put_bytea_hex(out, bytes);
    }
    Ok(())
}

fn put_float4_value(out: &mut BytesMut, value: f32, binary: bool) {
    if binary {
        out.put_f32(value);
    } else {
        put_float4(out, value);
    }
}

fn put_decimal_value(out: &mut BytesMut, value: impl std::fmt::Display, scale: i32, binary: bool) {
    with_decimal_digits(value, |digits| {
        if binary {
            put_numeric_binary(out, digits, scale);
        } else {
            put_decimal(out, digits, scale);
        }
    });
}

fn put_date_value(
    out: &mut BytesMut,
    days_since_epoch: i64,
    binary: bool,
) -> Result<(), OutOfRange> {
    if binary {
        let days = days_since_epoch
            .checked_sub(i64::from(POSTGRES_EPOCH_DAYS))
            .and_then(|days| i32::try_from(days).ok())
            .ok_or(OutOfRange)?;
        out.put_i32(days);
        Ok(())
    } else {
        put_date(out, days_since_epoch)
    }
}

/// Calls `write` with each non-null value of the primitive `array`, widened to i64.
fn each_i64_value<T>(
    array: &dyn Array,
    encoded: &mut EncodedColumn,
    mut write: impl FnMut(&mut BytesMut, i64) -> Result<(), OutOfRange>,
) -> Result<(), OutOfRange>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    let values = array.as_primitive::<T>();
    each_value(array, encoded, |out, row| {
        write(out, values.value(row).into())
    })
}

/// Integers of up to 64 bits, sent as the signed Postgres integer `wire_type` names.
fn encode_integers<T>(
    array: &dyn Array,
    wire_type: WireType,
    binary: bool,
    encoded: &mut EncodedColumn,
) -> Result<(), OutOfRange>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    each_i64_value::<T>(array, encoded, |out, value| {
        match (binary, &wire_type) {
            (false, _) => put_signed(out, value),
            (true, WireType::Int2) => out.put_i16(i16::try_from(value).map_err(|_| OutOfRange)?),
            (true, WireType::Int4) => out.put_i32(i32::try_from(value).map_err(|_| OutOfRange)?),
            (true, _) => out.put_i64(value),
        }
        Ok(())
    })
}

/// A time of day `value` in `unit`, as Postgres' `time`: microseconds since midnight.
fn put_time_value(
    out: &mut BytesMut,
    value: i64,
    unit: TimeUnit,
    binary: bool,
) -> Result<(), OutOfRange> {
    let micros = micros_from(value, unit).ok_or(OutOfRange)?;
    if binary {
        if !(0..=MICROS_PER_DAY).contains(&micros) {
            return Err(OutOfRange);
        }
        out.put_i64(micros);
        Ok(())
    } else {
        put_time(out, micros)
    }
}

fn encode_timestamps(
    array: &dyn Array,
    unit: TimeUnit,
    with_time_zone: bool,
    binary: bool,
    encoded: &mut EncodedColumn,
) -> Result<(), OutOfRange> {
    let values = match unit {
        TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values(),
        TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().values(),
        TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().values(),
        TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().values(),
    };
    each_value(array, encoded, |out, row| {
        let micros = micros_from(values[row], unit).ok_or(OutOfRange)?;
        if binary {
            out.put_i64(
                micros
                    .checked_sub(POSTGRES_EPOCH_MICROS)
                    .ok_or(OutOfRange)?,
            );
            Ok(())
        } else {
            put_timestamp(out, micros, with_time_zone)
        }
    })
}

/// Types without a Postgres counterpart: Arrow's display text, in both formats.
fn encode_display_text(
    array: &dyn Array,
    column: &str,
    encoded: &mut EncodedColumn,
) -> ServerResult<Result<(), OutOfRange>> {
    let options = FormatOptions::default();
    let formatter =
        ArrayFormatter::try_new(array, &options).map_err(|_| ServerError::UnsupportedType {
            column: column.to_owned(),
            data_type: array.data_type().to_string(),
        })?;
    Ok(each_value(array, encoded, |out, row| {
        formatter.value(row).write(out).map_err(|_| OutOfRange)
    }))
}

/// A list of scalars as a one-dimensional Postgres array. The list's values are encoded
/// column-wise first, then each array is assembled from its slice of them.
fn encode_array<O: OffsetSizeTrait>(
    list: &GenericListArray<O>,
    element_type: &WireType,
    column: &str,
    format: FieldFormat,
    encoded: &mut EncodedColumn,
) -> ServerResult<Result<(), OutOfRange>> {
    let elements = encode_column(list.values().as_ref(), column, format)?;
    let element_oid = element_type.pg_type().oid();
    let offsets = list.value_offsets();
    let mut too_large = None;
    let written = each_value(list, encoded, |out, row| {
        let range = offsets[row].as_usize()..offsets[row + 1].as_usize();
        if format == FieldFormat::Binary {
            let length = i32::try_from(range.len()).map_err(|_| OutOfRange)?;
            let has_null = range
                .clone()
                .any(|element| elements.value(element).is_none());
            out.put_i32(if range.is_empty() { 0 } else { 1 });
            out.put_i32(i32::from(has_null));
            out.put_u32(element_oid);
            if !range.is_empty() {
                out.put_i32(length);
                out.put_i32(1);
            }
            for element in range {
                match elements.value(element) {
                    None => out.put_i32(-1),
                    Some(value) => match i32::try_from(value.len()) {
                        Ok(value_length) => {
                            out.put_i32(value_length);
                            out.put_slice(value);
                        }
                        Err(_) => {
                            too_large = Some(value.len());
                            return Err(OutOfRange);
                        }
                    },
                }
            }
        } else {
            out.put_u8(b'{');
            for element in range.clone() {
                if element > range.start {
                    out.put_u8(b',');
                }
                match elements.value(element) {
                    None => out.put_slice(b"NULL"),
                    Some(value) => put_array_element_text(out, value),
                }
            }
            out.put_u8(b'}');
        }
        Ok(())
    });
    match too_large {
        Some(value_bytes) => Err(ServerError::ValueTooLarge {
            column: column.to_owned(),
            value_bytes,
        }),
        None => Ok(written),
    }
}

/// An array element in text form, double-quoted when Postgres' array syntax requires it.
fn put_array_element_text(out: &mut BytesMut, value: &[u8]) {
    let needs_quotes = value.is_empty()
        || value.eq_ignore_ascii_case(b"NULL")
        || value.iter().any(|byte| {
            matches!(
                byte,
                b'"' | b'\\' | b'{' | b'}' | b',' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
            )
        });
    if !needs_quotes {
        out.put_slice(value);
        return;
    }
    out.put_u8(b'"');
    for byte in value {
        if matches!(byte, b'"' | b'\\') {
            out.put_u8(b'\\');
        }
        out.put_u8(*byte);
    }
    out.put_u8(b'"');
}

/// Encodes every column of `batch`, checking it has the columns its RowDescription or
/// CopyOutResponse announced (one format each).
fn encode_batch_columns(
    batch: &RecordBatch,
    formats: &[FieldFormat],
) -> ServerResult<Vec<EncodedColumn>> {
    if batch.num_columns() != formats.len() {
        return Err(ServerError::BatchColumnCount {
            expected: formats.len(),
            actual: batch.num_columns(),
        });
    }
    if formats.len() > COLUMNS_MAX {
        return Err(ServerError::TooManyColumns {
            columns: formats.len(),
            columns_max: COLUMNS_MAX,
        });
    }
    batch
        .columns()
        .iter()
        .zip(batch.schema_ref().fields())
        .zip(formats)
        .map(|((array, field), format)| encode_column(array.as_ref(), field.name(), *format))
        .collect()
}

/// One `DataRow` per row of `batch`, each column in its format.
pub(crate) fn encode_data_rows(
    batch: &RecordBatch,
    formats: &[FieldFormat],
) -> ServerResult<Vec<DataRow>> {
    let columns = encode_batch_columns(batch, formats)?;
    // At most COLUMNS_MAX columns, checked above.
    let field_count = columns.len() as i16;
    let value_bytes: usize = columns.iter().map(EncodedColumn::value_bytes).sum();
    let mut buffer = BytesMut::with_capacity(value_bytes + 4 * columns.len() * batch.num_rows());
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        for (column, field) in columns.iter().zip(batch.schema_ref().fields()) {
            match column.value(row) {
                None => buffer.put_i32(-1),
                Some(value) => {
                    let length =
                        i32::try_from(value.len()).map_err(|_| ServerError::ValueTooLarge {
                            column: field.name().clone(),
                            value_bytes: value.len(),
                        })?;
                    buffer.put_i32(length);
                    buffer.put_slice(value);
                }
            }
        }
        rows.push(DataRow::new(buffer.split(), field_count));
    }
    Ok(rows)
}

/// One `CopyData` line per row of `batch`: COPY's text format (tab-separated, `\N` for
/// NULL, backslash escapes), as `COPY ... TO STDOUT` without options writes it.
pub(crate) fn encode_copy_rows(batch: &RecordBatch) -> ServerResult<Vec<CopyData>> {
    let formats = vec![FieldFormat::Text; batch.num_columns()];
    let columns = encode_batch_columns(batch, &formats)?;
    let value_bytes: usize = columns.iter().map(EncodedColumn::value_bytes).sum();
    let mut buffer = BytesMut::with_capacity(value_bytes + 2 * columns.len() * batch.num_rows());
    let mut lines = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        for (index, column) in columns.iter().enumerate() {
            if index > 0 {
                buffer.put_u8(b'\t');
            }
            match column.value(row) {
                None => buffer.put_slice(b"\\N"),
                Some(value) => put_copy_text(&mut buffer, value),
            }
        }
        buffer.put_u8(b'\n');
        lines.push(CopyData::new(buffer.split().freeze()));
    }
    Ok(lines)
}

/// A value in COPY text format: backslash, and the characters that would end a field or
/// a line, are escaped.
fn put_copy_text(out: &mut BytesMut, value: &[u8]) {
    let special = |byte: &u8| matches!(byte, b'\\' | b'\t' | b'\n' | b'\r' | 0x08 | 0x0b | 0x0c);
    if !value.iter().any(special) {
        out.put_slice(value);
        return;
    }
    for byte in value {
        match byte {
            b'\\' => out.put_slice(b"\\\\"),
            b'\t' => out.put_slice(b"\\t"),
            b'\n' => out.put_slice(b"\\n"),
            b'\r' => out.put_slice(b"\\r"),
            0x08 => out.put_slice(b"\\b"),
            0x0b => out.put_slice(b"\\v"),
            0x0c => out.put_slice(b"\\f"),
            _ => out.put_u8(*byte),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray,
        DurationSecondArray, Float32Array, Float64Array, Int8Array, Int32Array, Int64Array,
        Int64Builder, ListArray, MapBuilder, StringArray, StringBuilder, StructArray,
        Time64MicrosecondArray, TimestampMillisecondArray, UInt64Array,
    };
    use arrow::datatypes::{Field, Int32Type as DictionaryKey, Schema};
    use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
    use pgwire::api::Type;
    use rust_decimal::Decimal;
    use tokio_postgres::types::FromSql;

    use super::*;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
            .collect();
        let arrays = columns.into_iter().map(|(_, array)| array).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("valid batch")
    }

    /// Each row's cells as raw values, split by their length prefixes.
    fn cells(row: &DataRow) -> Vec<Option<Vec<u8>>> {
        let mut rest = &row.data[..];
        (0..row.field_count)
            .map(|_| {
                let length = i32::from_be_bytes(rest[..4].try_into().expect("4 bytes"));
                rest = &rest[4..];
                usize::try_from(length).ok().map(|length| {
                    let value = rest[..length].to_vec();
                    rest = &rest[length..];
                    value
                })
            })
            .collect()
    }

    fn text_cells(batch: &RecordBatch) -> Vec<Vec<Option<String>>> {
        let formats = vec![FieldFormat::Text; batch.num_columns()];
        encode_data_rows(batch, &formats)
            .expect("encodes")
            .iter()
            .map(|row| {
                cells(row)
                    .into_iter()
                    .map(|cell| cell.map(|bytes| String::from_utf8(bytes).expect("UTF-8")))
                    .collect()
            })
            .collect()
    }

    fn binary_cells(batch: &RecordBatch) -> Vec<Vec<Option<Vec<u8>>>> {
        let formats = vec![FieldFormat::Binary; batch.num_columns()];
        let rows = encode_data_rows(batch, &formats).expect("encodes");
        rows.iter().map(cells).collect()
    }

    fn decode<'a, T: FromSql<'a>>(pg: &Type, cell: &'a Option<Vec<u8>>) -> T {
        T::from_sql(pg, cell.as_deref().expect("not null")).expect("client decodes it")
    }

    fn scalars() -> RecordBatch {
        let noon = 12 * 3_600_000_000i64;
        batch(vec![
            ("flag", Arc::new(BooleanArray::from(vec![Some(true), None]))),
            ("tiny", Arc::new(Int8Array::from(vec![Some(-5), None]))),
            ("count", Arc::new(Int32Array::from(vec![Some(42), None]))),
            (
                "big",
                Arc::new(Int64Array::from(vec![Some(i64::MIN), None])),
            ),
            (
                "huge",
                Arc::new(UInt64Array::from(vec![Some(u64::MAX), None])),
            ),
            ("ratio", Arc::new(Float32Array::from(vec![Some(0.1), None]))),
            (
                "reading",
                Arc::new(Float64Array::from(vec![Some(1e20), None])),
            ),
            (
                "price",
                Arc::new(
                    Decimal128Array::from(vec![Some(-12345), None])
                        .with_precision_and_scale(10, 2)
                        .expect("valid decimal"),
                ),
            ),
            (
                "name",
                Arc::new(StringArray::from(vec![Some("tab\there"), None])),
            ),
            (
                "payload",
                Arc::new(BinaryArray::from(vec![Some(&[0xde, 0xad][..]), None])),
            ),
            ("day", Arc::new(Date32Array::from(vec![Some(19_724), None]))),
            (
                "at",
                Arc::new(Time64MicrosecondArray::from(vec![
                    Some(noon + 500_000),
                    None,
                ])),
            ),
            (
                "ts",
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1_704_164_645_250),
                    None,
                ])),
            ),
            (
                "ts_utc",
                Arc::new(
                    TimestampMillisecondArray::from(vec![Some(1_704_164_645_250), None])
                        .with_timezone("+00:00"),
                ),
            ),
        ])
    }

    #[test]
    fn scalars_in_text_format_read_like_psql_output() {
        let rows = text_cells(&scalars());
        let expected = [
            "t",
            "-5",
            "42",
            "-9223372036854775808",
            "18446744073709551615",
            "0.1",
            "1e+20",
            "-123.45",
            "tab\there",
            "\\xdead",
            "2024-01-02",
            "12:00:00.5",
            "2024-01-02 03:04:05.25",
            "2024-01-02 03:04:05.25+00",
        ];
        let first: Vec<Option<String>> = expected
            .iter()
            .map(|text| Some((*text).to_owned()))
            .collect();
        assert_eq!(rows[0], first);
        assert!(
            rows[1].iter().all(Option::is_none),
            "second row is all NULL"
        );
    }

    #[test]
    fn scalars_in_binary_format_decode_in_a_real_client() {
        let rows = binary_cells(&scalars());
        let row = &rows[0];
        assert!(decode::<bool>(&Type::BOOL, &row[0]));
        assert_eq!(decode::<i16>(&Type::INT2, &row[1]), -5);
        assert_eq!(decode::<i32>(&Type::INT4, &row[2]), 42);
        assert_eq!(decode::<i64>(&Type::INT8, &row[3]), i64::MIN);
        assert_eq!(
            decode::<Decimal>(&Type::NUMERIC, &row[4]),
            Decimal::from_str("18446744073709551615").expect("decimal")
        );
        assert_eq!(decode::<f32>(&Type::FLOAT4, &row[5]), 0.1);
        assert_eq!(decode::<f64>(&Type::FLOAT8, &row[6]), 1e20);
        assert_eq!(
            decode::<Decimal>(&Type::NUMERIC, &row[7]),
            Decimal::from_str("-123.45").expect("decimal")
        );
        assert_eq!(decode::<String>(&Type::TEXT, &row[8]), "tab\there");
        assert_eq!(decode::<Vec<u8>>(&Type::BYTEA, &row[9]), vec![0xde, 0xad]);
        let day = NaiveDate::from_ymd_opt(2024, 1, 2).expect("valid date");
        assert_eq!(decode::<NaiveDate>(&Type::DATE, &row[10]), day);
        let noon = NaiveTime::from_hms_milli_opt(12, 0, 0, 500).expect("valid time");
        assert_eq!(decode::<NaiveTime>(&Type::TIME, &row[11]), noon);
        let at = day
            .and_hms_milli_opt(3, 4, 5, 250)
            .expect("valid timestamp");
        assert_eq!(decode::<NaiveDateTime>(&Type::TIMESTAMP, &row[12]), at);
        assert_eq!(
            decode::<DateTime<Utc>>(&Type::TIMESTAMPTZ, &row[13]),
            at.and_utc()
        );
        assert!(
            rows[1].iter().all(Option::is_none),
            "second row is all NULL"
        );
    }

    fn lists() -> RecordBatch {
        let numbers = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), None, Some(3)]),
            Some(vec![]),
            None,
        ]);
        let words = {
            let values = StringArray::from(vec!["a b", "", "NULL", "x\"y", "plain"]);
            let offsets = arrow::buffer::OffsetBuffer::new(vec![0, 4, 5, 5].into());
            let field = Arc::new(Field::new("item", DataType::Utf8, true));
            ListArray::new(field, offsets, Arc::new(values), None)
        };
        batch(vec![
            ("numbers", Arc::new(numbers)),
            ("words", Arc::new(words)),
        ])
    }

    #[test]
    fn lists_are_postgres_arrays_in_text_format() {
        let rows = text_cells(&lists());
        assert_eq!(rows[0][0].as_deref(), Some("{1,NULL,3}"));
        assert_eq!(rows[0][1].as_deref(), Some(r#"{"a b","","NULL","x\"y"}"#));
        assert_eq!(rows[1][0].as_deref(), Some("{}"));
        assert_eq!(rows[1][1].as_deref(), Some("{plain}"));
        assert_eq!(rows[2][0], None);
    }

    #[test]
    fn lists_are_postgres_arrays_in_binary_format() {
        let rows = binary_cells(&lists());
        let numbers: Vec<Option<i64>> = decode(&Type::INT8_ARRAY, &rows[0][0]);
        assert_eq!(numbers, vec![Some(1), None, Some(3)]);
        let empty: Vec<Option<i64>> = decode(&Type::INT8_ARRAY, &rows[1][0]);
        assert!(empty.is_empty());
        let words: Vec<String> = decode(&Type::TEXT_ARRAY, &rows[0][1]);
        assert_eq!(words, vec!["a b", "", "NULL", "x\"y"]);
    }

    #[test]
    fn structs_and_maps_are_json() {
        let point = StructArray::from(vec![
            (
                Arc::new(Field::new("x", DataType::Int32, true)),
                Arc::new(Int32Array::from(vec![Some(1), None])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("label", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec![Some("a\"b\n"), Some("c")])) as ArrayRef,
            ),
        ]);
        let mut counts = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
        counts.keys().append_value("home");
        counts.values().append_value(3);
        counts.append(true).expect("map entry");
        counts.append(true).expect("empty map");
        let rows = text_cells(&batch(vec![
            ("point", Arc::new(point)),
            ("counts", Arc::new(counts.finish())),
        ]));
        assert_eq!(rows[0][0].as_deref(), Some(r#"{"x":1,"label":"a\"b\n"}"#));
        assert_eq!(rows[1][0].as_deref(), Some(r#"{"x":null,"label":"c"}"#));
        assert_eq!(rows[0][1].as_deref(), Some(r#"{"home":3}"#));
        assert_eq!(rows[1][1].as_deref(), Some("{}"));
    }

    #[test]
    fn dictionaries_and_unmapped_types_still_send_text() {
        let dictionary: DictionaryArray<DictionaryKey> = vec!["x", "y", "x"].into_iter().collect();
        let durations = DurationSecondArray::from(vec![Some(90), Some(1), None]);
        let rows = text_cells(&batch(vec![
            ("letter", Arc::new(dictionary)),
            ("elapsed", Arc::new(durations)),
        ]));
        assert_eq!(rows[2][0].as_deref(), Some("x"));
        assert!(rows[0][1].is_some(), "durations use Arrow's display text");
        assert_eq!(rows[2][1], None);
    }

    #[test]
    fn copy_lines_escape_and_mark_nulls() {
        let batch = batch(vec![
            (
                "id",
                Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
            ),
            (
                "text",
                Arc::new(StringArray::from(vec![
                    Some("a\tb\\c\nd\re"),
                    Some("plain"),
                ])),
            ),
        ]);
        let lines = encode_copy_rows(&batch).expect("encodes");
        assert_eq!(&lines[0].data[..], b"1\ta\\tb\\\\c\\nd\\re\n");
        assert_eq!(&lines[1].data[..], b"\\N\tplain\n");
    }

    #[test]
    fn out_of_range_values_and_mismatched_batches_are_errors() {
        let far = Date32Array::from(vec![Some(i32::MAX)]);
        let error = encode_data_rows(&batch(vec![("day", Arc::new(far))]), &[FieldFormat::Text])
            .expect_err("year 5.8 million is out of range");
        assert!(
            matches!(error, ServerError::ValueOutOfRange { ref column, .. } if column == "day")
        );
        let one = batch(vec![(
            "id",
            Arc::new(Int64Array::from(vec![1])) as ArrayRef,
        )]);
        let error = encode_data_rows(&one, &[FieldFormat::Text, FieldFormat::Text])
            .expect_err("two formats for one column");
        assert!(matches!(
            error,
            ServerError::BatchColumnCount {
                expected: 2,
                actual: 1
            }
        ));
    }
}
