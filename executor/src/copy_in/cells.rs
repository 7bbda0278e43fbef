//! A COPY column's cells, from the bytes the reader splits to a typed Arrow array: kept as
//! bytes and cast a chunk at a time with INSERT's strict casts, except integer cells, parsed
//! as they are split while they are plain decimals; BYTES cells in bytea's text forms.
//!
//! Never: turn a value that does not fit its type into NULL; a bad value is an error naming
//! it, its column and its line.

use std::io::Write as _;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BinaryBuilder, Int64Array, NullBufferBuilder, StringArray,
};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::DataType;
use datafusion::scalar::ScalarValue;

use crate::error::{DataError, EngineError, EngineResult};
use crate::ingest::values::{STRICT, invalid_value};

/// Casts that turn a value that does not fit into NULL: used only to find which row a failed
/// strict cast choked on.
const LENIENT: CastOptions<'static> = CastOptions {
    safe: true,
    format_options: arrow::util::display::FormatOptions::new(),
};

/// How the reader keeps a column's cells until the chunk is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CellKind {
    /// As bytes, cast to the column's type a whole chunk at a time.
    Bytes,
    /// Parsed as they are split while every cell is plain decimal within `min..=max`: most
    /// of a bulk load's columns are integers, and a cast of their text costs more than the
    /// split itself.
    Integer { min: i64, max: i64 },
}

impl CellKind {
    pub(super) fn of(data_type: &DataType) -> CellKind {
        let (min, max) = match data_type {
            DataType::Int64 => (i64::MIN, i64::MAX),
            DataType::Int32 => (i32::MIN.into(), i32::MAX.into()),
            DataType::Int16 => (i16::MIN.into(), i16::MAX.into()),
            _ => return CellKind::Bytes,
        };
        CellKind::Integer { min, max }
    }
}

/// One column's cells of the chunk being read.
pub(super) enum CellBuilder {
    /// Cells as bytes; `kind` is the column's, which the next chunk starts with.
    Bytes {
        cells: BinaryBuilder,
        kind: CellKind,
    },
    /// The cells of an integer column, parsed, while each was plain decimal in range. The
    /// first that is not turns the column back into `Bytes` for the rest of the chunk, so
    /// that the chunk's cast decides what it means or which error it is, as for any column.
    Integers {
        values: Vec<i64>,
        nulls: NullBufferBuilder,
        min: i64,
        max: i64,
    },
}

/// A column's cells of a chunk: bytes to cast, or integers parsed already.
pub(super) enum Cells {
    Bytes(BinaryArray),
    Integers(Int64Array),
}

impl CellBuilder {
    pub(super) fn new(kind: CellKind, rows: usize, bytes: usize) -> CellBuilder {
        match kind {
            CellKind::Bytes => CellBuilder::Bytes {
                cells: BinaryBuilder::with_capacity(rows, bytes),
                kind,
            },
            CellKind::Integer { min, max } => CellBuilder::Integers {
                values: Vec::with_capacity(rows),
                nulls: NullBufferBuilder::new(rows),
                min,
                max,
            },
        }
    }

    pub(super) fn append_null(&mut self) {
        match self {
            CellBuilder::Bytes { cells, .. } => cells.append_null(),
            CellBuilder::Integers { values, nulls, .. } => {
                values.push(0);
                nulls.append_null();
            }
        }
    }

    pub(super) fn append_value(&mut self, cell: &[u8]) {
        if let CellBuilder::Integers {
            values,
            nulls,
            min,
            max,
        } = self
        {
            if let Some(value) = plain_integer(cell).filter(|value| (*min..=*max).contains(value)) {
                values.push(value);
                nulls.append_non_null();
                return;
            }
            self.demote_to_bytes();
        }
        if let CellBuilder::Bytes { cells, .. } = self {
            cells.append_value(cell);
        }
    }

    /// Turns integer cells back into the text they were read from (a plain decimal reads
    /// back as the same value), to go on as bytes.
    fn demote_to_bytes(&mut self) {
        let CellBuilder::Integers {
            values,
            nulls,
            min,
            max,
        } = self
        else {
            return;
        };
        let kind = CellKind::Integer {
            min: *min,
            max: *max,
        };
        let mut builder = BinaryBuilder::with_capacity(values.len(), values.len() * 8);
        let mut text = Vec::with_capacity(24);
        let nulls = nulls.finish();
        for (row, value) in values.iter().enumerate() {
            if nulls.as_ref().is_some_and(|nulls| nulls.is_null(row)) {
                builder.append_null();
            } else {
                text.clear();
                // Writing into a Vec cannot fail.
                let _ = write!(text, "{value}");
                builder.append_value(&text);
            }
        }
        *self = CellBuilder::Bytes {
            cells: builder,
            kind,
        };
    }

    /// The cells so far; the builder starts over sized like them, in its own kind (a column
    /// that needed bytes in one chunk is tried as integers again in the next).
    pub(super) fn take(&mut self) -> Cells {
        match self {
            CellBuilder::Bytes { cells, kind } => {
                let cells = cells.finish();
                *self = CellBuilder::new(*kind, cells.len(), cells.value_data().len());
                Cells::Bytes(cells)
            }
            CellBuilder::Integers { values, nulls, .. } => {
                let rows = values.len();
                let values = std::mem::replace(values, Vec::with_capacity(rows));
                let cells = Int64Array::new(values.into(), nulls.finish());
                *nulls = NullBufferBuilder::new(rows);
                Cells::Integers(cells)
            }
        }
    }
}

/// A cell that is `-?[0-9]{1,18}`: its value, which no cast reads differently and which
/// cannot overflow. Anything else (a sign `+`, spaces, more digits) is left to the cast.
fn plain_integer(cell: &[u8]) -> Option<i64> {
    let (negative, digits) = match cell.split_first() {
        Some((b'-', digits)) => (true, digits),
        _ => (false, cell),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut value = 0i64;
    for byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + i64::from(digit);
    }
    Some(if negative { -value } else { value })
}

/// The value of a hex digit; callers check `is_ascii_hexdigit` first.
pub(super) fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

/// One COPY column of a chunk in its type. A value that does not fit is an error naming it,
/// its column and its line.
pub(super) fn typed_column(
    cells: &Cells,
    name: &str,
    data_type: &DataType,
    lines: &[u64],
) -> EngineResult<ArrayRef> {
    let cells = match cells {
        Cells::Bytes(cells) => cells,
        // In range of the column's type (`CellKind::of`), so the cast cannot fail.
        Cells::Integers(values) => {
            return Ok(cast_with_options(values, data_type, &STRICT)?);
        }
    };
    if *data_type == DataType::Binary {
        return bytea_column(cells, name, lines);
    }
    let text = utf8_column(cells, name, lines)?;
    if *data_type == DataType::Utf8 {
        return Ok(Arc::new(text));
    }
    cast_with_options(&text, data_type, &STRICT).map_err(|error| {
        first_bad_value(&text, name, data_type, lines).unwrap_or_else(|| error.into())
    })
}

fn line_of(lines: &[u64], row: usize) -> u64 {
    lines.get(row).copied().unwrap_or_default()
}

/// The cells as text: one UTF-8 check for the whole column, the failing cell found only if
/// it fails.
fn utf8_column(cells: &BinaryArray, name: &str, lines: &[u64]) -> EngineResult<StringArray> {
    StringArray::try_from_binary(cells.clone()).map_err(|error| {
        let bad_row = (0..cells.len())
            .find(|row| cells.is_valid(*row) && std::str::from_utf8(cells.value(*row)).is_err());
        match bad_row {
            Some(row) => DataError::InvalidEncoding(format!(
                "invalid byte sequence for encoding \"UTF8\" in column \"{}\", line {}",
                name,
                line_of(lines, row)
            ))
            .into(),
            None => error.into(),
        }
    })
}

/// After a strict cast of a column failed: the first value that does not fit, as INSERT
/// would report it, with its line.
fn first_bad_value(
    text: &StringArray,
    name: &str,
    data_type: &DataType,
    lines: &[u64],
) -> Option<EngineError> {
    let lenient = cast_with_options(text, data_type, &LENIENT).ok()?;
    let row = (0..text.len()).find(|row| text.is_valid(*row) && lenient.is_null(*row))?;
    let value = text.value(row);
    let error = cast_with_options(&text.slice(row, 1), data_type, &STRICT).err()?;
    let place = format!(", line {}", line_of(lines, row));
    Some(invalid_value(
        &ScalarValue::Utf8(Some(value.to_string())),
        name,
        data_type,
        &place,
        &error,
    ))
}

/// BYTES cells in Postgres' bytea text forms: hex (`\x48690a`) or escape (`Hi\012`).
fn bytea_column(cells: &BinaryArray, name: &str, lines: &[u64]) -> EngineResult<ArrayRef> {
    let mut bytes = BinaryBuilder::with_capacity(cells.len(), cells.value_data().len());
    let mut value = Vec::new();
    for row in 0..cells.len() {
        if cells.is_null(row) {
            bytes.append_null();
            continue;
        }
        let text = cells.value(row);
        if !decode_bytea(text, &mut value) {
            return Err(DataError::InvalidValue(format!(
                "invalid value '{}' for column \"{}\" of type BYTES, line {}: not bytea hex (\\x...) or escape format",
                String::from_utf8_lossy(text),
                name,
                line_of(lines, row)
            ))
            .into());
        }
        bytes.append_value(&value);
    }
    Ok(Arc::new(bytes.finish()))
}

/// Decodes a bytea text value into `value`; false if it is not valid hex or escape format.
fn decode_bytea(text: &[u8], value: &mut Vec<u8>) -> bool {
    value.clear();
    if let Some(hex) = text.strip_prefix(b"\\x") {
        let digits: Vec<u8> = hex
            .iter()
            .copied()
            .filter(|byte| !byte.is_ascii_whitespace())
            .collect();
        if digits.len() % 2 == 1 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return false;
        }
        value.extend(
            digits
                .chunks_exact(2)
                .map(|pair| hex_value(pair[0]) * 16 + hex_value(pair[1])),
        );
        return true;
    }
    let mut at = 0;
    while at < text.len() {
        if text[at] != b'\\' {
            value.push(text[at]);
            at += 1;
        } else if text.get(at + 1) == Some(&b'\\') {
            value.push(b'\\');
            at += 2;
        } else {
            let Some(octal) = text.get(at + 1..at + 4) else {
                return false;
            };
            if !octal.iter().all(|digit| matches!(digit, b'0'..=b'7')) || octal[0] > b'3' {
                return false;
            }
            value.push(
                octal
                    .iter()
                    .fold(0u8, |byte, digit| byte * 8 + (digit - b'0')),
            );
            at += 4;
        }
    }
    true
}

#[cfg(test)]
pub(super) mod tests;
