//! `CREATE TYPE` and `DROP TYPE`: names for types, as ksqlDB's custom types. A definition is
//! resolved when the type is created (named types inside it replaced by theirs), and a
//! statement using the name is resolved when it is planned, so dropping or re-creating a
//! type never changes a source or query that used it: ksqlDB does not track a type's users
//! either, and DROP TYPE of a type in use succeeds.
//!
//! Never: publish a catalog change that is not yet durable (both are catalog changes).

use eddy_parser::ColumnType;
use eddy_planner::{ObjectKind, PlanError, TypeDef};
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
