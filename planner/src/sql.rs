//! Planning SELECTs with DataFusion against Eddy's catalog.
//!
//! One `SessionState` (target_partitions = 1, since Eddy's own tasks give the parallelism and
//! small reads must stay cheap) whose only schema resolves names through the catalog to
//! `TableProvider`s that the executor makes (the planner never touches storage). Before
//! DataFusion sees a query, ksqlDB's projection rules are applied to its AST (`projection`:
//! what `*` and `col->*` expand to, pseudo-columns like `rowtime` staying out of `*`, and the
//! names of unnamed items), then its expression rules (`ksql_expression_rules`). ksqlDB's
//! aggregate functions (`functions`) are registered next to DataFusion's own.
//!
//! Never: run a query here. Planning is pure; execution is the executor's.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, LazyLock, RwLockReadGuard};

use arrow::array::{Array, AsArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit, TimestampMillisecondType};
use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, SchemaProvider, TableProvider};
use datafusion::common::DFSchema;
use datafusion::common::config::ConfigOptions;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::{ExecutionProps, SessionState};
use datafusion::logical_expr::LogicalPlan;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::{PhysicalExpr, create_physical_expr};
use datafusion::prelude::SessionConfig;
use datafusion::sql::parser::Statement as DfStatement;
use eddy_parser::sqlparser::ast::{
    AccessExpr, BinaryOperator, DateTimeField, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArgOperator, FunctionArgumentList, FunctionArguments, Ident, LambdaFunction,
    LambdaFunctionParameter, LambdaSyntax, ObjectName, ObjectNamePart, OneOrManyWithParens, Query,
    Statement as SqlStatement, Value, ValueWithSpan, Visit, VisitMut, Visitor,
    visit_expressions_mut,
};
use std::ops::ControlFlow;

use eddy_parser::LAMBDA_FUNCTION;

use crate::catalog::{Catalog, ROWTIME, SharedCatalog, SourceDef};
use crate::error::{PlanError, PlanResult};
use crate::names::{fold, object_name_last};
use crate::scalar::datetime_arith::{UNIT_FUNCTIONS, unit_ms};
use crate::type_planner::NamedTypePlanner;
use crate::window::{WINDOW_END, WINDOW_START};
use crate::{functions, grouping, projection};

/// DataFusion's names for the one catalog and schema Eddy has.
pub const CATALOG_NAME: &str = "eddy";
pub const SCHEMA_NAME: &str = "public";

/// The executor's side of planning: a `TableProvider` for a source. Its schema must be the
/// source's `queryable_schema()`; its `scan` serves pull queries.
pub trait SourceProviders: Send + Sync + fmt::Debug {
    fn provider(&self, source: &SourceDef) -> Result<Arc<dyn TableProvider>, DataFusionError>;
}

/// Plans SELECTs against the catalog.
#[derive(Clone)]
pub struct SqlPlanner {
    state: SessionState,
    catalog: SharedCatalog,
}

impl fmt::Debug for SqlPlanner {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("SqlPlanner").finish_non_exhaustive()
    }
}

impl SqlPlanner {
    pub fn new(catalog: SharedCatalog, providers: Arc<dyn SourceProviders>) -> Self {
        let state = functions::with_ksql_aggregates(
            SessionStateBuilder::new()
                .with_config(session_config())
                .with_default_features()
                .with_type_planner(Arc::new(NamedTypePlanner {
                    catalog: catalog.clone(),
                })),
        )
        .build();
        let schema = Arc::new(CatalogSchema {
            catalog: catalog.clone(),
            providers,
        });
        let catalog_provider = MemoryCatalogProvider::new();
        catalog_provider
            .register_schema(SCHEMA_NAME, schema)
            .expect("a fresh in-memory catalog accepts its first schema");
        state
            .catalog_list()
            .register_catalog(CATALOG_NAME.to_string(), Arc::new(catalog_provider));
        Self { state, catalog }
    }

    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// The logical plan of a SELECT, after ksqlDB's naming rules and DataFusion's analyzer
    /// (type coercion), not yet optimized.
    pub async fn plan_query(&self, query: &Query) -> PlanResult<LogicalPlan> {
        let mut query = query.clone();
        {
            let catalog = self.read_catalog();
            check_relations_exist(&query, &catalog)?;
            projection::rewrite_query(&mut query, &catalog, true);
        }
        ksql_expression_rules(&mut query)?;
        grouping::check_no_aggregate_in_group_by(&query, &self.state)?;
        let statement = DfStatement::Statement(Box::new(SqlStatement::Query(Box::new(query))));
        let plan = self
            .state
            .statement_to_plan(statement)
            .await
            .map_err(grouping::reword)?;
        let plan = self.state.analyzer().execute_and_check(
            plan,
            self.state.config_options(),
            |_, _| {},
        )?;
        Ok(plan)
    }

    /// An expression outside a query (an INSERT's VALUES cell) with ksqlDB's expression rules
    /// applied, as a query's expressions have them, ready for DataFusion to plan.
    pub fn ksql_expression(&self, expr: &Expr) -> PlanResult<Expr> {
        let mut expr = expr.clone();
        ksql_expression_rules(&mut expr)?;
        Ok(expr)
    }

    /// The names of the catalog sources a query reads (for a persistent query's inputs).
    pub fn relations(&self, query: &Query) -> Vec<String> {
        relation_names(query)
    }

    pub(crate) fn read_catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog
            .read()
            .expect("catalog lock is never poisoned: no panics while held")
    }
}

/// The configuration of Eddy's one DataFusion session.
fn session_config() -> SessionConfig {
    let mut config = SessionConfig::new()
        .with_target_partitions(1)
        .with_information_schema(false)
        .with_default_catalog_and_schema(CATALOG_NAME, SCHEMA_NAME);
    // Eddy's batches hold Utf8; CAST(x AS STRING) must produce the same type.
    config.options_mut().sql_parser.map_string_types_to_utf8view = false;
    config
}

/// The session's options, for planning done outside the session: lowering simplifies each
/// expression with them (`compile`), as the session's optimizer would.
pub(crate) fn session_options() -> &'static Arc<ConfigOptions> {
    static OPTIONS: LazyLock<Arc<ConfigOptions>> =
        LazyLock::new(|| Arc::clone(session_config().options()));
    &OPTIONS
}

/// Compiles one logical expression against the schema of the batches it will see, after
/// DataFusion's expression simplifier, run as the optimizer's `SimplifyExpressions` runs it
/// on a pull query's plan (same options, the node's input schema, no start time since the
/// session never marks one): some functions only run rewritten (COALESCE becomes a CASE,
/// `arrow_cast` a CAST) and fail if evaluated as written.
pub fn compile(
    expr: &datafusion::logical_expr::Expr,
    schema: &DFSchema,
) -> PlanResult<Arc<dyn PhysicalExpr>> {
    let context = SimplifyContext::builder()
        .with_schema(Arc::new(schema.clone()))
        .with_config_options(Arc::clone(session_options()))
        .build();
    let simplified = ExprSimplifier::new(context).simplify(expr.clone())?;
    Ok(create_physical_expr(
        &simplified,
        schema,
        &ExecutionProps::new(),
        &PhysicalPlanningContext::default(),
    )?)
}

/// The one schema: every stream and table of the catalog.
struct CatalogSchema {
    catalog: SharedCatalog,
    providers: Arc<dyn SourceProviders>,
}

impl fmt::Debug for CatalogSchema {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CatalogSchema")
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SchemaProvider for CatalogSchema {
    fn table_names(&self) -> Vec<String> {
        let catalog = self.catalog.read().expect("catalog lock is never poisoned");
        catalog
            .sources()
            .map(|source| source.name.clone())
            .collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        let source = {
            let catalog = self.catalog.read().expect("catalog lock is never poisoned");
            catalog.source(name).cloned()
        };
        source
            .map(|source| self.providers.provider(&source))
            .transpose()
    }

    fn table_exist(&self, name: &str) -> bool {
        let catalog = self.catalog.read().expect("catalog lock is never poisoned");
        catalog.source(name).is_some()
    }
}

/// Every relation named in FROM clauses, folded, except the query's own CTEs.
fn relation_names(query: &Query) -> Vec<String> {
    struct Relations {
        names: Vec<String>,
    }
    impl Visitor for Relations {
        type Break = ();
        fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
            if let Some(ident) = object_name_last(relation) {
                let name = fold(ident);
                if !self.names.contains(&name) {
                    self.names.push(name);
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut visitor = Relations { names: Vec::new() };
    let _ = query.visit(&mut visitor);
    let ctes = cte_names(query);
    visitor.names.retain(|name| !ctes.contains(name));
    visitor.names
}

fn cte_names(query: &Query) -> HashSet<String> {
    struct Ctes {
        names: HashSet<String>,
    }
    impl Visitor for Ctes {
        type Break = ();
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                for cte in &with.cte_tables {
                    self.names.insert(fold(&cte.alias.name));
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut visitor = Ctes {
        names: HashSet::new(),
    };
    let _ = query.visit(&mut visitor);
    visitor.names
}

fn check_relations_exist(query: &Query, catalog: &Catalog) -> PlanResult<()> {
    for name in relation_names(query) {
        catalog.source_required(&name)?;
    }
    Ok(())
}

/// ksqlDB's constructors `MAP(k := v, ..)` and `STRUCT(f := v, ..)` as DataFusion's
/// `make_map(k, v, ..)` and `named_struct('f', v, ..)`; None for any other call. DataFusion
/// dropped the keys of a MAP (`MAP('a' := 'x', 'b' := 'y')` became `{"x": "y"}`) and refused
/// a STRUCT's `:=`.
fn constructor_call(function: &Function) -> Option<Expr> {
    let name = function.name.0.last()?.as_ident()?.value.to_lowercase();
    let target = match name.as_str() {
        "map" => "make_map",
        "struct" => "named_struct",
        _ => return None,
    };
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    let mut args = Vec::with_capacity(list.args.len() * 2);
    for arg in &list.args {
        let (key, value) = match arg {
            FunctionArg::ExprNamed {
                name,
                arg: FunctionArgExpr::Expr(value),
                operator: FunctionArgOperator::Assignment,
            } => (name.clone(), value.clone()),
            // sqlparser keeps a quoted key (`'a' := ..`) as a name quoted with `'`: text.
            FunctionArg::Named {
                name,
                arg: FunctionArgExpr::Expr(value),
                operator: FunctionArgOperator::Assignment,
            } => match name.quote_style {
                Some('\'') => (
                    Expr::value(Value::SingleQuotedString(name.value.clone())),
                    value.clone(),
                ),
                _ => (Expr::Identifier(name.clone()), value.clone()),
            },
            FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::BinaryOp {
                left,
                op: BinaryOperator::Assignment,
                right,
            })) => (left.as_ref().clone(), right.as_ref().clone()),
            _ => return None,
        };
        // A STRUCT's field is named by an identifier, folded as any name.
        let key = match (target, key) {
            ("named_struct", Expr::Identifier(field)) => {
                Expr::value(Value::SingleQuotedString(fold(&field)))
            }
            (_, key) => key,
        };
        args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(key)));
        args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(value)));
    }
    if args.is_empty() {
        return None;
    }
    Some(function_call(target, args))
}

/// `STRUCT(f := v, ..)`, which sqlparser reads as a struct literal of assignments, as
/// `named_struct('f', v, ..)`; None unless every value is such an assignment.
fn struct_constructor(values: &[Expr]) -> Option<Expr> {
    let mut args = Vec::with_capacity(values.len() * 2);
    for value in values {
        let Expr::BinaryOp {
            left,
            op: BinaryOperator::Assignment,
            right,
        } = value
        else {
            return None;
        };
        let Expr::Identifier(field) = left.as_ref() else {
            return None;
        };
        args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::value(
            Value::SingleQuotedString(fold(field)),
        ))));
        args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(
            right.as_ref().clone(),
        )));
    }
    (!args.is_empty()).then(|| function_call("named_struct", args))
}

/// A call of the function `name` with positional `args`.
pub(crate) fn function_call(name: &str, args: Vec<FunctionArg>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args,
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// A constant `INTERVAL '1' MINUTE` or `INTERVAL '90 seconds'` in milliseconds: whole
/// milliseconds, seconds, minutes, hours or days (never months or years, whose length
/// varies); None for anything else.
pub(crate) fn constant_interval_ms(expr: &Expr) -> Option<i64> {
    let Expr::Interval(interval) = expr else {
        return None;
    };
    let Expr::Value(value) = interval.value.as_ref() else {
        return None;
    };
    let (Value::SingleQuotedString(text) | Value::Number(text, _)) = &value.value else {
        return None;
    };
    let text = match (&interval.leading_field, &interval.last_field) {
        (Some(field), None) if !matches!(field, DateTimeField::Month | DateTimeField::Year) => {
            format!("{text} {field}")
        }
        (None, None) => text.clone(),
        _ => return None,
    };
    let duration = eddy_parser::parse_duration_text(&text)?;
    i64::try_from(duration.as_millis()).ok()
}

/// In ksqlDB's `DATEADD(DAYS, 5, d)` and the other functions that take a unit first
/// (`scalar::datetime_arith`), the unit is a keyword, which DataFusion would read as a column:
/// it becomes the text 'DAYS' that the function takes. An identifier that is no unit is an
/// error naming the units; a quoted identifier stays a column.
fn unit_keyword_to_text(function: &mut Function) -> PlanResult<()> {
    let Some(name) = function.name.0.last().and_then(ObjectNamePart::as_ident) else {
        return Ok(());
    };
    let name = name.value.to_lowercase();
    if !UNIT_FUNCTIONS.contains(&name.as_str()) {
        return Ok(());
    }
    let FunctionArguments::List(list) = &mut function.args else {
        return Ok(());
    };
    let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(unit))) = list.args.first_mut() else {
        return Ok(());
    };
    let Expr::Identifier(ident) = unit else {
        return Ok(());
    };
    if ident.quote_style.is_some() {
        return Ok(());
    }
    if unit_ms(&ident.value).is_none() {
        return Err(PlanError::invalid(format!(
            "{} takes a time unit first, not {}: MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS \
             (or the singular)",
            name.to_uppercase(),
            ident.value
        )));
    }
    *unit = Expr::value(Value::SingleQuotedString(ident.value.to_uppercase()));
    Ok(())
}

/// ksqlDB's meaning for expressions DataFusion would read otherwise:
/// - ksqlDB compares ROWTIME with a string as with a timestamp: in `ROWTIME > '2018-01-01'`
///   (and `=`, `<>`, `<`, `<=`, `>=`, `BETWEEN`) the string is an ISO 8601 timestamp, UTC
///   unless it gives a zone, and stands for its epoch milliseconds, which ROWTIME holds.
///   Without this the comparison cast ROWTIME to text and every row failed it. A windowed
///   table's WINDOWSTART and WINDOWEND hold epoch milliseconds too, and pull queries bound
///   them so (`WINDOWSTART >= '2021-01-01T00:00:00Z'`).
/// - The unit keyword of `DATEADD(DAYS, 5, d)` and its kin is text (`unit_keyword_to_text`).
/// - `SUBSTRING(s, pos, length)`, ksqlDB's comma form, calls the registry's `substring`
///   (ksqlDB's, `scalar/strings.rs`); sqlparser reads it as the `FROM .. FOR` form, which
///   DataFusion plans with Postgres' meaning. The `FROM .. FOR` form and `SUBSTR` keep it.
fn ksql_expression_rules<Node: VisitMut>(node: &mut Node) -> PlanResult<()> {
    let flow = visit_expressions_mut(node, |expr| {
        if let Expr::Function(function) = expr
            && function
                .name
                .to_string()
                .eq_ignore_ascii_case(LAMBDA_FUNCTION)
        {
            return match lambda_of(function) {
                Some(lambda) => {
                    *expr = lambda;
                    ControlFlow::Continue(())
                }
                None => ControlFlow::Break(PlanError::Internal {
                    message: "a lambda's call lost its parameters or body".into(),
                }),
            };
        }
        // `pg_catalog.version()`: Postgres' system functions are in schema pg_catalog, which
        // clients name; Eddy's functions have no schema.
        if let Expr::Function(function) = expr
            && let [
                ObjectNamePart::Identifier(schema),
                ObjectNamePart::Identifier(name),
            ] = function.name.0.as_slice()
            && fold(schema) == "pg_catalog"
        {
            function.name = ObjectName(vec![ObjectNamePart::Identifier(name.clone())]);
        }
        // `f(..)[1]->field`: a struct field after an index or a call, named as identifiers
        // fold (sqlparser leaves it an identifier, which DataFusion does not read there).
        if let Expr::CompoundFieldAccess { access_chain, .. } = expr {
            for access in access_chain.iter_mut() {
                if let AccessExpr::Dot(Expr::Identifier(field)) = access {
                    *access = AccessExpr::Dot(Expr::value(Value::SingleQuotedString(fold(field))));
                }
            }
        }
        // ksqlDB's EXPLODE is SQL's UNNEST, which DataFusion plans as its own node;
        // CUBE_EXPLODE explodes the ARRAY of combinations `scalar::cube` makes.
        if let Expr::Function(function) = expr {
            let name = function.name.to_string();
            if name.eq_ignore_ascii_case("explode") {
                function.name = ObjectName::from(vec![Ident::new("unnest")]);
            } else if name.eq_ignore_ascii_case("cube_explode") {
                let combinations = std::mem::replace(expr, Expr::value(Value::Null));
                *expr = function_call(
                    "unnest",
                    vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(combinations))],
                );
                return ControlFlow::Continue(());
            }
        }
        if let Expr::Function(function) = expr
            && let Some(constructor) = constructor_call(function)
        {
            *expr = constructor;
            return ControlFlow::Continue(());
        }
        if let Expr::Function(function) = expr
            && let Err(error) = unit_keyword_to_text(function)
        {
            return ControlFlow::Break(error);
        }
        if let Expr::Struct { values, fields } = expr
            && fields.is_empty()
            && let Some(constructor) = struct_constructor(values)
        {
            *expr = constructor;
            return ControlFlow::Continue(());
        }
        if let Expr::Substring {
            expr: string,
            substring_from: Some(position),
            substring_for,
            special: true,
            shorthand: false,
        } = expr
        {
            let args = [Some(string), Some(position), substring_for.as_mut()]
                .into_iter()
                .flatten()
                .map(|arg| {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(std::mem::replace(
                        arg.as_mut(),
                        Expr::value(Value::Null),
                    )))
                })
                .collect();
            *expr = function_call("substring", args);
            return ControlFlow::Continue(());
        }
        let result = match expr {
            Expr::BinaryOp { left, op, right } if is_comparison(op) => {
                match (epoch_millis_column(left), epoch_millis_column(right)) {
                    (Some(column), _) => string_to_millis(right, column),
                    (None, Some(column)) => string_to_millis(left, column),
                    (None, None) => Ok(()),
                }
            }
            Expr::Between {
                expr, low, high, ..
            } => match epoch_millis_column(expr) {
                Some(column) => {
                    string_to_millis(low, column).and_then(|()| string_to_millis(high, column))
                }
                None => Ok(()),
            },
            _ => Ok(()),
        };
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => ControlFlow::Break(error),
        }
    });
    match flow {
        ControlFlow::Break(error) => Err(error),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The lambda the parser wrote as `ksql_lambda(x, y, (body))` (`eddy_parser::LAMBDA_FUNCTION`).
fn lambda_of(function: &mut Function) -> Option<Expr> {
    let FunctionArguments::List(list) = &mut function.args else {
        return None;
    };
    let mut args: Vec<Expr> = list
        .args
        .drain(..)
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => Some(expr),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let body = match args.pop()? {
        Expr::Nested(body) => body,
        body => Box::new(body),
    };
    let params = args
        .into_iter()
        .map(|param| match param {
            Expr::Identifier(name) => Some(LambdaFunctionParameter {
                name,
                data_type: None,
            }),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    let params = match <[LambdaFunctionParameter; 1]>::try_from(params) {
        Ok([one]) => OneOrManyWithParens::One(one),
        Err(many) if !many.is_empty() => OneOrManyWithParens::Many(many),
        Err(_) => return None,
    };
    Some(Expr::Lambda(LambdaFunction {
        params,
        body,
        syntax: LambdaSyntax::Arrow,
    }))
}

fn is_comparison(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
    )
}

/// The name, as ksqlDB writes it, of the column `expr` is when that column holds epoch
/// milliseconds by definition: ROWTIME, or a windowed table's WINDOWSTART and WINDOWEND.
fn epoch_millis_column(expr: &Expr) -> Option<&'static str> {
    let name = match expr {
        Expr::Identifier(ident) => ident,
        Expr::CompoundIdentifier(parts) => parts.last()?,
        _ => return None,
    };
    let name = fold(name);
    [
        (ROWTIME, "ROWTIME"),
        (WINDOW_START, "WINDOWSTART"),
        (WINDOW_END, "WINDOWEND"),
    ]
    .into_iter()
    .find(|(column, _)| name == *column)
    .map(|(_, written)| written)
}

/// Replaces a string literal compared with `column` by the epoch milliseconds of the
/// timestamp it spells.
fn string_to_millis(expr: &mut Expr, column: &str) -> PlanResult<()> {
    let Expr::Value(ValueWithSpan {
        value: Value::SingleQuotedString(text),
        ..
    }) = expr
    else {
        return Ok(());
    };
    let parsed = cast(
        &StringArray::from(vec![text.as_str()]),
        &DataType::Timestamp(TimeUnit::Millisecond, None),
    )
    .ok()
    .and_then(|parsed| {
        let parsed = parsed.as_primitive::<TimestampMillisecondType>();
        parsed.is_valid(0).then(|| parsed.value(0))
    })
    .ok_or_else(|| {
        PlanError::invalid(format!(
            "'{text}' is not a timestamp to compare {column} with (write it as 2018-01-01T00:00:00, with an optional zone)"
        ))
    })?;
    *expr = Expr::value(Value::Number(parsed.to_string(), false));
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::RwLock;

    use datafusion::datasource::MemTable;

    use super::*;

    /// Sources with no rows: enough to plan against.
    #[derive(Debug)]
    pub(crate) struct EmptySources;

    impl SourceProviders for EmptySources {
        fn provider(&self, source: &SourceDef) -> Result<Arc<dyn TableProvider>, DataFusionError> {
            Ok(Arc::new(MemTable::try_new(
                source.queryable_schema(),
                vec![vec![]],
            )?))
        }
    }

    /// A planner over a catalog of `sources`, without rows.
    pub(crate) fn planner_over(sources: &[SourceDef]) -> SqlPlanner {
        let mut catalog = Catalog::default();
        for source in sources {
            catalog.put_source(source.clone());
        }
        SqlPlanner::new(Arc::new(RwLock::new(catalog)), Arc::new(EmptySources))
    }
}
