//! The one error type of the parser. A syntax error carries the 1-based character position
//! of the offending token in the whole input, which the server sends as the Postgres
//! ErrorResponse 'P' field; an unsupported feature is told apart so it maps to SQLSTATE 0A000.
//!
//! Never: stringify a position into the message only; callers need it as a number.

/// Why a SQL string could not be turned into statements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// position_chars: 1-based character index into the whole input string given to
    /// `parse_sql` (what Postgres sends in the ErrorResponse 'P' field). The message reads
    /// like Postgres' (`syntax error at or near "FORM"`), with sqlparser's expectation added
    /// where it helps.
    #[error("{message}")]
    Syntax {
        message: String,
        position_chars: usize,
    },
    /// A statement or clause Eddy recognizes but does not support yet (e.g. "WITHIN
    /// (stream-stream join)", "COPY ... FROM", "CREATE TYPE"): the server answers SQLSTATE
    /// 0A000.
    #[error("{feature} is not supported yet")]
    Unsupported { feature: String },
}

impl ParseError {
    pub(crate) fn unsupported(feature: impl Into<String>) -> Self {
        ParseError::Unsupported {
            feature: feature.into(),
        }
    }
}
