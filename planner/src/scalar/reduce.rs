//! REDUCE(array, initial, (state, x) => ..) with ksqlDB's meaning (its Reduce UDF): the
//! lambda folds the array's elements, in order, into a state that starts as `initial`; the
//! answer is the last state. A NULL initial state gives NULL, a NULL array the initial state.
//! Each step's result is cast to the initial state's type, as ksqlDB's state keeps its type.
//!
//! The fold runs a batch at a time: step k evaluates the lambda once over the k-th element
//! of every row whose array is that long, so the lambda runs max-length times per batch.
//!
//! Never: evaluate the lambda for a row whose state must stay as it is (a NULL initial state,
//! a NULL array, or an array already folded).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, UInt32Array};
use arrow::compute::{cast, interleave, take, take_arrays};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, HigherOrderFunctionArgs, HigherOrderReturnFieldArgs, HigherOrderSignature,
    HigherOrderUDF, HigherOrderUDFImpl, LambdaParametersProgress, ValueOrLambda, Volatility,
};

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
        let DataType::List(element) = list.data_type() else {
            return plan_err!("REDUCE takes an ARRAY, not {}", list.data_type());
        };
        let state = Arc::new(Field::new("state", initial.data_type().clone(), true));
        Ok(LambdaParametersProgress::Complete(vec![vec![
            state,
            Arc::clone(element),
        ]]))
    }

    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        match args.arg_fields {
            [_, ValueOrLambda::Value(initial), _] => {
                Ok(Arc::new(Field::new("", initial.data_type().clone(), true)))
            }
            _ => plan_err!("REDUCE takes an ARRAY, an initial state and a lambda"),
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
        let lists = list.to_array(rows)?;
        let Some(lists) = lists.as_list_opt::<i32>() else {
            return exec_err!("REDUCE takes an ARRAY, not {}", lists.data_type());
        };
        let mut states = cast(&initial.to_array(rows)?, &state_type)?;
        // How many elements each row folds: none for a NULL array or a NULL initial state.
        let lengths: Vec<usize> = (0..rows)
            .map(|row| match lists.is_valid(row) && states.is_valid(row) {
                true => lists.value_length(row) as usize,
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
            let elements = UInt32Array::from_iter_values(
                folding
                    .values()
                    .iter()
                    .map(|&row| lists.value_offsets()[row as usize] as u32 + step as u32),
            );
            let folded_states = take(&states, &folding, None)?;
            let folded_elements = take(lists.values(), &elements, None)?;
            let state_param = || Ok(Arc::clone(&folded_states));
            let element_param = || Ok(Arc::clone(&folded_elements));
            let next = lambda
                .evaluate(&[&state_param, &element_param], |captured| {
                    Ok(take_arrays(captured, &folding, None)?)
                })?
                .into_array(folding.len())?;
            let next = cast(&next, &state_type)?;
            states = replace_rows(&states, &folding, &next)?;
        }
        Ok(ColumnarValue::Array(states))
    }
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
