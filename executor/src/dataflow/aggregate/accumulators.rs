//! COUNT, SUM and AVG: per-group running totals, updated by one tight typed loop over the
//! argument's column per batch.
//!
//! Totals are kept wider than their results (SUM of integers in `i128`, of decimals in
//! `i256`) and range-checked only when evaluated, so a result depends on the rows a group
//! holds and not on the order they came and went in. Float sums are compensated (Neumaier)
//! and count NaN and infinities apart, so retracting a large or non-finite value leaves the
//! sum of the rest. Merging two groups adds their totals and counts, with the overflow
//! checks of `update`. Never: allocate or build a `ScalarValue` per row.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, Decimal128Array, Float64Array, Int64Array,
    PrimitiveArray,
};
use arrow::datatypes::{
    DECIMAL128_MAX_PRECISION, DataType, Decimal128Type, DecimalType, Float32Type, Float64Type, i256,
};

use super::encoding::{Decoder, Encoder, corrupt};
use super::values::with_integer_type;
use super::{
    AggregateError, AggregateFunction, Batch, GroupStates, grow_to_fit, grow_to_group, merge_pair,
};

/// The precision of SUM over DECIMAL(`precision`, s), as DataFusion computes it.
pub(super) fn sum_decimal_precision(precision: u8) -> u8 {
    DECIMAL128_MAX_PRECISION.min(precision.saturating_add(10))
}

/// The error for a group left with a negative number of rows or values.
pub(super) fn retracted_more_than_inserted(
    function: AggregateFunction,
    group: usize,
) -> AggregateError {
    AggregateError::Invariant {
        function: function.name(),
        detail: format!("group {group} had more rows retracted than were inserted"),
    }
}

fn downcast<T: ArrowPrimitiveType>(
    function: AggregateFunction,
    array: &dyn Array,
) -> Result<&PrimitiveArray<T>, AggregateError> {
    array
        .as_primitive_opt::<T>()
        .ok_or_else(|| AggregateError::Invariant {
            function: function.name(),
            detail: format!("cannot read an array of {}", array.data_type()),
        })
}

/// Adds `weight` to a count of rows or values, failing on a count no input can reach.
#[inline]
fn add_weight(
    count: &mut i64,
    weight: i64,
    function: AggregateFunction,
) -> Result<(), AggregateError> {
    *count = count
        .checked_add(weight)
        .ok_or_else(|| AggregateError::Overflow {
            function: function.name(),
            sql_type: "BIGINT".into(),
        })?;
    Ok(())
}

/// Fails if any of `groups` has a negative count; called only once a batch saw one, since
/// within a batch a retraction may come before its insertion.
fn check_counts(
    function: AggregateFunction,
    groups: &[usize],
    count_of: impl Fn(usize) -> i64,
) -> Result<(), AggregateError> {
    match groups.iter().find(|&&group| count_of(group) < 0) {
        Some(&group) => Err(retracted_more_than_inserted(function, group)),
        None => Ok(()),
    }
}

/// A group's running SUM or AVG total, with the counts no batch may leave negative.
trait Total {
    /// The rows with a non-NULL value.
    fn non_null(&self) -> i64;

    /// The lowest of its counts, checked once a batch left `non_null` negative somewhere.
    fn lowest_count(&self) -> i64 {
        self.non_null()
    }
}

/// Adds the non-NULL values of `array` (of type `T`) to their groups' totals, one
/// `add(total, value, weight, may_reset)` a row, then fails if a group's count went negative
/// (`check_counts`). `may_reset` is false from the first row that left a count negative:
/// within a batch a retraction may come before its insertion (see `FloatTotal::add`).
fn add_values<T: ArrowPrimitiveType, Group: Total>(
    function: AggregateFunction,
    array: &dyn Array,
    batch: &Batch<'_>,
    totals: &mut [Group],
    mut add: impl FnMut(&mut Group, T::Native, i64, bool) -> Result<(), AggregateError>,
) -> Result<(), AggregateError> {
    let array = downcast::<T>(function, array)?;
    let nulls = array.nulls();
    let mut went_negative = false;
    let rows = batch.groups.iter().zip(batch.weights).zip(array.values());
    for (row, ((&group, &weight), &value)) in rows.enumerate() {
        if nulls.is_some_and(|nulls| nulls.is_null(row)) {
            continue;
        }
        let total = &mut totals[group];
        add(total, value, weight, !went_negative)?;
        went_negative |= total.non_null() < 0;
    }
    if went_negative {
        check_counts(function, batch.groups, |group| totals[group].lowest_count())?;
    }
    Ok(())
}

fn decode_count(decoder: &mut Decoder<'_>) -> Result<i64, AggregateError> {
    let count = decoder.i64()?;
    if count < 0 {
        return Err(corrupt(format!("a negative count {count}")));
    }
    Ok(count)
}

/// COUNT(*) and COUNT(x): the sum of the weights of the rows (with a non-NULL `x`).
pub(super) struct CountStates {
    function: AggregateFunction,
    counts: Vec<i64>,
}

impl CountStates {
    pub(super) fn new(function: AggregateFunction) -> Self {
        CountStates {
            function,
            counts: Vec::new(),
        }
    }
}

impl GroupStates for CountStates {
    fn update(&mut self, batch: &Batch<'_>) -> Result<(), AggregateError> {
        grow_to_fit(&mut self.counts, batch.groups);
        let nulls = match (self.function, batch.values) {
            (AggregateFunction::Count, Some(values)) => values.logical_nulls(),
            _ => None,
        };
        let mut went_negative = false;
        let rows = batch.groups.iter().zip(batch.weights);
        match nulls {
            None => {
                for (&group, &weight) in rows {
                    let count = &mut self.counts[group];
                    add_weight(count, weight, self.function)?;
                    went_negative |= *count < 0;
                }
            }
            Some(nulls) => {
                for (row, (&group, &weight)) in rows.enumerate() {
                    if nulls.is_valid(row) {
                        let count = &mut self.counts[group];
                        add_weight(count, weight, self.function)?;
                        went_negative |= *count < 0;
                    }
                }
            }
        }
        if went_negative {
            check_counts(self.function, batch.groups, |group| self.counts[group])?;
        }
        Ok(())
    }

    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef, AggregateError> {
        let counts = groups
            .iter()
            .map(|&group| self.counts.get(group).copied().unwrap_or(0));
        Ok(Arc::new(Int64Array::from_iter_values(counts)))
    }

    fn save(&self, group: usize, encoder: &mut Encoder) {
        encoder.put_i64(self.counts.get(group).copied().unwrap_or(0));
    }

    fn load(&mut self, group: usize, decoder: &mut Decoder<'_>) -> Result<(), AggregateError> {
        *grow_to_group(&mut self.counts, group) = decode_count(decoder)?;
        Ok(())
    }

    fn merge(&mut self, into: usize, from: usize, keep_from: bool) -> Result<(), AggregateError> {
        let (count, from) = merge_pair(&mut self.counts, into, from, keep_from);
        add_weight(count, from, self.function)
    }
}

/// The overflow error of SUM or AVG, naming the SQL type of the result.
fn overflow(function: AggregateFunction, output_type: &DataType) -> AggregateError {
    let sql_type = match output_type {
        DataType::Int64 => "BIGINT".to_string(),
        DataType::Float64 => "DOUBLE".to_string(),
        DataType::Decimal128(precision, scale) => format!("DECIMAL({precision}, {scale})"),
        other => other.to_string(),
    };
    AggregateError::Overflow {
        function: function.name(),
        sql_type,
    }
}

#[derive(Clone, Copy, Default)]
struct IntegerTotal {
    /// Σ value × weight. Each term fits `i128` (`i64` × `i64`), so the sum overflows only
    /// past about 2^63 rows of extreme values.
    sum: i128,
    non_null: i64,
}

impl Total for IntegerTotal {
    fn non_null(&self) -> i64 {
        self.non_null
    }
}

/// SUM and AVG of integers.
pub(super) struct IntSumStates {
    function: AggregateFunction,
    input_type: DataType,
    /// BIGINT for SUM, DOUBLE for AVG.
    output_type: DataType,
    totals: Vec<IntegerTotal>,
}

impl IntSumStates {
    pub(super) fn new(function: AggregateFunction, input_type: DataType) -> Self {
        let output_type = match function {
            AggregateFunction::Avg => DataType::Float64,
            _ => DataType::Int64,
        };
        IntSumStates {
            function,
            input_type,
            output_type,
            totals: Vec::new(),
        }
    }

    fn add_column<T>(&mut self, array: &dyn Array, batch: &Batch<'_>) -> Result<(), AggregateError>
    where
        T: ArrowPrimitiveType,
        T::Native: Into<i64>,
    {
        let function = self.function;
        add_values::<T, _>(
            function,
            array,
            batch,
            &mut self.totals,
            |total, value, weight, _| {
                let value: i64 = value.into();
                total.sum = total
                    .sum
                    .checked_add(i128::from(value) * i128::from(weight))
                    .ok_or_else(|| overflow(function, &self.output_type))?;
                add_weight(&mut total.non_null, weight, function)
            },
        )
    }
}

impl GroupStates for IntSumStates {
    fn update(&mut self, batch: &Batch<'_>) -> Result<(), AggregateError> {
        grow_to_fit(&mut self.totals, batch.groups);
        let array = batch.argument(self.function)?;
        with_integer_type!(&self.input_type,
            T => self.add_column::<T>(array, batch),
            _ => Err(AggregateError::UnsupportedType {
                function: self.function.name(),
                data_type: self.input_type.clone(),
            })
        )
    }

    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef, AggregateError> {
        let totals = groups
            .iter()
            .map(|&group| self.totals.get(group).copied().unwrap_or_default())
            .map(|total| (total.non_null > 0).then_some(total));
        if self.function == AggregateFunction::Avg {
            let averages = totals
                .map(|total| total.map(|total| total.sum as f64 / total.non_null as f64))
                .collect::<Float64Array>();
            return Ok(Arc::new(averages));
        }
        let sums = totals
            .map(|total| {
                total
                    .map(|total| {
                        i64::try_from(total.sum)
                            .map_err(|_| overflow(self.function, &self.output_type))
                    })
                    .transpose()
            })
            .collect::<Result<Int64Array, AggregateError>>()?;
        Ok(Arc::new(sums))
    }

    fn save(&self, group: usize, encoder: &mut Encoder) {
        let total = self.totals.get(group).copied().unwrap_or_default();
        encoder.put_i128(total.sum);
        encoder.put_i64(total.non_null);
    }

    fn load(&mut self, group: usize, decoder: &mut Decoder<'_>) -> Result<(), AggregateError> {
        let sum = decoder.i128()?;
        let non_null = decode_count(decoder)?;
        *grow_to_group(&mut self.totals, group) = IntegerTotal { sum, non_null };
        Ok(())
    }

    fn merge(&mut self, into: usize, from: usize, keep_from: bool) -> Result<(), AggregateError> {
        let (total, from) = merge_pair(&mut self.totals, into, from, keep_from);
        total.sum = total
            .sum
            .checked_add(from.sum)
            .ok_or_else(|| overflow(self.function, &self.output_type))?;
        add_weight(&mut total.non_null, from.non_null, self.function)
    }
}

#[derive(Clone, Copy, Default)]
struct FloatTotal {
    /// The compensated sum of the finite values: `sum + compensation`.
    sum: f64,
    compensation: f64,
    non_null: i64,
    nan: i64,
    positive_infinity: i64,
    negative_infinity: i64,
}

impl Total for FloatTotal {
    fn non_null(&self) -> i64 {
        self.non_null
    }

    fn lowest_count(&self) -> i64 {
        self.non_null
            .min(self.nan)
            .min(self.positive_infinity)
            .min(self.negative_infinity)
    }
}

impl FloatTotal {
    /// Adds `weight` copies of `value`. `may_reset` says a count of 0 means the group holds
    /// no value; not so after a batch went negative, where a retraction can precede the
    /// insertion it cancels and a 0 can be {+3, -5} waiting for its +5.
    #[inline]
    fn add(
        &mut self,
        value: f64,
        weight: i64,
        may_reset: bool,
        function: AggregateFunction,
    ) -> Result<(), AggregateError> {
        if value.is_finite() {
            self.add_finite(value * weight as f64);
        } else if value.is_nan() {
            add_weight(&mut self.nan, weight, function)?;
        } else if value > 0.0 {
            add_weight(&mut self.positive_infinity, weight, function)?;
        } else {
            add_weight(&mut self.negative_infinity, weight, function)?;
        }
        add_weight(&mut self.non_null, weight, function)?;
        if self.non_null == 0 && may_reset {
            // No values left: drop the rounding residue so the next sum starts exact.
            *self = FloatTotal::default();
        }
        Ok(())
    }

    /// Neumaier's step: adds `term` to the sum, and the low-order bits the addition lost to
    /// the compensation.
    #[inline]
    fn add_finite(&mut self, term: f64) {
        let sum = self.sum + term;
        if self.sum.abs() >= term.abs() {
            self.compensation += (self.sum - sum) + term;
        } else {
            self.compensation += (term - sum) + self.sum;
        }
        self.sum = sum;
    }

    /// Adds `other`'s values: its sum as one compensated term, its compensation as is, so
    /// the result is the sum of both groups' values to the compensated sum's precision.
    fn merge(
        &mut self,
        other: &FloatTotal,
        function: AggregateFunction,
    ) -> Result<(), AggregateError> {
        self.add_finite(other.sum);
        self.compensation += other.compensation;
        add_weight(&mut self.non_null, other.non_null, function)?;
        add_weight(&mut self.nan, other.nan, function)?;
        add_weight(
            &mut self.positive_infinity,
            other.positive_infinity,
            function,
        )?;
        add_weight(
            &mut self.negative_infinity,
            other.negative_infinity,
            function,
        )
    }

    fn sum(&self) -> Option<f64> {
        if self.non_null <= 0 {
            None
        } else if self.nan > 0 || (self.positive_infinity > 0 && self.negative_infinity > 0) {
            Some(f64::NAN)
        } else if self.positive_infinity > 0 {
            Some(f64::INFINITY)
        } else if self.negative_infinity > 0 {
            Some(f64::NEG_INFINITY)
        } else {
            Some(self.sum + self.compensation)
        }
    }
}

/// SUM and AVG of FLOAT and DOUBLE.
pub(super) struct FloatSumStates {
    function: AggregateFunction,
    input_type: DataType,
    totals: Vec<FloatTotal>,
}

impl FloatSumStates {
    pub(super) fn new(function: AggregateFunction, input_type: DataType) -> Self {
        FloatSumStates {
            function,
            input_type,
            totals: Vec::new(),
        }
    }

    fn add_column<T>(&mut self, array: &dyn Array, batch: &Batch<'_>) -> Result<(), AggregateError>
    where
        T: ArrowPrimitiveType,
        T::Native: Into<f64>,
    {
        let function = self.function;
        add_values::<T, _>(
            function,
            array,
            batch,
            &mut self.totals,
            |total, value, weight, may_reset| total.add(value.into(), weight, may_reset, function),
        )
    }
}

impl GroupStates for FloatSumStates {
    fn update(&mut self, batch: &Batch<'_>) -> Result<(), AggregateError> {
        grow_to_fit(&mut self.totals, batch.groups);
        let array = batch.argument(self.function)?;
        match self.input_type {
            DataType::Float32 => self.add_column::<Float32Type>(array, batch),
            _ => self.add_column::<Float64Type>(array, batch),
        }
    }

    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef, AggregateError> {
        let results = groups.iter().map(|&group| {
            let total = self.totals.get(group).copied().unwrap_or_default();
            let sum = total.sum()?;
            Some(match self.function {
                AggregateFunction::Avg => sum / total.non_null as f64,
                _ => sum,
            })
        });
        Ok(Arc::new(results.collect::<Float64Array>()))
    }

    fn save(&self, group: usize, encoder: &mut Encoder) {
        let total = self.totals.get(group).copied().unwrap_or_default();
        encoder.put_f64(total.sum);
        encoder.put_f64(total.compensation);
        for count in [
            total.non_null,
            total.nan,
            total.positive_infinity,
            total.negative_infinity,
        ] {
            encoder.put_i64(count);
        }
    }

    fn load(&mut self, group: usize, decoder: &mut Decoder<'_>) -> Result<(), AggregateError> {
        let total = FloatTotal {
            sum: decoder.f64()?,
            compensation: decoder.f64()?,
            non_null: decode_count(decoder)?,
            nan: decode_count(decoder)?,
            positive_infinity: decode_count(decoder)?,
            negative_infinity: decode_count(decoder)?,
        };
        *grow_to_group(&mut self.totals, group) = total;
        Ok(())
    }

    fn merge(&mut self, into: usize, from: usize, keep_from: bool) -> Result<(), AggregateError> {
        let (total, from) = merge_pair(&mut self.totals, into, from, keep_from);
        total.merge(&from, self.function)
    }
}

#[derive(Clone, Copy)]
struct DecimalTotal {
    /// Σ unscaled value × weight; each term fits in 191 bits, so this cannot overflow in
    /// practice, and the result's precision is checked when evaluated.
    sum: i256,
    non_null: i64,
}

impl Total for DecimalTotal {
    fn non_null(&self) -> i64 {
        self.non_null
    }
}

impl Default for DecimalTotal {
    fn default() -> Self {
        DecimalTotal {
            sum: i256::ZERO,
            non_null: 0,
        }
    }
}

/// An `i256` as the nearest `f64`, exact to `f64` precision for values that fit `i128`.
fn i256_to_f64(value: i256) -> f64 {
    match value.to_i128() {
        Some(value) => value as f64,
        None => {
            let (low, high) = value.to_parts();
            high as f64 * 2f64.powi(128) + low as f64
        }
    }
}

/// SUM and AVG of DECIMAL(p, s).
pub(super) struct DecimalSumStates {
    function: AggregateFunction,
    scale: i8,
    /// DECIMAL(min(38, p + 10), s) for SUM, DOUBLE for AVG.
    output_type: DataType,
    totals: Vec<DecimalTotal>,
}

impl DecimalSumStates {
    pub(super) fn new(function: AggregateFunction, scale: i8, output_type: DataType) -> Self {
        DecimalSumStates {
            function,
            scale,
            output_type,
            totals: Vec::new(),
        }
    }
}

impl GroupStates for DecimalSumStates {
    fn update(&mut self, batch: &Batch<'_>) -> Result<(), AggregateError> {
        grow_to_fit(&mut self.totals, batch.groups);
        let function = self.function;
        add_values::<Decimal128Type, _>(
            function,
            batch.argument(function)?,
            batch,
            &mut self.totals,
            |total, value, weight, _| {
                let term = i256::from_i128(value).checked_mul(i256::from(weight));
                total.sum = term
                    .and_then(|term| total.sum.checked_add(term))
                    .ok_or_else(|| overflow(function, &self.output_type))?;
                add_weight(&mut total.non_null, weight, function)
            },
        )
    }

    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef, AggregateError> {
        let totals = groups
            .iter()
            .map(|&group| self.totals.get(group).copied().unwrap_or_default())
            .map(|total| (total.non_null > 0).then_some(total));
        let DataType::Decimal128(precision, scale) = self.output_type else {
            let unit = 10f64.powi(i32::from(self.scale));
            let averages = totals
                .map(|total| {
                    total.map(|total| i256_to_f64(total.sum) / unit / total.non_null as f64)
                })
                .collect::<Float64Array>();
            return Ok(Arc::new(averages));
        };
        let sums = totals
            .map(|total| {
                total
                    .map(|total| {
                        total
                            .sum
                            .to_i128()
                            .filter(|&sum| {
                                Decimal128Type::is_valid_decimal_precision(sum, precision)
                            })
                            .ok_or_else(|| overflow(self.function, &self.output_type))
                    })
                    .transpose()
            })
            .collect::<Result<Decimal128Array, AggregateError>>()?;
        Ok(Arc::new(sums.with_precision_and_scale(precision, scale)?))
    }

    fn save(&self, group: usize, encoder: &mut Encoder) {
        let total = self.totals.get(group).copied().unwrap_or_default();
        encoder.put_fixed(total.sum.to_le_bytes());
        encoder.put_i64(total.non_null);
    }

    fn load(&mut self, group: usize, decoder: &mut Decoder<'_>) -> Result<(), AggregateError> {
        let sum = i256::from_le_bytes(decoder.fixed()?);
        let non_null = decode_count(decoder)?;
        *grow_to_group(&mut self.totals, group) = DecimalTotal { sum, non_null };
        Ok(())
    }

    fn merge(&mut self, into: usize, from: usize, keep_from: bool) -> Result<(), AggregateError> {
        let (total, from) = merge_pair(&mut self.totals, into, from, keep_from);
        total.sum = total
            .sum
            .checked_add(from.sum)
            .ok_or_else(|| overflow(self.function, &self.output_type))?;
        add_weight(&mut total.non_null, from.non_null, self.function)
    }
}

#[cfg(test)]
mod tests;
