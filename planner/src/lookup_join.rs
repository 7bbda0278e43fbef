//! Stream-table joins (ksqlDB's, and Flink's lookup joins): each stream row is joined with
//! the table's row of the key its join expression gives, as the table stands when the row is
//! processed. Lowered from DataFusion's `Join` node to a [`LookupJoinPlan`], a step of a
//! stateless chain, so that steps before it (over the stream) and after it (WHERE, the
//! SELECT list, a GROUP BY) compose as they do without a join.
//!
//! ksqlDB's rules and messages: the stream is on the left, the join is INNER or LEFT, and ON
//! equates a stream expression with each of the table's PRIMARY KEY columns. Other ON terms
//! decide the match too: for INNER they filter, for LEFT an unmatched row is NULL-padded.
//! The result is keyed by the join key; [`viable_key_columns`] says which columns may carry
//! it, as ksqlDB's join tree does.
//!
//! Never: accept a join the executor cannot run as point reads of a table (two streams, two
//! tables, a table's rows that change what the stream already joined), or a key expression
//! whose value is not compared exactly as ON compares it.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{BinaryExpr, Expr, Join, JoinType, LogicalPlan, Operator};
use datafusion::physical_expr::PhysicalExpr;

use crate::catalog::{Catalog, SourceDef, SourceKind};
use crate::error::{PlanError, PlanResult};
use crate::sql::compile;

/// Which stream rows a lookup join keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupJoinKind {
    /// Rows whose key the table holds (and that meet the rest of ON).
    Inner,
    /// Every row with a non-NULL key; without a match, the table's columns are NULL.
    Left,
}

/// A stream joined with a table's current rows by the table's primary key.
#[derive(Debug, Clone)]
pub struct LookupJoinPlan {
    /// The table read by key.
    pub table: SourceDef,
    pub kind: LookupJoinKind,
    /// Per key column of the table, in key order: the stream expression ON equates with it,
    /// compiled against the stream's rows (the join's left input).
    pub keys: Vec<Arc<dyn PhysicalExpr>>,
    /// The type of each key column: a key value is cast to it (NULL where it cannot be, so
    /// it matches nothing) before it is looked up.
    pub key_types: Vec<DataType>,
    /// The rest of ON, compiled against the joined rows: a row matches only if it is true.
    pub condition: Option<Arc<dyn PhysicalExpr>>,
    /// The table's rows as read: its queryable schema.
    pub table_schema: SchemaRef,
    /// The joined rows: the stream's columns, then the table's.
    pub schema: SchemaRef,
    /// Per key column of the table, in key order: the two sides of its ON equality.
    pub key_columns: Vec<JoinKeyColumn>,
}

/// The two sides of the ON equality that reads one key column of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinKeyColumn {
    /// The stream expression, over the join's left input.
    pub stream_side: Expr,
    /// The table's key column, as the joined rows name it.
    pub table_column: Expr,
}

/// Lowers a join whose left input reads `left_source` (a catalog stream).
pub(crate) fn lower_join(
    join: &Join,
    left_source: &SourceDef,
    catalog: &Catalog,
) -> PlanResult<LookupJoinPlan> {
    let right_name = scanned_source(&join.right).ok_or_else(|| {
        PlanError::unsupported(
            "a join with a subquery in a push or persistent query (join a stream with a table by name)",
        )
    })?;
    let right = catalog.source_required(&right_name)?;
    let order = format!(
        "{} {} {}",
        left_source.name,
        join_words(join.join_type),
        right.name
    );
    match (left_source.kind, right.kind) {
        (SourceKind::Stream, SourceKind::Table) => {}
        (SourceKind::Table, SourceKind::Stream) => {
            return Err(PlanError::UnsupportedJoin {
                message: format!(
                    "Invalid join order: table-stream joins are not supported; only stream-table joins. Got {order}."
                ),
            });
        }
        (SourceKind::Stream, SourceKind::Stream) => {
            return Err(PlanError::unsupported(
                "a join of two streams (WITHIN) in a push or persistent query",
            ));
        }
        (SourceKind::Table, SourceKind::Table) => {
            return Err(PlanError::unsupported(
                "a join of two tables in a push or persistent query",
            ));
        }
    }
    let kind = match join.join_type {
        JoinType::Inner => LookupJoinKind::Inner,
        JoinType::Left => LookupJoinKind::Left,
        JoinType::Full => {
            return Err(PlanError::UnsupportedJoin {
                message: format!(
                    "Invalid join type: full-outer join not supported for stream-table join. Got {order}."
                ),
            });
        }
        JoinType::Right => {
            return Err(PlanError::UnsupportedJoin {
                message: format!(
                    "Invalid join type encountered: {}",
                    join_words(JoinType::Right)
                ),
            });
        }
        other => {
            return Err(PlanError::Unsupported {
                feature: format!("a {other} join in a push or persistent query"),
            });
        }
    };
    if right.window.is_some() {
        return Err(PlanError::unsupported(
            "a stream joined with a windowed table in a push or persistent query",
        ));
    }
    let left_schema = join.left.schema();
    let right_schema = join.right.schema();
    let conjuncts = on_conjuncts(join);
    let key_indices = right.key_indices();
    let mut keys: Vec<Option<Expr>> = vec![None; key_indices.len()];
    let mut residual = Vec::new();
    let mut first_equality = None;
    for conjunct in conjuncts {
        let Some((stream_side, table_side)) = equality_sides(&conjunct, left_schema, right_schema)
        else {
            residual.push(conjunct);
            continue;
        };
        first_equality.get_or_insert_with(|| conjunct.clone());
        let pinned = key_column_of(table_side).and_then(|(column, exact)| {
            let position = key_indices
                .iter()
                .position(|&index| right.columns[index].name == column.name)?;
            Some((position, exact))
        });
        match pinned {
            Some((position, exact)) if keys[position].is_none() => {
                keys[position] = Some(stream_side.clone());
                // ON compares a cast of the key: the cast-back lookup finds the row, and the
                // comparison as written decides.
                if !exact {
                    residual.push(conjunct);
                }
            }
            _ => residual.push(conjunct),
        }
    }
    let Some(keys) = keys.into_iter().collect::<Option<Vec<Expr>>>() else {
        return Err(match first_equality {
            Some(equality) => PlanError::UnsupportedJoin {
                message: format!(
                    "Invalid join condition: stream-table joins require to join on the table's primary key. Got {}.",
                    equality.human_display()
                ),
            },
            None => PlanError::unsupported(
                "a stream-table join without an equality of a stream expression and the table's PRIMARY KEY in ON",
            ),
        });
    };
    let key_types: Vec<DataType> = key_indices
        .iter()
        .map(|&index| right.columns[index].data_type.clone())
        .collect();
    let key_columns = keys
        .iter()
        .zip(&key_indices)
        .map(|(stream_side, &index)| {
            let (qualifier, field) = right_schema
                .iter()
                .find(|(_, field)| *field.name() == right.columns[index].name)
                .ok_or_else(|| PlanError::Internal {
                    message: format!("the scan of table \"{}\" lacks its key column", right.name),
                })?;
            Ok(JoinKeyColumn {
                stream_side: stream_side.clone(),
                table_column: Expr::Column(Column::from((qualifier, field.as_ref()))),
            })
        })
        .collect::<PlanResult<Vec<_>>>()?;
    let compiled_keys = keys
        .iter()
        .map(|key| compile(key, left_schema))
        .collect::<PlanResult<Vec<_>>>()?;
    let condition = match conjunction(residual) {
        Some(condition) => Some(compile(&condition, &join.schema)?),
        None => None,
    };
    Ok(LookupJoinPlan {
        table: right.clone(),
        kind,
        keys: compiled_keys,
        key_types,
        condition,
        table_schema: Arc::new(right_schema.as_arrow().clone()),
        schema: Arc::new(join.schema.as_arrow().clone()),
        key_columns,
    })
}

/// What is known of one key column of a chain of joins' result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyEquivalence {
    /// The expressions equal to it: ksqlDB's join equivalence set.
    pub equal: Vec<Expr>,
    /// The columns among them that may carry it into the result, in order of preference.
    pub viable: Vec<Expr>,
}

/// Per key column of the last of a chain of joins (in FROM order), what may key the
/// result, as ksqlDB's join tree decides: the columns of an earlier join's key when this
/// join's stream side is equal to it, then the stream side when it is a column, then the
/// table's key column. ON always names the table's key column, so a stream-table join never
/// needs ksqlDB's synthetic `ROWKEY`. A LEFT join's table column is NULL on a row without a
/// match; carrying the key, it takes the key's value there, as in ksqlDB.
pub(crate) fn viable_key_columns(joins: &[&LookupJoinPlan]) -> Vec<KeyEquivalence> {
    let mut keys: Vec<KeyEquivalence> = Vec::new();
    for join in joins {
        keys = join
            .key_columns
            .iter()
            .map(|key| {
                let earlier = keys
                    .iter()
                    .find(|earlier| earlier.equal.contains(&key.stream_side));
                let mut equal = vec![key.stream_side.clone(), key.table_column.clone()];
                let mut viable = Vec::new();
                if let Some(earlier) = earlier {
                    equal.extend(earlier.equal.iter().cloned());
                    viable.extend(earlier.viable.iter().cloned());
                }
                for side in [&key.stream_side, &key.table_column] {
                    if matches!(side, Expr::Column(_)) && !viable.contains(side) {
                        viable.push(side.clone());
                    }
                }
                KeyEquivalence { equal, viable }
            })
            .collect();
    }
    keys
}

/// ON's terms: DataFusion's equi-join pairs as equalities, then the rest.
pub(crate) fn on_conjuncts(join: &Join) -> Vec<Expr> {
    join.on
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
        .collect()
}

/// ksqlDB's words for a join's type in its messages.
pub(crate) fn join_words(join_type: JoinType) -> &'static str {
    match join_type {
        JoinType::Inner => "[INNER] JOIN",
        JoinType::Left => "LEFT [OUTER] JOIN",
        JoinType::Right => "RIGHT [OUTER] JOIN",
        JoinType::Full => "[FULL] OUTER JOIN",
        _ => "JOIN",
    }
}

/// The catalog source a join input scans, through aliases; None for anything else.
pub(crate) fn scanned_source(plan: &LogicalPlan) -> Option<String> {
    match plan {
        LogicalPlan::TableScan(scan) if scan.filters.is_empty() && scan.projection.is_none() => {
            Some(scan.table_name.table().to_string())
        }
        LogicalPlan::SubqueryAlias(alias) => scanned_source(&alias.input),
        _ => None,
    }
}

/// `stream expression = table expression` (either way round), or None.
pub(crate) fn equality_sides<'a>(
    conjunct: &'a Expr,
    left_schema: &DFSchema,
    right_schema: &DFSchema,
) -> Option<(&'a Expr, &'a Expr)> {
    let Expr::BinaryExpr(BinaryExpr {
        left,
        op: Operator::Eq,
        right,
    }) = conjunct
    else {
        return None;
    };
    let only_in = |expr: &Expr, schema: &DFSchema| {
        let columns = expr.column_refs();
        !columns.is_empty() && columns.iter().all(|column| schema.has_column(column))
    };
    if only_in(left, left_schema) && only_in(right, right_schema) {
        Some((left, right))
    } else if only_in(right, left_schema) && only_in(left, right_schema) {
        Some((right, left))
    } else {
        None
    }
}

/// The table column an ON side names, bare (exact) or under casts DataFusion's type
/// coercion added (not exact: the comparison happens in another type).
pub(crate) fn key_column_of(expr: &Expr) -> Option<(&Column, bool)> {
    match expr {
        Expr::Column(column) => Some((column, true)),
        Expr::Cast(cast) => key_column_of(&cast.expr).map(|(column, _)| (column, false)),
        Expr::TryCast(cast) => key_column_of(&cast.expr).map(|(column, _)| (column, false)),
        _ => None,
    }
}
