//! STDDEV_SAMP and CORRELATION: each group keeps the planner's running sums
//! (`eddy_planner::moments`), updated one copy at a time in input order, so a stream's rows
//! give the bits a pull query over the same rows gives; a retraction undoes its value.
//!
//! CORRELATION's argument is the pair `(x, y)` as one struct column (the operator packs it).
//!
//! Never: count a row with a NULL (in either of CORRELATION's columns), or end a batch with a
//! count below zero (a retraction of what was never inserted, reported as an error).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use eddy_planner::moments::{Correlation, Deviation};

use super::accumulators::retracted_more_than_inserted;
use super::encoding::{Decoder, Encoder, corrupt};
use super::{AggregateError, AggregateFunction, Batch, GroupStates, grow_to_fit, grow_to_group};

/// A column as doubles.
fn doubles(array: &dyn Array) -> Result<Float64Array, AggregateError> {
    let array = cast(array, &DataType::Float64)?;
    Ok(array.as_primitive::<Float64Type>().clone())
}

pub(super) struct DeviationStates {
    function: AggregateFunction,
    groups: Vec<Deviation>,
}

impl DeviationStates {
    pub(super) fn new(function: AggregateFunction) -> Self {
        DeviationStates {
            function,
            groups: Vec::new(),
        }
    }
}

impl GroupStates for DeviationStates {
    fn update(&mut self, batch: &Batch<'_>) -> Result<(), AggregateError> {
        grow_to_fit(&mut self.groups, batch.groups);
        let values = doubles(batch.argument(self.function)?)?;
        for (row, value) in values.iter().enumerate() {
            let Some(value) = value else {
                continue;
            };
            let deviation = &mut self.groups[batch.groups[row]];
            let weight = batch.weights[row];
            for _ in 0..weight.unsigned_abs() {
                match weight > 0 {
                    true => deviation.add(value),
                    false => deviation.undo(value),
                }
            }
        }
        match batch
            .groups
            .iter()
            .find(|&&group| self.groups[group].count < 0)
        {
            Some(&group) => Err(retracted_more_than_inserted(self.function, group)),
            None => Ok(()),
        }
    }

    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef, AggregateError> {
        let results = groups.iter().map(|&group| {
            self.groups
                .get(group)
                .copied()
                .unwrap_or_default()
                .stddev_samp()
        });
        Ok(Arc::new(Float64Array::from_iter_values(results)))
    }

    fn save(&self, group: usize, encoder: &mut Encoder) {
        let deviation = self.groups.get(group).copied().unwrap_or_default();
        encoder.put_i64(deviation.count);
        encoder.put_f64(deviation.sum);
        encoder.put_f64(deviation.m2);
    }

    fn load(&mut self, group: usize, decoder: &mut Decoder<'_>) -> Result<(), AggregateError> {
        let deviation = Deviation {
            count: decoder.i64()?,
            sum: decoder.f64()?,
            m2: decoder.f64()?,
        };
        if deviation.count < 0 {
            return Err(corrupt("a negative count"));
        }
        *grow_to_group(&mut self.groups, group) = deviation;
        Ok(())
    }
}

pub(super) struct CorrelationStates {
    function: AggregateFunction,
    groups: Vec<Correlation>,
}

impl CorrelationStates {
    pub(super) fn new(function: AggregateFunction) -> Self {
        CorrelationStates {
            function,
            groups: Vec::new(),
        }
    }
}

impl GroupStates for CorrelationStates {
    fn update(&mut self, batch: &Batch<'_>) -> Result<(), AggregateError> {
        grow_to_fit(&mut self.groups, batch.groups);
        let pairs = batch.argument(self.function)?;
        let Some(pairs) = pairs
            .as_struct_opt()
            .filter(|pairs| pairs.num_columns() == 2)
        else {
            return Err(AggregateError::Invariant {
                function: self.function.name(),
                detail: format!("values of type {} for a pair", pairs.data_type()),
            });
        };
        let xs = doubles(pairs.column(0).as_ref())?;
        let ys = doubles(pairs.column(1).as_ref())?;
        for (row, (x, y)) in xs.iter().zip(ys.iter()).enumerate() {
            if let (Some(x), Some(y), true) = (x, y, pairs.is_valid(row)) {
                self.groups[batch.groups[row]].add(x, y, batch.weights[row]);
            }
        }
        match batch
            .groups
            .iter()
            .find(|&&group| self.groups[group].count < 0)
        {
            Some(&group) => Err(retracted_more_than_inserted(self.function, group)),
            None => Ok(()),
        }
    }

    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef, AggregateError> {
        let results = groups.iter().map(|&group| {
            self.groups
                .get(group)
                .copied()
                .unwrap_or_default()
                .coefficient()
        });
        Ok(Arc::new(Float64Array::from_iter_values(results)))
    }

    fn save(&self, group: usize, encoder: &mut Encoder) {
        let sums = self.groups.get(group).copied().unwrap_or_default();
        encoder.put_i64(sums.count);
        for sum in [
            sums.x_sum,
            sums.y_sum,
            sums.x_squared_sum,
            sums.y_squared_sum,
            sums.xy_sum,
        ] {
            encoder.put_f64(sum);
        }
    }

    fn load(&mut self, group: usize, decoder: &mut Decoder<'_>) -> Result<(), AggregateError> {
        let sums = Correlation {
            count: decoder.i64()?,
            x_sum: decoder.f64()?,
            y_sum: decoder.f64()?,
            x_squared_sum: decoder.f64()?,
            y_squared_sum: decoder.f64()?,
            xy_sum: decoder.f64()?,
        };
        if sums.count < 0 {
            return Err(corrupt("a negative count"));
        }
        *grow_to_group(&mut self.groups, group) = sums;
        Ok(())
    }
}
