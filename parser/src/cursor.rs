//! A cursor over one statement's tokens, for the parts of ksqlDB's grammar that Eddy parses
//! by hand, and the bridge that hands a run of tokens to sqlparser for queries and
//! expressions. Hand parsing keeps positions exact and lets words that are not sqlparser
//! keywords (STREAMS, EMIT, TUMBLING) be matched like any other.
//!
//! Every token keeps its span in the whole input; a sentinel EOF placed at `end` (the `;`,
//! a closing parenthesis, or the end of input) makes "at end of input" errors point there.
//! Never: index past the token slice; every access goes through `get`.

use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Word};

use crate::error::ParseError;
use crate::limits::SQLPARSER_RECURSION_DEPTH_MAX;
use crate::source::{Source, point_span};

static EOF_TOKEN: Token = Token::EOF;
static GREATER_THAN_TOKEN: Token = Token::Gt;

pub(crate) struct Cursor<'s> {
    source: &'s Source<'s>,
    tokens: &'s [TokenWithSpan],
    index: usize,
    end: Location,
    /// Set once the first `>` of a `>>` token has closed a nested type (`ARRAY<ARRAY<INT>>`);
    /// the token then reads as the second `>`.
    shift_right_half_taken: bool,
}

impl<'s> Cursor<'s> {
    pub(crate) fn new(source: &'s Source<'s>, tokens: &'s [TokenWithSpan], end: Location) -> Self {
        Cursor {
            source,
            tokens,
            index: 0,
            end,
            shift_right_half_taken: false,
        }
    }

    pub(crate) fn source(&self) -> &'s Source<'s> {
        self.source
    }

    pub(crate) fn end(&self) -> Location {
        self.end
    }

    pub(crate) fn peek(&self) -> &'s Token {
        if self.shift_right_half_taken {
            return &GREATER_THAN_TOKEN;
        }
        self.peek_at(0)
    }

    /// The token `offset` places ahead (EOF past the end).
    pub(crate) fn peek_at(&self, offset: usize) -> &'s Token {
        self.tokens
            .get(self.index.saturating_add(offset))
            .map_or(&EOF_TOKEN, |token| &token.token)
    }

    /// Where the next token starts (or `end`).
    pub(crate) fn location(&self) -> Location {
        match self.tokens.get(self.index) {
            Some(token) if self.shift_right_half_taken => {
                Location::new(token.span.start.line, token.span.start.column + 1)
            }
            Some(token) => token.span.start,
            None => self.end,
        }
    }

    pub(crate) fn advance(&mut self) {
        self.shift_right_half_taken = false;
        self.index = self.index.saturating_add(1).min(self.tokens.len());
    }

    pub(crate) fn is_at_end(&self) -> bool {
        self.index >= self.tokens.len()
    }

    /// The tokens not consumed yet.
    pub(crate) fn rest(&self) -> &'s [TokenWithSpan] {
        self.tokens.get(self.index..).unwrap_or(&[])
    }

    /// Marks every token as consumed (after a parser of its own took the rest).
    pub(crate) fn skip_rest(&mut self) {
        self.index = self.tokens.len();
        self.shift_right_half_taken = false;
    }

    pub(crate) fn peek_word(&self, word: &str) -> bool {
        is_word(self.peek(), word)
    }

    pub(crate) fn peek_word_at(&self, offset: usize, word: &str) -> bool {
        is_word(self.peek_at(offset), word)
    }

    /// The next token's text if it is an unquoted word, upper-cased.
    pub(crate) fn peek_keyword(&self) -> Option<String> {
        match self.peek() {
            Token::Word(word) if word.quote_style.is_none() => {
                Some(word.value.to_ascii_uppercase())
            }
            _ => None,
        }
    }

    pub(crate) fn take_word(&mut self, word: &str) -> bool {
        let matched = self.peek_word(word);
        if matched {
            self.advance();
        }
        matched
    }

    /// Takes all of `words` in order, or none of them.
    pub(crate) fn take_words(&mut self, words: &[&str]) -> bool {
        let matched = words
            .iter()
            .enumerate()
            .all(|(offset, word)| self.peek_word_at(offset, word));
        if matched {
            for _ in words {
                self.advance();
            }
        }
        matched
    }

    pub(crate) fn expect_word(&mut self, word: &str) -> Result<(), ParseError> {
        if self.take_word(word) {
            Ok(())
        } else {
            Err(self.expected(word))
        }
    }

    pub(crate) fn take_token(&mut self, token: &Token) -> bool {
        let matched = self.peek() == token;
        if matched {
            self.advance();
        }
        matched
    }

    pub(crate) fn expect_token(&mut self, token: &Token) -> Result<(), ParseError> {
        if self.take_token(token) {
            Ok(())
        } else {
            Err(self.expected(&format!("\"{token}\"")))
        }
    }

    /// Takes one `>` closing a type's `<`, splitting a `>>` token in two.
    pub(crate) fn expect_closing_angle(&mut self) -> Result<(), ParseError> {
        if !self.shift_right_half_taken && self.peek() == &Token::ShiftRight {
            self.shift_right_half_taken = true;
            return Ok(());
        }
        self.expect_token(&Token::Gt)
    }

    /// A name, folded the Postgres way: unquoted to lower case, quoted kept as written.
    pub(crate) fn identifier(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Token::Word(word) if !self.shift_right_half_taken => {
                self.advance();
                Ok(fold_identifier(word))
            }
            _ => Err(self.expected("a name")),
        }
    }

    /// `syntax error at or near "X": expected <what>` at the next token.
    pub(crate) fn expected(&self, what: &str) -> ParseError {
        self.source.syntax_error(self.location(), Some(what))
    }

    /// An error with a message of its own at the next token.
    pub(crate) fn error_here(&self, message: String) -> ParseError {
        self.source.error_at(self.location(), message)
    }

    pub(crate) fn expect_end(&self) -> Result<(), ParseError> {
        if self.is_at_end() && !self.shift_right_half_taken {
            Ok(())
        } else {
            Err(self.source.syntax_error(self.location(), None))
        }
    }

    /// Takes `( ... )` and returns a cursor over what is inside; its end is the `)`.
    pub(crate) fn parenthesized(&mut self) -> Result<Cursor<'s>, ParseError> {
        if self.peek() != &Token::LParen {
            return Err(self.expected("\"(\""));
        }
        let open_index = self.index;
        let Some(close_index) = matching_close_parenthesis(self.tokens, open_index) else {
            return Err(self.source.syntax_error(self.end, Some("\")\"")));
        };
        let inner_tokens = self.tokens.get(open_index + 1..close_index).unwrap_or(&[]);
        let close_location = self
            .tokens
            .get(close_index)
            .map_or(self.end, |token| token.span.start);
        self.index = close_index + 1;
        Ok(Cursor::new(self.source, inner_tokens, close_location))
    }

    /// Asks the next `(` `)` pair to hold a comma-separated list, each item read by `item`.
    pub(crate) fn parenthesized_list<T>(
        &mut self,
        mut item: impl FnMut(&mut Cursor<'s>) -> Result<T, ParseError>,
    ) -> Result<Vec<T>, ParseError> {
        let mut inner = self.parenthesized()?;
        let mut items = vec![item(&mut inner)?];
        while inner.take_token(&Token::Comma) {
            items.push(item(&mut inner)?);
        }
        inner.expect_end()?;
        Ok(items)
    }

    /// Runs sqlparser on the rest of the tokens and moves past what it consumed.
    pub(crate) fn with_sqlparser<T>(
        &mut self,
        parse: impl FnOnce(&mut Parser<'_>) -> Result<T, ParserError>,
    ) -> Result<T, ParseError> {
        let (parsed, consumed) = run_sqlparser(self.source, self.rest().to_vec(), self.end, parse)?;
        self.index = self.index.saturating_add(consumed).min(self.tokens.len());
        Ok(parsed)
    }
}

/// Runs sqlparser over `tokens` with a sentinel EOF at `end`. Returns what `parse` produced
/// and how many tokens it consumed.
pub(crate) fn run_sqlparser<T>(
    source: &Source<'_>,
    mut tokens: Vec<TokenWithSpan>,
    end: Location,
    parse: impl FnOnce(&mut Parser<'_>) -> Result<T, ParserError>,
) -> Result<(T, usize), ParseError> {
    let token_count = tokens.len();
    let start = tokens.first().map_or(end, |token| token.span.start);
    tokens.push(TokenWithSpan::new(Token::EOF, point_span(end)));
    let dialect = GenericDialect;
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(SQLPARSER_RECURSION_DEPTH_MAX)
        .with_tokens_with_locations(tokens);
    match parse(&mut parser) {
        Ok(parsed) => Ok((parsed, parser.index().min(token_count))),
        Err(error) => Err(source.sqlparser_error(error, start)),
    }
}

/// The index of the `)` that closes the `(` at `open_index`.
pub(crate) fn matching_close_parenthesis(
    tokens: &[TokenWithSpan],
    open_index: usize,
) -> Option<usize> {
    let mut depth: usize = 0;
    for (index, token) in tokens.iter().enumerate().skip(open_index) {
        match token.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
    }
    None
}

/// True for an unquoted word equal to `word`, ignoring case.
pub(crate) fn is_word(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(found) if found.quote_style.is_none() && found.value.eq_ignore_ascii_case(word))
}

/// Postgres' rule (and DataFusion's): unquoted names fold to lower case (ASCII only),
/// quoted names keep their case.
pub(crate) fn fold_identifier(word: &Word) -> String {
    match word.quote_style {
        Some(_) => word.value.clone(),
        None => word.value.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cursor<T>(sql: &str, check: impl FnOnce(&mut Cursor<'_>) -> T) -> T {
        let source = Source::tokenize(sql).expect("test input tokenizes");
        let end = source
            .tokens()
            .last()
            .map_or(Location::new(1, 1), |t| t.span.end);
        let mut cursor = Cursor::new(&source, source.tokens(), end);
        check(&mut cursor)
    }

    #[test]
    fn identifiers_fold_unless_quoted() {
        with_cursor("Abc \"Abc\" `Abc`", |cursor| {
            assert_eq!(cursor.identifier().as_deref(), Ok("abc"));
            assert_eq!(cursor.identifier().as_deref(), Ok("Abc"));
            assert_eq!(cursor.identifier().as_deref(), Ok("Abc"));
            assert!(cursor.is_at_end());
        });
    }

    #[test]
    fn words_match_without_case_but_not_when_quoted() {
        with_cursor("emit \"CHANGES\"", |cursor| {
            assert!(cursor.take_word("EMIT"));
            assert!(!cursor.take_word("CHANGES"));
        });
    }

    #[test]
    fn unclosed_parenthesis_is_an_error_at_end_of_input() {
        let error = with_cursor("(a, (b)", |cursor| cursor.parenthesized().err());
        assert_eq!(
            error,
            Some(ParseError::Syntax {
                message: "syntax error at end of input: expected \")\"".into(),
                position_chars: 8
            })
        );
    }

    #[test]
    fn sqlparser_consumes_only_what_it_parses() {
        with_cursor("a + 1 EMIT", |cursor| {
            let expression = cursor.with_sqlparser(|parser| parser.parse_expr());
            assert_eq!(expression.map(|e| e.to_string()).as_deref(), Ok("a + 1"));
            assert!(cursor.peek_word("EMIT"));
        });
    }
}
