//! Operators whose meaning ksqlDB defines where DataFusion has none: `+` between two strings
//! concatenates them (ksqlDB's `'a' + 'b'`), as `||` does, NULL if either is NULL.
//!
//! Never: change what an operator means between numbers, or between values DataFusion
//! already knows how to add.

use arrow::datatypes::DataType;
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, Operator};
use eddy_parser::sqlparser::ast::BinaryOperator;

/// Plans ksqlDB's operators before DataFusion's planners see them.
#[derive(Debug)]
pub(crate) struct KsqlOperators;

impl ExprPlanner for KsqlOperators {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let is_text = |operand: &Expr| {
            operand.get_type(schema).is_ok_and(|data_type| {
                matches!(
                    data_type,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
            })
        };
        if expr.op == BinaryOperator::Plus && is_text(&expr.left) && is_text(&expr.right) {
            return Ok(PlannerResult::Planned(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(expr.left),
                Operator::StringConcat,
                Box::new(expr.right),
            ))));
        }
        Ok(PlannerResult::Original(expr))
    }
}
