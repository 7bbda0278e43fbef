//! A connection's transaction block as Postgres reports it: the status each ReadyForQuery
//! carries (idle, in a block, failed block), the savepoints named inside the block, what each
//! transaction statement answers, and which statements a block's state refuses.
//!
//! Eddy's statements each commit on their own, so a block undoes nothing. The block exists
//! for drivers, which read the status byte and recover from an error inside a block with
//! `ROLLBACK TO SAVEPOINT` (psycopg, pgjdbc): that ends the failed state, as in Postgres, and
//! a notice says that the statements since the savepoint stay committed.
//!
//! Never: claim that a statement was undone; let a failed block run anything but COMMIT,
//! ROLLBACK or ROLLBACK TO.

use std::sync::Mutex;

use eddy_executor::{DiscardTarget, Statement, TransactionStatement};
use pgwire::messages::response::{NoticeResponse, TransactionStatus};

use crate::error::{ServerError, ServerResult};
use crate::sqlstate::{
    already_in_transaction_warning, no_transaction_warning, notice,
    set_transaction_outside_block_warning,
};

/// The savepoints of a connection's open block, oldest first. A name may repeat; the
/// newest one with a name is the one RELEASE and ROLLBACK TO mean, as in Postgres.
#[derive(Default)]
pub(crate) struct Savepoints {
    // Held only for the bookkeeping of one statement, never across an await.
    names: Mutex<Vec<String>>,
}

/// What a transaction statement answers: its command tag, a notice or warning before it,
/// and the block's status after it.
pub(crate) struct TransactionAnswer {
    pub(crate) tag: &'static str,
    pub(crate) notice: Option<NoticeResponse>,
    pub(crate) status: TransactionStatus,
}

/// Refuses what Postgres refuses to run in the block's state: anything but COMMIT, ROLLBACK
/// and ROLLBACK TO in a failed block (25P02), DISCARD ALL inside a block (25001).
pub(crate) fn check_statement(
    status: TransactionStatus,
    statement: &Statement,
) -> ServerResult<()> {
    check_not_failed(status, statement)?;
    if status != TransactionStatus::Idle
        && matches!(statement, Statement::Discard(DiscardTarget::All))
    {
        return Err(ServerError::InsideTransactionBlock {
            statement: "DISCARD ALL",
        });
    }
    Ok(())
}

/// Refuses what a failed block ignores, which Postgres does at Parse already: anything but
/// COMMIT, ROLLBACK and ROLLBACK TO (25P02).
pub(crate) fn check_not_failed(
    status: TransactionStatus,
    statement: &Statement,
) -> ServerResult<()> {
    let ends_failed_state = matches!(
        statement,
        Statement::Transaction(
            TransactionStatement::Commit
                | TransactionStatement::Rollback
                | TransactionStatement::RollbackTo(_)
        )
    );
    if status == TransactionStatus::Error && !ends_failed_state {
        return Err(ServerError::TransactionAborted);
    }
    Ok(())
}

impl Savepoints {
    /// Answers `statement` in a block whose status is `status`, keeping the savepoints.
    pub(crate) fn answer(
        &self,
        status: TransactionStatus,
        statement: &TransactionStatement,
    ) -> ServerResult<TransactionAnswer> {
        let mut names = self
            .names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        answer(status, statement, &mut names)
    }
}

fn answer(
    status: TransactionStatus,
    statement: &TransactionStatement,
    savepoints: &mut Vec<String>,
) -> ServerResult<TransactionAnswer> {
    let in_block = status != TransactionStatus::Idle;
    let answer = |tag, notice, status| TransactionAnswer {
        tag,
        notice,
        status,
    };
    Ok(match statement {
        TransactionStatement::Begin(_) => {
            let warning = in_block.then(already_in_transaction_warning);
            answer("BEGIN", warning, status.to_in_transaction_state())
        }
        TransactionStatement::SetModes(_) => {
            let warning = (!in_block).then(set_transaction_outside_block_warning);
            answer("SET", warning, status)
        }
        TransactionStatement::Commit | TransactionStatement::Rollback => {
            savepoints.clear();
            let warning = (!in_block).then(no_transaction_warning);
            let committed = *statement == TransactionStatement::Commit;
            // Postgres answers the COMMIT of a failed block with ROLLBACK.
            let tag = if committed && status != TransactionStatus::Error {
                "COMMIT"
            } else {
                "ROLLBACK"
            };
            answer(tag, warning, TransactionStatus::Idle)
        }
        TransactionStatement::Savepoint(name) => {
            require_block(in_block, "SAVEPOINT")?;
            savepoints.push(name.clone());
            answer("SAVEPOINT", None, status)
        }
        TransactionStatement::Release(name) => {
            require_block(in_block, "RELEASE SAVEPOINT")?;
            savepoints.truncate(newest_named(savepoints, name)?);
            answer("RELEASE", None, status)
        }
        TransactionStatement::RollbackTo(name) => {
            require_block(in_block, "ROLLBACK TO SAVEPOINT")?;
            savepoints.truncate(newest_named(savepoints, name)? + 1);
            let kept = notice(format!(
                "statements since savepoint \"{name}\" stay committed: each of Eddy's statements \
                 commits on its own"
            ));
            answer("ROLLBACK", Some(kept), TransactionStatus::Transaction)
        }
    })
}

fn require_block(in_block: bool, statement: &'static str) -> ServerResult<()> {
    if in_block {
        Ok(())
    } else {
        Err(ServerError::NotInTransactionBlock { statement })
    }
}

fn newest_named(savepoints: &[String], name: &str) -> ServerResult<usize> {
    savepoints
        .iter()
        .rposition(|savepoint| savepoint == name)
        .ok_or_else(|| ServerError::NoSuchSavepoint {
            name: name.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    use pgwire::messages::response::TransactionStatus::{
        Error as Failed, Idle, Transaction as InBlock,
    };

    fn savepoint(name: &str) -> TransactionStatement {
        TransactionStatement::Savepoint(name.into())
    }

    fn release(name: &str) -> TransactionStatement {
        TransactionStatement::Release(name.into())
    }

    fn rollback_to(name: &str) -> TransactionStatement {
        TransactionStatement::RollbackTo(name.into())
    }

    /// The tag and status each statement answers, in order, from `status`.
    fn run(
        mut status: TransactionStatus,
        statements: &[TransactionStatement],
    ) -> Vec<Result<(&'static str, TransactionStatus), String>> {
        let mut savepoints = Vec::new();
        statements
            .iter()
            .map(
                |statement| match answer(status, statement, &mut savepoints) {
                    Ok(answered) => {
                        status = answered.status;
                        Ok((answered.tag, answered.status))
                    }
                    Err(error) => {
                        status = status.to_error_state();
                        Err(error.to_string())
                    }
                },
            )
            .collect()
    }

    #[test]
    fn savepoints_outside_a_block_are_errors() {
        for (statement, message) in [
            (
                savepoint("a"),
                "SAVEPOINT can only be used in transaction blocks",
            ),
            (
                release("a"),
                "RELEASE SAVEPOINT can only be used in transaction blocks",
            ),
            (
                rollback_to("a"),
                "ROLLBACK TO SAVEPOINT can only be used in transaction blocks",
            ),
        ] {
            assert_eq!(run(Idle, &[statement]), vec![Err(message.to_owned())]);
        }
    }

    #[test]
    fn release_and_rollback_to_find_the_newest_savepoint_of_a_name() {
        let answers = run(
            Idle,
            &[
                TransactionStatement::Begin(Vec::new()),
                savepoint("a"),
                savepoint("b"),
                savepoint("a"),
                release("a"),
                rollback_to("a"),
                release("a"),
                release("b"),
                release("a"),
            ],
        );
        assert_eq!(
            answers,
            vec![
                Ok(("BEGIN", InBlock)),
                Ok(("SAVEPOINT", InBlock)),
                Ok(("SAVEPOINT", InBlock)),
                Ok(("SAVEPOINT", InBlock)),
                Ok(("RELEASE", InBlock)),
                Ok(("ROLLBACK", InBlock)),
                Ok(("RELEASE", InBlock)),
                Err("savepoint \"b\" does not exist".to_owned()),
                Err("savepoint \"a\" does not exist".to_owned()),
            ]
        );
    }

    #[test]
    fn rollback_to_ends_the_failed_state_and_commit_of_a_failed_block_rolls_back() {
        let answers = run(
            Failed,
            &[rollback_to("missing"), TransactionStatement::Commit],
        );
        assert_eq!(
            answers,
            vec![
                Err("savepoint \"missing\" does not exist".to_owned()),
                Ok(("ROLLBACK", Idle)),
            ]
        );
        let mut savepoints = vec!["a".to_owned(), "b".to_owned()];
        let answered = answer(Failed, &rollback_to("a"), &mut savepoints).expect("known name");
        assert_eq!((answered.tag, answered.status), ("ROLLBACK", InBlock));
        assert!(answered.notice.is_some(), "says what stays committed");
        assert_eq!(savepoints, vec!["a".to_owned()]);
        let ended = answer(InBlock, &TransactionStatement::Rollback, &mut savepoints);
        assert_eq!(ended.map(|answered| answered.tag).ok(), Some("ROLLBACK"));
        assert!(
            savepoints.is_empty(),
            "a block's end forgets its savepoints"
        );
    }

    #[test]
    fn a_failed_block_refuses_all_but_its_exits_and_discard_all_needs_no_block() {
        let begin = Statement::Transaction(TransactionStatement::Begin(Vec::new()));
        let release = Statement::Transaction(release("a"));
        let discard_all = Statement::Discard(DiscardTarget::All);
        for refused in [&begin, &release, &discard_all] {
            assert!(matches!(
                check_statement(Failed, refused),
                Err(ServerError::TransactionAborted)
            ));
        }
        for exit in [
            TransactionStatement::Commit,
            TransactionStatement::Rollback,
            rollback_to("a"),
        ] {
            assert!(check_statement(Failed, &Statement::Transaction(exit)).is_ok());
        }
        assert!(matches!(
            check_statement(InBlock, &discard_all),
            Err(ServerError::InsideTransactionBlock { .. })
        ));
        assert!(check_statement(Idle, &discard_all).is_ok());
        assert!(check_statement(InBlock, &Statement::Discard(DiscardTarget::Plans)).is_ok());
    }
}
