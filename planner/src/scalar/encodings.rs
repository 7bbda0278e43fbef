//! Text encodings of bytes as ksqlDB's functions apply them: `hex`, `utf8`, `ascii` and
//! `base64` as Java's standard library (`BytesUtils`: TO_BYTES, FROM_BYTES, TO_JSON_STRING)
//! and as Apache Commons Codec (the ENCODE function) decode and encode them. The two differ:
//! Java's base64 decoder rejects what Commons' skips, Java's hex prints upper case and
//! Commons' lower case.
//!
//! Never: panic or allocate more than a small multiple of the input on any input.

use std::fmt::Write as _;

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Why text does not decode, as a message for the processing log.
pub(crate) type DecodeError = String;

/// Base64 with padding (Java's `Base64.getEncoder()`, Commons' `encodeBase64`).
pub(crate) fn base64_encode(bytes: &[u8], out: &mut String) {
    for chunk in bytes.chunks(3) {
        let group = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for index in 0..4 {
            if index <= chunk.len() {
                let sextet = (group >> (18 - 6 * index)) & 0x3F;
                out.push(char::from(BASE64_ALPHABET[sextet as usize]));
            } else {
                out.push('=');
            }
        }
    }
}

fn base64_value(byte: u8) -> Option<u32> {
    Some(u32::from(match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// Adds one base64 digit to the group being read; four make three bytes.
fn push_sextet(value: u32, group: &mut u32, count: &mut usize, out: &mut Vec<u8>) {
    *group = (*group << 6) | value;
    *count += 1;
    if *count == 4 {
        out.extend_from_slice(&[(*group >> 16) as u8, (*group >> 8) as u8, *group as u8]);
        *group = 0;
        *count = 0;
    }
}

/// Java's `Base64.getDecoder().decode`: the standard alphabet only, padding optional but
/// right where present, nothing after it; a final unit of one character is an error.
pub(crate) fn base64_decode_java(text: &str) -> Result<Vec<u8>, DecodeError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 2);
    let mut group = 0u32;
    let mut count = 0usize;
    let mut position = 0;
    while position < bytes.len() {
        let byte = bytes[position];
        if byte == b'=' {
            // Padding ends the data: "xx==" or "xxx=" and nothing after.
            let expected = match count {
                2 => "==",
                3 => "=",
                _ => return Err("Input byte array has wrong 4-byte ending unit".into()),
            };
            if &text[position..] != expected {
                return Err("Input byte array has incorrect ending byte".into());
            }
            break;
        }
        let Some(value) = base64_value(byte) else {
            return Err(format!("Illegal base64 character {byte:x}"));
        };
        push_sextet(value, &mut group, &mut count, &mut out);
        position += 1;
    }
    match count {
        0 => {}
        1 => return Err("Last unit does not have enough valid bits".into()),
        2 => out.push((group >> 4) as u8),
        _ => out.extend_from_slice(&[(group >> 10) as u8, (group >> 2) as u8]),
    }
    Ok(out)
}

/// Commons Codec's lenient `Base64.decodeBase64`: both alphabets (`+/` and `-_`), every
/// other character skipped, the first `=` ends the data, leftover bits dropped.
pub(crate) fn base64_decode_lenient(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut group = 0u32;
    let mut count = 0usize;
    for byte in text.bytes() {
        if byte == b'=' {
            break;
        }
        let value = match byte {
            b'-' => Some(62),
            b'_' => Some(63),
            other => base64_value(other),
        };
        let Some(value) = value else { continue };
        push_sextet(value, &mut group, &mut count, &mut out);
    }
    match count {
        2 => out.push((group >> 4) as u8),
        3 => out.extend_from_slice(&[(group >> 10) as u8, (group >> 2) as u8]),
        _ => {}
    }
    out
}

/// Hex digits of `bytes`, upper case (Java's `DatatypeConverter`) or lower (Commons).
pub(crate) fn hex_encode(bytes: &[u8], upper_case: bool, out: &mut String) {
    for byte in bytes {
        let _ = match upper_case {
            true => write!(out, "{byte:02X}"),
            false => write!(out, "{byte:02x}"),
        };
    }
}

/// Bytes of hex text of an even number of digits, either case.
pub(crate) fn hex_decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err("hexBinary needs to be even-length: ".to_owned() + text);
    }
    digits
        .chunks(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16);
            let low = char::from(pair[1]).to_digit(16);
            match (high, low) {
                (Some(high), Some(low)) => Ok((high * 16 + low) as u8),
                _ => Err("contains illegal character for hexBinary: ".to_owned() + text),
            }
        })
        .collect()
}

/// Java's `new String(bytes, US_ASCII)`: each byte past 0x7F is the replacement character.
pub(crate) fn ascii_decode(bytes: &[u8], out: &mut String) {
    out.extend(bytes.iter().map(|&byte| match byte.is_ascii() {
        true => char::from(byte),
        false => char::REPLACEMENT_CHARACTER,
    }));
}

/// Java's `text.getBytes(US_ASCII)`: each character past 0x7F is `?`.
pub(crate) fn ascii_encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|character| match character.is_ascii() {
            true => character as u8,
            false => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_decodes_as_java_and_commons_do() {
        let mut text = String::new();
        base64_encode(&[0x00, 0x10, 0xBD, 0xBF], &mut text);
        assert_eq!(text, "ABC9vw==");
        assert_eq!(
            base64_decode_java("ABC9vw=="),
            Ok(vec![0x00, 0x10, 0xBD, 0xBF])
        );
        assert_eq!(
            base64_decode_java("ABC9vw"),
            Ok(vec![0x00, 0x10, 0xBD, 0xBF])
        );
        assert!(base64_decode_java("ABC9v").is_err());
        assert!(base64_decode_java("AB=C").is_err());
        assert!(base64_decode_java("A-B_").is_err());
        assert_eq!(
            base64_decode_lenient("A B\nC9vw-_"),
            vec![0x00, 0x10, 0xBD, 0xBF, 0x0F, 0xBF]
        );
        assert_eq!(base64_decode_lenient("QQ=garbage"), b"A".to_vec());
    }

    #[test]
    fn hex_and_ascii_follow_java() {
        assert_eq!(hex_decode("cAFe"), Ok(vec![0xCA, 0xFE]));
        assert!(hex_decode("abc").is_err());
        assert!(hex_decode("zz").is_err());
        let mut text = String::new();
        hex_encode(&[0xCA, 0xFE], true, &mut text);
        hex_encode(&[0xCA, 0xFE], false, &mut text);
        assert_eq!(text, "CAFEcafe");
        assert_eq!(ascii_encode("aé"), b"a?".to_vec());
        let mut text = String::new();
        ascii_decode(&[b'a', 0xC3], &mut text);
        assert_eq!(text, "a\u{FFFD}");
    }
}
