//! Connection startup: how a client is let in. Each method is a file with a pgwire
//! `StartupHandler` (today `trust.rs`); what every method does alike lives here: the server
//! parameters clients see, and registering the connection so a CancelRequest can find it.
//!
//! Passwords arrive as `scram.rs` (pgwire's SASL handler, `ScramAuth` over an `AuthSource`,
//! feature `server-api-ring`), named in `serve` in place of `TrustStartupHandler`; TLS as a
//! `tls.rs` acceptor in place of the `None` that `serve_connection` gives `process_socket`.
//! Never: send AuthenticationOk before the method accepted the client.

mod trust;

use std::sync::Arc;

use pgwire::api::auth::DefaultServerParameterProvider;
use pgwire::api::{
    ClientInfo, ConnectionGuard, ConnectionHandle, ConnectionManager, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator,
};

pub(crate) use trust::TrustStartupHandler;

/// The ParameterStatus values sent once a client is in: pgwire's defaults, with a
/// `server_version` that is Postgres 15 compatible and names Eddy's version (pgwire's own,
/// 16.6-pgwire, makes psql 15 warn).
pub(crate) fn server_parameters() -> DefaultServerParameterProvider {
    let mut parameters = DefaultServerParameterProvider::default();
    parameters.server_version = eddy_executor::SERVER_VERSION.to_string();
    parameters
}

/// Shared by all connections of a server: one pid counter, one `ConnectionManager`, in which
/// pgwire's `DefaultCancelHandler` finds the connection a CancelRequest names.
pub(crate) struct ConnectionRegistry {
    connections: Arc<ConnectionManager>,
    pid_generator: RandomPidSecretKeyGenerator,
}

impl ConnectionRegistry {
    pub(crate) fn new(connections: Arc<ConnectionManager>) -> Self {
        Self {
            connections,
            pid_generator: RandomPidSecretKeyGenerator::default(),
        }
    }

    /// Gives the client its pid and secret key (sent in BackendKeyData) and registers it, so
    /// a CancelRequest carrying both reaches its queries (`cancel.rs`). Returns the pid.
    pub(crate) fn register<C: ClientInfo>(&self, client: &mut C) -> i32 {
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
