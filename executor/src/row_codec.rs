//! Byte encodings of Arrow rows for keyed state in the state store: memcmp-ordered keys (a
//! table's primary key, an aggregation's group key) and compact row values.
//!
//! Keys and values are read back after restarts and upgrades, so each starts with a format
//! version byte, and decoding trusts nothing it reads: unknown versions, corrupt or truncated
//! bytes are a [`CodecError`], never a panic.
//!
//! Keys are only ever compared and looked up, never decoded by the engine; `decode_keys`
//! exists for the tests that prove the encoding round-trips and orders like SQL.
//!
//! Never: change how an existing format version encodes anything. Stored keys would no longer
//! be found and stored values would decode wrong; a new encoding gets a new version byte and
//! decoding keeps reading the old ones.
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
//!
//! Both encoders and decoders work a column at a time over all rows (decoding keeps a
//! cursor per row), so flat columns are downcast once and never go through `ScalarValue`.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::builder::NullBufferBuilder;
use arrow::array::{
    Array, ArrayData, ArrayRef, AsArray, BinaryArray, BinaryViewArray, BooleanArray,
    BooleanBuilder, LargeBinaryArray, LargeListArray, LargeStringArray, ListArray, MapArray,
    NullArray, StringArray, StringViewArray, StructArray, make_array,
};
use arrow::buffer::{Buffer, MutableBuffer, NullBuffer, OffsetBuffer};
use arrow::datatypes::{
    DataType, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type, FieldRef, Fields,
    Float32Type, Float64Type, SchemaRef,
};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

// Values store fixed-width types as Arrow holds them in memory; the format says little-endian.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "the stored value format is little-endian"
);

const KEY_FORMAT_V1: u8 = 0x01;
const VALUE_FORMAT_V1: u8 = 0x01;

const KEY_NULL: u8 = 0x00;
const KEY_PRESENT: u8 = 0x01;
/// Ends a string or binary key value.
const KEY_BYTES_END: [u8; 2] = [0x00, 0x00];
/// A `0x00` inside a string or binary key value.
const KEY_ESCAPED_ZERO: [u8; 2] = [0x00, 0xFF];

/// The one NaN a float key holds: positive, quiet, no payload. Spelled out because it is part
/// of the stored format.
const CANONICAL_NAN_64: u64 = 0x7FF8_0000_0000_0000;
const CANONICAL_NAN_32: u32 = 0x7FC0_0000;

/// What a stored byte string is, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Key,
    Value,
}

impl fmt::Display for Encoding {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Encoding::Key => "key",
            Encoding::Value => "value",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("a PRIMARY KEY or GROUP BY key of type {type_name} is not supported")]
    UnsupportedKeyType { type_name: String },
    #[error("a column of type {type_name} cannot be kept in table state")]
    UnsupportedValueType { type_name: String },
    /// A caller's mistake: key columns must all have the rows asked for.
    #[error("key column {column} has {actual} rows where {expected} were expected")]
    KeyColumnLength {
        column: usize,
        actual: usize,
        expected: usize,
    },
    #[error(
        "stored {encoding} {index} has format version {version}, but this version of Eddy \
         reads only version {supported}"
    )]
    UnknownVersion {
        encoding: Encoding,
        index: usize,
        version: u8,
        supported: u8,
    },
    /// `index` is the position of the key or value in the slice passed to decode.
    #[error("corrupt stored {encoding} {index}: expected {expected} at byte {position}")]
    Corrupt {
        encoding: Encoding,
        index: usize,
        position: usize,
        expected: &'static str,
    },
    /// The bytes parsed but their values break the column type (invalid UTF-8, a decimal
    /// beyond its precision, a NULL in a non-nullable field); `what` names the column type or
    /// the schema.
    #[error("corrupt stored state: decoded values do not fit {what}: {source}")]
    InvalidColumn { what: String, source: ArrowError },
}

/// Encoded keys or values of a batch's rows, in one buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRows {
    bytes: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` is row `i`; starts with 0.
    offsets: Vec<usize>,
}

impl EncodedRows {
    fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self {
            bytes: Vec::with_capacity(bytes),
            offsets,
        }
    }

    fn end_row(&mut self) {
        self.offsets.push(self.bytes.len());
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.offsets
            .windows(2)
            .map(|bounds| &self.bytes[bounds[0]..bounds[1]])
    }
}

/// Encodes the key columns of `rows` rows: one memcmp-ordered, injective byte string per row
/// (see the module documentation). With no key columns every row gets the same key.
pub fn encode_keys(columns: &[ArrayRef], rows: usize) -> Result<EncodedRows, CodecError> {
    let writers = columns
        .iter()
        .enumerate()
        .map(|(column, array)| {
            if array.len() != rows {
                return Err(CodecError::KeyColumnLength {
                    column,
                    actual: array.len(),
                    expected: rows,
                });
            }
            KeyWriter::new(array.as_ref())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let encoded_columns: Vec<EncodedColumn> = writers
        .iter()
        .map(|writer| writer.write_column(rows))
        .collect();
    Ok(interleave(rows, &encoded_columns, |_, out| {
        out.push(KEY_FORMAT_V1)
    }))
}

/// Decodes keys made by [`encode_keys`] from columns of `types`, one array per type.
#[cfg(test)]
pub fn decode_keys<K: AsRef<[u8]>>(
    types: &[DataType],
    keys: &[K],
) -> Result<Vec<ArrayRef>, CodecError> {
    let mut builders = types
        .iter()
        .map(|data_type| KeyBuilder::new(data_type, keys.len()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut readers = keys
        .iter()
        .enumerate()
        .map(|(index, key)| {
            let mut reader = Reader::new(key.as_ref(), index, Encoding::Key);
            reader.expect_version(KEY_FORMAT_V1)?;
            Ok(reader)
        })
        .collect::<Result<Vec<_>, CodecError>>()?;
    for builder in &mut builders {
        builder.read_column(&mut readers)?;
    }
    for reader in &readers {
        reader.expect_end()?;
    }
    builders.into_iter().map(KeyBuilder::finish).collect()
}

/// Encodes every row of `batch` as a value (see the module documentation).
pub fn encode_rows(batch: &RecordBatch) -> Result<EncodedRows, CodecError> {
    let rows = batch.num_rows();
    let writers = batch
        .columns()
        .iter()
        .map(|column| ValueWriter::new(column.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let encoded_columns: Vec<EncodedColumn> = writers
        .iter()
        .map(|writer| writer.write_column(rows))
        .collect();
    Ok(interleave(rows, &encoded_columns, |row, out| {
        out.push(VALUE_FORMAT_V1);
        write_bitmap(out, writers.len(), |column| writers[column].is_valid(row));
    }))
}

/// Decodes values made by [`encode_rows`] for a batch of `schema` back into one batch.
pub fn decode_rows<V: AsRef<[u8]>>(
    schema: &SchemaRef,
    values: &[V],
) -> Result<RecordBatch, CodecError> {
    let fields = schema.fields();
    let mut builders = fields
        .iter()
        .map(|field| ValueBuilder::new(field.data_type(), values.len()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let mut reader = Reader::new(value.as_ref(), index, Encoding::Value);
            reader.expect_version(VALUE_FORMAT_V1)?;
            let present = reader.take(fields.len().div_ceil(8), "the row's NULL bitmap")?;
            Ok(RowReader { reader, present })
        })
        .collect::<Result<Vec<_>, CodecError>>()?;
    for (column, builder) in builders.iter_mut().enumerate() {
        builder.read_column(&mut rows, column)?;
    }
    for row in &rows {
        row.reader.expect_end()?;
    }
    let columns = builders
        .into_iter()
        .map(ValueBuilder::finish)
        .collect::<Result<Vec<_>, _>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(values.len()));
    RecordBatch::try_new_with_options(schema.clone(), columns, &options).map_err(|source| {
        CodecError::InvalidColumn {
            what: "the schema".into(),
            source,
        }
    })
}

/// One column's encoded cells, in row order.
struct EncodedColumn {
    bytes: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` is row `i`'s cell; starts with 0.
    offsets: Vec<usize>,
}

impl EncodedColumn {
    /// Encodes each row's cell with `write_cell(row, out)`.
    fn write_each(rows: usize, mut write_cell: impl FnMut(usize, &mut Vec<u8>)) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        let mut bytes = Vec::new();
        for row in 0..rows {
            write_cell(row, &mut bytes);
            offsets.push(bytes.len());
        }
        Self { bytes, offsets }
    }

    fn cell(&self, row: usize) -> &[u8] {
        &self.bytes[self.offsets[row]..self.offsets[row + 1]]
    }
}

/// Assembles rows from encoded columns: per row a header, then each column's cell.
fn interleave(
    rows: usize,
    columns: &[EncodedColumn],
    mut write_header: impl FnMut(usize, &mut Vec<u8>),
) -> EncodedRows {
    let cells: usize = columns.iter().map(|column| column.bytes.len()).sum();
    let header = 1 + columns.len().div_ceil(8);
    let mut encoded = EncodedRows::with_capacity(rows, cells + rows * header);
    for row in 0..rows {
        write_header(row, &mut encoded.bytes);
        for column in columns {
            encoded.bytes.extend_from_slice(column.cell(row));
        }
        encoded.end_row();
    }
    encoded
}

fn is_valid(nulls: &Option<NullBuffer>, index: usize) -> bool {
    nulls.as_ref().is_none_or(|nulls| nulls.is_valid(index))
}

/// The values buffer of a fixed-width array, cut to the array's own values.
fn fixed_width_values(array: &dyn Array, width: usize) -> Buffer {
    let data = array.to_data();
    // Arrays of fixed-width types hold their values in buffer 0, `offset` values in; a valid
    // array's buffer covers `offset + len` values.
    data.buffers()[0].slice_with_length(data.offset() * width, data.len() * width)
}

fn fixed_size_binary_width(data_type: &DataType, width: i32) -> Result<usize, CodecError> {
    usize::try_from(width).map_err(|_| CodecError::UnsupportedValueType {
        type_name: eddy_planner::type_name(data_type),
    })
}

/// The values of a string or binary column, whatever its offsets or views.
enum ByteValues<'a> {
    Offsets32 { offsets: &'a [i32], data: &'a [u8] },
    Offsets64 { offsets: &'a [i64], data: &'a [u8] },
    Views(BinaryViewArray),
}

impl<'a> ByteValues<'a> {
    /// `None` unless `array` is a string or binary array.
    fn new(array: &'a dyn Array) -> Option<Self> {
        // Each arm downcasts to the array class its data type guarantees.
        Some(match array.data_type() {
            DataType::Utf8 => {
                let array = array.as_string::<i32>();
                Self::Offsets32 {
                    offsets: array.value_offsets(),
                    data: array.value_data(),
                }
            }
            DataType::LargeUtf8 => {
                let array = array.as_string::<i64>();
                Self::Offsets64 {
                    offsets: array.value_offsets(),
                    data: array.value_data(),
                }
            }
            DataType::Binary => {
                let array = array.as_binary::<i32>();
                Self::Offsets32 {
                    offsets: array.value_offsets(),
                    data: array.value_data(),
                }
            }
            DataType::LargeBinary => {
                let array = array.as_binary::<i64>();
                Self::Offsets64 {
                    offsets: array.value_offsets(),
                    data: array.value_data(),
                }
            }
            DataType::Utf8View => Self::Views(array.as_string_view().clone().to_binary_view()),
            DataType::BinaryView => Self::Views(array.as_binary_view().clone()),
            _ => return None,
        })
    }

    fn value(&self, index: usize) -> &[u8] {
        match self {
            Self::Offsets32 { offsets, data } => {
                &data[offsets[index] as usize..offsets[index + 1] as usize]
            }
            Self::Offsets64 { offsets, data } => {
                &data[offsets[index] as usize..offsets[index + 1] as usize]
            }
            Self::Views(array) => array.value(index),
        }
    }
}

/// How the bytes of a fixed-width key type are put in memcmp order.
#[derive(Debug, Clone, Copy)]
enum FixedKeyOrder {
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
    Fixed { width: usize, order: FixedKeyOrder },
    Bytes,
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
            _ => Err(unsupported()),
        }
    }
}

/// One key column, downcast once.
struct KeyWriter<'a> {
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
}

impl<'a> KeyWriter<'a> {
    fn new(array: &'a dyn Array) -> Result<Self, CodecError> {
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
        };
        Ok(Self {
            nulls: array.logical_nulls(),
            values,
        })
    }

    fn write_column(&self, rows: usize) -> EncodedColumn {
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
        }
    }
}

/// Encodes each row's key cell: its NULL marker, then `write_value(row, out)` unless NULL.
fn write_key_cells(
    rows: usize,
    nulls: &Option<NullBuffer>,
    write_value: impl Fn(usize, &mut Vec<u8>),
) -> EncodedColumn {
    EncodedColumn::write_each(rows, |row, out| {
        if is_valid(nulls, row) {
            out.push(KEY_PRESENT);
            write_value(row, out);
        } else {
            out.push(KEY_NULL);
        }
    })
}

fn float64_key(value: f64) -> [u8; 8] {
    let bits = if value == 0.0 {
        0
    } else if value.is_nan() {
        CANONICAL_NAN_64
    } else {
        value.to_bits()
    };
    let sign = 1 << 63;
    let ordered = if bits & sign != 0 { !bits } else { bits | sign };
    ordered.to_be_bytes()
}

#[cfg(test)]
fn float64_from_key(key: [u8; 8]) -> f64 {
    let ordered = u64::from_be_bytes(key);
    let sign = 1 << 63;
    f64::from_bits(if ordered & sign != 0 {
        ordered & !sign
    } else {
        !ordered
    })
}

fn float32_key(value: f32) -> [u8; 4] {
    let bits = if value == 0.0 {
        0
    } else if value.is_nan() {
        CANONICAL_NAN_32
    } else {
        value.to_bits()
    };
    let sign = 1 << 31;
    let ordered = if bits & sign != 0 { !bits } else { bits | sign };
    ordered.to_be_bytes()
}

#[cfg(test)]
fn float32_from_key(key: [u8; 4]) -> f32 {
    let ordered = u32::from_be_bytes(key);
    let sign = 1 << 31;
    f32::from_bits(if ordered & sign != 0 {
        ordered & !sign
    } else {
        !ordered
    })
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
#[cfg(test)]
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

#[cfg(test)]
fn read_escaped(reader: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
    loop {
        let rest = &reader.bytes[reader.position..];
        let zero = rest
            .iter()
            .position(|&byte| byte == 0)
            .ok_or_else(|| reader.corrupt("the 0x00 0x00 that ends a string or binary key"))?;
        out.extend_from_slice(&rest[..zero]);
        reader.position += zero;
        match reader.take(2, "0x00 0x00 or 0x00 0xFF in a string or binary key")? {
            pair if pair == KEY_BYTES_END => return Ok(()),
            pair if pair == KEY_ESCAPED_ZERO => out.push(0x00),
            _ => {
                reader.position -= 2;
                return Err(reader.corrupt("0x00 0x00 or 0x00 0xFF in a string or binary key"));
            }
        }
    }
}

/// One column (or nested child) of a batch, downcast once, for writing its values.
struct ValueWriter<'a> {
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
        offsets: ListOffsets<'a>,
        items: Box<ValueWriter<'a>>,
    },
    Map {
        offsets: ListOffsets<'a>,
        keys: Box<ValueWriter<'a>>,
        values: Box<ValueWriter<'a>>,
    },
    Struct(Vec<ValueWriter<'a>>),
}

enum ListOffsets<'a> {
    Small(&'a [i32]),
    Large(&'a [i64]),
}

impl ListOffsets<'_> {
    fn range(&self, index: usize) -> Range<usize> {
        match self {
            Self::Small(offsets) => offsets[index] as usize..offsets[index + 1] as usize,
            Self::Large(offsets) => offsets[index] as usize..offsets[index + 1] as usize,
        }
    }
}

impl<'a> ValueWriter<'a> {
    fn new(array: &'a dyn Array) -> Result<Self, CodecError> {
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
                    offsets: ListOffsets::Small(list.value_offsets()),
                    items: Box::new(ValueWriter::new(list.values().as_ref())?),
                }
            }
            DataType::LargeList(_) => {
                let list = array.as_list::<i64>();
                WriterValues::List {
                    offsets: ListOffsets::Large(list.value_offsets()),
                    items: Box::new(ValueWriter::new(list.values().as_ref())?),
                }
            }
            DataType::Map(_, _) => {
                let map = array.as_map();
                WriterValues::Map {
                    offsets: ListOffsets::Small(map.value_offsets()),
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

    fn is_valid(&self, index: usize) -> bool {
        is_valid(&self.nulls, index)
    }

    /// Writes every row's value (nothing for NULLs, which the row's bitmap records).
    fn write_column(&self, rows: usize) -> EncodedColumn {
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
    EncodedColumn::write_each(rows, |row, out| {
        if is_valid(nulls, row) {
            write_value(row, out);
        }
    })
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
fn write_bitmap(out: &mut Vec<u8>, bits: usize, is_set: impl Fn(usize) -> bool) {
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

/// A cursor over one stored key or value.
struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
    index: usize,
    encoding: Encoding,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], index: usize, encoding: Encoding) -> Self {
        Self {
            bytes,
            position: 0,
            index,
            encoding,
        }
    }

    fn corrupt(&self, expected: &'static str) -> CodecError {
        CodecError::Corrupt {
            encoding: self.encoding,
            index: self.index,
            position: self.position,
            expected,
        }
    }

    fn byte(&mut self, expected: &'static str) -> Result<u8, CodecError> {
        let byte = *self
            .bytes
            .get(self.position)
            .ok_or_else(|| self.corrupt(expected))?;
        self.position += 1;
        Ok(byte)
    }

    fn take(&mut self, length: usize, expected: &'static str) -> Result<&'a [u8], CodecError> {
        let end = self
            .position
            .checked_add(length)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.corrupt(expected))?;
        let taken = &self.bytes[self.position..end];
        self.position = end;
        Ok(taken)
    }

    fn length(&mut self, expected: &'static str) -> Result<usize, CodecError> {
        let start = self.position;
        let mut length: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte(expected)?;
            let bits = u64::from(byte & 0x7F);
            if shift == 63 && bits > 1 {
                self.position = start;
                return Err(self.corrupt(expected));
            }
            length |= bits << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(length).map_err(|_| {
                    self.position = start;
                    self.corrupt(expected)
                });
            }
        }
        self.position = start;
        Err(self.corrupt(expected))
    }

    #[cfg(test)]
    fn array<const N: usize>(&mut self, expected: &'static str) -> Result<[u8; N], CodecError> {
        let bytes = self.take(N, expected)?;
        bytes.try_into().map_err(|_| self.corrupt(expected))
    }

    fn boolean(&mut self) -> Result<bool, CodecError> {
        match self.byte("a boolean (0x00 or 0x01)")? {
            0 => Ok(false),
            1 => Ok(true),
            _ => {
                self.position -= 1;
                Err(self.corrupt("a boolean (0x00 or 0x01)"))
            }
        }
    }

    fn expect_version(&mut self, supported: u8) -> Result<(), CodecError> {
        let version = self.byte("the format version")?;
        if version != supported {
            return Err(CodecError::UnknownVersion {
                encoding: self.encoding,
                index: self.index,
                version,
                supported,
            });
        }
        Ok(())
    }

    fn expect_end(&self) -> Result<(), CodecError> {
        if self.position != self.bytes.len() {
            return Err(self.corrupt("the end"));
        }
        Ok(())
    }
}

/// A stored value being decoded, with its columns' NULL bitmap.
struct RowReader<'a> {
    reader: Reader<'a>,
    present: &'a [u8],
}

fn invalid_column(data_type: &DataType) -> impl FnOnce(ArrowError) -> CodecError + '_ {
    |source| CodecError::InvalidColumn {
        what: format!("a column of type {}", eddy_planner::type_name(data_type)),
        source,
    }
}

/// Collects decoded fixed-width values, little-endian, as Arrow holds them.
struct FixedBuilder {
    data_type: DataType,
    width: usize,
    values: MutableBuffer,
    nulls: NullBufferBuilder,
}

impl FixedBuilder {
    fn new(data_type: &DataType, width: usize, capacity: usize) -> Self {
        Self {
            data_type: data_type.clone(),
            width,
            values: MutableBuffer::with_capacity(width * capacity),
            nulls: NullBufferBuilder::new(capacity),
        }
    }

    fn append(&mut self, little_endian: &[u8]) {
        self.values.extend_from_slice(little_endian);
        self.nulls.append_non_null();
    }

    fn append_null(&mut self) {
        self.values.extend_zeros(self.width);
        self.nulls.append_null();
    }

    fn finish(mut self) -> Result<ArrayRef, CodecError> {
        let data = ArrayData::builder(self.data_type.clone())
            .len(self.nulls.len())
            .nulls(self.nulls.finish())
            .add_buffer(self.values.into())
            .build()
            .map_err(invalid_column(&self.data_type))?;
        let array = make_array(data);
        // The bytes of a decimal can hold more digits than its type allows.
        let precision_check = match self.data_type {
            DataType::Decimal32(precision, scale) if scale >= 0 => array
                .as_primitive::<Decimal32Type>()
                .validate_decimal_precision(precision),
            DataType::Decimal64(precision, scale) if scale >= 0 => array
                .as_primitive::<Decimal64Type>()
                .validate_decimal_precision(precision),
            DataType::Decimal128(precision, scale) if scale >= 0 => array
                .as_primitive::<Decimal128Type>()
                .validate_decimal_precision(precision),
            DataType::Decimal256(precision, scale) if scale >= 0 => array
                .as_primitive::<Decimal256Type>()
                .validate_decimal_precision(precision),
            _ => Ok(()),
        };
        precision_check.map_err(invalid_column(&self.data_type))?;
        Ok(array)
    }
}

/// Collects decoded string or binary values.
struct BytesBuilder {
    data_type: DataType,
    data: Vec<u8>,
    /// Starts with 0, then the end of each value.
    offsets: Vec<usize>,
    nulls: NullBufferBuilder,
}

impl BytesBuilder {
    fn new(data_type: &DataType, capacity: usize) -> Self {
        let mut offsets = Vec::with_capacity(capacity + 1);
        offsets.push(0);
        Self {
            data_type: data_type.clone(),
            data: Vec::new(),
            offsets,
            nulls: NullBufferBuilder::new(capacity),
        }
    }

    fn end_value(&mut self, present: bool) {
        self.offsets.push(self.data.len());
        self.nulls.append(present);
    }

    fn finish(self) -> Result<ArrayRef, CodecError> {
        let Self {
            data_type,
            data,
            offsets,
            mut nulls,
        } = self;
        let values = Buffer::from_vec(data);
        let nulls = nulls.finish();
        let array: Result<ArrayRef, ArrowError> = match data_type {
            DataType::Utf8 => offsets32(offsets).and_then(|offsets| {
                Ok(Arc::new(StringArray::try_new(offsets, values, nulls)?) as ArrayRef)
            }),
            DataType::Binary => offsets32(offsets).and_then(|offsets| {
                Ok(Arc::new(BinaryArray::try_new(offsets, values, nulls)?) as ArrayRef)
            }),
            DataType::LargeUtf8 => LargeStringArray::try_new(offsets64(offsets), values, nulls)
                .map(|array| Arc::new(array) as ArrayRef),
            DataType::LargeBinary => LargeBinaryArray::try_new(offsets64(offsets), values, nulls)
                .map(|array| Arc::new(array) as ArrayRef),
            DataType::Utf8View => LargeStringArray::try_new(offsets64(offsets), values, nulls)
                .map(|array| Arc::new(StringViewArray::from(&array)) as ArrayRef),
            // Builders are made for string and binary types only, so this is BinaryView.
            _ => LargeBinaryArray::try_new(offsets64(offsets), values, nulls)
                .map(|array| Arc::new(BinaryViewArray::from(&array)) as ArrayRef),
        };
        array.map_err(invalid_column(&data_type))
    }
}

fn offsets32(ends: Vec<usize>) -> Result<OffsetBuffer<i32>, ArrowError> {
    let offsets = ends
        .into_iter()
        .map(|end| i32::try_from(end).map_err(|_| ArrowError::OffsetOverflowError(end)))
        .collect::<Result<Vec<_>, _>>()?;
    // Never panics: the offsets start at 0 and never decrease, as they were appended.
    Ok(OffsetBuffer::new(offsets.into()))
}

fn offsets64(ends: Vec<usize>) -> OffsetBuffer<i64> {
    // A Vec never holds more than isize::MAX bytes, so every end fits an i64; the offsets
    // start at 0 and never decrease, as they were appended.
    OffsetBuffer::new(ends.into_iter().map(|end| end as i64).collect())
}

/// Decodes one key column.
#[cfg(test)]
enum KeyBuilder {
    Boolean(BooleanBuilder),
    Float32(FixedBuilder),
    Float64(FixedBuilder),
    Fixed {
        builder: FixedBuilder,
        order: FixedKeyOrder,
    },
    Bytes(BytesBuilder),
}

#[cfg(test)]
impl KeyBuilder {
    fn new(data_type: &DataType, capacity: usize) -> Result<Self, CodecError> {
        Ok(match KeyLayout::of(data_type)? {
            KeyLayout::Boolean => Self::Boolean(BooleanBuilder::with_capacity(capacity)),
            KeyLayout::Float32 => Self::Float32(FixedBuilder::new(data_type, 4, capacity)),
            KeyLayout::Float64 => Self::Float64(FixedBuilder::new(data_type, 8, capacity)),
            KeyLayout::Fixed { width, order } => Self::Fixed {
                builder: FixedBuilder::new(data_type, width, capacity),
                order,
            },
            KeyLayout::Bytes => Self::Bytes(BytesBuilder::new(data_type, capacity)),
        })
    }

    fn read_column(&mut self, readers: &mut [Reader<'_>]) -> Result<(), CodecError> {
        match self {
            Self::Boolean(builder) => read_key_cells(readers, |reader, present| {
                builder.append_option(present.then(|| reader.boolean()).transpose()?);
                Ok(())
            }),
            Self::Float32(builder) => read_key_cells(readers, |reader, present| {
                match present
                    .then(|| reader.array::<4>("a FLOAT key"))
                    .transpose()?
                {
                    Some(key) => builder.append(&float32_from_key(key).to_le_bytes()),
                    None => builder.append_null(),
                }
                Ok(())
            }),
            Self::Float64(builder) => read_key_cells(readers, |reader, present| {
                match present
                    .then(|| reader.array::<8>("a DOUBLE key"))
                    .transpose()?
                {
                    Some(key) => builder.append(&float64_from_key(key).to_le_bytes()),
                    None => builder.append_null(),
                }
                Ok(())
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

    fn finish(self) -> Result<ArrayRef, CodecError> {
        match self {
            Self::Boolean(mut builder) => Ok(Arc::new(builder.finish())),
            Self::Float32(builder) | Self::Float64(builder) | Self::Fixed { builder, .. } => {
                builder.finish()
            }
            Self::Bytes(builder) => builder.finish(),
        }
    }
}

/// Reads each key's NULL marker, then `read(reader, present)` for its value.
#[cfg(test)]
fn read_key_cells(
    readers: &mut [Reader<'_>],
    mut read: impl FnMut(&mut Reader<'_>, bool) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    for reader in readers {
        let present = match reader.byte("a NULL marker")? {
            KEY_NULL => false,
            KEY_PRESENT => true,
            _ => {
                reader.position -= 1;
                return Err(reader.corrupt("a NULL marker (0x00 or 0x01)"));
            }
        };
        read(reader, present)?;
    }
    Ok(())
}

/// Decodes one column (or nested child) of stored values.
enum ValueBuilder {
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
    fn new(data_type: &DataType, capacity: usize) -> Result<Self, CodecError> {
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
    fn read_column(&mut self, rows: &mut [RowReader<'_>], column: usize) -> Result<(), CodecError> {
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

    fn finish(self) -> Result<ArrayRef, CodecError> {
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

fn first_offset(capacity: usize) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(capacity + 1);
    offsets.push(0);
    offsets
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
mod tests {
    use std::cmp::Ordering;

    use arrow::array::builder::{Int64Builder, MapBuilder, MapFieldNames, StringBuilder};
    use arrow::array::{
        BinaryViewArray, Date32Array, Date64Array, Decimal128Array, Decimal256Array,
        DurationSecondArray, FixedSizeBinaryArray, Float32Array, Float64Array, Int8Array,
        Int16Array, Int32Array, Int64Array, IntervalMonthDayNanoArray, Time32SecondArray,
        Time64MicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray, UInt8Array,
        UInt64Array, UnionArray,
    };
    use arrow::buffer::ScalarBuffer;
    use arrow::datatypes::{
        Field, Int32Type, Int64Type, IntervalMonthDayNano, Schema, UnionFields, i256,
    };

    use super::*;

    fn batch_of(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
            .collect();
        let arrays = columns.into_iter().map(|(_, array)| array).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("test batch")
    }

    fn assert_rows_round_trip(batch: &RecordBatch) {
        let encoded = encode_rows(batch).expect("encode");
        assert_eq!(encoded.len(), batch.num_rows());
        let values: Vec<&[u8]> = encoded.iter().collect();
        let decoded = decode_rows(&batch.schema(), &values).expect("decode");
        assert_eq!(&decoded, batch);
    }

    fn encode_key_rows(columns: &[ArrayRef]) -> Vec<Vec<u8>> {
        let rows = columns.first().map_or(0, |column| column.len());
        let encoded = encode_keys(columns, rows).expect("encode keys");
        encoded.iter().map(<[u8]>::to_vec).collect()
    }

    fn assert_keys_round_trip(columns: &[ArrayRef]) {
        let keys = encode_key_rows(columns);
        let types: Vec<DataType> = columns.iter().map(|c| c.data_type().clone()).collect();
        let decoded = decode_keys(&types, &keys).expect("decode keys");
        assert_eq!(decoded.len(), columns.len());
        for (decoded, original) in decoded.iter().zip(columns) {
            assert_eq!(decoded, original, "{}", original.data_type());
        }
    }

    /// Checks, for every pair of rows, that the keys compare as `sql_order` says the rows do:
    /// the same order, and equal bytes exactly for equal values.
    fn assert_key_order<T>(
        columns: &[ArrayRef],
        rows: &[T],
        sql_order: impl Fn(&T, &T) -> Ordering,
    ) {
        let keys = encode_key_rows(columns);
        assert_eq!(keys.len(), rows.len());
        for (left, left_key) in rows.iter().zip(&keys) {
            for (right, right_key) in rows.iter().zip(&keys) {
                assert_eq!(
                    left_key.cmp(right_key),
                    sql_order(left, right),
                    "{left_key:?} vs {right_key:?}"
                );
            }
        }
    }

    /// xorshift64: deterministic test data without a dependency.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound
        }
    }

    fn list_of_structs() -> ArrayRef {
        let fields = Fields::from(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("score", DataType::Float64, true),
        ]);
        let names = StringArray::from(vec![Some("a"), None, Some(""), Some("d"), Some("e")]);
        let scores = Float64Array::from(vec![Some(1.5), Some(-2.0), None, Some(0.0), None]);
        let structs = StructArray::try_new(
            fields.clone(),
            vec![Arc::new(names), Arc::new(scores)],
            Some(NullBuffer::from(vec![true, true, true, false, true])),
        )
        .expect("structs");
        let item = Arc::new(Field::new("item", DataType::Struct(fields), true));
        // Rows: [s0, s1], NULL, [], [s2, NULL struct, s4].
        let offsets = OffsetBuffer::new(ScalarBuffer::from(vec![0, 2, 2, 2, 5]));
        let nulls = NullBuffer::from(vec![true, false, true, true]);
        Arc::new(ListArray::try_new(item, offsets, Arc::new(structs), Some(nulls)).expect("list"))
    }

    fn string_to_int_map() -> ArrayRef {
        let names = MapFieldNames {
            entry: "entries".into(),
            key: "key".into(),
            value: "value".into(),
        };
        let mut builder = MapBuilder::new(Some(names), StringBuilder::new(), Int64Builder::new());
        builder.keys().append_value("one");
        builder.values().append_value(1);
        builder.keys().append_value("");
        builder.values().append_null();
        builder.append(true).expect("map row");
        builder.append(false).expect("map row");
        builder.append(true).expect("map row");
        builder.keys().append_value("minus");
        builder.values().append_value(-7);
        builder.append(true).expect("map row");
        Arc::new(builder.finish())
    }

    fn struct_with_list() -> ArrayRef {
        let ints = Int32Array::from(vec![Some(7), Some(-1), None, Some(3)]);
        let lists = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), None, Some(-3)]),
            None,
            Some(vec![]),
            Some(vec![Some(i64::MIN)]),
        ]);
        let fields = Fields::from(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", lists.data_type().clone(), true),
        ]);
        Arc::new(
            StructArray::try_new(
                fields,
                vec![Arc::new(ints), Arc::new(lists)],
                Some(NullBuffer::from(vec![true, true, false, true])),
            )
            .expect("struct"),
        )
    }

    /// Every Eddy column type, with NULLs, four rows.
    fn eddy_types_batch() -> RecordBatch {
        batch_of(vec![
            (
                "boolean",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    None,
                    Some(false),
                    Some(true),
                ])),
            ),
            (
                "int",
                Arc::new(Int32Array::from(vec![
                    Some(i32::MIN),
                    None,
                    Some(-1),
                    Some(i32::MAX),
                ])),
            ),
            (
                "bigint",
                Arc::new(Int64Array::from(vec![
                    Some(i64::MIN),
                    Some(0),
                    None,
                    Some(42),
                ])),
            ),
            (
                "double",
                Arc::new(Float64Array::from(vec![
                    Some(-0.0),
                    Some(f64::NAN),
                    None,
                    Some(f64::NEG_INFINITY),
                ])),
            ),
            (
                "decimal",
                Arc::new(
                    Decimal128Array::from(vec![Some(-12_345), None, Some(0), Some(9_999_999_999)])
                        .with_precision_and_scale(10, 2)
                        .expect("decimal"),
                ),
            ),
            (
                "string",
                Arc::new(StringArray::from(vec![
                    Some(""),
                    None,
                    Some("héllo\0wörld"),
                    Some("x"),
                ])),
            ),
            (
                "bytes",
                Arc::new(BinaryArray::from(vec![
                    Some(&b""[..]),
                    None,
                    Some(&[0, 255, 0][..]),
                    Some(&b"ab"[..]),
                ])),
            ),
            (
                "date",
                Arc::new(Date32Array::from(vec![
                    Some(-719_162),
                    None,
                    Some(0),
                    Some(19_000),
                ])),
            ),
            (
                "time",
                Arc::new(Time64MicrosecondArray::from(vec![
                    Some(0),
                    Some(86_399_999_999),
                    None,
                    Some(1),
                ])),
            ),
            (
                "timestamp",
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(-1),
                    None,
                    Some(1_700_000_000_000),
                    Some(0),
                ])),
            ),
            (
                "array",
                Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
                    Some(vec![Some(1), None]),
                    None,
                    Some(vec![]),
                    Some(vec![Some(-5)]),
                ])),
            ),
            ("map", string_to_int_map()),
            ("struct", struct_with_list()),
            ("array_of_structs", list_of_structs()),
        ])
    }

    #[test]
    fn rows_of_every_eddy_type_round_trip() {
        assert_rows_round_trip(&eddy_types_batch());
    }

    #[test]
    fn sliced_rows_round_trip() {
        let batch = eddy_types_batch();
        assert_rows_round_trip(&batch.slice(1, 3));
        assert_rows_round_trip(&batch.slice(2, 0));
    }

    #[test]
    fn float_values_keep_their_bits() {
        let batch = batch_of(vec![(
            "double",
            Arc::new(Float64Array::from(vec![
                -0.0,
                f64::from_bits(0xFFF0_0000_0000_0001),
            ])),
        )]);
        let encoded = encode_rows(&batch).expect("encode");
        let values: Vec<&[u8]> = encoded.iter().collect();
        let decoded = decode_rows(&batch.schema(), &values).expect("decode");
        let doubles = decoded.column(0).as_primitive::<Float64Type>();
        assert_eq!(doubles.value(0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(doubles.value(1).to_bits(), 0xFFF0_0000_0000_0001);
    }

    #[test]
    fn rows_of_other_result_types_round_trip() {
        let large_lists = LargeListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1)]),
            None,
            Some(vec![None, Some(2)]),
        ]);
        let batch = batch_of(vec![
            (
                "tiny",
                Arc::new(Int8Array::from(vec![Some(-128), None, Some(127)])),
            ),
            (
                "small",
                Arc::new(Int16Array::from(vec![Some(-1), Some(2), None])),
            ),
            (
                "ubyte",
                Arc::new(UInt8Array::from(vec![Some(255), None, Some(0)])),
            ),
            (
                "ulong",
                Arc::new(UInt64Array::from(vec![Some(u64::MAX), Some(0), None])),
            ),
            (
                "real",
                Arc::new(Float32Array::from(vec![Some(1.5), None, Some(-0.0)])),
            ),
            (
                "large_string",
                Arc::new(LargeStringArray::from(vec![Some("a"), None, Some("")])),
            ),
            (
                "string_view",
                Arc::new(StringViewArray::from(vec![
                    Some("a string longer than twelve bytes"),
                    None,
                    Some("short"),
                ])),
            ),
            (
                "large_binary",
                Arc::new(LargeBinaryArray::from(vec![
                    Some(&b"\0"[..]),
                    None,
                    Some(&b""[..]),
                ])),
            ),
            (
                "binary_view",
                Arc::new(BinaryViewArray::from(vec![
                    Some(&b"xy"[..]),
                    Some(&b""[..]),
                    None,
                ])),
            ),
            (
                "fixed_binary",
                Arc::new(
                    FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                        vec![Some(vec![1u8, 2]), None, Some(vec![0, 0])].into_iter(),
                        2,
                    )
                    .expect("fixed binary"),
                ),
            ),
            (
                "timestamp_tz",
                Arc::new(
                    TimestampNanosecondArray::from(vec![Some(-5), None, Some(i64::MAX)])
                        .with_timezone("Europe/Paris"),
                ),
            ),
            (
                "date64",
                Arc::new(Date64Array::from(vec![Some(86_400_000), None, Some(-1)])),
            ),
            (
                "time32",
                Arc::new(Time32SecondArray::from(vec![Some(59), None, Some(0)])),
            ),
            (
                "duration",
                Arc::new(DurationSecondArray::from(vec![Some(-3), Some(3), None])),
            ),
            (
                "decimal256",
                Arc::new(
                    Decimal256Array::from(vec![
                        Some(i256::from_i128(-10_i128.pow(30))),
                        None,
                        Some(i256::ZERO),
                    ])
                    .with_precision_and_scale(50, 5)
                    .expect("decimal256"),
                ),
            ),
            (
                "interval",
                Arc::new(IntervalMonthDayNanoArray::from(vec![
                    Some(IntervalMonthDayNano::new(1, -2, 3)),
                    None,
                    Some(IntervalMonthDayNano::new(0, 0, -1)),
                ])),
            ),
            ("large_list", Arc::new(large_lists)),
            ("null", Arc::new(NullArray::new(3))),
        ]);
        assert_rows_round_trip(&batch);
    }

    #[test]
    fn non_nullable_fields_round_trip() {
        let inner = Fields::from(vec![Field::new("id", DataType::Int64, false)]);
        let structs = StructArray::try_new(
            inner.clone(),
            vec![Arc::new(Int64Array::from(vec![1, 0]))],
            Some(NullBuffer::from(vec![true, false])),
        )
        .expect("struct");
        let schema = Arc::new(Schema::new(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("inner", DataType::Struct(inner), true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["k1", "k2"])),
                Arc::new(structs),
            ],
        )
        .expect("batch");
        assert_rows_round_trip(&batch);
    }

    #[test]
    fn rows_without_columns_round_trip() {
        let schema = Arc::new(Schema::empty());
        let options = RecordBatchOptions::new().with_row_count(Some(2));
        let batch = RecordBatch::try_new_with_options(schema, vec![], &options).expect("batch");
        assert_rows_round_trip(&batch);
    }

    #[test]
    fn a_value_holds_no_schema() {
        let batch = batch_of(vec![
            ("a", Arc::new(Int32Array::from(vec![Some(1)]))),
            ("b", Arc::new(StringArray::from(vec![Some("xy")]))),
            ("c", Arc::new(Int64Array::from(vec![None::<i64>]))),
        ]);
        let encoded = encode_rows(&batch).expect("encode");
        // Version, NULL bitmap, 4 bytes of INT, length and 2 bytes of STRING.
        let rows: Vec<&[u8]> = encoded.iter().collect();
        assert_eq!(rows, [&[1, 0b011, 1, 0, 0, 0, 2, b'x', b'y'][..]]);
    }

    fn key_columns_of_every_key_type() -> Vec<ArrayRef> {
        vec![
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
            Arc::new(Int32Array::from(vec![Some(-1), Some(i32::MAX), None])),
            Arc::new(Int64Array::from(vec![None, Some(i64::MIN), Some(5)])),
            Arc::new(Float64Array::from(vec![
                Some(-1.25),
                None,
                Some(f64::INFINITY),
            ])),
            Arc::new(
                Decimal128Array::from(vec![Some(-1), Some(12_345), None])
                    .with_precision_and_scale(10, 2)
                    .expect("decimal"),
            ),
            Arc::new(StringArray::from(vec![Some("a\0b"), Some(""), None])),
            Arc::new(BinaryArray::from(vec![
                None,
                Some(&[0u8, 0xFF][..]),
                Some(&b""[..]),
            ])),
            Arc::new(Date32Array::from(vec![Some(-1), None, Some(19_000)])),
            Arc::new(Time64MicrosecondArray::from(vec![Some(1), Some(0), None])),
            Arc::new(TimestampMillisecondArray::from(vec![
                None,
                Some(-1),
                Some(1),
            ])),
            Arc::new(Int8Array::from(vec![Some(-128), Some(127), None])),
            Arc::new(UInt64Array::from(vec![Some(u64::MAX), None, Some(0)])),
            Arc::new(Float32Array::from(vec![Some(-3.5), Some(1.0), None])),
            Arc::new(LargeStringArray::from(vec![Some("x"), None, Some("")])),
            Arc::new(StringViewArray::from(vec![
                Some("a long string view value"),
                None,
                Some("v"),
            ])),
            Arc::new(BinaryViewArray::from(vec![
                Some(&b"\0"[..]),
                None,
                Some(&b"z"[..]),
            ])),
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                    vec![Some(vec![0u8, 1, 2]), None, Some(vec![255, 0, 0])].into_iter(),
                    3,
                )
                .expect("fixed binary"),
            ),
            Arc::new(
                TimestampNanosecondArray::from(vec![Some(1), None, Some(-1)]).with_timezone("UTC"),
            ),
            Arc::new(
                Decimal256Array::from(vec![Some(i256::MINUS_ONE), None, Some(i256::from_i128(7))])
                    .with_precision_and_scale(40, 3)
                    .expect("decimal256"),
            ),
        ]
    }

    #[test]
    fn keys_of_every_key_type_round_trip() {
        assert_keys_round_trip(&key_columns_of_every_key_type());
    }

    #[test]
    fn sliced_key_columns_round_trip() {
        let columns: Vec<ArrayRef> = key_columns_of_every_key_type()
            .iter()
            .map(|column| column.slice(1, 2))
            .collect();
        assert_keys_round_trip(&columns);
    }

    #[test]
    fn keys_without_columns_are_all_the_same() {
        let keys = encode_keys(&[], 2).expect("encode");
        assert_eq!(
            keys.iter().collect::<Vec<_>>(),
            vec![&[KEY_FORMAT_V1][..]; 2]
        );
        assert!(
            decode_keys::<&[u8]>(&[], &[&[KEY_FORMAT_V1]])
                .expect("decode")
                .is_empty()
        );
    }

    #[test]
    fn integer_keys_sort_like_their_values_with_nulls_first() {
        let mut random = Random(0x5EED);
        let mut values = vec![
            None,
            Some(i64::MIN),
            Some(i64::MIN + 1),
            Some(-256),
            Some(-255),
            Some(-1),
            Some(0),
            Some(1),
            Some(255),
            Some(256),
            Some(i64::MAX),
        ];
        values.extend((0..40).map(|_| Some(random.next() as i64 >> random.below(64))));
        let column: ArrayRef = Arc::new(Int64Array::from(values.clone()));
        assert_key_order(&[column], &values, Ord::cmp);

        let ints: Vec<Option<i32>> = values.iter().map(|v| v.map(|v| v as i32)).collect();
        let column: ArrayRef = Arc::new(Int32Array::from(ints.clone()));
        assert_key_order(&[column], &ints, Ord::cmp);

        let column: ArrayRef = Arc::new(
            Decimal128Array::from(values.iter().map(|v| v.map(i128::from)).collect::<Vec<_>>())
                .with_precision_and_scale(38, 4)
                .expect("decimal"),
        );
        assert_key_order(&[column], &values, Ord::cmp);
    }

    /// SQL order of doubles as keys: -0.0 = 0.0, all NaNs equal and above +Infinity.
    fn sql_double_order(left: &Option<f64>, right: &Option<f64>) -> Ordering {
        let canonical = |value: &Option<f64>| {
            value.map(|v| {
                if v == 0.0 {
                    0.0
                } else if v.is_nan() {
                    f64::NAN
                } else {
                    v
                }
            })
        };
        match (canonical(left), canonical(right)) {
            (Some(left), Some(right)) => left.total_cmp(&right),
            (left, right) => left.is_some().cmp(&right.is_some()),
        }
    }

    #[test]
    fn float_keys_sort_like_their_values() {
        let mut random = Random(0xF10A7);
        let mut values = vec![
            None,
            Some(f64::NEG_INFINITY),
            Some(f64::MIN),
            Some(-1.5),
            Some(-f64::MIN_POSITIVE),
            Some(-5e-324),
            Some(-0.0),
            Some(0.0),
            Some(5e-324),
            Some(f64::MIN_POSITIVE),
            Some(1.0),
            Some(f64::MAX),
            Some(f64::INFINITY),
            Some(f64::NAN),
            Some(-f64::NAN),
            Some(f64::from_bits(0x7FF0_0000_0000_0001)),
        ];
        values.extend((0..40).map(|_| Some(f64::from_bits(random.next()))));
        let column: ArrayRef = Arc::new(Float64Array::from(values.clone()));
        assert_key_order(&[column], &values, sql_double_order);

        let reals: Vec<Option<f64>> = values.iter().map(|v| v.map(|v| v as f32 as f64)).collect();
        let column: ArrayRef = Arc::new(Float32Array::from(
            reals
                .iter()
                .map(|v| v.map(|v| v as f32))
                .collect::<Vec<_>>(),
        ));
        assert_key_order(&[column], &reals, sql_double_order);
    }

    #[test]
    fn negative_zero_and_nans_are_one_key_each() {
        let column: ArrayRef = Arc::new(Float64Array::from(vec![
            -0.0,
            0.0,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7FF0_0000_0000_0001),
        ]));
        let keys = encode_key_rows(&[column]);
        assert_eq!(keys[0], keys[1]);
        assert_eq!(keys[2], keys[3]);
        assert_eq!(keys[2], keys[4]);
        let decoded = decode_keys(&[DataType::Float64], &keys).expect("decode");
        let doubles = decoded[0].as_primitive::<Float64Type>();
        assert_eq!(doubles.value(0).to_bits(), 0.0f64.to_bits());
        assert_eq!(doubles.value(2).to_bits(), CANONICAL_NAN_64);
    }

    #[test]
    fn string_keys_sort_bytewise_with_prefixes_first() {
        let values = vec![
            None,
            Some(""),
            Some("\0"),
            Some("\0\0"),
            Some("\0a"),
            Some("\u{1}"),
            Some("a"),
            Some("a\0"),
            Some("a\0\0"),
            Some("a\0b"),
            Some("a\u{1}"),
            Some("aa"),
            Some("ab"),
            Some("b"),
            Some("é"),
            Some("\u{10FFFF}"),
        ];
        let column: ArrayRef = Arc::new(StringArray::from(values.clone()));
        assert_key_order(&[column], &values, Ord::cmp);

        let bytes: Vec<Option<&[u8]>> = vec![
            None,
            Some(&[]),
            Some(&[0x00]),
            Some(&[0x00, 0x00]),
            Some(&[0x00, 0xFF]),
            Some(&[0x00, 0xFF, 0x00]),
            Some(&[0x01]),
            Some(&[0xFF]),
            Some(&[0xFF, 0x00]),
            Some(&[0xFF, 0xFF]),
        ];
        let column: ArrayRef = Arc::new(BinaryArray::from(bytes.clone()));
        assert_key_order(&[column], &bytes, Ord::cmp);
    }

    #[test]
    fn composite_keys_sort_column_by_column() {
        let ints = [None, Some(-1), Some(0), Some(1), Some(256)];
        let strings = [
            None,
            Some(""),
            Some("\0"),
            Some("a"),
            Some("a\0"),
            Some("ab"),
            Some("b"),
        ];
        let rows: Vec<(Option<i64>, Option<&str>)> = ints
            .iter()
            .flat_map(|int| strings.iter().map(move |string| (*int, *string)))
            .collect();
        let int_column: ArrayRef = Arc::new(Int64Array::from(
            rows.iter().map(|row| row.0).collect::<Vec<_>>(),
        ));
        let string_column: ArrayRef = Arc::new(StringArray::from(
            rows.iter().map(|row| row.1).collect::<Vec<_>>(),
        ));
        assert_key_order(
            &[int_column.clone(), string_column.clone()],
            &rows,
            Ord::cmp,
        );

        let swapped: Vec<_> = rows.iter().map(|(int, string)| (*string, *int)).collect();
        assert_key_order(&[string_column.clone(), int_column], &swapped, Ord::cmp);

        let strings_twice: Vec<_> = strings
            .iter()
            .flat_map(|first| strings.iter().map(move |second| (*first, *second)))
            .collect();
        let first: ArrayRef = Arc::new(StringArray::from(
            strings_twice.iter().map(|row| row.0).collect::<Vec<_>>(),
        ));
        let second: ArrayRef = Arc::new(StringArray::from(
            strings_twice.iter().map(|row| row.1).collect::<Vec<_>>(),
        ));
        assert_key_order(&[first, second], &strings_twice, Ord::cmp);
    }

    #[test]
    fn a_key_is_never_a_prefix_of_another() {
        let column: ArrayRef = Arc::new(StringArray::from(vec!["a", "a\0", "a\0b", ""]));
        let keys = encode_key_rows(&[column]);
        for (i, left) in keys.iter().enumerate() {
            for (j, right) in keys.iter().enumerate() {
                assert!(
                    i == j || !right.starts_with(left),
                    "{left:?} is a prefix of {right:?}"
                );
            }
        }
    }

    #[test]
    fn nested_key_types_are_rejected() {
        let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1)]),
        ]));
        let error = encode_keys(std::slice::from_ref(&list), 1).expect_err("ARRAY key");
        assert_eq!(
            error.to_string(),
            "a PRIMARY KEY or GROUP BY key of type ARRAY<INTEGER> is not supported"
        );
        let error =
            decode_keys(&[list.data_type().clone()], &[[KEY_FORMAT_V1]]).expect_err("ARRAY");
        assert!(
            matches!(error, CodecError::UnsupportedKeyType { .. }),
            "{error}"
        );
        for column in [string_to_int_map(), struct_with_list()] {
            let rows = column.len();
            let error = encode_keys(&[column], rows).expect_err("nested key");
            assert!(
                matches!(error, CodecError::UnsupportedKeyType { .. }),
                "{error}"
            );
        }
    }

    #[test]
    fn unsupported_value_types_are_an_error() {
        let fields = UnionFields::try_new(vec![0], vec![Field::new("a", DataType::Int32, true)])
            .expect("union fields");
        let union = UnionArray::try_new(
            fields,
            ScalarBuffer::from(vec![0i8]),
            None,
            vec![Arc::new(Int32Array::from(vec![1]))],
        )
        .expect("union");
        let batch = batch_of(vec![("u", Arc::new(union))]);
        let error = encode_rows(&batch).expect_err("union");
        assert!(
            matches!(error, CodecError::UnsupportedValueType { .. }),
            "{error}"
        );
        let error = decode_rows::<&[u8]>(&batch.schema(), &[]).expect_err("union");
        assert!(
            matches!(error, CodecError::UnsupportedValueType { .. }),
            "{error}"
        );
    }

    #[test]
    fn key_columns_must_have_the_rows_asked_for() {
        let column: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
        let error = encode_keys(&[column], 3).expect_err("short column");
        assert!(matches!(
            error,
            CodecError::KeyColumnLength {
                column: 0,
                actual: 2,
                expected: 3
            }
        ));
    }

    #[test]
    fn unknown_versions_are_rejected() {
        let batch = batch_of(vec![("a", Arc::new(Int32Array::from(vec![1])))]);
        let error = decode_rows(&batch.schema(), &[[2u8, 1, 1, 0, 0, 0]]).expect_err("version 2");
        assert!(
            matches!(
                error,
                CodecError::UnknownVersion {
                    encoding: Encoding::Value,
                    version: 2,
                    ..
                }
            ),
            "{error}"
        );
        let error = decode_keys(&[DataType::Boolean], &[[0u8, 1, 1]]).expect_err("version 0");
        assert!(
            matches!(
                error,
                CodecError::UnknownVersion {
                    encoding: Encoding::Key,
                    version: 0,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn every_truncated_value_is_an_error() {
        let batch = eddy_types_batch();
        let encoded = encode_rows(&batch).expect("encode");
        for value in encoded.iter() {
            for length in 0..value.len() {
                let result = decode_rows(&batch.schema(), &[&value[..length]]);
                assert!(result.is_err(), "{length} of {} bytes decoded", value.len());
            }
        }
    }

    #[test]
    fn every_truncated_key_is_an_error() {
        let columns = key_columns_of_every_key_type();
        let types: Vec<DataType> = columns.iter().map(|c| c.data_type().clone()).collect();
        for key in encode_key_rows(&columns) {
            for length in 0..key.len() {
                let result = decode_keys(&types, &[&key[..length]]);
                assert!(result.is_err(), "{length} of {} bytes decoded", key.len());
            }
        }
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let batch = eddy_types_batch();
        let mut value = encode_rows(&batch)
            .expect("encode")
            .iter()
            .next()
            .expect("row")
            .to_vec();
        value.push(0);
        let error = decode_rows(&batch.schema(), &[value]).expect_err("trailing byte");
        assert!(
            matches!(
                error,
                CodecError::Corrupt {
                    expected: "the end",
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let error = decode_rows(&schema, &[[1u8, 1, 2, 0xC3, 0x28]]).expect_err("bad UTF-8");
        assert!(matches!(error, CodecError::InvalidColumn { .. }), "{error}");
        let error = decode_keys(&[DataType::Utf8], &[[1u8, 1, 0xFF, 0, 0]]).expect_err("bad UTF-8");
        assert!(matches!(error, CodecError::InvalidColumn { .. }), "{error}");
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut random = Random(0xBAD_B17E5);
        let batch = eddy_types_batch();
        let schema = batch.schema();
        let values: Vec<Vec<u8>> = encode_rows(&batch)
            .expect("encode")
            .iter()
            .map(<[u8]>::to_vec)
            .collect();
        let key_columns = key_columns_of_every_key_type();
        let key_types: Vec<DataType> = key_columns.iter().map(|c| c.data_type().clone()).collect();
        let keys = encode_key_rows(&key_columns);
        for _ in 0..3000 {
            let mut value = values[random.below(values.len() as u64) as usize].clone();
            let mut key = keys[random.below(keys.len() as u64) as usize].clone();
            for bytes in [&mut value, &mut key] {
                for _ in 0..=random.below(3) {
                    let position = random.below(bytes.len() as u64) as usize;
                    bytes[position] = random.next() as u8;
                }
            }
            let _ = decode_rows(&schema, &[&value]);
            let _ = decode_keys(&key_types, &[&key]);

            let length = random.below(80) as usize;
            let mut noise: Vec<u8> = (0..length).map(|_| random.next() as u8).collect();
            if let Some(first) = noise.first_mut() {
                *first = 1;
            }
            let _ = decode_rows(&schema, &[&noise]);
            let _ = decode_keys(&key_types, &[&noise]);
        }
    }
}
