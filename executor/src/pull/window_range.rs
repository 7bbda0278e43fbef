//! Range reads of a windowed table. The row codec orders a windowed table's keys by group
//! key, then window start (`row_codec/key.rs`: each column's bytes sort as its values and no
//! column's bytes run into the next's), so the windows of one group key that start within
//! bounds are one contiguous range of the state store: a pull query that pins the group key
//! and bounds WINDOWSTART (`>=`, `<`, `BETWEEN`, `=` ..) reads that range. A bound on
//! WINDOWEND cannot narrow the range (a session's end is not its start plus a size), so it
//! filters the windows read; with no bound at all, every window of the key is read.
//!
//! Never: read a group key the filters do not pin, or answer a window the bounds exclude.

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::error::{DataFusionError, Result as DataFusionResult};
use datafusion::logical_expr::{Expr, Operator};
use datafusion::scalar::ScalarValue;
use eddy_planner::{WINDOW_END, WINDOW_START};

/// A range of a table's encoded keys, `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    pub from: Vec<u8>,
    pub to: Vec<u8>,
}

/// Which window column a filter bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WindowColumn {
    Start,
    End,
}

/// Inclusive bounds on a window column's epoch milliseconds, in i128 so that the bounds
/// `v - 1` and `v + 1` of `< v` and `> v` never overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bounds {
    low: i128,
    high: i128,
}

impl Bounds {
    const ALL: Bounds = Bounds {
        low: i64::MIN as i128,
        high: i64::MAX as i128,
    };
    const NONE: Bounds = Bounds { low: 1, high: 0 };

    /// The values `column <op> value` allows (`op` has the column on its left).
    fn of(op: Operator, value: i64) -> Bounds {
        let value = i128::from(value);
        match op {
            Operator::Eq => Bounds {
                low: value,
                high: value,
            },
            Operator::Lt => Bounds {
                high: value - 1,
                ..Bounds::ALL
            },
            Operator::LtEq => Bounds {
                high: value,
                ..Bounds::ALL
            },
            Operator::Gt => Bounds {
                low: value + 1,
                ..Bounds::ALL
            },
            Operator::GtEq => Bounds {
                low: value,
                ..Bounds::ALL
            },
            _ => Bounds::NONE,
        }
    }

    fn intersect(self, other: Bounds) -> Bounds {
        Bounds {
            low: self.low.max(other.low),
            high: self.high.min(other.high),
        }
    }

    fn is_empty(self) -> bool {
        self.low > self.high
    }

    fn contains(self, value: i64) -> bool {
        (self.low..=self.high).contains(&i128::from(value))
    }
}

/// The windows a pull query's filters allow: bounds on WINDOWSTART and on WINDOWEND.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowBounds {
    start: Bounds,
    end: Bounds,
}

impl WindowBounds {
    /// The bounds that the filters bounding a window column with literals give (others are
    /// not looked at). A NULL bound allows no window, as SQL's comparison with NULL does.
    pub fn of(filters: &[Expr]) -> DataFusionResult<WindowBounds> {
        let mut bounds = WindowBounds {
            start: Bounds::ALL,
            end: Bounds::ALL,
        };
        for filter in filters {
            let Some((column, comparisons)) = window_bound(filter) else {
                continue;
            };
            for (op, value) in comparisons {
                let Expr::Literal(value, _) = value else {
                    continue;
                };
                let allowed = match epoch_millis(value)? {
                    Some(value) => Bounds::of(op, value),
                    None => Bounds::NONE,
                };
                match column {
                    WindowColumn::Start => bounds.start = bounds.start.intersect(allowed),
                    WindowColumn::End => bounds.end = bounds.end.intersect(allowed),
                }
            }
        }
        Ok(bounds)
    }

    /// The ranges of encoded keys that hold the windows of each group key whose start is
    /// within bounds. `encode` encodes key tuples as the table's keys are encoded; a group
    /// key is a tuple of the leading key columns, and with a window start appended, the first
    /// key of its windows that start there.
    pub fn key_ranges(
        &self,
        group_keys: &[Vec<ScalarValue>],
        encode: impl Fn(&[Vec<ScalarValue>]) -> DataFusionResult<Vec<Vec<u8>>>,
    ) -> DataFusionResult<Vec<KeyRange>> {
        if self.start.is_empty() || self.end.is_empty() || group_keys.is_empty() {
            return Ok(Vec::new());
        }
        let with_start = |start: i128| -> Vec<Vec<ScalarValue>> {
            group_keys
                .iter()
                .map(|group_key| {
                    let mut key = group_key.clone();
                    // Bounds stay within i64: `low` and `high + 1` below are clamped to it.
                    key.push(ScalarValue::Int64(Some(start as i64)));
                    key
                })
                .collect()
        };
        let froms = encode(&with_start(self.start.low))?;
        let tos = if self.start.high < i128::from(i64::MAX) {
            encode(&with_start(self.start.high + 1))?
        } else {
            encode(group_keys)?
                .iter()
                .map(|prefix| prefix_end(prefix))
                .collect::<DataFusionResult<_>>()?
        };
        Ok(froms
            .into_iter()
            .zip(tos)
            .map(|(from, to)| KeyRange { from, to })
            .collect())
    }

    /// The rows (with `windowstart` and `windowend` columns) whose window is within bounds.
    pub fn keep(&self, rows: RecordBatch) -> DataFusionResult<RecordBatch> {
        let column = |name: &str| -> DataFusionResult<_> {
            let index = rows.schema().index_of(name)?;
            Ok(rows.column(index).as_primitive::<Int64Type>().clone())
        };
        let (starts, ends) = (column(WINDOW_START)?, column(WINDOW_END)?);
        let kept: BooleanArray = (0..rows.num_rows())
            .map(|row| {
                Some(
                    starts.is_valid(row)
                        && ends.is_valid(row)
                        && self.start.contains(starts.value(row))
                        && self.end.contains(ends.value(row)),
                )
            })
            .collect();
        Ok(filter_record_batch(&rows, &kept)?)
    }
}

/// The filters that bound WINDOWSTART or WINDOWEND with literals or parameters (`$1`): once
/// the parameters are bound, `WindowBounds::of` reads them.
pub fn bound_filters(filters: &[Expr]) -> Vec<Expr> {
    filters
        .iter()
        .filter(|filter| {
            window_bound(filter).is_some_and(|(_, comparisons)| {
                comparisons
                    .iter()
                    .all(|(_, value)| matches!(value, Expr::Literal(..) | Expr::Placeholder(_)))
            })
        })
        .cloned()
        .collect()
}

/// Whether `filter` bounds a window column with literals, so that a read can use it.
pub fn is_literal_bound(filter: &Expr) -> bool {
    window_bound(filter).is_some_and(|(_, comparisons)| {
        comparisons
            .iter()
            .all(|(_, value)| matches!(value, Expr::Literal(..)))
    })
}

/// The window column `filter` compares and each comparison, the column on the left:
/// `windowstart >= v`, `v > windowend` (as `windowend < v`), `windowstart BETWEEN a AND b`.
fn window_bound(filter: &Expr) -> Option<(WindowColumn, Vec<(Operator, &Expr)>)> {
    let bounding = |op: Operator| {
        matches!(
            op,
            Operator::Eq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
        )
    };
    match filter {
        Expr::BinaryExpr(binary) if bounding(binary.op) => {
            match (window_column(&binary.left), window_column(&binary.right)) {
                (Some(column), None) => Some((column, vec![(binary.op, binary.right.as_ref())])),
                (None, Some(column)) => {
                    Some((column, vec![(binary.op.swap()?, binary.left.as_ref())]))
                }
                _ => None,
            }
        }
        Expr::Between(between) if !between.negated => Some((
            window_column(&between.expr)?,
            vec![
                (Operator::GtEq, between.low.as_ref()),
                (Operator::LtEq, between.high.as_ref()),
            ],
        )),
        _ => None,
    }
}

fn window_column(expr: &Expr) -> Option<WindowColumn> {
    match expr {
        Expr::Column(column) if column.name == WINDOW_START => Some(WindowColumn::Start),
        Expr::Column(column) if column.name == WINDOW_END => Some(WindowColumn::End),
        _ => None,
    }
}

/// A bound's epoch milliseconds (None: NULL). A window column is BIGINT, so its bounds are
/// whole numbers (a string bound was read as a timestamp by the planner).
fn epoch_millis(value: &ScalarValue) -> DataFusionResult<Option<i64>> {
    if value.is_null() {
        return Ok(None);
    }
    if !value.data_type().is_integer() {
        return Err(DataFusionError::Plan(format!(
            "a window bound must be a BIGINT of epoch milliseconds or a timestamp string, not {value}"
        )));
    }
    match value.cast_to(&DataType::Int64)? {
        ScalarValue::Int64(millis) => Ok(millis),
        other => Err(DataFusionError::Internal(format!(
            "a cast to BIGINT gave {other:?}"
        ))),
    }
}

/// The least byte string above every string that starts with `prefix`.
fn prefix_end(prefix: &[u8]) -> DataFusionResult<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Ok(end);
        }
    }
    // An encoded key starts with its format version byte, which is never 0xFF.
    Err(DataFusionError::Internal(
        "an encoded key prefix of 0xFF bytes only".into(),
    ))
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::{col, lit};

    use super::*;

    #[test]
    fn bounds_on_both_window_columns_intersect_and_keep_only_windows_within_them() {
        let filters = [
            col(WINDOW_START).gt_eq(lit(10i64)),
            lit(40i64).gt(col(WINDOW_START)),
            col(WINDOW_END).between(lit(20i64), lit(45i64)),
            col("k").eq(lit(1i64)),
        ];
        let bounds = WindowBounds::of(&filters).expect("bounds");
        assert_eq!(bounds.start, Bounds { low: 10, high: 39 });
        assert_eq!(bounds.end, Bounds { low: 20, high: 45 });
        assert_eq!(bound_filters(&filters).len(), 3);
        let null_bound = [col(WINDOW_START).lt(lit(ScalarValue::Int64(None)))];
        assert!(
            WindowBounds::of(&null_bound)
                .expect("bounds")
                .start
                .is_empty()
        );
    }

    #[test]
    fn a_range_ends_at_the_next_start_or_past_every_window_of_its_group_key() {
        let encode = |keys: &[Vec<ScalarValue>]| -> DataFusionResult<Vec<Vec<u8>>> {
            Ok(keys
                .iter()
                .map(|key| {
                    key.iter()
                        .flat_map(|value| match value {
                            ScalarValue::Int64(Some(value)) => value.to_be_bytes().to_vec(),
                            _ => vec![0xFF],
                        })
                        .collect()
                })
                .collect())
        };
        let group_keys = [vec![ScalarValue::Int64(Some(1))]];
        let bounded = WindowBounds::of(&[col(WINDOW_START).lt_eq(lit(29i64))]).expect("bounds");
        let ranges = bounded.key_ranges(&group_keys, encode).expect("ranges");
        let expected_to = [1i64.to_be_bytes(), 30i64.to_be_bytes()].concat();
        assert_eq!(ranges[0].to, expected_to);
        let open = WindowBounds::of(&[col(WINDOW_START).gt(lit(5i64))]).expect("bounds");
        let ranges = open.key_ranges(&group_keys, encode).expect("ranges");
        assert_eq!(
            ranges[0].from,
            [1i64.to_be_bytes(), 6i64.to_be_bytes()].concat()
        );
        assert_eq!(ranges[0].to, [0, 0, 0, 0, 0, 0, 0, 2]);
        let empty = WindowBounds::of(&[col(WINDOW_START).gt(lit(i64::MAX))]).expect("bounds");
        assert!(
            empty
                .key_ranges(&group_keys, encode)
                .expect("ranges")
                .is_empty()
        );
    }
}
