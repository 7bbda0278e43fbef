//! CREATE/ALTER/DROP USER, GRANT and REVOKE, with Postgres' rules and command tags: only a
//! superuser manages users and privileges, except that a user may change its own password;
//! a session's own user cannot be dropped; privileges are granted on streams and tables
//! that exist. The first user, from the server's flags, is made here too.
//!
//! Never: keep a password; derive its verifier and drop it.

use eddy_parser::{Grant, GrantTarget, Password, Privilege, Statement, UserOptions};
use tracing::info;

use crate::access::{AccessError, Principal, ScramVerifier, UserRecord};
use crate::engine::EngineCore;
use crate::error::{EngineError, EngineResult};
use crate::output::{CommandComplete, QueryOutput};

/// Runs a user or privilege statement for `principal`.
pub(crate) async fn run_access_statement(
    engine: &EngineCore,
    principal: &Principal,
    statement: &Statement,
) -> EngineResult<QueryOutput> {
    let tag = match statement {
        Statement::CreateUser(options) => {
            require_superuser(engine, principal, "to create role")?;
            create_user(engine, options).await?;
            "CREATE ROLE"
        }
        Statement::AlterUser(options) => {
            require_may_alter(engine, principal, options)?;
            alter_user(engine, options).await?;
            "ALTER ROLE"
        }
        Statement::DropUser { name, if_exists } => {
            require_superuser(engine, principal, "to drop role")?;
            if *principal == Principal::User(name.clone()) {
                return Err(AccessError::DropCurrentUser.into());
            }
            drop_user(engine, name, *if_exists).await?;
            "DROP ROLE"
        }
        Statement::Grant(grant) => {
            require_superuser(engine, principal, "to grant privileges")?;
            change_privileges(engine, grant, true).await?;
            "GRANT"
        }
        Statement::Revoke(grant) => {
            require_superuser(engine, principal, "to revoke privileges")?;
            change_privileges(engine, grant, false).await?;
            "REVOKE"
        }
        _ => {
            return Err(EngineError::Internal(
                "not a user or privilege statement".into(),
            ));
        }
    };
    Ok(QueryOutput::Command(CommandComplete::new(tag)))
}

/// Creates the superuser `name` with `password`, or gives an existing user that password and
/// makes it a superuser: the server's `--user`, so a lost password is reset by a restart.
pub(crate) async fn bootstrap_superuser(
    engine: &EngineCore,
    name: &str,
    password: &Password,
) -> EngineResult<()> {
    let verifier = verifier_of(password)?;
    engine
        .access()
        .change_user(&engine.query_env().store, name, |stored| {
            let mut user = stored.unwrap_or_else(|| new_user(name));
            user.verifier = Some(verifier);
            user.superuser = true;
            Ok(Some(user))
        })
        .await?;
    info!(user = name, "superuser set from the server's flags");
    Ok(())
}

/// Whether `principal` may do everything: trusted, or a superuser that still exists.
fn require_superuser(
    engine: &EngineCore,
    principal: &Principal,
    action: &str,
) -> Result<(), AccessError> {
    if engine.access().is_superuser(principal) {
        Ok(())
    } else {
        Err(principal.denied(format!("{action}: only a superuser may")))
    }
}

/// A superuser may alter anyone; a user may change its own password, nothing else.
fn require_may_alter(
    engine: &EngineCore,
    principal: &Principal,
    options: &UserOptions,
) -> Result<(), AccessError> {
    let own_password_only = *principal == Principal::User(options.name.clone())
        && options.superuser.is_none()
        && matches!(options.password, Some(Some(_)));
    if own_password_only {
        return Ok(());
    }
    require_superuser(engine, principal, "to alter role")
}

async fn create_user(engine: &EngineCore, options: &UserOptions) -> EngineResult<()> {
    let verifier = match &options.password {
        Some(Some(password)) => Some(verifier_of(password)?),
        _ => None,
    };
    engine
        .access()
        .change_user(&engine.query_env().store, &options.name, |stored| {
            if stored.is_some() {
                return Err(AccessError::UserExists(options.name.clone()));
            }
            Ok(Some(UserRecord {
                verifier,
                superuser: options.superuser.unwrap_or(false),
                ..new_user(&options.name)
            }))
        })
        .await?;
    info!(user = %options.name, "user created");
    Ok(())
}

async fn alter_user(engine: &EngineCore, options: &UserOptions) -> EngineResult<()> {
    let verifier = match &options.password {
        Some(Some(password)) => Some(Some(verifier_of(password)?)),
        Some(None) => Some(None),
        None => None,
    };
    engine
        .access()
        .change_user(&engine.query_env().store, &options.name, |stored| {
            let mut user = stored.ok_or_else(|| AccessError::UnknownUser(options.name.clone()))?;
            if let Some(verifier) = verifier {
                user.verifier = verifier;
            }
            if let Some(superuser) = options.superuser {
                user.superuser = superuser;
            }
            Ok(Some(user))
        })
        .await?;
    info!(user = %options.name, "user altered");
    Ok(())
}

async fn drop_user(engine: &EngineCore, name: &str, if_exists: bool) -> EngineResult<()> {
    if if_exists && engine.access().user(name).is_none() {
        return Ok(());
    }
    engine
        .access()
        .change_user(&engine.query_env().store, name, |stored| match stored {
            Some(_) => Ok(None),
            None => Err(AccessError::UnknownUser(name.to_owned())),
        })
        .await?;
    info!(user = name, "user dropped");
    Ok(())
}

async fn change_privileges(engine: &EngineCore, grant: &Grant, granting: bool) -> EngineResult<()> {
    // Held to the end: no DROP between the check that a source exists and the grant on it
    // (a DROP revokes its source's grants once it holds this lock).
    let change = engine.change_catalog().await;
    if let GrantTarget::Sources(names) = &grant.target {
        for name in names {
            change.catalog().source_required(name)?;
        }
    }
    engine
        .access()
        .change_user(&engine.query_env().store, &grant.user, |stored| {
            let mut user = stored.ok_or_else(|| AccessError::UnknownUser(grant.user.clone()))?;
            apply_grant(&mut user, grant, granting);
            Ok(Some(user))
        })
        .await?;
    drop(change);
    info!(user = %grant.user, privileges = ?grant.privileges, granting, "privileges changed");
    Ok(())
}

fn apply_grant(user: &mut UserRecord, grant: &Grant, granting: bool) {
    for privilege in &grant.privileges {
        match (privilege, &grant.target) {
            (Privilege::Create, _) => user.create = granting,
            (Privilege::Select | Privilege::Insert, GrantTarget::Sources(names)) => {
                let sources = if *privilege == Privilege::Select {
                    &mut user.select
                } else {
                    &mut user.insert
                };
                for name in names {
                    if granting {
                        sources.insert(name.clone());
                    } else {
                        sources.remove(name);
                    }
                }
            }
            // The parser refuses SELECT and INSERT on the database.
            (Privilege::Select | Privilege::Insert, GrantTarget::Database) => {}
        }
    }
}

fn new_user(name: &str) -> UserRecord {
    UserRecord {
        name: name.to_owned(),
        ..UserRecord::default()
    }
}

/// A password's verifier; a password given as a verifier already (Postgres' `PASSWORD
/// 'SCRAM-SHA-256$...'`, as pg_dumpall writes it) is kept as it is.
fn verifier_of(password: &Password) -> EngineResult<String> {
    if let Some(verifier) = ScramVerifier::parse(&password.0) {
        return Ok(verifier.to_string());
    }
    Ok(ScramVerifier::from_password(&password.0)?.to_string())
}

impl From<AccessError> for EngineError {
    fn from(error: AccessError) -> Self {
        EngineError::Access(error)
    }
}
