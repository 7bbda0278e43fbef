//! Keyed state over the `StateStore`: where every key lives (`keys`), how a batch of
//! changes is committed (`commit`), and tables' current rows (`tables`).
//!
//! May use: storage, the row codec, `changes`, `batches`. Must not know: operators, query
//! tasks, statements, the engine.

pub(crate) mod commit;
pub(crate) mod keys;
pub(crate) mod operator_cache;
pub(crate) mod tables;
