//! One frame of a segment file: a fixed 40-byte header (magic, body length, crc32 of the
//! body, row count, base offset, producer id, producer epoch) and a body holding the Arrow IPC record-batch message of one
//! batch. The schema is not repeated per frame: it lives with the topic.
//!
//! Body layout: message length (u32 LE), the IPC flatbuffer message, zero padding to 8 bytes,
//! then the IPC body buffers. All integers are little-endian.
//!
//! Never: decode a body whose crc or row count does not match its header.

use std::cell::RefCell;
use std::collections::HashMap;

use arrow::buffer::Buffer;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::read_record_batch;
use arrow::ipc::writer::{DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions};
use arrow::ipc::{MessageHeader, root_as_message};
use arrow::record_batch::RecordBatch;

use crate::error::StorageError;
use crate::limits::FRAME_BODY_BYTES_MAX;

pub(crate) const FRAME_MAGIC: [u8; 4] = *b"EDF1";
pub(crate) const FRAME_HEADER_BYTES: usize = 40;
const MESSAGE_ALIGNMENT_BYTES: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub(crate) body_bytes: u32,
    pub(crate) body_crc32: u32,
    pub(crate) row_count: u32,
    pub(crate) base_offset: u64,
    /// Who wrote the frame, for idempotent appends; `ProducerTag::NONE` for plain appends.
    pub(crate) producer: ProducerTag,
}

/// A writer's identity and the epoch of one of its appends. A partition ignores a tagged
/// append whose epoch it already holds from that producer, so a writer that repeats an
/// append after a crash (not knowing whether it landed) lands it exactly once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct ProducerTag {
    /// 0: no producer.
    pub(crate) producer_id: u64,
    pub(crate) epoch: u64,
}

impl ProducerTag {
    pub(crate) const NONE: ProducerTag = ProducerTag {
        producer_id: 0,
        epoch: 0,
    };

    pub(crate) fn is_none(&self) -> bool {
        self.producer_id == 0
    }
}

impl FrameHeader {
    pub(crate) fn encode(&self) -> [u8; FRAME_HEADER_BYTES] {
        let mut bytes = [0u8; FRAME_HEADER_BYTES];
        bytes[0..4].copy_from_slice(&FRAME_MAGIC);
        bytes[4..8].copy_from_slice(&self.body_bytes.to_le_bytes());
        bytes[8..12].copy_from_slice(&self.body_crc32.to_le_bytes());
        bytes[12..16].copy_from_slice(&self.row_count.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.base_offset.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.producer.producer_id.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.producer.epoch.to_le_bytes());
        bytes
    }

    /// Parses a header; `Err` names what is wrong with it (the caller adds file and position).
    pub(crate) fn decode(bytes: &[u8; FRAME_HEADER_BYTES]) -> Result<Self, String> {
        if bytes[0..4] != FRAME_MAGIC {
            return Err(format!("bad frame magic {:02x?}", &bytes[0..4]));
        }
        let header = FrameHeader {
            body_bytes: u32_at(bytes, 4),
            body_crc32: u32_at(bytes, 8),
            row_count: u32_at(bytes, 12),
            base_offset: u64_at(bytes, 16),
            producer: ProducerTag {
                producer_id: u64_at(bytes, 24),
                epoch: u64_at(bytes, 32),
            },
        };
        if u64::from(header.body_bytes) > FRAME_BODY_BYTES_MAX {
            return Err(format!(
                "frame body of {} bytes is over the limit",
                header.body_bytes
            ));
        }
        if header.row_count == 0 {
            return Err("frame holds zero rows".to_string());
        }
        Ok(header)
    }

    pub(crate) fn frame_bytes(&self) -> u64 {
        FRAME_HEADER_BYTES as u64 + u64::from(self.body_bytes)
    }
}

fn u32_at(bytes: &[u8], start: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[start..start + 4]);
    u32::from_le_bytes(word)
}

fn u64_at(bytes: &[u8], start: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[start..start + 8]);
    u64::from_le_bytes(word)
}

/// A batch encoded as a frame whose base offset is set only when the committer places it.
///
/// Held in two pieces, written one after the other: the header with the IPC message, and
/// the IPC body buffers as the encoder wrote them, so that the batch's data is not copied
/// once more into one buffer.
#[derive(Debug)]
pub(crate) struct EncodedFrame {
    /// The header (filled in by `place`), message length, message and padding.
    head: Vec<u8>,
    /// The IPC body buffers.
    data: Vec<u8>,
    header: FrameHeader,
    batch: RecordBatch,
}

/// Past this, a thread's IPC encoder does not keep its last buffer's capacity for the next.
const ENCODER_SCRATCH_BYTES_MAX: usize = 8 << 20;

thread_local! {
    /// Each thread's IPC encoder, which sizes each frame's data buffer like the last one's
    /// (frames of one writer are alike) instead of growing it from nothing.
    static ENCODER_CONTEXT: RefCell<IpcWriteContext> = RefCell::new(reusing_encoder_context());
}

fn reusing_encoder_context() -> IpcWriteContext {
    let mut context = IpcWriteContext::default();
    context.set_reserve_scratch(true);
    context
}

impl EncodedFrame {
    /// Encodes a non-empty batch (the caller skips empty ones and checks the schema).
    pub(crate) fn encode(batch: RecordBatch) -> Result<Self, StorageError> {
        let row_count =
            u32::try_from(batch.num_rows()).map_err(|_| StorageError::FrameTooLarge {
                body_bytes: u64::MAX,
                body_bytes_max: FRAME_BODY_BYTES_MAX,
            })?;
        assert!(row_count > 0, "empty batches are skipped before encoding");
        let (dictionaries, encoded) = ENCODER_CONTEXT.with_borrow_mut(|context| {
            let encoded = IpcDataGenerator::default().encode(
                &batch,
                &mut DictionaryTracker::new(false),
                &IpcWriteOptions::default(),
                context,
            );
            if encoded
                .as_ref()
                .is_ok_and(|(_, encoded)| encoded.arrow_data.capacity() > ENCODER_SCRATCH_BYTES_MAX)
            {
                *context = reusing_encoder_context();
            }
            encoded
        })?;
        assert!(
            dictionaries.is_empty(),
            "topics with dictionary columns are refused at creation"
        );
        let message_bytes = encoded.ipc_message.len();
        let padding_bytes = padding_to_alignment(4 + message_bytes);
        let body_bytes = 4 + message_bytes + padding_bytes + encoded.arrow_data.len();
        let body_bytes = u32::try_from(body_bytes)
            .ok()
            .filter(|&bytes| u64::from(bytes) <= FRAME_BODY_BYTES_MAX)
            .ok_or(StorageError::FrameTooLarge {
                body_bytes: body_bytes as u64,
                body_bytes_max: FRAME_BODY_BYTES_MAX,
            })?;
        let mut head = Vec::with_capacity(FRAME_HEADER_BYTES + 4 + message_bytes + padding_bytes);
        head.extend_from_slice(&[0u8; FRAME_HEADER_BYTES]);
        // The message length fits in u32: the whole body was just checked to.
        head.extend_from_slice(&(message_bytes as u32).to_le_bytes());
        head.extend_from_slice(&encoded.ipc_message);
        head.extend(std::iter::repeat_n(0u8, padding_bytes));
        let data = encoded.arrow_data;
        let mut body_crc32 = crc32fast::Hasher::new();
        body_crc32.update(&head[FRAME_HEADER_BYTES..]);
        body_crc32.update(&data);
        let header = FrameHeader {
            body_bytes,
            body_crc32: body_crc32.finalize(),
            row_count,
            base_offset: 0,
            producer: ProducerTag::NONE,
        };
        Ok(EncodedFrame {
            head,
            data,
            header,
            batch,
        })
    }

    /// Places the frame at `base_offset` and returns its bytes, to write one piece after
    /// the other.
    pub(crate) fn place(&mut self, base_offset: u64) -> [&[u8]; 2] {
        self.header.base_offset = base_offset;
        self.head[..FRAME_HEADER_BYTES].copy_from_slice(&self.header.encode());
        [&self.head, &self.data]
    }

    pub(crate) fn header(&self) -> FrameHeader {
        self.header
    }

    /// Tags the frame with its producer (written into the header when it is placed).
    pub(crate) fn with_producer(mut self, producer: ProducerTag) -> Self {
        self.header.producer = producer;
        self
    }

    pub(crate) fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    pub(crate) fn frame_bytes(&self) -> u64 {
        (self.head.len() + self.data.len()) as u64
    }
}

fn padding_to_alignment(bytes: usize) -> usize {
    (MESSAGE_ALIGNMENT_BYTES - bytes % MESSAGE_ALIGNMENT_BYTES) % MESSAGE_ALIGNMENT_BYTES
}

/// Decodes the body of a frame whose header was already parsed. `body` is exactly
/// `header.body_bytes` long. `Err` names the problem; the caller adds file and position.
pub(crate) fn decode_body(
    header: &FrameHeader,
    body: &Buffer,
    schema: &SchemaRef,
) -> Result<RecordBatch, String> {
    if body.len() != header.body_bytes as usize {
        return Err(format!(
            "frame body is {} bytes, header says {}",
            body.len(),
            header.body_bytes
        ));
    }
    let body_crc32 = crc32fast::hash(body.as_slice());
    if body_crc32 != header.body_crc32 {
        return Err(format!(
            "crc32 {body_crc32:08x} of frame body does not match header {:08x}",
            header.body_crc32
        ));
    }
    let prefix: [u8; 4] = body
        .as_slice()
        .get(0..4)
        .and_then(|slice| slice.try_into().ok())
        .ok_or("frame body shorter than its message length")?;
    let message_bytes = u32::from_le_bytes(prefix) as usize;
    let message_end = 4 + message_bytes;
    let data_start = message_end + padding_to_alignment(message_end);
    let message_slice = body
        .as_slice()
        .get(4..message_end)
        .filter(|_| data_start <= body.len())
        .ok_or("frame message length runs past the body")?;
    let message =
        root_as_message(message_slice).map_err(|error| format!("bad IPC message: {error}"))?;
    if message.header_type() != MessageHeader::RecordBatch {
        return Err("frame does not hold a record batch message".to_string());
    }
    let record_batch = message
        .header_as_record_batch()
        .ok_or("frame record batch message has no header")?;
    let data = body.slice_with_length(data_start, body.len() - data_start);
    let batch = read_record_batch(
        &data,
        record_batch,
        schema.clone(),
        &HashMap::new(),
        None,
        &message.version(),
    )
    .map_err(|error| format!("cannot decode record batch: {error}"))?;
    if batch.num_rows() != header.row_count as usize {
        return Err(format!(
            "frame decodes to {} rows, header says {}",
            batch.num_rows(),
            header.row_count
        ));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn sample_batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
            ],
        )
        .expect("columns match the schema")
    }

    fn split(bytes: &[u8]) -> (FrameHeader, Buffer) {
        let header_bytes: [u8; FRAME_HEADER_BYTES] = bytes[..FRAME_HEADER_BYTES]
            .try_into()
            .expect("header length");
        let header = FrameHeader::decode(&header_bytes).expect("valid header");
        (header, Buffer::from(bytes[FRAME_HEADER_BYTES..].to_vec()))
    }

    #[test]
    fn frame_round_trips_with_its_offset() {
        let batch = sample_batch();
        let mut frame = EncodedFrame::encode(batch.clone()).expect("encodes");
        let bytes = frame.place(42).concat();
        let (header, body) = split(&bytes);
        assert_eq!(header.base_offset, 42);
        assert_eq!(header.row_count, 3);
        assert_eq!(header.frame_bytes(), bytes.len() as u64);
        let decoded = decode_body(&header, &body, &batch.schema()).expect("decodes");
        assert_eq!(decoded, batch);
    }

    #[test]
    fn frames_encoded_one_after_another_hold_only_their_own_rows() {
        let ids = |count: i64| {
            let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
            let column = Int64Array::from_iter_values(0..count);
            RecordBatch::try_new(schema, vec![Arc::new(column)]).expect("matches the schema")
        };
        // The thread's encoder keeps the last frame's capacity, and drops it past the bound.
        let huge_rows = (ENCODER_SCRATCH_BYTES_MAX / 8 + 1) as i64;
        for batch in [ids(10_000), ids(3), ids(huge_rows), ids(5), ids(10_000)] {
            let mut frame = EncodedFrame::encode(batch.clone()).expect("encodes");
            let frame_bytes = frame.frame_bytes();
            let bytes = frame.place(9).concat();
            assert_eq!(bytes.len() as u64, frame_bytes);
            let (header, body) = split(&bytes);
            assert_eq!(header.frame_bytes(), frame_bytes);
            let decoded = decode_body(&header, &body, &batch.schema()).expect("decodes");
            assert_eq!(decoded, batch);
        }
    }

    #[test]
    fn flipped_body_byte_fails_the_crc() {
        let batch = sample_batch();
        let mut frame = EncodedFrame::encode(batch.clone()).expect("encodes");
        let mut bytes = frame.place(0).concat();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        let (header, body) = split(&bytes);
        let error = decode_body(&header, &body, &batch.schema()).expect_err("crc must fail");
        assert!(error.contains("crc32"), "{error}");
    }

    #[test]
    fn bad_magic_and_zero_rows_are_rejected() {
        let header = FrameHeader {
            body_bytes: 8,
            body_crc32: 0,
            row_count: 0,
            base_offset: 0,
            producer: ProducerTag::NONE,
        };
        assert!(FrameHeader::decode(&header.encode()).is_err());
        let mut bytes = FrameHeader {
            row_count: 1,
            ..header
        }
        .encode();
        assert!(FrameHeader::decode(&bytes).is_ok());
        bytes[0] = b'X';
        assert!(FrameHeader::decode(&bytes).is_err());
    }

    #[test]
    fn sliced_batch_encodes_only_its_rows() {
        let batch = sample_batch().slice(1, 2);
        let mut frame = EncodedFrame::encode(batch.clone()).expect("encodes");
        let bytes = frame.place(7).concat();
        let (header, body) = split(&bytes);
        let decoded = decode_body(&header, &body, &batch.schema()).expect("decodes");
        assert_eq!(decoded, batch);
    }
}
