//! Eddy's engine: persistent, push and pull queries over the store, behind one session API.
//!
//! [`Engine::open`] recovers a data directory; [`Engine::session`] gives a [`Session`] per
//! client, whose `execute` / `prepare` / `execute_prepared` return a [`QueryOutput`]: a
//! command tag or a [`RowStream`] of Arrow batches (finite for pull queries, live for push
//! queries). The server, the shell and the tests all use this API and nothing else.
//!
//! Modules, lowest layer first; a module uses only the layers below its own:
//!
//! 0. `error`, `limits`, `clock`, `session_properties`, `background`, `batches` (pseudo-columns, casts, routing),
//!    `changes` (the Z-set currency and its weight rules), `row_codec`, `input` (the one
//!    reader of logs): foundations. Must not know: anything above.
//! 1. `state`: keys, commits, operator caches, tables' rows. Must not know: operators, tasks.
//! 2. `dataflow` (operators behind one trait; synchronous, no tokio, no logs), `ingest` (the
//!    `SourceWriter` every writer goes through; values, event time).
//! 3. `sinks` (stream, table, client), `pull` (DataFusion providers, key lookups),
//!    `pg_catalog` (Postgres' catalog relations and system functions, for clients),
//!    `runtime` (pipelines, the epoch loop, push query tasks, `QueryEnv`), `output`, COPY
//!    (`copy_in`). Must not know: the engine core or statements.
//! 4. `engine`: the core (`EngineCore`) every statement runs against: store, catalog,
//!    planner, running queries, writers. Private fields, methods only.
//! 5. `statements`: one module per statement family. Must not know: each other, the
//!    session. `access`: users, their SCRAM verifiers and privileges; its `AccessControl`
//!    (the committed users) is held by the core, its statements (CREATE USER, GRANT) and
//!    the check every statement passes run against the core. Must not know: the session.
//! 6. `api`: `Engine` and `Session`, the public face; the only module that names them all.
//!
//! Tasks (all on the tokio runtime the caller provides):
//! - one task per persistent query, running epochs (`runtime/persistent.rs`);
//! - one task per push query, tailing its source's log and feeding the client's bounded
//!   queue; it ends when the client's `RowStream` is dropped (`runtime/push.rs`);
//! - one task deleting streams' log segments past their retention every few minutes
//!   (`runtime/retention.rs`);
//! - blocking work (fsync of the state store, retention's reads and deletions) on
//!   `spawn_blocking`; log appends go through the store's committer thread.
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

mod access;
mod api;
mod background;
mod batches;
mod changes;
mod clock;
mod copy_in;
mod dataflow;
mod engine;
mod error;
mod ingest;
mod input;
mod limits;
mod output;
mod pg_catalog;
mod pull;
mod row_codec;
mod runtime;
mod session_properties;
mod sinks;
mod state;
mod statements;

pub use access::{AccessError, Principal, ScramVerifier};
pub use api::session::{PreparedStatement, Session};
pub use api::{Engine, EngineConfig};
pub use clock::{Clock, ManualClock, SystemClock};
pub use copy_in::CopyInSink;
pub use datafusion::scalar::ScalarValue;
pub use eddy_parser::{
    DiscardTarget, ParseError, ParsedStatement, Statement, TransactionStatement,
};
pub use eddy_planner::postgres::SERVER_VERSION;
pub use eddy_planner::{ObjectKind, PlanError};
pub use eddy_storage::{Durability, StorageError};
pub use error::{DataError, EngineError, EngineResult};
pub use output::{CommandComplete, QueryOutput, RowStream};
pub use runtime::retention::RetentionReport;
