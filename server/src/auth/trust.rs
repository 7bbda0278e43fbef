//! Trust: a client is let in without a password while no user exists, as a fresh local
//! database is. Only clients on this machine (a loopback address) are, unless the server
//! was started with `--insecure`; a remote client is refused (28000) with what to do.
//!
//! Never: trust a remote client without `--insecure`.

use pgwire::api::ClientInfo;
use pgwire::error::PgWireResult;
use tracing::warn;

use super::fatal;

/// Refuses a client that trust must not let in.
pub(super) fn check_trusted<C: ClientInfo>(
    client: &C,
    user: &str,
    trust_remote: bool,
) -> PgWireResult<()> {
    let peer = client.socket_addr();
    if trust_remote || peer.ip().is_loopback() {
        return Ok(());
    }
    warn!(user, %peer, "login refused: no user exists to check a password against");
    Err(fatal(
        "28000",
        format!(
            "no password is set up for connections from {}: start eddy with --user, or \
             CREATE USER from this machine",
            peer.ip()
        ),
    ))
}
