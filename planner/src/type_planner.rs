//! Named types (`CREATE TYPE`) where DataFusion reads a type: `CAST(x AS address)`, and
//! nested in `ARRAY<address>` or `STRUCT<home address>`. sqlparser reads a name it does not
//! know as a custom type, and DataFusion asks its type planner for those before refusing
//! them; this one looks the name up in the catalog as the statement is planned.
//!
//! A persistent query is planned again from its text at every start, so the named types its
//! casts use must outlive it (`select_uses_type`: DROP TYPE refuses them meanwhile).
//!
//! Never: plan a built-in type here (DataFusion's own reading stays), or answer a name the
//! catalog does not hold with anything but an error.

use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::datatypes::{Field, FieldRef};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::planner::TypePlanner;
use eddy_parser::SelectStatement;
use eddy_parser::sqlparser::ast::{
    ArrayElemTypeDef, DataType as SqlDataType, Expr, ObjectName, visit_expressions,
};

use crate::catalog::SharedCatalog;
use crate::error::PlanError;
use crate::names::{fold, object_name_last};

#[derive(Debug)]
pub(crate) struct NamedTypePlanner {
    pub(crate) catalog: SharedCatalog,
}

impl TypePlanner for NamedTypePlanner {
    fn plan_type_field(&self, sql_type: &SqlDataType) -> Result<Option<FieldRef>> {
        let SqlDataType::Custom(name, modifiers) = sql_type else {
            return Ok(None);
        };
        let Some(name) = named_type(name).filter(|_| modifiers.is_empty()) else {
            return Ok(None);
        };
        let catalog = self
            .catalog
            .read()
            .expect("catalog lock is never poisoned: no panics while held");
        match catalog.named_type(&name) {
            Some(named) => Ok(Some(Arc::new(Field::new(
                "",
                named.data_type.clone(),
                true,
            )))),
            None => Err(DataFusionError::Plan(
                PlanError::UnknownType { name }.to_string(),
            )),
        }
    }
}

/// The folded name a custom type stands for, if it is one plain name.
fn named_type(name: &ObjectName) -> Option<String> {
    match name.0.len() {
        1 => object_name_last(name).map(fold),
        _ => None,
    }
}

/// Whether a query casts anything to the named type `name` (`CAST(x AS name)`, or the name
/// nested in an ARRAY, MAP or STRUCT type).
pub fn select_uses_type(select: &SelectStatement, name: &str) -> bool {
    let mut uses = |expr: &Expr| match expr {
        Expr::Cast { data_type, .. } if type_uses(data_type, name) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    };
    visit_expressions(&select.query, &mut uses).is_break()
        || select
            .partition_by
            .iter()
            .flatten()
            .any(|expr| visit_expressions(expr, &mut uses).is_break())
}

fn type_uses(data_type: &SqlDataType, name: &str) -> bool {
    match data_type {
        SqlDataType::Custom(custom, _) => named_type(custom).as_deref() == Some(name),
        SqlDataType::Array(
            ArrayElemTypeDef::AngleBracket(element)
            | ArrayElemTypeDef::SquareBracket(element, _)
            | ArrayElemTypeDef::Parenthesis(element),
        ) => type_uses(element, name),
        SqlDataType::Map(key, value) => type_uses(key, name) || type_uses(value, name),
        SqlDataType::Struct(fields, _) => fields
            .iter()
            .any(|field| type_uses(&field.field_type, name)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use eddy_parser::{Statement, parse_sql};

    use super::*;

    fn select(sql: &str) -> SelectStatement {
        match parse_sql(sql).map(|mut parsed| parsed.remove(0).statement) {
            Ok(Statement::Select(select)) => select,
            other => panic!("{sql} is not a SELECT: {other:?}"),
        }
    }

    #[test]
    fn a_query_uses_a_type_it_casts_to_however_nested() {
        for sql in [
            "SELECT CAST(a AS Address) FROM s",
            "SELECT x FROM s WHERE CAST(a AS ARRAY<address>) IS NULL",
            "SELECT CAST(a AS STRUCT<home address>) FROM s",
            "SELECT x FROM s PARTITION BY CAST(a AS address)",
        ] {
            assert!(select_uses_type(&select(sql), "address"), "{sql}");
        }
        for sql in [
            "SELECT CAST(a AS \"Address\") FROM s",
            "SELECT address FROM address",
            "SELECT CAST(a AS STRING) FROM s",
        ] {
            assert!(!select_uses_type(&select(sql), "address"), "{sql}");
        }
    }
}
