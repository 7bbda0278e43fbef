//! Pull queries' access to the store: DataFusion `TableProvider`s over streams' logs and
//! tables' rows, and key lookups answered by point reads.
//!
//! May use: `state`, `dataflow::steps`, storage. Must not know: persistent or push queries,
//! statements, the session.

pub(crate) mod key_lookup;
pub(crate) mod provider;
