//! Named types (`CREATE TYPE`) where DataFusion reads a type: `CAST(x AS address)`, and
//! nested in `ARRAY<address>` or `STRUCT<home address>`. sqlparser reads a name it does not
//! know as a custom type, and DataFusion asks its type planner for those before refusing
//! them; this one looks the name up in the catalog as the statement is planned.
//!
//! Never: plan a built-in type here (DataFusion's own reading stays), or answer a name the
//! catalog does not hold with anything but an error.

use std::sync::Arc;

use arrow::datatypes::{Field, FieldRef};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::planner::TypePlanner;
use eddy_parser::sqlparser::ast::DataType as SqlDataType;

use crate::error::PlanError;
use crate::names::{fold, object_name_last};
use crate::sql::SharedCatalog;

#[derive(Debug)]
pub(crate) struct NamedTypePlanner {
    pub(crate) catalog: SharedCatalog,
}

impl TypePlanner for NamedTypePlanner {
    fn plan_type_field(&self, sql_type: &SqlDataType) -> Result<Option<FieldRef>> {
        let SqlDataType::Custom(name, modifiers) = sql_type else {
            return Ok(None);
        };
        let (Some(ident), true, 1) = (object_name_last(name), modifiers.is_empty(), name.0.len())
        else {
            return Ok(None);
        };
        let name = fold(ident);
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
