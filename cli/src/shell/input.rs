//! What the shell reads, cut into commands: SQL statements for the server, cut where Eddy's
//! parser cuts them (`;` outside quotes, comments and parentheses), and the shell's own
//! `RUN SCRIPT 'file.sql'` and `exit`/`quit`.
//!
//! Never: decide what SQL means; everything but the shell's own commands goes to the server
//! as it was typed, and the server names any error.

use std::path::PathBuf;

use eddy_parser::split_sql;
use eddy_parser::sqlparser::dialect::GenericDialect;
use eddy_parser::sqlparser::tokenizer::{Token, Tokenizer};

/// One thing for the shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// A statement for the server, without its `;`.
    Sql(String),
    /// `RUN SCRIPT 'path'`: run the statements of a file, relative to the working directory.
    RunScript(PathBuf),
    /// `exit` or `quit`.
    Exit,
    /// A shell command written wrongly, with what to write instead.
    Invalid(String),
}

/// Whether `input` is ready to run: its last statement ends with `;` (or it holds only
/// whitespace and comments, or `exit`). An unterminated quote or comment waits for the lines
/// that close it, unless the line already ends with `;`: then the server reports it.
pub(crate) fn is_complete(input: &str) -> bool {
    let trimmed = input.trim();
    if trimmed.is_empty() || is_exit(trimmed) {
        return true;
    }
    match split_sql(input) {
        Ok(statements) => statements.last().is_none_or(|last| last.terminated),
        Err(_) => trimmed.ends_with(';'),
    }
}

/// The commands of `input`, in order; an unfinished last statement is included. Input the
/// splitter cannot cut (an unterminated quote) goes to the server whole, which names the
/// error.
pub(crate) fn commands(input: &str) -> Vec<Command> {
    match split_sql(input) {
        Ok(statements) => statements
            .into_iter()
            .map(|statement| command(statement.text))
            .collect(),
        Err(_) => vec![Command::Sql(input.trim().to_string())],
    }
}

fn command(text: &str) -> Command {
    if is_exit(text) {
        return Command::Exit;
    }
    let tokens = words_and_literals(text);
    match tokens.as_slice() {
        [Token::Word(run), Token::Word(script), rest @ ..]
            if run.quote_style.is_none()
                && script.quote_style.is_none()
                && run.value.eq_ignore_ascii_case("run")
                && script.value.eq_ignore_ascii_case("script") =>
        {
            match rest {
                [Token::SingleQuotedString(path)] => Command::RunScript(PathBuf::from(path)),
                _ => Command::Invalid(
                    "RUN SCRIPT takes one quoted file name: RUN SCRIPT 'file.sql'".to_string(),
                ),
            }
        }
        _ => Command::Sql(text.to_string()),
    }
}

/// The tokens of a statement without whitespace and comments; none if it does not tokenize
/// (then it is not a shell command).
fn words_and_literals(text: &str) -> Vec<Token> {
    Tokenizer::new(&GenericDialect, text)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter(|token| !matches!(token, Token::Whitespace(_)))
        .collect()
}

fn is_exit(text: &str) -> bool {
    let word = text.trim().trim_end_matches(';').trim_end();
    word.eq_ignore_ascii_case("exit") || word.eq_ignore_ascii_case("quit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_complete_at_a_semicolon_outside_quotes_and_comments() {
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("SELECT 1;\n  -- trailing comment\n"));
        assert!(is_complete("SELECT\n  1\n;"));
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT 1 -- ;"));
        assert!(!is_complete("SELECT ';'"));
        assert!(!is_complete("SELECT 1; SELECT 2"));
        assert!(!is_complete("SELECT 'it is\nstill open"));
        assert!(!is_complete("SELECT 1 /* ; */"));
        assert!(!is_complete("SELECT 1 /* unclosed\n"));
        assert!(is_complete("SELECT 'open;"), "the server names the error");
        assert!(is_complete(""));
        assert!(is_complete("  \n"));
        assert!(is_complete("-- nothing to run"));
        assert!(is_complete("exit"));
        assert!(is_complete("QUIT;"));
    }

    #[test]
    fn input_is_cut_into_statements_and_shell_commands() {
        let input = "CREATE STREAM s (id INT) WITH (KAFKA_TOPIC = 's;');\n\
                     run script 'more.sql';\n\
                     SELECT 'a;b' FROM s EMIT CHANGES\n  LIMIT 1;\n\
                     RUN SCRIPT more.sql;\n\
                     exit";
        assert_eq!(
            commands(input),
            vec![
                Command::Sql("CREATE STREAM s (id INT) WITH (KAFKA_TOPIC = 's;')".to_string()),
                Command::RunScript(PathBuf::from("more.sql")),
                Command::Sql("SELECT 'a;b' FROM s EMIT CHANGES\n  LIMIT 1".to_string()),
                Command::Invalid(
                    "RUN SCRIPT takes one quoted file name: RUN SCRIPT 'file.sql'".to_string()
                ),
                Command::Exit,
            ]
        );
    }

    #[test]
    fn a_quoted_script_name_keeps_its_escaped_quotes() {
        assert_eq!(
            commands("RUN SCRIPT '/tmp/it''s.sql'"),
            vec![Command::RunScript(PathBuf::from("/tmp/it's.sql"))]
        );
    }

    #[test]
    fn input_that_does_not_tokenize_goes_to_the_server_whole() {
        assert_eq!(
            commands("SELECT 'open; SELECT 2;"),
            vec![Command::Sql("SELECT 'open; SELECT 2;".to_string())]
        );
        assert_eq!(commands("-- nothing"), vec![]);
    }
}
