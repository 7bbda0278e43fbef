//! Joins of two tables (ksqlDB's table-table joins): both inputs change, and a change on
//! either side retracts and re-emits exactly the joined rows it affects, by the Z-set rule
//! Δ(A⋈B) = ΔA⋈B + A⋈ΔB + ΔA⋈ΔB. Lowered from DataFusion's `Join` node to a [`JoinPlan`]: a
//! step of the left input's chain that brings its right input with it ([`JoinInput`]), so
//! that the dataflow is a graph of two inputs meeting at the join.
//!
//! ON equates the right table's PRIMARY KEY with left expressions: with the left table's
//! PRIMARY KEY too, a primary-key join (INNER, LEFT, RIGHT, FULL), keyed by the join key;
//! with other left columns, a foreign-key join (INNER, LEFT), keyed by the left table's
//! PRIMARY KEY, as in ksqlDB. Beyond ksqlDB, ON may equate several columns and add other
//! terms; those decide a match as they do in SQL.
//!
//! Never: accept a join whose result key could repeat or be NULL (a many-to-many join, a
//! RIGHT or FULL foreign-key join), a windowed table, or more than two tables, which the
//! executor's join does not key yet.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::common::{Column, DFSchema};
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{
    BinaryExpr, Cast, Expr, ExprSchemable, Join, JoinType, LogicalPlan, Operator,
};
use datafusion::physical_expr::PhysicalExpr;

use crate::catalog::{Catalog, SourceDef};
use crate::dataflow::Step;
use crate::error::{PlanError, PlanResult};
use crate::lookup_join::{equality_sides, join_words, key_column_of, scanned_source};
use crate::sql::compile;

/// Which rows of two tables a join keeps besides the matched pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableJoinKind {
    Inner,
    /// Also each left row without a match, with NULL right columns.
    Left,
    /// Also each right row without a match, with NULL left columns.
    Right,
    /// Both of the above.
    Full,
}

impl TableJoinKind {
    /// Whether a left row without a match is kept, NULL-padded.
    pub fn keeps_unmatched_left(self) -> bool {
        matches!(self, TableJoinKind::Left | TableJoinKind::Full)
    }

    /// Whether a right row without a match is kept, NULL-padded.
    pub fn keeps_unmatched_right(self) -> bool {
        matches!(self, TableJoinKind::Right | TableJoinKind::Full)
    }
}

/// The second input of a join: a catalog source and the steps over its rows.
#[derive(Debug, Clone)]
pub struct JoinInput {
    pub source: String,
    pub steps: Vec<Step>,
}

/// Two tables joined incrementally.
#[derive(Debug, Clone)]
pub struct JoinPlan {
    pub kind: TableJoinKind,
    /// Per equality of ON, its left side, compiled against the left rows and cast to the
    /// type both sides are compared in.
    pub left_keys: Vec<Arc<dyn PhysicalExpr>>,
    /// Per equality of ON, its right side, compiled against the right rows, of the same type
    /// as the left side.
    pub right_keys: Vec<Arc<dyn PhysicalExpr>>,
    /// The rest of ON, compiled against the joined rows: a pair matches only if it is true.
    pub condition: Option<Arc<dyn PhysicalExpr>>,
    /// The rows of the left input, as the chain before the join gives them.
    pub left_schema: SchemaRef,
    /// The rows of the right input, as its steps give them.
    pub right_schema: SchemaRef,
    /// The joined rows: the left columns, then the right ones.
    pub schema: SchemaRef,
    /// The columns of a left row that name it among the left table's rows (its PRIMARY KEY):
    /// a retraction takes out the row of the same key.
    pub left_identity: Vec<usize>,
    /// The same for the right rows.
    pub right_identity: Vec<usize>,
    pub right: JoinInput,
    /// Per key column of the result, in key order: the columns that may carry it.
    pub result_key: Vec<ResultKeyColumn>,
}

/// One key column of a table join's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultKeyColumn {
    /// Columns of the joined rows equal to the key on every row where they are not NULL, in
    /// order of preference; the SELECT list must pass one through.
    pub candidates: Vec<Expr>,
    /// The key's value over the joined rows, where a candidate can be NULL on a row kept
    /// without a match (an outer join's padded side); None: every candidate holds it.
    pub value: Option<Expr>,
}

/// Lowers a join of the table `left_source` (its rows as the left input gives them) with a
/// right input that scans a table.
pub(crate) fn lower_table_join(
    join: &Join,
    left_source: &SourceDef,
    left_chain_joins: bool,
    right_steps: Vec<Step>,
    right_source: &SourceDef,
) -> PlanResult<JoinPlan> {
    let order = format!(
        "{} {} {}",
        left_source.name,
        join_words(join.join_type),
        right_source.name
    );
    if left_chain_joins {
        return Err(PlanError::unsupported(format!(
            "a join of a third table (\"{}\") with a join of two tables in a push or persistent query",
            right_source.name
        )));
    }
    if left_source.window.is_some() || right_source.window.is_some() {
        return Err(PlanError::UnsupportedJoin {
            message: format!(
                "Invalid join: a table-table join of a windowed table is not supported. Got {order}."
            ),
        });
    }
    let kind = match join.join_type {
        JoinType::Inner => TableJoinKind::Inner,
        JoinType::Left => TableJoinKind::Left,
        JoinType::Right => TableJoinKind::Right,
        JoinType::Full => TableJoinKind::Full,
        other => {
            return Err(PlanError::Unsupported {
                feature: format!("a {other} join in a push or persistent query"),
            });
        }
    };
    let left_schema = join.left.schema();
    let right_schema = join.right.schema();
    let conjuncts: Vec<Expr> = join
        .on
        .iter()
        .map(|(left, right)| {
            Expr::BinaryExpr(BinaryExpr::new(
                Box::new(left.clone()),
                Operator::Eq,
                Box::new(right.clone()),
            ))
        })
        .chain(
            join.filter
                .iter()
                .flat_map(|filter| split_conjunction(filter).into_iter().cloned()),
        )
        .collect();
    let mut equalities: Vec<(Expr, Expr)> = Vec::new();
    let mut residual = Vec::new();
    for conjunct in conjuncts {
        match equality_sides(&conjunct, left_schema, right_schema) {
            Some((left, right)) => equalities.push((left.clone(), right.clone())),
            None => residual.push(conjunct),
        }
    }
    if equalities.is_empty() {
        return Err(PlanError::UnsupportedJoin {
            message: format!(
                "Invalid join condition: a table-table join needs an equality of a column of each table in ON. Got {order}."
            ),
        });
    }
    let left_key_exprs: Vec<Expr> = key_columns_in(left_source, left_schema)?
        .into_iter()
        .map(Expr::Column)
        .collect();
    let right_keys = key_columns_in(right_source, right_schema)?;
    // Per key column of the right table, the left expression ON equates it with.
    let right_pinned_by: Option<Vec<Expr>> = right_keys
        .iter()
        .map(|key| {
            equalities
                .iter()
                .find_map(|(left, right)| match key_column_of(right) {
                    Some((column, true)) if column.name == key.name => Some(left.clone()),
                    _ => None,
                })
        })
        .collect();
    // Each key column of the left table equals one of the right's: a primary-key join.
    let primary_key_join = right_pinned_by.as_ref().is_some_and(|by_left| {
        by_left.len() == left_key_exprs.len()
            && left_key_exprs.iter().all(|key| by_left.contains(key))
    });
    let result_key = match &right_pinned_by {
        Some(by_left) if primary_key_join => right_keys
            .iter()
            .zip(by_left)
            .map(|(right_key, left_key)| {
                primary_key_column(kind, left_key, &Expr::Column(right_key.clone()))
            })
            .collect(),
        Some(_) => {
            if kind.keeps_unmatched_right() {
                return Err(PlanError::UnsupportedJoin {
                    message: format!(
                        "Invalid join type: {} is not supported for foreign-key table-table joins; only [INNER] JOIN and LEFT [OUTER] JOIN. Got {order}.",
                        join_words(join.join_type)
                    ),
                });
            }
            left_key_exprs
                .iter()
                .map(|left_key| ResultKeyColumn {
                    candidates: vec![left_key.clone()],
                    value: None,
                })
                .collect()
        }
        None => {
            let written: Vec<String> = equalities
                .iter()
                .map(|(left, right)| {
                    format!("{} = {}", left.human_display(), right.human_display())
                })
                .collect();
            return Err(PlanError::UnsupportedJoin {
                message: format!(
                    "Invalid join condition: table-table joins require to join on the primary key of the right source, either primary-key to primary-key or foreign-key to primary-key. Got {}.",
                    written.join(" AND ")
                ),
            });
        }
    };
    let mut compiled_left = Vec::with_capacity(equalities.len());
    let mut compiled_right = Vec::with_capacity(equalities.len());
    for (left, right) in &equalities {
        let left_type = left.get_type(left_schema)?;
        let right_type = right.get_type(right_schema)?;
        let common = comparison_coercion(&left_type, &right_type).ok_or_else(|| {
            PlanError::TypeMismatch {
                message: format!(
                    "a join cannot compare {} with {}",
                    crate::types::type_name(&left_type),
                    crate::types::type_name(&right_type)
                ),
            }
        })?;
        let as_common = |expr: &Expr, own_type| match own_type == &common {
            true => expr.clone(),
            false => Expr::Cast(Cast::new(Box::new(expr.clone()), common.clone())),
        };
        compiled_left.push(compile(&as_common(left, &left_type), left_schema)?);
        compiled_right.push(compile(&as_common(right, &right_type), right_schema)?);
    }
    let condition = match conjunction(residual) {
        Some(condition) => Some(compile(&condition, &join.schema)?),
        None => None,
    };
    Ok(JoinPlan {
        kind,
        left_keys: compiled_left,
        right_keys: compiled_right,
        condition,
        left_schema: Arc::new(left_schema.as_arrow().clone()),
        right_schema: Arc::new(right_schema.as_arrow().clone()),
        schema: Arc::new(join.schema.as_arrow().clone()),
        left_identity: positions_of(&left_key_exprs, left_schema)?,
        right_identity: positions_of(
            &right_keys.into_iter().map(Expr::Column).collect::<Vec<_>>(),
            right_schema,
        )?,
        right: JoinInput {
            source: right_source.name.clone(),
            steps: right_steps,
        },
        result_key,
    })
}

/// Whether a join of `left` with the right input `right_plan` is one of two tables.
pub(crate) fn joins_two_tables(
    left: &SourceDef,
    right_plan: &LogicalPlan,
    catalog: &Catalog,
) -> bool {
    left.is_table()
        && scanned_source(right_plan)
            .and_then(|name| catalog.source_required(&name).ok())
            .is_some_and(SourceDef::is_table)
}

/// A key column of a primary-key join's result: the join key, which either table's key
/// column carries where that table has a row.
fn primary_key_column(kind: TableJoinKind, left_key: &Expr, right_key: &Expr) -> ResultKeyColumn {
    let candidates = match kind {
        TableJoinKind::Right => vec![right_key.clone(), left_key.clone()],
        _ => vec![left_key.clone(), right_key.clone()],
    };
    let value = match kind {
        TableJoinKind::Inner => None,
        _ => Some(coalesce(vec![left_key.clone(), right_key.clone()])),
    };
    ResultKeyColumn { candidates, value }
}

/// The PRIMARY KEY columns of `source` as `schema` (its rows, as a join input) names them.
fn key_columns_in(source: &SourceDef, schema: &DFSchema) -> PlanResult<Vec<Column>> {
    source
        .columns
        .iter()
        .filter(|column| column.key)
        .map(|key| {
            schema
                .iter()
                .find(|(_, field)| *field.name() == key.name)
                .map(|(qualifier, field)| Column::from((qualifier, field.as_ref())))
                .ok_or_else(|| {
                    PlanError::unsupported(format!(
                        "a join input that drops the PRIMARY KEY column \"{}\" of table \"{}\"",
                        key.name, source.name
                    ))
                })
        })
        .collect()
}

/// The positions of the columns `columns` in `schema`.
fn positions_of(columns: &[Expr], schema: &DFSchema) -> PlanResult<Vec<usize>> {
    columns
        .iter()
        .map(|column| {
            let Expr::Column(column) = column else {
                return Err(PlanError::Internal {
                    message: format!("a join input's key is not a column: {column}"),
                });
            };
            schema
                .index_of_column(column)
                .map_err(|error| PlanError::Internal {
                    message: format!("a join input's key column is not in its rows: {error}"),
                })
        })
        .collect()
}
