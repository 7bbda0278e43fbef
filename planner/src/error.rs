//! Errors of planning: a statement that parsed but cannot be run against the catalog.
//!
//! Each variant is one thing a user did or asked for; the server maps each to a SQLSTATE
//! (`server/src/sqlstate.rs`). DataFusion's own errors are wrapped, never stringified.

use std::fmt;

use datafusion::error::DataFusionError;

/// What kind of named object an error is about: relations (streams, tables) and queries get
/// different SQLSTATEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Stream,
    Table,
    /// A name looked up among both streams and tables.
    StreamOrTable,
    Query,
    /// A named type (`CREATE TYPE`).
    Type,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            ObjectKind::Stream => "stream",
            ObjectKind::Table => "table",
            ObjectKind::StreamOrTable => "stream or table",
            ObjectKind::Query => "query",
            ObjectKind::Type => "type",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A stream, table or query named in the statement does not exist.
    #[error("{kind} \"{name}\" does not exist")]
    UnknownObject { kind: ObjectKind, name: String },
    /// A type named in the statement is neither built in nor made by `CREATE TYPE`.
    #[error("type \"{name}\" does not exist; the built-in types are {built_in}, and SHOW TYPES lists the named ones", built_in = eddy_parser::SUPPORTED_TYPES)]
    UnknownType { name: String },
    /// A column named in the statement does not exist in its source.
    #[error("column \"{column}\" does not exist{context}")]
    UnknownColumn { column: String, context: String },
    /// SET, SHOW or UNSET of a property Eddy does not know.
    #[error("unrecognized configuration parameter \"{name}\"")]
    UnknownSetting { name: String },
    /// CREATE of a name that is taken.
    #[error("{kind} \"{name}\" already exists")]
    AlreadyExists { kind: ObjectKind, name: String },
    /// A column name given twice where names must be unique.
    #[error("column \"{column}\" {context}")]
    DuplicateColumn {
        column: String,
        context: &'static str,
    },
    /// A stream or table definition that cannot be (a PRIMARY KEY on a stream, a column
    /// named like a pseudo-column, a TIMESTAMP column of the wrong type).
    #[error("{message}")]
    InvalidDefinition { message: String },
    /// A value or expression of the wrong type for where it is used.
    #[error("{message}")]
    TypeMismatch { message: String },
    /// A statement that is well-formed but invalid here (bad property, bad key, wrong arity).
    #[error("{message}")]
    Invalid { message: String },
    /// A GROUP BY rule broken: an aggregate in GROUP BY, an ungrouped column, no aggregate.
    #[error("{message}")]
    Grouping { message: String },
    /// A statement writes into a read-only source (`CREATE SOURCE STREAM|TABLE`); ksqlDB's
    /// wording.
    #[error("Cannot write into read-only {kind}: {name} (it was created with CREATE SOURCE {kind_upper})", kind_upper = kind.to_string().to_uppercase())]
    ReadOnlySource { kind: ObjectKind, name: String },
    /// An object is in use and cannot be dropped or changed (ksqlDB's wording).
    #[error("{message}")]
    InUse { message: String },
    /// Something Eddy recognizes but does not do yet.
    #[error("{feature} is not supported yet")]
    Unsupported { feature: String },
    /// A join ksqlDB refuses, in ksqlDB's words (a RIGHT or FULL stream-table join, a
    /// table joined with a stream, a stream-table join not on the table's key).
    #[error("{message}")]
    UnsupportedJoin { message: String },
    /// A broken invariant of the planner: a bug, reported rather than panicking.
    #[error("internal planner error: {message}")]
    Internal { message: String },
    /// DataFusion rejected the query while planning it.
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
}

pub type PlanResult<T> = Result<T, PlanError>;

impl PlanError {
    /// Something Eddy recognizes but does not do yet.
    pub fn unsupported(feature: impl Into<String>) -> PlanError {
        PlanError::Unsupported {
            feature: feature.into(),
        }
    }

    /// A well-formed statement that is invalid here.
    pub fn invalid(message: impl Into<String>) -> PlanError {
        PlanError::Invalid {
            message: message.into(),
        }
    }
}

/// `1 column`, `3 columns`: a count in a message.
pub fn plural(number: usize, noun: &str) -> String {
    if number == 1 {
        format!("1 {noun}")
    } else {
        format!("{number} {noun}s")
    }
}
