//! The input string tokenized once, with every token's place in it. Tokenizing the whole
//! input (not each statement) keeps every span relative to the string the client sent, so a
//! syntax error in the third statement still reports its position in the whole input.
//!
//! Tokens lose whitespace and comments here, and ksqlDB's struct dereference `a->b` becomes
//! `a.b` (ksqlDB's lambdas use `=>`, so no `->` means anything else).
//! Never: panic on a location that is out of range; clamp it.

use std::ops::Range;

use sqlparser::dialect::GenericDialect;
use sqlparser::parser::ParserError;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

use crate::error::ParseError;
use crate::lambdas::rewrite_lambdas;
use crate::nesting::check_nesting;

/// Where one line of the input starts; `is_ascii` lets most lookups skip walking the line.
#[derive(Debug, Clone, Copy)]
struct Line {
    start_byte: usize,
    end_byte: usize,
    start_char: usize,
    is_ascii: bool,
}

/// One statement's tokens within `Source::tokens`, and where its end sits: the `;` that
/// closes it, or the end of its last token when no `;` follows.
#[derive(Debug, Clone)]
pub(crate) struct StatementTokens {
    pub(crate) range: Range<usize>,
    pub(crate) end: Location,
}

pub(crate) struct Source<'text> {
    text: &'text str,
    lines: Vec<Line>,
    /// Every token but whitespace and comments, in order.
    tokens: Vec<TokenWithSpan>,
}

impl<'text> Source<'text> {
    pub(crate) fn tokenize(text: &'text str) -> Result<Self, ParseError> {
        let mut source = Source {
            text,
            lines: split_lines(text),
            tokens: Vec::new(),
        };
        let tokens = Tokenizer::new(&GenericDialect, text)
            .tokenize_with_location()
            .map_err(|error| {
                let detail = lowercase_first(&error.message);
                source.error_at(error.location, format!("syntax error: {detail}"))
            })?;
        let mut tokens: Vec<TokenWithSpan> = tokens
            .into_iter()
            .filter(|token| !matches!(token.token, Token::Whitespace(_)))
            .map(|token| match token.token {
                Token::Arrow => TokenWithSpan::new(Token::Period, token.span),
                _ => token,
            })
            .collect();
        rewrite_lambdas(&mut tokens)
            .map_err(|(location, message)| source.error_at(location, message))?;
        source.tokens = tokens;
        source.check_nesting()?;
        Ok(source)
    }

    /// Rejects input nested too deeply for sqlparser (see `nesting`).
    fn check_nesting(&self) -> Result<(), ParseError> {
        check_nesting(&self.tokens).map_err(|violation| {
            let location = self
                .tokens
                .get(violation.token_index)
                .map_or(Location::new(1, 1), |token| token.span.start);
            self.error_at(location, violation.message)
        })
    }

    pub(crate) fn tokens(&self) -> &[TokenWithSpan] {
        &self.tokens
    }

    /// Splits on `;` at parenthesis depth 0 (quotes and comments are already tokens, so a
    /// `;` inside them is not seen here) and skips empty statements.
    pub(crate) fn statements(&self) -> Vec<StatementTokens> {
        let mut statements = Vec::new();
        let mut start = 0;
        let mut depth: usize = 0;
        for (index, token) in self.tokens.iter().enumerate() {
            match token.token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                Token::SemiColon if depth == 0 => {
                    if index > start {
                        statements.push(StatementTokens {
                            range: start..index,
                            end: token.span.start,
                        });
                    }
                    start = index + 1;
                }
                _ => {}
            }
        }
        if let Some(last) = self.tokens.get(start..).and_then(|rest| rest.last()) {
            statements.push(StatementTokens {
                range: start..self.tokens.len(),
                end: last.span.end,
            });
        }
        statements
    }

    /// The text from the start of the first token to the end of the last one.
    pub(crate) fn text_of_tokens(&self, range: Range<usize>) -> &'text str {
        match (
            self.tokens.get(range.start),
            range
                .end
                .checked_sub(1)
                .and_then(|last| self.tokens.get(last)),
        ) {
            (Some(first), Some(last)) => self.text_between(first.span.start, last.span.end),
            _ => "",
        }
    }

    fn text_between(&self, start: Location, end: Location) -> &'text str {
        let start_byte = self.byte_offset(start);
        let end_byte = self.byte_offset(end).max(start_byte);
        self.text.get(start_byte..end_byte).unwrap_or("")
    }

    /// The 1-based character index of a location in the whole input.
    pub(crate) fn position_chars(&self, location: Location) -> usize {
        let Some(line) = self.line(location) else {
            return 1;
        };
        let column = usize::try_from(location.column.max(1)).unwrap_or(usize::MAX);
        line.start_char.saturating_add(column)
    }

    fn line(&self, location: Location) -> Option<&Line> {
        let line_index = usize::try_from(location.line.checked_sub(1)?).ok()?;
        self.lines.get(line_index).or(self.lines.last())
    }

    /// The byte offset of a location, clamped to its line and to a character boundary.
    fn byte_offset(&self, location: Location) -> usize {
        let Some(line) = self.line(location) else {
            return 0;
        };
        let column_index = usize::try_from(location.column.saturating_sub(1)).unwrap_or(0);
        if line.is_ascii {
            return line
                .start_byte
                .saturating_add(column_index)
                .min(line.end_byte);
        }
        let line_text = self.text.get(line.start_byte..line.end_byte).unwrap_or("");
        line_text
            .char_indices()
            .nth(column_index)
            .map_or(line.end_byte, |(offset, _)| line.start_byte + offset)
    }

    /// A Postgres-style syntax error at a location: `syntax error at or near "X"` when a
    /// token starts there, `syntax error at end of input` past the last token.
    pub(crate) fn syntax_error(&self, location: Location, expected: Option<&str>) -> ParseError {
        let near = match self.token_starting_at(location) {
            Some(token) => format!(
                "at or near \"{}\"",
                self.text_between(token.span.start, token.span.end)
            ),
            None => "at end of input".to_string(),
        };
        let message = match expected {
            Some(expected) => format!("syntax error {near}: expected {expected}"),
            None => format!("syntax error {near}"),
        };
        self.error_at(location, message)
    }

    /// An error with a message of its own, at a location.
    pub(crate) fn error_at(&self, location: Location, message: String) -> ParseError {
        ParseError::Syntax {
            message,
            position_chars: self.position_chars(location),
        }
    }

    /// The first token starting at or after a location; `None` past the last token.
    fn token_starting_at(&self, location: Location) -> Option<&TokenWithSpan> {
        let index = self
            .tokens
            .partition_point(|token| token.span.start < location);
        self.tokens.get(index)
    }

    /// Turns a sqlparser error into ours. sqlparser puts the location in the message
    /// (`Expected: X, found: Y at Line: 1, Column: 5`); `fallback` is used when it has none.
    pub(crate) fn sqlparser_error(&self, error: ParserError, fallback: Location) -> ParseError {
        let message = match error {
            ParserError::ParserError(message) | ParserError::TokenizerError(message) => message,
            ParserError::RecursionLimitExceeded => {
                return self.error_at(
                    fallback,
                    "statement is nested too deeply to parse".to_string(),
                );
            }
        };
        let (detail, location) = split_location(&message);
        let location = location.unwrap_or(fallback);
        let expected = detail.strip_prefix("Expected: ").map(|rest| {
            rest.split_once(", found: ")
                .map_or(rest, |(expected, _)| expected)
        });
        match expected {
            Some(expected) => self.syntax_error(location, Some(expected)),
            None => self.syntax_error(location, Some(&lowercase_first(detail))),
        }
    }
}

/// A span from one location to itself: where a sentinel EOF token sits.
pub(crate) fn point_span(location: Location) -> Span {
    Span::new(location, location)
}

fn split_lines(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start_byte = 0;
    let mut start_char = 0;
    for line_text in text.split_inclusive('\n') {
        let end_byte = start_byte + line_text.len();
        lines.push(Line {
            start_byte,
            end_byte,
            start_char,
            is_ascii: line_text.is_ascii(),
        });
        start_byte = end_byte;
        start_char += line_text.chars().count();
    }
    if text.is_empty() || text.ends_with('\n') {
        lines.push(Line {
            start_byte,
            end_byte: start_byte,
            start_char,
            is_ascii: true,
        });
    }
    lines
}

/// Splits `message at Line: 3, Column: 7` into the message and the location.
fn split_location(message: &str) -> (&str, Option<Location>) {
    let Some((detail, place)) = message.rsplit_once(" at Line: ") else {
        return (message, None);
    };
    let location = place.split_once(", Column: ").and_then(|(line, column)| {
        Some(Location::new(
            line.trim().parse().ok()?,
            column.trim().parse().ok()?,
        ))
    });
    match location {
        Some(location) => (detail, Some(location)),
        None => (message, None),
    }
}

fn lowercase_first(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement_texts(sql: &str) -> Vec<String> {
        let source = Source::tokenize(sql).expect("test input tokenizes");
        source
            .statements()
            .into_iter()
            .map(|statement| source.text_of_tokens(statement.range).to_string())
            .collect()
    }

    #[test]
    fn splits_on_semicolons_outside_parentheses_quotes_and_comments() {
        assert_eq!(
            statement_texts(" SELECT 'a;b' ; -- c;d\n SELECT (1;2) ;; /* ; */ ; SELECT 3 "),
            vec!["SELECT 'a;b'", "SELECT (1;2)", "SELECT 3"]
        );
        assert!(statement_texts("").is_empty());
        assert!(statement_texts(" ; ;\n-- only a comment\n").is_empty());
    }

    #[test]
    fn positions_count_characters_across_lines() {
        let source = Source::tokenize("SELECT 'é'\n, ü").expect("test input tokenizes");
        let last = source.tokens().last().expect("has tokens");
        assert_eq!(source.position_chars(last.span.start), 14);
        assert_eq!(
            source.text_of_tokens(0..source.tokens().len()),
            "SELECT 'é'\n, ü"
        );
    }

    #[test]
    fn out_of_range_locations_are_clamped() {
        let source = Source::tokenize("SELECT 1").expect("test input tokenizes");
        assert_eq!(source.position_chars(Location::new(0, 0)), 1);
        assert_eq!(source.byte_offset(Location::new(99, 99)), 8);
        assert_eq!(
            source.text_between(Location::new(1, 50), Location::new(1, 2)),
            ""
        );
    }

    #[test]
    fn deep_nesting_is_an_error_at_the_token_too_deep() {
        let sql = format!("SELECT {}1", "(".repeat(100));
        assert_eq!(
            Source::tokenize(&sql).err(),
            Some(ParseError::Syntax {
                message: "statement nests more than 64 levels deep".into(),
                position_chars: 72
            })
        );
    }

    #[test]
    fn arrows_become_periods() {
        let source = Source::tokenize("a->b").expect("test input tokenizes");
        assert_eq!(source.tokens()[1].token, Token::Period);
    }

    #[test]
    fn sqlparser_locations_are_read_from_the_message() {
        let source = Source::tokenize("SELECT * FORM s").expect("test input tokenizes");
        let error = source.sqlparser_error(
            ParserError::ParserError(
                "Expected: end of statement, found: FORM at Line: 1, Column: 10".into(),
            ),
            Location::new(1, 1),
        );
        assert_eq!(
            error,
            ParseError::Syntax {
                message: "syntax error at or near \"FORM\": expected end of statement".into(),
                position_chars: 10
            }
        );
    }

    #[test]
    fn tokenizer_errors_carry_their_position() {
        let error = Source::tokenize("SELECT 1; SELECT 'abc").err();
        assert_eq!(
            error,
            Some(ParseError::Syntax {
                message: "syntax error: unterminated string literal".into(),
                position_chars: 18
            })
        );
    }
}
