//! Splits Postgres COPY text or CSV data into lines and cells, column-wise, a chunk at a
//! time, however the data arrives in pieces (a line or an escape may be split anywhere).
//!
//! It knows nothing of streams, and of types only how each column keeps its cells
//! (`CellKind`): it hands chunks of cells to whoever reads COPY-like data (COPY FROM STDIN
//! now, a "delimited" message format later).
//!
//! Never: scan a line's bytes more than once as pieces of it arrive, or read past
//! `COPY_RECORD_BYTES_MAX` bytes waiting for a line to end.

use eddy_parser::{CopyFormat, CopyOptions};
use memchr::{memchr, memchr2, memchr3};

use super::cells::{CellBuilder, CellKind, Cells, hex_value};
use crate::error::{DataError, EngineError, EngineResult};
use crate::limits::{COPY_CHUNK_BYTES_MAX, COPY_CHUNK_ROWS_MAX, COPY_RECORD_BYTES_MAX};

/// A COPY's options in bytes: the parser checked that each character is one ASCII byte.
#[derive(Debug, Clone)]
struct Format {
    csv: bool,
    delimiter: u8,
    quote: u8,
    escape: u8,
    null: Vec<u8>,
}

/// Splits COPY data into lines and cells, column-wise, a chunk at a time. Knows nothing of
/// types or streams, so it is tested on its own.
pub(super) struct CopyReader {
    format: Format,
    /// The names of the COPY's columns, for errors.
    column_names: Vec<String>,
    /// Data not split into lines yet starts at `consumed`.
    buffer: Vec<u8>,
    consumed: usize,
    /// How far the search for the end of the line at `consumed` got.
    scan: LineScan,
    lines_read: u64,
    header_pending: bool,
    /// The end-of-data marker `\.` was read: the rest is ignored, as in Postgres.
    marker_read: bool,
    chunk: ChunkBuilder,
    /// A cell with escapes or quotes, decoded.
    decoded: Vec<u8>,
}

/// The cells of the lines read so far, per column.
struct ChunkBuilder {
    columns: Vec<CellBuilder>,
    /// The line each row started on, for errors found when the chunk is cast.
    lines: Vec<u64>,
    /// Bytes of the lines so far.
    bytes: usize,
}

/// A chunk's cells (decoded from the COPY format; NULL where the data said so) and the line
/// each row started on.
pub(super) struct CellChunk {
    pub(super) columns: Vec<Cells>,
    pub(super) lines: Vec<u64>,
}

/// Progress of the search for the end of a line that is not complete yet, so that a long
/// line arriving in many pieces is scanned once.
#[derive(Debug, Default, Clone, Copy)]
struct LineScan {
    /// Where to continue, from the start of the line.
    resume_at: usize,
    /// CSV: the scan stopped inside quotes.
    in_quotes: bool,
    /// Newlines inside the line so far (quoted in CSV, escaped in text).
    newlines: u64,
}

/// A complete line within the unread data.
#[derive(Debug, PartialEq, Eq)]
struct LineEnd {
    /// Where its content ends (before `\n` or `\r\n`).
    content_end: usize,
    /// Where the next line starts.
    next: usize,
    /// Newlines inside it: a CSV row's quoted newlines, a text line's escaped ones.
    newlines: u64,
}

impl CopyReader {
    /// A reader of the columns `column_names`, whose cells it keeps as `cell_kinds` says.
    pub(super) fn new(
        options: &CopyOptions,
        column_names: Vec<String>,
        cell_kinds: Vec<CellKind>,
    ) -> CopyReader {
        let chunk = ChunkBuilder {
            columns: cell_kinds
                .into_iter()
                .map(|kind| CellBuilder::new(kind, 0, 0))
                .collect(),
            lines: Vec::new(),
            bytes: 0,
        };
        CopyReader {
            format: Format {
                csv: options.format == CopyFormat::Csv,
                delimiter: ascii_byte(options.delimiter),
                quote: ascii_byte(options.quote),
                escape: ascii_byte(options.escape),
                null: options.null.as_bytes().to_vec(),
            },
            column_names,
            buffer: Vec::new(),
            consumed: 0,
            scan: LineScan::default(),
            lines_read: 0,
            header_pending: options.header,
            marker_read: false,
            chunk,
            decoded: Vec::new(),
        }
    }

    /// Bytes received and not yet split into lines.
    pub(super) fn unread_bytes(&self) -> usize {
        self.buffer.len() - self.consumed
    }

    /// Bytes received and not yet part of a chunk: unread, or split into the chunk being
    /// filled.
    pub(super) fn pending_bytes(&self) -> usize {
        self.unread_bytes() + self.chunk.bytes
    }

    pub(super) fn push(&mut self, data: &[u8]) {
        if self.marker_read {
            return;
        }
        self.buffer.drain(..self.consumed);
        self.consumed = 0;
        self.buffer.extend_from_slice(data);
    }

    /// The next full chunk; once the data has ended, also the last, partial one.
    pub(super) fn next_chunk(&mut self, data_ended: bool) -> EngineResult<Option<CellChunk>> {
        while !self.chunk.is_full() && !self.marker_read {
            let unread = &self.buffer[self.consumed..];
            let found = if self.format.csv {
                find_csv_line(
                    unread,
                    self.format.quote,
                    self.format.escape,
                    &mut self.scan,
                )
            } else {
                find_text_line(unread, &mut self.scan)
            };
            let line = self.lines_read + 1;
            let end = match found {
                Some(end) => end,
                None if data_ended && !unread.is_empty() => {
                    if self.scan.in_quotes {
                        return Err(bad_copy_data("unterminated CSV quoted field", line));
                    }
                    let newlines = std::mem::take(&mut self.scan).newlines;
                    LineEnd {
                        content_end: unread.len(),
                        next: unread.len(),
                        newlines,
                    }
                }
                None if unread.len() > COPY_RECORD_BYTES_MAX => {
                    return Err(bad_copy_data(
                        &format!("line longer than {COPY_RECORD_BYTES_MAX} bytes"),
                        line,
                    ));
                }
                None => break,
            };
            self.lines_read += 1 + end.newlines;
            let content = &unread[..end.content_end];
            if content == b"\\." {
                self.marker_read = true;
            } else if self.header_pending {
                self.header_pending = false;
            } else if self.format.csv {
                split_csv_line(
                    content,
                    &self.format,
                    &self.column_names,
                    line,
                    &mut self.chunk,
                    &mut self.decoded,
                )?;
            } else {
                split_text_line(
                    content,
                    &self.format,
                    &self.column_names,
                    line,
                    &mut self.chunk,
                    &mut self.decoded,
                )?;
            }
            self.consumed += end.next;
        }
        let ready = self.chunk.is_full() || (data_ended && !self.chunk.lines.is_empty());
        Ok(ready.then(|| self.chunk.take()))
    }
}

impl ChunkBuilder {
    fn is_full(&self) -> bool {
        self.lines.len() >= COPY_CHUNK_ROWS_MAX || self.bytes >= COPY_CHUNK_BYTES_MAX
    }

    /// The chunk so far. The next one is sized like it up front, so that its builders do not
    /// grow (and copy what they hold) cell by cell: a COPY's chunks are alike.
    fn take(&mut self) -> CellChunk {
        self.bytes = 0;
        let columns = self.columns.iter_mut().map(CellBuilder::take).collect();
        let rows = self.lines.len();
        CellChunk {
            columns,
            lines: std::mem::replace(&mut self.lines, Vec::with_capacity(rows)),
        }
    }

    fn push_line(&mut self, line: u64, bytes: usize) {
        self.lines.push(line);
        self.bytes += bytes;
    }
}

/// The parser admits only ASCII characters for delimiter, quote and escape, so the
/// fallback is never taken.
fn ascii_byte(character: char) -> u8 {
    u8::try_from(character).unwrap_or(b'?')
}

fn bad_copy_data(message: &str, line: u64) -> EngineError {
    DataError::BadCopyData(format!("{message}, line {line}")).into()
}

fn missing_field(column_names: &[String], column: usize, line: u64) -> EngineError {
    let name = column_names.get(column).map_or("", String::as_str);
    bad_copy_data(&format!("missing data for column \"{name}\""), line)
}

fn extra_field(line: u64) -> EngineError {
    bad_copy_data("extra data after last expected column", line)
}

/// True when the byte at `position` is escaped: preceded by an odd run of backslashes.
fn is_escaped(data: &[u8], position: usize) -> bool {
    let backslashes = data[..position]
        .iter()
        .rev()
        .take_while(|byte| **byte == b'\\')
        .count();
    backslashes % 2 == 1
}

/// The end of the first text line: a newline not escaped by a backslash.
fn find_text_line(unread: &[u8], scan: &mut LineScan) -> Option<LineEnd> {
    let mut from = scan.resume_at;
    loop {
        let Some(offset) = unread.get(from..).and_then(|rest| memchr(b'\n', rest)) else {
            scan.resume_at = unread.len();
            return None;
        };
        let newline = from + offset;
        if is_escaped(unread, newline) {
            scan.newlines += 1;
            from = newline + 1;
            continue;
        }
        let carriage_return =
            newline > 0 && unread[newline - 1] == b'\r' && !is_escaped(unread, newline - 1);
        let end = LineEnd {
            content_end: if carriage_return {
                newline - 1
            } else {
                newline
            },
            next: newline + 1,
            newlines: scan.newlines,
        };
        *scan = LineScan::default();
        return Some(end);
    }
}

/// The end of the first CSV row: a newline outside quotes.
fn find_csv_line(unread: &[u8], quote: u8, escape: u8, scan: &mut LineScan) -> Option<LineEnd> {
    let mut at = scan.resume_at;
    loop {
        let rest = unread.get(at..).unwrap_or_default();
        let found = if !scan.in_quotes || escape == quote {
            memchr2(b'\n', quote, rest)
        } else {
            memchr3(b'\n', quote, escape, rest)
        };
        let Some(offset) = found else {
            scan.resume_at = unread.len();
            return None;
        };
        let position = at + offset;
        let byte = unread[position];
        if byte == b'\n' && !scan.in_quotes {
            let carriage_return = position > 0 && unread[position - 1] == b'\r';
            let end = LineEnd {
                content_end: if carriage_return {
                    position - 1
                } else {
                    position
                },
                next: position + 1,
                newlines: scan.newlines,
            };
            *scan = LineScan::default();
            return Some(end);
        }
        if byte == b'\n' {
            scan.newlines += 1;
            at = position + 1;
        } else if byte == quote {
            // With escape == quote, a doubled quote inside quotes closes and reopens them.
            scan.in_quotes = !scan.in_quotes;
            at = position + 1;
        } else {
            // An escape inside quotes: it escapes a following quote or escape.
            let Some(next) = unread.get(position + 1) else {
                scan.resume_at = position;
                return None;
            };
            at = if *next == quote || *next == escape {
                position + 2
            } else {
                position + 1
            };
        }
    }
}

/// Splits one text-format line into its cells: fields end at unescaped delimiters; a field
/// equal to the NULL string (before unescaping) is NULL.
fn split_text_line(
    content: &[u8],
    format: &Format,
    column_names: &[String],
    line: u64,
    chunk: &mut ChunkBuilder,
    decoded: &mut Vec<u8>,
) -> EngineResult<()> {
    let columns = chunk.columns.len();
    let mut column = 0;
    let mut field_start = 0;
    let mut at = 0;
    let mut has_escape = false;
    loop {
        let found = memchr2(format.delimiter, b'\\', &content[at..]).map(|offset| at + offset);
        if let Some(position) = found
            && content[position] == b'\\'
        {
            has_escape = true;
            at = (position + 2).min(content.len());
            continue;
        }
        let field_end = found.unwrap_or(content.len());
        let builder = chunk
            .columns
            .get_mut(column)
            .ok_or_else(|| extra_field(line))?;
        let field = &content[field_start..field_end];
        if field == format.null.as_slice() {
            builder.append_null();
        } else if has_escape {
            decode_text_escapes(field, decoded);
            builder.append_value(decoded);
        } else {
            builder.append_value(field);
        }
        column += 1;
        match found {
            Some(delimiter) => {
                field_start = delimiter + 1;
                at = field_start;
                has_escape = false;
            }
            None => break,
        }
    }
    if column < columns {
        return Err(missing_field(column_names, column, line));
    }
    chunk.push_line(line, content.len());
    Ok(())
}

/// Postgres' text-format escapes: `\b \f \n \r \t \v`, up to three octal digits, `\x` and up
/// to two hex digits; a backslash before any other character stands for that character.
fn decode_text_escapes(field: &[u8], decoded: &mut Vec<u8>) {
    decoded.clear();
    let mut at = 0;
    while let Some(offset) = memchr(b'\\', &field[at..]) {
        let backslash = at + offset;
        decoded.extend_from_slice(&field[at..backslash]);
        let Some(&escaped) = field.get(backslash + 1) else {
            // A backslash ending the line stands for itself.
            decoded.push(b'\\');
            return;
        };
        at = backslash + 2;
        match escaped {
            b'b' => decoded.push(0x08),
            b'f' => decoded.push(0x0c),
            b'n' => decoded.push(b'\n'),
            b'r' => decoded.push(b'\r'),
            b't' => decoded.push(b'\t'),
            b'v' => decoded.push(0x0b),
            b'0'..=b'7' => {
                let mut value = u32::from(escaped - b'0');
                while at < field.len() && at < backslash + 4 && matches!(field[at], b'0'..=b'7') {
                    value = value * 8 + u32::from(field[at] - b'0');
                    at += 1;
                }
                decoded.push((value & 0xff) as u8);
            }
            b'x' if field.get(at).is_some_and(u8::is_ascii_hexdigit) => {
                let mut value = 0u8;
                while at < field.len() && at < backslash + 4 && field[at].is_ascii_hexdigit() {
                    value = value * 16 + hex_value(field[at]);
                    at += 1;
                }
                decoded.push(value);
            }
            other => decoded.push(other),
        }
    }
    decoded.extend_from_slice(&field[at..]);
}

/// Splits one CSV row into its cells. A field may mix quoted and unquoted parts (`"a,b"c`);
/// inside quotes the escape character (the quote itself by default) escapes a quote. An
/// unquoted field equal to the NULL string is NULL; a quoted one never is.
fn split_csv_line(
    content: &[u8],
    format: &Format,
    column_names: &[String],
    line: u64,
    chunk: &mut ChunkBuilder,
    decoded: &mut Vec<u8>,
) -> EngineResult<()> {
    let columns = chunk.columns.len();
    let mut column = 0;
    let mut at = 0;
    loop {
        let builder = chunk
            .columns
            .get_mut(column)
            .ok_or_else(|| extra_field(line))?;
        let found =
            memchr2(format.delimiter, format.quote, &content[at..]).map(|offset| at + offset);
        let field_end = match found {
            Some(position) if content[position] == format.quote => {
                let field_end = decode_csv_field(content, at, position, format, decoded)
                    .ok_or_else(|| bad_copy_data("unterminated CSV quoted field", line))?;
                builder.append_value(decoded);
                field_end
            }
            _ => {
                let field_end = found.unwrap_or(content.len());
                let field = &content[at..field_end];
                if field == format.null.as_slice() {
                    builder.append_null();
                } else {
                    builder.append_value(field);
                }
                field_end
            }
        };
        column += 1;
        if field_end == content.len() {
            break;
        }
        at = field_end + 1;
    }
    if column < columns {
        return Err(missing_field(column_names, column, line));
    }
    chunk.push_line(line, content.len());
    Ok(())
}

/// Decodes a CSV field starting at `start` whose first quote is at `quote_at` into `decoded`;
/// returns where the field ends (its delimiter, or the end of the line), or None if a quote
/// is left open.
fn decode_csv_field(
    content: &[u8],
    start: usize,
    quote_at: usize,
    format: &Format,
    decoded: &mut Vec<u8>,
) -> Option<usize> {
    decoded.clear();
    decoded.extend_from_slice(&content[start..quote_at]);
    let mut at = quote_at + 1;
    loop {
        // Inside quotes, up to the closing quote.
        loop {
            let position = if format.escape == format.quote {
                memchr(format.quote, &content[at..])
            } else {
                memchr2(format.quote, format.escape, &content[at..])
            }
            .map(|offset| at + offset)?;
            decoded.extend_from_slice(&content[at..position]);
            let next = content.get(position + 1).copied();
            if content[position] == format.escape
                && (next == Some(format.quote) || next == Some(format.escape))
            {
                decoded.extend(next);
                at = position + 2;
            } else if content[position] == format.quote {
                at = position + 1;
                break;
            } else {
                decoded.push(content[position]);
                at = position + 1;
            }
        }
        // Outside quotes, up to the delimiter or another quoted part.
        match memchr2(format.delimiter, format.quote, &content[at..]).map(|offset| at + offset) {
            Some(position) if content[position] == format.quote => {
                decoded.extend_from_slice(&content[at..position]);
                at = position + 1;
            }
            found => {
                let field_end = found.unwrap_or(content.len());
                decoded.extend_from_slice(&content[at..field_end]);
                return Some(field_end);
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests;
