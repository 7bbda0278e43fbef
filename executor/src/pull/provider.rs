//! DataFusion's view of Eddy's sources, for pull queries: a `TableProvider` per source. A
//! stream is scanned from its log as of the moment the query starts; a table answers from
//! its current rows in the state store, by point reads when the query's filters give every
//! primary key column its values (`id = 5`, `id IN (1, 2)`), by range reads when they give
//! a windowed table's group key its values (`window_range.rs`), else by a scan.
//!
//! A pull query sees every row that was durable (for a table: committed) when it began and
//! nothing later, in every table and stream it reads: all its reads go through the query's
//! one `PullSnapshot`, which DataFusion hands each scan. Rows carry the pseudo-columns
//! `rowtime`, `rowpartition` and `rowoffset`.
//!
//! Never: read a table but through the query's snapshot, read a log past the end offsets it
//! holds, or block on a writer.

use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result as DataFusionResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::scalar::ScalarValue;
use eddy_planner::{SourceDef, SourceProviders, WINDOW_END, WINDOW_START};
use eddy_storage::{Offset, StateSnapshot, Store};
use futures::TryStreamExt;

use crate::error::EngineError;
use crate::input::LogCursor;
use crate::limits::{PUSH_READ_ROWS_MAX, TABLE_SCAN_PAGE_ROWS};
use crate::pull::snapshot::PullSnapshot;
use crate::pull::window_range::{self, KeyRange, WindowBounds};
use crate::row_codec::decode_rows;
use crate::state::keys::TableKeys;
use crate::state::tables;

/// Makes providers over the store for the planner.
#[derive(Debug)]
pub struct StoreProviders {
    pub store: Arc<Store>,
}

impl SourceProviders for StoreProviders {
    fn provider(&self, source: &SourceDef) -> DataFusionResult<Arc<dyn TableProvider>> {
        if source.is_table() {
            return Ok(Arc::new(TableState::new(source.clone())));
        }
        let topic = self.store.topic(&source.topic).ok_or_else(|| {
            DataFusionError::Execution(format!(
                "the log of {} \"{}\" is missing",
                source.kind.noun(),
                source.name
            ))
        })?;
        Ok(Arc::new(SourceTable {
            schema: source.queryable_schema(),
            cursor: LogCursor::new(source.clone(), topic),
        }))
    }
}

/// One stream or table, scanned from its log.
pub struct SourceTable {
    schema: SchemaRef,
    cursor: LogCursor,
}

impl fmt::Debug for SourceTable {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SourceTable")
            .field("stream", &self.cursor.source().name)
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
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        let rows: Arc<dyn PartitionStream> = Arc::new(LogRows {
            ends: PullSnapshot::of(state)?.log_ends(&self.cursor),
            cursor: self.cursor.clone(),
            schema: self.schema.clone(),
            limit,
        });
        // One DataFusion partition: pull queries run with target_partitions = 1.
        Ok(Arc::new(StreamingTableExec::try_new(
            self.schema.clone(),
            vec![rows],
            projection,
            Vec::new(),
            false,
            limit,
        )?))
    }
}

/// A stream's rows, read from its log a few thousand at a time up to the end offsets of the
/// query's snapshot: memory stays at a page however long the log.
#[derive(Debug, Clone)]
struct LogRows {
    cursor: LogCursor,
    schema: SchemaRef,
    /// Per partition, where the log ended for the query; later rows are not seen.
    ends: Vec<Offset>,
    /// Rows wanted at most, when the query has a LIMIT the scan can honour.
    limit: Option<usize>,
}

/// Where a `LogRows` scan is.
struct LogPosition {
    partition: u32,
    next: Offset,
    rows_read: usize,
}

impl LogRows {
    /// The next page of rows (empty when every partition is read up to its end), and where
    /// the scan is after it.
    fn read_page(&self, mut at: LogPosition) -> DataFusionResult<(Vec<RecordBatch>, LogPosition)> {
        let external = |error: EngineError| DataFusionError::External(Box::new(error));
        while let Some(&end) = self.ends.get(at.partition as usize) {
            if at.next >= end || self.limit.is_some_and(|limit| at.rows_read >= limit) {
                at = LogPosition {
                    partition: at.partition + 1,
                    next: Offset(0),
                    ..at
                };
                continue;
            }
            let read = self
                .cursor
                .read(at.partition, at.next, Some(end), PUSH_READ_ROWS_MAX)
                .map_err(external)?;
            if read.is_empty() {
                at.next = end;
                continue;
            }
            let mut page = Vec::with_capacity(read.len());
            for (first, changes) in read {
                at.next = Offset(first.0 + changes.num_rows() as u64);
                at.rows_read += changes.num_rows();
                page.push(changes.rows().clone());
            }
            return Ok((page, at));
        }
        Ok((Vec::new(), at))
    }
}

impl PartitionStream for LogRows {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let rows = self.clone();
        let start = LogPosition {
            partition: 0,
            next: Offset(0),
            rows_read: 0,
        };
        read_in_pages(self.schema.clone(), start, move |at| {
            let (page, at) = rows.read_page(at)?;
            let done = page.is_empty();
            Ok((page, (!done).then_some(at)))
        })
    }
}

/// The batches `read_page` reads, a page at a time, each off the async threads (reading the
/// store blocks). From where the scan is, `read_page` returns a page and where the scan is
/// after it, None once that page was the last.
fn read_in_pages<At: Send + 'static>(
    schema: SchemaRef,
    start: At,
    read_page: impl Fn(At) -> DataFusionResult<(Vec<RecordBatch>, Option<At>)> + Send + Sync + 'static,
) -> SendableRecordBatchStream {
    let read_page = Arc::new(read_page);
    let pages = futures::stream::try_unfold(Some(start), move |at| {
        let read_page = read_page.clone();
        async move {
            let Some(at) = at else {
                return Ok::<_, DataFusionError>(None);
            };
            let (page, after) = tokio::task::spawn_blocking(move || read_page(at))
                .await
                .map_err(|error| DataFusionError::External(Box::new(error)))??;
            Ok(Some((page, after)))
        }
    });
    let batches = pages
        .map_ok(|page| futures::stream::iter(page.into_iter().map(Ok)))
        .try_flatten();
    Box::pin(RecordBatchStreamAdapter::new(schema, batches))
}

/// One table, read from its rows in the state store as a query's snapshot holds them.
pub struct TableState {
    table: SourceDef,
    schema: SchemaRef,
}

impl fmt::Debug for TableState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TableState")
            .field("table", &self.table.name)
            .finish()
    }
}

impl TableState {
    pub fn new(table: SourceDef) -> Self {
        TableState {
            schema: table.queryable_schema(),
            table,
        }
    }

    /// The key column a filter pins and the expressions it gives it, for `key = v`,
    /// `v = key` and `key IN (v, ..)`.
    fn key_pin<'a>(&self, filter: &'a Expr) -> Option<(usize, Vec<&'a Expr>)> {
        let key_index = |expr: &Expr| match expr {
            // An ARRAY or STRUCT key is found by a scan: a value cast to its type may not be
            // the one that the query's own comparison would match.
            Expr::Column(column) => self.table.column_index(&column.name).filter(|&index| {
                self.table.columns[index].key && !self.table.columns[index].data_type.is_nested()
            }),
            _ => None,
        };
        match filter {
            Expr::BinaryExpr(binary) if binary.op == Operator::Eq => {
                match (key_index(&binary.left), key_index(&binary.right)) {
                    (Some(index), None) => Some((index, vec![binary.right.as_ref()])),
                    (None, Some(index)) => Some((index, vec![binary.left.as_ref()])),
                    _ => None,
                }
            }
            Expr::InList(in_list) if !in_list.negated => {
                let index = key_index(&in_list.expr)?;
                Some((index, in_list.list.iter().collect()))
            }
            _ => None,
        }
    }

    /// The values a filter gives one key column: (column index, values), when they are
    /// literals.
    fn key_values(&self, filter: &Expr) -> Option<(usize, Vec<ScalarValue>)> {
        let (index, values) = self.key_pin(filter)?;
        let values = values
            .into_iter()
            .map(|value| match value {
                Expr::Literal(value, _) => Some(value.clone()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some((index, values))
    }

    /// The filters that narrow what a read of the table's rows must read, literals or
    /// parameters (`key = $1`), if they pin enough of the key: every key column, or of a
    /// windowed table, its group key (then with the filters that bound its windows). Once
    /// the parameters are bound, `pinned_reads` reads them.
    pub fn key_pins(&self, filters: &[Expr]) -> Option<Vec<Expr>> {
        let Some(group_columns) = self.window_layout() else {
            return self.pins_of(filters, &self.table.key_indices());
        };
        let mut pins = self.pins_of(filters, &group_columns)?;
        pins.extend(window_range::bound_filters(filters));
        Some(pins)
    }

    /// The filters that pin `key_columns` to literals or parameters, if they pin them all.
    fn pins_of(&self, filters: &[Expr], key_columns: &[usize]) -> Option<Vec<Expr>> {
        let mut pinned = vec![false; self.table.columns.len()];
        let pins: Vec<Expr> = filters
            .iter()
            .filter(|filter| match self.key_pin(filter) {
                Some((index, values))
                    if key_columns.contains(&index)
                        && values.iter().all(|value| {
                            matches!(value, Expr::Literal(..) | Expr::Placeholder(_))
                        }) =>
                {
                    pinned[index] = true;
                    true
                }
                _ => false,
            })
            .cloned()
            .collect();
        key_columns
            .iter()
            .all(|&index| pinned[index])
            .then_some(pins)
    }

    /// The group key columns of a windowed table whose key is its group key, then
    /// `windowstart`, then `windowend`: the layout a range read relies on.
    fn window_layout(&self) -> Option<Vec<usize>> {
        self.table.window?;
        let mut key_columns = self.table.key_indices();
        let end = key_columns.pop()?;
        let start = key_columns.pop()?;
        let laid_out = self.table.columns[start].name == WINDOW_START
            && self.table.columns[end].name == WINDOW_END
            && !key_columns.is_empty();
        laid_out.then_some(key_columns)
    }

    /// The reads the filters (literals only) narrow a read of the table's rows to, if they
    /// pin enough of its key (see `key_pins`).
    pub fn pinned_reads(&self, filters: &[Expr]) -> DataFusionResult<Option<PinnedReads>> {
        let Some(group_columns) = self.window_layout() else {
            let Some(keys) = self.pinned_values(filters, &self.table.key_indices()) else {
                return Ok(None);
            };
            return Ok(Some(PinnedReads::Keys(self.encode_keys(&keys)?)));
        };
        let Some(group_keys) = self.pinned_values(filters, &group_columns) else {
            return Ok(None);
        };
        let bounds = WindowBounds::of(filters)?;
        let ranges = bounds.key_ranges(&group_keys, |keys| self.encode_keys(keys))?;
        Ok(Some(PinnedReads::Windows { ranges, bounds }))
    }

    /// The rows of `reads` as `state` holds them: the keys' rows, or every row in the ranges
    /// (before the window bounds on WINDOWEND are applied; see `read_pinned`). Every key and
    /// range is read from the one snapshot, so with several keys (`k IN (1, 2)`) a commit
    /// is seen by all of them or by none.
    pub fn read(
        &self,
        state: &dyn StateSnapshot,
        reads: &PinnedReads,
    ) -> Result<RecordBatch, EngineError> {
        match reads {
            PinnedReads::Keys(keys) => tables::lookup_rows(state, &self.table, &self.schema, keys),
            PinnedReads::Windows { ranges, .. } => {
                let keys = TableKeys::of(&self.table);
                let mut values = Vec::new();
                for range in ranges {
                    let (from, to) = (keys.row(&range.from), keys.row(&range.to));
                    for pair in state.iter_range(TableKeys::ROWS_KEYSPACE, &from, &to) {
                        values.push(pair?.1);
                    }
                }
                Ok(decode_rows(&self.schema, &values)?)
            }
        }
    }

    /// The rows of `reads` that the query's filters on the key and the window allow.
    pub fn read_pinned(
        &self,
        state: &dyn StateSnapshot,
        reads: &PinnedReads,
    ) -> Result<RecordBatch, EngineError> {
        let rows = self.read(state, reads)?;
        match reads {
            PinnedReads::Keys(_) => Ok(rows),
            PinnedReads::Windows { bounds, .. } => Ok(bounds.keep(rows)?),
        }
    }

    /// The values the filters give each of `key_columns`, every combination of them, if they
    /// give every one its values. A value that cannot be its column's type matches no row.
    fn pinned_values(
        &self,
        filters: &[Expr],
        key_columns: &[usize],
    ) -> Option<Vec<Vec<ScalarValue>>> {
        let mut values: Vec<Option<Vec<ScalarValue>>> = vec![None; self.table.columns.len()];
        for filter in filters {
            if let Some((index, given)) = self.key_values(filter) {
                values[index] = match values[index].take() {
                    // Two conditions on one key column: keep the values both allow.
                    Some(earlier) => Some(
                        earlier
                            .into_iter()
                            .filter(|value| given.contains(value))
                            .collect(),
                    ),
                    None => Some(given),
                };
            }
        }
        let mut combinations: Vec<Vec<ScalarValue>> = vec![Vec::new()];
        for &index in key_columns {
            let given = values[index].as_ref()?;
            let data_type = &self.table.columns[index].data_type;
            let given: Vec<ScalarValue> = given
                .iter()
                .filter_map(|value| value.cast_to(data_type).ok())
                .filter(|value| !value.is_null())
                .collect();
            combinations = combinations
                .iter()
                .flat_map(|prefix| {
                    given.iter().map(move |value| {
                        let mut combination = prefix.clone();
                        combination.push(value.clone());
                        combination
                    })
                })
                .collect();
        }
        Some(combinations)
    }

    /// Key tuples (the values of leading key columns, in key order) encoded as the table's
    /// keys are.
    fn encode_keys(&self, keys: &[Vec<ScalarValue>]) -> DataFusionResult<Vec<Vec<u8>>> {
        let Some(first) = keys.first() else {
            return Ok(Vec::new());
        };
        let arrays = (0..first.len())
            .map(|position| {
                ScalarValue::iter_to_array(keys.iter().map(|key| key[position].clone()))
            })
            .collect::<DataFusionResult<Vec<_>>>()?;
        let encoded = crate::row_codec::encode_keys(&arrays, keys.len())
            .map_err(|error| DataFusionError::External(Box::new(error)))?;
        Ok(encoded.iter().map(<[u8]>::to_vec).collect())
    }
}

/// What a read of a table's rows is narrowed to by a query's filters.
#[derive(Debug)]
pub enum PinnedReads {
    /// Point reads of these encoded keys.
    Keys(Vec<Vec<u8>>),
    /// A windowed table's windows of the pinned group keys: ranges of encoded keys, and the
    /// bounds each row's window must be within.
    Windows {
        ranges: Vec<KeyRange>,
        bounds: WindowBounds,
    },
}

#[async_trait]
impl TableProvider for TableState {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DataFusionResult<Vec<TableProviderFilterPushDown>> {
        // Key conditions choose which rows to read; DataFusion still applies every filter.
        let windowed = self.window_layout().is_some();
        Ok(filters
            .iter()
            .map(|filter| {
                let narrows = self.key_values(filter).is_some()
                    || (windowed && window_range::is_literal_bound(filter));
                match narrows {
                    true => TableProviderFilterPushDown::Inexact,
                    false => TableProviderFilterPushDown::Unsupported,
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> DataFusionResult<Arc<dyn ExecutionPlan>> {
        let snapshot = PullSnapshot::of(state)?;
        let Some(reads) = self.pinned_reads(filters)? else {
            let rows: Arc<dyn PartitionStream> = Arc::new(TableRows {
                table: self.table.clone(),
                schema: self.schema.clone(),
                snapshot,
            });
            return Ok(Arc::new(StreamingTableExec::try_new(
                self.schema.clone(),
                vec![rows],
                projection,
                Vec::new(),
                false,
                None,
            )?));
        };
        let rows = self
            .read_pinned(snapshot.state(), &reads)
            .map_err(|error| DataFusionError::External(Box::new(error)))?;
        Ok(MemorySourceConfig::try_new_exec(
            &[vec![rows]],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}

/// Every row of a table in the query's snapshot, read a page at a time: memory stays at one
/// page however large the table.
#[derive(Debug)]
struct TableRows {
    table: SourceDef,
    schema: SchemaRef,
    snapshot: Arc<PullSnapshot>,
}

impl PartitionStream for TableRows {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let pairs = tables::scan_rows(self.snapshot.state(), &self.table);
        let schema = self.schema.clone();
        read_in_pages(self.schema.clone(), pairs, move |mut pairs| {
            let page = tables::decode_page(&schema, &mut pairs, TABLE_SCAN_PAGE_ROWS)
                .map_err(|error| DataFusionError::External(Box::new(error)))?;
            let more = page.num_rows() == TABLE_SCAN_PAGE_ROWS;
            Ok((vec![page], more.then_some(pairs)))
        })
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;

    use super::*;
    use crate::api::open_with_source;

    #[tokio::test]
    async fn a_stream_is_scanned_a_page_at_a_time_as_of_the_querys_start() {
        let (_directory, engine, readings) = open_with_source(
            "CREATE STREAM readings (id BIGINT) WITH (PARTITIONS = 2)",
            "readings",
        )
        .await;
        let mut session = engine.session();
        let mut insert = async |first: usize, count: usize| {
            let values: Vec<String> = (first..first + count).map(|id| format!("({id})")).collect();
            let sql = format!("INSERT INTO readings (id) VALUES {}", values.join(", "));
            for statement in session.parse(&sql).expect("parses") {
                session.execute(&statement).await.expect("inserts");
            }
        };
        const STATEMENTS: usize = 8;
        const ROWS_EACH: usize = PUSH_READ_ROWS_MAX / 2;
        for statement in 0..STATEMENTS {
            insert(statement * ROWS_EACH, ROWS_EACH).await;
        }
        let cursor = LogCursor::new(
            readings.clone(),
            engine
                .core()
                .query_env()
                .topic_of(&readings)
                .expect("a log"),
        );
        let rows = LogRows {
            ends: cursor.end_offsets(),
            cursor,
            schema: readings.queryable_schema(),
            limit: None,
        };
        // Rows that arrive once the scan has begun are not part of its result.
        insert(STATEMENTS * ROWS_EACH, 10).await;
        let mut at = LogPosition {
            partition: 0,
            next: Offset(0),
            rows_read: 0,
        };
        let mut pages = 0;
        let mut ids = Vec::new();
        loop {
            let (page, after) = rows.read_page(at).expect("reads");
            if page.is_empty() {
                break;
            }
            pages += 1;
            for batch in page {
                ids.extend_from_slice(batch.column(0).as_primitive::<Int64Type>().values());
            }
            at = after;
        }
        assert!(pages >= 4, "{pages} pages");
        ids.sort_unstable();
        assert_eq!(
            ids,
            (0..(STATEMENTS * ROWS_EACH) as i64).collect::<Vec<_>>()
        );
    }
}
