//! `CREATE TYPE` and `DROP TYPE`: names for types, as ksqlDB's custom types. A definition is
//! resolved when the type is created (named types inside it replaced by theirs), and a
//! statement using the name is resolved when it is planned, so dropping or re-creating a
//! type never changes a source that used it (ksqlDB's rule). A persistent query is the one
//! exception: it is planned again from its text at every start, so DROP TYPE refuses a type
//! that a running query casts to (ksqlDB keeps such queries running on the old type;
//! Eddy could not after a restart).
//!
//! Never: publish a catalog change that is not yet durable (both are catalog changes).

use eddy_parser::{ColumnType, Statement, parse_sql};
use eddy_planner::{Catalog, ObjectKind, PlanError, QueryStatus, TypeDef, select_uses_type};
use tracing::info;

use crate::engine::EngineCore;
use crate::error::EngineResult;
use crate::output::{CommandComplete, QueryOutput};

pub async fn create_type(
    engine: &EngineCore,
    name: &str,
    if_not_exists: bool,
    definition: &ColumnType,
) -> EngineResult<QueryOutput> {
    let tag = CommandComplete::new("CREATE TYPE");
    let mut change = engine.change_catalog().await;
    if change.catalog().named_type(name).is_some() {
        if if_not_exists {
            return Ok(QueryOutput::Command(tag));
        }
        return Err(PlanError::AlreadyExists {
            kind: ObjectKind::Type,
            name: name.to_string(),
        }
        .into());
    }
    let data_type = change.catalog().resolve_type(definition)?;
    change.put_type(TypeDef {
        name: name.to_string(),
        data_type,
    });
    change.publish().await?;
    info!(name, "type created");
    Ok(QueryOutput::Command(tag))
}

pub async fn drop_type(
    engine: &EngineCore,
    name: &str,
    if_exists: bool,
) -> EngineResult<QueryOutput> {
    let mut change = engine.change_catalog().await;
    let users = queries_using(change.catalog(), name);
    if !users.is_empty() {
        return Err(PlanError::InUse {
            message: format!(
                "Cannot drop type {name}: the following queries cast to it: [{}]. Terminate \
                 them first: a query is planned again from its text when it restarts.",
                users.join(", ")
            ),
        }
        .into());
    }
    if !change.remove_type(name) {
        if if_exists {
            return Ok(QueryOutput::Command(CommandComplete::new("DROP TYPE")));
        }
        return Err(PlanError::UnknownObject {
            kind: ObjectKind::Type,
            name: name.to_string(),
        }
        .into());
    }
    change.publish().await?;
    info!(name, "type dropped");
    Ok(QueryOutput::Command(CommandComplete::new("DROP TYPE")))
}

/// The ids of the running queries (which the next start plans again) whose statement casts
/// to `name`.
fn queries_using(catalog: &Catalog, name: &str) -> Vec<String> {
    catalog
        .queries()
        .filter(|query| query.status == QueryStatus::Running)
        .filter(|query| {
            parse_sql(&query.sql).is_ok_and(|statements| {
                statements.iter().any(|parsed| match &parsed.statement {
                    Statement::CreateAsSelect(create) => select_uses_type(&create.select, name),
                    Statement::InsertSelect(insert) => select_uses_type(&insert.select, name),
                    _ => false,
                })
            })
        })
        .map(|query| query.id.clone())
        .collect()
}
