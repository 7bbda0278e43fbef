//! Writers into sources: the values INSERT, DELETE and COPY give, event time, and the one
//! `SourceWriter` every writer (and later every connector) goes through.
//!
//! May use: `state` (a table's writer), `batches`, storage logs. Must not know: queries,
//! statements, the session.

pub(crate) mod rowtime;
pub(crate) mod values;
pub(crate) mod writer;
