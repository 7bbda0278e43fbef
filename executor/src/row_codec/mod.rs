//! Byte encodings of Arrow rows for keyed state in the state store: memcmp-ordered keys (a
//! table's primary key, an aggregation's group key; `key.rs`) and compact row values
//! (`value.rs`), over the decoding cursor and builders both share (`reader.rs`).
//!
//! Keys and values are read back after restarts and upgrades, so each starts with a format
//! version byte, and decoding trusts nothing it reads: unknown versions, corrupt or truncated
//! bytes are a [`CodecError`], never a panic.
//!
//! Keys are only ever compared and looked up, never decoded by the engine; `decode_keys`
//! exists for the tests that prove the encoding round-trips and orders like SQL (flat key
//! types; ARRAY and STRUCT keys are tested by their order and equality alone).
//!
//! Never: change how an existing format version encodes anything. Stored keys would no longer
//! be found and stored values would decode wrong; a new encoding gets a new version byte and
//! decoding keeps reading the old ones.
//!
//! Both encoders and decoders work a column at a time over all rows (decoding keeps a
//! cursor per row), so flat columns are downcast once and never go through `ScalarValue`.

mod key;
mod reader;
mod value;

use std::fmt;
use std::ops::Range;

use arrow::array::{Array, ArrayRef, AsArray, BinaryViewArray, GenericByteArray};
use arrow::buffer::{Buffer, NullBuffer};
use arrow::datatypes::{ByteArrayType, DataType, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use key::KeyBuilder;
use key::{KEY_FORMAT_V1, KeyWriter};
use reader::Reader;
use value::{RowReader, VALUE_FORMAT_V1, ValueBuilder, ValueWriter, write_bitmap};

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
        Self {
            bytes: Vec::with_capacity(bytes),
            offsets: first_offset(rows),
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
            Reader::after_version(key.as_ref(), index, Encoding::Key, KEY_FORMAT_V1)
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
            let mut reader =
                Reader::after_version(value.as_ref(), index, Encoding::Value, VALUE_FORMAT_V1)?;
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
    /// Encodes each row's cell: `write_null(out)` where `nulls` has a NULL, else
    /// `write_value(row, out)`.
    fn write_each(
        rows: usize,
        nulls: &Option<NullBuffer>,
        write_null: impl Fn(&mut Vec<u8>),
        write_value: impl Fn(usize, &mut Vec<u8>),
    ) -> Self {
        let mut offsets = first_offset(rows);
        let mut bytes = Vec::new();
        for row in 0..rows {
            if is_valid(nulls, row) {
                write_value(row, &mut bytes);
            } else {
                write_null(&mut bytes);
            }
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

/// Offsets to start from: the 0 that every list of offsets starts with, and room for the end
/// of `capacity` values.
fn first_offset(capacity: usize) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(capacity + 1);
    offsets.push(0);
    offsets
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

/// The offsets of a list or string or binary column: value `i` is `range(i)` of its items
/// or bytes.
enum Offsets<'a> {
    Small(&'a [i32]),
    Large(&'a [i64]),
}

impl Offsets<'_> {
    fn range(&self, index: usize) -> Range<usize> {
        match self {
            Self::Small(offsets) => offsets[index] as usize..offsets[index + 1] as usize,
            Self::Large(offsets) => offsets[index] as usize..offsets[index + 1] as usize,
        }
    }
}

/// The values of a string or binary column, whatever its offsets or views.
enum ByteValues<'a> {
    Offsets {
        offsets: Offsets<'a>,
        data: &'a [u8],
    },
    Views(BinaryViewArray),
}

impl<'a> ByteValues<'a> {
    /// `None` unless `array` is a string or binary array.
    fn new(array: &'a dyn Array) -> Option<Self> {
        // Each arm downcasts to the array class its data type guarantees.
        Some(match array.data_type() {
            DataType::Utf8 => Self::with_offsets(array.as_string::<i32>(), Offsets::Small),
            DataType::LargeUtf8 => Self::with_offsets(array.as_string::<i64>(), Offsets::Large),
            DataType::Binary => Self::with_offsets(array.as_binary::<i32>(), Offsets::Small),
            DataType::LargeBinary => Self::with_offsets(array.as_binary::<i64>(), Offsets::Large),
            DataType::Utf8View => Self::Views(array.as_string_view().clone().to_binary_view()),
            DataType::BinaryView => Self::Views(array.as_binary_view().clone()),
            _ => return None,
        })
    }

    /// The values of a string or binary array: a string is UTF-8 bytes, laid out as binary.
    fn with_offsets<T: ByteArrayType>(
        array: &'a GenericByteArray<T>,
        offsets: impl FnOnce(&'a [T::Offset]) -> Offsets<'a>,
    ) -> Self {
        Self::Offsets {
            offsets: offsets(array.value_offsets()),
            data: array.value_data(),
        }
    }

    fn value(&self, index: usize) -> &[u8] {
        match self {
            Self::Offsets { offsets, data } => &data[offsets.range(index)],
            Self::Views(array) => array.value(index),
        }
    }
}

#[cfg(test)]
mod tests;
