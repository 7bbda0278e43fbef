//! Connection startup with trust authentication: every user is let in, as a local
//! database is (password auth belongs in front of a network listener, not here yet).
//!
//! pgwire's `NoopStartupHandler` hard-codes its server parameters (`server_version`
//! 16.6-pgwire, which makes psql 15 warn), so this handler does the same steps itself:
//! negotiate the protocol, save the startup parameters, register the connection with the
//! `ConnectionManager` so a CancelRequest can find it, then AuthenticationOk,
//! ParameterStatus, BackendKeyData and ReadyForQuery.
//!
//! Never: answer a cancel for a connection that did not register here.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::auth::{
    DefaultServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{
    ClientInfo, ConnectionGuard, ConnectionHandle, ConnectionManager, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tracing::debug;

/// The `server_version` clients see: Postgres 15 compatible, naming Eddy's version.
pub(crate) fn server_version() -> String {
    format!("15.0 (Eddy {})", env!("CARGO_PKG_VERSION"))
}

/// Shared by all connections of a server: one pid counter, one cancel registry.
pub(crate) struct TrustStartupHandler {
    connections: Arc<ConnectionManager>,
    pid_generator: RandomPidSecretKeyGenerator,
    parameters: DefaultServerParameterProvider,
}

impl TrustStartupHandler {
    pub(crate) fn new(connections: Arc<ConnectionManager>) -> Self {
        let mut parameters = DefaultServerParameterProvider::default();
        parameters.server_version = server_version();
        Self {
            connections,
            pid_generator: RandomPidSecretKeyGenerator::default(),
            parameters,
        }
    }
}

#[async_trait]
impl StartupHandler for TrustStartupHandler {
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
        if let PgWireFrontendMessage::Startup(ref startup) = message {
            protocol_negotiation(client, startup).await?;
            save_startup_parameters_to_metadata(client, startup);
            let (pid, secret_key) = self.pid_generator.generate(client);
            client.set_pid_and_secret_key(pid, secret_key.clone());
            // Both live in the connection's extensions: the guard unregisters the
            // connection when the connection (and so its extensions) is dropped.
            let (handle, guard) = self.connections.register(pid, secret_key);
            client
                .session_extensions()
                .insert::<Arc<ConnectionHandle>>(handle);
            client.session_extensions().insert::<ConnectionGuard>(guard);
            finish_authentication(client, &self.parameters).await?;
            debug!(pid, peer = %client.socket_addr(), "client connected");
        }
        Ok(())
    }
}
