//! The engine's error: what `Session` returns to the server.
//!
//! It wraps the errors of the crates below (parse, plan, storage, DataFusion) by variant, so
//! the server can map every one to a SQLSTATE in one place and nothing is stringified on the
//! way up. Bad values in user data are `Data`, a cancelled query `Cancelled`.

use datafusion::error::DataFusionError;
use eddy_parser::ParseError;
use eddy_planner::PlanError;
use eddy_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A query failed while running (DataFusion execution, a cast that cannot hold a value).
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    /// An Arrow kernel failed on a batch (a cast that cannot hold a value, mismatched arrays).
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// A value that does not fit where it goes (INSERT of a bad value, NULL key, ...).
    #[error("{0}")]
    Data(DataError),
    /// The query was cancelled by the client.
    #[error("canceling statement due to user request")]
    Cancelled,
    /// A broken invariant of Eddy itself: a bug, reported rather than panicking.
    #[error("internal error: {0}")]
    Internal(String),
    /// The engine is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// Work that would take more memory than Eddy's budget (`--memory`) allows.
    #[error("{0}")]
    OutOfMemory(String),
    /// A user or privilege statement that failed, or a statement the user may not run.
    #[error(transparent)]
    Access(AccessError),
    /// A statement that writes, in a session whose transactions are read only
    /// (`SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`), named by its command.
    #[error("cannot execute {0} in a read-only transaction")]
    ReadOnlyTransaction(&'static str),
}

/// Why a user or privilege statement failed, or a statement was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// SQLSTATE 42501.
    #[error("permission denied {0}")]
    PermissionDenied(String),
    /// SQLSTATE 42710.
    #[error("role \"{0}\" already exists")]
    UserExists(String),
    /// SQLSTATE 42704.
    #[error("role \"{0}\" does not exist")]
    UnknownUser(String),
    /// SQLSTATE 55006: a session's own user stays while it is logged in.
    #[error("current user cannot be dropped")]
    DropCurrentUser,
    /// SQLSTATE 58000: a verifier needs a random salt and the system has none to give.
    #[error("cannot make a random salt for the password")]
    NoRandomness,
}

/// Bad data values, by kind: each becomes a distinct 22xxx SQLSTATE.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    NullNotAllowed(String),
    #[error("{0}")]
    OutOfRange(String),
    /// A date-time outside what it may be: an event time before 1970.
    #[error("{0}")]
    DatetimeOutOfRange(String),
    /// COPY data that is not in its format (a line with too few or too many fields, an
    /// unterminated quote).
    #[error("{0}")]
    BadCopyData(String),
    /// Bytes that are not UTF-8 where text is expected.
    #[error("{0}")]
    InvalidEncoding(String),
    /// A function that failed on its arguments without saying why in an error of its own (it
    /// panicked): the row is bad for it, never the query.
    #[error("{0}")]
    FunctionFailed(String),
    /// A row behind its windows' close (stream time minus the grace period): a windowed
    /// aggregation sets it aside instead of counting it.
    #[error("{0}")]
    Late(String),
}

impl From<DataError> for EngineError {
    fn from(error: DataError) -> Self {
        EngineError::Data(error)
    }
}

pub type EngineResult<T> = Result<T, EngineError>;

/// What a caught panic said, for an error message.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// A key type that has no encoding is a statement Eddy does not support; stored bytes that do
/// not decode are Eddy's own failure, reported rather than guessed around.
impl From<crate::row_codec::CodecError> for EngineError {
    fn from(error: crate::row_codec::CodecError) -> Self {
        use crate::row_codec::CodecError;
        match error {
            CodecError::UnsupportedKeyType { .. } | CodecError::UnsupportedValueType { .. } => {
                PlanError::Unsupported {
                    feature: error.to_string(),
                }
                .into()
            }
            other => EngineError::Internal(other.to_string()),
        }
    }
}
