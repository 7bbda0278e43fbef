//! Users and their privileges: who may log in (a SCRAM-SHA-256 verifier per user) and what
//! each may do (SELECT and INSERT per stream or table, CREATE on the database, or everything
//! as a superuser). Kept in the catalog keyspace of the state store, one key per user
//! (`access/user/<name>`), so users and grants survive restarts; a change is durable before
//! any session sees it.
//!
//! `statements/users.rs` runs CREATE/ALTER/DROP USER, GRANT and REVOKE over it;
//! `statements/access_check.rs` says what each statement needs and refuses it when the
//! session's principal lacks it. A session let in
//! without a password (trust, when no user exists) is `Principal::Trusted` and may do
//! everything, as a local Postgres with `trust` in pg_hba.conf allows.
//!
//! Never: store or log a password (only verifiers are kept, and `Debug` hides them), or let
//! a statement run before its privileges are checked.

mod scram;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use eddy_storage::{Keyspace, StateBatch, Store};
use serde::{Deserialize, Serialize};
use tracing::warn;

pub use crate::error::AccessError;
use crate::error::{EngineError, EngineResult};
use crate::state::commit::commit_state;

pub use scram::ScramVerifier;

const USER_PREFIX: &str = "access/user/";

/// Who runs a session's statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Let in without a password (no user exists, or the session is in-process): may do
    /// everything.
    Trusted,
    /// Logged in with a password as this user.
    User(String),
}

impl Principal {
    /// The refusal, logged without anything but names.
    pub(crate) fn denied(&self, what: String) -> AccessError {
        let user = match self {
            Principal::Trusted => "(trusted)",
            Principal::User(name) => name.as_str(),
        };
        warn!(user, denied = %what, "permission denied");
        AccessError::PermissionDenied(what)
    }
}

/// One user as stored: a verifier, never a password.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct UserRecord {
    pub name: String,
    /// Postgres' text form of a SCRAM-SHA-256 verifier; None: the user cannot log in.
    pub verifier: Option<String>,
    pub superuser: bool,
    /// May create and drop streams, tables, types and persistent queries.
    pub create: bool,
    /// Streams and tables the user may read.
    pub select: BTreeSet<String>,
    /// Streams and tables the user may write.
    pub insert: BTreeSet<String>,
}

/// The users of an engine, as last committed.
pub(crate) struct AccessControl {
    // Held for lookups only, never across an await.
    users: RwLock<BTreeMap<String, UserRecord>>,
    /// Serializes changes, so that each reads what the one before it committed.
    changes: tokio::sync::Mutex<()>,
}

impl AccessControl {
    /// The users found among the pairs of the catalog keyspace, without grants on sources
    /// that no longer exist (`source_exists`): a data directory from before DROP revoked
    /// them may hold some, and they must not pass to a new source of the same name.
    pub(crate) fn load(
        entries: &[(Vec<u8>, Vec<u8>)],
        source_exists: impl Fn(&str) -> bool,
    ) -> EngineResult<AccessControl> {
        let mut users = BTreeMap::new();
        for (key, value) in entries {
            if key.starts_with(USER_PREFIX.as_bytes()) {
                let mut user: UserRecord = serde_json::from_slice(value).map_err(|error| {
                    EngineError::Internal(format!(
                        "stored user {} does not decode: {error}",
                        String::from_utf8_lossy(key)
                    ))
                })?;
                user.select.retain(|source| source_exists(source));
                user.insert.retain(|source| source_exists(source));
                users.insert(user.name.clone(), user);
            }
        }
        Ok(AccessControl {
            users: RwLock::new(users),
            changes: tokio::sync::Mutex::new(()),
        })
    }

    /// Whether logins need a password: once a user exists, every connection does.
    /// Whether `principal` may do everything: trusted, or a superuser.
    pub(crate) fn is_superuser(&self, principal: &Principal) -> bool {
        match principal {
            Principal::Trusted => true,
            Principal::User(name) => self.user(name).is_some_and(|user| user.superuser),
        }
    }

    pub(crate) fn has_users(&self) -> bool {
        !self.read().is_empty()
    }

    /// The verifier to check `name`'s login against; None for an unknown user or one
    /// without a password.
    pub(crate) fn verifier(&self, name: &str) -> Option<ScramVerifier> {
        let users = self.read();
        let text = users.get(name)?.verifier.as_deref()?;
        ScramVerifier::parse(text)
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, UserRecord>> {
        self.users.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn user(&self, name: &str) -> Option<UserRecord> {
        self.read().get(name).cloned()
    }

    /// Every user, in name order.
    pub(crate) fn users(&self) -> Vec<UserRecord> {
        self.read().values().cloned().collect()
    }

    /// Revokes every grant on a dropped source, durably, in one commit.
    pub(crate) async fn forget_source(&self, store: &Store, source: &str) -> EngineResult<()> {
        let _serialized = self.changes.lock().await;
        let mut changed = Vec::new();
        for user in self.read().values() {
            if user.select.contains(source) || user.insert.contains(source) {
                let mut user = user.clone();
                user.select.remove(source);
                user.insert.remove(source);
                changed.push(user);
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        let mut batch = StateBatch::default();
        for user in &changed {
            batch.put(Keyspace::Catalog, user_key(&user.name), encode(user)?);
        }
        commit_state(store, batch).await?;
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        for user in changed {
            users.insert(user.name.clone(), user);
        }
        Ok(())
    }

    /// Changes one user (`change` gets the stored record, or None, and returns the new one,
    /// or None to delete it), durably, then makes it visible.
    pub(crate) async fn change_user(
        &self,
        store: &Store,
        name: &str,
        change: impl FnOnce(Option<UserRecord>) -> Result<Option<UserRecord>, AccessError>,
    ) -> EngineResult<()> {
        let _serialized = self.changes.lock().await;
        let changed = change(self.user(name)).map_err(EngineError::Access)?;
        let key = user_key(name);
        let mut batch = StateBatch::default();
        match &changed {
            Some(user) => batch.put(Keyspace::Catalog, key, encode(user)?),
            None => batch.delete(Keyspace::Catalog, key),
        }
        commit_state(store, batch).await?;
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        match changed {
            Some(user) => users.insert(name.to_owned(), user),
            None => users.remove(name),
        };
        Ok(())
    }
}

fn user_key(name: &str) -> Vec<u8> {
    format!("{USER_PREFIX}{name}").into_bytes()
}

fn encode(user: &UserRecord) -> EngineResult<Vec<u8>> {
    serde_json::to_vec(user)
        .map_err(|error| EngineError::Internal(format!("user does not encode: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_on_sources_that_are_gone_are_not_loaded() {
        let stored = UserRecord {
            name: "alice".into(),
            select: ["clicks".to_string(), "dropped".to_string()].into(),
            insert: ["dropped".to_string()].into(),
            ..UserRecord::default()
        };
        let entries = vec![(user_key("alice"), encode(&stored).expect("encodes"))];
        let access = AccessControl::load(&entries, |source| source == "clicks").expect("loads");
        let alice = access.user("alice").expect("alice is loaded");
        assert_eq!(alice.select, BTreeSet::from(["clicks".to_string()]));
        assert!(alice.insert.is_empty());
    }
}
