//! Postgres' `regproc` columns (`pg_type.typinput`, `typreceive` ..) hold a function, shown
//! by its name but compared as its OID: Npgsql loads types with `pg_proc.oid =
//! typ.typreceive`. Eddy's catalog holds them as the names (what clients display), marked
//! regproc in their field's metadata; DataFusion casts such a name to an integer to compare
//! it with an OID, which fails. This analyzer rule, run after type coercion, makes that
//! cast the OID of the function named (`eddy_regproc_oid`), as `pg_proc` numbers it.
//!
//! Never: change a cast of any text but a column the catalog declares regproc.

use std::sync::Arc;

use arrow::datatypes::Field;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::Cast;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Expr, LogicalPlan, ScalarUDF};
use datafusion::optimizer::analyzer::AnalyzerRule;

/// The metadata key and value that mark a catalog column as Postgres' `regproc`.
const PG_TYPE_KEY: &str = "eddy.pg_type";
const REGPROC: &str = "regproc";

/// A catalog column of type `regproc`: text that compares as an OID.
pub fn regproc_field(name: &str) -> Field {
    Field::new(name, arrow::datatypes::DataType::Utf8, true).with_metadata(
        [(PG_TYPE_KEY.to_string(), REGPROC.to_string())]
            .into_iter()
            .collect(),
    )
}

/// Turns a regproc column cast to an integer into the OID of the function it names.
#[derive(Debug)]
pub struct RegprocAsOid {
    /// `eddy_regproc_oid`: a function's name to its OID.
    pub oid_of: Arc<ScalarUDF>,
}

impl AnalyzerRule for RegprocAsOid {
    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let schema = merge_schema(&node.inputs());
            node.map_expressions(|expr| expr.transform_up(|expr| self.as_oid(expr, &schema)))
        })
        .data()
    }

    fn name(&self) -> &str {
        "eddy_regproc_as_oid"
    }
}

impl RegprocAsOid {
    fn as_oid(&self, expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
        let Expr::Cast(Cast { expr: inner, field }) = &expr else {
            return Ok(Transformed::no(expr));
        };
        let Expr::Column(column) = inner.as_ref() else {
            return Ok(Transformed::no(expr));
        };
        let is_regproc =
            schema
                .qualified_field_from_column(column)
                .is_ok_and(|(_, column_field)| {
                    column_field.metadata().get(PG_TYPE_KEY).map(String::as_str) == Some(REGPROC)
                });
        if !is_regproc || !field.data_type().is_integer() {
            return Ok(Transformed::no(expr));
        }
        let oid = self.oid_of.call(vec![inner.as_ref().clone()]);
        Ok(Transformed::yes(Expr::Cast(Cast::new_from_field(
            Box::new(oid),
            field.clone(),
        ))))
    }
}
