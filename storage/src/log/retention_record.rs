//! A partition's retention record, `retention.meta` in its directory: where its log starts
//! once retention has deleted its oldest segments, and the last epoch of each producer whose
//! tagged frames were in them. The record is replaced durably (fsync, rename, directory
//! fsync) before those segments are removed, so a crash in between leaves files that the
//! next open removes, and a producer that repeats an epoch held only by a deleted segment is
//! still ignored (`Topic::append_idempotent`). A partition without the file starts at 0.
//!
//! Layout: magic `EDRR`, format version (u32), crc32 of the rest (u32), first offset (u64),
//! producer count (u32), then (producer id, epoch) pairs (u64 each) by producer id; all
//! little-endian.
//!
//! Never: trust the file before its crc is checked (a bad file is an error, not a panic).

use std::collections::HashMap;
use std::path::Path;

use crate::error::StorageError;
use crate::log::partition::replace_file_durably;

const RECORD_FILE_NAME: &str = "retention.meta";
const RECORD_TEMPORARY_FILE_NAME: &str = "retention.meta.tmp";
const RECORD_MAGIC: [u8; 4] = *b"EDRR";
const RECORD_FORMAT_VERSION: u32 = 1;
const RECORD_HEADER_BYTES: usize = 12;
const PRODUCER_ENTRY_BYTES: usize = 16;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RetentionRecord {
    /// The base offset of the oldest segment kept: the log's first offset.
    pub(crate) first_offset: u64,
    /// The last epoch of each producer that tagged a frame in a deleted segment.
    pub(crate) producer_epochs: HashMap<u64, u64>,
}

impl RetentionRecord {
    /// Whether a file in a partition directory is the record (or its unfinished replacement).
    pub(crate) fn is_record_file(name: &str) -> bool {
        name == RECORD_FILE_NAME || name == RECORD_TEMPORARY_FILE_NAME
    }

    /// The partition's record; the default (nothing deleted) if it has none.
    pub(crate) fn load(directory: &Path) -> Result<Self, StorageError> {
        let path = directory.join(RECORD_FILE_NAME);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(RetentionRecord::default());
            }
            Err(error) => return Err(StorageError::io("read retention record", &path)(error)),
        };
        decode(&bytes).map_err(|reason| StorageError::CorruptMetadata { path, reason })
    }

    /// Replaces the partition's record durably.
    pub(crate) fn store(&self, directory: &Path) -> Result<(), StorageError> {
        replace_file_durably(
            directory,
            RECORD_FILE_NAME,
            RECORD_TEMPORARY_FILE_NAME,
            &encode(self),
        )
    }
}

fn encode(record: &RetentionRecord) -> Vec<u8> {
    let mut producers: Vec<(u64, u64)> = record
        .producer_epochs
        .iter()
        .map(|(&producer_id, &epoch)| (producer_id, epoch))
        .collect();
    producers.sort_unstable();
    let mut body = Vec::with_capacity(12 + producers.len() * PRODUCER_ENTRY_BYTES);
    body.extend_from_slice(&record.first_offset.to_le_bytes());
    // A partition's producers are the persistent queries that write it: far below u32::MAX.
    body.extend_from_slice(&(producers.len() as u32).to_le_bytes());
    for (producer_id, epoch) in producers {
        body.extend_from_slice(&producer_id.to_le_bytes());
        body.extend_from_slice(&epoch.to_le_bytes());
    }
    let mut bytes = Vec::with_capacity(RECORD_HEADER_BYTES + body.len());
    bytes.extend_from_slice(&RECORD_MAGIC);
    bytes.extend_from_slice(&RECORD_FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    bytes
}

fn decode(bytes: &[u8]) -> Result<RetentionRecord, String> {
    let (header, body) = bytes
        .split_first_chunk::<RECORD_HEADER_BYTES>()
        .ok_or("shorter than its header")?;
    if header[0..4] != RECORD_MAGIC {
        return Err(format!("bad magic {:02x?}", &header[0..4]));
    }
    let version = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if version != RECORD_FORMAT_VERSION {
        return Err(format!("unknown format version {version}"));
    }
    let crc32 = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if crc32fast::hash(body) != crc32 {
        return Err("crc32 does not match".to_string());
    }
    let (first_offset, rest) = body.split_first_chunk::<8>().ok_or("no first offset")?;
    let (count, entries) = rest.split_first_chunk::<4>().ok_or("no producer count")?;
    let count = u32::from_le_bytes(*count) as usize;
    if entries.len() != count * PRODUCER_ENTRY_BYTES {
        return Err(format!(
            "{} bytes of producers where {count} were announced",
            entries.len()
        ));
    }
    let producer_epochs = entries
        .chunks_exact(PRODUCER_ENTRY_BYTES)
        .map(|entry| {
            let (producer_id, epoch) = entry.split_at(8);
            let word = |bytes: &[u8]| {
                u64::from_le_bytes(bytes.try_into().expect("an entry holds two u64 words"))
            };
            (word(producer_id), word(epoch))
        })
        .collect();
    Ok(RetentionRecord {
        first_offset: u64::from_le_bytes(*first_offset),
        producer_epochs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_a_damaged_one_is_an_error() {
        let directory = tempfile::tempdir().expect("temp dir");
        assert_eq!(
            RetentionRecord::load(directory.path()).expect("no file"),
            RetentionRecord::default()
        );
        let record = RetentionRecord {
            first_offset: 1234,
            producer_epochs: HashMap::from([(7, 3), (9, 12)]),
        };
        record.store(directory.path()).expect("stores");
        assert_eq!(
            RetentionRecord::load(directory.path()).expect("loads"),
            record
        );
        let path = directory.path().join(RECORD_FILE_NAME);
        let mut bytes = std::fs::read(&path).expect("reads");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).expect("writes");
        let damaged = RetentionRecord::load(directory.path()).expect_err("crc mismatch");
        assert!(damaged.to_string().contains("crc32"), "{damaged}");
        std::fs::write(&path, &bytes[..5]).expect("writes");
        assert!(RetentionRecord::load(directory.path()).is_err());
    }
}
