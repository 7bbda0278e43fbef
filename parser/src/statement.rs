//! One statement's tokens to a `Statement`: the first words pick the grammar. Queries go
//! to `select`, DDL to `ddl`, row statements to `dml`; the session statements (SHOW, SET,
//! DESCRIBE, TERMINATE, transactions) are small enough to live here.
//!
//! Statements Eddy knows but does not run yet are `Unsupported` (SQLSTATE 0A000), so a
//! ksqlDB or psql user learns it is not a typo. Never: guess at a statement it cannot read.

use sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use crate::access::{parse_alter, parse_grant};
use crate::ast::{
    DiscardTarget, Explain, ExplainTarget, Statement, TerminateTarget, TransactionStatement,
    UnsetSpelling,
};
use crate::cursor::{Cursor, fold_identifier};
use crate::ddl::{parse_create, parse_drop};
use crate::dml::{parse_copy, parse_delete, parse_insert, parse_update};
use crate::error::ParseError;
use crate::select::parse_select;
use crate::source::Source;

/// Statements recognized and refused: ksqlDB's that Eddy lacks, and Postgres' that clients
/// may send. The feature named in the error is the keyword.
const UNSUPPORTED_STATEMENTS: &[&str] = &[
    "PAUSE", "RESUME", "DEFINE", "UNDEFINE", "RUN", "PRINT", "ASSERT", "MERGE", "TRUNCATE",
    "PREPARE", "EXECUTE", "LISTEN", "UNLISTEN", "NOTIFY", "VACUUM", "ANALYZE",
];

/// ksqlDB's SHOW/LIST targets that Eddy does not have yet.
const UNSUPPORTED_SHOW_TARGETS: &[&[&str]] = &[
    &["ALL", "TOPICS"],
    &["TOPICS"],
    &["FUNCTIONS"],
    &["VARIABLES"],
    &["CONNECTORS"],
    &["SOURCE", "CONNECTORS"],
    &["SINK", "CONNECTORS"],
    &["CONNECTOR", "PLUGINS"],
];

pub(crate) fn parse_statement(
    source: &Source<'_>,
    tokens: &[TokenWithSpan],
    end: Location,
) -> Result<Statement, ParseError> {
    let mut cursor = Cursor::new(source, tokens, end);
    if cursor.peek() == &Token::LParen {
        return Ok(Statement::Select(parse_select(source, tokens, end)?));
    }
    let Some(keyword) = cursor.peek_keyword() else {
        return Err(cursor.expected("a statement"));
    };
    if matches!(keyword.as_str(), "SELECT" | "WITH" | "VALUES") {
        return Ok(Statement::Select(parse_select(source, tokens, end)?));
    }
    if UNSUPPORTED_STATEMENTS.contains(&keyword.as_str()) {
        return Err(ParseError::unsupported(keyword));
    }
    cursor.advance();
    if keyword == "EXPLAIN" {
        return parse_explain(source, &mut cursor, end);
    }
    let statement = match keyword.as_str() {
        "CREATE" => parse_create(&mut cursor)?,
        "DROP" => parse_drop(&mut cursor)?,
        "INSERT" => parse_insert(&mut cursor)?,
        "DELETE" => parse_delete(&mut cursor)?,
        "UPDATE" => parse_update(&mut cursor)?,
        "COPY" => parse_copy(&mut cursor)?,
        "SHOW" => parse_show(&mut cursor, true)?,
        "LIST" => parse_show(&mut cursor, false)?,
        "DESCRIBE" => parse_describe(&mut cursor)?,
        "TERMINATE" => parse_terminate(&mut cursor)?,
        "SET" => parse_set(&mut cursor)?,
        "UNSET" => parse_unset(&mut cursor, UnsetSpelling::Unset)?,
        "RESET" => parse_unset(&mut cursor, UnsetSpelling::Reset)?,
        "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE" => {
            parse_transaction(&keyword, &mut cursor)?
        }
        "DISCARD" => parse_discard(&mut cursor)?,
        "DEALLOCATE" => parse_deallocate(&mut cursor)?,
        "ALTER" => parse_alter(&mut cursor)?,
        "GRANT" => parse_grant(&mut cursor, true)?,
        "REVOKE" => parse_grant(&mut cursor, false)?,
        _ => return Err(source.syntax_error(tokens_start(tokens, end), None)),
    };
    cursor.expect_end()?;
    Ok(statement)
}

fn tokens_start(tokens: &[TokenWithSpan], end: Location) -> Location {
    tokens.first().map_or(end, |token| token.span.start)
}

/// After `SHOW` (`allow_variables`) or `LIST` (ksqlDB's synonym, without Postgres variables).
fn parse_show(cursor: &mut Cursor<'_>, allow_variables: bool) -> Result<Statement, ParseError> {
    if cursor.take_word("STREAMS") {
        return Ok(Statement::ShowStreams {
            extended: cursor.take_word("EXTENDED"),
        });
    }
    if cursor.take_word("TABLES") {
        return Ok(Statement::ShowTables {
            extended: cursor.take_word("EXTENDED"),
        });
    }
    if cursor.take_word("TYPES") {
        return Ok(Statement::ShowTypes);
    }
    if cursor.take_word("QUERIES") {
        return Ok(Statement::ShowQueries {
            extended: cursor.take_word("EXTENDED"),
        });
    }
    if cursor.take_word("PROPERTIES") {
        return Ok(Statement::ShowProperties);
    }
    if let Some(target) = UNSUPPORTED_SHOW_TARGETS.iter().find(|words| {
        words
            .iter()
            .enumerate()
            .all(|(offset, word)| cursor.peek_word_at(offset, word))
    }) {
        return Err(ParseError::unsupported(format!(
            "SHOW {}",
            target.join(" ")
        )));
    }
    if !allow_variables {
        return Err(cursor.expected("STREAMS, TABLES, QUERIES or PROPERTIES"));
    }
    if cursor.take_words(&["TIME", "ZONE"]) {
        return Ok(Statement::ShowVariable {
            name: "timezone".into(),
        });
    }
    if cursor.take_words(&["TRANSACTION", "ISOLATION", "LEVEL"]) {
        return Ok(Statement::ShowVariable {
            name: "transaction_isolation".into(),
        });
    }
    Ok(Statement::ShowVariable {
        name: parse_dotted_name(cursor)?,
    })
}

/// `name[.name...]`, each part folded: Postgres setting names such as `my.setting`.
fn parse_dotted_name(cursor: &mut Cursor<'_>) -> Result<String, ParseError> {
    let mut name = cursor.identifier()?;
    while cursor.take_token(&Token::Period) {
        name.push('.');
        name.push_str(&cursor.identifier()?);
    }
    Ok(name)
}

/// After `DESCRIBE`.
fn parse_describe(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    for listing in ["STREAMS", "TABLES"] {
        let ends_after =
            matches!(cursor.peek_at(1), Token::EOF) || cursor.peek_word_at(1, "EXTENDED");
        if cursor.peek_word(listing) && ends_after {
            return Err(ParseError::unsupported(format!("DESCRIBE {listing}")));
        }
    }
    for other in ["FUNCTION", "CONNECTOR"] {
        if cursor.peek_word(other) && matches!(cursor.peek_at(1), Token::Word(_)) {
            return Err(ParseError::unsupported(format!("DESCRIBE {other}")));
        }
    }
    let extended = matches!(cursor.peek_at(1), Token::Word(_)) && cursor.take_word("EXTENDED");
    let name = cursor.identifier()?;
    Ok(Statement::Describe { name, extended })
}

/// Postgres' EXPLAIN options; only ANALYZE (and FORMAT TEXT, what Eddy prints) change
/// what Eddy answers, the others are refused by name.
const EXPLAIN_OPTIONS: &[&str] = &[
    "ANALYZE",
    "VERBOSE",
    "COSTS",
    "SETTINGS",
    "GENERIC_PLAN",
    "BUFFERS",
    "SERIALIZE",
    "WAL",
    "TIMING",
    "SUMMARY",
    "MEMORY",
    "FORMAT",
];

/// Words that start the statements EXPLAIN takes: after EXPLAIN, a lone word that is not
/// one of them is a query id.
const EXPLAINED_STATEMENTS: &[&str] = &["SELECT", "WITH", "VALUES", "CREATE", "INSERT"];

/// After `EXPLAIN`: `[ANALYZE] query_id` (ksqlDB), `[ANALYZE] statement`, or Postgres'
/// `(option [value], ..) statement`.
fn parse_explain(
    source: &Source<'_>,
    cursor: &mut Cursor<'_>,
    end: Location,
) -> Result<Statement, ParseError> {
    let options_follow = cursor.peek() == &Token::LParen
        && EXPLAIN_OPTIONS
            .iter()
            .any(|option| cursor.peek_word_at(1, option));
    let analyze = match options_follow {
        true => parse_explain_options(cursor)?,
        false => cursor.take_word("ANALYZE"),
    };
    if cursor.peek_word("VERBOSE") {
        return Err(ParseError::unsupported("EXPLAIN VERBOSE"));
    }
    if let (Token::Word(word), Token::EOF) = (cursor.peek(), cursor.peek_at(1))
        && !EXPLAINED_STATEMENTS.contains(&word.value.to_ascii_uppercase().as_str())
    {
        let query_id = word.value.to_ascii_lowercase();
        cursor.advance();
        return Ok(Statement::Explain(Explain {
            analyze,
            target: ExplainTarget::Query(query_id),
        }));
    }
    let Some(keyword) = cursor.peek_keyword() else {
        if cursor.peek() == &Token::LParen {
            let statement = parse_statement(source, cursor.rest(), end)?;
            return Ok(explained(analyze, statement));
        }
        return Err(cursor.expected("a statement or a query id"));
    };
    if !EXPLAINED_STATEMENTS.contains(&keyword.as_str()) {
        return Err(ParseError::unsupported(format!("EXPLAIN {keyword}")));
    }
    let statement = parse_statement(source, cursor.rest(), end)?;
    match statement {
        Statement::Select(_) | Statement::CreateAsSelect(_) | Statement::InsertSelect(_) => {
            Ok(explained(analyze, statement))
        }
        _ => Err(ParseError::unsupported(format!(
            "EXPLAIN {keyword} without a query"
        ))),
    }
}

fn explained(analyze: bool, statement: Statement) -> Statement {
    Statement::Explain(Explain {
        analyze,
        target: ExplainTarget::Statement(Box::new(statement)),
    })
}

/// Postgres' `(ANALYZE [true|false|on|off|1|0], FORMAT TEXT)`: whether to analyze.
fn parse_explain_options(cursor: &mut Cursor<'_>) -> Result<bool, ParseError> {
    let options = cursor.parenthesized_list(|option| {
        if option.take_word("ANALYZE") {
            return parse_explain_flag(option);
        }
        if option.take_word("FORMAT") {
            if option.take_word("TEXT") {
                return Ok(None);
            }
            return Err(ParseError::unsupported("EXPLAIN formats other than TEXT"));
        }
        match option.peek_keyword() {
            Some(name) if EXPLAIN_OPTIONS.contains(&name.as_str()) => {
                Err(ParseError::unsupported(format!("EXPLAIN option {name}")))
            }
            _ => Err(option.expected("an EXPLAIN option")),
        }
    })?;
    Ok(options.into_iter().flatten().next_back().unwrap_or(false))
}

/// An option's boolean, true when it has none (`ANALYZE`, `ANALYZE false`).
fn parse_explain_flag(cursor: &mut Cursor<'_>) -> Result<Option<bool>, ParseError> {
    let value = match cursor.peek() {
        Token::Comma | Token::EOF => return Ok(Some(true)),
        Token::Number(digits, _) if digits == "1" => true,
        Token::Number(digits, _) if digits == "0" => false,
        Token::Word(word) => match word.value.to_ascii_uppercase().as_str() {
            "TRUE" | "ON" => true,
            "FALSE" | "OFF" => false,
            _ => return Err(cursor.expected("a boolean")),
        },
        _ => return Err(cursor.expected("a boolean")),
    };
    cursor.advance();
    Ok(Some(value))
}

/// After `TERMINATE`: a query id (case-insensitive, so always folded) or `ALL`.
fn parse_terminate(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    if cursor.take_word("ALL") {
        return Ok(Statement::Terminate(TerminateTarget::All));
    }
    let Token::Word(word) = cursor.peek() else {
        return Err(cursor.expected("a query id or ALL"));
    };
    let query_id = word.value.to_ascii_lowercase();
    cursor.advance();
    Ok(Statement::Terminate(TerminateTarget::Query(query_id)))
}

/// After `SET`: ksqlDB's `SET 'k' = 'v'` or Postgres' `SET [SESSION|LOCAL] k {=|TO} v`.
/// `SET LOCAL` acts as `SET SESSION`: Eddy's transactions do not scope settings.
fn parse_set(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    if let Token::SingleQuotedString(name) = cursor.peek() {
        cursor.advance();
        expect_assignment(cursor)?;
        return parse_set_value(cursor, name.clone());
    }
    if cursor.take_words(&["SESSION", "CHARACTERISTICS"]) {
        cursor.expect_word("AS")?;
        cursor.expect_word("TRANSACTION")?;
        let settings = parse_transaction_modes(cursor)?;
        if settings.is_empty() {
            return Err(cursor.expected("a transaction mode"));
        }
        return Ok(Statement::SetSessionCharacteristics { settings });
    }
    if cursor.take_word("TRANSACTION") {
        let settings = parse_transaction_modes(cursor)?;
        if settings.is_empty() {
            return Err(cursor.expected("a transaction mode"));
        }
        return Ok(Statement::Transaction(TransactionStatement::SetModes(
            settings,
        )));
    }
    let _ = cursor.take_word("SESSION") || cursor.take_word("LOCAL");
    if cursor.take_words(&["TIME", "ZONE"]) {
        if cursor.take_word("LOCAL") || cursor.take_word("DEFAULT") {
            return Ok(Statement::Unset {
                name: "timezone".into(),
                spelling: UnsetSpelling::SetDefault,
            });
        }
        return parse_set_value(cursor, "timezone".into());
    }
    let name = parse_dotted_name(cursor)?;
    expect_assignment(cursor)?;
    parse_set_value(cursor, name)
}

fn expect_assignment(cursor: &mut Cursor<'_>) -> Result<(), ParseError> {
    if cursor.take_token(&Token::Eq) || cursor.take_word("TO") {
        Ok(())
    } else {
        Err(cursor.expected("\"=\" or TO"))
    }
}

/// `DEFAULT` (an unset), or one or more values joined by `, `: strings unquoted, numbers
/// as written, words folded like names (Postgres' rule for `SET datestyle = ISO`).
fn parse_set_value(cursor: &mut Cursor<'_>, name: String) -> Result<Statement, ParseError> {
    if cursor.take_word("DEFAULT") {
        return Ok(Statement::Unset {
            name,
            spelling: UnsetSpelling::SetDefault,
        });
    }
    let mut values = vec![parse_one_set_value(cursor)?];
    while cursor.take_token(&Token::Comma) {
        values.push(parse_one_set_value(cursor)?);
    }
    Ok(Statement::Set {
        name,
        value: values.join(", "),
    })
}

fn parse_one_set_value(cursor: &mut Cursor<'_>) -> Result<String, ParseError> {
    let sign = match cursor.peek() {
        Token::Minus => "-",
        Token::Plus => "+",
        _ => "",
    };
    let value_token = if sign.is_empty() {
        cursor.peek()
    } else {
        cursor.peek_at(1)
    };
    let value = match value_token {
        Token::SingleQuotedString(text) if sign.is_empty() => text.clone(),
        Token::Number(digits, _) => format!("{sign}{digits}"),
        Token::Word(word) if sign.is_empty() => fold_identifier(word),
        _ => return Err(cursor.expected("a value")),
    };
    if !sign.is_empty() {
        cursor.advance();
    }
    cursor.advance();
    Ok(value)
}

/// After `UNSET` (ksqlDB, `UNSET 'k'`) or `RESET` (Postgres, `RESET k`, `RESET ALL`).
fn parse_unset(cursor: &mut Cursor<'_>, spelling: UnsetSpelling) -> Result<Statement, ParseError> {
    let name = if let Token::SingleQuotedString(name) = cursor.peek() {
        let name = name.clone();
        cursor.advance();
        name
    } else if cursor.take_words(&["TIME", "ZONE"]) {
        "timezone".into()
    } else {
        parse_dotted_name(cursor)?
    };
    Ok(Statement::Unset { name, spelling })
}

/// After BEGIN, START, COMMIT, END, ROLLBACK, ABORT, SAVEPOINT or RELEASE. A BEGIN's
/// transaction modes are the settings they stand for, as SET SESSION CHARACTERISTICS'.
fn parse_transaction(keyword: &str, cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    let transaction = match keyword {
        "BEGIN" => {
            let _ = cursor.take_word("WORK") || cursor.take_word("TRANSACTION");
            TransactionStatement::Begin(parse_transaction_modes(cursor)?)
        }
        "START" => {
            cursor.expect_word("TRANSACTION")?;
            TransactionStatement::Begin(parse_transaction_modes(cursor)?)
        }
        "COMMIT" | "END" => {
            parse_transaction_end(cursor)?;
            TransactionStatement::Commit
        }
        "SAVEPOINT" => TransactionStatement::Savepoint(cursor.identifier()?),
        "RELEASE" => {
            let _ = cursor.take_word("SAVEPOINT");
            TransactionStatement::Release(cursor.identifier()?)
        }
        "ROLLBACK" if cursor.peek_word("TO") || cursor.peek_word_at(1, "TO") => {
            let _ = cursor.take_word("WORK") || cursor.take_word("TRANSACTION");
            cursor.expect_word("TO")?;
            let _ = cursor.take_word("SAVEPOINT");
            TransactionStatement::RollbackTo(cursor.identifier()?)
        }
        _ => {
            parse_transaction_end(cursor)?;
            TransactionStatement::Rollback
        }
    };
    Ok(Statement::Transaction(transaction))
}

/// After `DEALLOCATE`: `[PREPARE] name | ALL`, the name folded as Postgres folds it.
fn parse_deallocate(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    cursor.take_word("PREPARE");
    if cursor.take_word("ALL") {
        return Ok(Statement::Deallocate(None));
    }
    let Token::Word(word) = cursor.peek() else {
        return Err(cursor.expected("a prepared statement's name or ALL"));
    };
    let name = fold_identifier(word);
    cursor.advance();
    Ok(Statement::Deallocate(Some(name)))
}

/// After `DISCARD`.
fn parse_discard(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    let target = if cursor.take_word("ALL") {
        DiscardTarget::All
    } else if cursor.take_word("PLANS") {
        DiscardTarget::Plans
    } else if cursor.take_word("SEQUENCES") {
        DiscardTarget::Sequences
    } else if cursor.take_word("TEMP") || cursor.take_word("TEMPORARY") {
        DiscardTarget::Temp
    } else {
        return Err(cursor.expected("ALL, PLANS, SEQUENCES or TEMP"));
    };
    Ok(Statement::Discard(target))
}

/// `[WORK | TRANSACTION] [AND [NO] CHAIN]` after COMMIT, END, ROLLBACK and ABORT.
fn parse_transaction_end(cursor: &mut Cursor<'_>) -> Result<(), ParseError> {
    let _ = cursor.take_word("WORK") || cursor.take_word("TRANSACTION");
    if cursor.take_words(&["AND", "NO", "CHAIN"]) {
        return Ok(());
    }
    if cursor.peek_word("AND") {
        return Err(ParseError::unsupported("AND CHAIN"));
    }
    Ok(())
}

/// Postgres' transaction modes, separated by optional commas, as the settings they stand
/// for: `ISOLATION LEVEL ..` is `default_transaction_isolation` (the level in lower case),
/// `READ ONLY`/`READ WRITE` `default_transaction_read_only` (`on`/`off`), `[NOT]
/// DEFERRABLE` `default_transaction_deferrable`.
fn parse_transaction_modes(cursor: &mut Cursor<'_>) -> Result<Vec<(String, String)>, ParseError> {
    const LEVELS: [&[&str]; 4] = [
        &["READ", "UNCOMMITTED"],
        &["READ", "COMMITTED"],
        &["REPEATABLE", "READ"],
        &["SERIALIZABLE"],
    ];
    const MODES: [(&[&str], &str, &str); 4] = [
        (&["READ", "ONLY"], "default_transaction_read_only", "on"),
        (&["READ", "WRITE"], "default_transaction_read_only", "off"),
        (&["DEFERRABLE"], "default_transaction_deferrable", "on"),
        (
            &["NOT", "DEFERRABLE"],
            "default_transaction_deferrable",
            "off",
        ),
    ];
    let mut settings = Vec::new();
    loop {
        if cursor.take_words(&["ISOLATION", "LEVEL"]) {
            let Some(level) = LEVELS.iter().find(|level| cursor.take_words(level)) else {
                return Err(cursor.expected("an isolation level"));
            };
            settings.push((
                "default_transaction_isolation".to_string(),
                level.join(" ").to_lowercase(),
            ));
        } else {
            let Some((_, name, value)) = MODES.iter().find(|(words, ..)| cursor.take_words(words))
            else {
                return Ok(settings);
            };
            settings.push(((*name).to_string(), (*value).to_string()));
        }
        let _ = cursor.take_token(&Token::Comma);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{message, parse_one};

    #[test]
    fn show_and_list_listings() {
        assert_eq!(
            parse_one("SHOW STREAMS"),
            Ok(Statement::ShowStreams { extended: false })
        );
        assert_eq!(
            parse_one("list streams extended"),
            Ok(Statement::ShowStreams { extended: true })
        );
        assert_eq!(
            parse_one("SHOW TABLES EXTENDED"),
            Ok(Statement::ShowTables { extended: true })
        );
        assert_eq!(
            parse_one("LIST QUERIES"),
            Ok(Statement::ShowQueries { extended: false })
        );
        assert_eq!(parse_one("SHOW PROPERTIES"), Ok(Statement::ShowProperties));
        assert_eq!(
            parse_one("SHOW ALL TOPICS"),
            Err(ParseError::unsupported("SHOW ALL TOPICS"))
        );
        assert_eq!(
            parse_one("LIST SOURCE CONNECTORS"),
            Err(ParseError::unsupported("SHOW SOURCE CONNECTORS"))
        );
        assert!(message("LIST server_version").contains("expected STREAMS"));
    }

    #[test]
    fn show_postgres_variables() {
        for (sql, name) in [
            ("SHOW server_version", "server_version"),
            ("SHOW ALL", "all"),
            ("show TimeZone", "timezone"),
            ("SHOW TIME ZONE", "timezone"),
            ("SHOW TRANSACTION ISOLATION LEVEL", "transaction_isolation"),
            ("SHOW my.Setting", "my.setting"),
            ("SHOW \"Odd\"", "Odd"),
        ] {
            assert_eq!(
                parse_one(sql),
                Ok(Statement::ShowVariable { name: name.into() }),
                "{sql}"
            );
        }
        assert!(message("SHOW").contains("at end of input"));
        assert!(message("SHOW STREAMS FOR").contains("near \"FOR\""));
    }

    #[test]
    fn describe_forms() {
        assert_eq!(
            parse_one("DESCRIBE Clicks"),
            Ok(Statement::Describe {
                name: "clicks".into(),
                extended: false
            })
        );
        assert_eq!(
            parse_one("DESCRIBE EXTENDED \"Clicks\""),
            Ok(Statement::Describe {
                name: "Clicks".into(),
                extended: true
            })
        );
        assert_eq!(
            parse_one("DESCRIBE extended"),
            Ok(Statement::Describe {
                name: "extended".into(),
                extended: false
            })
        );
        assert_eq!(
            parse_one("DESCRIBE STREAMS"),
            Err(ParseError::unsupported("DESCRIBE STREAMS"))
        );
        assert_eq!(
            parse_one("DESCRIBE TABLES EXTENDED"),
            Err(ParseError::unsupported("DESCRIBE TABLES"))
        );
        assert_eq!(
            parse_one("DESCRIBE FUNCTION abs"),
            Err(ParseError::unsupported("DESCRIBE FUNCTION"))
        );
    }

    #[test]
    fn terminate_folds_query_ids() {
        assert_eq!(
            parse_one("TERMINATE CSAS_Clicks_0"),
            Ok(Statement::Terminate(TerminateTarget::Query(
                "csas_clicks_0".into()
            )))
        );
        assert_eq!(
            parse_one("TERMINATE \"CTAS_X_1\""),
            Ok(Statement::Terminate(TerminateTarget::Query(
                "ctas_x_1".into()
            )))
        );
        assert_eq!(
            parse_one("terminate all"),
            Ok(Statement::Terminate(TerminateTarget::All))
        );
        assert!(message("TERMINATE").contains("expected a query id or ALL"));
    }

    #[test]
    fn set_in_ksqldb_and_postgres_forms() {
        let set = |name: &str, value: &str| {
            Ok(Statement::Set {
                name: name.into(),
                value: value.into(),
            })
        };
        assert_eq!(
            parse_one("SET 'auto.offset.reset' = 'earliest'"),
            set("auto.offset.reset", "earliest")
        );
        assert_eq!(
            parse_one("SET extra_float_digits = 3"),
            set("extra_float_digits", "3")
        );
        assert_eq!(
            parse_one("SET SESSION Application_Name TO 'psql'"),
            set("application_name", "psql")
        );
        assert_eq!(
            parse_one("SET LOCAL DateStyle = ISO, 'MDY'"),
            set("datestyle", "iso, MDY")
        );
        assert_eq!(parse_one("SET TIME ZONE 'UTC'"), set("timezone", "UTC"));
        assert_eq!(parse_one("SET x = -1"), set("x", "-1"));
        assert_eq!(
            parse_one("SET x TO DEFAULT"),
            Ok(Statement::Unset {
                name: "x".into(),
                spelling: UnsetSpelling::SetDefault
            })
        );
        assert_eq!(
            parse_one("SET TIME ZONE LOCAL"),
            Ok(Statement::Unset {
                name: "timezone".into(),
                spelling: UnsetSpelling::SetDefault
            })
        );
        assert!(message("SET x 3").contains("expected \"=\" or TO"));
        assert!(message("SET x =").contains("at end of input"));
        let setting = |name: &str, value: &str| (name.to_string(), value.to_string());
        assert_eq!(
            parse_one(
                "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED, \
                 READ ONLY NOT DEFERRABLE"
            ),
            Ok(Statement::SetSessionCharacteristics {
                settings: vec![
                    setting("default_transaction_isolation", "read uncommitted"),
                    setting("default_transaction_read_only", "on"),
                    setting("default_transaction_deferrable", "off"),
                ]
            })
        );
        assert!(
            message("SET SESSION CHARACTERISTICS AS TRANSACTION")
                .contains("expected a transaction mode")
        );
        assert!(
            message("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ")
                .contains("expected an isolation level")
        );
    }

    #[test]
    fn unset_and_reset() {
        let unset = |name: &str, spelling| {
            Ok(Statement::Unset {
                name: name.into(),
                spelling,
            })
        };
        assert_eq!(
            parse_one("UNSET 'auto.offset.reset'"),
            unset("auto.offset.reset", UnsetSpelling::Unset)
        );
        let reset = UnsetSpelling::Reset;
        assert_eq!(parse_one("RESET Search_Path"), unset("search_path", reset));
        assert_eq!(parse_one("RESET ALL"), unset("all", reset));
        assert_eq!(parse_one("RESET TIME ZONE"), unset("timezone", reset));
    }

    #[test]
    fn transaction_statements() {
        let begin = |modes: &[(&str, &str)]| {
            let modes = modes
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect();
            Ok(Statement::Transaction(TransactionStatement::Begin(modes)))
        };
        let commit = Ok(Statement::Transaction(TransactionStatement::Commit));
        let rollback = Ok(Statement::Transaction(TransactionStatement::Rollback));
        for sql in ["BEGIN", "BEGIN WORK", "START TRANSACTION"] {
            assert_eq!(parse_one(sql), begin(&[]), "{sql}");
        }
        assert_eq!(
            parse_one("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
            begin(&[
                ("default_transaction_isolation", "repeatable read"),
                ("default_transaction_read_only", "on")
            ])
        );
        assert_eq!(
            parse_one("START TRANSACTION READ WRITE NOT DEFERRABLE"),
            begin(&[
                ("default_transaction_read_only", "off"),
                ("default_transaction_deferrable", "off")
            ])
        );
        assert_eq!(
            parse_one("SET TRANSACTION READ ONLY"),
            Ok(Statement::Transaction(TransactionStatement::SetModes(
                vec![("default_transaction_read_only".into(), "on".into())]
            )))
        );
        for sql in [
            "COMMIT",
            "COMMIT WORK",
            "END",
            "END TRANSACTION",
            "COMMIT AND NO CHAIN",
        ] {
            assert_eq!(parse_one(sql), commit, "{sql}");
        }
        for sql in ["ROLLBACK", "ROLLBACK WORK", "ABORT", "ABORT TRANSACTION"] {
            assert_eq!(parse_one(sql), rollback, "{sql}");
        }
        assert_eq!(
            parse_one("COMMIT AND CHAIN"),
            Err(ParseError::unsupported("AND CHAIN"))
        );
        assert!(message("COMMIT TO a").contains("near \"TO\""));
        assert!(message("BEGIN ISOLATION LEVEL SOMETIMES").contains("isolation level"));
        assert!(message("START").contains("expected TRANSACTION"));
    }

    #[test]
    fn savepoints_fold_their_names() {
        let savepoint = |name: &str| {
            Ok(Statement::Transaction(TransactionStatement::Savepoint(
                name.into(),
            )))
        };
        let release = |name: &str| {
            Ok(Statement::Transaction(TransactionStatement::Release(
                name.into(),
            )))
        };
        let rollback_to = |name: &str| {
            Ok(Statement::Transaction(TransactionStatement::RollbackTo(
                name.into(),
            )))
        };
        assert_eq!(
            parse_one("SAVEPOINT Before_Insert"),
            savepoint("before_insert")
        );
        assert_eq!(parse_one("SAVEPOINT \"_pg3_1\""), savepoint("_pg3_1"));
        assert_eq!(parse_one("RELEASE a"), release("a"));
        assert_eq!(parse_one("RELEASE SAVEPOINT \"A\""), release("A"));
        assert_eq!(parse_one("ROLLBACK TO a"), rollback_to("a"));
        assert_eq!(parse_one("ROLLBACK TO SAVEPOINT a"), rollback_to("a"));
        assert_eq!(parse_one("ROLLBACK WORK TO SAVEPOINT a"), rollback_to("a"));
        assert_eq!(parse_one("ROLLBACK TRANSACTION TO a"), rollback_to("a"));
        assert!(message("SAVEPOINT").contains("at end of input"));
        assert!(message("ROLLBACK TO").contains("at end of input"));
    }

    #[test]
    fn discard_targets() {
        for (sql, target) in [
            ("DISCARD ALL", DiscardTarget::All),
            ("discard plans", DiscardTarget::Plans),
            ("DISCARD SEQUENCES", DiscardTarget::Sequences),
            ("DISCARD TEMP", DiscardTarget::Temp),
            ("DISCARD TEMPORARY", DiscardTarget::Temp),
        ] {
            assert_eq!(parse_one(sql), Ok(Statement::Discard(target)), "{sql}");
        }
        assert!(message("DISCARD").contains("expected ALL, PLANS, SEQUENCES or TEMP"));
    }

    #[test]
    fn explain_takes_a_query_id_or_a_statement_with_ksqldb_or_postgres_options() {
        let explain = |analyze, target| Ok(Statement::Explain(Explain { analyze, target }));
        let query = |id: &str| ExplainTarget::Query(id.into());
        assert_eq!(
            parse_one("EXPLAIN CTAS_Clicks_1"),
            explain(false, query("ctas_clicks_1"))
        );
        assert_eq!(
            parse_one("explain analyze INSERTQUERY_3"),
            explain(true, query("insertquery_3"))
        );
        let statement = |sql: &str| {
            let parsed = parse_one(sql).expect("the statement parses");
            ExplainTarget::Statement(Box::new(parsed))
        };
        assert_eq!(
            parse_one("EXPLAIN SELECT a FROM s EMIT CHANGES"),
            explain(false, statement("SELECT a FROM s EMIT CHANGES"))
        );
        assert_eq!(
            parse_one("EXPLAIN CREATE TABLE t AS SELECT a, COUNT(*) FROM s GROUP BY a"),
            explain(
                false,
                statement("CREATE TABLE t AS SELECT a, COUNT(*) FROM s GROUP BY a")
            )
        );
        assert_eq!(
            parse_one("EXPLAIN (ANALYZE, FORMAT TEXT) SELECT 1"),
            explain(true, statement("SELECT 1"))
        );
        assert_eq!(
            parse_one("EXPLAIN (analyze off) SELECT 1"),
            explain(false, statement("SELECT 1"))
        );
        assert_eq!(
            parse_one("EXPLAIN (SELECT 1)"),
            explain(false, statement("(SELECT 1)"))
        );
        assert_eq!(
            parse_one("EXPLAIN (COSTS false) SELECT 1"),
            Err(ParseError::unsupported("EXPLAIN option COSTS"))
        );
        assert_eq!(
            parse_one("EXPLAIN VERBOSE SELECT 1"),
            Err(ParseError::unsupported("EXPLAIN VERBOSE"))
        );
        assert_eq!(
            parse_one("EXPLAIN DROP TABLE t"),
            Err(ParseError::unsupported("EXPLAIN DROP"))
        );
        assert_eq!(
            parse_one("EXPLAIN CREATE STREAM s (a INT)"),
            Err(ParseError::unsupported("EXPLAIN CREATE without a query"))
        );
        assert!(message("EXPLAIN SELECT").contains("at end of input"));
        assert!(message("EXPLAIN").contains("expected a statement or a query id"));
    }

    #[test]
    fn known_but_unsupported_and_unknown_statements() {
        assert_eq!(parse_one("pause q1"), Err(ParseError::unsupported("PAUSE")));
        assert_eq!(
            parse_one("SELEC 1"),
            Err(ParseError::Syntax {
                message: "syntax error at or near \"SELEC\"".into(),
                position_chars: 1
            })
        );
        assert!(message("42").contains("expected a statement"));
    }
}
