//! The interactive shell's line-editing helper for rustyline: Tab completes statement
//! keywords and the names of streams and tables (read from the server with SHOW STREAMS and
//! SHOW TABLES), and Enter runs the input only once its last statement ends with `;`, so a
//! statement can span lines and is kept as one history entry.
//!
//! Never: query the server from here; the names are refreshed by the shell between statements.

use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use crate::shell::input::is_complete;

/// The words that start or shape Eddy's statements, for completion.
const KEYWORDS: &[&str] = &[
    "ALTER",
    "AND",
    "AS",
    "BY",
    "CASE",
    "CAST",
    "CHANGES",
    "CREATE",
    "DELETE",
    "DESCRIBE",
    "DROP",
    "ELSE",
    "EMIT",
    "END",
    "EXIT",
    "EXPLAIN",
    "EXTENDED",
    "FINAL",
    "FROM",
    "FULL",
    "GRACE",
    "GROUP",
    "HAVING",
    "HOPPING",
    "INNER",
    "INSERT",
    "INTO",
    "JOIN",
    "KEY",
    "LEFT",
    "LIMIT",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "OUTER",
    "PARTITION",
    "PERIOD",
    "PRIMARY",
    "PROPERTIES",
    "QUERIES",
    "QUERY",
    "RUN",
    "SCRIPT",
    "SELECT",
    "SESSION",
    "SET",
    "SHOW",
    "SIZE",
    "STREAM",
    "STREAMS",
    "TABLE",
    "TABLES",
    "TERMINATE",
    "THEN",
    "TUMBLING",
    "TYPE",
    "UNSET",
    "UPDATE",
    "VALUES",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHIN",
];

/// Completion candidates for the word that ends at `pos` in `line`: where that word starts,
/// and the keywords (in the case the word is typed in) and `sources` that it begins, sorted.
pub(crate) fn candidates(line: &str, pos: usize, sources: &[String]) -> (usize, Vec<String>) {
    let before = line.get(..pos).unwrap_or(line);
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, character)| character.is_alphanumeric() || *character == '_')
        .last()
        .map_or(before.len(), |(index, _)| index);
    let word = &before[start..];
    let lowercase = word.chars().any(char::is_lowercase) && !word.chars().any(char::is_uppercase);
    let begins = |candidate: &str| {
        candidate
            .get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word))
    };
    let keywords =
        KEYWORDS
            .iter()
            .filter(|keyword| begins(keyword))
            .map(|keyword| match lowercase {
                true => keyword.to_ascii_lowercase(),
                false => keyword.to_string(),
            });
    let names = sources.iter().filter(|name| begins(name)).cloned();
    let mut found: Vec<String> = keywords.chain(names).collect();
    found.sort();
    found.dedup();
    (start, found)
}

/// rustyline's helper: completion from the shared list of source names, and the check that
/// the input is a whole statement.
pub(crate) struct ShellHelper {
    sources: Arc<Mutex<Vec<String>>>,
}

impl ShellHelper {
    pub(crate) fn new(sources: Arc<Mutex<Vec<String>>>) -> Self {
        ShellHelper { sources }
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _context: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        // A poisoned lock only means a refresh panicked; the names it holds are still names.
        let sources = self
            .sources
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (start, found) = candidates(line, pos, &sources);
        let pairs = found
            .into_iter()
            .map(|candidate| Pair {
                display: candidate.clone(),
                replacement: candidate,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Validator for ShellHelper {
    fn validate(&self, context: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(match is_complete(context.input()) {
            true => ValidationResult::Valid(None),
            false => ValidationResult::Incomplete,
        })
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<String> {
        ["clicks", "click_counts", "users"]
            .iter()
            .map(|name| name.to_string())
            .collect()
    }

    #[test]
    fn keywords_complete_in_the_case_they_are_typed_in() {
        assert_eq!(candidates("SEL", 3, &[]), (0, vec!["SELECT".to_string()]));
        assert_eq!(
            candidates("show str", 8, &[]),
            (5, vec!["stream".to_string(), "streams".to_string()])
        );
        assert_eq!(
            candidates("SELECT * FROM clicks EMIT CH", 28, &[]),
            (26, vec!["CHANGES".to_string()])
        );
    }

    #[test]
    fn source_names_complete_as_the_server_spells_them() {
        assert_eq!(
            candidates("SELECT * FROM CLI", 17, &sources()),
            (14, vec!["click_counts".to_string(), "clicks".to_string()])
        );
        assert_eq!(
            candidates("DESCRIBE us", 11, &sources()),
            (9, vec!["users".to_string()])
        );
    }

    #[test]
    fn only_the_word_before_the_cursor_is_completed() {
        assert_eq!(
            candidates("SELECT * FROM us WHERE", 16, &sources()),
            (14, vec!["users".to_string()])
        );
        assert_eq!(candidates("SELECT 'é", 10, &sources()), (8, vec![]));
        assert_eq!(
            candidates("SELECT * FROM nothing", 21, &sources()),
            (14, vec![])
        );
    }
}
