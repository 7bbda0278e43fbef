//! Segment files: naming by base offset and the recovery scan that rebuilds a segment's offset
//! index from its frame headers. The index is not persisted: a scan reads headers only (bodies
//! are skipped) except in the last segment, whose bodies are crc-checked because a crash may
//! have torn them.
//!
//! Never: panic or allocate from an unchecked length on a bad file; report where it is bad.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek};
use std::path::Path;

use crate::error::StorageError;
use crate::log::frame::{FRAME_HEADER_BYTES, FrameHeader, ProducerTag};

const SEGMENT_FILE_SUFFIX: &str = ".log";
const SEGMENT_FILE_DIGITS: usize = 20;
const SCAN_BUFFER_BYTES: usize = 1 << 20;

/// One frame's place in a segment file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameEntry {
    pub(crate) base_offset: u64,
    pub(crate) position_bytes: u64,
    pub(crate) body_bytes: u32,
    pub(crate) row_count: u32,
    pub(crate) producer: ProducerTag,
}

impl FrameEntry {
    pub(crate) fn end_offset(&self) -> u64 {
        self.base_offset + u64::from(self.row_count)
    }

    pub(crate) fn end_position_bytes(&self) -> u64 {
        self.position_bytes + FRAME_HEADER_BYTES as u64 + u64::from(self.body_bytes)
    }

    pub(crate) fn header(&self, body_crc32: u32) -> FrameHeader {
        FrameHeader {
            body_bytes: self.body_bytes,
            body_crc32,
            row_count: self.row_count,
            base_offset: self.base_offset,
            producer: self.producer,
        }
    }
}

pub(crate) fn segment_file_name(base_offset: u64) -> String {
    format!(
        "{base_offset:0width$}{SEGMENT_FILE_SUFFIX}",
        width = SEGMENT_FILE_DIGITS
    )
}

/// The base offset a segment file name stands for, or `None` if it is not a segment file.
pub(crate) fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_FILE_SUFFIX)?;
    if digits.len() != SEGMENT_FILE_DIGITS || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What a scan found: the valid frames, and where and why it stopped early, if it did.
#[derive(Debug)]
pub(crate) struct SegmentScan {
    pub(crate) frames: Vec<FrameEntry>,
    pub(crate) valid_bytes: u64,
    pub(crate) invalid_tail: Option<String>,
}

/// Reads a segment's frames in order, starting at `base_offset`, up to the end of the file or
/// a header of zeros (the extended, unwritten end of the active segment). Stops at the first
/// frame that is incomplete or inconsistent (a torn or corrupt tail) and reports it in
/// `invalid_tail`; only I/O failures are `Err`. Bodies are crc-checked when `verify_bodies`
/// is set.
pub(crate) fn scan_segment(
    path: &Path,
    file: &File,
    base_offset: u64,
    verify_bodies: bool,
) -> Result<SegmentScan, StorageError> {
    let file_bytes = file
        .metadata()
        .map_err(StorageError::io("stat segment", path))?
        .len();
    let mut reader = BufReader::with_capacity(SCAN_BUFFER_BYTES, file);
    reader
        .rewind()
        .map_err(StorageError::io("seek in segment", path))?;
    let mut scan = SegmentScan {
        frames: Vec::new(),
        valid_bytes: 0,
        invalid_tail: None,
    };
    let mut next_offset = base_offset;
    let mut body = Vec::new();
    while scan.valid_bytes < file_bytes {
        let position_bytes = scan.valid_bytes;
        let mut header_bytes = [0u8; FRAME_HEADER_BYTES];
        if !read_exact_or_eof(&mut reader, &mut header_bytes, path)? {
            scan.invalid_tail = Some("partial frame header".to_string());
            break;
        }
        if header_bytes == [0; FRAME_HEADER_BYTES] {
            // The frames end here: the active segment's file is extended ahead of its writes,
            // and the space beyond them reads as zeros. A frame header never does (it starts
            // with the magic).
            break;
        }
        let header = match FrameHeader::decode(&header_bytes) {
            Ok(header) => header,
            Err(reason) => {
                scan.invalid_tail = Some(reason);
                break;
            }
        };
        if position_bytes + header.frame_bytes() > file_bytes {
            scan.invalid_tail = Some("frame runs past the end of the file".to_string());
            break;
        }
        if header.base_offset != next_offset {
            scan.invalid_tail = Some(format!(
                "frame base offset {} where {next_offset} was expected",
                header.base_offset
            ));
            break;
        }
        if verify_bodies {
            body.resize(header.body_bytes as usize, 0);
            if !read_exact_or_eof(&mut reader, &mut body, path)? {
                scan.invalid_tail = Some("partial frame body".to_string());
                break;
            }
            let body_crc32 = crc32fast::hash(&body);
            if body_crc32 != header.body_crc32 {
                scan.invalid_tail = Some(format!(
                    "crc32 {body_crc32:08x} of frame body does not match header {:08x}",
                    header.body_crc32
                ));
                break;
            }
        } else {
            // The body lies within the file: checked against file_bytes above.
            reader
                .seek_relative(i64::from(header.body_bytes))
                .map_err(StorageError::io("seek in segment", path))?;
        }
        scan.frames.push(FrameEntry {
            base_offset: header.base_offset,
            position_bytes,
            body_bytes: header.body_bytes,
            row_count: header.row_count,
            producer: header.producer,
        });
        next_offset += u64::from(header.row_count);
        scan.valid_bytes += header.frame_bytes();
    }
    Ok(scan)
}

/// Fills `buffer`; `Ok(false)` if the file ended first.
fn read_exact_or_eof(
    reader: &mut impl Read,
    buffer: &mut [u8],
    path: &Path,
) -> Result<bool, StorageError> {
    match reader.read_exact(buffer) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == ErrorKind::UnexpectedEof => Ok(false),
        Err(error) => Err(StorageError::io("read segment", path)(error)),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use arrow::array::Int32Array;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;

    use super::*;
    use crate::log::frame::EncodedFrame;

    fn frame_bytes(base_offset: u64, rows: i32) -> Vec<u8> {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int32, false)]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int32Array::from_iter_values(0..rows))],
        )
        .expect("column matches the schema");
        let mut frame = EncodedFrame::encode(batch).expect("encodes");
        frame.place(base_offset).concat()
    }

    #[test]
    fn segment_names_round_trip() {
        assert_eq!(segment_file_name(42), "00000000000000000042.log");
        assert_eq!(
            parse_segment_file_name("00000000000000000042.log"),
            Some(42)
        );
        assert_eq!(parse_segment_file_name("42.log"), None);
        assert_eq!(parse_segment_file_name("0000000000000000004x.log"), None);
        assert_eq!(parse_segment_file_name("00000000000000000042.tmp"), None);
    }

    #[test]
    fn scan_stops_at_a_torn_tail() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join(segment_file_name(10));
        let first = frame_bytes(10, 3);
        let second = frame_bytes(13, 2);
        let mut file = File::create(&path).expect("create");
        file.write_all(&first).expect("write");
        file.write_all(&second[..second.len() - 5]).expect("write");
        let file = File::open(&path).expect("open");
        for verify_bodies in [false, true] {
            let scan = scan_segment(&path, &file, 10, verify_bodies).expect("scan");
            assert_eq!(scan.frames.len(), 1);
            assert_eq!(scan.frames[0].end_offset(), 13);
            assert_eq!(scan.valid_bytes, first.len() as u64);
            assert!(scan.invalid_tail.is_some());
        }
    }

    #[test]
    fn scan_reports_an_offset_gap_and_a_bad_crc() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join(segment_file_name(0));
        let mut bad_crc = frame_bytes(3, 1);
        let last = bad_crc.len() - 1;
        bad_crc[last] ^= 1;
        let mut file = File::create(&path).expect("create");
        file.write_all(&frame_bytes(0, 3)).expect("write");
        file.write_all(&bad_crc).expect("write");
        let file = File::open(&path).expect("open");
        let unverified = scan_segment(&path, &file, 0, false).expect("scan");
        assert_eq!(unverified.frames.len(), 2, "headers alone look fine");
        let verified = scan_segment(&path, &file, 0, true).expect("scan");
        assert_eq!(verified.frames.len(), 1);
        assert!(verified.invalid_tail.expect("bad crc").contains("crc32"));
        let gap = scan_segment(&path, &file, 1, false).expect("scan");
        assert!(gap.frames.is_empty());
        assert!(gap.invalid_tail.expect("gap").contains("base offset"));
    }
}
