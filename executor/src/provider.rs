//! DataFusion's view of Eddy's sources, for pull queries: a `TableProvider` per source that
//! scans its log as of the moment the query starts.
//!
//! A pull query sees every row that was durable when its scan began and nothing appended
//! later, so a result is a consistent snapshot. Rows carry the pseudo-columns `rowtime`,
//! `rowpartition` and `rowoffset`.
//!
//! Never: read past the end offsets taken at scan start, or block on a writer.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result as DataFusionResult};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use eddy_planner::{SourceDef, SourceProviders};
use eddy_storage::{Offset, Store, Topic};

use crate::batches::with_pseudo_columns;
use crate::limits::PUSH_READ_ROWS_MAX;

/// Makes providers over the store for the planner.
#[derive(Debug)]
pub struct StoreProviders {
    pub store: Arc<Store>,
}

impl SourceProviders for StoreProviders {
    fn provider(&self, source: &SourceDef) -> DataFusionResult<Arc<dyn TableProvider>> {
        let topic = self.store.topic(&source.topic).ok_or_else(|| {
            DataFusionError::Execution(format!(
                "the log of {} \"{}\" is missing",
                source.kind.noun(),
                source.name
            ))
        })?;
        Ok(Arc::new(SourceTable {
            schema: source.queryable_schema(),
            topic,
        }))
    }
}

/// One stream or table, scanned from its log.
pub struct SourceTable {
    schema: SchemaRef,
    topic: Arc<Topic>,
}

impl fmt::Debug for SourceTable {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SourceTable")
            .field("topic", &self.topic.name())
            .finish()
    }
}

#[async_trait]
impl TableProvider for SourceTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        let mut partitions = Vec::with_capacity(self.topic.partition_count() as usize);
        let mut rows_read = 0usize;
        for partition in 0..self.topic.partition_count() {
            let end = self.topic.end_offset(partition);
            let mut batches = Vec::new();
            let mut next = Offset(0);
            while next < end && limit.is_none_or(|limit| rows_read < limit) {
                let read = self
                    .topic
                    .read(partition, next, PUSH_READ_ROWS_MAX)
                    .map_err(|error| DataFusionError::External(Box::new(error)))?;
                if read.is_empty() {
                    break;
                }
                for (first, stored) in read {
                    if first >= end {
                        break;
                    }
                    let wanted = (end.0 - first.0).min(stored.num_rows() as u64) as usize;
                    let stored = stored.slice(0, wanted);
                    next = Offset(first.0 + wanted as u64);
                    rows_read += wanted;
                    batches.push(
                        with_pseudo_columns(&stored, &self.schema, partition, first.0)
                            .map_err(|error| DataFusionError::External(Box::new(error)))?,
                    );
                }
            }
            partitions.push(batches);
        }
        // One DataFusion partition: pull queries run with target_partitions = 1.
        let all: Vec<_> = partitions.into_iter().flatten().collect();
        Ok(MemorySourceConfig::try_new_exec(
            &[all],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}
