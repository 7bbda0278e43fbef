//! Password logins: pgwire's SCRAM-SHA-256 exchange (RFC 5802, 7677) checked against the
//! verifier the engine keeps for the user, so no password is ever held by the server.
//!
//! An unknown user, or one without a password, gets a made-up verifier that no proof
//! matches: the exchange runs to its end and fails as a wrong password does (28P01), as in
//! Postgres, and the log says which it was.
//!
//! Never: log a SCRAM message, a proof or a key.

use std::sync::Arc;

use async_trait::async_trait;
use eddy_executor::Engine;
use pgwire::api::ClientInfo;
use pgwire::api::auth::sasl::scram::{SCRAM_ITERATIONS, ScramAuth, ScramSecret, random_nonce};
use pgwire::api::auth::{AuthSource, LoginInfo, Password};
use pgwire::error::{PgWireError, PgWireResult};
use tracing::warn;

use super::fatal;

/// The SCRAM mechanism over the engine's users.
pub(super) fn scram_auth(engine: Arc<Engine>) -> ScramAuth {
    ScramAuth::new(Arc::new(Verifiers { engine }))
}

/// Postgres' answer to a failed exchange, logged with the user and the peer. A wrong
/// proof and an unknown user are told apart in the log only.
pub(super) fn login_failed<C: ClientInfo>(
    client: &C,
    user: &str,
    error: PgWireError,
) -> PgWireError {
    let peer = client.socket_addr();
    match error {
        PgWireError::InvalidPassword(_) => {
            warn!(user, %peer, "password authentication failed");
            fatal(
                "28P01",
                format!("password authentication failed for user \"{user}\""),
            )
        }
        other => {
            warn!(user, %peer, error = %other, "password authentication ended in error");
            other
        }
    }
}

struct Verifiers {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Verifiers {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Verifiers")
    }
}

#[async_trait]
impl AuthSource for Verifiers {
    /// Only SCRAM asks this source, through `get_scram_secret`; no other method is offered.
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        Err(PgWireError::InvalidPassword(
            login.user().unwrap_or_default().to_owned(),
        ))
    }

    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let user = login.user().unwrap_or_default();
        let secret = match self.engine.scram_verifier(user) {
            Some(verifier) => ScramSecret::Verifier {
                salt: verifier.salt,
                iterations: verifier.iterations as usize,
                stored_key: verifier.stored_key,
                server_key: verifier.server_key,
            },
            None => {
                warn!(
                    user,
                    host = login.host(),
                    "login as an unknown user or one without a password"
                );
                made_up_verifier()
            }
        };
        Ok((secret, None))
    }
}

/// A verifier of random bytes: no client proof matches it.
fn made_up_verifier() -> ScramSecret {
    let random_bytes = |length: usize| -> Vec<u8> {
        let mut bytes = Vec::with_capacity(length + 24);
        while bytes.len() < length {
            bytes.extend(random_nonce().into_bytes());
        }
        bytes.truncate(length);
        bytes
    };
    ScramSecret::Verifier {
        salt: random_bytes(16),
        iterations: SCRAM_ITERATIONS,
        stored_key: random_bytes(32),
        server_key: random_bytes(32),
    }
}
