//! The decoding side both formats share: a cursor over one stored key or value that turns
//! every byte it cannot accept into a [`CodecError`], and builders that collect decoded
//! fixed-width and string or binary values into Arrow arrays.
//!
//! Never: panic or read past the end, whatever the stored bytes; they are trusted no more
//! than a client's input.

use std::sync::Arc;

use arrow::array::builder::NullBufferBuilder;
use arrow::array::{
    ArrayData, ArrayRef, AsArray, BinaryArray, BinaryViewArray, LargeBinaryArray, LargeStringArray,
    StringArray, StringViewArray, make_array,
};
use arrow::buffer::{Buffer, MutableBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type};
use arrow::error::ArrowError;

use super::{CodecError, Encoding, first_offset};

/// A cursor over one stored key or value.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
    index: usize,
    encoding: Encoding,
}

impl<'a> Reader<'a> {
    /// A cursor over `bytes`, the key or value at `index` of those being decoded, past their
    /// format version, which must be `supported`.
    pub(super) fn after_version(
        bytes: &'a [u8],
        index: usize,
        encoding: Encoding,
        supported: u8,
    ) -> Result<Self, CodecError> {
        let mut reader = Self {
            bytes,
            position: 0,
            index,
            encoding,
        };
        reader.expect_version(supported)?;
        Ok(reader)
    }

    pub(super) fn corrupt(&self, expected: &'static str) -> CodecError {
        CodecError::Corrupt {
            encoding: self.encoding,
            index: self.index,
            position: self.position,
            expected,
        }
    }

    /// The `length` bytes just read are not what was expected: points the error at them.
    pub(super) fn corrupt_before(&mut self, length: usize, expected: &'static str) -> CodecError {
        self.position -= length;
        self.corrupt(expected)
    }

    /// The bytes not read yet.
    pub(super) fn remaining(&self) -> &'a [u8] {
        &self.bytes[self.position..]
    }

    pub(super) fn byte(&mut self, expected: &'static str) -> Result<u8, CodecError> {
        let byte = *self
            .bytes
            .get(self.position)
            .ok_or_else(|| self.corrupt(expected))?;
        self.position += 1;
        Ok(byte)
    }

    pub(super) fn take(
        &mut self,
        length: usize,
        expected: &'static str,
    ) -> Result<&'a [u8], CodecError> {
        let end = self
            .position
            .checked_add(length)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.corrupt(expected))?;
        let taken = &self.bytes[self.position..end];
        self.position = end;
        Ok(taken)
    }

    pub(super) fn length(&mut self, expected: &'static str) -> Result<usize, CodecError> {
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

    pub(super) fn array<const N: usize>(
        &mut self,
        expected: &'static str,
    ) -> Result<[u8; N], CodecError> {
        let bytes = self.take(N, expected)?;
        bytes.try_into().map_err(|_| self.corrupt(expected))
    }

    pub(super) fn boolean(&mut self) -> Result<bool, CodecError> {
        match self.byte("a boolean (0x00 or 0x01)")? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.corrupt_before(1, "a boolean (0x00 or 0x01)")),
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

    pub(super) fn expect_end(&self) -> Result<(), CodecError> {
        if self.position != self.bytes.len() {
            return Err(self.corrupt("the end"));
        }
        Ok(())
    }
}

pub(super) fn invalid_column(data_type: &DataType) -> impl FnOnce(ArrowError) -> CodecError + '_ {
    |source| CodecError::InvalidColumn {
        what: format!("a column of type {}", eddy_planner::type_name(data_type)),
        source,
    }
}

/// Collects decoded fixed-width values, little-endian, as Arrow holds them.
pub(super) struct FixedBuilder {
    data_type: DataType,
    pub(super) width: usize,
    values: MutableBuffer,
    nulls: NullBufferBuilder,
}

impl FixedBuilder {
    pub(super) fn new(data_type: &DataType, width: usize, capacity: usize) -> Self {
        Self {
            data_type: data_type.clone(),
            width,
            values: MutableBuffer::with_capacity(width * capacity),
            nulls: NullBufferBuilder::new(capacity),
        }
    }

    pub(super) fn append(&mut self, little_endian: &[u8]) {
        self.values.extend_from_slice(little_endian);
        self.nulls.append_non_null();
    }

    pub(super) fn append_null(&mut self) {
        self.values.extend_zeros(self.width);
        self.nulls.append_null();
    }

    pub(super) fn finish(mut self) -> Result<ArrayRef, CodecError> {
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
pub(super) struct BytesBuilder {
    data_type: DataType,
    pub(super) data: Vec<u8>,
    /// Starts with 0, then the end of each value.
    offsets: Vec<usize>,
    nulls: NullBufferBuilder,
}

impl BytesBuilder {
    pub(super) fn new(data_type: &DataType, capacity: usize) -> Self {
        Self {
            data_type: data_type.clone(),
            data: Vec::new(),
            offsets: first_offset(capacity),
            nulls: NullBufferBuilder::new(capacity),
        }
    }

    pub(super) fn end_value(&mut self, present: bool) {
        self.offsets.push(self.data.len());
        self.nulls.append(present);
    }

    pub(super) fn finish(self) -> Result<ArrayRef, CodecError> {
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

pub(super) fn offsets32(ends: Vec<usize>) -> Result<OffsetBuffer<i32>, ArrowError> {
    let offsets = ends
        .into_iter()
        .map(|end| i32::try_from(end).map_err(|_| ArrowError::OffsetOverflowError(end)))
        .collect::<Result<Vec<_>, _>>()?;
    // Never panics: the offsets start at 0 and never decrease, as they were appended.
    Ok(OffsetBuffer::new(offsets.into()))
}

pub(super) fn offsets64(ends: Vec<usize>) -> OffsetBuffer<i64> {
    // A Vec never holds more than isize::MAX bytes, so every end fits an i64; the offsets
    // start at 0 and never decrease, as they were appended.
    OffsetBuffer::new(ends.into_iter().map(|end| end as i64).collect())
}
