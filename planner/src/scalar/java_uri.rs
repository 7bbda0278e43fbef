//! URIs as Java's `new java.net.URI(text)` reads them (RFC 2396 with Java's deviations),
//! which ksqlDB's URL functions use: the same text is valid, or invalid, and splits into the
//! same scheme, host, port, path, query and fragment. Java's getters decode `%XX` escapes in
//! the path, query and fragment (as UTF-8, bad sequences as U+FFFD) but not in the host.
//!
//! A server authority (`user@host:port`) that does not parse as one is a registry authority
//! instead, with no host and no port, as in Java. Java checks UTF-16 units; a character here
//! is a Unicode scalar value, which differs only for surrogates, which Rust text cannot hold.
//!
//! Never: accept text Java rejects, or split it differently.

/// The parts of a URI, raw (as in the text).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct JavaUri<'a> {
    pub(crate) scheme: Option<&'a str>,
    pub(crate) host: Option<&'a str>,
    /// -1 when the URI gives no port, as Java's `getPort()`.
    pub(crate) port: i32,
    pub(crate) path: Option<&'a str>,
    pub(crate) query: Option<&'a str>,
    pub(crate) fragment: Option<&'a str>,
}

/// Why text is not a URI.
#[derive(Debug, PartialEq)]
pub(crate) struct InvalidUri(pub(crate) &'static str);

type Parse<T> = Result<T, InvalidUri>;

// Character classes of RFC 2396 as Java's URI defines them.
const DIGIT: &str = "0123456789";
const ALPHA: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX_LETTERS: &str = "ABCDEFabcdef";
const MARK: &str = "-_.!~*'()";
const RESERVED: &str = ";/?:@&=+$,[]";

/// A class of characters: ASCII characters listed, and whether `%XX` escapes and visible
/// non-ASCII characters are allowed too.
#[derive(Clone, Copy)]
struct Class {
    ascii: [bool; 128],
    escaped: bool,
}

impl Class {
    const fn new(sets: &[&str], escaped: bool) -> Class {
        let mut ascii = [false; 128];
        let mut set = 0;
        while set < sets.len() {
            let bytes = sets[set].as_bytes();
            let mut index = 0;
            while index < bytes.len() {
                ascii[bytes[index] as usize] = true;
                index += 1;
            }
            set += 1;
        }
        Class { ascii, escaped }
    }

    fn matches(&self, character: char) -> bool {
        let code = character as u32;
        code != 0 && code < 128 && self.ascii[code as usize]
    }
}

const ALPHA_CLASS: Class = Class::new(&[ALPHA], false);
const DIGIT_CLASS: Class = Class::new(&[DIGIT], false);
const ALPHANUM: Class = Class::new(&[ALPHA, DIGIT], false);
const ALPHANUM_DASH: Class = Class::new(&[ALPHA, DIGIT, "-"], false);
const HEX: Class = Class::new(&[DIGIT, HEX_LETTERS], false);
const DIGIT_DOT: Class = Class::new(&[DIGIT, "."], false);
const URIC: Class = Class::new(&[RESERVED, ALPHA, DIGIT, MARK], true);
const PATH: Class = Class::new(&[ALPHA, DIGIT, MARK, ":@&=+$,", ";/"], true);
const USERINFO: Class = Class::new(&[ALPHA, DIGIT, MARK, ";:&=+$,"], true);
const REG_NAME: Class = Class::new(&[ALPHA, DIGIT, MARK, "$,;:@&=+"], true);
const SERVER: Class = Class::new(&[ALPHA, DIGIT, MARK, ";:&=+$,", "-", ".:@[]"], true);
const SERVER_PERCENT: Class = Class::new(&[ALPHA, DIGIT, MARK, ";:&=+$,", "-", ".:@[]", "%"], true);
const SCHEME: Class = Class::new(&[ALPHA, DIGIT, "+-."], false);

/// Java's `Character.isSpaceChar` (Unicode Zs, Zl and Zp) past ASCII.
fn is_space_char(character: char) -> bool {
    matches!(
        character,
        '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// Parses `text` as Java's `new URI(text)` does.
pub(crate) fn parse(text: &str) -> Parse<JavaUri<'_>> {
    let mut parser = Parser {
        text,
        uri: JavaUri {
            port: -1,
            ..JavaUri::default()
        },
    };
    parser.parse()?;
    Ok(parser.uri)
}

struct Parser<'a> {
    text: &'a str,
    uri: JavaUri<'a>,
}

impl<'a> Parser<'a> {
    fn char_at(&self, position: usize) -> Option<char> {
        self.text.get(position..)?.chars().next()
    }

    fn at(&self, position: usize, end: usize, expected: char) -> bool {
        position < end && self.char_at(position) == Some(expected)
    }

    /// The position of the first character in `stop` from `start`, or `end`; None if a
    /// character of `error` comes first.
    fn scan_until(&self, start: usize, end: usize, error: &str, stop: &str) -> Option<usize> {
        for (offset, character) in self.text[start..end].char_indices() {
            if error.contains(character) {
                return None;
            }
            if stop.contains(character) {
                return Some(start + offset);
            }
        }
        Some(end)
    }

    /// The end of the run from `start` of characters of `class` (and escapes, where the
    /// class allows them).
    fn scan_class(&self, start: usize, end: usize, class: Class) -> Parse<usize> {
        let mut position = start;
        while position < end {
            let Some(character) = self.char_at(position) else {
                break;
            };
            if class.matches(character) {
                position += 1;
                continue;
            }
            if class.escaped {
                if character == '%' {
                    let escape = self.text.get(position + 1..position + 3);
                    let valid = position + 3 <= end
                        && escape
                            .is_some_and(|digits| digits.chars().all(|digit| HEX.matches(digit)));
                    if !valid {
                        return Err(InvalidUri("Malformed escape pair"));
                    }
                    position += 3;
                    continue;
                }
                if character as u32 > 128 && !is_space_char(character) && !character.is_control() {
                    position += character.len_utf8();
                    continue;
                }
            }
            break;
        }
        Ok(position)
    }

    fn check_class(&self, start: usize, end: usize, class: Class, what: &'static str) -> Parse<()> {
        match self.scan_class(start, end, class)? < end {
            true => Err(InvalidUri(what)),
            false => Ok(()),
        }
    }

    fn parse(&mut self) -> Parse<()> {
        let length = self.text.len();
        let colon = self.scan_until(0, length, "/?#", ":");
        let mut position = match colon {
            Some(colon) if self.at(colon, length, ':') => {
                if colon == 0 {
                    return Err(InvalidUri("Expected scheme name"));
                }
                self.check_class(0, 1, ALPHA_CLASS, "Illegal character in scheme name")?;
                self.check_class(1, colon, SCHEME, "Illegal character in scheme name")?;
                self.uri.scheme = Some(&self.text[..colon]);
                let start = colon + 1;
                if self.at(start, length, '/') {
                    self.hierarchical(start, length)?
                } else {
                    let end = self.scan_until(start, length, "", "#").unwrap_or(length);
                    if end <= start {
                        return Err(InvalidUri("Expected scheme-specific part"));
                    }
                    self.check_class(start, end, URIC, "Illegal character in opaque part")?;
                    end
                }
            }
            _ => self.hierarchical(0, length)?,
        };
        if self.at(position, length, '#') {
            self.check_class(position + 1, length, URIC, "Illegal character in fragment")?;
            self.uri.fragment = Some(&self.text[position + 1..]);
            position = length;
        }
        if position < length {
            return Err(InvalidUri("Expected end of URI"));
        }
        Ok(())
    }

    fn hierarchical(&mut self, start: usize, end: usize) -> Parse<usize> {
        let mut position = start;
        if self.at(position, end, '/') && self.at(position + 1, end, '/') {
            position += 2;
            let authority_end = self.scan_until(position, end, "", "/?#").unwrap_or(end);
            if authority_end > position {
                position = self.authority(position, authority_end)?;
            } else if authority_end >= end {
                return Err(InvalidUri("Expected authority"));
            }
        }
        let path_end = self.scan_until(position, end, "", "?#").unwrap_or(end);
        self.check_class(position, path_end, PATH, "Illegal character in path")?;
        self.uri.path = Some(&self.text[position..path_end]);
        position = path_end;
        if self.at(position, end, '?') {
            position += 1;
            let query_end = self.scan_until(position, end, "", "#").unwrap_or(end);
            self.check_class(position, query_end, URIC, "Illegal character in query")?;
            self.uri.query = Some(&self.text[position..query_end]);
            position = query_end;
        }
        Ok(position)
    }

    fn authority(&mut self, start: usize, end: usize) -> Parse<usize> {
        let has_bracket = self
            .scan_until(start, end, "", "]")
            .is_some_and(|at| at > start);
        let server_class = if has_bracket { SERVER_PERCENT } else { SERVER };
        let server_chars = self.scan_class(start, end, server_class).ok() == Some(end);
        let registry_chars = self.scan_class(start, end, REG_NAME).ok() == Some(end);
        if registry_chars && !server_chars {
            return Ok(end);
        }
        let mut failure = None;
        let mut parsed_to = start;
        if server_chars {
            match self.server(start, end) {
                Ok(position) if position >= end => parsed_to = end,
                Ok(_) => {
                    failure = Some(InvalidUri("Expected end of authority"));
                    self.forget_server();
                }
                Err(error) => {
                    failure = Some(error);
                    self.forget_server();
                }
            }
        }
        if parsed_to < end {
            if registry_chars {
                return Ok(end);
            }
            return Err(failure.unwrap_or(InvalidUri("Illegal character in authority")));
        }
        Ok(end)
    }

    fn forget_server(&mut self) {
        self.uri.host = None;
        self.uri.port = -1;
    }

    fn server(&mut self, start: usize, end: usize) -> Parse<usize> {
        let mut position = start;
        if let Some(at) = self.scan_until(position, end, "/?#", "@")
            && self.at(at, end, '@')
        {
            self.check_class(position, at, USERINFO, "Illegal character in user info")?;
            position = at + 1;
        }
        if self.at(position, end, '[') {
            position += 1;
            let close = self.scan_until(position, end, "/?#", "]");
            match close {
                Some(close) if close > position && self.at(close, end, ']') => {
                    let scope = self.scan_until(position, close, "", "%").unwrap_or(close);
                    if scope > position && scope < close {
                        self.ipv6(position, scope)?;
                        if scope + 1 == close {
                            return Err(InvalidUri("scope id expected"));
                        }
                        self.check_class(
                            scope + 1,
                            close,
                            ALPHANUM,
                            "Illegal character in scope id",
                        )?;
                    } else {
                        self.ipv6(position, close)?;
                    }
                    self.uri.host = Some(&self.text[position - 1..close + 1]);
                    position = close + 1;
                }
                _ => return Err(InvalidUri("Expected closing bracket for IPv6 address")),
            }
        } else {
            let ipv4_end = self.ipv4_prefix(position, end);
            position = match ipv4_end {
                Some(ipv4_end) if ipv4_end > position => {
                    self.uri.host = Some(&self.text[position..ipv4_end]);
                    ipv4_end
                }
                _ => self.hostname(position, end)?,
            };
        }
        if self.at(position, end, ':') {
            position += 1;
            let port_end = self.scan_until(position, end, "", "/").unwrap_or(end);
            if port_end > position {
                self.check_class(
                    position,
                    port_end,
                    DIGIT_CLASS,
                    "Illegal character in port number",
                )?;
                self.uri.port = self.text[position..port_end]
                    .parse()
                    .map_err(|_| InvalidUri("Malformed port number"))?;
                position = port_end;
            }
        }
        if position < end {
            return Err(InvalidUri("Expected port number"));
        }
        Ok(position)
    }

    /// Java's `parseIPv4Address`: the end of an IPv4 address starting at `start` (and
    /// followed by nothing or `:`), else None.
    fn ipv4_prefix(&self, start: usize, end: usize) -> Option<usize> {
        let address_end = self.scan_ipv4(start, end, false).ok()??;
        if address_end > start && address_end < end && self.char_at(address_end) != Some(':') {
            return None;
        }
        Some(address_end)
    }

    /// Java's `scanIPv4Address`: Ok(None) when the text does not start with digits and dots
    /// (or, when `strict`, is not only them), an error when those do not form an address.
    fn scan_ipv4(&self, start: usize, end: usize, strict: bool) -> Parse<Option<usize>> {
        let run_end = self.scan_class(start, end, DIGIT_DOT)?;
        if run_end <= start || (strict && run_end != end) {
            return Ok(None);
        }
        let mut position = start;
        for part in 0..4 {
            if part > 0 {
                if !self.at(position, run_end, '.') {
                    return Err(InvalidUri("Malformed IPv4 address"));
                }
                position += 1;
            }
            let digits_end = self.scan_class(position, run_end, DIGIT_CLASS)?;
            let byte = &self.text[position..digits_end];
            // Java parses each part as an int: digits past its range fail too.
            if digits_end <= position || byte.parse::<i32>().map_or(true, |byte| byte > 255) {
                return Err(InvalidUri("Malformed IPv4 address"));
            }
            position = digits_end;
        }
        if position < run_end {
            return Err(InvalidUri("Malformed IPv4 address"));
        }
        Ok(Some(position))
    }

    fn hostname(&mut self, start: usize, end: usize) -> Parse<usize> {
        let mut position = start;
        let mut last_label = None;
        loop {
            let label_end = self.scan_class(position, end, ALPHANUM)?;
            if label_end <= position {
                break;
            }
            last_label = Some(position);
            position = label_end;
            let rest_end = self.scan_class(position, end, ALPHANUM_DASH)?;
            if rest_end > position {
                if self.char_at(rest_end - 1) == Some('-') {
                    return Err(InvalidUri("Illegal character in hostname"));
                }
                position = rest_end;
            }
            if !self.at(position, end, '.') {
                break;
            }
            position += 1;
            if position >= end {
                break;
            }
        }
        if position < end && !self.at(position, end, ':') {
            return Err(InvalidUri("Illegal character in hostname"));
        }
        let Some(last_label) = last_label else {
            return Err(InvalidUri("Expected hostname"));
        };
        // A qualified name's last label starts with a letter.
        if last_label > start
            && !self
                .char_at(last_label)
                .is_some_and(|c| ALPHA_CLASS.matches(c))
        {
            return Err(InvalidUri("Illegal character in hostname"));
        }
        self.uri.host = Some(&self.text[start..position]);
        Ok(position)
    }

    /// Java's `parseIPv6Reference` over `[start, end)`.
    fn ipv6(&self, start: usize, end: usize) -> Parse<()> {
        let mut bytes = 0usize;
        let mut compressed = false;
        let mut position = start;
        match self.hex_sequence(position, end, &mut bytes)? {
            Some(sequence_end) if sequence_end > position => {
                position = sequence_end;
                if self.text[position..end].starts_with("::") {
                    compressed = true;
                    position = self.hex_post(position + 2, end, &mut bytes)?;
                } else if self.at(position, end, ':') {
                    position = self.take_ipv4(position + 1, end)?;
                    bytes += 4;
                }
            }
            _ if self.text[position..end].starts_with("::") => {
                compressed = true;
                position = self.hex_post(position + 2, end, &mut bytes)?;
            }
            _ => {}
        }
        if position < end {
            return Err(InvalidUri("Malformed IPv6 address"));
        }
        if bytes > 16 {
            return Err(InvalidUri("IPv6 address too long"));
        }
        if !compressed && bytes < 16 {
            return Err(InvalidUri("IPv6 address too short"));
        }
        if compressed && bytes == 16 {
            return Err(InvalidUri("Malformed IPv6 address"));
        }
        Ok(())
    }

    fn take_ipv4(&self, start: usize, end: usize) -> Parse<usize> {
        match self.scan_ipv4(start, end, true)? {
            Some(address_end) if address_end > start => Ok(address_end),
            _ => Err(InvalidUri("Expected IPv4 address")),
        }
    }

    fn hex_post(&self, start: usize, end: usize, bytes: &mut usize) -> Parse<usize> {
        if start == end {
            return Ok(start);
        }
        match self.hex_sequence(start, end, bytes)? {
            Some(sequence_end) if sequence_end > start => {
                if self.at(sequence_end, end, ':') {
                    *bytes += 4;
                    return self.take_ipv4(sequence_end + 1, end);
                }
                Ok(sequence_end)
            }
            _ => {
                *bytes += 4;
                self.take_ipv4(start, end)
            }
        }
    }

    /// Java's `scanHexSeq`: groups of 1 to 4 hex digits separated by single colons, each
    /// two bytes; None where the text starts an IPv4 address instead.
    fn hex_sequence(&self, start: usize, end: usize, bytes: &mut usize) -> Parse<Option<usize>> {
        let first_end = self.scan_class(start, end, HEX)?;
        if first_end <= start || self.at(first_end, end, '.') {
            return Ok(None);
        }
        if first_end > start + 4 {
            return Err(InvalidUri("IPv6 hexadecimal digit sequence too long"));
        }
        *bytes += 2;
        let mut position = first_end;
        while position < end {
            if !self.at(position, end, ':') || self.at(position + 1, end, ':') {
                break;
            }
            position += 1;
            let group_end = self.scan_class(position, end, HEX)?;
            if group_end <= position {
                return Err(InvalidUri("Expected digits for an IPv6 address"));
            }
            if self.at(group_end, end, '.') {
                position -= 1;
                break;
            }
            if group_end > position + 4 {
                return Err(InvalidUri("IPv6 hexadecimal digit sequence too long"));
            }
            *bytes += 2;
            position = group_end;
        }
        Ok(Some(position))
    }
}

/// Java's `URI.decode`: `%XX` runs decoded as UTF-8 (bad sequences as U+FFFD), except
/// between `[` and `]`. The parser has checked that every `%` starts an escape.
pub(crate) fn decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut between_brackets = false;
    let mut position = 0;
    let mut run_start = 0;
    while position < bytes.len() {
        match bytes[position] {
            b'[' => between_brackets = true,
            b']' if between_brackets => between_brackets = false,
            b'%' if !between_brackets => {
                out.push_str(&text[run_start..position]);
                let mut decoded = Vec::new();
                while bytes.get(position) == Some(&b'%') {
                    let value = text
                        .get(position + 1..position + 3)
                        .and_then(|digits| u8::from_str_radix(digits, 16).ok());
                    let Some(value) = value else { break };
                    decoded.push(value);
                    position += 3;
                }
                out.push_str(&String::from_utf8_lossy(&decoded));
                run_start = position;
                continue;
            }
            _ => {}
        }
        position += 1;
    }
    out.push_str(&text[run_start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls_as_java_does() {
        let uri = parse("https://user@docs.confluent.io:8080/current/a%20b.html?x=1#frag")
            .expect("valid");
        assert_eq!(uri.scheme, Some("https"));
        assert_eq!(uri.host, Some("docs.confluent.io"));
        assert_eq!(uri.port, 8080);
        assert_eq!(uri.path, Some("/current/a%20b.html"));
        assert_eq!(uri.query, Some("x=1"));
        assert_eq!(uri.fragment, Some("frag"));
        let empty_authority = parse("https:///current#f").expect("valid");
        assert_eq!(
            (empty_authority.host, empty_authority.path),
            (None, Some("/current"))
        );
        let registry = parse("http://my_host:80/").expect("valid");
        assert_eq!((registry.host, registry.port), (None, -1));
        let opaque = parse("mailto:a@b.com").expect("valid");
        assert_eq!((opaque.scheme, opaque.path), (Some("mailto"), None));
        let relative = parse("///current/a.html").expect("valid");
        assert_eq!((relative.scheme, relative.host), (None, None));
        let ipv6 = parse("http://[::1]:9092/").expect("valid");
        assert_eq!((ipv6.host, ipv6.port), (Some("[::1]"), 9092));
        assert_eq!(
            parse("http://127.0.0.1/").expect("valid").host,
            Some("127.0.0.1")
        );
        assert_eq!(
            parse("http://docs.confluent.io").expect("valid").path,
            Some("")
        );
        // A port past an int makes the authority a registry name, as in Java.
        assert_eq!(parse("http://x:99999999999/").expect("valid").host, None);
    }

    #[test]
    fn rejects_what_java_rejects() {
        for invalid in [
            "http://257.1/bogus/[url",
            "http://",
            "http://a b/",
            "1http://x/",
            "mailto:",
            ":x",
            "http://x/%zz",
            "http://x/a b",
            "http://[::1/",
        ] {
            assert!(parse(invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn decodes_escapes_as_java_does() {
        assert_eq!(decode("scalar%20functions"), "scalar functions");
        assert_eq!(decode("%C3%A9%FF"), "é\u{FFFD}");
        assert_eq!(decode("[fe80::1%25eth0]"), "[fe80::1%25eth0]");
    }
}
