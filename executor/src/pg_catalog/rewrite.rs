//! The one place where Postgres SQL that clients send is rewritten before DataFusion plans
//! it, because DataFusion 55 parses but will not plan it (see the reference on clients,
//! §1.5):
//! - `x OPERATOR(pg_catalog.~) y` becomes `x ~ y` (any operator DataFusion has);
//! - `COLLATE ..` is dropped (Eddy compares text bytewise, as the C collation does);
//! - `pg_catalog.f(..)` and `FROM pg_catalog.f(..)` lose the schema, which DataFusion would
//!   read as part of the name;
//! - casts to `regclass`, `regtype`, `regnamespace`, `regproc` (and their `::text`) become
//!   the `eddy_reg*` functions, which look names up; casts to `oid`, `name`, `"char"`,
//!   `pg_catalog.text` .. become the types Arrow holds them as;
//! - a function in FROM reads as in Postgres (`FunctionsInFrom`);
//! - `ARRAY(SELECT e ..)` becomes `(SELECT array_agg(e) ..)`; a scalar subquery
//!   `(SELECT e ..)` without an aggregate becomes `(SELECT first_value(e) ..)`, since
//!   DataFusion refuses a correlated one that might return several rows;
//! - `= ANY('{a,b}')` compares with the array literal's elements, and `'{a,b}'::text[]`
//!   is the array of them (DataFusion would read the text as one element);
//! - `x IN (SELECT e ..)` in a SELECT list or ORDER BY, where DataFusion runs no subquery
//!   of that kind, becomes `eddy_member_of(x, (SELECT array_agg(e) ..))`, the same answer
//!   from the subquery's rows gathered in an array (Grafana's table picker orders by one);
//! - `user` (a keyword in Postgres, `CURRENT_USER`) becomes `current_user()`, and
//!   `(composite).field` becomes `get_field(composite, 'field')`;
//! - the set-returning `generate_subscripts(a, 1)` and `information_schema._pg_expandarray(a)`
//!   (SQLAlchemy's and pgjdbc's primary key queries) become `unnest` of the subscripts, of
//!   `(x, n)` pairs, or (for `(_pg_expandarray(a)).x` and `.n`) of one of the two;
//! - a SELECT list that names a column twice (`SELECT n.oid, n.*`, as DBeaver sends), which
//!   Postgres allows and DataFusion does not, gets its plain items aliased apart; the client
//!   sees the names Postgres gives them (`client_column_name`).
//!
//! Queries of psql's `\d NAME` footers (policies, extended statistics, publications)
//! compare arrays in ways DataFusion cannot plan; they read relations that are always empty
//! in Eddy, so when planning fails, they answer no rows (`always_empty_columns`).
//!
//! Never: change what a query means where DataFusion would plan it as written.

use std::ops::ControlFlow;

use datafusion::execution::context::SessionState;
use eddy_parser::sqlparser::ast::{
    AccessExpr, ArrayElemTypeDef, BinaryOperator, DataType, Expr, Function, FunctionArg,
    FunctionArgExpr, FunctionArgumentList, FunctionArguments, GroupByExpr, Ident, JoinOperator,
    ObjectName, ObjectNamePart, Query, Select, SelectItem, SetExpr, TableAliasColumnDef,
    TableFactor, TableWithJoins, UnaryOperator, Value, VisitMut, VisitorMut, visit_expressions,
    visit_expressions_mut, visit_relations_mut,
};
use eddy_parser::sqlparser::dialect::PostgreSqlDialect;
use eddy_parser::sqlparser::parser::Parser;
use eddy_planner::PlanError;

use super::functions::{
    self, EXPAND_ARRAY, MEMBER_OF, REGCLASS, REGCLASS_TEXT, REGNAMESPACE, REGNAMESPACE_TEXT,
    REGPROC, REGTYPE, REGTYPE_TEXT, SUBSCRIPTS,
};
use super::tables::PG_CATALOG;
use crate::error::EngineResult;

/// Rewrites a catalog query for DataFusion (see the module's header).
pub fn rewrite(query: &mut Query, state: &SessionState) -> EngineResult<()> {
    if let SetExpr::Select(select) = query.body.as_mut() {
        alias_columns_apart(&mut select.projection);
    }
    let _ = query.visit(&mut FunctionsInFrom { state });
    let _ = query.visit(&mut MembershipOutsideFilters { state });
    let _ = visit_relations_mut(query, |relation| {
        if !is_catalog_relation_name(relation) {
            strip_pg_catalog(relation);
        }
        ControlFlow::<()>::Continue(())
    });
    let flow = visit_expressions_mut(query, |expr| match rewrite_expr(expr, state) {
        Ok(()) => ControlFlow::Continue(()),
        Err(error) => ControlFlow::Break(error),
    });
    match flow {
        ControlFlow::Break(error) => Err(error.into()),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn rewrite_expr(expr: &mut Expr, state: &SessionState) -> Result<(), PlanError> {
    match expr {
        Expr::BinaryOp { op, .. } => {
            if let BinaryOperator::PGCustomBinaryOperator(parts) = op {
                *op = builtin_operator(parts)?;
            }
        }
        Expr::Collate { expr: inner, .. } => {
            *expr = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
        }
        Expr::Function(function)
            if matches!(function.args, FunctionArguments::None)
                && is_user_keyword(&function.name.to_string()) =>
        {
            *expr = user_call(&function.name.to_string());
        }
        Expr::Function(function) => {
            strip_pg_catalog(&mut function.name);
            if let Some(array) = array_of_subquery(function) {
                *expr = array;
            } else if let Some(rows) = set_returning_over_array(function) {
                *expr = rows;
            }
        }
        Expr::Identifier(ident) if ident.quote_style.is_none() && is_user_keyword(&ident.value) => {
            *expr = user_call(&ident.value);
        }
        Expr::CompoundFieldAccess { root, access_chain } => {
            if let Some(rows) = expanded_array_field(root, access_chain) {
                *expr = rows;
            } else if let (Expr::Nested(composite), [AccessExpr::Dot(Expr::Identifier(field))]) =
                (root.as_ref(), access_chain.as_slice())
            {
                // `(composite).field`, which DataFusion reads only as `get_field`.
                let name = Expr::value(Value::SingleQuotedString(field.value.to_lowercase()));
                *expr = call("get_field", vec![composite.as_ref().clone(), name]);
            }
        }
        Expr::Cast {
            expr: inner,
            data_type,
            ..
        } => {
            if let (DataType::Array(_), Some(elements)) =
                (&*data_type, array_literal_elements(inner))
            {
                **inner = call("make_array", elements);
            }
            if let Some(call) = reg_cast(inner, data_type) {
                *expr = call;
            } else if let Some(arrow_held) = arrow_held_type(data_type) {
                *data_type = arrow_held;
            }
        }
        Expr::Subquery(query) => {
            if reads_only_empty_rows(query, state) {
                *expr = Expr::value(Value::Null);
            } else {
                aggregate_scalar_subquery(query, state);
            }
        }
        Expr::AnyOp { right, .. } => {
            if let Some(elements) = array_literal_elements(right) {
                **right = call("make_array", elements);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Functions in FROM as Postgres reads them: a set-returning one with an alias but no
/// column names (`generate_series(1, 3) AS i`) names its one column by the alias too, and
/// one that returns a single value (`string_to_array(x, ',') s`) is one row, its column
/// named by the alias (Grafana's search-path subquery reads both so).
struct FunctionsInFrom<'a> {
    state: &'a SessionState,
}

impl VisitorMut for FunctionsInFrom<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name,
            alias: Some(alias),
            args: Some(args),
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let Some(function) = name.0.last().and_then(ObjectNamePart::as_ident) else {
            return ControlFlow::Continue(());
        };
        let function = function.value.to_lowercase();
        // `unnest` is DataFusion's own syntax, not a registered table function.
        if function == "unnest" {
            return ControlFlow::Continue(());
        }
        if self.state.table_functions().contains_key(&function) {
            if alias.columns.is_empty() && ONE_COLUMN_TABLE_FUNCTIONS.contains(&function.as_str()) {
                alias.columns = vec![TableAliasColumnDef::from_name(alias.name.value.clone())];
            }
            return ControlFlow::Continue(());
        }
        let arguments: Vec<String> = args.args.iter().map(ToString::to_string).collect();
        let sql = format!("SELECT {name}({}) AS {}", arguments.join(", "), alias.name);
        let parsed = Parser::new(&PostgreSqlDialect {})
            .try_with_sql(&sql)
            .and_then(|mut parser| parser.parse_query());
        if let Ok(subquery) = parsed {
            *factor = TableFactor::Derived {
                lateral: false,
                subquery,
                alias: Some(alias.clone()),
                sample: None,
            };
        }
        ControlFlow::Continue(())
    }
}

/// `x [NOT] IN (SELECT ..)` in a SELECT list or an ORDER BY, which DataFusion plans but
/// cannot run (it runs them only in WHERE and ON), as `eddy_member_of` of the subquery's
/// rows gathered in an array: Postgres' answer, NULLs included (see `MEMBER_OF`).
struct MembershipOutsideFilters<'a> {
    state: &'a SessionState,
}

impl VisitorMut for MembershipOutsideFilters<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let _ = visit_expressions_mut(&mut query.order_by, |expr| {
            membership_as_call(expr, self.state)
        });
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        let _ = visit_expressions_mut(&mut select.projection, |expr| {
            membership_as_call(expr, self.state)
        });
        ControlFlow::Continue(())
    }
}

fn membership_as_call(expr: &mut Expr, state: &SessionState) -> ControlFlow<()> {
    let Expr::InSubquery {
        expr: needle,
        subquery,
        negated,
    } = expr
    else {
        return ControlFlow::Continue(());
    };
    let Some(members) = gathered_rows(subquery.as_ref().clone(), state) else {
        return ControlFlow::Continue(());
    };
    let member = call(
        MEMBER_OF,
        vec![needle.as_ref().clone(), Expr::Subquery(Box::new(members))],
    );
    *expr = if *negated {
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: Box::new(Expr::Nested(Box::new(member))),
        }
    } else {
        member
    };
    ControlFlow::Continue(())
}

/// A subquery's one column's values in one array (NULL for no rows): `SELECT array_agg(e)
/// ..` of a plain `SELECT e ..` (which may be correlated, as an aggregate DataFusion
/// decorrelates), else `SELECT array_agg(m) FROM (subquery) AS members(m)`.
fn gathered_rows(mut subquery: Query, state: &SessionState) -> Option<Query> {
    if let Some(select) = plain_single_select(&mut subquery, state)
        && wrap_single_item(select, "array_agg").is_some()
    {
        subquery.order_by = None;
        return Some(subquery);
    }
    let mut gathered = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(
            "SELECT array_agg(eddy_member) FROM (SELECT NULL) AS eddy_members(eddy_member)",
        )
        .and_then(|mut parser| parser.parse_query())
        .ok()?;
    let SetExpr::Select(select) = gathered.body.as_mut() else {
        return None;
    };
    let TableFactor::Derived { subquery: slot, .. } = &mut select.from.first_mut()?.relation else {
        return None;
    };
    **slot = subquery;
    Some(*gathered)
}

/// DataFusion's table functions that return one column (named `value`).
const ONE_COLUMN_TABLE_FUNCTIONS: [&str; 2] = ["generate_series", "range"];

/// What follows a column's name in the alias that keeps it apart from another of the same
/// name: a NUL, which no Postgres identifier holds, then the item's position.
const APART: char = '\0';

/// The name a client sees for a column of a rewritten query.
pub fn client_column_name(name: &str) -> &str {
    name.split(APART).next().unwrap_or(name)
}

/// When a SELECT list mixes `*` with other items, or names a column twice, each plain item
/// (a column or call without an alias) gets an alias of its Postgres name and position, so
/// DataFusion sees distinct names.
fn alias_columns_apart(items: &mut [SelectItem]) {
    let wildcard = items.iter().any(|item| {
        matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    });
    let names: Vec<Option<String>> = items.iter().map(plain_item_name).collect();
    let repeated = names
        .iter()
        .enumerate()
        .any(|(index, name)| name.is_some() && names[..index].contains(name));
    if !wildcard && !repeated {
        return;
    }
    for (index, item) in items.iter_mut().enumerate() {
        let (SelectItem::UnnamedExpr(expr), Some(name)) = (&*item, &names[index]) else {
            continue;
        };
        *item = SelectItem::ExprWithAlias {
            expr: expr.clone(),
            alias: Ident::with_quote('"', format!("{name}{APART}{index}")),
        };
    }
}

/// The name Postgres gives an unaliased column or function call.
fn plain_item_name(item: &SelectItem) -> Option<String> {
    let SelectItem::UnnamedExpr(expr) = item else {
        return None;
    };
    match expr {
        Expr::Identifier(ident) => Some(ident.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|part| part.value.clone()),
        Expr::Function(function) => function
            .name
            .0
            .last()
            .and_then(ObjectNamePart::as_ident)
            .map(|ident| ident.value.clone()),
        _ => None,
    }
}

/// `user`, `current_user`, `session_user` and `current_role` written without parentheses,
/// which Postgres reads as calls (sqlparser as calls without arguments or identifiers; no
/// catalog relation has a column of those names).
fn is_user_keyword(name: &str) -> bool {
    ["user", "current_user", "session_user", "current_role"]
        .iter()
        .any(|keyword| name.eq_ignore_ascii_case(keyword))
}

/// The call a user keyword stands for (`user` is `current_user`).
fn user_call(keyword: &str) -> Expr {
    match keyword.to_lowercase().as_str() {
        "user" => call("current_user", Vec::new()),
        other => call(other, Vec::new()),
    }
}

/// `generate_subscripts(a, 1)` as `unnest(eddy_subscripts(a))`, and
/// `information_schema._pg_expandarray(a)` as `unnest(eddy_expand_array(a))`: the rows of
/// a set-returning function in a SELECT list, which DataFusion unnests in step with each
/// other, as Postgres runs them.
fn set_returning_over_array(function: &Function) -> Option<Expr> {
    let name = function_name_parts(function);
    let inner = match name
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate_subscripts"] => SUBSCRIPTS,
        ["_pg_expandarray"] | ["information_schema", "_pg_expandarray"] => EXPAND_ARRAY,
        _ => return None,
    };
    let array = first_argument(function)?;
    Some(call("unnest", vec![call(inner, vec![array])]))
}

/// `(_pg_expandarray(a)).n` as `unnest(eddy_subscripts(a))` and `.x` as `unnest(a)` (the
/// function itself was rewritten first, to `unnest(eddy_expand_array(a))`).
fn expanded_array_field(root: &Expr, access_chain: &[AccessExpr]) -> Option<Expr> {
    let [AccessExpr::Dot(Expr::Identifier(field))] = access_chain else {
        return None;
    };
    let mut root = root;
    while let Expr::Nested(inner) = root {
        root = inner;
    }
    let Expr::Function(unnest) = root else {
        return None;
    };
    if function_name_parts(unnest) != ["unnest"] {
        return None;
    }
    let Expr::Function(expand) = first_argument(unnest)? else {
        return None;
    };
    if function_name_parts(&expand) != [EXPAND_ARRAY] {
        return None;
    }
    let array = first_argument(&expand)?;
    match field.value.to_lowercase().as_str() {
        "n" => Some(call("unnest", vec![call(SUBSCRIPTS, vec![array])])),
        "x" => Some(call("unnest", vec![array])),
        _ => None,
    }
}

fn function_name_parts(function: &Function) -> Vec<String> {
    function
        .name
        .0
        .iter()
        .filter_map(ObjectNamePart::as_ident)
        .map(|ident| ident.value.to_lowercase())
        .collect()
}

fn first_argument(function: &Function) -> Option<Expr> {
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    match list.args.first()? {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => Some(expr.clone()),
        _ => None,
    }
}

/// Whether a name in FROM is a `pg_catalog` relation's (kept qualified, as columns may name
/// it `pg_catalog.pg_class.relname`) rather than a table function's (`pg_catalog.unnest`).
fn is_catalog_relation_name(name: &ObjectName) -> bool {
    name.0
        .last()
        .and_then(ObjectNamePart::as_ident)
        .is_some_and(|last| {
            super::tables::all_tables().any(|table| table.name.eq_ignore_ascii_case(&last.value))
        })
}

/// `pg_catalog.x` as `x`: functions have no schema in DataFusion.
fn strip_pg_catalog(name: &mut ObjectName) {
    if let [
        ObjectNamePart::Identifier(schema),
        ObjectNamePart::Identifier(_),
    ] = name.0.as_slice()
        && schema.value.eq_ignore_ascii_case(PG_CATALOG)
    {
        name.0.remove(0);
    }
}

fn builtin_operator(parts: &[String]) -> Result<BinaryOperator, PlanError> {
    let symbol = parts.last().map(String::as_str).unwrap_or_default();
    Ok(match symbol {
        "~" => BinaryOperator::PGRegexMatch,
        "~*" => BinaryOperator::PGRegexIMatch,
        "!~" => BinaryOperator::PGRegexNotMatch,
        "!~*" => BinaryOperator::PGRegexNotIMatch,
        "~~" => BinaryOperator::PGLikeMatch,
        "~~*" => BinaryOperator::PGILikeMatch,
        "!~~" => BinaryOperator::PGNotLikeMatch,
        "!~~*" => BinaryOperator::PGNotILikeMatch,
        "=" => BinaryOperator::Eq,
        "<>" | "!=" => BinaryOperator::NotEq,
        "<" => BinaryOperator::Lt,
        "<=" => BinaryOperator::LtEq,
        ">" => BinaryOperator::Gt,
        ">=" => BinaryOperator::GtEq,
        "||" => BinaryOperator::StringConcat,
        "+" => BinaryOperator::Plus,
        "-" => BinaryOperator::Minus,
        "*" => BinaryOperator::Multiply,
        "/" => BinaryOperator::Divide,
        "%" => BinaryOperator::Modulo,
        _ => {
            return Err(PlanError::Unsupported {
                feature: format!("operator OPERATOR({})", parts.join(".")),
            });
        }
    })
}

/// The last name of a type as written (`pg_catalog.regclass` → `regclass`).
fn type_name(data_type: &DataType) -> Option<String> {
    match data_type {
        DataType::Regclass => Some("regclass".into()),
        DataType::Custom(name, _) => name
            .0
            .last()
            .and_then(ObjectNamePart::as_ident)
            .map(|ident| ident.value.to_lowercase()),
        DataType::Text => Some("text".into()),
        _ => None,
    }
}

/// A cast to a reg type, or `::text` of one, as a call of the `eddy_reg*` function.
fn reg_cast(inner: &mut Expr, data_type: &DataType) -> Option<Expr> {
    let target = type_name(data_type)?;
    let function = match target.as_str() {
        "regclass" => REGCLASS,
        "regtype" => REGTYPE,
        "regnamespace" => REGNAMESPACE,
        "regproc" | "regprocedure" => REGPROC,
        "text" | "name" | "varchar" => {
            let Expr::Function(cast) = inner else {
                return None;
            };
            let as_text = match cast.name.to_string().as_str() {
                REGCLASS => REGCLASS_TEXT,
                REGTYPE => REGTYPE_TEXT,
                REGNAMESPACE => REGNAMESPACE_TEXT,
                _ => return None,
            };
            cast.name = ObjectName::from(vec![Ident::new(as_text)]);
            return Some(inner.clone());
        }
        _ => return None,
    };
    Some(call(function, vec![inner.clone()]))
}

/// A Postgres type DataFusion does not know, as the type Arrow holds its values in.
fn arrow_held_type(data_type: &DataType) -> Option<DataType> {
    if let DataType::Array(ArrayElemTypeDef::SquareBracket(element, size)) = data_type {
        let element = arrow_held_type(element)?;
        return Some(DataType::Array(ArrayElemTypeDef::SquareBracket(
            Box::new(element),
            *size,
        )));
    }
    if !matches!(data_type, DataType::Custom(..)) {
        return None;
    }
    Some(match type_name(data_type)?.as_str() {
        "text" | "name" | "char" | "bpchar" | "varchar" | "regrole" | "regoper" => DataType::Text,
        "oid" | "xid" | "cid" | "int8" => DataType::BigInt(None),
        "int2" => DataType::SmallInt(None),
        "int4" => DataType::Int(None),
        "float4" => DataType::Real,
        "float8" => DataType::DoublePrecision,
        "bool" => DataType::Boolean,
        _ => return None,
    })
}

/// `ARRAY(SELECT e FROM ..)` as `(SELECT array_agg(e) FROM ..)`. Over a set-returning
/// function (`unnest` of an outer column), which DataFusion cannot correlate, or over a
/// relation Eddy never has rows in, it is a NULL text array: Eddy's relations have no
/// options, and its role no memberships, to list there.
fn array_of_subquery(function: &mut Function) -> Option<Expr> {
    if !function.name.to_string().eq_ignore_ascii_case("array") {
        return None;
    }
    let FunctionArguments::Subquery(query) = &mut function.args else {
        return None;
    };
    let mut query = query.clone();
    let reads_empty = all_branches_read_empty(&query.body);
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    if reads_empty || select.from.iter().any(reads_table_function) {
        return Some(Expr::Cast {
            kind: eddy_parser::sqlparser::ast::CastKind::DoubleColon,
            expr: Box::new(Expr::value(Value::Null)),
            data_type: DataType::Array(ArrayElemTypeDef::SquareBracket(
                Box::new(DataType::Text),
                None,
            )),
            array: false,
            format: None,
        });
    }
    wrap_single_item(select, "array_agg")?;
    query.order_by = None;
    Some(Expr::Subquery(query))
}

fn reads_table_function(from: &TableWithJoins) -> bool {
    let is_function = |relation: &TableFactor| {
        matches!(
            relation,
            TableFactor::Table { args: Some(_), .. }
                | TableFactor::Function { .. }
                | TableFactor::UNNEST { .. }
        )
    };
    is_function(&from.relation) || from.joins.iter().any(|join| is_function(&join.relation))
}

/// The one plain item of a scalar subquery that does not aggregate (no aggregate call, no
/// GROUP BY, DISTINCT, HAVING or LIMIT); None for any other subquery.
fn plain_single_select<'a>(query: &'a mut Query, state: &SessionState) -> Option<&'a mut Select> {
    if query.limit_clause.is_some() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let grouped = !matches!(&select.group_by, GroupByExpr::Expressions(keys, _) if keys.is_empty());
    if grouped || select.distinct.is_some() || select.having.is_some() {
        return None;
    }
    let item = match select.projection.as_slice() {
        [SelectItem::UnnamedExpr(item) | SelectItem::ExprWithAlias { expr: item, .. }] => item,
        _ => return None,
    };
    if let Expr::Function(function) = item {
        let name = function.name.to_string().to_lowercase();
        if state.aggregate_functions().contains_key(&name) || function.over.is_some() {
            return None;
        }
    }
    Some(select)
}

/// A scalar subquery that does not aggregate and reads a relation Eddy never has rows in
/// (`pg_attrdef`, `pg_collation` in psql's `\d NAME`): always NULL. DataFusion cannot
/// decorrelate those psql sends (their correlation is not only equalities).
fn reads_only_empty_rows(query: &mut Query, state: &SessionState) -> bool {
    all_branches_read_empty(&query.body) && plain_single_select(query, state).is_some()
}

/// A scalar subquery of one plain item without an aggregate, as `first_value` of it.
fn aggregate_scalar_subquery(query: &mut Query, state: &SessionState) {
    let Some(select) = plain_single_select(query, state) else {
        return;
    };
    if wrap_single_item(select, "first_value").is_some() {
        query.order_by = None;
    }
}

/// The one item of a SELECT, `e` (or `e AS a`), as `aggregate(e)` (keeping `a`).
fn wrap_single_item(select: &mut Select, aggregate: &str) -> Option<()> {
    let [item] = select.projection.as_mut_slice() else {
        return None;
    };
    let expr = match item {
        SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => expr,
        _ => return None,
    };
    let inner = std::mem::replace(expr, Expr::value(Value::Null));
    *expr = call(aggregate, vec![inner]);
    Some(())
}

/// The elements of a Postgres array literal (`'{r,p}'`, `'{0}'`) as literals: numbers as
/// numbers, the rest as text.
fn array_literal_elements(expr: &Expr) -> Option<Vec<Expr>> {
    let Expr::Value(value) = expr else {
        return None;
    };
    let Value::SingleQuotedString(text) = &value.value else {
        return None;
    };
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    Some(
        inner
            .split(',')
            .filter(|element| !element.is_empty())
            .map(|element| {
                let element = element.trim().trim_matches('"');
                if element.parse::<i64>().is_ok() {
                    Expr::value(Value::Number(element.to_string(), false))
                } else {
                    Expr::value(Value::SingleQuotedString(element.to_string()))
                }
            })
            .collect(),
    )
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|arg| FunctionArg::Unnamed(FunctionArgExpr::Expr(arg)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// Whether a query uses what only the catalog session answers: Postgres' system functions
/// (or any function qualified with `pg_catalog`), reg or catalog type casts, `OPERATOR()`
/// or `COLLATE`.
pub fn uses_postgres_system_sql(query: &Query) -> bool {
    let flow = visit_expressions(query, |expr| {
        let postgres = match expr {
            Expr::Function(function) => {
                let parts: Vec<String> = function
                    .name
                    .0
                    .iter()
                    .filter_map(ObjectNamePart::as_ident)
                    .map(|ident| ident.value.to_lowercase())
                    .collect();
                match parts.as_slice() {
                    [schema, name] => {
                        schema == PG_CATALOG && name != "version"
                            || functions::is_system_function(name)
                    }
                    [name] => functions::is_system_function(name),
                    _ => false,
                }
            }
            Expr::Cast { data_type, .. } => {
                matches!(data_type, DataType::Regclass)
                    || (matches!(data_type, DataType::Custom(..))
                        && type_name(data_type).is_some_and(|name| {
                            name.starts_with("reg") || arrow_held_type(data_type).is_some()
                        }))
            }
            Expr::BinaryOp {
                op: BinaryOperator::PGCustomBinaryOperator(_),
                ..
            } => true,
            Expr::Collate { .. } => true,
            _ => false,
        };
        if postgres {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    flow.is_break()
}

/// Relations Eddy never has rows in (it has no policies, statistics, publications,
/// inheritance, triggers, rules, column defaults, sequences, operator classes, collations
/// or role memberships), which psql's `\d NAME` and `\du` and SQLAlchemy's `get_columns` read.
pub const ALWAYS_EMPTY: [&str; 14] = [
    "pg_attrdef",
    "pg_opclass",
    "pg_sequence",
    "pg_collation",
    "pg_auth_members",
    "pg_enum",
    "pg_policy",
    "pg_statistic_ext",
    "pg_publication",
    "pg_publication_rel",
    "pg_publication_namespace",
    "pg_inherits",
    "pg_trigger",
    "pg_rewrite",
];

/// When every SELECT of a query inner-joins a relation that is always empty, the query has
/// no rows: the names of its columns (all text, as a client reading them as text sees no
/// difference). None for any other query.
pub fn always_empty_columns(query: &Query) -> Option<Vec<String>> {
    if !all_branches_read_empty(&query.body) {
        return None;
    }
    projection_names(&first_select(&query.body)?.projection)
}

fn all_branches_read_empty(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => select.from.iter().any(|from| {
            is_always_empty(&from.relation)
                || from.joins.iter().any(|join| {
                    matches!(
                        join.join_operator,
                        JoinOperator::Join(_) | JoinOperator::Inner(_) | JoinOperator::CrossJoin(_)
                    ) && is_always_empty(&join.relation)
                })
        }),
        SetExpr::SetOperation { left, right, .. } => {
            all_branches_read_empty(left) && all_branches_read_empty(right)
        }
        SetExpr::Query(query) => all_branches_read_empty(&query.body),
        _ => false,
    }
}

fn is_always_empty(relation: &TableFactor) -> bool {
    let TableFactor::Table {
        name, args: None, ..
    } = relation
    else {
        return false;
    };
    let Some(last) = name.0.last().and_then(ObjectNamePart::as_ident) else {
        return false;
    };
    let schema_ok = match name.0.as_slice() {
        [_] => true,
        [schema, _] => schema
            .as_ident()
            .is_some_and(|schema| schema.value.eq_ignore_ascii_case(PG_CATALOG)),
        _ => false,
    };
    schema_ok && ALWAYS_EMPTY.contains(&last.value.to_lowercase().as_str())
}

/// The names of a SELECT's columns as a client sees them without planning it.
fn projection_names(items: &[SelectItem]) -> Option<Vec<String>> {
    let mut names: Vec<String> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let name = match item {
            SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
            SelectItem::UnnamedExpr(Expr::Identifier(ident)) => ident.value.clone(),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => parts.last()?.value.clone(),
            SelectItem::UnnamedExpr(_) => "?column?".to_string(),
            _ => return None,
        };
        // DataFusion needs distinct names where Postgres would repeat "?column?".
        let name = if names.contains(&name) {
            format!("{name}_{index}")
        } else {
            name
        };
        names.push(name);
    }
    Some(names)
}

/// The first SELECT of a query's body (its leftmost branch).
fn first_select(body: &SetExpr) -> Option<&Select> {
    match body {
        SetExpr::Select(select) => Some(select),
        SetExpr::SetOperation { left, .. } => first_select(left),
        SetExpr::Query(query) => first_select(&query.body),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(sql: &str) -> Query {
        let statement = eddy_parser::parse_sql(sql)
            .expect("parses")
            .remove(0)
            .statement;
        let eddy_parser::Statement::Select(select) = statement else {
            panic!("{sql} is a SELECT");
        };
        *select.query
    }

    #[test]
    fn the_footer_queries_of_psql_answer_empty_with_their_columns() {
        let policies = query(
            "SELECT pol.polname, pol.polpermissive, \
             CASE WHEN pol.polroles = '{0}' THEN NULL ELSE 'x' END, \
             pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) \
             FROM pg_catalog.pg_policy pol WHERE pol.polrelid = '16384' ORDER BY 1",
        );
        assert_eq!(
            always_empty_columns(&policies),
            Some(vec![
                "polname".to_string(),
                "polpermissive".to_string(),
                "?column?".to_string(),
                "?column?_3".to_string(),
            ])
        );
        let counted =
            query("SELECT c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_policy p ON true");
        assert_eq!(always_empty_columns(&counted), None);
    }

    #[test]
    fn system_sql_is_recognized_without_relations() {
        for sql in [
            "SELECT current_setting('server_version_num')",
            "SELECT 'pg_class'::regclass",
            "SELECT pg_catalog.quote_ident('a b')",
            "SELECT 'a' COLLATE \"C\"",
        ] {
            assert!(uses_postgres_system_sql(&query(sql)), "{sql}");
        }
        for sql in [
            "SELECT 1",
            "SELECT pg_catalog.version()",
            "SELECT ucase('a')",
        ] {
            assert!(!uses_postgres_system_sql(&query(sql)), "{sql}");
        }
    }
}
