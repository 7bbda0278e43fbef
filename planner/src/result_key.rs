//! The key and column order of a persistent query's result, under ksqlDB's rules. A stream is
//! keyed by its PARTITION BY expressions, else by its input's key; a table by its GROUP BY
//! expressions, else by its input table's PRIMARY KEY. Each key column is selected exactly
//! once and comes first, in key order, then the value columns in SELECT order; at least one
//! value column remains.
//!
//! PARTITION BY is read against the input, as ksqlDB applies it before the SELECT list: each
//! expression is planned as a hidden item of the SELECT list, and the item that computes the
//! same expression becomes the key column, under its own name. Under `*`, an expression no
//! item computes becomes a new key column, named as ksqlDB names it.
//!
//! Never: drop a key column, let one be selected twice, or reorder a pull or push query's
//! columns (those keep the SELECT list's order).

use datafusion::logical_expr::{Aggregate, Expr as LogicalExpr, LogicalPlan, Projection};
use eddy_parser::sqlparser::ast::{Expr, Ident, Query, SelectItem, SetExpr, Value};

use crate::catalog::{PSEUDO_COLUMNS, SourceDef};
use crate::error::{PlanError, PlanResult};
use crate::names::fold;
use crate::projection::{expand_wildcards_keys_last, generated_key_name};
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

/// A stream's PARTITION BY, read before planning.
#[derive(Debug)]
pub(crate) struct PartitionBy {
    /// The expressions as written; empty for `PARTITION BY NULL` (a result without key).
    exprs: Vec<Expr>,
    /// Whether the SELECT list has `*`, which takes in every new key column.
    star: bool,
    qualifier: Ident,
}

impl PartitionBy {
    /// Checks a PARTITION BY and rewrites `query` to plan it: `*` lists the input's value
    /// columns, then its old key columns; each expression becomes a hidden last item.
    pub(crate) fn prepare(
        exprs: &[Expr],
        query: &mut Query,
        qualifier: Ident,
        input: &SourceDef,
    ) -> PlanResult<PartitionBy> {
        if exprs.is_empty() {
            return Err(PlanError::invalid(
                "PARTITION BY requires at least one expression",
            ));
        }
        let is_null =
            |expr: &Expr| matches!(expr, Expr::Value(value) if value.value == Value::Null);
        if exprs.iter().any(is_null) {
            if exprs.len() > 1 {
                return Err(PlanError::invalid(
                    "Cannot PARTITION BY multiple columns including NULL",
                ));
            }
            let star = expand_wildcards_keys_last(query, &qualifier, input);
            return Ok(PartitionBy {
                exprs: Vec::new(),
                star,
                qualifier,
            });
        }
        for expr in exprs {
            check_resolves(expr, query, input)?;
        }
        let star = expand_wildcards_keys_last(query, &qualifier, input);
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
            qualifier,
        })
    }
}

/// A PARTITION BY column must be a column of the input: ksqlDB applies PARTITION BY before
/// the SELECT list, so an alias from there does not resolve.
fn check_resolves(expr: &Expr, query: &Query, input: &SourceDef) -> PlanResult<()> {
    let Expr::Identifier(ident) = expr else {
        return Ok(());
    };
    let name = fold(ident);
    if input.column_index(&name).is_some() || PSEUDO_COLUMNS.contains(&name.as_str()) {
        return Ok(());
    }
    let is_alias = match query.body.as_ref() {
        SetExpr::Select(select) => select.projection.iter().any(
            |item| matches!(item, SelectItem::ExprWithAlias { alias, .. } if fold(alias) == name),
        ),
        _ => false,
    };
    let mut context = format!(" in {} \"{}\"", input.kind.noun(), input.name);
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
                let name = generated_key_name(written, input, &partition_by.qualifier, &taken);
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

/// The layout of a stream-table join's result: keyed by the stream's join expression, as
/// ksqlDB keys it, which the SELECT list must pass through; `candidates` lists, per key
/// column, the expressions that hold the key (for an INNER join, the table's key column too).
/// A key no column holds would be ksqlDB's synthetic `ROWKEY`, which Eddy does not make yet.
pub(crate) fn join_stream_layout(
    plan: &LogicalPlan,
    candidates: &[Vec<LogicalExpr>],
    key_text: &str,
    sink: &str,
) -> PlanResult<ResultLayout> {
    let projection = select_list(plan)?;
    let names = output_names(projection);
    let mut keys = Vec::with_capacity(candidates.len());
    let mut missing = Vec::new();
    for options in candidates {
        let Some(first) = options.first() else {
            return Err(PlanError::unsupported(format!(
                "a LEFT JOIN on an expression ({key_text}) into a stream, whose key would be ksqlDB's synthetic ROWKEY; join on a stream column, or INNER JOIN and select the table's key"
            )));
        };
        let found = options.iter().find_map(|candidate| {
            let positions = positions_computing(&projection.expr, candidate);
            (!positions.is_empty()).then_some((candidate, positions))
        });
        match found {
            Some((_, positions)) if positions.len() == 1 => {
                keys.push((positions[0], names[positions[0]].clone()))
            }
            Some((candidate, several)) => {
                return Err(key_selected_twice(&candidate.to_string(), &names, &several));
            }
            None => missing.push(first.to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(keys_missing(sink, "join expression", &missing));
    }
    layout(keys, projection.expr.len(), &names)
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
            grammatical_and(&aliases)
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
            grammatical_and(&listed),
            listed.join(", ")
        ),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn grammatical_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [only] => (*only).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
