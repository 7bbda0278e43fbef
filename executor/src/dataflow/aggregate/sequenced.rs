//! LATEST_BY_OFFSET, EARLIEST_BY_OFFSET and COLLECT_LIST: each group keeps every occurrence
//! of a value with the sequence (input position) it came with, in sequence order, plus an
//! index by value to find what a retraction removes.
//!
//! A retraction of `v` with sequence `s` removes the occurrence of `v` at `s` if there is
//! one (exact when the caller passes the sequence the row was inserted with), else the
//! occurrences of `v` with the greatest sequences. LATEST_BY_OFFSET and EARLIEST_BY_OFFSET
//! skip NULLs unless called with `ignore_nulls` false; COLLECT_LIST keeps them. Over an input
//! that never retracts, *_BY_OFFSET keep only the occurrences they answer with. Merging two
//! groups unites their occurrences (each keeps its sequence), then trims as `update` would.
//!
//! Never: end a batch with a retraction that matched no occurrence (reported as an error).

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;

use super::accumulators::retracted_more_than_inserted;
use super::encoding::{Decoder, Encoder, corrupt};
use super::values::{KindStates, ValueKind, states_of_kind};
use super::{
    AggregateError, AggregateFunction, Batch, ByOffset, GroupStates, grow_to_fit, grow_to_group,
    list_array, merge_pair, too_many_copies,
};

/// What a group's occurrences evaluate to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SequencedOutput {
    /// The value with the greatest sequence, or the values with the n greatest.
    Latest(ByOffset),
    /// The value with the smallest sequence, or the values with the n smallest.
    Earliest(ByOffset),
    /// Every value, in sequence order.
    List,
}

pub(super) fn new_sequenced_states(
    function: AggregateFunction,
    output: SequencedOutput,
    input: &DataType,
) -> Result<Box<dyn GroupStates>, AggregateError> {
    struct Make(AggregateFunction, SequencedOutput);
    impl KindStates for Make {
        fn of_kind<K: ValueKind>(self, kind: K) -> Box<dyn GroupStates> {
            Box::new(SequencedStates::new(self.0, self.1, kind))
        }
    }
    states_of_kind(function, input, Make(function, output))
}

/// The occurrences of one group's values.
#[derive(Clone)]
struct Occurrences<V> {
    /// (sequence, value) → copies (positive), in sequence order.
    by_sequence: BTreeMap<(u64, Option<V>), u64>,
    /// The same occurrences as (value, sequence).
    by_value: BTreeSet<(Option<V>, u64)>,
}

impl<V> Default for Occurrences<V> {
    fn default() -> Self {
        Occurrences {
            by_sequence: BTreeMap::new(),
            by_value: BTreeSet::new(),
        }
    }
}

impl<V: Ord + Clone> Occurrences<V> {
    /// Adds `copies` occurrences of `value` at `sequence`; false if the count overflows.
    fn insert(&mut self, sequence: u64, value: Option<V>, copies: u64) -> bool {
        let key = (sequence, value);
        if let Some(existing) = self.by_sequence.get_mut(&key) {
            return match existing.checked_add(copies) {
                Some(sum) => {
                    *existing = sum;
                    true
                }
                None => false,
            };
        }
        self.by_value.insert((key.1.clone(), sequence));
        self.by_sequence.insert(key, copies);
        true
    }

    /// Adds every occurrence of `other`; false if a count overflows.
    fn merge(&mut self, mut other: Occurrences<V>) -> bool {
        // The union is symmetric: walk the smaller one, insert into the larger.
        if other.by_sequence.len() > self.by_sequence.len() {
            std::mem::swap(self, &mut other);
        }
        other
            .by_sequence
            .into_iter()
            .all(|((sequence, value), copies)| self.insert(sequence, value, copies))
    }

    /// Removes up to `copies` occurrences of `value`, the one at `sequence` first, then those
    /// with the greatest sequences; returns how many it could not find.
    fn remove(&mut self, sequence: u64, value: &Option<V>, copies: u64) -> u64 {
        let mut missing = self.remove_at(sequence, value, copies);
        while missing > 0 {
            let latest = self
                .by_value
                .range((value.clone(), 0)..=(value.clone(), u64::MAX))
                .next_back()
                .map(|&(_, sequence)| sequence);
            let Some(latest) = latest else {
                break;
            };
            missing = self.remove_at(latest, value, missing);
        }
        missing
    }

    fn remove_at(&mut self, sequence: u64, value: &Option<V>, copies: u64) -> u64 {
        let key = (sequence, value.clone());
        let Some(existing) = self.by_sequence.get_mut(&key) else {
            return copies;
        };
        let removed = copies.min(*existing);
        *existing -= removed;
        if *existing == 0 {
            self.by_sequence.remove(&key);
            self.by_value.remove(&(key.1, sequence));
        }
        copies - removed
    }
}

/// Occurrences with their copies, latest first or earliest first.
type Ordered<'a, V> = Box<dyn Iterator<Item = (&'a (u64, Option<V>), &'a u64)> + 'a>;

impl<V: Ord + Clone> Occurrences<V> {
    fn ordered(&self, latest: bool) -> Ordered<'_, V> {
        match latest {
            true => Box::new(self.by_sequence.iter().rev()),
            false => Box::new(self.by_sequence.iter()),
        }
    }

    /// Drops the occurrences before the last `keep` copies (`latest`), or after the first
    /// `keep` copies.
    fn keep_only(&mut self, keep: usize, latest: bool) {
        let mut kept = 0u64;
        let boundary = self
            .ordered(latest)
            .find(|(_, copies)| {
                kept = kept.saturating_add(**copies);
                kept >= keep as u64
            })
            .map(|(key, _)| key.clone());
        let Some(boundary) = boundary else {
            return;
        };
        let dropped = match latest {
            true => {
                let kept = self.by_sequence.split_off(&boundary);
                std::mem::replace(&mut self.by_sequence, kept)
            }
            false => {
                let mut dropped = self.by_sequence.split_off(&boundary);
                // `split_off` leaves the boundary in what it returns: it stays.
                if let Some((key, copies)) = dropped.pop_first() {
                    self.by_sequence.insert(key, copies);
                }
                dropped
            }
        };
        for (sequence, value) in dropped.into_keys() {
            self.by_value.remove(&(value, sequence));
        }
    }
}

/// The value of a `by_sequence` key.
fn value_of<V>(key: &(u64, Option<V>)) -> Option<&V> {
    key.1.as_ref()
}

struct SequencedStates<K: ValueKind> {
    function: AggregateFunction,
    output: SequencedOutput,
    kind: K,
    groups: Vec<Occurrences<K::Owned>>,
    /// The input never retracts: *_BY_OFFSET keep only the occurrences they answer with.
    append_only: bool,
}

impl<K: ValueKind> SequencedStates<K> {
    fn new(function: AggregateFunction, output: SequencedOutput, kind: K) -> Self {
        SequencedStates {
            function,
            output,
            kind,
            groups: Vec::new(),
            append_only: false,
        }
    }

    /// Whether NULL inputs are occurrences.
    fn keeps_nulls(&self) -> bool {
        match self.output {
            SequencedOutput::Latest(by_offset) | SequencedOutput::Earliest(by_offset) => {
                !by_offset.ignore_nulls
            }
            SequencedOutput::List => true,
        }
    }

    /// Drops what an append-only input can never bring back into the results of `groups`.
    fn prune(&mut self, groups: &[usize]) {
        let (by_offset, latest) = match self.output {
            SequencedOutput::Latest(by_offset) => (by_offset, true),
            SequencedOutput::Earliest(by_offset) => (by_offset, false),
            SequencedOutput::List => return,
        };
        let keep = by_offset.count.unwrap_or(1);
        for &group in groups {
            self.groups[group].keep_only(keep, latest);
        }
    }

    /// The occurrences `by_offset` answers with, in sequence order, each as often as its
    /// copies (at most `count` in all).
    fn answered(
        occurrences: &Occurrences<K::Owned>,
        count: usize,
        latest: bool,
    ) -> Vec<Option<&K::Owned>> {
        let mut values = Vec::with_capacity(count.min(occurrences.by_sequence.len()));
        let mut ordered = occurrences.ordered(latest);
        while values.len() < count {
            let Some(((_, value), &copies)) = ordered.next() else {
                break;
            };
            let copies = usize::try_from(copies).unwrap_or(usize::MAX);
            values.extend(std::iter::repeat_n(
                value.as_ref(),
                copies.min(count - values.len()),
            ));
        }
        if latest {
            values.reverse();
        }
        values
    }

    fn occurrences(&self, group: usize) -> Option<&Occurrences<K::Owned>> {
        self.groups.get(group)
    }
}

impl<K: ValueKind> GroupStates for SequencedStates<K> {
    fn update(&mut self, batch: &Batch<'_>) -> Result<(), AggregateError> {
        grow_to_fit(&mut self.groups, batch.groups);
        let array = batch.argument(self.function)?;
        let function = self.function;
        let keeps_nulls = self.keeps_nulls();
        let groups = &mut self.groups;
        // Retractions no occurrence matched yet, by (group, value): a later row of the batch
        // may insert what they retract.
        let mut unmatched: BTreeMap<(usize, Option<K::Owned>), u64> = BTreeMap::new();
        self.kind.for_each_value(array, |row, value| {
            if value.is_none() && !keeps_nulls {
                return Ok(());
            }
            // `Accumulator::update` checked that every column has a row for each value.
            let (group, weight, sequence) =
                (batch.groups[row], batch.weights[row], batch.sequences[row]);
            let value = value.map(K::to_owned_value);
            let mut copies = weight.unsigned_abs();
            let occurrences = &mut groups[group];
            if weight < 0 {
                let missing = occurrences.remove(sequence, &value, copies);
                if missing > 0 {
                    let pending = unmatched.entry((group, value)).or_default();
                    *pending = pending.saturating_add(missing);
                }
                return Ok(());
            }
            if !unmatched.is_empty()
                && let Some(pending) = unmatched.get_mut(&(group, value.clone()))
            {
                let cancelled = copies.min(*pending);
                *pending -= cancelled;
                copies -= cancelled;
                if *pending == 0 {
                    unmatched.remove(&(group, value.clone()));
                }
            }
            if copies > 0 && !occurrences.insert(sequence, value, copies) {
                return Err(too_many_copies(function));
            }
            Ok(())
        })?;
        if let Some(&(group, _)) = unmatched.keys().next() {
            return Err(retracted_more_than_inserted(function, group));
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
            SequencedOutput::Latest(ByOffset { count: None, .. }) => {
                self.kind.build_array(groups.iter().map(|&group| {
                    self.occurrences(group)
                        .and_then(|occurrences| occurrences.by_sequence.keys().next_back())
                        .and_then(value_of)
                }))
            }
            SequencedOutput::Earliest(ByOffset { count: None, .. }) => {
                self.kind.build_array(groups.iter().map(|&group| {
                    self.occurrences(group)
                        .and_then(|occurrences| occurrences.by_sequence.keys().next())
                        .and_then(value_of)
                }))
            }
            SequencedOutput::Latest(ByOffset {
                count: Some(count), ..
            })
            | SequencedOutput::Earliest(ByOffset {
                count: Some(count), ..
            }) => {
                let latest = matches!(self.output, SequencedOutput::Latest(_));
                let mut lengths = Vec::with_capacity(groups.len());
                let mut items = Vec::new();
                for &group in groups {
                    let before = items.len();
                    if let Some(occurrences) = self.occurrences(group) {
                        items.extend(Self::answered(occurrences, count, latest));
                    }
                    lengths.push(items.len() - before);
                }
                let items = self.kind.build_array(items.into_iter())?;
                list_array(self.function, self.kind.data_type(), &lengths, items)
            }
            SequencedOutput::List => {
                let mut lengths = Vec::with_capacity(groups.len());
                let mut items = Vec::new();
                for &group in groups {
                    let before = items.len();
                    if let Some(occurrences) = self.occurrences(group) {
                        for ((_, value), &copies) in &occurrences.by_sequence {
                            let copies =
                                usize::try_from(copies).map_err(|_| AggregateError::Overflow {
                                    function: self.function.name(),
                                    sql_type: "an ARRAY this machine can hold".into(),
                                })?;
                            items.extend(std::iter::repeat_n(value.as_ref(), copies));
                        }
                    }
                    lengths.push(items.len() - before);
                }
                let items = self.kind.build_array(items.into_iter())?;
                list_array(self.function, self.kind.data_type(), &lengths, items)
            }
        }
    }

    fn save(&self, group: usize, encoder: &mut Encoder) {
        let Some(occurrences) = self.occurrences(group) else {
            encoder.put_usize(0);
            return;
        };
        encoder.put_usize(occurrences.by_sequence.len());
        for ((sequence, value), &copies) in &occurrences.by_sequence {
            encoder.put_u64(*sequence);
            encoder.put_bool(value.is_some());
            if let Some(value) = value {
                K::encode(value, encoder);
            }
            encoder.put_u64(copies);
        }
    }

    fn load(&mut self, group: usize, decoder: &mut Decoder<'_>) -> Result<(), AggregateError> {
        let mut occurrences = Occurrences::default();
        for _ in 0..decoder.count()? {
            let sequence = decoder.u64()?;
            let value = if decoder.bool()? {
                Some(K::decode(decoder)?)
            } else {
                None
            };
            let copies = decoder.u64()?;
            if copies == 0 {
                return Err(corrupt("an occurrence without copies"));
            }
            if occurrences
                .by_sequence
                .contains_key(&(sequence, value.clone()))
            {
                return Err(corrupt("an occurrence saved twice"));
            }
            occurrences.insert(sequence, value, copies);
        }
        *grow_to_group(&mut self.groups, group) = occurrences;
        Ok(())
    }

    fn merge(&mut self, into: usize, from: usize, keep_from: bool) -> Result<(), AggregateError> {
        let (occurrences, from) = merge_pair(&mut self.groups, into, from, keep_from);
        if !occurrences.merge(from) {
            return Err(too_many_copies(self.function));
        }
        if self.append_only {
            self.prune(&[into]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Float64Array, Int64Array, StringArray};
    use datafusion::scalar::ScalarValue;

    use super::super::test_support::*;
    use super::super::{Accumulator, AggregateError};
    use super::*;

    fn update(
        accumulator: &mut Accumulator,
        values: ArrayRef,
        groups: &[usize],
        weights: &[i64],
        sequences: &[u64],
    ) -> Result<(), AggregateError> {
        accumulator.update(groups, Some(&values), weights, sequences)
    }

    fn utf8(value: Option<&str>) -> ScalarValue {
        ScalarValue::Utf8(value.map(String::from))
    }

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        arc(StringArray::from(values.to_vec()))
    }

    #[test]
    fn latest_and_earliest_skip_nulls_and_fall_back_on_retraction() {
        let mut latest = accumulator(
            AggregateFunction::LatestByOffset(ByOffset::ONE),
            &DataType::Utf8,
        );
        let mut earliest = accumulator(
            AggregateFunction::EarliestByOffset(ByOffset::ONE),
            &DataType::Utf8,
        );
        let values = strings(&[Some("a"), Some("b"), Some("c"), None]);
        for accumulator in [&mut latest, &mut earliest] {
            update(
                accumulator,
                values.clone(),
                &[0, 0, 0, 0],
                &[1, 1, 1, 1],
                &[10, 11, 12, 13],
            )
            .unwrap();
            assert_round_trips(accumulator, &[0, 1]);
        }
        assert_eq!(results(&latest, &[0, 1]), [utf8(Some("c")), utf8(None)]);
        assert_eq!(results(&earliest, &[0]), [utf8(Some("a"))]);
        // Retract the earliest and the latest, out of order; retracting NULL is ignored.
        let retraction = strings(&[Some("c"), None, Some("a")]);
        for accumulator in [&mut latest, &mut earliest] {
            update(
                accumulator,
                retraction.clone(),
                &[0, 0, 0],
                &[-1, -1, -1],
                &[20, 21, 22],
            )
            .unwrap();
        }
        assert_eq!(results(&latest, &[0]), [utf8(Some("b"))]);
        assert_eq!(results(&earliest, &[0]), [utf8(Some("b"))]);
        for accumulator in [&mut latest, &mut earliest] {
            update(accumulator, strings(&[Some("b")]), &[0], &[-1], &[23]).unwrap();
            assert_eq!(results(accumulator, &[0]), [utf8(None)]);
        }
    }

    fn list_of(accumulator: &Accumulator, group: usize) -> Option<Vec<ScalarValue>> {
        list_result(accumulator, group)
    }

    #[test]
    fn n_values_come_in_sequence_order_and_nulls_count_when_not_ignored() {
        let latest_two = AggregateFunction::LatestByOffset(ByOffset {
            count: Some(2),
            ignore_nulls: true,
        });
        let earliest_two_with_nulls = AggregateFunction::EarliestByOffset(ByOffset {
            count: Some(2),
            ignore_nulls: false,
        });
        let latest_with_nulls = AggregateFunction::LatestByOffset(ByOffset {
            count: None,
            ignore_nulls: false,
        });
        let values = strings(&[None, Some("a"), Some("b"), Some("c"), None]);
        let mut accumulators = [latest_two, earliest_two_with_nulls, latest_with_nulls]
            .map(|function| accumulator(function, &DataType::Utf8));
        for (index, accumulator) in accumulators.iter_mut().enumerate() {
            update(
                accumulator,
                values.clone(),
                &[0; 5],
                &[1; 5],
                &[1, 2, 3, 4, 5],
            )
            .unwrap();
            assert_round_trips(accumulator, &[0, 1]);
            if index < 2 {
                assert_eq!(list_of(accumulator, 1), Some(vec![]), "an empty group");
            }
        }
        let [latest_two, earliest_two_with_nulls, latest_with_nulls] = &mut accumulators;
        assert_eq!(
            list_of(latest_two, 0),
            Some(vec![utf8(Some("b")), utf8(Some("c"))])
        );
        assert_eq!(
            list_of(earliest_two_with_nulls, 0),
            Some(vec![utf8(None), utf8(Some("a"))])
        );
        assert_eq!(results(latest_with_nulls, &[0]), [utf8(None)]);
        // Retracting "c" brings "a" back into the latest two; the NULL at 5 goes too.
        update(latest_two, strings(&[Some("c")]), &[0], &[-1], &[4]).unwrap();
        assert_eq!(
            list_of(latest_two, 0),
            Some(vec![utf8(Some("a")), utf8(Some("b"))])
        );
        update(latest_with_nulls, strings(&[None]), &[0], &[-1], &[5]).unwrap();
        assert_eq!(results(latest_with_nulls, &[0]), [utf8(Some("c"))]);
    }

    #[test]
    fn append_only_by_offset_keeps_only_what_it_answers_with() {
        let latest_two = AggregateFunction::LatestByOffset(ByOffset {
            count: Some(2),
            ignore_nulls: true,
        });
        let earliest = AggregateFunction::EarliestByOffset(ByOffset::ONE);
        let values = arc(Int64Array::from(vec![5, 6, 7, 8]));
        for (function, answer) in [
            (
                latest_two,
                vec![ScalarValue::Int64(Some(8)), ScalarValue::Int64(Some(9))],
            ),
            (earliest, vec![ScalarValue::Int64(Some(5))]),
        ] {
            let mut pruned = accumulator(function, &DataType::Int64).append_only();
            let mut full = accumulator(function, &DataType::Int64);
            for accumulator in [&mut pruned, &mut full] {
                update(
                    accumulator,
                    values.clone(),
                    &[0; 4],
                    &[1, 2, 1, 1],
                    &[1, 2, 3, 4],
                )
                .unwrap();
                update(
                    accumulator,
                    arc(Int64Array::from(vec![9])),
                    &[0],
                    &[1],
                    &[5],
                )
                .unwrap();
            }
            let answered = |accumulator: &Accumulator| match function {
                AggregateFunction::LatestByOffset(_) => list_of(accumulator, 0),
                _ => Some(results(accumulator, &[0])),
            };
            assert_eq!(answered(&pruned), Some(answer.clone()));
            assert_eq!(answered(&full), Some(answer));
            let (kept, all) = (
                pruned.save(0, Vec::new()).len(),
                full.save(0, Vec::new()).len(),
            );
            assert!(
                kept < all,
                "{function}: {kept} bytes kept, {all} without pruning"
            );
        }
    }

    #[test]
    fn a_retraction_removes_the_occurrence_at_its_sequence_else_the_latest() {
        let mut latest = accumulator(
            AggregateFunction::LatestByOffset(ByOffset::ONE),
            &DataType::Int64,
        );
        let values = arc(Int64Array::from(vec![1, 2, 1]));
        update(&mut latest, values, &[0, 0, 0], &[1, 1, 1], &[1, 2, 3]).unwrap();
        // No occurrence of 1 at sequence 9: the one at 3 goes, so 2 is the latest.
        update(
            &mut latest,
            arc(Int64Array::from(vec![1])),
            &[0],
            &[-1],
            &[9],
        )
        .unwrap();
        assert_eq!(results(&latest, &[0]), [ScalarValue::Int64(Some(2))]);
        update(
            &mut latest,
            arc(Int64Array::from(vec![1])),
            &[0],
            &[1],
            &[3],
        )
        .unwrap();
        // An occurrence of 1 at sequence 1: that one goes, and the one at 3 stays latest.
        update(
            &mut latest,
            arc(Int64Array::from(vec![1])),
            &[0],
            &[-1],
            &[1],
        )
        .unwrap();
        assert_eq!(results(&latest, &[0]), [ScalarValue::Int64(Some(1))]);
        update(
            &mut latest,
            arc(Int64Array::from(vec![2])),
            &[0],
            &[-1],
            &[0],
        )
        .unwrap();
        assert_eq!(results(&latest, &[0]), [ScalarValue::Int64(Some(1))]);
        let error = update(
            &mut latest,
            arc(Int64Array::from(vec![2])),
            &[0],
            &[-1],
            &[0],
        )
        .unwrap_err();
        assert!(matches!(error, AggregateError::Invariant { .. }), "{error}");
    }

    #[test]
    fn collect_list_keeps_sequence_order_nulls_and_copies() {
        let mut list = accumulator(AggregateFunction::CollectList, &DataType::Utf8);
        let values = strings(&[Some("y"), None, Some("x"), Some("y")]);
        update(
            &mut list,
            values,
            &[0, 0, 0, 0],
            &[1, 1, 2, 1],
            &[5, 1, 3, 7],
        )
        .unwrap();
        let expected = [None, Some("x"), Some("x"), Some("y"), Some("y")]
            .map(utf8)
            .to_vec();
        assert_eq!(list_result(&list, 0), Some(expected));
        assert_eq!(list_result(&list, 1), Some(vec![]));
        assert_round_trips(&list, &[0, 1]);
        let retraction = strings(&[Some("y"), None, Some("x")]);
        update(&mut list, retraction, &[0, 0, 0], &[-1, -1, -1], &[8, 8, 8]).unwrap();
        let expected = [Some("x"), Some("y")].map(utf8).to_vec();
        assert_eq!(list_result(&list, 0), Some(expected));
        let retraction = strings(&[Some("x"), Some("y")]);
        update(&mut list, retraction, &[0, 0], &[-1, -1], &[9, 9]).unwrap();
        assert_eq!(list_result(&list, 0), Some(vec![]));
    }

    #[test]
    fn a_retraction_may_precede_its_insertion_within_a_batch() {
        let mut list = accumulator(AggregateFunction::CollectList, &DataType::Float64);
        let values = arc(Float64Array::from(vec![2.5, 1.0, 2.5]));
        update(&mut list, values, &[0, 0, 0], &[-1, 1, 1], &[1, 2, 3]).unwrap();
        assert_eq!(
            list_result(&list, 0),
            Some(vec![ScalarValue::Float64(Some(1.0))])
        );
        let values = arc(Float64Array::from(vec![4.0, 4.0]));
        let error = update(&mut list, values, &[0, 0], &[1, -2], &[4, 5]).unwrap_err();
        assert!(matches!(error, AggregateError::Invariant { .. }), "{error}");
    }

    #[test]
    fn merged_occurrences_equal_one_group_of_every_row() {
        let by_offsets = [
            ByOffset::ONE,
            ByOffset {
                count: None,
                ignore_nulls: false,
            },
            ByOffset {
                count: Some(2),
                ignore_nulls: true,
            },
            ByOffset {
                count: Some(3),
                ignore_nulls: false,
            },
        ];
        let functions = by_offsets
            .iter()
            .flat_map(|&by_offset| {
                [
                    AggregateFunction::LatestByOffset(by_offset),
                    AggregateFunction::EarliestByOffset(by_offset),
                ]
            })
            .chain([AggregateFunction::CollectList]);
        let inputs: [(DataType, RandomValues); 3] = [
            (DataType::Int64, random_bigints),
            (DataType::Utf8, random_strings),
            (DataType::Float64, random_doubles),
        ];
        for function in functions {
            for append_only in [false, true] {
                for (input, values) in &inputs {
                    assert_merges_as_one_group(
                        function,
                        Some(input),
                        Some(*values),
                        append_only,
                        Exactness::Bits,
                    );
                }
            }
        }
    }

    #[test]
    fn a_merge_orders_both_groups_by_sequence() {
        let mut list = accumulator(AggregateFunction::CollectList, &DataType::Utf8);
        let values = strings(&[Some("a"), Some("b"), None, Some("c")]);
        update(
            &mut list,
            values,
            &[1, 0, 1, 0],
            &[1, 1, 1, 1],
            &[1, 2, 3, 4],
        )
        .unwrap();
        list.merge(1, 0).unwrap();
        let expected = [Some("a"), Some("b"), None, Some("c")].map(utf8).to_vec();
        assert_eq!(list_result(&list, 1), Some(expected));
        // The merged index finds what came from the other group.
        update(&mut list, strings(&[Some("b")]), &[1], &[-1], &[2]).unwrap();
        let expected = [Some("a"), None, Some("c")].map(utf8).to_vec();
        assert_eq!(list_result(&list, 1), Some(expected));
    }

    #[test]
    fn many_groups_evaluate_at_once() {
        let mut latest = accumulator(
            AggregateFunction::LatestByOffset(ByOffset::ONE),
            &DataType::Int64,
        );
        let mut list = accumulator(AggregateFunction::CollectList, &DataType::Int64);
        let groups: Vec<usize> = (0..900).map(|row| row % 300).collect();
        let sequences: Vec<u64> = (0..900).rev().collect();
        let values = arc(Int64Array::from_iter_values(0..900));
        for accumulator in [&mut latest, &mut list] {
            update(
                accumulator,
                values.clone(),
                &groups,
                &vec![1; 900],
                &sequences,
            )
            .unwrap();
        }
        let all: Vec<usize> = (0..300).collect();
        let expected: Vec<i64> = (0..300).collect();
        assert_eq!(
            latest.evaluate(&all).unwrap().to_data(),
            Int64Array::from(expected).to_data()
        );
        let expected = [600, 300, 0]
            .map(|value| ScalarValue::Int64(Some(value)))
            .to_vec();
        assert_eq!(list_result(&list, 0), Some(expected));
        assert_eq!(list.evaluate(&all).unwrap().len(), 300);
    }
}
