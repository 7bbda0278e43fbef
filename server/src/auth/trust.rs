//! Trust authentication: every user is let in, as a local database is (passwords belong
//! in front of a network listener; they arrive as a method of their own beside this one).
//!
//! pgwire's `NoopStartupHandler` hard-codes its server parameters, so this handler does the
//! same steps itself: negotiate the protocol, save the startup parameters, register the
//! connection for cancel, then AuthenticationOk, ParameterStatus, BackendKeyData and
//! ReadyForQuery.
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
use pgwire::api::{ClientInfo, ConnectionManager};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tracing::debug;

use super::{ConnectionRegistry, server_parameters};

/// Shared by all connections of a server.
pub(crate) struct TrustStartupHandler {
    registry: ConnectionRegistry,
    parameters: DefaultServerParameterProvider,
}

impl TrustStartupHandler {
    pub(crate) fn new(connections: Arc<ConnectionManager>) -> Self {
        Self {
            registry: ConnectionRegistry::new(connections),
            parameters: server_parameters(),
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
            let pid = self.registry.register(client);
            finish_authentication(client, &self.parameters).await?;
            debug!(pid, peer = %client.socket_addr(), "client connected");
        }
        Ok(())
    }
}
