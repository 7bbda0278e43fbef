//! Dataflow plans: what a persistent or push query runs, lowered from DataFusion's logical plan.
//!
//! A stateless query is a source and a chain of steps (filter, project) over batches with the
//! source's queryable schema; each expression is compiled once to a DataFusion `PhysicalExpr`
//! and evaluated a batch at a time, so every DataFusion scalar function works. Weights pass
//! through filters and projections unchanged (the Z-set rule for stateless operators).
//!
//! Never: accept a plan node it cannot run incrementally. Aggregates, joins, windows, sorts
//! and DISTINCT answer `Unsupported` until their operators exist, never a wrong answer.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_expr::{PhysicalExpr, create_physical_expr};

use crate::catalog::ROWTIME;
use crate::error::{PlanError, PlanResult};

/// One operator of a stateless dataflow.
#[derive(Debug, Clone)]
pub enum Step {
    /// Keeps the rows for which the predicate is true (NULL counts as false).
    Filter(Arc<dyn PhysicalExpr>),
    /// Computes the output columns; `schema` names and types them.
    Project {
        exprs: Vec<Arc<dyn PhysicalExpr>>,
        schema: SchemaRef,
    },
}

/// A query over one source without state: filters and projections.
#[derive(Debug, Clone)]
pub struct StatelessPlan {
    /// The catalog source it reads.
    pub source: String,
    /// Applied in order to batches with the source's queryable schema.
    pub steps: Vec<Step>,
    /// The columns the user selected (without a carried `rowtime`).
    pub output_schema: SchemaRef,
    /// `LIMIT n` of a push query.
    pub limit: Option<usize>,
}

/// Lowers a logical plan (after the analyzer) to a stateless dataflow. With `carry_rowtime`,
/// the output gets one more column, last: the input row's `rowtime`, which a persistent query
/// stores as its output row's `rowtime` (ksqlDB keeps event time through a query).
pub fn lower_stateless(plan: &LogicalPlan, carry_rowtime: bool) -> PlanResult<StatelessPlan> {
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
    let source = lower_node(plan, &mut steps)?;
    let output_schema = Arc::new(plan.schema().as_arrow().clone());
    if carry_rowtime {
        let LogicalPlan::Projection(projection) = plan else {
            return Err(PlanError::Internal {
                message: "a SELECT plans to a projection".into(),
            });
        };
        let rowtime = projection
            .input
            .schema()
            .qualified_field_with_unqualified_name(ROWTIME)
            .map_err(|_| PlanError::Unsupported {
                feature: "a persistent query whose rows cannot carry their input's rowtime (nested SELECT)".into(),
            })?;
        let rowtime = compile(
            &Expr::Column((rowtime.0, rowtime.1).into()),
            projection.input.schema(),
        )?;
        let Some(Step::Project { exprs, schema }) = steps.last_mut() else {
            return Err(PlanError::Internal {
                message: "a projection lowers to a Project step".into(),
            });
        };
        exprs.push(rowtime);
        let mut fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|field| field.as_ref().clone())
            .collect();
        fields.push(Field::new(ROWTIME, DataType::Int64, false));
        *schema = Arc::new(Schema::new(fields));
    }
    Ok(StatelessPlan {
        source,
        steps,
        output_schema,
        limit,
    })
}

/// Appends the steps of `plan` to `steps` and returns the source it reads.
fn lower_node(plan: &LogicalPlan, steps: &mut Vec<Step>) -> PlanResult<String> {
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
            let source = lower_node(&filter.input, steps)?;
            steps.push(Step::Filter(compile(
                &filter.predicate,
                filter.input.schema(),
            )?));
            Ok(source)
        }
        LogicalPlan::Projection(projection) => {
            let source = lower_node(&projection.input, steps)?;
            let exprs = projection
                .expr
                .iter()
                .map(|expr| compile(expr, projection.input.schema()))
                .collect::<PlanResult<Vec<_>>>()?;
            steps.push(Step::Project {
                exprs,
                schema: Arc::new(projection.schema.as_arrow().clone()),
            });
            Ok(source)
        }
        LogicalPlan::SubqueryAlias(alias) => lower_node(&alias.input, steps),
        LogicalPlan::Aggregate(_) => Err(unsupported(
            "aggregation (GROUP BY, aggregate functions) in a push or persistent query",
        )),
        LogicalPlan::Join(_) => Err(unsupported("a join in a push or persistent query")),
        LogicalPlan::Sort(_) => Err(unsupported("ORDER BY in a push or persistent query")),
        LogicalPlan::Window(_) => Err(unsupported(
            "a window function (OVER) in a push or persistent query",
        )),
        LogicalPlan::Distinct(_) => Err(unsupported("DISTINCT in a push or persistent query")),
        LogicalPlan::Union(_) => Err(unsupported("UNION in a push or persistent query")),
        LogicalPlan::Limit(_) => Err(unsupported(
            "LIMIT inside a subquery of a push or persistent query",
        )),
        LogicalPlan::Values(_) | LogicalPlan::EmptyRelation(_) => Err(unsupported(
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

fn unsupported(feature: &str) -> PlanError {
    PlanError::Unsupported {
        feature: feature.to_string(),
    }
}

/// Compiles one logical expression against the schema of the batches it will see.
pub fn compile(expr: &Expr, schema: &DFSchema) -> PlanResult<Arc<dyn PhysicalExpr>> {
    Ok(create_physical_expr(
        expr,
        schema,
        &ExecutionProps::new(),
        &PhysicalPlanningContext::default(),
    )?)
}
