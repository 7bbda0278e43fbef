//! ksqlDB's lambdas, `x => body` and `(x, y) => body`, rewritten in the token stream into a
//! call sqlparser's GenericDialect reads: `ksql_lambda(x, y, (body))`. The planner turns the
//! call back into a lambda (`LAMBDA_FUNCTION`), which DataFusion plans for TRANSFORM and
//! FILTER. sqlparser would otherwise read `x => v` as a named argument and reject the rest.
//!
//! Never: move a token out of the lambda it belongs to: a body ends at the `,` or closing
//! bracket that ends the argument it is written in.

use sqlparser::tokenizer::{Location, Token, TokenWithSpan};

/// The call a lambda becomes: its parameters, then its body.
pub const LAMBDA_FUNCTION: &str = "ksql_lambda";

/// Rewrites every lambda of `tokens`, innermost (last) first so that a lambda inside another's
/// body is a call by the time the outer body is measured. An error names where a `=>` is
/// not a lambda's.
pub(crate) fn rewrite_lambdas(tokens: &mut Vec<TokenWithSpan>) -> Result<(), (Location, String)> {
    while let Some(arrow) = tokens
        .iter()
        .rposition(|token| token.token == Token::RArrow)
    {
        let at = tokens[arrow].span.start;
        let (params_start, params) = parameters(&tokens[..arrow]).ok_or_else(|| {
            (
                at,
                "syntax error at or near \"=>\": a lambda is written `x => ..` or `(x, y) => ..`"
                    .to_string(),
            )
        })?;
        let body_end = body_end(tokens, arrow + 1);
        if body_end == arrow + 1 {
            return Err((
                at,
                "syntax error at or near \"=>\": a lambda needs a body".into(),
            ));
        }
        let span = tokens[arrow].span;
        let synthetic = |token: Token| TokenWithSpan::new(token, span);
        let mut call = vec![
            synthetic(Token::make_word(LAMBDA_FUNCTION, None)),
            synthetic(Token::LParen),
        ];
        for param in params {
            call.push(param);
            call.push(synthetic(Token::Comma));
        }
        call.push(synthetic(Token::LParen));
        call.extend(tokens[arrow + 1..body_end].iter().cloned());
        call.push(synthetic(Token::RParen));
        call.push(synthetic(Token::RParen));
        tokens.splice(params_start..body_end, call);
    }
    Ok(())
}

/// The parameters just before a `=>` (the tokens `before` it), and where they start: one
/// name, or names in parentheses separated by commas.
fn parameters(before: &[TokenWithSpan]) -> Option<(usize, Vec<TokenWithSpan>)> {
    let last = before.len().checked_sub(1)?;
    match &before[last].token {
        Token::Word(_) => Some((last, vec![before[last].clone()])),
        Token::RParen => {
            let open = before[..last]
                .iter()
                .rposition(|token| token.token == Token::LParen)?;
            let inside = &before[open + 1..last];
            let names: Vec<TokenWithSpan> = inside.iter().step_by(2).cloned().collect();
            let well_formed = !inside.is_empty()
                && inside
                    .iter()
                    .enumerate()
                    .all(|(position, token)| match position % 2 {
                        0 => matches!(token.token, Token::Word(_)),
                        _ => token.token == Token::Comma,
                    })
                && inside.len() % 2 == 1;
            well_formed.then_some((open, names))
        }
        _ => None,
    }
}

/// Where a body starting at `start` ends: the first `,`, `;` or unmatched closing bracket.
fn body_end(tokens: &[TokenWithSpan], start: usize) -> usize {
    let mut depth = 0usize;
    for (index, token) in tokens.iter().enumerate().skip(start) {
        match token.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket if depth == 0 => return index,
            Token::RParen | Token::RBracket => depth -= 1,
            Token::Comma | Token::SemiColon if depth == 0 => return index,
            _ => {}
        }
    }
    tokens.len()
}

#[cfg(test)]
mod tests {
    use sqlparser::dialect::GenericDialect;
    use sqlparser::tokenizer::Tokenizer;

    use super::*;

    fn rewritten(sql: &str) -> Result<String, String> {
        let mut tokens: Vec<TokenWithSpan> = Tokenizer::new(&GenericDialect, sql)
            .tokenize_with_location()
            .expect("tokenizes")
            .into_iter()
            .filter(|token| !matches!(token.token, Token::Whitespace(_)))
            .collect();
        rewrite_lambdas(&mut tokens).map_err(|(_, message)| message)?;
        Ok(tokens
            .iter()
            .map(|token| token.token.to_string())
            .collect::<Vec<_>>()
            .join(" "))
    }

    #[test]
    fn lambdas_become_calls_with_their_bodies() {
        assert_eq!(
            rewritten("TRANSFORM(xs, x => x + 1)").unwrap(),
            "TRANSFORM ( xs , ksql_lambda ( x , ( x + 1 ) ) )"
        );
        assert_eq!(
            rewritten("REDUCE(xs, 0, (s, x) => s + f(x, 2))").unwrap(),
            "REDUCE ( xs , 0 , ksql_lambda ( s , x , ( s + f ( x , 2 ) ) ) )"
        );
        assert_eq!(
            rewritten("T(a, x => T(x, y => y * 2), b)").unwrap(),
            "T ( a , ksql_lambda ( x , ( T ( x , ksql_lambda ( y , ( y * 2 ) ) ) ) ) , b )"
        );
    }

    #[test]
    fn a_stray_arrow_is_a_syntax_error() {
        for sql in ["F(1 => 2)", "F((a, 1) => a)", "F(x =>)", "F(() => 1)"] {
            assert!(rewritten(sql).is_err(), "{sql}");
        }
    }
}
