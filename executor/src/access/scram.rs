//! SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677) as Postgres stores them:
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64 parts. A verifier lets
//! the server check a client's proof without holding the password or anything a client
//! could log in with.
//!
//! Never: keep, log or return a password or the salted password it derives.

use std::borrow::Cow;
use std::num::NonZeroU32;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, pbkdf2};

use crate::access::AccessError;

/// Postgres' default `scram_iterations`.
const ITERATIONS: u32 = 4096;
const SALT_BYTES: usize = 16;
const PREFIX: &str = "SCRAM-SHA-256$";

/// What the server checks a SCRAM-SHA-256 login against.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    pub salt: Vec<u8>,
    pub iterations: u32,
    /// `SHA-256(HMAC(SaltedPassword, "Client Key"))`
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`
    pub server_key: Vec<u8>,
}

impl std::fmt::Debug for ScramVerifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ScramVerifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramVerifier {
    /// A verifier of `password` with a fresh random salt. The password is normalized with
    /// SASLprep first, as libpq and every SCRAM client do before hashing.
    pub(crate) fn from_password(password: &str) -> Result<ScramVerifier, AccessError> {
        let mut salt = vec![0; SALT_BYTES];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| AccessError::NoRandomness)?;
        // Invariant: ITERATIONS is a nonzero constant.
        let iterations = NonZeroU32::new(ITERATIONS).expect("nonzero iteration count");
        Ok(Self::with_salt(password, salt, iterations))
    }

    fn with_salt(password: &str, salt: Vec<u8>, iterations: NonZeroU32) -> ScramVerifier {
        let normalized = stringprep::saslprep(password).unwrap_or(Cow::Borrowed(password));
        let mut salted_password = [0; digest::SHA256_OUTPUT_LEN];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            normalized.as_bytes(),
            &mut salted_password,
        );
        let key = hmac::Key::new(hmac::HMAC_SHA256, &salted_password);
        let client_key = hmac::sign(&key, b"Client Key");
        let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
        let server_key = hmac::sign(&key, b"Server Key");
        ScramVerifier {
            salt,
            iterations: iterations.get(),
            stored_key: stored_key.as_ref().to_vec(),
            server_key: server_key.as_ref().to_vec(),
        }
    }

    /// Reads Postgres' text form; None for anything else (a password, say).
    pub(crate) fn parse(text: &str) -> Option<ScramVerifier> {
        let rest = text.strip_prefix(PREFIX)?;
        let (iterations_and_salt, keys) = rest.split_once('$')?;
        let (iterations, salt) = iterations_and_salt.split_once(':')?;
        let (stored_key, server_key) = keys.split_once(':')?;
        let verifier = ScramVerifier {
            salt: BASE64.decode(salt).ok()?,
            iterations: iterations.parse().ok().filter(|count| *count > 0)?,
            stored_key: BASE64.decode(stored_key).ok()?,
            server_key: BASE64.decode(server_key).ok()?,
        };
        let keys_have_sha256_length = verifier.stored_key.len() == digest::SHA256_OUTPUT_LEN
            && verifier.server_key.len() == digest::SHA256_OUTPUT_LEN;
        keys_have_sha256_length.then_some(verifier)
    }
}

impl std::fmt::Display for ScramVerifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{PREFIX}{}:{}${}:{}",
            self.iterations,
            BASE64.encode(&self.salt),
            BASE64.encode(&self.stored_key),
            BASE64.encode(&self.server_key)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_reads_back_from_its_text_and_holds_no_password() {
        let verifier = ScramVerifier::from_password("pencil").expect("random salt");
        let text = verifier.to_string();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"), "{text}");
        assert!(!text.contains("pencil"));
        assert_eq!(ScramVerifier::parse(&text), Some(verifier.clone()));
        assert!(!format!("{verifier:?}").contains(&BASE64.encode(&verifier.stored_key)));
        let again = ScramVerifier::from_password("pencil").expect("random salt");
        assert_ne!(again.salt, verifier.salt, "each verifier has its own salt");
        assert_eq!(ScramVerifier::parse("pencil"), None);
        assert_eq!(ScramVerifier::parse("SCRAM-SHA-256$0:AAAA$AAAA:AAAA"), None);
    }

    /// RFC 7677's example exchange (user `user`, password `pencil`): the client's proof
    /// checks out against the stored key, and the server's signature is the RFC's.
    #[test]
    fn the_rfc_7677_exchange_verifies() {
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("base64");
        let verifier =
            ScramVerifier::with_salt("pencil", salt, NonZeroU32::new(4096).expect("nonzero"));
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
                            r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                            s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
                            c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let server_key = hmac::Key::new(hmac::HMAC_SHA256, &verifier.server_key);
        let server_signature = hmac::sign(&server_key, auth_message.as_bytes());
        assert_eq!(
            BASE64.encode(server_signature.as_ref()),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        let stored_key = hmac::Key::new(hmac::HMAC_SHA256, &verifier.stored_key);
        let client_signature = hmac::sign(&stored_key, auth_message.as_bytes());
        let proof = BASE64
            .decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .expect("base64");
        let client_key: Vec<u8> = proof
            .iter()
            .zip(client_signature.as_ref())
            .map(|(proof_byte, signature_byte)| proof_byte ^ signature_byte)
            .collect();
        assert_eq!(
            digest::digest(&digest::SHA256, &client_key).as_ref(),
            verifier.stored_key.as_slice()
        );
    }
}
