//! Java's regular expressions, as ksqlDB's REGEXP_* functions read them, on Rust's `regex`
//! crate: a pattern is translated where the two syntaxes mean different things, matches are
//! found in Java's order, and a replacement is read with Java's `$n`, `${name}` and `\`.
//!
//! Translated: `\d \s \w` (and `\D \S \W`) are ASCII classes in Java, Unicode ones in Rust;
//! `\h \v`, the POSIX classes `\p{Alpha}` etc. and `\Q..\E` quoting. Java's search after an
//! empty match restarts one character on, and an empty match right after a longer one
//! counts ('a*' finds 4 matches in 'baaac'; Rust's iterators skip the third).
//!
//! Never: silently mean something else: what Rust's engine lacks (backreferences,
//! look-around, possessive quantifiers, the `U` flag, which means Unicode classes in Java and
//! lazy quantifiers in Rust) fails to compile, with the reason, and the call is an error.

use std::sync::Arc;

use datafusion::common::{Result, exec_err};
use regex::{Captures, Regex, RegexBuilder};

/// Java's ASCII classes, usable inside and outside a character class (Rust nests classes).
const CLASSES: [(char, &str); 10] = [
    ('d', "[0-9]"),
    ('D', "[^0-9]"),
    ('s', "[\\t\\n\\x0B\\f\\r ]"),
    ('S', "[^\\t\\n\\x0B\\f\\r ]"),
    ('w', "[a-zA-Z_0-9]"),
    ('W', "[^a-zA-Z_0-9]"),
    (
        'h',
        "[ \\t\\xA0\\x{1680}\\x{180e}\\x{2000}-\\x{200a}\\x{202f}\\x{205f}\\x{3000}]",
    ),
    (
        'H',
        "[^ \\t\\xA0\\x{1680}\\x{180e}\\x{2000}-\\x{200a}\\x{202f}\\x{205f}\\x{3000}]",
    ),
    ('v', "[\\n\\x0B\\f\\r\\x{85}\\x{2028}\\x{2029}]"),
    ('V', "[^\\n\\x0B\\f\\r\\x{85}\\x{2028}\\x{2029}]"),
];

/// Java's POSIX classes (`\p{Alpha}`: ASCII only) and Rust's names for them.
const POSIX_CLASSES: [(&str, &str); 13] = [
    ("Lower", "lower"),
    ("Upper", "upper"),
    ("ASCII", "ascii"),
    ("Alpha", "alpha"),
    ("Digit", "digit"),
    ("Alnum", "alnum"),
    ("Punct", "punct"),
    ("Graph", "graph"),
    ("Print", "print"),
    ("Blank", "blank"),
    ("Cntrl", "cntrl"),
    ("XDigit", "xdigit"),
    ("Space", "space"),
];

/// Compiles a Java pattern; an error names the pattern and why.
pub(crate) fn compile(pattern: &str) -> Result<Regex> {
    let translated = translate(pattern)?;
    match RegexBuilder::new(&translated).build() {
        Ok(regex) => Ok(regex),
        Err(error) => exec_err!("Invalid regular expression pattern: {pattern}: {error}"),
    }
}

/// The pattern in Rust's syntax.
fn translate(pattern: &str) -> Result<String> {
    let mut translated = String::with_capacity(pattern.len() + 16);
    let mut characters = pattern.char_indices();
    let (mut class_depth, mut after_quantifier) = (0_usize, false);
    while let Some((at, character)) = characters.next() {
        if character == '(' && pattern[at..].starts_with("(?") {
            let flags: String = pattern[at + 2..]
                .chars()
                .take_while(|flag| flag.is_ascii_alphabetic() || *flag == '-')
                .collect();
            if flags.contains('U') {
                return exec_err!(
                    "Invalid regular expression pattern: {pattern}: the flag U (Unicode \
                     character classes in Java) is not supported"
                );
            }
        }
        if character != '\\' {
            // Outside a class, a quantifier then '+' is possessive in Java; Rust would read
            // a repetition of a repetition.
            if class_depth == 0 && character == '+' && after_quantifier {
                return exec_err!(
                    "Invalid regular expression pattern: {pattern}: possessive quantifiers \
                     are not supported"
                );
            }
            after_quantifier = class_depth == 0
                && (matches!(character, '*' | '+' | '}')
                    || character == '?' && !translated.ends_with('('));
            match character {
                '[' => class_depth += 1,
                ']' if class_depth > 0 => class_depth -= 1,
                _ => {}
            }
            translated.push(character);
            continue;
        }
        after_quantifier = false;
        let Some((_, escaped)) = characters.next() else {
            translated.push('\\');
            break;
        };
        if let Some((_, class)) = CLASSES.iter().find(|(name, _)| *name == escaped) {
            translated.push_str(class);
        } else if escaped == 'Q' {
            let rest = &pattern[at + 2..];
            let quoted = rest.find("\\E").map_or(rest, |end| &rest[..end]);
            translated.push_str(&regex::escape(quoted));
            let skip = quoted.chars().count() + if quoted.len() < rest.len() { 2 } else { 0 };
            for _ in 0..skip {
                characters.next();
            }
        } else if let Some(class) = posix_class(&pattern[at..]) {
            translated.push_str(&class);
            let skip = pattern[at..]
                .find('}')
                .map_or(0, |end| pattern[at..=at + end].chars().count());
            for _ in 0..skip.saturating_sub(2) {
                characters.next();
            }
        } else {
            translated.push('\\');
            translated.push(escaped);
        }
    }
    Ok(translated)
}

/// `\p{Alpha}` or `\P{Alpha}` at the start of `rest`, as a Rust ASCII class.
fn posix_class(rest: &str) -> Option<String> {
    let negated = rest.starts_with("\\P{");
    if !negated && !rest.starts_with("\\p{") {
        return None;
    }
    let name = &rest[3..3 + rest[3..].find('}')?];
    let (_, rust_name) = POSIX_CLASSES.iter().find(|(java, _)| *java == name)?;
    let caret = if negated { "^" } else { "" };
    Some(format!("[{caret}[:{rust_name}:]]"))
}

/// Matches in the order Java's `Matcher.find` gives them: after a match the search goes on
/// at its end, or one character further after an empty match.
pub(crate) fn java_matches<'r, 'h>(
    regex: &'r Regex,
    haystack: &'h str,
) -> impl Iterator<Item = Captures<'h>> + use<'r, 'h> {
    let mut next = Some(0);
    std::iter::from_fn(move || {
        let from = next.filter(|from| *from <= haystack.len())?;
        let Some(captures) = regex.captures_at(haystack, from) else {
            next = None;
            return None;
        };
        let whole = captures.get(0)?;
        next = Some(match whole.is_empty() {
            true => {
                let width = haystack[whole.end()..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
                whole.end() + width
            }
            false => whole.end(),
        });
        Some(captures)
    })
}

/// A Java replacement: text, `$n` (the longest number that names a group), `${name}`, and
/// `\c` for a literal c. A malformed one is an error once it is used, as in Java: a
/// replacement no match uses is never read.
#[derive(Debug)]
pub(crate) struct Replacement {
    parts: std::result::Result<Vec<Part>, String>,
}

#[derive(Debug)]
enum Part {
    Text(String),
    Group(usize),
}

impl Replacement {
    pub(crate) fn parse(replacement: &str, regex: &Regex) -> Replacement {
        Replacement {
            parts: parse_parts(replacement, regex),
        }
    }

    /// Appends the replacement of one match.
    pub(crate) fn append(&self, captures: &Captures, out: &mut String) -> Result<()> {
        let parts = match &self.parts {
            Ok(parts) => parts,
            Err(reason) => return exec_err!("regexp_replace: {reason}"),
        };
        for part in parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Group(group) => {
                    out.push_str(captures.get(*group).map_or("", |group| group.as_str()))
                }
            }
        }
        Ok(())
    }
}

fn parse_parts(replacement: &str, regex: &Regex) -> std::result::Result<Vec<Part>, String> {
    let groups = regex.captures_len() - 1;
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut characters = replacement.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\\' => match characters.next() {
                Some(escaped) => text.push(escaped),
                None => return Err("character to be escaped is missing".to_string()),
            },
            '$' => {
                let group = match characters.next() {
                    None => return Err("Illegal group reference: group index is missing".into()),
                    Some('{') => {
                        let name: String = std::iter::from_fn(|| {
                            characters.next_if(|character| character.is_ascii_alphanumeric())
                        })
                        .collect();
                        if name.is_empty() {
                            return Err("named capturing group has 0 length name".into());
                        }
                        if characters.next() != Some('}') {
                            return Err("named capturing group is missing trailing '}'".into());
                        }
                        regex
                            .capture_names()
                            .position(|group| group == Some(name.as_str()))
                            .ok_or_else(|| format!("No group with name {{{name}}}"))?
                    }
                    Some(digit @ '0'..='9') => {
                        let mut group = digit as usize - '0' as usize;
                        while let Some(next) = characters.peek().and_then(|next| next.to_digit(10))
                        {
                            let longer = group * 10 + next as usize;
                            if longer > groups {
                                break;
                            }
                            group = longer;
                            characters.next();
                        }
                        if group > groups {
                            return Err(format!("No group {group}"));
                        }
                        group
                    }
                    Some(_) => return Err("Illegal group reference".into()),
                };
                parts.push(Part::Text(std::mem::take(&mut text)));
                parts.push(Part::Group(group));
            }
            other => text.push(other),
        }
    }
    parts.push(Part::Text(text));
    Ok(parts)
}

/// The last pattern compiled in a batch, so a constant pattern compiles once a batch.
#[derive(Debug, Default)]
pub(crate) struct PatternCache {
    last: Option<(String, Arc<Regex>)>,
}

impl PatternCache {
    pub(crate) fn get(&mut self, pattern: &str) -> Result<Arc<Regex>> {
        if let Some((last, regex)) = &self.last
            && last == pattern
        {
            return Ok(regex.clone());
        }
        let regex = Arc::new(compile(pattern)?);
        self.last = Some((pattern.to_string(), regex.clone()));
        Ok(regex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, haystack: &str) -> Vec<(usize, usize)> {
        let regex = compile(pattern).expect("compiles");
        java_matches(&regex, haystack)
            .map(|captures| {
                let whole = captures.get(0).expect("a match");
                (whole.start(), whole.end())
            })
            .collect()
    }

    #[test]
    fn matches_come_in_javas_order() {
        assert_eq!(matches("a*", "baaac"), [(0, 0), (1, 4), (4, 4), (5, 5)]);
        assert_eq!(matches("", "é"), [(0, 0), (2, 2)]);
        assert_eq!(matches("x", "abc"), Vec::<(usize, usize)>::new());
    }

    #[test]
    fn java_classes_are_ascii_and_missing_features_are_errors() {
        assert_eq!(matches("\\d+", "١٢3"), [(4, 5)]);
        assert_eq!(matches("[\\w.]+", "é_a.b"), [(2, 6)]);
        assert_eq!(matches("\\p{Alpha}+", "éab"), [(2, 4)]);
        assert_eq!(matches("\\Q.*\\E", "a.*b"), [(1, 3)]);
        assert_eq!(matches("[a+]+", "+a"), [(0, 2)]);
        assert_eq!(matches("a+?b", "aab"), [(0, 3)]);
        for unsupported in ["(a)\\1", "a(?=b)", "(?<!a)b", "a*+", "a{2}+", "(?U)a", "("] {
            let error = compile(unsupported).expect_err(unsupported);
            assert!(
                error
                    .to_string()
                    .contains("Invalid regular expression pattern"),
                "{error}"
            );
        }
    }

    #[test]
    fn replacements_read_java_group_references() {
        let regex = compile("(a)(b)?").expect("compiles");
        let replace = |replacement: &str, haystack: &str| -> Result<String> {
            let replacement = Replacement::parse(replacement, &regex);
            let mut out = String::new();
            let mut last = 0;
            for captures in java_matches(&regex, haystack) {
                let whole = captures.get(0).expect("a match");
                out.push_str(&haystack[last..whole.start()]);
                replacement.append(&captures, &mut out)?;
                last = whole.end();
            }
            out.push_str(&haystack[last..]);
            Ok(out)
        };
        assert_eq!(replace("[$2$1]", "xaby").expect("replaces"), "x[ba]y");
        assert_eq!(replace("$10", "a").expect("replaces"), "a0");
        assert_eq!(replace("\\$1", "a").expect("replaces"), "$1");
        assert_eq!(replace("[$2]", "a").expect("replaces"), "[]");
        assert!(replace("$3", "a").is_err());
        assert!(replace("$x", "a").is_err());
        // A replacement no match uses is never read.
        assert_eq!(replace("$", "zzz").expect("no match"), "zzz");
        let named = compile("(?<first>\\w)").expect("compiles");
        let replacement = Replacement::parse("${first}!", &named);
        let captures = named.captures("q").expect("matches");
        let mut out = String::new();
        replacement.append(&captures, &mut out).expect("replaces");
        assert_eq!(out, "q!");
    }
}
