//! Pull queries' access to the store: DataFusion `TableProvider`s over streams' logs and
//! tables' rows, key lookups answered by point reads (a windowed table's by range reads of
//! its group key's windows, `window_range`), and the one way a planned pull query runs
//! (`query`).
//!
//! May use: `state`, `dataflow::steps`, storage. Must not know: persistent or push queries,
//! statements, the session.

pub(crate) mod key_lookup;
pub(crate) mod provider;
pub(crate) mod query;
pub(crate) mod snapshot;
pub(crate) mod window_range;
