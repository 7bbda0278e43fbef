//! MIN and MAX over an input that never retracts (a stream): each group keeps its extreme
//! value and the number of rows that carried it, inline in one vector. The multiset of
//! `multiset.rs` keeps a tree per group, for values only a retraction could bring back; a
//! stream has none, and a GROUP BY over a stream updates these states once per input row.
//!
//! States are saved in the multiset's format (the group's values, each with its copies), so
//! the two read each other's saved states. Merging two groups keeps the better of their
//! values, or one value with both counts on a tie, as folding every row into one group would.
//!
//! Never: accept a retraction (the caller declared the input append-only), or allocate per
//! row for fixed-width values.

use std::borrow::Borrow;
use std::cmp::Ordering;

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;

use super::encoding::{Decoder, Encoder, corrupt};
use super::values::{KindStates, ValueKind, states_of_kind};
use super::{
    AggregateError, AggregateFunction, Batch, GroupStates, grow_to_fit, grow_to_group, merge_pair,
    too_many_copies,
};

/// States of MIN (`keeps = Ordering::Less`) or MAX (`Ordering::Greater`) over `input`.
pub(super) fn new_extremum_states(
    function: AggregateFunction,
    keeps: Ordering,
    input: &DataType,
) -> Result<Box<dyn GroupStates>, AggregateError> {
    struct Make(AggregateFunction, Ordering);
    impl KindStates for Make {
        fn of_kind<K: ValueKind>(self, kind: K) -> Box<dyn GroupStates> {
            Box::new(ExtremumStates::new(self.0, self.1, kind))
        }
    }
    states_of_kind(function, input, Make(function, keeps))
}

struct ExtremumStates<K: ValueKind> {
    function: AggregateFunction,
    /// How a value compares to the kept one when it replaces it.
    keeps: Ordering,
    kind: K,
    /// Per group: its extreme value and how many rows had it; None before its first
    /// non-NULL value.
    groups: Vec<Option<(K::Owned, i64)>>,
}

impl<K: ValueKind> ExtremumStates<K> {
    fn new(function: AggregateFunction, keeps: Ordering, kind: K) -> Self {
        ExtremumStates {
            function,
            keeps,
            kind,
            groups: Vec::new(),
        }
    }
}

/// Folds `copies` rows of `value` into a group's `kept` value: a value that compares to it
/// as `keeps` replaces it, an equal one adds its copies.
fn fold<K: ValueKind>(
    function: AggregateFunction,
    keeps: Ordering,
    kept: &mut Option<(K::Owned, i64)>,
    value: &K::Borrowed,
    copies: i64,
) -> Result<(), AggregateError> {
    match kept {
        Some((current, current_copies)) => match value.cmp((*current).borrow()) {
            Ordering::Equal => {
                *current_copies = current_copies
                    .checked_add(copies)
                    .ok_or_else(|| too_many_copies(function))?;
            }
            ordering if ordering == keeps => *kept = Some((K::to_owned_value(value), copies)),
            _ => {}
        },
        None => *kept = Some((K::to_owned_value(value), copies)),
    }
    Ok(())
}

impl<K: ValueKind> GroupStates for ExtremumStates<K> {
    fn update(&mut self, batch: &Batch<'_>) -> Result<(), AggregateError> {
        grow_to_fit(&mut self.groups, batch.groups);
        let array = batch.argument(self.function)?;
        let (function, keeps) = (self.function, self.keeps);
        let groups = &mut self.groups;
        self.kind.for_each_value(array, |row, value| {
            let Some(value) = value else {
                return Ok(());
            };
            // `Accumulator::update` checked that every column has a row for each value.
            let (group, weight) = (batch.groups[row], batch.weights[row]);
            match weight {
                0 => Ok(()),
                ..0 => Err(AggregateError::Invariant {
                    function: function.name(),
                    detail: format!("group {group} had a row retracted from an append-only input"),
                }),
                copies => fold::<K>(function, keeps, &mut groups[group], value, copies),
            }
        })
    }

    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef, AggregateError> {
        self.kind.build_array(groups.iter().map(|&group| {
            self.groups
                .get(group)
                .and_then(Option::as_ref)
                .map(|(value, _)| value)
        }))
    }

    fn save(&self, group: usize, encoder: &mut Encoder) {
        match self.groups.get(group).and_then(Option::as_ref) {
            Some((value, copies)) => {
                encoder.put_usize(1);
                K::encode(value, encoder);
                encoder.put_i64(*copies);
            }
            None => encoder.put_usize(0),
        }
    }

    /// Reads the multiset's format; of several saved values (a multiset that kept them all)
    /// only the extreme one matters.
    fn load(&mut self, group: usize, decoder: &mut Decoder<'_>) -> Result<(), AggregateError> {
        let mut kept = None;
        for _ in 0..decoder.count()? {
            let value = K::decode(decoder)?;
            let copies = decoder.i64()?;
            if copies <= 0 {
                return Err(corrupt(format!("{copies} copies of a value")));
            }
            fold::<K>(self.function, self.keeps, &mut kept, value.borrow(), copies)?;
        }
        *grow_to_group(&mut self.groups, group) = kept;
        Ok(())
    }

    fn merge(&mut self, into: usize, from: usize, keep_from: bool) -> Result<(), AggregateError> {
        let (kept, from) = merge_pair(&mut self.groups, into, from, keep_from);
        match from {
            Some((value, copies)) => {
                fold::<K>(self.function, self.keeps, kept, value.borrow(), copies)
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};
    use datafusion::scalar::ScalarValue;

    use super::super::test_support::*;
    use super::*;

    fn int64(value: Option<i64>) -> ScalarValue {
        ScalarValue::Int64(value)
    }

    #[test]
    fn keeps_the_extreme_value_per_group_across_batches() {
        let mut min = accumulator(AggregateFunction::Min, &DataType::Utf8).append_only();
        let mut max = accumulator(AggregateFunction::Max, &DataType::Utf8).append_only();
        for accumulator in [&mut min, &mut max] {
            let values = arc(StringArray::from(vec![
                Some("m"),
                None,
                Some("c"),
                Some("x"),
                Some("k"),
            ]));
            apply(accumulator, values, &[0, 1, 0, 0, 2], &[1; 5]);
            apply(
                accumulator,
                arc(StringArray::from(vec!["a", "z"])),
                &[2, 2],
                &[1, 1],
            );
            assert_round_trips(accumulator, &[0, 1, 2]);
        }
        let utf8 = |value: Option<&str>| ScalarValue::Utf8(value.map(String::from));
        assert_eq!(
            results(&min, &[0, 1, 2]),
            [utf8(Some("c")), utf8(None), utf8(Some("a"))]
        );
        assert_eq!(
            results(&max, &[0, 1, 2]),
            [utf8(Some("x")), utf8(None), utf8(Some("z"))]
        );
    }

    #[test]
    fn reads_the_multisets_saved_state_and_saves_one_it_reads() {
        let values = arc(Int64Array::from(vec![5, 9, 3, 9]));
        let groups = [0; 4];
        let mut multiset = accumulator(AggregateFunction::Max, &DataType::Int64);
        apply(&mut multiset, values.clone(), &groups, &[1; 4]);
        let mut inline = accumulator(AggregateFunction::Max, &DataType::Int64).append_only();
        inline
            .load(0, &multiset.save(0, Vec::new()))
            .expect("reads the multiset's state");
        assert_eq!(results(&inline, &[0]), [int64(Some(9))]);
        // Saved back, the maximum keeps its two copies: it leaves with the second.
        let mut reloaded = accumulator(AggregateFunction::Max, &DataType::Int64);
        reloaded
            .load(0, &inline.save(0, Vec::new()))
            .expect("the multiset reads it");
        let nine = arc(Int64Array::from(vec![9]));
        apply(&mut reloaded, nine.clone(), &[0], &[-1]);
        assert_eq!(results(&reloaded, &[0]), [int64(Some(9))]);
        apply(&mut reloaded, nine, &[0], &[-1]);
        assert_eq!(results(&reloaded, &[0]), [int64(None)]);
    }

    #[test]
    fn merged_extremes_equal_one_group_of_every_row() {
        let inputs: [(DataType, RandomValues); 4] = [
            (DataType::Int64, random_bigints),
            (DataType::Utf8, random_strings),
            (DataType::Float64, random_doubles),
            (DataType::Decimal128(10, 2), random_decimals),
        ];
        for (input, values) in inputs {
            for function in [AggregateFunction::Min, AggregateFunction::Max] {
                assert_merges_as_one_group(
                    function,
                    Some(&input),
                    Some(values),
                    true,
                    Exactness::Bits,
                );
            }
        }
    }

    #[test]
    fn a_merge_keeps_the_better_value_and_adds_copies_on_a_tie() {
        let mut max = accumulator(AggregateFunction::Max, &DataType::Int64).append_only();
        let values = arc(Int64Array::from(vec![9, 4, 9, 3, 9]));
        apply(&mut max, values, &[0, 0, 1, 2, 3], &[2, 1, 1, 5, 1]);
        max.merge(0, 1).unwrap();
        max.merge(2, 3).unwrap();
        assert_eq!(results(&max, &[0, 2]), [int64(Some(9)), int64(Some(9))]);
        // Three copies of 9 in group 0, one in group 2: a multiset reading them back shows it.
        let mut multiset = accumulator(AggregateFunction::Max, &DataType::Int64);
        for group in [0, 2] {
            multiset.load(group, &max.save(group, Vec::new())).unwrap();
        }
        let nine = arc(Int64Array::from(vec![9, 9]));
        apply(&mut multiset, nine, &[0, 2], &[-2, -1]);
        assert_eq!(results(&multiset, &[0, 2]), [int64(Some(9)), int64(None)]);
    }

    #[test]
    fn a_retraction_is_refused() {
        let mut max = accumulator(AggregateFunction::Max, &DataType::Int64).append_only();
        let error = max
            .update(&[0], Some(&arc(Int64Array::from(vec![7]))), &[-1], &[])
            .expect_err("the input is append-only");
        assert!(
            matches!(&error, AggregateError::Invariant { detail, .. } if detail.contains("append-only")),
            "{error}"
        );
    }
}
