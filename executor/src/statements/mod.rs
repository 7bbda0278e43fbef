//! One module per family of statements: each checks its statement against the catalog and
//! runs it through the engine's core.
//!
//! May use: the engine core, `runtime`, `ingest`, `state`, `pull`, `output`. Must not know:
//! each other (a helper two statements share lives below them), or the session's dispatch.

pub(crate) mod access_check;
pub(crate) mod copy;
pub(crate) mod ddl;
pub(crate) mod explain;
pub(crate) mod insert;
pub(crate) mod properties;
pub(crate) mod select;
pub(crate) mod show;
pub(crate) mod table_dml;
pub(crate) mod types;
pub(crate) mod users;
