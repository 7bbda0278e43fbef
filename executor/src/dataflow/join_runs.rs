//! One side of a join of two streams (`interval_join.rs`) keeps its rows as runs: each
//! epoch's rows that may join later, sorted by join key and cut into chunks of at most
//! `CHUNK_ROWS` rows. A chunk is one entry of the state, written once and deleted whole once
//! no row can join any of its rows. Each chunk's summary (the range of its keys and of its
//! rows' times, and its rows' flags where an outer join needs them) is an entry of its own
//! and stays in memory, so a probe reads only the chunks that may hold its keys within its
//! time range, and expiry reads none.
//!
//! A row is encoded and written once, in its epoch's chunk: an entry per key would be
//! rewritten at every epoch that touches the key (Nexmark q4's hot auctions), and an entry
//! per row costs a cache slot, a batch item and a memtable node of its own (q7's prices,
//! nearly all distinct). The price is paid in probes: a key's rows are spread over the runs
//! of the epochs they came in, so a probe reads a chunk of each run that overlaps its time
//! range: one or two while rows come about in time order, every run within the window when
//! they do not.
//!
//! Never: rewrite a chunk's rows, or delete a chunk while a row in it could still join or
//! still owes its NULL-padded row.

use std::ops::Range;

use crate::dataflow::EpochContext;
use crate::error::{EngineError, EngineResult};
use crate::state::operator_cache::OperatorCache;

/// Rows per chunk, at most: a probe reads a whole chunk for the rows of one key, and a
/// run of an epoch's rows takes a write per chunk.
const CHUNK_ROWS: usize = 1024;
/// Version byte of a chunk's rows (`encode_chunk`) and of a summary (`encode_summary`).
const FORMAT_V1: u8 = 1;
/// The first byte of a chunk's key among the side's entries, and of its summary's.
const CHUNK_TAG: u8 = b'c';
const SUMMARY_TAG: u8 = b's';
/// Bytes of each row's fixed part in a chunk: its time, and where its key and row end.
const ROW_HEAD_BYTES: usize = 16;

/// Flags of a kept row, on a side whose unmatched rows are emitted NULL-padded when their
/// window closes: it found a match, or its NULL-padded row was emitted.
pub(crate) const MATCHED: u8 = 1;
pub(crate) const PADDED: u8 = 2;

/// A row to keep: its encoded join key, time, flags and encoded columns.
pub(crate) struct NewRow<'a> {
    pub key: &'a [u8],
    pub rowtime: i64,
    pub flags: u8,
    pub row: &'a [u8],
}

/// What a side keeps in memory of a stored chunk.
struct ChunkSummary {
    /// The chunk's run and its place in it: `run` then `index`, big-endian, so that chunks
    /// sort in the order their rows came.
    id: [u8; 12],
    rows: u32,
    first_key: Vec<u8>,
    last_key: Vec<u8>,
    min_time: i64,
    max_time: i64,
    /// Each row's flags, on a side that tracks them (`SideRuns::tracks_flags`); else empty.
    flags: Vec<u8>,
    /// The earliest close (time + the side's extent + grace) of a row with neither flag, on
    /// a side that tracks flags: when the chunk next owes NULL-padded rows.
    pending_close: Option<i64>,
    /// Whether the summary differs from its stored entry.
    changed: bool,
}

/// A chunk's rows, as read: the stored bytes, read in place.
pub(crate) struct Chunk {
    bytes: Vec<u8>,
    rows: usize,
}

impl Chunk {
    fn parse(bytes: Vec<u8>) -> EngineResult<Chunk> {
        let (&version, rest) = bytes.split_first().ok_or_else(|| corrupt("empty chunk"))?;
        if version != FORMAT_V1 {
            return Err(corrupt(&format!("unknown chunk version {version}")));
        }
        let count = rest
            .first_chunk::<4>()
            .ok_or_else(|| corrupt("a chunk's row count is cut short"))?;
        let rows = u32::from_be_bytes(*count) as usize;
        let chunk = Chunk { bytes, rows };
        // Ends only grow, so the last row's bound every other's: checked once here, reads
        // then index in bounds.
        let heads_end = chunk.heads_start() + rows * ROW_HEAD_BYTES;
        if chunk.bytes.len() < heads_end {
            return Err(corrupt("a chunk's rows are cut short"));
        }
        for row in 1..rows {
            let (previous_key, previous_row) = chunk.ends(row - 1);
            let (key_end, row_end) = chunk.ends(row);
            if key_end < previous_key || row_end < previous_row {
                return Err(corrupt("a chunk's rows are out of order"));
            }
        }
        if rows > 0 {
            let (keys, columns) = chunk.ends(rows - 1);
            if heads_end + keys + columns > chunk.bytes.len() {
                return Err(corrupt("a chunk's keys or columns are cut short"));
            }
        }
        Ok(chunk)
    }

    fn heads_start(&self) -> usize {
        5
    }

    fn head(&self, row: usize) -> &[u8] {
        let start = self.heads_start() + row * ROW_HEAD_BYTES;
        &self.bytes[start..start + ROW_HEAD_BYTES]
    }

    /// Where row `row`'s key and columns end, in the keys' and the columns' areas.
    fn ends(&self, row: usize) -> (usize, usize) {
        let head = self.head(row);
        let key_end = u32::from_be_bytes([head[8], head[9], head[10], head[11]]) as usize;
        let row_end = u32::from_be_bytes([head[12], head[13], head[14], head[15]]) as usize;
        (key_end, row_end)
    }

    fn keys_start(&self) -> usize {
        self.heads_start() + self.rows * ROW_HEAD_BYTES
    }

    pub fn row_count(&self) -> usize {
        self.rows
    }

    pub fn rowtime(&self, row: usize) -> i64 {
        let head = self.head(row);
        i64::from_be_bytes([
            head[0], head[1], head[2], head[3], head[4], head[5], head[6], head[7],
        ])
    }

    /// Row `row`'s encoded join key.
    pub fn key(&self, row: usize) -> &[u8] {
        let start = match row {
            0 => 0,
            _ => self.ends(row - 1).0,
        };
        let base = self.keys_start();
        &self.bytes[base + start..base + self.ends(row).0]
    }

    /// Row `row`'s encoded columns.
    pub fn row(&self, row: usize) -> &[u8] {
        let start = match row {
            0 => 0,
            _ => self.ends(row - 1).1,
        };
        let keys_end = match self.rows {
            0 => 0,
            rows => self.ends(rows - 1).0,
        };
        let base = self.keys_start() + keys_end;
        &self.bytes[base + start..base + self.ends(row).1]
    }

    /// The part of `keys` (sorted) within the chunk's first and last keys.
    pub fn keys_within<'k>(&self, keys: &'k [&'k [u8]]) -> &'k [&'k [u8]] {
        if self.rows == 0 {
            return &[];
        }
        let (first, last) = (self.key(0), self.key(self.rows - 1));
        let from = keys.partition_point(|key| *key < first);
        let to = keys.partition_point(|key| *key <= last);
        &keys[from..to.max(from)]
    }

    /// The rows whose key is `key`, a range since rows are sorted by key.
    pub fn rows_of(&self, key: &[u8]) -> Range<usize> {
        let first = partition_point(self.rows, |row| self.key(row) < key);
        let end = first + partition_point(self.rows - first, |row| self.key(first + row) <= key);
        first..end
    }
}

/// The first of `0..len` for which `before` is false (`before` holds for a prefix).
fn partition_point(len: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, len);
    while low < high {
        let middle = low + (high - low) / 2;
        match before(middle) {
            true => low = middle + 1,
            false => high = middle,
        }
    }
    low
}

/// A side's rows in runs, and the summaries of their chunks.
pub(crate) struct SideRuns {
    entries: OperatorCache,
    /// The stored chunks' summaries, in the order their rows came; None until read.
    summaries: Option<Vec<ChunkSummary>>,
    /// The number of the next run, above every stored one's.
    next_run: u64,
    /// Whether rows keep flags: on the side an outer join pads when windows close.
    tracks_flags: bool,
    /// How far after a row's time its window closes: the side's extent plus grace.
    close_after_ms: i64,
}

impl SideRuns {
    pub fn new(entries: OperatorCache, tracks_flags: bool, close_after_ms: i64) -> Self {
        SideRuns {
            entries,
            summaries: None,
            next_run: 0,
            tracks_flags,
            close_after_ms,
        }
    }

    pub fn tracks_flags(&self) -> bool {
        self.tracks_flags
    }

    /// Whether the window of a row at `rowtime` has closed once stream time is
    /// `stream_time`: its time plus the side's extent plus grace is below it.
    pub fn has_closed(&self, rowtime: i64, stream_time: i64) -> bool {
        rowtime.saturating_add(self.close_after_ms) < stream_time
    }

    /// Starts the epoch's writes; reads the stored summaries the first time, since the
    /// operator writes every later one itself.
    pub fn begin_epoch(&mut self, cx: &EpochContext<'_>) -> EngineResult<()> {
        if self.summaries.is_none() {
            let keys = self.entries.committed_keys_between(
                cx.state,
                &[SUMMARY_TAG],
                &[SUMMARY_TAG + 1],
            )?;
            let mut summaries: Vec<ChunkSummary> = Vec::with_capacity(keys.len());
            self.entries.read(cx.state, &keys, |index, bytes| {
                summaries.push(decode_summary(&keys[index], bytes)?);
                Ok(())
            })?;
            summaries.sort_unstable_by_key(|summary| summary.id);
            self.next_run = summaries.last().map_or(0, |last| run_of(&last.id) + 1);
            self.summaries = Some(summaries);
        }
        self.entries.begin_writes();
        Ok(())
    }

    fn summaries(&self) -> &[ChunkSummary] {
        self.summaries.as_deref().unwrap_or_default()
    }

    /// The chunks (by position) that may hold a row of one of `keys` (sorted) whose time is
    /// in `from..=to`.
    pub fn candidates(&self, keys: &[&[u8]], from: i64, to: i64) -> Vec<usize> {
        self.summaries()
            .iter()
            .enumerate()
            .filter(|(_, summary)| summary.max_time >= from && summary.min_time <= to)
            .filter(|(_, summary)| {
                let first = keys.partition_point(|key| *key < summary.first_key.as_slice());
                keys.get(first)
                    .is_some_and(|key| *key <= summary.last_key.as_slice())
            })
            .map(|(position, _)| position)
            .collect()
    }

    /// The chunks (by position) that owe NULL-padded rows once stream time is `stream_time`.
    pub fn owing_padding(&self, stream_time: i64) -> Vec<usize> {
        self.summaries()
            .iter()
            .enumerate()
            .filter(|(_, summary)| {
                summary
                    .pending_close
                    .is_some_and(|close| close < stream_time)
            })
            .map(|(position, _)| position)
            .collect()
    }

    /// The chunks at `positions`, read together.
    pub fn read(&mut self, positions: &[usize], cx: &EpochContext<'_>) -> EngineResult<Vec<Chunk>> {
        let keys: Vec<Vec<u8>> = positions
            .iter()
            .map(|&position| chunk_key(&self.summaries()[position].id))
            .collect();
        let mut found: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
        self.entries.read(cx.state, &keys, |index, bytes| {
            found[index] = Some(bytes.to_vec());
            Ok(())
        })?;
        found
            .into_iter()
            .map(|bytes| Chunk::parse(bytes.ok_or_else(|| corrupt("a chunk is missing"))?))
            .collect()
    }

    /// The flags of row `row` of the chunk at `position`.
    pub fn flags(&self, position: usize, row: usize) -> u8 {
        self.summaries()[position]
            .flags
            .get(row)
            .copied()
            .unwrap_or(0)
    }

    /// Adds `flags` to row `row` of the chunk at `position` (read as `chunk`), on a side
    /// that tracks flags.
    pub fn add_flags(&mut self, position: usize, chunk: &Chunk, row: usize, flags: u8) {
        let close_after_ms = self.close_after_ms;
        let Some(summary) = self
            .summaries
            .as_mut()
            .and_then(|summaries| summaries.get_mut(position))
        else {
            return;
        };
        let Some(kept) = summary.flags.get_mut(row) else {
            return;
        };
        if *kept & flags == flags {
            return;
        }
        *kept |= flags;
        summary.changed = true;
        summary.pending_close = (0..chunk.rows)
            .filter(|&row| summary.flags.get(row).is_some_and(|flags| *flags == 0))
            .map(|row| chunk.rowtime(row).saturating_add(close_after_ms))
            .min();
    }

    /// Takes the last chunk off the side when it holds fewer than `CHUNK_ROWS` rows, with
    /// its rows' flags, and deletes it with the epoch's state: the epoch's run takes its rows
    /// in, so that epochs of a few rows (a query keeping up) fill chunks rather than each
    /// leaving one of its own for every probe to weigh.
    pub fn take_partial_tail(
        &mut self,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<Option<(Chunk, Vec<u8>)>> {
        let position = match self.summaries().last() {
            Some(last) if (last.rows as usize) < CHUNK_ROWS => self.summaries().len() - 1,
            _ => return Ok(None),
        };
        let chunk = self.read(&[position], cx)?.pop();
        let Some(summary) = self.summaries.as_mut().and_then(Vec::pop) else {
            return Ok(None);
        };
        self.entries
            .write(chunk_key(&summary.id), None, cx.state_changes);
        self.entries
            .write(summary_key(&summary.id), None, cx.state_changes);
        Ok(chunk.map(|chunk| (chunk, summary.flags)))
    }

    /// Keeps `rows` (sorted by key, a key's rows in the order they came) as a new run,
    /// written with the epoch's state; its chunks can be read at once.
    pub fn write_run(&mut self, rows: &[NewRow<'_>], cx: &mut EpochContext<'_>) {
        if rows.is_empty() {
            return;
        }
        let run = self.next_run;
        self.next_run += 1;
        for (index, part) in rows.chunks(CHUNK_ROWS).enumerate() {
            let mut id = [0u8; 12];
            id[..8].copy_from_slice(&run.to_be_bytes());
            id[8..].copy_from_slice(&(index as u32).to_be_bytes());
            let summary = self.summarize(id, part);
            self.entries
                .write(chunk_key(&id), Some(encode_chunk(part)), cx.state_changes);
            self.summaries.get_or_insert_with(Vec::new).push(summary);
        }
    }

    /// Ends the epoch's writes (`begin_epoch`): deletes the chunks whose every row is at
    /// or before `expires` (the latest time no row can join any more) and that owe no
    /// NULL-padded row, and writes the summaries that changed.
    pub fn end_epoch(&mut self, expires: i64, cx: &mut EpochContext<'_>) {
        if let Some(summaries) = self.summaries.as_mut() {
            summaries.retain_mut(|summary| {
                if summary.max_time <= expires && summary.pending_close.is_none() {
                    self.entries
                        .write(chunk_key(&summary.id), None, cx.state_changes);
                    self.entries
                        .write(summary_key(&summary.id), None, cx.state_changes);
                    return false;
                }
                if summary.changed {
                    summary.changed = false;
                    self.entries.write(
                        summary_key(&summary.id),
                        Some(encode_summary(summary)),
                        cx.state_changes,
                    );
                }
                true
            });
        }
        self.entries.end_writes();
    }

    /// The summary of a new chunk of `rows`, to be written (`changed`).
    fn summarize(&self, id: [u8; 12], rows: &[NewRow<'_>]) -> ChunkSummary {
        let flags: Vec<u8> = match self.tracks_flags {
            true => rows.iter().map(|row| row.flags).collect(),
            false => Vec::new(),
        };
        let pending_close = match self.tracks_flags {
            true => rows
                .iter()
                .filter(|row| row.flags == 0)
                .map(|row| row.rowtime.saturating_add(self.close_after_ms))
                .min(),
            false => None,
        };
        ChunkSummary {
            id,
            rows: rows.len() as u32,
            first_key: rows.first().map(|row| row.key.to_vec()).unwrap_or_default(),
            last_key: rows.last().map(|row| row.key.to_vec()).unwrap_or_default(),
            min_time: rows.iter().map(|row| row.rowtime).min().unwrap_or(i64::MIN),
            max_time: rows.iter().map(|row| row.rowtime).max().unwrap_or(i64::MAX),
            flags,
            pending_close,
            changed: true,
        }
    }
}

fn run_of(id: &[u8; 12]) -> u64 {
    u64::from_be_bytes([id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7]])
}

fn chunk_key(id: &[u8; 12]) -> Vec<u8> {
    [&[CHUNK_TAG][..], id].concat()
}

fn summary_key(id: &[u8; 12]) -> Vec<u8> {
    [&[SUMMARY_TAG][..], id].concat()
}

/// A chunk's rows as stored: a version byte, the row count, each row's time and where its
/// key and its columns end, then the keys, then the columns.
fn encode_chunk(rows: &[NewRow<'_>]) -> Vec<u8> {
    let keys: usize = rows.iter().map(|row| row.key.len()).sum();
    let columns: usize = rows.iter().map(|row| row.row.len()).sum();
    let mut bytes = Vec::with_capacity(5 + rows.len() * ROW_HEAD_BYTES + keys + columns);
    bytes.push(FORMAT_V1);
    bytes.extend_from_slice(&(rows.len() as u32).to_be_bytes());
    let (mut key_end, mut row_end) = (0u32, 0u32);
    for row in rows {
        key_end += row.key.len() as u32;
        row_end += row.row.len() as u32;
        bytes.extend_from_slice(&row.rowtime.to_be_bytes());
        bytes.extend_from_slice(&key_end.to_be_bytes());
        bytes.extend_from_slice(&row_end.to_be_bytes());
    }
    for row in rows {
        bytes.extend_from_slice(row.key);
    }
    for row in rows {
        bytes.extend_from_slice(row.row);
    }
    bytes
}

/// A summary as stored: a version byte, the row count, the first and last keys (each after
/// its length),
/// the least and greatest row times, the pending close (a marker byte, 0 for none, and the
/// time), and the rows' flags (after their count).
fn encode_summary(summary: &ChunkSummary) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(
        35 + summary.first_key.len() + summary.last_key.len() + summary.flags.len(),
    );
    bytes.push(FORMAT_V1);
    bytes.extend_from_slice(&summary.rows.to_be_bytes());
    for key in [&summary.first_key, &summary.last_key] {
        bytes.extend_from_slice(&(key.len() as u32).to_be_bytes());
        bytes.extend_from_slice(key);
    }
    bytes.extend_from_slice(&summary.min_time.to_be_bytes());
    bytes.extend_from_slice(&summary.max_time.to_be_bytes());
    bytes.push(u8::from(summary.pending_close.is_some()));
    bytes.extend_from_slice(&summary.pending_close.unwrap_or(0).to_be_bytes());
    bytes.extend_from_slice(&(summary.flags.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&summary.flags);
    bytes
}

/// The summary stored under `key` (`summary_key`); corrupt bytes are an error, never a
/// panic.
fn decode_summary(key: &[u8], bytes: &[u8]) -> EngineResult<ChunkSummary> {
    let id: [u8; 12] = key
        .get(1..)
        .and_then(|id| id.try_into().ok())
        .ok_or_else(|| corrupt("a summary's key is not a chunk's"))?;
    let mut reader = Reader(bytes);
    if reader.take(1)? != [FORMAT_V1] {
        return Err(corrupt("unknown summary version"));
    }
    let rows = reader.take(4)?;
    let rows = u32::from_be_bytes(rows.try_into().map_err(|_| corrupt("a row count"))?);
    let first_key = reader.counted()?.to_vec();
    let last_key = reader.counted()?.to_vec();
    let min_time = reader.time()?;
    let max_time = reader.time()?;
    let has_pending = reader.take(1)?[0] != 0;
    let pending = reader.time()?;
    let flags = reader.counted()?.to_vec();
    Ok(ChunkSummary {
        id,
        rows,
        first_key,
        last_key,
        min_time,
        max_time,
        flags,
        pending_close: has_pending.then_some(pending),
        changed: false,
    })
}

/// Reads a summary's fields in turn.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> EngineResult<&'a [u8]> {
        if self.0.len() < count {
            return Err(corrupt("a summary is cut short"));
        }
        let (taken, rest) = self.0.split_at(count);
        self.0 = rest;
        Ok(taken)
    }

    fn time(&mut self) -> EngineResult<i64> {
        let bytes = self.take(8)?;
        Ok(i64::from_be_bytes(
            bytes.try_into().map_err(|_| corrupt("a time"))?,
        ))
    }

    fn counted(&mut self) -> EngineResult<&'a [u8]> {
        let length = self.take(4)?;
        let length = u32::from_be_bytes(length.try_into().map_err(|_| corrupt("a length"))?);
        self.take(length as usize)
    }
}

fn corrupt(what: &str) -> EngineError {
    EngineError::Internal(format!("a stored stream join run is corrupt: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(keys: &[&'static [u8]]) -> Vec<NewRow<'static>> {
        keys.iter()
            .enumerate()
            .map(|(at, key)| NewRow {
                key,
                rowtime: at as i64 * 10,
                flags: 0,
                row: key,
            })
            .collect()
    }

    #[test]
    fn a_chunk_finds_each_keys_rows_by_binary_search() {
        let rows = rows(&[b"a", b"b", b"b", b"b", b"d"]);
        let chunk = Chunk::parse(encode_chunk(&rows)).expect("parses");
        assert_eq!(chunk.rows_of(b"b"), 1..4);
        assert_eq!(chunk.rows_of(b"a"), 0..1);
        assert_eq!(chunk.rows_of(b"d"), 4..5);
        assert!(chunk.rows_of(b"c").is_empty());
        assert!(chunk.rows_of(b"e").is_empty());
        assert_eq!(chunk.row(2), b"b");
        assert_eq!(chunk.rowtime(4), 40);
        let keys: Vec<&[u8]> = vec![b"0", b"a", b"c", b"d", b"e"];
        assert_eq!(chunk.keys_within(&keys), [&b"a"[..], b"c", b"d"]);
        assert!(chunk.keys_within(&keys[4..]).is_empty());
    }

    #[test]
    fn a_cut_or_garbled_chunk_is_an_error_not_a_panic() {
        let bytes = encode_chunk(&rows(&[b"a", b"bb", b"ccc"]));
        for end in 0..bytes.len() {
            assert!(Chunk::parse(bytes[..end].to_vec()).is_err(), "cut at {end}");
        }
        let mut garbled = bytes.clone();
        garbled[5 + 8 + 3] = 200;
        assert!(Chunk::parse(garbled).is_err());
    }

    #[test]
    fn a_summary_reads_back_as_written() {
        let summary = ChunkSummary {
            id: [7; 12],
            rows: 3,
            first_key: b"first".to_vec(),
            last_key: b"last".to_vec(),
            min_time: -5,
            max_time: 99,
            flags: vec![0, MATCHED, PADDED],
            pending_close: Some(1005),
            changed: true,
        };
        let bytes = encode_summary(&summary);
        let read = decode_summary(&summary_key(&summary.id), &bytes).expect("decodes");
        assert_eq!(
            (
                read.id,
                read.rows,
                read.first_key,
                read.last_key,
                read.min_time,
                read.max_time
            ),
            (summary.id, 3, summary.first_key, summary.last_key, -5, 99)
        );
        assert_eq!(
            (read.flags, read.pending_close),
            (summary.flags, Some(1005))
        );
        for end in 0..bytes.len() {
            assert!(decode_summary(&summary_key(&summary.id), &bytes[..end]).is_err());
        }
    }
}
