use arrow::array::{Decimal128Array, Float32Array, Float64Array, Int32Array, Int64Array};
use datafusion::scalar::ScalarValue;

use super::super::test_support::*;
use super::super::{Accumulator, AggregateError, AggregateFunction};
use super::*;

fn int64(value: Option<i64>) -> ScalarValue {
    ScalarValue::Int64(value)
}

fn float64(value: Option<f64>) -> ScalarValue {
    ScalarValue::Float64(value)
}

#[test]
fn count_star_sums_weights_and_counts_zero_once_all_retracted() {
    let mut count = Accumulator::new(AggregateFunction::CountStar, None).unwrap();
    count.update(&[0, 1, 0], None, &[1, 3, 2], &[]).unwrap();
    assert_eq!(
        results(&count, &[0, 1, 2]),
        [int64(Some(3)), int64(Some(3)), int64(Some(0))]
    );
    // Retractions in any order, one of several copies.
    count.update(&[1, 0, 0], None, &[-1, -2, -1], &[]).unwrap();
    assert_eq!(results(&count, &[0, 1]), [int64(Some(0)), int64(Some(2))]);
    assert_round_trips(&count, &[0, 1, 2]);
    let error = count.update(&[0], None, &[-1], &[]).unwrap_err();
    assert!(matches!(error, AggregateError::Invariant { .. }), "{error}");
}

#[test]
fn count_of_a_column_skips_nulls() {
    let mut count = accumulator(AggregateFunction::Count, &DataType::Int32);
    let values = arc(Int32Array::from(vec![Some(1), None, Some(3), None]));
    apply(&mut count, values.clone(), &[0, 0, 1, 1], &[1, 1, 2, 5]);
    assert_eq!(results(&count, &[0, 1]), [int64(Some(1)), int64(Some(2))]);
    apply(&mut count, values, &[0, 0, 1, 1], &[-1, -1, -2, -5]);
    assert_eq!(results(&count, &[0, 1]), [int64(Some(0)), int64(Some(0))]);
}

#[test]
fn a_retraction_may_precede_its_insertion_within_a_batch() {
    let mut count = Accumulator::new(AggregateFunction::CountStar, None).unwrap();
    count.update(&[0, 0], None, &[-1, 1], &[]).unwrap();
    assert_eq!(results(&count, &[0]), [int64(Some(0))]);
    let mut sum = accumulator(AggregateFunction::Sum, &DataType::Float64);
    apply(
        &mut sum,
        arc(Float64Array::from(vec![5.0, 3.0, 5.0])),
        &[0, 0, 0],
        &[-1, 1, 1],
    );
    assert_eq!(results(&sum, &[0]), [float64(Some(3.0))]);
}

#[test]
fn sum_of_integers_retracts_in_any_order() {
    let mut sum = accumulator(AggregateFunction::Sum, &DataType::Int32);
    let values = arc(Int32Array::from(vec![Some(10), Some(-4), None, Some(7)]));
    apply(&mut sum, values, &[0, 0, 1, 0], &[1, 3, 1, 1]);
    assert_eq!(
        results(&sum, &[0, 1, 2]),
        [int64(Some(5)), int64(None), int64(None)]
    );
    apply(
        &mut sum,
        arc(Int32Array::from(vec![7, -4])),
        &[0, 0],
        &[-1, -1],
    );
    assert_eq!(results(&sum, &[0]), [int64(Some(2))]);
    assert_round_trips(&sum, &[0, 1]);
    apply(
        &mut sum,
        arc(Int32Array::from(vec![-4, 10])),
        &[0, 0],
        &[-2, -1],
    );
    assert_eq!(results(&sum, &[0]), [int64(None)]);
    let error = sum
        .update(&[0], Some(&arc(Int32Array::from(vec![1]))), &[-1], &[])
        .unwrap_err();
    assert!(matches!(error, AggregateError::Invariant { .. }), "{error}");
}

#[test]
fn sum_overflow_is_an_error_until_retracted() {
    let mut sum = accumulator(AggregateFunction::Sum, &DataType::Int64);
    apply(
        &mut sum,
        arc(Int64Array::from(vec![i64::MAX, 1])),
        &[0, 0],
        &[1, 1],
    );
    let error = sum.evaluate(&[0]).unwrap_err();
    assert_eq!(error.to_string(), "SUM overflows BIGINT");
    apply(&mut sum, arc(Int64Array::from(vec![1])), &[0], &[-1]);
    assert_eq!(results(&sum, &[0]), [int64(Some(i64::MAX))]);
    apply(&mut sum, arc(Int64Array::from(vec![i64::MIN])), &[1], &[2]);
    assert!(sum.evaluate(&[1]).is_err());
}

#[test]
fn avg_of_integers_is_a_double() {
    let mut avg = accumulator(AggregateFunction::Avg, &DataType::Int64);
    apply(
        &mut avg,
        arc(Int64Array::from(vec![Some(1), Some(2), None])),
        &[0, 0, 0],
        &[1, 3, 1],
    );
    assert_eq!(
        results(&avg, &[0, 1]),
        [float64(Some(7.0 / 4.0)), float64(None)]
    );
    assert_round_trips(&avg, &[0]);
    apply(
        &mut avg,
        arc(Int64Array::from(vec![2, 1])),
        &[0, 0],
        &[-3, -1],
    );
    assert_eq!(results(&avg, &[0]), [float64(None)]);
}

#[test]
fn float_sums_survive_retracting_large_and_non_finite_values() {
    let mut sum = accumulator(AggregateFunction::Sum, &DataType::Float64);
    let values = arc(Float64Array::from(vec![
        1e20,
        1.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ]));
    apply(&mut sum, values, &[0, 0, 1, 1, 1], &[1, 1, 1, 1, 1]);
    assert!(matches!(results(&sum, &[1])[0], ScalarValue::Float64(Some(value)) if value.is_nan()));
    assert_round_trips(&sum, &[0]);
    apply(
        &mut sum,
        arc(Float64Array::from(vec![1e20, f64::NAN, f64::NEG_INFINITY])),
        &[0, 1, 1],
        &[-1, -1, -1],
    );
    assert_eq!(
        results(&sum, &[0, 1]),
        [float64(Some(1.0)), float64(Some(f64::INFINITY))]
    );
    apply(
        &mut sum,
        arc(Float64Array::from(vec![1.0, f64::INFINITY])),
        &[0, 1],
        &[-1, -1],
    );
    assert_eq!(results(&sum, &[0, 1]), [float64(None), float64(None)]);
    apply(&mut sum, arc(Float64Array::from(vec![0.25])), &[0], &[1]);
    assert_eq!(results(&sum, &[0]), [float64(Some(0.25))]);
}

#[test]
fn sum_and_avg_of_floats_are_doubles() {
    let mut sum = accumulator(AggregateFunction::Sum, &DataType::Float32);
    let mut avg = accumulator(AggregateFunction::Avg, &DataType::Float32);
    let values = arc(Float32Array::from(vec![Some(1.5), None, Some(2.5)]));
    for accumulator in [&mut sum, &mut avg] {
        apply(accumulator, values.clone(), &[0, 0, 0], &[2, 1, 1]);
        assert_round_trips(accumulator, &[0]);
    }
    assert_eq!(results(&sum, &[0]), [float64(Some(5.5))]);
    assert_eq!(results(&avg, &[0]), [float64(Some(5.5 / 3.0))]);
}

fn decimals(values: Vec<Option<i128>>, precision: u8, scale: i8) -> ArrayRef {
    arc(Decimal128Array::from(values)
        .with_precision_and_scale(precision, scale)
        .unwrap())
}

#[test]
fn sum_and_avg_of_decimals() {
    let input = DataType::Decimal128(10, 2);
    let mut sum = accumulator(AggregateFunction::Sum, &input);
    let mut avg = accumulator(AggregateFunction::Avg, &input);
    let values = decimals(vec![Some(1050), None, Some(-25)], 10, 2);
    for accumulator in [&mut sum, &mut avg] {
        apply(accumulator, values.clone(), &[0, 0, 0], &[1, 1, 2]);
        assert_round_trips(accumulator, &[0, 1]);
    }
    assert_eq!(sum.output_type(), &DataType::Decimal128(20, 2));
    assert_eq!(
        results(&sum, &[0, 1]),
        [
            ScalarValue::Decimal128(Some(1000), 20, 2),
            ScalarValue::Decimal128(None, 20, 2)
        ]
    );
    assert_eq!(results(&avg, &[0]), [float64(Some(10.0 / 3.0))]);
    let retraction = decimals(vec![Some(-25), Some(1050)], 10, 2);
    for accumulator in [&mut sum, &mut avg] {
        apply(accumulator, retraction.clone(), &[0, 0], &[-2, -1]);
    }
    assert_eq!(results(&sum, &[0]), [ScalarValue::Decimal128(None, 20, 2)]);
    assert_eq!(results(&avg, &[0]), [float64(None)]);
}

#[test]
fn decimal_sum_overflow_names_the_type() {
    let input = DataType::Decimal128(38, 0);
    let mut sum = accumulator(AggregateFunction::Sum, &input);
    let largest = 10i128.pow(38) - 1;
    apply(&mut sum, decimals(vec![Some(largest)], 38, 0), &[0], &[3]);
    assert_eq!(
        sum.evaluate(&[0]).unwrap_err().to_string(),
        "SUM overflows DECIMAL(38, 0)"
    );
    apply(&mut sum, decimals(vec![Some(largest)], 38, 0), &[0], &[-2]);
    assert_eq!(
        results(&sum, &[0]),
        [ScalarValue::Decimal128(Some(largest), 38, 0)]
    );
}

#[test]
fn many_groups_evaluate_at_once_and_clear_frees_one() {
    let mut sum = accumulator(AggregateFunction::Sum, &DataType::Int64);
    let groups: Vec<usize> = (0..1000).map(|row| row % 250).collect();
    let values = arc(Int64Array::from_iter_values(0..1000));
    apply(&mut sum, values, &groups, &vec![1; 1000]);
    let all: Vec<usize> = (0..250).collect();
    let array = sum.evaluate(&all).unwrap();
    let sums = array.as_primitive::<arrow::datatypes::Int64Type>();
    for group in 0..250 {
        let expected: i64 = (0..4).map(|copy| (group + copy * 250) as i64).sum();
        assert_eq!(sums.value(group), expected);
    }
}

#[test]
fn merged_counts_sums_and_averages_equal_one_group_of_every_row() {
    for append_only in [false, true] {
        assert_merges_as_one_group(
            AggregateFunction::CountStar,
            None,
            None,
            append_only,
            Exactness::Bits,
        );
        let inputs: [(DataType, RandomValues); 4] = [
            (DataType::Int64, random_bigints),
            (DataType::Int32, random_ints),
            (DataType::Float64, random_doubles),
            (DataType::Decimal128(10, 2), random_decimals),
        ];
        for (input, values) in inputs {
            for function in [
                AggregateFunction::Count,
                AggregateFunction::Sum,
                AggregateFunction::Avg,
            ] {
                assert_merges_as_one_group(
                    function,
                    Some(&input),
                    Some(values),
                    append_only,
                    Exactness::Bits,
                );
            }
        }
        assert_merges_as_one_group(
            AggregateFunction::Count,
            Some(&DataType::Utf8),
            Some(random_strings),
            append_only,
            Exactness::Bits,
        );
    }
}

#[test]
fn a_merge_overflows_where_update_does() {
    // Totals are i128: one group holding i64::MAX copies of i64::MAX takes no more of them.
    let largest = arc(Int64Array::from(vec![i64::MAX]));
    let mut one_group = accumulator(AggregateFunction::Sum, &DataType::Int64);
    one_group
        .update(&[0], Some(&largest), &[i64::MAX], &[])
        .unwrap();
    let update_error = one_group
        .update(&[0], Some(&largest), &[i64::MAX], &[])
        .unwrap_err();
    let mut two_groups = accumulator(AggregateFunction::Sum, &DataType::Int64);
    let twice = arc(Int64Array::from(vec![i64::MAX, i64::MAX]));
    two_groups
        .update(&[0, 1], Some(&twice), &[i64::MAX, i64::MAX], &[])
        .unwrap();
    let merge_error = two_groups.merge(0, 1).unwrap_err();
    assert!(matches!(merge_error, AggregateError::Overflow { .. }));
    assert_eq!(merge_error.to_string(), update_error.to_string());

    // A total past the result's type is an error when evaluated, and retractable.
    let mut sum = accumulator(AggregateFunction::Sum, &DataType::Int64);
    apply(
        &mut sum,
        arc(Int64Array::from(vec![i64::MAX, 1])),
        &[0, 1],
        &[1, 1],
    );
    sum.merge(0, 1).unwrap();
    assert_eq!(
        sum.evaluate(&[0]).unwrap_err().to_string(),
        "SUM overflows BIGINT"
    );
    apply(&mut sum, arc(Int64Array::from(vec![1])), &[0], &[-1]);
    assert_eq!(results(&sum, &[0]), [int64(Some(i64::MAX))]);

    let input = DataType::Decimal128(38, 0);
    let mut decimal_sum = accumulator(AggregateFunction::Sum, &input);
    let largest = 10i128.pow(38) - 1;
    apply(
        &mut decimal_sum,
        decimals(vec![Some(largest), Some(largest)], 38, 0),
        &[0, 1],
        &[1, 1],
    );
    decimal_sum.merge(1, 0).unwrap();
    assert_eq!(
        decimal_sum.evaluate(&[1]).unwrap_err().to_string(),
        "SUM overflows DECIMAL(38, 0)"
    );

    let mut count = Accumulator::new(AggregateFunction::CountStar, None).unwrap();
    let update_error = count
        .update(&[2, 2], None, &[i64::MAX, 1], &[])
        .unwrap_err();
    count.update(&[0, 1], None, &[i64::MAX, 1], &[]).unwrap();
    let merge_error = count.merge(0, 1).unwrap_err();
    assert_eq!(merge_error.to_string(), update_error.to_string());

    let mut float_count = accumulator(AggregateFunction::Avg, &DataType::Float64);
    let ones = arc(Float64Array::from(vec![1.0, 1.0]));
    float_count
        .update(&[0, 1], Some(&ones), &[i64::MAX, 1], &[])
        .unwrap();
    assert!(matches!(
        float_count.merge(1, 0),
        Err(AggregateError::Overflow { .. })
    ));
}

#[test]
fn a_merged_float_sum_keeps_both_compensations() {
    // 1e20 + 1.0 rounds to 1e20; the 1.0 lives on in the compensation of whichever side has it.
    for (into, from) in [(0, 1), (1, 0)] {
        let mut sum = accumulator(AggregateFunction::Sum, &DataType::Float64);
        apply(
            &mut sum,
            arc(Float64Array::from(vec![1e20, 1.0, -1e20])),
            &[0, 0, 1],
            &[1, 1, 1],
        );
        sum.merge(into, from).unwrap();
        assert_eq!(results(&sum, &[into]), [float64(Some(1.0))], "into {into}");
    }
}
