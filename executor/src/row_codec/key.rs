//! The key format: one memcmp-ordered, injective byte string per row of key columns, so the
//! state store's byte order is SQL's order and equal keys are equal bytes. Decoding is for
//! the tests only: the engine never reads a key back.
//!
//! Never: change how version 1 encodes anything; stored keys would no longer be found.
//!
//! # Key format, version 1
//!
//! `0x01`, then per key column a marker, `0x00` for NULL (nothing follows, so NULL sorts
//! first) or `0x01` followed by the value:
//! - BOOLEAN: `0x00` or `0x01`.
//! - Signed integers and the types stored as them (dates, times, timestamps, durations,
//!   decimals): big-endian two's complement with the sign bit flipped, at the type's width.
//! - Unsigned integers: big-endian. Fixed-size binary: its bytes.
//! - Floats: the IEEE bits, big-endian, with the sign bit flipped for positive numbers and
//!   all bits flipped for negative ones. `-0.0` is stored as `0.0` and every NaN as one
//!   positive quiet NaN, which sorts above `+Infinity`: SQL equality makes `-0.0 = 0.0` and
//!   groups all NaNs together (as PostgreSQL does), and a key must be equal bytes exactly when
//!   its values are equal. Decoding gives `0.0` and that NaN back.
//! - Strings and binary: the bytes with each `0x00` written as `0x00 0xFF`, then `0x00 0x00`.
//!   A prefix sorts first (`"a" < "a\0" < "ab"`), nothing of the next column bleeds into the
//!   order, and no key is a prefix of another, so a prefix scan over leading key columns
//!   finds exactly their keys.
//! - ARRAY: per element `0x01` then the element as a key column (its NULL marker, then its
//!   value), and `0x00` after the last: arrays compare element by element, a prefix first.
//! - STRUCT: each field as a key column (marker, then value), in the struct's field order.
//!
//! Every encoding is self-delimiting, so one column's bytes never run into the next's. ARRAY
//! and STRUCT were added to version 1 later: no key of those types could be stored before,
//! so no stored key changes. MAP has no key encoding: its entries have no order of their own,
//! so equal maps could differ in bytes.

use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::array::{ArrayRef, BooleanBuilder};
use arrow::buffer::{Buffer, NullBuffer};
use arrow::datatypes::{DataType, Float32Type, Float64Type};

use super::reader::{BytesBuilder, FixedBuilder, Reader};
use super::{ByteValues, CodecError, EncodedColumn, Offsets, fixed_width_values};

pub(super) const KEY_FORMAT_V1: u8 = 0x01;

const KEY_NULL: u8 = 0x00;
const KEY_PRESENT: u8 = 0x01;
/// Ends a string or binary key value.
const KEY_BYTES_END: [u8; 2] = [0x00, 0x00];
/// A `0x00` inside a string or binary key value.
const KEY_ESCAPED_ZERO: [u8; 2] = [0x00, 0xFF];
/// Before each element of an ARRAY key value.
const KEY_ELEMENT: u8 = 0x01;
/// After the last element of an ARRAY key value.
const KEY_ELEMENTS_END: u8 = 0x00;

/// The one NaN a float key holds: positive, quiet, no payload. Spelled out because it is part
/// of the stored format.
const CANONICAL_NAN_64: u64 = 0x7FF8_0000_0000_0000;
const CANONICAL_NAN_32: u32 = 0x7FC0_0000;

/// How the bytes of a fixed-width key type are put in memcmp order.
#[derive(Debug, Clone, Copy)]
pub(super) enum FixedKeyOrder {
    Signed,
    Unsigned,
    /// Fixed-size binary: its bytes as they are.
    Raw,
}

/// The key types and how each is laid out.
enum KeyLayout {
    Boolean,
    Float32,
    Float64,
    Fixed {
        width: usize,
        order: FixedKeyOrder,
    },
    Bytes,
    /// ARRAY and STRUCT: their elements or fields are key columns of their own.
    Nested,
}

impl KeyLayout {
    fn of(data_type: &DataType) -> Result<Self, CodecError> {
        let unsupported = || CodecError::UnsupportedKeyType {
            type_name: eddy_planner::type_name(data_type),
        };
        let fixed = |order| {
            let width = data_type.primitive_width().ok_or_else(unsupported)?;
            Ok(KeyLayout::Fixed { width, order })
        };
        match data_type {
            DataType::Boolean => Ok(KeyLayout::Boolean),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Date32
            | DataType::Date64
            | DataType::Time32(_)
            | DataType::Time64(_)
            | DataType::Timestamp(_, _)
            | DataType::Duration(_)
            | DataType::Decimal32(_, _)
            | DataType::Decimal64(_, _)
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _) => fixed(FixedKeyOrder::Signed),
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                fixed(FixedKeyOrder::Unsigned)
            }
            DataType::Float32 => Ok(KeyLayout::Float32),
            DataType::Float64 => Ok(KeyLayout::Float64),
            DataType::FixedSizeBinary(width) => Ok(KeyLayout::Fixed {
                width: usize::try_from(*width).map_err(|_| unsupported())?,
                order: FixedKeyOrder::Raw,
            }),
            DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView => Ok(KeyLayout::Bytes),
            DataType::List(_) | DataType::LargeList(_) | DataType::Struct(_) => {
                Ok(KeyLayout::Nested)
            }
            _ => Err(unsupported()),
        }
    }
}

/// One key column, downcast once.
pub(super) struct KeyWriter<'a> {
    nulls: Option<NullBuffer>,
    values: KeyValues<'a>,
}

enum KeyValues<'a> {
    Boolean(&'a BooleanArray),
    Float32(&'a [f32]),
    Float64(&'a [f64]),
    Fixed {
        values: Buffer,
        width: usize,
        order: FixedKeyOrder,
    },
    Bytes(ByteValues<'a>),
    /// An ARRAY: element `i` of row `r` is `elements`' value `offsets.range(r)`'s `i`th.
    List {
        offsets: Offsets<'a>,
        elements: Box<KeyWriter<'a>>,
    },
    Struct(Vec<KeyWriter<'a>>),
}

impl<'a> KeyWriter<'a> {
    pub(super) fn new(array: &'a dyn Array) -> Result<Self, CodecError> {
        // Each arm downcasts to the array class its data type guarantees.
        let values = match KeyLayout::of(array.data_type())? {
            KeyLayout::Boolean => KeyValues::Boolean(array.as_boolean()),
            KeyLayout::Float32 => KeyValues::Float32(array.as_primitive::<Float32Type>().values()),
            KeyLayout::Float64 => KeyValues::Float64(array.as_primitive::<Float64Type>().values()),
            KeyLayout::Fixed { width, order } => KeyValues::Fixed {
                values: fixed_width_values(array, width),
                width,
                order,
            },
            KeyLayout::Bytes => KeyValues::Bytes(ByteValues::new(array).ok_or_else(|| {
                CodecError::UnsupportedKeyType {
                    type_name: eddy_planner::type_name(array.data_type()),
                }
            })?),
            KeyLayout::Nested => Self::nested_values(array)?,
        };
        Ok(Self {
            nulls: array.logical_nulls(),
            values,
        })
    }

    pub(super) fn write_column(&self, rows: usize) -> EncodedColumn {
        let nulls = &self.nulls;
        match &self.values {
            KeyValues::Boolean(array) => {
                write_key_cells(rows, nulls, |row, out| out.push(u8::from(array.value(row))))
            }
            KeyValues::Float32(values) => write_key_cells(rows, nulls, |row, out| {
                out.extend_from_slice(&float32_key(values[row]))
            }),
            KeyValues::Float64(values) => write_key_cells(rows, nulls, |row, out| {
                out.extend_from_slice(&float64_key(values[row]))
            }),
            KeyValues::Fixed {
                values,
                width,
                order,
            } => write_key_cells(rows, nulls, |row, out| {
                write_fixed_key(&values[row * width..(row + 1) * width], *order, out)
            }),
            KeyValues::Bytes(values) => write_key_cells(rows, nulls, |row, out| {
                write_escaped(values.value(row), out)
            }),
            KeyValues::List { .. } | KeyValues::Struct(_) => {
                write_key_cells(rows, nulls, |row, out| self.write_value(row, out))
            }
        }
    }

    /// The writers of an ARRAY's elements or a STRUCT's fields.
    fn nested_values(array: &'a dyn Array) -> Result<KeyValues<'a>, CodecError> {
        // Each arm downcasts to the array class its data type guarantees.
        Ok(match array.data_type() {
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                KeyValues::List {
                    offsets: Offsets::Small(list.value_offsets()),
                    elements: Box::new(KeyWriter::new(list.values().as_ref())?),
                }
            }
            DataType::LargeList(_) => {
                let list = array.as_list::<i64>();
                KeyValues::List {
                    offsets: Offsets::Large(list.value_offsets()),
                    elements: Box::new(KeyWriter::new(list.values().as_ref())?),
                }
            }
            _ => KeyValues::Struct(
                array
                    .as_struct()
                    .columns()
                    .iter()
                    .map(|field| KeyWriter::new(field.as_ref()))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Writes value `index` of this column as a key cell: its NULL marker, then its value.
    fn write_cell(&self, index: usize, out: &mut Vec<u8>) {
        if self
            .nulls
            .as_ref()
            .is_some_and(|nulls| nulls.is_null(index))
        {
            out.push(KEY_NULL);
        } else {
            out.push(KEY_PRESENT);
            self.write_value(index, out);
        }
    }

    /// Writes value `index` (not NULL) of this column; nested values one element or field
    /// at a time.
    fn write_value(&self, index: usize, out: &mut Vec<u8>) {
        match &self.values {
            KeyValues::Boolean(array) => out.push(u8::from(array.value(index))),
            KeyValues::Float32(values) => out.extend_from_slice(&float32_key(values[index])),
            KeyValues::Float64(values) => out.extend_from_slice(&float64_key(values[index])),
            KeyValues::Fixed {
                values,
                width,
                order,
            } => write_fixed_key(&values[index * width..(index + 1) * width], *order, out),
            KeyValues::Bytes(values) => write_escaped(values.value(index), out),
            KeyValues::List { offsets, elements } => {
                for element in offsets.range(index) {
                    out.push(KEY_ELEMENT);
                    elements.write_cell(element, out);
                }
                out.push(KEY_ELEMENTS_END);
            }
            KeyValues::Struct(fields) => {
                for field in fields {
                    field.write_cell(index, out);
                }
            }
        }
    }
}

/// Encodes each row's key cell: its NULL marker, then `write_value(row, out)` unless NULL.
fn write_key_cells(
    rows: usize,
    nulls: &Option<NullBuffer>,
    write_value: impl Fn(usize, &mut Vec<u8>),
) -> EncodedColumn {
    EncodedColumn::write_each(
        rows,
        nulls,
        |out| out.push(KEY_NULL),
        |row, out| {
            out.push(KEY_PRESENT);
            write_value(row, out);
        },
    )
}

fn float64_key(value: f64) -> [u8; 8] {
    ordered_float_bits(value, value.to_bits(), CANONICAL_NAN_64).to_be_bytes()
}

fn float64_from_key(key: [u8; 8]) -> f64 {
    f64::from_bits(float_bits_from_key(u64::from_be_bytes(key)))
}

fn float32_key(value: f32) -> [u8; 4] {
    let high_half = |bits: u32| u64::from(bits) << 32;
    let ordered = ordered_float_bits(
        f64::from(value),
        high_half(value.to_bits()),
        high_half(CANONICAL_NAN_32),
    );
    // The low half is all zeros or all ones, and no part of the key.
    ((ordered >> 32) as u32).to_be_bytes()
}

fn float32_from_key(key: [u8; 4]) -> f32 {
    let bits = float_bits_from_key(u64::from(u32::from_be_bytes(key)) << 32);
    f32::from_bits((bits >> 32) as u32)
}

/// The bits of a float key (see the module documentation) for `value`, whose own IEEE `bits`
/// (a FLOAT's in the high half, so that one order serves both widths) are replaced by 0 for
/// `-0.0` and by `canonical_nan` for any NaN. Widening a FLOAT to `value` is exact, so it is
/// zero or NaN exactly when the FLOAT is.
fn ordered_float_bits(value: f64, bits: u64, canonical_nan: u64) -> u64 {
    let bits = if value == 0.0 {
        0
    } else if value.is_nan() {
        canonical_nan
    } else {
        bits
    };
    let sign = 1 << 63;
    if bits & sign != 0 { !bits } else { bits | sign }
}

/// Undoes the ordering of [`ordered_float_bits`].
fn float_bits_from_key(ordered: u64) -> u64 {
    let sign = 1 << 63;
    if ordered & sign != 0 {
        ordered & !sign
    } else {
        !ordered
    }
}

/// Writes a little-endian integer (or raw bytes) in memcmp order.
fn write_fixed_key(little_endian: &[u8], order: FixedKeyOrder, out: &mut Vec<u8>) {
    let start = out.len();
    match order {
        FixedKeyOrder::Raw => out.extend_from_slice(little_endian),
        FixedKeyOrder::Unsigned => out.extend(little_endian.iter().rev()),
        FixedKeyOrder::Signed => {
            out.extend(little_endian.iter().rev());
            // Flipping the sign bit puts negative numbers before positive ones.
            if let Some(most_significant) = out.get_mut(start) {
                *most_significant ^= 0x80;
            }
        }
    }
}

/// Undoes [`write_fixed_key`] into `little_endian`, which is as long as `key`.
fn read_fixed_key(key: &[u8], order: FixedKeyOrder, little_endian: &mut [u8]) {
    little_endian.copy_from_slice(key);
    match order {
        FixedKeyOrder::Raw => {}
        FixedKeyOrder::Unsigned => little_endian.reverse(),
        FixedKeyOrder::Signed => {
            little_endian.reverse();
            if let Some(most_significant) = little_endian.last_mut() {
                *most_significant ^= 0x80;
            }
        }
    }
}

fn write_escaped(value: &[u8], out: &mut Vec<u8>) {
    let mut parts = value.split(|&byte| byte == 0);
    if let Some(first) = parts.next() {
        out.extend_from_slice(first);
    }
    for part in parts {
        out.extend_from_slice(&KEY_ESCAPED_ZERO);
        out.extend_from_slice(part);
    }
    out.extend_from_slice(&KEY_BYTES_END);
}

fn read_escaped(reader: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
    const PAIR: &str = "0x00 0x00 or 0x00 0xFF in a string or binary key";
    loop {
        let zero = reader
            .remaining()
            .iter()
            .position(|&byte| byte == 0)
            .ok_or_else(|| reader.corrupt("the 0x00 0x00 that ends a string or binary key"))?;
        out.extend_from_slice(reader.take(zero, "string or binary key bytes")?);
        match reader.take(2, PAIR)? {
            pair if pair == KEY_BYTES_END => return Ok(()),
            pair if pair == KEY_ESCAPED_ZERO => out.push(0x00),
            _ => return Err(reader.corrupt_before(2, PAIR)),
        }
    }
}

/// Decodes one key column.
pub(super) enum KeyBuilder {
    Boolean(BooleanBuilder),
    Float32(FixedBuilder),
    Float64(FixedBuilder),
    Fixed {
        builder: FixedBuilder,
        order: FixedKeyOrder,
    },
    Bytes(BytesBuilder),
}

impl KeyBuilder {
    pub(super) fn new(data_type: &DataType, capacity: usize) -> Result<Self, CodecError> {
        Ok(match KeyLayout::of(data_type)? {
            KeyLayout::Boolean => Self::Boolean(BooleanBuilder::with_capacity(capacity)),
            KeyLayout::Float32 => Self::Float32(FixedBuilder::new(data_type, 4, capacity)),
            KeyLayout::Float64 => Self::Float64(FixedBuilder::new(data_type, 8, capacity)),
            KeyLayout::Fixed { width, order } => Self::Fixed {
                builder: FixedBuilder::new(data_type, width, capacity),
                order,
            },
            KeyLayout::Bytes => Self::Bytes(BytesBuilder::new(data_type, capacity)),
            // The engine never reads a key back, and the tests read back only flat ones.
            KeyLayout::Nested => {
                return Err(CodecError::UnsupportedKeyType {
                    type_name: eddy_planner::type_name(data_type),
                });
            }
        })
    }

    pub(super) fn read_column(&mut self, readers: &mut [Reader<'_>]) -> Result<(), CodecError> {
        match self {
            Self::Boolean(builder) => read_key_cells(readers, |reader, present| {
                builder.append_option(present.then(|| reader.boolean()).transpose()?);
                Ok(())
            }),
            Self::Float32(builder) => read_float_keys(readers, builder, "a FLOAT key", |key| {
                float32_from_key(key).to_le_bytes()
            }),
            Self::Float64(builder) => read_float_keys(readers, builder, "a DOUBLE key", |key| {
                float64_from_key(key).to_le_bytes()
            }),
            Self::Fixed { builder, order } => {
                let mut little_endian = vec![0u8; builder.width];
                read_key_cells(readers, |reader, present| {
                    if present {
                        let key = reader.take(builder.width, "a fixed-width key")?;
                        read_fixed_key(key, *order, &mut little_endian);
                        builder.append(&little_endian);
                    } else {
                        builder.append_null();
                    }
                    Ok(())
                })
            }
            Self::Bytes(builder) => read_key_cells(readers, |reader, present| {
                if present {
                    read_escaped(reader, &mut builder.data)?;
                }
                builder.end_value(present);
                Ok(())
            }),
        }
    }

    pub(super) fn finish(self) -> Result<ArrayRef, CodecError> {
        match self {
            Self::Boolean(mut builder) => Ok(Arc::new(builder.finish())),
            Self::Float32(builder) | Self::Float64(builder) | Self::Fixed { builder, .. } => {
                builder.finish()
            }
            Self::Bytes(builder) => builder.finish(),
        }
    }
}

/// Reads the float keys of a column: `WIDTH` bytes each, their value's little-endian bytes
/// from `little_endian_of`.
fn read_float_keys<const WIDTH: usize>(
    readers: &mut [Reader<'_>],
    builder: &mut FixedBuilder,
    expected: &'static str,
    little_endian_of: impl Fn([u8; WIDTH]) -> [u8; WIDTH],
) -> Result<(), CodecError> {
    read_key_cells(readers, |reader, present| {
        match present
            .then(|| reader.array::<WIDTH>(expected))
            .transpose()?
        {
            Some(key) => builder.append(&little_endian_of(key)),
            None => builder.append_null(),
        }
        Ok(())
    })
}

/// Reads each key's NULL marker, then `read(reader, present)` for its value.
fn read_key_cells(
    readers: &mut [Reader<'_>],
    mut read: impl FnMut(&mut Reader<'_>, bool) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    for reader in readers {
        let present = match reader.byte("a NULL marker")? {
            KEY_NULL => false,
            KEY_PRESENT => true,
            _ => return Err(reader.corrupt_before(1, "a NULL marker (0x00 or 0x01)")),
        };
        read(reader, present)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
