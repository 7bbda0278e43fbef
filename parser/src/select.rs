//! Queries: ksqlDB's clauses (`EMIT`, `WINDOW TUMBLING|HOPPING|SESSION (...)`,
//! `PARTITION BY`) are cut out of the token stream at parenthesis depth 0, and the rest goes
//! to sqlparser's `parse_query`. Cutting first matters: sqlparser reads `FROM s EMIT CHANGES`
//! as the table `s` aliased `EMIT` and stops before `CHANGES`. RisingWave's `EMIT ON WINDOW
//! CLOSE` is cut as `EMIT FINAL`. Flink's window TVFs name their input `TABLE s`
//! (`TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), ..))`), which sqlparser cannot read as an
//! argument: that `TABLE` is dropped, and the planner reads the rest. Flink's and
//! RisingWave's lookup join, `JOIN t FOR SYSTEM_TIME AS OF PROCTIME()`, is a stream-table
//! join as ksqlDB writes it: the clause is cut. A join of two streams' `WITHIN .. [GRACE
//! PERIOD ..]` is cut too, and kept with the number of the join it follows. So is an ASOF
//! join's `ASOF`, `MATCH_CONDITION(..)` and `GRACE PERIOD ..` (RisingWave's `ASOF [LEFT]
//! JOIN`, Feldera's and Snowflake's `[LEFT] ASOF JOIN .. MATCH_CONDITION(..)`): the join
//! stays a plain one, and the planner reads the rest from [`AsofJoin`].
//!
//! Never: hand sqlparser's query back without checking that it consumed every token.

use std::time::Duration;

use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use crate::ast::{AsofJoin, Emit, JoinWindow, SelectStatement, WindowSpec};
use crate::cursor::{Cursor, is_word, matching_close_parenthesis, run_sqlparser};
use crate::error::ParseError;
use crate::source::Source;

/// Parses a whole query from `tokens`; `end` is where the query ends in the input.
pub(crate) fn parse_select(
    source: &Source<'_>,
    tokens: &[TokenWithSpan],
    end: Location,
) -> Result<SelectStatement, ParseError> {
    let clauses = cut_ksql_clauses(source, tokens, end)?;
    let (query, consumed) =
        run_sqlparser(source, clauses.standard_tokens.clone(), end, |parser| {
            parser.parse_query()
        })?;
    if let Some(leftover) = clauses.standard_tokens.get(consumed) {
        return Err(source.syntax_error(leftover.span.start, None));
    }
    Ok(SelectStatement {
        query,
        emit: clauses.emit,
        partition_by: clauses.partition_by,
        window: clauses.window,
        join_windows: clauses.join_windows,
        asof_joins: clauses.asof_joins,
    })
}

/// A query split into its standard tokens and the ksqlDB clauses taken out of it.
struct KsqlClauses {
    standard_tokens: Vec<TokenWithSpan>,
    emit: Option<Emit>,
    partition_by: Option<Vec<sqlparser::ast::Expr>>,
    window: Option<WindowSpec>,
    join_windows: Vec<JoinWindow>,
    asof_joins: Vec<AsofJoin>,
}

fn cut_ksql_clauses(
    source: &Source<'_>,
    tokens: &[TokenWithSpan],
    end: Location,
) -> Result<KsqlClauses, ParseError> {
    let mut clauses = KsqlClauses {
        standard_tokens: Vec::with_capacity(tokens.len()),
        emit: None,
        partition_by: None,
        window: None,
        join_windows: Vec::new(),
        asof_joins: Vec::new(),
    };
    let mut depth: usize = 0;
    let mut from_seen = false;
    let mut joins_seen: usize = 0;
    // Per depth of parentheses, the number of the last JOIN written there: a WITHIN belongs
    // to it, also after the joined subquery's own joins.
    let mut last_join_by_depth: Vec<Option<usize>> = vec![None];
    let mut index = 0;
    while let Some(token) = tokens.get(index) {
        let next = tokens.get(index + 1).map(|next| &next.token);
        let at_depth_zero = depth == 0;
        match &token.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        last_join_by_depth.resize(depth + 1, None);
        let clause_error = |message: &str| source.error_at(token.span.start, message.to_string());
        // A join's WITHIN is cut at any depth (a join inside a subquery): joins are counted
        // in written order, as the planner finds them again.
        if is_word(&token.token, "WITHIN") && !next.is_some_and(|t| is_word(t, "GROUP")) {
            let Some(join) = last_join_by_depth[depth] else {
                return Err(clause_error(
                    "WITHIN belongs to a JOIN, after the joined stream",
                ));
            };
            if clauses
                .join_windows
                .iter()
                .any(|window| window.join == join)
            {
                return Err(clause_error("WITHIN is given twice for one JOIN"));
            }
            // The clause ends where ON begins (or the query ends).
            let on_index = (index + 1..tokens.len())
                .find(|&at| is_word(&tokens[at].token, "ON"))
                .unwrap_or(tokens.len());
            let inner = tokens.get(index + 1..on_index).unwrap_or(&[]);
            let inner_end = tokens.get(on_index).map_or(end, |on| on.span.start);
            let mut cursor = Cursor::new(source, inner, inner_end);
            clauses
                .join_windows
                .push(parse_join_window(join, &mut cursor)?);
            index = on_index;
            continue;
        }
        if is_word(&token.token, "JOIN") {
            last_join_by_depth[depth] = Some(joins_seen);
            joins_seen += 1;
        }
        if !at_depth_zero {
            if !is_window_tvf_table_keyword(tokens, index) {
                clauses.standard_tokens.push(token.clone());
            }
            index += 1;
            continue;
        }
        if let Some((emit, emit_tokens)) = emit_clause(tokens, index) {
            if clauses.emit.is_some() {
                return Err(clause_error("EMIT is given twice"));
            }
            if let Some(after) = tokens.get(index + emit_tokens)
                && !is_word(&after.token, "LIMIT")
            {
                return Err(
                    source.syntax_error(after.span.start, Some("end of query or LIMIT after EMIT"))
                );
            }
            clauses.emit = Some(emit);
            index += emit_tokens;
        } else if let Some(kind) = ksql_window_kind(tokens, index) {
            if clauses.window.is_some() {
                return Err(clause_error("WINDOW is given twice"));
            }
            if !from_seen {
                return Err(clause_error("WINDOW must follow FROM"));
            }
            let open_index = index + 2;
            let Some(close_index) = matching_close_parenthesis(tokens, open_index) else {
                return Err(source.syntax_error(end, Some("\")\"")));
            };
            let inner = tokens.get(open_index + 1..close_index).unwrap_or(&[]);
            let close_location = tokens
                .get(close_index)
                .map_or(end, |close| close.span.start);
            let mut cursor = Cursor::new(source, inner, close_location);
            clauses.window = Some(parse_window_body(kind, &mut cursor)?);
            index = close_index + 1;
        } else if is_word(&token.token, "PARTITION") && next.is_some_and(|t| is_word(t, "BY")) {
            if clauses.partition_by.is_some() {
                return Err(clause_error("PARTITION BY is given twice"));
            }
            let rest = tokens.get(index + 2..).unwrap_or(&[]).to_vec();
            let (expressions, consumed) = run_sqlparser(source, rest, end, |parser| {
                parser.parse_comma_separated(Parser::parse_expr)
            })?;
            clauses.partition_by = Some(expressions);
            index += 2 + consumed;
        } else if let Some(lookup_tokens) = proctime_version(tokens, index) {
            index += lookup_tokens;
        } else if is_word(&token.token, "FOR") && next.is_some_and(|t| is_word(t, "SYSTEM_TIME")) {
            return Err(ParseError::unsupported(
                "FOR SYSTEM_TIME AS OF other than PROCTIME() (an event-time temporal join)",
            ));
        } else if is_word(&token.token, "ASOF")
            && next.is_some_and(|t| is_word(t, "JOIN") || is_word(t, "LEFT"))
        {
            // `ASOF JOIN`, `ASOF LEFT JOIN` and `LEFT ASOF JOIN` all leave a plain join.
            clauses.asof_joins.push(AsofJoin {
                join: joins_seen,
                match_condition: None,
                grace: None,
            });
            index += 1;
        } else if is_word(&token.token, "MATCH_CONDITION") && next == Some(&Token::LParen) {
            let asof = last_asof_join(&mut clauses.asof_joins, joins_seen).ok_or_else(|| {
                clause_error("MATCH_CONDITION belongs to an ASOF JOIN, after the joined relation")
            })?;
            if asof.match_condition.is_some() {
                return Err(clause_error(
                    "MATCH_CONDITION is given twice for one ASOF JOIN",
                ));
            }
            let Some(close_index) = matching_close_parenthesis(tokens, index + 1) else {
                return Err(source.syntax_error(end, Some("\")\"")));
            };
            let inner = tokens.get(index + 2..close_index).unwrap_or(&[]).to_vec();
            let close_location = tokens
                .get(close_index)
                .map_or(end, |close| close.span.start);
            let (condition, consumed) =
                run_sqlparser(source, inner.clone(), close_location, |parser| {
                    parser.parse_expr()
                })?;
            if let Some(leftover) = inner.get(consumed) {
                return Err(source.syntax_error(leftover.span.start, Some("\")\"")));
            }
            asof.match_condition = Some(condition);
            index = close_index + 1;
        } else if is_word(&token.token, "GRACE") && next.is_some_and(|t| is_word(t, "PERIOD")) {
            let asof = last_asof_join(&mut clauses.asof_joins, joins_seen).ok_or_else(|| {
                clause_error("GRACE PERIOD belongs to a WINDOW, a WITHIN or an ASOF JOIN")
            })?;
            if asof.grace.is_some() {
                return Err(clause_error(
                    "GRACE PERIOD is given twice for one ASOF JOIN",
                ));
            }
            // The clause ends where ON or MATCH_CONDITION begins (or the query ends).
            let clause_end = (index + 2..tokens.len())
                .find(|&at| {
                    is_word(&tokens[at].token, "ON")
                        || is_word(&tokens[at].token, "MATCH_CONDITION")
                })
                .unwrap_or(tokens.len());
            let inner = tokens.get(index + 2..clause_end).unwrap_or(&[]);
            let inner_end = tokens.get(clause_end).map_or(end, |on| on.span.start);
            let mut cursor = Cursor::new(source, inner, inner_end);
            asof.grace = Some(parse_duration(&mut cursor)?);
            if !cursor.is_at_end() {
                return Err(cursor.expected("ON or MATCH_CONDITION"));
            }
            index = clause_end;
        } else {
            from_seen |= is_word(&token.token, "FROM");
            clauses.standard_tokens.push(token.clone());
            index += 1;
        }
    }
    Ok(clauses)
}

/// The ASOF join that the last JOIN seen (`joins_seen` of them) is, if it is one: a
/// MATCH_CONDITION or GRACE PERIOD follows its joined relation.
fn last_asof_join(asof_joins: &mut [AsofJoin], joins_seen: usize) -> Option<&mut AsofJoin> {
    let join = joins_seen.checked_sub(1)?;
    asof_joins.last_mut().filter(|asof| asof.join == join)
}

/// The inside of `WITHIN n unit [GRACE PERIOD n unit]` or `WITHIN (before unit, after
/// unit) [GRACE PERIOD n unit]`, for the join numbered `join`.
fn parse_join_window(join: usize, cursor: &mut Cursor<'_>) -> Result<JoinWindow, ParseError> {
    let (before, after) = match cursor.peek() {
        Token::LParen => {
            let mut inner = cursor.parenthesized()?;
            let before = parse_duration(&mut inner)?;
            inner.expect_token(&Token::Comma)?;
            let after = parse_duration(&mut inner)?;
            inner.expect_end()?;
            (before, after)
        }
        _ => {
            let both = parse_duration(cursor)?;
            (both, both)
        }
    };
    let grace = match cursor.take_words(&["GRACE", "PERIOD"]) {
        true => Some(parse_duration(cursor)?),
        false => None,
    };
    if !cursor.is_at_end() {
        return Err(cursor.expected("GRACE PERIOD or ON"));
    }
    Ok(JoinWindow {
        join,
        before,
        after,
        grace,
    })
}

/// The EMIT clause at `index` and how many tokens it takes: `EMIT CHANGES`, `EMIT FINAL`,
/// or RisingWave's `EMIT ON WINDOW CLOSE`, which means what ksqlDB's `EMIT FINAL` does.
fn emit_clause(tokens: &[TokenWithSpan], index: usize) -> Option<(Emit, usize)> {
    let word_at = |offset: usize, word: &str| {
        tokens
            .get(index + offset)
            .is_some_and(|token| is_word(&token.token, word))
    };
    if !word_at(0, "EMIT") {
        return None;
    }
    if word_at(1, "CHANGES") {
        Some((Emit::Changes, 2))
    } else if word_at(1, "FINAL") {
        Some((Emit::Final, 2))
    } else if word_at(1, "ON") && word_at(2, "WINDOW") && word_at(3, "CLOSE") {
        Some((Emit::Final, 4))
    } else {
        None
    }
}

/// How many tokens `FOR SYSTEM_TIME AS OF PROCTIME()` takes at `index`, if it is there.
fn proctime_version(tokens: &[TokenWithSpan], index: usize) -> Option<usize> {
    let words = ["FOR", "SYSTEM_TIME", "AS", "OF", "PROCTIME"];
    let at = |offset: usize| tokens.get(index + offset).map(|token| &token.token);
    let spelled = words
        .iter()
        .enumerate()
        .all(|(offset, word)| at(offset).is_some_and(|token| is_word(token, word)));
    let called = at(5) == Some(&Token::LParen) && at(6) == Some(&Token::RParen);
    (spelled && called).then_some(7)
}

/// The names of the window table-valued functions, whose first argument Flink writes
/// `TABLE s`.
const WINDOW_TVF_NAMES: [&str; 4] = ["TUMBLE", "HOP", "SESSION", "CUMULATE"];

/// Whether the token at `index` is the `TABLE` of `TUMBLE(TABLE s, ..)`.
fn is_window_tvf_table_keyword(tokens: &[TokenWithSpan], index: usize) -> bool {
    let token_at = |position: Option<usize>| position.and_then(|position| tokens.get(position));
    let opens_tvf = token_at(index.checked_sub(1)).is_some_and(|open| open.token == Token::LParen)
        && token_at(index.checked_sub(2))
            .is_some_and(|name| WINDOW_TVF_NAMES.iter().any(|tvf| is_word(&name.token, tvf)));
    let names_a_source =
        token_at(Some(index + 1)).is_some_and(|next| matches!(next.token, Token::Word(_)));
    opens_tvf
        && names_a_source
        && tokens
            .get(index)
            .is_some_and(|token| is_word(&token.token, "TABLE"))
}

/// The kind token (`TUMBLING`, `HOPPING`, `SESSION`) when the token at `window_index` is
/// `WINDOW` followed by a kind and `(`; a standard named window (`WINDOW w AS (...)`) gives
/// `None`.
fn ksql_window_kind(tokens: &[TokenWithSpan], window_index: usize) -> Option<&Token> {
    let window = &tokens.get(window_index)?.token;
    let kind = &tokens.get(window_index + 1)?.token;
    let open = &tokens.get(window_index + 2)?.token;
    let kind_matches = ["TUMBLING", "HOPPING", "SESSION"]
        .iter()
        .any(|name| is_word(kind, name));
    (is_word(window, "WINDOW") && kind_matches && *open == Token::LParen).then_some(kind)
}

/// What one item of a window body set, and where it was written.
#[derive(Default)]
struct WindowItems {
    gap: Option<Duration>,
    size: Option<(Duration, Location)>,
    advance: Option<(Duration, Location)>,
    grace: Option<Duration>,
    retention: Option<Duration>,
    idle_timeout: Option<Duration>,
}

/// The inside of `TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS)`,
/// `HOPPING (SIZE .., ADVANCE BY .., ..)` or `SESSION (5 MINUTES, ..)`.
fn parse_window_body(kind: &Token, cursor: &mut Cursor<'_>) -> Result<WindowSpec, ParseError> {
    let is_session = is_word(kind, "SESSION");
    let mut items = WindowItems::default();
    if is_session {
        let gap_location = cursor.location();
        let gap = parse_duration(cursor)?;
        if gap.is_zero() {
            return Err(cursor.source().error_at(
                gap_location,
                "SESSION gap must be greater than zero".to_string(),
            ));
        }
        items.gap = Some(gap);
        if !cursor.is_at_end() {
            cursor.expect_token(&Token::Comma)?;
            parse_window_items(cursor, &mut items, is_session)?;
        }
    } else {
        parse_window_items(cursor, &mut items, is_session)?;
    }
    cursor.expect_end()?;
    build_window(kind, items, cursor)
}

fn parse_window_items(
    cursor: &mut Cursor<'_>,
    items: &mut WindowItems,
    is_session: bool,
) -> Result<(), ParseError> {
    loop {
        let item_location = cursor.location();
        let source = cursor.source();
        let duplicate =
            |name: &str| source.error_at(item_location, format!("{name} is given twice"));
        if !is_session && cursor.take_word("SIZE") {
            if items.size.is_some() {
                return Err(duplicate("SIZE"));
            }
            items.size = Some((parse_duration(cursor)?, item_location));
        } else if !is_session && cursor.take_words(&["ADVANCE", "BY"]) {
            if items.advance.is_some() {
                return Err(duplicate("ADVANCE BY"));
            }
            items.advance = Some((parse_duration(cursor)?, item_location));
        } else if cursor.take_word("RETENTION") {
            if items.retention.is_some() {
                return Err(duplicate("RETENTION"));
            }
            items.retention = Some(parse_duration(cursor)?);
        } else if cursor.take_words(&["GRACE", "PERIOD"]) {
            if items.grace.is_some() {
                return Err(duplicate("GRACE PERIOD"));
            }
            items.grace = Some(parse_duration(cursor)?);
        } else if cursor.take_words(&["IDLE", "TIMEOUT"]) {
            if items.idle_timeout.is_some() {
                return Err(duplicate("IDLE TIMEOUT"));
            }
            let timeout_location = cursor.location();
            let timeout = parse_duration(cursor)?;
            if timeout.is_zero() {
                return Err(cursor.source().error_at(
                    timeout_location,
                    "IDLE TIMEOUT must be greater than zero".to_string(),
                ));
            }
            items.idle_timeout = Some(timeout);
        } else if is_session {
            return Err(cursor.expected("RETENTION, GRACE PERIOD or IDLE TIMEOUT"));
        } else {
            return Err(
                cursor.expected("SIZE, ADVANCE BY, RETENTION, GRACE PERIOD or IDLE TIMEOUT")
            );
        }
        if !cursor.take_token(&Token::Comma) {
            return Ok(());
        }
    }
}

fn build_window(
    kind: &Token,
    items: WindowItems,
    cursor: &Cursor<'_>,
) -> Result<WindowSpec, ParseError> {
    let source = cursor.source();
    let WindowItems {
        gap,
        size,
        advance,
        grace,
        retention,
        idle_timeout,
    } = items;
    if let Some(gap) = gap {
        return Ok(WindowSpec::Session {
            gap,
            grace,
            retention,
            idle_timeout,
        });
    }
    let Some((size, size_location)) = size else {
        return Err(source.error_at(cursor.end(), "the window needs a SIZE".to_string()));
    };
    if size.is_zero() {
        return Err(source.error_at(
            size_location,
            "window SIZE must be greater than zero".to_string(),
        ));
    }
    if is_word(kind, "TUMBLING") {
        if let Some((_, advance_location)) = advance {
            return Err(source.error_at(
                advance_location,
                "ADVANCE BY belongs to HOPPING windows, not TUMBLING ones".to_string(),
            ));
        }
        return Ok(WindowSpec::Tumbling {
            size,
            grace,
            retention,
            idle_timeout,
        });
    }
    let Some((advance, advance_location)) = advance else {
        return Err(source.error_at(
            cursor.end(),
            "a HOPPING window needs ADVANCE BY".to_string(),
        ));
    };
    if advance.is_zero() || advance > size {
        return Err(source.error_at(
            advance_location,
            "ADVANCE BY must be greater than zero and at most the window SIZE".to_string(),
        ));
    }
    Ok(WindowSpec::Hopping {
        size,
        advance,
        grace,
        retention,
        idle_timeout,
    })
}

/// `<whole number> <unit>`, unit one of MILLISECOND(S), SECOND(S), MINUTE(S), HOUR(S), DAY(S).
fn parse_duration(cursor: &mut Cursor<'_>) -> Result<Duration, ParseError> {
    let number_location = cursor.location();
    let Token::Number(digits, _) = cursor.peek() else {
        return Err(cursor.expected("a whole number"));
    };
    let Ok(count) = digits.parse::<u64>() else {
        return Err(cursor.error_here(format!("\"{digits}\" is not a whole number of time units")));
    };
    cursor.advance();
    let Some(ms_per_unit) = cursor.peek_keyword().as_deref().and_then(time_unit_ms) else {
        return Err(cursor.expected("a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS)"));
    };
    cursor.advance();
    count
        .checked_mul(ms_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| {
            cursor
                .source()
                .error_at(number_location, "the duration is too long".to_string())
        })
}

/// Milliseconds in one of ksqlDB's time units, singular or plural, in upper case: the units
/// of WINDOW clauses and of duration properties (`RETENTION='7 DAYS'`).
fn time_unit_ms(unit: &str) -> Option<u64> {
    match unit {
        "MILLISECOND" | "MILLISECONDS" => Some(1),
        "SECOND" | "SECONDS" => Some(1000),
        "MINUTE" | "MINUTES" => Some(60 * 1000),
        "HOUR" | "HOURS" => Some(60 * 60 * 1000),
        "DAY" | "DAYS" => Some(24 * 60 * 60 * 1000),
        _ => None,
    }
}

/// A duration written as text the way a WINDOW clause writes one, `<whole number> <unit>`
/// (`'7 DAYS'`, `'500 milliseconds'`), as a property's value; None if it is not one or is
/// too long for a `Duration` of milliseconds.
pub fn parse_duration_text(text: &str) -> Option<Duration> {
    let mut words = text.split_whitespace();
    let (Some(count), Some(unit), None) = (words.next(), words.next(), words.next()) else {
        return None;
    };
    if !count.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let ms_per_unit = time_unit_ms(&unit.to_ascii_uppercase())?;
    count
        .parse::<u64>()
        .ok()?
        .checked_mul(ms_per_unit)
        .map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Result<SelectStatement, ParseError> {
        let source = Source::tokenize(sql).expect("test input tokenizes");
        let end = source
            .tokens()
            .last()
            .map_or(Location::new(1, 1), |t| t.span.end);
        parse_select(&source, source.tokens(), end)
    }

    fn message(sql: &str) -> String {
        match parse(sql) {
            Ok(select) => format!("unexpectedly parsed {}", select.query),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn emit_is_cut_before_or_after_limit() {
        for sql in [
            "SELECT * FROM s EMIT CHANGES LIMIT 3",
            "SELECT * FROM s LIMIT 3 EMIT CHANGES",
        ] {
            let select = parse(sql).expect("query parses");
            assert_eq!(select.emit, Some(Emit::Changes), "{sql}");
            assert_eq!(select.query.to_string(), "SELECT * FROM s LIMIT 3", "{sql}");
        }
        let select = parse("SELECT * FROM s emit final").expect("query parses");
        assert_eq!(select.emit, Some(Emit::Final));
        assert_eq!(select.query.to_string(), "SELECT * FROM s");
    }

    #[test]
    fn emit_on_window_close_is_emit_final() {
        let select = parse("SELECT * FROM s EMIT ON WINDOW CLOSE LIMIT 2").expect("query parses");
        assert_eq!(select.emit, Some(Emit::Final));
        assert_eq!(select.query.to_string(), "SELECT * FROM s LIMIT 2");
        assert!(parse("SELECT * FROM s EMIT ON WINDOW").is_err());
    }

    #[test]
    fn window_tvfs_parse_in_both_spellings() {
        let select = parse(
            "SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end",
        )
        .expect("Flink's spelling parses");
        assert_eq!(
            select.query.to_string(),
            "SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(s, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end"
        );
        for sql in [
            "SELECT * FROM HOP(s, ts, INTERVAL '1' MINUTE, INTERVAL '5' MINUTE) AS h",
            "SELECT * FROM SESSION(s, ts, INTERVAL '1' MINUTE)",
            "SELECT * FROM CUMULATE(s, ts, INTERVAL '1' MINUTE, INTERVAL '1' HOUR)",
        ] {
            assert_eq!(parse(sql).expect("parses").query.to_string(), sql);
        }
        let select = parse("SELECT * FROM t WHERE a IN (SELECT b FROM TABLE(u))").expect("parses");
        assert_eq!(
            select.query.to_string(),
            "SELECT * FROM t WHERE a IN (SELECT b FROM TABLE(u))"
        );
    }

    #[test]
    fn without_emit_a_query_is_plain() {
        let select = parse("SELECT emit FROM s WHERE a = 1").expect("query parses");
        assert_eq!(select.emit, None);
        assert_eq!(select.query.to_string(), "SELECT emit FROM s WHERE a = 1");
    }

    #[test]
    fn only_limit_may_follow_emit() {
        assert!(message("SELECT * FROM s EMIT CHANGES WHERE a = 1").contains("near \"WHERE\""));
        assert!(message("SELECT * FROM s EMIT CHANGES EMIT FINAL").contains("near \"EMIT\""));
    }

    #[test]
    fn partition_by_is_cut_out_with_its_expressions() {
        let select = parse("SELECT * FROM s WHERE a > 1 PARTITION BY b, c->d EMIT CHANGES")
            .expect("query parses");
        let partition_by: Vec<String> = select
            .partition_by
            .expect("PARTITION BY was given")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(partition_by, vec!["b", "c.d"]);
        assert_eq!(select.query.to_string(), "SELECT * FROM s WHERE a > 1");
    }

    #[test]
    fn partition_by_inside_over_is_left_to_sqlparser() {
        let select =
            parse("SELECT rank() OVER (PARTITION BY a ORDER BY b) FROM t").expect("query parses");
        assert_eq!(select.partition_by, None);
        assert_eq!(
            select.query.to_string(),
            "SELECT rank() OVER (PARTITION BY a ORDER BY b) FROM t"
        );
    }

    #[test]
    fn windows_of_each_kind() {
        let select = parse(
            "SELECT k, COUNT(*) FROM s WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS) GROUP BY k",
        )
        .expect("query parses");
        assert_eq!(
            select.window,
            Some(WindowSpec::Tumbling {
                size: Duration::from_secs(60),
                grace: Some(Duration::from_secs(10)),
                retention: None,
                idle_timeout: None
            })
        );
        assert_eq!(
            select.query.to_string(),
            "SELECT k, COUNT(*) FROM s GROUP BY k"
        );
        let select = parse(
            "SELECT 1 FROM s WINDOW HOPPING (SIZE 2 HOURS, ADVANCE BY 30 MINUTES, RETENTION 7 DAYS)",
        )
        .expect("query parses");
        assert_eq!(
            select.window,
            Some(WindowSpec::Hopping {
                size: Duration::from_secs(7200),
                advance: Duration::from_secs(1800),
                grace: None,
                retention: Some(Duration::from_secs(7 * 86400)),
                idle_timeout: None
            })
        );
        let select = parse(
            "SELECT 1 FROM s WINDOW SESSION (500 MILLISECONDS, GRACE PERIOD 1 SECOND, IDLE TIMEOUT 2 MINUTES)",
        )
        .expect("query parses");
        assert_eq!(
            select.window,
            Some(WindowSpec::Session {
                gap: Duration::from_millis(500),
                grace: Some(Duration::from_secs(1)),
                retention: None,
                idle_timeout: Some(Duration::from_secs(120))
            })
        );
    }

    #[test]
    fn named_standard_windows_stay_in_the_query() {
        let select =
            parse("SELECT sum(a) OVER w FROM t WINDOW w AS (ORDER BY b)").expect("query parses");
        assert_eq!(select.window, None);
        assert!(
            select
                .query
                .to_string()
                .contains("WINDOW w AS (ORDER BY b)")
        );
    }

    #[test]
    fn bad_windows_say_what_is_wrong() {
        assert!(
            message("SELECT 1 FROM s WINDOW TUMBLING (GRACE PERIOD 1 SECOND)")
                .contains("needs a SIZE")
        );
        assert!(
            message("SELECT 1 FROM s WINDOW TUMBLING (SIZE 0 SECONDS)")
                .contains("greater than zero")
        );
        assert!(message("SELECT 1 FROM s WINDOW TUMBLING (SIZE 1 WEEK)").contains("time unit"));
        assert!(
            message("SELECT 1 FROM s WINDOW TUMBLING (SIZE 1 SECOND, SIZE 2 SECONDS)")
                .contains("given twice")
        );
        assert!(
            message("SELECT 1 FROM s WINDOW TUMBLING (SIZE 1 SECOND, ADVANCE BY 1 SECOND)")
                .contains("HOPPING")
        );
        assert!(
            message("SELECT 1 FROM s WINDOW HOPPING (SIZE 1 SECOND)").contains("needs ADVANCE BY")
        );
        assert!(
            message("SELECT 1 FROM s WINDOW HOPPING (SIZE 1 SECOND, ADVANCE BY 2 SECONDS)")
                .contains("at most")
        );
        assert!(message("SELECT 1 FROM s WINDOW SESSION (SIZE 1 SECOND)").contains("whole number"));
        assert!(
            message("SELECT 1 FROM s WINDOW TUMBLING (SIZE 99999999999999999 DAYS)")
                .contains("too long")
        );
        assert!(
            message("SELECT 1 WINDOW TUMBLING (SIZE 1 SECOND) FROM s").contains("must follow FROM")
        );
        assert!(message("SELECT 1 FROM s WINDOW TUMBLING (SIZE 1 SECOND").contains("end of input"));
    }

    #[test]
    fn a_proctime_lookup_join_is_a_plain_join() {
        let lookup = parse("SELECT * FROM s JOIN t FOR SYSTEM_TIME AS OF PROCTIME() ON s.k = t.k")
            .expect("parses");
        let plain = parse("SELECT * FROM s JOIN t ON s.k = t.k").expect("parses");
        assert_eq!(lookup.query.to_string(), plain.query.to_string());
        assert_eq!(
            parse("SELECT * FROM s JOIN t FOR SYSTEM_TIME AS OF s.ts ON s.k = t.k").err(),
            Some(ParseError::unsupported(
                "FOR SYSTEM_TIME AS OF other than PROCTIME() (an event-time temporal join)"
            ))
        );
    }

    #[test]
    fn asof_joins_leave_a_plain_join_in_every_spelling() {
        let plain = |sql: &str| {
            let select = parse(sql).expect("parses");
            (select.query.to_string(), select.asof_joins)
        };
        let asof = |match_condition: Option<&str>, grace: Option<Duration>| AsofJoin {
            join: 0,
            match_condition: match_condition.map(|sql| {
                Parser::new(&sqlparser::dialect::GenericDialect {})
                    .try_with_sql(sql)
                    .and_then(|mut parser| parser.parse_expr())
                    .expect("an expression")
            }),
            grace,
        };
        assert_eq!(
            plain("SELECT * FROM s ASOF JOIN t ON s.k = t.k AND t.ts <= s.ts"),
            (
                "SELECT * FROM s JOIN t ON s.k = t.k AND t.ts <= s.ts".to_string(),
                vec![asof(None, None)]
            )
        );
        assert_eq!(
            plain("SELECT * FROM s ASOF LEFT JOIN t ON s.k = t.k AND t.ts <= s.ts"),
            (
                "SELECT * FROM s LEFT JOIN t ON s.k = t.k AND t.ts <= s.ts".to_string(),
                vec![asof(None, None)]
            )
        );
        assert_eq!(
            plain("SELECT * FROM s ASOF JOIN t MATCH_CONDITION(s.ts >= t.ts) ON s.k = t.k"),
            (
                "SELECT * FROM s JOIN t ON s.k = t.k".to_string(),
                vec![asof(Some("s.ts >= t.ts"), None)]
            )
        );
        assert_eq!(
            plain(
                "SELECT * FROM s LEFT ASOF JOIN t x MATCH_CONDITION(s.ts > x.ts) GRACE PERIOD 2 SECONDS ON s.k = x.k EMIT CHANGES"
            ),
            (
                "SELECT * FROM s LEFT JOIN t x ON s.k = x.k".to_string(),
                vec![asof(Some("s.ts > x.ts"), Some(Duration::from_secs(2)))]
            )
        );
        let second =
            parse("SELECT * FROM a JOIN b ON a.k = b.k ASOF JOIN c ON a.k = c.k AND c.ts <= a.ts")
                .expect("parses");
        assert_eq!(second.asof_joins[0].join, 1);
        for (sql, message) in [
            (
                "SELECT * FROM s JOIN t MATCH_CONDITION(s.ts >= t.ts) ON s.k = t.k",
                "MATCH_CONDITION belongs to an ASOF JOIN",
            ),
            (
                "SELECT * FROM s JOIN t GRACE PERIOD 1 SECOND ON s.k = t.k",
                "GRACE PERIOD belongs to a WINDOW, a WITHIN or an ASOF JOIN",
            ),
            (
                "SELECT * FROM s ASOF JOIN t MATCH_CONDITION(s.ts >= t.ts) MATCH_CONDITION(s.ts >= t.ts) ON s.k = t.k",
                "MATCH_CONDITION is given twice",
            ),
            (
                "SELECT * FROM s ASOF JOIN t GRACE PERIOD 1 SECOND x ON s.k = t.k",
                "expected ON or MATCH_CONDITION",
            ),
        ] {
            let error = parse(sql).expect_err(sql).to_string();
            assert!(error.contains(message), "{sql}: {error}");
        }
    }

    #[test]
    fn within_is_cut_with_its_join_but_within_group_is_not() {
        let joined = parse("SELECT * FROM a JOIN b WITHIN 1 HOUR ON a.k = b.k").expect("parses");
        assert_eq!(
            joined.join_windows,
            [JoinWindow {
                join: 0,
                before: Duration::from_secs(3600),
                after: Duration::from_secs(3600),
                grace: None,
            }]
        );
        let chained = parse(
            "SELECT * FROM a JOIN t ON a.k = t.k JOIN b WITHIN (1 SECOND, 2 SECONDS) GRACE PERIOD 3 MILLISECONDS ON a.k = b.k",
        )
        .expect("parses");
        assert_eq!(
            chained.join_windows,
            [JoinWindow {
                join: 1,
                before: Duration::from_secs(1),
                after: Duration::from_secs(2),
                grace: Some(Duration::from_millis(3)),
            }]
        );
        // Joins are numbered in written order, also inside a subquery.
        let nested = parse(
            "SELECT * FROM x JOIN (SELECT * FROM a JOIN b WITHIN 5 SECONDS ON a.k = b.k) s WITHIN 1 SECOND ON x.k = s.k",
        )
        .expect("parses");
        let windows: Vec<(usize, Duration)> = nested
            .join_windows
            .iter()
            .map(|window| (window.join, window.before))
            .collect();
        assert_eq!(
            windows,
            [(1, Duration::from_secs(5)), (0, Duration::from_secs(1))]
        );
        assert!(parse("SELECT * FROM a WITHIN 1 HOUR").is_err());
        assert!(parse("SELECT * FROM a JOIN b WITHIN 1 HOUR GRACE ON a.k = b.k").is_err());
        assert!(parse("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM t").is_ok());
    }

    #[test]
    fn struct_dereference_becomes_field_access() {
        let select = parse("SELECT s->a->b FROM t WHERE s->a->b > 1").expect("query parses");
        assert_eq!(
            select.query.to_string(),
            "SELECT s.a.b FROM t WHERE s.a.b > 1"
        );
    }

    #[test]
    fn leftover_tokens_are_a_syntax_error_at_the_first_of_them() {
        assert_eq!(
            parse("SELECT * FORM s").err(),
            Some(ParseError::Syntax {
                message: "syntax error at or near \"FORM\"".into(),
                position_chars: 10
            })
        );
    }

    #[test]
    fn duration_text_takes_window_units() {
        assert_eq!(
            parse_duration_text("7 DAYS"),
            Some(Duration::from_secs(7 * 24 * 60 * 60))
        );
        assert_eq!(
            parse_duration_text(" 1 second "),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            parse_duration_text("250 Milliseconds"),
            Some(Duration::from_millis(250))
        );
        for wrong in [
            "",
            "7",
            "DAYS",
            "-1 DAYS",
            "1.5 HOURS",
            "7 WEEKS",
            "1 DAY 2",
            "x DAYS",
        ] {
            assert_eq!(parse_duration_text(wrong), None, "{wrong}");
        }
        assert_eq!(parse_duration_text(&format!("{} DAYS", u64::MAX)), None);
    }
}
