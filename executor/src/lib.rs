//! Eddy's engine: persistent, push and pull queries over the store, behind one session API.
//!
//! [`Engine::open`] recovers a data directory; [`Engine::session`] gives a [`Session`] per
//! client, whose `execute` / `prepare` / `execute_prepared` return a [`QueryOutput`]: a
//! command tag or a [`RowStream`] of Arrow batches (finite for pull queries, live for push
//! queries). The server, the shell and the tests all use this API and nothing else.
//!
//! Tasks (all on the tokio runtime the caller provides):
//! - one task per persistent query, running epochs (`persistent.rs`);
//! - one task per push query, tailing its source's log and feeding the client's bounded
//!   queue; it ends when the client's `RowStream` is dropped (`query.rs`);
//! - blocking work (fsync of the state store) on `spawn_blocking`; log appends go through the
//!   store's committer thread.
//!
//! Never: know about the Postgres wire protocol or SQLSTATE codes; the server maps
//! [`EngineError`] to them.
//!
//! ```no_run
//! # async fn example() -> Result<(), eddy_executor::EngineError> {
//! use eddy_executor::{Engine, EngineConfig};
//! let engine = Engine::open(EngineConfig::new("./eddy-data")).await?;
//! let mut session = engine.session();
//! for statement in session.parse("CREATE STREAM clicks (user_id BIGINT KEY, url STRING);")? {
//!     session.execute(&statement).await?;
//! }
//! engine.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod aggregate;
mod background;
mod batches;
mod copy_in;
mod ddl;
mod delete;
mod engine;
mod error;
mod group_by;
mod insert;
mod limits;
mod output;
mod persistent;
mod properties;
mod provider;
mod query;
mod row_codec;
mod session;
mod show;
mod table;
mod timestamps;

pub use copy_in::CopyInSink;
pub use datafusion::scalar::ScalarValue;
pub use eddy_parser::{ParseError, ParsedStatement, TransactionStatement};
pub use eddy_planner::{ObjectKind, PlanError};
pub use eddy_storage::{Durability, StorageError};
pub use engine::{Engine, EngineConfig};
pub use error::{DataError, EngineError, EngineResult};
pub use output::{CommandComplete, QueryOutput, RowStream};
pub use session::{PreparedStatement, Session};
