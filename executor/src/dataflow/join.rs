//! Joins of two tables, incrementally: each side's rows are kept by join key in the state
//! store (`OperatorCache`, within the operators' memory budget), and a change on one side
//! joins the other side's rows of its key as they stand. Changes are applied one at a time,
//! in input order, so the output of a run of them is ΔA⋈B + A⋈ΔB + ΔA⋈ΔB (the Z-set join
//! rule): an insertion emits +(row ⋈ match) per match, a retraction −(row ⋈ match).
//!
//! Outer joins also emit a row NULL-padded while it has no match: a row's first match
//! retracts its padded row, and the loss of its last match emits it again. Whether a row has
//! a match is counted from the rows of its key, with the rest of ON evaluated once per batch
//! for every pair the batch can touch.
//!
//! Each side is a table: its rows are named by their PRIMARY KEY (`JoinPlan::*_identity`), so
//! that a retraction takes out the row it replaces whatever its pseudo-columns say, and the
//! retracted output is exactly what was emitted for it. A row with a NULL join key joins
//! nothing and is not kept; an outer join passes it through padded. Event time is the later
//! of the two rows'.
//!
//! State per side and key: one entry of its rows (`encode_entry`), so a key's rows cost one
//! point read. Its bound is the two tables' rows; a key's entry holds every row of that key,
//! so a foreign key shared by many rows makes a large entry, rewritten when one of them
//! changes.
//!
//! Never: emit a retraction for a row it never emitted, or keep a row under a key other than
//! its own.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, UInt32Array, new_null_array};
use arrow::compute::{concat_batches, take};
use arrow::datatypes::SchemaRef;
use datafusion::physical_expr::PhysicalExpr;
use eddy_planner::JoinPlan;
use eddy_storage::ChangeBatch;

use crate::batches::evaluate_column;
use crate::changes::Changes;
use crate::dataflow::{BadRows, EpochContext, Operator, pairs_matching};
use crate::error::{EngineError, EngineResult};
use crate::row_codec::{decode_rows, encode_keys, encode_rows};
use crate::state::keys::OperatorStateKeys;
use crate::state::operator_cache::{CacheBudget, OperatorCache};

/// Version byte of a stored entry of a join side's rows.
const ENTRY_FORMAT_V1: u8 = 1;

/// Two tables joined.
pub(crate) struct Join {
    plan: Arc<JoinPlan>,
    /// The left side (input 0) and the right side (input 1).
    sides: [Side; 2],
    /// Whether its output's rows are paired by result key ([`Changes::pairing`]), for a sink
    /// that tells a key's update from its delete (a push query's client).
    pairs_output: bool,
}

/// One input of a join: its rows by join key.
struct Side {
    schema: SchemaRef,
    keys: Vec<Arc<dyn PhysicalExpr>>,
    identity: Vec<usize>,
    /// Whether a row of this side without a match is kept, NULL-padded.
    keeps_unmatched: bool,
    states: OperatorCache,
    /// The rows of each key the epoch has touched, as they stand now; written at its end.
    touched: HashMap<Vec<u8>, Vec<KeptRow>>,
}

/// A row of one side, as kept.
#[derive(Debug, Clone, PartialEq)]
struct KeptRow {
    /// Its PRIMARY KEY, encoded.
    identity: Vec<u8>,
    rowtime: i64,
    /// Its columns, encoded by the row codec.
    row: Vec<u8>,
}

/// A row of a batch being applied: an incoming one, or one of the sides' kept rows, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowRef {
    Own(u32),
    Other(u32),
}

/// A kept row of the changing side while a batch is applied, with where its columns are.
struct Working {
    kept: KeptRow,
    at: u32,
}

/// One row of a join's output, by where its two halves are.
struct OutputRow {
    left: Option<RowRef>,
    right: Option<RowRef>,
    weight: i64,
    rowtime: i64,
}

impl Join {
    /// The join numbered `number` among its query's joins (it names the join's state);
    /// `pairs_output` as [`Join::pairs_output`] says.
    pub fn new(
        plan: Arc<JoinPlan>,
        query_id: &str,
        number: usize,
        budget: Arc<CacheBudget>,
        pairs_output: bool,
    ) -> Self {
        let keys = OperatorStateKeys::of(query_id);
        let side = |letter: char,
                    schema: &SchemaRef,
                    exprs: &[Arc<dyn PhysicalExpr>],
                    identity: &[usize],
                    keeps: bool| Side {
            schema: schema.clone(),
            keys: exprs.to_vec(),
            identity: identity.to_vec(),
            keeps_unmatched: keeps,
            states: OperatorCache::new(
                OperatorStateKeys::KEYSPACE,
                keys.join_prefix(number, letter),
                budget.clone(),
            ),
            touched: HashMap::new(),
        };
        let sides = [
            side(
                'l',
                &plan.left_schema,
                &plan.left_keys,
                &plan.left_identity,
                plan.kind.keeps_unmatched_left(),
            ),
            side(
                'r',
                &plan.right_schema,
                &plan.right_keys,
                &plan.right_identity,
                plan.kind.keeps_unmatched_right(),
            ),
        ];
        Join {
            plan,
            sides,
            pairs_output,
        }
    }

    /// Makes sure the rows of `keys` on both sides are among the touched ones.
    fn touch(&mut self, keys: &[&[u8]], cx: &EpochContext<'_>) -> EngineResult<()> {
        for side in &mut self.sides {
            let missing: Vec<Vec<u8>> = keys
                .iter()
                .filter(|key| !side.touched.contains_key(**key))
                .map(|key| key.to_vec())
                .collect();
            let mut found: Vec<Vec<KeptRow>> = vec![Vec::new(); missing.len()];
            side.states.read(cx.state, &missing, |index, bytes| {
                found[index] = decode_entry(bytes)?;
                Ok(())
            })?;
            side.touched.extend(missing.into_iter().zip(found));
        }
        Ok(())
    }

    /// The pairs of (changing side's row, other side's row) the rest of ON holds for, over
    /// every pair of the keys a batch touches; None when ON has nothing else (every pair of
    /// a key matches). `inserted` says which of the changing side's rows the batch inserts:
    /// only their pairs are new, others were evaluated when their rows came.
    fn condition_holds(
        &self,
        own_side: usize,
        (own_rows, inserted): (&RecordBatch, impl Fn(u32) -> bool),
        other_rows: &RecordBatch,
        pairs: &[(u32, u32)],
        bad_rows: &mut BadRows,
    ) -> EngineResult<Option<HashMap<(u32, u32), bool>>> {
        let Some(condition) = &self.plan.condition else {
            return Ok(None);
        };
        if pairs.is_empty() {
            return Ok(Some(HashMap::new()));
        }
        let own_at = UInt32Array::from_iter_values(pairs.iter().map(|(own, _)| *own));
        let other_at = UInt32Array::from_iter_values(pairs.iter().map(|(_, other)| *other));
        let (left, left_at, right, right_at) = match own_side {
            0 => (own_rows, &own_at, other_rows, &other_at),
            _ => (other_rows, &other_at, own_rows, &own_at),
        };
        let mut columns = Vec::with_capacity(self.plan.schema.fields().len());
        for column in left.columns() {
            columns.push(take(column, left_at, None)?);
        }
        for column in right.columns() {
            columns.push(take(column, right_at, None)?);
        }
        let joined = RecordBatch::try_new(self.plan.schema.clone(), columns)?;
        let first_seen = |pair: usize| inserted(pairs[pair].0);
        let holds = pairs_matching(condition.as_ref(), &joined, first_seen, bad_rows)?;
        Ok(Some(pairs.iter().copied().zip(holds).collect()))
    }

    /// The output rows as changes: the left columns, then the right ones (NULL for a padded
    /// side), taken from the changing side's rows and the other side's.
    fn output(
        &self,
        own_side: usize,
        own_rows: &RecordBatch,
        other_rows: &RecordBatch,
        rows: &[OutputRow],
    ) -> EngineResult<Changes> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.plan.schema.fields().len());
        for side in 0..2 {
            let from_own = side == own_side;
            let source = if from_own { own_rows } else { other_rows };
            let at: UInt32Array = rows
                .iter()
                .map(|row| {
                    let half = if side == 0 { row.left } else { row.right };
                    match half {
                        Some(RowRef::Own(at)) if from_own => Some(at),
                        Some(RowRef::Other(at)) if !from_own => Some(at),
                        _ => None,
                    }
                })
                .collect();
            for (position, column) in source.columns().iter().enumerate() {
                match at.null_count() == at.len() {
                    true => {
                        let field = source.schema().field(position).clone();
                        columns.push(new_null_array(field.data_type(), rows.len()));
                    }
                    false => columns.push(take(column, &at, None)?),
                }
            }
        }
        let joined = RecordBatch::try_new(self.plan.schema.clone(), columns)?;
        let result_keys = match self.pairs_output {
            true => {
                let key_columns = self
                    .plan
                    .result_key_values
                    .iter()
                    .map(|expr| evaluate_column(expr.as_ref(), &joined))
                    .collect::<EngineResult<Vec<_>>>()?;
                Some(encode_keys(&key_columns, joined.num_rows())?)
            }
            false => None,
        };
        let weights = Int64Array::from_iter_values(rows.iter().map(|row| row.weight));
        let rowtimes = Int64Array::from_iter_values(rows.iter().map(|row| row.rowtime));
        let changes = Changes::new(ChangeBatch::try_new(joined, Some(weights))?, rowtimes, None)?;
        match result_keys {
            Some(keys) => changes.paired_by_keys(&keys),
            None => Ok(changes),
        }
    }
}

impl Operator for Join {
    fn apply(
        &mut self,
        input: usize,
        changes: Changes,
        output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        let own_side = input.min(1);
        let other_side = 1 - own_side;
        let rows = changes.rows();
        let row_count = rows.num_rows();
        if row_count == 0 {
            return Ok(());
        }
        let own = &self.sides[own_side];
        let key_columns = own
            .keys
            .iter()
            .map(|expr| evaluate_column(expr.as_ref(), rows))
            .collect::<EngineResult<Vec<_>>>()?;
        let encoded_keys = encode_keys(&key_columns, row_count)?;
        let has_key: Vec<bool> = (0..row_count)
            .map(|row| key_columns.iter().all(|column| column.is_valid(row)))
            .collect();
        let identity_columns: Vec<ArrayRef> = own
            .identity
            .iter()
            .map(|&index| rows.column(index).clone())
            .collect();
        let encoded_identities = encode_keys(&identity_columns, row_count)?;
        let identities: Vec<&[u8]> = encoded_identities.iter().collect();
        let encoded_rows = encode_rows(rows)?;
        let encoded_rows: Vec<&[u8]> = encoded_rows.iter().collect();
        let keys: Vec<&[u8]> = encoded_keys.iter().collect();
        let mut distinct: Vec<&[u8]> = keys
            .iter()
            .zip(&has_key)
            .filter(|(_, has)| **has)
            .map(|(key, _)| *key)
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        self.touch(&distinct, cx)?;

        // The kept rows of the keys the batch touches, decoded after its own rows: the
        // changing side's as `Own(row_count + n)`, the other side's as `Other(n)`.
        let mut working: HashMap<&[u8], Vec<Working>> = HashMap::with_capacity(distinct.len());
        let mut own_kept_rows: Vec<Vec<u8>> = Vec::new();
        let mut others: HashMap<&[u8], Vec<(u32, i64)>> = HashMap::with_capacity(distinct.len());
        let mut other_kept_rows: Vec<Vec<u8>> = Vec::new();
        for key in &distinct {
            let kept = self.sides[own_side]
                .touched
                .remove(*key)
                .unwrap_or_default();
            let rows_of_key = kept
                .into_iter()
                .map(|kept| {
                    own_kept_rows.push(kept.row.clone());
                    let at = (row_count + own_kept_rows.len() - 1) as u32;
                    Working { kept, at }
                })
                .collect();
            working.insert(key, rows_of_key);
            let other_rows_of_key = self.sides[other_side]
                .touched
                .get(*key)
                .map(|kept| {
                    kept.iter()
                        .map(|kept| {
                            other_kept_rows.push(kept.row.clone());
                            ((other_kept_rows.len() - 1) as u32, kept.rowtime)
                        })
                        .collect()
                })
                .unwrap_or_default();
            others.insert(key, other_rows_of_key);
        }
        let own_schema = self.sides[own_side].schema.clone();
        let own_rows = match own_kept_rows.is_empty() {
            true => rows.clone(),
            false => concat_batches(
                &own_schema,
                [rows, &decode_rows(&own_schema, &own_kept_rows)?],
            )?,
        };
        let other_rows = decode_rows(&self.sides[other_side].schema, &other_kept_rows)?;
        let mut pairs = Vec::new();
        if self.plan.condition.is_some() {
            for key in &distinct {
                let incoming = (0..row_count).filter(|&row| has_key[row] && keys[row] == *key);
                let own_of_key = working[key]
                    .iter()
                    .map(|row| row.at)
                    .chain(incoming.map(|row| row as u32));
                for own_at in own_of_key {
                    for (other_at, _) in &others[key] {
                        pairs.push((own_at, *other_at));
                    }
                }
            }
        }
        let weights = changes.weights();
        let inserted = |own_at: u32| {
            let row = own_at as usize;
            row < row_count && weights.is_none_or(|weights| weights.value(row) > 0)
        };
        let holds = self.condition_holds(
            own_side,
            (&own_rows, inserted),
            &other_rows,
            &pairs,
            cx.bad_rows,
        )?;
        let matches = |own_at: u32, other_at: u32| {
            holds
                .as_ref()
                .is_none_or(|holds| holds.get(&(own_at, other_at)).copied().unwrap_or(false))
        };

        let rowtimes = changes.rowtimes();
        let own_keeps_unmatched = self.sides[own_side].keeps_unmatched;
        let other_keeps_unmatched = self.sides[other_side].keeps_unmatched;
        let pair = |own: RowRef, other: Option<RowRef>| match own_side {
            0 => (Some(own), other),
            _ => (other, Some(own)),
        };
        let padded_other = |other: RowRef| match own_side {
            0 => (None, Some(other)),
            _ => (Some(other), None),
        };
        let mut out: Vec<OutputRow> = Vec::new();
        // A kept row `own_at` (time `rowtime`) joins or leaves its key's rows, with `sign`.
        let change = |own_at: u32,
                      rowtime: i64,
                      sign: i64,
                      rest: &[Working],
                      others: &[(u32, i64)],
                      out: &mut Vec<OutputRow>| {
            let mut matched_any = false;
            for &(other_at, other_time) in others {
                if !matches(own_at, other_at) {
                    continue;
                }
                matched_any = true;
                let (left, right) = pair(RowRef::Own(own_at), Some(RowRef::Other(other_at)));
                out.push(OutputRow {
                    left,
                    right,
                    weight: sign,
                    rowtime: rowtime.max(other_time),
                });
                // The other row's padded row comes and goes with its first and last match.
                if other_keeps_unmatched && !rest.iter().any(|kept| matches(kept.at, other_at)) {
                    let (left, right) = padded_other(RowRef::Other(other_at));
                    out.push(OutputRow {
                        left,
                        right,
                        weight: -sign,
                        rowtime: other_time,
                    });
                }
            }
            if own_keeps_unmatched && !matched_any {
                let (left, right) = pair(RowRef::Own(own_at), None);
                out.push(OutputRow {
                    left,
                    right,
                    weight: sign,
                    rowtime,
                });
            }
        };
        for row in 0..row_count {
            let weight = weights.map_or(1, |weights| weights.value(row));
            let rowtime = rowtimes.value(row);
            if !has_key[row] {
                // A NULL join key joins nothing; an outer join passes the row through padded.
                if own_keeps_unmatched {
                    let (left, right) = pair(RowRef::Own(row as u32), None);
                    out.push(OutputRow {
                        left,
                        right,
                        weight,
                        rowtime,
                    });
                }
                continue;
            }
            let key = keys[row];
            let identity = identities[row];
            let others_of_key = &others[key];
            let rows_of_key = working
                .get_mut(key)
                .ok_or_else(|| EngineError::Internal("a join's touched key has no rows".into()))?;
            // An insertion replaces the row of its identity; a retraction takes it out.
            if let Some(position) = rows_of_key
                .iter()
                .position(|kept| kept.kept.identity == identity)
            {
                let gone = rows_of_key.remove(position);
                change(
                    gone.at,
                    gone.kept.rowtime,
                    -1,
                    rows_of_key,
                    others_of_key,
                    &mut out,
                );
            }
            if weight > 0 {
                let at = row as u32;
                change(at, rowtime, 1, rows_of_key, others_of_key, &mut out);
                rows_of_key.push(Working {
                    kept: KeptRow {
                        identity: identity.to_vec(),
                        rowtime,
                        row: encoded_rows[row].to_vec(),
                    },
                    at,
                });
            }
        }
        let own = &mut self.sides[own_side];
        for (key, rows_of_key) in working {
            own.touched.insert(
                key.to_vec(),
                rows_of_key
                    .into_iter()
                    .map(|working| working.kept)
                    .collect(),
            );
        }
        if !out.is_empty() {
            output.push(self.output(own_side, &own_rows, &other_rows, &out)?);
        }
        Ok(())
    }

    fn end_epoch(
        &mut self,
        _output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        for side in &mut self.sides {
            side.states.begin_writes();
            for (key, rows) in side.touched.drain() {
                let state = (!rows.is_empty()).then(|| encode_entry(&rows));
                side.states.write(key, state, cx.state_changes);
            }
            side.states.end_writes();
        }
        Ok(())
    }

    fn has_state(&self) -> bool {
        true
    }
}

/// A key's rows of one side, as stored: a version byte, then per row its identity's length
/// and bytes, its rowtime, and its encoded columns' length and bytes.
fn encode_entry(rows: &[KeptRow]) -> Vec<u8> {
    let size: usize = rows
        .iter()
        .map(|row| 16 + row.identity.len() + row.row.len())
        .sum();
    let mut bytes = Vec::with_capacity(1 + size);
    bytes.push(ENTRY_FORMAT_V1);
    for row in rows {
        bytes.extend_from_slice(&(row.identity.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&row.identity);
        bytes.extend_from_slice(&row.rowtime.to_be_bytes());
        bytes.extend_from_slice(&(row.row.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&row.row);
    }
    bytes
}

/// The rows of a stored entry (`encode_entry`); corrupt bytes are an error, never a panic.
fn decode_entry(bytes: &[u8]) -> EngineResult<Vec<KeptRow>> {
    let (&version, rest) = bytes.split_first().ok_or_else(|| corrupt("empty"))?;
    if version != ENTRY_FORMAT_V1 {
        return Err(corrupt(&format!("unknown version {version}")));
    }
    let mut entry = EntryReader { rest };
    let mut rows = Vec::new();
    while !entry.rest.is_empty() {
        let identity_length = entry.u32("a row's identity length")?;
        let identity = entry
            .take(identity_length as usize, "a row's identity")?
            .to_vec();
        let rowtime = i64::from_be_bytes(entry.array("a row's rowtime")?);
        let row_length = entry.u32("a row's length")?;
        let row = entry.take(row_length as usize, "a row's columns")?.to_vec();
        rows.push(KeptRow {
            identity,
            rowtime,
            row,
        });
    }
    Ok(rows)
}

fn corrupt(what: &str) -> EngineError {
    EngineError::Internal(format!("a stored join state is corrupt: {what}"))
}

/// What is left to read of a stored entry.
struct EntryReader<'a> {
    rest: &'a [u8],
}

impl<'a> EntryReader<'a> {
    fn take(&mut self, count: usize, what: &str) -> EngineResult<&'a [u8]> {
        if self.rest.len() < count {
            return Err(corrupt(what));
        }
        let (taken, after) = self.rest.split_at(count);
        self.rest = after;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &str) -> EngineResult<[u8; N]> {
        self.take(N, what)?.try_into().map_err(|_| corrupt(what))
    }

    fn u32(&mut self, what: &str) -> EngineResult<u32> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
}
