//! Tables: keyed current state in the state store, kept in step with the table's changelog.
//!
//! A table has one writer: `INSERT`/`UPDATE`/`DELETE` for a source table (serialized by the
//! table's write lock, which an UPDATE or DELETE holds from reading the rows it changes to
//! writing the change), the persistent query of a `CREATE TABLE .. AS SELECT`. The writer
//! states what each touched key now holds (a row, or nothing); [`TableChanges::resolve`]
//! looks up what the key held before and gives the changelog (−old, +new per key: a Z-set,
//! so downstream aggregates can retract) and the state changes. Current rows live in the
//! state keyspace under `t/<topic>/<encoded key>`, as the row plus the changelog position
//! that wrote it.
//!
//! A source table appends its changelog, then commits its state with the changelog offsets it
//! reflects (`table/<topic>/applied/<partition>`); after a crash between the two, opening the
//! engine replays the changelog past those offsets. A CTAS commits its sink's state with its
//! epoch, before the (idempotent) append of the same changes.
//!
//! Never: write a table's changelog from two writers, or let a row with a NULL key in.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, UInt32Array, make_comparator,
};
use arrow::compute::{SortOptions, filter_record_batch, take_record_batch};
use arrow::datatypes::SchemaRef;
use eddy_planner::SourceDef;
use eddy_storage::{
    ChangeBatch, Offset, PrefixIter, StateBatch, StateSnapshot, StateStore, Store, Topic,
};
use tracing::info;

use crate::background::run_in_background_if;
use crate::batches::{partition_by_key, with_pseudo_columns};
use crate::changes::{split_weight_column, with_weight_column};
use crate::error::{DataError, EngineError, EngineResult};
use crate::input::read_stored;
use crate::limits::{BACKGROUND_TABLE_KEYS_MIN, FORGET_KEYS_PER_COMMIT, PUSH_READ_ROWS_MAX};
use crate::row_codec::{EncodedRows, decode_rows, encode_keys, encode_rows};
use crate::state::commit::commit_state;
use crate::state::keys::{TableKeys, decode_u64, encode_u64};

/// The encoded primary keys of `rows` (a batch with the table's row schema, or any batch
/// whose first columns are the table's columns). Refuses NULL keys.
pub fn primary_keys(table: &SourceDef, rows: &RecordBatch) -> EngineResult<EncodedRows> {
    let key_columns: Vec<ArrayRef> = table
        .key_indices()
        .into_iter()
        .map(|index| rows.column(index).clone())
        .collect();
    for (column, index) in key_columns.iter().zip(table.key_indices()) {
        if column.null_count() > 0 {
            return Err(DataError::NullNotAllowed(format!(
                "primary key column \"{}\" of table \"{}\" cannot be NULL",
                table.columns[index].name, table.name
            ))
            .into());
        }
    }
    Ok(encode_keys(&key_columns, rows.num_rows())?)
}

/// What a writer says happened to a table: for each touched key, its new row or none.
pub struct TableChanges {
    /// New rows, with the table's row schema (columns, then `rowtime`).
    rows: RecordBatch,
    /// Touched keys, each once, with the index of its new row in `rows` (None: deleted).
    keys: Vec<(Vec<u8>, Option<usize>)>,
}

impl TableChanges {
    /// Upserts: each row replaces its key's row; of several rows with one key, the last wins.
    pub fn upserts(table: &SourceDef, rows: RecordBatch) -> EngineResult<TableChanges> {
        let keys = primary_keys(table, &rows)?;
        let mut slot_of_key: HashMap<&[u8], usize> = HashMap::with_capacity(keys.len());
        let mut touched: Vec<(Vec<u8>, Option<usize>)> = Vec::with_capacity(keys.len());
        for (row, key) in keys.iter().enumerate() {
            match slot_of_key.get(key) {
                Some(&slot) => touched[slot].1 = Some(row),
                None => {
                    slot_of_key.insert(key, touched.len());
                    touched.push((key.to_vec(), Some(row)));
                }
            }
        }
        Ok(TableChanges {
            rows,
            keys: touched,
        })
    }

    /// Deletes of the keys in `key_rows` (the table's key columns, in key order).
    pub fn deletes(table: &SourceDef, key_rows: &[ArrayRef]) -> EngineResult<TableChanges> {
        let rows = key_rows.first().map_or(0, |column| column.len());
        let mut keys: Vec<Vec<u8>> = encode_keys(key_rows, rows)?
            .iter()
            .map(<[u8]>::to_vec)
            .collect();
        keys.sort();
        keys.dedup();
        Ok(TableChanges {
            rows: RecordBatch::new_empty(table.row_schema()),
            keys: keys.into_iter().map(|key| (key, None)).collect(),
        })
    }

    /// The new contents of the keys of a persistent query's weighted rows (the table's row
    /// schema): after consolidation, a key with a +row now holds it; a key with only −rows
    /// is gone.
    pub fn of_weighted_rows(
        table: &SourceDef,
        rows: RecordBatch,
        weights: Option<Int64Array>,
    ) -> EngineResult<TableChanges> {
        if rows.num_rows() == 0 {
            return Ok(TableChanges {
                rows,
                keys: Vec::new(),
            });
        }
        let changes = ChangeBatch::try_new(rows, weights)?;
        let Some(consolidated) = ChangeBatch::consolidate(&[changes])? else {
            return Ok(TableChanges {
                rows: RecordBatch::new_empty(table.row_schema()),
                keys: Vec::new(),
            });
        };
        let keys = primary_keys(table, consolidated.rows())?;
        let mut slot_of_key: HashMap<&[u8], usize> = HashMap::with_capacity(keys.len());
        let mut touched: Vec<(Vec<u8>, Option<usize>)> = Vec::with_capacity(keys.len());
        for (row, key) in keys.iter().enumerate() {
            let new_row = (consolidated.weight(row) > 0).then_some(row);
            match slot_of_key.get(key) {
                Some(&slot) => {
                    if new_row.is_some() {
                        touched[slot].1 = new_row;
                    }
                }
                None => {
                    slot_of_key.insert(key, touched.len());
                    touched.push((key.to_vec(), new_row));
                }
            }
        }
        Ok(TableChanges {
            rows: consolidated.rows().clone(),
            keys: touched,
        })
    }

    /// Looks up each touched key's current row and returns the changelog batches (per
    /// partition: −old rows, then +new rows, in the table's stored schema) and the state
    /// changes that go with them, as if the batches were appended at `position`.
    pub fn resolve(
        &self,
        state: &dyn StateStore,
        table: &SourceDef,
        position: &TablePosition,
    ) -> EngineResult<ResolvedChanges> {
        let keys = TableKeys::of(table);
        let mut old_values = Vec::new();
        let mut new_rows: Vec<u32> = Vec::new();
        let mut removed = 0usize;
        let mut added = 0usize;
        let state_keys: Vec<Vec<u8>> = self.keys.iter().map(|(key, _)| keys.row(key)).collect();
        let olds = state.get_many(TableKeys::ROWS_KEYSPACE, &state_keys)?;
        for ((_, new_row), old) in self.keys.iter().zip(olds) {
            match (&old, new_row) {
                (Some(_), None) => removed += 1,
                (None, Some(_)) => added += 1,
                (None, None) => continue,
                (Some(_), Some(_)) => {}
            }
            if let Some(old) = old {
                old_values.push(old);
            }
            if let Some(row) = new_row {
                new_rows.push(*row as u32);
            }
        }
        let row_schema = table.row_schema();
        let retracted = {
            let values: Vec<&[u8]> = old_values.iter().map(Vec::as_slice).collect();
            let queryable = decode_rows(&table.queryable_schema(), &values)?;
            let row_columns = queryable.columns()[..row_schema.fields().len()].to_vec();
            RecordBatch::try_new(row_schema.clone(), row_columns)?
        };
        let inserted = take_record_batch(&self.rows, &UInt32Array::from(new_rows))?;
        let changes = with_weight_column(&table.stored_schema(), &retracted, &inserted)?;
        ResolvedChanges::new(
            table,
            position,
            &changes,
            added as i64 - removed as i64,
            (inserted.num_rows(), removed),
        )
    }
}

/// Where a table's writer stands: the rows the table holds and the end of each partition of
/// its changelog. A persistent query carries it from epoch to epoch, so that it can compute
/// an epoch while the one before is still being committed and appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePosition {
    rows: u64,
    ends: Vec<Offset>,
}

impl TablePosition {
    /// The position of the table's committed state and changelog.
    pub fn current(
        state: &dyn StateStore,
        table: &SourceDef,
        topic: &Topic,
    ) -> EngineResult<TablePosition> {
        Ok(TablePosition {
            rows: row_count(state, table)?,
            ends: (0..topic.partition_count())
                .map(|partition| topic.end_offset(partition))
                .collect(),
        })
    }

    fn end(&self, partition: u32) -> EngineResult<Offset> {
        self.ends.get(partition as usize).copied().ok_or_else(|| {
            EngineError::Internal(format!("a table change for missing partition {partition}"))
        })
    }
}

impl ResolvedChanges {
    /// The changes of a writer that knows what each key held: a GROUP BY's results before
    /// (weight −1) and after (+1) an epoch, every −1 row first and exactly the row the table
    /// holds for its key. `groups` numbers each row's group, ascending within each sign, so
    /// each key has at most one row of each sign. A group whose new row equals its old one
    /// leaves the table as it was, and both rows are dropped. Nothing is looked up.
    pub fn of_known_rows(
        table: &SourceDef,
        position: &TablePosition,
        rows: RecordBatch,
        weights: &Int64Array,
        groups: &UInt32Array,
    ) -> EngineResult<ResolvedChanges> {
        let retracted_count = weights.values().partition_point(|&weight| weight < 0);
        let (retracted_groups, inserted_groups) = groups.values().split_at(retracted_count);
        let well_formed = weights.null_count() == 0
            && groups.null_count() == 0
            && weights.len() == rows.num_rows()
            && groups.len() == rows.num_rows()
            && weights.values()[retracted_count..]
                .iter()
                .all(|&weight| weight == 1)
            && weights.values()[..retracted_count]
                .iter()
                .all(|&weight| weight == -1)
            && retracted_groups.is_sorted_by(|earlier, later| earlier < later)
            && inserted_groups.is_sorted_by(|earlier, later| earlier < later);
        if !well_formed {
            return Err(EngineError::Internal(
                "a GROUP BY's changes are not its old rows, then its new rows, in group order"
                    .into(),
            ));
        }
        let unchanged = unchanged_pairs(&rows, retracted_groups, inserted_groups, retracted_count)?;
        let rows = match unchanged.is_empty() {
            true => rows,
            false => {
                let mut kept = vec![true; rows.num_rows()];
                for &(retracted, inserted) in &unchanged {
                    kept[retracted] = false;
                    kept[inserted] = false;
                }
                filter_record_batch(&rows, &BooleanArray::from(kept))?
            }
        };
        let retracted_count = retracted_count - unchanged.len();
        let inserted_count = rows.num_rows() - retracted_count;
        let changes = with_weight_column(
            &table.stored_schema(),
            &rows.slice(0, retracted_count),
            &rows.slice(retracted_count, inserted_count),
        )?;
        // Each key has at most one row of each sign, so the keys gained minus the keys lost
        // is the +1 rows minus the −1 rows.
        ResolvedChanges::new(
            table,
            position,
            &changes,
            inserted_count as i64 - retracted_count as i64,
            (inserted_count, retracted_count),
        )
    }

    /// The changelog `changes` (stored schema, each key's −1 row before its +1 row) makes,
    /// and the state changes that go with it, once appended at `position`.
    fn new(
        table: &SourceDef,
        position: &TablePosition,
        changes: &RecordBatch,
        rows_gained: i64,
        (upserted, removed): (usize, usize),
    ) -> EngineResult<ResolvedChanges> {
        let changelog = partition_by_key(changes, &table.key_indices(), table.partitions)?;
        let changelog: Vec<(u32, RecordBatch)> = changelog
            .into_iter()
            .filter(|(_, rows)| rows.num_rows() > 0)
            .collect();
        let mut state_changes = StateBatch::default();
        let mut after = position.clone();
        if rows_gained != 0 {
            after.rows = position.rows.saturating_add_signed(rows_gained);
            state_changes.put(
                TableKeys::BOOKKEEPING_KEYSPACE,
                TableKeys::of(table).row_count(),
                encode_u64(after.rows),
            );
        }
        for (partition, rows) in &changelog {
            let first = position.end(*partition)?;
            apply_changelog(table, rows, *partition, first.0, &mut state_changes)?;
            after.ends[*partition as usize] = Offset(first.0 + rows.num_rows() as u64);
        }
        Ok(ResolvedChanges {
            changelog,
            state: state_changes,
            position: after,
            upserted,
            removed,
        })
    }
}

/// The (old row, new row) positions of the groups whose two rows are equal, column by
/// column (as `ChangeBatch::consolidate` compares rows: NULL equals NULL, floats by their
/// total order). Both group lists are ascending, so one merge pairs them.
fn unchanged_pairs(
    rows: &RecordBatch,
    retracted_groups: &[u32],
    inserted_groups: &[u32],
    inserted_start: usize,
) -> EngineResult<Vec<(usize, usize)>> {
    let mut pairs = Vec::new();
    let (mut retracted, mut inserted) = (0, 0);
    while let (Some(old), Some(new)) = (
        retracted_groups.get(retracted),
        inserted_groups.get(inserted),
    ) {
        match old.cmp(new) {
            Ordering::Less => retracted += 1,
            Ordering::Greater => inserted += 1,
            Ordering::Equal => {
                pairs.push((retracted, inserted_start + inserted));
                retracted += 1;
                inserted += 1;
            }
        }
    }
    if pairs.is_empty() {
        return Ok(pairs);
    }
    let comparators = rows
        .columns()
        .iter()
        .map(|column| make_comparator(column, column, SortOptions::default()))
        .collect::<Result<Vec<_>, _>>()?;
    pairs.retain(|&(old, new)| {
        comparators
            .iter()
            .all(|compare| compare(old, new) == Ordering::Equal)
    });
    Ok(pairs)
}

/// A table change ready to write.
pub struct ResolvedChanges {
    /// Per partition, the changelog rows (stored schema: row columns, then `rowweight`).
    pub changelog: Vec<(u32, RecordBatch)>,
    /// The state changes the changelog implies.
    pub state: StateBatch,
    /// The table's position once the changelog is appended and the state committed.
    pub position: TablePosition,
    pub upserted: usize,
    pub removed: usize,
}

/// The state changes of changelog rows that start at `first_offset` of `partition`, in order:
/// a −1 row removes its key's row, a +1 row sets it.
/// Removes `rows` (the table's row schema; each one a row the table holds) from the
/// table's current rows, with no changelog entry: they leave pull queries, and nothing
/// tells subscribers (a window past its retention).
pub fn discard_rows(
    table: &SourceDef,
    position: &mut TablePosition,
    rows: &RecordBatch,
    state: &mut StateBatch,
) -> EngineResult<()> {
    if rows.num_rows() == 0 {
        return Ok(());
    }
    let keys = primary_keys(table, rows)?;
    let table_keys = TableKeys::of(table);
    for key in keys.iter() {
        state.delete(TableKeys::ROWS_KEYSPACE, table_keys.row(key));
    }
    position.rows = position.rows.saturating_sub(rows.num_rows() as u64);
    state.put(
        TableKeys::BOOKKEEPING_KEYSPACE,
        table_keys.row_count(),
        encode_u64(position.rows),
    );
    Ok(())
}

fn apply_changelog(
    table: &SourceDef,
    stored: &RecordBatch,
    partition: u32,
    first_offset: u64,
    state: &mut StateBatch,
) -> EngineResult<()> {
    let (rows, weights) = split_weight_column(stored)?;
    let keys = primary_keys(table, &rows)?;
    let queryable = with_pseudo_columns(&rows, &table.queryable_schema(), partition, first_offset)?;
    let values = encode_rows(&queryable)?;
    let table_keys = TableKeys::of(table);
    for ((key, value), weight) in keys.iter().zip(values.iter()).zip(weights.values()) {
        let state_key = table_keys.row(key);
        if *weight > 0 {
            state.put(TableKeys::ROWS_KEYSPACE, state_key, value.to_vec());
        } else {
            state.delete(TableKeys::ROWS_KEYSPACE, state_key);
        }
    }
    Ok(())
}

/// The one writer of a source table (INSERT, UPDATE, DELETE, COPY, and later connectors):
/// appends its changelog, then commits its rows with the offsets they reflect, under the
/// table's write lock.
pub struct SourceTableWriter {
    table: SourceDef,
    store: Arc<Store>,
    topic: Arc<Topic>,
    /// Held from reading a change's old rows to committing it: the changelog has one writer.
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl SourceTableWriter {
    pub fn new(
        table: SourceDef,
        store: Arc<Store>,
        topic: Arc<Topic>,
        lock: Arc<tokio::sync::Mutex<()>>,
    ) -> Self {
        SourceTableWriter {
            table,
            store,
            topic,
            lock,
        }
    }

    /// Applies a change: returns (rows upserted, rows removed).
    pub async fn write(&self, changes: TableChanges) -> EngineResult<(usize, usize)> {
        self.lock().await.write(changes).await
    }

    /// Takes the table's write lock until the returned guard writes its one change: no other
    /// write of the table comes between what the holder reads of the table's rows (a pull
    /// query run under the lock) and the change it computes from them.
    pub async fn lock(&self) -> LockedTable {
        LockedTable {
            table: self.table.clone(),
            store: self.store.clone(),
            topic: self.topic.clone(),
            held: self.lock.clone().lock_owned().await,
        }
    }
}

/// A source table's write lock, held to write one change.
pub struct LockedTable {
    table: SourceDef,
    store: Arc<Store>,
    topic: Arc<Topic>,
    held: tokio::sync::OwnedMutexGuard<()>,
}

impl LockedTable {
    /// Writes the change (one changelog append, then one state commit) and releases the
    /// lock: returns (rows upserted, rows removed). Once begun, the write runs to its end
    /// even if the caller stops waiting (a cancelled statement): a changelog appended and
    /// not committed would leave the table's rows behind it until the engine reopens.
    pub async fn write(self, changes: TableChanges) -> EngineResult<(usize, usize)> {
        tokio::spawn(self.write_whole(changes))
            .await
            .map_err(|error| EngineError::Internal(format!("table write task failed: {error}")))?
    }

    async fn write_whole(self, changes: TableChanges) -> EngineResult<(usize, usize)> {
        let LockedTable {
            table,
            store,
            topic,
            held,
        } = self;
        let state = store.state();
        // Reading the old rows of many keys is bulk work (a point read each).
        let resolved =
            run_in_background_if(changes.keys.len() >= BACKGROUND_TABLE_KEYS_MIN, || {
                let position = TablePosition::current(state.as_ref(), &table, &topic)?;
                changes.resolve(state.as_ref(), &table, &position)
            })?;
        let ResolvedChanges {
            changelog,
            mut state,
            position,
            upserted,
            removed,
        } = resolved;
        if changelog.is_empty() {
            return Ok((upserted, removed));
        }
        let written: Vec<u32> = changelog.iter().map(|(partition, _)| *partition).collect();
        topic.append_partitions(changelog).await?;
        let keys = TableKeys::of(&table);
        for partition in written {
            state.put(
                TableKeys::BOOKKEEPING_KEYSPACE,
                keys.applied_offset(partition),
                encode_u64(position.end(partition)?.0),
            );
        }
        commit_state(&store, state).await?;
        drop(held);
        Ok((upserted, removed))
    }
}

/// Brings a source table's state up to its changelog after a crash between the two.
pub fn recover_source_table(store: &Store, table: &SourceDef) -> EngineResult<()> {
    let Some(topic) = store.topic(&table.topic) else {
        return Err(EngineError::Internal(format!(
            "the changelog of table \"{}\" is missing",
            table.name
        )));
    };
    let state = store.state();
    let keys = TableKeys::of(table);
    let mut changes = StateBatch::default();
    let mut replayed = 0u64;
    for partition in 0..topic.partition_count() {
        let applied = match state.get(
            TableKeys::BOOKKEEPING_KEYSPACE,
            &keys.applied_offset(partition),
        )? {
            Some(bytes) => decode_u64(&bytes)?,
            None => 0,
        };
        let end = topic.end_offset(partition);
        let mut next = Offset(applied);
        loop {
            let read = read_stored(&topic, partition, next, Some(end), PUSH_READ_ROWS_MAX)?;
            if read.is_empty() {
                break;
            }
            for (first, stored) in read {
                apply_changelog(table, &stored, partition, first.0, &mut changes)?;
                next = Offset(first.0 + stored.num_rows() as u64);
            }
        }
        if next.0 > applied {
            replayed += next.0 - applied;
            changes.put(
                TableKeys::BOOKKEEPING_KEYSPACE,
                keys.applied_offset(partition),
                encode_u64(next.0),
            );
        }
    }
    if replayed > 0 {
        // The replayed changes' effect on the row count is known only once applied.
        state.commit(changes)?;
        let rows = state.count_prefix(TableKeys::ROWS_KEYSPACE, keys.rows_prefix())?;
        let mut count = StateBatch::default();
        count.put(
            TableKeys::BOOKKEEPING_KEYSPACE,
            keys.row_count(),
            encode_u64(rows),
        );
        state.commit(count)?;
        info!(table = %table.name, rows = replayed, "table state caught up with its changelog");
    }
    Ok(())
}

/// Every row of a table in `state`, as (key, value) pairs.
pub fn scan_rows(state: &dyn StateSnapshot, table: &SourceDef) -> PrefixIter {
    state.iter_prefix(TableKeys::ROWS_KEYSPACE, TableKeys::of(table).rows_prefix())
}

/// Up to `rows_max` rows of a table scan, from its state pairs, with the queryable schema.
pub fn decode_page(
    schema: &SchemaRef,
    pairs: &mut PrefixIter,
    rows_max: usize,
) -> EngineResult<RecordBatch> {
    let mut values = Vec::with_capacity(rows_max);
    for pair in pairs.by_ref().take(rows_max) {
        values.push(pair?.1);
    }
    Ok(decode_rows(schema, &values)?)
}

/// The rows in `state` of the given keys (encoded), skipping keys the table does not hold, in
/// the table's `queryable_schema` (which a caller that keeps it passes in, not rebuilt).
pub fn lookup_rows(
    state: &dyn StateSnapshot,
    table: &SourceDef,
    queryable_schema: &SchemaRef,
    keys: &[Vec<u8>],
) -> EngineResult<RecordBatch> {
    let table_keys = TableKeys::of(table);
    let state_keys: Vec<Vec<u8>> = keys.iter().map(|key| table_keys.row(key)).collect();
    let values = state.get_many(TableKeys::ROWS_KEYSPACE, &state_keys)?;
    let values: Vec<&[u8]> = values.iter().flatten().map(Vec::as_slice).collect();
    Ok(decode_rows(queryable_schema, &values)?)
}

/// The current rows of the given keys (encoded), all read from one view of the store, in
/// the table's `queryable_schema`, and for each key the position of its row among them
/// (None where the table holds no row for it).
pub fn lookup_keyed_rows(
    state: &dyn StateStore,
    table: &SourceDef,
    queryable_schema: &SchemaRef,
    keys: &[&[u8]],
) -> EngineResult<(RecordBatch, Vec<Option<u32>>)> {
    let table_keys = TableKeys::of(table);
    let state_keys: Vec<Vec<u8>> = keys.iter().map(|key| table_keys.row(key)).collect();
    let values = state.get_many(TableKeys::ROWS_KEYSPACE, &state_keys)?;
    let mut found = Vec::with_capacity(values.len());
    let mut positions = Vec::with_capacity(values.len());
    for value in &values {
        positions.push(value.as_ref().map(|value| {
            found.push(value.as_slice());
            (found.len() - 1) as u32
        }));
    }
    Ok((decode_rows(queryable_schema, &found)?, positions))
}

/// Number of rows a table holds now, as committed with its rows. A table never written has
/// no count yet, and its keys (none) are counted.
pub fn row_count(state: &dyn StateStore, table: &SourceDef) -> EngineResult<u64> {
    let keys = TableKeys::of(table);
    match state.get(TableKeys::BOOKKEEPING_KEYSPACE, &keys.row_count())? {
        Some(bytes) => decode_u64(&bytes),
        None => Ok(state.count_prefix(TableKeys::ROWS_KEYSPACE, keys.rows_prefix())?),
    }
}

/// Deletes a dropped table's rows, row count and applied offsets, in commits of at most
/// `FORGET_KEYS_PER_COMMIT` keys, so that dropping a large table never holds all of its keys.
/// The catalog no longer names the table, and a new table never reuses its topic name, so a
/// crash part way leaves keys nothing reads.
pub async fn forget(store: &Store, table: &SourceDef) -> EngineResult<()> {
    let keys = TableKeys::of(table);
    for (keyspace, prefix) in [
        (TableKeys::ROWS_KEYSPACE, keys.rows_prefix().to_vec()),
        (TableKeys::BOOKKEEPING_KEYSPACE, keys.bookkeeping_prefix()),
    ] {
        let mut keys = store.state().iter_prefix(keyspace, &prefix);
        loop {
            let mut batch = StateBatch::default();
            for pair in keys.by_ref().take(FORGET_KEYS_PER_COMMIT) {
                batch.delete(keyspace, pair?.0);
            }
            if batch.is_empty() {
                break;
            }
            commit_state(store, batch).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;

    use super::*;
    use crate::api::open_with_source;

    /// Rows `(id, v)` of a table with columns `id` (key) and `v`, in its row schema.
    fn rows(table: &SourceDef, values: &[(i64, i64)]) -> RecordBatch {
        let column = |values: Vec<i64>| Arc::new(Int64Array::from(values)) as ArrayRef;
        RecordBatch::try_new(
            table.row_schema(),
            vec![
                column(values.iter().map(|row| row.0).collect()),
                column(values.iter().map(|row| row.1).collect()),
                column(vec![0; values.len()]),
            ],
        )
        .expect("rows")
    }

    #[tokio::test]
    async fn a_write_whose_caller_stops_waiting_still_commits() {
        let (_directory, engine, table) = open_with_source(
            "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT) WITH (PARTITIONS = 2)",
            "t",
        )
        .await;
        let writer = engine.core().source_writer(&table).expect("a writer");
        let table_writer = writer.table().expect("a table writer");
        let changes = TableChanges::upserts(&table, rows(&table, &[(1, 10), (2, 20), (3, 30)]))
            .expect("changes");
        let mut write = Box::pin(table_writer.lock().await.write(changes));
        assert!(futures::poll!(&mut write).is_pending());
        // A cancelled statement drops its write part way.
        drop(write);
        let _next_writer = table_writer.lock().await;
        let state = engine.core().state().clone();
        assert_eq!(row_count(state.as_ref(), &table).expect("count"), 3);
    }

    #[tokio::test]
    async fn a_carried_position_is_where_the_changes_land() {
        let (_directory, engine, table) = open_with_source(
            "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT) WITH (PARTITIONS = 2)",
            "t",
        )
        .await;
        let topic = engine.core().query_env().topic_of(&table).expect("topic");
        let state = engine.core().state().clone();
        let start = TablePosition::current(state.as_ref(), &table, &topic).expect("position");
        assert_eq!(start.rows, 0);
        // Two changes computed one after the other, before either is written.
        let first = ResolvedChanges::of_known_rows(
            &table,
            &start,
            rows(&table, &[(1, 10), (2, 20), (3, 30)]),
            &Int64Array::from(vec![1, 1, 1]),
            &UInt32Array::from(vec![0, 1, 2]),
        )
        .expect("first change");
        let second = ResolvedChanges::of_known_rows(
            &table,
            &first.position,
            rows(&table, &[(1, 10), (2, 20), (1, 11)]),
            &Int64Array::from(vec![-1, -1, 1]),
            &UInt32Array::from(vec![0, 1, 0]),
        )
        .expect("second change");
        assert_eq!(second.position.rows, 2);
        for change in [first, second] {
            topic
                .append_partitions(change.changelog)
                .await
                .expect("appends");
            state.commit(change.state).expect("commits");
            assert_eq!(
                TablePosition::current(state.as_ref(), &table, &topic).expect("position"),
                change.position
            );
        }
    }

    #[tokio::test]
    async fn a_groups_unchanged_row_is_neither_retracted_nor_inserted() {
        let (_directory, engine, table) = open_with_source(
            "CREATE TABLE t (id BIGINT PRIMARY KEY, v BIGINT) WITH (PARTITIONS = 1)",
            "t",
        )
        .await;
        let topic = engine.core().query_env().topic_of(&table).expect("topic");
        let state = engine.core().state().clone();
        let start = TablePosition::current(state.as_ref(), &table, &topic).expect("position");
        // Group 0 keeps its row, group 1 changes, group 2 goes, group 3 comes.
        let changes = ResolvedChanges::of_known_rows(
            &table,
            &start,
            rows(
                &table,
                &[(1, 10), (2, 20), (3, 30), (1, 10), (2, 21), (4, 40)],
            ),
            &Int64Array::from(vec![-1, -1, -1, 1, 1, 1]),
            &UInt32Array::from(vec![0, 1, 2, 0, 1, 3]),
        )
        .expect("changes");
        let [(0, changelog)] = changes.changelog.as_slice() else {
            panic!("one partition's changelog: {:?}", changes.changelog);
        };
        let (changed, weights) = split_weight_column(changelog).expect("weights");
        let ids = changed.column(0).as_primitive::<Int64Type>();
        let values = changed.column(1).as_primitive::<Int64Type>();
        let changed: Vec<(i64, i64, i64)> = (0..changed.num_rows())
            .map(|row| (ids.value(row), values.value(row), weights.value(row)))
            .collect();
        assert_eq!(
            changed,
            vec![(2, 20, -1), (3, 30, -1), (2, 21, 1), (4, 40, 1)]
        );
        assert_eq!((changes.upserted, changes.removed), (2, 2));

        let out_of_order = ResolvedChanges::of_known_rows(
            &table,
            &start,
            rows(&table, &[(1, 10), (1, 11)]),
            &Int64Array::from(vec![1, -1]),
            &UInt32Array::from(vec![0, 0]),
        );
        assert!(matches!(out_of_order, Err(EngineError::Internal(_))));
    }
}
