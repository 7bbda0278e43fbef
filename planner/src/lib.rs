//! Eddy's planner: the catalog, and statements turned into plans through DataFusion.
//!
//! Principal types: [`Catalog`] (streams, tables, persistent queries and their schemas),
//! [`SqlPlanner`] (SELECTs planned by DataFusion against the catalog) and [`Dataflow`] (a
//! persistent or push query lowered to what the executor runs batch at a time). The planner
//! owns ksqlDB's query rules (`select`): which clauses a pull, push or persistent query takes,
//! whether a persistent query makes a stream or a table, and its columns and key.
//! Statements that Eddy does not run yet fail here with [`PlanError::Unsupported`].
//!
//! Never: read files, spawn tasks, or know about the wire protocol.

mod asof_join;
pub mod casts;
pub mod catalog;
pub mod dataflow;
pub mod error;
pub mod functions;
mod grouping;
pub mod java_time;
pub mod join;
pub mod lookup_join;
pub mod moments;
mod names;
mod operators;
pub mod postgres;
mod projection;
mod result_key;
mod scalar;
pub mod select;
pub mod sql;
mod step;
pub mod temporal;
mod type_planner;
pub mod types;
pub mod window;
mod window_tvf;

pub use casts::cast_strict;
pub use catalog::{
    Catalog, CatalogEntry, Column, PROCESSING_LOG, PSEUDO_COLUMNS, QueryDef, QueryStatus,
    ROWOFFSET, ROWPARTITION, ROWTIME, ROWWEIGHT, SharedCatalog, SourceDef, SourceKind,
    TimestampColumn, TypeDef, processing_log_columns,
};
pub use dataflow::{
    AggregateCall, AggregatePlan, Dataflow, StatelessPlan, Step, UnnestColumn, lower, lower_over,
    lower_stateless,
};
pub use error::{ObjectKind, PlanError, PlanResult, plural};
pub use lookup_join::{JoinKeyColumn, LookupJoinKind, LookupJoinPlan};
pub use select::{PersistentQuery, PersistentSink, check_column_name};
pub use sql::{SourceProviders, SqlPlanner, compile};
pub use step::{
    AsofJoinPlan, AsofMode, JoinInput, JoinKind, JoinPlan, JoinTimeWindow, ResultKeyColumn,
};
pub use temporal::TemporalFilter;
pub use type_planner::select_uses_type;
pub use types::{arrow_type, check_key_type, storable_type, type_name};
pub use window::{DurationText, WINDOW_END, WINDOW_START, WindowBound, WindowKind, WindowPlan};
