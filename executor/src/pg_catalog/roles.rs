//! Eddy's users as Postgres roles, for `pg_roles`, `pg_user`, `pg_authid`, `pg_get_userbyid`,
//! a relation's `relacl` and `has_table_privilege`: the one place that turns the user store
//! and its grants (`access`) into Postgres' terms.
//!
//! The role `eddy` (OID 10, Postgres' bootstrap superuser) owns every object; it can log in
//! while no user exists (every connection is trusted then) or when a user of that name does.
//! Each user is a role of its own. A user's SELECT and INSERT grants are `r` and `a` in a
//! relation's ACL; UPDATE and DELETE need both (as Eddy checks them). Catalog relations are
//! readable by everyone, as in Postgres.
//!
//! Never: show a password or verifier (`rolpassword` is `********` for a role with one, as
//! `pg_roles` masks it), or answer a privilege question differently from what Eddy enforces.

use std::collections::BTreeSet;

use datafusion::common::{Result, plan_err};

use super::CatalogContext;
use super::oids;

/// One role as the catalog shows it.
#[derive(Debug, Clone)]
pub struct Role {
    pub oid: i64,
    pub name: String,
    pub superuser: bool,
    /// May create streams, tables, types and queries (Postgres' CREATEDB is the closest).
    pub create: bool,
    pub can_login: bool,
    pub has_password: bool,
    select: BTreeSet<String>,
    insert: BTreeSet<String>,
}

/// Every role: the owner, then each user, in name order.
pub fn roles(context: &CatalogContext) -> Vec<Role> {
    let stored_owner = context
        .users
        .iter()
        .find(|user| user.name == oids::OWNER_NAME);
    let owner = Role {
        oid: oids::OWNER,
        name: oids::OWNER_NAME.to_string(),
        superuser: stored_owner.is_none_or(|user| user.superuser),
        create: true,
        can_login: context.users.is_empty()
            || stored_owner.is_some_and(|user| user.verifier.is_some()),
        has_password: stored_owner.is_some_and(|user| user.verifier.is_some()),
        select: stored_owner
            .map(|user| user.select.clone())
            .unwrap_or_default(),
        insert: stored_owner
            .map(|user| user.insert.clone())
            .unwrap_or_default(),
    };
    let users = context
        .users
        .iter()
        .filter(|user| user.name != oids::OWNER_NAME)
        .map(|user| Role {
            oid: oids::role_oid(&user.name),
            name: user.name.clone(),
            superuser: user.superuser,
            create: user.superuser || user.create,
            can_login: user.verifier.is_some(),
            has_password: user.verifier.is_some(),
            select: user.select.clone(),
            insert: user.insert.clone(),
        });
    std::iter::once(owner).chain(users).collect()
}

pub fn role_by_oid(context: &CatalogContext, oid: i64) -> Option<Role> {
    roles(context).into_iter().find(|role| role.oid == oid)
}

/// The role `has_table_privilege(name, ..)` asks about; an unknown name is an error, as in
/// Postgres (42704).
pub fn role_by_name(context: &CatalogContext, name: &str) -> Result<Role> {
    let name = name.trim();
    let name = match name
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => name.to_string(),
    };
    if name.eq_ignore_ascii_case("public") {
        return Ok(Role {
            oid: 0,
            name,
            superuser: false,
            create: false,
            can_login: false,
            has_password: false,
            select: BTreeSet::new(),
            insert: BTreeSet::new(),
        });
    }
    match roles(context).into_iter().find(|role| role.name == name) {
        Some(role) => Ok(role),
        None => plan_err!("role \"{name}\" does not exist"),
    }
}

/// The session's role, with the superuser status the session runs with (a trusted session
/// may do everything).
pub fn current_role(context: &CatalogContext) -> Result<Role> {
    let user = &context.identity.user;
    match roles(context).into_iter().find(|role| role.name == *user) {
        Some(role) => Ok(Role {
            superuser: context.identity.superuser,
            ..role
        }),
        None => plan_err!("role \"{user}\" does not exist"),
    }
}

/// A relation a privilege is asked of: one of Eddy's streams or tables, or a catalog
/// relation.
pub enum Relation<'a> {
    Source(&'a str),
    Catalog,
}

/// One privilege of Postgres' `has_table_privilege`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Privilege {
    Select,
    Insert,
    Update,
    Delete,
    /// TRUNCATE, REFERENCES, TRIGGER, MAINTAIN: nothing Eddy grants.
    Other,
}

/// Whether `role` holds any of `privileges` ("SELECT", "select, insert", "INSERT WITH GRANT
/// OPTION") on `relation`; an unknown privilege name is an error, as in Postgres.
pub fn has_privilege(role: &Role, relation: &Relation<'_>, privileges: &str) -> Result<bool> {
    let mut any = false;
    for listed in privileges.split(',') {
        let listed = listed.trim().to_uppercase();
        let (name, grant_option) = match listed.strip_suffix("WITH GRANT OPTION") {
            Some(name) => (name.trim_end().to_string(), true),
            None => (listed.clone(), false),
        };
        let privilege = match name.as_str() {
            "SELECT" => Privilege::Select,
            "INSERT" => Privilege::Insert,
            "UPDATE" => Privilege::Update,
            "DELETE" => Privilege::Delete,
            "TRUNCATE" | "REFERENCES" | "TRIGGER" | "MAINTAIN" => Privilege::Other,
            _ => return plan_err!("unrecognized privilege type: \"{listed}\""),
        };
        // Only a superuser may grant, so only a superuser holds a grant option.
        any |= if role.superuser {
            true
        } else if grant_option {
            false
        } else {
            holds(role, relation, privilege)
        };
    }
    Ok(any)
}

fn holds(role: &Role, relation: &Relation<'_>, privilege: Privilege) -> bool {
    match relation {
        Relation::Catalog => privilege == Privilege::Select,
        Relation::Source(name) => {
            let select = role.select.contains(*name);
            let insert = role.insert.contains(*name);
            match privilege {
                Privilege::Select => select,
                Privilege::Insert => insert,
                Privilege::Update | Privilege::Delete => select && insert,
                Privilege::Other => false,
            }
        }
    }
}

/// A stream's or table's ACL as Postgres writes `relacl`: None (the owner's default
/// privileges) until a user is granted something on it, then the owner's entry and each
/// grantee's (`bob=ra/eddy`).
pub fn relation_acl(context: &CatalogContext, source: &str) -> Option<Vec<String>> {
    let grantees: Vec<String> = roles(context)
        .into_iter()
        .filter(|role| role.oid != oids::OWNER)
        .filter_map(|role| {
            let mut letters = String::new();
            if role.insert.contains(source) {
                letters.push('a');
            }
            if role.select.contains(source) {
                letters.push('r');
            }
            (!letters.is_empty()).then(|| format!("{}={letters}/{}", role.name, oids::OWNER_NAME))
        })
        .collect();
    if grantees.is_empty() {
        return None;
    }
    let owner = format!("{0}=arwdDxt/{0}", oids::OWNER_NAME);
    Some(std::iter::once(owner).chain(grantees).collect())
}
