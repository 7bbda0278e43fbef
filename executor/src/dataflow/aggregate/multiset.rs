//! MIN, MAX, COUNT_DISTINCT, COLLECT_SET, TOPK, TOPKDISTINCT and HISTOGRAM: each group keeps
//! the multiset of its non-NULL values (value → number of copies, ordered by value), so
//! retracting the current minimum reveals the next one and a value leaves the set with its
//! last copy. Merging two groups adds their multisets, copies to copies.
//!
//! Never: keep a value with zero copies, or end a batch with a negative count (that is a
//! retraction of what was never inserted, reported as an error).

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array};
use arrow::datatypes::DataType;
use eddy_planner::functions::histogram_map;

use super::accumulators::retracted_more_than_inserted;
use super::encoding::{Decoder, Encoder, corrupt};
use super::values::{KindStates, ValueKind, states_of_kind};
use super::{
    AggregateError, AggregateFunction, Batch, GroupStates, grow_to_fit, grow_to_group, list_array,
    merge_pair, too_many_copies,
};

/// What a group's multiset evaluates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MultisetOutput {
    Min,
    Max,
    CountDistinct,
    /// The distinct values, ascending.
    Set,
    /// The k greatest values, descending, each repeated as often as it occurs.
    TopK(usize),
    /// The k greatest distinct values, descending.
    TopKDistinct(usize),
    /// Each distinct value with its number of copies, as a MAP.
    Histogram,
}

pub(super) fn new_multiset_states(
    function: AggregateFunction,
    output: MultisetOutput,
    input: &DataType,
) -> Result<Box<dyn GroupStates>, AggregateError> {
    struct Make(AggregateFunction, MultisetOutput);
    impl KindStates for Make {
        fn of_kind<K: ValueKind>(self, kind: K) -> Box<dyn GroupStates> {
            Box::new(MultisetStates::new(self.0, self.1, kind))
        }
    }
    states_of_kind(function, input, Make(function, output))
}

struct MultisetStates<K: ValueKind> {
    function: AggregateFunction,
    output: MultisetOutput,
    kind: K,
    /// Per group: value → copies, every count positive between batches.
    groups: Vec<BTreeMap<K::Owned, i64>>,
    /// The input never retracts: TOPK keeps only the values it can answer. (MIN and MAX over
    /// such an input use `extremum.rs` instead.)
    append_only: bool,
}

impl<K: ValueKind> MultisetStates<K> {
    fn new(function: AggregateFunction, output: MultisetOutput, kind: K) -> Self {
        MultisetStates {
            function,
            output,
            kind,
            groups: Vec::new(),
            append_only: false,
        }
    }

    /// How many values a group needs when no value can be retracted: None for all of them.
    fn values_needed_without_retractions(&self) -> Option<usize> {
        match self.output {
            MultisetOutput::TopK(k) | MultisetOutput::TopKDistinct(k) => Some(k),
            MultisetOutput::Min
            | MultisetOutput::Max
            | MultisetOutput::CountDistinct
            | MultisetOutput::Set
            | MultisetOutput::Histogram => None,
        }
    }

    /// Drops the values an append-only input can never bring back into the result.
    fn prune(&mut self, groups: &[usize]) {
        let Some(keep) = self.values_needed_without_retractions() else {
            return;
        };
        for &group in groups {
            let values = &mut self.groups[group];
            while values.len() > keep {
                values.pop_first();
            }
        }
    }

    fn values_of(&self, group: usize) -> Option<&BTreeMap<K::Owned, i64>> {
        self.groups.get(group)
    }

    /// A list per group, each holding what `items` yields for its multiset.
    fn lists<'a, I>(
        &'a self,
        groups: &[usize],
        items: impl Fn(&'a BTreeMap<K::Owned, i64>) -> I,
    ) -> Result<ArrayRef, AggregateError>
    where
        I: Iterator<Item = &'a K::Owned>,
    {
        let mut lengths = Vec::with_capacity(groups.len());
        let mut all_items = Vec::new();
        for &group in groups {
            let before = all_items.len();
            if let Some(values) = self.values_of(group) {
                all_items.extend(items(values).map(Some));
            }
            lengths.push(all_items.len() - before);
        }
        let items = self.kind.build_array(all_items.into_iter())?;
        list_array(self.function, self.kind.data_type(), &lengths, items)
    }
}

impl<K: ValueKind> GroupStates for MultisetStates<K> {
    fn update(&mut self, batch: &Batch<'_>) -> Result<(), AggregateError> {
        grow_to_fit(&mut self.groups, batch.groups);
        let array = batch.argument(self.function)?;
        let function = self.function;
        let kept = match self.append_only {
            true => self.values_needed_without_retractions(),
            false => None,
        };
        let groups = &mut self.groups;
        // Values whose count went negative: fine if a later row of the batch inserts them.
        let mut went_negative: Vec<(usize, K::Owned)> = Vec::new();
        self.kind.for_each_value(array, |row, value| {
            let Some(value) = value else {
                return Ok(());
            };
            // `Accumulator::update` checked that every column has a row for each value.
            let (group, weight) = (batch.groups[row], batch.weights[row]);
            let counts = &mut groups[group];
            // Without retractions, a value below the group's kept ones can never be answered:
            // skipping it spares an insert that `prune` would undo.
            if let Some(kept) = kept
                && weight > 0
                && counts.len() >= kept
                && counts
                    .first_key_value()
                    .is_some_and(|(smallest, _)| value < smallest.borrow())
            {
                return Ok(());
            }
            match counts.get_mut(value) {
                Some(count) => {
                    *count = count
                        .checked_add(weight)
                        .ok_or_else(|| too_many_copies(function))?;
                    if *count == 0 {
                        counts.remove(value);
                    } else if *count < 0 {
                        went_negative.push((group, K::to_owned_value(value)));
                    }
                }
                None if weight == 0 => {}
                None => {
                    let owned = K::to_owned_value(value);
                    if weight < 0 {
                        went_negative.push((group, owned.clone()));
                    }
                    counts.insert(owned, weight);
                }
            }
            Ok(())
        })?;
        for (group, value) in went_negative {
            if groups[group]
                .get::<K::Owned>(&value)
                .is_some_and(|&count| count < 0)
            {
                return Err(retracted_more_than_inserted(function, group));
            }
        }
        if self.append_only {
            self.prune(batch.groups);
        }
        Ok(())
    }

    fn set_append_only(&mut self) {
        self.append_only = true;
    }

    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef, AggregateError> {
        match self.output {
            MultisetOutput::Min => self.kind.build_array(groups.iter().map(|&group| {
                self.values_of(group)
                    .and_then(|values| values.keys().next())
            })),
            MultisetOutput::Max => self.kind.build_array(groups.iter().map(|&group| {
                self.values_of(group)
                    .and_then(|values| values.keys().next_back())
            })),
            MultisetOutput::CountDistinct => {
                let counts = groups.iter().map(|&group| {
                    self.values_of(group)
                        .map_or(0, |values| values.len() as i64)
                });
                Ok(Arc::new(Int64Array::from_iter_values(counts)))
            }
            MultisetOutput::Set => self.lists(groups, |values| values.keys()),
            MultisetOutput::TopK(k) => self.lists(groups, |values| {
                values
                    .iter()
                    .rev()
                    .flat_map(|(value, &count)| {
                        std::iter::repeat_n(value, usize::try_from(count).unwrap_or(0))
                    })
                    .take(k)
            }),
            MultisetOutput::TopKDistinct(k) => {
                self.lists(groups, |values| values.keys().rev().take(k))
            }
            MultisetOutput::Histogram => {
                let mut lengths = Vec::with_capacity(groups.len());
                let mut keys = Vec::new();
                let mut counts = Vec::new();
                for &group in groups {
                    let values = self.values_of(group);
                    lengths.push(values.map_or(0, BTreeMap::len));
                    for (value, &count) in values.into_iter().flatten() {
                        keys.push(Some(value));
                        counts.push(count);
                    }
                }
                let keys = self.kind.build_array(keys.into_iter())?;
                let counts = Arc::new(Int64Array::from(counts));
                Ok(Arc::new(histogram_map(lengths, keys, counts)?))
            }
        }
    }

    fn save(&self, group: usize, encoder: &mut Encoder) {
        let Some(values) = self.values_of(group) else {
            encoder.put_usize(0);
            return;
        };
        encoder.put_usize(values.len());
        for (value, &count) in values {
            K::encode(value, encoder);
            encoder.put_i64(count);
        }
    }

    fn load(&mut self, group: usize, decoder: &mut Decoder<'_>) -> Result<(), AggregateError> {
        let mut values = BTreeMap::new();
        for _ in 0..decoder.count()? {
            let value = K::decode(decoder)?;
            let count = decoder.i64()?;
            if count <= 0 {
                return Err(corrupt(format!("{count} copies of a value")));
            }
            if values.insert(value, count).is_some() {
                return Err(corrupt("a value saved twice"));
            }
        }
        *grow_to_group(&mut self.groups, group) = values;
        Ok(())
    }

    fn merge(&mut self, into: usize, from: usize, keep_from: bool) -> Result<(), AggregateError> {
        let (values, mut from) = merge_pair(&mut self.groups, into, from, keep_from);
        // Addition is symmetric: walk the smaller multiset, insert into the larger.
        if from.len() > values.len() {
            std::mem::swap(values, &mut from);
        }
        for (value, copies) in from {
            let count = values.entry(value).or_default();
            *count = count
                .checked_add(copies)
                .ok_or_else(|| too_many_copies(self.function))?;
        }
        if self.append_only {
            self.prune(&[into]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{
        Array, Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray,
        TimestampMillisecondArray,
    };
    use arrow::datatypes::TimeUnit;
    use datafusion::scalar::ScalarValue;

    use super::super::test_support::*;
    use super::super::{Accumulator, AggregateError};
    use super::*;

    fn int64(value: Option<i64>) -> ScalarValue {
        ScalarValue::Int64(value)
    }

    fn utf8(value: Option<&str>) -> ScalarValue {
        ScalarValue::Utf8(value.map(String::from))
    }

    #[test]
    fn append_only_states_keep_just_what_answers() {
        let values = arc(Int64Array::from(vec![5, 3, 9, 3, 7, 9]));
        let groups = [0, 0, 0, 0, 0, 0];
        let mut min = accumulator(AggregateFunction::Min, &DataType::Int64).append_only();
        let mut max = accumulator(AggregateFunction::Max, &DataType::Int64).append_only();
        let mut top = accumulator(AggregateFunction::TopK(2), &DataType::Int64).append_only();
        let mut top_distinct =
            accumulator(AggregateFunction::TopKDistinct(2), &DataType::Int64).append_only();
        let mut distinct =
            accumulator(AggregateFunction::CountDistinct, &DataType::Int64).append_only();
        for accumulator in [
            &mut min,
            &mut max,
            &mut top,
            &mut top_distinct,
            &mut distinct,
        ] {
            apply(accumulator, values.clone(), &groups, &[1; 6]);
            apply(accumulator, arc(Int64Array::from(vec![4])), &[0], &[1]);
        }
        assert_eq!(results(&min, &[0]), [int64(Some(3))]);
        assert_eq!(results(&max, &[0]), [int64(Some(9))]);
        assert_eq!(
            list_result(&top, 0),
            Some(vec![int64(Some(9)), int64(Some(9))])
        );
        assert_eq!(
            list_result(&top_distinct, 0),
            Some(vec![int64(Some(9)), int64(Some(7))])
        );
        assert_eq!(results(&distinct, &[0]), [int64(Some(5))]);
        // What is saved is what is kept: one value for MIN, not six.
        let pruned = min.save(0, Vec::new()).len();
        let full = {
            let mut all = accumulator(AggregateFunction::Min, &DataType::Int64);
            apply(&mut all, values, &groups, &[1; 6]);
            all.save(0, Vec::new()).len()
        };
        assert!(pruned < full, "{pruned} bytes kept, {full} without pruning");
    }

    #[test]
    fn retracting_the_minimum_or_maximum_reveals_the_next() {
        let mut min = accumulator(AggregateFunction::Min, &DataType::Int64);
        let mut max = accumulator(AggregateFunction::Max, &DataType::Int64);
        let values = arc(Int64Array::from(vec![
            Some(5),
            Some(3),
            None,
            Some(9),
            Some(3),
        ]));
        for accumulator in [&mut min, &mut max] {
            apply(
                accumulator,
                values.clone(),
                &[0, 0, 0, 0, 0],
                &[1, 1, 1, 1, 1],
            );
        }
        assert_eq!(results(&min, &[0, 1]), [int64(Some(3)), int64(None)]);
        assert_eq!(results(&max, &[0]), [int64(Some(9))]);
        // Out of insertion order: the last 3 first, then the maximum.
        let retraction = arc(Int64Array::from(vec![3, 9]));
        for accumulator in [&mut min, &mut max] {
            apply(accumulator, retraction.clone(), &[0, 0], &[-1, -1]);
            assert_round_trips(accumulator, &[0, 1]);
        }
        assert_eq!(results(&min, &[0]), [int64(Some(3))]);
        assert_eq!(results(&max, &[0]), [int64(Some(5))]);
        apply(&mut min, arc(Int64Array::from(vec![3])), &[0], &[-1]);
        assert_eq!(results(&min, &[0]), [int64(Some(5))]);
        apply(&mut min, arc(Int64Array::from(vec![5])), &[0], &[-1]);
        assert_eq!(results(&min, &[0]), [int64(None)]);
    }

    #[test]
    fn weights_count_copies() {
        let mut min = accumulator(AggregateFunction::Min, &DataType::Utf8);
        apply(
            &mut min,
            arc(StringArray::from(vec!["b", "a"])),
            &[0, 0],
            &[1, 3],
        );
        apply(&mut min, arc(StringArray::from(vec!["a"])), &[0], &[-2]);
        assert_eq!(results(&min, &[0]), [utf8(Some("a"))]);
        apply(&mut min, arc(StringArray::from(vec!["a"])), &[0], &[-1]);
        assert_eq!(results(&min, &[0]), [utf8(Some("b"))]);
        assert_round_trips(&min, &[0]);
        let error = min
            .update(&[0], Some(&arc(StringArray::from(vec!["a"]))), &[-1], &[])
            .unwrap_err();
        assert!(matches!(error, AggregateError::Invariant { .. }), "{error}");
    }

    #[test]
    fn a_retraction_may_precede_its_insertion_within_a_batch() {
        let mut max = accumulator(AggregateFunction::Max, &DataType::Int32);
        apply(
            &mut max,
            arc(Int32Array::from(vec![7, 2, 7])),
            &[0, 0, 0],
            &[-1, 1, 1],
        );
        assert_eq!(results(&max, &[0]), [ScalarValue::Int32(Some(2))]);
    }

    #[test]
    fn min_and_max_keep_their_type() {
        let timestamps =
            TimestampMillisecondArray::from(vec![Some(30), None, Some(10)]).with_timezone("UTC");
        let input = timestamps.data_type().clone();
        assert_eq!(
            input,
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
        );
        let mut max = accumulator(AggregateFunction::Max, &input);
        apply(&mut max, arc(timestamps), &[0, 0, 1], &[1, 1, 1]);
        assert_eq!(
            results(&max, &[0, 1]),
            [
                ScalarValue::TimestampMillisecond(Some(30), Some("UTC".into())),
                ScalarValue::TimestampMillisecond(Some(10), Some("UTC".into())),
            ]
        );
        assert_round_trips(&max, &[0, 1]);

        let decimals = Decimal128Array::from(vec![125, -5])
            .with_precision_and_scale(5, 2)
            .unwrap();
        let mut min = accumulator(AggregateFunction::Min, &DataType::Decimal128(5, 2));
        apply(&mut min, arc(decimals), &[0, 0], &[1, 1]);
        assert_eq!(
            results(&min, &[0]),
            [ScalarValue::Decimal128(Some(-5), 5, 2)]
        );
        assert_round_trips(&min, &[0]);

        let mut max = accumulator(AggregateFunction::Max, &DataType::Float64);
        apply(
            &mut max,
            arc(Float64Array::from(vec![1.0, f64::NAN, 2.0])),
            &[0, 0, 0],
            &[1, 1, 1],
        );
        assert!(
            matches!(results(&max, &[0])[0], ScalarValue::Float64(Some(value)) if value.is_nan())
        );
        assert_round_trips(&max, &[0]);
        apply(
            &mut max,
            arc(Float64Array::from(vec![f64::NAN])),
            &[0],
            &[-1],
        );
        assert_eq!(results(&max, &[0]), [ScalarValue::Float64(Some(2.0))]);
    }

    #[test]
    fn count_distinct_counts_values_with_copies_left() {
        let mut distinct = accumulator(AggregateFunction::CountDistinct, &DataType::Utf8);
        let values = arc(StringArray::from(vec![
            Some("x"),
            Some("y"),
            None,
            Some("x"),
        ]));
        apply(&mut distinct, values, &[0, 0, 0, 1], &[2, 1, 1, 1]);
        assert_eq!(
            results(&distinct, &[0, 1, 2]),
            [int64(Some(2)), int64(Some(1)), int64(Some(0))]
        );
        assert_round_trips(&distinct, &[0, 1, 2]);
        apply(
            &mut distinct,
            arc(StringArray::from(vec!["x", "y"])),
            &[0, 0],
            &[-1, -1],
        );
        assert_eq!(results(&distinct, &[0]), [int64(Some(1))]);
        apply(
            &mut distinct,
            arc(StringArray::from(vec!["x", "x"])),
            &[0, 1],
            &[-1, -1],
        );
        assert_eq!(
            results(&distinct, &[0, 1]),
            [int64(Some(0)), int64(Some(0))]
        );
    }

    #[test]
    fn collect_set_lists_distinct_values_ascending_and_empties() {
        let mut set = accumulator(AggregateFunction::CollectSet, &DataType::Int64);
        let values = arc(Int64Array::from(vec![Some(3), None, Some(1), Some(3)]));
        apply(&mut set, values, &[0, 0, 0, 0], &[1, 1, 1, 1]);
        assert_eq!(
            list_result(&set, 0),
            Some(vec![int64(Some(1)), int64(Some(3))])
        );
        assert_eq!(list_result(&set, 1), Some(vec![]));
        assert_round_trips(&set, &[0, 1]);
        apply(
            &mut set,
            arc(Int64Array::from(vec![3, 1])),
            &[0, 0],
            &[-1, -1],
        );
        assert_eq!(list_result(&set, 0), Some(vec![int64(Some(3))]));
        apply(&mut set, arc(Int64Array::from(vec![3])), &[0], &[-1]);
        assert_eq!(list_result(&set, 0), Some(vec![]));
    }

    #[test]
    fn topk_keeps_the_k_greatest_with_duplicates() {
        let mut top = Accumulator::new(AggregateFunction::TopK(3), Some(DataType::Int64)).unwrap();
        let values = arc(Int64Array::from(vec![
            Some(4),
            Some(9),
            None,
            Some(7),
            Some(1),
        ]));
        apply(&mut top, values, &[0, 0, 0, 0, 1], &[1, 1, 1, 2, 1]);
        let expected = [9, 7, 7].map(|value| int64(Some(value))).to_vec();
        assert_eq!(list_result(&top, 0), Some(expected));
        assert_eq!(list_result(&top, 1), Some(vec![int64(Some(1))]));
        assert_round_trips(&top, &[0, 1]);
        apply(
            &mut top,
            arc(Int64Array::from(vec![7, 9])),
            &[0, 0],
            &[-1, -1],
        );
        let expected = [7, 4].map(|value| int64(Some(value))).to_vec();
        assert_eq!(list_result(&top, 0), Some(expected));
        apply(
            &mut top,
            arc(Int64Array::from(vec![4, 7, 1])),
            &[0, 0, 1],
            &[-1, -1, -1],
        );
        assert_eq!(list_result(&top, 0), Some(vec![]));
        assert_eq!(list_result(&top, 1), Some(vec![]));
    }

    #[test]
    fn merged_multisets_equal_one_group_of_every_row() {
        let functions = [
            AggregateFunction::Min,
            AggregateFunction::Max,
            AggregateFunction::CountDistinct,
            AggregateFunction::CollectSet,
            AggregateFunction::TopK(2),
            AggregateFunction::TopKDistinct(2),
            AggregateFunction::TopK(5),
        ];
        let inputs: [(DataType, RandomValues); 3] = [
            (DataType::Int64, random_bigints),
            (DataType::Utf8, random_strings),
            (DataType::Float64, random_doubles),
        ];
        for append_only in [false, true] {
            for (input, values) in &inputs {
                for function in functions {
                    assert_merges_as_one_group(
                        function,
                        Some(input),
                        Some(*values),
                        append_only,
                        Exactness::Bits,
                    );
                }
            }
            assert_merges_as_one_group(
                AggregateFunction::Histogram,
                Some(&DataType::Utf8),
                Some(random_strings),
                append_only,
                Exactness::Bits,
            );
        }
    }

    #[test]
    fn append_only_topk_keeps_the_k_greatest_of_both_groups() {
        let mut top = accumulator(AggregateFunction::TopK(2), &DataType::Int64).append_only();
        let values = arc(Int64Array::from(vec![8, 5, 1, 9, 6, 2]));
        apply(&mut top, values, &[0, 0, 0, 1, 1, 1], &[1; 6]);
        top.merge(0, 1).unwrap();
        let expected = [9, 8].map(|value| int64(Some(value))).to_vec();
        assert_eq!(list_result(&top, 0), Some(expected));
        let mut saved = accumulator(AggregateFunction::CollectSet, &DataType::Int64);
        saved.load(0, &top.save(0, Vec::new())).unwrap();
        let expected = [8, 9].map(|value| int64(Some(value))).to_vec();
        assert_eq!(
            list_result(&saved, 0),
            Some(expected),
            "only two values are kept"
        );
    }

    #[test]
    fn many_groups_evaluate_at_once() {
        let mut max = accumulator(AggregateFunction::Max, &DataType::Int64);
        let mut set = accumulator(AggregateFunction::CollectSet, &DataType::Int64);
        let groups: Vec<usize> = (0..600).map(|row| row % 200).collect();
        let values = arc(Int64Array::from_iter_values(0..600));
        for accumulator in [&mut max, &mut set] {
            apply(accumulator, values.clone(), &groups, &vec![1; 600]);
        }
        let all: Vec<usize> = (0..200).collect();
        let maxima = max.evaluate(&all).unwrap();
        let expected: Vec<i64> = (400..600).collect();
        assert_eq!(maxima.as_ref(), &Int64Array::from(expected) as &dyn Array);
        let sets = set.evaluate(&all).unwrap();
        assert_eq!(sets.len(), 200);
        assert_eq!(
            list_result(&set, 199),
            Some([199, 399, 599].map(|v| int64(Some(v))).to_vec())
        );
    }
}
