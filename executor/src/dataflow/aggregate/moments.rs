//! STDDEV_SAMP and CORRELATION: each group keeps the planner's running sums
//! (`eddy_planner::moments`), updated one copy at a time in input order, so a stream's rows
//! give the bits a pull query over the same rows gives; a retraction undoes its value.
//! Merging two groups (sessions) combines their sums with the planner's `merge`:
//! CORRELATION's plain sums add, STDDEV_SAMP's squared deviations combine by the parallel
//! formula (Chan et al.). Floating-point arithmetic does not associate, so a merged group's
//! answer can differ from a pull query's in the last bits (CORRELATION's only where a sum
//! rounds).
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
use super::{
    AggregateError, AggregateFunction, Batch, GroupStates, grow_to_fit, grow_to_group, merge_pair,
};

/// A group's running sums: what a batch adds to them, the answer, and the saved form.
pub(super) trait RunningSums: Copy + Default + Send + 'static {
    /// Adds the batch's rows (with their weights) to the groups' sums.
    fn update(
        groups: &mut [Self],
        batch: &Batch<'_>,
        function: AggregateFunction,
    ) -> Result<(), AggregateError>;
    fn count(&self) -> i64;
    fn answer(&self) -> f64;
    /// The sums after the count, in their saved order.
    fn sums(&self) -> Vec<f64>;
    fn from_saved(count: i64, sums: &[f64]) -> Self;
    /// Adds another group's sums, as if its rows had come after this group's.
    fn merge(&mut self, other: &Self);
    /// How many sums follow the count.
    const SUMS: usize;
}

/// A column as doubles.
fn doubles(array: &dyn Array) -> Result<Float64Array, AggregateError> {
    let array = cast(array, &DataType::Float64)?;
    Ok(array.as_primitive::<Float64Type>().clone())
}

impl RunningSums for Deviation {
    const SUMS: usize = 2;

    fn update(
        groups: &mut [Self],
        batch: &Batch<'_>,
        function: AggregateFunction,
    ) -> Result<(), AggregateError> {
        let values = doubles(batch.argument(function)?)?;
        for (row, value) in values.iter().enumerate() {
            let Some(value) = value else {
                continue;
            };
            let deviation = &mut groups[batch.groups[row]];
            let weight = batch.weights[row];
            for _ in 0..weight.unsigned_abs() {
                match weight > 0 {
                    true => deviation.add(value),
                    false => deviation.undo(value),
                }
            }
        }
        Ok(())
    }

    fn count(&self) -> i64 {
        self.count
    }

    fn answer(&self) -> f64 {
        self.stddev_samp()
    }

    fn sums(&self) -> Vec<f64> {
        vec![self.sum, self.m2]
    }

    fn from_saved(count: i64, sums: &[f64]) -> Self {
        Deviation {
            count,
            sum: sums[0],
            m2: sums[1],
        }
    }

    fn merge(&mut self, other: &Self) {
        Deviation::merge(self, other);
    }
}

impl RunningSums for Correlation {
    const SUMS: usize = 5;

    fn update(
        groups: &mut [Self],
        batch: &Batch<'_>,
        function: AggregateFunction,
    ) -> Result<(), AggregateError> {
        let pairs = batch.argument(function)?;
        let Some(pairs) = pairs
            .as_struct_opt()
            .filter(|pairs| pairs.num_columns() == 2)
        else {
            return Err(AggregateError::Invariant {
                function: function.name(),
                detail: format!("values of type {} for a pair", pairs.data_type()),
            });
        };
        let xs = doubles(pairs.column(0).as_ref())?;
        let ys = doubles(pairs.column(1).as_ref())?;
        for (row, (x, y)) in xs.iter().zip(ys.iter()).enumerate() {
            if let (Some(x), Some(y), true) = (x, y, pairs.is_valid(row)) {
                groups[batch.groups[row]].add(x, y, batch.weights[row]);
            }
        }
        Ok(())
    }

    fn count(&self) -> i64 {
        self.count
    }

    fn answer(&self) -> f64 {
        self.coefficient()
    }

    fn sums(&self) -> Vec<f64> {
        vec![
            self.x_sum,
            self.y_sum,
            self.x_squared_sum,
            self.y_squared_sum,
            self.xy_sum,
        ]
    }

    fn from_saved(count: i64, sums: &[f64]) -> Self {
        Correlation {
            count,
            x_sum: sums[0],
            y_sum: sums[1],
            x_squared_sum: sums[2],
            y_squared_sum: sums[3],
            xy_sum: sums[4],
        }
    }

    fn merge(&mut self, other: &Self) {
        Correlation::merge(self, other);
    }
}

/// The running sums of every group of one aggregate.
pub(super) struct RunningStates<S> {
    function: AggregateFunction,
    groups: Vec<S>,
}

impl<S: RunningSums> RunningStates<S> {
    pub(super) fn new(function: AggregateFunction) -> Self {
        RunningStates {
            function,
            groups: Vec::new(),
        }
    }
}

impl<S: RunningSums> GroupStates for RunningStates<S> {
    fn update(&mut self, batch: &Batch<'_>) -> Result<(), AggregateError> {
        grow_to_fit(&mut self.groups, batch.groups);
        S::update(&mut self.groups, batch, self.function)?;
        match batch
            .groups
            .iter()
            .find(|&&group| self.groups[group].count() < 0)
        {
            Some(&group) => Err(retracted_more_than_inserted(self.function, group)),
            None => Ok(()),
        }
    }

    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef, AggregateError> {
        let answers = groups
            .iter()
            .map(|&group| self.groups.get(group).copied().unwrap_or_default().answer());
        Ok(Arc::new(Float64Array::from_iter_values(answers)))
    }

    fn save(&self, group: usize, encoder: &mut Encoder) {
        let sums = self.groups.get(group).copied().unwrap_or_default();
        encoder.put_i64(sums.count());
        for sum in sums.sums() {
            encoder.put_f64(sum);
        }
    }

    fn load(&mut self, group: usize, decoder: &mut Decoder<'_>) -> Result<(), AggregateError> {
        let count = decoder.i64()?;
        let sums = (0..S::SUMS)
            .map(|_| decoder.f64())
            .collect::<Result<Vec<_>, _>>()?;
        if count < 0 {
            return Err(corrupt("a negative count"));
        }
        *grow_to_group(&mut self.groups, group) = S::from_saved(count, &sums);
        Ok(())
    }

    fn merge(&mut self, into: usize, from: usize, keep_from: bool) -> Result<(), AggregateError> {
        let (sums, from) = merge_pair(&mut self.groups, into, from, keep_from);
        // The planner adds counts unchecked; no input reaches 2^63 rows, but saved state may
        // claim it.
        if sums.count().checked_add(from.count()).is_none() {
            return Err(AggregateError::Overflow {
                function: self.function.name(),
                sql_type: "BIGINT".into(),
            });
        }
        sums.merge(&from);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StructArray};
    use arrow::buffer::NullBuffer;
    use arrow::datatypes::{Field, Fields};
    use datafusion::scalar::ScalarValue;

    use super::super::test_support::*;
    use super::*;

    fn random_pairs(random: &mut fastrand::Rng, rows: usize) -> ArrayRef {
        let xs = random_bigints(random, rows);
        let ys = random_quarters(random, rows);
        let valid: Vec<bool> = (0..rows).map(|_| random.u8(0..8) != 0).collect();
        arc(StructArray::new(
            pair_fields(),
            vec![xs, ys],
            Some(NullBuffer::from(valid)),
        ))
    }

    fn pair_fields() -> Fields {
        Fields::from(vec![
            Field::new("x", DataType::Int64, true),
            Field::new("y", DataType::Float64, true),
        ])
    }

    #[test]
    fn merged_moments_equal_one_group_of_every_row() {
        for append_only in [false, true] {
            // Squared deviations combine by a formula that rounds differently.
            let inputs: [(DataType, RandomValues); 3] = [
                (DataType::Int64, random_bigints),
                (DataType::Int32, random_ints),
                (DataType::Float64, random_quarters),
            ];
            for (input, values) in inputs {
                assert_merges_as_one_group(
                    AggregateFunction::StddevSamp,
                    Some(&input),
                    Some(values),
                    append_only,
                    Exactness::Close,
                );
            }
            // Plain sums of exact terms add to the same bits.
            assert_merges_as_one_group(
                AggregateFunction::Correlation,
                Some(&DataType::Struct(pair_fields())),
                Some(random_pairs),
                append_only,
                Exactness::Bits,
            );
        }
    }

    #[test]
    fn merged_deviation_is_the_deviation_of_both_groups() {
        let mut spread = accumulator(AggregateFunction::StddevSamp, &DataType::Int64);
        let values = arc(Int64Array::from(vec![2, 4, 4, 4, 5, 5, 7, 9]));
        apply(&mut spread, values, &[0, 1, 0, 1, 1, 0, 1, 1], &[1; 8]);
        spread.merge(1, 0).unwrap();
        let [ScalarValue::Float64(Some(merged))] = results(&spread, &[1])[..] else {
            panic!("one double");
        };
        // Sample variance 32/7.
        assert!((merged - (32.0f64 / 7.0).sqrt()).abs() < 1e-12, "{merged}");
    }

    #[test]
    fn deviation_saves_loads_and_undoes() {
        let mut spread = accumulator(AggregateFunction::StddevSamp, &DataType::Int64);
        let values = arc(Int64Array::from(vec![Some(2), Some(4), None, Some(9)]));
        apply(&mut spread, values, &[0, 0, 0, 1], &[1, 1, 1, 1]);
        assert_round_trips(&spread, &[0, 1, 2]);
        let [two_values, one_value, none] = results(&spread, &[0, 1, 2]).try_into().unwrap();
        assert_eq!(two_values, ScalarValue::Float64(Some(2f64.sqrt())));
        assert_eq!(one_value, ScalarValue::Float64(Some(0.0)));
        assert_eq!(none, ScalarValue::Float64(Some(0.0)));
        apply(&mut spread, arc(Int64Array::from(vec![4])), &[0], &[-1]);
        assert_eq!(results(&spread, &[0]), [ScalarValue::Float64(Some(0.0))]);
        let too_many = spread.update(
            &[1, 1],
            Some(&arc(Int64Array::from(vec![9, 9]))),
            &[-1, -1],
            &[],
        );
        assert!(too_many.is_err(), "a retraction of what was never inserted");
    }
}
