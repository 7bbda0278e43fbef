//! ksqlDB's projection rules, applied to a SELECT's AST before DataFusion plans it: what `*`,
//! `s.*` and `col->*` expand to, the names of items without an alias, and `GROUP BY (a, b)`.
//!
//! Names follow ksqlDB's `ColumnNames`: a column keeps its name; a struct field (`col->f`)
//! takes the field's name, suffixed `_1`, `_2`, .. when a source column or an earlier field
//! item already has it; any other expression is `ksql_col_<n>`, n counting such expressions
//! from 0 and skipping the numbers source columns named `ksql_col_<n>` hold.
//!
//! Never: rename an item the user named, or change what an item computes.

use std::collections::{BTreeSet, HashMap};

use arrow::datatypes::DataType;
use eddy_parser::sqlparser::ast::{
    Expr, GroupByExpr, Ident, ObjectName, ObjectNamePart, Query, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, TableFactor, WildcardAdditionalOptions,
};

use crate::catalog::{Catalog, Column, SourceDef};
use crate::names::{fold, object_name_last};

/// The prefix of generated names for expressions.
const GENERATED_PREFIX: &str = "ksql_col";

/// Applies ksqlDB's projection rules to every SELECT of the query. `top_level` queries also
/// get ksqlDB's names for unnamed expressions (inner ones keep DataFusion's names, which
/// only the outer query sees).
pub(crate) fn rewrite_query(query: &mut Query, catalog: &Catalog, top_level: bool) {
    rewrite_set_expr(&mut query.body, catalog, top_level);
}

fn rewrite_set_expr(body: &mut SetExpr, catalog: &Catalog, top_level: bool) {
    match body {
        SetExpr::Select(select) => {
            let relations: Vec<(Ident, Option<&SourceDef>)> = select
                .from
                .iter()
                .flat_map(|from| {
                    std::iter::once(&from.relation)
                        .chain(from.joins.iter().map(|join| &join.relation))
                })
                .filter_map(|factor| relation_of(factor, catalog))
                .collect();
            let mut projection = Vec::with_capacity(select.projection.len());
            for item in select.projection.drain(..) {
                expand_item(item, &relations, &mut projection);
            }
            if top_level {
                name_unnamed_items(&mut projection, &relations);
            }
            select.projection = projection;
            flatten_grouping(&mut select.group_by);
            for from in &mut select.from {
                rewrite_factor(&mut from.relation, catalog);
                for join in &mut from.joins {
                    rewrite_factor(&mut join.relation, catalog);
                }
            }
        }
        SetExpr::Query(query) => rewrite_query(query, catalog, top_level),
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_set_expr(left, catalog, top_level);
            rewrite_set_expr(right, catalog, false);
        }
        _ => {}
    }
}

/// `GROUP BY (a, b)` groups by `a` and `b`, as ksqlDB reads it; DataFusion would group by
/// one value, the pair.
fn flatten_grouping(group_by: &mut GroupByExpr) {
    let GroupByExpr::Expressions(exprs, _) = group_by else {
        return;
    };
    if let [Expr::Tuple(grouped)] = exprs.as_mut_slice() {
        *exprs = std::mem::take(grouped);
    }
}

/// Gives every SELECT item without an alias ksqlDB's name for it (see the module's doc).
fn name_unnamed_items(projection: &mut [SelectItem], relations: &[(Ident, Option<&SourceDef>)]) {
    let mut names = GeneratedNames::of_sources(relations);
    for item in projection.iter_mut() {
        let SelectItem::UnnamedExpr(expr) = item else {
            continue;
        };
        let name = match expr {
            Expr::Identifier(_) => continue,
            Expr::CompoundIdentifier(parts) => {
                let qualified_column = parts.len() == 2 && is_qualifier(&parts[0], relations);
                if qualified_column {
                    continue;
                }
                match parts.last() {
                    Some(field) => names.next(&fold(field), true),
                    None => continue,
                }
            }
            _ => names.next(GENERATED_PREFIX, false),
        };
        *item = SelectItem::ExprWithAlias {
            expr: expr.clone(),
            alias: Ident::with_quote('"', name),
        };
    }
}

fn is_qualifier(part: &Ident, relations: &[(Ident, Option<&SourceDef>)]) -> bool {
    relations
        .iter()
        .any(|(qualifier, _)| fold(qualifier) == fold(part))
}

/// ksqlDB's generated names: per base name, the numbers already taken by source columns and
/// the next number to try.
struct GeneratedNames {
    taken: HashMap<String, BTreeSet<u64>>,
    next: HashMap<String, u64>,
}

impl GeneratedNames {
    fn of_sources(relations: &[(Ident, Option<&SourceDef>)]) -> Self {
        let mut taken: HashMap<String, BTreeSet<u64>> = HashMap::new();
        for column in relations
            .iter()
            .filter_map(|(_, source)| *source)
            .flat_map(|source| &source.columns)
        {
            let (base, number) = split_number(&column.name);
            taken.entry(base.to_owned()).or_default().insert(number);
        }
        GeneratedNames {
            taken,
            next: HashMap::new(),
        }
    }

    /// The next free name for `name`'s base (its name without a `_<number>` suffix, as
    /// ksqlDB reads it). Number 0 is the bare base when `bare_first`, else `<base>_0`.
    fn next(&mut self, name: &str, bare_first: bool) -> String {
        let (base, _) = split_number(name);
        let next = self.next.entry(base.to_owned()).or_default();
        let taken = self.taken.get(base);
        while taken.is_some_and(|taken| taken.contains(next)) {
            *next += 1;
        }
        let number = *next;
        *next += 1;
        match (number, bare_first) {
            (0, true) => base.to_owned(),
            _ => format!("{base}_{number}"),
        }
    }
}

/// A name's base and number: `col_3` is (`col`, 3), `col` is (`col`, 0).
fn split_number(name: &str) -> (&str, u64) {
    name.rsplit_once('_')
        .filter(|(_, digits)| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|(base, digits)| Some((base, digits.parse().ok()?)))
        .unwrap_or((name, 0))
}

fn rewrite_factor(factor: &mut TableFactor, catalog: &Catalog) {
    if let TableFactor::Derived { subquery, .. } = factor {
        rewrite_query(subquery, catalog, false);
    }
}

/// The qualifier a FROM item is referred to by, and its catalog source if it is one.
pub(crate) fn relation_of<'a>(
    factor: &TableFactor,
    catalog: &'a Catalog,
) -> Option<(Ident, Option<&'a SourceDef>)> {
    match factor {
        TableFactor::Table { name, alias, .. } => {
            let table = object_name_last(name)?;
            let source = catalog.source(&fold(table));
            let qualifier = alias
                .as_ref()
                .map(|alias| alias.name.clone())
                .unwrap_or_else(|| table.clone());
            Some((qualifier, source))
        }
        TableFactor::Derived {
            alias: Some(alias), ..
        } => Some((alias.name.clone(), None)),
        _ => None,
    }
}

/// `*` and `s.*` become the declared columns of catalog sources, so pseudo-columns stay out;
/// in a join, each is named as ksqlDB names it, `<qualifier>_<column>` (`s_id`, `t_name`).
/// `col.*` (ksqlDB's `col->*`) becomes the fields of a struct column. A wildcard with options
/// (EXCLUDE, REPLACE, ...) or over a non-catalog relation is left to DataFusion.
fn expand_item(
    item: SelectItem,
    relations: &[(Ident, Option<&SourceDef>)],
    projection: &mut Vec<SelectItem>,
) {
    match &item {
        SelectItem::Wildcard(options)
            if is_plain(options) && relations.iter().all(|(_, source)| source.is_some()) =>
        {
            for (qualifier, source) in relations {
                if let Some(source) = source {
                    push_columns(qualifier, source, relations.len() > 1, projection);
                }
            }
        }
        SelectItem::QualifiedWildcard(
            SelectItemQualifiedWildcardKind::ObjectName(name),
            options,
        ) if is_plain(options) => {
            let wanted = object_name_last(name).map(fold);
            let matched = relations
                .iter()
                .find(|(qualifier, _)| Some(fold(qualifier)) == wanted);
            match matched {
                Some((qualifier, Some(source))) if name.0.len() == 1 => {
                    push_columns(qualifier, source, relations.len() > 1, projection)
                }
                _ => match struct_fields(name, relations) {
                    Some((path, fields)) => {
                        for field in fields {
                            let mut parts = path.clone();
                            parts.push(Ident::with_quote('"', field));
                            projection
                                .push(SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)));
                        }
                    }
                    None => projection.push(item),
                },
            }
        }
        _ => projection.push(item),
    }
}

/// For `[qualifier.]column[.field..]` naming a struct, the path as identifiers and the
/// struct's field names; None when the name is not a struct column of a catalog source.
fn struct_fields(
    name: &ObjectName,
    relations: &[(Ident, Option<&SourceDef>)],
) -> Option<(Vec<Ident>, Vec<String>)> {
    let parts: Vec<&Ident> = name
        .0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => Some(ident),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let column_in = |source: &SourceDef, part: &Ident| {
        let wanted = fold(part);
        source
            .columns
            .iter()
            .find(|column| column.name == wanted)
            .map(|column| column.data_type.clone())
    };
    // `qualifier.column..` names the source; a bare `column..` the one source that has it.
    let (column_type, rest) = match parts.as_slice() {
        [first, second, ..] if is_qualifier(first, relations) => {
            let source = relations
                .iter()
                .find(|(qualifier, _)| fold(qualifier) == fold(first))
                .and_then(|(_, source)| *source)?;
            (column_in(source, second)?, &parts[2..])
        }
        [first, ..] => {
            let mut types = relations
                .iter()
                .filter_map(|(_, source)| column_in((*source)?, first));
            let column_type = types.next()?;
            if types.next().is_some() {
                return None;
            }
            (column_type, &parts[1..])
        }
        [] => return None,
    };
    let mut data_type = column_type;
    for part in rest {
        let DataType::Struct(fields) = &data_type else {
            return None;
        };
        let wanted = fold(part);
        data_type = fields
            .iter()
            .find(|field| *field.name() == wanted)?
            .data_type()
            .clone();
    }
    let DataType::Struct(fields) = data_type else {
        return None;
    };
    let path = parts.into_iter().cloned().collect();
    Some((
        path,
        fields.iter().map(|field| field.name().clone()).collect(),
    ))
}

fn is_plain(options: &WildcardAdditionalOptions) -> bool {
    options.opt_ilike.is_none()
        && options.opt_exclude.is_none()
        && options.opt_except.is_none()
        && options.opt_replace.is_none()
        && options.opt_rename.is_none()
}

fn push_columns(
    qualifier: &Ident,
    source: &SourceDef,
    joined: bool,
    projection: &mut Vec<SelectItem>,
) {
    if !joined {
        return push_column_items(qualifier, source.columns.iter(), projection);
    }
    for column in &source.columns {
        projection.push(SelectItem::ExprWithAlias {
            expr: Expr::CompoundIdentifier(vec![
                qualifier.clone(),
                Ident::with_quote('"', column.name.clone()),
            ]),
            alias: Ident::with_quote('"', format!("{}_{}", fold(qualifier), column.name)),
        });
    }
}

fn push_column_items<'a>(
    qualifier: &Ident,
    columns: impl Iterator<Item = &'a Column>,
    projection: &mut Vec<SelectItem>,
) {
    for column in columns {
        projection.push(SelectItem::UnnamedExpr(Expr::CompoundIdentifier(vec![
            qualifier.clone(),
            Ident::with_quote('"', column.name.clone()),
        ])));
    }
}

/// For a persistent query that keys its result anew (PARTITION BY): `*` and `s.*` over its
/// one input list the input's value columns, then its key columns, as ksqlDB's repartition
/// moves the old key into the value. Returns whether the SELECT list had such a wildcard.
pub(crate) fn expand_wildcards_keys_last(
    query: &mut Query,
    qualifier: &Ident,
    source: &SourceDef,
) -> bool {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return false;
    };
    let mut expanded = false;
    let mut projection = Vec::with_capacity(select.projection.len());
    for item in select.projection.drain(..) {
        let names_input = match &item {
            SelectItem::Wildcard(options) => is_plain(options),
            SelectItem::QualifiedWildcard(
                SelectItemQualifiedWildcardKind::ObjectName(name),
                options,
            ) => {
                is_plain(options)
                    && name.0.len() == 1
                    && object_name_last(name).map(fold) == Some(fold(qualifier))
            }
            _ => false,
        };
        if !names_input {
            projection.push(item);
            continue;
        }
        expanded = true;
        let (keys, values): (Vec<&Column>, Vec<&Column>) =
            source.columns.iter().partition(|column| column.key);
        push_column_items(qualifier, values.into_iter().chain(keys), &mut projection);
    }
    select.projection = projection;
    expanded
}

/// The one catalog source a query's SELECT reads, and the qualifier it is referred to by.
pub(crate) fn single_input<'a>(
    query: &Query,
    catalog: &'a Catalog,
) -> Option<(Ident, &'a SourceDef)> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    match select.from.as_slice() {
        [from] if from.joins.is_empty() => match relation_of(&from.relation, catalog)? {
            (qualifier, Some(source)) => Some((qualifier, source)),
            _ => None,
        },
        _ => None,
    }
}

/// The catalog sources a SELECT's FROM reads, with the qualifiers it refers to them by, in
/// FROM order; None when it reads anything else (a subquery).
pub(crate) fn input_relations(query: &Query, catalog: &Catalog) -> Option<Vec<(Ident, SourceDef)>> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let [from] = select.from.as_slice() else {
        return None;
    };
    std::iter::once(&from.relation)
        .chain(from.joins.iter().map(|join| &join.relation))
        .map(|factor| match relation_of(factor, catalog)? {
            (qualifier, Some(source)) => Some((qualifier, source.clone())),
            _ => None,
        })
        .collect()
}

/// The catalog source a SELECT's FROM starts with, when it joins others to it, also when
/// the join is inside the one subquery the SELECT reads (an aggregation over a join's).
pub(crate) fn join_input<'a>(query: &Query, catalog: &'a Catalog) -> Option<&'a SourceDef> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    match select.from.as_slice() {
        [from] if !from.joins.is_empty() => first_source(&from.relation, catalog),
        [from] => match &from.relation {
            TableFactor::Derived { subquery, .. } => join_input(subquery, catalog),
            _ => None,
        },
        _ => None,
    }
}

/// The catalog source `factor` reads: itself, or the one source of a subquery.
fn first_source<'a>(factor: &TableFactor, catalog: &'a Catalog) -> Option<&'a SourceDef> {
    let TableFactor::Derived { subquery, .. } = factor else {
        return relation_of(factor, catalog)?.1;
    };
    let SetExpr::Select(select) = subquery.body.as_ref() else {
        return None;
    };
    match select.from.as_slice() {
        [from] if from.joins.is_empty() => first_source(&from.relation, catalog),
        _ => None,
    }
}

/// ksqlDB's name for a new key column that no SELECT item names (PARTITION BY an expression
/// under `*`): a struct field's name, else `ksql_col_<n>`, free among the input's columns
/// and `taken`.
pub(crate) fn generated_key_name(
    expr: &Expr,
    relations: &[(Ident, SourceDef)],
    taken: &[&str],
) -> String {
    let relations: Vec<(Ident, Option<&SourceDef>)> = relations
        .iter()
        .map(|(qualifier, source)| (qualifier.clone(), Some(source)))
        .collect();
    let mut names = GeneratedNames::of_sources(&relations);
    for name in taken {
        let (base, number) = split_number(name);
        names
            .taken
            .entry(base.to_owned())
            .or_default()
            .insert(number);
    }
    let field = match expr {
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [first, _] if is_qualifier(first, &relations) => None,
            [_, .., last] => Some(last),
            _ => None,
        },
        _ => None,
    };
    match field {
        Some(field) => names.next(&fold(field), true),
        None => names.next(GENERATED_PREFIX, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_splits_into_base_and_number_as_ksqldb_reads_it() {
        assert_eq!(split_number("ksql_col_3"), ("ksql_col", 3));
        assert_eq!(split_number("user_id"), ("user_id", 0));
        assert_eq!(split_number("a_01"), ("a", 1));
        assert_eq!(split_number("plain"), ("plain", 0));
        assert_eq!(split_number("trailing_"), ("trailing_", 0));
        assert_eq!(
            split_number("n_99999999999999999999999"),
            ("n_99999999999999999999999", 0)
        );
    }

    #[test]
    fn generated_names_skip_what_sources_hold() {
        let mut names = GeneratedNames {
            taken: HashMap::from([
                ("ksql_col".to_owned(), BTreeSet::from([1])),
                ("street".to_owned(), BTreeSet::from([0])),
            ]),
            next: HashMap::new(),
        };
        assert_eq!(names.next(GENERATED_PREFIX, false), "ksql_col_0");
        assert_eq!(names.next(GENERATED_PREFIX, false), "ksql_col_2");
        assert_eq!(names.next("street", true), "street_1");
        assert_eq!(names.next("city", true), "city");
        assert_eq!(names.next("city", true), "city_1");
    }
}
