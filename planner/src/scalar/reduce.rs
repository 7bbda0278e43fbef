//! REDUCE(array, initial, (state, x) => ..) and REDUCE(map, initial, (state, k, v) => ..)
//! with ksqlDB's meaning (its Reduce UDF): the lambda folds the array's elements (the MAP's
//! entries), in order, into a state that starts as `initial`; the answer is the last state.
//! A NULL initial state gives NULL, a NULL array or MAP the initial state. Each step's
//! result is cast to the initial state's type, as ksqlDB's state keeps its type.
//!
//! The fold runs a batch at a time: step k evaluates the lambda once over the k-th element
//! of every row whose array is that long, so the lambda runs max-length times per batch.
//!
//! Never: evaluate the lambda for a row whose state must stay as it is (a NULL initial state,
//! a NULL array, or an array already folded).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, MapArray, UInt32Array};
use arrow::compute::{cast, interleave, take, take_arrays};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, HigherOrderFunctionArgs, HigherOrderReturnFieldArgs, HigherOrderSignature,
    HigherOrderUDF, HigherOrderUDFImpl, LambdaArgument, LambdaParametersProgress, ValueOrLambda,
    Volatility,
};

use super::higher_order::MapEntries;

pub(crate) fn reduce() -> Arc<HigherOrderUDF> {
    Arc::new(HigherOrderUDF::new_from_impl(Reduce {
        signature: HigherOrderSignature::exact(
            vec![
                ValueOrLambda::Value(()),
                ValueOrLambda::Value(()),
                ValueOrLambda::Lambda(()),
            ],
            Volatility::Immutable,
        ),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Reduce {
    signature: HigherOrderSignature,
}

impl HigherOrderUDFImpl for Reduce {
    fn name(&self) -> &str {
        "reduce"
    }

    fn signature(&self) -> &HigherOrderSignature {
        &self.signature
    }

    fn coerce_value_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(arg_types.to_vec())
    }

    fn lambda_parameters(
        &self,
        _step: usize,
        fields: &[ValueOrLambda<FieldRef, Option<FieldRef>>],
    ) -> Result<LambdaParametersProgress> {
        let [
            ValueOrLambda::Value(list),
            ValueOrLambda::Value(initial),
            ValueOrLambda::Lambda(_),
        ] = fields
        else {
            return plan_err!("REDUCE takes an ARRAY, an initial state and a lambda");
        };
        let state = Arc::new(Field::new("state", initial.data_type().clone(), true));
        let parameters = match list.data_type() {
            DataType::List(element) => vec![state, Arc::clone(element)],
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(fields) if fields.len() == 2 => {
                    vec![state, Arc::clone(&fields[0]), Arc::clone(&fields[1])]
                }
                other => return plan_err!("a MAP of unexpected entries {other}"),
            },
            other => return plan_err!("REDUCE takes an ARRAY or a MAP, not {other}"),
        };
        Ok(LambdaParametersProgress::Complete(vec![parameters]))
    }

    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        match args.arg_fields {
            [_, ValueOrLambda::Value(initial), _] => {
                Ok(Arc::new(Field::new("", initial.data_type().clone(), true)))
            }
            _ => plan_err!("REDUCE takes an ARRAY or a MAP, an initial state and a lambda"),
        }
    }

    fn invoke_with_args(&self, args: HigherOrderFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [
            ValueOrLambda::Value(list),
            ValueOrLambda::Value(initial),
            ValueOrLambda::Lambda(lambda),
        ] = args.args.as_slice()
        else {
            return exec_err!("REDUCE takes an ARRAY, an initial state and a lambda");
        };
        let state_type = args.return_type().clone();
        let folded = list.to_array(rows)?;
        let states = cast(&initial.to_array(rows)?, &state_type)?;
        let states = match folded.data_type() {
            DataType::Map(_, _) => match folded.as_map_opt() {
                Some(maps) => fold(states, &state_type, lambda, &Parts::of_map(maps)?)?,
                None => return exec_err!("REDUCE got {} for a MAP", folded.data_type()),
            },
            _ => match folded.as_list_opt::<i32>() {
                Some(lists) => fold(states, &state_type, lambda, &Parts::of_list(lists))?,
                None => {
                    return exec_err!("REDUCE takes an ARRAY or a MAP, not {}", folded.data_type());
                }
            },
        };
        Ok(ColumnarValue::Array(states))
    }
}

/// What REDUCE folds, as parallel arrays of parts (an ARRAY's elements; a MAP's keys and
/// values) with each row's first part and number of parts.
struct Parts {
    parts: Vec<ArrayRef>,
    starts: Vec<u32>,
    lengths: Vec<usize>,
}

impl Parts {
    fn of_list(lists: &ListArray) -> Parts {
        let offsets = lists.value_offsets();
        Parts {
            parts: vec![Arc::clone(lists.values())],
            starts: offsets[..lists.len()]
                .iter()
                .map(|&start| start as u32)
                .collect(),
            lengths: (0..lists.len())
                .map(|row| match lists.is_valid(row) {
                    true => lists.value_length(row) as usize,
                    false => 0,
                })
                .collect(),
        }
    }

    fn of_map(maps: &MapArray) -> Result<Parts> {
        let entries = MapEntries::of(maps)?;
        let mut starts = Vec::with_capacity(entries.lengths.len());
        let mut next = 0u32;
        for &length in &entries.lengths {
            starts.push(next);
            next += length as u32;
        }
        Ok(Parts {
            parts: vec![entries.keys, entries.values],
            starts,
            lengths: entries.lengths,
        })
    }
}

/// Folds each row's parts into its state, step k over the k-th part of every row that has
/// one; a NULL state stays NULL.
fn fold(
    mut states: ArrayRef,
    state_type: &DataType,
    lambda: &LambdaArgument,
    parts: &Parts,
) -> Result<ArrayRef> {
    let rows = states.len();
    let lengths: Vec<usize> = (0..rows)
        .map(|row| match states.is_valid(row) {
            true => parts.lengths[row],
            false => 0,
        })
        .collect();
    let steps = lengths.iter().copied().max().unwrap_or(0);
    for step in 0..steps {
        let folding: Vec<u32> = (0..rows)
            .filter(|&row| lengths[row] > step)
            .map(|row| row as u32)
            .collect();
        let folding = UInt32Array::from(folding);
        let positions = UInt32Array::from_iter_values(
            folding
                .values()
                .iter()
                .map(|&row| parts.starts[row as usize] + step as u32),
        );
        let folded_states = take(&states, &folding, None)?;
        let folded_parts = parts
            .parts
            .iter()
            .map(|part| take(part, &positions, None))
            .collect::<Result<Vec<_>, _>>()?;
        let state_param = || Ok(Arc::clone(&folded_states));
        let first_param = || Ok(Arc::clone(&folded_parts[0]));
        let second_param = || match folded_parts.get(1) {
            Some(part) => Ok(Arc::clone(part)),
            None => exec_err!("REDUCE of an ARRAY has no third lambda parameter"),
        };
        let params: Vec<&dyn Fn() -> Result<ArrayRef>> =
            vec![&state_param, &first_param, &second_param];
        let next = lambda
            .evaluate(&params[..=parts.parts.len()], |captured| {
                Ok(take_arrays(captured, &folding, None)?)
            })?
            .into_array(folding.len())?;
        let next = cast(&next, state_type)?;
        states = replace_rows(&states, &folding, &next)?;
    }
    Ok(states)
}

/// `states` with the rows `replaced` (ascending) taken from `next`, in that order.
fn replace_rows(states: &ArrayRef, replaced: &UInt32Array, next: &ArrayRef) -> Result<ArrayRef> {
    let mut replacements = replaced.values().iter().enumerate().peekable();
    let picks: Vec<(usize, usize)> = (0..states.len())
        .map(|row| match replacements.peek() {
            Some(&(position, &replaced_row)) if replaced_row as usize == row => {
                replacements.next();
                (1, position)
            }
            _ => (0, row),
        })
        .collect();
    Ok(interleave(&[states.as_ref(), next.as_ref()], &picks)?)
}
