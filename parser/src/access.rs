//! Users and privileges: `CREATE|ALTER|DROP USER` (and `ROLE`, as Postgres spells them) and
//! `GRANT`/`REVOKE`. Postgres' grammar, cut to what Eddy checks: passwords, superusers,
//! SELECT and INSERT on streams and tables, and CREATE on the database.
//!
//! Never: put a password anywhere but in a `Password` (whose Debug hides it), or accept a
//! role option or privilege that Eddy would silently not enforce.

use sqlparser::tokenizer::Token;

use crate::ast::{Grant, GrantTarget, Password, Privilege, Statement, UserOptions};
use crate::cursor::Cursor;
use crate::error::ParseError;

/// After `CREATE USER|ROLE`.
pub(crate) fn parse_create_user(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    Ok(Statement::CreateUser(parse_user_options(cursor)?))
}

/// After `ALTER`: only users and roles; ksqlDB has no ALTER of its own that Eddy runs.
pub(crate) fn parse_alter(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    if cursor.take_word("USER") || cursor.take_word("ROLE") {
        return Ok(Statement::AlterUser(parse_user_options(cursor)?));
    }
    Err(ParseError::unsupported("ALTER"))
}

/// After `DROP USER|ROLE`.
pub(crate) fn parse_drop_user(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    let if_exists = cursor.take_words(&["IF", "EXISTS"]);
    let name = cursor.identifier()?;
    cursor.expect_end()?;
    Ok(Statement::DropUser { name, if_exists })
}

/// `name [WITH] option...`: LOGIN (every Eddy user may log in), SUPERUSER, NOSUPERUSER,
/// `[ENCRYPTED] PASSWORD 'p'`, `PASSWORD NULL`.
fn parse_user_options(cursor: &mut Cursor<'_>) -> Result<UserOptions, ParseError> {
    let mut options = UserOptions {
        name: cursor.identifier()?,
        password: None,
        superuser: None,
    };
    cursor.take_word("WITH");
    while !cursor.is_at_end() {
        if cursor.take_word("LOGIN") {
            continue;
        }
        if cursor.take_word("SUPERUSER") {
            options.superuser = Some(true);
        } else if cursor.take_word("NOSUPERUSER") {
            options.superuser = Some(false);
        } else if cursor.take_word("PASSWORD") || cursor.take_words(&["ENCRYPTED", "PASSWORD"]) {
            options.password = Some(parse_password(cursor)?);
        } else if cursor.peek_word("NOLOGIN") {
            return Err(ParseError::unsupported(
                "NOLOGIN (every Eddy user may log in; DROP USER to remove one)",
            ));
        } else {
            return Err(cursor.expected("LOGIN, SUPERUSER, NOSUPERUSER or PASSWORD"));
        }
    }
    Ok(options)
}

fn parse_password(cursor: &mut Cursor<'_>) -> Result<Option<Password>, ParseError> {
    match cursor.peek() {
        Token::SingleQuotedString(text) | Token::EscapedStringLiteral(text) => {
            let password = Password(text.clone());
            cursor.advance();
            Ok(Some(password))
        }
        _ if cursor.take_word("NULL") => Ok(None),
        _ => Err(cursor.expected("a password in single quotes, or NULL")),
    }
}

/// After `GRANT` (`granting`) or `REVOKE`:
/// `privilege[, ..] ON {[STREAM|TABLE] name[, ..] | DATABASE name} {TO|FROM} user`.
pub(crate) fn parse_grant(
    cursor: &mut Cursor<'_>,
    granting: bool,
) -> Result<Statement, ParseError> {
    let privileges = parse_privileges(cursor)?;
    cursor.expect_word("ON")?;
    let target = if cursor.take_word("DATABASE") {
        cursor.identifier()?;
        GrantTarget::Database
    } else {
        if !cursor.take_word("TABLE") {
            cursor.take_word("STREAM");
        }
        let mut names = vec![cursor.identifier()?];
        while cursor.take_token(&Token::Comma) {
            names.push(cursor.identifier()?);
        }
        GrantTarget::Sources(names)
    };
    check_privileges_apply(cursor, &privileges, &target)?;
    cursor.expect_word(if granting { "TO" } else { "FROM" })?;
    let user = cursor.identifier()?;
    cursor.expect_end()?;
    let grant = Grant {
        privileges,
        target,
        user,
    };
    Ok(if granting {
        Statement::Grant(grant)
    } else {
        Statement::Revoke(grant)
    })
}

/// `SELECT`, `INSERT`, `CREATE`, or `ALL [PRIVILEGES]` (all that apply to the object).
fn parse_privileges(cursor: &mut Cursor<'_>) -> Result<Vec<Privilege>, ParseError> {
    if cursor.take_word("ALL") {
        cursor.take_word("PRIVILEGES");
        let on_database = cursor.peek_word("ON") && cursor.peek_word_at(1, "DATABASE");
        return Ok(if on_database {
            vec![Privilege::Create]
        } else {
            vec![Privilege::Select, Privilege::Insert]
        });
    }
    let mut privileges = Vec::new();
    loop {
        let privilege = if cursor.take_word("SELECT") {
            Privilege::Select
        } else if cursor.take_word("INSERT") {
            Privilege::Insert
        } else if cursor.take_word("CREATE") {
            Privilege::Create
        } else if let Some(other) = cursor.peek_keyword().filter(|word| {
            [
                "UPDATE",
                "DELETE",
                "TRUNCATE",
                "REFERENCES",
                "TRIGGER",
                "USAGE",
                "CONNECT",
            ]
            .contains(&word.as_str())
        }) {
            return Err(ParseError::unsupported(format!(
                "the {other} privilege (Eddy grants SELECT, INSERT and CREATE; INSERT covers \
                 every write)"
            )));
        } else {
            return Err(cursor.expected("SELECT, INSERT, CREATE or ALL"));
        };
        if !privileges.contains(&privilege) {
            privileges.push(privilege);
        }
        if !cursor.take_token(&Token::Comma) {
            return Ok(privileges);
        }
    }
}

/// Postgres refuses a privilege on an object it does not apply to ("invalid privilege type
/// SELECT for database").
fn check_privileges_apply(
    cursor: &Cursor<'_>,
    privileges: &[Privilege],
    target: &GrantTarget,
) -> Result<(), ParseError> {
    let misplaced = privileges.iter().find(|privilege| {
        matches!(
            (privilege, target),
            (Privilege::Create, GrantTarget::Sources(_))
                | (Privilege::Select | Privilege::Insert, GrantTarget::Database)
        )
    });
    match (misplaced, target) {
        (None, _) => Ok(()),
        (Some(privilege), GrantTarget::Database) => Err(cursor.error_here(format!(
            "invalid privilege type {} for database",
            privilege_name(*privilege)
        ))),
        (Some(privilege), GrantTarget::Sources(_)) => Err(cursor.error_here(format!(
            "invalid privilege type {} for a stream or table: CREATE is granted ON DATABASE",
            privilege_name(*privilege)
        ))),
    }
}

fn privilege_name(privilege: Privilege) -> &'static str {
    match privilege {
        Privilege::Select => "SELECT",
        Privilege::Insert => "INSERT",
        Privilege::Create => "CREATE",
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::{Grant, GrantTarget, Password, Privilege, Statement, UserOptions};
    use crate::test_support::{message, parse_one};

    fn user(name: &str, password: Option<Option<&str>>, superuser: Option<bool>) -> UserOptions {
        UserOptions {
            name: name.into(),
            password: password.map(|password| password.map(|text| Password(text.into()))),
            superuser,
        }
    }

    #[test]
    fn users_are_created_altered_and_dropped_as_in_postgres() {
        assert_eq!(
            parse_one("CREATE USER Alice WITH PASSWORD 's3cret'"),
            Ok(Statement::CreateUser(user(
                "alice",
                Some(Some("s3cret")),
                None
            )))
        );
        assert_eq!(
            parse_one("CREATE ROLE bob LOGIN SUPERUSER ENCRYPTED PASSWORD 'x'"),
            Ok(Statement::CreateUser(user(
                "bob",
                Some(Some("x")),
                Some(true)
            )))
        );
        assert_eq!(
            parse_one("ALTER USER bob WITH NOSUPERUSER PASSWORD NULL"),
            Ok(Statement::AlterUser(user("bob", Some(None), Some(false))))
        );
        assert_eq!(
            parse_one("DROP ROLE IF EXISTS bob"),
            Ok(Statement::DropUser {
                name: "bob".into(),
                if_exists: true
            })
        );
        assert_eq!(
            message("CREATE USER carol NOLOGIN"),
            "NOLOGIN (every Eddy user may log in; DROP USER to remove one) is not supported yet"
        );
        assert_eq!(message("ALTER STREAM clicks"), "ALTER is not supported yet");
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let parsed = parse_one("CREATE USER alice PASSWORD 'hunter2'");
        assert!(!format!("{parsed:?}").contains("hunter2"));
    }

    #[test]
    fn grants_name_privileges_objects_and_a_user() {
        assert_eq!(
            parse_one("GRANT SELECT, INSERT ON TABLE Users, clicks TO alice"),
            Ok(Statement::Grant(Grant {
                privileges: vec![Privilege::Select, Privilege::Insert],
                target: GrantTarget::Sources(vec!["users".into(), "clicks".into()]),
                user: "alice".into(),
            }))
        );
        assert_eq!(
            parse_one("REVOKE ALL PRIVILEGES ON STREAM clicks FROM alice"),
            Ok(Statement::Revoke(Grant {
                privileges: vec![Privilege::Select, Privilege::Insert],
                target: GrantTarget::Sources(vec!["clicks".into()]),
                user: "alice".into(),
            }))
        );
        assert_eq!(
            parse_one("GRANT CREATE ON DATABASE eddy TO alice"),
            Ok(Statement::Grant(Grant {
                privileges: vec![Privilege::Create],
                target: GrantTarget::Database,
                user: "alice".into(),
            }))
        );
        assert_eq!(
            message("GRANT SELECT ON DATABASE eddy TO alice"),
            "invalid privilege type SELECT for database"
        );
        assert_eq!(
            message("GRANT CREATE ON clicks TO alice"),
            "invalid privilege type CREATE for a stream or table: CREATE is granted ON DATABASE"
        );
        assert_eq!(
            message("GRANT UPDATE ON clicks TO alice"),
            "the UPDATE privilege (Eddy grants SELECT, INSERT and CREATE; INSERT covers every \
             write) is not supported yet"
        );
    }
}
