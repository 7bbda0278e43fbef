//! `COPY stream|table [(columns)] FROM STDIN`: bulk ingest of Postgres COPY text or CSV data.
//! Into a table, each chunk is an upsert of its rows (as INSERT's), under the table's lock.
//!
//! `Session::execute` answers the statement with a [`CopyInSink`]; the front end feeds it the
//! client's bytes as they arrive (`write`, in chunks of any size: a line or an escape may be
//! split anywhere) and ends it with `finish`. Lines are split into cells column-wise, per
//! chunk of up to `COPY_CHUNK_ROWS_MAX` rows, cast to the column types with INSERT's strict
//! casts one kernel per column, routed to partitions like INSERT, and appended as soon as the
//! chunk is full, with several appends in flight. Integer cells that are plain decimals skip
//! the cast: they are parsed as they are split, which reads them as the cast would. So memory
//! stays bounded and rows become visible while the COPY runs. All of that decoding is bulk
//! work, done at background priority a few hundred KiB of data at a time (`append_chunks`),
//! so that a COPY does not hold up the lookups of other clients.
//!
//! Like a sequence of INSERTs, a COPY is not transactional: if it fails, or its client sends
//! CopyFail or leaves, the chunks already appended stay; the chunk being filled is dropped.
//!
//! Never: acknowledge (return from `finish`) before every appended chunk is durable, turn a
//! bad value into NULL, or allocate per row beyond the cells' bytes.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BinaryBuilder, Int64Array, NullBufferBuilder, RecordBatch,
    RecordBatchOptions, StringArray, new_null_array,
};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::scalar::ScalarValue;
use eddy_parser::{CopyFormat, CopyFrom, CopyOptions};
use eddy_planner::{PlanError, ROWTIME};
use eddy_storage::{EncodedAppend, PendingAppend};
use memchr::{memchr, memchr2, memchr3};

use crate::background::run_in_background_if;
use crate::error::{DataError, EngineError, EngineResult};
use crate::ingest::values::{STRICT, Target, invalid_value, target_columns};
use crate::ingest::writer::SourceWriter;
use crate::limits::{
    COPY_APPENDS_IN_FLIGHT_MAX, COPY_BACKGROUND_BYTES_MIN, COPY_BACKGROUND_TAIL_BYTES_MIN,
    COPY_CHUNK_BYTES_MAX, COPY_CHUNK_ROWS_MAX, COPY_RECORD_BYTES_MAX,
};

/// Casts that turn a value that does not fit into NULL: used only to find which row a failed
/// strict cast choked on.
const LENIENT: CastOptions<'static> = CastOptions {
    safe: true,
    format_options: arrow::util::display::FormatOptions::new(),
};

/// A COPY in progress: takes the client's data and appends its rows to the stream.
///
/// After `write` returns an error the COPY is over: drop the sink (its later calls fail).
pub struct CopyInSink {
    /// Routes, appends (a stream) or upserts (a table) each chunk, and gives its rowtimes.
    writer: SourceWriter,
    stored_schema: SchemaRef,
    /// Type of every column of the stream, for the columns the COPY leaves NULL.
    column_types: Vec<DataType>,
    /// One per COPY column, in the order of the data's fields.
    targets: Vec<CopyTarget>,
    reader: CopyReader,
    /// Appends queued in order, not yet known to be durable.
    in_flight: VecDeque<PendingAppend>,
    /// Rows queued for appending; all are durable once `in_flight` is drained.
    rows_queued: u64,
    /// A call failed: the COPY is over.
    failed: bool,
}

/// One column of the COPY data: where it goes and what it is cast to.
#[derive(Debug, Clone)]
struct CopyTarget {
    target: Target,
    name: String,
    data_type: DataType,
}

impl CopyInSink {
    /// Gets ready for the data of `copy`, to be written through `writer`.
    pub(crate) fn new(writer: SourceWriter, copy: &CopyFrom) -> EngineResult<CopyInSink> {
        let source = writer.source().clone();
        let targets = target_columns(&source, copy.columns.as_deref())?
            .into_iter()
            .map(|target| match target {
                Target::Column(index) => CopyTarget {
                    target,
                    name: source.columns[index].name.clone(),
                    data_type: source.columns[index].data_type.clone(),
                },
                Target::Rowtime => CopyTarget {
                    target,
                    name: ROWTIME.to_string(),
                    data_type: DataType::Int64,
                },
            })
            .collect::<Vec<_>>();
        if let Some(nested) = targets.iter().find(|target| target.data_type.is_nested()) {
            return Err(PlanError::Unsupported {
                feature: format!(
                    "COPY into column \"{}\" of type {}",
                    nested.name,
                    eddy_planner::type_name(&nested.data_type)
                ),
            }
            .into());
        }
        let column_names = targets.iter().map(|target| target.name.clone()).collect();
        let cell_kinds = targets
            .iter()
            .map(|target| CellKind::of(&target.data_type))
            .collect();
        Ok(CopyInSink {
            writer,
            stored_schema: source.row_schema(),
            column_types: source
                .columns
                .iter()
                .map(|column| column.data_type.clone())
                .collect(),
            targets,
            reader: CopyReader::new(&copy.options, column_names, cell_kinds),
            in_flight: VecDeque::new(),
            rows_queued: 0,
            failed: false,
        })
    }

    /// Fields per line of the data.
    pub fn column_count(&self) -> usize {
        self.targets.len()
    }

    /// Takes the next piece of data; appends every chunk it completes.
    pub async fn write(&mut self, data: &[u8]) -> EngineResult<()> {
        self.check_usable()?;
        // Copying megabytes into the reader's buffer is bulk work too.
        run_in_background_if(data.len() >= COPY_BACKGROUND_BYTES_MIN, || {
            self.reader.push(data)
        });
        let written = self.append_chunks(false).await;
        self.failed = written.is_err();
        written
    }

    /// Takes the end of the data (a last line may lack its newline) and returns the number of
    /// rows, once all of them are durable.
    pub async fn finish(mut self) -> EngineResult<u64> {
        self.check_usable()?;
        self.append_chunks(true).await?;
        while let Some(pending) = self.in_flight.pop_front() {
            pending.durable().await?;
        }
        Ok(self.rows_queued)
    }

    fn check_usable(&self) -> EngineResult<()> {
        if self.failed {
            return Err(EngineError::Internal(
                "COPY data after the COPY failed".into(),
            ));
        }
        Ok(())
    }

    /// Appends the chunks the reader has ready: only full ones until the data has ended.
    /// Decoding is bulk work: it waits until at least `COPY_BACKGROUND_BYTES_MIN` bytes are
    /// unread, then splits them into lines, types a full chunk and encodes its log frames at
    /// background priority, in one handoff. Only the end of the data, when it is a few lines,
    /// is decoded right here.
    async fn append_chunks(&mut self, data_ended: bool) -> EngineResult<()> {
        loop {
            let bulk = self.reader.unread_bytes() >= COPY_BACKGROUND_BYTES_MIN
                || (data_ended && self.reader.pending_bytes() >= COPY_BACKGROUND_TAIL_BYTES_MIN);
            if !bulk && !data_ended {
                return Ok(());
            }
            let Some(ready) = run_in_background_if(bulk, || self.next_ready(data_ended))? else {
                return Ok(());
            };
            self.append(ready).await?;
        }
    }

    /// The next chunk the reader completes, made ready to append.
    fn next_ready(&mut self, data_ended: bool) -> EngineResult<Option<ReadyChunk>> {
        let Some(chunk) = self.reader.next_chunk(data_ended)? else {
            return Ok(None);
        };
        let batch = self.batch(chunk)?;
        if self.writer.table().is_some() {
            return Ok(Some(ReadyChunk::Table(batch)));
        }
        let rows = batch.num_rows() as u64;
        let encoded = self
            .writer
            .topic()
            .encode_partitions(self.writer.route(batch)?)?;
        Ok(Some(ReadyChunk::Stream { encoded, rows }))
    }

    /// A chunk's cells as a batch of the stream's stored schema.
    fn batch(&self, chunk: CellChunk) -> EngineResult<RecordBatch> {
        let rows = chunk.lines.len();
        let mut given: Vec<Option<ArrayRef>> = vec![None; self.column_types.len()];
        let mut given_rowtimes = None;
        for (target, cells) in self.targets.iter().zip(&chunk.columns) {
            let typed = typed_column(cells, target, &chunk.lines)?;
            match target.target {
                Target::Column(index) => given[index] = Some(typed),
                Target::Rowtime => given_rowtimes = Some(typed),
            }
        }
        let mut columns: Vec<ArrayRef> = given
            .into_iter()
            .zip(&self.column_types)
            .map(|(typed, data_type)| typed.unwrap_or_else(|| new_null_array(data_type, rows)))
            .collect();
        let rowtimes = self
            .writer
            .rowtimes(&columns, given_rowtimes.as_ref(), rows)?;
        columns.push(rowtimes);
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(
            self.stored_schema.clone(),
            columns,
            &options,
        )?)
    }

    /// Queues a chunk's append (a table's upsert is applied right away), waiting first for
    /// the oldest append in flight if there are already as many as allowed.
    async fn append(&mut self, ready: ReadyChunk) -> EngineResult<()> {
        match ready {
            ReadyChunk::Table(batch) => {
                let rows = batch.num_rows() as u64;
                self.writer.write(batch).await?;
                self.rows_queued += rows;
            }
            ReadyChunk::Stream { encoded, rows } => {
                while self.in_flight.len() >= COPY_APPENDS_IN_FLIGHT_MAX
                    && let Some(oldest) = self.in_flight.pop_front()
                {
                    oldest.durable().await?;
                }
                let pending = self.writer.topic().queue_encoded(encoded).await?;
                self.in_flight.push_back(pending);
                self.rows_queued += rows;
            }
        }
        Ok(())
    }
}

/// A chunk ready to append: for a stream, routed to partitions and encoded as log frames; for
/// a table, the batch its upsert is made of.
enum ReadyChunk {
    Stream { encoded: EncodedAppend, rows: u64 },
    Table(RecordBatch),
}

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
struct CopyReader {
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
struct CellChunk {
    columns: Vec<Cells>,
    lines: Vec<u64>,
}

/// How the reader keeps a column's cells until the chunk is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    /// As bytes, cast to the column's type a whole chunk at a time.
    Bytes,
    /// Parsed as they are split while every cell is plain decimal within `min..=max`: most
    /// of a bulk load's columns are integers, and a cast of their text costs more than the
    /// split itself.
    Integer { min: i64, max: i64 },
}

impl CellKind {
    fn of(data_type: &DataType) -> CellKind {
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
enum CellBuilder {
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
enum Cells {
    Bytes(BinaryArray),
    Integers(Int64Array),
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
    fn new(
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
    fn unread_bytes(&self) -> usize {
        self.buffer.len() - self.consumed
    }

    /// Bytes received and not yet part of a chunk: unread, or split into the chunk being
    /// filled.
    fn pending_bytes(&self) -> usize {
        self.unread_bytes() + self.chunk.bytes
    }

    fn push(&mut self, data: &[u8]) {
        if self.marker_read {
            return;
        }
        self.buffer.drain(..self.consumed);
        self.consumed = 0;
        self.buffer.extend_from_slice(data);
    }

    /// The next full chunk; once the data has ended, also the last, partial one.
    fn next_chunk(&mut self, data_ended: bool) -> EngineResult<Option<CellChunk>> {
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

impl CellBuilder {
    fn new(kind: CellKind, rows: usize, bytes: usize) -> CellBuilder {
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

    fn append_null(&mut self) {
        match self {
            CellBuilder::Bytes { cells, .. } => cells.append_null(),
            CellBuilder::Integers { values, nulls, .. } => {
                values.push(0);
                nulls.append_null();
            }
        }
    }

    fn append_value(&mut self, cell: &[u8]) {
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
    fn take(&mut self) -> Cells {
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

/// The value of a hex digit; callers check `is_ascii_hexdigit` first.
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
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

/// One COPY column of a chunk in its type. A value that does not fit is an error naming it,
/// its column and its line.
fn typed_column(cells: &Cells, target: &CopyTarget, lines: &[u64]) -> EngineResult<ArrayRef> {
    let cells = match cells {
        Cells::Bytes(cells) => cells,
        // In range of the target's type (`CellKind::of`), so the cast cannot fail.
        Cells::Integers(values) => {
            return Ok(cast_with_options(values, &target.data_type, &STRICT)?);
        }
    };
    if target.data_type == DataType::Binary {
        return bytea_column(cells, target, lines);
    }
    let text = utf8_column(cells, target, lines)?;
    if target.data_type == DataType::Utf8 {
        return Ok(Arc::new(text));
    }
    cast_with_options(&text, &target.data_type, &STRICT)
        .map_err(|error| first_bad_value(&text, target, lines).unwrap_or_else(|| error.into()))
}

fn line_of(lines: &[u64], row: usize) -> u64 {
    lines.get(row).copied().unwrap_or_default()
}

/// The cells as text: one UTF-8 check for the whole column, the failing cell found only if
/// it fails.
fn utf8_column(
    cells: &BinaryArray,
    target: &CopyTarget,
    lines: &[u64],
) -> EngineResult<StringArray> {
    StringArray::try_from_binary(cells.clone()).map_err(|error| {
        let bad_row = (0..cells.len())
            .find(|row| cells.is_valid(*row) && std::str::from_utf8(cells.value(*row)).is_err());
        match bad_row {
            Some(row) => DataError::InvalidEncoding(format!(
                "invalid byte sequence for encoding \"UTF8\" in column \"{}\", line {}",
                target.name,
                line_of(lines, row)
            ))
            .into(),
            None => error.into(),
        }
    })
}

/// After a strict cast of a column failed: the first value that does not fit, as INSERT
/// would report it, with its line.
fn first_bad_value(text: &StringArray, target: &CopyTarget, lines: &[u64]) -> Option<EngineError> {
    let lenient = cast_with_options(text, &target.data_type, &LENIENT).ok()?;
    let row = (0..text.len()).find(|row| text.is_valid(*row) && lenient.is_null(*row))?;
    let value = text.value(row);
    let error = cast_with_options(&text.slice(row, 1), &target.data_type, &STRICT).err()?;
    let place = format!(", line {}", line_of(lines, row));
    Some(invalid_value(
        &ScalarValue::Utf8(Some(value.to_string())),
        &target.name,
        &target.data_type,
        &place,
        &error,
    ))
}

/// BYTES cells in Postgres' bytea text forms: hex (`\x48690a`) or escape (`Hi\012`).
fn bytea_column(cells: &BinaryArray, target: &CopyTarget, lines: &[u64]) -> EngineResult<ArrayRef> {
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
                target.name,
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
mod tests {
    use arrow::array::AsArray;

    use super::*;

    fn options(format: CopyFormat) -> CopyOptions {
        let csv = format == CopyFormat::Csv;
        CopyOptions {
            format,
            delimiter: if csv { ',' } else { '\t' },
            null: if csv { String::new() } else { "\\N".into() },
            header: false,
            quote: '"',
            escape: '"',
        }
    }

    fn reader(options: &CopyOptions, columns: &[&str]) -> CopyReader {
        let kinds = vec![CellKind::Bytes; columns.len()];
        CopyReader::new(
            options,
            columns.iter().map(|name| name.to_string()).collect(),
            kinds,
        )
    }

    /// A cell as text (None for NULL).
    fn cell_text(cells: &Cells, row: usize) -> Option<String> {
        match cells {
            Cells::Bytes(cells) => cells
                .is_valid(row)
                .then(|| String::from_utf8_lossy(cells.value(row)).into_owned()),
            Cells::Integers(values) => values.is_valid(row).then(|| values.value(row).to_string()),
        }
    }

    /// Every row of every chunk, cells as text (None for NULL), with its line.
    fn rows_of(chunks: &[CellChunk]) -> Vec<(u64, Vec<Option<String>>)> {
        let mut rows = Vec::new();
        for chunk in chunks {
            for (row, line) in chunk.lines.iter().enumerate() {
                let cells = chunk
                    .columns
                    .iter()
                    .map(|column| cell_text(column, row))
                    .collect();
                rows.push((*line, cells));
            }
        }
        rows
    }

    /// Feeds `pieces` one by one, then ends the data.
    fn read_pieces(
        options: &CopyOptions,
        columns: &[&str],
        pieces: &[&[u8]],
    ) -> EngineResult<Vec<(u64, Vec<Option<String>>)>> {
        let mut reader = reader(options, columns);
        let mut chunks = Vec::new();
        for piece in pieces {
            reader.push(piece);
            while let Some(chunk) = reader.next_chunk(false)? {
                chunks.push(chunk);
            }
        }
        while let Some(chunk) = reader.next_chunk(true)? {
            chunks.push(chunk);
        }
        Ok(rows_of(&chunks))
    }

    fn read(
        options: &CopyOptions,
        columns: &[&str],
        data: &str,
    ) -> EngineResult<Vec<(u64, Vec<Option<String>>)>> {
        read_pieces(options, columns, &[data.as_bytes()])
    }

    fn cells(values: &[Option<&str>]) -> Vec<Option<String>> {
        values
            .iter()
            .map(|value| value.map(str::to_string))
            .collect()
    }

    /// Every way of cutting `data` in two gives the same rows as reading it whole.
    fn assert_any_split_reads_the_same(options: &CopyOptions, columns: &[&str], data: &str) {
        let whole = read(options, columns, data).expect("reads whole");
        for cut in 0..=data.len() {
            let (first, second) = data.as_bytes().split_at(cut);
            let split = read_pieces(options, columns, &[first, second]).expect("reads split");
            assert_eq!(split, whole, "cut at byte {cut} of {data:?}");
        }
        let bytewise: Vec<&[u8]> = data.as_bytes().chunks(1).collect();
        assert_eq!(
            read_pieces(options, columns, &bytewise).expect("reads byte by byte"),
            whole
        );
    }

    fn message(result: EngineResult<impl std::fmt::Debug>) -> String {
        match result {
            Ok(value) => panic!("expected an error, got {value:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn text_fields_nulls_and_escapes() {
        let text = options(CopyFormat::Text);
        let rows = read(
            &text,
            &["a", "b", "c"],
            "1\thello\t\\N\n2\ta\\tb\\\\c\\nd\t\\\\N\n3\t\\x41\\101\\q\\\t\t\n",
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, cells(&[Some("1"), Some("hello"), None])),
                (2, cells(&[Some("2"), Some("a\tb\\c\nd"), Some("\\N")])),
                (3, cells(&[Some("3"), Some("AAq\t"), Some("")])),
            ]
        );
    }

    #[test]
    fn text_lines_end_in_lf_or_crlf_and_the_last_may_lack_one() {
        let text = options(CopyFormat::Text);
        let rows = read(&text, &["a", "b"], "1\tx\r\n2\ty\n3\tz").unwrap();
        assert_eq!(
            rows,
            vec![
                (1, cells(&[Some("1"), Some("x")])),
                (2, cells(&[Some("2"), Some("y")])),
                (3, cells(&[Some("3"), Some("z")])),
            ]
        );
        // An escaped newline belongs to its field; the row after it is on line 3.
        let rows = read(&text, &["a"], "one\\\ntwo\nthree\n").unwrap();
        assert_eq!(
            rows,
            vec![
                (1, cells(&[Some("one\ntwo")])),
                (3, cells(&[Some("three")]))
            ]
        );
    }

    #[test]
    fn text_split_anywhere_reads_the_same() {
        let text = options(CopyFormat::Text);
        assert_any_split_reads_the_same(
            &text,
            &["a", "b"],
            "1\tx\\ty\r\n\\N\t\\\\\n22\t\\101\\x4a\\\nz\n3\tlast",
        );
    }

    #[test]
    fn text_end_marker_and_header() {
        let mut text = options(CopyFormat::Text);
        let rows = read(&text, &["a"], "1\n\\.\nignored\n").unwrap();
        assert_eq!(rows, vec![(1, cells(&[Some("1")]))]);
        text.header = true;
        let rows = read(&text, &["a"], "a\n1\n2\n").unwrap();
        assert_eq!(
            rows,
            vec![(2, cells(&[Some("1")])), (3, cells(&[Some("2")]))]
        );
    }

    #[test]
    fn csv_quotes_doubled_quotes_and_nulls() {
        let csv = options(CopyFormat::Csv);
        let rows = read(
            &csv,
            &["a", "b", "c"],
            "1,plain,\n2,\"with, comma\",\"\"\n3,\"say \"\"hi\"\"\",\"multi\nline\"\n4,a\"b,c\"d,\\N\n",
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, cells(&[Some("1"), Some("plain"), None])),
                (2, cells(&[Some("2"), Some("with, comma"), Some("")])),
                (
                    3,
                    cells(&[Some("3"), Some("say \"hi\""), Some("multi\nline")])
                ),
                (5, cells(&[Some("4"), Some("ab,cd"), Some("\\N")])),
            ]
        );
    }

    #[test]
    fn csv_with_its_own_delimiter_null_escape_and_header() {
        let csv = CopyOptions {
            delimiter: ';',
            null: "NA".into(),
            header: true,
            escape: '\\',
            ..options(CopyFormat::Csv)
        };
        let rows = read(
            &csv,
            &["a", "b"],
            "a;b\r\n1;\"x \\\"q\\\" \\\\ y\"\r\nNA;\"NA\"\r\n;\"a\\b\"\r\n",
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                (2, cells(&[Some("1"), Some("x \"q\" \\ y")])),
                (3, cells(&[None, Some("NA")])),
                (4, cells(&[Some(""), Some("a\\b")])),
            ]
        );
    }

    #[test]
    fn csv_split_anywhere_reads_the_same() {
        let csv = options(CopyFormat::Csv);
        assert_any_split_reads_the_same(
            &csv,
            &["a", "b"],
            "1,\"q\"\"uo\nted\"\r\n,\"\"\n\"x\",y\n3,\"last\"",
        );
        let escaped = CopyOptions {
            escape: '\\',
            ..options(CopyFormat::Csv)
        };
        assert_any_split_reads_the_same(&escaped, &["a", "b"], "1,\"a\\\"\n\\\\\"\n2,b\n");
    }

    #[test]
    fn wrong_field_counts_name_the_line() {
        let text = options(CopyFormat::Text);
        assert_eq!(
            message(read(&text, &["a", "b"], "1\tx\n2\n")),
            "missing data for column \"b\", line 2"
        );
        assert_eq!(
            message(read(&text, &["a", "b"], "1\tx\ty\n")),
            "extra data after last expected column, line 1"
        );
        let csv = options(CopyFormat::Csv);
        assert_eq!(
            message(read(&csv, &["a", "b", "c"], "1,2,3\n\"4\n\",5\n")),
            "missing data for column \"c\", line 2"
        );
        assert_eq!(
            message(read(&csv, &["a"], "1\n\"open\n")),
            "unterminated CSV quoted field, line 2"
        );
    }

    #[test]
    fn chunks_fill_up_to_their_row_bound() {
        let text = options(CopyFormat::Text);
        let mut reader = reader(&text, &["a"]);
        let data: String = (0..COPY_CHUNK_ROWS_MAX + 5)
            .map(|row| format!("{row}\n"))
            .collect();
        reader.push(data.as_bytes());
        let full = reader.next_chunk(false).unwrap().expect("a full chunk");
        assert_eq!(full.lines.len(), COPY_CHUNK_ROWS_MAX);
        assert!(reader.next_chunk(false).unwrap().is_none());
        let rest = reader
            .next_chunk(true)
            .unwrap()
            .expect("the rest at the end");
        assert_eq!(
            rest.lines,
            (COPY_CHUNK_ROWS_MAX as u64 + 1..)
                .take(5)
                .collect::<Vec<_>>()
        );
        assert_eq!(cell_text(&rest.columns[0], 0).as_deref(), Some("8192"));
        assert!(reader.next_chunk(true).unwrap().is_none());
    }

    fn target(name: &str, data_type: DataType) -> CopyTarget {
        CopyTarget {
            target: Target::Column(0),
            name: name.into(),
            data_type,
        }
    }

    fn cells_array(values: &[Option<&[u8]>]) -> Cells {
        Cells::Bytes(BinaryArray::from(values.to_vec()))
    }

    #[test]
    fn cells_cast_strictly_and_bad_values_name_their_line() {
        let cells = cells_array(&[Some(b"1"), None, Some(b"-7")]);
        let typed = typed_column(&cells, &target("n", DataType::Int64), &[1, 2, 3]).unwrap();
        let typed = typed.as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(
            typed.iter().collect::<Vec<_>>(),
            vec![Some(1), None, Some(-7)]
        );

        let cells = cells_array(&[Some(b"1"), Some(b"2"), Some(b"x3"), Some(b"y")]);
        let error = typed_column(&cells, &target("n", DataType::Int32), &[1, 2, 4, 5]).unwrap_err();
        assert!(matches!(
            error,
            EngineError::Data(DataError::InvalidValue(_))
        ));
        assert_eq!(
            error.to_string(),
            "invalid value 'x3' for column \"n\" of type INTEGER, line 4"
        );
        let decimal = DataType::Decimal128(4, 1);
        let cells = cells_array(&[Some(b"1.5"), Some(b"12345.6")]);
        let error = typed_column(&cells, &target("d", decimal), &[7, 8]).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "invalid value '12345.6' for column \"d\" of type DECIMAL(4, 1), line 8:"
            ),
            "{error}"
        );
    }

    /// Reads one column of `data` with cells kept as `kind`, and types it as `data_type`.
    fn read_typed(data: &str, kind: CellKind, data_type: &DataType) -> EngineResult<Vec<ArrayRef>> {
        let mut reader = CopyReader::new(&options(CopyFormat::Text), vec!["n".into()], vec![kind]);
        reader.push(data.as_bytes());
        let mut typed = Vec::new();
        while let Some(chunk) = reader.next_chunk(true)? {
            let target = target("n", data_type.clone());
            typed.push(typed_column(&chunk.columns[0], &target, &chunk.lines)?);
        }
        Ok(typed)
    }

    #[test]
    fn integer_cells_parsed_as_read_type_like_their_cast_text() {
        let plain = "1\n-22\n\\N\n007\n-0\n999999999999999999\n";
        let mut reader = CopyReader::new(
            &options(CopyFormat::Text),
            vec!["n".into()],
            vec![CellKind::of(&DataType::Int64)],
        );
        reader.push(plain.as_bytes());
        let chunk = reader.next_chunk(true).unwrap().expect("a chunk");
        let Cells::Integers(values) = &chunk.columns[0] else {
            panic!("plain decimal cells are parsed as they are read");
        };
        assert_eq!(
            values.iter().collect::<Vec<_>>(),
            vec![
                Some(1),
                Some(-22),
                None,
                Some(7),
                Some(0),
                Some(999_999_999_999_999_999)
            ]
        );

        // Whatever the cells, parsing them as they are read types them as the cast of their
        // text does, error for error.
        let cases = [
            (plain, DataType::Int64),
            ("5\n+5\n6\n", DataType::Int64),
            ("5\n 7\n", DataType::Int64),
            (
                "1\n9223372036854775807\n-9223372036854775808\n",
                DataType::Int64,
            ),
            ("1\n9223372036854775808\n", DataType::Int64),
            ("1\n\\N\n-\n", DataType::Int64),
            ("1\n\n", DataType::Int64),
            ("1\nx3\n", DataType::Int32),
            ("2147483647\n-2147483648\n", DataType::Int32),
            ("1\n2147483648\n", DataType::Int32),
            ("-32768\n32768\n", DataType::Int16),
            ("12\n1\\x32\n", DataType::Int64),
        ];
        for (data, data_type) in cases {
            let parsed = read_typed(data, CellKind::of(&data_type), &data_type);
            let cast = read_typed(data, CellKind::Bytes, &data_type);
            match (parsed, cast) {
                (Ok(parsed), Ok(cast)) => assert_eq!(parsed, cast, "{data:?} as {data_type}"),
                (Err(parsed), Err(cast)) => {
                    assert_eq!(
                        parsed.to_string(),
                        cast.to_string(),
                        "{data:?} as {data_type}"
                    )
                }
                (parsed, cast) => panic!("{data:?} as {data_type}: {parsed:?} against {cast:?}"),
            }
        }
        let error = read_typed(
            "1\n2147483648\n",
            CellKind::of(&DataType::Int32),
            &DataType::Int32,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid value '2147483648' for column \"n\" of type INTEGER, line 2"
        );

        // One odd cell sends its chunk through the cast; the next chunk is parsed again.
        let mut reader = CopyReader::new(
            &options(CopyFormat::Text),
            vec!["n".into()],
            vec![CellKind::of(&DataType::Int64)],
        );
        let odd_first: String = std::iter::once("+5\n".to_string())
            .chain((1..COPY_CHUNK_ROWS_MAX + 3).map(|row| format!("{row}\n")))
            .collect();
        reader.push(odd_first.as_bytes());
        let first = reader.next_chunk(false).unwrap().expect("a full chunk");
        assert!(matches!(first.columns[0], Cells::Bytes(_)));
        assert_eq!(cell_text(&first.columns[0], 0).as_deref(), Some("+5"));
        assert_eq!(cell_text(&first.columns[0], 1).as_deref(), Some("1"));
        let second = reader.next_chunk(true).unwrap().expect("the rest");
        assert!(matches!(second.columns[0], Cells::Integers(_)));
        assert_eq!(
            cell_text(&second.columns[0], 2).as_deref(),
            Some((COPY_CHUNK_ROWS_MAX + 2).to_string().as_str())
        );
    }

    #[test]
    fn text_cells_must_be_utf8() {
        let cells = cells_array(&[Some(b"ok"), Some(b"\xff")]);
        let error = typed_column(&cells, &target("s", DataType::Utf8), &[1, 2]).unwrap_err();
        assert!(matches!(
            error,
            EngineError::Data(DataError::InvalidEncoding(_))
        ));
        assert_eq!(
            error.to_string(),
            "invalid byte sequence for encoding \"UTF8\" in column \"s\", line 2"
        );
    }

    #[test]
    fn bytes_cells_are_bytea_hex_or_escape() {
        let cells = cells_array(&[Some(b"\\x4869"), Some(b"a\\\\b\\001"), None]);
        let typed = typed_column(&cells, &target("b", DataType::Binary), &[1, 2, 3]).unwrap();
        let typed = typed.as_binary::<i32>();
        assert_eq!(typed.value(0), b"Hi");
        assert_eq!(typed.value(1), b"a\\b\x01");
        assert!(typed.is_null(2));
        let cells = cells_array(&[Some(b"\\x4")]);
        let error = typed_column(&cells, &target("b", DataType::Binary), &[9]).unwrap_err();
        assert!(error.to_string().contains("line 9"), "{error}");
    }
}
