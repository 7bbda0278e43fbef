//! Bounds on nesting, checked on the tokens before anything is parsed, so that no input can
//! overflow the parsing thread's stack or make sqlparser backtrack for minutes.
//!
//! Two things in sqlparser 0.62 need this. Data types recurse without its depth counter
//! (`CAST(x AS ARRAY<ARRAY<...>>)`). And when a special form such as `CAST(`, `POSITION(`,
//! `CASE` or `INTERVAL` fails to parse, sqlparser retries it as a plain name or function
//! call, so a failure inside n nested special forms costs 2^n to 3^n attempts (measured:
//! 14 nested unclosed `POSITION(` took 13 s). Never: let either depth grow without bound.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::limits::{BACKTRACKING_DEPTH_MAX, NESTING_DEPTH_MAX};

/// Why and where the input nests too deeply.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NestingViolation {
    pub(crate) token_index: usize,
    pub(crate) message: String,
}

pub(crate) fn check_nesting(tokens: &[TokenWithSpan]) -> Result<(), NestingViolation> {
    let mut depth = NestingDepth::default();
    let mut previous: Option<&Token> = None;
    for (token_index, token) in tokens.iter().enumerate() {
        depth.step(previous, &token.token);
        if depth.brackets.len() + depth.angles > NESTING_DEPTH_MAX {
            return Err(NestingViolation {
                token_index,
                message: format!("statement nests more than {NESTING_DEPTH_MAX} levels deep"),
            });
        }
        if depth.backtracking() > BACKTRACKING_DEPTH_MAX {
            return Err(NestingViolation {
                token_index,
                message: format!(
                    "expression nests CAST, CASE, POSITION, INTERVAL and similar forms \
                     (or a.b.c name parts) more than {BACKTRACKING_DEPTH_MAX} levels deep"
                ),
            });
        }
        previous = Some(&token.token);
    }
    Ok(())
}

#[derive(Default)]
struct NestingDepth {
    /// One entry per open `(`, `[` or `{`: whether a special form opened it (`CAST(`).
    brackets: Vec<bool>,
    special_brackets: usize,
    /// Open `<` of `ARRAY<`, `MAP<` and `STRUCT<`.
    angles: usize,
    /// Open `CASE ... END`.
    cases: usize,
    /// Consecutive `INTERVAL` words.
    interval_run: usize,
    /// Periods in the current `a.b.c` chain.
    period_run: usize,
}

impl NestingDepth {
    fn backtracking(&self) -> usize {
        self.special_brackets + self.cases + self.interval_run + self.period_run
    }

    fn step(&mut self, previous: Option<&Token>, token: &Token) {
        match token {
            Token::LParen | Token::LBracket | Token::LBrace => {
                let special = previous.is_some_and(is_special_form_keyword);
                self.special_brackets += usize::from(special);
                self.brackets.push(special);
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                let special = self.brackets.pop().unwrap_or(false);
                self.special_brackets = self.special_brackets.saturating_sub(usize::from(special));
            }
            Token::Lt if previous.is_some_and(is_type_constructor) => self.angles += 1,
            Token::Gt => self.angles = self.angles.saturating_sub(1),
            Token::ShiftRight => self.angles = self.angles.saturating_sub(2),
            Token::Word(word) if word.keyword == Keyword::CASE => self.cases += 1,
            Token::Word(word) if word.keyword == Keyword::END => {
                self.cases = self.cases.saturating_sub(1);
            }
            _ => {}
        }
        self.interval_run = match token {
            Token::Word(word) if word.keyword == Keyword::INTERVAL => self.interval_run + 1,
            _ => 0,
        };
        self.period_run = match token {
            Token::Period => self.period_run + 1,
            Token::Word(_) => self.period_run,
            _ => 0,
        };
    }
}

fn is_type_constructor(token: &Token) -> bool {
    matches!(token, Token::Word(word)
        if matches!(word.keyword, Keyword::ARRAY | Keyword::MAP | Keyword::STRUCT))
}

/// The words sqlparser parses as special forms and retries as names when they fail
/// (`parse_expr_prefix_by_reserved_word`). Quoted words never are keywords.
fn is_special_form_keyword(token: &Token) -> bool {
    let Token::Word(word) = token else {
        return false;
    };
    matches!(
        word.keyword,
        Keyword::ARRAY
            | Keyword::BOX
            | Keyword::CASE
            | Keyword::CAST
            | Keyword::CEIL
            | Keyword::CIRCLE
            | Keyword::CONVERT
            | Keyword::CURRENT_CATALOG
            | Keyword::CURRENT_DATE
            | Keyword::CURRENT_TIME
            | Keyword::CURRENT_TIMESTAMP
            | Keyword::CURRENT_USER
            | Keyword::EXISTS
            | Keyword::EXTRACT
            | Keyword::FLOOR
            | Keyword::INTERVAL
            | Keyword::LAMBDA
            | Keyword::LINE
            | Keyword::LOCALTIME
            | Keyword::LOCALTIMESTAMP
            | Keyword::LSEG
            | Keyword::MAP
            | Keyword::MATCH
            | Keyword::NOT
            | Keyword::OVERLAY
            | Keyword::PATH
            | Keyword::POINT
            | Keyword::POLYGON
            | Keyword::POSITION
            | Keyword::PRIOR
            | Keyword::SAFE_CAST
            | Keyword::SESSION_USER
            | Keyword::STRUCT
            | Keyword::SUBSTR
            | Keyword::SUBSTRING
            | Keyword::TRIM
            | Keyword::TRY_CAST
            | Keyword::TRY_CONVERT
            | Keyword::USER
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::GenericDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn check(sql: &str) -> Result<(), String> {
        let tokens: Vec<TokenWithSpan> = Tokenizer::new(&GenericDialect, sql)
            .tokenize_with_location()
            .expect("test input tokenizes")
            .into_iter()
            .filter(|token| !matches!(token.token, Token::Whitespace(_)))
            .collect();
        check_nesting(&tokens).map_err(|violation| violation.message)
    }

    fn nested(open: &str, middle: &str, close: &str, depth: usize) -> String {
        format!(
            "SELECT {}{middle}{}",
            open.repeat(depth),
            close.repeat(depth)
        )
    }

    #[test]
    fn brackets_and_type_angles_are_bounded() {
        assert!(check(&nested("(", "1", ")", NESTING_DEPTH_MAX)).is_ok());
        assert!(check(&nested("(", "1", ")", NESTING_DEPTH_MAX + 1)).is_err());
        let types = nested("ARRAY<", "INT", ">", NESTING_DEPTH_MAX + 1);
        assert!(check(&format!("SELECT CAST(x AS {types})")).is_err());
        let comparisons = "a < 1 AND ".repeat(NESTING_DEPTH_MAX * 2);
        assert!(check(&format!("SELECT 1 WHERE {comparisons} TRUE")).is_ok());
    }

    #[test]
    fn special_forms_are_bounded_but_siblings_are_not() {
        let depth = BACKTRACKING_DEPTH_MAX;
        for (open, close) in [
            ("CAST(", " AS INT)"),
            ("POSITION(", " IN 'x')"),
            ("CASE WHEN x THEN ", " END"),
            ("ARRAY[", "]"),
        ] {
            assert!(check(&nested(open, "x", close, depth)).is_ok(), "{open}");
            assert!(
                check(&nested(open, "x", close, depth + 1)).is_err(),
                "{open}"
            );
        }
        assert!(check(&format!("SELECT {}'1' DAY", "INTERVAL ".repeat(depth + 1))).is_err());
        assert!(check(&format!("SELECT a{}", ".b".repeat(depth + 1))).is_err());
        let siblings = "CAST(a AS INT), CASE WHEN b THEN 1 END, ".repeat(depth * 4);
        assert!(check(&format!("SELECT {siblings} s.a.b.c FROM t")).is_ok());
        let plain_calls = nested("f(", "1", ")", NESTING_DEPTH_MAX);
        assert!(check(&plain_calls).is_ok());
    }
}
