//! The Z-set currency of the executor, in one place: what flows between operators, how
//! weights follow rows, and how a changelog stores them.
//!
//! A change is a row with a weight (+1 insert, −1 retraction; `ChangeBatch`, defined in
//! storage with its invariants and `consolidate`) and the row's event time. The rules every
//! operator follows: filters and projections pass weights through (`Changes::follow`),
//! aggregates add them up, joins multiply them. A table's changelog stores the weight as a
//! trailing `rowweight` column (`with_weight_column`, `split_weight_column`).
//!
//! Never: drop a retraction, or let a row's weight or event time come apart from its row.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::{concat, concat_batches, take};
use arrow::datatypes::{Int64Type, SchemaRef, UInt32Type};
use eddy_storage::ChangeBatch;

use crate::error::{EngineError, EngineResult};
use crate::row_codec::EncodedRows;

/// A batch of changes as it flows between operators: rows with their weights, each row's
/// event time, and, from an operator that pairs them, each row's group.
#[derive(Debug, Clone)]
pub struct Changes {
    batch: ChangeBatch,
    rowtimes: Int64Array,
    /// The group of each row, when the rows are a GROUP BY's −old rows then its +new rows,
    /// each in group order: a table sink pairs a group's two rows by it, without hashing.
    pairing: Option<UInt32Array>,
    /// The rows leave a table's current rows without a retraction in its changelog (a
    /// window past its retention): subscribers never see them go, as in ksqlDB.
    discarding: bool,
}

impl Changes {
    /// Checks that there is one event time (and one group, if given) per row.
    pub fn new(
        batch: ChangeBatch,
        rowtimes: Int64Array,
        pairing: Option<UInt32Array>,
    ) -> EngineResult<Changes> {
        let rows = batch.num_rows();
        let pairing_rows = pairing.as_ref().map_or(rows, Array::len);
        if rowtimes.len() != rows || pairing_rows != rows {
            return Err(EngineError::Internal(format!(
                "changes of {rows} rows with {} rowtimes and {pairing_rows} groups",
                rowtimes.len()
            )));
        }
        Ok(Changes {
            batch,
            rowtimes,
            pairing,
            discarding: false,
        })
    }

    /// The same rows, to be discarded from a table's current rows rather than retracted.
    pub fn discarding(mut self) -> Changes {
        self.discarding = true;
        self
    }

    /// Whether these rows are discarded, not changed (`Changes::discarding`).
    pub fn is_discarding(&self) -> bool {
        self.discarding
    }

    pub fn rows(&self) -> &RecordBatch {
        self.batch.rows()
    }

    /// None: every row has weight +1.
    pub fn weights(&self) -> Option<&Int64Array> {
        self.batch.weights()
    }

    pub fn rowtimes(&self) -> &Int64Array {
        &self.rowtimes
    }

    pub fn pairing(&self) -> Option<&UInt32Array> {
        self.pairing.as_ref()
    }

    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// The same changes, with rows paired by `pairing` (rows with one number belong to one
    /// key or group).
    pub fn with_pairing(self, pairing: UInt32Array) -> EngineResult<Changes> {
        Changes::new(self.batch, self.rowtimes, Some(pairing))
    }

    /// The same changes, with rows paired by their encoded keys `keys`, one per row.
    pub fn paired_by_keys(self, keys: &EncodedRows) -> EngineResult<Changes> {
        let mut number_of_key: HashMap<&[u8], u32> = HashMap::with_capacity(keys.len());
        let pairing: UInt32Array = keys
            .iter()
            .map(|key| {
                let next = number_of_key.len() as u32;
                *number_of_key.entry(key).or_insert(next)
            })
            .collect();
        self.with_pairing(pairing)
    }

    /// Row `row` alone, for setting aside the one row of a batch that cannot be processed.
    pub fn row(&self, row: usize) -> Changes {
        Changes {
            batch: ChangeBatch::try_new(
                self.rows().slice(row, 1),
                self.weights().map(|weights| weights.slice(row, 1)),
            )
            .expect("a slice of a valid batch is valid"),
            rowtimes: self.rowtimes.slice(row, 1),
            pairing: self.pairing.as_ref().map(|pairing| pairing.slice(row, 1)),
            discarding: self.discarding,
        }
    }

    /// The weight rule of filters and projections, pass through: the changes whose rows are
    /// `rows`, each taking the weight, event time and group of the input row it came from.
    pub fn follow(&self, rows: RecordBatch, provenance: &Provenance) -> EngineResult<Changes> {
        let Provenance::Rows(sources) = provenance else {
            let followed = Changes::new(
                ChangeBatch::try_new(rows, self.weights().cloned())?,
                self.rowtimes.clone(),
                self.pairing.clone(),
            )?;
            return Ok(Changes {
                discarding: self.discarding,
                ..followed
            });
        };
        let weights = self
            .weights()
            .map(|weights| take_as::<Int64Type>(weights, sources))
            .transpose()?;
        let rowtimes = take_as::<Int64Type>(&self.rowtimes, sources)?;
        let pairing = self
            .pairing
            .as_ref()
            .map(|pairing| take_as::<UInt32Type>(pairing, sources))
            .transpose()?;
        let followed = Changes::new(ChangeBatch::try_new(rows, weights)?, rowtimes, pairing)?;
        Ok(Changes {
            discarding: self.discarding,
            ..followed
        })
    }

    /// The changes of several batches of one schema, in order, as one (none discarding).
    pub fn concat(schema: &SchemaRef, parts: &[Changes]) -> EngineResult<Changes> {
        if parts.iter().any(Changes::is_discarding) {
            return Err(EngineError::Internal(
                "discarded rows are not changes to concatenate".into(),
            ));
        }
        let rows = concat_batches(schema, parts.iter().map(Changes::rows))?;
        let weights = match parts.iter().all(|part| part.weights().is_none()) {
            true => None,
            false => Some(concat_int64(parts.iter().map(
                |part| match part.weights() {
                    Some(weights) => weights.clone(),
                    None => Int64Array::from_value(1, part.num_rows()),
                },
            ))?),
        };
        let rowtimes = concat_int64(parts.iter().map(|part| part.rowtimes.clone()))?;
        let pairing = match parts {
            [] => None,
            [only] => only.pairing.clone(),
            _ if parts.iter().all(|part| part.pairing.is_none()) => None,
            _ => {
                return Err(EngineError::Internal(
                    "paired changes come in one batch per epoch".into(),
                ));
            }
        };
        Changes::new(ChangeBatch::try_new(rows, weights)?, rowtimes, pairing)
    }
}

/// Which input row each output row of a stateless step came from.
#[derive(Debug, Clone)]
pub enum Provenance {
    /// Every input row, in order: nothing was filtered.
    Identity,
    /// Output row `i` came from input row `sources[i]`.
    Rows(UInt32Array),
}

impl Provenance {
    /// The input row of each output row, for `output_rows` rows.
    pub fn into_indices(self, output_rows: usize) -> UInt32Array {
        match self {
            Provenance::Identity => UInt32Array::from_iter_values(0..output_rows as u32),
            Provenance::Rows(sources) => sources,
        }
    }
}

fn take_as<T: arrow::datatypes::ArrowPrimitiveType>(
    values: &arrow::array::PrimitiveArray<T>,
    sources: &UInt32Array,
) -> EngineResult<arrow::array::PrimitiveArray<T>> {
    Ok(take(values, sources, None)?.as_primitive::<T>().clone())
}

fn concat_int64(parts: impl Iterator<Item = Int64Array>) -> EngineResult<Int64Array> {
    let parts: Vec<Int64Array> = parts.collect();
    let arrays: Vec<&dyn Array> = parts.iter().map(|part| part as &dyn Array).collect();
    if arrays.is_empty() {
        return Ok(Int64Array::from(Vec::<i64>::new()));
    }
    Ok(concat(&arrays)?.as_primitive::<Int64Type>().clone())
}

/// `retracted` rows with weight −1, then `inserted` rows with +1, as one batch of a
/// changelog's stored schema (the rows' columns, then `rowweight`).
pub fn with_weight_column(
    stored_schema: &SchemaRef,
    retracted: &RecordBatch,
    inserted: &RecordBatch,
) -> EngineResult<RecordBatch> {
    let part = |rows: &RecordBatch, weight: i64| -> EngineResult<RecordBatch> {
        let mut columns = rows.columns().to_vec();
        columns.push(Arc::new(Int64Array::from_value(weight, rows.num_rows())));
        Ok(RecordBatch::try_new(stored_schema.clone(), columns)?)
    };
    Ok(concat_batches(
        stored_schema,
        &[part(retracted, -1)?, part(inserted, 1)?],
    )?)
}

/// Splits a changelog batch (stored schema) into its rows and their weights.
pub fn split_weight_column(stored: &RecordBatch) -> EngineResult<(RecordBatch, Int64Array)> {
    let last = stored.num_columns() - 1;
    let weights = stored
        .column(last)
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| EngineError::Internal("a changelog's last column is its weight".into()))?
        .clone();
    Ok((stored.project(&(0..last).collect::<Vec<_>>())?, weights))
}
