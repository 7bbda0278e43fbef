//! ksqlDB's GROUP BY rules, with its messages, for every kind of query: no aggregate function
//! inside GROUP BY (checked on the SQL before DataFusion plans it, which would otherwise fail
//! late with an internal message), and no SELECT or HAVING expression that is neither grouped
//! nor aggregated (DataFusion finds those; its error is reworded here).
//!
//! Never: accept a query DataFusion would refuse; only the wording and SQLSTATE change.

use std::ops::ControlFlow;

use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionState;
use eddy_parser::sqlparser::ast::{Expr, GroupByExpr, Query, SetExpr, Visit, Visitor};

use crate::error::PlanError;

/// The end of DataFusion's diagnostic for an expression neither grouped nor aggregated
/// (`'<expr>' must appear in GROUP BY clause ..`).
const UNGROUPED_DIAGNOSTIC: &str =
    "must appear in GROUP BY clause because it's not an aggregate expression";
/// How DataFusion's message for an ungrouped HAVING expression starts.
const UNGROUPED_HAVING: &str = "Column in HAVING";

/// Refuses an aggregate function call anywhere in a GROUP BY of the query or its subqueries.
pub(crate) fn check_no_aggregate_in_group_by(
    query: &Query,
    state: &SessionState,
) -> Result<(), PlanError> {
    struct GroupBys<'a> {
        state: &'a SessionState,
    }
    impl Visitor for GroupBys<'_> {
        type Break = PlanError;
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<PlanError> {
            let SetExpr::Select(select) = query.body.as_ref() else {
                return ControlFlow::Continue(());
            };
            let GroupByExpr::Expressions(exprs, _) = &select.group_by else {
                return ControlFlow::Continue(());
            };
            for expr in exprs {
                if let Some(name) = aggregate_called(expr, self.state) {
                    return ControlFlow::Break(PlanError::Grouping {
                        message: format!(
                            "GROUP BY does not support aggregate functions: {name} is an aggregate function."
                        ),
                    });
                }
            }
            ControlFlow::Continue(())
        }
    }
    match query.visit(&mut GroupBys { state }) {
        ControlFlow::Break(error) => Err(error),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The name of the first aggregate function `expr` calls, as written.
pub(crate) fn aggregate_called(expr: &Expr, state: &SessionState) -> Option<String> {
    struct Calls<'a> {
        state: &'a SessionState,
    }
    impl Visitor for Calls<'_> {
        type Break = String;
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
            if let Expr::Function(function) = expr {
                let written = function.name.to_string();
                let name = written.to_lowercase();
                let aggregates = self.state.aggregate_functions();
                let is_aggregate = aggregates.contains_key(&name)
                    || aggregates
                        .values()
                        .any(|function| function.aliases().contains(&name));
                if is_aggregate {
                    return ControlFlow::Break(written);
                }
            }
            ControlFlow::Continue(())
        }
    }
    match expr.visit(&mut Calls { state }) {
        ControlFlow::Break(name) => Some(name),
        ControlFlow::Continue(()) => None,
    }
}

/// DataFusion's refusal of an ungrouped SELECT or HAVING expression, in ksqlDB's words;
/// any other error as it is.
pub(crate) fn reword(error: DataFusionError) -> PlanError {
    let ungrouped = error
        .diagnostic()
        .filter(|diagnostic| diagnostic.message.ends_with(UNGROUPED_DIAGNOSTIC))
        .and_then(|diagnostic| {
            let quoted = diagnostic.message.strip_prefix('\'')?;
            Some(quoted.split_once("' ")?.0.to_string())
        });
    let Some(expr) = ungrouped else {
        return PlanError::DataFusion(error);
    };
    let message = if error.to_string().contains(UNGROUPED_HAVING) {
        format!(
            "Non-aggregate HAVING expression not part of GROUP BY: {expr}. Consider switching the HAVING clause to a WHERE clause before the GROUP BY."
        )
    } else {
        format!(
            "Non-aggregate SELECT expression(s) not part of GROUP BY: {expr}. Either add the column(s) to the GROUP BY or remove them from the SELECT."
        )
    };
    PlanError::Grouping { message }
}
