//! What each statement needs, checked before it runs: reading a stream or table (pull and
//! push queries, COPY TO, the input of a persistent query) needs SELECT on it; writing one
//! (INSERT, COPY FROM, UPDATE, DELETE) needs INSERT, and UPDATE and DELETE, which read the
//! rows they change, SELECT too; creating or dropping streams, tables, types and queries
//! needs CREATE on the database. A superuser, or a trusted session, needs nothing.
//!
//! Privileges are read at each statement, so a REVOKE holds for sessions already open. A
//! refusal is logged (user, privilege, object) and answered with SQLSTATE 42501.
//!
//! A session whose transactions are read only (`default_transaction_read_only`, set by
//! `SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`) runs no statement that writes a
//! source, the catalog or the users, as a Postgres read-only transaction (SQLSTATE 25006):
//! each of Eddy's statements is its own transaction.
//!
//! Never: let a statement through because its sources could not be worked out.

use eddy_parser::{ExplainTarget, SelectStatement, SourceKind, Statement};

use crate::access::Principal;
use crate::engine::EngineCore;
use crate::error::{EngineError, EngineResult};
use crate::session_properties::SessionProperties;

/// One thing a statement needs.
#[derive(Debug, PartialEq, Eq)]
enum Needed {
    Select(String),
    Insert(String),
    Create,
}

/// Refuses `statement` if `principal` lacks a privilege it needs. User and privilege
/// statements check their own rules when they run.
pub(crate) fn check_statement(
    engine: &EngineCore,
    principal: &Principal,
    statement: &Statement,
) -> EngineResult<()> {
    if engine.access().is_superuser(principal) {
        return Ok(());
    }
    let Principal::User(name) = principal else {
        return Ok(());
    };
    let Some(user) = engine.access().user(name) else {
        return Err(principal
            .denied("to a user that no longer exists".into())
            .into());
    };
    for needed in needs(engine, statement) {
        let granted = match &needed {
            Needed::Select(source) => user.select.contains(source),
            Needed::Insert(source) => user.insert.contains(source),
            Needed::Create => user.create,
        };
        if !granted {
            let object = match &needed {
                Needed::Select(source) | Needed::Insert(source) => format!("for table {source}"),
                Needed::Create => "for database eddy".to_owned(),
            };
            return Err(principal.denied(object).into());
        }
    }
    Ok(())
}

/// Refuses a statement that writes when the session's transactions are read only.
pub(crate) fn check_read_only(
    properties: &SessionProperties,
    statement: &Statement,
) -> EngineResult<()> {
    if !properties.read_only() {
        return Ok(());
    }
    match writes(statement) {
        Some(command) => Err(EngineError::ReadOnlyTransaction(command)),
        None => Ok(()),
    }
}

/// The command a statement that writes is named by in Postgres' refusal; None for one that
/// only reads or changes the session.
fn writes(statement: &Statement) -> Option<&'static str> {
    let create_or_drop = |kind: &SourceKind, create: bool| match (kind, create) {
        (SourceKind::Stream, true) => "CREATE STREAM",
        (SourceKind::Table, true) => "CREATE TABLE",
        (SourceKind::Stream, false) => "DROP STREAM",
        (SourceKind::Table, false) => "DROP TABLE",
    };
    Some(match statement {
        Statement::CreateSource(create) => create_or_drop(&create.kind, true),
        Statement::CreateAsSelect(create) => create_or_drop(&create.kind, true),
        Statement::Drop { kind, .. } => create_or_drop(kind, false),
        Statement::InsertSelect(_) | Statement::InsertValues(_) => "INSERT",
        Statement::CopyFrom(_) => "COPY FROM",
        Statement::Delete(_) => "DELETE",
        Statement::Update(_) => "UPDATE",
        Statement::Terminate(_) => "TERMINATE",
        Statement::CreateType { .. } => "CREATE TYPE",
        Statement::DropType { .. } => "DROP TYPE",
        Statement::CreateUser(_) => "CREATE ROLE",
        Statement::AlterUser(_) => "ALTER ROLE",
        Statement::DropUser { .. } => "DROP ROLE",
        Statement::Grant(_) => "GRANT",
        Statement::Revoke(_) => "REVOKE",
        Statement::Explain(explain) => match &explain.target {
            ExplainTarget::Statement(statement) if explain.analyze => writes(statement)?,
            _ => return None,
        },
        Statement::Select(_)
        | Statement::Copy(_)
        | Statement::ShowStreams { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowQueries { .. }
        | Statement::ShowProperties
        | Statement::ShowVariable { .. }
        | Statement::ShowTypes
        | Statement::Describe { .. }
        | Statement::Set { .. }
        | Statement::SetSessionCharacteristics { .. }
        | Statement::Unset { .. }
        | Statement::Transaction(_)
        | Statement::Discard(_)
        | Statement::Deallocate(_) => return None,
    })
}

fn needs(engine: &EngineCore, statement: &Statement) -> Vec<Needed> {
    match statement {
        Statement::Select(select) | Statement::Copy(select) => reads(engine, select),
        Statement::CreateAsSelect(create) => {
            let mut needed = vec![Needed::Create];
            needed.extend(reads(engine, &create.select));
            needed
        }
        Statement::InsertSelect(insert) => {
            let mut needed = vec![Needed::Insert(insert.target.clone())];
            needed.extend(reads(engine, &insert.select));
            needed
        }
        Statement::InsertValues(insert) => vec![Needed::Insert(insert.target.clone())],
        Statement::CopyFrom(copy) => vec![Needed::Insert(copy.target.clone())],
        Statement::Delete(delete) => vec![
            Needed::Select(delete.target.clone()),
            Needed::Insert(delete.target.clone()),
        ],
        Statement::Update(update) => vec![
            Needed::Select(update.target.clone()),
            Needed::Insert(update.target.clone()),
        ],
        Statement::CreateSource(_)
        | Statement::Terminate(_)
        | Statement::Drop { .. }
        | Statement::CreateType { .. }
        | Statement::DropType { .. } => vec![Needed::Create],
        Statement::ShowStreams { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowQueries { .. }
        | Statement::ShowProperties
        | Statement::ShowVariable { .. }
        | Statement::ShowTypes
        | Statement::Describe { .. }
        | Statement::Set { .. }
        | Statement::SetSessionCharacteristics { .. }
        | Statement::Unset { .. }
        | Statement::Transaction(_)
        | Statement::Discard(_)
        | Statement::Deallocate(_)
        | Statement::CreateUser(_)
        | Statement::AlterUser(_)
        | Statement::DropUser { .. }
        | Statement::Grant(_)
        | Statement::Revoke(_) => Vec::new(),
        // EXPLAIN needs what its statement needs: it plans it, and with ANALYZE a pull
        // query runs.
        Statement::Explain(explain) => match &explain.target {
            ExplainTarget::Statement(statement) => needs(engine, statement),
            ExplainTarget::Query(_) => Vec::new(),
        },
    }
}

/// SELECT on every stream and table a query reads; names that are not sources (system
/// tables, CTEs) need nothing here, and planning reports those that do not exist.
fn reads(engine: &EngineCore, select: &SelectStatement) -> Vec<Needed> {
    let relations = engine.planner().relations(&select.query);
    let catalog = engine.read_catalog();
    relations
        .into_iter()
        .filter(|name| catalog.source(name).is_some())
        .map(Needed::Select)
        .collect()
}
