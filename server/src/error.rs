//! Errors the server itself detects, between the wire and the engine: bad parameters in a
//! Bind, result values the Postgres wire cannot carry, statements a transaction block's
//! state refuses.
//!
//! Engine errors stay `EngineError`; both become SQLSTATEs in one place only
//! (`sqlstate.rs`). Never: stringify an engine error into one of these variants.

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A Bind parameter that cannot be read as the type it was announced as.
    #[error("invalid input for parameter ${position} of type {type_name}: {reason}")]
    InvalidParameter {
        /// 1-based, as in `$1`.
        position: usize,
        type_name: String,
        reason: String,
    },
    /// A Bind whose parameter count differs from the statement's.
    #[error(
        "bind message supplies {supplied} parameters, but prepared statement requires {required}"
    )]
    ParameterCount { supplied: usize, required: usize },
    /// A Bind whose result format codes are neither 0, 1, nor one per column.
    #[error("bind message has {formats} result formats but query has {columns} columns")]
    ResultFormatCount { formats: usize, columns: usize },
    /// A result with more columns than a `DataRow` can carry (its count is an i16).
    #[error("result has {columns} columns; at most {columns_max} can be sent")]
    TooManyColumns { columns: usize, columns_max: usize },
    /// One value larger than a wire message can carry (its length is an i32).
    #[error("value in column \"{column}\" is {value_bytes} bytes, too large to send")]
    ValueTooLarge { column: String, value_bytes: usize },
    /// A date or time outside the range Postgres can represent.
    #[error("value in column \"{column}\" is out of range for type {type_name}")]
    ValueOutOfRange { column: String, type_name: String },
    /// A column of an Arrow type that has neither a Postgres type nor a display form.
    #[error("column \"{column}\" has type {data_type}, which cannot be sent to a client")]
    UnsupportedType { column: String, data_type: String },
    /// pgwire's COPY in both directions (replication), which no statement of Eddy starts.
    #[error("COPY in both directions is not supported")]
    CopyBothUnsupported,
    /// A COPY FROM STDIN followed by more statements in one simple query: its data can only
    /// follow the whole query message.
    #[error("COPY FROM STDIN must be the last statement of a query string")]
    CopyInNotLast,
    /// The client ended its COPY FROM STDIN with CopyFail.
    #[error("COPY from stdin failed: {message}")]
    CopyFailed { message: String },
    /// CopyData, CopyDone or CopyFail without a COPY FROM STDIN in progress.
    #[error("COPY data without a COPY FROM STDIN in progress")]
    NoCopyInProgress,
    /// A savepoint statement outside a transaction block.
    #[error("{statement} can only be used in transaction blocks")]
    NotInTransactionBlock { statement: &'static str },
    /// A statement that must not run inside a transaction block (`DISCARD ALL`).
    #[error("{statement} cannot run inside a transaction block")]
    InsideTransactionBlock { statement: &'static str },
    /// DEALLOCATE of a statement the client has not prepared.
    #[error("prepared statement \"{name}\" does not exist")]
    NoSuchPreparedStatement { name: String },
    /// RELEASE or ROLLBACK TO of a savepoint the block does not have.
    #[error("savepoint \"{name}\" does not exist")]
    NoSuchSavepoint { name: String },
    /// A statement other than COMMIT, ROLLBACK or ROLLBACK TO after an error in a block.
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    TransactionAborted,
    /// A result batch whose columns differ from the schema already described to the
    /// client: a broken engine invariant, reported rather than sent inconsistently.
    #[error("result batch has {actual} columns, but its schema has {expected}")]
    BatchColumnCount { expected: usize, actual: usize },
}

pub type ServerResult<T> = Result<T, ServerError>;
