//! The key and column order of a persistent query's result, under ksqlDB's rules. A stream is
//! keyed by its PARTITION BY expressions, else by its input's key (a stream-table join's: its
//! join key, carried by a column ksqlDB deems viable); a table by its GROUP BY
//! expressions, else by its input table's PRIMARY KEY. Each key column is selected exactly
//! once and comes first, in key order, then the value columns in SELECT order; at least one
//! value column remains.
//!
//! PARTITION BY is read against the input (a join's too), as ksqlDB applies it before the
//! SELECT list: each expression is planned as a hidden item of the SELECT list, and the item
//! that computes the same expression becomes the key column, under its own name. Under `*`,
//! an expression no item computes becomes a new key column, named as ksqlDB names it.
//!
//! Never: drop a key column, let one be selected twice, or reorder a pull or push query's
//! columns (those keep the SELECT list's order).

use std::sync::Arc;

use datafusion::logical_expr::{Aggregate, Expr as LogicalExpr, LogicalPlan, Projection, TryCast};
use datafusion::physical_expr::PhysicalExpr;
use eddy_parser::sqlparser::ast::{Expr, Ident, Query, SelectItem, SetExpr, Value};

use crate::catalog::{PSEUDO_COLUMNS, SourceDef};
use crate::error::{PlanError, PlanResult};
use crate::lookup_join::{LookupJoinKind, LookupJoinPlan, viable_key_columns};
use crate::names::fold;
use crate::projection::{expand_wildcards_keys_last, generated_key_name};
use crate::sql::compile;
use crate::step::JoinPlan;
use crate::window::{WINDOW_END, WINDOW_START};

/// The alias of the hidden SELECT item that computes the n-th PARTITION BY expression.
const HIDDEN_PREFIX: &str = "__eddy_partition_by_";

/// A persistent query's result columns: positions in the planned SELECT list with their
/// names, key columns first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResultLayout {
    pub columns: Vec<(usize, String)>,
    pub key_count: usize,
}

/// Output columns that compute a key's value, by position in the SELECT list, rather than
/// what their item selects.
pub(crate) type KeyValues = Vec<(usize, Arc<dyn PhysicalExpr>)>;

/// A stream's PARTITION BY, read before planning.
#[derive(Debug)]
pub(crate) struct PartitionBy {
    /// The expressions as written; empty for `PARTITION BY NULL` (a result without key).
    exprs: Vec<Expr>,
    /// Whether the SELECT list has `*`, which takes in every new key column.
    star: bool,
    /// The sources the query reads, as it refers to them: one, or those a join reads.
    relations: Vec<(Ident, SourceDef)>,
}

impl PartitionBy {
    /// Checks a PARTITION BY and rewrites `query` to plan it: over one source, `*` lists its
    /// value columns, then its old key columns (a join's `*` keeps ksqlDB's join order); each
    /// expression becomes a hidden last item.
    pub(crate) fn prepare(
        exprs: &[Expr],
        query: &mut Query,
        relations: Vec<(Ident, SourceDef)>,
    ) -> PlanResult<PartitionBy> {
        if exprs.is_empty() {
            return Err(PlanError::invalid(
                "PARTITION BY requires at least one expression",
            ));
        }
        let is_null =
            |expr: &Expr| matches!(expr, Expr::Value(value) if value.value == Value::Null);
        let partitioned_by_null = exprs.iter().any(is_null);
        if partitioned_by_null && exprs.len() > 1 {
            return Err(PlanError::invalid(
                "Cannot PARTITION BY multiple columns including NULL",
            ));
        }
        if !partitioned_by_null {
            for expr in exprs {
                check_resolves(expr, query, &relations)?;
            }
        }
        let star = match relations.as_slice() {
            [(qualifier, input)] => expand_wildcards_keys_last(query, qualifier, input),
            _ => has_wildcard(query),
        };
        if partitioned_by_null {
            return Ok(PartitionBy {
                exprs: Vec::new(),
                star,
                relations,
            });
        }
        if let SetExpr::Select(select) = query.body.as_mut() {
            for (index, expr) in exprs.iter().enumerate() {
                select.projection.push(SelectItem::ExprWithAlias {
                    expr: expr.clone(),
                    alias: Ident::with_quote('"', format!("{HIDDEN_PREFIX}{index}")),
                });
            }
        }
        Ok(PartitionBy {
            exprs: exprs.to_vec(),
            star,
            relations,
        })
    }
}

/// Whether the SELECT list has a plain `*`.
fn has_wildcard(query: &Query) -> bool {
    match query.body.as_ref() {
        SetExpr::Select(select) => select
            .projection
            .iter()
            .any(|item| matches!(item, SelectItem::Wildcard(_))),
        _ => false,
    }
}

/// A PARTITION BY column must be a column of the input: ksqlDB applies PARTITION BY before
/// the SELECT list, so an alias from there does not resolve.
fn check_resolves(expr: &Expr, query: &Query, relations: &[(Ident, SourceDef)]) -> PlanResult<()> {
    let Expr::Identifier(ident) = expr else {
        return Ok(());
    };
    let name = fold(ident);
    let in_input = relations
        .iter()
        .any(|(_, source)| source.column_index(&name).is_some());
    if in_input || PSEUDO_COLUMNS.contains(&name.as_str()) {
        return Ok(());
    }
    let is_alias = match query.body.as_ref() {
        SetExpr::Select(select) => select.projection.iter().any(
            |item| matches!(item, SelectItem::ExprWithAlias { alias, .. } if fold(alias) == name),
        ),
        _ => false,
    };
    let sources: Vec<String> = relations
        .iter()
        .map(|(_, source)| format!("{} \"{}\"", source.kind.noun(), source.name))
        .collect();
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    let mut context = format!(" in {}", grammatical(&sources, "or"));
    if is_alias {
        context.push_str(&format!(
            ": PARTITION BY is applied on the input, before the SELECT list names \"{name}\""
        ));
    }
    Err(PlanError::UnknownColumn {
        column: name,
        context,
    })
}

/// The layout of a stream's result: keyed by its PARTITION BY, else by the input's key
/// columns the SELECT list passes through.
pub(crate) fn stream_layout(
    plan: &LogicalPlan,
    partition_by: Option<&PartitionBy>,
    input: &SourceDef,
    sink: &str,
) -> PlanResult<ResultLayout> {
    let projection = select_list(plan)?;
    let Some(partition_by) = partition_by else {
        return input_key_layout(projection, input, sink);
    };
    let hidden = partition_by.exprs.len();
    let visible = projection
        .expr
        .len()
        .checked_sub(hidden)
        .ok_or_else(|| PlanError::Internal {
            message: "the SELECT list lost its PARTITION BY items".into(),
        })?;
    let names = output_names(projection);
    let mut keys: Vec<(usize, String)> = Vec::with_capacity(hidden);
    let mut missing: Vec<String> = Vec::new();
    for (index, written) in partition_by.exprs.iter().enumerate() {
        let hidden_position = visible + index;
        let target = unaliased(&projection.expr[hidden_position]);
        let computing = positions_computing(&projection.expr[..visible], target);
        match computing.as_slice() {
            [position] => keys.push((*position, names[*position].clone())),
            [] if partition_by.star => {
                let taken: Vec<&str> = names[..visible]
                    .iter()
                    .chain(keys.iter().map(|(_, name)| name))
                    .map(String::as_str)
                    .collect();
                let name = generated_key_name(written, &partition_by.relations, &taken);
                keys.push((hidden_position, name));
            }
            [] => missing.push(written.to_string()),
            several => return Err(key_selected_twice(&written.to_string(), &names, several)),
        }
    }
    if !missing.is_empty() {
        return Err(keys_missing(sink, "partitioning expression", &missing));
    }
    layout(keys, visible, &names)
}

/// The layout of a stream-table join's result, keyed as ksqlDB keys it: per key column of
/// the last join, by the first of its viable columns ([`viable_key_columns`]) the SELECT
/// list passes through. Also the items that must compute the key's value rather than the
/// column they select: a LEFT join's table key column, NULL where the row found no match.
pub(crate) fn join_stream_layout(
    plan: &LogicalPlan,
    joins: &[&LookupJoinPlan],
    sink: &str,
) -> PlanResult<(ResultLayout, KeyValues)> {
    let projection = select_list(plan)?;
    let last = joins.last().ok_or_else(|| PlanError::Internal {
        message: "a join's result layout without a join".into(),
    })?;
    let padded: Vec<&LogicalExpr> = joins
        .iter()
        .filter(|join| join.kind == LookupJoinKind::Left)
        .flat_map(|join| join.key_columns.iter().map(|key| &key.table_column))
        .collect();
    let names = output_names(projection);
    let mut keys = Vec::new();
    let mut key_values = Vec::new();
    let mut missing = Vec::new();
    for (key, join_key) in viable_key_columns(joins).iter().zip(&last.key_columns) {
        let found = key.viable.iter().find_map(|candidate| {
            let positions = positions_computing(&projection.expr, candidate);
            (!positions.is_empty()).then_some((candidate, positions))
        });
        match found {
            Some((candidate, positions)) if positions.len() == 1 => {
                let position = positions[0];
                keys.push((position, names[position].clone()));
                if padded.contains(&candidate) {
                    let item_type = projection.schema.field(position).data_type().clone();
                    let value = LogicalExpr::TryCast(TryCast::new(
                        Box::new(join_key.stream_side.clone()),
                        item_type,
                    ));
                    key_values.push((position, compile(&value, projection.input.schema())?));
                }
            }
            Some((candidate, several)) => {
                return Err(key_selected_twice(&candidate.to_string(), &names, &several));
            }
            None => missing.push(key.viable.iter().map(ToString::to_string).collect()),
        }
    }
    if !missing.is_empty() {
        return Err(join_keys_missing(sink, &missing));
    }
    Ok((layout(keys, projection.expr.len(), &names)?, key_values))
}

/// The layout of a join of two tables' or two streams' result, keyed as ksqlDB keys it: per key column, by
/// the first of its candidate columns ([`ResultKeyColumn`]) the SELECT list passes through.
/// Also the items that must compute the key's value rather than the column they select: a
/// candidate of an outer join's padded side is NULL where its table has no row.
pub(crate) fn join_result_layout(
    plan: &LogicalPlan,
    join: &JoinPlan,
    sink: &str,
) -> PlanResult<(ResultLayout, KeyValues)> {
    let projection = select_list(plan)?;
    let names = output_names(projection);
    let mut keys = Vec::new();
    let mut key_values = Vec::new();
    let mut missing = Vec::new();
    for key in &join.result_key {
        // The key's value itself (ksqlDB's ROWKEY of a FULL join) carries it as well as a
        // candidate column does.
        let found = key
            .candidates
            .iter()
            .chain(&key.value)
            .find_map(|candidate| {
                let positions = positions_computing(&projection.expr, candidate);
                (!positions.is_empty()).then_some((candidate, positions))
            });
        match found {
            Some((_, positions)) if positions.len() == 1 => {
                let position = positions[0];
                keys.push((position, names[position].clone()));
                if let Some(value) = &key.value {
                    let item_type = projection.schema.field(position).data_type().clone();
                    let value =
                        LogicalExpr::TryCast(TryCast::new(Box::new(value.clone()), item_type));
                    key_values.push((position, compile(&value, projection.input.schema())?));
                }
            }
            Some((candidate, several)) => {
                return Err(key_selected_twice(&candidate.to_string(), &names, &several));
            }
            None => missing.push(key.candidates.iter().map(ToString::to_string).collect()),
        }
    }
    if !missing.is_empty() {
        return Err(join_keys_missing(sink, &missing));
    }
    Ok((layout(keys, projection.expr.len(), &names)?, key_values))
}

/// The layout of a table's result: keyed by its GROUP BY, else by the input table's PRIMARY
/// KEY, which the SELECT list must pass through. A windowed aggregation's key goes on with
/// the window's bounds, the items named `windowstart` and `windowend` (`window::prepare`
/// makes sure the SELECT list has them).
pub(crate) fn table_layout(
    plan: &LogicalPlan,
    input: &SourceDef,
    sink: &str,
    windowed: bool,
) -> PlanResult<ResultLayout> {
    let projection = select_list(plan)?;
    let Some(aggregate) = aggregate_under(&projection.input) else {
        return input_key_layout(projection, input, sink);
    };
    if aggregate.group_expr.is_empty() {
        return Err(PlanError::unsupported(
            "an aggregation without GROUP BY in a persistent query (a table needs a key)",
        ));
    }
    if aggregate.aggr_expr.is_empty() {
        return Err(PlanError::Grouping {
            message: "GROUP BY requires aggregate functions in either the SELECT or HAVING clause."
                .into(),
        });
    }
    let names = output_names(projection);
    let mut keys = Vec::with_capacity(aggregate.group_expr.len());
    let mut missing = Vec::new();
    for (group, expr) in aggregate.group_expr.iter().enumerate() {
        let group_column = LogicalExpr::Column(aggregate.schema.qualified_field(group).into());
        let written = match expr {
            LogicalExpr::Column(column) => column.name.clone(),
            other => other.to_string(),
        };
        match positions_computing(&projection.expr, &group_column).as_slice() {
            [position] => keys.push((*position, names[*position].clone())),
            [] => missing.push(written),
            several => return Err(key_selected_twice(&written, &names, several)),
        }
    }
    if !missing.is_empty() {
        return Err(keys_missing(sink, "grouping expression", &missing));
    }
    if windowed {
        for bound in [WINDOW_START, WINDOW_END] {
            let position =
                names
                    .iter()
                    .position(|name| name == bound)
                    .ok_or_else(|| PlanError::Internal {
                        message: format!("a windowed aggregation's SELECT list lacks {bound}"),
                    })?;
            keys.push((position, bound.to_string()));
        }
    }
    layout(keys, projection.expr.len(), &names)
}

/// Keyed by the input's key columns, which the SELECT list must pass through, each once.
fn input_key_layout(
    projection: &Projection,
    input: &SourceDef,
    sink: &str,
) -> PlanResult<ResultLayout> {
    let names = output_names(projection);
    let mut keys = Vec::new();
    let mut missing = Vec::new();
    for key in input.columns.iter().filter(|column| column.key) {
        let selecting: Vec<usize> = projection
            .expr
            .iter()
            .enumerate()
            .filter(|(_, expr)| {
                matches!(unaliased(expr), LogicalExpr::Column(column) if column.name == key.name)
            })
            .map(|(position, _)| position)
            .collect();
        match selecting.as_slice() {
            [position] => keys.push((*position, names[*position].clone())),
            [] => missing.push(key.name.clone()),
            several => return Err(key_selected_twice(&key.name, &names, several)),
        }
    }
    if !missing.is_empty() {
        return Err(keys_missing(sink, "key column", &missing));
    }
    layout(keys, projection.expr.len(), &names)
}

/// Key columns first, then every other visible column in SELECT order.
fn layout(
    keys: Vec<(usize, String)>,
    visible: usize,
    names: &[String],
) -> PlanResult<ResultLayout> {
    let key_count = keys.len();
    let mut columns = keys;
    for (position, name) in names.iter().enumerate().take(visible) {
        if !columns.iter().any(|(key, _)| *key == position) {
            columns.push((position, name.clone()));
        }
    }
    if columns.len() == key_count {
        return Err(PlanError::InvalidDefinition {
            message: "The projection contains no value columns.".into(),
        });
    }
    Ok(ResultLayout { columns, key_count })
}

/// The SELECT list of a planned persistent query.
fn select_list(plan: &LogicalPlan) -> PlanResult<&Projection> {
    match plan {
        LogicalPlan::Projection(projection) => Ok(projection),
        LogicalPlan::SubqueryAlias(alias) => select_list(&alias.input),
        other => Err(PlanError::Internal {
            message: format!(
                "a persistent query's plan does not end in its SELECT list: {}",
                other.display()
            ),
        }),
    }
}

/// The aggregation the SELECT list reads, through HAVING.
fn aggregate_under(plan: &LogicalPlan) -> Option<&Aggregate> {
    match plan {
        LogicalPlan::Aggregate(aggregate) => Some(aggregate),
        LogicalPlan::Filter(filter) => aggregate_under(&filter.input),
        _ => None,
    }
}

fn output_names(projection: &Projection) -> Vec<String> {
    projection
        .schema
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect()
}

/// The positions of the items that compute `target`, whatever their alias.
fn positions_computing(items: &[LogicalExpr], target: &LogicalExpr) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| unaliased(item) == target)
        .map(|(position, _)| position)
        .collect()
}

/// An item's expression, without its alias.
fn unaliased(item: &LogicalExpr) -> &LogicalExpr {
    match item {
        LogicalExpr::Alias(alias) => &alias.expr,
        other => other,
    }
}

/// ksqlDB's message for a key column selected under several names.
fn key_selected_twice(key: &str, names: &[String], positions: &[usize]) -> PlanError {
    let mut aliases: Vec<&str> = positions
        .iter()
        .map(|position| names[*position].as_str())
        .collect();
    aliases.sort_unstable();
    PlanError::InvalidDefinition {
        message: format!(
            "The projection contains a key column (`{}`) more than once, aliased as: {}. Each key column must only be in the projection once. If you intended to copy the key into the value, then consider using the AS_VALUE function to indicate which key reference should be copied.",
            key,
            grammatical(&aliases, "and")
        ),
    }
}

/// ksqlDB's message for key expressions the SELECT list lacks.
fn keys_missing(sink: &str, kind: &str, missing: &[String]) -> PlanError {
    let several = missing.len() > 1;
    let listed: Vec<&str> = missing.iter().map(String::as_str).collect();
    PlanError::InvalidDefinition {
        message: format!(
            "Key{} missing from projection (ie, SELECT). The query used to build `{sink}` must include the {kind}{} {} in its projection (eg, SELECT {}...).",
            if several { "s" } else { "" },
            if several { "s" } else { "" },
            grammatical(&listed, "and"),
            listed.join(", ")
        ),
    }
}

/// ksqlDB's message for a join's result whose SELECT list passes no column of its key
/// through: per key column, the columns that may carry it.
fn join_keys_missing(sink: &str, missing: &[Vec<String>]) -> PlanError {
    let expressions: usize = missing.iter().map(Vec::len).sum();
    let alternatives: Vec<String> = missing
        .iter()
        .map(|viable| {
            let viable: Vec<&str> = viable.iter().map(String::as_str).collect();
            grammatical(&viable, "or")
        })
        .collect();
    let alternatives: Vec<&str> = alternatives.iter().map(String::as_str).collect();
    let examples: Vec<&str> = missing
        .iter()
        .filter_map(|viable| viable.first().map(String::as_str))
        .collect();
    PlanError::InvalidDefinition {
        message: format!(
            "Key{} missing from projection (ie, SELECT). The query used to build `{sink}` must include the join expression{} {} in its projection (eg, SELECT {}...).",
            if missing.len() > 1 { "s" } else { "" },
            if expressions > 1 { "s" } else { "" },
            grammatical(&alternatives, "and"),
            examples.join(", ")
        ),
    }
}

/// `a`, `a and b`, `a, b and c` (or `or`).
fn grammatical(items: &[&str], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [only] => (*only).to_string(),
        [rest @ .., last] => format!("{} {conjunction} {last}", rest.join(", ")),
    }
}
