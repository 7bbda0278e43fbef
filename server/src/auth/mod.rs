//! Connection startup: how a client is let in. One `StartupHandler` for the server picks the
//! method per connection: once any user exists, SCRAM-SHA-256 with the user's verifier
//! (`scram.rs`); before that, trust (`trust.rs`), but only for clients on this machine
//! unless the server was told `--insecure`. TLS (`tls.rs`) wraps the socket before startup.
//! What every method does alike lives here: the server parameters clients see, registering
//! the connection so a CancelRequest can find it, and the `Principal` left in the
//! connection's extensions for its session.
//!
//! Failures answer as Postgres does: a wrong password and an unknown user alike get 28P01
//! (an unknown user goes through SCRAM with a made-up verifier, so the answer does not tell
//! which names exist); a client no method admits gets 28000. Each is logged with the user
//! name and the peer, never a password or a SCRAM message.
//!
//! Never: send AuthenticationOk before the method accepted the client.

mod scram;
mod tls;
mod trust;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use eddy_executor::{Engine, Principal};
use futures::{Sink, SinkExt};
use pgwire::api::auth::mechanism::AuthMechanismFactory;
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::auth::{
    AuthDriver, AuthOutcome, DefaultServerParameterProvider, StartupHandler, finish_authentication,
    protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::{
    ClientInfo, ConnectionGuard, ConnectionHandle, ConnectionManager, METADATA_USER,
    PidSecretKeyGenerator, RandomPidSecretKeyGenerator,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tracing::{debug, warn};

pub use tls::TlsError;

/// How a server lets clients in, beyond passwords (which the engine's users decide).
#[derive(Clone, Default)]
pub struct Security {
    /// Encrypts connections whose client asks for TLS (`sslmode=require`); None answers
    /// such a client 'N', and psql's default `sslmode=prefer` goes on in plain text.
    tls: Option<pgwire::tokio::TlsAcceptor>,
    /// Lets clients on other machines in without a password while no user exists
    /// (`--insecure`); by default only clients on this machine are.
    trust_remote: bool,
}

impl Security {
    /// TLS with the certificate chain and private key in these PEM files.
    pub fn with_tls(
        mut self,
        certificate_path: &std::path::Path,
        key_path: &std::path::Path,
    ) -> Result<Self, TlsError> {
        self.tls = Some(tls::acceptor(certificate_path, key_path)?);
        Ok(self)
    }

    /// Lets remote clients in without a password while no user exists.
    pub fn trusting_remote_clients(mut self) -> Self {
        self.trust_remote = true;
        self
    }

    pub(crate) fn tls(&self) -> Option<pgwire::tokio::TlsAcceptor> {
        self.tls.clone()
    }
}

/// The ParameterStatus values sent once a client is in: pgwire's defaults, with a
/// `server_version` that is Postgres 15 compatible and names Eddy's version (pgwire's own,
/// 16.6-pgwire, makes psql 15 warn); `admit` sets `is_superuser` per user.
fn server_parameters() -> DefaultServerParameterProvider {
    let mut parameters = DefaultServerParameterProvider::default();
    parameters.server_version = eddy_executor::SERVER_VERSION.to_string();
    parameters
}

/// The server's one startup handler, shared by all connections.
pub(crate) struct Startup {
    registry: ConnectionRegistry,
    engine: Arc<Engine>,
    trust_remote: bool,
    /// Runs a connection's SCRAM exchange; its per-connection state lives in the
    /// connection's extensions.
    driver: AuthDriver<DefaultServerParameterProvider>,
    scram: ScramAuth,
}

impl Startup {
    pub(crate) fn new(
        engine: Arc<Engine>,
        connections: Arc<ConnectionManager>,
        security: &Security,
    ) -> Self {
        Self {
            registry: ConnectionRegistry::new(connections),
            scram: scram::scram_auth(engine.clone()),
            engine,
            trust_remote: security.trust_remote,
            driver: AuthDriver::new(server_parameters()),
        }
    }

    /// The client is in: registers it for cancel, leaves its principal for its session,
    /// then AuthenticationOk, ParameterStatus, BackendKeyData and ReadyForQuery.
    async fn admit<C>(&self, client: &mut C, principal: Principal) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let pid = self.registry.register(client);
        debug!(pid, peer = %client.socket_addr(), ?principal, "client connected");
        let mut parameters = server_parameters();
        parameters.is_superuser = self.engine.is_superuser(&principal);
        client.session_extensions().insert(principal);
        finish_authentication(client, &parameters).await
    }
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                let user = login_user(client)?;
                if self.engine.has_users() {
                    let mechanism = self.scram.create();
                    self.driver.begin_authentication(client, mechanism).await?;
                    return Ok(());
                }
                trust::check_trusted(client, &user, self.trust_remote)?;
                self.admit(client, Principal::Trusted).await
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                let user = login_user(client)?;
                match self.driver.advance_authentication(client, message).await {
                    Ok(AuthOutcome::InProgress) => Ok(()),
                    Ok(AuthOutcome::Authenticated { final_message, .. }) => {
                        if let Some(final_message) = final_message {
                            client
                                .send(PgWireBackendMessage::Authentication(final_message))
                                .await?;
                        }
                        self.admit(client, Principal::User(user)).await
                    }
                    Err(error) => Err(scram::login_failed(client, &user, error)),
                }
            }
            _ => Ok(()),
        }
    }
}

/// The user name of the startup packet; Postgres refuses a startup without one (28000).
fn login_user<C: ClientInfo>(client: &C) -> PgWireResult<String> {
    match client.metadata().get(METADATA_USER) {
        Some(user) => Ok(user.clone()),
        None => {
            warn!(peer = %client.socket_addr(), "login refused: no user name");
            Err(PgWireError::UserNameRequired)
        }
    }
}

/// A FATAL ErrorResponse, which ends the connection.
fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_owned(),
        code.to_owned(),
        message,
    )))
}

/// Shared by all connections of a server: one pid counter, one `ConnectionManager`, in which
/// pgwire's `DefaultCancelHandler` finds the connection a CancelRequest names.
struct ConnectionRegistry {
    connections: Arc<ConnectionManager>,
    pid_generator: RandomPidSecretKeyGenerator,
}

impl ConnectionRegistry {
    fn new(connections: Arc<ConnectionManager>) -> Self {
        Self {
            connections,
            pid_generator: RandomPidSecretKeyGenerator::default(),
        }
    }

    /// Gives the client its pid and secret key (sent in BackendKeyData) and registers it, so
    /// a CancelRequest carrying both reaches its queries (`cancel.rs`). Returns the pid.
    fn register<C: ClientInfo>(&self, client: &mut C) -> i32 {
        let (pid, secret_key) = self.pid_generator.generate(client);
        client.set_pid_and_secret_key(pid, secret_key.clone());
        // Both live in the connection's extensions: the guard unregisters the connection
        // when the connection (and so its extensions) is dropped.
        let (handle, guard) = self.connections.register(pid, secret_key);
        client
            .session_extensions()
            .insert::<Arc<ConnectionHandle>>(handle);
        client.session_extensions().insert::<ConnectionGuard>(guard);
        pid
    }
}
