//! The value format: a row's columns in few bytes and no schema (the reader passes it),
//! written and read a column at a time, nested types value by value.
//!
//! Never: change how version 1 encodes anything; stored values would decode wrong.
//!
//! # Value format, version 1
//!
//! `0x01`, a bitmap of the columns that are not NULL (bit `i % 8` of byte `i / 8`), then the
//! value of each non-NULL column; no schema, the reader passes it. Values:
//! - BOOLEAN: one byte. Fixed-width types: their little-endian bytes, as Arrow holds them.
//! - Strings and binary: LEB128 length, bytes.
//! - ARRAY: LEB128 item count, bitmap of the non-NULL items, those items.
//! - MAP: LEB128 entry count, bitmap of 2 bits per entry (key, value), the non-NULL keys and
//!   values, entry by entry.
//! - STRUCT: bitmap of the non-NULL fields, those fields.

use std::sync::Arc;

use arrow::array::builder::NullBufferBuilder;
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBuilder, LargeListArray, ListArray, MapArray,
    NullArray, StructArray,
};
use arrow::buffer::{Buffer, NullBuffer};
use arrow::datatypes::{DataType, FieldRef, Fields};
use arrow::error::ArrowError;

use super::reader::{BytesBuilder, FixedBuilder, Reader, invalid_column, offsets32, offsets64};
use super::{
    ByteValues, CodecError, EncodedColumn, Offsets, first_offset, fixed_size_binary_width,
    fixed_width_values, is_valid,
};

// Values store fixed-width types as Arrow holds them in memory; the format says little-endian.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "the stored value format is little-endian"
);

pub(super) const VALUE_FORMAT_V1: u8 = 0x01;

/// One column (or nested child) of a batch, downcast once, for writing its values.
pub(super) struct ValueWriter<'a> {
    nulls: Option<NullBuffer>,
    values: WriterValues<'a>,
}

enum WriterValues<'a> {
    /// The NULL type: every value is NULL, so there is never one to write.
    Null,
    Boolean(&'a BooleanArray),
    Fixed {
        values: Buffer,
        width: usize,
    },
    Bytes(ByteValues<'a>),
    List {
        offsets: Offsets<'a>,
        items: Box<ValueWriter<'a>>,
    },
    Map {
        offsets: Offsets<'a>,
        keys: Box<ValueWriter<'a>>,
        values: Box<ValueWriter<'a>>,
    },
    Struct(Vec<ValueWriter<'a>>),
}

impl<'a> ValueWriter<'a> {
    pub(super) fn new(array: &'a dyn Array) -> Result<Self, CodecError> {
        let data_type = array.data_type();
        // Each arm downcasts to the array class its data type guarantees.
        let values = match data_type {
            DataType::Null => WriterValues::Null,
            DataType::Boolean => WriterValues::Boolean(array.as_boolean()),
            DataType::FixedSizeBinary(width) => {
                let width = fixed_size_binary_width(data_type, *width)?;
                WriterValues::Fixed {
                    values: fixed_width_values(array, width),
                    width,
                }
            }
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                WriterValues::List {
                    offsets: Offsets::Small(list.value_offsets()),
                    items: Box::new(ValueWriter::new(list.values().as_ref())?),
                }
            }
            DataType::LargeList(_) => {
                let list = array.as_list::<i64>();
                WriterValues::List {
                    offsets: Offsets::Large(list.value_offsets()),
                    items: Box::new(ValueWriter::new(list.values().as_ref())?),
                }
            }
            DataType::Map(_, _) => {
                let map = array.as_map();
                WriterValues::Map {
                    offsets: Offsets::Small(map.value_offsets()),
                    keys: Box::new(ValueWriter::new(map.keys().as_ref())?),
                    values: Box::new(ValueWriter::new(map.values().as_ref())?),
                }
            }
            DataType::Struct(_) => WriterValues::Struct(
                array
                    .as_struct()
                    .columns()
                    .iter()
                    .map(|field| ValueWriter::new(field.as_ref()))
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                if let Some(values) = ByteValues::new(array) {
                    WriterValues::Bytes(values)
                } else if let Some(width) = data_type.primitive_width() {
                    WriterValues::Fixed {
                        values: fixed_width_values(array, width),
                        width,
                    }
                } else {
                    return Err(CodecError::UnsupportedValueType {
                        type_name: eddy_planner::type_name(data_type),
                    });
                }
            }
        };
        Ok(Self {
            nulls: array.logical_nulls(),
            values,
        })
    }

    pub(super) fn is_valid(&self, index: usize) -> bool {
        is_valid(&self.nulls, index)
    }

    /// Writes every row's value (nothing for NULLs, which the row's bitmap records).
    pub(super) fn write_column(&self, rows: usize) -> EncodedColumn {
        let nulls = &self.nulls;
        match &self.values {
            WriterValues::Boolean(array) => {
                write_value_cells(rows, nulls, |row, out| out.push(u8::from(array.value(row))))
            }
            WriterValues::Fixed { values, width } => write_value_cells(rows, nulls, |row, out| {
                out.extend_from_slice(&values[row * width..(row + 1) * width])
            }),
            WriterValues::Bytes(values) => {
                write_value_cells(rows, nulls, |row, out| write_bytes(values.value(row), out))
            }
            _ => write_value_cells(rows, nulls, |row, out| self.write(row, out)),
        }
    }

    /// Writes the value at `index`, which is not NULL.
    fn write(&self, index: usize, out: &mut Vec<u8>) {
        match &self.values {
            WriterValues::Null => {}
            WriterValues::Boolean(array) => out.push(u8::from(array.value(index))),
            WriterValues::Fixed { values, width } => {
                out.extend_from_slice(&values[index * width..(index + 1) * width])
            }
            WriterValues::Bytes(values) => write_bytes(values.value(index), out),
            WriterValues::List { offsets, items } => {
                let range = offsets.range(index);
                write_length(range.len(), out);
                write_bitmap(out, range.len(), |item| items.is_valid(range.start + item));
                for item in range {
                    if items.is_valid(item) {
                        items.write(item, out);
                    }
                }
            }
            WriterValues::Map {
                offsets,
                keys,
                values,
            } => {
                let range = offsets.range(index);
                write_length(range.len(), out);
                write_bitmap(out, 2 * range.len(), |bit| {
                    let entry = range.start + bit / 2;
                    if bit % 2 == 0 {
                        keys.is_valid(entry)
                    } else {
                        values.is_valid(entry)
                    }
                });
                for entry in range {
                    if keys.is_valid(entry) {
                        keys.write(entry, out);
                    }
                    if values.is_valid(entry) {
                        values.write(entry, out);
                    }
                }
            }
            WriterValues::Struct(fields) => {
                write_bitmap(out, fields.len(), |field| fields[field].is_valid(index));
                for field in fields {
                    if field.is_valid(index) {
                        field.write(index, out);
                    }
                }
            }
        }
    }
}

/// Encodes each row's value cell: nothing for NULL (the row's bitmap records it), else
/// `write_value(row, out)`.
fn write_value_cells(
    rows: usize,
    nulls: &Option<NullBuffer>,
    write_value: impl Fn(usize, &mut Vec<u8>),
) -> EncodedColumn {
    EncodedColumn::write_each(rows, nulls, |_| {}, write_value)
}

fn write_bytes(value: &[u8], out: &mut Vec<u8>) {
    write_length(value.len(), out);
    out.extend_from_slice(value);
}

/// LEB128: 7 bits a byte, low bits first, high bit set on all but the last byte.
fn write_length(length: usize, out: &mut Vec<u8>) {
    let mut rest = length as u64;
    while rest >= 0x80 {
        out.push((rest & 0x7F) as u8 | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// Bit `i % 8` of byte `i / 8` is set when `is_set(i)`.
pub(super) fn write_bitmap(out: &mut Vec<u8>, bits: usize, is_set: impl Fn(usize) -> bool) {
    for first in (0..bits).step_by(8) {
        let mut byte = 0u8;
        for bit in 0..(bits - first).min(8) {
            if is_set(first + bit) {
                byte |= 1 << bit;
            }
        }
        out.push(byte);
    }
}

/// `bitmap` has at least `bit / 8 + 1` bytes: readers take `bits.div_ceil(8)` bytes.
fn bit_is_set(bitmap: &[u8], bit: usize) -> bool {
    bitmap[bit / 8] & (1 << (bit % 8)) != 0
}

/// A stored value being decoded, with its columns' NULL bitmap.
pub(super) struct RowReader<'a> {
    pub(super) reader: Reader<'a>,
    pub(super) present: &'a [u8],
}

/// Decodes one column (or nested child) of stored values.
pub(super) enum ValueBuilder {
    Null {
        len: usize,
    },
    Boolean(BooleanBuilder),
    Fixed(FixedBuilder),
    Bytes(BytesBuilder),
    List {
        field: FieldRef,
        large: bool,
        /// Starts with 0, then the end of each list in `items`.
        offsets: Vec<usize>,
        items: Box<ValueBuilder>,
        nulls: NullBufferBuilder,
    },
    Map {
        field: FieldRef,
        entry_fields: Fields,
        ordered: bool,
        offsets: Vec<usize>,
        keys: Box<ValueBuilder>,
        values: Box<ValueBuilder>,
        nulls: NullBufferBuilder,
    },
    Struct {
        fields: Fields,
        children: Vec<ValueBuilder>,
        nulls: NullBufferBuilder,
    },
}

impl ValueBuilder {
    pub(super) fn new(data_type: &DataType, capacity: usize) -> Result<Self, CodecError> {
        let unsupported = || CodecError::UnsupportedValueType {
            type_name: eddy_planner::type_name(data_type),
        };
        Ok(match data_type {
            DataType::Null => Self::Null { len: 0 },
            DataType::Boolean => Self::Boolean(BooleanBuilder::with_capacity(capacity)),
            DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView => Self::Bytes(BytesBuilder::new(data_type, capacity)),
            DataType::FixedSizeBinary(width) => Self::Fixed(FixedBuilder::new(
                data_type,
                fixed_size_binary_width(data_type, *width)?,
                capacity,
            )),
            DataType::List(field) | DataType::LargeList(field) => Self::List {
                field: field.clone(),
                large: matches!(data_type, DataType::LargeList(_)),
                offsets: first_offset(capacity),
                items: Box::new(Self::new(field.data_type(), 0)?),
                nulls: NullBufferBuilder::new(capacity),
            },
            DataType::Map(field, ordered) => {
                let DataType::Struct(entry_fields) = field.data_type() else {
                    return Err(unsupported());
                };
                if entry_fields.len() != 2 {
                    return Err(unsupported());
                }
                let (key_field, value_field) = (&entry_fields[0], &entry_fields[1]);
                Self::Map {
                    field: field.clone(),
                    entry_fields: entry_fields.clone(),
                    ordered: *ordered,
                    offsets: first_offset(capacity),
                    keys: Box::new(Self::new(key_field.data_type(), 0)?),
                    values: Box::new(Self::new(value_field.data_type(), 0)?),
                    nulls: NullBufferBuilder::new(capacity),
                }
            }
            DataType::Struct(fields) => Self::Struct {
                fields: fields.clone(),
                children: fields
                    .iter()
                    .map(|field| Self::new(field.data_type(), capacity))
                    .collect::<Result<_, _>>()?,
                nulls: NullBufferBuilder::new(capacity),
            },
            _ => Self::Fixed(FixedBuilder::new(
                data_type,
                data_type.primitive_width().ok_or_else(unsupported)?,
                capacity,
            )),
        })
    }

    /// Reads column `column` of every row: flat types in one loop each, nested ones value by
    /// value.
    pub(super) fn read_column(
        &mut self,
        rows: &mut [RowReader<'_>],
        column: usize,
    ) -> Result<(), CodecError> {
        match self {
            Self::Boolean(builder) => read_value_cells(rows, column, |reader, present| {
                builder.append_option(present.then(|| reader.boolean()).transpose()?);
                Ok(())
            }),
            Self::Fixed(builder) => read_value_cells(rows, column, |reader, present| {
                if present {
                    builder.append(reader.take(builder.width, "a fixed-width value")?);
                } else {
                    builder.append_null();
                }
                Ok(())
            }),
            Self::Bytes(builder) => read_value_cells(rows, column, |reader, present| {
                if present {
                    read_bytes(reader, builder)?;
                }
                builder.end_value(present);
                Ok(())
            }),
            nested => read_value_cells(rows, column, |reader, present| {
                nested.read_or_null(reader, present)
            }),
        }
    }

    /// Reads one value that is not NULL.
    fn read(&mut self, reader: &mut Reader<'_>) -> Result<(), CodecError> {
        match self {
            Self::Null { .. } => Err(reader.corrupt("no value for the NULL type")),
            Self::Boolean(builder) => {
                builder.append_value(reader.boolean()?);
                Ok(())
            }
            Self::Fixed(builder) => {
                builder.append(reader.take(builder.width, "a fixed-width value")?);
                Ok(())
            }
            Self::Bytes(builder) => {
                read_bytes(reader, builder)?;
                builder.end_value(true);
                Ok(())
            }
            Self::List {
                offsets,
                items,
                nulls,
                ..
            } => {
                let count = reader.length("an ARRAY length")?;
                let present = reader.take(count.div_ceil(8), "an ARRAY's NULL bitmap")?;
                for item in 0..count {
                    items.read_or_null(reader, bit_is_set(present, item))?;
                }
                push_end(offsets, count);
                nulls.append_non_null();
                Ok(())
            }
            Self::Map {
                offsets,
                keys,
                values,
                nulls,
                ..
            } => {
                let count = reader.length("a MAP length")?;
                let present = reader.take((2 * count).div_ceil(8), "a MAP's NULL bitmap")?;
                for entry in 0..count {
                    keys.read_or_null(reader, bit_is_set(present, 2 * entry))?;
                    values.read_or_null(reader, bit_is_set(present, 2 * entry + 1))?;
                }
                push_end(offsets, count);
                nulls.append_non_null();
                Ok(())
            }
            Self::Struct {
                children, nulls, ..
            } => {
                let present = reader.take(children.len().div_ceil(8), "a STRUCT's NULL bitmap")?;
                for (field, child) in children.iter_mut().enumerate() {
                    child.read_or_null(reader, bit_is_set(present, field))?;
                }
                nulls.append_non_null();
                Ok(())
            }
        }
    }

    fn read_or_null(&mut self, reader: &mut Reader<'_>, present: bool) -> Result<(), CodecError> {
        if present {
            self.read(reader)
        } else {
            self.append_null();
            Ok(())
        }
    }

    fn append_null(&mut self) {
        match self {
            Self::Null { len } => *len += 1,
            Self::Boolean(builder) => builder.append_null(),
            Self::Fixed(builder) => builder.append_null(),
            Self::Bytes(builder) => builder.end_value(false),
            Self::List { offsets, nulls, .. } | Self::Map { offsets, nulls, .. } => {
                push_end(offsets, 0);
                nulls.append_null();
            }
            Self::Struct {
                children, nulls, ..
            } => {
                // A struct's fields have a slot for every row, NULL rows included.
                for child in children {
                    child.append_null();
                }
                nulls.append_null();
            }
        }
    }

    pub(super) fn finish(self) -> Result<ArrayRef, CodecError> {
        match self {
            Self::Null { len } => Ok(Arc::new(NullArray::new(len))),
            Self::Boolean(mut builder) => Ok(Arc::new(builder.finish())),
            Self::Fixed(builder) => builder.finish(),
            Self::Bytes(builder) => builder.finish(),
            Self::List {
                field,
                large,
                offsets,
                items,
                mut nulls,
            } => {
                let items = items.finish()?;
                let data_type = if large {
                    DataType::LargeList(field.clone())
                } else {
                    DataType::List(field.clone())
                };
                let array: Result<ArrayRef, ArrowError> = if large {
                    LargeListArray::try_new(field, offsets64(offsets), items, nulls.finish())
                        .map(|array| Arc::new(array) as ArrayRef)
                } else {
                    offsets32(offsets).and_then(|offsets| {
                        Ok(
                            Arc::new(ListArray::try_new(field, offsets, items, nulls.finish())?)
                                as ArrayRef,
                        )
                    })
                };
                array.map_err(invalid_column(&data_type))
            }
            Self::Map {
                field,
                entry_fields,
                ordered,
                offsets,
                keys,
                values,
                mut nulls,
            } => {
                let data_type = DataType::Map(field.clone(), ordered);
                let entries = vec![keys.finish()?, values.finish()?];
                let array = StructArray::try_new(entry_fields, entries, None).and_then(|entries| {
                    MapArray::try_new(field, offsets32(offsets)?, entries, nulls.finish(), ordered)
                });
                Ok(Arc::new(array.map_err(invalid_column(&data_type))?))
            }
            Self::Struct {
                fields,
                children,
                mut nulls,
            } => {
                let data_type = DataType::Struct(fields.clone());
                let len = nulls.len();
                let children = children
                    .into_iter()
                    .map(ValueBuilder::finish)
                    .collect::<Result<Vec<_>, _>>()?;
                let array = StructArray::try_new_with_length(fields, children, nulls.finish(), len)
                    .map_err(invalid_column(&data_type))?;
                Ok(Arc::new(array))
            }
        }
    }
}

/// Calls `read(reader, present)` for column `column` of every row.
fn read_value_cells(
    rows: &mut [RowReader<'_>],
    column: usize,
    mut read: impl FnMut(&mut Reader<'_>, bool) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    for row in rows {
        let present = bit_is_set(row.present, column);
        read(&mut row.reader, present)?;
    }
    Ok(())
}

/// Appends the end of a list of `count` items after the previous one.
fn push_end(offsets: &mut Vec<usize>, count: usize) {
    // Never empty: the offsets start with 0. Never overflows: every item took at least a bit
    // of the stored bytes.
    let previous = offsets.last().copied().unwrap_or(0);
    offsets.push(previous + count);
}

fn read_bytes(reader: &mut Reader<'_>, builder: &mut BytesBuilder) -> Result<(), CodecError> {
    let length = reader.length("a string or binary length")?;
    let bytes = reader.take(length, "string or binary bytes")?;
    builder.data.extend_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests;
