//! Dataflow plans: what a persistent or push query runs, lowered from DataFusion's logical plan.
//!
//! A stateless query is a source and a chain of steps (filter, project) over batches with the
//! source's queryable schema; each expression is simplified as DataFusion's optimizer would,
//! compiled once to a `PhysicalExpr` and evaluated a batch at a time, so every DataFusion
//! scalar function works. Weights pass through filters and projections unchanged (the Z-set
//! rule for stateless operators).
//!
//! An aggregation (`GROUP BY`, `HAVING`) lowers to an [`AggregatePlan`]: stateless steps into
//! the aggregate, its group keys and aggregate calls, and stateless steps over its output
//! rows (HAVING, the SELECT list). The executor keeps the aggregate's state.
//!
//! A WINDOW clause makes the aggregation windowed (`AggregatePlan::window`); its bounds are
//! aggregate calls the executor's windowed GROUP BY answers (see `window.rs`).
//!
//! A stream joined with a table is a step of the chain ([`Step::LookupJoin`],
//! `lookup_join.rs`): lowering it needs the catalog ([`lower_over`]); [`lower`] refuses joins.
//! Two tables joined are a step too ([`Step::Join`], `join.rs`) that brings a second input
//! with its own steps: the dataflow is then a graph whose inputs [`Dataflow::sources`]
//! numbers.
//!
//! An aggregation below the query's own (a subquery's) is a step too ([`Step::Aggregate`]),
//! windowed when its subquery reads a window TVF (`window_tvf::SubqueryWindow`, found by the
//! subquery's alias).
//!
//! Never: accept a plan node it cannot run incrementally. Window functions (OVER), sorts and
//! DISTINCT answer `Unsupported` until their operators exist, never a wrong answer.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{
    Aggregate, Expr, ExprSchemable, Filter, LogicalPlan, Projection, Unnest,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column as PhysicalColumn;
use datafusion::scalar::ScalarValue;

use crate::catalog::Catalog;
use crate::error::{PlanError, PlanResult};
use crate::join::{JoinShape, join_shape, left_input_source, lower_two_input_join};
use crate::lookup_join::LookupJoinPlan;
use crate::lookup_join::lower_join;
use crate::sql::compile;
pub use crate::step::{AggregateCall, AggregatePlan, JoinPlan, Step, UnnestColumn};
use crate::temporal::TemporalFilter;
use crate::window::WindowPlan;
use crate::window_tvf::SubqueryWindow;

/// A query over one source without state: filters and projections.
#[derive(Debug, Clone)]
pub struct StatelessPlan {
    /// The catalog source it reads.
    pub source: String,
    /// Applied in order to batches with the source's queryable schema.
    pub steps: Vec<Step>,
    /// The columns the user selected.
    pub output_schema: SchemaRef,
    /// `LIMIT n` of a push query.
    pub limit: Option<usize>,
    /// A temporal filter (`ROWTIME > NOW() - ..`), applied to the source's rows first.
    pub temporal_filter: Option<TemporalFilter>,
}

/// What a push or persistent query runs.
#[derive(Debug, Clone)]
pub enum Dataflow {
    Stateless(StatelessPlan),
    Aggregate(AggregatePlan),
}

impl Dataflow {
    pub fn source(&self) -> &str {
        match self {
            Dataflow::Stateless(plan) => &plan.source,
            Dataflow::Aggregate(plan) => &plan.source,
        }
    }

    pub fn output_schema(&self) -> &SchemaRef {
        match self {
            Dataflow::Stateless(plan) => &plan.output_schema,
            Dataflow::Aggregate(plan) => &plan.output_schema,
        }
    }

    /// The steps of the dataflow's main chain, from its source on.
    fn main_steps(&self) -> Vec<&Step> {
        match self {
            Dataflow::Stateless(plan) => plan.steps.iter().collect(),
            Dataflow::Aggregate(plan) => {
                plan.input_steps.iter().chain(&plan.output_steps).collect()
            }
        }
    }

    /// What `pick` finds among the steps of the dataflow's main chain, nearest its source
    /// first.
    fn on_main_chain<'a, T: ?Sized>(
        &'a self,
        pick: impl Fn(&'a Step) -> Option<&'a T>,
    ) -> Vec<&'a T> {
        self.main_steps().into_iter().filter_map(pick).collect()
    }

    /// The stream-table joins of the dataflow, nearest its source first.
    pub fn lookup_joins(&self) -> Vec<&LookupJoinPlan> {
        self.on_main_chain(|step| match step {
            Step::LookupJoin(join) => Some(join.as_ref()),
            _ => None,
        })
    }

    /// The joins of two inputs (two tables or two streams) on the dataflow's main chain,
    /// nearest its source first.
    pub fn two_input_joins(&self) -> Vec<&JoinPlan> {
        self.on_main_chain(|step| match step {
            Step::Join(join) => Some(join.as_ref()),
            _ => None,
        })
    }

    /// The GROUP BYs inside the query on its main chain (subqueries'), nearest its source
    /// first.
    pub fn nested_aggregates(&self) -> Vec<&AggregatePlan> {
        self.on_main_chain(|step| match step {
            Step::Aggregate(plan) => Some(plan.as_ref()),
            _ => None,
        })
    }

    /// The sources whose rows the dataflow reads, numbered as its inputs: the main chain's
    /// source first, then each join's second input, in the order of the steps (a second
    /// input's own joins right after it).
    pub fn sources(&self) -> Vec<&str> {
        fn second_inputs<'a>(steps: &[&'a Step], sources: &mut Vec<&'a str>) {
            for step in steps {
                if let Step::Join(join) = step {
                    sources.push(&join.right.source);
                    let right_steps: Vec<&Step> = join.right.steps.iter().collect();
                    second_inputs(&right_steps, sources);
                }
            }
        }
        let mut sources = vec![self.source()];
        second_inputs(&self.main_steps(), &mut sources);
        sources
    }

    /// The same dataflow with windows that wait `idle_timeout_ms` for input when their
    /// WINDOW clause sets no IDLE TIMEOUT (a session's default).
    pub fn with_default_idle_timeout(mut self, idle_timeout_ms: Option<i64>) -> Dataflow {
        if let Dataflow::Aggregate(AggregatePlan {
            window: Some(window),
            ..
        }) = &mut self
            && window.idle_timeout_ms.is_none()
        {
            window.idle_timeout_ms = idle_timeout_ms;
        }
        self
    }

    /// The same dataflow with a temporal filter on its source's rows.
    pub fn with_temporal_filter(mut self, filter: TemporalFilter) -> Dataflow {
        match &mut self {
            Dataflow::Stateless(plan) => plan.temporal_filter = Some(filter),
            Dataflow::Aggregate(plan) => plan.temporal_filter = Some(filter),
        }
        self
    }

    pub fn temporal_filter(&self) -> Option<&TemporalFilter> {
        match self {
            Dataflow::Stateless(plan) => plan.temporal_filter.as_ref(),
            Dataflow::Aggregate(plan) => plan.temporal_filter.as_ref(),
        }
    }

    /// The same aggregation over windows of ROWTIME: a window clause belongs to a GROUP BY.
    pub fn with_window(self, window: WindowPlan) -> PlanResult<Dataflow> {
        self.with_window_on(window, None)
    }

    /// The same aggregation over windows of `time_column` (a column of the aggregation's
    /// input rows, BIGINT epoch milliseconds or TIMESTAMP), or of ROWTIME for None.
    pub fn with_window_on(
        self,
        window: WindowPlan,
        time_column: Option<&str>,
    ) -> PlanResult<Dataflow> {
        let Dataflow::Aggregate(plan) = self else {
            return Err(PlanError::invalid(
                "WINDOW clause requires a GROUP BY clause.",
            ));
        };
        let window_time = time_column
            .map(|name| window_time_column(&plan.input_schema, name))
            .transpose()?;
        Ok(Dataflow::Aggregate(AggregatePlan {
            window: Some(window),
            window_time,
            ..plan
        }))
    }

    /// Makes output column `position` of a stateless dataflow compute `value`, an expression
    /// over the input of its last projection, of the column's type.
    pub(crate) fn compute_output(
        &mut self,
        position: usize,
        value: Arc<dyn PhysicalExpr>,
    ) -> PlanResult<()> {
        let Dataflow::Stateless(plan) = self else {
            return Err(PlanError::Internal {
                message: "an aggregation's output column computed anew".into(),
            });
        };
        let columns = plan.output_schema.fields().len();
        match plan.steps.last_mut() {
            Some(Step::Project { exprs, .. }) if exprs.len() == columns && position < columns => {
                exprs[position] = value;
                Ok(())
            }
            _ => Err(PlanError::Internal {
                message: format!("output column {position} is not computed by a projection"),
            }),
        }
    }

    /// Makes the output these columns of the current output, in this order, under these
    /// names: the last projection picks them, so nothing is computed twice.
    pub fn select_output(&mut self, columns: &[(usize, String)]) -> PlanResult<()> {
        let (steps, output_schema) = match self {
            Dataflow::Stateless(plan) => (&mut plan.steps, &mut plan.output_schema),
            Dataflow::Aggregate(plan) => (&mut plan.output_steps, &mut plan.output_schema),
        };
        let fields =
            columns
                .iter()
                .map(|(position, name)| {
                    let field = output_schema.fields().get(*position).ok_or_else(|| {
                        PlanError::Internal {
                            message: format!("output column {position} does not exist"),
                        }
                    })?;
                    Ok(field.as_ref().clone().with_name(name))
                })
                .collect::<PlanResult<Vec<Field>>>()?;
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            output_schema.metadata().clone(),
        ));
        let exprs: Vec<Arc<dyn PhysicalExpr>> = match steps.last() {
            Some(Step::Project { exprs, .. }) if exprs.len() == output_schema.fields().len() => {
                let picked = columns
                    .iter()
                    .map(|(position, _)| Arc::clone(&exprs[*position]))
                    .collect();
                steps.pop();
                picked
            }
            _ => columns
                .iter()
                .map(|(position, name)| {
                    Arc::new(PhysicalColumn::new(name, *position)) as Arc<dyn PhysicalExpr>
                })
                .collect(),
        };
        steps.push(Step::Project {
            exprs,
            schema: Arc::clone(&schema),
        });
        *output_schema = schema;
        Ok(())
    }
}

/// Column `name` of an aggregation's input rows, as the time its windows are computed on:
/// a BIGINT of epoch milliseconds or a TIMESTAMP.
fn window_time_column(input_schema: &Schema, name: &str) -> PlanResult<Arc<dyn PhysicalExpr>> {
    let schema = DFSchema::try_from(input_schema.clone())?;
    let column = Expr::Column(datafusion::common::Column::from_name(name));
    let time_type = column.get_type(&schema)?;
    if !matches!(
        time_type,
        arrow::datatypes::DataType::Int64 | arrow::datatypes::DataType::Timestamp(..)
    ) {
        return Err(PlanError::TypeMismatch {
            message: format!(
                "a window's time column must be a BIGINT of epoch milliseconds or a TIMESTAMP, and \"{name}\" is {}",
                crate::types::type_name(&time_type)
            ),
        });
    }
    compile(&column, &schema)
}

/// Makes the aggregation among `steps` (a subquery's, lowered) the windowed one `window`
/// says.
fn window_subquery_aggregate(steps: &mut [Step], window: &SubqueryWindow) -> PlanResult<()> {
    let mut aggregates = steps.iter_mut().filter_map(|step| match step {
        Step::Aggregate(plan) => Some(plan),
        _ => None,
    });
    let (Some(plan), None) = (aggregates.next(), aggregates.next()) else {
        return Err(PlanError::Internal {
            message: format!(
                "subquery {} with a window TVF does not lower to one aggregation",
                window.alias
            ),
        });
    };
    let plan = Arc::make_mut(plan);
    plan.window_time = Some(window_time_column(
        &plan.input_schema,
        &window.window.time_column,
    )?);
    plan.window = Some(window.window.plan);
    Ok(())
}

/// Lowers a logical plan (after the analyzer) to a dataflow: an aggregation if it has one,
/// else a stateless plan (see `lower_stateless`). Joins are refused: see [`lower_over`].
pub fn lower(plan: &LogicalPlan) -> PlanResult<Dataflow> {
    lower_with(plan, &Lowering::without_catalog())
}

/// [`lower`], with stream-table joins lowered against the sources of `catalog`.
pub fn lower_over(plan: &LogicalPlan, catalog: &Catalog) -> PlanResult<Dataflow> {
    lower_with(plan, &Lowering::over(catalog, &[]))
}

/// [`lower_over`], with the windowed aggregations of subqueries that read window TVFs.
pub(crate) fn lower_with_subquery_windows(
    plan: &LogicalPlan,
    catalog: &Catalog,
    subquery_windows: &[SubqueryWindow],
) -> PlanResult<Dataflow> {
    lower_with(plan, &Lowering::over(catalog, subquery_windows))
}

/// What lowering reads besides the plan.
#[derive(Clone, Copy)]
struct Lowering<'a> {
    /// The sources joins read; None: joins are refused.
    catalog: Option<&'a Catalog>,
    /// The windows of subqueries' aggregations, by the subqueries' aliases.
    subquery_windows: &'a [SubqueryWindow],
}

impl<'a> Lowering<'a> {
    fn over(catalog: &'a Catalog, subquery_windows: &'a [SubqueryWindow]) -> Self {
        Lowering {
            catalog: Some(catalog),
            subquery_windows,
        }
    }

    fn without_catalog() -> Self {
        Lowering {
            catalog: None,
            subquery_windows: &[],
        }
    }
}

fn lower_with(plan: &LogicalPlan, cx: &Lowering<'_>) -> PlanResult<Dataflow> {
    let mut output_steps = Vec::new();
    let Some(aggregate) = lower_above_aggregate(plan, &mut output_steps)? else {
        return lower_stateless_with(plan, cx).map(Dataflow::Stateless);
    };
    if matches!(plan, LogicalPlan::Limit(_)) {
        return Err(PlanError::unsupported(
            "LIMIT in a persistent or push query with GROUP BY",
        ));
    }
    let mut input_steps = Vec::new();
    let source = lower_node(&aggregate.input, &mut input_steps, cx)?;
    crate::asof_join::asof_into_table(&mut input_steps);
    let output_schema = Arc::new(plan.schema().as_arrow().clone());
    aggregate_plan(aggregate, source, input_steps, output_steps, output_schema)
        .map(Dataflow::Aggregate)
}

/// The plan of `aggregate` over `source`'s rows through `input_steps`, its rows then through
/// `output_steps` (giving `output_schema`).
fn aggregate_plan(
    aggregate: &Aggregate,
    source: String,
    input_steps: Vec<Step>,
    output_steps: Vec<Step>,
    output_schema: SchemaRef,
) -> PlanResult<AggregatePlan> {
    let input_schema = aggregate.input.schema();
    let group_exprs = aggregate
        .group_expr
        .iter()
        .map(|expr| match expr {
            Expr::GroupingSet(_) => Err(PlanError::unsupported(
                "GROUPING SETS, CUBE or ROLLUP in a push or persistent query",
            )),
            expr => compile(expr, input_schema),
        })
        .collect::<PlanResult<Vec<_>>>()?;
    check_distinct_group_exprs(&aggregate.group_expr)?;
    let group_count = aggregate.group_expr.len();
    let aggregates = aggregate
        .aggr_expr
        .iter()
        .enumerate()
        .map(|(position, expr)| {
            let output = aggregate
                .schema
                .fields()
                .get(group_count + position)
                .ok_or_else(|| PlanError::Internal {
                    message: format!("the aggregate's schema lacks the column of {expr}"),
                })?
                .as_ref()
                .clone();
            aggregate_call(expr, input_schema, output)
        })
        .collect::<PlanResult<Vec<_>>>()?;
    let aggregate_schema = Arc::new(aggregate.schema.as_arrow().clone());
    Ok(AggregatePlan {
        source,
        input_steps,
        input_schema: Arc::new(input_schema.as_arrow().clone()),
        group_exprs,
        aggregates,
        aggregate_schema,
        output_steps,
        output_schema,
        window: None,
        window_time: None,
        temporal_filter: None,
    })
}

/// ksqlDB refuses a GROUP BY that names one expression twice (`GROUP BY data, t.data`): the
/// table's key would hold the same column twice.
fn check_distinct_group_exprs(group_exprs: &[Expr]) -> PlanResult<()> {
    for (position, expr) in group_exprs.iter().enumerate() {
        if group_exprs[..position].contains(expr) {
            return Err(PlanError::invalid(format!(
                "duplicate GROUP BY expression: {expr}"
            )));
        }
    }
    Ok(())
}

/// Finds the Aggregate under the SELECT list and HAVING, appending their steps.
fn lower_above_aggregate<'a>(
    plan: &'a LogicalPlan,
    steps: &mut Vec<Step>,
) -> PlanResult<Option<&'a Aggregate>> {
    match plan {
        LogicalPlan::Aggregate(aggregate) => Ok(Some(aggregate)),
        LogicalPlan::Limit(limit) => lower_above_aggregate(&limit.input, steps),
        LogicalPlan::SubqueryAlias(alias) => lower_above_aggregate(&alias.input, steps),
        LogicalPlan::Filter(filter) => {
            let found = lower_above_aggregate(&filter.input, steps)?;
            if found.is_some() {
                steps.push(filter_step(filter)?);
            }
            Ok(found)
        }
        LogicalPlan::Projection(projection) => {
            let found = lower_above_aggregate(&projection.input, steps)?;
            if found.is_some() {
                steps.push(project_step(projection)?);
            }
            Ok(found)
        }
        _ => Ok(None),
    }
}

fn aggregate_call(
    expr: &Expr,
    input_schema: &DFSchema,
    output: Field,
) -> PlanResult<AggregateCall> {
    let Expr::AggregateFunction(call) = expr.clone().unalias() else {
        return Err(PlanError::Internal {
            message: format!("an aggregate expression that is not a function call: {expr}"),
        });
    };
    let function = call.func.name().to_lowercase();
    let params = &call.params;
    if params.filter.is_some() {
        return Err(PlanError::unsupported(
            "FILTER (WHERE ..) on an aggregate in a push or persistent query",
        ));
    }
    if !params.order_by.is_empty() {
        return Err(PlanError::unsupported(
            "ORDER BY inside an aggregate in a push or persistent query",
        ));
    }
    let constant_args: Vec<Option<ScalarValue>> = params
        .args
        .iter()
        .map(|arg| match arg {
            Expr::Literal(value, _) => Some(value.clone()),
            _ => None,
        })
        .collect();
    // DataFusion writes COUNT(*) as COUNT(1): a count of rows, with no argument to evaluate.
    let count_star = function == "count"
        && !params.distinct
        && matches!(constant_args.as_slice(), [Some(value)] if !value.is_null());
    let args = match count_star {
        true => Vec::new(),
        false => params
            .args
            .iter()
            .map(|arg| compile(arg, input_schema))
            .collect::<PlanResult<Vec<_>>>()?,
    };
    Ok(AggregateCall {
        function,
        distinct: params.distinct,
        constant_args: if count_star {
            Vec::new()
        } else {
            constant_args
        },
        args,
        output,
    })
}

/// Lowers a logical plan (after the analyzer) to a stateless dataflow. Event time is not a
/// column of it: each row's `rowtime` travels beside the row (the executor's `Changes`).
pub fn lower_stateless(plan: &LogicalPlan) -> PlanResult<StatelessPlan> {
    lower_stateless_with(plan, &Lowering::without_catalog())
}

fn lower_stateless_with(plan: &LogicalPlan, cx: &Lowering<'_>) -> PlanResult<StatelessPlan> {
    let (plan, limit) = match plan {
        LogicalPlan::Limit(limit) => {
            let fetch = match limit.get_fetch_type()? {
                datafusion::logical_expr::logical_plan::FetchType::Literal(fetch) => fetch,
                datafusion::logical_expr::logical_plan::FetchType::UnsupportedExpr => {
                    return Err(PlanError::Invalid {
                        message: "LIMIT of a push query must be a constant".into(),
                    });
                }
            };
            let has_offset = !matches!(
                limit.get_skip_type()?,
                datafusion::logical_expr::logical_plan::SkipType::Literal(0)
            );
            if has_offset {
                return Err(PlanError::Unsupported {
                    feature: "OFFSET in a push or persistent query".into(),
                });
            }
            (limit.input.as_ref(), fetch)
        }
        other => (other, None),
    };
    let mut steps = Vec::new();
    let source = lower_node(plan, &mut steps, cx)?;
    let output_schema = Arc::new(plan.schema().as_arrow().clone());
    Ok(StatelessPlan {
        source,
        steps,
        output_schema,
        limit,
        temporal_filter: None,
    })
}

/// Appends the steps of `plan` to `steps` and returns the source it reads; joins only with
/// a catalog to read their sources from.
fn lower_node(plan: &LogicalPlan, steps: &mut Vec<Step>, cx: &Lowering<'_>) -> PlanResult<String> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let scan_schema = scan.source.schema();
            if let Some(predicate) = conjunction(scan.filters.iter().cloned()) {
                let full =
                    DFSchema::try_from_qualified_schema(scan.table_name.clone(), &scan_schema)?;
                steps.push(Step::Filter(compile(&predicate, &full)?));
            }
            if let Some(projection) = &scan.projection {
                let full =
                    DFSchema::try_from_qualified_schema(scan.table_name.clone(), &scan_schema)?;
                let exprs = projection
                    .iter()
                    .map(|index| {
                        let (qualifier, field) = full.qualified_field(*index);
                        compile(&Expr::Column((qualifier, field).into()), &full)
                    })
                    .collect::<PlanResult<Vec<_>>>()?;
                steps.push(Step::Project {
                    exprs,
                    schema: Arc::new(scan.projected_schema.as_arrow().clone()),
                });
            }
            Ok(scan.table_name.table().to_string())
        }
        LogicalPlan::Filter(filter) => {
            let source = lower_node(&filter.input, steps, cx)?;
            steps.push(filter_step(filter)?);
            Ok(source)
        }
        LogicalPlan::Projection(projection) => {
            let source = lower_node(&projection.input, steps, cx)?;
            steps.push(project_step(projection)?);
            Ok(source)
        }
        LogicalPlan::SubqueryAlias(alias) => {
            let first_step = steps.len();
            let source = lower_node(&alias.input, steps, cx)?;
            let window = cx
                .subquery_windows
                .iter()
                .find(|window| window.alias == alias.alias.table());
            if let Some(window) = window {
                window_subquery_aggregate(&mut steps[first_step..], window)?;
            }
            Ok(source)
        }
        LogicalPlan::Unnest(unnest) => {
            let source = lower_node(&unnest.input, steps, cx)?;
            steps.push(unnest_step(unnest)?);
            Ok(source)
        }
        LogicalPlan::Aggregate(aggregate) => {
            let source = lower_node(&aggregate.input, steps, cx)?;
            crate::asof_join::asof_into_table(steps);
            let rows = Arc::clone(aggregate.schema.inner());
            let plan = aggregate_plan(aggregate, source.clone(), Vec::new(), Vec::new(), rows)?;
            steps.push(Step::Aggregate(Arc::new(plan)));
            Ok(source)
        }
        LogicalPlan::Join(join) => {
            let Some(catalog) = cx.catalog else {
                return Err(PlanError::unsupported(
                    "a join in a push or persistent query",
                ));
            };
            let source = lower_node(&join.left, steps, cx)?;
            let subquery_source = left_input_source(join, catalog, cx.subquery_windows)?;
            let left_source = match &subquery_source {
                Some(source) => source,
                None => catalog.source_required(&source)?,
            };
            match join_shape(join, left_source, steps, catalog, cx.subquery_windows)? {
                JoinShape::Lookup => {
                    let lookup = lower_join(join, left_source, catalog)?;
                    steps.push(Step::LookupJoin(Arc::new(lookup)));
                }
                JoinShape::TwoInputs(shape) => {
                    let mut right_steps = Vec::new();
                    lower_node(&join.right, &mut right_steps, cx)?;
                    let plan = lower_two_input_join(join, shape, left_source, right_steps)?;
                    steps.push(Step::Join(Arc::new(plan)));
                }
            }
            Ok(source)
        }
        LogicalPlan::Sort(_) => Err(PlanError::unsupported(
            "ORDER BY in a push or persistent query",
        )),
        LogicalPlan::Window(_) => Err(PlanError::unsupported(
            "a window function (OVER) in a push or persistent query",
        )),
        LogicalPlan::Distinct(_) => Err(PlanError::unsupported(
            "DISTINCT in a push or persistent query",
        )),
        LogicalPlan::Union(_) => Err(PlanError::unsupported(
            "UNION in a push or persistent query",
        )),
        LogicalPlan::Limit(_) => Err(PlanError::unsupported(
            "LIMIT inside a subquery of a push or persistent query",
        )),
        LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => Err(PlanError::unsupported(
            "a push or persistent query without a FROM stream",
        )),
        other => Err(PlanError::Unsupported {
            feature: format!("{} in a push or persistent query", node_name(other)),
        }),
    }
}

fn node_name(plan: &LogicalPlan) -> String {
    let display = plan.display().to_string();
    display
        .split(':')
        .next()
        .unwrap_or("this plan node")
        .trim()
        .to_string()
}

/// The step that keeps the rows a filter passes.
fn filter_step(filter: &Filter) -> PlanResult<Step> {
    Ok(Step::Filter(compile(
        &filter.predicate,
        filter.input.schema(),
    )?))
}

/// The step that computes a projection's columns.
/// EXPLODE of ARRAYs, one level deep; unnesting a struct or a nested level is not
/// ksqlDB's EXPLODE.
fn unnest_step(unnest: &Unnest) -> PlanResult<Step> {
    if !unnest.struct_type_columns.is_empty() {
        return Err(PlanError::unsupported("EXPLODE of a STRUCT"));
    }
    let input_schema = unnest.input.schema();
    let columns = unnest
        .dependency_indices
        .iter()
        .zip(unnest.schema.columns())
        .map(|(&input, output)| {
            let exploded = unnest
                .list_type_columns
                .iter()
                .find(|(list, unnested)| *list == input && unnested.output_column == output);
            match exploded {
                Some((_, unnested)) if unnested.depth != 1 => Err(PlanError::unsupported(
                    "EXPLODE of an ARRAY nested more than one level deep",
                )),
                Some(_) => Ok(UnnestColumn::Element(input)),
                None if input < input_schema.fields().len() => Ok(UnnestColumn::Repeated(input)),
                None => Err(PlanError::Internal {
                    message: format!("unnest column {input} is not an input column"),
                }),
            }
        })
        .collect::<PlanResult<Vec<_>>>()?;
    Ok(Step::Unnest {
        columns,
        schema: Arc::new(unnest.schema.as_arrow().clone()),
    })
}

fn project_step(projection: &Projection) -> PlanResult<Step> {
    let exprs = projection
        .expr
        .iter()
        .map(|expr| compile(expr, projection.input.schema()))
        .collect::<PlanResult<Vec<_>>>()?;
    Ok(Step::Project {
        exprs,
        schema: Arc::new(projection.schema.as_arrow().clone()),
    })
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Schema};
    use datafusion::functions::core::expr_fn::coalesce;
    use datafusion::logical_expr::{col, lit, table_scan};

    use super::*;

    /// DataFusion evaluates COALESCE only as the CASE its simplifier rewrites it to; a lowered
    /// plan, which no optimizer sees, must answer as a pull query does.
    #[test]
    fn lowered_expressions_are_simplified_before_they_are_compiled() {
        let schema = Schema::new(vec![Field::new("a", DataType::Int64, true)]);
        let plan = table_scan(Some("ev"), &schema, None)
            .and_then(|scan| scan.project(vec![coalesce(vec![col("a"), lit(-1_i64)])]))
            .and_then(|projection| projection.build())
            .expect("the plan builds");
        let Dataflow::Stateless(dataflow) = lower(&plan).expect("the plan lowers") else {
            panic!("a projection lowers to a stateless dataflow");
        };
        let [Step::Project { exprs, .. }] = dataflow.steps.as_slice() else {
            panic!("one projection step: {:?}", dataflow.steps);
        };
        let rows = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(Int64Array::from(vec![Some(1), None]))],
        )
        .expect("the rows match the schema");
        let answer = exprs[0]
            .evaluate(&rows)
            .and_then(|value| value.into_array(rows.num_rows()))
            .expect("COALESCE evaluates");
        let expected: &dyn Array = &Int64Array::from(vec![1, -1]);
        assert_eq!(answer.as_ref(), expected);
    }
}
