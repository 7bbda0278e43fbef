//! The one error type of `eddy-storage`. Each variant names what failed and where (topic,
//! partition, file, byte position), so that an operator can act on the message alone.
//!
//! Never: stringify an underlying error that has a type (I/O, Arrow, fjall); wrap it as a source.

use std::path::PathBuf;

use arrow::error::ArrowError;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{operation} {path}: {source}", path = path.display())]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),
    #[error("state store: {0}")]
    State(#[from] fjall::Error),
    #[error("topic \"{name}\" already exists")]
    TopicExists { name: String },
    #[error("topic \"{name}\" does not exist")]
    TopicNotFound { name: String },
    #[error("topic \"{name}\" was dropped")]
    TopicDropped { name: String },
    #[error("invalid topic \"{name}\": {reason}")]
    InvalidTopic { name: String, reason: String },
    #[error("topic \"{topic}\" has no partition {partition} (it has {partition_count})")]
    PartitionOutOfRange {
        topic: String,
        partition: u32,
        partition_count: u32,
    },
    #[error("batch schema does not match topic \"{topic}\": expected {expected}, found {found}")]
    SchemaMismatch {
        topic: String,
        expected: String,
        found: String,
    },
    #[error("topic \"{topic}\": column \"{column}\" has type {data_type}, which logs cannot store")]
    UnsupportedType {
        topic: String,
        column: String,
        data_type: String,
    },
    #[error("batch encodes to {body_bytes} bytes, more than the {body_bytes_max} a frame may hold")]
    FrameTooLarge {
        body_bytes: u64,
        body_bytes_max: u64,
    },
    #[error("corrupt log file {path} at byte {position_bytes}: {reason}", path = path.display())]
    Corrupt {
        path: PathBuf,
        position_bytes: u64,
        reason: String,
    },
    #[error("corrupt metadata file {path}: {reason}", path = path.display())]
    CorruptMetadata { path: PathBuf, reason: String },
    #[error(
        "cannot truncate topic \"{topic}\" partition {partition} to offset {end}: \
         its end offset is {end_offset}"
    )]
    TruncateBeyondEnd {
        topic: String,
        partition: u32,
        end: u64,
        end_offset: u64,
    },
    #[error("topic \"{topic}\" partition {partition}: {reason}")]
    PartitionUnavailable {
        topic: String,
        partition: u32,
        reason: &'static str,
    },
    #[error("append not committed: {reason}")]
    CommitFailed { reason: String },
    #[error("the log committer thread has stopped")]
    CommitterStopped,
    #[error("invalid change batch: {reason}")]
    InvalidChangeBatch { reason: String },
}

impl StorageError {
    /// Wraps an I/O error with the operation and the file it concerns.
    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| StorageError::Io {
            operation,
            path,
            source,
        }
    }
}
