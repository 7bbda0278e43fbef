//! Eddy's Postgres wire protocol server: [`serve`] accepts connections and translates
//! between pgwire and the engine's `Session` API, nothing more. Each connection is a task
//! (`process_socket`) with its own `Session`; results are streamed as they are produced.
//!
//! Never: reach around the `Session` API into the engine, or let anything a client sends
//! crash the server.
//!
//! Modules, each with what it may use and what it must not know (imports point down the
//! list, so there are no cycles):
//! - `auth/`: connection startup (trust, SCRAM passwords, TLS); asks the `Engine` for
//!   users' verifiers only; not sessions.
//! - `connection`: a client's `Session` behind pgwire's query and COPY handlers; may use
//!   `respond`, `transaction`, `reported`, `copy_in`, `cancel`, `params`, `types`; must not
//!   know how values are encoded.
//! - `respond`: a statement's output as wire messages, streamed with heartbeats; may use
//!   `encode`, `types`, `transaction`, `copy_in`, `cancel`; must not know the session or the
//!   connection.
//! - `reported`: which settings a statement changes that Postgres reports with
//!   ParameterStatus; must not know the session.
//! - `transaction`: the transaction block's status and savepoints, what transaction
//!   statements answer and what a block's state refuses; must not know the session.
//! - `copy_in`: COPY FROM STDIN data into the engine's sink; must not know the connection.
//! - `cancel`: a connection's cancel receiver and the wait on it; pgwire only.
//! - `params`: Bind parameters to `ScalarValue`s; may use `types`, `numeric`, `temporal`.
//! - `encode`: Arrow batches to DataRows and COPY lines, column by column; may use `types`,
//!   `json`, `text_format`, `numeric`, `temporal`; must not know the client.
//! - `json`: nested values as JSON text; may use `text_format`, `temporal`.
//! - `types`: Arrow types to Postgres types (RowDescription); must not know values.
//! - `numeric`: Postgres' binary `numeric`, both ways; may use `text_format`.
//! - `text_format`: Postgres' text form of one scalar; may use `temporal`.
//! - `temporal`: time units and epochs; uses no other module.
//! - `sqlstate`: the one mapping of errors to SQLSTATEs; may use `error`. `error`
//!   (`ServerError`) and `limits` use no other module; any module may use these three.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use eddy_executor::{Engine, EngineConfig};
//! use tokio_util::sync::CancellationToken;
//!
//! let engine = Engine::open(EngineConfig::new("./eddy-data")).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5433").await?;
//! let shutdown = CancellationToken::new();
//! eddy_server::serve(engine.clone(), listener, shutdown, eddy_server::Security::default()).await?;
//! engine.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod auth;
mod cancel;
mod connection;
mod copy_in;
mod encode;
mod error;
mod json;
mod limits;
mod numeric;
mod params;
mod reported;
mod respond;
mod sqlstate;
mod temporal;
mod text_format;
mod transaction;
mod types;

use std::sync::Arc;

use eddy_executor::Engine;
use pgwire::api::auth::StartupHandler;
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::api::copy::CopyHandler;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{ConnectionManager, PgWireServerHandlers};
use pgwire::tokio::process_socket;
use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

pub use crate::auth::{Security, TlsError};

use crate::auth::Startup;
use crate::connection::ConnectionHandler;
use crate::limits::{ACCEPT_ERROR_BACKOFF, KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_RETRIES};

/// Accepts Postgres connections on `listener` until `shutdown` is cancelled, then stops
/// accepting and ends the open connections (their sessions and push queries are dropped).
/// The engine is left running: shutting it down is the caller's next step.
///
/// Clients log in with a password once the engine has a user; before that, only clients on
/// this machine are let in, unless `security` trusts remote ones.
pub async fn serve(
    engine: Arc<Engine>,
    listener: TcpListener,
    shutdown: CancellationToken,
    security: Security,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    let connections = Arc::new(ConnectionManager::new());
    let startup = Arc::new(Startup::new(engine.clone(), connections.clone(), &security));
    let cancel = Arc::new(DefaultCancelHandler::new(connections));
    let mut tasks = JoinSet::new();
    info!(%address, "accepting connections");
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    set_keepalive(&socket);
                    let handlers = ConnectionHandlers {
                        handler: Arc::new(ConnectionHandler::new(engine.session())),
                        startup: startup.clone(),
                        cancel: cancel.clone(),
                    };
                    tasks.spawn(serve_connection(socket, security.tls(), handlers, peer));
                }
                Err(accept_error) => {
                    warn!(%accept_error, "accept failed; retrying");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            },
            Some(finished) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(join_error) = finished {
                    error!(%join_error, "connection task failed");
                }
            }
        }
    }
    info!(%address, connections = tasks.len(), "stopped accepting connections");
    tasks.shutdown().await;
    Ok(())
}

async fn serve_connection(
    socket: TcpStream,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    handlers: ConnectionHandlers,
    peer: std::net::SocketAddr,
) {
    // Without an acceptor pgwire answers an SSLRequest with 'N', and clients that only
    // prefer TLS go on in plain text.
    match process_socket(socket, tls, handlers).await {
        Ok(()) => debug!(%peer, "connection closed"),
        // Most often the client left mid-result (broken pipe): normal, not an error.
        Err(io_error) => debug!(%peer, %io_error, "connection ended"),
    }
}

/// TCP keepalive finds peers that vanished without closing (their machine died), which
/// no write would notice while the connection is idle.
fn set_keepalive(socket: &TcpStream) {
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_RETRIES);
    if let Err(keepalive_error) = SockRef::from(socket).set_tcp_keepalive(&keepalive) {
        debug!(%keepalive_error, "cannot set TCP keepalive");
    }
}

/// The handlers of one connection: its own query handler (and session), the server's
/// shared startup and cancel handlers.
struct ConnectionHandlers {
    handler: Arc<ConnectionHandler>,
    startup: Arc<Startup>,
    cancel: Arc<DefaultCancelHandler>,
}

impl PgWireServerHandlers for ConnectionHandlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.handler.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.handler.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.startup.clone()
    }

    fn copy_handler(&self) -> Arc<impl CopyHandler> {
        self.handler.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.cancel.clone()
    }
}
